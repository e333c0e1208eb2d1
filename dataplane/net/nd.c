/* Neighbor Discovery: NS validation, NA replies, NS requests, learning, address mappings. */
#include "nd.h"

#include <errno.h>

#include "build.h"
#include "csum.h"

void net_ip6_solicited_node(uint8_t out[16], const uint8_t ip[16])
{
	uint8_t low[3];
	memcpy(low, ip + 13, 3);
	memset(out, 0, 16);
	out[0] = 0xff;
	out[1] = 0x02;
	out[11] = 0x01;
	out[12] = 0xff;
	memcpy(out + 13, low, 3);
}

void net_ip6_mcast_mac(uint8_t mac[NET_ETH_ALEN], const uint8_t ip[16])
{
	mac[0] = 0x33;
	mac[1] = 0x33;
	memcpy(mac + 2, ip + 12, 4);
}

void net_ip6_ll_from_mac(uint8_t out[16], const uint8_t mac[NET_ETH_ALEN])
{
	memset(out, 0, 16);
	out[0] = 0xfe;
	out[1] = 0x80;
	out[8] = mac[0] ^ 0x02; /* the universal/local bit is inverted in modified EUI-64 */
	out[9] = mac[1];
	out[10] = mac[2];
	out[11] = 0xff;
	out[12] = 0xfe;
	out[13] = mac[3];
	out[14] = mac[4];
	out[15] = mac[5];
}

static bool net_ip6_is_solicited_node(const uint8_t ip[16])
{
	static const uint8_t pfx[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
	return memcmp(ip, pfx, sizeof(pfx)) == 0;
}

/* A validated NS or NA, pointing into the frame. */
struct net_nd_msg {
	const uint8_t *icmp;
	const uint8_t *target;
	const uint8_t *lladdr; /* source (NS) or target (NA) link-layer address option data */
};

/* RFC 4861 §7.1.1 (NS) and §7.1.2 (NA) validity checks; the checksum was checked by parse. */
static int net_nd_check(const uint8_t *frame, const struct net_pkt *p, uint8_t type,
                        struct net_nd_msg *m)
{
	if (p->ip_version != 6 || p->proto != NET_PROTO_ICMPV6 || p->icmp_type != type)
		return -ENOMSG;
	if (p->ttl != NET_ND_HOP_LIMIT)
		return -EPERM;
	if (p->icmp_code != 0 || p->l4_len < 24)
		return -EBADMSG;
	m->icmp = frame + p->l4_off;
	m->target = m->icmp + 8;
	m->lladdr = NULL;
	if (net_ip6_is_multicast(m->target))
		return -EBADMSG;

	uint8_t want = type == NET_ICMP6_ND_NS ? NET_ND_OPT_SLLA : NET_ND_OPT_TLLA;
	const uint8_t *o = m->icmp + 24, *end = m->icmp + p->l4_len;
	while (o < end) {
		size_t left = (size_t)(end - o);
		if (left < 2 || o[1] == 0 || 8u * o[1] > left)
			return -EBADMSG;
		/* Ethernet link-layer options are exactly 8 bytes (RFC 4861 §4.6.1); the first of
		 * several counts. */
		if (o[0] == want && o[1] == 1 && !m->lladdr)
			m->lladdr = o + 2;
		o += 8u * o[1];
	}

	if (type == NET_ICMP6_ND_NS && net_ip6_is_unspecified(p->src.v6) &&
	    (m->lladdr || !net_ip6_is_solicited_node(p->dst.v6)))
		return -EBADMSG;
	if (type == NET_ICMP6_ND_NA && net_ip6_is_multicast(p->dst.v6) &&
	    (m->icmp[4] & NET_ND_NA_SOLICITED))
		return -EBADMSG;
	return 0;
}

/* Write the IPv6 header and an NS/NA body with one link-layer address option; returns the
 * bytes written from ip. */
static size_t net_nd_write(uint8_t *ip, const uint8_t src[16], const uint8_t dst[16], uint8_t type,
                           uint8_t flags, const uint8_t target[16], uint8_t opt,
                           const uint8_t mac[NET_ETH_ALEN])
{
	uint8_t s[16], d[16], t[16];
	memcpy(s, src, 16);
	memcpy(d, dst, 16);
	memcpy(t, target, 16);

	wr_be32(ip, 6u << 28);
	wr_be16(ip + 4, NET_ND_NS_LEN);
	ip[6] = NET_PROTO_ICMPV6;
	ip[7] = NET_ND_HOP_LIMIT;
	memcpy(ip + 8, s, 16);
	memcpy(ip + 24, d, 16);

	uint8_t *icmp = ip + NET_IP6_HLEN;
	icmp[0] = type;
	icmp[1] = 0;
	wr_be16(icmp + 2, 0);
	wr_be32(icmp + 4, (uint32_t)flags << 24);
	memcpy(icmp + 8, t, 16);
	icmp[24] = opt;
	icmp[25] = 1;
	memcpy(icmp + 26, mac, NET_ETH_ALEN);
	wr_be16(icmp + 2, net_icmp6_csum(s, d, icmp, NET_ND_NS_LEN));
	return NET_IP6_HLEN + NET_ND_NS_LEN;
}

int net_nd_na_reply(uint8_t *out, size_t cap, const uint8_t *frame, const struct net_pkt *p,
                    const struct net_iface *ifc)
{
	struct net_nd_msg m;
	int rc = net_nd_check(frame, p, NET_ICMP6_ND_NS, &m);
	if (rc < 0)
		return rc;
	const uint8_t *eth_src = frame + NET_ETH_ALEN;
	if (memcmp(eth_src, ifc->mac, NET_ETH_ALEN) == 0)
		return -ENOMSG;
	if (!net_iface_has_ip6(ifc, m.target))
		return -EADDRNOTAVAIL;
	uint8_t sn[16];
	net_ip6_solicited_node(sn, m.target);
	if (!net_iface_has_ip6(ifc, p->dst.v6) && memcmp(p->dst.v6, sn, 16) != 0)
		return -EADDRNOTAVAIL;
	if (net_ip6_is_multicast(p->src.v6) || (eth_src[0] & 1) ||
	    (m.lladdr && !net_mac_is_unicast(m.lladdr)))
		return -EHOSTUNREACH;
	size_t len = p->l2_len + NET_IP6_HLEN + NET_ND_NS_LEN;
	if (cap < len)
		return -ENOSPC;

	/* Everything we need from the request is copied before out (maybe frame) is written. */
	bool dad = net_ip6_is_unspecified(p->src.v6);
	uint8_t target[16], dst[16], peer[NET_ETH_ALEN];
	memcpy(target, m.target, 16);
	if (dad) {
		static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 0x01};
		memcpy(dst, all_nodes, 16);
		net_ip6_mcast_mac(peer, dst);
	} else {
		memcpy(dst, p->src.v6, 16);
		memcpy(peer, m.lladdr ? m.lladdr : eth_src, NET_ETH_ALEN);
	}
	net_eth_reply(out, frame, p, ifc->mac);
	memcpy(out, peer, NET_ETH_ALEN);
	/* Our routers are elsewhere: R stays clear. */
	uint8_t flags = NET_ND_NA_OVERRIDE | (dad ? 0 : NET_ND_NA_SOLICITED);
	net_nd_write(out + p->l2_len, target, dst, NET_ICMP6_ND_NA, flags, target, NET_ND_OPT_TLLA,
	             ifc->mac);
	return (int)len;
}

int net_nd_ns(uint8_t *out, size_t cap, const struct net_iface *ifc, const uint8_t target[16],
              const uint8_t *dst_mac)
{
	if (!ifc->has_ip6)
		return -EADDRNOTAVAIL;
	if (net_ip6_is_multicast(target) || net_ip6_is_unspecified(target))
		return -EINVAL;
	size_t l2 = NET_ETH_HLEN + (ifc->vlan ? NET_VLAN_HLEN : 0);
	if (cap < l2 + NET_IP6_HLEN + NET_ND_NS_LEN)
		return -ENOSPC;
	uint8_t dst[16], mac[NET_ETH_ALEN];
	if (dst_mac) {
		memcpy(dst, target, 16);
		memcpy(mac, dst_mac, NET_ETH_ALEN);
	} else {
		net_ip6_solicited_node(dst, target);
		net_ip6_mcast_mac(mac, dst);
	}
	const uint8_t *src = net_ip6_is_link_local(target) ? ifc->ip6_ll : ifc->ip6;
	l2 = net_eth_write(out, mac, ifc->mac, ifc->vlan, ifc->vlan_tci, NET_ETHERTYPE_IPV6);
	return (int)(l2 + net_nd_write(out + l2, src, dst, NET_ICMP6_ND_NS, 0, target,
	                               NET_ND_OPT_SLLA, ifc->mac));
}

/* Worth a neighbour entry: a unicast address on our link that is not ours. */
static bool net_ip6_is_neighbour(const struct net_iface *ifc, const uint8_t ip[16])
{
	if (net_ip6_is_multicast(ip) || net_ip6_is_unspecified(ip) || net_iface_has_ip6(ifc, ip))
		return false;
	return net_ip6_is_link_local(ip) || net_ip6_prefix_match(ip, ifc->ip6, ifc->ip6_prefix);
}

int net_nd_learn(const uint8_t *frame, const struct net_pkt *p, const struct net_iface *ifc,
                 struct net_learn *l)
{
	struct net_nd_msg m;
	if (!ifc->has_ip6 || p->ip_version != 6 || p->proto != NET_PROTO_ICMPV6)
		return -ENOENT;
	if (memcmp(frame + NET_ETH_ALEN, ifc->mac, NET_ETH_ALEN) == 0)
		return -ENOENT;
	if (p->icmp_type == NET_ICMP6_ND_NS) {
		if (net_nd_check(frame, p, NET_ICMP6_ND_NS, &m) < 0 || !m.lladdr ||
		    !net_ip6_is_neighbour(ifc, p->src.v6))
			return -ENOENT;
		l->ip = net_addr6(p->src.v6);
		l->override = true;
		l->how = net_iface_has_ip6(ifc, m.target) ? NET_LEARN_CREATE : NET_LEARN_UPDATE;
	} else if (p->icmp_type == NET_ICMP6_ND_NA) {
		if (net_nd_check(frame, p, NET_ICMP6_ND_NA, &m) < 0 ||
		    !net_ip6_is_neighbour(ifc, m.target))
			return -ENOENT;
		l->ip = net_addr6(m.target);
		l->override = m.icmp[4] & NET_ND_NA_OVERRIDE;
		l->how = (m.icmp[4] & NET_ND_NA_SOLICITED) ? NET_LEARN_CONFIRM : NET_LEARN_UPDATE;
	} else {
		return -ENOENT;
	}
	l->has_mac = m.lladdr != NULL;
	if (m.lladdr) {
		if (!net_mac_is_unicast(m.lladdr))
			return -ENOENT;
		memcpy(l->mac, m.lladdr, NET_ETH_ALEN);
	} else {
		memset(l->mac, 0, NET_ETH_ALEN);
	}
	return 0;
}
