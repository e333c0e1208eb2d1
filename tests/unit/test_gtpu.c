/* GTP-U header, extension chain, G-PDU builder and Echo tests. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtp/bytes.h"
#include "rtp/gtpu.h"

/* IPv4 + UDP, 28 bytes: 10.0.0.1:5004 -> 10.0.0.2:5004, no UDP payload. */
static const uint8_t ipv4_udp[] = {
    0x45, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00,
    0x00, 0x40, 0x11, 0x66, 0xce, 0x0a, 0x00, /* IPv4 header */
    0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x13,
    0x8c, 0x13, 0x8c, 0x00, 0x08, 0x00, 0x00, /* ...and UDP */
};

/* Minimal G-PDU: v1, PT=1, no E/S/PN; length 28; TEID 1. */
static const uint8_t gpdu_min[] = {
    0x30, 0xff, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x01, /* flags, G-PDU, length, TEID */
    0x45, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00,
    0x40, 0x11, 0x66, 0xce, 0x0a, 0x00, /* IPv4 header */
    0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x13, 0x8c,
    0x13, 0x8c, 0x00, 0x08, 0x00, 0x00, /* ...and UDP */
};

/* S flag: length 4 + 28, TEID 0x12345678, sequence 0xabcd; the N-PDU number is not
 * interpreted because PN is clear. */
static const uint8_t gpdu_seq[] = {
    0x32, 0xff, 0x00, 0x20, 0x12, 0x34, 0x56, 0x78, /* flags, G-PDU, length, TEID */
    0xab, 0xcd, 0x55, 0x00,                         /* sequence, N-PDU, no extension */
    0x45, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00,
    0x40, 0x11, 0x66, 0xce, 0x0a, 0x00, /* IPv4 header */
    0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x13, 0x8c,
    0x13, 0x8c, 0x00, 0x08, 0x00, 0x00, /* ...and UDP */
};

/* As a gNB sends uplink on N3: E flag, next type 0x85, a PDU Session Container of one unit with
 * PDU type 1 (UL) and QFI 9, then no more extensions. Length 4 + 4 + 28, TEID 0xabcd. */
static const uint8_t gpdu_ul_qfi9[] = {
    0x34, 0xff, 0x00, 0x24, 0x00, 0x00, 0xab, 0xcd, /* flags, G-PDU, length, TEID */
    0x00, 0x00, 0x00, 0x85,                         /* next: PDU Session Container */
    0x01, 0x10, 0x09, 0x00,                         /* 1 unit, UL, QFI 9, no more */
    0x45, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00,
    0x40, 0x11, 0x66, 0xce, 0x0a, 0x00, /* IPv4 header */
    0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x13, 0x8c,
    0x13, 0x8c, 0x00, 0x08, 0x00, 0x00, /* ...and UDP */
};

/* Echo Request, TEID 0, sequence 0x1234. */
static const uint8_t echo_req[] = {0x32, 0x01, 0x00, 0x04, 0, 0, 0, 0, 0x12, 0x34, 0x00, 0x00};

/* Copy hdr (which may already be p) then the IPv4 packet into p, and set the length field. */
static size_t mk(uint8_t *p, const uint8_t *hdr, size_t hlen)
{
	memmove(p, hdr, hlen);
	memcpy(p + hlen, ipv4_udp, sizeof(ipv4_udp));
	wr_be16(p + 2, (uint16_t)(hlen - GTPU_HDR_MIN + sizeof(ipv4_udp)));
	return hlen + sizeof(ipv4_udp);
}

static void test_gpdu_minimal(void **state)
{
	(void)state;
	struct gtpu_hdr h;
	assert_int_equal(gtpu_parse(gpdu_min, sizeof(gpdu_min), &h), 0);
	assert_int_equal(h.msg_type, GTPU_MSG_GPDU);
	assert_int_equal(h.teid, 1);
	assert_false(h.has_seq);
	assert_false(h.has_npdu);
	assert_false(h.has_psc);
	assert_false(h.has_qfi);
	assert_int_equal(h.hdr_len, 8);
	assert_int_equal(h.msg_len, 36);
	assert_ptr_equal(h.inner, gpdu_min + 8);
	assert_int_equal(h.inner_len, 28);
	assert_int_equal(h.ip_version, 4);
	assert_memory_equal(h.inner, ipv4_udp, sizeof(ipv4_udp));

	/* Ethernet pads a short frame: bytes past the length field are not part of the T-PDU. */
	uint8_t p[64] = {0};
	memcpy(p, gpdu_min, sizeof(gpdu_min));
	assert_int_equal(gtpu_parse(p, sizeof(gpdu_min) + 10, &h), 0);
	assert_int_equal(h.inner_len, 28);
	assert_int_equal(h.msg_len, 36);
}

static void test_gpdu_seq(void **state)
{
	(void)state;
	struct gtpu_hdr h;
	uint8_t p[64];

	assert_int_equal(gtpu_parse(gpdu_seq, sizeof(gpdu_seq), &h), 0);
	assert_int_equal(h.teid, 0x12345678);
	assert_true(h.has_seq);
	assert_int_equal(h.seq, 0xabcd);
	assert_false(h.has_npdu);
	assert_int_equal(h.npdu, 0);
	assert_int_equal(h.hdr_len, 12);
	assert_int_equal(h.inner_len, 28);
	assert_ptr_equal(h.inner, gpdu_seq + 12);

	/* PN alone: the optional part is present, the sequence field is not interpreted. */
	memcpy(p, gpdu_seq, sizeof(gpdu_seq));
	p[0] = 0x31;
	assert_int_equal(gtpu_parse(p, sizeof(gpdu_seq), &h), 0);
	assert_false(h.has_seq);
	assert_int_equal(h.seq, 0);
	assert_true(h.has_npdu);
	assert_int_equal(h.npdu, 0x55);
	assert_int_equal(h.hdr_len, 12);

	/* S without E: a non-zero next type byte is not interpreted. */
	p[0] = 0x32;
	p[11] = 0x85;
	assert_int_equal(gtpu_parse(p, sizeof(gpdu_seq), &h), 0);
	assert_false(h.has_psc);
	assert_int_equal(h.hdr_len, 12);

	/* The spare bit is ignored on receipt. */
	p[0] = 0x3a;
	assert_int_equal(gtpu_parse(p, sizeof(gpdu_seq), &h), 0);
	assert_int_equal(h.seq, 0xabcd);
}

static void test_gpdu_pdu_session_container(void **state)
{
	(void)state;
	struct gtpu_hdr h;
	uint8_t p[128];

	assert_int_equal(gtpu_parse(gpdu_ul_qfi9, sizeof(gpdu_ul_qfi9), &h), 0);
	assert_int_equal(h.teid, 0xabcd);
	assert_false(h.has_seq);
	assert_true(h.has_psc);
	assert_true(h.has_qfi);
	assert_int_equal(h.pdu_type, GTPU_PDU_UL);
	assert_int_equal(h.qfi, 9);
	assert_int_equal(h.hdr_len, 16);
	assert_int_equal(h.inner_len, 28);
	assert_int_equal(h.ip_version, 4);

	/* DL with RQI set (0x40) and PPP bits: QFI is only the low 6 bits. */
	memcpy(p, gpdu_ul_qfi9, sizeof(gpdu_ul_qfi9));
	p[13] = 0x00;
	p[14] = 0xff;
	assert_int_equal(gtpu_parse(p, sizeof(gpdu_ul_qfi9), &h), 0);
	assert_int_equal(h.pdu_type, GTPU_PDU_DL);
	assert_int_equal(h.qfi, 63);

	/* A PDU type 38.415 does not define: reported, but no QFI claimed. */
	p[13] = 0x20;
	assert_int_equal(gtpu_parse(p, sizeof(gpdu_ul_qfi9), &h), 0);
	assert_true(h.has_psc);
	assert_false(h.has_qfi);
	assert_int_equal(h.pdu_type, 2);

	/* A chain: UDP Port (0x40, skipped), NR RAN Container (0x84, known, 2 units), a second
	 * container (ignored: the first counts), with S set and an IPv6 T-PDU. */
	const uint8_t chain[] = {
	    0x36, 0xff, 0,    0,    0,    0,    0,    7,
	    0x00, 0x09, 0x00, 0x40, 0x01, 0x08, 0x68, 0x85, /* UDP port 2152, next PSC */
	    0x01, 0x10, 0x05, 0x84,                         /* UL, QFI 5, next NR RAN Container */
	    0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x85, /* next PSC */
	    0x01, 0x00, 0x07, 0x00,                         /* DL, QFI 7: ignored */
	    0x60, 0x00, 0x00, 0x00};
	memcpy(p, chain, sizeof(chain));
	wr_be16(p + 2, sizeof(chain) - GTPU_HDR_MIN);
	assert_int_equal(gtpu_parse(p, sizeof(chain), &h), 0);
	assert_int_equal(h.teid, 7);
	assert_true(h.has_seq);
	assert_int_equal(h.seq, 9);
	assert_int_equal(h.pdu_type, GTPU_PDU_UL);
	assert_int_equal(h.qfi, 5);
	assert_int_equal(h.hdr_len, 32);
	assert_int_equal(h.inner_len, 4);
	assert_int_equal(h.ip_version, 6);

	/* An unknown type without the comprehension-required bit is skipped: calling the first
	 * container 0x41 leaves the second (DL, QFI 7) as the one reported. */
	p[15] = 0x41;
	assert_int_equal(gtpu_parse(p, sizeof(chain), &h), 0);
	assert_true(h.has_psc);
	assert_int_equal(h.pdu_type, GTPU_PDU_DL);
	assert_int_equal(h.qfi, 7);
	assert_int_equal(h.hdr_len, 32);
}

static void test_other_messages(void **state)
{
	(void)state;
	struct gtpu_hdr h;

	assert_int_equal(gtpu_parse(echo_req, sizeof(echo_req), &h), 0);
	assert_int_equal(h.msg_type, GTPU_MSG_ECHO_REQ);
	assert_true(h.has_seq);
	assert_int_equal(h.seq, 0x1234);
	assert_null(h.inner);
	assert_int_equal(h.inner_len, 0);
	assert_int_equal(h.ip_version, 0);

	const uint8_t end_marker[] = {0x30, 0xfe, 0x00, 0x00, 0x00, 0x00, 0x10, 0x01};
	assert_int_equal(gtpu_parse(end_marker, sizeof(end_marker), &h), 0);
	assert_int_equal(h.msg_type, GTPU_MSG_END_MARKER);
	assert_int_equal(h.teid, 0x1001);
	assert_null(h.inner);

	/* Error Indication: TEID Data I (16) and GTP-U Peer Address (133) IEs follow the header. */
	const uint8_t err_ind[] = {0x32, 0x1a, 0x00, 0x10, 0,  0,    0,    0,
	                           0x00, 0x05, 0x00, 0x00, 16, 0xde, 0xad, 0xbe,
	                           0xef, 133,  0x00, 0x04, 10, 0,    0,    9};
	assert_int_equal(gtpu_parse(err_ind, sizeof(err_ind), &h), 0);
	assert_int_equal(h.msg_type, GTPU_MSG_ERROR_IND);
	assert_null(h.inner);
	assert_int_equal(h.hdr_len, 12);
	assert_int_equal(h.msg_len, sizeof(err_ind));
	assert_int_equal(err_ind[h.hdr_len], 16);
	assert_int_equal(rd_be32(err_ind + h.hdr_len + 1), 0xdeadbeef);
}

static void test_echo_response(void **state)
{
	(void)state;
	struct gtpu_hdr req, r;
	uint8_t out[32];
	const uint8_t want[] = {0x32, 0x02, 0x00, 0x06, 0, 0, 0, 0, 0x12, 0x34, 0x00, 0x00, 14, 0};

	assert_int_equal(gtpu_parse(echo_req, sizeof(echo_req), &req), 0);
	assert_int_equal(gtpu_write_echo_resp(out, GTPU_ECHO_RESP_LEN - 1, &req), -ENOSPC);
	assert_int_equal(gtpu_write_echo_resp(out, sizeof(out), &req), GTPU_ECHO_RESP_LEN);
	assert_memory_equal(out, want, sizeof(want));

	assert_int_equal(gtpu_parse(out, GTPU_ECHO_RESP_LEN, &r), 0);
	assert_int_equal(r.msg_type, GTPU_MSG_ECHO_RESP);
	assert_int_equal(r.seq, 0x1234);
	assert_int_equal(r.hdr_len, 12);
	assert_int_equal(out[r.hdr_len], GTPU_IE_RECOVERY);

	/* Only an Echo Request is answered. */
	assert_int_equal(gtpu_parse(gpdu_seq, sizeof(gpdu_seq), &r), 0);
	assert_int_equal(gtpu_write_echo_resp(out, sizeof(out), &r), -EINVAL);
	assert_int_equal(gtpu_write_echo_resp(out, sizeof(out), &req), GTPU_ECHO_RESP_LEN);
	assert_int_equal(gtpu_write_echo_resp(out, sizeof(out), &(struct gtpu_hdr){.msg_type = 2}),
	                 -EINVAL);
}

static void test_build_roundtrip(void **state)
{
	(void)state;
	uint8_t p[128];
	struct gtpu_hdr h, r;

	/* The builder reproduces the gNB's bytes exactly. */
	h = (struct gtpu_hdr){.teid = 0xabcd, .has_qfi = true, .pdu_type = GTPU_PDU_UL, .qfi = 9};
	assert_int_equal(gtpu_gpdu_hdr_len(&h), 16);
	assert_int_equal(gtpu_write_gpdu_hdr(p, sizeof(p), &h, sizeof(ipv4_udp)), 16);
	memcpy(p + 16, ipv4_udp, sizeof(ipv4_udp));
	assert_memory_equal(p, gpdu_ul_qfi9, sizeof(gpdu_ul_qfi9));

	h = (struct gtpu_hdr){.teid = 1};
	assert_int_equal(gtpu_write_gpdu_hdr(p, sizeof(p), &h, sizeof(ipv4_udp)), 8);
	memcpy(p + 8, ipv4_udp, sizeof(ipv4_udp));
	assert_memory_equal(p, gpdu_min, sizeof(gpdu_min));

	for (int seq = 0; seq < 2; seq++) {
		for (int qfi = 0; qfi < 3; qfi++) {
			h = (struct gtpu_hdr){.teid = 0xfedcba98u + (uint32_t)qfi,
			                      .has_seq = seq,
			                      .seq = 0xfff0,
			                      .has_qfi = qfi != 0,
			                      .pdu_type = qfi == 1 ? GTPU_PDU_UL : GTPU_PDU_DL,
			                      .qfi = qfi == 1 ? 63 : 1};
			int n = gtpu_write_gpdu_hdr(p, sizeof(p), &h, sizeof(ipv4_udp));
			assert_int_equal(n, 8 + (seq || qfi ? 4 : 0) + (qfi ? 4 : 0));
			assert_int_equal((size_t)n, gtpu_gpdu_hdr_len(&h));
			if (qfi && !seq) /* present for E, sent as zero since S is clear */
				assert_int_equal(rd_be16(p + 8), 0);
			memcpy(p + n, ipv4_udp, sizeof(ipv4_udp));
			assert_int_equal(gtpu_parse(p, (size_t)n + sizeof(ipv4_udp), &r), 0);
			assert_int_equal(r.msg_type, GTPU_MSG_GPDU);
			assert_int_equal(r.teid, h.teid);
			assert_int_equal(r.has_seq, h.has_seq);
			assert_int_equal(r.seq, seq ? 0xfff0 : 0);
			assert_int_equal(r.has_qfi, h.has_qfi);
			assert_int_equal(r.qfi, qfi ? h.qfi : 0);
			assert_int_equal(r.pdu_type, qfi ? h.pdu_type : 0);
			assert_int_equal(r.hdr_len, (size_t)n);
			assert_int_equal(r.inner_len, sizeof(ipv4_udp));
			assert_ptr_equal(r.inner, p + n);
		}
	}

	/* Bad arguments, capacity, and the 16-bit length field's limit. */
	h = (struct gtpu_hdr){.has_qfi = true, .qfi = 64};
	assert_int_equal(gtpu_write_gpdu_hdr(p, sizeof(p), &h, 20), -EINVAL);
	h = (struct gtpu_hdr){.has_qfi = true, .pdu_type = 2, .qfi = 1};
	assert_int_equal(gtpu_write_gpdu_hdr(p, sizeof(p), &h, 20), -EINVAL);
	h = (struct gtpu_hdr){.has_seq = true};
	assert_int_equal(gtpu_write_gpdu_hdr(p, 11, &h, 20), -ENOSPC);
	assert_int_equal(gtpu_write_gpdu_hdr(p, 12, &h, 0xffff - 4), 12);
	assert_int_equal(rd_be16(p + 2), 0xffff);
	assert_int_equal(gtpu_write_gpdu_hdr(p, 12, &h, 0xffff - 3), -EMSGSIZE);
	h = (struct gtpu_hdr){0};
	assert_int_equal(gtpu_write_gpdu_hdr(p, 8, &h, 0xffff), 8);
	assert_int_equal(rd_be16(p + 2), 0xffff);
	assert_int_equal(gtpu_write_gpdu_hdr(p, 8, &h, 0x10000), -EMSGSIZE);
}

static void test_malformed(void **state)
{
	(void)state;
	struct gtpu_hdr h;
	uint8_t p[256];
	size_t n;

	memcpy(p, gpdu_min, sizeof(gpdu_min));
	p[0] = 0x50; /* version 2 */
	assert_int_equal(gtpu_parse(p, sizeof(gpdu_min), &h), -EPROTO);
	p[0] = 0x10; /* version 0 */
	assert_int_equal(gtpu_parse(p, sizeof(gpdu_min), &h), -EPROTO);
	p[0] = 0x20; /* PT 0: GTP' */
	assert_int_equal(gtpu_parse(p, sizeof(gpdu_min), &h), -EPROTONOSUPPORT);

	/* Length one past the end. */
	memcpy(p, gpdu_min, sizeof(gpdu_min));
	p[3] = 0x1d;
	assert_int_equal(gtpu_parse(p, sizeof(gpdu_min), &h), -EMSGSIZE);
	p[2] = 0xff;
	assert_int_equal(gtpu_parse(p, sizeof(gpdu_min), &h), -EMSGSIZE);

	/* Optional part announced by S but cut by the length field (bytes exist in the buffer). */
	memcpy(p, gpdu_seq, sizeof(gpdu_seq));
	for (uint8_t l = 0; l < GTPU_OPT_LEN; l++) {
		p[3] = l;
		assert_int_equal(gtpu_parse(p, sizeof(gpdu_seq), &h), -EBADMSG);
	}

	/* Extension header of length 0. */
	memcpy(p, gpdu_ul_qfi9, sizeof(gpdu_ul_qfi9));
	p[12] = 0;
	assert_int_equal(gtpu_parse(p, sizeof(gpdu_ul_qfi9), &h), -EBADMSG);

	/* Extension running past the end of the message: 2 units with 4 octets left, and the
	 * length byte itself missing. */
	memcpy(p, gpdu_ul_qfi9, 16);
	p[12] = 2;
	wr_be16(p + 2, 8);
	assert_int_equal(gtpu_parse(p, 16, &h), -EBADMSG);
	p[12] = 0xff;
	assert_int_equal(gtpu_parse(p, 16, &h), -EBADMSG);
	wr_be16(p + 2, 4);
	assert_int_equal(gtpu_parse(p, 16, &h), -EBADMSG);

	/* Ten chained UDP Port extensions, the last pointing at one more that is not there. */
	memcpy(p, gpdu_ul_qfi9, 12);
	p[11] = GTPU_EXT_UDP_PORT;
	for (int i = 0; i < 10; i++) {
		uint8_t e[] = {1, 0x08, 0x68, GTPU_EXT_UDP_PORT};
		memcpy(p + 12 + 4 * i, e, 4);
	}
	wr_be16(p + 2, 4 + 40);
	assert_int_equal(gtpu_parse(p, 52, &h), -EBADMSG);
	/* ...and the same with the last one claiming 2 units instead. */
	p[12 + 36] = 2;
	assert_int_equal(gtpu_parse(p, 52, &h), -EBADMSG);

	/* GTPU_MAX_EXT extensions are accepted; one more is a loop bound violation. */
	for (int count = GTPU_MAX_EXT; count <= GTPU_MAX_EXT + 1; count++) {
		memcpy(p, gpdu_ul_qfi9, 12);
		p[11] = GTPU_EXT_UDP_PORT;
		for (int i = 0; i < count; i++) {
			uint8_t e[] = {1, 0x08, 0x68,
			               i == count - 1 ? GTPU_EXT_NONE : GTPU_EXT_UDP_PORT};
			memcpy(p + 12 + 4 * i, e, 4);
		}
		n = mk(p, p, 12 + 4 * (size_t)count);
		assert_int_equal(gtpu_parse(p, n, &h), count == GTPU_MAX_EXT ? 0 : -ELOOP);
	}

	/* Unknown types with the comprehension-required bit, in both "10" and "11" classes. */
	const uint8_t unknown_types[] = {0x86, 0xbf, 0xc1, 0xff};
	for (size_t i = 0; i < sizeof(unknown_types); i++) {
		memcpy(p, gpdu_ul_qfi9, sizeof(gpdu_ul_qfi9));
		p[11] = unknown_types[i];
		assert_int_equal(gtpu_parse(p, sizeof(gpdu_ul_qfi9), &h), -EOPNOTSUPP);
		/* Behind a container it is still found. */
		p[11] = GTPU_EXT_PDU_SESSION;
		p[15] = unknown_types[i];
		p[16] = 1;
		assert_int_equal(gtpu_parse(p, sizeof(gpdu_ul_qfi9), &h), -EOPNOTSUPP);
	}

	/* G-PDU with no T-PDU, with and without a container. */
	memcpy(p, gpdu_min, 8);
	wr_be16(p + 2, 0);
	assert_int_equal(gtpu_parse(p, 8, &h), -ENODATA);
	assert_int_equal(gtpu_parse(p, 36, &h), -ENODATA); /* trailing padding is not a T-PDU */
	memcpy(p, gpdu_ul_qfi9, 16);
	wr_be16(p + 2, 8);
	assert_int_equal(gtpu_parse(p, 16, &h), -ENODATA);
	/* ...but an End Marker with no payload is fine. */
	p[1] = GTPU_MSG_END_MARKER;
	assert_int_equal(gtpu_parse(p, 16, &h), 0);
	assert_int_equal(h.qfi, 9);

	/* T-PDU that is not IP. */
	n = mk(p, gpdu_min, 8);
	const uint8_t first[] = {0x00, 0x15, 0x50, 0xff};
	for (size_t i = 0; i < sizeof(first); i++) {
		p[8] = first[i];
		assert_int_equal(gtpu_parse(p, n, &h), -EAFNOSUPPORT);
	}
	p[8] = 0x60;
	assert_int_equal(gtpu_parse(p, n, &h), 0);
	assert_int_equal(h.ip_version, 6);
}

/* Every proper prefix of a valid packet is a truncated datagram; none is read past its end
 * (the copy is exactly n bytes so the sanitizer build catches an over-read). */
static void test_prefixes(void **state)
{
	(void)state;
	const struct {
		const uint8_t *p;
		size_t len;
	} pkts[] = {
	    {gpdu_min, sizeof(gpdu_min)},
	    {gpdu_seq, sizeof(gpdu_seq)},
	    {gpdu_ul_qfi9, sizeof(gpdu_ul_qfi9)},
	    {echo_req, sizeof(echo_req)},
	};
	uint8_t buf[64];
	struct gtpu_hdr h;

	for (size_t k = 0; k < sizeof(pkts) / sizeof(pkts[0]); k++) {
		assert_true(pkts[k].len <= sizeof(buf));
		for (size_t n = 0; n < pkts[k].len; n++) {
			uint8_t *copy = buf + sizeof(buf) - n;
			memcpy(copy, pkts[k].p, n);
			assert_int_equal(gtpu_parse(copy, n, &h), -EMSGSIZE);
		}
		assert_int_equal(gtpu_parse(pkts[k].p, pkts[k].len, &h), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gpdu_minimal),
	    cmocka_unit_test(test_gpdu_seq),
	    cmocka_unit_test(test_gpdu_pdu_session_container),
	    cmocka_unit_test(test_other_messages),
	    cmocka_unit_test(test_echo_response),
	    cmocka_unit_test(test_build_roundtrip),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_prefixes),
	};
	return cmocka_run_group_tests_name("gtpu", tests, NULL, NULL);
}
