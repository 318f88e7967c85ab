/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The audit log: one JSON line per change attempt (every request but GET,
 * HEAD and a route flagged BROKER_ROUTE_NO_CHANGE), allowed or denied, written and fdatasync'ed before the reply
 * is queued.  The file is opened (O_APPEND) when the request arrives and
 * closed when it ends, so that it may be rotated by renaming it; a change
 * whose line cannot be opened, or written ahead of the change, is refused
 * with 503 before anything runs.
 */
#ifndef BROKER_AUDIT_H
#define BROKER_AUDIT_H

#include "http/request.h"

#define BROKER_AUDIT_FILE "audit.log"

/* Is @method a change (audited)? */
bool broker_audit_is_change(const char *method);
/* Open the log for @req: req->audit_fd, or -errno in req->audit_err. */
void broker_audit_open(struct broker_req *req);
/*
 * Before a change is made: write @req's line ahead, with no outcome yet,
 * and sync it; -errno (already logged, req->audit_err set, the log closed):
 * the change must be refused.
 */
int broker_audit_begin(struct broker_req *req);
/*
 * Write @req's line with @status (its outcome, in place, when begun) and
 * sync it; -errno (already logged).
 */
int broker_audit_write(struct broker_req *req, unsigned int status);

#endif /* BROKER_AUDIT_H */
