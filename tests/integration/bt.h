/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Broker tests: start the real brokerd in a temporary directory, speak
 * HTTP to it over its Unix socket (or TCP) with libcurl, stop it.
 */
#ifndef BT_H
#define BT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

struct bt_daemon {
	char dir[64];		/* the test's temporary directory */
	char sock[128];		/* dir/brokerd.sock */
	char state[128];	/* dir/state */
	char config[128];	/* dir/brokerd.json */
	char log[128];		/* dir/brokerd.log: the daemon's stderr */
	char tcp[64];		/* "127.0.0.1:port" when asked for, else "" */
	pid_t pid;
};

struct bt_resp {
	long status;
	char *body;
	json_t *json;		/* when the body is JSON */
	char etag[32];
	char allow[64];
	char content_type[96];
	char www_authenticate[96];
};

/* A temporary directory for one daemon; the config file written if given. */
void bt_init(struct bt_daemon *d, const char *config_json);
/* Remove the directory and everything in it. */
void bt_cleanup(struct bt_daemon *d);

/*
 * Start brokerd -c config --state-dir --socket [args...] and wait for its
 * socket: 0, or the exit status of a daemon that stopped (its stderr in
 * d->log).  @args ends with NULL.
 */
int bt_start(struct bt_daemon *d, const char *const *args);
/* Start brokerd expected to fail: wait for its exit status. */
int bt_run(struct bt_daemon *d, const char *const *args);
/* SIGTERM and wait: its exit status (0 for a clean stop). */
int bt_stop(struct bt_daemon *d);
/* Wait for it to stop by itself: its exit status. */
int bt_wait(struct bt_daemon *d);
/* SIGKILL and wait. */
void bt_kill(struct bt_daemon *d);
/* Send @sig. */
void bt_signal(struct bt_daemon *d, int sig);
/*
 * cmocka teardown for a daemon in *state started by the setup: stop it,
 * show its log if it did not stop cleanly, remove everything, and fail
 * the test unless the stop was clean.
 */
int bt_teardown(void **state);
/* cmocka setup: a daemon with @config, on its socket and a loopback port. */
int bt_setup_tcp(void **state, const char *config);

/*
 * One request over the Unix socket (over TCP if d->tcp is set and @tcp).
 * @content_type NULL sends no Content-Type; @headers ends with NULL.
 */
void bt_http(struct bt_daemon *d, const char *method, const char *path,
	     const char *content_type, const char *body,
	     const char *const *headers, struct bt_resp *r);
void bt_http_tcp(struct bt_daemon *d, const char *method, const char *path,
		 struct bt_resp *r);
/* Either listener, with everything. */
void bt_http_ex(struct bt_daemon *d, bool tcp, const char *method,
		const char *path, const char *content_type, const char *body,
		const char *const *headers, struct bt_resp *r);
void bt_resp_free(struct bt_resp *r);

/* Shorthands: GET, PUT of a JSON body (NULL: none). */
void bt_get(struct bt_daemon *d, const char *path, struct bt_resp *r);
void bt_put_json(struct bt_daemon *d, const char *path, const char *body,
		 struct bt_resp *r);

/* The error envelope with @status and @code, and @field if not NULL. */
void bt_assert_error(const struct bt_resp *r, long status, const char *code,
		     const char *field);

/* Everything a rejected request must leave as it was: the API's view and
 * the state file, as one string to compare. */
char *bt_snapshot(struct bt_daemon *d);
/* What bt_snapshot() does not show: GET of tokens, policy, profiles. */
char *bt_snapshot_more(struct bt_daemon *d);

/* A GET whose response streams (server-sent events), read as it comes. */
struct bt_stream;
struct bt_stream *bt_stream_open(struct bt_daemon *d, const char *path);
/* The same with @token as bearer (NULL: none). */
struct bt_stream *bt_stream_open_token(struct bt_daemon *d, const char *path,
				       const char *token);
/*
 * Wait for @needle past what earlier waits consumed: the text from it to
 * the end of its event (a blank line), malloc'ed, or NULL on timeout.
 */
char *bt_stream_wait(struct bt_stream *s, const char *needle, int timeout_ms);
const char *bt_stream_content_type(struct bt_stream *s);
void bt_stream_close(struct bt_stream *s);

char *bt_read_file(const char *path);
/*
 * The desired state on disk as brokerd loads it: desired.json with the
 * changes of desired.journal after it applied; NULL if neither exists.
 */
json_t *bt_state(struct bt_daemon *d);
/* The same, as text (json_dumps, sorted keys); "(no state file)" if none. */
char *bt_state_text(struct bt_daemon *d);
void bt_write_file(const char *path, const char *text);
bool bt_log_has(struct bt_daemon *d, const char *needle);

/* The integer at a path of object keys: BT_INT(j, "usage", "vpids", "quota"). */
long long bt_int(json_t *j, ...);
#define BT_INT(j, ...) bt_int(j, __VA_ARGS__, (const char *)NULL)

/* The value of the sample "name{labels}" in Prometheus text, or -1. */
double bt_metric(const char *text, const char *sample);

/* A free TCP port on 127.0.0.1. */
int bt_free_port(void);

/*
 * One request to @url (https:// or http://) trusting only @cafile (NULL:
 * the system's store), from the local address @from if not NULL, with
 * @token as bearer if not NULL: curl's result, 0 (CURLE_OK) with *@r
 * filled, or the error (then *@r holds no body).
 */
int bt_https(const char *url, const char *cafile, const char *from,
	     const char *token, const char *method, const char *body,
	     struct bt_resp *r);
/* The same with a client certificate (PEM files @cert and @key). */
int bt_https_cert(const char *url, const char *cafile, const char *cert,
		  const char *key, const char *token, const char *method,
		  const char *body, struct bt_resp *r);
/* Over the Unix socket, a JSON body of @len bytes (NULs and all). */
void bt_http_bytes(struct bt_daemon *d, const char *method, const char *path,
		   const char *body, size_t len, struct bt_resp *r);
/* As root over the socket: a new token of @role, malloc'ed. */
char *bt_token(struct bt_daemon *d, const char *name, const char *role);
/* VmRSS of @pid in KiB, from /proc; -1 if it is gone. */
long bt_rss_kib(pid_t pid);
/* A TCP connection to "addr:port" (IPv4) from @from (NULL: any): the fd. */
int bt_tcp_connect(const char *addr, const char *from, bool nonblock);

#endif /* BT_H */
