/* The reorder buffer: sequence order out of any arrival order, bounded waits for holes,
 * wrap-around, duplicates and late packets refused, restarts. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rtp/reorder.h"

#define MS   1000000ull
#define WAIT (100 * MS)

static struct rtp_reorder r;
static int pkts[70000]; /* packet i is &pkts[i] */

static void push_ok(uint16_t seq, uint64_t t)
{
	assert_int_equal(rtp_reorder_push(&r, seq, &pkts[seq], seq * 10u, t), 0);
}

/* Pop what is due at t into out[]; returns how many. Checks each packet's aux. */
static int pop_all(uint64_t t, uint16_t *out, int cap)
{
	uint16_t seq;
	uint64_t aux, at;
	void *p;
	int n = 0;

	while ((p = rtp_reorder_pop(&r, t, &seq, &aux, &at))) {
		assert_ptr_equal(p, &pkts[seq]);
		assert_int_equal(aux, seq * 10u);
		assert_true(n < cap);
		out[n++] = seq;
	}
	return n;
}

static void test_in_order(void **state)
{
	uint16_t out[8];
	(void)state;
	rtp_reorder_init(&r, WAIT);
	for (uint16_t s = 100; s < 105; s++)
		push_ok(s, 0);
	assert_int_equal(pop_all(0, out, 8), 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(out[i], 100 + i);
	assert_int_equal(r.stats.reordered, 0);
	assert_int_equal(r.stats.lost, 0);
}

static void test_reordered(void **state)
{
	uint16_t out[8];
	(void)state;
	rtp_reorder_init(&r, WAIT);
	push_ok(1, 0);
	push_ok(3, 0);
	assert_int_equal(pop_all(0, out, 8), 1); /* 1; 2 is waited for */
	assert_int_equal(out[0], 1);
	assert_int_equal(pop_all(WAIT - 1, out, 8), 0);
	push_ok(2, WAIT - 1); /* the retransmission, just in time */
	assert_int_equal(pop_all(WAIT - 1, out, 8), 2);
	assert_int_equal(out[0], 2);
	assert_int_equal(out[1], 3);
	assert_int_equal(r.stats.reordered, 1);
	assert_int_equal(r.stats.lost, 0);
}

static void test_hole_given_up(void **state)
{
	uint16_t out[8];
	(void)state;
	rtp_reorder_init(&r, WAIT);
	push_ok(10, 0);
	push_ok(13, 5 * MS); /* 11 and 12 missing; 13 arrived at 5 ms */
	assert_int_equal(pop_all(WAIT, out, 8), 1);
	assert_int_equal(pop_all(WAIT + 5 * MS - 1, out, 8), 0);
	assert_int_equal(pop_all(WAIT + 5 * MS, out, 8), 1);
	assert_int_equal(out[0], 13);
	assert_int_equal(r.stats.lost, 2);
	/* 12 comes after its place was given up: refused, the caller frees it */
	assert_int_equal(rtp_reorder_push(&r, 12, &pkts[12], 0, WAIT * 2), -EALREADY);
	assert_int_equal(r.stats.late, 1);
	push_ok(14, WAIT * 2);
	assert_int_equal(pop_all(WAIT * 2, out, 8), 1);
	assert_int_equal(out[0], 14);
}

static void test_duplicates(void **state)
{
	uint16_t out[8];
	(void)state;
	rtp_reorder_init(&r, WAIT);
	push_ok(7, 0);
	push_ok(9, 0);
	assert_int_equal(rtp_reorder_push(&r, 9, &pkts[9], 0, 0), -EALREADY);
	assert_int_equal(pop_all(0, out, 8), 1);
	assert_int_equal(rtp_reorder_push(&r, 7, &pkts[7], 0, 0), -EALREADY); /* already out */
	assert_int_equal(r.stats.duplicates, 1);
	assert_int_equal(r.stats.late, 1);
}

static void test_wrap(void **state)
{
	static const uint16_t in[] = {65533, 65535, 65534, 1, 0, 2};
	uint16_t out[8];
	(void)state;
	rtp_reorder_init(&r, WAIT);
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		push_ok(in[i], 0);
	assert_int_equal(pop_all(0, out, 8), 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(out[i], (uint16_t)(65533 + i));
	assert_int_equal(r.stats.reordered, 2);
}

static void test_restart(void **state)
{
	uint16_t out[8], seq;
	uint64_t aux, t;
	(void)state;
	rtp_reorder_init(&r, WAIT);
	push_ok(100, 0);
	push_ok(102, 0);
	assert_int_equal(rtp_reorder_push(&r, 40000, &pkts[40000], 0, 0), -ERANGE);
	assert_ptr_equal(rtp_reorder_flush(&r, &seq, &aux, &t), &pkts[100]);
	assert_ptr_equal(rtp_reorder_flush(&r, &seq, &aux, &t), &pkts[102]);
	assert_int_equal(seq, 102);
	assert_null(rtp_reorder_flush(&r, &seq, &aux, &t));
	push_ok(40000, 0);
	push_ok(40001, 0);
	assert_int_equal(pop_all(0, out, 8), 2);
	assert_int_equal(out[0], 40000);
	assert_int_equal(r.stats.restarts, 1);
	assert_int_equal(r.stats.lost, 1); /* 101, skipped by the flush */
}

static void test_full(void **state)
{
	uint16_t out[RTP_REORDER_MAX];
	(void)state;
	rtp_reorder_init(&r, WAIT);
	push_ok(0, 0);
	assert_int_equal(pop_all(0, out, RTP_REORDER_MAX), 1);
	/* 1 never comes; half the buffer behind it gives it up before the wait is over */
	for (uint16_t s = 2; s < 2 + RTP_REORDER_MAX / 2 - 1; s++)
		push_ok(s, 0);
	assert_int_equal(pop_all(0, out, RTP_REORDER_MAX), 0);
	push_ok(2 + RTP_REORDER_MAX / 2 - 1, 0);
	assert_int_equal(pop_all(0, out, RTP_REORDER_MAX), RTP_REORDER_MAX / 2);
	assert_int_equal(out[0], 2);
	assert_int_equal(r.stats.lost, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_in_order),      cmocka_unit_test(test_reordered),
	    cmocka_unit_test(test_hole_given_up), cmocka_unit_test(test_duplicates),
	    cmocka_unit_test(test_wrap),          cmocka_unit_test(test_restart),
	    cmocka_unit_test(test_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
