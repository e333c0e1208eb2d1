/* caasd's registry on disk (see state.h). */
#include "mgmt/state.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mgmt/err.h"

#define STATE_FORMAT "caas-state/1"

struct mg_state {
	char path[PATH_MAX];
	json_t *doc;
	bool replaying;
};

static int save(struct mg_state *st, char *err, size_t errlen)
{
	char tmp[PATH_MAX + 8], dir[PATH_MAX];
	char *text;
	size_t len;
	int fd, dfd, rc = 0;

	if (!st->path[0] || st->replaying)
		return 0;
	text = json_dumps(st->doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	if (!text)
		return mg_errf(-ENOMEM, err, errlen, "state: out of memory");
	len = strlen(text);
	snprintf(tmp, sizeof(tmp), "%s.tmp", st->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
	    fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0 && close(fd) < 0 && !rc)
		rc = -errno;
	free(text);
	if (!rc && rename(tmp, st->path) < 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		return mg_errf(rc, err, errlen, "state: cannot write %s: %s", st->path,
		               strerror(-rc));
	}
	snprintf(dir, sizeof(dir), "%s", st->path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd); /* the rename is durable once the directory is */
		close(dfd);
	}
	return 0;
}

int mg_state_open(const char *path, struct mg_state **out, char *err, size_t errlen)
{
	struct mg_state *st = calloc(1, sizeof(*st));
	json_error_t jerr;

	if (!st)
		return mg_errf(-ENOMEM, err, errlen, "state: out of memory");
	if (path && strlen(path) >= sizeof(st->path)) {
		free(st);
		return mg_errf(-ENAMETOOLONG, err, errlen, "state: path too long");
	}
	snprintf(st->path, sizeof(st->path), "%s", path ? path : "");
	if (st->path[0] && access(st->path, F_OK) == 0) {
		const char *fmt;
		st->doc = json_load_file(st->path, JSON_REJECT_DUPLICATES, &jerr);
		fmt = json_string_value(json_object_get(st->doc, "format"));
		if (!json_is_object(st->doc) || !fmt || strcmp(fmt, STATE_FORMAT)) {
			int rc = st->doc
			             ? mg_errf(-EBADMSG, err, errlen,
			                       "%s: not a caasd state file (\"format\": \"%s\")",
			                       st->path, STATE_FORMAT)
			             : mg_errf(-EBADMSG, err, errlen, "%s:%d: %s", st->path,
			                       jerr.line, jerr.text);
			json_decref(st->doc);
			free(st);
			return rc;
		}
	} else if (st->path[0] && errno != ENOENT) {
		int rc = -errno;
		free(st);
		return mg_errf(rc, err, errlen, "%s: %s", path, strerror(-rc));
	} else {
		st->doc = json_pack("{s:s}", "format", STATE_FORMAT);
	}
	if (!st->doc) {
		free(st);
		return mg_errf(-ENOMEM, err, errlen, "state: out of memory");
	}
	*out = st;
	return 0;
}

void mg_state_close(struct mg_state *st)
{
	if (!st)
		return;
	json_decref(st->doc);
	free(st);
}

json_t *mg_state_section(struct mg_state *st, const char *section)
{
	json_t *sec = json_object_get(st->doc, section);

	if (!json_is_object(sec)) {
		sec = json_object();
		json_object_set_new(st->doc, section, sec);
	}
	return sec;
}

int mg_state_put(struct mg_state *st, const char *section, const char *name, const json_t *args,
                 char *err, size_t errlen)
{
	json_t *sec = mg_state_section(st, section);

	/* Replaced objects move to the end, after what they may depend on. */
	json_object_del(sec, name);
	if (json_object_set_new(sec, name, json_deep_copy(args)))
		return mg_errf(-ENOMEM, err, errlen, "state: out of memory");
	return save(st, err, errlen);
}

int mg_state_set_arg(struct mg_state *st, const char *section, const char *name, const char *key,
                     json_t *value, char *err, size_t errlen)
{
	json_t *obj = json_object_get(mg_state_section(st, section), name);

	if (!obj) {
		json_decref(value);
		return 0;
	}
	json_object_set_new(obj, key, value);
	return save(st, err, errlen);
}

int mg_state_del(struct mg_state *st, const char *section, const char *name, char *err,
                 size_t errlen)
{
	if (json_object_del(mg_state_section(st, section), name))
		return 0;
	return save(st, err, errlen);
}

json_t *mg_state_begin_replay(struct mg_state *st)
{
	json_t *old = st->doc;

	st->doc = json_pack("{s:s}", "format", STATE_FORMAT);
	st->replaying = true;
	return old;
}

int mg_state_end_replay(struct mg_state *st, char *err, size_t errlen)
{
	st->replaying = false;
	return save(st, err, errlen);
}
