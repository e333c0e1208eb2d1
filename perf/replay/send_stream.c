/* caas-replay send: the streams and the one loop that drives them. Per stream: its sockets, pacing
 * by the source's timing, the impairment, a delay queue, the history NACKs are answered from,
 * keyframes on PLI/FIR, sender reports and BYE. Due packets leave in one sendmmsg per stream. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "replay.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "send.h"

#define BATCH       64 /* packets per sendmmsg; RTCP datagrams per recvmmsg below */
#define RTCP_BATCH  8
#define RTCP_MAX    2048
#define EXT_MAX     256 /* a capture's extension block, with our element added */
#define HDR_MAX     (RTP_HDR_MIN + 4 * RTP_MAX_CSRC + 4 + EXT_MAX)
#define RETRY_NS    (200 * 1000ull) /* the socket buffer was full: how soon to try again */
#define HIST_MIN    1024
#define HIST_MAX    32768 /* half the sequence space: a number is never mistaken for another */
#define TIMER_SLACK 1000  /* ns: sleeps end this close to the due time */
#define START_LEAD  (20 * SND_NS_PER_MS)

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

uint64_t snd_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SND_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* --- set-up ----------------------------------------------------------------------------------- */

static void set_port(struct sockaddr_storage *a, uint16_t port)
{
	if (a->ss_family == AF_INET)
		((struct sockaddr_in *)a)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)a)->sin6_port = htons(port);
}

static uint16_t get_port(const struct sockaddr_storage *a)
{
	return ntohs(a->ss_family == AF_INET ? ((const struct sockaddr_in *)a)->sin_port
	                                     : ((const struct sockaddr_in6 *)a)->sin6_port);
}

static int udp_socket(int family)
{
	return socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

/* caasd sends a camera's RTCP to its RTP source port + 1, as RFC 3550 pairs them: an even
 * ephemeral port for RTP and the odd one above it for RTCP, both bound before we send. */
static int bind_pair(struct snd_stream *s, const struct sockaddr_storage *local, socklen_t len)
{
	int err = -EADDRINUSE;
	for (int attempt = 0; attempt < 128; attempt++) {
		struct sockaddr_storage a = *local;
		socklen_t alen = sizeof(a);
		int r = udp_socket(local->ss_family), c = -1;
		set_port(&a, 0);
		if (r < 0)
			return -errno;
		if (bind(r, (struct sockaddr *)&a, len) < 0 ||
		    getsockname(r, (struct sockaddr *)&a, &alen) < 0) {
			err = -errno;
			close(r);
			return err;
		}
		uint16_t p = get_port(&a);
		if (!(p & 1) && p < 65535) {
			c = udp_socket(local->ss_family);
			if (c < 0) {
				err = -errno;
				close(r);
				return err;
			}
			set_port(&a, (uint16_t)(p + 1));
			if (bind(c, (struct sockaddr *)&a, len) == 0) {
				s->fd_rtp = r;
				s->fd_rtcp = c;
				s->sport = p;
				return 0;
			}
			close(c);
		}
		close(r);
	}
	return err;
}

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t random32(void)
{
	uint32_t v;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)mix64(snd_now_ns() ^ (uint64_t)getpid() << 32);
	return v;
}

/* Enough for SND_HIST_NS of this flow at this pace. */
static uint32_t hist_size(const struct snd_ctx *cx, const struct snd_flow *fl)
{
	double secs = (double)fl->loop_ns / SND_NS_PER_SEC;
	double pps = secs > 0 ? (double)fl->n / secs * cx->tscale : 1000;
	double want = pps * (double)SND_HIST_NS / SND_NS_PER_SEC * 1.25;
	uint32_t n = HIST_MIN;
	while (n < HIST_MAX && n < want)
		n *= 2;
	return n;
}

int snd_streams_open(struct snd_ctx *cx, char *err, size_t errlen)
{
	const struct snd_opts *o = cx->o;
	int rc;

	cx->epfd = epoll_create1(EPOLL_CLOEXEC);
	cx->st = calloc(cx->n, sizeof(*cx->st));
	if (cx->epfd < 0 || !cx->st) {
		snprintf(err, errlen, "%s", strerror(cx->epfd < 0 ? errno : ENOMEM));
		return -ENOMEM;
	}
	for (unsigned i = 0; i < cx->n; i++)
		cx->st[i].fd_rtp = cx->st[i].fd_rtcp = -1;

	for (unsigned i = 0; i < cx->n; i++) {
		struct snd_stream *s = &cx->st[i];
		s->idx = i;
		s->flow = &cx->src->flows[i % cx->src->n_flows];
		s->dport = (uint16_t)(o->port + REPLAY_PORT_STEP * i);
		s->to_rtp = s->to_rtcp = o->to;
		s->to_len = o->to_len;
		set_port(&s->to_rtp, s->dport);
		set_port(&s->to_rtcp, (uint16_t)(s->dport + 1));
		s->rtt_us = -1;

		struct sockaddr_storage local = {.ss_family = o->to.ss_family};
		if (o->n_src_ip)
			local = o->src_ip[i % o->n_src_ip];
		rc = bind_pair(s, &local, o->to_len);
		if (rc < 0) {
			snprintf(err, errlen, "stream %u: no pair of source ports: %s", i,
			         strerror(-rc));
			return rc;
		}
		/* Room for the largest keyframe's burst of every stream in one batch. */
		int sz = 1 << 20;
		setsockopt(s->fd_rtp, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		for (int k = 0; k < 2; k++) {
			struct epoll_event ev = {.events = EPOLLIN,
			                         .data.u64 = (uint64_t)i << 1 | k};
			if (epoll_ctl(cx->epfd, EPOLL_CTL_ADD, k ? s->fd_rtcp : s->fd_rtp, &ev) <
			    0) {
				snprintf(err, errlen, "epoll: %s", strerror(errno));
				return -errno;
			}
		}

		/* A camera's identity is new each run, so caasd never takes a second run for a
		 * restart of the first; only the impairment repeats with --seed. */
		bool unique;
		do {
			s->ssrc = random32();
			unique = s->ssrc != 0;
			for (unsigned k = 0; k < i && unique; k++)
				unique = cx->st[k].ssrc != s->ssrc;
		} while (!unique);
		s->seq = (uint16_t)random32();
		s->seq_base = s->seq;
		s->ts_base = random32();
		snprintf(s->cname, sizeof(s->cname), "caas-replay-%d-%u", (int)getpid(), i);

		impair_init(&s->im, &o->impair, mix64(o->seed ^ mix64(i + 1ull)));
		uint32_t hn = hist_size(cx, s->flow);
		s->hist = calloc(hn, sizeof(*s->hist));
		s->qcap = 1024;
		s->q = malloc(s->qcap * sizeof(*s->q));
		if (!s->hist || !s->q) {
			snprintf(err, errlen, "%s", strerror(ENOMEM));
			return -ENOMEM;
		}
		s->hist_mask = hn - 1;
	}
	return 0;
}

void snd_streams_close(struct snd_ctx *cx)
{
	for (unsigned i = 0; cx->st && i < cx->n; i++) {
		struct snd_stream *s = &cx->st[i];
		if (s->fd_rtp >= 0)
			close(s->fd_rtp);
		if (s->fd_rtcp >= 0)
			close(s->fd_rtcp);
		free(s->hist);
		free(s->q);
	}
	free(cx->st);
	cx->st = NULL;
	if (cx->epfd >= 0)
		close(cx->epfd);
	cx->epfd = -1;
}

/* --- the delay queue: a binary min-heap on (due, order) --------------------------------------- */

static bool out_before(const struct snd_out *a, const struct snd_out *b)
{
	return a->due < b->due || (a->due == b->due && a->order < b->order);
}

static int q_push(struct snd_stream *s, const struct snd_out *o)
{
	if (s->qn == s->qcap) {
		struct snd_out *q = realloc(s->q, 2 * s->qcap * sizeof(*q));
		if (!q)
			return -ENOMEM;
		s->q = q;
		s->qcap *= 2;
	}
	size_t i = s->qn++;
	while (i) {
		size_t parent = (i - 1) / 2;
		if (!out_before(o, &s->q[parent]))
			break;
		s->q[i] = s->q[parent];
		i = parent;
	}
	s->q[i] = *o;
	return 0;
}

static struct snd_out q_pop(struct snd_stream *s)
{
	struct snd_out top = s->q[0], last = s->q[--s->qn];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= s->qn)
			break;
		if (c + 1 < s->qn && out_before(&s->q[c + 1], &s->q[c]))
			c++;
		if (!out_before(&s->q[c], &last))
			break;
		s->q[i] = s->q[c];
		i = c;
	}
	if (s->qn)
		s->q[i] = last;
	return top;
}

/* --- timing ----------------------------------------------------------------------------------- */

static int64_t wall_of(const struct snd_ctx *cx, uint64_t src_ns)
{
	return cx->tscale == 1 ? (int64_t)src_ns : (int64_t)llround((double)src_ns / cx->tscale);
}

/* --rate-scale keeps the stream a valid one: its timestamps run at the pace it is sent at. */
static int64_t ts_of(const struct snd_ctx *cx, int64_t ts)
{
	return cx->o->rate_scale == 1 ? ts : llround((double)ts / cx->o->rate_scale);
}

static uint64_t sched_of(const struct snd_ctx *cx, const struct snd_stream *s, size_t i)
{
	return (uint64_t)(s->base_ns + wall_of(cx, s->flow->pkts[i].t_ns));
}

static void next_pass(const struct snd_ctx *cx, struct snd_stream *s)
{
	const struct snd_flow *fl = s->flow;
	s->cur = 0;
	s->c.loops++;
	s->base_ns += wall_of(cx, fl->loop_ns);
	s->ts_base += ts_of(cx, fl->loop_ts);
	s->seq_base += fl->loop_seq;
}

/* --- sending ---------------------------------------------------------------------------------- */

static int transmit(struct snd_stream *s, uint32_t pkt, uint16_t seq, uint32_t ts, uint64_t due,
                    uint8_t flags)
{
	struct impair_verdict v;
	uint64_t held = s->im.reordered;
	impair_next(&s->im, &v);
	uint64_t at = due + v.delay_ns;
	/* A cellular link delays packets but keeps their order: jitter never lets a packet pass
	 * an earlier one; only the reorder fraction does. */
	if (s->im.reordered == held) {
		if (at < s->in_order_due)
			at = s->in_order_due;
		s->in_order_due = at;
	}
	if (v.drop) {
		s->c.dropped++;
		s->c.rtx_dropped += !!(flags & SND_OUT_RTX);
		return 0;
	}
	for (unsigned k = 0; k < v.copies; k++) {
		struct snd_out o = {.due = at,
		                    .order = s->qorder++,
		                    .pkt = pkt,
		                    .ts = ts,
		                    .seq = seq,
		                    .flags = (uint8_t)(flags | (k ? SND_OUT_DUP : 0))};
		int rc = q_push(s, &o);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The next packet of the flow, made now: numbered, remembered, then handed to the network. */
static int produce_one(const struct snd_ctx *cx, struct snd_stream *s, uint64_t due, uint64_t now)
{
	const struct snd_flow *fl = s->flow;
	const struct snd_pkt *p = &fl->pkts[s->cur];
	uint16_t seq = fl->renumber ? s->seq++ : (uint16_t)(s->seq_base + p->seq_off);
	uint32_t ts = (uint32_t)(s->ts_base + ts_of(cx, p->ts));
	s->hist[seq & s->hist_mask] = (struct snd_hist){
	    .made_ns = now, .pkt = (uint32_t)s->cur, .ts = ts, .seq = seq, .valid = true};
	s->c.produced++;
	return transmit(s, (uint32_t)s->cur, seq, ts, due, 0);
}

/* Move to the next keyframe, so that it goes out in the slot of the access unit that was due,
 * with that unit's timestamp: the clip jumps ahead, the stream's timing does not. False when no
 * keyframe is ahead of a stream that plays the clip once. */
static bool jump_to_key(const struct snd_ctx *cx, struct snd_stream *s)
{
	const struct snd_flow *fl = s->flow;
	size_t lo = 0, hi = fl->n_keys;
	while (lo < hi) { /* first keyframe after the cursor */
		size_t mid = (lo + hi) / 2;
		if (fl->keys[mid] <= s->cur)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint64_t t_c = fl->pkts[s->cur].t_ns, skipped;
	uint32_t k, off_c = fl->pkts[s->cur].seq_off, skipped_seq;
	if (lo < fl->n_keys) {
		k = fl->keys[lo];
		skipped = fl->pkts[k].t_ns - t_c;
		skipped_seq = fl->pkts[k].seq_off - off_c;
	} else {
		if (!s->end_ns || !fl->n_keys)
			return false;
		k = fl->keys[0];
		skipped = fl->loop_ns - t_c + fl->pkts[k].t_ns;
		skipped_seq = fl->loop_seq - off_c + fl->pkts[k].seq_off;
		next_pass(cx, s);
	}
	s->cur = k;
	s->seq_base -= skipped_seq; /* a capture's numbers stay without a gap across the jump */
	s->base_ns -= wall_of(cx, skipped);
	s->ts_base -= ts_of(cx, (int64_t)(skipped * fl->clock / SND_NS_PER_SEC));
	return true;
}

static void stream_end(struct snd_stream *s, uint64_t now)
{
	s->state = SND_LINGERING;
	s->linger_end_ns = now + SND_LINGER_NS;
}

/* Everything due by now goes into the delay queue; *next says when to come back. */
static int produce(const struct snd_ctx *cx, struct snd_stream *s, uint64_t now, uint64_t *next)
{
	const struct snd_flow *fl = s->flow;
	while (s->state == SND_PRODUCING) {
		const struct snd_pkt *p = &fl->pkts[s->cur];
		uint64_t due = sched_of(cx, s, s->cur);
		if (due > now) {
			*next = due;
			return 0;
		}
		if (p->flags & SND_F_AU_START) {
			if (s->end_ns && due >= s->end_ns) {
				stream_end(s, now);
				break;
			}
			if (s->kf_pending && !(p->flags & SND_F_KEY) &&
			    now - s->last_kf_ns >= SND_KF_HOLDOFF_NS && jump_to_key(cx, s)) {
				s->c.keyframes_forced++;
				p = &fl->pkts[s->cur];
				due = sched_of(cx, s, s->cur);
			}
			if (p->flags & SND_F_KEY) {
				s->c.keyframes++;
				s->last_kf_ns = now;
				s->kf_pending = false;
			}
		}
		int rc = produce_one(cx, s, due, now);
		if (rc < 0)
			return rc;
		if (++s->cur == fl->n) {
			if (!s->end_ns) {
				stream_end(s, now);
				break;
			}
			next_pass(cx, s);
		}
	}
	return 0;
}

struct batch {
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH][2];
	struct snd_out out[BATCH];
	int stamp[BATCH];
	uint8_t hdr[BATCH][HDR_MAX];
};

/* Our element added to a capture's own RFC 8285 elements (one of theirs with our id is
 * replaced). False when they do not fit, and the packet goes without the send time. */
static bool ext_merge(const struct snd_pkt *p, struct rtp_ext_writer *w)
{
	struct rtp_hdr orig = {
	    .ext_profile = p->ext_profile, .ext_data = p->ext, .ext_len = p->ext_len};
	struct rtp_ext_iter it;
	struct rtp_ext_elem e;
	int rc;
	if (rtp_ext_iter_init(&it, &orig) < 0)
		return false;
	while ((rc = rtp_ext_next(&it, &e)) > 0)
		if (e.id != REPLAY_EXT_ID && rtp_ext_add(w, e.id, e.data, e.len) < 0)
			return false;
	return rc == 0;
}

/* The packet's header for this stream into buf; *stamp is where the send time goes, or -1. */
static int build_hdr(const struct snd_ctx *cx, struct snd_stream *s, const struct snd_out *o,
                     uint8_t *buf, int *stamp)
{
	static const uint8_t zero[REPLAY_EXT_LEN];
	const struct snd_pkt *p = &s->flow->pkts[o->pkt];
	struct rtp_hdr h = {.marker = p->flags & SND_F_MARKER,
	                    .pt = s->flow->renumber || cx->o->pt_set ? cx->o->pt : p->pt,
	                    .seq = o->seq,
	                    .ts = o->ts,
	                    .ssrc = s->ssrc,
	                    .csrc_count = p->n_csrc,
	                    .csrc = p->csrc};
	uint8_t ext[EXT_MAX];
	struct rtp_ext_writer w;
	bool rfc8285 = p->ext && (p->ext_profile == RTP_EXT_PROFILE_ONE_BYTE ||
	                          (p->ext_profile & RTP_EXT_PROFILE_TWO_BYTE_MASK) ==
	                              RTP_EXT_PROFILE_TWO_BYTE);
	*stamp = -1;
	if (cx->o->ext && (!p->ext || rfc8285)) {
		bool two = p->ext && p->ext_profile != RTP_EXT_PROFILE_ONE_BYTE;
		rtp_ext_writer_init(&w, ext, sizeof(ext), two);
		if (!p->ext || ext_merge(p, &w)) {
			size_t at = w.len + (two ? 2 : 1);
			if (rtp_ext_add(&w, REPLAY_EXT_ID, zero, sizeof(zero)) == 0 &&
			    rtp_ext_finish(&w, &h) == 0)
				*stamp = (int)(RTP_HDR_MIN + 4u * p->n_csrc + 4 + at);
		}
	}
	if (*stamp < 0) {
		if (cx->o->ext)
			s->c.unstamped++;
		h.extension = p->ext != NULL;
		h.ext_profile = p->ext_profile;
		h.ext_data = p->ext;
		h.ext_len = p->ext_len;
	}
	int n = rtp_hdr_write(buf, HDR_MAX, &h);
	if (n > 0 && (p->flags & SND_F_PADDING))
		buf[0] |= 0x20;
	return n;
}

/* What went out: counters, and order as the receiver sees it. */
static void account_sent(struct snd_ctx *cx, struct snd_stream *s, const struct snd_out *o,
                         size_t bytes, uint64_t t)
{
	s->c.packets_sent++;
	s->c.bytes_sent += bytes;
	s->c.payload_bytes += s->flow->pkts[o->pkt].len;
	if (o->flags & SND_OUT_DUP)
		s->c.duplicated++;
	else if (o->flags & SND_OUT_RTX)
		s->c.retransmitted++;
	else if (s->any_sent && rtp_seq_diff(s->max_seq_sent, o->seq) < 0)
		s->c.reordered++;
	else {
		s->max_seq_sent = o->seq;
		s->any_sent = true;
	}
	if (!cx->first_send_ns)
		cx->first_send_ns = t;
	cx->last_send_ns = t;
	uint64_t late = t > o->due ? t - o->due : 0;
	cx->late_sum_ns += late;
	cx->late_max_ns = late > cx->late_max_ns ? late : cx->late_max_ns;
	cx->late_over_1ms += late > SND_NS_PER_MS;
}

/* Every due packet of the stream, BATCH to a sendmmsg. */
static int flush(struct snd_ctx *cx, struct snd_stream *s, uint64_t now, struct batch *b)
{
	while (s->qn && s->q[0].due <= now && now >= s->retry_ns) {
		unsigned n = 0;
		while (n < BATCH && s->qn && s->q[0].due <= now) {
			struct snd_out o = q_pop(s);
			const struct snd_pkt *p = &s->flow->pkts[o.pkt];
			int hl = build_hdr(cx, s, &o, b->hdr[n], &b->stamp[n]);
			if (hl < 0) {
				s->c.send_errors++; /* a capture's header too large to rebuild */
				continue;
			}
			b->out[n] = o;
			b->iov[n][0] = (struct iovec){.iov_base = b->hdr[n], .iov_len = (size_t)hl};
			b->iov[n][1] =
			    (struct iovec){.iov_base = (void *)p->payload, .iov_len = p->len};
			b->msg[n].msg_hdr = (struct msghdr){.msg_name = &s->to_rtp,
			                                    .msg_namelen = s->to_len,
			                                    .msg_iov = b->iov[n],
			                                    .msg_iovlen = 2};
			n++;
		}
		if (!n)
			continue;
		/* The send time as late as user space can write it: the batch is stamped together,
		 * the kernel takes it within microseconds. */
		uint64_t t = snd_now_ns();
		for (unsigned i = 0; i < n; i++)
			if (b->stamp[i] >= 0)
				wr_be64(b->hdr[i] + b->stamp[i], t);
		int r = sendmmsg(s->fd_rtp, b->msg, n, 0);
		cx->sendmmsg_calls++;
		unsigned from = 0;
		if (r < 0) {
			if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR) {
				s->c.send_errors++; /* about the first packet: drop it, keep the
				                       rest */
				from = 1;
			} else {
				s->retry_ns = now + RETRY_NS;
			}
			r = 0;
		}
		for (unsigned i = 0; i < (unsigned)r; i++)
			account_sent(cx, s, &b->out[i], b->iov[i][0].iov_len + b->iov[i][1].iov_len,
			             t);
		if ((unsigned)r < n && from == 0 && r > 0)
			s->retry_ns = now + RETRY_NS; /* a partial batch: the socket is full */
		for (unsigned i = (unsigned)r + from; i < n; i++) {
			int rc = q_push(s, &b->out[i]); /* same due and order: the same place */
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* --- RTCP ------------------------------------------------------------------------------------- */

/* The stream's RTP timestamp now, from its timeline (what an SR pairs with the NTP time). */
static uint32_t rtp_now(const struct snd_ctx *cx, const struct snd_stream *s, uint64_t now)
{
	double src_ns = ((double)(int64_t)(now - (uint64_t)s->base_ns)) * cx->tscale;
	int64_t ticks = llround(src_ns * s->flow->clock / SND_NS_PER_SEC);
	return (uint32_t)(s->ts_base + ts_of(cx, ticks));
}

static void send_sr(const struct snd_ctx *cx, struct snd_stream *s, uint64_t now, bool bye)
{
	struct timespec wall;
	uint8_t buf[512];
	clock_gettime(CLOCK_REALTIME, &wall);
	struct rtcp_sr sr = {.ssrc = s->ssrc,
	                     .ntp = rtcp_ntp_from_timespec(&wall),
	                     .rtp_ts = rtp_now(cx, s, now),
	                     .packet_count = (uint32_t)(s->c.produced + s->c.retransmitted),
	                     .octet_count = (uint32_t)s->c.payload_bytes};
	int a = rtcp_sr_write(buf, sizeof(buf), &sr, NULL, 0);
	int b =
	    a < 0 ? a : rtcp_sdes_cname_write(buf + a, sizeof(buf) - (size_t)a, s->ssrc, s->cname);
	int c = 0;
	if (b >= 0 && bye)
		c = rtcp_bye_write(buf + a + b, sizeof(buf) - (size_t)(a + b), &s->ssrc, 1,
		                   "replay ended");
	if (a < 0 || b < 0 || c < 0)
		return;
	if (sendto(s->fd_rtcp, buf, (size_t)(a + b + c), 0, (const struct sockaddr *)&s->to_rtcp,
	           s->to_len) < 0)
		s->c.send_errors++;
	else
		s->c.sr_sent++;
}

static void want_keyframe(struct snd_stream *s)
{
	if (s->flow->n_keys) /* a capture cannot make one; the request is only counted */
		s->kf_pending = true;
}

static int answer_nack(struct snd_stream *s, uint16_t seq, uint64_t now)
{
	const struct snd_hist *h = &s->hist[seq & s->hist_mask];
	s->c.nack_seqs++;
	if (s->state == SND_DONE) /* after BYE: counted, not answered */
		return 0;
	if (!h->valid || h->seq != seq || now - h->made_ns > SND_HIST_NS) {
		s->c.rtx_misses++;
		return 0;
	}
	/* The network does not know a retransmission from the first try: same loss, same delay. */
	return transmit(s, h->pkt, seq, h->ts, now, SND_OUT_RTX);
}

static void report_block(struct snd_stream *s, const struct rtcp_pkt *p)
{
	for (unsigned i = 0; i < p->count; i++) {
		struct rtcp_rb rb;
		if (rtcp_rb_get(p, i, &rb) < 0 || rb.ssrc != s->ssrc)
			continue;
		s->have_rr = true;
		s->rr_fraction = rb.fraction_lost;
		s->rr_lost = rb.cumulative_lost;
		s->rr_jitter = rb.jitter;
		struct timespec wall;
		clock_gettime(CLOCK_REALTIME, &wall);
		int64_t rtt = rtcp_rtt_us(rtcp_ntp_mid32(rtcp_ntp_from_timespec(&wall)), &rb);
		if (rtt >= 0)
			s->rtt_us = rtt;
	}
}

static int rtcp_input(struct snd_stream *s, const uint8_t *buf, size_t len, uint64_t now)
{
	struct rtcp_iter it;
	struct rtcp_pkt p;
	int rc;

	if (rtcp_validate(buf, len, RTCP_F_REDUCED_SIZE) < 0) {
		s->c.rtcp_malformed++;
		return 0;
	}
	s->c.rtcp_received++;
	rtcp_iter_init(&it, buf, len, RTCP_F_REDUCED_SIZE);
	while (rtcp_iter_next(&it, &p) > 0) {
		struct rtcp_fb fb;
		if (p.pt == RTCP_PT_SR || p.pt == RTCP_PT_RR) {
			report_block(s, &p);
			continue;
		}
		if ((p.pt != RTCP_PT_RTPFB && p.pt != RTCP_PT_PSFB) || rtcp_fb_get(&p, &fb) < 0)
			continue;
		if (p.pt == RTCP_PT_RTPFB && fb.fmt == RTCP_RTPFB_NACK &&
		    fb.media_ssrc == s->ssrc) {
			struct rtcp_nack_iter ni;
			uint16_t seq;
			s->c.nacks++;
			if (rtcp_nack_iter_init(&ni, &fb) < 0)
				continue;
			while (rtcp_nack_next(&ni, &seq) > 0)
				if ((rc = answer_nack(s, seq, now)) < 0)
					return rc;
		} else if (p.pt == RTCP_PT_PSFB && fb.fmt == RTCP_PSFB_PLI &&
		           fb.media_ssrc == s->ssrc) {
			s->c.plis++;
			want_keyframe(s);
		} else if (p.pt == RTCP_PT_PSFB && fb.fmt == RTCP_PSFB_FIR) {
			for (size_t i = 0; i < rtcp_fir_count(&fb); i++) {
				struct rtcp_fir_entry e;
				if (rtcp_fir_get(&fb, i, &e) < 0 || e.ssrc != s->ssrc)
					continue;
				/* A repeated command number is the same request sent again. */
				if (s->have_fir_seq && e.seq == s->fir_seq)
					continue;
				s->have_fir_seq = true;
				s->fir_seq = e.seq;
				s->c.firs++;
				want_keyframe(s);
			}
		}
	}
	return 0;
}

/* Whatever caasd sent to either socket (RTCP may be multiplexed on the RTP port). */
static int drain(struct snd_stream *s, int fd, uint64_t now)
{
	static uint8_t buf[RTCP_BATCH][RTCP_MAX];
	struct mmsghdr m[RTCP_BATCH];
	struct iovec iov[RTCP_BATCH];
	for (;;) {
		for (unsigned i = 0; i < RTCP_BATCH; i++) {
			iov[i] = (struct iovec){.iov_base = buf[i], .iov_len = RTCP_MAX};
			m[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
		}
		int r = recvmmsg(fd, m, RTCP_BATCH, MSG_DONTWAIT, NULL);
		if (r <= 0)
			return 0;
		for (int i = 0; i < r; i++) {
			if (fd == s->fd_rtp && !rtp_is_rtcp(buf[i], m[i].msg_len))
				continue;
			int rc = rtcp_input(s, buf[i], m[i].msg_len, now);
			if (rc < 0)
				return rc;
		}
		if (r < RTCP_BATCH)
			return 0;
	}
}

/* --- the loop --------------------------------------------------------------------------------- */

static void stream_stop(struct snd_stream *s)
{
	s->qn = 0;
	s->state = SND_DONE;
}

/* One stream's work at now; *wake is lowered to when it next needs the loop. */
static int stream_step(struct snd_ctx *cx, struct snd_stream *s, uint64_t now, struct batch *b,
                       uint64_t *wake)
{
	uint64_t next = UINT64_MAX;
	int rc;

	if (s->state == SND_WAITING) {
		if (now < s->start_ns) {
			*wake = s->start_ns < *wake ? s->start_ns : *wake;
			return 0;
		}
		s->state = SND_PRODUCING;
		s->next_sr_ns = now;
	}
	if ((rc = produce(cx, s, now, &next)) < 0)
		return rc;
	if ((rc = flush(cx, s, now, b)) < 0)
		return rc;
	/* Not before the first RTP packet: caasd takes RTCP only from a camera it has heard. */
	bool sr_due = s->c.packets_sent > 0;
	if (sr_due && now >= s->next_sr_ns) {
		send_sr(cx, s, now, false);
		s->next_sr_ns = now + SND_SR_INTERVAL_NS;
	}
	if (s->state == SND_LINGERING && !s->qn && now >= s->linger_end_ns) {
		send_sr(cx, s, now, true);
		stream_stop(s);
		return 0;
	}
	if (s->state == SND_LINGERING && s->linger_end_ns < next)
		next = s->linger_end_ns;
	if (s->qn) {
		uint64_t d = s->q[0].due > s->retry_ns ? s->q[0].due : s->retry_ns;
		next = d < next ? d : next;
	}
	if (sr_due)
		next = s->next_sr_ns < next ? s->next_sr_ns : next;
	*wake = next < *wake ? next : *wake;
	return 0;
}

/* When stream i starts. Spread over a GOP, streams whose offsets differ by whole frames would
 * still send their frames at the same instants (50 streams over 60 frames fall into 5 groups),
 * and the bursts would add up: each stream also gets its own phase in the frame interval,
 * spread evenly by the golden ratio, moving its start by less than a frame. */
static uint64_t start_offset(const struct snd_ctx *cx, unsigned i)
{
	uint64_t t = i * cx->stagger_ns, fd = (uint64_t)((double)cx->src->frame_ns / cx->tscale);
	if (!cx->spread_phase || !fd || cx->n < 2)
		return t;
	double phase = fmod(i * 0.6180339887498949, 1.0);
	return t - t % fd + (uint64_t)(phase * (double)fd);
}

int snd_run(struct snd_ctx *cx)
{
	struct sigaction sa = {.sa_handler = on_signal};
	struct epoll_event ev[64];
	struct batch *b = malloc(sizeof(*b));
	int rc = 0;

	if (!b)
		return -ENOMEM;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* Sleeps end within a microsecond of the due time instead of the default 50. */
	prctl(PR_SET_TIMERSLACK, TIMER_SLACK, 0, 0, 0);

	cx->t0_ns = snd_now_ns() + START_LEAD;
	for (unsigned i = 0; i < cx->n; i++) {
		struct snd_stream *s = &cx->st[i];
		s->start_ns = cx->t0_ns + start_offset(cx, i);
		s->base_ns = (int64_t)s->start_ns;
		s->end_ns = cx->o->duration_s > 0
		                ? s->start_ns + (uint64_t)(cx->o->duration_s * SND_NS_PER_SEC)
		                : 0;
		s->state = SND_WAITING;
	}
	getrusage(RUSAGE_SELF, &cx->ru0);
	uint64_t next_progress = cx->t0_ns + SND_NS_PER_SEC;

	for (;;) {
		uint64_t now = snd_now_ns(), wake = UINT64_MAX;
		unsigned live = 0;
		if (got_signal && !cx->stop_signal) {
			cx->stop_signal = got_signal == SIGINT ? "SIGINT" : "SIGTERM";
			for (unsigned i = 0; i < cx->n; i++) {
				struct snd_stream *s = &cx->st[i];
				if (s->state == SND_PRODUCING || s->state == SND_LINGERING)
					send_sr(cx, s, now, true);
				stream_stop(s);
			}
		}
		for (unsigned i = 0; i < cx->n; i++) {
			struct snd_stream *s = &cx->st[i];
			if (s->state == SND_DONE)
				continue;
			if ((rc = stream_step(cx, s, now, b, &wake)) < 0)
				goto out;
			live += s->state != SND_DONE;
		}
		if (!live)
			break;
		if (cx->progress) {
			if (now >= next_progress) {
				snd_progress(stderr, cx, now);
				next_progress += SND_NS_PER_SEC;
			}
			wake = next_progress < wake ? next_progress : wake;
		}

		now = snd_now_ns();
		uint64_t dt = wake > now ? wake - now : 0;
		struct timespec to = {.tv_sec = (time_t)(dt / SND_NS_PER_SEC),
		                      .tv_nsec = (long)(dt % SND_NS_PER_SEC)};
		int ne = epoll_pwait2(cx->epfd, ev, 64, &to, NULL);
		cx->wakeups++;
		if (ne < 0 && errno != EINTR) {
			rc = -errno;
			goto out;
		}
		now = snd_now_ns();
		for (int i = 0; i < ne; i++) {
			struct snd_stream *s = &cx->st[ev[i].data.u64 >> 1];
			rc = drain(s, ev[i].data.u64 & 1 ? s->fd_rtcp : s->fd_rtp, now);
			if (rc < 0)
				goto out;
		}
	}
out:
	getrusage(RUSAGE_SELF, &cx->ru1);
	cx->end_ns = snd_now_ns();
	if (cx->progress)
		fputs("\r\033[K", stderr);
	free(b);
	return rc;
}
