/* Recovery at start-up of the .part files a crash left in a stream directory: torn tails cut,
 * files made durable under their final names, and the journal times behind their manifest
 * entries. The rules are in recover.h. */
#include "record/util.h"
#include "record/recover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "record/journal.h"

#define TS_PKT          188
#define TS_SYNC         0x47
#define RTP_HDR_LEN     12
#define MAX_RECOVERED_N 999
#define TS_MAX_PIDS     32
#define PART_SUFFIX     ".part"
/* The longest suffix a final name can get: ".recovered-999". */
#define NAME_RESERVE 16

struct part {
	char name[256];  /* final name, without .part */
	size_t base_len; /* name without ".jnl" / ".ts" */
	bool journal;
	/* Filled once the journal is recovered, for its chunk's segment. */
	bool recovered;
	int times_rc; /* of rec_journal_times() */
	int64_t start_wall, end_wall;
	uint64_t start_rtp, end_rtp;
};

/* A file mapped read-only; len 0 maps nothing. */
struct map {
	const uint8_t *p;
	size_t len;
};

__attribute__((format(printf, 3, 4))) static void note_add(char *note, size_t cap, const char *fmt,
                                                           ...)
{
	size_t n = strlen(note);
	va_list ap;
	if (n >= cap - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(note + n, cap - n, fmt, ap);
	va_end(ap);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static uint32_t rd_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int rec_journal_times(const uint8_t *buf, size_t len, int64_t *start_wall, int64_t *end_wall,
                      uint64_t *start_rtp, uint64_t *end_rtp)
{
	struct rec_jnl_info info;
	struct rec_jnl_iter it;
	struct rec_jnl_rec rec;
	bool found = false;
	int hlen;

	*start_wall = *end_wall = 0;
	*start_rtp = *end_rtp = 0;
	hlen = rec_jnl_header_parse(buf, len, &info);
	if (hlen < 0)
		return hlen;
	rec_jnl_iter_init(&it, buf, len, (size_t)hlen, 0);
	while (rec_jnl_next(&it, &rec) == 1) {
		if (rec.type != REC_JNL_T_RTP || (rec.flags & REC_JNL_F_TO_CAMERA) ||
		    rec.len < RTP_HDR_LEN)
			continue;
		uint64_t ts = rd_be32(rec.data + 4);
		if (!found) {
			*start_wall = (int64_t)rec.t_real_ns;
			*start_rtp = ts;
			found = true;
		}
		*end_wall = (int64_t)rec.t_real_ns;
		*end_rtp = ts;
	}
	return found ? 0 : -ENODATA;
}

/* --- files ------------------------------------------------------------------------------------ */

static int map_fd(int fd, size_t len, struct map *m)
{
	m->p = NULL;
	m->len = len;
	if (!len)
		return 0;
	void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	m->p = p;
	return 0;
}

static void unmap(struct map *m)
{
	if (m->len)
		munmap((void *)m->p, m->len);
	m->p = NULL;
	m->len = 0;
}

static int sha256_hex(const uint8_t *p, size_t len, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(len ? p : (const uint8_t *)"", len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != 32)
		return -EIO;
	for (unsigned i = 0; i < mdlen; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
	return 0;
}

/* Rename without ever replacing: renameat2(RENAME_NOREPLACE), or link + unlink where the file
 * system does not support the flag (link fails with EEXIST just as atomically). */
static int rename_noreplace(int dir_fd, const char *from, const char *to)
{
	if (renameat2(dir_fd, from, dir_fd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return -errno;
	if (linkat(dir_fd, from, dir_fd, to, 0) < 0)
		return -errno;
	return unlinkat(dir_fd, from, 0) < 0 ? -errno : 0;
}

/* Journal times from the sealed journal of a segment's chunk, when there is one. */
static int sealed_journal_times(int dir_fd, const struct part *seg, struct part *out)
{
	char name[256];
	struct stat st;
	struct map m;
	int fd, rc;

	snprintf(name, sizeof(name), "%.*s.jnl", (int)seg->base_len, seg->name);
	fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -ENOENT;
	}
	rc = map_fd(fd, (size_t)st.st_size, &m);
	close(fd);
	if (rc)
		return rc;
	rc = rec_journal_times(m.p, m.len, &out->start_wall, &out->end_wall, &out->start_rtp,
	                       &out->end_rtp);
	unmap(&m);
	return rc;
}

/* --- deciding the cut ------------------------------------------------------------------------- */

static const char *jnl_damage(int rc)
{
	switch (rc) {
	case -EPROTO:
		return "not a journal";
	case -EPROTONOSUPPORT:
		return "unknown journal version";
	case -EMSGSIZE:
		return "bad length field";
	case -EBADMSG:
		return "CRC mismatch";
	case -ENAMETOOLONG:
		return "name field not terminated";
	case -EILSEQ:
		return "records missing or out of sequence";
	default:
		return "unreadable";
	}
}

/* How much of a journal to keep; 0 = nothing was recorded. */
static size_t journal_keep(const struct map *m, char *note, size_t cap)
{
	struct rec_jnl_info info;
	struct rec_jnl_iter it;
	struct rec_jnl_rec rec;
	ssize_t keep = rec_jnl_recover_len(m->p, m->len, NULL);
	int hlen, r;

	if (keep >= 0)
		return (size_t)keep;
	/* Not to be cut. Find where and why, for the note. */
	hlen = rec_jnl_header_parse(m->p, m->len, &info);
	if (hlen < 0) {
		snprintf(note, cap, "header unreadable (%s): kept as is", jnl_damage(hlen));
		return m->len;
	}
	rec_jnl_iter_init(&it, m->p, m->len, (size_t)hlen, 0);
	while ((r = rec_jnl_next(&it, &rec)) == 1)
		;
	snprintf(note, cap, "corrupt at offset %zu (%s): kept as is", it.off, jnl_damage(r));
	return m->len;
}

/* The PES packets (frames) still open at the end of b[0..len), whole TS packets: where the
 * earliest unfinished one starts, or len when all are finished. A PES is finished when its
 * declared length is all there; video PES declare 0 (unbounded) and end only where the next
 * begins, so the last one of a torn file is always taken as unfinished. */
static size_t ts_unfinished_pes(const uint8_t *b, size_t len)
{
	struct {
		uint16_t pid;
		size_t start;
		uint64_t need, got; /* need 0: unbounded */
	} pes[TS_MAX_PIDS];
	size_t npes = 0, cut = len;

	for (size_t off = 0; off + TS_PKT <= len; off += TS_PKT) {
		const uint8_t *p = b + off;
		uint16_t pid = (uint16_t)((p[1] & 0x1f) << 8 | p[2]);
		bool pusi = p[1] & 0x40;
		unsigned afc = p[3] >> 4 & 3, pl = 4;
		size_t i;

		if (!(afc & 1))
			continue; /* no payload */
		if (afc & 2)
			pl += 1u + p[4];
		if (pl >= TS_PKT)
			continue;
		for (i = 0; i < npes && pes[i].pid != pid; i++)
			;
		if (pusi && TS_PKT - pl >= 6 && !p[pl] && !p[pl + 1] && p[pl + 2] == 1) {
			if (i == npes) {
				if (npes == TS_MAX_PIDS)
					continue;
				npes++;
			}
			pes[i].pid = pid;
			pes[i].start = off;
			pes[i].need = (uint64_t)(p[pl + 4] << 8 | p[pl + 5]);
			pes[i].need += pes[i].need ? 6 : 0;
			pes[i].got = TS_PKT - pl;
		} else if (i < npes) {
			pes[i].got += TS_PKT - pl;
		}
	}
	for (size_t i = 0; i < npes; i++)
		if ((!pes[i].need || pes[i].got < pes[i].need) && pes[i].start < cut)
			cut = pes[i].start;
	return cut;
}

/* Whether b[0..len) holds the start of a PES packet (a frame), whole TS packets. */
static bool ts_has_pes(const uint8_t *b, size_t len)
{
	for (size_t off = 0; off + TS_PKT <= len; off += TS_PKT) {
		const uint8_t *p = b + off;
		unsigned afc = p[3] >> 4 & 3, pl = 4;
		if (!(p[1] & 0x40) || !(afc & 1))
			continue;
		if (afc & 2)
			pl += 1u + p[4];
		if (pl + 3 <= TS_PKT && !p[pl] && !p[pl + 1] && p[pl + 2] == 1)
			return true;
	}
	return false;
}

/* How much of a segment to keep; 0 = nothing was recorded, or nothing a player could show. */
static size_t ts_keep(const struct map *m, char *note, size_t cap)
{
	const uint8_t *b = m->p;
	size_t len = m->len, end = 0, cut;

	if (all_zero(b, len))
		return 0;
	while (end + TS_PKT <= len && b[end] == TS_SYNC)
		end += TS_PKT;
	bool whole = end == len;
	if (!whole) {
		if (!end && b[0] != TS_SYNC) {
			snprintf(note, cap, "not MPEG-TS (no sync byte at offset 0): kept as is");
			return len;
		}
		bool zeros = all_zero(b + end, len - end);
		if (len - end >= TS_PKT && !zeros) {
			snprintf(note, cap,
			         "sync lost at offset %zu with data after it: kept as is", end);
			return len;
		}
		/* A packet torn into zeros still reads as a whole synced packet: its end is
		 * zeros. */
		if (zeros && end && !b[end - 1])
			end -= TS_PKT;
	}
	/* Where the first frame still open starts. Before it there must be a whole frame, or
	 * there is nothing a player could show (the crash came as the chunk's first frame was
	 * being written): the file goes, the journal holds the packets. */
	cut = ts_unfinished_pes(b, end);
	if (!ts_has_pes(b, cut)) {
		snprintf(note, cap, "no whole frame");
		return 0;
	}
	/* Whole packets to the end: kept (nothing says the last frame is not whole). Torn: whole
	 * frames only, a decoder would choke on the torn last one. */
	return whole ? len : cut;
}

/* --- one file --------------------------------------------------------------------------------- */

/* Cut, fsync and rename one .part. Returns 1 and fills r, 0 when the file was removed or is not
 * a regular file, or a negative errno. */
static int recover_one(int dir_fd, struct part *pt, struct rec_recovered *r, char *err,
                       size_t errlen)
{
	char part[sizeof(pt->name) + sizeof(PART_SUFFIX)], final[sizeof(r->file)];
	const char *what;
	struct stat st;
	struct map m = {0};
	size_t keep;
	int fd, rc;

	memset(r, 0, sizeof(*r));
	snprintf(part, sizeof(part), "%s" PART_SUFFIX, pt->name);
	r->journal = pt->journal;
	fd = openat(dir_fd, part, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP || errno == ENXIO || errno == EISDIR)
			return 0; /* a symlink, socket or directory: not ours */
		rc = -errno;
		return rec_errf(rc, err, errlen, "%s: open: %s", part, strerror(-rc));
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		what = "fstat";
		goto out_err;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	rc = map_fd(fd, (size_t)st.st_size, &m);
	if (rc) {
		what = "mmap";
		goto out_err;
	}
	keep = !m.len        ? 0
	       : pt->journal ? journal_keep(&m, r->note, sizeof(r->note))
	                     : ts_keep(&m, r->note, sizeof(r->note));
	if (!keep) {
		unmap(&m);
		close(fd);
		if (unlinkat(dir_fd, part, 0) < 0 || fsync(dir_fd) < 0) {
			rc = -errno;
			return rec_errf(rc, err, errlen, "%s: remove: %s", part, strerror(-rc));
		}
		return 0;
	}

	r->size = keep;
	r->cut_bytes = m.len - keep;
	if (!r->note[0]) {
		if (!r->cut_bytes)
			snprintf(r->note, sizeof(r->note), "intact");
		else
			snprintf(r->note, sizeof(r->note), "%s tail of %" PRIu64 " bytes cut",
			         all_zero(m.p + keep, m.len - keep) ? "zero" : "torn",
			         r->cut_bytes);
	}
	rc = sha256_hex(m.p, keep, r->sha256);
	if (rc) {
		what = "sha256";
		goto out_err;
	}
	if (pt->journal) {
		pt->times_rc = rec_journal_times(m.p, keep, &pt->start_wall, &pt->end_wall,
		                                 &pt->start_rtp, &pt->end_rtp);
		if (pt->times_rc == -ENODATA)
			note_add(r->note, sizeof(r->note), "; no RTP records");
	}
	unmap(&m);

	if (r->cut_bytes && ftruncate(fd, (off_t)keep) < 0) {
		rc = -errno;
		what = "truncate";
		goto out_err;
	}
	if (fsync(fd) < 0) {
		rc = -errno;
		what = "fsync";
		goto out_err;
	}
	close(fd);
	fd = -1;

	snprintf(final, sizeof(final), "%s", pt->name);
	rc = rename_noreplace(dir_fd, part, final);
	for (int n = 1; rc == -EEXIST && n <= MAX_RECOVERED_N; n++) {
		/* list_parts() left NAME_RESERVE bytes for the suffix. */
		if (snprintf(final, sizeof(final), "%s.recovered-%d", pt->name, n) >=
		    (int)sizeof(final))
			rc = -ENAMETOOLONG;
		else
			rc = rename_noreplace(dir_fd, part, final);
	}
	if (rc) {
		what = "rename";
		goto out_err;
	}
	if (strcmp(final, pt->name))
		note_add(r->note, sizeof(r->note), "; final name existed: saved as %s", final);
	if (fsync(dir_fd) < 0) {
		rc = -errno;
		what = "fsync of the directory";
		goto out_err;
	}
	snprintf(r->file, sizeof(r->file), "%s", final);
	return 1;

out_err:
	unmap(&m);
	if (fd >= 0)
		close(fd);
	return rec_errf(rc, err, errlen, "%s: %s: %s", part, what, strerror(-rc));
}

/* --- the directory ---------------------------------------------------------------------------- */

static int part_cmp(const void *a, const void *b)
{
	const struct part *x = a, *y = b;
	size_t n = x->base_len < y->base_len ? x->base_len : y->base_len;
	int c = memcmp(x->name, y->name, n);

	if (c)
		return c;
	if (x->base_len != y->base_len)
		return x->base_len < y->base_len ? -1 : 1;
	return (int)y->journal - (int)x->journal; /* the journal first */
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && !memcmp(s + len - n, suffix, n);
}

/* Every *.jnl.part and *.ts.part, sorted. */
static int list_parts(int dir_fd, struct part **out, size_t *count, char *err, size_t errlen)
{
	struct part *parts = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		return rec_errf(rc, err, errlen, "cannot read the stream directory: %s",
		                strerror(-rc));
	}
	while ((errno = 0, de = readdir(d))) {
		size_t len = strlen(de->d_name), flen;
		bool journal;

		if (!ends_with(de->d_name, len, PART_SUFFIX))
			continue;
		flen = len - strlen(PART_SUFFIX);
		if (ends_with(de->d_name, flen, ".jnl"))
			journal = true;
		else if (ends_with(de->d_name, flen, ".ts"))
			journal = false;
		else
			continue;
		if (flen + NAME_RESERVE >= sizeof(parts->name)) {
			rc = rec_errf(-ENAMETOOLONG, err, errlen, "%s: name too long", de->d_name);
			break;
		}
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct part *np = realloc(parts, ncap * sizeof(*np));
			if (!np) {
				rc = rec_errf(-ENOMEM, err, errlen, "out of memory");
				break;
			}
			parts = np;
			cap = ncap;
		}
		memset(&parts[n], 0, sizeof(parts[n]));
		memcpy(parts[n].name, de->d_name, flen);
		parts[n].journal = journal;
		parts[n].base_len = flen - (journal ? 4 : 3);
		n++;
	}
	if (!rc && errno)
		rc = rec_errf(-errno, err, errlen, "cannot read the stream directory: %s",
		              strerror(errno));
	closedir(d);
	if (rc) {
		free(parts);
		return rc;
	}
	if (n)
		qsort(parts, n, sizeof(*parts), part_cmp);
	*out = parts;
	*count = n;
	return 0;
}

int rec_recover_dir(int dir_fd, rec_recover_cb cb, void *arg, char *err, size_t errlen)
{
	struct part *parts = NULL;
	struct rec_recovered r;
	size_t n = 0;
	int rc, done = 0;

	rc = list_parts(dir_fd, &parts, &n, err, errlen);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct part *pt = &parts[i];

		rc = recover_one(dir_fd, pt, &r, err, errlen);
		if (rc < 0)
			break;
		if (rc == 0)
			continue;
		pt->recovered = true;
		if (pt->journal) {
			r.start_wall_ns = pt->start_wall;
			r.end_wall_ns = pt->end_wall;
			r.start_rtp = pt->start_rtp;
			r.end_rtp = pt->end_rtp;
		} else {
			/* The journal of the same chunk, when recovered here, sorts just before. */
			struct part *j = i ? &parts[i - 1] : NULL, t = {0};

			if (!j || !j->journal || !j->recovered || j->base_len != pt->base_len ||
			    memcmp(j->name, pt->name, pt->base_len)) {
				j = &t;
				t.times_rc = sealed_journal_times(dir_fd, pt, &t);
			}
			if (!j->times_rc) {
				r.start_wall_ns = j->start_wall;
				r.end_wall_ns = j->end_wall;
				r.start_rtp = j->start_rtp;
				r.end_rtp = j->end_rtp;
			} else if (j->times_rc == -ENOENT) {
				note_add(r.note, sizeof(r.note), "; no journal for times");
			} else {
				note_add(r.note, sizeof(r.note), "; no RTP times in its journal");
			}
		}
		rc = cb ? cb(arg, &r) : 0;
		if (rc < 0) {
			rec_errf(rc, err, errlen, "%s: recovered, but the callback failed: %s",
			         r.file, strerror(-rc));
			break;
		}
		done++;
		rc = 0;
	}
	free(parts);
	return rc < 0 ? rc : done;
}
