/* ICMP and ICMPv6 echo replies. */
#include "icmp.h"

#include <errno.h>

#include "build.h"
#include "csum.h"

int net_icmp4_echo_reply(uint8_t *out, size_t cap, const uint8_t *frame, const struct net_pkt *p,
                         const struct net_iface *ifc)
{
	if (p->ip_version != 4 || p->proto != NET_PROTO_ICMP || p->icmp_type != NET_ICMP_ECHO_REQ ||
	    p->icmp_code != 0)
		return -ENOMSG;
	if (ifc->ip4 == 0 || p->dst.v4 != ifc->ip4)
		return -EADDRNOTAVAIL;
	uint32_t peer = p->src.v4;
	uint32_t m = net_ip4_mask(ifc->ip4_prefix);
	bool bcast = ifc->ip4_prefix < 31 && ((peer ^ ifc->ip4) & m) == 0 && (peer | m) == ~0u;
	if (!net_ip4_is_unicast(peer) || bcast || (frame[NET_ETH_ALEN] & 1))
		return -EHOSTUNREACH;
	size_t len = p->l2_len + NET_IP4_HLEN + p->l4_len;
	if (cap < len)
		return -ENOSPC;

	const uint8_t *rq = frame + p->l3_off;
	uint16_t id = rd_be16(rq + 4);
	uint8_t tos = rq[1];
	net_eth_reply(out, frame, p, ifc->mac);
	uint8_t *ip = out + p->l2_len;
	uint8_t *icmp = ip + NET_IP4_HLEN;
	/* Options shift the message back; memmove also covers the in-place case. */
	memmove(icmp, frame + p->l4_off, p->l4_len);
	ip[0] = 0x45;
	ip[1] = tos;
	wr_be16(ip + 2, (uint16_t)(NET_IP4_HLEN + p->l4_len));
	wr_be16(ip + 4, id);
	wr_be16(ip + 6, 0);
	ip[8] = NET_DEFAULT_TTL;
	ip[9] = NET_PROTO_ICMP;
	wr_be32(ip + 12, ifc->ip4);
	wr_be32(ip + 16, peer);
	wr_be16(ip + 10, net_ip4_hdr_csum(ip));
	icmp[0] = NET_ICMP_ECHO_REPLY;
	/* Recomputed, not updated (RFC 1624): with no pseudo-header an all-zero reply sums to +0,
	 * where the update yields 0x0000 and the right answer is 0xffff. */
	wr_be16(icmp + 2, net_icmp4_csum(icmp, p->l4_len));
	return (int)len;
}

int net_icmp6_echo_reply(uint8_t *out, size_t cap, const uint8_t *frame, const struct net_pkt *p,
                         const struct net_iface *ifc)
{
	if (p->ip_version != 6 || p->proto != NET_PROTO_ICMPV6 ||
	    p->icmp_type != NET_ICMP6_ECHO_REQ || p->icmp_code != 0)
		return -ENOMSG;
	if (!net_iface_has_ip6(ifc, p->dst.v6))
		return -EADDRNOTAVAIL;
	if (net_ip6_is_multicast(p->src.v6) || net_ip6_is_unspecified(p->src.v6) ||
	    (frame[NET_ETH_ALEN] & 1))
		return -EHOSTUNREACH;
	size_t len = p->l2_len + NET_IP6_HLEN + p->l4_len;
	if (cap < len)
		return -ENOSPC;

	struct net_addr src = p->dst, dst = p->src;
	uint16_t csum = rd_be16(frame + p->l4_off + 2);
	net_eth_reply(out, frame, p, ifc->mac);
	uint8_t *ip = out + p->l2_len;
	uint8_t *icmp = ip + NET_IP6_HLEN;
	memmove(icmp, frame + p->l4_off, p->l4_len);
	wr_be32(ip, 6u << 28);
	wr_be16(ip + 4, (uint16_t)p->l4_len);
	ip[6] = NET_PROTO_ICMPV6;
	ip[7] = NET_DEFAULT_TTL;
	memcpy(ip + 8, src.v6, 16);
	memcpy(ip + 24, dst.v6, 16);
	icmp[0] = NET_ICMP6_ECHO_REPLY;
	/* The pseudo-header holds the same two addresses and length, so only the type changed;
	 * it is never all zero, so the update cannot produce the 0x0000 that should be 0xffff. */
	wr_be16(icmp + 2,
	        net_csum_update16(csum, NET_ICMP6_ECHO_REQ << 8, NET_ICMP6_ECHO_REPLY << 8));
	return (int)len;
}
