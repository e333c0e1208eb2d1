/* RTCP compound parsing with per-type validity checks, typed views, builders and the NTP/RTT
 * arithmetic of RFC 3550 §6.4. */
#include "rtcp.h"

#include <errno.h>
#include <string.h>

#define SR_FIXED_LEN   24 /* sender SSRC + sender info, before the report blocks */
#define FB_FIXED_LEN   8  /* sender SSRC + media SSRC */
#define APP_FIXED_LEN  8  /* SSRC + name */
#define NACK_ENTRY_LEN 4

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static void write_hdr(uint8_t *buf, uint8_t count, uint8_t pt, size_t len)
{
	buf[0] = (uint8_t)(RTCP_VERSION << 6 | count);
	buf[1] = pt;
	wr_be16(buf + 2, (uint16_t)(len / 4 - 1));
}

/* The type-specific part of the validity check: after it, no accessor can run past the body. */
static int check_body(const struct rtcp_pkt *pkt)
{
	struct rtcp_sdes_iter sit;
	struct rtcp_sdes_item item;
	struct rtcp_bye bye;
	struct rtcp_fb fb;
	uint32_t ssrc;
	int rc;

	switch (pkt->pt) {
	case RTCP_PT_SR:
		if (pkt->body_len < SR_FIXED_LEN)
			return -EBADMSG;
		if ((size_t)RTCP_RB_LEN * pkt->count > pkt->body_len - SR_FIXED_LEN)
			return -EOVERFLOW;
		return 0;
	case RTCP_PT_RR:
		if (pkt->body_len < 4)
			return -EBADMSG;
		if ((size_t)RTCP_RB_LEN * pkt->count > pkt->body_len - 4)
			return -EOVERFLOW;
		return 0;
	case RTCP_PT_SDES:
		rtcp_sdes_iter_init(&sit, pkt);
		while ((rc = rtcp_sdes_next_chunk(&sit, &ssrc)) > 0)
			while ((rc = rtcp_sdes_next_item(&sit, &item)) > 0)
				;
		return rc;
	case RTCP_PT_BYE:
		return rtcp_bye_get(pkt, &bye);
	case RTCP_PT_APP:
		return pkt->body_len < APP_FIXED_LEN ? -EBADMSG : 0;
	case RTCP_PT_RTPFB:
	case RTCP_PT_PSFB:
		rc = rtcp_fb_get(pkt, &fb);
		if (rc < 0)
			return rc;
		if (fb.pt == RTCP_PT_RTPFB && fb.fmt == RTCP_RTPFB_NACK &&
		    (fb.fci_len == 0 || fb.fci_len % NACK_ENTRY_LEN))
			return -EBADMSG;
		if (fb.pt == RTCP_PT_PSFB && fb.fmt == RTCP_PSFB_FIR &&
		    (fb.fci_len == 0 || fb.fci_len % RTCP_FIR_ENTRY_LEN))
			return -EBADMSG;
		return 0;
	default:
		return 0;
	}
}

void rtcp_iter_init(struct rtcp_iter *it, const uint8_t *buf, size_t len, unsigned flags)
{
	it->buf = buf;
	it->len = len;
	it->off = 0;
	it->flags = flags;
	it->n = 0;
	it->err = 0;
}

static int iter_fail(struct rtcp_iter *it, int err)
{
	it->err = err;
	return err;
}

int rtcp_iter_next(struct rtcp_iter *it, struct rtcp_pkt *pkt)
{
	if (it->err)
		return it->err;
	size_t left = it->len - it->off;
	if (left == 0)
		return it->n ? 0 : iter_fail(it, -EMSGSIZE);
	if (left < RTCP_HDR_LEN)
		return iter_fail(it, -EMSGSIZE);

	const uint8_t *p = it->buf + it->off;
	if ((p[0] >> 6) != RTCP_VERSION)
		return iter_fail(it, -EPROTO);
	size_t len = 4 * ((size_t)rd_be16(p + 2) + 1);
	if (len > left)
		return iter_fail(it, -EMSGSIZE);
	uint8_t pt = p[1];
	if (pt < 192 || pt > 223)
		return iter_fail(it, -ENOMSG);
	if (it->n == 0 && !(it->flags & RTCP_F_REDUCED_SIZE) && pt != RTCP_PT_SR &&
	    pt != RTCP_PT_RR)
		return iter_fail(it, -ENOMSG);

	uint8_t pad = 0;
	if (p[0] & 0x20) {
		/* Padding belongs to the last packet only (RFC 3550 A.2); anywhere else it would
		 * shift every later packet, so the compound cannot be trusted. */
		if (len != left)
			return iter_fail(it, -EILSEQ);
		pad = p[len - 1];
		if (pad == 0 || pad % 4 || pad > len - RTCP_HDR_LEN)
			return iter_fail(it, -EILSEQ);
	}

	pkt->pt = pt;
	pkt->count = p[0] & 0x1f;
	pkt->pad_len = pad;
	pkt->data = p;
	pkt->len = len;
	pkt->body = p + RTCP_HDR_LEN;
	pkt->body_len = len - RTCP_HDR_LEN - pad;
	pkt->ssrc = 0;
	int rc = check_body(pkt);
	if (rc < 0)
		return iter_fail(it, rc);
	switch (pt) {
	case RTCP_PT_SR:
	case RTCP_PT_RR:
	case RTCP_PT_APP:
	case RTCP_PT_RTPFB:
	case RTCP_PT_PSFB:
		pkt->ssrc = rd_be32(pkt->body); /* check_body saw at least 4 bytes */
		break;
	}
	it->off += len;
	it->n++;
	return 1;
}

int rtcp_validate(const uint8_t *buf, size_t len, unsigned flags)
{
	struct rtcp_iter it;
	struct rtcp_pkt pkt;
	int rc;

	rtcp_iter_init(&it, buf, len, flags);
	while ((rc = rtcp_iter_next(&it, &pkt)) > 0)
		;
	return rc < 0 ? rc : (int)it.n;
}

int rtcp_sr_get(const struct rtcp_pkt *pkt, struct rtcp_sr *sr)
{
	if (pkt->pt != RTCP_PT_SR)
		return -EINVAL;
	if (pkt->body_len < SR_FIXED_LEN)
		return -EBADMSG;
	const uint8_t *b = pkt->body;
	sr->ssrc = rd_be32(b);
	sr->ntp = rd_be64(b + 4);
	sr->rtp_ts = rd_be32(b + 12);
	sr->packet_count = rd_be32(b + 16);
	sr->octet_count = rd_be32(b + 20);
	return 0;
}

int rtcp_rb_get(const struct rtcp_pkt *pkt, unsigned i, struct rtcp_rb *rb)
{
	size_t off;
	if (pkt->pt == RTCP_PT_SR)
		off = SR_FIXED_LEN;
	else if (pkt->pt == RTCP_PT_RR)
		off = 4;
	else
		return -EINVAL;
	if (i >= pkt->count)
		return -ERANGE;
	off += (size_t)RTCP_RB_LEN * i;
	if (off > pkt->body_len || pkt->body_len - off < RTCP_RB_LEN)
		return -EOVERFLOW;

	const uint8_t *b = pkt->body + off;
	rb->ssrc = rd_be32(b);
	rb->fraction_lost = b[4];
	/* Sign-extend the 24-bit field without shifting a negative value. */
	rb->cumulative_lost = (int32_t)(rd_be24(b + 5) ^ 0x800000u) - 0x800000;
	rb->ext_highest_seq = rd_be32(b + 8);
	rb->jitter = rd_be32(b + 12);
	rb->lsr = rd_be32(b + 16);
	rb->dlsr = rd_be32(b + 20);
	return 0;
}

int rtcp_sdes_iter_init(struct rtcp_sdes_iter *it, const struct rtcp_pkt *pkt)
{
	if (pkt->pt != RTCP_PT_SDES)
		return -EINVAL;
	it->body = pkt->body;
	it->len = pkt->body_len;
	it->off = 0;
	it->chunks_left = pkt->count;
	it->ssrc = 0;
	it->in_chunk = false;
	return 0;
}

int rtcp_sdes_next_chunk(struct rtcp_sdes_iter *it, uint32_t *ssrc)
{
	if (it->in_chunk) {
		struct rtcp_sdes_item item;
		int rc;
		while ((rc = rtcp_sdes_next_item(it, &item)) > 0)
			;
		if (rc < 0)
			return rc;
	}
	if (it->chunks_left == 0)
		return 0;
	/* The smallest chunk is an SSRC and one word holding the end item and its padding. */
	if (it->len - it->off < 8)
		return -EOVERFLOW;
	it->ssrc = rd_be32(it->body + it->off);
	it->off += 4;
	it->chunks_left--;
	it->in_chunk = true;
	*ssrc = it->ssrc;
	return 1;
}

int rtcp_sdes_next_item(struct rtcp_sdes_iter *it, struct rtcp_sdes_item *item)
{
	if (!it->in_chunk)
		return 0;
	size_t left = it->len - it->off;
	if (left == 0)
		return -EBADMSG; /* no end item */
	const uint8_t *p = it->body + it->off;
	if (p[0] == RTCP_SDES_END) {
		/* The end item is followed by null octets up to the next 32-bit boundary. */
		size_t next = align4(it->off + 1);
		if (next > it->len)
			return -EBADMSG;
		it->off = next;
		it->in_chunk = false;
		return 0;
	}
	if (left < 2 || p[1] > left - 2)
		return -EBADMSG;
	item->ssrc = it->ssrc;
	item->type = p[0];
	item->len = p[1];
	item->data = p + 2;
	it->off += 2 + (size_t)p[1];
	return 1;
}

int rtcp_sdes_cname(const struct rtcp_pkt *pkt, struct rtcp_sdes_item *item)
{
	struct rtcp_sdes_iter it;
	uint32_t ssrc;
	int rc = rtcp_sdes_iter_init(&it, pkt);
	if (rc < 0)
		return rc;
	while ((rc = rtcp_sdes_next_chunk(&it, &ssrc)) > 0)
		while ((rc = rtcp_sdes_next_item(&it, item)) > 0)
			if (item->type == RTCP_SDES_CNAME)
				return 0;
	return rc < 0 ? rc : -ENOENT;
}

int rtcp_bye_get(const struct rtcp_pkt *pkt, struct rtcp_bye *bye)
{
	if (pkt->pt != RTCP_PT_BYE)
		return -EINVAL;
	size_t off = 4u * pkt->count;
	if (off > pkt->body_len)
		return -EOVERFLOW;
	bye->ssrcs = pkt->body;
	bye->count = pkt->count;
	bye->reason = NULL;
	bye->reason_len = 0;
	if (pkt->body_len > off) {
		uint8_t n = pkt->body[off];
		if (n > pkt->body_len - off - 1)
			return -EBADMSG;
		if (n)
			bye->reason = pkt->body + off + 1;
		bye->reason_len = n;
	}
	return 0;
}

int rtcp_app_get(const struct rtcp_pkt *pkt, struct rtcp_app *app)
{
	if (pkt->pt != RTCP_PT_APP)
		return -EINVAL;
	if (pkt->body_len < APP_FIXED_LEN)
		return -EBADMSG;
	app->subtype = pkt->count;
	app->ssrc = rd_be32(pkt->body);
	memcpy(app->name, pkt->body + 4, 4);
	app->data = pkt->body + APP_FIXED_LEN;
	app->len = pkt->body_len - APP_FIXED_LEN;
	return 0;
}

int rtcp_fb_get(const struct rtcp_pkt *pkt, struct rtcp_fb *fb)
{
	if (pkt->pt != RTCP_PT_RTPFB && pkt->pt != RTCP_PT_PSFB)
		return -EINVAL;
	if (pkt->body_len < FB_FIXED_LEN)
		return -EBADMSG;
	fb->pt = pkt->pt;
	fb->fmt = pkt->count;
	fb->sender_ssrc = rd_be32(pkt->body);
	fb->media_ssrc = rd_be32(pkt->body + 4);
	fb->fci = pkt->body + FB_FIXED_LEN;
	fb->fci_len = pkt->body_len - FB_FIXED_LEN;
	return 0;
}

int rtcp_nack_iter_init(struct rtcp_nack_iter *it, const struct rtcp_fb *fb)
{
	if (fb->pt != RTCP_PT_RTPFB || fb->fmt != RTCP_RTPFB_NACK)
		return -EINVAL;
	it->fci = fb->fci;
	it->len = fb->fci_len;
	it->off = 0;
	it->pid = 0;
	it->pending = 0;
	return 0;
}

int rtcp_nack_next(struct rtcp_nack_iter *it, uint16_t *seq)
{
	while (it->pending == 0) {
		if (it->len - it->off < NACK_ENTRY_LEN)
			return 0;
		it->pid = rd_be16(it->fci + it->off);
		it->pending = 1u | (uint32_t)rd_be16(it->fci + it->off + 2) << 1;
		it->off += NACK_ENTRY_LEN;
	}
	unsigned bit = (unsigned)__builtin_ctz(it->pending);
	it->pending &= it->pending - 1;
	*seq = (uint16_t)(it->pid + bit); /* wraps past 65535 as sequence numbers do */
	return 1;
}

int rtcp_fir_get(const struct rtcp_fb *fb, size_t i, struct rtcp_fir_entry *e)
{
	if (fb->pt != RTCP_PT_PSFB || fb->fmt != RTCP_PSFB_FIR)
		return -EINVAL;
	if (i >= rtcp_fir_count(fb))
		return -ERANGE;
	const uint8_t *p = fb->fci + RTCP_FIR_ENTRY_LEN * i;
	e->ssrc = rd_be32(p);
	e->seq = p[4];
	return 0;
}

static void write_rb(uint8_t *p, const struct rtcp_rb *rb)
{
	int32_t lost = rb->cumulative_lost;
	if (lost > 0x7fffff)
		lost = 0x7fffff;
	else if (lost < -0x800000)
		lost = -0x800000;
	wr_be32(p, rb->ssrc);
	p[4] = rb->fraction_lost;
	wr_be24(p + 5, (uint32_t)lost & 0xffffffu);
	wr_be32(p + 8, rb->ext_highest_seq);
	wr_be32(p + 12, rb->jitter);
	wr_be32(p + 16, rb->lsr);
	wr_be32(p + 20, rb->dlsr);
}

int rtcp_sr_write(uint8_t *buf, size_t cap, const struct rtcp_sr *sr, const struct rtcp_rb *rb,
                  unsigned n_rb)
{
	if (n_rb > RTCP_MAX_RB || (n_rb && !rb))
		return -EINVAL;
	size_t len = RTCP_HDR_LEN + SR_FIXED_LEN + (size_t)RTCP_RB_LEN * n_rb;
	if (len > cap)
		return -ENOSPC;
	write_hdr(buf, (uint8_t)n_rb, RTCP_PT_SR, len);
	wr_be32(buf + 4, sr->ssrc);
	wr_be64(buf + 8, sr->ntp);
	wr_be32(buf + 16, sr->rtp_ts);
	wr_be32(buf + 20, sr->packet_count);
	wr_be32(buf + 24, sr->octet_count);
	for (unsigned i = 0; i < n_rb; i++)
		write_rb(buf + 28 + RTCP_RB_LEN * i, &rb[i]);
	return (int)len;
}

int rtcp_rr_write(uint8_t *buf, size_t cap, uint32_t ssrc, const struct rtcp_rb *rb, unsigned n_rb)
{
	if (n_rb > RTCP_MAX_RB || (n_rb && !rb))
		return -EINVAL;
	size_t len = RTCP_HDR_LEN + 4 + (size_t)RTCP_RB_LEN * n_rb;
	if (len > cap)
		return -ENOSPC;
	write_hdr(buf, (uint8_t)n_rb, RTCP_PT_RR, len);
	wr_be32(buf + 4, ssrc);
	for (unsigned i = 0; i < n_rb; i++)
		write_rb(buf + 8 + RTCP_RB_LEN * i, &rb[i]);
	return (int)len;
}

int rtcp_sdes_cname_write(uint8_t *buf, size_t cap, uint32_t ssrc, const char *cname)
{
	size_t n = cname ? strnlen(cname, 256) : 0;
	if (n == 0 || n > 255)
		return -EINVAL;
	/* Header, SSRC, CNAME item, then at least one null octet ending the item list. */
	size_t len = RTCP_HDR_LEN + align4(4 + 2 + n + 1);
	if (len > cap)
		return -ENOSPC;
	write_hdr(buf, 1, RTCP_PT_SDES, len);
	wr_be32(buf + 4, ssrc);
	buf[8] = RTCP_SDES_CNAME;
	buf[9] = (uint8_t)n;
	memcpy(buf + 10, cname, n);
	memset(buf + 10 + n, 0, len - 10 - n);
	return (int)len;
}

int rtcp_bye_write(uint8_t *buf, size_t cap, const uint32_t *ssrc, unsigned n_ssrc,
                   const char *reason)
{
	size_t rlen = reason ? strnlen(reason, 256) : 0;
	if (n_ssrc > RTCP_MAX_RB || (n_ssrc && !ssrc) || rlen > 255)
		return -EINVAL;
	size_t off = RTCP_HDR_LEN + 4u * n_ssrc;
	size_t len = off + (rlen ? align4(1 + rlen) : 0);
	if (len > cap)
		return -ENOSPC;
	write_hdr(buf, (uint8_t)n_ssrc, RTCP_PT_BYE, len);
	for (unsigned i = 0; i < n_ssrc; i++)
		wr_be32(buf + RTCP_HDR_LEN + 4 * i, ssrc[i]);
	if (rlen) {
		buf[off] = (uint8_t)rlen;
		memcpy(buf + off + 1, reason, rlen);
		memset(buf + off + 1 + rlen, 0, len - off - 1 - rlen);
	}
	return (int)len;
}

static void write_fb_hdr(uint8_t *buf, uint8_t fmt, uint8_t pt, size_t len, uint32_t sender,
                         uint32_t media)
{
	write_hdr(buf, fmt, pt, len);
	wr_be32(buf + 4, sender);
	wr_be32(buf + 8, media);
}

int rtcp_nack_write(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                    const uint16_t *seq, size_t n)
{
	if (n == 0 || !seq)
		return -EINVAL;
	size_t off = RTCP_HDR_LEN + FB_FIXED_LEN;
	for (size_t i = 0; i < n;) {
		/* Each entry starts at the oldest number not yet covered and takes the next 16:
		 * for sorted input no cover has fewer entries. */
		uint16_t pid = seq[i++], blp = 0;
		for (; i < n; i++) {
			uint16_t d = (uint16_t)(seq[i] - pid);
			if (d > 16)
				break;
			if (d)
				blp |= (uint16_t)(1u << (d - 1));
		}
		if (off + NACK_ENTRY_LEN > cap)
			return -ENOSPC;
		if (off + NACK_ENTRY_LEN > 4u * 65536) /* what the length word can count */
			return -EINVAL;
		wr_be16(buf + off, pid);
		wr_be16(buf + off + 2, blp);
		off += NACK_ENTRY_LEN;
	}
	write_fb_hdr(buf, RTCP_RTPFB_NACK, RTCP_PT_RTPFB, off, sender_ssrc, media_ssrc);
	return (int)off;
}

int rtcp_pli_write(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc)
{
	size_t len = RTCP_HDR_LEN + FB_FIXED_LEN;
	if (len > cap)
		return -ENOSPC;
	write_fb_hdr(buf, RTCP_PSFB_PLI, RTCP_PT_PSFB, len, sender_ssrc, media_ssrc);
	return (int)len;
}

int rtcp_fir_write(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc, uint8_t seq)
{
	size_t len = RTCP_HDR_LEN + FB_FIXED_LEN + RTCP_FIR_ENTRY_LEN;
	if (len > cap)
		return -ENOSPC;
	/* RFC 5104 §4.3.1.2: the target is named in the FCI; the header's media SSRC is 0. */
	write_fb_hdr(buf, RTCP_PSFB_FIR, RTCP_PT_PSFB, len, sender_ssrc, 0);
	wr_be32(buf + 12, media_ssrc);
	buf[16] = seq;
	buf[17] = buf[18] = buf[19] = 0;
	return (int)len;
}

uint64_t rtcp_ntp_from_timespec(const struct timespec *ts)
{
	/* Unsigned arithmetic: the NTP era wraps in 2036, and so does this, by design. */
	uint32_t sec = (uint32_t)((uint64_t)ts->tv_sec + RTCP_NTP_UNIX_OFFSET);
	uint32_t frac = (uint32_t)(((uint64_t)ts->tv_nsec << 32) / 1000000000u);
	return (uint64_t)sec << 32 | frac;
}

int64_t rtcp_rtt_us(uint32_t now_mid32, const struct rtcp_rb *rb)
{
	if (rb->lsr == 0)
		return -ENODATA;
	uint32_t since = now_mid32 - rb->lsr; /* modular: correct across the 16-bit seconds wrap */
	if (since > INT32_MAX || rb->dlsr > since)
		return -ERANGE;
	uint64_t rtt = since - rb->dlsr;
	return (int64_t)((rtt * 1000000u + 32768u) >> 16);
}
