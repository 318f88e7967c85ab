// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Requests to Placement: libcurl (TLS through it, placement_ca or the
 * system's store), the token in X-Auth-Token, the microversion in
 * OpenStack-API-Version, replies of at most 4 MiB read as JSON with the
 * code and detail of their first error; a request is cut short when
 * the fleet thread stops.
 *
 * May call: base/.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fleet/pl_http.h"

#define PL_VERSION	"placement 1.26"
#define PL_REPLY_MAX	(4u << 20)
#define PL_TIMEOUT	10	/* seconds per request */

void reply_clear(struct reply *r)
{
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

struct buf {
	char *p;
	size_t n;
	bool over;
};

static size_t collect(char *data, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;
	char *p;

	if (b->n + n > PL_REPLY_MAX) {
		b->over = true;
		return 0;
	}
	p = realloc(b->p, b->n + n + 1);
	if (!p)
		return 0;
	memcpy(p + b->n, data, n);
	b->p = p;
	b->n += n;
	p[b->n] = 0;
	return n;
}

static int progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
		    curl_off_t un)
{
	const struct fleet_placement *p = arg;

	return *p->stop;
}

int pl_call(struct fleet_placement *p, const char *method,
		const char *path, json_t *body, struct reply *r)
{
	_cleanup_free_ char *url = NULL, *text = NULL, *auth = NULL;
	struct curl_slist *h = NULL;
	struct buf b = { 0 };
	json_t *e;
	CURLcode c;

	memset(r, 0, sizeof(*r));
	if (asprintf(&url, "%s%s", p->url, path) < 0 ||
	    asprintf(&auth, "X-Auth-Token: %s", p->token) < 0) {
		url = auth = NULL;
		return -ENOMEM;
	}
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	if (body && !text)
		return -ENOMEM;
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "OpenStack-API-Version: " PL_VERSION);
	h = curl_slist_append(h, "Accept: application/json");
	if (text)
		h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_reset(p->curl);
	curl_easy_setopt(p->curl, CURLOPT_URL, url);
	curl_easy_setopt(p->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(p->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(p->curl, CURLOPT_TIMEOUT, (long)PL_TIMEOUT);
	curl_easy_setopt(p->curl, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(p->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(p->curl, CURLOPT_XFERINFOFUNCTION, progress);
	curl_easy_setopt(p->curl, CURLOPT_XFERINFODATA, p);
	curl_easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, &b);
	if (p->ca[0])
		curl_easy_setopt(p->curl, CURLOPT_CAINFO, p->ca);
	if (text)
		curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, text);
	c = curl_easy_perform(p->curl);
	curl_slist_free_all(h);
	if (c != CURLE_OK) {
		snprintf(p->why, p->why_len, "%s %s: %s", method, p->url,
			 b.over ? "reply too large" : curl_easy_strerror(c));
		free(b.p);
		return c == CURLE_ABORTED_BY_CALLBACK ? -ECANCELED : -EIO;
	}
	curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &r->status);
	r->json = b.p ? json_loads(b.p, 0, NULL) : NULL;
	free(b.p);
	e = json_array_get(json_object_get(r->json, "errors"), 0);
	snprintf(r->code, sizeof(r->code), "%s",
		 json_string_value(json_object_get(e, "code")) ?: "");
	snprintf(r->detail, sizeof(r->detail), "%s",
		 json_string_value(json_object_get(e, "detail")) ?: "");
	return 0;
}

int pl_expect(struct fleet_placement *p, const char *method,
		  const char *path, const struct reply *r, long want)
{
	if (r->status == want || (want == 200 && r->status == 204) ||
	    (want == 204 && r->status == 200) || (want == 201 && r->status == 204))
		return 0;
	snprintf(p->why, p->why_len, "%s %s: HTTP %ld%s%s", method, path,
		 r->status, r->detail[0] ? ": " : "", r->detail);
	for (char *c = p->why; *c; c++)
		if (*c == '\n')
			*c = ' ';
	return -EPROTO;
}

int pl_request(struct fleet_placement *p, const char *method,
		   const char *path, json_t *body, long want, json_t **out)
{
	struct reply r;
	int ret = pl_call(p, method, path, body, &r);

	if (!ret)
		ret = pl_expect(p, method, path, &r, want);
	if (!ret && out) {
		*out = r.json;
		r.json = NULL;
	}
	reply_clear(&r);
	return ret;
}

int pl_read_token(struct fleet_placement *p)
{
	_cleanup_close_ int fd = -1;
	ssize_t n;

	if (!p->token_file[0]) {
		/* Placement's noauth2: the token is the user, admin here. */
		strcpy(p->token, "admin");
		return 0;
	}
	fd = open(p->token_file, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, p->token, sizeof(p->token) - 1);
	if (n < 0) {
		snprintf(p->why, p->why_len, "placement_token_file %s: %s",
			 p->token_file, strerror(errno));
		return -errno;
	}
	while (n && isspace((unsigned char)p->token[n - 1]))
		n--;
	p->token[n] = 0;
	for (ssize_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)p->token[i])) {
			snprintf(p->why, p->why_len,
				 "placement_token_file %s: not a token", p->token_file);
			return -EINVAL;
		}
	return 0;
}

