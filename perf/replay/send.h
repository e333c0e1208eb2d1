/* caas-replay send: what its command line (send.c), its engine (send_stream.c), its sources
 * (send_media.c, send_pcap.c) and its report (send_report.c) share. Private to the sender. */
#ifndef CAAS_REPLAY_SEND_H
#define CAAS_REPLAY_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <jansson.h>

#include "impair.h"

#define SND_NS_PER_MS  1000000ull
#define SND_NS_PER_SEC 1000000000ull

#define SND_IP_UDP_HLEN 28 /* IPv4 + UDP headers; IPv6 takes 20 more */
#define SND_EXT_BLOCK   16 /* our element in a one-byte extension block: 4 + 1 + 8, padded */
#define SND_PKT_MAX     65536

/* A camera keeps about this much to answer NACKs with (caasd asks within ~1 s). */
#define SND_HIST_NS (2 * SND_NS_PER_SEC)
/* At most one keyframe out of turn per stream per this interval (caasd's default PLI pace). */
#define SND_KF_HOLDOFF_NS  (500 * SND_NS_PER_MS)
#define SND_SR_INTERVAL_NS SND_NS_PER_SEC
/* After its last packet a stream still answers NACKs this long (caasd: 3 tries ~40 ms apart). */
#define SND_LINGER_NS (500 * SND_NS_PER_MS)

/* --- sources ---------------------------------------------------------------------------------- */

/* snd_pkt.flags */
#define SND_F_MARKER   0x01
#define SND_F_PADDING  0x02 /* the payload ends with RTP padding: set P */
#define SND_F_AU_START 0x04 /* first packet of an access unit (a new RTP timestamp) */
#define SND_F_KEY      0x08 /* ...of a keyframe (IDR / IRAP) access unit */

/* One RTP packet of a flow, as the source gives it; the header is rebuilt per stream. */
struct snd_pkt {
	const uint8_t *payload; /* with padding, if any */
	const uint8_t *csrc;    /* n_csrc big-endian words, or NULL */
	const uint8_t *ext;     /* the original extension data (pcap), or NULL */
	uint64_t t_ns;          /* send time from the flow's first packet */
	int64_t ts;             /* RTP timestamp from the flow's first packet's send time */
	uint32_t seq_off;       /* pcap: extended sequence number from the flow's first */
	uint32_t len;
	uint16_t ext_len;
	uint16_t ext_profile;
	uint8_t pt;
	uint8_t n_csrc;
	uint8_t flags;
};

/* A sequence of packets that one stream replays (the clip, or one flow of a capture). */
struct snd_flow {
	struct snd_pkt *pkts;
	size_t n;
	uint32_t *keys; /* indices of SND_F_KEY packets, ascending */
	size_t n_keys;
	uint64_t loop_ns;  /* from the first packet to where the next pass starts */
	int64_t loop_ts;   /* the same in RTP clock units */
	uint32_t loop_seq; /* pcap: sequence numbers one pass uses (gaps included) */
	uint32_t clock;    /* RTP clock rate (pcap: estimated) */
	bool renumber;     /* number packets as they go (media) or keep the capture's gaps (pcap) */
	uint64_t bytes;    /* payload bytes in one pass */
	/* pcap: where the flow came from, and what the capture itself lacked */
	const char *codec; /* guessed from its parameter sets; NULL when unknown */
	char desc[192];
	uint32_t orig_ssrc;
	uint64_t capture_gaps, capture_dups;
};

enum snd_kind { SND_SRC_MEDIA, SND_SRC_PCAP };

struct snd_source {
	enum snd_kind kind;
	const char *codec; /* "h264", "h265"; NULL for a capture */
	char desc[192];    /* one line for the operator */
	struct snd_flow *flows;
	size_t n_flows;
	uint8_t *arena; /* every payload */
	size_t arena_len;
	uint64_t gop_ns;   /* mean keyframe interval; 0 when unknown */
	uint64_t frame_ns; /* mean frame interval (of the first flow) */
	uint64_t aus, keyframes;
	const char *skipped; /* what the file also held that we do not send (e.g. audio) */
	/* pcap: what was not taken */
	uint64_t frames, not_rtp, rtcp, fragments, short_flows;
};

/* max_payload: the packetizer's limit per RTP packet. 0, -ENOENT when the file does not exist
 * or cannot be read, -EINVAL when it is not H.264/H.265 video libavformat reads, -ENOMEM; the
 * reason is in err. */
int snd_media_open(const char *path, size_t max_payload, struct snd_source *src, char *err,
                   size_t errlen);

/* 0; -ENOTSUP when the file is not a capture libpcap reads (try libavformat next); -EINVAL
 * when it is one but holds no RTP over UDP we can replay; -ENOMEM. Reason in err. */
int snd_pcap_open(const char *path, struct snd_source *src, char *err, size_t errlen);

void snd_source_free(struct snd_source *src);

/* Grow-only byte buffer for loading: offsets stay valid, pointers only once loading is done. */
int snd_arena_put(struct snd_source *src, size_t *cap, const void *data, size_t len, size_t *off);

/* --- options ---------------------------------------------------------------------------------- */

#define SND_MAX_SRC_IPS 64

struct snd_opts {
	const char *to_str;
	struct sockaddr_storage to;
	socklen_t to_len;
	uint16_t port;
	const char *input;
	unsigned streams;  /* 0: one (media) or one per flow (pcap) */
	double duration_s; /* 0: once through */
	uint8_t pt;
	bool pt_set;
	unsigned mtu;
	const char *profile;
	struct impair_cfg impair;
	uint64_t seed;
	double rate_scale;
	double speed;
	double stagger_ms; /* < 0: default */
	struct sockaddr_storage src_ip[SND_MAX_SRC_IPS];
	unsigned n_src_ip;
	bool ext;
	const char *report;
	bool quiet;
};

/* --- streams ---------------------------------------------------------------------------------- */

struct snd_counters {
	uint64_t produced; /* distinct packets the camera made (first transmissions) */
	uint64_t packets_sent;
	uint64_t bytes_sent;    /* UDP payload: RTP header and payload */
	uint64_t payload_bytes; /* RTP payload of what was sent, for the SR's octet count */
	uint64_t dropped;       /* by the impairment, retransmissions included */
	uint64_t rtx_dropped;
	uint64_t duplicated;
	uint64_t reordered; /* sent after a higher sequence number had gone */
	uint64_t nacks;
	uint64_t nack_seqs;
	uint64_t retransmitted;
	uint64_t rtx_misses; /* asked for, but older than the history or never sent */
	uint64_t plis;
	uint64_t firs;
	uint64_t keyframes;
	uint64_t keyframes_forced;
	uint64_t loops;
	uint64_t sr_sent;
	uint64_t rtcp_received;
	uint64_t rtcp_malformed;
	uint64_t send_errors;
	uint64_t unstamped; /* could not carry the send time (a capture's foreign extension) */
};

/* One packet waiting for its due time: the first transmission, a duplicate or a retransmission. */
struct snd_out {
	uint64_t due;
	uint64_t order; /* FIFO among equal due times */
	uint32_t pkt;
	uint32_t ts;
	uint16_t seq;
	uint8_t flags;
};

#define SND_OUT_RTX 0x01
#define SND_OUT_DUP 0x02

struct snd_hist {
	uint64_t made_ns;
	uint32_t pkt;
	uint32_t ts;
	uint16_t seq;
	bool valid;
};

enum snd_state { SND_WAITING, SND_PRODUCING, SND_LINGERING, SND_DONE };

struct snd_stream {
	unsigned idx;
	uint64_t in_order_due; /* latest due time of a packet not held back for reordering */
	const struct snd_flow *flow;
	int fd_rtp, fd_rtcp;
	uint16_t sport;
	uint16_t dport;
	struct sockaddr_storage to_rtp, to_rtcp;
	socklen_t to_len;
	char cname[64];

	uint32_t ssrc;
	uint16_t seq;              /* next one (renumbered flows) */
	uint32_t seq_base;         /* pcap: added to the capture's offsets */
	int64_t ts_base;           /* added to the flow's (scaled) timestamps */
	int64_t base_ns;           /* CLOCK_MONOTONIC of the current pass's t = 0 */
	size_t cur;                /* next packet of the flow */
	uint64_t start_ns, end_ns; /* end_ns 0: once through */
	uint64_t linger_end_ns;
	enum snd_state state;
	struct impair im;

	struct snd_out *q; /* min-heap on (due, order) */
	size_t qn, qcap;
	uint64_t qorder;
	uint64_t retry_ns; /* the socket was full: try again then */

	struct snd_hist *hist;
	uint32_t hist_mask;

	bool any_sent;
	uint16_t max_seq_sent;
	uint64_t next_sr_ns;

	bool kf_pending;
	uint64_t last_kf_ns;
	bool have_fir_seq;
	uint8_t fir_seq;

	/* caasd's view, from its receiver reports about us */
	bool have_rr;
	uint8_t rr_fraction;
	int32_t rr_lost;
	uint32_t rr_jitter;
	int64_t rtt_us; /* < 0: unknown */

	struct snd_counters c;
};

/* The whole run. */
struct snd_ctx {
	const struct snd_opts *o;
	const struct snd_source *src;
	struct snd_stream *st;
	unsigned n;
	double tscale;       /* speed * rate_scale: source time per wall time */
	uint64_t stagger_ns; /* stream i starts about i times this after the first */
	bool spread_phase;   /* ...and at its own point in the frame interval */
	int epfd;
	bool progress;
	const char *stop_signal;
	uint64_t t0_ns, first_send_ns, last_send_ns, end_ns;
	/* how well the loop kept up: lateness of each packet against its due time, batching */
	uint64_t late_sum_ns, late_max_ns, late_over_1ms, sendmmsg_calls, wakeups;
	struct rusage ru0, ru1;
};

int snd_streams_open(struct snd_ctx *cx, char *err, size_t errlen);
/* The send loop, until every stream is done or a signal ends the run. 0 or a negative errno. */
int snd_run(struct snd_ctx *cx);
void snd_streams_close(struct snd_ctx *cx);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t snd_now_ns(void);

/* --- report ----------------------------------------------------------------------------------- */

json_t *snd_report_json(const struct snd_ctx *cx);
/* One line: what was sent, dropped, asked for and answered; CPU. */
void snd_summary(FILE *f, const struct snd_ctx *cx);
/* The live line, when stderr is a terminal. */
void snd_progress(FILE *f, const struct snd_ctx *cx, uint64_t now_ns);
void snd_totals(const struct snd_ctx *cx, struct snd_counters *t);

#endif
