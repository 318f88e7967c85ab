// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer: the policy document (vacp_policy_parse) and, on what
 * parses, the planner (vacp_plan), checked against its promises: per
 * kind the policy names, the planned quotas sum to at most capacity -
 * reserve, none is below usage, each is within its rule (fixed, min,
 * max; offline instances at their usage unless keep_offline); other
 * kinds keep their quotas; the steps are exactly the changes, shrinks
 * first, and applied in order never exceed capacity; planning twice, or
 * with the instances in the reverse order, gives the same plan.
 *
 * Input: a fixed header (HEADER bytes: instance count, capacities, each
 * instance's state, quotas and usage), then the policy document.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vac_policy.h"

#define MAX_INST	8
#define HEADER		(1 + 2 * VACP_NR_KINDS + MAX_INST * (1 + 2 * VACP_NR_KINDS))

static const char *const names[MAX_INST] = {
	"kvm_a", "kvm_b", "kvm_c", "kvm_d", "kvm_e", "kvm_f", "kvm_g", "kvm_h",
};

struct scenario {
	size_t n;
	uint32_t capacity[VACP_NR_KINDS];
	struct vacp_instance inst[MAX_INST], rev[MAX_INST];
};

static void scenario(const uint8_t *h, struct scenario *s)
{
	s->n = *h++ % (MAX_INST + 1);
	for (int k = 0; k < VACP_NR_KINDS; k++, h += 2)
		s->capacity[k] = h[0] | h[1] << 8;
	for (size_t i = 0; i < MAX_INST; i++) {
		struct vacp_instance *in = &s->inst[i];

		in->name = names[i];
		in->online = !(*h++ & 1);
		for (int k = 0; k < VACP_NR_KINDS; k++, h += 2) {
			in->quota[k] = h[0] * 16u;
			in->used[k] = h[1] * 4u;
		}
	}
	for (size_t i = 0; i < s->n; i++)
		s->rev[i] = s->inst[s->n - 1 - i];
}

static void check_policy(const struct vacp_policy *p)
{
	for (int k = 0; k < VACP_NR_KINDS; k++) {
		const struct vacp_kind_policy *kp = &p->kind[k];
		unsigned int percent = 0;

		if (!kp->present && kp->n_rules)
			abort();
		for (size_t i = 0; i < kp->n_rules; i++) {
			const struct vacp_rule *r = &kp->rules[i].rule;
			size_t len = strnlen(kp->rules[i].name, VAC_NAME_LEN);

			if (!len || len >= VAC_NAME_LEN ||
			    (i && strcmp(kp->rules[i - 1].name,
					 kp->rules[i].name) >= 0))
				abort();
			if (r->type != VACP_RULE_FIXED &&
			    (r->min > r->max || r->weight > VACP_MAX_WEIGHT))
				abort();
			if (r->type == VACP_RULE_PERCENT)
				percent += r->percent;
		}
		if (percent > 100 || kp->def.type == VACP_RULE_PERCENT)
			abort();
	}
}

static void check_kind(const struct vacp_policy *pol, const struct scenario *s,
		       const struct vacp_plan *plan, int k)
{
	const struct vacp_kind_policy *kp = &pol->kind[k];
	uint64_t sum = 0;

	for (size_t i = 0; i < s->n; i++) {
		const struct vacp_instance *in = &s->inst[i];
		const struct vacp_rule *r = vacp_policy_rule(pol, k, in->name);
		uint32_t q = plan->quota[i][k];

		sum += q;
		if (!kp->present) {
			if (q != in->quota[k])
				abort();
			continue;
		}
		if (q < in->used[k])
			abort();
		if (!in->online && !kp->keep_offline) {
			if (q != in->used[k])
				abort();
		} else if (r->type == VACP_RULE_FIXED) {
			if (q != r->fixed)
				abort();
		} else if (q < r->min || q > r->max) {
			abort();
		}
	}
	if (kp->present && sum + kp->reserve > s->capacity[k])
		abort();
}

/* The steps are the changes, shrinks first, each group by kind then name. */
static void check_steps(const struct scenario *s, const struct vacp_plan *plan)
{
	uint64_t total[VACP_NR_KINDS] = { 0 };
	bool seen[MAX_INST][VACP_NR_KINDS] = { { false } };
	bool fits[VACP_NR_KINDS];
	size_t changes = 0;

	for (size_t i = 0; i < s->n; i++)
		for (int k = 0; k < VACP_NR_KINDS; k++) {
			total[k] += s->inst[i].quota[k];
			changes += plan->quota[i][k] != s->inst[i].quota[k];
		}
	for (int k = 0; k < VACP_NR_KINDS; k++)
		fits[k] = total[k] <= s->capacity[k];
	if (plan->n_steps != changes || plan->n_instances != s->n)
		abort();
	for (size_t j = 0; j < plan->n_steps; j++) {
		const struct vacp_step *st = &plan->steps[j];
		const struct vacp_step *prev = j ? st - 1 : NULL;
		bool grow = st->to > st->from;

		if (st->index >= s->n || st->kind < 0 ||
		    st->kind >= VACP_NR_KINDS ||
		    strcmp(st->instance, s->inst[st->index].name) ||
		    seen[st->index][st->kind] ||
		    st->from != s->inst[st->index].quota[st->kind] ||
		    st->to != plan->quota[st->index][st->kind])
			abort();
		seen[st->index][st->kind] = true;
		if (prev) {
			bool pgrow = prev->to > prev->from;

			if ((pgrow && !grow) ||
			    (pgrow == grow &&
			     (prev->kind > st->kind ||
			      (prev->kind == st->kind &&
			       strcmp(prev->instance, st->instance) >= 0))))
				abort();
		}
		total[st->kind] += (uint64_t)st->to - st->from;
		if (fits[st->kind] && total[st->kind] > s->capacity[st->kind])
			abort();
	}
}

static void plan(const struct vacp_policy *pol, const struct scenario *s)
{
	struct vacp_plan *p = (void *)names, *again = (void *)names;
	struct vacp_plan *rev = (void *)names;
	struct vacp_err err = { 0 }, err2 = { 0 };
	int ret, ret2, ret3;

	ret = vacp_plan(pol, s->capacity, s->inst, s->n, &p, &err);
	ret2 = vacp_plan(pol, s->capacity, s->inst, s->n, &again, &err2);
	ret3 = vacp_plan(pol, s->capacity, s->rev, s->n, &rev, &err2);
	if (ret != ret2 || ret != ret3)
		abort();
	if (ret) {
		if (ret != -ERANGE || p != (void *)names || !err.msg[0] ||
		    err.kind < 0 || err.kind >= VACP_NR_KINDS || !err.constraint)
			abort();
		return;
	}
	for (int k = 0; k < VACP_NR_KINDS; k++)
		check_kind(pol, s, p, k);
	check_steps(s, p);
	if (again->n_steps != p->n_steps ||
	    memcmp(again->quota, p->quota, s->n * sizeof(*p->quota)) ||
	    memcmp(again->steps, p->steps, p->n_steps * sizeof(*p->steps)))
		abort();
	for (size_t i = 0; i < s->n; i++)
		if (memcmp(rev->quota[s->n - 1 - i], p->quota[i],
			   sizeof(*p->quota)))
			abort();
	vacp_plan_free(p);
	vacp_plan_free(again);
	vacp_plan_free(rev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vacp_policy *pol = (void *)names;
	struct vacp_err err = { 0 };
	struct scenario s;

	if (size < HEADER)
		return 0;
	scenario(data, &s);
	if (vacp_policy_parse((const char *)data + HEADER, size - HEADER, &pol,
			      &err)) {
		if (pol != (void *)names || !err.msg[0])
			abort();
		return 0;
	}
	check_policy(pol);
	plan(pol, &s);
	vacp_policy_free(pol);
	return 0;
}
