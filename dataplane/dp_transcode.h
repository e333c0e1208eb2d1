/* Transcoding in caasd: worker threads, outside the dataplane lcores, that decode a stream
 * once and encode its renditions (media/transcode.h does the codec work).
 *
 * The dataplane hands each worker references to the accepted RTP packets of the streams it
 * transcodes, over an rte_ring it never waits on (a full ring is a counted drop). The worker
 * depacketizes, decodes, scales and encodes, packetizes each rendition with the project's
 * packetizer into mbufs of its own pool, and hands them back over a second ring. The dataplane
 * takes them as the packets of a rendition's stream (a virtual device with its own cache,
 * subscribers, NACK answers and sender reports), or, for the join bridge, sends them to the
 * source's subscribers that are bridging.
 *
 * A worker that falls behind decodes without encoding (frames skipped, counted per rendition),
 * and far behind drops access units until the next keyframe: the dataplane never waits and the
 * passthrough subscribers lose nothing.
 *
 * Join bridge: while a stream's decoder is kept current (see [transcode] join_bridge), a
 * passthrough subscriber who joins long after the cached keyframe gets a fresh IDR of the last
 * decoded picture at once, encoded frames after it, and at the source's next keyframe the
 * camera's own packets, its numbering carried on without a break (dp_fanout.c). */
#ifndef CAAS_DP_TRANSCODE_H
#define CAAS_DP_TRANSCODE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dp.h"
#include "media/transcode.h"
#include "rtp/h26x.h"
#include "rtp/reorder.h"

#define DP_TC_PAYLOAD 1200 /* RTP payload bytes per packet the workers make */

/* Output flags, with each packet a worker hands back. */
#define DP_TC_F_KF_START 1u /* the first packet of a keyframe's access unit */

/* One output of a session: a rendition's stream, or the join bridge. The control thread fills
 * the identity; the worker owns the encoder side; idr_req and want are the dataplane's way to
 * ask. */
struct dp_tc_out {
	struct dp_tc_sess *sess;
	struct dp_dev *vdev; /* the rendition's stream; NULL for the bridge */
	char rendition[DP_NAME_MAX + 1];
	struct tc_rendition_spec spec;
	char encoder[32];
	uint8_t pt;
	/* the worker's */
	int rid; /* in the tc session, -1 while there is none */
	bool active;
	uint32_t ssrc;
	uint16_t seq;
	struct h26x_pack pack;
	/* asked by the dataplane */
	atomic_bool idr_req; /* a subscriber needs a keyframe */
	atomic_bool want;    /* the bridge: someone is bridging */
	/* the worker's counters */
	uint64_t frames, packets, bytes, no_mbuf, ring_full, bridges;
	struct tc_stats tc; /* a copy, refreshed by the worker about once a second */
};

/* A transcode session: one source stream on one worker. */
struct dp_tc_sess {
	struct dp_dev *src;
	unsigned worker;
	enum tc_codec codec;
	struct dp_tc_out bridge;
	/* the worker's */
	struct tc_session *tc;
	struct rtp_reorder ro; /* packets back in sequence order for the depacketizer */
	struct h26x_depkt depkt;
	uint8_t *depkt_mem;
	bool open;
	bool wait_kf; /* fell far behind: access units are dropped until a keyframe */
	bool have_ts;
	uint32_t last_rtp_ts;
	int64_t last_pts;
	struct dp_tc_out *outs[TC_MAX_RENDITIONS]; /* by rendition id */
	atomic_uint kbps; /* control: the source's rate, as stream list shows it */
	/* shared: what the decoder has done, for the dataplane's join decision */
	atomic_uint decoded_ts; /* RTP timestamp of the last access unit decoded */
	atomic_bool decoding;   /* a picture was decoded since the session opened */
	atomic_bool
	    bridge_armed; /* control: the join bridge may be asked for: keep its encoder open */
	/* the worker's counters */
	uint64_t packets, aus, late_aus, dropped_aus, decode_errors;
};

struct dp_transcoder;

/* --- the control thread's side ---------------------------------------------------------------- */

/* Start cfg->tc_workers threads (none: *out stays NULL, transcoding is off), on the CPUs that
 * no dataplane lcore uses, and give the dataplane its rings (dp->tc). */
int dp_transcoder_start(struct dp_transcoder **out, const struct caas_config *cfg,
                        struct dp_ctx *dp, unsigned dataplane_lcore, char *err, size_t errlen);
/* After the dataplane has stopped. */
void dp_transcoder_stop(struct dp_transcoder *t);
unsigned dp_transcoder_workers(const struct dp_transcoder *t);
/* mbufs of the workers' pool in use (their packets, in rings and rendition caches), and its size */
unsigned dp_transcoder_mbufs(const struct dp_transcoder *t, unsigned *size);

/* A session for dev's stream (H.264/H.265) on the least busy worker; the worker opens its
 * decoder. Then DP_MSG_TC_ATTACH starts the packets. */
int dp_tc_sess_open(struct dp_transcoder *t, struct dp_dev *dev, struct dp_tc_sess **out, char *err,
                    size_t errlen);
/* After DP_MSG_TC_DETACH: the worker closes it; after a DP_MSG_TC_DRAIN it may be freed with
 * dp_tc_sess_free(). */
int dp_tc_sess_close(struct dp_transcoder *t, struct dp_tc_sess *s);
void dp_tc_sess_free(struct dp_transcoder *t, struct dp_tc_sess *s);

/* Add or remove an output (a rendition) on the worker. After dp_tc_out_del() the worker makes
 * no more packets for it; a DP_MSG_DEV_DEL of its device drains what was made. */
int dp_tc_out_add(struct dp_transcoder *t, struct dp_tc_out *o, char *err, size_t errlen);
int dp_tc_out_del(struct dp_transcoder *t, struct dp_tc_out *o);

/* The session's last decoded picture as JPEG (malloc'd, the caller frees). */
int dp_tc_snapshot(struct dp_transcoder *t, struct dp_tc_sess *s, uint8_t **jpeg, size_t *len,
                   int *width, int *height, char *err, size_t errlen);

struct dp_tc_worker_stats {
	uint64_t loops, busy_ns, sessions;
};
void dp_transcoder_worker_stats(const struct dp_transcoder *t, unsigned i,
                                struct dp_tc_worker_stats *st);

/* --- the dataplane's side --------------------------------------------------------------------- */

/* Queue a reference to the RTP packet m[off, off+len) for dev's session. Does not consume m. */
void dp_tc_queue(struct dp_ctx *dp, struct dp_dev *dev, struct rte_mbuf *m, uint32_t off,
                 uint32_t len);
/* Hand the batches to the workers; at the end of every poll. */
void dp_tc_flush(struct dp_ctx *dp);
/* Take the packets the workers made: rendition streams and bridges. Returns how many. */
unsigned dp_tc_drain(struct dp_ctx *dp);
/* DP_MSG_TC_ATTACH / DP_MSG_TC_DETACH */
void dp_tc_attach(struct dp_ctx *dp, struct dp_dev *dev, struct dp_tc_sess *s);
void dp_tc_detach(struct dp_ctx *dp, struct dp_dev *dev);

/* dp_fanout.c: the join bridge */
/* A passthrough subscriber starts: through the bridge when the decoder is current and the
 * cached keyframe is old. Returns false when fast start should do. */
bool dp_bridge_join(struct dp_ctx *dp, struct dp_sub *sub);
/* A packet of the bridge (m's data is its RTP packet; consumed). */
void dp_bridge_packet(struct dp_ctx *dp, struct dp_stream *st, struct rte_mbuf *m, uint32_t flags);
/* The stream has a new keyframe starting at st->kf_start: subscribers waiting for one
 * (renditions' new subscribers, bridging ones) start from it at the next tick. */
void dp_fanout_keyframe(struct dp_ctx *dp, struct dp_stream *st);

#endif
