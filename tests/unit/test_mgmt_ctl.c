/* Control server tests, end to end in one process: a ctl on a socket in a temporary directory,
 * polled by a thread, with test handlers; real socket clients send lines and read replies. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "mgmt/client.h"
#include "mgmt/cmds.h"
#include "mgmt/ctl.h"

#define IO_TIMEOUT_S 5

struct fx {
	char dir[64];
	char path[128];
	struct mg_ctl *ctl;
	pthread_t thread;
	atomic_bool stop;
	atomic_int calls;
	int big_rows;
};

/* --- handlers: they test the library, not caasd --------------------------------------------- */

static int h_echo(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	struct fx *fx = ctx;
	atomic_fetch_add(&fx->calls, 1);
	*result = json_pack("{s:O}", "echo", (json_t *)args);
	return 0;
}

static int h_fail(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	struct fx *fx = ctx;
	atomic_fetch_add(&fx->calls, 1);
	*result = json_object(); /* a handler that fails after making a result must not leak it */
	snprintf(err, errlen, "no such device \"%s\"",
	         json_string_value(json_object_get(args, "name")));
	return -ENOENT;
}

static int h_busy(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	(void)args;
	(void)result;
	(void)err;
	(void)errlen;
	struct fx *fx = ctx;
	atomic_fetch_add(&fx->calls, 1);
	return -EBUSY;
}

static int h_none(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	(void)args;
	(void)result;
	(void)err;
	(void)errlen;
	struct fx *fx = ctx;
	atomic_fetch_add(&fx->calls, 1);
	return 0;
}

/* A large result, to fill a client's socket when it does not read. */
static int h_big(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	(void)args;
	(void)err;
	(void)errlen;
	struct fx *fx = ctx;
	json_t *rows = json_array();
	for (int i = 0; i < fx->big_rows; i++)
		json_array_append_new(rows,
		                      json_pack("{s:s, s:i, s:s}", "name", "stream-name", "packets",
		                                i, "pad", "................................"));
	*result = rows;
	return 0;
}

static void *serve(void *arg)
{
	struct fx *fx = arg;
	while (!atomic_load(&fx->stop))
		mg_ctl_poll(fx->ctl, 10);
	return NULL;
}

static void bind_all(struct fx *fx, struct mg_ctl *ctl)
{
	assert_int_equal(mg_ctl_bind(ctl, "device add", h_echo, fx), 0);
	assert_int_equal(mg_ctl_bind(ctl, "stream show", h_echo, fx), 0);
	assert_int_equal(mg_ctl_bind(ctl, "device del", h_fail, fx), 0);
	assert_int_equal(mg_ctl_bind(ctl, "sub del", h_busy, fx), 0);
	assert_int_equal(mg_ctl_bind(ctl, "sub resume", h_none, fx), 0);
	assert_int_equal(mg_ctl_bind(ctl, "stream list", h_big, fx), 0);
	/* status, device list, sub add, sub list, sub sdp stay unbound. */
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char err[MG_ERR_MAX];
	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_mgmt_ctl.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/caasd.sock", fx->dir);
	fx->big_rows = 100;
	if (mg_ctl_open(&fx->ctl, fx->path, 0660, (gid_t)-1, err, sizeof(err)))
		fail_msg("mg_ctl_open: %s", err);
	bind_all(fx, fx->ctl);
	assert_int_equal(pthread_create(&fx->thread, NULL, serve, fx), 0);
	*state = fx;
	return 0;
}

static void stop_server(struct fx *fx)
{
	if (!fx->ctl)
		return;
	atomic_store(&fx->stop, true);
	pthread_join(fx->thread, NULL);
	mg_ctl_close(fx->ctl);
	fx->ctl = NULL;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[160];
	stop_server(fx);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* --- a small blocking client with timeouts, so a broken server fails a test, not hangs it ----- */

struct tc {
	int fd;
	char buf[1 << 16];
	size_t len;
};

static struct tc *tc_open(const char *path)
{
	struct tc *c = calloc(1, sizeof(*c));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
	assert_non_null(c);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fail_msg("connect %s: %s", path, strerror(errno));
	return c;
}

static void tc_close(struct tc *c)
{
	close(c->fd);
	free(c);
}

static void tc_send(struct tc *c, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(c->fd, s, len, MSG_NOSIGNAL);
		if (n < 0)
			fail_msg("send: %s", strerror(errno));
		s += n;
		len -= (size_t)n;
	}
}

/* The next line (malloc'd, without newline), or NULL at end of stream with errno 0, or on
 * error with errno set. */
static char *tc_line(struct tc *c)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			size_t n = (size_t)(nl - c->buf);
			char *line = strndup(c->buf, n);
			c->len -= n + 1;
			memmove(c->buf, nl + 1, c->len);
			return line;
		}
		if (c->len == sizeof(c->buf))
			fail_msg("reply line longer than %zu bytes", sizeof(c->buf));
		ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n == 0) {
			errno = 0;
			return NULL;
		}
		if (n < 0)
			return NULL;
		c->len += (size_t)n;
	}
}

static void exchange_raw(struct tc *c, const char *req)
{
	tc_send(c, req, strlen(req));
	tc_send(c, "\n", 1);
}

/* Send a request line and check the reply line is exactly want. */
static void exchange(struct tc *c, const char *req, const char *want)
{
	tc_send(c, req, strlen(req));
	tc_send(c, "\n", 1);
	char *got = tc_line(c);
	if (!got)
		fail_msg("no reply to %s: %s", req, errno ? strerror(errno) : "closed");
	assert_string_equal(got, want);
	free(got);
}

/* The connection is closed by the server: end of stream (or a reset, if it left input unread). */
static void assert_closed(struct tc *c)
{
	char *line = tc_line(c);
	assert_null(line);
	assert_true(errno == 0 || errno == ECONNRESET);
}

/* --- tests --------------------------------------------------------------------------------------
 */

static void test_socket_file(void **state)
{
	struct fx *fx = *state;
	struct stat st;
	char err[MG_ERR_MAX], path[160];
	assert_int_equal(lstat(fx->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);

	/* Another mode and an explicit group; no temporary name is left behind. */
	struct mg_ctl *ctl;
	snprintf(path, sizeof(path), "%s/other.sock", fx->dir);
	assert_int_equal(mg_ctl_open(&ctl, path, 0600, getegid(), err, sizeof(err)), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_gid, getegid());
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 2", fx->dir);
	assert_int_equal(system(cmd), 0);
	mg_ctl_close(ctl);
	assert_int_equal(lstat(path, &st), -1);
	assert_int_equal(errno, ENOENT);

	/* Closing the fixture's ctl unlinks its socket too. */
	stop_server(fx);
	assert_int_equal(lstat(fx->path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_refuses_live_replaces_stale(void **state)
{
	struct fx *fx = *state;
	struct mg_ctl *ctl = NULL;
	char err[MG_ERR_MAX], want[256], path[100];

	/* A live server on the path: refuse, and leave it working. */
	assert_int_equal(mg_ctl_open(&ctl, fx->path, 0660, (gid_t)-1, err, sizeof(err)),
	                 -EADDRINUSE);
	snprintf(want, sizeof(want), "control socket %s: another caasd answers there", fx->path);
	assert_string_equal(err, want);
	struct tc *c = tc_open(fx->path);
	exchange(c, "{\"id\":1,\"cmd\":\"sub resume\",\"args\":{\"id\":3}}",
	         "{\"id\":1,\"ok\":true,\"result\":null}");
	tc_close(c);

	/* Something that is not a socket: refuse, and do not touch it. */
	snprintf(path, sizeof(path), "%s/file", fx->dir);
	FILE *f = fopen(path, "w");
	fputs("keep me", f);
	fclose(f);
	assert_int_equal(mg_ctl_open(&ctl, path, 0660, (gid_t)-1, err, sizeof(err)), -EEXIST);
	snprintf(want, sizeof(want), "control socket %s: exists and is not a socket", path);
	assert_string_equal(err, want);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 7);

	/* A stale socket left by a crash: replaced. */
	snprintf(path, sizeof(path), "%s/stale.sock", fx->dir);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(mg_ctl_open(&ctl, path, 0660, (gid_t)-1, err, sizeof(err)), 0);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	mg_ctl_close(ctl);

	/* A path that does not fit a sockaddr_un, and a directory that does not exist. */
	char longpath[200];
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(mg_ctl_open(&ctl, longpath, 0660, (gid_t)-1, err, sizeof(err)),
	                 -ENAMETOOLONG);
	snprintf(path, sizeof(path), "%s/no/such.sock", fx->dir);
	assert_int_equal(mg_ctl_open(&ctl, path, 0660, (gid_t)-1, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "control socket %s: bind: No such file or directory", path);
	assert_string_equal(err, want);
}

static void test_good_request(void **state)
{
	struct fx *fx = *state;
	struct tc *c = tc_open(fx->path);
	/* The handler gets checked arguments: canonical values, defaults filled in. */
	exchange(
	    c,
	    "{\"id\":\"abc\",\"cmd\":\"device add\",\"args\":{\"name\":\"cam1\",\"port\":5004,"
	    "\"codec\":\"h264\",\"pt\":96,\"ssrc\":\"0x10\"}}",
	    "{\"id\":\"abc\",\"ok\":true,\"result\":{\"echo\":{\"name\":\"cam1\",\"port\":5004,"
	    "\"codec\":\"h264\",\"pt\":96,\"ssrc\":16,\"rtcp_mux\":false,\"record\":true}}}");
	assert_int_equal(atomic_load(&fx->calls), 1);
	/* Any id comes back as it was; none comes back null; pipelined requests in order. */
	const char *two =
	    "{\"cmd\":\"stream show\",\"args\":{\"name\":\"a\"},\"id\":{\"n\":[1,2]}}\n"
	    "{\"cmd\":\"sub resume\",\"args\":{\"id\":9}}\n";
	tc_send(c, two, strlen(two));
	char *r1 = tc_line(c), *r2 = tc_line(c);
	assert_non_null(r1);
	assert_non_null(r2);
	assert_string_equal(r1, "{\"id\":{\"n\":[1,2]},\"ok\":true,\"result\":{\"echo\":{\"name\":"
	                        "\"a\"}}}");
	assert_string_equal(r2, "{\"id\":null,\"ok\":true,\"result\":null}");
	free(r1);
	free(r2);
	assert_int_equal(atomic_load(&fx->calls), 3);
	/* Blank lines are not requests; CRLF line ends are fine. */
	exchange(c, "\n\r\n{\"id\":5,\"cmd\":\"sub resume\",\"args\":{\"id\":9}}\r",
	         "{\"id\":5,\"ok\":true,\"result\":null}");
	tc_close(c);
}

static const char *const rejected[][2] = {
    {"[1,2]", "{\"id\":null,\"ok\":false,\"error\":\"a request must be a JSON object\"}"},
    {"42", "{\"id\":null,\"ok\":false,\"error\":\"a request must be a JSON object\"}"},
    {"{\"id\":1}", "{\"id\":1,\"ok\":false,\"error\":\"a request needs \\\"cmd\\\", a string\"}"},
    {"{\"id\":1,\"cmd\":5}",
     "{\"id\":1,\"ok\":false,\"error\":\"a request needs \\\"cmd\\\", a string\"}"},
    {"{\"id\":2,\"cmd\":\"device zap\"}",
     "{\"id\":2,\"ok\":false,\"error\":\"unknown command \\\"device zap\\\"\"}"},
    {"{\"id\":3,\"cmd\":\"device add\",\"args\":{\"name\":\"cam1\",\"port\":5004,"
     "\"codec\":\"h264\",\"pt\":200}}",
     "{\"id\":3,\"ok\":false,\"error\":\"device add: pt: 200 is out of range 0..127\"}"},
    {"{\"id\":4,\"cmd\":\"device add\",\"args\":[]}",
     "{\"id\":4,\"ok\":false,\"error\":\"device add: \\\"args\\\" must be an object\"}"},
    {"{\"id\":5,\"cmd\":\"device add\",\"args\":{\"name\":\"cam1\"},\"extra\":1}",
     "{\"id\":5,\"ok\":false,\"error\":\"unknown request member \\\"extra\\\"\"}"},
    {"{\"id\":7,\"cmd\":\"device add\",\"args\":{\"name\":\"cam1\",\"port\":5004,"
     "\"codec\":\"h264\",\"pt\":96,\"bogus\":true}}",
     "{\"id\":7,\"ok\":false,\"error\":\"device add: unknown argument \\\"bogus\\\"\"}"},
    {"{\"id\":8,\"cmd\":\"device add\"}",
     "{\"id\":8,\"ok\":false,\"error\":\"device add: missing name\"}"},
    {"{\"id\":9,\"cmd\":\"stream show\",\"args\":{\"name\":\"../../etc\"}}",
     "{\"id\":9,\"ok\":false,\"error\":\"stream show: name: \\\"../../etc\\\" is not a valid "
     "name (1 to 32 of A-Z a-z 0-9 _ . -)\"}"},
};

static void assert_invalid_json_reply(const char *reply)
{
	const char *head = "{\"id\":null,\"ok\":false,\"error\":\"invalid JSON at byte ";
	if (strncmp(reply, head, strlen(head)) != 0)
		fail_msg("not an invalid-JSON reply: %s", reply);
}

static void test_rejected_requests(void **state)
{
	struct fx *fx = *state;
	struct tc *c = tc_open(fx->path);
	for (size_t i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++)
		exchange(c, rejected[i][0], rejected[i][1]);
	const char *bad_json[] = {
	    "not json",
	    "{\"id\":1,\"cmd\":\"device add\"",
	    "{\"id\":6,\"cmd\":\"device del\",\"cmd\":\"status\",\"args\":{\"name\":\"x\"}}",
	    "\"\\u0000\"",
	};
	for (size_t i = 0; i < sizeof(bad_json) / sizeof(bad_json[0]); i++) {
		tc_send(c, bad_json[i], strlen(bad_json[i]));
		tc_send(c, "\n", 1);
		char *r = tc_line(c);
		assert_non_null(r);
		assert_invalid_json_reply(r);
		free(r);
	}
	assert_int_equal(atomic_load(&fx->calls), 0);
	/* Errors do not close the connection. */
	exchange(c, "{\"id\":1,\"cmd\":\"sub resume\",\"args\":{\"id\":1}}",
	         "{\"id\":1,\"ok\":true,\"result\":null}");
	tc_close(c);
}

static void test_handler_errors(void **state)
{
	struct fx *fx = *state;
	struct tc *c = tc_open(fx->path);
	exchange(c, "{\"id\":1,\"cmd\":\"device del\",\"args\":{\"name\":\"cam9\"}}",
	         "{\"id\":1,\"ok\":false,\"error\":\"device del: no such device \\\"cam9\\\"\"}");
	exchange(c, "{\"id\":2,\"cmd\":\"sub del\",\"args\":{\"id\":4}}",
	         "{\"id\":2,\"ok\":false,\"error\":\"sub del: Device or resource busy\"}");
	assert_int_equal(atomic_load(&fx->calls), 2);
	exchange(c, "{\"id\":3,\"cmd\":\"sub list\"}",
	         "{\"id\":3,\"ok\":false,\"error\":\"sub list: not implemented by this caasd\"}");
	/* Commands caasctl carries out itself are refused by the daemon, handler or not. */
	exchange(c, "{\"id\":6,\"cmd\":\"record verify\",\"args\":{\"path\":\"/x\"}}",
	         "{\"id\":6,\"ok\":false,\"error\":\"record verify: runs in caasctl, not in "
	         "caasd\"}");
	exchange(c, "{\"id\":4,\"cmd\":\"help\",\"args\":{\"command\":\"nope\"}}",
	         "{\"id\":4,\"ok\":false,\"error\":\"help: unknown command \\\"nope\\\"\"}");
	exchange(c, "{\"id\":5,\"cmd\":\"version\"}",
	         "{\"id\":5,\"ok\":true,\"result\":{\"version\":\"" MG_VERSION
	         "\",\"protocol\":1}}");
	exchange_raw(c, "{\"id\":6,\"cmd\":\"help\",\"args\":{\"command\":\"sub sdp\"}}");
	char *r = tc_line(c);
	json_t *j = json_loads(r, 0, NULL);
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "result"), "usage")),
	    "sub sdp ID");
	json_decref(j);
	free(r);
	tc_close(c);
}

/* A request of exactly `len` bytes: a valid request padded with spaces. */
static char *request_of(size_t len)
{
	const char *req = "{\"id\":1,\"cmd\":\"sub resume\",\"args\":{\"id\":1}}";
	char *s = malloc(len + 2);
	memset(s, ' ', len);
	memcpy(s, req, strlen(req));
	s[len] = '\n';
	s[len + 1] = '\0';
	return s;
}

static void test_too_long(void **state)
{
	struct fx *fx = *state;
	char *max = request_of(MG_CTL_MAX_REQUEST);
	char *over = request_of(MG_CTL_MAX_REQUEST + 1);

	struct tc *c = tc_open(fx->path);
	tc_send(c, max, strlen(max));
	char *r = tc_line(c);
	assert_non_null(r);
	assert_string_equal(r, "{\"id\":1,\"ok\":true,\"result\":null}");
	free(r);
	tc_send(c, over, strlen(over));
	r = tc_line(c);
	assert_non_null(r);
	assert_string_equal(r, "{\"id\":null,\"ok\":false,\"error\":\"request longer than 65536 "
	                       "bytes\"}");
	free(r);
	assert_closed(c);
	tc_close(c);

	/* No newline at all, and more keeps coming: the same. */
	c = tc_open(fx->path);
	memset(over, 'x', MG_CTL_MAX_REQUEST + 1);
	tc_send(c, over, MG_CTL_MAX_REQUEST + 1);
	r = tc_line(c);
	assert_non_null(r);
	assert_string_equal(r, "{\"id\":null,\"ok\":false,\"error\":\"request longer than 65536 "
	                       "bytes\"}");
	free(r);
	assert_closed(c);
	tc_close(c);
	assert_int_equal(atomic_load(&fx->calls), 1);
	free(max);
	free(over);
}

static void test_two_clients(void **state)
{
	struct fx *fx = *state;
	struct tc *a = tc_open(fx->path), *b = tc_open(fx->path);
	const char *req = "{\"id\":\"a\",\"cmd\":\"sub resume\",\"args\":{\"id\":1}}\n";

	/* A's half request does not hold B up. */
	tc_send(a, req, 20);
	exchange(b, "{\"id\":\"b\",\"cmd\":\"sub resume\",\"args\":{\"id\":2}}",
	         "{\"id\":\"b\",\"ok\":true,\"result\":null}");
	tc_send(a, req + 20, strlen(req) - 20);
	char *r = tc_line(a);
	assert_non_null(r);
	assert_string_equal(r, "{\"id\":\"a\",\"ok\":true,\"result\":null}");
	free(r);

	/* C pipelines many requests with large replies and reads none: the server stops reading
	 * C, B is still answered, and C later gets every reply, in order. */
	struct tc *c = tc_open(fx->path);
	int fl = fcntl(c->fd, F_GETFL);
	fcntl(c->fd, F_SETFL, fl | O_NONBLOCK);
	const char *big = "{\"id\":0,\"cmd\":\"stream list\"}\n";
	size_t blen = strlen(big);
	int sent = 0;
	for (; sent < 400; sent++) {
		ssize_t n = send(c->fd, big, blen, MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			break;
		assert_int_equal(n, (ssize_t)blen); /* small enough never to be cut */
	}
	assert_true(sent > 50);
	usleep(100000);
	exchange(b, "{\"id\":\"b2\",\"cmd\":\"sub resume\",\"args\":{\"id\":2}}",
	         "{\"id\":\"b2\",\"ok\":true,\"result\":null}");
	fcntl(c->fd, F_SETFL, fl);
	for (int i = 0; i < sent; i++) {
		r = tc_line(c);
		if (!r)
			fail_msg("reply %d of %d: %s", i, sent, errno ? strerror(errno) : "closed");
		json_t *j = json_loads(r, 0, NULL);
		assert_int_equal(json_array_size(json_object_get(j, "result")), fx->big_rows);
		json_decref(j);
		free(r);
	}
	tc_close(a);
	tc_close(b);
	tc_close(c);
}

static void test_max_clients(void **state)
{
	struct fx *fx = *state;
	struct tc *c[MG_CTL_MAX_CLIENTS + 1];
	for (int i = 0; i < MG_CTL_MAX_CLIENTS; i++) {
		c[i] = tc_open(fx->path);
		exchange(c[i], "{\"id\":1,\"cmd\":\"sub resume\",\"args\":{\"id\":1}}",
		         "{\"id\":1,\"ok\":true,\"result\":null}");
	}
	struct tc *extra = tc_open(fx->path);
	char *r = tc_line(extra);
	assert_non_null(r);
	assert_string_equal(r, "{\"id\":null,\"ok\":false,\"error\":\"too many clients (64); try "
	                       "again later\"}");
	free(r);
	assert_closed(extra);
	tc_close(extra);

	/* A slot freed is a slot for the next client. */
	tc_close(c[0]);
	for (int tries = 0;; tries++) {
		usleep(20000);
		struct tc *n = tc_open(fx->path);
		exchange_raw(n, "{\"id\":2,\"cmd\":\"sub resume\",\"args\":{\"id\":1}}");
		r = tc_line(n);
		assert_non_null(r);
		bool ok = !strcmp(r, "{\"id\":2,\"ok\":true,\"result\":null}");
		free(r);
		tc_close(n);
		if (ok)
			break;
		assert_true(tries < 50);
	}
	for (int i = 1; i < MG_CTL_MAX_CLIENTS; i++)
		tc_close(c[i]);
}

/* A client that sends its last request without a newline and shuts down its side. */
static void test_half_close(void **state)
{
	struct fx *fx = *state;
	struct tc *c = tc_open(fx->path);
	const char *req = "{\"id\":1,\"cmd\":\"sub resume\",\"args\":{\"id\":1}}";
	tc_send(c, req, strlen(req));
	shutdown(c->fd, SHUT_WR);
	char *r = tc_line(c);
	assert_non_null(r);
	assert_string_equal(r, "{\"id\":1,\"ok\":true,\"result\":null}");
	free(r);
	assert_closed(c);
	tc_close(c);
}

/* The in-process entry gives the socket's replies, byte for byte. */
static void test_dispatch_same(void **state)
{
	struct fx *fx = *state;
	struct tc *c = tc_open(fx->path);
	const char *reqs[] = {
	    ("{\"id\":1,\"cmd\":\"device add\",\"args\":{\"name\":\"cam1\",\"port\":5004,"
	     "\"codec\":\"h264\",\"pt\":96}}"),
	    "{\"id\":2,\"cmd\":\"device del\",\"args\":{\"name\":\"cam9\"}}",
	    "{\"id\":3,\"cmd\":\"sub del\",\"args\":{\"id\":4}}",
	    "{\"id\":4,\"cmd\":\"sub list\"}",
	    "{\"id\":5,\"cmd\":\"help\",\"args\":{\"command\":\"device\"}}",
	    "{\"id\":6,\"cmd\":\"help\"}",
	    "{\"id\":7,\"cmd\":\"version\"}",
	    "not json",
	    "[]",
	    "{\"id\":8,\"cmd\":\"nope\"}",
	};
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		char *via_ctl = NULL;
		assert_int_equal(mg_ctl_dispatch(fx->ctl, reqs[i], &via_ctl), 0);
		exchange(c, reqs[i], via_ctl);
		free(via_ctl);
	}
	for (size_t i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++) {
		char *via_ctl = NULL;
		assert_int_equal(mg_ctl_dispatch(fx->ctl, rejected[i][0], &via_ctl), 0);
		assert_string_equal(via_ctl, rejected[i][1]);
		free(via_ctl);
	}
	/* A trailing newline is allowed; an over-long request gets the socket's message. */
	char *via_ctl = NULL;
	assert_int_equal(mg_ctl_dispatch(fx->ctl, "{\"cmd\":\"sub list\"}\n", &via_ctl), 0);
	assert_string_equal(via_ctl,
	                    "{\"id\":null,\"ok\":false,\"error\":\"sub list: not implemented by "
	                    "this caasd\"}");
	free(via_ctl);
	char *over = request_of(MG_CTL_MAX_REQUEST + 1);
	assert_int_equal(mg_ctl_dispatch(fx->ctl, over, &via_ctl), 0);
	assert_string_equal(via_ctl, "{\"id\":null,\"ok\":false,\"error\":\"request longer than "
	                             "65536 bytes\"}");
	free(via_ctl);
	free(over);
	tc_close(c);
}

static void test_bind_rules(void **state)
{
	struct fx *fx = *state;
	struct mg_ctl *ctl;
	char err[MG_ERR_MAX], names[512];

	/* Without a socket: for mg_ctl_dispatch alone. */
	assert_int_equal(mg_ctl_open(&ctl, NULL, 0, (gid_t)-1, err, sizeof(err)), 0);
	assert_true(mg_ctl_fd(ctl) >= 0);
	/* Every command caasd must answer starts unbound; help, version (local) and record
	 * verify/export (run in caasctl) are never bound and never missing. */
	size_t want = 0;
	for (size_t i = 0; i < mg_cmd_count(); i++)
		want += !(mg_cmd_at(i)->flags & (MG_CMD_LOCAL | MG_CMD_CLIENT));
	assert_true(want >= 14);
	assert_int_equal(mg_ctl_unbound(ctl, names, sizeof(names)), want);
	assert_true(!strncmp(names, "status, device add, device list, device del, stream list, ",
	                     58));
	assert_null(strstr(names, "record verify"));
	assert_null(strstr(names, "help,"));
	assert_int_equal(mg_ctl_bind(ctl, "nope", h_none, fx), -ENOENT);
	assert_int_equal(mg_ctl_bind(ctl, "device", h_none, fx), -ENOENT);
	assert_int_equal(mg_ctl_bind(ctl, "help", h_none, fx), -EINVAL);
	assert_int_equal(mg_ctl_bind(ctl, "version", h_none, fx), -EINVAL);
	assert_int_equal(mg_ctl_bind(ctl, "status", NULL, fx), -EINVAL);
	assert_int_equal(mg_ctl_bind(ctl, "status", h_none, fx), 0);
	assert_int_equal(mg_ctl_bind(ctl, "status", h_echo, fx), -EEXIST);
	bind_all(fx, ctl);
	assert_int_equal(mg_ctl_unbound(ctl, names, 12), want - 7); /* bind_all and status */
	assert_string_equal(names, "device list"); /* truncated to the buffer */
	for (size_t i = 0; i < mg_cmd_count(); i++)
		if (!(mg_cmd_at(i)->flags & (MG_CMD_LOCAL | MG_CMD_CLIENT)))
			mg_ctl_bind(ctl, mg_cmd_at(i)->name, h_none, fx); /* -EEXIST for the bound */
	assert_int_equal(mg_ctl_unbound(ctl, names, sizeof(names)), 0);
	assert_string_equal(names, "");

	char *reply;
	assert_int_equal(mg_ctl_dispatch(ctl, "{\"id\":1,\"cmd\":\"status\"}", &reply), 0);
	assert_string_equal(reply, "{\"id\":1,\"ok\":true,\"result\":null}");
	free(reply);
	assert_int_equal(mg_ctl_poll(ctl, 0), 0);
	mg_ctl_close(ctl);
}

/* The client library caasctl uses, against the same server. */
static void test_client(void **state)
{
	struct fx *fx = *state;
	struct mg_client cl;
	char err[MG_ERR_MAX], want[256];
	json_t *result = NULL;

	assert_int_equal(mg_client_open(&cl, fx->path, 1000, err, sizeof(err)), 0);
	json_t *args = json_pack("{s:s, s:s}", "stream", "cam1", "to", "198.18.0.1:5004");
	/* sub add is unbound here: caasd's error comes back as -EREMOTEIO and its message. */
	assert_int_equal(mg_client_call(&cl, "sub add", args, 1000, &result, err, sizeof(err)),
	                 -EREMOTEIO);
	assert_string_equal(err, "sub add: not implemented by this caasd");
	assert_null(result);
	json_decref(args);
	args = json_pack("{s:s}", "name", "cam2");
	assert_int_equal(mg_client_call(&cl, "stream show", args, 1000, &result, err, sizeof(err)),
	                 0);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(result, "echo"), "name")), "cam2");
	json_decref(result);
	json_decref(args);
	assert_int_equal(mg_client_call(&cl, "sub resume", NULL, 1000, &result, err, sizeof(err)),
	                 -EREMOTEIO);
	assert_string_equal(err, "sub resume: missing id");
	args = json_pack("{s:i}", "id", 3);
	assert_int_equal(mg_client_call(&cl, "sub resume", args, 1000, &result, err, sizeof(err)),
	                 0);
	assert_null(result);
	json_decref(args);
	char *reply = NULL;
	assert_int_equal(mg_client_exchange(&cl, "[]", 1000, &reply, err, sizeof(err)), 0);
	assert_string_equal(
	    reply, "{\"id\":null,\"ok\":false,\"error\":\"a request must be a JSON object\"}");
	free(reply);
	mg_client_close(&cl);

	/* Nothing there. */
	char path[100];
	snprintf(path, sizeof(path), "%s/absent.sock", fx->dir);
	assert_int_equal(mg_client_open(&cl, path, 1000, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want),
	         "cannot connect to caasd at %s: No such file or directory (is caasd running?)",
	         path);
	assert_string_equal(err, want);
	mg_client_close(&cl);

	/* A listener that never answers: the call times out. */
	snprintf(path, sizeof(path), "%s/mute.sock", fx->dir);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(mg_client_open(&cl, path, 1000, err, sizeof(err)), 0);
	assert_int_equal(mg_client_call(&cl, "status", NULL, 200, &result, err, sizeof(err)),
	                 -ETIMEDOUT);
	snprintf(want, sizeof(want), "no reply from caasd at %s within 0.2 s", path);
	assert_string_equal(err, want);
	mg_client_close(&cl);

	/* One that hangs up without a reply (the first connection queued is the timed-out one). */
	assert_int_equal(mg_client_open(&cl, path, 1000, err, sizeof(err)), 0);
	int stale = accept(lfd, NULL, NULL), fd = accept(lfd, NULL, NULL);
	assert_true(stale >= 0 && fd >= 0);
	close(stale);
	close(fd);
	assert_int_equal(mg_client_call(&cl, "status", NULL, 1000, &result, err, sizeof(err)),
	                 -ECONNRESET);
	snprintf(want, sizeof(want), "caasd at %s closed the connection without replying", path);
	assert_string_equal(err, want);
	mg_client_close(&cl);

	/* One that answers something else, or a reply to another request. */
	const char *answers[] = {"garbage\n", "{\"id\":99,\"ok\":true,\"result\":null}\n"};
	const char *msgs[] = {"sent something that is not a reply", "answered another request"};
	for (int i = 0; i < 2; i++) {
		assert_int_equal(mg_client_open(&cl, path, 1000, err, sizeof(err)), 0);
		fd = accept(lfd, NULL, NULL);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, answers[i], strlen(answers[i])), strlen(answers[i]));
		assert_int_equal(
		    mg_client_call(&cl, "status", NULL, 1000, &result, err, sizeof(err)), -EPROTO);
		snprintf(want, sizeof(want), "caasd at %s %s", path, msgs[i]);
		assert_string_equal(err, want);
		assert_null(result);
		mg_client_close(&cl);
		close(fd);
	}
	close(lfd);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_socket_file),    T(test_refuses_live_replaces_stale),
	    T(test_good_request),   T(test_rejected_requests),
	    T(test_handler_errors), T(test_too_long),
	    T(test_two_clients),    T(test_max_clients),
	    T(test_half_close),     T(test_dispatch_same),
	    T(test_bind_rules),     T(test_client),
	};
#undef T
	return cmocka_run_group_tests_name("mgmt_ctl", tests, NULL, NULL);
}
