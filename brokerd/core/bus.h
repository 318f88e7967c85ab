/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * GET /v1/events: server-sent events, one "event: <type>" with the
 * instance as data per backend event, fanned out to a bounded number of
 * streams, with keep-alive comments in between.
 */
#ifndef BROKER_EVENTS_H
#define BROKER_EVENTS_H

#include "core/broker.h"

int broker_events_new(struct broker *b, struct broker_events **out);
/* After broker_events_close() and the HTTP listeners have stopped. */
void broker_events_free(struct broker_events *ev);

/* A backend event, to every stream (events_read() callback); lock held. */
int broker_events_publish(const struct vac_event *e, void *broker);
/*
 * After lost events: a "resync" event, {"instances": [...]} with every
 * instance the backend has now, to replace what a client knew; to every
 * stream when @all (the backend's event socket overran), else to those
 * that fell behind and had their queue dropped.  Lock held.
 */
int broker_events_resync(struct broker *b, bool all);
/* A comment to idle streams, which also finds the ones gone; lock held. */
void broker_events_keepalive(struct broker_events *ev);
/* End every stream and wait a little for them to finish; lock not held. */
void broker_events_close(struct broker_events *ev);

#endif /* BROKER_EVENTS_H */
