/* Argument validation against the command table: command-line words (caasctl) and JSON request
 * arguments (caasd) go through the same per-type checks, so both refuse the same values. */
#include "cmds.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 32
#define LABEL_LEN    64
#define SHOWN_LEN    48

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A value quoted back in a message: bounded, and without bytes that would upset a terminal. */
static const char *shown(const char *s, char buf[SHOWN_LEN])
{
	size_t i = 0;
	for (; s[i] && i < SHOWN_LEN - 4; i++)
		buf[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	if (s[i]) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* Who a message is about: the command, then the argument as the user wrote it. */
struct ctx {
	const char *cmd;
	const char *label;
	char *err;
	size_t errlen;
};

#define bad(c, fmt, ...)                                                                           \
	fail((c)->err, (c)->errlen, "%s: %s: " fmt, (c)->cmd, (c)->label, __VA_ARGS__)

static bool all_digits(const char *s, int base)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (base == 16 ? !isxdigit((unsigned char)*s) : !isdigit((unsigned char)*s))
			return false;
	return true;
}

static json_t *range_checked(const struct ctx *c, const struct mg_arg *a, int64_t v,
                             const char *as_written)
{
	char b[SHOWN_LEN];
	if (v >= a->min && v <= a->max)
		return json_integer(v);
	if (a->type == MG_TYPE_HEX && a->min >= 0)
		bad(c, "%s is out of range %" PRId64 "..0x%" PRIx64, shown(as_written, b), a->min,
		    a->max);
	else
		bad(c, "%s is out of range %" PRId64 "..%" PRId64, shown(as_written, b), a->min,
		    a->max);
	return NULL;
}

static json_t *parse_int(const struct ctx *c, const struct mg_arg *a, const char *w)
{
	char b[SHOWN_LEN];
	bool hex = a->type == MG_TYPE_HEX && (w[0] == '0' && (w[1] == 'x' || w[1] == 'X'));
	const char *digits = hex ? w + 2 : (w[0] == '-' ? w + 1 : w);
	if (!all_digits(digits, hex ? 16 : 10)) {
		if (a->type == MG_TYPE_HEX)
			bad(c, "\"%s\" is not a number (decimal or 0x hex)", shown(w, b));
		else
			bad(c, "\"%s\" is not an integer", shown(w, b));
		return NULL;
	}
	errno = 0;
	int64_t v;
	if (hex) {
		unsigned long long u = strtoull(digits, NULL, 16);
		v = u > INT64_MAX ? INT64_MAX : (int64_t)u;
	} else {
		v = strtoll(w, NULL, 10);
	}
	if (errno == ERANGE)
		v = w[0] == '-' ? INT64_MIN : INT64_MAX; /* certainly out of any range we have */
	return range_checked(c, a, v, w);
}

static json_t *parse_string(const struct ctx *c, const struct mg_arg *a, const char *w)
{
	size_t len = strlen(w);
	for (size_t i = 0; i < len; i++)
		if (iscntrl((unsigned char)w[i])) {
			bad(c, "%s", "contains a control character");
			return NULL;
		}
	if ((int64_t)len > a->max) {
		bad(c, "longer than %" PRId64 " bytes", a->max);
		return NULL;
	}
	if ((int64_t)len < a->min) {
		bad(c, "shorter than %" PRId64 " bytes", a->min);
		return NULL;
	}
	return json_string(w);
}

static json_t *parse_name(const struct ctx *c, const char *w)
{
	char b[SHOWN_LEN];
	size_t len = strlen(w);
	bool ok = len >= 1 && len <= NAME_MAX_LEN &&
	          strspn(w, "abcdefghijklmnopqrstuvwxyz"
	                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                    "0123456789_.-") == len;
	/* Names become file and directory names (recordings): keep "." and ".." out. */
	if (ok && strcmp(w, ".") != 0 && strcmp(w, "..") != 0)
		return json_string(w);
	bad(c, "\"%s\" is not a valid name (1 to %d of A-Z a-z 0-9 _ . -)", shown(w, b),
	    NAME_MAX_LEN);
	return NULL;
}

static json_t *parse_bool(const struct ctx *c, const char *w)
{
	char b[SHOWN_LEN];
	if (!strcmp(w, "yes") || !strcmp(w, "true"))
		return json_true();
	if (!strcmp(w, "no") || !strcmp(w, "false"))
		return json_false();
	bad(c, "\"%s\" is not yes, no, true or false", shown(w, b));
	return NULL;
}

static json_t *parse_enum(const struct ctx *c, const struct mg_arg *a, const char *w)
{
	char b[SHOWN_LEN], list[256];
	for (size_t i = 0; a->words[i]; i++)
		if (!strcmp(w, a->words[i]))
			return json_string(w);
	mg_arg_meta(a, list, sizeof(list));
	bad(c, "\"%s\" is not one of %s", shown(w, b), list);
	return NULL;
}

static json_t *parse_addr(const struct ctx *c, const char *w)
{
	char b[SHOWN_LEN], host[INET6_ADDRSTRLEN], canon[INET6_ADDRSTRLEN];
	const char *port;
	size_t hlen;
	int af;

	if (w[0] == '[') {
		const char *close = strchr(w, ']');
		if (!close || close[1] != ':') {
			bad(c, "\"%s\" is not [IPv6]:PORT", shown(w, b));
			return NULL;
		}
		af = AF_INET6;
		hlen = (size_t)(close - w - 1);
		memcpy(host, w + 1, hlen < sizeof(host) ? hlen : 0);
		port = close + 2;
	} else {
		const char *colon = strrchr(w, ':');
		if (!colon) {
			bad(c, "\"%s\" is not IP:PORT", shown(w, b));
			return NULL;
		}
		if (colon != strchr(w, ':')) {
			bad(c, "\"%s\": write an IPv6 address as [addr]:port", shown(w, b));
			return NULL;
		}
		af = AF_INET;
		hlen = (size_t)(colon - w);
		memcpy(host, w, hlen < sizeof(host) ? hlen : 0);
		port = colon + 1;
	}
	unsigned char bin[16];
	if (hlen >= sizeof(host) || (host[hlen] = '\0', inet_pton(af, host, bin) != 1)) {
		/* Quote only the address part: names are not resolved, and saying so is clearer. */
		snprintf(host, sizeof(host), "%.*s", (int)hlen, w + (af == AF_INET6));
		bad(c, "\"%s\" is not an %s address", shown(host, b),
		    af == AF_INET ? "IPv4" : "IPv6");
		return NULL;
	}
	char pb[SHOWN_LEN];
	if (!all_digits(port, 10)) {
		bad(c, "\"%s\": port \"%s\" is not a number", shown(w, b), shown(port, pb));
		return NULL;
	}
	long p = strtol(port, NULL, 10); /* LONG_MAX on overflow: out of range too */
	if (p < 1 || p > 65535) {
		bad(c, "port %s is out of range 1..65535", shown(port, pb));
		return NULL;
	}
	inet_ntop(af, bin, canon, sizeof(canon));
	return json_sprintf(af == AF_INET ? "%s:%ld" : "[%s]:%ld", canon, p);
}

static json_t *parse_cidr(const struct ctx *c, const char *w)
{
	char b[SHOWN_LEN], host[INET6_ADDRSTRLEN], canon[INET6_ADDRSTRLEN];
	const char *slash = strchr(w, '/');
	size_t hlen = slash ? (size_t)(slash - w) : strlen(w);
	unsigned char bin[16];
	int af = memchr(w, ':', hlen) ? AF_INET6 : AF_INET;
	int bits = af == AF_INET ? 32 : 128;

	if (hlen >= sizeof(host) ||
	    (memcpy(host, w, hlen), host[hlen] = '\0', inet_pton(af, host, bin) != 1)) {
		bad(c, "\"%s\" is not an IPv4 or IPv6 prefix (ADDR/LEN)", shown(w, b));
		return NULL;
	}
	long len = bits;
	if (slash) {
		char pb[SHOWN_LEN];
		if (!all_digits(slash + 1, 10)) {
			bad(c, "\"%s\": prefix length \"%s\" is not a number", shown(w, b),
			    shown(slash + 1, pb));
			return NULL;
		}
		len = strtol(slash + 1, NULL, 10);
		if (len > bits) {
			bad(c, "prefix %s is out of range 0..%d", shown(slash + 1, pb), bits);
			return NULL;
		}
	}
	/* A prefix with host bits set is usually a typo for the network or for a host: say so. */
	bool host_bits = false;
	for (int i = (int)len; i < bits; i++)
		if (bin[i / 8] & (0x80 >> (i % 8))) {
			host_bits = true;
			bin[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
		}
	inet_ntop(af, bin, canon, sizeof(canon));
	if (host_bits) {
		bad(c, "\"%s\" has host bits set (the network is %s/%ld)", shown(w, b), canon, len);
		return NULL;
	}
	return json_sprintf("%s/%ld", canon, len);
}

/* One command-line word → its JSON value, or NULL with the message in c->err. */
static json_t *parse_word(const struct ctx *c, const struct mg_arg *a, const char *w)
{
	switch (a->type) {
	case MG_TYPE_STRING:
		return parse_string(c, a, w);
	case MG_TYPE_NAME:
		return parse_name(c, w);
	case MG_TYPE_INT:
	case MG_TYPE_HEX:
		return parse_int(c, a, w);
	case MG_TYPE_BOOL:
		return parse_bool(c, w);
	case MG_TYPE_ENUM:
		return parse_enum(c, a, w);
	case MG_TYPE_ADDR:
		return parse_addr(c, w);
	case MG_TYPE_CIDR:
		return parse_cidr(c, w);
	}
	bad(c, "%s", "argument of unknown type");
	return NULL;
}

/* One JSON value → its canonical JSON value, or NULL with the message in c->err. */
static json_t *check_value(const struct ctx *c, const struct mg_arg *a, const json_t *v)
{
	char b[SHOWN_LEN];
	switch (a->type) {
	case MG_TYPE_INT:
		if (json_is_integer(v)) {
			snprintf(b, sizeof(b), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			return range_checked(c, a, json_integer_value(v), b);
		}
		bad(c, "%s", "expected an integer");
		return NULL;
	case MG_TYPE_HEX:
		if (json_is_integer(v)) {
			snprintf(b, sizeof(b), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			return range_checked(c, a, json_integer_value(v), b);
		}
		if (json_is_string(v))
			break;
		bad(c, "%s", "expected an integer or a \"0x...\" string");
		return NULL;
	case MG_TYPE_BOOL:
		if (json_is_boolean(v))
			return json_incref((json_t *)v);
		bad(c, "%s", "expected true or false");
		return NULL;
	default:
		if (json_is_string(v))
			break;
		bad(c, "%s", "expected a string");
		return NULL;
	}
	const char *s = json_string_value(v);
	if (strlen(s) != json_string_length(v)) {
		bad(c, "%s", "contains a NUL byte");
		return NULL;
	}
	return parse_word(c, a, s);
}

/* --name or --name=value, with '-' and '_' interchangeable. */
static const struct mg_arg *find_option(const struct mg_cmd *cmd, const char *opt, size_t len)
{
	for (const struct mg_arg *a = cmd->args; a && a->name; a++) {
		if (a->flags & MG_ARG_POSITIONAL || strlen(a->name) != len)
			continue;
		size_t i = 0;
		while (i < len && (opt[i] == a->name[i] || (opt[i] == '-' && a->name[i] == '_')))
			i++;
		if (i == len)
			return a;
	}
	return NULL;
}

static const struct mg_arg *next_positional(const struct mg_cmd *cmd, const struct mg_arg *after)
{
	const struct mg_arg *a = after ? after + 1 : cmd->args;
	for (; a && a->name; a++)
		if (a->flags & MG_ARG_POSITIONAL)
			return a;
	return NULL;
}

/* The remaining words joined with spaces, for an MG_ARG_REST argument. */
static char *join_words(int argc, char *const argv[])
{
	size_t len = 1;
	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	char *s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

static int missing(const struct mg_cmd *cmd, const json_t *obj, bool json_names, char *err,
                   size_t errlen)
{
	char label[LABEL_LEN];
	for (const struct mg_arg *a = cmd->args; a && a->name; a++) {
		if (!(a->flags & MG_ARG_REQUIRED) || json_object_get(obj, a->name))
			continue;
		if (json_names)
			snprintf(label, sizeof(label), "%s", a->name);
		else
			mg_arg_label(a, label, sizeof(label));
		return fail(err, errlen, "%s: missing %s", cmd->name, label);
	}
	return 0;
}

static int take_word(const struct ctx *c, const struct mg_arg *a, const char *w, json_t *obj)
{
	json_t *v = parse_word(c, a, w);
	if (!v)
		return -EINVAL;
	json_object_set_new(obj, a->name, v);
	return 0;
}

static int from_argv(const struct mg_cmd *cmd, int argc, char *const argv[], json_t *obj, char *err,
                     size_t errlen)
{
	char label[LABEL_LEN], b[SHOWN_LEN];
	struct ctx c = {.cmd = cmd->name, .label = label, .err = err, .errlen = errlen};
	const struct mg_arg *pos = NULL;
	bool options_done = false;

	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];
		if (!options_done && !strcmp(w, "--")) {
			options_done = true;
			continue;
		}
		/* "-5" is a value; any other word starting with '-' is meant as an option. */
		if (!options_done && w[0] == '-' && !isdigit((unsigned char)w[1])) {
			/* --name, or -x for a one-letter name */
			const char *opt = w[1] == '-' ? w + 2 : (w[1] && !w[2] ? w + 1 : NULL);
			const char *eq = opt ? strchr(opt, '=') : NULL;
			const struct mg_arg *a =
			    opt ? find_option(cmd, opt, eq ? (size_t)(eq - opt) : strlen(opt))
			        : NULL;
			if (!a) {
				snprintf(label, sizeof(label), "%.*s", eq ? (int)(eq - w) : 40, w);
				return fail(err, errlen, "%s: unknown option %s", cmd->name,
				            shown(label, b));
			}
			mg_arg_label(a, label, sizeof(label));
			if (json_object_get(obj, a->name))
				return fail(err, errlen, "%s: %s given twice", cmd->name, label);
			if ((a->flags & MG_ARG_FLAG) && !eq) {
				json_object_set_new(obj, a->name, json_true());
				continue;
			}
			if (!eq && i + 1 >= argc)
				return fail(err, errlen, "%s: %s needs a value", cmd->name, label);
			if (take_word(&c, a, eq ? eq + 1 : argv[++i], obj))
				return -EINVAL;
			continue;
		}
		pos = next_positional(cmd, pos);
		if (!pos)
			return fail(err, errlen, "%s: unexpected argument \"%s\"", cmd->name,
			            shown(w, b));
		mg_arg_label(pos, label, sizeof(label));
		if (pos->flags & MG_ARG_REST) {
			char *s = join_words(argc - i, argv + i);
			int rc = s ? take_word(&c, pos, s, obj) : -ENOMEM;
			free(s);
			return rc ? rc : missing(cmd, obj, false, err, errlen);
		}
		if (take_word(&c, pos, w, obj))
			return -EINVAL;
	}
	return missing(cmd, obj, false, err, errlen);
}

int mg_args_from_argv(const struct mg_cmd *cmd, int argc, char *const argv[], json_t **args,
                      char *err, size_t errlen)
{
	json_t *obj = json_object();
	if (!obj)
		return -ENOMEM;
	int rc = from_argv(cmd, argc, argv, obj, err, errlen);
	if (rc < 0) {
		json_decref(obj);
		return rc;
	}
	*args = obj;
	return 0;
}

static const struct mg_arg *find_arg(const struct mg_cmd *cmd, const char *name)
{
	for (const struct mg_arg *a = cmd->args; a && a->name; a++)
		if (!strcmp(a->name, name))
			return a;
	return NULL;
}

static int check(const struct mg_cmd *cmd, const json_t *args, json_t *obj, char *err,
                 size_t errlen)
{
	char b[SHOWN_LEN];
	struct ctx c = {.cmd = cmd->name, .err = err, .errlen = errlen};
	const char *key;
	json_t *v;

	if (args && !json_is_null(args) && !json_is_object(args))
		return fail(err, errlen, "%s: \"args\" must be an object", cmd->name);
	if (args && json_is_object(args)) {
		/* json_object_foreach wants a mutable object but only reads it. */
		json_object_foreach((json_t *)args, key, v)
		{
			const struct mg_arg *a = find_arg(cmd, key);
			if (!a)
				return fail(err, errlen, "%s: unknown argument \"%s\"", cmd->name,
				            shown(key, b));
			if (json_is_null(v))
				continue;
			c.label = a->name;
			json_t *nv = check_value(&c, a, v);
			if (!nv)
				return -EINVAL;
			json_object_set_new(obj, a->name, nv);
		}
	}
	int rc = missing(cmd, obj, true, err, errlen);
	if (rc)
		return rc;
	for (const struct mg_arg *a = cmd->args; a && a->name; a++) {
		if (!a->def || json_object_get(obj, a->name))
			continue;
		c.label = a->name;
		json_t *nv = parse_word(&c, a, a->def);
		if (!nv)
			return -EINVAL;
		json_object_set_new(obj, a->name, nv);
	}
	return 0;
}

int mg_args_check(const struct mg_cmd *cmd, const json_t *args, json_t **out, char *err,
                  size_t errlen)
{
	json_t *obj = json_object();
	if (!obj)
		return -ENOMEM;
	int rc = check(cmd, args, obj, err, errlen);
	if (rc < 0) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return 0;
}
