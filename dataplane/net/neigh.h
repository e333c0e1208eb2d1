/* The neighbour table (ARP cache and IPv6 neighbour cache in one): fixed capacity in caller
 * memory, O(1) lookup, per-entry queues of packets awaiting resolution, and a request and
 * ageing schedule driven by the caller's clock. One writer (the dataplane lcore); no locks. */
#ifndef CAAS_NET_NEIGH_H
#define CAAS_NET_NEIGH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"

/*
 * States (a subset of RFC 4861 §7.3.2 that also serves ARP):
 *   INCOMPLETE  requests are out, packets wait in the entry's queue
 *   REACHABLE   confirmed within reachable_ns; used without question
 *   STALE       older; still used, and once used it is re-probed with unicast requests. An
 *               unanswered probe round removes it; so does stale_ns without use.
 */
enum net_neigh_state {
	NET_NEIGH_FREE = 0,
	NET_NEIGH_INCOMPLETE,
	NET_NEIGH_REACHABLE,
	NET_NEIGH_STALE,
};

/* One entry, read-only to callers. Its index is stable while it lives; gen changes when it is
 * freed, so a caller may cache (index, gen) instead of looking up per packet. */
struct net_neigh {
	struct net_addr ip;
	uint8_t mac[NET_ETH_ALEN];
	uint8_t state;  /* enum net_neigh_state */
	uint8_t probes; /* requests sent in the current round */
	uint16_t q_head, q_len;
	uint32_t hash;
	uint32_t gen;
	uint64_t since_ns; /* REACHABLE: last confirmation; STALE: when it became stale */
	uint64_t used_ns;  /* last net_neigh_output() through it */
	uint64_t next_ns;  /* while requesting: when the next request (or giving up) is due */
};

struct net_neigh_cfg {
	uint32_t capacity;     /* entries, 1 .. 2^24 */
	uint32_t learn_max;    /* entries that learning alone may create; 0: 3/4 of capacity */
	uint16_t queue_len;    /* packets held per unresolved entry (0: none are held) */
	uint8_t max_requests;  /* requests per round before giving up, >= 1 */
	uint64_t retrans_ns;   /* between requests, > 0 */
	uint64_t reachable_ns; /* REACHABLE lifetime after a confirmation */
	uint64_t stale_ns;     /* an unused STALE entry is removed after this */
	uint32_t seed;         /* hash seed: a random value, so peers cannot aim at one chain */
	/* Releases a packet the table gives up on (an mbuf: rte_pktmbuf_free). Required; every
	 * call is also counted in the stats. */
	void (*drop)(void *pkt, void *arg);
	void *drop_arg;
};

/* Counters; one writer. Held packets balance: queued == taken + dropped_unresolved +
 * dropped_flushed + those still held. */
struct net_neigh_stats {
	uint64_t queued;             /* packets held while resolving */
	uint64_t taken;              /* held packets handed back by net_neigh_take() */
	uint64_t dropped_queue_full; /* packets for an unresolved entry whose queue was full */
	uint64_t dropped_unresolved; /* held packets dropped when resolution failed */
	uint64_t dropped_flushed;    /* held packets dropped by net_neigh_remove()/_flush() */
	uint64_t table_full;         /* net_neigh_output() found no free entry (packet dropped) */
	uint64_t learn_limited;      /* entries learning did not create: learn_max reached */
	uint64_t requests;           /* broadcast/multicast requests asked of the caller */
	uint64_t probes;             /* unicast re-probes of stale entries asked of the caller */
	uint64_t resolved;           /* INCOMPLETE entries that got an address */
	uint64_t failed;             /* entries removed because requests went unanswered */
	uint64_t expired;            /* STALE entries removed because nothing used them */
};

struct net_neigh_table {
	struct net_neigh_cfg cfg;
	struct net_neigh_stats st;
	struct net_neigh *e; /* capacity entries */
	void **q;            /* capacity * queue_len held packets */
	uint32_t *slot;      /* open addressing, linear probing: entry index + 1, 0 = empty */
	uint32_t *free;      /* stack of free entry indices */
	uint32_t mask;       /* slots - 1; slots >= 2 * capacity keeps chains short */
	uint32_t nfree;
	uint32_t count;
};

/* Sensible defaults: 1024 entries, 32 held packets each, 3 requests 1 s apart, 30 s reachable,
 * 60 s stale. The caller still sets seed and drop. */
void net_neigh_cfg_default(struct net_neigh_cfg *cfg);

/* Bytes of memory net_neigh_init() needs for cfg, or 0 if cfg is invalid. */
size_t net_neigh_mem_size(const struct net_neigh_cfg *cfg);

/* Set up t over mem (8-byte aligned, net_neigh_mem_size() bytes, e.g. from rte_zmalloc_socket
 * on the lcore's socket). Returns 0, -EINVAL (cfg invalid, or mem misaligned), -ENOSPC (len too
 * small). Nothing is allocated, then or later. */
int net_neigh_init(struct net_neigh_table *t, const struct net_neigh_cfg *cfg, void *mem,
                   size_t len);

/* Index of ip's entry (any state), or -ENOENT. No side effects. */
int net_neigh_lookup(const struct net_neigh_table *t, const struct net_addr *ip);

static inline const struct net_neigh *net_neigh_entry(const struct net_neigh_table *t, uint32_t idx)
{
	return &t->e[idx];
}

/* net_neigh_output() results other than 0 and drops. NET_NEIGH_SOLICIT: a new entry, send a
 * request for ip now (pkt is held, or dropped and counted when queue_len is 0). */
#define NET_NEIGH_QUEUED  1 /* the entry is being resolved; pkt is held */
#define NET_NEIGH_SOLICIT 2

/*
 * The transmit path: the MAC for next hop ip. Returns 0 with mac filled (REACHABLE or STALE):
 * send pkt. Any other result means the table took pkt (which may be NULL, to resolve ahead of
 * traffic): NET_NEIGH_QUEUED, NET_NEIGH_SOLICIT, or it dropped it through cfg.drop and counted
 * it: -ENOBUFS (queue full), -ENOSPC (no free entry: table_full).
 */
int net_neigh_output(struct net_neigh_table *t, const struct net_addr *ip, uint64_t now, void *pkt,
                     uint8_t mac[NET_ETH_ALEN]);

/*
 * Apply what a received ARP or ND message taught (net_arp_learn(), net_nd_learn()), following
 * RFC 4861 §7.2.3-7.2.5: a confirmation makes the entry REACHABLE; a new or changed address
 * makes it STALE; an NA without override does not replace a known MAC. Entries are created
 * only for NET_LEARN_CREATE, and only below learn_max, so spoofed requests cannot crowd out
 * the next hops we resolve ourselves. Returns the entry index (then call net_neigh_take(): an
 * INCOMPLETE entry may just have resolved), or -ENOENT (no entry and none created), -ENOSPC
 * (learn_max reached).
 */
int net_neigh_learn(struct net_neigh_table *t, const struct net_learn *l, uint64_t now);

/* Hand back up to max packets held by a resolved entry, oldest first, to send to its MAC.
 * Returns how many; 0 when none are held or the entry is not resolved. */
size_t net_neigh_take(struct net_neigh_table *t, uint32_t idx, void **pkts, size_t max);

/* A request net_neigh_tick() wants sent: broadcast ARP or multicast NS when unicast is false,
 * else a unicast probe to mac. */
struct net_neigh_req {
	struct net_addr ip;
	uint8_t mac[NET_ETH_ALEN];
	bool unicast;
};

/*
 * Advance every entry to now: retransmit requests for INCOMPLETE entries every retrans_ns and
 * give up after max_requests (held packets dropped, counted dropped_unresolved); age REACHABLE
 * to STALE after reachable_ns; probe used STALE entries (unicast, same schedule; unanswered:
 * removed); remove STALE entries unused for stale_ns. Fills up to max requests to send and
 * returns how many; a request that did not fit stays due for the next call. O(capacity): call
 * it from a timer (every 10-100 ms), not per packet.
 */
size_t net_neigh_tick(struct net_neigh_table *t, uint64_t now, struct net_neigh_req *reqs,
                      size_t max);

/* Remove ip's entry, dropping its held packets (dropped_flushed). 0 or -ENOENT. */
int net_neigh_remove(struct net_neigh_table *t, const struct net_addr *ip);

/* Remove every entry, dropping held packets: at shutdown, so nothing leaks. */
void net_neigh_flush(struct net_neigh_table *t);

#endif
