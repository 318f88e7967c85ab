// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * /v1/instances: list, show, declare and delete instances, and set their
 * quotas; called under the broker lock.  A change is made in the backend
 * first, then recorded in the state file; a change the backend refuses,
 * or that cannot be recorded, leaves both as they were.
 *
 * May call: http/ (replies), core/, rest.c, base/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "core/backend.h"
#include "core/broker.h"
#include "core/instances.h"
#include "core/reconcile.h"
#include "http/reply.h"
#include "rest/rest.h"
#include "rest/routes.h"

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

/* ---- shared steps ---- */

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
		return broker_rest_backend_error(req, ret, NULL);
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

static enum MHD_Result instances(struct broker_req *req)
{
	struct broker_backend *be = req->b->backend;
	struct broker_store *s = &req->b->store;
	_cleanup_free_ struct vac_instance_info *in = NULL;
	_cleanup_free_ struct row *rows = NULL;
	size_t nin = 0, n = 0;
	json_t *list;
	int ret;

	ret = broker_instances_list(be, &in, &nin);
	if (!ret && !(rows = calloc(nin + s->n + 1, sizeof(*rows))))
		ret = -ENOMEM;
	if (ret)
		return broker_rest_backend_error(req, ret, NULL);
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

static enum MHD_Result instance_get(struct broker_req *req)
{
	return reply_instance(req, MHD_HTTP_OK);
}

static int add_vm(const struct vac_vm_info *vm, void *list)
{
	return json_array_append_new(list, broker_vm_json(vm)) ? -ENOMEM : 0;
}

/* The VMs the instance's KVM build runs, oldest first; none: drained. */
static enum MHD_Result instance_vms(struct broker_req *req)
{
	struct broker_backend *be = req->b->backend;
	_cleanup_json_ json_t *list = json_array();
	struct vac_instance_info in;
	struct broker_inst *d;
	bool present;
	int ret;

	/* A NULL list makes the reply "out of memory" (broker_reply_json). */
	ret = lookup(req, &in, &present, &d);
	if (!ret && present && list)
		ret = be->ops->vm_dump(be, req->param, add_vm, list);
	if (ret)
		return broker_rest_backend_error(req, ret, NULL);
	return broker_reply_json(req, MHD_HTTP_OK,
				 json_pack("{s:s, s:O}", "instance", req->param,
					   "vms", list));
}

static enum MHD_Result instance_put(struct broker_req *req)
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
		return broker_rest_backend_error(req, ret, NULL);
	existed = present || d;
	if (!broker_if_match_ok(req, existed, d ? d->generation : 0))
		return precondition_failed(req, d ? d->generation : 0);
	if (!present) {
		ret = be->ops->declare(be, req->param);
		if (ret && ret != -EEXIST)
			return broker_rest_backend_error(req, ret, "name");
		created = !ret;
	}
	if (!d) {
		struct broker_inst next = { 0 };

		snprintf(next.name, sizeof(next.name), "%s", req->param);
		ret = broker_store_put(&b->store, &next, &err);
		if (ret) {
			if (created)
				be->ops->remove(be, req->param);
			broker_log(LOG_ERR, "declare %s: %s", req->param, err.msg);
			if (ret == -ENOSPC && b->store.n >= VAC_MAX_INSTANCES)
				return broker_reply_error(req, BROKER_CONFLICT, NULL,
							  "%s", err.msg);
			return broker_reply_write_failed(req, ret,
				"cannot record the desired state: %s", err.msg);
		}
		broker_log(LOG_INFO, "instance %s declared (generation %llu) by %s",
			   req->param, (unsigned long long)next.generation,
			   who(req, by, sizeof(by)));
	}
	broker_reconcile(b);
	return reply_instance(req, existed ? MHD_HTTP_OK : MHD_HTTP_CREATED);
}

static enum MHD_Result instance_delete(struct broker_req *req)
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
		return broker_rest_backend_error(req, ret, NULL);
	if (!broker_if_match_ok(req, true, d ? d->generation : 0))
		return precondition_failed(req, d ? d->generation : 0);
	if (present) {
		ret = be->ops->remove(be, req->param);
		if (ret && ret != -ENOENT)
			return broker_rest_backend_error(req, ret, NULL);
	}
	ret = d ? broker_store_del(&b->store, req->param, &err) : 0;
	if (ret) {
		/* Still desired: declared again before the reply. */
		broker_log(LOG_ERR, "delete %s: %s", req->param, err.msg);
		broker_store_mark(&b->store, broker_store_find(&b->store, req->param));
		broker_reconcile(b);
		return broker_reply_write_failed(req, ret,
			"cannot record the desired state: %s", err.msg);
	}
	broker_log(LOG_INFO, "instance %s deleted by %s", req->param,
		   who(req, by, sizeof(by)));
	return broker_reply_no_content(req);
}

static void quotas_text(char *buf, size_t size, const struct vac_quota *q,
			size_t n)
{
	*buf = 0;
	for (size_t i = 0; i < n; i++)
		snprintf(buf + strlen(buf), size - strlen(buf), "%s%s=%u",
			 i ? " " : "", vac_resource_name(q[i].kind), q[i].quota);
}

static enum MHD_Result quota_put(struct broker_req *req)
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
		return broker_rest_backend_error(req, ret, NULL);
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
		return broker_rest_backend_error(req, ret, be->err_kind >= 0 ? field : NULL);
	}
	quotas_text(text, sizeof(text), q, n);
	ret = broker_record_quotas(b, req->param, d, q, n, &in, &next, &err);
	if (ret) {
		broker_log(LOG_ERR, "instance %s: quotas %s: %s", req->param,
			   text, err.msg);
		return broker_reply_write_failed(req, ret,
			"cannot record the desired state: %s", err.msg);
	}
	broker_log(LOG_INFO, "instance %s: quotas %s%s (generation %llu) by %s",
		   req->param, text, body.force.v ? " forced" : "",
		   (unsigned long long)next.generation, who(req, by, sizeof(by)));
	broker_reconcile(b);
	return reply_instance(req, MHD_HTTP_OK);
}

static const struct broker_route routes[] = {
	{ "GET",    "/v1/instances",              instances, BROKER_ROUTE_BACKEND,
	  BROKER_ROLE_VIEWER },
	{ "GET",    "/v1/instances/{name}",       instance_get, BROKER_ROUTE_BACKEND,
	  BROKER_ROLE_VIEWER },
	{ "GET",    "/v1/instances/{name}/vms",   instance_vms, BROKER_ROUTE_BACKEND,
	  BROKER_ROLE_VIEWER },
	{ "PUT",    "/v1/instances/{name}",       instance_put,
	  BROKER_ROUTE_BACKEND | BROKER_ROUTE_SCOPED, BROKER_ROLE_ADMIN },
	{ "DELETE", "/v1/instances/{name}",       instance_delete,
	  BROKER_ROUTE_BACKEND | BROKER_ROUTE_SCOPED, BROKER_ROLE_ADMIN },
	{ "PUT",    "/v1/instances/{name}/quota", quota_put,
	  BROKER_ROUTE_BACKEND | BROKER_ROUTE_SCOPED, BROKER_ROLE_OPERATOR },
};

const struct broker_routes broker_instances_routes = BROKER_ROUTES(routes);
