/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Authentication and authorization of a request (see auth.c).
 */
#ifndef BROKER_AUTH_H
#define BROKER_AUTH_H

#include "http/request.h"

struct broker_auth;

int broker_auth_new(struct broker_auth **out);
void broker_auth_free(struct broker_auth *a);

/*
 * Who @req is: its Authorization header if any (over either listener),
 * else, over the socket, the peer's uid.  Sets req->who.role and the
 * token fields; 0, or -EACCES (no or bad credentials: 401).
 */
int broker_auth_authenticate(struct broker_req *req);

/*
 * Failed authentication, counted per peer: after cfg.auth_fail_max within
 * cfg.auth_fail_window seconds, the peer is blocked for cfg.auth_block
 * seconds (429), valid token or not.  broker_auth_blocked() gives the
 * seconds the block has left (0: not blocked), for Retry-After;
 * broker_auth_failed() counts one and returns false (for the 401).
 */
unsigned int broker_auth_blocked(struct broker_auth *a,
				 const struct broker_req *req);
bool broker_auth_failed(struct broker_auth *a, const struct broker_req *req);

/* May @req->who change instance @name?  (Scope of a token.) */
bool broker_auth_scope_ok(const struct broker_req *req, const char *name);

#endif /* BROKER_AUTH_H */
