/* io_uring writer tests: byte-exact round trips through O_DIRECT and buffered files, buffer
 * exhaustion, write errors, fdatasync completions. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "record/uring.h"
#include "tfile.h"

#define TOTAL (10u << 20)
#define BUFSZ (64u << 10)

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64*: reproducible content and chunk sizes from a seed. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

/* Write TOTAL bytes in random chunks with a sync every few, seal, read back, compare. */
static void roundtrip(const char *base, bool expect_direct_known, bool expect_direct)
{
	struct rec_uring u;
	struct rec_file *f;
	struct tdir d;
	uint8_t *want = malloc(TOTAL), *got;
	size_t off = 0, got_len = 0;
	uint64_t syncs_asked = 0;
	struct stat st;

	assert_non_null(want);
	rng_state = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < TOTAL; i++)
		want[i] = (uint8_t)(rng() >> 56);
	if (tdir_make(&d, base) < 0) {
		free(want);
		skip();
	}
	assert_int_equal(rec_uring_init(&u, 8, BUFSZ, 4), 0);
	assert_int_equal(rec_file_open(&u, d.fd, "seg0.ts", &f), 0);
	print_message("%s: %s (dio_align %u)\n", base, f->direct ? "O_DIRECT" : "buffered",
	              f->dio_align);
	if (expect_direct_known)
		assert_int_equal(f->direct, expect_direct);

	while (off < TOTAL) {
		struct rec_buf *b = rec_buf_get(&u, f);
		size_t n;

		if (!b) {
			assert_true(rec_uring_poll(&u) >= 0);
			continue;
		}
		/* Random fill level, sometimes a whole buffer, sometimes a few bytes. */
		n = rng() % 4 == 0 ? b->cap - b->len : rng() % (b->cap - b->len + 1);
		if (n > TOTAL - off)
			n = TOTAL - off;
		memcpy(b->data + b->len, want + off, n);
		b->len += (uint32_t)n;
		off += n;
		assert_int_equal(rec_file_write(&u, f, b), 0);
		if (rng() % 16 == 0) {
			assert_int_equal(rec_file_sync(&u, f), 0);
			syncs_asked++;
		}
		assert_true(rec_uring_poll(&u) >= 0);
	}
	assert_true(syncs_asked > 0);
	uint64_t syncs_before = u.st.syncs;
	assert_int_equal(rec_file_seal(&u, f), 0);
	/* Every sync asked for completed, counted, before or during the seal's wait; one asked
	 * for while an O_DIRECT tail copy was in flight is repeated after it. */
	assert_true(u.st.syncs >= syncs_asked);
	assert_true(u.st.syncs <= 2 * syncs_asked);
	assert_true(syncs_before <= u.st.syncs);
	assert_int_equal(u.st.errors, 0);
	assert_int_equal(u.st.bytes_written, TOTAL);
	assert_int_equal(u.nbufs_free, u.nbufs);

	assert_int_equal(fstatat(d.fd, "seg0.ts", &st, 0), 0);
	assert_int_equal(st.st_size, TOTAL);
	assert_int_equal(fstatat(d.fd, "seg0.ts.part", &st, 0), -1);
	assert_int_equal(errno, ENOENT);
	got = tfile_read(d.fd, "seg0.ts", &got_len);
	assert_non_null(got);
	assert_int_equal(got_len, TOTAL);
	assert_memory_equal(got, want, TOTAL);

	free(got);
	free(want);
	rec_uring_exit(&u);
	assert_int_equal(tdir_rm(&d), 0);
}

/* /tmp is ext4 on the build boxes (O_DIRECT, 512-byte blocks); /dev/shm is tmpfs, which
 * reports no STATX_DIOALIGN and so is written buffered. Whichever it is, the bytes must match. */
static void test_roundtrip_tmp(void **state)
{
	(void)state;
	roundtrip("/tmp", false, false);
}

static void test_roundtrip_shm(void **state)
{
	(void)state;
	roundtrip("/dev/shm", false, false);
}

/* A seal with a tail shorter than one block, and an empty file. */
static void test_small_files(void **state)
{
	struct rec_uring u;
	struct rec_file *f;
	struct rec_buf *b;
	struct tdir d;
	uint8_t *got;
	size_t len;

	(void)state;
	assert_int_equal(tdir_make(&d, "/tmp"), 0);
	assert_int_equal(rec_uring_init(&u, 2, 4096, 2), 0);
	assert_int_equal(rec_file_open(&u, d.fd, "small", &f), 0);
	b = rec_buf_get(&u, f);
	memcpy(b->data, "hello", 5);
	b->len = 5;
	assert_int_equal(rec_file_write(&u, f, b), 0);
	b = rec_buf_get(&u, f);
	assert_int_equal(b->len, f->direct ? 5 : 0); /* the carried tail comes back */
	memcpy(b->data + b->len, ", world", 7);
	b->len += 7;
	assert_int_equal(rec_file_write(&u, f, b), 0);
	assert_int_equal(rec_file_seal(&u, f), 0);
	got = tfile_read(d.fd, "small", &len);
	assert_non_null(got);
	assert_int_equal(len, 12);
	assert_memory_equal(got, "hello, world", 12);
	free(got);

	assert_int_equal(rec_file_open(&u, d.fd, "empty", &f), 0);
	assert_int_equal(rec_file_seal(&u, f), 0);
	got = tfile_read(d.fd, "empty", &len);
	assert_non_null(got);
	assert_int_equal(len, 0);
	free(got);

	/* O_EXCL: an unfinished file is never overwritten. */
	assert_int_equal(rec_file_open(&u, d.fd, "x", &f), 0);
	struct rec_file *g;
	assert_int_equal(rec_file_open(&u, d.fd, "x", &g), -EEXIST);
	rec_file_abort(&u, f);
	assert_int_equal(faccessat(d.fd, "x.part", F_OK, 0), 0);
	rec_uring_exit(&u);
	assert_int_equal(tdir_rm(&d), 0);
}

static void test_exhaustion(void **state)
{
	struct rec_uring u;
	struct rec_file *f;
	struct rec_buf *b[4];
	struct tdir d;

	(void)state;
	assert_int_equal(tdir_make(&d, "/tmp"), 0);
	assert_int_equal(rec_uring_init(&u, 3, 4096, 1), 0);
	assert_int_equal(rec_file_open(&u, d.fd, "ex", &f), 0);
	for (int i = 0; i < 3; i++)
		assert_non_null(b[i] = rec_buf_get(&u, f));
	assert_null(rec_buf_get(&u, f));
	assert_null(rec_buf_get(&u, f));
	assert_int_equal(u.st.bufs_exhausted, 2);
	/* In flight, not yet reaped: still none. */
	b[0]->len = 4096;
	assert_int_equal(rec_file_write(&u, f, b[0]), 0);
	assert_null(rec_buf_get(&u, f));
	assert_int_equal(u.st.bufs_exhausted, 3);
	rec_buf_put(&u, b[1]);
	assert_non_null(b[3] = rec_buf_get(&u, f));
	rec_buf_put(&u, b[3]);
	rec_buf_put(&u, b[2]);
	/* The slot table is full too. */
	struct rec_file *g;
	assert_int_equal(rec_file_open(&u, d.fd, "ex2", &g), -EMFILE);
	assert_int_equal(rec_file_seal(&u, f), 0);
	assert_int_equal(u.nbufs_free, 3);
	assert_int_equal(u.st.writes, 1);
	rec_uring_exit(&u);
	assert_int_equal(tdir_rm(&d), 0);
}

/* RLIMIT_FSIZE makes writes past 1 MiB fail with EFBIG (SIGXFSZ ignored): the file is marked
 * failed with that errno, later writes are refused, seal reports it, and a new file works. */
static void test_write_error(void **state)
{
	struct rlimit old, lim = {.rlim_cur = 1u << 20};
	struct rec_uring u;
	struct rec_file *f, *g;
	struct tdir d;
	int ret = 0;

	(void)state;
	assert_int_equal(tdir_make(&d, "/tmp"), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim.rlim_max = old.rlim_max;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(rec_uring_init(&u, 4, BUFSZ, 2), 0);
	assert_int_equal(rec_file_open(&u, d.fd, "big", &f), 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (int i = 0; i < 64 && !ret; i++) {
		struct rec_buf *b;

		while (!(b = rec_buf_get(&u, f)))
			rec_uring_poll(&u);
		memset(b->data, 0xab, b->cap);
		b->len = b->cap - 100; /* off the block grid */
		ret = rec_file_write(&u, f, b);
		if (!ret && i % 4 == 3)
			ret = rec_file_sync(&u, f);
		rec_uring_poll(&u);
	}
	assert_int_equal(ret, -EFBIG);
	assert_int_equal(f->err, -EFBIG);
	assert_true(f->errors >= 1);
	assert_true(u.st.errors >= 1);
	assert_true(f->bytes_written <= 1u << 20);
	assert_int_equal(rec_file_seal(&u, f), -EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(faccessat(d.fd, "big.part", F_OK, 0), 0);
	assert_int_equal(faccessat(d.fd, "big", F_OK, 0), -1);
	assert_int_equal(u.nbufs_free, 4);

	/* Recording continues in a new file. */
	assert_int_equal(rec_file_open(&u, d.fd, "big2", &g), 0);
	struct rec_buf *b = rec_buf_get(&u, g);
	b->len = 4096;
	assert_int_equal(rec_file_write(&u, g, b), 0);
	assert_int_equal(rec_file_sync(&u, g), 0);
	assert_int_equal(rec_file_seal(&u, g), 0);
	assert_int_equal(g == NULL, 0);
	assert_int_equal(faccessat(d.fd, "big2", F_OK, 0), 0);
	signal(SIGXFSZ, SIG_DFL);
	rec_uring_exit(&u);
	assert_int_equal(tdir_rm(&d), 0);
}

/* fdatasync completions are counted, linked or drained, and a sync with nothing written. */
static void test_syncs(void **state)
{
	struct rec_uring u;
	struct rec_file *f;
	struct tdir d;

	(void)state;
	assert_int_equal(tdir_make(&d, "/dev/shm"), 0);
	assert_int_equal(rec_uring_init(&u, 4, 4096, 1), 0);
	assert_int_equal(rec_file_open(&u, d.fd, "s", &f), 0);
	assert_int_equal(rec_file_sync(&u, f), 0); /* nothing in flight: plain */
	for (int i = 0; i < 3; i++) {
		struct rec_buf *b = rec_buf_get(&u, f);
		b->len = 4096;
		assert_int_equal(rec_file_write(&u, f, b), 0);
	}
	assert_int_equal(rec_file_sync(&u, f), 0); /* three writes outstanding: drained */
	struct rec_buf *b = rec_buf_get(&u, f);
	assert_non_null(b);
	b->len = 100;
	rec_uring_poll(&u);
	assert_int_equal(rec_file_write(&u, f, b), 0);
	assert_int_equal(rec_file_sync(&u, f), 0);
	assert_int_equal(rec_file_seal(&u, f), 0);
	assert_int_equal(u.st.syncs, 3);
	assert_int_equal(u.st.writes, 4);
	assert_int_equal(u.st.errors, 0);
	rec_uring_exit(&u);
	assert_int_equal(tdir_rm(&d), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip_tmp), cmocka_unit_test(test_roundtrip_shm),
	    cmocka_unit_test(test_small_files),   cmocka_unit_test(test_exhaustion),
	    cmocka_unit_test(test_write_error),   cmocka_unit_test(test_syncs),
	};

	return cmocka_run_group_tests_name("uring", tests, NULL, NULL);
}
