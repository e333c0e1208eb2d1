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

/* When a stream's decoder is kept current for instant joins (the join bridge). */
enum caas_join_bridge {
	CAAS_BRIDGE_NO,   /* never: joins start at the cached keyframe (fast start) */
	CAAS_BRIDGE_AUTO, /* for long GOPs (over bridge_gop_ms) while the stream has subscribers */
	CAAS_BRIDGE_YES,  /* always, for every video stream */
};

const char *caas_join_bridge_name(enum caas_join_bridge b);
int caas_join_bridge_parse(const char *s, enum caas_join_bridge *out);

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

	/* [transcode] */
	uint32_t tc_workers;      /* worker threads, outside the dataplane lcores */
	uint32_t tc_ring;         /* dataplane -> worker ring entries, a power of two */
	uint32_t tc_mbufs;        /* mbufs for the workers' output packets */
	uint32_t tc_sessions;     /* sessions (source streams) per worker */
	uint32_t tc_linger_ms;    /* a session or rendition outlives its last subscriber so long */
	uint32_t tc_max_delay_ms; /* frames later than this are decoded but not encoded */
	uint32_t tc_reorder_ms;   /* a missing packet is waited for this long (NACKs) */
	enum caas_join_bridge tc_join_bridge;
	uint32_t tc_bridge_after_ms; /* a keyframe older than this: bridge rather than fast start */
	uint32_t tc_bridge_gop_ms;   /* auto: keyframes further apart than this need the bridge */
	char tc_h264_encoder[32];    /* "" : libx264 */
	char tc_h265_encoder[32];    /* "" : libx265 */

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
