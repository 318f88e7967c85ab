// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The node-feature-discovery feature file of the real brokerd (local
 * backend): it parses as nfd-worker's local source parses a features.d
 * file, and it follows declarations, quota changes and deletions.
 *
 * The grammar, from NFD's customization guide ("Local feature source",
 * "Input format"): lines separated by newlines; a line starting with '#'
 * is a comment ("# +expiry-time=...", "# +no-label" and "# +no-feature"
 * are directives); every other line is <key>[=<value>], the value
 * "true" when absent; a key that becomes a label is <namespace>/<name>,
 * a Kubernetes label name: the namespace a DNS subdomain (at most 253
 * characters, dot-separated labels of [a-z0-9-] starting and ending
 * with [a-z0-9]), the name at most 63 characters of [A-Za-z0-9_.-]
 * starting and ending with [A-Za-z0-9]; the value a label value (at
 * most 63 characters, empty or the name's grammar); a file is at most
 * 64 kB.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bt.h"

static bool dns_label(const char *s, size_t n)
{
	if (!n || n > 63 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) ||
		      s[i] == '-'))
			return false;
	return true;
}

static bool dns_subdomain(const char *s, size_t n)
{
	const char *end = s + n;

	if (!n || n > 253)
		return false;
	while (s < end) {
		const char *dot = memchr(s, '.', end - s);
		size_t len = (dot ? dot : end) - s;

		if (!dns_label(s, len))
			return false;
		s += len + (dot != NULL);
		if (dot && s == end)
			return false;
	}
	return true;
}

/* A label name or a non-empty label value. */
static bool label_part(const char *s, size_t n)
{
	if (!n || n > 63 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
			return false;
	return true;
}

/*
 * @text parsed as NFD parses a feature file, into {key: value}; fails
 * the test on anything NFD would reject or turn into no label.
 */
static json_t *nfd_parse(const char *text)
{
	json_t *j = json_object();
	const char *line = text;

	assert_true(strlen(text) <= 64 * 1024);
	assert_true(!*text || text[strlen(text) - 1] == '\n');
	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t n = nl - line;
		const char *eq = memchr(line, '=', n), *slash;
		char *key, *value;

		if (n && line[0] == '#') {
			line = nl + 1;
			continue;
		}
		if (!n)
			fail_msg("an empty line in the feature file");
		key = strndup(line, eq ? (size_t)(eq - line) : n);
		value = eq ? strndup(eq + 1, nl - eq - 1) : strdup("true");
		slash = strchr(key, '/');
		if (!slash || !dns_subdomain(key, slash - key) ||
		    !label_part(slash + 1, strlen(slash + 1)))
			fail_msg("not a label name: \"%s\"", key);
		if (*value && !label_part(value, strlen(value)))
			fail_msg("not a label value: %s=\"%s\"", key, value);
		if (json_object_get(j, key))
			fail_msg("a key twice: %s", key);
		json_object_set_new(j, key, json_string(value));
		free(key);
		free(value);
		line = nl + 1;
	}
	return j;
}

#define NS "vac.feature.node.kubernetes.io/"

struct fx {
	struct bt_daemon d;
	char file[160];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char config[512];

	bt_init(&f->d, NULL);
	snprintf(f->file, sizeof(f->file), "%s/features.d/vac", f->d.dir);
	snprintf(config, sizeof(config),
		 "{\"local_capacity\": {\"asids\": 100, \"sev_asids\": 10, "
		 "\"sev_es_asids\": 4, \"vpids\": 100, \"pmu_counters\": 6}, "
		 "\"nfd_feature_file\": \"%s\"}", f->file);
	bt_write_file(f->d.config, config);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	bt_cleanup(&f->d);
	free(f);
	return 0;
}

static void put(struct bt_daemon *d, const char *path, const char *body,
		long want)
{
	struct bt_resp r;

	if (body)
		bt_put_json(d, path, body, &r);
	else
		bt_http(d, "PUT", path, NULL, NULL, NULL, &r);
	if (r.status != want)
		fail_msg("PUT %s: %ld, not %ld: %s", path, r.status, want, r.body);
	bt_resp_free(&r);
}

/*
 * The file once @key has @value (NULL: once it is gone), within 5 s:
 * parsed, or the test fails with what it held last.
 */
static json_t *wait_for(struct fx *f, const char *key, const char *value)
{
	char *last = NULL;

	for (int i = 0; i < 500; i++) {
		char *text = bt_read_file(f->file);
		json_t *j = text ? nfd_parse(text) : NULL;
		const char *v = json_string_value(json_object_get(j, key));

		if (j && (value ? v && !strcmp(v, value) : !v)) {
			free(text);
			free(last);
			return j;
		}
		json_decref(j);
		free(last);
		last = text;
		usleep(10000);
	}
	fail_msg("%s never became %s; the file:\n%s", key, value ?: "absent",
		 last ?: "(none)");
	return NULL;
}

static void test_the_file_parses_as_nfd_parses_it_and_tracks_quotas(void **state)
{
	struct fx *f = *state;
	struct bt_resp r;
	char dir[160];
	json_t *j;

	snprintf(dir, sizeof(dir), "%s/features.d", f->d.dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(bt_start(&f->d, NULL), 0);
	/* Nothing declared: a file with its comment and no feature. */
	j = wait_for(f, NS "kvm_b.sev_asids.quota", NULL);
	assert_int_equal(json_object_size(j), 0);
	json_decref(j);

	put(&f->d, "/v1/instances/kvm_b", NULL, 201);
	put(&f->d, "/v1/instances/kvm_a", NULL, 201);
	put(&f->d, "/v1/instances/kvm_b/quota",
	    "{\"quotas\": {\"sev_asids\": 3, \"vpids\": 40}}", 200);
	j = wait_for(f, NS "kvm_b.sev_asids.quota", "3");
	assert_string_equal(json_string_value(json_object_get(j,
			    NS "kvm_b.sev_asids.free")), "3");
	assert_string_equal(json_string_value(json_object_get(j,
			    NS "kvm_b.vpids.quota")), "40");
	assert_string_equal(json_string_value(json_object_get(j,
			    NS "kvm_b.registered")), "false");
	assert_string_equal(json_string_value(json_object_get(j,
			    NS "kvm_a.sev_asids.quota")), "0");
	/* Two instances, six kinds, quota and free, and registered. */
	assert_int_equal(json_object_size(j), 2 * (6 * 2 + 1));
	json_decref(j);

	/* Nothing changes: the file is not rewritten. */
	{
		struct stat a, b;

		assert_int_equal(stat(f->file, &a), 0);
		usleep(1500000);
		assert_int_equal(stat(f->file, &b), 0);
		assert_int_equal(a.st_ino, b.st_ino);
	}

	/* A quota change is in the file at once. */
	put(&f->d, "/v1/instances/kvm_b/quota", "{\"quotas\": {\"sev_asids\": 7}}", 200);
	json_decref(wait_for(f, NS "kvm_b.sev_asids.free", "7"));
	/* A refused change changes nothing. */
	put(&f->d, "/v1/instances/kvm_a/quota", "{\"quotas\": {\"sev_asids\": 9}}", 409);
	j = wait_for(f, NS "kvm_b.sev_asids.quota", "7");
	assert_string_equal(json_string_value(json_object_get(j,
			    NS "kvm_a.sev_asids.quota")), "0");
	json_decref(j);

	/* A deleted instance leaves the file; no temporary file is left. */
	bt_http(&f->d, "DELETE", "/v1/instances/kvm_a", NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 204);
	bt_resp_free(&r);
	json_decref(wait_for(f, NS "kvm_a.registered", NULL));
	assert_int_equal(bt_stop(&f->d), 0);
	snprintf(dir, sizeof(dir), "%s/features.d/.vac.tmp", f->d.dir);
	assert_int_equal(access(dir, F_OK), -1);
}

static void test_an_unwritable_file_is_reported_and_retried(void **state)
{
	struct fx *f = *state;
	struct bt_resp r;
	char dir[160];
	int i;

	/* features.d does not exist yet: brokerd serves and says why. */
	assert_int_equal(bt_start(&f->d, NULL), 0);
	put(&f->d, "/v1/instances/kvm_b", NULL, 201);
	for (i = 0; i < 500; i++) {
		bt_get(&f->d, "/metrics", &r);
		if (bt_metric(r.body, "brokerd_node_features_failures_total") >= 1)
			break;
		bt_resp_free(&r);
		usleep(10000);
	}
	assert_true(i < 500);
	assert_true(bt_metric(r.body, "brokerd_node_features_synced") == 0);
	bt_resp_free(&r);
	bt_get(&f->d, "/healthz", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(
		json_object_get(r.json, "fleet"), "node_features"), "error")),
		"No such file or directory"));
	bt_resp_free(&r);
	/* Quotas are set meanwhile; the folder appears; the file follows. */
	put(&f->d, "/v1/instances/kvm_b/quota", "{\"quotas\": {\"sev_asids\": 2}}", 200);
	snprintf(dir, sizeof(dir), "%s/features.d", f->d.dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	json_decref(wait_for(f, NS "kvm_b.sev_asids.quota", "2"));
	bt_get(&f->d, "/metrics", &r);
	assert_true(bt_metric(r.body, "brokerd_node_features_synced") == 1);
	bt_resp_free(&r);
	assert_true(bt_log_has(&f->d, "node features: in sync again"));
	assert_int_equal(bt_stop(&f->d), 0);
}

static void test_the_keys_are_checked_at_start(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
		"{\"nfd_feature_file\": \"relative/vac\"}",
		"{\"placement_url\": \"ftp://x\", \"placement_node\": \"n\"}",
		"{\"placement_url\": \"http://127.0.0.1:1\"}",
		"{\"placement_node\": \"n\"}",
		"{\"placement_interval\": 1}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bt_write_file(f->d.config, bad[i]);
		assert_int_equal(bt_run(&f->d, NULL), 2);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_the_file_parses_as_nfd_parses_it_and_tracks_quotas),
		T(test_an_unwritable_file_is_reported_and_retried),
		T(test_the_keys_are_checked_at_start),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
