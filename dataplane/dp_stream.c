/* Per-stream RTP behaviour on the dataplane lcore: accept and account packets, keep the packet
 * cache (NACK answers and fast start), find keyframes and parameter sets, and talk RTCP to the
 * camera: receiver reports, NACKs for gaps with bounded RTT-aware retries, rate-limited PLIs. */
#include <errno.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_prefetch.h>

#include "dp.h"
#include "dp_transcode.h"
#include "record/journal.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"

#define CNAME "caasd"

/* A registered device's packets are already checked for port, source and payload type, and
 * a camera's first packet is usually the start of a keyframe: no probation (RFC 3550 A.1 lets
 * MIN_SEQUENTIAL be chosen), so nothing of it is lost. */
static void rx_init(struct dp_stream *st)
{
	struct rtp_rx_cfg cfg = RTP_RX_CFG_DEFAULT;
	cfg.min_sequential = 1;
	rtp_rx_init(&st->rx, &cfg);
}

void dp_stream_init(struct dp_ctx *dp, struct dp_dev *dev)
{
	struct dp_stream *st = &dev->st;
	st->dev = dev;
	rx_init(st);
	st->cache_mask = dp->cfg->cache_packets - 1;
	st->next_rr_ns = dp->now_ns + dp->cfg->rr_interval_ms * DP_MS;
	st->rate_ns = dp->now_ns;
}

static void cache_drop(struct dp_stream *st, uint64_t ext)
{
	struct rte_mbuf **slot = &st->cache[ext & st->cache_mask];
	struct rte_mbuf *m = *slot;
	if (!m)
		return;
	/* The slot may hold a newer packet that landed there after a jump; only the packet
	 * with this number goes. */
	if (dp_meta(m)->ext != (uint32_t)ext)
		return;
	st->cache_bytes -= m->pkt_len;
	rte_pktmbuf_free(m);
	*slot = NULL;
}

void dp_stream_release(struct dp_ctx *dp, struct dp_stream *st)
{
	(void)dp;
	if (st->cache) {
		for (uint32_t i = 0; i <= st->cache_mask; i++)
			if (st->cache[i]) {
				rte_pktmbuf_free(st->cache[i]);
				st->cache[i] = NULL;
			}
	}
	st->cache_bytes = 0;
	st->kf_valid = false;
}

struct rte_mbuf *dp_cache_get(const struct dp_stream *st, uint64_t ext)
{
	if (ext < st->cache_tail || ext >= st->cache_head)
		return NULL;
	struct rte_mbuf *m = st->cache[ext & st->cache_mask];
	if (m && dp_meta(m)->ext == (uint32_t)ext)
		return m;
	return NULL;
}

/* Keep packet ext; evict from the tail what neither fast start nor NACK answers need, and
 * whatever the byte bound forces out. */
static void cache_put(struct dp_ctx *dp, struct dp_stream *st, struct rte_mbuf *m, uint64_t ext)
{
	uint32_t size = st->cache_mask + 1;
	if (ext >= st->cache_head) {
		for (uint64_t e = st->cache_head; e < ext && e - st->cache_head < size; e++)
			cache_drop(st, e - size); /* slots reused by the gap's numbers */
		cache_drop(st, ext - size);
		st->cache_head = ext + 1;
		if (st->cache_head - st->cache_tail > size)
			st->cache_tail = st->cache_head - size;
	} else if (ext < st->cache_tail) {
		if (st->cache_head - ext > size)
			return;       /* older than anything we can keep */
		st->cache_tail = ext; /* overtaken at the start: it belongs at the tail */
	}
	struct rte_mbuf **slot = &st->cache[ext & st->cache_mask];
	if (*slot) {
		st->cache_bytes -= (*slot)->pkt_len;
		rte_pktmbuf_free(*slot);
	}
	rte_mbuf_refcnt_update(m, 1);
	*slot = m;
	st->cache_bytes += m->pkt_len;

	uint64_t nack_keep = (uint64_t)st->pkt_rate * dp->cfg->nack_cache_ms / 1000 + 64;
	uint64_t keep_from = st->cache_head > nack_keep ? st->cache_head - nack_keep : 0;
	if (st->kf_valid && st->kf_start < keep_from)
		keep_from = st->kf_start;
	while (st->cache_tail < st->cache_head &&
	       (st->cache_tail < keep_from || st->cache_bytes > dp->cfg->fast_start_bytes)) {
		if (st->kf_valid && st->cache_tail >= st->kf_start) {
			st->kf_valid = false; /* the byte bound took the keyframe */
			st->stats.cache_evicted_kf++;
		}
		/* The evicted mbufs are long out of the CPU cache: fetch a few ahead. */
		struct rte_mbuf *ahead = st->cache[(st->cache_tail + 4) & st->cache_mask];
		if (ahead)
			rte_prefetch0(ahead);
		cache_drop(st, st->cache_tail++);
	}
}

static void capture_params(struct dp_stream *st, const struct h26x_scan *sc)
{
	bool any = false;
	for (int i = 0; i < H26X_PS_COUNT; i++)
		any |=
		    sc->ps[i] && sc->ps_len[i] <= sizeof(st->ps[i]) &&
		    (st->ps_len[i] != sc->ps_len[i] || memcmp(st->ps[i], sc->ps[i], sc->ps_len[i]));
	if (!any)
		return;
	/* Seqlock: the control thread copies these for SDP; it retries while gen is odd. */
	atomic_fetch_add_explicit(&st->ps_gen, 1, memory_order_release);
	for (int i = 0; i < H26X_PS_COUNT; i++) {
		if (!sc->ps[i] || sc->ps_len[i] > sizeof(st->ps[i]))
			continue;
		memcpy(st->ps[i], sc->ps[i], sc->ps_len[i]);
		st->ps_len[i] = sc->ps_len[i];
	}
	atomic_fetch_add_explicit(&st->ps_gen, 1, memory_order_release);
}

/* Where RTCP for the camera goes: its RTP source port + 1, or the same port with rtcp-mux. */
static uint16_t cam_rtcp_port(const struct dp_stream *st)
{
	return st->dev->rtcp_mux ? st->cam_port : (uint16_t)(st->cam_port + 1);
}

/* Our SSRC towards the camera, for the RTCP we send it. */
static uint32_t our_ssrc(const struct dp_stream *st)
{
	return st->ssrc ^ 0x43414153u; /* "CAAS": differs from the camera's, stable per stream */
}

static void send_rtcp_to_camera(struct dp_ctx *dp, struct dp_stream *st, const uint8_t *buf,
                                size_t len)
{
	/* No downlink tunnel to answer through; a rendition's "camera" is a worker. */
	if (!st->have_ssrc || st->via_gtpu || st->dev->virt)
		return;
	dp_send_udp(dp, &st->cam, st->dev->rtcp_port, cam_rtcp_port(st), buf, len);
}

/* RR with our report block (or none yet) followed by SDES CNAME: a valid compound head. */
static int build_rr(struct dp_ctx *dp, struct dp_stream *st, uint8_t *buf, size_t cap)
{
	struct rtcp_rb rb;
	unsigned n = rtp_rx_report(&st->rx, st->ssrc, dp->now_ns, &rb) == 0;
	int a = rtcp_rr_write(buf, cap, our_ssrc(st), &rb, n);
	if (a < 0)
		return a;
	int b = rtcp_sdes_cname_write(buf + a, cap - (size_t)a, our_ssrc(st), CNAME);
	return b < 0 ? b : a + b;
}

static void send_nacks(struct dp_ctx *dp, struct dp_stream *st, bool due_only)
{
	uint16_t seqs[DP_NACK_MAX];
	unsigned n = 0, keep = 0;
	uint64_t retry = (st->rtt_us ? st->rtt_us * 1500ull : 30000ull * 1000) + 10 * DP_MS;
	if (retry < 20 * DP_MS)
		retry = 20 * DP_MS;

	for (unsigned i = 0; i < st->n_nacks; i++) {
		struct dp_nack *nk = &st->nacks[i];
		if (due_only && nk->next_ns > dp->now_ns) {
			st->nacks[keep++] = *nk;
			continue;
		}
		if (nk->tries >= dp->cfg->nack_retries)
			continue; /* given up: the loss stands */
		seqs[n++] = nk->seq;
		nk->tries++;
		nk->next_ns = dp->now_ns + retry;
		st->nacks[keep++] = *nk;
	}
	st->n_nacks = (uint16_t)keep;
	if (!n)
		return;

	uint8_t buf[1024];
	int len = build_rr(dp, st, buf, sizeof(buf));
	if (len < 0)
		return;
	int k =
	    rtcp_nack_write(buf + len, sizeof(buf) - (size_t)len, our_ssrc(st), st->ssrc, seqs, n);
	if (k < 0)
		return;
	send_rtcp_to_camera(dp, st, buf, (size_t)(len + k));
	st->stats.nacks_sent++;
	st->stats.nack_seqs_sent += n;
}

static void nack_add(struct dp_ctx *dp, struct dp_stream *st, const struct rtp_rx_gap *gap)
{
	if (!dp->cfg->nack || !dp->cfg->nack_retries)
		return;
	for (uint16_t i = 0; i < gap->count && st->n_nacks < DP_NACK_MAX; i++)
		st->nacks[st->n_nacks++] =
		    (struct dp_nack){.seq = (uint16_t)(gap->first + i), .next_ns = 0};
	if (gap->missing > gap->count) /* an outage: a keyframe repairs it sooner */
		dp_stream_request_keyframe(dp, st);
	send_nacks(dp, st, true);
}

static void nack_filled(struct dp_stream *st, uint16_t seq)
{
	for (unsigned i = 0; i < st->n_nacks; i++) {
		if (st->nacks[i].seq == seq) {
			st->nacks[i] = st->nacks[--st->n_nacks];
			st->stats.recovered++;
			return;
		}
	}
}

void dp_rtt_update(uint32_t *rtt_us, const struct rtcp_rb *rb)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t rtt = rtcp_rtt_us(rtcp_ntp_mid32(rtcp_ntp_from_timespec(&now)), rb);
	if (rtt >= 0)
		*rtt_us = (uint32_t)rtt;
}

void dp_stream_request_keyframe(struct dp_ctx *dp, struct dp_stream *st)
{
	if (st->last_pli_ns && dp->now_ns - st->last_pli_ns < dp->cfg->pli_interval_ms * DP_MS) {
		st->pli_pending = true; /* sent when the interval is over */
		return;
	}
	if (st->dev->virt) { /* a rendition: its encoder makes one */
		atomic_store_explicit(&st->dev->tc_out->idr_req, true, memory_order_release);
		st->last_pli_ns = dp->now_ns;
		st->pli_pending = false;
		st->stats.plis_sent++;
		return;
	}
	if (!st->have_ssrc)
		return;
	uint8_t buf[512];
	int len = build_rr(dp, st, buf, sizeof(buf));
	int k = len < 0
	            ? len
	            : rtcp_pli_write(buf + len, sizeof(buf) - (size_t)len, our_ssrc(st), st->ssrc);
	if (k < 0)
		return;
	send_rtcp_to_camera(dp, st, buf, (size_t)(len + k));
	st->last_pli_ns = dp->now_ns;
	st->pli_pending = false;
	st->stats.plis_sent++;
}

/* A new SSRC, or the first: statistics restart and subscribers re-base their offsets. */
static void new_source(struct dp_ctx *dp, struct dp_stream *st, uint32_t ssrc)
{
	if (st->have_ssrc)
		st->stats.ssrc_changes++;
	st->have_ssrc = true;
	st->ssrc = ssrc;
	rx_init(st);
	st->n_nacks = 0;
	st->src_gen++;
	dp_stream_release(dp, st);
	st->cache_head = st->cache_tail = 0;
	st->ext_max = 0;
}

void dp_stream_rtp(struct dp_ctx *dp, struct dp_stream *st, struct rte_mbuf *m,
                   const struct net_addr *src, uint16_t sport)
{
	struct dp_dev *dev = st->dev;
	struct rtp_hdr h;
	uint8_t *pkt = rte_pktmbuf_mtod(m, uint8_t *);

	if (unlikely(m->nb_segs != 1 || rtp_parse(pkt, m->data_len, &h) < 0)) {
		st->stats.malformed++;
		dp->stats.drop_malformed_rtp++;
		goto out;
	}
	if (unlikely(h.pt != dev->pt)) {
		st->stats.wrong_pt++;
		goto out;
	}
	if (unlikely(dev->ssrc_set && h.ssrc != dev->ssrc)) {
		st->stats.wrong_ssrc++;
		goto out;
	}
	if (unlikely(!st->have_ssrc || h.ssrc != st->ssrc))
		new_source(dp, st, h.ssrc);
	st->cam = *src;
	st->cam_port = sport;

	struct rtp_rx_gap gap;
	uint32_t arrival = (uint32_t)rtp_ns_to_clock(dp->now_ns, dev->clock);
	enum rtp_rx_class cls = rtp_rx_update(&st->rx, h.seq, h.ts, arrival, &gap);
	uint64_t ext;
	switch (cls) {
	case RTP_RX_IN_ORDER:
		ext = st->ext_max + (uint16_t)(h.seq - st->last_seq);
		if (!st->cache_head) { /* the first packet of a source */
			ext = 1u << 16 | h.seq;
			st->cache_head = st->cache_tail = ext;
		}
		st->ext_max = ext;
		st->last_seq = h.seq;
		if (gap.count)
			nack_add(dp, st, &gap);
		break;
	case RTP_RX_RESTART:
		/* A jump the stats accepted: a new numbering for the cache too. */
		dp_stream_release(dp, st);
		ext = st->ext_max + 65536 + 1;
		st->cache_head = st->cache_tail = ext;
		st->ext_max = ext;
		st->last_seq = h.seq;
		st->n_nacks = 0;
		st->src_gen++;
		break;
	case RTP_RX_REORDERED:
		ext = st->ext_max - (uint16_t)(st->last_seq - h.seq);
		nack_filled(st, h.seq);
		break;
	case RTP_RX_DUPLICATE:
		st->stats.duplicates++;
		goto out;
	case RTP_RX_LATE:
		st->stats.late++;
		goto out;
	default: /* probation, bad: not ours to forward yet */
		goto out;
	}

	if (atomic_load_explicit(&dev->rec_on, memory_order_relaxed))
		dp_rec_queue(dp, dev, m, 0, m->data_len, REC_JNL_T_RTP,
		             st->via_gtpu ? REC_JNL_F_GTPU : 0);
	if (dev->tc)
		dp_tc_queue(dp, dev, m, 0, m->data_len);
	st->stats.packets++;
	st->stats.bytes += m->pkt_len;
	st->pkt_count_1s++;
	st->last_rx_ns = dp->now_ns;

	bool new_kf = false;
	if (dev->codec == DP_H264 || dev->codec == DP_H265) {
		struct h26x_scan sc;
		h26x_scan_payload(dev->codec == DP_H264 ? H26X_H264 : H26X_H265, h.payload,
		                  h.payload_len, &sc);
		if (cls == RTP_RX_IN_ORDER && h.ts != st->last_ts) {
			st->au_start = ext;
			st->last_ts = h.ts;
		}
		if (cls == RTP_RX_REORDERED && st->kf_valid && h.ts == st->kf_ts &&
		    ext < st->kf_start)
			st->kf_start = ext; /* an earlier part of the keyframe's unit came late */
		if (sc.keyframe && !(st->kf_valid && st->kf_ts == h.ts)) {
			/* The access unit may have begun with parameter sets in earlier packets. */
			st->kf_start = h.ts == st->last_ts ? st->au_start : ext;
			st->kf_ts = h.ts;
			st->kf_valid = true;
			st->stats.keyframes++;
			new_kf = true;
		}
		if (unlikely(sc.ps[0] || sc.ps[1] || sc.ps[2]))
			capture_params(st, &sc);
	} else {
		/* Audio: every packet decodes on its own. */
		st->kf_start = ext;
		st->kf_valid = true;
	}

	/* From here the mbuf's window is the payload, the header just before it. */
	struct dp_rtp_meta *meta = dp_meta(m);
	meta->ext = (uint32_t)ext;
	meta->hdr_len = (uint16_t)h.hdr_len;
	rte_pktmbuf_adj(m, (uint16_t)h.hdr_len);
	cache_put(dp, st, m, ext);
	if (new_kf)
		dp_fanout_keyframe(dp, st);
	dp_fanout(dp, st, m);
out:
	rte_pktmbuf_free(m);
}

static void camera_rtcp(struct dp_ctx *dp, struct dp_stream *st, const uint8_t *buf, size_t len)
{
	struct rtcp_iter it;
	struct rtcp_pkt p;
	int rc;
	st->stats.rtcp_in++;
	rtcp_iter_init(&it, buf, len, RTCP_F_REDUCED_SIZE);
	while ((rc = rtcp_iter_next(&it, &p)) > 0) {
		if (p.pt != RTCP_PT_SR && p.pt != RTCP_PT_RR)
			continue;
		if (p.pt == RTCP_PT_SR) {
			struct rtcp_sr sr;
			if (rtcp_sr_get(&p, &sr) == 0) {
				rtp_rx_sr(&st->rx, rtcp_ntp_mid32(sr.ntp), dp->now_ns);
				st->sr_ntp_mid = rtcp_ntp_mid32(sr.ntp);
				st->stats.sr_in++;
			}
		}
		/* A camera that also receives (talkback) reports on us: that gives the RTT. */
		for (unsigned i = 0; i < p.count; i++) {
			struct rtcp_rb rb;
			if (rtcp_rb_get(&p, i, &rb) == 0 && rb.ssrc == our_ssrc(st)) {
				dp_rtt_update(&st->rtt_us, &rb);
			}
		}
	}
	if (rc < 0)
		dp->stats.drop_malformed_rtcp++;
}

/* The device's own stream (k = 0), then its renditions' (k = 1..n_rends): their subscribers
 * send RTCP and voice to the device's ports. */
static struct dp_stream *dev_stream(struct dp_dev *dev, unsigned k)
{
	return k ? &dev->rends[k - 1]->st : &dev->st;
}

void dp_stream_rtcp(struct dp_ctx *dp, struct dp_stream *st, const uint8_t *buf, size_t len,
                    const struct net_addr *src, uint16_t sport)
{
	for (unsigned k = 0; k <= st->dev->n_rends; k++) {
		struct dp_stream *s = dev_stream(st->dev, k);
		for (uint16_t i = 0; i < s->n_subs; i++) {
			struct dp_sub *sub = s->subs[i];
			if (sport == sub->rtcp_port && net_addr_eq(&sub->to, src)) {
				dp_sub_rtcp(dp, sub, buf, len);
				return;
			}
		}
	}
	if (st->have_ssrc && net_addr_eq(&st->cam, src)) {
		camera_rtcp(dp, st, buf, len);
		return;
	}
	dp->stats.drop_unknown_source++;
}

/* The subscriber of dev (its stream or a rendition's) whose voice comes from src:sport. */
static struct dp_sub *find_talker(struct dp_dev *dev, const struct net_addr *src, uint16_t sport)
{
	for (unsigned k = 0; k <= dev->n_rends; k++) {
		struct dp_stream *s = dev_stream(dev, k);
		for (uint16_t i = 0; i < s->n_subs; i++) {
			struct dp_sub *sub = s->subs[i];
			if (sub->talk_from_port && sport == sub->talk_from_port &&
			    net_addr_eq(&sub->to, src))
				return sub;
		}
	}
	return NULL;
}

bool dp_stream_talkback(struct dp_ctx *dp, struct dp_stream *st, struct rte_mbuf *m, uint32_t off,
                        uint32_t len, const struct net_addr *src, uint16_t sport)
{
	struct dp_dev *dev = st->dev;
	struct dp_sub *sub = find_talker(dev, src, sport);

	if (!sub)
		return false;
	sub->stats.talkback_in++;
	if (!st->have_ssrc) { /* no camera heard from yet: nowhere to send it */
		st->stats.talkback_no_camera++;
		return true;
	}
	const uint8_t *voice = rte_pktmbuf_mtod_offset(m, const uint8_t *, off);
	/* The other participants of the stream's sessions hear it too (three-party). */
	for (unsigned k = 0; k <= dev->n_rends; k++) {
		struct dp_stream *s = dev_stream(dev, k);
		for (uint16_t j = 0; j < s->n_subs; j++) {
			struct dp_sub *o = s->subs[j];
			if (o == sub || !o->talk_to_port)
				continue;
			dp_send_udp(dp, &o->to, dev->port, o->talk_to_port, voice, len);
			o->stats.talkback_out++;
		}
	}
	if (atomic_load_explicit(&dev->rec_on, memory_order_relaxed))
		dp_rec_queue(dp, dev, m, off, len, REC_JNL_T_RTP, REC_JNL_F_TO_CAMERA);
	dp_send_udp(dp, &st->cam, dev->port, dev->talkback_port, voice, len);
	st->stats.talkback_out++;
	return true;
}

/* Timers, run about once a millisecond. */
void dp_stream_tick(struct dp_ctx *dp, struct dp_stream *st)
{
	if (dp->now_ns - st->rate_ns >= 1000 * DP_MS) {
		st->pkt_rate = st->pkt_count_1s;
		st->pkt_count_1s = 0;
		st->rate_ns = dp->now_ns;
	}
	if (st->n_nacks)
		send_nacks(dp, st, true);
	if (st->pli_pending && dp->now_ns - st->last_pli_ns >= dp->cfg->pli_interval_ms * DP_MS)
		dp_stream_request_keyframe(dp, st);
	if (dp->now_ns >= st->next_rr_ns) {
		st->next_rr_ns = dp->now_ns + dp->cfg->rr_interval_ms * DP_MS;
		if (st->have_ssrc &&
		    dp->now_ns - st->last_rx_ns < 10ull * dp->cfg->idle_ms * DP_MS) {
			uint8_t buf[256];
			int len = build_rr(dp, st, buf, sizeof(buf));
			if (len > 0) {
				send_rtcp_to_camera(dp, st, buf, (size_t)len);
				st->stats.rrs_sent++;
			}
		}
	}
	for (uint16_t i = 0; i < st->n_subs; i++)
		dp_sub_tick(dp, st->subs[i]);
}
