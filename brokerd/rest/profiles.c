// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * /v1/profiles: named bundles of quotas and KVM module parameters (list,
 * get, put, delete), and /v1/instances/{name}/profile: one applied to an
 * instance (its quotas set, its parameters written), and the drift
 * report of the one last applied.
 *
 * May call: http/ (replies), core/ (profiles, instances, reconciliation),
 * rest.c, policy/, base/.
 */
#define _GNU_SOURCE
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "core/backend.h"
#include "core/broker.h"
#include "core/instances.h"
#include "core/profiles.h"
#include "core/reconcile.h"
#include "http/reply.h"
#include "rest/rest.h"
#include "rest/routes.h"

#define PROFILES_MAX		256

/* ---- /v1/profiles ---- */

static json_t *profile_reply(const char *name, json_t *stored)
{
	return json_pack("{s:s, s:O, s:O}", "name", name,
			 "quotas", json_object_get(stored, "quotas"),
			 "params", json_object_get(stored, "params"));
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static enum MHD_Result profiles_get(struct broker_req *req)
{
	json_t *profiles = req->b->profiles->profiles, *list, *v;
	_cleanup_free_ const char **names = NULL;
	const char *name;
	size_t n = 0;

	names = calloc(json_object_size(profiles) + 1, sizeof(*names));
	list = json_array();
	if (!names || !list) {
		json_decref(list);
		return MHD_NO;
	}
	json_object_foreach(profiles, name, v)
		names[n++] = name;
	qsort(names, n, sizeof(*names), str_cmp);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, profile_reply(names[i],
				json_object_get(profiles, names[i])));
	return broker_reply_json(req, MHD_HTTP_OK,
				 json_pack("{s:o}", "profiles", list));
}

static enum MHD_Result no_profile(struct broker_req *req, const char *name,
				  const char *field)
{
	return broker_reply_error(req, BROKER_NOT_FOUND, field,
				  "no profile named %s", name);
}

static enum MHD_Result profile_get(struct broker_req *req)
{
	json_t *stored = json_object_get(req->b->profiles->profiles, req->param);

	if (!stored)
		return no_profile(req, req->param, NULL);
	return broker_reply_json(req, MHD_HTTP_OK,
				 profile_reply(req->param, stored));
}

static enum MHD_Result profile_put(struct broker_req *req)
{
	struct broker_profiles *p = req->b->profiles;
	_cleanup_json_ json_t *next = NULL;
	struct vacp_profile *pr = NULL;
	struct broker_err err = { 0 };
	struct vacp_err perr;
	json_t *stored;
	bool created;
	int ret;

	if (!broker_rest_unscoped(req, "profiles"))
		return MHD_YES;
	if (!broker_req_is_json(req))
		return broker_reply_error(req, BROKER_UNSUPPORTED_MEDIA_TYPE, NULL,
					  "the body must be application/json");
	ret = vacp_profile_parse(req->body ? req->body : "", req->body_len,
				 &pr, &perr);
	if (ret == -ENOMEM)
		return MHD_NO;
	if (ret)
		return broker_rest_invalid(req, "profile", &perr);
	created = !json_object_get(p->profiles, req->param);
	stored = broker_profile_stored(pr);
	vacp_profile_free(pr);
	next = json_deep_copy(p->profiles);
	if (!stored || !next || json_object_set_new(next, req->param, stored))
		return MHD_NO;
	if (json_object_size(next) > PROFILES_MAX)
		return broker_reply_error(req, BROKER_CONFLICT, NULL,
					  "too many profiles (at most %d)",
					  PROFILES_MAX);
	ret = broker_profiles_commit(req->b, next, p->applied, &err);
	if (ret) {
		broker_log(LOG_ERR, "profile %s: %s", req->param, err.msg);
		return broker_reply_write_failed(req, ret,
			"cannot record the profile: %s", err.msg);
	}
	broker_log(LOG_INFO, "profile %s %s", req->param,
		   created ? "created" : "replaced");
	return broker_reply_json(req, created ? MHD_HTTP_CREATED : MHD_HTTP_OK,
		profile_reply(req->param, json_object_get(p->profiles, req->param)));
}

static enum MHD_Result profile_delete(struct broker_req *req)
{
	struct broker_profiles *p = req->b->profiles;
	_cleanup_json_ json_t *next = NULL;
	struct broker_err err = { 0 };
	int ret;

	if (!broker_rest_unscoped(req, "profiles"))
		return MHD_YES;
	if (!json_object_get(p->profiles, req->param))
		return no_profile(req, req->param, NULL);
	next = json_deep_copy(p->profiles);
	if (!next || json_object_del(next, req->param))
		return MHD_NO;
	ret = broker_profiles_commit(req->b, next, p->applied, &err);
	if (ret) {
		broker_log(LOG_ERR, "profile %s: %s", req->param, err.msg);
		return broker_reply_write_failed(req, ret,
			"cannot record the profile's removal: %s", err.msg);
	}
	broker_log(LOG_INFO, "profile %s deleted", req->param);
	return broker_reply_no_content(req);
}

/* ---- /v1/instances/{name}/profile ---- */

static const struct bj_field apply_fields[] = {
	{ .name = "profile", .type = BJ_STRING, .required = true,
	  .size = VAC_NAME_LEN },
	{ NULL }
};

/* The instance's quotas as the profile gives them, made desired. */
static enum MHD_Result profile_quotas(struct broker_req *req,
				      const struct vacp_profile *pr,
				      bool *done)
{
	struct broker *b = req->b;
	struct broker_backend *be = b->backend;
	struct vac_quota q[VAC_NR_RESOURCES];
	struct broker_inst *d = broker_store_find(&b->store, req->param);
	struct broker_inst next;
	struct broker_err err = { 0 };
	struct vac_instance_info in;
	size_t n = 0;
	int ret;

	*done = false;
	ret = be->ops->instance_get(be, req->param, &in);
	if (ret == -ENOENT && !d)
		return broker_reply_error(req, BROKER_NOT_FOUND, NULL,
					  "instance %s: no such instance", req->param);
	if (ret && ret != -ENOENT)
		return broker_rest_backend_failed(req, ret);
	for (int k = 0; k < VACP_NR_KINDS; k++)
		if (pr->has_quota[k])
			q[n++] = (struct vac_quota){ k, pr->quota[k] };
	if (!n) {
		*done = true;
		return MHD_YES;
	}
	if (ret)
		return broker_reply_error(req, BROKER_CONFLICT, NULL,
					  "instance %s is not in the %s backend: %s",
					  req->param, be->ops->name,
					  d->undeclared[0] ? d->undeclared :
					  "not declared yet");
	ret = be->ops->quota_set(be, req->param, q, n, false);
	if (ret == -ENOTCONN)
		return broker_reply_unavailable(req);
	if (ret)
		return broker_reply_error(req, BROKER_CONFLICT,
					  be->err_kind >= 0 ? "quotas" : NULL,
					  "the profile's quotas: %s",
					  be->errmsg[0] ? be->errmsg : strerror(-ret));
	ret = broker_record_quotas(b, req->param, d, q, n, &in, &next, &err);
	if (ret)
		return broker_reply_write_failed(req, ret,
			"cannot record the desired state: %s", err.msg);
	*done = true;
	return MHD_YES;
}

static enum MHD_Result instance_profile_post(struct broker_req *req)
{
	struct broker *b = req->b;
	struct broker_profiles *p = b->profiles;
	struct { char profile[VAC_NAME_LEN]; } body = { "" };
	_cleanup_json_ json_t *applied = NULL, *report = NULL;
	struct vacp_profile *pr = NULL;
	struct broker_err err = { 0 };
	struct vacp_err perr;
	enum MHD_Result r;
	json_t *stored;
	bool done;
	int ret;

	if (!broker_req_is_json(req))
		return broker_reply_error(req, BROKER_UNSUPPORTED_MEDIA_TYPE, NULL,
					  "the body must be application/json");
	if (bj_parse(req->body ? req->body : "", req->body_len, apply_fields,
		     &body, sizeof(body), "body", &err))
		return broker_reply_error(req, BROKER_BAD_REQUEST, err.field,
					  "%s", err.msg);
	stored = json_object_get(p->profiles, body.profile);
	if (!stored)
		return no_profile(req, body.profile, "profile");
	if (broker_profile_parse(stored, &pr, &perr))
		return broker_reply_error(req, BROKER_INTERNAL, NULL,
					  "stored profile %s: %s", body.profile,
					  perr.msg);
	r = profile_quotas(req, pr, &done);
	if (!done) {
		vacp_profile_free(pr);
		return r;
	}
	report = broker_profile_report(b, req->param, body.profile, pr, true, &err);
	applied = json_deep_copy(p->applied);
	if (report && applied)
		json_object_set_new(applied, req->param, json_pack("{s:s, s:O}",
			"profile", body.profile,
			"params", json_object_get(stored, "params")));
	vacp_profile_free(pr);
	ret = report && applied ?
	      broker_profiles_commit(b, p->profiles, applied, &err) : -ENOMEM;
	if (ret) {
		broker_log(LOG_ERR, "profile %s on %s: %s", body.profile,
			   req->param, err.msg);
		broker_reconcile(b);
		return broker_reply_write_failed(req, ret,
			"profile %s on instance %s: quotas set, but %s",
			body.profile, req->param,
			err.msg[0] ? err.msg : "out of memory");
	}
	broker_log(LOG_INFO, "profile %s applied to instance %s", body.profile,
		   req->param);
	broker_reconcile(b);
	r = broker_reply_json(req, MHD_HTTP_OK, report);
	report = NULL;
	return r;
}

static enum MHD_Result instance_profile_get(struct broker_req *req)
{
	json_t *a = json_object_get(req->b->profiles->applied, req->param);
	_cleanup_json_ json_t *doc = NULL;
	struct vacp_profile *pr = NULL;
	struct broker_err err = { 0 };
	struct vacp_err perr;
	json_t *report;

	if (!a)
		return broker_reply_error(req, BROKER_NOT_FOUND, NULL,
					  "no profile was applied to instance %s",
					  req->param);
	doc = json_pack("{s:O}", "params", json_object_get(a, "params"));
	if (!doc || broker_profile_parse(doc, &pr, &perr))
		return broker_reply_error(req, BROKER_INTERNAL, NULL,
					  "instance %s: its applied profile: %s", req->param,
					  doc ? perr.msg : "out of memory");
	report = broker_profile_report(req->b, req->param,
				json_string_value(json_object_get(a, "profile")),
				pr, false, &err);
	vacp_profile_free(pr);
	if (!report)
		return broker_reply_error(req, BROKER_INTERNAL, NULL,
					  "instance %s: %s", req->param, err.msg);
	return broker_reply_json(req, MHD_HTTP_OK, report);
}

static const struct broker_route profiles_routes[] = {
	{ "GET",    "/v1/instances/{name}/profile", instance_profile_get, 0,
	  BROKER_ROLE_VIEWER },
	{ "POST",   "/v1/instances/{name}/profile", instance_profile_post,
	  BROKER_ROUTE_BACKEND | BROKER_ROUTE_SCOPED, BROKER_ROLE_OPERATOR },
	{ "GET",    "/v1/profiles",        profiles_get, 0, BROKER_ROLE_VIEWER },
	{ "GET",    "/v1/profiles/{name}", profile_get, 0, BROKER_ROLE_VIEWER },
	{ "PUT",    "/v1/profiles/{name}", profile_put, 0, BROKER_ROLE_ADMIN },
	{ "DELETE", "/v1/profiles/{name}", profile_delete, 0, BROKER_ROLE_ADMIN },
};

const struct broker_routes broker_profiles_routes = BROKER_ROUTES(profiles_routes);
