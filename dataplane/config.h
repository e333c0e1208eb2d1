/* caasd configuration: the INI file (parsed by inih), every key with a default, validated at
 * load so that a bad file stops start-up with FILE:LINE: message and nothing half-applied. */
#ifndef CAAS_CONFIG_H
#define CAAS_CONFIG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record/recorder.h"

#define CAAS_DEFAULT_CONFIG "/etc/caas/caasd.conf"

struct caas_prefix {
	bool set;
	uint8_t plen;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
};

struct caas_config {
	/* [dataplane] */
	char port[256];  /* PCI address or DPDK vdev string */
	char lcores[64]; /* EAL -l list: the first is the control lcore, the next the dataplane */
	char eal_args[256]; /* extra EAL arguments, space separated */
	struct caas_prefix ip4, ip6;
	struct caas_prefix gw4, gw6; /* plen unused */
	uint32_t mbufs;
	uint32_t burst;
	uint32_t idle_sleep_us;
	uint32_t rx_desc, tx_desc;
	uint32_t vlan;  /* 0: untagged */
	bool zero_copy; /* chain header mbufs to the payload where the port can send chains */

	/* [ingest] */
	bool gtpu;
	bool accept_unknown;
	uint32_t idle_ms; /* a stream with no packet for this long is idle; 10x is down */

	/* [rtcp] */
	uint32_t rr_interval_ms;
	bool nack;
	uint32_t nack_retries;
	uint32_t pli_interval_ms; /* at most one PLI/FIR upstream per stream per interval */

	/* [cache] */
	uint32_t cache_packets;    /* per stream, a power of two */
	uint32_t nack_cache_ms;    /* packets kept for retransmission at least this long */
	uint32_t fast_start_bytes; /* bytes kept since the last keyframe, per stream */
	uint32_t fast_start_kbps;  /* pace of the fast-start burst to a new subscriber */

	/* [limits] */
	uint32_t max_devices;
	uint32_t max_subs_per_stream;
	uint32_t neigh_entries;
	uint32_t neigh_queue;

	/* [record] */
	bool record;          /* record every device (unless added with --record no) */
	uint32_t record_ring; /* dataplane -> recorder ring entries, a power of two */
	struct rec_config rec;

	/* [mgmt] */
	char socket[108];
	uint32_t socket_mode;
	char socket_group[64];
	char state[256];          /* the registry file; "" keeps nothing across restarts */
	char metrics[64];         /* Prometheus endpoint ADDR:PORT; "" for none */
	uint32_t metrics_devices; /* per-device series only up to this many devices */
	uint32_t loss_event_pct;  /* an event when a stream's recent loss reaches this */
};

void caas_config_defaults(struct caas_config *cfg);

/* Load path over the defaults. On error returns a negative errno and writes "FILE:LINE:
 * message" (or "FILE: message") into err. */
int caas_config_load(struct caas_config *cfg, const char *path, char *err, size_t errlen);

/* Parse "ADDR/PLEN" (IPv4 or IPv6) or, with allow_bare, a plain address. 0 or -EINVAL. */
int caas_prefix_parse(const char *text, bool allow_bare, struct caas_prefix *out, int *family);

#endif
