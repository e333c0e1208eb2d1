/* Export tests: a pcap of a time range across journal chunks (read back by hand and by
 * tcpdump), an MP4 of TS segments made by ffmpeg (checked by ffprobe and ffmpeg), and the
 * --from/--to time syntax. */
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

#include "record/export.h"
#include "record/journal.h"

#define SEC  1000000000ll
#define MS   1000000ll
#define T0   (1795778400ll * SEC) /* 2026-11-27T11:20:00Z */
#define NREC 10

static const struct rec_pcap_ends ends4 = {
    .family = 4,
    .cam_addr = {198, 18, 0, 10},
    .box_addr = {198, 19, 0, 1},
    .cam_rtp_port = 5004,
    .cam_rtcp_port = 5005,
    .box_rtp_port = 40000,
    .box_rtcp_port = 40001,
};

/* --- helpers ---------------------------------------------------------------------------------- */

struct tdir {
	char path[64];
};

static void tdir_make(struct tdir *d)
{
	const char *base = getenv("TMPDIR");
	snprintf(d->path, sizeof(d->path), "%s/test_export.XXXXXX", base ? base : "/tmp");
	assert_non_null(mkdtemp(d->path));
}

static void tdir_rm(struct tdir *d)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
	assert_int_equal(system(cmd), 0);
}

static void put_file(const struct tdir *d, const char *name, const void *p, size_t len)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", d->path, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	close(fd);
}

static uint8_t *get_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
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

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Leftover temporary files of an atomic write. */
static int count_tmp(const struct tdir *d)
{
	DIR *dir = opendir(d->path);
	struct dirent *de;
	int n = 0;

	assert_non_null(dir);
	while ((de = readdir(dir)))
		n += strstr(de->d_name, ".tmp-") != NULL;
	closedir(dir);
	return n;
}

/* A shell command's output (stdout and stderr), which must exit 0. */
static uint32_t rd_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* --- pcap ------------------------------------------------------------------------------------- */

struct jnl {
	uint8_t buf[REC_JNL_HDR_LEN + 16 * 256];
	size_t len;
	uint32_t seq;
};

static void jnl_add(struct jnl *j, uint8_t type, int64_t t, const uint8_t *body, uint32_t len)
{
	struct rec_jnl_rec r = {.type = type,
	                        .seq = j->seq++,
	                        .t_real_ns = (uint64_t)t,
	                        .t_mono_ns = 1,
	                        .data = body,
	                        .len = len};
	int w = rec_jnl_record_write(j->buf + j->len, sizeof(j->buf) - j->len, &r);
	assert_true(w > 0);
	j->len += (size_t)w;
}

/* Chunk c: START, RTP i at T0 + (10 c + i) * 100 ms, one RTCP at 50 ms after RTP 5, STOP. */
static void jnl_chunk(struct jnl *j, int c)
{
	struct rec_jnl_info info = {.journal_id = (uint64_t)c,
	                            .created_ns = T0,
	                            .clock_rate = 90000,
	                            .payload_type = 96,
	                            .media = REC_JNL_MEDIA_VIDEO};
	static const uint8_t rtcp[8] = {0x80, 200, 0, 1, 1, 2, 3, 4};
	uint8_t rtp[112] = {0x80, 96};

	strcpy(info.codec, "H264");
	strcpy(info.stream, "cam1");
	j->len = (size_t)rec_jnl_header_write(j->buf, sizeof(j->buf), &info);
	j->seq = 0;
	jnl_add(j, REC_JNL_T_START, T0 + (10 * c) * 100 * MS - MS, NULL, 0);
	for (int i = 0; i < NREC; i++) {
		int64_t t = T0 + (10 * c + i) * 100 * MS;
		rtp[3] = (uint8_t)(10 * c + i);
		jnl_add(j, REC_JNL_T_RTP, t, rtp, sizeof(rtp));
		if (i == 5)
			jnl_add(j, REC_JNL_T_RTCP, t + 50 * MS, rtcp, sizeof(rtcp));
	}
	jnl_add(j, REC_JNL_T_STOP, T0 + (10 * c + NREC) * 100 * MS, NULL, 0);
}

/* Read a pcap back: every record within [from, to], in time order. Returns the count. */
static long pcap_count(const char *path, int64_t from, int64_t to)
{
	size_t len, off = REC_PCAP_FILE_HDR_LEN;
	uint8_t *p = get_file(path, &len);
	int64_t prev = 0;
	long n = 0;

	assert_true(len >= REC_PCAP_FILE_HDR_LEN);
	assert_int_equal(rd_le32(p), 0xa1b23c4d);
	assert_int_equal(rd_le32(p + 20), REC_PCAP_LINKTYPE_RAW);
	while (off < len) {
		assert_true(off + REC_PCAP_REC_HDR_LEN <= len);
		int64_t t = (int64_t)rd_le32(p + off) * SEC + rd_le32(p + off + 4);
		uint32_t incl = rd_le32(p + off + 8);
		assert_int_equal(incl, rd_le32(p + off + 12));
		assert_true(t >= from && t <= to);
		assert_true(t >= prev);
		prev = t;
		off += REC_PCAP_REC_HDR_LEN + incl;
		n++;
	}
	assert_int_equal(off, len);
	free(p);
	return n;
}

static long tcpdump_lines(const char *path)
{
	const char *bin = access("/usr/sbin/tcpdump", X_OK) == 0  ? "/usr/sbin/tcpdump"
	                  : access("/usr/bin/tcpdump", X_OK) == 0 ? "/usr/bin/tcpdump"
	                                                          : NULL;
	char out[64];

	assert_non_null(bin); /* the test needs tcpdump */
	run(out, sizeof(out), "%s -nn -r '%s' 2>/dev/null | wc -l", bin, path);
	return strtol(out, NULL, 10);
}

static void test_pcap_range(void **state)
{
	(void)state;
	struct tdir d;
	struct jnl j;
	char err[256] = "", out[128], name[64];
	int64_t from = T0 + 1500 * MS, to = T0 + 2400 * MS;
	long n;

	tdir_make(&d);
	for (int c = 0; c < 3; c++) {
		jnl_chunk(&j, c);
		snprintf(name, sizeof(name), "cam1-%06d.jnl", c + 1);
		put_file(&d, name, j.buf, j.len);
	}
	/* Not sealed chunks of cam1: never read. */
	jnl_chunk(&j, 1);
	put_file(&d, "cam1-000004.jnl.part", j.buf, j.len);
	put_file(&d, "cam1-000002.jnl.recovered-1", j.buf, j.len);
	put_file(&d, "cam10-000002.jnl", j.buf, j.len);
	put_file(&d, "cam1-02.jnl", j.buf, j.len);

	snprintf(out, sizeof(out), "%s/out.pcap", d.path);
	put_file(&d, "out.pcap", "old", 3);
	/* RTP at 1500..2400 ms inclusive (chunks 2 and 3): 10, and chunk 2's RTCP at 1550. */
	n = rec_export_pcap(d.path, "cam1", from, to, &ends4, out, err, sizeof(err));
	assert_int_equal(n, 11);
	assert_int_equal(pcap_count(out, from, to), 11);
	assert_int_equal(tcpdump_lines(out), 11);
	assert_int_equal(count_tmp(&d), 0);

	/* Both ends inclusive. */
	n = rec_export_pcap(d.path, "cam1", from, from, &ends4, out, err, sizeof(err));
	assert_int_equal(n, 1);
	assert_int_equal(pcap_count(out, from, from), 1);
	/* Everything: 3 x (10 RTP + 1 RTCP). */
	n = rec_export_pcap(d.path, "cam1", 0, INT64_MAX, &ends4, out, err, sizeof(err));
	assert_int_equal(n, 33);
	assert_int_equal(tcpdump_lines(out), 33);

	/* Nothing in range: no file, the journals' span in err. */
	unlink(out);
	n = rec_export_pcap(d.path, "cam1", T0 - 10 * SEC, T0 - SEC, &ends4, out, err, sizeof(err));
	assert_int_equal(n, -ENOENT);
	assert_false(exists(out));
	assert_non_null(strstr(err, "2026-11-27T11:20:00.000000000Z to 2026-11-27T11:20:02.900"));
	assert_int_equal(count_tmp(&d), 0);
	assert_int_equal(rec_export_pcap(d.path, "cam1", to, from, &ends4, out, err, sizeof(err)),
	                 -EINVAL);
	assert_int_equal(
	    rec_export_pcap(d.path, "cam9", 0, INT64_MAX, &ends4, out, err, sizeof(err)), -ENOENT);

	/* A chunk corrupt in the middle fails the export, naming it. */
	jnl_chunk(&j, 3);
	j.buf[REC_JNL_HDR_LEN + 3 * 32 + 40] ^= 1;
	put_file(&d, "cam1-000005.jnl", j.buf, j.len);
	put_file(&d, "out.pcap", "old", 3);
	n = rec_export_pcap(d.path, "cam1", 0, INT64_MAX, &ends4, out, err, sizeof(err));
	assert_int_equal(n, -EBADMSG);
	assert_non_null(strstr(err, "cam1-000005.jnl"));
	size_t len;
	uint8_t *p = get_file(out, &len);
	assert_int_equal(len, 3); /* the old file untouched */
	free(p);
	assert_int_equal(count_tmp(&d), 0);
	tdir_rm(&d);
}

/* --- MP4 -------------------------------------------------------------------------------------- */

static void make_ts(const struct tdir *d, const char *name, double secs, double offset)
{
	char out[1024];
	run(out, sizeof(out),
	    "ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=320x240:rate=30 -t %g "
	    "-c:v libx264 -g 30 -bf 0 -output_ts_offset %.6f -f mpegts '%s/%s' 2>&1",
	    secs, offset, d->path, name);
	assert_string_equal(out, "");
}

static void manifest_rtp(FILE *f, int seq, const char *kind, const char *file, int64_t start,
                         int64_t end, uint64_t rtp)
{
	fprintf(
	    f,
	    "{\"end_rtp\":0,\"end_wall_ns\":%lld,\"file\":\"%s\",\"hash\":\"00\",\"kind\":\"%s\","
	    "\"prev\":\"00\",\"seq\":%d,\"sha256\":\"00\",\"sig\":\"00\",\"size\":1,"
	    "\"start_rtp\":%llu,\"start_wall_ns\":%lld}\n",
	    (long long)end, file, kind, seq, (unsigned long long)rtp, (long long)start);
}

static void manifest_line(FILE *f, int seq, const char *kind, const char *file, int64_t start,
                          int64_t end)
{
	manifest_rtp(f, seq, kind, file, start, end, 0);
}

static void write_manifest(const struct tdir *d)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/manifest.jsonl", d->path);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(
	    f, "{\"alg\":\"ed25519\",\"format\":\"caas-manifest/1\",\"kind\":\"key\",\"seq\":0}\n");
	manifest_line(f, 1, "journal", "cam1-000001.jnl", T0, T0 + 3 * SEC);
	manifest_line(f, 2, "segment", "cam1-000001.ts", T0, T0 + 2967 * MS);
	fprintf(f, "{this is not json\n");
	manifest_line(f, 3, "recovered", "cam1-000002.ts", T0 + 3 * SEC, T0 + 4967 * MS);
	manifest_line(f, 4, "segment", "cam1-000002.ts", T0 + 3 * SEC, T0 + 4967 * MS);
	manifest_line(f, 5, "segment", "../cam1-000009.ts", T0, T0 + 9 * SEC);
	manifest_line(f, 6, "segment", "cam1-000003.ts", T0 + 5 * SEC, T0 + 5967 * MS);
	fclose(f);
}

/* "codec,frames,start,duration" of the first video stream, as ffprobe reports them. */
static void probe(const char *path, char *codec, long *frames, double *start, double *dur)
{
	char out[512];
	run(out, sizeof(out),
	    "ffprobe -v error -select_streams v:0 -count_frames -show_entries "
	    "stream=codec_name,nb_read_frames,start_time,duration -of csv=p=0 '%s' 2>&1",
	    path);
	/* csv field order follows ffprobe's section order: codec_name,start_time,duration,
	 * nb_read_frames */
	assert_int_equal(sscanf(out, "%15[^,],%lf,%lf,%ld", codec, start, dur, frames), 4);
}

static void assert_decodes_clean(const char *path)
{
	char out[1024];
	run(out, sizeof(out), "ffmpeg -nostdin -v error -i '%s' -f null - 2>&1", path);
	assert_string_equal(out, "");
}

static void test_mp4_two_segments(void **state)
{
	(void)state;
	struct tdir d;
	char err[256] = "", out[128], codec[16];
	double start, dur;
	long n, frames;

	tdir_make(&d);
	make_ts(&d, "cam1-000001.ts", 3, 0);
	make_ts(&d, "cam1-000002.ts", 2, 3);
	make_ts(&d, "cam1-000003.ts", 1, 5);
	write_manifest(&d);
	snprintf(out, sizeof(out), "%s/out.mp4", d.path);

	/* 1 s into the first segment to 1 s into the second: both, whole. */
	n = rec_export_mp4(d.path, "cam1", T0 + SEC, T0 + 4 * SEC, out, err, sizeof(err));
	assert_int_equal(n, 150);
	probe(out, codec, &frames, &start, &dur);
	assert_string_equal(codec, "h264");
	assert_int_equal(frames, 150);
	assert_true(start >= 0 && start < 0.001);
	assert_true(dur > 4.95 && dur < 5.05); /* continuous: no gap, no overlap */
	assert_decodes_clean(out);
	assert_int_equal(count_tmp(&d), 0);

	/* Only the third. */
	n = rec_export_mp4(d.path, "cam1", T0 + 5500 * MS, T0 + 60 * SEC, out, err, sizeof(err));
	assert_int_equal(n, 30);
	probe(out, codec, &frames, &start, &dur);
	assert_int_equal(frames, 30);
	assert_true(start >= 0 && start < 0.001);

	/* Nothing there; no manifest. */
	assert_int_equal(
	    rec_export_mp4(d.path, "cam1", T0 + 7 * SEC, T0 + 8 * SEC, out, err, sizeof(err)),
	    -ENOENT);
	assert_int_equal(rec_export_mp4(d.path, "cam1", T0 + SEC, T0, out, err, sizeof(err)),
	                 -EINVAL);
	/* A listed segment that is missing fails the export and leaves out_path alone. */
	char path[128];
	snprintf(path, sizeof(path), "%s/cam1-000002.ts", d.path);
	assert_int_equal(unlink(path), 0);
	n = rec_export_mp4(d.path, "cam1", T0, T0 + 4 * SEC, out, err, sizeof(err));
	assert_int_equal(n, -ENOENT);
	assert_non_null(strstr(err, "cam1-000002.ts"));
	probe(out, codec, &frames, &start, &dur);
	assert_int_equal(frames, 30);
	assert_int_equal(count_tmp(&d), 0);
	snprintf(path, sizeof(path), "%s/manifest.jsonl", d.path);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rec_export_mp4(d.path, "cam1", T0, T0 + 4 * SEC, out, err, sizeof(err)),
	                 -ENOENT);
	tdir_rm(&d);
}

/* Segments whose own timestamps all start at the same value, as segment.h writes them (each at
 * 0), are placed by the manifest: start_rtp when it agrees with start_wall_ns, else the wall
 * time, else one after the other. */
static void test_mp4_segments_restarting(void **state)
{
	(void)state;
	struct tdir d;
	char err[256] = "", out[128], path[128], codec[16];
	double start, dur;
	long n, frames;
	FILE *f;

	tdir_make(&d);
	make_ts(&d, "cam1-000001.ts", 3, 0);
	make_ts(&d, "cam1-000002.ts", 2, 0);
	make_ts(&d, "cam1-000004.ts", 1, 0);
	snprintf(path, sizeof(path), "%s/manifest.jsonl", d.path);
	snprintf(out, sizeof(out), "%s/out.mp4", d.path);

	/* RTP (extended, 90 kHz) and wall agree; chunk 3 is missing: 5 s of nothing. Arrival
	 * jitter of 30 ms on the wall times must not matter. */
	f = fopen(path, "w");
	assert_non_null(f);
	manifest_rtp(f, 1, "segment", "cam1-000001.ts", T0, T0 + 2967 * MS, 4294960000ull);
	manifest_rtp(f, 2, "segment", "cam1-000002.ts", T0 + 3030 * MS, T0 + 4967 * MS,
	             4294960000ull + 3 * 90000);
	manifest_rtp(f, 3, "segment", "cam1-000004.ts", T0 + 9990 * MS, T0 + 10967 * MS,
	             4294960000ull + 10 * 90000);
	fclose(f);
	n = rec_export_mp4(d.path, "cam1", T0, T0 + 60 * SEC, out, err, sizeof(err));
	assert_int_equal(n, 180);
	probe(out, codec, &frames, &start, &dur);
	assert_int_equal(frames, 180);
	assert_true(start >= 0 && start < 0.001);
	assert_true(dur > 10.99 && dur < 11.01);
	assert_decodes_clean(out);

	/* The camera restarted before the third: its RTP says nothing, the wall time does. */
	f = fopen(path, "w");
	assert_non_null(f);
	manifest_rtp(f, 1, "segment", "cam1-000001.ts", T0, T0 + 2967 * MS, 4294960000ull);
	manifest_rtp(f, 2, "segment", "cam1-000002.ts", T0 + 3 * SEC, T0 + 4967 * MS,
	             4294960000ull + 3 * 90000);
	manifest_rtp(f, 3, "segment", "cam1-000004.ts", T0 + 10 * SEC, T0 + 10967 * MS, 12345);
	fclose(f);
	n = rec_export_mp4(d.path, "cam1", T0, T0 + 60 * SEC, out, err, sizeof(err));
	assert_int_equal(n, 180);
	probe(out, codec, &frames, &start, &dur);
	assert_true(dur > 10.99 && dur < 11.01);

	/* A recovered segment without times (0): it and what follows go one after the other. */
	f = fopen(path, "w");
	assert_non_null(f);
	manifest_rtp(f, 1, "segment", "cam1-000001.ts", T0, T0 + 2967 * MS, 4294960000ull);
	manifest_rtp(f, 2, "recovered", "cam1-000002.ts", 0, 0, 0);
	manifest_rtp(f, 3, "segment", "cam1-000004.ts", T0 + 10 * SEC, T0 + 10967 * MS,
	             4294960000ull + 10 * 90000);
	fclose(f);
	n = rec_export_mp4(d.path, "cam1", 0, T0 + 60 * SEC, out, err, sizeof(err));
	assert_int_equal(n, 180);
	probe(out, codec, &frames, &start, &dur);
	assert_true(dur > 5.99 && dur < 6.01);
	assert_decodes_clean(out);
	tdir_rm(&d);
}

/* B-frames (DTS behind PTS) and an AAC track alongside. */
static void test_mp4_bframes_audio(void **state)
{
	(void)state;
	struct tdir d;
	char err[256] = "", path[128], out[512], cmd[160];
	long n, v, a;

	tdir_make(&d);
	for (int i = 0; i < 3; i++) {
		/* 3, 2 and 1 s; the second's first frame shows one frame after the first's last. */
		static const char *const offs[] = {"0", "3.066667", "5.066667"};
		snprintf(cmd, sizeof(cmd), "%s/cam1-%06d.ts", d.path, i + 1);
		run(out, sizeof(out),
		    "ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=320x240:rate=30 -f "
		    "lavfi "
		    "-i sine=frequency=440 -t %d -c:v libx264 -g 30 -bf 2 -c:a aac "
		    "-output_ts_offset %s -f mpegts '%s' 2>&1",
		    3 - i, offs[i], cmd);
		assert_string_equal(out, "");
	}
	write_manifest(&d);
	snprintf(path, sizeof(path), "%s/out.mp4", d.path);
	n = rec_export_mp4(d.path, "cam1", T0, T0 + 4 * SEC, path, err, sizeof(err));
	run(out, sizeof(out),
	    "ffprobe -v error -count_frames -show_entries stream=codec_name,nb_read_frames "
	    "-of csv=p=0 '%s' 2>&1",
	    path);
	assert_int_equal(sscanf(out, "h264,%ld\naac,%ld", &v, &a), 2);
	assert_int_equal(v, 150);
	/* 131 + 88 AAC frames, less the one of the second segment that overlaps the first. */
	assert_true(a >= 215 && a <= 219);
	assert_int_equal(n, v + a);
	assert_decodes_clean(path);
	tdir_rm(&d);
}

/* Segments either side of the 33-bit MPEG-TS clock wrap (2^33 / 90 kHz = 95443.7177 s). */
static void test_mp4_across_ts_wrap(void **state)
{
	(void)state;
	struct tdir d;
	char err[256] = "", out[128], codec[16];
	double start, dur;
	long n, frames;

	tdir_make(&d);
	/* ffmpeg's TS muxer adds 1.4 s. The first spans 95301.4..95304.4 s, before the wrap; the
	 * second 95441.4..95444.4 s, wrapping inside (libavformat reads it as negative times);
	 * the third starts at 95444.4 s, after the wrap, read as 0.68 s. 137 s are missing
	 * between the first two (a gap the MP4 keeps). */
	make_ts(&d, "cam1-000001.ts", 3, 95300);
	make_ts(&d, "cam1-000002.ts", 3, 95440);
	make_ts(&d, "cam1-000003.ts", 2, 95443);
	write_manifest(&d);
	snprintf(out, sizeof(out), "%s/out.mp4", d.path);
	n = rec_export_mp4(d.path, "cam1", T0, T0 + 10 * SEC, out, err, sizeof(err));
	assert_int_equal(n, 240);
	probe(out, codec, &frames, &start, &dur);
	assert_int_equal(frames, 240);
	assert_true(start >= 0 && start < 0.001);
	assert_true(dur > 144.9 && dur < 145.1);
	assert_decodes_clean(out);
	tdir_rm(&d);
}

/* --- time syntax ------------------------------------------------------------------------------ */

static void test_time_parse(void **state)
{
	(void)state;
	const int64_t now = T0 + 123456789;
	static const struct {
		const char *text;
		int64_t want;
	} good[] = {
	    {"2026-11-27T11:20:00Z", T0},
	    {"2026-11-27t11:20:00z", T0},
	    {"2026-11-27 11:20:00Z", T0},
	    {"2026-11-27T11:20:00.5Z", T0 + 500 * MS},
	    {"2026-11-27T11:20:00.123456789Z", T0 + 123456789},
	    {"2026-11-27T11:20:00.1234567899Z", T0 + 123456789},
	    {"2026-11-27T19:20:00+08:00", T0},
	    {"2026-11-27T19:20:00+0800", T0},
	    {"2026-11-27T19:20:00+08", T0},
	    {"2026-11-27T05:50:00-05:30", T0},
	    {"2026-11-27T11:19:60Z", T0}, /* a leap second reads as the next minute */
	    {"2028-02-29T00:00:00Z", 1835395200ll * SEC},
	    {"1970-01-01T00:00:00Z", 0},
	    {"1969-12-31T23:59:59.5Z", -500 * MS},
	    {"2262-04-11T23:47:16.854775807Z", INT64_MAX},
	    {"@1795778400", T0},
	    {"@1795778400.25", T0 + 250 * MS},
	    {"@0", 0},
	    {"now", now},
	    {"now-30s", now - 30 * SEC},
	    {"now-5m", now - 300 * SEC},
	    {"now-2h", now - 7200 * SEC},
	    {"now+1d", now + 86400 * SEC},
	    {"now-0s", now},
	};
	static const char *const bad[] = {
	    "",
	    "2026-11-27T11:20:00", /* local time: ambiguous */
	    "2026-11-27",
	    "2026-11-27T11:20Z",
	    "2026-02-29T00:00:00Z", /* not a leap year */
	    "2100-02-29T00:00:00Z",
	    "2026-13-01T00:00:00Z",
	    "2026-00-01T00:00:00Z",
	    "2026-11-31T00:00:00Z",
	    "2026-11-27T24:00:00Z",
	    "2026-11-27T11:60:00Z",
	    "2026-11-27T11:20:61Z",
	    "2026-11-27T11:20:00.Z",
	    "2026-11-27T11:20:00+8:00",
	    "2026-11-27T11:20:00+24:00",
	    "2026-11-27T11:20:00+08:60",
	    "2026-11-27T11:20:00Zjunk",
	    " 2026-11-27T11:20:00Z",
	    "2026-11-27X11:20:00Z",
	    "2262-04-11T23:47:16.854775808Z", /* past int64 ns */
	    "3000-01-01T00:00:00Z",
	    "@",
	    "@12a",
	    "@1.",
	    "@-5",
	    "@99999999999",
	    "now-30",
	    "now-30x",
	    "now30s",
	    "now-s",
	    "now-30s ",
	    "now-99999999999d",
	    "NOW",
	    "yesterday",
	};
	int64_t v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 42;
		if (rec_time_parse(good[i].text, now, &v) || v != good[i].want)
			fail_msg("%s: got %lld, want %lld", good[i].text, (long long)v,
			         (long long)good[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rec_time_parse(bad[i], now, &v) != -EINVAL)
			fail_msg("%s: accepted", bad[i]);
	assert_int_equal(rec_time_parse(NULL, now, &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pcap_range),
	    cmocka_unit_test(test_mp4_two_segments),
	    cmocka_unit_test(test_mp4_segments_restarting),
	    cmocka_unit_test(test_mp4_bframes_audio),
	    cmocka_unit_test(test_mp4_across_ts_wrap),
	    cmocka_unit_test(test_time_parse),
	};
	return cmocka_run_group_tests_name("export", tests, NULL, NULL);
}
