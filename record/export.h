/* Export of a time range of a stream's recording, for `caasctl record export`: the journal
 * as a pcap, the segments as one MP4, and the time syntax of --from/--to. */
#ifndef CAAS_RECORD_EXPORT_H
#define CAAS_RECORD_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "record/journal.h"

/*
 * dir is the stream directory (DIR/STREAM), stream the stream's name (the files are
 * STREAM-NNNNNN.jnl and STREAM-NNNNNN.ts, the number having at least 6 digits). Times are ns
 * since the Unix epoch (CLOCK_REALTIME); the range [from_ns, to_ns] is inclusive at both ends.
 * The output is written to a new file next to out_path (out_path.tmp-PID-N, mode 0666 less the
 * umask), fsynced and renamed over out_path, then the directory is fsynced: out_path is either
 * the old file or the whole new one, never a part. On failure the temporary file is removed and
 * out_path left as it was. Blocking I/O, global libav state untouched (logging included).
 */

/*
 * pcap (LINKTYPE_RAW, see journal.h) of every RTP and RTCP record whose arrival time is in
 * [from_ns, to_ns], over the sealed journal chunks (.part files, and .recovered-N copies, are
 * not read) in chunk order, each through rec_jnl_export_pcap(); ends gives the synthetic
 * addresses. A chunk's torn tail ends its part quietly; a chunk that is damaged (bad header,
 * corrupt in the middle) fails the export with -EBADMSG (or the error concerned) naming it,
 * since leaving out part of the evidence silently would be worse. Returns the packets written,
 * or a negative errno: -ENOENT when no chunk exists or no packet is in the range (no file is
 * written then; err says which times the journals' RTP covers), -EINVAL for from > to.
 * Memory: one chunk mapped at a time, and an output buffer of up to twice its size.
 */
long rec_export_pcap(const char *dir, const char *stream, int64_t from_ns, int64_t to_ns,
                     const struct rec_pcap_ends *ends, const char *out_path, char *err,
                     size_t errlen);

/*
 * One MP4 of the segments overlapping [from_ns, to_ns]: those listed in DIR/manifest.jsonl
 * (lines of kind "segment" or "recovered" whose file is STREAM-NNNNNN.ts, with
 * start_wall_ns <= to_ns and end_wall_ns >= from_ns; lines that do not parse are skipped and
 * nothing is verified here, that is `caasctl record verify`), in chunk order, each listed once.
 * Whole segments are included: the cut is at segment granularity, so the MP4 may start before
 * from_ns and end after to_ns by up to a segment.
 *
 * Remuxed by libavformat, stream copy (no re-encode), the streams of the first segment: later
 * segments' streams are matched by type and codec, the rest dropped. H.264/H.265 parameter sets
 * are in band in the TS; the extradata the demuxer extracts from them makes the avcC/hvcC, and
 * the MP4 muxer converts Annex B. The moov box is written at the end (no faststart rewrite).
 *
 * Timestamps: the first segment's start becomes 0. A later segment keeps its own timestamps
 * when they continue the timeline (one clock across segments; unwrapped across the 33-bit
 * MPEG-TS wrap). When they restart instead (segment.h starts every segment at 0), it is placed
 * by the manifest: after the previous segment's start by the difference of their start_rtp, in
 * the codec's RTP clock (90 kHz for video, the sample rate for audio), when that agrees with
 * the difference of their start_wall_ns within 2 s (else a camera or caasd restart began a new
 * RTP timeline, and the wall difference is used); with neither known (0), right after the
 * previous segment's last frame. A gap between segments (a missing chunk) stays a gap in time.
 * A packet whose DTS does not increase (a next segment's B-frame-delayed first DTS) gets the
 * smallest DTS that does, as ffmpeg does, so no frame is lost and every PTS stays; one that
 * would then be shown before it is decoded overlaps what was written and is dropped.
 *
 * Returns the frames (packets, all streams) written, or a negative errno: -ENOENT when the
 * manifest is missing or no segment overlaps, -EINVAL for from > to, else the failing step
 * named in err (a listed segment that is missing or unreadable fails the export).
 */
long rec_export_mp4(const char *dir, const char *stream, int64_t from_ns, int64_t to_ns,
                    const char *out_path, char *err, size_t errlen);

/*
 * A time for --from/--to, into ns since the Unix epoch:
 *   RFC 3339 / ISO 8601  "2026-11-27T11:20:00Z", "2026-11-27 11:20:00.25+08:00": the date,
 *                        'T' (or 't' or a space), the time, an optional fraction (up to 9
 *                        digits count; more are truncated), then 'Z' or an offset +hh:mm,
 *                        +hhmm or +hh. The offset is required: a local time would be
 *                        ambiguous in evidence. Second 60 (a leap second) reads as the next
 *                        minute's 00.
 *   "@SECONDS[.frac]"    Unix time
 *   "now", "now-30s", "now+5m", "now-2h", "now-1d"   relative to now_ns
 * Returns 0, or -EINVAL for anything else (trailing characters, a field out of range, a time
 * int64 ns cannot hold: before 1677-09-21 or after 2262-04-11).
 */
int rec_time_parse(const char *text, int64_t now_ns, int64_t *out_ns);

#endif
