/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Bearer tokens ("vac_<id>_<secret>") kept in the state directory as
 * tokens.json, only as a per-token salt and a PBKDF2-HMAC-SHA256 hash of
 * the secret; roles viewer < operator < admin; a token may be scoped to
 * some instances.  See tokens.c.
 */
#ifndef BROKER_TOKENS_H
#define BROKER_TOKENS_H

#include "http/request.h"

#define BROKER_TOKENS_FILE "tokens.json"

struct broker_tokens;

/* A token: as created from a request, or in the store (no secret). */
struct broker_token {
	char id[17];			/* 16 hex digits */
	char name[64];
	enum broker_role role;
	bool scoped;
	char (*insts)[VAC_NAME_LEN];	/* the scope, when scoped */
	size_t n_insts;
	int64_t created, expires;	/* expires 0: never */
	unsigned int iterations;
	unsigned char salt[16];
	unsigned char hash[32];
};

const char *broker_role_name(enum broker_role role);
/* A role's name, or BROKER_ROLE_NONE. */
enum broker_role broker_role_parse(const char *s);

/* Load tokens.json from the state directory (@dirfd, kept open by the store). */
int broker_tokens_open(struct broker_tokens **out, int dirfd,
		       struct broker_err *err);
void broker_tokens_free(struct broker_tokens *t);

/*
 * With no token at all, create an admin token "bootstrap" and write it to
 * @path (0600).  0 if written, 1 if tokens existed (nothing written).
 */
int broker_tokens_bootstrap(struct broker_tokens *t, const char *path,
			    struct broker_err *err);

/*
 * @text, as sent after "Bearer ": a valid token's role, id and name into
 * @who; -EACCES otherwise.  The hash runs outside every lock.
 */
int broker_tokens_verify(struct broker_tokens *t, const char *text,
			 struct broker_principal *who);
/* Does token @id's scope list instance @name? */
bool broker_tokens_scope_ok(struct broker_tokens *t, const char *id,
			    const char *name);

/* {"tokens": [...]}, without their secret parts; NULL: out of memory. */
json_t *broker_tokens_list(struct broker_tokens *t);
/*
 * A POST /v1/tokens body into @tok (name, role, expiry, scope); -EINVAL
 * with @err naming the bad field, -ENOMEM.  tok->insts is NULL on failure.
 */
int broker_tokens_parse(const char *text, size_t len, struct broker_token *tok,
			struct broker_err *err);
/*
 * Create @tok (its id set): into the store and the file, its view with
 * the secret token as "token" into *@view (NULL: out of memory).  The
 * store owns tok->insts on success; -EUSERS at the limit, another -errno
 * (-ENOSPC for a full disk) if the file cannot be written; nothing
 * changes then.
 */
int broker_tokens_create(struct broker_tokens *t, struct broker_token *tok,
			 json_t **view, struct broker_err *err);
/* -ENOENT: no such token; on any failure nothing changes. */
int broker_tokens_revoke(struct broker_tokens *t, const char *id,
			 struct broker_err *err);

#endif /* BROKER_TOKENS_H */
