// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Who a request is, and what it may change: a bearer token (either
 * listener) is checked against the token store; without one, over the
 * Unix socket, uid 0 and members of cfg.admin_group are admin.  Failed
 * authentications are counted per peer (TCP address, or socket uid) in
 * a table of their own, under its own lock (never held with another).
 *
 * May call: tokens.c, core/ (the configuration), base/.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/log.h"
#include "core/broker.h"
#include "http/auth.h"
#include "http/tokens.h"

/* Peers with recent failures; the oldest entry makes room. */
#define FAIL_SLOTS 1024

struct fail {
	char peer[64];
	time_t first, blocked_until, last;
	unsigned int n;
};

struct broker_auth {
	pthread_mutex_t lock;
	struct fail fails[FAIL_SLOTS];
};

int broker_auth_new(struct broker_auth **out)
{
	struct broker_auth *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	pthread_mutex_init(&a->lock, NULL);
	*out = a;
	return 0;
}

void broker_auth_free(struct broker_auth *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* ---- who is asking ---- */

static bool in_group(uid_t uid, gid_t gid, const char *group)
{
	struct group gr, *g = NULL;
	struct passwd pw, *p = NULL;
	char buf[16384];

	if (!group[0] || getgrnam_r(group, &gr, buf, sizeof(buf), &g) || !g)
		return false;
	if (gid == g->gr_gid)
		return true;
	{
		gid_t want = g->gr_gid;
		char pbuf[4096];

		if (getpwuid_r(uid, &pw, pbuf, sizeof(pbuf), &p) || !p)
			return false;
		if (p->pw_gid == want)
			return true;
		for (char **m = g->gr_mem; *m; m++)
			if (!strcmp(*m, p->pw_name))
				return true;
	}
	return false;
}

int broker_auth_authenticate(struct broker_req *req)
{
	struct broker_principal *who = &req->who;
	const char *h = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);

	who->role = BROKER_ROLE_NONE;
	if (h) {
		if (strncasecmp(h, "Bearer ", 7))
			return -EACCES;
		h += 7;
		while (*h == ' ')
			h++;
		return broker_tokens_verify(req->tokens, h, who);
	}
	if (!who->local)
		return -EACCES;
	if (who->uid == 0 ||
	    in_group(who->uid, who->gid, req->b->cfg.admin_group)) {
		who->role = BROKER_ROLE_ADMIN;
		return 0;
	}
	return -EACCES;
}

/* ---- failed authentications ---- */

static void peer_key(const struct broker_req *req, char *buf, size_t size)
{
	if (req->who.local)
		snprintf(buf, size, "uid:%u", (unsigned int)req->who.uid);
	else
		snprintf(buf, size, "%s", req->who.peer);
}

static time_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* The peer's slot, or NULL if none (@add: the oldest one, reset). */
static struct fail *fail_slot(struct broker_auth *a, const char *key, bool add)
{
	struct fail *old = &a->fails[0];

	for (size_t i = 0; i < FAIL_SLOTS; i++) {
		if (a->fails[i].peer[0] && !strcmp(a->fails[i].peer, key))
			return &a->fails[i];
		if (a->fails[i].last < old->last)
			old = &a->fails[i];
	}
	if (!add)
		return NULL;
	memset(old, 0, sizeof(*old));
	snprintf(old->peer, sizeof(old->peer), "%s", key);
	return old;
}

unsigned int broker_auth_blocked(struct broker_auth *a,
				 const struct broker_req *req)
{
	time_t now = mono();
	unsigned int left;
	char key[64];
	struct fail *f;

	peer_key(req, key, sizeof(key));
	pthread_mutex_lock(&a->lock);
	f = fail_slot(a, key, false);
	left = f && f->blocked_until > now ? f->blocked_until - now : 0;
	pthread_mutex_unlock(&a->lock);
	return left;
}

bool broker_auth_failed(struct broker_auth *a, const struct broker_req *req)
{
	const struct broker_config *c = &req->b->cfg;
	time_t now = mono();
	char key[64];
	struct fail *f;

	peer_key(req, key, sizeof(key));
	pthread_mutex_lock(&a->lock);
	f = fail_slot(a, key, true);
	if (!f->n || now - f->first >= (time_t)c->auth_fail_window.v) {
		f->first = now;
		f->n = 0;
	}
	f->n++;
	f->last = now;
	if (f->n >= c->auth_fail_max.v) {
		f->blocked_until = now + c->auth_block.v;
		f->n = 0;	/* a new window after the block */
		broker_log(LOG_WARNING, "%s: %u failed authentications in %u s; "
			   "blocked for %u s", key, c->auth_fail_max.v,
			   c->auth_fail_window.v, c->auth_block.v);
	}
	pthread_mutex_unlock(&a->lock);
	return false;
}

/* ---- what it may change ---- */

bool broker_auth_scope_ok(const struct broker_req *req, const char *name)
{
	return !req->who.scoped ||
	       broker_tokens_scope_ok(req->tokens, req->who.token_id, name);
}
