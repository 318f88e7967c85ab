/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Logging, at the bottom so that every layer may log (see log.c).
 */
#ifndef BROKER_LOG_H
#define BROKER_LOG_H

#include <syslog.h>

/* "error" ... "debug", NULL-ended: the values of log_level. */
extern const char *const broker_log_levels[];

/* "stderr" or "syslog"; before any thread starts. */
void broker_log_open(const char *target);
/* One of broker_log_levels; any thread, at any time. */
void broker_log_level(const char *level);

void broker_log(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* BROKER_LOG_H */
