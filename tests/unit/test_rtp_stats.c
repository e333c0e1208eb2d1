/* RTP receive statistics tests: RFC 3550 A.1 validation, A.3 loss, A.8 jitter, report blocks. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rtp/rtp_stats.h"

#define NS_PER_MS 1000000ull
#define NS_PER_S  1000000000ull
#define DAY_NS    (86400ull * NS_PER_S)

/* A packet whose arrival equals its timestamp: zero transit, so jitter stays out of the way. */
static enum rtp_rx_class rx(struct rtp_rx_stats *s, uint16_t seq, struct rtp_rx_gap *gap)
{
	uint32_t ts = 3000u * seq;
	return rtp_rx_update(s, seq, ts, ts, gap);
}

static struct rtp_rx_snapshot snap(const struct rtp_rx_stats *s)
{
	struct rtp_rx_snapshot sn;
	rtp_rx_snapshot(s, &sn);
	const struct rtp_rx_counters *c = &sn.cnt;
	/* Every packet lands in exactly one counter. */
	assert_int_equal(c->packets, c->received + c->duplicates + c->late + c->bad + c->probation);
	return sn;
}

/* Validate a source with the default probation: seq - 1 is seen, seq is the first counted. */
static void start(struct rtp_rx_stats *s, uint16_t seq)
{
	struct rtp_rx_gap g;
	assert_int_equal(rtp_rx_init(s, NULL), 0);
	assert_int_equal(rx(s, (uint16_t)(seq - 1), &g), RTP_RX_PROBATION);
	assert_int_equal(rx(s, seq, &g), RTP_RX_IN_ORDER);
	assert_int_equal(g.count, 0);
}

static void test_cfg(void **state)
{
	(void)state;
	struct rtp_rx_stats s;
	struct rtp_rx_cfg c = RTP_RX_CFG_DEFAULT;

	assert_int_equal(rtp_rx_init(&s, &c), 0);
	c.min_sequential = 0;
	assert_int_equal(rtp_rx_init(&s, &c), -EINVAL);
	c = RTP_RX_CFG_DEFAULT;
	c.max_dropout = 1;
	assert_int_equal(rtp_rx_init(&s, &c), -EINVAL);
	c = RTP_RX_CFG_DEFAULT;
	c.max_misorder = 0;
	assert_int_equal(rtp_rx_init(&s, &c), -EINVAL);
	c = RTP_RX_CFG_DEFAULT;
	c.max_dropout = 65000;
	c.max_misorder = 537; /* one past the sequence space */
	assert_int_equal(rtp_rx_init(&s, &c), -EINVAL);
	c.max_misorder = 536;
	assert_int_equal(rtp_rx_init(&s, &c), 0);
}

static void test_probation(void **state)
{
	(void)state;
	struct rtp_rx_stats s;
	struct rtp_rx_gap g;
	struct rtcp_rb rb;

	assert_int_equal(rtp_rx_init(&s, NULL), 0);
	assert_int_equal(rx(&s, 100, &g), RTP_RX_PROBATION);
	assert_int_equal(rx(&s, 102, &g), RTP_RX_PROBATION); /* not sequential: start again */
	assert_int_equal(g.count, 0);
	assert_int_equal(rtp_rx_report(&s, 1, 0, &rb), -ENODATA);
	struct rtp_rx_snapshot sn = snap(&s);
	assert_false(sn.valid);
	assert_int_equal(sn.cnt.probation, 2);
	assert_int_equal(sn.cnt.received, 0);
	assert_int_equal(sn.expected, 0);

	assert_int_equal(rx(&s, 103, &g), RTP_RX_IN_ORDER);
	assert_int_equal(rx(&s, 104, &g), RTP_RX_IN_ORDER);
	sn = snap(&s);
	assert_true(sn.valid);
	assert_int_equal(sn.cnt.probation, 2);
	assert_int_equal(sn.cnt.received, 2);
	assert_int_equal(sn.expected, 2); /* 103 and 104: the probation packets are not counted */
	assert_int_equal(sn.lost, 0);
	assert_int_equal(rtp_rx_report(&s, 0xabcd, 0, &rb), 0);
	assert_int_equal(rb.ssrc, 0xabcd);
	assert_int_equal(rb.ext_highest_seq, 104);
	assert_int_equal(rb.cumulative_lost, 0);

	/* Three sequential packets with min_sequential 3; one is enough with 1. */
	struct rtp_rx_cfg c = RTP_RX_CFG_DEFAULT;
	c.min_sequential = 3;
	assert_int_equal(rtp_rx_init(&s, &c), 0);
	assert_int_equal(rx(&s, 65535, &g), RTP_RX_PROBATION);
	assert_int_equal(rx(&s, 0, &g), RTP_RX_PROBATION);
	assert_int_equal(rx(&s, 1, &g), RTP_RX_IN_ORDER);
	assert_int_equal(snap(&s).ext_highest_seq, 1);
	c.min_sequential = 1;
	assert_int_equal(rtp_rx_init(&s, &c), 0);
	assert_int_equal(rx(&s, 7, &g), RTP_RX_IN_ORDER);
	assert_int_equal(snap(&s).expected, 1);
}

static void test_wrap(void **state)
{
	(void)state;
	struct rtp_rx_stats s;
	struct rtp_rx_gap g;
	struct rtcp_rb rb;

	start(&s, 65531);
	for (uint16_t seq = 65532; seq != 0; seq++)
		assert_int_equal(rx(&s, seq, &g), RTP_RX_IN_ORDER);
	struct rtp_rx_snapshot sn = snap(&s);
	assert_int_equal(sn.ext_highest_seq, 65535);
	assert_int_equal(sn.cycles, 0);

	assert_int_equal(rx(&s, 0, &g), RTP_RX_IN_ORDER);
	assert_int_equal(g.count, 0);
	sn = snap(&s);
	assert_int_equal(sn.ext_highest_seq, 65536);
	assert_int_equal(sn.cycles, 1);

	for (uint16_t seq = 1; seq <= 10; seq++)
		assert_int_equal(rx(&s, seq, &g), RTP_RX_IN_ORDER);
	sn = snap(&s);
	assert_int_equal(sn.ext_highest_seq, 0x1000a);
	assert_int_equal(sn.cycles, 1);
	assert_int_equal(sn.expected, 16); /* 65531..65535, 0..10 */
	assert_int_equal(sn.lost, 0);
	assert_int_equal(rtp_rx_report(&s, 1, 0, &rb), 0);
	assert_int_equal(rb.ext_highest_seq, 0x1000a);
	assert_int_equal(rb.cumulative_lost, 0);
	assert_int_equal(rb.fraction_lost, 0);

	/* A packet from before the wrap, still within the misorder limit, is a duplicate. */
	assert_int_equal(rx(&s, 65534, &g), RTP_RX_DUPLICATE);
	assert_int_equal(snap(&s).cycles, 1);
}

/* Every 50th packet lost, 10,000 numbers from 60000 (so across the wrap), two reports. */
static void test_loss_2_percent(void **state)
{
	(void)state;
	struct rtp_rx_stats s;
	struct rtp_rx_gap g;
	struct rtcp_rb rb;
	unsigned gaps = 0;

	start(&s, 60000);
	for (uint32_t i = 1; i < 10000; i++) {
		uint16_t seq = (uint16_t)(60000 + i);
		if (i % 50 == 25)
			continue;
		assert_int_equal(rx(&s, seq, &g), RTP_RX_IN_ORDER);
		if (g.count) {
			assert_int_equal(g.count, 1);
			assert_int_equal(g.missing, 1);
			assert_int_equal(g.first, (uint16_t)(seq - 1));
			gaps++;
		}
		if (i == 4999) {
			/* 5000 expected, 100 lost: 100 * 256 / 5000 = 5.12 */
			assert_int_equal(rtp_rx_report(&s, 1, 0, &rb), 0);
			assert_int_equal(rb.fraction_lost, 5);
			assert_int_equal(rb.cumulative_lost, 100);
			assert_int_equal(rb.ext_highest_seq, 64999);
			assert_int_equal(snap(&s).recent_loss_permille, 20);
		}
	}
	assert_int_equal(gaps, 200);
	struct rtp_rx_snapshot sn = snap(&s);
	assert_int_equal(sn.expected, 10000);
	assert_int_equal(sn.cnt.received, 9800);
	assert_int_equal(sn.lost, 200);

	assert_int_equal(rtp_rx_report(&s, 1, 0, &rb), 0);
	assert_int_equal(rb.fraction_lost, 5);
	assert_int_equal(rb.cumulative_lost, 200);
	assert_int_equal(rb.ext_highest_seq, 69999); /* 0x1116f: one cycle, highest 4463 */
	assert_int_equal(snap(&s).cycles, 1);
	assert_int_equal(snap(&s).recent_loss_permille, 20);
}

static void test_interval_resets(void **state)
{
	(void)state;
	struct rtp_rx_stats s;
	struct rtp_rx_gap g;
	struct rtcp_rb rb;
	uint16_t seq = 1000;

	start(&s, seq);
	/* 100 numbers with the first packet, every tenth lost: 10 * 256 / 100 = 25.6 */
	for (int i = 1; i < 100; i++)
		if (i % 10 != 5)
			rx(&s, ++seq, &g);
		else
			seq++;
	assert_int_equal(rtp_rx_report(&s, 1, 0, &rb), 0);
	assert_int_equal(rb.fraction_lost, 25);
	assert_int_equal(rb.cumulative_lost, 10);
	assert_int_equal(snap(&s).recent_loss_permille, 100);

	/* The recent figure holds until the next report, whatever arrives meanwhile. */
	for (int i = 0; i < 100; i++)
		rx(&s, ++seq, &g);
	struct rtp_rx_snapshot sn = snap(&s);
	assert_int_equal(sn.recent_loss_permille, 100);
	assert_int_equal(sn.fraction_lost, 25);
	assert_int_equal(rtp_rx_report(&s, 1, 0, &rb), 0);
	assert_int_equal(rb.fraction_lost, 0);
	assert_int_equal(rb.cumulative_lost, 10);
	assert_int_equal(snap(&s).recent_loss_permille, 0);

	/* 200 numbers, 3 lost: 768 / 200 = 3.84, 15 permille. */
	for (int i = 1; i <= 200; i++)
		if (i == 7 || i == 90 || i == 150)
			seq++;
		else
			rx(&s, ++seq, &g);
	assert_int_equal(rtp_rx_report(&s, 1, 0, &rb), 0);
	assert_int_equal(rb.fraction_lost, 3);
	assert_int_equal(rb.cumulative_lost, 13);
	assert_int_equal(snap(&s).recent_loss_permille, 15);

	/* An empty interval, then one where a late packet repairs an earlier interval's loss:
	 * received exceeds expected for that interval, which is no loss, not a negative one. */
	assert_int_equal(rtp_rx_report(&s, 1, 0, &rb), 0);
	assert_int_equal(rb.fraction_lost, 0);
	assert_int_equal(rx(&s, (uint16_t)(seq - 50), &g), RTP_RX_REORDERED);
	assert_int_equal(rx(&s, ++seq, &g), RTP_RX_IN_ORDER);
	assert_int_equal(rtp_rx_report(&s, 1, 0, &rb), 0);
	assert_int_equal(rb.fraction_lost, 0);
	assert_int_equal(rb.cumulative_lost, 12);
}

static void test_duplicates(void **state)
{
	(void)state;
	struct rtp_rx_stats s;
	struct rtp_rx_gap g;
	struct rtcp_rb rb;

	start(&s, 2);
	assert_int_equal(rx(&s, 3, &g), RTP_RX_IN_ORDER);
	assert_int_equal(rx(&s, 4, &g), RTP_RX_IN_ORDER);
	assert_int_equal(rx(&s, 6, &g), RTP_RX_IN_ORDER);
	assert_int_equal(rx(&s, 7, &g), RTP_RX_IN_ORDER);
	assert_int_equal(snap(&s).lost, 1);

	assert_int_equal(rx(&s, 5, &g), RTP_RX_REORDERED);
	assert_int_equal(snap(&s).lost, 0);
	/* The second copy of the recovered packet must not recover it again. */
	assert_int_equal(rx(&s, 5, &g), RTP_RX_DUPLICATE);
	assert_int_equal(snap(&s).lost, 0);
	assert_int_equal(rx(&s, 7, &g), RTP_RX_DUPLICATE); /* the highest itself */
	assert_int_equal(rx(&s, 6, &g), RTP_RX_DUPLICATE);
	assert_int_equal(rx(&s, 2, &g), RTP_RX_DUPLICATE); /* the first counted */
	/* A duplicate with a wild arrival time must not feed jitter. */
	assert_int_equal(rtp_rx_update(&s, 4, 3000u * 4, 3000u * 4 + 90000, &g), RTP_RX_DUPLICATE);
	assert_int_equal(g.count, 0);

	struct rtp_rx_snapshot sn = snap(&s);
	assert_int_equal(sn.cnt.duplicates, 5);
	assert_int_equal(sn.cnt.reordered, 1);
	assert_int_equal(sn.cnt.received, 6);
	assert_int_equal(sn.expected, 6);
	assert_int_equal(sn.lost, 0);
	assert_int_equal(sn.jitter, 0);
	assert_int_equal(rtp_rx_report(&s, 1, 0, &rb), 0);
	assert_int_equal(rb.cumulative_lost, 0);
	assert_int_equal(rb.fraction_lost, 0);

	/* The window is reused every RTP_RX_WINDOW numbers: a skipped number must not inherit
	 * the mark of the one received a window earlier, after a short gap or a long one. */
	for (uint16_t seq = 8; seq <= 1100; seq++)
		if (seq != 1030)
			assert_int_equal(rx(&s, seq, &g), RTP_RX_IN_ORDER);
	assert_int_equal(rx(&s, 1030, &g), RTP_RX_REORDERED);
	assert_int_equal(rx(&s, 1030, &g), RTP_RX_DUPLICATE);
	assert_int_equal(rx(&s, 3100, &g), RTP_RX_IN_ORDER);
	assert_int_equal(rx(&s, 3050, &g), RTP_RX_REORDERED);
	assert_int_equal(snap(&s).lost, 1998);
}

static void test_reorder(void **state)
{
	(void)state;
	struct rtp_rx_stats s;
	struct rtp_rx_gap g;

	start(&s, 10);
	assert_int_equal(rx(&s, 11, &g), RTP_RX_IN_ORDER);
	assert_int_equal(rx(&s, 13, &g), RTP_RX_IN_ORDER);
	assert_int_equal(g.first, 12);
	assert_int_equal(g.count, 1);
	assert_int_equal(rx(&s, 12, &g), RTP_RX_REORDERED);
	assert_int_equal(g.count, 0);
	assert_int_equal(rx(&s, 14, &g), RTP_RX_IN_ORDER);
	assert_int_equal(g.count, 0);

	/* 99 behind is the furthest accepted with MAX_MISORDER 100; 100 behind is a jump. */
	for (uint16_t seq = 15; seq <= 200; seq++)
		if (seq != 101 && seq != 100)
			rx(&s, seq, &g);
	assert_int_equal(rx(&s, 101, &g), RTP_RX_REORDERED);
	assert_int_equal(rx(&s, 100, &g), RTP_RX_BAD);

	struct rtp_rx_snapshot sn = snap(&s);
	assert_int_equal(sn.cnt.reordered, 2);
	assert_int_equal(sn.cnt.bad, 1);
	assert_int_equal(sn.expected, 191);
	assert_int_equal(sn.lost, 1);
}

static void test_restart(void **state)
{
	(void)state;
	struct rtp_rx_stats s;
	struct rtp_rx_gap g;
	struct rtcp_rb rb;

	start(&s, 1000);
	for (uint16_t seq = 1001; seq <= 1010; seq++)
		if (seq != 1005)
			rx(&s, seq, &g);
	assert_int_equal(snap(&s).lost, 1);

	/* A single stray jump is ignored and the stream goes on. */
	assert_int_equal(rx(&s, 30000, &g), RTP_RX_BAD);
	assert_int_equal(rx(&s, 1011, &g), RTP_RX_IN_ORDER);
	assert_int_equal(snap(&s).ext_highest_seq, 1011);

	/* A jump confirmed by the next number: the sender restarted, with a new timestamp base
	 * too, which must not read as one enormous transit difference. */
	uint32_t ts_base = 0x50000000;
	assert_int_equal(rtp_rx_update(&s, 40000, ts_base, 0, &g), RTP_RX_BAD);
	assert_int_equal(rtp_rx_update(&s, 40001, ts_base + 3000, 3000, &g), RTP_RX_RESTART);
	assert_int_equal(g.count, 0);
	assert_int_equal(rtp_rx_update(&s, 40002, ts_base + 6000, 6000, &g), RTP_RX_IN_ORDER);
	struct rtp_rx_snapshot sn = snap(&s);
	assert_int_equal(sn.cnt.restarts, 1);
	assert_int_equal(sn.cnt.bad, 2);
	assert_int_equal(sn.ext_highest_seq, 40002);
	assert_int_equal(sn.expected, 2);
	assert_int_equal(sn.lost, 0); /* the loss before the restart belongs to the old numbering */
	assert_int_equal(sn.jitter, 0);
	assert_int_equal(rtp_rx_report(&s, 1, 0, &rb), 0);
	assert_int_equal(rb.ext_highest_seq, 40002);
	assert_int_equal(rb.cumulative_lost, 0);

	/* Backwards, with a tighter configuration: a jump of 150 is already too far. */
	struct rtp_rx_cfg c = RTP_RX_CFG_DEFAULT;
	c.max_dropout = 100;
	c.max_misorder = 10;
	assert_int_equal(rtp_rx_init(&s, &c), 0);
	rx(&s, 499, &g);
	assert_int_equal(rx(&s, 500, &g), RTP_RX_IN_ORDER);
	assert_int_equal(rx(&s, 599, &g), RTP_RX_IN_ORDER); /* gap of 98: permitted */
	assert_int_equal(rx(&s, 749, &g), RTP_RX_BAD);
	assert_int_equal(rx(&s, 589, &g), RTP_RX_BAD); /* 10 behind */
	assert_int_equal(rx(&s, 590, &g),
	                 RTP_RX_REORDERED); /* 9 behind: a reorder, not a confirmation */
	assert_int_equal(rx(&s, 400, &g), RTP_RX_BAD);
	assert_int_equal(rx(&s, 401, &g), RTP_RX_RESTART);
	struct rtp_rx_snapshot sn2 = snap(&s);
	assert_int_equal(sn2.ext_highest_seq, 401);
	assert_int_equal(sn2.expected, 1);
	assert_int_equal(sn2.cnt.bad, 3);
	assert_int_equal(sn2.cnt.restarts, 1);
}

/* Too old to tell from a duplicate: outside the window, or from before counting started. */
static void test_late(void **state)
{
	(void)state;
	struct rtp_rx_stats s;
	struct rtp_rx_gap g;

	start(&s, 101);
	assert_int_equal(rx(&s, 102, &g), RTP_RX_IN_ORDER);
	assert_int_equal(rx(&s, 100, &g), RTP_RX_LATE); /* the probation packet, again */
	assert_int_equal(rx(&s, 99, &g), RTP_RX_LATE);
	struct rtp_rx_snapshot sn = snap(&s);
	assert_int_equal(sn.cnt.late, 2);
	assert_int_equal(sn.lost, 0);
	assert_int_equal(sn.expected, 2);

	struct rtp_rx_cfg c = RTP_RX_CFG_DEFAULT;
	c.max_misorder = 2000;
	assert_int_equal(rtp_rx_init(&s, &c), 0);
	rx(&s, 0, &g);
	assert_int_equal(rx(&s, 1, &g), RTP_RX_IN_ORDER);
	for (uint16_t seq = 2; seq <= 1500; seq++)
		if (seq != 200 && seq != 600)
			rx(&s, seq, &g);
	assert_int_equal(snap(&s).lost, 2);
	assert_int_equal(rx(&s, 200, &g), RTP_RX_LATE);      /* 1300 behind */
	assert_int_equal(rx(&s, 600, &g), RTP_RX_REORDERED); /* 900 behind */
	assert_int_equal(rx(&s, 400, &g), RTP_RX_LATE);
	assert_int_equal(rx(&s, 1000, &g), RTP_RX_DUPLICATE);
	sn = snap(&s);
	assert_int_equal(sn.cnt.late, 2);
	assert_int_equal(sn.cnt.duplicates, 1);
	assert_int_equal(sn.lost, 1);
}

static void test_cumulative_clamp(void **state)
{
	(void)state;
	struct rtp_rx_stats s;
	struct rtp_rx_gap g;
	struct rtcp_rb rb;
	uint16_t seq = 1;

	start(&s, seq);
	for (int i = 0; i < 3000; i++) {
		seq = (uint16_t)(seq + 2999);
		assert_int_equal(rx(&s, seq, &g), RTP_RX_IN_ORDER);
		assert_int_equal(g.missing, 2998);
		assert_int_equal(g.count, RTP_RX_DEF_MAX_GAP);
	}
	assert_int_equal(snap(&s).lost, 3000 * 2998); /* 8,994,000: over 24 bits */
	assert_int_equal(rtp_rx_report(&s, 1, 0, &rb), 0);
	assert_int_equal(rb.cumulative_lost, 0x7fffff);
	assert_int_equal(rb.fraction_lost, 255); /* 8994000 * 256 / 8997001 = 255.9 */
	assert_int_equal(rb.ext_highest_seq, 1 + 3000 * 2999);
	assert_int_equal(snap(&s).cycles, (1 + 3000 * 2999) >> 16);
}

/* 25 frames/s at 90 kHz: 3600 ticks and 40 ms apart, both exact. */
static void test_jitter_paced(void **state)
{
	(void)state;
	struct rtp_rx_stats s;
	struct rtp_rx_gap g;
	struct rtcp_rb rb;
	uint32_t ts0 = 0xfffff000u; /* the timestamp wraps early on */
	uint64_t t0 = 100 * DAY_NS + 123456789;

	assert_int_equal(rtp_rx_init(&s, NULL), 0);
	for (uint32_t i = 0; i < 1000; i++) {
		uint32_t arrival = (uint32_t)rtp_ns_to_clock(t0 + i * 40 * NS_PER_MS, 90000);
		enum rtp_rx_class cls =
		    rtp_rx_update(&s, (uint16_t)(65000 + i), ts0 + 3600 * i, arrival, &g);
		assert_int_equal(cls, i == 0 ? RTP_RX_PROBATION : RTP_RX_IN_ORDER);
	}
	assert_int_equal(snap(&s).jitter, 0);
	assert_int_equal(rtp_rx_report(&s, 1, 0, &rb), 0);
	assert_int_equal(rb.jitter, 0);
}

/* 20 ms audio at 48 kHz, every other packet 1 ms late: |D| is 48 ticks for every pair. */
static void test_jitter_alternating(void **state)
{
	(void)state;
	struct rtp_rx_stats s;
	struct rtp_rx_gap g;
	struct rtcp_rb rb;
	const uint32_t rate = 48000;
	uint64_t t0 = 3 * DAY_NS;
	double j = 0, prev_transit = 0;

	assert_int_equal(rtp_rx_init(&s, NULL), 0);
	for (uint32_t i = 0; i < 400; i++) {
		uint32_t ts = 1234567 + 960 * i;
		uint64_t ns = t0 + i * 20 * NS_PER_MS + (i % 2 ? NS_PER_MS : 0);
		rtp_rx_update(&s, (uint16_t)i, ts, (uint32_t)rtp_ns_to_clock(ns, rate), &g);

		/* RFC 3550 §6.4.1 in floating point, from the first packet counted (i == 1). */
		double transit = (double)(ns - t0) * rate / 1e9 - (ts - 1234567);
		if (i >= 2)
			j += (fabs(transit - prev_transit) - j) / 16;
		prev_transit = transit;

		/* The integer form rounds each step: off by one unit at most. */
		int64_t got = snap(&s).jitter;
		assert_true(llabs(got - (int64_t)j) <= 1);
		if (i == 2)
			assert_int_equal(got, 3); /* 48 / 16 */
	}
	/* Both approach 48 from below and never reach it. */
	assert_int_equal((uint32_t)j, 47);
	assert_true(j > 47.99);
	assert_int_equal(rtp_rx_report(&s, 1, 0, &rb), 0);
	assert_int_equal(rb.jitter, 47);
}

static void test_lsr_dlsr(void **state)
{
	(void)state;
	struct rtp_rx_stats s;
	struct rtcp_rb rb;
	uint64_t ntp = 0xe7c5123456789abcull; /* middle 32 bits: 0x12345678 */
	uint64_t t = 100 * DAY_NS + 777;

	start(&s, 1);
	assert_int_equal(rtp_rx_report(&s, 1, t, &rb), 0);
	assert_int_equal(rb.lsr, 0);
	assert_int_equal(rb.dlsr, 0);

	rtp_rx_sr(&s, (uint32_t)(ntp >> 16), t);
	assert_int_equal(rtp_rx_report(&s, 1, t + 1500 * NS_PER_MS, &rb), 0);
	assert_int_equal(rb.lsr, 0x12345678);
	assert_int_equal(rb.dlsr, 98304); /* 1.5 * 65536 */
	assert_int_equal(rtp_rx_report(&s, 1, t + 250 * NS_PER_MS, &rb), 0);
	assert_int_equal(rb.dlsr, 16384);
	assert_int_equal(rtp_rx_report(&s, 1, t + NS_PER_MS, &rb), 0);
	assert_int_equal(rb.dlsr, 65); /* 65.536, truncated */
	assert_int_equal(rtp_rx_report(&s, 1, t + 3723 * NS_PER_S + 500 * NS_PER_MS, &rb), 0);
	assert_int_equal(rb.dlsr, 3723 * 65536 + 32768);
	assert_int_equal(rtp_rx_report(&s, 1, t - 1, &rb), 0); /* clock went back: no delay */
	assert_int_equal(rb.dlsr, 0);
	assert_int_equal(rtp_rx_report(&s, 1, t + DAY_NS, &rb), 0); /* past 32 bits: saturate */
	assert_int_equal(rb.dlsr, UINT32_MAX);

	rtp_rx_sr(&s, 0x9abc0000u, t + 5 * NS_PER_S);
	assert_int_equal(rtp_rx_report(&s, 1, t + 7 * NS_PER_S, &rb), 0);
	assert_int_equal(rb.lsr, 0x9abc0000u);
	assert_int_equal(rb.dlsr, 2 * 65536);
}

static void test_ns_to_clock(void **state)
{
	(void)state;
	uint64_t ns = 100 * DAY_NS + 123456789;

	assert_true(ns > UINT64_MAX / 90000); /* where ns * rate would have wrapped */
	assert_int_equal(rtp_ns_to_clock(ns, 90000), 777600011111ull);
	assert_int_equal(rtp_ns_to_clock(ns, 48000), 414720005925ull);
	assert_int_equal(rtp_ns_to_clock(ns, 8000), 69120000987ull);
	/* Spacing stays exact in the 32 bits a timestamp has. */
	assert_int_equal((uint32_t)rtp_ns_to_clock(ns + 40 * NS_PER_MS, 90000) -
	                     (uint32_t)rtp_ns_to_clock(ns, 90000),
	                 3600);
	assert_int_equal(rtp_ns_to_clock(11111, 90000), 0);
	assert_int_equal(rtp_ns_to_clock(11112, 90000), 1);
	assert_int_equal(rtp_ns_to_clock(UINT64_MAX, 90000), 1660206966633859ull);
}

static void test_gap(void **state)
{
	(void)state;
	struct rtp_rx_stats s;
	struct rtp_rx_gap g;

	start(&s, 10);
	assert_int_equal(rx(&s, 11, &g), RTP_RX_IN_ORDER);
	assert_int_equal(g.count, 0);
	assert_int_equal(rx(&s, 15, &g), RTP_RX_IN_ORDER);
	assert_int_equal(g.first, 12);
	assert_int_equal(g.count, 3);
	assert_int_equal(g.missing, 3);
	assert_int_equal(snap(&s).lost, 3);
	assert_int_equal(rx(&s, 13, &g), RTP_RX_REORDERED); /* a retransmission */
	assert_int_equal(g.count, 0);
	assert_int_equal(snap(&s).lost, 2);

	/* Longer than the cap: the newest 64 are asked for. */
	assert_int_equal(rx(&s, 1015, &g), RTP_RX_IN_ORDER);
	assert_int_equal(g.missing, 999);
	assert_int_equal(g.count, 64);
	assert_int_equal(g.first, 951);
	assert_int_equal(rx(&s, 951, &g), RTP_RX_REORDERED);
	assert_int_equal(snap(&s).lost, 2 + 999 - 1);

	/* Across the wrap. */
	start(&s, 65533);
	assert_int_equal(rx(&s, 2, &g), RTP_RX_IN_ORDER);
	assert_int_equal(g.first, 65534);
	assert_int_equal(g.count, 4); /* 65534, 65535, 0, 1 */
	assert_int_equal(rx(&s, 0, &g), RTP_RX_REORDERED);
	assert_int_equal(rx(&s, 65535, &g), RTP_RX_REORDERED);
	assert_int_equal(snap(&s).lost, 2);

	/* With a small misorder limit, older numbers could not be accepted back: not asked for. */
	struct rtp_rx_cfg c = RTP_RX_CFG_DEFAULT;
	c.max_misorder = 20;
	assert_int_equal(rtp_rx_init(&s, &c), 0);
	rx(&s, 99, &g);
	rx(&s, 100, &g);
	assert_int_equal(rx(&s, 200, &g), RTP_RX_IN_ORDER);
	assert_int_equal(g.missing, 99);
	assert_int_equal(g.count, 19);
	assert_int_equal(g.first, 181);
	assert_int_equal(rx(&s, 181, &g), RTP_RX_REORDERED);
	assert_int_equal(rx(&s, 180, &g), RTP_RX_BAD);
}

/* Without probation, packets that the network let the first one overtake still count: base
 * moves back to them, and nothing is called lost that arrived. With probation they stay late. */
static void test_startup_reorder(void **state)
{
	(void)state;
	struct rtp_rx_stats s;
	struct rtp_rx_cfg cfg = RTP_RX_CFG_DEFAULT;
	struct rtp_rx_snapshot snap;
	struct rtp_rx_gap gap;
	cfg.min_sequential = 1;
	assert_int_equal(rtp_rx_init(&s, &cfg), 0);
	assert_int_equal(rx(&s, 16, &gap), RTP_RX_IN_ORDER);
	for (uint16_t seq = 11; seq <= 15; seq++)
		assert_int_equal(rx(&s, seq, &gap), RTP_RX_REORDERED);
	rtp_rx_snapshot(&s, &snap);
	assert_int_equal(snap.expected, 6);
	assert_int_equal(snap.lost, 0);
	assert_int_equal(snap.cnt.late, 0);
	assert_int_equal(rx(&s, 13, &gap), RTP_RX_DUPLICATE);
	/* Further back, with a hole: 5 arrives, 6..10 never do. */
	assert_int_equal(rx(&s, 5, &gap), RTP_RX_REORDERED);
	rtp_rx_snapshot(&s, &snap);
	assert_int_equal(snap.expected, 12);
	assert_int_equal(snap.lost, 5);

	/* The default (probation) keeps the RFC's rule: before the first counted is late. */
	assert_int_equal(rtp_rx_init(&s, NULL), 0);
	rx(&s, 100, &gap);
	rx(&s, 101, &gap);
	rx(&s, 102, &gap);
	assert_int_equal(rx(&s, 90, &gap), RTP_RX_LATE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cfg),
	    cmocka_unit_test(test_probation),
	    cmocka_unit_test(test_wrap),
	    cmocka_unit_test(test_loss_2_percent),
	    cmocka_unit_test(test_interval_resets),
	    cmocka_unit_test(test_duplicates),
	    cmocka_unit_test(test_reorder),
	    cmocka_unit_test(test_restart),
	    cmocka_unit_test(test_late),
	    cmocka_unit_test(test_cumulative_clamp),
	    cmocka_unit_test(test_jitter_paced),
	    cmocka_unit_test(test_jitter_alternating),
	    cmocka_unit_test(test_lsr_dlsr),
	    cmocka_unit_test(test_ns_to_clock),
	    cmocka_unit_test(test_gap),
	    cmocka_unit_test(test_startup_reorder),
	};
	return cmocka_run_group_tests_name("rtp_stats", tests, NULL, NULL);
}
