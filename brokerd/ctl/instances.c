// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * brokerctl instances: list, show, declare and delete instances; and
 * the view of one instance that quota uses too.
 *
 * May call: request.c, print.c, args.c.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "brokerctl.h"

const char ctl_instances_help[] =
"Usage: brokerctl instances [list]\n"
"       brokerctl instances show NAME\n"
"       brokerctl instances declare NAME\n"
"       brokerctl instances delete NAME\n"
"\n"
"list     every instance: state, module, generation, desired quotas\n"
"show     one instance: usage, desired quotas, what could not be applied\n"
"declare  declare NAME before its KVM module loads\n"
"delete   delete a declared instance and its desired quotas\n";

/* "FIRST-LAST" of a kind handed out as one range (ASIDs), else NULL. */
static json_t *id_range(json_t *u)
{
	json_t *base = json_object_get(u, "base");
	json_int_t n = json_integer_value(json_object_get(u, "quota"));

	if (!json_is_integer(base) || n <= 0)
		return NULL;
	return json_sprintf("%" JSON_INTEGER_FORMAT "-%" JSON_INTEGER_FORMAT,
			    json_integer_value(base), json_integer_value(base) + n - 1);
}

/* An instance's quotas as rows, one per kind it has usage or a desire for. */
static json_t *quota_rows(json_t *inst)
{
	json_t *rows = json_array();
	json_t *usage = json_object_get(inst, "usage");
	json_t *desired = json_object_get(inst, "desired");

	for (size_t k = 0; k < CTL_N_KINDS; k++) {
		json_t *u = json_object_get(usage, ctl_kinds[k]);
		json_t *want = json_object_get(desired, ctl_kinds[k]);

		if (!u && !want)
			continue;
		json_array_append_new(rows, json_pack("{s:s, s:O?, s:O?, s:O?, s:O?, s:O?, s:o?}",
			"kind", ctl_kinds[k], "desired", want,
			"quota", json_object_get(u, "quota"),
			"used", json_object_get(u, "used"),
			"peak", json_object_get(u, "peak"),
			"failcnt", json_object_get(u, "failcnt"),
			"range", id_range(u)));
	}
	return rows;
}

static const char *const instance_fields[] = {
	"name", "state", "module", "generation", NULL,
};

static const struct ctl_column quota_cols[] = {
	{ "KIND", "kind" }, { "DESIRED", "desired" }, { "QUOTA", "quota" },
	{ "USED", "used" }, { "PEAK", "peak" }, { "FAILCNT", "failcnt" },
	{ "RANGE", "range" }, { 0 },
};

const struct ctl_view ctl_instance_view = {
	.fields = instance_fields, .derive = quota_rows, .cols = quota_cols,
	.notes = true,
};

int ctl_instances(const struct ctl *ctl, int argc, char **argv)
{
	static const struct ctl_column cols[] = {
		{ "NAME", "name" }, { "STATE", "state" }, { "MODULE", "module" },
		{ "GEN", "generation" }, { "DESIRED", "desired" }, { 0 },
	};
	static const struct ctl_view list_view = { .rows = "instances", .cols = cols };
	const char *verb = argc ? argv[0] : "list";
	char path[96];
	json_t *doc;
	int ret;

	if (ctl_wants_help(argc, argv))
		return ctl_show_help(ctl_instances_help);
	if (!strcmp(verb, "list")) {
		if (argc > 1)
			return ctl_usage_error("instances", "list takes no arguments");
		return ctl_get(ctl, "/v1/instances", &list_view);
	}
	if (strcmp(verb, "show") && strcmp(verb, "declare") &&
	    strcmp(verb, "delete"))
		return ctl_usage_error("instances", "unknown verb '%s'", verb);
	if (argc != 2)
		return ctl_usage_error("instances", "%s takes one instance name", verb);
	ret = ctl_check_name("instances", argv[1]);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/v1/instances/%s", argv[1]);
	if (!strcmp(verb, "show"))
		return ctl_get(ctl, path, &ctl_instance_view);
	if (!strcmp(verb, "declare")) {
		ret = ctl_request(ctl, "PUT", path, NULL, NULL, &doc);
		if (!ret)
			ctl_emit(ctl, doc ? doc : json_null(), &ctl_instance_view);
		json_decref(doc);
		return ret;
	}
	ret = ctl_request(ctl, "DELETE", path, NULL, NULL, &doc);
	json_decref(doc);
	if (!ret) {
		doc = json_pack("{s:s}", "deleted", argv[1]);
		ctl_emit(ctl, doc, &ctl_plain_view);
		json_decref(doc);
	}
	return ret;
}
