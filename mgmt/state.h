/* caasd's registry on disk: what operators configured at run time (devices, pools, experts,
 * recording choices) kept in one JSON file, rewritten atomically after each change and replayed
 * at start, so that a restart or a power cut brings the same box back. */
#ifndef CAAS_MGMT_STATE_H
#define CAAS_MGMT_STATE_H

#include <stddef.h>

#include <jansson.h>

/*
 * The file: {"format": "caas-state/1", "SECTION": {"NAME": ARGS, ...}, ...}, where SECTION is a
 * kind of object ("devices", "pools", "experts") and ARGS the canonical arguments of the command
 * that creates it (what `caasctl --json` would send), in the order objects were added (replay
 * order). Written to PATH.tmp, fsynced, renamed over PATH, directory fsynced: a crash leaves
 * the old file or the new one.
 */

struct mg_state;

/* Load path (an absent file is an empty registry). -EBADMSG when it is not a state file (err
 * says where), else a negative errno. path NULL or "": a registry that is never saved. */
int mg_state_open(const char *path, struct mg_state **out, char *err, size_t errlen);
void mg_state_close(struct mg_state *st);

/* The objects of a section, NAME -> ARGS, in insertion order (borrowed; never NULL). */
json_t *mg_state_section(struct mg_state *st, const char *section);

/* Set (add or replace) and save. While replaying (see below) nothing is saved. */
int mg_state_put(struct mg_state *st, const char *section, const char *name, const json_t *args,
                 char *err, size_t errlen);
/* Change one argument of an existing object and save (no-op if it does not exist). */
int mg_state_set_arg(struct mg_state *st, const char *section, const char *name, const char *key,
                     json_t *value, char *err, size_t errlen);
/* Remove and save (no-op if absent). */
int mg_state_del(struct mg_state *st, const char *section, const char *name, char *err,
                 size_t errlen);

/*
 * Replay at start: begin returns what the file held (a new reference; iterate its sections in
 * the caller's order and run each object's command) and empties the registry; the handlers being
 * replayed put back what succeeds, in memory only; end saves once, so an object that can no
 * longer be created (its port taken, a bad value from an older version) drops out.
 */
json_t *mg_state_begin_replay(struct mg_state *st);
int mg_state_end_replay(struct mg_state *st, char *err, size_t errlen);

#endif
