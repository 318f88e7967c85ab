/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The HTTP server: its listeners and the route tables it dispatches (see
 * server.c).
 */
#ifndef BROKER_SERVER_H
#define BROKER_SERVER_H

#include "http/request.h"

struct broker_http;

/*
 * Bind the listeners of @b->cfg, to serve the @n tables of @routes
 * (kept, not copied) with the tokens of @tokens; nothing is served
 * before start.  *@out is set even on failure: broker_http_stop() it.
 */
int broker_http_listen(struct broker_http **out, struct broker *b,
		       struct broker_tokens *tokens,
		       const struct broker_routes *const *routes, size_t n,
		       struct broker_err *err);
int broker_http_start(struct broker_http *h, struct broker_err *err);
/* Stop serving, close and unlink the listeners; lock not held. */
void broker_http_stop(struct broker_http *h);

#endif /* BROKER_SERVER_H */
