/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The core's state: one struct broker, guarded by one mutex:
 * libmicrohttpd's threads take it around each request, the event loop
 * around each event and timer.  The core knows nothing of HTTP; the
 * layers above reach it through this struct and the core's functions.
 */
#ifndef BROKER_H
#define BROKER_H

#include <pthread.h>

#include "base/base.h"
#include "base/config.h"
#include "base/log.h"
#include "core/store.h"

struct broker_backend;
struct broker_bus;
struct broker_fleet;
struct broker_policy;
struct broker_profiles;

struct broker {
	pthread_mutex_t lock;
	struct broker_config cfg;
	struct broker_backend *backend;
	struct broker_store store;
	struct broker_bus *bus;
	struct broker_policy *policy;
	struct broker_profiles *profiles;
	struct broker_fleet *fleet;	/* fleet/: NULL unless configured */
	int pending;			/* instances left with unapplied */
};

#endif /* BROKER_H */
