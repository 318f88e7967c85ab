/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * vacpolicy: parameter profiles, a named bundle of quotas and KVM module
 * parameters.  The document:
 *
 *   {"quotas": {"asids": 64, "vpids": 1024},
 *    "params": {"halt_poll_ns": "0", "nx_huge_pages": "N"}}
 *
 * Both keys are optional.  Pure: no I/O, no globals, no logging; applying
 * a profile (sysfs, modprobe.d) is brokerd's business.
 */
#ifndef VAC_PROFILE_H
#define VAC_PROFILE_H

#include "vac_policy.h"

#define VACP_PARAM_NAME_LEN	64	/* [a-z0-9_]{1,63} and the NUL */
#define VACP_PARAM_VALUE_LEN	256	/* up to 255 characters and the NUL */
#define VACP_MAX_PARAMS		64

struct vacp_param {
	char name[VACP_PARAM_NAME_LEN];
	char value[VACP_PARAM_VALUE_LEN];
};

struct vacp_profile {
	bool has_quota[VACP_NR_KINDS];
	uint32_t quota[VACP_NR_KINDS];
	size_t n_params;
	struct vacp_param *params;	/* sorted by name, unique */
};

/* [a-z0-9_]{1,63}: a module parameter's name, safe as a file name. */
bool vacp_param_name_ok(const char *name);
/*
 * Printable ASCII, no double quote or backslash (a modprobe.d option
 * cannot carry them), at most 255 characters; the empty string is valid.
 */
bool vacp_param_value_ok(const char *value);

/*
 * Parse a profile document of @len bytes (the fuzzing entry point: any
 * bytes are fine).  On success *@out owns a new profile (free with
 * vacp_profile_free).  -EINVAL with @err->path and @err->msg naming the
 * bad value; -ENOMEM.
 */
int vacp_profile_parse(const char *json, size_t len,
		       struct vacp_profile **out, struct vacp_err *err);
struct vacp_profile *vacp_profile_free(struct vacp_profile *p);

#endif /* VAC_PROFILE_H */
