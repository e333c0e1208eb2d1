/* Recording in caasd: the recorder thread (record/recorder.h does the writing) fed by the
 * dataplane over an rte_ring of mbuf references, and the control thread's calls to it. */
#ifndef CAAS_DP_RECORD_H
#define CAAS_DP_RECORD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "dp.h"
#include "record/recorder.h"

enum dp_rec_op {
	DP_REC_OP_OPEN = 100, /* above every REC_JNL_T_* */
	DP_REC_OP_START,
	DP_REC_OP_STOP,
	DP_REC_OP_CLOSE, /* also frees the handle */
	DP_REC_OP_TUNE,  /* apply the call's tune settings; no handle */
};

/* A device's recording, as the control thread holds it. rs belongs to the recorder thread;
 * the control thread only reads its counters. */
struct dp_rec_handle {
	struct rec_stream_desc desc;
	struct rec_stream *rs; /* NULL until opened, or when opening failed */
	uint64_t closed_drops; /* recorder's: packets for a stream that could not be opened */
	uint64_t ring_drops;   /* dataplane's: packets the full ring refused */
};

/* A control operation's answer. */
struct dp_rec_call {
	const struct rec_config *tune; /* DP_REC_OP_TUNE */
	atomic_bool done;
	int rc;
	char err[256];
};

struct dp_recorder;

/*
 * Set up the recorder (recovering what a previous run left under [record] dir), create the
 * ring the dataplane queues to (dp->rec_ring) and start the thread. Call before the dataplane
 * runs. err says what failed.
 */
int dp_recorder_start(struct dp_recorder **out, const struct caas_config *cfg, struct dp_ctx *dp,
                      char *err, size_t errlen);
/* After the dataplane has stopped: record what is still queued, seal everything, stop. */
void dp_recorder_stop(struct dp_recorder *r);

/* A handle describing dev's stream (NULL on no memory). */
struct dp_rec_handle *dp_rec_handle_new(const struct dp_dev *dev);
/* Run op on the recorder thread and wait for its answer (bounded). 0 or a negative errno with
 * err filled. After DP_REC_OP_CLOSE the handle is gone. */
int dp_rec_call(struct dp_recorder *r, struct dp_rec_handle *h, enum dp_rec_op op, char *err,
                size_t errlen);

/* Apply the run-time settings of c (rec_recorder_tune) on the recorder thread; waits. */
int dp_recorder_tune(struct dp_recorder *r, const struct rec_config *c, char *err, size_t errlen);

const struct rec_stats *dp_recorder_stats(const struct dp_recorder *r);
const char *dp_recorder_dir(const struct dp_recorder *r);
const char *dp_recorder_key_id(const struct dp_recorder *r);
uint64_t dp_recorder_loops(const struct dp_recorder *r);

#endif
