/* Neighbour table: hashing, entry life cycle, held-packet queues and the request schedule. */
#include "neigh.h"

#include <errno.h>

#define NET_NEIGH_MAX_CAPACITY (1u << 24)
#define NET_MS                 1000000ull

void net_neigh_cfg_default(struct net_neigh_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->capacity = 1024;
	cfg->queue_len = 32;
	cfg->max_requests = 3;
	cfg->retrans_ns = 1000 * NET_MS;
	cfg->reachable_ns = 30000 * NET_MS;
	cfg->stale_ns = 60000 * NET_MS;
}

/* now is at least d after t. Safe for any d (UINT64_MAX: never) and for a now behind t. */
static bool net_elapsed(uint64_t now, uint64_t t, uint64_t d)
{
	return now >= t && now - t >= d;
}

static size_t net_align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static uint32_t net_neigh_slots(uint32_t capacity)
{
	uint32_t n = 2;
	while (n < 2 * capacity)
		n <<= 1;
	return n;
}

static bool net_neigh_cfg_ok(const struct net_neigh_cfg *c)
{
	return c->capacity >= 1 && c->capacity <= NET_NEIGH_MAX_CAPACITY && c->max_requests >= 1 &&
	       c->retrans_ns > 0 && c->learn_max <= c->capacity && c->drop;
}

size_t net_neigh_mem_size(const struct net_neigh_cfg *cfg)
{
	if (!net_neigh_cfg_ok(cfg))
		return 0;
	size_t cap = cfg->capacity;
	return net_align8(cap * sizeof(struct net_neigh)) +
	       net_align8(cap * cfg->queue_len * sizeof(void *)) +
	       net_align8(net_neigh_slots(cfg->capacity) * sizeof(uint32_t)) +
	       net_align8(cap * sizeof(uint32_t));
}

int net_neigh_init(struct net_neigh_table *t, const struct net_neigh_cfg *cfg, void *mem,
                   size_t len)
{
	size_t need = net_neigh_mem_size(cfg);
	if (need == 0 || !mem || ((uintptr_t)mem & 7))
		return -EINVAL;
	if (len < need)
		return -ENOSPC;
	memset(t, 0, sizeof(*t));
	memset(mem, 0, need);
	t->cfg = *cfg;
	if (t->cfg.learn_max == 0)
		t->cfg.learn_max = cfg->capacity - cfg->capacity / 4;
	size_t cap = cfg->capacity;
	uint8_t *p = mem;
	t->e = (struct net_neigh *)p;
	p += net_align8(cap * sizeof(struct net_neigh));
	t->q = (void **)p;
	p += net_align8(cap * cfg->queue_len * sizeof(void *));
	t->slot = (uint32_t *)p;
	p += net_align8(net_neigh_slots(cfg->capacity) * sizeof(uint32_t));
	t->free = (uint32_t *)p;
	t->mask = net_neigh_slots(cfg->capacity) - 1;
	/* Popped from the top: entry 0 goes first, which keeps tests readable. */
	for (uint32_t i = 0; i < cfg->capacity; i++)
		t->free[i] = cfg->capacity - 1 - i;
	t->nfree = cfg->capacity;
	return 0;
}

/* murmur3's finaliser: every input bit reaches every output bit, so with a secret seed a peer
 * choosing addresses cannot predict which chain they land in. */
static uint32_t net_mix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static uint32_t net_neigh_hash(const struct net_neigh_table *t, const struct net_addr *a)
{
	uint32_t h = t->cfg.seed ^ a->family;
	if (a->family == NET_AF_IP4)
		return net_mix(h ^ a->v4);
	for (int i = 0; i < 4; i++) {
		uint32_t w;
		memcpy(&w, a->v6 + 4 * i, 4);
		h = net_mix(h ^ w) + (uint32_t)i;
	}
	return h;
}

static int net_neigh_find(const struct net_neigh_table *t, const struct net_addr *ip, uint32_t h)
{
	for (uint32_t i = h & t->mask;; i = (i + 1) & t->mask) {
		uint32_t s = t->slot[i];
		if (s == 0)
			return -ENOENT;
		const struct net_neigh *e = &t->e[s - 1];
		if (e->hash == h && net_addr_eq(&e->ip, ip))
			return (int)(s - 1);
	}
}

int net_neigh_lookup(const struct net_neigh_table *t, const struct net_addr *ip)
{
	return net_neigh_find(t, ip, net_neigh_hash(t, ip));
}

static int net_neigh_alloc(struct net_neigh_table *t, const struct net_addr *ip, uint32_t h,
                           uint8_t state, uint64_t now)
{
	if (t->nfree == 0)
		return -ENOSPC;
	uint32_t idx = t->free[--t->nfree];
	struct net_neigh *e = &t->e[idx];
	uint32_t gen = e->gen;
	memset(e, 0, sizeof(*e));
	e->gen = gen;
	e->ip = *ip;
	e->hash = h;
	e->state = state;
	e->since_ns = now;
	uint32_t i = h & t->mask;
	while (t->slot[i])
		i = (i + 1) & t->mask;
	t->slot[i] = idx + 1;
	t->count++;
	return (int)idx;
}

static void net_neigh_drop_held(struct net_neigh_table *t, uint32_t idx, uint64_t *counter)
{
	struct net_neigh *e = &t->e[idx];
	void **q = t->q + (size_t)idx * t->cfg.queue_len;
	while (e->q_len) {
		t->cfg.drop(q[e->q_head], t->cfg.drop_arg);
		e->q_head = (uint16_t)((e->q_head + 1) % t->cfg.queue_len);
		e->q_len--;
		(*counter)++;
	}
}

/* Unlink from the hash by backward-shift deletion (no tombstones, so chains never rot). */
static void net_neigh_unhash(struct net_neigh_table *t, uint32_t idx)
{
	uint32_t i = t->e[idx].hash & t->mask;
	while (t->slot[i] != idx + 1)
		i = (i + 1) & t->mask;
	for (;;) {
		t->slot[i] = 0;
		uint32_t j = i;
		for (;;) {
			j = (j + 1) & t->mask;
			if (t->slot[j] == 0)
				return;
			uint32_t home = t->e[t->slot[j] - 1].hash & t->mask;
			/* j's entry may fill the hole at i unless its home lies cyclically in
			 * (i, j]: then it would move before its own home. */
			bool in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
			if (!in_range)
				break;
		}
		t->slot[i] = t->slot[j];
		i = j;
	}
}

static void net_neigh_free(struct net_neigh_table *t, uint32_t idx, uint64_t *drop_counter)
{
	net_neigh_drop_held(t, idx, drop_counter);
	net_neigh_unhash(t, idx);
	struct net_neigh *e = &t->e[idx];
	e->state = NET_NEIGH_FREE;
	e->gen++;
	t->free[t->nfree++] = idx;
	t->count--;
}

static int net_neigh_hold(struct net_neigh_table *t, uint32_t idx, void *pkt, int ok)
{
	if (!pkt)
		return ok;
	struct net_neigh *e = &t->e[idx];
	if (e->q_len == t->cfg.queue_len) {
		t->cfg.drop(pkt, t->cfg.drop_arg);
		t->st.dropped_queue_full++;
		return ok == NET_NEIGH_SOLICIT ? ok : -ENOBUFS;
	}
	t->q[(size_t)idx * t->cfg.queue_len + (e->q_head + e->q_len) % t->cfg.queue_len] = pkt;
	e->q_len++;
	t->st.queued++;
	return ok;
}

int net_neigh_output(struct net_neigh_table *t, const struct net_addr *ip, uint64_t now, void *pkt,
                     uint8_t mac[NET_ETH_ALEN])
{
	uint32_t h = net_neigh_hash(t, ip);
	int idx = net_neigh_find(t, ip, h);
	if (idx >= 0) {
		struct net_neigh *e = &t->e[idx];
		if (e->state != NET_NEIGH_INCOMPLETE) {
			memcpy(mac, e->mac, NET_ETH_ALEN);
			e->used_ns = now;
			return 0;
		}
		return net_neigh_hold(t, (uint32_t)idx, pkt, NET_NEIGH_QUEUED);
	}
	idx = net_neigh_alloc(t, ip, h, NET_NEIGH_INCOMPLETE, now);
	if (idx < 0) {
		if (pkt)
			t->cfg.drop(pkt, t->cfg.drop_arg);
		t->st.table_full++;
		return -ENOSPC;
	}
	struct net_neigh *e = &t->e[idx];
	e->used_ns = now;
	e->probes = 1;
	e->next_ns = now + t->cfg.retrans_ns;
	t->st.requests++;
	return net_neigh_hold(t, (uint32_t)idx, pkt, NET_NEIGH_SOLICIT);
}

static void net_neigh_set(struct net_neigh *e, uint8_t state, const uint8_t *mac, uint64_t now)
{
	if (mac)
		memcpy(e->mac, mac, NET_ETH_ALEN);
	e->state = state;
	e->since_ns = now;
	e->probes = 0;
}

int net_neigh_learn(struct net_neigh_table *t, const struct net_learn *l, uint64_t now)
{
	uint32_t h = net_neigh_hash(t, &l->ip);
	int idx = net_neigh_find(t, &l->ip, h);
	if (idx < 0) {
		if (l->how != NET_LEARN_CREATE || !l->has_mac)
			return -ENOENT;
		if (t->count >= t->cfg.learn_max) {
			t->st.learn_limited++;
			return -ENOSPC;
		}
		idx = net_neigh_alloc(t, &l->ip, h, NET_NEIGH_STALE, now);
		if (idx >= 0)
			memcpy(t->e[idx].mac, l->mac, NET_ETH_ALEN);
		return idx;
	}

	struct net_neigh *e = &t->e[idx];
	const uint8_t *mac = l->has_mac ? l->mac : NULL;
	bool changed = mac && memcmp(e->mac, mac, NET_ETH_ALEN) != 0;
	if (e->state == NET_NEIGH_INCOMPLETE) {
		if (!mac)
			return idx;
		net_neigh_set(e,
		              l->how == NET_LEARN_CONFIRM ? NET_NEIGH_REACHABLE : NET_NEIGH_STALE,
		              mac, now);
		t->st.resolved++;
	} else if (changed && !l->override) {
		/* §7.2.5: a non-override NA with another address only casts doubt. */
		if (e->state == NET_NEIGH_REACHABLE)
			net_neigh_set(e, NET_NEIGH_STALE, NULL, now);
	} else if (l->how == NET_LEARN_CONFIRM) {
		net_neigh_set(e, NET_NEIGH_REACHABLE, mac, now);
	} else if (changed) {
		net_neigh_set(e, NET_NEIGH_STALE, mac, now);
	}
	return idx;
}

size_t net_neigh_take(struct net_neigh_table *t, uint32_t idx, void **pkts, size_t max)
{
	struct net_neigh *e = &t->e[idx];
	if (e->state == NET_NEIGH_FREE || e->state == NET_NEIGH_INCOMPLETE)
		return 0;
	void **q = t->q + (size_t)idx * t->cfg.queue_len;
	size_t n = 0;
	while (n < max && e->q_len) {
		pkts[n++] = q[e->q_head];
		e->q_head = (uint16_t)((e->q_head + 1) % t->cfg.queue_len);
		e->q_len--;
	}
	t->st.taken += n;
	return n;
}

/* Returns false when the entry gave up and was removed. */
static bool net_neigh_retry(struct net_neigh_table *t, uint32_t idx, uint64_t now,
                            struct net_neigh_req *reqs, size_t max, size_t *n)
{
	struct net_neigh *e = &t->e[idx];
	if (now < e->next_ns)
		return true;
	if (e->probes >= t->cfg.max_requests) {
		t->st.failed++;
		net_neigh_free(t, idx, &t->st.dropped_unresolved);
		return false;
	}
	if (*n == max)
		return true;
	struct net_neigh_req *r = &reqs[(*n)++];
	r->ip = e->ip;
	r->unicast = e->state == NET_NEIGH_STALE;
	memcpy(r->mac, e->mac, NET_ETH_ALEN);
	if (r->unicast)
		t->st.probes++;
	else
		t->st.requests++;
	e->probes++;
	e->next_ns = now + t->cfg.retrans_ns;
	return true;
}

size_t net_neigh_tick(struct net_neigh_table *t, uint64_t now, struct net_neigh_req *reqs,
                      size_t max)
{
	size_t n = 0;
	for (uint32_t i = 0; i < t->cfg.capacity; i++) {
		struct net_neigh *e = &t->e[i];
		switch (e->state) {
		case NET_NEIGH_INCOMPLETE:
			net_neigh_retry(t, i, now, reqs, max, &n);
			break;
		case NET_NEIGH_REACHABLE:
			if (net_elapsed(now, e->since_ns, t->cfg.reachable_ns))
				net_neigh_set(e, NET_NEIGH_STALE, NULL, now);
			break;
		case NET_NEIGH_STALE:
			if (e->probes) {
				net_neigh_retry(t, i, now, reqs, max, &n);
			} else if (e->used_ns > e->since_ns) {
				/* Used since it went stale: probe now (the first of a round). */
				e->next_ns = now;
				net_neigh_retry(t, i, now, reqs, max, &n);
			} else if (net_elapsed(now, e->since_ns, t->cfg.stale_ns)) {
				t->st.expired++;
				net_neigh_free(t, i, &t->st.dropped_flushed);
			}
			break;
		default:
			break;
		}
	}
	return n;
}

int net_neigh_remove(struct net_neigh_table *t, const struct net_addr *ip)
{
	int idx = net_neigh_lookup(t, ip);
	if (idx < 0)
		return idx;
	net_neigh_free(t, (uint32_t)idx, &t->st.dropped_flushed);
	return 0;
}

void net_neigh_flush(struct net_neigh_table *t)
{
	for (uint32_t i = 0; i < t->cfg.capacity; i++)
		if (t->e[i].state != NET_NEIGH_FREE)
			net_neigh_free(t, i, &t->st.dropped_flushed);
}
