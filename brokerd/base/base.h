/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * brokerd's bottom layer, what every file shares: cleanup helpers, array
 * growth, errors with a reason (struct broker_err, base.c) and the values
 * parsed from JSON with whether they were given.
 *
 * May call: the C library, jansson, libvac's data model.  Nothing of
 * brokerd's.
 */
#ifndef BROKER_BASE_H
#define BROKER_BASE_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>
#include <libvac.h>

/* ---- cleanup helpers ---- */

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_json_ _cleanup_(json_decrefp)	/* jansson's */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Room for one more of @n elements of @size in *@arr of *@cap, at most
 * @max: 0, -ENOSPC at @max, -ENOMEM.
 */
static inline int broker_grow(void *arr, size_t *cap, size_t n, size_t size,
			      size_t max)
{
	size_t want = *cap ? 2 * *cap : 16;
	void *p;

	if (n < *cap)
		return 0;
	if (n >= max)
		return -ENOSPC;
	p = reallocarray(*(void **)arr, want, size);
	if (!p)
		return -ENOMEM;
	*(void **)arr = p;
	*cap = want;
	return 0;
}

/* ---- errors with a reason, for whoever reports them ---- */

struct broker_err {
	char field[128];	/* the offending field, "" if none */
	char msg[256];
};

void broker_err_set(struct broker_err *err, const char *field,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "field: message", or the message. */
const char *broker_err_text(const struct broker_err *err, char *buf,
			    size_t size);

/* ---- values parsed from JSON, with whether they were given ---- */

struct bj_u32 {
	uint32_t v;
	bool set;
};

struct bj_u64 {
	uint64_t v;
	bool set;
};

struct bj_bool {
	bool v;
	bool set;
};

/* One value per resource kind, in UAPI order; .set for the kinds given. */
struct broker_quotas {
	struct bj_u32 kind[VAC_NR_RESOURCES];
};

#endif /* BROKER_BASE_H */
