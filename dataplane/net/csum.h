/* The Internet checksum (RFC 1071), its incremental update (RFC 1624), and the IPv4 header,
 * UDP and ICMP/ICMPv6 checksums with their pseudo-headers (RFC 768, RFC 8200 §8.1). */
#ifndef CAAS_NET_CSUM_H
#define CAAS_NET_CSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Checksum values here are the numbers read from or written to the wire with rd_be16() and
 * wr_be16(). A "partial" sum is an unfolded 32-bit ones' complement accumulator.
 */

/*
 * Add the ones' complement sum of buf, taken as big-endian 16-bit words (an odd last byte is
 * padded with zero), to sum. Partial sums of several buffers can be chained as long as every
 * buffer but the last has an even length. Works at any alignment, 8 bytes per step.
 */
uint32_t net_csum_partial(const void *buf, size_t len, uint32_t sum);

/* Ones' complement addition of two partial sums (end-around carry). */
static inline uint32_t net_csum_add(uint32_t a, uint32_t b)
{
	uint64_t t = (uint64_t)a + b;
	return (uint32_t)t + (uint32_t)(t >> 32);
}

/* Fold a partial sum to 16 bits; the result is not complemented. */
static inline uint16_t net_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The checksum field value for buf (whose own checksum field must be zero). */
static inline uint16_t net_csum(const void *buf, size_t len)
{
	return (uint16_t)~net_csum_fold(net_csum_partial(buf, len, 0));
}

/* True when a sum taken over data that includes its checksum field verifies. */
static inline bool net_csum_ok(uint32_t sum)
{
	return net_csum_fold(sum) == 0xffff;
}

/*
 * RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'): the checksum after a 16-bit word covered by it
 * changes from old to new. Unlike eqn. 2 it never turns a checksum into 0xffff where a full
 * recompute gives 0. For UDP, leave a zero (absent) checksum alone and map a 0 result to 0xffff.
 */
static inline uint16_t net_csum_update16(uint16_t csum, uint16_t old, uint16_t new)
{
	uint32_t s = (uint32_t)(uint16_t)~csum + (uint16_t)~old + new;
	return (uint16_t)~net_csum_fold(s);
}

/* The same for a 32-bit field (an IPv4 address) at an even offset. */
static inline uint16_t net_csum_update32(uint16_t csum, uint32_t old, uint32_t new)
{
	uint32_t s = (uint32_t)(uint16_t)~csum + (uint16_t) ~(old >> 16) + (uint16_t)~old +
	             (new >> 16) + (new & 0xffff);
	return (uint16_t)~net_csum_fold(s);
}

/* Partial sums of the IPv4 and IPv6 pseudo-headers (src, dst host-order IPv4; len = L4 bytes). */
static inline uint32_t net_csum_pseudo4(uint32_t src, uint32_t dst, uint8_t proto, uint32_t len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + (len >> 16) +
	       (len & 0xffff);
}

uint32_t net_csum_pseudo6(const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
                          uint32_t len);

/* Checksum field value for an IPv4 header of IHL*4 bytes at ip, reading its checksum as 0. */
uint16_t net_ip4_hdr_csum(const uint8_t *ip);

/*
 * UDP checksum field value for the datagram whose 8-byte header is at udp (length taken from
 * its length field, its checksum field read as 0) and whose payload, wherever it lives, has the
 * partial sum payload_sum (net_csum_partial(payload, len, 0), chained over pieces). ip4/ip6 is
 * the IP header holding the addresses. A computed 0 is returned as 0xffff (RFC 768).
 */
uint16_t net_udp4_csum(const uint8_t *ip4, const uint8_t *udp, uint32_t payload_sum);
uint16_t net_udp6_csum(const uint8_t *ip6, const uint8_t *udp, uint32_t payload_sum);

/* ICMP (no pseudo-header) and ICMPv6 checksum field values for a message of len >= 4 bytes,
 * reading its checksum field as 0. */
uint16_t net_icmp4_csum(const uint8_t *icmp, size_t len);
uint16_t net_icmp6_csum(const uint8_t src[16], const uint8_t dst[16], const uint8_t *icmp,
                        size_t len);

#endif
