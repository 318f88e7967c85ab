// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * brokerctl against the real brokerd (local backend): every verb in both
 * output modes (human tables, -o json parsed with jansson), the exit
 * status of each class of failure with the reason printed, and usage
 * errors caught before any request is made.  brokerctl runs as a
 * subprocess ($BROKERCTL) against the daemon's Unix socket; the daemon
 * also listens on loopback TCP for -H.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bt.h"

#define CONFIG \
	"{\"local_capacity\": {\"asids\": 100, \"sev_asids\": 10," \
	" \"sev_es_asids\": 5, \"vpids\": 1000, \"pmu_counters\": 6," \
	" \"msr_slots\": 16}," \
	" \"limits\": {\"sse_keepalive\": 1}}"

struct ctl_run {
	int status;
	char *out;
	char *err;
	json_t *json;	/* stdout, when it is JSON */
};

static int setup(void **state)
{
	return bt_setup_tcp(state, CONFIG);
}

/*
 * For profiles: a daemon whose sysfs_module_root and modprobe_dir are
 * directories of the test's own, on its socket and a loopback port.
 */
#define PROFILE_CONFIG_FMT \
	"{\"local_capacity\": {\"asids\": 100, \"sev_asids\": 10," \
	" \"sev_es_asids\": 5, \"vpids\": 1000, \"pmu_counters\": 6," \
	" \"msr_slots\": 16}," \
	" \"sysfs_module_root\": \"%s/sys\", \"modprobe_dir\": \"%s/modprobe\"}"

static int setup_profiles(void **state)
{
	struct bt_daemon *d = calloc(1, sizeof(*d));
	char config[512], path[160], listen[96];
	const char *args[] = { listen, NULL };

	assert_non_null(d);
	bt_init(d, NULL);
	snprintf(config, sizeof(config), PROFILE_CONFIG_FMT, d->dir, d->dir);
	bt_write_file(d->config, config);
	snprintf(path, sizeof(path), "%s/sys", d->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/modprobe", d->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(d->tcp, sizeof(d->tcp), "127.0.0.1:%d", bt_free_port());
	snprintf(listen, sizeof(listen), "--listen=%s", d->tcp);
	assert_int_equal(bt_start(d, args), 0);
	*state = d;
	return 0;
}


/* ---- running brokerctl ---- */

/* The next brokerctl run reads this file as its stdin (then /dev/null). */
static const char *next_stdin;
/* ... and runs in this network namespace (an fd; then the test's own). */
static int next_netns = -1;

static const char *brokerctl_bin(void)
{
	const char *bin = getenv("BROKERCTL");

	if (!bin)
		fail_msg("BROKERCTL (the path of brokerctl) is not set");
	return bin;
}

/*
 * Fork brokerctl with @argv (after its own name), stdout and stderr to
 * files in the test's directory; @env "NAME=value" strings (NULL-ended)
 * added to a clean BROKERCTL_* environment.
 */
static pid_t spawn_ctl(struct bt_daemon *d, const char *const *env,
		       const char *const *argv)
{
	const char *args[40] = { brokerctl_bin() };
	char out[160], err[160];
	size_t n = 1;
	pid_t pid;

	for (; *argv; argv++) {
		assert_true(n < 39);
		args[n++] = *argv;
	}
	args[n] = NULL;
	snprintf(out, sizeof(out), "%s/ctl.out", d->dir);
	snprintf(err, sizeof(err), "%s/ctl.err", d->dir);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		int i = open(next_stdin ? next_stdin : "/dev/null",
			     O_RDONLY | O_CLOEXEC);

		if (o < 0 || e < 0 || i < 0 || dup2(o, 1) < 0 ||
		    dup2(e, 2) < 0 || dup2(i, 0) < 0 ||
		    (next_netns >= 0 && setns(next_netns, CLONE_NEWNET) < 0))
			_exit(127);
		unsetenv("BROKERCTL_SOCKET");
		unsetenv("BROKERCTL_HOST");
		unsetenv("BROKERCTL_TOKEN");
		unsetenv("BROKERCTL_TOKEN_FILE");
		for (; env && *env; env++)
			putenv((char *)*env);
		execv(args[0], (char **)args);
		_exit(127);
	}
	next_stdin = NULL;
	next_netns = -1;
	return pid;
}

static void collect(struct bt_daemon *d, pid_t pid, struct ctl_run *r)
{
	char path[160];
	int status;

	memset(r, 0, sizeof(*r));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	snprintf(path, sizeof(path), "%s/ctl.out", d->dir);
	r->out = bt_read_file(path);
	snprintf(path, sizeof(path), "%s/ctl.err", d->dir);
	r->err = bt_read_file(path);
	assert_non_null(r->out);
	assert_non_null(r->err);
	r->json = json_loads(r->out, JSON_DECODE_ANY, NULL);
}

static void run_env(struct bt_daemon *d, const char *const *env,
		    struct ctl_run *r, const char *const *argv)
{
	collect(d, spawn_ctl(d, env, argv), r);
}

/* brokerctl -s SOCK ARGS... */
static void run_argv(struct bt_daemon *d, struct ctl_run *r,
		     const char *const *argv)
{
	const char *args[40] = { "-s", d->sock };
	size_t n = 2;

	for (; *argv; argv++) {
		assert_true(n < 39);
		args[n++] = *argv;
	}
	args[n] = NULL;
	run_env(d, NULL, r, args);
}

#define RUN(d, r, ...) \
	run_argv(d, r, (const char *const[]){ __VA_ARGS__, NULL })

static void run_free(struct ctl_run *r)
{
	free(r->out);
	free(r->err);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* Exit status @status, or fail showing what it printed. */
static void assert_exit(const struct ctl_run *r, int status)
{
	if (r->status != status)
		fail_msg("brokerctl exited %d, not %d\nstdout: %s\nstderr: %s",
			 r->status, status, r->out, r->err);
}

static void assert_ok(const struct ctl_run *r)
{
	assert_exit(r, 0);
	assert_string_equal(r->err, "");
}

/* A line of @text that starts with @prefix. */
static bool has_line(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l)
		if (!strncmp(l, prefix, n))
			return true;
	return false;
}

static void assert_line(const char *text, const char *prefix)
{
	if (!has_line(text, prefix))
		fail_msg("no line starting '%s' in:\n%s", prefix, text);
}

static void assert_has(const char *text, const char *needle)
{
	if (!strstr(text, needle))
		fail_msg("'%s' not in:\n%s", needle, text);
}

/* A table row: its cells, separated by runs of spaces, as one string. */
static char *row_of(const char *text, const char *first_cell)
{
	size_t n = strlen(first_cell);

	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l) {
		const char *end = strchrnul(l, '\n');
		char *row, *p;
		size_t len = 0;

		if (strncmp(l, first_cell, n) || (l[n] != ' ' && l + n != end))
			continue;
		row = calloc(1, end - l + 1);
		assert_non_null(row);
		for (p = (char *)l; p < end; p++)
			if (*p != ' ' || (len && row[len - 1] != ' '))
				row[len++] = *p;
		while (len && row[len - 1] == ' ')
			row[--len] = 0;
		return row;
	}
	fail_msg("no row '%s' in:\n%s", first_cell, text);
	return NULL;
}

static void assert_row(const char *text, const char *first_cell,
		       const char *cells)
{
	char *row = row_of(text, first_cell);

	if (strcmp(row, cells))
		fail_msg("row '%s', not '%s'", row, cells);
	free(row);
}

static long long json_int_at(json_t *j, const char *a, const char *b,
			     const char *c)
{
	return c ? BT_INT(j, a, b, c) : b ? BT_INT(j, a, b) : BT_INT(j, a);
}

/* ---- tests ---- */

static void test_resources_in_both_modes(void **state)
{
	struct bt_daemon *d = *state;
	struct ctl_run r;
	json_t *res;

	RUN(d, &r, "resources");
	assert_ok(&r);
	assert_line(r.out, "backend: local");
	assert_line(r.out, "KIND ");
	assert_row(r.out, "asids", "asids 100 16 0 0 100 0 yes");
	assert_row(r.out, "vpids", "vpids 1000 1 0 0 1000 0 yes");
	assert_row(r.out, "msr_slots", "msr_slots 16 0 0 0 16 0 yes");
	run_free(&r);

	RUN(d, &r, "-o", "json", "resources", "show");
	assert_ok(&r);
	assert_non_null(r.json);
	assert_string_equal(json_string_value(json_object_get(r.json, "backend")),
			    "local");
	res = json_object_get(r.json, "resources");
	assert_int_equal(json_array_size(res), 6);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(res, 3), "kind")), "vpids");
	assert_int_equal(BT_INT(json_array_get(res, 3), "capacity"), 1000);
	run_free(&r);
}

static void test_instances_declare_list_show_delete(void **state)
{
	struct bt_daemon *d = *state;
	struct bt_resp h;
	struct ctl_run r;
	json_t *list;

	RUN(d, &r, "instances", "declare", "kvm_a");
	assert_ok(&r);
	assert_line(r.out, "name: kvm_a");
	assert_line(r.out, "state: declared");
	assert_line(r.out, "generation: 1");
	assert_row(r.out, "vpids", "vpids - 0 0 0 0 -");
	run_free(&r);

	RUN(d, &r, "-o", "json", "instances", "declare", "kvm_b");
	assert_ok(&r);
	assert_string_equal(json_string_value(json_object_get(r.json, "name")),
			    "kvm_b");
	assert_string_equal(json_string_value(json_object_get(r.json, "state")),
			    "declared");
	run_free(&r);

	/* "list" is the default verb. */
	RUN(d, &r, "instances");
	assert_ok(&r);
	assert_line(r.out, "NAME ");
	assert_row(r.out, "kvm_a", "kvm_a declared - 0 1 -");
	assert_row(r.out, "kvm_b", "kvm_b declared - 0 2 -");
	run_free(&r);

	RUN(d, &r, "-o", "json", "instances", "list");
	assert_ok(&r);
	list = json_object_get(r.json, "instances");
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(list, 0), "name")), "kvm_a");
	run_free(&r);

	RUN(d, &r, "instances", "show", "kvm_b");
	assert_ok(&r);
	assert_line(r.out, "name: kvm_b");
	assert_line(r.out, "module: -");
	assert_line(r.out, "KIND ");
	run_free(&r);

	RUN(d, &r, "-o", "json", "instances", "show", "kvm_b");
	assert_ok(&r);
	assert_int_equal(BT_INT(r.json, "generation"), 2);
	assert_true(json_is_object(json_object_get(r.json, "usage")));
	/* The local backend runs no VM: every instance is drained. */
	assert_int_equal(BT_INT(r.json, "vms"), 0);
	assert_int_equal(json_array_size(json_object_get(r.json, "vm_list")), 0);
	assert_true(json_is_array(json_object_get(r.json, "vm_list")));
	run_free(&r);

	RUN(d, &r, "instances", "wait", "kvm_b", "--drained", "--timeout", "5");
	assert_ok(&r);
	assert_line(r.out, "vms: 0");
	run_free(&r);
	RUN(d, &r, "instances", "wait", "kvm_b");
	assert_exit(&r, 2);
	assert_non_null(strstr(r.err, "--drained"));
	run_free(&r);
	RUN(d, &r, "instances", "wait", "kvm_b", "--drained", "--timeout", "soon");
	assert_exit(&r, 2);
	run_free(&r);
	RUN(d, &r, "instances", "wait", "nobody", "--drained");
	assert_exit(&r, 1);
	run_free(&r);

	RUN(d, &r, "instances", "delete", "kvm_a");
	assert_ok(&r);
	assert_string_equal(r.out, "deleted: kvm_a\n");
	run_free(&r);

	RUN(d, &r, "-o", "json", "instances", "delete", "kvm_b");
	assert_ok(&r);
	assert_string_equal(json_string_value(json_object_get(r.json, "deleted")),
			    "kvm_b");
	run_free(&r);

	bt_get(d, "/v1/instances", &h);
	assert_int_equal(h.status, 200);
	assert_int_equal(json_array_size(json_object_get(h.json, "instances")), 0);
	bt_resp_free(&h);
}

static void test_quota_set_and_get(void **state)
{
	struct bt_daemon *d = *state;
	struct bt_resp h;
	struct ctl_run r;
	char gen[32];

	RUN(d, &r, "instances", "declare", "kvm_b");
	assert_ok(&r);
	run_free(&r);

	RUN(d, &r, "quota", "set", "kvm_b", "asids=10", "vpids=400");
	assert_ok(&r);
	assert_line(r.out, "generation: 2");
	assert_row(r.out, "asids", "asids 10 10 0 0 0 16-25");
	assert_row(r.out, "vpids", "vpids 400 400 0 0 0 -");
	assert_row(r.out, "msr_slots", "msr_slots - 0 0 0 0 -");
	run_free(&r);

	bt_get(d, "/v1/instances/kvm_b", &h);
	assert_int_equal(h.status, 200);
	assert_int_equal(BT_INT(h.json, "desired", "vpids"), 400);
	assert_int_equal(BT_INT(h.json, "usage", "asids", "quota"), 10);
	bt_resp_free(&h);

	RUN(d, &r, "-o", "json", "quota", "get", "kvm_b");
	assert_ok(&r);
	assert_int_equal(json_int_at(r.json, "desired", "asids", NULL), 10);
	assert_int_equal(json_int_at(r.json, "usage", "vpids", "quota"), 400);
	snprintf(gen, sizeof(gen), "%lld", BT_INT(r.json, "generation"));
	run_free(&r);

	RUN(d, &r, "quota", "get", "kvm_b");
	assert_ok(&r);
	assert_row(r.out, "vpids", "vpids 400 400 0 0 0 -");
	run_free(&r);

	/* --if-match with the generation just read, then the stale one. */
	RUN(d, &r, "-o", "json", "quota", "set", "kvm_b", "vpids=500",
	    "--if-match", gen);
	assert_ok(&r);
	assert_int_equal(json_int_at(r.json, "desired", "vpids", NULL), 500);
	run_free(&r);
	RUN(d, &r, "quota", "set", "kvm_b", "vpids=600", "--if-match", gen);
	assert_exit(&r, 1);
	assert_has(r.err, "brokerctl: precondition_failed: ");
	assert_string_equal(r.out, "");
	run_free(&r);

	/* --force and the largest value brokerctl lets through (the server
	 * then refuses it: above capacity). */
	RUN(d, &r, "quota", "set", "kvm_b", "vpids=0", "--force");
	assert_ok(&r);
	assert_row(r.out, "vpids", "vpids 0 0 0 0 0 -");
	run_free(&r);
	RUN(d, &r, "quota", "set", "kvm_b", "asids=4294967295");
	assert_exit(&r, 1);
	assert_has(r.err, "brokerctl: conflict: ");
	run_free(&r);
}

static void test_quota_above_capacity_is_refused_with_the_reason(void **state)
{
	struct bt_daemon *d = *state;
	struct ctl_run r;
	char *before, *after;

	RUN(d, &r, "instances", "declare", "kvm_b");
	assert_ok(&r);
	run_free(&r);
	before = bt_snapshot(d);
	RUN(d, &r, "quota", "set", "kvm_b", "asids=10", "vpids=1001");
	assert_exit(&r, 1);
	assert_string_equal(r.out, "");
	assert_has(r.err, "brokerctl: conflict: ");
	assert_has(r.err, "(quotas.vpids)\n");
	run_free(&r);
	RUN(d, &r, "-o", "json", "quota", "set", "kvm_b", "vpids=1001");
	assert_exit(&r, 1);
	assert_has(r.err, "brokerctl: conflict: ");
	run_free(&r);
	after = bt_snapshot(d);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void test_unknown_instance_is_refused_with_the_reason(void **state)
{
	struct bt_daemon *d = *state;
	static const char *const verbs[][3] = {
		{ "instances", "show", "nope" },
		{ "instances", "delete", "nope" },
		{ "quota", "get", "nope" },
	};
	struct ctl_run r;

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		RUN(d, &r, verbs[i][0], verbs[i][1], verbs[i][2]);
		assert_exit(&r, 1);
		assert_string_equal(r.out, "");
		assert_has(r.err, "brokerctl: not_found: ");
		assert_has(r.err, "nope");
		run_free(&r);
	}
}

static void test_bad_arguments_are_usage_errors_before_any_request(void **state)
{
	struct bt_daemon *d = *state;
	static const struct {
		const char *args[8];
		const char *message;
	} cases[] = {
		{ { "frob" }, "unknown object 'frob'" },
		{ { "instances", "frob", "kvm_a" }, "unknown verb 'frob'" },
		{ { "quota", "frob" }, "unknown verb 'frob'" },
		{ { "quota" }, "missing verb" },
		{ { "instances", "show" }, "takes one instance name" },
		{ { "instances", "declare", "KVM_A" }, "bad instance name 'KVM_A'" },
		{ { "instances", "declare", "kvm-a" }, "bad instance name" },
		{ { "instances", "declare", "a234567890123456789012345678901z" },
		  "bad instance name" },
		{ { "quota", "set", "kvm_a" }, "at least one KIND=N" },
		{ { "quota", "set", "kvm_a", "vpids" }, "expected KIND=N" },
		{ { "quota", "set", "kvm_a", "gpus=1" }, "unknown kind 'gpus'" },
		{ { "quota", "set", "kvm_a", "vpids=-1" }, "bad value '-1'" },
		{ { "quota", "set", "kvm_a", "vpids=ten" }, "bad value 'ten'" },
		{ { "quota", "set", "kvm_a", "vpids=" }, "bad value ''" },
		{ { "quota", "set", "kvm_a", "vpids=0x10" }, "bad value '0x10'" },
		{ { "quota", "set", "kvm_a", "vpids=4294967296" },
		  "bad value '4294967296'" },
		{ { "quota", "set", "kvm_a", "vpids=1", "vpids=2" }, "given twice" },
		{ { "quota", "set", "kvm_a", "vpids=1", "--if-match", "x" },
		  "--if-match" },
		{ { "quota", "set", "kvm_a", "vpids=1", "--bogus" },
		  "unknown option '--bogus'" },
		{ { "quota", "set", "Bad", "vpids=1" }, "bad instance name" },
		{ { "events", "--count", "0" }, "--count" },
		{ { "events", "--count", "x" }, "--count" },
		{ { "token", "create", "ci", "--role", "root" }, "unknown role 'root'" },
		{ { "token", "create", "ci" }, "--role" },
		{ { "token", "create", "c i", "--role", "admin" }, "bad token name" },
		{ { "token", "create", "ci", "--role", "admin", "--expires",
		    "tomorrow" }, "bad --expires 'tomorrow'" },
		{ { "token", "revoke", "a/b" }, "bad token id" },
		{ { "token", "frob" }, "unknown verb 'frob'" },
		{ { "-o", "yaml", "resources" }, "unknown output format 'yaml'" },
		{ { "--bogus", "resources" }, "unknown option '--bogus'" },
		{ { "-H", "ftp://x", "resources" }, "bad host" },
		{ { "policy" }, "missing verb" },
		{ { "policy", "frob" }, "unknown verb 'frob'" },
		{ { "policy", "set" }, "set needs a FILE" },
		{ { "policy", "set", "/nonexistent/p.json" },
		  "cannot read /nonexistent/p.json" },
		{ { "policy", "set", "-" }, "not JSON" },
		{ { "policy", "set", "-", "--if-match", "x" }, "--if-match" },
		{ { "policy", "set", "a", "b" }, "unexpected argument 'b'" },
		{ { "policy", "show", "x" }, "takes no arguments" },
		{ { "policy", "apply", "--force" }, "takes no arguments" },
		{ { "policy", "plan", "a", "b" }, "at most one FILE" },
		{ { "profile" }, "missing verb" },
		{ { "profile", "frob" }, "unknown verb 'frob'" },
		{ { "profile", "show" }, "show takes NAME" },
		{ { "profile", "set", "p" }, "set takes NAME FILE|-" },
		{ { "profile", "apply", "p" }, "apply takes NAME INSTANCE" },
		{ { "profile", "show", "Bad" }, "bad profile name 'Bad'" },
		{ { "profile", "set", "p.q", "-" }, "bad profile name 'p.q'" },
		{ { "profile", "apply", "p", "KVM" }, "bad instance name 'KVM'" },
		{ { "profile", "status", "kvm-a" }, "bad instance name" },
		{ { "profile", "list", "x" }, "list takes no arguments" },
	};
	char nosock[160], *before, *after;
	struct ctl_run r;

	RUN(d, &r, "instances", "declare", "kvm_a");
	assert_ok(&r);
	run_free(&r);
	before = bt_snapshot(d);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *args[10] = { 0 };
		size_t n = 0;

		/* Against the daemon: nothing changes ... */
		for (size_t a = 0; cases[i].args[a]; a++)
			args[n++] = cases[i].args[a];
		run_argv(d, &r, args);
		assert_exit(&r, 2);
		assert_string_equal(r.out, "");
		assert_has(r.err, "brokerctl: ");
		assert_has(r.err, cases[i].message);
		assert_has(r.err, "--help");
		run_free(&r);

		/* ... and against no daemon at all: still 2, not 3, so no
		 * connection was even tried. */
		snprintf(nosock, sizeof(nosock), "%s/none.sock", d->dir);
		memmove(args + 2, args, n * sizeof(*args));
		args[0] = "-s";
		args[1] = nosock;
		args[n + 2] = NULL;
		run_env(d, NULL, &r, args);
		assert_exit(&r, 2);
		run_free(&r);
	}
	after = bt_snapshot(d);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void test_no_daemon_is_exit_3(void **state)
{
	struct bt_daemon *d = *state;
	char nosock[160];
	struct ctl_run r;
	char *port;

	snprintf(nosock, sizeof(nosock), "%s/none.sock", d->dir);
	run_env(d, NULL, &r, (const char *const[]){ "-s", nosock, "resources", NULL });
	assert_exit(&r, 3);
	assert_string_equal(r.out, "");
	assert_has(r.err, "brokerctl: cannot connect to brokerd at ");
	assert_has(r.err, nosock);
	run_free(&r);

	run_env(d, NULL, &r, (const char *const[]){ "-s", nosock, "events",
		"--count", "1", NULL });
	assert_exit(&r, 3);
	run_free(&r);

	/* A TCP port nobody listens on. */
	assert_true(asprintf(&port, "http://127.0.0.1:%d", bt_free_port()) > 0);
	run_env(d, NULL, &r, (const char *const[]){ "-H", port, "-o", "json",
		"instances", NULL });
	assert_exit(&r, 3);
	assert_has(r.err, "brokerctl: cannot connect to brokerd at http://127.0.0.1:");
	run_free(&r);
	free(port);
}

static void assert_token_refused(const struct ctl_run *r)
{
	assert_exit(r, 1);
	assert_string_equal(r->out, "");
	assert_has(r->err, "brokerctl: unauthorized: ");
}

static void test_socket_and_host_come_from_options_or_environment(void **state)
{
	struct bt_daemon *d = *state;
	char env_sock[200], env_host[200], host[100], tokfile[160];
	struct ctl_run r;

	snprintf(env_sock, sizeof(env_sock), "BROKERCTL_SOCKET=%s", d->sock);
	run_env(d, (const char *const[]){ env_sock, NULL }, &r,
		(const char *const[]){ "-o", "json", "resources", NULL });
	assert_ok(&r);
	assert_int_equal(json_array_size(json_object_get(r.json, "resources")), 6);
	run_free(&r);

	/*
	 * Over TCP: served, or (once brokerd asks TCP clients for a token)
	 * refused with the server's reason: either way brokerd answered.
	 */
	snprintf(host, sizeof(host), "http://%s", d->tcp);
	run_env(d, NULL, &r, (const char *const[]){ "--host", host, "resources",
		NULL });
	if (r.status)
		assert_token_refused(&r);
	else
		assert_line(r.out, "backend: local");
	run_free(&r);

	snprintf(env_host, sizeof(env_host), "BROKERCTL_HOST=%s", host);
	run_env(d, (const char *const[]){ env_host, NULL }, &r,
		(const char *const[]){ "-o", "json", "resources", NULL });
	if (r.status)
		assert_token_refused(&r);
	else
		assert_int_equal(json_array_size(json_object_get(r.json, "resources")), 6);
	run_free(&r);

	/* A token the server does not know: ignored or refused. */
	run_env(d, (const char *const[]){ env_host, "BROKERCTL_TOKEN=t0k3n", NULL },
		&r, (const char *const[]){ "instances", NULL });
	if (r.status)
		assert_token_refused(&r);
	run_free(&r);

	/* -s on the command line wins over BROKERCTL_HOST. */
	run_env(d, (const char *const[]){ env_host, NULL }, &r,
		(const char *const[]){ "-s", d->sock, "resources", NULL });
	assert_ok(&r);
	assert_line(r.out, "backend: local");
	run_free(&r);

	snprintf(tokfile, sizeof(tokfile), "%s/token", d->dir);
	bt_write_file(tokfile, "s3cret\n");
	RUN(d, &r, "--token-file", tokfile, "resources");
	if (r.status)
		assert_token_refused(&r);
	else
		assert_line(r.out, "backend: local");
	run_free(&r);

	snprintf(tokfile, sizeof(tokfile), "%s/no-such-token", d->dir);
	RUN(d, &r, "--token-file", tokfile, "instances");
	assert_exit(&r, 2);
	assert_has(r.err, "cannot read");
	run_free(&r);
}

/* --version prints "brokerctl VERSION", the project's; --help names it. */
static void test_version_is_the_project_version(void **state)
{
	struct bt_daemon *d = *state;
	struct ctl_run r;

	run_env(d, NULL, &r, (const char *const[]){ "--version", NULL });
	assert_ok(&r);
	assert_string_equal(r.out, "brokerctl " BROKER_VERSION "\n");
	run_free(&r);
	run_env(d, NULL, &r, (const char *const[]){ "--help", NULL });
	assert_ok(&r);
	assert_has(r.out, "--version");
	run_free(&r);
}

static void test_help_documents_verbs_and_exit_codes(void **state)
{
	struct bt_daemon *d = *state;
	static const struct {
		const char *args[3];
		const char *needle;
	} cases[] = {
		{ { "--help" }, "Exit status:" },
		{ { "-h" }, "2  usage error" },
		{ { "help", "quota" }, "KIND=N" },
		{ { "quota", "--help" }, "--if-match GEN" },
		{ { "quota", "set", "-h" }, "asids=1024 vpids=4096" },
		{ { "instances", "--help" }, "declare NAME" },
		{ { "resources", "--help" }, "capacity" },
		{ { "events", "--help" }, "--count N" },
		{ { "token", "--help" }, "--role ROLE" },
		{ { "policy", "--help" }, "plan [FILE|-]" },
		{ { "policy", "set", "-h" }, "shrinks before grows" },
		{ { "help", "profile" }, "apply NAME INSTANCE" },
		{ { "profile", "status", "--help" }, "drift" },
	};
	struct ctl_run r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *args[4] = { 0 };

		memcpy(args, cases[i].args, sizeof(cases[i].args));
		run_env(d, NULL, &r, args);
		assert_ok(&r);
		assert_has(r.out, "Usage: brokerctl");
		assert_has(r.out, cases[i].needle);
		run_free(&r);
	}
}

/*
 * events --count 2 sees changes made while it runs.  Changes are made
 * until it exits: it may subscribe after the first ones.
 */
static void check_events(struct bt_daemon *d, bool json)
{
	const char *argv_json[] = { "-s", d->sock, "-o", "json", "events",
				    "--count", "2", NULL };
	const char *argv_table[] = { "-s", d->sock, "events", "--count", "2",
				     NULL };
	struct ctl_run r, q;
	char path[160], *line, *next;
	pid_t pid;
	int status, lines = 0, i;
	long long last = -1;

	pid = spawn_ctl(d, NULL, json ? argv_json : argv_table);
	for (i = 1; i < 200; i++) {
		struct bt_resp h;
		char body[64];

		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		snprintf(body, sizeof(body), "{\"quotas\": {\"vpids\": %d}}", i);
		bt_put_json(d, "/v1/instances/kvm_e/quota", body, &h);
		assert_int_equal(h.status, 200);
		bt_resp_free(&h);
		usleep(50000);
	}
	assert_true(i < 200);
	/* collect() waits again: fake the finished child's status. */
	memset(&r, 0, sizeof(r));
	r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	snprintf(path, sizeof(path), "%s/ctl.out", d->dir);
	r.out = bt_read_file(path);
	snprintf(path, sizeof(path), "%s/ctl.err", d->dir);
	r.err = bt_read_file(path);
	assert_non_null(r.out);
	assert_non_null(r.err);
	assert_ok(&r);

	for (line = r.out; line && *line; line = next) {
		next = strchr(line, '\n');
		assert_non_null(next);
		*next++ = 0;
		lines++;
		if (json) {
			json_t *ev = json_loads(line, 0, NULL);

			assert_non_null(ev);
			assert_string_equal(json_string_value(json_object_get(ev,
					    "event")), "quota");
			assert_string_equal(json_string_value(json_object_get(
				json_object_get(ev, "data"), "name")), "kvm_e");
			assert_true(json_int_at(json_object_get(ev, "data"),
						"desired", "vpids", NULL) > last);
			last = json_int_at(json_object_get(ev, "data"),
					   "desired", "vpids", NULL);
			json_decref(ev);
		} else {
			assert_true(!strncmp(line, "quota kvm_e state=declared generation=", 38));
			assert_has(line, " desired=vpids=");
		}
	}
	assert_int_equal(lines, 2);
	run_free(&r);

	RUN(d, &q, "quota", "get", "kvm_e");
	assert_ok(&q);
	run_free(&q);
}

static void test_events_count_sees_changes_made_meanwhile(void **state)
{
	struct bt_daemon *d = *state;
	struct ctl_run r;

	RUN(d, &r, "instances", "declare", "kvm_e");
	assert_ok(&r);
	run_free(&r);
	check_events(d, true);
	check_events(d, false);
}

/*
 * token create, list and revoke against /v1/tokens (the Unix socket's
 * root peer is admin); a created token then works over TCP.  Where
 * brokerd has no /v1/tokens, brokerctl prints its reason and exits 1.
 */
static void test_token_verbs_follow_the_server(void **state)
{
	struct bt_daemon *d = *state;
	char id[64], secret[160], host[100], tokfile[160], expect[96], *row;
	struct bt_resp h;
	struct ctl_run r;

	bt_get(d, "/v1/tokens", &h);
	if (h.status == 404) {
		RUN(d, &r, "token", "list");
		assert_exit(&r, 1);
		assert_has(r.err, "brokerctl: not_found: ");
		run_free(&r);
		RUN(d, &r, "token", "create", "ci", "--role", "viewer",
		    "--instance", "kvm_a");
		assert_exit(&r, 1);
		assert_has(r.err, "brokerctl: not_found: ");
		run_free(&r);
		RUN(d, &r, "token", "revoke", "abc123");
		assert_exit(&r, 1);
		assert_has(r.err, "brokerctl: not_found: ");
		run_free(&r);
		bt_resp_free(&h);
		return;
	}
	assert_int_equal(h.status, 200);
	bt_resp_free(&h);

	RUN(d, &r, "instances", "declare", "kvm_a");
	assert_ok(&r);
	run_free(&r);

	/* create, in both modes: the secret printed once. */
	RUN(d, &r, "-o", "json", "token", "create", "ci", "--role", "viewer",
	    "--instance", "kvm_a", "--expires", "4102444800");
	assert_ok(&r);
	assert_string_equal(json_string_value(json_object_get(r.json, "name")), "ci");
	assert_string_equal(json_string_value(json_object_get(r.json, "role")), "viewer");
	assert_int_equal(BT_INT(r.json, "expires"), 4102444800LL);
	assert_non_null(json_string_value(json_object_get(r.json, "token")));
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(r.json, "id")));
	snprintf(secret, sizeof(secret), "%s",
		 json_string_value(json_object_get(r.json, "token")));
	run_free(&r);

	RUN(d, &r, "token", "create", "ops", "--role", "operator");
	assert_ok(&r);
	assert_line(r.out, "name: ops");
	assert_line(r.out, "role: operator");
	assert_line(r.out, "token: ");
	run_free(&r);

	/* list, in both modes. */
	RUN(d, &r, "-o", "json", "token", "list");
	assert_ok(&r);
	assert_int_equal(json_array_size(json_object_get(r.json, "tokens")), 2);
	run_free(&r);
	RUN(d, &r, "token", "list");
	assert_ok(&r);
	assert_line(r.out, "ID ");
	row = row_of(r.out, id);
	assert_true(!strncmp(row + strlen(id), " ci viewer kvm_a ", 17));
	assert_true(strlen(row) > 11 && !strcmp(row + strlen(row) - 11, " 4102444800"));
	free(row);
	run_free(&r);

	/* The new token over TCP with -H and --token-file. */
	snprintf(host, sizeof(host), "http://%s", d->tcp);
	snprintf(tokfile, sizeof(tokfile), "%s/token", d->dir);
	bt_write_file(tokfile, secret);
	run_env(d, NULL, &r, (const char *const[]){ "-H", host, "--token-file",
		tokfile, "-o", "json", "quota", "get", "kvm_a", NULL });
	assert_ok(&r);
	assert_string_equal(json_string_value(json_object_get(r.json, "name")), "kvm_a");
	run_free(&r);

	/* revoke, in both modes; then it is gone. */
	RUN(d, &r, "token", "revoke", id);
	assert_ok(&r);
	snprintf(expect, sizeof(expect), "revoked: %s\n", id);
	assert_string_equal(r.out, expect);
	run_free(&r);
	RUN(d, &r, "token", "revoke", id);
	assert_exit(&r, 1);
	assert_has(r.err, "brokerctl: not_found: ");
	run_free(&r);
	RUN(d, &r, "-o", "json", "token", "list");
	assert_ok(&r);
	assert_int_equal(json_array_size(json_object_get(r.json, "tokens")), 1);
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(
		json_array_get(json_object_get(r.json, "tokens"), 0), "id")));
	run_free(&r);
	RUN(d, &r, "-o", "json", "token", "revoke", id);
	assert_ok(&r);
	assert_string_equal(json_string_value(json_object_get(r.json, "revoked")), id);
	run_free(&r);
}

/* A file in the test's directory with @text: its path, in @path. */
static void doc_file(struct bt_daemon *d, char *path, size_t size,
		     const char *name, const char *text)
{
	snprintf(path, size, "%s/%s", d->dir, name);
	bt_write_file(path, text);
}

#define EVEN "{\"kinds\": {\"vpids\": {\"keep_offline\": true}}}"

/*
 * policy show, plan, set, apply and delete in both modes: a dry run
 * changes nothing, set applies the plan, delete leaves the quotas; an
 * invalid document names its JSON path, an infeasible one the instance,
 * and neither changes anything.
 */
static void test_policy_verbs_in_both_modes(void **state)
{
	struct bt_daemon *d = *state;
	char even[160], bad[160], tight[160], notjson[160], *before, *after;
	struct ctl_run r;

	doc_file(d, even, sizeof(even), "even.json", EVEN);
	doc_file(d, bad, sizeof(bad), "bad.json", "{\"kinds\": {\"gpus\": {}}}");
	doc_file(d, tight, sizeof(tight), "tight.json",
		 "{\"kinds\": {\"vpids\": {\"keep_offline\": true,"
		 " \"instances\": {\"kvm_a\": {\"fixed\": 2000}}}}}");
	doc_file(d, notjson, sizeof(notjson), "notjson.json", "{\"kinds\": ");

	RUN(d, &r, "policy", "show");
	assert_ok(&r);
	assert_line(r.out, "generation: ");
	assert_line(r.out, "no policy stored");
	run_free(&r);
	RUN(d, &r, "-o", "json", "policy", "show");
	assert_ok(&r);
	assert_true(json_is_null(json_object_get(r.json, "policy")));
	run_free(&r);
	RUN(d, &r, "policy", "plan");
	assert_exit(&r, 1);
	assert_string_equal(r.out, "");
	assert_has(r.err, "brokerctl: not_found: ");
	run_free(&r);

	RUN(d, &r, "instances", "declare", "kvm_a");
	assert_ok(&r);
	run_free(&r);
	RUN(d, &r, "instances", "declare", "kvm_b");
	assert_ok(&r);
	run_free(&r);

	/* plan: a dry run of a candidate, in both modes. */
	before = bt_snapshot(d);
	RUN(d, &r, "policy", "plan", even);
	assert_ok(&r);
	assert_line(r.out, "INSTANCE  KIND   FROM  TO");
	assert_row(r.out, "kvm_a", "kvm_a vpids 0 500");
	assert_row(r.out, "kvm_b", "kvm_b vpids 0 500");
	assert_has(r.out, "PLANNED QUOTAS");
	run_free(&r);
	next_stdin = even;
	RUN(d, &r, "-o", "json", "policy", "plan", "-");
	assert_ok(&r);
	assert_int_equal(json_array_size(json_object_get(json_object_get(r.json,
			 "plan"), "steps")), 2);
	assert_int_equal(BT_INT(r.json, "plan", "quotas", "kvm_b", "vpids"), 500);
	run_free(&r);

	/* Refused documents: exit 1, the reason, nothing changed. */
	RUN(d, &r, "policy", "set", bad);
	assert_exit(&r, 1);
	assert_string_equal(r.out, "");
	assert_has(r.err, "brokerctl: ");
	assert_has(r.err, "kinds.gpus");
	run_free(&r);
	RUN(d, &r, "-o", "json", "policy", "set", tight);
	assert_exit(&r, 1);
	assert_string_equal(r.out, "");
	assert_has(r.err, "brokerctl: conflict: ");
	assert_has(r.err, "kvm_a");
	assert_has(r.err, "vpids");
	run_free(&r);
	RUN(d, &r, "policy", "plan", tight);
	assert_exit(&r, 1);
	assert_has(r.err, "brokerctl: conflict: ");
	run_free(&r);
	RUN(d, &r, "policy", "set", notjson);
	assert_exit(&r, 2);
	assert_has(r.err, "not JSON");
	run_free(&r);
	after = bt_snapshot(d);
	assert_string_equal(before, after);
	free(before);
	free(after);

	/* set: refused on a stale generation, then stored and applied. */
	RUN(d, &r, "policy", "set", even, "--if-match", "999");
	assert_exit(&r, 1);
	assert_has(r.err, "brokerctl: precondition_failed: ");
	run_free(&r);
	RUN(d, &r, "-o", "json", "policy", "show");
	assert_ok(&r);
	assert_true(json_is_null(json_object_get(r.json, "policy")));
	run_free(&r);
	RUN(d, &r, "policy", "set", even);
	assert_ok(&r);
	assert_line(r.out, "generation: ");
	assert_line(r.out, "applied: yes");
	assert_row(r.out, "kvm_a", "kvm_a vpids 0 500");
	run_free(&r);
	RUN(d, &r, "-o", "json", "quota", "get", "kvm_a");
	assert_ok(&r);
	assert_int_equal(BT_INT(r.json, "usage", "vpids", "quota"), 500);
	run_free(&r);
	RUN(d, &r, "policy", "show");
	assert_ok(&r);
	assert_has(r.out, "\"keep_offline\": true");
	run_free(&r);
	RUN(d, &r, "-o", "json", "policy", "show");
	assert_ok(&r);
	assert_true(json_is_true(json_object_get(json_object_get(json_object_get(
		json_object_get(r.json, "policy"), "kinds"), "vpids"), "keep_offline")));
	run_free(&r);

	/* apply: nothing left to change. */
	RUN(d, &r, "policy", "apply");
	assert_ok(&r);
	assert_line(r.out, "applied: yes");
	assert_line(r.out, "(no change)");
	run_free(&r);
	RUN(d, &r, "-o", "json", "policy", "apply");
	assert_ok(&r);
	assert_true(json_is_true(json_object_get(r.json, "applied")));
	assert_int_equal(json_array_size(json_object_get(json_object_get(r.json,
			 "plan"), "steps")), 0);
	run_free(&r);

	/* delete: gone, the quotas stay. */
	RUN(d, &r, "policy", "delete");
	assert_ok(&r);
	assert_string_equal(r.out, "deleted: policy\n");
	run_free(&r);
	RUN(d, &r, "-o", "json", "policy", "show");
	assert_ok(&r);
	assert_true(json_is_null(json_object_get(r.json, "policy")));
	run_free(&r);
	RUN(d, &r, "-o", "json", "quota", "get", "kvm_b");
	assert_ok(&r);
	assert_int_equal(BT_INT(r.json, "usage", "vpids", "quota"), 500);
	run_free(&r);
}

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

#define CANARY "{\"quotas\": {\"vpids\": 10, \"asids\": 4}, \"params\": {" \
	"\"halt_poll_ns\": \"0\", \"tdp_mmu\": \"N\", \"enable_pmu\": \"0\"}}"

/*
 * profile set, list, show, apply, status and delete in both modes,
 * against a sysfs-like tree of the test's own: each parameter's status,
 * the modprobe.d file, the quotas, the drift check, and the refusals
 * (unknown profile or instance, invalid document, quota above capacity).
 */
static void test_profile_verbs_in_both_modes(void **state)
{
	struct bt_daemon *d = *state;
	char canary[160], bad[160], big[160], conf[192], *text;
	struct ctl_run r;

	doc_file(d, canary, sizeof(canary), "canary.json", CANARY);
	doc_file(d, bad, sizeof(bad), "bad.json", "{\"params\": {\"Bad-Name\": \"1\"}}");
	doc_file(d, big, sizeof(big), "big.json", "{\"quotas\": {\"vpids\": 2000}}");

	RUN(d, &r, "profile", "list");
	assert_ok(&r);
	assert_string_equal(r.out, "NAME  QUOTAS  PARAMS\n");
	run_free(&r);

	RUN(d, &r, "profile", "set", "canary", canary);
	assert_ok(&r);
	assert_line(r.out, "name: canary");
	assert_has(r.out, "vpids=10");
	assert_has(r.out, "halt_poll_ns=0");
	run_free(&r);
	next_stdin = big;
	RUN(d, &r, "-o", "json", "profile", "set", "big", "-");
	assert_ok(&r);
	assert_int_equal(BT_INT(r.json, "quotas", "vpids"), 2000);
	run_free(&r);
	RUN(d, &r, "profile", "set", "canary", bad);
	assert_exit(&r, 1);
	assert_string_equal(r.out, "");
	assert_has(r.err, "brokerctl: ");
	assert_has(r.err, "Bad-Name");
	run_free(&r);

	RUN(d, &r, "profile", "list");
	assert_ok(&r);
	text = row_of(r.out, "canary");
	assert_has(text, "halt_poll_ns=0");
	free(text);
	run_free(&r);
	RUN(d, &r, "-o", "json", "profile", "list");
	assert_ok(&r);
	assert_int_equal(json_array_size(json_object_get(r.json, "profiles")), 2);
	run_free(&r);
	RUN(d, &r, "-o", "json", "profile", "show", "canary");
	assert_ok(&r);
	assert_int_equal(BT_INT(r.json, "quotas", "asids"), 4);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
		r.json, "params"), "tdp_mmu")), "N");
	run_free(&r);
	RUN(d, &r, "profile", "show", "nope");
	assert_exit(&r, 1);
	assert_has(r.err, "brokerctl: not_found: ");
	run_free(&r);

	/* apply: per parameter applied, pending or unknown. */
	RUN(d, &r, "instances", "declare", "kvm_a");
	assert_ok(&r);
	run_free(&r);
	param_file(d, "kvm_a", "halt_poll_ns", "200000\n", 0644);
	param_file(d, "kvm_a", "tdp_mmu", "Y\n", 0444);
	RUN(d, &r, "profile", "apply", "nope", "kvm_a");
	assert_exit(&r, 1);
	assert_has(r.err, "brokerctl: not_found: ");
	assert_has(r.err, "nope");
	run_free(&r);
	RUN(d, &r, "profile", "apply", "canary", "kvm_z");
	assert_exit(&r, 1);
	assert_has(r.err, "brokerctl: not_found: ");
	run_free(&r);
	RUN(d, &r, "profile", "apply", "big", "kvm_a");
	assert_exit(&r, 1);
	assert_has(r.err, "brokerctl: conflict: ");
	run_free(&r);
	RUN(d, &r, "profile", "status", "kvm_a");
	assert_exit(&r, 1);
	assert_has(r.err, "brokerctl: not_found: ");
	run_free(&r);

	RUN(d, &r, "profile", "apply", "canary", "kvm_a");
	assert_ok(&r);
	snprintf(conf, sizeof(conf), "%s/modprobe/vac-kvm_a.conf", d->dir);
	assert_line(r.out, "instance: kvm_a");
	assert_line(r.out, "profile: canary");
	assert_has(r.out, conf);
	assert_line(r.out, "PARAM ");
	assert_row(r.out, "halt_poll_ns", "halt_poll_ns 0 0 applied");
	assert_row(r.out, "tdp_mmu", "tdp_mmu N Y pending");
	assert_row(r.out, "enable_pmu", "enable_pmu 0 - unknown");
	run_free(&r);
	text = bt_read_file(conf);
	assert_non_null(text);
	assert_has(text, "options kvm_a enable_pmu=0 tdp_mmu=N");
	free(text);
	RUN(d, &r, "-o", "json", "quota", "get", "kvm_a");
	assert_ok(&r);
	assert_int_equal(BT_INT(r.json, "usage", "vpids", "quota"), 10);
	run_free(&r);

	/* status: drift seen, nothing written. */
	param_file(d, "kvm_a", "halt_poll_ns", "5\n", 0644);
	RUN(d, &r, "profile", "status", "kvm_a");
	assert_ok(&r);
	assert_row(r.out, "halt_poll_ns", "halt_poll_ns 0 5 drifted");
	run_free(&r);
	RUN(d, &r, "-o", "json", "profile", "status", "kvm_a");
	assert_ok(&r);
	assert_string_equal(json_string_value(json_object_get(r.json, "profile")),
			    "canary");
	assert_int_equal(json_array_size(json_object_get(r.json, "params")), 3);
	run_free(&r);
	snprintf(conf, sizeof(conf), "%s/sys/kvm_a/parameters/halt_poll_ns", d->dir);
	text = bt_read_file(conf);
	assert_string_equal(text, "5\n");
	free(text);

	/* delete, in both modes. */
	RUN(d, &r, "profile", "delete", "big");
	assert_ok(&r);
	assert_string_equal(r.out, "deleted: big\n");
	run_free(&r);
	RUN(d, &r, "-o", "json", "profile", "delete", "canary");
	assert_ok(&r);
	assert_string_equal(json_string_value(json_object_get(r.json, "deleted")),
			    "canary");
	run_free(&r);
	RUN(d, &r, "profile", "delete", "canary");
	assert_exit(&r, 1);
	assert_has(r.err, "brokerctl: not_found: ");
	run_free(&r);
}

/*
 * No permission: over TCP a viewer token may read but not change, and an
 * operator token scoped to kvm_a may not touch kvm_b; each refusal is
 * exit 1 with the server's reason, and changes nothing.
 */
static void test_no_permission_is_refused_with_the_reason(void **state)
{
	static const char *const changes[][4] = {
		{ "quota", "set", "kvm_a", "vpids=5" },
		{ "instances", "declare", "kvm_c" },
		{ "policy", "set", "FILE" },
		{ "policy", "delete" },
		{ "profile", "set", "p", "FILE" },
		{ "profile", "apply", "p", "kvm_a" },
	};
	struct bt_daemon *d = *state;
	char host[100], viewer[160], scoped[160], file[160], *before, *after;
	char env_file[200], env_host[120];
	struct ctl_run r;
	char *t;

	RUN(d, &r, "instances", "declare", "kvm_a");
	assert_ok(&r);
	run_free(&r);
	RUN(d, &r, "instances", "declare", "kvm_b");
	assert_ok(&r);
	run_free(&r);
	RUN(d, &r, "-o", "json", "token", "create", "ops", "--role", "operator",
	    "--instance", "kvm_a");
	assert_ok(&r);
	doc_file(d, scoped, sizeof(scoped), "scoped.token",
		 json_string_value(json_object_get(r.json, "token")));
	run_free(&r);
	t = bt_token(d, "ro", "viewer");
	doc_file(d, viewer, sizeof(viewer), "viewer.token", t);
	free(t);
	doc_file(d, file, sizeof(file), "even.json", EVEN);
	snprintf(host, sizeof(host), "http://%s", d->tcp);

	before = bt_snapshot(d);
	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		const char *args[12] = { "--url", host, "--token-file", viewer };
		size_t n = 4;

		for (size_t a = 0; a < 4 && changes[i][a]; a++)
			args[n++] = strcmp(changes[i][a], "FILE") ? changes[i][a] : file;
		run_env(d, NULL, &r, args);
		assert_exit(&r, 1);
		assert_string_equal(r.out, "");
		assert_has(r.err, "brokerctl: forbidden: ");
		run_free(&r);
	}
	/* Reads are fine for a viewer; the environment names the file. */
	snprintf(env_file, sizeof(env_file), "BROKERCTL_TOKEN_FILE=%s", viewer);
	snprintf(env_host, sizeof(env_host), "BROKERCTL_HOST=%s", host);
	run_env(d, (const char *const[]){ env_host, env_file, NULL }, &r,
		(const char *const[]){ "-o", "json", "policy", "show", NULL });
	assert_ok(&r);
	run_free(&r);
	/* The scoped operator: kvm_a yes, kvm_b no. */
	run_env(d, NULL, &r, (const char *const[]){ "--url", host, "--token-file",
		scoped, "quota", "set", "kvm_b", "vpids=5", NULL });
	assert_exit(&r, 1);
	assert_has(r.err, "brokerctl: forbidden: ");
	run_free(&r);
	after = bt_snapshot(d);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* ---- a network of the test's own ---- */

/*
 * Two network namespaces joined by a veth pair: brokerctl runs in the
 * client one, 192.0.2.2; the server one, 192.0.2.1 (TEST-NET-1), has a
 * listener that records every connection and what it was sent.  Nothing
 * reaches the machine's own network.
 */
#define NET_SERVER "192.0.2.1"
#define NET_PORT 8080

struct net {
	char client[32], server[32];
	int client_fd;		/* the client namespace */
	char log[160];		/* the listener's record */
	pid_t listener;
};

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int open_netns(const char *name)
{
	char path[96];

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* In the server namespace: accept, record "CONNECT\n" and what comes. */
static void listen_and_record(struct net *n, int ready)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(NET_PORT) };
	struct timeval tv = { 1, 0 };
	int ns = open_netns(n->server), one = 1, fd, c, log;
	char buf[4096];
	ssize_t len;

	prctl(PR_SET_PDEATHSIG, SIGKILL);	/* ends with the test */
	inet_pton(AF_INET, NET_SERVER, &sa.sin_addr);
	log = open(n->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (ns < 0 || log < 0 || setns(ns, CLONE_NEWNET) < 0)
		_exit(1);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (void *)&sa, sizeof(sa)) || listen(fd, 16) ||
	    write(ready, "1", 1) != 1)
		_exit(1);
	for (;;) {
		c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		/* What the client sends first: a request, or a ClientHello. */
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		len = read(c, buf, sizeof(buf));
		if (write(log, "CONNECT\n", 8) != 8 ||
		    (len > 0 && write(log, buf, len) != len))
			_exit(1);
		close(c);
	}
}

/* What net_up() made, for net_teardown() when a test fails. */
static struct net *net_made;

/* The namespaces and the listener, or false where they cannot be made. */
static bool net_up(struct bt_daemon *d, struct net *n)
{
	int id = getpid() % 100000, ready[2];
	char c;

	net_made = n;
	snprintf(n->client, sizeof(n->client), "btc%d", id);
	snprintf(n->server, sizeof(n->server), "bts%d", id);
	snprintf(n->log, sizeof(n->log), "%s/listener.log", d->dir);
	n->client_fd = -1;
	n->listener = -1;
	if (geteuid() || sh("ip netns add %s 2>/dev/null", n->client))
		return false;
	assert_int_equal(sh("ip netns add %s", n->server), 0);
	assert_int_equal(sh("ip link add btv%dc netns %s type veth peer name btv%ds netns %s",
			    id, n->client, id, n->server), 0);
	assert_int_equal(sh("ip -n %s addr add 192.0.2.2/24 dev btv%dc && "
			    "ip -n %s link set btv%dc up && ip -n %s link set lo up && "
			    "ip -n %s addr add " NET_SERVER "/24 dev btv%ds && "
			    "ip -n %s link set btv%ds up",
			    n->client, id, n->client, id, n->client,
			    n->server, id, n->server, id), 0);
	n->client_fd = open_netns(n->client);
	assert_true(n->client_fd >= 0);
	bt_write_file(n->log, "");
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	n->listener = fork();
	assert_true(n->listener >= 0);
	if (!n->listener)
		listen_and_record(n, ready[1]);
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return true;
}

static void net_down(struct net *n)
{
	net_made = NULL;
	if (n->listener > 0) {
		kill(n->listener, SIGKILL);
		waitpid(n->listener, NULL, 0);
	}
	if (n->client_fd >= 0)
		close(n->client_fd);
	sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null",
	   n->client, n->server);
}

static int net_teardown(void **state)
{
	if (net_made)
		net_down(net_made);
	return bt_teardown(state);
}

/* brokerctl in the client namespace, with @env. */
static void run_in(struct bt_daemon *d, struct net *n, const char *const *env,
		   struct ctl_run *r, const char *const *argv)
{
	next_netns = n->client_fd;
	run_env(d, env, r, argv);
}

static int connections(const struct net *n)
{
	char *log = bt_read_file(n->log);
	int count = 0;

	assert_non_null(log);
	for (const char *p = log; (p = strstr(p, "CONNECT\n")); p += 8)
		count++;
	free(log);
	return count;
}

/*
 * http:// to a host that is not loopback is a usage error, found before
 * any connection: the token would cross the network in cleartext.  In
 * forms a string check would miss, too, and from the environment.  The
 * listener that would have received it sees nothing, while https:// to
 * the same address reaches it (so the path is there).  Plain HTTP to
 * loopback never takes a proxy from the environment either.
 */
static void test_cleartext_to_other_hosts_is_refused_before_connecting(void **state)
{
	static const char token[] =
		"vac_0123456789abcdef_0123456789abcdef0123456789abcdef0123456789abcdef";
	static const char *const urls[] = {
		"http://" NET_SERVER ":8080",
		"http://" NET_SERVER ":8080/",
		"http://127.0.0.1@" NET_SERVER ":8080",
		"http://" NET_SERVER ":8080#@127.0.0.1",
		"http://[::ffff:" NET_SERVER "]:8080",
		"http://localhost.example:8080",
	};
	struct bt_daemon *d = *state;
	char env_host[96], env_proxy[96], all_proxy[96], loop[96], *log;
	struct ctl_run r;
	struct net n;

	if (!net_up(d, &n)) {
		net_down(&n);
		skip();
	}
	/* https:// to the listener: it is reached, with no token in clear. */
	run_in(d, &n, NULL, &r, (const char *const[]){ "--url",
		"https://" NET_SERVER ":8080", "-t", token, "resources", NULL });
	assert_exit(&r, 3);
	run_free(&r);
	assert_int_equal(connections(&n), 1);

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		run_in(d, &n, NULL, &r, (const char *const[]){ "--url", urls[i],
			"-t", token, "quota", "set", "kvm_a", "vpids=1", NULL });
		assert_exit(&r, 2);
		assert_string_equal(r.out, "");
		assert_has(r.err, "brokerctl: refusing ");
		assert_has(r.err, "cleartext");
		assert_has(r.err, "https://");
		run_free(&r);
	}
	snprintf(env_host, sizeof(env_host), "BROKERCTL_HOST=http://%s:%d",
		 NET_SERVER, NET_PORT);
	run_in(d, &n, (const char *const[]){ env_host, "BROKERCTL_TOKEN=x", NULL },
	       &r, (const char *const[]){ "resources", NULL });
	assert_exit(&r, 2);
	assert_has(r.err, "cleartext");
	run_free(&r);

	/* Loopback is allowed (nothing listens there: 3), not via a proxy. */
	snprintf(env_proxy, sizeof(env_proxy), "http_proxy=http://%s:%d",
		 NET_SERVER, NET_PORT);
	snprintf(all_proxy, sizeof(all_proxy), "ALL_PROXY=http://%s:%d",
		 NET_SERVER, NET_PORT);
	snprintf(loop, sizeof(loop), "http://127.0.0.1:%d", bt_free_port());
	run_in(d, &n, (const char *const[]){ env_proxy, all_proxy, NULL }, &r,
	       (const char *const[]){ "--url", loop, "-t", token, "resources",
				      NULL });
	assert_exit(&r, 3);
	assert_has(r.err, "cannot connect to brokerd at http://127.0.0.1:");
	run_free(&r);

	assert_int_equal(connections(&n), 1);
	log = bt_read_file(n.log);
	assert_non_null(log);
	assert_null(strstr(log, token));
	free(log);
	net_down(&n);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, bt_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_resources_in_both_modes),
		T(test_instances_declare_list_show_delete),
		T(test_quota_set_and_get),
		T(test_quota_above_capacity_is_refused_with_the_reason),
		T(test_unknown_instance_is_refused_with_the_reason),
		T(test_bad_arguments_are_usage_errors_before_any_request),
		T(test_no_daemon_is_exit_3),
		T(test_socket_and_host_come_from_options_or_environment),
		T(test_help_documents_verbs_and_exit_codes),
		T(test_version_is_the_project_version),
		T(test_events_count_sees_changes_made_meanwhile),
		T(test_token_verbs_follow_the_server),
		T(test_policy_verbs_in_both_modes),
		cmocka_unit_test_setup_teardown(test_profile_verbs_in_both_modes,
						setup_profiles, bt_teardown),
		T(test_no_permission_is_refused_with_the_reason),
		cmocka_unit_test_setup_teardown(
			test_cleartext_to_other_hosts_is_refused_before_connecting,
			setup, net_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
