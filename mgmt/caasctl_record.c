/* caasctl record verify / record export (see caasctl_record.h). */
#include "mgmt/caasctl_record.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "mgmt/client.h"
#include "net/net.h"
#include "record/export.h"
#include "record/manifest.h"

static int say_err(int status, const char *what, const char *msg)
{
	fprintf(stderr, "caasctl: %s: %s\n", what, msg);
	return status;
}

static const char *arg(const json_t *args, const char *name)
{
	return json_string_value(json_object_get(args, name));
}

static int print(json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(2));
	json_decref(o);
	if (!s)
		return EXIT_FAILURE;
	puts(s);
	free(s);
	return EXIT_SUCCESS;
}

static int verify(const json_t *args, bool json)
{
	const char *path = arg(args, "path"), *keypath = arg(args, "key");
	char manifest[PATH_MAX], msg[1024], err[512];
	struct rec_verify_result r;
	struct rec_key *key = NULL;
	struct stat st;
	int rc;

	if (!stat(path, &st) && S_ISDIR(st.st_mode))
		snprintf(manifest, sizeof(manifest), "%.*s/manifest.jsonl", PATH_MAX - 20, path);
	else
		snprintf(manifest, sizeof(manifest), "%s", path);
	if (keypath && rec_key_load_public_pem(keypath, &key, err, sizeof(err)))
		return say_err(EXIT_FAILURE, "record verify", err);
	rc = rec_manifest_verify(manifest, NULL, key, &r, msg, sizeof(msg));
	rec_key_free(key);
	if (json) {
		json_t *o = json_pack("{s:b, s:s, s:I, s:s, s:s, s:s}", "ok", rc == 0, "message",
		                      msg, "entries", (json_int_t)r.entries, "head", r.head,
		                      "key_id", r.key_id, "alg", rec_alg_name(r.alg));
		if (rc) {
			json_object_set_new(o, "bad_entry", json_integer((json_int_t)r.bad_seq));
			json_object_set_new(o, "bad_line", json_integer((json_int_t)r.bad_line));
			json_object_set_new(o, "bad_file", json_string(r.bad_file));
		}
		print(o);
		return rc ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	if (rc)
		return say_err(EXIT_FAILURE, "record verify", msg);
	puts(msg);
	return EXIT_SUCCESS;
}

/* What caasd knows that the export needs: the record dir and the camera's address. */
static void ask_caasd(const char *socket, int timeout_ms, const char *stream, char *dir,
                      size_t dirlen, char *source, size_t srclen)
{
	char err[256];
	struct mg_client cl;
	json_t *res = NULL, *sargs;

	if (mg_client_open(&cl, socket, timeout_ms, err, sizeof(err)))
		return;
	if (!mg_client_call(&cl, "status", NULL, timeout_ms, &res, err, sizeof(err))) {
		const char *d =
		    json_string_value(json_object_get(json_object_get(res, "record"), "dir"));
		if (d && !dir[0])
			snprintf(dir, dirlen, "%s", d);
	}
	json_decref(res);
	res = NULL;
	sargs = json_pack("{s:s}", "name", stream);
	if (!mg_client_call(&cl, "stream show", sargs, timeout_ms, &res, err, sizeof(err))) {
		const char *s = json_string_value(json_object_get(res, "source"));
		if (s)
			snprintf(source, srclen, "%s", s);
	}
	json_decref(sargs);
	json_decref(res);
	mg_client_close(&cl);
}

/* "a.b.c.d:port" into the pcap's camera end; the box end is 0.0.0.0 unless known. */
static void pcap_ends(const char *source, struct rec_pcap_ends *e)
{
	uint8_t a[16];
	uint16_t port;

	memset(e, 0, sizeof(*e));
	e->family = 4;
	e->cam_rtp_port = e->cam_rtcp_port = 5004;
	e->box_rtp_port = e->box_rtcp_port = 5004;
	if (net_hostport_parse(source, true, a, &port) == 4) {
		memcpy(e->cam_addr, a, 4);
		e->cam_rtp_port = e->cam_rtcp_port = port;
	}
}

static int export(const json_t *args, const char *socket, int timeout_ms, bool json)
{
	const char *stream = arg(args, "stream"), *out = arg(args, "o");
	char dir[PATH_MAX] = "", sdir[PATH_MAX + 80], source[96] = "", err[512];
	int64_t from, to, now;
	struct timespec ts;
	const char *dot = strrchr(out, '.');
	bool mp4 = dot && !strcasecmp(dot, ".mp4");
	long n;

	if (!dot || (!mp4 && strcasecmp(dot, ".pcap")))
		return say_err(2, "record export", "-o FILE must end in .pcap or .mp4");
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (rec_time_parse(arg(args, "from"), now, &from))
		return say_err(2, "record export",
		               "--from: not a time (2026-11-27T10:00:00Z, @SECONDS, now-5m)");
	if (rec_time_parse(arg(args, "to"), now, &to))
		return say_err(2, "record export",
		               "--to: not a time (2026-11-27T10:00:00Z, @SECONDS, now-5m)");
	if (arg(args, "dir"))
		snprintf(dir, sizeof(dir), "%s", arg(args, "dir"));
	ask_caasd(socket, timeout_ms, stream, dir, sizeof(dir), source, sizeof(source));
	if (!dir[0])
		return say_err(EXIT_FAILURE, "record export",
		               "caasd does not answer: give the record directory with --dir");
	snprintf(sdir, sizeof(sdir), "%s/%s", dir, stream);
	if (mp4) {
		n = rec_export_mp4(sdir, stream, from, to, out, err, sizeof(err));
	} else {
		struct rec_pcap_ends ends;
		pcap_ends(source, &ends);
		n = rec_export_pcap(sdir, stream, from, to, &ends, out, err, sizeof(err));
	}
	if (n < 0)
		return say_err(EXIT_FAILURE, "record export", err);
	if (json)
		return print(json_pack("{s:s, s:s, s:I, s:s}", "file", out, "format",
		                       mp4 ? "mp4" : "pcap", mp4 ? "frames" : "packets",
		                       (json_int_t)n, "stream", stream));
	printf("%s: %ld %s\n", out, n, mp4 ? "frames" : "packets");
	return EXIT_SUCCESS;
}

int caasctl_record(const char *cmd, const json_t *args, const char *socket, int timeout_ms,
                   bool json)
{
	if (!strcmp(cmd, "record verify"))
		return verify(args, json);
	if (!strcmp(cmd, "record export"))
		return export(args, socket, timeout_ms, json);
	return say_err(EXIT_FAILURE, cmd, "not a caasctl command");
}
