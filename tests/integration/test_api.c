// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * REST v1 of the real brokerd (local backend), over its Unix socket: every
 * endpoint, every error code that applies without authentication, and
 * the state left unchanged by every rejected request.  Each test has a
 * daemon of its own, stopped with SIGTERM at the end: a clean stop (exit
 * 0, nothing leaked under AddressSanitizer) is part of every test.
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

static const char *const kinds[] = {
	"asids", "sev_asids", "sev_es_asids", "vpids", "pmu_counters", "msr_slots",
};
static const long long capacity[] = { 100, 10, 5, 1000, 6, 16 };

#define CONFIG \
	"{\"local_capacity\": {\"asids\": 100, \"sev_asids\": 10," \
	" \"sev_es_asids\": 5, \"vpids\": 1000, \"pmu_counters\": 6," \
	" \"msr_slots\": 16}," \
	" \"limits\": {\"body_max\": 4096, \"sse_clients\": 2," \
	" \"sse_keepalive\": 1}," \
	" \"log_level\": \"debug\"}"

static int setup(void **state)
{
	struct bt_daemon *d = calloc(1, sizeof(*d));

	bt_init(d, CONFIG);
	assert_int_equal(bt_start(d, NULL), 0);
	*state = d;
	return 0;
}


/* ---- helpers ---- */

static json_t *declare(struct bt_daemon *d, const char *name, long status)
{
	struct bt_resp r;
	char path[96];
	json_t *j;

	snprintf(path, sizeof(path), "/v1/instances/%s", name);
	bt_http(d, "PUT", path, NULL, NULL, NULL, &r);
	if (r.status != status)
		fail_msg("declare %s: %ld: %s", name, r.status, r.body);
	j = json_incref(r.json);
	bt_resp_free(&r);
	return j;
}

static json_t *set_quota(struct bt_daemon *d, const char *name,
			 const char *body, long status)
{
	struct bt_resp r;
	char path[96];
	json_t *j;

	snprintf(path, sizeof(path), "/v1/instances/%s/quota", name);
	bt_put_json(d, path, body, &r);
	if (r.status != status)
		fail_msg("quota %s %s: %ld: %s", name, body, r.status, r.body);
	j = json_incref(r.json);
	bt_resp_free(&r);
	return j;
}

static void assert_unchanged(struct bt_daemon *d, const char *before)
{
	char *after = bt_snapshot(d);

	assert_string_equal(before, after);
	free(after);
}

static json_t *resource(json_t *resources, const char *kind)
{
	size_t i;
	json_t *r;

	json_array_foreach(json_object_get(resources, "resources"), i, r)
		if (!strcmp(json_string_value(json_object_get(r, "kind")), kind))
			return r;
	fail_msg("no resource %s", kind);
	return NULL;
}

/* ---- tests ---- */

static void test_healthz_names_the_local_backend(void **state)
{
	struct bt_resp r;

	bt_get(*state, "/healthz", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ok");
	assert_string_equal(json_string_value(json_object_get(r.json, "backend")), "local");
	bt_resp_free(&r);
}

static void test_resources_list_every_kind_in_uapi_order(void **state)
{
	/* SEV-ES ASIDs from 1, SEV ASIDs after them, plain ASIDs last. */
	static const long long first[] = { 16, 6, 1, 1, 0, 0 };
	json_t *list, *r;
	struct bt_resp resp;
	size_t i;

	bt_get(*state, "/v1/resources", &resp);
	assert_int_equal(resp.status, 200);
	assert_string_equal(json_string_value(json_object_get(resp.json, "backend")),
			    "local");
	list = json_object_get(resp.json, "resources");
	assert_int_equal(json_array_size(list), 6);
	json_array_foreach(list, i, r) {
		assert_string_equal(json_string_value(json_object_get(r, "kind")), kinds[i]);
		assert_int_equal(BT_INT(r, "capacity"), capacity[i]);
		assert_int_equal(BT_INT(r, "first"), first[i]);
		assert_int_equal(BT_INT(r, "reserved"), 0);
		assert_int_equal(BT_INT(r, "used"), 0);
		assert_int_equal(BT_INT(r, "free"), capacity[i]);
		assert_int_equal(BT_INT(r, "probed"), 0);
		assert_true(json_is_true(json_object_get(r, "overridden")));
	}
	bt_resp_free(&resp);
}

static void test_declare_creates_once_then_answers_200(void **state)
{
	struct bt_daemon *d = *state;
	struct bt_resp r;
	json_t *usage, *u;
	const char *kind;
	char etag[32];

	bt_http(d, "PUT", "/v1/instances/kvm_a", NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(json_string_value(json_object_get(r.json, "name")), "kvm_a");
	assert_string_equal(json_string_value(json_object_get(r.json, "state")), "declared");
	assert_true(json_is_null(json_object_get(r.json, "module")));
	assert_int_equal(json_object_size(json_object_get(r.json, "desired")), 0);
	assert_int_equal(json_array_size(json_object_get(r.json, "unapplied")), 0);
	usage = json_object_get(r.json, "usage");
	assert_int_equal(json_object_size(usage), 6);
	json_object_foreach(usage, kind, u) {
		assert_int_equal(BT_INT(u, "quota"), 0);
		assert_int_equal(BT_INT(u, "used"), 0);
		assert_int_equal(BT_INT(u, "peak"), 0);
		assert_int_equal(BT_INT(u, "failcnt"), 0);
	}
	snprintf(etag, sizeof(etag), "\"%lld\"", BT_INT(r.json, "generation"));
	assert_string_equal(r.etag, etag);
	bt_resp_free(&r);

	/* Again: it exists, nothing changes, the generation stays. */
	bt_http(d, "PUT", "/v1/instances/kvm_a", NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.etag, etag);
	bt_resp_free(&r);

	/* A body, if any, is an empty JSON object. */
	bt_put_json(d, "/v1/instances/kvm_a", "{}", &r);
	assert_int_equal(r.status, 200);
	bt_resp_free(&r);
}

static void test_declare_rejects_bodies_it_does_not_take(void **state)
{
	struct bt_daemon *d = *state;
	char *before = bt_snapshot(d);
	struct bt_resp r;

	bt_put_json(d, "/v1/instances/kvm_a", "{\"quotas\": {}}", &r);
	bt_assert_error(&r, 400, "bad_request", "quotas");
	bt_resp_free(&r);
	bt_http(d, "PUT", "/v1/instances/kvm_a", "text/plain", "hello", NULL, &r);
	bt_assert_error(&r, 415, "unsupported_media_type", NULL);
	bt_resp_free(&r);
	assert_unchanged(d, before);
	free(before);
}

static void test_instances_are_listed_by_name_and_got_with_etag(void **state)
{
	struct bt_daemon *d = *state;
	json_t *list;
	struct bt_resp r;
	char etag[32];

	json_decref(declare(d, "kvm_b", 201));
	json_decref(declare(d, "kvm_a", 201));
	bt_get(d, "/v1/instances", &r);
	assert_int_equal(r.status, 200);
	list = json_object_get(r.json, "instances");
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "name")), "kvm_a");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "name")), "kvm_b");
	bt_resp_free(&r);

	bt_get(d, "/v1/instances/kvm_b", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "name")), "kvm_b");
	snprintf(etag, sizeof(etag), "\"%lld\"", BT_INT(r.json, "generation"));
	assert_string_equal(r.etag, etag);
	bt_resp_free(&r);
}

static void test_quota_is_applied_and_recorded(void **state)
{
	struct bt_daemon *d = *state;
	json_t *j, *file, *res;
	struct bt_resp r;
	long long gen0, gen1;
	char etag[32], *text;

	j = declare(d, "kvm_a", 201);
	gen0 = BT_INT(j, "generation");
	json_decref(j);

	bt_put_json(d, "/v1/instances/kvm_a/quota",
		    "{\"quotas\": {\"asids\": 40, \"vpids\": 600}}", &r);
	assert_int_equal(r.status, 200);
	gen1 = BT_INT(r.json, "generation");
	assert_true(gen1 > gen0);
	snprintf(etag, sizeof(etag), "\"%lld\"", gen1);
	assert_string_equal(r.etag, etag);
	assert_int_equal(BT_INT(r.json, "usage", "asids", "quota"), 40);
	assert_int_equal(BT_INT(r.json, "usage", "asids", "base"), 16);
	assert_int_equal(BT_INT(r.json, "usage", "vpids", "quota"), 600);
	assert_int_equal(BT_INT(r.json, "desired", "asids"), 40);
	assert_int_equal(BT_INT(r.json, "desired", "vpids"), 600);
	assert_int_equal(json_object_size(json_object_get(r.json, "desired")), 2);
	assert_int_equal(json_array_size(json_object_get(r.json, "unapplied")), 0);
	bt_resp_free(&r);

	bt_get(d, "/v1/resources", &r);
	res = resource(r.json, "asids");
	assert_int_equal(BT_INT(res, "reserved"), 40);
	assert_int_equal(BT_INT(res, "free"), 60);
	assert_int_equal(BT_INT(resource(r.json, "vpids"), "reserved"), 600);
	bt_resp_free(&r);

	/* On disk before the answer came. */
	text = NULL;
	file = bt_state(d);
	assert_non_null(file);
	j = json_array_get(json_object_get(file, "instances"), 0);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "kvm_a");
	assert_int_equal(BT_INT(j, "quotas", "vpids"), 600);
	assert_int_equal(BT_INT(j, "generation"), gen1);
	json_decref(file);
	free(text);

	/* Another kind later: the earlier ones stay desired. */
	j = set_quota(d, "kvm_a", "{\"quotas\": {\"vpids\": 100}, \"force\": false}", 200);
	assert_int_equal(BT_INT(j, "desired", "asids"), 40);
	assert_int_equal(BT_INT(j, "desired", "vpids"), 100);
	assert_int_equal(BT_INT(j, "usage", "vpids", "quota"), 100);
	json_decref(j);
}

static void test_quota_over_capacity_is_409_and_changes_nothing(void **state)
{
	struct bt_daemon *d = *state;
	struct bt_resp r;
	char *before;

	json_decref(declare(d, "kvm_a", 201));
	json_decref(declare(d, "kvm_b", 201));
	json_decref(set_quota(d, "kvm_a", "{\"quotas\": {\"vpids\": 600}}", 200));
	before = bt_snapshot(d);

	/* asids would fit; vpids do not: neither is applied. */
	bt_put_json(d, "/v1/instances/kvm_b/quota",
		    "{\"quotas\": {\"asids\": 10, \"vpids\": 500}}", &r);
	bt_assert_error(&r, 409, "conflict", "quotas.vpids");
	assert_non_null(strstr(json_string_value(json_object_get(
		json_object_get(r.json, "error"), "message")), "capacity"));
	bt_resp_free(&r);
	assert_unchanged(d, before);

	bt_put_json(d, "/v1/instances/kvm_a/quota",
		    "{\"quotas\": {\"pmu_counters\": 7}}", &r);
	bt_assert_error(&r, 409, "conflict", "quotas.pmu_counters");
	bt_resp_free(&r);
	assert_unchanged(d, before);
	free(before);
}

static void test_bad_requests_are_400_naming_the_field(void **state)
{
	static const struct {
		const char *method, *path, *body, *field;
	} cases[] = {
		{ "PUT", "/v1/instances/Kvm_a/quota", "{\"quotas\": {\"vpids\": 1}}", "name" },
		{ "PUT", "/v1/instances/kvm-a", NULL, "name" },
		{ "GET", "/v1/instances/kvm.a", NULL, "name" },
		{ "DELETE", "/v1/instances/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL, "name" },
		{ "PUT", "/v1/instances/kvm_a/quota", "{\"quotas\": {\"vpidz\": 1}}", "quotas.vpidz" },
		{ "PUT", "/v1/instances/kvm_a/quota", "{\"quotas\": {\"vpids\": -1}}", "quotas.vpids" },
		{ "PUT", "/v1/instances/kvm_a/quota", "{\"quotas\": {\"vpids\": 4294967296}}", "quotas.vpids" },
		{ "PUT", "/v1/instances/kvm_a/quota", "{\"quotas\": {\"vpids\": 1.5}}", "quotas.vpids" },
		{ "PUT", "/v1/instances/kvm_a/quota", "{\"quotas\": {\"vpids\": \"12\"}}", "quotas.vpids" },
		{ "PUT", "/v1/instances/kvm_a/quota", "{\"quotas\": {\"vpids\": null}}", "quotas.vpids" },
		{ "PUT", "/v1/instances/kvm_a/quota", "{\"quotas\": {\"vpids\": 1}, \"extra\": 1}", "extra" },
		{ "PUT", "/v1/instances/kvm_a/quota", "{\"quotas\": {\"vpids\": 1}, \"force\": \"yes\"}", "force" },
		{ "PUT", "/v1/instances/kvm_a/quota", "{\"quotas\": [1]}", "quotas" },
		{ "PUT", "/v1/instances/kvm_a/quota", "{\"quotas\": {}}", "quotas" },
		{ "PUT", "/v1/instances/kvm_a/quota", "{}", "quotas" },
		{ "PUT", "/v1/instances/kvm_a/quota", "{\"quotas\": ", "body" },
		{ "PUT", "/v1/instances/kvm_a/quota", "[]", "body" },
		{ "PUT", "/v1/instances/kvm_a/quota", "", "body" },
		{ "PUT", "/v1/instances/kvm_a/quota", "{\"quotas\": {\"vpids\": 1, \"vpids\": 2}}", "body" },
	};
	struct bt_daemon *d = *state;
	char *before;

	json_decref(declare(d, "kvm_a", 201));
	json_decref(set_quota(d, "kvm_a", "{\"quotas\": {\"vpids\": 5}}", 200));
	before = bt_snapshot(d);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bt_resp r;

		bt_http(d, cases[i].method, cases[i].path,
			cases[i].body ? "application/json" : NULL, cases[i].body,
			NULL, &r);
		print_message("%s %s %s -> %s\n", cases[i].method, cases[i].path,
			      cases[i].body ? cases[i].body : "", r.body);
		bt_assert_error(&r, 400, "bad_request", cases[i].field);
		bt_resp_free(&r);
		assert_unchanged(d, before);
	}
	free(before);
}

static void test_unknown_paths_and_instances_are_404(void **state)
{
	static const struct {
		const char *method, *path;
	} cases[] = {
		{ "GET", "/" },
		{ "GET", "/v1" },
		{ "GET", "/v1/instances/" },
		{ "GET", "/v1/instances/kvm_a/quota/x" },
		{ "GET", "/v2/resources" },
		{ "GET", "/v1/instances/nosuch" },
		{ "DELETE", "/v1/instances/nosuch" },
	};
	struct bt_daemon *d = *state;
	struct bt_resp r;
	char *before = bt_snapshot(d);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bt_http(d, cases[i].method, cases[i].path, NULL, NULL, NULL, &r);
		bt_assert_error(&r, 404, "not_found", NULL);
		assert_string_equal(r.content_type, "application/json");
		bt_resp_free(&r);
	}
	bt_put_json(d, "/v1/instances/nosuch/quota", "{\"quotas\": {\"vpids\": 1}}", &r);
	bt_assert_error(&r, 404, "not_found", NULL);
	bt_resp_free(&r);
	assert_unchanged(d, before);
	free(before);
}

static void test_wrong_method_on_a_known_path_is_405(void **state)
{
	static const struct {
		const char *method, *path, *allow;
	} cases[] = {
		{ "POST", "/v1/instances", "GET" },
		{ "DELETE", "/healthz", "GET" },
		{ "PUT", "/v1/resources", "GET" },
		{ "GET", "/v1/instances/kvm_a/quota", "PUT" },
		{ "PATCH", "/v1/instances/kvm_a", "GET, PUT, DELETE" },
		{ "POST", "/v1/events", "GET" },
	};
	struct bt_daemon *d = *state;
	struct bt_resp r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bt_http(d, cases[i].method, cases[i].path, NULL, NULL, NULL, &r);
		bt_assert_error(&r, 405, "method_not_allowed", NULL);
		assert_string_equal(r.allow, cases[i].allow);
		bt_resp_free(&r);
	}
}

static void test_if_match_guards_concurrent_updates(void **state)
{
	struct bt_daemon *d = *state;
	const char *stale[] = { "If-Match: \"999\"", NULL };
	const char *any[] = { "If-Match: *", NULL };
	const char *body = "{\"quotas\": {\"vpids\": 7}}";
	struct bt_resp r;
	char fresh_hdr[64], *before;
	const char *fresh[] = { fresh_hdr, NULL };
	json_t *j;

	j = set_quota(d, "kvm_a", body, 404);
	json_decref(j);
	j = declare(d, "kvm_a", 201);
	snprintf(fresh_hdr, sizeof(fresh_hdr), "If-Match: \"%lld\"",
		 BT_INT(j, "generation"));
	json_decref(j);

	before = bt_snapshot(d);
	bt_http(d, "PUT", "/v1/instances/kvm_a/quota", "application/json", body,
		stale, &r);
	bt_assert_error(&r, 412, "precondition_failed", NULL);
	bt_resp_free(&r);
	bt_http(d, "DELETE", "/v1/instances/kvm_a", NULL, NULL, stale, &r);
	bt_assert_error(&r, 412, "precondition_failed", NULL);
	bt_resp_free(&r);
	/* "*" needs the instance to exist. */
	bt_http(d, "PUT", "/v1/instances/kvm_new", NULL, NULL, any, &r);
	bt_assert_error(&r, 412, "precondition_failed", NULL);
	bt_resp_free(&r);
	assert_unchanged(d, before);
	free(before);

	bt_http(d, "PUT", "/v1/instances/kvm_a/quota", "application/json", body,
		fresh, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(BT_INT(r.json, "usage", "vpids", "quota"), 7);
	bt_resp_free(&r);
	/* The generation moved on: the same If-Match is stale now. */
	bt_http(d, "PUT", "/v1/instances/kvm_a/quota", "application/json", body,
		fresh, &r);
	bt_assert_error(&r, 412, "precondition_failed", NULL);
	bt_resp_free(&r);
	bt_http(d, "PUT", "/v1/instances/kvm_a/quota", "application/json", body,
		any, &r);
	assert_int_equal(r.status, 200);
	bt_resp_free(&r);
}

static void test_oversized_body_is_413_and_changes_nothing(void **state)
{
	struct bt_daemon *d = *state;
	char body[8192], *before;
	struct bt_resp r;
	int n;

	json_decref(declare(d, "kvm_a", 201));
	before = bt_snapshot(d);
	/* Valid JSON, only too long (body_max is 4096). */
	n = snprintf(body, sizeof(body), "{\"quotas\": {\"vpids\": 1}}");
	memset(body + n, ' ', sizeof(body) - n - 1);
	body[sizeof(body) - 1] = 0;
	bt_put_json(d, "/v1/instances/kvm_a/quota", body, &r);
	bt_assert_error(&r, 413, "payload_too_large", NULL);
	bt_resp_free(&r);
	assert_unchanged(d, before);
	free(before);
}

static void test_put_without_json_content_type_is_415(void **state)
{
	struct bt_daemon *d = *state;
	const char *body = "{\"quotas\": {\"vpids\": 3}}";
	struct bt_resp r;
	char *before;

	json_decref(declare(d, "kvm_a", 201));
	before = bt_snapshot(d);
	bt_http(d, "PUT", "/v1/instances/kvm_a/quota", NULL, body, NULL, &r);
	bt_assert_error(&r, 415, "unsupported_media_type", NULL);
	bt_resp_free(&r);
	bt_http(d, "PUT", "/v1/instances/kvm_a/quota",
		"application/x-www-form-urlencoded", body, NULL, &r);
	bt_assert_error(&r, 415, "unsupported_media_type", NULL);
	bt_resp_free(&r);
	bt_http(d, "PUT", "/v1/instances/kvm_a/quota", "application/jsonx", body,
		NULL, &r);
	bt_assert_error(&r, 415, "unsupported_media_type", NULL);
	bt_resp_free(&r);
	assert_unchanged(d, before);
	free(before);

	bt_http(d, "PUT", "/v1/instances/kvm_a/quota",
		"application/json; charset=utf-8", body, NULL, &r);
	assert_int_equal(r.status, 200);
	bt_resp_free(&r);
}

static void test_delete_drops_the_instance_and_its_desired_quotas(void **state)
{
	struct bt_daemon *d = *state;
	struct bt_resp r;
	char path[160], *file;
	json_t *j;

	json_decref(declare(d, "kvm_a", 201));
	json_decref(declare(d, "kvm_keep", 201));
	json_decref(set_quota(d, "kvm_a", "{\"quotas\": {\"vpids\": 300}}", 200));
	bt_http(d, "DELETE", "/v1/instances/kvm_a", NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 204);
	assert_string_equal(r.body, "");
	bt_resp_free(&r);

	bt_get(d, "/v1/instances/kvm_a", &r);
	bt_assert_error(&r, 404, "not_found", NULL);
	bt_resp_free(&r);
	bt_get(d, "/v1/resources", &r);
	assert_int_equal(BT_INT(resource(r.json, "vpids"), "reserved"), 0);
	bt_resp_free(&r);
	(void)path;
	file = bt_state_text(d);
	assert_null(strstr(file, "kvm_a"));
	assert_non_null(strstr(file, "kvm_keep"));
	free(file);

	/* Declared again, it starts afresh. */
	j = declare(d, "kvm_a", 201);
	assert_int_equal(json_object_size(json_object_get(j, "desired")), 0);
	assert_int_equal(BT_INT(j, "usage", "vpids", "quota"), 0);
	json_decref(j);
}

static void test_metrics_match_resources_and_instances(void **state)
{
	struct bt_daemon *d = *state;
	struct bt_resp res, inst, m, nf;
	char sample[160];

	json_decref(declare(d, "kvm_a", 201));
	json_decref(set_quota(d, "kvm_a",
		"{\"quotas\": {\"asids\": 30, \"vpids\": 200, \"msr_slots\": 2}}", 200));
	bt_get(d, "/nope", &nf);
	bt_get(d, "/v1/resources", &res);
	bt_get(d, "/v1/instances/kvm_a", &inst);
	bt_get(d, "/metrics", &m);
	assert_int_equal(m.status, 200);
	assert_non_null(strstr(m.content_type, "text/plain"));
	assert_non_null(strstr(m.body, "# TYPE vac_instance_failcnt_total counter"));

	for (size_t k = 0; k < 6; k++) {
		json_t *r = resource(res.json, kinds[k]);
		static const char *const gauges[][2] = {
			{ "vac_capacity", "capacity" },
			{ "vac_reserved", "reserved" },
			{ "vac_used", "used" },
		};

		for (size_t g = 0; g < 3; g++) {
			snprintf(sample, sizeof(sample), "%s{kind=\"%s\"}",
				 gauges[g][0], kinds[k]);
			assert_int_equal((long long)bt_metric(m.body, sample),
					 BT_INT(r, gauges[g][1]));
		}
		snprintf(sample, sizeof(sample),
			 "vac_instance_quota{instance=\"kvm_a\",kind=\"%s\"}", kinds[k]);
		assert_int_equal((long long)bt_metric(m.body, sample),
				 BT_INT(inst.json, "usage", kinds[k], "quota"));
		snprintf(sample, sizeof(sample),
			 "vac_instance_used{instance=\"kvm_a\",kind=\"%s\"}", kinds[k]);
		assert_int_equal((long long)bt_metric(m.body, sample), 0);
		snprintf(sample, sizeof(sample),
			 "vac_instance_peak{instance=\"kvm_a\",kind=\"%s\"}", kinds[k]);
		assert_int_equal((long long)bt_metric(m.body, sample), 0);
		snprintf(sample, sizeof(sample),
			 "vac_instance_failcnt_total{instance=\"kvm_a\",kind=\"%s\"}",
			 kinds[k]);
		assert_int_equal((long long)bt_metric(m.body, sample), 0);
	}
	assert_int_equal(bt_metric(m.body, "vac_reserved{kind=\"vpids\"}"), 200);
	assert_int_equal(bt_metric(m.body, "vac_instance_online{instance=\"kvm_a\"}"), 0);
	assert_int_equal(bt_metric(m.body, "brokerd_backend_up{backend=\"local\"}"), 1);
	/* Every request so far was answered and counted: 201, 200 (x3), 404. */
	assert_true(bt_metric(m.body, "brokerd_http_requests_total{code=\"200\"}") >= 3);
	assert_int_equal(bt_metric(m.body, "brokerd_http_requests_total{code=\"201\"}"), 1);
	assert_int_equal(bt_metric(m.body, "brokerd_http_requests_total{code=\"404\"}"), 1);
	bt_resp_free(&nf);
	bt_resp_free(&res);
	bt_resp_free(&inst);
	bt_resp_free(&m);
}

static void test_event_stream_delivers_every_change(void **state)
{
	struct bt_daemon *d = *state;
	struct bt_stream *s = bt_stream_open(d, "/v1/events");
	struct bt_resp r;
	char *ev, *data;
	json_t *j;

	ev = bt_stream_wait(s, ": subscribed", 10000);
	assert_non_null(ev);
	free(ev);
	assert_string_equal(bt_stream_content_type(s), "text/event-stream");

	json_decref(declare(d, "kvm_a", 201));
	ev = bt_stream_wait(s, "event: instance-new\n", 10000);
	assert_non_null(ev);
	assert_non_null(strstr(ev, "\"name\":\"kvm_a\""));
	free(ev);

	json_decref(set_quota(d, "kvm_a", "{\"quotas\": {\"vpids\": 10}}", 200));
	ev = bt_stream_wait(s, "event: quota\n", 10000);
	assert_non_null(ev);
	data = strstr(ev, "data: ");
	assert_non_null(data);
	j = json_loads(data + 6, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "kvm_a");
	assert_int_equal(BT_INT(j, "usage", "vpids", "quota"), 10);
	assert_int_equal(BT_INT(j, "desired", "vpids"), 10);
	json_decref(j);
	free(ev);

	/* Idle streams get comments (sse_keepalive is 1 s here). */
	ev = bt_stream_wait(s, ": keep-alive", 10000);
	assert_non_null(ev);
	free(ev);

	bt_http(d, "DELETE", "/v1/instances/kvm_a", NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 204);
	bt_resp_free(&r);
	ev = bt_stream_wait(s, "event: instance-del\n", 10000);
	assert_non_null(ev);
	assert_non_null(strstr(ev, "\"name\":\"kvm_a\""));
	free(ev);
	bt_stream_close(s);
}

static void test_event_streams_are_bounded(void **state)
{
	struct bt_daemon *d = *state;
	struct bt_stream *s[2];
	struct bt_resp r;
	char *ev;

	for (int i = 0; i < 2; i++) {
		s[i] = bt_stream_open(d, "/v1/events");
		ev = bt_stream_wait(s[i], ": subscribed", 10000);
		assert_non_null(ev);
		free(ev);
	}
	bt_get(d, "/v1/events", &r);
	bt_assert_error(&r, 503, "unavailable", NULL);
	bt_resp_free(&r);
	/*
	 * A stream that ends frees its place, once the daemon notices: at
	 * its next keep-alive (every second here).
	 */
	bt_stream_close(s[0]);
	for (int tries = 0;; tries++) {
		struct bt_stream *again = bt_stream_open(d, "/v1/events");

		ev = bt_stream_wait(again, ": subscribed", 200);
		bt_stream_close(again);
		if (ev)
			break;
		assert_true(tries < 100);
		usleep(100000);
	}
	free(ev);
	bt_stream_close(s[1]);
}

/* A stream subscribed within @ms, or NULL (closed then). */
static struct bt_stream *subscribed(struct bt_daemon *d, const char *token,
				    int ms)
{
	struct bt_stream *s = bt_stream_open_token(d, "/v1/events", token);
	char *ev = bt_stream_wait(s, ": subscribed", ms);

	if (!ev) {
		bt_stream_close(s);
		return NULL;
	}
	free(ev);
	return s;
}

/*
 * With keep-alives far apart, a stream whose client closed frees its
 * place at once, not at the next keep-alive; and one token holds at
 * most half the places, leaving the rest to others.
 */
static void test_closed_streams_free_their_places_at_once(void **state)
{
	struct bt_daemon d;
	struct bt_stream *s[16], *extra;
	struct bt_resp r;
	char *tok;

	(void)state;
	bt_init(&d, "{\"limits\": {\"sse_clients\": 16, "
		"\"sse_keepalive\": 60}}");
	assert_int_equal(bt_start(&d, NULL), 0);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 16; i++) {
			s[i] = subscribed(&d, NULL, 1000);
			if (!s[i])
				fail_msg("round %d: stream %d not accepted within 1 s",
					 round, i);
		}
		bt_get(&d, "/v1/events", &r);
		bt_assert_error(&r, 503, "unavailable", NULL);
		bt_resp_free(&r);
		for (int i = 0; i < 16; i++)
			bt_stream_close(s[i]);
	}

	tok = bt_token(&d, "watcher", "viewer");
	for (int i = 0; i < 8; i++) {
		s[i] = subscribed(&d, tok, 1000);
		assert_non_null(s[i]);
	}
	extra = bt_stream_open_token(&d, "/v1/events", tok);
	assert_null(bt_stream_wait(extra, ": subscribed", 1000));
	bt_stream_close(extra);
	{
		const char *hdr[2] = { NULL, NULL };
		char auth[256];

		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
		hdr[0] = auth;
		bt_http(&d, "GET", "/v1/events", NULL, NULL, hdr, &r);
		bt_assert_error(&r, 503, "unavailable", NULL);
		assert_non_null(strstr(r.body, "for this client (at most 8)"));
		bt_resp_free(&r);
	}
	/* Others still get theirs, and a place the token gives up is its again. */
	extra = subscribed(&d, NULL, 1000);
	assert_non_null(extra);
	bt_stream_close(s[0]);
	s[0] = subscribed(&d, tok, 1000);
	assert_non_null(s[0]);
	bt_stream_close(extra);
	for (int i = 0; i < 8; i++)
		bt_stream_close(s[i]);
	free(tok);
	assert_int_equal(bt_stop(&d), 0);
	bt_cleanup(&d);
}

static void test_unix_socket_is_0660(void **state)
{
	struct bt_daemon *d = *state;
	struct stat st;

	assert_int_equal(stat(d->sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, bt_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_healthz_names_the_local_backend),
		T(test_resources_list_every_kind_in_uapi_order),
		T(test_declare_creates_once_then_answers_200),
		T(test_declare_rejects_bodies_it_does_not_take),
		T(test_instances_are_listed_by_name_and_got_with_etag),
		T(test_quota_is_applied_and_recorded),
		T(test_quota_over_capacity_is_409_and_changes_nothing),
		T(test_bad_requests_are_400_naming_the_field),
		T(test_unknown_paths_and_instances_are_404),
		T(test_wrong_method_on_a_known_path_is_405),
		T(test_if_match_guards_concurrent_updates),
		T(test_oversized_body_is_413_and_changes_nothing),
		T(test_put_without_json_content_type_is_415),
		T(test_delete_drops_the_instance_and_its_desired_quotas),
		T(test_metrics_match_resources_and_instances),
		T(test_event_stream_delivers_every_change),
		T(test_event_streams_are_bounded),
		cmocka_unit_test(test_closed_streams_free_their_places_at_once),
		T(test_unix_socket_is_0660),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
