/* Transcoding sessions (see transcode.h): one libavcodec decoder per source, and per rendition a
 * libswscale context and a libx264/libx265 encoder. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/dict.h>
#include <libavutil/frame.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include "media/transcode.h"

#define CLOCK_HZ 90000

struct tc_rend {
	bool used;
	bool active;
	bool force_idr;
	struct tc_rendition_spec spec;
	const AVCodec *codec;
	AVCodecContext *enc; /* opened at the first frame, reopened when the output size changes */
	struct SwsContext *sws;
	AVFrame *scaled; /* the scaler's output, reused once the encoder has let go of it */
	int width;
	int src_w, src_h, src_fmt; /* what sws was made for */
	int64_t step;              /* 90 kHz ticks between frames when spec.fps is set */
	int64_t next_pts;          /* the next source pts to keep, AV_NOPTS_VALUE at first */
	bool x26x;                 /* libx264/libx265: their low-latency options apply */
};

struct tc_session {
	AVCodecContext *dec;
	AVPacket *in;
	AVPacket *pkt; /* encoder output, shared: renditions are encoded one after another */
	AVFrame *frame;
	AVFrame *last; /* the last decoded picture (a reference), for joins and snapshots */
	int64_t last_pts;
	bool skip;
	bool flushed;
	struct tc_rend r[TC_MAX_RENDITIONS];
	struct tc_stats st;
};

__attribute__((format(printf, 4, 5))) static int say(char *err, size_t len, int ret,
                                                     const char *fmt, ...)
{
	va_list ap;

	if (err && len) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return ret;
}

static const char *enc_name(enum tc_codec c)
{
	return c == TC_H264 ? "libx264" : "libx265";
}

int tc_session_new(enum tc_codec src_codec, struct tc_session **out, char *err, size_t len)
{
	enum AVCodecID id = src_codec == TC_H264 ? AV_CODEC_ID_H264 : AV_CODEC_ID_HEVC;
	const AVCodec *dec = avcodec_find_decoder(id);
	struct tc_session *s;

	*out = NULL;
	if (src_codec != TC_H264 && src_codec != TC_H265)
		return say(err, len, -EINVAL, "%s", "unknown source codec");
	if (!dec)
		return say(err, len, -ENOENT, "no %s decoder in libavcodec", avcodec_get_name(id));
	s = calloc(1, sizeof(*s));
	if (!s)
		return say(err, len, -ENOMEM, "%s", "out of memory");
	s->dec = avcodec_alloc_context3(dec);
	s->in = av_packet_alloc();
	s->pkt = av_packet_alloc();
	s->frame = av_frame_alloc();
	s->last = av_frame_alloc();
	if (!s->dec || !s->in || !s->pkt || !s->frame || !s->last) {
		tc_session_free(s);
		return say(err, len, -ENOMEM, "%s", "out of memory");
	}
	/* Frame threads would add a frame of delay each; workers are one per core already. */
	s->dec->thread_count = 1;
	s->dec->flags |= AV_CODEC_FLAG_LOW_DELAY;
	s->dec->pkt_timebase = (AVRational){1, CLOCK_HZ};
	if (avcodec_open2(s->dec, dec, NULL) < 0) {
		tc_session_free(s);
		return say(err, len, -EIO, "cannot open the %s decoder", dec->name);
	}
	*out = s;
	return 0;
}

static void rend_close(struct tc_rend *r)
{
	avcodec_free_context(&r->enc);
	sws_freeContext(r->sws);
	r->sws = NULL;
	av_frame_free(&r->scaled);
}

int tc_rendition_add(struct tc_session *s, const struct tc_rendition_spec *spec, int *rendition_id,
                     char *err, size_t len)
{
	const AVCodec *codec;
	struct tc_rend *r = NULL;
	int i;

	if (spec->height < 16 || spec->height > 4320 || spec->height % 2)
		return say(err, len, -EINVAL, "%s", "height must be even, 16..4320");
	if (spec->kbps < 16 || spec->kbps > 200000)
		return say(err, len, -EINVAL, "%s", "kbps must be 16..200000");
	if (spec->fps < 0 || spec->fps > 240)
		return say(err, len, -EINVAL, "%s", "fps must be 0 (source) or 1..240");
	if (spec->codec != TC_H264 && spec->codec != TC_H265)
		return say(err, len, -EINVAL, "%s", "unknown codec");
	const char *name = spec->encoder ? spec->encoder : enc_name(spec->codec);
	codec = avcodec_find_encoder_by_name(name);
	if (!codec)
		return say(err, len, -ENOENT, "no %s encoder in libavcodec", name);
	if (codec->id != (spec->codec == TC_H264 ? AV_CODEC_ID_H264 : AV_CODEC_ID_HEVC))
		return say(err, len, -EINVAL, "%s does not encode %s", name,
		           spec->codec == TC_H264 ? "H.264" : "H.265");
	for (i = 0; i < TC_MAX_RENDITIONS && !r; i++)
		if (!s->r[i].used)
			r = &s->r[i];
	if (!r)
		return say(err, len, -ENOSPC, "%s", "too many renditions");
	memset(r, 0, sizeof(*r));
	r->used = true;
	r->active = true;
	r->spec = *spec;
	r->spec.encoder = NULL; /* the name need not outlive the call */
	r->x26x = !spec->encoder || !strcmp(spec->encoder, enc_name(spec->codec));
	r->codec = codec;
	r->next_pts = AV_NOPTS_VALUE;
	if (spec->fps)
		r->step = CLOCK_HZ / spec->fps;
	*rendition_id = (int)(r - s->r);
	s->st.encoded[*rendition_id] = 0;
	s->st.dropped[*rendition_id] = 0;
	s->st.skipped[*rendition_id] = 0;
	return 0;
}

void tc_rendition_del(struct tc_session *s, int id)
{
	if (id < 0 || id >= TC_MAX_RENDITIONS || !s->r[id].used)
		return;
	rend_close(&s->r[id]);
	s->r[id].used = false;
}

void tc_rendition_force_idr(struct tc_session *s, int id)
{
	if (id >= 0 && id < TC_MAX_RENDITIONS && s->r[id].used)
		s->r[id].force_idr = true;
}

/* Nearest even width for the rendition's height at the source's display aspect. */
static int out_width(const AVFrame *f, int height)
{
	int64_t num = (int64_t)f->width, den = f->height;

	if (f->sample_aspect_ratio.num > 0 && f->sample_aspect_ratio.den > 0) {
		num *= f->sample_aspect_ratio.num;
		den *= f->sample_aspect_ratio.den;
	}
	return (int)(((int64_t)height * num + den) / (2 * den) * 2);
}

static int enc_open(struct tc_session *s, struct tc_rend *r, int width)
{
	AVRational fr = s->dec->framerate;
	AVDictionary *opt = NULL;
	AVCodecContext *c;
	int64_t bps = (int64_t)r->spec.kbps * 1000;
	int ret;

	if (r->spec.fps)
		fr = (AVRational){r->spec.fps, 1};
	else if (fr.num <= 0 || fr.den <= 0)
		fr = (AVRational){TC_DEFAULT_FPS, 1};
	c = avcodec_alloc_context3(r->codec);
	if (!c)
		return -ENOMEM;
	c->width = width;
	c->height = r->spec.height;
	c->pix_fmt = AV_PIX_FMT_YUV420P;
	c->sample_aspect_ratio = (AVRational){1, 1};
	c->time_base = (AVRational){1, CLOCK_HZ};
	c->framerate = fr;
	c->gop_size = (int)((2 * (int64_t)fr.num + fr.den - 1) / fr.den);
	c->max_b_frames = 0;
	c->bit_rate = bps;
	c->rc_max_rate = bps;
	c->rc_buffer_size = (int)(bps / 2);
	c->thread_count = 1;
	/* No AV_CODEC_FLAG_GLOBAL_HEADER: both wrappers then repeat the parameter sets in band
	 * before every keyframe, which is what a subscriber joining at an IDR needs. */
	if (r->x26x) {
		av_dict_set(&opt, "preset", TC_PRESET, 0);
		av_dict_set(&opt, "tune", "zerolatency", 0);
		av_dict_set(&opt, "forced-idr", "1", 0);
		if (r->spec.codec == TC_H264)
			av_dict_set(&opt, "x264-params", "repeat-headers=1", 0);
		else
			/* x265 makes a thread pool of its own unless told not to, and logs to
			 * stderr. */
			av_dict_set(&opt, "x265-params",
			            "repeat-headers=1:bframes=0:pools=none:frame-threads=1:"
			            "log-level=error",
			            0);
	}
	ret = avcodec_open2(c, r->codec, &opt);
	av_dict_free(&opt);
	if (ret < 0) {
		avcodec_free_context(&c);
		return ret == AVERROR(ENOMEM) ? -ENOMEM : -EIO;
	}
	avcodec_free_context(&r->enc);
	r->enc = c;
	r->width = width;
	return 0;
}

/* Hand every packet the encoder has to the callback. */
static int drain(struct tc_session *s, int id, tc_output_fn out, void *arg)
{
	struct tc_rend *r = &s->r[id];
	int ret;

	for (;;) {
		ret = avcodec_receive_packet(r->enc, s->pkt);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
			return 0;
		if (ret < 0)
			return ret;
		s->st.encoded[id]++;
		if (out)
			out(arg, id, s->pkt->data, (size_t)s->pkt->size, s->pkt->pts,
			    s->pkt->flags & AV_PKT_FLAG_KEY);
		av_packet_unref(s->pkt);
	}
}

/* The frame to encode: the decoded one itself when no scaling is needed, else the rendition's
 * scaled frame, written in place once the encoder no longer holds it. */
static int scale(struct tc_rend *r, AVFrame *src, AVFrame **dst)
{
	int ret;

	if (src->width == r->width && src->height == r->spec.height &&
	    src->format == AV_PIX_FMT_YUV420P) {
		*dst = src;
		return 0;
	}
	if (!r->sws || src->width != r->src_w || src->height != r->src_h ||
	    src->format != r->src_fmt) {
		sws_freeContext(r->sws);
		av_frame_free(&r->scaled);
		/* Bilinear: about half the cost of bicubic at the downscales renditions make, and
		 * the softer picture costs x264 fewer bits at low rates. FAST_BILINEAR skips
		 * chroma filtering and aliases visibly at 2:1. */
		r->sws =
		    sws_getContext(src->width, src->height, src->format, r->width, r->spec.height,
		                   AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
		r->scaled = av_frame_alloc();
		if (!r->sws || !r->scaled)
			return -ENOMEM;
		r->scaled->width = r->width;
		r->scaled->height = r->spec.height;
		r->scaled->format = AV_PIX_FMT_YUV420P;
		if (av_frame_get_buffer(r->scaled, 0) < 0)
			return -ENOMEM;
		r->src_w = src->width;
		r->src_h = src->height;
		r->src_fmt = src->format;
	}
	/* Copies only if the encoder still holds a reference (it does not after the drain). */
	ret = av_frame_make_writable(r->scaled);
	if (ret < 0)
		return -ENOMEM;
	ret = sws_scale(r->sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height,
	                r->scaled->data, r->scaled->linesize);
	if (ret != r->spec.height)
		return -EIO;
	*dst = r->scaled;
	return 0;
}

/* Scale and encode src for rendition id. Returns the picture it encoded (src itself, or the
 * rendition's scaled frame, still whole after the encoder took its copy), NULL when it encoded
 * nothing. */
static AVFrame *encode(struct tc_session *s, int id, AVFrame *src, int64_t pts, tc_output_fn out,
                       void *arg)
{
	struct tc_rend *r = &s->r[id];
	int width = out_width(src, r->spec.height);
	AVFrame *f;

	if (r->step) {
		if (r->next_pts != AV_NOPTS_VALUE && pts < r->next_pts)
			return NULL;
		/* Keep the cadence; restart it after a gap or a jump back. */
		if (r->next_pts == AV_NOPTS_VALUE || pts - r->next_pts >= r->step ||
		    pts < r->next_pts - r->step)
			r->next_pts = pts + r->step;
		else
			r->next_pts += r->step;
	}
	if (!r->enc || width != r->width) {
		if (r->enc) {
			/* A new aspect: what the old encoder holds goes out first. */
			avcodec_send_frame(r->enc, NULL);
			drain(s, id, out, arg);
		}
		if (enc_open(s, r, width) < 0) {
			s->st.dropped[id]++;
			return NULL;
		}
	}
	if (scale(r, src, &f) < 0) {
		s->st.dropped[id]++;
		return NULL;
	}
	f->pts = pts;
	f->pict_type = r->force_idr ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
	f->key_frame = 0;
	r->force_idr = false;
	if (avcodec_send_frame(r->enc, f) < 0 || drain(s, id, out, arg) < 0) {
		s->st.dropped[id]++;
		return NULL;
	}
	return f;
}

/* The renditions' ids, tallest first: a ladder is scaled top down. */
static int by_height(const void *a, const void *b, void *ctx)
{
	const struct tc_session *s = ctx;
	return s->r[*(const int *)b].spec.height - s->r[*(const int *)a].spec.height;
}

/* Every frame the decoder has, through every rendition. */
static int decoded(struct tc_session *s, tc_output_fn out, void *arg)
{
	AVFrame *f = s->frame;
	int ret, i;

	for (;;) {
		ret = avcodec_receive_frame(s->dec, f);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
			return 0;
		if (ret < 0) {
			s->st.decode_errors++;
			return -EBADMSG;
		}
		s->st.decoded++;
		if (f->decode_error_flags || (f->flags & AV_FRAME_FLAG_CORRUPT))
			s->st.decode_errors++;
		int64_t pts = f->pts != AV_NOPTS_VALUE ? f->pts : f->best_effort_timestamp;
		int order[TC_MAX_RENDITIONS], n = 0;
		AVFrame *made[TC_MAX_RENDITIONS];
		int n_made = 0;
		for (i = 0; i < TC_MAX_RENDITIONS; i++)
			if (s->r[i].used && s->r[i].active)
				order[n++] = i;
		qsort_r(order, (size_t)n, sizeof(order[0]), by_height, s);
		for (int k = 0; k < n; k++) {
			struct tc_rend *r = &s->r[order[k]];
			AVFrame *src = f, *pic;
			if (s->skip) {
				s->st.skipped[order[k]]++;
				continue;
			}
			/* A rung at least twice this one's height, made from this very frame,
			 * is as good a start as the source and cheaper to scale from (720p
			 * for 360p: a quarter of the pixels a 1080p source has). */
			for (int j = 0; j < n_made; j++)
				if (made[j]->height >= 2 * r->spec.height &&
				    made[j]->height < src->height)
					src = made[j];
			pic = encode(s, order[k], src, pts, out, arg);
			/* Only a rung that takes every frame: a child would otherwise switch
			 * sources (and rebuild its scaler) as the rung's frame rate skips. */
			if (pic && pic != f && !r->spec.fps)
				made[n_made++] = pic;
		}
		/* Keep it (a reference, no copy) for joins and snapshots. */
		av_frame_unref(s->last);
		av_frame_move_ref(s->last, f);
		s->last_pts = pts;
	}
}

int tc_session_feed(struct tc_session *s, const uint8_t *au, size_t len, int64_t pts,
                    tc_output_fn out, void *arg)
{
	int ret;

	if (s->flushed)
		return -EPIPE;
	if (!len || len > INT32_MAX)
		return -EINVAL;
	/* The decoder reads up to AV_INPUT_BUFFER_PADDING_SIZE past the end, which the
	 * depacketizer's buffer does not promise: one copy into a padded packet. */
	ret = av_new_packet(s->in, (int)len);
	if (ret < 0)
		return -ENOMEM;
	memcpy(s->in->data, au, len);
	s->in->pts = pts;
	s->in->dts = pts;
	ret = avcodec_send_packet(s->dec, s->in);
	av_packet_unref(s->in);
	if (ret < 0 && ret != AVERROR(EAGAIN)) {
		s->st.decode_errors++;
		/* The packet is gone; frames decoded before it may still be waiting. */
		decoded(s, out, arg);
		return -EBADMSG;
	}
	return decoded(s, out, arg);
}

int tc_session_flush(struct tc_session *s, tc_output_fn out, void *arg)
{
	int i, ret = 0;

	if (s->flushed)
		return 0;
	s->flushed = true;
	avcodec_send_packet(s->dec, NULL);
	ret = decoded(s, out, arg);
	for (i = 0; i < TC_MAX_RENDITIONS; i++) {
		if (!s->r[i].used || !s->r[i].enc)
			continue;
		avcodec_send_frame(s->r[i].enc, NULL);
		if (drain(s, i, out, arg) < 0)
			ret = -EIO;
	}
	return ret;
}

void tc_session_stats(const struct tc_session *s, struct tc_stats *st)
{
	*st = s->st;
}

void tc_session_free(struct tc_session *s)
{
	int i;

	if (!s)
		return;
	for (i = 0; i < TC_MAX_RENDITIONS; i++)
		rend_close(&s->r[i]);
	avcodec_free_context(&s->dec);
	av_packet_free(&s->in);
	av_packet_free(&s->pkt);
	av_frame_free(&s->frame);
	av_frame_free(&s->last);
	free(s);
}

void tc_rendition_set_active(struct tc_session *s, int id, bool active)
{
	if (id >= 0 && id < TC_MAX_RENDITIONS && s->r[id].used)
		s->r[id].active = active;
}

int tc_rendition_encode_last(struct tc_session *s, int id, tc_output_fn out, void *arg)
{
	struct tc_rend *r;

	if (id < 0 || id >= TC_MAX_RENDITIONS || !s->r[id].used)
		return -EINVAL;
	if (s->flushed)
		return -EPIPE; /* the encoders are drained: as tc_session_feed() */
	if (!s->last->buf[0])
		return -ENODATA;
	r = &s->r[id];
	r->force_idr = true;
	r->next_pts = AV_NOPTS_VALUE; /* whatever the cadence, this picture goes */
	encode(s, id, s->last, s->last_pts, out, arg);
	return 0;
}

void tc_session_skip_encodes(struct tc_session *s, bool skip)
{
	s->skip = skip;
}

int tc_session_snapshot(struct tc_session *s, int quality, uint8_t **jpeg, size_t *len, int *width,
                        int *height, int64_t *pts, char *err, size_t errlen)
{
	const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
	AVFrame *src = s->last, *f = NULL;
	AVCodecContext *c = NULL;
	AVPacket *pkt = NULL;
	struct SwsContext *sws = NULL;
	int ret;

	*jpeg = NULL;
	if (!src->buf[0])
		return say(err, errlen, -ENODATA, "%s", "no picture decoded yet");
	if (!codec)
		return say(err, errlen, -ENOENT, "%s", "no mjpeg encoder in libavcodec");
	if (quality < 2 || quality > 31)
		quality = 3;
	c = avcodec_alloc_context3(codec);
	f = av_frame_alloc();
	pkt = av_packet_alloc();
	ret = -ENOMEM;
	if (!c || !f || !pkt)
		goto out;
	/* JPEG viewers expect full range: convert (and only that; the size stays). */
	f->width = src->width;
	f->height = src->height;
	f->format = AV_PIX_FMT_YUVJ420P;
	if (av_frame_get_buffer(f, 0) < 0)
		goto out;
	sws = sws_getContext(src->width, src->height, src->format, f->width, f->height,
	                     AV_PIX_FMT_YUVJ420P, SWS_POINT, NULL, NULL, NULL);
	if (!sws)
		goto out;
	sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, f->data,
	          f->linesize);
	c->width = f->width;
	c->height = f->height;
	c->pix_fmt = AV_PIX_FMT_YUVJ420P;
	c->color_range = AVCOL_RANGE_JPEG;
	c->time_base = (AVRational){1, CLOCK_HZ};
	c->flags |= AV_CODEC_FLAG_QSCALE;
	c->global_quality = FF_QP2LAMBDA * quality;
	f->quality = c->global_quality;
	f->pict_type = AV_PICTURE_TYPE_I;
	f->pts = 0;
	ret = -EIO;
	if (avcodec_open2(c, codec, NULL) < 0 || avcodec_send_frame(c, f) < 0 ||
	    avcodec_receive_packet(c, pkt) < 0)
		goto out;
	*jpeg = malloc((size_t)pkt->size);
	ret = -ENOMEM;
	if (!*jpeg)
		goto out;
	memcpy(*jpeg, pkt->data, (size_t)pkt->size);
	*len = (size_t)pkt->size;
	*width = f->width;
	*height = f->height;
	*pts = s->last_pts;
	ret = 0;
out:
	if (ret == -ENOMEM)
		say(err, errlen, ret, "%s", "out of memory");
	else if (ret)
		say(err, errlen, ret, "%s", "the JPEG encoder failed");
	sws_freeContext(sws);
	av_packet_free(&pkt);
	av_frame_free(&f);
	avcodec_free_context(&c);
	return ret;
}

int tc_session_picture(const struct tc_session *s, int *width, int *height)
{
	if (!s->last->buf[0])
		return -ENODATA;
	*width = s->last->width;
	*height = s->last->height;
	return 0;
}

int tc_rendition_prepare(struct tc_session *s, int id)
{
	struct tc_rend *r;
	int width;

	if (id < 0 || id >= TC_MAX_RENDITIONS || !s->r[id].used)
		return -EINVAL;
	if (!s->last->buf[0])
		return -ENODATA;
	r = &s->r[id];
	width = out_width(s->last, r->spec.height);
	if (r->enc && width == r->width)
		return 0;
	return enc_open(s, r, width);
}
