/* caas-replay's latency histogram: bucket layout, recording, merging and quantiles. */
#include "latency.h"

#include <string.h>

/* Layout, with SUB = 2^LAT_SUB_BITS buckets a block: block 0 holds 0..SUB-1 ns, one value a
 * bucket; block k >= 1 holds [2^(k+6), 2^(k+7)) in buckets 2^(k-1) ns wide. A bucket is then at
 * most 1/SUB = 0.78% of its lowest value wide, and the LAT_MAGS blocks reach 2^48 ns (78 hours).
 * The last bucket also takes everything above. */
#define SUB     (1ull << LAT_SUB_BITS)
#define NBUCKET (LAT_MAGS << LAT_SUB_BITS)
#define LAST    (NBUCKET - 1)
#define TOP     (1ull << (LAT_MAGS + LAT_SUB_BITS - 1)) /* the first value past the last block */

_Static_assert(sizeof(((struct latency *)0)->bucket) / sizeof(uint32_t) == NBUCKET,
               "bucket array and layout disagree");
_Static_assert(LAT_MAGS + LAT_SUB_BITS - 1 < 64, "the last block must fit in 64 bits");

static unsigned bucket_of(uint64_t v)
{
	if (v < SUB)
		return (unsigned)v;
	if (v >= TOP)
		return LAST; /* clamped: lat_quantile answers max for this bucket */
	unsigned mag = 63 - (unsigned)__builtin_clzll(v); /* >= LAT_SUB_BITS */
	unsigned shift = mag - LAT_SUB_BITS;
	return (shift + 1) * SUB + (unsigned)((v >> shift) - SUB);
}

/* The highest value that lands in bucket i (LAST excepted: it also holds everything above). */
static uint64_t bucket_top(unsigned i)
{
	if (i < SUB)
		return i;
	unsigned shift = i / SUB - 1;
	uint64_t low = (SUB + i % SUB) << shift;
	return low + (1ull << shift) - 1;
}

void lat_init(struct latency *l)
{
	memset(l, 0, sizeof(*l));
}

/* A bucket saturates rather than wraps: 2^32 samples in one bucket is 12 hours of a single
 * 100,000 packet/s total, and a stuck count is less wrong than a reset one. */
static void bucket_add(uint32_t *b, uint64_t n)
{
	uint64_t s = *b + n;
	*b = s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

void lat_record(struct latency *l, int64_t ns)
{
	if (ns < 0) {
		l->negative++;
		return;
	}
	uint64_t v = (uint64_t)ns;
	if (!l->count || v < l->min_ns)
		l->min_ns = v;
	if (!l->count || v > l->max_ns)
		l->max_ns = v;
	l->count++;
	l->sum_ns += v;
	bucket_add(&l->bucket[bucket_of(v)], 1);
}

void lat_merge(struct latency *a, const struct latency *b)
{
	a->negative += b->negative;
	if (!b->count)
		return;
	if (!a->count || b->min_ns < a->min_ns)
		a->min_ns = b->min_ns;
	if (!a->count || b->max_ns > a->max_ns)
		a->max_ns = b->max_ns;
	a->count += b->count;
	a->sum_ns += b->sum_ns;
	for (unsigned i = 0; i < NBUCKET; i++)
		if (b->bucket[i])
			bucket_add(&a->bucket[i], b->bucket[i]);
}

/* The top of the bucket holding the q-th sample: a tail is never understated, and by at most
 * one bucket's width. Clamping to [min, max] makes the extremes and a single sample exact. */
uint64_t lat_quantile(const struct latency *l, double q)
{
	if (!l->count)
		return 0;
	if (!(q > 0)) /* NaN too */
		return l->min_ns;
	if (q >= 1)
		return l->max_ns;

	/* The nearest rank, ceil(q * count); but q is a decimal fraction in binary, and 0.01 * 100
	 * a hair above 1 must still be rank 1. */
	double r = q * (double)l->count;
	uint64_t rank = (uint64_t)r;
	if (r - (double)rank > r * 1e-12)
		rank++;
	if (rank < 1)
		rank = 1;

	uint64_t seen = 0;
	for (unsigned i = 0; i < NBUCKET; i++) {
		seen += l->bucket[i];
		if (seen < rank)
			continue;
		if (i == LAST)
			break;
		uint64_t v = bucket_top(i);
		if (v < l->min_ns)
			return l->min_ns;
		return v < l->max_ns ? v : l->max_ns;
	}
	/* The last bucket, or buckets that saturated: max is the best bound we have. */
	return l->max_ns;
}
