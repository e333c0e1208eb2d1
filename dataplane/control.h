/* caasd's control thread: registry, command handlers, messages to the dataplane. */
#ifndef CAAS_CONTROL_H
#define CAAS_CONTROL_H

#include <stddef.h>

#include "config.h"
#include "dp.h"

struct mg_ctl;

struct mg_state;

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
};

int control_init(struct control *c, const struct caas_config *cfg, struct dp_ctx *dp, char *err,
                 size_t errlen);
void control_run(struct control *c, volatile bool *quit);
void control_close(struct control *c);

#endif
