/* H.264 / H.265 RTP depacketizer and packetizer (RFC 6184, RFC 7798), non-interleaved mode. */
#include "h26x.h"

#include <errno.h>
#include <string.h>

#include "bytes.h"

/* A sequence jump this large either way is a new numbering, not loss or reordering. */
#define H26X_RESYNC 3000

static const uint8_t start_code[4] = {0, 0, 0, 1};

bool h26x_is_keyframe_type(enum h26x_codec c, uint8_t type)
{
	if (c == H26X_H264)
		return type == H264_NAL_IDR;
	return type >= H265_NAL_BLA_W_LP && type <= H265_NAL_CRA; /* IRAP: BLA, IDR, CRA */
}

int h26x_ps_slot(enum h26x_codec c, uint8_t type)
{
	if (c == H26X_H264) {
		if (type == H264_NAL_SPS)
			return H26X_PS_SPS;
		if (type == H264_NAL_PPS)
			return H26X_PS_PPS;
		return -1;
	}
	if (type >= H265_NAL_VPS && type <= H265_NAL_PPS)
		return H26X_PS_VPS + (type - H265_NAL_VPS);
	return -1;
}

/* Position of the next 00 00 01, or end. Steps three bytes at a time where it can. */
static const uint8_t *find_start_code(const uint8_t *p, const uint8_t *end)
{
	while (end - p >= 3) {
		if (p[2] > 1) {
			p += 3;
		} else if (p[2] == 0) {
			p++;
		} else {
			if (p[0] == 0 && p[1] == 0)
				return p;
			p += 3;
		}
	}
	return end;
}

int h26x_annexb_next(const uint8_t **pos, const uint8_t *end, const uint8_t **nal, size_t *len)
{
	const uint8_t *p = *pos;
	for (;;) {
		const uint8_t *sc = find_start_code(p, end);
		if (sc == end) {
			*pos = end;
			return 0;
		}
		const uint8_t *begin = sc + 3;
		const uint8_t *next = find_start_code(begin, end);
		const uint8_t *stop = next;
		/* Zero bytes before a start code are trailing_zero_8bits or the first byte of a
		 * 4-byte start code; a NAL unit never ends in 0x00. */
		while (stop > begin && stop[-1] == 0)
			stop--;
		p = next;
		if (stop > begin) {
			*nal = begin;
			*len = (size_t)(stop - begin);
			*pos = next;
			return 1;
		}
	}
}

static void scan_nal(enum h26x_codec c, const uint8_t *nal, size_t len, struct h26x_scan *out)
{
	if (len < h26x_nal_hdr_len(c))
		return;
	uint8_t type = h26x_nal_type(c, nal);
	if (h26x_is_keyframe_type(c, type))
		out->keyframe = true;
	int slot = h26x_ps_slot(c, type);
	if (slot >= 0 && len <= UINT16_MAX) {
		out->ps[slot] = nal;
		out->ps_len[slot] = (uint16_t)len;
	}
}

void h26x_scan_payload(enum h26x_codec c, const uint8_t *p, size_t len, struct h26x_scan *out)
{
	size_t hl = h26x_nal_hdr_len(c);
	memset(out, 0, sizeof(*out));
	if (len < hl + 1)
		return;
	uint8_t type = h26x_nal_type(c, p);
	uint8_t agg = c == H26X_H264 ? H264_NAL_STAP_A : H265_NAL_AP;
	uint8_t fu = c == H26X_H264 ? H264_NAL_FU_A : H265_NAL_FU;
	if (type == agg) {
		for (size_t off = hl; len - off >= 2;) {
			size_t n = rd_be16(p + off);
			if (n > len - off - 2)
				break;
			scan_nal(c, p + off + 2, n, out);
			off += 2 + n;
		}
	} else if (type == fu) {
		uint8_t fuh = p[hl];
		uint8_t inner = c == H26X_H264 ? (fuh & 0x1f) : (fuh & 0x3f);
		if ((fuh & 0x80) && h26x_is_keyframe_type(c, inner))
			out->keyframe = true;
	} else if (c == H26X_H264 ? (type >= 1 && type <= 23) : type < H265_NAL_AP) {
		scan_nal(c, p, len, out);
	}
}

/* --- depacketizer --------------------------------------------------------------------------- */

int h26x_depkt_init(struct h26x_depkt *d, enum h26x_codec codec, unsigned flags, void *mem,
		    size_t mem_len)
{
	size_t half = mem_len / 2;
	if (!mem || half < H26X_DEPKT_HEADROOM + 2048)
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	d->codec = codec;
	d->flags = flags;
	d->buf[0] = mem;
	d->buf[1] = (uint8_t *)mem + half;
	d->cap = half - H26X_DEPKT_HEADROOM;
	d->waiting_keyframe = flags & H26X_DEPKT_WAIT_KEYFRAME;
	return 0;
}

static uint8_t *au_base(struct h26x_depkt *d)
{
	return d->buf[d->cur] + H26X_DEPKT_HEADROOM;
}

static void au_begin(struct h26x_depkt *d, uint16_t seq, uint32_t ts)
{
	d->in_au = true;
	d->in_fu = false;
	d->broken = false;
	d->keyframe = false;
	memset(d->has_ps, 0, sizeof(d->has_ps));
	d->len = 0;
	d->ts = ts;
	d->first_seq = seq;
	d->last_seq = seq;
	d->nal_count = 0;
}

/* Append to the access unit being built. A broken unit is not copied any further: it will be
 * discarded, so the bytes would be wasted work. */
static int au_put(struct h26x_depkt *d, const void *p, size_t n)
{
	if (d->broken)
		return 0;
	if (n > d->cap - d->len) {
		d->broken = true;
		return -ENOBUFS;
	}
	memcpy(au_base(d) + d->len, p, n);
	d->len += n;
	return 0;
}

/* Keyframe detection and parameter-set capture, on a whole NAL unit. */
static void note_nal(struct h26x_depkt *d, const uint8_t *nal, size_t len)
{
	if (len < h26x_nal_hdr_len(d->codec))
		return;
	uint8_t type = h26x_nal_type(d->codec, nal);
	d->nal_count++;
	if (h26x_is_keyframe_type(d->codec, type))
		d->keyframe = true;
	int slot = h26x_ps_slot(d->codec, type);
	if (slot >= 0) {
		d->has_ps[slot] = true;
		if (len <= H26X_PS_MAX) {
			memcpy(d->ps[slot], nal, len);
			d->ps_len[slot] = (uint16_t)len;
		}
	}
}

static int put_nal(struct h26x_depkt *d, const uint8_t *nal, size_t len)
{
	if (d->in_fu) { /* a fragmented NAL unit that never got its end */
		d->in_fu = false;
		d->broken = true;
	}
	int rc = au_put(d, start_code, sizeof(start_code));
	if (rc == 0)
		rc = au_put(d, nal, len);
	if (rc == 0 && !d->broken)
		note_nal(d, nal, len);
	return rc;
}

/* A NAL unit header that may also be sent on its own: F clear, H.264 types 1..23, H.265 types
 * below 48 with TemporalId > 0. */
static bool nal_hdr_ok(enum h26x_codec c, const uint8_t *h)
{
	if (h[0] & 0x80)
		return false;
	if (c == H26X_H264)
		return (h[0] & 0x1f) >= 1 && (h[0] & 0x1f) <= 23;
	return (h[1] & 0x07) != 0 && ((h[0] >> 1) & 0x3f) < H265_NAL_AP;
}

/* STAP-A (H.264) or AP (H.265): hdr_len bytes of header, then 16-bit sizes and NAL units.
 * The whole packet is checked before anything is added. */
static int put_aggregate(struct h26x_depkt *d, const uint8_t *p, size_t len)
{
	size_t hl = h26x_nal_hdr_len(d->codec);
	const uint8_t *q = p + hl, *end = p + len;
	if (q >= end)
		return -EMSGSIZE;
	for (const uint8_t *r = q; r < end;) {
		if (end - r < 2)
			return -EBADMSG;
		size_t n = rd_be16(r);
		if (n < hl || n > (size_t)(end - r - 2) || !nal_hdr_ok(d->codec, r + 2))
			return -EBADMSG;
		r += 2 + n;
	}
	while (q < end) {
		size_t n = rd_be16(q);
		int rc = put_nal(d, q + 2, n);
		if (rc < 0)
			return rc;
		q += 2 + n;
	}
	return 0;
}

static int put_fragment(struct h26x_depkt *d, uint8_t fu_hdr, const uint8_t *nal_hdr,
			const uint8_t *data, size_t len)
{
	bool start = fu_hdr & 0x80, end = fu_hdr & 0x40;
	size_t hl = h26x_nal_hdr_len(d->codec);
	int rc;

	if (start && end)
		return -EBADMSG;
	if (start) {
		if (d->in_fu)
			d->broken = true;
		d->nal_start = d->len;
		d->in_fu = true;
		rc = au_put(d, start_code, sizeof(start_code));
		if (rc == 0)
			rc = au_put(d, nal_hdr, hl);
	} else if (!d->in_fu) {
		/* Its start is gone: the NAL unit cannot be rebuilt. The packet itself is fine. */
		d->broken = true;
		return 0;
	} else {
		rc = 0;
	}
	if (rc == 0)
		rc = au_put(d, data, len);
	if (rc == 0 && end) {
		d->in_fu = false;
		if (!d->broken)
			note_nal(d, au_base(d) + d->nal_start + 4, d->len - d->nal_start - 4);
	}
	return rc;
}

static int push_h264(struct h26x_depkt *d, const uint8_t *p, size_t len)
{
	if (len < 1)
		return -EMSGSIZE;
	if (p[0] & 0x80)
		return -EPROTO;
	uint8_t type = p[0] & 0x1f;
	if (type >= 1 && type <= 23)
		return put_nal(d, p, len);
	switch (type) {
	case H264_NAL_STAP_A:
		return put_aggregate(d, p, len);
	case H264_NAL_FU_A: {
		if (len < 3)
			return -EMSGSIZE;
		uint8_t inner = p[1] & 0x1f;
		if (inner == 0 || inner > 23)
			return -EBADMSG;
		uint8_t hdr = (uint8_t)((p[0] & 0xe0) | inner);
		return put_fragment(d, p[1], &hdr, p + 2, len - 2);
	}
	case 25: /* STAP-B */
	case 26: /* MTAP16 */
	case 27: /* MTAP24 */
	case 29: /* FU-B */
		return -EOPNOTSUPP;
	default:
		return -EPROTO;
	}
}

static int push_h265(struct h26x_depkt *d, const uint8_t *p, size_t len)
{
	if (len < 2)
		return -EMSGSIZE;
	if ((p[0] & 0x80) || (p[1] & 0x07) == 0) /* forbidden bit, TemporalId 0 */
		return -EPROTO;
	uint8_t type = (p[0] >> 1) & 0x3f;
	if (type < H265_NAL_AP)
		return put_nal(d, p, len);
	switch (type) {
	case H265_NAL_AP:
		return put_aggregate(d, p, len);
	case H265_NAL_FU: {
		if (len < 4)
			return -EMSGSIZE;
		uint8_t inner = p[2] & 0x3f;
		if (inner >= H265_NAL_AP)
			return -EBADMSG;
		uint8_t hdr[2] = {(uint8_t)((p[0] & 0x81) | inner << 1), p[1]};
		return put_fragment(d, p[2], hdr, p + 3, len - 3);
	}
	case H265_NAL_PACI:
		return -EOPNOTSUPP;
	default: /* 51..63 are unspecified: RFC 7798 §4.4 says ignore them */
		d->stats.unsupported++;
		return 0;
	}
}

/* Close the access unit being built. Returns 1 with *out filled when it is delivered. */
static int au_close(struct h26x_depkt *d, struct h26x_au *out)
{
	if (!d->in_au)
		return 0;
	d->in_au = false;
	if (d->in_fu)
		d->broken = true;
	if (d->broken) {
		d->stats.broken++;
		if (d->flags & H26X_DEPKT_WAIT_KEYFRAME)
			d->waiting_keyframe = true;
		return 0;
	}
	if (d->len == 0)
		return 0;
	if (d->waiting_keyframe) {
		if (!d->keyframe) {
			d->stats.skipped++;
			return 0;
		}
		d->waiting_keyframe = false;
	}

	uint8_t *base = au_base(d), *start = base;
	out->params_inserted = false;
	bool carries_ps = d->has_ps[H26X_PS_VPS] || d->has_ps[H26X_PS_SPS] || d->has_ps[H26X_PS_PPS];
	if (d->keyframe && !carries_ps && (d->flags & H26X_DEPKT_INSERT_PARAMS)) {
		/* Prepend into the headroom, last first, so the order is VPS, SPS, PPS. A keyframe
		 * that carries some parameter sets is left alone: the order would be wrong. */
		for (int slot = H26X_PS_COUNT - 1; slot >= 0; slot--) {
			if (d->ps_len[slot] == 0)
				continue;
			start -= d->ps_len[slot];
			memcpy(start, d->ps[slot], d->ps_len[slot]);
			start -= sizeof(start_code);
			memcpy(start, start_code, sizeof(start_code));
		}
		if (start != base) {
			out->params_inserted = true;
			d->stats.params_inserted++;
		}
	}
	out->data = start;
	out->len = (size_t)(base + d->len - start);
	out->ts = d->ts;
	out->first_seq = d->first_seq;
	out->last_seq = d->last_seq;
	out->nal_count = d->nal_count;
	out->keyframe = d->keyframe;
	d->stats.aus++;
	if (d->keyframe)
		d->stats.keyframes++;
	d->cur ^= 1; /* the next unit goes into the other buffer: this one stays valid */
	return 1;
}

int h26x_depkt_push(struct h26x_depkt *d, uint16_t seq, uint32_t ts, bool marker,
		    const uint8_t *payload, size_t len, struct h26x_au out[2])
{
	int n = 0;
	bool gap = false;

	d->stats.packets++;
	d->last_error = 0;
	if (d->have_seq) {
		int16_t diff = (int16_t)(uint16_t)(seq - d->last_seq);
		if (diff == 0) {
			d->stats.duplicates++;
			return 0;
		}
		if (diff <= -H26X_RESYNC || diff >= H26X_RESYNC) {
			/* A new numbering (a camera restart): what was in progress is lost. */
			d->stats.resyncs++;
			gap = true;
		} else if (diff < 0) {
			d->stats.late++;
			return 0;
		} else {
			gap = diff > 1;
		}
	}
	d->have_seq = true;
	if (d->in_au && ts != d->ts) {
		/* Its marker never came (lost, or the sender does not set it). If packets are
		 * missing, its tail may be among them. */
		if (gap)
			d->broken = true;
		n += au_close(d, &out[n]);
	}
	if (!d->in_au)
		au_begin(d, seq, ts);
	if (gap) /* the missing packets may be the start of this unit */
		d->broken = true;
	d->last_seq = seq;

	int rc = d->codec == H26X_H264 ? push_h264(d, payload, len) : push_h265(d, payload, len);
	if (rc < 0) {
		d->last_error = rc;
		d->broken = true;
		if (rc == -EOPNOTSUPP)
			d->stats.unsupported++;
		else if (rc == -ENOBUFS)
			d->stats.overflow++;
		else
			d->stats.malformed++;
	}
	if (marker)
		n += au_close(d, &out[n]);
	return n;
}

int h26x_depkt_flush(struct h26x_depkt *d, struct h26x_au *out)
{
	return au_close(d, out);
}

int h26x_depkt_set_params(struct h26x_depkt *d, const uint8_t *annexb, size_t len)
{
	const uint8_t *pos = annexb, *nal;
	size_t n;
	int stored = 0;
	while (h26x_annexb_next(&pos, annexb + len, &nal, &n)) {
		if (n < h26x_nal_hdr_len(d->codec) || n > H26X_PS_MAX)
			continue;
		int slot = h26x_ps_slot(d->codec, h26x_nal_type(d->codec, nal));
		if (slot < 0)
			continue;
		memcpy(d->ps[slot], nal, n);
		d->ps_len[slot] = (uint16_t)n;
		stored++;
	}
	return stored;
}

int h26x_depkt_get_params(const struct h26x_depkt *d, uint8_t *out, size_t cap)
{
	size_t len = 0;
	for (int slot = 0; slot < H26X_PS_COUNT; slot++) {
		size_t n = d->ps_len[slot];
		if (!n)
			continue;
		if (sizeof(start_code) + n > cap - len)
			return -ENOSPC;
		memcpy(out + len, start_code, sizeof(start_code));
		memcpy(out + len + sizeof(start_code), d->ps[slot], n);
		len += sizeof(start_code) + n;
	}
	return (int)len;
}

/* --- packetizer ----------------------------------------------------------------------------- */

int h26x_pack_init(struct h26x_pack *p, enum h26x_codec codec, unsigned flags,
		   size_t max_payload)
{
	if (max_payload < 16 || max_payload > 65535)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->codec = codec;
	p->flags = flags;
	p->max_payload = max_payload;
	return 0;
}

void h26x_pack_au(struct h26x_pack *p, const uint8_t *au, size_t len)
{
	p->pos = au;
	p->end = au + len;
	p->nal = NULL;
	p->next_valid = false;
}

/* The next NAL unit without consuming it, or NULL. */
static const uint8_t *peek_nal(struct h26x_pack *p, size_t *len)
{
	if (!p->next_valid) {
		if (!h26x_annexb_next(&p->pos, p->end, &p->next, &p->next_len))
			p->next = NULL;
		p->next_valid = true;
	}
	*len = p->next_len;
	return p->next;
}

static void take_nal(struct h26x_pack *p)
{
	p->next_valid = false;
}

/* Aggregation packet header: F is the OR of the units', NRI the highest (H.264); LayerId and
 * TemporalId the lowest (H.265). */
static size_t write_agg_hdr(struct h26x_pack *p, uint8_t *out, const uint8_t *nal)
{
	if (p->codec == H26X_H264) {
		out[0] = (uint8_t)((nal[0] & 0xe0) | H264_NAL_STAP_A);
		return 1;
	}
	out[0] = (uint8_t)((nal[0] & 0x81) | H265_NAL_AP << 1);
	out[1] = nal[1];
	return 2;
}

static void merge_agg_hdr(struct h26x_pack *p, uint8_t *out, const uint8_t *nal)
{
	uint8_t f = (uint8_t)((out[0] | nal[0]) & 0x80);
	if (p->codec == H26X_H264) {
		uint8_t nri = out[0] & 0x60, nnri = nal[0] & 0x60;
		out[0] = (uint8_t)(f | (nnri > nri ? nnri : nri) | H264_NAL_STAP_A);
		return;
	}
	unsigned layer = (unsigned)(out[0] & 1) << 5 | out[1] >> 3, tid = out[1] & 7;
	unsigned nlayer = (unsigned)(nal[0] & 1) << 5 | nal[1] >> 3, ntid = nal[1] & 7;
	layer = nlayer < layer ? nlayer : layer;
	tid = ntid < tid ? ntid : tid;
	out[0] = (uint8_t)(f | H265_NAL_AP << 1 | layer >> 5);
	out[1] = (uint8_t)((layer & 0x1f) << 3 | tid);
}

int h26x_pack_next(struct h26x_pack *p, uint8_t *out, size_t cap, bool *marker)
{
	size_t hl = h26x_nal_hdr_len(p->codec);
	size_t len;

	if (cap < p->max_payload)
		return -ENOSPC;
	if (!p->nal) {
		const uint8_t *nal = peek_nal(p, &len);
		if (!nal)
			return 0;
		take_nal(p);
		if (len < hl)
			return -EBADMSG;
		if (len <= p->max_payload) {
			size_t n = 0, count = 1, next_len;
			const uint8_t *next = NULL;
			if (!(p->flags & H26X_PACK_NO_AGGREGATION))
				next = peek_nal(p, &next_len);
			if (next && next_len >= hl && hl + 4 + len + next_len <= p->max_payload) {
				n = write_agg_hdr(p, out, nal);
				wr_be16(out + n, (uint16_t)len);
				memcpy(out + n + 2, nal, len);
				n += 2 + len;
				while (next && next_len >= hl && n + 2 + next_len <= p->max_payload) {
					merge_agg_hdr(p, out, next);
					wr_be16(out + n, (uint16_t)next_len);
					memcpy(out + n + 2, next, next_len);
					n += 2 + next_len;
					count++;
					take_nal(p);
					next = peek_nal(p, &next_len);
				}
			} else {
				memcpy(out, nal, len);
				n = len;
			}
			*marker = peek_nal(p, &next_len) == NULL;
			return (int)n;
		}
		p->nal = nal;
		p->nal_len = len;
		p->frag_off = 0;
	}

	/* Fragment: FU-A (H.264) or FU (H.265), the NAL header folded into the FU headers. */
	size_t fu_hl, body = p->nal_len - hl;
	if (p->codec == H26X_H264) {
		out[0] = (uint8_t)((p->nal[0] & 0xe0) | H264_NAL_FU_A);
		out[1] = p->nal[0] & 0x1f;
		fu_hl = 2;
	} else {
		out[0] = (uint8_t)((p->nal[0] & 0x81) | H265_NAL_FU << 1);
		out[1] = p->nal[1];
		out[2] = (p->nal[0] >> 1) & 0x3f;
		fu_hl = 3;
	}
	size_t chunk = body - p->frag_off;
	if (chunk > p->max_payload - fu_hl)
		chunk = p->max_payload - fu_hl;
	uint8_t *fu = &out[fu_hl - 1];
	if (p->frag_off == 0)
		*fu |= 0x80;
	memcpy(out + fu_hl, p->nal + hl + p->frag_off, chunk);
	p->frag_off += chunk;
	*marker = false;
	if (p->frag_off == body) {
		*fu |= 0x40;
		p->nal = NULL;
		*marker = peek_nal(p, &len) == NULL;
	}
	return (int)(fu_hl + chunk);
}
