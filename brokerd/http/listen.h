/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The listening sockets (see listen.c).
 */
#ifndef BROKER_LISTEN_H
#define BROKER_LISTEN_H

#include <sys/socket.h>

#include "base/config.h"

/* "127.0.0.1:8080", "[::1]:8080": a loopback address, or -EINVAL. */
int broker_http_parse_listen(const char *s, struct sockaddr_storage *ss,
			     socklen_t *len, struct broker_err *err);

/*
 * The listener keys of @cfg that can be checked before anything starts:
 * tls_listen (any address) with tls_cert and tls_key, socket_mode.
 */
int broker_http_check_config(const struct broker_config *cfg,
			     struct broker_err *err);

/* cfg.socket, listening: the fd, or -errno with @err. */
int broker_listen_unix(const struct broker_config *cfg, struct broker_err *err);
/* @field "listen" (loopback only) or "tls_listen" (any address). */
int broker_listen_tcp(const char *addr, const char *field,
		      struct broker_err *err);

#endif /* BROKER_LISTEN_H */
