/* Recording in caasd (see dp_record.h): the dataplane queues mbuf references in batches and
 * never waits; the recorder thread takes them off the ring, hands the bytes to the recorder
 * and frees the references; control operations travel the same ring, so they are ordered
 * with the packets. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dp_record.h"
#include "record/journal.h"

#define DEQ_BURST 256
/* Unless the ring gave a whole burst, sleep 1 ms: packets gather in the ring (a 64k-entry ring
 * holds 0.65 s of 100k packets/s) and are taken in batches, with a thousand wake-ups a second
 * rather than one per packet; I/O completions wait as long. */
#define NAP_NS       1000000
#define CALL_WAIT_MS 30000 /* opening may recover a previous run's files */

struct dp_recorder {
	struct rec_recorder *rr;
	struct rte_ring *ring;
	pthread_t thread;
	bool running;
	atomic_bool quit;
	uint64_t loops;
};

/* ---- the dataplane's side ------------------------------------------------------------------ */

void dp_rec_flush(struct dp_ctx *dp)
{
	unsigned n = dp->n_rec, done;

	if (!n)
		return;
	dp->n_rec = 0;
	done = rte_ring_enqueue_burst_elem(dp->rec_ring, dp->rec_batch, sizeof(dp->rec_batch[0]), n,
	                                   NULL);
	dp->stats.rec_queued += done;
	/* Full: a counted drop per packet, and the references go back. The recorder notes the
	 * gap in the journal from the stream's sequence numbers. */
	for (unsigned i = done; i < n; i++) {
		struct dp_rec_item *it = &dp->rec_batch[i];
		dp->stats.drop_rec_full++;
		it->h->ring_drops++;
		rte_pktmbuf_free(it->m);
	}
}

void dp_rec_queue(struct dp_ctx *dp, struct dp_dev *dev, struct rte_mbuf *m, uint32_t off,
                  uint32_t len, uint8_t type, uint8_t flags)
{
	struct dp_rec_item *it;

	if (dp->n_rec == DP_REC_BATCH)
		dp_rec_flush(dp);
	it = &dp->rec_batch[dp->n_rec++];
	rte_mbuf_refcnt_update(m, 1);
	it->m = m;
	it->h = dev->rec;
	it->t_ns = dp->now_ns;
	it->off = m->data_off + off;
	it->len = (uint16_t)len;
	it->type = type;
	it->flags = flags;
}

/* ---- the recorder thread ------------------------------------------------------------------- */

static void apply_op(struct dp_recorder *r, struct dp_rec_item *it)
{
	struct dp_rec_handle *h = it->h;
	struct dp_rec_call *call = it->call;
	int rc = 0;

	call->err[0] = '\0';
	switch (it->type) {
	case DP_REC_OP_OPEN:
		if (!h->rs)
			rc = rec_stream_open(r->rr, &h->desc, &h->rs, call->err, sizeof(call->err));
		break;
	case DP_REC_OP_START:
		if (h->rs)
			rec_stream_start(h->rs);
		else
			rc = -EBADF;
		break;
	case DP_REC_OP_STOP:
		if (h->rs)
			rec_stream_stop(h->rs);
		break;
	case DP_REC_OP_TUNE:
		rec_recorder_tune(r->rr, call->tune);
		break;
	case DP_REC_OP_CLOSE:
		if (h->rs)
			rec_stream_close(h->rs);
		free(h);
		break;
	default:
		rc = -EINVAL;
	}
	if (rc == -EBADF)
		snprintf(call->err, sizeof(call->err), "the recording is not open");
	call->rc = rc;
	atomic_store_explicit(&call->done, true, memory_order_release);
}

static unsigned drain(struct dp_recorder *r)
{
	struct dp_rec_item items[DEQ_BURST];
	unsigned n = rte_ring_dequeue_burst_elem(r->ring, items, sizeof(items[0]), DEQ_BURST, NULL);

	for (unsigned i = 0; i < n; i++) {
		struct dp_rec_item *it = &items[i];
		if (!it->m) {
			apply_op(r, it);
			continue;
		}
		if (it->h->rs)
			rec_stream_packet(it->h->rs, it->type, it->flags, it->t_ns,
			                  (const uint8_t *)it->m->buf_addr + it->off, it->len);
		else
			it->h->closed_drops++;
		rte_pktmbuf_free(it->m);
	}
	return n;
}

static void *recorder_main(void *arg)
{
	struct dp_recorder *r = arg;
	struct timespec nap = {.tv_nsec = NAP_NS};

	while (!atomic_load_explicit(&r->quit, memory_order_acquire)) {
		unsigned n = drain(r);
		rec_recorder_tick(r->rr, dp_mono_ns());
		r->loops++;
		if (n < DEQ_BURST)
			nanosleep(&nap, NULL);
	}
	while (drain(r))
		;
	rec_recorder_free(r->rr); /* seals every open chunk */
	r->rr = NULL;
	return NULL;
}

/* ---- the control thread's side ------------------------------------------------------------- */

int dp_recorder_start(struct dp_recorder **out, const struct caas_config *cfg, struct dp_ctx *dp,
                      char *err, size_t errlen)
{
	struct dp_recorder *r = calloc(1, sizeof(*r));
	int rc;

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = rec_recorder_new(&cfg->rec, &r->rr, err, errlen);
	if (rc)
		goto fail;
	r->ring = rte_ring_create_elem("caas_rec", sizeof(struct dp_rec_item), cfg->record_ring,
	                               (int)rte_socket_id(), RING_F_SC_DEQ);
	if (!r->ring) {
		rc = -rte_errno;
		snprintf(err, errlen, "recorder ring of %u entries: %s", cfg->record_ring,
		         rte_strerror(rte_errno));
		goto fail;
	}
	rc = -pthread_create(&r->thread, NULL, recorder_main, r);
	if (rc) {
		snprintf(err, errlen, "recorder thread: %s", strerror(-rc));
		goto fail;
	}
	pthread_setname_np(r->thread, "caas-rec");
	r->running = true;
	dp->rec_ring = r->ring;
	*out = r;
	return 0;
fail:
	rte_ring_free(r->ring);
	rec_recorder_free(r->rr);
	free(r);
	return rc;
}

void dp_recorder_stop(struct dp_recorder *r)
{
	if (!r)
		return;
	if (r->running) {
		atomic_store_explicit(&r->quit, true, memory_order_release);
		pthread_join(r->thread, NULL);
	}
	rte_ring_free(r->ring);
	free(r);
}

struct dp_rec_handle *dp_rec_handle_new(const struct dp_dev *dev)
{
	struct dp_rec_handle *h = calloc(1, sizeof(*h));
	struct rec_stream_desc *d;

	if (!h)
		return NULL;
	d = &h->desc;
	snprintf(d->name, sizeof(d->name), "%s", dev->name);
	snprintf(d->codec, sizeof(d->codec), "%s", dp_codec_name(dev->codec));
	d->pt = dev->pt;
	d->clock_rate = dev->clock;
	switch (dev->codec) {
	case DP_H264:
		d->track = REC_TRACK_H264;
		d->media = REC_JNL_MEDIA_VIDEO;
		break;
	case DP_H265:
		d->track = REC_TRACK_H265;
		d->media = REC_JNL_MEDIA_VIDEO;
		break;
	case DP_OPUS:
		d->track = REC_TRACK_OPUS;
		d->media = REC_JNL_MEDIA_AUDIO;
		d->channels = 2; /* RFC 7587: always opus/48000/2 */
		break;
	default: /* journal only */
		d->track = REC_TRACK_NONE;
		d->media = REC_JNL_MEDIA_AUDIO;
		d->channels = 1;
		break;
	}
	return h;
}

static int rec_call(struct dp_recorder *r, struct dp_rec_handle *h, enum dp_rec_op op,
                    const struct rec_config *tune, char *err, size_t errlen);

int dp_rec_call(struct dp_recorder *r, struct dp_rec_handle *h, enum dp_rec_op op, char *err,
                size_t errlen)
{
	return rec_call(r, h, op, NULL, err, errlen);
}

int dp_recorder_tune(struct dp_recorder *r, const struct rec_config *c, char *err, size_t errlen)
{
	return rec_call(r, NULL, DP_REC_OP_TUNE, c, err, errlen);
}

static int rec_call(struct dp_recorder *r, struct dp_rec_handle *h, enum dp_rec_op op,
                    const struct rec_config *tune, char *err, size_t errlen)
{
	struct dp_rec_call *call = calloc(1, sizeof(*call));
	struct dp_rec_item it = {.h = h, .type = (uint8_t)op};
	int rc;

	if (!call) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	it.call = call;
	call->tune = tune;
	rc = dp_ring_call(r->ring, &it, sizeof(it), &call->done, CALL_WAIT_MS, "the recorder", err,
	                  errlen);
	if (rc == -ETIMEDOUT)
		return rc; /* the recorder still owns the call: leave it (a few bytes) */
	if (rc) {
		free(call);
		return rc;
	}
	rc = call->rc;
	if (rc)
		snprintf(err, errlen, "%s", call->err[0] ? call->err : strerror(-rc));
	free(call);
	return rc;
}

const struct rec_stats *dp_recorder_stats(const struct dp_recorder *r)
{
	return rec_recorder_stats(r->rr);
}

const char *dp_recorder_dir(const struct dp_recorder *r)
{
	return rec_recorder_dir(r->rr);
}

const char *dp_recorder_key_id(const struct dp_recorder *r)
{
	return rec_recorder_key_id(r->rr);
}

uint64_t dp_recorder_loops(const struct dp_recorder *r)
{
	return r->loops;
}
