/* mg_errf(): see err.h. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

int mg_errf(int rc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}
