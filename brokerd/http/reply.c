// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Replies: every answer goes through broker_reply(), which adds the
 * headers a status calls for (Allow, WWW-Authenticate, ETag), counts it,
 * logs it at debug level and writes the change's audit line before the
 * reply is queued.  The error envelope is one function, its HTTP status
 * derived from a stable code.
 *
 * May call: audit.c, core/ (the backend's state, for 503), base/.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/json.h"
#include "base/log.h"
#include "core/backend.h"
#include "core/broker.h"
#include "http/audit.h"
#include "http/reply.h"

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
	[BROKER_STORAGE_UNAVAILABLE]	= { "storage_unavailable", 503 },
	[BROKER_NOT_IMPLEMENTED]	= { "not_implemented", 501 },
};

/* What a client is told to wait before it retries a refused write. */
#define STORAGE_RETRY_S 30

enum MHD_Result broker_reply(struct broker_req *req, unsigned int status,
			     struct MHD_Response *resp)
{
	enum MHD_Result ret;
	char etag[32];

	if (!resp)
		return MHD_NO;
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED && req->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, req->allow);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"brokerd\"");
	if (req->close)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	if (req->retry_after && (status == 503 || status == 429)) {
		snprintf(etag, sizeof(etag), "%u", req->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, etag);
	}
	if (req->has_etag) {
		snprintf(etag, sizeof(etag), "\"%llu\"",
			 (unsigned long long)req->etag);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	}
	if (status < BROKER_STATUS_MAX)
		__atomic_add_fetch(&req->replies[status], 1, __ATOMIC_RELAXED);
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

bool broker_storage_full(int ret)
{
	return ret == -ENOSPC || ret == -EDQUOT || ret == -EROFS || ret == -EIO;
}

enum MHD_Result broker_reply_write_failed(struct broker_req *req, int ret,
					  const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!broker_storage_full(ret))
		return broker_reply_error(req, BROKER_INTERNAL, NULL, "%s", msg);
	req->retry_after = STORAGE_RETRY_S;
	return broker_reply_error(req, BROKER_STORAGE_UNAVAILABLE, NULL,
				  "%s; changes are refused until the disk takes "
				  "them again, reads are served", msg);
}

enum MHD_Result broker_reply_no_content(struct broker_req *req)
{
	return broker_reply(req, MHD_HTTP_NO_CONTENT,
			    MHD_create_response_from_buffer(0, NULL,
							    MHD_RESPMEM_PERSISTENT));
}

bool broker_req_is_json(struct broker_req *req)
{
	const char *ct = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_TYPE);
	static const char json[] = "application/json";

	return ct && !strncasecmp(ct, json, sizeof(json) - 1) &&
	       strchr("; \t", ct[sizeof(json) - 1]);
}

enum MHD_Result broker_reply_unavailable(struct broker_req *req)
{
	struct broker_backend *be = req->b->backend;

	return broker_reply_error(req, BROKER_UNAVAILABLE, NULL, "%s backend: %s",
				  be->ops->name, be->down);
}


bool broker_body_empty(struct broker_req *req, enum MHD_Result *reply)
{
	struct broker_err err = { 0 };
	char none;

	if (!req->body_len)
		return true;
	if (!broker_req_is_json(req))
		*reply = broker_reply_error(req, BROKER_UNSUPPORTED_MEDIA_TYPE,
					    NULL, "a body must be application/json");
	else if (bj_parse(req->body, req->body_len, bj_no_fields, &none,
			  sizeof(none), "body", &err))
		*reply = broker_reply_error(req, BROKER_BAD_REQUEST, err.field,
					    "%s", err.msg);
	else
		return true;
	return false;
}

/*
 * RFC 9110 §13.1.1: "*" matches any current representation; otherwise a
 * list of entity tags, one of which must match, by strong comparison (a
 * weak tag, W/"...", never does).
 */
bool broker_if_match_ok(struct broker_req *req, bool exists, uint64_t gen)
{
	const char *h = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_IF_MATCH);
	char tag[32];
	size_t n;

	if (!h)
		return true;
	h += strspn(h, " \t");
	if (*h == '*' && !h[1 + strspn(h + 1, " \t")])
		return exists;
	if (!exists)
		return false;
	n = snprintf(tag, sizeof(tag), "\"%llu\"", (unsigned long long)gen);
	for (const char *p = h; *p; ) {
		size_t len;

		p += strspn(p, " \t,");
		len = strcspn(p, ",");
		while (len && strchr(" \t", p[len - 1]))
			len--;
		if (len == n && !memcmp(p, tag, n))
			return true;
		p += strcspn(p, ",");
	}
	return false;
}
