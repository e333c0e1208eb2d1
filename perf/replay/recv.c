/* caas-replay recv: acts as N experts, receiving stream i on PORT + 2i (RTCP on the port above)
 * in one thread (epoll, recvmmsg, kernel receive timestamps), and reports what they got. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"
#include "recv.h"
#include "replay.h"

#define BATCH         32
#define PKT_MAX       9216 /* a jumbo frame: nothing an RTP sender puts on a LAN is larger */
#define MAX_STREAMS   8192
#define RCVBUF_MAX    (8 << 20) /* 16 s of a 4 Mbit/s camera */
#define RCVBUF_MIN    (1 << 20)
#define RCVBUF_TOTAL  (512 << 20) /* what all streams may hold, should this process stall */
#define FAST_TICK_NS  (10 * NS_PER_MSEC)
#define DRAIN_ROUNDS  8 /* batches per socket per wakeup, so one busy stream cannot starve */
#define EXIT_SETUP    1
#define EXIT_USAGE    2
#define EXIT_MAX_LOSS 3

#define CTRL_LEN (CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(uint32_t)))

struct batch {
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage from[BATCH];
	union {
		struct cmsghdr align;
		uint8_t buf[CTRL_LEN];
	} ctrl[BATCH];
	uint8_t pkt[BATCH][PKT_MAX];
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: caas-replay recv --listen IP:PORT [options]\n"
	    "\n"
	    "Act as N experts: receive stream i on PORT+2i (RTCP on PORT+2i+1) and measure\n"
	    "packets, loss, duplicates, reordering, jitter, latency (from the sender's send-time\n"
	    "extension, id %d), time to the first packet and the first keyframe, and bitrate.\n"
	    "\n"
	    "  -l, --listen IP:PORT   address and first RTP port to listen on ([IPv6]:PORT too)\n"
	    "  -n, --streams N        streams (experts) to receive; default 1\n"
	    "  -d, --duration S       seconds to run, 0 for until SIGINT/SIGTERM; default 10\n"
	    "  -r, --report FILE      write the JSON report to FILE ('-': standard output, the\n"
	    "                         summary then goes to standard error)\n"
	    "  -c, --codec h264|h265  the video codec, for keyframe detection; default h264\n"
	    "      --nack             send generic NACKs for gaps (once more after 50 ms)\n"
	    "      --pli              send a PLI while no keyframe came 500 ms after the first\n"
	    "                         packet, and after a loss too large to NACK\n"
	    "      --rtcp-to IP:PORT  caasd's first device RTP port: stream i's RTCP goes to\n"
	    "                         PORT+2i+1. Default: where caasd's sender reports come from\n"
	    "                         (its device port + 1), and before the first one, the RTP's\n"
	    "                         source port + 1\n"
	    "      --no-rtcp          send no RTCP at all (no receiver reports either)\n"
	    "      --max-loss P       exit 3 when the total loss ratio exceeds P (0.01 or 1%%),\n"
	    "                         or when a stream received nothing\n"
	    "  -q, --quiet            no progress line, no summary table\n"
	    "  -h, --help             this text\n"
	    "\n"
	    "RTCP always leaves from the stream's RTCP port, as caasd expects of an expert.\n"
	    "Exit status: 0 done, 1 set-up error, 2 bad arguments, 3 --max-loss exceeded.\n",
	    REPLAY_EXT_ID);
}

/* "IP:PORT" or "[IPv6]:PORT". */
static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len, uint16_t *port)
{
	unsigned l;
	int rc = net_hostport_sockaddr(s, true, ss, &l, port);

	*len = (socklen_t)l;
	return rc;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons(port);
}

static int parse_args(int argc, char **argv, struct recv_opts *o)
{
	enum { OPT_NACK = 256, OPT_PLI, OPT_RTCP_TO, OPT_NO_RTCP, OPT_MAX_LOSS };
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"streams", required_argument, NULL, 'n'},
	    {"duration", required_argument, NULL, 'd'},
	    {"report", required_argument, NULL, 'r'},
	    {"codec", required_argument, NULL, 'c'},
	    {"nack", no_argument, NULL, OPT_NACK},
	    {"pli", no_argument, NULL, OPT_PLI},
	    {"rtcp-to", required_argument, NULL, OPT_RTCP_TO},
	    {"no-rtcp", no_argument, NULL, OPT_NO_RTCP},
	    {"max-loss", required_argument, NULL, OPT_MAX_LOSS},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char *end;
	uint16_t port;
	int c;

	memset(o, 0, sizeof(*o));
	o->streams = 1;
	o->duration_s = 10;
	o->codec = H26X_H264;
	o->rtcp = true;
	optind = 1;
	while ((c = getopt_long(argc, argv, "l:n:d:r:c:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			o->listen_str = optarg;
			if (parse_addr(optarg, &o->listen, &o->listen_len, &o->port) < 0) {
				fprintf(stderr,
				        "caas-replay recv: --listen wants IP:PORT, not '%s'\n",
				        optarg);
				return -EINVAL;
			}
			break;
		case 'n': {
			errno = 0;
			unsigned long n = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || n < 1 || n > MAX_STREAMS) {
				fprintf(stderr,
				        "caas-replay recv: --streams wants 1..%d, not '%s'\n",
				        MAX_STREAMS, optarg);
				return -EINVAL;
			}
			o->streams = (unsigned)n;
			break;
		}
		case 'd':
			o->duration_s = strtod(optarg, &end);
			if (*end || end == optarg || !isfinite(o->duration_s) ||
			    o->duration_s < 0) {
				fprintf(stderr,
				        "caas-replay recv: --duration wants seconds, not '%s'\n",
				        optarg);
				return -EINVAL;
			}
			break;
		case 'r':
			o->report = optarg;
			break;
		case 'c':
			if (!strcmp(optarg, "h264")) {
				o->codec = H26X_H264;
			} else if (!strcmp(optarg, "h265")) {
				o->codec = H26X_H265;
			} else {
				fprintf(stderr,
				        "caas-replay recv: --codec is h264 or h265, not '%s'\n",
				        optarg);
				return -EINVAL;
			}
			break;
		case OPT_NACK:
			o->nack = true;
			break;
		case OPT_PLI:
			o->pli = true;
			break;
		case OPT_RTCP_TO:
			if (parse_addr(optarg, &o->rtcp_to, &o->rtcp_to_len, &port) < 0) {
				fprintf(stderr,
				        "caas-replay recv: --rtcp-to wants IP:PORT, not '%s'\n",
				        optarg);
				return -EINVAL;
			}
			o->have_rtcp_to = true;
			break;
		case OPT_NO_RTCP:
			o->rtcp = false;
			break;
		case OPT_MAX_LOSS:
			o->max_loss = strtod(optarg, &end);
			if (end != optarg && !strcmp(end, "%")) {
				o->max_loss /= 100;
				end++;
			}
			if (*end || end == optarg || !(o->max_loss >= 0 && o->max_loss <= 1)) {
				fprintf(stderr,
				        "caas-replay recv: --max-loss wants a ratio (0.01) or a "
				        "percentage (1%%), not '%s'\n",
				        optarg);
				return -EINVAL;
			}
			o->have_max_loss = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			fprintf(stderr, "caas-replay recv: see --help\n");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "caas-replay recv: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!o->listen_str) {
		fprintf(stderr, "caas-replay recv: --listen IP:PORT is required (see --help)\n");
		return -EINVAL;
	}
	if ((unsigned long)o->port + REPLAY_PORT_STEP * o->streams > 65536) {
		fprintf(stderr, "caas-replay recv: %u streams from port %u run past port 65535\n",
		        o->streams, o->port);
		return -EINVAL;
	}
	if (o->have_rtcp_to) {
		port = (uint16_t)(o->rtcp_to.ss_family == AF_INET6
		                      ? ntohs(((struct sockaddr_in6 *)&o->rtcp_to)->sin6_port)
		                      : ntohs(((struct sockaddr_in *)&o->rtcp_to)->sin_port));
		if ((unsigned long)port + REPLAY_PORT_STEP * o->streams > 65535) {
			fprintf(stderr,
			        "caas-replay recv: --rtcp-to: %u streams from port %u run past "
			        "port 65535\n",
			        o->streams, port);
			return -EINVAL;
		}
	}
	if (!o->rtcp && (o->nack || o->pli || o->have_rtcp_to)) {
		fprintf(stderr,
		        "caas-replay recv: --no-rtcp contradicts --nack, --pli and --rtcp-to\n");
		return -EINVAL;
	}
	return 0;
}

/* Room for two sockets a stream, and stdio, epoll and the report. */
static int raise_fd_limit(unsigned streams)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)streams * 2 + 32;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
		return -EMFILE;
	rl.rlim_cur = need;
	return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : 0;
}

static int open_socket(const struct recv_opts *o, uint16_t port, int rcvbuf, bool *small_buf)
{
	struct sockaddr_storage ss = o->listen;
	int one = 1, got = 0;
	socklen_t gl = sizeof(got);
	int fd, err;

	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* FORCE passes net.core.rmem_max when we may (root); else the kernel caps it there. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (small_buf && getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl) == 0 && got < rcvbuf)
		*small_buf = true;
	/* Kernel receive times keep our own scheduling out of the latency; the drop counter tells
	 * loss at our socket from loss upstream. */
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) < 0)
		goto fail;
	set_port(&ss, port);
	if (bind(fd, (struct sockaddr *)&ss, o->listen_len) < 0)
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

static void close_streams(struct recv_stream **st, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (!st[i])
			continue;
		if (st[i]->rtp_fd >= 0)
			close(st[i]->rtp_fd);
		if (st[i]->rtcp_fd >= 0)
			close(st[i]->rtcp_fd);
		free(st[i]);
	}
	free(st);
}

static int open_streams(const struct recv_opts *o, int ep, struct recv_stream ***out)
{
	struct recv_stream **st = calloc(o->streams, sizeof(*st));
	char host[48] = "localhost";
	bool small_buf = false;
	int rcvbuf = RCVBUF_TOTAL / (int)o->streams;
	int rc = 0;

	if (!st)
		return -ENOMEM;
	rcvbuf = rcvbuf > RCVBUF_MAX ? RCVBUF_MAX : rcvbuf < RCVBUF_MIN ? RCVBUF_MIN : rcvbuf;
	gethostname(host, sizeof(host) - 1);
	for (unsigned i = 0; i < o->streams; i++) {
		uint16_t port = (uint16_t)(o->port + REPLAY_PORT_STEP * i);
		struct recv_stream *s = calloc(1, sizeof(*s));
		struct epoll_event ev = {.events = EPOLLIN};

		if (!s) {
			rc = -ENOMEM;
			break;
		}
		st[i] = s;
		s->rtp_fd = s->rtcp_fd = -1;
		s->rtp_fd = open_socket(o, port, rcvbuf, &small_buf);
		if (s->rtp_fd < 0) {
			rc = s->rtp_fd;
			fprintf(stderr, "caas-replay recv: stream %u: RTP port %u: %s\n", i, port,
			        strerror(-rc));
			break;
		}
		s->rtcp_fd = open_socket(o, (uint16_t)(port + 1), 1 << 20, NULL);
		if (s->rtcp_fd < 0) {
			rc = s->rtcp_fd;
			fprintf(stderr, "caas-replay recv: stream %u: RTCP port %u: %s\n", i,
			        port + 1, strerror(-rc));
			break;
		}
		ev.data.u64 = (uint64_t)i << 1;
		rc = epoll_ctl(ep, EPOLL_CTL_ADD, s->rtp_fd, &ev);
		ev.data.u64 = (uint64_t)i << 1 | 1;
		if (rc == 0)
			rc = epoll_ctl(ep, EPOLL_CTL_ADD, s->rtcp_fd, &ev);
		if (rc < 0) {
			rc = -errno;
			fprintf(stderr, "caas-replay recv: stream %u: epoll: %s\n", i,
			        strerror(errno));
			break;
		}
		if (getrandom(&s->own_ssrc, sizeof(s->own_ssrc), 0) != sizeof(s->own_ssrc))
			s->own_ssrc = (uint32_t)getpid() << 12 ^ i;
		snprintf(s->cname, sizeof(s->cname), "replay-recv-%u@%s", i, host);
		/* The origin of first_packet_ms: this stream is listening from now on. */
		rpt_stream_init(&s->acct, i, port, o->codec, mono_ns());
	}
	if (rc < 0) {
		close_streams(st, o->streams);
		return rc;
	}
	if (small_buf && !o->quiet)
		fprintf(stderr,
		        "caas-replay recv: socket receive buffers are below %d MB (raise "
		        "net.core.rmem_max, or run as root); drops at our sockets are reported\n",
		        rcvbuf >> 20);
	*out = st;
	return 0;
}

static void batch_prepare(struct batch *b)
{
	for (unsigned i = 0; i < BATCH; i++) {
		struct msghdr *m = &b->msg[i].msg_hdr;

		b->iov[i].iov_base = b->pkt[i];
		b->iov[i].iov_len = PKT_MAX;
		m->msg_iov = &b->iov[i];
		m->msg_iovlen = 1;
		m->msg_name = &b->from[i];
		m->msg_namelen = sizeof(b->from[i]);
		m->msg_control = b->ctrl[i].buf;
		m->msg_controllen = sizeof(b->ctrl[i].buf);
		m->msg_flags = 0;
	}
}

/* The kernel's receive time (CLOCK_REALTIME) on the sender's clock, CLOCK_MONOTONIC: offset by
 * the difference of the two read just after the batch, and never later than that read. */
static uint64_t arrival_ns(struct msghdr *m, int64_t rt_minus_mono, uint64_t now, uint32_t *drops,
                           bool *have_drops)
{
	uint64_t t = now;

	*have_drops = false;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			int64_t rt = (int64_t)ts.tv_sec * (int64_t)NS_PER_SEC + ts.tv_nsec;
			int64_t mono = rt - rt_minus_mono;
			if (mono > 0 && (uint64_t)mono < now)
				t = (uint64_t)mono;
		} else if (c->cmsg_type == SO_RXQ_OVFL) {
			memcpy(drops, CMSG_DATA(c), sizeof(*drops));
			*have_drops = true;
		}
	}
	return t;
}

struct live {
	uint64_t packets, bytes; /* as of the last progress line */
	struct latency lat;      /* this second's samples, for the progress line's p99 */
};

static void on_rtp(const struct recv_opts *o, struct recv_stream *st, struct live *live,
                   struct msghdr *m, size_t len, uint64_t t)
{
	struct rpt_pkt p;

	if (m->msg_flags & MSG_TRUNC) {
		st->acct.malformed++;
		return;
	}
	if (rtp_is_rtcp(m->msg_iov->iov_base, len)) {
		recv_rtcp_input(o, st, m->msg_iov->iov_base, len, m->msg_name, m->msg_namelen, t);
		return;
	}
	if (rpt_packet(&st->acct, m->msg_iov->iov_base, len, t, &p) < 0)
		return;
	if (!st->have_rtp_src || p.ssrc_changed) {
		memcpy(&st->rtp_src, m->msg_name, m->msg_namelen);
		st->rtp_src_len = m->msg_namelen;
		st->have_rtp_src = true;
	}
	if (p.has_send_time)
		lat_record(&live->lat, p.latency_ns);
	recv_fb_packet(o, st, &p, t);
}

/* Read what one socket holds, a batch at a time. */
static int drain(const struct recv_opts *o, struct recv_stream *st, bool rtcp, struct batch *b,
                 struct live *live)
{
	int fd = rtcp ? st->rtcp_fd : st->rtp_fd;

	for (int round = 0; round < DRAIN_ROUNDS; round++) {
		struct timespec rt, mo;
		uint32_t drops = 0;
		bool have_drops;

		batch_prepare(b);
		int n = recvmmsg(fd, b->msg, BATCH, MSG_DONTWAIT, NULL);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0
			                                                                 : -errno;
		clock_gettime(CLOCK_MONOTONIC, &mo);
		clock_gettime(CLOCK_REALTIME, &rt);
		uint64_t now = (uint64_t)mo.tv_sec * NS_PER_SEC + (uint64_t)mo.tv_nsec;
		int64_t off = ((int64_t)rt.tv_sec - mo.tv_sec) * (int64_t)NS_PER_SEC +
		              (rt.tv_nsec - mo.tv_nsec);

		for (int i = 0; i < n; i++) {
			struct msghdr *m = &b->msg[i].msg_hdr;
			uint64_t t = arrival_ns(m, off, now, &drops, &have_drops);

			if (have_drops && !rtcp)
				rpt_socket_drops(&st->acct, drops);
			if (rtcp) {
				if (m->msg_flags & MSG_TRUNC)
					st->acct.rtcp.malformed++;
				else
					recv_rtcp_input(o, st, b->pkt[i], b->msg[i].msg_len,
					                m->msg_name, m->msg_namelen, t);
			} else {
				on_rtp(o, st, live, m, b->msg[i].msg_len, t);
			}
		}
		if (n < BATCH)
			return 0;
	}
	return 0;
}

/* One line, rewritten each second: a terminal shows how the run goes, not a scroll of it. */
static void progress(struct recv_stream **st, unsigned n, struct live *live, uint64_t now,
                     uint64_t start, double dt)
{
	uint64_t packets = 0, bytes = 0, lost = 0, expected = 0;
	unsigned up = 0;
	char p99[32] = "-";

	for (unsigned i = 0; i < n; i++) {
		const struct rpt_stream *a = &st[i]->acct;
		packets += a->packets;
		bytes += a->bytes;
		expected += a->past_expected + a->snap.expected;
		lost += (uint64_t)(a->past_lost + a->snap.lost);
		if (a->packets && now - a->last_ns < NS_PER_SEC)
			up++;
	}
	if (live->lat.count)
		snprintf(p99, sizeof(p99), "%.2f ms", (double)lat_quantile(&live->lat, 0.99) / 1e6);
	fprintf(stderr,
	        "\r[%5.0f s] streams %u/%u up  %7.0f pkt/s  %7.2f Mbit/s  loss %6.3f%%  "
	        "p99 %s\033[K",
	        (double)(now - start) / NS_PER_SEC, up, n, (double)(packets - live->packets) / dt,
	        (double)(bytes - live->bytes) * 8 / dt / 1e6,
	        expected ? 100.0 * (double)(int64_t)lost / (double)expected : 0.0, p99);
	fflush(stderr);
	live->packets = packets;
	live->bytes = bytes;
	lat_init(&live->lat);
}

static int run(const struct recv_opts *o, struct recv_stream **st, int ep, struct batch *b,
               double *elapsed_s)
{
	struct epoll_event ev[64];
	struct live *live = calloc(1, sizeof(*live));
	uint64_t start = mono_ns();
	uint64_t end = o->duration_s > 0 ? start + (uint64_t)(o->duration_s * NS_PER_SEC) : 0;
	uint64_t next_fast = start + FAST_TICK_NS, next_sec = start + NS_PER_SEC, last_sec = start;
	bool show = !o->quiet && isatty(STDERR_FILENO);
	bool shown = false;
	int rc = 0;

	if (!live)
		return -ENOMEM;
	lat_init(&live->lat);
	while (!stop_signal) {
		uint64_t now = mono_ns();
		if (end && now >= end)
			break;
		uint64_t deadline = end && end < next_fast ? end : next_fast;
		int timeout =
		    deadline > now ? (int)((deadline - now + NS_PER_MSEC - 1) / NS_PER_MSEC) : 0;

		int k = epoll_wait(ep, ev, 64, timeout);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			fprintf(stderr, "caas-replay recv: epoll_wait: %s\n", strerror(errno));
			break;
		}
		for (int i = 0; i < k; i++) {
			unsigned idx = (unsigned)(ev[i].data.u64 >> 1);
			int err = drain(o, st[idx], ev[i].data.u64 & 1, b, live);
			if (err < 0 && !o->quiet)
				fprintf(stderr, "caas-replay recv: stream %u: receive: %s\n", idx,
				        strerror(-err));
		}
		now = mono_ns();
		if (now >= next_fast) {
			for (unsigned i = 0; i < o->streams; i++)
				recv_fb_poll(o, st[i], now);
			next_fast = now + FAST_TICK_NS;
		}
		if (now >= next_sec) {
			for (unsigned i = 0; i < o->streams; i++)
				recv_rr_send(o, st[i], now);
			if (show) {
				progress(st, o->streams, live, now, start,
				         (double)(now - last_sec) / NS_PER_SEC);
				shown = true;
			}
			last_sec = now;
			next_sec += NS_PER_SEC;
			if (next_sec <= now)
				next_sec = now + NS_PER_SEC;
		}
	}
	if (shown)
		fputc('\n', stderr);
	*elapsed_s = (double)(mono_ns() - start) / NS_PER_SEC;
	free(live);
	return rc;
}

static int write_report(const struct recv_opts *o, const struct rpt_run *r)
{
	json_t *j = rpt_json(r);
	int rc = 0;

	if (!j) {
		fprintf(stderr, "caas-replay recv: out of memory for the report\n");
		return -ENOMEM;
	}
	if (!strcmp(o->report, "-")) {
		if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(12)) < 0 ||
		    fputc('\n', stdout) == EOF || fflush(stdout))
			rc = -EIO;
	} else if (json_dump_file(j, o->report, JSON_INDENT(2) | JSON_REAL_PRECISION(12)) < 0) {
		rc = -EIO;
	}
	if (rc)
		fprintf(stderr, "caas-replay recv: cannot write the report to %s\n", o->report);
	json_decref(j);
	return rc;
}

/* --max-loss: a stream that got nothing has no loss figure, and is no pass either. */
static bool loss_exceeded(const struct recv_opts *o, const struct rpt_run *r)
{
	struct latency *lat = malloc(sizeof(*lat));
	struct rpt_fig f;

	if (!lat)
		return true;
	rpt_total_fig(r->streams, r->n, lat, &f);
	free(lat);
	if (!f.received || isnan(f.loss_ratio)) {
		fprintf(stderr,
		        "caas-replay recv: --max-loss: not every stream received anything\n");
		return true;
	}
	if (f.loss_ratio > o->max_loss) {
		fprintf(stderr, "caas-replay recv: loss %.4f%% exceeds --max-loss %.4f%%\n",
		        f.loss_ratio * 100, o->max_loss * 100);
		return true;
	}
	return false;
}

static const char *signal_name(int sig)
{
	return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
}

int replay_recv_main(int argc, char **argv)
{
	struct recv_opts o;
	struct recv_stream **st = NULL;
	struct batch *b = NULL;
	struct sigaction sa = {.sa_handler = on_signal};
	double elapsed = 0;
	int ep = -1, rc;
	int status = 0;

	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc > 0 ? 0 : EXIT_USAGE;
	rc = raise_fd_limit(o.streams);
	if (rc < 0) {
		fprintf(stderr, "caas-replay recv: %u streams need %u descriptors: %s\n", o.streams,
		        o.streams * 2 + 32, strerror(-rc));
		return EXIT_SETUP;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	b = malloc(sizeof(*b));
	if (ep < 0 || !b) {
		fprintf(stderr, "caas-replay recv: %s\n", strerror(ep < 0 ? errno : ENOMEM));
		status = EXIT_SETUP;
		goto out;
	}
	/* No SA_RESTART: a signal must end epoll_wait at once. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (open_streams(&o, ep, &st) < 0) {
		st = NULL;
		status = EXIT_SETUP;
		goto out;
	}
	if (!o.quiet)
		fprintf(stderr, "caas-replay recv: %u stream%s on %s (RTP ports %u..%u step %d), ",
		        o.streams, o.streams == 1 ? "" : "s", o.listen_str, o.port,
		        o.port + REPLAY_PORT_STEP * (o.streams - 1), REPLAY_PORT_STEP);
	if (!o.quiet && o.duration_s > 0)
		fprintf(stderr, "for %g s\n", o.duration_s);
	else if (!o.quiet)
		fprintf(stderr, "until SIGINT or SIGTERM\n");
	if (run(&o, st, ep, b, &elapsed) < 0)
		status = EXIT_SETUP;

	const struct rpt_stream **acct = calloc(o.streams, sizeof(*acct));
	if (!acct) {
		status = EXIT_SETUP;
		goto out;
	}
	for (unsigned i = 0; i < o.streams; i++)
		acct[i] = &st[i]->acct;
	struct rpt_run r = {
	    .streams = acct,
	    .n = o.streams,
	    .duration_s = elapsed,
	    .planned_s = o.duration_s,
	    .stop_signal = stop_signal ? signal_name(stop_signal) : NULL,
	    .codec = o.codec,
	    .listen = o.listen_str,
	};
	if (!o.quiet)
		rpt_print(o.report && !strcmp(o.report, "-") ? stderr : stdout, &r);
	if (o.report && write_report(&o, &r) < 0)
		status = EXIT_SETUP;
	if (!status && o.have_max_loss && loss_exceeded(&o, &r))
		status = EXIT_MAX_LOSS;
	free(acct);
out:
	if (st)
		close_streams(st, o.streams);
	free(b);
	if (ep >= 0)
		close(ep);
	return status;
}
