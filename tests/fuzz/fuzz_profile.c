// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer: profile documents (vacp_profile_parse), checked against
 * jansson's own reading of the same bytes: a profile that parses has
 * exactly the document's quotas and parameters, the parameters sorted,
 * unique and each a valid name and value; one that does not says why
 * and hands nothing out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vac_profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vacp_profile *p = (void *)data;
	struct vacp_err err = { 0 };
	json_t *ref, *q, *params;
	size_t named = 0;

	if (vacp_profile_parse((const char *)data, size, &p, &err)) {
		if (p != (void *)data || !err.msg[0] ||
		    !memchr(err.msg, 0, sizeof(err.msg)))
			abort();
		return 0;
	}
	ref = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(ref))
		abort();
	q = json_object_get(ref, "quotas");
	for (int k = 0; k < VACP_NR_KINDS; k++) {
		json_t *v = json_object_get(q, vacp_kind_name(k));

		if (!v != !p->has_quota[k] ||
		    (v && (!json_is_integer(v) ||
			   json_integer_value(v) != p->quota[k])))
			abort();
		named += !!v;
	}
	if (q && named != json_object_size(q))
		abort();
	params = json_object_get(ref, "params");
	if (p->n_params > VACP_MAX_PARAMS ||
	    p->n_params != (params ? json_object_size(params) : 0))
		abort();
	for (size_t i = 0; i < p->n_params; i++) {
		const struct vacp_param *pa = &p->params[i];

		if (!vacp_param_name_ok(pa->name) ||
		    !vacp_param_value_ok(pa->value) ||
		    (i && strcmp(p->params[i - 1].name, pa->name) >= 0) ||
		    strcmp(pa->value, json_string_value(json_object_get(params,
							pa->name))))
			abort();
	}
	json_decref(ref);
	vacp_profile_free(p);
	return 0;
}
