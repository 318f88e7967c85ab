// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * JSON against a declared field spec (see json.h): request bodies, the
 * configuration file, the state files.
 *
 * May call: base.c, jansson.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/json.h"

#define QUOTA_FIELD(k, n) \
	{ .name = n, .type = BJ_U32, \
	  .offset = offsetof(struct broker_quotas, kind[k]) }

const struct bj_field bj_quota_fields[] = {
	QUOTA_FIELD(VAC_RES_ASIDS, "asids"),
	QUOTA_FIELD(VAC_RES_SEV_ASIDS, "sev_asids"),
	QUOTA_FIELD(VAC_RES_SEV_ES_ASIDS, "sev_es_asids"),
	QUOTA_FIELD(VAC_RES_VPIDS, "vpids"),
	QUOTA_FIELD(VAC_RES_PMU_COUNTERS, "pmu_counters"),
	QUOTA_FIELD(VAC_RES_MSR_SLOTS, "msr_slots"),
	{ NULL }
};

const struct bj_field bj_no_fields[] = { { NULL } };

json_t *bj_load(const char *text, size_t len, const char *label,
		struct broker_err *err)
{
	json_error_t je;
	json_t *j;

	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		broker_err_set(err, label,
			       "invalid JSON at line %d column %d: %s",
			       je.line, je.column, je.text);
	return j;
}

int bj_load_file(int dirfd, const char *path, size_t max, json_t **out,
		 struct broker_err *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len = 0;
	json_t *j;

	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;

		broker_err_set(err, NULL, "%s", strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		broker_err_set(err, NULL,
			       "not a regular file of at most %zu bytes", max);
		return -EINVAL;
	}
	buf = malloc(st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + len, st.st_size - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r ? errno : EIO;

			broker_err_set(err, NULL, "%s",
				       r ? strerror(e) : "shorter than its size");
			return -e;
		}
		len += r;
	}
	j = bj_load(buf, len, NULL, err);
	if (!j)
		return -EINVAL;
	*out = j;
	return 0;
}

static void join(char *dst, size_t size, const char *path, const char *name)
{
	if (path && *path)
		snprintf(dst, size, "%s.%s", path, name);
	else
		snprintf(dst, size, "%s", name);
}

static const struct bj_field *lookup(const struct bj_field *spec,
				     const char *key)
{
	for (; spec->name; spec++)
		if (!strcmp(spec->name, key))
			return spec;
	return NULL;
}

static int unpack_number(json_t *v, const struct bj_field *f, void *slot,
			 const char *where, struct broker_err *err)
{
	uint64_t max = f->max ? f->max : f->type == BJ_U32 ? UINT32_MAX : INT64_MAX;
	json_int_t n;

	if (!json_is_integer(v) || (n = json_integer_value(v)) < 0 ||
	    (uint64_t)n < f->min || (uint64_t)n > max) {
		broker_err_set(err, where, "must be an integer from %llu to %llu",
			       (unsigned long long)f->min,
			       (unsigned long long)max);
		return -EINVAL;
	}
	if (f->type == BJ_U32) {
		struct bj_u32 *u = slot;

		u->v = n;
		u->set = true;
	} else {
		struct bj_u64 *u = slot;

		u->v = n;
		u->set = true;
	}
	return 0;
}

static int unpack_string(json_t *v, const struct bj_field *f, char *dst,
			 const char *where, struct broker_err *err)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	const char *const *c;

	if (!s || !len || len >= f->size || strlen(s) != len) {
		broker_err_set(err, where,
			       "must be a non-empty string of at most %zu bytes",
			       f->size - 1);
		return -EINVAL;
	}
	if (f->choices) {
		char list[128] = "";

		for (c = f->choices; *c && strcmp(*c, s); c++)
			;
		if (!*c) {
			for (c = f->choices; *c; c++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list),
					 "%s%s", c == f->choices ? "" : ", ", *c);
			broker_err_set(err, where, "must be one of: %s", list);
			return -EINVAL;
		}
	}
	memcpy(dst, s, len + 1);
	return 0;
}

int bj_unpack(json_t *obj, const struct bj_field *spec, void *out,
	      const char *path, struct broker_err *err)
{
	const struct bj_field *f;
	char where[sizeof(err->field)];
	const char *key;
	json_t *v;
	int ret;

	if (!json_is_object(obj)) {
		broker_err_set(err, path, "must be a JSON object");
		return -EINVAL;
	}
	json_object_foreach(obj, key, v) {
		void *slot;

		join(where, sizeof(where), path, key);
		f = lookup(spec, key);
		if (!f) {
			broker_err_set(err, where, "unknown field");
			return -EINVAL;
		}
		slot = (char *)out + f->offset;
		switch (f->type) {
		case BJ_BOOL:
			if (!json_is_boolean(v)) {
				broker_err_set(err, where, "must be true or false");
				return -EINVAL;
			}
			((struct bj_bool *)slot)->v = json_is_true(v);
			((struct bj_bool *)slot)->set = true;
			ret = 0;
			break;
		case BJ_U32:
		case BJ_U64:
			ret = unpack_number(v, f, slot, where, err);
			break;
		case BJ_STRING:
			ret = unpack_string(v, f, slot, where, err);
			break;
		case BJ_OBJECT:
			ret = bj_unpack(v, f->fields, slot, where, err);
			break;
		case BJ_ARRAY:
			ret = 0;
			if (json_is_array(v))
				*(json_t **)slot = v;
			else {
				broker_err_set(err, where, "must be a JSON array");
				ret = -EINVAL;
			}
			break;
		default:
			ret = -EINVAL;
		}
		if (ret)
			return ret;
	}
	for (f = spec; f->name; f++) {
		if (f->required && !json_object_get(obj, f->name)) {
			join(where, sizeof(where), path, f->name);
			broker_err_set(err, where, "required field missing");
			return -EINVAL;
		}
	}
	return 0;
}

int bj_parse(const char *text, size_t len, const struct bj_field *spec,
	     void *out, size_t size, const char *label,
	     struct broker_err *err)
{
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ void *tmp = NULL;
	int ret;

	j = bj_load(text, len, label, err);
	if (!j)
		return -EINVAL;
	tmp = malloc(size);
	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, out, size);
	ret = bj_unpack(j, spec, tmp, NULL, err);
	if (ret) {
		if (!err->field[0])
			snprintf(err->field, sizeof(err->field), "%s", label);
		return ret;
	}
	memcpy(out, tmp, size);
	return 0;
}
