/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Replies (see reply.c): JSON, text, no content, and the one error
 * envelope with its table of stable codes; and what handlers ask of a
 * request before they answer it (its Content-Type, an empty body, its
 * If-Match).
 */
#ifndef BROKER_REPLY_H
#define BROKER_REPLY_H

#include "http/request.h"

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
	BROKER_STORAGE_UNAVAILABLE,
	BROKER_NOT_IMPLEMENTED,
};

/* Queue @resp with @status, counted by status; @resp is released. */
enum MHD_Result broker_reply(struct broker_req *req, unsigned int status,
			     struct MHD_Response *resp);
/* @body is consumed; NULL (out of memory) is an internal error. */
enum MHD_Result broker_reply_json(struct broker_req *req, unsigned int status,
				  json_t *body);
enum MHD_Result broker_reply_text(struct broker_req *req, unsigned int status,
				  const char *content_type, char *text,
				  size_t len);
/* 204, no body. */
enum MHD_Result broker_reply_no_content(struct broker_req *req);
/* The error envelope: {"error":{"code","message","field"?}}. */
enum MHD_Result broker_reply_error(struct broker_req *req,
				   enum broker_code code, const char *field,
				   const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * A write of the state directory or of the audit log failed with @ret
 * (-errno): a disk that is full, over quota, read-only or failing
 * (ENOSPC, EDQUOT, EROFS, EIO) is 503 storage_unavailable with a
 * Retry-After, since the client may retry once the operator has made
 * room; anything else is 500 internal.  The message is "@fmt: errno".
 */
enum MHD_Result broker_reply_write_failed(struct broker_req *req, int ret,
					  const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Does -errno @ret say that the disk cannot take the write now? */
bool broker_storage_full(int ret);

/* 503: the backend cannot serve, and why. */
enum MHD_Result broker_reply_unavailable(struct broker_req *req);

/* Is the body declared as JSON (Content-Type: application/json)? */
bool broker_req_is_json(struct broker_req *req);

/*
 * A body that may only be empty or {}: true when it is; otherwise the
 * error is answered and *@reply is the handler's result.
 */
bool broker_body_empty(struct broker_req *req, enum MHD_Result *reply);

/*
 * The request's If-Match, if any, against a resource: "*" matches one
 * that @exists, else its quoted generation @gen.
 */
bool broker_if_match_ok(struct broker_req *req, bool exists, uint64_t gen);

#endif /* BROKER_REPLY_H */
