/* Internet checksum: the summing loop and the pseudo-header and per-protocol wrappers. */
#include "csum.h"

#include <string.h>

#include "net.h"

/*
 * The ones' complement sum does not depend on byte order (RFC 1071 §2(B)), so the loop adds
 * native 64-bit loads as two 32-bit halves into a 64-bit accumulator (deferred carries, §2(C))
 * and swaps the folded result once at the end. Each step adds less than 2^33, so the
 * accumulator cannot overflow below 2^30 steps, far beyond any frame.
 */
static uint16_t net_csum_native(const uint8_t *p, size_t len)
{
	uint64_t s = 0, a, b, c, d;

	while (len >= 32) {
		memcpy(&a, p, 8);
		memcpy(&b, p + 8, 8);
		memcpy(&c, p + 16, 8);
		memcpy(&d, p + 24, 8);
		s += (a & 0xffffffff) + (a >> 32) + (b & 0xffffffff) + (b >> 32);
		s += (c & 0xffffffff) + (c >> 32) + (d & 0xffffffff) + (d >> 32);
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		memcpy(&a, p, 8);
		s += (a & 0xffffffff) + (a >> 32);
		p += 8;
		len -= 8;
	}
	/* Fixed-size loads keep the tail inline (a variable memcpy is a libc call). Each starts at
	 * an even offset, so every byte stays in its 16-bit lane. */
	if (len & 4) {
		uint32_t w;
		memcpy(&w, p, 4);
		s += w;
		p += 4;
	}
	if (len & 2) {
		uint16_t w;
		memcpy(&w, p, 2);
		s += w;
		p += 2;
	}
	if (len & 1) {
		/* The high byte of a zero-padded word (RFC 1071), in native order. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		s += p[0];
#else
		s += (uint32_t)p[0] << 8;
#endif
	}
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	uint16_t r = net_csum_fold((uint32_t)s);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	r = __builtin_bswap16(r);
#endif
	return r;
}

uint32_t net_csum_partial(const void *buf, size_t len, uint32_t sum)
{
	return net_csum_add(sum, net_csum_native(buf, len));
}

uint32_t net_csum_pseudo6(const uint8_t src[16], const uint8_t dst[16], uint8_t proto, uint32_t len)
{
	uint32_t s = net_csum_partial(src, 16, proto + (len >> 16) + (len & 0xffff));
	return net_csum_partial(dst, 16, s);
}

uint16_t net_ip4_hdr_csum(const uint8_t *ip)
{
	size_t hlen = 4u * (ip[0] & 0x0f);
	uint32_t s = net_csum_partial(ip, 10, 0);
	if (hlen > 12)
		s = net_csum_partial(ip + 12, hlen - 12, s);
	return (uint16_t)~net_csum_fold(s);
}

/* The UDP header with its checksum field read as zero. */
static uint32_t net_udp_hdr_sum(const uint8_t *udp)
{
	return (uint32_t)rd_be16(udp) + rd_be16(udp + 2) + rd_be16(udp + 4);
}

static uint16_t net_udp_finish(uint32_t s)
{
	uint16_t c = (uint16_t)~net_csum_fold(s);
	return c ? c : 0xffff;
}

uint16_t net_udp4_csum(const uint8_t *ip4, const uint8_t *udp, uint32_t payload_sum)
{
	uint32_t s =
	    net_csum_pseudo4(rd_be32(ip4 + 12), rd_be32(ip4 + 16), NET_PROTO_UDP, rd_be16(udp + 4));
	s = net_csum_add(s, net_udp_hdr_sum(udp));
	return net_udp_finish(net_csum_add(s, payload_sum));
}

uint16_t net_udp6_csum(const uint8_t *ip6, const uint8_t *udp, uint32_t payload_sum)
{
	uint32_t s = net_csum_pseudo6(ip6 + 8, ip6 + 24, NET_PROTO_UDP, rd_be16(udp + 4));
	s = net_csum_add(s, net_udp_hdr_sum(udp));
	return net_udp_finish(net_csum_add(s, payload_sum));
}

uint16_t net_icmp4_csum(const uint8_t *icmp, size_t len)
{
	uint32_t s = net_csum_partial(icmp, 2, 0);
	return (uint16_t)~net_csum_fold(net_csum_partial(icmp + 4, len - 4, s));
}

uint16_t net_icmp6_csum(const uint8_t src[16], const uint8_t dst[16], const uint8_t *icmp,
                        size_t len)
{
	uint32_t s = net_csum_pseudo6(src, dst, NET_PROTO_ICMPV6, (uint32_t)len);
	s = net_csum_partial(icmp, 2, s);
	return (uint16_t)~net_csum_fold(net_csum_partial(icmp + 4, len - 4, s));
}
