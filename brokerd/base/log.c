// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Logging, for every layer: one line per message, to stderr ("brokerd: "
 * and "error: " or "warning: " before it) or to syslog, at most at the
 * configured level, escaped so that nothing a client sends can make it
 * two lines.  Callable from any thread.
 *
 * May call: the C library.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"

const char *const broker_log_levels[] = {
	"error", "warning", "notice", "info", "debug", NULL
};
static const int log_prios[] = {
	LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG
};

static int log_max = LOG_INFO;	/* read by every thread: atomic */
static bool log_syslog;

/*
 * The length of the UTF-8 character at @s that may be logged as it is,
 * or 0: not well-formed UTF-8 (overlong, surrogate, above U+10FFFF,
 * cut short), a C1 control, or U+2028/U+2029, which some log readers
 * take for a line break.
 */
static size_t utf8_printable(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	if ((s[0] == 0xc2 && s[1] <= 0x9f) ||
	    (s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9)))
		return 0;
	return n;
}

/*
 * @in as one line of text whatever a client put in it (a path, a name,
 * a header): control characters as \n, \r, \t or \xHH, a backslash as
 * \\ (so that an escape cannot be forged either), and each byte that
 * utf8_printable() refuses as \xHH.  @out holds 4 bytes per byte of @in,
 * and one.
 */
static void log_escape(const char *in, char *out)
{
	const unsigned char *p = (const unsigned char *)in;

	while (*p) {
		size_t n = *p >= 0x80 ? utf8_printable(p) : 0;

		if (n) {
			memcpy(out, p, n);
			out += n;
			p += n;
			continue;
		}
		if (*p == '\\' || *p == '\n' || *p == '\r' || *p == '\t') {
			*out++ = '\\';
			*out++ = *p == '\n' ? 'n' : *p == '\r' ? 'r' :
				 *p == '\t' ? 't' : '\\';
		} else if (*p < 0x20 || *p >= 0x7f) {
			out += sprintf(out, "\\x%02x", *p);
		} else {
			*out++ = *p;
		}
		p++;
	}
	*out = 0;
}

/* Every line goes through here, escaped: no client can make it two. */
void broker_log(int prio, const char *fmt, ...)
{
	static const char *const prefix[] = {
		[LOG_EMERG] = "error: ", [LOG_ALERT] = "error: ",
		[LOG_CRIT] = "error: ", [LOG_ERR] = "error: ",
		[LOG_WARNING] = "warning: ",
	};
	char msg[1024], line[4 * sizeof(msg) + 1];
	va_list ap;

	if (prio > __atomic_load_n(&log_max, __ATOMIC_RELAXED))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_escape(msg, line);
	if (log_syslog)
		syslog(prio, "%s", line);
	else
		fprintf(stderr, "brokerd: %s%s\n",
			prio < (int)ARRAY_SIZE(prefix) && prefix[prio] ?
			prefix[prio] : "", line);
}

void broker_log_level(const char *level)
{
	for (int i = 0; broker_log_levels[i]; i++)
		if (!strcmp(broker_log_levels[i], level))
			__atomic_store_n(&log_max, log_prios[i], __ATOMIC_RELAXED);
}

void broker_log_open(const char *target)
{
	log_syslog = !strcmp(target, "syslog");
	if (log_syslog)
		openlog("brokerd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}
