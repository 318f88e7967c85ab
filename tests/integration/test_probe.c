// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The real brokerd as an operator and an attacker probe it: a token file
 * others may read, a full disk under the state directory and under the
 * audit log, and HTTP as RFC 9110 and 9112 have it, spoken over raw
 * sockets so that nothing (libcurl) tidies the requests up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bt.h"

/* ---- helpers ---- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int unix_connect(struct bt_daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(d->sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, d->sock, strlen(d->sock) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/*
 * Send @req as it is over a new connection (@tcp: the loopback
 * listener), read until the daemon closes it or @ms pass: what came
 * back, malloc'ed.  *@closed tells whether the daemon closed it.
 */
static char *raw_ex(struct bt_daemon *d, bool tcp, const char *req, int ms,
		    bool *closed)
{
	int fd = tcp ? bt_tcp_connect(d->tcp, NULL, false) : unix_connect(d);
	long long end = now_ms() + ms;
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	assert_true(fd >= 0);
	assert_non_null(buf);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	*closed = false;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = end - now_ms();
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		if (len + 1024 > cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r <= 0) {
			*closed = true;
			break;
		}
		len += r;
	}
	buf[len] = 0;
	close(fd);
	return buf;
}

/* The same, on the Unix socket, for at most 2 s. */
static char *raw(struct bt_daemon *d, const char *req)
{
	bool closed;

	return raw_ex(d, false, req, 2000, &closed);
}

/* The status of the first response in @text, or 0. */
static int status_of(const char *text)
{
	int status = 0;

	return sscanf(text, "HTTP/1.1 %d", &status) == 1 ? status : 0;
}

/* How many status lines @text has (at the start of a line). */
static int responses(const char *text)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, "HTTP/1.")); p++)
		n += p == text || p[-1] == '\n';
	return n;
}

/* The value of header @name in the first response, malloc'ed, or NULL. */
static char *header_of(const char *text, const char *name)
{
	const char *end = strstr(text, "\r\n\r\n");
	size_t n = strlen(name);

	for (const char *p = strstr(text, "\r\n"); p && p < end;
	     p = strstr(p + 2, "\r\n"))
		if (!strncasecmp(p + 2, name, n) && p[2 + n] == ':')
			return strndup(p + 3 + n + strspn(p + 3 + n, " "),
				       strcspn(p + 3 + n + strspn(p + 3 + n, " "), "\r"));
	return NULL;
}

/* The body of the first response (after the blank line), or "". */
static const char *body_of(const char *text)
{
	const char *p = strstr(text, "\r\n\r\n");

	return p ? p + 4 : "";
}

static void expect(struct bt_daemon *d, const char *method, const char *path,
		   const char *body, long status)
{
	struct bt_resp r;

	bt_http(d, method, path, body ? "application/json" : NULL, body, NULL, &r);
	if (r.status != status)
		fail_msg("%s %s: %ld, not %ld: %s", method, path, r.status,
			 status, r.body);
	bt_resp_free(&r);
}

static int setup(void **state)
{
	struct bt_daemon *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	bt_init(d, NULL);
	assert_int_equal(bt_start(d, NULL), 0);
	*state = d;
	return 0;
}

static int setup_tcp(void **state)
{
	return bt_setup_tcp(state, NULL);
}

/* ---- the token file ---- */

static void test_token_file_others_can_read_refuses_start(void **state)
{
	struct bt_daemon *d = *state;
	char path[256], *before, *after, *tok;
	struct stat st;

	tok = bt_token(d, "ci", "viewer");
	free(tok);
	assert_int_equal(bt_stop(d), 0);
	snprintf(path, sizeof(path), "%s/tokens.json", d->state);
	before = bt_read_file(path);
	assert_non_null(before);

	assert_int_equal(chmod(path, 0644), 0);
	assert_int_not_equal(bt_run(d, NULL), 0);
	assert_true(bt_log_has(d, "tokens.json: mode 0644 is too open"));
	assert_true(bt_log_has(d, "chmod 600"));
	/* Refused, not repaired: the file is as the operator left it. */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	after = bt_read_file(path);
	assert_string_equal(before, after);
	free(after);

	assert_int_equal(chmod(path, 0640), 0);
	assert_int_not_equal(bt_run(d, NULL), 0);
	assert_true(bt_log_has(d, "mode 0640 is too open"));

	assert_int_equal(chown(path, 65534, 0), 0);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_not_equal(bt_run(d, NULL), 0);
	assert_true(bt_log_has(d, "owned by uid 65534"));

	assert_int_equal(chown(path, geteuid(), 0), 0);
	assert_int_equal(bt_start(d, NULL), 0);
	expect(d, "GET", "/v1/tokens", NULL, 200);
	free(before);
}

/* ---- a full disk ---- */

/*
 * A private mount namespace for this process (and the daemons it starts),
 * so that the small file systems mounted here are seen by nobody else
 * and vanish with it.  False where that is not allowed (not root).
 */
static bool private_mounts(void)
{
	static int done;

	if (!done)
		done = !unshare(CLONE_NEWNS) &&
		       !mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ? 1 : -1;
	return done > 0;
}

static void mount_small(const char *dir, const char *size)
{
	char opts[64];

	snprintf(opts, sizeof(opts), "size=%s,mode=0700", size);
	if (mkdir(dir, 0700) < 0)
		assert_int_equal(errno, EEXIST);
	assert_int_equal(mount("tmpfs", dir, "tmpfs", 0, opts), 0);
}

/* Write @path until the file system is full. */
static void fill(const char *path)
{
	static char block[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	memset(block, 'x', sizeof(block));
	while (write(fd, block, sizeof(block)) > 0)
		;
	/* And the last bytes of the last page. */
	while (write(fd, block, 1) > 0)
		;
	assert_int_equal(errno, ENOSPC);
	close(fd);
}

static void assert_storage_503(struct bt_daemon *d, const char *method,
			       const char *path, const char *body)
{
	struct bt_resp r;
	char req[1024], *text, *ra;

	bt_http(d, method, path, body ? "application/json" : NULL, body, NULL, &r);
	if (r.status != 503)
		fail_msg("%s %s on a full disk: %ld: %s", method, path, r.status,
			 r.body);
	bt_assert_error(&r, 503, "storage_unavailable", NULL);
	assert_non_null(strstr(r.body, "No space left on device"));
	bt_resp_free(&r);

	/* Retry-After: bt_resp does not keep it. */
	snprintf(req, sizeof(req),
		 "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		 method, path, body ? strlen(body) : 0, body ? body : "");
	text = raw(d, req);
	assert_int_equal(status_of(text), 503);
	ra = header_of(text, "Retry-After");
	assert_non_null(ra);
	assert_true(atoi(ra) > 0);
	free(ra);
	free(text);
}

#define POLICY "{\"kinds\": {\"vpids\": {\"keep_offline\": true}}}"
#define TOKEN "{\"name\": \"late\", \"role\": \"viewer\"}"

/* Two views of the daemon that must be the same; where they differ. */
static void same(const char *a, const char *b)
{
	size_t i = 0;

	while (a[i] && a[i] == b[i])
		i++;
	if (a[i] || b[i])
		fail_msg("views differ at byte %zu:\n%.300s\n---\n%.300s", i,
			 a + (i > 100 ? i - 100 : 0), b + (i > 100 ? i - 100 : 0));
}

/* What the daemon holds that a refused write must leave as it was. */
static char *everything(struct bt_daemon *d)
{
	char *a = bt_snapshot(d), *b = bt_snapshot_more(d), *text;

	assert_true(asprintf(&text, "%s%s", a, b) > 0);
	free(a);
	free(b);
	return text;
}

/* Every write is 503 storage_unavailable; reads and the plan go on. */
static void writes_refused_reads_served(struct bt_daemon *d)
{
	struct bt_resp r;
	char *before = everything(d), *after;

	assert_storage_503(d, "PUT", "/v1/instances/kvm_b", NULL);
	assert_storage_503(d, "PUT", "/v1/instances/kvm_a/quota",
			   "{\"quotas\": {\"vpids\": 7}}");
	assert_storage_503(d, "DELETE", "/v1/instances/kvm_a", NULL);
	assert_storage_503(d, "POST", "/v1/tokens", TOKEN);
	assert_storage_503(d, "PUT", "/v1/profiles/more", "{}");
	assert_storage_503(d, "PUT", "/v1/policy",
			   "{\"kinds\": {\"asids\": {\"keep_offline\": true}}}");
	assert_storage_503(d, "DELETE", "/v1/policy", NULL);

	expect(d, "GET", "/v1/instances/kvm_a", NULL, 200);
	expect(d, "GET", "/v1/resources", NULL, 200);
	expect(d, "GET", "/healthz", NULL, 200);
	bt_http(d, "POST", "/v1/policy/plan", "application/json", POLICY, NULL, &r);
	assert_int_equal(r.status, 200);
	bt_resp_free(&r);

	after = everything(d);
	same(before, after);
	free(before);
	free(after);
}

/* Space is back: the next write of each kind succeeds. */
static void writes_succeed_again(struct bt_daemon *d, const char *audit)
{
	char *log, *line, *save;
	int n = 0;

	expect(d, "PUT", "/v1/instances/kvm_b", NULL, 201);
	/* Quotas by hand from now on, not by the policy. */
	expect(d, "DELETE", "/v1/policy", NULL, 204);
	expect(d, "PUT", "/v1/instances/kvm_b/quota", "{\"quotas\": {\"vpids\": 3}}",
	       200);
	expect(d, "POST", "/v1/tokens", TOKEN, 201);
	expect(d, "PUT", "/v1/profiles/more", "{}", 201);

	/* Every line of the audit log is whole: none was left half written. */
	log = bt_read_file(audit);
	assert_non_null(log);
	for (line = strtok_r(log, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), n++) {
		json_t *j = json_loads(line, 0, NULL);

		if (!j)
			fail_msg("audit line %d is not JSON: %s", n, line);
		json_decref(j);
	}
	assert_true(n > 0);
	free(log);
}

/*
 * The journal's last page may still take a few lines once the disk is
 * full: declares until one is refused, then deletes of the one-letter
 * instances declared before the disk filled (the shortest lines there
 * are) until one is refused too.  Each one acknowledged is durable, and
 * the restart at the end checks it.
 */
static void declare_short_names(struct bt_daemon *d)
{
	char path[64];

	for (char c = 'a'; c <= 't'; c++) {
		snprintf(path, sizeof(path), "/v1/instances/%c", c);
		expect(d, "PUT", path, NULL, 201);
	}
}

static void use_up_journal(struct bt_daemon *d)
{
	struct bt_resp r;
	char path[64];
	long status = 0;

	for (int i = 0; i < 1000 && status != 503; i++) {
		snprintf(path, sizeof(path), "/v1/instances/fill_%d", i);
		bt_http(d, "PUT", path, NULL, NULL, NULL, &r);
		status = r.status;
		bt_resp_free(&r);
		if (status != 503)
			assert_int_equal(status, 201);
	}
	assert_int_equal(status, 503);
	status = 0;
	for (char c = 'a'; c <= 't' && status != 503; c++) {
		snprintf(path, sizeof(path), "/v1/instances/%c", c);
		bt_http(d, "DELETE", path, NULL, NULL, NULL, &r);
		status = r.status;
		bt_resp_free(&r);
		if (status != 503)
			assert_int_equal(status, 204);
	}
	if (status != 503)
		fail_msg("20 deletes on a full disk and none refused");
}

static void setup_state(struct bt_daemon *d)
{
	expect(d, "PUT", "/v1/instances/kvm_a", NULL, 201);
	expect(d, "PUT", "/v1/instances/kvm_a/quota", "{\"quotas\": {\"vpids\": 5}}",
	       200);
	expect(d, "PUT", "/v1/profiles/base", "{}", 201);
	expect(d, "PUT", "/v1/policy", POLICY, 200);
	free(bt_token(d, "ci", "viewer"));
}

static void test_full_state_dir_is_503_and_loses_nothing(void **state)
{
	struct bt_daemon d;
	char config[256], audit[160], filler[160];

	if (!private_mounts())
		skip();
	bt_init(&d, NULL);
	/* The audit log elsewhere: the state file's own write meets the full disk. */
	snprintf(audit, sizeof(audit), "%s/audit.log", d.dir);
	snprintf(config, sizeof(config), "{\"audit_log\": \"%s\"}", audit);
	bt_write_file(d.config, config);
	mount_small(d.state, "256k");
	assert_int_equal(bt_start(&d, NULL), 0);
	setup_state(&d);

	declare_short_names(&d);
	snprintf(filler, sizeof(filler), "%s/filler", d.state);
	fill(filler);
	use_up_journal(&d);
	writes_refused_reads_served(&d);
	assert_true(bt_log_has(&d, "No space left on device"));

	assert_int_equal(unlink(filler), 0);
	writes_succeed_again(&d, audit);

	/* What was acknowledged is what a restart finds. */
	{
		char *before = everything(&d), *after;

		assert_int_equal(bt_stop(&d), 0);
		assert_int_equal(bt_start(&d, NULL), 0);
		after = everything(&d);
		same(before, after);
		free(before);
		free(after);
	}
	assert_int_equal(bt_stop(&d), 0);
	umount(d.state);
	bt_cleanup(&d);
}

static void test_full_audit_log_is_503_and_leaves_no_half_line(void **state)
{
	struct bt_daemon d;
	char config[256], dir[160], audit[200], rotated[200], filler[200];

	if (!private_mounts())
		skip();
	bt_init(&d, NULL);
	snprintf(dir, sizeof(dir), "%s/audit", d.dir);
	snprintf(audit, sizeof(audit), "%s/audit.log", dir);
	snprintf(rotated, sizeof(rotated), "%s/audit.log.1", dir);
	snprintf(filler, sizeof(filler), "%s/filler", dir);
	snprintf(config, sizeof(config), "{\"audit_log\": \"%s\"}", audit);
	bt_write_file(d.config, config);
	mount_small(dir, "64k");
	assert_int_equal(bt_start(&d, NULL), 0);
	setup_state(&d);

	/* Rotated away, and the file system full: the new log cannot grow. */
	assert_int_equal(rename(audit, rotated), 0);
	fill(filler);
	writes_refused_reads_served(&d);
	assert_true(bt_log_has(&d, "audit log"));

	assert_int_equal(unlink(filler), 0);
	writes_succeed_again(&d, audit);
	assert_int_equal(bt_stop(&d), 0);
	umount(dir);
	bt_cleanup(&d);
}

/* ---- HTTP as RFC 9112 frames it ---- */

/* @req gets @status and the JSON envelope with @code, once, then a close. */
static void refused(struct bt_daemon *d, const char *req, int status,
		    const char *code)
{
	bool closed;
	char *text = raw_ex(d, false, req, 3000, &closed), *conn;
	json_t *j;

	if (status_of(text) != status)
		fail_msg("%s\n-> %s", req, text);
	if (responses(text) != 1)
		fail_msg("%s\n-> more than one response: %s", req, text);
	conn = header_of(text, "Connection");
	assert_non_null(conn);
	assert_string_equal(conn, "close");
	free(conn);
	assert_true(closed);
	j = json_loads(body_of(text), 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(j, "error"), "code")), code);
	json_decref(j);
	free(text);
}

static void test_ambiguous_framing_is_400_and_closes(void **state)
{
	struct bt_daemon *d = *state;
	char *before = bt_snapshot(d), *after;

	/* A smuggled request hides in the body one side reads as chunked. */
	refused(d, "PUT /v1/instances/kvm_x HTTP/1.1\r\nHost: x\r\n"
		"Content-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
		"PUT /v1/instances/kvm_y HTTP/1.1\r\n\r\n", 400, "bad_request");
	refused(d, "PUT /v1/instances/kvm_x HTTP/1.1\r\nHost: x\r\n"
		"Content-Length: 0\r\nContent-Length: 2\r\n\r\n{}", 400,
		"bad_request");
	refused(d, "PUT /v1/instances/kvm_x HTTP/1.1\r\nHost: x\r\n"
		"Transfer-Encoding: gzip\r\n\r\n", 501, "not_implemented");
	refused(d, "PUT /v1/instances/kvm_x HTTP/1.1\r\nHost: x\r\n"
		"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501,
		"not_implemented");
	refused(d, "GET /healthz HTTP/1.1\r\n\r\n", 400, "bad_request");
	refused(d, "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400,
		"bad_request");
	after = bt_snapshot(d);
	assert_string_equal(before, after);
	free(before);
	free(after);

	/* What is well framed is served: chunked alone, one length twice, 1.0. */
	{
		char *text = raw(d, "PUT /v1/instances/kvm_c HTTP/1.1\r\nHost: x\r\n"
				 "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
				 "0\r\n\r\n");

		assert_int_equal(status_of(text), 201);
		free(text);
		text = raw(d, "PUT /v1/instances/kvm_c HTTP/1.1\r\nHost: x\r\n"
			   "Content-Length: 0\r\nContent-Length: 0\r\n"
			   "Connection: close\r\n\r\n");
		assert_int_equal(status_of(text), 200);
		free(text);
		text = raw(d, "GET /healthz HTTP/1.0\r\n\r\n");
		assert_int_equal(status_of(text), 200);
		free(text);
	}
}

static void test_head_is_get_without_the_body(void **state)
{
	static const char *const paths[] = {
		"/healthz", "/metrics", "/v1/resources", "/v1/instances",
		"/v1/instances/kvm_a", "/v1/instances/kvm_a/vms", "/v1/policy",
		"/v1/profiles", "/v1/profiles/base", "/v1/tokens", "/v1/events",
	};
	struct bt_daemon *d = *state;

	expect(d, "PUT", "/v1/instances/kvm_a", NULL, 201);
	expect(d, "PUT", "/v1/profiles/base", "{}", 201);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char req[256], *get, *head, *gt, *ht;

		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n"
			 "Connection: close\r\n\r\n", paths[i]);
		get = raw(d, req);
		snprintf(req, sizeof(req), "HEAD %s HTTP/1.1\r\nHost: x\r\n"
			 "Connection: close\r\n\r\n", paths[i]);
		head = raw(d, req);
		if (status_of(head) != status_of(get) || status_of(head) == 405)
			fail_msg("HEAD %s: %s\nGET: %.200s", paths[i], head, get);
		gt = header_of(get, "Content-Type");
		ht = header_of(head, "Content-Type");
		assert_non_null(ht);
		assert_string_equal(gt, ht);
		assert_string_equal(body_of(head), "");
		free(gt);
		free(ht);
		free(get);
		free(head);
	}
}

static void test_encoded_slash_never_reaches_another_route(void **state)
{
	struct bt_daemon *d = *state;
	char *text;

	expect(d, "PUT", "/v1/instances/kvm_b", NULL, 201);
	text = raw(d, "PUT /v1/instances/kvm_b%2Fquota HTTP/1.1\r\nHost: x\r\n"
		   "Content-Type: application/json\r\nContent-Length: 26\r\n"
		   "Connection: close\r\n\r\n{\"quotas\": {\"vpids\": 9}}\r\n");
	assert_int_equal(status_of(text), 400);
	assert_non_null(strstr(body_of(text), "\"field\":\"name\""));
	free(text);
	text = raw(d, "GET /v1/instances/kvm_b%2fvms HTTP/1.1\r\nHost: x\r\n"
		   "Connection: close\r\n\r\n");
	assert_int_equal(status_of(text), 400);
	free(text);
	{
		struct bt_resp r;

		bt_get(d, "/v1/instances/kvm_b", &r);
		assert_int_equal(r.status, 200);
		assert_false(json_object_get(json_object_get(r.json, "desired"),
					     "vpids"));
		bt_resp_free(&r);
	}
}

static void test_absolute_form_target_is_routed_on_its_path(void **state)
{
	struct bt_daemon *d = *state;
	char *text;

	text = raw(d, "GET http://brokerd.example/healthz HTTP/1.1\r\n"
		   "Host: brokerd.example\r\nConnection: close\r\n\r\n");
	assert_int_equal(status_of(text), 200);
	assert_non_null(strstr(body_of(text), "\"ok\""));
	free(text);
	text = raw(d, "GET HTTP://brokerd.example:80/v1/instances?x=1 HTTP/1.1\r\n"
		   "Host: brokerd.example\r\nConnection: close\r\n\r\n");
	assert_int_equal(status_of(text), 200);
	free(text);
}

static void test_if_match_takes_a_list_and_star(void **state)
{
	struct bt_daemon *d = *state;
	const char *list[] = { "If-Match: \"77\", \"1\" , \"78\"", NULL };
	const char *weak[] = { "If-Match: W/\"2\"", NULL };
	const char *none[] = { "If-Match: \"77\", \"78\"", NULL };
	const char *star[] = { "If-Match: *", NULL };
	const char *q = "{\"quotas\": {\"vpids\": 4}}";
	struct bt_resp r;
	char tag[64];

	/* * on what does not exist: 412, nothing declared. */
	bt_http(d, "PUT", "/v1/instances/kvm_a", NULL, NULL, star, &r);
	assert_int_equal(r.status, 412);
	bt_resp_free(&r);
	expect(d, "PUT", "/v1/instances/kvm_a", NULL, 201);
	bt_get(d, "/v1/instances/kvm_a", &r);
	snprintf(tag, sizeof(tag), "If-Match: \"77\", %s , \"78\"", r.etag);
	bt_resp_free(&r);
	list[0] = tag;
	bt_http(d, "PUT", "/v1/instances/kvm_a/quota", "application/json", q,
		none, &r);
	assert_int_equal(r.status, 412);
	bt_resp_free(&r);
	bt_http(d, "PUT", "/v1/instances/kvm_a/quota", "application/json", q,
		weak, &r);
	assert_int_equal(r.status, 412);
	bt_resp_free(&r);
	bt_http(d, "PUT", "/v1/instances/kvm_a/quota", "application/json", q,
		list, &r);
	assert_int_equal(r.status, 200);
	bt_resp_free(&r);
	bt_http(d, "PUT", "/v1/instances/kvm_a/quota", "application/json", q,
		star, &r);
	assert_int_equal(r.status, 200);
	bt_resp_free(&r);
}

static void test_lockout_429_says_when_to_retry(void **state)
{
	struct bt_daemon *d = *state;
	const char *bad = "GET /v1/resources HTTP/1.1\r\nHost: x\r\n"
		"Authorization: Bearer vac_0000000000000000_"
		"0000000000000000000000000000000000000000000000000000000000000000"
		"\r\nConnection: close\r\n\r\n";
	bool closed;
	char *text, *ra;

	assert_int_equal(bt_stop(d), 0);
	bt_write_file(d->config, "{\"auth_fail_max\": 2, \"auth_fail_window\": 60,"
		      " \"auth_block\": 40}");
	{
		char listen[96];
		const char *args[] = { listen, NULL };

		snprintf(listen, sizeof(listen), "--listen=%s", d->tcp);
		assert_int_equal(bt_start(d, args), 0);
	}
	for (int i = 0; i < 2; i++) {
		text = raw_ex(d, true, bad, 2000, &closed);
		assert_int_equal(status_of(text), 401);
		free(text);
	}
	text = raw_ex(d, true, bad, 2000, &closed);
	assert_int_equal(status_of(text), 429);
	ra = header_of(text, "Retry-After");
	assert_non_null(ra);
	assert_true(atoi(ra) >= 38 && atoi(ra) <= 40);
	assert_non_null(strstr(body_of(text), "try again in"));
	free(ra);
	free(text);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, bt_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_token_file_others_can_read_refuses_start),
		T(test_ambiguous_framing_is_400_and_closes),
		T(test_head_is_get_without_the_body),
		T(test_encoded_slash_never_reaches_another_route),
		T(test_absolute_form_target_is_routed_on_its_path),
		T(test_if_match_takes_a_list_and_star),
		cmocka_unit_test_setup_teardown(test_lockout_429_says_when_to_retry,
						setup_tcp, bt_teardown),
		cmocka_unit_test(test_full_state_dir_is_503_and_loses_nothing),
		cmocka_unit_test(test_full_audit_log_is_503_and_leaves_no_half_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
