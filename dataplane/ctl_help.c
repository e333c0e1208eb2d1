/* Expert pools and help requests in caasd: the commands, on top of mgmt/helpdesk.c (which decides
 * who helps whom), turning its actions into subscriptions of the device's stream to the expert.
 * Expert session k (0 <= k < capacity) is sent to the expert's IP and PORT + 2k, so one client
 * per session slot listens on a port of its own. Runs on the control thread, under its lock. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "mgmt/err.h"
#include "mgmt/helpdesk.h"
#include "mgmt/metrics.h"
#include "mgmt/state.h"

#define MAX_POOLS    256
#define MAX_EXPERTS  1024
#define MAX_REQUESTS 4096
#define SDP_MAX      4096

/* What caasd keeps of an expert in the helpdesk's per-expert data. */
struct expert_data {
	char host[46]; /* IPv4 or IPv6, numeric */
	uint16_t port; /* session 0's RTP port */
	uint16_t audio_from_port;
	uint16_t audio_to_port;
};

/* A subscription made for a help session: request x expert (main or --with). */
struct session {
	uint64_t req;
	char expert[HD_NAME_MAX + 1];
	bool with;
	int slot;
	uint32_t sub;
	uint64_t resumed_ns; /* media on: when the subscription was resumed (0: not yet) */
	bool ttff_seen;
};

struct ctl_help {
	struct session *s;
	size_t n, cap;
	/* for the metrics page: written here, read by its thread (struct mg_histo allows that) */
	struct mg_histo wait;        /* request to assignment, seconds */
	struct mg_histo first_frame; /* media on to the first packet sent to the expert, seconds */
	_Atomic uint64_t requests, ended;
};

static uint64_t now_ms(void)
{
	return dp_mono_ns() / DP_MS;
}

static struct ctl_help *H(struct control *c)
{
	return c->help;
}

static int split_addr(const char *to, struct expert_data *d)
{
	const char *colon = strrchr(to, ':');
	size_t n;

	if (!colon)
		return -EINVAL;
	n = (size_t)(colon - to);
	if (to[0] == '[') { /* [v6]:port */
		to++;
		n -= 2;
	}
	if (n >= sizeof(d->host))
		return -EINVAL;
	memcpy(d->host, to, n);
	d->host[n] = '\0';
	d->port = (uint16_t)strtoul(colon + 1, NULL, 10);
	return d->port ? 0 : -EINVAL;
}

static void session_addr(const struct expert_data *d, int slot, char *out, size_t len)
{
	unsigned port = d->port + 2u * (unsigned)slot;
	snprintf(out, len, strchr(d->host, ':') ? "[%s]:%u" : "%s:%u", d->host, port);
}

static struct session *session_find(struct ctl_help *h, uint64_t req, const char *expert)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->s[i].req == req && !strcmp(h->s[i].expert, expert))
			return &h->s[i];
	return NULL;
}

/* The lowest session slot the expert is not using. */
static int free_slot(struct ctl_help *h, const char *expert)
{
	uint64_t used = 0;
	for (size_t i = 0; i < h->n; i++)
		if (!strcmp(h->s[i].expert, expert) && h->s[i].slot < 64)
			used |= 1ull << h->s[i].slot;
	for (int k = 0; k < 64; k++)
		if (!(used & (1ull << k)))
			return k;
	return -1;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("caasd: help: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	va_end(ap);
}

/* Assigned: the subscription is made paused, so the expert can fetch its SDP (expert sdp) and
 * open its client before accepting; accepting resumes it, and the fast-start picture arrives. */
static void media_prepare(struct control *c, const struct hd_action *a, bool live);

static void media_start(struct control *c, const struct hd_action *a)
{
	struct session *s = session_find(H(c), a->request, a->expert);
	struct dp_sub *sub = s ? ctl_find_sub(c, s->sub) : NULL;

	if (!sub) {
		media_prepare(c, a, true); /* the --with participant: at once */
		return;
	}
	s->resumed_ns = dp_mono_ns();
	if (ctl_sub_resume(c, sub) < 0)
		say("request %" PRIu64 ": resuming subscription %u failed", a->request, sub->id);
	else
		say("request %" PRIu64 ": media on, %s -> %s (subscription %u)", a->request,
		    a->device, a->expert, sub->id);
}

/* Every subscription of a request (it went back to the queue, or ended). */
static void media_drop(struct control *c, uint64_t req)
{
	struct ctl_help *h = H(c);

	for (size_t i = 0; i < h->n;) {
		if (h->s[i].req == req) {
			ctl_sub_remove(c, h->s[i].sub);
			h->s[i] = h->s[--h->n];
		} else {
			i++;
		}
	}
}

static void media_prepare(struct control *c, const struct hd_action *a, bool live)
{
	struct ctl_help *h = H(c);
	const struct expert_data *d = (const void *)a->data;
	struct dp_dev *dev = ctl_find_dev(c, a->device);
	struct dp_sub *sub;
	char to[64], err[256];
	int slot;

	if (!dev) {
		say("request %" PRIu64 ": device %s is gone", a->request, a->device);
		return;
	}
	slot = free_slot(h, a->expert);
	if (slot < 0 || a->data_len < sizeof(*d)) {
		say("request %" PRIu64 ": no session slot for %s", a->request, a->expert);
		return;
	}
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 64;
		struct session *s = realloc(h->s, cap * sizeof(*s));
		if (!s)
			return;
		h->s = s;
		h->cap = cap;
	}
	session_addr(d, slot, to, sizeof(to));
	/* An expert whose link takes less than the camera sends gets the best rendition that
	 * fits; without one, the camera's own stream (and the operator hears of it). */
	struct dp_dev *target = dev;
	const char *rend = ctl_tc_pick(c, dev, a->max_kbps);
	if (rend && ctl_tc_rendition_dev(c, dev, rend, &target, err, sizeof(err))) {
		say("request %" PRIu64 ": rendition %s for %s: %s; the camera's own stream instead",
		    a->request, rend, a->expert, err);
		target = dev;
		rend = NULL;
	} else if (!rend && a->max_kbps && dev->ctl_kbps > a->max_kbps) {
		say("request %" PRIu64 ": %s takes %u kbit/s, %s sends %.0f: no rendition fits",
		    a->request, a->expert, a->max_kbps, a->device, dev->ctl_kbps);
	}
	if (ctl_sub_create(c, target, to, -1, d->audio_from_port, d->audio_to_port, !live, &sub,
	                   err, sizeof(err))) {
		say("request %" PRIu64 ": %s to %s: %s", a->request, a->device, to, err);
		return;
	}
	h->s[h->n] = (struct session){.req = a->request,
	                              .with = a->with,
	                              .slot = slot,
	                              .sub = sub->id,
	                              .resumed_ns = live ? dp_mono_ns() : 0};
	snprintf(h->s[h->n].expert, sizeof(h->s[h->n].expert), "%s", a->expert);
	h->n++;
	say("request %" PRIu64 ": %s -> %s%s at %s (subscription %u%s%s%s)", a->request, a->device,
	    a->expert, a->with ? " (participant)" : "", to, sub->id, live ? "" : ", paused",
	    rend ? ", rendition " : "", rend ? rend : "");
}

static void media_stop(struct control *c, const struct hd_action *a)
{
	struct ctl_help *h = H(c);
	struct session *s = session_find(h, a->request, a->expert);

	if (!s)
		return;
	ctl_sub_remove(c, s->sub); /* -ENOENT: the device took it with it */
	*s = h->s[--h->n];
}

/* Carry out what the helpdesk decided, in order. */
static void act(struct control *c)
{
	struct hd_action a;

	while (hd_next_action(c->hd, &a)) {
		ctl_event(c,
		          a.type == HD_QUEUED     ? "help_queued"
		          : a.type == HD_ASSIGNED ? "help_assigned"
		          : a.type == HD_START    ? "help_media_on"
		          : a.type == HD_STOP     ? "help_media_off"
		                                  : "help_ended",
		          json_pack("{s:I, s:s, s:s, s:s, s:b, s:i, s:f}", "request",
		                    (json_int_t)a.request, "device", a.device, "pool", a.pool,
		                    "expert", a.expert, "with", a.with, "priority", a.priority,
		                    "waited_s", a.waited_ms / 1000.0));
		switch (a.type) {
		case HD_QUEUED:
			media_drop(c, a.request);
			say("request %" PRIu64 ": %s waits for pool %s", a.request, a.device,
			    a.pool);
			break;
		case HD_ASSIGNED:
			if (!a.with)
				mg_histo_observe(&H(c)->wait, a.waited_ms / 1000.0);
			say("request %" PRIu64 ": %s assigned to %s after %" PRIu64 " ms",
			    a.request, a.device, a.expert, a.waited_ms);
			media_prepare(c, &a, false);
			break;
		case HD_START:
			media_start(c, &a);
			break;
		case HD_STOP:
			media_stop(c, &a);
			break;
		case HD_ENDED:
			H(c)->ended++;
			media_drop(c, a.request);
			say("request %" PRIu64 ": ended", a.request);
			break;
		}
	}
}

/* --- pools ------------------------------------------------------------------------------------ */

static int cmd_pool_add(struct control *c, const json_t *args, json_t **result, char *err,
                        size_t len)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	int rc =
	    hd_pool_add(c->hd, name, json_string_value(json_object_get(args, "skills")), err, len);
	(void)result;
	if (!rc)
		ctl_remember(c, "pools", name, args);
	return rc;
}

static int cmd_pool_list(struct control *c, const json_t *args, json_t **result, char *err,
                         size_t len)
{
	static struct hd_pool_info p[MAX_POOLS];
	size_t n = hd_pool_list(c->hd, p, MAX_POOLS);
	json_t *a = json_array();
	(void)args, (void)err, (void)len;

	for (size_t i = 0; i < n && i < MAX_POOLS; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i}", "name",
		                                   p[i].name, "skills", p[i].skills, "experts",
		                                   p[i].experts, "available", p[i].available,
		                                   "sessions", p[i].sessions, "free", p[i].free,
		                                   "queued", p[i].queued));
	*result = a;
	return 0;
}

static int cmd_pool_del(struct control *c, const json_t *args, json_t **result, char *err,
                        size_t len)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	int rc = hd_pool_del(c->hd, name, err, len);
	(void)result;
	if (!rc)
		ctl_forget(c, "pools", name);
	return rc;
}

/* --- experts ---------------------------------------------------------------------------------- */

static int cmd_expert_add(struct control *c, const json_t *args, json_t **result, char *err,
                          size_t len)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	const char *to = json_string_value(json_object_get(args, "to"));
	json_t *audio = json_object_get(args, "audio_from_port");
	struct expert_data d = {0};
	struct hd_expert_spec spec = {
	    .name = name,
	    .pool = json_string_value(json_object_get(args, "pool")),
	    .capacity = (uint32_t)json_integer_value(json_object_get(args, "capacity")),
	    .max_kbps = (uint32_t)json_integer_value(json_object_get(args, "max_kbps")),
	    .auto_accept = json_is_true(json_object_get(args, "auto_accept")),
	    .data = &d,
	    .data_len = sizeof(d),
	};
	int rc;
	(void)result;

	if (split_addr(to, &d))
		return mg_errf(-EINVAL, err, len, "--to %s: want IP:PORT", to);
	if (d.port + 2u * (spec.capacity ? spec.capacity - 1 : 0) > 65534)
		return mg_errf(-EINVAL, err, len,
		               "--to %s: %u sessions need ports up to %u, above 65534", to,
		               spec.capacity, d.port + 2u * (spec.capacity - 1));
	d.audio_from_port = audio ? (uint16_t)json_integer_value(audio) : 0;
	/* 0 when absent: it hears no one */
	d.audio_to_port = (uint16_t)json_integer_value(json_object_get(args, "audio_to_port"));
	rc = hd_expert_add(c->hd, &spec, now_ms(), err, len);
	if (rc)
		return rc;
	ctl_remember(c, "experts", name, args);
	act(c);
	return 0;
}

static int cmd_expert_set(struct control *c, const json_t *args, json_t **result, char *err,
                          size_t len)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	json_t *avail = json_object_get(args, "available");
	json_t *cap = json_object_get(args, "capacity");
	int rc = 0;
	(void)result;

	if (!avail && !cap)
		return mg_errf(-EINVAL, err, len, "nothing to set: --available or --capacity");
	if (cap)
		rc = hd_expert_set_capacity(c->hd, name, (uint32_t)json_integer_value(cap),
		                            now_ms(), err, len);
	if (!rc && avail)
		rc = hd_expert_set_available(c->hd, name, json_is_true(avail), now_ms(), err, len);
	if (!rc && cap)
		mg_state_set_arg(c->state, "experts", name, "capacity", json_copy(cap), NULL, 0);
	act(c);
	return rc;
}

static void expert_to(const struct hd_expert_info *e, char *out, size_t len)
{
	const struct expert_data *d = (const void *)e->data;
	if (e->data_len < sizeof(*d)) {
		snprintf(out, len, "?");
		return;
	}
	session_addr(d, 0, out, len);
}

static int cmd_expert_list(struct control *c, const json_t *args, json_t **result, char *err,
                           size_t len)
{
	static struct hd_expert_info e[MAX_EXPERTS];
	size_t n = hd_expert_list(c->hd, e, MAX_EXPERTS);
	json_t *a = json_array();
	(void)args, (void)err, (void)len;

	for (size_t i = 0; i < n && i < MAX_EXPERTS; i++) {
		char to[64];
		json_t *subs = json_array();
		expert_to(&e[i], to, sizeof(to));
		for (size_t k = 0; k < H(c)->n; k++)
			if (!strcmp(H(c)->s[k].expert, e[i].name))
				json_array_append_new(subs, json_integer(H(c)->s[k].sub));
		json_array_append_new(
		    a,
		    json_pack("{s:s, s:s, s:s, s:b, s:b, s:i, s:i, s:i, s:f, s:o}", "name",
		              e[i].name, "pool", e[i].pool, "to", to, "available", e[i].available,
		              "auto_accept", e[i].auto_accept, "capacity", e[i].capacity,
		              "sessions", e[i].sessions, "max_kbps", e[i].max_kbps, "load_pct",
		              100.0 * e[i].sessions / (e[i].capacity ? e[i].capacity : 1), "subs",
		              subs));
	}
	*result = a;
	return 0;
}

static int cmd_expert_del(struct control *c, const json_t *args, json_t **result, char *err,
                          size_t len)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	int rc = hd_expert_del(c->hd, name, now_ms(), err, len);
	(void)result;
	if (!rc)
		ctl_forget(c, "experts", name);
	act(c);
	return rc;
}

static int cmd_expert_sdp(struct control *c, const json_t *args, json_t **result, char *err,
                          size_t len)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	struct hd_expert_info e;
	json_t *list = json_array();
	char *all = calloc(1, 1);
	size_t all_len = 0;

	if (hd_expert_get(c->hd, name, &e)) {
		json_decref(list);
		free(all);
		return mg_errf(-ENOENT, err, len, "no expert %s", name);
	}
	for (size_t k = 0; all && k < H(c)->n; k++) {
		struct session *s = &H(c)->s[k];
		struct dp_sub *sub = strcmp(s->expert, name) ? NULL : ctl_find_sub(c, s->sub);
		char sdp[SDP_MAX];
		char *grown;
		if (!sub || ctl_make_sdp(c, sub, sdp, sizeof(sdp)) < 0)
			continue;
		json_array_append_new(list, json_pack("{s:I, s:I, s:i, s:s}", "request",
		                                      (json_int_t)s->req, "sub", (json_int_t)s->sub,
		                                      "slot", s->slot, "sdp", sdp));
		grown = realloc(all, all_len + strlen(sdp) + 1);
		if (!grown)
			break;
		all = grown;
		memcpy(all + all_len, sdp, strlen(sdp) + 1);
		all_len += strlen(sdp);
	}
	if (!json_array_size(list)) {
		json_decref(list);
		free(all);
		return mg_errf(-ENOENT, err, len, "expert %s receives nothing now", name);
	}
	*result = json_pack("{s:s, s:o}", "sdp", all ? all : "", "sessions", list);
	free(all);
	return 0;
}

/* --- help requests ------------------------------------------------------------------------------
 */

static int cmd_help_request(struct control *c, const json_t *args, json_t **result, char *err,
                            size_t len)
{
	const char *device = json_string_value(json_object_get(args, "device"));
	struct hd_request_info r;
	int64_t id;

	if (!ctl_find_dev(c, device))
		return mg_errf(-ENOENT, err, len, "no device %s", device);
	id = hd_request(c->hd, device, json_string_value(json_object_get(args, "pool")),
	                (int)json_integer_value(json_object_get(args, "priority")),
	                json_string_value(json_object_get(args, "with")), now_ms(), err, len);
	if (id < 0)
		return (int)id;
	H(c)->requests++;
	ctl_event(c, "help_requested",
	          json_pack("{s:I, s:s, s:s, s:i}", "request", (json_int_t)id, "device", device,
	                    "pool", json_string_value(json_object_get(args, "pool")), "priority",
	                    (int)json_integer_value(json_object_get(args, "priority"))));
	act(c);
	hd_request_get(c->hd, (uint64_t)id, now_ms(), &r);
	*result = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "state",
	                    hd_state_name(r.state), "expert", r.expert);
	return 0;
}

static int cmd_help_accept(struct control *c, const json_t *args, json_t **result, char *err,
                           size_t len)
{
	uint64_t id = (uint64_t)json_integer_value(json_object_get(args, "id"));
	int rc = hd_accept(c->hd, id, json_string_value(json_object_get(args, "by")), now_ms(), err,
	                   len);
	(void)result;
	act(c);
	return rc;
}

static int cmd_help_end(struct control *c, const json_t *args, json_t **result, char *err,
                        size_t len)
{
	uint64_t id = (uint64_t)json_integer_value(json_object_get(args, "id"));
	int rc = hd_end(c->hd, id, now_ms(), err, len);
	(void)result;
	act(c);
	return rc;
}

static int cmd_help_list(struct control *c, const json_t *args, json_t **result, char *err,
                         size_t len)
{
	static struct hd_request_info r[MAX_REQUESTS];
	uint64_t now = now_ms();
	size_t n = hd_request_list(c->hd, now, r, MAX_REQUESTS);
	json_t *a = json_array();
	(void)args, (void)err, (void)len;

	for (size_t i = 0; i < n && i < MAX_REQUESTS; i++) {
		struct session *s =
		    r[i].expert[0] ? session_find(H(c), r[i].id, r[i].expert) : NULL;
		json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:f}", "id",
		                      (json_int_t)r[i].id, "device", r[i].device, "pool", r[i].pool,
		                      "state", hd_state_name(r[i].state), "expert", r[i].expert,
		                      "with", r[i].with, "priority", r[i].priority, "position",
		                      r[i].position, "waited_s", r[i].waited_ms / 1000.0);
		if (s)
			json_object_set_new(o, "sub", json_integer(s->sub));
		json_array_append_new(a, o);
	}
	*result = a;
	return 0;
}

const struct ctl_command ctl_help_commands[] = {
    {"pool add", cmd_pool_add},         {"pool list", cmd_pool_list},
    {"pool del", cmd_pool_del},         {"expert add", cmd_expert_add},
    {"expert set", cmd_expert_set},     {"expert list", cmd_expert_list},
    {"expert del", cmd_expert_del},     {"expert sdp", cmd_expert_sdp},
    {"help request", cmd_help_request}, {"help accept", cmd_help_accept},
    {"help end", cmd_help_end},         {"help list", cmd_help_list},
};
const size_t ctl_help_ncommands = sizeof(ctl_help_commands) / sizeof(ctl_help_commands[0]);

void ctl_help_device_gone(struct control *c, const char *device)
{
	static struct hd_request_info r[MAX_REQUESTS];
	size_t n = hd_request_list(c->hd, now_ms(), r, MAX_REQUESTS);

	for (size_t i = 0; i < n && i < MAX_REQUESTS; i++)
		if (!strcmp(r[i].device, device))
			hd_end(c->hd, r[i].id, now_ms(), NULL, 0);
	act(c);
}

/* Time to first frame: once a second or so, look at sessions whose media is on and whose first
 * packet has gone out (the dataplane stamps it). */
void ctl_help_tick(struct control *c)
{
	struct ctl_help *h = H(c);

	for (size_t i = 0; h && i < h->n; i++) {
		struct session *s = &h->s[i];
		struct dp_sub *sub;
		if (s->ttff_seen || !s->resumed_ns || !(sub = ctl_find_sub(c, s->sub)) ||
		    !sub->stats.packets)
			continue;
		s->ttff_seen = true;
		if (sub->first_ns >= s->resumed_ns)
			mg_histo_observe(&h->first_frame,
			                 (double)(sub->first_ns - s->resumed_ns) / 1e9);
	}
}

void ctl_help_counts(struct control *c, uint64_t by_state[HD_STATE_COUNT])
{
	memset(by_state, 0, sizeof(uint64_t) * HD_STATE_COUNT);
	pthread_mutex_lock(&c->lock);
	if (c->hd)
		hd_request_counts(c->hd, by_state);
	pthread_mutex_unlock(&c->lock);
}

void ctl_help_metrics(struct control *c, struct mg_metrics_buf *b)
{
	struct ctl_help *h;
	uint64_t by_state[HD_STATE_COUNT];

	ctl_help_counts(c, by_state);
	h = H(c);
	if (!h)
		return;
	mg_metrics_family(b, "caas_help_requests", MG_METRIC_GAUGE, "Open help requests by state");
	mg_metrics_gauge(b, MG_LABELS({"state", "queued"}), (double)by_state[HD_STATE_QUEUED]);
	mg_metrics_gauge(b, MG_LABELS({"state", "assigned"}), (double)by_state[HD_STATE_ASSIGNED]);
	mg_metrics_gauge(b, MG_LABELS({"state", "active"}), (double)by_state[HD_STATE_ACTIVE]);
	mg_metrics_family(b, "caas_help_requests_total", MG_METRIC_COUNTER,
	                  "Help requests made since start");
	mg_metrics_counter(b, NULL, 0, h->requests);
	mg_metrics_family(b, "caas_help_ended_total", MG_METRIC_COUNTER,
	                  "Help requests ended since start");
	mg_metrics_counter(b, NULL, 0, h->ended);
	mg_metrics_family(b, "caas_help_wait_seconds", MG_METRIC_HISTOGRAM,
	                  "Time from a help request to its expert's assignment");
	mg_metrics_histo(b, NULL, 0, &h->wait);
	mg_metrics_family(b, "caas_help_first_frame_seconds", MG_METRIC_HISTOGRAM,
	                  "Time from an expert's media on to its first packet sent");
	mg_metrics_histo(b, NULL, 0, &h->first_frame);
}

int ctl_help_init(struct control *c, char *err, size_t errlen)
{
	static const double wait_bounds[] = {0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800};
	static const double ttff_bounds[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
	                                     0.25,  0.5,   1,    2.5,   5};
	c->help = calloc(1, sizeof(struct ctl_help));
	c->hd = hd_new(MAX_POOLS, MAX_EXPERTS, MAX_REQUESTS);
	if (!c->help || !c->hd) {
		ctl_help_close(c);
		return mg_errf(-ENOMEM, err, errlen, "out of memory for the helpdesk");
	}
	mg_histo_init(&H(c)->wait, wait_bounds, sizeof(wait_bounds) / sizeof(wait_bounds[0]));
	mg_histo_init(&H(c)->first_frame, ttff_bounds,
	              sizeof(ttff_bounds) / sizeof(ttff_bounds[0]));
	return 0;
}

void ctl_help_close(struct control *c)
{
	if (c->help)
		free(H(c)->s);
	free(c->help);
	c->help = NULL;
	hd_free(c->hd);
	c->hd = NULL;
}
