/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * HTTP with libmicrohttpd: the listeners, the request context, the route
 * table and the replies, errors included (one envelope, one table of
 * stable codes).
 */
#ifndef BROKER_HTTP_H
#define BROKER_HTTP_H

#include <sys/socket.h>
#include <sys/types.h>
#include <microhttpd.h>

#include "core/broker.h"

enum broker_code {
	BROKER_BAD_REQUEST,
	BROKER_UNAUTHORIZED,
	BROKER_FORBIDDEN,
	BROKER_NOT_FOUND,
	BROKER_METHOD_NOT_ALLOWED,
	BROKER_CONFLICT,
	BROKER_PRECONDITION_FAILED,
	BROKER_PAYLOAD_TOO_LARGE,
	BROKER_UNSUPPORTED_MEDIA_TYPE,
	BROKER_UNAVAILABLE,
	BROKER_INTERNAL,
	BROKER_TOO_MANY_REQUESTS,
};

enum broker_role {
	BROKER_ROLE_NONE,
	BROKER_ROLE_VIEWER,	/* GET */
	BROKER_ROLE_OPERATOR,	/* and quotas */
	BROKER_ROLE_ADMIN,	/* and instances, tokens */
};

/*
 * Who is asking.  Over the Unix socket, the peer's credentials; the role
 * from a bearer token (either listener) or from the peer's uid (socket).
 */
struct broker_principal {
	bool local;		/* peer credentials below are known */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	enum broker_role role;
	bool token;		/* the role comes from token_id */
	bool scoped;		/* the token lists the instances it may change */
	char token_id[17];
	char token_name[64];
	char peer[64];		/* "unix" or the TCP client's address */
	/* TLS: a client certificate tls_client_ca signed, with a role as OU */
	bool cert;
	enum broker_role cert_role;
	char cert_cn[64];
};

struct broker_req {
	struct broker *b;
	struct MHD_Connection *conn;
	const char *method;
	const char *url;
	struct broker_principal who;
	const char *param;	/* the {name} of the route, if any */
	char *body;		/* NUL-terminated */
	size_t body_len;
	bool body_too_large;
	bool replied;
	unsigned int status;
	const char *allow;	/* 405: the methods the path has */
	bool audit;		/* a change: its line goes to the audit log */
	int audit_fd;		/* open until the line is written */
	int audit_err;		/* why it could not be opened or written */
	off_t audit_at;		/* where the line's outcome is, once begun */
	bool has_etag;
	uint64_t etag;		/* an instance's generation */
	/* run when the request ends (for streams) */
	void (*cleanup)(void *arg);
	void *cleanup_arg;
};

/*
 * A route's handler: called with the broker lock held (unless its route
 * says otherwise), the {name} of the route, if any, checked against
 * [a-z0-9_]{1,31}.
 */
typedef enum MHD_Result (*broker_handler)(struct broker_req *req);

/* Bind the listeners of @b->cfg; nothing is served before start. */
int broker_http_listen(struct broker *b, struct broker_err *err);
int broker_http_start(struct broker *b, struct broker_err *err);
/* Stop serving, close and unlink the listeners; lock not held. */
void broker_http_stop(struct broker *b);

/* "127.0.0.1:8080", "[::1]:8080": a loopback address, or -EINVAL. */
int broker_http_parse_listen(const char *s, struct sockaddr_storage *ss,
			     socklen_t *len, struct broker_err *err);

/*
 * The listener keys of @cfg that can be checked before anything starts:
 * tls_listen (any address) with tls_cert and tls_key, socket_mode.
 */
int broker_http_check_config(const struct broker_config *cfg,
			     struct broker_err *err);

/* broker_http_tls.c: a PEM file (@field names the key) read into *@out. */
int broker_tls_read_pem(const char *path, const char *field, char **out,
			struct broker_err *err);
/* A new EC P-256 key (0600) and a self-signed certificate for this host. */
int broker_tls_generate(const char *cert, const char *key,
			struct broker_err *err);

/* tls_client_ca as a store to verify client certificates against. */
struct x509_store_st;
int broker_tls_client_ca(const char *path, struct x509_store_st **out,
			 struct broker_err *err);
void broker_tls_client_ca_free(struct x509_store_st *ca);
/*
 * The client certificate of a TLS connection (@tls_session, GnuTLS's),
 * if @ca signed it for client authentication and its OU names a role:
 * who->cert, cert_role and cert_cn set.
 */
void broker_tls_client_cert(struct x509_store_st *ca, void *tls_session,
			    struct broker_principal *who);

unsigned int broker_code_status(enum broker_code code);

/* Queue @resp with @status, counted by status; @resp is released. */
enum MHD_Result broker_reply(struct broker_req *req, unsigned int status,
			     struct MHD_Response *resp);
/* @body is consumed; NULL (out of memory) is an internal error. */
enum MHD_Result broker_reply_json(struct broker_req *req, unsigned int status,
				  json_t *body);
enum MHD_Result broker_reply_text(struct broker_req *req, unsigned int status,
				  const char *content_type, char *text,
				  size_t len);
/* The error envelope: {"error":{"code","message","field"?}}. */
enum MHD_Result broker_reply_error(struct broker_req *req,
				   enum broker_code code, const char *field,
				   const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* 503: the backend cannot serve, and why. */
enum MHD_Result broker_reply_unavailable(struct broker_req *req);

/* Is the body declared as JSON (Content-Type: application/json)? */
bool broker_req_is_json(struct broker_req *req);

#endif /* BROKER_HTTP_H */
