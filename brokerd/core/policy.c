// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The quota policy: its state file, its plan and its application.
 *
 * policy.json holds the policy document as it was given, with its own
 * generation:  {"version": 1, "generation": 3, "policy": {...} | null}.
 * A policy is planned (policy/) against the backend's capacity and
 * instances, and applied step by step, shrinks before grows, through the
 * backend's quota_set; the planned quotas become the instances' desired
 * quotas (desired.json), so reconciliation keeps them.  The plan is made
 * again whenever the backend's instances change (one registers,
 * unregisters, is declared or deleted), whoever changed them.  A change
 * that cannot be written leaves the daemon's view as it was.
 *
 * May call: instances.c, backend, store.c, policy/ (the planner), base/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "core/backend.h"
#include "core/broker.h"
#include "core/instances.h"
#include "core/policy.h"
#include "core/store.h"


static int policy_of(json_t *doc, struct vacp_policy **out,
		     struct vacp_err *perr)
{
	_cleanup_free_ char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);

	if (!text)
		return -ENOMEM;
	return vacp_policy_parse(text, strlen(text), out, perr);
}

static int load_policy(struct broker_policy *p, int dirfd,
		       struct broker_err *err)
{
	_cleanup_json_ json_t *root = NULL;
	struct vacp_err perr;
	json_t *gen, *doc;
	int ret;

	ret = broker_store_load(dirfd, BROKER_POLICY_FILE, &root, err);
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

int broker_policy_open(struct broker *b, struct broker_err *err)
{
	struct broker_policy *p = calloc(1, sizeof(*p));
	struct broker_err why = { 0 };
	int ret;

	if (!p)
		return -ENOMEM;
	ret = load_policy(p, b->store.dirfd, &why);
	if (ret) {
		broker_store_load_err(err, b->cfg.state_dir, BROKER_POLICY_FILE,
				      ret, &why);
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
	free(p);
}

static int save_policy(struct broker *b, json_t *doc, uint64_t generation,
		       struct broker_err *err)
{
	_cleanup_json_ json_t *root = NULL;

	root = json_pack("{s:i, s:I, s:O?}", "version", BROKER_FILE_VERSION,
			 "generation", (json_int_t)generation, "policy", doc);
	return broker_store_save(b->store.dirfd, BROKER_POLICY_FILE, root, err);
}

int broker_policy_commit(struct broker *b, json_t *doc, struct vacp_policy *pol,
			 struct broker_err *err)
{
	struct broker_policy *p = b->policy;
	int ret = save_policy(b, doc, p->generation + 1, err);

	if (ret)
		return ret;
	json_decref(p->doc);
	vacp_policy_free(p->pol);
	p->doc = doc;
	p->pol = pol;
	free(p->seen);
	p->seen = NULL;
	p->generation++;
	return 0;
}

/* ---- planning ---- */

void broker_view_free(struct broker_view *v)
{
	free(v->in);
	free(v->vi);
}

static int info_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vac_instance_info *)a)->name,
		      ((const struct vac_instance_info *)b)->name);
}

/*
 * What the planner must leave an instance of a kind: what a quota change
 * cannot take from it without force.  That is its usage, except for the
 * budgets a registered instance uses whole (its ASID range, its guests'
 * PMU counters), which shrink without force: of those only the last ASID
 * of a registered instance is kept.
 */
static uint32_t plan_floor(const struct vac_instance_info *in, int k)
{
	const struct vac_usage *u = &in->usage[k];

	if (k == VAC_RES_PMU_COUNTERS)
		return 0;
	if (k == VAC_RES_ASIDS)
		return u->used ? 1 : 0;
	return u->used;
}

static int view_take(struct broker_backend *be, struct broker_view *v)
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
		broker_view_free(v);
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
			x->used[k] = plan_floor(&v->in[i], k);
		}
	}
	return 0;
}

/* "kvm_a+,kvm_b-,": who is there, online (+) or not. */
static char *view_signature(const struct broker_view *v)
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

/*
 * Apply @plan's steps in order, then make the planned quotas desired
 * (where a step was needed, or a desired value differs), so that
 * reconciliation keeps them.  Every step or record that fails is one
 * entry of the array returned (NULL: out of memory); nothing stops.
 */
static json_t *plan_apply(struct broker *b, const struct vacp_policy *pol,
			  const struct vacp_plan *plan, const struct broker_view *v)
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

int broker_policy_plan(struct broker *b, const struct vacp_policy *pol,
		       struct broker_view *v, struct vacp_plan **plan,
		       struct vacp_err *perr)
{
	int ret = view_take(b->backend, v);

	memset(perr, 0, sizeof(*perr));
	perr->kind = -1;
	if (ret)
		return ret;
	ret = vacp_plan(pol, v->capacity, v->vi, v->n, plan, perr);
	if (ret)
		broker_view_free(v);
	return ret;
}

json_t *broker_policy_apply(struct broker *b, const struct vacp_policy *pol,
			    const struct vacp_plan *plan,
			    const struct broker_view *v)
{
	struct broker_policy *p = b->policy;
	json_t *errors = plan_apply(b, pol, plan, v);

	free(p->seen);
	p->seen = view_signature(v);
	p->failed[0] = 0;
	return errors;
}

int broker_policy_reconcile(struct broker *b)
{
	struct broker_policy *p = b->policy;
	struct broker_backend *be = b->backend;
	struct vacp_plan *plan = NULL;
	_cleanup_json_ json_t *errors = NULL;
	struct vacp_err perr;
	struct broker_view v;
	char *sig;
	int ret, steps;

	if (!p || !p->pol || !be->ops->ready(be))
		return 0;
	if (view_take(be, &v))
		return 0;	/* the next event or retry tries again */
	sig = view_signature(&v);
	if (!sig || (p->seen && !strcmp(sig, p->seen))) {
		free(sig);
		broker_view_free(&v);
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
		broker_view_free(&v);
		return 0;
	}
	p->failed[0] = 0;
	broker_log(LOG_INFO, "policy: instances changed; %zu steps planned",
		   plan->n_steps);
	errors = plan_apply(b, p->pol, plan, &v);
	steps = plan->n_steps;
	vacp_plan_free(plan);
	broker_view_free(&v);
	return steps;
}
