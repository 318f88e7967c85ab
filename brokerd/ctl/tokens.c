// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * brokerctl token: create, list and revoke bearer tokens.
 *
 * May call: request.c, print.c, args.c.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "brokerctl.h"

const char ctl_token_help[] =
"Usage: brokerctl token create NAME --role ROLE [--instance INST]... [--expires WHEN]\n"
"       brokerctl token list\n"
"       brokerctl token revoke ID\n"
"\n"
"NAME is 1 to 63 of [A-Za-z0-9_.-]; ROLE is viewer, operator or admin;\n"
"--instance (repeatable) scopes the token to some instances; WHEN is a\n"
"time in Unix seconds.  create prints the secret token once; ID is the\n"
"token's id as 'token list' shows it.\n";

static const char *const roles[] = { "viewer", "operator", "admin" };

static int token_create(const struct ctl *ctl, int argc, char **argv)
{
	const char *name = NULL, *role = NULL, *expires = NULL;
	json_t *instances = json_array(), *body, *doc;
	unsigned long long when = 0;
	int ret;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;
		const char *opt = NULL;

		if (!strcmp(a, "--role"))
			dst = &role, opt = a;
		else if (!strcmp(a, "--expires"))
			dst = &expires, opt = a;
		else if (!strcmp(a, "--instance"))
			opt = a;
		if (opt) {
			const char *v = i + 1 < argc ? argv[++i] : NULL;

			if (!v) {
				json_decref(instances);
				return ctl_usage_error("token", "%s needs a value", opt);
			}
			if (dst) {
				*dst = v;
				continue;
			}
			ret = ctl_check_name("token", v);
			if (ret) {
				json_decref(instances);
				return ret;
			}
			json_array_append_new(instances, json_string(v));
		} else if (a[0] == '-') {
			json_decref(instances);
			return ctl_usage_error("token", "unknown option '%s'", a);
		} else if (!name) {
			name = a;
		} else {
			json_decref(instances);
			return ctl_usage_error("token", "unexpected argument '%s'", a);
		}
	}
	ret = !name ? ctl_usage_error("token", "create needs a name") :
	      !role ? ctl_usage_error("token", "create needs --role viewer|operator|admin") : 0;
	if (!ret && strcmp(role, roles[0]) && strcmp(role, roles[1]) &&
	    strcmp(role, roles[2]))
		ret = ctl_usage_error("token", "unknown role '%s': expected viewer, operator or admin",
				      role);
	if (!ret && (!*name || strlen(name) > 63 ||
		     strspn(name, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(name)))
		ret = ctl_usage_error("token", "bad token name '%s': expected 1 to 63 of [A-Za-z0-9_.-]",
				      name);
	if (!ret && expires && !ctl_parse_u64(expires, INT64_MAX, &when))
		ret = ctl_usage_error("token", "bad --expires '%s': expected a time in Unix seconds",
				      expires);
	if (ret) {
		json_decref(instances);
		return ret;
	}
	body = json_pack("{s:s, s:s}", "name", name, "role", role);
	if (json_array_size(instances))
		json_object_set(body, "instances", instances);
	if (expires)
		json_object_set_new(body, "expires", json_integer((json_int_t)when));
	json_decref(instances);
	ret = ctl_request(ctl, "POST", "/v1/tokens", body, NULL, &doc);
	if (!ret)
		ctl_emit(ctl, doc ? doc : json_null(), &ctl_plain_view);
	json_decref(doc);
	json_decref(body);
	return ret;
}

int ctl_token(const struct ctl *ctl, int argc, char **argv)
{
	static const struct ctl_column cols[] = {
		{ "ID", "id" }, { "NAME", "name" }, { "ROLE", "role" },
		{ "INSTANCES", "instances" }, { "CREATED", "created" },
		{ "EXPIRES", "expires" }, { 0 },
	};
	static const struct ctl_view list_view = { .rows = "tokens", .cols = cols };
	char path[160];
	json_t *doc;
	int ret;

	if (ctl_wants_help(argc, argv))
		return ctl_show_help(ctl_token_help);
	if (!argc)
		return ctl_usage_error("token", "missing verb: create, list or revoke");
	if (!strcmp(argv[0], "create"))
		return token_create(ctl, argc - 1, argv + 1);
	if (!strcmp(argv[0], "list")) {
		if (argc > 1)
			return ctl_usage_error("token", "list takes no arguments");
		return ctl_get(ctl, "/v1/tokens", &list_view);
	}
	if (strcmp(argv[0], "revoke"))
		return ctl_usage_error("token", "unknown verb '%s'", argv[0]);
	if (argc != 2)
		return ctl_usage_error("token", "revoke takes one token id");
	for (const char *p = argv[1]; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return ctl_usage_error("token", "bad token id '%s'", argv[1]);
	if (!*argv[1] || strlen(argv[1]) > 64)
		return ctl_usage_error("token", "bad token id '%s'", argv[1]);
	snprintf(path, sizeof(path), "/v1/tokens/%s", argv[1]);
	ret = ctl_request(ctl, "DELETE", path, NULL, NULL, &doc);
	json_decref(doc);
	if (!ret) {
		doc = json_pack("{s:s}", "revoked", argv[1]);
		ctl_emit(ctl, doc, &ctl_plain_view);
		json_decref(doc);
	}
	return ret;
}
