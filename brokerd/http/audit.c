// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The audit log (see audit.h).  A line:
 *
 *   {"time":"2026-11-25T21:40:00Z","principal":"token:0123456789abcdef",
 *    "token_name":"ci","peer":"127.0.0.1","role":"operator","method":"PUT",
 *    "path":"/v1/instances/kvm_b/quota","instance":"kvm_b","outcome":200}
 *
 * "principal" is "uid:N" for a Unix socket peer without a token,
 * "token:ID" with one, "cert:CN" for a TLS client with a certificate (and
 * no token), "anonymous" for a TCP client without a valid one;
 * "role" is "none" when the request was not authenticated.  Each line is
 * one write() to an O_APPEND file, so lines of concurrent requests do not
 * interleave.
 *
 * A request that is let through to a change is written ahead: its line,
 * with "outcome":0 padded to the width of a status, is on disk before the
 * change is made (and if it cannot be written, the change is refused);
 * the status is then written over the 0 in place, which needs no new
 * space.  So a line with "outcome":0 is a change whose outcome was never
 * known (the daemon died in it).  Where the log is not a regular file
 * (a pipe, a device), the outcome comes as a second, complete line.
 *
 * May call: tokens.c (role names), core/ (the state directory), base/.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/log.h"
#include "core/broker.h"
#include "http/audit.h"
#include "http/tokens.h"

bool broker_audit_is_change(const char *method)
{
	return strcmp(method, "GET") && strcmp(method, "HEAD");
}

void broker_audit_open(struct broker_req *req)
{
	struct broker *b = req->b;
	int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW;

	req->audit_fd = b->cfg.audit_log[0] ?
		open(b->cfg.audit_log, flags, 0600) :
		openat(b->store.dirfd, BROKER_AUDIT_FILE, flags, 0600);
	req->audit_err = req->audit_fd < 0 ? -errno : 0;
	if (req->audit_fd < 0)
		broker_log(LOG_ERR, "audit log %s: %s; refusing %s %s",
			   b->cfg.audit_log[0] ? b->cfg.audit_log :
			   BROKER_AUDIT_FILE " in the state directory",
			   strerror(-req->audit_err), req->method, req->url);
}

/*
 * Appends to the log, so that one that fails half way (a full disk) can
 * be cut back to where it began without cutting another request's line.
 */
static pthread_mutex_t append_lock = PTHREAD_MUTEX_INITIALIZER;

static int write_all(int fd, const char *text, size_t len, off_t at)
{
	while (len) {
		ssize_t r = at < 0 ? write(fd, text, len) : pwrite(fd, text, len, at);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		text += r;
		len -= r;
		at += at < 0 ? 0 : r;
	}
	return 0;
}

static int write_sync(int fd, const char *text, size_t len, off_t at)
{
	int ret = write_all(fd, text, len, at);

	return ret ? ret : fdatasync(fd) < 0 ? -errno : 0;
}

#define OUTCOME "\"outcome\":"
#define PENDING "0  "	/* as wide as a status, and still JSON */

/* @req's line with @status (0: PENDING), malloc'ed, '\n'-ended. */
static char *line_of(struct broker_req *req, unsigned int status,
		     char *principal, size_t size, size_t *len)
{
	const struct broker_principal *who = &req->who;
	_cleanup_json_ json_t *o = NULL;
	char when[32], *text, *p;
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (who->token)
		snprintf(principal, size, "token:%s", who->token_id);
	else if (who->cert && who->role == who->cert_role)
		snprintf(principal, size, "cert:%s", who->cert_cn);
	else if (who->local)
		snprintf(principal, size, "uid:%u", (unsigned int)who->uid);
	else
		snprintf(principal, size, "anonymous");
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "time", when,
		      "principal", principal, "peer", who->peer,
		      "role", broker_role_name(who->role), "method", req->method,
		      "path", req->url, "outcome", (int)status);
	if (o && who->token)
		json_object_set_new(o, "token_name", json_string(who->token_name));
	if (o && req->param && !strncmp(req->url, "/v1/instances/", 14))
		json_object_set_new(o, "instance", json_string(req->param));
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (!text)
		return NULL;
	*len = strlen(text);
	p = realloc(text, *len + sizeof(PENDING));
	if (!p) {
		free(text);
		return NULL;
	}
	text = p;
	/* Keys are quoted only where they are keys: this is "outcome". */
	p = strstr(text, OUTCOME) + strlen(OUTCOME);
	if (!status) {
		memmove(p + strlen(PENDING), p + 1, *len - (p + 1 - text) + 1);
		memcpy(p, PENDING, strlen(PENDING));
		*len += strlen(PENDING) - 1;
	}
	text[(*len)++] = '\n';	/* over the NUL: there is room */
	return text;
}

int broker_audit_begin(struct broker_req *req)
{
	_cleanup_free_ char *text = NULL;
	char principal[80];
	struct stat st = { 0 };
	size_t len;
	off_t end;
	int flags, ret;

	text = line_of(req, 0, principal, sizeof(principal), &len);
	if (!text)
		ret = -ENOMEM;
	else {
		pthread_mutex_lock(&append_lock);
		ret = fstat(req->audit_fd, &st) < 0 ? -errno :
		      write_all(req->audit_fd, text, len, -1);
		/* No half line left behind: the next one starts clean. */
		if (ret && S_ISREG(st.st_mode))
			(void)!ftruncate(req->audit_fd, st.st_size);
		pthread_mutex_unlock(&append_lock);
		if (!ret && fdatasync(req->audit_fd) < 0)
			ret = -errno;
	}
	if (ret) {
		broker_log(LOG_ERR, "audit log: %s: refusing %s %s by %s",
			   strerror(-ret), req->method, req->url, principal);
		goto fail;
	}
	if (!S_ISREG(st.st_mode))
		return 0;	/* the outcome comes as a line of its own */
	/* O_APPEND left our offset at the end of our line. */
	end = lseek(req->audit_fd, 0, SEEK_CUR);
	flags = fcntl(req->audit_fd, F_GETFL);
	/* pwrite() in place: not with O_APPEND, which Linux lets win. */
	if (end < (off_t)len || flags < 0 ||
	    fcntl(req->audit_fd, F_SETFL, flags & ~O_APPEND) < 0) {
		ret = end < 0 ? -errno : -EIO;
		broker_log(LOG_ERR, "audit log: cannot find the line of %s %s: %s",
			   req->method, req->url, strerror(-ret));
		goto fail;
	}
	req->audit_at = end - len + (strstr(text, OUTCOME) - text) + strlen(OUTCOME);
	return 0;
fail:
	req->audit_err = ret;
	close(req->audit_fd);
	req->audit_fd = -1;
	return ret;
}

int broker_audit_write(struct broker_req *req, unsigned int status)
{
	_cleanup_free_ char *text = NULL;
	char principal[80], code[8];
	size_t len;
	int ret;

	text = line_of(req, status, principal, sizeof(principal), &len);
	if (req->audit_at) {
		snprintf(code, sizeof(code), "%3u", status);
		ret = write_sync(req->audit_fd, code, strlen(PENDING), req->audit_at);
	} else {
		ret = text ? write_sync(req->audit_fd, text, len, -1) : -ENOMEM;
	}
	if (!ret)
		return 0;
	broker_log(LOG_ERR, "audit log: %s: %s %s by %s (%u) is not recorded",
		   strerror(-ret), req->method, req->url, principal, status);
	return ret;
}
