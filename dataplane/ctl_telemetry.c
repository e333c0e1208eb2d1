/* caasd's data in DPDK telemetry, next to the EAL's own (/ethdev/stats, /mempool/info...), so
 * that dpdk-telemetry.py or any client of the telemetry socket sees what caasctl shows:
 *   /caas/status          port counters, drops by reason, devices, subscribers, mbufs
 *   /caas/streams         packets per stream
 *   /caas/stream,NAME     one stream's counters
 *   /caas/record          the recorder's counters and alarms
 *   /caas/help            help requests by state
 *   /caas/transcode       transcode workers and sessions, frames in, encoded, skipped, late...
 * The callbacks run on the telemetry thread: they take the registry lock while they look at
 * devices, and read counters as the metrics page does. Telemetry callbacks carry no argument, so
 * the control is kept here (there is one). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include "control.h"
#include "dp_record.h"
#include "mgmt/helpdesk.h"

static struct control *ctl;

static void add(struct rte_tel_data *d, const char *k, uint64_t v)
{
	rte_tel_data_add_dict_u64(d, k, v);
}

static int tel_status(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct dp_port_stats *s;
	struct rte_eth_stats es = {0};
	(void)cmd, (void)params;

	if (!ctl)
		return -EAGAIN;
	s = &ctl->dp->stats;
	rte_tel_data_start_dict(d);
	pthread_mutex_lock(&ctl->lock);
	rte_eth_stats_get(ctl->dp->port_id, &es);
	add(d, "devices", ctl->n_devs);
	add(d, "subscribers", ctl->n_subs);
	pthread_mutex_unlock(&ctl->lock);
	add(d, "rx_packets", s->rx_packets);
	add(d, "tx_packets", s->tx_packets);
	add(d, "rx_bytes", s->rx_bytes);
	add(d, "tx_bytes", s->tx_bytes);
	for (size_t i = 0; i < dp_n_port_drops; i++) {
		char name[64];
		snprintf(name, sizeof(name), "drop_%s", dp_port_drops[i].name);
		add(d, name, dp_port_stat(s, &dp_port_drops[i]));
	}
	add(d, "drop_rx_missed", es.imissed + es.rx_nombuf);
	add(d, "mbufs_in_use", rte_mempool_in_use_count(ctl->dp->pool));
	return 0;
}

static int tel_streams(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd, (void)params;
	if (!ctl)
		return -EAGAIN;
	rte_tel_data_start_dict(d);
	pthread_mutex_lock(&ctl->lock);
	for (uint32_t i = 0; i < ctl->n_devs; i++)
		add(d, ctl->devs[i]->name, ctl->devs[i]->st.stats.packets);
	pthread_mutex_unlock(&ctl->lock);
	return 0;
}

static int tel_stream(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_dev *dev;
	int rc = 0;
	(void)cmd;

	if (!ctl)
		return -EAGAIN;
	if (!params || !*params)
		return -EINVAL;
	pthread_mutex_lock(&ctl->lock);
	dev = ctl_find_dev(ctl, params);
	if (!dev) {
		rc = -ENOENT;
	} else {
		const struct dp_stream_stats *s = &dev->st.stats;
		rte_tel_data_start_dict(d);
		rte_tel_data_add_dict_string(d, "state", ctl_stream_state(ctl, dev));
		add(d, "packets", s->packets);
		add(d, "bytes", s->bytes);
		add(d, "keyframes", s->keyframes);
		add(d, "nacks_sent", s->nacks_sent);
		add(d, "plis_sent", s->plis_sent);
		add(d, "recovered", s->recovered);
		add(d, "duplicates", s->duplicates);
		add(d, "late", s->late);
		add(d, "wrong_pt", s->wrong_pt);
		add(d, "subscribers", dev->st.n_subs);
		add(d, "talkback_out", s->talkback_out);
	}
	pthread_mutex_unlock(&ctl->lock);
	return rc;
}

static int tel_record(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct rec_stats *r;
	(void)cmd, (void)params;

	if (!ctl)
		return -EAGAIN;
	rte_tel_data_start_dict(d);
	add(d, "enabled", ctl->rec != NULL);
	if (!ctl->rec)
		return 0;
	r = dp_recorder_stats(ctl->rec);
	add(d, "bytes_written", r->bytes_written);
	add(d, "syncs", r->syncs);
	add(d, "seals", r->seals);
	add(d, "io_errors", r->io_errors);
	add(d, "buffers_exhausted", r->bufs_exhausted);
	add(d, "ring_drops", ctl->dp->stats.drop_rec_full);
	add(d, "retired_files", r->retired_files);
	add(d, "recovered_files", r->recovered_files);
	add(d, "disk_free", r->disk_free);
	add(d, "alarm_disk", r->alarm_disk);
	add(d, "alarm_io", r->alarm_io || ctl->dp->stats.drop_rec_full);
	return 0;
}

static int tel_help(const char *cmd, const char *params, struct rte_tel_data *d)
{
	uint64_t by[HD_STATE_COUNT];
	(void)cmd, (void)params;

	if (!ctl)
		return -EAGAIN;
	ctl_help_counts(ctl, by);
	rte_tel_data_start_dict(d);
	add(d, "queued", by[HD_STATE_QUEUED]);
	add(d, "assigned", by[HD_STATE_ASSIGNED]);
	add(d, "active", by[HD_STATE_ACTIVE]);
	return 0;
}

static int tel_transcode(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const char *key;
	json_t *st, *v;
	(void)cmd, (void)params;

	if (!ctl)
		return -EAGAIN;
	pthread_mutex_lock(&ctl->lock);
	st = ctl_tc_status(ctl); /* what status.transcode shows: its numbers */
	pthread_mutex_unlock(&ctl->lock);
	rte_tel_data_start_dict(d);
	json_object_foreach(st, key, v)
	{
		if (json_is_integer(v))
			add(d, key, (uint64_t)json_integer_value(v));
	}
	json_decref(st);
	return 0;
}

int ctl_telemetry_init(struct control *c)
{
	static const struct {
		const char *cmd;
		telemetry_cb fn;
		const char *help;
	} cmds[] = {
	    {"/caas/status", tel_status, "caasd: port counters, drops by reason. No parameters"},
	    {"/caas/streams", tel_streams, "caasd: packets per stream. No parameters"},
	    {"/caas/stream", tel_stream, "caasd: one stream's counters. Parameter: device name"},
	    {"/caas/record", tel_record, "caasd: the recorder's counters and alarms"},
	    {"/caas/help", tel_help, "caasd: help requests by state"},
	    {"/caas/transcode", tel_transcode, "caasd: transcode workers, sessions and frames"},
	};
	ctl = c;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int rc = rte_telemetry_register_cmd(cmds[i].cmd, cmds[i].fn, cmds[i].help);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void ctl_telemetry_close(void)
{
	ctl = NULL; /* telemetry cannot unregister: the callbacks answer -EAGAIN from now on */
}
