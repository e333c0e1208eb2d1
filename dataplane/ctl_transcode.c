/* Transcoding on the control thread: renditions (the registry kept across restarts), the
 * sessions and rendition streams that subscribers need, started on demand and stopped a while
 * ([transcode] linger_ms) after their last subscriber left, snapshots, and what status and
 * "rendition list" / "transcode list" show. dp_transcode.[ch] hold the workers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <openssl/evp.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "control.h"
#include "dp_transcode.h"
#include "mgmt/err.h"
#include "mgmt/metrics.h"

#define SNAPSHOT_WAIT_MS 3000 /* for a new session's decoder to show a first picture */

struct rend_def {
	char name[DP_NAME_MAX + 1];
	struct tc_rendition_spec spec;
};

/* A rendition stream of a source. */
struct out_rec {
	struct dp_tc_out *out;
	struct dp_dev *vdev;
	uint64_t idle_since_ns; /* 0 while it has subscribers */
};

/* A source stream being transcoded. */
struct src_rec {
	struct dp_dev *dev;
	struct dp_tc_sess *sess;
	uint64_t idle_since_ns; /* 0 while it is needed */
	uint64_t keep_until_ns; /* a snapshot keeps it this long */
	uint64_t behind_seen;   /* late + dropped frames at the last look */
	uint64_t behind_ns;     /* when they last grew, 0 while the worker keeps up */
	struct out_rec outs[DP_MAX_RENDS];
	unsigned n_outs;
};

struct ctl_tc {
	struct dp_transcoder *t;
	struct rend_def *rends;
	unsigned n_rends, cap_rends;
	struct src_rec *srcs;
	unsigned n_srcs, cap_srcs;
};

static const char *codec_word(enum tc_codec c)
{
	return c == TC_H264 ? "h264" : "h265";
}

static const char *encoder_of(const struct control *c, enum tc_codec codec)
{
	const char *e = codec == TC_H264 ? c->cfg->tc_h264_encoder : c->cfg->tc_h265_encoder;
	return e[0] ? e : codec == TC_H264 ? "libx264" : "libx265";
}

static struct rend_def *find_rend(struct ctl_tc *x, const char *name)
{
	for (unsigned i = 0; i < x->n_rends; i++)
		if (!strcmp(x->rends[i].name, name))
			return &x->rends[i];
	return NULL;
}

static struct src_rec *find_src(struct ctl_tc *x, const struct dp_dev *dev)
{
	for (unsigned i = 0; i < x->n_srcs; i++)
		if (x->srcs[i].dev == dev)
			return &x->srcs[i];
	return NULL;
}

static int no_workers(char *err, size_t len)
{
	return mg_errf(-EOPNOTSUPP, err, len,
	               "transcoding is off: [transcode] workers = 0 in caasd's configuration");
}

/* --- sessions --------------------------------------------------------------------------- */

static int open_src(struct control *c, struct dp_dev *dev, struct src_rec **out, char *err,
                    size_t len)
{
	struct ctl_tc *x = c->tcx;
	struct dp_tc_sess *sess;
	int rc;

	if (x->n_srcs == x->cap_srcs) {
		unsigned cap = x->cap_srcs ? 2 * x->cap_srcs : 16;
		struct src_rec *n = realloc(x->srcs, cap * sizeof(*n));
		if (!n)
			return mg_errf(-ENOMEM, err, len, "out of memory");
		x->srcs = n;
		x->cap_srcs = cap;
	}
	rc = dp_tc_sess_open(x->t, dev, &sess, err, len);
	if (rc)
		return rc;
	struct dp_msg msg = {.type = DP_MSG_TC_ATTACH, .dev = dev, .tc = sess};
	rc = ctl_dp_call(c, &msg);
	if (rc) {
		dp_tc_sess_close(x->t, sess);
		dp_tc_sess_free(x->t, sess);
		return mg_errf(rc, err, len, "dataplane: %s", strerror(-rc));
	}
	x->srcs[x->n_srcs] = (struct src_rec){.dev = dev, .sess = sess};
	*out = &x->srcs[x->n_srcs++];
	printf("caasd: transcode: %s on worker %u\n", dev->name, sess->worker);
	fflush(stdout);
	ctl_event(c, "transcode_started",
	          json_pack("{s:s, s:i}", "stream", dev->name, "worker", sess->worker));
	return 0;
}

/* Take a rendition stream down: the worker stops, the dataplane takes what was made and lets
 * go of the device, then its subscriptions and the device are freed. */
static void close_out(struct control *c, struct src_rec *s, unsigned k)
{
	struct out_rec *o = &s->outs[k];

	ctl_event(c, "rendition_stopped",
	          json_pack("{s:s, s:s}", "stream", s->dev->name, "rendition", o->out->rendition));
	for (uint32_t i = c->n_subs; i-- > 0;)
		if (i < c->n_subs && c->subs[i]->st == &o->vdev->st)
			ctl_sub_remove(c, c->subs[i]->id);
	dp_tc_out_del(c->tcx->t, o->out);
	struct dp_msg msg = {.type = DP_MSG_DEV_DEL, .dev = o->vdev};
	if (ctl_dp_call(c, &msg) == 0) {
		ctl_dev_free(o->vdev);
		free(o->out);
	} /* else the dataplane may still hold them: leave them (a few bytes) */
	s->outs[k] = s->outs[--s->n_outs];
}

static void close_src(struct control *c, struct src_rec *s)
{
	struct ctl_tc *x = c->tcx;

	while (s->n_outs)
		close_out(c, s, s->n_outs - 1);
	struct dp_msg detach = {.type = DP_MSG_TC_DETACH, .dev = s->dev};
	struct dp_msg drain = {.type = DP_MSG_TC_DRAIN};
	printf("caasd: transcode: %s stopped\n", s->dev->name);
	fflush(stdout);
	ctl_event(c, "transcode_stopped", json_pack("{s:s}", "stream", s->dev->name));
	if (ctl_dp_call(c, &detach) == 0 && dp_tc_sess_close(x->t, s->sess) == 0 &&
	    ctl_dp_call(c, &drain) == 0)
		dp_tc_sess_free(x->t, s->sess);
	*s = x->srcs[--x->n_srcs];
}

/* The rendition stream of dev for rendition r, made when missing. */
static int open_out(struct control *c, struct src_rec *s, const struct rend_def *r,
                    struct dp_dev **vdev_out, char *err, size_t len)
{
	char name[2 * DP_NAME_MAX + 2];
	struct dp_dev *src = s->dev, *vdev;
	struct dp_tc_out *o;
	int rc;

	snprintf(name, sizeof(name), "%s@%s", src->name, r->name);
	for (unsigned i = 0; i < s->n_outs; i++) {
		if (!strcmp(s->outs[i].vdev->name, name)) {
			*vdev_out = s->outs[i].vdev;
			return 0;
		}
	}
	if (strlen(name) > DP_NAME_MAX)
		return mg_errf(-ENAMETOOLONG, err, len,
		               "%s: stream and rendition names together exceed %d characters", name,
		               DP_NAME_MAX);
	if (s->n_outs == DP_MAX_RENDS)
		return mg_errf(-ENOSPC, err, len, "%s has %d renditions already", src->name,
		               DP_MAX_RENDS);
	vdev = ctl_dev_alloc(c, name);
	o = calloc(1, sizeof(*o));
	if (!vdev || !o) {
		ctl_dev_free(vdev);
		free(o);
		return mg_errf(-ENOMEM, err, len, "out of memory");
	}
	vdev->virt = true;
	vdev->parent = src;
	vdev->codec = r->spec.codec == TC_H264 ? DP_H264 : DP_H265;
	/* The camera's payload type when the codec stays; else the first dynamic one. */
	vdev->pt = vdev->codec == src->codec ? src->pt : 96;
	vdev->clock = 90000;
	vdev->port = src->port; /* its subscribers' RTCP and voice come to the source's ports */
	vdev->rtcp_port = src->rtcp_port;
	vdev->rtcp_mux = src->rtcp_mux;
	vdev->src_any = true;
	vdev->tc_out = o;
	o->sess = s->sess;
	o->vdev = vdev;
	o->spec = r->spec;
	o->pt = vdev->pt;
	o->rid = -1;
	snprintf(o->rendition, sizeof(o->rendition), "%s", r->name);
	snprintf(o->encoder, sizeof(o->encoder), "%s",
	         r->spec.codec == TC_H264 ? c->cfg->tc_h264_encoder : c->cfg->tc_h265_encoder);

	struct dp_msg add = {.type = DP_MSG_DEV_ADD, .dev = vdev};
	rc = ctl_dp_call(c, &add);
	if (rc) {
		ctl_dev_free(vdev);
		free(o);
		return mg_errf(rc, err, len, "dataplane: %s", strerror(-rc));
	}
	rc = dp_tc_out_add(c->tcx->t, o, err, len);
	if (rc) {
		struct dp_msg del = {.type = DP_MSG_DEV_DEL, .dev = vdev};
		if (ctl_dp_call(c, &del) == 0) {
			ctl_dev_free(vdev);
			free(o);
		}
		return rc;
	}
	s->outs[s->n_outs++] = (struct out_rec){.out = o, .vdev = vdev};
	*vdev_out = vdev;
	ctl_event(c, "rendition_started",
	          json_pack("{s:s, s:s, s:s}", "stream", src->name, "rendition", r->name, "output",
	                    vdev->name));
	return 0;
}

int ctl_tc_rendition_dev(struct control *c, struct dp_dev *dev, const char *rendition,
                         struct dp_dev **vdev, char *err, size_t len)
{
	struct ctl_tc *x = c->tcx;
	struct rend_def *r;
	struct src_rec *s;
	int rc;

	if (!x->t)
		return no_workers(err, len);
	r = find_rend(x, rendition);
	if (!r)
		return mg_errf(-ENOENT, err, len, "no rendition %s", rendition);
	if (dev->codec != DP_H264 && dev->codec != DP_H265)
		return mg_errf(-EOPNOTSUPP, err, len,
		               "%s sends %s: renditions are made of H.264 and H.265 streams",
		               dev->name, dp_codec_name(dev->codec));
	s = find_src(x, dev);
	if (!s && (rc = open_src(c, dev, &s, err, len)))
		return rc;
	s->idle_since_ns = 0;
	rc = open_out(c, s, r, vdev, err, len);
	if (rc == 0) {
		for (unsigned i = 0; i < s->n_outs; i++)
			if (s->outs[i].vdev == *vdev)
				s->outs[i].idle_since_ns = 0;
	}
	return rc;
}

/* Keyframes further apart than [transcode] bridge_gop_ms, as far as the counter shows (the
 * control thread looks every 100 ms): fast start would send that much to a joiner. */
static bool long_gop(const struct control *c, const struct dp_dev *dev, uint64_t now)
{
	uint64_t limit = (uint64_t)c->cfg->tc_bridge_gop_ms * DP_MS;
	return dev->ctl_kf_ns &&
	       ((uint64_t)dev->ctl_gop_ms * DP_MS > limit || now - dev->ctl_kf_ns > limit);
}

/* Whether dev's session should run now for the join bridge. */
static bool bridge_wanted(const struct control *c, const struct dp_dev *dev, unsigned subs,
                          uint64_t now)
{
	if (dev->codec != DP_H264 && dev->codec != DP_H265)
		return false;
	switch (c->cfg->tc_join_bridge) {
	case CAAS_BRIDGE_YES:
		return true;
	case CAAS_BRIDGE_AUTO:
		return subs > 0 && long_gop(c, dev, now);
	default:
		return false;
	}
}

void ctl_tc_update(struct control *c, struct dp_dev *dev)
{
	struct ctl_tc *x = c->tcx;
	struct src_rec *s;
	char err[256];

	if (!x || !x->t || dev->virt || find_src(x, dev))
		return;
	if (!bridge_wanted(c, dev, ctl_subs_of(c, dev), dp_mono_ns()))
		return;
	if (open_src(c, dev, &s, err, sizeof(err)))
		fprintf(stderr, "caasd: transcode: %s: join bridge: %s\n", dev->name, err);
}

void ctl_tc_device_gone(struct control *c, struct dp_dev *dev)
{
	struct src_rec *s = c->tcx ? find_src(c->tcx, dev) : NULL;
	if (s)
		close_src(c, s);
}

void ctl_tc_tick(struct control *c)
{
	struct ctl_tc *x = c->tcx;
	uint64_t now = dp_mono_ns(), linger = (uint64_t)c->cfg->tc_linger_ms * DP_MS;

	if (!x || !x->t)
		return;
	/* Each device's GOP and subscriptions, in one pass over each list. */
	for (uint32_t i = 0; i < c->n_devs; i++) {
		struct dp_dev *d = c->devs[i];
		uint64_t kf = d->st.stats.keyframes;
		d->ctl_nsubs = 0;
		if (kf == d->ctl_kf_seen)
			continue;
		if (d->ctl_kf_ns)
			d->ctl_gop_ms = (uint32_t)((now - d->ctl_kf_ns) / DP_MS);
		d->ctl_kf_ns = now;
		d->ctl_kf_seen = kf;
	}
	for (uint32_t i = 0; i < c->n_subs; i++) {
		struct dp_dev *d = c->subs[i]->st->dev;
		(d->virt ? d->parent : d)->ctl_nsubs++;
	}
	for (uint32_t i = 0; i < c->n_devs; i++) {
		struct dp_dev *d = c->devs[i];
		struct src_rec *s;
		char err[256];
		if (!find_src(x, d) && bridge_wanted(c, d, d->ctl_nsubs, now) &&
		    open_src(c, d, &s, err, sizeof(err)))
			fprintf(stderr, "caasd: transcode: %s: join bridge: %s\n", d->name, err);
	}
	for (unsigned i = x->n_srcs; i-- > 0;) {
		struct src_rec *s = &x->srcs[i];
		for (unsigned k = s->n_outs; k-- > 0;) {
			struct out_rec *o = &s->outs[k];
			if (ctl_subs_of(c, o->vdev)) {
				o->idle_since_ns = 0;
			} else if (!o->idle_since_ns) {
				o->idle_since_ns = now;
			} else if (now - o->idle_since_ns >= linger) {
				printf("caasd: transcode: %s stopped (no subscriber for %u ms)\n",
				       o->vdev->name, c->cfg->tc_linger_ms);
				close_out(c, s, k);
			}
		}
		/* A worker behind: one event when it starts skipping, one when it has kept up
		 * for ten seconds. */
		uint64_t behind = s->sess->late_aus + s->sess->dropped_aus;
		if (behind != s->behind_seen) {
			if (!s->behind_ns)
				ctl_event(c, "transcode_behind",
				          json_pack("{s:s, s:i, s:I, s:I}", "stream", s->dev->name,
				                    "worker", s->sess->worker, "late",
				                    (json_int_t)s->sess->late_aus, "dropped",
				                    (json_int_t)s->sess->dropped_aus));
			s->behind_seen = behind;
			s->behind_ns = now;
		} else if (s->behind_ns && now - s->behind_ns >= 10000 * DP_MS) {
			ctl_event(c, "transcode_caught_up",
			          json_pack("{s:s}", "stream", s->dev->name));
			s->behind_ns = 0;
		}
		atomic_store_explicit(&s->sess->kbps, (unsigned)s->dev->ctl_kbps,
		                      memory_order_relaxed);
		bool bridge = bridge_wanted(c, s->dev, s->dev->ctl_nsubs, now);
		atomic_store_explicit(&s->sess->bridge_armed, bridge, memory_order_relaxed);
		bool needed = s->n_outs || now < s->keep_until_ns || bridge;
		if (needed)
			s->idle_since_ns = 0;
		else if (!s->idle_since_ns)
			s->idle_since_ns = now;
		else if (now - s->idle_since_ns >= linger)
			close_src(c, s);
	}
}

const char *ctl_tc_pick(struct control *c, const struct dp_dev *dev, uint32_t max_kbps)
{
	struct ctl_tc *x = c->tcx;
	const struct rend_def *best = NULL;

	if (!x || !x->t || !max_kbps || (dev->codec != DP_H264 && dev->codec != DP_H265))
		return NULL;
	/* The camera's own stream fits: no transcoding. */
	if (dev->ctl_kbps > 0 && dev->ctl_kbps <= max_kbps)
		return NULL;
	for (unsigned i = 0; i < x->n_rends; i++) {
		const struct rend_def *r = &x->rends[i];
		if ((uint32_t)r->spec.kbps <= max_kbps && (!best || r->spec.kbps > best->spec.kbps))
			best = r;
	}
	return best ? best->name : NULL;
}

/* --- commands ------------------------------------------------------------------------------- */

static int cmd_rendition_add(struct control *c, const json_t *args, json_t **result, char *err,
                             size_t len)
{
	struct ctl_tc *x = c->tcx;
	const char *name = json_string_value(json_object_get(args, "name"));
	const char *codec = json_string_value(json_object_get(args, "codec"));
	struct rend_def r = {0};
	(void)result;

	if (find_rend(x, name))
		return mg_errf(-EEXIST, err, len, "rendition %s already exists", name);
	snprintf(r.name, sizeof(r.name), "%s", name);
	r.spec.height = (int)json_integer_value(json_object_get(args, "height"));
	r.spec.kbps = (int)json_integer_value(json_object_get(args, "kbps"));
	r.spec.fps = (int)json_integer_value(json_object_get(args, "fps"));
	r.spec.codec = codec && !strcmp(codec, "h265") ? TC_H265 : TC_H264;
	if (r.spec.height % 2)
		return mg_errf(-EINVAL, err, len, "--height %d: must be even (4:2:0 chroma)",
		               r.spec.height);
	const char *enc = encoder_of(c, r.spec.codec);
	if (!avcodec_find_encoder_by_name(enc))
		return mg_errf(-ENOENT, err, len, "no %s encoder in this libavcodec", enc);
	if (x->n_rends == x->cap_rends) {
		unsigned cap = x->cap_rends ? 2 * x->cap_rends : 8;
		struct rend_def *n = realloc(x->rends, cap * sizeof(*n));
		if (!n)
			return mg_errf(-ENOMEM, err, len, "out of memory");
		x->rends = n;
		x->cap_rends = cap;
	}
	x->rends[x->n_rends++] = r;
	ctl_remember(c, "renditions", name, args);
	return 0;
}

/* What a rendition of one source has done, from the worker's counters. */
static json_t *out_json(const struct control *c, const struct out_rec *o)
{
	const struct dp_tc_out *t = o->out;
	int rid = t->rid;
	return json_pack("{s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I}", "stream",
	                 o->vdev->parent->name, "output", o->vdev->name, "subscribers",
	                 ctl_subs_of(c, o->vdev), "frames", (json_int_t)t->frames, "skipped",
	                 (json_int_t)(rid >= 0 ? t->tc.skipped[rid] : 0), "dropped",
	                 (json_int_t)(rid >= 0 ? t->tc.dropped[rid] : 0), "packets",
	                 (json_int_t)t->packets, "bytes", (json_int_t)t->bytes, "no_mbuf",
	                 (json_int_t)(t->no_mbuf + t->ring_full));
}

static int cmd_rendition_list(struct control *c, const json_t *args, json_t **result, char *err,
                              size_t len)
{
	struct ctl_tc *x = c->tcx;
	json_t *a = json_array();
	(void)args, (void)err, (void)len;

	for (unsigned i = 0; i < x->n_rends; i++) {
		const struct rend_def *r = &x->rends[i];
		json_t *sessions = json_array();
		unsigned streams = 0, subs = 0;
		uint64_t frames = 0, skipped = 0;
		for (unsigned j = 0; j < x->n_srcs; j++) {
			const struct src_rec *s = &x->srcs[j];
			for (unsigned k = 0; k < s->n_outs; k++) {
				const struct out_rec *o = &s->outs[k];
				if (strcmp(o->out->rendition, r->name))
					continue;
				json_t *oj = out_json(c, o);
				streams++;
				subs += (unsigned)json_integer_value(
				    json_object_get(oj, "subscribers"));
				frames +=
				    (uint64_t)json_integer_value(json_object_get(oj, "frames"));
				skipped +=
				    (uint64_t)json_integer_value(json_object_get(oj, "skipped"));
				json_array_append_new(sessions, oj);
			}
		}
		json_array_append_new(
		    a, json_pack("{s:s, s:i, s:i, s:i, s:s, s:s, s:i, s:i, s:I, s:I, s:o}", "name",
		                 r->name, "height", r->spec.height, "kbps", r->spec.kbps, "fps",
		                 r->spec.fps, "codec", codec_word(r->spec.codec), "encoder",
		                 encoder_of(c, r->spec.codec), "streams", streams, "subscribers",
		                 subs, "frames", (json_int_t)frames, "skipped", (json_int_t)skipped,
		                 "sessions", sessions));
	}
	*result = a;
	return 0;
}

static int cmd_rendition_del(struct control *c, const json_t *args, json_t **result, char *err,
                             size_t len)
{
	struct ctl_tc *x = c->tcx;
	const char *name = json_string_value(json_object_get(args, "name"));
	struct rend_def *r = find_rend(x, name);
	(void)result;

	if (!r)
		return mg_errf(-ENOENT, err, len, "no rendition %s", name);
	for (unsigned j = 0; j < x->n_srcs; j++) {
		struct src_rec *s = &x->srcs[j];
		for (unsigned k = 0; k < s->n_outs; k++) {
			if (strcmp(s->outs[k].out->rendition, name))
				continue;
			unsigned n = ctl_subs_of(c, s->outs[k].vdev);
			if (n)
				return mg_errf(-EBUSY, err, len,
				               "rendition %s has %u subscriber(s) on %s: remove "
				               "them first",
				               name, n, s->dev->name);
		}
	}
	/* Streams lingering on it go now. */
	for (unsigned j = 0; j < x->n_srcs; j++) {
		struct src_rec *s = &x->srcs[j];
		for (unsigned k = s->n_outs; k-- > 0;)
			if (!strcmp(s->outs[k].out->rendition, name))
				close_out(c, s, k);
	}
	*r = x->rends[--x->n_rends];
	ctl_forget(c, "renditions", name);
	return 0;
}

static json_t *src_json(const struct control *c, const struct src_rec *s)
{
	const struct dp_tc_sess *t = s->sess;
	const struct dp_tc_out *b = &t->bridge;
	json_t *outs = json_array();

	char names[DP_MAX_RENDS * (DP_NAME_MAX + 2) + 1] = "";
	size_t nl = 0;

	for (unsigned k = 0; k < s->n_outs; k++) {
		json_array_append_new(outs, out_json(c, &s->outs[k]));
		nl += (size_t)snprintf(names + nl, sizeof(names) - nl, "%s%s", k ? "," : "",
		                       s->outs[k].out->rendition);
	}
	json_t *o = json_pack(
	    "{s:s, s:i, s:I, s:{s:I, s:I, s:I, s:I}, s:I, s:I, s:I, s:I, s:I, s:I, s:i, "
	    "s:{s:b, s:I, s:I, s:I, s:I}, s:o}",
	    "stream", s->dev->name, "worker", t->worker, "packets", (json_int_t)t->packets,
	    "reorder", "reordered", (json_int_t)t->ro.stats.reordered, "lost",
	    (json_int_t)t->ro.stats.lost, "late", (json_int_t)t->ro.stats.late, "duplicates",
	    (json_int_t)t->ro.stats.duplicates, "frames_in", (json_int_t)t->aus, "decoded",
	    (json_int_t)b->tc.decoded, "decode_errors", (json_int_t)t->decode_errors, "late",
	    (json_int_t)t->late_aus, "dropped", (json_int_t)t->dropped_aus, "ring_drops",
	    (json_int_t)s->dev->st.stats.tc_ring_drops, "source_kbps", (int)s->dev->ctl_kbps,
	    "bridge", "active", b->active, "joins", (json_int_t)s->dev->st.stats.bridge_joins,
	    "encodes", (json_int_t)b->bridges, "frames", (json_int_t)b->frames, "packets",
	    (json_int_t)b->packets, "renditions", outs);
	/* flat, for caasctl's table */
	json_object_set_new(o, "bridge_joins",
	                    json_integer((json_int_t)s->dev->st.stats.bridge_joins));
	json_object_set_new(o, "outputs", json_string(names[0] ? names : "-"));
	return o;
}

static int cmd_transcode_list(struct control *c, const json_t *args, json_t **result, char *err,
                              size_t len)
{
	struct ctl_tc *x = c->tcx;
	json_t *a = json_array();
	(void)args, (void)err, (void)len;
	for (unsigned i = 0; i < x->n_srcs; i++)
		json_array_append_new(a, src_json(c, &x->srcs[i]));
	*result = a;
	return 0;
}

json_t *ctl_tc_status(struct control *c)
{
	struct ctl_tc *x = c->tcx;
	uint64_t in = 0, late = 0, dropped = 0, drops = 0, encoded = 0, skipped = 0, joins = 0;
	json_t *workers = json_array();

	if (!x || !x->t)
		return json_pack("{s:i}", "workers", 0);
	for (unsigned i = 0; i < x->n_srcs; i++) {
		const struct src_rec *s = &x->srcs[i];
		in += s->sess->aus;
		late += s->sess->late_aus;
		dropped += s->sess->dropped_aus;
		drops += s->dev->st.stats.tc_ring_drops;
		joins += s->dev->st.stats.bridge_joins;
		encoded += s->sess->bridge.frames;
		for (unsigned k = 0; k < s->n_outs; k++) {
			const struct dp_tc_out *o = s->outs[k].out;
			encoded += o->frames;
			if (o->rid >= 0)
				skipped += o->tc.skipped[o->rid];
		}
	}
	for (unsigned i = 0; i < dp_transcoder_workers(x->t); i++) {
		struct dp_tc_worker_stats ws;
		dp_transcoder_worker_stats(x->t, i, &ws);
		json_array_append_new(workers, json_pack("{s:i, s:I, s:f}", "worker", i, "sessions",
		                                         (json_int_t)ws.sessions, "busy_s",
		                                         (double)ws.busy_ns / 1e9));
	}
	unsigned pool_size, in_use = dp_transcoder_mbufs(x->t, &pool_size);
	return json_pack("{s:i, s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:i, s:o}", "workers",
	                 dp_transcoder_workers(x->t), "join_bridge",
	                 caas_join_bridge_name(c->cfg->tc_join_bridge), "sessions", x->n_srcs,
	                 "frames_in", (json_int_t)in, "frames_encoded", (json_int_t)encoded,
	                 "skipped", (json_int_t)skipped, "late", (json_int_t)late, "dropped",
	                 (json_int_t)dropped, "ring_drops", (json_int_t)drops, "mbufs_in_use",
	                 in_use, "mbufs", pool_size, "per_worker", workers);
}

static int cmd_snapshot(struct control *c, const json_t *args, json_t **result, char *err,
                        size_t len)
{
	struct ctl_tc *x = c->tcx;
	const char *name = json_string_value(json_object_get(args, "stream"));
	struct dp_dev *dev = ctl_find_dev(c, name);
	struct timespec tick = {.tv_nsec = 10 * 1000000};
	struct src_rec *s;
	uint8_t *jpeg = NULL;
	size_t n = 0;
	int w = 0, h = 0, rc;

	if (!x->t)
		return no_workers(err, len);
	if (!dev)
		return mg_errf(-ENOENT, err, len, "no stream %s", name);
	s = find_src(x, dev);
	if (!s && (rc = open_src(c, dev, &s, err, len)))
		return rc;
	/* A session of its own keeps decoding a while: the wall asks again soon. */
	s->keep_until_ns = dp_mono_ns() + (uint64_t)c->cfg->tc_linger_ms * DP_MS;
	for (int i = 0; !atomic_load(&s->sess->decoding); i++) {
		if (i * 10 >= SNAPSHOT_WAIT_MS)
			return mg_errf(
			    -ENODATA, err, len,
			    "%s: no picture decoded within %d ms (is the camera sending?)", name,
			    SNAPSHOT_WAIT_MS);
		nanosleep(&tick, NULL);
	}
	rc = dp_tc_snapshot(x->t, s->sess, &jpeg, &n, &w, &h, err, len);
	if (rc)
		return rc;
	char *b64 = malloc(4 * ((n + 2) / 3) + 1);
	if (!b64) {
		free(jpeg);
		return mg_errf(-ENOMEM, err, len, "out of memory");
	}
	EVP_EncodeBlock((unsigned char *)b64, jpeg, (int)n);
	*result = json_pack("{s:s, s:i, s:i, s:I, s:s}", "stream", name, "width", w, "height", h,
	                    "bytes", (json_int_t)n, "jpeg_base64", b64);
	free(b64);
	free(jpeg);
	return 0;
}

/* --- the metrics page ------------------------------------------------------------------------ */

struct sess_counter {
	const char *name, *help;
	uint64_t (*get)(const struct src_rec *s);
};

static uint64_t m_packets(const struct src_rec *s)
{
	return s->sess->packets;
}
static uint64_t m_frames(const struct src_rec *s)
{
	return s->sess->aus;
}
static uint64_t m_reordered(const struct src_rec *s)
{
	return s->sess->ro.stats.reordered;
}
static uint64_t m_lost(const struct src_rec *s)
{
	return s->sess->ro.stats.lost;
}
static uint64_t m_late(const struct src_rec *s)
{
	return s->sess->late_aus;
}
static uint64_t m_dropped(const struct src_rec *s)
{
	return s->sess->dropped_aus;
}
static uint64_t m_errors(const struct src_rec *s)
{
	return s->sess->decode_errors;
}
static uint64_t m_ring(const struct src_rec *s)
{
	return s->dev->st.stats.tc_ring_drops;
}
static uint64_t m_joins(const struct src_rec *s)
{
	return s->dev->st.stats.bridge_joins;
}
static uint64_t m_bridge(const struct src_rec *s)
{
	return s->sess->bridge.frames;
}

static const struct sess_counter sess_counters[] = {
    {"caas_transcode_packets_total", "RTP packets a worker took of the stream", m_packets},
    {"caas_transcode_reordered_packets_total",
     "Packets the worker put back in sequence order (reordered or retransmitted)", m_reordered},
    {"caas_transcode_lost_packets_total",
     "Sequence numbers the worker gave up after [transcode] reorder_ms", m_lost},
    {"caas_transcode_frames_total", "Access units the worker depacketized", m_frames},
    {"caas_transcode_late_frames_total",
     "Frames decoded but not encoded: the worker was more than max_delay_ms behind", m_late},
    {"caas_transcode_dropped_frames_total",
     "Access units dropped undecoded to catch up at the next keyframe", m_dropped},
    {"caas_transcode_decode_errors_total", "Access units the decoder refused or concealed",
     m_errors},
    {"caas_transcode_ring_drops_total", "Packets the dataplane could not queue: the ring was full",
     m_ring},
    {"caas_bridge_joins_total", "Subscribers started through the join bridge", m_joins},
    {"caas_bridge_frames_total", "Frames the join bridge encoded", m_bridge},
};

struct out_counter {
	const char *name, *help;
	uint64_t (*get)(const struct dp_tc_out *o);
};

static uint64_t o_frames(const struct dp_tc_out *o)
{
	return o->frames;
}
static uint64_t o_skipped(const struct dp_tc_out *o)
{
	return o->rid >= 0 ? o->tc.skipped[o->rid] : 0;
}
static uint64_t o_bytes(const struct dp_tc_out *o)
{
	return o->bytes;
}
static uint64_t o_lost(const struct dp_tc_out *o)
{
	return o->no_mbuf + o->ring_full;
}

static const struct out_counter out_counters[] = {
    {"caas_rendition_frames_total", "Frames encoded for the rendition", o_frames},
    {"caas_rendition_skipped_frames_total", "Source frames the rendition did not get (overload)",
     o_skipped},
    {"caas_rendition_bytes_total", "RTP bytes the worker made for the rendition", o_bytes},
    {"caas_rendition_lost_packets_total", "Packets lost for want of an mbuf or ring room", o_lost},
};

void ctl_tc_metrics(struct control *c, struct mg_metrics_buf *b)
{
	struct ctl_tc *x;

	pthread_mutex_lock(&c->lock);
	x = c->tcx;
	if (!x || !x->t) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	mg_metrics_family(b, "caas_transcode_workers", MG_METRIC_GAUGE, "Transcode worker threads");
	mg_metrics_gauge(b, NULL, 0, dp_transcoder_workers(x->t));
	mg_metrics_family(b, "caas_transcode_sessions", MG_METRIC_GAUGE,
	                  "Streams being decoded (renditions or the join bridge)");
	mg_metrics_gauge(b, NULL, 0, x->n_srcs);
	mg_metrics_family(b, "caas_transcode_busy_seconds_total", MG_METRIC_COUNTER,
	                  "Time each worker spent working");
	for (unsigned i = 0; i < dp_transcoder_workers(x->t); i++) {
		struct dp_tc_worker_stats ws;
		char id[16];
		dp_transcoder_worker_stats(x->t, i, &ws);
		snprintf(id, sizeof(id), "%u", i);
		mg_metrics_counter_seconds(b, MG_LABELS({"worker", id}), ws.busy_ns);
	}
	for (size_t k = 0; k < sizeof(sess_counters) / sizeof(sess_counters[0]); k++) {
		mg_metrics_family(b, sess_counters[k].name, MG_METRIC_COUNTER,
		                  sess_counters[k].help);
		for (unsigned i = 0; i < x->n_srcs; i++)
			mg_metrics_counter(b, MG_LABELS({"device", x->srcs[i].dev->name}),
			                   sess_counters[k].get(&x->srcs[i]));
	}
	for (size_t k = 0; k < sizeof(out_counters) / sizeof(out_counters[0]); k++) {
		mg_metrics_family(b, out_counters[k].name, MG_METRIC_COUNTER, out_counters[k].help);
		for (unsigned i = 0; i < x->n_srcs; i++)
			for (unsigned j = 0; j < x->srcs[i].n_outs; j++)
				mg_metrics_counter(
				    b,
				    MG_LABELS({"device", x->srcs[i].dev->name},
				              {"rendition", x->srcs[i].outs[j].out->rendition}),
				    out_counters[k].get(x->srcs[i].outs[j].out));
	}
	pthread_mutex_unlock(&c->lock);
}

const struct ctl_command ctl_tc_commands[] = {
    {"rendition add", cmd_rendition_add}, {"rendition list", cmd_rendition_list},
    {"rendition del", cmd_rendition_del}, {"transcode list", cmd_transcode_list},
    {"snapshot", cmd_snapshot},
};
const size_t ctl_tc_ncommands = sizeof(ctl_tc_commands) / sizeof(ctl_tc_commands[0]);

int ctl_tc_init(struct control *c, char *err, size_t errlen)
{
	struct ctl_tc *x = calloc(1, sizeof(*x));
	char why[256];
	int rc;

	if (!x) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->tcx = x;
	/* libx264 and libx265 report their statistics at every close: errors only. */
	av_log_set_level(AV_LOG_ERROR);
	rc = dp_transcoder_start(&x->t, c->cfg, c->dp,
	                         rte_get_next_lcore(rte_get_main_lcore(), 1, 0), why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "[transcode] %s", why);
		return rc;
	}
	return 0;
}

void ctl_tc_close(struct control *c)
{
	struct ctl_tc *x = c->tcx;

	if (!x)
		return;
	/* The dataplane has stopped. The rendition streams' caches hold mbufs of the workers'
	 * pool: back they go before the workers stop and the pool goes. */
	for (unsigned i = 0; i < x->n_srcs; i++)
		for (unsigned k = 0; k < x->srcs[i].n_outs; k++)
			dp_stream_release(c->dp, &x->srcs[i].outs[k].vdev->st);
	dp_transcoder_stop(x->t);
	for (unsigned i = 0; i < x->n_srcs; i++) {
		struct src_rec *s = &x->srcs[i];
		for (unsigned k = 0; k < s->n_outs; k++) {
			ctl_dev_free(s->outs[k].vdev);
			free(s->outs[k].out);
		}
		rte_free(s->sess); /* the workers closed it */
	}
	free(x->srcs);
	free(x->rends);
	free(x);
	c->tcx = NULL;
}
