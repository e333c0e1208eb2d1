/* ARP replies, requests, announcements and learning. */
#include "arp.h"

#include <errno.h>

#include "build.h"

static const uint8_t net_bcast[NET_ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* The 28-byte Ethernet/IPv4 ARP body. Safe when sha or tha point into a (the in-place reply). */
static void net_arp_body(uint8_t *a, uint16_t op, const uint8_t *sha, uint32_t spa,
                         const uint8_t *tha, uint32_t tpa)
{
	uint8_t t[NET_ETH_ALEN], s[NET_ETH_ALEN];
	memcpy(t, tha, NET_ETH_ALEN);
	memcpy(s, sha, NET_ETH_ALEN);
	wr_be16(a, NET_ARP_HTYPE_ETH);
	wr_be16(a + 2, NET_ETHERTYPE_IPV4);
	a[4] = NET_ETH_ALEN;
	a[5] = 4;
	wr_be16(a + 6, op);
	memcpy(a + 8, s, NET_ETH_ALEN);
	wr_be32(a + 14, spa);
	memcpy(a + 18, t, NET_ETH_ALEN);
	wr_be32(a + 24, tpa);
}

static bool net_ip4_on_link(const struct net_iface *ifc, uint32_t ip)
{
	uint32_t m = net_ip4_mask(ifc->ip4_prefix);
	return ((ip ^ ifc->ip4) & m) == 0;
}

/* A host address of our subnet: unicast, and not the subnet's directed broadcast. */
static bool net_ip4_is_neighbour(const struct net_iface *ifc, uint32_t ip)
{
	uint32_t m = net_ip4_mask(ifc->ip4_prefix);
	if (!net_ip4_is_unicast(ip) || !net_ip4_on_link(ifc, ip))
		return false;
	/* /31 has no broadcast address (RFC 3021); /32 has only us. */
	return ifc->ip4_prefix >= 31 || (ip | m) != 0xffffffffu;
}

int net_arp_reply(uint8_t *out, size_t cap, const uint8_t *frame, const struct net_pkt *p,
                  const struct net_iface *ifc)
{
	if (p->ethertype != NET_ETHERTYPE_ARP || p->arp_op != NET_ARP_OP_REQ)
		return -ENOMSG;
	const uint8_t *a = frame + p->l3_off;
	const uint8_t *sha = a + 8;
	if (memcmp(sha, ifc->mac, NET_ETH_ALEN) == 0)
		return -ENOMSG;
	if (ifc->ip4 == 0 || p->dst.v4 != ifc->ip4)
		return -EADDRNOTAVAIL;
	if (p->src.v4 == ifc->ip4)
		return -EADDRINUSE;
	/* Any unicast sender gets an answer, on our subnet or not, as Linux does by default. */
	if (!net_mac_is_unicast(sha) || (p->src.v4 != 0 && !net_ip4_is_unicast(p->src.v4)))
		return -EHOSTUNREACH;
	size_t len = p->l2_len + NET_ARP_LEN;
	if (cap < len)
		return -ENOSPC;

	uint8_t peer[NET_ETH_ALEN];
	memcpy(peer, sha, NET_ETH_ALEN);
	uint32_t spa = p->src.v4;
	net_eth_reply(out, frame, p, ifc->mac);
	memcpy(out, peer, NET_ETH_ALEN); /* to the sender hardware address, as Linux does */
	net_arp_body(out + p->l2_len, NET_ARP_OP_REPLY, ifc->mac, ifc->ip4, peer, spa);
	return (int)len;
}

static int net_arp_originate(uint8_t *out, size_t cap, const struct net_iface *ifc,
                             const uint8_t *dst_mac, uint32_t tpa)
{
	static const uint8_t zero[NET_ETH_ALEN];
	size_t l2 = NET_ETH_HLEN + (ifc->vlan ? NET_VLAN_HLEN : 0);
	if (cap < l2 + NET_ARP_LEN)
		return -ENOSPC;
	l2 = net_eth_write(out, dst_mac ? dst_mac : net_bcast, ifc->mac, ifc->vlan, ifc->vlan_tci,
	                   NET_ETHERTYPE_ARP);
	net_arp_body(out + l2, NET_ARP_OP_REQ, ifc->mac, ifc->ip4, zero, tpa);
	return (int)(l2 + NET_ARP_LEN);
}

int net_arp_request(uint8_t *out, size_t cap, const struct net_iface *ifc, uint32_t target,
                    const uint8_t *dst_mac)
{
	if (ifc->ip4 == 0)
		return -EADDRNOTAVAIL;
	if (!net_ip4_is_unicast(target))
		return -EINVAL;
	return net_arp_originate(out, cap, ifc, dst_mac, target);
}

int net_arp_gratuitous(uint8_t *out, size_t cap, const struct net_iface *ifc)
{
	if (ifc->ip4 == 0)
		return -EADDRNOTAVAIL;
	return net_arp_originate(out, cap, ifc, NULL, ifc->ip4);
}

int net_arp_learn(const uint8_t *frame, const struct net_pkt *p, const struct net_iface *ifc,
                  struct net_learn *l)
{
	if (p->ethertype != NET_ETHERTYPE_ARP ||
	    (p->arp_op != NET_ARP_OP_REQ && p->arp_op != NET_ARP_OP_REPLY) || ifc->ip4 == 0)
		return -ENOENT;
	const uint8_t *a = frame + p->l3_off;
	uint32_t spa = p->src.v4;
	/* Off-subnet senders could only fill the table: we never resolve them. */
	if (!net_mac_is_unicast(a + 8) || memcmp(a + 8, ifc->mac, NET_ETH_ALEN) == 0 ||
	    spa == ifc->ip4 || !net_ip4_is_neighbour(ifc, spa))
		return -ENOENT;
	l->ip = net_addr4(spa);
	memcpy(l->mac, a + 8, NET_ETH_ALEN);
	l->has_mac = true;
	l->override = true;
	if (p->dst.v4 == ifc->ip4 && spa != p->dst.v4)
		l->how = p->arp_op == NET_ARP_OP_REQ ? NET_LEARN_CREATE : NET_LEARN_CONFIRM;
	else
		l->how = NET_LEARN_UPDATE;
	return 0;
}
