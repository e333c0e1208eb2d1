/* Receive classification: every frame is parsed (dataplane/net), answered if it is ARP, ND or
 * ping, decapsulated if it is GTP-U, and otherwise delivered to the device listening on its UDP
 * port, as RTP or RTCP, after the source check. Everything else is a named, counted drop. */
#include <errno.h>
#include <string.h>

#include <rte_mbuf.h>

#include "dp.h"
#include "record/journal.h"
#include "rtp/gtpu.h"
#include "rtp/rtp.h"

static void count_parse_error(struct dp_ctx *dp, int rc)
{
	switch (rc) {
	case -EFBIG:
		dp->stats.drop_fragment++;
		break;
	case -EMSGSIZE:
	case -ELOOP:
	case -EAFNOSUPPORT:
	case -EOPNOTSUPP:
		dp->stats.drop_l2++;
		break;
	case -EPROTONOSUPPORT:
	case -ERANGE:
	case -EBADE:
		dp->stats.drop_l4++;
		break;
	default:
		dp->stats.drop_l3++;
		break;
	}
}

static bool is_ours(const struct dp_ctx *dp, const struct net_addr *a)
{
	if (a->family == NET_AF_IP4)
		return dp->ifc.ip4 && a->v4 == dp->ifc.ip4;
	return net_iface_has_ip6(&dp->ifc, a->v6);
}

static bool src_allowed(const struct dp_dev *dev, const struct net_addr *src)
{
	if (dev->src_any)
		return true;
	if (src->family != dev->src.family)
		return false;
	if (src->family == NET_AF_IP4)
		return ((src->v4 ^ dev->src.v4) & net_ip4_mask(dev->src_plen)) == 0;
	return net_ip6_prefix_match(src->v6, dev->src.v6, dev->src_plen);
}

/* Deliver a UDP datagram whose payload is at off..off+len of m to its device. Consumes m. */
static void deliver(struct dp_ctx *dp, struct rte_mbuf *m, const struct net_addr *src,
                    uint16_t sport, uint16_t dport, uint32_t off, uint32_t len,
                    const uint32_t *teid)
{
	struct dp_dev *dev = dp->by_port[dport];
	if (unlikely(!dev)) {
		dp->stats.drop_unknown_port++;
		goto drop;
	}
	const uint8_t *payload = rte_pktmbuf_mtod_offset(m, const uint8_t *, off);
	bool rtcp = dev->rtcp_mux ? rtp_is_rtcp(payload, len) : dport == dev->rtcp_port;
	if (rtcp) {
		/* From the camera or from one of the stream's experts: the stream knows which. */
		if (atomic_load_explicit(&dev->rec_on, memory_order_relaxed) && dev->st.have_ssrc &&
		    net_addr_eq(&dev->st.cam, src))
			dp_rec_queue(dp, dev, m, off, len, REC_JNL_T_RTCP,
			             teid ? REC_JNL_F_GTPU : 0);
		dp_stream_rtcp(dp, &dev->st, payload, len, src, sport);
		goto drop;
	}
	if (dev->talkback_port && dev->st.n_subs &&
	    dp_stream_talkback(dp, &dev->st, m, off, len, src, sport))
		goto drop;
	if (unlikely(!src_allowed(dev, src))) {
		if (!dp->cfg->accept_unknown) {
			dp->stats.drop_unknown_source++;
			goto drop;
		}
		dp->stats.accepted_unknown++;
	}

	if (teid) {
		dev->st.via_gtpu = true;
		dev->st.teid = *teid;
	} else {
		dev->st.via_gtpu = false;
	}
	/* From here on the mbuf is the RTP packet alone: the cache and fan-out see only that. */
	rte_pktmbuf_adj(m, (uint16_t)off);
	if (m->data_len > len)
		rte_pktmbuf_trim(m, (uint16_t)(m->data_len - len));
	dp_stream_rtp(dp, &dev->st, m, src, sport);
	return;
drop:
	rte_pktmbuf_free(m);
}

/* GTP-U from the 5G core's N3 interface: answer echoes, decapsulate G-PDUs and classify the
 * inner packet by its own addresses and ports. */
static void gtpu_input(struct dp_ctx *dp, struct rte_mbuf *m, const struct net_pkt *p)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	struct gtpu_hdr g;
	if (gtpu_parse(frame + p->payload_off, p->payload_len, &g) < 0) {
		dp->stats.drop_gtpu++;
		goto drop;
	}
	if (g.msg_type == GTPU_MSG_ECHO_REQ) {
		uint8_t resp[64];
		int n = gtpu_write_echo_resp(resp, sizeof(resp), &g);
		if (n > 0) {
			dp_send_udp(dp, &p->src, GTPU_PORT, p->sport, resp, (size_t)n);
			dp->stats.gtpu_echo++;
		}
		goto drop;
	}
	if (g.msg_type != GTPU_MSG_GPDU) {
		dp->stats.drop_gtpu++; /* error indications, end markers: nothing to forward */
		goto drop;
	}
	struct net_pkt in;
	int rc = net_parse_ip(g.inner, g.inner_len, 0, &in);
	if (rc < 0 || in.proto != NET_PROTO_UDP) {
		dp->stats.drop_gtpu++;
		goto drop;
	}
	uint32_t base = (uint32_t)(g.inner - frame);
	deliver(dp, m, &in.src, in.sport, in.dport, base + in.payload_off, in.payload_len, &g.teid);
	return;
drop:
	rte_pktmbuf_free(m);
}

void dp_input(struct dp_ctx *dp, struct rte_mbuf *m)
{
	dp->stats.rx_packets++;
	dp->stats.rx_bytes += m->pkt_len;
	if (unlikely(m->nb_segs != 1)) {
		dp->stats.drop_l2++; /* larger than one mbuf: not a media packet we take */
		rte_pktmbuf_free(m);
		return;
	}
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	struct net_pkt p;
	int rc = net_parse(frame, m->data_len, 0, &p);
	if (unlikely(rc < 0)) {
		count_parse_error(dp, rc);
		rte_pktmbuf_free(m);
		return;
	}
	/* Ours, broadcast or multicast (ND); anything else the switch flooded to us. */
	if (unlikely(net_mac_is_unicast(frame) && memcmp(frame, dp->ifc.mac, NET_ETH_ALEN))) {
		dp->stats.drop_not_ours++;
		rte_pktmbuf_free(m);
		return;
	}
	if (unlikely(p.ip_version == 0 || p.proto != NET_PROTO_UDP)) {
		dp_l2_control(dp, m, &p);
		return;
	}
	if (unlikely(!is_ours(dp, &p.dst))) {
		dp->stats.drop_not_ours++;
		rte_pktmbuf_free(m);
		return;
	}
	if (unlikely(p.dport == GTPU_PORT) && dp->cfg->gtpu) {
		gtpu_input(dp, m, &p);
		return;
	}
	deliver(dp, m, &p.src, p.sport, p.dport, p.payload_off, p.payload_len, NULL);
}
