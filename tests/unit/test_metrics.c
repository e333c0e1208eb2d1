/* Metrics tests: exposition vectors (names, escaping, numbers, histograms, every refusal), the
 * histogram type, promtool's verdict on pages the builder makes, and the HTTP server end to end
 * over real TCP sockets (status, headers, body, 404/405/500, bad addresses, slow clients). */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mgmt/defaults.h"
#include "mgmt/metrics.h"

#define IO_TIMEOUT_S 5

/* --- helpers ---------------------------------------------------------------------------------- */

static void assert_page(const struct mg_metrics_buf *b, const char *want)
{
	assert_int_equal(b->err, 0);
	assert_non_null(b->data);
	assert_string_equal(b->data, want);
	assert_int_equal(b->len, strlen(want));
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- names, escaping, numbers ----------------------------------------------------------------- */

static void test_names(void **state)
{
	(void)state;
	const char *good[] = {"a", "_", ":", "caas_rx_packets_total", "a:b:c", "A9_z", "_9", ":x"};
	const char *bad[] = {"", "9a", "a-b", "a b", "a.b", "\xc3\xa9", "a\n", "a{", "a\""};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(mg_metrics_name_ok(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(mg_metrics_name_ok(bad[i]));
	assert_false(mg_metrics_name_ok(NULL));

	assert_true(mg_metrics_label_name_ok("port"));
	assert_true(mg_metrics_label_name_ok("_x"));
	assert_true(mg_metrics_label_name_ok("le")); /* only refused on histograms */
	assert_false(mg_metrics_label_name_ok("a:b"));
	assert_false(mg_metrics_label_name_ok("__name__"));
	assert_false(mg_metrics_label_name_ok("__"));
	assert_false(mg_metrics_label_name_ok("1x"));
	assert_false(mg_metrics_label_name_ok(""));
	assert_false(mg_metrics_label_name_ok(NULL));
}

static void test_counters_and_gauges(void **state)
{
	(void)state;
	struct mg_metrics_buf b;
	mg_metrics_buf_init(&b);
	assert_int_equal(mg_metrics_family(&b, "caas_rx_packets_total", MG_METRIC_COUNTER,
	                                   "Packets received, by port."),
	                 0);
	assert_int_equal(mg_metrics_counter(&b, MG_LABELS({"port", "0"}), UINT64_MAX), 0);
	assert_int_equal(mg_metrics_counter(&b, MG_LABELS({"port", "1"}, {"queue", "3"}), 0), 0);
	assert_int_equal(mg_metrics_family(&b, "caas_busy_seconds_total", MG_METRIC_COUNTER, NULL),
	                 0);
	assert_int_equal(mg_metrics_counter_seconds(&b, MG_LABELS({"w", "0"}), 12000345678u), 0);
	assert_int_equal(mg_metrics_counter_seconds(&b, NULL, 0, 999), 0);
	assert_int_equal(mg_metrics_family(&b, "caas_up", MG_METRIC_GAUGE, NULL), 0);
	assert_int_equal(mg_metrics_gauge(&b, NULL, 0, 1), 0);
	assert_int_equal(mg_metrics_family(&b, "caas_empty", MG_METRIC_GAUGE, ""), 0);
	assert_page(&b, "# HELP caas_rx_packets_total Packets received, by port.\n"
	                "# TYPE caas_rx_packets_total counter\n"
	                "caas_rx_packets_total{port=\"0\"} 18446744073709551615\n"
	                "caas_rx_packets_total{port=\"1\",queue=\"3\"} 0\n"
	                "# TYPE caas_busy_seconds_total counter\n"
	                "caas_busy_seconds_total{w=\"0\"} 12.000345678\n"
	                "caas_busy_seconds_total 0.000000999\n"
	                "# TYPE caas_up gauge\n"
	                "caas_up 1\n"
	                "# HELP caas_empty \n"
	                "# TYPE caas_empty gauge\n");
	mg_metrics_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	mg_metrics_buf_free(&b); /* twice is fine */
}

static void test_escaping(void **state)
{
	(void)state;
	struct mg_metrics_buf b;
	mg_metrics_buf_init(&b);
	/* Help escapes backslash and newline only; label values also the double quote. UTF-8 passes
	 * through as it is. */
	assert_int_equal(mg_metrics_family(&b, "x", MG_METRIC_GAUGE,
	                                   "a \"quoted\" C:\\path\nsecond line \xc3\xa9"),
	                 0);
	assert_int_equal(mg_metrics_gauge(&b,
	                                  MG_LABELS({"v", "a\\b\"c\nd"}, {"e", ""},
	                                            {"u", "\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e"},
	                                            {"t", "\\\\\"\"\n\n"}),
	                                  2),
	                 0);
	assert_page(&b, "# HELP x a \"quoted\" C:\\\\path\\nsecond line \xc3\xa9\n"
	                "# TYPE x gauge\n"
	                "x{v=\"a\\\\b\\\"c\\nd\",e=\"\",u=\"\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\","
	                "t=\"\\\\\\\\\\\"\\\"\\n\\n\"} 2\n");
	mg_metrics_buf_free(&b);
}

static void test_gauge_numbers(void **state)
{
	(void)state;
	static const struct {
		double v;
		const char *want;
	} cases[] = {
	    {0, "0"},
	    {-0.0, "-0"},
	    {1, "1"},
	    {-0.5, "-0.5"},
	    {0.1, "0.1"}, /* not 0.10000000000000001 */
	    {1.0 / 3, "0.3333333333333333"},
	    {123456789012345678.0, "1.2345678901234568e+17"},
	    {1e21, "1e+21"},
	    {1e-7, "1e-07"},
	    {0.1 + 0.2, "0.30000000000000004"}, /* needs all 17 */
	    {2.5e-7, "2.5e-07"},
	    {5e-324, "4.94065645841247e-324"},
	    {1.7976931348623157e308, "1.7976931348623157e+308"},
	    {NAN, "NaN"},
	    {INFINITY, "+Inf"},
	    {-INFINITY, "-Inf"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mg_metrics_buf b;
		char want[96];
		mg_metrics_buf_init(&b);
		assert_int_equal(mg_metrics_family(&b, "g", MG_METRIC_GAUGE, NULL), 0);
		assert_int_equal(mg_metrics_gauge(&b, NULL, 0, cases[i].v), 0);
		snprintf(want, sizeof(want), "# TYPE g gauge\ng %s\n", cases[i].want);
		assert_page(&b, want);
		if (isfinite(cases[i].v)) /* and it reads back exactly */
			assert_true(strtod(b.data + strlen("# TYPE g gauge\ng "), NULL) ==
			            cases[i].v);
		mg_metrics_buf_free(&b);
	}
}

static void test_histogram_output(void **state)
{
	(void)state;
	static const double bounds[] = {0.005, 0.1, 1};
	static const uint64_t cum[] = {1, 3, 3};
	struct mg_metrics_buf b;
	mg_metrics_buf_init(&b);
	assert_int_equal(
	    mg_metrics_family(&b, "caas_cmd_seconds", MG_METRIC_HISTOGRAM, "Command latency."), 0);
	assert_int_equal(
	    mg_metrics_histogram(&b, MG_LABELS({"cmd", "device add"}), bounds, cum, 3, 1.5, 4), 0);
	/* A second series of the same family, and one with no labels and no finite bucket. */
	assert_int_equal(
	    mg_metrics_histogram(&b, MG_LABELS({"cmd", "status"}), bounds, cum, 3, 0.25, 3), 0);
	assert_int_equal(mg_metrics_histogram(&b, NULL, 0, NULL, NULL, 0, 0, 0), 0);
	assert_page(&b, "# HELP caas_cmd_seconds Command latency.\n"
	                "# TYPE caas_cmd_seconds histogram\n"
	                "caas_cmd_seconds_bucket{cmd=\"device add\",le=\"0.005\"} 1\n"
	                "caas_cmd_seconds_bucket{cmd=\"device add\",le=\"0.1\"} 3\n"
	                "caas_cmd_seconds_bucket{cmd=\"device add\",le=\"1\"} 3\n"
	                "caas_cmd_seconds_bucket{cmd=\"device add\",le=\"+Inf\"} 4\n"
	                "caas_cmd_seconds_sum{cmd=\"device add\"} 1.5\n"
	                "caas_cmd_seconds_count{cmd=\"device add\"} 4\n"
	                "caas_cmd_seconds_bucket{cmd=\"status\",le=\"0.005\"} 1\n"
	                "caas_cmd_seconds_bucket{cmd=\"status\",le=\"0.1\"} 3\n"
	                "caas_cmd_seconds_bucket{cmd=\"status\",le=\"1\"} 3\n"
	                "caas_cmd_seconds_bucket{cmd=\"status\",le=\"+Inf\"} 3\n"
	                "caas_cmd_seconds_sum{cmd=\"status\"} 0.25\n"
	                "caas_cmd_seconds_count{cmd=\"status\"} 3\n"
	                "caas_cmd_seconds_bucket{le=\"+Inf\"} 0\n"
	                "caas_cmd_seconds_sum 0\n"
	                "caas_cmd_seconds_count 0\n");
	mg_metrics_buf_free(&b);
}

static void test_histo(void **state)
{
	(void)state;
	static const double bounds[] = {1, 2, 4};
	struct mg_histo h;
	uint64_t cum[3], count;
	double sum;

	assert_int_equal(mg_histo_init(&h, bounds, 3), 0);
	mg_histo_read(&h, cum, &sum, &count);
	assert_int_equal(cum[0] + cum[1] + cum[2] + count, 0);
	assert_true(sum == 0);

	/* A bucket holds values <= its bound; above the last goes to +Inf; NaN is dropped. */
	const double obs[] = {0.5, 1, 1.5, 4, 100, -3, NAN};
	for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
		mg_histo_observe(&h, obs[i]);
	mg_histo_read(&h, cum, &sum, &count);
	assert_int_equal(cum[0], 3); /* -3, 0.5, 1 */
	assert_int_equal(cum[1], 4); /* 1.5 */
	assert_int_equal(cum[2], 5); /* 4 */
	assert_int_equal(count, 6);  /* 100 */
	assert_true(sum == 104);

	struct mg_metrics_buf b;
	mg_metrics_buf_init(&b);
	assert_int_equal(mg_metrics_family(&b, "h", MG_METRIC_HISTOGRAM, NULL), 0);
	assert_int_equal(mg_metrics_histo(&b, MG_LABELS({"port", "0"}), &h), 0);
	assert_page(&b, "# TYPE h histogram\n"
	                "h_bucket{port=\"0\",le=\"1\"} 3\n"
	                "h_bucket{port=\"0\",le=\"2\"} 4\n"
	                "h_bucket{port=\"0\",le=\"4\"} 5\n"
	                "h_bucket{port=\"0\",le=\"+Inf\"} 6\n"
	                "h_sum{port=\"0\"} 104\n"
	                "h_count{port=\"0\"} 6\n");
	mg_metrics_buf_free(&b);

	/* Only +Inf. */
	assert_int_equal(mg_histo_init(&h, NULL, 0), 0);
	mg_histo_observe(&h, 7);
	mg_histo_read(&h, cum, &sum, &count);
	assert_int_equal(count, 1);
	assert_true(sum == 7);

	/* Refused bounds. */
	static const double unsorted[] = {1, 0.5}, equal[] = {1, 1}, nan[] = {1, NAN},
	                    inf[] = {1, INFINITY};
	double many[MG_HISTO_MAX_BUCKETS + 1];
	for (size_t i = 0; i < MG_HISTO_MAX_BUCKETS + 1; i++)
		many[i] = (double)i;
	assert_int_equal(mg_histo_init(&h, unsorted, 2), -EINVAL);
	assert_int_equal(mg_histo_init(&h, equal, 2), -EINVAL);
	assert_int_equal(mg_histo_init(&h, nan, 2), -EINVAL);
	assert_int_equal(mg_histo_init(&h, inf, 2), -EINVAL);
	assert_int_equal(mg_histo_init(&h, NULL, 1), -EINVAL);
	assert_int_equal(mg_histo_init(&h, many, MG_HISTO_MAX_BUCKETS + 1), -EINVAL);
	assert_int_equal(mg_histo_init(&h, many, MG_HISTO_MAX_BUCKETS), 0);
}

/* A writer thread observing while the test reads: every snapshot is consistent (cumulative, the
 * +Inf bucket is count) and nothing is lost at the end. */
struct histo_race {
	struct mg_histo h;
	atomic_bool done;
};

static void *observer(void *arg)
{
	struct histo_race *r = arg;
	for (int i = 0; i < 200000; i++)
		mg_histo_observe(&r->h, (double)(i % 8));
	atomic_store(&r->done, true);
	return NULL;
}

static void test_histo_reader(void **state)
{
	(void)state;
	static const double bounds[] = {1, 3, 5};
	struct histo_race *r = calloc(1, sizeof(*r));
	uint64_t cum[3], count, prev = 0;
	double sum;
	pthread_t t;

	assert_non_null(r);
	assert_int_equal(mg_histo_init(&r->h, bounds, 3), 0);
	assert_int_equal(pthread_create(&t, NULL, observer, r), 0);
	while (!atomic_load(&r->done)) {
		mg_histo_read(&r->h, cum, &sum, &count);
		assert_true(cum[0] <= cum[1] && cum[1] <= cum[2] && cum[2] <= count);
		assert_true(count >= prev);
		prev = count;
	}
	pthread_join(t, NULL);
	mg_histo_read(&r->h, cum, &sum, &count);
	assert_int_equal(count, 200000);
	assert_int_equal(cum[0], 50000);  /* 0, 1 */
	assert_int_equal(cum[1], 100000); /* 2, 3 */
	assert_int_equal(cum[2], 150000); /* 4, 5 */
	assert_true(sum == 25000.0 * 28);
	free(r);
}

/* --- refusals: each one sticks ---------------------------------------------------------------- */

/* b has failed with rc: later calls do nothing and return the same error. */
static void assert_stuck(struct mg_metrics_buf *b, int rc)
{
	size_t len = b->len;
	assert_int_equal(b->err, rc);
	assert_int_equal(mg_metrics_family(b, "fine_total", MG_METRIC_COUNTER, "Fine."), rc);
	assert_int_equal(mg_metrics_counter(b, NULL, 0, 1), rc);
	assert_int_equal(mg_metrics_gauge(b, NULL, 0, 1), rc);
	assert_int_equal(mg_metrics_histogram(b, NULL, 0, NULL, NULL, 0, 0, 0), rc);
	assert_int_equal(b->len, len);
}

static void test_refusals(void **state)
{
	(void)state;
	struct mg_metrics_buf b;
	static const double up[] = {1, 2}, down[] = {2, 1}, nan[] = {NAN}, inf[] = {INFINITY};
	static const uint64_t cum_ok[] = {1, 2}, cum_down[] = {2, 1};

#define REFUSED(rc, setup_calls, bad_call)                                                         \
	do {                                                                                       \
		mg_metrics_buf_init(&b);                                                           \
		setup_calls;                                                                       \
		assert_int_equal(b.err, 0);                                                        \
		assert_int_equal(bad_call, rc);                                                    \
		assert_stuck(&b, rc);                                                              \
		mg_metrics_buf_free(&b);                                                           \
	} while (0)
#define COUNTER   mg_metrics_family(&b, "c_total", MG_METRIC_COUNTER, "C.")
#define GAUGE     mg_metrics_family(&b, "g", MG_METRIC_GAUGE, "G.")
#define HISTOGRAM mg_metrics_family(&b, "h", MG_METRIC_HISTOGRAM, "H.")

	/* Family names and help. */
	REFUSED(-EINVAL, (void)0, mg_metrics_family(&b, "9lives", MG_METRIC_GAUGE, NULL));
	REFUSED(-EINVAL, (void)0, mg_metrics_family(&b, "a-b", MG_METRIC_GAUGE, NULL));
	REFUSED(-EINVAL, (void)0, mg_metrics_family(&b, "", MG_METRIC_GAUGE, NULL));
	REFUSED(-EINVAL, (void)0, mg_metrics_family(&b, "x", (enum mg_metric_type)7, NULL));
	REFUSED(-EINVAL, (void)0, mg_metrics_family(&b, "x", MG_METRIC_GAUGE, "bad \xff"));
	/* A family twice, even after another: families never interleave. */
	REFUSED(-EEXIST, (COUNTER, GAUGE), mg_metrics_family(&b, "c_total", MG_METRIC_GAUGE, NULL));

	/* Samples without their family. */
	REFUSED(-EINVAL, (void)0, mg_metrics_counter(&b, NULL, 0, 1));
	REFUSED(-EINVAL, GAUGE, mg_metrics_counter(&b, NULL, 0, 1));
	REFUSED(-EINVAL, COUNTER, mg_metrics_gauge(&b, NULL, 0, 1));
	REFUSED(-EINVAL, COUNTER, mg_metrics_histogram(&b, NULL, 0, NULL, NULL, 0, 0, 0));
	REFUSED(-EINVAL, HISTOGRAM, mg_metrics_gauge(&b, NULL, 0, 1));

	/* Labels. */
	REFUSED(-EINVAL, COUNTER, mg_metrics_counter(&b, MG_LABELS({"a:b", "x"}), 1));
	REFUSED(-EINVAL, COUNTER, mg_metrics_counter(&b, MG_LABELS({"__name__", "x"}), 1));
	REFUSED(-EINVAL, COUNTER, mg_metrics_counter(&b, MG_LABELS({"1a", "x"}), 1));
	REFUSED(-EINVAL, COUNTER, mg_metrics_counter(&b, MG_LABELS({NULL, "x"}), 1));
	REFUSED(-EINVAL, COUNTER, mg_metrics_counter(&b, MG_LABELS({"a", NULL}), 1));
	REFUSED(-EINVAL, COUNTER, mg_metrics_counter(&b, MG_LABELS({"a", "1"}, {"a", "2"}), 1));
	REFUSED(-EINVAL, COUNTER, mg_metrics_counter(&b, NULL, 1, 1));
	REFUSED(-EINVAL, HISTOGRAM,
	        mg_metrics_histogram(&b, MG_LABELS({"le", "1"}), NULL, NULL, 0, 0, 0));
	/* Label values that are not UTF-8: a stray continuation byte, a truncated sequence, an
	 * overlong '/', a surrogate, past U+10FFFF. */
	const char *not_utf8[] = {"\x80",
	                          "a\xc3",
	                          "\xe2\x82",
	                          "\xc0\xaf",
	                          "\xed\xa0\x80",
	                          "\xf4\x90\x80\x80",
	                          "\xf5\x80\x80\x80",
	                          "\xff"};
	for (size_t i = 0; i < sizeof(not_utf8) / sizeof(not_utf8[0]); i++)
		REFUSED(-EINVAL, GAUGE, mg_metrics_gauge(&b, MG_LABELS({"v", not_utf8[i]}), 1));

	/* Histograms that cannot be. */
	REFUSED(-EINVAL, HISTOGRAM, mg_metrics_histogram(&b, NULL, 0, down, cum_ok, 2, 0, 2));
	REFUSED(-EINVAL, HISTOGRAM, mg_metrics_histogram(&b, NULL, 0, up, cum_down, 2, 0, 2));
	REFUSED(-EINVAL, HISTOGRAM, mg_metrics_histogram(&b, NULL, 0, up, cum_ok, 2, 0, 1));
	REFUSED(-EINVAL, HISTOGRAM, mg_metrics_histogram(&b, NULL, 0, nan, cum_ok, 1, 0, 2));
	REFUSED(-EINVAL, HISTOGRAM, mg_metrics_histogram(&b, NULL, 0, inf, cum_ok, 1, 0, 2));
	REFUSED(-EINVAL, HISTOGRAM, mg_metrics_histogram(&b, NULL, 0, NULL, cum_ok, 1, 0, 2));
#undef REFUSED
#undef COUNTER
#undef GAUGE
#undef HISTOGRAM
}

/* --- promtool --------------------------------------------------------------------------------- */

/* Run `promtool check metrics` on page; its exit status, and what it printed (both streams) in
 * out. A machine without promtool fails here: scripts/setup.sh installs it. */
static int promtool_check(const char *page, char *out, size_t outlen)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char path[256], cmd[512];
	size_t len = 0;
	FILE *p;
	int fd, st;

	if (system("command -v promtool >/dev/null 2>&1") != 0)
		fail_msg(
		    "promtool not found: install Debian's prometheus package (scripts/setup.sh)");
	snprintf(path, sizeof(path), "%s/test_metrics.XXXXXX", tmp);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, page, strlen(page)), (ssize_t)strlen(page));
	close(fd);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' 2>&1", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (len + 1 < outlen) {
		size_t n = fread(out + len, 1, outlen - 1 - len, p);
		if (!n)
			break;
		len += n;
	}
	out[len] = '\0';
	st = pclose(p);
	unlink(path);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* A page like caasd's: counters with labels, gauges (NaN, +Inf), a histogram with two series. */
static int realistic_page(void *arg, struct mg_metrics_buf *b)
{
	const struct mg_histo *h = arg;

	mg_metrics_family(b, "caas_rx_packets_total", MG_METRIC_COUNTER,
	                  "RTP packets received, by port and stream.");
	mg_metrics_counter(b, MG_LABELS({"port", "0"}, {"stream", "cam \"north\"\n\\1"}), 1234567);
	mg_metrics_counter(b, MG_LABELS({"port", "1"}, {"stream", "cam\xc3\xa9ra-2"}), 0);
	mg_metrics_family(b, "caas_rx_bytes_total", MG_METRIC_COUNTER,
	                  "Bytes received, by port.\nIncludes headers; C:\\ \"quoted\".");
	mg_metrics_counter(b, MG_LABELS({"port", "0"}), UINT64_MAX);
	mg_metrics_family(b, "caas_drops_total", MG_METRIC_COUNTER, "Packets dropped, by reason.");
	mg_metrics_counter(b, MG_LABELS({"reason", "late"}), 3);
	mg_metrics_counter(b, MG_LABELS({"reason", "ring_full"}), 0);
	mg_metrics_family(b, "caas_streams", MG_METRIC_GAUGE, "Streams configured.");
	mg_metrics_gauge(b, NULL, 0, 4);
	mg_metrics_family(b, "caas_jitter_seconds", MG_METRIC_GAUGE,
	                  "Interarrival jitter (RFC 3550), by stream.");
	mg_metrics_gauge(b, MG_LABELS({"stream", "a"}), 0.000123);
	mg_metrics_gauge(b, MG_LABELS({"stream", "b"}), NAN);
	mg_metrics_gauge(b, MG_LABELS({"stream", "c"}), INFINITY);
	mg_metrics_gauge(b, MG_LABELS({"stream", "d"}), -1e-300);
	mg_metrics_family(b, "caas_cmd_duration_seconds", MG_METRIC_HISTOGRAM,
	                  "Control command latency.");
	mg_metrics_histo(b, MG_LABELS({"cmd", "device add"}), h);
	mg_metrics_histo(b, MG_LABELS({"cmd", "status"}), h);
	return b->err;
}

static void fill_histo(struct mg_histo *h)
{
	static const double bounds[] = {0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1};
	assert_int_equal(mg_histo_init(h, bounds, sizeof(bounds) / sizeof(bounds[0])), 0);
	for (int i = 0; i < 1000; i++)
		mg_histo_observe(h, (double)(i % 97) / 64.0);
}

static void test_promtool_accepts(void **state)
{
	(void)state;
	struct mg_metrics_buf b;
	struct mg_histo h;
	char out[4096];

	fill_histo(&h);
	mg_metrics_buf_init(&b);
	assert_int_equal(realistic_page(&h, &b), 0);
	assert_int_equal(b.err, 0);
	int rc = promtool_check(b.data, out, sizeof(out));
	if (rc != 0 || out[0])
		fail_msg("promtool exited %d, said:\n%s\non:\n%s", rc, out, b.data);
	mg_metrics_buf_free(&b);
}

static void test_promtool_rejects(void **state)
{
	(void)state;
	struct mg_metrics_buf b;
	char out[4096];

	/* The builder allows a counter without "_total" (0.0.4 does); promtool's lint does not:
	 * status 3, one line naming the family. */
	mg_metrics_buf_init(&b);
	mg_metrics_family(&b, "caas_rx_packets", MG_METRIC_COUNTER, "Packets.");
	mg_metrics_counter(&b, MG_LABELS({"port", "0"}), 1);
	mg_metrics_family(&b, "caas_up", MG_METRIC_GAUGE, NULL);
	mg_metrics_gauge(&b, NULL, 0, 1);
	assert_int_equal(b.err, 0);
	assert_int_equal(promtool_check(b.data, out, sizeof(out)), 3);
	assert_string_equal(out, "caas_rx_packets counter metrics should have \"_total\" suffix\n"
	                         "caas_up no help text\n");
	mg_metrics_buf_free(&b);

	/* What the builder never writes, so that promtool is seen to parse: an unescaped quote in a
	 * label value (status 1). */
	assert_int_equal(
	    promtool_check("# HELP x X.\n# TYPE x gauge\nx{a=\"b\"c\"} 1\n", out, sizeof(out)), 1);
	assert_non_null(strstr(out, "text format parsing error in line 3"));
}

/* --- the server ------------------------------------------------------------------------------- */

struct fx {
	struct mg_metrics *m;
	struct mg_histo h;
	atomic_int calls;
	int fail_with;   /* fill returns this */
	bool bad_sample; /* fill leaves an error in the buffer */
	char *last;      /* the last page fill made */
};

static int fill(void *arg, struct mg_metrics_buf *b)
{
	struct fx *fx = arg;
	int n = atomic_fetch_add(&fx->calls, 1) + 1;

	if (fx->fail_with)
		return fx->fail_with;
	mg_metrics_family(b, "test_scrapes_total", MG_METRIC_COUNTER, "Scrapes so far.");
	mg_metrics_counter(b, NULL, 0, (uint64_t)n);
	realistic_page(&fx->h, b);
	if (fx->bad_sample)
		mg_metrics_gauge(b, NULL, 0, 1); /* the open family is a histogram */
	free(fx->last);
	fx->last = b->data ? strdup(b->data) : NULL;
	return 0;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char err[MG_ERR_MAX];

	assert_non_null(fx);
	fill_histo(&fx->h);
	if (mg_metrics_start(&fx->m, "127.0.0.1:0", fill, fx, err, sizeof(err)))
		fail_msg("mg_metrics_start: %s", err);
	assert_int_not_equal(mg_metrics_port(fx->m), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	mg_metrics_stop(fx->m);
	free(fx->last);
	free(fx);
	return 0;
}

/* A TCP connection to the server, with timeouts so that a broken server fails a test. */
static int tcp_open(int family, uint16_t port)
{
	struct sockaddr_in sa4 = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc;

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (family == AF_INET) {
		sa4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		rc = connect(fd, (struct sockaddr *)&sa4, sizeof(sa4));
	} else {
		sa6.sin6_addr = in6addr_loopback;
		rc = connect(fd, (struct sockaddr *)&sa6, sizeof(sa6));
	}
	if (rc < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

struct reply {
	int status; /* -1: no HTTP answer */
	char *all;  /* head and body, NUL-terminated */
	const char *body;
	size_t body_len;
};

/* Send req on fd and read the answer to the end of the stream. */
static void http_on(int fd, const char *req, struct reply *r)
{
	size_t len = 0, cap = 1 << 16;
	char *sep;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	r->all = malloc(cap);
	assert_non_null(r->all);
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req)) {
		for (;;) {
			if (len + 1 == cap) {
				cap *= 2;
				r->all = realloc(r->all, cap);
				assert_non_null(r->all);
			}
			ssize_t n = recv(fd, r->all + len, cap - 1 - len, 0);
			if (n <= 0)
				break;
			len += (size_t)n;
		}
	}
	r->all[len] = '\0';
	sep = strstr(r->all, "\r\n\r\n");
	if (!sep || sscanf(r->all, "HTTP/1.%*d %d ", &r->status) != 1) {
		r->status = -1;
		return;
	}
	r->body = sep + 4;
	r->body_len = len - (size_t)(r->body - r->all);
}

static void http(int family, uint16_t port, const char *req, struct reply *r)
{
	int fd = tcp_open(family, port);
	if (fd < 0)
		fail_msg("connect to port %u: %s", port, strerror(-fd));
	http_on(fd, req, r);
	close(fd);
}

/* The value of a response header (case-insensitive name), in buf. */
static const char *header(const struct reply *r, const char *name, char *buf, size_t len)
{
	char key[64];
	const char *p, *end;

	snprintf(key, sizeof(key), "\r\n%s:", name);
	p = strcasestr(r->all, key);
	if (!p || p > r->body)
		return NULL;
	p += strlen(key);
	p += strspn(p, " ");
	end = strstr(p, "\r\n");
	snprintf(buf, len, "%.*s", (int)(end - p), p);
	return buf;
}

static void test_serve(void **state)
{
	struct fx *fx = *state;
	uint16_t port = mg_metrics_port(fx->m);
	struct reply r;
	char v[128];

	for (int i = 1; i <= 2; i++) {
		http(AF_INET, port, "GET /metrics HTTP/1.0\r\n\r\n", &r);
		assert_int_equal(r.status, 200);
		assert_string_equal(header(&r, "Content-Type", v, sizeof(v)),
		                    "text/plain; version=0.0.4; charset=utf-8");
		assert_int_equal(atomic_load(&fx->calls), i);
		assert_non_null(fx->last);
		assert_int_equal(r.body_len, strlen(fx->last));
		assert_memory_equal(r.body, fx->last, r.body_len);
		snprintf(v, sizeof(v), "test_scrapes_total %d\n", i);
		assert_non_null(strstr(r.body, v));
		free(r.all);
	}

	/* HTTP/1.1 as Prometheus sends it, with a query string (ignored). */
	http(AF_INET, port,
	     "GET /metrics?x=1 HTTP/1.1\r\nHost: localhost\r\nAccept: text/plain\r\n"
	     "Connection: close\r\n\r\n",
	     &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, strlen(fx->last));
	assert_memory_equal(r.body, fx->last, r.body_len);
	free(r.all);

	/* The page promtool gets from the server passes too. */
	char out[4096];
	http(AF_INET, port, "GET /metrics HTTP/1.0\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(promtool_check(r.body, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	free(r.all);

	/* HEAD: the headers only. */
	http(AF_INET, port, "HEAD /metrics HTTP/1.0\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "Content-Type", v, sizeof(v)),
	                    "text/plain; version=0.0.4; charset=utf-8");
	assert_int_equal(r.body_len, 0);
	free(r.all);
}

static void test_not_found_not_allowed(void **state)
{
	struct fx *fx = *state;
	uint16_t port = mg_metrics_port(fx->m);
	const char *paths[] = {"/other", "/", "/metrics/", "/metricsx", "/Metrics"};
	struct reply r;
	char v[64];

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char req[128];
		snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", paths[i]);
		http(AF_INET, port, req, &r);
		assert_int_equal(r.status, 404);
		free(r.all);
	}
	const char *methods[] = {"POST", "PUT", "DELETE", "OPTIONS"};
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		char req[128];
		snprintf(req, sizeof(req), "%s /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
		         methods[i]);
		http(AF_INET, port, req, &r);
		assert_int_equal(r.status, 405);
		assert_string_equal(header(&r, "Allow", v, sizeof(v)), "GET, HEAD");
		free(r.all);
	}
	/* A body is not read, and does not hang the server. */
	http(AF_INET, port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
	     &r);
	assert_int_equal(r.status, 405);
	free(r.all);
	assert_int_equal(atomic_load(&fx->calls), 0);
}

static void test_fill_fails(void **state)
{
	struct fx *fx = *state;
	uint16_t port = mg_metrics_port(fx->m);
	struct reply r;

	fx->fail_with = -EIO;
	http(AF_INET, port, "GET /metrics HTTP/1.0\r\n\r\n", &r);
	assert_int_equal(r.status, 500);
	assert_non_null(strstr(r.body, "cannot build the page: Input/output error"));
	free(r.all);

	fx->fail_with = 0;
	fx->bad_sample = true;
	http(AF_INET, port, "GET /metrics HTTP/1.0\r\n\r\n", &r);
	assert_int_equal(r.status, 500);
	assert_non_null(strstr(r.body, "cannot build the page: Invalid argument"));
	free(r.all);
	assert_int_equal(atomic_load(&fx->calls), 2);

	fx->bad_sample = false;
	http(AF_INET, port, "GET /metrics HTTP/1.0\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	free(r.all);
}

static void start_err(const char *addr, int want_rc, const char *want_err)
{
	struct mg_metrics *m = (struct mg_metrics *)1;
	char err[MG_ERR_MAX] = "";
	int rc = mg_metrics_start(&m, addr, fill, NULL, err, sizeof(err));

	if (rc != want_rc)
		fail_msg("%s: got %d (%s), want %d", addr, rc, err, want_rc);
	assert_null(m);
	if (!strstr(err, want_err))
		fail_msg("%s: got \"%s\", want \"%s\" in it", addr, err, want_err);
}

static void test_start_errors(void **state)
{
	struct fx *fx = *state;
	char addr[64], want[192];

	start_err(
	    "localhost:9100", -EINVAL,
	    "metrics address \"localhost:9100\": \"localhost\" is not a numeric IPv4 address");
	start_err("127.0.0.1", -EINVAL,
	          "metrics address \"127.0.0.1\": expected ADDR:PORT, or [ADDR]:PORT for IPv6");
	start_err(":9100", -EINVAL, "expected ADDR:PORT");
	start_err("127.0.0.1:", -EINVAL, "metrics address \"127.0.0.1:\": bad port \"\"");
	start_err("127.0.0.1:65536", -EINVAL, "bad port \"65536\"");
	start_err("127.0.0.1:-1", -EINVAL, "bad port \"-1\"");
	start_err("127.0.0.1:80x", -EINVAL, "bad port \"80x\"");
	start_err("127.0.0.1:000009100", -EINVAL, "bad port");
	start_err("127.1:9100", -EINVAL, "\"127.1\" is not a numeric IPv4 address");
	start_err("::1:9100", -EINVAL,
	          "metrics address \"::1:9100\": an IPv6 address goes in brackets, as [::1]:9100");
	start_err("[::1]9100", -EINVAL, "expected ADDR:PORT");
	start_err("[::1", -EINVAL, "expected ADDR:PORT");
	start_err("[]:9100", -EINVAL, "expected ADDR:PORT");
	start_err("[127.0.0.1]:9100", -EINVAL, "\"127.0.0.1\" is not a numeric IPv6 address");
	start_err("[fe80::1%nosuchif0]:9100", -ENODEV, "no interface \"nosuchif0\"");
	start_err(NULL, -EINVAL, "metrics: no address");

	/* The port the fixture's server holds. */
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", mg_metrics_port(fx->m));
	snprintf(want, sizeof(want),
	         "metrics on %s: Failed to bind to port %u: Address already in use", addr,
	         mg_metrics_port(fx->m));
	start_err(addr, -EADDRINUSE, want);
	/* An address this host does not have (TEST-NET-1). */
	start_err("192.0.2.1:0", -EADDRNOTAVAIL, "Cannot assign requested address");
}

/* Bound exactly where asked: [::1] answers on IPv6 loopback; [::] does not take IPv4 too. */
static void test_ipv6(void **state)
{
	(void)state;
	struct fx fx6 = {0};
	struct mg_metrics *m;
	char err[MG_ERR_MAX];
	struct reply r;

	fill_histo(&fx6.h);
	if (mg_metrics_start(&m, "[::1]:0", fill, &fx6, err, sizeof(err)))
		fail_msg("%s", err);
	http(AF_INET6, mg_metrics_port(m), "GET /metrics HTTP/1.0\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, strlen(fx6.last));
	assert_int_equal(tcp_open(AF_INET, mg_metrics_port(m)), -ECONNREFUSED);
	free(r.all);
	mg_metrics_stop(m);

	if (mg_metrics_start(&m, "[::]:0", fill, &fx6, err, sizeof(err)))
		fail_msg("%s", err);
	http(AF_INET6, mg_metrics_port(m), "GET /metrics HTTP/1.0\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	free(r.all);
	assert_int_equal(tcp_open(AF_INET, mg_metrics_port(m)), -ECONNREFUSED);
	mg_metrics_stop(m);
	free(fx6.last);

	mg_metrics_stop(NULL);
}

/* Clients that send nothing neither block a scrape nor, past the connection limit, the server
 * for good; and each is closed after the idle timeout. */
static void test_slow_clients(void **state)
{
	struct fx *fx = *state;
	uint16_t port = mg_metrics_port(fx->m);
	int idle[MG_METRICS_MAX_CONNS];
	struct reply r;
	double t0 = now_s(), t;
	char c;

	idle[0] = tcp_open(AF_INET, port);
	assert_true(idle[0] >= 0);
	http(AF_INET, port, "GET /metrics HTTP/1.0\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	free(r.all);

	/* The limit: with it reached, another client gets no answer (closed, or left waiting). */
	for (int i = 1; i < MG_METRICS_MAX_CONNS; i++) {
		idle[i] = tcp_open(AF_INET, port);
		assert_true(idle[i] >= 0);
	}
	usleep(200 * 1000);
	int fd = tcp_open(AF_INET, port);
	if (fd >= 0) {
		struct timeval tv = {.tv_sec = 1};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		http_on(fd, "GET /metrics HTTP/1.0\r\n\r\n", &r);
		assert_int_equal(r.status, -1);
		free(r.all);
		close(fd);
	}
	for (int i = 1; i < MG_METRICS_MAX_CONNS; i++)
		close(idle[i]);

	/* Room again once they are gone. */
	for (int tries = 0;; tries++) {
		http(AF_INET, port, "GET /metrics HTTP/1.0\r\n\r\n", &r);
		int status = r.status;
		free(r.all);
		if (status == 200)
			break;
		if (tries == 30)
			fail_msg("no answer after the idle clients closed");
		usleep(100 * 1000);
	}

	/* The first idle client is closed after MG_METRICS_TIMEOUT_S of silence. */
	struct timeval tv = {.tv_sec = MG_METRICS_TIMEOUT_S + 5};
	setsockopt(idle[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ssize_t n = recv(idle[0], &c, 1, 0);
	t = now_s() - t0;
	if (n != 0 && !(n < 0 && errno == ECONNRESET))
		fail_msg("idle client: recv %zd (%s) after %.1f s", n, strerror(errno), t);
	if (t < MG_METRICS_TIMEOUT_S - 1 || t > MG_METRICS_TIMEOUT_S + 3)
		fail_msg("idle client closed after %.1f s, want about %d", t, MG_METRICS_TIMEOUT_S);
	close(idle[0]);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_counters_and_gauges),
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_gauge_numbers),
	    cmocka_unit_test(test_histogram_output),
	    cmocka_unit_test(test_histo),
	    cmocka_unit_test(test_histo_reader),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_promtool_accepts),
	    cmocka_unit_test(test_promtool_rejects),
	    T(test_serve),
	    T(test_not_found_not_allowed),
	    T(test_fill_fails),
	    T(test_start_errors),
	    T(test_ipv6),
	    T(test_slow_clients),
	};
#undef T
	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
