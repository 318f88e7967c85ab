// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer: brokerd's configuration file, read by broker_config_load() as at
 * start (-c FILE; the file is a memfd).  A configuration that loads has
 * every key the document gives, as it gives it, every other key at its
 * default, and every number within its declared range; one that does not
 * load says why, names the file, and leaves the configuration alone.
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "../../brokerd/main/config.c"

static int memfd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	memfd = memfd_create("brokerd.json", MFD_CLOEXEC);
	if (memfd < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	return 0;
}

/* @got against @def and the document's @obj, field by field of @spec. */
static void check(const struct bj_field *spec, json_t *obj, const char *got,
		  const char *def)
{
	for (const struct bj_field *f = spec; f->name; f++) {
		json_t *v = json_object_get(obj, f->name);
		const char *g = got + f->offset, *d = def + f->offset;
		uint64_t max;

		switch (f->type) {
		case BJ_BOOL:
			if (v ? ((const struct bj_bool *)g)->v != json_is_true(v) :
				memcmp(g, d, sizeof(struct bj_bool)))
				abort();
			break;
		case BJ_U32:
			max = f->max ? f->max : UINT32_MAX;
			if (v ? ((const struct bj_u32 *)g)->v != json_integer_value(v) :
				memcmp(g, d, sizeof(struct bj_u32)))
				abort();
			if (v && (((const struct bj_u32 *)g)->v < f->min ||
				  ((const struct bj_u32 *)g)->v > max))
				abort();
			break;
		case BJ_U64:
			if (v ? ((const struct bj_u64 *)g)->v != (uint64_t)json_integer_value(v) :
				memcmp(g, d, sizeof(struct bj_u64)))
				abort();
			break;
		case BJ_STRING:
			if (!memchr(g, 0, f->size) ||
			    strcmp(g, v ? json_string_value(v) : d))
				abort();
			break;
		case BJ_OBJECT:
			check(f->fields, v, g, d);
			break;
		case BJ_ARRAY:
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct broker_config c, before, def;
	struct broker_err err = { 0 };
	struct broker_args a = { .config = path };
	_cleanup_json_ json_t *ref = NULL;

	if (size > CONFIG_MAX_BYTES)
		return 0;
	if (ftruncate(memfd, 0) ||
	    (size && pwrite(memfd, data, size, 0) != (ssize_t)size))
		abort();
	a.flags = json_object();
	memset(&c, 0x5a, sizeof(c));
	before = c;
	if (broker_config_load(&a, &c, &err)) {
		if (!err.msg[0] || memcmp(&c, &before, sizeof(c)))
			abort();
		json_decref(a.flags);
		return 0;
	}
	json_decref(a.flags);
	ref = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(ref))
		abort();
	config_defaults(&def);
	check(config_fields, ref, (const char *)&c, (const char *)&def);
	/* Streams leave room for requests; each thread has a connection. */
	if (c.limits.sse_clients.v >= c.limits.connections.v ||
	    c.limits.threads.v > c.limits.connections.v)
		abort();
	return 0;
}
