/* caasd's own L2/L3 on its port: ARP and ICMP echo for its IPv4 address, neighbour discovery
 * and ICMPv6 echo for its IPv6 addresses, next-hop resolution with held packets, and the
 * output path every frame we originate takes. The protocol work is dataplane/net's; this file
 * moves mbufs. */
#include <errno.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include "dp.h"
#include "net/arp.h"
#include "net/icmp.h"
#include "net/nd.h"
#include "net/route.h"

#define HELD_BURST 64
#define REQ_BURST  32

static void neigh_drop(void *pkt, void *arg)
{
	(void)arg;
	rte_pktmbuf_free(pkt);
}

void dp_tx(struct dp_ctx *dp, struct rte_mbuf *m)
{
	dp->stats.tx_packets++;
	dp->stats.tx_bytes += m->pkt_len;
	rte_eth_tx_buffer(dp->port_id, dp->queue, dp->txb, m);
}

/* A frame built in a fresh mbuf by one of the net/ writers. */
static struct rte_mbuf *frame_alloc(struct dp_ctx *dp, uint8_t **p, size_t *cap)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp->pool);
	if (unlikely(!m)) {
		dp->stats.drop_no_mbuf++;
		return NULL;
	}
	*p = rte_pktmbuf_mtod(m, uint8_t *);
	*cap = rte_pktmbuf_tailroom(m);
	return m;
}

static void frame_send(struct dp_ctx *dp, struct rte_mbuf *m, int len)
{
	if (len <= 0) {
		rte_pktmbuf_free(m);
		return;
	}
	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	dp_tx(dp, m);
}

int dp_l2_init(struct dp_ctx *dp)
{
	const struct caas_config *cfg = dp->cfg;
	struct net_iface *ifc = &dp->ifc;
	memset(ifc, 0, sizeof(*ifc));
	memcpy(ifc->mac, dp->mac.addr_bytes, NET_ETH_ALEN);
	ifc->vlan = cfg->vlan != 0;
	ifc->vlan_tci = (uint16_t)cfg->vlan;
	if (cfg->ip4.set) {
		ifc->ip4 = ntohl(cfg->ip4.v4.s_addr);
		ifc->ip4_prefix = cfg->ip4.plen;
		if (cfg->gw4.set)
			ifc->gw4 = ntohl(cfg->gw4.v4.s_addr);
	}
	if (cfg->ip6.set) {
		ifc->has_ip6 = true;
		memcpy(ifc->ip6, cfg->ip6.v6.s6_addr, 16);
		ifc->ip6_prefix = cfg->ip6.plen;
		net_ip6_ll_from_mac(ifc->ip6_ll, ifc->mac);
		if (cfg->gw6.set) {
			ifc->has_gw6 = true;
			memcpy(ifc->gw6, cfg->gw6.v6.s6_addr, 16);
		}
	}

	struct net_neigh_cfg nc;
	net_neigh_cfg_default(&nc);
	nc.capacity = cfg->neigh_entries;
	nc.queue_len = (uint16_t)cfg->neigh_queue;
	nc.seed = (uint32_t)rte_rand();
	nc.drop = neigh_drop;
	size_t size = net_neigh_mem_size(&nc);
	void *mem = size ? rte_zmalloc("neigh", size, RTE_CACHE_LINE_SIZE) : NULL;
	if (!mem)
		return -ENOMEM;
	int rc = net_neigh_init(&dp->neigh, &nc, mem, size);
	if (rc < 0)
		return rc;

	/* Tell the segment where we are, so switches and peers learn us at once. */
	uint8_t *p;
	size_t cap;
	struct rte_mbuf *m;
	if (cfg->ip4.set && (m = frame_alloc(dp, &p, &cap)))
		frame_send(dp, m, net_arp_gratuitous(p, cap, ifc));
	rte_eth_tx_buffer_flush(dp->port_id, dp->queue, dp->txb);
	return 0;
}

static void send_request(struct dp_ctx *dp, const struct net_neigh_req *r)
{
	uint8_t *p;
	size_t cap;
	struct rte_mbuf *m = frame_alloc(dp, &p, &cap);
	if (!m)
		return;
	const uint8_t *mac = r->unicast ? r->mac : NULL;
	int len = r->ip.family == NET_AF_IP4 ? net_arp_request(p, cap, &dp->ifc, r->ip.v4, mac)
	                                     : net_nd_ns(p, cap, &dp->ifc, r->ip.v6, mac);
	frame_send(dp, m, len);
}

/* Packets that waited for a neighbour that has just answered. */
static void send_held(struct dp_ctx *dp, uint32_t idx)
{
	const struct net_neigh *e = net_neigh_entry(&dp->neigh, idx);
	void *held[HELD_BURST];
	size_t n;
	while ((n = net_neigh_take(&dp->neigh, idx, held, HELD_BURST)) > 0) {
		for (size_t i = 0; i < n; i++) {
			struct rte_mbuf *m = held[i];
			memcpy(rte_pktmbuf_mtod(m, uint8_t *), e->mac, NET_ETH_ALEN);
			dp_tx(dp, m);
		}
	}
}

/* Hand m to the neighbour table for next hop nh; send it now if the MAC is known. Returns the
 * table's verdict (0: sent). */
static int resolve_and_send(struct dp_ctx *dp, struct rte_mbuf *m, const struct net_addr *nh)
{
	uint8_t mac[NET_ETH_ALEN];
	int rc = net_neigh_output(&dp->neigh, nh, dp->now_ns, m, mac);
	if (rc == 0) {
		memcpy(rte_pktmbuf_mtod(m, uint8_t *), mac, NET_ETH_ALEN);
		dp_tx(dp, m);
	} else if (rc == NET_NEIGH_SOLICIT) {
		struct net_neigh_req r = {.ip = *nh, .unicast = false};
		send_request(dp, &r);
	} else if (rc < 0) {
		dp->stats.drop_neigh_queue++; /* the table freed it */
	}
	return rc;
}

void dp_output(struct dp_ctx *dp, struct rte_mbuf *m, const struct net_addr *to)
{
	struct net_addr nh;
	if (net_next_hop(&dp->ifc, to, &nh) < 0) {
		dp->stats.drop_unresolved++;
		rte_pktmbuf_free(m);
		return;
	}
	resolve_and_send(dp, m, &nh);
}

void dp_output_sub(struct dp_ctx *dp, struct dp_sub *sub, struct rte_mbuf *m)
{
	/* The fast path: the neighbour entry this subscriber used last is still the same entry
	 * and still confirmed. STALE entries take the slow path, which also re-probes them. */
	if (likely(sub->neigh_idx >= 0)) {
		const struct net_neigh *e = net_neigh_entry(&dp->neigh, (uint32_t)sub->neigh_idx);
		if (likely(e->gen == sub->neigh_gen && e->state == NET_NEIGH_REACHABLE)) {
			memcpy(rte_pktmbuf_mtod(m, uint8_t *), e->mac, NET_ETH_ALEN);
			dp_tx(dp, m);
			return;
		}
	}
	int rc = resolve_and_send(dp, m, &sub->nh);
	if (rc == 0) {
		int idx = net_neigh_lookup(&dp->neigh, &sub->nh);
		sub->neigh_idx = idx;
		if (idx >= 0)
			sub->neigh_gen = net_neigh_entry(&dp->neigh, (uint32_t)idx)->gen;
	} else if (rc < 0) {
		sub->stats.dropped_unresolved++;
	}
}

bool dp_sub_l2_ready(struct dp_ctx *dp, struct dp_sub *sub)
{
	if (sub->neigh_idx >= 0) {
		const struct net_neigh *e = net_neigh_entry(&dp->neigh, (uint32_t)sub->neigh_idx);
		if (e->gen == sub->neigh_gen && e->state == NET_NEIGH_REACHABLE)
			return true;
	}
	uint8_t mac[NET_ETH_ALEN];
	int rc = net_neigh_output(&dp->neigh, &sub->nh, dp->now_ns, NULL, mac);
	if (rc == NET_NEIGH_SOLICIT) {
		struct net_neigh_req r = {.ip = sub->nh, .unicast = false};
		send_request(dp, &r);
	}
	if (rc != 0)
		return false;
	int idx = net_neigh_lookup(&dp->neigh, &sub->nh);
	sub->neigh_idx = idx;
	if (idx >= 0)
		sub->neigh_gen = net_neigh_entry(&dp->neigh, (uint32_t)idx)->gen;
	return true;
}

static struct net_addr our_addr(const struct dp_ctx *dp, uint8_t family)
{
	return family == NET_AF_IP4 ? net_addr4(dp->ifc.ip4) : net_addr6(dp->ifc.ip6);
}

int dp_sub_l2_init(struct dp_ctx *dp, struct dp_sub *sub)
{
	int rc = net_next_hop(&dp->ifc, &sub->to, &sub->nh);
	if (rc < 0)
		return rc;
	struct net_udp_flow f = {
	    .vlan = dp->ifc.vlan,
	    .vlan_tci = dp->ifc.vlan_tci,
	    .src = our_addr(dp, sub->to.family),
	    .dst = sub->to,
	    .sport = sub->st->dev->port,
	    .dport = sub->to_port,
	};
	memcpy(f.src_mac, dp->ifc.mac, NET_ETH_ALEN);
	sub->neigh_idx = -1;
	return net_tmpl_init(&sub->tmpl, &f);
}

void dp_send_udp(struct dp_ctx *dp, const struct net_addr *to, uint16_t sport, uint16_t dport,
                 const void *payload, size_t len)
{
	uint8_t *p;
	size_t cap;
	struct rte_mbuf *m = frame_alloc(dp, &p, &cap);
	if (!m)
		return;
	struct net_udp_flow f = {
	    .vlan = dp->ifc.vlan,
	    .vlan_tci = dp->ifc.vlan_tci,
	    .src = our_addr(dp, to->family),
	    .dst = *to,
	    .sport = sport,
	    .dport = dport,
	};
	memcpy(f.src_mac, dp->ifc.mac, NET_ETH_ALEN);
	uint32_t sum = to->family == NET_AF_IP6 ? net_csum_partial(payload, len, 0) : 0;
	int hl = net_udp_hdrs_write(p, cap, &f, len, dp->ip_id++, sum);
	if (hl < 0 || (size_t)hl + len > cap) {
		rte_pktmbuf_free(m);
		return;
	}
	memcpy(p + hl, payload, len);
	m->data_len = (uint16_t)(hl + len);
	m->pkt_len = m->data_len;
	dp_output(dp, m, to);
}

static void learn(struct dp_ctx *dp, const struct net_learn *l)
{
	int idx = net_neigh_learn(&dp->neigh, l, dp->now_ns);
	if (idx >= 0)
		send_held(dp, (uint32_t)idx);
}

void dp_l2_control(struct dp_ctx *dp, struct rte_mbuf *m, const struct net_pkt *p)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	struct net_learn l;
	uint8_t *out;
	size_t cap;
	struct rte_mbuf *o;
	int len = -1;

	if (p->ip_version == 0) {
		dp->stats.arp_in++;
		if (net_arp_learn(frame, p, &dp->ifc, &l) == 0)
			learn(dp, &l);
		if ((o = frame_alloc(dp, &out, &cap))) {
			len = net_arp_reply(out, cap, frame, p, &dp->ifc);
			dp->stats.arp_replies += len > 0;
			frame_send(dp, o, len);
		}
	} else if (p->proto == NET_PROTO_ICMP) {
		if (p->icmp_type == NET_ICMP_ECHO_REQ && (o = frame_alloc(dp, &out, &cap))) {
			len = net_icmp4_echo_reply(out, cap, frame, p, &dp->ifc);
			dp->stats.icmp_echo += len > 0;
			frame_send(dp, o, len);
		}
	} else if (p->proto == NET_PROTO_ICMPV6) {
		if (p->icmp_type == NET_ICMP6_ND_NS || p->icmp_type == NET_ICMP6_ND_NA) {
			dp->stats.nd_in++;
			if (net_nd_learn(frame, p, &dp->ifc, &l) == 0)
				learn(dp, &l);
			if (p->icmp_type == NET_ICMP6_ND_NS && (o = frame_alloc(dp, &out, &cap))) {
				len = net_nd_na_reply(out, cap, frame, p, &dp->ifc);
				dp->stats.nd_adverts += len > 0;
				frame_send(dp, o, len);
			}
		} else if (p->icmp_type == NET_ICMP6_ECHO_REQ &&
		           (o = frame_alloc(dp, &out, &cap))) {
			len = net_icmp6_echo_reply(out, cap, frame, p, &dp->ifc);
			dp->stats.icmp6_echo += len > 0;
			frame_send(dp, o, len);
		}
	}
	rte_pktmbuf_free(m);
}

void dp_l2_tick(struct dp_ctx *dp)
{
	/* The table's tick walks every entry: every 10 ms is plenty for 1 s retransmits. */
	if (dp->now_ns - dp->neigh_tick_ns < 10 * DP_MS)
		return;
	dp->neigh_tick_ns = dp->now_ns;
	struct net_neigh_req reqs[REQ_BURST];
	size_t n = net_neigh_tick(&dp->neigh, dp->now_ns, reqs, REQ_BURST);
	for (size_t i = 0; i < n; i++)
		send_request(dp, &reqs[i]);
}
