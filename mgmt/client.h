/* Client end of the control protocol: connect to caasd's socket, send one request line, wait
 * for its reply within a deadline. Used by caasctl and by tests; blocking, one call at a time. */
#ifndef CAAS_MGMT_CLIENT_H
#define CAAS_MGMT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct mg_client {
	int fd;
	char path[108];
	char *buf; /* bytes received and not yet returned */
	size_t len, cap;
	int64_t next_id;
};

/*
 * Connect to the socket at path within timeout_ms. Returns 0, or a negative errno with a message
 * that names the path and suggests the usual cause ("is caasd running?") in err.
 */
int mg_client_open(struct mg_client *c, const char *path, int timeout_ms, char *err, size_t errlen);

/*
 * Send line (a newline is added) and wait for one reply line, returned malloc'd without its
 * newline. Returns 0, -ETIMEDOUT, -ECONNRESET when caasd closed without replying, -EMSGSIZE for
 * a reply over MG_CLIENT_MAX_REPLY, or another negative errno; err says which.
 */
int mg_client_exchange(struct mg_client *c, const char *line, int timeout_ms, char **reply,
                       char *err, size_t errlen);

/*
 * Run a command: args (borrowed; NULL for none) go out as {"id", "cmd", "args"}. On success
 * *result is the reply's result (a new reference; NULL when there is none). When caasd answers
 * ok:false, returns -EREMOTEIO with its message in err; -EPROTO for a reply that is not one.
 */
int mg_client_call(struct mg_client *c, const char *cmd, json_t *args, int timeout_ms,
                   json_t **result, char *err, size_t errlen);

void mg_client_close(struct mg_client *c);

#endif
