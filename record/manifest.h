/* The evidence manifest: a hash-chained, signed log of every sealed recording file, its signing
 * keys, its durable appends and its verifier. This header is the format's specification. */
#ifndef CAAS_RECORD_MANIFEST_H
#define CAAS_RECORD_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

/*
 * FORMAT "caas-manifest/1"
 *
 * A manifest is a JSON Lines file: UTF-8, one JSON object per line, each line ended by "\n".
 * Every line is in canonical form: jansson's json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS), i.e.
 * no whitespace, keys sorted bytewise, integers in decimal, no reals. A line that is not exactly
 * the canonical form of what it parses to is rejected, so the bytes hashed are reproducible by
 * any verifier from the parsed object.
 *
 * Every line has:
 *   seq   integer, 0 for the first line, then each line one more than the line before
 *   kind  "key" (line 0 only, and only there), "segment", "journal", "recovered" or "retired"
 *   prev  hash of the previous line; 64 "0" for line 0
 *   hash  lowercase hex SHA-256 of the canonical form of the line without "hash" and "sig"
 *   sig   lowercase hex signature, by the manifest's key, of the ASCII message
 *         "caas-manifest/1 " followed by the 64 hex digits of "hash" (80 bytes, no newline)
 *
 * Line 0 (kind "key") also has:
 *   format  "caas-manifest/1"
 *   alg     "ed25519": pure Ed25519 (RFC 8032) over the message;
 *           "sm2-sm3": SM2 signature with SM3 (GB/T 32918, GM/T 0009 ID "1234567812345678"),
 *           DER-encoded
 *   pubkey  hex of the DER SubjectPublicKeyInfo of the signing key
 *   key_id  hex SHA-256 of those DER bytes (the key's fingerprint)
 *
 * File lines (segment, journal, recovered, retired) also have:
 *   file           path relative to the manifest's directory; not absolute, no ".." component
 *   size           bytes
 *   sha256         lowercase hex SHA-256 of the file's contents
 *   start_wall_ns  CLOCK_REALTIME of the first media in the file, ns since the Unix epoch
 *   end_wall_ns    likewise of the last (>= start_wall_ns)
 *   start_rtp      RTP timestamp of the first media (32-bit, or extended to 64 bits; < 2^63)
 *   end_rtp        likewise of the last; may be below start_rtp when a 32-bit timestamp wrapped
 *   note           optional text, e.g. what recovery cut ("torn tail of 1316 bytes cut")
 * Any other key makes the line invalid: a verifier must not vouch for fields it does not know.
 *
 * A "retired" line records that retention deleted a file listed earlier: it repeats that file's
 * name, size, sha256 and times, and note says why ("retention: age", "retention: disk full").
 * A verifier does not look for a retired file (nor for the earlier lines that name it) when it is
 * absent; when it is still present (a crash between the line and the unlink) it is checked.
 *
 * Every line is signed, so each durable prefix of the manifest (what survives a crash) ends in
 * a signed head. The chain and file digests are SHA-256 whatever the alg; "sm2-sm3" changes only
 * the signature, which hashes the message with SM3 as SM2 requires.
 *
 * What verification proves: with the site's public key (or its key_id compared by the operator),
 * that every listed file is unchanged, and that no line was altered, inserted, reordered or
 * removed before the last one. It cannot tell that trailing lines were removed: compare the head
 * seq and hash it reports with a record kept elsewhere (the recorder should log each new head).
 * Verifying without a trusted key only proves the manifest is consistent with its own key line.
 *
 * Independent check of one line, without this code: the hash is reproduced by Python's
 * json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False) of the line minus hash
 * and sig, and printf 'caas-manifest/1 %s' HASH > msg; echo SIG | xxd -r -p > sig openssl pkeyutl
 * -verify -pubin -inkey pub.pem -rawin -in msg -sigfile sig checks an ed25519 signature; add
 * "-digest sm3 -pkeyopt distid:1234567812345678" for sm2-sm3.
 *
 * Appends are one write(2) of the whole line on an O_APPEND descriptor, then fdatasync. A crash
 * during an append leaves at most one torn last line (no "\n"): the entry it held was never
 * durable, so the file it described is still unsealed as far as the manifest goes. Recovery opens
 * the manifest with REC_MANIFEST_CUT_TORN, which cuts the torn line, and then appends a
 * "recovered" entry for each file it recovers, including the one the torn line described.
 */

#define REC_HASH_HEX_LEN 64 /* SHA-256 in hex, without the terminating NUL */
#define REC_FORMAT       "caas-manifest/1"

enum rec_alg {
	REC_ALG_ED25519,
	REC_ALG_SM2_SM3,
};

/* The alg's name in the format ("ed25519", "sm2-sm3"). */
const char *rec_alg_name(enum rec_alg alg);
/* 0 and *alg set, or -EINVAL for an unknown name. */
int rec_alg_parse(const char *name, enum rec_alg *alg);

/* A signing key (private) or a verification key (public only). */
struct rec_key;

/* Create a private key and write it as PKCS#8 PEM to path with mode 0600; an existing file is
 * never overwritten (-EEXIST). -EOPNOTSUPP when this OpenSSL lacks the algorithm. */
int rec_key_generate(enum rec_alg alg, const char *path, struct rec_key **out, char *err,
                     size_t errlen);
/* Load a PEM private key (Ed25519 or SM2). */
int rec_key_load_pem(const char *path, struct rec_key **out, char *err, size_t errlen);
/* Load a PEM public key ("BEGIN PUBLIC KEY"), to verify with. */
int rec_key_load_public_pem(const char *path, struct rec_key **out, char *err, size_t errlen);
/* Write the public half as PEM SubjectPublicKeyInfo (mode 0644, replacing an existing file). */
int rec_key_write_public_pem(const struct rec_key *key, const char *path, char *err, size_t errlen);
enum rec_alg rec_key_alg(const struct rec_key *key);
/* Hex SHA-256 of the DER SubjectPublicKeyInfo, as in the key line's "key_id". */
const char *rec_key_id(const struct rec_key *key);
void rec_key_free(struct rec_key *key);

enum rec_kind {
	REC_KIND_SEGMENT,
	REC_KIND_JOURNAL,
	REC_KIND_RECOVERED,
	REC_KIND_RETIRED,
};

/* What the caller supplies for one file line; seq, prev, hash and sig are the manifest's job. */
struct rec_entry {
	enum rec_kind kind;
	const char *file; /* relative to the manifest's directory */
	uint64_t size;
	char sha256[REC_HASH_HEX_LEN + 1];
	int64_t start_wall_ns, end_wall_ns;
	uint64_t start_rtp, end_rtp;
	const char *note; /* NULL for none */
};

/* Stream a file through SHA-256; hex gets 64 digits and a NUL, *size (if not NULL) its length. */
int rec_file_sha256(const char *path, char hex[REC_HASH_HEX_LEN + 1], uint64_t *size, char *err,
                    size_t errlen);

/* An open manifest, appended to by one thread of one process (an flock enforces the process). */
struct rec_manifest;

/* rec_manifest_open flags */
#define REC_MANIFEST_CUT_TORN 0x1u /* cut a torn last line (see above) instead of failing */

/*
 * Open path for appending, creating it (and its key line) when absent. An existing manifest is
 * checked before anything is added: every line's form, seq, prev and hash, that its key is
 * `key`, and the signature of the last line (which, through the chain, covers all before it).
 * Files are not re-hashed here; that is rec_manifest_verify's job.
 * Errors: -EBADMSG for a damaged manifest (err names the first bad entry), -EKEYREJECTED when it
 * was signed with another key, -EBUSY when another process has it open, else a negative errno.
 */
int rec_manifest_open(const char *path, struct rec_key *key, unsigned flags,
                      struct rec_manifest **out, char *err, size_t errlen);
/* Durably append one file line. After a failed write or fdatasync the manifest refuses further
 * appends (-EIO): reopen it, which also finds out what reached the disk. */
int rec_manifest_append(struct rec_manifest *m, const struct rec_entry *e, char *err,
                        size_t errlen);
uint64_t rec_manifest_next_seq(const struct rec_manifest *m);
/* Hash of the last line: the chain head. */
const char *rec_manifest_head(const struct rec_manifest *m);
/* Bytes of torn last line that rec_manifest_open cut (0 if none). */
uint64_t rec_manifest_cut_bytes(const struct rec_manifest *m);
void rec_manifest_close(struct rec_manifest *m);

enum rec_verify_reason {
	REC_VERIFY_OK,
	REC_VERIFY_IO,           /* the manifest could not be read */
	REC_VERIFY_EMPTY,        /* no lines at all */
	REC_VERIFY_TORN,         /* last line without "\n": a crash during an append */
	REC_VERIFY_SYNTAX,       /* not JSON, not canonical, or wrong fields */
	REC_VERIFY_MISSING,      /* seq skips: lines were removed */
	REC_VERIFY_ORDER,        /* seq goes back or repeats */
	REC_VERIFY_CHAIN,        /* prev is not the previous line's hash */
	REC_VERIFY_HASH,         /* hash does not recompute */
	REC_VERIFY_KEY,          /* key line unusable */
	REC_VERIFY_SIG,          /* signature does not verify with the key */
	REC_VERIFY_FILE_MISSING, /* referenced file absent or unreadable */
	REC_VERIFY_FILE_SIZE,
	REC_VERIFY_FILE_SHA256,
};

struct rec_verify_result {
	enum rec_verify_reason reason;
	uint64_t entries;                  /* lines that passed every check */
	uint64_t bad_seq;                  /* the first broken entry, when reason != OK */
	unsigned long bad_line;            /* its 1-based line number */
	char bad_file[256];                /* its file, "" if none or unknown */
	char head[REC_HASH_HEX_LEN + 1];   /* hash of the last good line */
	char key_id[REC_HASH_HEX_LEN + 1]; /* the key the lines were checked with */
	enum rec_alg alg;
};

/*
 * Check everything: each line's form, seq, prev, hash and signature, and each file's existence,
 * size and SHA-256 (files relative to base_dir, or to the manifest's directory when NULL).
 * trusted NULL verifies with the manifest's own key line (and reports its key_id to compare).
 * Returns 0 with "OK: ..." in msg, or a negative errno with the first broken entry in out and a
 * message such as "entry 7 (cam1-000007.ts): sha256 mismatch": -EBADMSG for a damaged manifest
 * or file, -ENOENT for a missing file, -EIO and the like when reading fails.
 */
int rec_manifest_verify(const char *path, const char *base_dir, const struct rec_key *trusted,
                        struct rec_verify_result *out, char *msg, size_t msglen);

#endif
