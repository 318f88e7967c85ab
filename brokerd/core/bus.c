// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The event bus (see bus.h).  A message is rendered by each subscriber
 * as it is queued, so a subscriber's queue is what it will send; a
 * subscriber is woken whenever something is queued, and reads under the
 * broker lock, as every call here is made, so a wake is never lost.  A
 * subscriber that does not keep up is cut off from events until a
 * resync rather than left to grow.
 *
 * May call: instances.c (the view of an instance), backend, store.c,
 * base/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "core/backend.h"
#include "core/broker.h"
#include "core/bus.h"
#include "core/instances.h"

#define CLOSE_WAIT	2	/* seconds, at shutdown */

struct broker_bus {
	struct broker *b;
	pthread_cond_t gone;
	struct broker_sub *subs;
	unsigned int n;
	unsigned int counted;	/* of n, those @max applies to */
	bool closing;
};

int broker_bus_new(struct broker *b, struct broker_bus **out)
{
	struct broker_bus *bus = calloc(1, sizeof(*bus));
	pthread_condattr_t attr;

	if (!bus)
		return -ENOMEM;
	bus->b = b;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&bus->gone, &attr);
	pthread_condattr_destroy(&attr);
	*out = bus;
	return 0;
}

void broker_bus_free(struct broker_bus *bus)
{
	if (!bus)
		return;
	pthread_cond_destroy(&bus->gone);
	free(bus);
}

static void drop_queue(struct broker_sub *s)
{
	for (; s->count; s->count--, s->head = (s->head + 1) % BROKER_SUB_QUEUE)
		free(s->queue[s->head]);
	s->off = 0;
}

/* @text (malloc'ed, or NULL: out of memory) queued for @s, taken. */
static void queue(struct broker_sub *s, char *text)
{
	if (s->count < BROKER_SUB_QUEUE && text) {
		s->queue[(s->head + s->count++) % BROKER_SUB_QUEUE] = text;
	} else {
		/* What it has not read is stale: replaced by the next resync. */
		free(text);
		broker_log(LOG_NOTICE, "events: a client fell behind; it gets a resync");
		drop_queue(s);
		s->lost = true;
	}
	s->wake(s);
}

static void push(struct broker_sub *s, const char *event, const char *data)
{
	if (s->closing || s->lost)
		return;
	queue(s, s->count < BROKER_SUB_QUEUE ? s->render(event, data) : NULL);
}

/* @s off the bus: its place is free, it gets nothing more. */
static void unlink_sub(struct broker_bus *bus, struct broker_sub *s)
{
	struct broker_sub **p;

	for (p = &bus->subs; *p && *p != s; p = &(*p)->next)
		;
	if (*p)
		*p = s->next;
	bus->n--;
	bus->counted -= !s->uncounted;
	pthread_cond_broadcast(&bus->gone);
}

void broker_bus_reap(struct broker_bus *bus)
{
	struct broker_sub *s, *next;

	for (s = bus->subs; s; s = next) {
		next = s->next;
		if (!s->gone || !s->gone(s))
			continue;
		unlink_sub(bus, s);
		drop_queue(s);
		s->dropped = true;
		s->closing = true;
		s->wake(s);
	}
}

int broker_bus_subscribe(struct broker_bus *bus, struct broker_sub *s,
			 unsigned int max, unsigned int max_owner,
			 const char *first)
{
	unsigned int mine = 0;

	if (bus->closing)
		return -EBUSY;
	broker_bus_reap(bus);
	if (!s->uncounted && bus->counted >= max)
		return -EBUSY;
	for (struct broker_sub *o = bus->subs; s->owner[0] && o; o = o->next)
		mine += !strcmp(o->owner, s->owner);
	if (s->owner[0] && mine >= max_owner)
		return -EUSERS;
	if (first)
		queue(s, strdup(first));
	s->next = bus->subs;
	bus->subs = s;
	bus->n++;
	bus->counted += !s->uncounted;
	return 0;
}

void broker_bus_unsubscribe(struct broker_bus *bus, struct broker_sub *s)
{
	if (!s->dropped)
		unlink_sub(bus, s);
	drop_queue(s);
}

size_t broker_bus_read(struct broker_sub *s, char *buf, size_t max)
{
	size_t n = 0;

	while (s->count && n < max) {
		const char *t = s->queue[s->head] + s->off;
		size_t len = strlen(t), take = len < max - n ? len : max - n;

		memcpy(buf + n, t, take);
		n += take;
		if (take < len) {
			s->off += take;
			break;
		}
		free(s->queue[s->head]);
		s->head = (s->head + 1) % BROKER_SUB_QUEUE;
		s->count--;
		s->off = 0;
	}
	return n;
}

int broker_bus_publish(const struct vac_event *e, void *broker)
{
	struct broker *b = broker;
	struct broker_bus *bus = b->bus;
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *data = NULL;
	bool vm = e->type == VAC_EVENT_VM_NEW || e->type == VAC_EVENT_VM_DEL;

	/* What the backend has of it changed: the next reconcile looks. */
	broker_store_mark(&b->store, broker_store_find(&b->store,
				vm ? e->vm.instance : e->inst.name));
	if (!bus->subs)
		return 0;
	if (vm) {
		/* A VM event names its instance: the instance as it is now. */
		struct vac_instance_info in;

		if (b->backend->ops->instance_get(b->backend, e->vm.instance, &in))
			return 0;	/* gone meanwhile: its own event follows */
		j = broker_instance_json(&in, broker_store_find(&b->store, in.name), -1);
		if (j)
			json_object_set_new(j, "vm", broker_vm_json(&e->vm));
	} else {
		j = broker_instance_json(&e->inst,
					 broker_store_find(&b->store, e->inst.name),
					 e->type == VAC_EVENT_ALLOC_REFUSED ? e->refused : -1);
	}
	data = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!data)
		return -ENOMEM;
	for (struct broker_sub *s = bus->subs; s; s = s->next)
		push(s, vac_event_name(e->type), data);
	return 0;
}

int broker_bus_resync(struct broker *b, bool all)
{
	struct broker_bus *bus = b->bus;
	_cleanup_free_ struct vac_instance_info *in = NULL;
	_cleanup_free_ char *data = NULL;
	_cleanup_json_ json_t *j = NULL;
	struct broker_sub *s;
	json_t *list;
	size_t n = 0;
	int ret;

	if (all)	/* events were lost: any instance may have changed */
		broker_store_mark_all(&b->store);
	for (s = bus->subs; s && !all && !s->lost; s = s->next)
		;
	if (!s)
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
	if (!data)
		return -ENOMEM;
	for (s = bus->subs; s; s = s->next) {
		if (all || s->lost) {
			s->lost = false;
			push(s, "resync", data);
		}
	}
	return 0;
}

void broker_bus_heartbeat(struct broker_bus *bus)
{
	for (struct broker_sub *s = bus->subs; s; s = s->next)
		if (!s->count)
			push(s, NULL, NULL);
}

void broker_bus_close(struct broker_bus *bus)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += CLOSE_WAIT;
	pthread_mutex_lock(&bus->b->lock);
	bus->closing = true;
	for (struct broker_sub *s = bus->subs; s; s = s->next) {
		s->closing = true;
		s->wake(s);
	}
	while (bus->n && pthread_cond_timedwait(&bus->gone, &bus->b->lock,
						&until) != ETIMEDOUT)
		;
	if (bus->n)
		broker_log(LOG_WARNING, "events: %u streams did not end in time",
			   bus->n);
	pthread_mutex_unlock(&bus->b->lock);
}
