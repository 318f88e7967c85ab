// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * /v1/policy: the stored policy (get, put, delete), a dry-run plan of it
 * or of another document, and its application on request; the policy's
 * generation is its ETag.
 *
 * May call: http/ (replies), core/ (the policy engine, reconciliation),
 * rest.c, policy/, base/.
 */
#define _GNU_SOURCE
#include "base/log.h"
#include "core/broker.h"
#include "core/policy.h"
#include "core/reconcile.h"
#include "http/reply.h"
#include "rest/rest.h"
#include "rest/routes.h"

/* The plan as the API shows it: its steps, and the quotas it plans. */
static json_t *plan_json(const struct vacp_policy *pol,
			 const struct vacp_plan *plan, const struct broker_view *v)
{
	json_t *steps = json_array(), *quotas = json_object();

	for (size_t i = 0; i < plan->n_steps; i++) {
		const struct vacp_step *s = &plan->steps[i];

		json_array_append_new(steps, json_pack("{s:s, s:s, s:I, s:I}",
			"instance", s->instance, "kind", vacp_kind_name(s->kind),
			"from", (json_int_t)s->from, "to", (json_int_t)s->to));
	}
	for (size_t i = 0; i < v->n; i++) {
		json_t *q = json_object();

		for (int k = 0; k < VACP_NR_KINDS; k++)
			if (pol->kind[k].present)
				json_object_set_new(q, vacp_kind_name(k),
						    json_integer(plan->quota[i][k]));
		json_object_set_new(quotas, v->vi[i].name, q);
	}
	return json_pack("{s:o, s:o}", "steps", steps, "quotas", quotas);
}

static enum MHD_Result reply_infeasible(struct broker_req *req,
					const struct vacp_err *perr)
{
	return broker_reply_error(req, BROKER_CONFLICT, NULL,
				  "the policy cannot be met: %s (kind %s, instance %s, constraint %s)",
				  perr->msg,
				  perr->kind >= 0 ? vacp_kind_name(perr->kind) : "-",
				  perr->instance[0] ? perr->instance : "-",
				  perr->constraint ? perr->constraint : "-");
}

static enum MHD_Result policy_precondition(struct broker_req *req)
{
	return broker_reply_error(req, BROKER_PRECONDITION_FAILED, NULL,
				  "If-Match does not match: the policy is at generation \"%llu\"%s",
				  (unsigned long long)req->b->policy->generation,
				  req->b->policy->doc ? "" : " (none stored)");
}

static enum MHD_Result policy_get(struct broker_req *req)
{
	struct broker_policy *p = req->b->policy;

	req->has_etag = true;
	req->etag = p->generation;
	return broker_reply_json(req, MHD_HTTP_OK,
		json_pack("{s:O?, s:I}", "policy", p->doc,
			  "generation", (json_int_t)p->generation));
}

/*
 * Plan @pol and apply it: the reply of PUT and of apply, with the
 * policy's generation as ETag.
 */
static enum MHD_Result plan_and_apply(struct broker_req *req,
				      const struct vacp_policy *pol,
				      struct broker_view *v, struct vacp_plan *plan)
{
	struct broker_policy *p = req->b->policy;
	json_t *errors, *pj;

	errors = broker_policy_apply(req->b, pol, plan, v);
	pj = plan_json(pol, plan, v);
	vacp_plan_free(plan);
	broker_view_free(v);
	broker_reconcile(req->b);
	req->has_etag = true;
	req->etag = p->generation;
	return broker_reply_json(req, MHD_HTTP_OK,
		json_pack("{s:I, s:o, s:b, s:o}",
			  "generation", (json_int_t)p->generation, "plan", pj,
			  "applied", errors && !json_array_size(errors),
			  "errors", errors ? errors : json_array()));
}

static enum MHD_Result policy_put(struct broker_req *req)
{
	struct broker_policy *p = req->b->policy;
	struct vacp_policy *pol = NULL;
	struct vacp_plan *plan = NULL;
	json_t *doc;
	struct broker_err err = { 0 };
	struct vacp_err perr;
	struct broker_view v;
	int ret;

	if (!broker_rest_unscoped(req, "the policy"))
		return MHD_YES;
	if (!broker_if_match_ok(req, p->doc, p->generation))
		return policy_precondition(req);
	if (!broker_req_is_json(req))
		return broker_reply_error(req, BROKER_UNSUPPORTED_MEDIA_TYPE, NULL,
					  "the body must be application/json");
	ret = vacp_policy_parse(req->body ? req->body : "", req->body_len,
				&pol, &perr);
	if (ret == -ENOMEM)
		return MHD_NO;
	if (ret)
		return broker_rest_invalid(req, "policy", &perr);
	ret = broker_policy_plan(req->b, pol, &v, &plan, &perr);
	if (ret) {
		vacp_policy_free(pol);
		return ret == -ERANGE ? reply_infeasible(req, &perr) :
					broker_rest_backend_failed(req, ret);
	}
	doc = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
	ret = doc ? broker_policy_commit(req->b, doc, pol, &err) : -ENOMEM;
	if (ret) {
		json_decref(doc);
		vacp_plan_free(plan);
		broker_view_free(&v);
		vacp_policy_free(pol);
		broker_log(LOG_ERR, "policy: %s", err.msg);
		return broker_reply_write_failed(req, ret,
			"cannot record the policy: %s", err.msg);
	}
	broker_log(LOG_INFO, "policy: generation %llu stored; %zu steps",
		   (unsigned long long)p->generation, plan->n_steps);
	return plan_and_apply(req, pol, &v, plan);
}

static enum MHD_Result policy_delete(struct broker_req *req)
{
	struct broker_policy *p = req->b->policy;
	struct broker_err err = { 0 };
	int ret;

	if (!broker_rest_unscoped(req, "the policy"))
		return MHD_YES;
	if (!broker_if_match_ok(req, p->doc, p->generation))
		return policy_precondition(req);
	if (!p->doc)
		return broker_reply_no_content(req);
	ret = broker_policy_commit(req->b, NULL, NULL, &err);
	if (ret) {
		broker_log(LOG_ERR, "policy: %s", err.msg);
		return broker_reply_write_failed(req, ret,
			"cannot record the policy's removal: %s", err.msg);
	}
	broker_log(LOG_INFO, "policy: deleted (generation %llu); quotas stay",
		   (unsigned long long)p->generation);
	return broker_reply_no_content(req);
}

static enum MHD_Result policy_plan(struct broker_req *req)
{
	struct broker_policy *p = req->b->policy;
	struct vacp_policy *cand = NULL;
	const struct vacp_policy *pol = p->pol;
	struct vacp_plan *plan = NULL;
	struct vacp_err perr;
	struct broker_view v;
	json_t *pj;
	int ret;

	if (req->body_len) {
		if (!broker_req_is_json(req))
			return broker_reply_error(req, BROKER_UNSUPPORTED_MEDIA_TYPE,
						  NULL, "a body must be application/json");
		ret = vacp_policy_parse(req->body, req->body_len, &cand, &perr);
		if (ret == -ENOMEM)
			return MHD_NO;
		if (ret)
			return broker_rest_invalid(req, "policy", &perr);
		pol = cand;
	} else if (!pol) {
		return broker_reply_error(req, BROKER_NOT_FOUND, NULL,
					  "no policy is stored; send one to plan it");
	}
	ret = broker_policy_plan(req->b, pol, &v, &plan, &perr);
	if (ret) {
		vacp_policy_free(cand);
		return ret == -ERANGE ? reply_infeasible(req, &perr) :
					broker_rest_backend_failed(req, ret);
	}
	pj = plan_json(pol, plan, &v);
	vacp_plan_free(plan);
	broker_view_free(&v);
	vacp_policy_free(cand);
	return broker_reply_json(req, MHD_HTTP_OK, json_pack("{s:o}", "plan", pj));
}

static enum MHD_Result policy_apply(struct broker_req *req)
{
	struct broker_policy *p = req->b->policy;
	struct vacp_plan *plan = NULL;
	struct vacp_err perr;
	enum MHD_Result reply;
	struct broker_view v;
	int ret;

	if (!broker_rest_unscoped(req, "the policy"))
		return MHD_YES;
	if (!broker_body_empty(req, &reply))
		return reply;
	if (!p->pol)
		return broker_reply_error(req, BROKER_NOT_FOUND, NULL,
					  "no policy is stored");
	ret = broker_policy_plan(req->b, p->pol, &v, &plan, &perr);
	if (ret)
		return ret == -ERANGE ? reply_infeasible(req, &perr) :
					broker_rest_backend_failed(req, ret);
	broker_log(LOG_INFO, "policy: applied on request; %zu steps",
		   plan->n_steps);
	return plan_and_apply(req, p->pol, &v, plan);
}

static const struct broker_route policy_routes[] = {
	{ "GET",    "/v1/policy",       policy_get, 0, BROKER_ROLE_VIEWER },
	{ "PUT",    "/v1/policy",       policy_put, BROKER_ROUTE_BACKEND,
	  BROKER_ROLE_ADMIN },
	{ "DELETE", "/v1/policy",       policy_delete, 0, BROKER_ROLE_ADMIN },
	/* A dry run: served, and not audited, while the disk is full. */
	{ "POST",   "/v1/policy/plan",  policy_plan,
	  BROKER_ROUTE_BACKEND | BROKER_ROUTE_NO_CHANGE, BROKER_ROLE_VIEWER },
	{ "POST",   "/v1/policy/apply", policy_apply, BROKER_ROUTE_BACKEND,
	  BROKER_ROLE_ADMIN },
};

const struct broker_routes broker_policy_routes = BROKER_ROUTES(policy_routes);
