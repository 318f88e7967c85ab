// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The quota policy and the parameter profiles.
 *
 * policy.json holds the policy document as it was given, with its own
 * generation:  {"version": 1, "generation": 3, "policy": {...} | null}.
 * A policy is planned (policy/) against the backend's capacity and
 * instances, and applied step by step, shrinks before grows, through the
 * backend's quota_set; the planned quotas become the instances' desired
 * quotas (desired.json), so reconciliation keeps them.  The plan is made
 * again whenever the backend's instances change (one registers,
 * unregisters, is declared or deleted), whoever changed them.
 *
 * profiles.json holds the profiles and, per instance, the profile last
 * applied to it (a copy of its parameters, for the drift check):
 *   {"version": 1, "profiles": {"canary": {"quotas": {..}, "params": {..}}},
 *    "applied": {"kvm_b": {"profile": "canary", "params": {..}}}}
 * Applying a profile sets the instance's quotas, writes its runtime
 * parameters to <sysfs_module_root>/<instance>/parameters/<name> and
 * renders the load-time ones (file read-only or absent) as
 * "options <instance> name=value" into <modprobe_dir>/vac-<instance>.conf.
 *
 * Both files are replaced atomically (broker_store_write); a change that
 * cannot be written leaves the daemon's view as it was.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/json.h"
#include "core/backend.h"
#include "core/broker.h"
#include "core/instances.h"
#include "core/policy.h"
#include "core/reconcile.h"
#include "http/reply.h"
#include "rest/routes.h"
#include "vac_policy.h"
#include "vac_profile.h"

#define FILE_VERSION		1
#define FILE_MAX_BYTES		(4u << 20)
#define PROFILES_MAX		256
#define MHD_HTTP_UNPROCESSABLE	422

struct broker_policy {
	uint64_t generation;
	json_t *doc;			/* the stored policy, or NULL */
	struct vacp_policy *pol;	/* doc, parsed */
	char *seen;			/* the instances at the last plan */
	char failed[256];		/* the last re-plan's failure, logged */
	json_t *profiles;		/* name -> {"quotas", "params"} */
	json_t *applied;		/* instance -> {"profile", "params"} */
};

/* ---- files ---- */

static char *dump(json_t *j)
{
	return j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
}

static int policy_of(json_t *doc, struct vacp_policy **out,
		     struct vacp_err *perr)
{
	_cleanup_free_ char *text = dump(doc);

	if (!text)
		return -ENOMEM;
	return vacp_policy_parse(text, strlen(text), out, perr);
}

static int profile_of(json_t *doc, struct vacp_profile **out,
		      struct vacp_err *perr)
{
	_cleanup_free_ char *text = dump(doc);

	if (!text)
		return -ENOMEM;
	return vacp_profile_parse(text, strlen(text), out, perr);
}

/* A profile as stored: only what it gives. */
static json_t *profile_json(const struct vacp_profile *pr)
{
	json_t *q = json_object(), *params = json_object();

	for (int k = 0; k < VACP_NR_KINDS; k++)
		if (pr->has_quota[k])
			json_object_set_new(q, vacp_kind_name(k),
					    json_integer(pr->quota[k]));
	for (size_t i = 0; i < pr->n_params; i++)
		json_object_set_new(params, pr->params[i].name,
				    json_string(pr->params[i].value));
	return json_pack("{s:o, s:o}", "quotas", q, "params", params);
}

static int check_version(json_t *root, struct broker_err *err)
{
	json_t *v = json_object_get(root, "version");

	if (!json_is_integer(v) || json_integer_value(v) != FILE_VERSION) {
		broker_err_set(err, "version", "must be %d", FILE_VERSION);
		return -EINVAL;
	}
	return 0;
}

/* One of our state files as a versioned object; -ENOENT if absent. */
static int load_state_file(int dirfd, const char *file, json_t **root,
			   struct broker_err *err)
{
	int ret = bj_load_file(dirfd, file, FILE_MAX_BYTES, root, err);

	if (ret)
		return ret;
	if (!json_is_object(*root) || check_version(*root, err))
		return -EINVAL;
	return 0;
}

static int load_policy(struct broker_policy *p, int dirfd,
		       struct broker_err *err)
{
	_cleanup_json_ json_t *root = NULL;
	struct vacp_err perr;
	json_t *gen, *doc;
	int ret;

	ret = load_state_file(dirfd, BROKER_POLICY_FILE, &root, err);
	if (ret)
		return ret == -ENOENT ? 0 : ret;
	gen = json_object_get(root, "generation");
	doc = json_object_get(root, "policy");
	if (!json_is_integer(gen) || json_integer_value(gen) < 0) {
		broker_err_set(err, "generation", "must be a non-negative integer");
		return -EINVAL;
	}
	if (!json_is_null(doc)) {
		ret = doc ? policy_of(doc, &p->pol, &perr) : -EINVAL;
		if (ret == -ENOMEM)
			return ret;
		if (ret) {
			broker_err_set(err, "policy", "%s",
				       doc ? perr.msg : "missing");
			return ret;
		}
		p->doc = json_incref(doc);
	}
	p->generation = json_integer_value(gen);
	return 0;
}

static int load_profiles(struct broker_policy *p, int dirfd,
			 struct broker_err *err)
{
	_cleanup_json_ json_t *root = NULL;
	struct vacp_profile *pr;
	struct vacp_err perr;
	json_t *profiles, *applied, *v;
	const char *name;
	int ret;

	ret = load_state_file(dirfd, BROKER_PROFILES_FILE, &root, err);
	if (ret)
		return ret == -ENOENT ? 0 : ret;
	profiles = json_object_get(root, "profiles");
	applied = json_object_get(root, "applied");
	if (!json_is_object(profiles) || !json_is_object(applied)) {
		broker_err_set(err, NULL, "\"profiles\" and \"applied\" must be objects");
		return -EINVAL;
	}
	json_object_foreach(profiles, name, v) {
		ret = vac_name_ok(name) ? profile_of(v, &pr, &perr) : -EINVAL;
		if (ret == -ENOMEM)
			return ret;
		if (ret) {
			broker_err_set(err, "profiles", "%s: %s", name,
				       vac_name_ok(name) ? perr.msg :
				       "names match [a-z0-9_]{1,31}");
			return ret;
		}
		vacp_profile_free(pr);
	}
	json_object_foreach(applied, name, v) {
		json_t *params = json_object_get(v, "params");
		_cleanup_json_ json_t *doc = NULL;

		doc = json_pack("{s:O?}", "params", params);
		ret = vac_name_ok(name) && json_is_string(json_object_get(v, "profile")) &&
		      json_is_object(params) ? profile_of(doc, &pr, &perr) : -EINVAL;
		if (ret == -ENOMEM)
			return ret;
		if (ret) {
			broker_err_set(err, "applied", "%s: expected {\"profile\": NAME, "
				       "\"params\": {..}} of a valid instance name", name);
			return ret;
		}
		vacp_profile_free(pr);
	}
	p->profiles = json_incref(profiles);
	p->applied = json_incref(applied);
	return 0;
}

int broker_policy_open(struct broker *b, struct broker_err *err)
{
	struct broker_policy *p = calloc(1, sizeof(*p));
	struct broker_err why = { 0 };
	char text[sizeof(why.field) + sizeof(why.msg)];
	const char *file = BROKER_POLICY_FILE;
	int ret;

	if (!p)
		return -ENOMEM;
	ret = load_policy(p, b->store.dirfd, &why);
	if (!ret) {
		file = BROKER_PROFILES_FILE;
		ret = load_profiles(p, b->store.dirfd, &why);
	}
	if (!ret && !p->profiles) {
		p->profiles = json_object();
		p->applied = json_object();
		if (!p->profiles || !p->applied)
			ret = -ENOMEM;
	}
	if (ret) {
		broker_err_set(err, why.field, "%s/%s: %s", b->cfg.state_dir, file,
			       ret == -ENOMEM ? "out of memory" :
			       broker_err_text(&why, text, sizeof(text)));
		broker_policy_free(p);
		return ret;
	}
	b->policy = p;
	return 0;
}

void broker_policy_free(struct broker_policy *p)
{
	if (!p)
		return;
	json_decref(p->doc);
	vacp_policy_free(p->pol);
	free(p->seen);
	json_decref(p->profiles);
	json_decref(p->applied);
	free(p);
}

static int write_json(struct broker *b, const char *name, json_t *root,
		      struct broker_err *err)
{
	_cleanup_free_ char *text = NULL;

	text = root ? json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	if (!text) {
		broker_err_set(err, NULL, "%s: out of memory", name);
		return -ENOMEM;
	}
	return broker_store_write(b->store.dirfd, name, text, err);
}

static int save_policy(struct broker *b, json_t *doc, uint64_t generation,
		       struct broker_err *err)
{
	_cleanup_json_ json_t *root = NULL;

	root = json_pack("{s:i, s:I, s:O?}", "version", FILE_VERSION,
			 "generation", (json_int_t)generation, "policy", doc);
	return write_json(b, BROKER_POLICY_FILE, root, err);
}

static int save_profiles(struct broker *b, json_t *profiles, json_t *applied,
			 struct broker_err *err)
{
	_cleanup_json_ json_t *root = NULL;

	root = json_pack("{s:i, s:O, s:O}", "version", FILE_VERSION,
			 "profiles", profiles, "applied", applied);
	return write_json(b, BROKER_PROFILES_FILE, root, err);
}

/* ---- planning ---- */

/* The backend's instances, sorted by name, as the planner takes them. */
struct view {
	struct vac_instance_info *in;
	struct vacp_instance *vi;
	size_t n;
	uint32_t capacity[VACP_NR_KINDS];
};

static void view_free(struct view *v)
{
	free(v->in);
	free(v->vi);
}

static int info_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vac_instance_info *)a)->name,
		      ((const struct vac_instance_info *)b)->name);
}

static int view_take(struct broker_backend *be, struct view *v)
{
	struct vac_resource_info r[VAC_NR_RESOURCES];
	int ret;

	memset(v, 0, sizeof(*v));
	ret = be->ops->resources(be, r);
	if (!ret)
		ret = broker_instances_list(be, &v->in, &v->n);
	if (ret)
		return ret;
	qsort(v->in, v->n, sizeof(*v->in), info_cmp);
	v->vi = calloc(v->n + 1, sizeof(*v->vi));
	if (!v->vi) {
		view_free(v);
		return -ENOMEM;
	}
	for (int k = 0; k < VACP_NR_KINDS; k++)
		v->capacity[k] = r[k].capacity;
	for (size_t i = 0; i < v->n; i++) {
		struct vacp_instance *x = &v->vi[i];

		x->name = v->in[i].name;
		x->online = v->in[i].state == VAC_INSTANCE_STATE_ONLINE;
		for (int k = 0; k < VACP_NR_KINDS; k++) {
			x->quota[k] = v->in[i].usage[k].quota;
			x->used[k] = v->in[i].usage[k].used;
		}
	}
	return 0;
}

/* "kvm_a+,kvm_b-,": who is there, online (+) or not. */
static char *view_signature(const struct view *v)
{
	char *s = malloc(v->n * (VAC_NAME_LEN + 2) + 1), *at = s;

	if (!s)
		return NULL;
	*at = 0;
	for (size_t i = 0; i < v->n; i++)
		at += sprintf(at, "%s%c,", v->vi[i].name,
			      v->vi[i].online ? '+' : '-');
	return s;
}

static json_t *plan_json(const struct vacp_policy *pol,
			 const struct vacp_plan *plan, const struct view *v)
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

/*
 * Apply @plan's steps in order, then make the planned quotas desired
 * (where a step was needed, or a desired value differs), so that
 * reconciliation keeps them.  Every step or record that fails is one
 * entry of the array returned (NULL: out of memory); nothing stops.
 */
static json_t *plan_apply(struct broker *b, const struct vacp_policy *pol,
			  const struct vacp_plan *plan, const struct view *v)
{
	struct broker_backend *be = b->backend;
	json_t *errors = json_array();
	struct broker_err err;

	for (size_t i = 0; errors && i < plan->n_steps; i++) {
		const struct vacp_step *s = &plan->steps[i];
		struct vac_quota q = { s->kind, s->to };
		const char *why;
		int ret;

		ret = be->ops->quota_set(be, s->instance, &q, 1, false);
		if (ret) {
			why = be->errmsg[0] ? be->errmsg : strerror(-ret);
			broker_log(LOG_WARNING, "policy: %s: %s %u -> %u: %s",
				   s->instance, vacp_kind_name(s->kind), s->from,
				   s->to, why);
			json_array_append_new(errors, json_pack(
				"{s:s, s:s, s:I, s:I, s:s}", "instance", s->instance,
				"kind", vacp_kind_name(s->kind),
				"from", (json_int_t)s->from, "to", (json_int_t)s->to,
				"reason", why));
			continue;
		}
		broker_log(LOG_INFO, "policy: %s: %s %u -> %u", s->instance,
			   vacp_kind_name(s->kind), s->from, s->to);
	}
	for (size_t i = 0; errors && i < v->n; i++) {
		struct broker_inst *d = broker_store_find(&b->store, v->vi[i].name);
		struct broker_inst next = { 0 };
		bool changed = false;

		if (d)
			next = *d;
		else
			snprintf(next.name, sizeof(next.name), "%s", v->vi[i].name);
		for (int k = 0; k < VACP_NR_KINDS; k++) {
			struct bj_u32 *w = &next.want.kind[k];
			uint32_t to = plan->quota[i][k];

			if (!pol->kind[k].present ||
			    (w->set ? w->v == to : to == v->vi[i].quota[k]))
				continue;
			*w = (struct bj_u32){ to, true };
			changed = true;
		}
		if (changed && broker_store_put(&b->store, &next, &err)) {
			broker_log(LOG_ERR, "policy: %s: %s", next.name, err.msg);
			json_array_append_new(errors, json_pack("{s:s, s:s}",
				"instance", next.name, "reason", err.msg));
		}
	}
	return errors;
}

/* The backend could not give its state: 503 or 500 with its reason. */
static enum MHD_Result backend_failed(struct broker_req *req, int ret)
{
	struct broker_backend *be = req->b->backend;

	if (ret == -ENOTCONN)
		return broker_reply_unavailable(req);
	return broker_reply_error(req, BROKER_INTERNAL, NULL, "%s backend: %s",
				  be->ops->name,
				  be->errmsg[0] ? be->errmsg : strerror(-ret));
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

/* 422: the error envelope, with the JSON path of the bad value. */
static enum MHD_Result reply_invalid(struct broker_req *req,
				     const char *what,
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

/*
 * Plan @pol against the backend now.  0 with *@plan and @v; -ERANGE with
 * @perr when the policy cannot be met; another -errno from the backend
 * or the planner (@perr.msg then says why if it can).
 */
static int plan_now(struct broker *b, const struct vacp_policy *pol,
		    struct view *v, struct vacp_plan **plan,
		    struct vacp_err *perr)
{
	int ret = view_take(b->backend, v);

	memset(perr, 0, sizeof(*perr));
	perr->kind = -1;
	if (ret)
		return ret;
	ret = vacp_plan(pol, v->capacity, v->vi, v->n, plan, perr);
	if (ret)
		view_free(v);
	return ret;
}

int broker_policy_reconcile(struct broker *b)
{
	struct broker_policy *p = b->policy;
	struct broker_backend *be = b->backend;
	struct vacp_plan *plan = NULL;
	_cleanup_json_ json_t *errors = NULL;
	struct vacp_err perr;
	struct view v;
	char *sig;
	int ret, steps;

	if (!p || !p->pol || !be->ops->ready(be))
		return 0;
	if (view_take(be, &v))
		return 0;	/* the next event or retry tries again */
	sig = view_signature(&v);
	if (!sig || (p->seen && !strcmp(sig, p->seen))) {
		free(sig);
		view_free(&v);
		return 0;
	}
	free(p->seen);
	p->seen = sig;
	ret = vacp_plan(p->pol, v.capacity, v.vi, v.n, &plan, &perr);
	if (ret) {
		if (strcmp(p->failed, perr.msg))
			broker_log(LOG_WARNING, "policy: instances changed, but the "
				   "policy cannot be met: %s; quotas stay",
				   ret == -ERANGE ? perr.msg : strerror(-ret));
		snprintf(p->failed, sizeof(p->failed), "%s", perr.msg);
		view_free(&v);
		return 0;
	}
	p->failed[0] = 0;
	broker_log(LOG_INFO, "policy: instances changed; %zu steps planned",
		   plan->n_steps);
	errors = plan_apply(b, p->pol, plan, &v);
	steps = plan->n_steps;
	vacp_plan_free(plan);
	view_free(&v);
	return steps;
}

/* ---- /v1/policy ---- */

static enum MHD_Result policy_precondition(struct broker_req *req)
{
	return broker_reply_error(req, BROKER_PRECONDITION_FAILED, NULL,
				  "If-Match does not match: the policy is at generation \"%llu\"%s",
				  (unsigned long long)req->b->policy->generation,
				  req->b->policy->doc ? "" : " (none stored)");
}

/* The policy and the profiles are host-wide: not for a scoped token. */
static bool unscoped(struct broker_req *req, const char *what)
{
	if (!req->who.scoped)
		return true;
	broker_reply_error(req, BROKER_FORBIDDEN, NULL,
			   "a token scoped to instances cannot change %s", what);
	return false;
}

static enum MHD_Result reply_no_content(struct broker_req *req)
{
	return broker_reply(req, MHD_HTTP_NO_CONTENT,
			    MHD_create_response_from_buffer(0, NULL,
							    MHD_RESPMEM_PERSISTENT));
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
				      struct view *v, struct vacp_plan *plan)
{
	struct broker_policy *p = req->b->policy;
	json_t *errors, *pj;

	errors = plan_apply(req->b, pol, plan, v);
	pj = plan_json(pol, plan, v);
	free(p->seen);
	p->seen = view_signature(v);
	p->failed[0] = 0;
	vacp_plan_free(plan);
	view_free(v);
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
	struct view v;
	int ret;

	if (!unscoped(req, "the policy"))
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
		return reply_invalid(req, "policy", &perr);
	ret = plan_now(req->b, pol, &v, &plan, &perr);
	if (ret) {
		vacp_policy_free(pol);
		return ret == -ERANGE ? reply_infeasible(req, &perr) :
					backend_failed(req, ret);
	}
	doc = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
	ret = doc ? save_policy(req->b, doc, p->generation + 1, &err) : -ENOMEM;
	if (ret) {
		json_decref(doc);
		vacp_plan_free(plan);
		view_free(&v);
		vacp_policy_free(pol);
		broker_log(LOG_ERR, "policy: %s", err.msg);
		return broker_reply_error(req, BROKER_INTERNAL, NULL,
					  "cannot record the policy: %s", err.msg);
	}
	json_decref(p->doc);
	vacp_policy_free(p->pol);
	p->doc = doc;
	p->pol = pol;
	p->generation++;
	broker_log(LOG_INFO, "policy: generation %llu stored; %zu steps",
		   (unsigned long long)p->generation, plan->n_steps);
	return plan_and_apply(req, pol, &v, plan);
}

static enum MHD_Result policy_delete(struct broker_req *req)
{
	struct broker_policy *p = req->b->policy;
	struct broker_err err = { 0 };

	if (!unscoped(req, "the policy"))
		return MHD_YES;
	if (!broker_if_match_ok(req, p->doc, p->generation))
		return policy_precondition(req);
	if (!p->doc)
		return reply_no_content(req);
	if (save_policy(req->b, NULL, p->generation + 1, &err)) {
		broker_log(LOG_ERR, "policy: %s", err.msg);
		return broker_reply_error(req, BROKER_INTERNAL, NULL,
					  "cannot record the policy's removal: %s",
					  err.msg);
	}
	json_decref(p->doc);
	p->doc = NULL;
	p->pol = vacp_policy_free(p->pol);
	free(p->seen);
	p->seen = NULL;
	p->generation++;
	broker_log(LOG_INFO, "policy: deleted (generation %llu); quotas stay",
		   (unsigned long long)p->generation);
	return reply_no_content(req);
}

static enum MHD_Result policy_plan(struct broker_req *req)
{
	struct broker_policy *p = req->b->policy;
	struct vacp_policy *cand = NULL;
	const struct vacp_policy *pol = p->pol;
	struct vacp_plan *plan = NULL;
	struct vacp_err perr;
	struct view v;
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
			return reply_invalid(req, "policy", &perr);
		pol = cand;
	} else if (!pol) {
		return broker_reply_error(req, BROKER_NOT_FOUND, NULL,
					  "no policy is stored; send one to plan it");
	}
	ret = plan_now(req->b, pol, &v, &plan, &perr);
	if (ret) {
		vacp_policy_free(cand);
		return ret == -ERANGE ? reply_infeasible(req, &perr) :
					backend_failed(req, ret);
	}
	pj = plan_json(pol, plan, &v);
	vacp_plan_free(plan);
	view_free(&v);
	vacp_policy_free(cand);
	return broker_reply_json(req, MHD_HTTP_OK, json_pack("{s:o}", "plan", pj));
}

static enum MHD_Result policy_apply(struct broker_req *req)
{
	struct broker_policy *p = req->b->policy;
	struct vacp_plan *plan = NULL;
	struct vacp_err perr;
	enum MHD_Result reply;
	struct view v;
	int ret;

	if (!unscoped(req, "the policy"))
		return MHD_YES;
	if (!broker_body_empty(req, &reply))
		return reply;
	if (!p->pol)
		return broker_reply_error(req, BROKER_NOT_FOUND, NULL,
					  "no policy is stored");
	ret = plan_now(req->b, p->pol, &v, &plan, &perr);
	if (ret)
		return ret == -ERANGE ? reply_infeasible(req, &perr) :
					backend_failed(req, ret);
	broker_log(LOG_INFO, "policy: applied on request; %zu steps",
		   plan->n_steps);
	return plan_and_apply(req, p->pol, &v, plan);
}

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
	json_t *profiles = req->b->policy->profiles, *list, *v;
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
	json_t *stored = json_object_get(req->b->policy->profiles, req->param);

	if (!stored)
		return no_profile(req, req->param, NULL);
	return broker_reply_json(req, MHD_HTTP_OK,
				 profile_reply(req->param, stored));
}

static enum MHD_Result profile_put(struct broker_req *req)
{
	struct broker_policy *p = req->b->policy;
	_cleanup_json_ json_t *next = NULL;
	struct vacp_profile *pr = NULL;
	struct broker_err err = { 0 };
	struct vacp_err perr;
	json_t *stored;
	int ret;

	if (!unscoped(req, "profiles"))
		return MHD_YES;
	if (!broker_req_is_json(req))
		return broker_reply_error(req, BROKER_UNSUPPORTED_MEDIA_TYPE, NULL,
					  "the body must be application/json");
	ret = vacp_profile_parse(req->body ? req->body : "", req->body_len,
				 &pr, &perr);
	if (ret == -ENOMEM)
		return MHD_NO;
	if (ret)
		return reply_invalid(req, "profile", &perr);
	stored = profile_json(pr);
	vacp_profile_free(pr);
	next = json_deep_copy(p->profiles);
	if (!stored || !next || json_object_set_new(next, req->param, stored))
		return MHD_NO;
	if (json_object_size(next) > PROFILES_MAX)
		return broker_reply_error(req, BROKER_CONFLICT, NULL,
					  "too many profiles (at most %d)",
					  PROFILES_MAX);
	if (save_profiles(req->b, next, p->applied, &err)) {
		broker_log(LOG_ERR, "profile %s: %s", req->param, err.msg);
		return broker_reply_error(req, BROKER_INTERNAL, NULL,
					  "cannot record the profile: %s", err.msg);
	}
	json_decref(p->profiles);
	p->profiles = next;
	next = NULL;
	broker_log(LOG_INFO, "profile %s stored", req->param);
	return broker_reply_json(req, MHD_HTTP_OK,
		profile_reply(req->param, json_object_get(p->profiles, req->param)));
}

static enum MHD_Result profile_delete(struct broker_req *req)
{
	struct broker_policy *p = req->b->policy;
	_cleanup_json_ json_t *next = NULL;
	struct broker_err err = { 0 };

	if (!unscoped(req, "profiles"))
		return MHD_YES;
	if (!json_object_get(p->profiles, req->param))
		return no_profile(req, req->param, NULL);
	next = json_deep_copy(p->profiles);
	if (!next || json_object_del(next, req->param))
		return MHD_NO;
	if (save_profiles(req->b, next, p->applied, &err)) {
		broker_log(LOG_ERR, "profile %s: %s", req->param, err.msg);
		return broker_reply_error(req, BROKER_INTERNAL, NULL,
					  "cannot record the profile's removal: %s",
					  err.msg);
	}
	json_decref(p->profiles);
	p->profiles = next;
	next = NULL;
	broker_log(LOG_INFO, "profile %s deleted", req->param);
	return reply_no_content(req);
}

/* ---- applying a profile: module parameters ---- */

enum param_file {
	PARAM_ABSENT,		/* no such file: module not loaded */
	PARAM_LOAD_TIME,	/* read-only: set when the module loads */
	PARAM_RUNTIME,		/* writable */
};

static enum param_file param_stat(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return PARAM_ABSENT;
	/* By mode, not access(): root may write anything but sysfs would refuse. */
	return st.st_mode & 0222 ? PARAM_RUNTIME : PARAM_LOAD_TIME;
}

/* The file's text without its last newline: 0 or -errno. */
static int param_read(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* As a shell's ">" would: truncated (a no-op in sysfs), then written. */
static int param_write(const char *path, const char *value)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	size_t len = strlen(value);

	if (fd < 0)
		return -errno;
	if (write(fd, value, len) != (ssize_t)len)
		return errno ? -errno : -EIO;
	return 0;
}

/* As sysfs shows booleans: "Y"/"N" equal "1"/"y" and "0"/"n". */
static bool param_equal(const char *desired, const char *actual)
{
	if (!strcmp(desired, actual))
		return true;
	if (!strcmp(actual, "Y"))
		return !strcmp(desired, "1") || !strcmp(desired, "y");
	if (!strcmp(actual, "N"))
		return !strcmp(desired, "0") || !strcmp(desired, "n");
	return false;
}

/*
 * One parameter of @inst: written if @write and runtime-writable, then
 * checked.  Its report entry goes to @list; a load-time one (read-only
 * or absent) also goes to the modprobe.d line @opts.
 */
static void param_apply(struct broker *b, const char *inst,
			const struct vacp_param *pp, bool write, json_t *list,
			char *opts, size_t opts_size)
{
	char path[PATH_MAX], actual[VACP_PARAM_VALUE_LEN * 4];
	enum param_file kind;
	const char *status;
	bool have;
	int ret;

	if (snprintf(path, sizeof(path), "%s/%s/parameters/%s",
		     b->cfg.sysfs_module_root, inst, pp->name) >= (int)sizeof(path))
		kind = PARAM_ABSENT;	/* no such path can exist */
	else
		kind = param_stat(path);
	have = kind != PARAM_ABSENT && !param_read(path, actual, sizeof(actual));
	if (kind == PARAM_RUNTIME && write &&
	    !(have && param_equal(pp->value, actual))) {
		ret = param_write(path, pp->value);
		if (ret)
			broker_log(LOG_WARNING, "profile: %s: %s=%s: %s", inst,
				   pp->name, pp->value, strerror(-ret));
		have = !param_read(path, actual, sizeof(actual));
	}
	if (kind != PARAM_RUNTIME)
		snprintf(opts + strlen(opts), opts_size - strlen(opts),
			 strchr(pp->value, ' ') ? " %s=\"%s\"" : " %s=%s",
			 pp->name, pp->value);
	if (!have)
		status = "unknown";
	else if (param_equal(pp->value, actual))
		status = "applied";
	else
		status = kind == PARAM_RUNTIME ? "drifted" : "pending";
	json_array_append_new(list, json_pack("{s:s, s:s, s:s?, s:s}",
		"name", pp->name, "desired", pp->value,
		"actual", have ? actual : NULL, "status", status));
}

/* No load-time parameter: no snippet, nor one left by an earlier profile. */
static int unlink_stale(int dirfd, const char *path, const char *file,
			struct broker_err *err)
{
	if (unlinkat(dirfd, file, 0) < 0 && errno != ENOENT) {
		broker_err_set(err, NULL, "%s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static const struct bj_field apply_fields[] = {
	{ .name = "profile", .type = BJ_STRING, .required = true,
	  .size = VAC_NAME_LEN },
	{ NULL }
};

/*
 * The report of @pr applied to the instance of the request, written
 * first if @write: its parameters, and the modprobe.d snippet of the
 * load-time ones (removed when there is none; modprobe_dir is not
 * touched when there is nothing to write or remove).  NULL on failure,
 * @err.
 */
static json_t *profile_report(struct broker *b, const char *inst,
			      const char *profile, const struct vacp_profile *pr,
			      bool write, struct broker_err *err)
{
	_cleanup_close_ int dirfd = -1;
	_cleanup_free_ char *opts = NULL, *text = NULL;
	size_t opts_size = VACP_MAX_PARAMS * (VACP_PARAM_NAME_LEN +
					      VACP_PARAM_VALUE_LEN + 4) + 1;
	char file[NAME_MAX + 1], path[PATH_MAX];
	json_t *list = json_array();
	bool exists;

	opts = calloc(1, opts_size);
	if (!opts || !list) {
		json_decref(list);
		broker_err_set(err, NULL, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < pr->n_params; i++)
		param_apply(b, inst, &pr->params[i], write, list, opts, opts_size);
	snprintf(file, sizeof(file), "vac-%s.conf", inst);
	if (snprintf(path, sizeof(path), "%s/%s", b->cfg.modprobe_dir,
		     file) >= (int)sizeof(path)) {
		broker_err_set(err, NULL, "modprobe_dir: path too long");
		json_decref(list);
		return NULL;
	}
	exists = !access(path, F_OK);
	/* Only where there is something to write or to remove. */
	if (write && (opts[0] || exists)) {
		dirfd = open(b->cfg.modprobe_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0) {
			broker_err_set(err, NULL, "modprobe_dir %s: %s",
				       b->cfg.modprobe_dir, strerror(errno));
			json_decref(list);
			return NULL;
		}
		if (opts[0] && asprintf(&text, "# written by brokerd: profile %s "
					"for instance %s\noptions %s%s\n",
					profile, inst, inst, opts) < 0) {
			text = NULL;
			broker_err_set(err, NULL, "out of memory");
			json_decref(list);
			return NULL;
		}
		if (text ? broker_store_write(dirfd, file, text, err) :
		    unlink_stale(dirfd, path, file, err)) {
			json_decref(list);
			return NULL;
		}
	}
	exists = !access(path, F_OK);
	return json_pack("{s:s, s:s, s:s?, s:o}", "instance", inst,
			 "profile", profile, "modprobe_file", exists ? path : NULL,
			 "params", list);
}

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
		return backend_failed(req, ret);
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
	if (broker_record_quotas(b, req->param, d, q, n, &in, &next, &err))
		return broker_reply_error(req, BROKER_INTERNAL, NULL,
					  "cannot record the desired state: %s",
					  err.msg);
	*done = true;
	return MHD_YES;
}

static enum MHD_Result instance_profile_post(struct broker_req *req)
{
	struct broker *b = req->b;
	struct broker_policy *p = b->policy;
	struct { char profile[VAC_NAME_LEN]; } body = { "" };
	_cleanup_json_ json_t *applied = NULL, *report = NULL;
	struct vacp_profile *pr = NULL;
	struct broker_err err = { 0 };
	struct vacp_err perr;
	enum MHD_Result r;
	json_t *stored;
	bool done;

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
	if (profile_of(stored, &pr, &perr))
		return broker_reply_error(req, BROKER_INTERNAL, NULL,
					  "stored profile %s: %s", body.profile,
					  perr.msg);
	r = profile_quotas(req, pr, &done);
	if (!done) {
		vacp_profile_free(pr);
		return r;
	}
	report = profile_report(b, req->param, body.profile, pr, true, &err);
	applied = json_deep_copy(p->applied);
	if (report && applied)
		json_object_set_new(applied, req->param, json_pack("{s:s, s:O}",
			"profile", body.profile,
			"params", json_object_get(stored, "params")));
	vacp_profile_free(pr);
	if (!report || !applied ||
	    save_profiles(b, p->profiles, applied, &err)) {
		broker_log(LOG_ERR, "profile %s on %s: %s", body.profile,
			   req->param, err.msg);
		broker_reconcile(b);
		return broker_reply_error(req, BROKER_INTERNAL, NULL,
					  "profile %s on instance %s: quotas set, but %s",
					  body.profile, req->param,
					  err.msg[0] ? err.msg : "out of memory");
	}
	json_decref(p->applied);
	p->applied = applied;
	applied = NULL;
	broker_log(LOG_INFO, "profile %s applied to instance %s", body.profile,
		   req->param);
	broker_reconcile(b);
	r = broker_reply_json(req, MHD_HTTP_OK, report);
	report = NULL;
	return r;
}

static enum MHD_Result instance_profile_get(struct broker_req *req)
{
	json_t *a = json_object_get(req->b->policy->applied, req->param);
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
	if (!doc || profile_of(doc, &pr, &perr))
		return broker_reply_error(req, BROKER_INTERNAL, NULL,
					  "instance %s: its applied profile: %s", req->param,
					  doc ? perr.msg : "out of memory");
	report = profile_report(req->b, req->param,
				json_string_value(json_object_get(a, "profile")),
				pr, false, &err);
	vacp_profile_free(pr);
	if (!report)
		return broker_reply_error(req, BROKER_INTERNAL, NULL,
					  "instance %s: %s", req->param, err.msg);
	return broker_reply_json(req, MHD_HTTP_OK, report);
}

static const struct broker_route policy_routes[] = {
	{ "GET",    "/v1/policy",       policy_get, 0, BROKER_ROLE_VIEWER },
	{ "PUT",    "/v1/policy",       policy_put, BROKER_ROUTE_BACKEND,
	  BROKER_ROLE_ADMIN },
	{ "DELETE", "/v1/policy",       policy_delete, 0, BROKER_ROLE_ADMIN },
	{ "POST",   "/v1/policy/plan",  policy_plan, BROKER_ROUTE_BACKEND,
	  BROKER_ROLE_VIEWER },
	{ "POST",   "/v1/policy/apply", policy_apply, BROKER_ROUTE_BACKEND,
	  BROKER_ROLE_ADMIN },
};

const struct broker_routes broker_policy_routes = BROKER_ROUTES(policy_routes);

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
