/* The recorder (see recorder.h): chunks of journal and segment per stream, their seals and
 * manifest lines, periodic fdatasync, failures, retention and recovery. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "dataplane/rtp/h26x.h"
#include "dataplane/rtp/rtp.h"
#include "record/util.h"
#include "record/journal.h"
#include "record/out.h"
#include "record/recorder.h"
#include "record/recover.h"
#include "record/segment.h"
#include "record/uring.h"

#define NS_PER_S        1000000000ull
#define AU_MAX          (4u << 20) /* largest access unit a segment takes */
#define REOPEN_RETRY_NS (1 * NS_PER_S)
#define DISK_CHECK_NS   (1 * NS_PER_S)
#define AGE_CHECK_NS    (10 * NS_PER_S)
#define KF_WAIT_FACTOR  3 /* rotate without a keyframe after this many segment lengths */
#define MANIFEST        "manifest.jsonl"

/* A sealed file retention may retire, oldest first. */
struct sealed {
	char stream[64];
	char file[96];
	enum rec_kind kind;
	uint64_t size;
	char sha256[REC_HASH_HEX_LEN + 1];
	int64_t start_wall_ns, end_wall_ns;
	uint64_t start_rtp, end_rtp;
};

/* Times of what one file holds. */
struct span {
	bool any;
	int64_t start_wall, end_wall;
	uint64_t start_rtp, end_rtp;
};

struct rec_stream {
	struct rec_recorder *rr;
	struct rec_stream_desc d;
	struct rec_stream *next;
	int dir_fd;
	struct rec_manifest *man;
	bool on;
	bool started_mark; /* a START record is due in the next journal */

	uint32_t chunk;
	bool jnl_open;
	struct rec_out jnl;
	struct span jspan;
	uint32_t jseq;
	uint64_t chunk_start_ns;
	uint64_t reopen_ns; /* no journal: when to try again */
	uint64_t gap;       /* packets lost since the last record written */
	bool dirty;

	struct rec_seg *seg;
	struct span sspan;
	bool have_ts;
	uint32_t last_ts;
	int64_t ext_ts;
	struct h26x_depkt dk;
	void *dk_mem;
	bool seg_failed; /* this chunk's segment failed: no new one until the next chunk */

	uint8_t scratch[REC_JNL_MAX_RECORD];
	struct rec_stream_stats st;
};

struct rec_recorder {
	struct rec_config c;
	int dir_fd;
	struct rec_key *key;
	struct rec_uring u;
	bool uring_up;
	struct rec_stream *streams;
	uint32_t n_streams;
	uint64_t next_sync_ns, next_disk_ns, next_age_ns;
	bool low_space;         /* free space below the reserve at the last check */
	uint64_t space_fail_ns; /* when a write last failed for space, or space was made */
	int64_t wall_off;       /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
	struct sealed *sealed;
	size_t n_sealed, cap_sealed;
	struct rec_stats st;
};

static void say(struct rec_recorder *rr, int prio, bool alarm, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void say(struct rec_recorder *rr, int prio, bool alarm, const char *fmt, ...)
{
	char msg[sizeof(rr->st.last_error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "caasd: record: %s\n", msg);
	syslog(prio, "record: %s", msg);
	if (alarm)
		memcpy(rr->st.last_error, msg, sizeof(msg));
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

void rec_config_defaults(struct rec_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "/var/lib/caas/record");
	c->segment_seconds = 10;
	c->fsync_ms = 200;
	c->alg = REC_ALG_ED25519;
	c->reserve_bytes = 256ull << 20;
	c->buffers = 1024;
	c->buffer_kb = 64;
	c->max_streams = 512;
}

/* ---- the retention list ------------------------------------------------------------------- */

static void span_add(struct span *sp, int64_t wall, uint64_t rtp)
{
	if (!sp->any) {
		sp->any = true;
		sp->start_wall = wall;
		sp->start_rtp = rtp;
	}
	sp->end_wall = wall;
	sp->end_rtp = rtp;
}

static void sealed_add(struct rec_recorder *rr, const char *stream, const struct rec_entry *e)
{
	struct sealed *x;
	size_t i;

	if (rr->n_sealed == rr->cap_sealed) {
		size_t cap = rr->cap_sealed ? rr->cap_sealed * 2 : 256;
		struct sealed *n = realloc(rr->sealed, cap * sizeof(*n));
		if (!n)
			return; /* retention will not know this file; nothing else is lost */
		rr->sealed = n;
		rr->cap_sealed = cap;
	}
	/* Kept in order of end time; files arrive nearly in order, so search from the end. */
	for (i = rr->n_sealed; i > 0 && rr->sealed[i - 1].end_wall_ns > e->end_wall_ns; i--)
		;
	memmove(&rr->sealed[i + 1], &rr->sealed[i], (rr->n_sealed - i) * sizeof(*x));
	x = &rr->sealed[i];
	memset(x, 0, sizeof(*x));
	snprintf(x->stream, sizeof(x->stream), "%s", stream);
	snprintf(x->file, sizeof(x->file), "%s", e->file);
	x->kind = e->kind;
	x->size = e->size;
	memcpy(x->sha256, e->sha256, sizeof(x->sha256));
	x->start_wall_ns = e->start_wall_ns;
	x->end_wall_ns = e->end_wall_ns;
	x->start_rtp = e->start_rtp;
	x->end_rtp = e->end_rtp;
	rr->n_sealed++;
	rr->st.stored_bytes += e->size;
}

static void sealed_remove(struct rec_recorder *rr, const char *stream, const char *file)
{
	for (size_t i = 0; i < rr->n_sealed; i++) {
		struct sealed *x = &rr->sealed[i];
		if (strcmp(x->stream, stream) || strcmp(x->file, file))
			continue;
		rr->st.stored_bytes -= x->size;
		memmove(x, x + 1, (rr->n_sealed - i - 1) * sizeof(*x));
		rr->n_sealed--;
		return;
	}
}

/* What a stream's manifest lists and has not retired. */
static void sealed_load(struct rec_recorder *rr, const char *stream, int dir_fd)
{
	int fd = openat(dir_fd, MANIFEST, O_RDONLY | O_CLOEXEC);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	char *line = NULL;
	size_t cap = 0;

	if (!f) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while (getline(&line, &cap, f) > 0) {
		json_t *o = json_loads(line, 0, NULL);
		const char *kind = json_string_value(json_object_get(o, "kind"));
		const char *file = json_string_value(json_object_get(o, "file"));
		const char *sha = json_string_value(json_object_get(o, "sha256"));
		struct rec_entry e = {0};

		if (kind && file && !strcmp(kind, "retired")) {
			sealed_remove(rr, stream, file);
		} else if (kind && file && sha && strlen(sha) == REC_HASH_HEX_LEN) {
			e.kind = !strcmp(kind, "journal")   ? REC_KIND_JOURNAL
			         : !strcmp(kind, "segment") ? REC_KIND_SEGMENT
			                                    : REC_KIND_RECOVERED;
			e.file = file;
			e.size = (uint64_t)json_integer_value(json_object_get(o, "size"));
			memcpy(e.sha256, sha, sizeof(e.sha256));
			e.start_wall_ns = json_integer_value(json_object_get(o, "start_wall_ns"));
			e.end_wall_ns = json_integer_value(json_object_get(o, "end_wall_ns"));
			e.start_rtp = (uint64_t)json_integer_value(json_object_get(o, "start_rtp"));
			e.end_rtp = (uint64_t)json_integer_value(json_object_get(o, "end_rtp"));
			sealed_add(rr, stream, &e);
		}
		json_decref(o);
	}
	free(line);
	fclose(f);
}

static int manifest_append(struct rec_recorder *rr, struct rec_manifest *m, const char *stream,
                           const struct rec_entry *e)
{
	char err[256];
	int rc = rec_manifest_append(m, e, err, sizeof(err));

	if (rc) {
		rr->st.manifest_errors++;
		rr->st.alarm_io = true;
		say(rr, LOG_ERR, true, "%s: manifest: %s", stream, err);
		return rc;
	}
	if (e->kind != REC_KIND_RETIRED)
		sealed_add(rr, stream, e);
	return 0;
}

static struct rec_stream *stream_find(struct rec_recorder *rr, const char *name)
{
	for (struct rec_stream *s = rr->streams; s; s = s->next)
		if (!strcmp(s->d.name, name))
			return s;
	return NULL;
}

static struct rec_manifest *stream_manifest(struct rec_stream *s, const char *skip);
static void manifest_lost(struct rec_stream *s);

/* Retire the oldest sealed file: unlink it (space first: the disk may be full), then say so in
 * its stream's manifest. */
static int retire_oldest(struct rec_recorder *rr, const char *why)
{
	struct sealed x;
	struct rec_stream *s;
	struct rec_manifest *m = NULL;
	struct rec_entry e;
	char path[PATH_MAX + 160], err[256];
	int rc;

	if (!rr->n_sealed)
		return -ENOENT;
	x = rr->sealed[0];
	memmove(&rr->sealed[0], &rr->sealed[1], (rr->n_sealed - 1) * sizeof(x));
	rr->n_sealed--;
	rr->st.stored_bytes -= x.size;

	snprintf(path, sizeof(path), "%s/%s", x.stream, x.file);
	if (unlinkat(rr->dir_fd, path, 0) && errno != ENOENT) {
		say(rr, LOG_ERR, true, "retention: cannot delete %s: %s", path, strerror(errno));
		return -errno;
	}
	s = stream_find(rr, x.stream);
	if (s) {
		m = stream_manifest(s, NULL);
	} else {
		snprintf(path, sizeof(path), "%s/%s/%s", rr->c.dir, x.stream, MANIFEST);
		rc = rec_manifest_open(path, rr->key, REC_MANIFEST_CUT_TORN, &m, err, sizeof(err));
		if (rc) {
			say(rr, LOG_ERR, true, "retention: %s", err);
			m = NULL;
		}
	}
	e = (struct rec_entry){
	    .kind = REC_KIND_RETIRED,
	    .file = x.file,
	    .size = x.size,
	    .start_wall_ns = x.start_wall_ns,
	    .end_wall_ns = x.end_wall_ns,
	    .start_rtp = x.start_rtp,
	    .end_rtp = x.end_rtp,
	    .note = why,
	};
	memcpy(e.sha256, x.sha256, sizeof(e.sha256));
	if (m && manifest_append(rr, m, x.stream, &e) && s)
		manifest_lost(s);
	if (m && !s)
		rec_manifest_close(m);
	rr->st.retired_files++;
	rr->st.retired_bytes += x.size;
	say(rr, LOG_NOTICE, false, "%s/%s retired (%s, %" PRIu64 " bytes)", x.stream, x.file, why,
	    x.size);
	return 0;
}

static void disk_check(struct rec_recorder *rr)
{
	struct statvfs v;

	if (fstatvfs(rr->dir_fd, &v))
		return;
	rr->st.disk_free = (uint64_t)v.f_bavail * v.f_frsize;
	rr->st.disk_total = (uint64_t)v.f_blocks * v.f_frsize;
}

/* Free space below the reserve or recordings above their byte budget: retire the oldest until
 * both hold (at most a bounded number per call, so the thread keeps moving). */
static void retention_space(struct rec_recorder *rr, uint64_t need)
{
	uint64_t target = rr->c.reserve_bytes + need;
	int budget = 64;

	disk_check(rr);
	if (rr->st.disk_free < rr->c.reserve_bytes && !rr->low_space)
		rr->st.disk_alarms++;
	rr->low_space = rr->st.disk_free < rr->c.reserve_bytes;
	while (budget-- > 0 && rr->n_sealed &&
	       (rr->st.disk_free < target ||
	        (rr->c.retention_bytes && rr->st.stored_bytes > rr->c.retention_bytes))) {
		bool space = rr->st.disk_free < target;
		uint64_t size = rr->sealed[0].size;
		if (retire_oldest(rr, space ? "retention: disk full" : "retention: size"))
			break;
		if (space)
			rr->space_fail_ns = clock_ns(CLOCK_MONOTONIC);
		rr->st.disk_free += size; /* until the next statvfs says better */
	}
}

/* A write failed for want of space: an alarm, and room made beyond the reserve at once. */
static void space_failure(struct rec_recorder *rr)
{
	rr->st.disk_alarms++;
	rr->space_fail_ns = clock_ns(CLOCK_MONOTONIC);
	retention_space(rr, rr->st.disk_total / 8);
}

static void retention_age(struct rec_recorder *rr)
{
	int64_t limit;
	int budget = 256;

	if (!rr->c.retention_age_s)
		return;
	limit = (int64_t)clock_ns(CLOCK_REALTIME) - (int64_t)(rr->c.retention_age_s * NS_PER_S);
	while (budget-- > 0 && rr->n_sealed && rr->sealed[0].end_wall_ns < limit)
		if (retire_oldest(rr, "retention: age"))
			break;
}

/* ---- chunks -------------------------------------------------------------------------------- */

static void chunk_name(const struct rec_stream *s, const char *ext, char *out, size_t len)
{
	snprintf(out, len, "%s-%06" PRIu32 ".%s", s->d.name, s->chunk, ext);
}

static int journal_record(struct rec_stream *s, uint8_t type, uint8_t flags, uint64_t mono_ns,
                          const void *data, size_t len)
{
	struct rec_jnl_rec r = {
	    .type = type,
	    .flags = flags,
	    .seq = s->jseq,
	    .t_real_ns = mono_ns + (uint64_t)s->rr->wall_off,
	    .t_mono_ns = mono_ns,
	    .data = data,
	    .len = (uint32_t)len,
	};
	int n = rec_jnl_record_write(s->scratch, sizeof(s->scratch), &r);
	int rc;

	if (n < 0)
		return n;
	rc = rec_out_append(&s->jnl, s->scratch, (size_t)n);
	if (rc)
		return rc;
	s->jseq++;
	s->dirty = true;
	return 0;
}

static void recover_unlisted(struct rec_stream *s, const char *skip);

/* A manifest that failed an append refuses more (manifest.h): close it; the next seal or the
 * next tick opens it again, which also finds out what reached the disk. */
static void manifest_lost(struct rec_stream *s)
{
	rec_manifest_close(s->man);
	s->man = NULL;
}

/* The stream's manifest, opened again after a failure. Files sealed meanwhile get their lines
 * then (as recovered entries), except skip, which the caller is about to list. */
static struct rec_manifest *stream_manifest(struct rec_stream *s, const char *skip)
{
	char path[PATH_MAX + 160], err[256];

	if (s->man)
		return s->man;
	snprintf(path, sizeof(path), "%s/%s/%s", s->rr->c.dir, s->d.name, MANIFEST);
	if (rec_manifest_open(path, s->rr->key, REC_MANIFEST_CUT_TORN, &s->man, err, sizeof(err))) {
		s->man = NULL;
		s->rr->st.manifest_errors++;
		return NULL;
	}
	say(s->rr, LOG_NOTICE, false, "%s: manifest open again", s->d.name);
	recover_unlisted(s, skip);
	return s->man;
}

static void seal_entry(struct rec_stream *s, enum rec_kind kind, const char *name, const char *sha,
                       uint64_t size, const struct span *sp, const char *note)
{
	struct rec_entry e = {
	    .kind = kind,
	    .file = name,
	    .size = size,
	    .start_wall_ns = sp->start_wall,
	    .end_wall_ns = sp->end_wall < sp->start_wall ? sp->start_wall : sp->end_wall,
	    .start_rtp = sp->start_rtp,
	    .end_rtp = sp->end_rtp,
	    .note = note,
	};
	memcpy(e.sha256, sha, sizeof(e.sha256));
	s->st.chunks += kind == REC_KIND_JOURNAL;
	s->st.sealed_bytes += size;
	if (!stream_manifest(s, name))
		return; /* listed when the manifest can be written again */
	if (manifest_append(s->rr, s->man, s->d.name, &e))
		manifest_lost(s);
}

static void seg_close(struct rec_stream *s, bool failed)
{
	struct h26x_au au;
	char name[128], sha[REC_HASH_HEX_LEN + 1];
	uint64_t size = 0;
	int rc;

	if (!s->seg)
		return;
	if (!failed && h26x_depkt_flush(&s->dk, &au) == 1 &&
	    !rec_seg_write(s->seg, au.data, au.len, s->ext_ts, au.keyframe)) {
		s->st.frames++;
		span_add(&s->sspan, (int64_t)(clock_ns(CLOCK_REALTIME)), (uint64_t)s->ext_ts);
	}
	chunk_name(s, "ts", name, sizeof(name));
	rc = rec_seg_close(s->seg, sha, &size);
	s->seg = NULL;
	if (rc) {
		s->st.seal_failures++;
		s->rr->st.alarm_io = true;
		say(s->rr, LOG_ERR, true, "%s: segment %s not sealed (%s); left as .part",
		    s->d.name, name, strerror(-rc));
		return;
	}
	seal_entry(s, REC_KIND_SEGMENT, name, sha, size, &s->sspan,
	           failed ? "ended early by a write failure" : NULL);
}

static void chunk_end(struct rec_stream *s, const char *why)
{
	char name[128], sha[REC_HASH_HEX_LEN + 1];
	uint64_t size = 0, t0 = clock_ns(CLOCK_MONOTONIC), dt;
	int rc;

	if (s->jnl_open) {
		if (why && !s->jnl.err)
			journal_record(s, REC_JNL_T_STOP, 0, clock_ns(CLOCK_MONOTONIC), why,
			               strlen(why));
		chunk_name(s, "jnl", name, sizeof(name));
		rc = rec_out_seal(&s->jnl, sha, &size);
		s->jnl_open = false;
		if (rc) {
			s->st.seal_failures++;
			s->rr->st.alarm_io = true;
			say(s->rr, LOG_ERR, true, "%s: journal %s not sealed (%s); left as .part",
			    s->d.name, name, strerror(-rc));
		} else {
			seal_entry(s, REC_KIND_JOURNAL, name, sha, size, &s->jspan, NULL);
		}
	}
	seg_close(s, s->seg_failed);
	dt = clock_ns(CLOCK_MONOTONIC) - t0;
	s->rr->st.seals++;
	s->rr->st.seal_ns_total += dt;
	if (dt > s->rr->st.seal_ns_max)
		s->rr->st.seal_ns_max = dt;
	s->dirty = false;
}

static int chunk_begin(struct rec_stream *s, uint64_t now_ns)
{
	struct rec_jnl_info info = {
	    .version = REC_JNL_VERSION,
	    .created_ns = now_ns + (uint64_t)s->rr->wall_off,
	    .clock_rate = s->d.clock_rate,
	    .payload_type = s->d.pt,
	    .media = s->d.media,
	};
	uint8_t hdr[REC_JNL_HDR_LEN];
	char name[128], err[256];
	int rc, n;

	s->chunk++;
	chunk_name(s, "jnl", name, sizeof(name));
	if (getrandom(&info.journal_id, sizeof(info.journal_id), 0) != sizeof(info.journal_id))
		info.journal_id = now_ns ^ (uint64_t)(uintptr_t)s;
	snprintf(info.codec, sizeof(info.codec), "%s", s->d.codec);
	snprintf(info.stream, sizeof(info.stream), "%s", s->d.name);
	n = rec_jnl_header_write(hdr, sizeof(hdr), &info);
	rc = n < 0 ? n : rec_out_open(&s->jnl, &s->rr->u, s->dir_fd, name, err, sizeof(err));
	if (rc) {
		s->reopen_ns = now_ns + REOPEN_RETRY_NS;
		if (rc == -ENOSPC)
			space_failure(s->rr);
		say(s->rr, LOG_ERR, true, "%s: cannot start journal %s: %s", s->d.name, name,
		    n < 0 ? strerror(-n) : err);
		return rc;
	}
	s->jnl_open = true;
	s->jseq = 0;
	s->jspan = (struct span){0};
	s->sspan = (struct span){0};
	s->seg_failed = false;
	s->chunk_start_ns = now_ns;
	rc = rec_out_append(&s->jnl, hdr, (size_t)n);
	if (!rc && s->started_mark) {
		static const char note[] = "recording started";
		rc = journal_record(s, REC_JNL_T_START, 0, now_ns, note, sizeof(note) - 1);
		s->started_mark = rc != 0;
	}
	return rc;
}

/* A write failed (the file's error, or no staging buffer for the segment): end this chunk
 * loudly and go on in a new one. */
static void chunk_failed(struct rec_stream *s, const char *what, int rc, uint64_t now_ns)
{
	s->st.write_errors++;
	s->rr->st.alarm_io = true;

	say(s->rr, LOG_ERR, true, "%s: %s chunk %" PRIu32 " failed: %s; starting a new one",
	    s->d.name, what, s->chunk, strerror(-rc));
	if (s->jnl_open && s->jnl.err) {
		rec_out_abort(&s->jnl);
		s->jnl_open = false;
		s->st.seal_failures++;
	}
	chunk_end(s, NULL);
	if (rc == -ENOSPC || rc == -EDQUOT)
		space_failure(s->rr);
	chunk_begin(s, now_ns);
}

/* ---- segments ------------------------------------------------------------------------------ */

static void seg_open(struct rec_stream *s)
{
	struct rec_seg_params p = {.clock_rate = s->d.clock_rate, .channels = s->d.channels};
	char name[128], err[256];
	int rc;

	p.codec = s->d.track == REC_TRACK_H264   ? REC_SEG_H264
	          : s->d.track == REC_TRACK_H265 ? REC_SEG_H265
	                                         : REC_SEG_OPUS;
	chunk_name(s, "ts", name, sizeof(name));
	rc = rec_seg_open(&s->rr->u, s->dir_fd, name, &p, &s->seg, err, sizeof(err));
	if (rc) {
		s->seg = NULL;
		s->seg_failed = true;
		say(s->rr, LOG_ERR, true, "%s: cannot start segment %s: %s", s->d.name, name, err);
	}
}

static void seg_frame(struct rec_stream *s, const uint8_t *data, size_t len, int64_t ts,
                      bool keyframe, int64_t wall)
{
	int rc;

	if (!s->seg && !s->seg_failed && (keyframe || s->d.track == REC_TRACK_OPUS))
		seg_open(s);
	if (!s->seg) {
		s->st.frames_lost += s->seg_failed;
		return;
	}
	rc = rec_seg_write(s->seg, data, len, ts, keyframe);
	if (rc == -EINVAL) {
		s->st.frames_lost++; /* this access unit only: the segment goes on */
		return;
	}
	if (rc) {
		s->st.frames_lost++;
		s->seg_failed = true;
		{
			s->st.write_errors++;
			s->rr->st.alarm_io = true;
			say(s->rr, LOG_ERR, true, "%s: segment of chunk %" PRIu32 " failed: %s",
			    s->d.name, s->chunk, strerror(-rc));
			if (rc == -ENOSPC || rc == -EDQUOT)
				space_failure(s->rr);
		}
		return;
	}
	s->st.frames++;
	span_add(&s->sspan, wall, (uint64_t)ts);
}

/* An RTP packet's place in the segment: depacketize video, pass Opus through. */
static void seg_rtp(struct rec_stream *s, const struct rtp_hdr *h, int64_t wall)
{
	struct h26x_au au[2];
	int n;

	if (!h->payload_len)
		return;
	if (!s->have_ts) {
		s->have_ts = true;
		s->ext_ts = h->ts;
	} else {
		s->ext_ts += (int32_t)(h->ts - s->last_ts);
	}
	s->last_ts = h->ts;
	if (s->d.track == REC_TRACK_OPUS) {
		seg_frame(s, h->payload, h->payload_len, s->ext_ts, true, wall);
		return;
	}
	n = h26x_depkt_push(&s->dk, h->seq, h->ts, h->marker, h->payload, h->payload_len, au);
	for (int i = 0; i < n; i++)
		seg_frame(s, au[i].data, au[i].len, s->ext_ts + (int32_t)(au[i].ts - h->ts),
		          au[i].keyframe, wall);
}

/* Whether this packet starts a new keyframe: where a video chunk may end. */
static bool starts_keyframe(struct rec_stream *s, const struct rtp_hdr *h)
{
	struct h26x_scan sc;

	if ((s->have_ts && h->ts == s->last_ts) || !h->payload_len)
		return false;
	h26x_scan_payload(s->d.track == REC_TRACK_H264 ? H26X_H264 : H26X_H265, h->payload,
	                  h->payload_len, &sc);
	return sc.keyframe || sc.ps[H26X_PS_SPS];
}

/* ---- streams ------------------------------------------------------------------------------- */

void rec_stream_packet(struct rec_stream *s, uint8_t type, uint8_t flags, uint64_t mono_ns,
                       const uint8_t *data, size_t len)
{
	uint64_t seg_ns = (uint64_t)s->rr->c.segment_seconds * NS_PER_S;
	bool video = s->d.track == REC_TRACK_H264 || s->d.track == REC_TRACK_H265;
	bool rtp = type == REC_JNL_T_RTP && !(flags & REC_JNL_F_TO_CAMERA);
	int64_t wall = (int64_t)(mono_ns + (uint64_t)s->rr->wall_off);
	struct rtp_hdr h;
	bool parsed;
	int rc;

	if (!s->on) {
		s->st.ignored++;
		return;
	}
	if (len > REC_JNL_MAX_BODY)
		len = REC_JNL_MAX_BODY;
	/* Parsed once: for the chunk boundary, the journal's RTP times and the segment. A packet
	 * that does not parse is still journaled (it is what arrived). */
	parsed = type == REC_JNL_T_RTP && rtp_parse(data, len, &h) == 0;
	rtp = rtp && parsed;
	if (s->jnl_open && rtp && mono_ns - s->chunk_start_ns >= seg_ns &&
	    (!video || mono_ns - s->chunk_start_ns >= KF_WAIT_FACTOR * seg_ns ||
	     starts_keyframe(s, &h))) {
		chunk_end(s, NULL);
		chunk_begin(s, mono_ns);
	}
	if (!s->jnl_open && mono_ns >= s->reopen_ns)
		chunk_begin(s, mono_ns);
	if (!s->jnl_open) {
		s->st.dropped++;
		s->gap++;
		return;
	}
	if (s->gap) {
		uint8_t body[8];
		for (int i = 0; i < 8; i++)
			body[i] = (uint8_t)(s->gap >> (8 * i));
		if (!journal_record(s, REC_JNL_T_GAP, 0, mono_ns, body, sizeof(body)))
			s->gap = 0;
	}
	rc = s->gap ? -ENOBUFS : journal_record(s, type, flags, mono_ns, data, len);
	if (rc == -ENOBUFS) {
		s->st.dropped++;
		s->gap++;
		return;
	}
	if (rc) {
		s->st.dropped++;
		s->gap++;
		chunk_failed(s, "journal", rc, mono_ns);
		return;
	}
	s->st.packets++;
	s->st.bytes += len;
	if (!rtp)
		return;
	span_add(&s->jspan, wall, h.ts);
	if (s->d.track == REC_TRACK_NONE)
		return;
	seg_rtp(s, &h, wall);
	if (s->seg_failed && s->seg) {
		/* End the failed segment now; the journal goes on, the next chunk brings a new
		 * segment. */
		rec_seg_abort(s->seg);
		s->seg = NULL;
		s->st.seal_failures++;
	}
}

static int recovered_cb(void *arg, const struct rec_recovered *r)
{
	struct rec_stream *s = arg;
	struct rec_entry e = {
	    .kind = REC_KIND_RECOVERED,
	    .file = r->file,
	    .size = r->size,
	    .start_wall_ns = r->start_wall_ns,
	    .end_wall_ns = r->end_wall_ns < r->start_wall_ns ? r->start_wall_ns : r->end_wall_ns,
	    .start_rtp = r->start_rtp,
	    .end_rtp = r->end_rtp,
	    .note = r->note,
	};

	if (!r->size)
		return 0; /* an empty file removed: nothing was recorded in it */
	memcpy(e.sha256, r->sha256, sizeof(e.sha256));
	s->rr->st.recovered_files++;
	say(s->rr, LOG_WARNING, false, "%s: recovered %s (%s)", s->d.name, r->file, r->note);
	return manifest_append(s->rr, s->man, s->d.name, &e);
}

/* The highest chunk number in a stream directory, so that a restart continues after it. */
static uint32_t last_chunk(int dir_fd, const char *name)
{
	int fd = dup(dir_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	size_t nlen = strlen(name);
	uint32_t max = 0;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	rewinddir(d); /* the duplicate shares the offset of dir_fd, which others have read */
	while ((de = readdir(d))) {
		unsigned long n;
		char *end;
		if (strncmp(de->d_name, name, nlen) || de->d_name[nlen] != '-')
			continue;
		n = strtoul(de->d_name + nlen + 1, &end, 10);
		if (end != de->d_name + nlen + 1 && *end == '.' && n > max && n < UINT32_MAX)
			max = (uint32_t)n;
	}
	closedir(d);
	return max;
}

static bool name_ok(const char *name)
{
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *p = name; *p; p++)
		if (*p == '/' || (unsigned char)*p < 0x20)
			return false;
	return true;
}

/* The files a stream's manifest names. */
static json_t *listed_files(int dir_fd)
{
	int fd = openat(dir_fd, MANIFEST, O_RDONLY | O_CLOEXEC);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	json_t *set = json_object();
	char *line = NULL;
	size_t cap = 0;

	if (!f) {
		if (fd >= 0)
			close(fd);
		return set;
	}
	while (set && getline(&line, &cap, f) > 0) {
		json_t *o = json_loads(line, 0, NULL);
		const char *file = json_string_value(json_object_get(o, "file"));
		if (file)
			json_object_set_new(set, file, json_true());
		json_decref(o);
	}
	free(line);
	fclose(f);
	return set;
}

static bool read_file(int dir_fd, const char *name, uint8_t **buf, size_t *len)
{
	int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n = -1;

	*buf = NULL;
	if (fd >= 0 && !fstat(fd, &st) && (*buf = malloc((size_t)st.st_size + 1)))
		n = pread(fd, *buf, (size_t)st.st_size, 0);
	if (fd >= 0)
		close(fd);
	if (n < 0 || (*buf && (size_t)n != (size_t)st.st_size)) {
		free(*buf);
		*buf = NULL;
		return false;
	}
	*len = (size_t)n;
	return true;
}

/* A chunk sealed (renamed) just before a crash whose manifest line never reached the disk:
 * recovery of .part files cannot see it, so compare the directory with the manifest. */
static void recover_unlisted(struct rec_stream *s, const char *skip)
{
	json_t *listed = listed_files(s->dir_fd);
	size_t nlen = strlen(s->d.name);
	int fd = dup(s->dir_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d || !listed) {
		if (d)
			closedir(d);
		else if (fd >= 0)
			close(fd);
		json_decref(listed);
		return;
	}
	/* journals first: a segment takes its times from its chunk's journal */
	for (int pass = 0; pass < 2; pass++) {
		rewinddir(d);
		while ((de = readdir(d))) {
			const char *name = de->d_name, *ext = strrchr(name, '.');
			struct rec_recovered r = {0};
			char jname[300], hex[REC_HASH_HEX_LEN + 1], err[256], path[PATH_MAX + 300];
			uint8_t *buf;
			size_t len;

			if (strncmp(name, s->d.name, nlen) || name[nlen] != '-' || !ext ||
			    strcmp(ext, pass ? ".ts" : ".jnl") || json_object_get(listed, name) ||
			    (skip && !strcmp(skip, name)) || strlen(name) >= sizeof(r.file))
				continue;
			snprintf(path, sizeof(path), "%s/%s/%s", s->rr->c.dir, s->d.name, name);
			if (rec_file_sha256(path, hex, &r.size, err, sizeof(err)) || !r.size)
				continue;
			snprintf(r.file, sizeof(r.file), "%s", name);
			memcpy(r.sha256, hex, sizeof(r.sha256));
			r.journal = !pass;
			snprintf(jname, sizeof(jname), "%.*s.jnl", (int)(ext - name), name);
			if (read_file(s->dir_fd, jname, &buf, &len)) {
				rec_journal_times(buf, len, &r.start_wall_ns, &r.end_wall_ns,
				                  &r.start_rtp, &r.end_rtp);
				free(buf);
			}
			snprintf(
			    r.note, sizeof(r.note),
			    "sealed whole; its manifest line was lost (a crash, or the manifest "
			    "could not be written)");
			recovered_cb(s, &r);
		}
	}
	closedir(d);
	json_decref(listed);
}

/* Open a stream's directory and manifest and recover what a previous run left there. */
static int stream_attach(struct rec_recorder *rr, struct rec_stream *s, char *err, size_t errlen)
{
	char path[PATH_MAX + 160], rerr[256];
	int rc;

	if (mkdirat(rr->dir_fd, s->d.name, 0750) && errno != EEXIST)
		return rec_errf(-errno, err, errlen, "%s/%s: %s", rr->c.dir, s->d.name,
		                strerror(errno));
	s->dir_fd = openat(rr->dir_fd, s->d.name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dir_fd < 0)
		return rec_errf(-errno, err, errlen, "%s/%s: %s", rr->c.dir, s->d.name,
		                strerror(errno));
	snprintf(path, sizeof(path), "%s/%s/%s", rr->c.dir, s->d.name, MANIFEST);
	rc = rec_manifest_open(path, rr->key, REC_MANIFEST_CUT_TORN, &s->man, err, errlen);
	if (rc)
		return rc;
	rc = rec_recover_dir(s->dir_fd, recovered_cb, s, rerr, sizeof(rerr));
	if (rc < 0)
		say(rr, LOG_ERR, true, "%s: recovery: %s", s->d.name, rerr);
	recover_unlisted(s, NULL);
	s->chunk = last_chunk(s->dir_fd, s->d.name);
	return 0;
}

static void stream_free(struct rec_stream *s)
{
	if (s->man)
		rec_manifest_close(s->man);
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	free(s->dk_mem);
	free(s);
}

int rec_stream_open(struct rec_recorder *rr, const struct rec_stream_desc *d,
                    struct rec_stream **out, char *err, size_t errlen)
{
	struct rec_stream *s;
	int rc;

	if (!name_ok(d->name))
		return rec_errf(-EINVAL, err, errlen, "stream name \"%s\" cannot be a directory",
		                d->name);
	if (stream_find(rr, d->name))
		return rec_errf(-EEXIST, err, errlen, "%s is already recorded", d->name);
	if (rr->n_streams >= rr->c.max_streams)
		return rec_errf(-ENOSPC, err, errlen, "%u streams are recorded already",
		                rr->n_streams);
	s = calloc(1, sizeof(*s));
	if (!s)
		return rec_errf(-ENOMEM, err, errlen, "out of memory");
	s->rr = rr;
	s->d = *d;
	s->dir_fd = -1;
	if (d->track == REC_TRACK_H264 || d->track == REC_TRACK_H265) {
		s->dk_mem = malloc(H26X_DEPKT_MEM(AU_MAX));
		if (!s->dk_mem ||
		    h26x_depkt_init(&s->dk, d->track == REC_TRACK_H264 ? H26X_H264 : H26X_H265,
		                    H26X_DEPKT_WAIT_KEYFRAME | H26X_DEPKT_INSERT_PARAMS, s->dk_mem,
		                    H26X_DEPKT_MEM(AU_MAX))) {
			stream_free(s);
			return rec_errf(-ENOMEM, err, errlen, "out of memory");
		}
	}
	rc = stream_attach(rr, s, err, errlen);
	if (rc) {
		stream_free(s);
		return rc;
	}
	s->next = rr->streams;
	rr->streams = s;
	rr->n_streams++;
	*out = s;
	return 0;
}

void rec_stream_start(struct rec_stream *s)
{
	if (s->on)
		return;
	s->on = true;
	s->started_mark = true;
	s->reopen_ns = 0;
	s->have_ts = false;
	s->seg_failed = false;
}

void rec_stream_stop(struct rec_stream *s)
{
	if (!s->on)
		return;
	chunk_end(s, "recording stopped");
	s->on = false;
}

bool rec_stream_on(const struct rec_stream *s)
{
	return s->on;
}

void rec_stream_close(struct rec_stream *s)
{
	struct rec_recorder *rr = s->rr;

	rec_stream_stop(s);
	for (struct rec_stream **pp = &rr->streams; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	rr->n_streams--;
	stream_free(s);
}

const struct rec_stream_stats *rec_stream_stats(const struct rec_stream *s)
{
	return &s->st;
}

uint32_t rec_stream_chunk(const struct rec_stream *s)
{
	return s->chunk;
}

uint64_t rec_stream_manifest_seq(const struct rec_stream *s)
{
	return s->man ? rec_manifest_next_seq(s->man) : 0;
}

/* ---- the recorder ------------------------------------------------------------------------- */

static int key_setup(struct rec_recorder *rr, char *err, size_t errlen)
{
	char path[PATH_MAX + 16], pub[PATH_MAX + 16];
	int rc;

	if (rr->c.key[0])
		snprintf(path, sizeof(path), "%s", rr->c.key);
	else
		snprintf(path, sizeof(path), "%s/key.pem", rr->c.dir);
	rc = rec_key_load_pem(path, &rr->key, err, errlen);
	if (rc == -ENOENT) {
		rc = rec_key_generate(rr->c.alg, path, &rr->key, err, errlen);
		if (!rc)
			say(rr, LOG_NOTICE, false, "created signing key %s (%s, key id %s)", path,
			    rec_alg_name(rr->c.alg), rec_key_id(rr->key));
	}
	if (rc)
		return rc;
	snprintf(pub, sizeof(pub), "%s/key.pub.pem", rr->c.dir);
	rc = rec_key_write_public_pem(rr->key, pub, err, errlen);
	return rc;
}

/* Every stream directory left from before: recover its unfinished files, learn its sealed
 * ones for retention. */
static void recover_all(struct rec_recorder *rr)
{
	int fd = dup(rr->dir_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		struct rec_stream *s;
		char err[256];
		int sfd;

		if (de->d_name[0] == '.' || de->d_type != DT_DIR || !name_ok(de->d_name) ||
		    strlen(de->d_name) >= sizeof(s->d.name))
			continue;
		sfd = openat(rr->dir_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sfd < 0)
			continue;
		s = calloc(1, sizeof(*s));
		if (s) {
			s->rr = rr;
			s->dir_fd = -1;
			snprintf(s->d.name, sizeof(s->d.name), "%s", de->d_name);
			if (stream_attach(rr, s, err, sizeof(err)))
				say(rr, LOG_ERR, true, "%s: %s", de->d_name, err);
			stream_free(s);
		}
		sealed_load(rr, de->d_name, sfd);
		close(sfd);
	}
	closedir(d);
}

int rec_recorder_new(const struct rec_config *c, struct rec_recorder **out, char *err,
                     size_t errlen)
{
	struct rec_recorder *rr = calloc(1, sizeof(*rr));
	int rc;

	if (!rr)
		return rec_errf(-ENOMEM, err, errlen, "out of memory");
	rr->c = *c;
	rr->dir_fd = -1;
	if (!c->segment_seconds || !c->fsync_ms || !c->buffers || !c->buffer_kb ||
	    c->buffer_kb % 4) {
		rc = rec_errf(-EINVAL, err, errlen, "bad recorder settings");
		goto fail;
	}
	if (mkdir(c->dir, 0750) && errno != EEXIST) {
		rc = rec_errf(-errno, err, errlen, "%s: %s", c->dir, strerror(errno));
		goto fail;
	}
	rr->dir_fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rr->dir_fd < 0) {
		rc = rec_errf(-errno, err, errlen, "%s: %s", c->dir, strerror(errno));
		goto fail;
	}
	rr->wall_off = (int64_t)(clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC));
	rc = key_setup(rr, err, errlen);
	if (rc)
		goto fail;
	rc = rec_uring_init(&rr->u, c->buffers, c->buffer_kb * 1024u,
	                    c->max_streams * 2 + 8 < 4096 ? c->max_streams * 2 + 8 : 4096);
	if (rc) {
		rec_errf(rc, err, errlen, "io_uring: %s", strerror(-rc));
		goto fail;
	}
	rr->uring_up = true;
	recover_all(rr);
	disk_check(rr);
	*out = rr;
	return 0;
fail:
	rec_recorder_free(rr);
	return rc;
}

void rec_recorder_free(struct rec_recorder *rr)
{
	if (!rr)
		return;
	while (rr->streams)
		rec_stream_close(rr->streams);
	if (rr->uring_up)
		rec_uring_exit(&rr->u);
	rec_key_free(rr->key);
	if (rr->dir_fd >= 0)
		close(rr->dir_fd);
	free(rr->sealed);
	free(rr);
}

static void sync_all(struct rec_recorder *rr, uint64_t now_ns)
{
	for (struct rec_stream *s = rr->streams; s; s = s->next) {
		int rc = 0;
		if (!s->dirty)
			continue;
		if (s->jnl_open)
			rc = rec_out_sync(&s->jnl);
		if (rc && rc != -EBUSY) {
			chunk_failed(s, "journal", rc, now_ns);
			continue;
		}
		if (s->seg && (rc = rec_seg_sync(s->seg)) && rc != -EBUSY) {
			s->seg_failed = true;
			seg_close(s, true);
		}
		s->dirty = rc == -EBUSY;
	}
}

static void reopen_manifests(struct rec_recorder *rr)
{
	for (struct rec_stream *s = rr->streams; s; s = s->next)
		if (!s->man)
			stream_manifest(s, NULL);
}

bool rec_recorder_tick(struct rec_recorder *rr, uint64_t now_ns)
{
	rec_uring_poll(&rr->u);
	if (now_ns >= rr->next_sync_ns) {
		rr->next_sync_ns = now_ns + (uint64_t)rr->c.fsync_ms * 1000000u;
		sync_all(rr, now_ns);
		rec_uring_poll(&rr->u);
	}
	if (now_ns >= rr->next_disk_ns) {
		rr->next_disk_ns = now_ns + DISK_CHECK_NS;
		rr->wall_off = (int64_t)(clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC));
		retention_space(rr, 0);
		reopen_manifests(rr);
	}
	if (now_ns >= rr->next_age_ns) {
		rr->next_age_ns = now_ns + AGE_CHECK_NS;
		retention_age(rr);
	}
	rr->st.bytes_written = rr->u.st.bytes_written;
	rr->st.writes = rr->u.st.writes;
	rr->st.syncs = rr->u.st.syncs;
	rr->st.io_errors = rr->u.st.errors;
	rr->st.bufs_exhausted = rr->u.st.bufs_exhausted;
	_Static_assert(REC_SYNC_HISTO == REC_SYNC_BUCKETS + 1, "sync latency buckets");
	memcpy(rr->st.sync_us_count, rr->u.st.sync_us_count, sizeof(rr->st.sync_us_count));
	rr->st.sync_us_sum = rr->u.st.sync_us_sum;
	/* On while the disk is at its limit: below the reserve, or files retired or a write
	 * refused for space in the last minute. */
	rr->st.alarm_disk =
	    rr->low_space || (rr->space_fail_ns && now_ns - rr->space_fail_ns < 60 * NS_PER_S);
	return rr->u.nbufs_free != rr->u.nbufs;
}

void rec_recorder_tune(struct rec_recorder *rr, const struct rec_config *c)
{
	if (c->segment_seconds)
		rr->c.segment_seconds = c->segment_seconds;
	if (c->fsync_ms)
		rr->c.fsync_ms = c->fsync_ms;
	rr->c.reserve_bytes = c->reserve_bytes;
	rr->c.retention_bytes = c->retention_bytes;
	rr->c.retention_age_s = c->retention_age_s;
	rr->next_sync_ns = 0;
	rr->next_disk_ns = 0;
	rr->next_age_ns = 0;
}

const struct rec_stats *rec_recorder_stats(const struct rec_recorder *rr)
{
	return &rr->st;
}

const char *rec_recorder_key_id(const struct rec_recorder *rr)
{
	return rec_key_id(rr->key);
}

const char *rec_recorder_dir(const struct rec_recorder *rr)
{
	return rr->c.dir;
}
