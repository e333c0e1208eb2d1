/* RTP fixed header (RFC 3550 §5.1) and header extensions (RFC 8285): parse with exact bounds
 * checks, build, and rewrite in place. Pure protocol code: no DPDK, no allocation. */
#ifndef CAAS_RTP_RTP_H
#define CAAS_RTP_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

#define RTP_VERSION 2
#define RTP_HDR_MIN 12
#define RTP_MAX_CSRC 15

/* Header extension profiles (RFC 8285 §4.2, §4.3). */
#define RTP_EXT_PROFILE_ONE_BYTE 0xBEDEu
#define RTP_EXT_PROFILE_TWO_BYTE 0x1000u /* low 4 bits are "appbits" */
#define RTP_EXT_PROFILE_TWO_BYTE_MASK 0xFFF0u

struct rtp_hdr {
	bool padding;
	bool extension;
	bool marker;
	uint8_t csrc_count;
	uint8_t pt;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	const uint8_t *csrc; /* csrc_count big-endian words, inside the parsed buffer */
	uint16_t ext_profile;
	uint16_t ext_len;        /* bytes of extension data after the 4-byte extension header */
	const uint8_t *ext_data; /* NULL when there is no extension */
	size_t hdr_len;          /* offset of the payload */
	const uint8_t *payload;
	size_t payload_len; /* without padding */
	uint8_t pad_len;
};

/*
 * Parse and validate an RTP packet. Returns 0, or:
 *   -EPROTO    version is not 2
 *   -EMSGSIZE  shorter than the fixed header or its CSRC list
 *   -EBADMSG   extension header or padding runs past the end of the packet
 * Never reads outside buf[0..len).
 */
int rtp_parse(const uint8_t *buf, size_t len, struct rtp_hdr *h);

/* Quick test used by classifiers that see RTP and RTCP on one port (RFC 5761 §4):
 * true if the second byte is an RTCP packet type (192..223 after masking the marker). */
bool rtp_is_rtcp(const uint8_t *buf, size_t len);

/*
 * Write the fixed header, CSRC list and (when h->extension) the extension block described by
 * ext_profile/ext_data/ext_len into buf. ext_len must be a multiple of 4. Padding is not written:
 * h->padding is ignored. Returns the header length, or -ENOSPC / -EINVAL.
 */
int rtp_hdr_write(uint8_t *buf, size_t cap, const struct rtp_hdr *h);

/* In-place rewrites of a packet whose header was already validated (fan-out hot path). */
static inline void rtp_set_seq(uint8_t *pkt, uint16_t seq) { wr_be16(pkt + 2, seq); }
static inline void rtp_set_ts(uint8_t *pkt, uint32_t ts) { wr_be32(pkt + 4, ts); }
static inline void rtp_set_ssrc(uint8_t *pkt, uint32_t ssrc) { wr_be32(pkt + 8, ssrc); }
static inline void rtp_set_pt(uint8_t *pkt, uint8_t pt)
{
	pkt[1] = (uint8_t)((pkt[1] & 0x80) | (pt & 0x7f));
}

/* One element of an RFC 8285 extension block. */
struct rtp_ext_elem {
	uint8_t id;
	uint8_t len; /* data bytes: 1..16 one-byte form, 0..255 two-byte form */
	const uint8_t *data;
};

struct rtp_ext_iter {
	const uint8_t *p;
	const uint8_t *end;
	bool two_byte;
};

/* Start iterating a parsed header's extension. -ENOENT if it has none, or if its profile is
 * neither RFC 8285 form (the data is then opaque to us). */
int rtp_ext_iter_init(struct rtp_ext_iter *it, const struct rtp_hdr *h);

/* Next element: 1 with *e filled, 0 at the end (including the reserved ID 15 in the one-byte
 * form, which ends processing), -EBADMSG when an element runs past the block. */
int rtp_ext_next(struct rtp_ext_iter *it, struct rtp_ext_elem *e);

/* Find element id. 0 with *e filled, -ENOENT if absent, -EBADMSG for a malformed block. */
int rtp_ext_find(const struct rtp_hdr *h, uint8_t id, struct rtp_ext_elem *e);

/* Builds an RFC 8285 extension block (the part after the 4-byte extension header). */
struct rtp_ext_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool two_byte;
};

void rtp_ext_writer_init(struct rtp_ext_writer *w, uint8_t *buf, size_t cap, bool two_byte);

/* Append one element. -EINVAL for an id or length the chosen form cannot carry
 * (one-byte: id 1..14, len 1..16; two-byte: id 1..255, len 0..255), -ENOSPC when full. */
int rtp_ext_add(struct rtp_ext_writer *w, uint8_t id, const void *data, size_t len);

/* Pad to a multiple of 4 and fill h->extension, ext_profile, ext_data and ext_len.
 * -ENOSPC if the padding does not fit. */
int rtp_ext_finish(struct rtp_ext_writer *w, struct rtp_hdr *h);

/* Signed distance from a to b in 16-bit sequence space (positive when b is after a). */
static inline int16_t rtp_seq_diff(uint16_t a, uint16_t b) { return (int16_t)(uint16_t)(b - a); }

#endif
