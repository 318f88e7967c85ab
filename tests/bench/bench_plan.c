// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * bench_plan: the policy planner on N instances, for callgrind.
 *
 * Builds a policy that names every kind, with a rule of each type for a
 * third of the instances each (fixed, min/max/weight, percent) and a
 * default for the rest, and N instances whose current quotas all differ
 * from the plan, so that every instance gets steps.  Then calls vacp_plan
 * CALLS times.  tests/bench/run counts the instructions inside vacp_plan
 * with valgrind --tool=callgrind --toggle-collect=vacp_plan.
 *
 * Prints one JSON line: {"instances":N,"calls":C,"steps":S}.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vac_policy.h"

#define CAPACITY	1000000U

static int usage(void)
{
	fprintf(stderr, "usage: bench_plan INSTANCES [CALLS]\n"
		"  INSTANCES 1..%d, CALLS 1..1000 (default 1)\n",
		VAC_MAX_INSTANCES);
	return 2;
}

static void name_of(char *buf, size_t size, size_t i)
{
	snprintf(buf, size, "kvm_%05zu", i);
}

/* A rule for every third instance of each type; the rest take the default. */
static int rule_of(char *buf, size_t size, size_t i)
{
	switch (i % 4) {
	case 0:
		return snprintf(buf, size, "{\"fixed\":%zu}", 2 + i % 7);
	case 1:
		return snprintf(buf, size,
				"{\"min\":1,\"max\":%zu,\"weight\":%zu}",
				100 + i, 1 + i % 5);
	case 2:
		return snprintf(buf, size, "{\"percent\":0,\"min\":%zu}", 1 + i % 3);
	default:
		return 0;
	}
}

static char *policy_json(size_t n)
{
	size_t size = 256 + VACP_NR_KINDS * (128 + n * 96), len = 0;
	char *s = malloc(size), rule[80], name[VAC_NAME_LEN];

	if (!s)
		return NULL;
	len += snprintf(s + len, size - len, "{\"kinds\":{");
	for (int k = 0; k < VACP_NR_KINDS; k++) {
		bool first = true;

		len += snprintf(s + len, size - len,
				"%s\"%s\":{\"reserve\":%d,\"keep_offline\":true,"
				"\"default\":{\"weight\":2},\"instances\":{",
				k ? "," : "", vacp_kind_name(k), 10 + k);
		for (size_t i = 0; i < n; i++) {
			if (!rule_of(rule, sizeof(rule), i))
				continue;
			name_of(name, sizeof(name), i);
			len += snprintf(s + len, size - len, "%s\"%s\":%s",
					first ? "" : ",", name, rule);
			first = false;
		}
		len += snprintf(s + len, size - len, "}}");
	}
	snprintf(s + len, size - len, "}}");
	return s;
}

int main(int argc, char **argv)
{
	uint32_t cap[VACP_NR_KINDS];
	struct vacp_policy *pol = NULL;
	struct vacp_instance *inst;
	struct vacp_err err = { 0 };
	size_t n, calls = 1, steps = 0;
	char *json, (*names)[VAC_NAME_LEN];
	int ret;

	if (argc < 2 || argc > 3)
		return usage();
	n = strtoul(argv[1], NULL, 10);
	if (argc == 3)
		calls = strtoul(argv[2], NULL, 10);
	if (n < 1 || n > VAC_MAX_INSTANCES || calls < 1 || calls > 1000)
		return usage();

	json = policy_json(n);
	inst = calloc(n, sizeof(*inst));
	names = calloc(n, sizeof(*names));
	if (!json || !inst || !names) {
		fprintf(stderr, "bench_plan: out of memory\n");
		return 1;
	}
	ret = vacp_policy_parse(json, strlen(json), &pol, &err);
	if (ret) {
		fprintf(stderr, "bench_plan: policy: %s\n", err.msg);
		return 1;
	}
	for (int k = 0; k < VACP_NR_KINDS; k++)
		cap[k] = CAPACITY;
	/* Names in reverse order, so the planner's sort has work to do. */
	for (size_t i = 0; i < n; i++) {
		name_of(names[i], sizeof(names[i]), n - 1 - i);
		inst[i].name = names[i];
		inst[i].online = i % 10 != 9;
		for (int k = 0; k < VACP_NR_KINDS; k++) {
			inst[i].quota[k] = 1 + i % 3;
			inst[i].used[k] = i % 2;
		}
	}

	for (size_t c = 0; c < calls; c++) {
		struct vacp_plan *plan = NULL;

		ret = vacp_plan(pol, cap, inst, n, &plan, &err);
		if (ret) {
			fprintf(stderr, "bench_plan: plan: %s\n", err.msg);
			return 1;
		}
		steps = plan->n_steps;
		vacp_plan_free(plan);
	}
	printf("{\"instances\":%zu,\"calls\":%zu,\"steps\":%zu}\n", n, calls, steps);
	vacp_policy_free(pol);
	free(names);
	free(inst);
	free(json);
	return 0;
}
