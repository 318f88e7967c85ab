// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The profile document parser: JSON text to struct vacp_profile.
 *
 * As for policies, the whole document is validated into a fresh profile
 * that is handed out only when all of it is valid, and every rejection
 * names the JSON path of the offending value.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vac_profile.h"

__attribute__((format(printf, 3, 4)))
static int perr(struct vacp_err *err, const char *path, const char *fmt, ...)
{
	char what[192];
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
		memset(err, 0, sizeof(*err));
		err->kind = -1;
		snprintf(err->path, sizeof(err->path), "%s", path);
		snprintf(err->msg, sizeof(err->msg), "%s: %s",
			 *path ? path : "(document)", what);
	}
	return -EINVAL;
}

bool vacp_param_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n && n < VACP_PARAM_NAME_LEN &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

bool vacp_param_value_ok(const char *value)
{
	size_t n = strlen(value);

	if (n >= VACP_PARAM_VALUE_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (value[i] < 0x20 || value[i] > 0x7e || value[i] == '"' ||
		    value[i] == '\\')
			return false;
	return true;
}

static int parse_quotas(json_t *obj, struct vacp_profile *p,
			struct vacp_err *err)
{
	const char *key;
	char path[96];
	json_t *v;

	if (!json_is_object(obj))
		return perr(err, "quotas", "must be an object");
	json_object_foreach(obj, key, v) {
		int k = vacp_kind_parse(key);
		json_int_t i;

		snprintf(path, sizeof(path), "quotas.%.63s", key);
		if (k < 0)
			return perr(err, path, "unknown resource kind");
		if (!json_is_integer(v))
			return perr(err, path, "must be an integer");
		i = json_integer_value(v);
		if (i < 0 || i > (json_int_t)UINT32_MAX)
			return perr(err, path, "%lld is not within 0..%u",
				    (long long)i, UINT32_MAX);
		p->has_quota[k] = true;
		p->quota[k] = (uint32_t)i;
	}
	return 0;
}

static int param_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vacp_param *)a)->name,
		      ((const struct vacp_param *)b)->name);
}

static int parse_params(json_t *obj, struct vacp_profile *p,
			struct vacp_err *err)
{
	const char *key, *s;
	char path[96];
	json_t *v;

	if (!json_is_object(obj))
		return perr(err, "params", "must be an object");
	if (json_object_size(obj) > VACP_MAX_PARAMS)
		return perr(err, "params", "more than %d parameters",
			    VACP_MAX_PARAMS);
	p->params = calloc(json_object_size(obj) + 1, sizeof(*p->params));
	if (!p->params)
		return -ENOMEM;
	json_object_foreach(obj, key, v) {
		struct vacp_param *pp = &p->params[p->n_params];

		snprintf(path, sizeof(path), "params.%.80s", key);
		if (!vacp_param_name_ok(key))
			return perr(err, path, "parameter names match [a-z0-9_]{1,%d}",
				    VACP_PARAM_NAME_LEN - 1);
		if (!json_is_string(v))
			return perr(err, path, "must be a string (as sysfs shows it, e.g. \"0\" or \"N\")");
		s = json_string_value(v);
		if (strlen(s) != json_string_length(v) || !vacp_param_value_ok(s))
			return perr(err, path,
				    "values are up to %d printable characters, without '\"' or '\\'",
				    VACP_PARAM_VALUE_LEN - 1);
		memcpy(pp->name, key, strlen(key) + 1);
		memcpy(pp->value, s, strlen(s) + 1);
		p->n_params++;
	}
	qsort(p->params, p->n_params, sizeof(*p->params), param_cmp);
	return 0;
}

struct vacp_profile *vacp_profile_free(struct vacp_profile *p)
{
	if (p) {
		free(p->params);
		free(p);
	}
	return NULL;
}

static void json_unrefp(json_t **j)
{
	json_decref(*j);
}

static void profile_freep(struct vacp_profile **p)
{
	vacp_profile_free(*p);
}

int vacp_profile_parse(const char *json, size_t len,
		       struct vacp_profile **out, struct vacp_err *err)
{
	__attribute__((cleanup(json_unrefp))) json_t *root = NULL;
	__attribute__((cleanup(profile_freep))) struct vacp_profile *p = NULL;
	json_error_t jerr;
	const char *key;
	json_t *v;
	int ret;

	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return perr(err, "", "invalid JSON at line %d column %d: %s",
			    jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root))
		return perr(err, "", "must be an object");
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	json_object_foreach(root, key, v) {
		if (!strcmp(key, "quotas"))
			ret = parse_quotas(v, p, err);
		else if (!strcmp(key, "params"))
			ret = parse_params(v, p, err);
		else
			ret = perr(err, key, "unknown key");
		if (ret)
			return ret;
	}
	*out = p;
	p = NULL;
	return 0;
}
