/* Small helpers the record library shares. */
#ifndef CAAS_RECORD_UTIL_H
#define CAAS_RECORD_UTIL_H

#include <stddef.h>

/* Format a message into err (when err and errlen allow) and return rc: the library's way of
 * failing with a negative errno and a reason. */
__attribute__((format(printf, 4, 5))) int rec_errf(int rc, char *err, size_t errlen,
                                                   const char *fmt, ...);

#endif
