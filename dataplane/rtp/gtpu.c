/* GTP-U header parsing, G-PDU encapsulation and Echo Response. */
#include "gtpu.h"

#include <errno.h>

#include "bytes.h"

/* Types whose comprehension-required bit is set but whose layout we know well enough to skip. */
static bool gtpu_ext_known(uint8_t type)
{
	switch (type) {
	case GTPU_EXT_RAN_CONTAINER:
	case GTPU_EXT_LONG_PDCP_PDU:
	case GTPU_EXT_XW_RAN_CONTAINER:
	case GTPU_EXT_NR_RAN_CONTAINER:
	case GTPU_EXT_PDU_SESSION:
	case GTPU_EXT_PDCP_PDU:
		return true;
	default:
		return false;
	}
}

/* c points at the container's content, at least 2 octets (an extension is 4n octets, n >= 1). */
static void gtpu_parse_psc(const uint8_t *c, struct gtpu_hdr *h)
{
	if (h->has_psc)
		return;
	h->has_psc = true;
	h->pdu_type = c[0] >> 4;
	/* QFI sits in the low 6 bits of the second octet in both DL and UL PDU Session
	 * Information (TS 38.415 §5.5.2.1, §5.5.2.2); other PDU types may lay it out otherwise. */
	if (h->pdu_type == GTPU_PDU_DL || h->pdu_type == GTPU_PDU_UL) {
		h->has_qfi = true;
		h->qfi = c[1] & 0x3f;
	}
}

int gtpu_parse(const uint8_t *buf, size_t len, struct gtpu_hdr *h)
{
	if (len < GTPU_HDR_MIN)
		return -EMSGSIZE;
	uint8_t flags = buf[0];
	if ((flags >> 5) != GTPU_VERSION)
		return -EPROTO;
	if (!(flags & GTPU_FLAG_PT))
		return -EPROTONOSUPPORT;

	h->msg_type = buf[1];
	size_t end = GTPU_HDR_MIN + (size_t)rd_be16(buf + 2);
	if (end > len)
		return -EMSGSIZE;
	h->msg_len = end;
	h->teid = rd_be32(buf + 4);
	h->has_seq = flags & GTPU_FLAG_S;
	h->seq = 0;
	h->has_npdu = flags & GTPU_FLAG_PN;
	h->npdu = 0;
	h->has_psc = false;
	h->pdu_type = 0;
	h->has_qfi = false;
	h->qfi = 0;
	h->inner = NULL;
	h->inner_len = 0;
	h->ip_version = 0;

	size_t off = GTPU_HDR_MIN;
	uint8_t next = GTPU_EXT_NONE;
	/* The 4-octet part is there when any of E, S, PN is set; fields whose flag is clear are
	 * present but must not be interpreted (§5.1). */
	if (flags & (GTPU_FLAG_E | GTPU_FLAG_S | GTPU_FLAG_PN)) {
		if (end - off < GTPU_OPT_LEN)
			return -EBADMSG;
		if (h->has_seq)
			h->seq = rd_be16(buf + 8);
		if (h->has_npdu)
			h->npdu = buf[10];
		if (flags & GTPU_FLAG_E)
			next = buf[11];
		off += GTPU_OPT_LEN;
	}

	for (unsigned int n = 0; next != GTPU_EXT_NONE; n++) {
		if (n == GTPU_MAX_EXT)
			return -ELOOP;
		if (off == end)
			return -EBADMSG;
		/* In 4-octet units, counting the length octet, content and next type. */
		size_t ext_len = 4u * buf[off];
		if (ext_len == 0 || ext_len > end - off)
			return -EBADMSG;
		if (next == GTPU_EXT_PDU_SESSION)
			gtpu_parse_psc(buf + off + 1, h);
		else if ((next & GTPU_EXT_COMPREHENSION_REQUIRED) && !gtpu_ext_known(next))
			return -EOPNOTSUPP;
		next = buf[off + ext_len - 1];
		off += ext_len;
	}
	h->hdr_len = off;

	if (h->msg_type != GTPU_MSG_GPDU)
		return 0;
	if (off == end)
		return -ENODATA;
	uint8_t ipv = buf[off] >> 4;
	if (ipv != 4 && ipv != 6)
		return -EAFNOSUPPORT;
	h->inner = buf + off;
	h->inner_len = end - off;
	h->ip_version = ipv;
	return 0;
}

int gtpu_write_gpdu_hdr(uint8_t *buf, size_t cap, const struct gtpu_hdr *h, size_t inner_len)
{
	if (h->has_qfi &&
	    ((h->pdu_type != GTPU_PDU_DL && h->pdu_type != GTPU_PDU_UL) || h->qfi > GTPU_QFI_MAX))
		return -EINVAL;
	size_t hlen = gtpu_gpdu_hdr_len(h);
	if (inner_len > GTPU_MAX_LEN - hlen)
		return -EMSGSIZE;
	if (hlen > cap)
		return -ENOSPC;

	uint8_t flags = GTPU_VERSION << 5 | GTPU_FLAG_PT;
	if (h->has_seq)
		flags |= GTPU_FLAG_S;
	if (h->has_qfi)
		flags |= GTPU_FLAG_E;
	buf[0] = flags;
	buf[1] = GTPU_MSG_GPDU;
	wr_be16(buf + 2, (uint16_t)(hlen - GTPU_HDR_MIN + inner_len));
	wr_be32(buf + 4, h->teid);
	if (hlen == GTPU_HDR_MIN)
		return (int)hlen;

	/* With E alone the sequence field is still sent, as zero, and not interpreted. */
	wr_be16(buf + 8, h->has_seq ? h->seq : 0);
	buf[10] = 0;
	buf[11] = h->has_qfi ? GTPU_EXT_PDU_SESSION : GTPU_EXT_NONE;
	if (h->has_qfi) {
		/* Minimal PDU Session Information (no QMP/SNP/PPP/RQI): one 4-octet unit. */
		buf[12] = 1;
		buf[13] = (uint8_t)(h->pdu_type << 4);
		buf[14] = h->qfi;
		buf[15] = GTPU_EXT_NONE;
	}
	return (int)hlen;
}

int gtpu_write_echo_resp(uint8_t *buf, size_t cap, const struct gtpu_hdr *req)
{
	if (req->msg_type != GTPU_MSG_ECHO_REQ)
		return -EINVAL;
	if (cap < GTPU_ECHO_RESP_LEN)
		return -ENOSPC;
	/* The peer matches the response by sequence number (§7.2.2); S must be set on echoes. */
	buf[0] = GTPU_VERSION << 5 | GTPU_FLAG_PT | GTPU_FLAG_S;
	buf[1] = GTPU_MSG_ECHO_RESP;
	wr_be16(buf + 2, GTPU_ECHO_RESP_LEN - GTPU_HDR_MIN);
	wr_be32(buf + 4, 0);
	wr_be16(buf + 8, req->seq);
	buf[10] = 0;
	buf[11] = GTPU_EXT_NONE;
	buf[12] = GTPU_IE_RECOVERY;
	buf[13] = 0; /* restart counter: unused in GTP-U, sent as zero (§8.2) */
	return GTPU_ECHO_RESP_LEN;
}
