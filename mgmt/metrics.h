/* Prometheus metrics: a builder for the text exposition format 0.0.4, a fixed-bucket histogram
 * for callers to observe into, and an HTTP endpoint (libmicrohttpd) that serves GET /metrics. */
#ifndef CAAS_MGMT_METRICS_H
#define CAAS_MGMT_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MG_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define MG_METRICS_PATH         "/metrics"
#define MG_METRICS_MAX_CONNS    16 /* concurrent connections; more wait in the backlog */
#define MG_METRICS_TIMEOUT_S    10 /* a connection idle this long is closed */
#define MG_HISTO_MAX_BUCKETS    32 /* finite upper bounds; +Inf is always added */

/* --- the page builder ------------------------------------------------------------------------- */

enum mg_metric_type {
	MG_METRIC_COUNTER,
	MG_METRIC_GAUGE,
	MG_METRIC_HISTOGRAM,
};

/* One label of a sample. name: [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved), not
 * "le" on a histogram; value: any UTF-8 (escaped on output). */
struct mg_label {
	const char *name;
	const char *value;
};

/* The labels and their number, for the sample functions: MG_LABELS({"port", "0"}, {"dir", "rx"}).
 * Without labels, pass NULL, 0. */
#define MG_LABELS(...)                                                                             \
	((const struct mg_label[]){__VA_ARGS__}),                                                  \
	    (sizeof((const struct mg_label[]){__VA_ARGS__}) / sizeof(struct mg_label))

/*
 * A page being built. Zero it (or mg_metrics_buf_init), open a family with mg_metrics_family and
 * add its samples, then the next family, and so on: a sample always belongs to the family opened
 * last, so families cannot interleave, and opening a family name twice is refused. The first error
 * sticks in err: later calls do nothing and return it, so a fill function may check only at the
 * end. data is NUL-terminated (len bytes before the NUL) and is malloc'd.
 */
struct mg_metrics_buf {
	char *data;
	size_t len, cap;
	int err; /* 0, or the first error: -EINVAL (bad name, value or order), -EEXIST, -ENOMEM */
	enum mg_metric_type type; /* of the open family */
	char **names;             /* families opened so far; the last is the open one */
	size_t n_names, names_cap;
};

void mg_metrics_buf_init(struct mg_metrics_buf *b);
void mg_metrics_buf_free(struct mg_metrics_buf *b);

/* Whether name is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or label name (no colon, and
 * not reserved: "__" prefix). */
bool mg_metrics_name_ok(const char *name);
bool mg_metrics_label_name_ok(const char *name);

/*
 * Open a family: "# HELP name help" (help may be NULL: no HELP line; backslash and newline are
 * escaped) and "# TYPE name type". By the 0.0.4 conventions a counter's name ends in "_total"
 * (promtool warns otherwise; not enforced here), units are in names ("_seconds", "_bytes").
 * -EINVAL for a bad name or non-UTF-8 help, -EEXIST if this page already has the family.
 */
int mg_metrics_family(struct mg_metrics_buf *b, const char *name, enum mg_metric_type type,
                      const char *help);

/* One sample of the open counter family: "name{labels} value". -EINVAL without a counter family
 * open, for a bad label name, a repeated label name, or a value that is not UTF-8. */
int mg_metrics_counter(struct mg_metrics_buf *b, const struct mg_label *labels, size_t n_labels,
                       uint64_t value);

/* A counter of seconds kept in nanoseconds, written exactly ("12.000345678"). */
int mg_metrics_counter_seconds(struct mg_metrics_buf *b, const struct mg_label *labels,
                               size_t n_labels, uint64_t ns);

/* One sample of the open gauge family; NaN and ±Inf are written as NaN, +Inf, -Inf, other values
 * with the fewest digits that read back exactly. */
int mg_metrics_gauge(struct mg_metrics_buf *b, const struct mg_label *labels, size_t n_labels,
                     double value);

/*
 * One series of the open histogram family: "name_bucket{labels,le="bound"} cumulative[i]" for
 * each of the n finite bounds (ascending), then le="+Inf" with count, "name_sum" and
 * "name_count". -EINVAL if bounds are not finite and strictly ascending, or if cumulative goes
 * down or above count.
 */
int mg_metrics_histogram(struct mg_metrics_buf *b, const struct mg_label *labels, size_t n_labels,
                         const double *bounds, const uint64_t *cumulative, size_t n, double sum,
                         uint64_t count);

/* --- a histogram to observe into -------------------------------------------------------------- */

/*
 * Fixed buckets. One writer (mg_histo_observe) and any number of readers (mg_histo_read,
 * mg_metrics_histo) on other threads, without locks: every field is a relaxed atomic. A read that
 * races an observation may have it in the buckets and not yet in sum, or the other way round (the
 * torn read Prometheus tolerates); the buckets, the +Inf bucket and count always agree with each
 * other, since count is computed as their total. Two writers on one histogram would lose
 * observations: give each writer its own.
 */
struct mg_histo {
	size_t n;                                          /* finite upper bounds */
	double bounds[MG_HISTO_MAX_BUCKETS];               /* ascending; a bucket is <= its bound */
	_Atomic uint64_t counts[MG_HISTO_MAX_BUCKETS + 1]; /* per bucket, [n] is above the last */
	_Atomic double sum;
};

/* n finite, strictly ascending bounds (n <= MG_HISTO_MAX_BUCKETS; 0 is allowed: only +Inf).
 * Returns 0 or -EINVAL. Before any other thread sees h. */
int mg_histo_init(struct mg_histo *h, const double *bounds, size_t n);

/* Count value in the first bucket whose bound is >= value, and add it to the sum. NaN is
 * ignored (it would make the sum NaN for good). */
void mg_histo_observe(struct mg_histo *h, double value);

/* A snapshot: cumulative counts for the h->n finite bounds, the sum and the total count. */
void mg_histo_read(const struct mg_histo *h, uint64_t *cumulative, double *sum, uint64_t *count);

/* mg_metrics_histogram of a snapshot of h. */
int mg_metrics_histo(struct mg_metrics_buf *b, const struct mg_label *labels, size_t n_labels,
                     const struct mg_histo *h);

/* --- the HTTP endpoint ------------------------------------------------------------------------ */

struct mg_metrics;

/*
 * Builds the page into buf (initialised, empty) for one GET /metrics. Returns 0, or a negative
 * errno to answer 500 (also the answer when buf->err is set).
 *
 * It runs on the server's own thread, not the caller of mg_metrics_start, concurrently with
 * everything else in the process, and one call at a time. It must only read state that is safe to
 * read from another thread: caasd gives it counters with a single writer each (read with relaxed
 * atomic loads or as aligned 64-bit words, tolerating a value that is one update old) and
 * mg_histo. It must not take locks that the dataplane or the control thread hold for long, and
 * should be quick: a scrape waits for it, and so does every other connection.
 */
typedef int (*mg_metrics_fill_fn)(void *arg, struct mg_metrics_buf *buf);

/*
 * Serve GET (and HEAD) /metrics on addr_port: "A.B.C.D:PORT" or "[IPv6]:PORT" (a link-local
 * address with its interface: "[fe80::1%eth0]:PORT"), numeric only, bound exactly there (an IPv6
 * socket is IPv6 only); PORT 0 picks a free port (see mg_metrics_port). Other paths get 404, other
 * methods 405 with "Allow: GET, HEAD". At most MG_METRICS_MAX_CONNS connections, each closed after
 * MG_METRICS_TIMEOUT_S idle, all served by one libmicrohttpd thread (epoll), started with every
 * signal blocked so that process signals stay with caasd's threads.
 * Returns 0, or a negative errno with err set: -EINVAL for a malformed address, -ENODEV for an
 * unknown interface, else what binding or starting failed with (-EADDRINUSE, -EADDRNOTAVAIL,
 * -EACCES...; -EIO if libmicrohttpd left no errno) and libmicrohttpd's message.
 */
int mg_metrics_start(struct mg_metrics **out, const char *addr_port, mg_metrics_fill_fn fill,
                     void *arg, char *err, size_t errlen);

/* The port it listens on (the chosen one when started with port 0). */
uint16_t mg_metrics_port(const struct mg_metrics *m);

/* Close every connection and the listener and join the thread: fill is not running on return and
 * is never called again. NULL is allowed. */
void mg_metrics_stop(struct mg_metrics *m);

#endif
