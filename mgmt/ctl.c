/* The control socket: listener set-up and clean-up, and per-connection buffering of request and
 * reply lines, all non-blocking under one epoll fd that the control thread polls. */
#include "ctl.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmds.h"
#include "dispatch.h"

#define ACCEPTS_PER_POLL 16
#define EVENTS_PER_POLL  32
#define IN_CAP_MIN       4096
#define OUT_KEEP_MAX     (1u << 20) /* reply buffer kept between replies, at most */

struct client {
	int fd; /* -1: free slot */
	uint32_t events;
	char *in;
	size_t in_off, in_len, in_cap;
	char *out;
	size_t out_off, out_len, out_cap;
	bool eof;     /* the peer will send nothing more */
	bool closing; /* close once the replies are written */
};

struct mg_ctl {
	int epfd;
	int lfd;
	char *path;
	dev_t dev; /* the socket file we made, so we never unlink another's */
	ino_t ino;
	struct mg_binding *bindings;
	struct client clients[MG_CTL_MAX_CLIENTS];
};


/* 0 if nothing answers at path (absent or stale), -EADDRINUSE if a server does, -EEXIST if path
 * is not a socket at all (we do not delete what we did not make). */
static int check_existing(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	int e = errno;
	close(fd);
	if (rc == 0 || e == EAGAIN) /* EAGAIN: a listener whose backlog is full */
		return -EADDRINUSE;
	return 0;
}

/*
 * The socket is bound under a temporary name, given its mode and group, and only then renamed to
 * path: a client can never find it with the umask's permissions, and replacing a stale file is
 * atomic. RENAME_NOREPLACE when nothing was there keeps a concurrent start from being clobbered.
 */
static int listen_on(struct mg_ctl *ctl, const char *path, mode_t mode, gid_t gid, char *err,
                     size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX}, tmp = {.sun_family = AF_UNIX};
	struct stat st;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >= (int)sizeof(sa.sun_path) ||
	    snprintf(tmp.sun_path, sizeof(tmp.sun_path), "%s.%d.tmp", path, (int)getpid()) >=
	        (int)sizeof(tmp.sun_path))
		return mg_errf(-ENAMETOOLONG, err, errlen, "control socket path %s is too long", path);
	int rc = check_existing(path, &sa);
	if (rc == -EADDRINUSE)
		return mg_errf(rc, err, errlen, "control socket %s: another caasd answers there",
		            path);
	if (rc == -EEXIST)
		return mg_errf(rc, err, errlen, "control socket %s: exists and is not a socket", path);
	if (rc)
		return mg_errf(rc, err, errlen, "control socket %s: %s", path, strerror(-rc));
	bool replace = lstat(path, &st) == 0;

	ctl->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->lfd < 0)
		return mg_errf(-errno, err, errlen, "control socket: %s", strerror(errno));
	unlink(tmp.sun_path); /* left by a crashed process that had our pid */
	const char *step = "bind";
	if (bind(ctl->lfd, (const struct sockaddr *)&tmp, sizeof(tmp)) < 0)
		goto fail;
	step = "chmod";
	if (chmod(tmp.sun_path, mode) < 0)
		goto fail_unlink;
	step = "chown";
	if (gid != (gid_t)-1 && chown(tmp.sun_path, (uid_t)-1, gid) < 0)
		goto fail_unlink;
	step = "listen";
	if (listen(ctl->lfd, SOMAXCONN) < 0 || stat(tmp.sun_path, &st) < 0)
		goto fail_unlink;
	step = "rename";
	if (renameat2(AT_FDCWD, tmp.sun_path, AT_FDCWD, path, replace ? 0 : RENAME_NOREPLACE) < 0)
		goto fail_unlink;
	ctl->dev = st.st_dev;
	ctl->ino = st.st_ino;
	ctl->path = strdup(path);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = ctl};
	if (!ctl->path || epoll_ctl(ctl->epfd, EPOLL_CTL_ADD, ctl->lfd, &ev) < 0) {
		rc = ctl->path ? -errno : -ENOMEM;
		unlink(path);
		return mg_errf(rc, err, errlen, "control socket %s: %s", path, strerror(-rc));
	}
	return 0;
fail_unlink:
	rc = -errno;
	unlink(tmp.sun_path);
	return mg_errf(rc, err, errlen, "control socket %s: %s: %s", path, step, strerror(-rc));
fail:
	rc = -errno;
	return mg_errf(rc, err, errlen, "control socket %s: %s: %s", path, step, strerror(-rc));
}

int mg_ctl_open(struct mg_ctl **out, const char *path, mode_t mode, gid_t gid, char *err,
                size_t errlen)
{
	struct mg_ctl *ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return mg_errf(-ENOMEM, err, errlen, "out of memory");
	ctl->lfd = -1;
	for (size_t i = 0; i < MG_CTL_MAX_CLIENTS; i++)
		ctl->clients[i].fd = -1;
	ctl->bindings = calloc(mg_cmd_count(), sizeof(*ctl->bindings));
	ctl->epfd = epoll_create1(EPOLL_CLOEXEC);
	int rc = 0;
	if (!ctl->bindings)
		rc = mg_errf(-ENOMEM, err, errlen, "out of memory");
	else if (ctl->epfd < 0)
		rc = mg_errf(-errno, err, errlen, "epoll: %s", strerror(errno));
	else if (path)
		rc = listen_on(ctl, path, mode, gid, err, errlen);
	if (rc) {
		mg_ctl_close(ctl);
		return rc;
	}
	*out = ctl;
	return 0;
}

static void drop(struct mg_ctl *ctl, struct client *c)
{
	epoll_ctl(ctl->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void mg_ctl_close(struct mg_ctl *ctl)
{
	struct stat st;
	if (!ctl)
		return;
	for (size_t i = 0; i < MG_CTL_MAX_CLIENTS; i++)
		if (ctl->clients[i].fd >= 0)
			drop(ctl, &ctl->clients[i]);
	if (ctl->lfd >= 0)
		close(ctl->lfd);
	if (ctl->path && stat(ctl->path, &st) == 0 && st.st_dev == ctl->dev &&
	    st.st_ino == ctl->ino)
		unlink(ctl->path);
	if (ctl->epfd >= 0)
		close(ctl->epfd);
	free(ctl->path);
	free(ctl->bindings);
	free(ctl);
}

int mg_ctl_bind(struct mg_ctl *ctl, const char *name, mg_handler fn, void *ctx)
{
	const struct mg_cmd *cmd = mg_cmd_find(name);
	if (!cmd)
		return -ENOENT;
	if (cmd->flags & MG_CMD_LOCAL || !fn)
		return -EINVAL;
	struct mg_binding *b = &ctl->bindings[cmd - mg_cmd_at(0)];
	if (b->fn)
		return -EEXIST;
	b->fn = fn;
	b->ctx = ctx;
	return 0;
}

size_t mg_ctl_unbound(const struct mg_ctl *ctl, char *names, size_t len)
{
	size_t n = 0, off = 0;
	if (len)
		names[0] = '\0';
	for (size_t i = 0; i < mg_cmd_count(); i++) {
		if (mg_cmd_at(i)->flags & (MG_CMD_LOCAL | MG_CMD_CLIENT) || ctl->bindings[i].fn)
			continue;
		if (off < len)
			off += (size_t)snprintf(names + off, len - off, "%s%s", n ? ", " : "",
			                        mg_cmd_at(i)->name);
		n++;
	}
	return n;
}

int mg_ctl_fd(const struct mg_ctl *ctl)
{
	return ctl->epfd;
}

int mg_ctl_dispatch(struct mg_ctl *ctl, const char *request, char **reply)
{
	size_t len = strlen(request);
	if (len && request[len - 1] == '\n')
		len--;
	*reply = mg_answer(ctl->bindings, request, len);
	return *reply ? 0 : -ENOMEM;
}

static void want(struct mg_ctl *ctl, struct client *c, uint32_t events)
{
	if (c->events == events)
		return;
	struct epoll_event ev = {.events = events, .data.ptr = c};
	if (epoll_ctl(ctl->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = events;
}

/* Queue a reply line; NULL (no memory for the reply itself) becomes a fixed one. */
static int queue(struct client *c, char *line)
{
	static const char oom[] = "{\"id\":null,\"ok\":false,\"error\":\"out of memory\"}";
	const char *s = line ? line : oom;
	size_t n = strlen(s) + 1;
	if (c->out_cap - c->out_len < n) {
		size_t cap = c->out_len + n + 4096;
		char *b = realloc(c->out, cap);
		if (!b) {
			free(line);
			return -ENOMEM;
		}
		c->out = b;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, s, n - 1);
	c->out[c->out_len + n - 1] = '\n';
	c->out_len += n;
	free(line);
	return 0;
}

static int flush(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			c->out_off += (size_t)n;
		else if (errno == EAGAIN)
			return 0;
		else if (errno != EINTR)
			return -errno;
	}
	c->out_off = c->out_len = 0;
	if (c->out_cap > OUT_KEEP_MAX) { /* one huge reply should not pin its buffer */
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	return 0;
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

static int answer(struct mg_ctl *ctl, struct client *c, const char *line, size_t len)
{
	if (blank(line, len)) /* a stray newline from someone typing at nc -U */
		return 0;
	return queue(c, mg_answer(ctl->bindings, line, len));
}

/*
 * Move a connection forward as far as it can go without blocking: write pending replies, then
 * answer complete lines one at a time. A reply that cannot be written whole stops the reading
 * of this client (and only this one) until the socket drains.
 */
static void service(struct mg_ctl *ctl, struct client *c)
{
	for (;;) {
		if (c->out_off < c->out_len) {
			if (flush(c) < 0)
				break;
			if (c->out_off < c->out_len) {
				want(ctl, c, EPOLLOUT);
				return;
			}
		}
		if (c->closing)
			break;
		char *start = c->in + c->in_off;
		size_t avail = c->in_len - c->in_off;
		char *nl = avail ? memchr(start, '\n', avail) : NULL;
		int rc = 0;
		if (nl) {
			c->in_off += (size_t)(nl - start) + 1;
			rc = answer(ctl, c, start, (size_t)(nl - start));
		} else if (avail > MG_CTL_MAX_REQUEST) {
			char msg[64];
			snprintf(msg, sizeof(msg), "request longer than %d bytes",
			         MG_CTL_MAX_REQUEST);
			rc = queue(c, mg_answer_error(msg));
			c->closing = true;
		} else if (c->eof && avail) { /* a last request without its newline */
			c->in_off = c->in_len;
			rc = answer(ctl, c, start, avail);
		} else if (c->eof) {
			break;
		} else {
			want(ctl, c, EPOLLIN);
			return;
		}
		if (rc < 0)
			break;
	}
	drop(ctl, c);
}

/* One read: 0, or a negative errno when the connection is broken. */
static int read_some(struct client *c)
{
	const size_t limit = MG_CTL_MAX_REQUEST + 1; /* one byte more shows a line is too long */
	if (c->in_off) {
		c->in_len -= c->in_off;
		memmove(c->in, c->in + c->in_off, c->in_len);
		c->in_off = 0;
	}
	if (c->in_cap - c->in_len < IN_CAP_MIN && c->in_cap < limit) {
		size_t cap = c->in_cap ? 2 * c->in_cap : IN_CAP_MIN;
		cap = cap > limit ? limit : cap;
		char *b = realloc(c->in, cap);
		if (!b)
			return -ENOMEM;
		c->in = b;
		c->in_cap = cap;
	}
	if (c->in_len == c->in_cap)
		return 0;
	ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
	if (n > 0)
		c->in_len += (size_t)n;
	else if (n == 0)
		c->eof = true;
	else if (errno != EAGAIN && errno != EINTR)
		return -errno;
	return 0;
}

static void accept_clients(struct mg_ctl *ctl)
{
	for (int i = 0; i < ACCEPTS_PER_POLL; i++) {
		int fd = accept4(ctl->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct client *c = NULL;
		for (size_t k = 0; k < MG_CTL_MAX_CLIENTS && !c; k++)
			if (ctl->clients[k].fd < 0)
				c = &ctl->clients[k];
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		if (c && epoll_ctl(ctl->epfd, EPOLL_CTL_ADD, fd, &ev) == 0) {
			c->fd = fd;
			c->events = EPOLLIN;
			continue;
		}
		/* Full: say why, without waiting for the peer to read it. */
		char msg[64];
		snprintf(msg, sizeof(msg), "too many clients (%d); try again later",
		         MG_CTL_MAX_CLIENTS);
		char *line = mg_answer_error(msg);
		if (line) {
			size_t n = strlen(line);
			line[n] = '\n';
			(void)!send(fd, line, n + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			free(line);
		}
		close(fd);
	}
}

int mg_ctl_poll(struct mg_ctl *ctl, int timeout_ms)
{
	struct epoll_event ev[EVENTS_PER_POLL];
	int n = epoll_wait(ctl->epfd, ev, EVENTS_PER_POLL, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	/* A slot freed while handling one event is only refilled by accept_clients, and an fd
	 * appears once per batch, so no later event of this batch can name a reused slot. */
	for (int i = 0; i < n; i++) {
		if (ev[i].data.ptr == ctl) {
			accept_clients(ctl);
			continue;
		}
		struct client *c = ev[i].data.ptr;
		if (c->fd < 0)
			continue;
		if ((ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && (c->events & EPOLLIN) &&
		    !c->eof && read_some(c) < 0) {
			drop(ctl, c);
			continue;
		}
		service(ctl, c);
	}
	return 0;
}
