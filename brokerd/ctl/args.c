// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * brokerctl's arguments: usage errors (exit 2, before any request),
 * instance names, numbers, resource kinds, a verb's --help.
 *
 * May call: the C library.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "brokerctl.h"

const char *const ctl_kinds[CTL_N_KINDS] = {
	"asids", "sev_asids", "sev_es_asids", "vpids", "pmu_counters", "msr_slots",
};

int ctl_usage_error(const char *object, const char *fmt, ...)
{
	va_list ap;

	fputs("brokerctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'brokerctl %s%s--help'.\n", object ? object : "",
		object ? " " : "");
	return CTL_EXIT_USAGE;
}

bool ctl_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 31)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
		    *s != '_')
			return false;
	return true;
}

int ctl_check_name(const char *object, const char *name)
{
	if (!ctl_valid_name(name))
		return ctl_usage_error(object, "bad instance name '%s': expected [a-z0-9_]{1,31}",
				       name);
	return 0;
}

bool ctl_parse_u64(const char *s, unsigned long long max,
		   unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

int ctl_find_kind(const char *s, size_t n)
{
	for (size_t k = 0; k < CTL_N_KINDS; k++)
		if (strlen(ctl_kinds[k]) == n && !strncmp(ctl_kinds[k], s, n))
			return (int)k;
	return -1;
}

/* Verb options: --help anywhere, "--" ends them. */
bool ctl_wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	return false;
}

int ctl_show_help(const char *text)
{
	fputs(text, stdout);
	return 0;
}
