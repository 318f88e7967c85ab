/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The node-feature-discovery feature file (see nfd.c). */
#ifndef BROKER_FLEET_NFD_H
#define BROKER_FLEET_NFD_H

#include "fleet/snap.h"

/* Replace @path atomically with the features of @s: 0 or -errno, @why. */
int fleet_nfd_write(const char *path, const struct fleet_snap *s,
		    char *why, size_t len);

#endif /* BROKER_FLEET_NFD_H */
