/* Transcoding sessions: a 1280x720 30 fps H.264 clip made by ffmpeg, read access unit by access
 * unit with libavformat, into renditions checked by ffprobe and ffmpeg. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "trun.h"
#include <libavformat/avformat.h>
#include <libavutil/log.h>

#include "media/transcode.h"
#include "rtp/h26x.h"

#define FRAMES 120
#define TICKS  3000 /* 90 kHz per frame at 30 fps */

struct clip {
	char dir[64];
	uint8_t *au[FRAMES];
	size_t len[FRAMES];
	int n;
};

static struct clip clip;

/* libx265 3.5 leaks about 1.2 KB per encoder it opens (its zone parameter copy, and the strings
 * of x265_param_parse/x265_copy_params, such as "pools=none"); fixed upstream after 3.5. Only
 * stacks through libx265 are excused, so a leak of ours still fails the SAN build. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libx265.so\n";
}

/* A shell command's output (stdout and stderr), which must exit 0. */
static int clip_setup(void **state)
{
	AVFormatContext *fmt = NULL;
	AVPacket *pkt = av_packet_alloc();
	char path[128], out[1024];
	const char *base = getenv("TMPDIR");

	(void)state;
	av_log_set_level(AV_LOG_FATAL); /* the corrupt-unit test makes the decoder complain */
	snprintf(clip.dir, sizeof(clip.dir), "%s/test_transcode.XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(clip.dir) || !pkt)
		return -1;
	snprintf(path, sizeof(path), "%s/clip.h264", clip.dir);
	run(out, sizeof(out),
	    "ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=1280x720:rate=30 -t 4 "
	    "-c:v libx264 -preset veryfast -bf 0 -g 30 -pix_fmt yuv420p -f h264 '%s' 2>&1",
	    path);
	if (out[0])
		return -1;
	if (avformat_open_input(&fmt, path, av_find_input_format("h264"), NULL) < 0)
		return -1;
	while (av_read_frame(fmt, pkt) >= 0) {
		if (clip.n < FRAMES) {
			clip.au[clip.n] = malloc((size_t)pkt->size);
			memcpy(clip.au[clip.n], pkt->data, (size_t)pkt->size);
			clip.len[clip.n++] = (size_t)pkt->size;
		}
		av_packet_unref(pkt);
	}
	avformat_close_input(&fmt);
	av_packet_free(&pkt);
	return clip.n == FRAMES ? 0 : -1;
}

static int clip_teardown(void **state)
{
	char cmd[128];

	(void)state;
	for (int i = 0; i < clip.n; i++)
		free(clip.au[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", clip.dir);
	return system(cmd);
}

/* What came out of a session, per rendition. */
struct got {
	FILE *f[TC_MAX_RENDITIONS];
	int n[TC_MAX_RENDITIONS];
	int keyframes[TC_MAX_RENDITIONS];
	int64_t last_pts[TC_MAX_RENDITIONS];
	int64_t key_pts[TC_MAX_RENDITIONS][16]; /* pts of the keyframes */
	bool bad_key[TC_MAX_RENDITIONS];        /* a keyframe without its parameter sets */
	bool bad_order[TC_MAX_RENDITIONS];
	enum tc_codec codec;
};

/* For a keyframe flagged by the callback: the NAL types it must hold, parameter sets first. */
static bool key_ok(enum tc_codec c, const uint8_t *au, size_t len)
{
	enum h26x_codec hc = c == TC_H264 ? H26X_H264 : H26X_H265;
	const uint8_t *pos = au, *nal;
	size_t nlen;
	bool sps = false, pps = false, vps = c == TC_H264, idr = false;

	while (h26x_annexb_next(&pos, au + len, &nal, &nlen)) {
		uint8_t t = h26x_nal_type(hc, nal);
		if (c == TC_H264) {
			sps |= t == H264_NAL_SPS;
			pps |= t == H264_NAL_PPS;
			if (t == H264_NAL_IDR)
				idr = true;
		} else {
			vps |= t == H265_NAL_VPS;
			sps |= t == H265_NAL_SPS;
			pps |= t == H265_NAL_PPS;
			if (t == 19 || t == 20) /* IDR_W_RADL, IDR_N_LP */
				idr = true;
		}
		if (idr && !(vps && sps && pps))
			return false;
	}
	return idr;
}

static void on_out(void *arg, int id, const uint8_t *au, size_t len, int64_t pts, bool keyframe)
{
	struct got *g = arg;

	assert_true(id >= 0 && id < TC_MAX_RENDITIONS);
	if (g->f[id])
		assert_int_equal(fwrite(au, 1, len, g->f[id]), len);
	if (g->n[id] && pts <= g->last_pts[id])
		g->bad_order[id] = true;
	if (!g->n[id] && !keyframe)
		g->bad_key[id] = true;
	if (keyframe) {
		if (!key_ok(g->codec, au, len))
			g->bad_key[id] = true;
		if (g->keyframes[id] < 16)
			g->key_pts[id][g->keyframes[id]] = pts;
		g->keyframes[id]++;
	}
	g->last_pts[id] = pts;
	g->n[id]++;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct tc_session *session(void)
{
	struct tc_session *s;
	char err[128];

	assert_int_equal(tc_session_new(TC_H264, &s, err, sizeof(err)), 0);
	return s;
}

static int add(struct tc_session *s, int height, int kbps, enum tc_codec codec)
{
	struct tc_rendition_spec spec = {.height = height, .kbps = kbps, .codec = codec};
	char err[128];
	int id = -1;

	assert_int_equal(tc_rendition_add(s, &spec, &id, err, sizeof(err)), 0);
	return id;
}

/* codec, width, height and decoded frames of a raw stream, as ffprobe reports them. */
static void probe(const char *path, const char *codec, int w, int h, int frames)
{
	char out[512], name[16];
	int pw, ph, pn;

	run(out, sizeof(out),
	    "ffprobe -v error -select_streams v:0 -count_frames -show_entries "
	    "stream=codec_name,width,height,nb_read_frames -of csv=p=0 '%s' 2>&1",
	    path);
	assert_int_equal(sscanf(out, "%15[^,],%d,%d,%d", name, &pw, &ph, &pn), 4);
	assert_string_equal(name, codec);
	assert_int_equal(pw, w);
	assert_int_equal(ph, h);
	assert_int_equal(pn, frames);
	run(out, sizeof(out), "ffmpeg -nostdin -v error -i '%s' -f null - 2>&1", path);
	assert_string_equal(out, "");
}

static void test_two_renditions(void **state)
{
	static const struct {
		int height, kbps, width;
	} want[2] = {{360, 500, 640}, {480, 1000, 854}}; /* 480 * 16 / 9 = 853.3 -> 854 */
	struct tc_session *s = session();
	struct got g = {.codec = TC_H264};
	struct tc_stats st;
	char path[2][128];
	int id[2], before_flush[2];
	double t0, t;

	(void)state;
	for (int i = 0; i < 2; i++) {
		id[i] = add(s, want[i].height, want[i].kbps, TC_H264);
		snprintf(path[i], sizeof(path[i]), "%s/out%d.h264", clip.dir, want[i].height);
		g.f[id[i]] = fopen(path[i], "wb");
		assert_non_null(g.f[id[i]]);
	}
	t0 = now_s();
	for (int i = 0; i < FRAMES; i++)
		assert_int_equal(tc_session_feed(s, clip.au[i], clip.len[i], i * TICKS, on_out, &g),
		                 0);
	t = now_s() - t0;
	for (int i = 0; i < 2; i++)
		before_flush[i] = g.n[id[i]];
	assert_int_equal(tc_session_flush(s, on_out, &g), 0);
	assert_int_equal(tc_session_feed(s, clip.au[0], clip.len[0], 0, on_out, &g), -EPIPE);
	tc_session_stats(s, &st);
	assert_int_equal(st.decoded, FRAMES);
	assert_int_equal(st.decode_errors, 0);
	print_message("decode + 2 encodes: %.2f ms per frame\n", t * 1e3 / FRAMES);

	for (int i = 0; i < 2; i++) {
		struct stat sb;
		double kbps;

		assert_int_equal(fclose(g.f[id[i]]), 0);
		assert_int_equal(g.n[id[i]], FRAMES);
		assert_int_equal(st.encoded[id[i]], FRAMES);
		assert_int_equal(st.dropped[id[i]], 0);
		assert_false(g.bad_key[id[i]]);
		assert_false(g.bad_order[id[i]]);
		/* keyint 60 at 30 fps: IDRs at 0 and 2 s (x264 may add scene cuts: none here) */
		assert_int_equal(g.keyframes[id[i]], 2);
		assert_int_equal(g.key_pts[id[i]][1], 60 * TICKS);
		probe(path[i], "h264", want[i].width, want[i].height, FRAMES);
		assert_int_equal(stat(path[i], &sb), 0);
		kbps = (double)sb.st_size * 8 / (FRAMES / 30.0) / 1000;
		print_message("%dx%d: %d of %d out before the flush, %lld bytes, %.0f kbit/s "
		              "(target %d)\n",
		              want[i].width, want[i].height, before_flush[i], FRAMES,
		              (long long)sb.st_size, kbps, want[i].kbps);
		assert_true(kbps > want[i].kbps * 0.8 && kbps < want[i].kbps * 1.2);
	}
	tc_session_free(s);
}

static void test_force_idr(void **state)
{
	struct tc_session *s = session();
	struct got g = {.codec = TC_H264};
	int id = add(s, 360, 500, TC_H264);

	(void)state;
	for (int i = 0; i < 50; i++) {
		if (i == 45)
			tc_rendition_force_idr(s, id);
		assert_int_equal(tc_session_feed(s, clip.au[i], clip.len[i], i * TICKS, on_out, &g),
		                 0);
	}
	/* zerolatency: one output per input, so the output for frame 45 is the 46th */
	assert_int_equal(g.n[id], 50);
	assert_int_equal(g.keyframes[id], 2);
	assert_int_equal(g.key_pts[id][0], 0);
	assert_int_equal(g.key_pts[id][1], 45 * TICKS);
	assert_false(g.bad_key[id]); /* each has SPS, PPS then NAL type 5 */
	tc_session_free(s);
}

static void test_corrupt_au(void **state)
{
	static const uint8_t junk[] = {0xde, 0xad, 0xbe, 0xef, 0x12, 0x34, 0x56, 0x78,
	                               0x9a, 0xbc, 0xde, 0xf0, 0x00, 0x11, 0x22, 0x33};
	struct tc_session *s = session();
	struct got g = {.codec = TC_H264};
	int id = add(s, 360, 500, TC_H264);
	struct tc_stats st;

	(void)state;
	for (int i = 0; i < 10; i++)
		assert_int_equal(tc_session_feed(s, clip.au[i], clip.len[i], i * TICKS, on_out, &g),
		                 0);
	assert_int_equal(tc_session_feed(s, junk, sizeof(junk), 10 * TICKS, on_out, &g), -EBADMSG);
	/* A truncated slice: the decoder conceals the rest of the picture and flags the frame,
	 * which is encoded all the same. */
	assert_int_equal(tc_session_feed(s, clip.au[10], clip.len[10] / 3, 10 * TICKS, on_out, &g),
	                 0);
	for (int i = 11; i < 20; i++)
		assert_int_equal(tc_session_feed(s, clip.au[i], clip.len[i], i * TICKS, on_out, &g),
		                 0);
	tc_session_stats(s, &st);
	print_message("decoded %llu, decode errors %llu, encoded %llu\n",
	              (unsigned long long)st.decoded, (unsigned long long)st.decode_errors,
	              (unsigned long long)st.encoded[id]);
	assert_int_equal(st.decode_errors, 2);
	assert_int_equal(st.decoded, 20);
	assert_int_equal(st.encoded[id], st.decoded);
	assert_int_equal(tc_session_feed(s, NULL, 0, 0, on_out, &g), -EINVAL);
	tc_session_free(s);
}

static void test_h265_rendition(void **state)
{
	struct tc_session *s = session();
	struct got g = {.codec = TC_H265};
	char path[128];
	int id = add(s, 360, 500, TC_H265);

	(void)state;
	snprintf(path, sizeof(path), "%s/out360.h265", clip.dir);
	g.f[id] = fopen(path, "wb");
	assert_non_null(g.f[id]);
	for (int i = 0; i < 30; i++)
		assert_int_equal(tc_session_feed(s, clip.au[i], clip.len[i], i * TICKS, on_out, &g),
		                 0);
	assert_int_equal(tc_session_flush(s, on_out, &g), 0);
	assert_int_equal(fclose(g.f[id]), 0);
	assert_int_equal(g.n[id], 30);
	assert_int_equal(g.keyframes[id], 1);
	assert_false(g.bad_key[id]); /* VPS, SPS, PPS, then IDR */
	probe(path, "hevc", 640, 360, 30);
	tc_session_free(s);
}

static void test_specs(void **state)
{
	struct tc_rendition_spec bad[] = {
	    {.height = 361, .kbps = 500},
	    {.height = 8, .kbps = 500},
	    {.height = 360, .kbps = 0},
	    {.height = 360, .kbps = 500, .fps = -1},
	    {.height = 360, .kbps = 500, .codec = (enum tc_codec)7},
	};
	struct tc_session *s = session();
	struct tc_rendition_spec ok = {.height = 240, .kbps = 300, .fps = 15};
	struct got g = {.codec = TC_H264};
	char err[128];
	int id = -1, ids[TC_MAX_RENDITIONS];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(tc_rendition_add(s, &bad[i], &id, err, sizeof(err)), -EINVAL);
		assert_true(err[0] != '\0');
	}
	for (int i = 0; i < TC_MAX_RENDITIONS; i++) {
		assert_int_equal(tc_rendition_add(s, &ok, &ids[i], err, sizeof(err)), 0);
		assert_int_equal(ids[i], i);
	}
	assert_int_equal(tc_rendition_add(s, &ok, &id, err, sizeof(err)), -ENOSPC);
	tc_rendition_del(s, 3);
	tc_rendition_del(s, 3);
	tc_rendition_del(s, 99);
	tc_rendition_force_idr(s, 3); /* deleted: nothing */
	assert_int_equal(tc_rendition_add(s, &ok, &id, err, sizeof(err)), 0);
	assert_int_equal(id, 3);
	for (int i = 1; i < TC_MAX_RENDITIONS; i++)
		tc_rendition_del(s, i);
	/* fps 15 from a 30 fps source: every other frame */
	for (int i = 0; i < 30; i++)
		assert_int_equal(tc_session_feed(s, clip.au[i], clip.len[i], i * TICKS, on_out, &g),
		                 0);
	assert_int_equal(g.n[0], 15);
	assert_int_equal(g.last_pts[0], 28 * TICKS);
	tc_session_free(s);
	tc_session_free(NULL);
}

/* Frames from..to-1 of the clip, pts i * TICKS, each accepted. */
static void feed(struct tc_session *s, int from, int to, struct got *g)
{
	for (int i = from; i < to; i++)
		assert_int_equal(tc_session_feed(s, clip.au[i], clip.len[i], i * TICKS, on_out, g),
		                 0);
}

static FILE *out_file(char *path, size_t cap, const char *name)
{
	FILE *f;

	snprintf(path, cap, "%s/%s", clip.dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	return f;
}

static void test_set_active(void **state)
{
	struct tc_session *s = session();
	struct got g = {.codec = TC_H264};
	struct tc_stats st;
	char path_a[128], path_b[128], path_b2[128];
	int a = add(s, 360, 500, TC_H264), b = add(s, 240, 300, TC_H264);

	(void)state;
	g.f[a] = out_file(path_a, sizeof(path_a), "active_a.h264");
	g.f[b] = out_file(path_b, sizeof(path_b), "active_b.h264");
	feed(s, 0, 30, &g);
	assert_int_equal(g.n[a], 30);
	assert_int_equal(g.n[b], 30);

	/* b off for frames 30..59: nothing out of it, its counter stands still, a goes on */
	tc_rendition_set_active(s, b, false);
	feed(s, 30, 60, &g);
	tc_session_stats(s, &st);
	assert_int_equal(g.n[a], 60);
	assert_int_equal(g.last_pts[a], 59 * TICKS);
	assert_int_equal(g.n[b], 30);
	assert_int_equal(g.last_pts[b], 29 * TICKS);
	assert_int_equal(st.encoded[a], 60);
	assert_int_equal(st.encoded[b], 30);
	assert_int_equal(st.skipped[b], 0); /* inactive is not skipping */
	assert_int_equal(st.dropped[b], 0);
	assert_int_equal(st.decoded, 60);

	/* b on again: its next output is that of frame 60, and its stream still decodes */
	tc_rendition_set_active(s, b, true);
	feed(s, 60, 61, &g);
	assert_int_equal(g.n[b], 31);
	assert_int_equal(g.last_pts[b], 60 * TICKS);
	feed(s, 61, 90, &g);
	assert_int_equal(g.n[a], 90);
	assert_int_equal(g.n[b], 60);
	assert_false(g.bad_order[b]);
	assert_false(g.bad_key[b]);
	assert_int_equal(fclose(g.f[b]), 0);
	probe(path_b, "h264", 426, 240, 60); /* 240 * 16 / 9 = 426.7 -> 426 */

	/* Off, then on with a forced IDR for someone who joins then: what comes out from there
	 * on decodes by itself. */
	tc_rendition_set_active(s, b, false);
	feed(s, 90, 100, &g);
	assert_int_equal(g.n[b], 60);
	g.f[b] = out_file(path_b2, sizeof(path_b2), "active_b2.h264");
	tc_rendition_set_active(s, b, true);
	tc_rendition_force_idr(s, b);
	feed(s, 100, FRAMES, &g);
	assert_int_equal(g.n[b], 60 + FRAMES - 100);
	assert_int_equal(g.key_pts[b][g.keyframes[b] - 1], 100 * TICKS);
	assert_false(g.bad_key[b]);
	assert_int_equal(fclose(g.f[b]), 0);
	probe(path_b2, "h264", 426, 240, FRAMES - 100);

	tc_session_stats(s, &st);
	assert_int_equal(st.decoded, FRAMES);
	assert_int_equal(st.encoded[a], FRAMES);
	assert_int_equal(st.encoded[b], 60 + FRAMES - 100);
	assert_int_equal(fclose(g.f[a]), 0);
	probe(path_a, "h264", 640, 360, FRAMES);
	tc_rendition_set_active(s, 99, false); /* no such rendition: nothing */
	tc_rendition_set_active(s, -1, true);
	tc_session_free(s);
}

/* NAL types of an H.264 access unit, in order; returns how many (at most cap). */
static int nal_types(const uint8_t *au, size_t len, uint8_t *types, int cap)
{
	const uint8_t *pos = au, *nal;
	size_t nlen;
	int n = 0;

	while (n < cap && h26x_annexb_next(&pos, au + len, &nal, &nlen))
		types[n++] = h26x_nal_type(H26X_H264, nal);
	return n;
}

/* SPS (7) and PPS (8) both come before the first IDR slice (5), which is there. */
static bool ps_before_idr(const uint8_t *au, size_t len)
{
	uint8_t t[32];
	int n = nal_types(au, len, t, 32);
	bool sps = false, pps = false;

	for (int i = 0; i < n; i++) {
		if (t[i] == H264_NAL_IDR)
			return sps && pps;
		sps |= t[i] == H264_NAL_SPS;
		pps |= t[i] == H264_NAL_PPS;
	}
	return false;
}

/* The last output, whole, for checks after the callback returned. */
struct last_au {
	struct got g;
	uint8_t au[256 * 1024];
	size_t len;
};

static void on_out_keep(void *arg, int id, const uint8_t *au, size_t len, int64_t pts, bool key)
{
	struct last_au *l = arg;

	assert_true(len <= sizeof(l->au));
	memcpy(l->au, au, len);
	l->len = len;
	on_out(&l->g, id, au, len, pts, key);
}

static void test_encode_last(void **state)
{
	struct tc_session *s = session();
	struct last_au *l = calloc(1, sizeof(*l));
	struct tc_stats st;
	char path[128];
	int id = add(s, 360, 500, TC_H264);

	(void)state;
	assert_non_null(l);
	l->g.codec = TC_H264;
	l->g.f[id] = out_file(path, sizeof(path), "last.h264");
	tc_rendition_set_active(s, id, false);
	assert_int_equal(tc_rendition_encode_last(s, id, on_out_keep, l), -ENODATA);
	assert_int_equal(tc_rendition_encode_last(s, 5, on_out_keep, l), -EINVAL); /* no such id */
	assert_int_equal(l->g.n[id], 0);

	/* inactive all along: only encode_last makes outputs */
	for (int i = 0; i < 25; i++)
		assert_int_equal(
		    tc_session_feed(s, clip.au[i], clip.len[i], i * TICKS, on_out_keep, l), 0);
	assert_int_equal(l->g.n[id], 0);
	assert_int_equal(tc_rendition_encode_last(s, id, on_out_keep, l), 0);
	assert_int_equal(l->g.n[id], 1);
	assert_int_equal(l->g.keyframes[id], 1);
	assert_int_equal(l->g.last_pts[id], 24 * TICKS); /* the decoder has no delay here */
	assert_true(ps_before_idr(l->au, l->len));
	assert_false(l->g.bad_key[id]);

	/* Later again: the encoder is open by now, and still this is an IDR of the newest one */
	for (int i = 25; i < 40; i++)
		assert_int_equal(
		    tc_session_feed(s, clip.au[i], clip.len[i], i * TICKS, on_out_keep, l), 0);
	assert_int_equal(l->g.n[id], 1);
	assert_int_equal(tc_rendition_encode_last(s, id, on_out_keep, l), 0);
	assert_int_equal(l->g.n[id], 2);
	assert_int_equal(l->g.keyframes[id], 2);
	assert_int_equal(l->g.last_pts[id], 39 * TICKS);
	assert_true(ps_before_idr(l->au, l->len));
	tc_session_stats(s, &st);
	assert_int_equal(st.decoded, 40);
	assert_int_equal(st.encoded[id], 2);
	assert_int_equal(st.dropped[id], 0);
	assert_int_equal(fclose(l->g.f[id]), 0);
	probe(path, "h264", 640, 360, 2);
	tc_session_free(s);
	free(l);

	/* H.265: one IDR at once too, VPS, SPS and PPS in front */
	struct got g = {.codec = TC_H265};
	s = session();
	id = add(s, 360, 500, TC_H265);
	tc_rendition_set_active(s, id, false);
	assert_int_equal(tc_rendition_encode_last(s, id, on_out, &g), -ENODATA);
	feed(s, 0, 12, &g);
	assert_int_equal(tc_rendition_encode_last(s, id, on_out, &g), 0);
	assert_int_equal(g.n[id], 1);
	assert_int_equal(g.keyframes[id], 1);
	assert_int_equal(g.last_pts[id], 11 * TICKS);
	assert_false(g.bad_key[id]);
	tc_session_free(s);
}

static void test_skip_encodes(void **state)
{
	struct tc_session *s = session();
	struct got g = {.codec = TC_H264};
	struct tc_stats st;
	char path[128];
	int id = add(s, 360, 500, TC_H264), off = add(s, 240, 300, TC_H264);

	(void)state;
	tc_rendition_set_active(s, off, false);
	g.f[id] = out_file(path, sizeof(path), "skip.h264");
	feed(s, 0, 10, &g);
	assert_int_equal(g.n[id], 10);
	tc_session_skip_encodes(s, true);
	feed(s, 10, 20, &g);
	assert_int_equal(g.n[id], 10); /* nothing for frames 10..19 */
	assert_int_equal(g.last_pts[id], 9 * TICKS);
	tc_session_stats(s, &st);
	assert_int_equal(st.skipped[id], 10);
	assert_int_equal(st.skipped[off], 0); /* an inactive rendition does not count them */
	assert_int_equal(st.decoded, 20);
	assert_int_equal(st.encoded[id], 10);

	tc_session_skip_encodes(s, false);
	feed(s, 20, 21, &g);
	assert_int_equal(g.n[id], 11);
	assert_int_equal(g.last_pts[id], 20 * TICKS);
	feed(s, 21, 50, &g);
	assert_int_equal(tc_session_flush(s, on_out, &g), 0);
	tc_session_stats(s, &st);
	assert_int_equal(st.decoded, 50);
	assert_int_equal(st.decode_errors, 0);
	assert_int_equal(st.skipped[id], 10);
	assert_int_equal(st.encoded[id], 40);
	assert_int_equal(st.dropped[id], 0);
	assert_int_equal(st.encoded[off], 0);
	assert_int_equal(g.n[id], 40);
	assert_int_equal(g.n[off], 0);
	assert_false(g.bad_order[id]);
	assert_int_equal(fclose(g.f[id]), 0);
	probe(path, "h264", 640, 360, 40); /* decodes without a complaint across the gap */
	tc_session_free(s);
}

/* PSNR (dB, average of Y, U, V) of a picture file against frame n of the clip. */
static double psnr_vs_clip(const char *path, int n)
{
	char out[4096], *p;
	double v;

	run(out, sizeof(out),
	    "ffmpeg -nostdin -hide_banner -i '%s/clip.h264' -i '%s' -lavfi "
	    "\"[0:v]select='eq(n,%d)',setpts=0[a];[1:v]setpts=0[b];[a][b]psnr\" -f null - 2>&1",
	    clip.dir, path, n);
	p = strstr(out, "average:");
	assert_non_null(p);
	if (!strncmp(p + 8, "inf", 3))
		return 99;
	assert_int_equal(sscanf(p + 8, "%lf", &v), 1);
	return v;
}

static void test_snapshot(void **state)
{
	struct tc_session *s = session();
	struct got g = {.codec = TC_H264};
	struct tc_stats st;
	uint8_t *jpeg = (uint8_t *)1;
	size_t len = 0;
	int w = 0, h = 0, id;
	int64_t pts = -1;
	char err[128], path[128], out[256];
	FILE *f;
	double same, other;

	(void)state;
	err[0] = '\0';
	assert_int_equal(tc_session_snapshot(s, 3, &jpeg, &len, &w, &h, &pts, err, sizeof(err)),
	                 -ENODATA);
	assert_null(jpeg);
	assert_true(err[0] != '\0');

	/* no rendition at all: the decoder still runs */
	feed(s, 0, 15, &g);
	assert_int_equal(tc_session_snapshot(s, 3, &jpeg, &len, &w, &h, &pts, err, sizeof(err)), 0);
	assert_non_null(jpeg);
	assert_int_equal(w, 1280);
	assert_int_equal(h, 720);
	assert_int_equal(pts, 14 * TICKS);
	assert_true(len > 4);
	assert_int_equal(jpeg[0], 0xff);
	assert_int_equal(jpeg[1], 0xd8);
	assert_int_equal(jpeg[len - 2], 0xff);
	assert_int_equal(jpeg[len - 1], 0xd9);
	f = out_file(path, sizeof(path), "snap.jpg");
	assert_int_equal(fwrite(jpeg, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	free(jpeg);
	run(out, sizeof(out),
	    "ffprobe -v error -show_entries stream=codec_name,width,height,pix_fmt,color_range "
	    "-of csv=p=0 '%s' 2>&1",
	    path);
	assert_string_equal(out, "mjpeg,1280,720,yuvj420p,pc\n");
	/* The picture is frame 14 (not 13, the source moves), in the right range: a range
	 * mistake alone costs far more than 10 dB. */
	same = psnr_vs_clip(path, 14);
	other = psnr_vs_clip(path, 13);
	print_message("snapshot: %zu bytes, PSNR %.1f dB against frame 14, %.1f against 13\n", len,
	              same, other);
	assert_true(same > 35);
	assert_true(same > other + 3);

	/* It takes nothing from the session: renditions still start with an IDR and go on. */
	id = add(s, 360, 500, TC_H264);
	feed(s, 15, 20, &g);
	assert_int_equal(tc_session_snapshot(s, 31, &jpeg, &len, &w, &h, &pts, err, sizeof(err)),
	                 0);
	assert_int_equal(pts, 19 * TICKS);
	assert_true(jpeg[0] == 0xff && jpeg[1] == 0xd8 && jpeg[len - 1] == 0xd9);
	free(jpeg);
	feed(s, 20, 25, &g);
	assert_int_equal(g.n[id], 10);
	assert_false(g.bad_key[id]);
	tc_session_stats(s, &st);
	assert_int_equal(st.decoded, 25);
	tc_session_free(s);
}

/* A ladder: 180p is scaled from the 360p picture just made (a rung at least twice its height),
 * not from the 720p source. It must look like the source scaled directly. */
static void test_ladder(void **state)
{
	struct tc_session *s = session();
	struct got g = {.codec = TC_H264};
	char path[128], out[4096], *p;
	double db;
	int top, low;

	(void)state;
	top = add(s, 360, 4000, TC_H264);
	low = add(s, 180, 2000, TC_H264);
	snprintf(path, sizeof(path), "%s/ladder180.h264", clip.dir);
	g.f[low] = fopen(path, "wb");
	assert_non_null(g.f[low]);
	feed(s, 0, FRAMES, &g);
	assert_int_equal(tc_session_flush(s, on_out, &g), 0);
	assert_int_equal(fclose(g.f[low]), 0);
	assert_int_equal(g.n[top], FRAMES);
	assert_int_equal(g.n[low], FRAMES);
	assert_false(g.bad_key[low]);
	probe(path, "h264", 320, 180, FRAMES);
	run(out, sizeof(out),
	    "ffmpeg -nostdin -hide_banner -i '%s/clip.h264' -i '%s' -lavfi "
	    "\"[0:v]scale=320:180:flags=bilinear,setpts=N[a];[1:v]setpts=N[b];[a][b]psnr\" "
	    "-f null - 2>&1",
	    clip.dir, path);
	p = strstr(out, "average:");
	assert_non_null(p);
	assert_int_equal(sscanf(p + 8, "%lf", &db), 1);
	print_message("180p from the 360p rung: PSNR %.1f dB against the source scaled directly\n",
	              db);
	assert_true(db > 32);
	tc_session_free(s);
}

static void test_encoder_names(void **state)
{
	struct tc_session *s = session();
	struct tc_rendition_spec spec = {.height = 360, .kbps = 500, .codec = TC_H264};
	struct got g = {.codec = TC_H264};
	char err[128], name[16];
	int id = -1;

	(void)state;
	spec.encoder = "no-such-encoder";
	err[0] = '\0';
	assert_int_equal(tc_rendition_add(s, &spec, &id, err, sizeof(err)), -ENOENT);
	assert_true(err[0] != '\0');
	spec.encoder = "libx265"; /* an H.265 encoder for an H.264 rendition */
	err[0] = '\0';
	assert_int_equal(tc_rendition_add(s, &spec, &id, err, sizeof(err)), -EINVAL);
	assert_true(err[0] != '\0');
	spec.codec = TC_H265;
	spec.encoder = "libx264";
	assert_int_equal(tc_rendition_add(s, &spec, &id, err, sizeof(err)), -EINVAL);
	spec.encoder = "mjpeg"; /* a video encoder, of neither codec */
	assert_int_equal(tc_rendition_add(s, &spec, &id, err, sizeof(err)), -EINVAL);

	/* The name by hand, in a buffer that does not outlive the call. */
	spec.codec = TC_H264;
	snprintf(name, sizeof(name), "%s", "libx264");
	spec.encoder = name;
	assert_int_equal(tc_rendition_add(s, &spec, &id, err, sizeof(err)), 0);
	assert_int_equal(id, 0); /* the failed adds took no slot */
	memset(name, 'x', sizeof(name) - 1);
	/* libx264 by name gets the same low-latency options: one output per input */
	feed(s, 0, 10, &g);
	assert_int_equal(g.n[id], 10);
	assert_int_equal(g.keyframes[id], 1);
	assert_false(g.bad_key[id]);
	tc_session_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_two_renditions), cmocka_unit_test(test_force_idr),
	    cmocka_unit_test(test_corrupt_au),     cmocka_unit_test(test_h265_rendition),
	    cmocka_unit_test(test_specs),          cmocka_unit_test(test_set_active),
	    cmocka_unit_test(test_encode_last),    cmocka_unit_test(test_skip_encodes),
	    cmocka_unit_test(test_snapshot),       cmocka_unit_test(test_encoder_names),
	    cmocka_unit_test(test_ladder),
	};
	return cmocka_run_group_tests_name("transcode", tests, clip_setup, clip_teardown);
}
