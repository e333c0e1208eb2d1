/* Port set-up for the dataplane: mempools, the port's queues and offloads (multi-segment TX
 * decides zero-copy fan-out), the TX buffer, the control rings and the lookup tables. */
#include <errno.h>
#include <stdio.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include <stddef.h>

#include "dp.h"

int dp_rtp_meta_off = -1;

int dp_port_setup(struct dp_ctx *dp, const struct caas_config *cfg, uint16_t pid, char *err,
                  size_t len)
{
	static const struct rte_mbuf_dynfield meta = {
	    .name = "caas_rtp_meta",
	    .size = sizeof(struct dp_rtp_meta),
	    .align = __alignof__(struct dp_rtp_meta),
	};
	dp_rtp_meta_off = rte_mbuf_dynfield_register(&meta);
	if (dp_rtp_meta_off < 0) {
		snprintf(err, len, "cannot register the mbuf field: %s", rte_strerror(rte_errno));
		return -rte_errno;
	}
	dp->port_id = pid;
	int socket = rte_eth_dev_socket_id(pid);
	if (socket < 0)
		socket = (int)rte_socket_id();

	struct rte_eth_dev_info info;
	int rc = rte_eth_dev_info_get(pid, &info);
	if (rc < 0) {
		snprintf(err, len, "port %s: %s", cfg->port, rte_strerror(-rc));
		return rc;
	}
	struct rte_eth_conf conf = {0};
	dp->multiseg_tx = info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	if (dp->multiseg_tx)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;

	unsigned n = cfg->mbufs;
	dp->pool =
	    rte_pktmbuf_pool_create("caas_mbufs", n, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
	dp->hdr_pool = rte_pktmbuf_pool_create("caas_hdrs", n, 256, 0,
	                                       RTE_PKTMBUF_HEADROOM + DP_HDR_ROOM, socket);
	if (!dp->pool || !dp->hdr_pool) {
		snprintf(err, len, "cannot create mempools of %u mbufs: %s (hugepages reserved?)",
		         n, rte_strerror(rte_errno));
		return -ENOMEM;
	}

	uint16_t rxd = (uint16_t)cfg->rx_desc, txd = (uint16_t)cfg->tx_desc;
	if ((rc = rte_eth_dev_configure(pid, 1, 1, &conf)) < 0 ||
	    (rc = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &rxd, &txd)) < 0 ||
	    (rc = rte_eth_rx_queue_setup(pid, 0, rxd, (unsigned)socket, NULL, dp->pool)) < 0 ||
	    (rc = rte_eth_tx_queue_setup(pid, 0, txd, (unsigned)socket, NULL)) < 0) {
		snprintf(err, len, "port %s: set-up failed: %s", cfg->port, rte_strerror(-rc));
		return rc;
	}
	rte_eth_macaddr_get(pid, &dp->mac);
	if ((rc = rte_eth_dev_start(pid)) < 0) {
		snprintf(err, len, "port %s: cannot start: %s", cfg->port, rte_strerror(-rc));
		return rc;
	}
	/* Neighbour discovery needs multicast; some virtual ports filter it otherwise. */
	rte_eth_allmulticast_enable(pid);

	dp->txb = rte_zmalloc_socket("txb", RTE_ETH_TX_BUFFER_SIZE(256), 0, socket);
	if (!dp->txb) {
		snprintf(err, len, "out of memory");
		return -ENOMEM;
	}
	rte_eth_tx_buffer_init(dp->txb, 256);
	rte_eth_tx_buffer_set_err_callback(dp->txb, rte_eth_tx_buffer_count_callback,
	                                   &dp->stats.drop_tx_full);
	dp->ctl_ring = rte_ring_create("caas_ctl", 64, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	dp->reply_ring = rte_ring_create("caas_reply", 64, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	dp->by_port = rte_zmalloc_socket("by_port", sizeof(*dp->by_port) * 65536, 0, socket);
	dp->devs = rte_zmalloc_socket("devs", sizeof(*dp->devs) * cfg->max_devices, 0, socket);
	if (!dp->ctl_ring || !dp->reply_ring || !dp->by_port || !dp->devs) {
		snprintf(err, len, "out of memory for rings and tables");
		return -ENOMEM;
	}
	return dp_l2_init(dp);
}

#define PORT_STAT(f) offsetof(struct dp_port_stats, f)

const struct dp_stat_name dp_port_drops[] = {
    {"l2", PORT_STAT(drop_l2)},
    {"l3", PORT_STAT(drop_l3)},
    {"l4", PORT_STAT(drop_l4)},
    {"fragment", PORT_STAT(drop_fragment)},
    {"not_ours", PORT_STAT(drop_not_ours)},
    {"unknown_port", PORT_STAT(drop_unknown_port)},
    {"unknown_source", PORT_STAT(drop_unknown_source)},
    {"malformed_rtp", PORT_STAT(drop_malformed_rtp)},
    {"malformed_rtcp", PORT_STAT(drop_malformed_rtcp)},
    {"gtpu", PORT_STAT(drop_gtpu)},
    {"tx_full", PORT_STAT(drop_tx_full)},
    {"no_mbuf", PORT_STAT(drop_no_mbuf)},
    {"neigh_queue", PORT_STAT(drop_neigh_queue)},
    {"unresolved", PORT_STAT(drop_unresolved)},
};
const size_t dp_n_port_drops = sizeof(dp_port_drops) / sizeof(dp_port_drops[0]);
