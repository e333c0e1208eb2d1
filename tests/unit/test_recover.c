/* Recovery tests: crashed journal chunks and MPEG-TS segments in a temporary stream directory,
 * checked the way an operator would: sizes, names, hashes (sha256sum), and ffmpeg decoding. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "trun.h"

#include "record/journal.h"
#include "record/recover.h"

#define T0      1795778400000000000ll /* 2026-11-27T11:20:00Z */
#define MS      1000000ll
#define RTP0    3000000000u
#define TS_PKT  188
#define MAX_REC 16

/* --- temporary stream directory --------------------------------------------------------------- */

struct tdir {
	char path[64];
	int fd;
};

static void tdir_make(struct tdir *d)
{
	const char *base = getenv("TMPDIR");
	snprintf(d->path, sizeof(d->path), "%s/test_recover.XXXXXX", base ? base : "/tmp");
	assert_non_null(mkdtemp(d->path));
	d->fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(d->fd >= 0);
}

static void tdir_rm(struct tdir *d)
{
	char cmd[128];
	close(d->fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
	assert_int_equal(system(cmd), 0);
}

static void put_file(const struct tdir *d, const char *name, const uint8_t *p, size_t len)
{
	int fd = openat(d->fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	close(fd);
}

static uint8_t *get_file(const struct tdir *d, const char *name, size_t *len)
{
	int fd = openat(d->fd, name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *p;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	p = malloc((size_t)st.st_size + 1);
	assert_non_null(p);
	assert_int_equal(read(fd, p, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

static bool exists(const struct tdir *d, const char *name)
{
	struct stat st;
	return fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Entries ending in .part. */
static int count_parts(const struct tdir *d)
{
	DIR *dir = opendir(d->path);
	struct dirent *de;
	int n = 0;

	assert_non_null(dir);
	while ((de = readdir(dir))) {
		size_t l = strlen(de->d_name);
		n += l > 5 && !strcmp(de->d_name + l - 5, ".part");
	}
	closedir(dir);
	return n;
}

/* First line of a shell command's output (stdout and stderr), "" if none. */
/* --- journals --------------------------------------------------------------------------------- */

struct jnl {
	uint8_t buf[REC_JNL_HDR_LEN + MAX_REC * 256];
	size_t len;
	size_t ends[MAX_REC];
	int n;
};

static void jnl_init(struct jnl *j)
{
	struct rec_jnl_info info = {.journal_id = 42,
	                            .created_ns = T0,
	                            .clock_rate = 90000,
	                            .payload_type = 96,
	                            .media = REC_JNL_MEDIA_VIDEO};
	strcpy(info.codec, "H264");
	strcpy(info.stream, "cam1");
	j->len = (size_t)rec_jnl_header_write(j->buf, sizeof(j->buf), &info);
	j->n = 0;
}

static void jnl_add(struct jnl *j, uint8_t type, uint8_t flags, int64_t t, const uint8_t *body,
                    uint32_t len)
{
	struct rec_jnl_rec r = {.type = type,
	                        .flags = flags,
	                        .seq = (uint32_t)j->n,
	                        .t_real_ns = (uint64_t)t,
	                        .t_mono_ns = 5,
	                        .data = body,
	                        .len = len};
	int w = rec_jnl_record_write(j->buf + j->len, sizeof(j->buf) - j->len, &r);
	assert_true(w > 0);
	j->len += (size_t)w;
	j->ends[j->n++] = j->len;
}

static void jnl_rtp(struct jnl *j, int64_t t, uint32_t ts, uint8_t flags, size_t payload)
{
	uint8_t b[200] = {0x80, 96, 0, (uint8_t)j->n};
	b[4] = (uint8_t)(ts >> 24);
	b[5] = (uint8_t)(ts >> 16);
	b[6] = (uint8_t)(ts >> 8);
	b[7] = (uint8_t)ts;
	memset(b + 12, 0xab, payload);
	jnl_add(j, REC_JNL_T_RTP, flags, t, b, (uint32_t)(12 + payload));
}

/* START, then RTP i at T0 + base_ms + 40 ms * i with ts RTP0 + 3600 i, with RTCP, a talk-back
 * RTP and a too-short RTP mixed in, which the times must ignore. */
static void jnl_make(struct jnl *j, int64_t base_ms, int nrtp)
{
	static const uint8_t rtcp[8] = {0x80, 200, 0, 1, 1, 2, 3, 4};
	static const uint8_t shorty[8] = {0x80, 96, 0, 0, 0xff, 0xff, 0xff, 0xff};

	jnl_init(j);
	jnl_add(j, REC_JNL_T_RTCP, 0, T0 + base_ms * MS - 5 * MS, rtcp, sizeof(rtcp));
	jnl_add(j, REC_JNL_T_START, 0, T0 + base_ms * MS - 4 * MS, NULL, 0);
	jnl_rtp(j, T0 + base_ms * MS - 3 * MS, 7, REC_JNL_F_TO_CAMERA, 20);
	jnl_add(j, REC_JNL_T_RTP, 0, T0 + base_ms * MS - 2 * MS, shorty, sizeof(shorty));
	for (int i = 0; i < nrtp; i++) {
		jnl_rtp(j, T0 + (base_ms + 40 * i) * MS, RTP0 + 3600u * (uint32_t)i, 0,
		        (size_t)(100 + 7 * i));
		if (i == 1)
			jnl_add(j, REC_JNL_T_RTCP, 0, T0 + (base_ms + 41) * MS, rtcp, sizeof(rtcp));
	}
}

/* --- collecting the callbacks ----------------------------------------------------------------- */

struct got {
	struct rec_recovered r[8];
	int n;
	int fail_with;
};

static int collect(void *arg, const struct rec_recovered *r)
{
	struct got *g = arg;
	assert_true(g->n < 8);
	g->r[g->n++] = *r;
	return g->fail_with;
}

static void check_sha(const struct tdir *d, const struct rec_recovered *r)
{
	char out[256];
	run(out, sizeof(out), "sha256sum '%s/%s'", d->path, r->file);
	assert_true(strlen(out) > 64);
	out[64] = '\0';
	assert_string_equal(out, r->sha256);
}

/* --- journals --------------------------------------------------------------------------------- */

static void test_journal_torn_mid_record(void **state)
{
	(void)state;
	struct tdir d;
	struct jnl j;
	struct got g = {0};
	char err[256] = "";
	size_t len, torn;
	uint8_t *p;

	tdir_make(&d);
	jnl_make(&j, 0, 8);
	/* The last record cut 20 bytes into its body. */
	torn = j.ends[j.n - 2] + REC_JNL_REC_HDR_LEN + 20;
	put_file(&d, "cam1-000001.jnl.part", j.buf, torn);

	assert_int_equal(rec_recover_dir(d.fd, collect, &g, err, sizeof(err)), 1);
	assert_int_equal(g.n, 1);
	const struct rec_recovered *r = &g.r[0];
	assert_string_equal(r->file, "cam1-000001.jnl");
	assert_true(r->journal);
	assert_int_equal(r->size, j.ends[j.n - 2]);
	assert_int_equal(r->cut_bytes, torn - j.ends[j.n - 2]);
	char want[64];
	snprintf(want, sizeof(want), "torn tail of %zu bytes cut", torn - j.ends[j.n - 2]);
	assert_string_equal(r->note, want);
	/* RTP 0..6 survive: the first at T0, the last at T0 + 240 ms. */
	assert_true(r->start_wall_ns == T0);
	assert_true(r->end_wall_ns == T0 + 240 * MS);
	assert_int_equal(r->start_rtp, RTP0);
	assert_int_equal(r->end_rtp, (uint32_t)(RTP0 + 6 * 3600u));

	assert_int_equal(count_parts(&d), 0);
	p = get_file(&d, "cam1-000001.jnl", &len);
	assert_int_equal(len, r->size);
	assert_memory_equal(p, j.buf, len);
	assert_int_equal(rec_jnl_recover_len(p, len, NULL), (ssize_t)len);
	free(p);
	check_sha(&d, r);

	/* Nothing left to do the second time. */
	g.n = 0;
	assert_int_equal(rec_recover_dir(d.fd, collect, &g, err, sizeof(err)), 0);
	assert_int_equal(g.n, 0);
	tdir_rm(&d);
}

static void test_journal_zero_padding(void **state)
{
	(void)state;
	struct tdir d;
	struct jnl j;
	struct got g = {0};
	char err[256] = "";
	uint8_t *buf;
	size_t padded, len;

	tdir_make(&d);
	jnl_make(&j, 1000, 5);
	/* O_DIRECT: the last block written whole, zeros after the real end. */
	padded = (j.len + 4095) / 4096 * 4096 + 4096;
	buf = calloc(1, padded);
	assert_non_null(buf);
	memcpy(buf, j.buf, j.len);
	put_file(&d, "cam1-000002.jnl.part", buf, padded);

	assert_int_equal(rec_recover_dir(d.fd, collect, &g, err, sizeof(err)), 1);
	assert_int_equal(g.r[0].size, j.len);
	assert_int_equal(g.r[0].cut_bytes, padded - j.len);
	assert_non_null(strstr(g.r[0].note, "zero tail of"));
	assert_true(g.r[0].start_wall_ns == T0 + 1000 * MS);
	assert_true(g.r[0].end_wall_ns == T0 + 1160 * MS);
	free(buf);
	buf = get_file(&d, "cam1-000002.jnl", &len);
	assert_int_equal(len, j.len);
	assert_memory_equal(buf, j.buf, len);
	free(buf);
	check_sha(&d, &g.r[0]);
	tdir_rm(&d);
}

static void test_journal_intact_and_corrupt(void **state)
{
	(void)state;
	struct tdir d;
	struct jnl j;
	struct got g = {0};
	char err[256] = "";
	uint8_t junk[300];
	uint8_t *p;
	size_t len;

	tdir_make(&d);
	jnl_make(&j, 0, 6);
	put_file(&d, "cam1-000003.jnl.part", j.buf, j.len);
	/* Damage in the middle: one bit of a body, bytes after it. */
	j.buf[j.ends[5] + REC_JNL_REC_HDR_LEN + 3] ^= 0x10;
	put_file(&d, "cam1-000004.jnl.part", j.buf, j.len);
	j.buf[j.ends[5] + REC_JNL_REC_HDR_LEN + 3] ^= 0x10;
	/* Not a journal at all. */
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 13 + 1);
	put_file(&d, "cam1-000005.jnl.part", junk, sizeof(junk));

	assert_int_equal(rec_recover_dir(d.fd, collect, &g, err, sizeof(err)), 3);
	assert_string_equal(g.r[0].file, "cam1-000003.jnl");
	assert_string_equal(g.r[0].note, "intact");
	assert_int_equal(g.r[0].cut_bytes, 0);
	p = get_file(&d, "cam1-000003.jnl", &len);
	assert_int_equal(len, j.len);
	assert_memory_equal(p, j.buf, len);
	free(p);
	check_sha(&d, &g.r[0]);

	assert_string_equal(g.r[1].file, "cam1-000004.jnl");
	assert_int_equal(g.r[1].size, j.len);
	assert_int_equal(g.r[1].cut_bytes, 0);
	char want[96];
	snprintf(want, sizeof(want), "corrupt at offset %zu (CRC mismatch): kept as is", j.ends[5]);
	assert_string_equal(g.r[1].note, want);
	/* Times of what precedes the damage (the RTCP after RTP 1): RTP 0 and 1. */
	assert_true(g.r[1].start_wall_ns == T0);
	assert_true(g.r[1].end_wall_ns == T0 + 40 * MS);
	check_sha(&d, &g.r[1]);

	assert_string_equal(g.r[2].file, "cam1-000005.jnl");
	assert_int_equal(g.r[2].size, sizeof(junk));
	assert_string_equal(g.r[2].note, "header unreadable (not a journal): kept as is");
	assert_true(g.r[2].start_wall_ns == 0);
	assert_int_equal(count_parts(&d), 0);
	tdir_rm(&d);
}

/* --- segments --------------------------------------------------------------------------------- */

/* A 3 s, 90-frame H.264 TS made by ffmpeg; *last gets where its last frame starts (ffprobe's
 * pos of the last video packet), which is where recovery cuts a torn copy. */
static uint8_t *make_ts(const struct tdir *d, size_t *len, size_t *last)
{
	char out[4096], *nl;
	run(out, sizeof(out),
	    "ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=320x240:rate=30 -t 3 "
	    "-c:v libx264 -g 30 -bf 0 -f mpegts '%s/src.ts' 2>&1",
	    d->path);
	assert_string_equal(out, "");
	run(out, sizeof(out),
	    "ffprobe -v error -select_streams v:0 -show_entries packet=pos -of csv=p=0 "
	    "'%s/src.ts' | grep . | tail -1",
	    d->path);
	*last = strtoul(out, &nl, 10);
	assert_true(nl != out && *nl == '\n');
	uint8_t *p = get_file(d, "src.ts", len);
	assert_true(*len > 100 * TS_PKT);
	assert_int_equal(*len % TS_PKT, 0);
	assert_true(*last > 0 && *last < *len - TS_PKT && *last % TS_PKT == 0);
	assert_int_equal(unlinkat(d->fd, "src.ts", 0), 0);
	return p;
}

static void assert_frames(const struct tdir *d, const char *name, const char *want)
{
	char out[256];
	run(out, sizeof(out),
	    "ffprobe -v error -select_streams v:0 -count_frames -show_entries "
	    "stream=codec_name,nb_read_frames -of csv=p=0 '%s/%s' 2>&1 | head -1",
	    d->path, name);
	assert_string_equal(out, want);
}

static void assert_decodes_clean(const struct tdir *d, const char *name)
{
	char out[1024];
	run(out, sizeof(out), "ffmpeg -nostdin -v error -i '%s/%s' -f null - 2>&1", d->path, name);
	assert_string_equal(out, "");
}

static void test_ts_torn_and_padded(void **state)
{
	(void)state;
	struct tdir d;
	struct jnl j;
	struct got g = {0};
	char err[256] = "", want[96];
	size_t len, got_len, torn, last;
	uint8_t *ts, *buf, *p;

	tdir_make(&d);
	ts = make_ts(&d, &len, &last);
	/* The last packet torn 88 bytes in, then zeros to a 4096 boundary and a block more. */
	torn = len - 100;
	size_t padded = (torn + 4095) / 4096 * 4096 + 4096;
	buf = calloc(1, padded);
	assert_non_null(buf);
	memcpy(buf, ts, torn);
	put_file(&d, "cam1-000007.ts.part", buf, padded);
	/* Its journal, also unfinished, and a torn copy without padding with no journal. */
	jnl_make(&j, 5000, 4);
	put_file(&d, "cam1-000007.jnl.part", j.buf, j.len - 3);
	put_file(&d, "cam1-000008.ts.part", ts, torn);

	assert_int_equal(rec_recover_dir(d.fd, collect, &g, err, sizeof(err)), 3);
	assert_int_equal(count_parts(&d), 0);
	/* The journal first, then its segment with its times. */
	assert_string_equal(g.r[0].file, "cam1-000007.jnl");
	assert_string_equal(g.r[1].file, "cam1-000007.ts");
	assert_false(g.r[1].journal);
	/* Cut before the torn last frame: whole packets, 89 whole frames. */
	assert_int_equal(g.r[1].size, last);
	assert_int_equal(g.r[1].size % TS_PKT, 0);
	assert_int_equal(g.r[1].cut_bytes, padded - last);
	snprintf(want, sizeof(want), "torn tail of %zu bytes cut", padded - last);
	assert_string_equal(g.r[1].note, want);
	assert_true(g.r[1].start_wall_ns == T0 + 5000 * MS);
	assert_true(g.r[1].end_wall_ns == T0 + 5080 * MS);
	assert_true(g.r[1].start_wall_ns == g.r[0].start_wall_ns);
	assert_int_equal(g.r[1].start_rtp, RTP0);
	assert_int_equal(g.r[1].end_rtp, RTP0 + 2 * 3600u);
	p = get_file(&d, "cam1-000007.ts", &got_len);
	assert_int_equal(got_len, g.r[1].size);
	assert_memory_equal(p, ts, got_len);
	free(p);
	check_sha(&d, &g.r[1]);
	assert_decodes_clean(&d, "cam1-000007.ts");
	assert_frames(&d, "cam1-000007.ts", "h264,89\n");

	assert_string_equal(g.r[2].file, "cam1-000008.ts");
	assert_int_equal(g.r[2].size, last);
	snprintf(want, sizeof(want), "torn tail of %zu bytes cut; no journal for times",
	         torn - last);
	assert_string_equal(g.r[2].note, want);
	assert_true(g.r[2].start_wall_ns == 0 && g.r[2].end_wall_ns == 0);
	assert_int_equal(g.r[2].start_rtp, 0);
	assert_decodes_clean(&d, "cam1-000008.ts");
	assert_frames(&d, "cam1-000008.ts", "h264,89\n");
	check_sha(&d, &g.r[2]);
	free(buf);
	free(ts);
	tdir_rm(&d);
}

/* A segment cut off inside its first frame: no whole frame, nothing a player could show. It is
 * removed (its journal keeps the packets), not sealed as a file that does not play. */
static void test_ts_no_whole_frame(void **state)
{
	(void)state;
	struct tdir d;
	struct got g = {0};
	char err[256] = "";
	size_t len, last, first = 0;
	uint8_t *ts;

	tdir_make(&d);
	ts = make_ts(&d, &len, &last);
	/* the first PES start: a payload unit start with 00 00 01 */
	for (size_t off = 0; off + TS_PKT <= len && !first; off += TS_PKT) {
		const uint8_t *p = ts + off;
		unsigned pl = 4 + ((p[3] & 0x20) ? 1u + p[4] : 0);
		if ((p[1] & 0x40) && !p[pl] && !p[pl + 1] && p[pl + 2] == 1)
			first = off;
	}
	assert_true(first > 0); /* PAT and PMT come first */
	/* cut at a packet boundary, and torn into zeros as O_DIRECT leaves it */
	put_file(&d, "cam1-000009.ts.part", ts, first + 3 * TS_PKT);
	uint8_t *pad = calloc(1, 8192);
	assert_non_null(pad);
	memcpy(pad, ts, first + 3 * TS_PKT - 100);
	put_file(&d, "cam1-000010.ts.part", pad, 8192);
	free(pad);
	assert_int_equal(rec_recover_dir(d.fd, collect, &g, err, sizeof(err)), 0);
	assert_int_equal(count_parts(&d), 0);
	assert_int_equal(faccessat(d.fd, "cam1-000009.ts", F_OK, 0), -1);
	assert_int_equal(faccessat(d.fd, "cam1-000010.ts", F_OK, 0), -1);
	free(ts);
	tdir_rm(&d);
}

static void test_ts_times_from_sealed_journal(void **state)
{
	(void)state;
	struct tdir d;
	struct jnl j;
	struct got g = {0};
	char err[256] = "";
	size_t len, last;
	uint8_t *ts, *p;

	tdir_make(&d);
	ts = make_ts(&d, &len, &last);
	jnl_make(&j, 9000, 3);
	put_file(&d, "cam1-000011.jnl", j.buf, j.len);
	put_file(&d, "cam1-000011.ts.part", ts, len);
	/* Damage in the middle of a segment is not cut: */
	ts[50 * TS_PKT] = 0x00;
	put_file(&d, "cam1-000012.ts.part", ts, len);

	assert_int_equal(rec_recover_dir(d.fd, collect, &g, err, sizeof(err)), 2);
	assert_string_equal(g.r[0].file, "cam1-000011.ts");
	assert_string_equal(g.r[0].note, "intact");
	assert_int_equal(g.r[0].size, len);
	assert_frames(&d, "cam1-000011.ts", "h264,90\n");
	assert_true(g.r[0].start_wall_ns == T0 + 9000 * MS);
	assert_true(g.r[0].end_wall_ns == T0 + 9080 * MS);
	assert_int_equal(g.r[0].end_rtp, RTP0 + 7200u);
	assert_string_equal(g.r[1].file, "cam1-000012.ts");
	assert_int_equal(g.r[1].size, len);
	char want[128];
	snprintf(want, sizeof(want),
	         "sync lost at offset %d with data after it: kept as is; no journal for times",
	         50 * TS_PKT);
	assert_string_equal(g.r[1].note, want);
	p = get_file(&d, "cam1-000012.ts", &len);
	assert_memory_equal(p, ts, len);
	free(p);
	free(ts);
	tdir_rm(&d);
}

/* --- names, empties, errors ------------------------------------------------------------------- */

static void test_final_name_not_overwritten(void **state)
{
	(void)state;
	struct tdir d;
	struct jnl j;
	struct got g = {0};
	char err[256] = "";
	static const uint8_t old[] = "the sealed file";
	uint8_t *p;
	size_t len;

	tdir_make(&d);
	jnl_make(&j, 0, 3);
	put_file(&d, "cam1-000020.jnl", old, sizeof(old));
	put_file(&d, "cam1-000020.jnl.recovered-1", old, sizeof(old));
	put_file(&d, "cam1-000020.jnl.part", j.buf, j.len);

	assert_int_equal(rec_recover_dir(d.fd, collect, &g, err, sizeof(err)), 1);
	assert_string_equal(g.r[0].file, "cam1-000020.jnl.recovered-2");
	assert_string_equal(g.r[0].note,
	                    "intact; final name existed: saved as cam1-000020.jnl.recovered-2");
	p = get_file(&d, "cam1-000020.jnl", &len);
	assert_int_equal(len, sizeof(old));
	assert_memory_equal(p, old, len);
	free(p);
	p = get_file(&d, "cam1-000020.jnl.recovered-1", &len);
	assert_memory_equal(p, old, len);
	free(p);
	p = get_file(&d, "cam1-000020.jnl.recovered-2", &len);
	assert_int_equal(len, j.len);
	assert_memory_equal(p, j.buf, len);
	free(p);
	check_sha(&d, &g.r[0]);
	assert_int_equal(count_parts(&d), 0);
	tdir_rm(&d);
}

static void test_empty_removed_others_untouched(void **state)
{
	(void)state;
	struct tdir d;
	struct got g = {0};
	char err[256] = "";
	uint8_t zeros[5000] = {0};
	static const uint8_t magic[5] = "CAASJ";

	tdir_make(&d);
	put_file(&d, "cam1-000030.jnl.part", zeros, 0);
	put_file(&d, "cam1-000030.ts.part", zeros, sizeof(zeros));
	put_file(&d, "cam1-000031.jnl.part", magic, sizeof(magic)); /* torn inside its header */
	put_file(&d, "notes.txt.part", zeros, 10);
	put_file(&d, "cam1-000029.ts", zeros, 10);
	assert_int_equal(mkdirat(d.fd, "cam1-000032.ts.part", 0755), 0);

	assert_int_equal(rec_recover_dir(d.fd, collect, &g, err, sizeof(err)), 0);
	assert_int_equal(g.n, 0);
	assert_false(exists(&d, "cam1-000030.jnl.part"));
	assert_false(exists(&d, "cam1-000030.jnl"));
	assert_false(exists(&d, "cam1-000030.ts.part"));
	assert_false(exists(&d, "cam1-000030.ts"));
	assert_false(exists(&d, "cam1-000031.jnl.part"));
	assert_true(exists(&d, "notes.txt.part"));
	assert_true(exists(&d, "cam1-000029.ts"));
	assert_true(exists(&d, "cam1-000032.ts.part"));
	tdir_rm(&d);
}

static void test_callback_error_stops(void **state)
{
	(void)state;
	struct tdir d;
	struct jnl j;
	struct got g = {.fail_with = -EIO};
	char err[256] = "";

	tdir_make(&d);
	jnl_make(&j, 0, 2);
	put_file(&d, "cam1-000040.jnl.part", j.buf, j.len);
	put_file(&d, "cam1-000041.jnl.part", j.buf, j.len);
	assert_int_equal(rec_recover_dir(d.fd, collect, &g, err, sizeof(err)), -EIO);
	assert_int_equal(g.n, 1);
	assert_non_null(strstr(err, "cam1-000040.jnl"));
	assert_true(exists(&d, "cam1-000040.jnl"));
	assert_true(exists(&d, "cam1-000041.jnl.part"));
	assert_int_equal(rec_recover_dir(-1, collect, &g, err, sizeof(err)), -EBADF);
	tdir_rm(&d);
}

static void test_journal_times(void **state)
{
	(void)state;
	struct jnl j;
	int64_t sw, ew;
	uint64_t sr, er;

	jnl_make(&j, 100, 5);
	assert_int_equal(rec_journal_times(j.buf, j.len, &sw, &ew, &sr, &er), 0);
	assert_true(sw == T0 + 100 * MS && ew == T0 + 260 * MS);
	assert_int_equal(sr, RTP0);
	assert_int_equal(er, RTP0 + 4 * 3600u);
	/* A torn tail ends it quietly. */
	assert_int_equal(rec_journal_times(j.buf, j.len - 1, &sw, &ew, &sr, &er), 0);
	assert_true(ew == T0 + 220 * MS);
	/* Markers, RTCP, talk-back and short bodies only: no times. */
	assert_int_equal(rec_journal_times(j.buf, j.ends[3], &sw, &ew, &sr, &er), -ENODATA);
	assert_true(sw == 0 && ew == 0 && sr == 0 && er == 0);
	j.buf[0] = 'X';
	assert_int_equal(rec_journal_times(j.buf, j.len, &sw, &ew, &sr, &er), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_journal_torn_mid_record),
	    cmocka_unit_test(test_journal_zero_padding),
	    cmocka_unit_test(test_journal_intact_and_corrupt),
	    cmocka_unit_test(test_ts_torn_and_padded),
	    cmocka_unit_test(test_ts_no_whole_frame),
	    cmocka_unit_test(test_ts_times_from_sealed_journal),
	    cmocka_unit_test(test_final_name_not_overwritten),
	    cmocka_unit_test(test_empty_removed_others_untouched),
	    cmocka_unit_test(test_callback_error_stops),
	    cmocka_unit_test(test_journal_times),
	};
	return cmocka_run_group_tests_name("recover", tests, NULL, NULL);
}
