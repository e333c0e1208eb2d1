/* Constants that caasd and caasctl must agree on: where the control socket lives, its
 * permissions, the protocol's limits and the version both sides report. */
#ifndef CAAS_MGMT_DEFAULTS_H
#define CAAS_MGMT_DEFAULTS_H

#ifndef MG_VERSION
#define MG_VERSION "0.1.0"
#endif

/* Bumped when the wire format or a command's arguments change incompatibly. */
#define MG_PROTOCOL_VERSION 1

#define MG_DEFAULT_SOCKET "/run/caas/caasd.sock"
#define MG_SOCKET_ENV     "CAAS_SOCKET"
#define MG_SOCKET_MODE    0660

#define MG_CTL_MAX_CLIENTS    64
#define MG_CTL_MAX_REQUEST    65536 /* bytes in one request line, without its newline */
#define MG_CLIENT_MAX_REPLY   (64u << 20)
#define MG_DEFAULT_TIMEOUT_MS 5000

/* Longest error message a reply carries (a handler's err buffer is this big). */
#define MG_ERR_MAX 256

#endif
