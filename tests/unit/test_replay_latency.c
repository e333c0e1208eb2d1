/* caas-replay latency histogram tests: exact extremes, quantile error, merge, clamping. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "perf/replay/latency.h"

#define US 1000ull
#define MS 1000000ull

static void assert_near(double got, double want, double rel)
{
	if (fabs(got - want) > rel * fabs(want))
		fail_msg("%.9g is not within %.2g%% of %.9g", got, rel * 100, want);
}

static void test_empty(void **state)
{
	(void)state;
	static struct latency l;

	lat_init(&l);
	assert_int_equal(l.count, 0);
	assert_int_equal(l.min_ns, 0);
	assert_int_equal(l.max_ns, 0);
	assert_int_equal(lat_quantile(&l, 0), 0);
	assert_int_equal(lat_quantile(&l, 0.5), 0);
	assert_int_equal(lat_quantile(&l, 0.999), 0);
	assert_int_equal(lat_quantile(&l, 1), 0);
}

static void test_single(void **state)
{
	(void)state;
	static struct latency l;
	const double qs[] = {0, 0.001, 0.5, 0.99, 0.999, 1};

	lat_init(&l);
	lat_record(&l, 12345678);
	assert_int_equal(l.count, 1);
	assert_int_equal(l.min_ns, 12345678);
	assert_int_equal(l.max_ns, 12345678);
	assert_true(l.sum_ns == 12345678);
	/* One sample: its bucket is wider than it, but the clamp to min and max makes it exact. */
	for (unsigned i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
		assert_int_equal(lat_quantile(&l, qs[i]), 12345678);

	lat_init(&l);
	lat_record(&l, 0);
	assert_int_equal(l.count, 1);
	assert_int_equal(lat_quantile(&l, 0.5), 0);
}

/* Below 128 ns every value has its own bucket: quantiles are exact. */
static void test_exact_small(void **state)
{
	(void)state;
	static struct latency l;

	lat_init(&l);
	for (int64_t v = 100; v > 0; v--)
		lat_record(&l, v);
	assert_int_equal(l.count, 100);
	assert_int_equal(l.min_ns, 1);
	assert_int_equal(l.max_ns, 100);
	assert_true(l.sum_ns == 5050);
	assert_int_equal(lat_quantile(&l, 0.5), 50);
	assert_int_equal(lat_quantile(&l, 0.501), 51);
	assert_int_equal(lat_quantile(&l, 0.99), 99);
	assert_int_equal(lat_quantile(&l, 0.01), 1);
	assert_int_equal(lat_quantile(&l, 0), 1);
	assert_int_equal(lat_quantile(&l, 1), 100);
}

/* 1 us .. 100 ms in steps of 1 us. */
static void test_uniform(void **state)
{
	(void)state;
	static struct latency l;
	const uint64_t n = 100000;
	const double qs[] = {0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999};

	lat_init(&l);
	for (uint64_t i = 1; i <= n; i++)
		lat_record(&l, (int64_t)(i * US));
	assert_int_equal(l.count, n);
	assert_int_equal(l.min_ns, US);
	assert_int_equal(l.max_ns, n * US);
	assert_true(l.sum_ns == (long double)US * n * (n + 1) / 2);

	for (unsigned i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		/* The q-th sample is the one of rank q * n: q * 100 ms exactly. */
		double want = qs[i] * n * US;
		uint64_t got = lat_quantile(&l, qs[i]);
		assert_near((double)got, want, 0.01);
		/* The bucket's top: never below the true value. */
		assert_true(got >= (uint64_t)want);
	}
	assert_near((double)lat_quantile(&l, 0.5), 50 * MS, 0.01);
	assert_near((double)lat_quantile(&l, 0.99), 99 * MS, 0.01);
	assert_near((double)lat_quantile(&l, 0.999), 99.9 * MS, 0.01);
	assert_int_equal(lat_quantile(&l, 0), US);
	assert_int_equal(lat_quantile(&l, 1), n * US);
}

/* A tail that a mean hides: 1% of the samples at 100 ms. */
static void test_tail(void **state)
{
	(void)state;
	static struct latency l;

	lat_init(&l);
	for (unsigned i = 0; i < 100000; i++)
		lat_record(&l, i % 100 == 7 ? (int64_t)(100 * MS) : (int64_t)MS);
	assert_near((double)lat_quantile(&l, 0.5), MS, 0.01);
	assert_near((double)lat_quantile(&l, 0.99), MS, 0.01); /* rank 99,000: still 1 ms */
	assert_near((double)lat_quantile(&l, 0.9901), 100 * MS, 0.01);
	assert_int_equal(lat_quantile(&l, 0.999), 100 * MS); /* the max clamps it exactly */
	assert_near((double)(l.sum_ns / l.count), 1.99 * MS, 1e-9);
}

/* Over the whole range, what is reported for a sample is at most 1/128 above it. */
static void test_error_bound(void **state)
{
	(void)state;
	static struct latency l;
	unsigned checked = 0;

	for (double x = 1; x < 0x1p47; x *= 1.0137) {
		for (int64_t d = -1; d <= 1; d++) {
			int64_t v = (int64_t)x + d;
			if (v < 0)
				continue;
			lat_init(&l);
			lat_record(&l, v);
			lat_record(&l, INT64_MAX); /* so that the max does not clamp the answer */
			uint64_t got = lat_quantile(&l, 0.5);
			if (got < (uint64_t)v || got - (uint64_t)v > (uint64_t)v / 128)
				fail_msg("%lld reported as %llu", (long long)v,
				         (unsigned long long)got);
			checked++;
		}
	}
	/* Powers of two and their neighbours, where the layout changes block. */
	for (unsigned m = 0; m < 47; m++) {
		for (int64_t d = -1; d <= 1; d++) {
			int64_t v = (int64_t)(1ll << m) + d;
			if (v < 0)
				continue;
			lat_init(&l);
			lat_record(&l, v);
			lat_record(&l, INT64_MAX);
			uint64_t got = lat_quantile(&l, 0.5);
			if (got < (uint64_t)v || got - (uint64_t)v > (uint64_t)v / 128)
				fail_msg("%lld reported as %llu", (long long)v,
				         (unsigned long long)got);
		}
	}
	assert_true(checked > 6000);
}

static void test_negative(void **state)
{
	(void)state;
	static struct latency l;

	lat_init(&l);
	lat_record(&l, -1);
	lat_record(&l, INT64_MIN);
	assert_int_equal(l.negative, 2);
	assert_int_equal(l.count, 0);
	assert_true(l.sum_ns == 0);
	assert_int_equal(lat_quantile(&l, 0.5), 0);
	lat_record(&l, 7 * MS);
	assert_int_equal(l.count, 1);
	assert_int_equal(l.negative, 2);
	assert_int_equal(l.min_ns, 7 * MS);
	assert_int_equal(lat_quantile(&l, 0), 7 * MS);
}

static void assert_same(const struct latency *a, const struct latency *b)
{
	assert_int_equal(a->count, b->count);
	assert_int_equal(a->min_ns, b->min_ns);
	assert_int_equal(a->max_ns, b->max_ns);
	assert_true(a->sum_ns == b->sum_ns);
	assert_int_equal(a->negative, b->negative);
	assert_memory_equal(a->bucket, b->bucket, sizeof(a->bucket));
	for (double q = 0; q <= 1; q += 0.001)
		assert_int_equal(lat_quantile(a, q), lat_quantile(b, q));
}

static void test_merge(void **state)
{
	(void)state;
	static struct latency a, b, all, empty;
	uint64_t x = 88172645463325252ull;

	lat_init(&a);
	lat_init(&b);
	lat_init(&all);
	lat_init(&empty);
	for (unsigned i = 0; i < 50000; i++) {
		/* xorshift64: a spread of values over nine decades, a few negative */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int64_t v = (int64_t)(x % 1000000000000ull >> (x % 31));
		if (i % 997 == 0)
			v = -v - 1;
		lat_record(i % 3 ? &a : &b, v);
		lat_record(&all, v);
	}
	lat_record(&b, 0);
	lat_record(&all, 0);
	/* b alone holds the largest, and the smaller set's extremes must win */
	lat_record(&b, 2000 * MS * 1000);
	lat_record(&all, 2000 * MS * 1000);
	assert_true(a.negative > 0 && b.negative > 0);

	lat_merge(&a, &b);
	assert_same(&a, &all);
	assert_int_equal(a.min_ns, 0);
	assert_int_equal(a.max_ns, 2000 * MS * 1000);

	/* Empty on either side changes nothing, and merging into empty copies. */
	lat_merge(&a, &empty);
	assert_same(&a, &all);
	lat_merge(&empty, &all);
	assert_same(&empty, &all);

	/* The empty side's zero min and max are not values. */
	lat_init(&a);
	lat_init(&b);
	lat_record(&b, 5 * MS);
	lat_merge(&a, &b);
	assert_int_equal(a.min_ns, 5 * MS);
	lat_record(&a, 9 * MS);
	lat_init(&b);
	lat_record(&b, 7 * MS);
	lat_merge(&b, &a);
	assert_int_equal(b.min_ns, 5 * MS);
	assert_int_equal(b.max_ns, 9 * MS);
	assert_int_equal(b.count, 3);
	assert_near((double)lat_quantile(&b, 0.5), 7 * MS, 0.01);
}

static void test_huge(void **state)
{
	(void)state;
	/* A clamp that missed would write past the buckets: into the guard. */
	static struct {
		struct latency l;
		uint32_t guard[4096];
	} g;
	struct latency *l = &g.l;
	static const uint32_t zero[4096];

	lat_init(l);
	lat_record(l, (int64_t)MS);
	lat_record(l, INT64_MAX);
	lat_record(l, 1ll << 48);
	lat_record(l, 1ll << 62);
	assert_int_equal(l->count, 4);
	assert_int_equal(l->max_ns, INT64_MAX);
	assert_int_equal(l->min_ns, MS);
	assert_true(l->sum_ns == (long double)MS + INT64_MAX + (1ll << 48) + (1ll << 62));
	assert_near((double)lat_quantile(l, 0.25), MS, 0.01);
	/* Past the last bucket the histogram knows only that a sample is large: it says max. */
	assert_int_equal(lat_quantile(l, 0.5), INT64_MAX);
	assert_int_equal(lat_quantile(l, 1), INT64_MAX);
	for (unsigned m = 40; m < 63; m++) {
		lat_record(l, 1ll << m);
		lat_record(l, (int64_t)(3ull << (m - 1)));
	}
	assert_int_equal(l->count, 4 + 2 * 23);
	assert_memory_equal(g.guard, zero, sizeof(zero));

	/* The largest value still bucketed with the usual error: just under 2^48 - 2^40. */
	lat_init(l);
	lat_record(l, (255ll << 40) - 1);
	lat_record(l, INT64_MAX);
	uint64_t got = lat_quantile(l, 0.5);
	assert_true(got >= (255ull << 40) - 1 && got < (255ull << 40) + (255ull << 40) / 128);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),       cmocka_unit_test(test_single),
	    cmocka_unit_test(test_exact_small), cmocka_unit_test(test_uniform),
	    cmocka_unit_test(test_tail),        cmocka_unit_test(test_error_bound),
	    cmocka_unit_test(test_negative),    cmocka_unit_test(test_merge),
	    cmocka_unit_test(test_huge),
	};
	return cmocka_run_group_tests_name("replay_latency", tests, NULL, NULL);
}
