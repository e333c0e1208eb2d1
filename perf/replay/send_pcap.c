/* caas-replay send: a capture libpcap reads (pcap or pcapng; Ethernet, Linux cooked, raw IP or
 * loopback framing) whose RTP over UDP becomes flows, one per source, SSRC and destination, each
 * replayed with the capture's own timing, headers and payloads. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <pcap/pcap.h>

#include "net/net.h"
#include "rtp/h26x.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "send.h"

/* Sequence numbers remembered per flow to drop a capture's duplicates (a power of two). */
#define DUP_WINDOW 4096

struct flow_load {
	struct net_addr src, dst;
	uint16_t sport, dport;
	uint32_t ssrc;
	size_t cap;
	size_t *offs;     /* the RTP packet's offset in the arena, until it stops moving */
	uint32_t *lens;   /* its length */
	uint64_t first_t; /* capture time of the first packet, ns */
	uint32_t last_ts;
	int64_t ts_ext;
	uint64_t seq_first, seq_max; /* extended: the first packet's number is 1 << 16 | seq */
	uint64_t seen[DUP_WINDOW / 64];
	uint64_t frames;
};

struct pcap_load {
	struct snd_source *src;
	struct flow_load *fl; /* parallel to src->flows */
	size_t flows_cap, arena_cap;
	size_t last; /* the flow the previous packet belonged to */
};

static bool same_flow(const struct flow_load *f, const struct net_pkt *np, uint32_t ssrc)
{
	return f->ssrc == ssrc && f->sport == np->sport && f->dport == np->dport &&
	       net_addr_eq(&f->src, &np->src) && net_addr_eq(&f->dst, &np->dst);
}

static int find_flow(struct pcap_load *pl, const struct net_pkt *np, uint32_t ssrc, size_t *out)
{
	struct snd_source *src = pl->src;
	if (pl->last < src->n_flows && same_flow(&pl->fl[pl->last], np, ssrc)) {
		*out = pl->last;
		return 0;
	}
	for (size_t i = 0; i < src->n_flows; i++) {
		if (same_flow(&pl->fl[i], np, ssrc)) {
			*out = pl->last = i;
			return 0;
		}
	}
	if (src->n_flows == pl->flows_cap) {
		size_t ncap = pl->flows_cap ? pl->flows_cap * 2 : 16;
		struct snd_flow *a = realloc(src->flows, ncap * sizeof(*a));
		if (a)
			src->flows = a;
		struct flow_load *b = realloc(pl->fl, ncap * sizeof(*b));
		if (b)
			pl->fl = b;
		if (!a || !b)
			return -ENOMEM;
		pl->flows_cap = ncap;
	}
	size_t i = src->n_flows++;
	memset(&src->flows[i], 0, sizeof(src->flows[i]));
	memset(&pl->fl[i], 0, sizeof(pl->fl[i]));
	pl->fl[i].src = np->src;
	pl->fl[i].dst = np->dst;
	pl->fl[i].sport = np->sport;
	pl->fl[i].dport = np->dport;
	pl->fl[i].ssrc = ssrc;
	*out = pl->last = i;
	return 0;
}

/* The capture's sequence numbers, extended; false for a duplicate or for a packet older than
 * the flow's first (which a replay that starts there cannot place). */
static bool take_seq(struct flow_load *f, struct snd_flow *fl, uint16_t seq, uint64_t *ext)
{
	if (!fl->n) {
		*ext = f->seq_first = f->seq_max = 1u << 16 | seq;
	} else {
		*ext = f->seq_max + (uint64_t)(int64_t)rtp_seq_diff((uint16_t)f->seq_max, seq);
		if (*ext < f->seq_first)
			return false;
	}
	uint64_t *w = &f->seen[(*ext / 64) % (DUP_WINDOW / 64)], bit = 1ull << (*ext % 64);
	if (*ext > f->seq_max) {
		/* Forget what slides out of the window as the highest number moves on. */
		for (uint64_t s = f->seq_max + 1; s < *ext && s <= f->seq_max + DUP_WINDOW; s++)
			f->seen[(s / 64) % (DUP_WINDOW / 64)] &= ~(1ull << (s % 64));
		f->seq_max = *ext;
	} else if (f->seq_max - *ext < DUP_WINDOW && (*w & bit)) {
		fl->capture_dups++;
		return false;
	}
	*w |= bit;
	return true;
}

static int add_packet(struct pcap_load *pl, const struct net_pkt *np, const uint8_t *rtp,
                      size_t len, uint64_t t_ns)
{
	struct snd_source *src = pl->src;
	struct rtp_hdr h;
	size_t i, off;
	uint64_t ext;
	int rc;

	if (rtp_is_rtcp(rtp, len)) {
		src->rtcp++;
		return 0;
	}
	if (rtp_parse(rtp, len, &h) < 0) {
		src->not_rtp++;
		return 0;
	}
	if ((rc = find_flow(pl, np, h.ssrc, &i)) < 0)
		return rc;
	struct flow_load *f = &pl->fl[i];
	struct snd_flow *fl = &src->flows[i];
	if (!take_seq(f, fl, h.seq, &ext))
		return 0;
	if (fl->n == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 256;
		struct snd_pkt *a = realloc(fl->pkts, ncap * sizeof(*a));
		if (a)
			fl->pkts = a;
		size_t *b = realloc(f->offs, ncap * sizeof(*b));
		if (b)
			f->offs = b;
		uint32_t *c = realloc(f->lens, ncap * sizeof(*c));
		if (c)
			f->lens = c;
		if (!a || !b || !c)
			return -ENOMEM;
		f->cap = ncap;
	}
	if ((rc = snd_arena_put(src, &pl->arena_cap, rtp, len, &off)) < 0)
		return rc;
	bool au_start = !fl->n || h.ts != f->last_ts;
	if (!fl->n)
		f->first_t = t_ns;
	else
		f->ts_ext += (int32_t)(h.ts - f->last_ts);
	f->last_ts = h.ts;
	f->frames += au_start;
	f->offs[fl->n] = off;
	f->lens[fl->n] = (uint32_t)len;
	/* A capture's clock can step back (NTP); a replay cannot. */
	uint64_t t = t_ns > f->first_t ? t_ns - f->first_t : 0;
	if (fl->n && t < fl->pkts[fl->n - 1].t_ns)
		t = fl->pkts[fl->n - 1].t_ns;
	fl->pkts[fl->n++] = (struct snd_pkt){
	    .t_ns = t,
	    .ts = f->ts_ext,
	    .seq_off = (uint32_t)(ext - f->seq_first),
	    .pt = h.pt,
	    .flags = (uint8_t)((h.marker ? SND_F_MARKER : 0) | (h.padding ? SND_F_PADDING : 0) |
	                       (au_start ? SND_F_AU_START : 0)),
	};
	return 0;
}

/* The frame's IP packet, by link type; NULL for what we do not look into. */
static const uint8_t *link_ip(int dlt, const uint8_t *p, size_t len, size_t *ip_len)
{
	size_t hl;
	switch (dlt) {
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		hl = 0;
		break;
	case DLT_NULL:
	case DLT_LOOP:
		hl = 4;
		break;
	case DLT_LINUX_SLL:
		if (len < 16 || (rd_be16(p + 14) != NET_ETHERTYPE_IPV4 &&
		                 rd_be16(p + 14) != NET_ETHERTYPE_IPV6))
			return NULL;
		hl = 16;
		break;
	case DLT_LINUX_SLL2:
		if (len < 20 ||
		    (rd_be16(p) != NET_ETHERTYPE_IPV4 && rd_be16(p) != NET_ETHERTYPE_IPV6))
			return NULL;
		hl = 20;
		break;
	default:
		return NULL;
	}
	if (len < hl)
		return NULL;
	*ip_len = len - hl;
	return p + hl;
}

/* Nearest usual RTP clock rate to what the timestamps advanced per second. */
static uint32_t guess_clock(int64_t ts_span, uint64_t span_ns)
{
	static const uint32_t rates[] = {8000, 16000, 22050, 24000, 32000, 44100, 48000, 90000};
	if (ts_span <= 0 || span_ns < 200 * SND_NS_PER_MS)
		return 90000;
	double r = (double)ts_span * SND_NS_PER_SEC / (double)span_ns;
	uint32_t best = 90000;
	double dmin = 1e300;
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		double d = r > rates[i] ? r / rates[i] : rates[i] / r;
		if (d < dmin) {
			dmin = d;
			best = rates[i];
		}
	}
	return dmin < 1.1 ? best : (uint32_t)(r + 0.5);
}

static void addr_str(const struct net_addr *a, uint16_t port, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (a->family == NET_AF_IP4) {
		uint32_t be = htonl(a->v4);
		inet_ntop(AF_INET, &be, ip, sizeof(ip));
		snprintf(buf, cap, "%s:%u", ip, port);
	} else {
		inet_ntop(AF_INET6, a->v6, ip, sizeof(ip));
		snprintf(buf, cap, "[%s]:%u", ip, port);
	}
}

/* A capture does not say what its payload is: the codec whose parameter sets it carries. */
static int guess_codec(const struct snd_flow *fl, enum h26x_codec *out)
{
	unsigned hits[2] = {0, 0};
	for (size_t k = 0; k < fl->n && k < 4096; k++) {
		for (int c = 0; c < 2; c++) {
			struct h26x_scan sc;
			h26x_scan_payload(c ? H26X_H265 : H26X_H264, fl->pkts[k].payload,
			                  fl->pkts[k].len, &sc);
			for (int i = 0; i < H26X_PS_COUNT; i++)
				hits[c] += sc.ps[i] != NULL;
		}
	}
	if (hits[0] == hits[1])
		return -ENOENT;
	*out = hits[1] > hits[0] ? H26X_H265 : H26X_H264;
	return 0;
}

/* Keyframe access units, marked on their first packet, where the parameter sets usually are:
 * where a PLI makes the replay jump to, as it does for a clip. */
static int mark_keys(struct snd_flow *fl, enum h26x_codec codec)
{
	size_t au = 0, cap = 0;
	for (size_t k = 0; k < fl->n; k++) {
		struct snd_pkt *p = &fl->pkts[k];
		struct h26x_scan sc;
		if (p->flags & SND_F_AU_START)
			au = k;
		h26x_scan_payload(codec, p->payload, p->len, &sc);
		if (!sc.keyframe || (fl->pkts[au].flags & SND_F_KEY))
			continue;
		if (fl->n_keys == cap) {
			cap = cap ? 2 * cap : 64;
			uint32_t *keys = realloc(fl->keys, cap * sizeof(*keys));
			if (!keys)
				return -ENOMEM;
			fl->keys = keys;
		}
		fl->pkts[au].flags |= SND_F_KEY;
		fl->keys[fl->n_keys++] = (uint32_t)au;
	}
	return 0;
}

/* Pointers into the arena, loop lengths, the clock; drops flows too short to replay. */
static int finish_flows(struct pcap_load *pl)
{
	struct snd_source *src = pl->src;
	size_t keep = 0;
	for (size_t i = 0; i < src->n_flows; i++) {
		struct snd_flow *fl = &src->flows[i];
		struct flow_load *f = &pl->fl[i];
		if (fl->n < 2) {
			src->short_flows++;
			free(fl->pkts);
			free(f->offs);
			free(f->lens);
			continue;
		}
		for (size_t k = 0; k < fl->n; k++) {
			struct snd_pkt *p = &fl->pkts[k];
			struct rtp_hdr h;
			rtp_parse(src->arena + f->offs[k], f->lens[k],
			          &h); /* parsed once already */
			p->payload = h.payload;
			p->len = (uint32_t)(h.payload_len + h.pad_len);
			p->n_csrc = h.csrc_count;
			p->csrc = h.csrc_count ? h.csrc : NULL;
			p->ext = h.ext_data;
			p->ext_len = h.ext_len;
			p->ext_profile = h.ext_profile;
			fl->bytes += p->len;
		}
		uint64_t span = fl->pkts[fl->n - 1].t_ns;
		int64_t ts_span = f->ts_ext;
		fl->clock = guess_clock(ts_span, span);
		/* The next pass starts one frame interval after the last frame. */
		fl->loop_ns = span + (f->frames > 1 ? span / (f->frames - 1) : 20 * SND_NS_PER_MS);
		fl->loop_ts = ts_span > 0 && f->frames > 1
		                  ? ts_span + ts_span / (int64_t)(f->frames - 1)
		                  : (int64_t)(fl->loop_ns * fl->clock / SND_NS_PER_SEC);
		if (!keep)
			src->frame_ns = fl->loop_ns / (f->frames ? f->frames : 1);
		fl->loop_seq = (uint32_t)(f->seq_max - f->seq_first + 1);
		fl->capture_gaps = fl->loop_seq - fl->n;
		fl->orig_ssrc = f->ssrc;
		char a[64], b[64];
		addr_str(&f->src, f->sport, a, sizeof(a));
		addr_str(&f->dst, f->dport, b, sizeof(b));
		snprintf(fl->desc, sizeof(fl->desc), "%s -> %s ssrc 0x%08x pt %u", a, b, f->ssrc,
		         fl->pkts[0].pt);
		enum h26x_codec codec;
		if (guess_codec(fl, &codec) == 0) {
			fl->codec = codec == H26X_H264 ? "h264" : "h265";
			if (mark_keys(fl, codec) < 0)
				return -ENOMEM;
		}
		free(f->offs);
		free(f->lens);
		src->flows[keep] = *fl;
		pl->fl[keep] = *f;
		keep++;
	}
	src->n_flows = keep;
	return 0;
}

int snd_pcap_open(const char *path, struct snd_source *src, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct pcap_load pl = {.src = src};
	struct pcap_pkthdr *ph;
	const uint8_t *data;
	int rc;

	memset(src, 0, sizeof(*src));
	pcap_t *pc =
	    pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (!pc) {
		snprintf(err, errlen, "%s", ebuf);
		return -ENOTSUP;
	}
	int dlt = pcap_datalink(pc);
	if (dlt != DLT_EN10MB && dlt != DLT_RAW && dlt != DLT_IPV4 && dlt != DLT_IPV6 &&
	    dlt != DLT_NULL && dlt != DLT_LOOP && dlt != DLT_LINUX_SLL && dlt != DLT_LINUX_SLL2) {
		snprintf(err, errlen, "capture link type %s is not supported",
		         pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "?");
		pcap_close(pc);
		return -EINVAL;
	}
	src->kind = SND_SRC_PCAP;

	while ((rc = pcap_next_ex(pc, &ph, &data)) == 1) {
		struct net_pkt np;
		const uint8_t *l3 = data;
		size_t l3_len = ph->caplen;
		src->frames++;
		/* The replay does not care whether a capture's checksums were filled in: captures
		 * taken on the sender show the partial sums of checksum offload. */
		unsigned pf = NET_PARSE_IP_CSUM_OK | NET_PARSE_UDP_CSUM_OK;
		if (ph->caplen < ph->len) {
			src->not_rtp++; /* truncated by the snap length */
			continue;
		}
		if (dlt == DLT_EN10MB)
			rc = net_parse(data, ph->caplen, pf, &np);
		else if ((l3 = link_ip(dlt, data, ph->caplen, &l3_len)))
			rc = net_parse_ip(l3, l3_len, pf, &np);
		else
			rc = -EAFNOSUPPORT;
		if (rc == -EFBIG) {
			src->fragments++;
			continue;
		}
		if (rc < 0 || np.proto != NET_PROTO_UDP) {
			src->not_rtp++;
			continue;
		}
		uint64_t t = (uint64_t)ph->ts.tv_sec * SND_NS_PER_SEC + (uint64_t)ph->ts.tv_usec;
		rc = add_packet(&pl, &np, l3 + np.payload_off, np.payload_len, t);
		if (rc < 0) {
			snprintf(err, errlen, "%s", strerror(-rc));
			goto fail;
		}
	}
	if (rc == PCAP_ERROR) {
		snprintf(err, errlen, "%s", pcap_geterr(pc));
		rc = -EINVAL;
		goto fail;
	}
	pcap_close(pc);
	pc = NULL;
	if (finish_flows(&pl) < 0) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		free(pl.fl);
		snd_source_free(src);
		return -ENOMEM;
	}
	free(pl.fl);
	if (!src->n_flows) {
		snprintf(err, errlen,
		         "no RTP over UDP in the capture (%" PRIu64 " frames, %" PRIu64
		         " not RTP, %" PRIu64 " RTCP, %" PRIu64 " fragments)",
		         src->frames, src->not_rtp, src->rtcp, src->fragments);
		snd_source_free(src);
		return -EINVAL;
	}
	uint64_t pkts = 0;
	for (size_t i = 0; i < src->n_flows; i++) {
		const struct snd_flow *fl = &src->flows[i];
		pkts += fl->n;
		src->keyframes += fl->n_keys;
		if (!src->gop_ns && fl->n_keys >= 2)
			src->gop_ns =
			    (fl->pkts[fl->keys[fl->n_keys - 1]].t_ns - fl->pkts[fl->keys[0]].t_ns) /
			    (fl->n_keys - 1);
	}
	snprintf(src->desc, sizeof(src->desc),
	         "capture: %zu RTP flow%s, %" PRIu64 " packets (of %" PRIu64 " frames)",
	         src->n_flows, src->n_flows == 1 ? "" : "s", pkts, src->frames);
	return 0;
fail:
	for (size_t i = 0; i < src->n_flows; i++) {
		free(pl.fl[i].offs);
		free(pl.fl[i].lens);
	}
	free(pl.fl);
	if (pc)
		pcap_close(pc);
	snd_source_free(src);
	return rc;
}
