/* Header builders for what the fan-out sends: Ethernet (+ 802.1Q) + IPv4/IPv6 + UDP, once per
 * destination as a template, then patched per packet (lengths, IPv4 id, checksums). */
#ifndef CAAS_NET_BUILD_H
#define CAAS_NET_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "csum.h"
#include "net.h"

/* Write an Ethernet header, with one 802.1Q tag when tagged, and return its length (14 or 18).
 * buf must hold 18 bytes. */
size_t net_eth_write(uint8_t *buf, const uint8_t dst[NET_ETH_ALEN], const uint8_t src[NET_ETH_ALEN],
                     bool tagged, uint16_t tci, uint16_t ethertype);

/*
 * Write the L2 header of a reply to the received frame (parsed as p): destination = the frame's
 * source, source = mac, the frame's VLAN tags and ethertype kept. Writes p->l2_len bytes; out
 * may be frame (in place).
 */
void net_eth_reply(uint8_t *out, const uint8_t *frame, const struct net_pkt *p,
                   const uint8_t mac[NET_ETH_ALEN]);

/* One UDP destination as the fan-out sends to it. */
struct net_udp_flow {
	uint8_t dst_mac[NET_ETH_ALEN]; /* the next hop's MAC, from the neighbour table */
	uint8_t src_mac[NET_ETH_ALEN];
	bool vlan;
	uint16_t vlan_tci;
	struct net_addr src, dst; /* same family */
	uint16_t sport, dport;
	uint8_t ttl;         /* 0 means NET_DEFAULT_TTL; hop limit for IPv6 */
	uint8_t tos;         /* DSCP << 2 | ECN; traffic class for IPv6 */
	uint32_t flow_label; /* IPv6 only, 20 bits */
};

/* Largest header: Ethernet, one tag, IPv6, UDP = 66, rounded up to a multiple of 8. */
#define NET_TMPL_MAX 72
/* Smallest header (Ethernet, IPv4, UDP = 42): net_tmpl_write*() copy two fixed NET_TMPL_COPY
 * blocks that overlap, which needs every header length to lie in [NET_TMPL_COPY, 2 *
 * NET_TMPL_COPY]. */
#define NET_TMPL_COPY 40

/* Prebuilt headers for one net_udp_flow. */
struct net_tmpl {
	uint8_t hdr[NET_TMPL_MAX];
	uint8_t len; /* header bytes: 42, 46, 62 or 66 */
	uint8_t l3_off;
	uint8_t ip_version;
	/* IPv4: folded sum of the header with total length, id and checksum zero.
	 * IPv6: pseudo-header addresses and next header plus the UDP ports. */
	uint32_t sum;
};

/* Build the template. -EINVAL if src and dst families differ or are not IPv4/IPv6. */
int net_tmpl_init(struct net_tmpl *t, const struct net_udp_flow *f);

/* Maximum payload behind a template (the IPv4 total or IPv6 payload length is 16 bits). */
static inline size_t net_tmpl_max_payload(const struct net_tmpl *t)
{
	return t->ip_version == 4 ? 0xffff - NET_IP4_HLEN - NET_UDP_HLEN : 0xffff - NET_UDP_HLEN;
}

static inline void net_tmpl_copy(const struct net_tmpl *t, uint8_t *buf)
{
	/* Two fixed-size copies inline to a few vector moves; a variable-length memcpy is a
	 * call with a size dispatch. They overlap by 2 * NET_TMPL_COPY - len bytes. */
	memcpy(buf, t->hdr, NET_TMPL_COPY);
	memcpy(buf + t->len - NET_TMPL_COPY, t->hdr + t->len - NET_TMPL_COPY, NET_TMPL_COPY);
}

/*
 * Per-packet hot path, IPv4: write t->len header bytes to buf for payload_len bytes of UDP
 * payload (<= net_tmpl_max_payload()). The header checksum comes from the precomputed sum with
 * the two changing words added; the UDP checksum stays 0 (allowed over IPv4, RFC 768). DF is
 * set, so ip_id only has to differ between packets in flight (RFC 6864).
 */
static inline void net_tmpl_write4(const struct net_tmpl *t, uint8_t *buf, uint16_t payload_len,
                                   uint16_t ip_id)
{
	net_tmpl_copy(t, buf);
	uint8_t *ip = buf + t->l3_off;
	uint16_t tot = (uint16_t)(NET_IP4_HLEN + NET_UDP_HLEN + payload_len);
	wr_be16(ip + 2, tot);
	wr_be16(ip + 4, ip_id);
	wr_be16(ip + 10, (uint16_t)~net_csum_fold(t->sum + tot + ip_id));
	wr_be16(ip + NET_IP4_HLEN + 4, (uint16_t)(NET_UDP_HLEN + payload_len));
}

/*
 * Per-packet hot path, IPv6: as above, with the mandatory UDP checksum completed from
 * payload_sum, the partial sum of everything after the UDP header (net_csum_partial() over the
 * RTP header and payload, chained; compute the shared media part once for all subscribers).
 */
static inline void net_tmpl_write6(const struct net_tmpl *t, uint8_t *buf, uint16_t payload_len,
                                   uint32_t payload_sum)
{
	net_tmpl_copy(t, buf);
	uint8_t *ip = buf + t->l3_off;
	uint16_t ulen = (uint16_t)(NET_UDP_HLEN + payload_len);
	wr_be16(ip + 4, ulen);
	wr_be16(ip + NET_IP6_HLEN + 4, ulen);
	/* ulen twice: once in the pseudo-header, once in the UDP header. */
	uint16_t c = (uint16_t)~net_csum_fold(net_csum_add(t->sum + 2u * ulen, payload_sum));
	wr_be16(ip + NET_IP6_HLEN + 6, c ? c : 0xffff);
}

/* Either family; ip_id is ignored for IPv6 and payload_sum for IPv4. */
static inline void net_tmpl_write(const struct net_tmpl *t, uint8_t *buf, uint16_t payload_len,
                                  uint16_t ip_id, uint32_t payload_sum)
{
	if (t->ip_version == 4)
		net_tmpl_write4(t, buf, payload_len, ip_id);
	else
		net_tmpl_write6(t, buf, payload_len, payload_sum);
}

/*
 * One-off form of the above: write the Ethernet/IP/UDP headers for f into buf. Returns the
 * header length, or -EINVAL (bad flow), -EMSGSIZE (payload_len too large for the IP length),
 * -ENOSPC (cap too small for the header).
 */
int net_udp_hdrs_write(uint8_t *buf, size_t cap, const struct net_udp_flow *f, size_t payload_len,
                       uint16_t ip_id, uint32_t payload_sum);

#endif
