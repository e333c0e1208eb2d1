/* caasctl's own commands on recordings (MG_CMD_CLIENT): they read the files on this host, so
 * an auditor can verify or export without a running caasd. */
#ifndef CAAS_MGMT_CAASCTL_RECORD_H
#define CAAS_MGMT_CAASCTL_RECORD_H

#include <stdbool.h>

#include <jansson.h>

/* "record verify" or "record export" with checked args; socket is asked for what the command
 * lacks (the record dir, the camera's address). Prints the outcome; returns the exit status. */
int caasctl_record(const char *cmd, const json_t *args, const char *socket, int timeout_ms,
                   bool json);

#endif
