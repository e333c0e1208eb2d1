/* caas-replay's impairment model: a seeded generator and, from it, each packet's loss, delay,
 * reordering and duplication; the named profiles and their validation. */
#include "impair.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define NS_PER_MS 1e6

/* Why these numbers: what a camera on a 5G uplink sees in each place. */
static const struct {
	const char *name;
	struct impair_cfg cfg;
} profiles[] = {
    /* The appliance alone, a baseline for the others (burst 1: no loss to group). */
    {"none", {.burst = 1}},
    /* Near the cell: rare isolated losses, a few ms of scheduling jitter. */
    {"good", {.loss = 0.001, .burst = 1, .jitter_ms = 5}},
    /* Weak signal: HARQ and RLC retransmissions add delay and jitter, short bursts are lost when
     * they give up, and a retransmission now and then arrives late or twice. */
    {"cell-edge",
     {.loss = 0.03,
      .burst = 4,
      .jitter_ms = 40,
      .reorder = 0.005,
      .duplicate = 0.001,
      .delay_ms = 30}},
    /* Moving between cells: fine most of the time, but rare outages of ~25 packets. */
    {"handover", {.loss = 0.02, .burst = 25, .jitter_ms = 20, .delay_ms = 20}},
};

int impair_profile(const char *name, struct impair_cfg *out)
{
	if (!name)
		return -ENOENT;
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		if (!strcmp(name, profiles[i].name)) {
			*out = profiles[i].cfg;
			return 0;
		}
	}
	return -ENOENT;
}

/* Written so that NaN fails too. */
static int check_range(const char *what, double v, double lo, double hi, char *err, size_t errlen)
{
	if (v >= lo && v <= hi)
		return 0;
	if (err && errlen)
		snprintf(err, errlen, "%s %g out of range [%g, %g]", what, v, lo, hi);
	return -EINVAL;
}

int impair_check(const struct impair_cfg *cfg, char *err, size_t errlen)
{
	/* Above 50% loss the stream is no longer a stream; beyond 10 s of delay the receiver's
	 * timeouts, not the network, decide what happens. */
	if (check_range("loss", cfg->loss, 0, 0.5, err, errlen) ||
	    check_range("burst", cfg->burst, 1, 1000, err, errlen) ||
	    check_range("jitter_ms", cfg->jitter_ms, 0, 10000, err, errlen) ||
	    check_range("reorder", cfg->reorder, 0, 0.5, err, errlen) ||
	    check_range("duplicate", cfg->duplicate, 0, 0.5, err, errlen) ||
	    check_range("delay_ms", cfg->delay_ms, 0, 10000, err, errlen))
		return -EINVAL;
	return 0;
}

/* splitmix64 only spreads the seed: xorshift128+ must not start from an all-zero state, and
 * nearby seeds (1, 2, 3...) must give unrelated streams. */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* xorshift128+ with Vigna's shifts 23, 18, 5: fast, 2^128 - 1 period, and its upper bits, the
 * only ones impair_uniform uses, pass BigCrush. */
static uint64_t next_u64(struct impair *im)
{
	uint64_t s1 = im->rng[0];
	const uint64_t s0 = im->rng[1];
	const uint64_t r = s0 + s1;

	im->rng[0] = s0;
	s1 ^= s1 << 23;
	im->rng[1] = s1 ^ s0 ^ (s1 >> 18) ^ (s0 >> 5);
	return r;
}

double impair_uniform(struct impair *im)
{
	return (double)(next_u64(im) >> 11) * 0x1.0p-53;
}

void impair_init(struct impair *im, const struct impair_cfg *cfg, uint64_t seed)
{
	memset(im, 0, sizeof(*im));
	im->cfg = *cfg;
	im->rng[0] = splitmix64(&seed);
	im->rng[1] = splitmix64(&seed);
	if (cfg->burst > 1) {
		/* Mean time in the bad state is 1/p_bg = burst; the stationary share of the bad
		 * state, p_gb / (p_gb + p_bg), is loss. impair_check keeps loss below 1. */
		im->p_bg = 1 / cfg->burst;
		im->p_gb = cfg->loss * im->p_bg / (1 - cfg->loss);
	}
	/* Start in the chain's stationary state, or the first outage would come late. */
	im->bad = impair_uniform(im) < cfg->loss;
}

/* Gilbert's channel: the bad state loses every packet and the good state none, so a run of
 * losses is a stay in the bad state (geometric, mean burst). burst 1 means independent losses,
 * whose runs average 1/(1 - loss). */
static bool lose(struct impair *im, double u)
{
	if (im->cfg.burst <= 1)
		return u < im->cfg.loss;
	im->bad = im->bad ? u >= im->p_bg : u < im->p_gb;
	return im->bad;
}

void impair_next(struct impair *im, struct impair_verdict *v)
{
	/* Every draw is taken whatever the outcome, so that one setting's randomness does not
	 * shift another's: the same seed loses the same packets with or without jitter. */
	double u_loss = impair_uniform(im);
	double u_jitter = impair_uniform(im);
	double u_reorder = impair_uniform(im);
	double u_hold = impair_uniform(im);
	double u_dup = impair_uniform(im);
	const struct impair_cfg *c = &im->cfg;
	double ns;

	im->packets++;
	if (lose(im, u_loss)) {
		im->lost++;
		v->drop = true;
		v->copies = 0;
		v->delay_ns = 0;
		return;
	}
	v->drop = false;
	v->copies = 1;
	if (u_reorder < c->reorder) {
		/* Beyond the most jitter can give the next packet, so it overtakes this one. */
		ns = c->jitter_ms * NS_PER_MS + IMPAIR_HOLD_MIN_NS +
		     (IMPAIR_HOLD_MAX_NS - IMPAIR_HOLD_MIN_NS) * u_hold;
		im->reordered++;
	} else {
		/* Uniform, as netem's default: the mean is jitter_ms/2 and the bound is hard, which
		 * a long-tailed law would not give. */
		ns = c->jitter_ms * NS_PER_MS * u_jitter;
	}
	v->delay_ns = (uint64_t)(c->delay_ms * NS_PER_MS + ns + 0.5);
	if (u_dup < c->duplicate) {
		v->copies = 2;
		im->duplicated++;
	}
}
