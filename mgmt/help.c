/* Help text and JSON generated from the command table, and the version reply. */
#include "help.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defaults.h"

#define HELP_COL 24 /* where an argument's description starts */

void mg_cmd_usage(const struct mg_cmd *cmd, char *buf, size_t len)
{
	size_t off = (size_t)snprintf(buf, len, "%s", cmd->name);
	for (const struct mg_arg *a = cmd->args; a && a->name && off < len; a++) {
		char label[64], meta[128];
		bool opt = !(a->flags & MG_ARG_REQUIRED);
		mg_arg_label(a, label, sizeof(label));
		mg_arg_meta(a, meta, sizeof(meta));
		if (a->flags & MG_ARG_POSITIONAL)
			off += (size_t)snprintf(buf + off, len - off, " %s%s%s%s", opt ? "[" : "",
			                        meta, a->flags & MG_ARG_REST ? "..." : "",
			                        opt ? "]" : "");
		else if (a->flags & MG_ARG_FLAG)
			off += (size_t)snprintf(buf + off, len - off, " [%s]", label);
		else
			off += (size_t)snprintf(buf + off, len - off, " %s%s %s%s", opt ? "[" : "",
			                        label, meta, opt ? "]" : "");
	}
}

/* What the table says about an argument's values, appended to its help in parentheses. */
static void arg_notes(const struct mg_arg *a, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	switch (a->type) {
	case MG_TYPE_INT:
		off = (size_t)snprintf(buf, len, "%" PRId64 "..%" PRId64, a->min, a->max);
		break;
	case MG_TYPE_HEX:
		off = (size_t)snprintf(buf, len, "decimal or 0x hex, %" PRId64 "..0x%" PRIx64,
		                       a->min, a->max);
		break;
	case MG_TYPE_STRING:
		off = (size_t)snprintf(buf, len, "up to %" PRId64 " bytes", a->max);
		break;
	case MG_TYPE_NAME:
		off = (size_t)snprintf(buf, len, "1 to 32 of A-Z a-z 0-9 _ . -");
		break;
	case MG_TYPE_ADDR:
		off = (size_t)snprintf(buf, len, "IPv6 as [addr]:port");
		break;
	case MG_TYPE_CIDR:
		off = (size_t)snprintf(buf, len, "IPv4 or IPv6 ADDR/LEN");
		break;
	case MG_TYPE_BOOL:
	case MG_TYPE_ENUM:
		break;
	}
	if (a->def && off < len)
		snprintf(buf + off, len - off, "%sdefault: %s", off ? "; " : "", a->def);
}

static void describe(FILE *f, const char *prog, const struct mg_cmd *cmd)
{
	char usage[512];
	mg_cmd_usage(cmd, usage, sizeof(usage));
	fprintf(f, "usage: %s %s\n\n%s\n", prog, usage, cmd->help);
	if (!cmd->args || !cmd->args[0].name)
		return;
	fprintf(f, "\narguments:\n");
	for (const struct mg_arg *a = cmd->args; a->name; a++) {
		char label[64], meta[128], notes[128], left[256];
		mg_arg_label(a, label, sizeof(label));
		mg_arg_meta(a, meta, sizeof(meta));
		if (a->flags & MG_ARG_POSITIONAL || a->flags & MG_ARG_FLAG)
			snprintf(left, sizeof(left), "%s", label);
		else
			snprintf(left, sizeof(left), "%s %s", label, meta);
		arg_notes(a, notes, sizeof(notes));
		int pad = HELP_COL - 2 - (int)strlen(left);
		if (pad < 1)
			fprintf(f, "  %s\n%*s", left, HELP_COL, "");
		else
			fprintf(f, "  %s%*s", left, pad, "");
		fprintf(f, "%s%s%s%s\n", a->help, notes[0] ? " (" : "", notes, notes[0] ? ")" : "");
	}
}

/* topic is a command's name or its first words ("device" but not "dev"). */
static bool in_topic(const struct mg_cmd *cmd, const char *topic)
{
	size_t n = strlen(topic);
	return n == 0 || (!strncmp(cmd->name, topic, n) && (!cmd->name[n] || cmd->name[n] == ' '));
}

static bool any_in_topic(const char *topic)
{
	for (size_t i = 0; i < mg_cmd_count(); i++)
		if (in_topic(mg_cmd_at(i), topic))
			return true;
	return false;
}

int mg_help_text(const char *prog, const char *topic, char **text)
{
	char *buf = NULL;
	size_t len = 0;
	const struct mg_cmd *exact = topic ? mg_cmd_find(topic) : NULL;

	if (!topic)
		topic = "";
	if (!exact && !any_in_topic(topic))
		return -ENOENT;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	if (exact) {
		describe(f, prog, exact);
	} else {
		int w = 0;
		for (size_t i = 0; i < mg_cmd_count(); i++)
			if (in_topic(mg_cmd_at(i), topic) && (int)strlen(mg_cmd_at(i)->name) > w)
				w = (int)strlen(mg_cmd_at(i)->name);
		fprintf(f, "commands:\n");
		for (size_t i = 0; i < mg_cmd_count(); i++)
			if (in_topic(mg_cmd_at(i), topic))
				fprintf(f, "  %-*s  %s\n", w, mg_cmd_at(i)->name,
				        mg_cmd_at(i)->help);
		fprintf(f, "\n'%s help COMMAND' describes a command and its arguments.\n", prog);
	}
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*text = buf;
	return 0;
}

static const char *const type_names[] = {
    [MG_TYPE_STRING] = "string", [MG_TYPE_NAME] = "name", [MG_TYPE_INT] = "int",
    [MG_TYPE_HEX] = "hex",       [MG_TYPE_BOOL] = "bool", [MG_TYPE_ENUM] = "enum",
    [MG_TYPE_ADDR] = "addr",     [MG_TYPE_CIDR] = "cidr",
};

static json_t *arg_json(const struct mg_arg *a)
{
	char label[64], meta[128];
	mg_arg_label(a, label, sizeof(label));
	mg_arg_meta(a, meta, sizeof(meta));
	json_t *o =
	    json_pack("{s:s, s:s, s:b, s:b, s:s, s:s}", "name", a->name, "type",
	              type_names[a->type], "required", !!(a->flags & MG_ARG_REQUIRED), "positional",
	              !!(a->flags & MG_ARG_POSITIONAL), "usage", label, "help", a->help);
	if (!o)
		return NULL;
	if (!(a->flags & MG_ARG_POSITIONAL) && !(a->flags & MG_ARG_FLAG))
		json_object_set_new(o, "meta", json_string(meta));
	if (a->type == MG_TYPE_INT || a->type == MG_TYPE_HEX || a->type == MG_TYPE_STRING) {
		json_object_set_new(o, "min", json_integer(a->min));
		json_object_set_new(o, "max", json_integer(a->max));
	}
	if (a->type == MG_TYPE_ENUM) {
		json_t *w = json_array();
		for (size_t i = 0; a->words[i]; i++)
			json_array_append_new(w, json_string(a->words[i]));
		json_object_set_new(o, "words", w);
	}
	if (a->def)
		json_object_set_new(o, "default", json_string(a->def));
	return o;
}

static json_t *cmd_json(const struct mg_cmd *cmd, bool detail)
{
	char usage[512];
	mg_cmd_usage(cmd, usage, sizeof(usage));
	json_t *o =
	    json_pack("{s:s, s:s, s:s}", "cmd", cmd->name, "help", cmd->help, "usage", usage);
	if (!o || !detail)
		return o;
	json_t *args = json_array(), *cols = json_array();
	for (const struct mg_arg *a = cmd->args; a && a->name; a++)
		json_array_append_new(args, arg_json(a));
	for (const struct mg_col *c = cmd->cols; c && c->key; c++)
		json_array_append_new(cols, json_pack("{s:s, s:s?, s:s?}", "key", c->key, "header",
		                                      c->header, "unit", c->unit));
	json_object_set_new(o, "args", args);
	json_object_set_new(o, "columns", cols);
	return o;
}

int mg_help_json(const char *topic, json_t **out)
{
	const struct mg_cmd *exact = topic ? mg_cmd_find(topic) : NULL;
	json_t *o;

	if (!topic)
		topic = "";
	if (exact) {
		o = cmd_json(exact, true);
	} else {
		if (!any_in_topic(topic))
			return -ENOENT;
		json_t *list = json_array();
		for (size_t i = 0; i < mg_cmd_count(); i++)
			if (in_topic(mg_cmd_at(i), topic))
				json_array_append_new(list, cmd_json(mg_cmd_at(i), false));
		o = json_pack("{s:o}", "commands", list);
	}
	if (!o)
		return -ENOMEM;
	*out = o;
	return 0;
}

json_t *mg_version_json(void)
{
	return json_pack("{s:s, s:i}", "version", MG_VERSION, "protocol", MG_PROTOCOL_VERSION);
}
