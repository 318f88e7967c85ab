// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * HTTP: one libmicrohttpd daemon per listener (the Unix socket, plain TCP
 * on loopback when asked for, HTTPS on any address when asked for), each
 * with its own epoll thread pool.
 * Requests are collected (bodies capped, never through MHD's post
 * processor), routed through one table and answered by the handlers of
 * broker_api.c, broker_events.c and broker_metrics.c.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "rest/instances.h"
#include "http/audit.h"
#include "http/tokens.h"
#include "core/backend.h"
#include "core/bus.h"
#include "http/server.h"
#include "rest/metrics.h"
#include "core/policy.h"

struct listener {
	struct broker *b;
	const char *what;
	bool is_unix;
	int fd;			/* ours until MHD takes it */
	struct MHD_Daemon *d;
	const char *cert, *key;	/* PEM, for TLS */
	const char *client_ca;	/* PEM, for TLS with client certificates */
	struct x509_store_st *ca;	/* the same, to verify them */
};

struct broker_http {
	struct listener unix_l, tcp_l, tls_l;
	char socket_path[108];
	char *cert, *key, *client_ca;	/* PEM of the TLS listener */
	struct x509_store_st *ca;
};

/* GnuTLS priorities of the TLS listener: TLS 1.2 and 1.3 only. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

enum route_flags {
	ROUTE_BACKEND = 1,	/* 503 while the backend cannot serve */
	ROUTE_OWN_LOCK = 2,	/* the handler takes the broker lock itself */
	ROUTE_SCOPED = 4,	/* changes instance {name}: a token's scope */
	ROUTE_UNSCOPED = 8,	/* only for tokens without a scope */
};

#define VIEWER BROKER_ROLE_VIEWER
#define OPERATOR BROKER_ROLE_OPERATOR
#define ADMIN BROKER_ROLE_ADMIN

/*
 * The authorization table (docs/rest-api.md repeats it): the least role for each
 * route.  A scoped token changes only the instances it lists; it reads
 * every instance, and cannot manage tokens.
 */
static const struct route {
	const char *method;
	const char *pattern;	/* "{name}" stands for one instance name */
	broker_handler fn;
	unsigned int flags;
	enum broker_role role;
} routes[] = {
	{ "GET",    "/healthz",                   broker_api_healthz, ROUTE_BACKEND, VIEWER },
	{ "GET",    "/metrics",                   broker_metrics_get, 0, VIEWER },
	{ "GET",    "/v1/resources",              broker_api_resources, ROUTE_BACKEND, VIEWER },
	{ "GET",    "/v1/instances",              broker_api_instances, ROUTE_BACKEND, VIEWER },
	{ "GET",    "/v1/instances/{name}",       broker_api_instance_get, ROUTE_BACKEND, VIEWER },
	{ "PUT",    "/v1/instances/{name}",       broker_api_instance_put,
	  ROUTE_BACKEND | ROUTE_SCOPED, ADMIN },
	{ "DELETE", "/v1/instances/{name}",       broker_api_instance_delete,
	  ROUTE_BACKEND | ROUTE_SCOPED, ADMIN },
	{ "PUT",    "/v1/instances/{name}/quota", broker_api_quota_put,
	  ROUTE_BACKEND | ROUTE_SCOPED, OPERATOR },
	{ "GET",    "/v1/instances/{name}/profile", broker_instance_profile_get, 0, VIEWER },
	{ "POST",   "/v1/instances/{name}/profile", broker_instance_profile_post,
	  ROUTE_BACKEND | ROUTE_SCOPED, OPERATOR },
	{ "GET",    "/v1/policy",                 broker_policy_get, 0, VIEWER },
	{ "PUT",    "/v1/policy",                 broker_policy_put, ROUTE_BACKEND, ADMIN },
	{ "DELETE", "/v1/policy",                 broker_policy_delete, 0, ADMIN },
	{ "POST",   "/v1/policy/plan",            broker_policy_plan, ROUTE_BACKEND, VIEWER },
	{ "POST",   "/v1/policy/apply",           broker_policy_apply, ROUTE_BACKEND, ADMIN },
	{ "GET",    "/v1/profiles",               broker_profiles_get, 0, VIEWER },
	{ "GET",    "/v1/profiles/{name}",        broker_profile_get, 0, VIEWER },
	{ "PUT",    "/v1/profiles/{name}",        broker_profile_put, 0, ADMIN },
	{ "DELETE", "/v1/profiles/{name}",        broker_profile_delete, 0, ADMIN },
	{ "GET",    "/v1/events",                 broker_events_get, ROUTE_OWN_LOCK, VIEWER },
	{ "GET",    "/v1/tokens",                 broker_auth_tokens_get, ROUTE_UNSCOPED, ADMIN },
	{ "POST",   "/v1/tokens",                 broker_auth_tokens_post, ROUTE_UNSCOPED, ADMIN },
	{ "DELETE", "/v1/tokens/{name}",          broker_auth_token_delete, ROUTE_UNSCOPED, ADMIN },
};

static const struct {
	const char *name;
	unsigned int status;
} codes[] = {
	[BROKER_BAD_REQUEST]		= { "bad_request", 400 },
	[BROKER_UNAUTHORIZED]		= { "unauthorized", 401 },
	[BROKER_FORBIDDEN]		= { "forbidden", 403 },
	[BROKER_NOT_FOUND]		= { "not_found", 404 },
	[BROKER_METHOD_NOT_ALLOWED]	= { "method_not_allowed", 405 },
	[BROKER_CONFLICT]		= { "conflict", 409 },
	[BROKER_PRECONDITION_FAILED]	= { "precondition_failed", 412 },
	[BROKER_PAYLOAD_TOO_LARGE]	= { "payload_too_large", 413 },
	[BROKER_UNSUPPORTED_MEDIA_TYPE]	= { "unsupported_media_type", 415 },
	[BROKER_UNAVAILABLE]		= { "unavailable", 503 },
	[BROKER_INTERNAL]		= { "internal", 500 },
	[BROKER_TOO_MANY_REQUESTS]	= { "too_many_requests", 429 },
};

unsigned int broker_code_status(enum broker_code code)
{
	return codes[code].status;
}

/* ---- replies ---- */

enum MHD_Result broker_reply(struct broker_req *req, unsigned int status,
			     struct MHD_Response *resp)
{
	struct broker *b = req->b;
	enum MHD_Result ret;
	char etag[32];

	if (!resp)
		return MHD_NO;
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED && req->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, req->allow);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"brokerd\"");
	if (req->has_etag) {
		snprintf(etag, sizeof(etag), "\"%llu\"",
			 (unsigned long long)req->etag);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	}
	if (status < ARRAY_SIZE(b->http_requests))
		__atomic_add_fetch(&b->http_requests[status], 1, __ATOMIC_RELAXED);
	if (req->who.token)
		broker_log(LOG_DEBUG, "token %s: %s %s: %u", req->who.token_id,
			   req->method, req->url, status);
	else if (req->who.local)
		broker_log(LOG_DEBUG, "uid %u: %s %s: %u", (unsigned)req->who.uid,
			   req->method, req->url, status);
	else
		broker_log(LOG_DEBUG, "tcp: %s %s: %u", req->method, req->url,
			   status);
	/* The change's line is on disk before anyone hears of the outcome. */
	if (req->audit && req->audit_fd >= 0) {
		broker_audit_write(req, status);
		close(req->audit_fd);
		req->audit_fd = -1;
	}
	req->replied = true;
	req->status = status;
	ret = MHD_queue_response(req->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result broker_reply_text(struct broker_req *req, unsigned int status,
				  const char *content_type, char *text,
				  size_t len)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	if (content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					content_type);
	return broker_reply(req, status, resp);
}

enum MHD_Result broker_reply_json(struct broker_req *req, unsigned int status,
				  json_t *body)
{
	static const char oom[] =
		"{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}\n";
	char *text;
	size_t len;

	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!text) {
		struct MHD_Response *resp = MHD_create_response_from_buffer(
			sizeof(oom) - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);

		if (resp)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
						"application/json");
		return broker_reply(req, MHD_HTTP_INTERNAL_SERVER_ERROR, resp);
	}
	/* One document a line, for people reading it with curl. */
	len = strlen(text);
	text[len] = '\n';	/* json_dumps() leaves room: the NUL */
	return broker_reply_text(req, status, "application/json", text, len + 1);
}

enum MHD_Result broker_reply_error(struct broker_req *req,
				   enum broker_code code, const char *field,
				   const char *fmt, ...)
{
	json_t *err;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err = json_pack("{s:s, s:s}", "code", codes[code].name, "message", msg);
	if (err && field && *field)
		json_object_set_new(err, "field", json_string(field));
	return broker_reply_json(req, codes[code].status,
				 err ? json_pack("{s:o}", "error", err) : NULL);
}

bool broker_req_is_json(struct broker_req *req)
{
	const char *ct = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_TYPE);
	static const char json[] = "application/json";

	return ct && !strncasecmp(ct, json, sizeof(json) - 1) &&
	       strchr("; \t", ct[sizeof(json) - 1]);
}

/* ---- routing ---- */

static bool match(const char *pattern, const char *url, const char **param,
		  size_t *param_len)
{
	while (*pattern && *url) {
		if (!strncmp(pattern, "{name}", 6)) {
			size_t n = strcspn(url, "/");

			if (!n)
				return false;
			*param = url;
			*param_len = n;
			pattern += 6;
			url += n;
		} else if (*pattern++ != *url++) {
			return false;
		}
	}
	return !*pattern && !*url;
}

enum MHD_Result broker_reply_unavailable(struct broker_req *req)
{
	struct broker_backend *be = req->b->backend;

	return broker_reply_error(req, BROKER_UNAVAILABLE, NULL, "%s backend: %s",
				  be->ops->name, be->down);
}

static enum MHD_Result audit_down(struct broker_req *req);

static enum MHD_Result call(struct broker_req *req, const struct route *r)
{
	struct broker *b = req->b;
	enum MHD_Result ret;

	if (req->who.role < r->role)
		return broker_reply_error(req, BROKER_FORBIDDEN, NULL,
					  "%s %s needs the role %s; %s has %s",
					  req->method, req->url,
					  broker_role_name(r->role),
					  req->who.token ? "this token" :
					  req->who.cert ? "this certificate" : "this peer",
					  broker_role_name(req->who.role));
	if ((r->flags & ROUTE_UNSCOPED) && req->who.scoped)
		return broker_reply_error(req, BROKER_FORBIDDEN, NULL,
					  "a token scoped to instances cannot manage tokens");
	if ((r->flags & ROUTE_SCOPED) && !broker_auth_scope_ok(req, req->param))
		return broker_reply_error(req, BROKER_FORBIDDEN, NULL,
					  "this token may not change instance %s",
					  req->param);
	/* Allowed: the line is on disk before the change, or no change. */
	if (req->audit && broker_audit_begin(req))
		return audit_down(req);

	if (r->flags & ROUTE_OWN_LOCK)
		return r->fn(req);
	pthread_mutex_lock(&b->lock);
	if ((r->flags & ROUTE_BACKEND) && !b->backend->ops->ready(b->backend))
		ret = broker_reply_unavailable(req);
	else
		ret = r->fn(req);
	pthread_mutex_unlock(&b->lock);
	return ret;
}

/* No change without its line in the audit log. */
static enum MHD_Result audit_down(struct broker_req *req)
{
	return broker_reply_error(req, BROKER_UNAVAILABLE, NULL,
				  "the audit log cannot be written (%s): changes are "
				  "refused until it can; reads are served",
				  strerror(-req->audit_err));
}

static enum MHD_Result dispatch(struct broker_req *req)
{
	char allow[64] = "";
	const char *param = NULL;
	size_t len = 0;

	if (req->audit && req->audit_fd < 0)
		return audit_down(req);
	if (broker_auth_blocked(req))
		return broker_reply_error(req, BROKER_TOO_MANY_REQUESTS, NULL,
					  "too many failed authentications from %s; "
					  "try again later", req->who.peer);
	/* A client certificate, unless a token is sent: that decides then. */
	if (req->who.cert &&
	    !MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_AUTHORIZATION))
		req->who.role = req->who.cert_role;
	/* Default deny: nobody without a role learns even which paths exist. */
	else if (broker_auth_authenticate(req) && !broker_auth_failed(req))
		return broker_reply_error(req, BROKER_UNAUTHORIZED, NULL,
					  req->who.local ?
					  "a valid bearer token is needed (this uid has no role)" :
					  "a valid bearer token is needed");
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		if (!match(routes[i].pattern, req->url, &param, &len))
			continue;
		if (strcmp(routes[i].method, req->method)) {
			snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow),
				 "%s%s", allow[0] ? ", " : "", routes[i].method);
			continue;
		}
		if (param) {
			req->param = strndup(param, len);
			if (!req->param)
				return MHD_NO;
			if (!vac_name_ok(req->param))
				return broker_reply_error(req, BROKER_BAD_REQUEST, "name",
							  "names match [a-z0-9_]{1,31}");
		}
		return call(req, &routes[i]);
	}
	if (allow[0]) {
		req->allow = allow;
		return broker_reply_error(req, BROKER_METHOD_NOT_ALLOWED, NULL,
					  "%s is not allowed on %s (allowed: %s)",
					  req->method, req->url, allow);
	}
	return broker_reply_error(req, BROKER_NOT_FOUND, NULL, "no such path: %s",
				  req->url);
}

/* ---- requests ---- */

static void principal_of(struct MHD_Connection *conn, struct listener *l,
			 struct broker_principal *who)
{
	const union MHD_ConnectionInfo *ci;
	struct ucred cred;
	socklen_t len = sizeof(cred);

	*who = (struct broker_principal){ .uid = (uid_t)-1 };
	if (l->ca) {
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		if (ci)
			broker_tls_client_cert(l->ca, ci->tls_session, who);
	}
	if (!l->is_unix) {
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci && ci->client_addr)
			getnameinfo(ci->client_addr,
				    ci->client_addr->sa_family == AF_INET6 ?
				    sizeof(struct sockaddr_in6) :
				    sizeof(struct sockaddr_in),
				    who->peer, sizeof(who->peer), NULL, 0,
				    NI_NUMERICHOST);
		return;
	}
	strcpy(who->peer, "unix");
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci && !getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		who->local = true;
		who->uid = cred.uid;
		who->gid = cred.gid;
		who->pid = cred.pid;
	}
}

static enum MHD_Result too_large(struct broker_req *req)
{
	if (req->audit && req->audit_fd < 0)
		return audit_down(req);
	return broker_reply_error(req, BROKER_PAYLOAD_TOO_LARGE, NULL,
				  "request body larger than %u bytes",
				  req->b->cfg.limits.body_max.v);
}

static void take_body(struct broker_req *req, const char *data, size_t n)
{
	size_t max = req->b->cfg.limits.body_max.v;
	char *p;

	if (req->body_too_large || n > max - req->body_len) {
		req->body_too_large = true;
		return;
	}
	p = realloc(req->body, req->body_len + n + 1);
	if (!p) {
		req->body_too_large = true;
		return;
	}
	memcpy(p + req->body_len, data, n);
	req->body = p;
	req->body_len += n;
	p[req->body_len] = 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct listener *l = cls;
	struct broker_req *req = *con_cls;
	const char *cl;

	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		req->b = l->b;
		req->conn = conn;
		req->method = method;
		req->url = url;
		req->audit_fd = -1;
		principal_of(conn, l, &req->who);
		*con_cls = req;
		req->audit = broker_audit_is_change(method);
		if (req->audit)
			broker_audit_open(req);
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > l->b->cfg.limits.body_max.v)
			return too_large(req);
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!req->replied)
			take_body(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->replied)
		return MHD_YES;
	if (req->body_too_large)
		return too_large(req);
	return dispatch(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct broker_req *req = *con_cls;

	if (!req)
		return;
	if (req->cleanup)
		req->cleanup(req->cleanup_arg);
	if (req->audit_fd >= 0)
		close(req->audit_fd);
	free(req->body);
	free((char *)req->param);
	free(req);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	for (n = strlen(msg); n && msg[n - 1] == '\n'; n--)
		msg[n - 1] = 0;	/* the rest is escaped by broker_log() */
	/* Mostly clients that went away; start failures are reported too. */
	broker_log(LOG_INFO, "%s: %s", ((struct listener *)cls)->what, msg);
}

/* ---- listeners ---- */

/* "addr:port" for @field; a loopback address unless @any. */
static int parse_addr(const char *s, const char *field, bool any,
		      struct sockaddr_storage *ss, socklen_t *len,
		      struct broker_err *err)
{
	struct addrinfo hints = {
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *ai = NULL;
	char host[64];
	const char *port;
	bool loopback;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':' || (size_t)(end - s) > sizeof(host))
			goto syntax;
		snprintf(host, sizeof(host), "%.*s", (int)(end - s - 1), s + 1);
		port = end + 2;
	} else {
		const char *colon = strrchr(s, ':');

		if (!colon || (size_t)(colon - s) >= sizeof(host))
			goto syntax;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
		port = colon + 1;
	}
	if (!*port || strspn(port, "0123456789") != strlen(port) ||
	    !atoi(port) || getaddrinfo(host, port, &hints, &ai))
		goto syntax;

	if (ai->ai_family == AF_INET) {
		const struct sockaddr_in *in = (void *)ai->ai_addr;

		loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	} else {
		const struct sockaddr_in6 *in6 = (void *)ai->ai_addr;

		loopback = ai->ai_family == AF_INET6 &&
			   IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	if (!loopback && !any) {
		freeaddrinfo(ai);
		broker_err_set(err, field,
			       "\"%s\": plain TCP is only served on a loopback address "
			       "(127.0.0.0/8 or ::1); other addresses are served "
			       "with TLS (tls_listen)", s);
		return -EINVAL;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;

syntax:
	broker_err_set(err, field,
		       "\"%s\": expected ADDRESS:PORT with a numeric %saddress, "
		       "e.g. %s:8443 or [::1]:8443", s, any ? "" : "loopback ",
		       any ? "0.0.0.0" : "127.0.0.1");
	return -EINVAL;
}

int broker_http_parse_listen(const char *s, struct sockaddr_storage *ss,
			     socklen_t *len, struct broker_err *err)
{
	return parse_addr(s, "listen", false, ss, len, err);
}

/* socket_mode: an octal string, at most 0777. */
static int parse_mode(const char *s, mode_t *mode)
{
	unsigned long m;

	if (!*s || strlen(s) > 4 || strspn(s, "01234567") != strlen(s))
		return -EINVAL;
	m = strtoul(s, NULL, 8);
	if (m > 0777)
		return -EINVAL;
	*mode = m;
	return 0;
}

int broker_http_check_config(const struct broker_config *cfg,
			     struct broker_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	mode_t mode;
	int ret;

	if (parse_mode(cfg->socket_mode, &mode)) {
		broker_err_set(err, "socket_mode",
			       "socket_mode \"%s\": expected an octal mode such as "
			       "\"0660\"", cfg->socket_mode);
		return -EINVAL;
	}
	if (!cfg->tls_listen[0] && cfg->tls_client_ca[0]) {
		broker_err_set(err, "tls_client_ca",
			       "tls_client_ca is for the TLS listener: set tls_listen");
		return -EINVAL;
	}
	if (!cfg->tls_listen[0])
		return 0;
	ret = parse_addr(cfg->tls_listen, "tls_listen", true, &ss, &len, err);
	if (ret)
		return ret;
	if (!cfg->tls_cert[0] || !cfg->tls_key[0]) {
		broker_err_set(err, cfg->tls_cert[0] ? "tls_key" : "tls_cert",
			       "tls_listen %s needs tls_cert and tls_key (PEM files); "
			       "with \"tls_generate\": true a first start creates a "
			       "self-signed pair there", cfg->tls_listen);
		return -EINVAL;
	}
	return 0;
}

/* socket_group: its gid, or -ENOENT with a message. */
static int group_id(const char *name, gid_t *gid, struct broker_err *err)
{
	char buf[4096];
	struct group gr, *g = NULL;
	int ret = getgrnam_r(name, &gr, buf, sizeof(buf), &g);

	if (ret || !g) {
		broker_err_set(err, "socket_group", "socket_group \"%s\": %s", name,
			       ret ? strerror(ret) : "no such group");
		return ret ? -ret : -ENOENT;
	}
	*gid = g->gr_gid;
	return 0;
}

static int listen_unix(const struct broker_config *cfg,
		       struct broker_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = cfg->socket;
	_cleanup_close_ int fd = -1;
	gid_t gid = (gid_t)-1;
	mode_t mask, mode = 0660;
	struct stat st;
	int ret;

	parse_mode(cfg->socket_mode, &mode);	/* checked with the config */
	if (cfg->socket_group[0]) {
		ret = group_id(cfg->socket_group, &gid, err);
		if (ret)
			return ret;
	}

	if (strlen(path) >= sizeof(sa.sun_path)) {
		broker_err_set(err, "socket", "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	if (!lstat(path, &st)) {
		_cleanup_close_ int probe = -1;

		/* A socket left by a daemon that died: not one being served. */
		if (!S_ISSOCK(st.st_mode)) {
			broker_err_set(err, "socket", "%s exists and is not a socket",
				       path);
			return -EEXIST;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && !connect(probe, (void *)&sa, sizeof(sa))) {
			broker_err_set(err, "socket",
				       "%s: another daemon is listening on it", path);
			return -EADDRINUSE;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	mask = umask(~mode & 0777);	/* the socket is born socket_mode */
	ret = bind(fd, (void *)&sa, sizeof(sa));
	umask(mask);
	if (ret < 0)
		goto fail;
	/* Before listen(): nobody connects while it has the wrong owner. */
	if (chmod(path, mode) < 0 ||
	    (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0)) {
		ret = -errno;
		unlink(path);
		broker_err_set(err, "socket_group", "%s: mode %s, group %s: %s",
			       path, cfg->socket_mode,
			       cfg->socket_group[0] ? cfg->socket_group : "(unchanged)",
			       strerror(-ret));
		return ret;
	}
	if (listen(fd, 64) < 0)
		goto fail;
	ret = fd;
	fd = -1;
	return ret;

fail:
	ret = -errno;
	broker_err_set(err, "socket", "%s: %s", path, strerror(-ret));
	return ret;
}

/* @field "listen" (loopback only) or "tls_listen" (any address). */
static int listen_tcp(const char *addr, const char *field,
		      struct broker_err *err)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, ret;

	ret = parse_addr(addr, field, strcmp(field, "listen"), &ss, &len, err);
	if (ret)
		return ret;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (void *)&ss, len) < 0 || listen(fd, 64) < 0) {
		ret = -errno;
		broker_err_set(err, field, "%s %s: %s", field, addr, strerror(-ret));
		return ret;
	}
	ret = fd;
	fd = -1;
	return ret;
}

static bool exists(const char *path)
{
	return !access(path, F_OK);
}

/*
 * The TLS pair: read, or made when tls_generate asks for it and neither
 * file exists (never one without the other, never over an existing one).
 */
static int tls_pair(struct broker_http *h, const struct broker_config *cfg,
		    struct broker_err *err)
{
	int ret;

	if (cfg->tls_generate.v && !exists(cfg->tls_cert) &&
	    !exists(cfg->tls_key)) {
		ret = broker_tls_generate(cfg->tls_cert, cfg->tls_key, err);
		if (ret)
			return ret;
		broker_log(LOG_NOTICE, "tls_generate: a new self-signed certificate "
			   "in %s, its key in %s (0600)", cfg->tls_cert, cfg->tls_key);
	}
	ret = broker_tls_read_pem(cfg->tls_cert, "tls_cert", &h->cert, err);
	if (!ret)
		ret = broker_tls_read_pem(cfg->tls_key, "tls_key", &h->key, err);
	if (!ret && cfg->tls_client_ca[0]) {
		ret = broker_tls_read_pem(cfg->tls_client_ca, "tls_client_ca",
					  &h->client_ca, err);
		if (!ret)
			ret = broker_tls_client_ca(cfg->tls_client_ca, &h->ca, err);
	}
	if (ret && cfg->tls_generate.v && exists(cfg->tls_cert) != exists(cfg->tls_key))
		broker_err_set(err, exists(cfg->tls_cert) ? "tls_key" : "tls_cert",
			       "%s exists but %s does not: tls_generate makes a pair "
			       "only when both are missing",
			       exists(cfg->tls_cert) ? cfg->tls_cert : cfg->tls_key,
			       exists(cfg->tls_cert) ? cfg->tls_key : cfg->tls_cert);
	return ret;
}

int broker_http_listen(struct broker *b, struct broker_err *err)
{
	struct broker_http *h;
	int fd, ret;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->unix_l = (struct listener){ .b = b, .what = "unix socket",
				       .is_unix = true, .fd = -1 };
	h->tcp_l = (struct listener){ .b = b, .what = "tcp", .fd = -1 };
	h->tls_l = (struct listener){ .b = b, .what = "tls", .fd = -1 };
	b->http = h;

	/* TCP first: once the socket appears, every listener is listening. */
	if (b->cfg.listen[0]) {
		fd = listen_tcp(b->cfg.listen, "listen", err);
		if (fd < 0)
			return fd;
		h->tcp_l.fd = fd;
	}
	if (b->cfg.tls_listen[0]) {
		ret = tls_pair(h, &b->cfg, err);
		if (ret)
			return ret;
		h->tls_l.cert = h->cert;
		h->tls_l.key = h->key;
		h->tls_l.client_ca = h->client_ca;
		h->tls_l.ca = h->ca;
		fd = listen_tcp(b->cfg.tls_listen, "tls_listen", err);
		if (fd < 0)
			return fd;
		h->tls_l.fd = fd;
	}
	fd = listen_unix(&b->cfg, err);
	if (fd < 0)
		return fd;
	h->unix_l.fd = fd;
	snprintf(h->socket_path, sizeof(h->socket_path), "%s", b->cfg.socket);
	return 0;
}

static int start_one(struct listener *l, struct broker_err *err)
{
	const struct broker_limits *lim = &l->b->cfg.limits;
	struct MHD_OptionItem none[] = { { MHD_OPTION_END, 0, NULL } };
	struct MHD_OptionItem tls[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)l->cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)l->key },
		{ MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES },
		/* With a CA to trust, MHD asks clients for a certificate. */
		{ l->client_ca ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0,
		  (void *)l->client_ca },
		{ MHD_OPTION_END, 0, NULL },
	};

	if (l->fd < 0)
		return 0;
	if (l->cert && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		broker_err_set(err, "tls_listen",
			       "this libmicrohttpd is built without TLS");
		return -EOPNOTSUPP;
	}
	l->d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD |
				MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
				(l->cert ? MHD_USE_TLS : 0),
				0, NULL, NULL, on_request, l,
				MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, l,
				MHD_OPTION_ARRAY, l->cert ? tls : none,
				MHD_OPTION_LISTEN_SOCKET, l->fd,
				/* One thread is MHD's internal thread, not a pool. */
				MHD_OPTION_THREAD_POOL_SIZE,
				(unsigned int)(lim->threads.v > 1 ? lim->threads.v : 0),
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)lim->connections.v,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				(unsigned int)lim->connections_per_ip.v,
				MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned int)lim->connection_timeout.v,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				(size_t)lim->connection_memory.v,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				MHD_OPTION_END);
	if (!l->d) {
		broker_err_set(err, l->cert ? "tls_cert" : NULL,
			       "%s: libmicrohttpd did not start%s", l->what,
			       l->cert ? " (are tls_cert and tls_key a matching PEM "
			       "certificate and key?)" : "");
		return -EIO;
	}
	l->fd = -1;	/* MHD closes it when it stops */
	return 0;
}

int broker_http_start(struct broker *b, struct broker_err *err)
{
	int ret = start_one(&b->http->unix_l, err);

	if (!ret)
		ret = start_one(&b->http->tcp_l, err);
	return ret ? ret : start_one(&b->http->tls_l, err);
}

static void stop_one(struct listener *l)
{
	if (l->d)
		MHD_stop_daemon(l->d);
	if (l->fd >= 0)
		close(l->fd);
}

void broker_http_stop(struct broker *b)
{
	struct broker_http *h = b->http;

	if (!h)
		return;
	stop_one(&h->tls_l);
	stop_one(&h->tcp_l);
	stop_one(&h->unix_l);
	if (h->socket_path[0])
		unlink(h->socket_path);
	free(h->cert);
	free(h->client_ca);
	broker_tls_client_ca_free(h->ca);
	if (h->key)
		explicit_bzero(h->key, strlen(h->key));
	free(h->key);
	free(h);
	b->http = NULL;
}
