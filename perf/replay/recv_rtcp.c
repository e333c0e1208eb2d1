/* caas-replay recv: the RTCP an expert client exchanges with caasd. Sender reports in (for
 * LSR/DLSR); receiver reports, generic NACKs and PLIs out, each a compound led by an RR. */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "recv.h"
#include "replay.h"
#include "rtp/rtcp.h"

#define RTCP_BUF 1200

/*
 * Where our RTCP goes. caasd takes an expert's RTCP on its device port + 1 and sends its sender
 * reports from there, so the source of those reports is the answer; before one arrives, the
 * RTP's source port + 1 (RTP comes from the device port). --rtcp-to names caasd's first device
 * port instead: stream i then reports to PORT + 2i + 1.
 */
static bool rtcp_dest(const struct recv_opts *o, const struct recv_stream *st,
                      struct sockaddr_storage *dst, socklen_t *len)
{
	uint16_t port;

	if (o->have_rtcp_to) {
		*dst = o->rtcp_to;
		*len = o->rtcp_to_len;
		port = (uint16_t)(o->rtcp_to.ss_family == AF_INET6
		                      ? ntohs(((struct sockaddr_in6 *)dst)->sin6_port)
		                      : ntohs(((struct sockaddr_in *)dst)->sin_port));
		port = (uint16_t)(port + REPLAY_PORT_STEP * st->acct.index + 1);
	} else if (st->have_rtcp_peer) {
		*dst = st->rtcp_peer;
		*len = st->rtcp_peer_len;
		return true;
	} else if (st->have_rtp_src) {
		*dst = st->rtp_src;
		*len = st->rtp_src_len;
		port = (uint16_t)(dst->ss_family == AF_INET6
		                      ? ntohs(((struct sockaddr_in6 *)dst)->sin6_port)
		                      : ntohs(((struct sockaddr_in *)dst)->sin_port));
		port++;
	} else {
		return false;
	}
	if (dst->ss_family == AF_INET6)
		((struct sockaddr_in6 *)dst)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)dst)->sin_port = htons(port);
	return true;
}

/* The head of every compound we send: an RR, with a report block when with_rb and the source
 * is known, and our CNAME. Its length, or a negative errno. */
static int compound_head(struct recv_stream *st, bool with_rb, uint64_t now_ns, uint8_t *buf,
                         size_t cap)
{
	struct rtcp_rb rb = {0};
	unsigned n_rb = 0;
	int n, m;

	if (with_rb && st->acct.have_ssrc &&
	    rtp_rx_report(&st->acct.rx, st->acct.ssrc, now_ns, &rb) == 0)
		n_rb = 1;
	n = rtcp_rr_write(buf, cap, st->own_ssrc, &rb, n_rb);
	if (n < 0)
		return n;
	m = rtcp_sdes_cname_write(buf + n, cap - (size_t)n, st->own_ssrc, st->cname);
	if (m < 0)
		return m;
	return n + m;
}

static int send_compound(const struct recv_opts *o, struct recv_stream *st, const uint8_t *buf,
                         size_t len)
{
	struct sockaddr_storage dst;
	socklen_t dst_len;

	if (!rtcp_dest(o, st, &dst, &dst_len))
		return -ENOTCONN;
	if (sendto(st->rtcp_fd, buf, len, 0, (struct sockaddr *)&dst, dst_len) < 0) {
		st->acct.rtcp.send_errors++;
		return -errno;
	}
	return 0;
}

void recv_rtcp_input(const struct recv_opts *o, struct recv_stream *st, const uint8_t *buf,
                     size_t len, const struct sockaddr_storage *from, socklen_t from_len,
                     uint64_t now_ns)
{
	struct rtcp_iter it;
	struct rtcp_pkt pkt;
	struct rtcp_sr sr;

	(void)o;
	if (rtcp_validate(buf, len, RTCP_F_REDUCED_SIZE) < 0) {
		st->acct.rtcp.malformed++;
		return;
	}
	st->acct.rtcp.received++;
	st->rtcp_peer = *from;
	st->rtcp_peer_len = from_len;
	st->have_rtcp_peer = true;

	rtcp_iter_init(&it, buf, len, RTCP_F_REDUCED_SIZE);
	while (rtcp_iter_next(&it, &pkt) > 0) {
		if (pkt.pt == RTCP_PT_SR && rtcp_sr_get(&pkt, &sr) == 0)
			rpt_sr(&st->acct, sr.ssrc, sr.ntp, now_ns);
		else if (pkt.pt == RTCP_PT_BYE)
			st->acct.rtcp.bye++;
	}
}

static void nack_forget(struct recv_stream *st, unsigned i)
{
	st->nack[i] = st->nack[--st->n_nack];
}

static void send_nack(const struct recv_opts *o, struct recv_stream *st, const uint16_t *seq,
                      size_t n, uint64_t now_ns)
{
	uint8_t buf[RTCP_BUF];
	int head, m;

	/* The RR here carries no report block: a block would end the loss interval of the
	 * once-a-second report early. */
	head = compound_head(st, false, now_ns, buf, sizeof(buf));
	if (head < 0)
		return;
	m = rtcp_nack_write(buf + head, sizeof(buf) - (size_t)head, st->own_ssrc, st->acct.ssrc,
	                    seq, n);
	if (m < 0)
		return;
	if (send_compound(o, st, buf, (size_t)(head + m)) == 0) {
		st->acct.rtcp.nack_sent++;
		st->acct.rtcp.nack_seqs += n;
	}
}

static void send_pli(const struct recv_opts *o, struct recv_stream *st, uint64_t now_ns)
{
	uint8_t buf[RTCP_BUF];
	int head, m;

	st->last_pli_ns = now_ns;
	head = compound_head(st, false, now_ns, buf, sizeof(buf));
	if (head < 0)
		return;
	m = rtcp_pli_write(buf + head, sizeof(buf) - (size_t)head, st->own_ssrc, st->acct.ssrc);
	if (m < 0)
		return;
	if (send_compound(o, st, buf, (size_t)(head + m)) == 0) {
		st->acct.rtcp.pli_sent++;
		st->pli_wanted = false;
	}
}

void recv_fb_packet(const struct recv_opts *o, struct recv_stream *st, const struct rpt_pkt *p,
                    uint64_t now_ns)
{
	uint16_t seq[RTP_RX_DEF_MAX_GAP];

	if (p->ssrc_changed)
		st->n_nack = 0; /* those numbers belonged to the old source */
	if (p->keyframe)
		st->pli_wanted = false;
	if (p->cls == RTP_RX_REORDERED) {
		for (unsigned i = 0; i < st->n_nack; i++) {
			if (st->nack[i].seq == p->seq) {
				st->acct.rtcp.nack_recovered++;
				nack_forget(st, i);
				break;
			}
		}
	}
	if (p->cls != RTP_RX_IN_ORDER || !p->gap.missing)
		return;
	/* More missing than a NACK may ask for is an outage: a keyframe repairs it sooner. */
	if (o->pli && p->gap.missing > p->gap.count)
		st->pli_wanted = true;
	if (!o->nack || !p->gap.count)
		return;
	size_t n = p->gap.count < RTP_RX_DEF_MAX_GAP ? p->gap.count : RTP_RX_DEF_MAX_GAP;
	for (size_t i = 0; i < n; i++) {
		seq[i] = (uint16_t)(p->gap.first + i);
		if (st->n_nack < RECV_NACK_MAX)
			st->nack[st->n_nack++] =
			    (struct recv_nack){.seq = seq[i], .sent_ns = now_ns};
	}
	send_nack(o, st, seq, n, now_ns);
}

void recv_fb_poll(const struct recv_opts *o, struct recv_stream *st, uint64_t now_ns)
{
	uint16_t seq[RTP_RX_DEF_MAX_GAP];
	size_t n = 0;

	for (unsigned i = 0; i < st->n_nack;) {
		struct recv_nack *e = &st->nack[i];

		if (e->retried && now_ns - e->sent_ns >= RECV_NACK_EXPIRE_NS) {
			nack_forget(st, i);
			continue;
		}
		if (!e->retried && now_ns - e->sent_ns >= RECV_NACK_RETRY_NS &&
		    n < RTP_RX_DEF_MAX_GAP) {
			e->retried = true;
			seq[n++] = e->seq;
		}
		i++;
	}
	if (n)
		send_nack(o, st, seq, n, now_ns);

	if (!o->pli || !st->acct.have_ssrc)
		return;
	/* A real player asks for a picture when it cannot start decoding, and again while none
	 * comes; the wait runs from the stream's first packet, when there is someone to ask. */
	bool waiting = !st->acct.have_kf && now_ns - st->acct.first_ns >= RECV_PLI_INTERVAL_NS;
	if ((waiting || st->pli_wanted) &&
	    (!st->last_pli_ns || now_ns - st->last_pli_ns >= RECV_PLI_INTERVAL_NS))
		send_pli(o, st, now_ns);
}

void recv_rr_send(const struct recv_opts *o, struct recv_stream *st, uint64_t now_ns)
{
	uint8_t buf[RTCP_BUF];
	struct sockaddr_storage dst;
	socklen_t dst_len;
	int n;

	if (!o->rtcp || !rtcp_dest(o, st, &dst, &dst_len))
		return;
	n = compound_head(st, true, now_ns, buf, sizeof(buf));
	if (n < 0)
		return;
	if (send_compound(o, st, buf, (size_t)n) == 0)
		st->acct.rtcp.rr_sent++;
}
