/* Transcoding in caasd (see dp_transcode.h): the dataplane's batches and rings, the worker
 * threads, and the control thread's synchronous calls into them. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_random.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dp_transcode.h"
#include "rtp/reorder.h"
#include "rtp/rtp.h"

#define IN_BURST        256
#define OUT_BATCH       64
#define FEED_BATCH      64
#define NAP_NS          1000000  /* idle: a millisecond, well inside a frame */
#define REST_NS         20000000 /* no session at all: only the control's calls to wait for */
#define CALL_WAIT_MS    10000
#define WORKER_NICE     10 /* transcoding yields to the control thread and the recorder */
#define AU_MAX          (4u << 20)
#define BRIDGE_MIN_KBPS 500

enum tc_op {
	OP_PACKET,
	OP_OPEN,
	OP_CLOSE,
	OP_OUT_ADD,
	OP_OUT_DEL,
	OP_SNAPSHOT,
};

/* dataplane/control -> worker: a packet reference, or (m NULL) an operation. 32 bytes. */
struct tc_item {
	struct rte_mbuf *m;
	struct dp_tc_sess *s;
	union {
		uint64_t t_ns;        /* a packet: arrival */
		struct tc_call *call; /* an operation */
	};
	uint32_t off;
	uint16_t len;
	uint8_t op;
	uint8_t pad;
};

/* worker -> dataplane: a packet it made. 24 bytes. */
struct tc_made {
	struct rte_mbuf *m;
	struct dp_tc_out *out;
	uint32_t flags;
	uint32_t pad;
};

/* An operation's arguments and answer. */
struct tc_call {
	struct dp_tc_out *out;
	atomic_bool done;
	int rc;
	char err[256];
	uint8_t *jpeg;
	size_t jpeg_len;
	int width, height;
};

struct tc_worker {
	struct dp_transcoder *t;
	unsigned idx;
	struct rte_ring *in, *out;
	pthread_t thread;
	bool running;
	struct dp_tc_sess **sess; /* the worker's open sessions */
	unsigned n_sess;
	unsigned placed; /* control's: sessions placed here */
	struct tc_made made[OUT_BATCH];
	unsigned n_made;
	uint64_t loops, busy_ns, stats_ns;
	/* the dataplane's batch towards this worker */
	struct tc_item batch[FEED_BATCH];
	unsigned n_batch;
};

struct dp_transcoder {
	const struct caas_config *cfg;
	struct rte_mempool *pool;
	struct tc_worker *w;
	unsigned n;
	atomic_bool quit;
};

/* ---- the dataplane's side ------------------------------------------------------------------ */

static void feed_flush(struct tc_worker *w)
{
	unsigned n = w->n_batch, done;

	if (!n)
		return;
	w->n_batch = 0;
	done = rte_ring_enqueue_burst_elem(w->in, w->batch, sizeof(w->batch[0]), n, NULL);
	/* Full: the worker is behind. A counted drop per packet; its depacketizer sees the gap
	 * and the renditions skip to the next whole access unit. */
	for (unsigned i = done; i < n; i++) {
		struct tc_item *it = &w->batch[i];
		it->s->src->st.stats.tc_ring_drops++;
		rte_pktmbuf_free(it->m);
	}
}

void dp_tc_flush(struct dp_ctx *dp)
{
	struct dp_transcoder *t = dp->tc;

	for (unsigned i = 0; i < t->n; i++)
		feed_flush(&t->w[i]);
}

/* A reference to the RTP packet at m->buf_addr + off for s's worker. */
static void queue_ref(struct dp_ctx *dp, struct dp_tc_sess *s, struct rte_mbuf *m, uint32_t off,
                      uint32_t len)
{
	struct tc_worker *w = &dp->tc->w[s->worker];
	struct tc_item *it;

	if (w->n_batch == FEED_BATCH)
		feed_flush(w);
	it = &w->batch[w->n_batch++];
	rte_mbuf_refcnt_update(m, 1);
	it->m = m;
	it->s = s;
	it->t_ns = dp->now_ns;
	it->off = off;
	it->len = (uint16_t)len;
	it->op = OP_PACKET;
	s->src->st.stats.tc_queued++;
}

void dp_tc_queue(struct dp_ctx *dp, struct dp_dev *dev, struct rte_mbuf *m, uint32_t off,
                 uint32_t len)
{
	queue_ref(dp, dev->tc, m, m->data_off + off, len);
}

void dp_tc_attach(struct dp_ctx *dp, struct dp_dev *dev, struct dp_tc_sess *s)
{
	struct dp_stream *st = &dev->st;

	dev->tc = s;
	/* The decoder starts at the cached keyframe, so it is current as soon as it has caught
	 * up with what is cached, not at the camera's next keyframe. */
	if (!st->kf_valid)
		return;
	for (uint64_t e = st->kf_start; e < st->cache_head; e++) {
		struct rte_mbuf *m = dp_cache_get(st, e);
		if (!m)
			continue;
		/* A cached packet's data window is its payload, the header just before it. */
		uint32_t hl = dp_meta(m)->hdr_len;
		queue_ref(dp, s, m, m->data_off - hl, hl + m->data_len);
	}
	dp_tc_flush(dp);
}

void dp_tc_detach(struct dp_ctx *dp, struct dp_dev *dev)
{
	struct dp_stream *st = &dev->st;

	dp_tc_flush(dp);
	dev->tc = NULL;
	/* Whoever was bridging goes on from the camera's next keyframe. */
	for (uint16_t i = 0; i < st->n_subs; i++) {
		struct dp_sub *sub = st->subs[i];
		if (sub->state == DP_SUB_BRIDGE) {
			sub->state = DP_SUB_WAIT_KF;
			dp_stream_request_keyframe(dp, st);
		}
	}
}

static const struct net_addr no_addr;

unsigned dp_tc_drain(struct dp_ctx *dp)
{
	struct dp_transcoder *t = dp->tc;
	struct tc_made made[IN_BURST];
	unsigned total = 0;

	for (unsigned wi = 0; wi < t->n; wi++) {
		unsigned n = rte_ring_dequeue_burst_elem(t->w[wi].out, made, sizeof(made[0]),
		                                         IN_BURST, NULL);
		for (unsigned i = 0; i < n; i++) {
			struct dp_tc_out *o = made[i].out;
			if (o->vdev)
				dp_stream_rtp(dp, &o->vdev->st, made[i].m, &no_addr, 0);
			else
				dp_bridge_packet(dp, &o->sess->src->st, made[i].m, made[i].flags);
		}
		total += n;
	}
	return total;
}

/* ---- the worker ------------------------------------------------------------------------------ */

static void made_flush(struct tc_worker *w)
{
	unsigned n = w->n_made, done;

	if (!n)
		return;
	w->n_made = 0;
	done = rte_ring_enqueue_burst_elem(w->out, w->made, sizeof(w->made[0]), n, NULL);
	for (unsigned i = done; i < n; i++) {
		w->made[i].out->ring_full++;
		rte_pktmbuf_free(w->made[i].m);
	}
}

struct enc_ctx {
	struct tc_worker *w;
	struct dp_tc_sess *s;
};

/* An encoded access unit of one output: packetize it into mbufs for the dataplane. */
static void on_encoded(void *arg, int rid, const uint8_t *au, size_t len, int64_t pts,
                       bool keyframe)
{
	struct enc_ctx *e = arg;
	struct tc_worker *w = e->w;
	struct dp_tc_sess *s = e->s;
	struct dp_tc_out *o = rid == s->bridge.rid ? &s->bridge : s->outs[rid];
	bool first = true, marker = false;

	if (!o)
		return;
	o->frames++;
	h26x_pack_au(&o->pack, au, len);
	while (!marker) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(w->t->pool);
		if (!m) {
			o->no_mbuf++; /* the rest of the unit is lost: the subscriber sees the gap
			               */
			break;
		}
		uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, 12 + DP_TC_PAYLOAD);
		int n = p ? h26x_pack_next(&o->pack, p + 12, DP_TC_PAYLOAD, &marker) : -ENOSPC;
		if (n <= 0) {
			rte_pktmbuf_free(m);
			break;
		}
		struct rtp_hdr h = {.marker = marker,
		                    .pt = o->pt,
		                    .seq = o->seq++,
		                    .ts = (uint32_t)pts,
		                    .ssrc = o->ssrc};
		rtp_hdr_write(p, 12, &h);
		rte_pktmbuf_trim(m, (uint16_t)(DP_TC_PAYLOAD - n));
		if (w->n_made == OUT_BATCH)
			made_flush(w);
		w->made[w->n_made++] = (struct tc_made){
		    .m = m, .out = o, .flags = keyframe && first ? DP_TC_F_KF_START : 0};
		o->packets++;
		o->bytes += 12 + (uint32_t)n;
		first = false;
	}
}

/* The bridge's encoder, made (inactive, opened) for the source's size and about its rate, so
 * that a joiner waits for one encode only; made again when either changed much. */
static int bridge_ready(struct dp_tc_sess *s)
{
	struct dp_tc_out *b = &s->bridge;
	int width, height;
	char err[128];

	if (tc_session_picture(s->tc, &width, &height))
		return -ENODATA;
	unsigned kbps = atomic_load_explicit(&s->kbps, memory_order_relaxed);
	struct tc_rendition_spec spec = {.height = height & ~1,
	                                 .kbps =
	                                     (int)(kbps > BRIDGE_MIN_KBPS ? kbps : BRIDGE_MIN_KBPS),
	                                 .codec = s->codec,
	                                 .encoder = b->encoder[0] ? b->encoder : NULL};
	/* Opening an encoder costs tens of milliseconds of CPU: only for a new size, or a rate
	 * that moved by half. */
	if (b->rid >= 0 &&
	    (b->spec.height != spec.height || abs(b->spec.kbps - spec.kbps) * 2 > b->spec.kbps)) {
		tc_rendition_del(s->tc, b->rid);
		b->rid = -1;
	}
	if (b->rid >= 0)
		return 0;
	if (tc_rendition_add(s->tc, &spec, &b->rid, err, sizeof(err)) ||
	    (tc_rendition_set_active(s->tc, b->rid, false), tc_rendition_prepare(s->tc, b->rid))) {
		fprintf(stderr, "caasd: transcode %s: join bridge: %s\n", s->src->name, err);
		if (b->rid >= 0)
			tc_rendition_del(s->tc, b->rid);
		b->rid = -1;
		return -EIO;
	}
	b->spec = spec;
	return 0;
}

/* The bridge: encode while someone is bridging. */
static void bridge_poll(struct tc_worker *w, struct dp_tc_sess *s, bool refresh)
{
	struct dp_tc_out *b = &s->bridge;
	struct enc_ctx e = {w, s};
	bool want = atomic_load_explicit(&b->want, memory_order_acquire);

	if (want && !b->active) {
		if (bridge_ready(s)) {
			if (atomic_load(&s->decoding)) /* a picture but no encoder: give up */
				atomic_store(&b->want, false);
			return;
		}
		tc_rendition_set_active(s->tc, b->rid, true);
		b->active = true;
		b->bridges++;
		atomic_store(&b->idr_req, false);
		/* The picture the joiner should see now: the last one decoded. */
		tc_rendition_encode_last(s->tc, b->rid, on_encoded, &e);
	} else if (!want && b->active) {
		tc_rendition_set_active(s->tc, b->rid, false);
		b->active = false;
	} else if (!b->active && refresh && atomic_load_explicit(&s->kbps, memory_order_relaxed) &&
	           atomic_load_explicit(&s->bridge_armed, memory_order_relaxed)) {
		bridge_ready(s);
	}
	if (b->active && atomic_exchange(&b->idr_req, false))
		tc_rendition_force_idr(s->tc, b->rid);
}

static void release(struct tc_worker *w, struct dp_tc_sess *s, uint64_t now);

static void requests_poll(struct tc_worker *w)
{
	uint64_t now = dp_mono_ns();
	bool refresh = now - w->stats_ns >= 1000 * DP_MS;

	if (refresh)
		w->stats_ns = now;
	for (unsigned i = 0; i < w->n_sess; i++) {
		struct dp_tc_sess *s = w->sess[i];
		struct tc_stats st;
		if (s->ro.count)
			release(w, s, now); /* holes whose wait is over */
		bridge_poll(w, s, refresh);
		for (int r = 0; r < TC_MAX_RENDITIONS; r++) {
			struct dp_tc_out *o = s->outs[r];
			if (o && atomic_load_explicit(&o->idr_req, memory_order_relaxed) &&
			    atomic_exchange(&o->idr_req, false))
				tc_rendition_force_idr(s->tc, r);
		}
		if (!refresh)
			continue;
		tc_session_stats(s->tc, &st);
		s->decode_errors = st.decode_errors;
		for (int r = 0; r < TC_MAX_RENDITIONS; r++)
			if (s->outs[r])
				s->outs[r]->tc = st;
		s->bridge.tc = st;
	}
}

/* RTP timestamps to a 64-bit pts that does not wrap. */
static int64_t unwrap(struct dp_tc_sess *s, uint32_t ts)
{
	if (!s->have_ts) {
		s->have_ts = true;
		s->last_pts = ts;
	} else {
		s->last_pts += (int32_t)(ts - s->last_rtp_ts);
	}
	s->last_rtp_ts = ts;
	return s->last_pts;
}

static void on_au(struct tc_worker *w, struct dp_tc_sess *s, const struct h26x_au *au,
                  uint64_t t_ns)
{
	uint64_t max_delay = (uint64_t)w->t->cfg->tc_max_delay_ms * DP_MS;
	uint64_t age = dp_mono_ns() - t_ns;
	struct enc_ctx e = {w, s};
	int64_t pts = unwrap(s, au->ts);

	s->aus++;
	/* Far behind: decoding everything would only fall further back. Drop access units to
	 * the next keyframe, where the decoder can start again. */
	if (s->wait_kf && !au->keyframe) {
		s->dropped_aus++;
		return;
	}
	s->wait_kf = false;
	if (age > 4 * max_delay && !au->keyframe) {
		s->wait_kf = true;
		s->dropped_aus++;
		return;
	}
	/* Behind: decode (the next frames reference this one) but encode nothing. */
	bool late = age > max_delay;
	s->late_aus += late;
	tc_session_skip_encodes(s->tc, late);
	tc_session_feed(s->tc, au->data, au->len, pts, on_encoded, &e);
	atomic_store_explicit(&s->decoded_ts, au->ts, memory_order_release);
	atomic_store_explicit(&s->decoding, true, memory_order_release);
}

/* A packet in sequence order: depacketize, decode and encode what it completes. */
static void deliver(struct tc_worker *w, struct dp_tc_sess *s, struct rte_mbuf *m, uint32_t off,
                    uint16_t len, uint64_t t_ns)
{
	const uint8_t *pkt = (const uint8_t *)m->buf_addr + off;
	struct h26x_au aus[2];
	struct rtp_hdr h;
	int n;

	if (rtp_parse(pkt, len, &h) < 0) { /* the dataplane parsed it already: cannot happen */
		rte_pktmbuf_free(m);
		return;
	}
	n = h26x_depkt_push(&s->depkt, h.seq, h.ts, h.marker, h.payload, h.payload_len, aus);
	rte_pktmbuf_free(m); /* the depacketizer copied what it needs */
	for (int i = 0; i < n; i++)
		on_au(w, s, &aus[i], t_ns);
}

/* What the reorder buffer lets go of now: packets in order, holes given up after their wait. */
static void release(struct tc_worker *w, struct dp_tc_sess *s, uint64_t now)
{
	struct rte_mbuf *m;
	uint64_t aux, t;
	uint16_t seq;

	while ((m = rtp_reorder_pop(&s->ro, now, &seq, &aux, &t)))
		deliver(w, s, m, (uint32_t)(aux >> 16), (uint16_t)aux, t);
}

/* A packet as the dataplane accepted it: in arrival order, which is not always the sequence
 * order (the network reorders; a NACK's retransmission comes a round trip late). The
 * depacketizer needs the sequence order: the reorder buffer restores it, waiting
 * [transcode] reorder_ms at most for a missing packet. */
static void on_packet(struct tc_worker *w, struct tc_item *it)
{
	struct dp_tc_sess *s = it->s;
	const uint8_t *pkt = (const uint8_t *)it->m->buf_addr + it->off;
	uint64_t aux = (uint64_t)it->off << 16 | it->len, t;
	struct rte_mbuf *m;
	uint16_t seq;
	int rc;

	if (!s->open || it->len < 12) {
		rte_pktmbuf_free(it->m);
		return;
	}
	s->packets++;
	seq = (uint16_t)(pkt[2] << 8 | pkt[3]);
	rc = rtp_reorder_push(&s->ro, seq, it->m, aux, it->t_ns);
	if (rc == -ERANGE) { /* a new numbering: what is held goes first */
		uint16_t held;
		while ((m = rtp_reorder_flush(&s->ro, &held, &aux, &t)))
			deliver(w, s, m, (uint32_t)(aux >> 16), (uint16_t)aux, t);
		rc = rtp_reorder_push(&s->ro, seq, it->m, (uint64_t)it->off << 16 | it->len,
		                      it->t_ns);
	}
	if (rc < 0) { /* a duplicate, or too late: its place was given up */
		rte_pktmbuf_free(it->m);
		return;
	}
	release(w, s, dp_mono_ns());
}

static void sess_close(struct tc_worker *w, struct dp_tc_sess *s)
{
	if (!s->open)
		return;
	s->open = false;
	{
		struct rte_mbuf *m;
		uint64_t aux, t;
		uint16_t seq;
		while ((m = rtp_reorder_flush(&s->ro, &seq, &aux, &t)))
			rte_pktmbuf_free(m);
	}
	tc_session_free(s->tc);
	s->tc = NULL;
	free(s->depkt_mem);
	s->depkt_mem = NULL;
	for (unsigned i = 0; i < w->n_sess; i++) {
		if (w->sess[i] == s) {
			w->sess[i] = w->sess[--w->n_sess];
			break;
		}
	}
}

static int sess_open(struct tc_worker *w, struct dp_tc_sess *s, char *err, size_t len)
{
	enum h26x_codec hc = s->codec == TC_H264 ? H26X_H264 : H26X_H265;
	int rc;

	if (w->n_sess >= w->t->cfg->tc_sessions) {
		snprintf(err, len, "worker %u has %u sessions: [transcode] sessions", w->idx,
		         w->n_sess);
		return -ENOSPC;
	}
	s->depkt_mem = malloc(H26X_DEPKT_MEM(AU_MAX));
	if (!s->depkt_mem) {
		snprintf(err, len, "out of memory");
		return -ENOMEM;
	}
	/* Parameter sets go in front of a keyframe that comes without: the decoder can start
	 * at any keyframe. */
	h26x_depkt_init(&s->depkt, hc, H26X_DEPKT_INSERT_PARAMS, s->depkt_mem,
	                H26X_DEPKT_MEM(AU_MAX));
	rc = tc_session_new(s->codec, &s->tc, err, len);
	if (rc) {
		free(s->depkt_mem);
		s->depkt_mem = NULL;
		return rc;
	}
	rtp_reorder_init(&s->ro, (uint64_t)w->t->cfg->tc_reorder_ms * DP_MS);
	s->bridge.rid = -1;
	h26x_pack_init(&s->bridge.pack, hc, 0, DP_TC_PAYLOAD);
	s->bridge.ssrc = (uint32_t)rte_rand();
	s->bridge.seq = (uint16_t)rte_rand();
	s->open = true;
	w->sess[w->n_sess++] = s;
	return 0;
}

static int out_add(struct dp_tc_sess *s, struct dp_tc_out *o, char *err, size_t len)
{
	struct tc_rendition_spec spec = o->spec;
	int rc;

	if (!s->open) {
		snprintf(err, len, "the session is closed");
		return -EBADF;
	}
	spec.encoder = o->encoder[0] ? o->encoder : NULL;
	rc = tc_rendition_add(s->tc, &spec, &o->rid, err, len);
	if (rc)
		return rc;
	h26x_pack_init(&o->pack, o->spec.codec == TC_H264 ? H26X_H264 : H26X_H265, 0,
	               DP_TC_PAYLOAD);
	o->ssrc = (uint32_t)rte_rand();
	o->seq = (uint16_t)rte_rand();
	o->active = true;
	s->outs[o->rid] = o;
	return 0;
}

static void apply_op(struct tc_worker *w, struct tc_item *it)
{
	struct dp_tc_sess *s = it->s;
	struct tc_call *call = it->call;
	struct dp_tc_out *o = call->out;
	int64_t pts;
	int rc = 0;

	call->err[0] = '\0';
	switch (it->op) {
	case OP_OPEN:
		rc = sess_open(w, s, call->err, sizeof(call->err));
		break;
	case OP_CLOSE:
		made_flush(w);
		sess_close(w, s);
		break;
	case OP_OUT_ADD:
		rc = out_add(s, o, call->err, sizeof(call->err));
		break;
	case OP_OUT_DEL:
		made_flush(w); /* what it made goes first; a DEV_DEL drains it */
		if (s->open && o->rid >= 0) {
			tc_rendition_del(s->tc, o->rid);
			s->outs[o->rid] = NULL;
		}
		o->rid = -1;
		break;
	case OP_SNAPSHOT:
		rc = s->open
		         ? tc_session_snapshot(s->tc, 3, &call->jpeg, &call->jpeg_len, &call->width,
		                               &call->height, &pts, call->err, sizeof(call->err))
		         : -EBADF;
		break;
	default:
		rc = -EINVAL;
	}
	if (rc == -EBADF && !call->err[0])
		snprintf(call->err, sizeof(call->err), "the session is closed");
	call->rc = rc;
	atomic_store_explicit(&call->done, true, memory_order_release);
}

static unsigned worker_drain(struct tc_worker *w)
{
	struct tc_item items[IN_BURST];
	unsigned n = rte_ring_dequeue_burst_elem(w->in, items, sizeof(items[0]), IN_BURST, NULL);

	for (unsigned i = 0; i < n; i++) {
		if (items[i].m)
			on_packet(w, &items[i]);
		else
			apply_op(w, &items[i]);
		/* A big burst of decoding: let the subscribers have what is done. */
		if (w->n_made >= OUT_BATCH / 2)
			made_flush(w);
	}
	return n;
}

static void *worker_main(void *arg)
{
	struct tc_worker *w = arg;
	struct timespec nap = {.tv_nsec = NAP_NS}, rest = {.tv_nsec = REST_NS};

	/* Per-thread nice on Linux: transcoding gives way to the control and recorder threads. */
	setpriority(PRIO_PROCESS, (id_t)gettid(), WORKER_NICE);
	while (!atomic_load_explicit(&w->t->quit, memory_order_acquire)) {
		uint64_t t0 = dp_mono_ns();
		unsigned n = worker_drain(w);
		requests_poll(w);
		made_flush(w);
		w->loops++;
		if (n)
			w->busy_ns += dp_mono_ns() - t0;
		if (n < IN_BURST)
			nanosleep(w->n_sess ? &nap : &rest, NULL);
	}
	/* Stopping: let go of what is queued, close what is open. */
	while (worker_drain(w))
		;
	while (w->n_sess)
		sess_close(w, w->sess[0]);
	made_flush(w);
	return NULL;
}

/* ---- the control thread's side --------------------------------------------------------------- */

static int call(struct dp_transcoder *t, unsigned worker, struct dp_tc_sess *s, enum tc_op op,
                struct tc_call *c, char *err, size_t errlen)
{
	struct tc_item it = {.s = s, .op = (uint8_t)op, .call = c};
	char who[32];
	int rc;

	snprintf(who, sizeof(who), "transcode worker %u", worker);
	atomic_store(&c->done, false);
	rc = dp_ring_call(t->w[worker].in, &it, sizeof(it), &c->done, CALL_WAIT_MS, who, err,
	                  errlen);
	if (rc)
		return rc;
	if (c->rc)
		snprintf(err, errlen, "%s", c->err[0] ? c->err : strerror(-c->rc));
	return c->rc;
}

/* A call whose record may outlive a timeout: allocated, and freed only once answered. */
static int call_once(struct dp_transcoder *t, unsigned worker, struct dp_tc_sess *s, enum tc_op op,
                     struct dp_tc_out *o, char *err, size_t errlen)
{
	struct tc_call *c = calloc(1, sizeof(*c));
	int rc;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->out = o;
	rc = call(t, worker, s, op, c, err, errlen);
	if (rc != -ETIMEDOUT)
		free(c);
	return rc;
}

int dp_tc_sess_open(struct dp_transcoder *t, struct dp_dev *dev, struct dp_tc_sess **out, char *err,
                    size_t errlen)
{
	struct dp_tc_sess *s;
	unsigned best = 0;
	int rc;

	if (dev->codec != DP_H264 && dev->codec != DP_H265) {
		snprintf(err, errlen, "%s is %s: only H.264 and H.265 streams are transcoded",
		         dev->name, dp_codec_name(dev->codec));
		return -EOPNOTSUPP;
	}
	s = rte_zmalloc("tc_sess", sizeof(*s), RTE_CACHE_LINE_SIZE);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 1; i < t->n; i++)
		if (t->w[i].placed < t->w[best].placed)
			best = i;
	s->src = dev;
	s->worker = best;
	s->codec = dev->codec == DP_H264 ? TC_H264 : TC_H265;
	s->bridge.sess = s;
	s->bridge.rid = -1;
	s->bridge.pt = dev->pt;
	snprintf(s->bridge.encoder, sizeof(s->bridge.encoder), "%s",
	         s->codec == TC_H264 ? t->cfg->tc_h264_encoder : t->cfg->tc_h265_encoder);
	rc = call_once(t, best, s, OP_OPEN, NULL, err, errlen);
	if (rc) {
		if (rc != -ETIMEDOUT)
			rte_free(s);
		return rc;
	}
	t->w[best].placed++;
	*out = s;
	return 0;
}

int dp_tc_sess_close(struct dp_transcoder *t, struct dp_tc_sess *s)
{
	char err[256];
	return call_once(t, s->worker, s, OP_CLOSE, NULL, err, sizeof(err));
}

void dp_tc_sess_free(struct dp_transcoder *t, struct dp_tc_sess *s)
{
	if (!s)
		return;
	t->w[s->worker].placed--;
	rte_free(s);
}

int dp_tc_out_add(struct dp_transcoder *t, struct dp_tc_out *o, char *err, size_t errlen)
{
	o->rid = -1;
	return call_once(t, o->sess->worker, o->sess, OP_OUT_ADD, o, err, errlen);
}

int dp_tc_out_del(struct dp_transcoder *t, struct dp_tc_out *o)
{
	char err[256];
	return call_once(t, o->sess->worker, o->sess, OP_OUT_DEL, o, err, sizeof(err));
}

int dp_tc_snapshot(struct dp_transcoder *t, struct dp_tc_sess *s, uint8_t **jpeg, size_t *len,
                   int *width, int *height, char *err, size_t errlen)
{
	struct tc_call *c = calloc(1, sizeof(*c));
	int rc;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = call(t, s->worker, s, OP_SNAPSHOT, c, err, errlen);
	if (rc == -ETIMEDOUT)
		return rc; /* the worker may still write into c */
	*jpeg = c->jpeg;
	*len = c->jpeg_len;
	*width = c->width;
	*height = c->height;
	free(c);
	return rc;
}

unsigned dp_transcoder_mbufs(const struct dp_transcoder *t, unsigned *size)
{
	*size = t->pool->size;
	return rte_mempool_in_use_count(t->pool);
}

unsigned dp_transcoder_workers(const struct dp_transcoder *t)
{
	return t ? t->n : 0;
}

void dp_transcoder_worker_stats(const struct dp_transcoder *t, unsigned i,
                                struct dp_tc_worker_stats *st)
{
	const struct tc_worker *w = &t->w[i];
	st->loops = w->loops;
	st->busy_ns = w->busy_ns;
	st->sessions = w->placed;
}

/* The CPUs no dataplane lcore runs on: transcoding must never take the dataplane's core. */
static void worker_cpus(unsigned dataplane_lcore, cpu_set_t *set)
{
	rte_cpuset_t dp = rte_lcore_cpuset(dataplane_lcore);
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(set);
	for (long c = 0; c < n && c < CPU_SETSIZE; c++)
		if (!CPU_ISSET(c, &dp))
			CPU_SET(c, set);
	if (!CPU_COUNT(set)) /* one CPU in all: share it */
		for (long c = 0; c < n && c < CPU_SETSIZE; c++)
			CPU_SET(c, set);
}

int dp_transcoder_start(struct dp_transcoder **out, const struct caas_config *cfg,
                        struct dp_ctx *dp, unsigned dataplane_lcore, char *err, size_t errlen)
{
	struct dp_transcoder *t;
	pthread_attr_t attr;
	cpu_set_t cpus;
	int rc = 0;

	*out = NULL;
	if (!cfg->tc_workers)
		return 0;
	t = calloc(1, sizeof(*t));
	if (!t || !(t->w = calloc(cfg->tc_workers, sizeof(*t->w)))) {
		free(t);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	t->cfg = cfg;
	/* No per-lcore cache: the workers are not EAL threads. */
	t->pool = rte_pktmbuf_pool_create("caas_tc", cfg->tc_mbufs, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
	                                  (int)rte_socket_id());
	if (!t->pool) {
		snprintf(err, errlen, "transcode mbuf pool of %u: %s", cfg->tc_mbufs,
		         rte_strerror(rte_errno));
		free(t->w);
		free(t);
		return -ENOMEM;
	}
	worker_cpus(dataplane_lcore, &cpus);
	pthread_attr_init(&attr);
	pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
	for (unsigned i = 0; i < cfg->tc_workers && !rc; i++) {
		struct tc_worker *w = &t->w[i];
		char name[RTE_RING_NAMESIZE];
		w->t = t;
		w->idx = i;
		snprintf(name, sizeof(name), "caas_tc_in%u", i);
		w->in = rte_ring_create_elem(name, sizeof(struct tc_item), cfg->tc_ring,
		                             (int)rte_socket_id(), RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "caas_tc_out%u", i);
		w->out = rte_ring_create_elem(name, sizeof(struct tc_made), cfg->tc_ring,
		                              (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
		w->sess = calloc(cfg->tc_sessions, sizeof(*w->sess));
		if (!w->in || !w->out || !w->sess) {
			snprintf(err, errlen, "transcode worker %u: rings of %u: %s", i,
			         cfg->tc_ring, rte_strerror(rte_errno));
			rc = -ENOMEM;
			break;
		}
		rc = -pthread_create(&w->thread, &attr, worker_main, w);
		if (rc) {
			snprintf(err, errlen, "transcode worker %u: %s", i, strerror(-rc));
			break;
		}
		snprintf(name, sizeof(name), "caas-tc%u", i);
		pthread_setname_np(w->thread, name);
		w->running = true;
		t->n = i + 1;
	}
	pthread_attr_destroy(&attr);
	if (rc) {
		t->n = cfg->tc_workers; /* stop frees every worker's rings */
		dp_transcoder_stop(t);
		return rc;
	}
	dp->tc = t;
	*out = t;
	return 0;
}

void dp_transcoder_stop(struct dp_transcoder *t)
{
	if (!t)
		return;
	atomic_store_explicit(&t->quit, true, memory_order_release);
	for (unsigned i = 0; i < t->n; i++) {
		struct tc_worker *w = &t->w[i];
		if (w->running)
			pthread_join(w->thread, NULL);
		if (w->out) {
			struct tc_made m;
			while (!rte_ring_dequeue_elem(w->out, &m, sizeof(m)))
				rte_pktmbuf_free(m.m);
		}
		rte_ring_free(w->in);
		rte_ring_free(w->out);
		free(w->sess);
	}
	rte_mempool_free(t->pool);
	free(t->w);
	free(t);
}
