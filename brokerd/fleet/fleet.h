/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Publishing the host's capacity where fleet schedulers look: a
 * node-feature-discovery feature file (nfd.c) and OpenStack Placement
 * resource providers (placement.c), kept up to date by one thread of
 * their own (fleet.c), woken by the event bus.  Nothing here holds the
 * broker lock while it writes a file or speaks HTTP.
 */
#ifndef BROKER_FLEET_H
#define BROKER_FLEET_H

#include <stdint.h>
#include <time.h>

#include "core/broker.h"

struct broker_fleet;

/*
 * Start the thread if the configuration asks for a feature file or for
 * Placement (else *@out stays NULL): after the bus is open, lock not held.
 */
int broker_fleet_start(struct broker *b, struct broker_fleet **out,
		       struct broker_err *err);
/* Stop the thread and leave the bus: before the bus closes, lock not held. */
void broker_fleet_stop(struct broker_fleet *f);

struct broker_fleet_part {
	bool on;		/* configured */
	bool synced;		/* the last attempt succeeded */
	uint64_t failures;	/* attempts that failed */
	char error[256];	/* the last failure, "" once synced */
};

struct broker_fleet_status {
	struct broker_fleet_part nfd, placement;
};

/* Any thread (@f NULL: nothing configured). */
void broker_fleet_status(struct broker_fleet *f, struct broker_fleet_status *st);
/* /healthz's "fleet" object, or NULL when nothing is configured. */
json_t *broker_fleet_json(struct broker_fleet *f);

#endif /* BROKER_FLEET_H */
