/* Prometheus text exposition (0.0.4): the page builder with its name, label and UTF-8 checks,
 * the lock-free histogram, and the libmicrohttpd server that answers GET /metrics. */
#include "metrics.h"
#include "err.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#define BUF_CAP_MIN 4096
#define NUM_MAX     32 /* a formatted number: "-1.2345678901234567e-308" and its NUL */

static const char *const type_names[] = {
    [MG_METRIC_COUNTER] = "counter",
    [MG_METRIC_GAUGE] = "gauge",
    [MG_METRIC_HISTOGRAM] = "histogram",
};

/* --- checks ----------------------------------------------------------------------------------- */

static bool name_ok(const char *s, bool colon)
{
	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		             (colon && c == ':');
		if (!alpha && !(p > s && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

bool mg_metrics_name_ok(const char *name)
{
	return name_ok(name, true);
}

bool mg_metrics_label_name_ok(const char *name)
{
	return name_ok(name, false) && strncmp(name, "__", 2) != 0;
}

/* Prometheus refuses a whole scrape over one label value or help text that is not UTF-8, so
 * nothing that is not gets onto the page: no overlong forms, surrogates or code points past
 * U+10FFFF, as Go's utf8.ValidString. */
static bool utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned int c = *p++, min;
		int more;

		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1, min = 0x80, c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			more = 2, min = 0x800, c &= 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3, min = 0x10000, c &= 0x07;
		} else {
			return false;
		}
		for (; more; more--, p++) {
			if ((*p & 0xc0) != 0x80) /* also stops at the NUL */
				return false;
			c = c << 6 | (*p & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return false;
	}
	return true;
}

/* --- the buffer ------------------------------------------------------------------------------- */

void mg_metrics_buf_init(struct mg_metrics_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void mg_metrics_buf_free(struct mg_metrics_buf *b)
{
	for (size_t i = 0; i < b->n_names; i++)
		free(b->names[i]);
	free(b->names);
	free(b->data);
	mg_metrics_buf_init(b);
}

static int fail(struct mg_metrics_buf *b, int rc)
{
	if (!b->err)
		b->err = rc;
	return rc;
}

/* Room for n more bytes and the NUL. */
static int reserve(struct mg_metrics_buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : BUF_CAP_MIN;
	char *p;

	if (b->err)
		return b->err;
	if (b->cap && b->cap - b->len > n)
		return 0;
	while (cap - b->len <= n) {
		if (cap > SIZE_MAX / 2)
			return fail(b, -ENOMEM);
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (!p)
		return fail(b, -ENOMEM);
	b->data = p;
	b->cap = cap;
	return 0;
}

static void put(struct mg_metrics_buf *b, const char *s, size_t n)
{
	if (reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void puts_(struct mg_metrics_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* s with backslash and newline escaped, and double quote too when quote is set (label values;
 * help text leaves it alone), as the 0.0.4 format has it. */
static void put_escaped(struct mg_metrics_buf *b, const char *s, bool quote)
{
	const char *run = s;

	for (; *s; s++) {
		const char *esc = *s == '\\'           ? "\\\\"
		                  : *s == '\n'         ? "\\n"
		                  : quote && *s == '"' ? "\\\""
		                                       : NULL;
		if (!esc)
			continue;
		put(b, run, (size_t)(s - run));
		put(b, esc, 2);
		run = s + 1;
	}
	put(b, run, (size_t)(s - run));
}

/*
 * The fewest significant digits (15 to 17) that read back as exactly v, so 0.1 is "0.1", not
 * "0.10000000000000001", and nothing is lost; Go's ParseFloat reads every form %g makes. Assumes
 * the C locale's decimal point, as caasd never calls setlocale.
 */
static void fmt_double(char out[NUM_MAX], double v)
{
	if (isnan(v)) {
		strcpy(out, "NaN");
		return;
	}
	if (isinf(v)) {
		strcpy(out, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(out, NUM_MAX, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

/* --- families and samples --------------------------------------------------------------------- */

int mg_metrics_family(struct mg_metrics_buf *b, const char *name, enum mg_metric_type type,
                      const char *help)
{
	char *copy;

	if (b->err)
		return b->err;
	if (!mg_metrics_name_ok(name) || (unsigned int)type > MG_METRIC_HISTOGRAM ||
	    (help && !utf8_ok(help)))
		return fail(b, -EINVAL);
	for (size_t i = 0; i < b->n_names; i++)
		if (!strcmp(b->names[i], name))
			return fail(b, -EEXIST);
	if (b->n_names == b->names_cap) {
		size_t cap = b->names_cap ? 2 * b->names_cap : 16;
		char **names = realloc(b->names, cap * sizeof(*names));
		if (!names)
			return fail(b, -ENOMEM);
		b->names = names;
		b->names_cap = cap;
	}
	copy = strdup(name);
	if (!copy)
		return fail(b, -ENOMEM);
	b->names[b->n_names++] = copy;
	b->type = type;

	if (help) {
		puts_(b, "# HELP ");
		puts_(b, name);
		put(b, " ", 1);
		put_escaped(b, help, false);
		put(b, "\n", 1);
	}
	puts_(b, "# TYPE ");
	puts_(b, name);
	put(b, " ", 1);
	puts_(b, type_names[type]);
	put(b, "\n", 1);
	return b->err;
}

/* A family of this type is open and the labels are fine for it. */
static int check_sample(struct mg_metrics_buf *b, enum mg_metric_type type,
                        const struct mg_label *labels, size_t n_labels)
{
	if (b->err)
		return b->err;
	if (!b->n_names || b->type != type || (n_labels && !labels))
		return fail(b, -EINVAL);
	for (size_t i = 0; i < n_labels; i++) {
		if (!mg_metrics_label_name_ok(labels[i].name) || !labels[i].value ||
		    !utf8_ok(labels[i].value))
			return fail(b, -EINVAL);
		if (type == MG_METRIC_HISTOGRAM && !strcmp(labels[i].name, "le"))
			return fail(b, -EINVAL);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(labels[i].name, labels[j].name))
				return fail(b, -EINVAL);
	}
	return 0;
}

/* "family<suffix>{labels[,le="le"]} value\n", labels already checked. */
static int put_sample(struct mg_metrics_buf *b, const char *suffix, const struct mg_label *labels,
                      size_t n_labels, const char *le, const char *value)
{
	puts_(b, b->names[b->n_names - 1]);
	puts_(b, suffix);
	if (n_labels || le) {
		put(b, "{", 1);
		for (size_t i = 0; i < n_labels; i++) {
			if (i)
				put(b, ",", 1);
			puts_(b, labels[i].name);
			put(b, "=\"", 2);
			put_escaped(b, labels[i].value, true);
			put(b, "\"", 1);
		}
		if (le) {
			puts_(b, n_labels ? ",le=\"" : "le=\"");
			puts_(b, le);
			put(b, "\"", 1);
		}
		put(b, "}", 1);
	}
	put(b, " ", 1);
	puts_(b, value);
	put(b, "\n", 1);
	return b->err;
}

int mg_metrics_counter(struct mg_metrics_buf *b, const struct mg_label *labels, size_t n_labels,
                       uint64_t value)
{
	char num[NUM_MAX];
	int rc = check_sample(b, MG_METRIC_COUNTER, labels, n_labels);

	if (rc)
		return rc;
	snprintf(num, sizeof(num), "%" PRIu64, value);
	return put_sample(b, "", labels, n_labels, NULL, num);
}

int mg_metrics_counter_seconds(struct mg_metrics_buf *b, const struct mg_label *labels,
                               size_t n_labels, uint64_t ns)
{
	char num[NUM_MAX];
	int rc = check_sample(b, MG_METRIC_COUNTER, labels, n_labels);

	if (rc)
		return rc;
	snprintf(num, sizeof(num), "%" PRIu64 ".%09" PRIu64, ns / 1000000000u, ns % 1000000000u);
	return put_sample(b, "", labels, n_labels, NULL, num);
}

int mg_metrics_gauge(struct mg_metrics_buf *b, const struct mg_label *labels, size_t n_labels,
                     double value)
{
	char num[NUM_MAX];
	int rc = check_sample(b, MG_METRIC_GAUGE, labels, n_labels);

	if (rc)
		return rc;
	fmt_double(num, value);
	return put_sample(b, "", labels, n_labels, NULL, num);
}

int mg_metrics_histogram(struct mg_metrics_buf *b, const struct mg_label *labels, size_t n_labels,
                         const double *bounds, const uint64_t *cumulative, size_t n, double sum,
                         uint64_t count)
{
	char le[NUM_MAX], num[NUM_MAX];
	int rc = check_sample(b, MG_METRIC_HISTOGRAM, labels, n_labels);

	if (rc)
		return rc;
	if (n && (!bounds || !cumulative))
		return fail(b, -EINVAL);
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(bounds[i]) || (i && bounds[i] <= bounds[i - 1]) ||
		    (i && cumulative[i] < cumulative[i - 1]) || cumulative[i] > count)
			return fail(b, -EINVAL);
	}
	for (size_t i = 0; i < n; i++) {
		fmt_double(le, bounds[i]);
		snprintf(num, sizeof(num), "%" PRIu64, cumulative[i]);
		put_sample(b, "_bucket", labels, n_labels, le, num);
	}
	snprintf(num, sizeof(num), "%" PRIu64, count);
	put_sample(b, "_bucket", labels, n_labels, "+Inf", num);
	fmt_double(le, sum);
	put_sample(b, "_sum", labels, n_labels, NULL, le);
	return put_sample(b, "_count", labels, n_labels, NULL, num);
}

/* --- the histogram ---------------------------------------------------------------------------- */

int mg_histo_init(struct mg_histo *h, const double *bounds, size_t n)
{
	if (n > MG_HISTO_MAX_BUCKETS || (n && !bounds))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(bounds[i]) || (i && bounds[i] <= bounds[i - 1]))
			return -EINVAL;
	memset(h, 0, sizeof(*h));
	h->n = n;
	for (size_t i = 0; i < n; i++)
		h->bounds[i] = bounds[i];
	for (size_t i = 0; i <= MG_HISTO_MAX_BUCKETS; i++)
		atomic_init(&h->counts[i], 0);
	atomic_init(&h->sum, 0.0);
	return 0;
}

/* One writer: plain loads and stores (no locked read-modify-write) are enough and cheapest. */
void mg_histo_observe(struct mg_histo *h, double value)
{
	size_t lo = 0, hi = h->n;

	if (isnan(value))
		return;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (value <= h->bounds[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	atomic_store_explicit(&h->counts[lo],
	                      atomic_load_explicit(&h->counts[lo], memory_order_relaxed) + 1,
	                      memory_order_relaxed);
	atomic_store_explicit(&h->sum, atomic_load_explicit(&h->sum, memory_order_relaxed) + value,
	                      memory_order_relaxed);
}

void mg_histo_read(const struct mg_histo *h, uint64_t *cumulative, double *sum, uint64_t *count)
{
	uint64_t total = 0;

	for (size_t i = 0; i < h->n; i++) {
		total += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
		cumulative[i] = total;
	}
	*count = total + atomic_load_explicit(&h->counts[h->n], memory_order_relaxed);
	*sum = atomic_load_explicit(&h->sum, memory_order_relaxed);
}

int mg_metrics_histo(struct mg_metrics_buf *b, const struct mg_label *labels, size_t n_labels,
                     const struct mg_histo *h)
{
	uint64_t cumulative[MG_HISTO_MAX_BUCKETS], count;
	double sum;

	mg_histo_read(h, cumulative, &sum, &count);
	return mg_metrics_histogram(b, labels, n_labels, h->bounds, cumulative, h->n, sum, count);
}

/* --- the server ------------------------------------------------------------------------------- */

struct mg_metrics {
	struct MHD_Daemon *mhd;
	mg_metrics_fill_fn fill;
	void *arg;
	uint16_t port;
	/* libmicrohttpd's last message while starting, and errno as it was then: what start-up
	 * reports. Only the starting thread writes them; later messages are dropped. */
	pthread_t starter;
	int log_errno;
	char log[200];
};

__attribute__((format(printf, 2, 0))) static void on_log(void *cls, const char *fmt, va_list ap)
{
	struct mg_metrics *m = cls;
	int e = errno; /* the failed call's, when the message is about one */
	size_t len;

	if (!pthread_equal(pthread_self(), m->starter))
		return;
	m->log_errno = e;
	vsnprintf(m->log, sizeof(m->log), fmt, ap);
	len = strlen(m->log);
	while (len && (m->log[len - 1] == '\n' || m->log[len - 1] == '.'))
		m->log[--len] = '\0';
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned int status,
                              struct MHD_Response *r, const char *type, const char *allow)
{
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES ||
	    (allow && MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES))
		ret = MHD_NO;
	else
		ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result answer_text(struct MHD_Connection *conn, unsigned int status,
                                   const char *text, const char *allow)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	return answer(conn, status, r, "text/plain; charset=utf-8", allow);
}

/* Every request is answered on the handler's first call, before any body is read (GET and HEAD
 * have none). libmicrohttpd then closes the connection after the answer, whatever the method:
 * no body is ever read, and no idle keep-alive connection holds one of the few slots. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
	struct mg_metrics *m = cls;
	struct mg_metrics_buf b;
	struct MHD_Response *r;
	char text[96];
	int rc;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)req_cls;
	if (strcmp(url, MG_METRICS_PATH))
		return answer_text(conn, MHD_HTTP_NOT_FOUND, "not found: try " MG_METRICS_PATH "\n",
		                   NULL);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return answer_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
		                   "GET, HEAD");

	mg_metrics_buf_init(&b);
	rc = m->fill(m->arg, &b);
	if (!rc)
		rc = b.err;
	if (rc) {
		mg_metrics_buf_free(&b);
		snprintf(text, sizeof(text), "cannot build the page: %s\n", strerror(-rc));
		r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
		return answer(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, r, "text/plain; charset=utf-8",
		              NULL);
	}
	r = MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_FREE);
	if (r)
		b.data = NULL; /* the response frees it */
	mg_metrics_buf_free(&b);
	return answer(conn, MHD_HTTP_OK, r, MG_METRICS_CONTENT_TYPE, NULL);
}

/* "A.B.C.D:PORT" or "[IPv6[%zone]]:PORT", numeric. */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, bool *v6, uint16_t *port,
                      char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
	const char *h = addr, *end, *p;
	unsigned long val;
	size_t len;

	if (addr[0] == '[') {
		end = strchr(addr, ']');
		if (!end || end[1] != ':')
			goto bad;
		*v6 = true;
		h = addr + 1;
		p = end + 2;
	} else {
		end = strrchr(addr, ':');
		if (!end)
			goto bad;
		if (memchr(addr, ':', (size_t)(end - addr)))
			return mg_errf(
			    -EINVAL, err, errlen,
			    "metrics address \"%s\": an IPv6 address goes in brackets, as "
			    "[::1]:9100",
			    addr);
		*v6 = false;
		p = end + 1;
	}
	len = (size_t)(end - h);
	if (!len || len >= sizeof(host))
		goto bad;
	memcpy(host, h, len);
	host[len] = '\0';

	if (!*p || strlen(p) > 5 || strspn(p, "0123456789") != strlen(p) ||
	    (val = strtoul(p, NULL, 10)) > 65535)
		return mg_errf(-EINVAL, err, errlen, "metrics address \"%s\": bad port \"%s\"",
		               addr, p);
	*port = (uint16_t)val;

	memset(ss, 0, sizeof(*ss));
	if (*v6) {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)ss;
		char *zone = strchr(host, '%');

		sa->sin6_family = AF_INET6;
		sa->sin6_port = htons(*port);
		if (zone) {
			*zone++ = '\0';
			sa->sin6_scope_id = if_nametoindex(zone);
			if (!sa->sin6_scope_id)
				return mg_errf(-ENODEV, err, errlen,
				               "metrics address \"%s\": no interface \"%s\"", addr,
				               zone);
		}
		if (inet_pton(AF_INET6, host, &sa->sin6_addr) != 1)
			return mg_errf(
			    -EINVAL, err, errlen,
			    "metrics address \"%s\": \"%s\" is not a numeric IPv6 address", addr,
			    host);
	} else {
		struct sockaddr_in *sa = (struct sockaddr_in *)ss;

		sa->sin_family = AF_INET;
		sa->sin_port = htons(*port);
		if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
			return mg_errf(
			    -EINVAL, err, errlen,
			    "metrics address \"%s\": \"%s\" is not a numeric IPv4 address", addr,
			    host);
	}
	return 0;
bad:
	return mg_errf(-EINVAL, err, errlen,
	               "metrics address \"%s\": expected ADDR:PORT, or [ADDR]:PORT for IPv6", addr);
}

int mg_metrics_start(struct mg_metrics **out, const char *addr_port, mg_metrics_fill_fn fill,
                     void *arg, char *err, size_t errlen)
{
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	struct mg_metrics *m;
	sigset_t all, old;
	bool v6 = false;
	uint16_t port = 0;
	int rc;

	*out = NULL;
	if (!addr_port || !fill)
		return mg_errf(-EINVAL, err, errlen, "metrics: no address or no fill function");
	rc = parse_addr(addr_port, &ss, &v6, &port, err, errlen);
	if (rc)
		return rc;
	if (v6)
		flags |= MHD_USE_IPv6; /* without MHD_USE_DUAL_STACK: IPV6_V6ONLY */
	m = calloc(1, sizeof(*m));
	if (!m)
		return mg_errf(-ENOMEM, err, errlen, "metrics: out of memory");
	m->fill = fill;
	m->arg = arg;
	m->starter = pthread_self();

	/* The server thread inherits the mask: process signals stay with caasd's own threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	errno = 0;
	/* clang-format off */
	m->mhd = MHD_start_daemon(flags, port, NULL, NULL, on_request, m,
	                          MHD_OPTION_EXTERNAL_LOGGER, on_log, m, /* first: catches all */
	                          MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	                          MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MG_METRICS_MAX_CONNS,
	                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)MG_METRICS_TIMEOUT_S,
	                          MHD_OPTION_END);
	/* clang-format on */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!m->mhd) {
		rc = m->log_errno ? -m->log_errno : -EIO;
		if (m->log[0])
			mg_errf(rc, err, errlen, "metrics on %s: %s", addr_port, m->log);
		else
			mg_errf(rc, err, errlen, "metrics on %s: libmicrohttpd did not start",
			        addr_port);
		free(m);
		return rc;
	}
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_BIND_PORT);
	m->port = info && info->port ? info->port : port;
	*out = m;
	return 0;
}

uint16_t mg_metrics_port(const struct mg_metrics *m)
{
	return m->port;
}

void mg_metrics_stop(struct mg_metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->mhd);
	free(m);
}
