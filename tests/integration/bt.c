// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Broker test helpers.  See bt.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <arpa/inet.h>
#include <netinet/in.h>
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
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "bt.h"

#define START_TIMEOUT_MS 15000

static const char *brokerd_bin(void)
{
	const char *bin = getenv("BROKERD");

	if (!bin)
		fail_msg("BROKERD (the path of brokerd) is not set");
	return bin;
}

void bt_init(struct bt_daemon *d, const char *config_json)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "/tmp/brokerd-test.XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	snprintf(d->sock, sizeof(d->sock), "%s/brokerd.sock", d->dir);
	snprintf(d->state, sizeof(d->state), "%s/state", d->dir);
	snprintf(d->config, sizeof(d->config), "%s/brokerd.json", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/brokerd.log", d->dir);
	bt_write_file(d->config, config_json ? config_json : "{}");
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(path);
}

void bt_cleanup(struct bt_daemon *d)
{
	if (d->pid > 0)
		bt_kill(d);
	if (d->dir[0])
		nftw(d->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	d->dir[0] = 0;
}

static bool socket_answers(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (strlen(path) >= sizeof(sa.sun_path))
		fail_msg("socket path too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ok = fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (fd >= 0)
		close(fd);
	return ok;
}

static void spawn(struct bt_daemon *d, const char *const *args)
{
	const char *argv[32] = {
		brokerd_bin(), "-c", d->config, "--state-dir", d->state,
		"--socket", d->sock,
	};
	size_t n = 7;

	for (; args && *args; args++) {
		assert_true(n < 31);
		argv[n++] = *args;
	}
	argv[n] = NULL;
	d->pid = fork();
	assert_true(d->pid >= 0);
	if (!d->pid) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		/*
		 * Only stderr: the daemon writes nothing else.  It must not
		 * hold the test's stdout, nor outlive a test that crashed.
		 */
		if (fd < 0 || null < 0 || dup2(fd, 2) < 0 || dup2(null, 1) < 0 ||
		    prctl(PR_SET_PDEATHSIG, SIGKILL))
			_exit(127);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
}

static int exit_status(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Until it stops (its exit status), or answers on its socket (0). */
static int wait_start(struct bt_daemon *d, bool for_socket)
{
	int status;

	for (int ms = 0; ms < START_TIMEOUT_MS; ms += 10) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			return exit_status(status);
		}
		if (for_socket && socket_answers(d->sock))
			return 0;
		usleep(10000);
	}
	bt_kill(d);
	fail_msg("brokerd neither stopped nor opened %s in time", d->sock);
	return -1;
}

int bt_start(struct bt_daemon *d, const char *const *args)
{
	spawn(d, args);
	return wait_start(d, true);
}

int bt_run(struct bt_daemon *d, const char *const *args)
{
	spawn(d, args);
	return wait_start(d, false);
}

int bt_wait(struct bt_daemon *d)
{
	int status;

	assert_int_equal(waitpid(d->pid, &status, 0), d->pid);
	d->pid = 0;
	return exit_status(status);
}

int bt_stop(struct bt_daemon *d)
{
	assert_true(d->pid > 0);
	kill(d->pid, SIGTERM);
	return bt_wait(d);
}

void bt_kill(struct bt_daemon *d)
{
	kill(d->pid, SIGKILL);
	bt_wait(d);
}

void bt_signal(struct bt_daemon *d, int sig)
{
	assert_int_equal(kill(d->pid, sig), 0);
}

/* ---- HTTP ---- */

struct sink {
	char *buf;
	size_t len;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	char *p = realloc(s->buf, s->len + size * n + 1);

	assert_non_null(p);
	memcpy(p + s->len, data, size * n);
	s->buf = p;
	s->len += size * n;
	p[s->len] = 0;
	return size * n;
}

static void header_value(const char *line, size_t len, const char *name,
			 char *dst, size_t size)
{
	size_t nl = strlen(name);

	if (len <= nl || strncasecmp(line, name, nl) || line[nl] != ':')
		return;
	line += nl + 1;
	len -= nl + 1;
	while (len && (*line == ' '))
		line++, len--;
	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	snprintf(dst, size, "%.*s", (int)len, line);
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
	struct bt_resp *r = arg;

	header_value(line, size * n, "ETag", r->etag, sizeof(r->etag));
	header_value(line, size * n, "Allow", r->allow, sizeof(r->allow));
	header_value(line, size * n, "Content-Type", r->content_type,
		     sizeof(r->content_type));
	header_value(line, size * n, "WWW-Authenticate", r->www_authenticate,
		     sizeof(r->www_authenticate));
	return size * n;
}

/* Send @c with headers @h (both freed here) and read the reply into @r. */
static void perform(CURL *c, struct curl_slist *h, const char *method,
		    const char *path, struct bt_resp *r)
{
	struct sink s = { 0 };
	CURLcode rc;

	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	r->body = s.buf ? s.buf : strdup("");
	if (!strncmp(r->content_type, "application/json", 16)) {
		r->json = json_loads(r->body, 0, NULL);
		if (!r->json)
			fail_msg("%s %s: not JSON: %s", method, path, r->body);
	}
}

static void request(struct bt_daemon *d, bool tcp, const char *method,
		    const char *path, const char *content_type,
		    const char *body, const char *const *headers,
		    struct bt_resp *r)
{
	struct curl_slist *h = NULL;
	char url[256], ct[128];
	CURL *c = curl_easy_init();

	memset(r, 0, sizeof(*r));
	assert_non_null(c);
	if (tcp) {
		snprintf(url, sizeof(url), "http://%s%s", d->tcp, path);
	} else {
		snprintf(url, sizeof(url), "http://brokerd%s", path);
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, d->sock);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	/* "Content-Type:" with nothing after it sends none at all. */
	snprintf(ct, sizeof(ct), "Content-Type:%s%s", content_type ? " " : "",
		 content_type ? content_type : "");
	h = curl_slist_append(h, ct);
	for (; headers && *headers; headers++)
		h = curl_slist_append(h, *headers);
	perform(c, h, method, path, r);
}

void bt_http(struct bt_daemon *d, const char *method, const char *path,
	     const char *content_type, const char *body,
	     const char *const *headers, struct bt_resp *r)
{
	request(d, false, method, path, content_type, body, headers, r);
}

void bt_http_tcp(struct bt_daemon *d, const char *method, const char *path,
		 struct bt_resp *r)
{
	request(d, true, method, path, NULL, NULL, NULL, r);
}

void bt_http_ex(struct bt_daemon *d, bool tcp, const char *method,
		const char *path, const char *content_type, const char *body,
		const char *const *headers, struct bt_resp *r)
{
	request(d, tcp, method, path, content_type, body, headers, r);
}

void bt_get(struct bt_daemon *d, const char *path, struct bt_resp *r)
{
	bt_http(d, "GET", path, NULL, NULL, NULL, r);
}

void bt_put_json(struct bt_daemon *d, const char *path, const char *body,
		 struct bt_resp *r)
{
	bt_http(d, "PUT", path, "application/json", body, NULL, r);
}

void bt_resp_free(struct bt_resp *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

void bt_assert_error(const struct bt_resp *r, long status, const char *code,
		     const char *field)
{
	json_t *e = json_object_get(r->json, "error");

	if (r->status != status)
		fail_msg("status %ld, not %ld: %s", r->status, status, r->body);
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "code")), code);
	assert_non_null(json_string_value(json_object_get(e, "message")));
	assert_true(strlen(json_string_value(json_object_get(e, "message"))) > 0);
	if (field)
		assert_string_equal(json_string_value(json_object_get(e, "field")),
				    field);
}

char *bt_snapshot_more(struct bt_daemon *d)
{
	static const char *const paths[] = { "/v1/tokens", "/v1/policy",
					     "/v1/profiles" };
	char *text = strdup(""), *more;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct bt_resp r;

		bt_get(d, paths[i], &r);
		assert_true(r.status == 200 || r.status == 404);
		assert_true(asprintf(&more, "%s%s %ld %s\n", text, paths[i],
				     r.status, r.body) > 0);
		free(text);
		text = more;
		bt_resp_free(&r);
	}
	return text;
}

char *bt_snapshot(struct bt_daemon *d)
{
	struct bt_resp a, b;
	char path[160], *file, *out;

	bt_get(d, "/v1/instances", &a);
	bt_get(d, "/v1/resources", &b);
	assert_int_equal(a.status, 200);
	assert_int_equal(b.status, 200);
	(void)path;
	file = bt_state_text(d);
	assert_true(asprintf(&out, "%s\n%s\n%s", a.body, b.body, file) > 0);
	free(file);
	bt_resp_free(&a);
	bt_resp_free(&b);
	return out;
}

/* ---- streams ---- */

struct bt_stream {
	CURLM *multi;
	CURL *easy;
	struct sink s;
	struct bt_resp headers;
	size_t pos;		/* consumed by earlier waits */
	struct curl_slist *hdrs;
};

struct bt_stream *bt_stream_open(struct bt_daemon *d, const char *path)
{
	return bt_stream_open_token(d, path, NULL);
}

struct bt_stream *bt_stream_open_token(struct bt_daemon *d, const char *path,
				       const char *token)
{
	struct bt_stream *st = calloc(1, sizeof(*st));
	char url[256];

	assert_non_null(st);
	st->multi = curl_multi_init();
	st->easy = curl_easy_init();
	assert_non_null(st->multi);
	assert_non_null(st->easy);
	snprintf(url, sizeof(url), "http://brokerd%s", path);
	curl_easy_setopt(st->easy, CURLOPT_URL, url);
	curl_easy_setopt(st->easy, CURLOPT_UNIX_SOCKET_PATH, d->sock);
	curl_easy_setopt(st->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(st->easy, CURLOPT_WRITEDATA, &st->s);
	curl_easy_setopt(st->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(st->easy, CURLOPT_HEADERDATA, &st->headers);
	if (token) {
		char auth[256];

		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		st->hdrs = curl_slist_append(NULL, auth);
		assert_non_null(st->hdrs);
		curl_easy_setopt(st->easy, CURLOPT_HTTPHEADER, st->hdrs);
	}
	curl_multi_add_handle(st->multi, st->easy);
	return st;
}

char *bt_stream_wait(struct bt_stream *st, const char *needle, int timeout_ms)
{
	struct timespec t0, t;
	int running;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		const char *hit, *end;

		curl_multi_perform(st->multi, &running);
		hit = st->s.buf ? strstr(st->s.buf + st->pos, needle) : NULL;
		end = hit ? strstr(hit, "\n\n") : NULL;
		if (end) {
			st->pos = end + 2 - st->s.buf;
			return strndup(hit, end - hit);
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (!running || (t.tv_sec - t0.tv_sec) * 1000 +
				(t.tv_nsec - t0.tv_nsec) / 1000000 > timeout_ms)
			return NULL;
		curl_multi_poll(st->multi, NULL, 0, 50, NULL);
	}
}

const char *bt_stream_content_type(struct bt_stream *st)
{
	return st->headers.content_type;
}

void bt_stream_close(struct bt_stream *st)
{
	curl_multi_remove_handle(st->multi, st->easy);
	curl_easy_cleanup(st->easy);
	curl_multi_cleanup(st->multi);
	curl_slist_free_all(st->hdrs);
	free(st->s.buf);
	free(st);
}

/* ---- files, values ---- */

json_t *bt_state(struct bt_daemon *d)
{
	char path[160], *text, *line, *nl;
	json_t *root = NULL, *list;
	json_int_t seen = 0;

	snprintf(path, sizeof(path), "%s/desired.json", d->state);
	text = bt_read_file(path);
	if (text) {
		root = json_loads(text, 0, NULL);
		assert_non_null(root);
		seen = json_integer_value(json_object_get(root, "journal"));
		free(text);
	}
	snprintf(path, sizeof(path), "%s/desired.journal", d->state);
	text = bt_read_file(path);
	if (!text)
		return root;
	if (!root)
		root = json_pack("{s:i, s:i, s:[]}", "version", 1, "generation", 0,
				 "instances");
	list = json_object_get(root, "instances");
	for (line = text; (nl = strchr(line, '\n')); line = nl + 1) {
		json_t *rec, *put, *v;
		const char *name;
		size_t i;

		*nl = 0;
		rec = json_loads(line, 0, NULL);
		assert_non_null(rec);
		if (json_integer_value(json_object_get(rec, "seq")) <= seen) {
			json_decref(rec);
			continue;
		}
		put = json_object_get(rec, "put");
		name = put ? json_string_value(json_object_get(put, "name")) :
			     json_string_value(json_object_get(rec, "del"));
		assert_non_null(name);
		json_array_foreach(list, i, v)
			if (!strcmp(json_string_value(json_object_get(v, "name")), name))
				break;
		if (put && i < json_array_size(list))
			json_array_set(list, i, put);
		else if (put)
			json_array_append(list, put);
		else if (i < json_array_size(list))
			json_array_remove(list, i);
		if (put && json_integer_value(json_object_get(put, "generation")) >
			   json_integer_value(json_object_get(root, "generation")))
			json_object_set(root, "generation",
					json_object_get(put, "generation"));
		json_decref(rec);
	}
	free(text);
	return root;
}

char *bt_state_text(struct bt_daemon *d)
{
	json_t *root = bt_state(d);
	char *text;

	if (!root)
		return strdup("(no state file)");
	json_object_del(root, "journal");	/* where the last change went */
	text = json_dumps(root, JSON_SORT_KEYS | JSON_INDENT(2));
	json_decref(root);
	assert_non_null(text);
	return text;
}

char *bt_read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;

	if (!f)
		return NULL;
	n = getdelim(&buf, &len, 0, f);
	fclose(f);
	if (n < 0) {
		free(buf);
		return strdup("");
	}
	return buf;
}

void bt_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

bool bt_log_has(struct bt_daemon *d, const char *needle)
{
	char *log = bt_read_file(d->log);
	bool hit = log && strstr(log, needle);

	free(log);
	return hit;
}

long long bt_int(json_t *j, ...)
{
	const char *key;
	va_list ap;

	va_start(ap, j);
	while (j && (key = va_arg(ap, const char *)))
		j = json_object_get(j, key);
	va_end(ap);
	if (!json_is_integer(j))
		fail_msg("no integer at that path");
	return json_integer_value(j);
}

double bt_metric(const char *text, const char *sample)
{
	size_t n = strlen(sample);

	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l)
		if (!strncmp(l, sample, n) && l[n] == ' ')
			return strtod(l + n + 1, NULL);
	return -1;
}

int bt_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static int https_request(const char *url, const char *cafile,
			 const char *from, const char *cert, const char *key,
			 const char *token, const char *method,
			 const char *body, struct bt_resp *r)
{
	struct curl_slist *h = NULL;
	struct sink s = { 0 };
	char auth[256];
	CURL *c = curl_easy_init();
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (cafile) {
		curl_easy_setopt(c, CURLOPT_CAINFO, cafile);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
	if (from)
		curl_easy_setopt(c, CURLOPT_INTERFACE, from);
	if (cert) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, key);
	}
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	if (body) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		free(s.buf);
		return rc;
	}
	r->body = s.buf ? s.buf : strdup("");
	if (!strncmp(r->content_type, "application/json", 16)) {
		r->json = json_loads(r->body, 0, NULL);
		if (!r->json)
			fail_msg("%s %s: not JSON: %s", method, url, r->body);
	}
	return 0;
}

int bt_https(const char *url, const char *cafile, const char *from,
	     const char *token, const char *method, const char *body,
	     struct bt_resp *r)
{
	return https_request(url, cafile, from, NULL, NULL, token, method, body,
			     r);
}

int bt_https_cert(const char *url, const char *cafile, const char *cert,
		  const char *key, const char *token, const char *method,
		  const char *body, struct bt_resp *r)
{
	return https_request(url, cafile, NULL, cert, key, token, method, body,
			     r);
}

void bt_http_bytes(struct bt_daemon *d, const char *method, const char *path,
		   const char *body, size_t len, struct bt_resp *r)
{
	struct curl_slist *h = NULL;
	char url[256];
	CURL *c = curl_easy_init();

	memset(r, 0, sizeof(*r));
	assert_non_null(c);
	snprintf(url, sizeof(url), "http://brokerd%s", path);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, d->sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:");
	perform(c, h, method, path, r);
}

char *bt_token(struct bt_daemon *d, const char *name, const char *role)
{
	char body[256];
	struct bt_resp r;
	char *tok;

	snprintf(body, sizeof(body), "{\"name\": \"%s\", \"role\": \"%s\"}",
		 name, role);
	bt_http(d, "POST", "/v1/tokens", "application/json", body, NULL, &r);
	if (r.status != 201)
		fail_msg("POST /v1/tokens: %ld %s", r.status, r.body);
	tok = strdup(json_string_value(json_object_get(r.json, "token")));
	assert_non_null(tok);
	bt_resp_free(&r);
	return tok;
}

long bt_rss_kib(pid_t pid)
{
	char path[64], *text, *p;
	long kib = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	text = bt_read_file(path);
	p = text ? strstr(text, "\nVmRSS:") : NULL;
	if (p)
		kib = strtol(p + 8, NULL, 10);
	free(text);
	return kib;
}

int bt_tcp_connect(const char *addr, const char *from, bool nonblock)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct sockaddr_in me = { .sin_family = AF_INET };
	const char *colon = strrchr(addr, ':');
	char host[64];
	int fd, one = 1;

	assert_non_null(colon);
	snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	assert_int_equal(inet_pton(AF_INET, host, &sa.sin_addr), 1);
	sa.sin_port = htons(atoi(colon + 1));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC |
		    (nonblock ? SOCK_NONBLOCK : 0), 0);
	assert_true(fd >= 0);
	if (from) {
		assert_int_equal(inet_pton(AF_INET, from, &me.sin_addr), 1);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	    errno != EINPROGRESS) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

int bt_teardown(void **state)
{
	struct bt_daemon *d = *state;
	int status = bt_stop(d);
	char *log = status ? bt_read_file(d->log) : NULL;

	if (log)
		fprintf(stderr, "brokerd exited with %d:\n%s\n", status, log);
	free(log);
	bt_cleanup(d);
	free(d);
	assert_int_equal(status, 0);
	return 0;
}

int bt_setup_tcp(void **state, const char *config)
{
	struct bt_daemon *d = calloc(1, sizeof(*d));
	char listen[96];
	const char *args[] = { listen, NULL };

	assert_non_null(d);
	bt_init(d, config);
	snprintf(d->tcp, sizeof(d->tcp), "127.0.0.1:%d", bt_free_port());
	snprintf(listen, sizeof(listen), "--listen=%s", d->tcp);
	assert_int_equal(bt_start(d, args), 0);
	*state = d;
	return 0;
}
