// SPDX-License-Identifier: GPL-2.0
/*
 * vac.ko: owns the host-wide virtualization resources that several KVM
 * builds share, and partitions them by quota.  This file holds the
 * capacity probe, the in-kernel API and module init/exit; the accounting
 * rules live in vac_core.c, the netlink family in vac_netlink.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/percpu.h>
#include <linux/ratelimit.h>
#include <linux/seq_file.h>
#include <linux/user-return-notifier.h>
#include <linux/io.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <asm/perf_event.h>
#include <asm/processor.h>
#include <asm/reboot.h>
#include <asm/irq.h>
#include <asm/tlbflush.h>
#include <asm/virtext.h>
#include <asm/vmx.h>

#include "vac_internal.h"

DEFINE_MUTEX(vac_lock);
DEFINE_SPINLOCK(vac_id_lock);
DEFINE_MUTEX(vac_vm_lock);
u32 vac_vm_gen = 1;		/* never 0: dumps read 0 as "no sequence" */
static u32 vac_vm_next_id = 1;
DECLARE_RWSEM(vac_sev_deactivate_lock);
EXPORT_SYMBOL_GPL(vac_sev_deactivate_lock);
struct vac_core vac_core;
u32 vac_probed[VAC_NR_KINDS];
bool vac_overridden[VAC_NR_KINDS];

/*
 * -1: use the probe.  A value can narrow a capacity (firmware that gives
 * fewer than CPUID says, or a host reserve); above the probed count it is
 * clamped to it, since KVM would use IDs the CPU does not have.  Where the
 * probe finds none (no SEV leaf under an emulator, say), the value is the
 * only source and stands as given.  With SEV, the windows of the SEV kinds
 * stay the firmware's (vac_core_capacities()).  Read-only after load,
 * shown in /sys/module/vac/parameters.
 */
static int cap_asids = -1;
static int cap_sev_asids = -1;
static int cap_sev_es_asids = -1;
static int cap_vpids = -1;
static int cap_pmu_counters = -1;
static int cap_msr_slots = -1;
#define VAC_CAP_DESC " (-1: the probe; at most the probed count, unless the probe finds none)"
module_param(cap_asids, int, 0444);
MODULE_PARM_DESC(cap_asids, "SVM ASIDs to hand out, CPUID 0x8000000A" VAC_CAP_DESC);
module_param(cap_sev_asids, int, 0444);
MODULE_PARM_DESC(cap_sev_asids, "SEV ASIDs, CPUID 0x8000001F" VAC_CAP_DESC);
module_param(cap_sev_es_asids, int, 0444);
MODULE_PARM_DESC(cap_sev_es_asids, "SEV-ES ASIDs, CPUID 0x8000001F" VAC_CAP_DESC);
module_param(cap_vpids, int, 0444);
MODULE_PARM_DESC(cap_vpids, "VPIDs, 65535 where VMX has VPID" VAC_CAP_DESC);
module_param(cap_pmu_counters, int, 0444);
MODULE_PARM_DESC(cap_pmu_counters, "PMU counters, CPUID 0xA or 0x80000022 and perf" VAC_CAP_DESC);
module_param(cap_msr_slots, int, 0444);
MODULE_PARM_DESC(cap_msr_slots, "user-return MSR slots, 16" VAC_CAP_DESC);

#define VAC_URET_MSR_SLOTS	16	/* KVM_MAX_NR_USER_RETURN_MSRS */

static u32 vac_probe_pmu_cpuid(void)
{
	if (boot_cpu_data.x86_vendor == X86_VENDOR_INTEL) {
		u32 eax;

		if (boot_cpu_data.cpuid_level < 0xa)
			return 0;
		eax = cpuid_eax(0xa);
		return (eax & 0xff) ? (eax >> 8) & 0xff : 0;
	}
	if (boot_cpu_data.x86_vendor == X86_VENDOR_AMD ||
	    boot_cpu_data.x86_vendor == X86_VENDOR_HYGON) {
		if (boot_cpu_has(X86_FEATURE_PERFMON_V2))
			return cpuid_ebx(0x80000022) & 0xf;
		return boot_cpu_has(X86_FEATURE_PERFCTR_CORE) ? 6 : 4;
	}
	return 0;
}

/*
 * CPUID says how many counters there should be; perf says how many its
 * driver found working (none under an emulator that lacks them), which is
 * also what KVM itself would hand to guests.
 */
static u32 vac_probe_pmu(void)
{
	struct x86_pmu_capability cap;

	perf_get_x86_pmu_capability(&cap);
	return min_t(u32, vac_probe_pmu_cpuid(), cap.num_counters_gp);
}

/* What the CPU has: SVM's ASIDs and SEV's windows, VPIDs, counters. */
static void vac_probe(struct vac_hw *hw)
{
	memset(hw, 0, sizeof(*hw));
	if (boot_cpu_has(X86_FEATURE_SVM)) {
		hw->nasid = cpuid_ebx(0x8000000a);
		if (boot_cpu_has(X86_FEATURE_SEV) &&
		    boot_cpu_data.extended_cpuid_level >= 0x8000001f) {
			hw->max_sev = cpuid_ecx(0x8000001f);
			hw->min_sev = cpuid_edx(0x8000001f);
			hw->sev_es = boot_cpu_has(X86_FEATURE_SEV_ES);
		}
	}
	if (boot_cpu_has(X86_FEATURE_VMX) && boot_cpu_has(X86_FEATURE_VPID))
		hw->count[VAC_RES_VPIDS] = 65535;
	hw->count[VAC_RES_PMU_COUNTERS] = vac_probe_pmu();
	hw->count[VAC_RES_MSR_SLOTS] = VAC_URET_MSR_SLOTS;
}

static int vac_capacities(u32 cap[VAC_NR_KINDS], u32 first[VAC_NR_KINDS])
{
	const int param[VAC_NR_KINDS] = {
		[VAC_RES_ASIDS]		= cap_asids,
		[VAC_RES_SEV_ASIDS]	= cap_sev_asids,
		[VAC_RES_SEV_ES_ASIDS]	= cap_sev_es_asids,
		[VAC_RES_VPIDS]		= cap_vpids,
		[VAC_RES_PMU_COUNTERS]	= cap_pmu_counters,
		[VAC_RES_MSR_SLOTS]	= cap_msr_slots,
	};
	bool clamped[VAC_NR_KINDS];
	struct vac_hw hw;
	int k, bad, ret;

	vac_probe(&hw);
	ret = vac_core_capacities(&hw, param, vac_probed, cap, first, clamped,
				  &bad);
	if (ret) {
		pr_err("cap_%s=%d: must be -1 or 0..%u\n", vac_kind_names[bad],
		       param[bad], vac_cap_limit[bad]);
		return ret;
	}
	for (k = 0; k < VAC_NR_KINDS; k++) {
		vac_overridden[k] = param[k] >= 0;
		if (clamped[k])
			pr_warn("cap_%s=%d: the hardware has %u, using %u\n",
				vac_kind_names[k], param[k], cap[k], cap[k]);
	}
	return 0;
}

/*
 * SVM or VMX users of each CPU: instances whose virt_cpus has the CPU.
 * A host has one or the other; an SVM build on a VMX host (or the other
 * way round) is refused at its first enable.
 */
static DEFINE_PER_CPU(unsigned int, vac_virt_refs);

static bool vac_vmx;		/* VMXON regions allocated: a VMX host */
static LIST_HEAD(vac_vmx_list);	/* registered VMX instances, RCU */
static void vac_vmx_attach(struct vac_instance *vi);
static void vac_vmx_detach(struct vac_instance *vi);

/* ---- in-kernel API ---- */

struct vac_instance *vac_register(const char *name, struct module *owner,
				  const struct vac_instance_ops *ops,
				  void *priv)
{
	struct vac_instance *vi;
	struct vac_core_inst *ci;
	int ret;

	if (!vac_name_valid(name))
		return ERR_PTR(-EINVAL);
	if (ops && ops->vmx && !vac_vmx) {
		pr_err("%s: refused: this host has no VMX (or VMXON is disabled in IA32_FEATURE_CONTROL)\n",
		       name);
		return ERR_PTR(-EOPNOTSUPP);
	}
	vi = kzalloc(sizeof(*vi), GFP_KERNEL);
	if (!vi)
		return ERR_PTR(-ENOMEM);
	if (!zalloc_cpumask_var(&vi->virt_cpus, GFP_KERNEL)) {
		kfree(vi);
		return ERR_PTR(-ENOMEM);
	}
	vi->ops = ops;
	vi->priv = priv;
	INIT_LIST_HEAD(&vi->vms);
	INIT_LIST_HEAD(&vi->vmx_node);
	strscpy(vi->module, owner ? module_name(owner) : "kernel",
		sizeof(vi->module));

	mutex_lock(&vac_lock);
	ci = vac_core_find(&vac_core, name);
	if (!ci) {
		ret = vac_core_inst_add(&vac_core, name, &ci);
		if (ret)
			goto err_unlock;
		vac_nl_notify(ci, VAC_CMD_INSTANCE_NEW_NTF, GFP_KERNEL);
	}
	spin_lock(&vac_id_lock);
	ret = vac_core_online(&vac_core, ci);
	/*
	 * No quota change is telling owners now (that runs under vac_lock):
	 * the core's range is one every other owner has let go of.
	 */
	vi->asid_base = ci->asid_base;
	vi->asid_len = ci->usage[VAC_RES_ASIDS].quota;
	spin_unlock(&vac_id_lock);
	if (ret)
		goto err_unlock;
	ci->priv = vi;
	vi->ci = ci;
	if (ops && ops->vmx)
		vac_vmx_attach(vi);
	/* rmmod vac is refused while any instance is registered. */
	__module_get(THIS_MODULE);
	vac_nl_notify(ci, VAC_CMD_INSTANCE_ONLINE_NTF, GFP_KERNEL);
	mutex_unlock(&vac_lock);
	return vi;

err_unlock:
	mutex_unlock(&vac_lock);
	free_cpumask_var(vi->virt_cpus);
	kfree(vi);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(vac_register);

static void vac_virt_drop_cpu(void *vi);
static void vac_uret_unbind_unused(void);

static void vac_vm_gen_bump(void)
{
	lockdep_assert_held(&vac_vm_lock);
	if (!++vac_vm_gen)
		vac_vm_gen = 1;
}

void vac_unregister(struct vac_instance *vi)
{
	struct vac_core_inst *ci = vi->ci;
	struct vac_vm *vm, *tmp;

	/*
	 * A build destroys its VMs before it can unload; one that did not
	 * report each would leave entries no VM stands behind.
	 */
	mutex_lock(&vac_vm_lock);
	if (vi->nr_vms)
		pr_err("%s unregisters with %u VMs still reported\n", ci->name,
		       vi->nr_vms);
	list_for_each_entry_safe(vm, tmp, &vi->vms, node) {
		list_del(&vm->node);
		vac_nl_notify_vm(vi, vm, VAC_CMD_VM_DEL_NTF);
		kfree(vm);
	}
	vi->nr_vms = 0;
	vac_vm_gen_bump();
	mutex_unlock(&vac_vm_lock);

	/*
	 * A build disables SVM or VMX on every CPU before it unregisters;
	 * one that did not would keep it on for nobody, and its count would
	 * keep the last real user's disable from switching it off.
	 */
	cpus_read_lock();
	if (!cpumask_empty(vi->virt_cpus)) {
		int cpu;

		pr_err("%s unregisters with %s still enabled on CPUs %*pbl: disabling it\n",
		       ci->name, vac_vmx ? "VMX" : "SVM",
		       cpumask_pr_args(vi->virt_cpus));
		on_each_cpu_mask(vi->virt_cpus, vac_virt_drop_cpu, vi, 1);
		/* Offline CPUs: SVM/VMX went with them; only the count is left. */
		for_each_cpu(cpu, vi->virt_cpus)
			per_cpu(vac_virt_refs, cpu)--;
	}
	cpus_read_unlock();

	mutex_lock(&vac_lock);
	if (vi->ops && vi->ops->vmx)
		vac_vmx_detach(vi);
	spin_lock(&vac_id_lock);
	vac_core_offline(&vac_core, ci);
	spin_unlock(&vac_id_lock);
	vac_uret_unbind_unused();
	ci->priv = NULL;
	vac_nl_notify(ci, VAC_CMD_INSTANCE_OFFLINE_NTF, GFP_KERNEL);
	mutex_unlock(&vac_lock);
	free_cpumask_var(vi->virt_cpus);
	kfree(vi);
	module_put(THIS_MODULE);
}
EXPORT_SYMBOL_GPL(vac_unregister);

int vac_vm_add(struct vac_instance *vi, const void *cookie)
{
	struct vac_vm *vm = kzalloc(sizeof(*vm), GFP_KERNEL);

	if (!vm)
		return -ENOMEM;
	vm->cookie = cookie;
	vm->pid = task_tgid_nr(current);
	get_task_comm(vm->comm, current);
	vm->created = ktime_get_real_ns();
	mutex_lock(&vac_vm_lock);
	vm->id = vac_vm_next_id++;
	list_add_tail(&vm->node, &vi->vms);
	WRITE_ONCE(vi->nr_vms, vi->nr_vms + 1);
	vac_vm_gen_bump();
	vac_nl_notify_vm(vi, vm, VAC_CMD_VM_NEW_NTF);
	mutex_unlock(&vac_vm_lock);
	return 0;
}
EXPORT_SYMBOL_GPL(vac_vm_add);

void vac_vm_del(struct vac_instance *vi, const void *cookie)
{
	struct vac_vm *vm;

	mutex_lock(&vac_vm_lock);
	list_for_each_entry(vm, &vi->vms, node) {
		if (vm->cookie != cookie)
			continue;
		list_del(&vm->node);
		WRITE_ONCE(vi->nr_vms, vi->nr_vms - 1);
		vac_vm_gen_bump();
		vac_nl_notify_vm(vi, vm, VAC_CMD_VM_DEL_NTF);
		mutex_unlock(&vac_vm_lock);
		kfree(vm);
		return;
	}
	mutex_unlock(&vac_vm_lock);
	pr_err("%s: a VM it did not report is destroyed\n", vi->ci->name);
}
EXPORT_SYMBOL_GPL(vac_vm_del);

void *vac_instance_priv(const struct vac_instance *vi)
{
	return vi->priv;
}
EXPORT_SYMBOL_GPL(vac_instance_priv);

static int vac_refused(struct vac_instance *vi, u32 kind, int ret)
{
	static DEFINE_RATELIMIT_STATE(rs, HZ, 10);

	if ((ret == -EDQUOT || ret == -ENOSPC) && __ratelimit(&rs))
		vac_nl_notify_refused(vi->ci, kind);
	return ret;
}

int vac_id_alloc(struct vac_instance *vi, enum vac_res kind)
{
	u32 id;
	int ret;

	spin_lock(&vac_id_lock);
	ret = vac_core_alloc(&vac_core, vi->ci, kind, &id);
	spin_unlock(&vac_id_lock);
	return ret ? vac_refused(vi, kind, ret) : (int)id;
}
EXPORT_SYMBOL_GPL(vac_id_alloc);

int vac_id_free(struct vac_instance *vi, enum vac_res kind, u32 id)
{
	int ret;

	spin_lock(&vac_id_lock);
	ret = vac_core_release(&vac_core, vi->ci, kind, id);
	spin_unlock(&vac_id_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(vac_id_free);

u32 vac_pmu_counters(struct vac_instance *vi)
{
	u32 n;

	spin_lock(&vac_id_lock);
	n = vi->ci->usage[VAC_RES_PMU_COUNTERS].used;
	spin_unlock(&vac_id_lock);
	return n;
}
EXPORT_SYMBOL_GPL(vac_pmu_counters);

int vac_id_quarantine(struct vac_instance *vi, enum vac_res kind, u32 id)
{
	int ret;

	spin_lock(&vac_id_lock);
	ret = vac_core_quarantine(&vac_core, vi->ci, kind, id);
	spin_unlock(&vac_id_lock);
	if (!ret)
		pr_notice("%s: %s %u quarantined until a flush succeeds\n",
			  vi->ci->name, vac_kind_names[kind], id);
	return ret;
}
EXPORT_SYMBOL_GPL(vac_id_quarantine);

u32 vac_id_quarantined(enum vac_res kind)
{
	u32 n;

	if (kind >= VAC_NR_KINDS)
		return 0;
	spin_lock(&vac_id_lock);
	n = vac_core.kind[kind].quarantined;
	spin_unlock(&vac_id_lock);
	return n;
}
EXPORT_SYMBOL_GPL(vac_id_quarantined);

void vac_id_release_quarantined(enum vac_res kind)
{
	u32 n;

	spin_lock(&vac_id_lock);
	n = vac_core_release_quarantined(&vac_core, kind);
	spin_unlock(&vac_id_lock);
	if (n)
		pr_notice("%u quarantined %s free again\n", n,
			  kind < VAC_NR_KINDS ? vac_kind_names[kind] : "IDs");
}
EXPORT_SYMBOL_GPL(vac_id_release_quarantined);

void vac_asid_range(struct vac_instance *vi, u32 *base, u32 *len)
{
	spin_lock(&vac_id_lock);
	*base = vi->asid_base;
	*len = vi->asid_len;
	spin_unlock(&vac_id_lock);
}
EXPORT_SYMBOL_GPL(vac_asid_range);

/* The MSR each slot is bound to; a slot keeps its index while held. */
static u32 vac_uret_msr_of[VAC_URET_MSR_SLOTS];

/* Under vac_lock, which orders slot binding against unbinding. */
int vac_uret_msr_get(struct vac_instance *vi, u32 msr)
{
	u32 slot;
	int ret;

	mutex_lock(&vac_lock);
	spin_lock(&vac_id_lock);
	ret = vac_core_msr_get(&vac_core, vi->ci, msr, &slot);
	if (!ret && slot < VAC_URET_MSR_SLOTS)
		WRITE_ONCE(vac_uret_msr_of[slot], msr);
	spin_unlock(&vac_id_lock);
	mutex_unlock(&vac_lock);
	return ret ? vac_refused(vi, VAC_RES_MSR_SLOTS, ret) : (int)slot;
}
EXPORT_SYMBOL_GPL(vac_uret_msr_get);

int vac_uret_msr_put(struct vac_instance *vi, u32 msr)
{
	int ret;

	mutex_lock(&vac_lock);
	spin_lock(&vac_id_lock);
	ret = vac_core_msr_put(&vac_core, vi->ci, msr);
	spin_unlock(&vac_id_lock);
	if (!ret)
		vac_uret_unbind_unused();
	mutex_unlock(&vac_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(vac_uret_msr_put);

struct vac_uret_cpu {
	struct user_return_notifier urn;
	bool registered;
	struct vac_uret_value {
		bool valid;	/* host read on this CPU, for msr */
		u32 msr;
		u64 host;
		u64 curr;
	} v[VAC_URET_MSR_SLOTS];
};
static DEFINE_PER_CPU(struct vac_uret_cpu, vac_uret);

static void vac_uret_restore(struct vac_uret_value *v)
{
	if (v->valid && v->curr != v->host) {
		wrmsrl(v->msr, v->host);
		v->curr = v->host;
	}
}

/* The host values back, and the notifier off this CPU's list. */
static void vac_uret_drop(struct vac_uret_cpu *c)
{
	int i;

	lockdep_assert_irqs_disabled();
	if (c->registered) {
		c->registered = false;
		user_return_notifier_unregister(&c->urn);
	}
	for (i = 0; i < VAC_URET_MSR_SLOTS; i++)
		vac_uret_restore(&c->v[i]);
}

static void vac_on_user_return(struct user_return_notifier *urn)
{
	unsigned long flags;

	local_irq_save(flags);
	vac_uret_drop(container_of(urn, struct vac_uret_cpu, urn));
	local_irq_restore(flags);
}

int vac_uret_msr_set(struct vac_instance *vi, int slot, u64 value, u64 mask)
{
	struct vac_uret_cpu *c = this_cpu_ptr(&vac_uret);
	struct vac_uret_value *v;
	u32 msr;

	if (slot < 0 || slot >= VAC_URET_MSR_SLOTS)
		return -EINVAL;
	msr = READ_ONCE(vac_uret_msr_of[slot]);
	v = &c->v[slot];
	if (!v->valid || v->msr != msr) {
		/* First use here, or the slot was bound anew (vac_core.c). */
		vac_uret_restore(v);
		v->valid = false;
		if (rdmsrl_safe(msr, &v->host))
			return -EIO;
		v->msr = msr;
		v->curr = v->host;
		v->valid = true;
	}
	value = (value & mask) | (v->host & ~mask);
	if (value == v->curr)
		return 0;
	if (wrmsrl_safe(msr, value))
		return -EIO;
	v->curr = value;
	if (!c->registered) {
		c->urn.on_user_return = vac_on_user_return;
		user_return_notifier_register(&c->urn);
		c->registered = true;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(vac_uret_msr_set);

void vac_apply_moves(struct vac_core_inst *target)
{
	u32 i;

	lockdep_assert_held(&vac_lock);
	for (i = 0; i < vac_core.nmoves; i++) {
		const struct vac_move *m = &vac_core.moves[i];
		struct vac_instance *vi = m->inst->priv;

		/*
		 * The moves come in an order where every range before this
		 * one let go of what this one takes: only now may its owner
		 * (or vac_asid_range()) see it.
		 */
		if (vi) {
			spin_lock(&vac_id_lock);
			vi->asid_base = m->base;
			vi->asid_len = m->len;
			spin_unlock(&vac_id_lock);
		}
		if (vi && vi->ops && vi->ops->asid_range_changed)
			vi->ops->asid_range_changed(vi, m->base, m->len);
		if (m->inst != target)
			vac_nl_notify(m->inst, VAC_CMD_QUOTA_NTF, GFP_KERNEL);
	}
}

/* ---- SVM enable, reference counted per CPU ---- */

static DEFINE_PER_CPU(struct page *, vac_hsave);

#define VAC_TSC_RATIO_DEFAULT	(1ULL << 32)	/* 1.0 in 8.32 fixed point */

/* 0 is no valid ratio: unknown, the next write always happens. */
static DEFINE_PER_CPU(u64, vac_tsc_ratio);

/* Interrupts off. */
static void vac_tsc_ratio_write(u64 ratio)
{
	if (!boot_cpu_has(X86_FEATURE_TSCRATEMSR) ||
	    ratio == __this_cpu_read(vac_tsc_ratio))
		return;
	wrmsrl(MSR_AMD64_TSC_RATIO, ratio);
	__this_cpu_write(vac_tsc_ratio, ratio);
}

/*
 * The enable and disable of this CPU's first and last user, with
 * interrupts off: another module's enable or disable IPI must not come in
 * between the count and the MSRs.
 */
static void vac_svm_on(u64 efer, struct page *hsave)
{
	wrmsrl(MSR_EFER, efer | EFER_SVME);
	wrmsrl(MSR_VM_HSAVE_PA, __sme_set(page_to_phys(hsave)));
	amd_pmu_enable_virt();
	/* Every guest-state load sets its own; outside guests, the default. */
	__this_cpu_write(vac_tsc_ratio, 0);
	vac_tsc_ratio_write(VAC_TSC_RATIO_DEFAULT);
}

static void vac_svm_off(void)
{
	vac_tsc_ratio_write(VAC_TSC_RATIO_DEFAULT);
	cpu_svm_disable();
	amd_pmu_disable_virt();
}

int vac_svm_enable_cpu(struct vac_instance *vi)
{
	unsigned int *refs;
	struct page *hsave;
	unsigned long flags;
	bool mine;
	int cpu, ret = 0;
	u64 efer;

	local_irq_save(flags);
	cpu = smp_processor_id();
	refs = this_cpu_ptr(&vac_virt_refs);
	hsave = __this_cpu_read(vac_hsave);
	if (!hsave) {
		ret = -EOPNOTSUPP;
		goto out;
	}
	mine = cpumask_test_cpu(cpu, vi->virt_cpus);
	rdmsrl(MSR_EFER, efer);
	if (!*refs) {
		if (efer & EFER_SVME) {
			ret = -EBUSY;	/* enabled by something outside VAC */
			goto out;
		}
		vac_svm_on(efer, hsave);
	} else if (!(efer & EFER_SVME)) {
		/*
		 * Counted but off: INIT cleared EFER on a CPU that went down
		 * and came back while a user (maybe this one) still counted
		 * on it.  Turn it on again rather than let VMRUN fault.
		 */
		pr_err("CPU %d came back with SVM off under %u users: enabling it again\n",
		       cpu, *refs);
		vac_svm_on(efer, hsave);
	}
	/* Once per instance and CPU, however often the instance asks. */
	if (!mine) {
		(*refs)++;
		cpumask_set_cpu(cpu, vi->virt_cpus);
	}
out:
	local_irq_restore(flags);
	return ret;
}
EXPORT_SYMBOL_GPL(vac_svm_enable_cpu);

void vac_svm_disable_cpu(struct vac_instance *vi)
{
	unsigned long flags;

	local_irq_save(flags);
	if (cpumask_test_and_clear_cpu(smp_processor_id(), vi->virt_cpus) &&
	    !--(*this_cpu_ptr(&vac_virt_refs)))
		vac_svm_off();
	local_irq_restore(flags);
}
EXPORT_SYMBOL_GPL(vac_svm_disable_cpu);

/* vac_unregister(): an instance that left SVM or VMX on here. */
static void vac_virt_drop_cpu(void *vi)
{
	if (vac_vmx)
		vac_vmx_disable_cpu(vi);
	else
		vac_svm_disable_cpu(vi);
}

/* Which VMCB, of any KVM build, each CPU loaded last. */
static DEFINE_PER_CPU(const void *, vac_last_vmcb);

bool vac_svm_vmcb_switch(const void *vmcb)
{
	if (this_cpu_read(vac_last_vmcb) == vmcb)
		return false;
	this_cpu_write(vac_last_vmcb, vmcb);
	return true;
}
EXPORT_SYMBOL_GPL(vac_svm_vmcb_switch);

void vac_svm_vmcb_free(const void *vmcb)
{
	int cpu;

	for_each_possible_cpu(cpu)
		cmpxchg(per_cpu_ptr(&vac_last_vmcb, cpu), vmcb, NULL);
}
EXPORT_SYMBOL_GPL(vac_svm_vmcb_free);

void vac_svm_tsc_ratio_set(u64 ratio)
{
	unsigned long flags;

	local_irq_save(flags);
	vac_tsc_ratio_write(ratio);
	local_irq_restore(flags);
}
EXPORT_SYMBOL_GPL(vac_svm_tsc_ratio_set);

struct page *vac_svm_hsave_page(int cpu)
{
	return per_cpu(vac_hsave, cpu);
}
EXPORT_SYMBOL_GPL(vac_svm_hsave_page);

/* ---- VMX enable, reference counted per CPU (Intel) ---- */

/* Each CPU's VMXON region, VAC's, as the SVM host save area is. */
static DEFINE_PER_CPU(struct page *, vac_vmxon);

DEFINE_PER_CPU(struct vmcs *, vac_vmx_current_vmcs);
EXPORT_PER_CPU_SYMBOL_GPL(vac_vmx_current_vmcs);

/* Interrupts off.  The first user of this CPU, or one it came back under. */
static int vac_vmx_on(struct page *region)
{
	u64 pa = page_to_phys(region), fc;

	/*
	 * The kernel clears X86_FEATURE_VMX where the BIOS locked VMXON off
	 * for the mode it runs in (init_ia32_feat_ctl(): inside SMX under
	 * tboot, outside otherwise); either bit is the one it checked.
	 */
	if (rdmsrl_safe(MSR_IA32_FEAT_CTL, &fc) || !(fc & FEAT_CTL_LOCKED) ||
	    !(fc & (FEAT_CTL_VMX_ENABLED_INSIDE_SMX | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX))) {
		pr_err_ratelimited("CPU %d: VMXON is disabled in IA32_FEATURE_CONTROL\n",
				   smp_processor_id());
		return -EOPNOTSUPP;
	}
	intel_pt_handle_vmx(1);
	cr4_set_bits(X86_CR4_VMXE);
	asm goto("1: vmxon %[pa]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : [pa] "m"(pa) : : fault);
	__this_cpu_write(vac_vmx_current_vmcs, NULL);
	return 0;

fault:
	cr4_clear_bits(X86_CR4_VMXE);
	intel_pt_handle_vmx(0);
	pr_err_ratelimited("CPU %d: VMXON faulted\n", smp_processor_id());
	return -EFAULT;
}

/* Interrupts off.  The last user of this CPU let go. */
static void vac_vmx_off(void)
{
	/* Faults only outside VMX operation: a CPU that was reset. */
	if (cpu_vmxoff())
		pr_err_ratelimited("CPU %d: VMXOFF faulted (VMX was already off)\n",
				   smp_processor_id());
	__this_cpu_write(vac_vmx_current_vmcs, NULL);
	intel_pt_handle_vmx(0);
}

int vac_vmx_enable_cpu(struct vac_instance *vi)
{
	struct page *region;
	unsigned int *refs;
	unsigned long flags;
	int cpu, ret = 0;
	bool on;

	local_irq_save(flags);
	cpu = smp_processor_id();
	refs = this_cpu_ptr(&vac_virt_refs);
	region = __this_cpu_read(vac_vmxon);
	if (!region) {
		ret = -EOPNOTSUPP;
		goto out;
	}
	on = cr4_read_shadow() & X86_CR4_VMXE;
	if (!*refs) {
		if (on) {
			ret = -EBUSY;	/* enabled by something outside VAC */
			goto out;
		}
		ret = vac_vmx_on(region);
	} else if (!on) {
		/*
		 * Counted but off: the CPU went down and came back (INIT
		 * leaves VMX operation) while a user still counted on it.
		 */
		pr_err("CPU %d came back with VMX off under %u users: enabling it again\n",
		       cpu, *refs);
		ret = vac_vmx_on(region);
	}
	if (ret)
		goto out;
	if (!cpumask_test_cpu(cpu, vi->virt_cpus)) {
		(*refs)++;
		cpumask_set_cpu(cpu, vi->virt_cpus);
	}
out:
	local_irq_restore(flags);
	return ret;
}
EXPORT_SYMBOL_GPL(vac_vmx_enable_cpu);

void vac_vmx_disable_cpu(struct vac_instance *vi)
{
	unsigned long flags;

	local_irq_save(flags);
	if (cpumask_test_and_clear_cpu(smp_processor_id(), vi->virt_cpus) &&
	    !--(*this_cpu_ptr(&vac_virt_refs)))
		vac_vmx_off();
	local_irq_restore(flags);
}
EXPORT_SYMBOL_GPL(vac_vmx_disable_cpu);

/*
 * The kernel's one emergency virtualization callback (crash, emergency
 * reboot), NMI context: every VMX build clears the VMCSs it loaded here,
 * so that their contents reach memory (kdump), then VMX goes off so that
 * the CPU takes INIT.
 */
static void vac_vmx_emergency(void)
{
	struct vac_instance *vi;

	if (!cpu_vmx_enabled())
		return;
	list_for_each_entry_rcu(vi, &vac_vmx_list, vmx_node)
		if (vi->ops->vmx_emergency_vmclear)
			vi->ops->vmx_emergency_vmclear();
	__cpu_emergency_vmxoff();
}

/* The kernel's one posted-interrupt wakeup handler, hard-IRQ context. */
static void vac_vmx_pi_wakeup(void)
{
	struct vac_instance *vi;

	rcu_read_lock();
	list_for_each_entry_rcu(vi, &vac_vmx_list, vmx_node)
		if (vi->ops->vmx_pi_wakeup)
			vi->ops->vmx_pi_wakeup();
	rcu_read_unlock();
}

/*
 * vac_lock held.  The first VMX build takes the kernel's two single
 * slots, the last gives them back; Debian's kvm_intel takes the same
 * ones, so it cannot be loaded beside a VMX build.
 */
static void vac_vmx_attach(struct vac_instance *vi)
{
	lockdep_assert_held(&vac_lock);
	if (list_empty(&vac_vmx_list)) {
		cpu_emergency_register_virt_callback(vac_vmx_emergency);
		kvm_set_posted_intr_wakeup_handler(vac_vmx_pi_wakeup);
	}
	list_add_tail_rcu(&vi->vmx_node, &vac_vmx_list);
}

/* vac_lock held; may sleep.  No callback into @vi after it returns. */
static void vac_vmx_detach(struct vac_instance *vi)
{
	lockdep_assert_held(&vac_lock);
	list_del_rcu(&vi->vmx_node);
	if (list_empty(&vac_vmx_list)) {
		/* Both wait for the callers in flight (synchronize_rcu()). */
		kvm_set_posted_intr_wakeup_handler(NULL);
		cpu_emergency_unregister_virt_callback(vac_vmx_emergency);
	} else {
		synchronize_rcu();
	}
}

static void vac_vmx_free(void)
{
	int cpu;

	vac_vmx = false;
	for_each_possible_cpu(cpu) {
		/* A CPU still counted may still be in VMX operation: leak its
		 * VMXON region rather than hand a live one to the allocator. */
		if (WARN_ON(per_cpu(vac_virt_refs, cpu)))
			continue;
		if (per_cpu(vac_vmxon, cpu))
			__free_page(per_cpu(vac_vmxon, cpu));
		per_cpu(vac_vmxon, cpu) = NULL;
	}
}

/* A VMXON region per CPU, with the VMCS revision the CPU wants. */
static int vac_vmx_init(void)
{
	u64 basic;
	int cpu;

	if (!boot_cpu_has(X86_FEATURE_VMX) ||
	    !boot_cpu_has(X86_FEATURE_MSR_IA32_FEAT_CTL) ||
	    rdmsrl_safe(MSR_IA32_VMX_BASIC, &basic))
		return 0;
	for_each_possible_cpu(cpu) {
		struct page *p = alloc_pages_node(cpu_to_node(cpu),
						  GFP_KERNEL | __GFP_ZERO, 0);

		if (!p) {
			vac_vmx_free();
			return -ENOMEM;
		}
		*(u32 *)page_address(p) = basic & 0x7fffffff;
		per_cpu(vac_vmxon, cpu) = p;
	}
	vac_vmx = true;
	return 0;
}

/* IPI: give the host's value of the slots in *@mask back, and forget them. */
static void vac_uret_forget(void *mask)
{
	struct vac_uret_cpu *c = this_cpu_ptr(&vac_uret);
	u32 m = *(u32 *)mask;
	int i;

	for (i = 0; i < VAC_URET_MSR_SLOTS; i++) {
		if (!(m & (1U << i)))
			continue;
		vac_uret_restore(&c->v[i]);
		c->v[i].valid = false;
	}
}

/*
 * Slots whose last user let go keep their MSR until every CPU gave its
 * host value back and forgot it; then another MSR may take them.  vac_lock
 * keeps a new user of the same MSR out meanwhile.  Offline CPUs forgot
 * everything on their way down.
 */
static void vac_uret_unbind_unused(void)
{
	u32 mask;

	lockdep_assert_held(&vac_lock);
	spin_lock(&vac_id_lock);
	mask = vac_core_msr_unused(&vac_core);
	spin_unlock(&vac_id_lock);
	if (!mask)
		return;
	cpus_read_lock();
	on_each_cpu(vac_uret_forget, &mask, 1);
	cpus_read_unlock();
	spin_lock(&vac_id_lock);
	vac_core_msr_unbind(&vac_core, mask);
	spin_unlock(&vac_id_lock);
}

/* ---- CPU hotplug ---- */

static enum cpuhp_state vac_cpuhp_state;

/*
 * A CPU going down, or every online CPU at unload: the host's user-return
 * values go back, the notifier leaves the CPU's list, and what VAC knew
 * of the MSRs is forgotten, since the CPU that comes back is reset and
 * the kernel writes TSC_AUX anew.  Nothing here depends on whether the
 * KVM builds' own callbacks ran before or after (dynamic states take the
 * lowest free slot).
 */
static int vac_cpu_down(unsigned int cpu)
{
	struct vac_uret_cpu *c;
	unsigned long flags;
	int i;

	local_irq_save(flags);
	c = this_cpu_ptr(&vac_uret);
	vac_uret_drop(c);
	for (i = 0; i < VAC_URET_MSR_SLOTS; i++)
		c->v[i].valid = false;
	__this_cpu_write(vac_tsc_ratio, 0);
	local_irq_restore(flags);
	return 0;
}

static void vac_svm_free(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		WARN_ON(per_cpu(vac_virt_refs, cpu));
		if (per_cpu(vac_hsave, cpu))
			__free_page(per_cpu(vac_hsave, cpu));
		per_cpu(vac_hsave, cpu) = NULL;
	}
}

static int vac_svm_init(void)
{
	int cpu;

	if (!boot_cpu_has(X86_FEATURE_SVM))
		return 0;
	for_each_possible_cpu(cpu) {
		struct page *p = alloc_pages_node(cpu_to_node(cpu),
						  GFP_KERNEL | __GFP_ZERO, 0);

		if (!p) {
			vac_svm_free();
			return -ENOMEM;
		}
		per_cpu(vac_hsave, cpu) = p;
	}
	return 0;
}

/* ---- debugfs: a consistency self-check ---- */

static struct dentry *vac_debugfs;

static int vac_check_show(struct seq_file *m, void *v)
{
	struct vac_err err;
	int ret;

	mutex_lock(&vac_lock);
	spin_lock(&vac_id_lock);
	ret = vac_core_check(&vac_core, &err);
	spin_unlock(&vac_id_lock);
	mutex_unlock(&vac_lock);
	if (ret)
		seq_printf(m, "inconsistent: %s (%s)\n", err.msg,
			   err.kind >= 0 ? vac_kind_names[err.kind] : "-");
	else
		seq_puts(m, "ok\n");
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vac_check);

static int __init vac_init(void)
{
	u32 cap[VAC_NR_KINDS], first[VAC_NR_KINDS];
	int ret;

	ret = vac_capacities(cap, first);
	if (ret)
		return ret;
	ret = vac_core_init_at(&vac_core, cap, first);
	if (ret)
		return ret;
	ret = vac_svm_init();
	if (ret)
		goto err_core;
	ret = vac_vmx_init();
	if (ret)
		goto err_svm;
	/* Teardown only: a CPU that comes up needs nothing from VAC. */
	ret = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "vac:online",
					NULL, vac_cpu_down);
	if (ret < 0)
		goto err_vmx;
	vac_cpuhp_state = ret;
	/* Last: from here on user space can reach us. */
	ret = vac_nl_init();
	if (ret)
		goto err_cpuhp;
	vac_debugfs = debugfs_create_dir("vac", NULL);
	debugfs_create_file("check", 0400, vac_debugfs, NULL, &vac_check_fops);
	pr_info("asids=%u sev_asids=%u sev_es_asids=%u vpids=%u pmu_counters=%u msr_slots=%u\n",
		cap[0], cap[1], cap[2], cap[3], cap[4], cap[5]);
	return 0;

err_cpuhp:
	cpuhp_remove_state_nocalls(vac_cpuhp_state);
err_vmx:
	vac_vmx_free();
err_svm:
	vac_svm_free();
err_core:
	vac_core_fini(&vac_core);
	return ret;
}

static void __exit vac_exit(void)
{
	/* No instance is registered: each holds a reference on us. */
	debugfs_remove(vac_debugfs);
	vac_nl_exit();
	/*
	 * Every online CPU gives its user-return values back and drops the
	 * notifier; CPUs that went down did so then.  Hotplug is held off
	 * meanwhile, so no CPU comes back with our notifier on its list.
	 */
	cpuhp_remove_state(vac_cpuhp_state);
	vac_vmx_free();
	vac_svm_free();
	vac_core_fini(&vac_core);
}

module_init(vac_init);
module_exit(vac_exit);
MODULE_DESCRIPTION("Host-wide virtualization resources shared by KVM builds");
MODULE_LICENSE("GPL");
