/* Evidence manifest tests: keys, appends, reopening, and that verification catches every kind of
 * tampering and names the first broken entry, for Ed25519 and (where OpenSSL has it) SM2. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "record/manifest.h"

#define MAX_LINES 16

struct fx {
	char dir[64];
	char key[128];
	char manifest[128];
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_manifest.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->key, sizeof(fx->key), "%s/sign.pem", fx->dir);
	snprintf(fx->manifest, sizeof(fx->manifest), "%s/manifest.jsonl", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	nftw(fx->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static void put_file(const struct fx *fx, const char *name, const void *data, size_t len)
{
	char path[256];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 16);
	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	return buf;
}

static void spit(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* The manifest as lines (without their newlines); returns how many. */
static int read_lines(const struct fx *fx, char *lines[MAX_LINES])
{
	size_t len;
	char *buf = slurp(fx->manifest, &len), *save = NULL;
	int n = 0;
	for (char *l = strtok_r(buf, "\n", &save); l && n < MAX_LINES;
	     l = strtok_r(NULL, "\n", &save))
		lines[n++] = strdup(l);
	free(buf);
	return n;
}

static void write_lines(const struct fx *fx, char *lines[], int n)
{
	FILE *f = fopen(fx->manifest, "w");
	assert_non_null(f);
	for (int i = 0; i < n; i++) {
		fprintf(f, "%s\n", lines[i]);
		free(lines[i]);
	}
	assert_int_equal(fclose(f), 0);
}

/* A file line named cam1-00000N.ts with content that differs per N. */
static void add_segment(const struct fx *fx, struct rec_manifest *m, int n)
{
	char name[32], data[64], path[256], err[256];
	struct rec_entry e = {.kind = REC_KIND_SEGMENT};
	uint64_t size;

	snprintf(name, sizeof(name), "cam1-%06d.ts", n);
	snprintf(data, sizeof(data), "segment %d payload: some MPEG-TS bytes", n);
	put_file(fx, name, data, strlen(data));
	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	assert_int_equal(rec_file_sha256(path, e.sha256, &size, err, sizeof(err)), 0);
	e.file = name;
	e.size = size;
	e.start_wall_ns = 1700000000000000000LL + n * 6000000000LL;
	e.end_wall_ns = e.start_wall_ns + 5960000000LL;
	e.start_rtp = 4294000000u + (uint64_t)n * 540000u; /* wraps between entries */
	e.end_rtp = (e.start_rtp + 536400u) & 0xffffffffu;
	if (rec_manifest_append(m, &e, err, sizeof(err)))
		fail_msg("append %d: %s", n, err);
}

/* A key and a manifest of the key line and three segments: entries 0..3. */
static struct rec_key *make_three(const struct fx *fx, enum rec_alg alg)
{
	struct rec_manifest *m = NULL;
	struct rec_key *key = NULL;
	char err[256];

	if (rec_key_generate(alg, fx->key, &key, err, sizeof(err)))
		fail_msg("generate: %s", err);
	if (rec_manifest_open(fx->manifest, key, 0, &m, err, sizeof(err)))
		fail_msg("open: %s", err);
	for (int i = 1; i <= 3; i++)
		add_segment(fx, m, i);
	assert_int_equal(rec_manifest_next_seq(m), 4);
	rec_manifest_close(m);
	return key;
}

static int verify(const struct fx *fx, const struct rec_key *trusted, struct rec_verify_result *r,
                  char *msg, size_t len)
{
	msg[0] = '\0';
	return rec_manifest_verify(fx->manifest, NULL, trusted, r, msg, len);
}

static void expect_ok(const struct fx *fx, const struct rec_key *trusted, uint64_t entries)
{
	struct rec_verify_result r;
	char msg[512];
	if (verify(fx, trusted, &r, msg, sizeof(msg)))
		fail_msg("verify: %s", msg);
	assert_int_equal(r.reason, REC_VERIFY_OK);
	assert_int_equal(r.entries, entries);
	assert_true(!strncmp(msg, "OK: ", 4));
}

static void expect_bad(const struct fx *fx, const struct rec_key *trusted, int rc,
                       enum rec_verify_reason why, uint64_t seq, const char *want_msg)
{
	struct rec_verify_result r;
	char msg[512];
	int got = verify(fx, trusted, &r, msg, sizeof(msg));
	if (got != rc || r.reason != why || r.bad_seq != seq || strcmp(msg, want_msg))
		fail_msg(
		    "got rc %d reason %d seq %llu \"%s\", want rc %d reason %d seq %llu \"%s\"",
		    got, r.reason, (unsigned long long)r.bad_seq, msg, rc, why,
		    (unsigned long long)seq, want_msg);
	assert_int_equal(r.entries, seq);
}

/* What a forger without the key can do: change a line and make its hash consistent again. */
static char *rehash_to(const char *line, const char *field, json_t *value)
{
	unsigned char md[32];
	unsigned int mdlen;
	char hex[65], *s, *out;
	json_t *o = json_loads(line, 0, NULL), *c;

	assert_non_null(o);
	json_object_set_new(o, field, value);
	c = json_copy(o);
	json_object_del(c, "hash");
	json_object_del(c, "sig");
	s = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
	assert_int_equal(EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL), 1);
	for (unsigned i = 0; i < mdlen; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	json_object_set_new(o, "hash", json_string(hex));
	out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	free(s);
	json_decref(c);
	json_decref(o);
	return out;
}

static char *rehash(const char *line, const char *field, json_int_t value)
{
	return rehash_to(line, field, json_integer(value));
}

static void test_sha256_vectors(void **state)
{
	struct fx *fx = *state;
	char path[256], hex[65], err[256];
	uint64_t size = 99;

	put_file(fx, "abc", "abc", 3);
	put_file(fx, "empty", "", 0);
	snprintf(path, sizeof(path), "%s/abc", fx->dir);
	assert_int_equal(rec_file_sha256(path, hex, &size, err, sizeof(err)), 0);
	assert_string_equal(hex,
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(size, 3);
	snprintf(path, sizeof(path), "%s/empty", fx->dir);
	assert_int_equal(rec_file_sha256(path, hex, &size, err, sizeof(err)), 0);
	assert_string_equal(hex,
	                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(size, 0);
	snprintf(path, sizeof(path), "%s/none", fx->dir);
	assert_int_equal(rec_file_sha256(path, hex, NULL, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "none: No such file"));
	assert_int_equal(rec_file_sha256(fx->dir, hex, NULL, err, sizeof(err)), -EINVAL);
}

static void test_keys(void **state)
{
	struct fx *fx = *state;
	struct rec_key *k, *again = NULL, *pub = NULL, *none = NULL;
	char pubpath[256], err[256];
	struct stat st;

	assert_int_equal(rec_key_generate(REC_ALG_ED25519, fx->key, &k, err, sizeof(err)), 0);
	assert_int_equal(stat(fx->key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(rec_key_alg(k), REC_ALG_ED25519);
	assert_int_equal(strlen(rec_key_id(k)), 64);
	/* never overwritten: that would orphan what the old key signed */
	assert_int_equal(rec_key_generate(REC_ALG_ED25519, fx->key, &none, err, sizeof(err)),
	                 -EEXIST);
	assert_null(none);

	assert_int_equal(rec_key_load_pem(fx->key, &again, err, sizeof(err)), 0);
	assert_string_equal(rec_key_id(again), rec_key_id(k));
	snprintf(pubpath, sizeof(pubpath), "%s/sign.pub", fx->dir);
	assert_int_equal(rec_key_write_public_pem(k, pubpath, err, sizeof(err)), 0);
	assert_int_equal(rec_key_load_public_pem(pubpath, &pub, err, sizeof(err)), 0);
	assert_string_equal(rec_key_id(pub), rec_key_id(k));
	assert_int_equal(rec_key_load_pem(pubpath, &none, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a PEM private"));
	/* a public key cannot sign */
	struct rec_manifest *m = NULL;
	assert_int_equal(rec_manifest_open(fx->manifest, pub, 0, &m, err, sizeof(err)), -EINVAL);
	assert_int_equal(rec_key_generate((enum rec_alg)7, pubpath, &none, err, sizeof(err)),
	                 -EINVAL);
	rec_key_free(k);
	rec_key_free(again);
	rec_key_free(pub);
}

static void test_verify_ok(void **state)
{
	struct fx *fx = *state;
	struct rec_key *key = make_three(fx, REC_ALG_ED25519), *pub = NULL;
	struct rec_verify_result r;
	char msg[512], pubpath[256], *lines[MAX_LINES];
	int n;

	expect_ok(fx, NULL, 4);
	assert_int_equal(verify(fx, NULL, &r, msg, sizeof(msg)), 0);
	assert_string_equal(r.key_id, rec_key_id(key));
	assert_int_equal(r.alg, REC_ALG_ED25519);
	assert_non_null(strstr(msg, "the manifest's own key"));

	snprintf(pubpath, sizeof(pubpath), "%s/sign.pub", fx->dir);
	assert_int_equal(rec_key_write_public_pem(key, pubpath, msg, sizeof(msg)), 0);
	assert_int_equal(rec_key_load_public_pem(pubpath, &pub, msg, sizeof(msg)), 0);
	expect_ok(fx, pub, 4);

	/* the lines are what manifest.h specifies */
	n = read_lines(fx, lines);
	assert_int_equal(n, 4);
	assert_non_null(strstr(lines[0], "\"kind\":\"key\""));
	assert_non_null(strstr(lines[0], "\"prev\":\"0000000000000000"));
	assert_non_null(strstr(lines[2], "\"file\":\"cam1-000002.ts\""));
	assert_true(!strncmp(lines[0], "{\"alg\":\"ed25519\",\"format\":\"caas-manifest/1\",", 44));
	for (int i = 0; i < n; i++)
		free(lines[i]);
	rec_key_free(pub);
	rec_key_free(key);
}

static void data_flip(const char *path)
{
	size_t len;
	char *data = slurp(path, &len);
	data[len / 2] ^= 0x01;
	spit(path, data, len);
	free(data);
}

static void test_flip_byte_in_segment(void **state)
{
	struct fx *fx = *state;
	struct rec_key *key = make_three(fx, REC_ALG_ED25519);
	char path[256];
	size_t len;
	char *data;

	snprintf(path, sizeof(path), "%s/cam1-000002.ts", fx->dir);
	data = slurp(path, &len);
	data[len / 2] ^= 0x01;
	spit(path, data, len);
	free(data);
	expect_bad(fx, key, -EBADMSG, REC_VERIFY_FILE_SHA256, 2,
	           "entry 2 (cam1-000002.ts): sha256 mismatch");
	rec_key_free(key);
}

static void test_segment_missing_or_resized(void **state)
{
	struct fx *fx = *state;
	struct rec_key *key = make_three(fx, REC_ALG_ED25519);
	char path[256];

	snprintf(path, sizeof(path), "%s/cam1-000003.ts", fx->dir);
	assert_int_equal(truncate(path, 5), 0);
	expect_bad(fx, key, -EBADMSG, REC_VERIFY_FILE_SIZE, 3,
	           "entry 3 (cam1-000003.ts): size mismatch (manifest 37 bytes, file 5)");
	snprintf(path, sizeof(path), "%s/cam1-000001.ts", fx->dir);
	assert_int_equal(unlink(path), 0);
	expect_bad(fx, key, -ENOENT, REC_VERIFY_FILE_MISSING, 1,
	           "entry 1 (cam1-000001.ts): file missing (No such file or directory)");
	rec_key_free(key);
}

/* Retention deletes a segment and says so in a signed "retired" line: verify accepts the
 * absence, but still checks the file if it is there, and a file deleted without such a line
 * is still missing. */
static void test_retired_segment(void **state)
{
	struct fx *fx = *state;
	struct rec_key *key = make_three(fx, REC_ALG_ED25519);
	struct rec_manifest *m = NULL;
	struct rec_entry e = {.kind = REC_KIND_RETIRED, .file = "cam1-000001.ts"};
	char path[256], err[256];
	uint64_t size;

	snprintf(path, sizeof(path), "%s/cam1-000001.ts", fx->dir);
	assert_int_equal(rec_file_sha256(path, e.sha256, &size, err, sizeof(err)), 0);
	e.size = size;
	e.start_wall_ns = 1700000006000000000LL;
	e.end_wall_ns = e.start_wall_ns + 5960000000LL;
	e.note = "retention: age";
	assert_int_equal(rec_manifest_open(fx->manifest, key, 0, &m, err, sizeof(err)), 0);
	assert_int_equal(rec_manifest_append(m, &e, err, sizeof(err)), 0);
	rec_manifest_close(m);

	expect_ok(fx, key, 5); /* retired but still present: checked and fine */
	data_flip(path);
	expect_bad(fx, key, -EBADMSG, REC_VERIFY_FILE_SHA256, 1,
	           "entry 1 (cam1-000001.ts): sha256 mismatch");
	assert_int_equal(unlink(path), 0);
	expect_ok(fx, key, 5);
	snprintf(path, sizeof(path), "%s/cam1-000002.ts", fx->dir);
	assert_int_equal(unlink(path), 0);
	expect_bad(fx, key, -ENOENT, REC_VERIFY_FILE_MISSING, 2,
	           "entry 2 (cam1-000002.ts): file missing (No such file or directory)");
	rec_key_free(key);
}

static void test_delete_middle_entry(void **state)
{
	struct fx *fx = *state;
	struct rec_key *key = make_three(fx, REC_ALG_ED25519);
	char *lines[MAX_LINES];
	int n = read_lines(fx, lines);

	free(lines[2]);
	lines[2] = lines[3];
	write_lines(fx, lines, n - 1);
	expect_bad(fx, key, -EBADMSG, REC_VERIFY_MISSING, 2,
	           "entry 2: missing (chain broken: entry 3's prev does not match entry 1's hash)");
	rec_key_free(key);
}

static void test_edit_size_breaks_hash(void **state)
{
	struct fx *fx = *state;
	struct rec_key *key = make_three(fx, REC_ALG_ED25519);
	char *lines[MAX_LINES], *p;
	int n = read_lines(fx, lines);

	p = strstr(lines[3], "\"size\":37,");
	assert_non_null(p);
	p[8] = '8'; /* 37 -> 38: still canonical JSON */
	write_lines(fx, lines, n);
	expect_bad(fx, key, -EBADMSG, REC_VERIFY_HASH, 3,
	           "entry 3 (cam1-000003.ts): hash mismatch (the entry was altered)");
	rec_key_free(key);
}

static void test_forged_hash_breaks_signature(void **state)
{
	struct fx *fx = *state;
	struct rec_key *key = make_three(fx, REC_ALG_ED25519);
	char *lines[MAX_LINES], *forged;
	int n = read_lines(fx, lines);

	forged = rehash(lines[3], "size", 39);
	free(lines[3]);
	lines[3] = forged;
	write_lines(fx, lines, n);
	expect_bad(fx, key, -EBADMSG, REC_VERIFY_SIG, 3, "entry 3 (cam1-000003.ts): bad signature");
	/* the manifest's own key does not rescue it either */
	expect_bad(fx, NULL, -EBADMSG, REC_VERIFY_SIG, 3,
	           "entry 3 (cam1-000003.ts): bad signature");
	rec_key_free(key);
}

static void test_prev_relinked(void **state)
{
	struct fx *fx = *state;
	struct rec_key *key = make_three(fx, REC_ALG_ED25519);
	char *lines[MAX_LINES], *forged, zeros[65];
	int n = read_lines(fx, lines);

	memset(zeros, '0', 64);
	zeros[64] = '\0';
	forged = rehash_to(lines[2], "prev", json_string(zeros));
	free(lines[2]);
	lines[2] = forged;
	write_lines(fx, lines, n);
	expect_bad(fx, key, -EBADMSG, REC_VERIFY_CHAIN, 2,
	           "entry 2 (cam1-000002.ts): chain broken (prev does not match entry 1's hash)");
	rec_key_free(key);
}

static void test_wrong_public_key(void **state)
{
	struct fx *fx = *state;
	struct rec_key *key = make_three(fx, REC_ALG_ED25519), *other = NULL;
	char path[256], err[256], want[256];
	struct rec_manifest *m = NULL;

	snprintf(path, sizeof(path), "%s/other.pem", fx->dir);
	assert_int_equal(rec_key_generate(REC_ALG_ED25519, path, &other, err, sizeof(err)), 0);
	snprintf(want, sizeof(want),
	         "entry 0: bad signature (the manifest names key %.16s, checked with trusted key "
	         "%.16s)",
	         rec_key_id(key), rec_key_id(other));
	expect_bad(fx, other, -EBADMSG, REC_VERIFY_SIG, 0, want);
	/* nor may another key extend it */
	assert_int_equal(rec_manifest_open(fx->manifest, other, 0, &m, err, sizeof(err)),
	                 -EKEYREJECTED);
	assert_null(m);
	assert_non_null(strstr(err, "signed with key"));
	rec_key_free(other);
	rec_key_free(key);
}

static void test_reopen_continues_chain(void **state)
{
	struct fx *fx = *state;
	struct rec_key *key = make_three(fx, REC_ALG_ED25519);
	struct rec_manifest *m = NULL, *m2 = NULL;
	char err[256], head[65], *lines[MAX_LINES];
	int n;

	n = read_lines(fx, lines);
	assert_int_equal(n, 4);
	assert_int_equal(rec_manifest_open(fx->manifest, key, 0, &m, err, sizeof(err)), 0);
	assert_int_equal(rec_manifest_next_seq(m), 4);
	snprintf(head, sizeof(head), "\"hash\":\"%s\"", rec_manifest_head(m));
	assert_non_null(strstr(lines[3], head));
	/* a second writer would fork the chain */
	assert_int_equal(rec_manifest_open(fx->manifest, key, 0, &m2, err, sizeof(err)), -EBUSY);
	add_segment(fx, m, 4);
	rec_manifest_close(m);
	for (int i = 0; i < n; i++)
		free(lines[i]);
	expect_ok(fx, key, 5);
	assert_int_equal(read_lines(fx, lines), 5);
	snprintf(head, sizeof(head), "\"prev\":\"%.40s", strstr(lines[3], "\"hash\":\"") + 8);
	assert_non_null(strstr(lines[4], head));
	for (int i = 0; i < 5; i++)
		free(lines[i]);
	rec_key_free(key);
}

static void test_open_refuses_damaged(void **state)
{
	struct fx *fx = *state;
	struct rec_key *key = make_three(fx, REC_ALG_ED25519);
	struct rec_manifest *m = NULL;
	char *lines[MAX_LINES], *forged, err[256];
	int n = read_lines(fx, lines);

	forged = rehash(lines[3], "size", 39);
	free(lines[3]);
	lines[3] = forged;
	write_lines(fx, lines, n);
	/* a chain that is whole but whose head is not signed by us is not extended */
	assert_int_equal(
	    rec_manifest_open(fx->manifest, key, REC_MANIFEST_CUT_TORN, &m, err, sizeof(err)),
	    -EBADMSG);
	assert_non_null(strstr(err, "entry 3: bad signature"));
	rec_key_free(key);
}

static void test_torn_last_line(void **state)
{
	struct fx *fx = *state;
	struct rec_key *key = make_three(fx, REC_ALG_ED25519);
	struct rec_entry e = {.kind = REC_KIND_RECOVERED};
	struct rec_manifest *m = NULL;
	char err[256], path[256];
	size_t len;
	char *buf = slurp(fx->manifest, &len);
	static const char torn[] = "{\"end_rtp\":123,\"end_wall_ns\":17000000";

	/* a crash in the middle of an append's write */
	memcpy(buf + len, torn, sizeof(torn) - 1);
	spit(fx->manifest, buf, len + sizeof(torn) - 1);
	free(buf);
	expect_bad(fx, key, -EBADMSG, REC_VERIFY_TORN, 4,
	           "entry 4: torn last line (37 bytes without a newline: a crash during an append; "
	           "recovery cuts it)");
	assert_int_equal(rec_manifest_open(fx->manifest, key, 0, &m, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "torn last line"));

	/* recovery: cut it, then account for the file that entry was about */
	assert_int_equal(
	    rec_manifest_open(fx->manifest, key, REC_MANIFEST_CUT_TORN, &m, err, sizeof(err)), 0);
	assert_int_equal(rec_manifest_cut_bytes(m), 37);
	assert_int_equal(rec_manifest_next_seq(m), 4);
	put_file(fx, "cam1-000004.ts", "recovered prefix", 16);
	snprintf(path, sizeof(path), "%s/cam1-000004.ts", fx->dir);
	assert_int_equal(rec_file_sha256(path, e.sha256, &e.size, err, sizeof(err)), 0);
	e.file = "cam1-000004.ts";
	e.note = "torn tail of 1316 bytes cut";
	assert_int_equal(rec_manifest_append(m, &e, err, sizeof(err)), 0);
	rec_manifest_close(m);
	expect_ok(fx, key, 5);
	rec_key_free(key);
}

static void test_malformed_lines(void **state)
{
	struct fx *fx = *state;
	struct rec_key *key = make_three(fx, REC_ALG_ED25519);
	char *lines[MAX_LINES], *tmp;
	size_t len;
	char *good = slurp(fx->manifest, &len);
	int n = read_lines(fx, lines);
	json_t *o;

	/* the same JSON with whitespace: not the bytes that were hashed */
	o = json_loads(lines[1], 0, NULL);
	free(lines[1]);
	lines[1] = json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(0));
	for (char *p = lines[1]; *p; p++)
		if (*p == '\n')
			*p = ' ';
	json_decref(o);
	write_lines(fx, lines, n);
	expect_bad(fx, key, -EBADMSG, REC_VERIFY_SYNTAX, 1,
	           "entry 1: line 2 is not in canonical form");

	/* a field the format does not define, even with a consistent hash */
	spit(fx->manifest, good, len);
	n = read_lines(fx, lines);
	tmp = rehash(lines[1], "extra", 1);
	free(lines[1]);
	lines[1] = tmp;
	write_lines(fx, lines, n);
	expect_bad(fx, key, -EBADMSG, REC_VERIFY_SYNTAX, 1,
	           "entry 1 (cam1-000001.ts): unknown field \"extra\"");

	spit(fx->manifest, good, len);
	n = read_lines(fx, lines);
	free(lines[2]);
	lines[2] = strdup("not json");
	write_lines(fx, lines, n);
	expect_bad(fx, key, -EBADMSG, REC_VERIFY_SYNTAX, 2,
	           "entry 2: line 3 is not a JSON object: '[' or '{' expected near 'not'");

	/* a kind that is not a string */
	spit(fx->manifest, good, len);
	n = read_lines(fx, lines);
	tmp = rehash(lines[2], "kind", 1);
	free(lines[2]);
	lines[2] = tmp;
	write_lines(fx, lines, n);
	expect_bad(fx, key, -EBADMSG, REC_VERIFY_SYNTAX, 2,
	           "entry 2 (cam1-000002.ts): kind is not a string");

	/* two lines swapped */
	spit(fx->manifest, good, len);
	n = read_lines(fx, lines);
	tmp = lines[1];
	lines[1] = lines[2];
	lines[2] = tmp;
	write_lines(fx, lines, n);
	expect_bad(fx, key, -EBADMSG, REC_VERIFY_MISSING, 1,
	           "entry 1: missing (chain broken: entry 2's prev does not match entry 0's hash)");

	/* a line repeated */
	spit(fx->manifest, good, len);
	n = read_lines(fx, lines);
	lines[n] = strdup(lines[n - 1]);
	write_lines(fx, lines, n + 1);
	expect_bad(fx, key, -EBADMSG, REC_VERIFY_ORDER, 4,
	           "entry 4: out of order (line 5 holds entry 3)");

	spit(fx->manifest, "", 0);
	expect_bad(fx, key, -EBADMSG, REC_VERIFY_EMPTY, 0,
	           "entry 0: manifest is empty (no key line)");
	free(good);
	rec_key_free(key);
}

static void test_append_rejects_bad_entries(void **state)
{
	struct fx *fx = *state;
	struct rec_key *key = NULL;
	struct rec_manifest *m = NULL;
	char err[256];
	struct rec_entry e = {.kind = REC_KIND_JOURNAL, .file = "j/cam1-000001.journal", .size = 1};
	static const char *const bad_names[] = {"",          "/etc/passwd", "../x",
	                                        "a/../../x", "a/..",        "tab\tname"};

	memset(e.sha256, 'a', 64);
	assert_int_equal(rec_key_generate(REC_ALG_ED25519, fx->key, &key, err, sizeof(err)), 0);
	assert_int_equal(rec_manifest_open(fx->manifest, key, 0, &m, err, sizeof(err)), 0);
	assert_int_equal(rec_manifest_append(m, &e, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		struct rec_entry b = e;
		b.file = bad_names[i];
		assert_int_equal(rec_manifest_append(m, &b, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "relative name"));
	}
	e.sha256[3] = 'A';
	assert_int_equal(rec_manifest_append(m, &e, err, sizeof(err)), -EINVAL);
	e.sha256[3] = 'a';
	e.end_wall_ns = -1;
	assert_int_equal(rec_manifest_append(m, &e, err, sizeof(err)), -EINVAL);
	e.end_wall_ns = 0;
	e.kind = (enum rec_kind)9;
	assert_int_equal(rec_manifest_append(m, &e, err, sizeof(err)), -EINVAL);
	assert_int_equal(rec_manifest_next_seq(m), 2);
	rec_manifest_close(m);
	rec_key_free(key);
}

static void test_sm2_sm3(void **state)
{
	struct fx *fx = *state;
	struct rec_key *key = NULL, *loaded = NULL;
	char err[256], path[256], *lines[MAX_LINES], *forged;
	int rc = rec_key_generate(REC_ALG_SM2_SM3, fx->key, &key, err, sizeof(err));
	size_t len;
	char *data;
	int n;

	if (rc == -EOPNOTSUPP) {
		assert_non_null(strstr(err, "cannot generate sm2-sm3 keys"));
		skip();
	}
	assert_int_equal(rc, 0);
	rec_key_free(key);
	unlink(fx->key);
	key = make_three(fx, REC_ALG_SM2_SM3);
	assert_int_equal(rec_key_alg(key), REC_ALG_SM2_SM3);
	assert_int_equal(rec_key_load_pem(fx->key, &loaded, err, sizeof(err)), 0);
	assert_int_equal(rec_key_alg(loaded), REC_ALG_SM2_SM3);
	assert_string_equal(rec_key_id(loaded), rec_key_id(key));
	expect_ok(fx, NULL, 4);
	expect_ok(fx, loaded, 4);
	n = read_lines(fx, lines);
	assert_non_null(strstr(lines[0], "\"alg\":\"sm2-sm3\""));
	forged = rehash(lines[2], "size", 1);
	free(lines[2]);
	lines[2] = forged;
	write_lines(fx, lines, n);
	expect_bad(fx, key, -EBADMSG, REC_VERIFY_SIG, 2, "entry 2 (cam1-000002.ts): bad signature");

	/* and the file checks are the same */
	rec_key_free(key);
	unlink(fx->key);
	unlink(fx->manifest);
	key = make_three(fx, REC_ALG_SM2_SM3);
	snprintf(path, sizeof(path), "%s/cam1-000001.ts", fx->dir);
	data = slurp(path, &len);
	data[0] ^= 0x80;
	spit(path, data, len);
	free(data);
	expect_bad(fx, key, -EBADMSG, REC_VERIFY_FILE_SHA256, 1,
	           "entry 1 (cam1-000001.ts): sha256 mismatch");
	rec_key_free(loaded);
	rec_key_free(key);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_sha256_vectors),
	    T(test_keys),
	    T(test_verify_ok),
	    T(test_flip_byte_in_segment),
	    T(test_segment_missing_or_resized),
	    T(test_retired_segment),
	    T(test_delete_middle_entry),
	    T(test_edit_size_breaks_hash),
	    T(test_forged_hash_breaks_signature),
	    T(test_prev_relinked),
	    T(test_wrong_public_key),
	    T(test_reopen_continues_chain),
	    T(test_open_refuses_damaged),
	    T(test_torn_last_line),
	    T(test_malformed_lines),
	    T(test_append_rejects_bad_entries),
	    T(test_sm2_sm3),
	};
	return cmocka_run_group_tests_name("manifest", tests, NULL, NULL);
}
