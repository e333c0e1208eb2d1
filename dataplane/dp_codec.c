/* Codec names and default RTP clock rates, as caasctl and SDP spell them. */
#include <errno.h>
#include <string.h>

#include "dp.h"

static const struct {
	const char *name;
	uint32_t clock;
} codecs[DP_CODEC_COUNT] = {
    [DP_H264] = {"h264", 90000}, [DP_H265] = {"h265", 90000}, [DP_OPUS] = {"opus", 48000},
    [DP_PCMA] = {"pcma", 8000},  [DP_PCMU] = {"pcmu", 8000},  [DP_AAC] = {"aac", 48000},
};

const char *dp_codec_name(enum dp_codec c)
{
	return c < DP_CODEC_COUNT ? codecs[c].name : "?";
}

int dp_codec_parse(const char *name, enum dp_codec *out)
{
	for (int i = 0; i < DP_CODEC_COUNT; i++) {
		if (name && !strcmp(name, codecs[i].name)) {
			*out = (enum dp_codec)i;
			return 0;
		}
	}
	return -EINVAL;
}

uint32_t dp_codec_default_clock(enum dp_codec c)
{
	return c < DP_CODEC_COUNT ? codecs[c].clock : 90000;
}
