// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Errors with a reason (see base.h): what failed and why, filled in by
 * the code that knows, reported once by the code that logs or replies.
 *
 * May call: the C library.
 */
#include <stdarg.h>
#include <stdio.h>

#include "base/base.h"

void broker_err_set(struct broker_err *err, const char *field,
		    const char *fmt, ...)
{
	va_list ap;

	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

const char *broker_err_text(const struct broker_err *err, char *buf,
			    size_t size)
{
	if (err->field[0])
		snprintf(buf, size, "%s: %s", err->field, err->msg);
	else
		snprintf(buf, size, "%s", err->msg);
	return buf;
}
