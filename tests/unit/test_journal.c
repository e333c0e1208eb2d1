/* Journal format tests: CRC32C vectors, header and record round trips, torn tails at every
 * truncation point, corruption in the middle, recovery, and pcap export read back by tcpdump. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/csum.h"
#include "record/journal.h"
#include "rtp/bytes.h"

static uint64_t rng_state;

/* xorshift64*: fixed seeds keep failures reproducible. */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint32_t rd_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static struct rec_jnl_info test_info(void)
{
	struct rec_jnl_info info = {
	    .journal_id = 0x0123456789abcdefull,
	    .created_ns = 1700000000123456789ull,
	    .clock_rate = 90000,
	    .payload_type = 96,
	    .media = REC_JNL_MEDIA_VIDEO,
	};
	strcpy(info.codec, "H264");
	strcpy(info.stream, "cam-042/main");
	return info;
}

/* A journal of n records of random sizes up to max_body, in a buffer of exactly its length
 * (so ASan sees any read past it). Record i's body starts with i and its type is RTP or RTCP;
 * ends[i] is where record i ends. */
struct journal {
	uint8_t *buf;
	size_t len;
	size_t n;
	size_t *ends;
	struct rec_jnl_rec *recs; /* as written; data points into bodies */
	uint8_t *bodies;
};

static void journal_make(struct journal *j, size_t n, size_t max_body, uint64_t seed)
{
	rng_state = seed;
	j->n = n;
	j->ends = calloc(n, sizeof(*j->ends));
	j->recs = calloc(n, sizeof(*j->recs));
	j->bodies = malloc(n * (max_body + 1) + 1);
	size_t cap = REC_JNL_HDR_LEN + n * rec_jnl_record_size(max_body);
	uint8_t *tmp = malloc(cap);
	assert_non_null(j->ends);
	assert_non_null(j->recs);
	assert_non_null(j->bodies);
	assert_non_null(tmp);

	struct rec_jnl_info info = test_info();
	assert_int_equal(rec_jnl_header_write(tmp, cap, &info), REC_JNL_HDR_LEN);
	size_t off = REC_JNL_HDR_LEN;
	uint64_t t = 1700000000000000000ull;
	for (size_t i = 0; i < n; i++) {
		struct rec_jnl_rec *r = &j->recs[i];
		uint8_t *body = j->bodies + i * (max_body + 1);
		r->len = (uint32_t)(rnd() % (max_body + 1));
		for (size_t k = 0; k < r->len; k++)
			body[k] = (uint8_t)rnd();
		if (r->len)
			body[0] = (uint8_t)i;
		t += rnd() % 20000000;
		r->type = (rnd() & 1) ? REC_JNL_T_RTP : REC_JNL_T_RTCP;
		r->flags = (uint8_t)(rnd() & REC_JNL_F_ALL);
		r->seq = (uint32_t)i;
		r->t_real_ns = t;
		r->t_mono_ns = t - 1600000000000000000ull;
		r->data = body;
		int w = rec_jnl_record_write(tmp + off, cap - off, r);
		assert_int_equal(w, rec_jnl_record_size(r->len));
		r->off = off;
		off += (size_t)w;
		j->ends[i] = off;
	}
	j->len = off;
	j->buf = malloc(off);
	assert_non_null(j->buf);
	memcpy(j->buf, tmp, off);
	free(tmp);
}

static void journal_free(struct journal *j)
{
	free(j->buf);
	free(j->ends);
	free(j->recs);
	free(j->bodies);
}

/* Copy buf[0..len) into an exact-size heap buffer. */
static uint8_t *exact(const uint8_t *buf, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);
	assert_non_null(p);
	if (len)
		memcpy(p, buf, len);
	return p;
}

/* Scan a whole journal; return the stop code and, in *count, the records seen, checking each
 * against what was written. */
static int scan(const uint8_t *buf, size_t len, const struct journal *j, size_t *count, size_t *cut)
{
	struct rec_jnl_info info;
	int hlen = rec_jnl_header_parse(buf, len, &info);
	assert_int_equal(hlen, REC_JNL_HDR_LEN);
	struct rec_jnl_iter it;
	struct rec_jnl_rec rec;
	int r;
	size_t i = 0;
	rec_jnl_iter_init(&it, buf, len, (size_t)hlen, 0);
	while ((r = rec_jnl_next(&it, &rec)) == 1) {
		assert_true(i < j->n);
		const struct rec_jnl_rec *w = &j->recs[i];
		assert_int_equal(rec.type, w->type);
		assert_int_equal(rec.flags, w->flags);
		assert_int_equal(rec.seq, i);
		assert_true(rec.t_real_ns == w->t_real_ns);
		assert_true(rec.t_mono_ns == w->t_mono_ns);
		assert_int_equal(rec.len, w->len);
		assert_int_equal(rec.off, w->off);
		assert_ptr_equal(rec.data, buf + w->off + REC_JNL_REC_HDR_LEN);
		assert_memory_equal(rec.data, w->data, w->len);
		i++;
	}
	/* Stopping is sticky and leaves the cut point alone. */
	size_t off = it.off;
	assert_int_equal(rec_jnl_next(&it, &rec), r);
	assert_int_equal(it.off, off);
	*count = i;
	*cut = off;
	return r;
}

static void test_crc32c_vectors(void **state)
{
	(void)state;
	uint8_t zeros[32] = {0}, ones[32], inc[32], dec[32];
	/* RFC 3720 B.4: an iSCSI SCSI Read (10) command PDU. */
	static const uint8_t read_pdu[48] = {
	    0x01, 0xc0, 0, 0, 0, 0, 0,    0, 0,    0, 0, 0,    0, 0, 0, 0,
	    0x14, 0,    0, 0, 0, 0, 0x04, 0, 0,    0, 0, 0x14, 0, 0, 0, 0x18,
	    0x28, 0,    0, 0, 0, 0, 0,    0, 0x02, 0, 0, 0,    0, 0, 0, 0,
	};
	memset(ones, 0xff, sizeof(ones));
	for (int i = 0; i < 32; i++) {
		inc[i] = (uint8_t)i;
		dec[i] = (uint8_t)(31 - i);
	}
	uint32_t (*fns[])(uint32_t, const void *, size_t) = {rec_crc32c_sw, rec_crc32c_hw,
	                                                     rec_crc32c};
	for (size_t f = 0; f < 3; f++) {
		if (f == 1 && !rec_crc32c_hw_available()) {
			print_message("# no SSE4.2: hardware CRC32C not tested\n");
			continue;
		}
		uint32_t (*crc)(uint32_t, const void *, size_t) = fns[f];
		assert_int_equal(crc(0, "123456789", 9), 0xe3069283);
		assert_int_equal(crc(0, zeros, 32), 0x8a9136aa);
		assert_int_equal(crc(0, ones, 32), 0x62a8ab43);
		assert_int_equal(crc(0, inc, 32), 0x46dd794e);
		assert_int_equal(crc(0, dec, 32), 0x113fdb5c);
		assert_int_equal(crc(0, read_pdu, 48), 0xd9963a56);
		assert_int_equal(crc(0, "", 0), 0);
		/* Chained pieces give the CRC of the whole. */
		for (size_t cut = 0; cut <= 48; cut++)
			assert_int_equal(crc(crc(0, read_pdu, cut), read_pdu + cut, 48 - cut),
			                 0xd9963a56);
	}
}

static void test_crc32c_hw_matches_sw(void **state)
{
	(void)state;
	if (!rec_crc32c_hw_available())
		skip();
	uint8_t buf[1100];
	rng_state = 7;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rnd();
	for (size_t align = 0; align < 8; align++)
		for (size_t len = 0; len + align <= sizeof(buf); len += 1 + len / 8)
			assert_int_equal(rec_crc32c_hw(0x1234, buf + align, len),
			                 rec_crc32c_sw(0x1234, buf + align, len));
}

static void test_header_roundtrip(void **state)
{
	(void)state;
	struct rec_jnl_info in = test_info(), out;
	uint8_t buf[REC_JNL_HDR_LEN + 8];
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(rec_jnl_header_write(buf, sizeof(buf), &in), REC_JNL_HDR_LEN);
	assert_int_equal(buf[REC_JNL_HDR_LEN], 0xee);

	/* The layout is the specification: pin a few fields at their documented offsets. */
	assert_memory_equal(buf, "CAASJRNL", 8);
	assert_int_equal(buf[8], 1);
	assert_int_equal(buf[9], 0);
	assert_int_equal(buf[10], 128);
	assert_int_equal(buf[11], 0);
	assert_int_equal(buf[16], 0xef);
	assert_int_equal(buf[23], 0x01);
	assert_int_equal(rd_le32(buf + 32), 90000);
	assert_int_equal(buf[36], 96);
	assert_int_equal(buf[37], REC_JNL_MEDIA_VIDEO);
	assert_string_equal((const char *)buf + 40, "H264");
	assert_string_equal((const char *)buf + 56, "cam-042/main");
	assert_int_equal(rd_le32(buf + 124), rec_crc32c_sw(0, buf, 124));

	memset(&out, 0x55, sizeof(out));
	assert_int_equal(rec_jnl_header_parse(buf, sizeof(buf), &out), REC_JNL_HDR_LEN);
	assert_int_equal(out.version, REC_JNL_VERSION);
	assert_int_equal(out.header_len, REC_JNL_HDR_LEN);
	assert_true(out.journal_id == in.journal_id);
	assert_true(out.created_ns == in.created_ns);
	assert_int_equal(out.clock_rate, 90000);
	assert_int_equal(out.payload_type, 96);
	assert_int_equal(out.media, REC_JNL_MEDIA_VIDEO);
	assert_string_equal(out.codec, "H264");
	assert_string_equal(out.stream, "cam-042/main");

	/* Longest names that fit. */
	memset(in.codec, 'c', sizeof(in.codec) - 1);
	memset(in.stream, 's', sizeof(in.stream) - 1);
	assert_int_equal(rec_jnl_header_write(buf, sizeof(buf), &in), REC_JNL_HDR_LEN);
	assert_int_equal(rec_jnl_header_parse(buf, sizeof(buf), &out), REC_JNL_HDR_LEN);
	assert_int_equal(strlen(out.codec), REC_JNL_CODEC_LEN - 1);
	assert_int_equal(strlen(out.stream), REC_JNL_STREAM_LEN - 1);
}

static void test_header_errors(void **state)
{
	(void)state;
	struct rec_jnl_info in = test_info(), out;
	uint8_t buf[REC_JNL_HDR_LEN], bad[REC_JNL_HDR_LEN];

	assert_int_equal(rec_jnl_header_write(buf, REC_JNL_HDR_LEN - 1, &in), -ENOSPC);
	in.payload_type = 128;
	assert_int_equal(rec_jnl_header_write(buf, sizeof(buf), &in), -EINVAL);
	in = test_info();
	in.media = 3;
	assert_int_equal(rec_jnl_header_write(buf, sizeof(buf), &in), -EINVAL);
	in = test_info();
	memset(in.codec, 'x', sizeof(in.codec));
	assert_int_equal(rec_jnl_header_write(buf, sizeof(buf), &in), -ENAMETOOLONG);
	in = test_info();
	memset(in.stream, 'x', sizeof(in.stream));
	assert_int_equal(rec_jnl_header_write(buf, sizeof(buf), &in), -ENAMETOOLONG);
	in = test_info();
	assert_int_equal(rec_jnl_header_write(buf, sizeof(buf), &in), REC_JNL_HDR_LEN);

	/* Every prefix of a header is a file torn at creation. */
	for (size_t n = 0; n < REC_JNL_HDR_LEN; n++) {
		uint8_t *p = exact(buf, n);
		assert_int_equal(rec_jnl_header_parse(p, n, &out), -EAGAIN);
		free(p);
	}
	memset(bad, 0, sizeof(bad));
	assert_int_equal(rec_jnl_header_parse(bad, sizeof(bad), &out), -EAGAIN);

	memcpy(bad, buf, sizeof(bad));
	bad[3] ^= 0x20;
	assert_int_equal(rec_jnl_header_parse(bad, sizeof(bad), &out), -EPROTO);
	assert_int_equal(rec_jnl_header_parse(bad, 5, &out), -EPROTO);
	memcpy(bad, buf, sizeof(bad));
	bad[8] = 2;
	assert_int_equal(rec_jnl_header_parse(bad, sizeof(bad), &out), -EPROTONOSUPPORT);
	memcpy(bad, buf, sizeof(bad));
	bad[10] = 120;
	assert_int_equal(rec_jnl_header_parse(bad, sizeof(bad), &out), -EMSGSIZE);
	bad[10] = 132;
	assert_int_equal(rec_jnl_header_parse(bad, sizeof(bad), &out), -EMSGSIZE);
	bad[10] = 0;
	bad[11] = 0x11; /* 4352 > 4096 */
	assert_int_equal(rec_jnl_header_parse(bad, sizeof(bad), &out), -EMSGSIZE);
	/* A valid longer header_len that the buffer does not hold yet. */
	bad[10] = 136;
	bad[11] = 0;
	assert_int_equal(rec_jnl_header_parse(bad, sizeof(bad), &out), -EAGAIN);

	/* Any single bit flip past the fields checked before the CRC is a CRC mismatch. */
	for (size_t bit = 12 * 8; bit < REC_JNL_HDR_LEN * 8; bit++) {
		memcpy(bad, buf, sizeof(bad));
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(rec_jnl_header_parse(bad, sizeof(bad), &out), -EBADMSG);
	}

	/* A name without its NUL, under a valid CRC (a writer bug, not a torn write). */
	memcpy(bad, buf, sizeof(bad));
	memset(bad + 56, 'x', REC_JNL_STREAM_LEN);
	uint32_t crc = rec_crc32c(0, bad, 124);
	for (int i = 0; i < 4; i++)
		bad[124 + i] = (uint8_t)(crc >> (8 * i));
	assert_int_equal(rec_jnl_header_parse(bad, sizeof(bad), &out), -ENAMETOOLONG);
}

static void test_record_golden(void **state)
{
	(void)state;
	/* Computed independently (Python, crc32c by the bit-wise definition). */
	static const uint8_t want[40] = {
	    0x03, 0x00, 0x00, 0x00, 0xdf, 0xcb, 0x4c, 0x2b, 0x01, 0x03, 0xfc, 0xff, 0xd0, 0xc0,
	    0xb0, 0xa0, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x18, 0x17, 0x16, 0x15,
	    0x14, 0x13, 0x12, 0x11, 0x61, 0x62, 0x63, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	struct rec_jnl_rec r = {
	    .type = REC_JNL_T_RTP,
	    .flags = REC_JNL_F_TO_CAMERA | REC_JNL_F_GTPU,
	    .seq = 0xa0b0c0d0,
	    .t_real_ns = 0x0102030405060708ull,
	    .t_mono_ns = 0x1112131415161718ull,
	    .data = (const uint8_t *)"abc",
	    .len = 3,
	};
	uint8_t buf[48];
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(rec_jnl_record_write(buf, sizeof(buf), &r), 40);
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(buf[40], 0xee);
}

static void test_record_write_errors(void **state)
{
	(void)state;
	static uint8_t big[REC_JNL_MAX_RECORD + 8];
	uint8_t buf[64];
	struct rec_jnl_rec r = {.type = REC_JNL_T_RTP, .data = big, .len = 9};

	assert_int_equal(rec_jnl_record_size(0), 32);
	assert_int_equal(rec_jnl_record_size(1), 40);
	assert_int_equal(rec_jnl_record_size(8), 40);
	assert_int_equal(rec_jnl_record_size(9), 48);
	assert_int_equal(rec_jnl_record_size(REC_JNL_MAX_BODY), REC_JNL_MAX_RECORD);

	r.type = 0;
	assert_int_equal(rec_jnl_record_write(buf, sizeof(buf), &r), -EINVAL);
	r.type = REC_JNL_T_MAX + 1;
	assert_int_equal(rec_jnl_record_write(buf, sizeof(buf), &r), -EINVAL);
	r.type = REC_JNL_T_NOTE;
	r.flags = 0x08;
	assert_int_equal(rec_jnl_record_write(buf, sizeof(buf), &r), -EINVAL);
	r.flags = REC_JNL_F_ALL;

	/* Too small by one: refused, and not a byte written. */
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(rec_jnl_record_write(buf, 47, &r), -ENOSPC);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xee);
	assert_int_equal(rec_jnl_record_write(buf, 48, &r), 48);

	r.len = REC_JNL_MAX_BODY + 1;
	assert_int_equal(rec_jnl_record_write(big, sizeof(big), &r), -EMSGSIZE);
	r.len = REC_JNL_MAX_BODY;
	r.data = buf; /* any bytes; only the length matters here */
	r.len = 0;
	assert_int_equal(rec_jnl_record_write(big, sizeof(big), &r), 32);
}

static void test_roundtrip_random(void **state)
{
	(void)state;
	struct journal j;
	size_t count, cut;
	journal_make(&j, 2000, 1500, 1);
	assert_int_equal(scan(j.buf, j.len, &j, &count, &cut), 0);
	assert_int_equal(count, 2000);
	assert_int_equal(cut, j.len);
	uint32_t next = 0;
	assert_int_equal(rec_jnl_recover_len(j.buf, j.len, &next), j.len);
	assert_int_equal(next, 2000);
	journal_free(&j);

	/* Largest body, and a marker with an empty body. */
	static uint8_t buf[REC_JNL_HDR_LEN + REC_JNL_MAX_RECORD + 64];
	static uint8_t body[REC_JNL_MAX_BODY];
	struct rec_jnl_info info = test_info();
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i * 7);
	struct rec_jnl_rec w = {.type = REC_JNL_T_RTP, .data = body, .len = REC_JNL_MAX_BODY};
	size_t off = (size_t)rec_jnl_header_write(buf, sizeof(buf), &info);
	off += (size_t)rec_jnl_record_write(buf + off, sizeof(buf) - off, &w);
	w = (struct rec_jnl_rec){.type = REC_JNL_T_STOP, .seq = 1, .t_real_ns = 5};
	off += (size_t)rec_jnl_record_write(buf + off, sizeof(buf) - off, &w);
	struct rec_jnl_iter it;
	struct rec_jnl_rec r;
	rec_jnl_iter_init(&it, buf, off, REC_JNL_HDR_LEN, 0);
	assert_int_equal(rec_jnl_next(&it, &r), 1);
	assert_int_equal(r.len, REC_JNL_MAX_BODY);
	assert_memory_equal(r.data, body, REC_JNL_MAX_BODY);
	assert_int_equal(rec_jnl_next(&it, &r), 1);
	assert_int_equal(r.type, REC_JNL_T_STOP);
	assert_int_equal(r.len, 0);
	assert_int_equal(rec_jnl_next(&it, &r), 0);
	assert_int_equal(it.off, off);
}

/* Every truncation point: the recover length is the end of the last whole record, the scan sees
 * exactly the whole records and calls the rest a torn tail. */
static void test_every_truncation(void **state)
{
	(void)state;
	struct journal j;
	journal_make(&j, 60, 300, 2);
	size_t whole = 0; /* records that end at or before L */
	for (size_t L = 0; L <= j.len; L++) {
		while (whole < j.n && j.ends[whole] <= L)
			whole++;
		uint8_t *p = exact(j.buf, L);
		uint32_t next = 99;
		ssize_t want = L < REC_JNL_HDR_LEN
		                   ? 0
		                   : (ssize_t)(whole ? j.ends[whole - 1] : REC_JNL_HDR_LEN);
		assert_int_equal(rec_jnl_recover_len(p, L, &next), want);
		assert_int_equal(next, L < REC_JNL_HDR_LEN ? 0 : whole);
		if (L >= REC_JNL_HDR_LEN) {
			size_t count, cut;
			int r = scan(p, L, &j, &count, &cut);
			assert_int_equal(r, (size_t)want == L ? 0 : -EAGAIN);
			assert_int_equal(count, whole);
			assert_int_equal(cut, want);
			/* Cutting there gives a clean journal. */
			assert_int_equal(rec_jnl_recover_len(p, (size_t)want, NULL), want);
		}
		free(p);
	}
	journal_free(&j);
}

/* What a crash leaves besides a short file: unwritten space that reads as zeros. */
static void test_zero_tail(void **state)
{
	(void)state;
	struct journal j;
	size_t count, cut;
	journal_make(&j, 20, 700, 3);
	size_t last = j.ends[18]; /* start of the last record */
	uint8_t *p = calloc(1, j.len + 4096);
	assert_non_null(p);

	/* Whole records, then a zero-filled block. */
	memcpy(p, j.buf, j.len);
	assert_int_equal(scan(p, j.len + 4096, &j, &count, &cut), -EAGAIN);
	assert_int_equal(count, 20);
	assert_int_equal(cut, j.len);
	assert_int_equal(rec_jnl_recover_len(p, j.len + 4096, NULL), j.len);

	/* Only a prefix of the last record landed, at every split but one inside the 16-bit length
	 * check (storage tears at sector boundaries, never inside a field): a torn tail. */
	size_t limit = j.len - last; /* past its last non-zero byte, zeroing changes nothing */
	while (j.buf[last + limit - 1] == 0)
		limit--;
	for (size_t keep = 0; keep < limit; keep++) {
		if (keep == 11)
			continue;
		memset(p + last + keep, 0, j.len - last - keep);
		assert_int_equal(scan(p, j.len + 4096, &j, &count, &cut), -EAGAIN);
		assert_int_equal(count, 19);
		assert_int_equal(cut, last);
		assert_int_equal(rec_jnl_recover_len(p, j.len + 4096, NULL), last);
		memcpy(p + last, j.buf + last, j.len - last);
	}
	/* A zeroed sector in the middle of the last record, with its end present. */
	if (j.len - last > REC_JNL_REC_HDR_LEN + 16) {
		memset(p + last + REC_JNL_REC_HDR_LEN, 0, 8);
		assert_int_equal(scan(p, j.len + 4096, &j, &count, &cut), -EAGAIN);
		assert_int_equal(cut, last);
	}
	free(p);
	journal_free(&j);
}

/* A flipped bit in a record that has others after it is corruption, reported at that record;
 * the records before it are intact and recovery refuses to cut. */
static void test_bitflip_middle(void **state)
{
	(void)state;
	struct journal j;
	size_t count, cut;
	journal_make(&j, 30, 200, 4);
	uint8_t *p = exact(j.buf, j.len);
	for (size_t k = 10; k < 13; k++) {
		size_t start = j.recs[k].off;
		for (size_t bit = start * 8; bit < j.ends[k] * 8; bit++) {
			p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			size_t field = bit / 8 - start;
			int want = (field < 4 || field == 10 || field == 11) ? -EMSGSIZE : -EBADMSG;
			assert_int_equal(scan(p, j.len, &j, &count, &cut), want);
			assert_int_equal(count, k);
			assert_int_equal(cut, start);
			assert_int_equal(rec_jnl_recover_len(p, j.len, NULL), want);
			p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
	}
	/* The same damage in the last record cannot be told from a torn write. */
	size_t start = j.recs[29].off;
	p[start + REC_JNL_REC_HDR_LEN - 1] ^= 1;
	assert_int_equal(scan(p, j.len, &j, &count, &cut), -EAGAIN);
	assert_int_equal(cut, start);
	assert_int_equal(rec_jnl_recover_len(p, j.len, NULL), start);
	free(p);
	journal_free(&j);
}

/* Whole records removed or repeated keep every CRC valid; the sequence numbers catch them. */
static void test_sequence(void **state)
{
	(void)state;
	struct journal j;
	size_t count, cut;
	journal_make(&j, 10, 100, 5);
	uint8_t *p = malloc(j.len + 2000);
	assert_non_null(p);

	/* Record 4 cut out. */
	size_t a = j.recs[4].off, b = j.ends[4];
	memcpy(p, j.buf, a);
	memcpy(p + a, j.buf + b, j.len - b);
	assert_int_equal(scan(p, j.len - (b - a), &j, &count, &cut), -EILSEQ);
	assert_int_equal(count, 4);
	assert_int_equal(cut, a);
	assert_int_equal(rec_jnl_recover_len(p, j.len - (b - a), NULL), -EILSEQ);

	/* Record 4 repeated. */
	memcpy(p, j.buf, b);
	memcpy(p + b, j.buf + a, b - a);
	memcpy(p + b + (b - a), j.buf + b, j.len - b);
	assert_int_equal(scan(p, j.len + (b - a), &j, &count, &cut), -EILSEQ);
	assert_int_equal(count, 5);
	assert_int_equal(cut, b);

	/* A scan may start at any record boundary with that record's number. */
	struct rec_jnl_iter it;
	struct rec_jnl_rec r;
	rec_jnl_iter_init(&it, j.buf, j.len, j.recs[7].off, 7);
	assert_int_equal(rec_jnl_next(&it, &r), 1);
	assert_int_equal(r.seq, 7);
	rec_jnl_iter_init(&it, j.buf, j.len, j.recs[7].off, 6);
	assert_int_equal(rec_jnl_next(&it, &r), -EILSEQ);
	free(p);
	journal_free(&j);
}

static void test_recover_not_journal(void **state)
{
	(void)state;
	uint8_t buf[4096] = {0};
	assert_int_equal(rec_jnl_recover_len(buf, 0, NULL), 0);
	assert_int_equal(rec_jnl_recover_len(buf, sizeof(buf), NULL), 0);
	memcpy(buf, "GIF89a", 6);
	assert_int_equal(rec_jnl_recover_len(buf, sizeof(buf), NULL), -EPROTO);
	assert_int_equal(rec_jnl_recover_len(buf, 3, NULL), -EPROTO);
	memcpy(buf, "CAASJ", 5);
	assert_int_equal(rec_jnl_recover_len(buf, 5, NULL), 0);
}

static const struct rec_pcap_ends ends4 = {
    .family = 4,
    .cam_addr = {198, 18, 0, 10},
    .box_addr = {198, 19, 0, 1},
    .cam_rtp_port = 5004,
    .cam_rtcp_port = 5005,
    .box_rtp_port = 40000,
    .box_rtcp_port = 40001,
};

/* Build a small journal: RTP from the camera, RTCP to it, and markers that are not exported. */
static size_t pcap_journal(uint8_t *buf, size_t cap, uint64_t t0)
{
	struct rec_jnl_info info = test_info();
	size_t off = (size_t)rec_jnl_header_write(buf, cap, &info);
	uint8_t pkt[200];
	uint32_t seq = 0;
	struct rec_jnl_rec w = {.type = REC_JNL_T_START, .seq = seq++, .t_real_ns = t0};
	off += (size_t)rec_jnl_record_write(buf + off, cap - off, &w);
	for (int i = 0; i < 10; i++) {
		memset(pkt, 0, sizeof(pkt));
		pkt[0] = 0x80;
		pkt[1] = 96;
		wr_be16(pkt + 2, (uint16_t)(1000 + i));
		wr_be32(pkt + 8, 0x11223344);
		w = (struct rec_jnl_rec){.type = REC_JNL_T_RTP,
		                         .seq = seq++,
		                         .t_real_ns = t0 + (uint64_t)i * 33333333u + 1,
		                         .data = pkt,
		                         .len = 12 + (uint32_t)i * 10};
		off += (size_t)rec_jnl_record_write(buf + off, cap - off, &w);
	}
	static const uint8_t rr[8] = {0x80, 201, 0, 1, 0, 0, 0, 1};
	w = (struct rec_jnl_rec){.type = REC_JNL_T_RTCP,
	                         .flags = REC_JNL_F_TO_CAMERA,
	                         .seq = seq++,
	                         .t_real_ns = t0 + 400000000u,
	                         .data = rr,
	                         .len = sizeof(rr)};
	off += (size_t)rec_jnl_record_write(buf + off, cap - off, &w);
	w = (struct rec_jnl_rec){
	    .type = REC_JNL_T_STOP, .seq = seq++, .t_real_ns = t0 + 500000000u};
	off += (size_t)rec_jnl_record_write(buf + off, cap - off, &w);
	return off;
}

static void test_pcap_export(void **state)
{
	(void)state;
	static uint8_t jnl[8192], pcap[8192];
	const uint64_t t0 = 1700000000ull * 1000000000ull + 123456789;
	size_t jlen = pcap_journal(jnl, sizeof(jnl), t0);
	size_t npkts = 0;
	ssize_t n =
	    rec_jnl_export_pcap(jnl, jlen, &ends4, 0, UINT64_MAX, pcap, sizeof(pcap), &npkts);
	assert_true(n > 0);
	assert_int_equal(npkts, 11);

	/* Read it back by the pcap format, independently of the writer. */
	assert_int_equal(rd_le32(pcap), 0xa1b23c4d);
	assert_int_equal(rd_le32(pcap + 20), 101);
	size_t off = 24, k = 0;
	while (off < (size_t)n) {
		uint64_t ts =
		    (uint64_t)rd_le32(pcap + off) * 1000000000ull + rd_le32(pcap + off + 4);
		uint32_t incl = rd_le32(pcap + off + 8);
		assert_int_equal(incl, rd_le32(pcap + off + 12));
		const uint8_t *ip = pcap + off + 16, *udp = ip + 20;
		assert_int_equal(ip[0], 0x45);
		assert_int_equal(rd_be16(ip + 2), incl);
		assert_true(net_csum_ok(net_csum_partial(ip, 20, 0)));
		assert_int_equal(ip[9], 17);
		assert_int_equal(rd_be16(udp + 4), incl - 20);
		assert_int_equal(net_udp4_csum(ip, udp, net_csum_partial(udp + 8, incl - 28, 0)),
		                 rd_be16(udp + 6));
		if (k < 10) {
			assert_true(ts == t0 + k * 33333333u + 1);
			assert_int_equal(incl, 28 + 12 + k * 10);
			assert_memory_equal(ip + 12, ends4.cam_addr, 4);
			assert_memory_equal(ip + 16, ends4.box_addr, 4);
			assert_int_equal(rd_be16(udp), 5004);
			assert_int_equal(rd_be16(udp + 2), 40000);
			assert_int_equal(rd_be16(udp + 8 + 2), 1000 + k);
		} else {
			assert_true(ts == t0 + 400000000u);
			assert_memory_equal(ip + 12, ends4.box_addr, 4);
			assert_int_equal(rd_be16(udp), 40001);
			assert_int_equal(rd_be16(udp + 2), 5005);
		}
		off += 16 + incl;
		k++;
	}
	assert_int_equal(off, n);
	assert_int_equal(k, 11);

	/* Time window [from, to). */
	assert_true(rec_jnl_export_pcap(jnl, jlen, &ends4, t0 + 33333334u, t0 + 4 * 33333333u + 1,
	                                pcap, sizeof(pcap), &npkts) > 0);
	assert_int_equal(npkts, 3);

	/* tcpdump, software nobody here wrote, reads the same file. */
	/* scripts/setup.sh installs tcpdump: its absence is a broken machine, not a reason to
	 * pass without checking. */
	if (system("command -v tcpdump >/dev/null 2>&1") != 0)
		fail_msg("tcpdump is not installed (scripts/setup.sh installs it)");
	n = rec_jnl_export_pcap(jnl, jlen, &ends4, 0, UINT64_MAX, pcap, sizeof(pcap), NULL);
	char path[] = "/tmp/test_journal_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, pcap, (size_t)n), n);
	close(fd);
	char cmd[256], line[512];
	snprintf(cmd, sizeof(cmd), "tcpdump -nn -tt --time-stamp-precision=nano -r %s 2>/dev/null",
	         path);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	size_t lines = 0;
	while (fgets(line, sizeof(line), f)) {
		if (lines == 0)
			assert_non_null(strstr(line, "1700000000.123456790 IP 198.18.0.10.5004 > "
			                             "198.19.0.1.40000: UDP, length 12"));
		if (lines == 10)
			assert_non_null(strstr(line, "1700000000.523456789 IP 198.19.0.1.40001 > "
			                             "198.18.0.10.5005: UDP, length 8"));
		lines++;
	}
	assert_int_equal(pclose(f), 0);
	unlink(path);
	assert_int_equal(lines, 11);
}

static void test_pcap_record_ipv6_and_errors(void **state)
{
	(void)state;
	struct rec_pcap_ends e6 = ends4;
	e6.family = 6;
	memset(e6.cam_addr, 0, 16);
	memset(e6.box_addr, 0, 16);
	e6.cam_addr[0] = 0x20;
	e6.cam_addr[1] = 0x01;
	e6.cam_addr[2] = 0x0d;
	e6.cam_addr[3] = 0xb8;
	e6.cam_addr[15] = 1;
	memcpy(e6.box_addr, e6.cam_addr, 16);
	e6.box_addr[15] = 2;
	static uint8_t body[REC_JNL_MAX_BODY];
	static uint8_t out[REC_PCAP_REC_HDR_LEN + 40 + 8 + REC_JNL_MAX_BODY];
	struct rec_jnl_rec r = {.type = REC_JNL_T_RTP, .data = body, .len = 100, .t_real_ns = 1};

	assert_int_equal(rec_pcap_record_write(out, sizeof(out), &e6, &r), 16 + 40 + 8 + 100);
	const uint8_t *ip = out + 16, *udp = ip + 40;
	assert_int_equal(ip[0] >> 4, 6);
	assert_int_equal(rd_be16(ip + 4), 108);
	assert_int_equal(ip[6], 17);
	assert_int_not_equal(rd_be16(udp + 6), 0);
	assert_int_equal(net_udp6_csum(ip, udp, net_csum_partial(udp + 8, 100, 0)),
	                 rd_be16(udp + 6));

	assert_int_equal(rec_pcap_record_write(out, 16 + 40 + 8 + 99, &e6, &r), -ENOSPC);
	r.len = REC_JNL_MAX_BODY;
	assert_int_equal(rec_pcap_record_write(out, sizeof(out), &ends4, &r), -EMSGSIZE);
	assert_int_equal(rec_pcap_record_write(out, sizeof(out), &e6, &r), -EMSGSIZE);
	r.len = 0xffff - 8;
	assert_int_equal(rec_pcap_record_write(out, sizeof(out), &e6, &r), 16 + 40 + 0xffff);
	e6.family = 5;
	assert_int_equal(rec_pcap_record_write(out, sizeof(out), &e6, &r), -EINVAL);
	r.type = REC_JNL_T_NOTE;
	assert_int_equal(rec_pcap_record_write(out, sizeof(out), &ends4, &r), 0);
	assert_int_equal(rec_pcap_header_write(out, 23), -ENOSPC);
	assert_int_equal(rec_pcap_header_write(out, 24), 24);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc32c_vectors),
	    cmocka_unit_test(test_crc32c_hw_matches_sw),
	    cmocka_unit_test(test_header_roundtrip),
	    cmocka_unit_test(test_header_errors),
	    cmocka_unit_test(test_record_golden),
	    cmocka_unit_test(test_record_write_errors),
	    cmocka_unit_test(test_roundtrip_random),
	    cmocka_unit_test(test_every_truncation),
	    cmocka_unit_test(test_zero_tail),
	    cmocka_unit_test(test_bitflip_middle),
	    cmocka_unit_test(test_sequence),
	    cmocka_unit_test(test_recover_not_journal),
	    cmocka_unit_test(test_pcap_export),
	    cmocka_unit_test(test_pcap_record_ipv6_and_errors),
	};
	return cmocka_run_group_tests_name("journal", tests, NULL, NULL);
}
