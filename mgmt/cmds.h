/* Command registry: the one table of management commands that caasd binds handlers to and caasctl
 * parses against, and the argument validation both sides share. No I/O, no DPDK. */
#ifndef CAAS_MGMT_CMDS_H
#define CAAS_MGMT_CMDS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum mg_type {
	MG_TYPE_STRING, /* printable text of min..max bytes */
	MG_TYPE_NAME,   /* identifier: [A-Za-z0-9_.-]{1,32}, but not "." or ".." */
	MG_TYPE_INT,    /* decimal integer in min..max (u32 is 0..UINT32_MAX) */
	MG_TYPE_HEX,    /* integer in min..max written in decimal or 0x hex (SSRCs) */
	MG_TYPE_BOOL,   /* yes|no|true|false on the command line, true/false in JSON */
	MG_TYPE_ENUM,   /* one of words[] */
	MG_TYPE_ADDR,   /* "a.b.c.d:port" or "[v6addr]:port", port 1..65535 */
	MG_TYPE_CIDR,   /* "addr/len", IPv4 or IPv6; a bare address is a host prefix */
};

/* struct mg_arg.flags */
#define MG_ARG_REQUIRED   0x1u
#define MG_ARG_POSITIONAL 0x2u /* a bare word, in table order; otherwise an --option */
#define MG_ARG_REST       0x4u /* positional string made of all remaining words, space-joined */
#define MG_ARG_FLAG       0x8u /* bool option that takes no value: "--paused" means true */

/*
 * One argument. In JSON it is the key `name` with a value of its type (integers for INT and HEX,
 * booleans for BOOL, strings otherwise); on the command line it is a positional word or
 * "--name VALUE" / "--name=VALUE", with '_' in the name written '-'.
 */
struct mg_arg {
	const char *name;
	enum mg_type type;
	unsigned flags;
	int64_t min, max;         /* INT, HEX: range; STRING: length in bytes */
	const char *const *words; /* ENUM: NULL-terminated */
	const char *def;          /* default, in command-line syntax; mg_args_check fills it in */
	const char *meta; /* placeholder in the usage line; NULL derives one from the type */
	const char *help;
};

/* struct mg_col.flags */
#define MG_COL_HEX 0x1u /* integers are shown as 0x%08x */

/* A column of a command's human table; also gives units to the same keys of an object result. */
struct mg_col {
	const char *key;
	const char *header;
	const char *unit; /* appended to numbers as is (" ms", "%"), or NULL */
	unsigned flags;
};

/* struct mg_cmd.flags */
#define MG_CMD_LOCAL  0x1u /* answered by this library on both sides (help, version) */
#define MG_CMD_CLIENT 0x2u /* carried out by caasctl itself (reads files); caasd refuses it */

struct mg_cmd {
	const char *name;          /* words separated by single spaces: "device add" */
	const char *help;          /* one line */
	const struct mg_arg *args; /* ends with an entry whose name is NULL; NULL for none */
	const struct mg_col *cols; /* ends with an entry whose key is NULL; NULL for none */
	const char *print_key; /* human output is only this member of the result, printed bare */
	unsigned flags;
};

/* The table, in help order. */
size_t mg_cmd_count(void);
const struct mg_cmd *mg_cmd_at(size_t i);

/* Exact name ("device add"), or NULL. */
const struct mg_cmd *mg_cmd_find(const char *name);

/* The command whose words are the longest prefix of argv. Returns how many words it took and sets
 * *cmd, or returns 0 with *cmd NULL when no command matches. */
int mg_cmd_match(int argc, char *const argv[], const struct mg_cmd **cmd);

/* How an argument is named in messages and usage: "--rtcp-mux" for an option, its placeholder
 * ("NAME") for a positional one. */
void mg_arg_label(const struct mg_arg *a, char *buf, size_t len);

/* Its placeholder: meta, else "h264|h265" for an enum, "yes|no" for a bool, else NAME upcased. */
void mg_arg_meta(const struct mg_arg *a, char *buf, size_t len);

/*
 * Command-line words after the command's own words → a new JSON object of typed values.
 * Defaults are not filled in (the daemon's mg_args_check does that). Returns 0, or -EINVAL with a
 * message such as `device add: --pt: 200 is out of range 0..127` in err.
 */
int mg_args_from_argv(const struct mg_cmd *cmd, int argc, char *const argv[], json_t **args,
                      char *err, size_t errlen);

/*
 * Check a request's args (NULL or JSON null mean none; a member whose value is null is absent)
 * against the command's spec: unknown keys, wrong types, bad values and missing required
 * arguments are errors. On success *out is a new object with canonical values (hex strings as
 * integers, addresses in inet_ntop form) and defaults filled in. Returns 0, or -EINVAL with err.
 */
int mg_args_check(const struct mg_cmd *cmd, const json_t *args, json_t **out, char *err,
                  size_t errlen);

#endif
