/* caas-replay recv's accounting and report: synthetic RTP packets with known sequence numbers,
 * send times and payloads in, loss, duplicates, reordering, latency percentiles, first keyframe,
 * and honest nulls (with complete=false) out. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The accounting is one file without main-program dependencies: compiled in here. */
#include "perf/replay/report.c"

#define MS    1000000ull
#define US    1000ull
#define START (1000 * MS) /* when the stream began listening */
#define SSRC  0x11223344u

static const uint8_t P_FRAME[] = {0x41, 0x9a, 0x01, 0x02};      /* H.264 non-IDR slice */
static const uint8_t IDR[] = {0x65, 0x88, 0x84, 0x00};          /* H.264 IDR slice */
static const uint8_t FU_IDR_START[] = {0x7c, 0x85, 0x88, 0x84}; /* FU-A, start bit, IDR */
static const uint8_t FU_IDR_MID[] = {0x7c, 0x05, 0x11, 0x22};   /* FU-A, middle of an IDR */

struct pkt {
	uint8_t buf[256];
	size_t len;
};

/* An RTP packet; send_ns 0 means no send-time extension. */
static struct pkt mk(uint32_t ssrc, uint16_t seq, uint32_t ts, uint64_t send_ns,
                     const uint8_t *payload, size_t plen)
{
	struct pkt p;
	struct rtp_hdr h = {.pt = 96, .seq = seq, .ts = ts, .ssrc = ssrc};
	uint8_t ext[16], sent[8];
	struct rtp_ext_writer w;

	if (send_ns) {
		wr_be64(sent, send_ns);
		rtp_ext_writer_init(&w, ext, sizeof(ext), false);
		assert_int_equal(rtp_ext_add(&w, REPLAY_EXT_ID, sent, sizeof(sent)), 0);
		assert_int_equal(rtp_ext_finish(&w, &h), 0);
	}
	int n = rtp_hdr_write(p.buf, sizeof(p.buf), &h);
	assert_true(n > 0);
	memcpy(p.buf + n, payload, plen);
	p.len = (size_t)n + plen;
	return p;
}

/* Feed one packet; latency_ns < 0 means no extension. */
static struct rpt_pkt feed(struct rpt_stream *s, uint16_t seq, uint64_t arrival, int64_t lat_ns,
                           const uint8_t *payload, size_t plen)
{
	struct rpt_pkt out;
	uint32_t ts = (uint32_t)(seq * 3000u);
	struct pkt p =
	    mk(SSRC, seq, ts, lat_ns >= 0 ? arrival - (uint64_t)lat_ns : 0, payload, plen);

	assert_int_equal(rpt_packet(s, p.buf, p.len, arrival, &out), 0);
	return out;
}

static struct rpt_pkt feed_p(struct rpt_stream *s, uint16_t seq, uint64_t arrival, int64_t lat)
{
	return feed(s, seq, arrival, lat, P_FRAME, sizeof(P_FRAME));
}

static struct rpt_stream *new_stream(unsigned i)
{
	struct rpt_stream *s = malloc(sizeof(*s));
	assert_non_null(s);
	rpt_stream_init(s, i, (uint16_t)(6000 + 2 * i), H26X_H264, START);
	return s;
}

static bool near(double got, double want, double rel)
{
	return fabs(got - want) <= fabs(want) * rel + 1e-9;
}

static json_t *report(struct rpt_stream **s, unsigned n)
{
	struct rpt_run run = {
	    .streams = (const struct rpt_stream *const *)s,
	    .n = n,
	    .duration_s = 10,
	    .planned_s = 10,
	    .codec = H26X_H264,
	    .listen = "198.18.0.3:6000",
	};
	json_t *j = rpt_json(&run);
	assert_non_null(j);
	return j;
}

static bool has_reason(json_t *j, const char *needle)
{
	json_t *r = json_object_get(j, "incomplete_reasons");
	size_t i;
	json_t *v;

	json_array_foreach(r, i, v)
	{
		if (strstr(json_string_value(v), needle))
			return true;
	}
	return false;
}

static void test_in_order(void **state)
{
	(void)state;
	struct rpt_stream *s = new_stream(0);
	struct rpt_fig f;

	/* 100 packets, 1 ms apart from 10 ms after listening began, each 2 ms in flight. */
	for (unsigned i = 0; i < 100; i++) {
		struct rpt_pkt p = feed_p(s, (uint16_t)(65500 + i), START + (10 + i) * MS, 2 * MS);
		assert_true(p.counted);
		assert_int_equal(p.gap.count, 0);
		assert_true(p.has_send_time);
		assert_int_equal(p.latency_ns, 2 * MS);
	}
	rpt_stream_fig(s, &f);
	assert_true(f.received);
	assert_int_equal(f.packets, 100);
	assert_int_equal(f.expected, 100); /* across the 16-bit wrap */
	assert_int_equal(f.lost, 0);
	assert_true(f.loss_ratio == 0.0);
	assert_int_equal(f.duplicates + f.reordered + f.late, 0);
	assert_int_equal(f.lat.samples, 100);
	assert_int_equal(f.lat.missing, 0);
	assert_true(near(f.lat.p50, 2.0, 0.01));
	assert_true(near(f.lat.p999, 2.0, 0.01));
	assert_true(near(f.lat.max, 2.0, 1e-9));
	assert_true(near(f.lat.mean, 2.0, 1e-9));
	assert_true(near(f.first_packet_ms, 10.0, 1e-9));
	assert_true(isnan(f.first_keyframe_ms));
	/* 100 packets of 32 bytes (12 header, 16 extension, 4 payload) over the 99 ms from the
	 * first to the last. */
	assert_int_equal(f.bytes, 100 * 32);
	assert_true(near(f.bitrate_kbps, 100.0 * 32 * 8 / 0.099 / 1000, 1e-9));
	free(s);
}

static void test_loss_dup_reorder(void **state)
{
	(void)state;
	struct rpt_stream *s = new_stream(0);
	struct rpt_fig f;
	struct rpt_pkt p;
	uint64_t t = START;

	for (uint16_t q = 100; q < 110; q++)
		feed_p(s, q, t += MS, MS);
	/* 110 and 111 lost: 112 reports them for a NACK. */
	p = feed_p(s, 112, t += MS, MS);
	assert_int_equal(p.cls, RTP_RX_IN_ORDER);
	assert_int_equal(p.gap.first, 110);
	assert_int_equal(p.gap.count, 2);
	assert_int_equal(p.gap.missing, 2);
	/* 114 overtakes 113; then 114 again. */
	feed_p(s, 114, t += MS, MS);
	p = feed_p(s, 113, t += MS, MS);
	assert_int_equal(p.cls, RTP_RX_REORDERED);
	assert_true(p.counted);
	p = feed_p(s, 114, t += MS, MS);
	assert_int_equal(p.cls, RTP_RX_DUPLICATE);
	assert_false(p.counted);
	assert_false(p.has_send_time); /* a copy is no latency sample */
	feed_p(s, 115, t += MS, MS);

	rpt_stream_fig(s, &f);
	assert_int_equal(f.packets, 15);
	assert_int_equal(f.expected, 16); /* 100..115 */
	assert_int_equal(f.lost, 2);
	assert_true(near(f.loss_ratio, 2.0 / 16, 1e-12));
	assert_int_equal(f.duplicates, 1);
	assert_int_equal(f.reordered, 1);
	assert_int_equal(f.lat.samples, 14); /* the copy is no sample */

	/* A late retransmission of 110 fills the hole: the loss goes down. */
	p = feed_p(s, 110, t += MS, 50 * MS);
	assert_int_equal(p.cls, RTP_RX_REORDERED);
	rpt_stream_fig(s, &f);
	assert_int_equal(f.lost, 1);
	assert_true(near(f.lat.max, 50.0, 1e-9));
	free(s);
}

static void test_latency_percentiles(void **state)
{
	(void)state;
	struct rpt_stream *s = new_stream(0);
	struct rpt_fig f;

	/* 1000 packets whose latencies are 1, 2, ... 1000 us, in a shuffled order. */
	for (unsigned i = 0; i < 1000; i++) {
		unsigned us = (i * 7919u) % 1000 + 1;
		feed_p(s, (uint16_t)i, START + MS + i * MS, (int64_t)(us * US));
	}
	rpt_stream_fig(s, &f);
	assert_int_equal(f.lat.samples, 1000);
	assert_true(near(f.lat.p50, 0.500, 0.01));
	assert_true(near(f.lat.p99, 0.990, 0.01));
	assert_true(near(f.lat.p999, 0.999, 0.01));
	assert_true(near(f.lat.max, 1.000, 1e-9)); /* exact */
	assert_true(near(f.lat.mean, 0.5005, 1e-6));
	assert_true(f.lat.p50 <= f.lat.p99 && f.lat.p99 <= f.lat.p999 && f.lat.p999 <= f.lat.max);
	free(s);
}

static void test_first_keyframe(void **state)
{
	(void)state;
	struct rpt_stream *s = new_stream(0);
	struct rpt_fig f;
	struct rpt_pkt p;

	/* Joined mid-GOP: P frames first, then a fragmented IDR at 250 ms. */
	p = feed_p(s, 1, START + 40 * MS, MS);
	assert_false(p.keyframe);
	feed_p(s, 2, START + 80 * MS, MS);
	rpt_stream_fig(s, &f);
	assert_true(isnan(f.first_keyframe_ms));
	p = feed(s, 3, START + 250 * MS, MS, FU_IDR_START, sizeof(FU_IDR_START));
	assert_true(p.keyframe);
	p = feed(s, 4, START + 251 * MS, MS, FU_IDR_MID, sizeof(FU_IDR_MID));
	assert_false(p.keyframe); /* the middle of a keyframe does not start one */
	rpt_stream_fig(s, &f);
	assert_true(near(f.first_packet_ms, 40.0, 1e-9));
	assert_true(near(f.first_keyframe_ms, 250.0, 1e-9));
	assert_int_equal(f.keyframes, 1);

	/* A duplicate of a keyframe start is no new keyframe; a new IDR is. */
	p = feed(s, 3, START + 252 * MS, MS, FU_IDR_START, sizeof(FU_IDR_START));
	assert_false(p.counted);
	feed(s, 5, START + 300 * MS, MS, IDR, sizeof(IDR));
	rpt_stream_fig(s, &f);
	assert_int_equal(f.keyframes, 2);
	assert_true(near(f.first_keyframe_ms, 250.0, 1e-9));
	free(s);

	/* H.265: an IDR_W_RADL (type 19) single NAL unit. */
	static const uint8_t hevc_idr[] = {19 << 1, 0x01, 0xaf, 0x00};
	s = malloc(sizeof(*s));
	assert_non_null(s);
	rpt_stream_init(s, 0, 6000, H26X_H265, START);
	p = feed(s, 7, START + 5 * MS, -1, hevc_idr, sizeof(hevc_idr));
	assert_true(p.keyframe);
	rpt_stream_fig(s, &f);
	assert_true(near(f.first_keyframe_ms, 5.0, 1e-9));
	free(s);
}

static void test_jitter(void **state)
{
	(void)state;
	struct rpt_stream *s = new_stream(0);
	struct rpt_fig f;

	/* Paced exactly at the RTP clock (3000 ticks = 33.3 ms): no jitter. */
	for (unsigned i = 0; i < 50; i++)
		feed_p(s, (uint16_t)i, START + i * 100 * MS / 3, -1);
	rpt_stream_fig(s, &f);
	assert_true(f.jitter_ms < 0.05);
	free(s);

	/* Alternately 10 ms early and late: the A.8 estimate converges on |D| = 20 ms. */
	s = new_stream(0);
	for (unsigned i = 0; i < 400; i++)
		feed_p(s, (uint16_t)i, START + i * 100 * MS / 3 + (i & 1) * 20 * MS, -1);
	rpt_stream_fig(s, &f);
	assert_true(near(f.jitter_ms, 20.0, 0.02));
	free(s);
}

static void test_nothing_received(void **state)
{
	(void)state;
	struct rpt_stream *s[2] = {new_stream(0), new_stream(1)};
	struct rpt_fig f;

	/* Stream 1 gets packets without the send-time extension (FFmpeg adds none). */
	for (unsigned i = 0; i < 30; i++)
		feed(s[1], (uint16_t)(9 + i), START + (5 + i) * MS, -1, i ? P_FRAME : IDR, 4);
	rpt_stream_fig(s[0], &f);
	assert_false(f.received);
	assert_true(isnan(f.loss_ratio) && isnan(f.jitter_ms) && isnan(f.lat.p50));
	assert_true(isnan(f.first_packet_ms) && isnan(f.first_keyframe_ms));
	assert_true(isnan(f.bitrate_kbps));

	json_t *j = report(s, 2);
	json_t *st0 = json_array_get(json_object_get(j, "streams"), 0);
	json_t *st1 = json_array_get(json_object_get(j, "streams"), 1);
	json_t *tot = json_object_get(j, "total");

	assert_true(json_is_false(json_object_get(j, "complete")));
	assert_true(json_is_false(json_object_get(st0, "received")));
	assert_true(json_is_null(json_object_get(st0, "latency_ms")));
	assert_true(json_is_null(json_object_get(st0, "loss_ratio")));
	assert_true(json_is_null(json_object_get(st0, "lost")));
	assert_true(json_is_null(json_object_get(st0, "jitter_ms")));
	assert_true(json_is_null(json_object_get(st0, "first_packet_ms")));
	assert_true(json_is_null(json_object_get(st0, "first_keyframe_ms")));
	assert_true(json_is_null(json_object_get(st0, "ssrc")));
	assert_int_equal(json_integer_value(json_object_get(st0, "packets")), 0);

	assert_true(json_is_true(json_object_get(st1, "received")));
	assert_true(json_is_null(json_object_get(st1, "latency_ms")));
	assert_int_equal(json_integer_value(json_object_get(st1, "latency_missing")), 30);
	assert_int_equal(json_integer_value(json_object_get(st1, "latency_samples")), 0);
	assert_true(json_is_number(json_object_get(st1, "first_keyframe_ms")));
	assert_true(json_real_value(json_object_get(st1, "loss_ratio")) == 0.0);

	/* The total does not pretend: not every stream came up, so no "all up after" time. */
	assert_true(json_is_false(json_object_get(tot, "received")));
	assert_int_equal(json_integer_value(json_object_get(tot, "streams_received")), 1);
	assert_true(json_is_null(json_object_get(tot, "latency_ms")));
	assert_true(json_is_null(json_object_get(tot, "first_packet_ms")));
	assert_true(json_is_null(json_object_get(tot, "first_keyframe_ms")));
	assert_int_equal(json_integer_value(json_object_get(tot, "packets")), 30);

	assert_true(has_reason(j, "1 of 2 streams received nothing (stream 0)"));
	assert_true(has_reason(j, "send-time extension"));
	json_decref(j);
	free(s[0]);
	free(s[1]);
}

static void test_complete(void **state)
{
	(void)state;
	struct rpt_stream *s[2] = {new_stream(0), new_stream(1)};

	for (unsigned k = 0; k < 2; k++)
		for (unsigned i = 0; i < 20; i++)
			feed(s[k], (uint16_t)i, START + (3 + k + i) * MS, (int64_t)((k + 1) * MS),
			     i ? P_FRAME : IDR, 4);
	json_t *j = report(s, 2);
	json_t *tot = json_object_get(j, "total");

	assert_true(json_is_true(json_object_get(j, "complete")));
	assert_int_equal(json_array_size(json_object_get(j, "incomplete_reasons")), 0);
	assert_true(json_is_number(json_object_get(j, "duration_s")));
	assert_int_equal(json_array_size(json_object_get(j, "streams")), 2);
	/* Totals: counts summed, histograms merged, the slowest stream's start. */
	assert_int_equal(json_integer_value(json_object_get(tot, "packets")), 40);
	assert_int_equal(json_integer_value(json_object_get(tot, "lost")), 0);
	assert_int_equal(json_integer_value(json_object_get(tot, "latency_samples")), 40);
	json_t *lat = json_object_get(tot, "latency_ms");
	assert_true(near(json_real_value(json_object_get(lat, "mean")), 1.5, 1e-6));
	assert_true(near(json_real_value(json_object_get(lat, "max")), 2.0, 1e-6));
	assert_true(near(json_real_value(json_object_get(lat, "p99")), 2.0, 0.01));
	assert_true(near(json_real_value(json_object_get(tot, "first_packet_ms")), 4.0, 1e-6));
	assert_true(near(json_real_value(json_object_get(tot, "first_keyframe_ms")), 4.0, 1e-6));
	assert_true(json_is_true(json_object_get(tot, "received")));
	json_decref(j);
	free(s[0]);
	free(s[1]);
}

static void test_total_loss(void **state)
{
	(void)state;
	struct rpt_stream *s[2] = {new_stream(0), new_stream(1)};
	struct latency *lat = malloc(sizeof(*lat));
	struct rpt_fig f;

	assert_non_null(lat);
	/* Stream 0: 1 lost of 10; stream 1: 3 lost of 30. */
	for (unsigned i = 0; i < 10; i++)
		if (i != 4)
			feed_p(s[0], (uint16_t)i, START + (1 + i) * MS, MS);
	for (unsigned i = 0; i < 30; i++)
		if (i % 10 != 5)
			feed_p(s[1], (uint16_t)(40000 + i), START + (1 + i) * MS, 3 * MS);
	rpt_total_fig((const struct rpt_stream *const *)s, 2, lat, &f);
	assert_int_equal(f.expected, 40);
	assert_int_equal(f.lost, 4);
	assert_true(near(f.loss_ratio, 0.1, 1e-12));
	assert_int_equal(f.lat.samples, 9 + 27);
	assert_true(near(f.lat.max, 3.0, 1e-9));
	/* Bitrates add up: each stream's over its own span. */
	struct rpt_fig a, b;
	rpt_stream_fig(s[0], &a);
	rpt_stream_fig(s[1], &b);
	assert_true(near(f.bitrate_kbps, a.bitrate_kbps + b.bitrate_kbps, 1e-12));
	free(lat);
	free(s[0]);
	free(s[1]);
}

static void test_ssrc_change(void **state)
{
	(void)state;
	struct rpt_stream *s = new_stream(0);
	struct rpt_fig f;
	struct rpt_pkt out;
	uint64_t t = START;

	/* Source A: 0..49 with 5 lost; then source B: 500..549 with 3 lost. */
	for (unsigned i = 0; i < 50; i++) {
		if (i % 10 == 3)
			continue;
		struct pkt p = mk(0xA, (uint16_t)i, i * 3000, t - MS, P_FRAME, 4);
		assert_int_equal(rpt_packet(s, p.buf, p.len, t += MS, &out), 0);
		assert_false(out.ssrc_changed);
	}
	for (unsigned i = 0; i < 50; i++) {
		if (i == 7 || i == 8 || i == 30)
			continue;
		struct pkt p = mk(0xB, (uint16_t)(500 + i), 777 + i * 3000, t - MS, P_FRAME, 4);
		assert_int_equal(rpt_packet(s, p.buf, p.len, t += MS, &out), 0);
		assert_int_equal(out.ssrc_changed, i == 0);
	}
	rpt_stream_fig(s, &f);
	assert_int_equal(f.ssrc_changes, 1);
	assert_int_equal(f.expected, 100);
	assert_int_equal(f.lost, 8);
	assert_int_equal(f.packets, 92);
	assert_int_equal(s->ssrc, 0xB);

	json_t *j = report(&s, 1);
	assert_true(has_reason(j, "SSRC changed"));
	assert_true(json_is_false(json_object_get(j, "complete")));
	json_decref(j);
	free(s);
}

static void test_restart(void **state)
{
	(void)state;
	struct rpt_stream *s = new_stream(0);
	struct rpt_fig f;
	struct rpt_pkt p;
	uint64_t t = START;

	/* 0..19 with 2 lost; a jump to 30000 (ignored until 30001 confirms it); 30001..30019
	 * with 1 lost. Each numbering keeps its own loss. */
	for (unsigned i = 0; i < 20; i++)
		if (i != 5 && i != 6)
			feed_p(s, (uint16_t)i, t += MS, MS);
	p = feed_p(s, 30000, t += MS, MS);
	assert_int_equal(p.cls, RTP_RX_BAD);
	p = feed_p(s, 30001, t += MS, MS);
	assert_int_equal(p.cls, RTP_RX_RESTART);
	for (unsigned i = 30002; i < 30020; i++)
		if (i != 30010)
			feed_p(s, (uint16_t)i, t += MS, MS);
	rpt_stream_fig(s, &f);
	assert_int_equal(f.restarts, 1);
	assert_int_equal(f.expected, 20 + 19);
	assert_int_equal(f.lost, 3);
	json_t *j = report(&s, 1);
	assert_true(has_reason(j, "restarted"));
	json_decref(j);
	free(s);
}

static void test_bad_input(void **state)
{
	(void)state;
	struct rpt_stream *s = new_stream(0);
	struct rpt_pkt out;
	static const uint8_t junk[] = {0x80, 0x60, 0x00};
	uint8_t v1[12] = {0x40};
	struct rpt_fig f;

	assert_int_equal(rpt_packet(s, junk, sizeof(junk), START + MS, &out), -EMSGSIZE);
	assert_int_equal(rpt_packet(s, v1, sizeof(v1), START + MS, &out), -EPROTO);
	rpt_stream_fig(s, &f);
	assert_int_equal(f.malformed, 2);
	assert_false(f.received);
	assert_int_equal(f.packets, 0);

	/* A send time after the arrival (clocks differ) is counted, not recorded. */
	struct pkt early = mk(SSRC, 1, 3000, START + 3 * MS, P_FRAME, sizeof(P_FRAME));
	assert_int_equal(rpt_packet(s, early.buf, early.len, START + 2 * MS, &out), 0);
	assert_true(out.has_send_time);
	assert_true(out.latency_ns == -(int64_t)MS);
	feed_p(s, 2, START + 3 * MS, (int64_t)MS);
	rpt_stream_fig(s, &f);
	assert_int_equal(f.lat.negative, 1);
	assert_int_equal(f.lat.samples, 1);

	/* An extension element of the wrong size is not a send time. */
	struct rtp_hdr h = {.pt = 96, .seq = 3, .ts = 9000, .ssrc = SSRC};
	uint8_t ext[8], four[4] = {1, 2, 3, 4};
	struct rtp_ext_writer w;
	struct pkt p;
	rtp_ext_writer_init(&w, ext, sizeof(ext), false);
	assert_int_equal(rtp_ext_add(&w, REPLAY_EXT_ID, four, sizeof(four)), 0);
	assert_int_equal(rtp_ext_finish(&w, &h), 0);
	int n = rtp_hdr_write(p.buf, sizeof(p.buf), &h);
	assert_true(n > 0);
	memcpy(p.buf + n, P_FRAME, sizeof(P_FRAME));
	assert_int_equal(rpt_packet(s, p.buf, (size_t)n + sizeof(P_FRAME), START + 4 * MS, &out),
	                 0);
	assert_false(out.has_send_time);

	rpt_socket_drops(s, 7);
	rpt_socket_drops(s, 3); /* cumulative: an older message says less */
	rpt_stream_fig(s, &f);
	assert_int_equal(f.socket_drops, 7);
	assert_int_equal(f.lat.missing, 1);

	json_t *j = report(&s, 1);
	assert_true(has_reason(j, "before their send time"));
	assert_true(has_reason(j, "1 packets lacked the send-time extension"));
	assert_true(has_reason(j, "dropped 7 datagrams on 1 of 1 streams (stream 0)"));
	assert_true(has_reason(j, "no keyframe"));
	json_decref(j);
	free(s);
}

static void test_sender_report(void **state)
{
	(void)state;
	struct rpt_stream *s = new_stream(0);
	struct rtcp_rb rb;
	uint64_t ntp = (uint64_t)0x12345678 << 32 | 0x9abcdef0;

	feed_p(s, 1, START + MS, MS);
	assert_int_equal(rpt_sr(s, SSRC + 1, ntp, START + 2 * MS), -ESRCH);
	assert_int_equal(rpt_sr(s, SSRC, ntp, START + 2 * MS), 0);
	assert_int_equal(s->rtcp.sr, 2);
	assert_int_equal(rtp_rx_report(&s->rx, s->ssrc, START + 2 * MS + 500 * MS, &rb), 0);
	assert_int_equal(rb.lsr, rtcp_ntp_mid32(ntp));
	assert_int_equal(rb.dlsr, 65536 / 2);
	free(s);
}

static void test_interrupted_and_table(void **state)
{
	(void)state;
	struct rpt_stream *s = new_stream(3);
	struct rpt_run run = {
	    .streams = (const struct rpt_stream *const *)&s,
	    .n = 1,
	    .duration_s = 2.5,
	    .planned_s = 10,
	    .stop_signal = "SIGINT",
	    .codec = H26X_H264,
	};
	struct rpt_reasons r;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	rpt_reasons(&run, &r);
	assert_int_equal(r.n, 2);
	assert_non_null(strstr(r.text[0], "ended by SIGINT after 2.5 s of 10.0 s"));
	assert_non_null(strstr(r.text[1], "(stream 3)"));

	/* Without a planned duration a signal is how a run ends: nothing is missing for it. */
	run.planned_s = 0;
	rpt_reasons(&run, &r);
	assert_int_equal(r.n, 1);

	f = open_memstream(&text, &len);
	assert_non_null(f);
	rpt_print(f, &run);
	fclose(f);
	assert_non_null(strstr(text, "incomplete: 1 of 1 streams received nothing"));
	/* Not-measured figures print as "-", never as 0. */
	assert_null(strstr(text, "0.000"));
	free(text);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_in_order),
	    cmocka_unit_test(test_loss_dup_reorder),
	    cmocka_unit_test(test_latency_percentiles),
	    cmocka_unit_test(test_first_keyframe),
	    cmocka_unit_test(test_jitter),
	    cmocka_unit_test(test_nothing_received),
	    cmocka_unit_test(test_complete),
	    cmocka_unit_test(test_total_loss),
	    cmocka_unit_test(test_ssrc_change),
	    cmocka_unit_test(test_restart),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_sender_report),
	    cmocka_unit_test(test_interrupted_and_table),
	};
	return cmocka_run_group_tests_name("replay_report", tests, NULL, NULL);
}
