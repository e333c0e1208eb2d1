/* The recorder: per-stream journal chunks and MPEG-TS segments, sealed into a signed manifest,
 * with periodic durability, failure handling, retention and recovery. One recorder per recorder
 * thread; nothing here is thread-safe, and only chunk seals, manifest appends, retention and
 * rec_stream_open() block (on the recorder thread, never on the dataplane). */
#ifndef CAAS_RECORD_RECORDER_H
#define CAAS_RECORD_RECORDER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record/manifest.h"

/*
 * Layout under dir, one directory per stream:
 *
 *     DIR/key.pem                    the signing key (created 0600 at first start if absent)
 *     DIR/key.pub.pem                its public half, for `caasctl record verify --key`
 *     DIR/STREAM/manifest.jsonl      the evidence manifest (manifest.h)
 *     DIR/STREAM/STREAM-NNNNNN.jnl   journal chunk N (journal.h): every packet, lossless
 *     DIR/STREAM/STREAM-NNNNNN.ts    MPEG-TS segment N: the same interval, playable
 *
 * A chunk is named NAME.part until it is sealed. A new chunk starts at the first keyframe
 * after segment_seconds (video), or after segment_seconds (audio and journal-only codecs), or
 * after a failure. Each sealed file gets a manifest line (journal, then segment).
 */

#define REC_SYNC_HISTO 13 /* REC_SYNC_BUCKETS + 1 */

struct rec_config {
	char dir[PATH_MAX];
	uint32_t segment_seconds;
	uint32_t fsync_ms;
	char key[PATH_MAX]; /* "" = DIR/key.pem */
	enum rec_alg alg;
	uint64_t retention_bytes; /* recorded bytes kept across streams; 0 = no limit */
	uint64_t retention_age_s; /* sealed files older than this are retired; 0 = keep */
	uint64_t reserve_bytes;   /* below this much free space: alarm and retire the oldest */
	uint32_t buffers;         /* staging buffers */
	uint32_t buffer_kb;       /* their size, a multiple of 4 */
	uint32_t max_streams;
};

void rec_config_defaults(struct rec_config *c);

/* What the segments carry. */
enum rec_track { REC_TRACK_NONE, REC_TRACK_H264, REC_TRACK_H265, REC_TRACK_OPUS };

struct rec_stream_desc {
	char name[64];
	char codec[16]; /* as written in the journal header */
	enum rec_track track;
	uint8_t pt;
	uint8_t media; /* REC_JNL_MEDIA_* */
	uint8_t channels;
	uint32_t clock_rate;
};

struct rec_stream_stats {
	uint64_t packets, bytes; /* journal records written */
	uint64_t dropped;        /* packets not journaled (no staging buffer, no file) */
	uint64_t ignored;        /* arrived while recording was off */
	uint64_t chunks;         /* chunks sealed */
	uint64_t seal_failures;  /* files that could not be sealed (left as .part) */
	uint64_t write_errors;   /* chunks ended by a write error */
	uint64_t frames;         /* access units in segments */
	uint64_t frames_lost;    /* access units the segments could not take */
	uint64_t sealed_bytes;
};

struct rec_stats {
	uint64_t bytes_written, writes, syncs, io_errors, bufs_exhausted;
	uint64_t seals, seal_ns_total, seal_ns_max;
	uint64_t retired_files, retired_bytes;
	uint64_t recovered_files;
	uint64_t manifest_errors;
	uint64_t disk_free, disk_total;
	uint64_t stored_bytes; /* sealed bytes under dir that retention counts */
	uint64_t disk_alarms;  /* times free space fell below the reserve or a write hit ENOSPC */
	/* fdatasync latency: counts per bucket of rec_sync_bucket_us (uring.h), the last above
	 * them all, and the sum in microseconds */
	uint64_t sync_us_count[REC_SYNC_HISTO];
	uint64_t sync_us_sum;
	bool alarm_disk;       /* below the reserve, or space made or refused in the last minute */
	bool alarm_io;         /* a write, seal or manifest append failed */
	char last_error[200];
};

struct rec_recorder;
struct rec_stream;

/*
 * Make dir, load the key (creating it when absent), set up the io_uring writer, and recover
 * every stream directory under dir (torn tails cut, "recovered" manifest lines). Errors in
 * err, with a negative errno.
 */
int rec_recorder_new(const struct rec_config *c, struct rec_recorder **out, char *err,
                     size_t errlen);
/* Seal every open chunk and free everything. */
void rec_recorder_free(struct rec_recorder *rr);

/* Submit, reap, sync what is due, check the disk and apply retention when due. now_ns is
 * CLOCK_MONOTONIC. Returns whether I/O is still in flight. */
bool rec_recorder_tick(struct rec_recorder *rr, uint64_t now_ns);
const struct rec_stats *rec_recorder_stats(const struct rec_recorder *rr);
/* Apply what may change at run time: segment_seconds, fsync_ms, reserve_bytes,
 * retention_bytes, retention_age_s (the rest needs a restart). Takes effect at the next chunk
 * or tick. */
void rec_recorder_tune(struct rec_recorder *rr, const struct rec_config *c);
const char *rec_recorder_key_id(const struct rec_recorder *rr);
const char *rec_recorder_dir(const struct rec_recorder *rr);

/* Create DIR/NAME (recovering what a previous run left), open its manifest. The stream is off
 * until rec_stream_start(). */
int rec_stream_open(struct rec_recorder *rr, const struct rec_stream_desc *d,
                    struct rec_stream **out, char *err, size_t errlen);
/* Seal and free. */
void rec_stream_close(struct rec_stream *s);
void rec_stream_start(struct rec_stream *s);
/* Seal the open chunk; later packets are ignored until started again. */
void rec_stream_stop(struct rec_stream *s);
bool rec_stream_on(const struct rec_stream *s);

/* One packet as received (or sent, with REC_JNL_F_TO_CAMERA). type is REC_JNL_T_RTP or
 * REC_JNL_T_RTCP; mono_ns is its CLOCK_MONOTONIC arrival time. */
void rec_stream_packet(struct rec_stream *s, uint8_t type, uint8_t flags, uint64_t mono_ns,
                       const uint8_t *data, size_t len);

const struct rec_stream_stats *rec_stream_stats(const struct rec_stream *s);
/* Number of the chunk being written (0 before the first). */
uint32_t rec_stream_chunk(const struct rec_stream *s);
uint64_t rec_stream_manifest_seq(const struct rec_stream *s);

#endif
