/* Small helpers the record library shares (see util.h). */
#include "record/util.h"

#include <stdarg.h>
#include <stdio.h>

int rec_errf(int rc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return rc;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}
