/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What several resources answer alike (see rest.c).
 */
#ifndef BROKER_REST_H
#define BROKER_REST_H

#include "http/request.h"
#include "vac_policy.h"

/*
 * A failed backend call on the instance of the request, as HTTP: the
 * backend's reason, its status (404, 409 or 400 naming @field, 503, 500).
 */
enum MHD_Result broker_rest_backend_error(struct broker_req *req, int ret,
					  const char *field);

/* The backend could not give its state: 503 or 500 with its reason. */
enum MHD_Result broker_rest_backend_failed(struct broker_req *req, int ret);

/* 422: the error envelope, with the JSON path of the bad value. */
enum MHD_Result broker_rest_invalid(struct broker_req *req, const char *what,
				    const struct vacp_err *perr);

/*
 * The policy and the profiles are host-wide: not for a scoped token.
 * False when it is one, and the 403 is answered.
 */
bool broker_rest_unscoped(struct broker_req *req, const char *what);

#endif /* BROKER_REST_H */
