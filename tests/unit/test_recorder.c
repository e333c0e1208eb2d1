/* The recorder (record/recorder.c) on a real H.264 clip packetized into RTP as a camera sends it:
 * chunks rotate at keyframes, every sealed file is in a manifest that verifies, the segments
 * hold every frame and decode, the journals every packet; a recorder that dies without sealing
 * (a child process that _exits) leaves .part files that the next start recovers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
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

#include "record/journal.h"
#include "record/manifest.h"
#include "record/recorder.h"
#include "rtp/h26x.h"
#include "rtp/rtp.h"

#define FPS      30
#define SECONDS  5
#define NFRAMES  (FPS * SECONDS)
#define MAX_PKTS 20000
#define MS       1000000ull

struct pkt {
	uint8_t data[1300];
	size_t len;
	uint64_t t_ns; /* arrival, relative */
};

static struct pkt *pkts;
static size_t npkts;
static char clip_dir[64];

static int run(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;

	if (!p)
		return -1;
	if (out) {
		n = fread(out, 1, cap - 1, p);
		out[n] = '\0';
	} else {
		char sink[256];
		while (fread(sink, 1, sizeof(sink), p) > 0)
			;
	}
	return pclose(p);
}

/* The clip's access units packetized as a camera would: 90 kHz timestamps, 1200-byte payloads,
 * frames 33 ms apart. */
static int group_setup(void **state)
{
	AVFormatContext *fmt = NULL;
	AVPacket *av = av_packet_alloc();
	struct h26x_pack pk;
	char cmd[512], path[128];
	uint16_t seq = 65000; /* wraps during the clip */
	uint32_t ts = 4000000000u;
	int frame = 0;

	(void)state;
	snprintf(clip_dir, sizeof(clip_dir), "/tmp/test_recorder.XXXXXX");
	if (!mkdtemp(clip_dir) || !av)
		return -1;
	snprintf(cmd, sizeof(cmd),
	         "cd '%s' && ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=320x240:rate=%d "
	         "-t %d -pix_fmt yuv420p -c:v libx264 -g %d -bf 0 -f h264 clip.h264 2>&1",
	         clip_dir, FPS, SECONDS, FPS);
	if (run(cmd, NULL, 0))
		return -1;
	snprintf(path, sizeof(path), "%s/clip.h264", clip_dir);
	pkts = calloc(MAX_PKTS, sizeof(*pkts));
	if (!pkts || avformat_open_input(&fmt, path, av_find_input_format("h264"), NULL) < 0)
		return -1;
	h26x_pack_init(&pk, H26X_H264, 0, 1200);
	while (av_read_frame(fmt, av) >= 0) {
		bool marker = false;
		int n;
		h26x_pack_au(&pk, av->data, (size_t)av->size);
		while (npkts < MAX_PKTS) {
			struct pkt *p = &pkts[npkts];
			struct rtp_hdr h = {.pt = 96, .seq = seq, .ts = ts, .ssrc = 0x43414153};
			int hl = rtp_hdr_write(p->data, sizeof(p->data), &h);
			n = h26x_pack_next(&pk, p->data + hl, sizeof(p->data) - (size_t)hl,
			                   &marker);
			if (n <= 0)
				break;
			if (marker)
				p->data[1] |= 0x80;
			p->len = (size_t)hl + (size_t)n;
			p->t_ns = (uint64_t)frame * 1000000000ull / FPS + npkts; /* distinct */
			npkts++;
			seq++;
		}
		av_packet_unref(av);
		frame++;
		ts += 90000 / FPS;
	}
	av_packet_free(&av);
	avformat_close_input(&fmt);
	return frame == NFRAMES && npkts > NFRAMES ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[128];
	(void)state;
	free(pkts);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", clip_dir);
	return run(cmd, NULL, 0) ? -1 : 0;
}

static void config(struct rec_config *c, const char *dir)
{
	rec_config_defaults(c);
	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	c->segment_seconds = 1;
	c->fsync_ms = 50;
	c->reserve_bytes = 0;
	c->buffers = 512; /* packets come faster than real time here, and faster than the disk */
	c->buffer_kb = 64;
	c->max_streams = 4;
}

static const struct rec_stream_desc cam = {
    .name = "cam1",
    .codec = "h264",
    .track = REC_TRACK_H264,
    .pt = 96,
    .media = REC_JNL_MEDIA_VIDEO,
    .clock_rate = 90000,
};

static void feed(struct rec_recorder *rr, struct rec_stream *s, size_t from, size_t to,
                 uint64_t base)
{
	for (size_t i = from; i < to; i++) {
		rec_stream_packet(s, REC_JNL_T_RTP, 0, base + pkts[i].t_ns, pkts[i].data,
		                  pkts[i].len);
		rec_recorder_tick(rr, base + pkts[i].t_ns);
	}
}

static long frames_in(const char *path)
{
	char cmd[512], out[128];
	snprintf(cmd, sizeof(cmd),
	         "ffprobe -v error -count_frames -select_streams v:0 -show_entries "
	         "stream=nb_read_frames -of default=nw=1:nk=1 '%s' 2>&1 | head -1",
	         path);
	if (run(cmd, out, sizeof(out)))
		return -1;
	return strtol(out, NULL, 10);
}

/* Frames over every segment of the stream, and decoder messages over all of them. */
static void check_segments(const char *sdir, long *frames, int *nseg, char *msgs, size_t cap)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "ls '%s'/*.ts", sdir);
	FILE *p = popen(cmd, "r");
	char line[256];

	*frames = 0;
	*nseg = 0;
	msgs[0] = '\0';
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		*frames += frames_in(line);
		(*nseg)++;
		snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -i '%s' -f null - 2>&1", line);
		size_t n = strlen(msgs);
		run(cmd, msgs + n, cap - n);
	}
	pclose(p);
}

static void verify_ok(const char *sdir, uint64_t min_entries)
{
	char path[256], msg[512];
	struct rec_verify_result r;

	snprintf(path, sizeof(path), "%s/manifest.jsonl", sdir);
	if (rec_manifest_verify(path, NULL, NULL, &r, msg, sizeof(msg)))
		fail_msg("verify: %s", msg);
	assert_true(r.entries >= min_entries);
}

static void test_chunks(void **state)
{
	struct rec_recorder *rr;
	struct rec_stream *s;
	struct rec_config c;
	char dir[128], sdir[160], err[256], msgs[4096];
	long frames;
	int nseg;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/chunks", clip_dir);
	config(&c, dir);
	assert_int_equal(rec_recorder_new(&c, &rr, err, sizeof(err)), 0);
	assert_int_equal(rec_stream_open(rr, &cam, &s, err, sizeof(err)), 0);
	assert_int_equal(rec_stream_open(rr, &cam, &s, err, sizeof(err)), -EEXIST);
	rec_stream_packet(s, REC_JNL_T_RTP, 0, 1, pkts[0].data, pkts[0].len);
	assert_int_equal(rec_stream_stats(s)->ignored, 1); /* not started yet */
	rec_stream_start(s);
	feed(rr, s, 0, npkts, 1000 * MS);
	const struct rec_stream_stats *st = rec_stream_stats(s);
	assert_int_equal(st->packets, npkts);
	assert_int_equal(st->dropped, 0);
	assert_int_equal(st->frames, NFRAMES); /* the marker completes the last one */
	/* 1-second chunks at the keyframes of a 1-second GOP: a seal a second */
	assert_int_equal(st->chunks, SECONDS - 1);
	rec_stream_stop(s);
	assert_int_equal(st->chunks, SECONDS);
	assert_int_equal(st->frames, NFRAMES);
	assert_int_equal(st->frames_lost, 0);
	rec_stream_close(s);
	rec_recorder_free(rr);

	snprintf(sdir, sizeof(sdir), "%s/cam1", dir);
	verify_ok(sdir, 1 + 2 * SECONDS);
	check_segments(sdir, &frames, &nseg, msgs, sizeof(msgs));
	assert_int_equal(nseg, SECONDS);
	assert_int_equal(frames, NFRAMES);
	assert_string_equal(msgs, "");
}

/* A recorder that dies between syncs: the next start recovers its files, loses no more than
 * what came after the last sync, and the manifest verifies. */
static void test_crash_recovery(void **state)
{
	struct rec_recorder *rr;
	struct rec_stream *s;
	struct rec_config c;
	char dir[128], sdir[160], err[256], msgs[4096];
	size_t half = npkts / 2 + 7;
	long frames;
	int nseg, status;
	pid_t pid;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/crash", clip_dir);
	config(&c, dir);
	c.segment_seconds = 60; /* one chunk, never sealed */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (rec_recorder_new(&c, &rr, err, sizeof(err)) ||
		    rec_stream_open(rr, &cam, &s, err, sizeof(err)))
			_exit(2);
		rec_stream_start(s);
		feed(rr, s, 0, half, 1000 * MS);
		/* one more fsync period: everything fed so far is on disk */
		for (int i = 0; i < 200 && rec_recorder_tick(rr, 1000 * MS + pkts[half].t_ns +
		                                                     (uint64_t)i * 10 * MS);
		     i++)
			usleep(1000);
		_exit(0); /* no seal, no cleanup: what kill -9 leaves */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(sdir, sizeof(sdir), "%s/cam1", dir);
	snprintf(err, sizeof(err), "%s/cam1-000001.jnl.part", sdir);
	assert_int_equal(access(err, F_OK), 0);

	assert_int_equal(rec_recorder_new(&c, &rr, err, sizeof(err)), 0);
	assert_int_equal(rec_recorder_stats(rr)->recovered_files, 2);
	snprintf(err, sizeof(err), "%s/cam1-000001.jnl.part", sdir);
	assert_int_equal(access(err, F_OK), -1);
	/* recording the same stream again continues with the next chunk number */
	assert_int_equal(rec_stream_open(rr, &cam, &s, err, sizeof(err)), 0);
	assert_int_equal(rec_stream_chunk(s), 1);
	rec_stream_close(s);
	rec_recorder_free(rr);
	verify_ok(sdir, 3);

	/* The journal holds every packet fed before the sync. */
	char path[256];
	snprintf(path, sizeof(path), "%s/cam1-000001.jnl", sdir);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static uint8_t buf[8 << 20];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	struct rec_jnl_info info;
	int hl = rec_jnl_header_parse(buf, len, &info);
	assert_true(hl > 0);
	assert_string_equal(info.stream, "cam1");
	struct rec_jnl_iter it;
	struct rec_jnl_rec r;
	size_t rtp = 0;
	rec_jnl_iter_init(&it, buf, len, (size_t)hl, 0);
	while (rec_jnl_next(&it, &r) == 1)
		rtp += r.type == REC_JNL_T_RTP;
	assert_int_equal(rtp, half);

	/* The recovered segment decodes cleanly up to its last whole frame. */
	check_segments(sdir, &frames, &nseg, msgs, sizeof(msgs));
	assert_int_equal(nseg, 1);
	/* every whole frame fed, but recovery drops the last one (its end cannot be told) */
	long whole = 0;
	for (size_t i = 0; i < half; i++)
		whole += (pkts[i].data[1] & 0x80) != 0;
	print_message("recovered segment: %ld frames; %ld whole in the %zu packets fed\n", frames,
	              whole, half);
	assert_true(frames >= whole - 1 && frames <= whole);
	assert_string_equal(msgs, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chunks),
	    cmocka_unit_test(test_crash_recovery),
	};
	return cmocka_run_group_tests_name("recorder", tests, group_setup, group_teardown);
}
