/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What several resources answer alike (see rest.c).
 */
#ifndef BROKER_REST_H
#define BROKER_REST_H

#include "http/request.h"

/*
 * A failed backend call on the instance of the request, as HTTP: the
 * backend's reason, its status (404, 409 or 400 naming @field, 503, 500).
 */
enum MHD_Result broker_rest_backend_error(struct broker_req *req, int ret,
					  const char *field);

#endif /* BROKER_REST_H */
