/* Helpdesk tests: who gets each request (least loaded and its tie-breaks), the queue's order, the
 * accept flow, availability, capacity, deletions, --with participants, waiting times, errors,
 * and the exact actions each call queues. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mgmt/helpdesk.h"

/* Every pending action as "type id expert" (expert "+name" for the --with participant), joined
 * by ", ", so that a test states a whole sequence in one string. */
static const char *drain(struct hd *hd)
{
	static char buf[4096];
	struct hd_action a;
	size_t n = 0;
	buf[0] = '\0';
	while (hd_next_action(hd, &a)) {
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s %" PRIu64 "%s%s%s",
		                      n ? ", " : "", hd_action_name(a.type), a.request,
		                      a.expert[0] ? " " : "", a.with ? "+" : "", a.expert);
		assert_true(n < sizeof(buf));
	}
	return buf;
}

#define expect_actions(hd, want) assert_string_equal(drain(hd), want)

static void pool(struct hd *hd, const char *name)
{
	char err[128];
	if (hd_pool_add(hd, name, NULL, err, sizeof(err)))
		fail_msg("pool %s: %s", name, err);
}

static void expert(struct hd *hd, const char *name, const char *pool_name, uint32_t capacity,
                   bool auto_accept)
{
	char err[128];
	struct hd_expert_spec s = {
	    .name = name, .pool = pool_name, .capacity = capacity, .auto_accept = auto_accept};
	if (hd_expert_add(hd, &s, 0, err, sizeof(err)))
		fail_msg("expert %s: %s", name, err);
}

static uint64_t request(struct hd *hd, const char *device, const char *pool_name, int priority,
                        const char *with, uint64_t now)
{
	char err[128];
	int64_t id = hd_request(hd, device, pool_name, priority, with, now, err, sizeof(err));
	if (id <= 0)
		fail_msg("request %s: %s", device, err);
	return (uint64_t)id;
}

static void accept_ok(struct hd *hd, uint64_t id, uint64_t now)
{
	char err[128];
	if (hd_accept(hd, id, NULL, now, err, sizeof(err)))
		fail_msg("accept %" PRIu64 ": %s", id, err);
}

static void end_ok(struct hd *hd, uint64_t id, uint64_t now)
{
	char err[128];
	if (hd_end(hd, id, now, err, sizeof(err)))
		fail_msg("end %" PRIu64 ": %s", id, err);
}

static uint32_t sessions(struct hd *hd, const char *name)
{
	struct hd_expert_info x;
	assert_int_equal(hd_expert_get(hd, name, &x), 0);
	return x.sessions;
}

static struct hd_request_info info(struct hd *hd, uint64_t id, uint64_t now)
{
	struct hd_request_info r;
	assert_int_equal(hd_request_get(hd, id, now, &r), 0);
	return r;
}

/* The scenario: 3 experts of capacity 2 in one pool, 8 requests, then one of higher
 * priority; ends serve the queue in priority then arrival order. */
static void test_scenario(void **state)
{
	(void)state;
	struct hd *hd = hd_new(4, 8, 16);
	assert_non_null(hd);
	pool(hd, "customs");
	/* Added out of name order: the first round is by name, not by order of addition. */
	expert(hd, "e2", "customs", 2, false);
	expert(hd, "e3", "customs", 2, false);
	expert(hd, "e1", "customs", 2, false);
	expect_actions(hd, "");

	const char *want[] = {"e1", "e2", "e3", "e1", "e2", "e3"};
	for (int i = 0; i < 6; i++) {
		char dev[8], act[32];
		snprintf(dev, sizeof(dev), "cam%d", i + 1);
		assert_int_equal(request(hd, dev, "customs", 0, NULL, 100 * (i + 1)), i + 1);
		snprintf(act, sizeof(act), "assigned %d %s", i + 1, want[i]);
		expect_actions(hd, act);
		assert_string_equal(info(hd, (uint64_t)i + 1, 1000).expert, want[i]);
	}
	assert_int_equal(request(hd, "cam7", "customs", 0, NULL, 700), 7);
	expect_actions(hd, "queued 7");
	assert_int_equal(request(hd, "cam8", "customs", 0, NULL, 800), 8);
	expect_actions(hd, "queued 8");
	/* Later but more urgent: goes to the head of the queue. */
	assert_int_equal(request(hd, "cam9", "customs", 5, NULL, 900), 9);
	expect_actions(hd, "queued 9");
	assert_int_equal(info(hd, 9, 1000).position, 1);
	assert_int_equal(info(hd, 7, 1000).position, 2);
	assert_int_equal(info(hd, 8, 1000).position, 3);
	assert_int_equal(info(hd, 7, 1000).waited_ms, 300);
	assert_int_equal(info(hd, 1, 1000).position, 0);
	for (const char *const *e = (const char *const[]){"e1", "e2", "e3", NULL}; *e; e++)
		assert_int_equal(sessions(hd, *e), 2);

	accept_ok(hd, 1, 1000);
	expect_actions(hd, "start 1 e1");
	accept_ok(hd, 2, 1000);
	expect_actions(hd, "start 2 e2");

	end_ok(hd, 1, 2000);
	expect_actions(hd, "stop 1 e1, ended 1 e1, assigned 9 e1");
	assert_int_equal(info(hd, 9, 2000).waited_ms, 1100);
	/* An assigned request that was never accepted ends without media to stop. */
	end_ok(hd, 3, 2100);
	expect_actions(hd, "ended 3 e3, assigned 7 e3");
	end_ok(hd, 2, 2200);
	expect_actions(hd, "stop 2 e2, ended 2 e2, assigned 8 e2");
	assert_int_equal(info(hd, 8, 3000).waited_ms, 1400);
	end_ok(hd, 4, 2300);
	expect_actions(hd, "ended 4 e1");
	assert_int_equal(sessions(hd, "e1"), 1);

	struct hd_pool_info p;
	assert_int_equal(hd_pool_list(hd, &p, 1), 1);
	assert_string_equal(p.name, "customs");
	assert_int_equal(p.experts, 3);
	assert_int_equal(p.available, 3);
	assert_int_equal(p.sessions, 5);
	assert_int_equal(p.free, 1);
	assert_int_equal(p.queued, 0);
	hd_free(hd);
}

static const char *pick_next(struct hd *hd, uint64_t *id)
{
	char dev[16];
	snprintf(dev, sizeof(dev), "d%" PRIu64, ++*id);
	assert_int_equal(request(hd, dev, "p", 0, NULL, 0), *id);
	struct hd_action a;
	assert_true(hd_next_action(hd, &a));
	assert_int_equal(a.type, HD_ASSIGNED);
	static char name[HD_NAME_MAX + 1];
	strcpy(name, a.expert);
	expect_actions(hd, "");
	return name;
}

/* Lowest load ratio, then fewest sessions, then least recently picked, then name. */
static void test_tie_breaks(void **state)
{
	(void)state;
	uint64_t id = 0;
	struct hd *hd = hd_new(1, 4, 16);
	pool(hd, "p");
	expert(hd, "y", "p", 4, false);
	expert(hd, "x", "p", 2, false);
	assert_string_equal(pick_next(hd, &id), "x"); /* all equal: name */
	assert_string_equal(pick_next(hd, &id), "y"); /* 0/4 < 1/2 */
	assert_string_equal(pick_next(hd, &id), "y"); /* 1/4 < 1/2 */
	assert_string_equal(pick_next(hd, &id), "x"); /* 1/2 = 2/4: fewer sessions */
	assert_string_equal(pick_next(hd, &id), "y"); /* x is full */
	assert_string_equal(pick_next(hd, &id), "y");
	assert_int_equal(request(hd, "d7", "p", 0, NULL, 0), 7);
	expect_actions(hd, "queued 7");
	hd_free(hd);

	/* Equal load: the expert picked least recently, even against name order. */
	hd = hd_new(1, 4, 16);
	pool(hd, "p");
	expert(hd, "a", "p", 1, false);
	expert(hd, "b", "p", 1, false);
	id = 0;
	assert_string_equal(pick_next(hd, &id), "a");
	assert_string_equal(pick_next(hd, &id), "b");
	end_ok(hd, 1, 0);
	expect_actions(hd, "ended 1 a");
	assert_string_equal(pick_next(hd, &id), "a"); /* b is full */
	end_ok(hd, 2, 0);
	end_ok(hd, 3, 0);
	expect_actions(hd, "ended 2 b, ended 3 a");
	assert_string_equal(pick_next(hd, &id), "b"); /* a was picked after b */
	assert_string_equal(pick_next(hd, &id), "a");
	hd_free(hd);

	/* Equal load: fewer sessions wins over having been picked less recently. */
	hd = hd_new(1, 4, 16);
	pool(hd, "p");
	expert(hd, "a", "p", 4, false);
	expert(hd, "b", "p", 2, false);
	id = 0;
	assert_string_equal(pick_next(hd, &id), "a");
	assert_string_equal(pick_next(hd, &id), "b");
	assert_string_equal(pick_next(hd, &id), "a"); /* 1/4 < 1/2 */
	end_ok(hd, 2, 0);
	expect_actions(hd, "ended 2 b");
	assert_string_equal(pick_next(hd, &id), "b"); /* 0/2 < 2/4 */
	assert_string_equal(pick_next(hd, &id), "b"); /* 1/2 = 2/4, b picked last but has fewer */
	hd_free(hd);
}

static void test_accept_flow(void **state)
{
	(void)state;
	char err[128];
	struct hd *hd = hd_new(1, 4, 8);
	pool(hd, "p");
	expert(hd, "e1", "p", 1, false);
	expert(hd, "e2", "p", 1, false);
	request(hd, "cam1", "p", 0, NULL, 10);
	request(hd, "cam2", "p", 0, NULL, 20);
	request(hd, "cam3", "p", 0, NULL, 30);
	expect_actions(hd, "assigned 1 e1, assigned 2 e2, queued 3");
	assert_int_equal(info(hd, 1, 50).state, HD_STATE_ASSIGNED);

	assert_int_equal(hd_accept(hd, 3, NULL, 50, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "help request 3 is queued, not assigned");
	assert_int_equal(hd_accept(hd, 1, "e2", 50, err, sizeof(err)), -EPERM);
	assert_string_equal(err, "help request 1 is assigned to e1, not e2");
	assert_int_equal(hd_accept(hd, 9, NULL, 50, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no open help request 9");
	assert_int_equal(hd_accept(hd, 0, NULL, 50, err, sizeof(err)), -ENOENT);
	expect_actions(hd, "");

	assert_int_equal(hd_accept(hd, 1, "e1", 60, err, sizeof(err)), 0);
	expect_actions(hd, "start 1 e1");
	struct hd_request_info r = info(hd, 1, 70);
	assert_int_equal(r.state, HD_STATE_ACTIVE);
	assert_int_equal(r.assigned_ms, 10);
	assert_int_equal(r.active_ms, 60);
	assert_int_equal(r.waited_ms, 0);
	assert_int_equal(hd_accept(hd, 1, NULL, 70, err, sizeof(err)), -EALREADY);
	assert_string_equal(err, "help request 1 is active already");

	/* A queued request leaves the queue; nothing else moves. */
	end_ok(hd, 3, 80);
	expect_actions(hd, "ended 3");
	assert_int_equal(hd_request_get(hd, 3, 80, &r), -ENOENT);
	end_ok(hd, 1, 90);
	expect_actions(hd, "stop 1 e1, ended 1 e1");
	assert_int_equal(hd_end(hd, 1, 90, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no open help request 1");
	assert_int_equal(hd_accept(hd, 1, NULL, 90, err, sizeof(err)), -ENOENT);
	assert_int_equal(sessions(hd, "e1"), 0);
	assert_int_equal(sessions(hd, "e2"), 1);
	hd_free(hd);
}

static void test_auto_accept(void **state)
{
	(void)state;
	struct hd *hd = hd_new(2, 4, 8);
	pool(hd, "p");
	pool(hd, "vendor");
	expert(hd, "auto", "p", 1, true);
	expert(hd, "x", "vendor", 1, false);
	request(hd, "cam1", "p", 0, NULL, 0);
	expect_actions(hd, "assigned 1 auto, start 1 auto");
	assert_int_equal(info(hd, 1, 0).state, HD_STATE_ACTIVE);
	request(hd, "cam2", "p", 0, "x", 0);
	expect_actions(hd, "queued 2");
	end_ok(hd, 1, 5);
	expect_actions(hd, "stop 1 auto, ended 1 auto, assigned 2 auto, start 2 auto, start 2 +x");
	end_ok(hd, 2, 5);
	expect_actions(hd, "stop 2 auto, stop 2 +x, ended 2 auto");
	hd_free(hd);
}

/* Unavailable: keeps its sessions, gets no new ones, serves the queue when back. */
static void test_unavailable(void **state)
{
	(void)state;
	char err[128];
	struct hd *hd = hd_new(1, 4, 8);
	pool(hd, "p");
	expert(hd, "e1", "p", 2, false);
	expert(hd, "e2", "p", 1, false);
	request(hd, "cam1", "p", 0, NULL, 0);
	accept_ok(hd, 1, 0);
	expect_actions(hd, "assigned 1 e1, start 1 e1");
	assert_int_equal(hd_expert_set_available(hd, "e1", false, 0, err, sizeof(err)), 0);
	expect_actions(hd, "");
	assert_int_equal(info(hd, 1, 0).state, HD_STATE_ACTIVE);
	request(hd, "cam2", "p", 0, NULL, 0);
	request(hd, "cam3", "p", 0, NULL, 0);
	expect_actions(hd, "assigned 2 e2, queued 3");
	struct hd_pool_info p;
	hd_pool_list(hd, &p, 1);
	assert_int_equal(p.available, 1);
	assert_int_equal(p.free, 0);
	assert_int_equal(p.queued, 1);
	/* The session e1 had goes on; ending it frees nothing while e1 is away. */
	end_ok(hd, 1, 10);
	expect_actions(hd, "stop 1 e1, ended 1 e1");
	assert_int_equal(hd_expert_set_available(hd, "e1", true, 20, err, sizeof(err)), 0);
	expect_actions(hd, "assigned 3 e1");
	assert_int_equal(info(hd, 3, 30).waited_ms, 20);
	assert_int_equal(hd_expert_set_available(hd, "nobody", true, 20, err, sizeof(err)),
	                 -ENOENT);
	assert_string_equal(err, "no expert named nobody");

	/* An expert added unavailable takes nothing until made available. */
	struct hd_expert_spec s = {.name = "late", .pool = "p", .unavailable = true};
	request(hd, "cam4", "p", 0, NULL, 30);
	request(hd, "cam5", "p", 0, NULL, 30);
	expect_actions(hd, "assigned 4 e1, queued 5");
	assert_int_equal(hd_expert_add(hd, &s, 40, err, sizeof(err)), 0);
	expect_actions(hd, "");
	assert_int_equal(hd_expert_set_available(hd, "late", true, 50, err, sizeof(err)), 0);
	expect_actions(hd, "assigned 5 late");
	hd_free(hd);
}

/* Raising capacity serves the queue at once, in order; lowering it keeps sessions. */
static void test_capacity(void **state)
{
	(void)state;
	char err[128];
	struct hd *hd = hd_new(1, 4, 8);
	pool(hd, "p");
	expert(hd, "e1", "p", 0, false); /* 0 = 1 */
	struct hd_expert_info x;
	hd_expert_get(hd, "e1", &x);
	assert_int_equal(x.capacity, 1);
	request(hd, "cam1", "p", 0, NULL, 0);
	request(hd, "cam2", "p", 0, NULL, 0);
	request(hd, "cam3", "p", 1, NULL, 0);
	request(hd, "cam4", "p", 0, NULL, 0);
	expect_actions(hd, "assigned 1 e1, queued 2, queued 3, queued 4");
	assert_int_equal(hd_expert_set_capacity(hd, "e1", 3, 5, err, sizeof(err)), 0);
	expect_actions(hd, "assigned 3 e1, assigned 2 e1");
	assert_int_equal(info(hd, 4, 5).position, 1);
	assert_int_equal(hd_expert_set_capacity(hd, "e1", 1, 5, err, sizeof(err)), 0);
	expect_actions(hd, "");
	assert_int_equal(sessions(hd, "e1"), 3);
	end_ok(hd, 1, 6);
	expect_actions(hd, "ended 1 e1"); /* still 2 sessions for a capacity of 1 */
	end_ok(hd, 2, 6);
	end_ok(hd, 3, 6);
	expect_actions(hd, "ended 2 e1, ended 3 e1, assigned 4 e1");

	assert_int_equal(hd_expert_set_capacity(hd, "e1", 0, 5, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "capacity 0 out of range 1..64");
	assert_int_equal(hd_expert_set_capacity(hd, "e1", 65, 5, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "capacity 65 out of range 1..64");
	hd_expert_get(hd, "e1", &x);
	assert_int_equal(x.capacity, 1);
	hd_free(hd);
}

/* An expert added to a pool with a queue takes from it at once. */
static void test_expert_add_serves_queue(void **state)
{
	(void)state;
	struct hd *hd = hd_new(1, 4, 8);
	pool(hd, "p");
	request(hd, "cam1", "p", 0, NULL, 1000);
	request(hd, "cam2", "p", 0, NULL, 2000);
	expect_actions(hd, "queued 1, queued 2");
	char err[128];
	uint8_t addr[4] = {198, 18, 0, 7};
	struct hd_expert_spec s = {.name = "e1",
	                           .pool = "p",
	                           .capacity = 2,
	                           .max_kbps = 2500,
	                           .data = addr,
	                           .data_len = sizeof(addr)};
	assert_int_equal(hd_expert_add(hd, &s, 4000, err, sizeof(err)), 0);
	struct hd_action a;
	assert_true(hd_next_action(hd, &a));
	assert_int_equal(a.type, HD_ASSIGNED);
	assert_int_equal(a.request, 1);
	assert_string_equal(a.device, "cam1");
	assert_string_equal(a.pool, "p");
	assert_string_equal(a.expert, "e1");
	assert_false(a.with);
	assert_int_equal(a.waited_ms, 3000);
	assert_int_equal(a.max_kbps, 2500);
	assert_int_equal(a.data_len, 4);
	assert_memory_equal(a.data, addr, 4);
	assert_true(hd_next_action(hd, &a));
	assert_int_equal(a.request, 2);
	assert_int_equal(a.waited_ms, 2000);
	assert_false(hd_next_action(hd, &a));
	hd_free(hd);
}

/* Deleting an expert: its active sessions end, its unaccepted ones go back to their place in the
 * queue, and it leaves sessions it joined with --with. */
static void test_expert_del(void **state)
{
	(void)state;
	char err[128];
	struct hd *hd = hd_new(2, 4, 8);
	pool(hd, "p");
	pool(hd, "vendor");
	expert(hd, "e1", "p", 2, false);
	expert(hd, "e2", "p", 1, false);
	expert(hd, "x", "vendor", 1, false);
	request(hd, "cam1", "p", 0, "x", 0);
	request(hd, "cam2", "p", 0, NULL, 0);
	request(hd, "cam3", "p", 0, "x", 0);
	request(hd, "cam4", "p", 0, NULL, 0);
	accept_ok(hd, 1, 0);
	expect_actions(hd, "assigned 1 e1, assigned 2 e2, assigned 3 e1, queued 4, "
	                   "start 1 e1, start 1 +x");
	assert_int_equal(sessions(hd, "x"), 2); /* above its capacity: it was invited */

	assert_int_equal(hd_expert_del(hd, "e1", 100, err, sizeof(err)), 0);
	expect_actions(hd, "stop 1 e1, stop 1 +x, ended 1 e1, queued 3");
	assert_int_equal(hd_expert_get(hd, "e1", &(struct hd_expert_info){0}), -ENOENT);
	assert_int_equal(sessions(hd, "x"), 0);
	struct hd_request_info r = info(hd, 3, 100);
	assert_int_equal(r.state, HD_STATE_QUEUED);
	assert_int_equal(r.position, 1); /* ahead of 4: it came first */
	assert_string_equal(r.expert, "");
	assert_string_equal(r.with, "x");

	end_ok(hd, 2, 200);
	expect_actions(hd, "ended 2 e2, assigned 3 e2");
	assert_int_equal(sessions(hd, "x"), 1);
	accept_ok(hd, 3, 300);
	expect_actions(hd, "start 3 e2, start 3 +x");

	/* The --with participant leaves; the request goes on without it. */
	assert_int_equal(hd_expert_del(hd, "x", 400, err, sizeof(err)), 0);
	expect_actions(hd, "stop 3 +x");
	r = info(hd, 3, 400);
	assert_int_equal(r.state, HD_STATE_ACTIVE);
	assert_string_equal(r.with, "");
	end_ok(hd, 3, 500);
	expect_actions(hd, "stop 3 e2, ended 3 e2, assigned 4 e2");

	/* Deleting the last expert of a pool leaves its queue waiting. */
	request(hd, "cam5", "p", 0, NULL, 600);
	expect_actions(hd, "queued 5");
	assert_int_equal(hd_expert_del(hd, "e2", 700, err, sizeof(err)), 0);
	expect_actions(hd, "queued 4");
	assert_int_equal(info(hd, 4, 700).position, 1);
	assert_int_equal(info(hd, 5, 700).position, 2);
	assert_int_equal(hd_expert_del(hd, "e2", 700, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no expert named e2");

	/* With another expert free, a request taken back is assigned again in the same call. */
	expert(hd, "e3", "p", 1, false);
	expert(hd, "e4", "p", 1, false);
	expect_actions(hd, "assigned 4 e3, assigned 5 e4");
	assert_int_equal(hd_expert_set_capacity(hd, "e4", 2, 800, err, sizeof(err)), 0);
	assert_int_equal(hd_expert_del(hd, "e3", 900, err, sizeof(err)), 0);
	expect_actions(hd, "queued 4, assigned 4 e4");
	r = info(hd, 4, 900);
	assert_int_equal(r.assigned_ms, 900);
	assert_int_equal(r.waited_ms, 900); /* cam4 asked at 0 */
	hd_free(hd);
}

static void test_pool_del(void **state)
{
	(void)state;
	char err[128];
	struct hd *hd = hd_new(2, 4, 8);
	pool(hd, "p");
	pool(hd, "q");
	expert(hd, "e1", "p", 1, false);
	expert(hd, "e2", "p", 1, false);
	assert_int_equal(hd_pool_del(hd, "p", err, sizeof(err)), -EBUSY);
	assert_string_equal(err, "pool p still has 2 experts");
	request(hd, "cam1", "q", 0, NULL, 0);
	assert_int_equal(hd_pool_del(hd, "q", err, sizeof(err)), -EBUSY);
	assert_string_equal(err, "pool q still has 1 open request");
	end_ok(hd, 1, 0);
	expect_actions(hd, "queued 1, ended 1");
	assert_int_equal(hd_pool_del(hd, "q", err, sizeof(err)), 0);
	assert_int_equal(hd_pool_del(hd, "q", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no pool named q");
	assert_int_equal(hd_expert_del(hd, "e1", 0, err, sizeof(err)), 0);
	assert_int_equal(hd_pool_del(hd, "p", err, sizeof(err)), -EBUSY);
	assert_string_equal(err, "pool p still has 1 expert");
	assert_int_equal(hd_expert_del(hd, "e2", 0, err, sizeof(err)), 0);
	assert_int_equal(hd_pool_del(hd, "p", err, sizeof(err)), 0);
	assert_int_equal(hd_pool_list(hd, NULL, 0), 0);
	/* The slots are free again. */
	pool(hd, "r");
	pool(hd, "s");
	assert_int_equal(hd_request(hd, "cam1", "q", 0, NULL, 0, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no pool named q");
	expect_actions(hd, "");
	hd_free(hd);
}

/* --with: joins when active, stops at end, counts against its capacity, is never picked for its
 * own request, and must exist and be available when asked for. */
static void test_with(void **state)
{
	(void)state;
	char err[128];
	struct hd *hd = hd_new(2, 4, 8);
	pool(hd, "customs");
	pool(hd, "vendor");
	expert(hd, "e1", "customs", 2, false);
	expert(hd, "acme.support", "vendor", 1, false);

	assert_int_equal(request(hd, "cam1", "customs", 0, "acme.support", 0), 1);
	expect_actions(hd, "assigned 1 e1");
	assert_int_equal(sessions(hd, "acme.support"), 1);
	assert_string_equal(info(hd, 1, 0).with, "acme.support");
	accept_ok(hd, 1, 10);
	struct hd_action a;
	assert_true(hd_next_action(hd, &a));
	assert_int_equal(a.type, HD_START);
	assert_string_equal(a.expert, "e1");
	assert_false(a.with);
	assert_true(hd_next_action(hd, &a));
	assert_int_equal(a.type, HD_START);
	assert_string_equal(a.expert, "acme.support");
	assert_string_equal(a.device, "cam1");
	assert_string_equal(a.pool, "customs");
	assert_true(a.with);
	assert_int_equal(a.waited_ms, 10);
	assert_false(hd_next_action(hd, &a));

	/* It is at capacity: its own pool queues, but an invitation still joins. */
	request(hd, "cam2", "vendor", 0, NULL, 20);
	expect_actions(hd, "queued 2");
	request(hd, "cam3", "customs", 0, "acme.support", 20);
	expect_actions(hd, "assigned 3 e1");
	assert_int_equal(sessions(hd, "acme.support"), 2);
	end_ok(hd, 1, 30);
	expect_actions(hd, "stop 1 e1, stop 1 +acme.support, ended 1 e1");
	end_ok(hd, 3, 40); /* never accepted: no media to stop */
	expect_actions(hd, "ended 3 e1, assigned 2 acme.support");

	/* Never its own --with: the request waits but does not hold up the one behind it. */
	request(hd, "cam4", "vendor", 5, "e1", 50);
	request(hd, "cam5", "vendor", 0, NULL, 50);
	expect_actions(hd, "queued 4, queued 5");
	end_ok(hd, 2, 60);
	expect_actions(hd, "ended 2 acme.support, assigned 4 acme.support");
	assert_int_equal(sessions(hd, "e1"), 1);
	request(hd, "cam6", "customs", 0, "e1", 70);
	expect_actions(hd, "queued 6");
	request(hd, "cam7", "customs", 0, NULL, 70);
	expect_actions(hd, "assigned 7 e1");
	assert_int_equal(info(hd, 6, 80).position, 1);

	assert_int_equal(hd_request(hd, "cam8", "customs", 0, "nobody", 0, err, sizeof(err)),
	                 -ENOENT);
	assert_string_equal(err, "no expert named nobody to join");
	assert_int_equal(hd_expert_set_available(hd, "acme.support", false, 0, err, sizeof(err)),
	                 0);
	assert_int_equal(hd_request(hd, "cam8", "customs", 0, "acme.support", 0, err, sizeof(err)),
	                 -EAGAIN);
	assert_string_equal(err, "expert acme.support is unavailable");
	assert_int_equal(hd_request(hd, "cam8", "customs", 0, "a b", 0, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "expert name \"a b\" is not valid (1 to 32 of A-Z a-z 0-9 _ . -)");
	/* "" is no participant. */
	request(hd, "cam8", "vendor", 0, "", 90);
	expect_actions(hd, "queued 8");
	assert_string_equal(info(hd, 8, 90).with, "");
	hd_free(hd);
}

/* waited_ms: since the request, on every action; in listings, until assignment. */
static void test_waited(void **state)
{
	(void)state;
	char err[128];
	struct hd *hd = hd_new(1, 2, 4);
	pool(hd, "p");
	assert_int_equal(request(hd, "cam1", "p", 0, NULL, 1000), 1);
	struct hd_action a;
	assert_true(hd_next_action(hd, &a));
	assert_int_equal(a.type, HD_QUEUED);
	assert_int_equal(a.waited_ms, 0);
	assert_int_equal(info(hd, 1, 2500).waited_ms, 1500);
	struct hd_expert_spec s = {.name = "e1", .pool = "p"};
	assert_int_equal(hd_expert_add(hd, &s, 4000, err, sizeof(err)), 0);
	assert_true(hd_next_action(hd, &a));
	assert_int_equal(a.type, HD_ASSIGNED);
	assert_int_equal(a.waited_ms, 3000);
	accept_ok(hd, 1, 5000);
	assert_true(hd_next_action(hd, &a));
	assert_int_equal(a.type, HD_START);
	assert_int_equal(a.waited_ms, 4000);
	struct hd_request_info r = info(hd, 1, 8000);
	assert_int_equal(r.created_ms, 1000);
	assert_int_equal(r.assigned_ms, 4000);
	assert_int_equal(r.active_ms, 5000);
	assert_int_equal(r.waited_ms, 3000); /* stays at the wait for an expert */
	end_ok(hd, 1, 9000);
	assert_true(hd_next_action(hd, &a));
	assert_int_equal(a.type, HD_STOP);
	assert_int_equal(a.waited_ms, 8000);
	assert_true(hd_next_action(hd, &a));
	assert_int_equal(a.type, HD_ENDED);
	assert_int_equal(a.waited_ms, 8000);
	/* A clock that goes back gives 0, not a huge number. */
	request(hd, "cam2", "p", 0, NULL, 10000);
	end_ok(hd, 2, 9000);
	expect_actions(hd, "assigned 2 e1, ended 2 e1");
	request(hd, "cam3", "p", 0, NULL, 10000);
	assert_int_equal(info(hd, 3, 500).waited_ms, 0);
	hd_free(hd);
}

static void test_errors(void **state)
{
	(void)state;
	char err[128], long_name[40];
	memset(long_name, 'a', 33);
	long_name[33] = '\0';
	errno = 0;
	assert_null(hd_new(0, 1, 1));
	assert_int_equal(errno, EINVAL);
	assert_null(hd_new(1, 1, HD_LIMIT + 1));
	hd_free(NULL);

	struct hd *hd = hd_new(2, 2, 2);
	assert_int_equal(hd_pool_add(hd, NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "pool name missing");
	assert_int_equal(hd_pool_add(hd, "", NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "pool name missing");
	assert_int_equal(hd_pool_add(hd, "..", NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "pool name \"..\" is not valid (1 to 32 of A-Z a-z 0-9 _ . -)");
	assert_int_equal(hd_pool_add(hd, long_name, NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "pool name \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" is not valid (1 "
	                         "to 32 of A-Z a-z 0-9 _ . -)");
	long_name[32] = '\0';
	assert_int_equal(hd_pool_add(hd, long_name, "x-ray,k9", err, sizeof(err)), 0);
	assert_int_equal(hd_pool_add(hd, "p", "x-ray,,k9", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "skill name missing");
	assert_int_equal(hd_pool_add(hd, "p", "k9,x/ray", err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
	                    "skill name \"x/ray\" is not valid (1 to 32 of A-Z a-z 0-9 _ . -)");
	assert_int_equal(hd_pool_add(hd, "p", "k9,x,k9", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "skill k9 listed twice");
	char skills[HD_SKILLS_MAX + 2];
	memset(skills, 'a', sizeof(skills) - 1);
	skills[sizeof(skills) - 1] = '\0';
	assert_int_equal(hd_pool_add(hd, "p", skills, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "skills list longer than 128 bytes");
	assert_int_equal(hd_pool_add(hd, long_name, NULL, err, sizeof(err)), -EEXIST);
	assert_string_equal(err, "pool aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa exists");
	assert_int_equal(hd_pool_add(hd, "p", "", err, sizeof(err)), 0);
	assert_int_equal(hd_pool_add(hd, "q", NULL, err, sizeof(err)), -ENOSPC);
	assert_string_equal(err, "too many pools (at most 2)");
	struct hd_pool_info pi[2];
	assert_int_equal(hd_pool_list(hd, pi, 2), 2);
	assert_string_equal(pi[0].skills, "x-ray,k9");
	assert_string_equal(pi[1].skills, "");

	struct hd_expert_spec s = {.name = "e1", .pool = "q"};
	assert_int_equal(hd_expert_add(hd, &s, 0, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no pool named q");
	s.pool = "p";
	s.capacity = 65;
	assert_int_equal(hd_expert_add(hd, &s, 0, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "capacity 65 out of range 1..64");
	s.capacity = 64;
	s.data_len = HD_DATA_MAX + 1;
	s.data = skills;
	assert_int_equal(hd_expert_add(hd, &s, 0, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "expert data of 65 bytes (at most 64)");
	s.data_len = 0;
	s.name = "e 1";
	assert_int_equal(hd_expert_add(hd, &s, 0, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "expert name \"e 1\" is not valid (1 to 32 of A-Z a-z 0-9 _ . -)");
	s.name = "e1";
	assert_int_equal(hd_expert_add(hd, &s, 0, err, sizeof(err)), 0);
	assert_int_equal(hd_expert_add(hd, &s, 0, err, sizeof(err)), -EEXIST);
	assert_string_equal(err, "expert e1 exists (in pool p)");
	s.name = "e2";
	s.pool = long_name;
	assert_int_equal(hd_expert_add(hd, &s, 0, err, sizeof(err)), 0);
	s.name = "e3";
	assert_int_equal(hd_expert_add(hd, &s, 0, err, sizeof(err)), -ENOSPC);
	assert_string_equal(err, "too many experts (at most 2)");

	/* One open request per device and pool; other pools and later requests are fine. */
	assert_int_equal(request(hd, "cam1", "p", 0, NULL, 0), 1);
	assert_int_equal(hd_request(hd, "cam1", "p", 9, NULL, 0, err, sizeof(err)), -EEXIST);
	assert_string_equal(err, "device cam1 already has help request 1 open in pool p");
	assert_int_equal(request(hd, "cam1", long_name, 0, NULL, 0), 2);
	assert_int_equal(hd_request(hd, "cam2", "p", 0, NULL, 0, err, sizeof(err)), -ENOSPC);
	assert_string_equal(err, "too many open help requests (at most 2)");
	assert_int_equal(hd_request(hd, NULL, "p", 0, NULL, 0, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "device name missing");
	assert_int_equal(hd_request(hd, "cam/1", "p", 0, NULL, 0, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
	                    "device name \"cam/1\" is not valid (1 to 32 of A-Z a-z 0-9 _ . -)");
	end_ok(hd, 1, 0);
	assert_int_equal(request(hd, "cam1", "p", 0, NULL, 0), 3);
	expect_actions(hd, "assigned 1 e1, assigned 2 e2, ended 1 e1, assigned 3 e1");
	/* Long names in messages are cut. */
	memset(skills, 'b', 60);
	skills[60] = '\0';
	assert_int_equal(hd_accept(hd, 3, skills, 0, err, sizeof(err)), -EPERM);
	assert_string_equal(err, "help request 3 is assigned to e1, not "
	                         "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	assert_int_equal(hd_expert_set_available(hd, skills, false, 0, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
	                    "expert name \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb...\" is not "
	                    "valid (1 to 32 of A-Z a-z 0-9 _ . -)");
	/* err may be NULL with no room. */
	assert_int_equal(hd_pool_del(hd, "nope", NULL, 0), -ENOENT);
	hd_free(hd);
}

/* A caller that does not drain is refused before anything changes. */
static void test_undrained(void **state)
{
	(void)state;
	char err[128];
	struct hd *hd = hd_new(1, 1, 1); /* room for 14 actions */
	pool(hd, "p");
	expert(hd, "e1", "p", 1, false);
	request(hd, "cam1", "p", 0, NULL, 0);
	accept_ok(hd, 1, 0);
	end_ok(hd, 1, 0);
	request(hd, "cam2", "p", 0, NULL, 0);
	accept_ok(hd, 2, 0); /* 6 pending, 1 open: 6 + 6 + 3 > 14 */
	assert_int_equal(hd_end(hd, 2, 0, err, sizeof(err)), -ENOBUFS);
	assert_string_equal(err, "6 helpdesk actions not taken: drain them first");
	assert_int_equal(info(hd, 2, 0).state, HD_STATE_ACTIVE);
	expect_actions(hd, "assigned 1 e1, start 1 e1, stop 1 e1, ended 1 e1, assigned 2 e1, "
	                   "start 2 e1");
	end_ok(hd, 2, 0);
	expect_actions(hd, "stop 2 e1, ended 2 e1");
	hd_free(hd);
}

static void test_listing(void **state)
{
	(void)state;
	struct hd *hd = hd_new(2, 4, 8);
	pool(hd, "customs");
	pool(hd, "vendor");
	uint8_t data[HD_DATA_MAX];
	memset(data, 0x5a, sizeof(data));
	char err[128];
	struct hd_expert_spec s = {.name = "e1",
	                           .pool = "customs",
	                           .capacity = 3,
	                           .max_kbps = 800,
	                           .auto_accept = true,
	                           .data = data,
	                           .data_len = sizeof(data)};
	assert_int_equal(hd_expert_add(hd, &s, 0, err, sizeof(err)), 0);
	expert(hd, "v1", "vendor", 1, false);
	request(hd, "cam1", "customs", 2, "v1", 100);
	request(hd, "cam1", "vendor", 0, NULL, 200);
	request(hd, "cam2", "vendor", 3, NULL, 300);
	expect_actions(hd, "assigned 1 e1, start 1 e1, start 1 +v1, queued 2, queued 3");

	struct hd_expert_info x[3];
	assert_int_equal(hd_expert_list(hd, x, 3), 2);
	assert_string_equal(x[0].name, "e1");
	assert_string_equal(x[0].pool, "customs");
	assert_true(x[0].available);
	assert_true(x[0].auto_accept);
	assert_int_equal(x[0].capacity, 3);
	assert_int_equal(x[0].sessions, 1);
	assert_int_equal(x[0].max_kbps, 800);
	assert_int_equal(x[0].data_len, HD_DATA_MAX);
	assert_memory_equal(x[0].data, data, HD_DATA_MAX);
	assert_string_equal(x[1].name, "v1");
	assert_int_equal(x[1].sessions, 1);
	assert_false(x[1].auto_accept);
	assert_int_equal(hd_expert_list(hd, x, 1), 2);

	struct hd_request_info r[4];
	assert_int_equal(hd_request_list(hd, 1000, r, 4), 3);
	assert_int_equal(r[0].id, 1);
	assert_string_equal(r[0].device, "cam1");
	assert_string_equal(r[0].pool, "customs");
	assert_string_equal(r[0].expert, "e1");
	assert_string_equal(r[0].with, "v1");
	assert_int_equal(r[0].priority, 2);
	assert_string_equal(hd_state_name(r[0].state), "active");
	assert_int_equal(r[1].id, 2);
	assert_string_equal(hd_state_name(r[1].state), "queued");
	assert_int_equal(r[1].position, 2);
	assert_int_equal(r[1].waited_ms, 800);
	assert_int_equal(r[2].position, 1);
	assert_int_equal(r[2].waited_ms, 700);
	assert_int_equal(hd_request_list(hd, 1000, r, 1), 3);
	assert_int_equal(hd_request_list(hd, 1000, NULL, 0), 3);

	struct hd_pool_info p[2];
	assert_int_equal(hd_pool_list(hd, p, 2), 2);
	assert_int_equal(p[0].sessions, 1);
	assert_int_equal(p[0].free, 2);
	assert_int_equal(p[1].sessions, 1); /* v1's --with session */
	assert_int_equal(p[1].free, 0);
	assert_int_equal(p[1].queued, 2);
	assert_int_equal(hd_request_get(hd, 42, 0, r), -ENOENT);
	assert_int_equal(hd_expert_get(hd, "nobody", x), -ENOENT);
	assert_string_equal(hd_action_name(HD_ENDED), "ended");
	assert_string_equal(hd_state_name(HD_STATE_ASSIGNED), "assigned");
	hd_free(hd);
}

/* ---- random operations against invariants ---------------------------------------------------- */

#define R_POOLS   3
#define R_EXPERTS 6
#define R_DEVICES 10
#define R_MAX_REQ 24

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

struct media {
	uint64_t request;
	char expert[HD_NAME_MAX + 1];
};

/* Take actions, checking them against what is running: a stop only for what started, no start
 * twice, an end stops everything of its request first. */
static void take_actions(struct hd *hd, struct media *m, size_t *n)
{
	struct hd_action a;
	while (hd_next_action(hd, &a)) {
		size_t i = 0;
		while (i < *n && !(m[i].request == a.request && !strcmp(m[i].expert, a.expert)))
			i++;
		if (a.type == HD_START) {
			assert_true(i == *n);
			assert_true(*n < 2 * R_MAX_REQ);
			m[*n].request = a.request;
			strcpy(m[(*n)++].expert, a.expert);
		} else if (a.type == HD_STOP) {
			assert_true(i < *n);
			m[i] = m[--*n];
		} else if (a.type == HD_ENDED) {
			for (i = 0; i < *n; i++)
				assert_true(m[i].request != a.request);
		}
	}
}

static void check_invariants(struct hd *hd)
{
	struct hd_expert_info x[R_EXPERTS];
	struct hd_request_info r[R_MAX_REQ];
	size_t nx = hd_expert_list(hd, x, R_EXPERTS), nr = hd_request_list(hd, 0, r, R_MAX_REQ);
	assert_true(nx <= R_EXPERTS && nr <= R_MAX_REQ);
	for (size_t i = 0; i < nx; i++) {
		uint32_t want = 0;
		for (size_t j = 0; j < nr; j++)
			want += r[j].state != HD_STATE_QUEUED &&
			        (!strcmp(r[j].expert, x[i].name) || !strcmp(r[j].with, x[i].name));
		assert_int_equal(x[i].sessions, want);
	}
	/* Nothing waits that an expert could take. */
	for (size_t j = 0; j < nr; j++) {
		if (r[j].state != HD_STATE_QUEUED)
			continue;
		for (size_t i = 0; i < nx; i++)
			assert_false(!strcmp(x[i].pool, r[j].pool) && x[i].available &&
			             x[i].sessions < x[i].capacity && strcmp(x[i].name, r[j].with));
	}
}

static void test_random(void **state)
{
	(void)state;
	uint32_t seed = 2463534242u;
	struct media m[2 * R_MAX_REQ];
	size_t nm = 0;
	char err[128], name[16], pool_name[16], with[16];
	struct hd *hd = hd_new(R_POOLS, R_EXPERTS, R_MAX_REQ);
	for (int i = 0; i < R_POOLS; i++) {
		snprintf(pool_name, sizeof(pool_name), "p%d", i);
		pool(hd, pool_name);
	}
	int done = 0;
	uint64_t last_id = 0;
	for (uint64_t now = 0; now < 20000; now++) {
		uint32_t op = rnd(&seed) % 8;
		snprintf(name, sizeof(name), "e%u", rnd(&seed) % R_EXPERTS);
		snprintf(pool_name, sizeof(pool_name), "p%u", rnd(&seed) % R_POOLS);
		int rc = 0;
		switch (op) {
		case 0:
		case 1: {
			char dev[16];
			snprintf(dev, sizeof(dev), "cam%u", rnd(&seed) % R_DEVICES);
			snprintf(with, sizeof(with), "e%u", rnd(&seed) % R_EXPERTS);
			int64_t id =
			    hd_request(hd, dev, pool_name, (int)(rnd(&seed) % 3),
			               rnd(&seed) % 4 ? NULL : with, now, err, sizeof(err));
			if (id > 0)
				last_id = (uint64_t)id;
			rc = id > 0 ? 0 : (int)id;
			break;
		}
		case 2:
		case 3:
			rc = hd_accept(hd, last_id - rnd(&seed) % 30, NULL, now, err, sizeof(err));
			break;
		case 4:
			rc = hd_end(hd, last_id - rnd(&seed) % 30, now, err, sizeof(err));
			break;
		case 5: {
			struct hd_expert_spec s = {.name = name,
			                           .pool = pool_name,
			                           .capacity = 1 + rnd(&seed) % 3,
			                           .auto_accept = rnd(&seed) % 2};
			rc = hd_expert_add(hd, &s, now, err, sizeof(err));
			break;
		}
		case 6:
			rc = rnd(&seed) % 2 ? hd_expert_set_available(hd, name, rnd(&seed) % 3, now,
			                                              err, sizeof(err))
			                    : hd_expert_set_capacity(hd, name, 1 + rnd(&seed) % 3,
			                                             now, err, sizeof(err));
			break;
		case 7:
			rc = rnd(&seed) % 4 ? 0 : hd_expert_del(hd, name, now, err, sizeof(err));
			break;
		}
		assert_true(rc != -ENOBUFS);
		done += rc >= 0;
		take_actions(hd, m, &nm);
		check_invariants(hd);
	}
	assert_true(done > 2000);
	/* Ending everything stops every media flow and frees every expert. */
	struct hd_request_info r[R_MAX_REQ];
	size_t nr = hd_request_list(hd, 0, r, R_MAX_REQ);
	for (size_t i = 0; i < nr; i++)
		end_ok(hd, r[i].id, 30000);
	take_actions(hd, m, &nm);
	check_invariants(hd);
	assert_int_equal(nm, 0);
	assert_int_equal(hd_request_list(hd, 0, NULL, 0), 0);
	struct hd_expert_info x[R_EXPERTS];
	size_t nx = hd_expert_list(hd, x, R_EXPERTS);
	for (size_t i = 0; i < nx; i++)
		assert_int_equal(x[i].sessions, 0);
	hd_free(hd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scenario),
	    cmocka_unit_test(test_tie_breaks),
	    cmocka_unit_test(test_accept_flow),
	    cmocka_unit_test(test_auto_accept),
	    cmocka_unit_test(test_unavailable),
	    cmocka_unit_test(test_capacity),
	    cmocka_unit_test(test_expert_add_serves_queue),
	    cmocka_unit_test(test_expert_del),
	    cmocka_unit_test(test_pool_del),
	    cmocka_unit_test(test_with),
	    cmocka_unit_test(test_waited),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_undrained),
	    cmocka_unit_test(test_listing),
	    cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
