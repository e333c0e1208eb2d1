/* RTP header and RFC 8285 extension tests. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtp/rtp.h"

/* A packet as a camera sends it: V=2, M=1, PT=96, seq 0x1234, ts 0xdeadbeef, ssrc 0x01020304. */
static const uint8_t basic[] = {0x80, 0xe0, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef,
				0x01, 0x02, 0x03, 0x04, 0xaa, 0xbb, 0xcc};

static void test_parse_basic(void **state)
{
	(void)state;
	struct rtp_hdr h;
	assert_int_equal(rtp_parse(basic, sizeof(basic), &h), 0);
	assert_true(h.marker);
	assert_false(h.padding);
	assert_false(h.extension);
	assert_int_equal(h.pt, 96);
	assert_int_equal(h.seq, 0x1234);
	assert_int_equal(h.ts, 0xdeadbeef);
	assert_int_equal(h.ssrc, 0x01020304);
	assert_int_equal(h.hdr_len, 12);
	assert_int_equal(h.payload_len, 3);
	assert_int_equal(h.payload[0], 0xaa);
}

static void test_parse_rejects(void **state)
{
	(void)state;
	struct rtp_hdr h;
	uint8_t p[64];

	for (size_t n = 0; n < RTP_HDR_MIN; n++)
		assert_int_equal(rtp_parse(basic, n, &h), -EMSGSIZE);

	memcpy(p, basic, sizeof(basic));
	p[0] = 0x40; /* version 1 */
	assert_int_equal(rtp_parse(p, sizeof(basic), &h), -EPROTO);
	p[0] = 0x00; /* version 0 */
	assert_int_equal(rtp_parse(p, sizeof(basic), &h), -EPROTO);

	p[0] = 0x8f; /* 15 CSRCs claimed, 3 payload bytes present */
	assert_int_equal(rtp_parse(p, sizeof(basic), &h), -EMSGSIZE);

	/* Extension whose length word runs past the end. */
	memcpy(p, basic, 12);
	p[0] = 0x90;
	uint8_t ext[] = {0xbe, 0xde, 0x00, 0x02, 0x10, 0xff, 0x00, 0x00};
	memcpy(p + 12, ext, sizeof(ext));
	assert_int_equal(rtp_parse(p, 12 + sizeof(ext), &h), -EBADMSG);
	/* Extension header itself truncated. */
	assert_int_equal(rtp_parse(p, 14, &h), -EBADMSG);

	/* Padding count of zero, and padding larger than the payload. */
	memcpy(p, basic, sizeof(basic));
	p[0] = 0xa0;
	p[sizeof(basic) - 1] = 0;
	assert_int_equal(rtp_parse(p, sizeof(basic), &h), -EBADMSG);
	p[sizeof(basic) - 1] = 4;
	assert_int_equal(rtp_parse(p, sizeof(basic), &h), -EBADMSG);
	p[sizeof(basic) - 1] = 3; /* exactly the payload: valid, empty payload */
	assert_int_equal(rtp_parse(p, sizeof(basic), &h), 0);
	assert_int_equal(h.payload_len, 0);
	assert_int_equal(h.pad_len, 3);
}

static void test_csrc_and_padding(void **state)
{
	(void)state;
	uint8_t p[] = {0xa2, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, /* P=1, CC=2 */
		       0, 0, 0, 0x11, 0, 0, 0, 0x22, 0x55, 0x66, 0, 0, 3};
	struct rtp_hdr h;
	assert_int_equal(rtp_parse(p, sizeof(p), &h), 0);
	assert_int_equal(h.csrc_count, 2);
	assert_int_equal(rd_be32(h.csrc + 4), 0x22);
	assert_int_equal(h.hdr_len, 20);
	assert_int_equal(h.payload_len, 2);
	assert_int_equal(h.pad_len, 3);
	assert_int_equal(h.payload[1], 0x66);
}

/* RFC 8285 §4.2 one-byte form, with padding between elements and the reserved ID 15. */
static void test_ext_one_byte(void **state)
{
	(void)state;
	uint8_t p[] = {0x90, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xbe, 0xde, 0x00, 0x03,
		       0x10, 0xaa,	       /* id 1, 1 byte */
		       0x00, 0x00,	       /* padding */
		       0x21, 0xbb, 0xcc,       /* id 2, 2 bytes */
		       0x32, 0x01, 0x02, 0x03, /* id 3, 3 bytes */
		       0xf0,		       /* id 15: stop, whatever follows */
		       0x42, 0x77};	       /* payload */
	struct rtp_hdr h;
	assert_int_equal(rtp_parse(p, sizeof(p), &h), 0);
	assert_int_equal(h.ext_profile, RTP_EXT_PROFILE_ONE_BYTE);
	assert_int_equal(h.ext_len, 12);
	assert_int_equal(h.payload_len, 2);

	struct rtp_ext_iter it;
	struct rtp_ext_elem e;
	assert_int_equal(rtp_ext_iter_init(&it, &h), 0);
	assert_int_equal(rtp_ext_next(&it, &e), 1);
	assert_int_equal(e.id, 1);
	assert_int_equal(e.len, 1);
	assert_int_equal(e.data[0], 0xaa);
	assert_int_equal(rtp_ext_next(&it, &e), 1);
	assert_int_equal(e.id, 2);
	assert_int_equal(e.len, 2);
	assert_int_equal(rtp_ext_next(&it, &e), 1);
	assert_int_equal(e.id, 3);
	assert_int_equal(e.len, 3);
	assert_int_equal(e.data[2], 0x03);
	assert_int_equal(rtp_ext_next(&it, &e), 0);

	assert_int_equal(rtp_ext_find(&h, 2, &e), 0);
	assert_int_equal(e.data[1], 0xcc);
	assert_int_equal(rtp_ext_find(&h, 4, &e), -ENOENT);

	/* An element whose length runs past the block. */
	p[16 + 7] = 0x3f; /* id 3, 16 bytes: past the 12-byte block */
	assert_int_equal(rtp_parse(p, sizeof(p), &h), 0);
	assert_int_equal(rtp_ext_find(&h, 3, &e), -EBADMSG);
}

static void test_ext_two_byte(void **state)
{
	(void)state;
	uint8_t p[] = {0x90, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0x10, 0x00, 0x00, 0x02,
		       0x07, 0x00,	       /* id 7, zero-length */
		       0x00,		       /* padding */
		       0x20, 0x03, 1, 2, 3};   /* id 32, 3 bytes */
	struct rtp_hdr h;
	struct rtp_ext_elem e;
	assert_int_equal(rtp_parse(p, sizeof(p), &h), 0);
	assert_int_equal(rtp_ext_find(&h, 7, &e), 0);
	assert_int_equal(e.len, 0);
	assert_int_equal(rtp_ext_find(&h, 32, &e), 0);
	assert_int_equal(e.len, 3);
	assert_int_equal(e.data[2], 3);

	/* A profile that is neither form is opaque. */
	p[12] = 0x12;
	assert_int_equal(rtp_parse(p, sizeof(p), &h), 0);
	assert_int_equal(rtp_ext_find(&h, 7, &e), -ENOENT);
}

static void test_build_roundtrip(void **state)
{
	(void)state;
	uint8_t extbuf[64], pkt[128];
	uint8_t csrc[8] = {0, 0, 0, 9, 0, 0, 0, 10};
	struct rtp_hdr h = {.marker = true, .pt = 111, .seq = 65535, .ts = 90000,
			    .ssrc = 0xcafef00d, .csrc_count = 2, .csrc = csrc};
	struct rtp_ext_writer w;
	uint8_t abs_send_time[3] = {1, 2, 3};

	rtp_ext_writer_init(&w, extbuf, sizeof(extbuf), false);
	assert_int_equal(rtp_ext_add(&w, 15, abs_send_time, 3), -EINVAL);
	assert_int_equal(rtp_ext_add(&w, 3, abs_send_time, 17), -EINVAL);
	assert_int_equal(rtp_ext_add(&w, 3, abs_send_time, 3), 0);
	assert_int_equal(rtp_ext_finish(&w, &h), 0);
	assert_int_equal(h.ext_len, 4);

	int n = rtp_hdr_write(pkt, sizeof(pkt), &h);
	assert_int_equal(n, 12 + 8 + 4 + 4);
	assert_int_equal(rtp_hdr_write(pkt, (size_t)n - 1, &h), -ENOSPC);
	pkt[n] = 0x42;

	struct rtp_hdr r;
	struct rtp_ext_elem e;
	assert_int_equal(rtp_parse(pkt, (size_t)n + 1, &r), 0);
	assert_true(r.marker);
	assert_int_equal(r.pt, 111);
	assert_int_equal(r.seq, 65535);
	assert_int_equal(r.ssrc, 0xcafef00d);
	assert_int_equal(r.csrc_count, 2);
	assert_int_equal(r.payload_len, 1);
	assert_int_equal(rtp_ext_find(&r, 3, &e), 0);
	assert_memory_equal(e.data, abs_send_time, 3);

	rtp_set_seq(pkt, 7);
	rtp_set_ts(pkt, 8);
	rtp_set_ssrc(pkt, 9);
	rtp_set_pt(pkt, 0);
	assert_int_equal(rtp_parse(pkt, (size_t)n + 1, &r), 0);
	assert_int_equal(r.seq, 7);
	assert_int_equal(r.ts, 8);
	assert_int_equal(r.ssrc, 9);
	assert_int_equal(r.pt, 0);
	assert_true(r.marker);
}

static void test_demux_and_seq(void **state)
{
	(void)state;
	uint8_t rr[] = {0x80, 201, 0, 1, 0, 0, 0, 1};
	assert_true(rtp_is_rtcp(rr, sizeof(rr)));
	assert_false(rtp_is_rtcp(basic, sizeof(basic)));
	assert_false(rtp_is_rtcp(rr, 1));
	assert_int_equal(rtp_seq_diff(65535, 0), 1);
	assert_int_equal(rtp_seq_diff(0, 65535), -1);
	assert_int_equal(rtp_seq_diff(100, 50), -50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_basic),     cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_csrc_and_padding), cmocka_unit_test(test_ext_one_byte),
		cmocka_unit_test(test_ext_two_byte),    cmocka_unit_test(test_build_roundtrip),
		cmocka_unit_test(test_demux_and_seq),
	};
	return cmocka_run_group_tests_name("rtp", tests, NULL, NULL);
}
