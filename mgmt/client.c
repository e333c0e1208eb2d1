/* Control protocol client: connect, one request line out, one reply line back, within a deadline.
 */
#include "client.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "defaults.h"
#include "err.h"


static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for events or the deadline passes: 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static const char *hint(int e)
{
	switch (e) {
	case ENOENT:
		return " (is caasd running?)";
	case ECONNREFUSED:
		return " (no caasd is listening there)";
	case EACCES:
		return " (run as root or as a member of the socket's group)";
	default:
		return "";
	}
}

static int do_connect(int fd, const struct sockaddr_un *sa, int64_t deadline)
{
	for (;;) {
		if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) { /* the daemon's backlog is full: retry until the deadline */
			if (now_ms() >= deadline)
				return -ETIMEDOUT;
			poll(NULL, 0, 10);
			continue;
		}
		if (errno != EINPROGRESS)
			return -errno;
		int rc = wait_fd(fd, POLLOUT, deadline);
		if (rc)
			return rc;
		int soerr = 0;
		socklen_t len = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			return -errno;
		return -soerr;
	}
}

int mg_client_open(struct mg_client *c, const char *path, int timeout_ms, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path) || strlen(path) >= sizeof(c->path))
		return mg_errf(-ENAMETOOLONG, err, errlen, "socket path %s is too long", path);
	strcpy(sa.sun_path, path);
	strcpy(c->path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return mg_errf(-errno, err, errlen, "socket: %s", strerror(errno));
	int rc = do_connect(c->fd, &sa, now_ms() + timeout_ms);
	if (rc == -ETIMEDOUT)
		mg_errf(rc, err, errlen, "cannot connect to caasd at %s: no answer within %g s", path,
		     timeout_ms / 1000.0);
	else if (rc)
		mg_errf(rc, err, errlen, "cannot connect to caasd at %s: %s%s", path, strerror(-rc),
		     hint(-rc));
	if (rc) {
		close(c->fd);
		c->fd = -1;
	}
	return rc;
}

static int send_all(struct mg_client *c, const char *p, size_t len, int64_t deadline)
{
	while (len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (errno == EAGAIN) {
			int rc = wait_fd(c->fd, POLLOUT, deadline);
			if (rc)
				return rc;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
	return 0;
}

/* Take the first line out of the buffer, if there is one. */
static char *take_line(struct mg_client *c)
{
	char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
	if (!nl)
		return NULL;
	size_t n = (size_t)(nl - c->buf);
	char *line = malloc(n + 1);
	if (!line)
		return NULL;
	memcpy(line, c->buf, n);
	line[n] = '\0';
	c->len -= n + 1;
	memmove(c->buf, nl + 1, c->len);
	return line;
}

static int recv_line(struct mg_client *c, char **line, int64_t deadline)
{
	for (;;) {
		*line = take_line(c);
		if (*line)
			return 0;
		if (c->len > MG_CLIENT_MAX_REPLY)
			return -EMSGSIZE;
		if (c->cap - c->len < 4096) {
			size_t cap = c->cap ? 2 * c->cap : 65536;
			char *b = realloc(c->buf, cap);
			if (!b)
				return -ENOMEM;
			c->buf = b;
			c->cap = cap;
		}
		ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n > 0) {
			c->len += (size_t)n;
		} else if (n == 0) {
			return -ECONNRESET;
		} else if (errno == EAGAIN) {
			int rc = wait_fd(c->fd, POLLIN, deadline);
			if (rc)
				return rc;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
}

int mg_client_exchange(struct mg_client *c, const char *line, int timeout_ms, char **reply,
                       char *err, size_t errlen)
{
	int64_t deadline = now_ms() + timeout_ms;
	int rc = send_all(c, line, strlen(line), deadline);
	if (!rc)
		rc = send_all(c, "\n", 1, deadline);
	if (!rc)
		rc = recv_line(c, reply, deadline);
	switch (rc) {
	case 0:
		return 0;
	case -ETIMEDOUT:
		return mg_errf(rc, err, errlen, "no reply from caasd at %s within %g s", c->path,
		            timeout_ms / 1000.0);
	case -ECONNRESET:
	case -EPIPE:
		return mg_errf(-ECONNRESET, err, errlen,
		            "caasd at %s closed the connection without replying", c->path);
	case -EMSGSIZE:
		return mg_errf(rc, err, errlen, "reply from caasd at %s is longer than %u bytes",
		            c->path, MG_CLIENT_MAX_REPLY);
	default:
		return mg_errf(rc, err, errlen, "talking to caasd at %s: %s", c->path, strerror(-rc));
	}
}

/* Check a reply line against the request id: the result, or caasd's error. */
static int parse_reply(struct mg_client *c, const char *line, json_int_t id, json_t **result,
                       char *err, size_t errlen)
{
	json_t *r = json_loads(line, 0, NULL);
	const json_t *ok = json_object_get(r, "ok");
	const json_t *rid = json_object_get(r, "id");
	int rc = 0;

	if (!json_is_object(r) || !json_is_boolean(ok)) {
		rc = mg_errf(-EPROTO, err, errlen, "caasd at %s sent something that is not a reply",
		          c->path);
	} else if (!json_is_integer(rid) || json_integer_value(rid) != id) {
		rc = mg_errf(-EPROTO, err, errlen, "caasd at %s answered another request", c->path);
	} else if (json_is_true(ok)) {
		json_t *res = json_object_get(r, "result");
		*result = json_is_null(res) ? NULL : json_incref(res);
	} else {
		const char *msg = json_string_value(json_object_get(r, "error"));
		rc = mg_errf(-EREMOTEIO, err, errlen, "%s", msg ? msg : "failed, without a message");
	}
	json_decref(r);
	return rc;
}

int mg_client_call(struct mg_client *c, const char *cmd, json_t *args, int timeout_ms,
                   json_t **result, char *err, size_t errlen)
{
	json_int_t id = ++c->next_id;
	json_t *req = json_pack("{s:I, s:s}", "id", id, "cmd", cmd);
	char *line = NULL, *reply = NULL;
	int rc = -ENOMEM;

	*result = NULL;
	if (!req || (args && json_object_set(req, "args", args)))
		goto out;
	line = json_dumps(req, JSON_COMPACT);
	if (!line)
		goto out;
	rc = mg_client_exchange(c, line, timeout_ms, &reply, err, errlen);
	if (!rc)
		rc = parse_reply(c, reply, id, result, err, errlen);
out:
	if (rc == -ENOMEM)
		mg_errf(rc, err, errlen, "out of memory");
	json_decref(req);
	free(line);
	free(reply);
	return rc;
}

void mg_client_close(struct mg_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->len = c->cap = 0;
}
