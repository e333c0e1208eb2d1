/* RTCP (RFC 3550, RFC 4585, RFC 5104): compound packet parsing and packet builders. */
#ifndef CAAS_RTP_RTCP_H
#define CAAS_RTP_RTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One reception report block (RFC 3550 §6.4.1), host byte order. */
struct rtcp_rb {
	uint32_t ssrc;
	uint8_t fraction_lost;	 /* fixed point, 8 fractional bits */
	int32_t cumulative_lost; /* signed 24 bits on the wire */
	uint32_t ext_highest_seq;
	uint32_t jitter; /* RTP timestamp units */
	uint32_t lsr;	 /* middle 32 bits of the last SR's NTP time, 0 if none */
	uint32_t dlsr;	 /* delay since that SR, 1/65536 s */
};

#endif
