// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The real brokerd's life: restart after kill -9 on the same state
 * directory, reconciliation of what the backend refused, startup errors
 * (corrupt state, bad configuration, a second daemon), listeners, signals,
 * and the netlink backend on a host without vac.ko.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bt.h"

#define CONFIG \
	"{\"local_capacity\": {\"asids\": 100, \"vpids\": 100, \"pmu_counters\": 6}}"

static int setup(void **state)
{
	struct bt_daemon *d = calloc(1, sizeof(*d));

	bt_init(d, CONFIG);
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct bt_daemon *d = *state;

	bt_cleanup(d);
	free(d);
	return 0;
}

static void start_ok(struct bt_daemon *d, const char *const *args)
{
	int status = bt_start(d, args);
	char *log = status ? bt_read_file(d->log) : NULL;

	if (status)
		fail_msg("brokerd exited with %d:\n%s", status, log);
}

static void stop_ok(struct bt_daemon *d)
{
	int status = bt_stop(d);
	char *log = status ? bt_read_file(d->log) : NULL;

	if (status)
		fail_msg("brokerd stopped with %d:\n%s", status, log);
}

static void wait_log(struct bt_daemon *d, const char *needle)
{
	for (int i = 0; i < 500 && !bt_log_has(d, needle); i++)
		usleep(10000);
	if (!bt_log_has(d, needle))
		fail_msg("not in the log: %s", needle);
}

static void assert_log(struct bt_daemon *d, const char *needle)
{
	char *log;

	if (bt_log_has(d, needle))
		return;
	log = bt_read_file(d->log);
	fail_msg("not in the log: \"%s\"; the log:\n%s", needle, log);
}

static void put(struct bt_daemon *d, const char *path, const char *body,
		long status)
{
	struct bt_resp r;

	if (body)
		bt_put_json(d, path, body, &r);
	else
		bt_http(d, "PUT", path, NULL, NULL, NULL, &r);
	if (r.status != status)
		fail_msg("PUT %s: %ld: %s", path, r.status, r.body);
	bt_resp_free(&r);
}

static void test_restart_after_kill_restores_and_reapplies(void **state)
{
	struct bt_daemon *d = *state;
	struct bt_resp before, after;
	struct dirent *e;
	DIR *dir;

	start_ok(d, NULL);
	put(d, "/v1/instances/kvm_a", NULL, 201);
	put(d, "/v1/instances/kvm_b", NULL, 201);
	put(d, "/v1/instances/kvm_a/quota",
	    "{\"quotas\": {\"asids\": 20, \"vpids\": 30}}", 200);
	put(d, "/v1/instances/kvm_b/quota",
	    "{\"quotas\": {\"vpids\": 50, \"pmu_counters\": 2}}", 200);
	put(d, "/v1/instances/kvm_a/quota", "{\"quotas\": {\"vpids\": 40}}", 200);
	bt_get(d, "/v1/instances", &before);
	assert_int_equal(before.status, 200);
	bt_kill(d);

	/* The local backend starts empty: what comes back was re-applied. */
	start_ok(d, NULL);
	bt_get(d, "/v1/instances", &after);
	assert_int_equal(after.status, 200);
	assert_string_equal(after.body, before.body);
	assert_int_equal(BT_INT(json_array_get(json_object_get(after.json, "instances"), 0),
				"usage", "vpids", "quota"), 40);
	bt_resp_free(&before);
	bt_resp_free(&after);

	/*
	 * Nothing but the state file, its journal (and the audit log) in the
	 * state directory.
	 */
	dir = opendir(d->state);
	assert_non_null(dir);
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.' && strcmp(e->d_name, "audit.log") &&
		    strcmp(e->d_name, "desired.journal"))
			assert_string_equal(e->d_name, "desired.json");
	closedir(dir);
	stop_ok(d);
}

static void test_refused_quota_is_reported_and_retried(void **state)
{
	struct bt_daemon *d = *state;
	struct bt_resp r;
	json_t *u;
	char path[160];

	/* Desired state from an earlier run with more VPIDs than there are. */
	mkdir(d->state, 0700);
	snprintf(path, sizeof(path), "%s/desired.json", d->state);
	bt_write_file(path,
		"{\"version\": 1, \"generation\": 3, \"instances\": ["
		"{\"name\": \"kvm_a\", \"generation\": 2, \"quotas\": {\"vpids\": 80}},"
		"{\"name\": \"kvm_b\", \"generation\": 3, \"quotas\": {\"vpids\": 80}}]}");
	start_ok(d, NULL);

	bt_get(d, "/v1/instances/kvm_a", &r);
	assert_int_equal(BT_INT(r.json, "usage", "vpids", "quota"), 80);
	assert_int_equal(json_array_size(json_object_get(r.json, "unapplied")), 0);
	assert_string_equal(r.etag, "\"2\"");
	bt_resp_free(&r);
	bt_get(d, "/v1/instances/kvm_b", &r);
	assert_int_equal(BT_INT(r.json, "usage", "vpids", "quota"), 0);
	assert_int_equal(BT_INT(r.json, "desired", "vpids"), 80);
	u = json_array_get(json_object_get(r.json, "unapplied"), 0);
	assert_non_null(u);
	assert_string_equal(json_string_value(json_object_get(u, "kind")), "vpids");
	assert_non_null(strstr(json_string_value(json_object_get(u, "reason")),
			       "capacity"));
	bt_resp_free(&r);
	assert_log(d, "reconcile: kvm_b: vpids:");

	/* Room made for it: the next reconciliation applies it. */
	put(d, "/v1/instances/kvm_a/quota", "{\"quotas\": {\"vpids\": 20}}", 200);
	bt_get(d, "/v1/instances/kvm_b", &r);
	assert_int_equal(BT_INT(r.json, "usage", "vpids", "quota"), 80);
	assert_int_equal(json_array_size(json_object_get(r.json, "unapplied")), 0);
	bt_resp_free(&r);
	stop_ok(d);
}

static void test_unrecorded_change_is_500_and_undone(void **state)
{
	struct bt_daemon *d = *state;
	struct bt_resp r;
	char tmp[160], *before, *after;

	start_ok(d, NULL);
	put(d, "/v1/instances/kvm_a", NULL, 201);
	/*
	 * 64 changes fill the journal (JOURNAL_MIN, store.c): the next one
	 * rewrites the state file, which is what fails here.
	 */
	for (int i = 0; i < 63; i++) {
		char body[48];

		snprintf(body, sizeof(body), "{\"quotas\": {\"vpids\": %d}}",
			 i == 62 ? 10 : 30 + i);
		put(d, "/v1/instances/kvm_a/quota", body, 200);
	}
	before = bt_snapshot(d);

	/* The state file cannot be written: its temporary name is taken. */
	snprintf(tmp, sizeof(tmp), "%s/desired.json.tmp", d->state);
	assert_int_equal(mkdir(tmp, 0700), 0);
	bt_put_json(d, "/v1/instances/kvm_a/quota", "{\"quotas\": {\"vpids\": 20}}", &r);
	bt_assert_error(&r, 500, "internal", NULL);
	assert_non_null(strstr(r.body, "cannot record the desired state"));
	bt_resp_free(&r);
	bt_http(d, "PUT", "/v1/instances/kvm_b", NULL, NULL, NULL, &r);
	bt_assert_error(&r, 500, "internal", NULL);
	bt_resp_free(&r);
	bt_http(d, "DELETE", "/v1/instances/kvm_a", NULL, NULL, NULL, &r);
	bt_assert_error(&r, 500, "internal", NULL);
	bt_resp_free(&r);
	/* The backend was put back as the state file says. */
	after = bt_snapshot(d);
	assert_string_equal(before, after);
	free(before);
	free(after);

	assert_int_equal(rmdir(tmp), 0);
	put(d, "/v1/instances/kvm_a/quota", "{\"quotas\": {\"vpids\": 20}}", 200);
	stop_ok(d);
}

/* The desired state brokerd serves: name, generation, desired quotas. */
static char *desired_served(struct bt_daemon *d)
{
	struct bt_resp r;
	json_t *out = json_array(), *v;
	char *text;
	size_t i;

	bt_get(d, "/v1/instances", &r);
	assert_int_equal(r.status, 200);
	json_array_foreach(json_object_get(r.json, "instances"), i, v)
		json_array_append_new(out, json_pack("{s:O, s:O, s:O}",
			"name", json_object_get(v, "name"),
			"generation", json_object_get(v, "generation"),
			"desired", json_object_get(v, "desired")));
	bt_resp_free(&r);
	text = json_dumps(out, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(out);
	return text;
}

/* Changes journaled, and the state file rewritten, survive a kill. */
static void test_journal_and_rewrite_survive_a_kill(void **state)
{
	struct bt_daemon *d = *state;
	struct bt_resp r;
	char *before, *after;

	start_ok(d, NULL);
	/* 150 changes: the journal fills, is folded into the file, refills. */
	for (int i = 0; i < 50; i++) {
		char path[64], body[48];

		snprintf(path, sizeof(path), "/v1/instances/kvm_%d", i);
		put(d, path, NULL, 201);
		snprintf(path, sizeof(path), "/v1/instances/kvm_%d/quota", i);
		snprintf(body, sizeof(body), "{\"quotas\": {\"vpids\": %d}}", 1 + i % 2);
		put(d, path, body, 200);
		put(d, path, "{\"quotas\": {\"asids\": 1}}", 200);
	}
	put(d, "/v1/instances/kvm_7", NULL, 200);
	bt_http(d, "DELETE", "/v1/instances/kvm_3", NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 204);
	bt_resp_free(&r);
	before = desired_served(d);
	assert_non_null(strstr(before, "kvm_49"));
	assert_null(strstr(before, "\"kvm_3\""));
	bt_kill(d);
	start_ok(d, NULL);
	after = desired_served(d);
	assert_string_equal(before, after);
	free(before);
	free(after);
	stop_ok(d);
}

/*
 * A last journal line without its newline was never acknowledged: dropped
 * (and cut off).  Any other line that does not parse stops the start,
 * naming the journal and the line, and the journal is kept.
 */
static void test_journal_torn_tail_dropped_corrupt_line_refused(void **state)
{
	struct bt_daemon *d = *state;
	struct bt_resp r;
	char path[160], *kept;
	const char *good = "{\"seq\": 1, \"put\": {\"name\": \"kvm_a\", "
			   "\"generation\": 1, \"quotas\": {\"vpids\": 7}}}\n";
	const char *bad = "{\"seq\": 2, \"put\": {\"name\": \"kvm_b\"}}\n";
	char text[512];

	mkdir(d->state, 0700);
	snprintf(path, sizeof(path), "%s/desired.journal", d->state);
	snprintf(text, sizeof(text), "%s{\"seq\": 2, \"del\": \"kvm_", good);
	bt_write_file(path, text);
	start_ok(d, NULL);
	bt_get(d, "/v1/instances/kvm_a", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(BT_INT(r.json, "desired", "vpids"), 7);
	bt_resp_free(&r);
	stop_ok(d);
	kept = bt_read_file(path);
	assert_string_equal(kept, good);
	free(kept);

	snprintf(text, sizeof(text), "%s%s%s", good, bad, good);
	bt_write_file(path, text);
	unlink(d->log);
	assert_int_equal(bt_run(d, NULL), 1);
	assert_log(d, "state journal ");
	assert_log(d, path);
	assert_log(d, "line 2");
	kept = bt_read_file(path);
	assert_string_equal(kept, text);
	free(kept);
}

static void test_bad_state_file_stops_startup_and_is_kept(void **state)
{
	static const struct {
		const char *text, *says;
	} cases[] = {
		{ "{\"version\": 1, \"generation\": 2, \"instances\": [", "invalid JSON" },
		{ "", "invalid JSON" },
		{ "[]", "must be a JSON object" },
		{ "{\"version\": 2, \"generation\": 0, \"instances\": []}", "version" },
		{ "{\"version\": 1, \"generation\": 1, \"instances\": [], \"x\": 1}",
		  "x: unknown field" },
		{ "{\"version\": 1, \"generation\": 2, \"instances\": ["
		  "{\"name\": \"kvm_a\", \"generation\": 1, \"quotas\": {\"vpidz\": 1}}]}",
		  "instances[0].quotas.vpidz: unknown field" },
		{ "{\"version\": 1, \"generation\": 2, \"instances\": ["
		  "{\"name\": \"KVM\", \"generation\": 1}]}", "instances[0]" },
		{ "{\"version\": 1, \"generation\": 2, \"instances\": ["
		  "{\"name\": \"a\", \"generation\": 1}, {\"name\": \"a\", \"generation\": 2}]}",
		  "given twice" },
		{ "{\"version\": 1, \"generation\": 2, \"instances\": ["
		  "{\"name\": \"a\", \"generation\": 1, \"quotas\": {\"vpids\": -4}}]}",
		  "instances[0].quotas.vpids" },
	};
	struct bt_daemon *d = *state;
	char path[160];

	mkdir(d->state, 0700);
	snprintf(path, sizeof(path), "%s/desired.json", d->state);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *kept;

		bt_write_file(path, cases[i].text);
		unlink(d->log);
		assert_int_equal(bt_run(d, NULL), 1);
		assert_log(d, "state file ");
		assert_log(d, path);
		assert_log(d, cases[i].says);
		kept = bt_read_file(path);
		assert_string_equal(kept, cases[i].text);
		free(kept);
		assert_int_not_equal(access(d->sock, F_OK), 0);
	}
}

static void test_bad_configuration_stops_startup_with_a_clear_message(void **state)
{
	static const struct {
		const char *config, *arg, *says;
	} cases[] = {
		{ "{\"backend\": \"kernel\"}", NULL, "backend: must be one of: local, netlink" },
		{ "{\"limitz\": {}}", NULL, "limitz: unknown field" },
		{ "{\"limits\": {\"threads\": 0}}", NULL, "limits.threads: must be an integer from 1 to 64" },
		{ "{\"limits\": {\"body_max\": \"big\"}}", NULL, "limits.body_max" },
		{ "{\"limits\": {\"connections\": 4, \"sse_clients\": 4}}", NULL,
		  "sse_clients (4) must be below connections (4)" },
		{ "{\"local_capacity\": {\"vpids\": 70000}}", NULL, "local_capacity.vpids: must be at most 65535" },
		{ "{\"local_capacity\": {\"vpidz\": 1}}", NULL, "local_capacity.vpidz: unknown field" },
		{ "{\"backend\": \"local\",}", NULL, "invalid JSON" },
		{ "{\"listen\": \"0.0.0.0:8080\"}", NULL, "loopback" },
		{ "{}", "--listen=10.1.2.3:80", "loopback" },
		{ "{}", "--listen=[::]:80", "loopback" },
		{ "{}", "--listen=localhost", "expected ADDRESS:PORT" },
		{ "{}", "--listen=127.0.0.1:0", "expected ADDRESS:PORT" },
		{ "{}", "--backend=kernel", "option --backend: must be one of: local, netlink" },
		{ "{}", "--log=journal", "option --log: must be one of: stderr, syslog" },
		{ "{}", "--frobnicate", "unrecognized option" },
	};
	struct bt_daemon *d = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *args[] = { cases[i].arg, NULL };
		int status;

		bt_write_file(d->config, cases[i].config);
		unlink(d->log);
		status = bt_run(d, args);
		print_message("%s %s: exit %d\n", cases[i].config,
			      cases[i].arg ? cases[i].arg : "", status);
		assert_true(status == 1 || status == 2);
		assert_log(d, cases[i].says);
		assert_int_not_equal(access(d->sock, F_OK), 0);
	}
}

static void test_a_second_daemon_is_refused(void **state)
{
	struct bt_daemon *d = *state, other;

	start_ok(d, NULL);

	/* The same state directory, another socket. */
	other = *d;
	snprintf(other.sock, sizeof(other.sock), "%s/other.sock", d->dir);
	snprintf(other.log, sizeof(other.log), "%s/other.log", d->dir);
	assert_int_equal(bt_run(&other, NULL), 1);
	assert_log(&other, "in use by another brokerd");

	/* The same socket, another state directory. */
	snprintf(other.sock, sizeof(other.sock), "%s", d->sock);
	snprintf(other.state, sizeof(other.state), "%s/other-state", d->dir);
	assert_int_equal(bt_run(&other, NULL), 1);
	assert_log(&other, "another daemon is listening");

	/* The first one was not disturbed. */
	put(d, "/v1/instances/kvm_a", NULL, 201);
	stop_ok(d);
}

static void test_tcp_listener_serves_on_loopback(void **state)
{
	struct bt_daemon *d = *state;
	char listen[96], boot[160], auth[256];
	const char *args[] = { listen, boot, NULL };
	const char *hdrs[] = { auth, NULL };
	struct bt_resp r;
	char *token;

	snprintf(d->tcp, sizeof(d->tcp), "127.0.0.1:%d", bt_free_port());
	snprintf(listen, sizeof(listen), "--listen=%s", d->tcp);
	snprintf(boot, sizeof(boot), "--bootstrap-token=%s/boot.token", d->dir);
	start_ok(d, args);
	/* TCP always needs a token: the bootstrap token is one. */
	bt_http_tcp(d, "GET", "/healthz", &r);
	bt_assert_error(&r, 401, "unauthorized", NULL);
	bt_resp_free(&r);
	snprintf(auth, sizeof(auth), "%s/boot.token", d->dir);
	token = bt_read_file(auth);
	assert_non_null(token);
	token[strcspn(token, "\n")] = 0;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	free(token);
	bt_http_ex(d, true, "GET", "/healthz", NULL, NULL, hdrs, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "backend")), "local");
	bt_resp_free(&r);
	bt_http_ex(d, true, "GET", "/v1/nope", NULL, NULL, hdrs, &r);
	bt_assert_error(&r, 404, "not_found", NULL);
	bt_resp_free(&r);
	stop_ok(d);
}

static void test_sighup_reloads_the_log_level(void **state)
{
	struct bt_daemon *d = *state;
	struct bt_resp r;

	bt_write_file(d->config, "{\"log_level\": \"notice\"}");
	start_ok(d, NULL);
	bt_get(d, "/healthz", &r);
	bt_resp_free(&r);
	assert_false(bt_log_has(d, "GET /healthz: 200"));

	bt_write_file(d->config, "{\"log_level\": \"debug\", \"retry_interval\": 9}");
	bt_signal(d, SIGHUP);
	wait_log(d, "configuration reloaded: log_level debug; "
		    "the other changes take effect at the next start");
	bt_get(d, "/healthz", &r);
	assert_int_equal(r.status, 200);
	bt_resp_free(&r);
	wait_log(d, "GET /healthz: 200");

	/* A broken file is reported; the daemon goes on as it was. */
	bt_write_file(d->config, "{\"log_level\": \"loud\"}");
	bt_signal(d, SIGHUP);
	wait_log(d, "the running configuration stays");
	bt_get(d, "/healthz", &r);
	assert_int_equal(r.status, 200);
	bt_resp_free(&r);
	stop_ok(d);
}

static void test_sigint_stops_cleanly_and_removes_the_socket(void **state)
{
	struct bt_daemon *d = *state;

	start_ok(d, NULL);
	bt_signal(d, SIGINT);
	assert_int_equal(bt_wait(d), 0);
	assert_int_not_equal(access(d->sock, F_OK), 0);
	assert_log(d, "stopping");
}

static void test_netlink_backend_without_vac_is_unavailable(void **state)
{
	struct bt_daemon *d = *state;
	const char *args[] = { "--backend=netlink", NULL };
	struct bt_resp r;
	char path[160];

	if (!access("/sys/module/vac", F_OK))
		skip();		/* vac.ko is loaded here: the vm tier's case */
	start_ok(d, args);
	bt_get(d, "/healthz", &r);
	bt_assert_error(&r, 503, "unavailable", NULL);
	assert_non_null(strstr(r.body, "vac.ko is not loaded"));
	bt_resp_free(&r);
	bt_get(d, "/v1/resources", &r);
	bt_assert_error(&r, 503, "unavailable", NULL);
	bt_resp_free(&r);
	bt_http(d, "PUT", "/v1/instances/kvm_a", NULL, NULL, NULL, &r);
	bt_assert_error(&r, 503, "unavailable", NULL);
	bt_resp_free(&r);
	bt_put_json(d, "/v1/instances/kvm_a/quota", "{\"quotas\": {\"vpids\": 1}}", &r);
	bt_assert_error(&r, 503, "unavailable", NULL);
	bt_resp_free(&r);
	snprintf(path, sizeof(path), "%s/desired.json", d->state);
	assert_int_not_equal(access(path, F_OK), 0);

	bt_get(d, "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(bt_metric(r.body, "brokerd_backend_up{backend=\"netlink\"}"), 0);
	assert_null(strstr(r.body, "vac_capacity"));
	bt_resp_free(&r);
	assert_log(d, "netlink backend: vac.ko is not loaded");
	stop_ok(d);
}

/*
 * --version prints "brokerd VERSION", the project's, and exits 0 before
 * it reads a configuration or touches a state directory; --help names it.
 */
static void test_version_is_the_project_version(void **state)
{
	struct bt_daemon *d = *state;
	const char *bin = getenv("BROKERD");
	char out[160], never[160], cmd[600], *text;
	int status;

	assert_non_null(bin);
	snprintf(out, sizeof(out), "%s/version.out", d->dir);
	snprintf(never, sizeof(never), "%s/never", d->dir);
	snprintf(cmd, sizeof(cmd), "%s -c %s/no-such.json --state-dir %s --version >%s",
		 bin, d->dir, never, out);
	status = system(cmd);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	text = bt_read_file(out);
	assert_non_null(text);
	assert_string_equal(text, "brokerd " BROKER_VERSION "\n");
	free(text);
	assert_int_not_equal(access(never, F_OK), 0);

	snprintf(cmd, sizeof(cmd), "%s --help >%s", bin, out);
	assert_int_equal(system(cmd), 0);
	text = bt_read_file(out);
	assert_non_null(strstr(text, "--version"));
	free(text);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_restart_after_kill_restores_and_reapplies),
		T(test_refused_quota_is_reported_and_retried),
		T(test_unrecorded_change_is_500_and_undone),
		T(test_journal_and_rewrite_survive_a_kill),
		T(test_journal_torn_tail_dropped_corrupt_line_refused),
		T(test_bad_state_file_stops_startup_and_is_kept),
		T(test_bad_configuration_stops_startup_with_a_clear_message),
		T(test_a_second_daemon_is_refused),
		T(test_tcp_listener_serves_on_loopback),
		T(test_sighup_reloads_the_log_level),
		T(test_sigint_stops_cleanly_and_removes_the_socket),
		T(test_netlink_backend_without_vac_is_unavailable),
		T(test_version_is_the_project_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
