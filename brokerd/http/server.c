// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The HTTP server: one libmicrohttpd daemon per listener (the Unix
 * socket, plain TCP on loopback when asked for, HTTPS on any address when
 * asked for), each with its own epoll thread pool.  Requests are
 * collected (bodies capped, never through MHD's post processor),
 * authenticated, and routed through the route tables registered at
 * broker_http_listen(): the server knows no resource, only the routes it
 * is given, their roles and flags.
 *
 * May call: auth.c, tokens.c, audit.c, reply.c, listen.c, tls.c, core/,
 * base/.
 */
#define _GNU_SOURCE
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "base/log.h"
#include "core/backend.h"
#include "core/broker.h"
#include "http/audit.h"
#include "http/auth.h"
#include "http/listen.h"
#include "http/reply.h"
#include "http/server.h"
#include "http/tls.h"
#include "http/tokens.h"

struct listener {
	struct broker_http *h;
	const char *what;
	bool is_unix;
	bool tls;
	int fd;			/* ours until MHD takes it */
	struct MHD_Daemon *d;
};

struct broker_http {
	struct broker *b;
	struct broker_tokens *tokens;
	struct broker_auth *auth;
	const struct broker_routes *const *routes;
	size_t n_routes;
	struct listener unix_l, tcp_l, tls_l;
	char socket_path[108];
	struct broker_tls tls;
	uint64_t replies[BROKER_STATUS_MAX];	/* by status, atomic */
};

/* GnuTLS priorities of the TLS listener: TLS 1.2 and 1.3 only. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

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

static enum MHD_Result audit_down(struct broker_req *req);

static enum MHD_Result call(struct broker_req *req, const struct broker_route *r)
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
	if ((r->flags & BROKER_ROUTE_UNSCOPED) && req->who.scoped)
		return broker_reply_error(req, BROKER_FORBIDDEN, NULL,
					  "a token scoped to instances cannot manage tokens");
	if ((r->flags & BROKER_ROUTE_SCOPED) && !broker_auth_scope_ok(req, req->param))
		return broker_reply_error(req, BROKER_FORBIDDEN, NULL,
					  "this token may not change instance %s",
					  req->param);
	/* Allowed: the line is on disk before the change, or no change. */
	if (req->audit && broker_audit_begin(req))
		return audit_down(req);

	if (r->flags & BROKER_ROUTE_OWN_LOCK)
		return r->fn(req);
	pthread_mutex_lock(&b->lock);
	if ((r->flags & BROKER_ROUTE_BACKEND) && !b->backend->ops->ready(b->backend))
		ret = broker_reply_unavailable(req);
	else
		ret = r->fn(req);
	pthread_mutex_unlock(&b->lock);
	return ret;
}

/* No change without its line in the audit log. */
static enum MHD_Result audit_down(struct broker_req *req)
{
	if (broker_storage_full(req->audit_err))
		return broker_reply_write_failed(req, req->audit_err,
						 "the audit log cannot be written: %s",
						 strerror(-req->audit_err));
	return broker_reply_error(req, BROKER_UNAVAILABLE, NULL,
				  "the audit log cannot be written (%s): changes are "
				  "refused until it can; reads are served",
				  strerror(-req->audit_err));
}

static enum MHD_Result dispatch(struct broker_http *h, struct broker_req *req)
{
	char allow[64] = "";
	const char *param = NULL;
	size_t len = 0;

	if (req->audit && req->audit_fd < 0)
		return audit_down(req);
	req->retry_after = broker_auth_blocked(h->auth, req);
	if (req->retry_after)
		return broker_reply_error(req, BROKER_TOO_MANY_REQUESTS, NULL,
					  "too many failed authentications from %s; "
					  "try again in %u s", req->who.peer,
					  req->retry_after);
	/* A client certificate, unless a token is sent: that decides then. */
	if (req->who.cert &&
	    !MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_AUTHORIZATION))
		req->who.role = req->who.cert_role;
	/* Default deny: nobody without a role learns even which paths exist. */
	else if (broker_auth_authenticate(req) && !broker_auth_failed(h->auth, req))
		return broker_reply_error(req, BROKER_UNAUTHORIZED, NULL,
					  req->who.local ?
					  "a valid bearer token is needed (this uid has no role)" :
					  "a valid bearer token is needed");
	for (size_t t = 0; t < h->n_routes; t++) {
		for (size_t i = 0; i < h->routes[t]->n; i++) {
			const struct broker_route *r = &h->routes[t]->route[i];

			if (!match(r->pattern, req->url, &param, &len))
				continue;
			/* HEAD: GET's headers without the body (MHD drops it). */
			if (strcmp(r->method, req->method) &&
			    (strcmp(req->method, "HEAD") || strcmp(r->method, "GET"))) {
				snprintf(allow + strlen(allow),
					 sizeof(allow) - strlen(allow), "%s%s",
					 allow[0] ? ", " : "", r->method);
				continue;
			}
			if (param) {
				req->param = strndup(param, len);
				if (!req->param)
					return MHD_NO;
				if (!vac_name_ok(req->param))
					return broker_reply_error(req, BROKER_BAD_REQUEST,
								  "name",
								  "names match [a-z0-9_]{1,31}");
			}
			return call(req, r);
		}
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

/* Is @method on @url a route that changes nothing (a dry run)? */
static bool changes_nothing(struct broker_http *h, const char *method,
			    const char *url)
{
	const char *param;
	size_t len;

	for (size_t t = 0; t < h->n_routes; t++)
		for (size_t i = 0; i < h->routes[t]->n; i++) {
			const struct broker_route *r = &h->routes[t]->route[i];

			if ((r->flags & BROKER_ROUTE_NO_CHANGE) &&
			    !strcmp(r->method, method) &&
			    match(r->pattern, url, &param, &len))
				return true;
		}
	return false;
}

static void principal_of(struct MHD_Connection *conn, struct listener *l,
			 struct broker_principal *who)
{
	const union MHD_ConnectionInfo *ci;
	struct ucred cred;
	socklen_t len = sizeof(cred);

	*who = (struct broker_principal){ .uid = (uid_t)-1 };
	if (l->tls && l->h->tls.ca) {
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		if (ci)
			broker_tls_client_cert(l->h->tls.ca, ci->tls_session, who);
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

/* Count the headers named @cls->name, and remember the last value. */
struct header_count {
	const char *name;
	const char *value;
	unsigned int n;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind,
				    const char *key, const char *value)
{
	struct header_count *c = cls;

	if (!strcasecmp(key, c->name)) {
		c->n++;
		c->value = value;
	}
	return MHD_YES;
}

/*
 * What RFC 9112 asks of a server and libmicrohttpd 0.9.75 lets through:
 * a request whose framing could be read two ways is refused and its
 * connection closed (§6.1, §6.3: Transfer-Encoding with Content-Length,
 * two different Content-Lengths), a transfer coding other than chunked
 * is 501, an HTTP/1.1 request without Host is 400 (§3.2).  Answered
 * here, before any body is read: true when it was.
 */
static bool framing_refused(struct broker_req *req, const char *version,
			    enum MHD_Result *ret)
{
	struct header_count te = { .name = MHD_HTTP_HEADER_TRANSFER_ENCODING },
			    cl = { .name = MHD_HTTP_HEADER_CONTENT_LENGTH },
			    host = { .name = MHD_HTTP_HEADER_HOST };
	bool differ = false;

	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, count_header, &te);
	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, count_header, &cl);
	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, count_header, &host);
	if (cl.n > 1) {
		const char *first = MHD_lookup_connection_value(req->conn,
				MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

		differ = !first || strcmp(first, cl.value);
	}
	req->close = true;
	if (te.n && cl.n)
		*ret = broker_reply_error(req, BROKER_BAD_REQUEST, NULL,
					  "Transfer-Encoding and Content-Length "
					  "together: the body's length is ambiguous");
	else if (differ)
		*ret = broker_reply_error(req, BROKER_BAD_REQUEST, NULL,
					  "Content-Length given twice with "
					  "different values");
	else if (te.n && (te.n > 1 || strcasecmp(te.value, "chunked")))
		*ret = broker_reply_error(req, BROKER_NOT_IMPLEMENTED, NULL,
					  "the only transfer coding served is chunked");
	else if (!host.n && !strcmp(version, MHD_HTTP_VERSION_1_1))
		*ret = broker_reply_error(req, BROKER_BAD_REQUEST, NULL,
					  "an HTTP/1.1 request needs a Host header");
	else if (host.n > 1)
		*ret = broker_reply_error(req, BROKER_BAD_REQUEST, NULL,
					  "Host given twice");
	else
		return req->close = false;
	return true;
}

/*
 * The request target as the client sent it, for routing: libmicrohttpd
 * hands the handler a percent-decoded path, in which an encoded "/"
 * (kvm_b%2Fquota) would be a separator.  On the raw path it stays part
 * of a name, which then is not one.  The absolute form
 * (http://host/path, RFC 9112 §3.2.2) is routed on its path; the query
 * is not part of a route.
 */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct broker_req *req = calloc(1, sizeof(*req));
	const char *p = uri;
	size_t n;

	if (!req)
		return NULL;
	req->audit_fd = -1;
	if (!strncasecmp(p, "http://", 7) || !strncasecmp(p, "https://", 8)) {
		p = strchr(p, ':') + 3;
		p += strcspn(p, "/?#");
	}
	n = strcspn(p, "?#");
	req->raw_url = n && *p == '/' ? strndup(p, n) : strdup("/");
	return req;
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
	struct broker_http *h = l->h;
	struct broker_req *req = *con_cls;
	enum MHD_Result ret;
	const char *cl;

	if (!req || !req->method) {
		if (!req || !req->raw_url)
			return MHD_NO;	/* out of memory in on_uri() */
		req->b = h->b;
		req->tokens = h->tokens;
		req->replies = h->replies;
		req->conn = conn;
		req->method = method;
		req->url = req->raw_url;
		principal_of(conn, l, &req->who);
		req->audit = broker_audit_is_change(method) &&
			     !changes_nothing(h, method, req->url);
		if (req->audit)
			broker_audit_open(req);
		if (framing_refused(req, version, &ret))
			return ret;
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > h->b->cfg.limits.body_max.v)
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
	return dispatch(h, req);
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
	free(req->raw_url);
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

int broker_http_listen(struct broker_http **out, struct broker *b,
		       struct broker_tokens *tokens,
		       const struct broker_routes *const *routes, size_t n,
		       struct broker_err *err)
{
	struct broker_http *h;
	int fd, ret;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->b = b;
	h->tokens = tokens;
	h->routes = routes;
	h->n_routes = n;
	h->unix_l = (struct listener){ .h = h, .what = "unix socket",
				       .is_unix = true, .fd = -1 };
	h->tcp_l = (struct listener){ .h = h, .what = "tcp", .fd = -1 };
	h->tls_l = (struct listener){ .h = h, .what = "tls", .tls = true,
				      .fd = -1 };
	*out = h;
	ret = broker_auth_new(&h->auth);
	if (ret)
		return ret;

	/* TCP first: once the socket appears, every listener is listening. */
	if (b->cfg.listen[0]) {
		fd = broker_listen_tcp(b->cfg.listen, "listen", err);
		if (fd < 0)
			return fd;
		h->tcp_l.fd = fd;
	}
	if (b->cfg.tls_listen[0]) {
		ret = broker_tls_load(&h->tls, &b->cfg, err);
		if (ret)
			return ret;
		fd = broker_listen_tcp(b->cfg.tls_listen, "tls_listen", err);
		if (fd < 0)
			return fd;
		h->tls_l.fd = fd;
	}
	fd = broker_listen_unix(&b->cfg, err);
	if (fd < 0)
		return fd;
	h->unix_l.fd = fd;
	snprintf(h->socket_path, sizeof(h->socket_path), "%s", b->cfg.socket);
	return 0;
}

/* ---- serving ---- */

static int start_one(struct listener *l, struct broker_err *err)
{
	const struct broker_limits *lim = &l->h->b->cfg.limits;
	const struct broker_tls *t = &l->h->tls;
	struct MHD_OptionItem none[] = { { MHD_OPTION_END, 0, NULL } };
	struct MHD_OptionItem tls[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)t->cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)t->key },
		{ MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES },
		/* With a CA to trust, MHD asks clients for a certificate. */
		{ t->client_ca ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0,
		  (void *)t->client_ca },
		{ MHD_OPTION_END, 0, NULL },
	};

	if (l->fd < 0)
		return 0;
	if (l->tls && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		broker_err_set(err, "tls_listen",
			       "this libmicrohttpd is built without TLS");
		return -EOPNOTSUPP;
	}
	l->d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD |
				MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
				(l->tls ? MHD_USE_TLS : 0),
				0, NULL, NULL, on_request, l,
				MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, l,
				MHD_OPTION_ARRAY, l->tls ? tls : none,
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
				MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
				MHD_OPTION_END);
	if (!l->d) {
		broker_err_set(err, l->tls ? "tls_cert" : NULL,
			       "%s: libmicrohttpd did not start%s", l->what,
			       l->tls ? " (are tls_cert and tls_key a matching PEM "
			       "certificate and key?)" : "");
		return -EIO;
	}
	l->fd = -1;	/* MHD closes it when it stops */
	return 0;
}

int broker_http_start(struct broker_http *h, struct broker_err *err)
{
	int ret = start_one(&h->unix_l, err);

	if (!ret)
		ret = start_one(&h->tcp_l, err);
	return ret ? ret : start_one(&h->tls_l, err);
}

static void stop_one(struct listener *l)
{
	if (l->d)
		MHD_stop_daemon(l->d);
	if (l->fd >= 0)
		close(l->fd);
}

void broker_http_stop(struct broker_http *h)
{
	if (!h)
		return;
	stop_one(&h->tls_l);
	stop_one(&h->tcp_l);
	stop_one(&h->unix_l);
	if (h->socket_path[0])
		unlink(h->socket_path);
	broker_tls_free(&h->tls);
	broker_auth_free(h->auth);
	free(h);
}
