/* caasd's control thread: the registry of devices and subscriptions, the command handlers
 * behind caasctl, and the only way state reaches the dataplane: messages over a ring, applied
 * between bursts and answered on a reply ring. Statistics are read from the dataplane's
 * counters without locks. */
#include "control.h"
#include "dp_record.h"
#include "mgmt/state.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mempool.h>

#include <libavformat/avformat.h>
#include <libavutil/opt.h>

#include "mgmt/ctl.h"
#include "mgmt/err.h"
#include "mgmt/defaults.h"

#define REPLY_TIMEOUT_MS 2000

/* Hand a message to the dataplane and wait for its answer. The dataplane answers between two
 * bursts, so this takes microseconds; a dataplane that does not answer is a bug we report
 * rather than hide, and the message is then leaked on purpose (it may still be read). */
static int dp_call(struct control *c, struct dp_msg *msg);

int ctl_dp_call(struct control *c, struct dp_msg *msg)
{
	return dp_call(c, msg);
}

static int dp_call(struct control *c, struct dp_msg *msg)
{
	if (rte_ring_enqueue(c->dp->ctl_ring, msg) < 0)
		return -EBUSY;
	uint64_t deadline = dp_mono_ns() + REPLY_TIMEOUT_MS * 1000000ull;
	void *reply;
	while (rte_ring_dequeue(c->dp->reply_ring, &reply) < 0) {
		if (dp_mono_ns() > deadline)
			return -ETIMEDOUT;
		usleep(50);
	}
	/* One request is in flight at a time, so the reply is ours. */
	return ((struct dp_msg *)reply)->rc;
}

/* --- addresses ------------------------------------------------------------------------------ */

static void addr_str(const struct net_addr *a, char *buf, size_t len)
{
	if (a->family == NET_AF_IP4) {
		uint8_t b[4];
		wr_be32(b, a->v4);
		inet_ntop(AF_INET, b, buf, (socklen_t)len);
	} else {
		inet_ntop(AF_INET6, a->v6, buf, (socklen_t)len);
	}
}

/* "IP:PORT" or "[IPv6]:PORT". */
static int parse_hostport(const char *s, struct net_addr *a, uint16_t *port)
{
	uint8_t b[16];
	int v = net_hostport_parse(s, true, b, port);

	if (v < 0)
		return v;
	*a = v == 4 ? net_addr4(rd_be32(b)) : net_addr6(b);
	return 0;
}

static bool have_family(const struct control *c, const struct net_addr *a)
{
	return a->family == NET_AF_IP4 ? c->cfg->ip4.set : c->cfg->ip6.set;
}

/* --- registry ------------------------------------------------------------------------------- */

static struct dp_dev *find_dev(struct control *c, const char *name)
{
	for (uint32_t i = 0; i < c->n_devs; i++)
		if (!strcmp(c->devs[i]->name, name))
			return c->devs[i];
	return NULL;
}

static struct dp_sub *find_sub(struct control *c, uint32_t id, int *idx)
{
	for (uint32_t i = 0; i < c->n_subs; i++) {
		if (c->subs[i]->id == id) {
			if (idx)
				*idx = (int)i;
			return c->subs[i];
		}
	}
	return NULL;
}

unsigned ctl_subs_of(const struct control *c, const struct dp_dev *dev)
{
	unsigned n = 0;
	for (uint32_t i = 0; i < c->n_subs; i++) {
		const struct dp_dev *d = c->subs[i]->st->dev;
		n += d == dev || (d->virt && d->parent == dev);
	}
	return n;
}

static void free_dev(struct dp_dev *dev)
{
	if (!dev)
		return;
	rte_free(dev->st.cache);
	rte_free(dev->st.subs);
	rte_free(dev);
}

struct dp_dev *ctl_dev_alloc(struct control *c, const char *name)
{
	struct dp_dev *dev = rte_zmalloc("dev", sizeof(*dev), RTE_CACHE_LINE_SIZE);
	if (!dev)
		return NULL;
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	dev->st.cache = rte_zmalloc("cache", sizeof(struct rte_mbuf *) * c->cfg->cache_packets,
	                            RTE_CACHE_LINE_SIZE);
	dev->st.subs =
	    rte_zmalloc("subs", sizeof(struct dp_sub *) * c->cfg->max_subs_per_stream, 0);
	if (!dev->st.cache || !dev->st.subs) {
		free_dev(dev);
		return NULL;
	}
	return dev;
}

void ctl_dev_free(struct dp_dev *dev)
{
	free_dev(dev);
}

static const char *stream_state(const struct control *c, const struct dp_dev *dev, double *idle_s)
{
	const struct dp_stream *st = &dev->st;
	uint64_t last = st->last_rx_ns;
	if (!last) {
		*idle_s = -1;
		return "down";
	}
	uint64_t idle = c->dp->now_ns > last ? c->dp->now_ns - last : 0;
	*idle_s = (double)idle / 1e9;
	if (idle < c->cfg->idle_ms * DP_MS)
		return "up";
	if (idle < 10ull * c->cfg->idle_ms * DP_MS)
		return "idle";
	return "down";
}

const char *ctl_stream_state(const struct control *c, const struct dp_dev *dev)
{
	double idle_s;

	return stream_state(c, dev, &idle_s);
}

/* --- device commands ------------------------------------------------------------------------ */

/* --- the registry on disk ------------------------------------------------------------------- */

/* Keep what a command created; a failure to save is logged, the command stands. */
void ctl_remember(struct control *c, const char *section, const char *name, const json_t *args)
{
	char err[256];
	if (mg_state_put(c->state, section, name, args, err, sizeof(err)))
		fprintf(stderr, "caasd: %s\n", err);
}

void ctl_forget(struct control *c, const char *section, const char *name)
{
	char err[256];
	if (mg_state_del(c->state, section, name, err, sizeof(err)))
		fprintf(stderr, "caasd: %s\n", err);
}

static void remember_arg(struct control *c, const char *section, const char *name, const char *key,
                         json_t *value)
{
	char err[256];
	if (mg_state_set_arg(c->state, section, name, key, value, err, sizeof(err)))
		fprintf(stderr, "caasd: %s\n", err);
}

/* --- recording ----------------------------------------------------------------------------- */

/* Open dev's recording (once) and start it; the dataplane queues its packets from then on. */
static int rec_begin(struct control *c, struct dp_dev *dev, char *err, size_t len)
{
	int rc;

	if (!dev->rec) {
		struct dp_rec_handle *h = dp_rec_handle_new(dev);
		if (!h)
			return mg_errf(-ENOMEM, err, len, "out of memory");
		rc = dp_rec_call(c->rec, h, DP_REC_OP_OPEN, err, len);
		if (rc) {
			dp_rec_call(c->rec, h, DP_REC_OP_CLOSE, NULL, 0);
			return rc;
		}
		dev->rec = h;
	}
	rc = dp_rec_call(c->rec, dev->rec, DP_REC_OP_START, err, len);
	if (!rc)
		atomic_store(&dev->rec_on, true);
	return rc;
}

/* Stop queueing; the recorder seals the open chunk once it has what was queued before. */
static int rec_end(struct control *c, struct dp_dev *dev, char *err, size_t len)
{
	if (!dev->rec)
		return 0;
	atomic_store(&dev->rec_on, false);
	return dp_rec_call(c->rec, dev->rec, DP_REC_OP_STOP, err, len);
}

static int remove_dev(struct control *c, struct dp_dev *dev, struct dp_msg *msg);

static int cmd_device_add(struct control *c, const json_t *args, json_t **result, char *err,
                          size_t len)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	const char *codec = json_string_value(json_object_get(args, "codec"));
	const char *src = json_string_value(json_object_get(args, "src"));
	json_t *ssrc = json_object_get(args, "ssrc");
	json_t *clock = json_object_get(args, "clock");
	int port = (int)json_integer_value(json_object_get(args, "port"));
	bool mux = json_is_true(json_object_get(args, "rtcp_mux"));

	if (find_dev(c, name))
		return mg_errf(-EEXIST, err, len, "device %s already exists", name);
	if (c->n_devs >= c->cfg->max_devices)
		return mg_errf(-ENOSPC, err, len, "%u devices already: [limits] devices",
		               c->n_devs);
	if (!mux && port == 65535)
		return mg_errf(-EINVAL, err, len,
		               "port 65535 leaves no port for RTCP: use --rtcp-mux");

	struct dp_dev *dev = ctl_dev_alloc(c, name);
	if (!dev)
		return mg_errf(-ENOMEM, err, len, "out of memory for the device and its cache");
	dp_codec_parse(codec, &dev->codec);
	dev->port = (uint16_t)port;
	dev->rtcp_mux = mux;
	dev->rtcp_port = mux ? dev->port : (uint16_t)(dev->port + 1);
	dev->talkback_port = (uint16_t)json_integer_value(json_object_get(args, "talkback_port"));
	dev->pt = (uint8_t)json_integer_value(json_object_get(args, "pt"));
	dev->clock =
	    clock ? (uint32_t)json_integer_value(clock) : dp_codec_default_clock(dev->codec);
	if (ssrc) {
		dev->ssrc_set = true;
		dev->ssrc = (uint32_t)json_integer_value(ssrc);
	}
	if (src) {
		struct caas_prefix p;
		int family;
		if (caas_prefix_parse(src, true, &p, &family) < 0) {
			free_dev(dev);
			return mg_errf(-EINVAL, err, len, "--src %s: not a prefix", src);
		}
		dev->src =
		    family == AF_INET ? net_addr4(ntohl(p.v4.s_addr)) : net_addr6(p.v6.s6_addr);
		dev->src_plen = p.plen;
	} else {
		dev->src_any = true;
	}
	struct dp_msg msg = {.type = DP_MSG_DEV_ADD, .dev = dev};
	int rc = dp_call(c, &msg);
	if (rc == -EADDRINUSE) {
		free_dev(dev);
		return mg_errf(rc, err, len, "port %u%s is already a device's", dev->port,
		               mux ? "" : " or the next one");
	}
	if (rc < 0) {
		if (rc != -ETIMEDOUT)
			free_dev(dev);
		return mg_errf(rc, err, len, "dataplane: %s", strerror(-rc));
	}
	c->devs[c->n_devs++] = dev;
	if (c->rec && json_is_true(json_object_get(args, "record"))) {
		rc = rec_begin(c, dev, err, len);
		if (rc) {
			struct dp_msg del = {.type = DP_MSG_DEV_DEL, .dev = dev};
			char why[256];
			snprintf(why, sizeof(why), "%s", err);
			remove_dev(c, dev, &del);
			return mg_errf(rc, err, len,
			               "recording: %s (add it with --record no to go without)",
			               why);
		}
	}
	ctl_remember(c, "devices", dev->name, args);
	ctl_tc_update(c, dev); /* [transcode] join_bridge = yes: its decoder from now on */
	*result = json_pack("{s:s}", "name", dev->name);
	return 0;
}

static json_t *dev_json(struct control *c, const struct dp_dev *dev)
{
	char src[INET6_ADDRSTRLEN + 8] = "any";
	if (!dev->src_any) {
		char a[INET6_ADDRSTRLEN];
		addr_str(&dev->src, a, sizeof(a));
		snprintf(src, sizeof(src), "%s/%u", a, dev->src_plen);
	}
	double idle;
	json_t *o = json_pack("{s:s, s:i, s:i, s:s, s:i, s:i, s:s, s:b, s:s}", "name", dev->name,
	                      "port", dev->port, "rtcp_port", dev->rtcp_port, "codec",
	                      dp_codec_name(dev->codec), "pt", dev->pt, "clock", dev->clock, "src",
	                      src, "rtcp_mux", dev->rtcp_mux, "state", stream_state(c, dev, &idle));
	if (dev->talkback_port)
		json_object_set_new(o, "talkback_port", json_integer(dev->talkback_port));
	if (dev->ssrc_set)
		json_object_set_new(o, "ssrc", json_integer(dev->ssrc));
	else
		json_object_set_new(o, "ssrc", json_string("any"));
	return o;
}

static int cmd_device_list(struct control *c, const json_t *args, json_t **result, char *err,
                           size_t len)
{
	(void)args, (void)err, (void)len;
	json_t *a = json_array();
	for (uint32_t i = 0; i < c->n_devs; i++)
		json_array_append_new(a, dev_json(c, c->devs[i]));
	*result = a;
	return 0;
}

static int remove_sub(struct control *c, int idx);

static int cmd_device_del(struct control *c, const json_t *args, json_t **result, char *err,
                          size_t len)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	struct dp_dev *dev = find_dev(c, name);
	(void)result;
	if (!dev)
		return mg_errf(-ENOENT, err, len, "no device %s", name);
	struct dp_msg msg = {.type = DP_MSG_DEV_DEL, .dev = dev};
	ctl_help_device_gone(c, name); /* its help sessions end, their subscriptions first */
	ctl_tc_device_gone(c, dev);    /* its renditions and their subscriptions too */
	int rc = remove_dev(c, dev, &msg);
	if (rc < 0)
		return mg_errf(rc, err, len, "dataplane: %s", strerror(-rc));
	ctl_forget(c, "devices", name);
	return 0;
}

/* Take dev out of the dataplane, then out of the recorder (everything the dataplane queued
 * for it is in the ring ahead of the close), and free it with its subscriptions. */
static int remove_dev(struct control *c, struct dp_dev *dev, struct dp_msg *msg)
{
	char err[256];
	int rc;

	atomic_store(&dev->rec_on, false);
	rc = dp_call(c, msg);
	if (rc < 0)
		return rc;
	if (dev->rec && dp_rec_call(c->rec, dev->rec, DP_REC_OP_CLOSE, err, sizeof(err)))
		fprintf(stderr, "caasd: record: closing %s: %s\n", dev->name, err);
	dev->rec = NULL;
	/* The dataplane let go of the device and its subscribers: ours to free. */
	for (uint32_t i = c->n_subs; i-- > 0;) {
		if (c->subs[i]->st == &dev->st) {
			rte_free(c->subs[i]);
			c->subs[i] = c->subs[--c->n_subs];
		}
	}
	for (uint32_t i = 0; i < c->n_devs; i++)
		if (c->devs[i] == dev)
			c->devs[i] = c->devs[--c->n_devs];
	free_dev(dev);
	return 0;
}

/* --- stream commands ------------------------------------------------------------------------ */

static json_t *stream_json(struct control *c, struct dp_dev *dev, bool detail)
{
	const struct dp_stream *st = &dev->st;
	struct rtp_rx_snapshot snap;
	rtp_rx_snapshot(&st->rx, &snap);
	double idle;
	const char *state = stream_state(c, dev, &idle);
	double loss = snap.expected ? 100.0 * (double)snap.lost / (double)snap.expected : 0;
	if (loss < 0)
		loss = 0;
	json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:f, s:f, s:f, s:f, s:I, s:i, s:f}", "name",
	                      dev->name, "state", state, "packets", (json_int_t)st->stats.packets,
	                      "bytes", (json_int_t)st->stats.bytes, "bitrate_kbps", dev->ctl_kbps,
	                      "loss_pct", loss, "recent_loss_pct", snap.recent_loss_permille / 10.0,
	                      "jitter_ms", dev->clock ? 1000.0 * snap.jitter / dev->clock : 0.0,
	                      "keyframes", (json_int_t)st->stats.keyframes, "subscribers",
	                      ctl_subs_of(c, dev), "idle_s", idle < 0 ? -1.0 : idle);
	if (!detail)
		return o;
	json_object_update_new(
	    o,
	    json_pack(
	        "{s:s, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
	        " s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:i}",
	        "codec", dp_codec_name(dev->codec), "port", dev->port, "clock", dev->clock, "lost",
	        (json_int_t)snap.lost, "expected", (json_int_t)snap.expected, "duplicates",
	        (json_int_t)st->stats.duplicates, "reordered", (json_int_t)snap.cnt.reordered,
	        "late", (json_int_t)st->stats.late, "wrong_pt", (json_int_t)st->stats.wrong_pt,
	        "wrong_ssrc", (json_int_t)st->stats.wrong_ssrc, "malformed",
	        (json_int_t)st->stats.malformed, "nacks_sent", (json_int_t)st->stats.nacks_sent,
	        "nack_seqs_sent", (json_int_t)st->stats.nack_seqs_sent, "recovered",
	        (json_int_t)st->stats.recovered, "plis_sent", (json_int_t)st->stats.plis_sent,
	        "rrs_sent", (json_int_t)st->stats.rrs_sent, "rtcp_in",
	        (json_int_t)st->stats.rtcp_in, "sr_in", (json_int_t)st->stats.sr_in, "ssrc_changes",
	        (json_int_t)st->stats.ssrc_changes, "restarts", (json_int_t)snap.cnt.restarts,
	        "gtpu", st->via_gtpu, "cache_bytes", (json_int_t)st->cache_bytes, "rtt_ms",
	        (int)(st->rtt_us / 1000)));
	if (st->have_ssrc) {
		char a[INET6_ADDRSTRLEN], src[INET6_ADDRSTRLEN + 8];
		addr_str(&st->cam, a, sizeof(a));
		snprintf(src, sizeof(src), st->cam.family == NET_AF_IP6 ? "[%s]:%u" : "%s:%u", a,
		         st->cam_port);
		json_object_set_new(o, "ssrc", json_integer(st->ssrc));
		json_object_set_new(o, "source", json_string(src));
	}
	if (st->via_gtpu)
		json_object_set_new(o, "teid", json_integer(st->teid));
	if (dev->talkback_port) {
		json_object_set_new(o, "talkback_out",
		                    json_integer((json_int_t)st->stats.talkback_out));
		json_object_set_new(o, "talkback_no_camera",
		                    json_integer((json_int_t)st->stats.talkback_no_camera));
	}
	return o;
}

static int cmd_stream_list(struct control *c, const json_t *args, json_t **result, char *err,
                           size_t len)
{
	(void)args, (void)err, (void)len;
	json_t *a = json_array();
	for (uint32_t i = 0; i < c->n_devs; i++)
		json_array_append_new(a, stream_json(c, c->devs[i], false));
	*result = a;
	return 0;
}

static int cmd_stream_show(struct control *c, const json_t *args, json_t **result, char *err,
                           size_t len)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	struct dp_dev *dev = find_dev(c, name);
	if (!dev)
		return mg_errf(-ENOENT, err, len, "no stream %s", name);
	*result = stream_json(c, dev, true);
	return 0;
}

/* --- subscription commands ------------------------------------------------------------------ */

static const char *sub_state(const struct dp_sub *sub)
{
	switch (sub->state) {
	case DP_SUB_PAUSED:
		return "paused";
	case DP_SUB_CATCHUP:
		return "starting";
	case DP_SUB_WAIT_KF:
		return "waiting-keyframe";
	case DP_SUB_BRIDGE:
		return "bridge";
	default:
		return "live";
	}
}

int ctl_sub_create(struct control *c, struct dp_dev *dev, const char *to, int rtcp_port,
                   uint16_t talk_from, uint16_t talk_to, bool paused, struct dp_sub **out,
                   char *err, size_t len)
{
	if (c->n_subs >= c->max_subs)
		return mg_errf(-ENOSPC, err, len, "too many subscriptions");

	struct dp_sub *sub = rte_zmalloc("sub", sizeof(*sub), RTE_CACHE_LINE_SIZE);
	if (!sub)
		return mg_errf(-ENOMEM, err, len, "out of memory");
	if (parse_hostport(to, &sub->to, &sub->to_port) < 0) {
		rte_free(sub);
		return mg_errf(-EINVAL, err, len, "--to %s: want IP:PORT", to);
	}
	if (!have_family(c, &sub->to)) {
		rte_free(sub);
		return mg_errf(-EAFNOSUPPORT, err, len,
		               "--to %s: caasd has no address of that family", to);
	}
	sub->rtcp_port = rtcp_port >= 0 ? (uint16_t)rtcp_port : (uint16_t)(sub->to_port + 1);
	sub->talk_from_port = talk_from;
	sub->talk_to_port = talk_to;
	sub->st = &dev->st;
	int rc = dp_sub_l2_init(c->dp, sub);
	if (rc < 0) {
		rte_free(sub);
		return mg_errf(rc, err, len, "--to %s: %s", to,
		               rc == -ENETUNREACH ? "not on our subnet and no gateway"
		                                  : strerror(-rc));
	}
	sub->id = ++c->next_sub_id;
	sub->state = paused ? DP_SUB_PAUSED : DP_SUB_LIVE;

	struct dp_msg msg = {.type = DP_MSG_SUB_ADD, .sub = sub};
	rc = dp_call(c, &msg);
	if (rc < 0) {
		if (rc != -ETIMEDOUT)
			rte_free(sub);
		if (rc == -ENOSPC)
			return mg_errf(rc, err, len,
			               "stream %s has %u subscribers: [limits] "
			               "subs_per_stream",
			               dev->name, c->cfg->max_subs_per_stream);
		return mg_errf(rc, err, len, "dataplane: %s", strerror(-rc));
	}
	c->subs[c->n_subs++] = sub;
	*out = sub;
	ctl_tc_update(c, dev); /* the join bridge may want its decoder now */
	return 0;
}

static int cmd_sub_add(struct control *c, const json_t *args, json_t **result, char *err,
                       size_t len)
{
	const char *name = json_string_value(json_object_get(args, "stream"));
	const char *to = json_string_value(json_object_get(args, "to"));
	const char *rendition = json_string_value(json_object_get(args, "rendition"));
	json_t *rtcp = json_object_get(args, "rtcp_port");
	struct dp_dev *dev = find_dev(c, name);
	struct dp_sub *sub;
	int rc;

	if (!dev)
		return mg_errf(-ENOENT, err, len, "no stream %s", name);
	if (rendition && (rc = ctl_tc_rendition_dev(c, dev, rendition, &dev, err, len)))
		return rc;
	rc = ctl_sub_create(c, dev, to, rtcp ? (int)json_integer_value(rtcp) : -1, 0, 0,
	                    json_is_true(json_object_get(args, "paused")), &sub, err, len);
	if (rc)
		return rc;
	*result = json_pack("{s:I}", "id", (json_int_t)sub->id);
	return 0;
}

static json_t *sub_json(const struct dp_sub *sub)
{
	char a[INET6_ADDRSTRLEN], to[INET6_ADDRSTRLEN + 10];
	addr_str(&sub->to, a, sizeof(a));
	snprintf(to, sizeof(to), sub->to.family == NET_AF_IP4 ? "%s:%u" : "[%s]:%u", a,
	         sub->to_port);
	return json_pack(
	    "{s:I, s:s, s:s, s:i, s:s, s:I, s:I, s:I, s:f, s:i, s:f, s:I, s:I, s:I,"
	    " s:I, s:I, s:I}",
	    "id", (json_int_t)sub->id, "stream", sub->st->dev->name, "to", to, "rtcp_port",
	    sub->rtcp_port, "state", sub_state(sub), "packets", (json_int_t)sub->stats.packets,
	    "bytes", (json_int_t)sub->stats.bytes, "fast_start_packets",
	    (json_int_t)sub->stats.fast_start_packets, "loss_pct",
	    sub->fraction_lost * 100.0 / 256.0, "cumulative_lost", sub->cumulative_lost, "rtt_ms",
	    sub->rtt_us / 1000.0, "nacks_in", (json_int_t)sub->stats.nacks_in, "retransmits",
	    (json_int_t)sub->stats.retransmits, "nack_misses", (json_int_t)sub->stats.nack_misses,
	    "plis_in", (json_int_t)sub->stats.plis_in, "dropped_no_mbuf",
	    (json_int_t)sub->stats.dropped_no_mbuf, "ssrc", (json_int_t)sub->ssrc);
}

/* sub_json, and the talk-back counter of a subscription that carries the expert's voice. */
static json_t *sub_json_full(const struct dp_sub *sub)
{
	json_t *o = sub_json(sub);
	if (sub->talk_from_port)
		json_object_set_new(o, "talkback_in",
		                    json_integer((json_int_t)sub->stats.talkback_in));
	if (sub->talk_to_port)
		json_object_set_new(o, "talkback_out",
		                    json_integer((json_int_t)sub->stats.talkback_out));
	return o;
}

static int cmd_sub_list(struct control *c, const json_t *args, json_t **result, char *err,
                        size_t len)
{
	(void)args, (void)err, (void)len;
	json_t *a = json_array();
	for (uint32_t i = 0; i < c->n_subs; i++)
		json_array_append_new(a, sub_json_full(c->subs[i]));
	*result = a;
	return 0;
}

static int remove_sub(struct control *c, int idx)
{
	struct dp_sub *sub = c->subs[idx];
	struct dp_msg msg = {.type = DP_MSG_SUB_DEL, .sub = sub};
	int rc = dp_call(c, &msg);
	if (rc < 0)
		return rc;
	c->subs[idx] = c->subs[--c->n_subs];
	rte_free(sub);
	return 0;
}

int ctl_sub_remove(struct control *c, uint32_t id)
{
	int idx;
	if (!find_sub(c, id, &idx))
		return -ENOENT;
	return remove_sub(c, idx);
}

int ctl_sub_resume(struct control *c, struct dp_sub *sub)
{
	struct dp_msg msg = {.type = DP_MSG_SUB_RESUME, .sub = sub};
	return dp_call(c, &msg);
}

struct dp_dev *ctl_find_dev(struct control *c, const char *name)
{
	return find_dev(c, name);
}

struct dp_sub *ctl_find_sub(struct control *c, uint32_t id)
{
	return find_sub(c, id, NULL);
}

static int cmd_sub_del(struct control *c, const json_t *args, json_t **result, char *err,
                       size_t len)
{
	uint32_t id = (uint32_t)json_integer_value(json_object_get(args, "id"));
	int idx;
	(void)result;
	if (!find_sub(c, id, &idx))
		return mg_errf(-ENOENT, err, len, "no subscription %u", id);
	int rc = remove_sub(c, idx);
	return rc < 0 ? mg_errf(rc, err, len, "dataplane: %s", strerror(-rc)) : 0;
}

static int cmd_sub_resume(struct control *c, const json_t *args, json_t **result, char *err,
                          size_t len)
{
	uint32_t id = (uint32_t)json_integer_value(json_object_get(args, "id"));
	struct dp_sub *sub = find_sub(c, id, NULL);
	(void)result;
	if (!sub)
		return mg_errf(-ENOENT, err, len, "no subscription %u", id);
	struct dp_msg msg = {.type = DP_MSG_SUB_RESUME, .sub = sub};
	int rc = dp_call(c, &msg);
	return rc < 0 ? mg_errf(rc, err, len, "dataplane: %s", strerror(-rc)) : 0;
}

/* Parameter sets as Annex-B, copied under the stream's seqlock. */
static size_t copy_params(const struct dp_stream *st, uint8_t *out, size_t cap)
{
	for (int tries = 0; tries < 100; tries++) {
		unsigned g = atomic_load_explicit(&st->ps_gen, memory_order_acquire);
		if (g & 1)
			continue;
		size_t n = 0;
		for (int i = 0; i < H26X_PS_COUNT; i++) {
			size_t l = st->ps_len[i];
			if (!l || l > sizeof(st->ps[i]) || n + 4 + l > cap)
				continue;
			memcpy(out + n, "\0\0\0\1", 4);
			memcpy(out + n + 4, st->ps[i], l);
			n += 4 + l;
		}
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&st->ps_gen, memory_order_relaxed) == g)
			return n;
	}
	return 0;
}

static const enum AVCodecID codec_ids[DP_CODEC_COUNT] = {
    [DP_H264] = AV_CODEC_ID_H264,      [DP_H265] = AV_CODEC_ID_HEVC,
    [DP_OPUS] = AV_CODEC_ID_OPUS,      [DP_PCMA] = AV_CODEC_ID_PCM_ALAW,
    [DP_PCMU] = AV_CODEC_ID_PCM_MULAW, [DP_AAC] = AV_CODEC_ID_AAC,
};

/* The SDP an expert's player opens: libavformat writes it (av_sdp_create), with the
 * parameter sets the stream carried in band, and our address as the source. */
int ctl_make_sdp(struct control *c, const struct dp_sub *sub, char *sdp, size_t cap)
{
	const struct dp_dev *dev = sub->st->dev;
	char host[INET6_ADDRSTRLEN], url[128];
	struct net_addr ours = sub->to.family == NET_AF_IP4
	                           ? net_addr4(ntohl(c->cfg->ip4.v4.s_addr))
	                           : net_addr6(c->cfg->ip6.v6.s6_addr);
	addr_str(&ours, host, sizeof(host));
	snprintf(url, sizeof(url), ours.family == NET_AF_IP4 ? "rtp://%s:%u" : "rtp://[%s]:%u",
	         host, sub->to_port);

	AVFormatContext *oc = NULL;
	if (avformat_alloc_output_context2(&oc, NULL, "rtp", url) < 0)
		return -ENOMEM;
	int rc = -ENOMEM;
	AVStream *s = avformat_new_stream(oc, NULL);
	if (!s)
		goto out;
	AVCodecParameters *par = s->codecpar;
	par->codec_id = codec_ids[dev->codec];
	par->codec_type = dev->codec <= DP_H265 ? AVMEDIA_TYPE_VIDEO : AVMEDIA_TYPE_AUDIO;
	if (par->codec_type == AVMEDIA_TYPE_AUDIO) {
		par->sample_rate = (int)dev->clock;
		av_channel_layout_default(&par->ch_layout, dev->codec == DP_OPUS ? 2 : 1);
	}
	uint8_t ps[3 * 260];
	size_t n =
	    par->codec_type == AVMEDIA_TYPE_VIDEO ? copy_params(&dev->st, ps, sizeof(ps)) : 0;
	if (n) {
		par->extradata = av_mallocz(n + AV_INPUT_BUFFER_PADDING_SIZE);
		if (!par->extradata)
			goto out;
		memcpy(par->extradata, ps, n);
		par->extradata_size = (int)n;
	}
	av_opt_set_int(oc->priv_data, "payload_type", dev->pt, 0);
	rc = av_sdp_create(&oc, 1, sdp, (int)cap) < 0 ? -EINVAL : 0;
	if (rc == 0 && sub->rtcp_port != sub->to_port + 1) {
		size_t l = strlen(sdp);
		snprintf(sdp + l, cap - l, "a=rtcp:%u\r\n", sub->rtcp_port);
	}
out:
	avformat_free_context(oc);
	return rc;
}

static int cmd_sub_sdp(struct control *c, const json_t *args, json_t **result, char *err,
                       size_t len)
{
	uint32_t id = (uint32_t)json_integer_value(json_object_get(args, "id"));
	struct dp_sub *sub = find_sub(c, id, NULL);
	if (!sub)
		return mg_errf(-ENOENT, err, len, "no subscription %u", id);
	char sdp[4096];
	int rc = ctl_make_sdp(c, sub, sdp, sizeof(sdp));
	if (rc < 0)
		return mg_errf(rc, err, len, "cannot describe stream %s as SDP",
		               sub->st->dev->name);
	*result = json_pack("{s:s}", "sdp", sdp);
	return 0;
}

/* --- status --------------------------------------------------------------------------------- */

static json_t *record_status(struct control *c);

static int cmd_status(struct control *c, const json_t *args, json_t **result, char *err, size_t len)
{
	const struct dp_port_stats *s = &c->dp->stats;
	struct rte_eth_stats es;
	(void)args, (void)err, (void)len;
	memset(&es, 0, sizeof(es));
	rte_eth_stats_get(c->dp->port_id, &es);
	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	rte_ether_format_addr(mac, sizeof(mac), &c->dp->mac);
	struct rte_eth_dev_info info;
	rte_eth_dev_info_get(c->dp->port_id, &info);

	json_t *drops = json_object();
	for (size_t i = 0; i < dp_n_port_drops; i++)
		json_object_set_new(drops, dp_port_drops[i].name,
		                    json_integer((json_int_t)dp_port_stat(s, &dp_port_drops[i])));
	json_object_set_new(drops, "rx_missed",
	                    json_integer((json_int_t)(es.imissed + es.rx_nombuf)));
	uint64_t wrong_pt = 0;
	unsigned subs = 0;
	for (uint32_t i = 0; i < c->n_devs; i++) {
		wrong_pt += c->devs[i]->st.stats.wrong_pt;
	}
	subs = c->n_subs;
	json_object_set_new(drops, "wrong_pt", json_integer((json_int_t)wrong_pt));

	char ip4[INET_ADDRSTRLEN] = "", ip6[INET6_ADDRSTRLEN] = "";
	if (c->cfg->ip4.set)
		inet_ntop(AF_INET, &c->cfg->ip4.v4, ip4, sizeof(ip4));
	if (c->cfg->ip6.set)
		inet_ntop(AF_INET6, &c->cfg->ip6.v6, ip6, sizeof(ip6));
	*result = json_pack(
	    "{s:s, s:f, s:{s:i, s:s, s:s, s:s, s:s, s:b, s:s}, s:{s:i, s:i}, s:f, s:f, s:I, s:I,"
	    " s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:o, s:i, s:i, s:i}",
	    "version", MG_VERSION, "uptime_s", (double)(dp_mono_ns() - c->start_ns) / 1e9, "port",
	    "id", c->dp->port_id, "device", c->cfg->port, "driver", info.driver_name, "mac", mac,
	    "ip", ip4[0] ? ip4 : ip6, "zero_copy", c->dp->multiseg_tx && c->cfg->zero_copy, "ip6",
	    ip6, "lcores", "control", c->control_lcore, "dataplane", c->dataplane_lcore, "rx_pps",
	    c->rx_pps, "tx_pps", c->tx_pps, "rx_packets", (json_int_t)s->rx_packets, "tx_packets",
	    (json_int_t)s->tx_packets, "rx_bytes", (json_int_t)s->rx_bytes, "tx_bytes",
	    (json_int_t)s->tx_bytes, "control_packets", "arp_in", (json_int_t)s->arp_in,
	    "arp_replies", (json_int_t)s->arp_replies, "icmp_echo", (json_int_t)s->icmp_echo,
	    "nd_in", (json_int_t)s->nd_in, "icmp6_echo", (json_int_t)s->icmp6_echo, "gtpu_echo",
	    (json_int_t)s->gtpu_echo, "drops", drops, "devices", c->n_devs, "subscribers", subs,
	    "mbufs_in_use", (int)rte_mempool_in_use_count(c->dp->pool));
	json_object_set_new(*result, "record", record_status(c));
	json_object_set_new(*result, "transcode", ctl_tc_status(c));
	return 0;
}

/* --- record commands ------------------------------------------------------------------------ */

static json_t *record_json(const struct dp_dev *dev)
{
	const struct dp_rec_handle *h = dev->rec;
	const struct rec_stream_stats *st = h && h->rs ? rec_stream_stats(h->rs) : NULL;
	const char *state = atomic_load(&dev->rec_on) ? "on" : "off";

	if (!st)
		return json_pack("{s:s, s:s}", "name", dev->name, "state", state);
	return json_pack(
	    "{s:s, s:s, s:i, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "name",
	    dev->name, "state", state, "chunk", (int)rec_stream_chunk(h->rs), "packets",
	    (json_int_t)st->packets, "bytes", (json_int_t)st->bytes, "mbytes",
	    (double)st->bytes / 1e6, "dropped",
	    (json_int_t)(st->dropped + h->ring_drops + h->closed_drops), "ring_drops",
	    (json_int_t)h->ring_drops, "sealed", (json_int_t)st->chunks, "sealed_bytes",
	    (json_int_t)st->sealed_bytes, "errors",
	    (json_int_t)(st->write_errors + st->seal_failures), "frames", (json_int_t)st->frames,
	    "frames_lost", (json_int_t)st->frames_lost, "entries",
	    (json_int_t)rec_stream_manifest_seq(h->rs), "ignored", (json_int_t)st->ignored);
}

static int no_recorder(char *err, size_t len)
{
	return mg_errf(-ENOTSUP, err, len, "recording is disabled ([record] enabled = false)");
}

static int cmd_record_list(struct control *c, const json_t *args, json_t **result, char *err,
                           size_t len)
{
	const char *name = json_string_value(json_object_get(args, "stream"));
	json_t *a;

	if (!c->rec)
		return no_recorder(err, len);
	if (name && !find_dev(c, name))
		return mg_errf(-ENOENT, err, len, "no stream %s", name);
	a = json_array();
	for (uint32_t i = 0; i < c->n_devs; i++)
		if (!name || !strcmp(name, c->devs[i]->name))
			json_array_append_new(a, record_json(c->devs[i]));
	*result = a;
	return 0;
}

/* record start / record stop: the one difference is the direction. */
static int record_switch(struct control *c, const json_t *args, bool on, json_t **result, char *err,
                         size_t len)
{
	const char *name = json_string_value(json_object_get(args, "stream"));
	struct dp_dev *dev = find_dev(c, name);
	int rc;

	if (!c->rec)
		return no_recorder(err, len);
	if (!dev)
		return mg_errf(-ENOENT, err, len, "no stream %s", name);
	if (atomic_load(&dev->rec_on) == on)
		return mg_errf(-EALREADY, err, len, "%s is %s", name,
		               on ? "being recorded already" : "not being recorded");
	rc = on ? rec_begin(c, dev, err, len) : rec_end(c, dev, err, len);
	if (!rc) {
		remember_arg(c, "devices", name, "record", json_boolean(on));
		*result = record_json(dev);
	}
	return rc;
}

static int cmd_record_start(struct control *c, const json_t *args, json_t **result, char *err,
                            size_t len)
{
	return record_switch(c, args, true, result, err, len);
}

static int cmd_record_stop(struct control *c, const json_t *args, json_t **result, char *err,
                           size_t len)
{
	return record_switch(c, args, false, result, err, len);
}

/* The recorder's part of status. */
static json_t *record_status(struct control *c)
{
	const struct rec_stats *r;

	if (!c->rec)
		return json_pack("{s:b}", "enabled", false);
	r = dp_recorder_stats(c->rec);
	return json_pack(
	    "{s:b, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
	    " s:I, s:I, s:I, s:f, s:{s:b, s:b}, s:s}",
	    "enabled", true, "dir", dp_recorder_dir(c->rec), "key_id", dp_recorder_key_id(c->rec),
	    "bytes_written", (json_int_t)r->bytes_written, "syncs", (json_int_t)r->syncs,
	    "io_errors", (json_int_t)r->io_errors, "bufs_exhausted", (json_int_t)r->bufs_exhausted,
	    "ring_drops", (json_int_t)c->dp->stats.drop_rec_full, "queued",
	    (json_int_t)c->dp->stats.rec_queued, "seals", (json_int_t)r->seals, "retired_files",
	    (json_int_t)r->retired_files, "retired_bytes", (json_int_t)r->retired_bytes,
	    "recovered_files", (json_int_t)r->recovered_files, "disk_free",
	    (json_int_t)r->disk_free, "stored_bytes", (json_int_t)r->stored_bytes, "disk_alarms",
	    (json_int_t)r->disk_alarms, "manifest_errors", (json_int_t)r->manifest_errors,
	    "seal_ms_max", (double)r->seal_ns_max / 1e6, "alarms", "disk", r->alarm_disk, "io",
	    r->alarm_io || c->dp->stats.drop_rec_full, "last_error", r->last_error);
}

/* --- the thread ----------------------------------------------------------------------------- */

static void rates(struct control *c)
{
	uint64_t now = dp_mono_ns();
	double dt = (double)(now - c->rate_ns) / 1e9;
	if (dt < 1.0)
		return;
	const struct dp_port_stats *s = &c->dp->stats;
	c->rx_pps = (double)(s->rx_packets - c->last_rx) / dt;
	c->tx_pps = (double)(s->tx_packets - c->last_tx) / dt;
	c->last_rx = s->rx_packets;
	c->last_tx = s->tx_packets;
	for (uint32_t i = 0; i < c->n_devs; i++) {
		struct dp_dev *dev = c->devs[i];
		uint64_t b = dev->st.stats.bytes;
		dev->ctl_kbps = (double)(b - dev->ctl_last_bytes) * 8 / 1000 / dt;
		dev->ctl_last_bytes = b;
	}
	c->rate_ns = now;
}

/* Every command runs with the registry lock held (see struct control). */
static int locked(void *ctx, const json_t *args, json_t **result, char *err, size_t len)
{
	struct ctl_binding *b = ctx;
	int rc;

	pthread_mutex_lock(&b->c->lock);
	rc = b->fn(b->c, args, result, err, len);
	pthread_mutex_unlock(&b->c->lock);
	return rc;
}

int control_init(struct control *c, const struct caas_config *cfg, struct dp_ctx *dp, char *err,
                 size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->dp = dp;
	c->start_ns = c->rate_ns = dp_mono_ns();
	c->devs = rte_zmalloc("ctl_devs", sizeof(*c->devs) * cfg->max_devices, 0);
	c->max_subs = cfg->max_devices * cfg->max_subs_per_stream;
	c->subs = rte_zmalloc("ctl_subs", sizeof(*c->subs) * c->max_subs, 0);
	if (!c->devs || !c->subs) {
		snprintf(err, errlen, "out of memory for the registry");
		return -ENOMEM;
	}
	gid_t gid = (gid_t)-1;
	if (cfg->socket_group[0]) {
		struct group *g = getgrnam(cfg->socket_group);
		if (!g) {
			snprintf(err, errlen, "[mgmt] socket_group: no group %s",
			         cfg->socket_group);
			return -ENOENT;
		}
		gid = g->gr_gid;
	}
	int rc = mg_ctl_open(&c->ctl, cfg->socket, (mode_t)cfg->socket_mode, gid, err, errlen);
	if (rc < 0)
		return rc;
	rc = mg_state_open(cfg->state, &c->state, err, errlen);
	if (rc == -EBADMSG) {
		/* A damaged registry must not keep the box down: set it aside, start empty. */
		char aside[sizeof(cfg->state) + 32];
		snprintf(aside, sizeof(aside), "%s.bad-%ld", cfg->state, (long)time(NULL));
		fprintf(stderr, "caasd: %s; moved to %s, starting with an empty registry\n", err,
		        aside);
		rename(cfg->state, aside);
		rc = mg_state_open(cfg->state, &c->state, err, errlen);
	}
	if (rc < 0)
		return rc;
	if (cfg->record) {
		char why[256];
		rc = dp_recorder_start(&c->rec, cfg, dp, why, sizeof(why));
		if (rc < 0) {
			snprintf(err, errlen, "[record] %s", why);
			return rc;
		}
	}
	static const struct {
		const char *name;
		ctl_handler fn;
	} handlers[] = {
	    {"status", cmd_status},
	    {"device add", cmd_device_add},
	    {"device list", cmd_device_list},
	    {"device del", cmd_device_del},
	    {"stream list", cmd_stream_list},
	    {"stream show", cmd_stream_show},
	    {"sub add", cmd_sub_add},
	    {"sub list", cmd_sub_list},
	    {"sub del", cmd_sub_del},
	    {"sub sdp", cmd_sub_sdp},
	    {"sub resume", cmd_sub_resume},
	    {"record list", cmd_record_list},
	    {"record start", cmd_record_start},
	    {"record stop", cmd_record_stop},
	};
	pthread_mutex_init(&c->lock, NULL);
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		c->bound[i] = (struct ctl_binding){c, handlers[i].fn};
		rc = mg_ctl_bind(c->ctl, handlers[i].name, locked, &c->bound[i]);
		if (rc < 0) {
			snprintf(err, errlen, "cannot bind command %s", handlers[i].name);
			return rc;
		}
	}
	/* The commands of the other control files. */
	static const struct {
		const struct ctl_command *cmds;
		const size_t *n;
	} more[] = {{ctl_help_commands, &ctl_help_ncommands},
	            {ctl_event_commands, &ctl_event_ncommands},
	            {ctl_tune_commands, &ctl_tune_ncommands},
	            {ctl_tc_commands, &ctl_tc_ncommands}};
	size_t nb = sizeof(handlers) / sizeof(handlers[0]);
	for (size_t t = 0; t < sizeof(more) / sizeof(more[0]); t++) {
		for (size_t i = 0; i < *more[t].n; i++, nb++) {
			if (nb == CTL_MAX_COMMANDS) {
				snprintf(err, errlen, "more than %d commands", CTL_MAX_COMMANDS);
				return -ENOSPC;
			}
			c->bound[nb] = (struct ctl_binding){c, more[t].cmds[i].fn};
			rc = mg_ctl_bind(c->ctl, more[t].cmds[i].name, locked, &c->bound[nb]);
			if (rc < 0) {
				snprintf(err, errlen, "cannot bind command %s",
				         more[t].cmds[i].name);
				return rc;
			}
		}
	}
	if ((rc = ctl_help_init(c, err, errlen)) < 0 ||
	    (rc = ctl_events_init(c, err, errlen)) < 0 || (rc = ctl_tc_init(c, err, errlen)) < 0)
		return rc;
	char missing[256];
	if (mg_ctl_unbound(c->ctl, missing, sizeof(missing))) {
		snprintf(err, errlen, "commands without a handler: %s", missing);
		return -ENOSYS;
	}
	if (cfg->metrics[0] && (rc = ctl_metrics_start(c, err, errlen)) < 0)
		return rc;
	if ((rc = ctl_telemetry_init(c)) < 0) {
		snprintf(err, errlen, "telemetry: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

/* What the registry held, created again through the same commands (and checks) an operator
 * would run; what fails is reported and dropped. */
static void replay(struct control *c)
{
	static const char *const sections[][2] = {{"pools", "pool add"},
	                                          {"experts", "expert add"},
	                                          {"renditions", "rendition add"},
	                                          {"devices", "device add"}};
	json_t *old = mg_state_begin_replay(c->state);
	unsigned ok = 0, bad = 0;
	char err[256];

	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		json_t *sec = json_object_get(old, sections[i][0]), *args;
		const char *name;

		json_object_foreach(sec, name, args)
		{
			json_t *req = json_pack("{s:s, s:O}", "cmd", sections[i][1], "args", args);
			char *line = json_dumps(req, JSON_COMPACT), *reply = NULL;
			json_t *r;

			mg_ctl_dispatch(c->ctl, line, &reply);
			r = reply ? json_loads(reply, 0, NULL) : NULL;
			if (json_is_true(json_object_get(r, "ok"))) {
				ok++;
			} else {
				bad++;
				fprintf(stderr, "caasd: state: %s %s not restored: %s\n",
				        sections[i][1], name,
				        json_string_value(json_object_get(r, "error"))
				            ?: "no reply");
			}
			json_decref(r);
			free(reply);
			free(line);
			json_decref(req);
		}
	}
	json_decref(old);
	if (mg_state_end_replay(c->state, err, sizeof(err)))
		fprintf(stderr, "caasd: %s\n", err);
	if (ok || bad) {
		printf("caasd: state: %u objects restored, %u dropped\n", ok, bad);
		fflush(stdout);
	}
}

void control_run(struct control *c, volatile bool *quit)
{
	replay(c);
	while (!*quit) {
		mg_ctl_poll(c->ctl, 100);
		rates(c);
		pthread_mutex_lock(&c->lock);
		ctl_help_tick(c);
		ctl_events_tick(c);
		ctl_tc_tick(c);
		pthread_mutex_unlock(&c->lock);
	}
}

void control_close(struct control *c)
{
	/* The dataplane has stopped: everything is ours to release. The recorder records what
	 * is still queued and seals every open chunk before it stops. */
	ctl_metrics_stop(c); /* its thread reads what is freed below */
	pthread_mutex_lock(&c->lock);
	ctl_telemetry_close();
	pthread_mutex_unlock(&c->lock);
	dp_recorder_stop(c->rec);
	c->rec = NULL;
	ctl_tc_close(c); /* before the devices its rendition streams point to */
	for (uint32_t i = 0; i < c->n_devs; i++) {
		free(c->devs[i]->rec);
		c->devs[i]->rec = NULL;
	}
	for (uint32_t i = 0; i < c->n_subs; i++)
		rte_free(c->subs[i]);
	for (uint32_t i = 0; i < c->n_devs; i++) {
		dp_stream_release(c->dp, &c->devs[i]->st);
		free_dev(c->devs[i]);
	}
	c->n_subs = c->n_devs = 0;
	mg_ctl_close(c->ctl);
	mg_state_close(c->state);
	ctl_help_close(c);
	ctl_events_close(c);
	rte_free(c->devs);
	rte_free(c->subs);
}
