/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What the HTTP layer hands a resource: the request (who asks, what, the
 * body) and the shape of a route, which each resource declares next to
 * its handlers (rest/) and which main registers into the table that
 * server.c dispatches.  Types only; the replies are reply.h's.
 */
#ifndef BROKER_REQUEST_H
#define BROKER_REQUEST_H

#include <sys/types.h>
#include <microhttpd.h>

#include "base/base.h"

struct broker;
struct broker_tokens;

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

/* Replies counted by status, 0 to BROKER_STATUS_MAX - 1. */
#define BROKER_STATUS_MAX 600

struct broker_req {
	struct broker *b;		/* the daemon's core */
	struct broker_tokens *tokens;	/* the token store */
	uint64_t *replies;		/* the server's, by status; atomic */
	struct MHD_Connection *conn;
	const char *method;
	const char *url;	/* the raw path, routed on: not decoded */
	char *raw_url;
	bool close;		/* the connection closes after the reply */
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
	unsigned int retry_after;	/* s, on a 503 or 429 if not 0 */
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

enum broker_route_flags {
	BROKER_ROUTE_BACKEND = 1,	/* 503 while the backend cannot serve */
	BROKER_ROUTE_OWN_LOCK = 2,	/* the handler takes the broker lock itself */
	BROKER_ROUTE_SCOPED = 4,	/* changes instance {name}: a token's scope */
	BROKER_ROUTE_UNSCOPED = 8,	/* only for tokens without a scope */
	BROKER_ROUTE_NO_CHANGE = 16,	/* not GET, yet a read: not audited */
};

/*
 * One method on one path, and the least role that may call it (the
 * authorization table: docs/rest-api.md repeats it).  A scoped token
 * changes only the instances it lists; it reads every instance, and
 * cannot manage tokens.
 */
struct broker_route {
	const char *method;
	const char *pattern;	/* "{name}" stands for one instance name */
	broker_handler fn;
	unsigned int flags;
	enum broker_role role;
};

/* A resource's routes, as it exports them for main to register. */
struct broker_routes {
	const struct broker_route *route;
	size_t n;
};

#define BROKER_ROUTES(table) { (table), ARRAY_SIZE(table) }

#endif /* BROKER_REQUEST_H */
