/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * REST v1: health, resources, instances and their quotas.  Route
 * handlers (see broker_handler).
 */
#ifndef BROKER_API_H
#define BROKER_API_H

#include "http/server.h"

enum MHD_Result broker_api_healthz(struct broker_req *req);
enum MHD_Result broker_api_resources(struct broker_req *req);
enum MHD_Result broker_api_instances(struct broker_req *req);
enum MHD_Result broker_api_instance_get(struct broker_req *req);
enum MHD_Result broker_api_instance_put(struct broker_req *req);
enum MHD_Result broker_api_instance_delete(struct broker_req *req);
enum MHD_Result broker_api_quota_put(struct broker_req *req);

/*
 * An instance as the API shows it: @in as the backend has it (NULL when
 * it has not), @d as desired (NULL when nothing is), @refused the kind
 * of an alloc-refused event or -1.
 */
json_t *broker_instance_json(const struct vac_instance_info *in,
			     const struct broker_inst *d, int refused);

/*
 * A body that may only be empty or {}: true when it is; otherwise the
 * error is answered and *@reply is the handler's result.
 */
bool broker_body_empty(struct broker_req *req, enum MHD_Result *reply);

/*
 * The request's If-Match, if any, against a resource: "*" matches one
 * that @exists, else its quoted generation @gen.
 */
bool broker_if_match_ok(struct broker_req *req, bool exists, uint64_t gen);

/*
 * Store @q, just set in the backend, as @name's desired quotas on top of
 * @d (its desired state, or NULL) into @next.  If the store fails, the
 * backend gets back the quotas @before showed, and -1 with @err set.
 */
int broker_record_quotas(struct broker *b, const char *name,
			 const struct broker_inst *d, const struct vac_quota *q,
			 size_t n, const struct vac_instance_info *before,
			 struct broker_inst *next, struct broker_err *err);

/* Every instance the backend has, into a malloc'ed array. */
struct broker_backend;
int broker_api_list(struct broker_backend *be, struct vac_instance_info **out,
		    size_t *n);

#endif /* BROKER_API_H */
