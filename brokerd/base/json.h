/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * JSON documents checked against a declared field spec: request bodies,
 * the configuration file and the state file.  A rejection names the
 * field ("quotas.vpids", "limits.threads", "instances[2].name") and says
 * what was wrong with it; fields the spec does not declare are rejected.
 */
#ifndef BROKER_JSON_H
#define BROKER_JSON_H

#include <stddef.h>

#include "base/base.h"

enum bj_type {
	BJ_BOOL,	/* struct bj_bool */
	BJ_U32,		/* struct bj_u32, within [min, max] */
	BJ_U64,		/* struct bj_u64, within [min, max] */
	BJ_STRING,	/* char[size], non-empty, one of choices if given */
	BJ_OBJECT,	/* fields at offset, relative to it */
	BJ_ARRAY,	/* json_t *, borrowed from the document */
};

struct bj_field {
	const char *name;
	enum bj_type type;
	size_t offset;
	bool required;
	uint64_t min, max;		/* numbers; max 0: the type's largest */
	size_t size;			/* BJ_STRING: buffer size */
	const char *const *choices;	/* BJ_STRING: NULL-ended, or NULL */
	const struct bj_field *fields;	/* BJ_OBJECT: ended by { NULL } */
};

/* The six resource kinds as optional u32 fields of a struct broker_quotas. */
extern const struct bj_field bj_quota_fields[];
/* A document that takes no fields: {} only. */
extern const struct bj_field bj_no_fields[];

/*
 * Parse @len bytes of @text (duplicate keys rejected).  @label names the
 * document in errors about it as a whole ("body", a file name).
 */
json_t *bj_load(const char *text, size_t len, const char *label,
		struct broker_err *err);

/*
 * Read and parse a file of at most @max bytes; -errno, ENOENT included.
 * The caller names the file in its report of @err.
 */
int bj_load_file(int dirfd, const char *path, size_t max, json_t **out,
		 struct broker_err *err);

/*
 * Check @obj against @spec and store what it gives into @out; @path is
 * the name of @obj in errors (NULL at the top).  @out may be partly
 * written on failure.
 */
int bj_unpack(json_t *obj, const struct bj_field *spec, void *out,
	      const char *path, struct broker_err *err);

/*
 * bj_load() and bj_unpack() of @size bytes at @out, unchanged on failure;
 * for specs without BJ_ARRAY (the document is gone on return).
 */
int bj_parse(const char *text, size_t len, const struct bj_field *spec,
	     void *out, size_t size, const char *label,
	     struct broker_err *err);

#endif /* BROKER_JSON_H */
