/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Where the quotas live: "netlink" (vac.ko through libvac) or "local" (the
 * accounting core in process).  Both speak libvac's data model and its
 * conventions: 0 or a negative errno, the reason of a failure in errmsg.
 * Calls are made with the broker lock held; none of them logs.
 */
#ifndef BROKER_BACKEND_H
#define BROKER_BACKEND_H

#include "core/broker.h"

struct broker_backend {
	const struct broker_backend_ops *ops;
	char errmsg[256];	/* why the last call failed, or "" */
	int err_kind;		/* quota_set: the kind refused, or -1 */
	char down[256];		/* why it cannot serve, while it cannot */
};

struct broker_backend_ops {
	const char *name;
	/* Can it serve now?  Cheap: no I/O. */
	bool (*ready)(struct broker_backend *b);
	/*
	 * Connect if needed, else probe the connection: 0 if it serves, 1 if
	 * it has just connected (reconcile), a negative errno and b->down if
	 * it cannot.
	 */
	int (*check)(struct broker_backend *b);
	int (*resources)(struct broker_backend *b,
			 struct vac_resource_info out[VAC_NR_RESOURCES]);
	int (*instance_get)(struct broker_backend *b, const char *name,
			    struct vac_instance_info *out);
	int (*instance_dump)(struct broker_backend *b,
			     int (*cb)(const struct vac_instance_info *, void *),
			     void *arg);
	/* The VMs of instance @name (-ENOENT if there is none), oldest first. */
	int (*vm_dump)(struct broker_backend *b, const char *name,
		       int (*cb)(const struct vac_vm_info *, void *), void *arg);
	/* -EEXIST if it exists. */
	int (*declare)(struct broker_backend *b, const char *name);
	/* -EBUSY if a module has it registered. */
	int (*remove)(struct broker_backend *b, const char *name);
	/* All kinds or none; -ENOSPC over capacity, -EBUSY below usage. */
	int (*quota_set)(struct broker_backend *b, const char *name,
			 const struct vac_quota *q, size_t n, bool force);
	/* The fd to poll for events, or -1 while there is none. */
	int (*event_fd)(struct broker_backend *b);
	/*
	 * Hand every pending event to @cb; their count, or -ENOBUFS when
	 * events were lost (re-read the state).
	 */
	int (*events_read)(struct broker_backend *b,
			   int (*cb)(const struct vac_event *, void *),
			   void *arg);
	void (*destroy)(struct broker_backend *b);
};

/* Capacities must be within the accounting core's limits (-EINVAL, @err). */
int broker_backend_local_new(const struct broker_quotas *capacity,
			     struct broker_backend **out,
			     struct broker_err *err);
/* Does not connect: the first check() does. */
int broker_backend_netlink_new(struct broker_backend **out);

#endif /* BROKER_BACKEND_H */
