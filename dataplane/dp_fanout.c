/* Fan-out of a stream's RTP packets to its subscribers: per-subscriber SSRC, sequence and
 * timestamp rewrite that stays continuous across source changes; zero-copy (a header mbuf
 * chained to an indirect mbuf on the payload) where the port sends chains, a copy otherwise;
 * fast start from the cache, paced; and the subscriber's RTCP: NACKs answered from the cache,
 * PLI/FIR forwarded upstream, receiver reports read, sender reports sent. */
#include <string.h>
#include <time.h>

#include <rte_random.h>

#include "dp.h"
#include "dp_transcode.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"

#define FAST_START_BURST (256 * 1024) /* bytes a new subscriber gets at once: a keyframe */
#define CNAME            "caasd"

/* Offsets so that the subscriber's numbering starts at random, or carries on without a jump
 * when the source changed under it (RFC 3550 §8: a new source is a discontinuity we hide). */
static void rebase(const struct dp_stream *st, struct dp_sub *sub, uint16_t in_seq, uint32_t in_ts)
{
	if (sub->splice && sub->src_gen == st->src_gen) {
		/* From the join bridge onto the source: the bridge carried the source's own
		 * timestamps, so only the numbering moves. */
		sub->seq_off = (uint16_t)(sub->last_out_seq + 1 - in_seq);
		sub->live_seq = (uint16_t)(sub->last_out_seq + 1);
	} else if (!sub->started) {
		sub->seq_off = (uint16_t)(rte_rand() - in_seq);
		sub->ts_off = (uint32_t)rte_rand() - in_ts;
		sub->started = true;
	} else {
		uint32_t frame = st->dev->clock / 30;
		sub->seq_off = (uint16_t)(sub->last_out_seq + 1 - in_seq);
		sub->ts_off = sub->last_out_ts + frame - in_ts;
		if (sub->splice)
			sub->live_seq = (uint16_t)(sub->last_out_seq + 1);
	}
	sub->splice = false;
	sub->src_gen = st->src_gen;
}

static bool can_chain(const struct dp_ctx *dp, const struct dp_sub *sub, struct rte_mbuf *m)
{
	return dp->multiseg_tx && dp->cfg->zero_copy && m->data_len &&
	       sub->tmpl.len + dp_meta(m)->hdr_len <= DP_HDR_ROOM;
}

/*
 * Build one packet of the stream for a subscriber in o and send it. Chained (zero copy): o is a
 * header mbuf and a reference on m is already taken for it; it gets our headers and the
 * rewritten RTP header, then m itself, shared by every subscriber. Otherwise o is a full mbuf
 * and everything is copied.
 */
static void sub_emit(struct dp_ctx *dp, struct dp_sub *sub, struct rte_mbuf *m, struct rte_mbuf *o,
                     bool chained, bool retransmit)
{
	struct dp_stream *st = sub->st;
	const uint8_t *rtp = dp_rtp_hdr(m);
	uint32_t hdr_len = dp_meta(m)->hdr_len;
	uint32_t payload_len = m->data_len;
	uint32_t rtp_len = hdr_len + payload_len;
	uint16_t in_seq = rd_be16(rtp + 2);
	uint32_t in_ts = rd_be32(rtp + 4);
	size_t l = sub->tmpl.len;

	uint8_t *p =
	    (uint8_t *)rte_pktmbuf_append(o, (uint16_t)(l + (chained ? hdr_len : rtp_len)));
	if (unlikely(!p)) {
		if (chained)
			rte_mbuf_refcnt_update(m, -1);
		rte_pktmbuf_free(o);
		sub->stats.dropped_no_mbuf++;
		return;
	}
	if (!retransmit && (unlikely(!sub->started) || unlikely(sub->src_gen != st->src_gen) ||
	                    unlikely(sub->splice)))
		rebase(st, sub, in_seq, in_ts);
	memcpy(p + l, rtp, hdr_len);
	if (chained) {
		o->next = m;
		o->nb_segs = 2;
		o->pkt_len += payload_len;
	} else {
		memcpy(p + l + hdr_len, rte_pktmbuf_mtod(m, const uint8_t *), payload_len);
	}
	uint8_t *r = p + l;
	uint16_t out_seq = (uint16_t)(in_seq + sub->seq_off);
	uint32_t out_ts = in_ts + sub->ts_off;
	rtp_set_seq(r, out_seq);
	rtp_set_ts(r, out_ts);
	rtp_set_ssrc(r, sub->ssrc);

	uint32_t sum = 0;
	if (sub->tmpl.ip_version == 6) { /* the UDP checksum is mandatory over IPv6 */
		sum = net_csum_partial(r, hdr_len, 0);
		sum = net_csum_partial(rte_pktmbuf_mtod(m, const uint8_t *), payload_len, sum);
	}
	net_tmpl_write(&sub->tmpl, p, (uint16_t)rtp_len, dp->ip_id++, sum);

	if (retransmit) {
		sub->stats.retransmits++;
	} else {
		sub->last_out_seq = out_seq;
		sub->last_out_ts = out_ts;
		if (unlikely(!sub->stats.packets))
			sub->first_ns = dp->now_ns;
		sub->stats.packets++;
		sub->stats.bytes += rtp_len;
	}
	dp_output_sub(dp, sub, o);
}

/* One packet to one subscriber, allocating what it needs (fast start, retransmissions). */
static void sub_send(struct dp_ctx *dp, struct dp_sub *sub, struct rte_mbuf *m, bool retransmit)
{
	bool chained = can_chain(dp, sub, m);
	struct rte_mbuf *o = rte_pktmbuf_alloc(chained ? dp->hdr_pool : dp->pool);
	if (unlikely(!o)) {
		sub->stats.dropped_no_mbuf++;
		return;
	}
	if (chained)
		rte_mbuf_refcnt_update(m, 1);
	sub_emit(dp, sub, m, o, chained, retransmit);
}

#define FANOUT_BULK 64

void dp_fanout(struct dp_ctx *dp, struct dp_stream *st, struct rte_mbuf *m)
{
	struct dp_sub *live[FANOUT_BULK];
	struct rte_mbuf *hdrs[FANOUT_BULK];
	unsigned n = 0;
	bool chain_all = true;

	for (uint16_t i = 0; i < st->n_subs; i++) {
		struct dp_sub *sub = st->subs[i];
		if (sub->state != DP_SUB_LIVE)
			continue;
		if (n == FANOUT_BULK) {
			sub_send(dp, sub, m, false);
			continue;
		}
		live[n++] = sub;
		chain_all &= can_chain(dp, sub, m);
	}
	if (!n)
		return;
	/* The common case in one go: every header mbuf from one bulk allocation, and one
	 * reference-count update on the camera's mbuf for all of them. */
	if (chain_all && rte_pktmbuf_alloc_bulk(dp->hdr_pool, hdrs, n) == 0) {
		rte_mbuf_refcnt_update(m, (int16_t)n);
		for (unsigned i = 0; i < n; i++)
			sub_emit(dp, live[i], m, hdrs[i], true, false);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		sub_send(dp, live[i], m, false);
}

void dp_sub_resume(struct dp_ctx *dp, struct dp_sub *sub)
{
	struct dp_stream *st = sub->st;
	if (sub->state != DP_SUB_PAUSED)
		return;
	if (st->dev->virt) {
		/* A rendition: its encoder makes a keyframe for the newcomer, rather than send
		 * a GOP's worth of cache down a link chosen for being narrow. */
		sub->state = DP_SUB_WAIT_KF;
		dp_stream_request_keyframe(dp, st);
		return;
	}
	if (dp_bridge_join(dp, sub))
		return;
	if (st->kf_valid && st->kf_start >= st->cache_tail && st->kf_start < st->cache_head) {
		sub->state = DP_SUB_CATCHUP;
		sub->cursor = st->kf_start;
		sub->credit = FAST_START_BURST;
		sub->credit_ns = dp->now_ns;
		dp_sub_tick(dp, sub); /* the keyframe goes out now, not at the next tick */
	} else {
		/* Nothing cached to start from: live, and ask the camera for a keyframe. */
		sub->state = DP_SUB_LIVE;
		dp_stream_request_keyframe(dp, st);
	}
}

int dp_sub_attach(struct dp_ctx *dp, struct dp_sub *sub)
{
	struct dp_stream *st = sub->st;
	if (st->n_subs >= dp->cfg->max_subs_per_stream)
		return -ENOSPC;
	bool paused = sub->state == DP_SUB_PAUSED;
	sub->ssrc = (uint32_t)rte_rand();
	dp_sub_l2_ready(dp, sub); /* resolve its MAC now, before there is media to hold */
	sub->started = false;
	sub->state = DP_SUB_PAUSED;
	st->subs[st->n_subs++] = sub;
	if (!paused)
		dp_sub_resume(dp, sub);
	return 0;
}

void dp_sub_detach(struct dp_ctx *dp, struct dp_sub *sub)
{
	struct dp_stream *st = sub->st;
	(void)dp;
	for (uint16_t i = 0; i < st->n_subs; i++) {
		if (st->subs[i] == sub) {
			st->subs[i] = st->subs[--st->n_subs];
			st->subs[st->n_subs] = NULL;
			return;
		}
	}
}

static void send_sr(struct dp_ctx *dp, struct dp_sub *sub)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct rtcp_sr sr = {.ssrc = sub->ssrc,
	                     .ntp = rtcp_ntp_from_timespec(&now),
	                     .rtp_ts = sub->last_out_ts,
	                     .packet_count = (uint32_t)sub->stats.packets,
	                     .octet_count = (uint32_t)sub->stats.bytes};
	uint8_t buf[256];
	int a = rtcp_sr_write(buf, sizeof(buf), &sr, NULL, 0);
	int b =
	    a < 0 ? a : rtcp_sdes_cname_write(buf + a, sizeof(buf) - (size_t)a, sub->ssrc, CNAME);
	if (b < 0)
		return;
	dp_send_udp(dp, &sub->to, sub->st->dev->rtcp_port, sub->rtcp_port, buf, (size_t)(a + b));
}

void dp_sub_tick(struct dp_ctx *dp, struct dp_sub *sub)
{
	struct dp_stream *st = sub->st;

	/* Sender reports while we send: a stream whose camera went quiet has nothing to report,
	 * and the silence lets the expert's player time out. */
	if (sub->state == DP_SUB_LIVE && sub->started &&
	    dp->now_ns - st->last_rx_ns < dp->cfg->idle_ms * DP_MS &&
	    dp->now_ns - sub->last_sr_ns >= dp->cfg->rr_interval_ms * DP_MS) {
		sub->last_sr_ns = dp->now_ns;
		send_sr(dp, sub);
	}
	if (sub->state != DP_SUB_CATCHUP)
		return;
	/* A burst to an unresolved neighbour would overflow its hold queue: wait for the MAC. */
	if (!dp_sub_l2_ready(dp, sub))
		return;

	uint64_t elapsed = dp->now_ns - sub->credit_ns;
	sub->credit_ns = dp->now_ns;
	sub->credit += (int64_t)(elapsed * dp->cfg->fast_start_kbps / 8000000); /* kbit/s -> B/ns */
	if (sub->credit > FAST_START_BURST)
		sub->credit = FAST_START_BURST;
	while (sub->credit > 0) {
		if (sub->cursor >= st->cache_head) {
			sub->state = DP_SUB_LIVE; /* caught up: the live path takes over */
			return;
		}
		if (sub->cursor < st->cache_tail) {
			/* The cache moved on under a slow start: go live from a fresh keyframe. */
			sub->state = DP_SUB_LIVE;
			dp_stream_request_keyframe(dp, st);
			return;
		}
		struct rte_mbuf *m = dp_cache_get(st, sub->cursor++);
		if (!m)
			continue; /* a hole we never filled */
		sub_send(dp, sub, m, false);
		sub->stats.fast_start_packets++;
		sub->credit -= m->pkt_len + dp_meta(m)->hdr_len;
	}
}

static void answer_nack(struct dp_ctx *dp, struct dp_sub *sub, uint16_t out_seq)
{
	struct dp_stream *st = sub->st;
	/* Bridge packets are not cached: what it asks for from then is gone. */
	if (sub->state == DP_SUB_BRIDGE ||
	    (sub->bridged && (int16_t)(out_seq - sub->live_seq) < 0)) {
		sub->stats.nack_misses++;
		return;
	}
	uint16_t in_seq = (uint16_t)(out_seq - sub->seq_off);
	uint16_t behind = (uint16_t)(st->last_seq - in_seq);
	struct rte_mbuf *m =
	    behind < 32768 && behind <= st->ext_max ? dp_cache_get(st, st->ext_max - behind) : NULL;
	if (!m) {
		sub->stats.nack_misses++;
		return;
	}
	sub_send(dp, sub, m, true);
}

void dp_sub_rtcp(struct dp_ctx *dp, struct dp_sub *sub, const uint8_t *buf, size_t len)
{
	struct rtcp_iter it;
	struct rtcp_pkt p;
	int rc;
	rtcp_iter_init(&it, buf, len, RTCP_F_REDUCED_SIZE);
	while ((rc = rtcp_iter_next(&it, &p)) > 0) {
		struct rtcp_fb fb;
		switch (p.pt) {
		case RTCP_PT_RR:
		case RTCP_PT_SR:
			for (unsigned i = 0; i < p.count; i++) {
				struct rtcp_rb rb;
				if (rtcp_rb_get(&p, i, &rb) < 0 || rb.ssrc != sub->ssrc)
					continue;
				sub->stats.rr_in++;
				sub->fraction_lost = rb.fraction_lost;
				sub->cumulative_lost = rb.cumulative_lost;
				dp_rtt_update(&sub->rtt_us, &rb);
			}
			break;
		case RTCP_PT_RTPFB:
			if (rtcp_fb_get(&p, &fb) < 0 || fb.fmt != RTCP_RTPFB_NACK)
				break;
			sub->stats.nacks_in++;
			struct rtcp_nack_iter ni;
			uint16_t seq;
			if (rtcp_nack_iter_init(&ni, &fb) == 0)
				while (rtcp_nack_next(&ni, &seq) > 0)
					answer_nack(dp, sub, seq);
			break;
		case RTCP_PT_PSFB:
			if (rtcp_fb_get(&p, &fb) < 0)
				break;
			if (fb.fmt == RTCP_PSFB_PLI)
				sub->stats.plis_in++;
			else if (fb.fmt == RTCP_PSFB_FIR)
				sub->stats.firs_in++;
			else
				break;
			dp_stream_request_keyframe(dp, sub->st); /* rate-limited there */
			break;
		default:
			break;
		}
	}
	if (rc < 0)
		dp->stats.drop_malformed_rtcp++;
}

/* ---- the join bridge (dp_transcode.h) ---------------------------------------------------- */

bool dp_bridge_join(struct dp_ctx *dp, struct dp_sub *sub)
{
	struct dp_stream *st = sub->st;
	struct dp_tc_sess *s = st->dev->tc;
	uint32_t clock = st->dev->clock;

	if (!s || !st->kf_valid || dp->cfg->tc_join_bridge == CAAS_BRIDGE_NO)
		return false;
	/* A recent keyframe: fast start sends the camera's own bits at once. */
	if ((uint64_t)(uint32_t)(st->last_ts - st->kf_ts) * 1000 <
	    (uint64_t)dp->cfg->tc_bridge_after_ms * clock)
		return false;
	/* The decoder must be current (within a fifth of a second) to show the live picture. */
	if (!atomic_load_explicit(&s->decoding, memory_order_acquire) ||
	    (int32_t)(st->last_ts - atomic_load_explicit(&s->decoded_ts, memory_order_acquire)) >
	        (int32_t)(clock / 5))
		return false;
	sub->state = DP_SUB_BRIDGE;
	sub->bridge_wait_idr = true;
	sub->bridged = true;
	atomic_store_explicit(&s->bridge.idr_req, true, memory_order_release);
	atomic_store_explicit(&s->bridge.want, true, memory_order_release);
	st->stats.bridge_joins++;
	dp_sub_l2_ready(dp, sub);
	return true;
}

void dp_bridge_packet(struct dp_ctx *dp, struct dp_stream *st, struct rte_mbuf *m, uint32_t flags)
{
	struct rtp_hdr h;

	if (unlikely(rtp_parse(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len, &h) < 0))
		goto out;
	struct dp_rtp_meta *meta = dp_meta(m);
	meta->ext = 0;
	meta->hdr_len = (uint16_t)h.hdr_len;
	rte_pktmbuf_adj(m, (uint16_t)h.hdr_len);
	for (uint16_t i = 0; i < st->n_subs; i++) {
		struct dp_sub *sub = st->subs[i];
		if (sub->state != DP_SUB_BRIDGE)
			continue;
		if (sub->bridge_wait_idr) {
			if (!(flags & DP_TC_F_KF_START))
				continue; /* its first packet is the start of the fresh IDR */
			sub->bridge_wait_idr = false;
			/* Its numbering starts here. The bridge carries the source's
			 * timestamps, so the offset holds for the source's packets after the
			 * splice too. (A bridging subscriber was paused until now: never
			 * started.) */
			rebase(st, sub, h.seq, h.ts);
		}
		sub_send(dp, sub, m, false);
		sub->stats.bridge_packets++;
	}
out:
	rte_pktmbuf_free(m);
}

void dp_fanout_keyframe(struct dp_ctx *dp, struct dp_stream *st)
{
	bool bridging = false;

	for (uint16_t i = 0; i < st->n_subs; i++) {
		struct dp_sub *sub = st->subs[i];
		if (sub->state != DP_SUB_WAIT_KF && sub->state != DP_SUB_BRIDGE)
			continue;
		/* From the keyframe's first packet, at the next tick: the packet being handled
		 * is cached already, and dp_fanout must not send it twice. */
		sub->splice = sub->state == DP_SUB_BRIDGE && sub->started;
		if (sub->state == DP_SUB_BRIDGE && !sub->started)
			sub->bridged = false; /* the bridge never reached it */
		bridging |= sub->state == DP_SUB_BRIDGE;
		sub->state = DP_SUB_CATCHUP;
		sub->cursor = st->kf_start;
		sub->credit = FAST_START_BURST;
		sub->credit_ns = dp->now_ns;
	}
	/* Every bridging subscriber is on the camera's packets now: the bridge may rest. */
	if (bridging && st->dev->tc)
		atomic_store_explicit(&st->dev->tc->bridge.want, false, memory_order_release);
}
