/* Request line → reply line: the protocol's semantics, shared by the socket server and
 * mg_ctl_dispatch. Internal to the ctl module; handlers are bound through ctl.h. */
#ifndef CAAS_MGMT_DISPATCH_H
#define CAAS_MGMT_DISPATCH_H

#include <stddef.h>

#include "ctl.h"

struct mg_binding {
	mg_handler fn;
	void *ctx;
};

/* Answer one request of len bytes (no newline) with bindings indexed like the command table.
 * Returns a malloc'd reply line without a newline, or NULL when out of memory. */
char *mg_answer(const struct mg_binding *bindings, const char *line, size_t len);

/* The reply for a connection refused or cut short before it sent a usable request. */
char *mg_answer_error(const char *msg);

#endif
