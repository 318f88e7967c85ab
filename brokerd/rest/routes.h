/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The REST resources' route tables, one per resource, each defined next
 * to its handlers; main registers them with the HTTP server.
 */
#ifndef BROKER_ROUTES_H
#define BROKER_ROUTES_H

#include "http/request.h"

extern const struct broker_routes broker_resources_routes;	/* /healthz, /v1/resources */
extern const struct broker_routes broker_instances_routes;	/* and their quotas */
extern const struct broker_routes broker_policy_routes;
extern const struct broker_routes broker_profiles_routes;
extern const struct broker_routes broker_events_routes;
extern const struct broker_routes broker_tokens_routes;
extern const struct broker_routes broker_metrics_routes;

#endif /* BROKER_ROUTES_H */
