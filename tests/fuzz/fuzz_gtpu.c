/* libFuzzer target: GTP-U parsing, plus rebuild-and-reparse of what the parser accepted. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rtp/gtpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Room for the largest G-PDU the builder can describe. */
static uint8_t rebuilt[GTPU_MAX_LEN];

static void check_gpdu_roundtrip(const struct gtpu_hdr *h)
{
	struct gtpu_hdr r;
	/* The rebuilt header is never longer than the parsed one (it carries a container only
	 * where one was parsed, and no extension besides), so the builder cannot refuse. */
	int n = gtpu_write_gpdu_hdr(rebuilt, sizeof(rebuilt), h, h->inner_len);
	if (n < 0 || (size_t)n > h->hdr_len)
		__builtin_trap();
	memcpy(rebuilt + n, h->inner, h->inner_len);
	if (gtpu_parse(rebuilt, (size_t)n + h->inner_len, &r) != 0)
		__builtin_trap();
	if (r.msg_type != GTPU_MSG_GPDU || r.teid != h->teid || r.has_seq != h->has_seq ||
	    r.seq != h->seq || r.has_qfi != h->has_qfi || r.qfi != h->qfi ||
	    (h->has_qfi && r.pdu_type != h->pdu_type) || r.inner_len != h->inner_len ||
	    r.ip_version != h->ip_version || memcmp(r.inner, h->inner, h->inner_len) != 0)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gtpu_hdr h;
	if (gtpu_parse(data, size, &h) != 0)
		return 0;
	if (h.hdr_len > h.msg_len || h.msg_len > size)
		__builtin_trap();

	/* Touch every byte the parser claims is ours, so ASan sees any wrong bound. */
	volatile uint8_t sink = 0;
	for (size_t i = 0; i < h.msg_len; i++)
		sink ^= data[i];
	for (size_t i = 0; i < h.inner_len; i++)
		sink ^= h.inner[i];
	sink ^= (uint8_t)(h.msg_type ^ h.teid ^ h.seq ^ h.npdu ^ h.pdu_type ^ h.qfi ^ h.ip_version);
	sink ^= (uint8_t)(h.has_seq | h.has_npdu << 1 | h.has_psc << 2 | h.has_qfi << 3);
	(void)sink;

	if (h.msg_type == GTPU_MSG_GPDU) {
		if (!h.inner || h.inner != data + h.hdr_len ||
		    h.hdr_len + h.inner_len != h.msg_len ||
		    (h.ip_version != 4 && h.ip_version != 6))
			__builtin_trap();
		check_gpdu_roundtrip(&h);
	} else if (h.inner || h.inner_len || h.ip_version) {
		__builtin_trap();
	}

	if (h.msg_type == GTPU_MSG_ECHO_REQ) {
		uint8_t resp[GTPU_ECHO_RESP_LEN];
		struct gtpu_hdr r;
		if (gtpu_write_echo_resp(resp, sizeof(resp), &h) != GTPU_ECHO_RESP_LEN ||
		    gtpu_parse(resp, sizeof(resp), &r) != 0 || r.msg_type != GTPU_MSG_ECHO_RESP ||
		    r.seq != h.seq || r.teid != 0)
			__builtin_trap();
	}
	return 0;
}
