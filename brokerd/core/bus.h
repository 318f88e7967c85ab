/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The event bus: every backend event, as the instance it concerns, fanned
 * out to a bounded number of subscribers, each with a bounded queue of
 * what it makes of each message; one that does not keep up has its queue
 * dropped and is sent a resync (every instance) instead.  What a message
 * looks like on the wire is the subscriber's (its render callback); the
 * bus knows no protocol.  Every call with the broker lock held unless it
 * says otherwise.
 */
#ifndef BROKER_BUS_H
#define BROKER_BUS_H

#include "core/broker.h"

#define BROKER_SUB_QUEUE 256

struct broker_sub {
	/*
	 * The subscriber's: @event's text from @data (the instance, or
	 * {"instances": [...]} for "resync", as JSON), or with @event NULL a
	 * heartbeat's; malloc'ed, NULL when out of memory.
	 */
	char *(*render)(const char *event, const char *data);
	/* The subscriber's: there is something to read, or the bus closes. */
	void (*wake)(struct broker_sub *s);
	/* The subscriber's: brokerd's own, not counted against @max. */
	bool uncounted;
	/*
	 * The subscriber's, optional: whether its client has gone (hung
	 * up).  One that has is dropped from the bus at once, its place
	 * freed, and woken to end.
	 */
	bool (*gone)(struct broker_sub *s);
	/* The subscriber's: who it is for ("" for nobody in particular). */
	char owner[80];

	/* The bus's. */
	struct broker_sub *next;
	char *queue[BROKER_SUB_QUEUE];
	unsigned int head, count;
	size_t off;		/* read of queue[head] */
	bool closing;		/* the bus closes: nothing more comes */
	bool lost;		/* fell behind: events dropped until a resync */
	bool dropped;		/* its client went: off the bus already */
};

int broker_bus_new(struct broker *b, struct broker_bus **out);
/* After broker_bus_close() and once no subscriber can be left. */
void broker_bus_free(struct broker_bus *bus);

/*
 * @s, with render and wake set, and @first queued for it (NULL: none);
 * -EBUSY at @max subscribers or closing, -EUSERS at @max_owner of its
 * owner (a non-empty owner only).  Subscribers whose client has gone are
 * dropped first.
 */
int broker_bus_subscribe(struct broker_bus *bus, struct broker_sub *s,
			 unsigned int max, unsigned int max_owner,
			 const char *first);
/* @s is forgotten, its queue dropped. */
void broker_bus_unsubscribe(struct broker_bus *bus, struct broker_sub *s);
/* Up to @max bytes of what @s has queued, in order: their count. */
size_t broker_bus_read(struct broker_sub *s, char *buf, size_t max);

/* A backend event, to every subscriber (events_read() callback). */
int broker_bus_publish(const struct vac_event *e, void *broker);
/*
 * After lost events: a "resync" event, {"instances": [...]} with every
 * instance the backend has now, to replace what a subscriber knew; to
 * every subscriber when @all (the backend's event socket overran), else
 * to those that fell behind and had their queue dropped.
 */
int broker_bus_resync(struct broker *b, bool all);
/* A heartbeat to idle subscribers, which also finds the ones gone. */
void broker_bus_heartbeat(struct broker_bus *bus);
/* Drop the subscribers whose client has gone (see gone). */
void broker_bus_reap(struct broker_bus *bus);
/* Wake every subscriber to end, and wait a little for them to go; lock
 * not held. */
void broker_bus_close(struct broker_bus *bus);

#endif /* BROKER_BUS_H */
