/* One way to fill an error buffer and return the errno with it, for every mgmt and caasd
 * function that reports "what went wrong" to its caller as text. */
#ifndef CAAS_MGMT_ERR_H
#define CAAS_MGMT_ERR_H

#include <stddef.h>

/* Format into err (errlen bytes) and return rc, so that "return mg_errf(-EINVAL, ...)" reads. */
int mg_errf(int rc, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
