/* Human output of a command's result for caasctl: aligned tables for arrays, "key: value" lines
 * for objects, one bare member for commands that name one (sub add's id, sub sdp's text). */
#ifndef CAAS_MGMT_RENDER_H
#define CAAS_MGMT_RENDER_H

#include <stdio.h>

#include <jansson.h>

#include "cmds.h"

/* Write result (NULL or JSON null prints nothing) as cmd's human output. Returns 0, -EBADMSG when
 * the result lacks the member cmd->print_key names, or -EIO when f fails. */
int mg_render(FILE *f, const struct mg_cmd *cmd, const json_t *result);

#endif
