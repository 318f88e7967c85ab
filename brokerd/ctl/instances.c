// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * brokerctl instances: list, show, declare and delete instances, wait for
 * one to be drained; and the view of one instance that quota uses too.
 *
 * May call: request.c, print.c, args.c.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "brokerctl.h"

const char ctl_instances_help[] =
"Usage: brokerctl instances [list]\n"
"       brokerctl instances show NAME\n"
"       brokerctl instances declare NAME\n"
"       brokerctl instances delete NAME\n"
"       brokerctl instances wait NAME --drained [--timeout SECONDS]\n"
"\n"
"list     every instance: state, module, VMs, generation, desired quotas\n"
"show     one instance: usage, desired quotas, what could not be applied,\n"
"         and the VMs its KVM build runs\n"
"declare  declare NAME before its KVM module loads\n"
"delete   delete a declared instance and its desired quotas\n"
"wait     until NAME's KVM build runs no VM (drained: it may be unloaded\n"
"         without stopping a guest); --timeout (default 600) bounds the\n"
"         wait, after which the exit status is 1\n";

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
	"name", "state", "module", "vms", "generation", NULL,
};

/* The VMs of `instances show`, after the quotas and the notes. */
static void print_vms(json_t *doc)
{
	static const struct ctl_column cols[] = {
		{ "VM", "id" }, { "PID", "pid" }, { "COMMAND", "comm" },
		{ "CREATED", "created" }, { 0 },
	};
	json_t *vms = json_object_get(doc, "vm_list");

	if (json_array_size(vms)) {
		putchar('\n');
		ctl_print_table(vms, cols);
	}
}

static const struct ctl_column quota_cols[] = {
	{ "KIND", "kind" }, { "DESIRED", "desired" }, { "QUOTA", "quota" },
	{ "USED", "used" }, { "PEAK", "peak" }, { "FAILCNT", "failcnt" },
	{ "RANGE", "range" }, { 0 },
};

const struct ctl_view ctl_instance_view = {
	.fields = instance_fields, .derive = quota_rows, .cols = quota_cols,
	.notes = true,
};

static const struct ctl_view show_view = {
	.fields = instance_fields, .derive = quota_rows, .cols = quota_cols,
	.notes = true, .after = print_vms,
};

/* The instance and, as "vm_list", the VMs its build runs. */
static int show(const struct ctl *ctl, const char *path)
{
	json_t *doc, *vms;
	char vpath[128];
	int ret;

	ret = ctl_request(ctl, "GET", path, NULL, NULL, &doc);
	if (ret)
		return ret;
	snprintf(vpath, sizeof(vpath), "%s/vms", path);
	ret = ctl_request(ctl, "GET", vpath, NULL, NULL, &vms);
	if (!ret) {
		json_object_set(doc, "vm_list", json_object_get(vms, "vms"));
		ctl_emit(ctl, doc, &show_view);
	}
	json_decref(vms);
	json_decref(doc);
	return ret;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* `wait NAME --drained [--timeout S]`: poll until the instance runs no VM. */
static int wait_drained(const struct ctl *ctl, int argc, char **argv)
{
	unsigned long long timeout = 600;
	bool drained = false;
	char path[96];
	double until;
	json_t *doc = NULL;
	int ret;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--drained")) {
			drained = true;
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			if (!ctl_parse_u64(argv[++i], 86400 * 365, &timeout))
				return ctl_usage_error("instances", "--timeout takes seconds, got '%s'",
						       argv[i]);
		} else {
			return ctl_usage_error("instances", "wait: unknown argument '%s'",
					       argv[i]);
		}
	}
	if (!drained)
		return ctl_usage_error("instances", "wait needs what to wait for: --drained");
	snprintf(path, sizeof(path), "/v1/instances/%s", argv[1]);
	until = now() + timeout;
	for (;;) {
		ret = ctl_request(ctl, "GET", path, NULL, NULL, &doc);
		if (ret)
			return ret;
		if (!json_integer_value(json_object_get(doc, "vms")))
			break;
		if (now() >= until) {
			fprintf(stderr, "brokerctl: timeout: %s still runs %" JSON_INTEGER_FORMAT
				" VMs after %llu s\n", argv[1],
				json_integer_value(json_object_get(doc, "vms")), timeout);
			json_decref(doc);
			return CTL_EXIT_REFUSED;
		}
		json_decref(doc);
		usleep(200 * 1000);
	}
	ctl_emit(ctl, doc, &ctl_instance_view);
	json_decref(doc);
	return 0;
}

int ctl_instances(const struct ctl *ctl, int argc, char **argv)
{
	static const struct ctl_column cols[] = {
		{ "NAME", "name" }, { "STATE", "state" }, { "MODULE", "module" },
		{ "VMS", "vms" }, { "GEN", "generation" }, { "DESIRED", "desired" },
		{ 0 },
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
	    strcmp(verb, "delete") && strcmp(verb, "wait"))
		return ctl_usage_error("instances", "unknown verb '%s'", verb);
	if (argc < 2 || (argc != 2 && strcmp(verb, "wait")))
		return ctl_usage_error("instances", "%s takes one instance name", verb);
	ret = ctl_check_name("instances", argv[1]);
	if (ret)
		return ret;
	if (!strcmp(verb, "wait"))
		return wait_drained(ctl, argc, argv);
	snprintf(path, sizeof(path), "/v1/instances/%s", argv[1]);
	if (!strcmp(verb, "show"))
		return show(ctl, path);
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
