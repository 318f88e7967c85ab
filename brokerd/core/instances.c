// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The instances as the outside sees them: what the backend has, with
 * what is desired of each (the store); and the one way an instance's
 * quotas change on request: set in the backend, then recorded as its
 * desired quotas, undone in the backend if they cannot be recorded.
 * Lock held for every call.
 *
 * May call: backend, store.c, base/.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "core/backend.h"
#include "core/broker.h"
#include "core/instances.h"

struct listing {
	struct vac_instance_info *in;
	size_t n, cap;
};

static int list_one(const struct vac_instance_info *in, void *arg)
{
	struct listing *l = arg;
	int ret = broker_grow(&l->in, &l->cap, l->n, sizeof(*in),
			      VAC_MAX_INSTANCES);

	if (!ret)
		l->in[l->n++] = *in;
	return ret;
}

int broker_instances_list(struct broker_backend *be, struct vac_instance_info **out,
		    size_t *n)
{
	struct listing l = { 0 };
	int ret = be->ops->instance_dump(be, list_one, &l);

	if (ret) {
		free(l.in);
		return ret;
	}
	*out = l.in;
	*n = l.n;
	return 0;
}


/* ---- the view of one instance ---- */

static json_t *usage_json(const struct vac_usage *u)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I}",
			      "quota", (json_int_t)u->quota,
			      "used", (json_int_t)u->used,
			      "peak", (json_int_t)u->peak,
			      "failcnt", (json_int_t)u->failcnt);

	if (o && u->has_base)
		json_object_set_new(o, "base", json_integer(u->base));
	return o;
}

json_t *broker_instance_json(const struct vac_instance_info *in,
			     const struct broker_inst *d, int refused)
{
	json_t *usage = in ? json_object() : json_null();
	json_t *desired = json_object();
	json_t *unapplied = json_array();
	json_t *o;

	for (int k = 0; k < VAC_NR_RESOURCES; k++) {
		const char *kind = vac_resource_name(k);

		if (in)
			json_object_set_new(usage, kind, usage_json(&in->usage[k]));
		if (d && d->want.kind[k].set)
			json_object_set_new(desired, kind,
					    json_integer(d->want.kind[k].v));
		if (d && d->unapplied[k][0])
			json_array_append_new(unapplied,
				json_pack("{s:s, s:s}", "kind", kind,
					  "reason", d->unapplied[k]));
	}
	if (d && d->undeclared[0])
		json_array_append_new(unapplied,
			json_pack("{s:s}", "reason", d->undeclared));

	o = json_pack("{s:s, s:s, s:o, s:I, s:o, s:o, s:I, s:o}",
		      "name", in ? in->name : d->name,
		      "state", !in ? "absent" :
			       in->state == VAC_INSTANCE_STATE_ONLINE ? "online" :
			       "declared",
		      "module", in && in->module[0] ? json_string(in->module) :
						      json_null(),
		      "vms", (json_int_t)(in ? in->vms : 0),
		      "usage", usage,
		      "desired", desired,
		      "generation", (json_int_t)(d ? d->generation : 0),
		      "unapplied", unapplied);
	if (o && refused >= 0)
		json_object_set_new(o, "refused",
				    json_string(vac_resource_name(refused)));
	return o;
}

json_t *broker_vm_json(const struct vac_vm_info *vm)
{
	time_t t = vm->created / 1000000000;
	char when[32];

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	return json_pack("{s:I, s:I, s:s, s:s, s:I}", "id", (json_int_t)vm->id,
			 "pid", (json_int_t)vm->pid, "comm", vm->comm,
			 "created", when, "created_ns", (json_int_t)vm->created);
}

/* ---- quotas ---- */

int broker_record_quotas(struct broker *b, const char *name,
			 const struct broker_inst *d, const struct vac_quota *q,
			 size_t n, const struct vac_instance_info *before,
			 struct broker_inst *next, struct broker_err *err)
{
	struct broker_backend *be = b->backend;
	struct vac_quota undo[VAC_NR_RESOURCES];
	int ret;

	if (d) {
		*next = *d;
	} else {
		memset(next, 0, sizeof(*next));
		snprintf(next->name, sizeof(next->name), "%s", name);
	}
	for (size_t i = 0; i < n; i++)
		next->want.kind[q[i].kind] = (struct bj_u32){ q[i].quota, true };
	ret = broker_store_put(&b->store, next, err);
	if (!ret)
		return 0;
	for (size_t i = 0; i < n; i++)
		undo[i] = (struct vac_quota){ q[i].kind,
					      before->usage[q[i].kind].quota };
	if (be->ops->quota_set(be, name, undo, n, true))
		broker_log(LOG_ERR, "instance %s: cannot restore its quotas: %s",
			   name, be->errmsg);
	return ret;
}
