/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The quota policy: its state file, the plan against the backend's
 * instances, its application, and the re-plan when the instances change
 * (see policy.c).  The document and the planner are policy/'s.  Every
 * call with the broker lock held.
 */
#ifndef BROKER_POLICY_H
#define BROKER_POLICY_H

#include "core/broker.h"
#include "vac_policy.h"

#define BROKER_POLICY_FILE "policy.json"

struct broker_policy {
	uint64_t generation;
	json_t *doc;			/* the stored policy, or NULL */
	struct vacp_policy *pol;	/* doc, parsed */
	char *seen;			/* the instances at the last plan */
	char failed[256];		/* the last re-plan's failure, logged */
};

/* The backend's instances, sorted by name, as the planner takes them. */
struct broker_view {
	struct vac_instance_info *in;
	struct vacp_instance *vi;
	size_t n;
	uint32_t capacity[VACP_NR_KINDS];
};

/* Load policy.json from the state directory (b->store) into b->policy. */
int broker_policy_open(struct broker *b, struct broker_err *err);
void broker_policy_free(struct broker_policy *p);

/*
 * Record @doc (@pol parsed from it) as the stored policy of the next
 * generation, or, both NULL, that there is none; on success both are
 * the policy's, on failure nothing changes.
 */
int broker_policy_commit(struct broker *b, json_t *doc, struct vacp_policy *pol,
			 struct broker_err *err);

/*
 * Plan @pol against the backend now.  0 with *@plan and @v; -ERANGE with
 * @perr when the policy cannot be met; another -errno from the backend
 * or the planner (@perr.msg then says why if it can).
 */
int broker_policy_plan(struct broker *b, const struct vacp_policy *pol,
		       struct broker_view *v, struct vacp_plan **plan,
		       struct vacp_err *perr);
void broker_view_free(struct broker_view *v);

/*
 * Apply @plan's steps in order, then make the planned quotas desired,
 * so that reconciliation keeps them; the instances of @v are then the
 * ones planned for.  Every step or record that fails is one entry of the
 * array returned (NULL: out of memory); nothing stops.
 */
json_t *broker_policy_apply(struct broker *b, const struct vacp_policy *pol,
			    const struct vacp_plan *plan,
			    const struct broker_view *v);

/*
 * With a policy stored, and the backend's instances (names, online or
 * not) changed since the last plan: plan again and apply.  The number of
 * steps applied.  Called by broker_reconcile().
 */
int broker_policy_reconcile(struct broker *b);

#endif /* BROKER_POLICY_H */
