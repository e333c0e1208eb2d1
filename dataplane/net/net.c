/* Frame parsing: Ethernet and VLAN tags, ARP, IPv4, IPv6 extension headers, UDP, ICMP. */
#include "net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>

#include "csum.h"

static bool net_is_vlan_tpid(uint16_t t)
{
	return t == NET_ETHERTYPE_VLAN || t == NET_ETHERTYPE_QINQ || t == NET_ETHERTYPE_QINQ_OLD;
}

static int net_parse_arp(const uint8_t *buf, size_t len, struct net_pkt *p)
{
	size_t off = p->l3_off;
	if (len - off < NET_ARP_LEN)
		return -EMSGSIZE;
	const uint8_t *a = buf + off;
	if (rd_be16(a) != NET_ARP_HTYPE_ETH || rd_be16(a + 2) != NET_ETHERTYPE_IPV4 ||
	    a[4] != NET_ETH_ALEN || a[5] != 4)
		return -EOPNOTSUPP;
	p->arp_op = rd_be16(a + 6);
	p->src = net_addr4(rd_be32(a + 14));
	p->dst = net_addr4(rd_be32(a + 24));
	p->l3_len = NET_ARP_LEN;
	p->frame_len = (uint32_t)(off + NET_ARP_LEN);
	return 0;
}

static uint32_t net_pseudo(const struct net_pkt *p, size_t l4_len)
{
	if (p->ip_version == 4)
		return net_csum_pseudo4(p->src.v4, p->dst.v4, p->proto, (uint32_t)l4_len);
	return net_csum_pseudo6(p->src.v6, p->dst.v6, p->proto, (uint32_t)l4_len);
}

/* L4 of an unfragmented packet whose IP payload is buf[off..end). */
static int net_parse_l4(const uint8_t *buf, size_t off, size_t end, unsigned flags,
                        struct net_pkt *p)
{
	const uint8_t *l4 = buf + off;
	size_t l4_len = end - off;

	p->l4_off = (uint32_t)off;
	p->l4_len = (uint32_t)l4_len;
	switch (p->proto) {
	case NET_PROTO_UDP: {
		if (l4_len < NET_UDP_HLEN)
			return -EMSGSIZE;
		p->sport = rd_be16(l4);
		p->dport = rd_be16(l4 + 2);
		if (rd_be16(l4 + 4) != l4_len)
			return -ERANGE;
		uint16_t cs = rd_be16(l4 + 6);
		if (cs == 0) {
			/* Optional over IPv4; over IPv6 a zero checksum must be dropped (RFC 8200
			 * §8.1: we are not a tunnel endpoint that opted into RFC 6936). */
			if (p->ip_version == 6)
				return -EBADE;
			p->flags |= NET_PKT_UDP_NOCS;
		} else if (!(flags & NET_PARSE_UDP_CSUM_OK) &&
		           !net_csum_ok(net_csum_partial(l4, l4_len, net_pseudo(p, l4_len)))) {
			return -EBADE;
		}
		break;
	}
	case NET_PROTO_ICMP:
	case NET_PROTO_ICMPV6:
		if ((p->proto == NET_PROTO_ICMP) != (p->ip_version == 4))
			return -EPROTONOSUPPORT;
		if (l4_len < NET_ICMP_HLEN)
			return -EMSGSIZE;
		p->icmp_type = l4[0];
		p->icmp_code = l4[1];
		/* ICMP has no pseudo-header; ICMPv6 has one (RFC 4443 §2.3). Both are always
		 * verified: NICs do not, and the responders rely on it. */
		if (!net_csum_ok(net_csum_partial(l4, l4_len,
		                                  p->ip_version == 4 ? 0 : net_pseudo(p, l4_len))))
			return -EBADE;
		break;
	default:
		return -EPROTONOSUPPORT;
	}
	p->payload_off = (uint32_t)(off + 8);
	p->payload_len = (uint32_t)(l4_len - 8);
	return 0;
}

static int net_parse_ip4(const uint8_t *buf, size_t len, unsigned flags, struct net_pkt *p)
{
	size_t off = p->l3_off;
	if (len - off < NET_IP4_HLEN)
		return -EMSGSIZE;
	const uint8_t *ip = buf + off;
	if ((ip[0] >> 4) != 4)
		return -EPROTO;
	p->ip_version = 4;
	size_t hlen = 4u * (ip[0] & 0x0f);
	if (hlen < NET_IP4_HLEN)
		return -EBADMSG;
	if (len - off < hlen)
		return -EMSGSIZE;
	size_t tot = rd_be16(ip + 2);
	if (tot < hlen)
		return -EBADMSG;
	if (tot > len - off)
		return -EOVERFLOW;

	p->tos = ip[1];
	p->ttl = ip[8];
	p->proto = ip[9];
	p->src = net_addr4(rd_be32(ip + 12));
	p->dst = net_addr4(rd_be32(ip + 16));
	p->l3_len = (uint32_t)hlen;
	p->frame_len = (uint32_t)(off + tot);
	if (hlen > NET_IP4_HLEN)
		p->flags |= NET_PKT_IP_OPTS;
	if (!(flags & NET_PARSE_IP_CSUM_OK) && !net_csum_ok(net_csum_partial(ip, hlen, 0)))
		return -EILSEQ;
	if (rd_be16(ip + 6) & (NET_IP4_MF | NET_IP4_OFF_MASK)) {
		p->flags |= NET_PKT_FRAG;
		p->l4_off = (uint32_t)(off + hlen);
		p->l4_len = (uint32_t)(tot - hlen);
		return -EFBIG;
	}
	return net_parse_l4(buf, off + hlen, off + tot, flags, p);
}

static int net_parse_ip6(const uint8_t *buf, size_t len, unsigned flags, struct net_pkt *p)
{
	size_t off = p->l3_off;
	if (len - off < NET_IP6_HLEN)
		return -EMSGSIZE;
	const uint8_t *ip = buf + off;
	if ((ip[0] >> 4) != 6)
		return -EPROTO;
	p->ip_version = 6;
	size_t plen = rd_be16(ip + 4);
	if (plen > len - off - NET_IP6_HLEN)
		return -EOVERFLOW;
	size_t end = off + NET_IP6_HLEN + plen;

	p->tos = (uint8_t)(rd_be16(ip) >> 4);
	p->ttl = ip[7];
	p->src = net_addr6(ip + 8);
	p->dst = net_addr6(ip + 24);
	p->frame_len = (uint32_t)end;

	uint8_t nh = ip[6];
	size_t o = off + NET_IP6_HLEN;
	for (unsigned n = 0;; n++) {
		p->proto = nh;
		p->l3_len = (uint32_t)(o - off);
		if (nh != NET_PROTO_HOPOPTS && nh != NET_PROTO_ROUTING && nh != NET_PROTO_DSTOPTS &&
		    nh != NET_PROTO_FRAGMENT)
			break;
		if (n == NET_IP6_MAX_EXT)
			return -ELOOP;
		/* Only directly after the fixed header (RFC 8200 §4.3). */
		if (nh == NET_PROTO_HOPOPTS && n != 0)
			return -EBADMSG;
		if (end - o < 8)
			return -EMSGSIZE;
		p->flags |= NET_PKT_IP_OPTS;
		if (nh == NET_PROTO_FRAGMENT) {
			p->flags |= NET_PKT_FRAG;
			p->proto = buf[o];
			p->l3_len = (uint32_t)(o + 8 - off);
			p->l4_off = (uint32_t)(o + 8);
			p->l4_len = (uint32_t)(end - o - 8);
			return -EFBIG;
		}
		size_t elen = 8u * ((size_t)buf[o + 1] + 1);
		if (elen > end - o)
			return -EMSGSIZE;
		/* Segments left > 0 asks us to forward to the next segment; we are no router. */
		if (nh == NET_PROTO_ROUTING && buf[o + 3] != 0)
			return -EPROTONOSUPPORT;
		nh = buf[o];
		o += elen;
	}
	return net_parse_l4(buf, o, end, flags, p);
}

int net_parse(const uint8_t *buf, size_t len, unsigned flags, struct net_pkt *p)
{
	memset(p, 0, sizeof(*p));
	if (len < NET_ETH_HLEN)
		return -EMSGSIZE;
	size_t off = 12;
	uint16_t type = rd_be16(buf + off);
	while (net_is_vlan_tpid(type)) {
		if (p->vlan_count == NET_MAX_VLAN)
			return -ELOOP;
		if (len - off < NET_VLAN_HLEN + 2)
			return -EMSGSIZE;
		uint16_t tci = rd_be16(buf + off + 2);
		if (p->vlan_count++ == 0)
			p->vlan_tci = tci;
		else
			p->vlan_inner_tci = tci;
		off += NET_VLAN_HLEN;
		type = rd_be16(buf + off);
	}
	off += 2;
	p->ethertype = type;
	p->l2_len = (uint32_t)off;
	p->l3_off = (uint32_t)off;

	switch (type) {
	case NET_ETHERTYPE_ARP:
		return net_parse_arp(buf, len, p);
	case NET_ETHERTYPE_IPV4:
		return net_parse_ip4(buf, len, flags, p);
	case NET_ETHERTYPE_IPV6:
		return net_parse_ip6(buf, len, flags, p);
	default:
		return -EAFNOSUPPORT;
	}
}

int net_parse_ip(const uint8_t *buf, size_t len, unsigned flags, struct net_pkt *p)
{
	memset(p, 0, sizeof(*p));
	if (len < 1)
		return -EMSGSIZE;
	switch (buf[0] >> 4) {
	case 4:
		p->ethertype = NET_ETHERTYPE_IPV4;
		return net_parse_ip4(buf, len, flags, p);
	case 6:
		p->ethertype = NET_ETHERTYPE_IPV6;
		return net_parse_ip6(buf, len, flags, p);
	default:
		return -EPROTO;
	}
}

bool net_ip6_prefix_match(const uint8_t a[16], const uint8_t b[16], uint8_t prefix)
{
	if (prefix > 128)
		prefix = 128;
	size_t bytes = prefix / 8u;
	if (memcmp(a, b, bytes) != 0)
		return false;
	unsigned bits = prefix % 8u;
	if (bits == 0)
		return true;
	uint8_t m = (uint8_t)(0xff << (8 - bits));
	return ((a[bytes] ^ b[bytes]) & m) == 0;
}

const char *net_parse_err_name(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case -EMSGSIZE:
		return "truncated";
	case -ELOOP:
		return "too_many_headers";
	case -EAFNOSUPPORT:
		return "unsupported_ethertype";
	case -EOPNOTSUPP:
		return "unsupported_arp";
	case -EPROTO:
		return "bad_ip_version";
	case -EBADMSG:
		return "bad_ip_header";
	case -EOVERFLOW:
		return "bad_ip_length";
	case -EILSEQ:
		return "bad_ip_checksum";
	case -EFBIG:
		return "fragment";
	case -EPROTONOSUPPORT:
		return "unsupported_l4";
	case -ERANGE:
		return "bad_udp_length";
	case -EBADE:
		return "bad_l4_checksum";
	default:
		return "other";
	}
}

int net_hostport_parse(const char *s, bool want_port, uint8_t addr[16], uint16_t *port)
{
	char host[48]; /* the longest IPv6 text is 45 */
	const char *h = s, *colon = NULL;
	size_t hl;

	*port = 0;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || (rb[1] && rb[1] != ':'))
			return -EINVAL;
		h = s + 1;
		hl = (size_t)(rb - h);
		colon = rb[1] ? rb + 1 : NULL;
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':')) {
			/* A bare IPv6 address: fine alone, but a port after it would be
			 * ambiguous. */
			if (want_port)
				return -EINVAL;
			colon = NULL;
		}
		hl = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (!hl || hl >= sizeof(host) || (want_port && !colon))
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (colon) {
		const char *p = colon + 1;
		char *end;
		unsigned long v;
		if (*p < '0' || *p > '9' || strlen(p) > 5)
			return -EINVAL;
		v = strtoul(p, &end, 10);
		if (*end || v == 0 || v > 65535)
			return -EINVAL;
		*port = (uint16_t)v;
	}
	if (s[0] != '[' && inet_pton(AF_INET, host, addr) == 1)
		return 4;
	if ((s[0] == '[' || !colon) && inet_pton(AF_INET6, host, addr) == 1)
		return 6;
	return -EINVAL;
}

int net_hostport_sockaddr(const char *s, bool want_port, struct sockaddr_storage *ss, unsigned *len,
                          uint16_t *port)
{
	uint8_t a[16];
	uint16_t p;
	int v = net_hostport_parse(s, want_port, a, &p);

	if (v < 0)
		return v;
	memset(ss, 0, sizeof(*ss));
	if (v == 4) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(p);
		memcpy(&in->sin_addr, a, 4);
		*len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(p);
		memcpy(&in6->sin6_addr, a, 16);
		*len = sizeof(*in6);
	}
	if (port)
		*port = p;
	return 0;
}
