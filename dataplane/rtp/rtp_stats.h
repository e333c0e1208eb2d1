/* Receive statistics for one RTP source (RFC 3550 Appendix A): sequence validation, loss,
 * jitter, duplicate and reorder detection, NACK gaps, and the report block we send about it. */
#ifndef CAAS_RTP_RTP_STATS_H
#define CAAS_RTP_RTP_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "rtcp.h"

/* RFC 3550 A.1 defaults. */
#define RTP_RX_DEF_MIN_SEQUENTIAL 2
#define RTP_RX_DEF_MAX_DROPOUT    3000
#define RTP_RX_DEF_MAX_MISORDER   100
/* A longer burst is an outage: a key frame request repairs it sooner than retransmission. */
#define RTP_RX_DEF_MAX_GAP 64

/* Sequence numbers remembered for duplicate detection; a power of two dividing 65536. */
#define RTP_RX_WINDOW 1024

struct rtp_rx_cfg {
	uint16_t min_sequential; /* sequential packets that validate a new source, >= 1 */
	uint16_t max_dropout;    /* a forward jump this large or larger is suspect, >= 2 */
	uint16_t max_misorder;   /* a packet this far behind or further is suspect, >= 1 */
	uint16_t max_gap_report; /* most missing numbers reported by one update */
};

#define RTP_RX_CFG_DEFAULT                                                                         \
	((struct rtp_rx_cfg){.min_sequential = RTP_RX_DEF_MIN_SEQUENTIAL,                          \
	                     .max_dropout = RTP_RX_DEF_MAX_DROPOUT,                                \
	                     .max_misorder = RTP_RX_DEF_MAX_MISORDER,                              \
	                     .max_gap_report = RTP_RX_DEF_MAX_GAP})

/* What one packet was. Only IN_ORDER, REORDERED and RESTART count as received. */
enum rtp_rx_class {
	RTP_RX_IN_ORDER,  /* the new highest number; a gap before it is in struct rtp_rx_gap */
	RTP_RX_REORDERED, /* behind the highest and not seen before: fills a hole */
	RTP_RX_DUPLICATE, /* seen before */
	RTP_RX_LATE,      /* behind the highest, but older than the window or than the first
	                   * packet counted, so whether it is a duplicate is unknown */
	RTP_RX_PROBATION, /* the source is not validated yet (A.1) */
	RTP_RX_RESTART,   /* second sequential packet after a large jump: statistics restart */
	RTP_RX_BAD,       /* a large jump, ignored unless the next packet follows it */
};

/* Sequence numbers missing before an RTP_RX_IN_ORDER packet, for NACK scheduling. */
struct rtp_rx_gap {
	uint16_t first;   /* first number to ask for */
	uint16_t count;   /* numbers to ask for, first..first+count-1; 0 when nothing is missing */
	uint16_t missing; /* the whole gap; more than count when it was capped to the newest ones */
};

/* Lifetime counters; unlike the loss figures, a restart does not reset them.
 * packets == received + duplicates + late + bad + probation. */
struct rtp_rx_counters {
	uint64_t packets;
	uint64_t received;
	uint64_t reordered; /* included in received */
	uint64_t duplicates;
	uint64_t late;
	uint64_t bad;
	uint64_t restarts; /* included in received */
	uint64_t probation;
};

/* State for one source; embed it in the stream, initialise with rtp_rx_init(). The fields are
 * private to rtp_stats.c: read them through rtp_rx_snapshot(). */
struct rtp_rx_stats {
	/* per packet */
	uint64_t ext_max;  /* extended highest sequence number; the low 16 bits are max_seq */
	uint64_t base;     /* extended number of the first packet counted */
	uint64_t received; /* since base, for loss */
	uint64_t jitter;   /* RFC 3550 A.8 estimate, scaled by 16 */
	uint32_t transit;  /* arrival - RTP timestamp of the last packet counted */
	uint32_t bad_seq;  /* the number that would confirm a jump; > 0xffff when none */
	uint16_t probation;
	bool started;
	bool valid;
	bool have_transit;
	uint16_t gap_cap;
	struct rtp_rx_cfg cfg;
	struct rtp_rx_counters cnt;
	uint64_t win[RTP_RX_WINDOW / 64]; /* bit n: number n mod RTP_RX_WINDOW was received */

	/* per report */
	uint64_t expected_prior;
	uint64_t received_prior;
	uint32_t sr_ntp_mid;
	uint64_t sr_arrival_ns;
	bool have_sr;
	uint8_t last_fraction;
	uint16_t last_loss_permille;
};

/* Everything an operator sees about the source. */
struct rtp_rx_snapshot {
	struct rtp_rx_counters cnt;
	bool valid;               /* out of probation; the figures below are 0 until then */
	uint32_t ext_highest_seq; /* as in the report block: cycles << 16 | highest */
	uint32_t cycles;
	uint64_t expected;     /* since the first packet counted, or the last restart */
	int64_t lost;          /* expected - received; not clamped */
	uint32_t jitter;       /* RTP clock units */
	uint8_t fraction_lost; /* of the interval ended by the last report, 8 fractional bits */
	uint16_t recent_loss_permille; /* the same interval, kept until the next report */
};

/* Reset for a new source (a new SSRC is a new source). cfg NULL means RTP_RX_CFG_DEFAULT.
 * -EINVAL when a limit is out of range or max_dropout + max_misorder exceeds 65536, which would
 * let a late packet pass for a wrap. */
int rtp_rx_init(struct rtp_rx_stats *s, const struct rtp_rx_cfg *cfg);

/*
 * Account for one packet: its sequence number, its RTP timestamp, and its arrival time in the
 * same clock units (rtp_ns_to_clock()). gap is always written: count is 0 unless the packet is
 * RTP_RX_IN_ORDER and numbers were skipped, and is capped to the newest max_gap_report numbers,
 * and below max_misorder since older retransmissions would be rejected as a jump.
 */
enum rtp_rx_class rtp_rx_update(struct rtp_rx_stats *s, uint16_t seq, uint32_t rtp_ts,
                                uint32_t arrival, struct rtp_rx_gap *gap);

/* Record a sender report from this source: the middle 32 bits of its NTP timestamp
 * (rtcp_ntp_mid32()) and when it arrived, on the clock later passed to rtp_rx_report(). */
void rtp_rx_sr(struct rtp_rx_stats *s, uint32_t ntp_mid, uint64_t arrival_ns);

/* Fill a report block about this source, naming it media_ssrc, and start a new interval for
 * fraction lost. -ENODATA while the source is on probation (nothing to report yet). */
int rtp_rx_report(struct rtp_rx_stats *s, uint32_t media_ssrc, uint64_t now_ns,
                  struct rtcp_rb *out);

void rtp_rx_snapshot(const struct rtp_rx_stats *s, struct rtp_rx_snapshot *out);

/* A nanosecond time in RTP clock units (floor), for arrival times; the caller keeps the low 32
 * bits. Splitting at the second keeps the fractional product below 2^64, where ns * rate would
 * overflow after about 2.4 days at 90 kHz; what is left only wraps modulo 2^64, so the low bits
 * are exact for any ns and rate. */
static inline uint64_t rtp_ns_to_clock(uint64_t ns, uint32_t clock_rate)
{
	return ns / 1000000000u * clock_rate + ns % 1000000000u * clock_rate / 1000000000u;
}

#endif
