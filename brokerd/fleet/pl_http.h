/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Requests to Placement over libcurl (see pl_http.c), for placement.c.
 */
#ifndef BROKER_FLEET_PL_HTTP_H
#define BROKER_FLEET_PL_HTTP_H

#include <curl/curl.h>

#include "base/base.h"

struct fleet_placement {
	CURL *curl;
	const volatile bool *stop;
	char url[512], node[256], token_file[PATH_MAX], ca[PATH_MAX];
	char token[4096];
	char root[40], name[256];	/* the compute node's provider */
	char *why;			/* where a failure is said */
	size_t why_len;
};

struct reply {
	long status;
	json_t *json;
	char code[64];		/* errors[0].code, or "" */
	char detail[160];	/* errors[0].detail, or "" */
};

void reply_clear(struct reply *r);
/*
 * @method @path (under placement_url) with @body (NULL: none): 0 with *@r
 * filled for any HTTP status, or -errno with p->why when there was no
 * answer.
 */
int pl_call(struct fleet_placement *p, const char *method, const char *path,
	    json_t *body, struct reply *r);
/* A reply that is not @want (or its 2xx twin): -EPROTO, p->why says it. */
int pl_expect(struct fleet_placement *p, const char *method, const char *path,
	      const struct reply *r, long want);
/* Both in one: the reply's JSON taken into *@out if asked. */
int pl_request(struct fleet_placement *p, const char *method, const char *path,
	       json_t *body, long want, json_t **out);
/* The token of placement_token_file into p->token ("admin": noauth2). */
int pl_read_token(struct fleet_placement *p);

#endif /* BROKER_FLEET_PL_HTTP_H */
