/* Running a command from a test: its standard output into a buffer, and the test fails unless
 * it exits 0. For the tests that check files with the tools a user would (ffprobe, ffmpeg,
 * tcpdump). Header-only; include after cmocka.h. */
#ifndef CAAS_TESTS_TRUN_H
#define CAAS_TESTS_TRUN_H

#include <stdarg.h>
#include <stdio.h>

__attribute__((format(printf, 3, 4))) static inline void run(char *out, size_t cap, const char *fmt,
                                                             ...)
{
	char cmd[1024];
	va_list ap;
	FILE *f;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	assert_non_null(f);
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	assert_int_equal(pclose(f), 0);
}

#endif
