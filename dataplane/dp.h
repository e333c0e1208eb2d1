/* The dataplane's shared types: devices and their streams, subscribers, per-lcore state and the
 * control messages that change them. One lcore writes all of this; the control thread reads
 * counters without locks and changes state only through messages (dp_msg) applied between
 * bursts. */
#ifndef CAAS_DP_H
#define CAAS_DP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring.h>

#include "config.h"
#include "net/build.h"
#include "net/neigh.h"
#include "net/net.h"
#include "rtp/h26x.h"
#include "rtp/rtcp.h"
#include "rtp/rtp_stats.h"

#define DP_NAME_MAX 32
#define DP_HDR_ROOM 192 /* headers written in front of a fanned-out payload */

enum dp_codec { DP_H264, DP_H265, DP_OPUS, DP_PCMA, DP_PCMU, DP_AAC, DP_CODEC_COUNT };

const char *dp_codec_name(enum dp_codec c);
int dp_codec_parse(const char *name, enum dp_codec *out);
uint32_t dp_codec_default_clock(enum dp_codec c);

enum dp_stream_state { DP_STREAM_DOWN, DP_STREAM_UP, DP_STREAM_IDLE };
/* PAUSED: created, sends nothing. CATCHUP: fast start from the cached keyframe. LIVE: every
 * packet as it comes. WAIT_KF: waits for the stream's next keyframe (a rendition, which makes
 * one on demand). BRIDGE: gets the join bridge's fresh encode until the source's next keyframe,
 * then the source's own packets (see dp_transcode.h). */
enum dp_sub_state { DP_SUB_PAUSED, DP_SUB_CATCHUP, DP_SUB_LIVE, DP_SUB_WAIT_KF, DP_SUB_BRIDGE };

/* Counters a stream keeps; each has one writer, the dataplane lcore. */
struct dp_stream_stats {
	uint64_t packets, bytes; /* accepted RTP */
	uint64_t rtcp_in, sr_in; /* RTCP from the camera */
	uint64_t keyframes;
	uint64_t nacks_sent, nack_seqs_sent, plis_sent, rrs_sent;
	uint64_t recovered; /* holes filled after a NACK */
	uint64_t wrong_pt, wrong_ssrc, malformed, duplicates, late, ssrc_changes;
	uint64_t cache_evicted_kf; /* fast-start cache lost its keyframe to the byte bound */
	uint64_t talkback_out, talkback_no_camera; /* experts' voice sent to the camera, or not */
	uint64_t tc_queued, tc_ring_drops; /* packets handed to its transcode worker, or refused */
	uint64_t bridge_joins;             /* subscribers started through the join bridge */
};

struct dp_sub_stats {
	uint64_t packets, bytes, fast_start_packets;
	uint64_t nacks_in, retransmits, nack_misses, plis_in, firs_in, rr_in;
	uint64_t dropped_no_mbuf, dropped_unresolved, dropped_tx;
	uint64_t talkback_in;    /* the expert's voice, forwarded to the camera */
	uint64_t talkback_out;   /* the other participants' voices sent to it */
	uint64_t bridge_packets; /* join bridge packets sent to it */
};

struct dp_nack {
	uint16_t seq;
	uint8_t tries;
	uint64_t next_ns;
};
#define DP_NACK_MAX 128

struct dp_stream;

/* One expert receiving a stream. The control thread fills the identity; the rest is the
 * dataplane's. */
struct dp_sub {
	uint32_t id;
	struct dp_stream *st;
	struct net_addr to;
	uint16_t to_port, rtcp_port;
	uint16_t talk_from_port; /* its voice comes from to:talk_from_port (0: none) */
	uint16_t talk_to_port;   /* it hears the others' voices at to:talk_to_port (0: none) */
	uint64_t first_ns;       /* dataplane's: when its first packet went out */
	enum dp_sub_state state; /* dataplane's; control reads */
	uint32_t ssrc;           /* ours, towards this expert */
	uint16_t seq_off;        /* out = in + off (16-bit) */
	uint32_t ts_off;
	uint16_t last_out_seq;
	uint32_t last_out_ts;
	bool started;
	uint64_t cursor; /* fast start: next extended seq to send from the cache */
	int64_t credit;  /* fast start: bytes it may send now */
	uint64_t credit_ns;
	uint32_t src_gen; /* the stream's src_gen its offsets were computed for */
	uint64_t last_pli_fwd_ns;
	uint64_t last_sr_ns;
	bool splice;          /* next source packet: carry our numbering on from the bridge */
	bool bridge_wait_idr; /* bridging, waiting for the bridge's IDR */
	bool bridged;         /* it joined through the bridge: NACKs before live_seq miss */
	uint16_t live_seq;    /* our first sequence number of the source's own packets */
	struct net_tmpl tmpl; /* our headers towards it, dst MAC patched per packet */
	struct net_addr nh;   /* its next hop */
	int32_t neigh_idx;    /* cached neighbour entry, -1 when none */
	uint32_t neigh_gen;
	uint32_t rtt_us;
	uint8_t fraction_lost;
	int32_t cumulative_lost;
	struct dp_sub_stats stats;
};

struct dp_stream {
	struct dp_dev *dev;
	struct rtp_rx_stats rx;
	bool have_ssrc;
	uint32_t ssrc;
	uint32_t src_gen; /* bumped when the source changes; subscribers re-base */
	/* where the camera sends from, for RTCP back */
	struct net_addr cam;
	uint16_t cam_port;
	uint32_t teid; /* GTP-U tunnel it arrived in, 0 when plain */
	bool via_gtpu;
	/* extended sequence numbering for the cache */
	uint64_t ext_max;
	uint16_t last_seq;
	uint32_t last_ts;
	uint64_t au_start; /* extended seq of the first packet of the current timestamp */
	/* packet cache, for NACK answers and fast start: slot ext & mask holds an mbuf whose data
	 * starts at its RTP header, or NULL for a hole */
	struct rte_mbuf **cache;
	uint32_t cache_mask;
	uint64_t cache_head; /* extended seq after the newest cached */
	uint64_t cache_tail; /* oldest extended seq that may be cached */
	uint64_t cache_bytes;
	uint64_t kf_start; /* extended seq where the cached keyframe's access unit starts */
	bool kf_valid;
	uint32_t kf_ts;
	uint32_t pkt_rate; /* packets in the last second, to size the NACK window */
	uint32_t pkt_count_1s;
	uint64_t rate_ns;
	/* parameter sets for SDP (seqlock: odd while being written) */
	atomic_uint ps_gen;
	uint16_t ps_len[H26X_PS_COUNT];
	uint8_t ps[H26X_PS_COUNT][256];
	/* RTCP state */
	uint64_t next_rr_ns;
	uint64_t last_pli_ns;
	uint64_t last_rx_ns;
	uint32_t sr_ntp_mid;
	bool pli_pending;
	struct dp_nack nacks[DP_NACK_MAX];
	uint16_t n_nacks;
	uint32_t rtt_us;
	/* subscribers */
	struct dp_sub **subs;
	uint16_t n_subs;
	struct dp_stream_stats stats;
};

#define DP_MAX_RENDS 7 /* rendition streams per source stream (one more slot is the bridge) */

struct dp_tc_sess;
struct dp_tc_out;

/* A registered device: an ingest listener and its stream; or (virt) a rendition of another
 * device's stream, fed by a transcode worker. */
struct dp_dev {
	char name[DP_NAME_MAX + 1];
	uint16_t port, rtcp_port;
	uint16_t talkback_port; /* the camera's port for the experts' voice; 0: no talk-back */
	enum dp_codec codec;
	uint8_t pt;
	uint32_t clock;
	struct net_addr src; /* with src_plen, the allowed sources */
	uint8_t src_plen;
	bool src_any;
	bool ssrc_set;
	uint32_t ssrc;
	bool rtcp_mux;
	/* recording: the handle is the control thread's, the flag says whether the dataplane
	 * queues this device's packets to the recorder */
	struct dp_rec_handle *rec;
	atomic_bool rec_on;
	uint64_t rec_dropped; /* dataplane's: packets the full recorder ring refused */
	/* written by the control thread only */
	char ctl_state[8];   /* the stream state the last event said */
	bool ctl_loss_high;  /* recent loss above [mgmt] loss_event_pct, as an event said */
	uint64_t ctl_sealed; /* chunks sealed, as the last event said */
	double ctl_kbps;
	uint64_t ctl_last_bytes;
	uint64_t ctl_kf_seen, ctl_kf_ns; /* keyframes counted, and when the count last moved */
	uint32_t ctl_gop_ms;             /* the time between the last two keyframes seen */
	uint32_t ctl_nsubs;              /* subscriptions, its renditions' too (ctl_tc_tick) */
	/* transcoding */
	bool virt;                /* a rendition: no port of its own, packets from a worker */
	struct dp_dev *parent;    /* virt: the source device */
	struct dp_tc_out *tc_out; /* virt: the worker's output that feeds it */
	struct dp_tc_sess *tc;    /* dataplane's: the transcode session fed from this stream */
	struct dp_dev *rends[DP_MAX_RENDS]; /* dataplane's: linked rendition devices */
	uint8_t n_rends;
	struct dp_stream st;
};

/* Drops that belong to no stream, by reason. */
struct dp_port_stats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t rx_bursts, idle_loops;
	uint64_t drop_l2, drop_l3, drop_l4, drop_fragment, drop_not_ours, drop_unknown_port;
	uint64_t drop_unknown_source, accepted_unknown, drop_malformed_rtp, drop_malformed_rtcp,
	    drop_gtpu;
	uint64_t drop_tx_full, drop_no_mbuf, drop_neigh_queue, drop_unresolved;
	uint64_t arp_in, arp_replies, icmp_echo, nd_in, nd_adverts, icmp6_echo, gtpu_echo;
	uint64_t ctl_msgs;
	uint64_t rec_queued, drop_rec_full; /* packets handed to the recorder, or refused by it */
};

/* The drop counters of struct dp_port_stats by reason, in the order status shows them: one table
 * for status, the metrics page and telemetry. */
struct dp_stat_name {
	const char *name;
	size_t off; /* of a uint64_t in struct dp_port_stats */
};
extern const struct dp_stat_name dp_port_drops[];
extern const size_t dp_n_port_drops;

static inline uint64_t dp_port_stat(const struct dp_port_stats *s, const struct dp_stat_name *n)
{
	return *(const uint64_t *)((const char *)s + n->off);
}

/* One entry of the dataplane -> recorder ring: a packet (the mbuf holds a reference for the
 * recorder, which frees it) or, with m NULL, a control operation. 32 bytes. */
struct dp_rec_item {
	struct rte_mbuf *m;
	struct dp_rec_handle *h;
	union {
		uint64_t t_ns;            /* a packet: arrival, CLOCK_MONOTONIC */
		struct dp_rec_call *call; /* an operation: where the recorder answers */
	};
	uint32_t off; /* where the packet starts, from m->buf_addr */
	uint16_t len;
	uint8_t type;  /* REC_JNL_T_RTP, REC_JNL_T_RTCP; or a DP_REC_OP_* with m NULL */
	uint8_t flags; /* REC_JNL_F_* */
};

#define DP_REC_BATCH 64

enum dp_msg_type {
	DP_MSG_DEV_ADD,
	DP_MSG_DEV_DEL,
	DP_MSG_SUB_ADD,
	DP_MSG_SUB_DEL,
	DP_MSG_SUB_RESUME,
	DP_MSG_TUNE,
	DP_MSG_TC_ATTACH, /* dev's packets go to msg->tc from now on (cached ones first) */
	DP_MSG_TC_DETACH, /* no more */
	DP_MSG_TC_DRAIN,  /* take every packet the workers have made */
};

/* A request from the control thread; the dataplane answers by sending the same message back
 * on the reply ring with rc set. Ownership of what it names passes as the type says. */
struct dp_msg {
	enum dp_msg_type type;
	int rc;
	struct dp_dev *dev;
	struct dp_sub *sub;
	uint32_t u32;   /* DP_MSG_TUNE: the new value */
	size_t cfg_off; /* DP_MSG_TUNE: where in struct caas_config; SIZE_MAX: idle sleep only */
	bool cfg_bool;  /* DP_MSG_TUNE: a bool there, else a uint32_t */
	struct dp_tc_sess *tc; /* DP_MSG_TC_ATTACH */
};

/* Everything the dataplane lcore owns. Cache-aligned: the hot loop touches only this. */
struct dp_ctx {
	const struct caas_config *cfg;
	uint16_t port_id;
	uint16_t queue;
	bool multiseg_tx; /* header mbuf + attached payload chains can be sent */
	struct rte_ether_addr mac;
	struct rte_mempool *pool;     /* rx and copies */
	struct rte_mempool *hdr_pool; /* header mbufs for zero-copy fan-out */
	struct rte_ring *ctl_ring, *reply_ring;
	struct rte_eth_dev_tx_buffer *txb;
	struct dp_dev **by_port; /* UDP port -> device (RTP and, without mux, RTCP) */
	struct dp_dev **devs;    /* every linked device, for timers */
	uint32_t n_devs;
	struct net_neigh_table neigh;
	struct net_iface ifc; /* our addresses, for the responders and templates */
	uint64_t now_ns;
	uint64_t next_tick_ns;
	uint64_t neigh_tick_ns;
	uint32_t idle_sleep_us;
	uint16_t ip_id;
	uint32_t rand;
	struct dp_port_stats stats;
	struct rte_ring *rec_ring; /* to the recorder thread; NULL when recording is off */
	uint16_t n_rec;
	struct dp_rec_item rec_batch[DP_REC_BATCH];
	struct dp_transcoder *tc; /* transcode workers; NULL when [transcode] workers = 0 */
	volatile bool *quit;
} __rte_cache_aligned;

/* dp_port.c: mempools, queues, rings and tables for port pid; err says what failed. */
int dp_port_setup(struct dp_ctx *dp, const struct caas_config *cfg, uint16_t pid, char *err,
                  size_t len);

/* dp_loop.c */
int dp_main(void *arg); /* the lcore entry point; arg is the struct dp_ctx */
/* One turn of the loop: control messages, a receive burst, TX flush, timers when due.
 * Returns the work done (packets + messages), 0 when idle. */
unsigned dp_poll_once(struct dp_ctx *dp);
void dp_apply_msg(struct dp_ctx *dp, struct dp_msg *msg);

/* dp_l2.c: our own L2/L3 on the port */
int dp_l2_init(struct dp_ctx *dp);
void dp_tx(struct dp_ctx *dp, struct rte_mbuf *m);
/* Whether the subscriber's next hop is resolved; if not, resolution is started (or goes on). */
bool dp_sub_l2_ready(struct dp_ctx *dp, struct dp_sub *sub);
/* Prepare a subscriber's header template and next hop. -ENETUNREACH, -EADDRNOTAVAIL. */
int dp_sub_l2_init(struct dp_ctx *dp, struct dp_sub *sub);
/* Send a frame whose Ethernet header lacks only the destination MAC: resolve the next hop of
 * 'to', hold the frame while resolution is pending (bounded, counted). Consumes m. */
void dp_output(struct dp_ctx *dp, struct rte_mbuf *m, const struct net_addr *to);
/* The same for a subscriber, with its next hop and neighbour entry cached. */
void dp_output_sub(struct dp_ctx *dp, struct dp_sub *sub, struct rte_mbuf *m);
/* A small UDP datagram (RTCP) from our address. */
void dp_send_udp(struct dp_ctx *dp, const struct net_addr *to, uint16_t sport, uint16_t dport,
                 const void *payload, size_t len);
/* ARP, ICMP echo, ND, ICMPv6 echo (parsed as p). Consumes m. */
void dp_l2_control(struct dp_ctx *dp, struct rte_mbuf *m, const struct net_pkt *p);
/* Neighbour ageing and resolution retries, once a millisecond. */
void dp_l2_tick(struct dp_ctx *dp);

/* dp_rx.c */
void dp_input(struct dp_ctx *dp, struct rte_mbuf *m);

/* dp_record.c: the dataplane's side of recording */
/* Queue a reference to m's bytes [off, off+len) for the device's recorder; a full ring is a
 * counted drop. Does not consume m. */
void dp_rec_queue(struct dp_ctx *dp, struct dp_dev *dev, struct rte_mbuf *m, uint32_t off,
                  uint32_t len, uint8_t type, uint8_t flags);
/* Hand the batch to the ring; at the end of every poll. */
void dp_rec_flush(struct dp_ctx *dp);

/* dp_call.c: an operation for a thread fed by ring (the recorder, a transcode worker), from
 * the control thread: enqueue item (esize bytes), waiting for room, then wait until the thread
 * sets *done; 1 ms steps, wait_ms at most each. 0, -EBUSY (the ring stayed full) or -ETIMEDOUT
 * (no answer: the thread still owns what the item points to, so the caller must not free it);
 * err names who. */
int dp_ring_call(struct rte_ring *ring, void *item, unsigned esize, atomic_bool *done,
                 unsigned wait_ms, const char *who, char *err, size_t errlen);

/* dp_stream.c */
void dp_stream_init(struct dp_ctx *dp, struct dp_dev *dev);
void dp_stream_release(struct dp_ctx *dp, struct dp_stream *st);
/* m's data starts at the RTP header; the stream takes the mbuf (frees or keeps it). */
void dp_stream_rtp(struct dp_ctx *dp, struct dp_stream *st, struct rte_mbuf *m,
                   const struct net_addr *src, uint16_t sport);
void dp_stream_rtcp(struct dp_ctx *dp, struct dp_stream *st, const uint8_t *buf, size_t len,
                    const struct net_addr *src, uint16_t sport);
void dp_stream_tick(struct dp_ctx *dp, struct dp_stream *st);
/* An RTP datagram (payload at off..off+len of m) on the device's port: when it comes from a
 * subscriber's talk-back port, forward it to the camera and return true (m is not consumed). */
bool dp_stream_talkback(struct dp_ctx *dp, struct dp_stream *st, struct rte_mbuf *m, uint32_t off,
                        uint32_t len, const struct net_addr *src, uint16_t sport);
void dp_stream_request_keyframe(struct dp_ctx *dp, struct dp_stream *st);

/* dp_fanout.c */
int dp_sub_attach(struct dp_ctx *dp, struct dp_sub *sub);
void dp_sub_detach(struct dp_ctx *dp, struct dp_sub *sub);
void dp_sub_resume(struct dp_ctx *dp, struct dp_sub *sub);
/* Send one accepted RTP packet (see struct dp_rtp_meta) to every live subscriber. m is not
 * consumed: each chained copy holds its own reference. */
void dp_fanout(struct dp_ctx *dp, struct dp_stream *st, struct rte_mbuf *m);
void dp_sub_tick(struct dp_ctx *dp, struct dp_sub *sub);
void dp_sub_rtcp(struct dp_ctx *dp, struct dp_sub *sub, const uint8_t *buf, size_t len);

/* The cached packet with extended sequence number ext, or NULL. Its data is the payload;
 * dp_rtp_hdr() gives the header. */
struct rte_mbuf *dp_cache_get(const struct dp_stream *st, uint64_t ext);

#define DP_MS 1000000ull /* one millisecond in ns */

/* CLOCK_MONOTONIC in ns: the dataplane's and the control thread's clock (vDSO, no syscall). */
static inline uint64_t dp_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A round trip from a report block about one of our SSRCs (LSR/DLSR against the wall clock
 * now); *rtt_us is left alone when the block carries none. */
void dp_rtt_update(uint32_t *rtt_us, const struct rtcp_rb *rb);

/* What the dataplane keeps in an accepted RTP mbuf (a dynamic field): its data window is the
 * RTP payload, the header lies just before it, so fan-out can chain the very same mbuf behind
 * each subscriber's headers. */
struct dp_rtp_meta {
	uint32_t ext;     /* low 32 bits of the extended sequence number */
	uint16_t hdr_len; /* RTP header bytes in front of the data window */
};

extern int dp_rtp_meta_off;

static inline struct dp_rtp_meta *dp_meta(struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, dp_rtp_meta_off, struct dp_rtp_meta *);
}

/* The RTP header of an accepted packet. */
static inline uint8_t *dp_rtp_hdr(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod(m, uint8_t *) - dp_meta(m)->hdr_len;
}

#endif
