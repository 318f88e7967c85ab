// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The quota policy and the parameter profiles of the real brokerd (local
 * backend), over its Unix socket: every endpoint of policy-api, its
 * failures (422 with the JSON path, 409 naming what cannot be met, 412 on
 * a stale If-Match, 404), a dry run that changes nothing, a policy
 * applied shrinks first, the re-plan when instances come and go, and
 * profiles against a sysfs-like tree of writable and read-only parameter
 * files with a modprobe.d directory of the test's own.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "bt.h"

/* Local capacities: vpids 100; the paths are set per daemon. */
#define CONFIG_FMT \
	"{\"local_capacity\": {\"asids\": 100, \"sev_asids\": 10," \
	" \"sev_es_asids\": 5, \"vpids\": 100, \"pmu_counters\": 6," \
	" \"msr_slots\": 16}, \"log_level\": \"debug\"," \
	" \"sysfs_module_root\": \"%s/sys\", \"modprobe_dir\": \"%s/modprobe\"}"

static int setup(void **state)
{
	struct bt_daemon *d = calloc(1, sizeof(*d));
	char config[512], path[160];

	bt_init(d, NULL);
	snprintf(config, sizeof(config), CONFIG_FMT, d->dir, d->dir);
	bt_write_file(d->config, config);
	snprintf(path, sizeof(path), "%s/sys", d->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/modprobe", d->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(bt_start(d, NULL), 0);
	*state = d;
	return 0;
}

/* ---- helpers ---- */

/* @method @path with a JSON @body (NULL: none); the status must be @status. */
static json_t *call(struct bt_daemon *d, const char *method, const char *path,
		    const char *body, long status)
{
	struct bt_resp r;
	json_t *j;

	bt_http(d, method, path, body ? "application/json" : NULL, body, NULL, &r);
	if (r.status != status)
		fail_msg("%s %s %s: %ld, not %ld: %s", method, path,
			 body ? body : "", r.status, status, r.body);
	j = json_incref(r.json);
	bt_resp_free(&r);
	return j;
}

static void declare(struct bt_daemon *d, const char *name)
{
	char path[96];

	snprintf(path, sizeof(path), "/v1/instances/%s", name);
	json_decref(call(d, "PUT", path, NULL, 201));
}

static void set_vpids(struct bt_daemon *d, const char *name, int v)
{
	char path[96], body[96];

	snprintf(path, sizeof(path), "/v1/instances/%s/quota", name);
	snprintf(body, sizeof(body), "{\"quotas\": {\"vpids\": %d}}", v);
	json_decref(call(d, "PUT", path, body, 200));
}

/* The backend's quota of @kind for @name. */
static long long quota(struct bt_daemon *d, const char *name, const char *kind)
{
	char path[96];
	json_t *j;
	long long q;

	snprintf(path, sizeof(path), "/v1/instances/%s", name);
	j = call(d, "GET", path, NULL, 200);
	q = BT_INT(j, "usage", kind, "quota");
	json_decref(j);
	return q;
}

/* Wait up to 5 s for @name's vpids quota to be @want (events are async). */
static void wait_vpids(struct bt_daemon *d, const char *name, long long want)
{
	long long q = -1;

	for (int i = 0; i < 100 && (q = quota(d, name, "vpids")) != want; i++)
		usleep(50000);
	if (q != want)
		fail_msg("%s: vpids quota %lld, not %lld", name, q, want);
}

static void assert_error_has(json_t *j, const char *code, const char *needle)
{
	const char *c = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
	const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));

	assert_non_null(c);
	assert_non_null(m);
	assert_string_equal(c, code);
	if (!strstr(m, needle))
		fail_msg("\"%s\" not in \"%s\"", needle, m);
}

static char *state_file(struct bt_daemon *d, const char *name)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/%s", d->state, name);
	return bt_read_file(path);
}

#define EVEN "{\"kinds\": {\"vpids\": {\"keep_offline\": true}}}"

/* ---- the policy ---- */

static void test_no_policy_at_first(void **state)
{
	struct bt_daemon *d = *state;
	struct bt_resp r;

	bt_get(d, "/v1/policy", &r);
	assert_int_equal(r.status, 200);
	assert_true(json_is_null(json_object_get(r.json, "policy")));
	assert_int_equal(BT_INT(r.json, "generation"), 0);
	assert_string_equal(r.etag, "\"0\"");
	bt_resp_free(&r);
	json_decref(call(d, "POST", "/v1/policy/plan", NULL, 404));
	json_decref(call(d, "POST", "/v1/policy/apply", NULL, 404));
	/* Deleting no policy is not an error. */
	json_decref(call(d, "DELETE", "/v1/policy", NULL, 204));
}

static void test_invalid_policy_is_422_with_its_path(void **state)
{
	struct bt_daemon *d = *state;
	static const struct {
		const char *doc, *field;
	} bad[] = {
		{ "{\"kinds\": {\"vpids\": {\"instances\": {\"kvm_a\": {\"min\": 20, \"max\": 10}}}}}",
		  "kinds.vpids.instances.kvm_a.min" },
		{ "{\"kinds\": {\"bogus\": {}}}", "kinds.bogus" },
		{ "{\"kinds\": {\"vpids\": {\"reserve\": -1}}}", "kinds.vpids.reserve" },
		{ "{\"kinds\": {}, \"extra\": 1}", "extra" },
		{ "{\"kinds\": ", NULL },
	};
	struct bt_resp r;
	char *before, *after;

	declare(d, "kvm_a");
	before = bt_snapshot(d);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *paths[] = { "/v1/policy", "/v1/policy/plan" };

		for (int p = 0; p < 2; p++) {
			bt_http(d, p ? "POST" : "PUT", paths[p], "application/json",
				bad[i].doc, NULL, &r);
			bt_assert_error(&r, 422, "unprocessable", bad[i].field);
			if (bad[i].field)
				assert_non_null(strstr(json_string_value(json_object_get(
					json_object_get(r.json, "error"), "message")),
					bad[i].field));
			bt_resp_free(&r);
		}
	}
	/* Not JSON at all: 415. */
	bt_http(d, "PUT", "/v1/policy", "text/plain", EVEN, NULL, &r);
	bt_assert_error(&r, 415, "unsupported_media_type", NULL);
	bt_resp_free(&r);
	after = bt_snapshot(d);
	assert_string_equal(before, after);
	assert_null(state_file(d, "policy.json"));
	free(before);
	free(after);
}

static void test_infeasible_policy_is_409_and_stores_nothing(void **state)
{
	struct bt_daemon *d = *state;
	const char *doc = "{\"kinds\": {\"vpids\": {\"keep_offline\": true,"
		" \"instances\": {\"kvm_a\": {\"fixed\": 70}, \"kvm_b\": {\"min\": 40}}}}}";
	char *before, *after;
	json_t *j;

	declare(d, "kvm_a");
	declare(d, "kvm_b");
	set_vpids(d, "kvm_a", 30);
	before = bt_snapshot(d);
	j = call(d, "PUT", "/v1/policy", doc, 409);
	assert_error_has(j, "conflict", "kind vpids, instance kvm_b, constraint min");
	json_decref(j);
	j = call(d, "POST", "/v1/policy/plan", doc, 409);
	assert_error_has(j, "conflict", "constraint min");
	json_decref(j);
	/* A reserve above capacity names no instance. */
	j = call(d, "PUT", "/v1/policy",
		 "{\"kinds\": {\"vpids\": {\"reserve\": 101}}}", 409);
	assert_error_has(j, "conflict", "constraint reserve");
	json_decref(j);
	after = bt_snapshot(d);
	assert_string_equal(before, after);
	j = call(d, "GET", "/v1/policy", NULL, 200);
	assert_true(json_is_null(json_object_get(j, "policy")));
	json_decref(j);
	free(before);
	free(after);
}

static void test_dry_run_plans_and_changes_nothing(void **state)
{
	struct bt_daemon *d = *state;
	char *before, *after;
	json_t *j, *steps;

	declare(d, "kvm_a");
	declare(d, "kvm_b");
	set_vpids(d, "kvm_a", 80);
	before = bt_snapshot(d);
	j = call(d, "POST", "/v1/policy/plan", EVEN, 200);
	steps = json_object_get(json_object_get(j, "plan"), "steps");
	assert_int_equal(json_array_size(steps), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(steps, 0),
							      "instance")), "kvm_a");
	assert_int_equal(BT_INT(json_array_get(steps, 0), "from"), 80);
	assert_int_equal(BT_INT(json_array_get(steps, 0), "to"), 50);
	assert_int_equal(BT_INT(json_array_get(steps, 1), "to"), 50);
	assert_int_equal(BT_INT(j, "plan", "quotas", "kvm_b", "vpids"), 50);
	/* Only the kinds the policy names are planned. */
	assert_null(json_object_get(json_object_get(json_object_get(
		json_object_get(j, "plan"), "quotas"), "kvm_b"), "asids"));
	json_decref(j);
	after = bt_snapshot(d);
	assert_string_equal(before, after);
	assert_null(state_file(d, "policy.json"));
	assert_int_equal(quota(d, "kvm_a", "vpids"), 80);
	free(before);
	free(after);
}

static void test_put_applies_shrinks_first_and_is_stored(void **state)
{
	struct bt_daemon *d = *state;
	const char *doc = "{\"kinds\": {\"vpids\": {\"keep_offline\": true,"
		" \"instances\": {\"kvm_b\": {\"weight\": 3}}}}}";
	const char *hdr_bad[] = { "If-Match: \"7\"", NULL };
	const char *hdr_ok[] = { "If-Match: \"1\"", NULL };
	struct bt_resp r;
	json_t *j, *steps;
	char *file;

	declare(d, "kvm_a");
	declare(d, "kvm_b");
	set_vpids(d, "kvm_a", 80);
	set_vpids(d, "kvm_b", 20);
	/* If-Match "*" needs a stored policy. */
	bt_http(d, "PUT", "/v1/policy", "application/json", doc,
		(const char *[]){ "If-Match: *", NULL }, &r);
	bt_assert_error(&r, 412, "precondition_failed", NULL);
	bt_resp_free(&r);

	j = call(d, "PUT", "/v1/policy", doc, 200);
	assert_int_equal(BT_INT(j, "generation"), 1);
	assert_true(json_is_true(json_object_get(j, "applied")));
	assert_int_equal(json_array_size(json_object_get(j, "errors")), 0);
	steps = json_object_get(json_object_get(j, "plan"), "steps");
	assert_int_equal(json_array_size(steps), 2);
	/* The shrink first: kvm_b's grow fits only after it. */
	assert_string_equal(json_string_value(json_object_get(json_array_get(steps, 0),
							      "instance")), "kvm_a");
	assert_int_equal(BT_INT(json_array_get(steps, 0), "to"), 25);
	assert_string_equal(json_string_value(json_object_get(json_array_get(steps, 1),
							      "instance")), "kvm_b");
	assert_int_equal(BT_INT(json_array_get(steps, 1), "to"), 75);
	json_decref(j);
	assert_int_equal(quota(d, "kvm_a", "vpids"), 25);
	assert_int_equal(quota(d, "kvm_b", "vpids"), 75);
	/* The planned quotas are the desired ones now. */
	j = call(d, "GET", "/v1/instances/kvm_b", NULL, 200);
	assert_int_equal(BT_INT(j, "desired", "vpids"), 75);
	json_decref(j);

	bt_get(d, "/v1/policy", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.etag, "\"1\"");
	assert_int_equal(BT_INT(r.json, "policy", "kinds", "vpids", "instances",
				"kvm_b", "weight"), 3);
	bt_resp_free(&r);
	file = state_file(d, "policy.json");
	assert_non_null(file);
	assert_non_null(strstr(file, "\"generation\": 1"));
	free(file);

	/* A stale If-Match: 412, nothing changes; the right one: 200. */
	bt_http(d, "PUT", "/v1/policy", "application/json", EVEN, hdr_bad, &r);
	bt_assert_error(&r, 412, "precondition_failed", NULL);
	bt_resp_free(&r);
	assert_int_equal(quota(d, "kvm_b", "vpids"), 75);
	bt_http(d, "PUT", "/v1/policy", "application/json", EVEN, hdr_ok, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.etag, "\"2\"");
	bt_resp_free(&r);
	assert_int_equal(quota(d, "kvm_a", "vpids"), 50);
	assert_int_equal(quota(d, "kvm_b", "vpids"), 50);

	/* Kept across a restart. */
	assert_int_equal(bt_stop(d), 0);
	assert_int_equal(bt_start(d, NULL), 0);
	j = call(d, "GET", "/v1/policy", NULL, 200);
	assert_int_equal(BT_INT(j, "generation"), 2);
	assert_true(json_object_get(json_object_get(json_object_get(j, "policy"),
						    "kinds"), "vpids") != NULL);
	json_decref(j);
	assert_int_equal(quota(d, "kvm_a", "vpids"), 50);
}

static void test_offline_instances_hold_nothing_without_keep_offline(void **state)
{
	struct bt_daemon *d = *state;
	json_t *j;

	/* The local backend's instances are all declared, none online. */
	declare(d, "kvm_a");
	set_vpids(d, "kvm_a", 40);
	j = call(d, "PUT", "/v1/policy", "{\"kinds\": {\"vpids\": {}}}", 200);
	assert_int_equal(BT_INT(j, "plan", "quotas", "kvm_a", "vpids"), 0);
	json_decref(j);
	assert_int_equal(quota(d, "kvm_a", "vpids"), 0);
	json_decref(call(d, "PUT", "/v1/policy", EVEN, 200));
	assert_int_equal(quota(d, "kvm_a", "vpids"), 100);
}

static void test_instances_coming_and_going_are_replanned(void **state)
{
	struct bt_daemon *d = *state;
	long long a, b, c;

	declare(d, "kvm_a");
	json_decref(call(d, "PUT", "/v1/policy", EVEN, 200));
	assert_int_equal(quota(d, "kvm_a", "vpids"), 100);
	declare(d, "kvm_b");
	wait_vpids(d, "kvm_b", 50);
	wait_vpids(d, "kvm_a", 50);
	declare(d, "kvm_c");
	wait_vpids(d, "kvm_c", 33);
	a = quota(d, "kvm_a", "vpids");
	b = quota(d, "kvm_b", "vpids");
	c = quota(d, "kvm_c", "vpids");
	assert_int_equal(a + b + c, 100);
	assert_int_equal(a, 34);	/* the remainder by name */
	json_decref(call(d, "DELETE", "/v1/instances/kvm_c", NULL, 204));
	wait_vpids(d, "kvm_a", 50);
	wait_vpids(d, "kvm_b", 50);

	/* Without a policy, instances come and go and quotas stay. */
	json_decref(call(d, "DELETE", "/v1/policy", NULL, 204));
	declare(d, "kvm_d");
	usleep(300000);
	assert_int_equal(quota(d, "kvm_a", "vpids"), 50);
	assert_int_equal(quota(d, "kvm_d", "vpids"), 0);
	json_decref(call(d, "GET", "/v1/policy", NULL, 200));
}

static void test_apply_replans_the_stored_policy(void **state)
{
	struct bt_daemon *d = *state;
	json_t *j;

	declare(d, "kvm_a");
	declare(d, "kvm_b");
	json_decref(call(d, "PUT", "/v1/policy", EVEN, 200));
	/* A change by hand lasts until the policy is applied again. */
	set_vpids(d, "kvm_a", 10);
	assert_int_equal(quota(d, "kvm_a", "vpids"), 10);
	j = call(d, "POST", "/v1/policy/apply", NULL, 200);
	assert_int_equal(BT_INT(j, "generation"), 1);
	assert_true(json_is_true(json_object_get(j, "applied")));
	assert_int_equal(json_array_size(json_object_get(json_object_get(j, "plan"),
							 "steps")), 1);
	json_decref(j);
	assert_int_equal(quota(d, "kvm_a", "vpids"), 50);
	j = call(d, "POST", "/v1/policy/apply", "{\"x\": 1}", 400);
	json_decref(j);
	/* Nothing left to do: no step. */
	j = call(d, "POST", "/v1/policy/apply", "{}", 200);
	assert_int_equal(json_array_size(json_object_get(json_object_get(j, "plan"),
							 "steps")), 0);
	json_decref(j);
}

/* ---- profiles ---- */

static void param_file(struct bt_daemon *d, const char *inst, const char *name,
		       const char *value, mode_t mode)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/sys/%s", d->dir, inst);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/sys/%s/parameters", d->dir, inst);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/sys/%s/parameters/%s", d->dir, inst, name);
	bt_write_file(path, value);
	assert_int_equal(chmod(path, mode), 0);
}

static char *param_value(struct bt_daemon *d, const char *inst, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/sys/%s/parameters/%s", d->dir, inst, name);
	return bt_read_file(path);
}

/* The status of @name in a REPORT. */
static const char *status_of(json_t *report, const char *name)
{
	size_t i;
	json_t *p;

	json_array_foreach(json_object_get(report, "params"), i, p)
		if (!strcmp(json_string_value(json_object_get(p, "name")), name))
			return json_string_value(json_object_get(p, "status"));
	fail_msg("no parameter %s in the report", name);
	return NULL;
}

#define CANARY "{\"quotas\": {\"vpids\": 10, \"asids\": 4}, \"params\": {" \
	"\"halt_poll_ns\": \"0\", \"nx_huge_pages\": \"N\", \"tdp_mmu\": \"N\"," \
	" \"enable_pmu\": \"0\", \"halt_poll_ns_grow\": \"2\"}}"

static void test_profiles_are_stored_listed_and_deleted(void **state)
{
	struct bt_daemon *d = *state;
	json_t *j;
	char *file;

	j = call(d, "GET", "/v1/profiles", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "profiles")), 0);
	json_decref(j);
	j = call(d, "PUT", "/v1/profiles/canary", CANARY, 201);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "canary");
	assert_int_equal(BT_INT(j, "quotas", "vpids"), 10);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "params"),
							      "nx_huge_pages")), "N");
	json_decref(j);
	json_decref(call(d, "PUT", "/v1/profiles/base", "{}", 201));
	/* Replacing one is not creating it. */
	json_decref(call(d, "PUT", "/v1/profiles/base", "{}", 200));
	j = call(d, "GET", "/v1/profiles", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "profiles")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		json_object_get(j, "profiles"), 0), "name")), "base");
	json_decref(j);
	j = call(d, "GET", "/v1/profiles/canary", NULL, 200);
	assert_int_equal(BT_INT(j, "quotas", "asids"), 4);
	json_decref(j);
	file = state_file(d, "profiles.json");
	assert_non_null(file);
	assert_non_null(strstr(file, "halt_poll_ns_grow"));
	free(file);

	/* Kept across a restart. */
	assert_int_equal(bt_stop(d), 0);
	assert_int_equal(bt_start(d, NULL), 0);
	json_decref(call(d, "GET", "/v1/profiles/canary", NULL, 200));

	json_decref(call(d, "DELETE", "/v1/profiles/base", NULL, 204));
	json_decref(call(d, "GET", "/v1/profiles/base", NULL, 404));
	json_decref(call(d, "DELETE", "/v1/profiles/base", NULL, 404));
	json_decref(call(d, "GET", "/v1/profiles/Bad", NULL, 400));
}

static void test_invalid_profile_is_422_and_changes_nothing(void **state)
{
	struct bt_daemon *d = *state;
	static const struct {
		const char *doc, *field;
	} bad[] = {
		{ "{\"params\": {\"Halt\": \"0\"}}", "params.Halt" },
		{ "{\"params\": {\"halt_poll_ns\": 0}}", "params.halt_poll_ns" },
		{ "{\"params\": {\"halt_poll_ns\": \"1\\n2\"}}", "params.halt_poll_ns" },
		{ "{\"quotas\": {\"bogus\": 1}}", "quotas.bogus" },
		{ "{\"quotas\": {\"vpids\": -1}}", "quotas.vpids" },
		{ "{\"quota\": {}}", "quota" },
		{ "[]", NULL },
	};
	struct bt_resp r;
	char *before, *after;

	json_decref(call(d, "PUT", "/v1/profiles/canary", CANARY, 201));
	before = state_file(d, "profiles.json");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bt_http(d, "PUT", "/v1/profiles/canary", "application/json",
			bad[i].doc, NULL, &r);
		bt_assert_error(&r, 422, "unprocessable", bad[i].field);
		bt_resp_free(&r);
	}
	after = state_file(d, "profiles.json");
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void test_profile_apply_reports_each_parameter(void **state)
{
	struct bt_daemon *d = *state;
	char path[192], *text;
	json_t *j;

	declare(d, "kvm_a");
	param_file(d, "kvm_a", "halt_poll_ns", "200000\n", 0644);
	param_file(d, "kvm_a", "halt_poll_ns_grow", "2\n", 0644);
	param_file(d, "kvm_a", "nx_huge_pages", "Y\n", 0644);
	param_file(d, "kvm_a", "tdp_mmu", "Y\n", 0444);
	/* enable_pmu: no file, as for a module not loaded. */
	json_decref(call(d, "PUT", "/v1/profiles/canary", CANARY, 201));

	/* Unknown profile, unknown instance, bad bodies: nothing changes. */
	j = call(d, "POST", "/v1/instances/kvm_a/profile", "{\"profile\": \"nope\"}", 404);
	assert_error_has(j, "not_found", "no profile named nope");
	json_decref(j);
	json_decref(call(d, "POST", "/v1/instances/kvm_z/profile",
			 "{\"profile\": \"canary\"}", 404));
	json_decref(call(d, "POST", "/v1/instances/kvm_a/profile", "{}", 400));
	json_decref(call(d, "POST", "/v1/instances/kvm_a/profile",
			 "{\"profile\": \"canary\", \"x\": 1}", 400));
	json_decref(call(d, "GET", "/v1/instances/kvm_a/profile", NULL, 404));
	text = param_value(d, "kvm_a", "halt_poll_ns");
	assert_string_equal(text, "200000\n");
	free(text);

	j = call(d, "POST", "/v1/instances/kvm_a/profile", "{\"profile\": \"canary\"}", 200);
	assert_string_equal(json_string_value(json_object_get(j, "instance")), "kvm_a");
	assert_string_equal(json_string_value(json_object_get(j, "profile")), "canary");
	assert_string_equal(status_of(j, "halt_poll_ns"), "applied");
	assert_string_equal(status_of(j, "halt_poll_ns_grow"), "applied");
	assert_string_equal(status_of(j, "nx_huge_pages"), "applied");
	assert_string_equal(status_of(j, "tdp_mmu"), "pending");
	assert_string_equal(status_of(j, "enable_pmu"), "unknown");
	snprintf(path, sizeof(path), "%s/modprobe/vac-kvm_a.conf", d->dir);
	assert_string_equal(json_string_value(json_object_get(j, "modprobe_file")), path);
	json_decref(j);
	text = param_value(d, "kvm_a", "halt_poll_ns");
	assert_string_equal(text, "0");
	free(text);
	text = param_value(d, "kvm_a", "tdp_mmu");
	assert_string_equal(text, "Y\n");
	free(text);
	text = bt_read_file(path);
	assert_non_null(text);
	assert_non_null(strstr(text, "\noptions kvm_a enable_pmu=0 tdp_mmu=N\n"));
	free(text);
	assert_int_equal(quota(d, "kvm_a", "vpids"), 10);
	assert_int_equal(quota(d, "kvm_a", "asids"), 4);

	/* The drift check writes nothing. */
	param_file(d, "kvm_a", "halt_poll_ns", "5\n", 0644);
	j = call(d, "GET", "/v1/instances/kvm_a/profile", NULL, 200);
	assert_string_equal(status_of(j, "halt_poll_ns"), "drifted");
	assert_string_equal(status_of(j, "nx_huge_pages"), "applied");
	assert_string_equal(status_of(j, "tdp_mmu"), "pending");
	json_decref(j);
	text = param_value(d, "kvm_a", "halt_poll_ns");
	assert_string_equal(text, "5\n");
	free(text);

	/* The load-time value as desired (after a reload): applied. */
	param_file(d, "kvm_a", "tdp_mmu", "N\n", 0444);
	j = call(d, "GET", "/v1/instances/kvm_a/profile", NULL, 200);
	assert_string_equal(status_of(j, "tdp_mmu"), "applied");
	json_decref(j);

	/* A profile with runtime parameters only removes the old snippet. */
	json_decref(call(d, "PUT", "/v1/profiles/quiet",
			 "{\"params\": {\"halt_poll_ns\": \"7\"}}", 201));
	j = call(d, "POST", "/v1/instances/kvm_a/profile", "{\"profile\": \"quiet\"}", 200);
	assert_true(json_is_null(json_object_get(j, "modprobe_file")));
	assert_string_equal(status_of(j, "halt_poll_ns"), "applied");
	json_decref(j);
	assert_int_equal(access(path, F_OK), -1);
	/* Its quotas were not touched: the profile gives none. */
	assert_int_equal(quota(d, "kvm_a", "vpids"), 10);
}

static void test_profile_quotas_over_capacity_are_409(void **state)
{
	struct bt_daemon *d = *state;
	char *text;
	json_t *j;

	declare(d, "kvm_a");
	param_file(d, "kvm_a", "halt_poll_ns", "1\n", 0644);
	json_decref(call(d, "PUT", "/v1/profiles/big",
			 "{\"quotas\": {\"vpids\": 101}, \"params\": {\"halt_poll_ns\": \"0\"}}",
			 201));
	j = call(d, "POST", "/v1/instances/kvm_a/profile", "{\"profile\": \"big\"}", 409);
	json_decref(j);
	/* All or nothing: the parameter was not written either. */
	text = param_value(d, "kvm_a", "halt_poll_ns");
	assert_non_null(text);
	assert_string_equal(text, "1\n");
	free(text);
	json_decref(call(d, "GET", "/v1/instances/kvm_a/profile", NULL, 404));
}

static void test_state_survives_a_restart_and_bad_files_stop_the_start(void **state)
{
	struct bt_daemon *d = *state;
	char path[192], *good;
	json_t *j;

	declare(d, "kvm_a");
	param_file(d, "kvm_a", "halt_poll_ns", "9\n", 0644);
	json_decref(call(d, "PUT", "/v1/policy", EVEN, 200));
	json_decref(call(d, "PUT", "/v1/profiles/quiet",
			 "{\"params\": {\"halt_poll_ns\": \"7\"}}", 201));
	json_decref(call(d, "POST", "/v1/instances/kvm_a/profile",
			 "{\"profile\": \"quiet\"}", 200));
	assert_int_equal(bt_stop(d), 0);
	assert_int_equal(bt_start(d, NULL), 0);
	j = call(d, "GET", "/v1/instances/kvm_a/profile", NULL, 200);
	assert_string_equal(status_of(j, "halt_poll_ns"), "applied");
	json_decref(j);

	/* A policy file that does not parse is the operator's to resolve. */
	assert_int_equal(bt_stop(d), 0);
	snprintf(path, sizeof(path), "%s/policy.json", d->state);
	good = bt_read_file(path);
	assert_non_null(good);
	bt_write_file(path, "{\"version\": 1, \"generation\": 3,"
		      " \"policy\": {\"kinds\": {\"vpids\": {\"reserve\": -1}}}}");
	assert_int_not_equal(bt_run(d, NULL), 0);
	assert_true(bt_log_has(d, "policy.json"));
	assert_true(bt_log_has(d, "kinds.vpids.reserve"));
	bt_write_file(path, good);
	free(good);
	snprintf(path, sizeof(path), "%s/profiles.json", d->state);
	good = bt_read_file(path);
	bt_write_file(path, "{\"version\": 1, \"profiles\": {\"x\": {\"params\": {\"A\": \"1\"}}},"
		      " \"applied\": {}}");
	assert_int_not_equal(bt_run(d, NULL), 0);
	assert_true(bt_log_has(d, "params.A"));
	bt_write_file(path, good);
	free(good);
	assert_int_equal(bt_start(d, NULL), 0);
	json_decref(call(d, "GET", "/v1/profiles/quiet", NULL, 200));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, bt_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_no_policy_at_first),
		T(test_invalid_policy_is_422_with_its_path),
		T(test_infeasible_policy_is_409_and_stores_nothing),
		T(test_dry_run_plans_and_changes_nothing),
		T(test_put_applies_shrinks_first_and_is_stored),
		T(test_offline_instances_hold_nothing_without_keep_offline),
		T(test_instances_coming_and_going_are_replanned),
		T(test_apply_replans_the_stored_policy),
		T(test_profiles_are_stored_listed_and_deleted),
		T(test_invalid_profile_is_422_and_changes_nothing),
		T(test_profile_apply_reports_each_parameter),
		T(test_profile_quotas_over_capacity_are_409),
		T(test_state_survives_a_restart_and_bad_files_stop_the_start),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
