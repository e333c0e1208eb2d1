/* A byte appender over one rec_file: fills staging buffers from the io_uring writer, queues
 * them as they fill, and keeps a SHA-256 of every byte. The journal and segment writers use it. */
#ifndef CAAS_RECORD_OUT_H
#define CAAS_RECORD_OUT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "record/uring.h"

/*
 * Use, in the recorder thread, with rec_uring_poll() in its loop as uring.h says:
 *
 *     rec_out_open(&o, u, dir_fd, "x.ts", err, sizeof(err));
 *     rec_out_append(&o, p, n);     0, -ENOBUFS (refused whole: drop and count) or o.err
 *     rec_out_sync(&o);             every fsync_ms
 *     rec_out_seal(&o, hex, &size)  or, after an error, rec_out_abort(&o)
 *
 * Nothing blocks but rec_out_seal() and rec_out_abort(), which wait for the file's I/O.
 *
 * Durability of a sync: on a buffered file the fdatasync covers every byte appended before
 * rec_out_sync(). On an O_DIRECT file it covers all but the unaligned tail (fewer than
 * f->dio_align bytes), which rec_file_write() carries in memory until more bytes complete its
 * block or the seal writes it (see uring.h): a crash loses at most that tail.
 */
struct rec_out {
	struct rec_uring *u;
	struct rec_file *f;
	struct rec_buf *cur; /* staging buffer being filled, NULL when none */
	EVP_MD_CTX *sha;     /* SHA-256 of every byte appended, as buffers leave */
	uint32_t cur_hashed; /* bytes at the start of cur already hashed (a carried tail) */
	uint64_t size;       /* bytes appended */
	uint64_t refused;    /* appends refused for want of a staging buffer (-ENOBUFS) */
	int err;             /* first error, negative errno */
};

/* Create name.part in dir_fd through rec_file_open(). Returns 0 or a negative errno (-ENOMEM,
 * or rec_file_open()'s: -EEXIST for a .part left by a crash, -EMFILE...); err says why. */
int rec_out_open(struct rec_out *o, struct rec_uring *u, int dir_fd, const char *name, char *err,
                 size_t errlen);

/*
 * Append data[0..len), all or nothing. Returns:
 *   0        appended (and counted in size and the hash); full buffers are queued
 *   -ENOBUFS the staging buffers it needs (beyond the room left in cur) are not all free right
 *            now; nothing is appended, refused is counted. Never blocks: the caller drops the
 *            bytes or retries after rec_uring_poll() has reaped completions.
 *   o->err   the file has failed (e.g. -ENOSPC from an earlier write completion, -EFBIG);
 *            the file is no longer a faithful record: abort it and start a new one
 */
int rec_out_append(struct rec_out *o, const void *data, size_t len);

/* Queue the partly filled buffer, so that the next rec_out_sync() covers every byte appended so
 * far (but an O_DIRECT tail, see above). Returns 0 or o->err. */
int rec_out_flush(struct rec_out *o);

/* rec_out_flush(), then rec_file_sync() (fdatasync linked after the writes). Returns 0, o->err,
 * or -EBUSY when the submission queue is full (nothing failed; sync again later). */
int rec_out_sync(struct rec_out *o);

/*
 * Flush, then rec_file_seal(): wait for the writes, fsync, rename name.part to name, fsync the
 * directory. Blocks. Returns 0 with sha256_hex (64 lowercase hex digits and a NUL) and *size
 * describing the sealed file, or the file's error: then name.part stays for recovery,
 * sha256_hex is "" and *size 0. o is finished either way (rec_out_abort() on it is a no-op).
 */
int rec_out_seal(struct rec_out *o, char sha256_hex[65], uint64_t *size);

/* Give up the file and free everything. The partly filled buffer is queued first when the file
 * is healthy, then rec_file_abort() waits for the I/O (blocks) and leaves name.part on disk
 * with every byte appended (but an O_DIRECT tail). A no-op on a finished o. */
void rec_out_abort(struct rec_out *o);

#endif
