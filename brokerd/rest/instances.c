// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * REST v1 handlers, called under the broker lock.  A change is made
 * in the backend first, then recorded in the state file; a change the
 * backend refuses, or that cannot be recorded, leaves both as they were.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rest/instances.h"
#include "core/backend.h"
#include "base/json.h"
#include "core/store.h"

struct quota_body {
	struct broker_quotas quotas;
	struct bj_bool force;
};

static const struct bj_field quota_body_fields[] = {
	{ .name = "quotas", .type = BJ_OBJECT, .required = true,
	  .offset = offsetof(struct quota_body, quotas),
	  .fields = bj_quota_fields },
	{ .name = "force", .type = BJ_BOOL,
	  .offset = offsetof(struct quota_body, force) },
	{ NULL }
};

/* ---- JSON views ---- */

static json_t *usage_json(const struct vac_usage *u)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I}",
			      "quota", (json_int_t)u->quota,
			      "used", (json_int_t)u->used,
			      "peak", (json_int_t)u->peak,
			      "failcnt", (json_int_t)u->failcnt);

	if (o && u->has_base)
		json_object_set_new(o, "base", json_integer(u->base));
	return o;
}

json_t *broker_instance_json(const struct vac_instance_info *in,
			     const struct broker_inst *d, int refused)
{
	json_t *usage = in ? json_object() : json_null();
	json_t *desired = json_object();
	json_t *unapplied = json_array();
	json_t *o;

	for (int k = 0; k < VAC_NR_RESOURCES; k++) {
		const char *kind = vac_resource_name(k);

		if (in)
			json_object_set_new(usage, kind, usage_json(&in->usage[k]));
		if (d && d->want.kind[k].set)
			json_object_set_new(desired, kind,
					    json_integer(d->want.kind[k].v));
		if (d && d->unapplied[k][0])
			json_array_append_new(unapplied,
				json_pack("{s:s, s:s}", "kind", kind,
					  "reason", d->unapplied[k]));
	}
	if (d && d->undeclared[0])
		json_array_append_new(unapplied,
			json_pack("{s:s}", "reason", d->undeclared));

	o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:I, s:o}",
		      "name", in ? in->name : d->name,
		      "state", !in ? "absent" :
			       in->state == VAC_INSTANCE_STATE_ONLINE ? "online" :
			       "declared",
		      "module", in && in->module[0] ? json_string(in->module) :
						      json_null(),
		      "usage", usage,
		      "desired", desired,
		      "generation", (json_int_t)(d ? d->generation : 0),
		      "unapplied", unapplied);
	if (o && refused >= 0)
		json_object_set_new(o, "refused",
				    json_string(vac_resource_name(refused)));
	return o;
}

/* ---- shared steps ---- */

/* A failed backend call, as HTTP: the backend's reason, its status. */
static enum MHD_Result backend_error(struct broker_req *req, int ret,
				     const char *field)
{
	struct broker_backend *be = req->b->backend;
	const char *why = be->errmsg[0] ? be->errmsg : strerror(-ret);

	switch (ret) {
	case -ENOENT:
		return broker_reply_error(req, BROKER_NOT_FOUND, NULL,
					  "instance %s: %s", req->param, why);
	case -EEXIST:
	case -EBUSY:
	case -ENOSPC:
	case -EDQUOT:
		return broker_reply_error(req, BROKER_CONFLICT, field, "%s", why);
	case -EINVAL:
	case -ERANGE:
		return broker_reply_error(req, BROKER_BAD_REQUEST,
					  field ? field : "name", "%s", why);
	case -ENOTCONN:
		return broker_reply_unavailable(req);
	default:
		return broker_reply_error(req, BROKER_INTERNAL, NULL,
					  "%s backend: %s", be->ops->name, why);
	}
}

/*
 * The instance named by the request: *@present if the backend has it,
 * *@d if it has a desired state; -ENOENT if neither.
 */
static int lookup(struct broker_req *req, struct vac_instance_info *in,
		  bool *present, struct broker_inst **d)
{
	struct broker_backend *be = req->b->backend;
	int ret = be->ops->instance_get(be, req->param, in);

	*present = !ret;
	*d = broker_store_find(&req->b->store, req->param);
	return ret == -ENOENT && *d ? 0 : ret;
}

/* A body with no fields: empty or {} (a declare, a policy apply). */
static const struct bj_field no_fields[] = { { NULL } };

bool broker_body_empty(struct broker_req *req, enum MHD_Result *reply)
{
	struct broker_err err = { 0 };
	char none;

	if (!req->body_len)
		return true;
	if (!broker_req_is_json(req))
		*reply = broker_reply_error(req, BROKER_UNSUPPORTED_MEDIA_TYPE,
					    NULL, "a body must be application/json");
	else if (bj_parse(req->body, req->body_len, no_fields, &none,
			  sizeof(none), "body", &err))
		*reply = broker_reply_error(req, BROKER_BAD_REQUEST, err.field,
					    "%s", err.msg);
	else
		return true;
	return false;
}

bool broker_if_match_ok(struct broker_req *req, bool exists, uint64_t gen)
{
	const char *h = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_IF_MATCH);
	char tag[32];

	if (!h)
		return true;
	if (!strcmp(h, "*"))
		return exists;
	snprintf(tag, sizeof(tag), "\"%llu\"", (unsigned long long)gen);
	return exists && !strcmp(h, tag);
}

static enum MHD_Result precondition_failed(struct broker_req *req,
					   uint64_t gen)
{
	return broker_reply_error(req, BROKER_PRECONDITION_FAILED, NULL,
				  "If-Match does not match: instance %s is at generation \"%llu\"",
				  req->param, (unsigned long long)gen);
}

/* The instance as it is now, with its generation as ETag. */
static enum MHD_Result reply_instance(struct broker_req *req,
				      unsigned int status)
{
	struct vac_instance_info in;
	struct broker_inst *d;
	bool present;
	int ret;

	ret = lookup(req, &in, &present, &d);
	if (ret)
		return backend_error(req, ret, NULL);
	req->has_etag = true;
	req->etag = d ? d->generation : 0;
	return broker_reply_json(req, status,
				 broker_instance_json(present ? &in : NULL, d, -1));
}

static const char *who(const struct broker_req *req, char *buf, size_t size)
{
	if (req->who.local)
		snprintf(buf, size, "uid %u", (unsigned int)req->who.uid);
	else
		snprintf(buf, size, "tcp client");
	return buf;
}

/* ---- handlers ---- */

enum MHD_Result broker_api_healthz(struct broker_req *req)
{
	return broker_reply_json(req, MHD_HTTP_OK,
		json_pack("{s:s, s:s}", "status", "ok",
			  "backend", req->b->backend->ops->name));
}

enum MHD_Result broker_api_resources(struct broker_req *req)
{
	struct broker_backend *be = req->b->backend;
	struct vac_resource_info r[VAC_NR_RESOURCES];
	json_t *list;
	int ret;

	ret = be->ops->resources(be, r);
	if (ret)
		return backend_error(req, ret, NULL);
	list = json_array();
	for (int k = 0; k < VAC_NR_RESOURCES; k++)
		json_array_append_new(list, json_pack(
			"{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
			"kind", vac_resource_name(k),
			"probed", (json_int_t)r[k].probed,
			"capacity", (json_int_t)r[k].capacity,
			"first", (json_int_t)r[k].first,
			"reserved", (json_int_t)r[k].reserved,
			"used", (json_int_t)r[k].used,
			"free", (json_int_t)(r[k].reserved < r[k].capacity ?
					     r[k].capacity - r[k].reserved : 0),
			"overridden", r[k].overridden));
	return broker_reply_json(req, MHD_HTTP_OK,
		json_pack("{s:s, s:o}", "backend", be->ops->name,
			  "resources", list));
}

struct listing {
	struct vac_instance_info *in;
	size_t n, cap;
};

static int list_one(const struct vac_instance_info *in, void *arg)
{
	struct listing *l = arg;
	int ret = broker_grow(&l->in, &l->cap, l->n, sizeof(*in),
			      VAC_MAX_INSTANCES);

	if (!ret)
		l->in[l->n++] = *in;
	return ret;
}

int broker_api_list(struct broker_backend *be, struct vac_instance_info **out,
		    size_t *n)
{
	struct listing l = { 0 };
	int ret = be->ops->instance_dump(be, list_one, &l);

	if (ret) {
		free(l.in);
		return ret;
	}
	*out = l.in;
	*n = l.n;
	return 0;
}

struct row {
	const char *name;
	const struct vac_instance_info *in;
	const struct broker_inst *d;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->name,
		      ((const struct row *)b)->name);
}

enum MHD_Result broker_api_instances(struct broker_req *req)
{
	struct broker_backend *be = req->b->backend;
	struct broker_store *s = &req->b->store;
	_cleanup_free_ struct vac_instance_info *in = NULL;
	_cleanup_free_ struct row *rows = NULL;
	size_t nin = 0, n = 0;
	json_t *list;
	int ret;

	ret = broker_api_list(be, &in, &nin);
	if (!ret && !(rows = calloc(nin + s->n + 1, sizeof(*rows))))
		ret = -ENOMEM;
	if (ret)
		return backend_error(req, ret, NULL);
	for (size_t i = 0; i < nin; i++)
		rows[n++] = (struct row){ in[i].name, &in[i],
					  broker_store_find(s, in[i].name) };
	/* Then the desired ones the backend lacks. */
	for (size_t i = 0; i < s->n; i++) {
		size_t j;

		for (j = 0; j < nin && strcmp(in[j].name, s->insts[i].name); j++)
			;
		if (j == nin)
			rows[n++] = (struct row){ s->insts[i].name, NULL,
						  &s->insts[i] };
	}
	qsort(rows, n, sizeof(*rows), by_name);
	list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, broker_instance_json(rows[i].in,
								 rows[i].d, -1));
	return broker_reply_json(req, MHD_HTTP_OK,
				 json_pack("{s:o}", "instances", list));
}

enum MHD_Result broker_api_instance_get(struct broker_req *req)
{
	return reply_instance(req, MHD_HTTP_OK);
}

enum MHD_Result broker_api_instance_put(struct broker_req *req)
{
	struct broker *b = req->b;
	struct broker_backend *be = b->backend;
	struct broker_err err = { 0 };
	struct vac_instance_info in;
	struct broker_inst *d;
	bool present, existed, created = false;
	enum MHD_Result reply;
	char by[32];
	int ret;

	if (!broker_body_empty(req, &reply))
		return reply;
	ret = lookup(req, &in, &present, &d);
	if (ret && ret != -ENOENT)
		return backend_error(req, ret, NULL);
	existed = present || d;
	if (!broker_if_match_ok(req, existed, d ? d->generation : 0))
		return precondition_failed(req, d ? d->generation : 0);
	if (!present) {
		ret = be->ops->declare(be, req->param);
		if (ret && ret != -EEXIST)
			return backend_error(req, ret, "name");
		created = !ret;
	}
	if (!d) {
		struct broker_inst next = { 0 };

		snprintf(next.name, sizeof(next.name), "%s", req->param);
		if (broker_store_put(&b->store, &next, &err)) {
			if (created)
				be->ops->remove(be, req->param);
			broker_log(LOG_ERR, "declare %s: %s", req->param, err.msg);
			return broker_reply_error(req, BROKER_INTERNAL, NULL,
						  "cannot record the desired state: %s",
						  err.msg);
		}
		broker_log(LOG_INFO, "instance %s declared (generation %llu) by %s",
			   req->param, (unsigned long long)next.generation,
			   who(req, by, sizeof(by)));
	}
	broker_reconcile(b);
	return reply_instance(req, existed ? MHD_HTTP_OK : MHD_HTTP_CREATED);
}

enum MHD_Result broker_api_instance_delete(struct broker_req *req)
{
	struct broker *b = req->b;
	struct broker_backend *be = b->backend;
	struct broker_err err = { 0 };
	struct vac_instance_info in;
	struct broker_inst *d;
	bool present;
	char by[32];
	int ret;

	ret = lookup(req, &in, &present, &d);
	if (ret)
		return backend_error(req, ret, NULL);
	if (!broker_if_match_ok(req, true, d ? d->generation : 0))
		return precondition_failed(req, d ? d->generation : 0);
	if (present) {
		ret = be->ops->remove(be, req->param);
		if (ret && ret != -ENOENT)
			return backend_error(req, ret, NULL);
	}
	if (d && broker_store_del(&b->store, req->param, &err)) {
		/* Still desired: the next reconciliation declares it again. */
		broker_log(LOG_ERR, "delete %s: %s", req->param, err.msg);
		broker_reconcile(b);
		return broker_reply_error(req, BROKER_INTERNAL, NULL,
					  "cannot record the desired state: %s",
					  err.msg);
	}
	broker_log(LOG_INFO, "instance %s deleted by %s", req->param,
		   who(req, by, sizeof(by)));
	return broker_reply(req, MHD_HTTP_NO_CONTENT,
			    MHD_create_response_from_buffer(0, NULL,
							    MHD_RESPMEM_PERSISTENT));
}

static void quotas_text(char *buf, size_t size, const struct vac_quota *q,
			size_t n)
{
	*buf = 0;
	for (size_t i = 0; i < n; i++)
		snprintf(buf + strlen(buf), size - strlen(buf), "%s%s=%u",
			 i ? " " : "", vac_resource_name(q[i].kind), q[i].quota);
}

int broker_record_quotas(struct broker *b, const char *name,
			 const struct broker_inst *d, const struct vac_quota *q,
			 size_t n, const struct vac_instance_info *before,
			 struct broker_inst *next, struct broker_err *err)
{
	struct broker_backend *be = b->backend;
	struct vac_quota undo[VAC_NR_RESOURCES];

	if (d) {
		*next = *d;
	} else {
		memset(next, 0, sizeof(*next));
		snprintf(next->name, sizeof(next->name), "%s", name);
	}
	for (size_t i = 0; i < n; i++)
		next->want.kind[q[i].kind] = (struct bj_u32){ q[i].quota, true };
	if (!broker_store_put(&b->store, next, err))
		return 0;
	for (size_t i = 0; i < n; i++)
		undo[i] = (struct vac_quota){ q[i].kind,
					      before->usage[q[i].kind].quota };
	if (be->ops->quota_set(be, name, undo, n, true))
		broker_log(LOG_ERR, "instance %s: cannot restore its quotas: %s",
			   name, be->errmsg);
	return -1;
}

enum MHD_Result broker_api_quota_put(struct broker_req *req)
{
	struct broker *b = req->b;
	struct broker_backend *be = b->backend;
	struct vac_quota q[VAC_NR_RESOURCES];
	struct quota_body body = { 0 };
	struct broker_err err = { 0 };
	struct vac_instance_info in;
	struct broker_inst *d, next;
	char field[64], text[160], by[32];
	bool present;
	size_t n = 0;
	int ret;

	if (!broker_req_is_json(req))
		return broker_reply_error(req, BROKER_UNSUPPORTED_MEDIA_TYPE, NULL,
					  "the body must be application/json");
	if (bj_parse(req->body ? req->body : "", req->body_len,
		     quota_body_fields, &body, sizeof(body), "body", &err))
		return broker_reply_error(req, BROKER_BAD_REQUEST, err.field,
					  "%s", err.msg);
	for (int k = 0; k < VAC_NR_RESOURCES; k++)
		if (body.quotas.kind[k].set)
			q[n++] = (struct vac_quota){ k, body.quotas.kind[k].v };
	if (!n)
		return broker_reply_error(req, BROKER_BAD_REQUEST, "quotas",
					  "give the quota of at least one resource kind");

	ret = lookup(req, &in, &present, &d);
	if (ret)
		return backend_error(req, ret, NULL);
	if (!broker_if_match_ok(req, true, d ? d->generation : 0))
		return precondition_failed(req, d ? d->generation : 0);
	if (!present)
		return broker_reply_error(req, BROKER_CONFLICT, NULL,
					  "instance %s is not in the %s backend: %s",
					  req->param, be->ops->name,
					  d->undeclared[0] ? d->undeclared :
					  "not declared yet");

	ret = be->ops->quota_set(be, req->param, q, n, body.force.v);
	if (ret) {
		snprintf(field, sizeof(field), "quotas.%s",
			 be->err_kind >= 0 ? vac_resource_name(be->err_kind) : "");
		return backend_error(req, ret, be->err_kind >= 0 ? field : NULL);
	}
	quotas_text(text, sizeof(text), q, n);
	if (broker_record_quotas(b, req->param, d, q, n, &in, &next, &err)) {
		broker_log(LOG_ERR, "instance %s: quotas %s: %s", req->param,
			   text, err.msg);
		return broker_reply_error(req, BROKER_INTERNAL, NULL,
					  "cannot record the desired state: %s",
					  err.msg);
	}
	broker_log(LOG_INFO, "instance %s: quotas %s%s (generation %llu) by %s",
		   req->param, text, body.force.v ? " forced" : "",
		   (unsigned long long)next.generation, who(req, by, sizeof(by)));
	broker_reconcile(b);
	return reply_instance(req, MHD_HTTP_OK);
}
