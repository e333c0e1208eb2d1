/* Control protocol server, run by caasd's control thread: a Unix stream socket speaking
 * newline-delimited JSON, non-blocking and poll-driven, dispatching to handlers bound by name.
 *
 * Request: {"id": <any>, "cmd": "device add", "args": {...}}   ("id" and "args" optional)
 * Reply:   {"id": <same>, "ok": true, "result": <json or null>}
 *      or  {"id": <same>, "ok": false, "error": "message"}
 * Requests that are not JSON objects, name no command, or whose args fail mg_args_check are
 * answered with an error and never reach a handler. "help" and "version" need no handler. */
#ifndef CAAS_MGMT_CTL_H
#define CAAS_MGMT_CTL_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "defaults.h"

struct mg_ctl;

/*
 * A command handler. args is the checked request arguments with defaults filled in (borrowed).
 * Return 0 with *result set to a new reference (or left NULL for no result), or a negative errno
 * with a message in err (errlen is MG_ERR_MAX; when left empty, strerror is used). The reply's
 * error is "<command>: <err>". Runs on the thread calling mg_ctl_poll or mg_ctl_dispatch.
 */
typedef int (*mg_handler)(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen);

/*
 * Listen on path (NULL: no socket, for mg_ctl_dispatch only) with the given mode (MG_SOCKET_MODE)
 * and group ((gid_t)-1 keeps the process's). A stale socket file is replaced; if a server answers
 * there, fails with -EADDRINUSE; if path is something other than a socket, -EEXIST. The socket
 * appears at path already with its mode and group. Returns 0 or a negative errno, with err set.
 */
int mg_ctl_open(struct mg_ctl **ctl, const char *path, mode_t mode, gid_t gid, char *err,
                size_t errlen);

/* Close every connection and the listener, and unlink the socket file if it is still ours. */
void mg_ctl_close(struct mg_ctl *ctl);

/* Bind a handler to a table command. -ENOENT for a name not in the table, -EEXIST if it is already
 * bound, -EINVAL for a command the library answers itself (help, version). */
int mg_ctl_bind(struct mg_ctl *ctl, const char *cmd, mg_handler fn, void *ctx);

/* Number of table commands that still have no handler; their names go into names (comma
 * separated, truncated to len) so that start-up can refuse with a clear message. */
size_t mg_ctl_unbound(const struct mg_ctl *ctl, char *names, size_t len);

/* An epoll fd that is readable whenever mg_ctl_poll has work: add it to the caller's loop. */
int mg_ctl_fd(const struct mg_ctl *ctl);

/*
 * Accept, read, dispatch and write whatever is ready, waiting at most timeout_ms (0: do not wait,
 * -1: until something happens). Never blocks on a client: a client that does not read its replies
 * stops being read until it does, and others go on. Returns 0 or a negative errno.
 */
int mg_ctl_poll(struct mg_ctl *ctl, int timeout_ms);

/*
 * Answer one request line in-process, exactly as the socket would (DPDK telemetry, tests).
 * *reply is a malloc'd JSON line without a newline. Returns 0 or -ENOMEM.
 */
int mg_ctl_dispatch(struct mg_ctl *ctl, const char *request, char **reply);

#endif
