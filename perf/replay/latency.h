/* Latency percentiles for caas-replay's receiver: a fixed-size log-linear histogram (HDR
 * histogram style: relative error below 1% from 1 us to 1 hour), O(1) record, exact count,
 * min, max and mean; percentiles p50, p99, p99.9 from the buckets. No allocation. */
#ifndef CAAS_REPLAY_LATENCY_H
#define CAAS_REPLAY_LATENCY_H

#include <stdint.h>

#define LAT_SUB_BITS 7 /* 128 linear sub-buckets per power of two: < 1% error */
#define LAT_MAGS 42    /* blocks: 0..127 ns exact, then a power of two each, to 2^48 ns (78 h) */

struct latency {
	uint64_t count;
	uint64_t min_ns, max_ns; /* exact, also past the last bucket; 0 while count is 0 */
	long double sum_ns;
	uint64_t negative; /* samples below 0 (clock skew), counted, not recorded */
	uint32_t bucket[LAT_MAGS << LAT_SUB_BITS];
};

void lat_init(struct latency *l);
/* Record one sample in nanoseconds (negative: counted in l->negative only). */
void lat_record(struct latency *l, int64_t ns);
/* Merge b into a (for totals over streams). */
void lat_merge(struct latency *a, const struct latency *b);
/* The value at quantile q (0..1) in ns, within the histogram's error; 0 when empty. */
uint64_t lat_quantile(const struct latency *l, double q);

#endif
