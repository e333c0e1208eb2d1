/* Byte appender tests: byte-exact round trips with SHA-256 on O_DIRECT and buffered files,
 * all-or-nothing refusal when staging buffers run out, durability of a sync, write errors. */
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
#include <openssl/evp.h>

#include "record/out.h"
#include "record/uring.h"
#include "tfile.h"

#define BUFSZ (64u << 10)

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64*: reproducible content and sizes from a seed. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static void fill_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(rng() >> 56);
}

/* Reap until every buffer is back in the pool and f (when given) has nothing in flight; gives
 * up after half a minute or more (a loaded disk can take seconds over a write). */
static void drain(struct rec_uring *u, struct rec_file *f)
{
	for (int i = 0; i < 300000 && (u->nbufs_free < u->nbufs || (f && f->inflight)); i++) {
		assert_true(rec_uring_poll(u) >= 0);
		usleep(100);
	}
	assert_int_equal(u->nbufs_free, u->nbufs);
	if (f)
		assert_int_equal(f->inflight, 0);
}

/* Seal o and check the file holds exactly want[0..n) and the hash and size say so. */
static void seal_and_check(struct rec_out *o, int dir_fd, const char *name, const uint8_t *want,
                           size_t n)
{
	char hex[65], indep[65], part[64];
	uint64_t size = 1;
	uint8_t *got;
	size_t got_len;

	assert_int_equal(rec_out_seal(o, hex, &size), 0);
	assert_null(o->f);
	assert_int_equal(size, n);
	assert_int_equal(strlen(hex), 64);
	got = tfile_read(dir_fd, name, &got_len);
	assert_non_null(got);
	assert_int_equal(got_len, n);
	assert_memory_equal(got, want, n);
	sha256_hex(got, got_len, indep);
	assert_string_equal(hex, indep);
	snprintf(part, sizeof(part), "%s.part", name);
	assert_int_equal(faccessat(dir_fd, part, F_OK, 0), -1);
	free(got);
}

/* Many appends of random sizes, some larger than a buffer, with syncs between; refusals are
 * retried after a poll, as the recorder's loop would. */
static void roundtrip(const char *base)
{
	const size_t total = 12u << 20;
	uint8_t *want = malloc(total);
	uint64_t refusals = 0, appends = 0, syncs = 0;
	struct rec_uring u;
	struct rec_out o;
	struct tdir d;
	char err[128];
	size_t off = 0;

	assert_non_null(want);
	rng_state = 0x243f6a8885a308d3ull;
	fill_random(want, total);
	assert_int_equal(tdir_make(&d, base), 0);
	assert_int_equal(rec_uring_init(&u, 8, BUFSZ, 4), 0);
	assert_int_equal(rec_out_open(&o, &u, d.fd, "rt.bin", err, sizeof(err)), 0);
	print_message("%s: %s (dio_align %u)\n", base, o.f->direct ? "O_DIRECT" : "buffered",
	              o.f->dio_align);

	while (off < total) {
		uint64_t r = rng() % 16;
		size_t n;
		int ret;

		/* Mostly packet-sized, sometimes several buffers at once. */
		n = r < 12   ? 1 + rng() % 1500
		    : r < 15 ? rng() % BUFSZ
		             : BUFSZ + rng() % (3 * BUFSZ);
		if (n > total - off)
			n = total - off;
		ret = rec_out_append(&o, want + off, n);
		if (ret == -ENOBUFS) {
			refusals++;
			usleep(20);
			assert_true(rec_uring_poll(&u) >= 0);
			continue;
		}
		assert_int_equal(ret, 0);
		off += n;
		appends++;
		assert_int_equal(o.size, off);
		if (rng() % 64 == 0) {
			assert_int_equal(rec_out_sync(&o), 0);
			syncs++;
		}
		assert_true(rec_uring_poll(&u) >= 0);
	}
	print_message("%s: %llu appends, %llu refused and retried, %llu syncs\n", base,
	              (unsigned long long)appends, (unsigned long long)refusals,
	              (unsigned long long)syncs);
	assert_int_equal(o.refused, refusals);
	assert_true(syncs > 0);
	assert_int_equal(o.err, 0);
	seal_and_check(&o, d.fd, "rt.bin", want, total);
	assert_int_equal(u.st.errors, 0);
	assert_int_equal(u.st.bytes_written, total);
	/* at least one per request: a sync asked for while a tail copy was being written is
	 * repeated after it, to cover what waited for it */
	assert_true(u.st.syncs >= syncs);
	assert_int_equal(u.nbufs_free, u.nbufs);
	rec_out_abort(&o); /* no-op once sealed */
	rec_uring_exit(&u);
	assert_int_equal(tdir_rm(&d), 0);
	free(want);
}

/* /tmp is ext4 on the build boxes (O_DIRECT), /dev/shm tmpfs (buffered). */
static void test_roundtrip_tmp(void **state)
{
	(void)state;
	roundtrip("/tmp");
}

static void test_roundtrip_shm(void **state)
{
	(void)state;
	roundtrip("/dev/shm");
}

/* A refused append leaves no trace: not in the file, the size or the hash. */
static void enobufs(const char *base)
{
	const uint32_t cap = 4096;
	uint8_t *want = malloc(16 * cap), *src = malloc(8 * cap);
	struct rec_buf *held[4];
	struct rec_file *hold;
	struct rec_uring u;
	struct rec_out o;
	struct tdir d;
	char err[128];
	size_t wlen = 0, n;

	assert_non_null(want);
	assert_non_null(src);
	rng_state = 0x13198a2e03707344ull;
	fill_random(src, 8 * cap);
	assert_int_equal(tdir_make(&d, base), 0);
	assert_int_equal(rec_uring_init(&u, 4, cap, 2), 0);
	assert_int_equal(rec_out_open(&o, &u, d.fd, "nb.bin", err, sizeof(err)), 0);

#define APPEND_OK(len)                                                                             \
	do {                                                                                       \
		assert_int_equal(rec_out_append(&o, src, (len)), 0);                               \
		memcpy(want + wlen, src, (len));                                                   \
		wlen += (len);                                                                     \
		assert_int_equal(o.size, wlen);                                                    \
	} while (0)
#define APPEND_REFUSED(len, nth)                                                                   \
	do {                                                                                       \
		uint32_t free_before = u.nbufs_free;                                               \
		assert_int_equal(rec_out_append(&o, src, (len)), -ENOBUFS);                        \
		assert_int_equal(o.refused, (nth));                                                \
		assert_int_equal(o.size, wlen);                                                    \
		assert_int_equal(u.nbufs_free, free_before);                                       \
		assert_int_equal(o.err, 0);                                                        \
	} while (0)

	/* cur takes one buffer; 3 free, 3096 bytes of room in cur. */
	APPEND_OK(1000);
	assert_int_equal(u.nbufs_free, 3);
	APPEND_REFUSED(3096 + 3 * cap + 1, 1u);
	APPEND_OK(3096 + 3 * cap); /* exactly cur and 3 fresh ones, all queued full */
	assert_null(o.cur);
	assert_int_equal(u.nbufs_free, 0);
	APPEND_REFUSED(1, 2u);
	drain(&u, o.f);

	/* A flushed odd length: on O_DIRECT the unaligned tail is carried into the next
	 * buffer, leaving less room in it. */
	APPEND_OK(100);
	assert_int_equal(rec_out_flush(&o), 0);
	drain(&u, o.f);
	print_message("%s: %s, carried tail %u\n", base, o.f->direct ? "O_DIRECT" : "buffered",
	              o.f->tail_len);
	if (o.f->direct)
		assert_int_equal(o.f->tail_len, 100);
	n = 4 * cap - o.f->tail_len;
	APPEND_REFUSED(n + 1, 3u);
	APPEND_OK(n);
	assert_int_equal(u.nbufs_free, 0);
	drain(&u, o.f);

	/* With no buffer free, what fits in cur is still taken. */
	APPEND_OK(10);
	assert_int_equal(rec_file_open(&u, d.fd, "hold", &hold), 0);
	for (int i = 0; i < 3; i++)
		assert_non_null(held[i] = rec_buf_get(&u, hold));
	assert_int_equal(u.nbufs_free, 0);
	APPEND_OK(100);
	APPEND_REFUSED(cap - 110 + 1, 4u);
	APPEND_OK(cap - 110); /* fills cur exactly, which is queued */
	assert_null(o.cur);
	APPEND_REFUSED(1, 5u);
	for (int i = 0; i < 3; i++)
		rec_buf_put(&u, held[i]);
	rec_file_abort(&u, hold);
	APPEND_OK(777);
#undef APPEND_OK
#undef APPEND_REFUSED

	seal_and_check(&o, d.fd, "nb.bin", want, wlen);
	assert_int_equal(u.st.errors, 0);
	assert_int_equal(u.nbufs_free, u.nbufs);
	rec_uring_exit(&u);
	assert_int_equal(tdir_rm(&d), 0);
	free(src);
	free(want);
}

static void test_enobufs_tmp(void **state)
{
	(void)state;
	enobufs("/tmp");
}

static void test_enobufs_shm(void **state)
{
	(void)state;
	enobufs("/dev/shm");
}

/* After rec_out_sync() and its completion, the .part on disk holds every byte appended (on
 * O_DIRECT: all but the unaligned tail, by design), before any seal. */
static void sync_durable(const char *base)
{
	const size_t total = 300001;
	uint8_t *want = malloc(total), *got;
	uint64_t syncs;
	struct rec_uring u;
	struct rec_out o;
	struct tdir d;
	char err[128];
	size_t off = 0, got_len, expect = 0, align;

	assert_non_null(want);
	rng_state = 0xa4093822299f31d0ull;
	fill_random(want, total);
	assert_int_equal(tdir_make(&d, base), 0);
	assert_int_equal(rec_uring_init(&u, 8, BUFSZ, 2), 0);
	assert_int_equal(rec_out_open(&o, &u, d.fd, "s.bin", err, sizeof(err)), 0);
	for (int round = 0; round < 2; round++) {
		size_t end = round ? total : total / 3;

		while (off < end) {
			size_t n = 1 + rng() % 3000;
			if (n > end - off)
				n = end - off;
			assert_int_equal(rec_out_append(&o, want + off, n), 0);
			off += n;
			assert_true(rec_uring_poll(&u) >= 0);
		}
		syncs = u.st.syncs;
		assert_int_equal(rec_out_sync(&o), 0);
		drain(&u, o.f);
		assert_int_equal(u.st.syncs, syncs + 1);
		got = tfile_read(d.fd, "s.bin.part", &got_len);
		assert_non_null(got);
		/* Every byte appended is on disk after the sync; an O_DIRECT file ends in a
		 * zero-padded copy of its last partial block. */
		align = o.f->direct ? o.f->dio_align : 1;
		expect = (off + align - 1) / align * align;
		print_message("%s: %zu appended, %zu in the .part (%s)\n", base, off, got_len,
		              o.f->direct ? "O_DIRECT" : "buffered");
		assert_int_equal(got_len, expect);
		assert_memory_equal(got, want, off);
		for (size_t i = off; i < got_len; i++)
			assert_int_equal(got[i], 0);
		free(got);
	}
	/* Aborted: the .part stays, and holds what was appended. */
	rec_out_abort(&o);
	assert_null(o.f);
	got = tfile_read(d.fd, "s.bin.part", &got_len);
	assert_non_null(got);
	assert_int_equal(got_len, expect);
	assert_memory_equal(got, want, off);
	free(got);
	assert_int_equal(faccessat(d.fd, "s.bin", F_OK, 0), -1);
	rec_uring_exit(&u);
	assert_int_equal(tdir_rm(&d), 0);
	free(want);
}

static void test_sync_tmp(void **state)
{
	(void)state;
	sync_durable("/tmp");
}

static void test_sync_shm(void **state)
{
	(void)state;
	sync_durable("/dev/shm");
}

/* Writes past RLIMIT_FSIZE fail with EFBIG: the append that sees it returns it, later calls
 * too, the seal refuses and leaves the .part. */
static void test_write_error(void **state)
{
	struct rlimit old, lim = {.rlim_cur = 1u << 20};
	uint8_t *chunk = malloc(10000);
	struct rec_uring u;
	struct rec_out o;
	struct tdir d;
	char err[128], hex[65] = "x";
	uint64_t size = 1;
	int ret = 0;

	(void)state;
	assert_non_null(chunk);
	memset(chunk, 0x5a, 10000);
	assert_int_equal(tdir_make(&d, "/tmp"), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim.rlim_max = old.rlim_max;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(rec_uring_init(&u, 4, BUFSZ, 2), 0);
	assert_int_equal(rec_out_open(&o, &u, d.fd, "big", err, sizeof(err)), 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (int i = 0; i < 100000 && (!ret || ret == -ENOBUFS); i++) {
		ret = rec_out_append(&o, chunk, 10000);
		if (!ret && i % 16 == 15)
			ret = rec_out_sync(&o);
		if (ret == -ENOBUFS)
			usleep(100);
		rec_uring_poll(&u);
	}
	assert_int_equal(ret, -EFBIG);
	assert_int_equal(o.err, -EFBIG);
	assert_int_equal(rec_out_append(&o, chunk, 1), -EFBIG);
	assert_int_equal(rec_out_flush(&o), -EFBIG);
	assert_int_equal(rec_out_sync(&o), -EFBIG);
	assert_int_equal(rec_out_seal(&o, hex, &size), -EFBIG);
	assert_string_equal(hex, "");
	assert_int_equal(size, 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(faccessat(d.fd, "big.part", F_OK, 0), 0);
	assert_int_equal(faccessat(d.fd, "big", F_OK, 0), -1);
	assert_int_equal(u.nbufs_free, u.nbufs);
	rec_uring_exit(&u);
	assert_int_equal(tdir_rm(&d), 0);
	free(chunk);
}

/* An empty file has the SHA-256 of nothing; a .part left by a crash is not overwritten. */
static void test_empty_and_exists(void **state)
{
	struct rec_uring u;
	struct rec_out o, o2;
	struct tdir d;
	char err[128] = "", hex[65];
	uint64_t size = 1;

	(void)state;
	assert_int_equal(tdir_make(&d, "/tmp"), 0);
	assert_int_equal(rec_uring_init(&u, 2, 4096, 2), 0);
	assert_int_equal(rec_out_open(&o, &u, d.fd, "e", err, sizeof(err)), 0);
	assert_int_equal(rec_out_seal(&o, hex, &size), 0);
	assert_int_equal(size, 0);
	assert_string_equal(hex,
	                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

	assert_int_equal(rec_out_open(&o, &u, d.fd, "x", err, sizeof(err)), 0);
	assert_int_equal(rec_out_append(&o, "abc", 3), 0);
	assert_int_equal(rec_out_open(&o2, &u, d.fd, "x", err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "x.part"));
	assert_null(o2.f);
	assert_null(o2.sha);
	rec_out_abort(&o2); /* no-op on a failed open */
	assert_int_equal(rec_out_seal(&o, hex, &size), 0);
	assert_string_equal(hex,
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(size, 3);
	rec_uring_exit(&u);
	assert_int_equal(tdir_rm(&d), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip_tmp), cmocka_unit_test(test_roundtrip_shm),
	    cmocka_unit_test(test_enobufs_tmp),   cmocka_unit_test(test_enobufs_shm),
	    cmocka_unit_test(test_sync_tmp),      cmocka_unit_test(test_sync_shm),
	    cmocka_unit_test(test_write_error),   cmocka_unit_test(test_empty_and_exists),
	};

	return cmocka_run_group_tests_name("out", tests, NULL, NULL);
}
