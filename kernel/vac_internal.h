/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VAC_INTERNAL_H
#define VAC_INTERNAL_H

#include <linux/cpumask.h>
#include <linux/list.h>
#include <linux/sched.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/vac.h>

#include "vac_core.h"

/*
 * vac_lock serialises configuration: netlink changes, registration, the
 * instance table and ASID range callbacks.  vac_id_lock guards what the
 * allocation paths touch (ID maps, usage counters, ASID bases, each
 * instance's published ASID range) and nests inside vac_lock.  Neither is
 * taken in hard-IRQ context; the per-CPU SVM, VMX and user-return state
 * is only touched on its own CPU with interrupts off.
 */
extern struct mutex vac_lock;
extern spinlock_t vac_id_lock;
extern struct vac_core vac_core;
extern u32 vac_probed[VAC_NR_KINDS];
extern bool vac_overridden[VAC_NR_KINDS];

struct vac_instance {
	struct vac_core_inst *ci;	/* ci->priv points back here */
	const struct vac_instance_ops *ops;
	void *priv;
	char module[MODULE_NAME_LEN];
	/*
	 * The ASID range the instance was last told (at registration, then
	 * by asid_range_changed), under vac_id_lock.  The core's range may
	 * be ahead of it while a quota change tells the owners in turn; a
	 * range is published only once the ranges it takes from were let go.
	 */
	u32 asid_base, asid_len;
	/* CPUs this instance enabled SVM or VMX on */
	cpumask_var_t virt_cpus;
	struct list_head vmx_node;	/* on vac_vmx_list (ops->vmx) */
	/* Its VMs, oldest first, and how many (vac_vm_lock). */
	struct list_head vms;
	u32 nr_vms;
};

/* A VM a KVM build told VAC about (vac_vm_add()). */
struct vac_vm {
	struct list_head node;
	const void *cookie;		/* the build's own pointer for it */
	u32 id;
	pid_t pid;			/* the creator's thread group */
	char comm[TASK_COMM_LEN];
	u64 created;			/* ns, CLOCK_REALTIME */
};

/*
 * Guards every instance's VM list and count, and vac_vm_gen (bumped by
 * every VM that comes or goes, for dumps).  Nests inside vac_lock; VMs
 * come and go in process context.
 */
extern struct mutex vac_vm_lock;
extern u32 vac_vm_gen;

int vac_nl_init(void);
void vac_nl_exit(void);
void vac_nl_notify(struct vac_core_inst *ci, u8 cmd, gfp_t gfp);
/* vac_vm_lock held. */
void vac_nl_notify_vm(const struct vac_instance *vi, const struct vac_vm *vm,
		      u8 cmd);
void vac_nl_notify_refused(struct vac_core_inst *ci, u32 kind);

/* Tell the owners of the ranges vac_core_quota_set() moved. */
void vac_apply_moves(struct vac_core_inst *target);

#endif /* VAC_INTERNAL_H */
