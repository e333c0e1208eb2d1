/* Command registry tests: the table's consistency, argument parsing and validation of every type
 * from argv and from JSON with their exact messages, help text, and human rendering. */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mgmt/cmds.h"
#include "mgmt/defaults.h"
#include "mgmt/help.h"
#include "mgmt/render.h"

#define MAX_WORDS 32

/* Parse "words" (split on spaces) as the arguments of cmd. */
static int parse(const char *cmd, const char *words, json_t **out, char *err, size_t errlen)
{
	char buf[512], *argv[MAX_WORDS], *save = NULL;
	int argc = 0;
	const struct mg_cmd *c = mg_cmd_find(cmd);
	assert_non_null(c);
	snprintf(buf, sizeof(buf), "%s", words);
	for (char *w = strtok_r(buf, " ", &save); w && argc < MAX_WORDS;
	     w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	err[0] = '\0';
	return mg_args_from_argv(c, argc, argv, out, err, errlen);
}

static void assert_json(const json_t *got, const char *want_text)
{
	json_t *want = json_loads(want_text, JSON_DECODE_ANY, NULL);
	assert_non_null(want);
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
		fail_msg("got %s, want %s", g, want_text);
	}
	json_decref(want);
}

static void argv_ok(const char *cmd, const char *words, const char *want)
{
	char err[256];
	json_t *got = NULL;
	if (parse(cmd, words, &got, err, sizeof(err)))
		fail_msg("%s %s: %s", cmd, words, err);
	assert_json(got, want);
	json_decref(got);
}

static void argv_err(const char *cmd, const char *words, const char *msg)
{
	char err[256];
	json_t *got = NULL;
	assert_int_equal(parse(cmd, words, &got, err, sizeof(err)), -EINVAL);
	assert_null(got);
	assert_string_equal(err, msg);
}

static int check(const char *cmd, const char *args_text, json_t **out, char *err, size_t errlen)
{
	json_t *args = args_text ? json_loads(args_text, JSON_DECODE_ANY, NULL) : NULL;
	if (args_text)
		assert_non_null(args);
	err[0] = '\0';
	int rc = mg_args_check(mg_cmd_find(cmd), args, out, err, errlen);
	json_decref(args);
	return rc;
}

static void check_ok(const char *cmd, const char *args_text, const char *want)
{
	char err[256];
	json_t *got = NULL;
	if (check(cmd, args_text, &got, err, sizeof(err)))
		fail_msg("%s %s: %s", cmd, args_text, err);
	assert_json(got, want);
	json_decref(got);
}

static void check_err(const char *cmd, const char *args_text, const char *msg)
{
	char err[256];
	json_t *got = NULL;
	assert_int_equal(check(cmd, args_text, &got, err, sizeof(err)), -EINVAL);
	assert_null(got);
	assert_string_equal(err, msg);
}

/* A valid JSON value for any argument, to build complete requests from the table alone. */
static json_t *sample(const struct mg_arg *a)
{
	switch (a->type) {
	case MG_TYPE_INT:
	case MG_TYPE_HEX:
		return json_integer(a->min);
	case MG_TYPE_STRING:
		return json_string("x");
	case MG_TYPE_NAME:
		return json_string("cam1");
	case MG_TYPE_BOOL:
		return json_true();
	case MG_TYPE_ENUM:
		return json_string(a->words[0]);
	case MG_TYPE_ADDR:
		return json_string("198.18.0.1:5004");
	case MG_TYPE_CIDR:
		return json_string("198.18.0.0/15");
	}
	return NULL;
}

/* Rules the code relies on but the compiler cannot check in a table of initializers. */
static void test_table_consistent(void **state)
{
	(void)state;
	assert_true(mg_cmd_count() >= 13);
	assert_null(mg_cmd_at(mg_cmd_count()));
	for (size_t i = 0; i < mg_cmd_count(); i++) {
		const struct mg_cmd *c = mg_cmd_at(i);
		assert_non_null(c->name);
		assert_non_null(c->help);
		assert_true(strlen(c->help) > 0);
		assert_null(strstr(c->name, "  "));
		assert_int_not_equal(c->name[0], ' ');
		assert_ptr_equal(mg_cmd_find(c->name), c);
		bool optional_seen = false, rest_seen = false;
		json_t *req = json_object();
		for (const struct mg_arg *a = c->args; a && a->name; a++) {
			assert_non_null(a->help);
			/* caasctl takes --json and --help anywhere on the line. */
			assert_string_not_equal(a->name, "json");
			assert_string_not_equal(a->name, "help");
			for (const struct mg_arg *b = c->args; b != a; b++)
				assert_string_not_equal(a->name, b->name);
			assert_false(rest_seen);
			if (a->flags & MG_ARG_POSITIONAL) {
				if (a->flags & MG_ARG_REQUIRED)
					assert_false(optional_seen);
				else
					optional_seen = true;
				rest_seen = a->flags & MG_ARG_REST;
			}
			if (a->flags & MG_ARG_REST)
				assert_int_equal(a->type, MG_TYPE_STRING);
			if (a->flags & MG_ARG_FLAG)
				assert_int_equal(a->type, MG_TYPE_BOOL);
			if (a->type == MG_TYPE_ENUM)
				assert_non_null(a->words);
			if (a->type == MG_TYPE_INT || a->type == MG_TYPE_HEX ||
			    a->type == MG_TYPE_STRING)
				assert_true(a->min <= a->max);
			if (a->flags & MG_ARG_REQUIRED)
				json_object_set_new(req, a->name, sample(a));
		}
		/* The required arguments alone pass, and every default is a valid value. */
		char err[256] = "";
		json_t *out = NULL;
		if (mg_args_check(c, req, &out, err, sizeof(err)))
			fail_msg("%s: %s", c->name, err);
		for (const struct mg_arg *a = c->args; a && a->name; a++)
			if (a->def)
				assert_non_null(json_object_get(out, a->name));
		json_decref(out);
		json_decref(req);
		/* A table has a header for every column, or is only units for an object. */
		for (const struct mg_col *col = c->cols; col && col->key; col++)
			assert_int_equal(!col->header, !c->cols[0].header);
	}
}

static void test_find_and_match(void **state)
{
	(void)state;
	const struct mg_cmd *c;
	char *dev_add[] = {"device", "add", "cam1", "--port", "5004"};
	char *status[] = {"status"};
	char *sub_sdp[] = {"sub", "sdp", "3"};
	char *device[] = {"device"};
	char *nope[] = {"nope", "add"};
	char *dev_addx[] = {"device", "addx"};

	assert_non_null(mg_cmd_find("device add"));
	assert_null(mg_cmd_find("device"));
	assert_null(mg_cmd_find("device  add"));
	assert_int_equal(mg_cmd_match(5, dev_add, &c), 2);
	assert_string_equal(c->name, "device add");
	assert_int_equal(mg_cmd_match(1, status, &c), 1);
	assert_string_equal(c->name, "status");
	assert_int_equal(mg_cmd_match(3, sub_sdp, &c), 2);
	assert_string_equal(c->name, "sub sdp");
	assert_int_equal(mg_cmd_match(1, device, &c), 0);
	assert_null(c);
	assert_int_equal(mg_cmd_match(2, nope, &c), 0);
	assert_null(c);
	assert_int_equal(mg_cmd_match(2, dev_addx, &c), 0);
	assert_null(c);
	assert_int_equal(mg_cmd_match(0, NULL, &c), 0);

	char buf[64];
	const struct mg_arg *args = mg_cmd_find("device add")->args;
	mg_arg_label(&args[0], buf, sizeof(buf));
	assert_string_equal(buf, "NAME");
	mg_arg_label(&args[7], buf, sizeof(buf));
	assert_string_equal(buf, "--rtcp-mux");
	mg_arg_meta(&args[2], buf, sizeof(buf));
	assert_string_equal(buf, "h264|h265|opus|pcma|pcmu|aac");
	mg_arg_label(&args[7], buf, 6);
	assert_string_equal(buf, "--rtc");
}

static void test_argv_device_add(void **state)
{
	(void)state;
	argv_ok("device add", "cam1 --port 5004 --codec h264 --pt 96",
	        "{\"name\":\"cam1\",\"port\":5004,\"codec\":\"h264\",\"pt\":96}");
	/* Options in any order, before or after the positional, =value and '_' spellings. */
	argv_ok("device add",
	        "--codec=h265 --pt 97 dock-cam.2_B --port=5006 --clock 90000 --src 198.18.0.0/15 "
	        "--ssrc 0xDEADBEEF --rtcp_mux yes",
	        "{\"name\":\"dock-cam.2_B\",\"port\":5006,\"codec\":\"h265\",\"pt\":97,"
	        "\"clock\":90000,\"src\":\"198.18.0.0/15\",\"ssrc\":3735928559,\"rtcp_mux\":true}");
	argv_ok("device del", "-- cam1", "{\"name\":\"cam1\"}");
	argv_ok("status", "", "{}");
	argv_ok("sub del", "4294967295", "{\"id\":4294967295}");
}

static void test_argv_int(void **state)
{
	(void)state;
	const char *base = "cam1 --port 5004 --codec h264 --pt";
	char words[128];
#define PT(v) (snprintf(words, sizeof(words), "%s %s", base, v), words)
	argv_ok("device add", PT("0"),
	        "{\"name\":\"cam1\",\"port\":5004,\"codec\":\"h264\",\"pt\":0}");
	argv_ok("device add", PT("127"),
	        "{\"name\":\"cam1\",\"port\":5004,\"codec\":\"h264\",\"pt\":127}");
	argv_ok("device add", PT("0096"),
	        "{\"name\":\"cam1\",\"port\":5004,\"codec\":\"h264\",\"pt\":96}");
	argv_err("device add", PT("200"), "device add: --pt: 200 is out of range 0..127");
	argv_err("device add", PT("128"), "device add: --pt: 128 is out of range 0..127");
	argv_err("device add", PT("-1"), "device add: --pt: -1 is out of range 0..127");
	argv_err("device add", PT("99999999999999999999"),
	         "device add: --pt: 99999999999999999999 is out of range 0..127");
	argv_err("device add", PT("12x"), "device add: --pt: \"12x\" is not an integer");
	argv_err("device add", PT("0x10"), "device add: --pt: \"0x10\" is not an integer");
	argv_err("device add", PT("+5"), "device add: --pt: \"+5\" is not an integer");
	argv_err("device add",
	         "cam1 --port 5004 --codec h264 --pt=", "device add: --pt: \"\" is not an integer");
#undef PT
	argv_err("device add", "cam1 --port 0", "device add: --port: 0 is out of range 1..65535");
	argv_err("device add", "cam1 --port 65536",
	         "device add: --port: 65536 is out of range 1..65535");
	argv_err("device add", "cam1 --clock 999",
	         "device add: --clock: 999 is out of range 1000..1000000");
	argv_err("sub del", "0", "sub del: ID: 0 is out of range 1..4294967295");
	argv_err("sub del", "4294967296", "sub del: ID: 4294967296 is out of range 1..4294967295");
	argv_err("sub del", "seven", "sub del: ID: \"seven\" is not an integer");
}

static void test_argv_hex(void **state)
{
	(void)state;
	const char *base = "cam1 --port 5004 --codec h264 --pt 96 --ssrc";
	char words[128];
	const char *head =
	    "{\"name\":\"cam1\",\"port\":5004,\"codec\":\"h264\",\"pt\":96,\"ssrc\":";
	char want[160];
#define SSRC(v) (snprintf(words, sizeof(words), "%s %s", base, v), words)
#define WANT(v) (snprintf(want, sizeof(want), "%s%s}", head, v), want)
	argv_ok("device add", SSRC("0xdeadbeef"), WANT("3735928559"));
	argv_ok("device add", SSRC("0XDEADBEEF"), WANT("3735928559"));
	argv_ok("device add", SSRC("0x0"), WANT("0"));
	argv_ok("device add", SSRC("0x00000001"), WANT("1"));
	argv_ok("device add", SSRC("0xffffffff"), WANT("4294967295"));
	argv_ok("device add", SSRC("4294967295"), WANT("4294967295"));
	argv_ok("device add", SSRC("12345"), WANT("12345"));
	argv_err("device add", SSRC("0x100000000"),
	         "device add: --ssrc: 0x100000000 is out of range 0..0xffffffff");
	argv_err("device add", SSRC("0xffffffffffffffffffffff"),
	         "device add: --ssrc: 0xffffffffffffffffffffff is out of range 0..0xffffffff");
	argv_err("device add", SSRC("4294967296"),
	         "device add: --ssrc: 4294967296 is out of range 0..0xffffffff");
	argv_err("device add", SSRC("-1"), "device add: --ssrc: -1 is out of range 0..0xffffffff");
	argv_err("device add", SSRC("0x"),
	         "device add: --ssrc: \"0x\" is not a number (decimal or 0x hex)");
	argv_err("device add", SSRC("0xg1"),
	         "device add: --ssrc: \"0xg1\" is not a number (decimal or 0x hex)");
	argv_err("device add", SSRC("deadbeef"),
	         "device add: --ssrc: \"deadbeef\" is not a number (decimal or 0x hex)");
#undef SSRC
#undef WANT
}

static void test_argv_name_string(void **state)
{
	(void)state;
	argv_ok("device del", "Cam-1.a_B", "{\"name\":\"Cam-1.a_B\"}");
	argv_ok("device del", "abcdefghijklmnopqrstuvwxyz012345",
	        "{\"name\":\"abcdefghijklmnopqrstuvwxyz012345\"}");
	argv_err("device del", "abcdefghijklmnopqrstuvwxyz0123456",
	         "device del: NAME: \"abcdefghijklmnopqrstuvwxyz0123456\" is not a valid name "
	         "(1 to 32 of A-Z a-z 0-9 _ . -)");
	argv_err("device del", "a/b",
	         "device del: NAME: \"a/b\" is not a valid name (1 to 32 of A-Z a-z 0-9 _ . -)");
	argv_err("device del", "..",
	         "device del: NAME: \"..\" is not a valid name (1 to 32 of A-Z a-z 0-9 _ . -)");
	argv_err("device del", "caf\xc3\xa9",
	         "device del: NAME: \"caf??\" is not a valid name (1 to 32 of A-Z a-z 0-9 _ . -)");
	/* Only after "--" can a name start with a dash. */
	argv_ok("device del", "-- -x", "{\"name\":\"-x\"}");
	argv_err("device del", "-x", "device del: unknown option -x");
	/* Quoted values are bounded in messages. */
	argv_err("device del",
	         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	         "device del: NAME: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" is not a "
	         "valid name (1 to 32 of A-Z a-z 0-9 _ . -)");

	/* A REST string: every remaining word, its length bounded, no control characters. */
	argv_ok("help", "device add", "{\"command\":\"device add\"}");
	argv_ok("help", "", "{}");
	char long_topic[80];
	memset(long_topic, 'x', 65);
	long_topic[65] = '\0';
	argv_err("help", long_topic, "help: COMMAND: longer than 64 bytes");
	argv_err("help", "a\tb", "help: COMMAND: contains a control character");
}

static void test_argv_bool_enum_flag(void **state)
{
	(void)state;
	const char *dev = "{\"name\":\"c\",\"port\":1,\"codec\":\"aac\",\"pt\":9,\"rtcp_mux\":";
	char want[128];
	snprintf(want, sizeof(want), "%strue}", dev);
	argv_ok("device add", "c --port 1 --codec aac --pt 9 --rtcp-mux true", want);
	argv_ok("device add", "c --port 1 --codec aac --pt 9 --rtcp-mux=yes", want);
	snprintf(want, sizeof(want), "%sfalse}", dev);
	argv_ok("device add", "c --port 1 --codec aac --pt 9 --rtcp-mux no", want);
	argv_ok("device add", "c --port 1 --codec aac --pt 9 --rtcp_mux false", want);
	argv_err("device add", "c --rtcp-mux maybe",
	         "device add: --rtcp-mux: \"maybe\" is not yes, no, true or false");
	argv_err("device add", "c --rtcp-mux YES",
	         "device add: --rtcp-mux: \"YES\" is not yes, no, true or false");
	argv_err("device add", "c --port 1 --codec aac --pt 9 --rtcp-mux",
	         "device add: --rtcp-mux needs a value");

	argv_err("device add", "c --codec vp8",
	         "device add: --codec: \"vp8\" is not one of h264|h265|opus|pcma|pcmu|aac");
	argv_err("device add", "c --codec H264",
	         "device add: --codec: \"H264\" is not one of h264|h265|opus|pcma|pcmu|aac");

	const char *sub = "{\"stream\":\"cam1\",\"to\":\"198.18.0.1:5004\",\"paused\":";
	snprintf(want, sizeof(want), "%strue}", sub);
	argv_ok("sub add", "cam1 --paused --to 198.18.0.1:5004", want);
	snprintf(want, sizeof(want), "%sfalse}", sub);
	argv_ok("sub add", "cam1 --to 198.18.0.1:5004 --paused=no", want);
	argv_err("sub add", "cam1 --paused=maybe",
	         "sub add: --paused: \"maybe\" is not yes, no, true or false");
	/* A flag takes no value: the next word is the positional. */
	argv_ok("sub add", "--paused cam1 --to 198.18.0.1:5004",
	        "{\"stream\":\"cam1\",\"to\":\"198.18.0.1:5004\",\"paused\":true}");
}

static void to_ok(const char *addr, const char *canon)
{
	char words[128], want[160];
	snprintf(words, sizeof(words), "cam1 --to %s", addr);
	snprintf(want, sizeof(want), "{\"stream\":\"cam1\",\"to\":\"%s\"}", canon);
	argv_ok("sub add", words, want);
}

static void to_err(const char *addr, const char *msg)
{
	char words[128];
	snprintf(words, sizeof(words), "cam1 --to %s", addr);
	argv_err("sub add", words, msg);
}

static void test_argv_addr(void **state)
{
	(void)state;
	to_ok("198.18.0.1:5004", "198.18.0.1:5004");
	to_ok("198.19.255.254:65535", "198.19.255.254:65535");
	to_ok("[2001:db8::1]:5004", "[2001:db8::1]:5004");
	to_ok("[2001:DB8:0:0::1]:1", "[2001:db8::1]:1");
	to_ok("[::ffff:198.18.0.1]:5004", "[::ffff:198.18.0.1]:5004");
	to_ok("198.18.0.1:05004", "198.18.0.1:5004");
	to_err("198.18.0.1", "sub add: --to: \"198.18.0.1\" is not IP:PORT");
	to_err("2001:db8::1:5004",
	       "sub add: --to: \"2001:db8::1:5004\": write an IPv6 address as [addr]:port");
	to_err("[2001:db8::1]5004", "sub add: --to: \"[2001:db8::1]5004\" is not [IPv6]:PORT");
	to_err("[2001:db8::1", "sub add: --to: \"[2001:db8::1\" is not [IPv6]:PORT");
	to_err("[2001:db8::1]:", "sub add: --to: \"[2001:db8::1]:\": port \"\" is not a number");
	to_err("198.18.0.1:http",
	       "sub add: --to: \"198.18.0.1:http\": port \"http\" is not a number");
	to_err("198.18.0.1:0", "sub add: --to: port 0 is out of range 1..65535");
	to_err("198.18.0.1:65536", "sub add: --to: port 65536 is out of range 1..65535");
	to_err("198.18.0.1:99999999999999999999",
	       "sub add: --to: port 99999999999999999999 is out of range 1..65535");
	to_err("198.18.0.256:5004", "sub add: --to: \"198.18.0.256\" is not an IPv4 address");
	to_err("198.18.1:5004", "sub add: --to: \"198.18.1\" is not an IPv4 address");
	to_err("camhost:5004", "sub add: --to: \"camhost\" is not an IPv4 address");
	to_err(":5004", "sub add: --to: \"\" is not an IPv4 address");
	to_err("[198.18.0.1]:5004", "sub add: --to: \"198.18.0.1\" is not an IPv6 address");
	to_err("[fe80::1%eth0]:5004", "sub add: --to: \"fe80::1%eth0\" is not an IPv6 address");
	to_err("[2001:db8:1:2:3:4:5:6:7:8:9:a:b:c:d:e]:5004",
	       "sub add: --to: \"2001:db8:1:2:3:4:5:6:7:8:9:a:b:c:d:e\" is not an IPv6 address");
}

static void src_ok(const char *cidr, const char *canon)
{
	char words[128], want[192];
	snprintf(words, sizeof(words), "c --port 1 --codec h264 --pt 96 --src %s", cidr);
	snprintf(want, sizeof(want),
	         "{\"name\":\"c\",\"port\":1,\"codec\":\"h264\",\"pt\":96,\"src\":\"%s\"}", canon);
	argv_ok("device add", words, want);
}

static void src_err(const char *cidr, const char *msg)
{
	char words[128];
	snprintf(words, sizeof(words), "c --src %s", cidr);
	argv_err("device add", words, msg);
}

static void test_argv_cidr(void **state)
{
	(void)state;
	src_ok("198.18.0.0/15", "198.18.0.0/15");
	src_ok("198.18.0.5", "198.18.0.5/32");
	src_ok("198.18.0.5/32", "198.18.0.5/32");
	src_ok("0.0.0.0/0", "0.0.0.0/0");
	src_ok("2001:DB8::/32", "2001:db8::/32");
	src_ok("2001:db8::1", "2001:db8::1/128");
	src_ok("::/0", "::/0");
	src_ok("2001:db8::/128", "2001:db8::/128");
	src_err("198.18.0.0/33", "device add: --src: prefix 33 is out of range 0..32");
	src_err("198.18.0.0/4294967296",
	        "device add: --src: prefix 4294967296 is out of range 0..32");
	src_err("2001:db8::/129", "device add: --src: prefix 129 is out of range 0..128");
	src_err("198.18.0.1/15", "device add: --src: \"198.18.0.1/15\" has host bits set "
	                         "(the network is 198.18.0.0/15)");
	src_err("2001:db8::1/64", "device add: --src: \"2001:db8::1/64\" has host bits set "
	                          "(the network is 2001:db8::/64)");
	src_err("198.18.0.0/",
	        "device add: --src: \"198.18.0.0/\": prefix length \"\" is not a number");
	src_err("198.18.0.0/-1",
	        "device add: --src: \"198.18.0.0/-1\": prefix length \"-1\" is not a number");
	src_err("198.18.0.0/15/2",
	        "device add: --src: \"198.18.0.0/15/2\": prefix length \"15/2\" is not a number");
	src_err("x/8", "device add: --src: \"x/8\" is not an IPv4 or IPv6 prefix (ADDR/LEN)");
	src_err("/8", "device add: --src: \"/8\" is not an IPv4 or IPv6 prefix (ADDR/LEN)");
	src_err("198.18.0.0:1/8",
	        "device add: --src: \"198.18.0.0:1/8\" is not an IPv4 or IPv6 prefix (ADDR/LEN)");
}

static void test_argv_structure(void **state)
{
	(void)state;
	argv_err("device add", "", "device add: missing NAME");
	argv_err("device add", "cam1", "device add: missing --port");
	argv_err("device add", "cam1 --port 5004 --codec h264", "device add: missing --pt");
	argv_err("device add", "--port 5004 --codec h264 --pt 96", "device add: missing NAME");
	argv_err("device del", "", "device del: missing NAME");
	argv_err("device del", "cam1 cam2", "device del: unexpected argument \"cam2\"");
	argv_err("status", "extra", "status: unexpected argument \"extra\"");
	argv_err("device add", "cam1 --foo 1", "device add: unknown option --foo");
	argv_err("device add", "cam1 --foo=1", "device add: unknown option --foo");
	argv_err("device add", "cam1 -p 5004", "device add: unknown option -p");
	argv_err("device add", "cam1 --name cam2", "device add: unknown option --name");
	argv_err("device add", "cam1 --port 1 --port 2", "device add: --port given twice");
	argv_err("device add", "cam1 --port", "device add: --port needs a value");
	argv_err("sub add", "cam1 --to 198.18.0.1:5004 --paused --paused",
	         "sub add: --paused given twice");
	/* The first error wins, in command-line order. */
	argv_err(
	    "device add", "bad/name --pt 500",
	    "device add: NAME: \"bad/name\" is not a valid name (1 to 32 of A-Z a-z 0-9 _ . -)");
	/* After "--" an option-looking word is a value. */
	argv_err("status", "-- --x", "status: unexpected argument \"--x\"");
	/* A one-letter option is written -o; longer ones only with two dashes. */
	argv_ok("record export", "cam1 -o x.pcap --from now-5m",
	        "{\"stream\":\"cam1\",\"o\":\"x.pcap\",\"from\":\"now-5m\"}");
	argv_ok("record export", "cam1 --o=x.mp4", "{\"stream\":\"cam1\",\"o\":\"x.mp4\"}");
	argv_err("record export", "cam1 -o a -o b", "record export: -o given twice");
	argv_err("record export", "cam1 -from x", "record export: unknown option -from");
	argv_err("record export", "cam1", "record export: missing -o");
}

static void test_check_json(void **state)
{
	(void)state;
	const char *req = "\"name\":\"cam1\",\"port\":5004,\"codec\":\"h264\",\"pt\":96";
	char args[256];
#define ARGS(extra) (snprintf(args, sizeof(args), "{%s%s}", req, extra), args)
	check_ok("device add", ARGS(""),
	         "{\"name\":\"cam1\",\"port\":5004,\"codec\":\"h264\","
	         "\"pt\":96,\"rtcp_mux\":false,\"record\":true}");
	check_ok(
	    "device add",
	    ARGS(",\"ssrc\":\"0xDEADBEEF\",\"src\":\"198.18.0.5\","
	         "\"rtcp_mux\":true,\"clock\":null"),
	    "{\"name\":\"cam1\",\"port\":5004,\"codec\":\"h264\",\"pt\":96,"
	    "\"ssrc\":3735928559,\"src\":\"198.18.0.5/32\",\"rtcp_mux\":true,\"record\":true}");
	check_ok("device add", ARGS(",\"ssrc\":4294967295"),
	         "{\"name\":\"cam1\",\"port\":5004,\"codec\":\"h264\",\"pt\":96,"
	         "\"ssrc\":4294967295,\"rtcp_mux\":false,\"record\":true}");
	check_ok("sub add", "{\"stream\":\"cam1\",\"to\":\"[2001:DB8::1]:5004\"}",
	         "{\"stream\":\"cam1\",\"to\":\"[2001:db8::1]:5004\",\"paused\":false}");
	check_ok("status", NULL, "{}");
	check_ok("status", "null", "{}");
	check_ok("status", "{}", "{}");
	check_ok("help", "{\"command\":\"sub\"}", "{\"command\":\"sub\"}");

	check_err("device add", NULL, "device add: missing name");
	check_err("device add", "{\"name\":\"cam1\",\"port\":5004,\"codec\":\"h264\"}",
	          "device add: missing pt");
	check_err("device add", "{\"name\":\"cam1\",\"port\":5004,\"codec\":\"h264\",\"pt\":null}",
	          "device add: missing pt");
	check_err("device add", "[1]", "device add: \"args\" must be an object");
	check_err("status", "\"x\"", "status: \"args\" must be an object");
	check_err("status", "{\"verbose\":true}", "status: unknown argument \"verbose\"");
	check_err("device add", ARGS(",\"colour\":\"red\""),
	          "device add: unknown argument \"colour\"");
	/* The CLI spelling is not the JSON key. */
	check_err("device add", ARGS(",\"rtcp-mux\":true"),
	          "device add: unknown argument \"rtcp-mux\"");
	check_err("device add",
	          "{\"name\":\"cam1\",\"port\":\"5004\",\"codec\":\"h264\",\"pt\":96}",
	          "device add: port: expected an integer");
	check_err("device add", "{\"name\":\"cam1\",\"port\":5004,\"codec\":\"h264\",\"pt\":9.0}",
	          "device add: pt: expected an integer");
	check_err("device add", "{\"name\":\"cam1\",\"port\":5004,\"codec\":\"h264\",\"pt\":200}",
	          "device add: pt: 200 is out of range 0..127");
	check_err("device add", "{\"name\":5,\"port\":5004,\"codec\":\"h264\",\"pt\":96}",
	          "device add: name: expected a string");
	check_err("device add", "{\"name\":\"../x\",\"port\":5004,\"codec\":\"h264\",\"pt\":96}",
	          "device add: name: \"../x\" is not a valid name (1 to 32 of A-Z a-z 0-9 _ . -)");
	check_err("device add", "{\"name\":\"cam1\",\"port\":5004,\"codec\":\"vp8\",\"pt\":96}",
	          "device add: codec: \"vp8\" is not one of h264|h265|opus|pcma|pcmu|aac");
	check_err("device add", ARGS(",\"rtcp_mux\":\"yes\""),
	          "device add: rtcp_mux: expected true or false");
	check_err("device add", ARGS(",\"ssrc\":1.5"),
	          "device add: ssrc: expected an integer or a \"0x...\" string");
	check_err("device add", ARGS(",\"ssrc\":-1"),
	          "device add: ssrc: -1 is out of range 0..0xffffffff");
	check_err("device add", ARGS(",\"ssrc\":\"0x1ffffffff\""),
	          "device add: ssrc: 0x1ffffffff is out of range 0..0xffffffff");
	check_err("device add", ARGS(",\"src\":\"198.18.0.0/33\""),
	          "device add: src: prefix 33 is out of range 0..32");
	check_err("sub add", "{\"stream\":\"cam1\",\"to\":\"198.18.0.1\"}",
	          "sub add: to: \"198.18.0.1\" is not IP:PORT");
	check_err("sub add", "{\"stream\":\"cam1\",\"to\":\"198.18.0.1:5004\",\"paused\":1}",
	          "sub add: paused: expected true or false");
#undef ARGS

	/* A string with a NUL inside cannot sneak past the C-string checks. */
	json_t *nul = json_pack("{s:s#}", "name", "cam\0../x", (size_t)8);
	json_t *out = NULL;
	char err[256];
	assert_int_equal(mg_args_check(mg_cmd_find("device del"), nul, &out, err, sizeof(err)),
	                 -EINVAL);
	assert_string_equal(err, "device del: name: contains a NUL byte");
	assert_null(out);
	json_decref(nul);
}

/* What caasctl sends, caasd accepts, with the same values. */
static void test_argv_then_check(void **state)
{
	(void)state;
	char err[256];
	json_t *cli = NULL, *daemon = NULL;
	assert_int_equal(parse("device add",
	                       "cam1 --port 5004 --codec opus --pt 111 --ssrc 0x10 "
	                       "--src 2001:db8::/48",
	                       &cli, err, sizeof(err)),
	                 0);
	assert_int_equal(mg_args_check(mg_cmd_find("device add"), cli, &daemon, err, sizeof(err)),
	                 0);
	assert_json(daemon,
	            "{\"name\":\"cam1\",\"port\":5004,\"codec\":\"opus\",\"pt\":111,"
	            "\"ssrc\":16,\"src\":\"2001:db8::/48\",\"rtcp_mux\":false,\"record\":true}");
	json_decref(cli);
	json_decref(daemon);
}

static void test_help_text(void **state)
{
	(void)state;
	char *text = NULL;
	assert_int_equal(mg_help_text("caasctl", "sub add", &text), 0);
	assert_string_equal(
	    text,
	    "usage: caasctl sub add STREAM --to IP:PORT [--rtcp-port P] [--paused] [--rendition "
	    "NAME]\n"
	    "\n"
	    "send a stream to an expert; prints the subscription id\n"
	    "\n"
	    "arguments:\n"
	    "  STREAM                stream to send (1 to 32 of A-Z a-z 0-9 _ . -)\n"
	    "  --to IP:PORT          where the expert receives RTP (IPv6 as [addr]:port)\n"
	    "  --rtcp-port P         the expert's RTCP port; the RTP port + 1 when absent "
	    "(1..65535)\n"
	    "  --paused              create it without sending until \"sub resume\" (default: "
	    "no)\n"
	    "  --rendition NAME      send this rendition of the stream (see rendition add) instead "
	    "of the camera's own (1 to 32 of A-Z a-z 0-9 _ . -)\n");
	free(text);

	assert_int_equal(mg_help_text("caasctl", "device add", &text), 0);
	assert_non_null(strstr(text,
	                       "usage: caasctl device add NAME --port N --codec "
	                       "h264|h265|opus|pcma|pcmu|aac --pt PT [--clock HZ] "
	                       "[--src CIDR] [--ssrc X] [--rtcp-mux yes|no] [--record yes|no] "
	                       "[--talkback-port N]\n"));
	assert_non_null(strstr(text, "  --codec h264|h265|opus|pcma|pcmu|aac\n"
	                             "                        what the camera sends\n"));
	assert_non_null(strstr(text, "--ssrc X              accept only this SSRC (decimal or "
	                             "0x hex, 0..0xffffffff)\n"));
	free(text);

	assert_int_equal(mg_help_text("caasctl", "status", &text), 0);
	assert_string_equal(text, "usage: caasctl status\n\nshow ports, lcores, packet rates and "
	                          "drops by reason\n");
	free(text);

	assert_int_equal(mg_help_text("caasctl", "device", &text), 0);
	assert_string_equal(
	    text,
	    "commands:\n"
	    "  device add   register a camera: RTP sent to its UDP port becomes a stream of the "
	    "same name\n"
	    "  device list  list devices\n"
	    "  device del   remove a device, its stream and the stream's subscriptions\n"
	    "\n"
	    "'caasctl help COMMAND' describes a command and its arguments.\n");
	free(text);

	assert_int_equal(mg_help_text("caasctl", NULL, &text), 0);
	int w = 0;
	for (size_t i = 0; i < mg_cmd_count(); i++)
		if ((int)strlen(mg_cmd_at(i)->name) > w)
			w = (int)strlen(mg_cmd_at(i)->name);
	for (size_t i = 0; i < mg_cmd_count(); i++) {
		char line[160];
		snprintf(line, sizeof(line), "  %-*s  %s\n", w, mg_cmd_at(i)->name,
		         mg_cmd_at(i)->help);
		assert_non_null(strstr(text, line));
	}
	free(text);

	text = NULL;
	assert_int_equal(mg_help_text("caasctl", "dev", &text), -ENOENT);
	assert_int_equal(mg_help_text("caasctl", "nope", &text), -ENOENT);
	assert_int_equal(mg_help_text("caasctl", "device add x", &text), -ENOENT);
	assert_null(text);
}

static void test_help_json_version(void **state)
{
	(void)state;
	json_t *h = NULL;
	assert_int_equal(mg_help_json("sub add", &h), 0);
	assert_string_equal(json_string_value(json_object_get(h, "cmd")), "sub add");
	assert_string_equal(
	    json_string_value(json_object_get(h, "usage")),
	    "sub add STREAM --to IP:PORT [--rtcp-port P] [--paused] [--rendition NAME]");
	json_t *args = json_object_get(h, "args");
	assert_int_equal(json_array_size(args), 5);
	assert_json(json_array_get(args, 2),
	            "{\"name\":\"rtcp_port\",\"type\":\"int\",\"required\":false,"
	            "\"positional\":false,\"usage\":\"--rtcp-port\",\"help\":\"the expert's RTCP "
	            "port; the RTP port + 1 when absent\",\"meta\":\"P\",\"min\":1,\"max\":65535}");
	assert_json(json_array_get(args, 3),
	            "{\"name\":\"paused\",\"type\":\"bool\",\"required\":false,"
	            "\"positional\":false,\"usage\":\"--paused\",\"help\":\"create it without "
	            "sending until \\\"sub resume\\\"\",\"default\":\"no\"}");
	json_decref(h);

	assert_int_equal(mg_help_json("stream list", &h), 0);
	assert_json(json_array_get(json_object_get(h, "columns"), 3),
	            "{\"key\":\"bitrate_kbps\",\"header\":\"BITRATE\",\"unit\":\" kbit/s\"}");
	json_decref(h);

	assert_int_equal(mg_help_json("device", &h), 0);
	json_t *list = json_object_get(h, "commands");
	assert_int_equal(json_array_size(list), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 2), "cmd")),
	                    "device del");
	json_decref(h);

	assert_int_equal(mg_help_json(NULL, &h), 0);
	assert_int_equal(json_array_size(json_object_get(h, "commands")), mg_cmd_count());
	json_decref(h);
	assert_int_equal(mg_help_json("nope", &h), -ENOENT);

	json_t *v = mg_version_json();
	assert_json(v, "{\"version\":\"" MG_VERSION "\",\"protocol\":1}");
	json_decref(v);
}

/* Render result_text as cmd's human output and compare with want. */
static void renders(const char *cmd, const char *result_text, const char *want)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_t *result = result_text ? json_loads(result_text, JSON_DECODE_ANY, NULL) : NULL;
	assert_non_null(f);
	if (result_text)
		assert_non_null(result);
	assert_int_equal(mg_render(f, mg_cmd_find(cmd), result), 0);
	fclose(f);
	assert_string_equal(buf, want);
	free(buf);
	json_decref(result);
}

static void test_render_table(void **state)
{
	(void)state;
	renders(
	    "stream list",
	    "[{\"name\":\"cam1\",\"state\":\"live\",\"packets\":123456,\"bitrate_kbps\":3980,"
	    "\"loss_pct\":0.25,\"jitter_ms\":3.5,\"keyframes\":40,\"subscribers\":2,"
	    "\"idle_s\":0},"
	    "{\"name\":\"dock-cam-22\",\"state\":\"idle\",\"packets\":0,\"bitrate_kbps\":0,"
	    "\"loss_pct\":null,\"keyframes\":0,\"subscribers\":0,\"idle_s\":75,"
	    "\"extra\":\"ignored\"}]",
	    "NAME         STATE  PACKETS      BITRATE   LOSS   JITTER  KEYFRAMES  SUBS  IDLE\n"
	    "cam1         live    123456  3980 kbit/s  0.25%  3.50 ms         40     2   0 s\n"
	    "dock-cam-22  idle         0     0 kbit/s      -        -          0     0  75 s\n");
	/* Hex SSRCs, missing values, strings left-aligned; the last column is not padded. */
	renders("device list",
	        "[{\"name\":\"cam1\",\"port\":5004,\"codec\":\"h264\",\"pt\":96,\"clock\":90000,"
	        "\"src\":\"198.18.0.0/15\",\"ssrc\":3735928559,\"state\":\"receiving\"},"
	        "{\"name\":\"mic\",\"port\":5008,\"codec\":\"opus\",\"pt\":111,\"clock\":48000,"
	        "\"src\":null,\"ssrc\":null,\"state\":\"idle\"}]",
	        "NAME  PORT  CODEC   PT     CLOCK  SRC            SSRC        STATE\n"
	        "cam1  5004  h264    96  90000 Hz  198.18.0.0/15  0xdeadbeef  receiving\n"
	        "mic   5008  opus   111  48000 Hz  -              -           idle\n");
	renders("sub list", "[]", "ID  STREAM  TO  STATE  PACKETS  LOSS  RTT\n");
	/* Control characters in a value cannot break the table. */
	renders("sub list",
	        "[{\"id\":7,\"stream\":\"a\\u001b[2Jb\",\"to\":\"[2001:db8::1]:5004\","
	        "\"state\":true,\"packets\":1,\"loss_pct\":0,\"rtt_ms\":12.25}]",
	        "ID  STREAM  TO                  STATE  PACKETS  LOSS       RTT\n"
	        " 7  a?[2Jb  [2001:db8::1]:5004  yes          1    0%  12.25 ms\n");
	/* A command without columns: the first row's keys. */
	renders("status", "[{\"a\":1,\"b\":\"x\"},{\"a\":22}]", " a  b\n 1  x\n22  -\n");
}

static void test_render_object(void **state)
{
	(void)state;
	renders("status",
	        "{\"ports\":[{\"id\":0,\"driver\":\"net_af_xdp\"},{\"id\":1,\"driver\":\"x\"}],"
	        "\"lcores\":[1,2],\"rx_pps\":1200.5,\"tx_pps\":3400,\"none\":[],"
	        "\"drops\":{\"wrong_pt\":3,\"unknown_ssrc\":0,\"deep\":{\"x\":null}},\"up\":true}",
	        "ports:\n"
	        "  - id:     0\n"
	        "    driver: net_af_xdp\n"
	        "  - id:     1\n"
	        "    driver: x\n"
	        "lcores: 1, 2\n"
	        "rx_pps: 1200.50\n"
	        "tx_pps: 3400\n"
	        "none:   -\n"
	        "drops:\n"
	        "  wrong_pt:     3\n"
	        "  unknown_ssrc: 0\n"
	        "  deep:\n"
	        "    x: -\n"
	        "up:     yes\n");
	/* An object result takes units from the command's columns. */
	renders("stream show", "{\"name\":\"cam1\",\"jitter_ms\":2,\"ssrc\":16,\"idle_s\":1.5}",
	        "name:      cam1\n"
	        "jitter_ms: 2 ms\n"
	        "ssrc:      0x00000010\n"
	        "idle_s:    1.50 s\n");
	renders("sub resume", NULL, "");
	renders("sub resume", "null", "");
}

static void test_render_bare(void **state)
{
	(void)state;
	renders("sub add", "{\"id\":7}", "7\n");
	renders("sub add", "{\"id\":\"s-7\",\"other\":1}", "s-7\n");
	const char *sdp = "v=0\\r\\no=- 0 0 IN IP4 198.18.0.1\\r\\ns=cam1\\r\\n";
	char result[256];
	snprintf(result, sizeof(result), "{\"sdp\":\"%s\"}", sdp);
	renders("sub sdp", result, "v=0\r\no=- 0 0 IN IP4 198.18.0.1\r\ns=cam1\r\n");
	renders("sub sdp", "{\"sdp\":\"v=0\"}", "v=0\n");

	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_t *r = json_pack("{s:i}", "ip", 7);
	assert_int_equal(mg_render(f, mg_cmd_find("sub add"), r), -EBADMSG);
	fclose(f);
	free(buf);
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_consistent),
	    cmocka_unit_test(test_find_and_match),
	    cmocka_unit_test(test_argv_device_add),
	    cmocka_unit_test(test_argv_int),
	    cmocka_unit_test(test_argv_hex),
	    cmocka_unit_test(test_argv_name_string),
	    cmocka_unit_test(test_argv_bool_enum_flag),
	    cmocka_unit_test(test_argv_addr),
	    cmocka_unit_test(test_argv_cidr),
	    cmocka_unit_test(test_argv_structure),
	    cmocka_unit_test(test_check_json),
	    cmocka_unit_test(test_argv_then_check),
	    cmocka_unit_test(test_help_text),
	    cmocka_unit_test(test_help_json_version),
	    cmocka_unit_test(test_render_table),
	    cmocka_unit_test(test_render_object),
	    cmocka_unit_test(test_render_bare),
	};
	return cmocka_run_group_tests_name("mgmt", tests, NULL, NULL);
}
