// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * brokerctl policy: show, set, plan (a dry run), apply and delete the
 * quota policy.
 *
 * May call: request.c, print.c, args.c.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "brokerctl.h"

static const struct ctl_column plan_cols[] = {
	{ "INSTANCE", "instance" }, { "KIND", "kind" }, { "FROM", "from" },
	{ "TO", "to" }, { 0 },
};

static json_t *plan_steps(json_t *doc)
{
	return json_incref(json_object_get(json_object_get(doc, "plan"), "steps"));
}

/* After the steps: the planned quotas and what could not be applied. */
static void print_plan_rest(json_t *doc)
{
	static const struct ctl_column cols[] = {
		{ "INSTANCE", "instance" }, { "PLANNED QUOTAS", "quotas" }, { 0 },
	};
	json_t *plan = json_object_get(doc, "plan");
	json_t *quotas = json_object_get(plan, "quotas");
	json_t *rows = json_array(), *q, *item;
	const char *name;
	size_t i;

	if (!json_array_size(json_object_get(plan, "steps")))
		printf("(no change)\n");
	json_object_foreach(quotas, name, q)
		json_array_append_new(rows, json_pack("{s:s, s:O}", "instance",
						      name, "quotas", q));
	if (json_array_size(rows)) {
		putchar('\n');
		ctl_print_table(rows, cols);
	}
	json_decref(rows);
	json_array_foreach(json_object_get(doc, "errors"), i, item) {
		char *t = ctl_format_value(item);

		printf("error: %s\n", t ? t : "");
		free(t);
	}
}

static const char *const applied_fields[] = { "generation", "applied", NULL };

static const struct ctl_view applied_view = {
	.fields = applied_fields, .derive = plan_steps, .cols = plan_cols,
	.after = print_plan_rest,
};

static const struct ctl_view plan_view = {
	.derive = plan_steps, .cols = plan_cols, .after = print_plan_rest,
};

static void print_policy(json_t *doc)
{
	json_t *p = json_object_get(doc, "policy");

	if (!p || json_is_null(p)) {
		printf("no policy stored\n");
		return;
	}
	json_dumpf(p, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
}

static const char *const generation_field[] = { "generation", NULL };

static const struct ctl_view policy_view = {
	.fields = generation_field, .after = print_policy,
};

const char ctl_policy_help[] =
"Usage: brokerctl policy show\n"
"       brokerctl policy set FILE|- [--if-match GEN]\n"
"       brokerctl policy plan [FILE|-]\n"
"       brokerctl policy apply\n"
"       brokerctl policy delete\n"
"\n"
"show    the stored policy document and its generation\n"
"set     store the policy in FILE (- for stdin) and apply it: prints the\n"
"        plan (shrinks before grows) and what could not be applied\n"
"plan    dry run: the plan for the stored policy, or for FILE; nothing\n"
"        changes\n"
"apply   re-plan the stored policy against the current usage and apply it\n"
"delete  forget the stored policy; the quotas stay as they are\n"
"\n"
"The document format is described in policy/README.md.  An invalid\n"
"document (422) or a plan that cannot fit (409) changes nothing.\n";

/* "policy set FILE [--if-match GEN]": the file, and the generation. */
static int policy_set_args(int argc, char **argv, const char **file,
			   const char **if_match)
{
	unsigned long long gen;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--if-match")) {
			*if_match = i + 1 < argc ? argv[++i] : NULL;
			if (!*if_match || !ctl_parse_u64(*if_match, UINT64_MAX, &gen))
				return ctl_usage_error("policy", "--if-match takes a generation (a non-negative integer)");
		} else if (a[0] == '-' && a[1]) {
			return ctl_usage_error("policy", "unknown option '%s'", a);
		} else if (*file) {
			return ctl_usage_error("policy", "unexpected argument '%s'", a);
		} else {
			*file = a;
		}
	}
	if (!*file)
		return ctl_usage_error("policy", "set needs a FILE (- for stdin)");
	return 0;
}

int ctl_policy(const struct ctl *ctl, int argc, char **argv)
{
	const char *file = NULL, *if_match = NULL, *verb;
	int ret;

	if (ctl_wants_help(argc, argv))
		return ctl_show_help(ctl_policy_help);
	if (!argc)
		return ctl_usage_error("policy", "missing verb: show, set, plan, apply or delete");
	verb = argv[0];
	if (!strcmp(verb, "set")) {
		ret = policy_set_args(argc - 1, argv + 1, &file, &if_match);
		if (ret)
			return ret;
		return ctl_send_document(ctl, "policy", "PUT", "/v1/policy", file,
					 if_match, &applied_view);
	}
	if (!strcmp(verb, "plan")) {
		if (argc > 2)
			return ctl_usage_error("policy", "plan takes at most one FILE");
		return ctl_send_document(ctl, "policy", "POST", "/v1/policy/plan",
					 argc == 2 ? argv[1] : NULL, NULL, &plan_view);
	}
	if (strcmp(verb, "show") && strcmp(verb, "apply") && strcmp(verb, "delete"))
		return ctl_usage_error("policy", "unknown verb '%s'", verb);
	if (argc > 1)
		return ctl_usage_error("policy", "%s takes no arguments", verb);
	if (!strcmp(verb, "show"))
		return ctl_get(ctl, "/v1/policy", &policy_view);
	if (!strcmp(verb, "apply"))
		return ctl_send_document(ctl, "policy", "POST", "/v1/policy/apply",
					 NULL, NULL, &applied_view);
	return ctl_delete(ctl, "/v1/policy", "policy");
}
