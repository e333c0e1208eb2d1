/* caasctl, the operator CLI: parses its words against the command table, sends one request to
 * caasd's control socket and prints the reply as a table, "key: value" lines or JSON. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "mgmt/caasctl_record.h"
#include "mgmt/client.h"
#include "mgmt/cmds.h"
#include "mgmt/defaults.h"
#include "mgmt/help.h"
#include "mgmt/render.h"

#define EXIT_USAGE 2

struct opts {
	const char *socket;
	bool json;
	bool help;
	int timeout_ms;
};

__attribute__((format(printf, 2, 3))) static int complain(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("caasctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return status;
}

static int overview(FILE *f)
{
	char *text;
	if (mg_help_text("caasctl", NULL, &text))
		return complain(EXIT_FAILURE, "out of memory");
	fprintf(f,
	        "usage: caasctl [-s PATH] [--json] [--timeout SECONDS] COMMAND [ARGS]\n"
	        "\n"
	        "options:\n"
	        "  -s, --socket PATH    caasd's control socket (default: $%s, else %s)\n"
	        "  --json               print the result as JSON, for scripts\n"
	        "  --timeout SECONDS    how long to wait for caasd (default: %d)\n"
	        "  -h, --help           this text; after a command, that command's help\n"
	        "\n%s",
	        MG_SOCKET_ENV, MG_DEFAULT_SOCKET, MG_DEFAULT_TIMEOUT_MS / 1000, text);
	free(text);
	return EXIT_SUCCESS;
}

static int print_json(const json_t *v)
{
	json_t *empty = v ? NULL : json_object();
	char *s = json_dumps(v ? v : empty, JSON_INDENT(2) | JSON_ENCODE_ANY);
	json_decref(empty);
	if (!s)
		return complain(EXIT_FAILURE, "out of memory");
	puts(s);
	free(s);
	return EXIT_SUCCESS;
}

static int parse_timeout(const char *s, struct opts *o)
{
	char *end;
	double t = strtod(s, &end);
	if (end == s || *end || !isfinite(t) || t < 0.001 || t > 3600)
		return complain(EXIT_USAGE,
		                "--timeout: \"%s\" is not a number of seconds (0.001..3600)", s);
	o->timeout_ms = (int)(t * 1000 + 0.5);
	return 0;
}

/* Options before the command. Returns the index of the command's first word, or -status. */
static int parse_global(int argc, char **argv, struct opts *o)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		int rc = 0;
		if (!strcmp(a, "--"))
			return i + 1;
		if (!strcmp(a, "-s") || !strcmp(a, "--socket") || !strcmp(a, "--timeout")) {
			if (i + 1 >= argc)
				return -complain(EXIT_USAGE, "%s needs a value", a);
			if (!strcmp(a, "--timeout"))
				rc = parse_timeout(argv[++i], o);
			else
				o->socket = argv[++i];
		} else if (!strncmp(a, "--socket=", 9)) {
			o->socket = a + 9;
		} else if (!strncmp(a, "--timeout=", 10)) {
			rc = parse_timeout(a + 10, o);
		} else if (!strcmp(a, "--json")) {
			o->json = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			o->help = true;
		} else {
			return -complain(EXIT_USAGE, "unknown option %s (try 'caasctl --help')", a);
		}
		if (rc)
			return -rc;
	}
	return i;
}

/* "--json" and "--help" also work after the command ("caasctl device list --json"); the table
 * keeps those names free. Words after "--" are left alone. */
static int strip_late_options(int argc, char **argv, struct opts *o)
{
	int n = 0;
	bool done = false;
	for (int i = 0; i < argc; i++) {
		if (!done && !strcmp(argv[i], "--json"))
			o->json = true;
		else if (!done && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")))
			o->help = true;
		else
			argv[n++] = argv[i];
		if (!strcmp(argv[i], "--"))
			done = true;
	}
	return n;
}

static int unknown_command(int argc, char **argv)
{
	char subs[256] = "";
	size_t off = 0, plen = strlen(argv[0]);
	for (size_t i = 0; i < mg_cmd_count(); i++) {
		const char *name = mg_cmd_at(i)->name;
		if (!strncmp(name, argv[0], plen) && name[plen] == ' ' && off < sizeof(subs))
			off += (size_t)snprintf(subs + off, sizeof(subs) - off, "%s%s",
			                        off ? ", " : "", name + plen + 1);
	}
	if (!subs[0])
		return complain(EXIT_USAGE, "unknown command \"%s\" (try 'caasctl help')", argv[0]);
	if (argc == 1)
		return complain(EXIT_USAGE, "\"%s\" needs one of: %s", argv[0], subs);
	return complain(EXIT_USAGE, "unknown command \"%s %s\" (\"%s\" takes one of: %s)", argv[0],
	                argv[1], argv[0], subs);
}

static int do_help(const json_t *args, const struct opts *o)
{
	const char *topic = json_string_value(json_object_get(args, "command"));
	int rc;
	if (o->json) {
		json_t *h;
		rc = mg_help_json(topic, &h);
		if (!rc) {
			rc = print_json(h);
			json_decref(h);
			return rc;
		}
	} else if (!topic) {
		return overview(stdout);
	} else {
		char *text;
		rc = mg_help_text("caasctl", topic, &text);
		if (!rc) {
			fputs(text, stdout);
			free(text);
			return EXIT_SUCCESS;
		}
	}
	if (rc == -ENOENT)
		return complain(EXIT_USAGE, "help: unknown command \"%s\"", topic);
	return complain(EXIT_FAILURE, "out of memory");
}

/* Our version always; caasd's when it answers. */
static int do_version(const char *path, const struct opts *o)
{
	char err[MG_ERR_MAX];
	struct mg_client cl;
	json_t *mine = mg_version_json(), *theirs = NULL;
	int rc = mg_client_open(&cl, path, o->timeout_ms, err, sizeof(err));
	if (!rc)
		rc = mg_client_call(&cl, "version", NULL, o->timeout_ms, &theirs, err, sizeof(err));
	mg_client_close(&cl);

	if (o->json) {
		json_t *both = json_pack("{s:O, s:O?}", "caasctl", mine, "caasd", theirs);
		print_json(both);
		json_decref(both);
	} else {
		printf("caasctl %s (protocol %d)\n", MG_VERSION, MG_PROTOCOL_VERSION);
		if (!rc)
			printf("caasd %s (protocol %" JSON_INTEGER_FORMAT ")\n",
			       json_string_value(json_object_get(theirs, "version")),
			       json_integer_value(json_object_get(theirs, "protocol")));
	}
	json_decref(mine);
	json_decref(theirs);
	return rc ? complain(EXIT_FAILURE, "%s", err) : EXIT_SUCCESS;
}

/* snapshot: caasd answers with the JPEG in base64; it goes to the -o file (written whole, then
 * renamed into place, so a wall that polls the file never reads half a picture). */
static int write_snapshot(const char *file, json_t *result, const struct opts *o)
{
	const char *b64 = json_string_value(json_object_get(result, "jpeg_base64"));
	size_t n = b64 ? strlen(b64) : 0;
	char tmp[4200];
	int len;

	if (!n || n % 4)
		return complain(EXIT_FAILURE, "snapshot: caasd's reply carries no picture");
	unsigned char *jpeg = malloc(n / 4 * 3);
	if (!jpeg)
		return complain(EXIT_FAILURE, "out of memory");
	len = EVP_DecodeBlock(jpeg, (const unsigned char *)b64, (int)n);
	if (len < 0) {
		free(jpeg);
		return complain(EXIT_FAILURE, "snapshot: caasd's reply is not base64");
	}
	len -= (b64[n - 1] == '=') + (b64[n - 2] == '='); /* the padding decodes to zeros */
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	FILE *f = fopen(tmp, "wb");
	bool ok = f && fwrite(jpeg, 1, (size_t)len, f) == (size_t)len;
	ok = f && fclose(f) == 0 && ok;
	free(jpeg);
	if (!ok || rename(tmp, file) < 0) {
		int e = errno;
		unlink(tmp);
		return complain(EXIT_FAILURE, "snapshot: writing %s: %s", file, strerror(e));
	}
	json_object_del(result, "jpeg_base64");
	json_object_set_new(result, "file", json_string(file));
	if (o->json)
		return print_json(result);
	printf("%s: %lldx%lld JPEG, %d bytes, from %s\n", file,
	       (long long)json_integer_value(json_object_get(result, "width")),
	       (long long)json_integer_value(json_object_get(result, "height")), len,
	       json_string_value(json_object_get(result, "stream")));
	return EXIT_SUCCESS;
}

static int run(const char *path, const struct mg_cmd *cmd, json_t *args, const struct opts *o)
{
	char err[MG_ERR_MAX];
	struct mg_client cl;
	json_t *result = NULL;
	int rc = mg_client_open(&cl, path, o->timeout_ms, err, sizeof(err));
	if (!rc)
		rc = mg_client_call(&cl, cmd->name, args, o->timeout_ms, &result, err, sizeof(err));
	mg_client_close(&cl);
	if (rc)
		return complain(EXIT_FAILURE, "%s", err);

	int status = EXIT_SUCCESS;
	if (!strcmp(cmd->name, "snapshot")) {
		status = write_snapshot(json_string_value(json_object_get(args, "o")), result, o);
	} else if (o->json) {
		status = print_json(result);
	} else {
		rc = mg_render(stdout, cmd, result);
		if (rc == -EBADMSG)
			status = complain(EXIT_FAILURE, "%s: caasd's reply has no \"%s\"",
			                  cmd->name, cmd->print_key);
		else if (rc)
			status = complain(EXIT_FAILURE, "%s: printing the reply: %s", cmd->name,
			                  strerror(-rc));
	}
	json_decref(result);
	return status;
}

/* caasctl events: one JSON line per event; with --follow, ask again every 0.5 s for what came
 * since, until interrupted (or caasd goes away: exit 1). */
static int do_events(const char *path, json_t *args, const struct opts *o)
{
	bool follow = json_is_true(json_object_get(args, "follow"));
	char err[MG_ERR_MAX];
	struct mg_client cl;
	int rc = mg_client_open(&cl, path, o->timeout_ms, err, sizeof(err));

	json_object_del(args, "follow");
	while (!rc) {
		json_t *result = NULL, *ev;
		size_t i;

		rc = mg_client_call(&cl, "events", args, o->timeout_ms, &result, err, sizeof(err));
		if (rc)
			break;
		if (json_integer_value(json_object_get(result, "lost")))
			fprintf(stderr,
			        "caasctl: %" JSON_INTEGER_FORMAT " events were overwritten\n",
			        json_integer_value(json_object_get(result, "lost")));
		json_array_foreach(json_object_get(result, "events"), i, ev)
		{
			char *line = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
			if (line)
				puts(line);
			free(line);
		}
		fflush(stdout);
		json_object_set(args, "since", json_object_get(result, "next"));
		json_decref(result);
		if (!follow || ferror(stdout))
			break;
		usleep(500000);
	}
	mg_client_close(&cl);
	return rc ? complain(EXIT_FAILURE, "%s", err) : EXIT_SUCCESS;
}

/* A command caasctl carries out itself: defaults filled in as caasd would, then run here. */
static int client_cmd(const struct mg_cmd *cmd, json_t *args, const char *path,
                      const struct opts *o, char *err, size_t errlen)
{
	json_t *checked;
	int status;

	if (mg_args_check(cmd, args, &checked, err, errlen))
		return complain(EXIT_USAGE, "%s", err);
	status = caasctl_record(cmd->name, checked, path, o->timeout_ms, o->json);
	json_decref(checked);
	return status;
}

static bool wants_pool(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--pool") || !strncmp(argv[i], "--pool=", 7))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct opts o = {.timeout_ms = MG_DEFAULT_TIMEOUT_MS};
	char err[MG_ERR_MAX];

	int first = parse_global(argc, argv, &o);
	if (first < 0)
		return -first;
	char **words = argv + first;
	int nwords = strip_late_options(argc - first, words, &o);
	if (nwords == 0) {
		if (o.help)
			return overview(stdout);
		return complain(EXIT_USAGE, "no command given (try 'caasctl help')");
	}

	/* "caasctl help DEVICE --pool P" is an officer's help request; "caasctl help [COMMAND]"
	 * stays the manual. */
	char *rewritten[256];
	if (!strcmp(words[0], "help") && nwords > 1 && nwords < 255 &&
	    wants_pool(nwords - 1, words + 1)) {
		rewritten[0] = words[0];
		rewritten[1] = (char *)"request";
		memcpy(rewritten + 2, words + 1, sizeof(char *) * (size_t)(nwords - 1));
		words = rewritten;
		nwords++;
	}

	const struct mg_cmd *cmd;
	int taken = mg_cmd_match(nwords, words, &cmd);
	if (!cmd)
		return unknown_command(nwords, words);
	if (o.help) {
		char *text;
		if (mg_help_text("caasctl", cmd->name, &text))
			return complain(EXIT_FAILURE, "out of memory");
		fputs(text, stdout);
		free(text);
		return EXIT_SUCCESS;
	}

	json_t *args;
	if (mg_args_from_argv(cmd, nwords - taken, words + taken, &args, err, sizeof(err)))
		return complain(EXIT_USAGE, "%s", err);

	const char *path = o.socket;
	if (!path || !*path)
		path = getenv(MG_SOCKET_ENV);
	if (!path || !*path)
		path = MG_DEFAULT_SOCKET;

	int status;
	if (!strcmp(cmd->name, "help"))
		status = do_help(args, &o);
	else if (!strcmp(cmd->name, "version"))
		status = do_version(path, &o);
	else if (!strcmp(cmd->name, "events"))
		status = do_events(path, args, &o);
	else if (cmd->flags & MG_CMD_CLIENT)
		status = client_cmd(cmd, args, path, &o, err, sizeof(err));
	else
		status = run(path, cmd, args, &o);
	json_decref(args);

	if (fflush(stdout) != 0 || ferror(stdout))
		return complain(EXIT_FAILURE, "writing the output: %s", strerror(errno));
	return status;
}
