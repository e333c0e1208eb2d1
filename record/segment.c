/* MPEG-TS segments (see segment.h): libavformat's mpegts muxer writing through a custom
 * AVIOContext into a rec_out. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/mathematics.h>

#include "record/out.h"
#include "record/segment.h"

/* The AVIOContext's buffer: with flush_packets it is emptied after every packet, so it only
 * bounds the chunks rec_out_append() takes (each all or nothing). A whole number of TS packets,
 * so a refused chunk leaves the file ending on a packet boundary. */
#define AVIO_BUF_SIZE (188 * 128)
#define AU_MAX        (64u << 20)
#define OPUS_MAX_DUR  5760 /* 120 ms at 48 kHz, the longest Opus packet */
/* Video may come with B-frames: access units in decode order, timestamps (PTS) not. The muxer
 * derives each DTS from the PTS seen so far (libavformat's pts_buffer, sized by video_delay),
 * which holds for any reorder depth up to REORDER frames; PTS start LEAD frames after 0 so
 * the first DTS and B-frames shown before the first keyframe stay above 0. */
#define REORDER       4
#define LEAD          (2 * REORDER + 4)
#define RECENT        16

struct rec_seg {
	struct rec_out out;
	AVFormatContext *fmt;
	AVIOContext *pb;
	AVPacket *pkt;
	enum rec_seg_codec codec;
	AVRational tb_in; /* 1/clock_rate */
	bool started;
	int64_t first_pts; /* caller's units */
	int64_t last_ts;   /* last PTS/DTS given to the muxer, in the stream's time base */
	int64_t frame_dur; /* video: the shortest PTS step seen, stream time base */
	int64_t lead;      /* video: added to every PTS (LEAD frames of 30 fps) */
	int64_t recent[RECENT]; /* video: the last PTS given, a repeat would break the DTS */
	int64_t ptsbuf[REORDER + 1]; /* video: PTS to come out as DTS, smallest first */
	int64_t next_ptsbuf[REORDER + 1];
	int64_t last_dts;
	uint64_t frames;
	int io_err; /* first error rec_out_append() gave the write callback */
	int err;    /* the segment has failed: every later call returns it */
};

static int seg_write_cb(void *opaque, uint8_t *buf, int size)
{
	struct rec_seg *s = opaque;
	int ret = rec_out_append(&s->out, buf, (size_t)size);

	if (ret < 0) {
		/* avio keeps the error in pb->error and drops everything after it, so the file
		 * ends at a TS packet boundary of what came before: still a playable prefix. */
		if (!s->io_err)
			s->io_err = ret;
		return AVERROR(-ret);
	}
	return size;
}

/* A libav* error as a negative errno. */
static int av_errno(int averr)
{
	if (averr == AVERROR_INVALIDDATA)
		return -EINVAL;
	if (averr < 0 && averr > -4096) /* AVERROR(errno) */
		return averr;
	return -EIO;
}

static int seg_fail(struct rec_seg *s, int err)
{
	if (!s->err)
		s->err = err;
	return s->err;
}

/* After a call into the muxer: the write callback's error first (it is the cause of whatever
 * the muxer then reports), then the muxer's. Either fails the segment. */
static int mux_result(struct rec_seg *s, int ret)
{
	if (s->io_err)
		return seg_fail(s, s->io_err);
	if (ret >= 0 && s->pb->error < 0)
		ret = s->pb->error;
	return ret < 0 ? seg_fail(s, av_errno(ret)) : 0;
}

static void seg_free(struct rec_seg *s)
{
	/* Custom I/O: the context does not free pb, and pb does not free its buffer. */
	avformat_free_context(s->fmt);
	if (s->pb) {
		av_freep(&s->pb->buffer);
		avio_context_free(&s->pb);
	}
	av_packet_free(&s->pkt);
	free(s);
}

static int bad(char *err, size_t errlen, const char *name, const char *what)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", name, what);
	return -EINVAL;
}

/* The muxer and its AVIOContext, before any file exists. */
static int mux_alloc(struct rec_seg *s, const struct rec_seg_params *p)
{
	AVCodecParameters *par;
	AVStream *st;
	uint8_t *buf;

	if (avformat_alloc_output_context2(&s->fmt, NULL, "mpegts", NULL) < 0 || !s->fmt)
		return -ENOMEM;
	st = avformat_new_stream(s->fmt, NULL);
	s->pkt = av_packet_alloc();
	if (!st || !s->pkt)
		return -ENOMEM;
	par = st->codecpar;
	st->time_base = s->tb_in; /* the muxer sets its own (1/90000); we rescale to it */
	switch (p->codec) {
	case REC_SEG_H264:
	case REC_SEG_H265:
		par->codec_type = AVMEDIA_TYPE_VIDEO;
		par->codec_id = p->codec == REC_SEG_H264 ? AV_CODEC_ID_H264 : AV_CODEC_ID_HEVC;
		/* No extradata: the parameter sets come in band, and the mpegts muxer takes
		 * Annex-B as it is (it adds an access unit delimiter where there is none). */
		break;
	case REC_SEG_OPUS:
		par->codec_type = AVMEDIA_TYPE_AUDIO;
		par->codec_id = AV_CODEC_ID_OPUS;
		/* Opus always runs at 48 kHz; the muxer divides by sample_rate. Without an
		 * OpusHead the PMT's Opus descriptor takes its channel configuration from the
		 * layout (mapping family 0, 1 or 2 channels), and demuxers rebuild the head. */
		par->sample_rate = 48000;
		av_channel_layout_default(&par->ch_layout, p->channels);
		break;
	}

	buf = av_malloc(AVIO_BUF_SIZE);
	if (!buf)
		return -ENOMEM;
	/* write_flag 1, no read, no seek: the mpegts muxer never seeks. */
	s->pb = avio_alloc_context(buf, AVIO_BUF_SIZE, 1, s, NULL, seg_write_cb, NULL);
	if (!s->pb) {
		av_free(buf);
		return -ENOMEM;
	}
	s->fmt->pb = s->pb;
	/* Nothing sits in the muxer or in avio: each packet goes to the staging buffers at once,
	 * so rec_seg_sync() covers it and a refusal shows at the access unit that caused it. */
	s->fmt->flags |= AVFMT_FLAG_CUSTOM_IO | AVFMT_FLAG_FLUSH_PACKETS;
	s->fmt->flush_packets = 1;
	s->fmt->max_delay = 0;
	return 0;
}

static bool opus_params_ok(const struct rec_seg_params *p)
{
	return p->clock_rate == 48000 && (p->channels == 1 || p->channels == 2);
}

int rec_seg_open(struct rec_uring *u, int dir_fd, const char *name, const struct rec_seg_params *p,
                 struct rec_seg **out, char *err, size_t errlen)
{
	AVDictionary *opts = NULL;
	struct rec_seg *s;
	char part[300];
	int ret;

	*out = NULL;
	if (p->codec != REC_SEG_H264 && p->codec != REC_SEG_H265 && p->codec != REC_SEG_OPUS)
		return bad(err, errlen, name, "unknown codec");
	if (!p->clock_rate || p->clock_rate > INT_MAX)
		return bad(err, errlen, name, "bad clock rate");
	if (p->codec == REC_SEG_OPUS && !opus_params_ok(p))
		return bad(err, errlen, name, "Opus needs a 48 kHz clock and 1 or 2 channels");

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->codec = p->codec;
	s->tb_in = (AVRational){1, (int)p->clock_rate};
	ret = mux_alloc(s, p);
	if (ret < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s: setting up the mpegts muxer: %s", name,
			         strerror(-ret));
		seg_free(s);
		return ret;
	}
	ret = rec_out_open(&s->out, u, dir_fd, name, err, errlen);
	if (ret < 0) {
		seg_free(s);
		return ret;
	}

	/* PAT and PMT (and SDT) every 100 ms of PCR, and before each video keyframe (the muxer's
	 * default): said here so a change of default cannot take it away. */
	av_dict_set(&opts, "pat_period", "0.1", 0);
	av_dict_set(&opts, "sdt_period", "0.5", 0);
	/* Video gets a PCR with every frame. For audio the muxer would derive the interval from
	 * a constant frame size, which Opus does not have (and it warns): 40 ms, the DVB limit. */
	if (p->codec == REC_SEG_OPUS)
		av_dict_set(&opts, "pcr_period", "40", 0);
	ret = avformat_write_header(s->fmt, &opts);
	if (ret >= 0 && av_dict_count(opts))
		ret = AVERROR_OPTION_NOT_FOUND;
	av_dict_free(&opts);
	ret = mux_result(s, ret < 0 ? ret : 0);
	if (ret < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s: mpegts header: %s", name, strerror(-ret));
		/* Nothing was recorded: take the empty .part away again. */
		rec_out_abort(&s->out);
		snprintf(part, sizeof(part), "%s.part", name);
		unlinkat(dir_fd, part, 0);
		seg_free(s);
		return ret;
	}
	*out = s;
	return 0;
}

/* Annex-B starts with a start code; the muxer refuses a first packet without one and would
 * only warn about later ones. */
static bool annexb(const uint8_t *p, size_t len)
{
	return len >= 5 && !p[0] && !p[1] && (p[2] == 1 || (!p[2] && p[3] == 1));
}

/* The samples (48 kHz) of an Opus packet from its TOC (RFC 6716, 3.1), 0 if it is malformed.
 * The muxer needs them for the TS Opus control header and only warns about bad ones. */
static int opus_samples(const uint8_t *p, size_t len)
{
	static const int silk[4] = {480, 960, 1920, 2880}, celt[4] = {120, 240, 480, 960};
	int config = p[0] >> 3, frame, frames;

	if (config < 12)
		frame = silk[config & 3];
	else if (config < 16)
		frame = config & 1 ? 960 : 480;
	else
		frame = celt[config & 3];
	switch (p[0] & 3) {
	case 0:
		frames = 1;
		break;
	case 1:
	case 2:
		frames = 2;
		break;
	default:
		if (len < 2)
			return 0;
		frames = p[1] & 63;
		break;
	}
	return frames * frame <= OPUS_MAX_DUR ? frames * frame : 0;
}

/* The DTS of an access unit in decode order with presentation time pts: the smallest of the
 * last REORDER + 1 PTS (libavformat's rule for streams muxed without DTS), the buffer seeded
 * with REORDER values a frame apart from 0, so the first DTS are 0, 1, 2, 3 frames. A peek: the
 * buffer changes only when the unit is taken. */
static int64_t make_dts(struct rec_seg *s, int64_t pts)
{
	int64_t b[REORDER + 1];

	memcpy(b, s->ptsbuf, sizeof(b));
	b[0] = pts;
	/* Seeds a frame apart below every PTS accepted (those are at least REORDER frames into
	 * the lead), so that frames shown before the first keyframe cannot meet one. */
	for (int i = 1; i <= REORDER && b[i] == AV_NOPTS_VALUE; i++)
		b[i] = (i - 1) * s->frame_dur;
	for (int i = 0; i < REORDER && b[i] > b[i + 1]; i++) {
		int64_t t = b[i];
		b[i] = b[i + 1];
		b[i + 1] = t;
	}
	memcpy(s->next_ptsbuf, b, sizeof(b));
	return b[0];
}

int rec_seg_write(struct rec_seg *s, const uint8_t *data, size_t len, int64_t pts, bool keyframe)
{
	AVStream *st;
	int64_t ts, dts = 0;
	int ret;

	if (s->err)
		return s->err;
	if (!data || !len || len > AU_MAX || pts < 0)
		return -EINVAL;
	if (s->codec == REC_SEG_OPUS ? !opus_samples(data, len) : !annexb(data, len))
		return -EINVAL;
	st = s->fmt->streams[0];
	if (s->codec == REC_SEG_OPUS) {
		if (s->started && pts <= s->first_pts)
			return -EINVAL;
		ts = s->started ? av_rescale_q(pts - s->first_pts, s->tb_in, st->time_base) : 0;
		/* Strictly increasing after rescaling too: the muxer refuses equal DTS. */
		if (s->started && (ts <= s->last_ts || ts == AV_NOPTS_VALUE))
			return -EINVAL;
	} else {
		if (!s->started) {
			s->frame_dur = av_rescale_q(1, (AVRational){1, 30}, st->time_base);
			s->lead = LEAD * s->frame_dur;
			for (int i = 0; i < RECENT; i++)
				s->recent[i] = AV_NOPTS_VALUE;
			for (int i = 0; i <= REORDER; i++)
				s->ptsbuf[i] = AV_NOPTS_VALUE;
		}
		ts = s->started ? av_rescale_q(pts - s->first_pts, s->tb_in, st->time_base) : 0;
		ts += s->lead;
		/* Before the segment's start by more than the lead, or a timestamp just given
		 * (its DTS would repeat): refused, the segment goes on. */
		if (ts < REORDER * s->frame_dur || ts == AV_NOPTS_VALUE)
			return -EINVAL;
		for (int i = 0; i < RECENT; i++)
			if (s->recent[i] == ts)
				return -EINVAL;
		dts = make_dts(s, ts);
		if (s->started && dts <= s->last_dts)
			return -EINVAL;
	}

	/* Not refcounted: av_write_frame() does not take the packet, and mpegts copies what it
	 * keeps. */
	s->pkt->data = (uint8_t *)data;
	s->pkt->size = (int)len;
	s->pkt->pts = ts;
	s->pkt->dts = s->codec == REC_SEG_OPUS ? ts : dts;
	s->pkt->flags = keyframe || s->codec == REC_SEG_OPUS ? AV_PKT_FLAG_KEY : 0;
	s->pkt->stream_index = 0;
	ret = av_write_frame(s->fmt, s->pkt);
	s->pkt->data = NULL;
	s->pkt->size = 0;
	ret = mux_result(s, ret);
	if (ret < 0)
		return ret;
	if (!s->started) {
		s->started = true;
		s->first_pts = pts;
	}
	if (s->codec != REC_SEG_OPUS) {
		s->recent[s->frames % RECENT] = ts;
		s->last_dts = dts;
		memcpy(s->ptsbuf, s->next_ptsbuf, sizeof(s->ptsbuf));
	}
	s->last_ts = ts;
	s->frames++;
	return 0;
}

int rec_seg_sync(struct rec_seg *s)
{
	int ret;

	if (s->err)
		return s->err;
	/* A NULL packet makes mpegts write the PES it holds back (audio); then empty avio. */
	ret = av_write_frame(s->fmt, NULL);
	avio_flush(s->pb);
	ret = mux_result(s, ret < 0 ? ret : 0);
	if (ret < 0)
		return ret;
	ret = rec_out_sync(&s->out);
	if (ret < 0 && ret != -EBUSY)
		return seg_fail(s, ret);
	return ret;
}

int rec_seg_close(struct rec_seg *s, char sha256_hex[65], uint64_t *size)
{
	int ret = s->err;

	sha256_hex[0] = '\0';
	*size = 0;
	if (!ret) {
		ret = av_write_trailer(s->fmt);
		avio_flush(s->pb);
		ret = mux_result(s, ret);
	}
	if (!ret)
		ret = rec_out_seal(&s->out, sha256_hex, size);
	else
		rec_out_abort(&s->out);
	seg_free(s);
	return ret;
}

void rec_seg_abort(struct rec_seg *s)
{
	if (!s)
		return;
	rec_out_abort(&s->out);
	seg_free(s);
}

uint64_t rec_seg_frames(const struct rec_seg *s)
{
	return s->frames;
}

uint64_t rec_seg_bytes(const struct rec_seg *s)
{
	return s->out.size;
}
