// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Server-sent events.  Each stream is a chunked response whose content
 * reader hands out the stream's queue; with nothing queued it suspends
 * its connection, and a publish resumes it.  Both happen under the broker
 * lock, so a connection is only resumed once it is suspended.  A stream
 * whose client does not keep up is ended rather than left to grow.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/broker.h"
#include "core/bus.h"
#include "core/instances.h"
#include "http/reply.h"
#include "rest/routes.h"

#define SSE_QUEUE_MAX	256
#define SSE_CLOSE_WAIT	2	/* seconds, at shutdown */

struct sse_client {
	struct sse_client *next;
	struct broker_events *ev;
	struct MHD_Connection *conn;
	char *queue[SSE_QUEUE_MAX];
	unsigned int head, count;
	size_t off;		/* sent of queue[head] */
	bool suspended;
	bool closing;		/* end the stream once the queue is sent */
	bool lost;		/* fell behind: events dropped until a resync */
};

struct broker_events {
	struct broker *b;
	pthread_cond_t gone;
	struct sse_client *clients;
	unsigned int n;
	bool closing;
};

int broker_events_new(struct broker *b, struct broker_events **out)
{
	struct broker_events *ev = calloc(1, sizeof(*ev));
	pthread_condattr_t attr;

	if (!ev)
		return -ENOMEM;
	ev->b = b;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&ev->gone, &attr);
	pthread_condattr_destroy(&attr);
	*out = ev;
	return 0;
}

void broker_events_free(struct broker_events *ev)
{
	if (!ev)
		return;
	pthread_cond_destroy(&ev->gone);
	free(ev);
}

static void wake(struct sse_client *c)
{
	if (c->suspended) {
		c->suspended = false;
		MHD_resume_connection(c->conn);
	}
}

static void drop_queue(struct sse_client *c)
{
	for (; c->count; c->count--, c->head = (c->head + 1) % SSE_QUEUE_MAX)
		free(c->queue[c->head]);
	c->off = 0;
}

static void push(struct sse_client *c, const char *text)
{
	char *copy;

	if (c->closing || c->lost)
		return;
	copy = c->count < SSE_QUEUE_MAX ? strdup(text) : NULL;
	if (!copy) {
		/* What it has not read is stale: replaced by the next resync. */
		broker_log(LOG_NOTICE, "events: a client fell behind; it gets a resync");
		drop_queue(c);
		c->lost = true;
	} else {
		c->queue[(c->head + c->count++) % SSE_QUEUE_MAX] = copy;
	}
	wake(c);
}

int broker_events_publish(const struct vac_event *e, void *broker)
{
	struct broker *b = broker;
	struct broker_events *ev = b->events;
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *data = NULL, *text = NULL;

	if (!ev->clients)
		return 0;
	j = broker_instance_json(&e->inst, broker_store_find(&b->store, e->inst.name),
				 e->type == VAC_EVENT_ALLOC_REFUSED ? e->refused : -1);
	data = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!data || asprintf(&text, "event: %s\ndata: %s\n\n",
			      vac_event_name(e->type), data) < 0) {
		text = NULL;
		return -ENOMEM;
	}
	for (struct sse_client *c = ev->clients; c; c = c->next)
		push(c, text);
	return 0;
}

int broker_events_resync(struct broker *b, bool all)
{
	struct broker_events *ev = b->events;
	_cleanup_free_ struct vac_instance_info *in = NULL;
	_cleanup_free_ char *data = NULL, *text = NULL;
	_cleanup_json_ json_t *j = NULL;
	struct sse_client *c;
	json_t *list;
	size_t n = 0;
	int ret;

	for (c = ev->clients; c && !all && !c->lost; c = c->next)
		;
	if (!c)
		return 0;
	ret = broker_instances_list(b->backend, &in, &n);
	if (ret)
		return ret;
	list = json_array();
	for (size_t i = 0; list && i < n; i++)
		json_array_append_new(list, broker_instance_json(&in[i],
				broker_store_find(&b->store, in[i].name), -1));
	j = json_pack("{s:o*}", "instances", list);
	data = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!data || asprintf(&text, "event: resync\ndata: %s\n\n", data) < 0) {
		text = NULL;
		return -ENOMEM;
	}
	for (c = ev->clients; c; c = c->next) {
		if (all || c->lost) {
			c->lost = false;
			push(c, text);
		}
	}
	return 0;
}

void broker_events_keepalive(struct broker_events *ev)
{
	for (struct sse_client *c = ev->clients; c; c = c->next)
		if (!c->count)
			push(c, ": keep-alive\n\n");
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse_client *c = cls;
	struct broker *b = c->ev->b;
	bool end = false;
	size_t n = 0;

	pthread_mutex_lock(&b->lock);
	while (c->count && n < max) {
		const char *s = c->queue[c->head] + c->off;
		size_t len = strlen(s), take = len < max - n ? len : max - n;

		memcpy(buf + n, s, take);
		n += take;
		if (take < len) {
			c->off += take;
			break;
		}
		free(c->queue[c->head]);
		c->head = (c->head + 1) % SSE_QUEUE_MAX;
		c->count--;
		c->off = 0;
	}
	if (!n) {
		end = c->closing;
		if (!end) {
			c->suspended = true;
			MHD_suspend_connection(c->conn);
		}
	}
	pthread_mutex_unlock(&b->lock);
	return end ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

/* The request is over: forget the stream.  Takes the lock. */
static void detach(void *arg)
{
	struct sse_client *c = arg;
	struct broker_events *ev = c->ev;
	struct sse_client **p;

	pthread_mutex_lock(&ev->b->lock);
	for (p = &ev->clients; *p && *p != c; p = &(*p)->next)
		;
	if (*p)
		*p = c->next;
	drop_queue(c);
	free(c);
	ev->n--;
	pthread_cond_broadcast(&ev->gone);
	pthread_mutex_unlock(&ev->b->lock);
}

/*
 * Called without the broker lock: libmicrohttpd holds a response's own
 * lock while it calls sse_read(), which takes the broker lock, so the
 * response is made and queued outside it.
 */
static enum MHD_Result events_get(struct broker_req *req)
{
	struct broker_events *ev = req->b->events;
	unsigned int max = req->b->cfg.limits.sse_clients.v;
	struct MHD_Response *resp;
	struct sse_client *c;
	bool full;

	c = calloc(1, sizeof(*c));
	if (!c)
		return MHD_NO;
	c->ev = ev;
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
	full = ev->closing || ev->n >= max;
	if (!full) {
		/* Something to read at once: the client knows it is subscribed. */
		push(c, ": subscribed\nretry: 5000\n\n");
		c->next = ev->clients;
		ev->clients = c;
		ev->n++;
		req->cleanup = detach;
		req->cleanup_arg = c;
	}
	pthread_mutex_unlock(&req->b->lock);
	if (full) {
		MHD_destroy_response(resp);
		free(c);
		return broker_reply_error(req, BROKER_UNAVAILABLE, NULL,
					  "too many event streams (at most %u)", max);
	}
	return broker_reply(req, MHD_HTTP_OK, resp);
}

void broker_events_close(struct broker_events *ev)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += SSE_CLOSE_WAIT;
	pthread_mutex_lock(&ev->b->lock);
	ev->closing = true;
	for (struct sse_client *c = ev->clients; c; c = c->next) {
		c->closing = true;
		wake(c);
	}
	while (ev->n && pthread_cond_timedwait(&ev->gone, &ev->b->lock, &until) !=
			ETIMEDOUT)
		;
	if (ev->n)
		broker_log(LOG_WARNING, "events: %u streams did not end in time", ev->n);
	pthread_mutex_unlock(&ev->b->lock);
}

static const struct broker_route routes[] = {
	{ "GET", "/v1/events", events_get, BROKER_ROUTE_OWN_LOCK,
	  BROKER_ROLE_VIEWER },
};

const struct broker_routes broker_events_routes = BROKER_ROUTES(routes);
