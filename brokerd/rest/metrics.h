/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * GET /metrics: the Prometheus text format.
 */
#ifndef BROKER_METRICS_H
#define BROKER_METRICS_H

#include "http/server.h"

enum MHD_Result broker_metrics_get(struct broker_req *req);

#endif /* BROKER_METRICS_H */
