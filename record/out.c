/* The byte appender (see out.h): staging buffers filled all or nothing, queued as they fill,
 * SHA-256 through OpenSSL EVP. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "record/out.h"

static void say(char *err, size_t errlen, const char *name, const char *what, int ret)
{
	if (err && errlen)
		snprintf(err, errlen, "%s.part: %s: %s", name, what, strerror(-ret));
}

int rec_out_open(struct rec_out *o, struct rec_uring *u, int dir_fd, const char *name, char *err,
                 size_t errlen)
{
	int ret;

	memset(o, 0, sizeof(*o));
	/* The hash first: once the file exists, failing would leave an empty .part behind. */
	o->sha = EVP_MD_CTX_new();
	if (!o->sha || !EVP_DigestInit_ex(o->sha, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(o->sha);
		o->sha = NULL;
		say(err, errlen, name, "SHA-256 context", -ENOMEM);
		return -ENOMEM;
	}
	ret = rec_file_open(u, dir_fd, name, &o->f);
	if (ret < 0) {
		EVP_MD_CTX_free(o->sha);
		memset(o, 0, sizeof(*o));
		say(err, errlen, name, "create", ret);
		return ret;
	}
	o->u = u;
	return 0;
}

/* The file's first error, adopted as o's. */
static int out_err(struct rec_out *o)
{
	if (!o->err && o->f && o->f->err)
		o->err = o->f->err;
	return o->err;
}

static int fail(struct rec_out *o, int err)
{
	if (!o->err)
		o->err = err;
	return o->err;
}

/* Fresh buffers an append of len bytes takes beyond the room left in cur. The first fresh one
 * starts with the file's carried O_DIRECT tail (there is none while cur is held). */
static size_t bufs_needed(const struct rec_out *o, size_t len)
{
	size_t cap = o->u->buf_size, room, first;

	room = o->cur ? o->cur->cap - o->cur->len : 0;
	if (len <= room)
		return 0;
	len -= room;
	first = o->cur ? cap : cap - o->f->tail_len;
	if (len <= first)
		return 1;
	return 1 + (len - first + cap - 1) / cap;
}

/* SHA-256 of a buffer's new bytes, when it leaves for the disk: one large update rather than one
 * per append. */
static int hash_buf(struct rec_out *o, const struct rec_buf *b)
{
	if (b->len > o->cur_hashed &&
	    !EVP_DigestUpdate(o->sha, b->data + o->cur_hashed, b->len - o->cur_hashed))
		return -EIO;
	o->cur_hashed = 0;
	return 0;
}

int rec_out_append(struct rec_out *o, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (!o->f)
		return -EBADF;
	if (out_err(o))
		return o->err;
	if (!len)
		return 0;
	if (bufs_needed(o, len) > o->u->nbufs_free) {
		o->refused++;
		return -ENOBUFS;
	}
	o->size += len;
	while (len) {
		struct rec_buf *b = o->cur;
		size_t n;
		int ret;

		if (!b) {
			/* Cannot fail: bufs_needed() said enough are free, and only this thread
			 * takes them. */
			b = o->cur = rec_buf_get(o->u, o->f);
			if (!b)
				return fail(o, -ENOBUFS);
			o->cur_hashed = b->len; /* the carried tail was hashed in its own buffer */
		}
		n = b->cap - b->len;
		if (n > len)
			n = len;
		memcpy(b->data + b->len, p, n);
		b->len += (uint32_t)n;
		p += n;
		len -= n;
		if (b->len == b->cap) {
			o->cur = NULL;
			if (hash_buf(o, b))
				return fail(o, -EIO);
			ret = rec_file_write(o->u, o->f, b);
			if (ret < 0)
				return fail(o, ret);
		}
	}
	return 0;
}

int rec_out_flush(struct rec_out *o)
{
	struct rec_buf *b = o->cur;
	int ret;

	if (!o->f)
		return -EBADF;
	if (out_err(o))
		return o->err;
	/* Nothing new, but a tail that no padded write has covered yet (its last one waited for
	 * an earlier padded write): write it now. */
	if (!b && o->f->tail_len && !o->f->tail_inflight) {
		b = rec_buf_get(o->u, o->f);
		o->cur_hashed = b ? b->len : 0;
	}
	if (!b)
		return 0;
	o->cur = NULL;
	if (hash_buf(o, b))
		return fail(o, -EIO);
	/* On an O_DIRECT file this writes the aligned head and carries the rest to the next
	 * buffer, but also writes that rest zero-padded, so that a sync covers it. */
	ret = rec_file_write_padded(o->u, o->f, b);
	return ret < 0 ? fail(o, ret) : 0;
}

int rec_out_sync(struct rec_out *o)
{
	int ret = rec_out_flush(o);

	if (ret < 0)
		return ret;
	ret = rec_file_sync(o->u, o->f);
	/* -EBUSY: the sync was not queued, but nothing was lost. */
	if (ret < 0 && ret != -EBUSY)
		return fail(o, ret);
	return ret;
}

static void hex(const unsigned char *md, unsigned int n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (unsigned int i = 0; i < n; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Forget o's resources once its file is sealed or aborted. */
static void out_done(struct rec_out *o)
{
	EVP_MD_CTX_free(o->sha);
	o->sha = NULL;
	o->f = NULL;
	o->cur = NULL;
}

int rec_out_seal(struct rec_out *o, char sha256_hex[65], uint64_t *size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int ret;

	sha256_hex[0] = '\0';
	*size = 0;
	if (!o->f)
		return -EBADF;
	ret = rec_out_flush(o);
	if (ret < 0) {
		rec_out_abort(o);
		return ret;
	}
	ret = rec_file_seal(o->u, o->f);
	if (!ret && (!EVP_DigestFinal_ex(o->sha, md, &mdlen) || mdlen != 32))
		ret = -EIO; /* sealed, but we cannot say what it holds */
	if (ret < 0) {
		fail(o, ret);
	} else {
		hex(md, mdlen, sha256_hex);
		*size = o->size;
	}
	out_done(o);
	return ret;
}

void rec_out_abort(struct rec_out *o)
{
	if (!o->f)
		return;
	if (o->cur) {
		struct rec_buf *b = o->cur;

		o->cur = NULL;
		/* Keep what was appended on disk for recovery; a failed file refuses it and
		 * takes the buffer back. */
		rec_file_write(o->u, o->f, b);
	}
	rec_file_abort(o->u, o->f);
	out_done(o);
}
