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
};

/* ctl_metrics.c: the Prometheus endpoint on [mgmt] metrics. */
int ctl_metrics_start(struct control *c, char *err, size_t errlen);
void ctl_metrics_stop(struct control *c);

int control_init(struct control *c, const struct caas_config *cfg, struct dp_ctx *dp, char *err,
                 size_t errlen);
void control_run(struct control *c, volatile bool *quit);
void control_close(struct control *c);

#endif
