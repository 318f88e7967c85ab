// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The planner: from capacity, instances and policy to planned quotas and
 * an ordered plan (all shrinks, then all grows).
 *
 * Per kind the policy names, in this order:
 *  1. floors: fixed quotas, the usage of offline instances that do not
 *     keep their share, and max(min, used) of every other instance; if
 *     they do not fit in capacity - reserve the policy cannot be met;
 *  2. the remainder D is split by percent (largest remainder rounding),
 *     each share added to the instance's min, raised to its floor and cut
 *     to its max;
 *  3. what is left goes to weighted instances by water filling: instance
 *     i gets clamp(min_i + w_i * L, floor_i, max_i) for the largest level
 *     L that fits, computed exactly with rationals, the fractions rounded
 *     by largest remainder (ties by name). A capped instance's excess thus
 *     flows to the others.
 * Sorting by name (O(n log n)) makes the result independent of the input
 * order; every other step is linear or a sort.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vac_policy.h"

typedef unsigned __int128 u128;

enum cls { C_OFF, C_FIXED, C_PCT, C_WGT };
enum lvl { L_LO, L_LIN, L_HI };

struct slot {
	const struct vacp_instance *in;
	size_t index;		/* into the input array */
	size_t rank;		/* position by name */
	const struct vacp_rule *rule;
	enum cls cls;
	enum lvl lvl;
	uint32_t lo, hi, used;
	uint64_t plan;
	uint64_t rem;		/* rounding remainder (u64 suffices: < W) */
};

struct event {
	uint64_t num;
	uint32_t den;
	bool leave;
	struct slot *s;
};

__attribute__((format(printf, 5, 6)))
static int plan_err(struct vacp_err *err, int kind, const char *instance,
		    const char *constraint, const char *fmt, ...)
{
	va_list ap;
	char what[200];

	if (err) {
		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
		memset(err, 0, sizeof(*err));
		err->kind = kind;
		err->constraint = constraint;
		if (instance)
			snprintf(err->instance, sizeof(err->instance), "%s",
				 instance);
		snprintf(err->msg, sizeof(err->msg), "%s%s%s: %s",
			 kind >= 0 ? vacp_kind_name(kind) : "",
			 instance ? "/" : "", instance ? instance : "", what);
	}
	return -ERANGE;
}

static int name_cmp(const void *a, const void *b)
{
	const struct slot *x = *(struct slot *const *)a;
	const struct slot *y = *(struct slot *const *)b;

	return strcmp(x->in->name, y->in->name);
}

/* Larger remainder first, then by name. */
static int rem_cmp(const void *a, const void *b)
{
	const struct slot *x = *(struct slot *const *)a;
	const struct slot *y = *(struct slot *const *)b;

	if (x->rem != y->rem)
		return x->rem > y->rem ? -1 : 1;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

static int event_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	u128 l = (u128)x->num * y->den, r = (u128)y->num * x->den;

	if (l != r)
		return l < r ? -1 : 1;
	if (x->s->rank != y->s->rank)
		return x->s->rank < y->s->rank ? -1 : 1;
	return (int)x->leave - (int)y->leave;
}

/* Give the @k remaining units to the first @k of @v by remainder. */
static void round_up(struct slot **v, size_t nv, uint64_t k)
{
	qsort(v, nv, sizeof(*v), rem_cmp);
	for (size_t i = 0; i < nv && k; i++, k--)
		v[i]->plan++;
}

/* Split @pct_total percent of @d among the percent slots. */
static void split_percent(struct slot **v, size_t nv, uint64_t d,
			  uint32_t pct_total, struct slot **tmp)
{
	uint64_t given = 0, target = d * pct_total / 100;
	size_t nt = 0;

	for (size_t i = 0; i < nv; i++) {
		struct slot *s = v[i];

		s->plan = d * s->rule->percent / 100;
		s->rem = d * s->rule->percent % 100;
		given += s->plan;
		tmp[nt++] = s;
	}
	round_up(tmp, nt, target - given);
	for (size_t i = 0; i < nv; i++) {
		struct slot *s = v[i];
		uint64_t x = s->rule->min + s->plan;

		if (x < s->lo)
			x = s->lo;
		if (x > s->hi)
			x = s->hi;
		s->plan = x;
	}
}

/* Water filling of @pool over the weighted slots (sum of lo <= pool). */
static void split_weight(struct slot **v, size_t nv, uint64_t pool,
			 struct event *ev, struct slot **tmp)
{
	uint64_t base = 0, summin = 0, w = 0, x, given;
	size_t ne = 0, nt = 0, i;

	for (i = 0; i < nv; i++) {
		struct slot *s = v[i];
		uint32_t wt = s->rule->weight;

		s->lvl = L_LO;
		base += s->lo;
		if (!wt || s->lo == s->hi)
			continue;
		ev[ne++] = (struct event){ s->lo - s->rule->min, wt, false, s };
		if (s->hi != VACP_NO_MAX)
			ev[ne++] = (struct event){ s->hi - s->rule->min, wt,
						   true, s };
	}
	qsort(ev, ne, sizeof(*ev), event_cmp);
	if (base < pool) {
		for (i = 0; i < ne; i++) {
			struct event *e = &ev[i];
			struct slot *s = e->s;

			if ((u128)(base + summin) * e->den + (u128)w * e->num >=
			    (u128)pool * e->den)
				break;
			if (!e->leave) {
				s->lvl = L_LIN;
				base -= s->lo;
				summin += s->rule->min;
				w += s->rule->weight;
			} else {
				s->lvl = L_HI;
				summin -= s->rule->min;
				w -= s->rule->weight;
				base += s->hi;
			}
		}
	}
	x = w ? pool - base - summin : 0;
	given = base;
	for (i = 0; i < nv; i++) {
		struct slot *s = v[i];

		switch (s->lvl) {
		case L_LO:
			s->plan = s->lo;
			break;
		case L_HI:
			s->plan = s->hi;
			break;
		case L_LIN:
			s->plan = s->rule->min +
				  (uint64_t)((u128)s->rule->weight * x / w);
			s->rem = (uint64_t)((u128)s->rule->weight * x % w);
			given += s->plan;
			tmp[nt++] = s;
			break;
		}
	}
	if (w)
		round_up(tmp, nt, pool - given);
}

static int plan_kind(const struct vacp_policy *pol, int kind, uint32_t cap,
		     struct slot **by_name, size_t n, struct slot **buf,
		     struct event *ev, struct vacp_err *err)
{
	const struct vacp_kind_policy *kp = &pol->kind[kind];
	struct slot **pct = buf, **wgt = buf + n, **tmp = buf + 2 * n;
	size_t npct = 0, nwgt = 0, i;
	uint64_t avail, sum = 0, pool;
	uint32_t pct_total = 0;

	if (kp->reserve > cap)
		return plan_err(err, kind, NULL, "reserve",
				"reserve %u is above the capacity %u",
				kp->reserve, cap);
	avail = cap - kp->reserve;

	for (i = 0; i < n; i++) {
		struct slot *s = by_name[i];
		const struct vacp_rule *r;

		s->used = s->in->used[kind];
		s->rule = r = vacp_policy_rule(pol, kind, s->in->name);
		if (!s->in->online && !kp->keep_offline) {
			s->cls = C_OFF;
			s->lo = s->hi = s->used;
		} else if (r->type == VACP_RULE_FIXED) {
			s->cls = C_FIXED;
			if (s->used > r->fixed)
				return plan_err(err, kind, s->in->name, "fixed",
						"usage %u is above the fixed quota %u",
						s->used, r->fixed);
			s->lo = s->hi = r->fixed;
		} else {
			if (s->used > r->max)
				return plan_err(err, kind, s->in->name, "max",
						"usage %u is above max %u",
						s->used, r->max);
			s->cls = r->type == VACP_RULE_PERCENT ? C_PCT : C_WGT;
			s->lo = r->min > s->used ? r->min : s->used;
			s->hi = r->max;
		}
		s->plan = s->lo;
	}

	/* Floors, in the order the constraints are reported. */
	for (i = 0; i < n; i++) {
		struct slot *s = by_name[i];

		if (s->cls != C_FIXED)
			continue;
		sum += s->lo;
		if (sum > avail)
			return plan_err(err, kind, s->in->name, "fixed",
					"fixed quotas need %llu, capacity %u - reserve %u leaves %llu",
					(unsigned long long)sum, cap,
					kp->reserve, (unsigned long long)avail);
	}
	for (i = 0; i < n; i++) {
		struct slot *s = by_name[i];

		if (s->cls == C_FIXED)
			continue;
		sum += s->lo;
		if (sum > avail) {
			bool by_min = s->cls != C_OFF && s->rule->min >= s->used;

			return plan_err(err, kind, s->in->name,
					by_min ? "min" : "used",
					"%s %u brings the guaranteed total to %llu, capacity %u - reserve %u leaves %llu",
					by_min ? "min" : "usage", s->lo,
					(unsigned long long)sum, cap,
					kp->reserve, (unsigned long long)avail);
		}
		if (s->cls == C_PCT) {
			pct[npct++] = s;
			pct_total += s->rule->percent;
		} else if (s->cls == C_WGT) {
			wgt[nwgt++] = s;
		}
	}

	split_percent(pct, npct, avail - sum, pct_total, tmp);
	pool = avail;
	for (i = 0; i < n; i++)
		if (by_name[i]->cls != C_WGT)
			pool -= by_name[i]->plan;
	split_weight(wgt, nwgt, pool, ev, tmp);
	return 0;
}

struct vacp_plan *vacp_plan_free(struct vacp_plan *plan)
{
	if (plan) {
		free(plan->quota);
		free(plan->steps);
		free(plan);
	}
	return NULL;
}

static void freep(void *p)
{
	free(*(void **)p);
}

static void plan_freep(struct vacp_plan **p)
{
	vacp_plan_free(*p);
}

static void add_step(struct vacp_plan *plan, const struct slot *s, int kind,
		     uint32_t from, uint32_t to)
{
	struct vacp_step *st = &plan->steps[plan->n_steps++];

	snprintf(st->instance, sizeof(st->instance), "%s", s->in->name);
	st->index = s->index;
	st->kind = kind;
	st->from = from;
	st->to = to;
}

int vacp_plan(const struct vacp_policy *pol,
	      const uint32_t capacity[VACP_NR_KINDS],
	      const struct vacp_instance *inst, size_t n,
	      struct vacp_plan **out, struct vacp_err *err)
{
	__attribute__((cleanup(freep))) struct slot *slots = NULL;
	__attribute__((cleanup(freep))) struct slot **by_name = NULL;
	__attribute__((cleanup(freep))) struct slot **buf = NULL;
	__attribute__((cleanup(freep))) struct event *ev = NULL;
	__attribute__((cleanup(plan_freep))) struct vacp_plan *plan = NULL;
	size_t i;
	int k, ret;

	if (n > VAC_MAX_INSTANCES) {
		plan_err(err, -1, NULL, NULL, "more than %d instances",
			 VAC_MAX_INSTANCES);
		return -EINVAL;
	}
	slots = calloc(n + 1, sizeof(*slots));
	by_name = calloc(n + 1, sizeof(*by_name));
	buf = calloc(3 * n + 1, sizeof(*buf));
	ev = calloc(2 * n + 1, sizeof(*ev));
	plan = calloc(1, sizeof(*plan));
	if (!slots || !by_name || !buf || !ev || !plan)
		return -ENOMEM;
	plan->quota = calloc(n + 1, sizeof(*plan->quota));
	plan->steps = calloc(n * VACP_NR_KINDS + 1, sizeof(*plan->steps));
	if (!plan->quota || !plan->steps)
		return -ENOMEM;
	plan->n_instances = n;

	for (i = 0; i < n; i++) {
		if (!inst[i].name || !*inst[i].name ||
		    strlen(inst[i].name) >= VAC_NAME_LEN) {
			plan_err(err, -1, NULL, NULL,
				 "instance %zu: name must be 1 to %d characters",
				 i, VAC_NAME_LEN - 1);
			return -EINVAL;
		}
		slots[i].in = &inst[i];
		slots[i].index = i;
		by_name[i] = &slots[i];
	}
	qsort(by_name, n, sizeof(*by_name), name_cmp);
	for (i = 0; i < n; i++) {
		by_name[i]->rank = i;
		if (i && !strcmp(by_name[i]->in->name, by_name[i - 1]->in->name)) {
			plan_err(err, -1, by_name[i]->in->name, NULL,
				 "duplicate instance");
			return -EINVAL;
		}
	}

	for (k = 0; k < VACP_NR_KINDS; k++) {
		if (!pol->kind[k].present) {
			for (i = 0; i < n; i++)
				plan->quota[i][k] = inst[i].quota[k];
			continue;
		}
		ret = plan_kind(pol, k, capacity[k], by_name, n, buf, ev, err);
		if (ret)
			return ret;
		for (i = 0; i < n; i++)
			plan->quota[i][k] = (uint32_t)slots[i].plan;
	}

	for (int grow = 0; grow < 2; grow++)
		for (k = 0; k < VACP_NR_KINDS; k++)
			for (i = 0; i < n; i++) {
				const struct slot *s = by_name[i];
				uint32_t from = s->in->quota[k];
				uint32_t to = plan->quota[s->index][k];

				if (grow ? to > from : to < from)
					add_step(plan, s, k, from, to);
			}

	*out = plan;
	plan = NULL;
	return 0;
}
