/* libFuzzer target: L2/L3 parsing and every responder, with fixed addresses (those of the seed
 * captures). Replies must re-parse, in-place and out-of-place replies must agree, learning
 * feeds a neighbour table, and UDP headers rebuilt from a parse must parse back the same. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/arp.h"
#include "net/build.h"
#include "net/csum.h"
#include "net/icmp.h"
#include "net/nd.h"
#include "net/neigh.h"
#include "net/net.h"
#include "net/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

#define MAX_FRAME 65600

static uint8_t out[MAX_FRAME + 128], inplace[MAX_FRAME + 128];

static struct net_iface our_iface(void)
{
	static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x02};
	static const uint8_t g2[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x02};
	struct net_iface ifc;
	memset(&ifc, 0, sizeof(ifc));
	memcpy(ifc.mac, mac, 6);
	ifc.ip4 = 0xc6120002; /* 198.18.0.2/24 */
	ifc.ip4_prefix = 24;
	ifc.gw4 = 0xc61200fe;
	ifc.has_ip6 = true;
	memcpy(ifc.ip6, g2, 16);
	ifc.ip6_prefix = 64;
	net_ip6_ll_from_mac(ifc.ip6_ll, mac);
	return ifc;
}

typedef int (*responder)(uint8_t *, size_t, const uint8_t *, const struct net_pkt *,
                         const struct net_iface *);

static size_t dropped;
static void drop(void *pkt, void *arg)
{
	(void)pkt;
	(void)arg;
	dropped++;
}

static void run_responder(responder fn, const uint8_t *data, const struct net_pkt *p,
                          const struct net_iface *ifc, uint8_t want_type)
{
	int n = fn(out, sizeof(out), data, p, ifc);
	if (n < 0)
		return;
	/* The same reply written over a copy of the request. */
	memcpy(inplace, data, p->frame_len);
	CHECK(fn(inplace, sizeof(inplace), inplace, p, ifc) == n);
	CHECK(memcmp(inplace, out, (size_t)n) == 0);
	/* A buffer one byte short is refused, not overrun. */
	CHECK(fn(out + 1, (size_t)n - 1, data, p, ifc) == -ENOSPC);
	n = fn(out, sizeof(out), data, p, ifc);

	struct net_pkt r;
	CHECK(net_parse(out, (size_t)n, 0, &r) == 0);
	CHECK(r.frame_len == (uint32_t)n);
	CHECK(r.vlan_count == p->vlan_count && r.vlan_tci == p->vlan_tci);
	CHECK(memcmp(out + NET_ETH_ALEN, ifc->mac, NET_ETH_ALEN) == 0);
	if (r.ethertype == NET_ETHERTYPE_ARP) {
		CHECK(r.arp_op == NET_ARP_OP_REPLY && r.src.v4 == ifc->ip4);
	} else {
		CHECK(r.icmp_type == want_type);
		CHECK(r.l4_len == p->l4_len || want_type == NET_ICMP6_ND_NA);
	}
}

static void rebuild_udp(const uint8_t *data, const struct net_pkt *p)
{
	struct net_udp_flow f;
	memset(&f, 0, sizeof(f));
	memcpy(f.dst_mac, data, 6);
	memcpy(f.src_mac, data + 6, 6);
	f.vlan = p->vlan_count > 0;
	f.vlan_tci = p->vlan_tci;
	f.src = p->src;
	f.dst = p->dst;
	f.sport = p->sport;
	f.dport = p->dport;
	f.ttl = p->ttl;
	f.tos = p->tos;
	struct net_tmpl t;
	CHECK(net_tmpl_init(&t, &f) == 0);
	if (p->payload_len > net_tmpl_max_payload(&t))
		return;
	const uint8_t *pl = data + p->payload_off;
	net_tmpl_write(&t, out, (uint16_t)p->payload_len, (uint16_t)p->payload_len,
	               net_csum_partial(pl, p->payload_len, 0));
	memcpy(out + t.len, pl, p->payload_len);
	struct net_pkt r;
	CHECK(net_parse(out, t.len + p->payload_len, 0, &r) == 0);
	CHECK(r.payload_len == p->payload_len && r.sport == p->sport && r.dport == p->dport);
	CHECK(net_addr_eq(&r.src, &p->src) && net_addr_eq(&r.dst, &p->dst));
	CHECK(memcmp(out + r.payload_off, pl, p->payload_len) == 0);
}

static void learn(const uint8_t *data, const struct net_pkt *p, const struct net_iface *ifc)
{
	static uint64_t mem[4096];
	struct net_neigh_cfg cfg;
	net_neigh_cfg_default(&cfg);
	cfg.capacity = 8;
	cfg.queue_len = 2;
	cfg.drop = drop;
	struct net_neigh_table t;
	CHECK(net_neigh_mem_size(&cfg) <= sizeof(mem));
	CHECK(net_neigh_init(&t, &cfg, mem, sizeof(mem)) == 0);

	struct net_learn l;
	uint8_t mac[6];
	struct net_addr nh;
	/* Resolve the sender first so that what we learn has an entry and packets to release. */
	if (net_next_hop(ifc, &p->src, &nh) == 0)
		net_neigh_output(&t, &nh, 1, (void *)1, mac);
	int rc = p->ethertype == NET_ETHERTYPE_ARP ? net_arp_learn(data, p, ifc, &l)
	                                           : net_nd_learn(data, p, ifc, &l);
	if (rc == 0) {
		CHECK(l.how >= NET_LEARN_CREATE && l.how <= NET_LEARN_UPDATE);
		CHECK(!l.has_mac || net_mac_is_unicast(l.mac));
		int idx = net_neigh_learn(&t, &l, 2);
		if (idx >= 0) {
			void *pkts[4];
			net_neigh_take(&t, (uint32_t)idx, pkts, 4);
			CHECK(net_neigh_output(&t, &l.ip, 3, NULL, mac) >= 0);
		}
	}
	struct net_neigh_req reqs[8];
	for (uint64_t now = 0; now < 100; now += 1)
		net_neigh_tick(&t, now * 1000000000ull, reqs, 8);
	net_neigh_flush(&t);
	CHECK(t.count == 0);
	CHECK(t.st.queued == t.st.taken + t.st.dropped_unresolved + t.st.dropped_flushed);
}

/* What we send to resolve the frame's source parses, and an NS is answered by its target. */
static void originate(const struct net_pkt *p, const struct net_iface *ifc)
{
	struct net_pkt r;
	int n;
	if (p->src.family == NET_AF_IP4) {
		n = net_arp_request(out, sizeof(out), ifc, p->src.v4, NULL);
		if (n > 0)
			CHECK(net_parse(out, (size_t)n, 0, &r) == 0 && r.arp_op == NET_ARP_OP_REQ &&
			      r.dst.v4 == p->src.v4);
		return;
	}
	n = net_nd_ns(out, sizeof(out), ifc, p->src.v6, NULL);
	if (n < 0)
		return;
	CHECK(net_parse(out, (size_t)n, 0, &r) == 0 && r.icmp_type == NET_ICMP6_ND_NS);
	struct net_iface owner = *ifc;
	owner.mac[5] ^= 0x40;
	memcpy(net_ip6_is_link_local(p->src.v6) ? owner.ip6_ll : owner.ip6, p->src.v6, 16);
	CHECK(net_nd_na_reply(inplace, sizeof(inplace), out, &r, &owner) ==
	      (int)(r.l2_len + NET_IP6_HLEN + NET_ND_NS_LEN));
}

static void check_frame(const uint8_t *data, size_t size)
{
	struct net_iface ifc = our_iface();
	struct net_pkt p;

	/* As if the NIC had verified the checksums: the other paths must hold as well. */
	if (net_parse(data, size, NET_PARSE_IP_CSUM_OK | NET_PARSE_UDP_CSUM_OK, &p) == 0)
		CHECK(p.frame_len <= size);
	int rc = net_parse(data, size, 0, &p);
	CHECK(net_parse_err_name(rc) != NULL);
	if (rc != 0)
		return;

	/* Touch every byte the parser says is ours, so ASan sees any wrong bound. */
	CHECK(p.l3_off == p.l2_len && p.frame_len <= size);
	CHECK(p.payload_off + p.payload_len <= p.frame_len);
	volatile uint8_t sink = 0;
	for (size_t i = 0; i < p.frame_len; i++)
		sink ^= data[i];
	for (size_t i = 0; i < p.payload_len; i++)
		sink ^= data[p.payload_off + i];
	(void)sink;
	if (p.ip_version) {
		CHECK(p.l4_off + p.l4_len == p.frame_len && p.payload_off == p.l4_off + 8);
		/* The same packet without its Ethernet header parses the same (GTP-U's inner). */
		struct net_pkt b;
		CHECK(net_parse_ip(data + p.l3_off, size - p.l3_off, 0, &b) == 0);
		CHECK(b.l2_len == 0 && b.payload_off + p.l3_off == p.payload_off);
		CHECK(b.payload_len == p.payload_len && b.proto == p.proto && b.dport == p.dport);
		CHECK(net_addr_eq(&b.src, &p.src) && net_addr_eq(&b.dst, &p.dst));
	}

	run_responder(net_arp_reply, data, &p, &ifc, 0);
	run_responder(net_icmp4_echo_reply, data, &p, &ifc, NET_ICMP_ECHO_REPLY);
	run_responder(net_icmp6_echo_reply, data, &p, &ifc, NET_ICMP6_ECHO_REPLY);
	run_responder(net_nd_na_reply, data, &p, &ifc, NET_ICMP6_ND_NA);
	if (p.proto == NET_PROTO_UDP)
		rebuild_udp(data, &p);
	learn(data, &p, &ifc);
	if (p.ip_version)
		originate(&p, &ifc);
}

/* Random mutations nearly always break a checksum, and the responders would never run: repair
 * the IPv4 header and L4 checksums of a copy so that the fuzzer reaches past them. */
static bool fix_checksums(uint8_t *buf, size_t size)
{
	struct net_pkt p;
	const unsigned skip = NET_PARSE_IP_CSUM_OK | NET_PARSE_UDP_CSUM_OK;
	int rc = net_parse(buf, size, skip, &p);
	if (p.ip_version == 4 && p.l3_len >= NET_IP4_HLEN)
		wr_be16(buf + p.l3_off + 10, net_ip4_hdr_csum(buf + p.l3_off));
	if ((rc != 0 && rc != -EBADE) || p.l4_len < 8)
		return rc == -EILSEQ;
	uint8_t *ip = buf + p.l3_off, *l4 = buf + p.l4_off;
	uint16_t c;
	if (p.proto == NET_PROTO_ICMP)
		c = net_icmp4_csum(l4, p.l4_len);
	else if (p.proto == NET_PROTO_ICMPV6)
		c = net_icmp6_csum(p.src.v6, p.dst.v6, l4, p.l4_len);
	else if (p.ip_version == 4)
		c = net_udp4_csum(ip, l4, net_csum_partial(l4 + 8, p.l4_len - 8, 0));
	else
		c = net_udp6_csum(ip, l4, net_csum_partial(l4 + 8, p.l4_len - 8, 0));
	wr_be16(l4 + (p.proto == NET_PROTO_UDP ? 6 : 2), c);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t fixed[MAX_FRAME];
	if (size > MAX_FRAME)
		return 0;
	/* The input as a bare IP packet (a tunnel's payload), then as an Ethernet frame. */
	struct net_pkt p;
	if (net_parse_ip(data, size, 0, &p) == 0) {
		CHECK(p.l2_len == 0 && p.frame_len <= size);
		CHECK(p.payload_off + p.payload_len == p.frame_len);
		volatile uint8_t sink = 0;
		for (size_t i = 0; i < p.payload_len; i++)
			sink ^= data[p.payload_off + i];
		(void)sink;
	}
	check_frame(data, size);
	memcpy(fixed, data, size);
	if (fix_checksums(fixed, size)) {
		fix_checksums(fixed, size); /* the L4 sum once the IPv4 header is right */
		check_frame(fixed, size);
	}
	return 0;
}
