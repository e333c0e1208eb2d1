/* libFuzzer target: RTP header and RFC 8285 extension parsing. */
#include <stddef.h>
#include <stdint.h>

#include "rtp/rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtp_hdr h;
	if (rtp_parse(data, size, &h) != 0)
		return 0;
	/* Touch every byte the parser claims is ours, so ASan sees any wrong bound. */
	volatile uint8_t sink = 0;
	for (size_t i = 0; i < h.payload_len; i++)
		sink ^= h.payload[i];
	struct rtp_ext_iter it;
	struct rtp_ext_elem e;
	if (rtp_ext_iter_init(&it, &h) == 0)
		while (rtp_ext_next(&it, &e) > 0)
			for (size_t i = 0; i < e.len; i++)
				sink ^= e.data[i];
	(void)sink;
	return 0;
}
