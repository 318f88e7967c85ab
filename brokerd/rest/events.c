// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * GET /v1/events: server-sent events, one "event: <type>" with the
 * instance as data per backend event, and keep-alive comments in
 * between; each stream a subscriber of the core's bus.  A stream is a
 * chunked response whose content reader hands out what the bus queued
 * for it; with nothing queued it suspends its connection, and the bus
 * wakes it.  Both happen under the broker lock, so a connection is only
 * resumed once it is suspended.
 *
 * May call: http/ (replies), core/ (the bus), base/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "core/broker.h"
#include "core/bus.h"
#include "http/reply.h"
#include "rest/routes.h"

struct stream {
	struct broker_sub sub;	/* first: the bus hands it back */
	struct broker *b;
	struct MHD_Connection *conn;
	bool suspended;
};

static char *render(const char *event, const char *data)
{
	char *text;

	if (!event)
		return strdup(": keep-alive\n\n");
	if (asprintf(&text, "event: %s\ndata: %s\n\n", event, data) < 0)
		return NULL;
	return text;
}

static void wake(struct broker_sub *s)
{
	struct stream *c = (struct stream *)s;

	if (c->suspended) {
		c->suspended = false;
		MHD_resume_connection(c->conn);
	}
}

/*
 * The client hung up or the connection failed.  A suspended connection
 * is not watched by libmicrohttpd, so its socket is looked at here.
 */
static bool gone(struct broker_sub *s)
{
	struct stream *c = (struct stream *)s;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct pollfd p = { .events = POLLRDHUP };

	if (!ci)
		return false;
	p.fd = ci->connect_fd;
	return poll(&p, 1, 0) == 1 &&
	       (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/*
 * Whom a stream counts against: its token, or its client certificate;
 * a local peer without either only against the global limit.
 */
static void owner(const struct broker_principal *who, char *buf, size_t size)
{
	if (who->token)
		snprintf(buf, size, "token:%s", who->token_id);
	else if (who->cert)
		snprintf(buf, size, "cert:%s", who->cert_cn);
	else
		buf[0] = '\0';
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *c = cls;
	bool end = false;
	size_t n;

	pthread_mutex_lock(&c->b->lock);
	n = broker_bus_read(&c->sub, buf, max);
	if (!n) {
		end = c->sub.closing;
		if (!end) {
			c->suspended = true;
			MHD_suspend_connection(c->conn);
		}
	}
	pthread_mutex_unlock(&c->b->lock);
	return end ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

/* The request is over: forget the stream.  Takes the lock. */
static void detach(void *arg)
{
	struct stream *c = arg;
	struct broker *b = c->b;

	pthread_mutex_lock(&b->lock);
	broker_bus_unsubscribe(b->bus, &c->sub);
	free(c);
	pthread_mutex_unlock(&b->lock);
}

/*
 * Called without the broker lock: libmicrohttpd holds a response's own
 * lock while it calls sse_read(), which takes the broker lock, so the
 * response is made and queued outside it.
 */
static enum MHD_Result events_get(struct broker_req *req)
{
	unsigned int max = req->b->cfg.limits.sse_clients.v;
	unsigned int max_owner = max > 1 ? (max + 1) / 2 : max;
	struct MHD_Response *resp;
	struct stream *c;
	int ret;

	if (!strcmp(req->method, "HEAD")) {
		/* The stream's headers; no subscription, no slot taken. */
		resp = MHD_create_response_from_buffer(0, NULL,
						       MHD_RESPMEM_PERSISTENT);
		if (resp) {
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
						"text/event-stream");
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
						"no-cache");
		}
		return broker_reply(req, MHD_HTTP_OK, resp);
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return MHD_NO;
	c->sub.render = render;
	c->sub.wake = wake;
	c->sub.gone = gone;
	owner(&req->who, c->sub.owner, sizeof(c->sub.owner));
	c->b = req->b;
	c->conn = req->conn;
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
						 sse_read, c, NULL);
	if (!resp) {
		free(c);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/event-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");

	pthread_mutex_lock(&req->b->lock);
	/* Something to read at once: the client knows it is subscribed. */
	ret = broker_bus_subscribe(req->b->bus, &c->sub, max, max_owner,
				   ": subscribed\nretry: 5000\n\n");
	if (!ret) {
		req->cleanup = detach;
		req->cleanup_arg = c;
	}
	pthread_mutex_unlock(&req->b->lock);
	if (ret) {
		MHD_destroy_response(resp);
		free(c);
		if (ret == -EUSERS)
			return broker_reply_error(req, BROKER_UNAVAILABLE, NULL,
						  "too many event streams for this "
						  "client (at most %u)", max_owner);
		return broker_reply_error(req, BROKER_UNAVAILABLE, NULL,
					  "too many event streams (at most %u)", max);
	}
	return broker_reply(req, MHD_HTTP_OK, resp);
}

static const struct broker_route routes[] = {
	{ "GET", "/v1/events", events_get, BROKER_ROUTE_OWN_LOCK,
	  BROKER_ROLE_VIEWER },
};

const struct broker_routes broker_events_routes = BROKER_ROUTES(routes);
