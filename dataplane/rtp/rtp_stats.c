/* Per-source RTP receive statistics (RFC 3550 A.1, A.3, A.8) with a duplicate window. */
#include "rtp_stats.h"

#include <errno.h>
#include <string.h>

#define SEQ_MOD      65536u
#define NO_BAD_SEQ   (SEQ_MOD + 1) /* never equal to a 16-bit number */
#define NS_PER_SEC   1000000000u
#define WIN_MASK     (RTP_RX_WINDOW - 1u)
#define MAX_CUM_LOST 0x7fffff
#define MIN_CUM_LOST (-0x800000)

_Static_assert(RTP_RX_WINDOW % 64 == 0 && SEQ_MOD % RTP_RX_WINDOW == 0,
               "window must be whole words and divide the sequence space");

static inline bool win_test(const struct rtp_rx_stats *s, uint64_t ext)
{
	uint32_t bit = (uint32_t)ext & WIN_MASK;
	return s->win[bit / 64] >> (bit % 64) & 1;
}

static inline void win_set(struct rtp_rx_stats *s, uint64_t ext)
{
	uint32_t bit = (uint32_t)ext & WIN_MASK;
	s->win[bit / 64] |= 1ull << (bit % 64);
}

/* Forget the n numbers after ext: they were skipped, so a later copy of one is a reorder, not a
 * duplicate. Word at a time, so a gap costs at most one pass over the window. */
static void win_clear_after(struct rtp_rx_stats *s, uint64_t ext, uint32_t n)
{
	if (n >= RTP_RX_WINDOW) {
		memset(s->win, 0, sizeof(s->win));
		return;
	}
	uint32_t bit = ((uint32_t)ext + 1) & WIN_MASK;
	while (n) {
		uint32_t off = bit % 64;
		uint32_t take = 64 - off < n ? 64 - off : n;
		uint64_t mask = (take == 64 ? ~0ull : (1ull << take) - 1) << off;
		s->win[bit / 64] &= ~mask;
		bit = (bit + take) & WIN_MASK;
		n -= take;
	}
}

/* RFC 3550 init_seq(): seq becomes the first packet counted. Jitter is kept, but the sender's
 * timestamp base may have changed with its sequence numbers, so the transit is not. */
static void init_seq(struct rtp_rx_stats *s, uint16_t seq)
{
	s->base = seq;
	s->ext_max = seq;
	s->bad_seq = NO_BAD_SEQ;
	s->received = 0;
	s->received_prior = 0;
	s->expected_prior = 0;
	s->have_transit = false;
	memset(s->win, 0, sizeof(s->win));
	win_set(s, seq);
}

int rtp_rx_init(struct rtp_rx_stats *s, const struct rtp_rx_cfg *cfg)
{
	struct rtp_rx_cfg c = cfg ? *cfg : RTP_RX_CFG_DEFAULT;

	if (c.min_sequential < 1 || c.max_dropout < 2 || c.max_misorder < 1 ||
	    (uint32_t)c.max_dropout + c.max_misorder > SEQ_MOD)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->cfg = c;
	s->probation = c.min_sequential;
	s->bad_seq = NO_BAD_SEQ;
	/* A retransmission is only accepted while it is within max_misorder of the highest number,
	 * and is only told from a duplicate inside the window. */
	uint32_t cap = c.max_gap_report;
	if (cap > c.max_misorder - 1u)
		cap = c.max_misorder - 1u;
	if (cap > RTP_RX_WINDOW - 1u)
		cap = RTP_RX_WINDOW - 1u;
	s->gap_cap = (uint16_t)cap;
	return 0;
}

/* RFC 3550 A.1 probation: max_seq holds the last number seen, counting starts once
 * min_sequential numbers have followed one another. */
static enum rtp_rx_class probation(struct rtp_rx_stats *s, uint16_t seq)
{
	if (!s->started) {
		s->started = true;
		s->ext_max = (uint16_t)(seq - 1);
	}
	if (seq == (uint16_t)(s->ext_max + 1)) {
		s->probation--;
		s->ext_max = seq;
		if (s->probation == 0) {
			init_seq(s, seq);
			s->valid = true;
			return RTP_RX_IN_ORDER;
		}
	} else {
		s->probation = s->cfg.min_sequential - 1;
		s->ext_max = seq;
	}
	return RTP_RX_PROBATION;
}

/* RFC 3550 A.8, in its integer form: jitter is kept scaled by 16. */
static void update_jitter(struct rtp_rx_stats *s, uint32_t rtp_ts, uint32_t arrival)
{
	uint32_t transit = arrival - rtp_ts;
	if (s->have_transit) {
		int32_t d = (int32_t)(transit - s->transit);
		uint32_t ad = d < 0 ? 0u - (uint32_t)d : (uint32_t)d;
		s->jitter += ad - ((s->jitter + 8) >> 4);
	}
	s->transit = transit;
	s->have_transit = true;
}

static void report_gap(const struct rtp_rx_stats *s, uint16_t seq, uint16_t udelta,
                       struct rtp_rx_gap *gap)
{
	uint16_t missing = (uint16_t)(udelta - 1);
	uint16_t count = missing < s->gap_cap ? missing : s->gap_cap;

	gap->missing = missing;
	gap->count = count;
	gap->first = (uint16_t)(seq - count);
}

enum rtp_rx_class rtp_rx_update(struct rtp_rx_stats *s, uint16_t seq, uint32_t rtp_ts,
                                uint32_t arrival, struct rtp_rx_gap *gap)
{
	enum rtp_rx_class cls;

	gap->first = 0;
	gap->count = 0;
	gap->missing = 0;
	s->cnt.packets++;

	if (s->probation) {
		cls = probation(s, seq);
		if (cls == RTP_RX_PROBATION) {
			s->cnt.probation++;
			return cls;
		}
		goto counted;
	}

	uint16_t udelta = (uint16_t)(seq - (uint16_t)s->ext_max);
	if (udelta < s->cfg.max_dropout) {
		if (udelta == 0) {
			s->cnt.duplicates++;
			return RTP_RX_DUPLICATE;
		}
		win_clear_after(s, s->ext_max, udelta);
		if (udelta > 1)
			report_gap(s, seq, udelta, gap);
		/* Adding the distance counts a wrap of the 16-bit number as the RFC's cycles. */
		s->ext_max += udelta;
		win_set(s, s->ext_max);
		cls = RTP_RX_IN_ORDER;
	} else if (udelta <= SEQ_MOD - s->cfg.max_misorder) {
		if (seq != s->bad_seq) {
			s->bad_seq = (uint16_t)(seq + 1);
			s->cnt.bad++;
			return RTP_RX_BAD;
		}
		/* Two sequential packets after a jump: the sender restarted without telling us. */
		init_seq(s, seq);
		s->cnt.restarts++;
		cls = RTP_RX_RESTART;
	} else {
		uint32_t behind = SEQ_MOD - udelta;
		uint64_t ext = s->ext_max - behind;

		/* The RFC counts these too; we cannot tell them from duplicates, and a duplicate
		 * must not cancel a loss, nor a packet from before base push loss below zero. */
		if (behind >= RTP_RX_WINDOW || behind > s->ext_max - s->base) {
			/* Without probation nothing before base was ever seen, so a packet there that
			 * comes within the first max_misorder is one the network let others overtake
			 * (a new flow's first packets race the sender's ARP): it moves base back. */
			uint64_t before = behind - (s->ext_max - s->base);
			if (s->cfg.min_sequential == 1 && behind < RTP_RX_WINDOW &&
			    behind <= s->ext_max && before < s->cfg.max_misorder &&
			    s->received < s->cfg.max_misorder && !win_test(s, ext)) {
				s->base = ext;
				win_set(s, ext);
				s->cnt.reordered++;
				cls = RTP_RX_REORDERED;
				goto counted;
			}
			s->cnt.late++;
			return RTP_RX_LATE;
		}
		if (win_test(s, ext)) {
			s->cnt.duplicates++;
			return RTP_RX_DUPLICATE;
		}
		win_set(s, ext);
		s->cnt.reordered++;
		cls = RTP_RX_REORDERED;
	}

counted:
	s->received++;
	s->cnt.received++;
	update_jitter(s, rtp_ts, arrival);
	return cls;
}

void rtp_rx_sr(struct rtp_rx_stats *s, uint32_t ntp_mid, uint64_t arrival_ns)
{
	s->sr_ntp_mid = ntp_mid;
	s->sr_arrival_ns = arrival_ns;
	s->have_sr = true;
}

/* Nanoseconds as 1/65536 s, saturating: DLSR has 32 bits, about 18 hours. */
static uint32_t ns_to_q16(uint64_t ns)
{
	uint64_t sec = ns / NS_PER_SEC;
	if (sec >= 65536)
		return UINT32_MAX;
	return (uint32_t)(sec << 16 | ((ns % NS_PER_SEC) << 16) / NS_PER_SEC);
}

/* The RFC reports its estimate divided by 16. |D| <= 2^31 keeps the scaled value at most
 * 16 * 2^31 + 7, hence 64 bits for it and 32 for the result. */
static uint32_t jitter_units(const struct rtp_rx_stats *s)
{
	return (uint32_t)(s->jitter >> 4);
}

int rtp_rx_report(struct rtp_rx_stats *s, uint32_t media_ssrc, uint64_t now_ns, struct rtcp_rb *out)
{
	if (!s->valid)
		return -ENODATA;

	/* RFC 3550 A.3 */
	uint64_t expected = s->ext_max - s->base + 1;
	int64_t lost = (int64_t)expected - (int64_t)s->received;
	uint64_t expected_interval = expected - s->expected_prior;
	int64_t received_interval = (int64_t)(s->received - s->received_prior);
	int64_t lost_interval = (int64_t)expected_interval - received_interval;
	s->expected_prior = expected;
	s->received_prior = s->received;

	uint32_t fraction = 0, permille = 0;
	if (expected_interval && lost_interval > 0) {
		fraction = (uint32_t)(((uint64_t)lost_interval << 8) / expected_interval);
		permille = (uint32_t)((uint64_t)lost_interval * 1000 / expected_interval);
	}
	/* Every packet that raises expected is received, so all-lost (256) cannot happen; the
	 * clamp only keeps the field honest if that ever changes. */
	s->last_fraction = (uint8_t)(fraction > 255 ? 255 : fraction);
	s->last_loss_permille = (uint16_t)(permille > 1000 ? 1000 : permille);

	if (lost > MAX_CUM_LOST)
		lost = MAX_CUM_LOST;
	else if (lost < MIN_CUM_LOST)
		lost = MIN_CUM_LOST;

	out->ssrc = media_ssrc;
	out->fraction_lost = s->last_fraction;
	out->cumulative_lost = (int32_t)lost;
	out->ext_highest_seq = (uint32_t)s->ext_max;
	out->jitter = jitter_units(s);
	out->lsr = 0;
	out->dlsr = 0;
	if (s->have_sr) {
		out->lsr = s->sr_ntp_mid;
		if (now_ns > s->sr_arrival_ns)
			out->dlsr = ns_to_q16(now_ns - s->sr_arrival_ns);
	}
	return 0;
}

void rtp_rx_snapshot(const struct rtp_rx_stats *s, struct rtp_rx_snapshot *out)
{
	memset(out, 0, sizeof(*out));
	out->cnt = s->cnt;
	out->valid = s->valid;
	if (!s->valid)
		return;
	out->ext_highest_seq = (uint32_t)s->ext_max;
	out->cycles = (uint32_t)(s->ext_max >> 16);
	out->expected = s->ext_max - s->base + 1;
	out->lost = (int64_t)out->expected - (int64_t)s->received;
	out->jitter = jitter_units(s);
	out->fraction_lost = s->last_fraction;
	out->recent_loss_permille = s->last_loss_permille;
}
