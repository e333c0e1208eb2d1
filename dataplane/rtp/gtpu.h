/* GTP-U (3GPP TS 29.281) as seen on N3: header and extension-chain parsing with the 5G PDU
 * Session Container (TS 38.415), G-PDU encapsulation and Echo Response. No DPDK, no allocation. */
#ifndef CAAS_RTP_GTPU_H
#define CAAS_RTP_GTPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GTPU_PORT    2152
#define GTPU_VERSION 1
#define GTPU_HDR_MIN 8 /* mandatory part; the length field counts what follows it */
#define GTPU_OPT_LEN 4 /* sequence number, N-PDU number, next extension header type */
#define GTPU_MAX_LEN (GTPU_HDR_MIN + 0xffff)
#define GTPU_MAX_EXT 16 /* real N3 traffic carries one or two; the cap bounds per-packet work */

/* First octet: version (3 bits), PT, spare, E, S, PN. */
#define GTPU_FLAG_PT 0x10
#define GTPU_FLAG_E  0x04
#define GTPU_FLAG_S  0x02
#define GTPU_FLAG_PN 0x01

/* Message types handled by a GTP-U endpoint (TS 29.281 §6.1). */
#define GTPU_MSG_ECHO_REQ           1
#define GTPU_MSG_ECHO_RESP          2
#define GTPU_MSG_ERROR_IND          26
#define GTPU_MSG_SUPP_EXT_HDR_NOTIF 31
#define GTPU_MSG_END_MARKER         254
#define GTPU_MSG_GPDU               255

/* Next extension header types (TS 29.281 §5.2.1). An endpoint must understand a type whose most
 * significant bit is set, or drop the packet. */
#define GTPU_EXT_NONE                   0x00
#define GTPU_EXT_LONG_PDCP_PDU_R16      0x03
#define GTPU_EXT_SERVICE_CLASS          0x20
#define GTPU_EXT_UDP_PORT               0x40
#define GTPU_EXT_RAN_CONTAINER          0x81
#define GTPU_EXT_LONG_PDCP_PDU          0x82
#define GTPU_EXT_XW_RAN_CONTAINER       0x83
#define GTPU_EXT_NR_RAN_CONTAINER       0x84
#define GTPU_EXT_PDU_SESSION            0x85
#define GTPU_EXT_PDCP_PDU               0xc0
#define GTPU_EXT_COMPREHENSION_REQUIRED 0x80

/* PDU Session Container PDU types (TS 38.415 §5.5.2). */
#define GTPU_PDU_DL  0
#define GTPU_PDU_UL  1
#define GTPU_QFI_MAX 63

/* Information elements (TS 29.281 §8). */
#define GTPU_IE_RECOVERY   14
#define GTPU_ECHO_RESP_LEN (GTPU_HDR_MIN + GTPU_OPT_LEN + 2)

struct gtpu_hdr {
	uint8_t msg_type;
	uint32_t teid;
	bool has_seq; /* S flag; seq is 0 without it */
	uint16_t seq;
	bool has_npdu; /* PN flag; npdu is 0 without it */
	uint8_t npdu;
	bool has_psc;     /* a PDU Session Container was present (the first one counts) */
	uint8_t pdu_type; /* GTPU_PDU_DL or GTPU_PDU_UL; other values leave has_qfi false */
	bool has_qfi;
	uint8_t qfi;
	size_t hdr_len; /* offset past the optional part and the extension chain */
	size_t msg_len; /* GTPU_HDR_MIN + length field; bytes after it (padding) are ignored */
	const uint8_t *inner; /* G-PDU: the T-PDU inside the parsed buffer; otherwise NULL */
	size_t inner_len;
	uint8_t ip_version; /* G-PDU: 4 or 6; otherwise 0 */
};

/*
 * Parse and validate a GTP-U message (a UDP payload from port GTPU_PORT). Returns 0, or:
 *   -EMSGSIZE         shorter than 8 bytes, or than the length field says (truncated datagram)
 *   -EPROTO           version is not 1
 *   -EPROTONOSUPPORT  PT is 0 (GTP', charging, not user plane)
 *   -EBADMSG          the optional part or an extension header does not fit in the length,
 *                     or an extension header has length 0
 *   -ELOOP            more than GTPU_MAX_EXT extension headers
 *   -EOPNOTSUPP       an extension header type we do not know has its comprehension-required bit
 *                     set (the peer may expect a Supported Extension Headers Notification)
 *   -ENODATA          G-PDU with an empty T-PDU
 *   -EAFNOSUPPORT     G-PDU whose T-PDU is not IPv4 or IPv6
 * Every message type parses; only a G-PDU fills inner. Other messages' information elements
 * are at buf[hdr_len..msg_len). Never reads outside buf[0..len).
 */
int gtpu_parse(const uint8_t *buf, size_t len, struct gtpu_hdr *h);

/* Header length gtpu_write_gpdu_hdr() will produce for h: 8, 12 (sequence number only) or 16
 * (with a PDU Session Container), so callers can reserve headroom before writing. */
static inline size_t gtpu_gpdu_hdr_len(const struct gtpu_hdr *h)
{
	if (h->has_qfi)
		return GTPU_HDR_MIN + GTPU_OPT_LEN + 4;
	return h->has_seq ? GTPU_HDR_MIN + GTPU_OPT_LEN : GTPU_HDR_MIN;
}

/*
 * Write a G-PDU header for an inner packet of inner_len bytes that the caller places right after
 * it. Uses h->teid, h->has_seq/seq and, when h->has_qfi, adds a PDU Session Container with
 * h->pdu_type (GTPU_PDU_DL or GTPU_PDU_UL) and h->qfi; other fields are ignored. Returns the
 * header length, or -EINVAL (bad pdu_type or qfi), -EMSGSIZE (the length field cannot hold
 * inner_len), -ENOSPC (cap too small).
 */
int gtpu_write_gpdu_hdr(uint8_t *buf, size_t cap, const struct gtpu_hdr *h, size_t inner_len);

/*
 * Answer a parsed Echo Request (TS 29.281 §7.2.2): same sequence number, TEID 0, Recovery IE with
 * restart counter 0 (§8.2). Returns GTPU_ECHO_RESP_LEN, or -EINVAL if req is not an Echo Request,
 * -ENOSPC if cap is too small.
 */
int gtpu_write_echo_resp(uint8_t *buf, size_t cap, const struct gtpu_hdr *req);

#endif
