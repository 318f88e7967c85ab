// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The policy document parser: JSON text to struct vacp_policy.
 *
 * Everything is validated into a fresh policy that is handed out only
 * when the whole document is valid, so nothing is ever partly applied.
 * Every rejection names the JSON path of the offending value.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vac_core.h"
#include "vac_policy.h"

/* The kind names are the accounting core's, which libvac's match. */
const char *vacp_kind_name(int kind)
{
	return kind >= 0 && kind < VACP_NR_KINDS ? vac_kind_names[kind] : NULL;
}

int vacp_kind_parse(const char *name)
{
	return vac_kind_parse(name);
}

__attribute__((format(printf, 3, 4)))
static int perr(struct vacp_err *err, const char *path, const char *fmt, ...)
{
	va_list ap;
	char what[192];

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

static void join(char *dst, size_t sz, const char *base, const char *key)
{
	snprintf(dst, sz, "%s%s%s", base, *base ? "." : "", key);
}

/* A non-negative integer no larger than @max. */
static int get_uint(json_t *v, const char *path, uint32_t max, uint32_t *out,
		    struct vacp_err *err)
{
	json_int_t i;

	if (!json_is_integer(v))
		return perr(err, path, "must be an integer");
	i = json_integer_value(v);
	if (i < 0)
		return perr(err, path, "must not be negative (%lld)",
			    (long long)i);
	if ((unsigned long long)i > max)
		return perr(err, path, "%lld is above the limit %u",
			    (long long)i, max);
	*out = (uint32_t)i;
	return 0;
}

static int parse_rule(json_t *obj, const char *path, bool is_default,
		      struct vacp_rule *out, struct vacp_err *err)
{
	struct vacp_rule r = {
		.type = VACP_RULE_WEIGHT, .max = VACP_NO_MAX, .weight = 1,
	};
	bool has_fixed = false, has_weight = false, has_percent = false;
	bool has_min = false, has_max = false;
	char p[256];
	const char *key;
	json_t *v;
	int ret;

	if (!json_is_object(obj))
		return perr(err, path, "must be an object");
	json_object_foreach(obj, key, v) {
		join(p, sizeof(p), path, key);
		if (!strcmp(key, "fixed")) {
			ret = get_uint(v, p, UINT32_MAX - 1, &r.fixed, err);
			has_fixed = true;
		} else if (!strcmp(key, "min")) {
			ret = get_uint(v, p, UINT32_MAX - 1, &r.min, err);
			has_min = true;
		} else if (!strcmp(key, "max")) {
			ret = get_uint(v, p, UINT32_MAX - 1, &r.max, err);
			has_max = true;
		} else if (!strcmp(key, "weight")) {
			ret = get_uint(v, p, VACP_MAX_WEIGHT, &r.weight, err);
			has_weight = true;
		} else if (!strcmp(key, "percent")) {
			if (is_default)
				return perr(err, p, "percent is not allowed in a default");
			ret = get_uint(v, p, 100, &r.percent, err);
			has_percent = true;
		} else {
			return perr(err, p, "unknown key");
		}
		if (ret)
			return ret;
	}
	if (has_fixed && (has_weight || has_percent || has_min || has_max)) {
		join(p, sizeof(p), path, "fixed");
		return perr(err, p, "fixed excludes min, max, weight and percent");
	}
	if (has_weight && has_percent) {
		join(p, sizeof(p), path, "percent");
		return perr(err, p, "percent and weight exclude each other");
	}
	if (has_min && has_max && r.min > r.max) {
		join(p, sizeof(p), path, "min");
		return perr(err, p, "min %u is above max %u", r.min, r.max);
	}
	if (has_fixed)
		r.type = VACP_RULE_FIXED;
	else if (has_percent)
		r.type = VACP_RULE_PERCENT;
	*out = r;
	return 0;
}

static int rule_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vacp_named_rule *)a)->name,
		      ((const struct vacp_named_rule *)b)->name);
}

static int parse_kind(json_t *obj, const char *path,
		      struct vacp_kind_policy *kp, struct vacp_err *err)
{
	char p[256], q[320], qp[340];
	const char *key, *name;
	json_t *v, *r;
	uint32_t percent = 0;
	int ret;

	if (!json_is_object(obj))
		return perr(err, path, "must be an object");
	kp->present = true;
	json_object_foreach(obj, key, v) {
		join(p, sizeof(p), path, key);
		if (!strcmp(key, "reserve")) {
			ret = get_uint(v, p, UINT32_MAX, &kp->reserve, err);
		} else if (!strcmp(key, "keep_offline")) {
			if (!json_is_boolean(v))
				return perr(err, p, "must be true or false");
			kp->keep_offline = json_is_true(v);
			ret = 0;
		} else if (!strcmp(key, "default")) {
			ret = parse_rule(v, p, true, &kp->def, err);
		} else if (!strcmp(key, "instances")) {
			if (!json_is_object(v))
				return perr(err, p, "must be an object");
			if (json_object_size(v) > VAC_MAX_INSTANCES)
				return perr(err, p, "more than %d instances",
					    VAC_MAX_INSTANCES);
			kp->rules = calloc(json_object_size(v) + 1,
					   sizeof(*kp->rules));
			if (!kp->rules)
				return -ENOMEM;
			json_object_foreach(v, name, r) {
				struct vacp_named_rule *nr =
					&kp->rules[kp->n_rules];

				join(q, sizeof(q), p, name);
				if (!*name || strlen(name) >= VAC_NAME_LEN)
					return perr(err, q, "instance name must be 1 to %d characters",
						    VAC_NAME_LEN - 1);
				ret = parse_rule(r, q, false, &nr->rule, err);
				if (ret)
					return ret;
				memcpy(nr->name, name, strlen(name) + 1);
				kp->n_rules++;
				if (nr->rule.type == VACP_RULE_PERCENT) {
					percent += nr->rule.percent;
					if (percent > 100) {
						join(qp, sizeof(qp), q, "percent");
						return perr(err, qp, "percents of %s add up to %u, over 100",
							    path, percent);
					}
				}
			}
			qsort(kp->rules, kp->n_rules, sizeof(*kp->rules),
			      rule_cmp);
			ret = 0;
		} else {
			return perr(err, p, "unknown key");
		}
		if (ret)
			return ret;
	}
	return 0;
}

struct vacp_policy *vacp_policy_free(struct vacp_policy *p)
{
	if (p) {
		for (int k = 0; k < VACP_NR_KINDS; k++)
			free(p->kind[k].rules);
		free(p);
	}
	return NULL;
}

static void json_unrefp(json_t **j)
{
	json_decref(*j);
}

static void policy_freep(struct vacp_policy **p)
{
	vacp_policy_free(*p);
}

int vacp_policy_parse(const char *json, size_t len, struct vacp_policy **out,
		      struct vacp_err *err)
{
	__attribute__((cleanup(json_unrefp))) json_t *root = NULL;
	__attribute__((cleanup(policy_freep))) struct vacp_policy *p = NULL;
	json_error_t jerr;
	const char *key;
	json_t *kinds, *v;
	char path[64];
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
	for (int k = 0; k < VACP_NR_KINDS; k++)
		p->kind[k].def = (struct vacp_rule){
			.type = VACP_RULE_WEIGHT, .max = VACP_NO_MAX,
			.weight = 1,
		};
	kinds = NULL;
	json_object_foreach(root, key, v) {
		if (strcmp(key, "kinds"))
			return perr(err, key, "unknown key");
		kinds = v;
	}
	if (!kinds)
		return perr(err, "kinds", "missing");
	if (!json_is_object(kinds))
		return perr(err, "kinds", "must be an object");
	json_object_foreach(kinds, key, v) {
		int k = vacp_kind_parse(key);

		snprintf(path, sizeof(path), "kinds.%.40s", key);
		if (k < 0)
			return perr(err, path, "unknown resource kind");
		ret = parse_kind(v, path, &p->kind[k], err);
		if (ret)
			return ret;
	}
	*out = p;
	p = NULL;
	return 0;
}

const struct vacp_rule *vacp_policy_rule(const struct vacp_policy *p,
					 int kind, const char *name)
{
	const struct vacp_kind_policy *kp = &p->kind[kind];
	struct vacp_named_rule key;
	const struct vacp_named_rule *hit = NULL;

	if (strlen(name) < sizeof(key.name)) {
		memcpy(key.name, name, strlen(name) + 1);
		if (kp->n_rules)
			hit = bsearch(&key, kp->rules, kp->n_rules,
				      sizeof(*kp->rules), rule_cmp);
	}
	return hit ? &hit->rule : &kp->def;
}
