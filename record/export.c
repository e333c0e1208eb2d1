/* Export of a time range for caasctl: the sealed journal chunks as one pcap, the segments listed
 * in the manifest remuxed into one MP4 by libavformat, and the --from/--to time syntax. */
#include "record/util.h"
#include "record/export.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/mathematics.h>

#include "record/recover.h"

#define NS_PER_SEC     1000000000LL
#define CHUNK_DIGITS   6
#define MANIFEST       "manifest.jsonl"
#define TMP_TRIES      100
#define RTP_VIDEO_RATE 90000 /* RFC 6184, 7798: H.264 and H.265 over RTP */
#define MAX_SKEW_NS    (2 * NS_PER_SEC)

static const char *averr(int rc, char buf[AV_ERROR_MAX_STRING_SIZE])
{
	av_strerror(rc, buf, AV_ERROR_MAX_STRING_SIZE);
	return buf;
}

/* --- time syntax ------------------------------------------------------------------------------ */

/* Exactly n decimal digits. */
static bool take_digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/* ".ddd": ns, at least one digit, digits past the 9th truncated. No '.' is 0. */
static bool take_fraction(const char **p, int64_t *ns)
{
	int64_t scale = NS_PER_SEC / 10;
	const char *s = *p;

	*ns = 0;
	if (*s != '.')
		return true;
	s++;
	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++, scale /= 10)
		*ns += (*s - '0') * scale;
	*p = s;
	return true;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dim[m - 1];
}

static int secs_to_ns(int64_t secs, int64_t frac_ns, int64_t *out)
{
	int64_t ns;
	if (__builtin_mul_overflow(secs, NS_PER_SEC, &ns) ||
	    __builtin_add_overflow(ns, frac_ns, out))
		return -EINVAL;
	return 0;
}

static int parse_rfc3339(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	int64_t frac;

	if (!take_digits(&s, 4, &y) || *s++ != '-' || !take_digits(&s, 2, &mo) || *s++ != '-' ||
	    !take_digits(&s, 2, &d))
		return -EINVAL;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return -EINVAL;
	s++;
	if (!take_digits(&s, 2, &h) || *s++ != ':' || !take_digits(&s, 2, &mi) || *s++ != ':' ||
	    !take_digits(&s, 2, &sec) || !take_fraction(&s, &frac))
		return -EINVAL;
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '-' ? -1 : 1;
		if (!take_digits(&s, 2, &oh))
			return -EINVAL;
		if (*s == ':') {
			s++;
			if (!take_digits(&s, 2, &om))
				return -EINVAL;
		} else if (isdigit((unsigned char)*s) && !take_digits(&s, 2, &om)) {
			return -EINVAL;
		}
	} else {
		return -EINVAL; /* no offset: a local time, ambiguous */
	}
	if (*s || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
	    sec > 60 || oh > 23 || om > 59)
		return -EINVAL;
	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	               sign * (oh * 3600 + om * 60);
	return secs_to_ns(secs, frac, out);
}

/* Decimal digits into a non-negative int64, at least one. */
static bool take_uint(const char **p, int64_t *out)
{
	const char *s = *p;
	int64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++)
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *s - '0', &v))
			return false;
	*p = s;
	*out = v;
	return true;
}

int rec_time_parse(const char *text, int64_t now_ns, int64_t *out_ns)
{
	const char *s = text;
	int64_t v, frac, unit, delta;

	if (!s)
		return -EINVAL;
	if (*s == '@') {
		s++;
		if (!take_uint(&s, &v) || !take_fraction(&s, &frac) || *s)
			return -EINVAL;
		return secs_to_ns(v, frac, out_ns);
	}
	if (!strncmp(s, "now", 3)) {
		s += 3;
		if (!*s) {
			*out_ns = now_ns;
			return 0;
		}
		if (*s != '-' && *s != '+')
			return -EINVAL;
		int sign = *s++ == '-' ? -1 : 1;
		if (!take_uint(&s, &v))
			return -EINVAL;
		switch (*s++) {
		case 's':
			unit = 1;
			break;
		case 'm':
			unit = 60;
			break;
		case 'h':
			unit = 3600;
			break;
		case 'd':
			unit = 86400;
			break;
		default:
			return -EINVAL;
		}
		if (*s || __builtin_mul_overflow(v, unit * NS_PER_SEC, &delta) ||
		    __builtin_add_overflow(now_ns, sign * delta, out_ns))
			return -EINVAL;
		return 0;
	}
	return parse_rfc3339(s, out_ns);
}

/* RFC 3339 UTC with ns, for messages. */
static const char *fmt_time(int64_t ns, char buf[48])
{
	int64_t secs = ns / NS_PER_SEC, frac = ns % NS_PER_SEC;
	struct tm tm;
	time_t t;

	if (frac < 0) {
		frac += NS_PER_SEC;
		secs--;
	}
	t = (time_t)secs;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, 48, "%" PRId64 " ns", ns);
		return buf;
	}
	snprintf(buf, 48, "%04d-%02d-%02dT%02d:%02d:%02d.%09" PRId64 "Z", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	return buf;
}

/* --- chunks ----------------------------------------------------------------------------------- */

struct chunk {
	uint64_t num;
	char name[NAME_MAX + 1];
	/* segments: the manifest's start times, 0 when unknown */
	int64_t start_wall;
	uint64_t start_rtp;
};

/* STREAM-NNNNNN.EXT (at least 6 digits) and its number; anything else is not a sealed chunk. */
static bool chunk_name(const char *name, const char *stream, const char *ext, uint64_t *num)
{
	size_t sl = strlen(stream), el = strlen(ext), nl = strlen(name), digits;
	uint64_t v = 0;

	if (nl <= sl + 1 + el || strncmp(name, stream, sl) || name[sl] != '-' ||
	    strcmp(name + nl - el, ext))
		return false;
	digits = nl - el - sl - 1;
	if (digits < CHUNK_DIGITS || digits > 18)
		return false;
	for (size_t i = sl + 1; i < nl - el; i++) {
		if (!isdigit((unsigned char)name[i]))
			return false;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	*num = v;
	return true;
}

static int chunk_cmp(const void *a, const void *b)
{
	const struct chunk *x = a, *y = b;
	if (x->num != y->num)
		return x->num < y->num ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int chunk_add(struct chunk **v, size_t *n, size_t *cap, const char *name, uint64_t num)
{
	if (*n == *cap) {
		size_t ncap = *cap ? 2 * *cap : 16;
		struct chunk *nv = realloc(*v, ncap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	memset(&(*v)[*n], 0, sizeof((*v)[*n]));
	(*v)[*n].num = num;
	snprintf((*v)[*n].name, sizeof((*v)[*n].name), "%s", name);
	(*n)++;
	return 0;
}

static int list_journals(const char *dir, const char *stream, struct chunk **out, size_t *count,
                         char *err, size_t errlen)
{
	struct chunk *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	uint64_t num;
	int rc = 0;
	DIR *d = opendir(dir);

	if (!d) {
		rc = -errno;
		return rec_errf(rc, err, errlen, "%s: %s", dir, strerror(-rc));
	}
	while ((errno = 0, de = readdir(d)))
		if (chunk_name(de->d_name, stream, ".jnl", &num) &&
		    (rc = chunk_add(&v, &n, &cap, de->d_name, num)))
			break;
	if (!rc && errno)
		rc = -errno;
	closedir(d);
	if (rc) {
		free(v);
		return rec_errf(rc, err, errlen, "%s: %s", dir, strerror(-rc));
	}
	if (n)
		qsort(v, n, sizeof(*v), chunk_cmp);
	*out = v;
	*count = n;
	return 0;
}

/* --- atomic output ---------------------------------------------------------------------------- */

struct out_file {
	char path[PATH_MAX];
	int fd;
};

static int out_open(const char *out_path, struct out_file *o, char *err, size_t errlen)
{
	int rc;

	o->fd = -1;
	for (int i = 0; i < TMP_TRIES; i++) {
		if (snprintf(o->path, sizeof(o->path), "%s.tmp-%d-%d", out_path, (int)getpid(),
		             i) >= (int)sizeof(o->path))
			return rec_errf(-ENAMETOOLONG, err, errlen, "%s: name too long", out_path);
		o->fd = open(o->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (o->fd >= 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	rc = -errno;
	return rec_errf(rc, err, errlen, "%s: %s", o->path, strerror(-rc));
}

static void out_abort(struct out_file *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	unlink(o->path);
}

static int fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rc = 0;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static int out_commit(struct out_file *o, const char *out_path, char *err, size_t errlen)
{
	int rc = 0;

	if (fsync(o->fd) < 0)
		rc = -errno;
	if (close(o->fd) < 0 && !rc)
		rc = -errno;
	o->fd = -1;
	if (!rc && rename(o->path, out_path) < 0)
		rc = -errno;
	if (rc) {
		out_abort(o);
		return rec_errf(rc, err, errlen, "%s: %s", out_path, strerror(-rc));
	}
	rc = fsync_parent(out_path);
	if (rc)
		return rec_errf(rc, err, errlen, "%s: fsync of its directory: %s", out_path,
		            strerror(-rc));
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* --- pcap ------------------------------------------------------------------------------------- */

struct coverage {
	bool any;
	int64_t first, last;
};

/* One chunk's records in range, without the pcap file header, appended to o. */
static long export_chunk(const char *dir, const char *name, const struct rec_pcap_ends *ends,
                         uint64_t from, uint64_t to_excl, struct out_file *o, struct coverage *cov,
                         char *err, size_t errlen)
{
	char path[PATH_MAX];
	int64_t sw, ew;
	uint64_t sr, er;
	struct stat st;
	uint8_t *out = NULL;
	void *map = NULL;
	size_t len = 0, npkts = 0, cap;
	ssize_t n;
	long rc;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		return rec_errf((int)rc, err, errlen, "%s: %s", path, strerror((int)-rc));
	}
	len = (size_t)st.st_size;
	if (len) {
		map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) {
			rc = -errno;
			close(fd);
			return rec_errf((int)rc, err, errlen, "%s: mmap: %s", path, strerror((int)-rc));
		}
	}
	close(fd);

	if (!rec_journal_times(map, len, &sw, &ew, &sr, &er)) {
		if (!cov->any || sw < cov->first)
			cov->first = sw;
		if (!cov->any || ew > cov->last)
			cov->last = ew;
		cov->any = true;
	}
	/* Each record of at least 32 bytes becomes at most 32 bytes more (16 pcap + 40 IPv6 + 8
	 * UDP headers in place of the 32-byte journal header): twice the file is always enough. */
	cap = REC_PCAP_FILE_HDR_LEN + 2 * len;
	out = malloc(cap);
	if (!out) {
		rc = rec_errf(-ENOMEM, err, errlen, "%s: out of memory", path);
		goto out;
	}
	n = rec_jnl_export_pcap(map, len, ends, from, to_excl, out, cap, &npkts);
	if (n < 0) {
		rc = rec_errf((int)n, err, errlen, "%s: %s; export stopped", path,
		          n == -EBADMSG || n == -EMSGSIZE || n == -EILSEQ
		              ? "journal corrupt in the middle"
		          : n == -EAGAIN ? "journal torn inside its header"
		                         : strerror((int)-n));
		goto out;
	}
	rc = write_all(o->fd, out + REC_PCAP_FILE_HDR_LEN, (size_t)n - REC_PCAP_FILE_HDR_LEN);
	if (rc) {
		rec_errf((int)rc, err, errlen, "%s: %s", o->path, strerror((int)-rc));
		goto out;
	}
	rc = (long)npkts;
out:
	free(out);
	if (len)
		munmap(map, len);
	return rc;
}

long rec_export_pcap(const char *dir, const char *stream, int64_t from_ns, int64_t to_ns,
                     const struct rec_pcap_ends *ends, const char *out_path, char *err,
                     size_t errlen)
{
	struct out_file o = {.fd = -1};
	struct coverage cov = {0};
	uint8_t hdr[REC_PCAP_FILE_HDR_LEN];
	struct chunk *chunks = NULL;
	size_t nchunks = 0;
	char t1[48], t2[48];
	long total = 0, rc;
	uint64_t from, to_excl;

	if (from_ns > to_ns)
		return rec_errf(-EINVAL, err, errlen, "from is after to");
	if (ends->family != 4 && ends->family != 6)
		return rec_errf(-EINVAL, err, errlen, "address family must be 4 or 6");
	/* The journal's records are compared as u64 with an exclusive end. */
	from = from_ns < 0 ? 0 : (uint64_t)from_ns;
	to_excl = to_ns < 0 ? 0 : (uint64_t)to_ns + 1;

	rc = list_journals(dir, stream, &chunks, &nchunks, err, errlen);
	if (rc)
		return rc;
	if (!nchunks) {
		free(chunks);
		return rec_errf(-ENOENT, err, errlen, "%s: no sealed journal chunks of %s", dir,
		            stream);
	}
	rc = out_open(out_path, &o, err, errlen);
	if (rc)
		goto out;
	rec_pcap_header_write(hdr, sizeof(hdr));
	rc = write_all(o.fd, hdr, sizeof(hdr));
	if (rc) {
		rec_errf((int)rc, err, errlen, "%s: %s", o.path, strerror((int)-rc));
		goto out;
	}
	for (size_t i = 0; i < nchunks; i++) {
		rc = export_chunk(dir, chunks[i].name, ends, from, to_excl, &o, &cov, err, errlen);
		if (rc < 0)
			goto out;
		total += rc;
	}
	if (!total) {
		if (cov.any)
			rc = rec_errf(-ENOENT, err, errlen,
			          "no packets in that range; the journals hold RTP from %s to %s",
			          fmt_time(cov.first, t1), fmt_time(cov.last, t2));
		else
			rc = rec_errf(-ENOENT, err, errlen, "no packets in that range");
		goto out;
	}
	rc = out_commit(&o, out_path, err, errlen);
	if (!rc)
		rc = total;
out:
	if (rc < 0 && o.fd >= 0)
		out_abort(&o);
	free(chunks);
	return rc;
}

/* --- MP4 -------------------------------------------------------------------------------------- */

static bool json_int(json_t *o, const char *key, int64_t *v)
{
	json_t *j = json_object_get(o, key);
	if (!json_is_integer(j))
		return false;
	*v = json_integer_value(j);
	return true;
}

/* Segments of the manifest overlapping [from, to], in chunk order, each once. */
static int manifest_segments(const char *dir, const char *stream, int64_t from, int64_t to,
                             struct chunk **out, size_t *count, char *err, size_t errlen)
{
	struct chunk *v = NULL;
	size_t n = 0, cap = 0, linecap = 0, k = 0;
	char path[PATH_MAX], *line = NULL;
	ssize_t len;
	int rc = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/" MANIFEST, dir);
	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		return rec_errf(rc, err, errlen, "%s: %s", path, strerror(-rc));
	}
	while ((len = getline(&line, &linecap, f)) > 0) {
		json_t *o = json_loadb(line, (size_t)len, 0, NULL);
		const char *kind = json_string_value(json_object_get(o, "kind"));
		const char *file = json_string_value(json_object_get(o, "file"));
		int64_t start, end, rtp;
		uint64_t num;

		if (o && kind && file && (!strcmp(kind, "segment") || !strcmp(kind, "recovered")) &&
		    chunk_name(file, stream, ".ts", &num) && json_int(o, "start_wall_ns", &start) &&
		    json_int(o, "end_wall_ns", &end) && start <= to && end >= from) {
			rc = chunk_add(&v, &n, &cap, file, num);
			if (!rc) {
				v[n - 1].start_wall = start;
				if (json_int(o, "start_rtp", &rtp) && rtp > 0)
					v[n - 1].start_rtp = (uint64_t)rtp;
			}
		}
		json_decref(o);
		if (rc)
			break;
	}
	if (!rc && ferror(f))
		rc = -EIO;
	free(line);
	fclose(f);
	if (rc) {
		free(v);
		return rec_errf(rc, err, errlen, "%s: %s", path, strerror(-rc));
	}
	if (n)
		qsort(v, n, sizeof(*v), chunk_cmp);
	for (size_t i = 0; i < n; i++)
		if (!k || strcmp(v[k - 1].name, v[i].name))
			v[k++] = v[i];
	*out = v;
	*count = k;
	return 0;
}

struct mp4_out {
	AVFormatContext *oc;
	int nout;
	int64_t *last_dts; /* per output stream, in its time base; INT64_MIN before the first */
	int64_t *offset;   /* per output stream: subtracted, in the input's time base */
	bool have_offset;
	/* The timeline so far, before the offset: the last DTS and its duration, and the first DTS
	 * of the last segment and the shift it got, each in the time base of the stream it came
	 * from. */
	int64_t last_raw, last_dur, seg_first, seg_shift;
	AVRational last_tb, seg_first_tb;
	long frames;
	bool header_written;
};

/* Output streams from the first segment's streams (those MP4 can carry). */
static int mp4_streams(struct mp4_out *m, AVFormatContext *ic, const char *path, char *err,
                       size_t errlen)
{
	m->last_dts = calloc(ic->nb_streams, sizeof(*m->last_dts));
	m->offset = calloc(ic->nb_streams, sizeof(*m->offset));
	if (!m->last_dts || !m->offset)
		return rec_errf(-ENOMEM, err, errlen, "out of memory");
	for (unsigned i = 0; i < ic->nb_streams; i++) {
		AVCodecParameters *par = ic->streams[i]->codecpar;
		AVStream *os;

		if ((par->codec_type != AVMEDIA_TYPE_VIDEO &&
		     par->codec_type != AVMEDIA_TYPE_AUDIO) ||
		    avformat_query_codec(m->oc->oformat, par->codec_id, FF_COMPLIANCE_NORMAL) != 1)
			continue;
		os = avformat_new_stream(m->oc, NULL);
		if (!os || avcodec_parameters_copy(os->codecpar, par) < 0)
			return rec_errf(-ENOMEM, err, errlen, "out of memory");
		os->codecpar->codec_tag = 0; /* the TS stream type means nothing to MP4 */
		os->time_base = ic->streams[i]->time_base;
		m->last_dts[m->nout] = INT64_MIN;
		m->nout++;
	}
	if (!m->nout)
		return rec_errf(-ENOTSUP, err, errlen, "%s: no audio or video stream MP4 can carry",
		            path);
	return 0;
}

/* For each input stream, the output stream of the same type and codec (the n-th such input
 * stream goes to the n-th such output), or -1. */
static void mp4_map(const struct mp4_out *m, const AVFormatContext *ic, int *map)
{
	for (unsigned i = 0; i < ic->nb_streams; i++) {
		const AVCodecParameters *in = ic->streams[i]->codecpar;
		map[i] = -1;
		for (int o = 0; o < m->nout; o++) {
			const AVCodecParameters *op = m->oc->streams[o]->codecpar;
			bool taken = false;
			if (op->codec_type != in->codec_type || op->codec_id != in->codec_id)
				continue;
			for (unsigned j = 0; j < i; j++)
				taken |= map[j] == o;
			if (!taken) {
				map[i] = o;
				break;
			}
		}
	}
}

/* How far after the previous segment's start this one starts, in st's time base, by the
 * manifest: the start_rtp difference in the codec's RTP clock (90 kHz for video, the sample
 * rate for audio) when it agrees with the start_wall_ns difference within MAX_SKEW_NS (a restart
 * of the camera or of caasd starts a new RTP timeline), else the wall difference, else -1. */
static int64_t manifest_step(const struct chunk *prev, const struct chunk *cur, const AVStream *st)
{
	const AVCodecParameters *par = st->codecpar;
	int rate = par->codec_type == AVMEDIA_TYPE_VIDEO ? RTP_VIDEO_RATE : par->sample_rate;
	int64_t wall = -1, rtp = -1;

	if (prev->start_wall > 0 && cur->start_wall > prev->start_wall)
		wall = cur->start_wall - prev->start_wall;
	if (prev->start_rtp && cur->start_rtp && rate > 0) {
		uint64_t a = prev->start_rtp, b = cur->start_rtp;
		/* 32-bit timestamps wrap; extended ones only go forward. */
		uint64_t d = (a | b) >> 32 ? b - a : (uint32_t)(b - a);
		if (d && d < (uint64_t)INT64_MAX / NS_PER_SEC && (b > a || !((a | b) >> 32)))
			rtp = av_rescale((int64_t)d, NS_PER_SEC, rate);
	}
	if (rtp > 0 && (wall < 0 || llabs(rtp - wall) < MAX_SKEW_NS))
		return av_rescale_q(rtp, (AVRational){1, NS_PER_SEC}, st->time_base);
	return wall > 0 ? av_rescale_q(wall, (AVRational){1, NS_PER_SEC}, st->time_base) : -1;
}

/* Where a segment's timestamps go: shifted by the returned amount (in the first packet's time
 * base). Its own, unwrapped, when they continue the timeline; placed by the manifest when they
 * restart (segment.h starts every segment at 0); right after the last frame when nothing says
 * more. */
static int64_t mp4_shift(const struct mp4_out *m, const struct chunk *prev, const struct chunk *cur,
                         const AVStream *st, int64_t dts)
{
	int64_t shift, last, step, first;

	if (!m->last_tb.den)
		return 0; /* the first segment */
	last = av_rescale_q(m->last_raw, m->last_tb, st->time_base);
	/* The previous segment's shift, to compare the files' own timestamps. */
	shift = av_rescale_q(m->seg_shift, m->seg_first_tb, st->time_base);
	if (st->pts_wrap_bits < 63) {
		/* The 33-bit TS clock wraps every 26.5 h. */
		int64_t w = (int64_t)1 << st->pts_wrap_bits;
		while (dts + shift < last - w / 2)
			shift += w;
		while (dts + shift > last + w / 2)
			shift -= w;
	}
	if (dts + shift > last)
		return shift;
	step = manifest_step(prev, cur, st);
	first = av_rescale_q(m->seg_first, m->seg_first_tb, st->time_base);
	if (step > 0 && first + step > last)
		return first + step - dts;
	step = av_rescale_q(m->last_dur, m->last_tb, st->time_base);
	return last + (step > 0 ? step : 1) - dts;
}

/* Remux one segment into m. */
static int mp4_segment(struct mp4_out *m, const char *dir, const struct chunk *prev,
                       const struct chunk *seg, const char *out_url, char *err, size_t errlen)
{
	const AVInputFormat *ts = av_find_input_format("mpegts");
	AVFormatContext *ic = NULL;
	AVPacket *pkt = NULL;
	char path[PATH_MAX], url[PATH_MAX + 8], eb[AV_ERROR_MAX_STRING_SIZE];
	int *map = NULL, rc;
	int64_t shift = 0;
	AVRational shift_tb = {0, 1};

	snprintf(path, sizeof(path), "%s/%s", dir, seg->name);
	snprintf(url, sizeof(url), "file:%s", path);
	rc = avformat_open_input(&ic, url, ts, NULL);
	if (rc < 0)
		return rec_errf(rc == AVERROR(ENOENT) ? -ENOENT : -EIO, err, errlen, "%s: %s", path,
		            averr(rc, eb));
	rc = avformat_find_stream_info(ic, NULL);
	if (rc < 0) {
		rc = rec_errf(-EIO, err, errlen, "%s: %s", path, averr(rc, eb));
		goto out;
	}
	if (!m->header_written) {
		rc = mp4_streams(m, ic, path, err, errlen);
		if (rc)
			goto out;
		rc = avio_open(&m->oc->pb, out_url, AVIO_FLAG_WRITE);
		if (rc >= 0)
			rc = avformat_write_header(m->oc, NULL);
		if (rc < 0) {
			rc = rec_errf(-EIO, err, errlen, "%s: MP4 header: %s", out_url, averr(rc, eb));
			goto out;
		}
		m->header_written = true;
	}
	map = malloc(ic->nb_streams * sizeof(*map));
	pkt = av_packet_alloc();
	if (!map || !pkt) {
		rc = rec_errf(-ENOMEM, err, errlen, "out of memory");
		goto out;
	}
	mp4_map(m, ic, map);
	if (!m->have_offset) {
		/* The first segment's start becomes 0, the same instant for every stream. */
		int64_t start = ic->start_time;
		for (unsigned i = 0; i < ic->nb_streams; i++)
			if (map[i] >= 0)
				m->offset[map[i]] = start == AV_NOPTS_VALUE
				                        ? 0
				                        : av_rescale_q(start, AV_TIME_BASE_Q,
				                                       ic->streams[i]->time_base);
		m->have_offset = true;
	}

	while ((rc = av_read_frame(ic, pkt)) >= 0) {
		const AVStream *is = ic->streams[pkt->stream_index];
		int o = map[pkt->stream_index];
		AVStream *os;
		int64_t add;

		if (o < 0 || (pkt->dts == AV_NOPTS_VALUE && pkt->pts == AV_NOPTS_VALUE)) {
			av_packet_unref(pkt);
			continue;
		}
		os = m->oc->streams[o];
		if (pkt->dts == AV_NOPTS_VALUE)
			pkt->dts = pkt->pts;
		if (!shift_tb.num) {
			shift = prev ? mp4_shift(m, prev, seg, is, pkt->dts) : 0;
			shift_tb = is->time_base;
			m->seg_first = pkt->dts + shift;
			m->seg_shift = shift;
			m->seg_first_tb = is->time_base;
		}
		add = av_rescale_q(shift, shift_tb, is->time_base) - m->offset[o];
		pkt->dts += add;
		if (pkt->pts != AV_NOPTS_VALUE)
			pkt->pts += add;
		m->last_raw = pkt->dts + m->offset[o];
		m->last_dur = pkt->duration;
		m->last_tb = is->time_base;
		av_packet_rescale_ts(pkt, is->time_base, os->time_base);
		/* Segments muxed one by one may restart DTS a little before the previous one's
		 * last (B-frames); the smallest DTS that increases keeps the frame and its PTS.
		 * A packet that would then show before it decodes overlaps what was written. */
		if (m->last_dts[o] != INT64_MIN && pkt->dts <= m->last_dts[o])
			pkt->dts = m->last_dts[o] + 1;
		if (pkt->pts != AV_NOPTS_VALUE && pkt->pts < pkt->dts) {
			av_packet_unref(pkt);
			continue;
		}
		m->last_dts[o] = pkt->dts;
		pkt->stream_index = o;
		pkt->pos = -1;
		rc = av_interleaved_write_frame(m->oc, pkt);
		if (rc < 0) {
			rc = rec_errf(-EIO, err, errlen, "%s: writing MP4: %s", out_url, averr(rc, eb));
			goto out;
		}
		m->frames++;
	}
	rc = rc == AVERROR_EOF ? 0 : rec_errf(-EIO, err, errlen, "%s: %s", path, averr(rc, eb));
out:
	av_packet_free(&pkt);
	free(map);
	avformat_close_input(&ic);
	return rc;
}

long rec_export_mp4(const char *dir, const char *stream, int64_t from_ns, int64_t to_ns,
                    const char *out_path, char *err, size_t errlen)
{
	struct mp4_out m = {.oc = NULL};
	struct out_file o = {.fd = -1};
	struct chunk *segs = NULL;
	char url[PATH_MAX + 8], eb[AV_ERROR_MAX_STRING_SIZE];
	size_t nsegs = 0;
	long rc;

	if (from_ns > to_ns)
		return rec_errf(-EINVAL, err, errlen, "from is after to");
	rc = manifest_segments(dir, stream, from_ns, to_ns, &segs, &nsegs, err, errlen);
	if (rc)
		return rc;
	if (!nsegs) {
		free(segs);
		return rec_errf(-ENOENT, err, errlen, "no segment of %s in that range", stream);
	}
	rc = out_open(out_path, &o, err, errlen);
	if (rc)
		goto out;
	snprintf(url, sizeof(url), "file:%s", o.path);
	rc = avformat_alloc_output_context2(&m.oc, NULL, "mp4", NULL);
	if (rc < 0) {
		rc = rec_errf(-ENOMEM, err, errlen, "MP4 muxer: %s", averr((int)rc, eb));
		goto out;
	}
	for (size_t i = 0; i < nsegs; i++) {
		rc = mp4_segment(&m, dir, i ? &segs[i - 1] : NULL, &segs[i], url, err, errlen);
		if (rc)
			goto out;
	}
	if (!m.frames) {
		rc = rec_errf(-ENODATA, err, errlen, "the segments in that range hold no packets");
		goto out;
	}
	rc = av_write_trailer(m.oc);
	if (rc < 0) {
		rc = rec_errf(-EIO, err, errlen, "%s: MP4 trailer: %s", o.path, averr((int)rc, eb));
		goto out;
	}
	rc = avio_closep(&m.oc->pb);
	if (rc < 0) {
		rc = rec_errf(-EIO, err, errlen, "%s: %s", o.path, averr((int)rc, eb));
		goto out;
	}
	rc = out_commit(&o, out_path, err, errlen);
	if (!rc)
		rc = m.frames;
out:
	if (m.oc) {
		if (m.oc->pb)
			avio_closep(&m.oc->pb);
		avformat_free_context(m.oc);
	}
	if (rc < 0 && o.fd >= 0)
		out_abort(&o);
	free(m.last_dts);
	free(m.offset);
	free(segs);
	return rc;
}
