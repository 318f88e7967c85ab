// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Authentication and authorization of the real brokerd: every endpoint
 * with every role, a scoped token on its own and on another instance, no
 * token, a wrong, an expired and a revoked token, against one table (the
 * one in docs/rest-api.md); the token file holds no secret; the bootstrap token.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bt.h"

/* The table test fails authentication often: no rate limit in the way. */
#define CONFIG "{\"log_level\": \"debug\", \"auth_fail_max\": 1000000}"

static int setup(void **state)
{
	return bt_setup_tcp(state, CONFIG);
}


/* As root over the socket (admin without a token): a status. */
static long root(struct bt_daemon *d, const char *method, const char *path,
		 const char *body, json_t **out)
{
	struct bt_resp r;
	long status;

	bt_http(d, method, path, body ? "application/json" : NULL, body, NULL, &r);
	status = r.status;
	if (out)
		*out = json_incref(r.json);
	bt_resp_free(&r);
	return status;
}

/* A new token from root: its text (malloc'ed), its id in @id. */
static char *new_token(struct bt_daemon *d, const char *body, char *id,
		       size_t size)
{
	json_t *j = NULL;
	char *text;

	assert_int_equal(root(d, "POST", "/v1/tokens", body, &j), 201);
	text = strdup(json_string_value(json_object_get(j, "token")));
	assert_non_null(text);
	assert_true(!strncmp(text, "vac_", 4));
	snprintf(id, size, "%s", json_string_value(json_object_get(j, "id")));
	json_decref(j);
	return text;
}

/* With @token (NULL: none), over TCP unless @unix: the status. */
static long as(struct bt_daemon *d, bool over_unix, const char *token,
	       const char *method, const char *path, const char *body,
	       struct bt_resp *keep)
{
	char auth[256];
	const char *hdrs[] = { auth, NULL };
	struct bt_resp r;
	long status;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token ? token : "");
	bt_http_ex(d, !over_unix, method, path, body ? "application/json" : NULL,
		   body, token ? hdrs : NULL, &r);
	status = r.status;
	if (status == 401) {
		bt_assert_error(&r, 401, "unauthorized", NULL);
		assert_true(!strncmp(r.www_authenticate, "Bearer", 6));
	} else if (status == 403) {
		bt_assert_error(&r, 403, "forbidden", NULL);
	}
	if (keep)
		*keep = r;
	else
		bt_resp_free(&r);
	return status;
}

enum who { NOBODY, WRONG, EXPIRED, REVOKED, VIEWER, OPERATOR, SCOPED, ADMIN,
	   NR_WHO };

static const char *const who_names[] = {
	"no token", "wrong token", "expired token", "revoked token", "viewer",
	"operator", "operator scoped to kvm_b", "admin",
};

#define Q "{\"quotas\": {\"vpids\": 10}}"
#define U 401
/* A policy, a profile without parameters (no file is touched), applying it. */
#define POL "{\"kinds\": {\"pmu_counters\": {\"keep_offline\": true}}}"
#define PROF "{\"quotas\": {\"vpids\": 5}}"
#define APPLY "{\"profile\": \"canary\"}"

/* The authorization table: docs/rest-api.md has the same. */
static const struct {
	const char *method, *path, *body;
	long want[NR_WHO];
} table[] = {
	{ "GET", "/healthz", NULL,			{ U, U, U, U, 200, 200, 200, 200 } },
	{ "GET", "/metrics", NULL,			{ U, U, U, U, 200, 200, 200, 200 } },
	{ "GET", "/v1/resources", NULL,			{ U, U, U, U, 200, 200, 200, 200 } },
	{ "GET", "/v1/instances", NULL,			{ U, U, U, U, 200, 200, 200, 200 } },
	{ "GET", "/v1/instances/kvm_a", NULL,		{ U, U, U, U, 200, 200, 200, 200 } },
	{ "PUT", "/v1/instances/kvm_a/quota", Q,	{ U, U, U, U, 403, 200, 403, 200 } },
	{ "PUT", "/v1/instances/kvm_b/quota", Q,	{ U, U, U, U, 403, 200, 200, 200 } },
	{ "PUT", "/v1/instances/tmp_x", NULL,		{ U, U, U, U, 403, 403, 403, 201 } },
	{ "DELETE", "/v1/instances/tmp_x", NULL,	{ U, U, U, U, 403, 403, 403, 204 } },
	{ "GET", "/v1/tokens", NULL,			{ U, U, U, U, 403, 403, 403, 200 } },
	{ "POST", "/v1/tokens", "{\"name\": \"t\", \"role\": \"viewer\"}",
							{ U, U, U, U, 403, 403, 403, 201 } },
	{ "DELETE", "/v1/tokens/0000000000000000", NULL,
							{ U, U, U, U, 403, 403, 403, 404 } },
	{ "GET", "/v1/policy", NULL,			{ U, U, U, U, 200, 200, 200, 200 } },
	{ "POST", "/v1/policy/plan", POL,		{ U, U, U, U, 200, 200, 200, 200 } },
	{ "PUT", "/v1/policy", POL,			{ U, U, U, U, 403, 403, 403, 200 } },
	{ "POST", "/v1/policy/apply", NULL,		{ U, U, U, U, 403, 403, 403, 200 } },
	{ "DELETE", "/v1/policy", NULL,			{ U, U, U, U, 403, 403, 403, 204 } },
	{ "PUT", "/v1/profiles/canary", PROF,		{ U, U, U, U, 403, 403, 403, 201 } },
	{ "GET", "/v1/profiles", NULL,			{ U, U, U, U, 200, 200, 200, 200 } },
	{ "GET", "/v1/profiles/canary", NULL,		{ U, U, U, U, 200, 200, 200, 200 } },
	{ "POST", "/v1/instances/kvm_a/profile", APPLY,	{ U, U, U, U, 403, 200, 403, 200 } },
	{ "POST", "/v1/instances/kvm_b/profile", APPLY,	{ U, U, U, U, 403, 200, 200, 200 } },
	{ "GET", "/v1/instances/kvm_a/profile", NULL,	{ U, U, U, U, 200, 200, 200, 200 } },
	{ "DELETE", "/v1/profiles/canary", NULL,	{ U, U, U, U, 403, 403, 403, 204 } },
	{ "GET", "/v1/nope", NULL,			{ U, U, U, U, 404, 404, 404, 404 } },
};

static void test_every_endpoint_with_every_role(void **state)
{
	struct bt_daemon *d = *state;
	char *tok[NR_WHO] = { NULL };
	char id[64], body[256];

	assert_int_equal(root(d, "PUT", "/v1/instances/kvm_a", NULL, NULL), 201);
	assert_int_equal(root(d, "PUT", "/v1/instances/kvm_b", NULL, NULL), 201);
	tok[WRONG] = strdup("vac_0123456789abcdef_"
			    "0000000000000000000000000000000000000000000000000000000000000000");
	tok[VIEWER] = new_token(d, "{\"name\": \"v\", \"role\": \"viewer\"}", id, sizeof(id));
	tok[OPERATOR] = new_token(d, "{\"name\": \"o\", \"role\": \"operator\"}", id, sizeof(id));
	tok[SCOPED] = new_token(d, "{\"name\": \"ci\", \"role\": \"operator\","
				" \"instances\": [\"kvm_b\"]}", id, sizeof(id));
	tok[ADMIN] = new_token(d, "{\"name\": \"a\", \"role\": \"admin\"}", id, sizeof(id));
	tok[REVOKED] = new_token(d, "{\"name\": \"r\", \"role\": \"admin\"}", id, sizeof(id));
	snprintf(body, sizeof(body), "/v1/tokens/%s", id);
	assert_int_equal(root(d, "DELETE", body, NULL, NULL), 204);
	snprintf(body, sizeof(body),
		 "{\"name\": \"e\", \"role\": \"admin\", \"expires\": %lld}",
		 (long long)time(NULL) + 2);
	tok[EXPIRED] = new_token(d, body, id, sizeof(id));
	/* Valid before it expires. */
	assert_int_equal(as(d, false, tok[EXPIRED], "GET", "/healthz", NULL, NULL), 200);
	sleep(3);

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		for (int w = 0; w < NR_WHO; w++) {
			long got = as(d, false, tok[w], table[i].method,
				      table[i].path, table[i].body, NULL);

			if (got != table[i].want[w])
				fail_msg("%s %s as %s: %ld, not %ld", table[i].method,
					 table[i].path, who_names[w], got,
					 table[i].want[w]);
		}

	/* A token works over the socket too, and replaces the peer's role. */
	assert_int_equal(as(d, true, tok[VIEWER], "GET", "/v1/instances", NULL, NULL), 200);
	assert_int_equal(as(d, true, tok[VIEWER], "PUT", "/v1/instances/kvm_a/quota",
			    Q, NULL), 403);
	assert_int_equal(as(d, true, tok[WRONG], "GET", "/healthz", NULL, NULL), 401);
	assert_int_equal(as(d, true, "garbage", "GET", "/healthz", NULL, NULL), 401);
	/* A scoped token cannot mint an unscoped one. */
	assert_int_equal(as(d, false, tok[SCOPED], "POST", "/v1/tokens",
			    "{\"name\": \"x\", \"role\": \"admin\"}", NULL), 403);
	for (int w = 0; w < NR_WHO; w++)
		free(tok[w]);
}

static void test_token_file_and_list_hold_no_secret(void **state)
{
	struct bt_daemon *d = *state;
	char id[64], path[256];
	char *tok, *file, *secret;
	struct bt_resp r;

	tok = new_token(d, "{\"name\": \"ci\", \"role\": \"operator\","
			" \"instances\": [\"kvm_b\"], \"expires\": 4102444800}",
			id, sizeof(id));
	secret = strrchr(tok, '_') + 1;
	assert_int_equal(strlen(secret), 64);
	snprintf(path, sizeof(path), "%s/tokens.json", d->state);
	file = bt_read_file(path);
	assert_non_null(file);
	assert_non_null(strstr(file, id));
	assert_non_null(strstr(file, "\"salt\""));
	assert_non_null(strstr(file, "\"hash\""));
	assert_null(strstr(file, secret));
	assert_null(strstr(file, tok));
	free(file);
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}

	/* The list: the token without its secret, nor its hash. */
	assert_int_equal(as(d, false, tok, "GET", "/v1/tokens", NULL, NULL), 403);
	bt_get(d, "/v1/tokens", &r);
	assert_int_equal(r.status, 200);
	assert_null(strstr(r.body, secret));
	assert_null(strstr(r.body, "\"hash\""));
	assert_null(strstr(r.body, "\"token\""));
	assert_non_null(strstr(r.body, id));
	assert_non_null(strstr(r.body, "\"kvm_b\""));
	assert_non_null(strstr(r.body, "4102444800"));
	bt_resp_free(&r);

	/* Tokens survive a restart. */
	assert_int_equal(bt_stop(d), 0);
	{
		char listen[96];
		const char *args[] = { listen, NULL };

		snprintf(listen, sizeof(listen), "--listen=%s", d->tcp);
		assert_int_equal(bt_start(d, args), 0);
	}
	assert_int_equal(as(d, false, tok, "GET", "/v1/instances", NULL, NULL), 200);
	free(tok);
}

static void test_bad_token_requests(void **state)
{
	struct bt_daemon *d = *state;
	static const char *const bodies[] = {
		"{\"role\": \"viewer\"}",
		"{\"name\": \"x\", \"role\": \"root\"}",
		"{\"name\": \"x y\", \"role\": \"viewer\"}",
		"{\"name\": \"x\", \"role\": \"viewer\", \"expires\": 1}",
		"{\"name\": \"x\", \"role\": \"viewer\", \"instances\": [\"Bad\"]}",
		"{\"name\": \"x\", \"role\": \"viewer\", \"extra\": 1}",
		"[]",
	};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct bt_resp r;

		bt_http(d, "POST", "/v1/tokens", "application/json", bodies[i], NULL, &r);
		if (r.status != 400)
			fail_msg("%s: %ld: %s", bodies[i], r.status, r.body);
		bt_assert_error(&r, 400, "bad_request", NULL);
		bt_resp_free(&r);
	}
	assert_int_equal(root(d, "DELETE", "/v1/tokens/0123456789abcdef", NULL, NULL), 404);
}

/*
 * A token's name is one token's: a second of the same name is 409
 * naming the field; an instance named twice in a scope is 400 naming
 * it.  Neither leaves a token behind.
 */
static void test_duplicate_token_names_and_scopes_are_refused(void **state)
{
	struct bt_daemon *d = *state;
	const char *body = "{\"name\": \"ci\", \"role\": \"viewer\"}";
	struct bt_resp r;
	char id[32], path[64], *tok, *before, *after;

	tok = new_token(d, body, id, sizeof(id));
	bt_http(d, "GET", "/v1/tokens", NULL, NULL, NULL, &r);
	before = strdup(r.body);
	bt_resp_free(&r);

	bt_http(d, "POST", "/v1/tokens", "application/json",
		"{\"name\": \"ci\", \"role\": \"admin\"}", NULL, &r);
	bt_assert_error(&r, 409, "conflict", "name");
	bt_resp_free(&r);
	bt_http(d, "POST", "/v1/tokens", "application/json",
		"{\"name\": \"scoped\", \"role\": \"viewer\", "
		"\"instances\": [\"kvm_a\", \"kvm_b\", \"kvm_a\"]}", NULL, &r);
	bt_assert_error(&r, 400, "bad_request", "instances");
	bt_resp_free(&r);

	bt_http(d, "GET", "/v1/tokens", NULL, NULL, NULL, &r);
	after = strdup(r.body);
	bt_resp_free(&r);
	assert_string_equal(before, after);
	free(before);
	free(after);

	/* Once the first is revoked, its name is free again. */
	snprintf(path, sizeof(path), "/v1/tokens/%s", id);
	assert_int_equal(root(d, "DELETE", path, NULL, NULL), 204);
	free(tok);
	tok = new_token(d, "{\"name\": \"ci\", \"role\": \"admin\"}", id,
			sizeof(id));
	free(tok);
}

static void test_bootstrap_token(void **state)
{
	struct bt_daemon *d = *state;
	char listen[96], boot[200], path[160];
	const char *args[] = { listen, boot, NULL };
	struct stat st;
	char *tok, *again;

	assert_int_equal(bt_stop(d), 0);
	snprintf(path, sizeof(path), "%s/boot.token", d->dir);
	snprintf(listen, sizeof(listen), "--listen=%s", d->tcp);
	snprintf(boot, sizeof(boot), "--bootstrap-token=%s", path);
	assert_int_equal(bt_start(d, args), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	tok = bt_read_file(path);
	tok[strcspn(tok, "\n")] = 0;
	assert_int_equal(as(d, false, tok, "POST", "/v1/tokens",
			    "{\"name\": \"n\", \"role\": \"viewer\"}", NULL), 201);
	/* With tokens, a second start leaves the file as it is. */
	assert_int_equal(bt_stop(d), 0);
	assert_int_equal(bt_start(d, args), 0);
	again = bt_read_file(path);
	again[strcspn(again, "\n")] = 0;
	assert_string_equal(tok, again);
	assert_int_equal(as(d, false, tok, "GET", "/v1/tokens", NULL, NULL), 200);
	free(again);
	free(tok);
}

static size_t count_lines(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (!needle || (strstr(p, needle) && strstr(p, needle) < strchrnul(p, '\n')))
			n++;
	return n;
}

static void test_audit_log_has_a_line_for_every_change(void **state)
{
	struct bt_daemon *d = *state;
	char id[64], path[200];
	char *tok, *log;
	json_t *line;

	assert_int_equal(root(d, "PUT", "/v1/instances/kvm_a", NULL, NULL), 201);	/* 1 */
	tok = new_token(d, "{\"name\": \"ci\", \"role\": \"operator\","	/* 2 */
			" \"instances\": [\"kvm_b\"]}", id, sizeof(id));
	assert_int_equal(as(d, false, tok, "PUT", "/v1/instances/kvm_a/quota",	/* 3 */
			    Q, NULL), 403);
	assert_int_equal(as(d, false, NULL, "DELETE", "/v1/instances/kvm_a",	/* 4 */
			    NULL, NULL), 401);
	assert_int_equal(root(d, "PUT", "/v1/instances/kvm_a/quota", Q, NULL), 200);	/* 5 */
	assert_int_equal(root(d, "PUT", "/v1/nope", NULL, NULL), 404);	/* 6 */
	/* Reads are not changes. */
	assert_int_equal(as(d, false, tok, "GET", "/v1/instances", NULL, NULL), 200);
	assert_int_equal(root(d, "GET", "/v1/tokens", NULL, NULL), 200);

	snprintf(path, sizeof(path), "%s/audit.log", d->state);
	log = bt_read_file(path);
	assert_non_null(log);
	assert_int_equal(count_lines(log, NULL), 6);
	assert_int_equal(count_lines(log, "\"outcome\":201"), 2);
	assert_int_equal(count_lines(log, "\"outcome\":403"), 1);
	assert_int_equal(count_lines(log, "\"outcome\":401"), 1);
	assert_int_equal(count_lines(log, "\"outcome\":200"), 1);
	assert_int_equal(count_lines(log, "\"outcome\":404"), 1);
	/* The denied one: who, what, which instance. */
	{
		const char *hit = strstr(log, "\"outcome\":403");
		const char *start = hit;

		assert_non_null(hit);
		while (start > log && start[-1] != '\n')
			start--;
		line = json_loadb(start, strchrnul(hit, '\n') - start, 0, NULL);
	}
	assert_non_null(line);
	assert_string_equal(json_string_value(json_object_get(line, "role")), "operator");
	assert_string_equal(json_string_value(json_object_get(line, "token_name")), "ci");
	assert_string_equal(json_string_value(json_object_get(line, "instance")), "kvm_a");
	assert_string_equal(json_string_value(json_object_get(line, "method")), "PUT");
	assert_non_null(strstr(json_string_value(json_object_get(line, "principal")), id));
	assert_non_null(json_string_value(json_object_get(line, "time")));
	json_decref(line);
	assert_null(strstr(log, tok));
	free(log);
	free(tok);
}

static void test_unwritable_audit_log_refuses_changes_not_reads(void **state)
{
	struct bt_daemon *d = *state;
	char path[200];
	struct bt_resp r;

	assert_int_equal(root(d, "PUT", "/v1/instances/kvm_a", NULL, NULL), 201);
	/* A directory where the log should be: it cannot be opened. */
	snprintf(path, sizeof(path), "%s/audit.log", d->state);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	bt_put_json(d, "/v1/instances/kvm_a/quota", Q, &r);
	bt_assert_error(&r, 503, "unavailable", NULL);
	assert_non_null(strstr(r.body, "audit log"));
	bt_resp_free(&r);
	assert_int_equal(root(d, "DELETE", "/v1/instances/kvm_a", NULL, NULL), 503);
	assert_int_equal(root(d, "GET", "/v1/instances/kvm_a", NULL, NULL), 200);
	assert_int_equal(root(d, "GET", "/healthz", NULL, NULL), 200);
	/* Writable again: changes again. */
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(root(d, "DELETE", "/v1/instances/kvm_a", NULL, NULL), 204);
}

static void test_failed_authentication_is_rate_limited(void **state)
{
	struct bt_daemon *d = *state;
	char listen[96], id[64];
	const char *args[] = { listen, NULL };
	const char *wrong = "vac_0123456789abcdef_"
		"0000000000000000000000000000000000000000000000000000000000000000";
	char *tok;

	assert_int_equal(bt_stop(d), 0);
	bt_write_file(d->config, "{\"auth_fail_max\": 3, \"auth_fail_window\": 60,"
		      " \"auth_block\": 60}");
	snprintf(listen, sizeof(listen), "--listen=%s", d->tcp);
	assert_int_equal(bt_start(d, args), 0);
	tok = new_token(d, "{\"name\": \"v\", \"role\": \"viewer\"}", id, sizeof(id));

	assert_int_equal(as(d, false, wrong, "GET", "/healthz", NULL, NULL), 401);
	assert_int_equal(as(d, false, NULL, "GET", "/healthz", NULL, NULL), 401);
	assert_int_equal(as(d, false, tok, "GET", "/healthz", NULL, NULL), 200);
	assert_int_equal(as(d, false, wrong, "PUT", "/v1/instances/x", NULL, NULL), 401);
	/* Three failures from 127.0.0.1: blocked, even with a valid token. */
	{
		struct bt_resp r;

		as(d, false, tok, "GET", "/healthz", NULL, &r);
		bt_assert_error(&r, 429, "too_many_requests", NULL);
		bt_resp_free(&r);
	}
	assert_int_equal(as(d, false, wrong, "GET", "/healthz", NULL, NULL), 429);
	/* Another peer (uid 0 on the socket) is not. */
	assert_int_equal(root(d, "GET", "/healthz", NULL, NULL), 200);
	assert_int_equal(as(d, true, wrong, "GET", "/healthz", NULL, NULL), 401);
	assert_int_equal(root(d, "GET", "/healthz", NULL, NULL), 200);
	free(tok);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, bt_teardown)
	const struct CMUnitTest tests[] = {
		T(test_every_endpoint_with_every_role),
		T(test_token_file_and_list_hold_no_secret),
		T(test_bad_token_requests),
		T(test_duplicate_token_names_and_scopes_are_refused),
		T(test_bootstrap_token),
		T(test_audit_log_has_a_line_for_every_change),
		T(test_unwritable_audit_log_refuses_changes_not_reads),
		T(test_failed_authentication_is_rate_limited),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
