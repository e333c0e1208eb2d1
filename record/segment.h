/* Playable MPEG-TS segments: whole access units muxed by libavformat's mpegts muxer, its bytes
 * sent through a custom AVIOContext into a rec_out (io_uring writer, SHA-256). One segment is one
 * file. */
#ifndef CAAS_RECORD_SEGMENT_H
#define CAAS_RECORD_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record/uring.h"

/*
 * What a segment holds. One elementary stream (PID 0x100) in one program; the file starts with
 * SDT, PAT and PMT, which the muxer repeats every 100 ms of PCR and before each video keyframe.
 * The caller must start a segment at a video keyframe that carries its parameter sets in band
 * (SPS/PPS, or VPS/SPS/PPS): every prefix of the file is then playable, which is what a crash
 * leaves of a .part. A first access unit that is not a keyframe is accepted, but frames up to
 * the first keyframe will not decode.
 *
 * Timestamps. Video PTS start at a lead of 12 frames (of 30 fps): pts_out = (pts - first pts),
 * rescaled from clock_rate to the 90 kHz MPEG-TS clock, + 36000; Opus PTS start at 0. The
 * recorder keeps the mapping to RTP and wall time (the manifest entry's start times); 33-bit TS
 * timestamps wrap after 26.5 hours, far beyond a segment. Video may carry B-frames (access units
 * in decode order, PTS not monotonic, as x264's defaults send): the muxer makes each DTS from
 * the PTS seen so far (libavformat's rule for a video_delay of 4), right for any reorder depth
 * up to 4 frames; the first DTS are 0..3 frames, below every PTS, and frames shown up to 8
 * frames before the first keyframe (open GOPs) still fit. A PTS that repeats one of the last 16,
 * or lies more than 8 frames before the first, is refused (-EINVAL, nothing written, the segment goes on; the journal still holds
 * every packet). Opus PTS must increase.
 *
 * The muxer holds nothing back: max_delay 0 (PCR = DTS, no T-STD headroom; players of files do
 * not need it) and every packet flushed to the file's staging buffers at once, so
 * rec_seg_bytes() grows with each rec_seg_write(), except that an Opus packet waits in the muxer
 * until the next one, rec_seg_sync() or rec_seg_close() completes its PES.
 *
 * Nothing here blocks but rec_seg_close() and rec_seg_abort() (they wait for the file's I/O).
 * libav* logs nothing in normal operation at its default level; the global log level and
 * callback are the program's to set.
 */

enum rec_seg_codec { REC_SEG_H264, REC_SEG_H265, REC_SEG_OPUS };

struct rec_seg_params {
	enum rec_seg_codec codec;
	uint32_t clock_rate; /* the RTP clock of the timestamps given to rec_seg_write (90000 for
	                        video, 48000 for Opus) */
	int channels;        /* audio only: 1 or 2 (RTP Opus, channel mapping family 0) */
};

struct rec_seg;

/* Create name.part in dir_fd (see rec_out_open()) and set up the muxer. Returns 0 and *out, or
 * -EINVAL (bad params), -ENOMEM, or the file's errno; err says why. */
int rec_seg_open(struct rec_uring *u, int dir_fd, const char *name, const struct rec_seg_params *p,
                 struct rec_seg **out, char *err, size_t errlen);

/*
 * Mux one access unit: video, Annex-B starting with a start code, parameter sets in band
 * before keyframes; Opus, one Opus packet. pts is in clock_rate units, a 64-bit extended RTP
 * timestamp, >= 0 and increasing within the segment (the first may be any value). Returns:
 *   0        muxed; its bytes are in the file's staging buffers (Opus: see above)
 *   -EINVAL  bad input (empty, no start code, pts not after the previous one...): nothing was
 *            written, the segment is as before
 *   -ENOBUFS staging buffers momentarily exhausted: part of the access unit may be missing, so
 *            the segment is now failed (what is in it is still a playable prefix) and every later
 *            call returns -ENOBUFS; close it and start a new segment at a keyframe
 *   or a file error (-ENOSPC...) or -ENOMEM, which also fail the segment
 */
int rec_seg_write(struct rec_seg *s, const uint8_t *data, size_t len, int64_t pts, bool keyframe);

/* Complete what the muxer holds (a queued Opus PES), push what the AVIOContext buffers and
 * rec_out_sync(), so that an fdatasync covers everything written so far (but an O_DIRECT tail,
 * see out.h). Called every fsync_ms. Returns 0, -EBUSY (sync not queued, nothing lost; try
 * again), or the segment's error. */
int rec_seg_sync(struct rec_seg *s);

/* Write the trailer, flush and seal (see rec_out_seal(); blocks). Returns 0 with the SHA-256
 * (64 hex digits and a NUL) and size of the sealed file, or the segment's error: then name.part
 * stays for recovery, sha256_hex is "" and *size 0. Frees s. */
int rec_seg_close(struct rec_seg *s, char sha256_hex[65], uint64_t *size);

/* Abandon the segment: what was written stays in name.part, for recovery. Waits for the file's
 * I/O. Frees s; NULL is a no-op. */
void rec_seg_abort(struct rec_seg *s);

/* Access units muxed, and bytes handed to the file. */
uint64_t rec_seg_frames(const struct rec_seg *s);
uint64_t rec_seg_bytes(const struct rec_seg *s);

#endif
