/* RTP header parsing, building and RFC 8285 header extensions. */
#include "rtp.h"

#include <errno.h>
#include <string.h>

int rtp_parse(const uint8_t *buf, size_t len, struct rtp_hdr *h)
{
	if (len < RTP_HDR_MIN)
		return -EMSGSIZE;
	if ((buf[0] >> 6) != RTP_VERSION)
		return -EPROTO;

	h->padding = buf[0] & 0x20;
	h->extension = buf[0] & 0x10;
	h->csrc_count = buf[0] & 0x0f;
	h->marker = buf[1] & 0x80;
	h->pt = buf[1] & 0x7f;
	h->seq = rd_be16(buf + 2);
	h->ts = rd_be32(buf + 4);
	h->ssrc = rd_be32(buf + 8);

	size_t off = RTP_HDR_MIN + 4u * h->csrc_count;
	if (off > len)
		return -EMSGSIZE;
	h->csrc = buf + RTP_HDR_MIN;

	h->ext_profile = 0;
	h->ext_len = 0;
	h->ext_data = NULL;
	if (h->extension) {
		if (len - off < 4)
			return -EBADMSG;
		h->ext_profile = rd_be16(buf + off);
		size_t ext_bytes = 4u * rd_be16(buf + off + 2);
		off += 4;
		if (ext_bytes > len - off)
			return -EBADMSG;
		h->ext_data = buf + off;
		h->ext_len = (uint16_t)ext_bytes;
		off += ext_bytes;
	}

	size_t end = len;
	h->pad_len = 0;
	if (h->padding) {
		/* The last octet counts itself, so 0 is invalid (RFC 3550 A.1 validity check). */
		uint8_t pad = buf[len - 1];
		if (pad == 0 || pad > len - off)
			return -EBADMSG;
		h->pad_len = pad;
		end -= pad;
	}
	h->hdr_len = off;
	h->payload = buf + off;
	h->payload_len = end - off;
	return 0;
}

bool rtp_is_rtcp(const uint8_t *buf, size_t len)
{
	if (len < 2)
		return false;
	uint8_t pt = buf[1] & 0x7f;
	return pt >= 64 && pt <= 95; /* 192..223 with the marker bit masked off */
}

int rtp_hdr_write(uint8_t *buf, size_t cap, const struct rtp_hdr *h)
{
	if (h->csrc_count > RTP_MAX_CSRC || (h->extension && (h->ext_len % 4) != 0))
		return -EINVAL;
	size_t need = RTP_HDR_MIN + 4u * h->csrc_count + (h->extension ? 4u + h->ext_len : 0);
	if (need > cap)
		return -ENOSPC;

	buf[0] = (uint8_t)(RTP_VERSION << 6 | (h->extension ? 0x10 : 0) | h->csrc_count);
	buf[1] = (uint8_t)((h->marker ? 0x80 : 0) | (h->pt & 0x7f));
	wr_be16(buf + 2, h->seq);
	wr_be32(buf + 4, h->ts);
	wr_be32(buf + 8, h->ssrc);
	size_t off = RTP_HDR_MIN;
	if (h->csrc_count) {
		memcpy(buf + off, h->csrc, 4u * h->csrc_count);
		off += 4u * h->csrc_count;
	}
	if (h->extension) {
		wr_be16(buf + off, h->ext_profile);
		wr_be16(buf + off + 2, (uint16_t)(h->ext_len / 4));
		off += 4;
		if (h->ext_len)
			memcpy(buf + off, h->ext_data, h->ext_len);
		off += h->ext_len;
	}
	return (int)off;
}

int rtp_ext_iter_init(struct rtp_ext_iter *it, const struct rtp_hdr *h)
{
	if (!h->ext_data)
		return -ENOENT;
	if (h->ext_profile == RTP_EXT_PROFILE_ONE_BYTE)
		it->two_byte = false;
	else if ((h->ext_profile & RTP_EXT_PROFILE_TWO_BYTE_MASK) == RTP_EXT_PROFILE_TWO_BYTE)
		it->two_byte = true;
	else
		return -ENOENT;
	it->p = h->ext_data;
	it->end = h->ext_data + h->ext_len;
	return 0;
}

int rtp_ext_next(struct rtp_ext_iter *it, struct rtp_ext_elem *e)
{
	while (it->p < it->end) {
		uint8_t b = *it->p;
		if (b == 0) { /* padding byte, in either form */
			it->p++;
			continue;
		}
		size_t left = (size_t)(it->end - it->p);
		size_t hdr, dlen;
		if (!it->two_byte) {
			e->id = b >> 4;
			if (e->id == 15) { /* reserved: stop processing the block (RFC 8285 §4.2) */
				it->p = it->end;
				return 0;
			}
			hdr = 1;
			dlen = (size_t)(b & 0x0f) + 1;
		} else {
			if (left < 2)
				return -EBADMSG;
			e->id = b;
			hdr = 2;
			dlen = it->p[1];
		}
		if (hdr + dlen > left)
			return -EBADMSG;
		e->len = (uint8_t)dlen;
		e->data = it->p + hdr;
		it->p += hdr + dlen;
		return 1;
	}
	return 0;
}

int rtp_ext_find(const struct rtp_hdr *h, uint8_t id, struct rtp_ext_elem *e)
{
	struct rtp_ext_iter it;
	int rc = rtp_ext_iter_init(&it, h);
	if (rc < 0)
		return rc;
	while ((rc = rtp_ext_next(&it, e)) > 0)
		if (e->id == id)
			return 0;
	return rc < 0 ? rc : -ENOENT;
}

void rtp_ext_writer_init(struct rtp_ext_writer *w, uint8_t *buf, size_t cap, bool two_byte)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->two_byte = two_byte;
}

int rtp_ext_add(struct rtp_ext_writer *w, uint8_t id, const void *data, size_t len)
{
	size_t hdr;
	if (!w->two_byte) {
		if (id < 1 || id > 14 || len < 1 || len > 16)
			return -EINVAL;
		hdr = 1;
	} else {
		if (id < 1 || len > 255)
			return -EINVAL;
		hdr = 2;
	}
	if (hdr + len > w->cap - w->len)
		return -ENOSPC;
	uint8_t *p = w->buf + w->len;
	if (!w->two_byte) {
		p[0] = (uint8_t)(id << 4 | (len - 1));
	} else {
		p[0] = id;
		p[1] = (uint8_t)len;
	}
	if (len)
		memcpy(p + hdr, data, len);
	w->len += hdr + len;
	return 0;
}

int rtp_ext_finish(struct rtp_ext_writer *w, struct rtp_hdr *h)
{
	size_t padded = (w->len + 3) & ~(size_t)3;
	if (padded > w->cap || padded > 4u * 0xffff)
		return -ENOSPC;
	memset(w->buf + w->len, 0, padded - w->len);
	w->len = padded;
	h->extension = true;
	h->ext_profile = w->two_byte ? RTP_EXT_PROFILE_TWO_BYTE : RTP_EXT_PROFILE_ONE_BYTE;
	h->ext_data = w->buf;
	h->ext_len = (uint16_t)padded;
	return 0;
}
