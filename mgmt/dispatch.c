/* Request semantics: parse, check against the command table, call the bound handler or answer
 * help/version, and build the reply. Nothing reaches a handler unchecked. */
#include "dispatch.h"

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "help.h"

static json_t *reply_new(const json_t *id, bool ok)
{
	json_t *r = json_object();
	if (!r)
		return NULL;
	json_object_set_new(r, "id", id ? json_incref((json_t *)id) : json_null());
	json_object_set_new(r, "ok", json_boolean(ok));
	return r;
}

__attribute__((format(printf, 2, 3))) static json_t *error_reply(const json_t *id, const char *fmt,
                                                                 ...)
{
	char msg[MG_ERR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *r = reply_new(id, false);
	if (r)
		json_object_set_new(r, "error", json_string(msg));
	return r;
}

static json_t *ok_reply(const json_t *id, json_t *result)
{
	json_t *r = reply_new(id, true);
	if (r)
		json_object_set_new(r, "result", result ? result : json_null());
	else
		json_decref(result);
	return r;
}

/* help and version: the same answers whichever front end asks. */
static int answer_local(const struct mg_cmd *cmd, const json_t *args, json_t **result, char *err,
                        size_t errlen)
{
	if (!strcmp(cmd->name, "version")) {
		*result = mg_version_json();
		return *result ? 0 : -ENOMEM;
	}
	const char *topic = json_string_value(json_object_get(args, "command"));
	int rc = mg_help_json(topic, result);
	if (rc == -ENOENT)
		snprintf(err, errlen, "unknown command \"%s\"", topic);
	return rc;
}

static json_t *run(const struct mg_binding *bindings, const struct mg_cmd *cmd, const json_t *id,
                   const json_t *args)
{
	char err[MG_ERR_MAX] = "";
	json_t *result = NULL;
	int rc;

	if (cmd->flags & MG_CMD_LOCAL) {
		rc = answer_local(cmd, args, &result, err, sizeof(err));
	} else if (cmd->flags & MG_CMD_CLIENT) {
		return error_reply(id, "%s: runs in caasctl, not in caasd", cmd->name);
	} else {
		const struct mg_binding *b = &bindings[cmd - mg_cmd_at(0)];
		if (!b->fn)
			return error_reply(id, "%s: not implemented by this caasd", cmd->name);
		rc = b->fn(b->ctx, args, &result, err, sizeof(err));
	}
	if (rc < 0) {
		json_decref(result);
		return error_reply(id, "%s: %s", cmd->name, err[0] ? err : strerror(-rc));
	}
	return ok_reply(id, result);
}

static json_t *answer(const struct mg_binding *bindings, const char *line, size_t len)
{
	json_error_t jerr;
	char err[MG_ERR_MAX];

	if (len > MG_CTL_MAX_REQUEST)
		return error_reply(NULL, "request longer than %d bytes", MG_CTL_MAX_REQUEST);
	json_t *req = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (!req)
		return error_reply(NULL, "invalid JSON at byte %d: %s", jerr.position, jerr.text);

	json_t *reply = NULL, *args = NULL;
	const json_t *id = json_object_get(req, "id");
	const char *key;
	json_t *v;
	if (!json_is_object(req)) {
		reply = error_reply(NULL, "a request must be a JSON object");
		goto out;
	}
	json_object_foreach(req, key, v)
	{
		if (strcmp(key, "id") && strcmp(key, "cmd") && strcmp(key, "args")) {
			reply = error_reply(id, "unknown request member \"%.64s\"", key);
			goto out;
		}
	}
	const char *name = json_string_value(json_object_get(req, "cmd"));
	if (!name) {
		reply = error_reply(id, "a request needs \"cmd\", a string");
		goto out;
	}
	const struct mg_cmd *cmd = mg_cmd_find(name);
	if (!cmd) {
		reply = error_reply(id, "unknown command \"%.64s\"", name);
		goto out;
	}
	if (mg_args_check(cmd, json_object_get(req, "args"), &args, err, sizeof(err)) < 0) {
		reply = error_reply(id, "%s", err);
		goto out;
	}
	reply = run(bindings, cmd, id, args);
out:
	json_decref(args);
	json_decref(req);
	return reply;
}

static char *encode(json_t *reply)
{
	/* Compact output has no newline, and jansson escapes those inside strings: one line. */
	char *s = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	json_decref(reply);
	return s;
}

char *mg_answer(const struct mg_binding *bindings, const char *line, size_t len)
{
	return encode(answer(bindings, line, len));
}

char *mg_answer_error(const char *msg)
{
	return encode(error_reply(NULL, "%s", msg));
}
