/* Run-time tunables: `caasctl tune show`, `tune set KEY VALUE`, and `config reload`, which
 * applies the tunable keys of the configuration file and says which others need a restart.
 * Dataplane settings change on the dataplane lcore (a DP_MSG_TUNE between bursts), recorder
 * settings on the recorder thread, the rest here. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "dp_record.h"
#include "mgmt/err.h"

enum where { DATAPLANE, RECORDER, CONTROL };
enum kind { U32, BOOL, U64 };

struct tunable {
	const char *key; /* "section.key" as in the file */
	size_t off;
	enum kind kind;
	uint64_t min, max;
	enum where where;
};

#define T(sec, key, field, kind, lo, hi, where)                                                    \
	{                                                                                          \
		sec "." key, offsetof(struct caas_config, field), kind, lo, hi, where              \
	}

static const struct tunable tunables[] = {
    T("dataplane", "idle_sleep_us", idle_sleep_us, U32, 0, 100000, DATAPLANE),
    T("dataplane", "burst", burst, U32, 1, 256, DATAPLANE),
    T("ingest", "accept_unknown", accept_unknown, BOOL, 0, 1, DATAPLANE),
    T("ingest", "idle_ms", idle_ms, U32, 100, 3600000, DATAPLANE),
    T("rtcp", "rr_interval_ms", rr_interval_ms, U32, 100, 60000, DATAPLANE),
    T("rtcp", "nack", nack, BOOL, 0, 1, DATAPLANE),
    T("rtcp", "nack_retries", nack_retries, U32, 0, 20, DATAPLANE),
    T("rtcp", "pli_interval_ms", pli_interval_ms, U32, 0, 60000, DATAPLANE),
    T("cache", "nack_ms", nack_cache_ms, U32, 0, 10000, DATAPLANE),
    T("cache", "fast_start_bytes", fast_start_bytes, U32, 0, 256u << 20, DATAPLANE),
    T("cache", "fast_start_kbps", fast_start_kbps, U32, 100, 10000000, DATAPLANE),
    T("record", "segment_seconds", rec.segment_seconds, U32, 1, 3600, RECORDER),
    T("record", "fsync_ms", rec.fsync_ms, U32, 10, 60000, RECORDER),
    T("record", "reserve", rec.reserve_bytes, U64, 0, UINT64_MAX, RECORDER),
    T("record", "retention_size", rec.retention_bytes, U64, 0, UINT64_MAX, RECORDER),
    T("record", "retention_age", rec.retention_age_s, U64, 0, UINT64_MAX / 1000000000u, RECORDER),
    /* read by the workers too: a 32-bit store they see at their next frame */
    T("transcode", "max_delay_ms", tc_max_delay_ms, U32, 10, 10000, CONTROL),
    T("transcode", "linger_ms", tc_linger_ms, U32, 0, 3600000, CONTROL),
    T("transcode", "reorder_ms", tc_reorder_ms, U32, 0, 2000, CONTROL), /* new sessions */
    T("transcode", "bridge_gop_ms", tc_bridge_gop_ms, U32, 0, 600000, CONTROL),
    T("transcode", "bridge_after_ms", tc_bridge_after_ms, U32, 0, 60000, DATAPLANE),
    T("mgmt", "loss_event_pct", loss_event_pct, U32, 1, 100, CONTROL),
    T("mgmt", "metrics_devices", metrics_devices, U32, 0, 65536, CONTROL),
};

#define NTUNABLES (sizeof(tunables) / sizeof(tunables[0]))

static const char *const where_name[] = {"dataplane", "recorder", "control"};

static uint64_t get(const struct caas_config *cfg, const struct tunable *t)
{
	const char *p = (const char *)cfg + t->off;
	return t->kind == BOOL  ? *(const bool *)p
	       : t->kind == U32 ? *(const uint32_t *)p
	                        : *(const uint64_t *)p;
}

static const struct tunable *find(const char *key)
{
	for (size_t i = 0; i < NTUNABLES; i++)
		if (!strcmp(tunables[i].key, key))
			return &tunables[i];
	return NULL;
}

/* Set one value where it is used. The configuration struct is caasd's own (non-const) object;
 * the dataplane's fields are written on the dataplane lcore. */
static int apply(struct control *c, const struct tunable *t, uint64_t v, char *err, size_t len)
{
	struct caas_config *cfg = (struct caas_config *)c->cfg;
	char *p = (char *)cfg + t->off;

	switch (t->where) {
	case DATAPLANE: {
		struct dp_msg msg = {.type = DP_MSG_TUNE,
		                     .u32 = (uint32_t)v,
		                     .cfg_off = t->off,
		                     .cfg_bool = t->kind == BOOL};
		int rc = ctl_dp_call(c, &msg);
		return rc < 0 ? mg_errf(rc, err, len, "dataplane: %s", strerror(-rc)) : 0;
	}
	case RECORDER:
		if (t->kind == U64)
			*(uint64_t *)p = v;
		else
			*(uint32_t *)p = (uint32_t)v;
		return c->rec ? dp_recorder_tune(c->rec, &cfg->rec, err, len) : 0;
	case CONTROL:
		*(uint32_t *)p = (uint32_t)v;
		return 0;
	}
	return -EINVAL;
}

static int cmd_tune_show(struct control *c, const json_t *args, json_t **result, char *err,
                         size_t len)
{
	json_t *a = json_array();
	(void)args, (void)err, (void)len;

	for (size_t i = 0; i < NTUNABLES; i++) {
		const struct tunable *t = &tunables[i];
		json_array_append_new(
		    a, json_pack("{s:s, s:I, s:I, s:I, s:s}", "key", t->key, "value",
		                 (json_int_t)get(c->cfg, t), "min", (json_int_t)t->min, "max",
		                 (json_int_t)(t->max > INT64_MAX ? INT64_MAX : t->max), "applies",
		                 where_name[t->where]));
	}
	*result = a;
	return 0;
}

static int parse_value(const struct tunable *t, const char *text, uint64_t *v)
{
	char *end;
	unsigned long long n;

	if (t->kind == BOOL) {
		if (!strcmp(text, "yes") || !strcmp(text, "true") || !strcmp(text, "on") ||
		    !strcmp(text, "1"))
			*v = 1;
		else if (!strcmp(text, "no") || !strcmp(text, "false") || !strcmp(text, "off") ||
		         !strcmp(text, "0"))
			*v = 0;
		else
			return -EINVAL;
		return 0;
	}
	errno = 0;
	n = strtoull(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-')
		return -EINVAL;
	*v = n;
	return n < t->min || n > t->max ? -ERANGE : 0;
}

static int cmd_tune_set(struct control *c, const json_t *args, json_t **result, char *err,
                        size_t len)
{
	const char *key = json_string_value(json_object_get(args, "key"));
	const char *value = json_string_value(json_object_get(args, "value"));
	const struct tunable *t = find(key);
	uint64_t v, old;
	int rc;

	if (!t)
		return mg_errf(-ENOENT, err, len,
		               "%s is not tunable at run time (tune show lists "
		               "what is)",
		               key);
	rc = parse_value(t, value, &v);
	if (rc == -EINVAL)
		return mg_errf(rc, err, len, "%s: '%s' is not %s", key, value,
		               t->kind == BOOL ? "yes or no" : "a number");
	if (rc)
		return mg_errf(rc, err, len, "%s: %s is out of range %llu..%llu", key, value,
		               (unsigned long long)t->min, (unsigned long long)t->max);
	old = get(c->cfg, t);
	rc = apply(c, t, v, err, len);
	if (rc)
		return rc;
	ctl_event(
	    c, "tuned",
	    json_pack("{s:s, s:I, s:I}", "key", key, "from", (json_int_t)old, "to", (json_int_t)v));
	*result = json_pack("{s:s, s:I, s:I}", "key", key, "old", (json_int_t)old, "value",
	                    (json_int_t)v);
	return 0;
}

/* Keys that only a restart applies, compared to say so. */
static void restart_only(const struct caas_config *a, const struct caas_config *b, json_t *list)
{
#define CMP(key, f)                                                                                \
	if (memcmp(&a->f, &b->f, sizeof(a->f)))                                                    \
	json_array_append_new(list, json_string(key))
	CMP("dataplane.port", port);
	CMP("dataplane.lcores", lcores);
	CMP("dataplane.eal_args", eal_args);
	CMP("dataplane.ip", ip4);
	CMP("dataplane.ip", ip6);
	CMP("dataplane.gateway", gw4);
	CMP("dataplane.gateway", gw6);
	CMP("dataplane.mbufs", mbufs);
	CMP("dataplane.rx_desc", rx_desc);
	CMP("dataplane.tx_desc", tx_desc);
	CMP("dataplane.vlan", vlan);
	CMP("dataplane.zero_copy", zero_copy);
	CMP("ingest.gtpu", gtpu);
	CMP("cache.packets", cache_packets);
	CMP("limits.devices", max_devices);
	CMP("limits.subs_per_stream", max_subs_per_stream);
	CMP("limits.neigh_entries", neigh_entries);
	CMP("limits.neigh_queue", neigh_queue);
	CMP("record.enabled", record);
	CMP("record.dir", rec.dir);
	CMP("record.key", rec.key);
	CMP("record.alg", rec.alg);
	CMP("record.buffers", rec.buffers);
	CMP("record.buffer_kb", rec.buffer_kb);
	CMP("record.streams", rec.max_streams);
	CMP("record.ring", record_ring);
	CMP("transcode.workers", tc_workers);
	CMP("transcode.ring", tc_ring);
	CMP("transcode.mbufs", tc_mbufs);
	CMP("transcode.sessions", tc_sessions);
	CMP("transcode.join_bridge", tc_join_bridge);
	CMP("transcode.h264_encoder", tc_h264_encoder);
	CMP("transcode.h265_encoder", tc_h265_encoder);
	CMP("mgmt.socket", socket);
	CMP("mgmt.socket_mode", socket_mode);
	CMP("mgmt.socket_group", socket_group);
	CMP("mgmt.state", state);
	CMP("mgmt.metrics", metrics);
#undef CMP
}

static int cmd_config_reload(struct control *c, const json_t *args, json_t **result, char *err,
                             size_t len)
{
	struct caas_config *fresh = malloc(sizeof(*fresh));
	json_t *applied = json_array(), *restart = json_array();
	int rc;
	(void)args;

	if (!fresh)
		return mg_errf(-ENOMEM, err, len, "out of memory");
	caas_config_defaults(fresh);
	rc = caas_config_load(fresh, c->config_path, err, len);
	if (rc) { /* nothing applied: a bad file changes nothing */
		free(fresh);
		json_decref(applied);
		json_decref(restart);
		return rc;
	}
	for (size_t i = 0; i < NTUNABLES && !rc; i++) {
		const struct tunable *t = &tunables[i];
		uint64_t v = get(fresh, t);
		if (v == get(c->cfg, t))
			continue;
		rc = apply(c, t, v, err, len);
		if (!rc)
			json_array_append_new(applied, json_pack("{s:s, s:I}", "key", t->key,
			                                         "value", (json_int_t)v));
	}
	restart_only(c->cfg, fresh, restart);
	free(fresh);
	if (rc) {
		json_decref(applied);
		json_decref(restart);
		return rc;
	}
	ctl_event(c, "config_reloaded",
	          json_pack("{s:O, s:O}", "applied", applied, "needs_restart", restart));
	*result = json_pack("{s:o, s:o}", "applied", applied, "needs_restart", restart);
	return 0;
}

const struct ctl_command ctl_tune_commands[] = {
    {"tune show", cmd_tune_show},
    {"tune set", cmd_tune_set},
    {"config reload", cmd_config_reload},
};
const size_t ctl_tune_ncommands = sizeof(ctl_tune_commands) / sizeof(ctl_tune_commands[0]);
