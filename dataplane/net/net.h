/* Wire constants, addresses, the interface description, and L2/L3/L4 header parsing (Ethernet,
 * 802.1Q/802.1ad, ARP, IPv4, IPv6 with extension headers, UDP, ICMP, ICMPv6). No DPDK. */
#ifndef CAAS_NET_NET_H
#define CAAS_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rtp/bytes.h"

#define NET_ETH_ALEN  6
#define NET_ETH_HLEN  14
#define NET_VLAN_HLEN 4
#define NET_MAX_VLAN  2 /* 802.1ad outer + 802.1Q inner; a third tag is refused */

#define NET_ETHERTYPE_IPV4     0x0800
#define NET_ETHERTYPE_ARP      0x0806
#define NET_ETHERTYPE_VLAN     0x8100
#define NET_ETHERTYPE_IPV6     0x86dd
#define NET_ETHERTYPE_QINQ     0x88a8
#define NET_ETHERTYPE_QINQ_OLD 0x9100 /* pre-standard 802.1ad, still sent by some switches */

#define NET_VLAN_VID_MASK 0x0fff

#define NET_ARP_LEN       28 /* Ethernet/IPv4 ARP body */
#define NET_ARP_HTYPE_ETH 1
#define NET_ARP_OP_REQ    1
#define NET_ARP_OP_REPLY  2

#define NET_IP4_HLEN     20
#define NET_IP4_MF       0x2000
#define NET_IP4_DF       0x4000
#define NET_IP4_OFF_MASK 0x1fff
#define NET_IP6_HLEN     40
#define NET_IP6_MAX_EXT  8 /* extension headers we skip before giving up */
#define NET_UDP_HLEN     8
#define NET_ICMP_HLEN    8 /* ICMP and ICMPv6: type, code, checksum and 4 message-specific bytes */

#define NET_PROTO_HOPOPTS  0
#define NET_PROTO_ICMP     1
#define NET_PROTO_UDP      17
#define NET_PROTO_ROUTING  43
#define NET_PROTO_FRAGMENT 44
#define NET_PROTO_ICMPV6   58
#define NET_PROTO_DSTOPTS  60

#define NET_ICMP_ECHO_REPLY  0
#define NET_ICMP_ECHO_REQ    8
#define NET_ICMP6_ECHO_REQ   128
#define NET_ICMP6_ECHO_REPLY 129
#define NET_ICMP6_ND_NS      135
#define NET_ICMP6_ND_NA      136
#define NET_ND_HOP_LIMIT     255 /* RFC 4861 §7.1: anything else may come from off-link */
#define NET_DEFAULT_TTL      64

#define NET_AF_IP4 4
#define NET_AF_IP6 6

/* An IPv4 or IPv6 address. IPv4 is kept in host byte order, so prefix masks and comparisons
 * are plain integer operations; it is converted at the wire with rd_be32()/wr_be32(). */
struct net_addr {
	uint8_t family; /* NET_AF_IP4 or NET_AF_IP6 */
	union {
		uint32_t v4;
		uint8_t v6[16];
	};
};

static inline struct net_addr net_addr4(uint32_t ip)
{
	struct net_addr a;
	memset(&a, 0, sizeof(a));
	a.family = NET_AF_IP4;
	a.v4 = ip;
	return a;
}

static inline struct net_addr net_addr6(const uint8_t ip[16])
{
	struct net_addr a;
	a.family = NET_AF_IP6;
	memcpy(a.v6, ip, 16);
	return a;
}

static inline bool net_addr_eq(const struct net_addr *a, const struct net_addr *b)
{
	if (a->family != b->family)
		return false;
	return a->family == NET_AF_IP4 ? a->v4 == b->v4 : memcmp(a->v6, b->v6, 16) == 0;
}

/* Not 0.0.0.0/8, loopback, multicast, class E or the limited broadcast: something that may
 * appear as a host's own address. A subnet's directed broadcast needs the prefix, see route.h. */
static inline bool net_ip4_is_unicast(uint32_t ip)
{
	return (ip >> 24) != 0 && (ip >> 24) != 127 && (ip >> 28) < 0xe;
}

/* Network mask of an IPv4 prefix length (0..32), host order. */
static inline uint32_t net_ip4_mask(uint8_t prefix)
{
	return prefix == 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~(0xffffffffu >> prefix);
}

static inline bool net_ip6_is_multicast(const uint8_t ip[16])
{
	return ip[0] == 0xff;
}

static inline bool net_ip6_is_unspecified(const uint8_t ip[16])
{
	static const uint8_t zero[16];
	return memcmp(ip, zero, 16) == 0;
}

static inline bool net_ip6_is_link_local(const uint8_t ip[16])
{
	return ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80;
}

/* True when a and b share their first prefix bits (prefix 0..128). */
bool net_ip6_prefix_match(const uint8_t a[16], const uint8_t b[16], uint8_t prefix);

/*
 * "a.b.c.d:PORT" or "[v6]:PORT", as operators and tools write an endpoint (PORT 1..65535).
 * With want_port false the ":PORT" part may be left out (*port is then 0). Numeric addresses
 * only. Returns 4 or 6 with the address in addr (4 or 16 bytes, network order), or -EINVAL.
 */
int net_hostport_parse(const char *s, bool want_port, uint8_t addr[16], uint16_t *port);

/* The same as a socket address (port in it, and in *port when port is not NULL), for the
 * tools that use kernel sockets. 0 or -EINVAL. */
struct sockaddr_storage;
int net_hostport_sockaddr(const char *s, bool want_port, struct sockaddr_storage *ss, unsigned *len,
                          uint16_t *port);

/* Multicast and broadcast MACs have the I/G bit set; all-zero is never a station. */
static inline bool net_mac_is_unicast(const uint8_t mac[NET_ETH_ALEN])
{
	static const uint8_t zero[NET_ETH_ALEN];
	return !(mac[0] & 1) && memcmp(mac, zero, NET_ETH_ALEN) != 0;
}

/*
 * Our side of one link (one VLAN when tagged): what the responders answer for and the source of
 * what we originate. A zero ip4 means no IPv4; has_ip6 false means no IPv6 at all.
 */
struct net_iface {
	uint8_t mac[NET_ETH_ALEN];
	bool vlan;         /* tag frames we originate (replies keep the tags they came with) */
	uint16_t vlan_tci; /* PCP, DEI and VID of that tag */
	uint32_t ip4;      /* host order */
	uint8_t ip4_prefix;
	uint32_t gw4; /* 0: no IPv4 gateway */
	bool has_ip6;
	uint8_t ip6[16];    /* global address */
	uint8_t ip6_ll[16]; /* link-local address (see net_ip6_ll_from_mac() in nd.h) */
	uint8_t ip6_prefix;
	bool has_gw6;
	uint8_t gw6[16]; /* usually the router's link-local address */
};

static inline bool net_iface_has_ip6(const struct net_iface *ifc, const uint8_t ip[16])
{
	return ifc->has_ip6 && (memcmp(ip, ifc->ip6, 16) == 0 || memcmp(ip, ifc->ip6_ll, 16) == 0);
}

/* How a neighbour table should take what net_arp_learn() or net_nd_learn() extracted. */
#define NET_LEARN_CREATE  1 /* the peer asked for our address: create the entry if absent */
#define NET_LEARN_CONFIRM 2 /* an answer to us (ARP reply, solicited NA): the peer is reachable */
#define NET_LEARN_UPDATE  3 /* gratuitous, unsolicited or overheard: refresh an existing entry */

struct net_learn {
	struct net_addr ip;
	uint8_t mac[NET_ETH_ALEN];
	bool has_mac;  /* false for an NA without a target link-layer address option */
	bool override; /* NA override flag; always true for ARP */
	uint8_t how;   /* NET_LEARN_* */
};

/* net_pkt.flags */
#define NET_PKT_FRAG     0x01 /* IPv4 MF or offset, or an IPv6 fragment header */
#define NET_PKT_IP_OPTS  0x02 /* IPv4 options or IPv6 extension headers were skipped */
#define NET_PKT_UDP_NOCS 0x04 /* IPv4 UDP with checksum 0 (not computed by the sender) */

/*
 * What net_parse() found. Offsets are from the start of the frame. On error the fields of the
 * layers parsed before the failing one are filled (so a drop can be counted per source or per
 * protocol) and the rest are zero.
 */
struct net_pkt {
	uint16_t ethertype;      /* after the VLAN tags */
	uint8_t vlan_count;      /* 0..NET_MAX_VLAN */
	uint16_t vlan_tci;       /* outer tag (PCP, DEI, VID); 0 without tags */
	uint16_t vlan_inner_tci; /* inner tag of a double-tagged frame */
	uint32_t l2_len;         /* Ethernet header and tags */
	uint32_t l3_off;         /* == l2_len */
	uint32_t l3_len; /* ARP body, IPv4 header with options, IPv6 header with extensions */
	uint32_t l4_off;
	uint32_t l4_len;      /* L4 header and payload, as the IP length says */
	uint32_t payload_off; /* after the UDP or ICMP header */
	uint32_t payload_len;
	uint32_t frame_len; /* end of the L3 packet: bytes after it are Ethernet padding */
	uint8_t ip_version; /* 4, 6, or 0 for ARP */
	uint8_t proto;      /* L4 protocol (the last next-header for IPv6) */
	uint8_t ttl;        /* TTL or hop limit */
	uint8_t tos;        /* TOS or traffic class */
	uint8_t flags;      /* NET_PKT_* */
	uint8_t icmp_type;
	uint8_t icmp_code;
	uint16_t arp_op;
	uint16_t sport, dport;
	struct net_addr src, dst; /* ARP: sender and target protocol addresses */
};

/* net_parse() flags: the NIC already verified a checksum (DPDK RX offload reported it good). */
#define NET_PARSE_IP_CSUM_OK  0x01
#define NET_PARSE_UDP_CSUM_OK 0x02

/*
 * Parse and validate a received Ethernet frame. Returns 0, or:
 *   -EMSGSIZE         the frame (or the IP length) ends inside a header: Ethernet, VLAN tag, ARP
 *                     body, IP header or options, IPv6 extension header, UDP or ICMP header
 *   -ELOOP            more than NET_MAX_VLAN tags, or more than NET_IP6_MAX_EXT IPv6 extension
 *                     headers
 *   -EAFNOSUPPORT     ethertype is not IPv4, IPv6 or ARP (802.3 length frames included)
 *   -EOPNOTSUPP       ARP for another hardware or protocol type than Ethernet/IPv4
 *   -EPROTO           the IP version field disagrees with the ethertype
 *   -EBADMSG          IPv4 IHL < 5 or total length < IHL; IPv6 hop-by-hop header not first
 *   -EOVERFLOW        IPv4 total length or IPv6 payload length runs past the end of the frame
 *   -EILSEQ           IPv4 header checksum is wrong
 *   -EFBIG            a fragment (NET_PKT_FRAG set; L3 fields filled): count it and drop it
 *   -EPROTONOSUPPORT  L4 protocol other than UDP, ICMP over IPv4, ICMPv6 over IPv6 (proto and
 *                     l4_off filled); also an IPv6 routing header with segments left, which
 *                     would ask us to forward
 *   -ERANGE           UDP length field differs from the IP payload length, or is below 8
 *   -EBADE            UDP, ICMP or ICMPv6 checksum is wrong, or UDP over IPv6 has checksum 0
 * Bytes after the IP length (Ethernet padding) are ignored. Never reads outside buf[0..len).
 */
int net_parse(const uint8_t *buf, size_t len, unsigned flags, struct net_pkt *p);

/* The same for a bare IP packet (a tunnel's payload, e.g. GTP-U): offsets are from buf, l2_len
 * is 0, and -EPROTO means the version nibble is neither 4 nor 6. */
int net_parse_ip(const uint8_t *buf, size_t len, unsigned flags, struct net_pkt *p);

/* A short stable name for a net_parse() error, for per-reason drop counters ("truncated",
 * "bad_ip_checksum"...); "other" for anything else. */
const char *net_parse_err_name(int err);

#endif
