/* libFuzzer target: RTCP compound parsing and every typed view, normal and reduced-size. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rtp/rtcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t touch(const uint8_t *p, size_t n)
{
	uint8_t x = 0;
	for (size_t i = 0; i < n; i++)
		x ^= p[i];
	return x;
}

/* The lost numbers of a NACK, in whatever order its entries give them, rebuilt into a NACK of
 * our own: the same set must come back. */
static void nack_roundtrip(const struct rtcp_fb *fb)
{
	static uint8_t in[65536 / 8], out[65536 / 8];
	static uint16_t seqs[512];
	static uint8_t pkt[4096];
	struct rtcp_nack_iter ni;
	size_t n = 0;
	uint16_t seq;

	if (rtcp_nack_iter_init(&ni, fb) < 0)
		return;
	memset(in, 0, sizeof(in));
	memset(out, 0, sizeof(out));
	while (n < sizeof(seqs) / sizeof(seqs[0]) && rtcp_nack_next(&ni, &seq) > 0) {
		seqs[n++] = seq;
		in[seq / 8] |= (uint8_t)(1u << (seq % 8));
	}
	int len = rtcp_nack_write(pkt, sizeof(pkt), 1, 2, seqs, n);
	struct rtcp_iter it;
	struct rtcp_pkt p;
	struct rtcp_fb back;
	rtcp_iter_init(&it, pkt, len > 0 ? (size_t)len : 0, RTCP_F_REDUCED_SIZE);
	if (len <= 0 || rtcp_iter_next(&it, &p) != 1 || rtcp_fb_get(&p, &back) != 0 ||
	    rtcp_nack_iter_init(&ni, &back) != 0)
		__builtin_trap();
	while (rtcp_nack_next(&ni, &seq) > 0)
		out[seq / 8] |= (uint8_t)(1u << (seq % 8));
	if (memcmp(in, out, sizeof(in)) != 0)
		__builtin_trap();
}

/* Touch every byte each view claims is ours, so ASan sees any wrong bound. */
static void walk(const uint8_t *data, size_t size, unsigned flags)
{
	volatile uint8_t sink = 0;
	struct rtcp_iter it;
	struct rtcp_pkt pkt;
	int n = 0, rc;

	rtcp_iter_init(&it, data, size, flags);
	while ((rc = rtcp_iter_next(&it, &pkt)) > 0) {
		n++;
		sink ^= touch(pkt.data, pkt.len);

		struct rtcp_sr sr;
		if (rtcp_sr_get(&pkt, &sr) == 0)
			sink ^= (uint8_t)sr.octet_count;
		struct rtcp_rb rb;
		for (unsigned i = 0; rtcp_rb_get(&pkt, i, &rb) == 0; i++)
			sink ^= (uint8_t)rtcp_rtt_us(rb.dlsr, &rb);

		struct rtcp_sdes_iter si;
		struct rtcp_sdes_item item;
		uint32_t ssrc;
		if (rtcp_sdes_iter_init(&si, &pkt) == 0) {
			/* A packet the iterator accepted must walk without error. */
			while ((rc = rtcp_sdes_next_chunk(&si, &ssrc)) > 0)
				while ((rc = rtcp_sdes_next_item(&si, &item)) > 0)
					sink ^= touch(item.data, item.len);
			if (rc < 0)
				__builtin_trap();
			if (rtcp_sdes_cname(&pkt, &item) == 0)
				sink ^= touch(item.data, item.len);
		}

		struct rtcp_bye bye;
		if (rtcp_bye_get(&pkt, &bye) == 0) {
			for (unsigned i = 0; i < bye.count; i++)
				sink ^= (uint8_t)rtcp_bye_ssrc(&bye, i);
			if (bye.reason)
				sink ^= touch(bye.reason, bye.reason_len);
		} else if (pkt.pt == RTCP_PT_BYE) {
			__builtin_trap();
		}

		struct rtcp_app app;
		if (rtcp_app_get(&pkt, &app) == 0)
			sink ^= touch(app.data, app.len);

		struct rtcp_fb fb;
		if (rtcp_fb_get(&pkt, &fb) == 0) {
			sink ^= touch(fb.fci, fb.fci_len);
			struct rtcp_nack_iter ni;
			uint16_t seq;
			if (rtcp_nack_iter_init(&ni, &fb) == 0)
				while (rtcp_nack_next(&ni, &seq) > 0)
					sink ^= (uint8_t)seq;
			nack_roundtrip(&fb);
			struct rtcp_fir_entry fe;
			for (size_t i = 0; rtcp_fir_get(&fb, i, &fe) == 0; i++)
				sink ^= fe.seq;
		}
	}
	/* The whole-compound check agrees with the iterator. */
	if (rtcp_validate(data, size, flags) != (rc < 0 ? rc : n))
		__builtin_trap();
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	walk(data, size, 0);
	walk(data, size, RTCP_F_REDUCED_SIZE);
	return 0;
}
