// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of the policy library (policy/): the document parser's
 * rejections, each naming the JSON path; the planner's rules, table
 * driven; and randomized property tests over generated policies and
 * instances (fixed seed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "vac_policy.h"

/* The tables below leave trailing fields zero on purpose. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define K		VAC_RES_VPIDS	/* the kind the tables use */

static struct vacp_policy *parse_ok(const char *json)
{
	struct vacp_policy *p = NULL;
	struct vacp_err err;
	int ret = vacp_policy_parse(json, strlen(json), &p, &err);

	if (ret)
		print_error("parse: %s\n", err.msg);
	assert_int_equal(ret, 0);
	assert_non_null(p);
	return p;
}

/* ---- parser ---- */

struct perr_case {
	const char *json;
	const char *path;
};

static const struct perr_case perr_cases[] = {
	{ "{", "" },
	{ "[]", "" },
	{ "{}", "kinds" },
	{ "{\"kinds\": {}, \"x\": 1}", "x" },
	{ "{\"kinds\": []}", "kinds" },
	{ "{\"kinds\": {\"bogus\": {}}}", "kinds.bogus" },
	{ "{\"kinds\": {\"vpids\": 3}}", "kinds.vpids" },
	{ "{\"kinds\": {\"vpids\": {\"spare\": 3}}}", "kinds.vpids.spare" },
	{ "{\"kinds\": {\"vpids\": {\"reserve\": -1}}}", "kinds.vpids.reserve" },
	{ "{\"kinds\": {\"vpids\": {\"reserve\": \"10\"}}}", "kinds.vpids.reserve" },
	{ "{\"kinds\": {\"vpids\": {\"reserve\": 1.5}}}", "kinds.vpids.reserve" },
	{ "{\"kinds\": {\"vpids\": {\"reserve\": 99999999999}}}", "kinds.vpids.reserve" },
	{ "{\"kinds\": {\"vpids\": {\"keep_offline\": 1}}}", "kinds.vpids.keep_offline" },
	{ "{\"kinds\": {\"vpids\": {\"default\": {\"percent\": 10}}}}", "kinds.vpids.default.percent" },
	{ "{\"kinds\": {\"vpids\": {\"default\": {\"weight\": -2}}}}", "kinds.vpids.default.weight" },
	{ "{\"kinds\": {\"vpids\": {\"default\": {\"min\": 5, \"max\": 4}}}}", "kinds.vpids.default.min" },
	{ "{\"kinds\": {\"vpids\": {\"instances\": []}}}", "kinds.vpids.instances" },
	{ "{\"kinds\": {\"vpids\": {\"instances\": {\"kvm_a\": 1}}}}", "kinds.vpids.instances.kvm_a" },
	{ "{\"kinds\": {\"vpids\": {\"instances\": {\"kvm_a\": {\"min\": -1}}}}}", "kinds.vpids.instances.kvm_a.min" },
	{ "{\"kinds\": {\"vpids\": {\"instances\": {\"kvm_a\": {\"min\": 20, \"max\": 10}}}}}", "kinds.vpids.instances.kvm_a.min" },
	{ "{\"kinds\": {\"vpids\": {\"instances\": {\"kvm_a\": {\"max\": true}}}}}", "kinds.vpids.instances.kvm_a.max" },
	{ "{\"kinds\": {\"vpids\": {\"instances\": {\"kvm_a\": {\"wieght\": 1}}}}}", "kinds.vpids.instances.kvm_a.wieght" },
	{ "{\"kinds\": {\"vpids\": {\"instances\": {\"kvm_a\": {\"fixed\": 10, \"weight\": 1}}}}}", "kinds.vpids.instances.kvm_a.fixed" },
	{ "{\"kinds\": {\"vpids\": {\"instances\": {\"kvm_a\": {\"percent\": 10, \"fixed\": 1}}}}}", "kinds.vpids.instances.kvm_a.fixed" },
	{ "{\"kinds\": {\"vpids\": {\"instances\": {\"kvm_a\": {\"fixed\": 10, \"min\": 1}}}}}", "kinds.vpids.instances.kvm_a.fixed" },
	{ "{\"kinds\": {\"vpids\": {\"instances\": {\"kvm_a\": {\"percent\": 10, \"weight\": 1}}}}}", "kinds.vpids.instances.kvm_a.percent" },
	{ "{\"kinds\": {\"vpids\": {\"instances\": {\"kvm_a\": {\"percent\": 101}}}}}", "kinds.vpids.instances.kvm_a.percent" },
	{ "{\"kinds\": {\"vpids\": {\"instances\": {\"kvm_a\": {\"percent\": 60}, \"kvm_b\": {\"percent\": 41}}}}}", "kinds.vpids.instances.kvm_b.percent" },
	{ "{\"kinds\": {\"vpids\": {\"instances\": {\"kvm_a\": {\"weight\": 1000001}}}}}", "kinds.vpids.instances.kvm_a.weight" },
	{ "{\"kinds\": {\"vpids\": {\"instances\": {\"\": {}}}}}", "kinds.vpids.instances." },
	{ "{\"kinds\": {\"vpids\": {\"instances\": {\"a_name_much_longer_than_32_characters\": {}}}}}",
	  "kinds.vpids.instances.a_name_much_longer_than_32_characters" },
	{ "{\"kinds\": {\"vpids\": {}, \"vpids\": {}}}", "" },
};

static void test_parse_errors_name_the_path(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(perr_cases); i++) {
		const struct perr_case *c = &perr_cases[i];
		struct vacp_policy *p = (void *)0x1;
		struct vacp_err err;
		int ret = vacp_policy_parse(c->json, strlen(c->json), &p, &err);

		if (ret != -EINVAL || strcmp(err.path, c->path))
			print_error("case %zu: %s -> %d path '%s' (%s)\n", i,
				    c->json, ret, err.path, err.msg);
		assert_int_equal(ret, -EINVAL);
		assert_string_equal(err.path, c->path);
		assert_non_null(strstr(err.msg, *c->path ? c->path : "(document)"));
		assert_ptr_equal(p, (void *)0x1);	/* untouched */
	}
}

static void test_parse_good_document(void **state)
{
	const char *json =
		"{\"kinds\": {\"vpids\": {\"reserve\": 100, \"keep_offline\": true,"
		" \"default\": {\"weight\": 2, \"max\": 50},"
		" \"instances\": {\"kvm_b\": {\"fixed\": 1000},"
		"  \"kvm_a\": {\"min\": 10, \"max\": 500, \"weight\": 3},"
		"  \"kvm_c\": {\"percent\": 40, \"min\": 5}}},"
		" \"asids\": {}}}";
	struct vacp_policy *p = parse_ok(json);
	const struct vacp_kind_policy *kp = &p->kind[VAC_RES_VPIDS];
	const struct vacp_rule *r;

	assert_true(kp->present);
	assert_true(p->kind[VAC_RES_ASIDS].present);
	assert_false(p->kind[VAC_RES_SEV_ASIDS].present);
	assert_int_equal(kp->reserve, 100);
	assert_true(kp->keep_offline);
	assert_int_equal(kp->n_rules, 3);
	assert_string_equal(kp->rules[0].name, "kvm_a");	/* sorted */
	r = vacp_policy_rule(p, K, "kvm_a");
	assert_int_equal(r->type, VACP_RULE_WEIGHT);
	assert_int_equal(r->min, 10);
	assert_int_equal(r->max, 500);
	assert_int_equal(r->weight, 3);
	r = vacp_policy_rule(p, K, "kvm_b");
	assert_int_equal(r->type, VACP_RULE_FIXED);
	assert_int_equal(r->fixed, 1000);
	r = vacp_policy_rule(p, K, "kvm_c");
	assert_int_equal(r->type, VACP_RULE_PERCENT);
	assert_int_equal(r->percent, 40);
	assert_int_equal(r->weight, 1);
	r = vacp_policy_rule(p, K, "kvm_zz");	/* the default */
	assert_int_equal(r->weight, 2);
	assert_int_equal(r->max, 50);
	r = vacp_policy_rule(p, VAC_RES_ASIDS, "kvm_a");
	assert_int_equal(r->weight, 1);
	assert_int_equal(r->max, VACP_NO_MAX);
	r = vacp_policy_rule(p, VAC_RES_MSR_SLOTS, "kvm_a");	/* absent kind */
	assert_int_equal(r->weight, 1);
	assert_int_equal(r->max, VACP_NO_MAX);
	vacp_policy_free(p);
}

/* The documented examples parse. */
static void test_parse_examples(void **state)
{
	static const char *const files[] = {
		"shared-host.json", "sev-tenants.json", "even-split.json",
	};
	char path[512], buf[8192];

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		FILE *f;
		size_t len;

		snprintf(path, sizeof(path), "%s/%s", VACP_EXAMPLES_DIR,
			 files[i]);
		f = fopen(path, "re");
		assert_non_null(f);
		len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = 0;
		vacp_policy_free(parse_ok(buf));
	}
	assert_null(vacp_policy_free(NULL));
	assert_null(vacp_plan_free(NULL));
}

/* ---- planner, table driven (one kind: vpids) ---- */

struct pin {
	const char *name;
	int offline;
	uint32_t quota, used;
};

struct pcase {
	const char *what;
	const char *json;	/* the vpids entry */
	uint32_t cap;
	struct pin in[6];
	uint32_t want[6];
	const char *constraint;	/* expected failure, or NULL */
	const char *inst;	/* the instance it names */
};

static const struct pcase pcases[] = {
	{ "fixed first, rest by weight",
	  "{\"instances\": {\"a\": {\"fixed\": 100}}}", 1000,
	  { { "a" }, { "b" }, { "c" } }, { 100, 450, 450 } },
	{ "min then weight on top",
	  "{\"instances\": {\"a\": {\"min\": 600}}}", 1000,
	  { { "a" }, { "b" }, { "c" } }, { 734, 133, 133 } },
	{ "max caps, excess to the others",
	  "{\"instances\": {\"a\": {\"max\": 100}}}", 1000,
	  { { "a" }, { "b" }, { "c" } }, { 100, 450, 450 } },
	{ "all capped leaves the rest free",
	  "{\"default\": {\"max\": 100}}", 1000,
	  { { "a" }, { "b" } }, { 100, 100 } },
	{ "weights",
	  "{\"instances\": {\"a\": {\"weight\": 3}}}", 1000,
	  { { "a" }, { "b" } }, { 750, 250 } },
	{ "weight 0 gets only its min",
	  "{\"instances\": {\"a\": {\"weight\": 0, \"min\": 7}}}", 1000,
	  { { "a" }, { "b" } }, { 7, 993 } },
	{ "percents then weights",
	  "{\"instances\": {\"a\": {\"percent\": 40}, \"b\": {\"percent\": 10}}}", 1000,
	  { { "a" }, { "b" }, { "c" } }, { 400, 100, 500 } },
	{ "percent of what is left after fixed and mins",
	  "{\"instances\": {\"a\": {\"percent\": 50, \"min\": 100}, \"f\": {\"fixed\": 200}}}", 1000,
	  { { "a" }, { "c" }, { "f" } }, { 450, 350, 200 } },
	{ "percent capped by max, excess to weights",
	  "{\"instances\": {\"a\": {\"percent\": 50, \"max\": 100}}}", 1000,
	  { { "a" }, { "b" } }, { 100, 900 } },
	{ "reserve",
	  "{\"reserve\": 100}", 1000,
	  { { "a" }, { "b" } }, { 450, 450 } },
	{ "offline drops its share without keep_offline",
	  "{}", 1000,
	  { { "a", 1 }, { "b" }, { "c", 1, 9, 5 } }, { 0, 995, 5 } },
	{ "offline keeps its share with keep_offline",
	  "{\"keep_offline\": true}", 1000,
	  { { "a", 1 }, { "b" } }, { 500, 500 } },
	{ "offline fixed holds nothing without keep_offline",
	  "{\"instances\": {\"a\": {\"fixed\": 300}}}", 1000,
	  { { "a", 1 }, { "b" } }, { 0, 1000 } },
	{ "default entry for unnamed instances",
	  "{\"default\": {\"max\": 200}, \"instances\": {\"a\": {}}}", 1000,
	  { { "a" }, { "b" }, { "c" } }, { 600, 200, 200 } },
	{ "largest remainder, tie by name",
	  "{}", 10,
	  { { "c" }, { "b" }, { "a" } }, { 3, 3, 4 } },
	{ "largest remainder, biggest fraction wins",
	  "{\"instances\": {\"b\": {\"weight\": 2}}}", 10,
	  { { "a" }, { "b" } }, { 3, 7 } },
	{ "largest remainder for percents",
	  "{\"instances\": {\"a\": {\"percent\": 33}, \"b\": {\"percent\": 33}, \"c\": {\"percent\": 34}}}", 10,
	  { { "a" }, { "b" }, { "c" } }, { 3, 3, 4 } },
	{ "never below used",
	  "{}", 1000,
	  { { "a", 0, 900, 700 }, { "b" } }, { 700, 300 } },
	{ "infeasible: fixed over capacity - reserve",
	  "{\"reserve\": 100, \"instances\": {\"a\": {\"fixed\": 500}, \"b\": {\"fixed\": 500}}}", 1000,
	  { { "a" }, { "b" } }, { 0 }, "fixed", "b" },
	{ "infeasible: fixed + mins",
	  "{\"instances\": {\"a\": {\"fixed\": 500}, \"b\": {\"min\": 300}, \"c\": {\"min\": 300}}}", 1000,
	  { { "a" }, { "b" }, { "c" } }, { 0 }, "min", "c" },
	{ "infeasible: usage above max",
	  "{\"instances\": {\"a\": {\"max\": 10}}}", 1000,
	  { { "a", 0, 20, 20 } }, { 0 }, "max", "a" },
	{ "infeasible: usage above fixed",
	  "{\"instances\": {\"a\": {\"fixed\": 10}}}", 1000,
	  { { "a", 0, 20, 20 } }, { 0 }, "fixed", "a" },
	{ "infeasible: usage over capacity - reserve",
	  "{\"reserve\": 500}", 1000,
	  { { "a", 0, 400, 400 }, { "b", 0, 400, 400 } }, { 0 }, "used", "b" },
	{ "infeasible: reserve over capacity",
	  "{\"reserve\": 2000}", 1000,
	  { { "a" } }, { 0 }, "reserve", "" },
};

static size_t pin_count(const struct pin *in)
{
	size_t n = 0;

	while (n < 6 && in[n].name)
		n++;
	return n;
}

static void test_plan_table(void **state)
{
	char json[1024];

	for (size_t i = 0; i < ARRAY_SIZE(pcases); i++) {
		const struct pcase *c = &pcases[i];
		struct vacp_instance in[6] = { 0 };
		uint32_t cap[VACP_NR_KINDS] = { 0 };
		struct vacp_plan *plan = NULL;
		struct vacp_policy *pol;
		struct vacp_err err;
		size_t n = pin_count(c->in);
		int ret;

		snprintf(json, sizeof(json), "{\"kinds\": {\"vpids\": %s}}",
			 c->json);
		pol = parse_ok(json);
		cap[K] = c->cap;
		for (size_t j = 0; j < n; j++) {
			in[j].name = c->in[j].name;
			in[j].online = !c->in[j].offline;
			in[j].quota[K] = c->in[j].quota;
			in[j].used[K] = c->in[j].used;
		}
		ret = vacp_plan(pol, cap, in, n, &plan, &err);
		print_message("case %zu (%s): %d %s\n", i, c->what, ret,
			      ret ? err.msg : "");
		if (c->constraint) {
			assert_int_equal(ret, -ERANGE);
			assert_null(plan);
			assert_string_equal(err.constraint, c->constraint);
			assert_string_equal(err.instance, c->inst);
			assert_int_equal(err.kind, K);
			assert_non_null(strstr(err.msg, "vpids"));
		} else {
			assert_int_equal(ret, 0);
			for (size_t j = 0; j < n; j++) {
				if (plan->quota[j][K] != c->want[j])
					print_error("%s: %u, want %u\n",
						    c->in[j].name,
						    plan->quota[j][K],
						    c->want[j]);
				assert_int_equal(plan->quota[j][K], c->want[j]);
			}
		}
		vacp_plan_free(plan);
		vacp_policy_free(pol);
	}
}

static void test_plan_shrinks_before_grows(void **state)
{
	struct vacp_policy *pol = parse_ok(
		"{\"kinds\": {\"vpids\": {}, \"asids\": {}}}");
	uint32_t cap[VACP_NR_KINDS] = { [K] = 1000, [VAC_RES_ASIDS] = 10 };
	struct vacp_instance in[] = {
		{ "a", true, { [K] = 100, [VAC_RES_ASIDS] = 9,
			       [VAC_RES_MSR_SLOTS] = 3 } },
		{ "b", true, { [K] = 800, [VAC_RES_ASIDS] = 1 } },
		{ "c", true, { [K] = 500, [VAC_RES_ASIDS] = 0 } },
	};
	struct vacp_plan *plan = NULL;
	struct vacp_err err;
	static const struct { const char *name; int kind; uint32_t from, to; }
	want[] = {
		{ "a", VAC_RES_ASIDS, 9, 4 },
		{ "b", K, 800, 333 },
		{ "c", K, 500, 333 },
		{ "b", VAC_RES_ASIDS, 1, 3 },
		{ "c", VAC_RES_ASIDS, 0, 3 },
		{ "a", K, 100, 334 },
	};

	assert_int_equal(vacp_plan(pol, cap, in, 3, &plan, &err), 0);
	assert_int_equal(plan->n_steps, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		assert_string_equal(plan->steps[i].instance, want[i].name);
		assert_int_equal(plan->steps[i].kind, want[i].kind);
		assert_int_equal(plan->steps[i].from, want[i].from);
		assert_int_equal(plan->steps[i].to, want[i].to);
		assert_string_equal(in[plan->steps[i].index].name, want[i].name);
	}
	/* a kind the policy does not name keeps its quotas */
	assert_int_equal(plan->quota[0][VAC_RES_MSR_SLOTS], 3);
	vacp_plan_free(plan);
	vacp_policy_free(pol);
}

static void test_plan_rejects_bad_input(void **state)
{
	struct vacp_policy *pol = parse_ok("{\"kinds\": {}}");
	uint32_t cap[VACP_NR_KINDS] = { 0 };
	struct vacp_instance in[] = { { "a", true }, { "a", true } };
	struct vacp_plan *plan = NULL;
	struct vacp_err err;

	assert_int_equal(vacp_plan(pol, cap, in, 2, &plan, &err), -EINVAL);
	assert_null(plan);
	in[1].name = "";
	assert_int_equal(vacp_plan(pol, cap, in, 2, &plan, &err), -EINVAL);
	assert_int_equal(vacp_plan(pol, cap, in, 0, &plan, &err), 0);
	assert_int_equal(plan->n_steps, 0);
	vacp_plan_free(plan);
	vacp_policy_free(pol);
}

/* The most instances the kernel allows, planned in one go. */
static void test_plan_at_scale(void **state)
{
	enum { N = VAC_MAX_INSTANCES };
	struct vacp_policy *pol = parse_ok(
		"{\"kinds\": {\"vpids\": {\"reserve\": 7, \"default\": {\"max\": 400000},"
		" \"instances\": {\"vm0001\": {\"fixed\": 5}, \"vm0002\": {\"percent\": 30}}}}}");
	uint32_t cap[VACP_NR_KINDS] = { [K] = 1000000007 };
	struct vacp_instance *in = calloc(N, sizeof(*in));
	char (*names)[8] = calloc(N, sizeof(*names));
	struct vacp_plan *plan = NULL;
	struct vacp_err err;
	uint64_t sum = 0;

	assert_non_null(in);
	assert_non_null(names);
	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "vm%04u",
			 (unsigned)((i * 7919) % N));
		in[i].name = names[i];
		in[i].online = i % 5 != 0;
		in[i].used[K] = (uint32_t)(i * 31 % 1000);
		in[i].quota[K] = in[i].used[K];
	}
	assert_int_equal(vacp_plan(pol, cap, in, N, &plan, &err), 0);
	for (size_t i = 0; i < N; i++) {
		sum += plan->quota[i][K];
		assert_true(plan->quota[i][K] >= in[i].used[K]);
	}
	assert_true(sum == 1000000000);
	vacp_plan_free(plan);
	vacp_policy_free(pol);
	free(names);
	free(in);
}

/* ---- randomized properties ---- */

#define NCASES		5000
#define MAXN		12
#define NK		2
static const int pkinds[NK] = { VAC_RES_ASIDS, VAC_RES_VPIDS };

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)	/* 0..n-1 */
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return n ? (uint32_t)(rng_state % n) : 0;
}

struct grule {
	int type;		/* -1 unnamed, else enum vacp_rule_type */
	uint32_t fixed, min, max, weight, percent;
	int has_min, has_max;
};

struct gen {
	size_t n;
	char names[MAXN][8];
	struct vacp_instance in[MAXN];
	uint32_t cap[VACP_NR_KINDS];
	uint32_t reserve[NK];
	int keep[NK];
	struct grule rule[NK][MAXN];
	struct grule def[NK];
};

static void put_rule(char **p, char *end, const struct grule *r)
{
	int sep = 0;

#define PUT(...) (*p += snprintf(*p, end - *p, __VA_ARGS__))
	PUT("{");
	if (r->type == VACP_RULE_FIXED) {
		PUT("\"fixed\": %u}", r->fixed);
		return;
	}
	if (r->has_min) {
		PUT("\"min\": %u", r->min);
		sep = 1;
	}
	if (r->has_max) {
		PUT("%s\"max\": %u", sep ? ", " : "", r->max);
		sep = 1;
	}
	if (r->type == VACP_RULE_PERCENT)
		PUT("%s\"percent\": %u", sep ? ", " : "", r->percent);
	else
		PUT("%s\"weight\": %u", sep ? ", " : "", r->weight);
	PUT("}");
}

static void gen_json(const struct gen *g, char *buf, size_t sz)
{
	char *cur = buf, **p = &cur, *end = buf + sz;

	PUT("{\"kinds\": {");
	for (int k = 0; k < NK; k++) {
		int first = 1;

		PUT("%s\"%s\": {\"reserve\": %u, \"keep_offline\": %s, \"default\": ",
		    k ? ", " : "", vacp_kind_name(pkinds[k]), g->reserve[k],
		    g->keep[k] ? "true" : "false");
		put_rule(p, end, &g->def[k]);
		PUT(", \"instances\": {");
		for (size_t i = 0; i < g->n; i++) {
			if (g->rule[k][i].type < 0)
				continue;
			PUT("%s\"%s\": ", first ? "" : ", ", g->names[i]);
			put_rule(p, end, &g->rule[k][i]);
			first = 0;
		}
		PUT("}}");
	}
	PUT("}}");
#undef PUT
	assert_true(cur < end);
}

static void gen_rule(struct grule *r, uint32_t cap, int allow_fixed,
		     uint32_t *pct_left)
{
	uint32_t t = rnd(10);

	memset(r, 0, sizeof(*r));
	r->weight = rnd(6);
	if (allow_fixed && t == 0) {
		r->type = VACP_RULE_FIXED;
		r->fixed = rnd(cap / 4 + 1);
		return;
	}
	r->type = VACP_RULE_WEIGHT;
	if (pct_left && t <= 2 && *pct_left) {
		r->type = VACP_RULE_PERCENT;
		r->percent = rnd(*pct_left + 1);
		*pct_left -= r->percent;
	}
	if (rnd(3) == 0) {
		r->has_min = 1;
		r->min = rnd(cap / 6 + 1);
	}
	if (rnd(3) == 0) {
		r->has_max = 1;
		r->max = r->min + rnd(cap / 2 + 1);
	}
}

static void gen_case(struct gen *g)
{
	memset(g, 0, sizeof(*g));
	g->n = rnd(MAXN + 1);
	for (size_t i = 0; i < g->n; i++) {
		snprintf(g->names[i], sizeof(g->names[i]), "i%02u", rnd(100));
		for (size_t j = 0; j < i; j++)
			if (!strcmp(g->names[i], g->names[j]))
				snprintf(g->names[i], sizeof(g->names[i]),
					 "x%02u", (unsigned)i % 100);
		g->in[i].name = g->names[i];
		g->in[i].online = rnd(4) != 0;
	}
	for (int k = 0; k < NK; k++) {
		int kind = pkinds[k];
		uint32_t cap = rnd(4) ? rnd(3000) : rnd(20);
		uint32_t pct_left = 100, left;

		g->cap[kind] = cap;
		g->reserve[k] = rnd(3) ? rnd(cap / 5 + 1) : 0;
		g->keep[k] = rnd(2);
		gen_rule(&g->def[k], cap, 1, NULL);
		if (rnd(2))
			g->def[k] = (struct grule){ .type = VACP_RULE_WEIGHT,
						    .weight = 1 };
		for (size_t i = 0; i < g->n; i++) {
			if (rnd(4) == 0)
				g->rule[k][i].type = -1;
			else
				gen_rule(&g->rule[k][i], cap, 1, &pct_left);
		}
		/* current quotas within capacity, usage within quotas */
		left = cap;
		for (size_t i = 0; i < g->n; i++) {
			uint32_t q = rnd(left / 2 + 1);

			left -= q;
			g->in[i].quota[kind] = q;
			g->in[i].used[kind] = rnd(3) ? rnd(q / 3 + 1) : 0;
		}
	}
}

static const struct grule *grule_of(const struct gen *g, int k, size_t i)
{
	return g->rule[k][i].type >= 0 ? &g->rule[k][i] : &g->def[k];
}

/*
 * An independent oracle of feasibility: usage within fixed and max of
 * every instance that holds a share, reserve within capacity, and all
 * floors (fixed, max(min, used), usage of the others) within
 * capacity - reserve.
 */
static int feasible_by_oracle(const struct gen *g)
{
	for (int k = 0; k < NK; k++) {
		int kind = pkinds[k];
		uint64_t need = 0;

		if (g->reserve[k] > g->cap[kind])
			return 0;
		for (size_t i = 0; i < g->n; i++) {
			const struct grule *r = grule_of(g, k, i);
			uint32_t used = g->in[i].used[kind];

			if (!g->in[i].online && !g->keep[k]) {
				need += used;
			} else if (r->type == VACP_RULE_FIXED) {
				if (used > r->fixed)
					return 0;
				need += r->fixed;
			} else {
				if (r->has_max && used > r->max)
					return 0;
				need += used > r->min ? used : r->min;
			}
		}
		if (need > g->cap[kind] - g->reserve[k])
			return 0;
	}
	return 1;
}

static void check_plan(const struct gen *g, const struct vacp_plan *plan)
{
	uint64_t sum[VACP_NR_KINDS] = { 0 };
	uint32_t cur[MAXN][VACP_NR_KINDS];
	int grown = 0;

	for (int k = 0; k < NK; k++) {
		int kind = pkinds[k];
		uint64_t s = 0;

		for (size_t i = 0; i < g->n; i++) {
			const struct grule *r = grule_of(g, k, i);
			uint32_t q = plan->quota[i][kind];
			uint32_t used = g->in[i].used[kind];

			s += q;
			assert_true(q >= used);
			if (!g->in[i].online && !g->keep[k]) {
				assert_int_equal(q, used);
			} else if (r->type == VACP_RULE_FIXED) {
				assert_int_equal(q, r->fixed);
			} else {
				assert_true(q >= r->min);
				if (r->has_max)
					assert_true(q <= r->max);
			}
		}
		assert_true(s <= g->cap[kind] - g->reserve[k]);
		/* work conserving when someone can still take more */
		for (size_t i = 0; i < g->n; i++) {
			const struct grule *r = grule_of(g, k, i);

			if ((g->in[i].online || g->keep[k]) &&
			    r->type == VACP_RULE_WEIGHT && r->weight &&
			    !r->has_max)
				assert_int_equal(s, g->cap[kind] - g->reserve[k]);
		}
	}
	/* applied step by step, never over capacity; shrinks first */
	for (size_t i = 0; i < g->n; i++)
		for (int kind = 0; kind < VACP_NR_KINDS; kind++) {
			cur[i][kind] = g->in[i].quota[kind];
			sum[kind] += cur[i][kind];
		}
	for (size_t s = 0; s < plan->n_steps; s++) {
		const struct vacp_step *st = &plan->steps[s];

		assert_int_equal(cur[st->index][st->kind], st->from);
		assert_int_not_equal(st->from, st->to);
		if (st->to > st->from)
			grown = 1;
		else
			assert_false(grown);
		sum[st->kind] += (int64_t)st->to - st->from;
		cur[st->index][st->kind] = st->to;
		assert_true(sum[st->kind] <= g->cap[st->kind]);
	}
	for (size_t i = 0; i < g->n; i++)
		for (int kind = 0; kind < VACP_NR_KINDS; kind++)
			assert_int_equal(cur[i][kind], plan->quota[i][kind]);
}

static int run(const struct gen *g, const struct vacp_instance *in,
	       struct vacp_plan **plan, struct vacp_err *err)
{
	char json[8192];
	struct vacp_policy *pol;
	int ret;

	gen_json(g, json, sizeof(json));
	pol = parse_ok(json);
	ret = vacp_plan(pol, g->cap, in, g->n, plan, err);
	vacp_policy_free(pol);
	return ret;
}

static void assert_same_plan(const struct gen *g, const struct vacp_plan *a,
			     const struct vacp_plan *b, const size_t *perm)
{
	/* b was planned from in[perm[i]] at position i */
	assert_int_equal(a->n_steps, b->n_steps);
	for (size_t i = 0; i < g->n; i++)
		assert_memory_equal(a->quota[perm[i]], b->quota[i],
				    sizeof(a->quota[0]));
	for (size_t s = 0; s < a->n_steps; s++) {
		assert_string_equal(a->steps[s].instance, b->steps[s].instance);
		assert_int_equal(a->steps[s].kind, b->steps[s].kind);
		assert_int_equal(a->steps[s].from, b->steps[s].from);
		assert_int_equal(a->steps[s].to, b->steps[s].to);
	}
}

static void test_plan_properties(void **state)
{
	size_t feasible = 0, weight_moves = 0;

	rng_state = 0x5eed0fdeadbeefULL;
	for (int c = 0; c < NCASES; c++) {
		struct gen g, g2;
		struct vacp_instance shuf[MAXN];
		size_t perm[MAXN];
		struct vacp_plan *a = NULL, *b = NULL, *d = NULL;
		struct vacp_err err, err2;
		int ret, ret2;

		gen_case(&g);
		ret = run(&g, g.in, &a, &err);
		assert_int_equal(ret == 0, feasible_by_oracle(&g));
		if (ret) {
			/* infeasible: always says which constraint */
			assert_int_equal(ret, -ERANGE);
			assert_non_null(err.constraint);
			assert_true(err.kind == pkinds[0] || err.kind == pkinds[1]);
			assert_null(a);
		} else {
			feasible++;
			check_plan(&g, a);
		}

		/* same input, same answer; the order of instances is moot */
		ret2 = run(&g, g.in, &b, &err2);
		assert_int_equal(ret, ret2);
		if (ret) {
			assert_string_equal(err.msg, err2.msg);
		} else {
			for (size_t i = 0; i < g.n; i++)
				perm[i] = i;
			assert_same_plan(&g, a, b, perm);
		}
		vacp_plan_free(b);
		b = NULL;
		for (size_t i = 0; i < g.n; i++)
			perm[i] = i;
		for (size_t i = g.n; i > 1; i--) {
			size_t j = rnd((uint32_t)i), t = perm[i - 1];

			perm[i - 1] = perm[j];
			perm[j] = t;
		}
		for (size_t i = 0; i < g.n; i++)
			shuf[i] = g.in[perm[i]];
		ret2 = run(&g, shuf, &b, &err2);
		assert_int_equal(ret, ret2);
		if (ret)
			assert_string_equal(err.msg, err2.msg);
		else
			assert_same_plan(&g, a, b, perm);

		/* a new weight moves quota only among weighted instances */
		if (!ret && g.n) {
			int k = (int)rnd(NK), kind = pkinds[k];
			size_t i = rnd((uint32_t)g.n);
			uint64_t wsum_a = 0, wsum_d = 0;

			g2 = g;
			if (g2.rule[k][i].type != VACP_RULE_WEIGHT ||
			    !g2.rule[k][i].weight)
				goto next;
			g2.rule[k][i].weight = 1 + rnd(9);
			assert_int_equal(run(&g2, g2.in, &d, &err2), 0);
			check_plan(&g2, d);
			for (size_t j = 0; j < g.n; j++) {
				const struct grule *r = grule_of(&g, k, j);
				int weighted = r->type == VACP_RULE_WEIGHT &&
					(g.in[j].online || g.keep[k]);

				if (weighted) {
					wsum_a += a->quota[j][kind];
					wsum_d += d->quota[j][kind];
				} else {
					assert_int_equal(a->quota[j][kind],
							 d->quota[j][kind]);
				}
				/* other kinds untouched */
				assert_int_equal(a->quota[j][pkinds[!k]],
						 d->quota[j][pkinds[!k]]);
			}
			assert_true(wsum_a == wsum_d);
			weight_moves++;
		}
next:
		vacp_plan_free(a);
		vacp_plan_free(b);
		vacp_plan_free(d);
	}
	print_message("%d cases, %zu feasible, %zu weight changes\n", NCASES,
		      feasible, weight_moves);
	/* the generator must exercise both outcomes */
	assert_true(feasible > NCASES / 4);
	assert_true(feasible < NCASES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_errors_name_the_path),
		cmocka_unit_test(test_parse_good_document),
		cmocka_unit_test(test_parse_examples),
		cmocka_unit_test(test_plan_table),
		cmocka_unit_test(test_plan_shrinks_before_grows),
		cmocka_unit_test(test_plan_rejects_bad_input),
		cmocka_unit_test(test_plan_at_scale),
		cmocka_unit_test(test_plan_properties),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
