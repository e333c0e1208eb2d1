/* The Prometheus page on [mgmt] metrics: the counters caasctl status, stream show and record list
 * show, read on libmicrohttpd's thread. The registry is copied under c->lock, the page is written
 * after the lock is released. */
#include "control.h"
#include "record/uring.h"
#include "dp_record.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "mgmt/defaults.h"
#include "mgmt/metrics.h"

/* One device as the page shows it. dev is only compared (to match subscriptions), never
 * dereferenced once the lock is released. */
struct dev_snap {
	const struct dp_dev *dev;
	char name[DP_NAME_MAX + 1];
	uint64_t packets, bytes, lost, keyframes, nacks_sent, plis_sent;
	double jitter_s;
	uint64_t subs, sub_packets, sub_bytes;
	bool rec; /* has a recorder stream: the rec_* fields are set */
	uint64_t rec_packets, rec_dropped;
};

/* What needs the registry lock, copied out. */
struct snap {
	uint32_t n_devs, n_subs;
	uint32_t up, idle, down; /* streams by state */
	uint32_t rec_on;         /* devices being recorded */
	uint64_t wrong_pt;       /* summed over the devices there are now, as status does */
	uint64_t rx_missed;      /* imissed + rx_nombuf, as status */
	struct dev_snap *devs;   /* n_devs of them, or NULL when truncated */
	bool truncated;          /* more devices than [mgmt] metrics_devices */
};

static int by_dev(const void *a, const void *b)
{
	const struct dp_dev *x = ((const struct dev_snap *)a)->dev;
	const struct dp_dev *y = ((const struct dev_snap *)b)->dev;
	return x < y ? -1 : x > y;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct dev_snap *)a)->name, ((const struct dev_snap *)b)->name);
}

static void snap_dev(struct dev_snap *d, const struct dp_dev *dev)
{
	const struct dp_stream *st = &dev->st;
	const struct dp_rec_handle *h = dev->rec;
	const struct rec_stream_stats *rs = h && h->rs ? rec_stream_stats(h->rs) : NULL;
	struct rtp_rx_snapshot rx;

	rtp_rx_snapshot(&st->rx, &rx);
	memset(d, 0, sizeof(*d));
	d->dev = dev;
	snprintf(d->name, sizeof(d->name), "%s", dev->name);
	d->packets = st->stats.packets;
	d->bytes = st->stats.bytes;
	d->lost = rx.lost > 0 ? (uint64_t)rx.lost : 0;
	d->keyframes = st->stats.keyframes;
	d->nacks_sent = st->stats.nacks_sent;
	d->plis_sent = st->stats.plis_sent;
	d->jitter_s = dev->clock ? (double)rx.jitter / dev->clock : 0;
	if (rs) {
		d->rec = true;
		d->rec_packets = rs->packets;
		d->rec_dropped = rs->dropped + h->ring_drops + h->closed_drops; /* as record list */
	}
}

/*
 * Copy what the page needs from the registry. The lock keeps devices and subscriptions (and
 * what they point to) from being freed under us; the counters themselves have one writer each
 * and are read as they are. rte_eth_stats_get is called here too: some PMDs accumulate
 * read-to-clear registers in software, so calls must not overlap, and the only other caller
 * (status) runs under the same lock.
 */
static int snapshot(struct control *c, struct snap *s)
{
	struct rte_eth_stats es;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	memset(&es, 0, sizeof(es));
	pthread_mutex_lock(&c->lock);
	rte_eth_stats_get(c->dp->port_id, &es);
	s->rx_missed = es.imissed + es.rx_nombuf;
	s->n_devs = c->n_devs;
	s->n_subs = c->n_subs;
	s->truncated = c->n_devs > c->cfg->metrics_devices;
	for (uint32_t i = 0; i < c->n_devs; i++) {
		const struct dp_dev *dev = c->devs[i];
		const char *state = ctl_stream_state(c, dev);

		s->up += !strcmp(state, "up");
		s->idle += !strcmp(state, "idle");
		s->down += !strcmp(state, "down");
		s->rec_on += atomic_load(&dev->rec_on);
		s->wrong_pt += dev->st.stats.wrong_pt;
	}
	if (s->truncated || !c->n_devs)
		goto out;
	s->devs = malloc(sizeof(*s->devs) * c->n_devs);
	if (!s->devs) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < c->n_devs; i++)
		snap_dev(&s->devs[i], c->devs[i]);
	/* Subscriptions only as sums per device: their number is bounded by the registry, not by
	 * metrics_devices. */
	qsort(s->devs, s->n_devs, sizeof(*s->devs), by_dev);
	for (uint32_t i = 0; i < c->n_subs; i++) {
		const struct dp_sub *sub = c->subs[i];
		struct dev_snap key = {.dev = sub->st->dev};
		struct dev_snap *d = bsearch(&key, s->devs, s->n_devs, sizeof(*s->devs), by_dev);

		if (!d)
			continue;
		d->subs++;
		d->sub_packets += sub->stats.packets;
		d->sub_bytes += sub->stats.bytes;
	}
out:
	pthread_mutex_unlock(&c->lock);
	if (s->devs)
		qsort(s->devs, s->n_devs, sizeof(*s->devs), by_name);
	return rc;
}

/* --- the families ----------------------------------------------------------------------------- */

#define PORT_STAT(f) offsetof(struct dp_port_stats, f)

static const struct {
	const char *kind;
	size_t off;
} control_packets[] = {
    {"arp_in", PORT_STAT(arp_in)},         {"arp_replies", PORT_STAT(arp_replies)},
    {"icmp_echo", PORT_STAT(icmp_echo)},   {"nd_in", PORT_STAT(nd_in)},
    {"nd_adverts", PORT_STAT(nd_adverts)}, {"icmp6_echo", PORT_STAT(icmp6_echo)},
    {"gtpu_echo", PORT_STAT(gtpu_echo)},
};

static const struct {
	const char *name, *help;
	size_t off;
} port_counters[] = {
    {"caas_port_rx_packets_total", "Packets received on the port", PORT_STAT(rx_packets)},
    {"caas_port_tx_packets_total", "Packets sent on the port", PORT_STAT(tx_packets)},
    {"caas_port_rx_bytes_total", "Bytes received on the port", PORT_STAT(rx_bytes)},
    {"caas_port_tx_bytes_total", "Bytes sent on the port", PORT_STAT(tx_bytes)},
};

#define REC_STAT(f) offsetof(struct rec_stats, f)

static const struct {
	const char *name, *help;
	size_t off;
} rec_counters[] = {
    {"caas_record_bytes_written_total", "Bytes the recorder wrote (journals and segments)",
     REC_STAT(bytes_written)},
    {"caas_record_writes_total", "Writes completed", REC_STAT(writes)},
    {"caas_record_syncs_total", "fdatasyncs completed", REC_STAT(syncs)},
    {"caas_record_seals_total", "Files sealed into a manifest", REC_STAT(seals)},
    {"caas_record_io_errors_total", "Failed writes and fdatasyncs", REC_STAT(io_errors)},
    {"caas_record_manifest_errors_total", "Manifest lines that could not be written",
     REC_STAT(manifest_errors)},
    {"caas_record_buffers_exhausted_total", "Times no staging buffer was free",
     REC_STAT(bufs_exhausted)},
    {"caas_record_retired_files_total", "Sealed files retention deleted", REC_STAT(retired_files)},
    {"caas_record_retired_bytes_total", "Bytes retention deleted", REC_STAT(retired_bytes)},
    {"caas_record_recovered_files_total", "Unfinished files recovered at start",
     REC_STAT(recovered_files)},
    {"caas_record_disk_alarms_total",
     "Times free space fell below the reserve or a write found the disk full",
     REC_STAT(disk_alarms)},
};

static inline uint64_t u64_at(const void *base, size_t off)
{
	return *(const uint64_t *)((const char *)base + off);
}

static void gauge(struct mg_metrics_buf *b, const char *name, const char *help, double v)
{
	mg_metrics_family(b, name, MG_METRIC_GAUGE, help);
	mg_metrics_gauge(b, NULL, 0, v);
}

static void counter(struct mg_metrics_buf *b, const char *name, const char *help, uint64_t v)
{
	mg_metrics_family(b, name, MG_METRIC_COUNTER, help);
	mg_metrics_counter(b, NULL, 0, v);
}

/* A per-device counter family from the uint64_t at off in each struct dev_snap. */
static void dev_counter(struct mg_metrics_buf *b, const struct snap *s, const char *name,
                        const char *help, size_t off, bool rec_only)
{
	mg_metrics_family(b, name, MG_METRIC_COUNTER, help);
	for (uint32_t i = 0; i < s->n_devs; i++)
		if (!rec_only || s->devs[i].rec)
			mg_metrics_counter(b, MG_LABELS({"device", s->devs[i].name}),
			                   u64_at(&s->devs[i], off));
}

#define DEV(f) offsetof(struct dev_snap, f)

static void fill_process(struct control *c, struct mg_metrics_buf *b)
{
	mg_metrics_family(b, "caas_info", MG_METRIC_GAUGE, "caasd's version");
	mg_metrics_gauge(b, MG_LABELS({"version", MG_VERSION}), 1);
	gauge(b, "caas_uptime_seconds", "Time since caasd started",
	      (double)(dp_mono_ns() - c->start_ns) / 1e9);
}

static void fill_port(struct control *c, const struct snap *s, struct mg_metrics_buf *b)
{
	const struct dp_port_stats *ps = &c->dp->stats;
	char port[8];
	char id[12];

	snprintf(port, sizeof(port), "%u", c->dp->port_id);
	for (size_t i = 0; i < sizeof(port_counters) / sizeof(port_counters[0]); i++) {
		mg_metrics_family(b, port_counters[i].name, MG_METRIC_COUNTER,
		                  port_counters[i].help);
		mg_metrics_counter(b, MG_LABELS({"port", port}), u64_at(ps, port_counters[i].off));
	}
	mg_metrics_family(b, "caas_port_drops_total", MG_METRIC_COUNTER,
	                  "Packets dropped outside any stream, by reason (see caasctl status)");
	for (size_t i = 0; i < dp_n_port_drops; i++)
		mg_metrics_counter(b, MG_LABELS({"port", port}, {"reason", dp_port_drops[i].name}),
		                   u64_at(ps, dp_port_drops[i].off));
	/* Summed over the devices there are now, as status does: falls when one is deleted. */
	mg_metrics_counter(b, MG_LABELS({"port", port}, {"reason", "wrong_pt"}), s->wrong_pt);
	mg_metrics_counter(b, MG_LABELS({"port", port}, {"reason", "rx_missed"}), s->rx_missed);

	mg_metrics_family(b, "caas_control_packets_total", MG_METRIC_COUNTER,
	                  "Packets the dataplane answered or learnt from itself, by kind");
	for (size_t i = 0; i < sizeof(control_packets) / sizeof(control_packets[0]); i++)
		mg_metrics_counter(b, MG_LABELS({"kind", control_packets[i].kind}),
		                   u64_at(ps, control_packets[i].off));

	mg_metrics_family(b, "caas_mbufs_in_use", MG_METRIC_GAUGE,
	                  "Mbufs taken from the pool (received packets and caches; headers)");
	mg_metrics_gauge(b, MG_LABELS({"pool", "packets"}), rte_mempool_in_use_count(c->dp->pool));
	mg_metrics_gauge(b, MG_LABELS({"pool", "headers"}),
	                 rte_mempool_in_use_count(c->dp->hdr_pool));
	mg_metrics_family(b, "caas_mbufs", MG_METRIC_GAUGE,
	                  "Mbufs in the pool ([dataplane] mbufs)");
	mg_metrics_gauge(b, MG_LABELS({"pool", "packets"}), c->dp->pool->size);
	mg_metrics_gauge(b, MG_LABELS({"pool", "headers"}), c->dp->hdr_pool->size);

	mg_metrics_family(b, "caas_lcore_info", MG_METRIC_GAUGE, "The lcore each thread runs on");
	snprintf(id, sizeof(id), "%u", c->control_lcore);
	mg_metrics_gauge(b, MG_LABELS({"lcore", "control"}, {"id", id}), 1);
	snprintf(id, sizeof(id), "%u", c->dataplane_lcore);
	mg_metrics_gauge(b, MG_LABELS({"lcore", "dataplane"}, {"id", id}), 1);
	mg_metrics_family(b, "caas_lcore_idle_loops_total", MG_METRIC_COUNTER,
	                  "Polls that found nothing to do (each followed by idle_sleep_us)");
	mg_metrics_counter(b, MG_LABELS({"lcore", "dataplane"}), ps->idle_loops);
	mg_metrics_family(b, "caas_lcore_rx_bursts_total", MG_METRIC_COUNTER,
	                  "Receive bursts that returned packets");
	mg_metrics_counter(b, MG_LABELS({"lcore", "dataplane"}), ps->rx_bursts);
	mg_metrics_family(b, "caas_lcore_control_messages_total", MG_METRIC_COUNTER,
	                  "Control messages the dataplane applied");
	mg_metrics_counter(b, MG_LABELS({"lcore", "dataplane"}), ps->ctl_msgs);
}

static void fill_streams(struct control *c, const struct snap *s, struct mg_metrics_buf *b)
{
	mg_metrics_family(
	    b, "caas_streams", MG_METRIC_GAUGE,
	    "Streams by state (up: a packet within idle_ms; idle: within 10x; else down)");
	mg_metrics_gauge(b, MG_LABELS({"state", "up"}), s->up);
	mg_metrics_gauge(b, MG_LABELS({"state", "idle"}), s->idle);
	mg_metrics_gauge(b, MG_LABELS({"state", "down"}), s->down);
	gauge(b, "caas_devices", "Registered devices", s->n_devs);
	gauge(b, "caas_subscribers", "Subscriptions", s->n_subs);
	gauge(b, "caas_metrics_devices_truncated",
	      "1 when there are more devices than [mgmt] metrics_devices: no per-device series",
	      s->truncated);
	gauge(b, "caas_metrics_devices_limit", "[mgmt] metrics_devices", c->cfg->metrics_devices);
	if (!s->devs)
		return;

	dev_counter(b, s, "caas_stream_packets_total", "RTP packets accepted from the camera",
	            DEV(packets), false);
	dev_counter(b, s, "caas_stream_bytes_total", "RTP bytes accepted from the camera",
	            DEV(bytes), false);
	dev_counter(b, s, "caas_stream_lost_packets_total",
	            "Packets lost since the source started (RFC 3550 cumulative: late arrivals "
	            "lower it, a source restart resets it)",
	            DEV(lost), false);
	dev_counter(b, s, "caas_stream_keyframes_total", "Keyframes received", DEV(keyframes),
	            false);
	dev_counter(b, s, "caas_stream_nacks_sent_total", "NACKs sent to the camera",
	            DEV(nacks_sent), false);
	dev_counter(b, s, "caas_stream_plis_sent_total",
	            "Keyframe requests (PLI) sent to the camera", DEV(plis_sent), false);
	mg_metrics_family(b, "caas_stream_jitter_seconds", MG_METRIC_GAUGE,
	                  "Interarrival jitter (RFC 3550 A.8)");
	for (uint32_t i = 0; i < s->n_devs; i++)
		mg_metrics_gauge(b, MG_LABELS({"device", s->devs[i].name}), s->devs[i].jitter_s);
	mg_metrics_family(b, "caas_stream_subscribers", MG_METRIC_GAUGE,
	                  "Subscriptions per stream");
	for (uint32_t i = 0; i < s->n_devs; i++)
		mg_metrics_gauge(b, MG_LABELS({"device", s->devs[i].name}),
		                 (double)s->devs[i].subs);
	dev_counter(b, s, "caas_subscriber_packets_total",
	            "Packets sent to the stream's current subscriptions, summed (falls when one is "
	            "deleted)",
	            DEV(sub_packets), false);
	dev_counter(b, s, "caas_subscriber_bytes_total",
	            "Bytes sent to the stream's current subscriptions, summed", DEV(sub_bytes),
	            false);
}

static void fill_record(struct control *c, const struct snap *s, struct mg_metrics_buf *b)
{
	const struct rec_stats *r;

	gauge(b, "caas_record_enabled", "1 when [record] enabled", c->rec != NULL);
	if (!c->rec)
		return;
	r = dp_recorder_stats(c->rec);
	for (size_t i = 0; i < sizeof(rec_counters) / sizeof(rec_counters[0]); i++)
		counter(b, rec_counters[i].name, rec_counters[i].help,
		        u64_at(r, rec_counters[i].off));
	counter(b, "caas_record_queued_packets_total",
	        "Packets the dataplane queued to the recorder", c->dp->stats.rec_queued);
	counter(b, "caas_record_ring_drops_total",
	        "Packets the dataplane could not queue: the recorder's ring was full",
	        c->dp->stats.drop_rec_full);
	counter(b, "caas_record_loops_total", "Recorder thread turns", dp_recorder_loops(c->rec));
	gauge(b, "caas_record_seal_seconds_max", "Slowest seal so far",
	      (double)r->seal_ns_max / 1e9);
	{
		double bounds[REC_SYNC_BUCKETS];
		uint64_t cum[REC_SYNC_BUCKETS], total = 0;
		for (int i = 0; i < REC_SYNC_BUCKETS; i++) {
			bounds[i] = rec_sync_bucket_us[i] / 1e6;
			total += r->sync_us_count[i];
			cum[i] = total;
		}
		total += r->sync_us_count[REC_SYNC_BUCKETS];
		mg_metrics_family(b, "caas_record_fsync_seconds", MG_METRIC_HISTOGRAM,
		                  "fdatasync latency, queued to done");
		mg_metrics_histogram(b, NULL, 0, bounds, cum, REC_SYNC_BUCKETS,
		                     (double)r->sync_us_sum / 1e6, total);
	}
	gauge(b, "caas_record_disk_free_bytes", "Free space under [record] dir", r->disk_free);
	gauge(b, "caas_record_disk_size_bytes", "Size of the file system under [record] dir",
	      r->disk_total);
	gauge(b, "caas_record_stored_bytes", "Sealed bytes retention counts", r->stored_bytes);
	mg_metrics_family(b, "caas_record_alarm", MG_METRIC_GAUGE,
	                  "1 while an alarm is raised (as caasctl status record.alarms)");
	mg_metrics_gauge(b, MG_LABELS({"kind", "disk"}), r->alarm_disk);
	mg_metrics_gauge(b, MG_LABELS({"kind", "io"}), r->alarm_io || c->dp->stats.drop_rec_full);
	gauge(b, "caas_record_streams_on", "Devices being recorded", s->rec_on);
	if (!s->devs)
		return;
	dev_counter(b, s, "caas_record_packets_total", "Packets journaled", DEV(rec_packets), true);
	dev_counter(b, s, "caas_record_dropped_total",
	            "Packets not journaled (no buffer or file, recorder ring full)",
	            DEV(rec_dropped), true);
}

/*
 * Expert pools and help requests: caas_help_requests{state}, the wait-time and
 * time-to-first-frame histograms (mg_histo) go here. Runs after snapshot() has released
 * c->lock: take it around any read of c->hd (the control thread changes it under the lock), and
 * keep it short.
 */
static void fill_help(struct control *c, struct mg_metrics_buf *b)
{
	ctl_help_metrics(c, b);
}

static int fill(void *arg, struct mg_metrics_buf *b)
{
	struct control *c = arg;
	struct snap s;
	int rc = snapshot(c, &s);

	if (rc)
		return rc;
	fill_process(c, b);
	fill_port(c, &s, b);
	fill_streams(c, &s, b);
	fill_record(c, &s, b);
	fill_help(c, b);
	ctl_tc_metrics(c, b);
	free(s.devs);
	return b->err;
}

int ctl_metrics_start(struct control *c, char *err, size_t errlen)
{
	char why[256];
	int rc = mg_metrics_start(&c->metrics, c->cfg->metrics, fill, c, why, sizeof(why));

	if (rc < 0)
		snprintf(err, errlen, "[mgmt] %s", why);
	return rc;
}

void ctl_metrics_stop(struct control *c)
{
	mg_metrics_stop(c->metrics);
	c->metrics = NULL;
}
