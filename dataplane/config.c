/* caasd INI configuration: a table of keys, parsed with inih, validated as it is read. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt/defaults.h"

enum key_type {
	K_STR,
	K_BOOL,
	K_U32,
	K_POW2,
	K_MODE,
	K_ADDRS,
	K_GATEWAY,
	K_SIZE,
	K_AGE,
	K_ALG,
	K_BRIDGE
};

struct key {
	const char *section;
	const char *name;
	enum key_type type;
	size_t off;
	size_t size; /* K_STR: buffer size */
	uint32_t min, max;
};

#define OFF(f) offsetof(struct caas_config, f)
#define STR(s, k, f)                                                                               \
	{                                                                                          \
		s, k, K_STR, OFF(f), sizeof(((struct caas_config *)0)->f), 0, 0                    \
	}
#define U32(s, k, f, lo, hi)                                                                       \
	{                                                                                          \
		s, k, K_U32, OFF(f), 0, lo, hi                                                     \
	}

static const struct key keys[] = {
    STR("dataplane", "port", port),
    STR("dataplane", "lcores", lcores),
    STR("dataplane", "eal_args", eal_args),
    {"dataplane", "ip", K_ADDRS, 0, 0, 0, 0},
    {"dataplane", "gateway", K_GATEWAY, 0, 0, 0, 0},
    U32("dataplane", "mbufs", mbufs, 1024, 16u << 20),
    U32("dataplane", "burst", burst, 1, 256),
    U32("dataplane", "idle_sleep_us", idle_sleep_us, 0, 100000),
    U32("dataplane", "rx_desc", rx_desc, 64, 16384),
    U32("dataplane", "tx_desc", tx_desc, 64, 16384),
    U32("dataplane", "vlan", vlan, 0, 4094),
    {"dataplane", "zero_copy", K_BOOL, OFF(zero_copy), 0, 0, 0},
    {"ingest", "gtpu", K_BOOL, OFF(gtpu), 0, 0, 0},
    {"ingest", "accept_unknown", K_BOOL, OFF(accept_unknown), 0, 0, 0},
    U32("ingest", "idle_ms", idle_ms, 100, 3600000),
    U32("rtcp", "rr_interval_ms", rr_interval_ms, 100, 60000),
    {"rtcp", "nack", K_BOOL, OFF(nack), 0, 0, 0},
    U32("rtcp", "nack_retries", nack_retries, 0, 20),
    U32("rtcp", "pli_interval_ms", pli_interval_ms, 0, 60000),
    {"cache", "packets", K_POW2, OFF(cache_packets), 0, 256, 65536},
    U32("cache", "nack_ms", nack_cache_ms, 0, 10000),
    U32("cache", "fast_start_bytes", fast_start_bytes, 0, 256u << 20),
    U32("cache", "fast_start_kbps", fast_start_kbps, 100, 10000000),
    U32("limits", "devices", max_devices, 1, 65536),
    U32("limits", "subs_per_stream", max_subs_per_stream, 1, 1024),
    U32("limits", "neigh_entries", neigh_entries, 16, 1u << 20),
    U32("limits", "neigh_queue", neigh_queue, 0, 1024),
    {"record", "enabled", K_BOOL, OFF(record), 0, 0, 0},
    STR("record", "dir", rec.dir),
    U32("record", "segment_seconds", rec.segment_seconds, 1, 3600),
    U32("record", "fsync_ms", rec.fsync_ms, 10, 60000),
    STR("record", "key", rec.key),
    {"record", "alg", K_ALG, OFF(rec.alg), 0, 0, 0},
    {"record", "retention_size", K_SIZE, OFF(rec.retention_bytes), 0, 0, 0},
    {"record", "retention_age", K_AGE, OFF(rec.retention_age_s), 0, 0, 0},
    {"record", "reserve", K_SIZE, OFF(rec.reserve_bytes), 0, 0, 0},
    U32("record", "buffers", rec.buffers, 16, 16384),
    U32("record", "buffer_kb", rec.buffer_kb, 4, 4096),
    U32("record", "streams", rec.max_streams, 1, 2040),
    {"record", "ring", K_POW2, OFF(record_ring), 0, 1024, 1u << 22},
    U32("transcode", "workers", tc_workers, 0, 64),
    {"transcode", "ring", K_POW2, OFF(tc_ring), 0, 256, 1u << 20},
    U32("transcode", "mbufs", tc_mbufs, 1024, 1u << 20),
    U32("transcode", "sessions", tc_sessions, 1, 1024),
    U32("transcode", "linger_ms", tc_linger_ms, 0, 3600000),
    U32("transcode", "max_delay_ms", tc_max_delay_ms, 10, 10000),
    U32("transcode", "reorder_ms", tc_reorder_ms, 0, 2000),
    {"transcode", "join_bridge", K_BRIDGE, OFF(tc_join_bridge), 0, 0, 0},
    U32("transcode", "bridge_after_ms", tc_bridge_after_ms, 0, 60000),
    U32("transcode", "bridge_gop_ms", tc_bridge_gop_ms, 0, 600000),
    STR("transcode", "h264_encoder", tc_h264_encoder),
    STR("transcode", "h265_encoder", tc_h265_encoder),
    STR("mgmt", "socket", socket),
    {"mgmt", "socket_mode", K_MODE, OFF(socket_mode), 0, 0, 0777},
    STR("mgmt", "socket_group", socket_group),
    STR("mgmt", "state", state),
    STR("mgmt", "metrics", metrics),
    U32("mgmt", "metrics_devices", metrics_devices, 0, 65536),
    U32("mgmt", "loss_event_pct", loss_event_pct, 1, 100),
};

static const char *const bridge_names[] = {"no", "auto", "yes"};

const char *caas_join_bridge_name(enum caas_join_bridge b)
{
	return (unsigned)b < 3 ? bridge_names[b] : "?";
}

int caas_join_bridge_parse(const char *s, enum caas_join_bridge *out)
{
	for (unsigned i = 0; i < 3; i++) {
		if (!strcmp(s, bridge_names[i])) {
			*out = (enum caas_join_bridge)i;
			return 0;
		}
	}
	return -EINVAL;
}

void caas_config_defaults(struct caas_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->port, sizeof(cfg->port), "net_null0");
	snprintf(cfg->lcores, sizeof(cfg->lcores), "0-1");
	cfg->mbufs = 65535;
	cfg->burst = 32;
	cfg->idle_sleep_us = 20;
	cfg->rx_desc = 1024;
	cfg->tx_desc = 1024;
	cfg->zero_copy = true;
	cfg->idle_ms = 1000;
	cfg->rr_interval_ms = 1000;
	cfg->nack = true;
	cfg->nack_retries = 3;
	cfg->pli_interval_ms = 500;
	cfg->cache_packets = 8192;
	cfg->nack_cache_ms = 1000;
	cfg->fast_start_bytes = 8u << 20;
	cfg->fast_start_kbps = 50000;
	cfg->max_devices = 1024;
	cfg->max_subs_per_stream = 16;
	cfg->neigh_entries = 1024;
	cfg->neigh_queue = 64;
	snprintf(cfg->socket, sizeof(cfg->socket), "%s", MG_DEFAULT_SOCKET);
	cfg->socket_mode = 0660;
	snprintf(cfg->state, sizeof(cfg->state), "/var/lib/caas/state.json");
	cfg->metrics_devices = 256;
	cfg->loss_event_pct = 5;
	cfg->record = true;
	cfg->record_ring = 65536;
	cfg->tc_workers = 1;
	cfg->tc_ring = 16384;
	cfg->tc_mbufs = 8192;
	cfg->tc_sessions = 64;
	cfg->tc_linger_ms = 10000;
	cfg->tc_max_delay_ms = 250;
	cfg->tc_reorder_ms = 150;
	cfg->tc_join_bridge = CAAS_BRIDGE_AUTO;
	cfg->tc_bridge_after_ms = 300;
	cfg->tc_bridge_gop_ms = 3000;
	rec_config_defaults(&cfg->rec);
}

/* A number with an optional unit letter: "512M" (sizes: K M G T, binary, an optional B) or
 * "90d" (ages: s m h d, in seconds). */
struct unit {
	char letter;
	uint64_t mul;
};

static const struct unit size_units[] = {
    {'K', 1ull << 10}, {'M', 1ull << 20}, {'G', 1ull << 30}, {'T', 1ull << 40}, {0, 0}};
static const struct unit age_units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {0, 0}};

static int parse_scaled(const char *value, const struct unit *units, uint64_t *out)
{
	uint64_t mul = 1;
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno || end == value || value[0] == '-')
		return -EINVAL;
	for (const struct unit *u = units; *end && u->letter; u++) {
		if (*end == u->letter || (units == size_units && *end == u->letter + 32)) {
			mul = u->mul;
			end++;
			break;
		}
	}
	if (units == size_units && (*end == 'B' || *end == 'b'))
		end++;
	if (*end || v > UINT64_MAX / mul)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

int caas_prefix_parse(const char *text, bool allow_bare, struct caas_prefix *out, int *family)
{
	char buf[INET6_ADDRSTRLEN + 8];
	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", text);
	char *slash = strchr(buf, '/');
	long plen = -1;
	if (slash) {
		char *end;
		*slash = 0;
		plen = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end)
			return -EINVAL;
	} else if (!allow_bare) {
		return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, &out->v4) == 1) {
		*family = AF_INET;
		if (plen > 32)
			return -EINVAL;
		out->plen = (uint8_t)(plen < 0 ? 32 : plen);
	} else if (inet_pton(AF_INET6, buf, &out->v6) == 1) {
		*family = AF_INET6;
		if (plen > 128)
			return -EINVAL;
		out->plen = (uint8_t)(plen < 0 ? 128 : plen);
	} else {
		return -EINVAL;
	}
	out->set = true;
	return 0;
}

struct load_ctx {
	struct caas_config *cfg;
	char msg[192];
};

static int fail(struct load_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct load_ctx *c, const char *fmt, ...)
{
	if (!c->msg[0]) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
		va_end(ap);
	}
	return 0; /* inih: stop here and report this line */
}

/* A comma-separated list with at most one IPv4 and one IPv6 entry. */
static int set_addrs(struct load_ctx *c, const struct key *k, const char *section,
                     const char *value, bool gateway)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", value);
	struct caas_prefix *v4 = gateway ? &c->cfg->gw4 : &c->cfg->ip4;
	struct caas_prefix *v6 = gateway ? &c->cfg->gw6 : &c->cfg->ip6;
	memset(v4, 0, sizeof(*v4));
	memset(v6, 0, sizeof(*v6));
	char *save = NULL;
	for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		struct caas_prefix p;
		int family;
		if (caas_prefix_parse(tok, gateway, &p, &family) < 0)
			return fail(c, "[%s] %s: '%s' is not %s", section, k->name, tok,
			            gateway ? "an IPv4 or IPv6 address"
			                    : "ADDRESS/PREFIX (IPv4 or IPv6)");
		struct caas_prefix *slot = family == AF_INET ? v4 : v6;
		if (slot->set)
			return fail(c, "[%s] %s: more than one address of a family in '%s'",
			            section, k->name, value);
		*slot = p;
	}
	if (!v4->set && !v6->set)
		return fail(c, "[%s] %s: no address in '%s'", section, k->name, value);
	return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *c = user;
	const struct key *k = NULL;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].section, section) && !strcmp(keys[i].name, name))
			k = &keys[i];
	if (!k)
		return fail(c, "unknown key [%s] %s", section, name);

	char *base = (char *)c->cfg + k->off;
	char *end;
	unsigned long v;
	switch (k->type) {
	case K_STR:
		if (strlen(value) >= k->size)
			return fail(c, "[%s] %s: value too long (%zu bytes at most)", section, name,
			            k->size - 1);
		snprintf(base, k->size, "%s", value);
		return 1;
	case K_BOOL:
		if (!strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "on") ||
		    !strcmp(value, "1"))
			*(bool *)base = true;
		else if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "off") ||
		         !strcmp(value, "0"))
			*(bool *)base = false;
		else
			return fail(c, "[%s] %s: '%s' is not true or false", section, name, value);
		return 1;
	case K_MODE:
	case K_U32:
	case K_POW2:
		errno = 0;
		v = strtoul(value, &end, k->type == K_MODE ? 8 : 0);
		if (errno || end == value || *end || value[0] == '-')
			return fail(c, "[%s] %s: '%s' is not a number", section, name, value);
		if (v < k->min || v > k->max)
			return fail(c, "[%s] %s: %s is out of range %u..%u", section, name, value,
			            k->min, k->max);
		if (k->type == K_POW2 && (v & (v - 1)))
			return fail(c, "[%s] %s: %s is not a power of two", section, name, value);
		*(uint32_t *)base = (uint32_t)v;
		return 1;
	case K_SIZE:
		if (parse_scaled(value, size_units, (uint64_t *)base))
			return fail(c, "[%s] %s: '%s' is not a size (bytes, or with K, M, G, T)",
			            section, name, value);
		return 1;
	case K_AGE:
		if (parse_scaled(value, age_units, (uint64_t *)base))
			return fail(c, "[%s] %s: '%s' is not an age (seconds, or with s, m, h, d)",
			            section, name, value);
		return 1;
	case K_ALG:
		if (rec_alg_parse(value, (enum rec_alg *)base))
			return fail(c, "[%s] %s: '%s' is not ed25519 or sm2-sm3", section, name,
			            value);
		return 1;
	case K_BRIDGE:
		if (caas_join_bridge_parse(value, (enum caas_join_bridge *)base))
			return fail(c, "[%s] %s: '%s' is not no, auto or yes", section, name,
			            value);
		return 1;
	case K_ADDRS:
		return set_addrs(c, k, section, value, false);
	case K_GATEWAY:
		return set_addrs(c, k, section, value, true);
	}
	return 0;
}

int caas_config_load(struct caas_config *cfg, const char *path, char *err, size_t errlen)
{
	struct load_ctx c = {.cfg = cfg};
	int line = ini_parse(path, handler, &c);
	if (line == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno : ENOENT));
		return -ENOENT;
	}
	if (line == -2) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	if (line > 0) {
		snprintf(err, errlen, "%s:%d: %s", path, line, c.msg[0] ? c.msg : "syntax error");
		return -EINVAL;
	}
	if (cfg->rec.buffer_kb % 4) {
		snprintf(err, errlen, "%s: [record] buffer_kb %u is not a multiple of 4", path,
		         cfg->rec.buffer_kb);
		return -EINVAL;
	}
	if (cfg->record && !cfg->rec.dir[0]) {
		snprintf(err, errlen,
		         "%s: [record] dir is empty (set enabled = false to record nothing)", path);
		return -EINVAL;
	}
	if (!cfg->port[0]) {
		snprintf(err, errlen, "%s: [dataplane] port is empty", path);
		return -EINVAL;
	}
	if (cfg->gw4.set && !cfg->ip4.set) {
		snprintf(err, errlen, "%s: [dataplane] gateway is IPv4 but ip has no IPv4 address",
		         path);
		return -EINVAL;
	}
	if (cfg->gw6.set && !cfg->ip6.set) {
		snprintf(err, errlen, "%s: [dataplane] gateway is IPv6 but ip has no IPv6 address",
		         path);
		return -EINVAL;
	}
	return 0;
}
