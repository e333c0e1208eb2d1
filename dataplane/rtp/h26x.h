/* H.264 (RFC 6184) and H.265 (RFC 7798) RTP payload formats: a depacketizer that rebuilds
 * Annex-B access units with loss-aware framing, and the matching packetizer. Non-interleaved
 * mode only (packetization-mode 0/1 for H.264; no DONL for H.265), as cameras send it. */
#ifndef CAAS_RTP_H26X_H
#define CAAS_RTP_H26X_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum h26x_codec {
	H26X_H264,
	H26X_H265,
};

/* NAL unit types we act on. */
enum {
	H264_NAL_IDR = 5,
	H264_NAL_SEI = 6,
	H264_NAL_SPS = 7,
	H264_NAL_PPS = 8,
	H264_NAL_AUD = 9,
	H264_NAL_STAP_A = 24,
	H264_NAL_FU_A = 28,
	H265_NAL_BLA_W_LP = 16,
	H265_NAL_CRA = 21,
	H265_NAL_VPS = 32,
	H265_NAL_SPS = 33,
	H265_NAL_PPS = 34,
	H265_NAL_AUD = 35,
	H265_NAL_AP = 48,
	H265_NAL_FU = 49,
	H265_NAL_PACI = 50,
};

/* Parameter-set slots: H.264 uses SPS and PPS; H.265 uses all three. */
enum h26x_ps { H26X_PS_VPS, H26X_PS_SPS, H26X_PS_PPS, H26X_PS_COUNT };
#define H26X_PS_MAX 512

/* Bytes of NAL header: 1 for H.264, 2 for H.265. */
static inline size_t h26x_nal_hdr_len(enum h26x_codec c) { return c == H26X_H264 ? 1 : 2; }

/* NAL unit type from the first byte(s) of a NAL unit (caller ensures hdr_len bytes). */
static inline uint8_t h26x_nal_type(enum h26x_codec c, const uint8_t *nal)
{
	return c == H26X_H264 ? (nal[0] & 0x1f) : ((nal[0] >> 1) & 0x3f);
}

/* True for NAL types that start a decodable picture: IDR (H.264), IRAP (H.265). */
bool h26x_is_keyframe_type(enum h26x_codec c, uint8_t type);

/* Parameter-set slot of a NAL type, or -1 if it is not a parameter set. */
int h26x_ps_slot(enum h26x_codec c, uint8_t type);

/*
 * Annex-B scanning: find the next NAL unit at or after *pos. Start codes (00 00 01 or
 * 00 00 00 01) are skipped and trailing zero bytes are not part of the NAL. Returns 1 with
 * *nal and *len set and *pos advanced, or 0 when no NAL unit is left.
 */
int h26x_annexb_next(const uint8_t **pos, const uint8_t *end, const uint8_t **nal, size_t *len);

/* What one RTP payload carries, seen without depacketizing (the dataplane's per-packet look):
 * whether it holds a keyframe NAL unit or the start of one, and any whole parameter sets. */
struct h26x_scan {
	bool keyframe;
	const uint8_t *ps[H26X_PS_COUNT];
	uint16_t ps_len[H26X_PS_COUNT];
};

void h26x_scan_payload(enum h26x_codec c, const uint8_t *p, size_t len, struct h26x_scan *out);

/* --- depacketizer --------------------------------------------------------------------------- */

/* Options for h26x_depkt_init(). */
enum {
	/* After a broken access unit, drop everything until the next keyframe, since the
	 * frames between reference something the decoder never got. */
	H26X_DEPKT_WAIT_KEYFRAME = 1u << 0,
	/* Put the last seen parameter sets in front of a keyframe that arrives without any,
	 * so that a decoder (or a recording) can start there. */
	H26X_DEPKT_INSERT_PARAMS = 1u << 1,
};

struct h26x_au {
	const uint8_t *data; /* Annex-B, 4-byte start codes; valid until the next push */
	size_t len;
	uint32_t ts;
	uint16_t first_seq;
	uint16_t last_seq;
	uint32_t nal_count;
	bool keyframe;
	bool params_inserted;
};

struct h26x_depkt_stats {
	uint64_t packets;      /* packets pushed */
	uint64_t aus;	       /* complete access units delivered */
	uint64_t keyframes;    /* of which keyframes */
	uint64_t broken;       /* access units discarded because packets were missing */
	uint64_t skipped;      /* complete access units dropped while waiting for a keyframe */
	uint64_t malformed;    /* packets with a bad payload structure */
	uint64_t unsupported;  /* interleaved-mode or PACI packets */
	uint64_t overflow;     /* access units larger than the buffer */
	uint64_t duplicates;   /* packets with the sequence number just seen, ignored */
	uint64_t late;	       /* packets older than the current position, ignored */
	uint64_t resyncs;      /* sequence jumps of 3000 or more: a new numbering */
	uint64_t params_inserted;
};

struct h26x_depkt {
	enum h26x_codec codec;
	unsigned flags;
	uint8_t *buf[2]; /* each: H26X_DEPKT_HEADROOM bytes, then the AU */
	size_t cap;	 /* AU bytes per buffer, after the headroom */
	int cur;	 /* buffer being filled */
	size_t len;	 /* bytes of the AU being built */
	size_t nal_start; /* where the NAL being reassembled from FUs begins */
	uint32_t ts;
	uint16_t first_seq;
	uint16_t last_seq;
	uint32_t nal_count;
	bool in_au;
	bool in_fu;
	bool broken;
	bool keyframe;
	bool has_ps[H26X_PS_COUNT]; /* in the AU being built */
	bool have_seq;
	bool waiting_keyframe;
	int last_error;
	uint16_t ps_len[H26X_PS_COUNT];
	uint8_t ps[H26X_PS_COUNT][H26X_PS_MAX];
	struct h26x_depkt_stats stats;
};

#define H26X_DEPKT_HEADROOM (H26X_PS_COUNT * (4 + H26X_PS_MAX))

/* Memory to give h26x_depkt_init() for access units of up to au_max bytes. */
#define H26X_DEPKT_MEM(au_max) (2 * (H26X_DEPKT_HEADROOM + (size_t)(au_max)))

/* mem must stay valid for the depacketizer's life; -EINVAL if it is too small to be useful. */
int h26x_depkt_init(struct h26x_depkt *d, enum h26x_codec codec, unsigned flags, void *mem,
		    size_t mem_len);

/*
 * Push one RTP packet's payload, in sequence order (reordering is the jitter buffer's job).
 * Completed access units go into out[0..n) and n (0, 1 or 2: a timestamp change can close the
 * previous unit while a marker closes this one) is returned; they stay valid until the next
 * push. A packet that cannot be used is counted, breaks the access unit it belongs to, and
 * leaves its reason in d->last_error (0 for a good packet):
 *   -EMSGSIZE    payload too short for its header
 *   -EPROTO      forbidden bit set, or a reserved NAL type
 *   -EBADMSG     bad aggregation sizes or aggregated NAL unit headers, or a fragment with
 *                both start and end bits
 *   -EOPNOTSUPP  interleaved-mode (STAP-B, MTAP, FU-B) or PACI packet
 *   -ENOBUFS     the access unit outgrew the buffer
 */
int h26x_depkt_push(struct h26x_depkt *d, uint16_t seq, uint32_t ts, bool marker,
		    const uint8_t *payload, size_t len, struct h26x_au out[2]);

/* Deliver the access unit in progress, if it is whole (end of stream). Returns 0 or 1. */
int h26x_depkt_flush(struct h26x_depkt *d, struct h26x_au *out);

/* Seed parameter sets from out-of-band data (SDP sprop-parameter-sets / sprop-vps/sps/pps),
 * given as Annex-B. Returns how many were stored. */
int h26x_depkt_set_params(struct h26x_depkt *d, const uint8_t *annexb, size_t len);

/* The last parameter sets seen, as Annex-B (VPS, SPS, PPS order). Returns the length written,
 * 0 if none is known yet, or -ENOSPC. */
int h26x_depkt_get_params(const struct h26x_depkt *d, uint8_t *out, size_t cap);

/* --- packetizer ----------------------------------------------------------------------------- */

enum {
	/* Never aggregate small NAL units (STAP-A / AP); one NAL unit or fragment a packet. */
	H26X_PACK_NO_AGGREGATION = 1u << 0,
};

struct h26x_pack {
	enum h26x_codec codec;
	unsigned flags;
	size_t max_payload;
	const uint8_t *pos; /* Annex-B scan position, past the look-ahead NAL unit */
	const uint8_t *end;
	const uint8_t *nal; /* NAL unit being fragmented, NULL between NAL units */
	size_t nal_len;
	size_t frag_off;     /* bytes of nal already sent in fragments (after its header) */
	const uint8_t *next; /* one NAL unit of look-ahead, so each byte is scanned once */
	size_t next_len;
	bool next_valid;
};

/* max_payload: RTP payload bytes a packet may carry (MTU less IP, UDP and RTP headers).
 * -EINVAL if it is too small to carry a fragment. */
int h26x_pack_init(struct h26x_pack *p, enum h26x_codec codec, unsigned flags,
		   size_t max_payload);

/* Start packetizing one Annex-B access unit; the bytes must stay valid until it is done. */
void h26x_pack_au(struct h26x_pack *p, const uint8_t *au, size_t len);

/* Write the next packet's payload into out (cap >= max_payload). Returns its length, with
 * *marker true on the last packet of the access unit; 0 when the access unit is done;
 * -ENOSPC if cap is too small; -EBADMSG for a NAL unit shorter than its header. */
int h26x_pack_next(struct h26x_pack *p, uint8_t *out, size_t cap, bool *marker);

#endif
