/* caas-replay send: what a run did, as JSON (--report), as one summary line and as the live
 * progress line. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <string.h>

#include "send.h"

#define ADD(f) t->f += c->f

void snd_totals(const struct snd_ctx *cx, struct snd_counters *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < cx->n; i++) {
		const struct snd_counters *c = &cx->st[i].c;
		ADD(produced);
		ADD(packets_sent);
		ADD(bytes_sent);
		ADD(payload_bytes);
		ADD(dropped);
		ADD(rtx_dropped);
		ADD(duplicated);
		ADD(reordered);
		ADD(nacks);
		ADD(nack_seqs);
		ADD(retransmitted);
		ADD(rtx_misses);
		ADD(plis);
		ADD(firs);
		ADD(keyframes);
		ADD(keyframes_forced);
		ADD(loops);
		ADD(sr_sent);
		ADD(rtcp_received);
		ADD(rtcp_malformed);
		ADD(send_errors);
		ADD(unstamped);
	}
}

static double secs(uint64_t ns)
{
	return (double)ns / SND_NS_PER_SEC;
}

static double tv_secs(const struct timeval *a, const struct timeval *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_usec - a->tv_usec) / 1e6;
}

static double cpu_user(const struct snd_ctx *cx)
{
	return tv_secs(&cx->ru0.ru_utime, &cx->ru1.ru_utime);
}

static double cpu_sys(const struct snd_ctx *cx)
{
	return tv_secs(&cx->ru0.ru_stime, &cx->ru1.ru_stime);
}

/* The time packets were going out: the rate is packets over that, not over the lingering. */
static double sending_s(const struct snd_ctx *cx)
{
	return cx->last_send_ns > cx->first_send_ns ? secs(cx->last_send_ns - cx->first_send_ns)
	                                            : 0;
}

static double duration_s(const struct snd_ctx *cx)
{
	return cx->end_ns > cx->t0_ns ? secs(cx->end_ns - cx->t0_ns) : 0;
}

static json_t *jint(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static json_t *jnum(double v)
{
	return v == v ? json_real(v) : json_null();
}

static int set(json_t *o, const char *k, json_t *v)
{
	return json_object_set_new(o, k, v);
}

static void counters_json(json_t *o, const struct snd_counters *c)
{
	set(o, "packets_produced", jint(c->produced));
	set(o, "packets_sent", jint(c->packets_sent));
	set(o, "bytes_sent", jint(c->bytes_sent));
	set(o, "dropped_by_impairment", jint(c->dropped));
	set(o, "retransmits_dropped", jint(c->rtx_dropped));
	set(o, "duplicated", jint(c->duplicated));
	set(o, "reordered", jint(c->reordered));
	set(o, "nacks_received", jint(c->nacks));
	set(o, "nack_seqs", jint(c->nack_seqs));
	set(o, "retransmitted", jint(c->retransmitted));
	set(o, "retransmit_misses", jint(c->rtx_misses));
	set(o, "plis", jint(c->plis));
	set(o, "firs", jint(c->firs));
	set(o, "keyframes_sent", jint(c->keyframes));
	set(o, "keyframes_forced", jint(c->keyframes_forced));
	set(o, "loops", jint(c->loops));
	set(o, "sr_sent", jint(c->sr_sent));
	set(o, "rtcp_received", jint(c->rtcp_received));
	set(o, "rtcp_malformed", jint(c->rtcp_malformed));
	set(o, "send_errors", jint(c->send_errors));
	set(o, "unstamped", jint(c->unstamped));
}

static json_t *stream_json(const struct snd_ctx *cx, const struct snd_stream *s)
{
	json_t *o = json_object();
	char hex[16];
	if (!o)
		return NULL;
	snprintf(hex, sizeof(hex), "0x%08x", s->ssrc);
	set(o, "index", jint(s->idx));
	set(o, "ssrc", jint(s->ssrc));
	set(o, "ssrc_hex", json_string(hex));
	set(o, "port", jint(s->dport));
	set(o, "rtcp_port", jint(s->dport + 1u));
	set(o, "src_port", jint(s->sport));
	set(o, "cname", json_string(s->cname));
	set(o, "start_ms", jnum((double)(s->start_ns - cx->t0_ns) / SND_NS_PER_MS));
	if (cx->src->kind == SND_SRC_PCAP) {
		set(o, "flow", json_string(s->flow->desc));
		set(o, "codec", s->flow->codec ? json_string(s->flow->codec) : json_null());
		set(o, "capture_gaps", jint(s->flow->capture_gaps));
		set(o, "capture_duplicates", jint(s->flow->capture_dups));
	}
	counters_json(o, &s->c);
	if (s->have_rr) {
		json_t *rr = json_object();
		set(rr, "fraction_lost", jnum(s->rr_fraction / 256.0));
		set(rr, "cumulative_lost", json_integer(s->rr_lost));
		set(rr, "jitter_ms", jnum((double)s->rr_jitter * 1000 / s->flow->clock));
		set(rr, "rtt_ms", s->rtt_us >= 0 ? jnum((double)s->rtt_us / 1000) : json_null());
		set(o, "receiver_report", rr);
	} else {
		set(o, "receiver_report", json_null());
	}
	return o;
}

json_t *snd_report_json(const struct snd_ctx *cx)
{
	const struct snd_opts *o = cx->o;
	const struct impair_cfg *ic = &o->impair;
	struct snd_counters t;
	json_t *r = json_object(), *opt = json_object(), *im = json_object(), *cpu = json_object(),
	       *tot = json_object(), *st = json_array();
	if (!r || !opt || !im || !cpu || !tot || !st) {
		json_decref(r);
		json_decref(opt);
		json_decref(im);
		json_decref(cpu);
		json_decref(tot);
		json_decref(st);
		return NULL;
	}
	snd_totals(cx, &t);
	double send_s = sending_s(cx), dur = duration_s(cx);

	set(r, "command", json_string("send"));
	set(r, "input", json_string(o->input));
	set(r, "input_kind", json_string(cx->src->kind == SND_SRC_MEDIA ? "media" : "pcap"));
	set(r, "source", json_string(cx->src->desc));
	set(r, "codec", cx->src->codec ? json_string(cx->src->codec) : json_null());
	set(r, "to", json_string(o->to_str));

	set(opt, "streams", jint(cx->n));
	set(opt, "duration_s", o->duration_s > 0 ? jnum(o->duration_s) : json_null());
	set(opt, "pt", o->pt_set || cx->src->kind == SND_SRC_MEDIA ? jint(o->pt) : json_null());
	set(opt, "mtu", jint(o->mtu));
	set(opt, "seed", jint(o->seed));
	set(opt, "speed", jnum(o->speed));
	set(opt, "rate_scale", jnum(o->rate_scale));
	set(opt, "stagger_ms", jnum((double)cx->stagger_ns / SND_NS_PER_MS));
	set(opt, "extension", json_boolean(o->ext));
	set(r, "options", opt);

	set(im, "profile", o->profile ? json_string(o->profile) : json_null());
	set(im, "loss", jnum(ic->loss));
	set(im, "burst", jnum(ic->burst));
	set(im, "jitter_ms", jnum(ic->jitter_ms));
	set(im, "reorder", jnum(ic->reorder));
	set(im, "duplicate", jnum(ic->duplicate));
	set(im, "delay_ms", jnum(ic->delay_ms));
	set(im, "retransmissions", json_string("impaired like first transmissions"));
	set(r, "impairment", im);

	set(r, "duration_s", jnum(dur));
	set(r, "sending_s", jnum(send_s));
	set(r, "stop_signal", cx->stop_signal ? json_string(cx->stop_signal) : json_null());
	set(r, "packets_per_s", jnum(send_s > 0 ? (double)t.packets_sent / send_s : 0));
	set(r, "bits_per_s", jnum(send_s > 0 ? (double)t.bytes_sent * 8 / send_s : 0));
	set(cpu, "user", jnum(cpu_user(cx)));
	set(cpu, "system", jnum(cpu_sys(cx)));
	set(cpu, "total", jnum(cpu_user(cx) + cpu_sys(cx)));
	set(r, "cpu_s", cpu);
	set(r, "cpu_pct", jnum(dur > 0 ? 100 * (cpu_user(cx) + cpu_sys(cx)) / dur : 0));

	json_t *pace = json_object();
	set(pace, "late_mean_us",
	    jnum(t.packets_sent ? (double)cx->late_sum_ns / (double)t.packets_sent / 1e3 : 0));
	set(pace, "late_max_us", jnum((double)cx->late_max_ns / 1e3));
	set(pace, "late_over_1ms", jint(cx->late_over_1ms));
	set(pace, "sendmmsg_calls", jint(cx->sendmmsg_calls));
	set(pace, "packets_per_call",
	    jnum(cx->sendmmsg_calls ? (double)t.packets_sent / (double)cx->sendmmsg_calls : 0));
	set(pace, "wakeups", jint(cx->wakeups));
	set(r, "pacing", pace);

	counters_json(tot, &t);
	set(r, "total", tot);
	for (unsigned i = 0; i < cx->n; i++)
		json_array_append_new(st, stream_json(cx, &cx->st[i]));
	set(r, "streams", st);
	return r;
}

void snd_summary(FILE *f, const struct snd_ctx *cx)
{
	struct snd_counters t;
	snd_totals(cx, &t);
	double send_s = sending_s(cx), dur = duration_s(cx), cpu = cpu_user(cx) + cpu_sys(cx);
	fprintf(f,
	        "caas-replay send: %u stream%s, %.1f s%s: %" PRIu64 " packets sent (%.0f pkt/s, "
	        "%.2f Mbit/s), %" PRIu64 " dropped, %" PRIu64 " duplicated, %" PRIu64
	        " reordered; NACKs %" PRIu64 " for %" PRIu64 " packets: %" PRIu64
	        " retransmitted, %" PRIu64 " lost again, %" PRIu64 " misses; PLI %" PRIu64
	        ", FIR %" PRIu64 ", keyframes %" PRIu64 " (%" PRIu64
	        " forced); CPU %.2f s (%.1f%% of a core)\n",
	        cx->n, cx->n == 1 ? "" : "s", dur, cx->stop_signal ? " (stopped)" : "",
	        t.packets_sent, send_s > 0 ? (double)t.packets_sent / send_s : 0,
	        send_s > 0 ? (double)t.bytes_sent * 8 / send_s / 1e6 : 0, t.dropped, t.duplicated,
	        t.reordered, t.nacks, t.nack_seqs, t.retransmitted, t.rtx_dropped, t.rtx_misses,
	        t.plis, t.firs, t.keyframes, t.keyframes_forced, cpu,
	        dur > 0 ? 100 * cpu / dur : 0);
}

void snd_progress(FILE *f, const struct snd_ctx *cx, uint64_t now_ns)
{
	static uint64_t prev_ns, prev_pkts, prev_bytes;
	struct snd_counters t;
	unsigned live = 0;
	snd_totals(cx, &t);
	for (unsigned i = 0; i < cx->n; i++)
		live += cx->st[i].state == SND_PRODUCING;
	double dt = prev_ns ? secs(now_ns - prev_ns) : secs(now_ns - cx->t0_ns);
	if (dt <= 0)
		dt = 1;
	fprintf(f,
	        "\r\033[K%5.0f s  %u/%u streams  %" PRIu64 " pkts  %.0f pkt/s  %.2f Mbit/s  "
	        "dropped %" PRIu64 "  NACKed %" PRIu64 "  rtx %" PRIu64 "  PLI %" PRIu64,
	        secs(now_ns - cx->t0_ns), live, cx->n, t.packets_sent,
	        (double)(t.packets_sent - prev_pkts) / dt,
	        (double)(t.bytes_sent - prev_bytes) * 8 / dt / 1e6, t.dropped, t.nack_seqs,
	        t.retransmitted, t.plis);
	fflush(f);
	prev_ns = now_ns;
	prev_pkts = t.packets_sent;
	prev_bytes = t.bytes_sent;
}
