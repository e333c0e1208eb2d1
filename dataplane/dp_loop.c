/* The dataplane lcore: a run-to-completion loop of receive burst, classify, fan out, flush,
 * with control messages applied between bursts and timers about once a millisecond. It may
 * sleep briefly when idle (dataplane.idle_sleep_us) so that a small box stays usable. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_prefetch.h>

#include "dp.h"
#include "dp_transcode.h"

#define MSG_BURST 16

/* A rendition's stream: no port of its own (its subscribers' RTCP comes to the source's
 * port), timers like any other. */
static int link_virt(struct dp_ctx *dp, struct dp_dev *dev)
{
	struct dp_dev *p = dev->parent;

	if (p->n_rends >= DP_MAX_RENDS || dp->n_devs >= dp->cfg->max_devices)
		return -ENOSPC;
	dp_stream_init(dp, dev);
	p->rends[p->n_rends++] = dev;
	dp->devs[dp->n_devs++] = dev;
	return 0;
}

static int link_dev(struct dp_ctx *dp, struct dp_dev *dev)
{
	if (dev->virt)
		return link_virt(dp, dev);
	if (dp->by_port[dev->port] || (!dev->rtcp_mux && dp->by_port[dev->rtcp_port]))
		return -EADDRINUSE;
	if (dp->n_devs >= dp->cfg->max_devices)
		return -ENOSPC;
	dp_stream_init(dp, dev);
	dp->by_port[dev->port] = dev;
	if (!dev->rtcp_mux)
		dp->by_port[dev->rtcp_port] = dev;
	dp->devs[dp->n_devs++] = dev;
	return 0;
}

static void unlink_dev(struct dp_ctx *dp, struct dp_dev *dev)
{
	if (dev->virt) {
		struct dp_dev *p = dev->parent;
		/* Its worker stopped making packets for it: take those it made. */
		dp_tc_drain(dp);
		for (uint8_t i = 0; i < p->n_rends; i++) {
			if (p->rends[i] == dev) {
				p->rends[i] = p->rends[--p->n_rends];
				break;
			}
		}
	} else {
		dp->by_port[dev->port] = NULL;
		if (!dev->rtcp_mux)
			dp->by_port[dev->rtcp_port] = NULL;
	}
	for (uint32_t i = 0; i < dp->n_devs; i++) {
		if (dp->devs[i] == dev) {
			dp->devs[i] = dp->devs[--dp->n_devs];
			break;
		}
	}
	while (dev->st.n_subs)
		dp_sub_detach(dp, dev->st.subs[0]);
	dp_stream_release(dp, &dev->st);
}

void dp_apply_msg(struct dp_ctx *dp, struct dp_msg *msg)
{
	dp->stats.ctl_msgs++;
	msg->rc = 0;
	switch (msg->type) {
	case DP_MSG_DEV_ADD:
		msg->rc = link_dev(dp, msg->dev);
		break;
	case DP_MSG_DEV_DEL:
		unlink_dev(dp, msg->dev);
		break;
	case DP_MSG_SUB_ADD:
		msg->rc = dp_sub_attach(dp, msg->sub);
		break;
	case DP_MSG_SUB_DEL:
		dp_sub_detach(dp, msg->sub);
		break;
	case DP_MSG_SUB_RESUME:
		dp_sub_resume(dp, msg->sub);
		break;
	case DP_MSG_TUNE:
		/* The configuration is the dataplane's to read between bursts: change it here,
		 * where nothing reads it at the same time. */
		if (msg->cfg_off != SIZE_MAX) {
			char *field = (char *)dp->cfg + msg->cfg_off;
			if (msg->cfg_bool)
				*(bool *)field = msg->u32 != 0;
			else
				*(uint32_t *)field = msg->u32;
		}
		if (msg->cfg_off == offsetof(struct caas_config, idle_sleep_us) ||
		    msg->cfg_off == SIZE_MAX)
			dp->idle_sleep_us = msg->u32;
		break;
	case DP_MSG_TC_ATTACH:
		dp_tc_attach(dp, msg->dev, msg->tc);
		break;
	case DP_MSG_TC_DETACH:
		dp_tc_detach(dp, msg->dev);
		break;
	case DP_MSG_TC_DRAIN:
		dp_tc_drain(dp);
		break;
	}
	/* The reply ring is as large as the request ring, so this cannot fail. */
	rte_ring_enqueue(dp->reply_ring, msg);
}

static void tick(struct dp_ctx *dp)
{
	for (uint32_t i = 0; i < dp->n_devs; i++)
		dp_stream_tick(dp, &dp->devs[i]->st);
	dp_l2_tick(dp);
}

unsigned dp_poll_once(struct dp_ctx *dp)
{
	struct rte_mbuf *pkts[256];
	void *msgs[MSG_BURST];

	dp->now_ns = dp_mono_ns();
	unsigned nm = rte_ring_dequeue_burst(dp->ctl_ring, msgs, MSG_BURST, NULL);
	for (unsigned i = 0; i < nm; i++)
		dp_apply_msg(dp, msgs[i]);

	uint16_t nb = rte_eth_rx_burst(dp->port_id, dp->queue, pkts, (uint16_t)dp->cfg->burst);
	if (nb) {
		dp->stats.rx_bursts++;
		for (uint16_t i = 0; i < nb; i++) {
			if (i + 1 < nb)
				rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
			dp_input(dp, pkts[i]);
		}
	}
	unsigned nt = 0;
	if (dp->tc)
		nt = dp_tc_drain(dp); /* the renditions' packets the workers made */
	rte_eth_tx_buffer_flush(dp->port_id, dp->queue, dp->txb);
	dp_rec_flush(dp);
	if (dp->tc)
		dp_tc_flush(dp);

	if (dp->now_ns >= dp->next_tick_ns) {
		dp->next_tick_ns = dp->now_ns + DP_MS;
		tick(dp);
		rte_eth_tx_buffer_flush(dp->port_id, dp->queue, dp->txb);
	}
	return nb + nm + nt;
}

int dp_main(void *arg)
{
	struct dp_ctx *dp = arg;
	dp->now_ns = dp_mono_ns();
	dp->next_tick_ns = dp->now_ns;
	while (!*dp->quit) {
		if (!dp_poll_once(dp)) {
			dp->stats.idle_loops++;
			if (dp->idle_sleep_us)
				rte_delay_us_sleep(dp->idle_sleep_us);
		}
	}
	return 0;
}
