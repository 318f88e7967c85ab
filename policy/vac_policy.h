/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * vacpolicy: the quota policy document and the planner.
 *
 * Pure library: no I/O, no globals, no logging. Functions return 0 or a
 * negative errno and leave their output parameters alone on failure; the
 * error text goes into a caller-provided struct vacp_err.
 *
 * See policy/README.md for the document format and the planning rules.
 */
#ifndef VAC_POLICY_H
#define VAC_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/vac.h>		/* enum vac_res, VAC_NAME_LEN */

#define VACP_NR_KINDS		(VAC_RES_MAX + 1)
#define VACP_NO_MAX		UINT32_MAX	/* "max" absent: no cap */
#define VACP_MAX_WEIGHT		1000000U

enum vacp_rule_type {
	VACP_RULE_WEIGHT,	/* min/max/weight (also the implicit default) */
	VACP_RULE_PERCENT,	/* min/max/percent */
	VACP_RULE_FIXED,	/* fixed only */
};

struct vacp_rule {
	enum vacp_rule_type type;
	uint32_t fixed;		/* VACP_RULE_FIXED */
	uint32_t min;		/* 0 when absent */
	uint32_t max;		/* VACP_NO_MAX when absent */
	uint32_t weight;	/* VACP_RULE_WEIGHT; 1 when absent */
	uint32_t percent;	/* VACP_RULE_PERCENT; 0..100 */
};

struct vacp_named_rule {
	char name[VAC_NAME_LEN];
	struct vacp_rule rule;
};

struct vacp_kind_policy {
	bool present;		/* the document names this kind */
	uint32_t reserve;
	bool keep_offline;
	struct vacp_rule def;	/* for instances not named below */
	size_t n_rules;
	struct vacp_named_rule *rules;	/* sorted by name, unique */
};

struct vacp_policy {
	struct vacp_kind_policy kind[VACP_NR_KINDS];
};

/* What went wrong, for a human and for a program. */
struct vacp_err {
	char path[128];		/* parser: JSON path, e.g. kinds.vpids.reserve */
	int kind;		/* planner: enum vac_res, or -1 */
	char instance[VAC_NAME_LEN];	/* planner: "" when not about one */
	const char *constraint;	/* planner: "reserve", "fixed", "min",
				 * "max", "used"; NULL otherwise */
	char msg[256];		/* full sentence, includes path or kind */
};

const char *vacp_kind_name(int kind);	/* "vpids"...; NULL if out of range */
int vacp_kind_parse(const char *name);	/* kind or -EINVAL */

/*
 * Parse a policy document of @len bytes. On success *@out owns a new
 * policy (free with vacp_policy_free). -EINVAL with @err filled when the
 * document is invalid; -ENOMEM.
 */
int vacp_policy_parse(const char *json, size_t len, struct vacp_policy **out,
		      struct vacp_err *err);
struct vacp_policy *vacp_policy_free(struct vacp_policy *p);

/* The rule an instance gets for @kind: its own entry or the default. */
const struct vacp_rule *vacp_policy_rule(const struct vacp_policy *p,
					 int kind, const char *name);

/* Planner input: one instance as the kernel reports it. */
struct vacp_instance {
	const char *name;	/* unique, < VAC_NAME_LEN */
	bool online;		/* false: declared but offline */
	uint32_t quota[VACP_NR_KINDS];
	uint32_t used[VACP_NR_KINDS];
};

struct vacp_step {
	char instance[VAC_NAME_LEN];
	size_t index;		/* into the input array */
	int kind;
	uint32_t from, to;
};

struct vacp_plan {
	size_t n_instances;
	/* planned quota, indexed like the input array */
	uint32_t (*quota)[VACP_NR_KINDS];
	size_t n_steps;
	/* every shrink, then every grow; each group by kind, then name */
	struct vacp_step *steps;
};

/*
 * Plan quotas for @n instances under @pol with host @capacity per kind.
 * Kinds the policy does not name keep their current quotas. Returns 0 and
 * a new plan in *@out (free with vacp_plan_free); -ERANGE with @err naming
 * kind, instance and constraint when the policy cannot be met (no plan
 * then: *@out untouched); -EINVAL for bad input (empty, overlong or
 * duplicate name, more than VAC_MAX_INSTANCES); -ENOMEM.
 *
 * The planned quotas of a kind the policy names sum to at most capacity -
 * reserve; applied in plan order from current quotas that fit capacity,
 * the total never exceeds capacity at any step.
 */
int vacp_plan(const struct vacp_policy *pol,
	      const uint32_t capacity[VACP_NR_KINDS],
	      const struct vacp_instance *inst, size_t n,
	      struct vacp_plan **out, struct vacp_err *err);
struct vacp_plan *vacp_plan_free(struct vacp_plan *plan);

#endif /* VAC_POLICY_H */
