/* The evidence manifest: signing keys, durable hash-chained appends, and the verifier behind
 * `caasctl record verify`. The format is specified in manifest.h. */
#include "record/util.h"
#include "record/manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define HEX_LEN     REC_HASH_HEX_LEN
#define SIG_MAX     128 /* Ed25519: 64 bytes; SM2: DER, at most 72 */
#define SIG_HEX_MAX (2 * SIG_MAX)
#define MSG_PREFIX  REC_FORMAT " "
#define MSG_LEN     (sizeof(MSG_PREFIX) - 1 + HEX_LEN)
#define DER_MAX     1024
#define READ_CHUNK  (256 * 1024)
#define SHOWN_LEN   64
#define JSON_CANON  (JSON_COMPACT | JSON_SORT_KEYS)

/* GM/T 0009-2012's default signer ID; set explicitly, as OpenSSL versions differ in defaults. */
static const char SM2_ID[] = "1234567812345678";
static const char ZERO_HASH[HEX_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct rec_key {
	EVP_PKEY *pkey;
	enum rec_alg alg;
	bool has_private;
	unsigned char *der; /* SubjectPublicKeyInfo */
	size_t der_len;
	char id[HEX_LEN + 1];
};

struct rec_manifest {
	int fd;
	struct rec_key *key; /* borrowed: the caller keeps it until rec_manifest_close */
	uint64_t next_seq;
	char head[HEX_LEN + 1];
	uint64_t size; /* bytes known good; a failed append is cut back to this */
	uint64_t cut;
	int failed; /* errno of a failed append; the file's state is then unknown */
	char path[PATH_MAX];
};

/* OpenSSL queues errors per thread; report the latest and leave the queue empty for the next. */
static const char *ossl_reason(char buf[160])
{
	unsigned long e = ERR_peek_last_error();
	if (e)
		ERR_error_string_n(e, buf, 160);
	else
		snprintf(buf, 160, "unknown OpenSSL error");
	ERR_clear_error();
	return buf;
}

/* Text from a damaged manifest, quoted back to an operator's terminal. */
static const char *shown(const char *s, char buf[SHOWN_LEN])
{
	size_t i = 0;
	for (; s[i] && i < SHOWN_LEN - 4; i++)
		buf[i] = (unsigned char)s[i] >= 0x20 && s[i] != 0x7f ? s[i] : '?';
	if (s[i]) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

static void to_hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* upper case too: one spelling per value keeps lines canonical */
}

/* Lowercase hex of at most max bytes; -1 when it is not that. */
static int from_hex(const char *s, unsigned char *out, size_t max, size_t *n)
{
	size_t len = strlen(s);
	if (!len || len % 2 || len / 2 > max)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	*n = len / 2;
	return 0;
}

static bool is_hash_hex(const char *s)
{
	size_t i = 0;
	for (; s[i]; i++)
		if (hexval(s[i]) < 0)
			return false;
	return i == HEX_LEN;
}

static int sha256_hex(const void *p, size_t n, char out[HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) != 1 || len != HEX_LEN / 2) {
		ERR_clear_error();
		return -EIO;
	}
	to_hex(md, len, out);
	return 0;
}

/* A name relative to the manifest's directory that cannot climb out of it. */
static bool valid_file_name(const char *f)
{
	size_t n = strlen(f);
	if (!n || n >= sizeof(((struct rec_verify_result *)0)->bad_file) || f[0] == '/')
		return false;
	for (const char *p = f; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	for (const char *c = f; c; c = strchr(c, '/')) {
		if (*c == '/')
			c++;
		if (!strncmp(c, "..", 2) && (c[2] == '/' || c[2] == '\0'))
			return false;
	}
	return true;
}

/* The directory holding path: where its relative file names start, and what to fsync. */
static void dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, len, ".");
	else if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

/* ---- keys ------------------------------------------------------------------------------------ */

const char *rec_alg_name(enum rec_alg alg)
{
	switch (alg) {
	case REC_ALG_ED25519:
		return "ed25519";
	case REC_ALG_SM2_SM3:
		return "sm2-sm3";
	}
	return "?";
}

int rec_alg_parse(const char *name, enum rec_alg *alg)
{
	if (!strcmp(name, "ed25519"))
		*alg = REC_ALG_ED25519;
	else if (!strcmp(name, "sm2-sm3"))
		*alg = REC_ALG_SM2_SM3;
	else
		return -EINVAL;
	return 0;
}

void rec_key_free(struct rec_key *key)
{
	if (!key)
		return;
	EVP_PKEY_free(key->pkey);
	OPENSSL_free(key->der);
	free(key);
}

/* Take ownership of pkey (freed on failure too) and derive what the format records about it. */
static int key_wrap(EVP_PKEY *pkey, bool has_private, struct rec_key **out, const char *what,
                    char *err, size_t errlen)
{
	char ebuf[160];
	struct rec_key *k = calloc(1, sizeof(*k));
	int n;

	if (!k) {
		EVP_PKEY_free(pkey);
		return rec_errf(-ENOMEM, err, errlen, "%s: out of memory", what);
	}
	k->pkey = pkey;
	k->has_private = has_private;
	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		k->alg = REC_ALG_ED25519;
	} else if (EVP_PKEY_is_a(pkey, "SM2")) {
		k->alg = REC_ALG_SM2_SM3;
	} else {
		rec_key_free(k);
		return rec_errf(-EINVAL, err, errlen,
		            "%s: a %s key; manifests are signed with ed25519 or sm2", what,
		            EVP_PKEY_get0_type_name(pkey));
	}
	n = i2d_PUBKEY(pkey, &k->der);
	if (n <= 0 || n > DER_MAX) {
		rec_key_free(k);
		return rec_errf(-EINVAL, err, errlen, "%s: cannot encode the public key: %s", what,
		            ossl_reason(ebuf));
	}
	k->der_len = (size_t)n;
	if (sha256_hex(k->der, k->der_len, k->id)) {
		rec_key_free(k);
		return rec_errf(-EIO, err, errlen, "%s: SHA-256 unavailable", what);
	}
	*out = k;
	return 0;
}

/* Never prompt on a terminal from a daemon: an encrypted key simply fails to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int rec_key_generate(enum rec_alg alg, const char *path, struct rec_key **out, char *err,
                     size_t errlen)
{
	char ebuf[160];
	const char *type = alg == REC_ALG_ED25519   ? "ED25519"
	                   : alg == REC_ALG_SM2_SM3 ? "SM2"
	                                            : NULL;
	EVP_PKEY *pkey;
	FILE *f;
	int fd, rc;

	if (!type)
		return rec_errf(-EINVAL, err, errlen, "%s: unknown key algorithm %d", path, (int)alg);
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, type);
	if (!pkey)
		return rec_errf(
		    -EOPNOTSUPP, err, errlen,
		    "%s: this OpenSSL cannot generate %s keys (%s); is its provider loaded?", path,
		    rec_alg_name(alg), ossl_reason(ebuf));
	/* O_EXCL: overwriting a key would orphan every manifest it signed. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		EVP_PKEY_free(pkey);
		return rec_errf(rc, err, errlen, "%s: %s", path, strerror(-rc));
	}
	f = fdopen(fd, "w");
	if (!f) {
		rc = -errno;
		close(fd);
		goto undo;
	}
	rc = PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) == 1 ? 0 : -EIO;
	if (!rc && (fflush(f) || fsync(fileno(f))))
		rc = -errno;
	if (fclose(f) && !rc)
		rc = -errno;
	if (!rc)
		return key_wrap(pkey, true, out, path, err, errlen);
undo:
	unlink(path);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return rec_errf(rc, err, errlen, "%s: cannot write the key: %s", path, strerror(-rc));
}

static int key_load(const char *path, bool private_key, struct rec_key **out, char *err,
                    size_t errlen)
{
	char ebuf[160];
	EVP_PKEY *pkey;
	FILE *f = fopen(path, "re");
	int rc;

	if (!f) {
		rc = -errno;
		return rec_errf(rc, err, errlen, "%s: %s", path, strerror(-rc));
	}
	pkey = private_key ? PEM_read_PrivateKey(f, NULL, no_passphrase, NULL)
	                   : PEM_read_PUBKEY(f, NULL, no_passphrase, NULL);
	fclose(f);
	if (!pkey)
		return rec_errf(-EINVAL, err, errlen, "%s: not a PEM %s key: %s", path,
		            private_key ? "private (or it is encrypted)" : "public",
		            ossl_reason(ebuf));
	return key_wrap(pkey, private_key, out, path, err, errlen);
}

int rec_key_load_pem(const char *path, struct rec_key **out, char *err, size_t errlen)
{
	return key_load(path, true, out, err, errlen);
}

int rec_key_load_public_pem(const char *path, struct rec_key **out, char *err, size_t errlen)
{
	return key_load(path, false, out, err, errlen);
}

int rec_key_write_public_pem(const struct rec_key *key, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "we");
	int rc;

	if (!f) {
		rc = -errno;
		return rec_errf(rc, err, errlen, "%s: %s", path, strerror(-rc));
	}
	rc = PEM_write_PUBKEY(f, key->pkey) == 1 ? 0 : -EIO;
	if (!rc && (fflush(f) || fsync(fileno(f))))
		rc = -errno;
	if (fclose(f) && !rc)
		rc = -errno;
	ERR_clear_error();
	if (rc)
		return rec_errf(rc, err, errlen, "%s: cannot write the public key: %s", path,
		            strerror(-rc));
	return 0;
}

enum rec_alg rec_key_alg(const struct rec_key *key)
{
	return key->alg;
}

const char *rec_key_id(const struct rec_key *key)
{
	return key->id;
}

/* ---- signatures ------------------------------------------------------------------------------ */

static void sig_message(const char *hash, char msg[MSG_LEN + 1])
{
	snprintf(msg, MSG_LEN + 1, "%s%s", MSG_PREFIX, hash);
}

/* One EVP_MD_CTX set up for either direction; SM2 also needs SM3 and its signer ID. */
static int sig_init(const struct rec_key *k, bool sign, EVP_MD_CTX **ctxp)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD *md = NULL;
	int ok;

	if (!ctx)
		return -ENOMEM;
	if (k->alg == REC_ALG_SM2_SM3) {
		md = EVP_MD_fetch(NULL, "SM3", NULL);
		if (!md) {
			EVP_MD_CTX_free(ctx);
			return -EOPNOTSUPP;
		}
	}
	ok = sign ? EVP_DigestSignInit(ctx, &pctx, md, NULL, k->pkey)
	          : EVP_DigestVerifyInit(ctx, &pctx, md, NULL, k->pkey);
	if (ok == 1 && k->alg == REC_ALG_SM2_SM3)
		ok = EVP_PKEY_CTX_set1_id(pctx, SM2_ID, sizeof(SM2_ID) - 1);
	EVP_MD_free(md);
	if (ok != 1) {
		EVP_MD_CTX_free(ctx);
		return -EINVAL;
	}
	*ctxp = ctx;
	return 0;
}

static int sign_hash(const struct rec_key *k, const char *hash, char sighex[SIG_HEX_MAX + 1],
                     char *err, size_t errlen)
{
	char msg[MSG_LEN + 1], ebuf[160];
	unsigned char sig[SIG_MAX];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx;
	int rc = sig_init(k, true, &ctx);

	if (!rc) {
		sig_message(hash, msg);
		if (EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)msg, MSG_LEN) != 1)
			rc = -EINVAL;
		EVP_MD_CTX_free(ctx);
	}
	if (rc)
		return rec_errf(rc, err, errlen, "cannot sign with %s key %.16s: %s",
		            rec_alg_name(k->alg), k->id, ossl_reason(ebuf));
	to_hex(sig, siglen, sighex);
	return 0;
}

/* 0 when the signature verifies, -EBADMSG when it does not, else why it could not be checked. */
static int verify_hash(const struct rec_key *k, const char *hash, const char *sighex)
{
	char msg[MSG_LEN + 1];
	unsigned char sig[SIG_MAX];
	size_t siglen;
	EVP_MD_CTX *ctx;
	int rc;

	if (from_hex(sighex, sig, sizeof(sig), &siglen))
		return -EBADMSG;
	rc = sig_init(k, false, &ctx);
	if (rc) {
		ERR_clear_error();
		return rc;
	}
	sig_message(hash, msg);
	rc = EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)msg, MSG_LEN) == 1
	         ? 0
	         : -EBADMSG;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

/* ---- lines ----------------------------------------------------------------------------------- */

/* The "hash" of a line: SHA-256 of its canonical form without "hash" and "sig". */
static int line_hash(json_t *obj, char out[HEX_LEN + 1])
{
	json_t *c = json_copy(obj);
	char *s;
	int rc;

	if (!c)
		return -ENOMEM;
	json_object_del(c, "hash");
	json_object_del(c, "sig");
	s = json_dumps(c, JSON_CANON);
	json_decref(c);
	if (!s)
		return -ENOMEM;
	rc = sha256_hex(s, strlen(s), out);
	free(s);
	return rc;
}

static const char *const KIND_NAMES[] = {
    [REC_KIND_SEGMENT] = "segment",
    [REC_KIND_JOURNAL] = "journal",
    [REC_KIND_RECOVERED] = "recovered",
    [REC_KIND_RETIRED] = "retired",
};

static const char *const KEY_FIELDS[] = {"seq",    "kind", "prev",   "hash",   "sig",
                                         "format", "alg",  "pubkey", "key_id", NULL};
static const char *const FILE_FIELDS[] = {
    "seq",    "kind",          "prev",        "hash",      "sig",     "file", "size",
    "sha256", "start_wall_ns", "end_wall_ns", "start_rtp", "end_rtp", NULL};

static const char *str_field(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Integers in the format are all 0..2^63-1. */
static bool uint_field(json_t *o, const char *k, uint64_t *v)
{
	json_t *j = json_object_get(o, k);
	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return false;
	*v = (uint64_t)json_integer_value(j);
	return true;
}

/* Exactly the fields the kind defines, each of its type; NULL when right, else what is wrong. */
static const char *check_fields(json_t *o, bool key_line, char *buf, size_t len)
{
	const char *const *names = key_line ? KEY_FIELDS : FILE_FIELDS;
	size_t want = 0;
	const char *k, *s;
	uint64_t v, a, b;
	json_t *val;

	for (; names[want]; want++)
		if (!json_object_get(o, names[want])) {
			snprintf(buf, len, "field \"%s\" missing", names[want]);
			return buf;
		}
	if (!key_line && json_object_get(o, "note")) {
		if (!json_is_string(json_object_get(o, "note")))
			return "field \"note\" is not a string";
		want++;
	}
	if (json_object_size(o) != want) {
		json_object_foreach(o, k, val)
		{
			bool known = !key_line && !strcmp(k, "note");
			for (size_t i = 0; names[i] && !known; i++)
				known = !strcmp(k, names[i]);
			if (!known) {
				char b1[SHOWN_LEN];
				snprintf(buf, len, "unknown field \"%s\"", shown(k, b1));
				return buf;
			}
		}
	}
	if (!str_field(o, "kind"))
		return "kind is not a string";
	if (!(s = str_field(o, "prev")) || !is_hash_hex(s))
		return "prev is not a SHA-256 in hex";
	if (!(s = str_field(o, "hash")) || !is_hash_hex(s))
		return "hash is not a SHA-256 in hex";
	if (!str_field(o, "sig"))
		return "sig is not a string";
	if (key_line) {
		enum rec_alg alg;
		if (!(s = str_field(o, "format")) || strcmp(s, REC_FORMAT))
			return "format is not \"" REC_FORMAT "\"";
		if (!(s = str_field(o, "alg")) || rec_alg_parse(s, &alg))
			return "alg is not ed25519 or sm2-sm3";
		if (!str_field(o, "pubkey"))
			return "pubkey is not a string";
		if (!(s = str_field(o, "key_id")) || !is_hash_hex(s))
			return "key_id is not a SHA-256 in hex";
		return NULL;
	}
	if (!(s = str_field(o, "file")) || !valid_file_name(s))
		return "file is not a relative name inside the manifest's directory";
	if (!uint_field(o, "size", &v))
		return "size is not a byte count";
	if (!(s = str_field(o, "sha256")) || !is_hash_hex(s))
		return "sha256 is not a SHA-256 in hex";
	if (!uint_field(o, "start_wall_ns", &a) || !uint_field(o, "end_wall_ns", &b) || b < a)
		return "start_wall_ns..end_wall_ns is not a time range";
	if (!uint_field(o, "start_rtp", &a) || !uint_field(o, "end_rtp", &b))
		return "start_rtp or end_rtp is not an RTP timestamp";
	return NULL;
}

/* ---- walking a manifest ---------------------------------------------------------------------- */

/* One pass over the lines, shared by open (no file checks, last signature only) and verify. */
struct walk {
	const struct rec_key *trusted; /* verify: the operator's key; open: the writer's key */
	bool every_sig;
	bool same_key_required;     /* open: a manifest by another key is not ours to extend */
	const char *base_dir;       /* NULL: do not look at the files */
	json_t *retired;            /* verify: files a "retired" line names, as object keys */
	struct rec_key *line_key;   /* from line 0 */
	const struct rec_key *vkey; /* what signatures are checked with */
	uint64_t seq;               /* expected next */
	char head[HEX_LEN + 1];
	char last_sig[SIG_HEX_MAX + 1];
	size_t good_bytes;
	unsigned long line;
	struct rec_verify_result *out;
	char *msg;
	size_t msglen;
};

__attribute__((format(printf, 6, 7))) static int bad(struct walk *w, int rc,
                                                     enum rec_verify_reason why, uint64_t seq,
                                                     const char *file, const char *fmt, ...)
{
	char what[512], b[SHOWN_LEN];
	va_list ap;

	w->out->reason = why;
	w->out->bad_seq = seq;
	w->out->bad_line = w->line;
	snprintf(w->out->bad_file, sizeof(w->out->bad_file), "%s", file ? file : "");
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (file && *file)
		return rec_errf(rc, w->msg, w->msglen, "entry %" PRIu64 " (%s): %s", seq,
		            shown(file, b), what);
	return rec_errf(rc, w->msg, w->msglen, "entry %" PRIu64 ": %s", seq, what);
}

static int check_file(struct walk *w, uint64_t seq, json_t *o)
{
	const char *file = str_field(o, "file");
	char path[PATH_MAX], hex[HEX_LEN + 1], ebuf[256];
	uint64_t want_size = 0, size;
	struct stat st;
	int rc;

	uint_field(o, "size", &want_size);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", w->base_dir, file) >= sizeof(path))
		return bad(w, -ENAMETOOLONG, REC_VERIFY_FILE_MISSING, seq, file, "path too long");
	if (stat(path, &st)) {
		if (errno == ENOENT && w->retired && json_object_get(w->retired, file))
			return 0; /* deleted by retention, as a later signed line says */
		return bad(w, -errno, REC_VERIFY_FILE_MISSING, seq, file, "file missing (%s)",
		           strerror(errno));
	}
	if ((uint64_t)st.st_size != want_size)
		return bad(w, -EBADMSG, REC_VERIFY_FILE_SIZE, seq, file,
		           "size mismatch (manifest %" PRIu64 " bytes, file %" PRIu64 ")",
		           want_size, (uint64_t)st.st_size);
	rc = rec_file_sha256(path, hex, &size, ebuf, sizeof(ebuf));
	if (rc)
		return bad(w, rc, REC_VERIFY_FILE_MISSING, seq, file, "%s", ebuf);
	if (size != want_size)
		return bad(w, -EBADMSG, REC_VERIFY_FILE_SIZE, seq, file,
		           "size mismatch (manifest %" PRIu64 " bytes, file %" PRIu64 ")",
		           want_size, size);
	if (strcmp(hex, str_field(o, "sha256")))
		return bad(w, -EBADMSG, REC_VERIFY_FILE_SHA256, seq, file, "sha256 mismatch");
	return 0;
}

/* Line 0: the key that signs every line, which must also be the one we were told to trust. */
static int take_key_line(struct walk *w, json_t *o)
{
	const char *hex = str_field(o, "pubkey");
	unsigned char der[DER_MAX];
	const unsigned char *p = der;
	enum rec_alg alg = REC_ALG_ED25519;
	EVP_PKEY *pkey;
	size_t n;
	char id[HEX_LEN + 1], ebuf[256];
	int rc;

	rec_alg_parse(str_field(o, "alg"), &alg);
	if (from_hex(hex, der, sizeof(der), &n) || !(pkey = d2i_PUBKEY(NULL, &p, (long)n)) ||
	    p != der + n) {
		ERR_clear_error();
		return bad(w, -EBADMSG, REC_VERIFY_KEY, 0, NULL, "pubkey is not a DER public key");
	}
	rc = key_wrap(pkey, false, &w->line_key, "pubkey", ebuf, sizeof(ebuf));
	if (rc)
		return bad(w, -EBADMSG, REC_VERIFY_KEY, 0, NULL, "%s", ebuf);
	if (w->line_key->alg != alg)
		return bad(w, -EBADMSG, REC_VERIFY_KEY, 0, NULL, "pubkey is not an %s key",
		           rec_alg_name(alg));
	if (sha256_hex(der, n, id) || strcmp(id, str_field(o, "key_id")))
		return bad(w, -EBADMSG, REC_VERIFY_KEY, 0, NULL, "key_id is not pubkey's SHA-256");
	if (w->same_key_required && strcmp(id, w->trusted->id))
		return bad(w, -EKEYREJECTED, REC_VERIFY_KEY, 0, NULL,
		           "manifest is signed with key %.16s, not this key %.16s; start a new one",
		           id, w->trusted->id);
	w->vkey = w->trusted ? w->trusted : w->line_key;
	return 0;
}

static int check_sig(struct walk *w, uint64_t seq, const char *file, const char *hash,
                     const char *sig)
{
	int rc = verify_hash(w->vkey, hash, sig);
	if (rc == -EBADMSG && w->vkey != w->line_key && strcmp(w->vkey->id, w->line_key->id))
		return bad(w, rc, REC_VERIFY_SIG, seq, file,
		           "bad signature (the manifest names key %.16s, checked with trusted key "
		           "%.16s)",
		           w->line_key->id, w->vkey->id);
	if (rc == -EBADMSG)
		return bad(w, rc, REC_VERIFY_SIG, seq, file, "bad signature");
	if (rc)
		return bad(w, rc, REC_VERIFY_SIG, seq, file, "cannot check the %s signature (%s)",
		           rec_alg_name(w->vkey->alg), strerror(-rc));
	return 0;
}

static int check_line(struct walk *w, const char *s, size_t n)
{
	char hash[HEX_LEN + 1], why[128];
	const char *file, *prev, *problem;
	json_error_t jerr;
	uint64_t seq;
	char *canon = NULL;
	json_t *o;
	int rc = 0;

	o = json_loadb(s, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o)) {
		rc = bad(w, -EBADMSG, REC_VERIFY_SYNTAX, w->seq, NULL,
		         "line %lu is not a JSON object%s%s", w->line, o ? "" : ": ",
		         o ? "" : jerr.text);
		goto out;
	}
	canon = json_dumps(o, JSON_CANON);
	if (!canon || strlen(canon) != n || memcmp(canon, s, n)) {
		rc = bad(w, -EBADMSG, REC_VERIFY_SYNTAX, w->seq, NULL,
		         "line %lu is not in canonical form", w->line);
		goto out;
	}
	if (!uint_field(o, "seq", &seq)) {
		rc = bad(w, -EBADMSG, REC_VERIFY_SYNTAX, w->seq, NULL, "line %lu has no seq",
		         w->line);
		goto out;
	}
	file = str_field(o, "file");
	prev = str_field(o, "prev");
	if (seq > w->seq) {
		if (w->seq == 0)
			rc = bad(w, -EBADMSG, REC_VERIFY_MISSING, 0, NULL,
			         "missing (the manifest starts at entry %" PRIu64 ")", seq);
		else if (prev && !strcmp(prev, w->head))
			rc = bad(w, -EBADMSG, REC_VERIFY_MISSING, w->seq, NULL,
			         "missing (entry %" PRIu64 " follows entry %" PRIu64 ")", seq,
			         w->seq - 1);
		else
			rc = bad(w, -EBADMSG, REC_VERIFY_MISSING, w->seq, NULL,
			         "missing (chain broken: entry %" PRIu64
			         "'s prev does not match entry %" PRIu64 "'s hash)",
			         seq, w->seq - 1);
		goto out;
	}
	if (seq < w->seq) {
		rc = bad(w, -EBADMSG, REC_VERIFY_ORDER, w->seq, NULL,
		         "out of order (line %lu holds entry %" PRIu64 ")", w->line, seq);
		goto out;
	}
	problem = check_fields(o, !strcmp(str_field(o, "kind") ?: "", "key"), why, sizeof(why));
	if (!problem && (seq == 0) != !strcmp(str_field(o, "kind"), "key"))
		problem = seq == 0 ? "entry 0 is not the key line" : "a key line after entry 0";
	if (!problem && strcmp(str_field(o, "kind"), "key")) {
		bool known = false;
		for (size_t i = 0; i < sizeof(KIND_NAMES) / sizeof(KIND_NAMES[0]); i++)
			known |= !strcmp(str_field(o, "kind"), KIND_NAMES[i]);
		if (!known)
			problem = "kind is not key, segment, journal, recovered or retired";
	}
	if (problem) {
		rc = bad(w, -EBADMSG, REC_VERIFY_SYNTAX, seq,
		         file && valid_file_name(file) ? file : NULL, "%s", problem);
		goto out;
	}
	if (strcmp(prev, w->head)) {
		rc = seq == 0
		         ? bad(w, -EBADMSG, REC_VERIFY_CHAIN, seq, file, "prev is not all zeros")
		         : bad(w, -EBADMSG, REC_VERIFY_CHAIN, seq, file,
		               "chain broken (prev does not match entry %" PRIu64 "'s hash)",
		               seq - 1);
		goto out;
	}
	rc = line_hash(o, hash);
	if (rc) {
		rc = bad(w, rc, REC_VERIFY_IO, seq, file, "cannot hash: %s", strerror(-rc));
		goto out;
	}
	if (strcmp(hash, str_field(o, "hash"))) {
		rc = bad(w, -EBADMSG, REC_VERIFY_HASH, seq, file,
		         "hash mismatch (the entry was altered)");
		goto out;
	}
	if (seq == 0 && (rc = take_key_line(w, o)))
		goto out;
	if (w->every_sig && (rc = check_sig(w, seq, file, hash, str_field(o, "sig"))))
		goto out;
	if (strlen(str_field(o, "sig")) > SIG_HEX_MAX) {
		rc = bad(w, -EBADMSG, REC_VERIFY_SIG, seq, file, "bad signature (too long)");
		goto out;
	}
	snprintf(w->last_sig, sizeof(w->last_sig), "%s", str_field(o, "sig"));
	if (w->base_dir && file && (rc = check_file(w, seq, o)))
		goto out;
	w->seq++;
	memcpy(w->head, hash, sizeof(w->head));
	w->out->entries++;
out:
	free(canon);
	json_decref(o);
	return rc;
}

static int walk_lines(struct walk *w, const char *buf, size_t len)
{
	size_t off = 0;
	int rc;

	memcpy(w->head, ZERO_HASH, sizeof(w->head));
	if (!len)
		return bad(w, -EBADMSG, REC_VERIFY_EMPTY, 0, NULL,
		           "manifest is empty (no key line)");
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		w->line++;
		if (!nl)
			return bad(w, -EBADMSG, REC_VERIFY_TORN, w->seq, NULL,
			           "torn last line (%zu bytes without a newline: a crash during an "
			           "append; recovery cuts it)",
			           len - off);
		rc = check_line(w, buf + off, (size_t)(nl - (buf + off)));
		if (rc)
			return rc;
		off = (size_t)(nl - buf) + 1;
		w->good_bytes = off;
	}
	return 0;
}

/* The files that "retired" lines name. A cheap first pass; the walk checks those lines fully. */
static json_t *retired_files(const char *buf, size_t len)
{
	json_t *set = json_object();
	size_t off = 0;

	while (set && off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) : len - off;
		static const char needle[] = "\"kind\":\"retired\"";
		if (memmem(buf + off, n, needle, sizeof(needle) - 1)) {
			json_t *o = json_loadb(buf + off, n, 0, NULL);
			const char *file = json_is_object(o) ? str_field(o, "file") : NULL;
			if (file)
				json_object_set_new(set, file, json_true());
			json_decref(o);
		}
		off += n + 1;
	}
	return set;
}

static int read_all(int fd, char **bufp, size_t *lenp)
{
	size_t len = 0, cap = 64 * 1024;
	char *buf = malloc(cap), *nbuf;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			nbuf = realloc(buf, cap *= 2);
			if (!nbuf) {
				free(buf);
				return -ENOMEM;
			}
			buf = nbuf;
		}
		n = pread(fd, buf + len, cap - len, (off_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int rc = -errno;
			free(buf);
			return rc;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

/* ---- files ----------------------------------------------------------------------------------- */

int rec_file_sha256(const char *path, char hex[REC_HASH_HEX_LEN + 1], uint64_t *size, char *err,
                    size_t errlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = NULL;
	unsigned char *buf = NULL;
	uint64_t total = 0;
	struct stat st;
	int fd, rc = 0;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		return rec_errf(rc, err, errlen, "%s: %s", path, strerror(-rc));
	}
	if (fstat(fd, &st))
		rc = -errno;
	else if (!S_ISREG(st.st_mode))
		rc = -EINVAL;
	if (rc) {
		close(fd);
		return rec_errf(rc, err, errlen, "%s: %s", path,
		            rc == -EINVAL ? "not a regular file" : strerror(-rc));
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	buf = malloc(READ_CHUNK);
	ctx = EVP_MD_CTX_new();
	if (!buf || !ctx) {
		rc = rec_errf(-ENOMEM, err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		rc = rec_errf(-EIO, err, errlen, "%s: SHA-256 unavailable", path);
		goto out;
	}
	while ((n = read(fd, buf, READ_CHUNK)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			rc = rec_errf(rc, err, errlen, "%s: %s", path, strerror(-rc));
			goto out;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		total += (uint64_t)n;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
		rc = rec_errf(-EIO, err, errlen, "%s: SHA-256 failed", path);
		goto out;
	}
	to_hex(md, mdlen, hex);
	if (size)
		*size = total;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	free(buf);
	close(fd);
	return rc;
}

/* ---- writing --------------------------------------------------------------------------------- */

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	int fd, rc = 0;

	dir_of(path, dir, sizeof(dir));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		rc = -errno;
	close(fd);
	return rc;
}

/* Chain, hash, sign and durably append o (which it consumes). */
static int append_obj(struct rec_manifest *m, json_t *o, char *err, size_t errlen)
{
	char hash[HEX_LEN + 1], sig[SIG_HEX_MAX + 1];
	char *line = NULL;
	size_t n, done = 0;
	int rc;

	if (json_object_set_new(o, "seq", json_integer((json_int_t)m->next_seq)) ||
	    json_object_set_new(o, "prev", json_string(m->head))) {
		rc = rec_errf(-ENOMEM, err, errlen, "%s: out of memory", m->path);
		goto out;
	}
	rc = line_hash(o, hash);
	if (rc) {
		rc = rec_errf(rc, err, errlen, "%s: cannot hash entry %" PRIu64, m->path, m->next_seq);
		goto out;
	}
	rc = sign_hash(m->key, hash, sig, err, errlen);
	if (rc)
		goto out;
	if (json_object_set_new(o, "hash", json_string(hash)) ||
	    json_object_set_new(o, "sig", json_string(sig)) ||
	    !(line = json_dumps(o, JSON_CANON))) {
		rc = rec_errf(-ENOMEM, err, errlen, "%s: out of memory", m->path);
		goto out;
	}
	n = strlen(line);
	line[n++] = '\n'; /* json_dumps's NUL becomes the newline; the length is explicit below */
	/* One write of the whole line: a crash leaves it whole or torn at the tail, never
	 * interleaved. */
	while (done < n) {
		ssize_t w = write(m->fd, line + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = w < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)w;
	}
	if (!rc && fdatasync(m->fd))
		rc = -errno;
	if (rc) {
		/* Cut what may have reached the file; after a failed fdatasync the page cache can
		 * no longer be trusted, so appends stop until a reopen rereads what is on disk. */
		if (done && ftruncate(m->fd, (off_t)m->size) == 0)
			fdatasync(m->fd);
		m->failed = -rc;
		rc = rec_errf(rc, err, errlen, "%s: append of entry %" PRIu64 " failed: %s", m->path,
		          m->next_seq, strerror(-rc));
		goto out;
	}
	m->size += n;
	m->next_seq++;
	memcpy(m->head, hash, sizeof(m->head));
out:
	free(line);
	json_decref(o);
	return rc;
}

static int append_key_line(struct rec_manifest *m, char *err, size_t errlen)
{
	char pub[2 * DER_MAX + 1];
	json_t *o;

	to_hex(m->key->der, m->key->der_len, pub);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", "key", "format", REC_FORMAT, "alg",
	              rec_alg_name(m->key->alg), "pubkey", pub, "key_id", m->key->id);
	if (!o)
		return rec_errf(-ENOMEM, err, errlen, "%s: out of memory", m->path);
	return append_obj(m, o, err, errlen);
}

int rec_manifest_append(struct rec_manifest *m, const struct rec_entry *e, char *err, size_t errlen)
{
	char b[SHOWN_LEN];
	json_t *o;

	if (m->failed)
		return rec_errf(-EIO, err, errlen, "%s: an earlier append failed (%s); reopen it",
		            m->path, strerror(m->failed));
	if ((unsigned)e->kind >= sizeof(KIND_NAMES) / sizeof(KIND_NAMES[0]))
		return rec_errf(-EINVAL, err, errlen, "%s: unknown entry kind %d", m->path,
		            (int)e->kind);
	if (!e->file || !valid_file_name(e->file))
		return rec_errf(
		    -EINVAL, err, errlen,
		    "%s: file \"%s\" is not a relative name inside the manifest's directory",
		    m->path, e->file ? shown(e->file, b) : "");
	if (!is_hash_hex(e->sha256))
		return rec_errf(-EINVAL, err, errlen, "%s: %s: sha256 is not 64 lowercase hex digits",
		            m->path, shown(e->file, b));
	if (e->size > INT64_MAX || e->start_rtp > INT64_MAX || e->end_rtp > INT64_MAX ||
	    e->start_wall_ns < 0 || e->end_wall_ns < e->start_wall_ns)
		return rec_errf(-EINVAL, err, errlen,
		            "%s: %s: size, times or RTP timestamps out of range", m->path,
		            shown(e->file, b));
	o = json_pack("{s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:I}", "kind", KIND_NAMES[e->kind],
	              "file", e->file, "size", (json_int_t)e->size, "sha256", e->sha256,
	              "start_wall_ns", (json_int_t)e->start_wall_ns, "end_wall_ns",
	              (json_int_t)e->end_wall_ns, "start_rtp", (json_int_t)e->start_rtp, "end_rtp",
	              (json_int_t)e->end_rtp);
	if (o && e->note && json_object_set_new(o, "note", json_string(e->note))) {
		json_decref(o);
		o = NULL;
	}
	if (!o)
		return rec_errf(-EINVAL, err, errlen,
		            "%s: %s: cannot encode the entry (file or note not UTF-8?)", m->path,
		            shown(e->file, b));
	return append_obj(m, o, err, errlen);
}

int rec_manifest_open(const char *path, struct rec_key *key, unsigned flags,
                      struct rec_manifest **out, char *err, size_t errlen)
{
	struct rec_verify_result res = {0};
	struct walk w = {0};
	struct rec_manifest *m;
	bool created = false;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (!key->has_private)
		return rec_errf(-EINVAL, err, errlen, "%s: the key has no private half to sign with",
		            path);
	m = calloc(1, sizeof(*m));
	if (!m)
		return rec_errf(-ENOMEM, err, errlen, "%s: out of memory", path);
	m->key = key;
	snprintf(m->path, sizeof(m->path), "%s", path);
	memcpy(m->head, ZERO_HASH, sizeof(m->head));
	m->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (m->fd >= 0)
		created = true;
	else if (errno == EEXIST)
		m->fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
	if (m->fd < 0) {
		rc = rec_errf(-errno, err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	/* Two writers would fork the chain. */
	if (flock(m->fd, LOCK_EX | LOCK_NB)) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		rc = rec_errf(rc, err, errlen, "%s: %s", path,
		          rc == -EBUSY ? "open for writing by another process" : strerror(-rc));
		goto fail;
	}
	if (created && (rc = fsync_dir_of(path))) {
		rc = rec_errf(rc, err, errlen, "%s: cannot make it durable: %s", path, strerror(-rc));
		goto fail;
	}
	rc = read_all(m->fd, &buf, &len);
	if (rc) {
		rc = rec_errf(rc, err, errlen, "%s: %s", path, strerror(-rc));
		goto fail;
	}
	w.trusted = key;
	w.same_key_required = true;
	w.out = &res;
	w.msg = err;
	w.msglen = errlen;
	if (len)
		rc = walk_lines(&w, buf, len);
	if (rc && res.reason == REC_VERIFY_TORN && (flags & REC_MANIFEST_CUT_TORN)) {
		if (ftruncate(m->fd, (off_t)w.good_bytes) || fdatasync(m->fd)) {
			rc = rec_errf(-errno, err, errlen, "%s: cannot cut the torn last line: %s",
			          path, strerror(errno));
			goto fail;
		}
		m->cut = len - w.good_bytes;
		rc = 0;
	}
	if (rc) {
		/* err has "entry N: why"; say which file it is about. */
		char why[256];
		snprintf(why, sizeof(why), "%s", err ? err : "");
		rec_errf(rc, err, errlen, "%s: %s", path, why);
		goto fail;
	}
	/* The chain links every line to the last; its signature vouches for them all. */
	if (w.seq && verify_hash(key, w.head, w.last_sig)) {
		rc = rec_errf(-EBADMSG, err, errlen, "%s: entry %" PRIu64 ": bad signature", path,
		          w.seq - 1);
		goto fail;
	}
	m->next_seq = w.seq;
	m->size = w.good_bytes;
	if (w.seq)
		memcpy(m->head, w.head, sizeof(m->head));
	if (m->next_seq == 0 && (rc = append_key_line(m, err, errlen)))
		goto fail;
	rec_key_free(w.line_key);
	free(buf);
	*out = m;
	return 0;
fail:
	rec_key_free(w.line_key);
	free(buf);
	rec_manifest_close(m);
	return rc;
}

uint64_t rec_manifest_next_seq(const struct rec_manifest *m)
{
	return m->next_seq;
}

const char *rec_manifest_head(const struct rec_manifest *m)
{
	return m->head;
}

uint64_t rec_manifest_cut_bytes(const struct rec_manifest *m)
{
	return m->cut;
}

void rec_manifest_close(struct rec_manifest *m)
{
	if (!m)
		return;
	if (m->fd >= 0)
		close(m->fd);
	free(m);
}

/* ---- verifying ------------------------------------------------------------------------------- */

int rec_manifest_verify(const char *path, const char *base_dir, const struct rec_key *trusted,
                        struct rec_verify_result *out, char *msg, size_t msglen)
{
	char dir[PATH_MAX];
	struct walk w = {0};
	char *buf = NULL;
	size_t len = 0;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	memcpy(out->head, ZERO_HASH, sizeof(out->head));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		out->reason = REC_VERIFY_IO;
		return rec_errf(rc, msg, msglen, "%s: %s", path, strerror(-rc));
	}
	rc = read_all(fd, &buf, &len);
	close(fd);
	if (rc) {
		out->reason = REC_VERIFY_IO;
		return rec_errf(rc, msg, msglen, "%s: %s", path, strerror(-rc));
	}
	if (!base_dir) {
		dir_of(path, dir, sizeof(dir));
		base_dir = dir;
	}
	w.trusted = trusted;
	w.every_sig = true;
	w.base_dir = base_dir;
	w.out = out;
	w.msg = msg;
	w.msglen = msglen;
	w.retired = retired_files(buf, len);
	rc = walk_lines(&w, buf, len);
	json_decref(w.retired);
	memcpy(out->head, w.head, sizeof(out->head));
	if (w.vkey) {
		memcpy(out->key_id, w.vkey->id, sizeof(out->key_id));
		out->alg = w.vkey->alg;
	}
	if (!rc)
		rec_errf(0, msg, msglen,
		     "OK: %" PRIu64 " entries (0..%" PRIu64 "), head %s, %s key %s%s", out->entries,
		     w.seq - 1, w.head, rec_alg_name(out->alg), out->key_id,
		     trusted ? "" : " (the manifest's own key: compare it with the site's)");
	rec_key_free(w.line_key);
	free(buf);
	return rc;
}
