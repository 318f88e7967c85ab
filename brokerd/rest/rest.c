// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * What several resources answer alike: a failed backend call as HTTP, a
 * document the policy library refuses (422), a host-wide change a scoped
 * token may not make.
 *
 * May call: http/ (replies), core/ (the backend's reason), policy/ (its
 * errors).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "core/backend.h"
#include "core/broker.h"
#include "http/reply.h"
#include "rest/rest.h"

#define MHD_HTTP_UNPROCESSABLE	422

enum MHD_Result broker_rest_backend_error(struct broker_req *req, int ret,
					  const char *field)
{
	struct broker_backend *be = req->b->backend;
	const char *why = be->errmsg[0] ? be->errmsg : strerror(-ret);

	switch (ret) {
	case -ENOENT:
		return broker_reply_error(req, BROKER_NOT_FOUND, NULL,
					  "instance %s: %s", req->param, why);
	case -EEXIST:
	case -EBUSY:
	case -ENOSPC:
	case -EDQUOT:
		return broker_reply_error(req, BROKER_CONFLICT, field, "%s", why);
	case -EINVAL:
	case -ERANGE:
		return broker_reply_error(req, BROKER_BAD_REQUEST,
					  field ? field : "name", "%s", why);
	case -ENOTCONN:
		return broker_reply_unavailable(req);
	default:
		return broker_reply_error(req, BROKER_INTERNAL, NULL,
					  "%s backend: %s", be->ops->name, why);
	}
}

enum MHD_Result broker_rest_backend_failed(struct broker_req *req, int ret)
{
	struct broker_backend *be = req->b->backend;

	if (ret == -ENOTCONN)
		return broker_reply_unavailable(req);
	return broker_reply_error(req, BROKER_INTERNAL, NULL, "%s backend: %s",
				  be->ops->name,
				  be->errmsg[0] ? be->errmsg : strerror(-ret));
}

enum MHD_Result broker_rest_invalid(struct broker_req *req, const char *what,
				    const struct vacp_err *perr)
{
	char msg[400];
	json_t *e;

	snprintf(msg, sizeof(msg), "invalid %s: %s", what, perr->msg);
	e = json_pack("{s:s, s:s}", "code", "unprocessable", "message", msg);
	if (e && perr->path[0])
		json_object_set_new(e, "field", json_string(perr->path));
	return broker_reply_json(req, MHD_HTTP_UNPROCESSABLE,
				 e ? json_pack("{s:o}", "error", e) : NULL);
}

bool broker_rest_unscoped(struct broker_req *req, const char *what)
{
	if (!req->who.scoped)
		return true;
	broker_reply_error(req, BROKER_FORBIDDEN, NULL,
			   "a token scoped to instances cannot change %s", what);
	return false;
}
