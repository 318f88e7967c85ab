// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Reconciliation: drive the backend to the desired state.  Desired
 * instances the backend lacks are declared; then every quota above its
 * desired value is lowered, across all instances, before any is raised,
 * so that the sum of quotas never needs to overshoot a capacity.  Each
 * quota is set alone, so one refusal names its kind and stops nothing
 * else; what is refused is kept in the instance's "unapplied" with the
 * backend's reason, and tried again on the next run.  Instances nobody
 * declared through brokerd, and kinds without a desired value, are left
 * as they are.  With a policy stored, its re-plan follows (see
 * policy.c), and the quotas it plans become desired ones.
 *
 * A run looks only at the instances marked dirty: a desired-state change
 * (broker_store_put()), a backend event naming the instance, lost events
 * or a backend that has just connected (broker_store_mark_all()), and
 * what a previous run left unapplied.  So a declare costs the same at
 * 4,000 instances as at 100.
 *
 * May call: policy.c, backend, store.c, base/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/backend.h"
#include "core/broker.h"
#include "core/policy.h"
#include "core/reconcile.h"

/* Record the outcome; log only when it changes, not at every retry. */
static void note(char *slot, const char *inst, const char *what,
		 const char *reason)
{
	if (reason && strcmp(slot, reason))
		broker_log(LOG_WARNING, "reconcile: %s: %s: %s", inst, what, reason);
	snprintf(slot, BROKER_REASON_LEN, "%s", reason ? reason : "");
}

/* Apply the desired quotas of @d that go @down (or up) from @have. */
static void apply(struct broker_backend *be, struct broker_inst *d,
		  uint32_t have[VAC_NR_RESOURCES], bool down)
{
	for (int k = 0; k < VAC_NR_RESOURCES; k++) {
		struct vac_quota q = { k, d->want.kind[k].v };
		const char *kind = vac_resource_name(k);

		if (!d->want.kind[k].set || q.quota == have[k] ||
		    (q.quota < have[k]) != down)
			continue;	/* settled, or for the other pass */
		if (be->ops->quota_set(be, d->name, &q, 1, false)) {
			note(d->unapplied[k], d->name, kind, be->errmsg);
			continue;
		}
		broker_log(LOG_INFO, "reconcile: %s: %s %u -> %u", d->name, kind,
			   have[k], q.quota);
		note(d->unapplied[k], d->name, kind, NULL);
		have[k] = q.quota;
	}
}

/*
 * The instances marked dirty (see broker_store_mark()): only their desired
 * state, or what the backend has of them, can have changed since the
 * last run left everything else settled.  One that keeps something
 * unapplied stays marked, to be tried again.
 */
static int reconcile_desired(struct broker *b)
{
	struct broker_backend *be = b->backend;
	struct broker_store *s = &b->store;
	uint32_t (*have)[VAC_NR_RESOURCES];
	struct broker_inst **todo;
	bool *present;
	size_t n = 0;

	if (!be->ops->ready(be) || !s->ndirty)
		return b->pending = 0;
	have = calloc(s->ndirty, sizeof(*have));
	todo = calloc(s->ndirty, sizeof(*todo));
	present = calloc(s->ndirty, sizeof(*present));
	if (!have || !todo || !present) {
		free(have);
		free(todo);
		free(present);
		return -ENOMEM;
	}

	for (size_t i = 0; i < s->n && n < s->ndirty; i++)
		if (s->insts[i].dirty)
			todo[n++] = &s->insts[i];
	for (size_t i = 0; i < n; i++) {
		struct broker_inst *d = todo[i];
		struct vac_instance_info in;
		int ret;

		ret = be->ops->instance_get(be, d->name, &in);
		if (ret == -ENOENT) {
			ret = be->ops->declare(be, d->name);
			if (!ret) {
				broker_log(LOG_INFO, "reconcile: %s declared", d->name);
				memset(&in, 0, sizeof(in));
			}
		}
		note(d->undeclared, d->name, "declare", ret ? be->errmsg : NULL);
		if (ret)
			continue;
		present[i] = true;
		for (int k = 0; k < VAC_NR_RESOURCES; k++) {
			have[i][k] = in.usage[k].quota;
			if (!d->want.kind[k].set || d->want.kind[k].v == have[i][k])
				d->unapplied[k][0] = 0;
		}
	}
	for (int down = 1; down >= 0; down--)
		for (size_t i = 0; i < n; i++)
			if (present[i])
				apply(be, todo[i], have[i], down);

	for (size_t i = 0; i < n; i++) {
		struct broker_inst *d = todo[i];
		bool left = d->undeclared[0];

		for (int k = 0; k < VAC_NR_RESOURCES; k++)
			left |= d->unapplied[k][0] != 0;
		if (!left) {
			d->dirty = false;
			s->ndirty--;
		}
	}
	free(have);
	free(todo);
	free(present);
	return b->pending = s->ndirty;
}

/*
 * The desired state first (it may declare instances back), then the
 * policy's re-plan when the instances changed; what that re-plan could
 * not apply shows in a second pass's "unapplied".
 */
int broker_reconcile(struct broker *b)
{
	int pending = reconcile_desired(b);

	if (broker_policy_reconcile(b) > 0)
		pending = reconcile_desired(b);
	return pending;
}
