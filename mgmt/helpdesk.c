/* Expert pools, help requests, the queue and the actions they produce: see helpdesk.h for the
 * rules. Sizes are small (HD_LIMIT), so lookups are linear scans over fixed tables. */
#include "helpdesk.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define NONE (-1)

struct pool {
	bool used;
	char name[HD_NAME_MAX + 1];
	char skills[HD_SKILLS_MAX + 1];
};

struct expert {
	bool used;
	bool available;
	bool auto_accept;
	char name[HD_NAME_MAX + 1];
	int32_t pool;
	uint32_t capacity;
	uint32_t sessions;
	uint32_t max_kbps;
	uint64_t last_pick; /* hd->picks when last picked from its pool; 0 = never */
	uint32_t data_len;
	uint8_t data[HD_DATA_MAX];
};

struct req {
	uint64_t id;
	char device[HD_NAME_MAX + 1];
	int32_t pool;
	int32_t expert; /* NONE while queued */
	int32_t with;   /* NONE when none, or after that expert was deleted */
	int priority;
	enum hd_state state;
	uint64_t created_ms, assigned_ms, active_ms;
};

struct hd {
	uint32_t max_pools, max_experts, max_requests;
	struct pool *pools;     /* slots; a deleted one is reused */
	struct expert *experts; /* slots */
	struct req *reqs;       /* open requests, packed in id order */
	uint32_t nreqs;
	uint64_t next_id;
	uint64_t picks;
	struct hd_action *act; /* ring */
	uint32_t act_cap, act_head, act_len;
};

struct hd *hd_new(uint32_t max_pools, uint32_t max_experts, uint32_t max_requests)
{
	if (!max_pools || !max_experts || !max_requests || max_pools > HD_LIMIT ||
	    max_experts > HD_LIMIT || max_requests > HD_LIMIT) {
		errno = EINVAL;
		return NULL;
	}
	struct hd *hd = calloc(1, sizeof(*hd));
	if (!hd)
		return NULL;
	hd->max_pools = max_pools;
	hd->max_experts = max_experts;
	hd->max_requests = max_requests;
	hd->next_id = 1;
	/* One call queues at most 6 actions per open request plus 3 (see room()). */
	hd->act_cap = 6 * max_requests + 8;
	hd->pools = calloc(max_pools, sizeof(*hd->pools));
	hd->experts = calloc(max_experts, sizeof(*hd->experts));
	hd->reqs = calloc(max_requests, sizeof(*hd->reqs));
	hd->act = calloc(hd->act_cap, sizeof(*hd->act));
	if (!hd->pools || !hd->experts || !hd->reqs || !hd->act) {
		hd_free(hd);
		errno = ENOMEM;
		return NULL;
	}
	return hd;
}

void hd_free(struct hd *hd)
{
	if (!hd)
		return;
	free(hd->pools);
	free(hd->experts);
	free(hd->reqs);
	free(hd->act);
	free(hd);
}

/* ---- names and lookups ------------------------------------------------------------------------
 */

static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= HD_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz"
	                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                 "0123456789_.-") == n &&
	       strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static int check_name(const char *what, const char *s, char *err, size_t len)
{
	if (!s || !*s)
		return mg_errf(-EINVAL, err, len, "%s name missing", what);
	if (!name_ok(s))
		return mg_errf(-EINVAL, err, len,
		               "%s name \"%.40s%s\" is not valid (1 to %d of A-Z a-z 0-9 _ . -)",
		               what, s, strlen(s) > 40 ? "..." : "", HD_NAME_MAX);
	return 0;
}

static int32_t pool_find(const struct hd *hd, const char *name)
{
	for (uint32_t i = 0; i < hd->max_pools; i++)
		if (hd->pools[i].used && strcmp(hd->pools[i].name, name) == 0)
			return (int32_t)i;
	return NONE;
}

static int32_t expert_find(const struct hd *hd, const char *name)
{
	for (uint32_t i = 0; i < hd->max_experts; i++)
		if (hd->experts[i].used && strcmp(hd->experts[i].name, name) == 0)
			return (int32_t)i;
	return NONE;
}

/* Index of open request id in the packed, sorted table, or NONE. */
static int32_t req_find(const struct hd *hd, uint64_t id)
{
	uint32_t lo = 0, hi = hd->nreqs;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (hd->reqs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < hd->nreqs && hd->reqs[lo].id == id ? (int32_t)lo : NONE;
}

static int no_request(uint64_t id, char *err, size_t len)
{
	return mg_errf(-ENOENT, err, len, "no open help request %" PRIu64, id);
}

/* ---- actions ----------------------------------------------------------------------------------
 */

/*
 * Refuse a call that could overflow the action queue. Per open request a call queues at most 3
 * actions for what it does to that request (stop, stop, ended) and 3 when the queue is served
 * (assigned, start, start); a new request adds 3. act_cap is sized for the worst case with an
 * empty queue, so a caller that drains after each call never sees this.
 */
static int room(const struct hd *hd, char *err, size_t len)
{
	if (hd->act_len + 6 * (uint64_t)hd->nreqs + 3 > hd->act_cap)
		return mg_errf(-ENOBUFS, err, len,
		               "%" PRIu32 " helpdesk actions not taken: drain them first",
		               hd->act_len);
	return 0;
}

static uint64_t since(uint64_t then, uint64_t now)
{
	return now > then ? now - then : 0;
}

static void push(struct hd *hd, enum hd_action_type type, const struct req *r, int32_t e, bool with,
                 uint64_t now)
{
	/* room() was checked before the call changed anything. */
	if (hd->act_len == hd->act_cap)
		return;
	struct hd_action *a = &hd->act[(hd->act_head + hd->act_len++) % hd->act_cap];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->request = r->id;
	strcpy(a->device, r->device);
	strcpy(a->pool, hd->pools[r->pool].name);
	a->with = with;
	a->priority = r->priority;
	a->waited_ms = since(r->created_ms, now);
	if (e != NONE) {
		const struct expert *x = &hd->experts[e];
		strcpy(a->expert, x->name);
		a->max_kbps = x->max_kbps;
		a->data_len = x->data_len;
		memcpy(a->data, x->data, x->data_len);
	}
}

bool hd_next_action(struct hd *hd, struct hd_action *out)
{
	if (!hd->act_len)
		return false;
	*out = hd->act[hd->act_head];
	hd->act_head = (hd->act_head + 1) % hd->act_cap;
	hd->act_len--;
	return true;
}

/* ---- assignment -------------------------------------------------------------------------------
 */

/* Is a a better pick than b? Lower load, fewer sessions, picked less recently, smaller name. */
static bool better(const struct expert *a, const struct expert *b)
{
	uint64_t la = (uint64_t)a->sessions * b->capacity;
	uint64_t lb = (uint64_t)b->sessions * a->capacity;
	if (la != lb)
		return la < lb;
	if (a->sessions != b->sessions)
		return a->sessions < b->sessions;
	if (a->last_pick != b->last_pick)
		return a->last_pick < b->last_pick;
	return strcmp(a->name, b->name) < 0;
}

/* The best candidate of pool other than except, or NONE. */
static int32_t pick(const struct hd *hd, int32_t pool, int32_t except)
{
	int32_t best = NONE;
	for (uint32_t i = 0; i < hd->max_experts; i++) {
		const struct expert *x = &hd->experts[i];
		if (!x->used || x->pool != pool || !x->available || x->sessions >= x->capacity ||
		    (int32_t)i == except)
			continue;
		if (best == NONE || better(x, &hd->experts[best]))
			best = (int32_t)i;
	}
	return best;
}

static void activate(struct hd *hd, struct req *r, uint64_t now)
{
	r->state = HD_STATE_ACTIVE;
	r->active_ms = now;
	push(hd, HD_START, r, r->expert, false, now);
	if (r->with != NONE)
		push(hd, HD_START, r, r->with, true, now);
}

static void take(struct hd *hd, struct req *r, int32_t e, uint64_t now)
{
	struct expert *x = &hd->experts[e];
	r->state = HD_STATE_ASSIGNED;
	r->expert = e;
	r->assigned_ms = now;
	x->sessions++;
	x->last_pick = ++hd->picks;
	if (r->with != NONE)
		hd->experts[r->with].sessions++;
	push(hd, HD_ASSIGNED, r, e, false, now);
	if (x->auto_accept)
		activate(hd, r, now);
}

/* Give up r's sessions (it is assigned or active). */
static void release(struct hd *hd, struct req *r)
{
	hd->experts[r->expert].sessions--;
	if (r->with != NONE)
		hd->experts[r->with].sessions--;
}

/* Serve every pool's queue, in priority then arrival order, while candidates remain. */
static void dispatch(struct hd *hd, uint64_t now)
{
	for (int32_t p = 0; p < (int32_t)hd->max_pools; p++) {
		if (!hd->pools[p].used)
			continue;
		for (;;) {
			int32_t any = pick(hd, p, NONE);
			if (any == NONE)
				break;
			struct req *best = NULL;
			int32_t best_e = NONE;
			/* reqs are in id order: a later one goes first only on higher priority. */
			for (uint32_t i = 0; i < hd->nreqs; i++) {
				struct req *r = &hd->reqs[i];
				if (r->state != HD_STATE_QUEUED || r->pool != p ||
				    (best && r->priority <= best->priority))
					continue;
				int32_t e = r->with == any ? pick(hd, p, r->with) : any;
				if (e != NONE) {
					best = r;
					best_e = e;
				}
			}
			if (!best)
				break;
			take(hd, best, best_e, now);
		}
	}
}

/* End the request at index i (it leaves the table). */
static void finish(struct hd *hd, uint32_t i, uint64_t now)
{
	struct req *r = &hd->reqs[i];
	if (r->state == HD_STATE_ACTIVE) {
		push(hd, HD_STOP, r, r->expert, false, now);
		if (r->with != NONE)
			push(hd, HD_STOP, r, r->with, true, now);
	}
	if (r->state != HD_STATE_QUEUED)
		release(hd, r);
	push(hd, HD_ENDED, r, r->expert, false, now);
	memmove(r, r + 1, (hd->nreqs - i - 1) * sizeof(*r));
	hd->nreqs--;
}

/* ---- pools ------------------------------------------------------------------------------------
 */

/* Check skills ("a,b", each a name, no repeats) and copy them to out. */
static int parse_skills(const char *skills, char *out, char *err, size_t len)
{
	out[0] = '\0';
	if (!skills || !*skills)
		return 0;
	if (strlen(skills) > HD_SKILLS_MAX)
		return mg_errf(-EINVAL, err, len, "skills list longer than %d bytes",
		               HD_SKILLS_MAX);
	char buf[HD_SKILLS_MAX + 1];
	strcpy(buf, skills);
	for (char *s = buf, *end; s; s = end) {
		end = strchr(s, ',');
		if (end)
			*end++ = '\0';
		int rc = check_name("skill", s, err, len);
		if (rc)
			return rc;
		/* Earlier skills are in buf before s, each followed by a NUL. */
		for (char *t = buf; t < s; t += strlen(t) + 1)
			if (strcmp(t, s) == 0)
				return mg_errf(-EINVAL, err, len, "skill %s listed twice", s);
	}
	strcpy(out, skills);
	return 0;
}

int hd_pool_add(struct hd *hd, const char *name, const char *skills, char *err, size_t len)
{
	char sk[HD_SKILLS_MAX + 1];
	int rc = check_name("pool", name, err, len);
	if (!rc)
		rc = parse_skills(skills, sk, err, len);
	if (rc)
		return rc;
	if (pool_find(hd, name) != NONE)
		return mg_errf(-EEXIST, err, len, "pool %s exists", name);
	for (uint32_t i = 0; i < hd->max_pools; i++) {
		struct pool *p = &hd->pools[i];
		if (p->used)
			continue;
		p->used = true;
		strcpy(p->name, name);
		strcpy(p->skills, sk);
		return 0;
	}
	return mg_errf(-ENOSPC, err, len, "too many pools (at most %" PRIu32 ")", hd->max_pools);
}

int hd_pool_del(struct hd *hd, const char *name, char *err, size_t len)
{
	int rc = check_name("pool", name, err, len);
	if (rc)
		return rc;
	int32_t p = pool_find(hd, name);
	if (p == NONE)
		return mg_errf(-ENOENT, err, len, "no pool named %s", name);
	uint32_t experts = 0, reqs = 0;
	for (uint32_t i = 0; i < hd->max_experts; i++)
		experts += hd->experts[i].used && hd->experts[i].pool == p;
	for (uint32_t i = 0; i < hd->nreqs; i++)
		reqs += hd->reqs[i].pool == p;
	if (experts)
		return mg_errf(-EBUSY, err, len, "pool %s still has %" PRIu32 " expert%s", name,
		               experts, experts == 1 ? "" : "s");
	if (reqs)
		return mg_errf(-EBUSY, err, len, "pool %s still has %" PRIu32 " open request%s",
		               name, reqs, reqs == 1 ? "" : "s");
	memset(&hd->pools[p], 0, sizeof(hd->pools[p]));
	return 0;
}

/* ---- experts ----------------------------------------------------------------------------------
 */

static int check_capacity(uint32_t capacity, char *err, size_t len)
{
	if (capacity < 1 || capacity > HD_CAPACITY_MAX)
		return mg_errf(-EINVAL, err, len, "capacity %" PRIu32 " out of range 1..%d",
		               capacity, HD_CAPACITY_MAX);
	return 0;
}

int hd_expert_add(struct hd *hd, const struct hd_expert_spec *spec, uint64_t now_ms, char *err,
                  size_t len)
{
	uint32_t capacity = spec->capacity ? spec->capacity : 1;
	int rc = room(hd, err, len);
	if (!rc)
		rc = check_name("expert", spec->name, err, len);
	if (!rc)
		rc = check_name("pool", spec->pool, err, len);
	if (!rc)
		rc = check_capacity(capacity, err, len);
	if (rc)
		return rc;
	if (spec->data_len > HD_DATA_MAX || (spec->data_len && !spec->data))
		return mg_errf(-EINVAL, err, len, "expert data of %zu bytes (at most %d)",
		               spec->data_len, HD_DATA_MAX);
	int32_t p = pool_find(hd, spec->pool);
	if (p == NONE)
		return mg_errf(-ENOENT, err, len, "no pool named %s", spec->pool);
	int32_t e = expert_find(hd, spec->name);
	if (e != NONE)
		return mg_errf(-EEXIST, err, len, "expert %s exists (in pool %s)", spec->name,
		               hd->pools[hd->experts[e].pool].name);
	for (uint32_t i = 0; i < hd->max_experts; i++) {
		struct expert *x = &hd->experts[i];
		if (x->used)
			continue;
		memset(x, 0, sizeof(*x));
		x->used = true;
		x->available = !spec->unavailable;
		x->auto_accept = spec->auto_accept;
		strcpy(x->name, spec->name);
		x->pool = p;
		x->capacity = capacity;
		x->max_kbps = spec->max_kbps;
		x->data_len = (uint32_t)spec->data_len;
		if (spec->data_len)
			memcpy(x->data, spec->data, spec->data_len);
		dispatch(hd, now_ms);
		return 0;
	}
	return mg_errf(-ENOSPC, err, len, "too many experts (at most %" PRIu32 ")",
	               hd->max_experts);
}

/* The expert named name for a call that may assign, or a negative errno. */
static int32_t expert_for(struct hd *hd, const char *name, char *err, size_t len)
{
	int rc = room(hd, err, len);
	if (!rc)
		rc = check_name("expert", name, err, len);
	if (rc)
		return rc;
	int32_t e = expert_find(hd, name);
	if (e == NONE)
		return mg_errf(-ENOENT, err, len, "no expert named %s", name);
	return e;
}

int hd_expert_set_available(struct hd *hd, const char *name, bool available, uint64_t now_ms,
                            char *err, size_t len)
{
	int32_t e = expert_for(hd, name, err, len);
	if (e < 0)
		return e;
	hd->experts[e].available = available;
	dispatch(hd, now_ms);
	return 0;
}

int hd_expert_set_capacity(struct hd *hd, const char *name, uint32_t capacity, uint64_t now_ms,
                           char *err, size_t len)
{
	int32_t e = expert_for(hd, name, err, len);
	if (e < 0)
		return e;
	int rc = check_capacity(capacity, err, len);
	if (rc)
		return rc;
	hd->experts[e].capacity = capacity;
	dispatch(hd, now_ms);
	return 0;
}

int hd_expert_del(struct hd *hd, const char *name, uint64_t now_ms, char *err, size_t len)
{
	int32_t e = expert_for(hd, name, err, len);
	if (e < 0)
		return e;
	for (uint32_t i = 0; i < hd->nreqs;) {
		struct req *r = &hd->reqs[i];
		if (r->expert == e && r->state == HD_STATE_ACTIVE) {
			finish(hd, i, now_ms);
			continue;
		}
		if (r->expert == e) {
			/* Not accepted yet: back to its place in the queue. */
			release(hd, r);
			r->state = HD_STATE_QUEUED;
			r->expert = NONE;
			push(hd, HD_QUEUED, r, NONE, false, now_ms);
		} else if (r->with == e) {
			if (r->state == HD_STATE_ACTIVE)
				push(hd, HD_STOP, r, e, true, now_ms);
			r->with = NONE; /* its own count goes with it */
		}
		i++;
	}
	memset(&hd->experts[e], 0, sizeof(hd->experts[e]));
	dispatch(hd, now_ms);
	return 0;
}

/* ---- requests ---------------------------------------------------------------------------------
 */

int64_t hd_request(struct hd *hd, const char *device, const char *pool, int priority,
                   const char *with, uint64_t now_ms, char *err, size_t len)
{
	int rc = room(hd, err, len);
	if (!rc)
		rc = check_name("device", device, err, len);
	if (!rc)
		rc = check_name("pool", pool, err, len);
	if (!rc && with && *with)
		rc = check_name("expert", with, err, len);
	if (rc)
		return rc;
	int32_t p = pool_find(hd, pool);
	if (p == NONE)
		return mg_errf(-ENOENT, err, len, "no pool named %s", pool);
	int32_t w = NONE;
	if (with && *with) {
		w = expert_find(hd, with);
		if (w == NONE)
			return mg_errf(-ENOENT, err, len, "no expert named %s to join", with);
		if (!hd->experts[w].available)
			return mg_errf(-EAGAIN, err, len, "expert %s is unavailable", with);
	}
	for (uint32_t i = 0; i < hd->nreqs; i++)
		if (hd->reqs[i].pool == p && strcmp(hd->reqs[i].device, device) == 0)
			return mg_errf(-EEXIST, err, len,
			               "device %s already has help request %" PRIu64
			               " open in pool %s",
			               device, hd->reqs[i].id, pool);
	if (hd->nreqs == hd->max_requests)
		return mg_errf(-ENOSPC, err, len,
		               "too many open help requests (at most %" PRIu32 ")",
		               hd->max_requests);
	struct req *r = &hd->reqs[hd->nreqs++];
	memset(r, 0, sizeof(*r));
	r->id = hd->next_id++;
	strcpy(r->device, device);
	r->pool = p;
	r->expert = NONE;
	r->with = w;
	r->priority = priority;
	r->state = HD_STATE_QUEUED;
	r->created_ms = now_ms;
	uint64_t id = r->id;
	/* Only this request can be served: the queue was served after every earlier change. */
	dispatch(hd, now_ms);
	r = &hd->reqs[hd->nreqs - 1];
	if (r->state == HD_STATE_QUEUED)
		push(hd, HD_QUEUED, r, NONE, false, now_ms);
	return (int64_t)id;
}

int hd_accept(struct hd *hd, uint64_t id, const char *by, uint64_t now_ms, char *err, size_t len)
{
	int rc = room(hd, err, len);
	if (rc)
		return rc;
	int32_t i = req_find(hd, id);
	if (i == NONE)
		return no_request(id, err, len);
	struct req *r = &hd->reqs[i];
	if (r->state == HD_STATE_QUEUED)
		return mg_errf(-EINVAL, err, len,
		               "help request %" PRIu64 " is queued, not assigned", id);
	const char *expert = hd->experts[r->expert].name;
	if (by && strcmp(by, expert) != 0)
		return mg_errf(-EPERM, err, len,
		               "help request %" PRIu64 " is assigned to %s, not %.40s", id, expert,
		               by);
	if (r->state == HD_STATE_ACTIVE)
		return mg_errf(-EALREADY, err, len, "help request %" PRIu64 " is active already",
		               id);
	activate(hd, r, now_ms);
	return 0;
}

int hd_end(struct hd *hd, uint64_t id, uint64_t now_ms, char *err, size_t len)
{
	int rc = room(hd, err, len);
	if (rc)
		return rc;
	int32_t i = req_find(hd, id);
	if (i == NONE)
		return no_request(id, err, len);
	finish(hd, (uint32_t)i, now_ms);
	dispatch(hd, now_ms);
	return 0;
}

/* ---- listings ---------------------------------------------------------------------------------
 */

static void expert_info(const struct hd *hd, const struct expert *x, struct hd_expert_info *o)
{
	memset(o, 0, sizeof(*o));
	strcpy(o->name, x->name);
	strcpy(o->pool, hd->pools[x->pool].name);
	o->available = x->available;
	o->auto_accept = x->auto_accept;
	o->capacity = x->capacity;
	o->sessions = x->sessions;
	o->max_kbps = x->max_kbps;
	o->data_len = x->data_len;
	memcpy(o->data, x->data, x->data_len);
}

static void request_info(const struct hd *hd, const struct req *r, uint64_t now,
                         struct hd_request_info *o)
{
	memset(o, 0, sizeof(*o));
	o->id = r->id;
	strcpy(o->device, r->device);
	strcpy(o->pool, hd->pools[r->pool].name);
	if (r->expert != NONE)
		strcpy(o->expert, hd->experts[r->expert].name);
	if (r->with != NONE)
		strcpy(o->with, hd->experts[r->with].name);
	o->priority = r->priority;
	o->state = r->state;
	o->created_ms = r->created_ms;
	o->assigned_ms = r->assigned_ms;
	o->active_ms = r->active_ms;
	if (r->state == HD_STATE_QUEUED) {
		o->position = 1;
		for (uint32_t i = 0; i < hd->nreqs; i++) {
			const struct req *q = &hd->reqs[i];
			o->position += q->state == HD_STATE_QUEUED && q->pool == r->pool &&
			               (q->priority > r->priority ||
			                (q->priority == r->priority && q->id < r->id));
		}
		o->waited_ms = since(r->created_ms, now);
	} else {
		o->waited_ms = since(r->created_ms, r->assigned_ms);
	}
}

size_t hd_pool_list(const struct hd *hd, struct hd_pool_info *out, size_t max)
{
	size_t n = 0;
	for (uint32_t p = 0; p < hd->max_pools; p++) {
		if (!hd->pools[p].used)
			continue;
		if (n < max) {
			struct hd_pool_info *o = &out[n];
			memset(o, 0, sizeof(*o));
			strcpy(o->name, hd->pools[p].name);
			strcpy(o->skills, hd->pools[p].skills);
			for (uint32_t i = 0; i < hd->max_experts; i++) {
				const struct expert *x = &hd->experts[i];
				if (!x->used || x->pool != (int32_t)p)
					continue;
				o->experts++;
				o->available += x->available;
				o->sessions += x->sessions;
				if (x->available && x->sessions < x->capacity)
					o->free += x->capacity - x->sessions;
			}
			for (uint32_t i = 0; i < hd->nreqs; i++)
				o->queued += hd->reqs[i].pool == (int32_t)p &&
				             hd->reqs[i].state == HD_STATE_QUEUED;
		}
		n++;
	}
	return n;
}

size_t hd_expert_list(const struct hd *hd, struct hd_expert_info *out, size_t max)
{
	size_t n = 0;
	for (uint32_t i = 0; i < hd->max_experts; i++) {
		if (!hd->experts[i].used)
			continue;
		if (n < max)
			expert_info(hd, &hd->experts[i], &out[n]);
		n++;
	}
	return n;
}

size_t hd_request_list(const struct hd *hd, uint64_t now_ms, struct hd_request_info *out,
                       size_t max)
{
	for (uint32_t i = 0; i < hd->nreqs && i < max; i++)
		request_info(hd, &hd->reqs[i], now_ms, &out[i]);
	return hd->nreqs;
}

void hd_request_counts(const struct hd *hd, uint64_t by_state[HD_STATE_COUNT])
{
	for (int k = 0; k < HD_STATE_COUNT; k++)
		by_state[k] = 0;
	for (uint32_t i = 0; i < hd->nreqs; i++)
		by_state[hd->reqs[i].state]++;
}

int hd_expert_get(const struct hd *hd, const char *name, struct hd_expert_info *out)
{
	int32_t e = name ? expert_find(hd, name) : NONE;
	if (e == NONE)
		return -ENOENT;
	expert_info(hd, &hd->experts[e], out);
	return 0;
}

int hd_request_get(const struct hd *hd, uint64_t id, uint64_t now_ms, struct hd_request_info *out)
{
	int32_t i = req_find(hd, id);
	if (i == NONE)
		return -ENOENT;
	request_info(hd, &hd->reqs[i], now_ms, out);
	return 0;
}

const char *hd_action_name(enum hd_action_type type)
{
	switch (type) {
	case HD_QUEUED:
		return "queued";
	case HD_ASSIGNED:
		return "assigned";
	case HD_START:
		return "start";
	case HD_STOP:
		return "stop";
	case HD_ENDED:
		return "ended";
	}
	return "?";
}

const char *hd_state_name(enum hd_state state)
{
	switch (state) {
	case HD_STATE_QUEUED:
		return "queued";
	case HD_STATE_ASSIGNED:
		return "assigned";
	case HD_STATE_ACTIVE:
		return "active";
	}
	return "?";
}
