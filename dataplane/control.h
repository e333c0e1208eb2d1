/* caasd's control thread: registry, command handlers, messages to the dataplane. */
#ifndef CAAS_CONTROL_H
#define CAAS_CONTROL_H

#include <pthread.h>
#include <stddef.h>

#include <jansson.h>

#include "config.h"
#include "dp.h"

struct mg_ctl;
struct mg_state;
struct mg_metrics;
struct hd;
struct ctl_help;
struct ctl_events;
struct ctl_tc;
struct control;

typedef int (*ctl_handler)(struct control *c, const json_t *args, json_t **result, char *err,
                           size_t errlen);

/* A command's handler as bound: every handler runs with the registry lock held. */
struct ctl_binding {
	struct control *c;
	ctl_handler fn;
};

#define CTL_MAX_COMMANDS 64

struct control {
	const struct caas_config *cfg;
	struct dp_ctx *dp;
	struct mg_ctl *ctl;
	struct dp_recorder *rec; /* NULL when [record] enabled = false */
	struct mg_state *state;  /* the registry kept across restarts */
	struct dp_dev **devs;
	uint32_t n_devs;
	struct dp_sub **subs;
	uint32_t n_subs, max_subs;
	uint32_t next_sub_id;
	unsigned control_lcore, dataplane_lcore;
	uint64_t start_ns, rate_ns;
	uint64_t last_rx, last_tx;
	double rx_pps, tx_pps;
	/* Held by the control thread while a command runs, and by other threads (the metrics
	 * endpoint) while they read the registry (devs, subs and what they point to). Counters
	 * are read without it. */
	pthread_mutex_t lock;
	struct ctl_binding bound[CTL_MAX_COMMANDS];
	struct mg_metrics *metrics; /* NULL without [mgmt] metrics */
	struct hd *hd;              /* expert pools and help requests */
	struct ctl_help *help;      /* their subscriptions (ctl_help.c) */
	struct ctl_events *events;  /* the event ring (ctl_events.c) */
	const char *config_path;    /* for config reload */
	struct ctl_tc *tcx;         /* transcoding (ctl_transcode.c) */
};

/* control.c, for the other command files (called with the registry lock held) */
int ctl_dp_call(struct control *c, struct dp_msg *msg); /* a message to the dataplane, waited */
struct dp_dev *ctl_find_dev(struct control *c, const char *name);
struct dp_sub *ctl_find_sub(struct control *c, uint32_t id);
/* Subscriptions of dev's stream, its renditions' included (a rendition's own: its stream's). */
unsigned ctl_subs_of(const struct control *c, const struct dp_dev *dev);
/* A subscription of dev's stream to "IP:PORT" (RTCP to rtcp_port, or PORT + 1 when < 0), whose
 * voice (talk-back, when talk_from is not 0) comes from IP:talk_from to the device's port, and
 * who hears the other participants' voices at IP:talk_to (when not 0). */
int ctl_sub_create(struct control *c, struct dp_dev *dev, const char *to, int rtcp_port,
                   uint16_t talk_from, uint16_t talk_to, bool paused, struct dp_sub **out,
                   char *err, size_t len);
int ctl_sub_resume(struct control *c, struct dp_sub *sub);
int ctl_sub_remove(struct control *c, uint32_t id); /* -ENOENT if it is gone */
int ctl_make_sdp(struct control *c, const struct dp_sub *sub, char *sdp, size_t cap);
/* The registry on disk: keep or drop an object's creating arguments. */
void ctl_remember(struct control *c, const char *section, const char *name, const json_t *args);
void ctl_forget(struct control *c, const char *section, const char *name);

/* A device with its stream's cache and subscriber table (NULL on no memory); and its end. */
struct dp_dev *ctl_dev_alloc(struct control *c, const char *name);
void ctl_dev_free(struct dp_dev *dev);

/* ctl_help.c: expert pools and help requests */
struct ctl_command {
	const char *name;
	ctl_handler fn;
};
extern const struct ctl_command ctl_help_commands[];
extern const size_t ctl_help_ncommands;
int ctl_help_init(struct control *c, char *err, size_t errlen);
void ctl_help_close(struct control *c);
/* A device is going away: its requests end (their media first). */
void ctl_help_device_gone(struct control *c, const char *device);
/* Open help requests per state (queued, assigned, active), from any thread: takes the lock. */
void ctl_help_counts(struct control *c, uint64_t by_state[3]);
/* Periodic work on the control thread (time to first frame). */
void ctl_help_tick(struct control *c);
/* The help families of the metrics page (from the metrics thread; takes the lock). */
struct mg_metrics_buf;
void ctl_help_metrics(struct control *c, struct mg_metrics_buf *b);

/* A stream's state as stream list shows it: "up" (a packet within [ingest] idle_ms), "idle"
 * (within ten times that) or "down". Reads counters only: callable from any thread that holds
 * c->lock (dev stays registered). */
const char *ctl_stream_state(const struct control *c, const struct dp_dev *dev);

/* ctl_events.c: what changed, for caasctl events */
extern const struct ctl_command ctl_event_commands[];
extern const size_t ctl_event_ncommands;
int ctl_events_init(struct control *c, char *err, size_t errlen);
void ctl_events_close(struct control *c);
void ctl_events_tick(struct control *c);
/* Record an event of type with fields (a new object, taken; NULL for none). */
void ctl_event(struct control *c, const char *type, json_t *fields);

/* ctl_transcode.c: renditions, transcode sessions, snapshots */
struct mg_metrics_buf;
extern const struct ctl_command ctl_tc_commands[];
extern const size_t ctl_tc_ncommands;
int ctl_tc_init(struct control *c, char *err, size_t errlen);
void ctl_tc_close(struct control *c); /* after the dataplane stopped */
void ctl_tc_tick(struct control *c);
/* The stream of dev's rendition (made, with its session, when missing), for a subscription. */
int ctl_tc_rendition_dev(struct control *c, struct dp_dev *dev, const char *rendition,
                         struct dp_dev **vdev, char *err, size_t len);
/* dev's subscribers changed: start its session when the join bridge wants one now. */
void ctl_tc_update(struct control *c, struct dp_dev *dev);
/* dev goes: its session and rendition streams (with their subscriptions) first. */
void ctl_tc_device_gone(struct control *c, struct dp_dev *dev);
/* The rendition for an expert whose link takes max_kbps, when the camera's rate exceeds it:
 * the highest rate that fits; NULL for the camera's own stream. */
const char *ctl_tc_pick(struct control *c, const struct dp_dev *dev, uint32_t max_kbps);
json_t *ctl_tc_status(struct control *c);
/* The transcoding families of the metrics page (from the metrics thread; takes the lock). */
void ctl_tc_metrics(struct control *c, struct mg_metrics_buf *b);

/* ctl_tune.c: run-time tunables and config reload */
extern const struct ctl_command ctl_tune_commands[];
extern const size_t ctl_tune_ncommands;

/* ctl_telemetry.c: /caas/... commands in DPDK telemetry */
int ctl_telemetry_init(struct control *c);
void ctl_telemetry_close(void);

/* ctl_metrics.c: the Prometheus endpoint on [mgmt] metrics. */
int ctl_metrics_start(struct control *c, char *err, size_t errlen);
void ctl_metrics_stop(struct control *c);

int control_init(struct control *c, const struct caas_config *cfg, struct dp_ctx *dp, char *err,
                 size_t errlen);
void control_run(struct control *c, volatile bool *quit);
void control_close(struct control *c);

#endif
