/* caas-replay recv: per-stream receive accounting on the project's RTP library, the figures
 * derived from it, and the report (JSON, table, and why a run is incomplete). */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "replay.h"
#include "rtp/bytes.h"
#include "rtp/rtcp.h"

#define NS_PER_MS 1e6
#define NS_PER_S  1e9

/* A new source starts counting at its first packet: nothing of it is lost to probation. */
static const struct rtp_rx_cfg rx_cfg = {
    .min_sequential = 1,
    .max_dropout = RTP_RX_DEF_MAX_DROPOUT,
    .max_misorder = RTP_RX_DEF_MAX_MISORDER,
    .max_gap_report = RTP_RX_DEF_MAX_GAP,
};

void rpt_stream_init(struct rpt_stream *s, unsigned index, uint16_t port, enum h26x_codec codec,
                     uint64_t start_ns)
{
	memset(s, 0, sizeof(*s));
	s->index = index;
	s->port = port;
	s->codec = codec;
	s->start_ns = start_ns;
	rtp_rx_init(&s->rx, &rx_cfg);
	lat_init(&s->lat);
}

static void add_counters(struct rtp_rx_counters *a, const struct rtp_rx_counters *b)
{
	a->packets += b->packets;
	a->received += b->received;
	a->reordered += b->reordered;
	a->duplicates += b->duplicates;
	a->late += b->late;
	a->bad += b->bad;
	a->restarts += b->restarts;
	a->probation += b->probation;
}

/* Close the current epoch's loss figures into the past ones before rtp_rx forgets them. */
static void close_epoch(struct rpt_stream *s)
{
	s->past_expected += s->snap.expected;
	s->past_lost += s->snap.lost;
}

static void new_source(struct rpt_stream *s, uint32_t ssrc)
{
	close_epoch(s);
	add_counters(&s->past_cnt, &s->snap.cnt);
	rtp_rx_init(&s->rx, &rx_cfg);
	memset(&s->snap, 0, sizeof(s->snap));
	s->ssrc = ssrc;
	s->ssrc_changes++;
}

static void account_keyframe(struct rpt_stream *s, const struct rtp_hdr *h, uint64_t arrival_ns,
                             struct rpt_pkt *out)
{
	struct h26x_scan sc;

	h26x_scan_payload(s->codec, h->payload, h->payload_len, &sc);
	if (!sc.keyframe)
		return;
	out->keyframe = true;
	/* A keyframe spans many packets, and several slices may each start one. */
	if (!s->have_kf || h->ts != s->last_kf_ts)
		s->keyframes++;
	if (!s->have_kf)
		s->first_kf_ns = arrival_ns;
	s->have_kf = true;
	s->last_kf_ts = h->ts;
}

static void account_latency(struct rpt_stream *s, const struct rtp_hdr *h, uint64_t arrival_ns,
                            struct rpt_pkt *out)
{
	struct rtp_ext_elem e;

	if (rtp_ext_find(h, REPLAY_EXT_ID, &e) < 0 || e.len != REPLAY_EXT_LEN) {
		s->lat_missing++;
		return;
	}
	out->has_send_time = true;
	out->latency_ns = (int64_t)(arrival_ns - rd_be64(e.data));
	lat_record(&s->lat, out->latency_ns);
}

int rpt_packet(struct rpt_stream *s, const uint8_t *buf, size_t len, uint64_t arrival_ns,
               struct rpt_pkt *out)
{
	struct rtp_hdr h;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = rtp_parse(buf, len, &h);
	if (rc < 0) {
		s->malformed++;
		return rc;
	}
	if (!s->packets)
		s->first_ns = arrival_ns;
	if (arrival_ns > s->last_ns)
		s->last_ns = arrival_ns;
	s->packets++;
	s->bytes += len;
	out->seq = h.seq;
	out->ssrc = h.ssrc;

	if (!s->have_ssrc) {
		s->have_ssrc = true;
		s->ssrc = h.ssrc;
	} else if (h.ssrc != s->ssrc) {
		new_source(s, h.ssrc);
		out->ssrc_changed = true;
	}

	uint32_t arrival = (uint32_t)rtp_ns_to_clock(arrival_ns, RPT_VIDEO_CLOCK);
	out->cls = rtp_rx_update(&s->rx, h.seq, h.ts, arrival, &out->gap);
	if (out->cls == RTP_RX_RESTART)
		close_epoch(s); /* s->snap still holds the numbering that just ended */
	rtp_rx_snapshot(&s->rx, &s->snap);

	out->counted = out->cls == RTP_RX_IN_ORDER || out->cls == RTP_RX_REORDERED ||
	               out->cls == RTP_RX_RESTART;
	if (!out->counted)
		return 0; /* a copy or a stray says nothing new about latency or keyframes */
	account_latency(s, &h, arrival_ns, out);
	account_keyframe(s, &h, arrival_ns, out);
	return 0;
}

int rpt_sr(struct rpt_stream *s, uint32_t ssrc, uint64_t ntp, uint64_t arrival_ns)
{
	s->rtcp.sr++;
	if (s->have_ssrc && ssrc != s->ssrc)
		return -ESRCH;
	rtp_rx_sr(&s->rx, rtcp_ntp_mid32(ntp), arrival_ns);
	return 0;
}

void rpt_socket_drops(struct rpt_stream *s, uint32_t drops)
{
	/* The counter is the socket's, cumulative, and 32 bits: keep the largest seen. */
	if (drops > s->socket_drops)
		s->socket_drops = drops;
}

/* --- figures -------------------------------------------------------------------------------- */

static void lat_fig(const struct latency *l, uint64_t missing, struct rpt_lat_fig *f)
{
	f->samples = l->count;
	f->missing = missing;
	f->negative = l->negative;
	if (!l->count) {
		f->p50 = f->p99 = f->p999 = f->max = f->mean = NAN;
		return;
	}
	f->p50 = (double)lat_quantile(l, 0.50) / NS_PER_MS;
	f->p99 = (double)lat_quantile(l, 0.99) / NS_PER_MS;
	f->p999 = (double)lat_quantile(l, 0.999) / NS_PER_MS;
	f->max = (double)l->max_ns / NS_PER_MS;
	f->mean = (double)(l->sum_ns / l->count) / NS_PER_MS;
}

static double since_ms(uint64_t t, uint64_t origin)
{
	return t > origin ? (double)(t - origin) / NS_PER_MS : 0.0;
}

void rpt_stream_fig(const struct rpt_stream *s, struct rpt_fig *f)
{
	struct rtp_rx_counters c = s->past_cnt;

	memset(f, 0, sizeof(*f));
	add_counters(&c, &s->snap.cnt);
	f->received = s->packets > 0;
	f->packets = s->packets;
	f->bytes = s->bytes;
	f->malformed = s->malformed;
	f->socket_drops = s->socket_drops;
	f->duplicates = c.duplicates;
	f->reordered = c.reordered;
	f->late = c.late;
	f->restarts = c.restarts;
	f->ssrc_changes = s->ssrc_changes;
	f->keyframes = s->keyframes;
	f->expected = s->past_expected + s->snap.expected;
	f->lost = s->past_lost + s->snap.lost;
	f->loss_ratio = f->expected ? (double)f->lost / (double)f->expected : NAN;
	f->jitter_ms = s->snap.valid ? s->snap.jitter * 1000.0 / RPT_VIDEO_CLOCK : NAN;
	f->jitter_max_ms = f->jitter_ms;
	f->first_packet_ms = f->received ? since_ms(s->first_ns, s->start_ns) : NAN;
	f->first_keyframe_ms = s->have_kf ? since_ms(s->first_kf_ns, s->start_ns) : NAN;
	f->bitrate_kbps = NAN;
	if (s->packets >= 2 && s->last_ns > s->first_ns)
		f->bitrate_kbps =
		    (double)s->bytes * 8 / ((double)(s->last_ns - s->first_ns) / NS_PER_S) / 1000;
	lat_fig(&s->lat, s->lat_missing, &f->lat);
	f->rtcp = s->rtcp;
}

static void add_rtcp(struct rpt_rtcp *a, const struct rpt_rtcp *b)
{
	a->received += b->received;
	a->malformed += b->malformed;
	a->sr += b->sr;
	a->bye += b->bye;
	a->rr_sent += b->rr_sent;
	a->nack_sent += b->nack_sent;
	a->nack_seqs += b->nack_seqs;
	a->nack_recovered += b->nack_recovered;
	a->pli_sent += b->pli_sent;
	a->send_errors += b->send_errors;
}

/* NAN-aware helpers: the total of a figure some streams lack is computed from those that have
 * it, except where noted. */
static double nan_max(double a, double b)
{
	if (isnan(a))
		return b;
	return isnan(b) || a > b ? a : b;
}

void rpt_total_fig(const struct rpt_stream *const *s, unsigned n, struct latency *lat,
                   struct rpt_fig *f)
{
	unsigned rx = 0, with_kf = 0, with_jitter = 0;
	double jitter_sum = 0;
	uint64_t missing = 0;

	memset(f, 0, sizeof(*f));
	lat_init(lat);
	f->first_packet_ms = f->first_keyframe_ms = f->bitrate_kbps = NAN;
	f->jitter_max_ms = NAN;
	for (unsigned i = 0; i < n; i++) {
		struct rpt_fig g;

		rpt_stream_fig(s[i], &g);
		f->packets += g.packets;
		f->bytes += g.bytes;
		f->malformed += g.malformed;
		f->socket_drops += g.socket_drops;
		f->expected += g.expected;
		f->lost += g.lost;
		f->duplicates += g.duplicates;
		f->reordered += g.reordered;
		f->late += g.late;
		f->restarts += g.restarts;
		f->ssrc_changes += g.ssrc_changes;
		f->keyframes += g.keyframes;
		missing += g.lat.missing;
		add_rtcp(&f->rtcp, &g.rtcp);
		lat_merge(lat, &s[i]->lat);
		if (g.received)
			rx++;
		if (!isnan(g.jitter_ms)) {
			jitter_sum += g.jitter_ms;
			with_jitter++;
		}
		f->jitter_max_ms = nan_max(f->jitter_max_ms, g.jitter_ms);
		f->first_packet_ms = nan_max(f->first_packet_ms, g.first_packet_ms);
		if (!isnan(g.first_keyframe_ms))
			with_kf++;
		f->first_keyframe_ms = nan_max(f->first_keyframe_ms, g.first_keyframe_ms);
		if (!isnan(g.bitrate_kbps))
			f->bitrate_kbps =
			    (isnan(f->bitrate_kbps) ? 0 : f->bitrate_kbps) + g.bitrate_kbps;
	}
	f->received = n && rx == n;
	f->loss_ratio = f->expected ? (double)f->lost / (double)f->expected : NAN;
	f->jitter_ms = with_jitter ? jitter_sum / with_jitter : NAN;
	/* "Every stream was up after X ms" is only true when every stream came up. */
	if (rx < n)
		f->first_packet_ms = NAN;
	if (with_kf < n)
		f->first_keyframe_ms = NAN;
	lat_fig(lat, missing, &f->lat);
}

/* --- why a run is incomplete ---------------------------------------------------------------- */

typedef bool (*stream_pred)(const struct rpt_stream *s);

static bool got_nothing(const struct rpt_stream *s)
{
	return !s->packets;
}
static bool no_keyframe(const struct rpt_stream *s)
{
	return s->packets && !s->have_kf;
}
static bool no_send_time(const struct rpt_stream *s)
{
	return s->packets && !s->lat.count;
}
static bool some_send_time(const struct rpt_stream *s)
{
	return s->lat.count && s->lat_missing;
}
static bool negative_latency(const struct rpt_stream *s)
{
	return s->lat.negative;
}
static bool socket_dropped(const struct rpt_stream *s)
{
	return s->socket_drops;
}
static bool restarted(const struct rpt_stream *s)
{
	return s->past_cnt.restarts + s->snap.cnt.restarts;
}
static bool ssrc_changed(const struct rpt_stream *s)
{
	return s->ssrc_changes;
}

/* Who matches, as "stream 3" or "streams 0, 3, 5, ...": the first few by index. */
static unsigned which(const struct rpt_run *run, stream_pred pred, char *buf, size_t cap)
{
	unsigned k = 0, listed = 0;
	size_t off = 0;
	char ids[96];

	ids[0] = 0;
	for (unsigned i = 0; i < run->n; i++) {
		if (!pred(run->streams[i]))
			continue;
		k++;
		if (listed < 12 && off < sizeof(ids)) {
			int w = snprintf(ids + off, sizeof(ids) - off, "%s%u", listed ? ", " : "",
			                 run->streams[i]->index);
			off += w > 0 ? (size_t)w : 0;
			listed++;
		}
	}
	snprintf(buf, cap, "%s %s%s", k == 1 ? "stream" : "streams", ids,
	         k > listed ? ", ..." : "");
	return k;
}

static void __attribute__((format(printf, 2, 3)))
reason(struct rpt_reasons *r, const char *fmt, ...)
{
	va_list ap;

	if (r->n >= RPT_MAX_REASONS)
		return;
	va_start(ap, fmt);
	vsnprintf(r->text[r->n++], RPT_REASON_LEN, fmt, ap);
	va_end(ap);
}

static uint64_t sum_of(const struct rpt_run *run, stream_pred pred, size_t off)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < run->n; i++)
		if (pred(run->streams[i]))
			sum += *(const uint64_t *)((const char *)run->streams[i] + off);
	return sum;
}

void rpt_reasons(const struct rpt_run *run, struct rpt_reasons *r)
{
	const char *why;
	char who[128];
	unsigned k, n = run->n;

	memset(r, 0, sizeof(*r));
	if (!n)
		reason(r, "no streams");
	if (run->stop_signal && run->planned_s > 0)
		reason(r, "ended by %s after %.1f s of %.1f s", run->stop_signal, run->duration_s,
		       run->planned_s);
	if ((k = which(run, got_nothing, who, sizeof(who))))
		reason(r, "%u of %u streams received nothing (%s): their figures are null", k, n,
		       who);
	if ((k = which(run, no_send_time, who, sizeof(who))))
		reason(
		    r,
		    "no packet carried the send-time extension (RTP header extension %d) on %u of "
		    "%u streams (%s): latency not measured",
		    REPLAY_EXT_ID, k, n, who);
	if ((k = which(run, some_send_time, who, sizeof(who)))) {
		why = "latency covers only the packets that had it";
		reason(r,
		       "%llu packets lacked the send-time extension on %u of %u streams (%s): %s",
		       (unsigned long long)sum_of(run, some_send_time,
		                                  offsetof(struct rpt_stream, lat_missing)),
		       k, n, who, why);
	}
	if ((k = which(run, negative_latency, who, sizeof(who)))) {
		why = "the clocks differ; those samples are left out";
		reason(r,
		       "%llu packets arrived before their send time on %u of %u streams (%s): %s",
		       (unsigned long long)sum_of(run, negative_latency,
		                                  offsetof(struct rpt_stream, lat.negative)),
		       k, n, who, why);
	}
	if ((k = which(run, no_keyframe, who, sizeof(who))))
		reason(r, "no keyframe arrived on %u of %u streams (%s): first_keyframe_ms is null",
		       k, n, who);
	if ((k = which(run, socket_dropped, who, sizeof(who)))) {
		why = "part of the loss is this receiver's, not the appliance's";
		reason(r, "our sockets dropped %llu datagrams on %u of %u streams (%s): %s",
		       (unsigned long long)sum_of(run, socket_dropped,
		                                  offsetof(struct rpt_stream, socket_drops)),
		       k, n, who, why);
	}
	if ((k = which(run, restarted, who, sizeof(who))))
		reason(r,
		       "sequence numbers jumped and restarted on %u of %u streams (%s): packets "
		       "lost across a restart are not counted",
		       k, n, who);
	if ((k = which(run, ssrc_changed, who, sizeof(who))))
		reason(r,
		       "the SSRC changed on %u of %u streams (%s): packets lost across a change "
		       "are not counted",
		       k, n, who);
}

/* --- JSON ----------------------------------------------------------------------------------- */

/* A measured figure, or null. Rounded to microseconds / 1e-6: more digits are noise. */
static json_t *jnum(double v)
{
	if (isnan(v) || isinf(v))
		return json_null();
	return json_real(round(v * 1e6) / 1e6);
}

static json_t *jint(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static json_t *lat_json(const struct rpt_lat_fig *l)
{
	if (!l->samples)
		return json_null();
	return json_pack("{s:o, s:o, s:o, s:o, s:o}", "p50", jnum(l->p50), "p99", jnum(l->p99),
	                 "p999", jnum(l->p999), "max", jnum(l->max), "mean", jnum(l->mean));
}

static json_t *rtcp_json(const struct rpt_rtcp *c)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "received",
	                 jint(c->received), "malformed", jint(c->malformed), "sr_received",
	                 jint(c->sr), "bye_received", jint(c->bye), "rr_sent", jint(c->rr_sent),
	                 "nack_sent", jint(c->nack_sent), "nack_seqs", jint(c->nack_seqs),
	                 "nack_recovered", jint(c->nack_recovered), "pli_sent", jint(c->pli_sent),
	                 "send_errors", jint(c->send_errors));
}

/* The fields a stream and the total share. Loss figures are null where nothing arrived: 0 lost
 * of 0 expected is not a measurement. */
static int fig_json(json_t *o, const struct rpt_fig *f)
{
	bool rx = f->expected > 0;
	int rc = 0;

	rc |= json_object_set_new(o, "received", json_boolean(f->received));
	rc |= json_object_set_new(o, "packets", jint(f->packets));
	rc |= json_object_set_new(o, "bytes", jint(f->bytes));
	rc |= json_object_set_new(o, "expected", rx ? jint(f->expected) : json_null());
	rc |= json_object_set_new(o, "lost", rx ? json_integer(f->lost) : json_null());
	rc |= json_object_set_new(o, "loss_ratio", jnum(f->loss_ratio));
	rc |= json_object_set_new(o, "duplicates", jint(f->duplicates));
	rc |= json_object_set_new(o, "reordered", jint(f->reordered));
	rc |= json_object_set_new(o, "late", jint(f->late));
	rc |= json_object_set_new(o, "restarts", jint(f->restarts));
	rc |= json_object_set_new(o, "ssrc_changes", jint(f->ssrc_changes));
	rc |= json_object_set_new(o, "malformed", jint(f->malformed));
	rc |= json_object_set_new(o, "socket_drops", jint(f->socket_drops));
	rc |= json_object_set_new(o, "jitter_ms", jnum(f->jitter_ms));
	rc |= json_object_set_new(o, "latency_ms", lat_json(&f->lat));
	rc |= json_object_set_new(o, "latency_samples", jint(f->lat.samples));
	rc |= json_object_set_new(o, "latency_missing", jint(f->lat.missing));
	rc |= json_object_set_new(o, "latency_negative", jint(f->lat.negative));
	rc |= json_object_set_new(o, "first_packet_ms", jnum(f->first_packet_ms));
	rc |= json_object_set_new(o, "first_keyframe_ms", jnum(f->first_keyframe_ms));
	rc |= json_object_set_new(o, "keyframes", jint(f->keyframes));
	rc |= json_object_set_new(o, "bitrate_kbps", jnum(f->bitrate_kbps));
	rc |= json_object_set_new(o, "rtcp", rtcp_json(&f->rtcp));
	return rc ? -ENOMEM : 0;
}

static json_t *stream_json(const struct rpt_stream *s)
{
	struct rpt_fig f;
	json_t *o = json_object();

	if (!o)
		return NULL;
	rpt_stream_fig(s, &f);
	if (json_object_set_new(o, "stream", json_integer(s->index)) ||
	    json_object_set_new(o, "port", json_integer(s->port)) ||
	    json_object_set_new(o, "ssrc", s->have_ssrc ? json_integer(s->ssrc) : json_null()) ||
	    fig_json(o, &f)) {
		json_decref(o);
		return NULL;
	}
	/* The first keyframe's arrival on the wall clock (Unix seconds), so that a test can time
	 * it from an event of its own, such as a subscription resumed. */
	if (s->have_kf) {
		struct timespec mo, rt;
		clock_gettime(CLOCK_MONOTONIC, &mo);
		clock_gettime(CLOCK_REALTIME, &rt);
		double ago =
		    ((double)mo.tv_sec * 1e9 + (double)mo.tv_nsec - (double)s->first_kf_ns) / 1e9;
		json_object_set_new(o, "first_keyframe_unix_s",
		                    jnum((double)rt.tv_sec + (double)rt.tv_nsec / 1e9 - ago));
	}
	return o;
}

json_t *rpt_json(const struct rpt_run *run)
{
	struct latency *lat = malloc(sizeof(*lat));
	struct rpt_reasons *r = malloc(sizeof(*r));
	json_t *root = json_object(), *streams = json_array(), *total = json_object();
	json_t *reasons = json_array();
	struct rpt_fig f;
	unsigned rx = 0;
	int rc = 0;

	if (!lat || !r || !root || !streams || !total || !reasons)
		goto fail;
	for (unsigned i = 0; i < run->n; i++)
		rc |= json_array_append_new(streams, stream_json(run->streams[i]));
	rpt_total_fig(run->streams, run->n, lat, &f);
	rc |= fig_json(total, &f);
	for (unsigned i = 0; i < run->n; i++)
		rx += run->streams[i]->packets > 0;
	rc |= json_object_set_new(total, "stream_count", json_integer(run->n));
	rc |= json_object_set_new(total, "streams_received", json_integer(rx));
	rc |= json_object_set_new(total, "jitter_max_ms", jnum(f.jitter_max_ms));
	rpt_reasons(run, r);
	for (unsigned i = 0; i < r->n; i++)
		rc |= json_array_append_new(reasons, json_string(r->text[i]));

	rc |= json_object_set_new(root, "tool", json_string("caas-replay recv"));
	rc |= json_object_set_new(root, "listen", json_string(run->listen ? run->listen : ""));
	rc |= json_object_set_new(root, "codec",
	                          json_string(run->codec == H26X_H265 ? "h265" : "h264"));
	rc |= json_object_set_new(root, "duration_s", jnum(run->duration_s));
	rc |= json_object_set_new(root, "planned_duration_s",
	                          run->planned_s > 0 ? jnum(run->planned_s) : json_null());
	rc |= json_object_set_new(root, "streams", streams);
	rc |= json_object_set_new(root, "total", total);
	rc |= json_object_set_new(root, "complete", json_boolean(r->n == 0));
	rc |= json_object_set_new(root, "incomplete_reasons", reasons);
	free(lat);
	free(r);
	if (rc) {
		json_decref(root);
		return NULL;
	}
	return root;
fail:
	free(lat);
	free(r);
	json_decref(root);
	json_decref(streams);
	json_decref(total);
	json_decref(reasons);
	return NULL;
}

/* --- table ---------------------------------------------------------------------------------- */

/* A figure in a fixed width, "-" when it was not measured. */
static const char *cell(char *buf, size_t cap, double v, int prec)
{
	if (isnan(v))
		snprintf(buf, cap, "-");
	else
		snprintf(buf, cap, "%.*f", prec, v);
	return buf;
}

static void print_row(FILE *f, const char *name, const char *port, const struct rpt_fig *g)
{
	char b[11][32];
	char lost[32];

	if (g->expected)
		snprintf(lost, sizeof(lost), "%lld", (long long)g->lost);
	else
		snprintf(lost, sizeof(lost), "-");
	fprintf(f, "%-6s %5s %9llu %7s %7s %6llu %6llu %7s %8s %8s %8s %8s %8s %8s %9s\n", name,
	        port, (unsigned long long)g->packets, lost,
	        cell(b[0], sizeof(b[0]), g->loss_ratio * 100, 3), (unsigned long long)g->duplicates,
	        (unsigned long long)g->reordered, cell(b[1], sizeof(b[1]), g->jitter_ms, 2),
	        cell(b[2], sizeof(b[2]), g->lat.p50, 2), cell(b[3], sizeof(b[3]), g->lat.p99, 2),
	        cell(b[4], sizeof(b[4]), g->lat.p999, 2), cell(b[5], sizeof(b[5]), g->lat.max, 2),
	        cell(b[6], sizeof(b[6]), g->first_packet_ms, 1),
	        cell(b[7], sizeof(b[7]), g->first_keyframe_ms, 1),
	        cell(b[8], sizeof(b[8]), g->bitrate_kbps, 1));
}

void rpt_print(FILE *f, const struct rpt_run *run)
{
	struct latency *lat = malloc(sizeof(*lat));
	struct rpt_reasons *r = malloc(sizeof(*r));
	struct rpt_fig g;
	char port[16];

	if (!lat || !r) {
		fprintf(f, "caas-replay recv: out of memory for the summary\n");
		goto out;
	}
	fprintf(f, "%-6s %5s %9s %7s %7s %6s %6s %7s %8s %8s %8s %8s %8s %8s %9s\n", "stream",
	        "port", "packets", "lost", "loss%", "dup", "reord", "jit ms", "p50 ms", "p99 ms",
	        "p999 ms", "max ms", "1st pkt", "1st key", "kbit/s");
	for (unsigned i = 0; i < run->n; i++) {
		char name[16];

		rpt_stream_fig(run->streams[i], &g);
		snprintf(name, sizeof(name), "%u", run->streams[i]->index);
		snprintf(port, sizeof(port), "%u", run->streams[i]->port);
		print_row(f, name, port, &g);
	}
	rpt_total_fig(run->streams, run->n, lat, &g);
	print_row(f, "total", "", &g);
	fprintf(f,
	        "%.1f s; first pkt / 1st key: ms from listening; total: the slowest stream, "
	        "jitter: the mean\n",
	        run->duration_s);
	rpt_reasons(run, r);
	if (!r->n)
		fprintf(f, "complete: every figure was measured\n");
	for (unsigned i = 0; i < r->n; i++)
		fprintf(f, "incomplete: %s\n", r->text[i]);
out:
	free(lat);
	free(r);
}
