// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Abuse of the real brokerd, with its default limits: a 10 MiB body
 * (declared and chunked), a header flood (many headers, one huge one),
 * 500 slow connections sending their headers a byte at a time
 * (slowloris) while a normal client is answered, and malformed JSON of
 * many shapes on every endpoint that takes a body.  After each, the
 * daemon still answers, its state (the API's view and the state file) is
 * what it was, and its memory stayed bounded.
 *
 * The memory bound: VmRSS at the end at most twice VmRSS measured after
 * start (a warmed-up daemon) plus 32 MiB.  Sanitizers inflate the
 * resident size by shadow memory, so the bound is relative; ASan also
 * keeps freed blocks resident in its quarantine (256 MiB by default),
 * which the daemon started here has cut to 4 MiB so that VmRSS shows what
 * the daemon holds.  A daemon that kept what it is sent (10 MiB bodies,
 * 500 connections' headers) would exceed the bound.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "bt.h"

#define MIB (1024 * 1024)
#define SLOW_CONNECTIONS 500
#define ANSWER_MS 3000		/* a normal client's request, at worst */

struct abuse {
	struct bt_daemon *d;
	char *viewer, *admin;	/* tokens */
	char *before;		/* bt_snapshot() */
	char *tokens;		/* GET /v1/tokens */
	long rss0;		/* KiB, after start */
};

static struct abuse a;

static int setup(void **state)
{
	struct bt_resp r;

	const char *asan = getenv("ASAN_OPTIONS");
	char *opts;

	if (!asan || !strstr(asan, "quarantine_size_mb")) {
		assert_true(asprintf(&opts, "%s%squarantine_size_mb=4",
				     asan ? asan : "", asan ? ":" : "") > 0);
		setenv("ASAN_OPTIONS", opts, 1);	/* the daemon's, see above */
		free(opts);
	}
	/* The slow clients must not be blocked for failing authentication. */
	bt_setup_tcp(state, "{\"auth_fail_max\": 1000000}");
	a.d = *state;
	a.viewer = bt_token(a.d, "viewer", "viewer");
	a.admin = bt_token(a.d, "admin", "admin");
	bt_http(a.d, "PUT", "/v1/instances/kvm_a", NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 201);
	bt_resp_free(&r);
	bt_put_json(a.d, "/v1/instances/kvm_a/quota",
		    "{\"quotas\": {\"asids\": 16, \"vpids\": 64}}", &r);
	assert_int_equal(r.status, 200);
	bt_resp_free(&r);
	/* Warm up every path the tests take before measuring. */
	for (int i = 0; i < 20; i++) {
		free(bt_snapshot(a.d));
		free(bt_snapshot_more(a.d));
	}
	a.before = bt_snapshot(a.d);
	a.tokens = bt_snapshot_more(a.d);
	a.rss0 = bt_rss_kib(a.d->pid);
	assert_true(a.rss0 > 0);
	return 0;
}

static int teardown(void **state)
{
	free(a.viewer);
	free(a.admin);
	free(a.before);
	free(a.tokens);
	memset(&a, 0, sizeof(a));
	return bt_teardown(state);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * A viewer over TCP from 127.0.0.2 and root on the socket: answered fast;
 * the longer wait in ms.
 */
static long normal_client(void)
{
	struct timespec t0;
	struct bt_resp r;
	char url[128];
	long ms;

	snprintf(url, sizeof(url), "http://%s/v1/instances", a.d->tcp);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(bt_https(url, NULL, "127.0.0.2", a.viewer, "GET", NULL,
				  &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	bt_resp_free(&r);
	ms = ms_since(&t0);
	if (ms > ANSWER_MS)
		fail_msg("a normal TCP client waited %ld ms", ms);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bt_get(a.d, "/healthz", &r);
	assert_int_equal(r.status, 200);
	bt_resp_free(&r);
	if (ms_since(&t0) > ANSWER_MS)
		fail_msg("a normal socket client waited %ld ms", ms_since(&t0));
	return ms > ms_since(&t0) ? ms : ms_since(&t0);
}

/* Alive, answering, the same state and tokens, memory within the bound. */
static void unharmed(void)
{
	char *now, *tokens;
	long rss, bound = 2 * a.rss0 + 32 * 1024;

	assert_int_equal(kill(a.d->pid, 0), 0);
	normal_client();
	now = bt_snapshot(a.d);
	assert_string_equal(a.before, now);
	tokens = bt_snapshot_more(a.d);
	assert_string_equal(a.tokens, tokens);
	rss = bt_rss_kib(a.d->pid);
	print_message("VmRSS %ld KiB after start, %ld KiB now (bound %ld)\n",
		      a.rss0, rss, bound);
	if (rss > bound)
		fail_msg("VmRSS %ld KiB, over the bound of %ld KiB (%ld at start)",
			 rss, bound, a.rss0);
	free(now);
	free(tokens);
}

/* ---- raw connections ---- */

static int unix_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(a.d->sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, a.d->sock, strlen(a.d->sock) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Write what can be written: the bytes written (the peer may close). */
static size_t send_all(int fd, const char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(fd, buf + done, len - done, MSG_NOSIGNAL);

		if (n <= 0)
			break;
		done += n;
	}
	return done;
}

/* The reply's status (0: the connection closed without one), its text. */
static int read_reply(int fd, char *buf, size_t size)
{
	size_t len = 0;
	int status = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (len < size - 1 && poll(&p, 1, 20000) == 1) {
		ssize_t n = recv(fd, buf + len, size - 1 - len, 0);

		if (n <= 0)
			break;
		len += n;
	}
	buf[len] = 0;
	sscanf(buf, "HTTP/1.%*d %d", &status);
	return status;
}

/* ---- the tests ---- */

static void test_ten_mib_body(void **state)
{
	char *big = malloc(10 * MIB + 1), reply[4096], url[128];
	const char *head = "PUT /v1/instances/kvm_a/quota HTTP/1.1\r\n"
			   "Host: brokerd\r\nContent-Type: application/json\r\n"
			   "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
	char chunk_head[32];
	struct bt_resp r;
	int fd, status;

	assert_non_null(big);
	memset(big, ' ', 10 * MIB);
	memcpy(big, "{\"quotas\": {\"vpids\": 1}}", 24);	/* then blanks */
	big[10 * MIB] = 0;

	/* Declared: refused before the body is read, over TCP with a token. */
	snprintf(url, sizeof(url), "http://%s/v1/instances/kvm_a/quota", a.d->tcp);
	assert_int_equal(bt_https(url, NULL, NULL, a.admin, "PUT", big, &r), CURLE_OK);
	bt_assert_error(&r, 413, "payload_too_large", NULL);
	bt_resp_free(&r);

	/* Chunked, no length: read, not kept, refused at its end. */
	fd = unix_connect();
	assert_int_equal(send_all(fd, head, strlen(head)), strlen(head));
	for (size_t off = 0; off < 10 * MIB; off += 64 * 1024) {
		snprintf(chunk_head, sizeof(chunk_head), "%x\r\n", 64 * 1024);
		if (send_all(fd, chunk_head, strlen(chunk_head)) != strlen(chunk_head) ||
		    send_all(fd, big + off, 64 * 1024) != 64 * 1024 ||
		    send_all(fd, "\r\n", 2) != 2)
			break;
	}
	send_all(fd, "0\r\n\r\n", 5);
	status = read_reply(fd, reply, sizeof(reply));
	close(fd);
	if (status != 413 || !strstr(reply, "payload_too_large"))
		fail_msg("a chunked 10 MiB body: %s", reply);
	free(big);
	unharmed();
}

/* A request with @extra among its headers, over TCP: the status. */
static int flood(const char *extra, size_t len, char *reply, size_t size)
{
	const char *head = "GET /v1/instances HTTP/1.1\r\nHost: brokerd\r\n"
			   "Connection: close\r\n";
	int fd = bt_tcp_connect(a.d->tcp, NULL, false);
	int status;

	assert_true(fd >= 0);
	send_all(fd, head, strlen(head));
	send_all(fd, extra, len);
	send_all(fd, "\r\n", 2);
	status = read_reply(fd, reply, size);
	close(fd);
	return status;
}

static void test_header_flood(void **state)
{
	size_t size = 4 * MIB, len = 0;
	char *buf = malloc(size), reply[4096];
	int status;

	assert_non_null(buf);
	/* 20000 headers of 100 bytes. */
	for (int i = 0; i < 20000; i++)
		len += snprintf(buf + len, size - len, "X-Flood-%05d: %084d\r\n", i, 0);
	status = flood(buf, len, reply, sizeof(reply));
	if (status != 431 && status != 413)
		fail_msg("20000 headers: %d %s", status, reply);
	/* One header of 1 MiB. */
	len = snprintf(buf, size, "X-Huge: ");
	memset(buf + len, 'h', MIB);
	len += MIB;
	len += snprintf(buf + len, size - len, "\r\n");
	status = flood(buf, len, reply, sizeof(reply));
	if (status != 431 && status != 413)
		fail_msg("a 1 MiB header: %d %s", status, reply);
	/* Many requests' worth of flood, one after another. */
	for (int i = 0; i < 50; i++)
		assert_true(flood(buf, 64 * 1024, reply, sizeof(reply)) >= 400);
	free(buf);
	unharmed();
}

static void test_slowloris(void **state)
{
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: brokerd\r\n"
				  "X-Slow: ";
	int fd[SLOW_CONNECTIONS];
	size_t sent[SLOW_CONNECTIONS];
	struct timespec t0, last;
	long answered = 0, reconnects = 0, worst = 0;

	for (int i = 0; i < SLOW_CONNECTIONS; i++) {
		fd[i] = bt_tcp_connect(a.d->tcp, "127.0.0.1", true);
		sent[i] = 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	last = t0;
	/* 8 s: one byte per connection every 100 ms, the request never ends. */
	while (ms_since(&t0) < 8000) {
		int again = 0;

		for (int i = 0; i < SLOW_CONNECTIONS; i++) {
			char c = sent[i] < sizeof(req) - 1 ? req[sent[i]] : 'z';

			if (fd[i] >= 0 &&
			    send(fd[i], &c, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) {
				sent[i]++;
				continue;
			}
			if (fd[i] >= 0 && errno == EAGAIN)
				continue;	/* still connecting */
			/* Closed by the daemon: an attacker comes back. */
			if (fd[i] >= 0)
				close(fd[i]);
			fd[i] = -1;
			if (again++ < 20) {
				fd[i] = bt_tcp_connect(a.d->tcp, "127.0.0.1", true);
				sent[i] = 0;
				reconnects++;
			}
		}
		if (ms_since(&last) >= 500) {
			long ms = normal_client();

			worst = ms > worst ? ms : worst;
			answered++;
			clock_gettime(CLOCK_MONOTONIC, &last);
		}
		usleep(100000);
	}
	print_message("%ld normal requests answered, the slowest in %ld ms; "
		      "%ld reconnections\n", answered, worst, reconnects);
	assert_true(answered >= 10);
	for (int i = 0; i < SLOW_CONNECTIONS; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	unharmed();
}

struct shape {
	const char *what;
	const char *body;
	size_t len;		/* 0: strlen(body) */
};

/* A literal, NULs in it included, without its last NUL. */
#define S(what, lit) { what, lit, sizeof(lit) - 1 }

static char *nested(const char *open, const char *close, int depth)
{
	size_t lo = strlen(open), lc = strlen(close);
	char *s = malloc(depth * (lo + lc) + 1), *p = s;

	assert_non_null(s);
	for (int i = 0; i < depth; i++, p += lo)
		memcpy(p, open, lo);
	for (int i = 0; i < depth; i++, p += lc)
		memcpy(p, close, lc);
	*p = 0;
	return s;
}

static size_t count(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_malformed_json_everywhere(void **state)
{
	static const char *const endpoints[][2] = {
		{ "PUT", "/v1/instances/kvm_a/quota" },
		{ "PUT", "/v1/instances/kvm_new" },
		{ "PUT", "/v1/instances/kvm_a" },
		{ "POST", "/v1/tokens" },
		{ "POST", "/v1/instances/kvm_a/profile" },
		{ "PUT", "/v1/policy" },
		{ "POST", "/v1/policy/plan" },
		{ "POST", "/v1/policy/apply" },
		{ "PUT", "/v1/profiles/p" },
	};
	char *deep_arrays = nested("[", "]", 10000);
	char *deep_objects = nested("{\"a\":", "}", 10000);
	char *deep_quotas = nested("{\"quotas\":", "}", 5000);	/* < body_max */
	const struct shape shapes[] = {
		S("truncated", "{\"quotas\": {\"vpids\": 1"),
		S("truncated string", "{\"name\": \"ab"),
		S("an open brace", "{"),
		S("wrong types", "{\"quotas\": \"many\", \"name\": 5, \"role\": []}"),
		S("a quota as a string", "{\"quotas\": {\"vpids\": \"1\"}}"),
		S("a name as a number", "{\"name\": 5, \"role\": \"viewer\"}"),
		S("force as a number", "{\"quotas\": {}, \"force\": 1}"),
		S("unknown field", "{\"quotas\": {\"vpids\": 1}, \"x\": 1}"),
		{ "10000 nested arrays", deep_arrays, 0 },
		{ "10000 nested objects", deep_objects, 0 },
		{ "5000 nested quotas", deep_quotas, 0 },
		S("a huge exponent", "{\"quotas\": {\"vpids\": 1e999}}"),
		S("a huge integer",
		  "{\"quotas\": {\"vpids\": 123456789012345678901234567890}}"),
		S("above u32", "{\"quotas\": {\"vpids\": 4294967296}}"),
		S("negative", "{\"quotas\": {\"vpids\": -1}}"),
		S("a fraction", "{\"quotas\": {\"vpids\": 1.5}}"),
		S("a NUL after the document", "{\"quotas\": {\"vpids\": 1}}\0"),
		S("a NUL in a key", "{\"quo\0tas\": {}}"),
		S("a NUL in a string", "{\"name\": \"a\0b\", \"role\": \"viewer\"}"),
		S("invalid UTF-8 in a key", "{\"\xff\xfe\": 1}"),
		S("invalid UTF-8 in a value", "{\"name\": \"\xc3\x28\", \"role\": \"viewer\"}"),
		S("an overlong encoding", "{\"name\": \"\xc0\xaf\", \"role\": \"viewer\"}"),
		S("duplicate keys", "{\"quotas\": {\"vpids\": 1}, \"quotas\": {\"vpids\": 2}}"),
		S("duplicate token keys",
		  "{\"name\": \"a\", \"name\": \"b\", \"role\": \"viewer\"}"),
		S("an array", "[]"),
		S("an array of one", "[{\"quotas\": {\"vpids\": 1}}]"),
		S("a string", "\"quotas\""),
		S("a number", "42"),
		S("null", "null"),
		S("true", "true"),
		S("trailing garbage", "{\"quotas\": {\"vpids\": 1}} x"),
		S("two documents", "{} {}"),
		S("a comment", "{/* */}"),
		S("single quotes", "{'quotas': {}}"),
		S("a bare word", "quotas"),
		S("only blanks", "   \n\t "),
	};
	size_t n = 0;
	char path[200], *log;

	for (size_t e = 0; e < sizeof(endpoints) / sizeof(endpoints[0]); e++) {
		for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
			const struct shape *sh = &shapes[s];
			size_t len = sh->len ? sh->len : strlen(sh->body);
			struct bt_resp r;
			json_t *err;

			bt_http_bytes(a.d, endpoints[e][0], endpoints[e][1],
				      sh->body, len, &r);
			err = json_object_get(r.json, "error");
			if ((r.status != 400 && r.status != 422) || !err ||
			    !json_string_value(json_object_get(err, "code")) ||
			    !json_string_value(json_object_get(err, "message")))
				fail_msg("%s %s with %s: %ld %s", endpoints[e][0],
					 endpoints[e][1], sh->what, r.status, r.body);
			bt_resp_free(&r);
			/* The plan is a dry run: not a change, not audited. */
			n += strcmp(endpoints[e][1], "/v1/policy/plan") != 0;
		}
	}
	free(deep_arrays);
	free(deep_objects);
	free(deep_quotas);
	unharmed();

	/* Each attempt at a change has its line, with its outcome. */
	snprintf(path, sizeof(path), "%s/audit.log", a.d->state);
	log = bt_read_file(path);
	assert_non_null(log);
	assert_int_equal(count(log, "\"outcome\":400") + count(log, "\"outcome\":422"), n);
	assert_int_equal(count(log, "\"outcome\":0"), 0);
	free(log);
}

/* Restart with @config (and the same loopback port). */
static void restart(const char *config)
{
	char listen[96];
	const char *args[] = { listen, NULL };

	assert_int_equal(bt_stop(a.d), 0);
	bt_write_file(a.d->config, config);
	snprintf(listen, sizeof(listen), "--listen=%s", a.d->tcp);
	assert_int_equal(bt_start(a.d, args), 0);
}

static long status_of(const char *method, const char *path, const char *body,
		      const char *token)
{
	struct bt_resp r;
	char url[160];
	long status;

	if (token) {
		snprintf(url, sizeof(url), "http://%s%s", a.d->tcp, path);
		assert_int_equal(bt_https(url, NULL, NULL, token, method, body, &r),
				 CURLE_OK);
	} else {
		bt_http(a.d, method, path, body ? "application/json" : NULL, body,
			NULL, &r);
	}
	if (r.status == 503) {
		bt_assert_error(&r, 503, "storage_unavailable", NULL);
		if (!strstr(r.body, "audit log") || !strstr(r.body, "No space left"))
			fail_msg("503 without the reason: %s", r.body);
	}
	status = r.status;
	bt_resp_free(&r);
	return status;
}

/*
 * The audit log on a full disk (/dev/full: it opens, every write fails
 * with ENOSPC): every change is refused before it is made, reads go on.
 */
static void test_full_audit_log_refuses_changes(void **state)
{
	const char *quota = "{\"quotas\": {\"vpids\": 32}}";
	char *before, *tokens;

	restart("{\"audit_log\": \"/dev/full\"}");
	before = bt_snapshot(a.d);
	tokens = bt_snapshot_more(a.d);
	assert_int_equal(status_of("PUT", "/v1/instances/kvm_b", NULL, NULL), 503);
	assert_int_equal(status_of("PUT", "/v1/instances/kvm_a/quota", quota, NULL), 503);
	assert_int_equal(status_of("DELETE", "/v1/instances/kvm_a", NULL, NULL), 503);
	assert_int_equal(status_of("POST", "/v1/tokens",
				   "{\"name\": \"x\", \"role\": \"admin\"}", NULL), 503);
	assert_int_equal(status_of("DELETE", "/v1/tokens/0123456789abcdef", NULL,
				   NULL), 503);
	assert_int_equal(status_of("PUT", "/v1/instances/kvm_a/quota", quota,
				   a.admin), 503);
	assert_int_equal(status_of("DELETE", "/v1/policy", NULL, NULL), 503);
	assert_int_equal(status_of("DELETE", "/v1/profiles/p", NULL, NULL), 503);
	/* Refusals stay refusals, reads are served. */
	assert_int_equal(status_of("PUT", "/v1/instances/kvm_a/quota", quota,
				   a.viewer), 403);
	assert_int_equal(status_of("GET", "/v1/instances/kvm_a", NULL, a.viewer), 200);
	assert_int_equal(status_of("GET", "/healthz", NULL, NULL), 200);
	{
		char *now = bt_snapshot(a.d);
		char *tokens_after = bt_snapshot_more(a.d);

		assert_string_equal(before, now);
		assert_string_equal(tokens, tokens_after);
		free(now);
		free(tokens_after);
	}
	assert_true(bt_log_has(a.d, "audit log: No space left on device: refusing"));

	/* A log that can be written: changes again, each with its line. */
	restart("{}");
	assert_int_equal(status_of("PUT", "/v1/instances/kvm_a/quota", quota,
				   a.admin), 200);
	free(before);
	free(tokens);
}

/* Lines of @log that start with @prefix. */
static int lines_starting(const char *log, const char *prefix)
{
	int n = 0;

	for (const char *l = log; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l)
		n += !strncmp(l, prefix, strlen(prefix));
	return n;
}

/*
 * What a client sends never makes a line of the log of its own: the
 * library percent-decodes the path before brokerd sees it, and brokerd
 * escapes control characters (and a backslash, and what is not UTF-8 or
 * is a C1 control) in everything it logs.  At debug level every reply is
 * logged; at info level a change is logged with its path when its audit
 * line cannot be written.
 */
static void test_client_text_cannot_forge_log_lines(void **state)
{
	static const char forged[] = "/x%0Abrokerd:%20notice:%20FORGED";
	static const char odd[] = "/y%5Cnz%0D%1B%5B2J%C2%9B%FF%E2%80%A8%C3%A9";
	struct bt_resp r;
	char *log;

	restart("{\"log_level\": \"debug\"}");
	bt_get(a.d, forged, &r);
	assert_int_equal(r.status, 404);
	bt_resp_free(&r);
	bt_get(a.d, odd, &r);
	assert_true(r.status >= 400);
	bt_resp_free(&r);

	restart("{\"audit_log\": \"/dev/full\"}");	/* info level */
	bt_http(a.d, "PUT", forged, NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 404);
	bt_resp_free(&r);
	restart("{}");

	log = bt_read_file(a.d->log);
	assert_non_null(log);
	assert_int_equal(lines_starting(log, "brokerd: notice: FORGED"), 0);
	assert_int_equal(lines_starting(log, "FORGED"), 0);
	/*
	 * Logged as sent, by the debug line and by the audit error: the path
	 * is the raw request target (routing is on it), still encoded.
	 */
	if (!strstr(log, "GET /x%0Abrokerd:%20notice:%20FORGED: 404") ||
	    !strstr(log, "PUT /x%0Abrokerd:%20notice:%20FORGED by uid:0 (404) is not recorded"))
		fail_msg("the requests are not logged as sent:\n%s", log);
	if (!strstr(log, "GET /y%5Cnz%0D%1B%5B2J%C2%9B%FF%E2%80%A8%C3%A9: "))
		fail_msg("the odd path is not logged as sent:\n%s", log);
	free(log);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_ten_mib_body),
		T(test_header_flood),
		T(test_slowloris),
		T(test_malformed_json_everywhere),
		T(test_full_audit_log_refuses_changes),
		T(test_client_text_cannot_forge_log_lines),
	};

	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
