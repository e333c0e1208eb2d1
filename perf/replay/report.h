/* caas-replay recv: per-stream receive accounting (what one expert got) and the run's report,
 * as JSON and as a table. No sockets, no clock: arrival times are given, so it is unit-tested. */
#ifndef CAAS_REPLAY_REPORT_H
#define CAAS_REPLAY_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "latency.h"
#include "rtp/h26x.h"
#include "rtp/rtp.h"
#include "rtp/rtp_stats.h"

#define RPT_VIDEO_CLOCK 90000

/* RTCP we exchanged with caasd for one stream (written by the receiver's feedback code). */
struct rpt_rtcp {
	uint64_t received;  /* compound packets that validated */
	uint64_t malformed; /* datagrams on the RTCP port that did not */
	uint64_t sr;
	uint64_t bye;
	uint64_t rr_sent;
	uint64_t nack_sent;      /* NACK packets, first requests and retries */
	uint64_t nack_seqs;      /* sequence numbers asked for, retries included */
	uint64_t nack_recovered; /* asked-for numbers that arrived afterwards */
	uint64_t pli_sent;
	uint64_t send_errors;
};

/* One stream, as one expert receives it. Embed, set up with rpt_stream_init(). */
struct rpt_stream {
	unsigned index;
	uint16_t port;
	enum h26x_codec codec;
	uint64_t start_ns; /* when we began listening: the origin of first_*_ms */

	struct rtp_rx_stats rx;
	struct rtp_rx_snapshot snap; /* as of the last packet */
	/* Closed epochs: earlier SSRCs, and the numbering before each restart, whose figures
	 * rtp_rx_* forgets. cnt survives restarts, so past_cnt only collects earlier SSRCs. */
	uint64_t past_expected;
	int64_t past_lost;
	struct rtp_rx_counters past_cnt;

	bool have_ssrc;
	uint32_t ssrc;
	uint32_t ssrc_changes;

	uint64_t packets; /* datagrams that parsed as RTP, whatever rtp_rx made of them */
	uint64_t bytes;   /* their UDP payload bytes, RTP headers included */
	uint64_t malformed;
	uint64_t socket_drops; /* datagrams the kernel dropped at our socket (SO_RXQ_OVFL) */
	uint64_t first_ns, last_ns;

	bool have_kf;
	uint64_t first_kf_ns;
	uint32_t last_kf_ts;
	uint64_t keyframes; /* distinct RTP timestamps whose packets start a keyframe */

	uint64_t lat_missing; /* counted packets without the send-time extension */
	struct rpt_rtcp rtcp;
	struct latency lat; /* last: about 21 KB */
};

/* What rpt_packet() made of one datagram, for the feedback (NACK, PLI) that follows. */
struct rpt_pkt {
	enum rtp_rx_class cls;
	struct rtp_rx_gap gap;
	uint16_t seq;
	uint32_t ssrc;
	bool counted;      /* received: in order, reordered or a restart */
	bool keyframe;     /* starts a keyframe */
	bool ssrc_changed; /* a new source: the statistics started again */
	bool has_send_time;
	int64_t latency_ns;
};

void rpt_stream_init(struct rpt_stream *s, unsigned index, uint16_t port, enum h26x_codec codec,
                     uint64_t start_ns);

/* Account for one datagram received on the stream's RTP port at arrival_ns (CLOCK_MONOTONIC,
 * the sender's clock for the send-time extension). 0 with *out filled, or the rtp_parse()
 * error for a datagram that is not RTP (counted as malformed). */
int rpt_packet(struct rpt_stream *s, const uint8_t *buf, size_t len, uint64_t arrival_ns,
               struct rpt_pkt *out);

/* A sender report from caasd about this stream's source, for LSR/DLSR in our reports.
 * Ignored (-ESRCH) when it names another SSRC than the one we receive. */
int rpt_sr(struct rpt_stream *s, uint32_t ssrc, uint64_t ntp, uint64_t arrival_ns);

/* The kernel's cumulative drop count for the socket, from an SO_RXQ_OVFL message. */
void rpt_socket_drops(struct rpt_stream *s, uint32_t drops);

/*
 * Derived figures. A figure that was not measured is NAN, never 0: it becomes JSON null and "-"
 * in the table. Times in milliseconds.
 */
struct rpt_lat_fig {
	uint64_t samples;
	uint64_t missing;  /* counted packets without the extension */
	uint64_t negative; /* samples before their send time (clock trouble), not recorded */
	double p50, p99, p999, max, mean;
};

struct rpt_fig {
	bool received; /* at least one RTP packet */
	uint64_t packets, bytes, malformed, socket_drops;
	uint64_t expected, duplicates, reordered, late, restarts, ssrc_changes, keyframes;
	int64_t lost;
	double loss_ratio;
	double jitter_ms;     /* total: mean over the streams that received */
	double jitter_max_ms; /* total only: the worst stream */
	double first_packet_ms;
	double first_keyframe_ms; /* total: the latest stream; NAN if any stream had none */
	double bitrate_kbps;      /* total: the sum */
	struct rpt_lat_fig lat;
	struct rpt_rtcp rtcp;
};

void rpt_stream_fig(const struct rpt_stream *s, struct rpt_fig *f);

/* Sum over streams; lat receives the merged histogram (it is large, so the caller provides it). */
void rpt_total_fig(const struct rpt_stream *const *s, unsigned n, struct latency *lat,
                   struct rpt_fig *f);

/* The run as a whole. */
struct rpt_run {
	const struct rpt_stream *const *streams;
	unsigned n;
	double duration_s;       /* measured */
	double planned_s;        /* --duration; 0 when the run had no limit */
	const char *stop_signal; /* "SIGINT"... when a signal ended the run early, else NULL */
	enum h26x_codec codec;
	const char *listen; /* IP:PORT, as given */
};

/* Why a run's measurements are incomplete: one line per kind of gap, naming the streams. */
#define RPT_MAX_REASONS 16
#define RPT_REASON_LEN  256

struct rpt_reasons {
	unsigned n;
	char text[RPT_MAX_REASONS][RPT_REASON_LEN];
};

void rpt_reasons(const struct rpt_run *run, struct rpt_reasons *r);

/* The JSON report: {"duration_s", "streams": [...], "total": {...}, "complete",
 * "incomplete_reasons": [...]}. NULL on allocation failure. */
json_t *rpt_json(const struct rpt_run *run);

/* The human summary: one row a stream, the total, then what is missing. */
void rpt_print(FILE *f, const struct rpt_run *run);

#endif
