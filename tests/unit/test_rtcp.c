/* RTCP compound parsing, typed views, builders and RTT arithmetic tests. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rtp/rtcp.h"

/*
 * An SR + SDES compound as an endpoint sends it. Sender 0x11223344 at 2024-01-01T00:00:00.25Z,
 * one report block about 0x55667788 (25 % lost, cumulative -2 after duplicates), then its CNAME
 * "edge@caas.local" (15 bytes: SSRC + 2 + 15 = 21, so three null octets end the chunk).
 */
/* clang-format off */
static const uint8_t sr_sdes[] = {
	0x81, 0xc8, 0x00, 0x0c,				/* V=2 RC=1 PT=200, 13 words */
	0x11, 0x22, 0x33, 0x44,				/* sender SSRC */
	0xe9, 0x3c, 0x7f, 0x00, 0x40, 0x00, 0x00, 0x00,	/* NTP 0xe93c7f00.40000000 */
	0x00, 0x01, 0xd4, 0xc0,				/* RTP ts 120000 */
	0x00, 0x00, 0x00, 0x64,				/* 100 packets */
	0x00, 0x00, 0x2e, 0xe0,				/* 12000 octets */
	0x55, 0x66, 0x77, 0x88,				/* report block: SSRC */
	0x40, 0xff, 0xff, 0xfe,				/* fraction 64/256, cumulative -2 */
	0x00, 0x01, 0x00, 0x05,				/* one wrap, highest seq 5 */
	0x00, 0x00, 0x00, 0x20,				/* jitter 32 */
	0x7f, 0x00, 0x40, 0x00,				/* LSR */
	0x00, 0x01, 0x00, 0x00,				/* DLSR 1 s */
	0x81, 0xca, 0x00, 0x06,				/* V=2 SC=1 PT=202, 7 words */
	0x11, 0x22, 0x33, 0x44,				/* chunk SSRC */
	0x01, 0x0f, 'e', 'd', 'g', 'e', '@', 'c',	/* CNAME, 15 bytes */
	'a', 'a', 's', '.', 'l', 'o', 'c', 'a',
	'l', 0x00, 0x00, 0x00,				/* end item and padding */
};
/* clang-format on */

/* A minimal first packet for compounds whose interesting part comes second. */
static const uint8_t rr0[] = {0x80, 0xc9, 0x00, 0x01, 0x0a, 0x0b, 0x0c, 0x0d};

static size_t cat(uint8_t *dst, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	memcpy(dst, a, alen);
	memcpy(dst + alen, b, blen);
	return alen + blen;
}

/* rtcp_validate() on an exact-size heap copy, so that ASan sees any read past the end. */
static int validate_copy(const uint8_t *buf, size_t len, unsigned flags)
{
	uint8_t *c = malloc(len ? len : 1);
	assert_non_null(c);
	memcpy(c, buf, len);
	int rc = rtcp_validate(c, len, flags);
	free(c);
	return rc;
}

static void test_sr_sdes_compound(void **state)
{
	(void)state;
	struct rtcp_iter it;
	struct rtcp_pkt pkt;
	struct rtcp_sr sr;
	struct rtcp_rb rb;
	struct rtcp_sdes_item item;

	rtcp_iter_init(&it, sr_sdes, sizeof(sr_sdes), 0);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(pkt.pt, RTCP_PT_SR);
	assert_int_equal(pkt.count, 1);
	assert_int_equal(pkt.len, 52);
	assert_int_equal(pkt.ssrc, 0x11223344);
	assert_int_equal(rtcp_sr_get(&pkt, &sr), 0);
	assert_int_equal(sr.ssrc, 0x11223344);
	assert_true(sr.ntp == 0xe93c7f0040000000ull);
	assert_int_equal(sr.rtp_ts, 120000);
	assert_int_equal(sr.packet_count, 100);
	assert_int_equal(sr.octet_count, 12000);
	assert_int_equal(rtcp_rb_get(&pkt, 0, &rb), 0);
	assert_int_equal(rb.ssrc, 0x55667788);
	assert_int_equal(rb.fraction_lost, 64);
	assert_int_equal(rb.cumulative_lost, -2);
	assert_int_equal(rb.ext_highest_seq, 0x10005);
	assert_int_equal(rb.jitter, 32);
	assert_int_equal(rb.lsr, 0x7f004000);
	assert_int_equal(rb.dlsr, 0x10000);
	assert_int_equal(rtcp_rb_get(&pkt, 1, &rb), -ERANGE);
	assert_int_equal(rtcp_sdes_cname(&pkt, &item), -EINVAL);

	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(pkt.pt, RTCP_PT_SDES);
	assert_int_equal(pkt.len, 28);
	assert_int_equal(pkt.ssrc, 0);
	assert_int_equal(rtcp_sr_get(&pkt, &sr), -EINVAL);
	assert_int_equal(rtcp_rb_get(&pkt, 0, &rb), -EINVAL);
	assert_int_equal(rtcp_sdes_cname(&pkt, &item), 0);
	assert_int_equal(item.ssrc, 0x11223344);
	assert_int_equal(item.type, RTCP_SDES_CNAME);
	assert_int_equal(item.len, 15);
	assert_memory_equal(item.data, "edge@caas.local", 15);

	assert_int_equal(rtcp_iter_next(&it, &pkt), 0);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 0);
	assert_int_equal(rtcp_validate(sr_sdes, sizeof(sr_sdes), 0), 2);

	/* The builders produce the same bytes. */
	uint8_t out[128];
	struct rtcp_sr s = {.ssrc = 0x11223344,
	                    .ntp = 0xe93c7f0040000000ull,
	                    .rtp_ts = 120000,
	                    .packet_count = 100,
	                    .octet_count = 12000};
	struct rtcp_rb b = {.ssrc = 0x55667788,
	                    .fraction_lost = 64,
	                    .cumulative_lost = -2,
	                    .ext_highest_seq = 0x10005,
	                    .jitter = 32,
	                    .lsr = 0x7f004000,
	                    .dlsr = 0x10000};
	int n = rtcp_sr_write(out, sizeof(out), &s, &b, 1);
	assert_int_equal(n, 52);
	int m =
	    rtcp_sdes_cname_write(out + n, sizeof(out) - (size_t)n, 0x11223344, "edge@caas.local");
	assert_int_equal(m, 28);
	assert_int_equal(n + m, sizeof(sr_sdes));
	assert_memory_equal(out, sr_sdes, sizeof(sr_sdes));
}

static void test_rb_sign_and_clamp(void **state)
{
	(void)state;
	static const struct {
		int32_t in;
		uint8_t wire[3];
		int32_t out;
	} cases[] = {
	    {0, {0x00, 0x00, 0x00}, 0},
	    {1, {0x00, 0x00, 0x01}, 1},
	    {-1, {0xff, 0xff, 0xff}, -1},
	    {0x7fffff, {0x7f, 0xff, 0xff}, 0x7fffff},
	    {-0x800000, {0x80, 0x00, 0x00}, -0x800000},
	    {9000000, {0x7f, 0xff, 0xff}, 0x7fffff},   /* clamped */
	    {-9000000, {0x80, 0x00, 0x00}, -0x800000}, /* clamped */
	};
	uint8_t buf[64];
	struct rtcp_iter it;
	struct rtcp_pkt pkt;
	struct rtcp_rb rb;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rtcp_rb in = {.ssrc = 7, .cumulative_lost = cases[i].in};
		assert_int_equal(rtcp_rr_write(buf, sizeof(buf), 0x99, &in, 1), 32);
		assert_memory_equal(buf + 13, cases[i].wire, 3);
		rtcp_iter_init(&it, buf, 32, 0);
		assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
		assert_int_equal(rtcp_rb_get(&pkt, 0, &rb), 0);
		assert_int_equal(rb.ssrc, 7);
		assert_int_equal(rb.cumulative_lost, cases[i].out);
	}
}

static void test_sr_rr_roundtrip(void **state)
{
	(void)state;
	uint8_t buf[1024];
	struct rtcp_rb rbs[RTCP_MAX_RB + 1];
	struct rtcp_iter it;
	struct rtcp_pkt pkt;
	struct rtcp_rb rb;
	struct rtcp_sr sr = {.ssrc = 1,
	                     .ntp = 0x0102030405060708ull,
	                     .rtp_ts = 3,
	                     .packet_count = 4,
	                     .octet_count = 5};

	for (unsigned i = 0; i <= RTCP_MAX_RB; i++)
		rbs[i] = (struct rtcp_rb){.ssrc = 1000 + i,
		                          .fraction_lost = (uint8_t)i,
		                          .cumulative_lost = -(int32_t)i,
		                          .ext_highest_seq = i << 16,
		                          .jitter = i * 3,
		                          .lsr = i * 5,
		                          .dlsr = i * 7};

	assert_int_equal(rtcp_sr_write(buf, sizeof(buf), &sr, rbs, RTCP_MAX_RB + 1), -EINVAL);
	assert_int_equal(rtcp_sr_write(buf, sizeof(buf), &sr, NULL, 1), -EINVAL);
	assert_int_equal(rtcp_sr_write(buf, 28 + 24 * 31 - 1, &sr, rbs, 31), -ENOSPC);
	int n = rtcp_sr_write(buf, sizeof(buf), &sr, rbs, RTCP_MAX_RB);
	assert_int_equal(n, 28 + 24 * 31);
	assert_int_equal(buf[0], 0x9f);
	assert_int_equal(rd_be16(buf + 2), (28 + 24 * 31) / 4 - 1);

	assert_int_equal(rtcp_rr_write(buf + n, 7, 2, NULL, 0), -ENOSPC);
	int m = rtcp_rr_write(buf + n, sizeof(buf) - (size_t)n, 2, NULL, 0);
	assert_int_equal(m, 8);

	rtcp_iter_init(&it, buf, (size_t)(n + m), 0);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	struct rtcp_sr got;
	assert_int_equal(rtcp_sr_get(&pkt, &got), 0);
	assert_true(got.ntp == sr.ntp);
	assert_int_equal(got.octet_count, 5);
	assert_int_equal(pkt.count, 31);
	for (unsigned i = 0; i < RTCP_MAX_RB; i++) {
		assert_int_equal(rtcp_rb_get(&pkt, i, &rb), 0);
		assert_int_equal(rb.ssrc, 1000 + i);
		assert_int_equal(rb.fraction_lost, i);
		assert_int_equal(rb.cumulative_lost, -(int32_t)i);
		assert_int_equal(rb.ext_highest_seq, i << 16);
		assert_int_equal(rb.jitter, i * 3);
		assert_int_equal(rb.lsr, i * 5);
		assert_int_equal(rb.dlsr, i * 7);
	}
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(pkt.pt, RTCP_PT_RR);
	assert_int_equal(pkt.ssrc, 2);
	assert_int_equal(pkt.count, 0);
	assert_int_equal(rtcp_rb_get(&pkt, 0, &rb), -ERANGE);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 0);
}

/*
 * Seqs {100, 101, 105, 116}: PID 100, BLP bits 0, 4 and 15 (bit i is PID + i + 1, RFC 4585
 * §6.2.1), so 0x8011. One more, 117, is PID + 17: out of reach, a second entry.
 */
static void test_nack_bytes(void **state)
{
	(void)state;
	/* clang-format off */
	static const uint8_t want[] = {
		0x81, 0xcd, 0x00, 0x03,		/* FMT=1 PT=205, 4 words */
		0x00, 0x00, 0x00, 0x01,		/* sender SSRC */
		0x00, 0x00, 0x00, 0x02,		/* media SSRC */
		0x00, 0x64, 0x80, 0x11,		/* PID 100, BLP 0x8011 */
	};
	static const uint8_t want117[] = {
		0x81, 0xcd, 0x00, 0x04,
		0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x02,
		0x00, 0x64, 0x00, 0x11,		/* PID 100, BLP 0x0011 */
		0x00, 0x75, 0x00, 0x00,		/* PID 117 */
	};
	/* clang-format on */
	const uint16_t lost[] = {100, 101, 105, 116};
	const uint16_t lost117[] = {100, 101, 105, 117};
	uint8_t buf[64], comp[64];

	int n = rtcp_nack_write(buf, sizeof(buf), 1, 2, lost117, 4);
	assert_int_equal(n, sizeof(want117));
	assert_memory_equal(buf, want117, sizeof(want117));

	n = rtcp_nack_write(buf, sizeof(buf), 1, 2, lost, 4);
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(rtcp_nack_write(buf, sizeof(want) - 1, 1, 2, lost, 4), -ENOSPC);
	assert_int_equal(rtcp_nack_write(buf, sizeof(buf), 1, 2, lost, 0), -EINVAL);
	assert_int_equal(rtcp_nack_write(buf, sizeof(buf), 1, 2, NULL, 1), -EINVAL);

	size_t len = cat(comp, rr0, sizeof(rr0), want, sizeof(want));
	struct rtcp_iter it;
	struct rtcp_pkt pkt;
	struct rtcp_fb fb;
	struct rtcp_nack_iter ni;
	struct rtcp_fir_entry fe;
	uint16_t seq;
	rtcp_iter_init(&it, comp, len, 0);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(rtcp_fb_get(&pkt, &fb), -EINVAL);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(pkt.ssrc, 1);
	assert_int_equal(rtcp_fb_get(&pkt, &fb), 0);
	assert_int_equal(fb.pt, RTCP_PT_RTPFB);
	assert_int_equal(fb.fmt, RTCP_RTPFB_NACK);
	assert_int_equal(fb.sender_ssrc, 1);
	assert_int_equal(fb.media_ssrc, 2);
	assert_int_equal(fb.fci_len, 4);
	assert_int_equal(rtcp_fir_get(&fb, 0, &fe), -EINVAL);
	assert_int_equal(rtcp_nack_iter_init(&ni, &fb), 0);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(rtcp_nack_next(&ni, &seq), 1);
		assert_int_equal(seq, lost[i]);
	}
	assert_int_equal(rtcp_nack_next(&ni, &seq), 0);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 0);
}

static void expect_nack(const uint8_t *pkt, size_t len, const uint16_t *want, size_t n)
{
	struct rtcp_iter it;
	struct rtcp_pkt p;
	struct rtcp_fb fb;
	struct rtcp_nack_iter ni;
	uint16_t seq;

	rtcp_iter_init(&it, pkt, len, RTCP_F_REDUCED_SIZE);
	assert_int_equal(rtcp_iter_next(&it, &p), 1);
	assert_int_equal(rtcp_fb_get(&p, &fb), 0);
	assert_int_equal(rtcp_nack_iter_init(&ni, &fb), 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(rtcp_nack_next(&ni, &seq), 1);
		assert_int_equal(seq, want[i]);
	}
	assert_int_equal(rtcp_nack_next(&ni, &seq), 0);
	assert_int_equal(rtcp_iter_next(&it, &p), 0);
}

static void test_nack_wrap_and_packing(void **state)
{
	(void)state;
	uint8_t buf[256];
	int n;

	/* 65534, 65535, 0, 2: one entry, PID 65534, BLP bits 0, 1, 3. */
	const uint16_t wrap[] = {65534, 65535, 0, 2};
	n = rtcp_nack_write(buf, sizeof(buf), 5, 6, wrap, 4);
	assert_int_equal(n, 16);
	assert_int_equal(rd_be16(buf + 12), 65534);
	assert_int_equal(rd_be16(buf + 14), 0x000b);
	expect_nack(buf, (size_t)n, wrap, 4);

	/* 17 consecutive numbers fill one entry; the 18th needs a second. */
	uint16_t run[18];
	for (size_t i = 0; i < 18; i++)
		run[i] = (uint16_t)(65530 + i);
	n = rtcp_nack_write(buf, sizeof(buf), 5, 6, run, 17);
	assert_int_equal(n, 16);
	assert_int_equal(rd_be16(buf + 12), 65530);
	assert_int_equal(rd_be16(buf + 14), 0xffff);
	expect_nack(buf, (size_t)n, run, 17);
	n = rtcp_nack_write(buf, sizeof(buf), 5, 6, run, 18);
	assert_int_equal(n, 20);
	assert_int_equal(rd_be16(buf + 16), 11); /* 65530 + 17 */
	assert_int_equal(rd_be16(buf + 18), 0);
	expect_nack(buf, (size_t)n, run, 18);

	/* Duplicates of the current entry are dropped; far apart numbers get their own entries. */
	const uint16_t dup[] = {7, 7, 8, 8, 40000, 40016, 1};
	const uint16_t dup_want[] = {7, 8, 40000, 40016, 1};
	n = rtcp_nack_write(buf, sizeof(buf), 5, 6, dup, 7);
	assert_int_equal(n, 12 + 3 * 4);
	assert_int_equal(rd_be16(buf + 14), 0x0001);
	assert_int_equal(rd_be16(buf + 18), 0x8000);
	expect_nack(buf, (size_t)n, dup_want, 5);
	assert_int_equal(rtcp_nack_write(buf, 12 + 2 * 4, 5, 6, dup, 7), -ENOSPC);
}

/* RFC 5104 FIR and RFC 4585 PLI as hand-checked bytes, in a reduced-size and a full compound. */
static void test_fir_pli(void **state)
{
	(void)state;
	/* clang-format off */
	static const uint8_t fir[] = {
		0x84, 0xce, 0x00, 0x04,		/* FMT=4 PT=206, 5 words */
		0xaa, 0xbb, 0xcc, 0xdd,		/* sender SSRC */
		0x00, 0x00, 0x00, 0x00,		/* media SSRC: unused, 0 */
		0x12, 0x34, 0x56, 0x78,		/* FCI: target SSRC */
		0x2a, 0x00, 0x00, 0x00,		/* command sequence number 42, reserved */
	};
	static const uint8_t pli[] = {
		0x81, 0xce, 0x00, 0x02,		/* FMT=1 PT=206, 3 words */
		0xaa, 0xbb, 0xcc, 0xdd,
		0x12, 0x34, 0x56, 0x78,
	};
	/* clang-format on */
	uint8_t buf[64];
	struct rtcp_iter it;
	struct rtcp_pkt pkt;
	struct rtcp_fb fb;
	struct rtcp_fir_entry e;
	struct rtcp_nack_iter ni;

	assert_int_equal(rtcp_fir_write(buf, sizeof(fir) - 1, 0xaabbccdd, 0x12345678, 42), -ENOSPC);
	assert_int_equal(rtcp_fir_write(buf, sizeof(buf), 0xaabbccdd, 0x12345678, 42), sizeof(fir));
	assert_memory_equal(buf, fir, sizeof(fir));
	assert_int_equal(rtcp_pli_write(buf, sizeof(pli) - 1, 0xaabbccdd, 0x12345678), -ENOSPC);
	assert_int_equal(rtcp_pli_write(buf, sizeof(buf), 0xaabbccdd, 0x12345678), sizeof(pli));
	assert_memory_equal(buf, pli, sizeof(pli));

	/* Alone, these are only valid as reduced-size RTCP. */
	assert_int_equal(rtcp_validate(fir, sizeof(fir), 0), -ENOMSG);
	assert_int_equal(rtcp_validate(pli, sizeof(pli), 0), -ENOMSG);
	assert_int_equal(rtcp_validate(fir, sizeof(fir), RTCP_F_REDUCED_SIZE), 1);

	size_t len = cat(buf, rr0, sizeof(rr0), fir, sizeof(fir));
	memcpy(buf + len, pli, sizeof(pli));
	len += sizeof(pli);
	rtcp_iter_init(&it, buf, len, 0);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(rtcp_fb_get(&pkt, &fb), 0);
	assert_int_equal(fb.pt, RTCP_PT_PSFB);
	assert_int_equal(fb.fmt, RTCP_PSFB_FIR);
	assert_int_equal(fb.media_ssrc, 0);
	assert_int_equal(rtcp_fir_count(&fb), 1);
	assert_int_equal(rtcp_fir_get(&fb, 0, &e), 0);
	assert_int_equal(e.ssrc, 0x12345678);
	assert_int_equal(e.seq, 42);
	assert_int_equal(rtcp_fir_get(&fb, 1, &e), -ERANGE);
	assert_int_equal(rtcp_nack_iter_init(&ni, &fb), -EINVAL);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(rtcp_fb_get(&pkt, &fb), 0);
	assert_int_equal(fb.fmt, RTCP_PSFB_PLI);
	assert_int_equal(fb.sender_ssrc, 0xaabbccdd);
	assert_int_equal(fb.media_ssrc, 0x12345678);
	assert_int_equal(fb.fci_len, 0);
	assert_int_equal(rtcp_fir_get(&fb, 0, &e), -EINVAL);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 0);
}

/* Two FIR entries, a REMB (PSFB FMT 15) and an unknown type (XR, 207) come through raw. */
static void test_raw_feedback_and_unknown(void **state)
{
	(void)state;
	/* clang-format off */
	static const uint8_t pkts[] = {
		0x84, 0xce, 0x00, 0x06, 0, 0, 0, 1, 0, 0, 0, 0,	/* FIR, two entries */
		0, 0, 0, 0x10, 7, 0, 0, 0,
		0, 0, 0, 0x20, 8, 0, 0, 0,
		0x8f, 0xce, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 0,	/* AFB: REMB */
		'R', 'E', 'M', 'B', 0x01, 0x0b, 0xd2, 0x7f,
		0x80, 0xcf, 0x00, 0x01, 0, 0, 0, 9,		/* XR, no blocks */
	};
	/* clang-format on */
	struct rtcp_iter it;
	struct rtcp_pkt pkt;
	struct rtcp_fb fb;
	struct rtcp_fir_entry e;
	struct rtcp_bye bye;

	rtcp_iter_init(&it, pkts, sizeof(pkts), RTCP_F_REDUCED_SIZE);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(rtcp_fb_get(&pkt, &fb), 0);
	assert_int_equal(rtcp_fir_count(&fb), 2);
	assert_int_equal(rtcp_fir_get(&fb, 1, &e), 0);
	assert_int_equal(e.ssrc, 0x20);
	assert_int_equal(e.seq, 8);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(rtcp_fb_get(&pkt, &fb), 0);
	assert_int_equal(fb.fmt, RTCP_PSFB_AFB);
	assert_int_equal(fb.fci_len, 8);
	assert_memory_equal(fb.fci, "REMB", 4);
	assert_int_equal(fb.fci[7], 0x7f);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(pkt.pt, 207);
	assert_int_equal(pkt.body_len, 4);
	assert_int_equal(pkt.ssrc, 0);
	assert_int_equal(rtcp_bye_get(&pkt, &bye), -EINVAL);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 0);
}

static void test_sdes_chunks(void **state)
{
	(void)state;
	/* clang-format off */
	static const uint8_t sdes[] = {
		0x83, 0xca, 0x00, 0x09,				/* SC=3, 10 words */
		0, 0, 0, 1, 2, 3, 'b', 'o', 'b', 1, 2, 'c',	/* NAME, CNAME */
		'x', 0, 0, 0,
		0, 0, 0, 2, 0, 0, 0, 0,				/* no items */
		0, 0, 0, 3, 1, 4, 'c', 'a', 'm', '3', 0, 0,	/* CNAME */
	};
	/* clang-format on */
	uint8_t buf[64];
	struct rtcp_iter it;
	struct rtcp_pkt pkt;
	struct rtcp_sdes_iter si;
	struct rtcp_sdes_item item;
	uint32_t ssrc;

	size_t len = cat(buf, rr0, sizeof(rr0), sdes, sizeof(sdes));
	rtcp_iter_init(&it, buf, len, 0);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(rtcp_sdes_iter_init(&si, &pkt), -EINVAL);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(rtcp_sdes_cname(&pkt, &item), 0);
	assert_int_equal(item.ssrc, 1);
	assert_int_equal(item.len, 2);
	assert_memory_equal(item.data, "cx", 2);

	assert_int_equal(rtcp_sdes_iter_init(&si, &pkt), 0);
	assert_int_equal(rtcp_sdes_next_item(&si, &item), 0); /* no chunk entered yet */
	assert_int_equal(rtcp_sdes_next_chunk(&si, &ssrc), 1);
	assert_int_equal(ssrc, 1);
	assert_int_equal(rtcp_sdes_next_item(&si, &item), 1);
	assert_int_equal(item.type, RTCP_SDES_NAME);
	assert_memory_equal(item.data, "bob", 3);
	/* Leave the CNAME unread: the next chunk skips it. */
	assert_int_equal(rtcp_sdes_next_chunk(&si, &ssrc), 1);
	assert_int_equal(ssrc, 2);
	assert_int_equal(rtcp_sdes_next_item(&si, &item), 0);
	assert_int_equal(rtcp_sdes_next_chunk(&si, &ssrc), 1);
	assert_int_equal(ssrc, 3);
	assert_int_equal(rtcp_sdes_next_item(&si, &item), 1);
	assert_int_equal(item.ssrc, 3);
	assert_int_equal(item.type, RTCP_SDES_CNAME);
	assert_memory_equal(item.data, "cam3", 4);
	assert_int_equal(rtcp_sdes_next_item(&si, &item), 0);
	assert_int_equal(rtcp_sdes_next_chunk(&si, &ssrc), 0);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 0);

	/* Without a CNAME. */
	static const uint8_t no_cname[] = {0x81, 0xca, 0x00, 0x02, 0, 0, 0, 1, 2, 1, 'x', 0};
	len = cat(buf, rr0, sizeof(rr0), no_cname, sizeof(no_cname));
	rtcp_iter_init(&it, buf, len, 0);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(rtcp_sdes_cname(&pkt, &item), -ENOENT);

	/* The CNAME builder pads to 32 bits with at least one null octet. */
	assert_int_equal(rtcp_sdes_cname_write(buf, sizeof(buf), 9, "a"), 12);
	assert_memory_equal(buf, ((uint8_t[]){0x81, 0xca, 0, 2, 0, 0, 0, 9, 1, 1, 'a', 0}), 12);
	assert_int_equal(rtcp_sdes_cname_write(buf, sizeof(buf), 9, "ab"), 16);
	assert_int_equal(buf[3], 3);
	assert_memory_equal(buf + 10, ((uint8_t[]){'a', 'b', 0, 0, 0, 0}), 6);
	assert_int_equal(rtcp_sdes_cname_write(buf, 15, 9, "ab"), -ENOSPC);
	assert_int_equal(rtcp_sdes_cname_write(buf, sizeof(buf), 9, ""), -EINVAL);
	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	assert_int_equal(rtcp_sdes_cname_write(buf, sizeof(buf), 9, longname), -EINVAL);
	static uint8_t big[300];
	longname[255] = 0;
	assert_int_equal(rtcp_sdes_cname_write(big, sizeof(big), 9, longname), 4 + 264);
	assert_int_equal(validate_copy(big, 4 + 264, RTCP_F_REDUCED_SIZE), 1);
	rtcp_iter_init(&it, big, 4 + 264, RTCP_F_REDUCED_SIZE);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(rtcp_sdes_cname(&pkt, &item), 0);
	assert_int_equal(item.len, 255);
}

static void test_bye_app(void **state)
{
	(void)state;
	/* clang-format off */
	static const uint8_t bye[] = {
		0x82, 0xcb, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 2,	/* SC=2 */
		4, 'g', 'o', 'n', 'e', 0, 0, 0,			/* reason, padding */
	};
	static const uint8_t app[] = {
		0x83, 0xcc, 0x00, 0x03, 0, 0, 0, 5,		/* subtype 3 */
		'C', 'A', 'A', 'S', 1, 2, 3, 4,
	};
	/* clang-format on */
	uint8_t buf[96];
	struct rtcp_iter it;
	struct rtcp_pkt pkt;
	struct rtcp_bye b;
	struct rtcp_app a;
	const uint32_t ssrcs[] = {1, 2};

	int n = rtcp_bye_write(buf, sizeof(buf), ssrcs, 2, "gone");
	assert_int_equal(n, sizeof(bye));
	assert_memory_equal(buf, bye, sizeof(bye));
	assert_int_equal(rtcp_bye_write(buf, 19, ssrcs, 2, "gone"), -ENOSPC);
	assert_int_equal(rtcp_bye_write(buf, sizeof(buf), ssrcs, 32, NULL), -EINVAL);
	assert_int_equal(rtcp_bye_write(buf, sizeof(buf), ssrcs, 1, NULL), 8);
	assert_int_equal(buf[0], 0x81);
	assert_int_equal(buf[3], 1);

	size_t len = cat(buf, rr0, sizeof(rr0), bye, sizeof(bye));
	memcpy(buf + len, app, sizeof(app));
	len += sizeof(app);
	rtcp_iter_init(&it, buf, len, 0);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(rtcp_bye_get(&pkt, &b), 0);
	assert_int_equal(b.count, 2);
	assert_int_equal(rtcp_bye_ssrc(&b, 0), 1);
	assert_int_equal(rtcp_bye_ssrc(&b, 1), 2);
	assert_int_equal(b.reason_len, 4);
	assert_memory_equal(b.reason, "gone", 4);
	assert_int_equal(rtcp_app_get(&pkt, &a), -EINVAL);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(rtcp_app_get(&pkt, &a), 0);
	assert_int_equal(a.subtype, 3);
	assert_int_equal(a.ssrc, 5);
	assert_memory_equal(a.name, "CAAS", 4);
	assert_int_equal(a.len, 4);
	assert_int_equal(a.data[3], 4);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 0);

	/* A BYE without reason has no reason pointer. */
	len = cat(buf, rr0, sizeof(rr0), (const uint8_t[]){0x81, 0xcb, 0, 1, 0, 0, 0, 7}, 8);
	rtcp_iter_init(&it, buf, len, 0);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(rtcp_bye_get(&pkt, &b), 0);
	assert_int_equal(b.count, 1);
	assert_null(b.reason);
	assert_int_equal(b.reason_len, 0);
}

/* Builds rr0 + second packet and expects rr0, then err (and err again: errors are sticky). */
static void expect_second_fails(const uint8_t *second, size_t n, int err)
{
	uint8_t buf[128];
	struct rtcp_iter it;
	struct rtcp_pkt pkt;
	size_t len = cat(buf, rr0, sizeof(rr0), second, n);

	rtcp_iter_init(&it, buf, len, 0);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(pkt.pt, RTCP_PT_RR);
	assert_int_equal(rtcp_iter_next(&it, &pkt), err);
	assert_int_equal(rtcp_iter_next(&it, &pkt), err);
	assert_int_equal(validate_copy(buf, len, 0), err);
}

static void test_malformed_header(void **state)
{
	(void)state;
	uint8_t p[128];

	assert_int_equal(rtcp_validate(sr_sdes, 0, 0), -EMSGSIZE);
	assert_int_equal(rtcp_validate(NULL, 0, RTCP_F_REDUCED_SIZE), -EMSGSIZE);

	memcpy(p, sr_sdes, sizeof(sr_sdes));
	p[0] = 0x41; /* version 1 */
	assert_int_equal(validate_copy(p, sizeof(sr_sdes), 0), -EPROTO);
	p[0] = 0x01;
	assert_int_equal(validate_copy(p, sizeof(sr_sdes), 0), -EPROTO);
	expect_second_fails((const uint8_t[]){0xc0, 0xc9, 0, 1, 0, 0, 0, 1}, 8, -EPROTO);

	/* Length word past the end, in the first and in a later packet. */
	memcpy(p, sr_sdes, sizeof(sr_sdes));
	p[3] = 0x0d;
	assert_int_equal(validate_copy(p, 52, 0), -EMSGSIZE);
	expect_second_fails((const uint8_t[]){0x81, 0xca, 0, 2, 0, 0, 0, 1}, 8, -EMSGSIZE);
	/* Trailing bytes too short for a header. */
	expect_second_fails((const uint8_t[]){0x80, 0xc9, 0}, 3, -EMSGSIZE);

	/* First packet neither SR nor RR; a packet type outside RTCP's range. */
	memcpy(p, sr_sdes + 52, 28);
	assert_int_equal(validate_copy(p, 28, 0), -ENOMSG);
	assert_int_equal(validate_copy(p, 28, RTCP_F_REDUCED_SIZE), 1);
	expect_second_fails((const uint8_t[]){0x80, 0x60, 0, 1, 0, 0, 0, 1}, 8, -ENOMSG);
	expect_second_fails((const uint8_t[]){0x80, 0xe0, 0, 1, 0, 0, 0, 1}, 8, -ENOMSG);
	expect_second_fails((const uint8_t[]){0x80, 0xbf, 0, 1, 0, 0, 0, 1}, 8, -ENOMSG);
}

static void test_malformed_padding(void **state)
{
	(void)state;
	uint8_t p[128];
	struct rtcp_iter it;
	struct rtcp_pkt pkt;

	/* Padding on the SR, which is not the last packet. */
	memcpy(p, sr_sdes, sizeof(sr_sdes));
	p[0] |= 0x20;
	assert_int_equal(validate_copy(p, sizeof(sr_sdes), 0), -EILSEQ);

	/* RR + padded BYE: valid with 4 or 8 padding octets, not with 0, 3 or 16. */
	const uint8_t bye_pad[] = {0xa1, 0xcb, 0, 3, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 4};
	size_t len = cat(p, rr0, sizeof(rr0), bye_pad, sizeof(bye_pad));
	rtcp_iter_init(&it, p, len, 0);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 1);
	assert_int_equal(pkt.pad_len, 4);
	assert_int_equal(pkt.len, 16);
	assert_int_equal(pkt.body_len, 8);
	assert_int_equal(rtcp_iter_next(&it, &pkt), 0);
	p[len - 1] = 8;
	assert_int_equal(validate_copy(p, len, 0), 2);
	p[len - 1] = 12; /* a valid count, but it leaves no room for the SSRC */
	assert_int_equal(validate_copy(p, len, 0), -EOVERFLOW);
	p[len - 1] = 16;
	assert_int_equal(validate_copy(p, len, 0), -EILSEQ);
	p[len - 1] = 0;
	assert_int_equal(validate_copy(p, len, 0), -EILSEQ);
	p[len - 1] = 3;
	assert_int_equal(validate_copy(p, len, 0), -EILSEQ);
	p[len - 1] = 255;
	assert_int_equal(validate_copy(p, len, 0), -EILSEQ);

	/* Padding on the RR followed by the BYE. */
	p[len - 1] = 4;
	p[0] |= 0x20;
	assert_int_equal(validate_copy(p, len, 0), -EILSEQ);
	/* An SR whose last octet would be a valid padding count (4), followed by the SDES. */
	uint8_t two[128];
	memcpy(two, sr_sdes, 28);
	two[0] = 0xa0; /* P=1, RC=0 */
	two[3] = 7;    /* sender info and a 4-byte extension ending in 4 */
	memcpy(two + 28, (const uint8_t[]){0, 0, 0, 4}, 4);
	assert_int_equal(validate_copy(two, 32, 0), 1);
	memcpy(two + 32, sr_sdes + 52, 28);
	assert_int_equal(validate_copy(two, 60, 0), -EILSEQ);
	two[0] = 0x80;
	assert_int_equal(validate_copy(two, 60, 0), 2);

	/* A lone padded SR is first and last at once: allowed. */
	uint8_t sr[64];
	memcpy(sr, sr_sdes, 52);
	sr[0] |= 0x20;
	sr[3] = 13;
	memcpy(sr + 52, (const uint8_t[]){0, 0, 0, 4}, 4);
	assert_int_equal(validate_copy(sr, 56, 0), 1);
	/* Padding eating into the report block makes the count overflow. */
	sr[55] = 8;
	assert_int_equal(validate_copy(sr, 56, 0), -EOVERFLOW);
}

static void test_malformed_bodies(void **state)
{
	(void)state;
	uint8_t p[128];

	/* Report counts beyond the packet length. */
	memcpy(p, sr_sdes, 52);
	p[0] = 0x82; /* RC=2, one block present */
	assert_int_equal(validate_copy(p, 52, 0), -EOVERFLOW);
	assert_int_equal(validate_copy((const uint8_t[]){0x81, 0xc9, 0, 1, 0, 0, 0, 1}, 8, 0),
	                 -EOVERFLOW);
	/* SR shorter than its sender info, RR without its SSRC. */
	assert_int_equal(validate_copy((const uint8_t[]){0x80, 0xc8, 0, 1, 0, 0, 0, 1}, 8, 0),
	                 -EBADMSG);
	assert_int_equal(validate_copy((const uint8_t[]){0x80, 0xc9, 0, 0}, 4, 0), -EBADMSG);

	/* Generic NACK with no FCI entry; FIR with half an entry; feedback without media SSRC. */
	expect_second_fails((const uint8_t[]){0x81, 0xcd, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2}, 12,
	                    -EBADMSG);
	expect_second_fails((const uint8_t[]){0x84, 0xce, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2},
	                    16, -EBADMSG);
	expect_second_fails((const uint8_t[]){0x84, 0xce, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0}, 12,
	                    -EBADMSG);
	expect_second_fails((const uint8_t[]){0x81, 0xce, 0, 1, 0, 0, 0, 1}, 8, -EBADMSG);
	expect_second_fails((const uint8_t[]){0x81, 0xcc, 0, 1, 0, 0, 0, 1}, 8, -EBADMSG);

	/* SDES: item running past the packet, chunk without its end item, count beyond length. */
	expect_second_fails((const uint8_t[]){0x81, 0xca, 0, 2, 0, 0, 0, 1, 1, 9, 'a', 'b'}, 12,
	                    -EBADMSG);
	expect_second_fails((const uint8_t[]){0x81, 0xca, 0, 2, 0, 0, 0, 1, 1, 2, 'a', 'b'}, 12,
	                    -EBADMSG);
	expect_second_fails((const uint8_t[]){0x82, 0xca, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0}, 12,
	                    -EOVERFLOW);
	expect_second_fails((const uint8_t[]){0x81, 0xca, 0, 1, 0, 0, 0, 1}, 8, -EOVERFLOW);

	/* BYE: reason past the end, source count beyond length. */
	expect_second_fails((const uint8_t[]){0x81, 0xcb, 0, 2, 0, 0, 0, 1, 4, 'a', 'b', 'c'}, 12,
	                    -EBADMSG);
	expect_second_fails((const uint8_t[]){0x83, 0xcb, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2}, 12,
	                    -EOVERFLOW);
}

/* Every proper prefix of a valid compound is rejected or holds fewer packets, without a crash. */
static void test_truncation(void **state)
{
	(void)state;
	uint8_t buf[256];
	const uint16_t lost[] = {10, 12, 50};
	const uint32_t ssrc = 0x11223344;
	size_t len = sizeof(sr_sdes), ends[8];
	unsigned count = 0;

	memcpy(buf, sr_sdes, len);
	ends[count++] = 52;
	ends[count++] = len;
	int n = rtcp_nack_write(buf + len, sizeof(buf) - len, ssrc, 5, lost, 3);
	assert_true(n > 0);
	len += (size_t)n;
	ends[count++] = len;
	n = rtcp_bye_write(buf + len, sizeof(buf) - len, &ssrc, 1, "done");
	assert_true(n > 0);
	len += (size_t)n;
	ends[count++] = len;
	assert_int_equal(validate_copy(buf, len, 0), 4);

	for (size_t cut = 0; cut < len; cut++) {
		int want = -EMSGSIZE;
		for (unsigned k = 0; k < count; k++)
			if (ends[k] == cut)
				want = (int)k + 1;
		assert_int_equal(validate_copy(buf, cut, 0), want);
		assert_int_equal(validate_copy(buf, cut, RTCP_F_REDUCED_SIZE), want);
	}
}

static void test_ntp_and_rtt(void **state)
{
	(void)state;
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 0};
	assert_true(rtcp_ntp_from_timespec(&ts) == (uint64_t)RTCP_NTP_UNIX_OFFSET << 32);
	ts = (struct timespec){.tv_sec = 1704067200, .tv_nsec = 250000000};
	uint64_t ntp = rtcp_ntp_from_timespec(&ts);
	assert_true(ntp == 0xe93c7f0040000000ull);
	assert_int_equal(rtcp_ntp_mid32(ntp), 0x7f004000);
	ts.tv_nsec = 999999999;
	assert_true(rtcp_ntp_from_timespec(&ts) == 0xe93c7f00fffffffbull);
	ts.tv_sec = 2085978496; /* 2036-02-07T06:28:16Z: the NTP era wraps to 0 */
	ts.tv_nsec = 500000000;
	assert_true(rtcp_ntp_from_timespec(&ts) == 0x80000000ull);

	/* Sent at 1 s, held 0.5 s by the peer, back at 1.75 s: 250 ms. */
	struct rtcp_rb rb = {.lsr = 0x00010000, .dlsr = 0x00008000};
	assert_int_equal(rtcp_rtt_us(0x0001c000, &rb), 250000);
	/* Across the 16-bit seconds wrap of the middle 32 bits. */
	rb = (struct rtcp_rb){.lsr = 0xffff8000, .dlsr = 0x00004000};
	assert_int_equal(rtcp_rtt_us(0x00004000, &rb), 500000);
	/* One unit is 15.26 us; three are 45.78, rounded to 46. */
	rb = (struct rtcp_rb){.lsr = 0x100, .dlsr = 0};
	assert_int_equal(rtcp_rtt_us(0x101, &rb), 15);
	assert_int_equal(rtcp_rtt_us(0x103, &rb), 46);
	assert_int_equal(rtcp_rtt_us(0x100, &rb), 0);
	/* No SR yet; DLSR longer than the time since LSR; LSR in the future. */
	rb = (struct rtcp_rb){.lsr = 0, .dlsr = 0};
	assert_int_equal(rtcp_rtt_us(0x12345678, &rb), -ENODATA);
	rb = (struct rtcp_rb){.lsr = 0x00010000, .dlsr = 0x00010001};
	assert_int_equal(rtcp_rtt_us(0x00020000, &rb), -ERANGE);
	rb = (struct rtcp_rb){.lsr = 0x00020000, .dlsr = 0};
	assert_int_equal(rtcp_rtt_us(0x00010000, &rb), -ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sr_sdes_compound),
	    cmocka_unit_test(test_rb_sign_and_clamp),
	    cmocka_unit_test(test_sr_rr_roundtrip),
	    cmocka_unit_test(test_nack_bytes),
	    cmocka_unit_test(test_nack_wrap_and_packing),
	    cmocka_unit_test(test_fir_pli),
	    cmocka_unit_test(test_raw_feedback_and_unknown),
	    cmocka_unit_test(test_sdes_chunks),
	    cmocka_unit_test(test_bye_app),
	    cmocka_unit_test(test_malformed_header),
	    cmocka_unit_test(test_malformed_padding),
	    cmocka_unit_test(test_malformed_bodies),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_ntp_and_rtt),
	};
	return cmocka_run_group_tests_name("rtcp", tests, NULL, NULL);
}
