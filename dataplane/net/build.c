/* Ethernet and UDP header builders and per-destination header templates. */
#include "build.h"

#include <errno.h>

size_t net_eth_write(uint8_t *buf, const uint8_t dst[NET_ETH_ALEN], const uint8_t src[NET_ETH_ALEN],
                     bool tagged, uint16_t tci, uint16_t ethertype)
{
	size_t off = 2 * NET_ETH_ALEN;
	memmove(buf, dst, NET_ETH_ALEN);
	memmove(buf + NET_ETH_ALEN, src, NET_ETH_ALEN);
	if (tagged) {
		wr_be16(buf + off, NET_ETHERTYPE_VLAN);
		wr_be16(buf + off + 2, tci);
		off += NET_VLAN_HLEN;
	}
	wr_be16(buf + off, ethertype);
	return off + 2;
}

void net_eth_reply(uint8_t *out, const uint8_t *frame, const struct net_pkt *p,
                   const uint8_t mac[NET_ETH_ALEN])
{
	uint8_t peer[NET_ETH_ALEN];
	memcpy(peer, frame + NET_ETH_ALEN, NET_ETH_ALEN);
	if (out != frame)
		memcpy(out + 2 * NET_ETH_ALEN, frame + 2 * NET_ETH_ALEN,
		       p->l2_len - 2 * NET_ETH_ALEN);
	memcpy(out, peer, NET_ETH_ALEN);
	memmove(out + NET_ETH_ALEN, mac, NET_ETH_ALEN);
}

int net_tmpl_init(struct net_tmpl *t, const struct net_udp_flow *f)
{
	if (f->src.family != f->dst.family ||
	    (f->src.family != NET_AF_IP4 && f->src.family != NET_AF_IP6))
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	bool v4 = f->src.family == NET_AF_IP4;
	size_t off = net_eth_write(t->hdr, f->dst_mac, f->src_mac, f->vlan, f->vlan_tci,
	                           v4 ? NET_ETHERTYPE_IPV4 : NET_ETHERTYPE_IPV6);
	uint8_t *ip = t->hdr + off;
	uint8_t ttl = f->ttl ? f->ttl : NET_DEFAULT_TTL;
	uint8_t *udp;

	t->l3_off = (uint8_t)off;
	if (v4) {
		t->ip_version = 4;
		ip[0] = 0x45;
		ip[1] = f->tos;
		/* total length, id: per packet */
		wr_be16(ip + 6, NET_IP4_DF);
		ip[8] = ttl;
		ip[9] = NET_PROTO_UDP;
		/* checksum: per packet */
		wr_be32(ip + 12, f->src.v4);
		wr_be32(ip + 16, f->dst.v4);
		t->sum = net_csum_fold(net_csum_partial(ip, NET_IP4_HLEN, 0));
		udp = ip + NET_IP4_HLEN;
	} else {
		t->ip_version = 6;
		wr_be32(ip, 6u << 28 | (uint32_t)f->tos << 20 | (f->flow_label & 0xfffff));
		/* payload length: per packet */
		ip[6] = NET_PROTO_UDP;
		ip[7] = ttl;
		memcpy(ip + 8, f->src.v6, 16);
		memcpy(ip + 24, f->dst.v6, 16);
		udp = ip + NET_IP6_HLEN;
	}
	wr_be16(udp, f->sport);
	wr_be16(udp + 2, f->dport);
	/* length, checksum: per packet */
	if (!v4) {
		uint32_t s = net_csum_pseudo6(f->src.v6, f->dst.v6, NET_PROTO_UDP, 0);
		t->sum = net_csum_fold(s + f->sport + f->dport);
	}
	t->len = (uint8_t)(udp + NET_UDP_HLEN - t->hdr);
	return 0;
}

int net_udp_hdrs_write(uint8_t *buf, size_t cap, const struct net_udp_flow *f, size_t payload_len,
                       uint16_t ip_id, uint32_t payload_sum)
{
	struct net_tmpl t;
	int rc = net_tmpl_init(&t, f);
	if (rc < 0)
		return rc;
	if (payload_len > net_tmpl_max_payload(&t))
		return -EMSGSIZE;
	if (cap < t.len)
		return -ENOSPC;
	net_tmpl_write(&t, buf, (uint16_t)payload_len, ip_id, payload_sum);
	return t.len;
}
