/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What the fleet thread hands to the parts that publish it (nfd.c,
 * placement.c), taken under the broker lock and used without it.
 */
#ifndef BROKER_FLEET_SNAP_H
#define BROKER_FLEET_SNAP_H

#include "base/base.h"

/* What the fleet thread saw: every instance the backend had. */
struct fleet_snap {
	struct vac_instance_info *in;
	size_t n;
};

#endif /* BROKER_FLEET_SNAP_H */
