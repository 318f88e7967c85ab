// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * brokerctl profile: list, show, set and delete profiles; apply one to an
 * instance, and show the drift of the one last applied.
 *
 * May call: request.c, print.c, args.c.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "brokerctl.h"

const char ctl_profile_help[] =
"Usage: brokerctl profile list\n"
"       brokerctl profile show NAME\n"
"       brokerctl profile set NAME FILE|-\n"
"       brokerctl profile delete NAME\n"
"       brokerctl profile apply NAME INSTANCE\n"
"       brokerctl profile status INSTANCE\n"
"\n"
"A profile is a named bundle of quotas and KVM module parameters:\n"
"  {\"quotas\": {\"asids\": 64, ...}, \"params\": {\"halt_poll_ns\": \"0\", ...}}\n"
"\n"
"list    every profile\n"
"show    one profile\n"
"set     create or replace profile NAME from FILE (- for stdin)\n"
"delete  delete profile NAME\n"
"apply   set INSTANCE's quotas, write its runtime-writable parameters and\n"
"        render the load-time ones into a modprobe.d file; prints per\n"
"        parameter: applied, pending (next load), drifted or unknown\n"
"status  the same report for the profile last applied to INSTANCE, as\n"
"        the parameters are now (drift check); nothing is written\n"
"\n"
"Profile and instance names: [a-z0-9_]{1,31}.\n";

static const char *const report_fields[] = {
	"instance", "profile", "modprobe_file", NULL,
};

static const struct ctl_column report_cols[] = {
	{ "PARAM", "name" }, { "DESIRED", "desired" }, { "ACTUAL", "actual" },
	{ "STATUS", "status" }, { 0 },
};

static const struct ctl_view report_view = {
	.fields = report_fields, .rows = "params", .cols = report_cols,
};

static int check_profile_name(const char *name)
{
	if (!ctl_valid_name(name))
		return ctl_usage_error("profile", "bad profile name '%s': expected [a-z0-9_]{1,31}",
				       name);
	return 0;
}

/* The verbs' arguments: how many, and which are profile/instance names. */
static const struct profile_verb {
	const char *verb;
	int nargs;
	const char *args;	/* 'p' profile name, 'i' instance, 'f' file */
	const char *usage;
} profile_verbs[] = {
	{ "list", 0, "", "no arguments" },
	{ "show", 1, "p", "NAME" },
	{ "set", 2, "pf", "NAME FILE|-" },
	{ "delete", 1, "p", "NAME" },
	{ "apply", 2, "pi", "NAME INSTANCE" },
	{ "status", 1, "i", "INSTANCE" },
};

static int profile_check_args(const struct profile_verb *pv, char **args)
{
	int ret = 0;

	for (int i = 0; i < pv->nargs && !ret; i++)
		if (pv->args[i] == 'p')
			ret = check_profile_name(args[i]);
		else if (pv->args[i] == 'i')
			ret = ctl_check_name("profile", args[i]);
	return ret;
}

int ctl_profile(const struct ctl *ctl, int argc, char **argv)
{
	static const struct ctl_column cols[] = {
		{ "NAME", "name" }, { "QUOTAS", "quotas" }, { "PARAMS", "params" },
		{ 0 },
	};
	static const struct ctl_view list_view = { .rows = "profiles", .cols = cols };
	static const char *const fields[] = { "name", "quotas", "params", NULL };
	static const struct ctl_view show_view = { .fields = fields };
	const struct profile_verb *pv = NULL;
	char path[160];
	json_t *body;
	int ret;

	if (ctl_wants_help(argc, argv))
		return ctl_show_help(ctl_profile_help);
	if (!argc)
		return ctl_usage_error("profile", "missing verb: list, show, set, delete, apply or status");
	for (size_t i = 0; i < sizeof(profile_verbs) / sizeof(profile_verbs[0]); i++)
		if (!strcmp(argv[0], profile_verbs[i].verb))
			pv = &profile_verbs[i];
	if (!pv)
		return ctl_usage_error("profile", "unknown verb '%s'", argv[0]);
	if (argc - 1 != pv->nargs)
		return ctl_usage_error("profile", "%s takes %s", pv->verb, pv->usage);
	ret = profile_check_args(pv, argv + 1);
	if (ret)
		return ret;
	if (!strcmp(pv->verb, "list"))
		return ctl_get(ctl, "/v1/profiles", &list_view);
	if (!strcmp(pv->verb, "status")) {
		snprintf(path, sizeof(path), "/v1/instances/%s/profile", argv[1]);
		return ctl_get(ctl, path, &report_view);
	}
	if (!strcmp(pv->verb, "apply")) {
		json_t *doc;

		snprintf(path, sizeof(path), "/v1/instances/%s/profile", argv[2]);
		body = json_pack("{s:s}", "profile", argv[1]);
		ret = ctl_request(ctl, "POST", path, body, NULL, &doc);
		if (!ret)
			ctl_emit(ctl, doc ? doc : json_null(), &report_view);
		json_decref(doc);
		json_decref(body);
		return ret;
	}
	snprintf(path, sizeof(path), "/v1/profiles/%s", argv[1]);
	if (!strcmp(pv->verb, "show"))
		return ctl_get(ctl, path, &show_view);
	if (!strcmp(pv->verb, "set"))
		return ctl_send_document(ctl, "profile", "PUT", path, argv[2], NULL,
					 &show_view);
	return ctl_delete(ctl, path, argv[1]);
}
