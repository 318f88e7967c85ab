// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * brokerctl quota: get and set an instance's quotas, all or nothing.
 *
 * May call: instances.c (its view), request.c, print.c, args.c.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "brokerctl.h"

const char ctl_quota_help[] =
"Usage: brokerctl quota get NAME\n"
"       brokerctl quota set NAME KIND=N [KIND=N...] [--force] [--if-match GEN]\n"
"\n"
"set is all or nothing.  KIND is one of asids, sev_asids, sev_es_asids,\n"
"vpids, pmu_counters, msr_slots; N is 0 to 4294967295.\n"
"  --force          let a quota go below what the instance uses\n"
"  --if-match GEN   only if the instance is still at generation GEN\n"
"\n"
"Example: brokerctl quota set kvm_b asids=1024 vpids=4096\n";

static int quota_set(const struct ctl *ctl, int argc, char **argv)
{
	const char *name = NULL, *if_match = NULL;
	json_t *quotas, *body, *doc;
	unsigned long long gen;
	bool force = false;
	char path[128];
	int ret;

	quotas = json_object();
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		unsigned long long v;
		int k;

		if (!strcmp(a, "--force")) {
			force = true;
		} else if (!strcmp(a, "--if-match") ||
			   !strncmp(a, "--if-match=", 11)) {
			if_match = a[10] == '=' ? a + 11 : i + 1 < argc ? argv[++i] : NULL;
			if (!if_match || !ctl_parse_u64(if_match, UINT64_MAX, &gen)) {
				json_decref(quotas);
				return ctl_usage_error("quota", "--if-match takes a generation (a non-negative integer)");
			}
		} else if (a[0] == '-' && !eq) {
			json_decref(quotas);
			return ctl_usage_error("quota", "unknown option '%s'", a);
		} else if (!name) {
			name = a;
			ret = ctl_check_name("quota", name);
			if (ret) {
				json_decref(quotas);
				return ret;
			}
		} else if (!eq) {
			json_decref(quotas);
			return ctl_usage_error("quota", "'%s': expected KIND=N", a);
		} else if ((k = ctl_find_kind(a, eq - a)) < 0) {
			json_decref(quotas);
			return ctl_usage_error("quota", "unknown kind '%.*s': expected one of asids, sev_asids, sev_es_asids, vpids, pmu_counters, msr_slots",
					       (int)(eq - a), a);
		} else if (!ctl_parse_u64(eq + 1, QUOTA_MAX, &v)) {
			json_decref(quotas);
			return ctl_usage_error("quota", "bad value '%s' for %s: expected an integer from 0 to %llu",
					       eq + 1, ctl_kinds[k], QUOTA_MAX);
		} else if (json_object_get(quotas, ctl_kinds[k])) {
			json_decref(quotas);
			return ctl_usage_error("quota", "%s given twice", ctl_kinds[k]);
		} else {
			json_object_set_new(quotas, ctl_kinds[k], json_integer((json_int_t)v));
		}
	}
	if (!name) {
		json_decref(quotas);
		return ctl_usage_error("quota", "set needs an instance name");
	}
	if (!json_object_size(quotas)) {
		json_decref(quotas);
		return ctl_usage_error("quota", "set needs at least one KIND=N");
	}
	body = json_pack("{s:o, s:b}", "quotas", quotas, "force", force);
	snprintf(path, sizeof(path), "/v1/instances/%s/quota", name);
	ret = ctl_request(ctl, "PUT", path, body, if_match, &doc);
	if (!ret)
		ctl_emit(ctl, doc ? doc : json_null(), &ctl_instance_view);
	json_decref(doc);
	json_decref(body);
	return ret;
}

int ctl_quota(const struct ctl *ctl, int argc, char **argv)
{
	char path[96];
	int ret;

	if (ctl_wants_help(argc, argv))
		return ctl_show_help(ctl_quota_help);
	if (!argc)
		return ctl_usage_error("quota", "missing verb: get or set");
	if (!strcmp(argv[0], "set"))
		return quota_set(ctl, argc - 1, argv + 1);
	if (strcmp(argv[0], "get"))
		return ctl_usage_error("quota", "unknown verb '%s'", argv[0]);
	if (argc != 2)
		return ctl_usage_error("quota", "get takes one instance name");
	ret = ctl_check_name("quota", argv[1]);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/v1/instances/%s", argv[1]);
	return ctl_get(ctl, path, &ctl_instance_view);
}
