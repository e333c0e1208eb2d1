/* caas-replay send: a clip libavformat reads (H.264/H.265 in MP4, MKV, TS or raw), converted to
 * Annex-B and packetized once with the project's h26x packetizer; every stream replays those
 * packets with its own header, so the per-packet cost is a header, not a packetization. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>

#include "rtp/h26x.h"
#include "send.h"

#define MEDIA_CLOCK 90000

int snd_arena_put(struct snd_source *src, size_t *cap, const void *data, size_t len, size_t *off)
{
	if (src->arena_len + len > *cap) {
		size_t ncap = *cap ? *cap : 1u << 20;
		while (ncap < src->arena_len + len)
			ncap *= 2;
		uint8_t *p = realloc(src->arena, ncap);
		if (!p)
			return -ENOMEM;
		src->arena = p;
		*cap = ncap;
	}
	memcpy(src->arena + src->arena_len, data, len);
	*off = src->arena_len;
	src->arena_len += len;
	return 0;
}

void snd_source_free(struct snd_source *src)
{
	for (size_t i = 0; i < src->n_flows; i++) {
		free(src->flows[i].pkts);
		free(src->flows[i].keys);
	}
	free(src->flows);
	free(src->arena);
	memset(src, 0, sizeof(*src));
}

/* Loading state: payload offsets until the arena stops moving. */
struct media_load {
	struct snd_source *src;
	struct snd_flow *fl;
	enum h26x_codec codec;
	struct h26x_pack pk;
	size_t arena_cap, pkts_cap, offs_cap, keys_cap;
	size_t *offs;
	uint8_t buf[SND_PKT_MAX];
};

static bool au_is_key(enum h26x_codec codec, const uint8_t *au, size_t len)
{
	const uint8_t *pos = au, *nal;
	size_t n;
	while (h26x_annexb_next(&pos, au + len, &nal, &n))
		if (n >= h26x_nal_hdr_len(codec) &&
		    h26x_is_keyframe_type(codec, h26x_nal_type(codec, nal)))
			return true;
	return false;
}

static int grow(void **p, size_t *cap, size_t want, size_t elem)
{
	if (want <= *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 1024;
	while (ncap < want)
		ncap *= 2;
	void *q = realloc(*p, ncap * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = ncap;
	return 0;
}

/* One access unit, at send time t_ns with RTP timestamp ts (both from the clip's start). */
static int add_au(struct media_load *ml, const uint8_t *au, size_t len, uint64_t t_ns, int64_t ts)
{
	struct snd_flow *fl = ml->fl;
	bool key = au_is_key(ml->codec, au, len), marker, first = true;
	int n, rc;

	h26x_pack_au(&ml->pk, au, len);
	while ((n = h26x_pack_next(&ml->pk, ml->buf, sizeof(ml->buf), &marker)) > 0) {
		size_t off;
		if (grow((void **)&fl->pkts, &ml->pkts_cap, fl->n + 1, sizeof(*fl->pkts)) ||
		    grow((void **)&ml->offs, &ml->offs_cap, fl->n + 1, sizeof(*ml->offs)))
			return -ENOMEM;
		rc = snd_arena_put(ml->src, &ml->arena_cap, ml->buf, (size_t)n, &off);
		if (rc < 0)
			return rc;
		ml->offs[fl->n] = off;
		if (first && key) {
			if (grow((void **)&fl->keys, &ml->keys_cap, fl->n_keys + 1,
			         sizeof(*fl->keys)))
				return -ENOMEM;
			fl->keys[fl->n_keys++] = (uint32_t)fl->n;
		}
		fl->pkts[fl->n++] = (struct snd_pkt){
		    .t_ns = t_ns,
		    .ts = ts,
		    .len = (uint32_t)n,
		    .flags = (uint8_t)((marker ? SND_F_MARKER : 0) | (first ? SND_F_AU_START : 0) |
		                       (first && key ? SND_F_KEY : 0)),
		};
		fl->bytes += (size_t)n;
		first = false;
	}
	if (n < 0)
		return n;
	ml->src->aus++;
	ml->src->keyframes += key;
	return 0;
}

static const char *av_reason(int rc, char *buf, size_t cap)
{
	av_strerror(rc, buf, cap);
	return buf;
}

int snd_media_open(const char *path, size_t max_payload, struct snd_source *src, char *err,
                   size_t errlen)
{
	AVFormatContext *fmt = NULL;
	AVBSFContext *bsf = NULL;
	AVPacket *in = NULL;
	struct media_load *ml = NULL;
	char why[128];
	int rc;

	memset(src, 0, sizeof(*src));
	rc = avformat_open_input(&fmt, path, NULL, NULL);
	if (rc < 0) {
		if (rc == AVERROR(ENOENT) || rc == AVERROR(EACCES)) {
			snprintf(err, errlen, "%s", av_reason(rc, why, sizeof(why)));
			return -ENOENT;
		}
		snprintf(err, errlen, "not a media file libavformat reads (%s)",
		         av_reason(rc, why, sizeof(why)));
		return -EINVAL;
	}
	rc = avformat_find_stream_info(fmt, NULL);
	if (rc < 0) {
		snprintf(err, errlen, "not a media file libavformat reads (%s)",
		         av_reason(rc, why, sizeof(why)));
		rc = -EINVAL;
		goto out;
	}
	int vi = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (vi < 0) {
		snprintf(err, errlen, "no video stream");
		rc = -EINVAL;
		goto out;
	}
	AVStream *st = fmt->streams[vi];
	enum AVCodecID id = st->codecpar->codec_id;
	if (id != AV_CODEC_ID_H264 && id != AV_CODEC_ID_HEVC) {
		snprintf(err, errlen, "video is %s; only H.264 and H.265 are sent",
		         avcodec_get_name(id));
		rc = -EINVAL;
		goto out;
	}
	for (unsigned i = 0; i < fmt->nb_streams; i++) {
		if ((int)i == vi)
			continue;
		if (fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO)
			src->skipped = "audio";
		fmt->streams[i]->discard = AVDISCARD_ALL;
	}

	ml = calloc(1, sizeof(*ml));
	src->flows = calloc(1, sizeof(*src->flows));
	in = av_packet_alloc();
	if (!ml || !src->flows || !in) {
		rc = -ENOMEM;
		goto out;
	}
	src->n_flows = 1;
	src->kind = SND_SRC_MEDIA;
	src->codec = id == AV_CODEC_ID_H264 ? "h264" : "h265";
	ml->src = src;
	ml->fl = &src->flows[0];
	ml->codec = id == AV_CODEC_ID_H264 ? H26X_H264 : H26X_H265;
	ml->fl->clock = MEDIA_CLOCK;
	ml->fl->renumber = true;
	if (h26x_pack_init(&ml->pk, ml->codec, 0, max_payload) < 0) {
		snprintf(err, errlen, "packets of %zu payload bytes are too small (--mtu)",
		         max_payload);
		rc = -EINVAL;
		goto out;
	}

	/* Containers carry length-prefixed NAL units; the packetizer takes Annex-B. Input that
	 * is Annex-B already (TS, raw) passes through the filter unchanged. */
	const AVBitStreamFilter *f =
	    av_bsf_get_by_name(id == AV_CODEC_ID_H264 ? "h264_mp4toannexb" : "hevc_mp4toannexb");
	if (!f || av_bsf_alloc(f, &bsf) < 0 ||
	    avcodec_parameters_copy(bsf->par_in, st->codecpar) < 0) {
		snprintf(err, errlen, "no Annex-B bitstream filter");
		rc = -EINVAL;
		goto out;
	}
	bsf->time_base_in = st->time_base;
	if ((rc = av_bsf_init(bsf)) < 0) {
		snprintf(err, errlen, "bitstream filter: %s", av_reason(rc, why, sizeof(why)));
		rc = -EINVAL;
		goto out;
	}

	/* A frame's duration when the container does not say: the stream's frame rate, or 30. */
	AVRational fr = st->avg_frame_rate.num ? st->avg_frame_rate : st->r_frame_rate;
	int64_t def_dur = fr.num && fr.den ? av_rescale_q(1, av_inv_q(fr), st->time_base) : 0;
	if (def_dur <= 0)
		def_dur = av_rescale_q(1, (AVRational){1, 30}, st->time_base);
	int64_t origin = AV_NOPTS_VALUE, last_dts = AV_NOPTS_VALUE, last_dur = def_dur;
	uint64_t last_t = 0;
	bool eof = false;

	while (!eof) {
		rc = av_read_frame(fmt, in);
		if (rc == AVERROR_EOF) {
			eof = true;
			rc = av_bsf_send_packet(bsf, NULL);
		} else if (rc < 0) {
			snprintf(err, errlen, "read: %s", av_reason(rc, why, sizeof(why)));
			rc = -EINVAL;
			goto out;
		} else if (in->stream_index != vi) {
			av_packet_unref(in);
			continue;
		} else {
			rc = av_bsf_send_packet(bsf, in);
		}
		if (rc < 0) {
			snprintf(err, errlen, "bitstream filter: %s",
			         av_reason(rc, why, sizeof(why)));
			rc = -EINVAL;
			goto out;
		}
		while (av_bsf_receive_packet(bsf, in) == 0) {
			/* Sent in decode order, paced by dts; the RTP timestamp is the pts. */
			int64_t dts = in->dts != AV_NOPTS_VALUE ? in->dts : in->pts;
			if (dts == AV_NOPTS_VALUE)
				dts = last_dts == AV_NOPTS_VALUE ? 0 : last_dts + last_dur;
			if (last_dts != AV_NOPTS_VALUE && dts < last_dts)
				dts = last_dts;
			int64_t pts = in->pts != AV_NOPTS_VALUE ? in->pts : dts;
			if (origin == AV_NOPTS_VALUE)
				origin = dts;
			if (in->duration > 0)
				last_dur = in->duration;
			last_dts = dts;
			last_t = (uint64_t)av_rescale_q(dts - origin, st->time_base,
			                                (AVRational){1, (int)SND_NS_PER_SEC});
			int64_t ts =
			    av_rescale_q(pts - origin, st->time_base, (AVRational){1, MEDIA_CLOCK});
			rc = add_au(ml, in->data, (size_t)in->size, last_t, ts);
			av_packet_unref(in);
			if (rc < 0) {
				snprintf(err, errlen, "packetizer: %s", strerror(-rc));
				goto out;
			}
		}
	}
	struct snd_flow *fl = ml->fl;
	if (!fl->n) {
		snprintf(err, errlen, "no video packets");
		rc = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < fl->n; i++)
		fl->pkts[i].payload = src->arena + ml->offs[i];
	fl->loop_ns = last_t + (uint64_t)av_rescale_q(last_dur, st->time_base,
	                                              (AVRational){1, (int)SND_NS_PER_SEC});
	fl->loop_ts = (int64_t)av_rescale(fl->loop_ns, MEDIA_CLOCK, SND_NS_PER_SEC);
	src->frame_ns = fl->loop_ns / src->aus;
	if (fl->n_keys >= 2)
		src->gop_ns =
		    (fl->pkts[fl->keys[fl->n_keys - 1]].t_ns - fl->pkts[fl->keys[0]].t_ns) /
		    (fl->n_keys - 1);
	else
		src->gop_ns = fl->loop_ns;
	snprintf(src->desc, sizeof(src->desc),
	         "%s %dx%d, %.1f s, %" PRIu64 " frames (%" PRIu64 " keyframes), %zu packets",
	         src->codec, st->codecpar->width, st->codecpar->height,
	         (double)fl->loop_ns / SND_NS_PER_SEC, src->aus, src->keyframes, fl->n);
	rc = 0;
out:
	if (rc < 0)
		snd_source_free(src);
	if (ml)
		free(ml->offs);
	free(ml);
	av_packet_free(&in);
	av_bsf_free(&bsf);
	avformat_close_input(&fmt);
	return rc;
}
