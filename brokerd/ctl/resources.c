// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * brokerctl resources: capacity and usage of every resource kind.
 *
 * May call: request.c, print.c, args.c.
 */
#define _GNU_SOURCE
#include <string.h>

#include "brokerctl.h"

const char ctl_resources_help[] =
"Usage: brokerctl resources [show]\n"
"\n"
"Per resource kind: capacity, first id, reserved, used and free.\n";

int ctl_resources(const struct ctl *ctl, int argc, char **argv)
{
	static const char *const fields[] = { "backend", NULL };
	static const struct ctl_column cols[] = {
		{ "KIND", "kind" }, { "CAPACITY", "capacity" },
		{ "FIRST", "first" }, { "RESERVED", "reserved" },
		{ "USED", "used" }, { "FREE", "free" }, { "PROBED", "probed" },
		{ "OVERRIDDEN", "overridden" }, { 0 },
	};
	static const struct ctl_view v = {
		.fields = fields, .rows = "resources", .cols = cols,
	};

	if (ctl_wants_help(argc, argv))
		return ctl_show_help(ctl_resources_help);
	if (argc > 1 || (argc == 1 && strcmp(argv[0], "show") &&
			 strcmp(argv[0], "list")))
		return ctl_usage_error("resources", "unknown verb or argument '%s'",
				       argv[0]);
	return ctl_get(ctl, "/v1/resources", &v);
}
