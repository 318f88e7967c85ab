// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The real brokerd as an operator and an attacker probe it: a token file
 * others may read, and HTTP as RFC 9110 and 9112 have it, spoken over
 * raw sockets so that nothing (libcurl) tidies the requests up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d->sock);
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

/* How many status lines @text has. */
static int responses(const char *text)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, "HTTP/1.")); p++)
		n++;
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

#define T(f) cmocka_unit_test_setup_teardown(f, setup, bt_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_token_file_others_can_read_refuses_start),
	};

	(void)setup_tcp;
	(void)responses;
	(void)body_of;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
