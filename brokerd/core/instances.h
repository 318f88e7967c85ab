/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The instances as the outside sees them, and setting their quotas (see
 * instances.c).
 */
#ifndef BROKER_INSTANCES_H
#define BROKER_INSTANCES_H

#include "core/store.h"

struct broker;
struct broker_backend;

/* Every instance the backend has, into a malloc'ed array. */
int broker_instances_list(struct broker_backend *be,
			  struct vac_instance_info **out, size_t *n);

/*
 * An instance as the API shows it: @in as the backend has it (NULL when
 * it has not), @d as desired (NULL when nothing is), @refused the kind
 * of an alloc-refused event or -1.
 */
/* A VM's document: id, pid, comm, created (RFC 3339) and created_ns. */
json_t *broker_vm_json(const struct vac_vm_info *vm);
json_t *broker_instance_json(const struct vac_instance_info *in,
			     const struct broker_inst *d, int refused);

/*
 * Store @q, just set in the backend, as @name's desired quotas on top of
 * @d (its desired state, or NULL) into @next.  If the store fails, the
 * backend gets back the quotas @before showed, and -errno with @err set.
 */
int broker_record_quotas(struct broker *b, const char *name,
			 const struct broker_inst *d, const struct vac_quota *q,
			 size_t n, const struct vac_instance_info *before,
			 struct broker_inst *next, struct broker_err *err);

#endif /* BROKER_INSTANCES_H */
