/* dp_bench: the dataplane's classification and fan-out code on an in-memory port (DPDK's ring
 * PMD, no kernel in the way), on one core. N camera streams of RTP packets, each fanned out to
 * K subscribers; the cost of making the input packets (what a NIC's DMA would do) is timed
 * separately and left out. Prints one JSON object on its last line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dataplane/config.h"
#include "dataplane/dp.h"
#include "rtp/rtp.h"

#define BURST  32
#define OUR_IP 0xc6120001u /* 198.18.0.1 */
#define CAM_IP 0xc6120002u /* 198.18.0.2 */

struct opts {
	unsigned streams, fanout, payload, trials, kf_every;
	double seconds;
	int zero_copy; /* 1, 0, or -1 for both */
};

struct bench {
	struct dp_ctx dp;
	struct caas_config cfg;
	struct rte_ring *rx, *tx;
	uint8_t frame[2048]; /* template frame; per packet: UDP port, RTP seq/ts/ssrc, FU header */
	size_t frame_len;
	uint64_t k; /* packets generated */
	uint64_t gen_cycles;
};

static volatile bool never;

static void die(const char *msg)
{
	fprintf(stderr, "dp_bench: %s\n", msg);
	exit(1);
}

static void build_template(struct bench *b, const struct opts *o)
{
	uint8_t *f = b->frame;
	memcpy(f, b->dp.mac.addr_bytes, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x02", 6);
	wr_be16(f + 12, 0x0800);
	uint8_t *ip = f + 14;
	size_t rtp_len = o->payload;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	wr_be16(ip + 2, (uint16_t)(20 + 8 + rtp_len));
	wr_be16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = 17;
	wr_be32(ip + 12, CAM_IP);
	wr_be32(ip + 16, OUR_IP);
	wr_be16(ip + 10, (uint16_t)~net_csum_fold(net_csum_partial(ip, 20, 0)));
	uint8_t *udp = ip + 20;
	wr_be16(udp, 5000);
	wr_be16(udp + 4, (uint16_t)(8 + rtp_len));
	wr_be16(udp + 6, 0); /* no checksum over IPv4, as many cameras send */
	uint8_t *rtp = udp + 8;
	memset(rtp, 0, rtp_len);
	rtp[0] = 0x80;
	rtp[1] = 96;
	rtp[12] = 0x7c; /* FU-A, NRI 3 */
	b->frame_len = 14 + 20 + 8 + rtp_len;
}

/* A burst of input packets into the port's receive ring: stream k % N, its (k / N)th packet;
 * four packets a frame, a keyframe every kf_every packets of a stream. */
static void generate(struct bench *b, const struct opts *o)
{
	struct rte_mbuf *m[BURST];
	uint64_t t0 = rte_rdtsc();
	if (rte_pktmbuf_alloc_bulk(b->dp.pool, m, BURST) < 0)
		die("input mempool exhausted: raise mbufs");
	for (int i = 0; i < BURST; i++, b->k++) {
		uint32_t s = (uint32_t)(b->k % o->streams);
		uint32_t n = (uint32_t)(b->k / o->streams);
		uint8_t *f = rte_pktmbuf_mtod(m[i], uint8_t *);
		memcpy(f, b->frame, b->frame_len);
		wr_be16(f + 36, (uint16_t)(10000 + 2 * s));
		uint8_t *rtp = f + 42;
		wr_be16(rtp + 2, (uint16_t)n);
		wr_be32(rtp + 4, (n / 4) * 3000);
		wr_be32(rtp + 8, 0x1000 + s);
		bool kf = n % o->kf_every == 0;
		rtp[13] = kf ? 0x85 : (uint8_t)(n % 4 == 0 ? 0x81 : 0x01);
		m[i]->data_len = (uint16_t)b->frame_len;
		m[i]->pkt_len = (uint32_t)b->frame_len;
	}
	if (rte_ring_enqueue_bulk(b->rx, (void **)m, BURST, NULL) != BURST)
		rte_pktmbuf_free_bulk(m, BURST);
	b->gen_cycles += rte_rdtsc() - t0;
}

/* What a NIC does after sending: free the frames (a chain frees its indirect payload too). */
static void drain(struct bench *b)
{
	void *out[256];
	unsigned n;
	while ((n = rte_ring_dequeue_burst(b->tx, out, 256, NULL)) > 0)
		rte_pktmbuf_free_bulk((struct rte_mbuf **)out, n);
}

static void setup_streams(struct bench *b, const struct opts *o)
{
	struct dp_ctx *dp = &b->dp;
	void *reply;
	for (unsigned i = 0; i < o->streams; i++) {
		struct dp_dev *dev = rte_zmalloc(NULL, sizeof(*dev), RTE_CACHE_LINE_SIZE);
		if (!dev)
			die("out of memory");
		snprintf(dev->name, sizeof(dev->name), "cam%u", i);
		dev->port = (uint16_t)(10000 + 2 * i);
		dev->rtcp_port = (uint16_t)(dev->port + 1);
		dev->codec = DP_H264;
		dev->pt = 96;
		dev->clock = 90000;
		dev->src_any = true;
		dev->st.cache = rte_zmalloc(NULL, sizeof(void *) * b->cfg.cache_packets, 64);
		dev->st.subs = rte_zmalloc(NULL, sizeof(void *) * b->cfg.max_subs_per_stream, 64);
		struct dp_msg msg = {.type = DP_MSG_DEV_ADD, .dev = dev};
		dp_apply_msg(dp, &msg);
		rte_ring_dequeue(dp->reply_ring, &reply);
		if (msg.rc < 0)
			die("device add failed");
		for (unsigned j = 0; j < o->fanout; j++) {
			struct dp_sub *sub = rte_zmalloc(NULL, sizeof(*sub), RTE_CACHE_LINE_SIZE);
			sub->id = i * o->fanout + j + 1;
			sub->st = &dev->st;
			sub->to = net_addr4(0xc6130000u + i * o->fanout + j); /* 198.19.x.y */
			sub->to_port = 20000;
			sub->rtcp_port = 20001;
			sub->state = DP_SUB_LIVE;
			if (dp_sub_l2_init(dp, sub) < 0)
				die("subscriber has no route");
			struct net_learn l = {.ip = sub->to, .has_mac = true, .override = true};
			memcpy(l.mac, "\x02\x00\x00\x00\x01\x00", 6);
			l.mac[4] = (uint8_t)(j + 1);
			uint8_t mac[6];
			net_neigh_output(&dp->neigh, &sub->to, dp->now_ns, NULL,
			                 mac); /* resolving */
			l.how = NET_LEARN_CONFIRM;
			net_neigh_learn(&dp->neigh, &l, dp->now_ns);
			struct dp_msg sm = {.type = DP_MSG_SUB_ADD, .sub = sub};
			dp_apply_msg(dp, &sm);
			rte_ring_dequeue(dp->reply_ring, &reply);
			if (sm.rc < 0)
				die("subscription failed");
		}
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Run trials of o->seconds each after one warm-up; fill the medians. */
static void run(struct bench *b, const struct opts *o, double *in_mpps, double *out_mpps,
                double *spread)
{
	struct dp_ctx *dp = &b->dp;
	double ins[64], outs[64];
	uint64_t hz = rte_get_tsc_hz();
	for (unsigned t = 0; t <= o->trials; t++) {
		uint64_t rx0 = dp->stats.rx_packets, tx0 = dp->stats.tx_packets;
		b->gen_cycles = 0;
		uint64_t start = rte_rdtsc(), end = start + (uint64_t)(o->seconds * (double)hz);
		while (rte_rdtsc() < end) {
			generate(b, o);
			dp_poll_once(dp);
			drain(b);
		}
		double secs = (double)(rte_rdtsc() - start - b->gen_cycles) / (double)hz;
		if (t == 0)
			continue; /* warm-up: caches fill, rates settle */
		ins[t - 1] = (double)(dp->stats.rx_packets - rx0) / secs / 1e6;
		outs[t - 1] = (double)(dp->stats.tx_packets - tx0) / secs / 1e6;
	}
	double lo = ins[0], hi = ins[0];
	for (unsigned t = 1; t < o->trials; t++) {
		lo = ins[t] < lo ? ins[t] : lo;
		hi = ins[t] > hi ? ins[t] : hi;
	}
	qsort(ins, o->trials, sizeof(double), cmp_double);
	qsort(outs, o->trials, sizeof(double), cmp_double);
	*in_mpps = ins[o->trials / 2];
	*out_mpps = outs[o->trials / 2];
	*spread = *in_mpps > 0 ? (hi - lo) / *in_mpps : 0;
}

int main(int argc, char **argv)
{
	struct opts o = {.streams = 1000,
	                 .fanout = 4,
	                 .payload = 1200,
	                 .trials = 5,
	                 .kf_every = 64,
	                 .seconds = 1.0,
	                 .zero_copy = -1};
	static const struct option lo[] = {
	    {"streams", required_argument, NULL, 's'},
	    {"fanout", required_argument, NULL, 'f'},
	    {"payload", required_argument, NULL, 'p'},
	    {"trials", required_argument, NULL, 't'},
	    {"seconds", required_argument, NULL, 'S'},
	    {"mode", required_argument, NULL, 'm'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			o.streams = (unsigned)atoi(optarg);
			break;
		case 'f':
			o.fanout = (unsigned)atoi(optarg);
			break;
		case 'p':
			o.payload = (unsigned)atoi(optarg);
			break;
		case 't':
			o.trials = (unsigned)atoi(optarg);
			break;
		case 'S':
			o.seconds = atof(optarg);
			break;
		case 'm':
			o.zero_copy = !strcmp(optarg, "zero-copy") ? 1
			              : !strcmp(optarg, "copy")    ? 0
			                                           : -1;
			break;
		default:
			fprintf(stderr,
			        "usage: dp_bench [--streams N] [--fanout K] [--payload BYTES] "
			        "[--trials N] [--seconds S] [--mode zero-copy|copy|both]\n");
			return 2;
		}
	}
	if (!o.streams || o.streams > 30000 || o.fanout > 64 || o.payload < 64 ||
	    o.payload > 1400 || !o.trials || o.trials > 64)
		die("argument out of range");

	char *eal[] = {argv[0],
	               "-l",
	               "0",
	               "--in-memory",
	               "--no-pci",
	               "--no-telemetry",
	               "--log-level=lib.eal:warning",
	               NULL};
	if (rte_eal_init(7, eal) < 0)
		die("EAL initialisation failed");

	static struct bench b;
	caas_config_defaults(&b.cfg);
	b.cfg.mbufs = 262143;
	b.cfg.cache_packets = 256;
	b.cfg.nack_cache_ms = 10;
	b.cfg.fast_start_bytes = 96 * 1024;
	b.cfg.max_devices = o.streams;
	b.cfg.max_subs_per_stream = o.fanout ? o.fanout : 1;
	b.cfg.neigh_entries = o.streams * o.fanout + 64;
	b.cfg.ip4.set = true;
	b.cfg.ip4.v4.s_addr = htonl(OUR_IP);
	b.cfg.ip4.plen = 15;
	b.cfg.burst = BURST;
	b.cfg.rr_interval_ms = 1000;

	b.rx = rte_ring_create("bench_rx", 4096, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	b.tx = rte_ring_create("bench_tx", 1 << 16, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	int pid = rte_eth_from_rings("bench", &b.rx, 1, &b.tx, 1, 0);
	if (!b.rx || !b.tx || pid < 0)
		die("cannot create the ring port");
	b.dp.cfg = &b.cfg;
	b.dp.quit = &never;
	char err[256];
	if (dp_port_setup(&b.dp, &b.cfg, (uint16_t)pid, err, sizeof(err)) < 0)
		die(err);
	b.dp.now_ns = dp_mono_ns(); /* the clock dp_poll_once() keeps */
	build_template(&b, &o);
	setup_streams(&b, &o);

	/* The ring PMD hands chains through as they are, so both fan-out modes can be measured;
	 * a NIC's driver reports multi-segment TX itself. */
	double res[2][3] = {{0}};
	bool ran[2] = {false, false};
	for (int zc = 1; zc >= 0; zc--) {
		if (o.zero_copy >= 0 && o.zero_copy != zc)
			continue;
		b.dp.multiseg_tx = zc;
		b.cfg.zero_copy = zc;
		run(&b, &o, &res[zc][0], &res[zc][1], &res[zc][2]);
		ran[zc] = true;
		fprintf(
		    stderr,
		    "%-9s  in %.2f Mpps/core  out %.2f Mpps/core  (median of %u, spread %.0f%%)\n",
		    zc ? "zero-copy" : "copy", res[zc][0], res[zc][1], o.trials, res[zc][2] * 100);
	}
	const struct dp_port_stats *s = &b.dp.stats;
	uint64_t sub_nombuf = 0, sub_unres = 0, malformed = 0, pk = 0;
	for (uint32_t i = 0; i < b.dp.n_devs; i++) {
		struct dp_stream *st = &b.dp.devs[i]->st;
		malformed += st->stats.malformed;
		pk += st->stats.packets;
		for (uint16_t j = 0; j < st->n_subs; j++) {
			sub_nombuf += st->subs[j]->stats.dropped_no_mbuf;
			sub_unres += st->subs[j]->stats.dropped_unresolved;
		}
	}
	fprintf(stderr,
	        "rx %lu tx %lu stream packets %lu malformed %lu | l2 %lu l3 %lu l4 %lu "
	        "unknown_port %lu tx_full %lu no_mbuf %lu neigh_q %lu | sub no_mbuf %lu "
	        "unresolved %lu\n",
	        s->rx_packets, s->tx_packets, pk, malformed, s->drop_l2, s->drop_l3, s->drop_l4,
	        s->drop_unknown_port, s->drop_tx_full, s->drop_no_mbuf, s->drop_neigh_queue,
	        sub_nombuf, sub_unres);
	int best = ran[1] ? 1 : 0;
	printf("{\"scenario\":\"dataplane\",\"streams\":%u,\"fanout\":%u,\"packet_bytes\":%u,"
	       "\"trials\":%u,\"mode\":\"%s\",\"mpps_in_per_core\":%.3f,\"mpps_out_per_core\":%.3f,"
	       "\"spread\":%.3f",
	       o.streams, o.fanout, o.payload, o.trials, best ? "zero-copy" : "copy", res[best][0],
	       res[best][1], res[best][2]);
	if (ran[0] && ran[1])
		printf(",\"copy\":{\"mpps_in_per_core\":%.3f,\"mpps_out_per_core\":%.3f}",
		       res[0][0], res[0][1]);
	/* Media drops only: the simulated cameras never answer ARP, so the receiver reports we
	 * send them wait and are dropped by the neighbour table (counted apart). */
	uint64_t drops = s->drop_l2 + s->drop_l3 + s->drop_l4 + s->drop_unknown_port +
	                 s->drop_tx_full + s->drop_no_mbuf + sub_nombuf + sub_unres + malformed;
	printf(",\"media_drops\":%llu,\"rtcp_unresolved\":%llu}\n", (unsigned long long)drops,
	       (unsigned long long)s->drop_neigh_queue);
	return 0;
}
