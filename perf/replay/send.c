/* caas-replay send: the command line, the input (a capture, else a media file), the run and its
 * report. The streams themselves are send_stream.c. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <libavutil/log.h>

#include "net/net.h"
#include "replay.h"
#include "rtp/rtp.h"
#include "send.h"

#define MAX_STREAMS 4096

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: caas-replay send --to IP:PORT --input FILE [options]\n"
	    "\n"
	    "Replays camera streams against caasd: stream i sends RTP to PORT + 2i and RTCP to\n"
	    "PORT + 2i + 1, from an even source port P (RTCP from P + 1, where caasd's NACKs and\n"
	    "PLIs come back). Each stream has its own SSRC, sequence numbers and timestamps.\n"
	    "\n"
	    "  --input FILE        a capture (pcap/pcapng: every RTP flow in it is a stream) or "
	    "an\n"
	    "                      H.264/H.265 file libavformat reads (MP4, MKV, TS, raw); audio\n"
	    "                      in it is not sent\n"
	    "  --streams N         streams (default: 1 for a media file, one per captured flow;\n"
	    "                      with more, flows are reused in turn)\n"
	    "  --duration S        each stream sends S seconds, looping the input with continuous\n"
	    "                      timestamps and sequence numbers (default: the input once)\n"
	    "  --pt PT             RTP payload type (default 96; a capture keeps its own unless\n"
	    "                      --pt is given)\n"
	    "  --mtu BYTES         IP packet size the packetizer fills (default 1200)\n"
	    "  --speed X           send X times as fast as the input's timing; RTP timestamps\n"
	    "                      are kept, so the media clock runs X times fast (default 1)\n"
	    "  --rate-scale X      X times the packet and bit rate of a valid stream: sent X "
	    "times\n"
	    "                      as fast with timestamps rescaled to match (a 30 fps clip at 2\n"
	    "                      is a 60 fps camera) (default 1)\n"
	    "  --stagger-ms M      stream i starts at i * M ms (default: spread over one GOP of\n"
	    "                      the clip, or over 1 s for a capture, so keyframes do not "
	    "align)\n"
	    "  --src-ip A,B,...    bind stream i to address i mod count (default: any)\n"
	    "  --no-ext            no send-time header extension (default: RFC 8285 element %d,\n"
	    "                      CLOCK_MONOTONIC ns, for caas-replay recv's latency)\n"
	    "impairment (per stream, repeatable with --seed; explicit values override a profile):\n"
	    "  --profile NAME      none, good, cell-edge, handover\n"
	    "  --loss P            average loss, 0.02 or 2%% (dropped packets stay in the history\n"
	    "                      and are retransmitted on NACK; retransmissions are impaired "
	    "too)\n"
	    "  --burst B           mean loss burst length in packets (default 1)\n"
	    "  --jitter-ms J       extra delay, uniform in [0, J] ms; packets keep their order\n"
	    "                      (as on a cellular link): only --reorder reorders\n"
	    "  --reorder R         fraction of packets held back behind the next ones\n"
	    "  --duplicate D       fraction of packets sent twice\n"
	    "  --delay-ms M        fixed extra delay\n"
	    "  --seed N            impairment seed (default 1)\n"
	    "output:\n"
	    "  --report FILE       JSON report ('-': stdout)\n"
	    "  --quiet             no start and summary lines, no progress\n"
	    "exit status: 0 done (also when SIGINT or SIGTERM end the run early: the report\n"
	    "says so), 1 unreadable input or a failure while sending, 2 bad arguments\n",
	    REPLAY_EXT_ID);
}

static int __attribute__((format(printf, 1, 2))) bad(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("caas-replay send: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(" (send --help)\n", stderr);
	va_end(ap);
	return 2;
}

static bool parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end != s && *end == '%' && end[1] == 0) {
		v /= 100;
		end++;
	}
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		return false;
	*out = v;
	return true;
}

static bool parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	errno = 0;
	if (*s == '-')
		return false;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* IPv4:PORT or [IPv6]:PORT; without want_port, an address with or without a port. */
static bool parse_addr(const char *s, bool want_port, struct sockaddr_storage *a, socklen_t *len)
{
	unsigned l;
	bool ok = net_hostport_sockaddr(s, want_port, a, &l, NULL) == 0;

	*len = (socklen_t)l;
	return ok;
}

enum {
	OPT_TO = 256,
	OPT_INPUT,
	OPT_STREAMS,
	OPT_DURATION,
	OPT_PT,
	OPT_MTU,
	OPT_PROFILE,
	OPT_LOSS,
	OPT_BURST,
	OPT_JITTER,
	OPT_REORDER,
	OPT_DUPLICATE,
	OPT_DELAY,
	OPT_SEED,
	OPT_RATE_SCALE,
	OPT_SPEED,
	OPT_STAGGER,
	OPT_SRC_IP,
	OPT_NO_EXT,
	OPT_REPORT,
	OPT_QUIET,
	OPT_HELP,
};

static const struct option longopts[] = {
    {"to", required_argument, NULL, OPT_TO},
    {"input", required_argument, NULL, OPT_INPUT},
    {"streams", required_argument, NULL, OPT_STREAMS},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"pt", required_argument, NULL, OPT_PT},
    {"mtu", required_argument, NULL, OPT_MTU},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"loss", required_argument, NULL, OPT_LOSS},
    {"burst", required_argument, NULL, OPT_BURST},
    {"jitter-ms", required_argument, NULL, OPT_JITTER},
    {"reorder", required_argument, NULL, OPT_REORDER},
    {"duplicate", required_argument, NULL, OPT_DUPLICATE},
    {"delay-ms", required_argument, NULL, OPT_DELAY},
    {"seed", required_argument, NULL, OPT_SEED},
    {"rate-scale", required_argument, NULL, OPT_RATE_SCALE},
    {"speed", required_argument, NULL, OPT_SPEED},
    {"stagger-ms", required_argument, NULL, OPT_STAGGER},
    {"src-ip", required_argument, NULL, OPT_SRC_IP},
    {"no-ext", no_argument, NULL, OPT_NO_EXT},
    {"report", required_argument, NULL, OPT_REPORT},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* Explicit impairment values, applied over the profile once all options are read. */
struct impair_set {
	bool loss, burst, jitter, reorder, duplicate, delay;
	struct impair_cfg v;
};

static int parse_src_ips(struct snd_opts *o, const char *list)
{
	char buf[4096];
	if (strlen(list) >= sizeof(buf))
		return bad("--src-ip: list too long");
	strcpy(buf, list);
	for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		socklen_t len;
		if (o->n_src_ip == SND_MAX_SRC_IPS)
			return bad("--src-ip: at most %d addresses", SND_MAX_SRC_IPS);
		if (!parse_addr(tok, false, &o->src_ip[o->n_src_ip], &len))
			return bad("--src-ip %s: not an IP address", tok);
		o->n_src_ip++;
	}
	return o->n_src_ip ? 0 : bad("--src-ip: no address");
}

/* 0, or the exit status. */
static int parse_opts(int argc, char **argv, struct snd_opts *o)
{
	struct impair_set is = {0};
	uint64_t u;
	double d;
	int c;

	*o = (struct snd_opts){.pt = 96,
	                       .mtu = 1200,
	                       .seed = 1,
	                       .rate_scale = 1,
	                       .speed = 1,
	                       .stagger_ms = -1,
	                       .ext = true,
	                       .impair = {.burst = 1}};
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_TO:
			o->to_str = optarg;
			if (!parse_addr(optarg, true, &o->to, &o->to_len))
				return bad("--to %s: want IPv4:PORT or [IPv6]:PORT", optarg);
			o->port = ntohs(o->to.ss_family == AF_INET
			                    ? ((struct sockaddr_in *)&o->to)->sin_port
			                    : ((struct sockaddr_in6 *)&o->to)->sin6_port);
			break;
		case OPT_INPUT:
			o->input = optarg;
			break;
		case OPT_STREAMS:
			if (!parse_u64(optarg, 1, MAX_STREAMS, &u))
				return bad("--streams %s: want 1..%d", optarg, MAX_STREAMS);
			o->streams = (unsigned)u;
			break;
		case OPT_DURATION:
			if (!parse_double(optarg, 0.001, 1e7, &o->duration_s))
				return bad("--duration %s: want seconds > 0", optarg);
			break;
		case OPT_PT:
			if (!parse_u64(optarg, 0, 127, &u))
				return bad("--pt %s: want 0..127", optarg);
			o->pt = (uint8_t)u;
			o->pt_set = true;
			break;
		case OPT_MTU:
			if (!parse_u64(optarg, 256, 9000, &u))
				return bad("--mtu %s: want 256..9000", optarg);
			o->mtu = (unsigned)u;
			break;
		case OPT_PROFILE:
			o->profile = optarg;
			break;
		case OPT_LOSS:
			if (!parse_double(optarg, 0, 1, &is.v.loss))
				return bad(
				    "--loss %s: want a fraction (0.02) or a percentage (2%%)",
				    optarg);
			is.loss = true;
			break;
		case OPT_BURST:
			if (!parse_double(optarg, 0, 1e6, &is.v.burst))
				return bad("--burst %s: want packets >= 1", optarg);
			is.burst = true;
			break;
		case OPT_JITTER:
			if (!parse_double(optarg, 0, 1e6, &is.v.jitter_ms))
				return bad("--jitter-ms %s: want milliseconds >= 0", optarg);
			is.jitter = true;
			break;
		case OPT_REORDER:
			if (!parse_double(optarg, 0, 1, &is.v.reorder))
				return bad("--reorder %s: want a fraction", optarg);
			is.reorder = true;
			break;
		case OPT_DUPLICATE:
			if (!parse_double(optarg, 0, 1, &is.v.duplicate))
				return bad("--duplicate %s: want a fraction", optarg);
			is.duplicate = true;
			break;
		case OPT_DELAY:
			if (!parse_double(optarg, 0, 1e6, &is.v.delay_ms))
				return bad("--delay-ms %s: want milliseconds >= 0", optarg);
			is.delay = true;
			break;
		case OPT_SEED:
			if (!parse_u64(optarg, 0, UINT64_MAX, &o->seed))
				return bad("--seed %s: want an unsigned integer", optarg);
			break;
		case OPT_RATE_SCALE:
			if (!parse_double(optarg, 0.01, 100, &o->rate_scale))
				return bad("--rate-scale %s: want 0.01..100", optarg);
			break;
		case OPT_SPEED:
			if (!parse_double(optarg, 0.01, 1000, &o->speed))
				return bad("--speed %s: want 0.01..1000", optarg);
			break;
		case OPT_STAGGER:
			if (!parse_double(optarg, 0, 3.6e6, &d))
				return bad("--stagger-ms %s: want milliseconds >= 0", optarg);
			o->stagger_ms = d;
			break;
		case OPT_SRC_IP: {
			int rc = parse_src_ips(o, optarg);
			if (rc)
				return rc;
			break;
		}
		case OPT_NO_EXT:
			o->ext = false;
			break;
		case OPT_REPORT:
			o->report = optarg;
			break;
		case OPT_QUIET:
			o->quiet = true;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		case ':':
			return bad("%s needs a value", argv[optind - 1]);
		default:
			return bad("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad("unexpected argument '%s'", argv[optind]);
	if (!o->to_str)
		return bad("--to IP:PORT is required");
	if (!o->input)
		return bad("--input FILE is required");
	for (unsigned i = 0; i < o->n_src_ip; i++)
		if (o->src_ip[i].ss_family != o->to.ss_family)
			return bad("--src-ip: every address must be of --to's family");

	if (o->profile && impair_profile(o->profile, &o->impair) < 0)
		return bad("--profile %s: want none, good, cell-edge or handover", o->profile);
	if (is.loss)
		o->impair.loss = is.v.loss;
	if (is.burst)
		o->impair.burst = is.v.burst;
	if (is.jitter)
		o->impair.jitter_ms = is.v.jitter_ms;
	if (is.reorder)
		o->impair.reorder = is.v.reorder;
	if (is.duplicate)
		o->impair.duplicate = is.v.duplicate;
	if (is.delay)
		o->impair.delay_ms = is.v.delay_ms;
	char why[160];
	if (impair_check(&o->impair, why, sizeof(why)) < 0)
		return bad("impairment: %s", why);
	return 0;
}

/* A capture first (libpcap says quickly whether it is one), then libavformat. 0 or exit 1. */
static int open_input(const struct snd_opts *o, struct snd_source *src)
{
	char err[512], perr[512];
	int fd = open(o->input, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "caas-replay send: %s: %s\n", o->input, strerror(errno));
		return 1;
	}
	close(fd);
	int rc = snd_pcap_open(o->input, src, perr, sizeof(perr));
	if (rc == 0)
		return 0;
	if (rc != -ENOTSUP) {
		fprintf(stderr, "caas-replay send: %s: %s\n", o->input, perr);
		return 1;
	}
	size_t ip_udp = SND_IP_UDP_HLEN + (o->to.ss_family == AF_INET6 ? 20 : 0);
	size_t max_payload = o->mtu - ip_udp - RTP_HDR_MIN - (o->ext ? SND_EXT_BLOCK : 0);
	rc = snd_media_open(o->input, max_payload, src, err, sizeof(err));
	if (rc == -EINVAL && !strncmp(err, "not a media file", 16)) {
		fprintf(stderr, "caas-replay send: %s: neither a capture libpcap reads nor %s\n",
		        o->input, err + 4);
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "caas-replay send: %s: %s\n", o->input, err);
		return 1;
	}
	return 0;
}

static int write_report(const struct snd_ctx *cx)
{
	json_t *r = snd_report_json(cx);
	int rc;
	if (!r) {
		fprintf(stderr, "caas-replay send: report: out of memory\n");
		return 1;
	}
	if (!strcmp(cx->o->report, "-")) {
		rc = json_dumpf(r, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
		fputc('\n', stdout);
	} else {
		rc = json_dump_file(r, cx->o->report, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
	}
	json_decref(r);
	if (rc < 0) {
		fprintf(stderr, "caas-replay send: %s: cannot write the report: %s\n",
		        cx->o->report, strerror(errno));
		return 1;
	}
	return 0;
}

int replay_send_main(int argc, char **argv)
{
	struct snd_opts o;
	struct snd_source src;
	struct snd_ctx cx = {.o = &o, .src = &src, .epfd = -1};
	char err[256];
	int rc;

	if ((rc = parse_opts(argc, argv, &o)))
		return rc;
	av_log_set_level(AV_LOG_ERROR);
	if ((rc = open_input(&o, &src)))
		return rc;

	cx.n = o.streams ? o.streams : src.kind == SND_SRC_PCAP ? (unsigned)src.n_flows : 1;
	if ((unsigned)o.port + REPLAY_PORT_STEP * (cx.n - 1) + 1 > 65535) {
		snd_source_free(&src);
		return bad("--to port %u leaves no room for %u streams (RTP and RTCP ports)",
		           o.port, cx.n);
	}
	cx.tscale = o.speed * o.rate_scale;
	/* Keyframes of streams that start together would align, and so would their bursts. */
	cx.spread_phase = o.stagger_ms < 0;
	if (o.stagger_ms >= 0)
		cx.stagger_ns = (uint64_t)(o.stagger_ms * SND_NS_PER_MS);
	else if (src.gop_ns)
		cx.stagger_ns = (uint64_t)((double)src.gop_ns / cx.tscale) / cx.n;
	else
		cx.stagger_ns = SND_NS_PER_SEC / cx.n;
	cx.progress = !o.quiet && isatty(STDERR_FILENO);

	if (!o.quiet) {
		fprintf(stderr, "caas-replay send: %s: %s\n", o.input, src.desc);
		if (src.skipped)
			fprintf(stderr, "caas-replay send: %s: %s not sent (video only)\n", o.input,
			        src.skipped);
		for (size_t i = 0; src.kind == SND_SRC_PCAP && i < src.n_flows; i++)
			fprintf(
			    stderr,
			    "caas-replay send:   flow %zu: %s, %zu packets, %.1f s, clock %u, %s"
			    ", %zu keyframes, %" PRIu64 " missing from the capture\n",
			    i, src.flows[i].desc, src.flows[i].n,
			    (double)src.flows[i].loop_ns / SND_NS_PER_SEC, src.flows[i].clock,
			    src.flows[i].codec ? src.flows[i].codec : "codec unknown",
			    src.flows[i].n_keys, src.flows[i].capture_gaps);
		char stagger[48] = "";
		if (cx.n > 1)
			snprintf(stagger, sizeof(stagger), ", stagger %.0f ms",
			         (double)cx.stagger_ns / SND_NS_PER_MS);
		fprintf(stderr,
		        "caas-replay send: %u stream%s to %s (ports %u..%u)%s; loss %g burst %g "
		        "jitter %g ms reorder %g duplicate %g delay %g ms, seed %" PRIu64 "\n",
		        cx.n, cx.n == 1 ? "" : "s", o.to_str, o.port,
		        o.port + REPLAY_PORT_STEP * (cx.n - 1) + 1, stagger, o.impair.loss,
		        o.impair.burst, o.impair.jitter_ms, o.impair.reorder, o.impair.duplicate,
		        o.impair.delay_ms, o.seed);
	}

	rc = snd_streams_open(&cx, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "caas-replay send: %s\n", err);
		rc = 1;
		goto out;
	}
	rc = snd_run(&cx);
	if (rc < 0) {
		fprintf(stderr, "caas-replay send: %s\n", strerror(-rc));
		rc = 1;
	}
	if (!o.quiet)
		snd_summary(stderr, &cx);
	if (o.report && write_report(&cx))
		rc = 1;
out:
	snd_streams_close(&cx);
	snd_source_free(&src);
	return rc;
}
