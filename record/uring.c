/* The io_uring append-only writer (see uring.h): buffer pool, registered files, O_DIRECT
 * tail carrying, completion handling, and the durable seal. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "record/uring.h"

#define BUF_ALIGN   4096u
#define UD_SYNC     1ull /* tag bit in user_data: the pointer is a rec_file, not a rec_buf */
#define PART_SUFFIX ".part"

const uint32_t rec_sync_bucket_us[REC_SYNC_BUCKETS] = {500,   1000,   2000,   5000,
                                                       10000, 20000,  50000,  100000,
                                                       200000, 500000, 1000000, 2000000};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One sync done: how long since the oldest outstanding one was queued. */
static void sync_latency(struct rec_uring *u, struct rec_file *f)
{
	uint64_t us;
	int i;

	if (!f->sync_t0_ns)
		return;
	us = (mono_ns() - f->sync_t0_ns) / 1000;
	f->sync_t0_ns = 0;
	for (i = 0; i < REC_SYNC_BUCKETS && us > rec_sync_bucket_us[i]; i++)
		;
	u->st.sync_us_count[i]++;
	u->st.sync_us_sum += us;
}

int rec_uring_init(struct rec_uring *u, uint32_t nbufs, uint32_t buf_size, uint32_t max_files)
{
	struct iovec *iov;
	int ret;

	memset(u, 0, sizeof(*u));
	if (!nbufs || nbufs > UINT16_MAX || !buf_size || buf_size % BUF_ALIGN || !max_files ||
	    max_files > 4096)
		return -EINVAL;

	u->bufs = calloc(nbufs, sizeof(*u->bufs));
	u->files = calloc(max_files, sizeof(*u->files));
	iov = calloc(nbufs, sizeof(*iov));
	if (!u->bufs || !u->files || !iov ||
	    posix_memalign((void **)&u->mem, BUF_ALIGN, (size_t)nbufs * buf_size)) {
		u->mem = NULL;
		ret = -ENOMEM;
		goto err;
	}
	u->nbufs = nbufs;
	u->buf_size = buf_size;
	u->max_files = max_files;
	for (uint32_t i = nbufs; i-- > 0;) {
		struct rec_buf *b = &u->bufs[i];

		b->data = u->mem + (size_t)i * buf_size;
		b->cap = buf_size;
		b->idx = (uint16_t)i;
		b->next_free = u->free_list;
		u->free_list = b;
		iov[i].iov_base = b->data;
		iov[i].iov_len = buf_size;
	}
	u->nbufs_free = nbufs;

	/* One SQE per buffer in flight plus a sync per file; the CQ is twice that. */
	ret = io_uring_queue_init(nbufs + max_files + 8, &u->ring, 0);
	if (ret < 0)
		goto err;
	ret = io_uring_register_buffers(&u->ring, iov, nbufs);
	if (ret < 0)
		goto err_ring;
	ret = io_uring_register_files_sparse(&u->ring, max_files);
	if (ret < 0)
		goto err_ring;
	free(iov);
	return 0;

err_ring:
	io_uring_queue_exit(&u->ring);
err:
	free(iov);
	free(u->mem);
	free(u->files);
	free(u->bufs);
	memset(u, 0, sizeof(*u));
	return ret;
}

void rec_uring_exit(struct rec_uring *u)
{
	if (!u->bufs)
		return;
	for (uint32_t i = 0; i < u->max_files; i++)
		if (u->files[i])
			rec_file_abort(u, u->files[i]);
	io_uring_queue_exit(&u->ring);
	free(u->mem);
	free(u->files);
	free(u->bufs);
	memset(u, 0, sizeof(*u));
}

static void buf_free(struct rec_uring *u, struct rec_buf *b)
{
	b->file = NULL;
	b->len = 0;
	b->padded = false;
	b->next_free = u->free_list;
	u->free_list = b;
	u->nbufs_free++;
}

static void file_fail(struct rec_uring *u, struct rec_file *f, int err)
{
	u->st.errors++;
	f->errors++;
	if (!f->err)
		f->err = err;
}

static int submit(struct rec_uring *u)
{
	int ret = io_uring_submit(&u->ring);

	if (ret < 0)
		return ret;
	u->last_sqe = NULL;
	u->last_sqe_file = NULL;
	for (uint32_t i = 0; i < u->max_files; i++)
		if (u->files[i])
			u->files[i]->unsubmitted_writes = 0;
	return ret;
}

/* An SQE, submitting what is queued when the SQ is full; NULL only if that does not help. */
static struct io_uring_sqe *get_sqe(struct rec_uring *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe && submit(u) >= 0)
		sqe = io_uring_get_sqe(&u->ring);
	return sqe;
}

static int queue_write(struct rec_uring *u, struct rec_buf *b)
{
	struct rec_file *f = b->file;
	struct io_uring_sqe *sqe = get_sqe(u);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_write_fixed(sqe, f->slot, b->data + b->woff, b->wlen, b->foff, b->idx);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, (uintptr_t)b);
	u->last_sqe = sqe;
	u->last_sqe_file = f;
	f->unsubmitted_writes++;
	return 0;
}

static int queue_sync(struct rec_uring *u, struct rec_file *f)
{
	struct io_uring_sqe *prev = u->last_sqe;
	bool link = u->last_sqe_file == f && f->inflight == 1 && f->unsubmitted_writes == 1;
	struct io_uring_sqe *sqe = get_sqe(u);

	if (!sqe)
		return -EBUSY;
	/* get_sqe() may have submitted the write we meant to link to. */
	if (link && u->last_sqe == prev && prev)
		prev->flags |= IOSQE_IO_LINK;
	else if (f->inflight)
		link = false;
	io_uring_prep_fsync(sqe, f->slot, IORING_FSYNC_DATASYNC);
	sqe->flags |= IOSQE_FIXED_FILE;
	/* Not linkable: wait behind everything submitted so far, f's writes among them. */
	if (!link && f->inflight)
		sqe->flags |= IOSQE_IO_DRAIN;
	io_uring_sqe_set_data64(sqe, (uintptr_t)f | UD_SYNC);
	if (!f->sync_t0_ns)
		f->sync_t0_ns = mono_ns();
	u->last_sqe = NULL;
	u->last_sqe_file = NULL;
	f->inflight++;
	return 0;
}

static int file_write(struct rec_uring *u, struct rec_file *f, struct rec_buf *b, bool pad);

/* The padded write is done: the writes that wait for it (they rewrite its last block) may go. */
static void release_held(struct rec_uring *u, struct rec_file *f)
{
	f->tail_inflight = false;
	while (f->held) {
		struct rec_buf *b = f->held;

		f->held = b->next_free;
		b->next_free = NULL;
		if (queue_write(u, b) < 0) {
			file_fail(u, f, -EBUSY);
			f->inflight--;
			buf_free(u, b);
		}
	}
	f->held_last = NULL;
	/* A sync asked for meanwhile must also cover what was held, and the tail after it. */
	if (f->resync && !f->err) {
		struct rec_buf *b = f->direct && f->tail_len ? rec_buf_get(u, f) : NULL;

		f->resync = false;
		if (b)
			file_write(u, f, b, true);
		if (queue_sync(u, f) < 0)
			file_fail(u, f, -EBUSY);
	}
}

static void complete(struct rec_uring *u, uint64_t ud, int res)
{
	if (ud & UD_SYNC) {
		struct rec_file *f = (struct rec_file *)(uintptr_t)(ud & ~UD_SYNC);

		f->inflight--;
		if (res == -ECANCELED && !f->err) {
			/* Its linked write came back short and was requeued: sync again. */
			if (queue_sync(u, f) < 0)
				file_fail(u, f, -EBUSY);
		} else if (res < 0) {
			if (res != -ECANCELED)
				file_fail(u, f, res);
		} else {
			u->st.syncs++;
			sync_latency(u, f);
			f->syncs++;
		}
		return;
	}

	struct rec_buf *b = (struct rec_buf *)(uintptr_t)ud;
	struct rec_file *f = b->file;

	u->st.writes++;
	if (res > 0) {
		/* Bytes of content; a padded tail counts once its real write is done. */
		uint32_t n = (unsigned)res < b->credit ? (unsigned)res : b->credit;
		b->credit -= n;
		u->st.bytes_written += n;
		f->bytes_written += n;
	}
	if (res > 0 && (unsigned)res < b->wlen && !f->err) {
		/* Short write (e.g. the disk filled up mid-way): retry the rest, which then
		 * fails with the real errno or completes. */
		b->woff += (unsigned)res;
		b->foff += (unsigned)res;
		b->wlen -= (unsigned)res;
		if (queue_write(u, b) == 0)
			return;
		res = -EBUSY;
	} else if (res == 0 && b->wlen) {
		res = -EIO;
	}
	if (res < 0)
		file_fail(u, f, res);
	f->inflight--;
	if (b->padded)
		release_held(u, f);
	buf_free(u, b);
}

static int reap(struct rec_uring *u)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&u->ring, head, cqe)
	{
		complete(u, io_uring_cqe_get_data64(cqe), cqe->res);
		n++;
	}
	io_uring_cq_advance(&u->ring, n);
	return (int)n;
}

int rec_uring_poll(struct rec_uring *u)
{
	int ret = submit(u);

	if (ret < 0 && ret != -EBUSY && ret != -EAGAIN)
		return ret;
	return reap(u);
}

/* Block until f has nothing in flight. */
static int wait_file(struct rec_uring *u, struct rec_file *f)
{
	while (f->inflight) {
		struct io_uring_cqe *cqe;
		int ret = submit(u);

		if (ret < 0 && ret != -EBUSY && ret != -EAGAIN)
			return ret;
		ret = io_uring_wait_cqe(&u->ring, &cqe);
		if (ret < 0 && ret != -EINTR)
			return ret;
		reap(u);
	}
	return 0;
}

/* Whether O_DIRECT works for this file with our buffers, and its block size. */
static uint32_t dio_align(int fd)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) < 0 ||
	    !(stx.stx_mask & STATX_DIOALIGN) || !stx.stx_dio_offset_align || !stx.stx_dio_mem_align)
		return 0;
	if (stx.stx_dio_offset_align > BUF_ALIGN || stx.stx_dio_mem_align > BUF_ALIGN ||
	    BUF_ALIGN % stx.stx_dio_offset_align || BUF_ALIGN % stx.stx_dio_mem_align)
		return 0;
	return stx.stx_dio_offset_align;
}

int rec_file_open(struct rec_uring *u, int dir_fd, const char *name, struct rec_file **out)
{
	char part[sizeof(((struct rec_file *)0)->name) + sizeof(PART_SUFFIX)];
	struct rec_file *f;
	uint32_t slot, align;
	int ret, dfd;

	if (strlen(name) >= sizeof(f->name))
		return -ENAMETOOLONG;
	for (slot = 0; slot < u->max_files && u->files[slot]; slot++)
		;
	if (slot == u->max_files)
		return -EMFILE;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	strcpy(f->name, name);
	snprintf(part, sizeof(part), "%s" PART_SUFFIX, name);
	f->dir_fd = dir_fd;
	f->slot = (int)slot;

	f->fd = openat(dir_fd, part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (f->fd < 0) {
		ret = -errno;
		free(f);
		return ret;
	}
	/* The DIO alignment is a property of the file (ext4 reports it for regular files only),
	 * so ask once it exists, then reopen it O_DIRECT. */
	align = dio_align(f->fd);
	if (align) {
		dfd = openat(dir_fd, part, O_WRONLY | O_DIRECT | O_CLOEXEC);
		if (dfd >= 0 && !posix_memalign((void **)&f->tail, BUF_ALIGN, BUF_ALIGN)) {
			close(f->fd);
			f->fd = dfd;
			f->direct = true;
		} else if (dfd >= 0) {
			close(dfd);
		}
	}
	f->dio_align = f->direct ? align : 1;

	ret = io_uring_register_files_update(&u->ring, slot, &f->fd, 1);
	if (ret < 0) {
		close(f->fd);
		unlinkat(dir_fd, part, 0);
		free(f->tail);
		free(f);
		return ret;
	}
	u->files[slot] = f;
	*out = f;
	return 0;
}

struct rec_buf *rec_buf_get(struct rec_uring *u, struct rec_file *f)
{
	struct rec_buf *b = u->free_list;

	if (!b) {
		u->st.bufs_exhausted++;
		return NULL;
	}
	u->free_list = b->next_free;
	u->nbufs_free--;
	b->next_free = NULL;
	b->file = f;
	b->len = f->tail_len;
	if (f->tail_len)
		memcpy(b->data, f->tail, f->tail_len);
	f->tail_len = 0;
	return b;
}

void rec_buf_put(struct rec_uring *u, struct rec_buf *b)
{
	struct rec_file *f = b->file;

	/* Give back the carried tail, or those bytes would be lost. */
	if (f && f->direct && b->len && b->len < f->dio_align && !f->tail_len) {
		memcpy(f->tail, b->data, b->len);
		f->tail_len = b->len;
	}
	buf_free(u, b);
}

static int file_write(struct rec_uring *u, struct rec_file *f, struct rec_buf *b, bool pad)
{
	uint32_t wlen = b->len, io_len;
	int ret;

	if (f->err) {
		buf_free(u, b);
		return f->err;
	}
	b->file = f;
	if (f->direct) {
		wlen = b->len & ~(f->dio_align - 1);
		f->tail_len = b->len - wlen;
		memcpy(f->tail, b->data + wlen, f->tail_len);
	}
	/* Padded: the tail goes out too, zero-filled to a block, so a sync covers it. The file's
	 * offset still ends before it: the next write rewrites that block with the real bytes,
	 * once this one is done (until then later writes are held). */
	b->padded = pad && f->tail_len && !f->tail_inflight;
	io_len = wlen;
	if (b->padded) {
		io_len = wlen + f->dio_align;
		memset(b->data + b->len, 0, io_len - b->len);
	}
	if (!io_len) {
		buf_free(u, b);
		return 0;
	}
	b->woff = 0;
	b->wlen = io_len;
	b->credit = wlen;
	b->foff = f->off;
	if (f->tail_inflight) {
		/* Its first block is the one the tail copy is writing: after it, in order. */
		b->next_free = NULL;
		if (f->held_last)
			f->held_last->next_free = b;
		else
			f->held = b;
		f->held_last = b;
		f->off += wlen;
		f->inflight++;
		return 0;
	}
	ret = queue_write(u, b);
	if (ret < 0) {
		/* Nothing was queued, but the stream lost these bytes: the file is no longer
		 * a faithful record. */
		file_fail(u, f, ret);
		buf_free(u, b);
		return ret;
	}
	f->off += wlen;
	f->inflight++;
	if (b->padded)
		f->tail_inflight = true;
	return 0;
}

int rec_file_write(struct rec_uring *u, struct rec_file *f, struct rec_buf *b)
{
	return file_write(u, f, b, false);
}

int rec_file_write_padded(struct rec_uring *u, struct rec_file *f, struct rec_buf *b)
{
	return file_write(u, f, b, true);
}

int rec_file_sync(struct rec_uring *u, struct rec_file *f)
{
	if (f->err)
		return f->err;
	if (f->held)
		f->resync = true; /* they are not in the kernel yet: sync again once they are */
	return queue_sync(u, f);
}

static void file_close(struct rec_uring *u, struct rec_file *f)
{
	int minus1 = -1;

	io_uring_register_files_update(&u->ring, (unsigned)f->slot, &minus1, 1);
	u->files[f->slot] = NULL;
	close(f->fd);
	free(f->tail);
	free(f);
}

int rec_file_seal(struct rec_uring *u, struct rec_file *f)
{
	char part[sizeof(f->name) + sizeof(PART_SUFFIX)];
	int ret;

	ret = wait_file(u, f);
	if (!ret)
		ret = f->err;
	if (!ret && f->direct && f->tail_len) {
		/* The last partial block: write it padded, then cut the padding off. */
		ssize_t n;

		memset(f->tail + f->tail_len, 0, f->dio_align - f->tail_len);
		n = pwrite(f->fd, f->tail, f->dio_align, (off_t)f->off);
		if (n != (ssize_t)f->dio_align)
			ret = n < 0 ? -errno : -EIO;
		else if (ftruncate(f->fd, (off_t)(f->off + f->tail_len)) < 0)
			ret = -errno;
		if (ret) {
			file_fail(u, f, ret);
		} else {
			u->st.bytes_written += f->tail_len;
			f->bytes_written += f->tail_len;
		}
	}
	if (!ret && fsync(f->fd) < 0)
		ret = -errno;
	snprintf(part, sizeof(part), "%s" PART_SUFFIX, f->name);
	if (!ret && renameat(f->dir_fd, part, f->dir_fd, f->name) < 0)
		ret = -errno;
	/* The rename is durable only once the directory is. */
	if (!ret && fsync(f->dir_fd) < 0)
		ret = -errno;
	file_close(u, f);
	return ret;
}

void rec_file_abort(struct rec_uring *u, struct rec_file *f)
{
	wait_file(u, f);
	file_close(u, f);
}
