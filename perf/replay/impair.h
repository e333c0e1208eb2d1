/* 5G-like network impairments for caas-replay's sender, driven by a seeded generator so that
 * a run can be repeated exactly: random and burst loss (Gilbert-Elliott), delay jitter,
 * reordering and duplication, with named profiles. Pure computation: no clock, no I/O. */
#ifndef CAAS_REPLAY_IMPAIR_H
#define CAAS_REPLAY_IMPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parameters. Probabilities are fractions (0.02 is 2%). */
struct impair_cfg {
	double loss;         /* average loss; with burst > 1, Gilbert-Elliott with that mean */
	double burst;        /* mean burst length in packets (>= 1; 1 = independent losses) */
	double jitter_ms;    /* delay added to each packet: uniform in [0, jitter_ms], mean jitter_ms/2 */
	double reorder;      /* fraction of packets held back behind the next one(s) */
	double duplicate;    /* fraction of packets sent twice */
	double delay_ms;     /* fixed one-way delay added to every packet */
};

/* A packet picked for reordering is delayed by delay_ms + jitter_ms plus this much: later than
 * any packet that is not, so the next one overtakes it. */
#define IMPAIR_HOLD_MIN_NS 1000000ull
#define IMPAIR_HOLD_MAX_NS 3000000ull

/* Named profiles: "none", "good", "cell-edge", "handover". 0, or -ENOENT. */
int impair_profile(const char *name, struct impair_cfg *out);

/* Validate a configuration: 0, or -EINVAL with a reason in err. */
int impair_check(const struct impair_cfg *cfg, char *err, size_t errlen);

/* One generator per stream (so streams are independent and repeatable). */
struct impair {
	struct impair_cfg cfg;
	uint64_t rng[2]; /* xorshift128+ state */
	bool bad;        /* Gilbert-Elliott state */
	double p_gb, p_bg; /* transition probabilities good->bad, bad->good */
	uint64_t packets, lost, duplicated, reordered;
};

/* cfg must have passed impair_check. The seed goes through splitmix64 into the xorshift128+
 * state (0 is a good seed too); every packet takes the same number of draws, so for one seed the
 * loss pattern does not change with the jitter, reorder or duplicate settings. */
void impair_init(struct impair *im, const struct impair_cfg *cfg, uint64_t seed);

/* What happens to the next packet. The sender sends in order of due time, so jitter wider than the
 * spacing of two packets reorders them too, as netem's does; `reordered` counts only the packets
 * held back on purpose. */
struct impair_verdict {
	bool drop;
	unsigned copies;    /* 1, or 2 when duplicated (0 when dropped) */
	uint64_t delay_ns;  /* extra delay before sending (fixed delay + jitter + reorder hold) */
};

void impair_next(struct impair *im, struct impair_verdict *v);

/* A uniform double in [0, 1) from the generator (for callers that need more randomness). */
double impair_uniform(struct impair *im);

#endif
