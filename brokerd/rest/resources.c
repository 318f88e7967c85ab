// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * /healthz and /v1/resources: whether brokerd serves, on which backend,
 * and the capacity and usage of every resource kind.
 *
 * May call: http/ (replies), core/ (the backend), fleet/ (its status),
 * rest.c.
 */
#define _GNU_SOURCE
#include "core/backend.h"
#include "core/broker.h"
#include "fleet/fleet.h"
#include "http/reply.h"
#include "rest/rest.h"
#include "rest/routes.h"

static enum MHD_Result healthz_get(struct broker_req *req)
{
	return broker_reply_json(req, MHD_HTTP_OK,
		json_pack("{s:s, s:s, s:o*}", "status", "ok",
			  "backend", req->b->backend->ops->name,
			  "fleet", broker_fleet_json(req->b->fleet)));
}

static enum MHD_Result resources_get(struct broker_req *req)
{
	struct broker_backend *be = req->b->backend;
	struct vac_resource_info r[VAC_NR_RESOURCES];
	json_t *list;
	int ret;

	ret = be->ops->resources(be, r);
	if (ret)
		return broker_rest_backend_error(req, ret, NULL);
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


static const struct broker_route routes[] = {
	{ "GET", "/healthz",      healthz_get, BROKER_ROUTE_BACKEND,
	  BROKER_ROLE_VIEWER },
	{ "GET", "/v1/resources", resources_get, BROKER_ROUTE_BACKEND,
	  BROKER_ROLE_VIEWER },
};

const struct broker_routes broker_resources_routes = BROKER_ROUTES(routes);
