/* Expert pools and help requests: which expert helps which device, in what order, and what media
 * the caller must start or stop as a result. Pure logic for caasd's control thread: no I/O, no
 * threads, no clock (calls that can assign take now_ms), no allocation after hd_new. */
#ifndef CAAS_MGMT_HELPDESK_H
#define CAAS_MGMT_HELPDESK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Rules
 * - Names of pools, experts and devices: [A-Za-z0-9_.-]{1,32}, not "." or ".." (as MG_TYPE_NAME).
 *   Expert names are unique across pools, so that --with can name any expert.
 * - A session is a request in state assigned or active; it counts for its expert and for its
 *   --with participant. load = sessions / capacity.
 * - Candidates for a request: the available experts of its pool with sessions < capacity, except
 *   the request's own --with participant. The pick is the lowest load, then the fewest sessions,
 *   then the one picked from its pool least recently (never picked first), then the smallest
 *   name (strcmp). Equal experts thus take requests in turn.
 * - A request that finds no candidate waits in its pool's queue: higher priority first, then
 *   arrival (request id). Whenever capacity may have freed (a session ends, an expert is added,
 *   made available or given more capacity), every pool's queue is served in that order while
 *   candidates remain; a request whose only candidate would be its own --with participant is
 *   passed over without blocking those behind it.
 * - States: queued -> assigned (HD_ASSIGNED: tell the expert) -> active (HD_START) -> gone
 *   (HD_ENDED). An auto-accepting expert goes to active at once. hd_end works in every state;
 *   a queued request just leaves the queue.
 * - One open request per (device, pool): a second is refused with -EEXIST, so a repeated press
 *   of "help" cannot take two experts.
 * - Unavailable experts keep their sessions (and pending assignments) but get no new ones;
 *   lowering capacity below the current sessions keeps them too.
 * - --with: an existing expert of any pool, available when the request is made. It is invited,
 *   not picked: its session counts from assignment to end (so its own pool sends it less) and it
 *   joins even above its capacity or if it became unavailable meanwhile; it gets HD_START when
 *   the request becomes active and HD_STOP when it ends.
 * - Deleting an expert: its active sessions end (HD_STOP for it and the --with participant, then
 *   HD_ENDED); requests assigned to it but not yet accepted go back to the queue in their place
 *   (HD_QUEUED) and may be assigned again at once; where it is the --with participant it leaves
 *   (HD_STOP if active) and the request goes on without it.
 * - A pool cannot be deleted while it has experts or open requests (-EBUSY).
 * - Every error is a negative errno with a message in err (err may be NULL when len is 0).
 *
 * Actions: every call that changes assignments queues what the caller must do, in order; drain
 * them with hd_next_action after each call. A call that could overflow the action queue because
 * earlier actions were not drained is refused with -ENOBUFS and changes nothing.
 */

#define HD_NAME_MAX     32   /* bytes in a name, without the NUL */
#define HD_SKILLS_MAX   128  /* bytes in a pool's skills list "a,b,c" */
#define HD_CAPACITY_MAX 64   /* sessions per expert */
#define HD_DATA_MAX     64   /* bytes of opaque caller data per expert */
#define HD_LIMIT        4096 /* upper bound of each hd_new limit */

struct hd;

/* At most max_pools pools, max_experts experts and max_requests open requests (each 1 to
 * HD_LIMIT). NULL with errno EINVAL or ENOMEM. */
struct hd *hd_new(uint32_t max_pools, uint32_t max_experts, uint32_t max_requests);
void hd_free(struct hd *hd);

/* skills: a comma-separated list of names, or NULL/"" for none; kept for listings only. */
int hd_pool_add(struct hd *hd, const char *name, const char *skills, char *err, size_t len);
int hd_pool_del(struct hd *hd, const char *name, char *err, size_t len);

struct hd_expert_spec {
	const char *name;
	const char *pool;
	uint32_t capacity; /* sessions at once, 1..HD_CAPACITY_MAX; 0 means 1 */
	uint32_t max_kbps; /* what its link takes, 0 = any; passed on in actions */
	bool auto_accept;  /* assignments start at once, without hd_accept */
	bool unavailable;  /* added unavailable (default: available) */
	const void *data;  /* caller data copied in (its address...), passed on in actions */
	size_t data_len;   /* 0..HD_DATA_MAX */
};

int hd_expert_add(struct hd *hd, const struct hd_expert_spec *spec, uint64_t now_ms, char *err,
                  size_t len);
int hd_expert_set_available(struct hd *hd, const char *name, bool available, uint64_t now_ms,
                            char *err, size_t len);
int hd_expert_set_capacity(struct hd *hd, const char *name, uint32_t capacity, uint64_t now_ms,
                           char *err, size_t len);
int hd_expert_del(struct hd *hd, const char *name, uint64_t now_ms, char *err, size_t len);

/* Help for device from pool, with an optional extra participant (NULL or "" for none). Returns
 * the request id (> 0, never reused), assigned at once or queued, or a negative errno. */
int64_t hd_request(struct hd *hd, const char *device, const char *pool, int priority,
                   const char *with, uint64_t now_ms, char *err, size_t len);
/* The assigned expert accepts: the request becomes active. by, when not NULL, must name that
 * expert (-EPERM otherwise). -EINVAL while queued, -EALREADY when active. */
int hd_accept(struct hd *hd, uint64_t id, const char *by, uint64_t now_ms, char *err, size_t len);
/* End a request in any state; its sessions free capacity for the queue. */
int hd_end(struct hd *hd, uint64_t id, uint64_t now_ms, char *err, size_t len);

enum hd_action_type {
	HD_QUEUED,   /* no expert free: the request waits (also when its expert was deleted) */
	HD_ASSIGNED, /* tell expert: request assigned to it, to accept (or auto-accepted) */
	HD_START,    /* media on: device -> expert, talkback expert -> device */
	HD_STOP,     /* media off for (request, expert) */
	HD_ENDED,    /* the request is over; expert is who had it, "" if it never got one */
};

struct hd_action {
	enum hd_action_type type;
	uint64_t request;
	char device[HD_NAME_MAX + 1];
	char pool[HD_NAME_MAX + 1];
	char expert[HD_NAME_MAX + 1]; /* "" for HD_QUEUED */
	bool with;                    /* HD_START/HD_STOP: expert is the --with participant */
	int priority;
	uint64_t waited_ms; /* now_ms minus the request's time: waiting, to start, lifetime */
	/* The expert's, copied so that an action stays usable after the expert is deleted. */
	uint32_t max_kbps;
	uint32_t data_len;
	uint8_t data[HD_DATA_MAX];
};

/* Take the oldest pending action; false when there is none. */
bool hd_next_action(struct hd *hd, struct hd_action *out);

enum hd_state {
	HD_STATE_QUEUED,
	HD_STATE_ASSIGNED,
	HD_STATE_ACTIVE,
};
#define HD_STATE_COUNT 3

struct hd_pool_info {
	char name[HD_NAME_MAX + 1];
	char skills[HD_SKILLS_MAX + 1];
	uint32_t experts;   /* in the pool */
	uint32_t available; /* of which available */
	uint32_t sessions;  /* sum over its experts (their --with sessions included) */
	uint32_t free;      /* slots open to new requests now: available experts below capacity */
	uint32_t queued;    /* requests waiting */
};

struct hd_expert_info {
	char name[HD_NAME_MAX + 1];
	char pool[HD_NAME_MAX + 1];
	bool available;
	bool auto_accept;
	uint32_t capacity;
	uint32_t sessions; /* assigned or active, as expert or --with participant */
	uint32_t max_kbps;
	uint32_t data_len;
	uint8_t data[HD_DATA_MAX];
};

struct hd_request_info {
	uint64_t id;
	char device[HD_NAME_MAX + 1];
	char pool[HD_NAME_MAX + 1];
	char expert[HD_NAME_MAX + 1]; /* "" while queued */
	char with[HD_NAME_MAX + 1];   /* "" for none */
	int priority;
	enum hd_state state;
	uint32_t position;   /* queued: 1-based place in its pool's queue; else 0 */
	uint64_t created_ms; /* times as given by the caller; later ones valid from that state on */
	uint64_t assigned_ms;
	uint64_t active_ms;
	uint64_t waited_ms; /* for an expert: until assigned, or until now_ms while queued */
};

/* Listings for caasctl: each fills at most max entries and returns how many there are. Pools and
 * experts come in table order (a deleted one's place is reused), open requests in id order. */
size_t hd_pool_list(const struct hd *hd, struct hd_pool_info *out, size_t max);
size_t hd_expert_list(const struct hd *hd, struct hd_expert_info *out, size_t max);
size_t hd_request_list(const struct hd *hd, uint64_t now_ms, struct hd_request_info *out,
                       size_t max);
int hd_expert_get(const struct hd *hd, const char *name, struct hd_expert_info *out);
/* How many open requests are in each state (for gauges; no listing copied). */
void hd_request_counts(const struct hd *hd, uint64_t by_state[HD_STATE_COUNT]);
int hd_request_get(const struct hd *hd, uint64_t id, uint64_t now_ms, struct hd_request_info *out);

const char *hd_action_name(enum hd_action_type type); /* "queued", "assigned", ... */
const char *hd_state_name(enum hd_state state);

#endif
