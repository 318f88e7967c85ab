/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The in-kernel API of vac.ko for KVM builds.
 *
 * A KVM build registers once, at module load, under its name, and keeps
 * the returned handle until its module exit.  Everything here is called at
 * module load, hardware enable, VM or vCPU creation and teardown; nothing
 * is meant for the VM-entry path.  All calls but the SVM ones may sleep
 * only where noted.
 */
#ifndef _LINUX_VAC_H
#define _LINUX_VAC_H

#include <linux/percpu.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <uapi/linux/vac.h>

struct module;
struct vac_instance;
struct vmcs;

struct vac_instance_ops {
	/*
	 * The instance's ASID range became [base, base + len); len may be 0.
	 * Called in process context with VAC's configuration lock held, so
	 * it may sleep but must not call back into VAC.  Before returning,
	 * the instance stops running guests with ASIDs outside the new range
	 * on every CPU (for KVM: a new ASID generation on each CPU), and it
	 * flushes all ASIDs on a CPU before first using the new range there.
	 * Only then does VAC hand the old range to anybody else.
	 */
	void (*asid_range_changed)(struct vac_instance *inst, u32 base,
				   u32 len);
	/*
	 * A build that runs guests with VMX (KVM for Intel).  Its
	 * registration fails with -EOPNOTSUPP where VAC has no VMX (no VMX
	 * on the boot CPU, or disabled in IA32_FEATURE_CONTROL).  The
	 * kernel has one emergency (crash, reboot) virtualization callback
	 * and one posted-interrupt wakeup handler; VAC holds both while a
	 * VMX build is registered and calls each build's below, so that no
	 * build's clobbers another's.
	 */
	bool vmx;
	/*
	 * VMCLEAR every VMCS the build loaded on the calling CPU, which is
	 * in VMX operation: crash or emergency reboot, NMI context, no locks.
	 * VAC does the VMXOFF after every build's.
	 */
	void (*vmx_emergency_vmclear)(void);
	/* POSTED_INTR_WAKEUP_VECTOR on the calling CPU, hard-IRQ context. */
	void (*vmx_pi_wakeup)(void);
};

/*
 * Register the KVM build @owner under @name ([a-z0-9_]{1,31}).  Quotas set
 * for the name before (a declared instance) apply at once.  Returns the
 * handle or an ERR_PTR: -EINVAL (bad name), -EBUSY (name registered),
 * -ENOSPC (too many instances), -ENOMEM.  May sleep.
 */
struct vac_instance *vac_register(const char *name, struct module *owner,
				  const struct vac_instance_ops *ops,
				  void *priv);
/* Release every ID and slot the instance holds; its quotas stay. */
void vac_unregister(struct vac_instance *inst);
void *vac_instance_priv(const struct vac_instance *inst);

/*
 * The build created a VM (@vm: its own pointer for it, struct kvm), in
 * the creating process's context, or is destroying one.  VAC keeps each
 * instance's VMs (the creator's pid and command, when) for the netlink
 * family (instance vms, vm-get, vm-new-ntf, vm-del-ntf): an instance with
 * none is drained, and its build may be unloaded without stopping a
 * guest.  vac_vm_add() returns 0 or -ENOMEM; the build fails the VM's
 * creation on an error.  May sleep.
 */
int vac_vm_add(struct vac_instance *inst, const void *vm);
void vac_vm_del(struct vac_instance *inst, const void *vm);

/*
 * IDs of the kinds VAC_RES_SEV_ASIDS, VAC_RES_SEV_ES_ASIDS and
 * VAC_RES_VPIDS.  vac_id_alloc() returns the lowest free ID, or -EDQUOT
 * (over quota, counted in failcnt), -ENOSPC (none free, counted too),
 * -ENODEV (not registered), -EINVAL (not an ID kind).  vac_id_free()
 * returns -ENOENT if the instance does not hold @id.  Both take a
 * spinlock and do not sleep.
 */
int vac_id_alloc(struct vac_instance *inst, enum vac_res kind);
int vac_id_free(struct vac_instance *inst, enum vac_res kind, u32 id);

/*
 * How many general-purpose PMU counters the build exposes to a guest
 * (CPUID 0xA on Intel, the legacy 4 or PERFCTR_CORE's 6, or 0x80000022
 * on AMD), at most: its pmu_counters quota, which is the same as its use
 * (a budget, like ASIDs).  A vCPU's vPMU takes it when its CPUID is set,
 * so a quota change applies to the guests whose CPUID is set after it.
 * Takes a spinlock and does not sleep.
 */
u32 vac_pmu_counters(struct vac_instance *inst);

/*
 * An ID @inst holds that nobody can reuse yet (an SEV or SEV-ES ASID whose
 * DF_FLUSH failed): VAC takes it from @inst and keeps it from everybody,
 * reported as quarantined, until vac_id_release_quarantined().  0 or
 * -ENOENT (not held), -EINVAL (kind).  Takes a spinlock.
 */
int vac_id_quarantine(struct vac_instance *inst, enum vac_res kind, u32 id);
/*
 * A DF_FLUSH succeeded, by any KVM build: every quarantined ID of @kind
 * is free again.  Takes a spinlock.
 */
void vac_id_release_quarantined(enum vac_res kind);
/* How many IDs of @kind are quarantined now.  Takes a spinlock. */
u32 vac_id_quarantined(enum vac_res kind);

/*
 * The instance's ASID range for its per-CPU generation allocator: the
 * range it was last told (at registration or by asid_range_changed), so
 * never one another instance may still be using.
 */
void vac_asid_range(struct vac_instance *inst, u32 *base, u32 *len);

/*
 * A user-return MSR slot for @msr, shared by every instance that asks for
 * the same MSR.  Returns the slot index or -EDQUOT, -ENOSPC, -EALREADY.
 * When the last user puts it, every CPU gives the MSR's host value back
 * before another MSR may take the slot.  Both may sleep.
 */
int vac_uret_msr_get(struct vac_instance *inst, u32 msr);
int vac_uret_msr_put(struct vac_instance *inst, u32 msr);

/*
 * Set the MSR of @slot (from vac_uret_msr_get) on the calling CPU, with
 * preemption disabled, to (@value & @mask) | (host & ~@mask); the host
 * value comes back when the CPU next returns to user space.  VAC keeps
 * the host and current values per CPU and one user-return notifier, so
 * that several KVM modules writing the same MSR agree on both (each with
 * its own cache would skip a write it thinks done, or restore another's
 * guest value as the host's).  The host value is read the first time a
 * slot is set on a CPU.  0, -EINVAL (slot) or -EIO (the MSR faulted).
 */
int vac_uret_msr_set(struct vac_instance *inst, int slot, u64 value, u64 mask);

/*
 * SVM on the calling CPU (preemption disabled, as in KVM's hardware
 * enable), reference counted across instances, each instance counted
 * once per CPU however often it asks: the first enable sets EFER.SVME,
 * points VM_HSAVE_PA at VAC's host save area, tells perf to count
 * host-only (amd_pmu_enable_virt) and sets the default TSC ratio; the
 * last disable undoes it all, so one KVM unloading does not switch SVM
 * off under another.  Safe against another module's enable or disable
 * IPI on the same CPU.  An enable that finds SVM off under a count (a CPU
 * reset by going offline while a caller forgot to disable) turns it on
 * again.  -EOPNOTSUPP without SVM, -EBUSY if something outside VAC
 * already enabled SVM on this CPU.  A KVM build disables on every CPU
 * before vac_unregister(); what it leaves on, VAC disables then.
 */
int vac_svm_enable_cpu(struct vac_instance *inst);
void vac_svm_disable_cpu(struct vac_instance *inst);

/*
 * VMX on the calling CPU (preemption disabled, as in KVM's hardware
 * enable), reference counted like SVM's, in the same per-CPU count: the
 * first enable checks IA32_FEATURE_CONTROL (locked, VMXON outside SMX
 * allowed), tells Intel PT, sets CR4.VMXE and runs VMXON on VAC's VMXON
 * region for the CPU; the last disable runs VMXOFF.  Each build VMCLEARs
 * the VMCSs it loaded on the CPU before it disables.  -EOPNOTSUPP
 * without VMX or with VMXON locked off, -EBUSY if something outside VAC
 * (Debian's kvm_intel) has CR4.VMXE set on this CPU, -EFAULT if VMXON
 * faulted.  A KVM build disables on every CPU before vac_unregister().
 */
int vac_vmx_enable_cpu(struct vac_instance *inst);
void vac_vmx_disable_cpu(struct vac_instance *inst);

/*
 * The VMCS current on each CPU (the last VMPTRLD), whichever build
 * loaded it, or NULL (after its VMCLEAR, and while VMX is off).  KVM
 * skips a VMPTRLD when it thinks its VMCS is current; with a copy per
 * build, a build would VMREAD and VMWRITE the VMCS another build loaded
 * in between.  Builds read and write it on their own CPU with preemption
 * disabled, as KVM does with its own; VAC clears it at VMXON and VMXOFF.
 */
DECLARE_PER_CPU(struct vmcs *, vac_vmx_current_vmcs);

/*
 * Write MSR_AMD64_TSC_RATIO on the calling CPU (preemption disabled)
 * unless VAC knows it already holds @ratio.  KVM skips the write when it
 * thinks the MSR is set; with one cache per module, a module would run
 * its guest with the ratio another module's guest left behind.  Every
 * guest-state load of every build sets its ratio here (the default where
 * the build does not scale), so no guest inherits another's.  No-op
 * without the MSR.
 */
void vac_svm_tsc_ratio_set(u64 ratio);

/*
 * @vmcb is about to be loaded on the calling CPU (preemption disabled):
 * true if the CPU last ran another VMCB, of any KVM build, so that the
 * caller issues an IBPB.  Kept per build, a switch to another build's
 * guest and back would look like no switch at all.  vac_svm_vmcb_free()
 * forgets a VMCB about to be freed on every CPU, since its memory may
 * come back as another build's VMCB.
 */
bool vac_svm_vmcb_switch(const void *vmcb);
void vac_svm_vmcb_free(const void *vmcb);

/*
 * The host save area of @cpu that VM_HSAVE_PA points to while SVM is on,
 * or NULL without SVM.  Every instance saves its host state there (VMSAVE
 * before VMRUN, the SEV-ES host save area at offset 0x400), which is safe
 * because a CPU runs one vCPU at a time and KVM saves again after every
 * context switch.  The page belongs to VAC.
 */
struct page *vac_svm_hsave_page(int cpu);

/*
 * SEV: the firmware's DF_FLUSH (which makes deactivated ASIDs reusable)
 * fails if any DEACTIVATE ran since its WBINVD, whichever KVM module
 * issued them.  Take it for read around DEACTIVATE, for write around
 * WBINVD plus DF_FLUSH.  A module gives a freed SEV or SEV-ES ASID back
 * (vac_id_free) only after a DF_FLUSH, and quarantines it
 * (vac_id_quarantine) when it unloads after a failed one.
 */
extern struct rw_semaphore vac_sev_deactivate_lock;

#endif /* _LINUX_VAC_H */
