/* libFuzzer target: the H.264 RTP depacketizer (RFC 6184) fed a packet sequence, a packetizer ->
 * depacketizer round trip of every access unit it delivers, and the per-packet scan of each
 * payload. fuzz_h265.c includes this file with FUZZ_CODEC set to build it for H.265. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtp/bytes.h"
#include "rtp/h26x.h"

#ifndef FUZZ_CODEC
#define FUZZ_CODEC H26X_H264
#endif

/*
 * Input: one set-up byte, then records of [control][length: 16 bits][payload], the last one cut
 * short by the end of the input. Set-up byte: max_payload for the round trip is 16 + 5 * (b & 0x7f)
 * bytes, bit 7 turns aggregation off. Control byte:
 *   bits 0-1  sequence step: 0 and 1 -> +1, 2 -> +2 + bits 4-5 (a gap), 3 -> a duplicate, or a
 *             late packet (-1 - bits 4-5) if bit 6 is set
 *   bit 2     a new timestamp
 *   bit 3     marker
 *   bit 7     not a packet: bit 6 set = h26x_depkt_set_params() with the payload, clear = flush
 */
#define AU_CAP      2048 /* the smallest buffer: units outgrow it, -ENOBUFS happens */
#define MAX_RECORDS 1024
#define RT_CAP      (AU_CAP + H26X_DEPKT_HEADROOM)

static uint8_t mem[H26X_DEPKT_MEM(AU_CAP)];
static uint8_t rt_mem[H26X_DEPKT_MEM(2 * RT_CAP)]; /* a scan can add a byte a NAL unit */
static uint8_t want[2 * RT_CAP];

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NAL unit that the packetizer sends as it is and the depacketizer takes back unchanged. */
static bool sendable(const uint8_t *nal, size_t len)
{
	if (len < h26x_nal_hdr_len(FUZZ_CODEC) || (nal[0] & 0x80))
		return false;
	uint8_t type = h26x_nal_type(FUZZ_CODEC, nal);
	if (FUZZ_CODEC == H26X_H264)
		return type >= 1 && type <= 23;
	return (nal[1] & 7) != 0 && type < H265_NAL_AP;
}

/*
 * Packetize a delivered unit and depacketize the packets: the result must be the unit's NAL units
 * as an Annex-B scan finds them. Payload bytes that look like start codes split NAL units (the
 * depacketizer does not check emulation prevention), so the scan, not the unit's bytes, is what
 * has to come back; units whose scan finds NAL units that cannot be sent alone are skipped.
 */
static void roundtrip(const struct h26x_au *au, size_t max_payload, unsigned pack_flags)
{
	const uint8_t *pos = au->data, *end = au->data + au->len, *nal;
	size_t len, want_len = 0;

	while (h26x_annexb_next(&pos, end, &nal, &len)) {
		if (!sendable(nal, len))
			return;
		CHECK(want_len + 4 + len <= sizeof(want));
		memcpy(want + want_len, "\0\0\0\1", 4);
		memcpy(want + want_len + 4, nal, len);
		want_len += 4 + len;
	}
	if (want_len == 0)
		return;

	struct h26x_pack p;
	struct h26x_depkt d;
	struct h26x_au out[2];
	uint8_t pkt[16 + 5 * 127];
	uint16_t seq = (uint16_t)(65530 + au->len); /* wraps now and then */
	int got = 0;

	CHECK(h26x_pack_init(&p, FUZZ_CODEC, pack_flags, max_payload) == 0);
	CHECK(h26x_depkt_init(&d, FUZZ_CODEC, 0, rt_mem, sizeof(rt_mem)) == 0);
	h26x_pack_au(&p, au->data, au->len);
	for (;;) {
		bool m = false;
		int n = h26x_pack_next(&p, pkt, sizeof(pkt), &m);
		CHECK(n >= 0);
		if (n == 0)
			break;
		CHECK(got == 0); /* nothing after the marker */
		CHECK((size_t)n <= max_payload);
		got = h26x_depkt_push(&d, seq++, au->ts, m, pkt, (size_t)n, out);
		CHECK(d.last_error == 0);
		CHECK(got == (m ? 1 : 0));
	}
	CHECK(got == 1);
	CHECK(out[0].len == want_len);
	CHECK(memcmp(out[0].data, want, want_len) == 0);
	CHECK(out[0].ts == au->ts);
}

/* The dataplane's look at each packet: whatever it points at lies inside the payload. */
static void check_scan(const uint8_t *payload, size_t len)
{
	struct h26x_scan sc;
	volatile uint8_t sink = 0;

	h26x_scan_payload(FUZZ_CODEC, payload, len, &sc);
	for (int i = 0; i < H26X_PS_COUNT; i++) {
		if (!sc.ps[i]) {
			CHECK(sc.ps_len[i] == 0);
			continue;
		}
		CHECK(sc.ps[i] >= payload && sc.ps[i] + sc.ps_len[i] <= payload + len);
		CHECK(sc.ps_len[i] >= h26x_nal_hdr_len(FUZZ_CODEC));
		CHECK(h26x_ps_slot(FUZZ_CODEC, h26x_nal_type(FUZZ_CODEC, sc.ps[i])) == i);
		for (size_t j = 0; j < sc.ps_len[i]; j++)
			sink ^= sc.ps[i][j];
	}
	(void)sink;
}

struct state {
	struct h26x_depkt d;
	size_t max_payload;
	unsigned pack_flags;
	bool need_key; /* WAIT_KEYFRAME: the next unit delivered must be a keyframe */
	uint64_t delivered, keyframes;
};

static void check_au(struct state *s, const struct h26x_au *au)
{
	const struct h26x_depkt *d = &s->d;
	volatile uint8_t sink = 0;

	for (size_t i = 0; i < au->len; i++)
		sink ^= au->data[i];
	(void)sink;
	CHECK(au->data >= mem && au->data + au->len <= mem + sizeof(mem));
	CHECK(au->len <= d->cap + (au->params_inserted ? H26X_DEPKT_HEADROOM : 0));
	CHECK(au->len >= 4 + h26x_nal_hdr_len(FUZZ_CODEC));
	CHECK(memcmp(au->data, "\0\0\0\1", 4) == 0);
	CHECK(au->nal_count >= 1);
	CHECK(!au->params_inserted || au->keyframe);
	CHECK(!s->need_key || au->keyframe);
	s->need_key = false;
	s->delivered++;
	s->keyframes += au->keyframe;
	roundtrip(au, s->max_payload, s->pack_flags);
}

/* What one push or flush closed, in order: a unit closed by a new timestamp comes before the
 * one closed by the marker, and a broken unit makes the depacketizer wait for a keyframe. */
static void check_closed(struct state *s, struct h26x_au *out, int n, uint64_t broken_before,
                         uint16_t seq)
{
	uint64_t broken = s->d.stats.broken - broken_before;

	CHECK(n >= 0 && n <= 2);
	CHECK(broken + (uint64_t)n <= 2);
	if (n == 1 && broken == 1 && out[0].last_seq == seq) {
		/* the old unit was broken, this packet's unit delivered */
		s->need_key = true;
		broken = 0;
	}
	for (int i = 0; i < n; i++)
		check_au(s, &out[i]);
	if (broken)
		s->need_key = true;
	if (n == 2)
		CHECK(out[0].data + out[0].len <= out[1].data ||
		      out[1].data + out[1].len <= out[0].data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct state s;
	struct h26x_au out[2];
	uint64_t pushed = 0;

	if (size < 1)
		return 0;
	memset(&s, 0, sizeof(s));
	CHECK(h26x_depkt_init(&s.d, FUZZ_CODEC, H26X_DEPKT_WAIT_KEYFRAME | H26X_DEPKT_INSERT_PARAMS,
	                      mem, sizeof(mem)) == 0);
	s.max_payload = 16 + 5 * (size_t)(data[0] & 0x7f);
	s.pack_flags = data[0] & 0x80 ? H26X_PACK_NO_AGGREGATION : 0;
	s.need_key = true;

	const uint8_t *p = data + 1, *end = data + size;
	uint16_t seq = (uint16_t)(65500 + size);
	uint32_t ts = 0;
	for (int r = 0; r < MAX_RECORDS && end - p >= 3; r++) {
		uint8_t ctl = p[0];
		size_t len = rd_be16(p + 1);
		p += 3;
		if (len > (size_t)(end - p))
			len = (size_t)(end - p);
		/* An exact-size copy, so that ASan sees a read past the payload. */
		uint8_t *payload = malloc(len ? len : 1);
		CHECK(payload);
		memcpy(payload, p, len);
		p += len;

		if (ctl & 0x80) {
			if (ctl & 0x40) {
				int n = h26x_depkt_set_params(&s.d, payload, len);
				CHECK(n >= 0 && (size_t)n <= len / 4 + 1);
			} else {
				uint64_t b = s.d.stats.broken;
				int n = h26x_depkt_flush(&s.d, out);
				check_closed(&s, out, n, b, (uint16_t)(seq + 1));
			}
			free(payload);
			continue;
		}
		switch (ctl & 3) {
		case 2:
			seq = (uint16_t)(seq + 2 + ((ctl >> 4) & 3));
			break;
		case 3:
			if (ctl & 0x40)
				seq = (uint16_t)(seq - 1 - ((ctl >> 4) & 3));
			break;
		default:
			seq++;
		}
		if (ctl & 4)
			ts += 3000;
		check_scan(payload, len);
		uint64_t b = s.d.stats.broken;
		int n = h26x_depkt_push(&s.d, seq, ts, ctl & 8, payload, len, out);
		pushed++;
		free(payload);
		check_closed(&s, out, n, b, seq);
		CHECK(s.d.last_error <= 0);
	}
	uint64_t b = s.d.stats.broken;
	check_closed(&s, out, h26x_depkt_flush(&s.d, out), b, (uint16_t)(seq + 1));

	const struct h26x_depkt_stats *st = &s.d.stats;
	CHECK(st->packets == pushed);
	CHECK(st->aus == s.delivered);
	CHECK(st->keyframes == s.keyframes);
	CHECK(st->duplicates + st->late <= pushed);
	uint8_t ps[H26X_PS_COUNT * (4 + H26X_PS_MAX)];
	int n = h26x_depkt_get_params(&s.d, ps, sizeof(ps));
	CHECK(n >= 0 && (n == 0 || memcmp(ps, "\0\0\0\1", 4) == 0));
	return 0;
}
