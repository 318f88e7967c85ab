/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Authentication and authorization: bearer tokens ("vac_<id>_<secret>")
 * kept in the state directory as tokens.json, only as a per-token salt
 * and a PBKDF2-HMAC-SHA256 hash of the secret; roles viewer < operator <
 * admin; a token may be scoped to some instances.  Over the Unix socket,
 * uid 0 and members of cfg.admin_group are admin without a token.
 */
#ifndef BROKER_AUTH_H
#define BROKER_AUTH_H

#include "http/server.h"

#define BROKER_TOKENS_FILE "tokens.json"

/* Load tokens.json from the state directory (@dirfd, kept open by the store). */
int broker_auth_open(struct broker_auth **out, int dirfd,
		     struct broker_err *err);
void broker_auth_free(struct broker_auth *a);

/*
 * With no token at all, create an admin token "bootstrap" and write it to
 * @path (0600).  0 if written, 1 if tokens existed (nothing written).
 */
int broker_auth_bootstrap(struct broker_auth *a, const char *path,
			  struct broker_err *err);

/*
 * Who @req is: its Authorization header if any (over either listener),
 * else, over the socket, the peer's uid.  Sets req->who.role and the
 * token fields; 0, or -EACCES (no or bad credentials: 401).
 */
int broker_auth_authenticate(struct broker_req *req);

/*
 * Failed authentication, counted per peer (TCP address, or socket uid):
 * after cfg.auth_fail_max within cfg.auth_fail_window seconds, the peer
 * is blocked for cfg.auth_block seconds (429), valid token or not.
 * broker_auth_failed() counts one and returns false (for the 401).
 */
bool broker_auth_blocked(struct broker_req *req);
bool broker_auth_failed(struct broker_req *req);

/* May @req->who change instance @name?  (Scope of a token.) */
bool broker_auth_scope_ok(struct broker_req *req, const char *name);

const char *broker_role_name(enum broker_role role);

/* Route handlers: /v1/tokens. */
enum MHD_Result broker_auth_tokens_get(struct broker_req *req);
enum MHD_Result broker_auth_tokens_post(struct broker_req *req);
enum MHD_Result broker_auth_token_delete(struct broker_req *req);

#endif /* BROKER_AUTH_H */
