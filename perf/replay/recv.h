/* caas-replay recv: what its receive loop (recv.c) and its RTCP feedback (recv_rtcp.c) share.
 * Private to the receiver. */
#ifndef CAAS_REPLAY_RECV_H
#define CAAS_REPLAY_RECV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "report.h"

#define NS_PER_MSEC 1000000ull
#define NS_PER_SEC  1000000000ull

/* A real client asks once more if the first NACK went unanswered, and gives up on a number
 * once the sender's cache (caasd: nack_ms) or our reorder window has surely moved past it. */
#define RECV_NACK_RETRY_NS   (50 * NS_PER_MSEC)
#define RECV_NACK_EXPIRE_NS  (1000 * NS_PER_MSEC)
#define RECV_NACK_MAX        512
#define RECV_PLI_INTERVAL_NS (500 * NS_PER_MSEC) /* also the wait for a first keyframe */

struct recv_opts {
	const char *listen_str;
	struct sockaddr_storage listen;
	socklen_t listen_len;
	uint16_t port;
	unsigned streams;
	double duration_s; /* 0: until a signal */
	const char *report;
	enum h26x_codec codec;
	bool nack;
	bool pli;
	bool rtcp; /* receiver reports at all (--no-rtcp clears it) */
	bool have_rtcp_to;
	struct sockaddr_storage rtcp_to; /* caasd's first device (RTP) port */
	socklen_t rtcp_to_len;
	bool have_max_loss;
	double max_loss;
	bool quiet;
};

struct recv_nack {
	uint16_t seq;
	bool retried;
	uint64_t sent_ns;
};

struct recv_stream {
	int rtp_fd;
	int rtcp_fd;
	uint32_t own_ssrc;
	char cname[96];
	bool have_rtp_src; /* where caasd sends RTP from: its device port */
	struct sockaddr_storage rtp_src;
	socklen_t rtp_src_len;
	bool have_rtcp_peer; /* where caasd sends RTCP from: its device port + 1 */
	struct sockaddr_storage rtcp_peer;
	socklen_t rtcp_peer_len;
	unsigned n_nack;
	struct recv_nack nack[RECV_NACK_MAX];
	bool pli_wanted;
	uint64_t last_pli_ns;
	struct rpt_stream acct; /* last: large */
};

/* A datagram on the stream's RTCP port (or RTCP multiplexed on its RTP port). */
void recv_rtcp_input(const struct recv_opts *o, struct recv_stream *st, const uint8_t *buf,
                     size_t len, const struct sockaddr_storage *from, socklen_t from_len,
                     uint64_t now_ns);

/* Feedback owed for one RTP packet just accounted: NACKs for a gap, PLI after a large loss. */
void recv_fb_packet(const struct recv_opts *o, struct recv_stream *st, const struct rpt_pkt *p,
                    uint64_t now_ns);

/* Timers: NACK retries and expiry, PLI while the first keyframe is missing. Often (10 ms). */
void recv_fb_poll(const struct recv_opts *o, struct recv_stream *st, uint64_t now_ns);

/* The periodic receiver report (with SDES CNAME), once a second. */
void recv_rr_send(const struct recv_opts *o, struct recv_stream *st, uint64_t now_ns);

#endif
