/* Files for the recording tests: temporary directories on a chosen file system (ext4 /tmp for
 * O_DIRECT, tmpfs /dev/shm for buffered I/O), whole-file reads and writes, an independent
 * SHA-256. Header-only: each test includes it once. */
#ifndef CAAS_TESTS_TFILE_H
#define CAAS_TESTS_TFILE_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

struct tdir {
	char path[96];
	int fd;
};

/* A fresh directory under base (TMPDIR or /tmp when NULL). 0 or a negative errno. */
static inline int tdir_make(struct tdir *d, const char *base)
{
	if (!base)
		base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(d->path, sizeof(d->path), "%s/caas-test.XXXXXX", base);
	if (!mkdtemp(d->path))
		return -errno;
	d->fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return d->fd < 0 ? -errno : 0;
}

/* Remove it and everything in it; 0 when that worked. */
static inline int tdir_rm(struct tdir *d)
{
	char cmd[160];

	close(d->fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
	return system(cmd);
}

/* The whole file name (relative to dir_fd, or a path with AT_FDCWD) in a malloc'd buffer (one
 * byte more than *len, for a NUL), or NULL. */
static inline uint8_t *tfile_read(int dir_fd, const char *name, size_t *len)
{
	int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *p = NULL;

	*len = 0;
	if (fd < 0)
		return NULL;
	if (!fstat(fd, &st))
		p = malloc((size_t)st.st_size + 1);
	while (p && *len < (size_t)st.st_size) {
		ssize_t n = read(fd, p + *len, (size_t)st.st_size - *len);
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	close(fd);
	if (p)
		p[*len] = 0;
	return p;
}

/* Create or replace name with p[0..len). 0 or -1. */
static inline int tfile_write(int dir_fd, const char *name, const void *p, size_t len)
{
	int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ssize_t n = fd < 0 ? -1 : write(fd, p, len);

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* An independent SHA-256 of p[0..n), as lowercase hex. */
static inline void sha256_hex(const uint8_t *p, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

#endif
