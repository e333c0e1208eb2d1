/* Help and version, answered by this library on both sides: text for caasctl, JSON for the
 * replies caasd gives to "help" and "version". Both come from the command table. */
#ifndef CAAS_MGMT_HELP_H
#define CAAS_MGMT_HELP_H

#include <stddef.h>

#include <jansson.h>

#include "cmds.h"

/* "device add NAME --port N ... [--rtcp-mux yes|no]" (truncated to len). */
void mg_cmd_usage(const struct mg_cmd *cmd, char *buf, size_t len);

/*
 * Help for a topic: NULL or "" lists every command, a command's name describes it and its
 * arguments, the first words of some commands ("device") list those. The text is malloc'd and ends
 * with a newline; prog ("caasctl") starts the usage line. Returns 0, -ENOENT when the topic
 * matches no command, or -ENOMEM.
 */
int mg_help_text(const char *prog, const char *topic, char **text);

/* The same as JSON: {"commands": [{"cmd", "help", "usage"}...]} for a list, or for one command
 * {"cmd", "help", "usage", "args": [...], "columns": [...]}. 0, -ENOENT or -ENOMEM. */
int mg_help_json(const char *topic, json_t **out);

/* {"version": MG_VERSION, "protocol": MG_PROTOCOL_VERSION}, or NULL without memory. */
json_t *mg_version_json(void);

#endif
