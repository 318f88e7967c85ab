// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * /v1/tokens: list, create and revoke bearer tokens (admin, unscoped).
 * A created token's secret is in the reply only, once.
 *
 * May call: http/ (the token store, replies), base/.
 */
#define _GNU_SOURCE
#include "base/log.h"
#include "http/reply.h"
#include "http/tokens.h"
#include "rest/routes.h"

static enum MHD_Result tokens_get(struct broker_req *req)
{
	return broker_reply_json(req, MHD_HTTP_OK, broker_tokens_list(req->tokens));
}

static enum MHD_Result tokens_post(struct broker_req *req)
{
	struct broker_err err = { 0 };
	struct broker_token t = { 0 };
	json_t *view;
	int ret;

	if (!broker_req_is_json(req))
		return broker_reply_error(req, BROKER_UNSUPPORTED_MEDIA_TYPE, NULL,
					  "the body must be application/json");
	ret = broker_tokens_parse(req->body ? req->body : "", req->body_len, &t,
				  &err);
	if (ret == -ENOMEM)
		return MHD_NO;
	if (ret)
		return broker_reply_error(req, BROKER_BAD_REQUEST, err.field,
					  "%s", err.msg);
	ret = broker_tokens_create(req->tokens, &t, &view, &err);
	if (ret) {
		free(t.insts);
		if (ret == -EUSERS || ret == -EEXIST)
			return broker_reply_error(req, BROKER_CONFLICT, err.field,
						  "%s", err.msg);
		broker_log(LOG_ERR, "creating token %s: %s", t.name, err.msg);
		return broker_reply_write_failed(req, ret, "cannot record the "
						 "token: %s", err.msg);
	}
	broker_log(LOG_NOTICE, "token %s (%s, %s) created", t.id, t.name,
		   broker_role_name(t.role));
	return broker_reply_json(req, MHD_HTTP_CREATED, view);
}

static enum MHD_Result token_delete(struct broker_req *req)
{
	struct broker_err err = { 0 };
	int ret = broker_tokens_revoke(req->tokens, req->param, &err);

	if (ret == -ENOENT)
		return broker_reply_error(req, BROKER_NOT_FOUND, NULL,
					  "no token %s", req->param);
	if (ret) {
		broker_log(LOG_ERR, "revoking token %s: %s", req->param, err.msg);
		return broker_reply_write_failed(req, ret, "cannot record the "
						 "revocation: %s", err.msg);
	}
	broker_log(LOG_NOTICE, "token %s revoked", req->param);
	return broker_reply_no_content(req);
}

static const struct broker_route routes[] = {
	{ "GET",    "/v1/tokens",        tokens_get, BROKER_ROUTE_UNSCOPED,
	  BROKER_ROLE_ADMIN },
	{ "POST",   "/v1/tokens",        tokens_post, BROKER_ROUTE_UNSCOPED,
	  BROKER_ROLE_ADMIN },
	{ "DELETE", "/v1/tokens/{name}", token_delete, BROKER_ROUTE_UNSCOPED,
	  BROKER_ROLE_ADMIN },
};

const struct broker_routes broker_tokens_routes = BROKER_ROUTES(routes);
