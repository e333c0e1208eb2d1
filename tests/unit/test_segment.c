/* MPEG-TS segment tests: H.264, H.265 and Opus clips made by the ffmpeg CLI are fed access unit
 * by access unit, and ffprobe/ffmpeg judge the result as a user would: every frame there, the
 * right codec and size, no complaint; every prefix playable; a synced .part playable before
 * the seal; refusals and bad input handled. */
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <libavformat/avformat.h>
#include <libavutil/log.h>
#include <openssl/evp.h>

#include "record/segment.h"
#include "record/uring.h"
#include "tfile.h"

#define W        320
#define H        240
#define FPS      30
#define SECONDS  4
#define NFRAMES  (FPS * SECONDS)
#define PTS_BASE 4000000000ll /* past 2^31 and 2^32: 64-bit handling */
#define PTS_STEP (90000 / FPS)
#define LEAD_90K 36000 /* segment.h: video PTS start 12 frames of 30 fps after 0 */
#define TS_PKT   188
#define NBUFS    64
#define BUFSZ    (64u << 10)
#define PID_PAT  0x0000
#define PID_PMT  0x1000
#define PID_ES   0x0100
#define OUT_MAX  4096

struct au {
	uint8_t *data;
	size_t len;
	bool key;
	int64_t dur; /* in the stream's clock units (Opus: 48 kHz samples) */
	int64_t pts; /* from the container, 90 kHz (the B-frame clip only) */
};

struct clip {
	struct au *au;
	size_t n;
	size_t keys;
};

/* Shared by every test: the clips, made once. */
static char clip_dir[64];
static struct clip h264, h265, opus, h264b;
static int av_warnings; /* libav messages at warning level or worse, from our process */

static void av_log_counter(void *avcl, int level, const char *fmt, va_list vl)
{
	(void)avcl;
	if (level > AV_LOG_WARNING)
		return;
	av_warnings++;
	fprintf(stderr, "libav (level %d): ", level);
	vfprintf(stderr, fmt, vl);
}

/* Run cmd with stdout and stderr captured (NUL-terminated, cut to OUT_MAX - 1). Returns the
 * exit status, or -1. */
static int run(const char *cmd, char *out, char *err)
{
	char full[1024], path[128];
	int status;
	FILE *f;
	size_t n;

	snprintf(full, sizeof(full), "%s >'%s/cmd.out' 2>'%s/cmd.err'", cmd, clip_dir, clip_dir);
	status = system(full);
	for (int i = 0; i < 2; i++) {
		char *dst = i ? err : out;

		snprintf(path, sizeof(path), "%s/cmd.%s", clip_dir, i ? "err" : "out");
		dst[0] = '\0';
		f = fopen(path, "r");
		if (!f)
			continue;
		n = fread(dst, 1, OUT_MAX - 1, f);
		dst[n] = '\0';
		fclose(f);
	}
	return status == -1 || !WIFEXITED(status) ? -1 : WEXITSTATUS(status);
}

static int load_clip(const char *file, const char *format, struct clip *c)
{
	const AVInputFormat *ifmt = av_find_input_format(format);
	AVFormatContext *fmt = NULL;
	AVPacket *pkt = av_packet_alloc();
	char path[128];
	size_t cap = 0;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", clip_dir, file);
	memset(c, 0, sizeof(*c));
	if (!pkt || !ifmt)
		return -1;
	ret = avformat_open_input(&fmt, path, ifmt, NULL);
	while (ret >= 0 && (ret = av_read_frame(fmt, pkt)) >= 0) {
		struct au *a;

		if (c->n == cap) {
			cap = cap ? 2 * cap : 64;
			a = realloc(c->au, cap * sizeof(*a));
			if (!a)
				break;
			c->au = a;
		}
		a = &c->au[c->n++];
		a->data = malloc((size_t)pkt->size);
		a->len = (size_t)pkt->size;
		a->key = pkt->flags & AV_PKT_FLAG_KEY;
		/* Video at FPS on the 90 kHz clock; Opus in 48 kHz samples. */
		a->dur =
		    fmt->streams[pkt->stream_index]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO
		        ? PTS_STEP
		        : av_rescale_q(pkt->duration, fmt->streams[pkt->stream_index]->time_base,
		                       (AVRational){1, 48000});
		a->pts = pkt->pts;
		if (a->data)
			memcpy(a->data, pkt->data, a->len);
		c->keys += a->key;
		av_packet_unref(pkt);
	}
	av_packet_free(&pkt);
	avformat_close_input(&fmt);
	return ret == AVERROR_EOF && c->n ? 0 : -1;
}

static void clip_free(struct clip *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->au[i].data);
	free(c->au);
	memset(c, 0, sizeof(*c));
}

/* The clips come from the ffmpeg CLI; a missing encoder fails the tests instead of skipping
 * them. */
static int group_setup(void **state)
{
	static const char *const make[] = {
	    "ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=320x240:rate=30 -t 4 -pix_fmt "
	    "yuv420p "
	    "-c:v libx264 -g 30 -bf 0 -f h264 clip.h264",
	    "ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=320x240:rate=30 -t 4 -pix_fmt "
	    "yuv420p "
	    "-c:v libx265 -x265-params keyint=30:bframes=0:log-level=error -f hevc clip.h265",
	    "ffmpeg -nostdin -v error -f lavfi -i sine=frequency=440:sample_rate=48000 -t 2 -ac 2 "
	    "-c:a libopus -f ogg clip.ogg",
	    /* x264's defaults: 3 B-frames, pyramid; decode order differs from display order */
	    "ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=320x240:rate=30 -t 4 -pix_fmt "
	    "yuv420p -c:v libx264 -g 30 -bf 3 -f mpegts clipb.ts",
	};
	char cmd[512], out[OUT_MAX], err[OUT_MAX];

	(void)state;
	snprintf(clip_dir, sizeof(clip_dir), "/tmp/test_segment.XXXXXX");
	if (!mkdtemp(clip_dir))
		return -1;
	for (size_t i = 0; i < sizeof(make) / sizeof(make[0]); i++) {
		snprintf(cmd, sizeof(cmd), "cd '%s' && %s", clip_dir, make[i]);
		if (run(cmd, out, err) != 0 || err[0]) {
			fprintf(stderr, "%s failed: %s\n", cmd, err);
			return -1;
		}
	}
	if (load_clip("clip.h264", "h264", &h264) || load_clip("clip.h265", "hevc", &h265) ||
	    load_clip("clip.ogg", "ogg", &opus) || load_clip("clipb.ts", "mpegts", &h264b)) {
		fprintf(stderr, "could not read the clips back\n");
		return -1;
	}
	av_log_set_callback(av_log_counter);
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	av_log_set_callback(av_log_default_callback);
	clip_free(&h264);
	clip_free(&h265);
	clip_free(&opus);
	clip_free(&h264b);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", clip_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* What ffprobe says of a file's first stream, and what it and a full decode print on stderr. */
struct probe {
	char codec[32];
	int width, height, channels, sample_rate;
	long frames;       /* video: decoded (nb_read_frames); audio: packets (nb_read_packets) */
	char err[OUT_MAX]; /* ffprobe's stderr */
	char dec_err[OUT_MAX]; /* ffmpeg -v error -i file -f null -: stderr */
	int dec_status;
};

static void probe(const char *path, bool video, struct probe *p)
{
	char cmd[512], out[OUT_MAX];

	memset(p, 0, sizeof(*p));
	if (video)
		snprintf(cmd, sizeof(cmd),
		         "ffprobe -v error -count_frames -select_streams v:0 -show_entries "
		         "stream=codec_name,width,height,nb_read_frames -of csv=p=0 '%s'",
		         path);
	else
		snprintf(cmd, sizeof(cmd),
		         "ffprobe -v error -count_packets -select_streams a:0 -show_entries "
		         "stream=codec_name,channels,sample_rate,nb_read_packets -of csv=p=0 '%s'",
		         path);
	assert_int_equal(run(cmd, out, p->err), 0);
	if (video)
		sscanf(out, "%31[^,],%d,%d,%ld", p->codec, &p->width, &p->height, &p->frames);
	else
		sscanf(out, "%31[^,],%d,%d,%ld", p->codec, &p->sample_rate, &p->channels,
		       &p->frames);
	snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -i '%s' -f null -", path);
	p->dec_status = run(cmd, out, p->dec_err);
}

/* Reap until the ring has every buffer back and at least syncs fdatasyncs completed; gives up
 * after half a minute or more (a loaded disk can take seconds over an fdatasync). */
static void drain(struct rec_uring *u, uint64_t syncs)
{
	for (int i = 0; i < 300000 && (u->nbufs_free < u->nbufs || u->st.syncs < syncs); i++) {
		assert_true(rec_uring_poll(u) >= 0);
		usleep(100);
	}
	assert_int_equal(u->nbufs_free, u->nbufs);
	assert_true(u->st.syncs >= syncs);
}

/* Feed c->au[from..to) with pts from PTS_BASE, polling the ring as the recorder does; ends[i]
 * gets the bytes handed to the file after AU i. */
static void feed(struct rec_seg *s, struct rec_uring *u, const struct clip *c, size_t from,
                 size_t to, uint64_t *ends)
{
	int64_t pts = PTS_BASE;

	for (size_t i = 0; i < from; i++)
		pts += c->au[i].dur;
	for (size_t i = from; i < to; i++) {
		assert_int_equal(rec_seg_write(s, c->au[i].data, c->au[i].len, pts, c->au[i].key),
		                 0);
		pts += c->au[i].dur;
		if (ends)
			ends[i] = rec_seg_bytes(s);
		assert_true(rec_uring_poll(u) >= 0);
	}
}

/* The TS packets of buf: every one starts with 0x47; counts by PID, and the order of the first
 * PAT, PMT and elementary stream packet. */
struct ts_scan {
	size_t pkts, pat, pmt, es;
	long first_pat, first_pmt, first_es;
};

static void ts_scan(const uint8_t *buf, size_t len, struct ts_scan *t)
{
	memset(t, 0, sizeof(*t));
	t->first_pat = t->first_pmt = t->first_es = -1;
	assert_int_equal(len % TS_PKT, 0);
	for (size_t off = 0; off < len; off += TS_PKT) {
		unsigned pid = (buf[off + 1] & 0x1fu) << 8 | buf[off + 2];
		long i = (long)(off / TS_PKT);

		assert_int_equal(buf[off], 0x47);
		t->pkts++;
		if (pid == PID_PAT && t->pat++ == 0)
			t->first_pat = i;
		if (pid == PID_PMT && t->pmt++ == 0)
			t->first_pmt = i;
		if (pid == PID_ES && t->es++ == 0)
			t->first_es = i;
	}
}

/* Write a whole clip as one segment on base's file system, seal, and check what a user sees. */
static void whole_clip(const char *base, const struct clip *c, enum rec_seg_codec codec,
                       const char *codec_name)
{
	struct rec_seg_params p = {.codec = codec, .clock_rate = 90000};
	bool video = codec != REC_SEG_OPUS;
	char path[128], hex[65], indep[65], err[256] = "";
	struct rec_seg *s;
	struct rec_uring u;
	struct ts_scan t;
	struct probe pr;
	struct tdir d;
	uint64_t size = 0, bytes;
	uint8_t *file;
	size_t len;

	if (!video) {
		p.clock_rate = 48000;
		p.channels = 2;
	}
	av_warnings = 0;
	assert_int_equal(tdir_make(&d, base), 0);
	assert_int_equal(rec_uring_init(&u, NBUFS, BUFSZ, 4), 0);
	assert_int_equal(rec_seg_open(&u, d.fd, "seg.ts", &p, &s, err, sizeof(err)), 0);
	feed(s, &u, c, 0, c->n, NULL);
	assert_int_equal(rec_seg_frames(s), c->n);
	bytes = rec_seg_bytes(s);
	assert_int_equal(rec_seg_close(s, hex, &size), 0);
	assert_true(size >= bytes);
	assert_int_equal(av_warnings, 0);
	assert_int_equal(u.st.errors, 0);

	snprintf(path, sizeof(path), "%s/seg.ts", d.path);
	file = tfile_read(AT_FDCWD, path, &len);
	assert_non_null(file);
	assert_int_equal(len, size);
	sha256_hex(file, len, indep);
	assert_string_equal(hex, indep);
	ts_scan(file, len, &t);
	print_message("%s %s: %zu AUs (%zu keys) -> %zu bytes, %zu TS packets, %zu PAT, %zu PMT, "
	              "first at %ld %ld %ld\n",
	              base, codec_name, c->n, c->keys, len, t.pkts, t.pat, t.pmt, t.first_pat,
	              t.first_pmt, t.first_es);
	/* SDT, PAT and PMT come first, then again at least before every keyframe / 100 ms. */
	assert_true(t.first_pat >= 0 && t.first_pat < t.first_pmt && t.first_pmt < t.first_es);
	assert_true(t.first_es <= 3);
	int64_t dur = 0;
	for (size_t i = 0; i < c->n; i++)
		dur += c->au[i].dur;
	dur = dur * 10 / p.clock_rate; /* 100 ms periods */
	assert_true(t.pat >= (size_t)dur - 1 && t.pmt >= (size_t)dur - 1);
	if (video)
		assert_true(t.pat >= c->keys);
	free(file);

	probe(path, video, &pr);
	assert_string_equal(pr.err, "");
	assert_string_equal(pr.codec, codec_name);
	assert_int_equal(pr.frames, (long)c->n);
	if (video) {
		assert_int_equal(pr.width, W);
		assert_int_equal(pr.height, H);
	} else {
		assert_int_equal(pr.channels, 2);
		assert_int_equal(pr.sample_rate, 48000);
	}
	assert_int_equal(pr.dec_status, 0);
	assert_string_equal(pr.dec_err, "");
	rec_uring_exit(&u);
	assert_int_equal(tdir_rm(&d), 0);
}

static void test_h264_tmp(void **state)
{
	(void)state;
	assert_int_equal(h264.n, NFRAMES);
	assert_true(h264.keys >= SECONDS);
	whole_clip("/tmp", &h264, REC_SEG_H264, "h264");
}

static void test_h264_shm(void **state)
{
	(void)state;
	whole_clip("/dev/shm", &h264, REC_SEG_H264, "h264");
}

static void test_h265_tmp(void **state)
{
	(void)state;
	assert_int_equal(h265.n, NFRAMES);
	assert_true(h265.keys >= SECONDS);
	whole_clip("/tmp", &h265, REC_SEG_H265, "hevc");
}

static void test_opus_tmp(void **state)
{
	(void)state;
	assert_true(opus.n >= 99); /* 2 s of 20 ms packets */
	whole_clip("/tmp", &opus, REC_SEG_OPUS, "opus");
}

/* The PTS in the file start at 0 and advance by the RTP clock, whatever the first RTP
 * timestamp was. */
static void test_timestamps(void **state)
{
	struct rec_seg_params p = {.codec = REC_SEG_H264, .clock_rate = 90000};
	char cmd[512], out[OUT_MAX], err[OUT_MAX], hex[65];
	struct rec_seg *s;
	struct rec_uring u;
	struct tdir d;
	uint64_t size;
	long first = -1, last = -1, n = 0;

	(void)state;
	assert_int_equal(tdir_make(&d, "/dev/shm"), 0);
	assert_int_equal(rec_uring_init(&u, NBUFS, BUFSZ, 4), 0);
	assert_int_equal(rec_seg_open(&u, d.fd, "ts.ts", &p, &s, err, sizeof(err)), 0);
	feed(s, &u, &h264, 0, h264.n, NULL);
	assert_int_equal(rec_seg_close(s, hex, &size), 0);
	snprintf(cmd, sizeof(cmd),
	         "ffprobe -v error -select_streams v:0 -show_entries packet=pts -of csv=p=0 "
	         "'%s/ts.ts'",
	         d.path);
	assert_int_equal(run(cmd, out, err), 0);
	assert_string_equal(err, "");
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"), n++) {
		long v = strtol(line, NULL, 10);
		if (first < 0)
			first = v;
		assert_true(v > last);
		last = v;
	}
	assert_int_equal(n, NFRAMES);
	assert_int_equal(first, LEAD_90K);
	assert_int_equal(last, LEAD_90K + (NFRAMES - 1) * PTS_STEP);
	rec_uring_exit(&u);
	assert_int_equal(tdir_rm(&d), 0);
}

/* A stream with B-frames, in decode order with its own presentation times, as an RTP camera
 * sends it: every frame is muxed and decodes, in display order. */
static void test_bframes(void **state)
{
	struct rec_seg_params p = {.codec = REC_SEG_H264, .clock_rate = 90000};
	char path[128], hex[65], err[256];
	struct rec_seg *s;
	struct rec_uring u;
	struct probe pr;
	struct tdir d;
	uint64_t size;
	size_t backwards = 0;

	(void)state;
	assert_int_equal(h264b.n, NFRAMES);
	for (size_t i = 1; i < h264b.n; i++)
		backwards += h264b.au[i].pts < h264b.au[i - 1].pts;
	assert_true(backwards > 10); /* the clip really has reordered frames */
	av_warnings = 0;
	assert_int_equal(tdir_make(&d, "/dev/shm"), 0);
	assert_int_equal(rec_uring_init(&u, NBUFS, BUFSZ, 4), 0);
	assert_int_equal(rec_seg_open(&u, d.fd, "b.ts", &p, &s, err, sizeof(err)), 0);
	for (size_t i = 0; i < h264b.n; i++)
		assert_int_equal(rec_seg_write(s, h264b.au[i].data, h264b.au[i].len,
		                               PTS_BASE + h264b.au[i].pts, h264b.au[i].key),
		                 0);
	assert_int_equal(rec_seg_close(s, hex, &size), 0);
	assert_int_equal(av_warnings, 0);
	snprintf(path, sizeof(path), "%s/b.ts", d.path);
	probe(path, true, &pr);
	assert_string_equal(pr.err, "");
	assert_int_equal(pr.frames, NFRAMES);
	assert_int_equal(pr.dec_status, 0);
	assert_string_equal(pr.dec_err, "");
	rec_uring_exit(&u);
	assert_int_equal(tdir_rm(&d), 0);
}

static void cut(const uint8_t *file, size_t len, const char *path)
{
	write_file(path, file, len);
}

/* Whether stderr holds nothing but at most two complaints of the H.264 decoder (about the one
 * truncated frame): nothing from the demuxer, so the TS itself is sound. */
static bool decoder_only(const char *err)
{
	int lines = 0;

	for (const char *l = err; *l; lines++) {
		const char *nl = strchr(l, '\n');

		if (strncmp(l, "[h264 @", 7) != 0)
			return false;
		l = nl ? nl + 1 : l + strlen(l);
	}
	return lines <= 2;
}

/*
 * Any prefix plays. Cut at an access unit boundary (always a TS packet boundary: the muxer
 * writes whole packets and flushes after each AU), a prefix decodes exactly those AUs with no
 * complaint. Cut inside an AU, at a TS packet boundary or not, the demuxer drops the partial TS
 * packet and hands the decoder a truncated last AU: every whole AU before it decodes, the last
 * one may or may not, and the decoder may complain about it (and only it).
 */
static void test_prefixes(void **state)
{
	struct rec_seg_params p = {.codec = REC_SEG_H264, .clock_rate = 90000};
	uint64_t ends[NFRAMES], size;
	char path[128], pfx[160], hex[65], err[256];
	struct rec_seg *s;
	struct rec_uring u;
	struct probe pr;
	struct tdir d;
	uint8_t *file;
	size_t len;

	(void)state;
	assert_int_equal(tdir_make(&d, "/dev/shm"), 0);
	assert_int_equal(rec_uring_init(&u, NBUFS, BUFSZ, 4), 0);
	assert_int_equal(rec_seg_open(&u, d.fd, "p.ts", &p, &s, err, sizeof(err)), 0);
	feed(s, &u, &h264, 0, h264.n, ends);
	assert_int_equal(rec_seg_close(s, hex, &size), 0);
	snprintf(path, sizeof(path), "%s/p.ts", d.path);
	file = tfile_read(AT_FDCWD, path, &len);
	assert_non_null(file);
	assert_int_equal(ends[NFRAMES - 1], len);
	snprintf(pfx, sizeof(pfx), "%s/prefix.ts", d.path);

	/* At AU boundaries: exactly the AUs before the cut, silently. */
	static const size_t at_au[] = {0, 1, 29, 30, 31, 59, 77, NFRAMES - 2};
	for (size_t i = 0; i < sizeof(at_au) / sizeof(at_au[0]); i++) {
		size_t k = at_au[i];

		assert_int_equal(ends[k] % TS_PKT, 0);
		cut(file, ends[k], pfx);
		probe(pfx, true, &pr);
		print_message("cut after AU %zu (%llu bytes): %ld frames, stderr \"%s\" \"%s\"\n",
		              k, (unsigned long long)ends[k], pr.frames, pr.err, pr.dec_err);
		assert_int_equal(pr.frames, (long)k + 1);
		assert_string_equal(pr.err, "");
		assert_int_equal(pr.dec_status, 0);
		assert_string_equal(pr.dec_err, "");
	}

	/* Inside AUs: at TS packet boundaries and off them. */
	static const double where[] = {0.1, 0.37, 0.5, 0.81, 0.97};
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		for (int aligned = 1; aligned >= 0; aligned--) {
			size_t at = (size_t)(where[i] * (double)len), whole = 0;

			at = aligned ? at / TS_PKT * TS_PKT : at / TS_PKT * TS_PKT + 1 + at % 150;
			while (whole < NFRAMES && ends[whole] <= at)
				whole++;
			cut(file, at, pfx);
			probe(pfx, true, &pr);
			print_message("cut at %zu (%s, %zu whole AUs): %ld frames, stderr \"%s\" "
			              "\"%s\"\n",
			              at, aligned ? "aligned" : "unaligned", whole, pr.frames,
			              pr.err, pr.dec_err);
			assert_true(pr.frames >= (long)whole && pr.frames <= (long)whole + 1);
			assert_int_equal(pr.dec_status, 0);
			assert_true(decoder_only(pr.err) && decoder_only(pr.dec_err));
		}
	}
	free(file);
	rec_uring_exit(&u);
	assert_int_equal(tdir_rm(&d), 0);
}

/* Crash durability: after rec_seg_sync() and its fdatasync, the .part on disk plays, before any
 * seal. Buffered, it holds every AU written; O_DIRECT keeps the unaligned tail (< 1 block) in
 * memory, so the last AU may be cut short. */
static void sync_part(const char *base)
{
	struct rec_seg_params p = {.codec = REC_SEG_H264, .clock_rate = 90000};
	char path[128], hex[65], err[256];
	uint64_t ends[NFRAMES], size;
	struct rec_seg *s;
	struct rec_uring u;
	struct probe pr;
	struct stat st;
	struct tdir d;
	size_t half = NFRAMES / 2 + 5, whole = 0;
	bool direct;

	assert_int_equal(tdir_make(&d, base), 0);
	assert_int_equal(rec_uring_init(&u, NBUFS, BUFSZ, 4), 0);
	assert_int_equal(rec_seg_open(&u, d.fd, "c.ts", &p, &s, err, sizeof(err)), 0);
	direct = u.files[0] && u.files[0]->direct;
	feed(s, &u, &h264, 0, half, ends);
	assert_int_equal(rec_seg_sync(s), 0);
	drain(&u, 1);
	assert_int_equal(u.files[0]->syncs, 1);

	snprintf(path, sizeof(path), "%s/c.ts.part", d.path);
	assert_int_equal(stat(path, &st), 0);
	print_message("%s: %zu AUs, %llu bytes written, %lld in the synced .part (%s)\n", base,
	              half, (unsigned long long)ends[half - 1], (long long)st.st_size,
	              direct ? "O_DIRECT" : "buffered");
	/* Every byte is on disk; O_DIRECT pads the last block with zeros. */
	if (direct) {
		uint32_t a = u.files[0]->dio_align;
		assert_int_equal((uint64_t)st.st_size, (ends[half - 1] + a - 1) / a * a);
	} else {
		assert_int_equal(st.st_size, ends[half - 1]);
	}
	while (whole < half && ends[whole] <= (uint64_t)st.st_size)
		whole++;
	probe(path, true, &pr);
	print_message("%s: the .part decodes %ld frames (%zu whole AUs in it), stderr \"%s\" "
	              "\"%s\"\n",
	              base, pr.frames, whole, pr.err, pr.dec_err);
	assert_int_equal(pr.dec_status, 0);
	assert_int_equal(pr.frames, (long)half);
	assert_string_equal(pr.err, "");
	assert_string_equal(pr.dec_err, "");

	/* The segment goes on and seals whole. */
	feed(s, &u, &h264, half, h264.n, NULL);
	assert_int_equal(rec_seg_close(s, hex, &size), 0);
	snprintf(path, sizeof(path), "%s/c.ts", d.path);
	probe(path, true, &pr);
	assert_int_equal(pr.frames, NFRAMES);
	assert_string_equal(pr.dec_err, "");
	rec_uring_exit(&u);
	assert_int_equal(tdir_rm(&d), 0);
}

static void test_sync_tmp(void **state)
{
	(void)state;
	sync_part("/tmp");
}

static void test_sync_shm(void **state)
{
	(void)state;
	sync_part("/dev/shm");
}

/* An Opus packet waits in the muxer for the next one; a sync completes it. */
static void test_opus_sync(void **state)
{
	struct rec_seg_params p = {.codec = REC_SEG_OPUS, .clock_rate = 48000, .channels = 2};
	char path[128], hex[65], err[256];
	struct rec_seg *s;
	struct rec_uring u;
	struct probe pr;
	struct tdir d;
	uint64_t size, before;

	(void)state;
	assert_int_equal(tdir_make(&d, "/dev/shm"), 0);
	assert_int_equal(rec_uring_init(&u, NBUFS, BUFSZ, 4), 0);
	assert_int_equal(rec_seg_open(&u, d.fd, "o.ts", &p, &s, err, sizeof(err)), 0);
	feed(s, &u, &opus, 0, 10, NULL);
	before = rec_seg_bytes(s);
	assert_int_equal(rec_seg_sync(s), 0);
	assert_true(rec_seg_bytes(s) > before);
	drain(&u, 1);
	snprintf(path, sizeof(path), "%s/o.ts.part", d.path);
	probe(path, false, &pr);
	assert_string_equal(pr.err, "");
	assert_string_equal(pr.codec, "opus");
	assert_int_equal(pr.frames, 10);
	assert_string_equal(pr.dec_err, "");
	assert_int_equal(rec_seg_close(s, hex, &size), 0);
	rec_uring_exit(&u);
	assert_int_equal(tdir_rm(&d), 0);
}

/* Bad input is refused without harming the segment. */
static void test_bad_input(void **state)
{
	struct rec_seg_params p = {.codec = REC_SEG_H264, .clock_rate = 90000};
	static const uint8_t no_start[] = {0x65, 0x88, 0x84, 0x00, 0x10, 0x00};
	char path[128], hex[65], err[256];
	const struct au *a = h264.au;
	struct rec_seg *s;
	struct rec_uring u;
	struct probe pr;
	struct tdir d;
	uint64_t size;

	(void)state;
	av_warnings = 0;
	assert_int_equal(tdir_make(&d, "/dev/shm"), 0);
	assert_int_equal(rec_uring_init(&u, NBUFS, BUFSZ, 4), 0);

	/* Parameters. */
	struct rec_seg_params bad = {.codec = REC_SEG_OPUS, .clock_rate = 48000, .channels = 6};
	assert_int_equal(rec_seg_open(&u, d.fd, "b0.ts", &bad, &s, err, sizeof(err)), -EINVAL);
	assert_null(s);
	assert_true(err[0] != '\0');
	bad.channels = 2;
	bad.clock_rate = 90000;
	assert_int_equal(rec_seg_open(&u, d.fd, "b0.ts", &bad, &s, err, sizeof(err)), -EINVAL);
	bad = (struct rec_seg_params){.codec = 7, .clock_rate = 90000};
	assert_int_equal(rec_seg_open(&u, d.fd, "b0.ts", &bad, &s, err, sizeof(err)), -EINVAL);
	bad = (struct rec_seg_params){.codec = REC_SEG_H264, .clock_rate = 0};
	assert_int_equal(rec_seg_open(&u, d.fd, "b0.ts", &bad, &s, err, sizeof(err)), -EINVAL);
	assert_int_equal(faccessat(d.fd, "b0.ts.part", F_OK, 0), -1);

	assert_int_equal(rec_seg_open(&u, d.fd, "b.ts", &p, &s, err, sizeof(err)), 0);
	/* Same name again: the .part is not overwritten. */
	struct rec_seg *s2;
	assert_int_equal(rec_seg_open(&u, d.fd, "b.ts", &p, &s2, err, sizeof(err)), -EEXIST);
	assert_null(s2);

	assert_int_equal(rec_seg_write(s, NULL, 10, PTS_BASE, true), -EINVAL);
	assert_int_equal(rec_seg_write(s, a[0].data, 0, PTS_BASE, true), -EINVAL);
	assert_int_equal(rec_seg_write(s, no_start, sizeof(no_start), PTS_BASE, true), -EINVAL);
	assert_int_equal(rec_seg_write(s, a[0].data, a[0].len, -1, true), -EINVAL);
	assert_int_equal(rec_seg_frames(s), 0);
	assert_int_equal(rec_seg_write(s, a[0].data, a[0].len, PTS_BASE, true), 0);
	/* A repeated PTS, or one more than 8 frames before the first: refused. */
	assert_int_equal(rec_seg_write(s, a[1].data, a[1].len, PTS_BASE, false), -EINVAL);
	assert_int_equal(rec_seg_write(s, a[1].data, a[1].len, PTS_BASE - 30000, false), -EINVAL);
	assert_int_equal(rec_seg_write(s, a[1].data, a[1].len, PTS_BASE + 3000, false), 0);
	assert_int_equal(rec_seg_write(s, a[2].data, a[2].len, PTS_BASE + 3000, false), -EINVAL);
	assert_int_equal(rec_seg_write(s, no_start, sizeof(no_start), PTS_BASE + 6000, false),
	                 -EINVAL);
	assert_int_equal(rec_seg_write(s, a[2].data, a[2].len, PTS_BASE + 6000, false), 0);
	assert_int_equal(rec_seg_frames(s), 3);
	assert_int_equal(rec_seg_close(s, hex, &size), 0);
	assert_int_equal(av_warnings, 0);
	snprintf(path, sizeof(path), "%s/b.ts", d.path);
	probe(path, true, &pr);
	assert_int_equal(pr.frames, 3);
	assert_string_equal(pr.err, "");
	assert_string_equal(pr.dec_err, "");

	/* Opus: a malformed TOC (code 3 without its frame count byte, or 0 frames). */
	struct rec_seg_params po = {.codec = REC_SEG_OPUS, .clock_rate = 48000, .channels = 2};
	static const uint8_t code3_short[] = {0xfb}, code3_none[] = {0xfb, 0x00};
	assert_int_equal(rec_seg_open(&u, d.fd, "bo.ts", &po, &s, err, sizeof(err)), 0);
	assert_int_equal(rec_seg_write(s, code3_short, 1, 0, true), -EINVAL);
	assert_int_equal(rec_seg_write(s, code3_none, 2, 0, true), -EINVAL);
	assert_int_equal(rec_seg_write(s, opus.au[0].data, opus.au[0].len, 0, true), 0);
	rec_seg_abort(s);
	assert_int_equal(faccessat(d.fd, "bo.ts.part", F_OK, 0), 0);
	rec_seg_abort(NULL);
	rec_uring_exit(&u);
	assert_int_equal(tdir_rm(&d), 0);
}

/* Staging buffers run out: the segment fails for good with -ENOBUFS, the close leaves the
 * .part, and what it holds is a playable prefix. */
static void test_enobufs(void **state)
{
	struct rec_seg_params p = {.codec = REC_SEG_H264, .clock_rate = 90000};
	char path[128], hex[65] = "x", err[256];
	struct rec_buf *held[16];
	struct rec_file *hold;
	struct rec_seg *s;
	struct rec_uring u;
	struct probe pr;
	struct tdir d;
	uint64_t size = 1;
	uint32_t nheld = 0;
	size_t ok = 35;

	(void)state;
	assert_int_equal(tdir_make(&d, "/dev/shm"), 0);
	assert_int_equal(rec_uring_init(&u, 16, 4096, 4), 0);
	assert_int_equal(rec_seg_open(&u, d.fd, "n.ts", &p, &s, err, sizeof(err)), 0);
	feed(s, &u, &h264, 0, ok, NULL);
	assert_int_equal(rec_seg_sync(s), 0);
	drain(&u, 1);
	/* Someone else (the journal) holds all but one buffer. */
	assert_int_equal(rec_file_open(&u, d.fd, "hold", &hold), 0);
	while (u.nbufs_free > 1)
		held[nheld++] = rec_buf_get(&u, hold);
	size_t big = ok;
	while (h264.au[big].len <= 4096)
		big++;
	assert_true(big < NFRAMES);
	assert_int_equal(rec_seg_write(s, h264.au[big].data, h264.au[big].len,
	                               PTS_BASE + (int64_t)big * PTS_STEP, h264.au[big].key),
	                 -ENOBUFS);
	for (uint32_t i = 0; i < nheld; i++)
		rec_buf_put(&u, held[i]);
	rec_file_abort(&u, hold);
	/* Failed for good, even with buffers free again. */
	assert_int_equal(rec_seg_write(s, h264.au[big + 1].data, h264.au[big + 1].len,
	                               PTS_BASE + (int64_t)(big + 1) * PTS_STEP, false),
	                 -ENOBUFS);
	assert_int_equal(rec_seg_sync(s), -ENOBUFS);
	assert_int_equal(rec_seg_frames(s), ok);
	assert_int_equal(rec_seg_close(s, hex, &size), -ENOBUFS);
	assert_string_equal(hex, "");
	assert_int_equal(size, 0);
	assert_int_equal(faccessat(d.fd, "n.ts", F_OK, 0), -1);
	snprintf(path, sizeof(path), "%s/n.ts.part", d.path);
	probe(path, true, &pr);
	print_message("failed segment's .part: %ld frames (%zu written), stderr \"%s\" \"%s\"\n",
	              pr.frames, ok, pr.err, pr.dec_err);
	assert_true(pr.frames >= (long)ok);
	assert_int_equal(pr.dec_status, 0);
	assert_int_equal(u.nbufs_free, u.nbufs);
	rec_uring_exit(&u);
	assert_int_equal(tdir_rm(&d), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_h264_tmp),   cmocka_unit_test(test_h264_shm),
	    cmocka_unit_test(test_h265_tmp),   cmocka_unit_test(test_opus_tmp),
	    cmocka_unit_test(test_timestamps), cmocka_unit_test(test_prefixes),
	    cmocka_unit_test(test_sync_tmp),   cmocka_unit_test(test_sync_shm),
	    cmocka_unit_test(test_opus_sync),  cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_enobufs),    cmocka_unit_test(test_bframes),
	};

	return cmocka_run_group_tests_name("segment", tests, group_setup, group_teardown);
}
