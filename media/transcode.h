/* Renditions of one source stream: decode each access unit once, scale it (libswscale) and
 * encode it (libx264/libx265) for every rendition. libav* stays out of this header. */
#ifndef CAAS_MEDIA_TRANSCODE_H
#define CAAS_MEDIA_TRANSCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tc_codec {
	TC_H264,
	TC_H265,
};

#define TC_MAX_RENDITIONS 8
/* Encoder speed preset (x264 and x265 both know it). */
#define TC_PRESET "veryfast"
/* Frame rate assumed when neither the rendition nor the source's SPS (VUI timing) gives one. */
#define TC_DEFAULT_FPS 30

/*
 * One rendition. Width = height * source display aspect, rounded to the nearest even number
 * (1280x720 source: 360 -> 640, 480 -> 854). Height must be even, 16..4320.
 * Rate control: bitrate = maxrate = kbps, VBV buffer = kbps / 2 (half a second: close to CBR
 * over any half second, so a subscriber's link never sees a burst longer than that).
 * fps: 0 keeps the source's frames; lower values drop source frames by timestamp.
 * Keyframes every 2 s of frames; no B-frames; tune zerolatency (no lookahead, so one frame in,
 * one frame out); one encoder thread.
 */
struct tc_rendition_spec {
	int height;
	int kbps;
	int fps;
	enum tc_codec codec;
	/* libavcodec encoder name (a hardware one such as h264_vaapi); NULL: libx264/libx265.
	 * The preset/tune/x26x options apply to libx264/libx265 only. */
	const char *encoder;
};

struct tc_session;

/* Called for every encoded access unit: Annex-B, parameter sets in band before each IDR; valid
 * only during the call. pts is the source pts (90 kHz) of the frame it encodes. */
typedef void (*tc_output_fn)(void *arg, int rendition_id, const uint8_t *au, size_t len,
                             int64_t pts, bool keyframe);

struct tc_stats {
	uint64_t decoded; /* frames out of the decoder */
	/* access units the decoder refused, and frames it flagged as concealed */
	uint64_t decode_errors;
	/* per rendition id: */
	uint64_t encoded[TC_MAX_RENDITIONS]; /* access units given to the callback */
	uint64_t dropped[TC_MAX_RENDITIONS]; /* frames lost to a scaler or encoder failure */
	uint64_t skipped[TC_MAX_RENDITIONS]; /* frames not encoded: tc_session_skip_encodes() */
};

/* All functions return 0 or a negative errno; err (may be NULL) says why in words. */
int tc_session_new(enum tc_codec src_codec, struct tc_session **out, char *err, size_t len);

/* -EINVAL for a bad spec, -ENOSPC past TC_MAX_RENDITIONS, -ENOENT when the encoder is not in
 * this libavcodec. The encoder opens at the next decoded frame (it needs the source size), so
 * a rendition's first output is an IDR. Ids are 0..TC_MAX_RENDITIONS-1; a deleted id is reused
 * (its counters restart). */
int tc_rendition_add(struct tc_session *s, const struct tc_rendition_spec *spec, int *rendition_id,
                     char *err, size_t len);
void tc_rendition_del(struct tc_session *s, int rendition_id);

/* A new subscriber: the rendition's next output is an IDR with its parameter sets. */
void tc_rendition_force_idr(struct tc_session *s, int rendition_id);

/*
 * One source access unit (Annex-B, as the depacketizer gives it; pts on the 90 kHz clock).
 * Decodes it once, then scales and encodes the frame for each rendition; outputs come through
 * out before this returns. -EBADMSG when the decoder refused the unit (counted in
 * decode_errors; the session goes on with the next one), -EPIPE after tc_session_flush().
 * A rendition whose scaler or encoder fails counts the frame in dropped[] and does not fail
 * the call.
 */
int tc_session_feed(struct tc_session *s, const uint8_t *au, size_t len, int64_t pts,
                    tc_output_fn out, void *arg);

/* End of stream: drain the decoder and every encoder through out. The session takes no more
 * input afterwards (-EPIPE). */
int tc_session_flush(struct tc_session *s, tc_output_fn out, void *arg);

void tc_session_stats(const struct tc_session *s, struct tc_stats *st);

/* An inactive rendition is neither scaled nor encoded (nor counted); the decoder goes on, so
 * it can start at once from a current picture. Renditions start active. */
void tc_rendition_set_active(struct tc_session *s, int rendition_id, bool active);

/* Encode the last decoded picture now, as an IDR (parameter sets in band), for the rendition:
 * a current picture for someone who joins between frames. -ENODATA before the first picture,
 * -EPIPE after tc_session_flush(). */
int tc_rendition_encode_last(struct tc_session *s, int rendition_id, tc_output_fn out, void *arg);

/* While set, decoded frames go to no encoder: each active rendition counts them in skipped[]
 * (a worker that fell behind keeps its reference pictures, and catches up). */
void tc_session_skip_encodes(struct tc_session *s, bool skip);

/* Open the rendition's encoder now, for the last decoded picture's size, rather than at its
 * first frame (opening takes tens of milliseconds a joiner should not wait). -ENODATA before
 * the first picture. */
int tc_rendition_prepare(struct tc_session *s, int rendition_id);

/* The size of the last decoded picture; -ENODATA before the first. */
int tc_session_picture(const struct tc_session *s, int *width, int *height);

/* The last decoded picture as a full-range JPEG (quality 2..31, lower is better; libavcodec's
 * mjpeg encoder), in a buffer the caller frees with free(). -ENODATA before the first picture.
 * *pts is the picture's source pts. */
int tc_session_snapshot(struct tc_session *s, int quality, uint8_t **jpeg, size_t *len, int *width,
                        int *height, int64_t *pts, char *err, size_t errlen);

void tc_session_free(struct tc_session *s);

#endif
