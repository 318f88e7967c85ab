// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The audit log (see broker_audit.h).  A line:
 *
 *   {"time":"2026-11-25T21:40:00Z","principal":"token:0123456789abcdef",
 *    "token_name":"ci","peer":"127.0.0.1","role":"operator","method":"PUT",
 *    "path":"/v1/instances/kvm_b/quota","instance":"kvm_b","outcome":200}
 *
 * "principal" is "uid:N" for a Unix socket peer without a token,
 * "token:ID" with one, "anonymous" for a TCP client without a valid one;
 * "role" is "none" when the request was not authenticated.  Each line is
 * one write() to an O_APPEND file, so lines of concurrent requests do not
 * interleave.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "broker_audit.h"
#include "broker_auth.h"
#include "broker_store.h"

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

static int write_line(int fd, const char *text, size_t len)
{
	while (len) {
		ssize_t r = write(fd, text, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		text += r;
		len -= r;
	}
	return fdatasync(fd) < 0 ? -errno : 0;
}

int broker_audit_write(struct broker_req *req, unsigned int status)
{
	const struct broker_principal *who = &req->who;
	_cleanup_json_ json_t *o = NULL;
	_cleanup_free_ char *text = NULL;
	char when[32], principal[64];
	struct tm tm;
	time_t now = time(NULL);
	size_t len;
	int ret;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (who->token)
		snprintf(principal, sizeof(principal), "token:%s", who->token_id);
	else if (who->local)
		snprintf(principal, sizeof(principal), "uid:%u",
			 (unsigned int)who->uid);
	else
		snprintf(principal, sizeof(principal), "anonymous");
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "time", when,
		      "principal", principal, "peer", who->peer,
		      "role", broker_role_name(who->role), "method", req->method,
		      "path", req->url, "outcome", (int)status);
	if (o && who->token)
		json_object_set_new(o, "token_name", json_string(who->token_name));
	if (o && req->param && !strncmp(req->url, "/v1/instances/", 14))
		json_object_set_new(o, "instance", json_string(req->param));
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (!text) {
		ret = -ENOMEM;
		goto fail;
	}
	len = strlen(text);
	text[len] = '\n';	/* json_dumps() leaves room: the NUL */
	ret = write_line(req->audit_fd, text, len + 1);
	if (!ret)
		return 0;
fail:
	broker_log(LOG_ERR, "audit log: %s: %s %s by %s (%u) is not recorded",
		   strerror(-ret), req->method, req->url, principal, status);
	return ret;
}
