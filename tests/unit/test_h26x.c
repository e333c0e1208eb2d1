/* H.264 (RFC 6184) and H.265 (RFC 7798) RTP depacketizer and packetizer tests: hand-built
 * payloads for each edge case, and a seeded packetizer -> depacketizer round trip. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtp/h26x.h"

#define AU_MAX   65536
#define SMALL_AU 2048 /* the smallest buffer h26x_depkt_init() accepts */

static uint8_t mem[H26X_DEPKT_MEM(AU_MAX)];
static uint8_t small_mem[H26X_DEPKT_MEM(SMALL_AU)];

static const uint8_t sc4[4] = {0, 0, 0, 1};

/* H.264 NAL units: header F|NRI|type, then a few body bytes. */
static const uint8_t sps264[] = {0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8};
static const uint8_t sps264b[] = {0x67, 0x64, 0x00, 0x28, 0xac};
static const uint8_t pps264[] = {0x68, 0xce, 0x3c, 0x80};
static const uint8_t idr264[] = {0x65, 0x88, 0x84, 0x21, 0xa0};
static const uint8_t p264[] = {0x41, 0x9a, 0x02, 0x03};
static const uint8_t p264b[] = {0x41, 0x9a, 0x04};
static const uint8_t sei264[] = {0x06, 0x05, 0x01, 0xff};

/* H.265 NAL units: two header bytes F|type|LayerId|TID (LayerId 0, TID 1 here). */
static const uint8_t vps265[] = {0x40, 0x01, 0x0c, 0x01, 0xff};
static const uint8_t sps265[] = {0x42, 0x01, 0x01, 0x01, 0x60};
static const uint8_t pps265[] = {0x44, 0x01, 0xc1, 0x72};
static const uint8_t idr265[] = {0x26, 0x01, 0xaf, 0x09, 0x40}; /* 19 IDR_W_RADL */
static const uint8_t cra265[] = {0x2a, 0x01, 0xad, 0x11};       /* 21 CRA */
static const uint8_t trail265[] = {0x02, 0x01, 0xd0, 0x09};     /* 1 TRAIL_R */
static const uint8_t trail265b[] = {0x02, 0x01, 0xd0, 0x0a, 0x77};

/* An IDR in three FU-A fragments: 65 01 02 03 04 05. */
static const uint8_t fua_s[] = {0x7c, 0x85, 0x01, 0x02};
static const uint8_t fua_m[] = {0x7c, 0x05, 0x03, 0x04};
static const uint8_t fua_e[] = {0x7c, 0x45, 0x05};

/* An expected access unit, built the way the depacketizer writes it: 4-byte start codes. */
struct want {
	uint8_t b[16384];
	size_t len;
};

static void want_nal(struct want *w, const uint8_t *nal, size_t len)
{
	assert_true(w->len + 4 + len <= sizeof(w->b));
	memcpy(w->b + w->len, sc4, 4);
	memcpy(w->b + w->len + 4, nal, len);
	w->len += 4 + len;
}

#define WANT(w, nal) want_nal(w, nal, sizeof(nal))

static void assert_au_bytes(const struct h26x_au *au, const struct want *w)
{
	assert_int_equal(au->len, w->len);
	assert_memory_equal(au->data, w->b, w->len);
}

#define PUSH(d, seq, ts, m, pkt, out) h26x_depkt_push(d, seq, ts, m, pkt, sizeof(pkt), out)

static void depkt_new(struct h26x_depkt *d, enum h26x_codec c, unsigned flags)
{
	assert_int_equal(h26x_depkt_init(d, c, flags, mem, sizeof(mem)), 0);
}

/* --- Annex-B scanning --------------------------------------------------------------------------
 */

static void test_annexb_next(void **state)
{
	(void)state;
	/* clang-format off */
	static const uint8_t s[] = {
		0x11, 0x00, 0x22,				/* garbage before the first start code */
		0x00, 0x00, 0x01, 0x65, 0xaa,			/* 3-byte start code */
		0x00, 0x00, 0x00, 0x01, 0x41, 0x00, 0x00, 0x02, 0xbb, /* 4-byte; 00 00 02 is data */
		0x00, 0x00,					/* trailing_zero_8bits */
		0x00, 0x00, 0x01,				/* empty NAL unit */
		0x00, 0x00, 0x00, 0x01,				/* empty again, 4-byte code */
		0x00, 0x00, 0x01, 0x06, 0xcc, 0x00, 0x00, 0x03, 0x01, /* emulation prevention kept */
		0x00, 0x00, 0x00,				/* trailing zeros at the very end */
	};
	/* clang-format on */
	const uint8_t *pos = s, *end = s + sizeof(s), *nal = NULL;
	size_t len = 0;

	assert_int_equal(h26x_annexb_next(&pos, end, &nal, &len), 1);
	assert_ptr_equal(nal, s + 6);
	assert_int_equal(len, 2);
	assert_int_equal(nal[0], 0x65);

	assert_int_equal(h26x_annexb_next(&pos, end, &nal, &len), 1);
	assert_ptr_equal(nal, s + 12);
	assert_int_equal(len, 5);
	assert_memory_equal(nal, ((const uint8_t[]){0x41, 0x00, 0x00, 0x02, 0xbb}), 5);

	assert_int_equal(h26x_annexb_next(&pos, end, &nal, &len), 1);
	assert_int_equal(len, 6);
	assert_memory_equal(nal, ((const uint8_t[]){0x06, 0xcc, 0x00, 0x00, 0x03, 0x01}), 6);

	assert_int_equal(h26x_annexb_next(&pos, end, &nal, &len), 0);
	assert_ptr_equal(pos, end);
	assert_int_equal(h26x_annexb_next(&pos, end, &nal, &len), 0);
}

static void test_annexb_edges(void **state)
{
	(void)state;
	const uint8_t *pos, *nal = NULL;
	size_t len = 0;

	/* No start code at all: 00 00 02 and 00 02 01 are not start codes. */
	static const uint8_t none[] = {0x65, 0x00, 0x00, 0x02, 0x01, 0x00, 0x00};
	pos = none;
	assert_int_equal(h26x_annexb_next(&pos, none + sizeof(none), &nal, &len), 0);
	assert_ptr_equal(pos, none + sizeof(none));

	/* Empty range. */
	pos = none;
	assert_int_equal(h26x_annexb_next(&pos, none, &nal, &len), 0);

	/* Only start codes and zeros. */
	static const uint8_t empty[] = {0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0};
	pos = empty;
	assert_int_equal(h26x_annexb_next(&pos, empty + sizeof(empty), &nal, &len), 0);

	/* A start code that ends the buffer. */
	static const uint8_t tail[] = {0xaa, 0, 0, 1};
	pos = tail;
	assert_int_equal(h26x_annexb_next(&pos, tail + sizeof(tail), &nal, &len), 0);

	/* A one-byte NAL unit at the very end, after a long run of zeros. */
	static const uint8_t one[] = {0, 0, 0, 0, 0, 0, 1, 0x09};
	pos = one;
	assert_int_equal(h26x_annexb_next(&pos, one + sizeof(one), &nal, &len), 1);
	assert_ptr_equal(nal, one + 7);
	assert_int_equal(len, 1);
	assert_int_equal(h26x_annexb_next(&pos, one + sizeof(one), &nal, &len), 0);

	/* 00 00 01 found at every alignment of the three-byte stride. */
	for (size_t skip = 0; skip < 6; skip++) {
		uint8_t b[16];
		memset(b, 0x55, sizeof(b));
		b[skip] = 0;
		b[skip + 1] = 0;
		b[skip + 2] = 1;
		b[skip + 3] = 0x41;
		pos = b;
		assert_int_equal(h26x_annexb_next(&pos, b + sizeof(b), &nal, &len), 1);
		assert_ptr_equal(nal, b + skip + 3);
		assert_int_equal(len, sizeof(b) - skip - 3);
	}
}

static void test_types(void **state)
{
	(void)state;
	for (unsigned t = 0; t < 32; t++)
		assert_int_equal(h26x_is_keyframe_type(H26X_H264, (uint8_t)t), t == 5);
	for (unsigned t = 0; t < 64; t++)
		assert_int_equal(h26x_is_keyframe_type(H26X_H265, (uint8_t)t), t >= 16 && t <= 21);

	assert_int_equal(h26x_ps_slot(H26X_H264, 7), H26X_PS_SPS);
	assert_int_equal(h26x_ps_slot(H26X_H264, 8), H26X_PS_PPS);
	assert_int_equal(h26x_ps_slot(H26X_H264, 5), -1);
	assert_int_equal(h26x_ps_slot(H26X_H264, 32), -1);
	assert_int_equal(h26x_ps_slot(H26X_H265, 32), H26X_PS_VPS);
	assert_int_equal(h26x_ps_slot(H26X_H265, 33), H26X_PS_SPS);
	assert_int_equal(h26x_ps_slot(H26X_H265, 34), H26X_PS_PPS);
	assert_int_equal(h26x_ps_slot(H26X_H265, 35), -1);
	assert_int_equal(h26x_ps_slot(H26X_H265, 7), -1);

	assert_int_equal(h26x_nal_type(H26X_H264, idr264), 5);
	assert_int_equal(h26x_nal_type(H26X_H265, idr265), 19);
	assert_int_equal(h26x_nal_type(H26X_H265, (const uint8_t[]){0x7f, 0xff}), 63);
	assert_int_equal(h26x_nal_hdr_len(H26X_H264), 1);
	assert_int_equal(h26x_nal_hdr_len(H26X_H265), 2);
}

/* --- per-packet scan ---------------------------------------------------------------------------
 */

static void test_scan_payload(void **state)
{
	(void)state;
	/* clang-format off */
	static const uint8_t stap[] = {
		0x78,
		0x00, 0x09, 0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8,
		0x00, 0x04, 0x68, 0xce, 0x3c, 0x80,
		0x00, 0x05, 0x65, 0x88, 0x84, 0x21, 0xa0,
	};
	static const uint8_t ap[] = {
		0x60, 0x01,
		0x00, 0x05, 0x40, 0x01, 0x0c, 0x01, 0xff,
		0x00, 0x05, 0x42, 0x01, 0x01, 0x01, 0x60,
		0x00, 0x04, 0x44, 0x01, 0xc1, 0x72,
	};
	/* clang-format on */
	struct h26x_scan sc;

	h26x_scan_payload(H26X_H264, idr264, sizeof(idr264), &sc);
	assert_true(sc.keyframe);
	assert_null(sc.ps[H26X_PS_SPS]);
	assert_null(sc.ps[H26X_PS_PPS]);
	h26x_scan_payload(H26X_H264, p264, sizeof(p264), &sc);
	assert_false(sc.keyframe);

	h26x_scan_payload(H26X_H264, sps264, sizeof(sps264), &sc);
	assert_false(sc.keyframe);
	assert_ptr_equal(sc.ps[H26X_PS_SPS], sps264);
	assert_int_equal(sc.ps_len[H26X_PS_SPS], sizeof(sps264));
	assert_null(sc.ps[H26X_PS_PPS]);
	assert_null(sc.ps[H26X_PS_VPS]);

	h26x_scan_payload(H26X_H264, stap, sizeof(stap), &sc);
	assert_true(sc.keyframe);
	assert_ptr_equal(sc.ps[H26X_PS_SPS], stap + 3);
	assert_int_equal(sc.ps_len[H26X_PS_SPS], 9);
	assert_ptr_equal(sc.ps[H26X_PS_PPS], stap + 14);
	assert_int_equal(sc.ps_len[H26X_PS_PPS], 4);
	/* Cut short: the units before the cut are still seen. */
	h26x_scan_payload(H26X_H264, stap, 20, &sc);
	assert_false(sc.keyframe);
	assert_ptr_equal(sc.ps[H26X_PS_SPS], stap + 3);
	assert_ptr_equal(sc.ps[H26X_PS_PPS], stap + 14);
	h26x_scan_payload(H26X_H264, stap, 10, &sc);
	assert_null(sc.ps[H26X_PS_SPS]);

	/* Only the first fragment of an IDR says keyframe. */
	h26x_scan_payload(H26X_H264, fua_s, sizeof(fua_s), &sc);
	assert_true(sc.keyframe);
	h26x_scan_payload(H26X_H264, fua_m, sizeof(fua_m), &sc);
	assert_false(sc.keyframe);
	h26x_scan_payload(H26X_H264, fua_e, sizeof(fua_e), &sc);
	assert_false(sc.keyframe);
	h26x_scan_payload(H26X_H264, (const uint8_t[]){0x7c, 0x81, 0x01}, 3, &sc);
	assert_false(sc.keyframe);
	/* An SPS start fragment is not a whole parameter set. */
	h26x_scan_payload(H26X_H264, (const uint8_t[]){0x7c, 0x87, 0x42, 0xc0}, 4, &sc);
	assert_null(sc.ps[H26X_PS_SPS]);

	/* Too short, or reserved: nothing, and whatever was in *out is cleared. */
	h26x_scan_payload(H26X_H264, stap, sizeof(stap), &sc);
	h26x_scan_payload(H26X_H264, idr264, 1, &sc);
	assert_false(sc.keyframe);
	assert_null(sc.ps[H26X_PS_SPS]);
	h26x_scan_payload(H26X_H264, (const uint8_t[]){0x1e, 0x65}, 2, &sc);
	assert_false(sc.keyframe);

	h26x_scan_payload(H26X_H265, ap, sizeof(ap), &sc);
	assert_false(sc.keyframe);
	assert_ptr_equal(sc.ps[H26X_PS_VPS], ap + 4);
	assert_int_equal(sc.ps_len[H26X_PS_VPS], 5);
	assert_ptr_equal(sc.ps[H26X_PS_SPS], ap + 11);
	assert_ptr_equal(sc.ps[H26X_PS_PPS], ap + 18);
	assert_int_equal(sc.ps_len[H26X_PS_PPS], 4);
	h26x_scan_payload(H26X_H265, cra265, sizeof(cra265), &sc);
	assert_true(sc.keyframe);
	h26x_scan_payload(H26X_H265, trail265, sizeof(trail265), &sc);
	assert_false(sc.keyframe);
	h26x_scan_payload(H26X_H265, (const uint8_t[]){0x63, 0x0b, 0x93, 0x21}, 4, &sc);
	assert_true(sc.keyframe);
	h26x_scan_payload(H26X_H265, (const uint8_t[]){0x63, 0x0b, 0x13, 0x21}, 4, &sc);
	assert_false(sc.keyframe);
	h26x_scan_payload(H26X_H265, (const uint8_t[]){0x62, 0x01, 0x81, 0x21}, 4, &sc);
	assert_false(sc.keyframe);
	h26x_scan_payload(H26X_H265, (const uint8_t[]){0x2c, 0x01, 0xaa}, 3, &sc); /* 22 */
	assert_false(sc.keyframe);
	h26x_scan_payload(H26X_H265, cra265, 2, &sc);
	assert_false(sc.keyframe);
}

/* --- depacketizer: in order --------------------------------------------------------------------
 */

static void test_depkt_init(void **state)
{
	(void)state;
	struct h26x_depkt d;
	assert_int_equal(h26x_depkt_init(&d, H26X_H264, 0, NULL, sizeof(mem)), -EINVAL);
	assert_int_equal(h26x_depkt_init(&d, H26X_H264, 0, small_mem, H26X_DEPKT_MEM(SMALL_AU) - 1),
	                 -EINVAL);
	assert_int_equal(h26x_depkt_init(&d, H26X_H264, 0, small_mem, H26X_DEPKT_MEM(SMALL_AU)), 0);
	assert_int_equal(d.cap, SMALL_AU);
	assert_int_equal(h26x_depkt_init(&d, H26X_H265, 0, mem, sizeof(mem)), 0);
	assert_int_equal(d.cap, AU_MAX);
}

static void test_h264_single(void **state)
{
	(void)state;
	struct h26x_depkt d;
	struct h26x_au out[2];
	struct want w = {.len = 0};

	depkt_new(&d, H26X_H264, 0);
	assert_int_equal(PUSH(&d, 100, 9000, false, sps264, out), 0);
	assert_int_equal(d.last_error, 0);
	assert_int_equal(PUSH(&d, 101, 9000, false, pps264, out), 0);
	assert_int_equal(PUSH(&d, 102, 9000, true, idr264, out), 1);
	WANT(&w, sps264);
	WANT(&w, pps264);
	WANT(&w, idr264);
	assert_au_bytes(&out[0], &w);
	assert_int_equal(out[0].ts, 9000);
	assert_int_equal(out[0].first_seq, 100);
	assert_int_equal(out[0].last_seq, 102);
	assert_int_equal(out[0].nal_count, 3);
	assert_true(out[0].keyframe);
	assert_false(out[0].params_inserted);

	assert_int_equal(PUSH(&d, 103, 12000, true, p264, out), 1);
	w.len = 0;
	WANT(&w, p264);
	assert_au_bytes(&out[0], &w);
	assert_int_equal(out[0].ts, 12000);
	assert_int_equal(out[0].first_seq, 103);
	assert_int_equal(out[0].last_seq, 103);
	assert_int_equal(out[0].nal_count, 1);
	assert_false(out[0].keyframe);

	assert_int_equal(d.stats.packets, 4);
	assert_int_equal(d.stats.aus, 2);
	assert_int_equal(d.stats.keyframes, 1);
	assert_int_equal(d.stats.broken, 0);
	assert_int_equal(d.stats.malformed, 0);
}

static void test_h265_single(void **state)
{
	(void)state;
	struct h26x_depkt d;
	struct h26x_au out[2];
	struct want w = {.len = 0};

	depkt_new(&d, H26X_H265, 0);
	assert_int_equal(PUSH(&d, 7, 1000, false, vps265, out), 0);
	assert_int_equal(PUSH(&d, 8, 1000, false, sps265, out), 0);
	assert_int_equal(PUSH(&d, 9, 1000, false, pps265, out), 0);
	assert_int_equal(PUSH(&d, 10, 1000, true, idr265, out), 1);
	WANT(&w, vps265);
	WANT(&w, sps265);
	WANT(&w, pps265);
	WANT(&w, idr265);
	assert_au_bytes(&out[0], &w);
	assert_int_equal(out[0].nal_count, 4);
	assert_int_equal(out[0].first_seq, 7);
	assert_int_equal(out[0].last_seq, 10);
	assert_true(out[0].keyframe);

	assert_int_equal(PUSH(&d, 11, 4000, true, trail265, out), 1);
	assert_false(out[0].keyframe);
	assert_int_equal(out[0].len, 4 + sizeof(trail265));

	assert_int_equal(PUSH(&d, 12, 7000, true, cra265, out), 1);
	assert_true(out[0].keyframe);
	w.len = 0;
	WANT(&w, cra265);
	assert_au_bytes(&out[0], &w);
	assert_int_equal(d.stats.aus, 3);
	assert_int_equal(d.stats.keyframes, 2);
}

/* Every single-NAL type: keyframe exactly for IDR (H.264) and IRAP 16..21 (H.265). */
static void test_keyframe_types(void **state)
{
	(void)state;
	struct h26x_depkt d;
	struct h26x_au out[2];
	uint16_t seq = 0;

	depkt_new(&d, H26X_H264, 0);
	for (uint8_t t = 1; t <= 23; t++) {
		uint8_t nal[] = {(uint8_t)(0x20 | t), 0xaa};
		assert_int_equal(PUSH(&d, seq, seq * 3000u, true, nal, out), 1);
		seq++;
		assert_int_equal(out[0].keyframe, t == 5);
		assert_int_equal(out[0].nal_count, 1);
	}
	assert_int_equal(d.stats.keyframes, 1);

	depkt_new(&d, H26X_H265, 0);
	for (uint8_t t = 0; t < 48; t++) {
		uint8_t nal[] = {(uint8_t)(t << 1), 0x01, 0xaa};
		assert_int_equal(PUSH(&d, seq, seq * 3000u, true, nal, out), 1);
		seq++;
		assert_int_equal(out[0].keyframe, t >= 16 && t <= 21);
	}
	assert_int_equal(d.stats.keyframes, 6);
	assert_int_equal(d.stats.aus, 48);
}

static void test_h264_stap_a(void **state)
{
	(void)state;
	/* clang-format off */
	static const uint8_t stap[] = {
		0x78,								/* NRI 3, 24 */
		0x00, 0x09, 0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8,	/* SPS */
		0x00, 0x04, 0x68, 0xce, 0x3c, 0x80,					/* PPS */
		0x00, 0x04, 0x06, 0x05, 0x01, 0xff,					/* SEI */
	};
	static const uint8_t stap2[] = {
		0x58,
		0x00, 0x04, 0x41, 0x9a, 0x02, 0x03,
		0x00, 0x03, 0x41, 0x9a, 0x04,
	};
	static const uint8_t stap1[] = {0x78, 0x00, 0x05, 0x65, 0x88, 0x84, 0x21, 0xa0};
	/* clang-format on */
	struct h26x_depkt d;
	struct h26x_au out[2];
	struct want w = {.len = 0};

	depkt_new(&d, H26X_H264, 0);
	assert_int_equal(PUSH(&d, 1, 3000, false, stap, out), 0);
	assert_int_equal(d.last_error, 0);
	assert_int_equal(PUSH(&d, 2, 3000, true, idr264, out), 1);
	WANT(&w, sps264);
	WANT(&w, pps264);
	WANT(&w, sei264);
	WANT(&w, idr264);
	assert_au_bytes(&out[0], &w);
	assert_int_equal(out[0].nal_count, 4);
	assert_true(out[0].keyframe);

	/* A STAP-A with the marker is a whole access unit. */
	assert_int_equal(PUSH(&d, 3, 6000, true, stap2, out), 1);
	w.len = 0;
	WANT(&w, p264);
	WANT(&w, p264b);
	assert_au_bytes(&out[0], &w);
	assert_int_equal(out[0].nal_count, 2);
	assert_false(out[0].keyframe);

	/* One NAL unit in a STAP-A is allowed. */
	assert_int_equal(PUSH(&d, 4, 9000, true, stap1, out), 1);
	w.len = 0;
	WANT(&w, idr264);
	assert_au_bytes(&out[0], &w);
	assert_true(out[0].keyframe);
	assert_int_equal(d.stats.malformed, 0);
}

static void test_h265_ap(void **state)
{
	(void)state;
	/* clang-format off */
	static const uint8_t ap[] = {
		0x60, 0x01,						/* 48, TID 1 */
		0x00, 0x05, 0x40, 0x01, 0x0c, 0x01, 0xff,		/* VPS */
		0x00, 0x05, 0x42, 0x01, 0x01, 0x01, 0x60,		/* SPS */
		0x00, 0x04, 0x44, 0x01, 0xc1, 0x72,			/* PPS */
	};
	static const uint8_t ap2[] = {
		0x60, 0x01,
		0x00, 0x04, 0x02, 0x01, 0xd0, 0x09,
		0x00, 0x05, 0x02, 0x01, 0xd0, 0x0a, 0x77,
	};
	/* clang-format on */
	struct h26x_depkt d;
	struct h26x_au out[2];
	struct want w = {.len = 0};

	depkt_new(&d, H26X_H265, 0);
	assert_int_equal(PUSH(&d, 1, 3000, false, ap, out), 0);
	assert_int_equal(d.last_error, 0);
	assert_int_equal(PUSH(&d, 2, 3000, true, idr265, out), 1);
	WANT(&w, vps265);
	WANT(&w, sps265);
	WANT(&w, pps265);
	WANT(&w, idr265);
	assert_au_bytes(&out[0], &w);
	assert_int_equal(out[0].nal_count, 4);
	assert_true(out[0].keyframe);

	assert_int_equal(PUSH(&d, 3, 6000, true, ap2, out), 1);
	w.len = 0;
	WANT(&w, trail265);
	WANT(&w, trail265b);
	assert_au_bytes(&out[0], &w);
	assert_int_equal(out[0].nal_count, 2);
	assert_false(out[0].keyframe);
}

static void test_h264_fu_a(void **state)
{
	(void)state;
	/* IDR with NRI 2 (0x45) in three fragments: indicator 0x5c = NRI 2 | 28. */
	static const uint8_t fu1[] = {0x5c, 0x85, 0x11, 0x12, 0x13};
	static const uint8_t fu2[] = {0x5c, 0x05, 0x14, 0x15, 0x16, 0x17};
	static const uint8_t fu3[] = {0x5c, 0x45, 0x18, 0x19, 0x1a};
	static const uint8_t nal[] = {0x45, 0x11, 0x12, 0x13, 0x14, 0x15,
	                              0x16, 0x17, 0x18, 0x19, 0x1a};
	/* NRI comes from the indicator (1 here), the type from the FU header; its R bit (0x20)
	 * is not part of either. */
	static const uint8_t fr1[] = {0x3c, 0xa1, 0xee};
	static const uint8_t fr2[] = {0x3c, 0x61, 0xef};
	static const uint8_t nal2[] = {0x21, 0xee, 0xef};
	struct h26x_depkt d;
	struct h26x_au out[2];
	struct want w = {.len = 0};

	depkt_new(&d, H26X_H264, 0);
	assert_int_equal(PUSH(&d, 10, 3000, false, fu1, out), 0);
	assert_int_equal(PUSH(&d, 11, 3000, false, fu2, out), 0);
	assert_int_equal(PUSH(&d, 12, 3000, true, fu3, out), 1);
	WANT(&w, nal);
	assert_au_bytes(&out[0], &w);
	assert_int_equal(out[0].nal_count, 1);
	assert_true(out[0].keyframe);
	assert_int_equal(out[0].first_seq, 10);
	assert_int_equal(out[0].last_seq, 12);

	/* Two fragments, a single NAL unit after them in the same access unit. */
	assert_int_equal(PUSH(&d, 13, 6000, false, fr1, out), 0);
	assert_int_equal(PUSH(&d, 14, 6000, false, fr2, out), 0);
	assert_int_equal(PUSH(&d, 15, 6000, true, p264, out), 1);
	w.len = 0;
	WANT(&w, nal2);
	WANT(&w, p264);
	assert_au_bytes(&out[0], &w);
	assert_int_equal(out[0].nal_count, 2);
	assert_false(out[0].keyframe);
	assert_int_equal(d.stats.broken, 0);
}

static void test_h265_fu(void **state)
{
	(void)state;
	/* IDR_W_RADL with LayerId 33 and TID 3: NAL header 0x27 0x0b. The payload header carries
	 * F and LayerId (0x63 = 49 << 1 | 1) and TID; the FU header S|E|type. */
	static const uint8_t fu1[] = {0x63, 0x0b, 0x93, 0x21, 0x22};
	static const uint8_t fu2[] = {0x63, 0x0b, 0x13, 0x23};
	static const uint8_t fu3[] = {0x63, 0x0b, 0x53, 0x24, 0x25, 0x26};
	static const uint8_t nal[] = {0x27, 0x0b, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26};
	/* TRAIL_R, LayerId 0, TID 7. */
	static const uint8_t fr1[] = {0x62, 0x07, 0x81, 0x31};
	static const uint8_t fr2[] = {0x62, 0x07, 0x41, 0x32};
	static const uint8_t nal2[] = {0x02, 0x07, 0x31, 0x32};
	struct h26x_depkt d;
	struct h26x_au out[2];
	struct want w = {.len = 0};

	depkt_new(&d, H26X_H265, 0);
	assert_int_equal(PUSH(&d, 1, 3000, false, fu1, out), 0);
	assert_int_equal(PUSH(&d, 2, 3000, false, fu2, out), 0);
	assert_int_equal(PUSH(&d, 3, 3000, true, fu3, out), 1);
	WANT(&w, nal);
	assert_au_bytes(&out[0], &w);
	assert_true(out[0].keyframe);
	assert_int_equal(out[0].nal_count, 1);

	assert_int_equal(PUSH(&d, 4, 6000, false, fr1, out), 0);
	assert_int_equal(PUSH(&d, 5, 6000, true, fr2, out), 1);
	w.len = 0;
	WANT(&w, nal2);
	assert_au_bytes(&out[0], &w);
	assert_false(out[0].keyframe);
}

/* Without markers, a new timestamp closes the unit; a new timestamp on a packet that has the
 * marker closes two. Both stay valid together: they live in different buffers. */
static void test_ts_change_framing(void **state)
{
	(void)state;
	struct h26x_depkt d;
	struct h26x_au out[2];
	struct want w = {.len = 0}, w2 = {.len = 0};

	depkt_new(&d, H26X_H264, 0);
	assert_int_equal(PUSH(&d, 10, 1000, false, sps264, out), 0);
	assert_int_equal(PUSH(&d, 11, 1000, false, idr264, out), 0);
	assert_int_equal(PUSH(&d, 12, 4000, false, p264, out), 1);
	WANT(&w, sps264);
	WANT(&w, idr264);
	assert_au_bytes(&out[0], &w); /* intact, though this push already stored p264 */
	assert_int_equal(out[0].ts, 1000);
	assert_int_equal(out[0].first_seq, 10);
	assert_int_equal(out[0].last_seq, 11);
	assert_int_equal(out[0].nal_count, 2);
	assert_true(out[0].keyframe);

	assert_int_equal(PUSH(&d, 13, 7000, true, p264b, out), 2);
	w.len = 0;
	WANT(&w, p264);
	WANT(&w2, p264b);
	assert_au_bytes(&out[0], &w);
	assert_au_bytes(&out[1], &w2);
	assert_int_equal(out[0].ts, 4000);
	assert_int_equal(out[0].first_seq, 12);
	assert_int_equal(out[0].last_seq, 12);
	assert_int_equal(out[1].ts, 7000);
	assert_int_equal(out[1].first_seq, 13);
	assert_int_equal(out[1].last_seq, 13);
	assert_false(out[0].keyframe);
	assert_true(out[1].data >= out[0].data + out[0].len ||
	            out[0].data >= out[1].data + out[1].len);

	/* End of stream: flush delivers the unit in progress, once. */
	assert_int_equal(PUSH(&d, 14, 10000, false, sps264, out), 0);
	assert_int_equal(h26x_depkt_flush(&d, &out[0]), 1);
	w.len = 0;
	WANT(&w, sps264);
	assert_au_bytes(&out[0], &w);
	assert_int_equal(out[0].ts, 10000);
	assert_int_equal(h26x_depkt_flush(&d, &out[0]), 0);
	assert_int_equal(d.stats.aus, 4);
}

/* The out[2] case with parameter sets put in front of both keyframes: each unit has its own
 * headroom, so neither overwrites the other. */
static void test_two_aus_with_params(void **state)
{
	(void)state;
	static const uint8_t ps[] = {0,    0,    0,    1, 0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01,
	                             0x40, 0x16, 0xe8, 0, 0,    1,    0x68, 0xce, 0x3c, 0x80};
	struct h26x_depkt d;
	struct h26x_au out[2];
	struct want w = {.len = 0}, w2 = {.len = 0};

	depkt_new(&d, H26X_H264, H26X_DEPKT_INSERT_PARAMS);
	assert_int_equal(h26x_depkt_set_params(&d, ps, sizeof(ps)), 2);
	assert_int_equal(PUSH(&d, 1, 1000, false, idr264, out), 0);
	assert_int_equal(PUSH(&d, 2, 2000, true, idr264, out), 2);
	WANT(&w, sps264);
	WANT(&w, pps264);
	WANT(&w, idr264);
	memcpy(&w2, &w, sizeof(w));
	assert_au_bytes(&out[0], &w);
	assert_au_bytes(&out[1], &w2);
	assert_true(out[0].params_inserted);
	assert_true(out[1].params_inserted);
	assert_int_equal(out[0].nal_count, 1);
	assert_int_equal(out[0].ts, 1000);
	assert_int_equal(out[1].ts, 2000);
	assert_int_equal(d.stats.params_inserted, 2);
}

/* --- depacketizer: loss ------------------------------------------------------------------------
 */

static void test_gap_inside_au(void **state)
{
	(void)state;
	struct h26x_depkt d;
	struct h26x_au out[2];

	depkt_new(&d, H26X_H264, 0);
	assert_int_equal(PUSH(&d, 1, 100, false, fua_s, out), 0);
	/* 2 lost */
	assert_int_equal(PUSH(&d, 3, 100, true, fua_e, out), 0);
	assert_int_equal(d.last_error, 0);
	assert_int_equal(d.stats.broken, 1);
	assert_int_equal(d.stats.aus, 0);
	assert_int_equal(d.stats.malformed, 0);

	/* Without WAIT_KEYFRAME the next whole unit is delivered. */
	assert_int_equal(PUSH(&d, 4, 200, true, p264, out), 1);
	assert_false(out[0].keyframe);
	assert_int_equal(out[0].len, 4 + sizeof(p264));

	/* A gap between single NAL units of one unit. */
	assert_int_equal(PUSH(&d, 5, 300, false, sps264, out), 0);
	assert_int_equal(PUSH(&d, 7, 300, true, idr264, out), 0);
	assert_int_equal(d.stats.broken, 2);

	/* A gap right after a unit closed by its marker: the lost packet may be this unit's
	 * start. */
	assert_int_equal(PUSH(&d, 8, 400, true, p264, out), 1);
	assert_int_equal(PUSH(&d, 10, 500, true, p264, out), 0);
	assert_int_equal(d.stats.broken, 3);
	assert_int_equal(PUSH(&d, 11, 600, true, p264, out), 1);
	assert_int_equal(out[0].first_seq, 11);
	assert_int_equal(d.stats.aus, 3);
}

static void test_gap_at_ts_change(void **state)
{
	(void)state;
	struct h26x_depkt d;
	struct h26x_au out[2];

	depkt_new(&d, H26X_H264, 0);
	assert_int_equal(PUSH(&d, 1, 100, false, p264, out), 0);
	/* 2 lost: maybe the tail of ts 100, maybe the head of ts 200. */
	assert_int_equal(PUSH(&d, 3, 200, true, p264b, out), 0);
	assert_int_equal(d.stats.broken, 2);
	assert_int_equal(d.stats.aus, 0);
	assert_int_equal(PUSH(&d, 4, 300, true, p264, out), 1);
	assert_int_equal(out[0].ts, 300);

	/* The same without the gap: both delivered. */
	assert_int_equal(PUSH(&d, 5, 400, false, p264, out), 0);
	assert_int_equal(PUSH(&d, 6, 500, true, p264b, out), 2);
	assert_int_equal(out[0].ts, 400);
	assert_int_equal(out[1].ts, 500);
	assert_int_equal(d.stats.broken, 2);
}

static void test_fu_loss(void **state)
{
	(void)state;
	struct h26x_depkt d;
	struct h26x_au out[2];

	depkt_new(&d, H26X_H264, 0);
	/* Missing start: a middle and an end with no gap in sequence (a sender bug, or the start
	 * was lost before an earlier gap was reported). The packets themselves are fine. */
	assert_int_equal(PUSH(&d, 1, 100, false, fua_m, out), 0);
	assert_int_equal(d.last_error, 0);
	assert_int_equal(PUSH(&d, 2, 100, true, fua_e, out), 0);
	assert_int_equal(d.stats.broken, 1);
	assert_int_equal(d.stats.malformed, 0);

	/* Start without end, then a new NAL unit in the same unit. */
	assert_int_equal(PUSH(&d, 3, 200, false, fua_s, out), 0);
	assert_int_equal(PUSH(&d, 4, 200, true, p264, out), 0);
	assert_int_equal(d.stats.broken, 2);

	/* Start without end, then another start. */
	assert_int_equal(PUSH(&d, 5, 300, false, fua_s, out), 0);
	assert_int_equal(PUSH(&d, 6, 300, false, fua_s, out), 0);
	assert_int_equal(PUSH(&d, 7, 300, true, fua_e, out), 0);
	assert_int_equal(d.stats.broken, 3);

	/* Start without end, then a STAP-A. */
	static const uint8_t stap[] = {0x78, 0x00, 0x02, 0x41, 0x01};
	assert_int_equal(PUSH(&d, 8, 400, false, fua_s, out), 0);
	assert_int_equal(PUSH(&d, 9, 400, true, stap, out), 0);
	assert_int_equal(d.stats.broken, 4);

	/* The marker on a middle fragment. */
	assert_int_equal(PUSH(&d, 10, 500, false, fua_s, out), 0);
	assert_int_equal(PUSH(&d, 11, 500, true, fua_m, out), 0);
	assert_int_equal(d.stats.broken, 5);

	/* Start without end, then a new timestamp: only the old unit is lost. */
	assert_int_equal(PUSH(&d, 12, 600, false, fua_s, out), 0);
	assert_int_equal(PUSH(&d, 13, 700, true, p264, out), 1);
	assert_int_equal(out[0].ts, 700);
	assert_int_equal(d.stats.broken, 6);

	/* And the complete fragment still works after all that. */
	assert_int_equal(PUSH(&d, 14, 800, false, fua_s, out), 0);
	assert_int_equal(PUSH(&d, 15, 800, false, fua_m, out), 0);
	assert_int_equal(PUSH(&d, 16, 800, true, fua_e, out), 1);
	static const uint8_t nal[] = {0x65, 0x01, 0x02, 0x03, 0x04, 0x05};
	assert_int_equal(out[0].len, 4 + sizeof(nal));
	assert_memory_equal(out[0].data + 4, nal, sizeof(nal));
	assert_int_equal(d.stats.aus, 2);

	/* Start, a single NAL unit, then an end: the end must not complete the first. */
	assert_int_equal(PUSH(&d, 17, 900, false, fua_s, out), 0);
	assert_int_equal(PUSH(&d, 18, 900, false, p264, out), 0);
	assert_int_equal(PUSH(&d, 19, 900, true, fua_e, out), 0);
	assert_int_equal(d.stats.broken, 7);
	assert_int_equal(d.stats.malformed, 0);
}

static void test_wait_keyframe(void **state)
{
	(void)state;
	struct h26x_depkt d;
	struct h26x_au out[2];

	depkt_new(&d, H26X_H264, H26X_DEPKT_WAIT_KEYFRAME);
	assert_int_equal(PUSH(&d, 1, 100, true, p264, out), 0);
	assert_int_equal(d.stats.skipped, 1);
	assert_int_equal(PUSH(&d, 2, 200, false, sps264, out), 0);
	assert_int_equal(PUSH(&d, 3, 200, true, p264, out), 0); /* SPS is not a keyframe */
	assert_int_equal(d.stats.skipped, 2);
	assert_int_equal(PUSH(&d, 4, 300, true, idr264, out), 1);
	assert_true(out[0].keyframe);
	assert_int_equal(PUSH(&d, 5, 400, true, p264, out), 1);
	assert_false(out[0].keyframe);

	/* A broken unit: wait again. */
	assert_int_equal(PUSH(&d, 6, 500, false, fua_s, out), 0);
	assert_int_equal(PUSH(&d, 8, 500, true, fua_e, out), 0);
	assert_int_equal(d.stats.broken, 1);
	assert_int_equal(PUSH(&d, 9, 600, true, p264, out), 0);
	assert_int_equal(d.stats.skipped, 3);
	assert_int_equal(PUSH(&d, 10, 700, false, p264, out), 0);
	assert_int_equal(PUSH(&d, 11, 700, true, idr264, out), 1);
	assert_true(out[0].keyframe);
	assert_int_equal(out[0].nal_count, 2);
	assert_int_equal(d.stats.aus, 3);
	assert_int_equal(d.stats.skipped, 3);

	/* A malformed packet breaks the unit too. */
	static const uint8_t bad[] = {0x00, 0x01};
	assert_int_equal(PUSH(&d, 12, 800, true, bad, out), 0);
	assert_int_equal(PUSH(&d, 13, 900, true, p264, out), 0);
	assert_int_equal(d.stats.skipped, 4);

	/* H.265: CRA is where it resumes. */
	depkt_new(&d, H26X_H265, H26X_DEPKT_WAIT_KEYFRAME);
	assert_int_equal(PUSH(&d, 1, 100, true, trail265, out), 0);
	assert_int_equal(PUSH(&d, 2, 200, true, cra265, out), 1);
	assert_true(out[0].keyframe);
	assert_int_equal(PUSH(&d, 3, 300, true, trail265, out), 1);
	assert_int_equal(d.stats.skipped, 1);
}

static void test_duplicate_and_late(void **state)
{
	(void)state;
	static const uint8_t other[] = {0x41, 0xde, 0xad};
	struct h26x_depkt d;
	struct h26x_au out[2];
	struct want w = {.len = 0};

	depkt_new(&d, H26X_H264, 0);
	assert_int_equal(PUSH(&d, 10, 100, false, p264, out), 0);
	assert_int_equal(PUSH(&d, 10, 100, false, other, out), 0);
	assert_int_equal(d.stats.duplicates, 1);
	assert_int_equal(PUSH(&d, 9, 100, false, other, out), 0);
	assert_int_equal(d.stats.late, 1);
	/* Ignored packets do not deliver, even with the marker. */
	assert_int_equal(PUSH(&d, 10, 100, true, other, out), 0);
	assert_int_equal(PUSH(&d, 3, 100, true, other, out), 0);
	assert_int_equal(PUSH(&d, 11, 100, true, p264b, out), 1);
	WANT(&w, p264);
	WANT(&w, p264b);
	assert_au_bytes(&out[0], &w);
	assert_int_equal(out[0].first_seq, 10);
	assert_int_equal(out[0].last_seq, 11);
	assert_int_equal(d.stats.duplicates, 2);
	assert_int_equal(d.stats.late, 2);
	assert_int_equal(d.stats.broken, 0);
	assert_int_equal(d.stats.packets, 6);

	/* A late packet with an old timestamp does not close the unit in progress. */
	assert_int_equal(PUSH(&d, 12, 200, false, p264, out), 0);
	assert_int_equal(PUSH(&d, 8, 100, false, other, out), 0);
	assert_int_equal(PUSH(&d, 13, 200, true, p264b, out), 1);
	assert_int_equal(out[0].nal_count, 2);
	assert_int_equal(out[0].ts, 200);
	assert_int_equal(d.stats.late, 3);
}

static void test_seq_wrap(void **state)
{
	(void)state;
	struct h26x_depkt d;
	struct h26x_au out[2];

	depkt_new(&d, H26X_H264, 0);
	assert_int_equal(PUSH(&d, 65534, 100, false, sps264, out), 0);
	assert_int_equal(PUSH(&d, 65535, 100, false, fua_s, out), 0);
	assert_int_equal(PUSH(&d, 0, 100, false, fua_m, out), 0);
	assert_int_equal(PUSH(&d, 1, 100, true, fua_e, out), 1);
	assert_int_equal(out[0].first_seq, 65534);
	assert_int_equal(out[0].last_seq, 1);
	assert_int_equal(out[0].nal_count, 2);
	assert_int_equal(d.stats.broken, 0);
	/* 0 after 65535 is new, and 65535 after 0 is late. */
	assert_int_equal(PUSH(&d, 65535, 200, true, p264, out), 0);
	assert_int_equal(d.stats.late, 1);
	assert_int_equal(PUSH(&d, 2, 200, true, p264, out), 1);
}

/* --- parameter sets ----------------------------------------------------------------------------
 */

static void test_params_capture(void **state)
{
	(void)state;
	/* SPS sent as two FU-A fragments: captured once rebuilt. */
	static const uint8_t sps_fu1[] = {0x7c, 0x87, 0x64, 0x00};
	static const uint8_t sps_fu2[] = {0x7c, 0x47, 0x28, 0xac};
	struct h26x_depkt d;
	struct h26x_au out[2];
	struct want w = {.len = 0};
	uint8_t buf[2048];

	depkt_new(&d, H26X_H264, 0);
	assert_int_equal(h26x_depkt_get_params(&d, buf, sizeof(buf)), 0);
	assert_int_equal(PUSH(&d, 1, 100, false, sps264, out), 0);
	assert_int_equal(PUSH(&d, 2, 100, false, pps264, out), 0);
	assert_int_equal(PUSH(&d, 3, 100, true, idr264, out), 1);
	WANT(&w, sps264);
	WANT(&w, pps264);
	assert_int_equal(h26x_depkt_get_params(&d, buf, sizeof(buf)), (int)w.len);
	assert_memory_equal(buf, w.b, w.len);
	assert_int_equal(h26x_depkt_get_params(&d, buf, w.len), (int)w.len);
	assert_int_equal(h26x_depkt_get_params(&d, buf, w.len - 1), -ENOSPC);
	assert_int_equal(h26x_depkt_get_params(&d, buf, 4 + sizeof(sps264)), -ENOSPC);
	assert_int_equal(h26x_depkt_get_params(&d, buf, 0), -ENOSPC);

	assert_int_equal(PUSH(&d, 4, 200, false, sps_fu1, out), 0);
	assert_int_equal(PUSH(&d, 5, 200, true, sps_fu2, out), 1);
	w.len = 0;
	WANT(&w, sps264b);
	WANT(&w, pps264);
	assert_int_equal(h26x_depkt_get_params(&d, buf, sizeof(buf)), (int)w.len);
	assert_memory_equal(buf, w.b, w.len);

	/* H26X_PS_MAX bytes are kept... */
	static uint8_t big[H26X_PS_MAX + 1];
	memset(big, 0x5a, sizeof(big));
	big[0] = 0x67;
	assert_int_equal(h26x_depkt_push(&d, 6, 300, true, big, H26X_PS_MAX, out), 1);
	assert_int_equal(h26x_depkt_get_params(&d, buf, sizeof(buf)), 8 + H26X_PS_MAX + 4);
	assert_memory_equal(buf + 4, big, H26X_PS_MAX);

	/* ...one more byte is passed on but not kept. */
	depkt_new(&d, H26X_H264, 0);
	assert_int_equal(PUSH(&d, 1, 100, false, big, out), 0);
	assert_int_equal(PUSH(&d, 2, 100, true, pps264, out), 1);
	assert_int_equal(out[0].len, 8 + sizeof(big) + sizeof(pps264));
	w.len = 0;
	WANT(&w, pps264);
	assert_int_equal(h26x_depkt_get_params(&d, buf, sizeof(buf)), (int)w.len);
	assert_memory_equal(buf, w.b, w.len);

	/* H.265: always VPS, SPS, PPS order, whatever order they came in. */
	depkt_new(&d, H26X_H265, 0);
	assert_int_equal(PUSH(&d, 1, 100, false, pps265, out), 0);
	assert_int_equal(PUSH(&d, 2, 100, false, sps265, out), 0);
	assert_int_equal(PUSH(&d, 3, 100, true, vps265, out), 1);
	w.len = 0;
	WANT(&w, vps265);
	WANT(&w, sps265);
	WANT(&w, pps265);
	assert_int_equal(h26x_depkt_get_params(&d, buf, sizeof(buf)), (int)w.len);
	assert_memory_equal(buf, w.b, w.len);
}

static void test_set_params(void **state)
{
	(void)state;
	/* clang-format off */
	static const uint8_t sdp264[] = {
		0x00, 0x00, 0x00, 0x01, 0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8,
		0x00, 0x00, 0x01, 0x68, 0xce, 0x3c, 0x80,
		0x00, 0x00, 0x01, 0x65, 0x88,		/* not a parameter set */
	};
	static const uint8_t sdp265[] = {
		0x00, 0x00, 0x00, 0x01, 0x40, 0x01, 0x0c, 0x01, 0xff,
		0x00, 0x00, 0x00, 0x01, 0x42, 0x01, 0x01, 0x01, 0x60,
		0x00, 0x00, 0x00, 0x01, 0x44, 0x01, 0xc1, 0x72,
		0x00, 0x00, 0x00, 0x01, 0x44,		/* shorter than its header */
	};
	/* clang-format on */
	struct h26x_depkt d;
	struct want w = {.len = 0};
	uint8_t buf[2048];

	depkt_new(&d, H26X_H264, 0);
	assert_int_equal(h26x_depkt_set_params(&d, sdp264, sizeof(sdp264)), 2);
	WANT(&w, sps264);
	WANT(&w, pps264);
	assert_int_equal(h26x_depkt_get_params(&d, buf, sizeof(buf)), (int)w.len);
	assert_memory_equal(buf, w.b, w.len);
	/* A VPS means nothing to H.264. */
	assert_int_equal(h26x_depkt_set_params(&d, sdp265, 9), 0);

	depkt_new(&d, H26X_H265, 0);
	assert_int_equal(h26x_depkt_set_params(&d, sdp265, sizeof(sdp265)), 3);
	w.len = 0;
	WANT(&w, vps265);
	WANT(&w, sps265);
	WANT(&w, pps265);
	assert_int_equal(h26x_depkt_get_params(&d, buf, sizeof(buf)), (int)w.len);
	assert_memory_equal(buf, w.b, w.len);

	/* H26X_PS_MAX bytes are kept, one more are not. */
	static uint8_t big[4 + H26X_PS_MAX + 1];
	memset(big, 0x5a, sizeof(big));
	memcpy(big, sc4, 4);
	big[4] = 0x67;
	depkt_new(&d, H26X_H264, 0);
	assert_int_equal(h26x_depkt_set_params(&d, big, sizeof(big)), 0);
	assert_int_equal(h26x_depkt_get_params(&d, buf, sizeof(buf)), 0);
	assert_int_equal(h26x_depkt_set_params(&d, big, sizeof(big) - 1), 1);
	assert_int_equal(h26x_depkt_get_params(&d, buf, sizeof(buf)), 4 + H26X_PS_MAX);
	assert_memory_equal(buf, big, 4 + H26X_PS_MAX);
}

static void test_insert_params(void **state)
{
	(void)state;
	static const uint8_t sdp[] = {0,    0,    0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40,
	                              0x16, 0xe8, 0, 0, 0,    1,    0x68, 0xce, 0x3c, 0x80};
	struct h26x_depkt d;
	struct h26x_au out[2];
	struct want w = {.len = 0};

	/* Nothing known yet: nothing to insert. */
	depkt_new(&d, H26X_H264, H26X_DEPKT_INSERT_PARAMS);
	assert_int_equal(PUSH(&d, 1, 100, true, idr264, out), 1);
	assert_false(out[0].params_inserted);
	WANT(&w, idr264);
	assert_au_bytes(&out[0], &w);

	/* Seeded from the SDP. */
	assert_int_equal(h26x_depkt_set_params(&d, sdp, sizeof(sdp)), 2);
	assert_int_equal(PUSH(&d, 2, 200, true, idr264, out), 1);
	assert_true(out[0].params_inserted);
	assert_true(out[0].keyframe);
	assert_int_equal(out[0].nal_count, 1);
	w.len = 0;
	WANT(&w, sps264);
	WANT(&w, pps264);
	WANT(&w, idr264);
	assert_au_bytes(&out[0], &w);
	assert_int_equal(d.stats.params_inserted, 1);

	/* Not in front of other frames. */
	assert_int_equal(PUSH(&d, 3, 300, true, p264, out), 1);
	assert_false(out[0].params_inserted);
	assert_int_equal(out[0].len, 4 + sizeof(p264));

	/* Not when the keyframe has them; and the stream's new SPS replaces the seeded one. */
	assert_int_equal(PUSH(&d, 4, 400, false, sps264b, out), 0);
	assert_int_equal(PUSH(&d, 5, 400, false, pps264, out), 0);
	assert_int_equal(PUSH(&d, 6, 400, true, idr264, out), 1);
	assert_false(out[0].params_inserted);
	w.len = 0;
	WANT(&w, sps264b);
	WANT(&w, pps264);
	WANT(&w, idr264);
	assert_au_bytes(&out[0], &w);
	assert_int_equal(d.stats.params_inserted, 1);

	assert_int_equal(PUSH(&d, 7, 500, true, idr264, out), 1);
	assert_true(out[0].params_inserted);
	assert_au_bytes(&out[0], &w);
	assert_int_equal(d.stats.params_inserted, 2);

	/* H.265: VPS, SPS and PPS, captured from an AP, in front of a CRA. */
	static const uint8_t ap[] = {0x60, 0x01, 0x00, 0x05, 0x40, 0x01, 0x0c, 0x01,
	                             0xff, 0x00, 0x05, 0x42, 0x01, 0x01, 0x01, 0x60,
	                             0x00, 0x04, 0x44, 0x01, 0xc1, 0x72};
	depkt_new(&d, H26X_H265, H26X_DEPKT_INSERT_PARAMS);
	assert_int_equal(PUSH(&d, 1, 100, false, ap, out), 0);
	assert_int_equal(PUSH(&d, 2, 100, true, idr265, out), 1);
	assert_false(out[0].params_inserted);
	assert_int_equal(PUSH(&d, 3, 200, true, trail265, out), 1);
	assert_false(out[0].params_inserted);
	assert_int_equal(PUSH(&d, 4, 300, true, cra265, out), 1);
	assert_true(out[0].params_inserted);
	w.len = 0;
	WANT(&w, vps265);
	WANT(&w, sps265);
	WANT(&w, pps265);
	WANT(&w, cra265);
	assert_au_bytes(&out[0], &w);
	assert_int_equal(d.stats.params_inserted, 1);
}

/* --- malformed input ---------------------------------------------------------------------------
 */

struct bad_case {
	const uint8_t *p;
	size_t len;
	int err;
};

#define BAD(err, ...)                                                                              \
	{                                                                                          \
		(const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}), err        \
	}

/* Each bad packet breaks the unit it is in, is counted, and leaves its reason; the good packet
 * after it delivers again and clears last_error. */
static void run_bad_cases(enum h26x_codec codec, const struct bad_case *c, size_t n,
                          const uint8_t *good, size_t good_len)
{
	struct h26x_depkt d;
	struct h26x_au out[2];
	uint16_t seq = 0;
	uint32_t ts = 0;

	depkt_new(&d, codec, 0);
	for (size_t i = 0; i < n; i++) {
		struct h26x_depkt_stats s = d.stats;
		ts += 3000;
		assert_int_equal(h26x_depkt_push(&d, seq++, ts, false, good, good_len, out), 0);
		int got = h26x_depkt_push(&d, seq++, ts, true, c[i].p, c[i].len, out);
		if (got != 0 || d.last_error != c[i].err)
			print_error("case %zu: %d delivered, last_error %d; want 0 and %d\n", i,
			            got, d.last_error, c[i].err);
		assert_int_equal(got, 0);
		assert_int_equal(d.last_error, c[i].err);
		assert_int_equal(d.stats.broken, s.broken + 1);
		if (c[i].err == -EOPNOTSUPP) {
			assert_int_equal(d.stats.unsupported, s.unsupported + 1);
			assert_int_equal(d.stats.malformed, s.malformed);
		} else {
			assert_int_equal(d.stats.malformed, s.malformed + 1);
			assert_int_equal(d.stats.unsupported, s.unsupported);
		}
		ts += 3000;
		assert_int_equal(h26x_depkt_push(&d, seq++, ts, true, good, good_len, out), 1);
		assert_int_equal(d.last_error, 0);
		assert_int_equal(out[0].len, 4 + good_len);
		assert_memory_equal(out[0].data + 4, good, good_len);
	}
	assert_int_equal(d.stats.aus, n);
}

static void test_malformed_h264(void **state)
{
	(void)state;
	const struct bad_case c[] = {
	    {(const uint8_t *)"", 0, -EMSGSIZE},
	    BAD(-EPROTO, 0x85, 0x00),                    /* forbidden bit */
	    BAD(-EPROTO, 0xe1, 0x11),                    /* forbidden bit, NRI 3 */
	    BAD(-EPROTO, 0x00, 0x11),                    /* type 0 */
	    BAD(-EPROTO, 0x60, 0x11),                    /* type 0, NRI 3 */
	    BAD(-EPROTO, 0x1e, 0x11),                    /* 30 */
	    BAD(-EPROTO, 0x7f, 0x11),                    /* 31 */
	    BAD(-EMSGSIZE, 0x78),                        /* STAP-A, no unit */
	    BAD(-EBADMSG, 0x78, 0x00, 0x05, 0x41, 0x01), /* size past the end */
	    BAD(-EBADMSG, 0x78, 0x00, 0x02, 0x41, 0x01, 0x00, 0x03, 0x41), /* second one */
	    BAD(-EBADMSG, 0x78, 0x00, 0x00, 0x00, 0x02, 0x41, 0x01),       /* size 0 */
	    BAD(-EBADMSG, 0x78, 0x00, 0x02, 0x41, 0x01, 0x00),             /* trailing byte */
	    BAD(-EBADMSG, 0x78, 0x00),                                     /* one size byte */
	    BAD(-EBADMSG, 0x78, 0x00, 0x02, 0xc1, 0x01),                   /* inner forbidden bit */
	    BAD(-EBADMSG, 0x7c, 0xc5, 0x01),                               /* FU-A S and E */
	    BAD(-EMSGSIZE, 0x7c, 0x85),                                    /* FU-A, no data */
	    BAD(-EMSGSIZE, 0x7c),                                          /* FU-A, no FU header */
	    BAD(-EBADMSG, 0x7c, 0x98, 0x01),                               /* FU-A of a STAP-A */
	    BAD(-EBADMSG, 0x7c, 0x9c, 0x01),                               /* FU-A of an FU-A */
	    BAD(-EBADMSG, 0x7c, 0x9f, 0x01),                               /* FU-A of 31 */
	    BAD(-EBADMSG, 0x7c, 0x80, 0x01),                               /* FU-A of 0 */
	    BAD(-EBADMSG, 0x7c, 0x1c, 0x01),                            /* middle FU-A of an FU-A */
	    BAD(-EOPNOTSUPP, 0x79, 0x00, 0x01, 0x00, 0x02, 0x41, 0x01), /* STAP-B */
	    BAD(-EOPNOTSUPP, 0x7a, 0x00, 0x01, 0x00, 0x02, 0x41, 0x01), /* MTAP16 */
	    BAD(-EOPNOTSUPP, 0x7b, 0x00, 0x01, 0x00, 0x02, 0x41, 0x01), /* MTAP24 */
	    BAD(-EOPNOTSUPP, 0x7d, 0x85, 0x00, 0x01, 0x02),             /* FU-B */
	};
	run_bad_cases(H26X_H264, c, sizeof(c) / sizeof(c[0]), p264, sizeof(p264));
}

static void test_malformed_h265(void **state)
{
	(void)state;
	const struct bad_case c[] = {
	    {(const uint8_t *)"", 0, -EMSGSIZE},
	    BAD(-EMSGSIZE, 0x02),                                    /* one byte */
	    BAD(-EPROTO, 0x82, 0x01, 0xaa),                          /* forbidden bit */
	    BAD(-EPROTO, 0x02, 0x00, 0xaa),                          /* TID 0 */
	    BAD(-EPROTO, 0x02, 0xf8, 0xaa),                          /* TID 0, LayerId 31 */
	    BAD(-EPROTO, 0x60, 0x00, 0x00, 0x02, 0x02, 0x01),        /* AP with TID 0 */
	    BAD(-EPROTO, 0x62, 0x00, 0x81, 0xaa),                    /* FU with TID 0 */
	    BAD(-EMSGSIZE, 0x60, 0x01),                              /* AP, no unit */
	    BAD(-EBADMSG, 0x60, 0x01, 0x00, 0x09, 0x02, 0x01, 0xaa), /* size past the end */
	    BAD(-EBADMSG, 0x60, 0x01, 0x00, 0x01, 0x02, 0x00, 0x02, 0x02, 0x01), /* size 1 */
	    BAD(-EBADMSG, 0x60, 0x01, 0x00, 0x02, 0x02, 0x01, 0x00, 0x01, 0x02), /* last size 1 */
	    BAD(-EBADMSG, 0x60, 0x01, 0x00, 0x00, 0x00, 0x02, 0x02, 0x01),       /* size 0 */
	    BAD(-EBADMSG, 0x60, 0x01, 0x00, 0x02, 0x02, 0x01, 0x00),             /* trailing byte */
	    BAD(-EBADMSG, 0x60, 0x01, 0x00, 0x02, 0x82, 0x01),          /* inner forbidden bit */
	    BAD(-EBADMSG, 0x62, 0x01, 0xc1, 0xaa),                      /* FU S and E */
	    BAD(-EMSGSIZE, 0x62, 0x01, 0x81),                           /* FU, no data */
	    BAD(-EMSGSIZE, 0x62, 0x01),                                 /* FU, no FU header */
	    BAD(-EBADMSG, 0x62, 0x01, 0xb0, 0xaa),                      /* FU of an AP */
	    BAD(-EBADMSG, 0x62, 0x01, 0xb1, 0xaa),                      /* FU of an FU */
	    BAD(-EBADMSG, 0x62, 0x01, 0xb2, 0xaa),                      /* FU of a PACI */
	    BAD(-EBADMSG, 0x62, 0x01, 0xbf, 0xaa),                      /* FU of 63 */
	    BAD(-EOPNOTSUPP, 0x64, 0x01, 0x02, 0x00, 0x02, 0x01, 0xaa), /* PACI */
	};
	run_bad_cases(H26X_H265, c, sizeof(c) / sizeof(c[0]), trail265, sizeof(trail265));
}

/*
 * An aggregation packet may carry only NAL units that could be sent on their own (RFC 6184
 * §5.7: types 1..23; RFC 7798 §4.4.2: not AP, FU or PACI, and TID > 0). These are as bad as
 * the same units in a single-NAL packet, which are rejected; passed on, they reach the decoder
 * or recording, and the packetizer would send each as a single-NAL packet that a receiver reads
 * as an FU or an AP.
 */
static void test_aggregate_inner_header(void **state)
{
	(void)state;
	const struct bad_case c264[] = {
	    BAD(-EBADMSG, 0x78, 0x00, 0x02, 0x00, 0x11),                         /* type 0 */
	    BAD(-EBADMSG, 0x78, 0x00, 0x02, 0x41, 0x01, 0x00, 0x02, 0x7e, 0x11), /* 30 */
	    BAD(-EBADMSG, 0x78, 0x00, 0x03, 0x7c, 0x85, 0x11),                   /* FU-A inside */
	    BAD(-EBADMSG, 0x78, 0x00, 0x05, 0x78, 0x00, 0x02, 0x41, 0x01),       /* STAP-A inside */
	    BAD(-EBADMSG, 0x78, 0x00, 0x03, 0x79, 0x41, 0x01),                   /* STAP-B inside */
	};
	const struct bad_case c265[] = {
	    BAD(-EBADMSG, 0x60, 0x01, 0x00, 0x03, 0x02, 0x00, 0xaa),       /* TID 0 */
	    BAD(-EBADMSG, 0x60, 0x01, 0x00, 0x04, 0x62, 0x01, 0x81, 0xaa), /* FU inside */
	    BAD(-EBADMSG, 0x60, 0x01, 0x00, 0x06, 0x60, 0x01, 0x00, 0x02, 0x02, 0x01), /* AP */
	    BAD(-EBADMSG, 0x60, 0x01, 0x00, 0x03, 0x64, 0x01, 0xaa), /* PACI inside */
	    BAD(-EBADMSG, 0x60, 0x01, 0x00, 0x03, 0x7e, 0x01, 0xaa), /* 63 inside */
	};
	run_bad_cases(H26X_H264, c264, sizeof(c264) / sizeof(c264[0]), p264, sizeof(p264));
	run_bad_cases(H26X_H265, c265, sizeof(c265) / sizeof(c265[0]), trail265, sizeof(trail265));
}

/* RFC 7798 §4.4: types 51..63 are ignored, and do not break the unit (not even an FU). */
static void test_h265_ignored_types(void **state)
{
	(void)state;
	static const uint8_t fu1[] = {0x62, 0x01, 0x81, 0x31};
	static const uint8_t fu2[] = {0x62, 0x01, 0x41, 0x32};
	struct h26x_depkt d;
	struct h26x_au out[2];
	struct want w = {.len = 0};
	uint16_t seq = 0;

	depkt_new(&d, H26X_H265, 0);
	WANT(&w, trail265);
	WANT(&w, trail265b);
	for (uint8_t t = 51; t < 64; t++) {
		uint8_t pkt[] = {(uint8_t)(t << 1), 0x01, 0xaa, 0xbb};
		uint32_t ts = t * 3000u;
		assert_int_equal(PUSH(&d, seq++, ts, false, trail265, out), 0);
		assert_int_equal(PUSH(&d, seq++, ts, false, pkt, out), 0);
		assert_int_equal(d.last_error, 0);
		assert_int_equal(PUSH(&d, seq++, ts, true, trail265b, out), 1);
		assert_au_bytes(&out[0], &w);
		assert_int_equal(out[0].nal_count, 2);
	}
	assert_int_equal(d.stats.unsupported, 13);
	assert_int_equal(d.stats.broken, 0);
	assert_int_equal(d.stats.malformed, 0);

	static const uint8_t t51[] = {0x66, 0x01, 0xaa};
	assert_int_equal(PUSH(&d, seq++, 1, false, fu1, out), 0);
	assert_int_equal(PUSH(&d, seq++, 1, false, t51, out), 0);
	assert_int_equal(PUSH(&d, seq++, 1, true, fu2, out), 1);
	static const uint8_t nal[] = {0x02, 0x01, 0x31, 0x32};
	w.len = 0;
	WANT(&w, nal);
	assert_au_bytes(&out[0], &w);

	/* A unit of nothing but ignored packets delivers nothing and is not broken. */
	assert_int_equal(PUSH(&d, seq++, 2, true, t51, out), 0);
	assert_int_equal(d.stats.broken, 0);
	assert_int_equal(d.stats.aus, 14);
}

static void test_overflow(void **state)
{
	(void)state;
	static uint8_t nal[SMALL_AU];
	struct h26x_depkt d;
	struct h26x_au out[2];

	memset(nal, 0x77, sizeof(nal));
	nal[0] = 0x41;
	assert_int_equal(h26x_depkt_init(&d, H26X_H264, 0, small_mem, sizeof(small_mem)), 0);

	/* Exactly the buffer: start code + 2044 bytes. */
	assert_int_equal(h26x_depkt_push(&d, 1, 100, true, nal, SMALL_AU - 4, out), 1);
	assert_int_equal(out[0].len, SMALL_AU);
	assert_int_equal(d.last_error, 0);

	/* One byte more. */
	assert_int_equal(h26x_depkt_push(&d, 2, 200, true, nal, SMALL_AU - 3, out), 0);
	assert_int_equal(d.last_error, -ENOBUFS);
	assert_int_equal(d.stats.overflow, 1);
	assert_int_equal(d.stats.broken, 1);
	assert_int_equal(d.stats.malformed, 0);

	/* Fragments that add up past it: the error is on the one that does not fit, and the
	 * unit is counted once. */
	static uint8_t fu[1002];
	memset(fu, 0x66, sizeof(fu));
	fu[0] = 0x7c;
	fu[1] = 0x85;
	assert_int_equal(h26x_depkt_push(&d, 3, 300, false, fu, sizeof(fu), out), 0);
	fu[1] = 0x05;
	assert_int_equal(h26x_depkt_push(&d, 4, 300, false, fu, sizeof(fu), out), 0);
	assert_int_equal(d.last_error, 0); /* 4 + 1 + 2000 */
	assert_int_equal(h26x_depkt_push(&d, 5, 300, false, fu, sizeof(fu), out), 0);
	assert_int_equal(d.last_error, -ENOBUFS);
	fu[1] = 0x45;
	assert_int_equal(h26x_depkt_push(&d, 6, 300, true, fu, sizeof(fu), out), 0);
	assert_int_equal(d.stats.overflow, 2);
	assert_int_equal(d.stats.broken, 2);

	/* Back to normal, and a full buffer still takes parameter sets in its headroom. */
	static const uint8_t sdp[] = {0,    0,    0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40,
	                              0x16, 0xe8, 0, 0, 0,    1,    0x68, 0xce, 0x3c, 0x80};
	assert_int_equal(
	    h26x_depkt_init(&d, H26X_H264, H26X_DEPKT_INSERT_PARAMS, small_mem, sizeof(small_mem)),
	    0);
	assert_int_equal(h26x_depkt_set_params(&d, sdp, sizeof(sdp)), 2);
	nal[0] = 0x65;
	assert_int_equal(h26x_depkt_push(&d, 7, 400, true, nal, SMALL_AU - 4, out), 1);
	assert_true(out[0].params_inserted);
	assert_int_equal(out[0].len, sizeof(sdp) + SMALL_AU);
	assert_memory_equal(out[0].data, sdp, sizeof(sdp));
	assert_memory_equal(out[0].data + sizeof(sdp), sc4, 4);
	assert_memory_equal(out[0].data + sizeof(sdp) + 4, nal, SMALL_AU - 4);

	/* H.265 too. */
	nal[0] = 0x02;
	nal[1] = 0x01;
	assert_int_equal(h26x_depkt_init(&d, H26X_H265, 0, small_mem, sizeof(small_mem)), 0);
	assert_int_equal(h26x_depkt_push(&d, 1, 100, true, nal, SMALL_AU - 4, out), 1);
	assert_int_equal(h26x_depkt_push(&d, 2, 200, true, nal, SMALL_AU - 3, out), 0);
	assert_int_equal(d.last_error, -ENOBUFS);
	assert_int_equal(d.stats.overflow, 1);
}

/* --- packetizer --------------------------------------------------------------------------------
 */

struct pkt {
	uint8_t b[1500];
	int len;
	bool marker;
};

/* All packets of one access unit, checking the size limit and that only the last has the
 * marker. Returns how many. */
static size_t pack_all(struct h26x_pack *p, const uint8_t *au, size_t len, struct pkt *pk,
                       size_t max)
{
	size_t n = 0;
	h26x_pack_au(p, au, len);
	for (;;) {
		assert_true(n < max);
		pk[n].marker = false;
		pk[n].len = h26x_pack_next(p, pk[n].b, sizeof(pk[n].b), &pk[n].marker);
		assert_true(pk[n].len >= 0);
		if (pk[n].len == 0)
			break;
		assert_true((size_t)pk[n].len <= p->max_payload);
		if (n > 0)
			assert_false(pk[n - 1].marker);
		n++;
	}
	assert_true(n > 0);
	assert_true(pk[n - 1].marker);
	assert_int_equal(h26x_pack_next(p, pk[n].b, sizeof(pk[n].b), &pk[n].marker), 0);
	return n;
}

static void test_pack_init(void **state)
{
	(void)state;
	struct h26x_pack p;
	assert_int_equal(h26x_pack_init(&p, H26X_H264, 0, 0), -EINVAL);
	assert_int_equal(h26x_pack_init(&p, H26X_H264, 0, 15), -EINVAL);
	assert_int_equal(h26x_pack_init(&p, H26X_H264, 0, 16), 0);
	assert_int_equal(h26x_pack_init(&p, H26X_H265, 0, 65535), 0);
	assert_int_equal(h26x_pack_init(&p, H26X_H265, 0, 65536), -EINVAL);
}

static void test_pack_single(void **state)
{
	(void)state;
	/* clang-format off */
	static const uint8_t au[] = {
		0x00, 0x00, 0x00, 0x01, 0x09, 0xf0,			/* AUD */
		0x00, 0x00, 0x01, 0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8,
		0x00, 0x00, 0x00,					/* trailing zero */
		0x00, 0x00, 0x01, 0x65, 0x88, 0x84, 0x21, 0xa0,
	};
	/* clang-format on */
	static struct pkt pk[8];
	struct h26x_pack p;
	bool m = true;

	/* Each NAL unit fits, and aggregation is off. */
	assert_int_equal(h26x_pack_init(&p, H26X_H264, H26X_PACK_NO_AGGREGATION, 1188), 0);
	h26x_pack_au(&p, au, sizeof(au));
	assert_int_equal(h26x_pack_next(&p, pk[0].b, 1187, &m), -ENOSPC);
	assert_int_equal(pack_all(&p, au, sizeof(au), pk, 8), 3);
	assert_int_equal(pk[0].len, 2);
	assert_memory_equal(pk[0].b, au + 4, 2);
	assert_int_equal(pk[1].len, sizeof(sps264));
	assert_memory_equal(pk[1].b, sps264, sizeof(sps264));
	assert_int_equal(pk[2].len, sizeof(idr264));
	assert_memory_equal(pk[2].b, idr264, sizeof(idr264));
	assert_false(pk[0].marker);
	assert_false(pk[1].marker);
	assert_true(pk[2].marker);

	/* -ENOSPC leaves the state alone. */
	h26x_pack_au(&p, au, sizeof(au));
	assert_int_equal(h26x_pack_next(&p, pk[0].b, 100, &m), -ENOSPC);
	assert_int_equal(h26x_pack_next(&p, pk[0].b, 1188, &m), 2);
	assert_int_equal(pk[0].b[0], 0x09);

	/* A NAL unit of exactly max_payload goes alone. */
	static uint8_t big[4 + 100];
	memset(big, 0x33, sizeof(big));
	memcpy(big, sc4, 4);
	big[4] = 0x41;
	assert_int_equal(h26x_pack_init(&p, H26X_H264, 0, 100), 0);
	assert_int_equal(pack_all(&p, big, sizeof(big), pk, 8), 1);
	assert_int_equal(pk[0].len, 100);
	assert_memory_equal(pk[0].b, big + 4, 100);

	/* An empty access unit has no packets. */
	h26x_pack_au(&p, au, 0);
	assert_int_equal(h26x_pack_next(&p, pk[0].b, sizeof(pk[0].b), &m), 0);
	h26x_pack_au(&p, (const uint8_t[]){0, 0, 1, 0, 0}, 5);
	assert_int_equal(h26x_pack_next(&p, pk[0].b, sizeof(pk[0].b), &m), 0);

	/* H.265: a NAL unit shorter than its header. */
	static const uint8_t au265[] = {0, 0, 1, 0x02, 0, 0, 1, 0x26, 0x01, 0xaa};
	assert_int_equal(h26x_pack_init(&p, H26X_H265, 0, 1188), 0);
	h26x_pack_au(&p, au265, sizeof(au265));
	assert_int_equal(h26x_pack_next(&p, pk[0].b, sizeof(pk[0].b), &m), -EBADMSG);
	assert_int_equal(h26x_pack_next(&p, pk[0].b, sizeof(pk[0].b), &m), 3);
	assert_true(m);
	assert_memory_equal(pk[0].b, au265 + 7, 3);
	assert_int_equal(h26x_pack_next(&p, pk[0].b, sizeof(pk[0].b), &m), 0);
}

static void test_pack_stap_a(void **state)
{
	(void)state;
	/* clang-format off */
	static const uint8_t au[] = {
		0, 0, 0, 1, 0x06, 0x05, 0x01, 0xff,		/* SEI, NRI 0 */
		0, 0, 0, 1, 0x41, 0x9a, 0x02, 0x03,		/* NRI 2 */
		0, 0, 1, 0x21, 0xee, 0xef,			/* NRI 1 */
	};
	static const uint8_t want[] = {
		0x58,						/* NRI 2 = max, 24 */
		0x00, 0x04, 0x06, 0x05, 0x01, 0xff,
		0x00, 0x04, 0x41, 0x9a, 0x02, 0x03,
		0x00, 0x03, 0x21, 0xee, 0xef,
	};
	static const uint8_t au_f[] = {0, 0, 1, 0x06, 0x05, 0, 0, 1, 0x81, 0x01};
	/* clang-format on */
	static struct pkt pk[8];
	struct h26x_pack p;

	assert_int_equal(h26x_pack_init(&p, H26X_H264, 0, 1188), 0);
	assert_int_equal(pack_all(&p, au, sizeof(au), pk, 8), 1);
	assert_int_equal(pk[0].len, sizeof(want));
	assert_memory_equal(pk[0].b, want, sizeof(want));

	/* F is the OR of the units'. */
	assert_int_equal(pack_all(&p, au_f, sizeof(au_f), pk, 8), 1);
	assert_memory_equal(pk[0].b, ((const uint8_t[]){0x98, 0, 2, 0x06, 0x05, 0, 2, 0x81, 0x01}),
	                    9);

	/* As many as fit in max_payload: 1 + (2 + 5) + (2 + 6) = 16 is whole... */
	assert_int_equal(h26x_pack_init(&p, H26X_H264, 0, 16), 0);
	static uint8_t two[4 + 5 + 4 + 7];
	memset(two, 0x41, sizeof(two));
	memcpy(two, sc4, 4);
	memcpy(two + 9, sc4, 4);
	assert_int_equal(pack_all(&p, two, 4 + 5 + 4 + 6, pk, 8), 1);
	assert_int_equal(pk[0].len, 16);
	assert_int_equal(pk[0].b[0], 0x58);
	/* ...and one byte more is not. */
	assert_int_equal(pack_all(&p, two, sizeof(two), pk, 8), 2);
	assert_int_equal(pk[0].len, 5);
	assert_int_equal(pk[1].len, 7);

	/* A third unit that does not fit starts the next packet. */
	assert_int_equal(h26x_pack_init(&p, H26X_H264, 0, 19), 0);
	static const uint8_t three[] = {0, 0, 1, 0x41, 1,    2, 0, 0, 1, 0x41, 3,
	                                4, 0, 0, 1,    0x41, 5, 6, 7, 8, 9,    10};
	assert_int_equal(pack_all(&p, three, sizeof(three), pk, 8), 2);
	assert_int_equal(pk[0].len, 1 + 5 + 5);
	assert_int_equal(pk[0].b[0], 0x58);
	assert_int_equal(pk[1].len, 7);
	assert_memory_equal(pk[1].b, three + 15, 7);

	/* NO_AGGREGATION: one packet a NAL unit. */
	assert_int_equal(h26x_pack_init(&p, H26X_H264, H26X_PACK_NO_AGGREGATION, 1188), 0);
	assert_int_equal(pack_all(&p, au, sizeof(au), pk, 8), 3);
	assert_int_equal(pk[0].len, 4);
	assert_memory_equal(pk[0].b, sei264, 4);
	assert_memory_equal(pk[2].b, au + 19, 3);
}

static void test_pack_ap(void **state)
{
	(void)state;
	/* clang-format off */
	static const uint8_t au[] = {
		0, 0, 0, 1, 0x41, 0x43, 0x0c,	/* VPS, LayerId 40, TID 3 */
		0, 0, 0, 1, 0x43, 0x0d, 0x01,	/* SPS, LayerId 33, TID 5 */
		0, 0, 0, 1, 0x45, 0x92, 0xc1,	/* PPS, LayerId 50, TID 2 */
	};
	static const uint8_t want[] = {
		0x61, 0x0a,			/* 48, LayerId 33, TID 2 */
		0x00, 0x03, 0x41, 0x43, 0x0c,
		0x00, 0x03, 0x43, 0x0d, 0x01,
		0x00, 0x03, 0x45, 0x92, 0xc1,
	};
	static const uint8_t au2[] = {
		0, 0, 1, 0x41, 0x43, 0x0c,	/* LayerId 40, TID 3 */
		0, 0, 1, 0x82, 0x1f, 0x01,	/* F, TRAIL_R, LayerId 3, TID 7 */
	};
	/* clang-format on */
	static struct pkt pk[8];
	struct h26x_pack p;

	assert_int_equal(h26x_pack_init(&p, H26X_H265, 0, 1188), 0);
	assert_int_equal(pack_all(&p, au, sizeof(au), pk, 8), 1);
	assert_int_equal(pk[0].len, sizeof(want));
	assert_memory_equal(pk[0].b, want, sizeof(want));

	assert_int_equal(pack_all(&p, au2, sizeof(au2), pk, 8), 1);
	assert_int_equal(pk[0].len, 12);
	assert_int_equal(pk[0].b[0], 0x80 | 0x60); /* F, 48, LayerId MSB 0 */
	assert_int_equal(pk[0].b[1], 3 << 3 | 3);  /* LayerId 3, TID 3 */

	assert_int_equal(h26x_pack_init(&p, H26X_H265, H26X_PACK_NO_AGGREGATION, 1188), 0);
	assert_int_equal(pack_all(&p, au, sizeof(au), pk, 8), 3);
	assert_memory_equal(pk[1].b, au + 11, 3);
	assert_true(pk[2].marker);
}

static void test_pack_fu_a(void **state)
{
	(void)state;
	static uint8_t au[4 + 1000 + 4 + sizeof(p264)];
	static struct pkt pk[32];
	struct h26x_pack p;
	uint8_t body[1000];

	/* An IDR of 1000 bytes in 100-byte payloads: 98 bytes a fragment, 999 after the header,
	 * so ten of 98 and one of 19. Then a small frame. */
	memcpy(au, sc4, 4);
	au[4] = 0x65;
	for (size_t i = 5; i < 1004; i++)
		au[i] = (uint8_t)(i * 7 + 1) | 1;
	memcpy(au + 1004, sc4, 4);
	memcpy(au + 1008, p264, sizeof(p264));

	assert_int_equal(h26x_pack_init(&p, H26X_H264, 0, 100), 0);
	assert_int_equal(pack_all(&p, au, sizeof(au), pk, 32), 12);
	size_t off = 0;
	for (int i = 0; i < 11; i++) {
		assert_int_equal(pk[i].b[0], 0x7c); /* NRI 3 | 28 */
		uint8_t fh = 5 | (i == 0 ? 0x80 : 0) | (i == 10 ? 0x40 : 0);
		assert_int_equal(pk[i].b[1], fh);
		assert_int_equal(pk[i].len, i == 10 ? 2 + 19 : 100);
		assert_false(pk[i].marker);
		memcpy(body + off, pk[i].b + 2, (size_t)pk[i].len - 2);
		off += (size_t)pk[i].len - 2;
	}
	assert_int_equal(off, 999);
	assert_memory_equal(body, au + 5, 999);
	assert_int_equal(pk[11].len, sizeof(p264));
	assert_true(pk[11].marker);

	/* The big one last: the marker is on its last fragment. */
	static uint8_t au2[4 + sizeof(p264) + 4 + 1000];
	memcpy(au2, au + 1004, 4 + sizeof(p264));
	memcpy(au2 + 4 + sizeof(p264), au, 1004);
	assert_int_equal(pack_all(&p, au2, sizeof(au2), pk, 32), 12);
	assert_false(pk[0].marker);
	assert_int_equal(pk[1].b[1], 0x85);
	assert_int_equal(pk[11].b[1], 0x45);
	assert_true(pk[11].marker);

	/* h26x_pack_au() in the middle of a NAL unit starts over. */
	h26x_pack_au(&p, au, sizeof(au));
	bool m;
	assert_int_equal(h26x_pack_next(&p, pk[0].b, sizeof(pk[0].b), &m), 100);
	h26x_pack_au(&p, au2, sizeof(au2));
	assert_int_equal(h26x_pack_next(&p, pk[0].b, sizeof(pk[0].b), &m), sizeof(p264));
	assert_memory_equal(pk[0].b, p264, sizeof(p264));
	assert_int_equal(h26x_pack_next(&p, pk[0].b, sizeof(pk[0].b), &m), 100);
	assert_int_equal(pk[0].b[1], 0x85);
}

static void test_pack_fu_h265(void **state)
{
	(void)state;
	static uint8_t au[4 + 500];
	static struct pkt pk[16];
	struct h26x_pack p;
	uint8_t body[500];

	/* IDR_W_RADL, LayerId 33, TID 3, 500 bytes in 64-byte payloads: 61 bytes a fragment,
	 * 498 after the header, so eight of 61 and one of 10. */
	memcpy(au, sc4, 4);
	au[4] = 0x27;
	au[5] = 0x0b;
	for (size_t i = 6; i < sizeof(au); i++)
		au[i] = (uint8_t)(i * 13) | 0x10;
	assert_int_equal(h26x_pack_init(&p, H26X_H265, 0, 64), 0);
	assert_int_equal(pack_all(&p, au, sizeof(au), pk, 16), 9);
	size_t off = 0;
	for (int i = 0; i < 9; i++) {
		assert_int_equal(pk[i].b[0], 0x63); /* 49 << 1 | LayerId MSB */
		assert_int_equal(pk[i].b[1], 0x0b);
		uint8_t fh = 19 | (i == 0 ? 0x80 : 0) | (i == 8 ? 0x40 : 0);
		assert_int_equal(pk[i].b[2], fh);
		assert_int_equal(pk[i].len, i == 8 ? 3 + 10 : 64);
		memcpy(body + off, pk[i].b + 3, (size_t)pk[i].len - 3);
		off += (size_t)pk[i].len - 3;
	}
	assert_int_equal(off, 498);
	assert_memory_equal(body, au + 6, 498);
}

/* --- round trip --------------------------------------------------------------------------------
 */

static uint32_t rng = 0x12345678;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static uint32_t rnd_in(uint32_t lo, uint32_t hi)
{
	return lo + rnd() % (hi - lo + 1);
}

#define RT_NALS 8

struct rt_au {
	uint8_t b[RT_NALS * (5000 + 4 + 4 + 3)];
	size_t len;
	const uint8_t *nal[RT_NALS];
	size_t nal_len[RT_NALS];
	size_t n;
	bool keyframe;
};

/* A random Annex-B access unit: valid NAL headers, bodies with no two zero bytes in a row and
 * no zero at the end (so no start code emulation), 3- or 4-byte start codes, now and then
 * trailing zero bytes or an empty NAL unit. */
static void rt_gen(struct rt_au *a, enum h26x_codec c)
{
	size_t hl = h26x_nal_hdr_len(c);
	a->len = 0;
	a->n = rnd_in(1, RT_NALS);
	a->keyframe = false;
	for (size_t i = 0; i < a->n; i++) {
		size_t len = rnd() & 1 ? rnd_in((uint32_t)hl, 40) : rnd_in((uint32_t)hl, 5000);
		if (rnd() % 8 == 0)
			a->b[a->len++] = 0;
		if (rnd() % 8 == 0) {
			memcpy(a->b + a->len, sc4 + 1, 3); /* empty NAL unit */
			a->len += 3;
		}
		if (rnd() & 1)
			a->b[a->len++] = 0;
		memcpy(a->b + a->len, sc4 + 1, 3);
		a->len += 3;

		uint8_t *nal = a->b + a->len, type;
		if (c == H26X_H264) {
			type = (uint8_t)rnd_in(1, 23);
			nal[0] = (uint8_t)((rnd() & 3) << 5 | type);
		} else {
			unsigned layer = rnd() & 63;
			type = (uint8_t)rnd_in(0, 47);
			nal[0] = (uint8_t)(type << 1 | layer >> 5);
			nal[1] = (uint8_t)((layer & 31) << 3 | rnd_in(1, 7));
		}
		for (size_t j = hl; j < len; j++) {
			uint8_t b = (uint8_t)rnd();
			if (b == 0 && (nal[j - 1] == 0 || j == len - 1))
				b = (uint8_t)rnd_in(1, 255);
			nal[j] = b;
		}
		a->keyframe |= h26x_is_keyframe_type(c, type);
		a->nal[i] = nal;
		a->nal_len[i] = len;
		a->len += len;
	}
	if (rnd() % 4 == 0)
		a->b[a->len++] = 0;
}

static void roundtrip(enum h26x_codec c, size_t max_payload, unsigned pack_flags)
{
	static struct rt_au a;
	static uint8_t pkt[1500];
	struct h26x_pack p;
	struct h26x_depkt d;
	struct h26x_au out[2];
	uint16_t seq = 65000;
	size_t kinds[3] = {0, 0, 0}; /* single, aggregate, fragment */
	uint8_t agg = c == H26X_H264 ? H264_NAL_STAP_A : H265_NAL_AP;
	uint8_t fu = c == H26X_H264 ? H264_NAL_FU_A : H265_NAL_FU;

	depkt_new(&d, c, 0);
	assert_int_equal(h26x_pack_init(&p, c, pack_flags, max_payload), 0);
	for (uint32_t i = 0; i < 60; i++) {
		uint32_t ts = i * 3003;
		uint16_t first = seq;
		rt_gen(&a, c);
		h26x_pack_au(&p, a.b, a.len);
		int got = 0;
		bool m = false;
		for (;;) {
			int n = h26x_pack_next(&p, pkt, sizeof(pkt), &m);
			assert_true(n >= 0);
			if (n == 0)
				break;
			assert_int_equal(got, 0); /* nothing after the marker */
			assert_true((size_t)n <= max_payload);
			uint8_t t = h26x_nal_type(c, pkt);
			kinds[t == agg ? 1 : t == fu ? 2 : 0]++;
			got = h26x_depkt_push(&d, seq++, ts, m, pkt, (size_t)n, out);
			assert_int_equal(d.last_error, 0);
			assert_int_equal(got, m ? 1 : 0);
		}
		assert_int_equal(got, 1);
		assert_int_equal(out[0].ts, ts);
		assert_int_equal(out[0].first_seq, first);
		assert_int_equal(out[0].last_seq, (uint16_t)(seq - 1));
		assert_int_equal(out[0].nal_count, a.n);
		assert_int_equal(out[0].keyframe, a.keyframe);

		const uint8_t *pos = out[0].data, *end = out[0].data + out[0].len, *nal;
		size_t len, k = 0, total = 0;
		while (h26x_annexb_next(&pos, end, &nal, &len)) {
			assert_true(k < a.n);
			assert_int_equal(len, a.nal_len[k]);
			assert_memory_equal(nal, a.nal[k], len);
			total += 4 + len;
			k++;
		}
		assert_int_equal(k, a.n);
		assert_int_equal(out[0].len, total);
	}
	assert_int_equal(d.stats.aus, 60);
	assert_int_equal(d.stats.broken + d.stats.malformed + d.stats.overflow, 0);
	assert_true(kinds[0] > 0);
	assert_true(kinds[2] > 0);
	if (pack_flags & H26X_PACK_NO_AGGREGATION)
		assert_int_equal(kinds[1], 0);
	else if (max_payload >= 50)
		assert_true(kinds[1] > 0);
}

static void test_roundtrip_h264(void **state)
{
	(void)state;
	rng = 0x2641;
	roundtrip(H26X_H264, 50, 0);
	roundtrip(H26X_H264, 200, 0);
	roundtrip(H26X_H264, 1188, 0);
	roundtrip(H26X_H264, 1188, H26X_PACK_NO_AGGREGATION);
	roundtrip(H26X_H264, 16, 0);
}

static void test_roundtrip_h265(void **state)
{
	(void)state;
	rng = 0x2651;
	roundtrip(H26X_H265, 50, 0);
	roundtrip(H26X_H265, 200, 0);
	roundtrip(H26X_H265, 1188, 0);
	roundtrip(H26X_H265, 1188, H26X_PACK_NO_AGGREGATION);
	roundtrip(H26X_H265, 16, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_annexb_next),
	    cmocka_unit_test(test_annexb_edges),
	    cmocka_unit_test(test_types),
	    cmocka_unit_test(test_scan_payload),
	    cmocka_unit_test(test_depkt_init),
	    cmocka_unit_test(test_h264_single),
	    cmocka_unit_test(test_h265_single),
	    cmocka_unit_test(test_keyframe_types),
	    cmocka_unit_test(test_h264_stap_a),
	    cmocka_unit_test(test_h265_ap),
	    cmocka_unit_test(test_h264_fu_a),
	    cmocka_unit_test(test_h265_fu),
	    cmocka_unit_test(test_ts_change_framing),
	    cmocka_unit_test(test_two_aus_with_params),
	    cmocka_unit_test(test_gap_inside_au),
	    cmocka_unit_test(test_gap_at_ts_change),
	    cmocka_unit_test(test_fu_loss),
	    cmocka_unit_test(test_wait_keyframe),
	    cmocka_unit_test(test_duplicate_and_late),
	    cmocka_unit_test(test_seq_wrap),
	    cmocka_unit_test(test_params_capture),
	    cmocka_unit_test(test_set_params),
	    cmocka_unit_test(test_insert_params),
	    cmocka_unit_test(test_malformed_h264),
	    cmocka_unit_test(test_malformed_h265),
	    cmocka_unit_test(test_aggregate_inner_header),
	    cmocka_unit_test(test_h265_ignored_types),
	    cmocka_unit_test(test_overflow),
	    cmocka_unit_test(test_pack_init),
	    cmocka_unit_test(test_pack_single),
	    cmocka_unit_test(test_pack_stap_a),
	    cmocka_unit_test(test_pack_ap),
	    cmocka_unit_test(test_pack_fu_a),
	    cmocka_unit_test(test_pack_fu_h265),
	    cmocka_unit_test(test_roundtrip_h264),
	    cmocka_unit_test(test_roundtrip_h265),
	};
	return cmocka_run_group_tests_name("h26x", tests, NULL, NULL);
}
