/* RTCP (RFC 3550, RFC 4585, RFC 5104): compound packet parsing and packet builders. */
#ifndef CAAS_RTP_RTCP_H
#define CAAS_RTP_RTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bytes.h"

/* One reception report block (RFC 3550 §6.4.1), host byte order. */
struct rtcp_rb {
	uint32_t ssrc;
	uint8_t fraction_lost;	 /* fixed point, 8 fractional bits */
	int32_t cumulative_lost; /* signed 24 bits on the wire */
	uint32_t ext_highest_seq;
	uint32_t jitter; /* RTP timestamp units */
	uint32_t lsr;	 /* middle 32 bits of the last SR's NTP time, 0 if none */
	uint32_t dlsr;	 /* delay since that SR, 1/65536 s */
};

#define RTCP_VERSION 2
#define RTCP_HDR_LEN 4
#define RTCP_RB_LEN  24
#define RTCP_MAX_RB  31 /* also the most SSRCs in one BYE: the count field has 5 bits */

/* Packet types (RFC 3550 §12.1, RFC 4585 §6.1). */
#define RTCP_PT_SR    200
#define RTCP_PT_RR    201
#define RTCP_PT_SDES  202
#define RTCP_PT_BYE   203
#define RTCP_PT_APP   204
#define RTCP_PT_RTPFB 205
#define RTCP_PT_PSFB  206

/* Feedback message types, the FMT field (RFC 4585 §6.2, §6.3; RFC 5104 §4.3). */
#define RTCP_RTPFB_NACK 1
#define RTCP_PSFB_PLI   1
#define RTCP_PSFB_SLI   2
#define RTCP_PSFB_RPSI  3
#define RTCP_PSFB_FIR   4
#define RTCP_PSFB_AFB   15 /* application layer feedback, e.g. REMB */

/* SDES item types (RFC 3550 §6.5). */
#define RTCP_SDES_END   0
#define RTCP_SDES_CNAME 1
#define RTCP_SDES_NAME  2
#define RTCP_SDES_EMAIL 3
#define RTCP_SDES_PHONE 4
#define RTCP_SDES_LOC   5
#define RTCP_SDES_TOOL  6
#define RTCP_SDES_NOTE  7
#define RTCP_SDES_PRIV  8

/* Iterator flag: accept reduced-size RTCP (RFC 5506), whose first packet need not be SR/RR. */
#define RTCP_F_REDUCED_SIZE (1u << 0)

/* One packet of a compound, as returned by rtcp_iter_next(). Every pointer is inside the buffer
 * given to rtcp_iter_init(), and the packet's body has been checked against its type (above all,
 * that every count fits the length), so the accessors below cannot read past it. */
struct rtcp_pkt {
	uint8_t pt;
	uint8_t count;       /* the 5-bit header field: RC, SC or FMT */
	uint8_t pad_len;     /* 0 without padding */
	uint32_t ssrc;       /* sender SSRC of SR, RR, APP, RTPFB and PSFB; 0 for other types */
	const uint8_t *data; /* the whole packet from its header, padding included */
	size_t len;
	const uint8_t *body; /* after the 4-byte header, padding excluded */
	size_t body_len;
};

struct rtcp_iter {
	const uint8_t *buf;
	size_t len;
	size_t off;
	unsigned flags;
	unsigned n; /* packets returned so far */
	int err;    /* sticky: once malformed, always malformed */
};

void rtcp_iter_init(struct rtcp_iter *it, const uint8_t *buf, size_t len, unsigned flags);

/*
 * Next packet of the compound: 1 with *pkt filled, 0 at the end, or a negative errno (and the
 * same one on every later call). Packets before a defect are returned first; a caller that must
 * drop the whole compound uses rtcp_validate() before acting on any of them.
 *   -EPROTO     version is not 2
 *   -EMSGSIZE   empty buffer, or a packet's header or length word runs past the end
 *   -EILSEQ     padding on a packet that is not the last, or a padding count that is 0, not a
 *               multiple of 4 or larger than the packet (RFC 3550 §6.4.1, A.2)
 *   -ENOMSG     packet type outside 192..223, or a first packet that is neither SR nor RR
 *               without RTCP_F_REDUCED_SIZE
 *   -EOVERFLOW  report, source or chunk count does not fit the packet (SR, RR, SDES, BYE)
 *   -EBADMSG    a known type's body is malformed: shorter than its fixed part, an SDES item
 *               running past the packet or a chunk without its end item, a BYE reason running
 *               past the packet, a generic NACK or FIR without FCI entries or with a partial one
 * Unknown packet types are returned as they are, for the caller to ignore.
 */
int rtcp_iter_next(struct rtcp_iter *it, struct rtcp_pkt *pkt);

/* Whole-compound check: the number of packets (at least 1), or the first error as above. */
int rtcp_validate(const uint8_t *buf, size_t len, unsigned flags);

/* --- typed views; each returns -EINVAL when the packet is of another type ------------------- */

struct rtcp_sr {
	uint32_t ssrc;
	uint64_t ntp; /* 32.32 fixed point seconds since 1900 */
	uint32_t rtp_ts;
	uint32_t packet_count;
	uint32_t octet_count;
};

int rtcp_sr_get(const struct rtcp_pkt *pkt, struct rtcp_sr *sr);

/* Report block i of an SR or RR (pkt->count of them). -ERANGE if i >= pkt->count. */
int rtcp_rb_get(const struct rtcp_pkt *pkt, unsigned i, struct rtcp_rb *rb);

struct rtcp_sdes_item {
	uint32_t ssrc; /* of the chunk the item belongs to */
	uint8_t type;
	uint8_t len;
	const uint8_t *data; /* not NUL-terminated */
};

struct rtcp_sdes_iter {
	const uint8_t *body;
	size_t len;
	size_t off;
	unsigned chunks_left;
	uint32_t ssrc;
	bool in_chunk;
};

int rtcp_sdes_iter_init(struct rtcp_sdes_iter *it, const struct rtcp_pkt *pkt);

/* Next chunk, skipping what is left of the current one: 1 with *ssrc filled, 0 after the last,
 * -EOVERFLOW / -EBADMSG as in rtcp_iter_next(). */
int rtcp_sdes_next_chunk(struct rtcp_sdes_iter *it, uint32_t *ssrc);

/* Next item of the current chunk: 1 with *item filled, 0 at the chunk's end item, -EBADMSG. */
int rtcp_sdes_next_item(struct rtcp_sdes_iter *it, struct rtcp_sdes_item *item);

/* The first CNAME of an SDES packet, with the SSRC it names. 0, -ENOENT or -EINVAL. */
int rtcp_sdes_cname(const struct rtcp_pkt *pkt, struct rtcp_sdes_item *item);

struct rtcp_bye {
	const uint8_t *ssrcs; /* count big-endian words */
	uint8_t count;
	uint8_t reason_len;
	const uint8_t *reason; /* NULL when absent or empty; not NUL-terminated */
};

int rtcp_bye_get(const struct rtcp_pkt *pkt, struct rtcp_bye *bye);

static inline uint32_t rtcp_bye_ssrc(const struct rtcp_bye *bye, unsigned i)
{
	return rd_be32(bye->ssrcs + 4u * i);
}

struct rtcp_app {
	uint8_t subtype;
	uint32_t ssrc;
	char name[4]; /* four ASCII characters, not NUL-terminated */
	const uint8_t *data;
	size_t len;
};

int rtcp_app_get(const struct rtcp_pkt *pkt, struct rtcp_app *app);

/* Common part of an RTPFB or PSFB packet (RFC 4585 §6.1). */
struct rtcp_fb {
	uint8_t pt;
	uint8_t fmt;
	uint32_t sender_ssrc;
	uint32_t media_ssrc;
	const uint8_t *fci; /* feedback control information, raw */
	size_t fci_len;
};

int rtcp_fb_get(const struct rtcp_pkt *pkt, struct rtcp_fb *fb);

/* Generic NACK (RFC 4585 §6.2.1): the lost sequence numbers, one at a time, in the order of
 * the FCI entries. Overlapping entries give a number twice. */
struct rtcp_nack_iter {
	const uint8_t *fci;
	size_t len;
	size_t off;
	uint16_t pid;
	uint32_t pending; /* bit 0: pid itself, bit n: pid + n */
};

int rtcp_nack_iter_init(struct rtcp_nack_iter *it, const struct rtcp_fb *fb);
int rtcp_nack_next(struct rtcp_nack_iter *it, uint16_t *seq); /* 1 with *seq filled, or 0 */

/* Full Intra Request (RFC 5104 §4.3.1): one entry per media sender asked for a key frame. */
#define RTCP_FIR_ENTRY_LEN 8

struct rtcp_fir_entry {
	uint32_t ssrc;
	uint8_t seq; /* command sequence number: a new request has a new number */
};

static inline size_t rtcp_fir_count(const struct rtcp_fb *fb)
{
	return fb->fci_len / RTCP_FIR_ENTRY_LEN;
}

/* Entry i of a FIR. -EINVAL if fb is not a FIR, -ERANGE if i >= rtcp_fir_count(). */
int rtcp_fir_get(const struct rtcp_fb *fb, size_t i, struct rtcp_fir_entry *e);

/*
 * --- builders ---------------------------------------------------------------------------------
 * Each writes one packet at buf and returns its length, so that a compound is built by
 * appending: n = rtcp_sr_write(buf + off, cap - off, ...). -ENOSPC when cap is too small,
 * -EINVAL for what the wire cannot carry. Nothing is padded beyond 32-bit alignment.
 */

/* cumulative_lost is clamped to the 24-bit signed range (RFC 3550 A.3). */
int rtcp_sr_write(uint8_t *buf, size_t cap, const struct rtcp_sr *sr, const struct rtcp_rb *rb,
                  unsigned n_rb);
int rtcp_rr_write(uint8_t *buf, size_t cap, uint32_t ssrc, const struct rtcp_rb *rb, unsigned n_rb);

/* One chunk with a single CNAME item; cname is 1..255 bytes. */
int rtcp_sdes_cname_write(uint8_t *buf, size_t cap, uint32_t ssrc, const char *cname);

/* reason may be NULL; at most 255 bytes. */
int rtcp_bye_write(uint8_t *buf, size_t cap, const uint32_t *ssrc, unsigned n_ssrc,
                   const char *reason);

/* Generic NACK for n >= 1 lost sequence numbers. Sorted ascending (modulo wrap), they are packed
 * into the fewest PID/BLP entries; in another order the NACK is still correct, only longer.
 * Repeats of the current entry's numbers are dropped. */
int rtcp_nack_write(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                    const uint16_t *seq, size_t n);

int rtcp_pli_write(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc);

/* A FIR asking media_ssrc for a key frame; the common header's media SSRC is 0 (RFC 5104). */
int rtcp_fir_write(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                   uint8_t seq);

/* --- time ------------------------------------------------------------------------------------ */

#define RTCP_NTP_UNIX_OFFSET 2208988800u /* seconds from 1900-01-01 to 1970-01-01 */

/* Wall-clock time (CLOCK_REALTIME) as 64-bit NTP, 32.32 fixed point. */
uint64_t rtcp_ntp_from_timespec(const struct timespec *ts);

/* The form carried in LSR, and compared with it (RFC 3550 §6.4.1). */
static inline uint32_t rtcp_ntp_mid32(uint64_t ntp)
{
	return (uint32_t)(ntp >> 16);
}

/*
 * Round-trip time from a report block about our own SR, received at now_mid32 (RFC 3550 §6.4.1:
 * now - LSR - DLSR). Microseconds, or -ENODATA when LSR is 0 (no SR received yet) and -ERANGE
 * when LSR lies in the future or DLSR exceeds the time since LSR (clock skew or a bogus block).
 */
int64_t rtcp_rtt_us(uint32_t now_mid32, const struct rtcp_rb *rb);

#endif
