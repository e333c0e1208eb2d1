/* Interop harness between our RTP protocol library and FFmpeg, which nobody here wrote.
 *   recv: take FFmpeg's RTP muxer output off a UDP socket, depacketize with h26x, decode every
 *         access unit with libavcodec and report frames and decode errors;
 *   sdp:  describe a clip as FFmpeg's RTP demuxer expects it (av_sdp_create);
 *   send: packetize a clip with h26x and send it, paced by its timestamps, ending with RTCP BYE.
 * It prints key=value lines that tests/integration/rtp_roundtrip.sh checks. */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>
#include <libavutil/base64.h>
#include <libavutil/log.h>

#include "rtp/h26x.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"

#define AU_MAX  (4u << 20)
#define PKT_MAX 2048

struct opts {
	const char *mode;
	enum h26x_codec codec;
	const char *input;
	const char *out;
	const char *sdp;
	struct sockaddr_in addr;
	size_t mtu;
	double speed;
	int idle_ms;
	int timeout_ms;
	int linger_ms;
	unsigned drop_every;
	uint8_t pt;
};

static unsigned long lib_errors; /* messages at AV_LOG_ERROR or worse from libav* */

static void av_log_counter(void *avcl, int level, const char *fmt, va_list vl)
{
	if (level <= AV_LOG_ERROR) {
		lib_errors++;
		fprintf(stderr, "libav: ");
		vfprintf(stderr, fmt, vl);
	}
	(void)avcl;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "rtp_interop: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int udp_socket(const struct sockaddr_in *bind_to)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	/* Big enough to hold a whole test clip, so a busy decoder loses nothing. */
	int sz = 32 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (bind_to && bind(fd, (const struct sockaddr *)bind_to, sizeof(*bind_to)) < 0)
		die("bind %s:%u: %s", inet_ntoa(bind_to->sin_addr), ntohs(bind_to->sin_port),
		    strerror(errno));
	return fd;
}

/* --- recv ----------------------------------------------------------------------------------- */

struct decoder {
	AVCodecContext *ctx;
	AVPacket *pkt;
	AVFrame *frame;
	unsigned long frames;
	unsigned long errors; /* failed sends and corrupt frames */
};

static void decoder_open(struct decoder *dec, enum h26x_codec codec)
{
	const AVCodec *c =
	    avcodec_find_decoder(codec == H26X_H264 ? AV_CODEC_ID_H264 : AV_CODEC_ID_HEVC);
	if (!c)
		die("no decoder");
	dec->ctx = avcodec_alloc_context3(c);
	dec->pkt = av_packet_alloc();
	dec->frame = av_frame_alloc();
	if (!dec->ctx || !dec->pkt || !dec->frame || avcodec_open2(dec->ctx, c, NULL) < 0)
		die("cannot open decoder");
}

static void decoder_drain(struct decoder *dec)
{
	int rc;
	while ((rc = avcodec_receive_frame(dec->ctx, dec->frame)) >= 0) {
		dec->frames++;
		if (dec->frame->decode_error_flags || (dec->frame->flags & AV_FRAME_FLAG_CORRUPT))
			dec->errors++;
		av_frame_unref(dec->frame);
	}
	if (rc != AVERROR(EAGAIN) && rc != AVERROR_EOF)
		dec->errors++;
}

static void decoder_feed(struct decoder *dec, const struct h26x_au *au)
{
	if (av_new_packet(dec->pkt, (int)au->len) < 0)
		die("out of memory");
	memcpy(dec->pkt->data, au->data, au->len);
	dec->pkt->pts = au->ts;
	if (avcodec_send_packet(dec->ctx, dec->pkt) < 0)
		dec->errors++;
	av_packet_unref(dec->pkt);
	decoder_drain(dec);
}

/* Parameter sets that an SDP carries out of band (RFC 6184 sprop-parameter-sets, RFC 7798
 * sprop-vps/sps/pps), as Annex-B. Returns the bytes written to out. */
static size_t sdp_params(const char *path, uint8_t *out, size_t cap)
{
	static const char *const keys[] = {
	    "sprop-parameter-sets=", "sprop-vps=", "sprop-sps=", "sprop-pps="};
	char text[16384];
	FILE *f = fopen(path, "r");
	if (!f)
		die("%s: %s", path, strerror(errno));
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;

	size_t len = 0;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const char *p = strstr(text, keys[k]);
		if (!p)
			continue;
		p += strlen(keys[k]);
		while (*p && *p != ';' && *p != '\r' && *p != '\n' && *p != ' ') {
			char b64[1024];
			size_t m = strcspn(p, ",; \r\n");
			if (m >= sizeof(b64))
				die("%s: parameter set too long", path);
			memcpy(b64, p, m);
			b64[m] = 0;
			if (cap - len < 4 + m)
				die("%s: too many parameter sets", path);
			memcpy(out + len, "\0\0\0\1", 4);
			int dec = av_base64_decode(out + len + 4, b64, (int)(cap - len - 4));
			if (dec <= 0)
				die("%s: bad base64 in %s", path, keys[k]);
			len += 4 + (size_t)dec;
			p += m;
			if (*p == ',')
				p++;
		}
	}
	return len;
}

static int cmd_recv(const struct opts *o)
{
	struct sockaddr_in rtcp_addr = o->addr;
	rtcp_addr.sin_port = htons((uint16_t)(ntohs(o->addr.sin_port) + 1));
	int fds[2] = {udp_socket(&o->addr), udp_socket(&rtcp_addr)};

	void *mem = malloc(H26X_DEPKT_MEM(AU_MAX));
	struct h26x_depkt dp;
	if (!mem ||
	    h26x_depkt_init(&dp, o->codec, H26X_DEPKT_WAIT_KEYFRAME | H26X_DEPKT_INSERT_PARAMS, mem,
	                    H26X_DEPKT_MEM(AU_MAX)) < 0)
		die("depacketizer init");
	int seeded = 0;
	if (o->sdp) {
		uint8_t ps[4096];
		size_t n = sdp_params(o->sdp, ps, sizeof(ps));
		seeded = h26x_depkt_set_params(&dp, ps, n);
	}
	struct decoder dec = {0};
	decoder_open(&dec, o->codec);
	FILE *out = o->out ? fopen(o->out, "wb") : NULL;
	if (o->out && !out)
		die("%s: %s", o->out, strerror(errno));

	printf("ready\n");
	fflush(stdout);

	unsigned long rtp_pkts = 0, dropped = 0, rtp_bad = 0, rtcp_pkts = 0, rtcp_bad = 0;
	bool bye = false;
	uint64_t start = now_ns(), last = 0;
	uint8_t buf[PKT_MAX];
	struct pollfd pfd[2] = {{.fd = fds[0], .events = POLLIN}, {.fd = fds[1], .events = POLLIN}};

	while (!bye) {
		uint64_t t = now_ns();
		if (last && (t - last) / 1000000 >= (uint64_t)o->idle_ms)
			break;
		if ((t - start) / 1000000 >= (uint64_t)o->timeout_ms)
			break;
		if (poll(pfd, 2, 100) <= 0)
			continue;
		if (pfd[1].revents & POLLIN) {
			ssize_t n = recv(fds[1], buf, sizeof(buf), 0);
			struct rtcp_iter it;
			struct rtcp_pkt pkt;
			int rc;
			rtcp_pkts++;
			rtcp_iter_init(&it, buf, n > 0 ? (size_t)n : 0, 0);
			while ((rc = rtcp_iter_next(&it, &pkt)) > 0)
				if (pkt.pt == RTCP_PT_BYE)
					bye = true;
			if (rc < 0)
				rtcp_bad++;
		}
		if (!(pfd[0].revents & POLLIN))
			continue;
		ssize_t n = recv(fds[0], buf, sizeof(buf), 0);
		struct rtp_hdr h;
		if (n <= 0 || rtp_parse(buf, (size_t)n, &h) < 0 || h.pt != o->pt) {
			rtp_bad++;
			continue;
		}
		rtp_pkts++;
		last = now_ns();
		if (o->drop_every && rtp_pkts % o->drop_every == 0) {
			dropped++; /* simulated loss, to see broken frames discarded */
			continue;
		}
		struct h26x_au au[2];
		int k = h26x_depkt_push(&dp, h.seq, h.ts, h.marker, h.payload, h.payload_len, au);
		for (int i = 0; i < k; i++) {
			if (out)
				fwrite(au[i].data, 1, au[i].len, out);
			decoder_feed(&dec, &au[i]);
		}
	}
	struct h26x_au au;
	if (h26x_depkt_flush(&dp, &au) == 1) {
		if (out)
			fwrite(au.data, 1, au.len, out);
		decoder_feed(&dec, &au);
	}
	avcodec_send_packet(dec.ctx, NULL);
	decoder_drain(&dec);
	if (out)
		fclose(out);

	const struct h26x_depkt_stats *s = &dp.stats;
	printf(
	    "rtp_packets=%lu\ndropped=%lu\nrtp_bad=%lu\nrtcp_packets=%lu\nrtcp_bad=%lu\nbye=%d\n",
	    rtp_pkts, dropped, rtp_bad, rtcp_pkts, rtcp_bad, bye);
	printf("access_units=%llu\nkeyframes=%llu\nbroken=%llu\nskipped=%llu\nmalformed=%llu\n"
	       "unsupported=%llu\n",
	       (unsigned long long)s->aus, (unsigned long long)s->keyframes,
	       (unsigned long long)s->broken, (unsigned long long)s->skipped,
	       (unsigned long long)s->malformed, (unsigned long long)s->unsupported);
	printf("params_from_sdp=%d\nparams_inserted=%llu\n", seeded,
	       (unsigned long long)s->params_inserted);
	printf("frames_decoded=%lu\ndecode_errors=%lu\n", dec.frames, dec.errors + lib_errors);

	avcodec_free_context(&dec.ctx);
	av_packet_free(&dec.pkt);
	av_frame_free(&dec.frame);
	free(mem);
	close(fds[0]);
	close(fds[1]);
	return 0;
}

/* --- sdp and send --------------------------------------------------------------------------- */

struct source {
	AVFormatContext *fmt;
	AVBSFContext *bsf;
	int stream;
	AVRational tb;
};

static void source_open(struct source *src, const struct opts *o)
{
	if (avformat_open_input(&src->fmt, o->input, NULL, NULL) < 0 ||
	    avformat_find_stream_info(src->fmt, NULL) < 0)
		die("%s: cannot open", o->input);
	src->stream = av_find_best_stream(src->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (src->stream < 0)
		die("%s: no video stream", o->input);
	AVStream *st = src->fmt->streams[src->stream];
	enum AVCodecID want = o->codec == H26X_H264 ? AV_CODEC_ID_H264 : AV_CODEC_ID_HEVC;
	if (st->codecpar->codec_id != want)
		die("%s: video is %s, not what --codec says", o->input,
		    avcodec_get_name(st->codecpar->codec_id));
	src->tb = st->time_base;
	/* Containers carry length-prefixed NAL units; the packetizer takes Annex-B. */
	const AVBitStreamFilter *f =
	    av_bsf_get_by_name(o->codec == H26X_H264 ? "h264_mp4toannexb" : "hevc_mp4toannexb");
	if (!f || av_bsf_alloc(f, &src->bsf) < 0 ||
	    avcodec_parameters_copy(src->bsf->par_in, st->codecpar) < 0)
		die("bitstream filter");
	src->bsf->time_base_in = st->time_base;
	if (av_bsf_init(src->bsf) < 0)
		die("bitstream filter init");
}

static void source_close(struct source *src)
{
	av_bsf_free(&src->bsf);
	avformat_close_input(&src->fmt);
}

static int cmd_sdp(const struct opts *o)
{
	struct source src = {0};
	source_open(&src, o);
	char url[64];
	snprintf(url, sizeof(url), "rtp://%s:%u", inet_ntoa(o->addr.sin_addr),
	         ntohs(o->addr.sin_port));
	AVFormatContext *oc = NULL;
	if (avformat_alloc_output_context2(&oc, NULL, "rtp", url) < 0)
		die("rtp muxer");
	AVStream *st = avformat_new_stream(oc, NULL);
	if (!st ||
	    avcodec_parameters_copy(st->codecpar, src.fmt->streams[src.stream]->codecpar) < 0)
		die("stream");
	char sdp[8192];
	if (av_sdp_create(&oc, 1, sdp, sizeof(sdp)) < 0)
		die("av_sdp_create");
	fputs(sdp, stdout);
	avformat_free_context(oc);
	source_close(&src);
	return 0;
}

static void send_rtcp_bye(int fd, const struct opts *o, uint32_t ssrc, uint32_t rtp_ts,
                          unsigned long pkts, unsigned long octets)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct rtcp_sr sr = {.ssrc = ssrc,
	                     .ntp = rtcp_ntp_from_timespec(&now),
	                     .rtp_ts = rtp_ts,
	                     .packet_count = (uint32_t)pkts,
	                     .octet_count = (uint32_t)octets};
	uint8_t buf[256];
	int a = rtcp_sr_write(buf, sizeof(buf), &sr, NULL, 0);
	int b = a < 0 ? a : rtcp_sdes_cname_write(buf + a, sizeof(buf) - (size_t)a, ssrc, "caas");
	int c = b < 0 ? b
	              : rtcp_bye_write(buf + a + b, sizeof(buf) - (size_t)(a + b), &ssrc, 1,
	                               "end of clip");
	if (c < 0)
		die("rtcp build: %s", strerror(-c));
	struct sockaddr_in to = o->addr;
	to.sin_port = htons((uint16_t)(ntohs(o->addr.sin_port) + 1));
	for (int i = 0; i < 3; i++) /* UDP: say it more than once */
		sendto(fd, buf, (size_t)(a + b + c), 0, (struct sockaddr *)&to, sizeof(to));
}

static int cmd_send(const struct opts *o)
{
	struct source src = {0};
	source_open(&src, o);
	int fd = udp_socket(NULL);
	struct h26x_pack pk;
	if (h26x_pack_init(&pk, o->codec, 0, o->mtu - 28 - RTP_HDR_MIN) < 0)
		die("packetizer: bad --mtu");

	const uint32_t ssrc = 0x43414153; /* "CAAS" */
	uint16_t seq = (uint16_t)(now_ns() & 0xffff);
	uint8_t pkt[PKT_MAX];
	unsigned long aus = 0, pkts = 0, octets = 0;
	int64_t first_pts = AV_NOPTS_VALUE;
	uint32_t last_ts = 0;
	uint64_t t0 = now_ns();
	AVPacket *in = av_packet_alloc();

	for (int eof = 0; !eof;) {
		if (av_read_frame(src.fmt, in) < 0) {
			eof = 1;
			av_bsf_send_packet(src.bsf, NULL);
		} else if (in->stream_index != src.stream) {
			av_packet_unref(in);
			continue;
		} else if (av_bsf_send_packet(src.bsf, in) < 0) {
			die("bitstream filter rejected a packet");
		}
		while (av_bsf_receive_packet(src.bsf, in) == 0) {
			int64_t pts = in->pts != AV_NOPTS_VALUE ? in->pts : in->dts;
			if (first_pts == AV_NOPTS_VALUE)
				first_pts = pts;
			int64_t rel = av_rescale_q(pts - first_pts, src.tb, (AVRational){1, 90000});
			uint64_t due = t0 + (uint64_t)((double)rel / 90000.0 * 1e9 / o->speed);
			while (now_ns() < due)
				usleep(500);

			struct rtp_hdr h = {.pt = o->pt, .ssrc = ssrc, .ts = (uint32_t)rel};
			bool marker;
			int n;
			h26x_pack_au(&pk, in->data, (size_t)in->size);
			while ((n = h26x_pack_next(&pk, pkt + RTP_HDR_MIN,
			                           sizeof(pkt) - RTP_HDR_MIN, &marker)) > 0) {
				h.seq = seq++;
				h.marker = marker;
				rtp_hdr_write(pkt, sizeof(pkt), &h);
				sendto(fd, pkt, RTP_HDR_MIN + (size_t)n, 0,
				       (struct sockaddr *)&o->addr, sizeof(o->addr));
				pkts++;
				octets += (unsigned long)n;
			}
			if (n < 0)
				die("packetizer: %s", strerror(-n));
			last_ts = h.ts;
			aus++;
			av_packet_unref(in);
		}
	}
	/* A receiver that gets BYE stops reading, and FFmpeg ends at once, even with media still
	 * queued in its socket: give it time to drain first, as a camera that hangs up would. */
	usleep((useconds_t)o->linger_ms * 1000);
	send_rtcp_bye(fd, o, ssrc, last_ts, pkts, octets);
	printf("access_units_sent=%lu\nrtp_packets_sent=%lu\npayload_bytes=%lu\n", aus, pkts,
	       octets);
	av_packet_free(&in);
	close(fd);
	source_close(&src);
	return 0;
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: rtp_interop recv --codec h264|h265 --to IP:PORT [--out FILE.annexb]\n"
	    "                        [--sdp FILE] (parameter sets given out of band)\n"
	    "                        [--drop-every N] (lose every Nth packet)\n"
	    "                        [--idle-ms N] [--timeout-ms N] [--pt PT]\n"
	    "       rtp_interop sdp  --codec h264|h265 --input CLIP --to IP:PORT\n"
	    "       rtp_interop send --codec h264|h265 --input CLIP --to IP:PORT [--mtu N]\n"
	    "                        [--speed X] [--pt PT] [--linger-ms N] (before RTCP BYE)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"codec", required_argument, NULL, 'c'},
	    {"input", required_argument, NULL, 'i'},
	    {"to", required_argument, NULL, 't'},
	    {"out", required_argument, NULL, 'o'},
	    {"sdp", required_argument, NULL, 'S'},
	    {"mtu", required_argument, NULL, 'm'},
	    {"speed", required_argument, NULL, 's'},
	    {"idle-ms", required_argument, NULL, 'I'},
	    {"timeout-ms", required_argument, NULL, 'T'},
	    {"drop-every", required_argument, NULL, 'D'},
	    {"pt", required_argument, NULL, 'p'},
	    {"linger-ms", required_argument, NULL, 'L'},
	    {NULL, 0, NULL, 0},
	};
	struct opts o = {.mtu = 1200,
	                 .speed = 1.0,
	                 .idle_ms = 2000,
	                 .timeout_ms = 60000,
	                 .linger_ms = 1000,
	                 .pt = 96};
	bool have_codec = false, have_addr = false;
	int c;

	if (argc < 2)
		usage();
	o.mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (!strcmp(optarg, "h264"))
				o.codec = H26X_H264;
			else if (!strcmp(optarg, "h265"))
				o.codec = H26X_H265;
			else
				usage();
			have_codec = true;
			break;
		case 'i':
			o.input = optarg;
			break;
		case 'o':
			o.out = optarg;
			break;
		case 'S':
			o.sdp = optarg;
			break;
		case 't': {
			char host[64];
			unsigned port;
			if (sscanf(optarg, "%63[^:]:%u", host, &port) != 2 || port == 0 ||
			    port > 65534 || inet_pton(AF_INET, host, &o.addr.sin_addr) != 1)
				die("--to %s: want IPv4:PORT", optarg);
			o.addr.sin_family = AF_INET;
			o.addr.sin_port = htons((uint16_t)port);
			have_addr = true;
			break;
		}
		case 'm':
			o.mtu = strtoul(optarg, NULL, 10);
			if (o.mtu < 128 || o.mtu > 9000)
				die("--mtu %s: want 128..9000", optarg);
			break;
		case 's':
			o.speed = atof(optarg);
			if (o.speed <= 0)
				die("--speed must be positive");
			break;
		case 'I':
			o.idle_ms = atoi(optarg);
			break;
		case 'T':
			o.timeout_ms = atoi(optarg);
			break;
		case 'D':
			o.drop_every = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'L':
			o.linger_ms = atoi(optarg);
			break;
		case 'p':
			o.pt = (uint8_t)(atoi(optarg) & 0x7f);
			break;
		default:
			usage();
		}
	}
	if (!have_codec || !have_addr)
		usage();
	av_log_set_callback(av_log_counter);

	if (!strcmp(o.mode, "recv"))
		return cmd_recv(&o);
	if (!o.input)
		usage();
	if (!strcmp(o.mode, "sdp"))
		return cmd_sdp(&o);
	if (!strcmp(o.mode, "send"))
		return cmd_send(&o);
	usage();
	return 2;
}
