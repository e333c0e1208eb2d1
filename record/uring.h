/* The recorder thread's append-only file writer: one io_uring, a pool of registered staging
 * buffers, registered files, O_DIRECT where the file system allows it, durable seal. */
#ifndef CAAS_RECORD_URING_H
#define CAAS_RECORD_URING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <liburing.h>

/*
 * Use. One struct rec_uring per recorder thread; nothing here is thread-safe and nothing but
 * rec_file_seal() and rec_file_abort() blocks.
 *
 *     b = rec_buf_get(u, f);           NULL: every buffer is in flight, count a drop
 *     append at b->data + b->len, up to b->cap, and advance b->len
 *     rec_file_write(u, f, b);         queued at the file's append offset
 *     rec_file_sync(u, f);             every fsync_ms
 *     rec_uring_poll(u);               each loop: submits what is queued, reaps completions
 *     rec_file_seal(u, f) or, after f->err, rec_file_abort(u, f) and open a new file
 *
 * O_DIRECT files only take whole blocks of the file system's DIO alignment. rec_file_write()
 * writes the aligned head of b and keeps the tail (fewer than dio_align bytes) in the file;
 * the next rec_buf_get() for that file starts with it, so the caller's bytes stay contiguous.
 * rec_file_write_padded() also writes the tail, zero-padded to a block, so that the next
 * rec_file_sync() covers every byte given so far; writes from the tail's offset on wait in the
 * file until it is done (then they overwrite its block with the real bytes). At seal the tail is
 * written as one zero-padded block and the file is truncated to its real length. A crash
 * leaves zeros after the last whole record or packet, which recovery treats as a torn tail.
 */

struct rec_uring;
struct rec_file;

/* A staging buffer: page-aligned, registered with the ring. The caller owns it from
 * rec_buf_get() until rec_file_write() or rec_buf_put(). */
struct rec_buf {
	uint8_t *data;
	uint32_t len; /* bytes filled, from data[0] */
	uint32_t cap;
	/* private */
	uint16_t idx;
	uint32_t wlen; /* bytes of this write still to complete */
	uint32_t woff; /* where they start in data */
	uint64_t foff; /* file offset of data[woff] */
	struct rec_file *file;
	struct rec_buf *next_free; /* also the file's list of held writes */
	bool padded;               /* its write carries the file's tail, zero-padded to a block */
	uint32_t credit;           /* bytes of content the write adds to the file */
};

/* fdatasync latency, queued to completed: upper bounds of the buckets in microseconds. */
#define REC_SYNC_BUCKETS 12
extern const uint32_t rec_sync_bucket_us[REC_SYNC_BUCKETS];

struct rec_uring_stats {
	uint64_t bytes_written;
	uint64_t writes;         /* write completions */
	uint64_t syncs;          /* fdatasync completions */
	uint64_t errors;         /* failed writes and syncs */
	uint64_t bufs_exhausted; /* rec_buf_get() found no buffer */
	/* latency of the syncs counted: per bucket (the last: above every bound), and the sum */
	uint64_t sync_us_count[REC_SYNC_BUCKETS + 1];
	uint64_t sync_us_sum;
};

struct rec_file {
	char name[256]; /* final name; the file is name.part until sealed */
	int dir_fd;     /* borrowed from the caller */
	int fd;
	int slot;           /* index in the registered file table */
	bool direct;        /* opened O_DIRECT */
	uint32_t dio_align; /* block size of O_DIRECT writes; 1 when buffered */
	uint64_t off;       /* append offset of the next write (aligned when direct) */
	uint8_t *tail;      /* direct only: the unaligned end carried to the next buffer */
	uint32_t tail_len;
	uint32_t inflight;                /* writes and syncs queued or in the kernel */
	uint32_t unsubmitted_writes;      /* queued writes not yet handed to the kernel */
	int err;                          /* first error, negative errno; 0 while healthy */
	bool tail_inflight;               /* a padded write of the tail at off is in flight */
	struct rec_buf *held, *held_last; /* writes from off on, queued once that is done */
	bool resync; /* a sync was asked for while the tail copy was in flight: again after it */
	uint64_t bytes_written;
	uint64_t errors;
	uint64_t syncs;
	uint64_t sync_t0_ns; /* when the oldest outstanding sync was queued; 0 for none */
};

struct rec_uring {
	struct io_uring ring;
	struct rec_buf *bufs;
	uint8_t *mem;
	struct rec_buf *free_list;
	uint32_t nbufs;
	uint32_t buf_size;
	uint32_t nbufs_free;
	struct rec_file **files; /* by slot; NULL when free */
	uint32_t max_files;
	struct rec_file *last_sqe_file; /* owner of the newest queued write, for IO_LINK */
	struct io_uring_sqe *last_sqe;
	struct rec_uring_stats st;
};

/*
 * Set up a ring and nbufs staging buffers of buf_size bytes (a multiple of 4096, which also
 * covers every DIO alignment up to 4096) and a table of max_files registered files.
 * Returns 0, -EINVAL, -ENOMEM or the errno of io_uring setup or registration.
 */
int rec_uring_init(struct rec_uring *u, uint32_t nbufs, uint32_t buf_size, uint32_t max_files);

/* Abort every open file (see rec_file_abort()) and free everything. */
void rec_uring_exit(struct rec_uring *u);

/*
 * Create name.part in dir_fd (O_EXCL: an unfinished file from a previous run is left for
 * recovery) with O_DIRECT when statx(STATX_DIOALIGN) says the file system supports it for this
 * file with an alignment our buffers meet, buffered otherwise, and register it. Returns 0 and
 * *out, or -ENAMETOOLONG, -EMFILE (file table full), -ENOMEM, or the errno of open/register.
 */
int rec_file_open(struct rec_uring *u, int dir_fd, const char *name, struct rec_file **out);

/* A staging buffer for f, starting with f's carried tail; NULL (and bufs_exhausted counted)
 * when every buffer is in flight. Never blocks. */
struct rec_buf *rec_buf_get(struct rec_uring *u, struct rec_file *f);

/* Return a buffer unused. */
void rec_buf_put(struct rec_uring *u, struct rec_buf *b);

/*
 * Queue b[0..b->len) at f's append offset; b goes back to the pool when it completes. Returns
 * 0, or f->err when f has failed (b is returned to the pool; nothing is written).
 */
int rec_file_write(struct rec_uring *u, struct rec_file *f, struct rec_buf *b);

/* rec_file_write(), and on an O_DIRECT file the unaligned tail too, zero-padded (see above):
 * what to call before a sync. */
int rec_file_write_padded(struct rec_uring *u, struct rec_file *f, struct rec_buf *b);

/*
 * Queue an fdatasync of f, linked after f's newest queued write when all of f's outstanding
 * writes are still in this batch, else drained behind everything submitted before it, so it
 * covers every write queued before it (and, asked for while a padded write is in flight, again
 * after the writes that wait for it). Returns 0, f->err, or -EBUSY (submission queue full).
 */
int rec_file_sync(struct rec_uring *u, struct rec_file *f);

/* Submit what is queued and reap completions without blocking. Returns the number reaped or a
 * negative errno from io_uring_submit(). */
int rec_uring_poll(struct rec_uring *u);

/*
 * Wait for f's I/O, write its tail, fsync it, rename name.part to name and fsync the
 * directory; f is closed and freed in any case. Returns 0 or the file's first error (then
 * name.part is left as it is, for recovery to examine).
 */
int rec_file_seal(struct rec_uring *u, struct rec_file *f);

/* Wait for f's I/O, close and free it, leaving name.part on disk. */
void rec_file_abort(struct rec_uring *u, struct rec_file *f);

#endif
