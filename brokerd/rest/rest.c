// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * What several resources answer alike: a failed backend call as HTTP.
 *
 * May call: http/ (replies), core/ (the backend's reason).
 */
#define _GNU_SOURCE
#include <string.h>

#include "core/backend.h"
#include "core/broker.h"
#include "http/reply.h"
#include "rest/rest.h"

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
