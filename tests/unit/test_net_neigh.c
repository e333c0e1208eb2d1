/* Neighbour table and next-hop tests: resolution with held packets, queue bounds, retries and
 * give-up, ageing and re-probing, table limits, IPv6 keys, hash deletions against a model. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/neigh.h"
#include "net/route.h"

#define SEC 1000000000ull

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0x0b};

/* Packets are just tokens; the drop callback records which ones it was given. */
struct drops {
	uintptr_t seen[256];
	size_t n;
};

static void record_drop(void *pkt, void *arg)
{
	struct drops *d = arg;
	if (d->n < 256)
		d->seen[d->n] = (uintptr_t)pkt;
	d->n++;
}

struct fixture {
	struct net_neigh_table t;
	struct drops drops;
	void *mem;
};

static struct fixture *setup(uint32_t capacity, uint16_t queue_len)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct net_neigh_cfg cfg;
	net_neigh_cfg_default(&cfg);
	cfg.capacity = capacity;
	cfg.queue_len = queue_len;
	cfg.seed = 0x5eed;
	cfg.drop = record_drop;
	cfg.drop_arg = &f->drops;
	size_t len = net_neigh_mem_size(&cfg);
	assert_true(len > 0);
	f->mem = aligned_alloc(8, (len + 7) & ~(size_t)7);
	assert_int_equal(net_neigh_init(&f->t, &cfg, f->mem, len), 0);
	return f;
}

/* Every held packet is accounted for. */
static void check_balance(struct fixture *f)
{
	const struct net_neigh_stats *s = &f->t.st;
	uint64_t held = 0;
	for (uint32_t i = 0; i < f->t.cfg.capacity; i++)
		held += f->t.e[i].q_len;
	assert_int_equal(s->queued, s->taken + s->dropped_unresolved + s->dropped_flushed + held);
	assert_int_equal(f->drops.n, s->dropped_queue_full + s->dropped_unresolved +
	                                 s->dropped_flushed + s->table_full);
}

static void teardown(struct fixture *f)
{
	net_neigh_flush(&f->t);
	check_balance(f);
	assert_int_equal(f->t.count, 0);
	free(f->mem);
	free(f);
}

static struct net_learn learned(struct net_addr ip, const uint8_t *mac, uint8_t how)
{
	struct net_learn l;
	memset(&l, 0, sizeof(l));
	l.ip = ip;
	if (mac)
		memcpy(l.mac, mac, 6);
	l.has_mac = mac != NULL;
	l.override = true;
	l.how = how;
	return l;
}

static void test_resolve(void **state)
{
	(void)state;
	struct fixture *f = setup(16, 8);
	struct net_addr ip = net_addr4(0xc6120002);
	uint8_t mac[6];
	void *pkts[8];

	assert_int_equal(net_neigh_output(&f->t, &ip, 0, (void *)1, mac), NET_NEIGH_SOLICIT);
	assert_int_equal(net_neigh_output(&f->t, &ip, 10, (void *)2, mac), NET_NEIGH_QUEUED);
	assert_int_equal(net_neigh_output(&f->t, &ip, 20, (void *)3, mac), NET_NEIGH_QUEUED);
	assert_int_equal(net_neigh_output(&f->t, &ip, 20, NULL, mac), NET_NEIGH_QUEUED);
	int idx = net_neigh_lookup(&f->t, &ip);
	assert_true(idx >= 0);
	assert_int_equal(net_neigh_entry(&f->t, (uint32_t)idx)->state, NET_NEIGH_INCOMPLETE);
	assert_int_equal(net_neigh_take(&f->t, (uint32_t)idx, pkts, 8), 0); /* not yet */
	assert_int_equal(f->t.st.queued, 3);
	assert_int_equal(f->t.st.requests, 1);

	struct net_learn l = learned(ip, mac_a, NET_LEARN_CONFIRM);
	assert_int_equal(net_neigh_learn(&f->t, &l, 100), idx);
	const struct net_neigh *e = net_neigh_entry(&f->t, (uint32_t)idx);
	assert_int_equal(e->state, NET_NEIGH_REACHABLE);
	assert_memory_equal(e->mac, mac_a, 6);
	assert_int_equal(f->t.st.resolved, 1);
	/* Oldest first, and in two helpings. */
	assert_int_equal(net_neigh_take(&f->t, (uint32_t)idx, pkts, 2), 2);
	assert_ptr_equal(pkts[0], (void *)1);
	assert_ptr_equal(pkts[1], (void *)2);
	assert_int_equal(net_neigh_take(&f->t, (uint32_t)idx, pkts, 8), 1);
	assert_ptr_equal(pkts[0], (void *)3);
	assert_int_equal(net_neigh_take(&f->t, (uint32_t)idx, pkts, 8), 0);

	memset(mac, 0, 6);
	assert_int_equal(net_neigh_output(&f->t, &ip, 200, (void *)4, mac), 0);
	assert_memory_equal(mac, mac_a, 6);
	assert_int_equal(e->used_ns, 200);
	assert_int_equal(f->drops.n, 0);
	assert_int_equal(f->t.st.taken, 3);
	teardown(f);
}

static void test_queue_bound(void **state)
{
	(void)state;
	struct fixture *f = setup(16, 4);
	struct net_addr ip = net_addr4(0xc6120002);
	uint8_t mac[6];

	assert_int_equal(net_neigh_output(&f->t, &ip, 0, (void *)1, mac), NET_NEIGH_SOLICIT);
	for (uintptr_t i = 2; i <= 4; i++)
		assert_int_equal(net_neigh_output(&f->t, &ip, 0, (void *)i, mac), NET_NEIGH_QUEUED);
	assert_int_equal(net_neigh_output(&f->t, &ip, 0, (void *)5, mac), -ENOBUFS);
	assert_int_equal(net_neigh_output(&f->t, &ip, 0, (void *)6, mac), -ENOBUFS);
	assert_int_equal(f->t.st.dropped_queue_full, 2);
	assert_int_equal(f->drops.n, 2);
	assert_int_equal(f->drops.seen[0], 5);
	assert_int_equal(f->drops.seen[1], 6);
	assert_int_equal(f->t.st.queued, 4);
	check_balance(f);

	/* Flushing at shutdown drops (and counts) the four still held. */
	net_neigh_flush(&f->t);
	assert_int_equal(f->t.st.dropped_flushed, 4);
	assert_int_equal(f->drops.n, 6);
	assert_int_equal(f->drops.seen[2], 1);
	assert_int_equal(f->drops.seen[5], 4);
	teardown(f);

	/* With no queue at all, the packet that creates the entry is dropped, still counted. */
	f = setup(4, 0);
	assert_int_equal(net_neigh_output(&f->t, &ip, 0, (void *)7, mac), NET_NEIGH_SOLICIT);
	assert_int_equal(net_neigh_output(&f->t, &ip, 0, (void *)8, mac), -ENOBUFS);
	assert_int_equal(f->t.st.dropped_queue_full, 2);
	assert_int_equal(f->drops.n, 2);
	teardown(f);
}

static void test_retries_and_give_up(void **state)
{
	(void)state;
	struct fixture *f = setup(16, 8);
	struct net_addr ip = net_addr4(0xc6120002);
	struct net_neigh_req reqs[4];
	uint8_t mac[6];

	uint64_t t0 = 5 * SEC;
	assert_int_equal(net_neigh_output(&f->t, &ip, t0, (void *)1, mac), NET_NEIGH_SOLICIT);
	assert_int_equal(net_neigh_output(&f->t, &ip, t0, (void *)2, mac), NET_NEIGH_QUEUED);
	assert_int_equal(net_neigh_tick(&f->t, t0 + SEC / 2, reqs, 4), 0);
	/* Second and third requests, one second apart, broadcast. */
	assert_int_equal(net_neigh_tick(&f->t, t0 + SEC, reqs, 4), 1);
	assert_true(net_addr_eq(&reqs[0].ip, &ip));
	assert_false(reqs[0].unicast);
	assert_int_equal(net_neigh_tick(&f->t, t0 + SEC + 1, reqs, 4), 0);
	assert_int_equal(net_neigh_tick(&f->t, t0 + 2 * SEC, reqs, 4), 1);
	assert_int_equal(f->t.st.requests, 3);
	assert_int_equal(net_neigh_tick(&f->t, t0 + 3 * SEC - 1, reqs, 4), 0);
	assert_true(net_neigh_lookup(&f->t, &ip) >= 0);
	/* Three unanswered: the entry goes and its packets are dropped, counted. */
	assert_int_equal(net_neigh_tick(&f->t, t0 + 3 * SEC, reqs, 4), 0);
	assert_int_equal(net_neigh_lookup(&f->t, &ip), -ENOENT);
	assert_int_equal(f->t.st.failed, 1);
	assert_int_equal(f->t.st.dropped_unresolved, 2);
	assert_int_equal(f->drops.n, 2);
	assert_int_equal(f->drops.seen[0], 1);
	assert_int_equal(f->t.count, 0);

	/* The next packet starts over. */
	assert_int_equal(net_neigh_output(&f->t, &ip, t0 + 4 * SEC, (void *)3, mac),
	                 NET_NEIGH_SOLICIT);
	assert_int_equal(f->t.st.requests, 4);
	teardown(f);
}

static void test_tick_request_limit(void **state)
{
	(void)state;
	struct fixture *f = setup(16, 2);
	struct net_neigh_req reqs[2];
	uint8_t mac[6];

	for (uint32_t i = 0; i < 5; i++) {
		struct net_addr ip = net_addr4(0xc6120010 + i);
		assert_int_equal(net_neigh_output(&f->t, &ip, 0, NULL, mac), NET_NEIGH_SOLICIT);
	}
	/* Five due, room for two per call: none is skipped, none gives up early. */
	assert_int_equal(net_neigh_tick(&f->t, SEC, reqs, 2), 2);
	assert_int_equal(net_neigh_tick(&f->t, SEC, reqs, 2), 2);
	assert_int_equal(net_neigh_tick(&f->t, SEC, reqs, 2), 1);
	assert_int_equal(net_neigh_tick(&f->t, SEC, reqs, 2), 0);
	assert_int_equal(f->t.st.requests, 10);
	assert_int_equal(f->t.count, 5);
	teardown(f);
}

static void test_ageing(void **state)
{
	(void)state;
	struct fixture *f = setup(16, 8);
	struct net_addr ip = net_addr4(0xc6120002);
	struct net_neigh_req reqs[4];
	uint8_t mac[6];

	assert_int_equal(net_neigh_output(&f->t, &ip, 0, NULL, mac), NET_NEIGH_SOLICIT);
	struct net_learn l = learned(ip, mac_a, NET_LEARN_CONFIRM);
	int idx = net_neigh_learn(&f->t, &l, SEC / 10);
	assert_true(idx >= 0);
	const struct net_neigh *e = net_neigh_entry(&f->t, (uint32_t)idx);

	/* Reachable for 30 s after the confirmation, then stale but still used. */
	uint64_t c = SEC / 10;
	assert_int_equal(net_neigh_tick(&f->t, c + 30 * SEC - 1, reqs, 4), 0);
	assert_int_equal(e->state, NET_NEIGH_REACHABLE);
	assert_int_equal(net_neigh_tick(&f->t, c + 30 * SEC, reqs, 4), 0);
	assert_int_equal(e->state, NET_NEIGH_STALE);
	uint64_t s = c + 30 * SEC;
	assert_int_equal(net_neigh_output(&f->t, &ip, s + SEC, (void *)9, mac), 0);
	assert_memory_equal(mac, mac_a, 6);

	/* Used while stale: re-probed by unicast to the MAC we have. */
	assert_int_equal(net_neigh_tick(&f->t, s + SEC, reqs, 4), 1);
	assert_true(reqs[0].unicast);
	assert_memory_equal(reqs[0].mac, mac_a, 6);
	assert_int_equal(f->t.st.probes, 1);
	/* The answer makes it reachable again. */
	assert_int_equal(net_neigh_learn(&f->t, &l, s + SEC + 1000), idx);
	assert_int_equal(e->state, NET_NEIGH_REACHABLE);
	assert_int_equal(e->probes, 0);
	assert_int_equal(net_neigh_tick(&f->t, s + 2 * SEC, reqs, 4), 0);

	/* Stale again, used, and this time nobody answers: removed after three probes. */
	uint64_t s2 = s + SEC + 1000 + 30 * SEC;
	assert_int_equal(net_neigh_tick(&f->t, s2, reqs, 4), 0);
	assert_int_equal(e->state, NET_NEIGH_STALE);
	assert_int_equal(net_neigh_output(&f->t, &ip, s2 + 1, NULL, mac), 0);
	assert_int_equal(net_neigh_tick(&f->t, s2 + 2, reqs, 4), 1);
	assert_int_equal(net_neigh_tick(&f->t, s2 + 2 + SEC, reqs, 4), 1);
	assert_int_equal(net_neigh_tick(&f->t, s2 + 2 + 2 * SEC, reqs, 4), 1);
	assert_int_equal(f->t.st.probes, 4);
	assert_int_equal(net_neigh_output(&f->t, &ip, s2 + 2 + 2 * SEC, NULL, mac), 0);
	assert_int_equal(net_neigh_tick(&f->t, s2 + 2 + 3 * SEC, reqs, 4), 0);
	assert_int_equal(net_neigh_lookup(&f->t, &ip), -ENOENT);
	assert_int_equal(f->t.st.failed, 1);

	/* A clock behind the last confirmation ages nothing. */
	assert_int_equal(net_neigh_output(&f->t, &ip, 50 * SEC, NULL, mac), NET_NEIGH_SOLICIT);
	idx = net_neigh_learn(&f->t, &l, 50 * SEC);
	assert_int_equal(net_neigh_tick(&f->t, 49 * SEC, reqs, 4), 0);
	assert_int_equal(net_neigh_entry(&f->t, (uint32_t)idx)->state, NET_NEIGH_REACHABLE);
	assert_int_equal(net_neigh_remove(&f->t, &ip), 0);

	/* A stale entry nobody uses is removed after 60 s. */
	struct net_addr ip2 = net_addr4(0xc6120003);
	struct net_learn l2 = learned(ip2, mac_b, NET_LEARN_CREATE);
	idx = net_neigh_learn(&f->t, &l2, 100 * SEC);
	assert_true(idx >= 0);
	assert_int_equal(net_neigh_entry(&f->t, (uint32_t)idx)->state, NET_NEIGH_STALE);
	assert_int_equal(net_neigh_tick(&f->t, 160 * SEC - 1, reqs, 4), 0);
	assert_true(net_neigh_lookup(&f->t, &ip2) >= 0);
	assert_int_equal(net_neigh_tick(&f->t, 160 * SEC, reqs, 4), 0);
	assert_int_equal(net_neigh_lookup(&f->t, &ip2), -ENOENT);
	assert_int_equal(f->t.st.expired, 1);
	teardown(f);
}

static void test_learn_rules(void **state)
{
	(void)state;
	struct fixture *f = setup(16, 8);
	struct net_addr ip = net_addr4(0xc6120002);
	uint8_t mac[6];
	void *pkts[4];

	/* Only a request to us creates; updates and confirmations need an entry. */
	struct net_learn l = learned(ip, mac_a, NET_LEARN_UPDATE);
	assert_int_equal(net_neigh_learn(&f->t, &l, 0), -ENOENT);
	l.how = NET_LEARN_CONFIRM;
	assert_int_equal(net_neigh_learn(&f->t, &l, 0), -ENOENT);
	l.how = NET_LEARN_CREATE;
	int idx = net_neigh_learn(&f->t, &l, 0);
	assert_true(idx >= 0);
	const struct net_neigh *e = net_neigh_entry(&f->t, (uint32_t)idx);
	assert_int_equal(e->state, NET_NEIGH_STALE);
	/* A learned stale entry is usable at once. */
	assert_int_equal(net_neigh_output(&f->t, &ip, 1, (void *)1, mac), 0);
	assert_memory_equal(mac, mac_a, 6);

	l.how = NET_LEARN_CONFIRM;
	assert_int_equal(net_neigh_learn(&f->t, &l, 2), idx);
	assert_int_equal(e->state, NET_NEIGH_REACHABLE);
	/* An NA without override and with another MAC only casts doubt. */
	struct net_learn na = learned(ip, mac_b, NET_LEARN_CONFIRM);
	na.override = false;
	assert_int_equal(net_neigh_learn(&f->t, &na, 3), idx);
	assert_int_equal(e->state, NET_NEIGH_STALE);
	assert_memory_equal(e->mac, mac_a, 6);
	/* The same MAC again, unsolicited: no change. */
	l.how = NET_LEARN_UPDATE;
	assert_int_equal(net_neigh_learn(&f->t, &l, 4), idx);
	assert_int_equal(e->state, NET_NEIGH_STALE);
	assert_int_equal(e->since_ns, 3);
	/* A gratuitous ARP with a new MAC: replaced, stale. */
	struct net_learn g = learned(ip, mac_b, NET_LEARN_UPDATE);
	assert_int_equal(net_neigh_learn(&f->t, &g, 5), idx);
	assert_memory_equal(e->mac, mac_b, 6);
	assert_int_equal(e->state, NET_NEIGH_STALE);
	/* An NA without a link-layer option confirms what we have. */
	struct net_learn bare = learned(ip, NULL, NET_LEARN_CONFIRM);
	bare.override = false;
	assert_int_equal(net_neigh_learn(&f->t, &bare, 6), idx);
	assert_int_equal(e->state, NET_NEIGH_REACHABLE);
	assert_memory_equal(e->mac, mac_b, 6);

	/* Resolution by an unsolicited message (the neighbour asks for us meanwhile): the
	 * held packets may go, and the entry is stale. */
	struct net_addr ip2 = net_addr4(0xc6120007);
	assert_int_equal(net_neigh_output(&f->t, &ip2, 10, (void *)2, mac), NET_NEIGH_SOLICIT);
	struct net_learn bare2 = learned(ip2, NULL, NET_LEARN_CONFIRM);
	idx = net_neigh_learn(&f->t, &bare2, 11);
	assert_int_equal(net_neigh_entry(&f->t, (uint32_t)idx)->state, NET_NEIGH_INCOMPLETE);
	struct net_learn rq = learned(ip2, mac_a, NET_LEARN_CREATE);
	assert_int_equal(net_neigh_learn(&f->t, &rq, 12), idx);
	assert_int_equal(net_neigh_entry(&f->t, (uint32_t)idx)->state, NET_NEIGH_STALE);
	assert_int_equal(net_neigh_take(&f->t, (uint32_t)idx, pkts, 4), 1);
	assert_ptr_equal(pkts[0], (void *)2);
	teardown(f);
}

static void test_table_full(void **state)
{
	(void)state;
	struct fixture *f = setup(4, 2);
	uint8_t mac[6];
	for (uint32_t i = 0; i < 4; i++) {
		struct net_addr ip = net_addr4(0xc6120010 + i);
		assert_int_equal(net_neigh_output(&f->t, &ip, 0, (void *)(uintptr_t)(i + 1), mac),
		                 NET_NEIGH_SOLICIT);
	}
	struct net_addr ip = net_addr4(0xc6120020);
	assert_int_equal(net_neigh_output(&f->t, &ip, 0, (void *)99, mac), -ENOSPC);
	assert_int_equal(f->t.st.table_full, 1);
	assert_int_equal(f->drops.n, 1);
	assert_int_equal(f->drops.seen[0], 99);
	/* Learning never fills the table: capacity 4 leaves it 3 entries, here already used. */
	struct net_learn l = learned(ip, mac_a, NET_LEARN_CREATE);
	assert_int_equal(net_neigh_learn(&f->t, &l, 0), -ENOSPC);
	assert_int_equal(f->t.st.learn_limited, 1);
	/* Freeing one makes room; its index comes back with a new generation. */
	struct net_addr victim = net_addr4(0xc6120011);
	int vidx = net_neigh_lookup(&f->t, &victim);
	uint32_t gen = net_neigh_entry(&f->t, (uint32_t)vidx)->gen;
	assert_int_equal(net_neigh_remove(&f->t, &victim), 0);
	assert_int_equal(net_neigh_remove(&f->t, &victim), -ENOENT);
	assert_int_equal(f->t.st.dropped_flushed, 1);
	assert_int_equal(net_neigh_output(&f->t, &ip, 0, NULL, mac), NET_NEIGH_SOLICIT);
	assert_int_equal(net_neigh_lookup(&f->t, &ip), vidx);
	assert_int_equal(net_neigh_entry(&f->t, (uint32_t)vidx)->gen, gen + 1);
	teardown(f);

	/* learn_max below capacity keeps room for the next hops we resolve ourselves. */
	f = setup(8, 2);
	for (uint32_t i = 0; i < 6; i++) {
		struct net_learn li = learned(net_addr4(0xc6120030 + i), mac_a, NET_LEARN_CREATE);
		assert_true(net_neigh_learn(&f->t, &li, 0) >= 0);
	}
	struct net_learn l7 = learned(net_addr4(0xc6120040), mac_a, NET_LEARN_CREATE);
	assert_int_equal(net_neigh_learn(&f->t, &l7, 0), -ENOSPC);
	assert_int_equal(net_neigh_output(&f->t, &ip, 0, NULL, mac), NET_NEIGH_SOLICIT);
	teardown(f);
}

static void test_ipv6_keys(void **state)
{
	(void)state;
	struct fixture *f = setup(32, 4);
	uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, [12] = 0xc6, 0x12, 0x00, 0x02};
	uint8_t ll[16] = {0xfe, 0x80, [8] = 0x00, 0, 0, 0xff, 0xfe, 0, 0, 0x02};
	struct net_addr v6 = net_addr6(a6), v4 = net_addr4(0xc6120002), lla = net_addr6(ll);
	uint8_t mac[6];

	/* The same low 32 bits in both families are different neighbours. */
	assert_int_equal(net_neigh_output(&f->t, &v6, 0, (void *)1, mac), NET_NEIGH_SOLICIT);
	assert_int_equal(net_neigh_output(&f->t, &v4, 0, (void *)2, mac), NET_NEIGH_SOLICIT);
	assert_int_equal(net_neigh_output(&f->t, &lla, 0, (void *)3, mac), NET_NEIGH_SOLICIT);
	assert_int_equal(f->t.count, 3);
	struct net_learn l = learned(v6, mac_b, NET_LEARN_CONFIRM);
	int i6 = net_neigh_learn(&f->t, &l, 1);
	assert_true(i6 >= 0);
	assert_int_equal(net_neigh_entry(&f->t, (uint32_t)i6)->ip.family, NET_AF_IP6);
	assert_int_equal(net_neigh_output(&f->t, &v6, 2, NULL, mac), 0);
	assert_memory_equal(mac, mac_b, 6);
	assert_int_equal(net_neigh_output(&f->t, &v4, 2, NULL, mac), NET_NEIGH_QUEUED);
	assert_int_equal(net_neigh_output(&f->t, &lla, 2, NULL, mac), NET_NEIGH_QUEUED);

	/* A tick asks for the unresolved IPv6 ones by multicast (unicast false). */
	struct net_neigh_req reqs[4];
	assert_int_equal(net_neigh_tick(&f->t, SEC, reqs, 4), 2);
	bool saw_ll = false;
	for (int i = 0; i < 2; i++)
		if (net_addr_eq(&reqs[i].ip, &lla)) {
			saw_ll = true;
			assert_false(reqs[i].unicast);
		}
	assert_true(saw_ll);
	teardown(f);
}

/* Random inserts and removals against a plain array: lookups stay right through the
 * backward-shift deletions, in both families, at full load. */
static void test_hash_model(void **state)
{
	(void)state;
	struct fixture *f = setup(64, 1);
	struct net_addr model[64];
	bool live[64] = {0};
	uint8_t mac[6];
	uint32_t r = 1;
	for (int iter = 0; iter < 50000; iter++) {
		r = r * 1103515245u + 12345u;
		uint32_t k = (r >> 8) % 64;
		/* Keys that collide often: few distinct values, both families. */
		uint32_t v = (r >> 20) % 97;
		struct net_addr a;
		if (k & 1) {
			a = net_addr4(0xc6120000 + v * 64 + k);
		} else {
			uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, [14] = (uint8_t)v, (uint8_t)k};
			a = net_addr6(b);
		}
		if (live[k]) {
			assert_int_equal(net_neigh_remove(&f->t, &model[k]), 0);
			live[k] = false;
		} else {
			assert_int_equal(net_neigh_output(&f->t, &a, (uint64_t)iter, NULL, mac),
			                 NET_NEIGH_SOLICIT);
			model[k] = a;
			live[k] = true;
		}
		if (iter % 97 == 0) {
			uint32_t n = 0;
			for (uint32_t j = 0; j < 64; j++) {
				int idx = live[j] ? net_neigh_lookup(&f->t, &model[j]) : -1;
				if (live[j]) {
					assert_true(idx >= 0);
					assert_true(net_addr_eq(&f->t.e[idx].ip, &model[j]));
					n++;
				}
			}
			assert_int_equal(f->t.count, n);
		}
	}
	teardown(f);
}

static void test_init_errors(void **state)
{
	(void)state;
	struct net_neigh_cfg cfg;
	struct net_neigh_table t;
	static uint64_t mem[1 << 16];
	net_neigh_cfg_default(&cfg);
	assert_int_equal(net_neigh_mem_size(&cfg), 0); /* no drop callback */
	cfg.drop = record_drop;
	size_t need = net_neigh_mem_size(&cfg);
	assert_true(need > 0 && need <= sizeof(mem));
	assert_int_equal(net_neigh_init(&t, &cfg, mem, need - 1), -ENOSPC);
	assert_int_equal(net_neigh_init(&t, &cfg, (uint8_t *)mem + 4, need), -EINVAL);
	assert_int_equal(net_neigh_init(&t, &cfg, mem, need), 0);
	assert_int_equal(t.cfg.learn_max, 768);
	cfg.capacity = 0;
	assert_int_equal(net_neigh_init(&t, &cfg, mem, sizeof(mem)), -EINVAL);
	cfg.capacity = 8;
	cfg.max_requests = 0;
	assert_int_equal(net_neigh_mem_size(&cfg), 0);
	cfg.max_requests = 1;
	cfg.retrans_ns = 0;
	assert_int_equal(net_neigh_mem_size(&cfg), 0);
	cfg.retrans_ns = 1;
	cfg.learn_max = 9;
	assert_int_equal(net_neigh_mem_size(&cfg), 0);

	/* reachable_ns = UINT64_MAX: confirmed entries never go stale (no overflow). */
	cfg.learn_max = 0;
	cfg.reachable_ns = UINT64_MAX;
	assert_int_equal(net_neigh_init(&t, &cfg, mem, sizeof(mem)), 0);
	struct net_addr ip = net_addr4(0xc6120002);
	uint8_t mac[6];
	assert_int_equal(net_neigh_output(&t, &ip, 5, NULL, mac), NET_NEIGH_SOLICIT);
	struct net_learn l = learned(ip, mac_a, NET_LEARN_CONFIRM);
	int idx = net_neigh_learn(&t, &l, 1000 * SEC);
	struct net_neigh_req reqs[2];
	assert_int_equal(net_neigh_tick(&t, UINT64_MAX - 1, reqs, 2), 0);
	assert_int_equal(net_neigh_entry(&t, (uint32_t)idx)->state, NET_NEIGH_REACHABLE);
}

/* ---- next hop ------------------------------------------------------------------------------- */

static void test_next_hop4(void **state)
{
	(void)state;
	uint32_t nh = 0;
	const uint32_t me = 0xc6120002, gw = 0xc61200fe; /* 198.18.0.2/24 via .254 */
	assert_int_equal(net_next_hop4(me, 24, gw, 0xc6120009, &nh), 0);
	assert_int_equal(nh, 0xc6120009);
	assert_int_equal(net_next_hop4(me, 24, gw, 0xc6130009, &nh), 0);
	assert_int_equal(nh, gw);
	assert_int_equal(net_next_hop4(me, 24, 0, 0xc6130009, &nh), -ENETUNREACH);
	assert_int_equal(net_next_hop4(me, 24, 0, 0xc6120009, &nh), 0);
	assert_int_equal(net_next_hop4(me, 24, gw, 0xc61200ff, &nh), -EHOSTUNREACH);
	assert_int_equal(net_next_hop4(me, 24, gw, 0xffffffff, &nh), -EHOSTUNREACH);
	assert_int_equal(net_next_hop4(me, 24, gw, 0xe0000001, &nh), -EHOSTUNREACH);
	assert_int_equal(net_next_hop4(me, 24, gw, 0x7f000001, &nh), -EHOSTUNREACH);
	assert_int_equal(net_next_hop4(me, 24, gw, 0, &nh), -EHOSTUNREACH);
	assert_int_equal(net_next_hop4(me, 24, gw, me, &nh), -EHOSTUNREACH);
	assert_int_equal(net_next_hop4(me, 33, gw, 0xc6120009, &nh), -EINVAL);
	/* /23: .1.255 is a host, .1.255 of a /24 would not be. */
	assert_int_equal(net_next_hop4(me, 23, gw, 0xc61201fe, &nh), 0);
	assert_int_equal(nh, 0xc61201fe);
	assert_int_equal(net_next_hop4(me, 23, gw, 0xc61201ff, &nh), -EHOSTUNREACH);
	/* /31 (RFC 3021): both addresses are hosts. */
	assert_int_equal(net_next_hop4(0xc6120002, 31, 0, 0xc6120003, &nh), 0);
	assert_int_equal(nh, 0xc6120003);
	/* /32 with a gateway: everything through it. */
	assert_int_equal(net_next_hop4(me, 32, 0xc6120001, 0xc6120003, &nh), 0);
	assert_int_equal(nh, 0xc6120001);
	/* /0: everything on-link. */
	assert_int_equal(net_next_hop4(me, 0, 0, 0x08080808, &nh), 0);
	assert_int_equal(nh, 0x08080808);
}

static void test_next_hop6(void **state)
{
	(void)state;
	static const uint8_t me[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x02};
	static const uint8_t gw[16] = {0xfe, 0x80, [15] = 0x01};
	static const uint8_t near[16] = {0x20, 0x01, 0x0d, 0xb8, [8] = 0xaa, [15] = 0x09};
	static const uint8_t far[16] = {0x20, 0x01, 0x0d, 0xb9, [15] = 0x09};
	static const uint8_t ll[16] = {0xfe, 0x80, [15] = 0x77};
	static const uint8_t mc[16] = {0xff, 0x02, [15] = 0x01};
	static const uint8_t lo[16] = {[15] = 0x01};
	static const uint8_t zero[16];
	uint8_t nh[16];

	assert_int_equal(net_next_hop6(me, 64, gw, near, nh), 0);
	assert_memory_equal(nh, near, 16);
	assert_int_equal(net_next_hop6(me, 64, gw, far, nh), 0);
	assert_memory_equal(nh, gw, 16);
	assert_int_equal(net_next_hop6(me, 64, NULL, far, nh), -ENETUNREACH);
	assert_int_equal(net_next_hop6(me, 64, NULL, ll, nh), 0); /* link-local: always on-link */
	assert_memory_equal(nh, ll, 16);
	assert_int_equal(net_next_hop6(me, 64, gw, mc, nh), -EHOSTUNREACH);
	assert_int_equal(net_next_hop6(me, 64, gw, lo, nh), -EHOSTUNREACH);
	assert_int_equal(net_next_hop6(me, 64, gw, zero, nh), -EHOSTUNREACH);
	assert_int_equal(net_next_hop6(me, 64, gw, me, nh), -EHOSTUNREACH);
	assert_int_equal(net_next_hop6(me, 129, gw, near, nh), -EINVAL);
	/* A /68 splits inside a byte: 2001:db8::aa00:... differs from me in bit 64. */
	assert_int_equal(net_next_hop6(me, 68, gw, near, nh), 0);
	assert_memory_equal(nh, gw, 16);
	assert_int_equal(net_next_hop6(me, 32, NULL, near, nh), 0);
	assert_true(net_ip6_prefix_match(me, far, 31));
	assert_false(net_ip6_prefix_match(me, far, 32));
}

static void test_next_hop_iface(void **state)
{
	(void)state;
	struct net_iface ifc;
	memset(&ifc, 0, sizeof(ifc));
	struct net_addr nh, d4 = net_addr4(0x08080808);
	static const uint8_t far[16] = {0x20, 0x01, 0x0d, 0xb9, [15] = 0x09};
	struct net_addr d6 = net_addr6(far);
	assert_int_equal(net_next_hop(&ifc, &d4, &nh), -EADDRNOTAVAIL);
	assert_int_equal(net_next_hop(&ifc, &d6, &nh), -EADDRNOTAVAIL);
	ifc.ip4 = 0xc6120002;
	ifc.ip4_prefix = 24;
	ifc.gw4 = 0xc6120001;
	assert_int_equal(net_next_hop(&ifc, &d4, &nh), 0);
	assert_int_equal(nh.family, NET_AF_IP4);
	assert_int_equal(nh.v4, 0xc6120001);
	ifc.has_ip6 = true;
	ifc.ip6[0] = 0x20;
	ifc.ip6[1] = 0x01;
	ifc.ip6_prefix = 64;
	ifc.ip6_ll[0] = 0xfe;
	ifc.ip6_ll[1] = 0x80;
	ifc.ip6_ll[15] = 5;
	assert_int_equal(net_next_hop(&ifc, &d6, &nh), -ENETUNREACH);
	ifc.has_gw6 = true;
	ifc.gw6[0] = 0xfe;
	ifc.gw6[1] = 0x80;
	ifc.gw6[15] = 1;
	assert_int_equal(net_next_hop(&ifc, &d6, &nh), 0);
	assert_int_equal(nh.family, NET_AF_IP6);
	assert_memory_equal(nh.v6, ifc.gw6, 16);
	struct net_addr self = net_addr6(ifc.ip6_ll);
	assert_int_equal(net_next_hop(&ifc, &self, &nh), -EHOSTUNREACH);
	d6.family = 5;
	assert_int_equal(net_next_hop(&ifc, &d6, &nh), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resolve),
	    cmocka_unit_test(test_queue_bound),
	    cmocka_unit_test(test_retries_and_give_up),
	    cmocka_unit_test(test_tick_request_limit),
	    cmocka_unit_test(test_ageing),
	    cmocka_unit_test(test_learn_rules),
	    cmocka_unit_test(test_table_full),
	    cmocka_unit_test(test_ipv6_keys),
	    cmocka_unit_test(test_hash_model),
	    cmocka_unit_test(test_init_errors),
	    cmocka_unit_test(test_next_hop4),
	    cmocka_unit_test(test_next_hop6),
	    cmocka_unit_test(test_next_hop_iface),
	};
	return cmocka_run_group_tests_name("net_neigh", tests, NULL, NULL);
}
