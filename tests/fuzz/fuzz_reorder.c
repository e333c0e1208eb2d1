/* libFuzzer target: the reorder buffer under any arrival order. Input: pairs of bytes, each a
 * sequence-number step (signed, around a moving base) and a time step. Checks what must always
 * hold: every packet taken comes out exactly once (pop or flush), out in increasing sequence
 * order between restarts, never more held than RTP_REORDER_MAX. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtp/reorder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rtp_reorder r;
static uint8_t held[65536]; /* 1: taken and not yet out */

static void out(void *p, uint16_t seq, uint16_t *last, int *have)
{
	if ((uintptr_t)p != (uintptr_t)seq + 1 || !held[seq])
		abort(); /* the wrong packet, or one that was not held */
	held[seq] = 0;
	if (*have && (int16_t)(uint16_t)(seq - *last) <= 0)
		abort(); /* out of order */
	*last = seq;
	*have = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t base = 1000, seq, last = 0;
	uint64_t now = 0, aux, t;
	int have = 0;
	void *p;

	rtp_reorder_init(&r, 50);
	memset(held, 0, sizeof(held));
	for (size_t i = 0; i + 1 < size; i += 2) {
		int8_t step = (int8_t)data[i];
		now += data[i + 1] & 0x3f;
		uint16_t s = (uint16_t)(base + step);
		if (data[i + 1] & 0x80)
			base = (uint16_t)(base + (data[i + 1] & 0x40 ? 3000 : 1));
		void *pkt = (void *)((uintptr_t)s + 1);
		int rc = rtp_reorder_push(&r, s, pkt, s, now);
		if (rc == -ERANGE) {
			while ((p = rtp_reorder_flush(&r, &seq, &aux, &t)))
				out(p, seq, &last, &have);
			have = 0; /* a new numbering */
			rc = rtp_reorder_push(&r, s, pkt, s, now);
		}
		if (rc == 0) {
			if (held[s])
				abort(); /* taken twice */
			held[s] = 1;
		}
		if (r.count > RTP_REORDER_MAX)
			abort();
		while ((p = rtp_reorder_pop(&r, now, &seq, &aux, &t)))
			out(p, seq, &last, &have);
	}
	while ((p = rtp_reorder_flush(&r, &seq, &aux, &t)))
		out(p, seq, &last, &have);
	for (size_t i = 0; i < sizeof(held); i++)
		if (held[i])
			abort(); /* lost */
	return 0;
}
