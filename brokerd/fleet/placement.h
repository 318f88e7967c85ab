/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* OpenStack Placement's resource providers (see placement.c). */
#ifndef BROKER_FLEET_PLACEMENT_H
#define BROKER_FLEET_PLACEMENT_H

#include "base/config.h"
#include "fleet/snap.h"

struct fleet_placement;
/* @stop, once true, cuts a request short. */
int fleet_placement_new(const struct broker_config *cfg,
			const volatile bool *stop, struct fleet_placement **out);
void fleet_placement_free(struct fleet_placement *p);
/* Bring Placement to @s: 0 or -errno, @why. */
int fleet_placement_sync(struct fleet_placement *p, const struct fleet_snap *s,
			 char *why, size_t len);

#endif /* BROKER_FLEET_PLACEMENT_H */
