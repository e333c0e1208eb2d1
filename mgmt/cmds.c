/* The command table and lookups. Adding a command is one entry here plus, in caasd, a handler
 * bound to its name. */
#include "cmds.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define REQ   MG_ARG_REQUIRED
#define POS   MG_ARG_POSITIONAL
#define ARGS  (const struct mg_arg[])
#define COLS  (const struct mg_col[])
#define WORDS (const char *const[])

static const char *const codecs[] = {"h264", "h265", "opus", "pcma", "pcmu", "aac", NULL};

/* The one argument of every command that acts on a subscription. */
static const struct mg_arg sub_id_args[] = {
    {.name = "id",
     .type = MG_TYPE_INT,
     .flags = REQ | POS,
     .min = 1,
     .max = UINT32_MAX,
     .meta = "ID",
     .help = "subscription id"},
    {0},
};

static const struct mg_cmd cmds[] = {
    {
        .name = "status",
        .help = "show ports, lcores, packet rates and drops by reason",
    },
    {
        .name = "device add",
        .help = "register a camera: RTP sent to its UDP port becomes a stream of the same name",
        .args =
            ARGS{
                {.name = "name",
                 .type = MG_TYPE_NAME,
                 .flags = REQ | POS,
                 .help = "device and stream name"},
                {.name = "port",
                 .type = MG_TYPE_INT,
                 .flags = REQ,
                 .min = 1,
                 .max = 65535,
                 .meta = "N",
                 .help = "UDP port the camera sends RTP to"},
                {.name = "codec",
                 .type = MG_TYPE_ENUM,
                 .flags = REQ,
                 .words = codecs,
                 .help = "what the camera sends"},
                {.name = "pt",
                 .type = MG_TYPE_INT,
                 .flags = REQ,
                 .min = 0,
                 .max = 127,
                 .meta = "PT",
                 .help = "RTP payload type"},
                {.name = "clock",
                 .type = MG_TYPE_INT,
                 .min = 1000,
                 .max = 1000000,
                 .meta = "HZ",
                 .help = "RTP clock rate; the codec's usual rate when absent"},
                {.name = "src",
                 .type = MG_TYPE_CIDR,
                 .meta = "CIDR",
                 .help = "accept packets only from this source prefix"},
                {.name = "ssrc",
                 .type = MG_TYPE_HEX,
                 .min = 0,
                 .max = UINT32_MAX,
                 .meta = "X",
                 .help = "accept only this SSRC"},
                {.name = "rtcp_mux",
                 .type = MG_TYPE_BOOL,
                 .def = "no",
                 .help = "RTCP on the RTP port (RFC 5761) rather than the next one"},
                {.name = "record",
                 .type = MG_TYPE_BOOL,
                 .def = "yes",
                 .help = "record the stream as evidence (when caasd records at all)"},
                {.name = "talkback_port",
                 .type = MG_TYPE_INT,
                 .min = 1,
                 .max = 65535,
                 .meta = "N",
                 .help = "the camera's UDP port for the experts' voice (talk-back)"},
                {0},
            },
    },
    {
        .name = "device list",
        .help = "list devices",
        .cols =
            COLS{
                {.key = "name", .header = "NAME"},
                {.key = "port", .header = "PORT"},
                {.key = "codec", .header = "CODEC"},
                {.key = "pt", .header = "PT"},
                {.key = "clock", .header = "CLOCK", .unit = " Hz"},
                {.key = "src", .header = "SRC"},
                {.key = "ssrc", .header = "SSRC", .flags = MG_COL_HEX},
                {.key = "state", .header = "STATE"},
                {0},
            },
    },
    {
        .name = "device del",
        .help = "remove a device, its stream and the stream's subscriptions",
        .args =
            ARGS{
                {.name = "name", .type = MG_TYPE_NAME, .flags = REQ | POS, .help = "device name"},
                {0},
            },
    },
    {
        .name = "stream list",
        .help = "list streams with their receive statistics",
        .cols =
            COLS{
                {.key = "name", .header = "NAME"},
                {.key = "state", .header = "STATE"},
                {.key = "packets", .header = "PACKETS"},
                {.key = "bitrate_kbps", .header = "BITRATE", .unit = " kbit/s"},
                {.key = "loss_pct", .header = "LOSS", .unit = "%"},
                {.key = "jitter_ms", .header = "JITTER", .unit = " ms"},
                {.key = "keyframes", .header = "KEYFRAMES"},
                {.key = "subscribers", .header = "SUBS"},
                {.key = "idle_s", .header = "IDLE", .unit = " s"},
                {0},
            },
    },
    {
        .name = "stream show",
        .help = "show one stream in detail",
        .args =
            ARGS{
                {.name = "name", .type = MG_TYPE_NAME, .flags = REQ | POS, .help = "stream name"},
                {0},
            },
        /* No table for an object; these give its numbers their units. */
        .cols =
            COLS{
                {.key = "bitrate_kbps", .unit = " kbit/s"},
                {.key = "loss_pct", .unit = "%"},
                {.key = "jitter_ms", .unit = " ms"},
                {.key = "idle_s", .unit = " s"},
                {.key = "clock", .unit = " Hz"},
                {.key = "ssrc", .flags = MG_COL_HEX},
                {0},
            },
    },
    {
        .name = "sub add",
        .help = "send a stream to an expert; prints the subscription id",
        .args =
            ARGS{
                {.name = "stream",
                 .type = MG_TYPE_NAME,
                 .flags = REQ | POS,
                 .help = "stream to send"},
                {.name = "to",
                 .type = MG_TYPE_ADDR,
                 .flags = REQ,
                 .meta = "IP:PORT",
                 .help = "where the expert receives RTP"},
                {.name = "rtcp_port",
                 .type = MG_TYPE_INT,
                 .min = 1,
                 .max = 65535,
                 .meta = "P",
                 .help = "the expert's RTCP port; the RTP port + 1 when absent"},
                {.name = "paused",
                 .type = MG_TYPE_BOOL,
                 .flags = MG_ARG_FLAG,
                 .def = "no",
                 .help = "create it without sending until \"sub resume\""},
                {.name = "rendition",
                 .type = MG_TYPE_NAME,
                 .meta = "NAME",
                 .help = "send this rendition of the stream (see rendition add) instead of "
                         "the camera's own"},
                {0},
            },
        .print_key = "id",
    },
    {
        .name = "sub list",
        .help = "list subscriptions",
        .cols =
            COLS{
                {.key = "id", .header = "ID"},
                {.key = "stream", .header = "STREAM"},
                {.key = "to", .header = "TO"},
                {.key = "state", .header = "STATE"},
                {.key = "packets", .header = "PACKETS"},
                {.key = "loss_pct", .header = "LOSS", .unit = "%"},
                {.key = "rtt_ms", .header = "RTT", .unit = " ms"},
                {0},
            },
    },
    {
        .name = "sub del",
        .help = "stop and remove a subscription",
        .args = sub_id_args,
    },
    {
        .name = "sub sdp",
        .help = "print the SDP an expert's player opens (ffplay, VLC)",
        .args = sub_id_args,
        .print_key = "sdp",
    },
    {
        .name = "sub resume",
        .help = "start sending a paused subscription",
        .args = sub_id_args,
    },
    {
        .name = "record list",
        .help = "list recordings: state, chunk, packets journaled, drops, sealed files",
        .args =
            ARGS{
                {.name = "stream", .type = MG_TYPE_NAME, .flags = POS, .help = "only this one"},
                {0},
            },
        .cols =
            COLS{
                {.key = "name", .header = "STREAM"},
                {.key = "state", .header = "STATE"},
                {.key = "chunk", .header = "CHUNK"},
                {.key = "packets", .header = "PACKETS"},
                {.key = "mbytes", .header = "WRITTEN", .unit = " MB"},
                {.key = "dropped", .header = "DROPPED"},
                {.key = "sealed", .header = "SEALED"},
                {.key = "errors", .header = "ERRORS"},
                {.key = "entries", .header = "ENTRIES"},
                {0},
            },
    },
    {
        .name = "record start",
        .help = "start recording a stream (a new chunk begins at once)",
        .args =
            ARGS{
                {.name = "stream", .type = MG_TYPE_NAME, .flags = REQ | POS, .help = "stream"},
                {0},
            },
    },
    {
        .name = "record stop",
        .help = "stop recording a stream: its open chunk is sealed into the manifest",
        .args =
            ARGS{
                {.name = "stream", .type = MG_TYPE_NAME, .flags = REQ | POS, .help = "stream"},
                {0},
            },
    },
    {
        .name = "record verify",
        .help = "check a recording: hash chain, signatures, every file's SHA-256 (local)",
        .args =
            ARGS{
                {.name = "path",
                 .type = MG_TYPE_STRING,
                 .flags = REQ | POS,
                 .min = 1,
                 .max = 4095,
                 .meta = "PATH",
                 .help = "manifest.jsonl, or the stream directory holding it"},
                {.name = "key",
                 .type = MG_TYPE_STRING,
                 .min = 1,
                 .max = 4095,
                 .meta = "PUB.pem",
                 .help = "the site's public key; without it the manifest's own key line is "
                         "used and its key id printed to compare"},
                {0},
            },
        .flags = MG_CMD_CLIENT,
    },
    {
        .name = "record export",
        .help = "export a time range: pcap from the journal, MP4 from the segments (local)",
        .args =
            ARGS{
                {.name = "stream", .type = MG_TYPE_NAME, .flags = REQ | POS, .help = "stream"},
                {.name = "from",
                 .type = MG_TYPE_STRING,
                 .min = 1,
                 .max = 64,
                 .meta = "TIME",
                 .def = "@0",
                 .help = "start: 2026-11-27T10:00:00Z, @UNIXSECONDS, now-5m"},
                {.name = "to",
                 .type = MG_TYPE_STRING,
                 .min = 1,
                 .max = 64,
                 .meta = "TIME",
                 .def = "now",
                 .help = "end, the same forms"},
                {.name = "o",
                 .type = MG_TYPE_STRING,
                 .flags = REQ,
                 .min = 1,
                 .max = 4095,
                 .meta = "FILE",
                 .help = "output file; .pcap or .mp4 chooses the format"},
                {.name = "dir",
                 .type = MG_TYPE_STRING,
                 .min = 1,
                 .max = 4095,
                 .meta = "DIR",
                 .help = "the record directory; asked of caasd when absent"},
                {0},
            },
        .flags = MG_CMD_CLIENT,
    },
    {
        .name = "pool add",
        .help = "create an expert pool (a specialty)",
        .args =
            ARGS{
                {.name = "name", .type = MG_TYPE_NAME, .flags = REQ | POS, .help = "pool name"},
                {.name = "skills",
                 .type = MG_TYPE_STRING,
                 .min = 1,
                 .max = 128,
                 .meta = "a,b",
                 .help = "what its experts know, for listings"},
                {0},
            },
    },
    {
        .name = "rendition add",
        .help = "define a rendition: streams are transcoded to it for subscribers that ask",
        .args =
            ARGS{
                {.name = "name", .type = MG_TYPE_NAME, .flags = REQ | POS, .help = "rendition"},
                {.name = "height",
                 .type = MG_TYPE_INT,
                 .flags = REQ,
                 .min = 16,
                 .max = 4320,
                 .meta = "H",
                 .help = "picture height (even); the width keeps the source's aspect"},
                {.name = "kbps",
                 .type = MG_TYPE_INT,
                 .flags = REQ,
                 .min = 16,
                 .max = 200000,
                 .meta = "K",
                 .help = "bit rate, kbit/s (constant over any half second)"},
                {.name = "fps",
                 .type = MG_TYPE_INT,
                 .min = 0,
                 .max = 240,
                 .def = "0",
                 .meta = "F",
                 .help = "frame rate; 0 keeps the source's"},
                {.name = "codec",
                 .type = MG_TYPE_ENUM,
                 .words = WORDS{"h264", "h265", NULL},
                 .def = "h264",
                 .help = "encoder"},
                {0},
            },
    },
    {
        .name = "rendition list",
        .help = "list renditions and the streams transcoded to them",
        .cols =
            COLS{
                {.key = "name", .header = "RENDITION"},
                {.key = "height", .header = "HEIGHT"},
                {.key = "kbps", .header = "KBPS"},
                {.key = "fps", .header = "FPS"},
                {.key = "codec", .header = "CODEC"},
                {.key = "streams", .header = "STREAMS"},
                {.key = "subscribers", .header = "SUBS"},
                {.key = "frames", .header = "FRAMES"},
                {.key = "skipped", .header = "SKIPPED"},
                {0},
            },
    },
    {
        .name = "rendition del",
        .help = "remove a rendition no subscriber uses",
        .args =
            ARGS{
                {.name = "name", .type = MG_TYPE_NAME, .flags = REQ | POS, .help = "rendition"},
                {0},
            },
    },
    {
        .name = "transcode list",
        .help = "transcode sessions: per stream, its worker, decoder and renditions",
        .cols =
            COLS{
                {.key = "stream", .header = "STREAM"},
                {.key = "worker", .header = "WORKER"},
                {.key = "source_kbps", .header = "SOURCE", .unit = " kbit/s"},
                {.key = "frames_in", .header = "FRAMES"},
                {.key = "late", .header = "LATE"},
                {.key = "dropped", .header = "DROPPED"},
                {.key = "decode_errors", .header = "ERRORS"},
                {.key = "bridge_joins", .header = "BRIDGED"},
                {.key = "outputs", .header = "RENDITIONS"},
                {0},
            },
    },
    {
        .name = "snapshot",
        .help = "write the stream's latest picture as JPEG",
        .args =
            ARGS{
                {.name = "stream", .type = MG_TYPE_NAME, .flags = REQ | POS, .help = "stream"},
                {.name = "o",
                 .type = MG_TYPE_STRING,
                 .flags = REQ,
                 .min = 1,
                 .max = 4095,
                 .meta = "FILE.jpg",
                 .help = "where caasctl writes the picture"},
                {0},
            },
    },
    {
        .name = "pool list",
        .help = "list pools: experts, available, sessions, free slots, waiting requests",
        .cols =
            COLS{
                {.key = "name", .header = "POOL"},
                {.key = "skills", .header = "SKILLS"},
                {.key = "experts", .header = "EXPERTS"},
                {.key = "available", .header = "AVAILABLE"},
                {.key = "sessions", .header = "SESSIONS"},
                {.key = "free", .header = "FREE"},
                {.key = "queued", .header = "WAITING"},
                {0},
            },
    },
    {
        .name = "pool del",
        .help = "remove a pool without experts or open requests",
        .args =
            ARGS{
                {.name = "name", .type = MG_TYPE_NAME, .flags = REQ | POS, .help = "pool name"},
                {0},
            },
    },
    {
        .name = "expert add",
        .help = "register an expert of a pool: session k is sent to IP:PORT+2k",
        .args =
            ARGS{
                {.name = "name", .type = MG_TYPE_NAME, .flags = REQ | POS, .help = "expert name"},
                {.name = "pool", .type = MG_TYPE_NAME, .flags = REQ, .help = "its pool"},
                {.name = "to",
                 .type = MG_TYPE_ADDR,
                 .flags = REQ,
                 .help = "where its client receives: the first session's RTP port"},
                {.name = "audio_from_port",
                 .type = MG_TYPE_INT,
                 .min = 1,
                 .max = 65535,
                 .meta = "N",
                 .help = "the UDP port its talk-back audio comes from"},
                {.name = "audio_to_port",
                 .type = MG_TYPE_INT,
                 .min = 1,
                 .max = 65535,
                 .meta = "N",
                 .help = "where it hears the other participants' voices (three-party)"},
                {.name = "capacity",
                 .type = MG_TYPE_INT,
                 .min = 1,
                 .max = 64,
                 .meta = "N",
                 .def = "1",
                 .help = "sessions (teams) it guides at once"},
                {.name = "max_kbps",
                 .type = MG_TYPE_INT,
                 .min = 0,
                 .max = 10000000,
                 .meta = "K",
                 .def = "0",
                 .help = "what its link carries; 0 for any"},
                {.name = "auto_accept",
                 .type = MG_TYPE_BOOL,
                 .flags = MG_ARG_FLAG,
                 .def = "no",
                 .help = "sessions start at once, without help accept"},
                {0},
            },
    },
    {
        .name = "expert set",
        .help = "make an expert available or not, or change its capacity",
        .args =
            ARGS{
                {.name = "name", .type = MG_TYPE_NAME, .flags = REQ | POS, .help = "expert name"},
                {.name = "available", .type = MG_TYPE_BOOL, .help = "takes new sessions"},
                {.name = "capacity",
                 .type = MG_TYPE_INT,
                 .min = 1,
                 .max = 64,
                 .meta = "N",
                 .help = "sessions at once"},
                {0},
            },
    },
    {
        .name = "expert list",
        .help = "list experts with their load and sessions",
        .cols =
            COLS{
                {.key = "name", .header = "EXPERT"},
                {.key = "pool", .header = "POOL"},
                {.key = "to", .header = "TO"},
                {.key = "available", .header = "AVAILABLE"},
                {.key = "sessions", .header = "SESSIONS"},
                {.key = "capacity", .header = "CAPACITY"},
                {.key = "load_pct", .header = "LOAD", .unit = "%"},
                {0},
            },
    },
    {
        .name = "expert del",
        .help = "remove an expert; its sessions end",
        .args =
            ARGS{
                {.name = "name", .type = MG_TYPE_NAME, .flags = REQ | POS, .help = "expert name"},
                {0},
            },
    },
    {
        .name = "expert sdp",
        .help = "print the SDP of what an expert receives, one per session",
        .args =
            ARGS{
                {.name = "name", .type = MG_TYPE_NAME, .flags = REQ | POS, .help = "expert name"},
                {0},
            },
        .print_key = "sdp",
    },
    {
        .name = "help request",
        .help = "an officer asks for help: `caasctl help DEVICE --pool P` (prints the request id)",
        .args =
            ARGS{
                {.name = "device", .type = MG_TYPE_NAME, .flags = REQ | POS, .help = "device"},
                {.name = "pool", .type = MG_TYPE_NAME, .flags = REQ, .help = "the specialty"},
                {.name = "priority",
                 .type = MG_TYPE_INT,
                 .min = -1000,
                 .max = 1000,
                 .meta = "N",
                 .def = "0",
                 .help = "higher first while requests wait"},
                {.name = "with",
                 .type = MG_TYPE_NAME,
                 .meta = "EXPERT",
                 .help = "a third participant (another expert) who joins the session"},
                {0},
            },
        .print_key = "id",
    },
    {
        .name = "help accept",
        .help = "the assigned expert accepts a request: its media starts",
        .args =
            ARGS{
                {.name = "id",
                 .type = MG_TYPE_INT,
                 .flags = REQ | POS,
                 .min = 1,
                 .max = INT64_MAX,
                 .meta = "ID",
                 .help = "request id"},
                {.name = "by",
                 .type = MG_TYPE_NAME,
                 .meta = "EXPERT",
                 .help = "who accepts (must be the assigned expert)"},
                {0},
            },
    },
    {
        .name = "help end",
        .help = "end a help request (waiting or in session)",
        .args =
            ARGS{
                {.name = "id",
                 .type = MG_TYPE_INT,
                 .flags = REQ | POS,
                 .min = 1,
                 .max = INT64_MAX,
                 .meta = "ID",
                 .help = "request id"},
                {0},
            },
    },
    {
        .name = "help list",
        .help = "list active and waiting help requests with their waiting times",
        .cols =
            COLS{
                {.key = "id", .header = "ID"},
                {.key = "device", .header = "DEVICE"},
                {.key = "pool", .header = "POOL"},
                {.key = "state", .header = "STATE"},
                {.key = "expert", .header = "EXPERT"},
                {.key = "with", .header = "WITH"},
                {.key = "priority", .header = "PRIO"},
                {.key = "position", .header = "QUEUE"},
                {.key = "waited_s", .header = "WAITED", .unit = " s"},
                {.key = "sub", .header = "SUB"},
                {0},
            },
    },
    {
        .name = "events",
        .help = "what changed: streams up/down, loss, help requests, chunks sealed, alarms",
        .args =
            ARGS{
                {.name = "since",
                 .type = MG_TYPE_INT,
                 .min = 0,
                 .max = INT64_MAX,
                 .meta = "SEQ",
                 .help = "from this sequence number (default: the last 20)"},
                {.name = "follow",
                 .type = MG_TYPE_BOOL,
                 .flags = MG_ARG_FLAG,
                 .def = "no",
                 .help = "keep printing new events as they come (caasctl asks every 0.5 s)"},
                {0},
            },
    },
    {
        .name = "tune show",
        .help = "list what can change at run time, with values, ranges and where it applies",
        .cols =
            COLS{
                {.key = "key", .header = "KEY"},
                {.key = "value", .header = "VALUE"},
                {.key = "min", .header = "MIN"},
                {.key = "max", .header = "MAX"},
                {.key = "applies", .header = "APPLIES"},
                {0},
            },
    },
    {
        .name = "tune set",
        .help = "change a run-time setting now (the file is not rewritten)",
        .args =
            ARGS{
                {.name = "key",
                 .type = MG_TYPE_STRING,
                 .flags = REQ | POS,
                 .min = 1,
                 .max = 64,
                 .meta = "KEY",
                 .help = "section.key as in the file, e.g. rtcp.nack_retries"},
                {.name = "value",
                 .type = MG_TYPE_STRING,
                 .flags = REQ | POS,
                 .min = 1,
                 .max = 32,
                 .meta = "VALUE",
                 .help = "a number, or yes/no"},
                {0},
            },
    },
    {
        .name = "config reload",
        .help = "read the configuration file again: apply what can change at run time, list "
                "what needs a restart",
    },
    {
        .name = "help",
        .help = "list commands, or describe one",
        .args =
            ARGS{
                {.name = "command",
                 .type = MG_TYPE_STRING,
                 .flags = POS | MG_ARG_REST,
                 .max = 64,
                 .meta = "COMMAND",
                 .help = "a command, or its first words"},
                {0},
            },
        .flags = MG_CMD_LOCAL,
    },
    {
        .name = "version",
        .help = "show the version of caasctl and caasd",
        .flags = MG_CMD_LOCAL,
    },
};

size_t mg_cmd_count(void)
{
	return sizeof(cmds) / sizeof(cmds[0]);
}

const struct mg_cmd *mg_cmd_at(size_t i)
{
	return i < mg_cmd_count() ? &cmds[i] : NULL;
}

const struct mg_cmd *mg_cmd_find(const char *name)
{
	for (size_t i = 0; i < mg_cmd_count(); i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

/* Words of name matched by argv, or 0 if argv does not start with all of them. */
static int words_matched(const char *name, int argc, char *const argv[])
{
	int n = 0;
	const char *p = name;
	while (*p) {
		size_t len = strcspn(p, " ");
		if (n >= argc || strlen(argv[n]) != len || strncmp(argv[n], p, len) != 0)
			return 0;
		n++;
		p += len;
		if (*p == ' ')
			p++;
	}
	return n;
}

int mg_cmd_match(int argc, char *const argv[], const struct mg_cmd **cmd)
{
	int best = 0;
	*cmd = NULL;
	for (size_t i = 0; i < mg_cmd_count(); i++) {
		int n = words_matched(cmds[i].name, argc, argv);
		if (n > best) {
			best = n;
			*cmd = &cmds[i];
		}
	}
	return best;
}

void mg_arg_meta(const struct mg_arg *a, char *buf, size_t len)
{
	if (a->meta) {
		snprintf(buf, len, "%s", a->meta);
	} else if (a->type == MG_TYPE_BOOL) {
		snprintf(buf, len, "yes|no");
	} else if (a->type == MG_TYPE_ENUM) {
		size_t off = 0;
		buf[0] = '\0';
		for (size_t i = 0; a->words[i] && off < len; i++)
			off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "|" : "",
			                        a->words[i]);
	} else {
		size_t i = 0;
		for (; a->name[i] && i + 1 < len; i++)
			buf[i] = (char)toupper((unsigned char)a->name[i]);
		buf[i] = '\0';
	}
}

void mg_arg_label(const struct mg_arg *a, char *buf, size_t len)
{
	if (a->flags & MG_ARG_POSITIONAL) {
		mg_arg_meta(a, buf, len);
		return;
	}
	if (a->name[0] && !a->name[1]) { /* one letter: -o */
		snprintf(buf, len, "-%s", a->name);
		return;
	}
	size_t i = 0;
	snprintf(buf, len, "--");
	for (i = 2; a->name[i - 2] && i + 1 < len; i++)
		buf[i] = a->name[i - 2] == '_' ? '-' : a->name[i - 2];
	if (len > 2)
		buf[i] = '\0';
}
