// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * VM tier: the real vac.ko and the test module in a real kernel, spoken
 * to over the vac generic netlink family.  Every test starts from a fresh
 * vac.ko and ends with its debugfs self-check and both modules unloaded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cpuid.h>
#include <linux/capability.h>
#include <cmocka.h>

#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "vt.h"

/* Capacities used by most tests: SEV counts by parameter, as QEMU has none. */
#define VAC_PARAMS "cap_sev_asids=4 cap_sev_es_asids=4 cap_vpids=1000 cap_pmu_counters=6"

static struct vac *handle;

static int setup(void **state)
{
	vt_unload_all();
	assert_int_equal(vt_load_vac(VAC_PARAMS), 0);
	assert_int_equal(vac_open(&handle), 0);
	return 0;
}

/* Load vac.ko again with other parameters. */
static void reload_vac(const char *params)
{
	handle = vac_close(handle);
	assert_int_equal(vt_rmmod("vac"), 0);
	assert_int_equal(vt_load_vac(params), 0);
	assert_int_equal(vac_open(&handle), 0);
}

static int teardown(void **state)
{
	handle = vac_close(handle);
	assert_int_equal(vt_vac_check(), 0);
	int ret = vt_rmmod("vac_test");

	assert_true(ret == 0 || ret == -ENOENT);
	assert_int_equal(vt_rmmod("vac"), 0);
	return 0;
}

static struct vac *NL(void **state)
{
	return handle;
}

static uint32_t cap_of(void **state, uint32_t kind)
{
	struct vac_resource_info r;

	assert_int_equal(vac_resource_get(NL(state), kind, &r), 0);
	return r.capacity;
}

/* ---- capacity probe ---- */

static uint32_t cpuid_reg(uint32_t leaf, int reg)
{
	uint32_t r[4] = { 0 };

	__cpuid_count(leaf, 0, r[0], r[1], r[2], r[3]);
	return r[reg];
}

enum { EAX, EBX, ECX, EDX };

/* The probe, computed again here from CPUID in user space. */
static void expected_probe(uint32_t exp[VAC_NR_RESOURCES])
{
	uint32_t max_ext = cpuid_reg(0x80000000, EAX);
	uint32_t vendor_ebx = cpuid_reg(0, EBX);
	bool amd = vendor_ebx == 0x68747541;	/* "Auth" */

	memset(exp, 0, sizeof(uint32_t) * VAC_NR_RESOURCES);
	if (cpuid_reg(0x80000001, ECX) & (1u << 2)) {	/* SVM */
		uint32_t nasid = cpuid_reg(0x8000000a, EBX), max_sev = 0;

		if (max_ext >= 0x8000001f && (cpuid_reg(0x8000001f, EAX) & 2))
			max_sev = cpuid_reg(0x8000001f, ECX);
		exp[VAC_RES_ASIDS] = nasid > max_sev + 1 ? nasid - 1 - max_sev : 0;
	}
	/* Counters count only where the kernel's PMU driver found them. */
	if (access("/sys/bus/event_source/devices/cpu", F_OK))
		exp[VAC_RES_PMU_COUNTERS] = 0;
	else if (amd)
		exp[VAC_RES_PMU_COUNTERS] =
			cpuid_reg(0x80000001, ECX) & (1u << 23) ? 6 : 4;
	else if (cpuid_reg(0, EAX) >= 0xa && (cpuid_reg(0xa, EAX) & 0xff))
		exp[VAC_RES_PMU_COUNTERS] = (cpuid_reg(0xa, EAX) >> 8) & 0xff;
	exp[VAC_RES_MSR_SLOTS] = 16;
}

static void probe_matches_cpuid_and_overrides_apply(void **state)
{
	uint32_t exp[VAC_NR_RESOURCES];
	struct vac_resource_info r;
	uint32_t k;

	expected_probe(exp);
	/* QEMU -cpu EPYC under TCG: SVM with 16 ASIDs, no SEV, no PMU. */
	assert_int_equal(exp[VAC_RES_ASIDS], 15);
	assert_int_equal(exp[VAC_RES_PMU_COUNTERS], 0);
	for (k = 0; k < VAC_NR_RESOURCES; k++) {
		assert_int_equal(vac_resource_get(NL(state), k, &r), 0);
		assert_int_equal(r.kind, k);
		assert_int_equal(r.probed, exp[k]);
		assert_int_equal(r.reserved, 0);
		assert_int_equal(r.used, 0);
	}
	assert_int_equal(vac_resource_get(NL(state), VAC_RES_SEV_ASIDS, &r), 0);
	assert_true(r.overridden);
	assert_int_equal(r.capacity, 4);
	assert_int_equal(r.first, 5);		/* after SEV-ES 1..4 */
	assert_int_equal(vac_resource_get(NL(state), VAC_RES_SEV_ES_ASIDS, &r), 0);
	assert_int_equal(r.first, 1);
	assert_int_equal(vac_resource_get(NL(state), VAC_RES_ASIDS, &r), 0);
	assert_false(r.overridden);
	assert_int_equal(r.first, 9);		/* after SEV 5..8 */
	assert_int_equal(r.capacity, 16 - 9);	/* the rest of nASID */
	assert_int_equal(vac_resource_get(NL(state), VAC_RES_VPIDS, &r), 0);
	assert_int_equal(r.capacity, 1000);
	assert_int_equal(vac_resource_get(NL(state), VAC_RES_MSR_SLOTS, &r), 0);
	assert_false(r.overridden);
	assert_int_equal(r.capacity, 16);
}

static void bad_override_refuses_load(void **state)
{
	handle = vac_close(handle);
	assert_int_equal(vt_rmmod("vac"), 0);
	assert_int_equal(vt_load_vac("cap_msr_slots=17"), -EINVAL);
	assert_int_equal(vt_load_vac("cap_vpids=-2"), -EINVAL);
	assert_int_equal(vac_open(&handle), -ENOENT);
	assert_int_equal(vt_load_vac(VAC_PARAMS), 0);
	assert_int_equal(vac_open(&handle), 0);
}

static void override_above_the_hardware_is_clamped(void **state)
{
	struct vac_resource_info r;

	/* 15 ASIDs here, 16 slots; no VPIDs or SEV: overrides stand there. */
	reload_vac("cap_asids=100 cap_msr_slots=8 cap_vpids=5 cap_sev_asids=2");
	assert_int_equal(vac_resource_get(NL(state), VAC_RES_ASIDS, &r), 0);
	assert_true(r.overridden);
	assert_int_equal(r.probed, 15);
	assert_int_equal(r.first, 3);			/* after SEV 1..2 */
	assert_int_equal(r.capacity, 16 - 3);		/* all the CPU has */
	assert_int_equal(vac_resource_get(NL(state), VAC_RES_MSR_SLOTS, &r), 0);
	assert_int_equal(r.capacity, 8);		/* narrowing is kept */
	assert_int_equal(vac_resource_get(NL(state), VAC_RES_VPIDS, &r), 0);
	assert_int_equal(r.probed, 0);
	assert_int_equal(r.capacity, 5);		/* the only source */
	assert_int_equal(vac_resource_get(NL(state), VAC_RES_SEV_ASIDS, &r), 0);
	assert_int_equal(r.capacity, 2);
	reload_vac("cap_asids=4");
	assert_int_equal(vac_resource_get(NL(state), VAC_RES_ASIDS, &r), 0);
	assert_int_equal(r.capacity, 4);
	/* SEV parameters that take all 16: no plain ASID is left to give. */
	reload_vac("cap_sev_es_asids=3 cap_sev_asids=12 cap_asids=8");
	assert_int_equal(vac_resource_get(NL(state), VAC_RES_ASIDS, &r), 0);
	assert_int_equal(r.first, 16);
	assert_int_equal(r.capacity, 0);
	reload_vac(VAC_PARAMS);
}

/* ---- instances ---- */

static void declare_get_delete(void **state)
{
	struct vac *nl = NL(state);
	struct vac_instance_info in;

	assert_int_equal(vac_instance_declare(nl, "kvm_b"), 0);
	assert_int_equal(vac_instance_get(nl, "kvm_b", &in), 0);
	assert_string_equal(in.name, "kvm_b");
	assert_int_equal(in.state, VAC_INSTANCE_STATE_DECLARED);
	assert_int_equal(in.usage[VAC_RES_VPIDS].quota, 0);
	assert_int_equal(vac_instance_declare(nl, "kvm_b"), -EEXIST);
	assert_string_equal(vac_errmsg(nl), "instance exists");
	assert_int_equal(vac_instance_declare(nl, "KVM-B"), -EINVAL);
	assert_non_null(strstr(vac_errmsg(nl), "[a-z0-9_]"));
	assert_int_equal(vac_instance_declare(nl, ""), -EINVAL);
	assert_int_equal(vac_instance_delete(nl, "kvm_b"), 0);
	assert_int_equal(vac_instance_get(nl, "kvm_b", &in), -ENOENT);
	assert_string_equal(vac_errmsg(nl), "no such instance");
	assert_int_equal(vac_instance_delete(nl, "kvm_b"), -ENOENT);
}

static void register_unregister_keeps_quota(void **state)
{
	struct vac *nl = NL(state);
	struct vac_instance_info in;
	char out[512];

	assert_int_equal(vac_instance_declare(nl, "kvm_b"), 0);
	assert_int_equal(vt_quota(nl, "kvm_b", "vpids=10 sev_asids=2 msr_slots=2", false), 0);
	assert_int_equal(vt_load_test("instances=kvm_b"), 0);
	assert_int_equal(vac_instance_get(nl, "kvm_b", &in), 0);
	assert_int_equal(in.state, VAC_INSTANCE_STATE_ONLINE);
	assert_string_equal(in.module, "vac_test");

	assert_int_equal(vt_ctl(out, sizeof(out), "alloc kvm_b vpids 5"), 0);
	assert_string_equal(out, "1 2 3 4 5 ");
	assert_int_equal(vt_ctl(out, sizeof(out), "alloc kvm_b sev_asids 2"), 0);
	assert_string_equal(out, "5 6 ");
	assert_int_equal(vt_ctl(out, sizeof(out), "msr_get kvm_b 0xc0000103"), 0);
	assert_int_equal(vac_instance_get(nl, "kvm_b", &in), 0);
	assert_int_equal(in.usage[VAC_RES_VPIDS].used, 5);
	assert_int_equal(in.usage[VAC_RES_SEV_ASIDS].used, 2);
	assert_int_equal(in.usage[VAC_RES_MSR_SLOTS].used, 1);
	/* A registered instance with no ASIDs has no range to report. */
	assert_false(in.usage[VAC_RES_ASIDS].has_base);

	/* Unregister without freeing: VAC releases everything. */
	assert_int_equal(vt_ctl(NULL, 0, "unregister kvm_b"), 0);
	assert_int_equal(vac_instance_get(nl, "kvm_b", &in), 0);
	assert_int_equal(in.state, VAC_INSTANCE_STATE_DECLARED);
	assert_int_equal(in.usage[VAC_RES_VPIDS].used, 0);
	assert_int_equal(in.usage[VAC_RES_SEV_ASIDS].used, 0);
	assert_int_equal(in.usage[VAC_RES_MSR_SLOTS].used, 0);
	assert_int_equal(in.usage[VAC_RES_VPIDS].quota, 10);
	assert_int_equal(in.usage[VAC_RES_VPIDS].peak, 5);
	assert_int_equal(vt_vac_check(), 0);

	/* The upgrade case: the same name comes back and gets its share. */
	assert_int_equal(vt_ctl(NULL, 0, "register kvm_b"), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "alloc kvm_b vpids 10"), 0);
	assert_string_equal(out, "1 2 3 4 5 6 7 8 9 10 ");
	/* A registered name cannot be registered twice or deleted. */
	assert_int_equal(vt_ctl(NULL, 0, "register kvm_b"), -EEXIST);
	assert_int_equal(vac_instance_delete(nl, "kvm_b"), -EBUSY);
	assert_string_equal(vac_errmsg(nl), "instance is registered by a module");
	assert_int_equal(vt_rmmod("vac_test"), 0);
	assert_int_equal(vac_instance_get(nl, "kvm_b", &in), 0);
	assert_int_equal(in.usage[VAC_RES_VPIDS].used, 0);
}

/*
 * A build whose SEV flush failed at unload hands the unflushed ASIDs to
 * the quarantine: nobody gets them, the listing shows them, until a
 * flush succeeds (the test module stands in for both events).
 */
static void quarantined_ids_are_nobodys_until_released(void **state)
{
	struct vac *nl = NL(state);
	struct vac_resource_info r;
	struct vac_instance_info in;
	char out[128];

	assert_int_equal(vt_load_test("instances=kvm_a,kvm_b"), 0);
	assert_int_equal(vt_quota(nl, "kvm_a", "sev_asids=2", false), 0);
	assert_int_equal(vt_quota(nl, "kvm_b", "sev_asids=2", false), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "alloc kvm_a sev_asids 2"), 0);
	assert_string_equal(out, "5 6 ");
	assert_int_equal(vt_ctl(NULL, 0, "quarantine kvm_a sev_asids 5"), 0);
	assert_int_equal(vt_ctl(NULL, 0, "quarantine kvm_a sev_asids 5"), -ENOENT);
	assert_int_equal(vt_ctl(NULL, 0, "quarantine kvm_b sev_asids 6"), -ENOENT);
	assert_int_equal(vac_resource_get(nl, VAC_RES_SEV_ASIDS, &r), 0);
	assert_int_equal(r.quarantined, 1);
	assert_int_equal(r.used, 1);
	assert_int_equal(vac_instance_get(nl, "kvm_a", &in), 0);
	assert_int_equal(in.usage[VAC_RES_SEV_ASIDS].used, 1);
	/* Its build gone, the ASID stays out of reach. */
	assert_int_equal(vt_ctl(NULL, 0, "unregister kvm_a"), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "alloc kvm_b sev_asids 2"), 0);
	assert_string_equal(out, "6 7 ");
	assert_int_equal(vt_ctl(NULL, 0, "free kvm_b sev_asids 7"), 0);
	assert_int_equal(vt_vac_check(), 0);
	/* A flush succeeded somewhere: it is free again, and lowest. */
	assert_int_equal(vt_ctl(NULL, 0, "release_quarantined sev_asids"), 0);
	assert_int_equal(vac_resource_get(nl, VAC_RES_SEV_ASIDS, &r), 0);
	assert_int_equal(r.quarantined, 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "alloc kvm_b sev_asids 1"), 0);
	assert_string_equal(out, "5 ");
}

/* ---- quotas ---- */

static void quota_set_is_all_or_nothing(void **state)
{
	struct vac *nl = NL(state);
	struct vac_instance_info before, after;

	assert_int_equal(vac_instance_declare(nl, "kvm_a"), 0);
	assert_int_equal(vt_quota(nl, "kvm_a", "asids=4 vpids=100 pmu_counters=2", false), 0);
	assert_int_equal(vac_instance_get(nl, "kvm_a", &before), 0);
	assert_int_equal(before.usage[VAC_RES_ASIDS].quota, 4);
	assert_int_equal(before.usage[VAC_RES_VPIDS].quota, 100);
	assert_int_equal(before.usage[VAC_RES_PMU_COUNTERS].quota, 2);
	assert_true(before.usage[VAC_RES_ASIDS].has_base);

	/* vpids would fit, sev_asids would not: neither changes. */
	assert_int_equal(vt_quota(nl, "kvm_a", "vpids=50 sev_asids=5", false), -ENOSPC);
	assert_non_null(strstr(vac_errmsg(nl), "free capacity"));
	assert_true(vac_err_offset(nl) > 0);
	assert_int_equal(vac_instance_get(nl, "kvm_a", &after), 0);
	assert_memory_equal(&before, &after, sizeof(before));

	assert_int_equal(vt_quota(nl, "kvm_a", "vpids=50 vpids=60", false), -EINVAL);
	assert_string_equal(vac_errmsg(nl), "resource kind given twice");
	assert_int_equal(vt_quota(nl, "nobody", "vpids=1", false), -ENOENT);
	assert_int_equal(vac_instance_get(nl, "kvm_a", &after), 0);
	assert_memory_equal(&before, &after, sizeof(before));
}

static void sum_of_quotas_never_exceeds_capacity(void **state)
{
	struct vac *nl = NL(state);
	uint32_t cap = cap_of(state, VAC_RES_VPIDS);
	struct vac_resource_info r;
	char spec[64];

	assert_int_equal(vac_instance_declare(nl, "kvm_a"), 0);
	assert_int_equal(vac_instance_declare(nl, "kvm_b"), 0);
	snprintf(spec, sizeof(spec), "vpids=%u", cap - 100);
	assert_int_equal(vt_quota(nl, "kvm_a", spec, false), 0);
	assert_int_equal(vt_quota(nl, "kvm_b", "vpids=101", false), -ENOSPC);
	assert_int_equal(vt_quota(nl, "kvm_b", "vpids=100", false), 0);
	assert_int_equal(vac_resource_get(nl, VAC_RES_VPIDS, &r), 0);
	assert_int_equal(r.reserved, cap);
	/* Even forced, a quota is a guarantee: the sum stays. */
	assert_int_equal(vt_quota(nl, "kvm_a", "vpids=901", true), -ENOSPC);
	/* Shrinking one makes room for the other. */
	assert_int_equal(vt_quota(nl, "kvm_a", "vpids=800", false), 0);
	assert_int_equal(vt_quota(nl, "kvm_b", "vpids=200", false), 0);
	assert_int_equal(vac_resource_get(nl, VAC_RES_VPIDS, &r), 0);
	assert_int_equal(r.reserved, 1000);
	/* Deleting a declared instance returns its quota. */
	assert_int_equal(vac_instance_delete(nl, "kvm_b"), 0);
	assert_int_equal(vac_resource_get(nl, VAC_RES_VPIDS, &r), 0);
	assert_int_equal(r.reserved, 800);
}

/*
 * PMU counters are a count a build exposes to its guests, not IDs: a
 * registered instance uses its whole quota, which follows every change
 * without force, and nothing is allocated one by one.
 */
static void pmu_counters_are_a_budget(void **state)
{
	struct vac *nl = NL(state);
	uint32_t cap = cap_of(state, VAC_RES_PMU_COUNTERS);
	struct vac_resource_info r;
	struct vac_instance_info in;
	char out[64], spec[64];

	assert_true(cap >= 2);
	assert_int_equal(vac_instance_declare(nl, "kvm_a"), 0);
	assert_int_equal(vt_quota(nl, "kvm_a", "pmu_counters=2", false), 0);
	assert_int_equal(vac_instance_get(nl, "kvm_a", &in), 0);
	assert_int_equal(in.usage[VAC_RES_PMU_COUNTERS].used, 0);
	assert_int_equal(vt_load_test("instances=kvm_a,kvm_b"), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "pmu kvm_a"), 0);
	assert_string_equal(out, "2\n");
	assert_int_equal(vt_ctl(out, sizeof(out), "pmu kvm_b"), 0);
	assert_string_equal(out, "0\n");
	assert_int_equal(vac_instance_get(nl, "kvm_a", &in), 0);
	assert_int_equal(in.usage[VAC_RES_PMU_COUNTERS].used, 2);
	assert_int_equal(in.usage[VAC_RES_PMU_COUNTERS].peak, 2);
	assert_int_equal(vt_ctl(out, sizeof(out), "alloc kvm_a pmu_counters 1"),
			 -EINVAL);

	/* Down to nothing and up again, registered, without force. */
	assert_int_equal(vt_quota(nl, "kvm_a", "pmu_counters=0", false), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "pmu kvm_a"), 0);
	assert_string_equal(out, "0\n");
	snprintf(spec, sizeof(spec), "pmu_counters=%u", cap - 1);
	assert_int_equal(vt_quota(nl, "kvm_a", spec, false), 0);
	assert_int_equal(vt_quota(nl, "kvm_b", "pmu_counters=2", false), -ENOSPC);
	assert_int_equal(vt_quota(nl, "kvm_b", "pmu_counters=1", false), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "pmu kvm_b"), 0);
	assert_string_equal(out, "1\n");
	assert_int_equal(vac_resource_get(nl, VAC_RES_PMU_COUNTERS, &r), 0);
	assert_int_equal(r.used, cap);
	assert_int_equal(r.reserved, cap);
	assert_int_equal(vt_vac_check(), 0);

	/* Unregistered, the quota stays and nothing is used. */
	assert_int_equal(vt_ctl(NULL, 0, "unregister kvm_a"), 0);
	assert_int_equal(vac_instance_get(nl, "kvm_a", &in), 0);
	assert_int_equal(in.usage[VAC_RES_PMU_COUNTERS].used, 0);
	assert_int_equal(in.usage[VAC_RES_PMU_COUNTERS].quota, cap - 1);
	assert_int_equal(vac_resource_get(nl, VAC_RES_PMU_COUNTERS, &r), 0);
	assert_int_equal(r.used, 1);
	assert_int_equal(vt_vac_check(), 0);
}

static void refusal_over_quota_counts_failcnt(void **state)
{
	struct vac *nl = NL(state);
	struct vac_instance_info in;
	char out[256];

	assert_int_equal(vt_load_test("instances=kvm_a"), 0);
	assert_int_equal(vt_quota(nl, "kvm_a", "vpids=3", false), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "alloc kvm_a vpids 3"), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "alloc kvm_a vpids 1"), -EDQUOT);
	assert_int_equal(vt_ctl(out, sizeof(out), "alloc kvm_a vpids 1"), -EDQUOT);
	assert_int_equal(vac_instance_get(nl, "kvm_a", &in), 0);
	assert_int_equal(in.usage[VAC_RES_VPIDS].used, 3);
	assert_int_equal(in.usage[VAC_RES_VPIDS].failcnt, 2);
	/* Freeing one makes room for exactly one. */
	assert_int_equal(vt_ctl(NULL, 0, "free kvm_a vpids 2"), 0);
	assert_int_equal(vt_ctl(NULL, 0, "free kvm_a vpids 2"), -ENOENT);
	assert_int_equal(vt_ctl(out, sizeof(out), "alloc kvm_a vpids 1"), 0);
	assert_string_equal(out, "2 ");
	assert_int_equal(vac_instance_get(nl, "kvm_a", &in), 0);
	assert_int_equal(in.usage[VAC_RES_VPIDS].peak, 3);
}

static void shrink_below_used_refused_unless_forced(void **state)
{
	struct vac *nl = NL(state);
	struct vac_instance_info before, in;

	assert_int_equal(vt_load_test("instances=kvm_a"), 0);
	assert_int_equal(vt_quota(nl, "kvm_a", "vpids=8", false), 0);
	assert_int_equal(vt_ctl(NULL, 0, "alloc kvm_a vpids 8"), 0);
	assert_int_equal(vac_instance_get(nl, "kvm_a", &before), 0);
	assert_int_equal(vt_quota(nl, "kvm_a", "vpids=4", false), -EBUSY);
	assert_non_null(strstr(vac_errmsg(nl), "below current usage"));
	assert_int_equal(vac_instance_get(nl, "kvm_a", &in), 0);
	assert_memory_equal(&before, &in, sizeof(in));

	assert_int_equal(vt_quota(nl, "kvm_a", "vpids=4", true), 0);
	assert_int_equal(vac_instance_get(nl, "kvm_a", &in), 0);
	assert_int_equal(in.usage[VAC_RES_VPIDS].quota, 4);
	assert_int_equal(in.usage[VAC_RES_VPIDS].used, 8);	/* keeps what it has */
	assert_int_equal(vt_ctl(NULL, 0, "alloc kvm_a vpids 1"), -EDQUOT);
	for (int id = 1; id <= 5; id++)
		assert_int_equal(vt_ctl(NULL, 0, "free kvm_a vpids %d", id), 0);
	assert_int_equal(vt_ctl(NULL, 0, "alloc kvm_a vpids 1"), 0);
	assert_int_equal(vt_ctl(NULL, 0, "alloc kvm_a vpids 1"), -EDQUOT);
}

/* ---- ASID ranges ---- */

struct range { uint32_t base, len; };

/* What NAME's callback was last told, and what vac_asid_range() says. */
static void ranges_of(const char *name, struct range *told, struct range *now)
{
	char out[128];
	unsigned int base, len, calls, qbase, qlen;

	assert_int_equal(vt_ctl(out, sizeof(out), "range %s", name), 0);
	assert_int_equal(sscanf(out, "%u %u %u %u %u", &base, &len, &calls,
				&qbase, &qlen), 5);
	*told = (struct range){ base, len };
	*now = (struct range){ qbase, qlen };
}

static struct range told(const char *name)
{
	struct range r, q;

	ranges_of(name, &r, &q);
	/* No change in flight: the callback's range is vac_asid_range()'s. */
	assert_int_equal(r.base, q.base);
	assert_int_equal(r.len, q.len);
	return r;
}

static void assert_ranges_disjoint(void **state, const char *const *names, int n)
{
	struct vac_resource_info res;
	struct range r[8];

	assert_int_equal(vac_resource_get(NL(state), VAC_RES_ASIDS, &res), 0);
	for (int i = 0; i < n; i++) {
		struct vac_instance_info in;

		r[i] = told(names[i]);
		assert_int_equal(vac_instance_get(NL(state), names[i], &in), 0);
		assert_int_equal(in.usage[VAC_RES_ASIDS].quota, r[i].len);
		assert_int_equal(in.usage[VAC_RES_ASIDS].used, r[i].len);
		if (r[i].len) {
			assert_int_equal(in.usage[VAC_RES_ASIDS].base, r[i].base);
			assert_true(r[i].base >= res.first);
			assert_true(r[i].base + r[i].len <= res.first + res.capacity);
		}
		for (int j = 0; j < i; j++)
			assert_true(!r[i].len || !r[j].len ||
				    r[i].base + r[i].len <= r[j].base ||
				    r[j].base + r[j].len <= r[i].base);
	}
}

static void asid_ranges_are_disjoint_and_owners_told(void **state)
{
	static const char *const names[] = { "kvm_a", "kvm_b", "kvm_c" };
	struct vac *nl = NL(state);
	struct vac_resource_info res;

	/* The real probe: 15 ASIDs (QEMU's 16 minus the host's). */
	reload_vac(NULL);
	nl = NL(state);
	assert_int_equal(vac_resource_get(nl, VAC_RES_ASIDS, &res), 0);
	assert_int_equal(res.first, 1);
	assert_int_equal(res.capacity, 15);

	assert_int_equal(vt_load_test("instances=kvm_a,kvm_b,kvm_c"), 0);
	assert_int_equal(vt_quota(nl, "kvm_a", "asids=4", false), 0);
	assert_int_equal(vt_quota(nl, "kvm_b", "asids=4", false), 0);
	assert_int_equal(vt_quota(nl, "kvm_c", "asids=4", false), 0);
	assert_ranges_disjoint(state, names, 3);
	assert_int_equal(vt_quota(nl, "kvm_a", "asids=4", false), 0);
	assert_int_equal(vt_quota(nl, "kvm_c", "asids=8", false), -ENOSPC);
	/* Shrink the middle one, then grow the first past its gap: holes
	 * of 2 and 3 cannot hold 7 ASIDs, so the ranges are compacted. */
	assert_int_equal(vt_quota(nl, "kvm_b", "asids=2", false), 0);
	assert_ranges_disjoint(state, names, 3);
	assert_int_equal(vt_quota(nl, "kvm_a", "asids=7", false), 0);
	assert_ranges_disjoint(state, names, 3);
	assert_int_equal(vt_quota(nl, "kvm_c", "asids=1", false), 0);
	assert_int_equal(vt_quota(nl, "kvm_b", "asids=7", false), 0);
	assert_ranges_disjoint(state, names, 3);
	/* Taking all ASIDs of a registered instance needs force. */
	assert_int_equal(vt_quota(nl, "kvm_c", "asids=0", false), -EBUSY);
	assert_int_equal(vt_quota(nl, "kvm_c", "asids=0", true), 0);
	assert_int_equal(told("kvm_c").len, 0);
	assert_ranges_disjoint(state, names, 3);
	/* An offline instance keeps its range reserved. */
	assert_int_equal(vt_ctl(NULL, 0, "unregister kvm_a"), 0);
	assert_int_equal(vt_quota(nl, "kvm_c", "asids=2", false), -ENOSPC);
	assert_int_equal(vt_ctl(NULL, 0, "register kvm_a"), 0);
	assert_int_equal(told("kvm_a").len, 7);
	assert_ranges_disjoint(state, names, 3);
}

/* The test module's answer to @cmd NAME, as an integer. */
static int ctl_int(const char *cmd, const char *name)
{
	char out[32];

	assert_int_equal(vt_ctl(out, sizeof(out), "%s %s", cmd, name), 0);
	return atoi(out);
}

/*
 * nlctrl answers within 5 s: no other family's operation holds genl_mutex.
 * The kernel handles a request inside the sender's sendmsg(), where a
 * receive timeout does not apply, so a child asks; *@pid is left to reap
 * when it did not finish in time.
 */
static bool nlctrl_answers(pid_t *pid)
{
	int st;

	*pid = fork();
	assert_true(*pid >= 0);
	if (*pid == 0) {
		struct nl_sock *sk = nl_socket_alloc();

		_exit(sk && !genl_connect(sk) &&
		      genl_ctrl_resolve(sk, "nlctrl") == GENL_ID_CTRL ? 0 : 1);
	}
	for (int i = 0; i < 500; i++) {
		if (waitpid(*pid, &st, WNOHANG) == *pid) {
			*pid = 0;
			return WIFEXITED(st) && WEXITSTATUS(st) == 0;
		}
		usleep(10000);
	}
	return false;
}

/*
 * kvm_x grows into the range kvm_z is moved out of.  While kvm_z's
 * callback has not returned, kvm_z may still run guests with its old
 * ASIDs: vac_asid_range() must not give kvm_x its new range yet.  And
 * the callback, run inside a vac netlink operation that waits, holds up
 * nothing outside VAC (parallel_ops: no genl_mutex).
 */
static void a_range_is_published_once_its_old_owner_let_go(void **state)
{
	static const char *const names[] = { "kvm_y", "kvm_w", "kvm_z", "kvm_x" };
	struct vac *nl;
	struct range x, z, now;
	pid_t pid, asker;
	bool answered;
	int st, i;

	reload_vac(NULL);			/* 15 ASIDs: 1..15 */
	nl = NL(state);
	assert_int_equal(vt_load_test("instances=kvm_y,kvm_w,kvm_z,kvm_x"), 0);
	assert_int_equal(vt_quota(nl, "kvm_y", "asids=5", false), 0);	/* 1-5 */
	assert_int_equal(vt_quota(nl, "kvm_w", "asids=3", false), 0);	/* 6-8 */
	assert_int_equal(vt_quota(nl, "kvm_z", "asids=4", false), 0);	/* 9-12 */
	assert_int_equal(vt_quota(nl, "kvm_w", "asids=0", true), 0);	/* holes of 3 */
	z = told("kvm_z");
	assert_int_equal(z.base, 9);
	assert_int_equal(z.len, 4);

	/* 4 for kvm_x: compaction moves kvm_z to 6-9, kvm_x gets 10-13. */
	assert_int_equal(vt_ctl(NULL, 0, "range_block kvm_z"), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vac *c;

		if (vac_open(&c))
			_exit(2);
		_exit(vt_quota(c, "kvm_x", "asids=4", false) ? 1 : 0);
	}
	for (i = 0; i < 500 && !ctl_int("range_blocked", "kvm_z"); i++)
		usleep(10000);
	assert_int_equal(ctl_int("range_blocked", "kvm_z"), 1);

	/*
	 * kvm_z, still in its callback, uses 9-12: kvm_x may not have 10-13
	 * yet.  (kvm_z itself may see its new range, which is free.)
	 */
	ranges_of("kvm_z", &z, &now);
	assert_int_equal(z.base, 9);
	assert_int_equal(z.len, 4);
	ranges_of("kvm_x", &x, &now);
	assert_int_equal(x.len, 0);
	assert_int_equal(now.len, 0);
	answered = nlctrl_answers(&asker);

	assert_int_equal(vt_ctl(NULL, 0, "range_unblock kvm_z"), 0);
	if (asker)
		waitpid(asker, &st, 0);
	assert_true(answered);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	x = told("kvm_x");
	z = told("kvm_z");
	assert_int_equal(z.base, 6);
	assert_int_equal(x.base, 10);
	assert_int_equal(x.len, 4);
	assert_ranges_disjoint(state, names, 4);
}

/* ---- dumps ---- */

static void dump_of_1000_instances_resumes(void **state)
{
	struct vac *nl = NL(state);
	static struct vac_instance_info all[1100];
	static bool seen[1000];
	char name[VAC_NAME_LEN];
	int n;

	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "inst_%04d", i);
		assert_int_equal(vac_instance_declare(nl, name), 0);
	}
	assert_int_equal(vt_quota(nl, "inst_0999", "vpids=7", false), 0);
	n = vt_dump(nl, all, 1100);
	assert_int_equal(n, 1000);
	for (int i = 0; i < n; i++) {
		int idx;

		assert_int_equal(sscanf(all[i].name, "inst_%d", &idx), 1);
		assert_false(seen[idx]);
		seen[idx] = true;
		if (idx == 999)
			assert_int_equal(all[i].usage[VAC_RES_VPIDS].quota, 7);
	}
	/* 1000 objects of ~400 bytes cannot fit a 32 KiB message: it resumed. */
	for (int i = 0; i < 1000; i++)
		assert_true(seen[i]);
}

/*
 * An instance declared while a dump is half read: a later message of the
 * dump carries NLM_F_DUMP_INTR (genl_dump_check_consistent), and libvac,
 * which takes such a dump again, still hands out each instance once.
 */
static void dump_changed_midway_is_flagged(void **state)
{
	static struct vac_instance_info all[400];
	struct nl_sock *sk = nl_socket_alloc();
	char name[VAC_NAME_LEN];
	bool first = true, intr_first = false, intr = false, done = false;
	struct nl_msg *msg;
	int fam, n;

	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "inst_%04d", i);
		assert_int_equal(vac_instance_declare(NL(state), name), 0);
	}
	assert_int_equal(genl_connect(sk), 0);
	fam = genl_ctrl_resolve(sk, VAC_FAMILY_NAME);
	msg = nlmsg_alloc();
	assert_non_null(genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, fam, 0,
				    NLM_F_DUMP, VAC_CMD_INSTANCE_GET, VAC_FAMILY_VERSION));
	assert_true(nl_send_auto(sk, msg) >= 0);
	nlmsg_free(msg);
	while (!done) {
		struct sockaddr_nl peer;
		unsigned char *buf = NULL;
		struct nlmsghdr *nlh;
		int len = nl_recv(sk, &peer, &buf, NULL);

		assert_true(len > 0);
		for (nlh = (struct nlmsghdr *)buf; nlmsg_ok(nlh, len); nlh = nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_type == NLMSG_DONE)
				done = true;
			else if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
				*(first ? &intr_first : &intr) = true;
		}
		free(buf);
		/* One datagram of the dump read: now change what it shows. */
		if (first)
			assert_int_equal(vac_instance_declare(NL(state), "kvm_mid"), 0);
		first = false;
	}
	nl_socket_free(sk);
	assert_false(intr_first);
	assert_true(intr);
	n = vt_dump(NL(state), all, 400);
	assert_int_equal(n, 301);
}

/* ---- rmmod ---- */

static void rmmod_refused_while_registered(void **state)
{
	assert_int_equal(vt_load_test("instances=kvm_a"), 0);
	assert_int_equal(vt_rmmod("vac"), -EWOULDBLOCK);
	assert_int_equal(vt_ctl(NULL, 0, "unregister kvm_a"), 0);
	assert_int_equal(vt_rmmod("vac_test"), 0);
	reload_vac(VAC_PARAMS);
}

/* ---- permissions ---- */

/*
 * In a child as nobody with @caps: every change refused with the reason,
 * reads and the monitor group open.  0, or the number of the first check
 * that failed.
 */
static int unprivileged_child(uint64_t caps, int ready_fd)
{
	struct vac *u, *mon;
	struct vac_instance_info in;
	struct vac_resource_info r;
	struct vac_event ev;

#define CHECK(n, cond) do { if (!(cond)) return n; } while (0)
	CHECK(1, !vt_become_nobody(caps));
	CHECK(2, !vac_open(&u));
	CHECK(3, vac_instance_declare(u, "kvm_x") == -EPERM);
	CHECK(4, strstr(vac_errmsg(u), "CAP_SYS_ADMIN"));
	CHECK(5, vac_instance_delete(u, "kvm_a") == -EPERM);
	CHECK(6, vt_quota(u, "kvm_a", "vpids=1", false) == -EPERM);
	CHECK(7, vt_quota(u, "kvm_a", "asids=0", true) == -EPERM);
	CHECK(8, strstr(vac_errmsg(u), "CAP_SYS_ADMIN"));
	/* reads are open, and so is the group that carries the same objects */
	CHECK(9, !vac_instance_get(u, "kvm_a", &in));
	CHECK(10, !vac_resource_get(u, VAC_RES_VPIDS, &r));
	vac_close(u);
	CHECK(11, !vac_monitor_open(&mon));
	CHECK(12, write(ready_fd, "x", 1) == 1);
	CHECK(13, !vt_event(mon, &ev, 5000));
	CHECK(14, ev.type == VAC_EVENT_QUOTA && !strcmp(ev.inst.name, "kvm_a"));
#undef CHECK
	vac_close(mon);
	return 0;
}

static void changes_need_cap_sys_admin(void **state)
{
	static const uint64_t who[] = {
		1ULL << CAP_NET_ADMIN,	/* a network daemon's capability */
		0,			/* none at all */
	};
	struct vac *nl = NL(state);
	struct vac_instance_info before[4], after[4];

	assert_int_equal(vac_instance_declare(nl, "kvm_a"), 0);
	assert_int_equal(vt_quota(nl, "kvm_a", "vpids=5 asids=2", false), 0);
	for (size_t i = 0; i < sizeof(who) / sizeof(who[0]); i++) {
		int fds[2], st;
		char c;
		pid_t pid;

		assert_int_equal(vt_dump(nl, before, 4), 1);
		assert_int_equal(pipe(fds), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			_exit(unprivileged_child(who[i], fds[1]));
		}
		close(fds[1]);
		/* Subscribed: a change for it to see. */
		if (read(fds[0], &c, 1) == 1)
			assert_int_equal(vt_quota(nl, "kvm_a", "vpids=6", false), 0);
		close(fds[0]);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		if (WEXITSTATUS(st))
			fail_msg("capabilities %#llx: check %d failed",
				 (unsigned long long)who[i], WEXITSTATUS(st));
		assert_int_equal(vt_dump(nl, after, 4), 1);
		/* Nothing changed but the parent's own quota change. */
		after[0].usage[VAC_RES_VPIDS].quota = before[0].usage[VAC_RES_VPIDS].quota;
		assert_memory_equal(before, after, sizeof(before[0]));
		assert_int_equal(vt_quota(nl, "kvm_a", "vpids=5", false), 0);
	}
}

/* ---- malformed requests ---- */

/* The attributes @fill writes, sent as they are. */
static int raw_call(struct vac *h, uint8_t cmd, void (*fill)(struct nl_msg *))
{
	struct nl_msg *msg = nlmsg_alloc();
	int ret;

	fill(msg);
	ret = vac_send_raw(h, cmd, 0, nlmsg_data(nlmsg_hdr(msg)),
			   nlmsg_datalen(nlmsg_hdr(msg)));
	nlmsg_free(msg);
	return ret;
}

static void f_none(struct nl_msg *m) { (void)m; }
static void f_long_name(struct nl_msg *m)
{
	nla_put_string(m, VAC_A_INST_NAME, "a_name_that_is_longer_than_31_chars");
}
static void f_name_u32(struct nl_msg *m) { nla_put_u32(m, VAC_A_INST_NAME, 7); }
static void f_unknown_attr(struct nl_msg *m)
{
	nla_put_string(m, VAC_A_INST_NAME, "kvm_a");
	nla_put_u32(m, VAC_A_INST_MAX + 5, 1);
}
static void f_state_attr(struct nl_msg *m)
{
	nla_put_string(m, VAC_A_INST_NAME, "kvm_z");
	nla_put_u32(m, VAC_A_INST_STATE, 1);
}
static void f_kind_range(struct nl_msg *m) { nla_put_u32(m, VAC_A_RES_KIND, 99); }
static void f_kind_u8(struct nl_msg *m) { nla_put_u8(m, VAC_A_RES_KIND, 1); }
static void usage(struct nl_msg *m, int kind, int64_t quota, bool u64)
{
	struct nlattr *n = nla_nest_start(m, VAC_A_INST_USAGE);

	if (kind >= 0)
		nla_put_u32(m, VAC_A_USAGE_KIND, kind);
	if (quota >= 0 && u64)
		nla_put_u64(m, VAC_A_USAGE_QUOTA, quota);
	else if (quota >= 0)
		nla_put_u32(m, VAC_A_USAGE_QUOTA, quota);
	nla_nest_end(m, n);
}
static void f_q_no_kind(struct nl_msg *m)
{
	nla_put_string(m, VAC_A_INST_NAME, "kvm_a");
	usage(m, VAC_RES_VPIDS, 3, false);
	usage(m, -1, 3, false);
}
static void f_q_no_quota(struct nl_msg *m)
{
	nla_put_string(m, VAC_A_INST_NAME, "kvm_a");
	usage(m, VAC_RES_VPIDS, 3, false);
	usage(m, VAC_RES_SEV_ASIDS, -1, false);
}
static void f_q_bad_kind(struct nl_msg *m)
{
	nla_put_string(m, VAC_A_INST_NAME, "kvm_a");
	usage(m, VAC_RES_VPIDS, 3, false);
	usage(m, 6, 1, false);
}
static void f_q_u64(struct nl_msg *m)
{
	nla_put_string(m, VAC_A_INST_NAME, "kvm_a");
	usage(m, VAC_RES_VPIDS, 3, true);
}
static void f_q_none(struct nl_msg *m) { nla_put_string(m, VAC_A_INST_NAME, "kvm_a"); }
static void f_q_no_name(struct nl_msg *m) { usage(m, VAC_RES_VPIDS, 3, false); }
static void f_q_used_attr(struct nl_msg *m)
{
	struct nlattr *n;

	nla_put_string(m, VAC_A_INST_NAME, "kvm_a");
	n = nla_nest_start(m, VAC_A_INST_USAGE);
	nla_put_u32(m, VAC_A_USAGE_KIND, VAC_RES_VPIDS);
	nla_put_u32(m, VAC_A_USAGE_QUOTA, 3);
	nla_put_u32(m, VAC_A_USAGE_USED, 0);
	nla_nest_end(m, n);
}

static void malformed_requests_rejected_with_reason(void **state)
{
	static const struct {
		uint8_t cmd;
		void (*fill)(struct nl_msg *);
		int err;
		const char *ext;	/* substring of the extack message */
	} cases[] = {
		{ VAC_CMD_INSTANCE_NEW, f_none, -EINVAL, "missing attribute" },
		{ VAC_CMD_INSTANCE_NEW, f_long_name, -EINVAL, "policy" },
		{ VAC_CMD_INSTANCE_NEW, f_name_u32, -EINVAL, "" },
		{ VAC_CMD_INSTANCE_NEW, f_state_attr, -EINVAL, "" },
		{ VAC_CMD_INSTANCE_GET, f_unknown_attr, -EINVAL, "" },
		{ VAC_CMD_INSTANCE_DEL, f_none, -EINVAL, "missing attribute" },
		{ VAC_CMD_RESOURCE_GET, f_kind_range, -ERANGE, "" },
		{ VAC_CMD_RESOURCE_GET, f_kind_u8, -EINVAL, "attribute length" },
		{ VAC_CMD_RESOURCE_GET, f_none, -EINVAL, "missing attribute" },
		{ VAC_CMD_QUOTA_SET, f_q_no_kind, -EINVAL, "missing attribute" },
		{ VAC_CMD_QUOTA_SET, f_q_no_quota, -EINVAL, "missing attribute" },
		{ VAC_CMD_QUOTA_SET, f_q_bad_kind, -ERANGE, "" },
		{ VAC_CMD_QUOTA_SET, f_q_u64, -EINVAL, "attribute length" },
		{ VAC_CMD_QUOTA_SET, f_q_none, -EINVAL, "no VAC_A_INST_USAGE" },
		{ VAC_CMD_QUOTA_SET, f_q_no_name, -EINVAL, "missing attribute" },
		{ VAC_CMD_QUOTA_SET, f_q_used_attr, -EINVAL, "" },
	};
	struct vac *nl = NL(state);
	struct vac_instance_info before[4], after[4];
	int wrong = 0;

	assert_int_equal(vac_instance_declare(nl, "kvm_a"), 0);
	assert_int_equal(vt_quota(nl, "kvm_a", "vpids=5", false), 0);
	assert_int_equal(vt_dump(nl, before, 4), 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = raw_call(nl, cases[i].cmd, cases[i].fill);

		/* a reason, and the attribute: the bad one or the missing one */
		if (ret != cases[i].err || !vac_errmsg(nl)[0] ||
		    !strstr(vac_errmsg(nl), cases[i].ext) ||
		    (vac_err_offset(nl) < 0 && vac_err_missing(nl) < 0)) {
			print_error("case %zu: cmd %u: got %d \"%s\" at %d, want %d \"%s\"\n",
				    i, cases[i].cmd, ret, vac_errmsg(nl),
				    vac_err_offset(nl), cases[i].err, cases[i].ext);
			wrong++;
		}
	}
	assert_int_equal(wrong, 0);
	assert_int_equal(vt_dump(nl, after, 4), 1);
	assert_memory_equal(before, after, sizeof(before[0]));
}

/*
 * A user-return slot keeps its MSR while any CPU may hold a guest's value
 * of it: its last user letting go makes every CPU give the value back,
 * and only then may another MSR take the slot.
 */
static void msr_slot_is_free_again_once_every_cpu_let_go(void **state)
{
	char out[32];

	assert_int_equal(vt_load_test("instances=kvm_a,kvm_b"), 0);
	assert_int_equal(vt_quota(NL(state), "kvm_a", "msr_slots=2", false), 0);
	assert_int_equal(vt_quota(NL(state), "kvm_b", "msr_slots=2", false), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "msr_get kvm_a 0xc0000102"), 0);
	assert_string_equal(out, "0\n");
	assert_int_equal(vt_ctl(out, sizeof(out), "msr_get kvm_b 0xc0000102"), 0);
	assert_string_equal(out, "0\n");
	/* Still kvm_b's: a new MSR takes the next slot. */
	assert_int_equal(vt_ctl(NULL, 0, "msr_put kvm_a 0xc0000102"), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "msr_get kvm_a 0xc0000081"), 0);
	assert_string_equal(out, "1\n");
	/* Nobody's now, and given back on every CPU: slot 0 is free. */
	assert_int_equal(vt_ctl(NULL, 0, "msr_put kvm_b 0xc0000102"), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "msr_get kvm_b 0xc0000084"), 0);
	assert_string_equal(out, "0\n");
	assert_int_equal(vt_vac_check(), 0);
}

/* The genetlink header's reserved byte must be zero (resv_start_op 0). */
static void reserved_header_byte_is_checked(void **state)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_msg *msg;
	struct genlmsghdr *gh;
	int fam;

	assert_non_null(sk);
	assert_int_equal(genl_connect(sk), 0);
	fam = genl_ctrl_resolve(sk, VAC_FAMILY_NAME);
	assert_true(fam > 0);
	for (int reserved = 1; reserved >= 0; reserved--) {
		msg = nlmsg_alloc();
		assert_non_null(genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, fam, 0,
					    0, VAC_CMD_INSTANCE_NEW, VAC_FAMILY_VERSION));
		gh = nlmsg_data(nlmsg_hdr(msg));
		gh->reserved = reserved;
		assert_int_equal(nla_put_string(msg, VAC_A_INST_NAME, "kvm_r"), 0);
		assert_true(nl_send_auto(sk, msg) >= 0);
		nlmsg_free(msg);
		if (reserved)
			assert_int_equal(nl_wait_for_ack(sk), -NLE_INVAL);
		else
			assert_int_equal(nl_wait_for_ack(sk), 0);
	}
	nl_socket_free(sk);
	/* Only the request with the byte clear declared it. */
	assert_int_equal(vac_instance_delete(NL(state), "kvm_r"), 0);
}

/* ---- notifications ---- */

static void expect_event(struct vac *mon, enum vac_event_type type,
			 const char *name, struct vac_event *ev)
{
	if (vt_event(mon, ev, 2000))
		fail_msg("no event %s for %s", vac_event_name(type), name);
	if (ev->type != type || strcmp(ev->inst.name, name))
		fail_msg("event %s for %s, want %s for %s",
			 vac_event_name(ev->type), ev->inst.name,
			 vac_event_name(type), name);
}

static void notifications_for_each_change(void **state)
{
	struct vac *nl = NL(state), *mon;
	struct vac_event ev;

	assert_int_equal(vac_monitor_open(&mon), 0);
	assert_int_equal(vac_instance_declare(nl, "kvm_a"), 0);
	expect_event(mon, VAC_EVENT_INSTANCE_NEW, "kvm_a", &ev);
	assert_int_equal(ev.inst.state, VAC_INSTANCE_STATE_DECLARED);
	assert_int_equal(vt_quota(nl, "kvm_a", "vpids=1", false), 0);
	expect_event(mon, VAC_EVENT_QUOTA, "kvm_a", &ev);
	assert_int_equal(ev.inst.usage[VAC_RES_VPIDS].quota, 1);
	assert_int_equal(vt_load_test("instances=kvm_a"), 0);
	expect_event(mon, VAC_EVENT_INSTANCE_ONLINE, "kvm_a", &ev);
	assert_string_equal(ev.inst.module, "vac_test");
	assert_int_equal(vt_ctl(NULL, 0, "alloc kvm_a vpids 2"), -EDQUOT);
	expect_event(mon, VAC_EVENT_ALLOC_REFUSED, "kvm_a", &ev);
	assert_int_equal(ev.refused, VAC_RES_VPIDS);
	assert_int_equal(ev.inst.usage[VAC_RES_VPIDS].failcnt, 1);
	/* Registering an undeclared name declares it first. */
	assert_int_equal(vt_ctl(NULL, 0, "register kvm_b"), 0);
	expect_event(mon, VAC_EVENT_INSTANCE_NEW, "kvm_b", &ev);
	expect_event(mon, VAC_EVENT_INSTANCE_ONLINE, "kvm_b", &ev);
	assert_int_equal(vt_quota(nl, "kvm_a", "asids=1", false), 0);
	expect_event(mon, VAC_EVENT_QUOTA, "kvm_a", &ev);
	assert_int_equal(vt_ctl(NULL, 0, "unregister kvm_a"), 0);
	expect_event(mon, VAC_EVENT_INSTANCE_OFFLINE, "kvm_a", &ev);
	assert_int_equal(ev.inst.usage[VAC_RES_VPIDS].used, 0);
	assert_int_equal(vac_instance_delete(nl, "kvm_a"), 0);
	expect_event(mon, VAC_EVENT_INSTANCE_DEL, "kvm_a", &ev);
	assert_int_equal(vt_event(mon, &ev, 200), -ETIMEDOUT);
	vac_close(mon);
}

/* ---- allocations ---- */

struct runs {
	struct vac_alloc_run r[64];
	int n;
	uint64_t total, sum;	/* runs and sum of first IDs, all kept or not */
};

static int alloc_cb(const struct vac_alloc_run *run, void *arg)
{
	struct runs *rs = arg;

	rs->total++;
	rs->sum += run->first;
	if (rs->n < 64)
		rs->r[rs->n++] = *run;
	return 0;
}

static void allocation_dump_lists_runs_and_msr_slots(void **state)
{
	struct vac *nl = NL(state);
	struct runs rs = { 0 };
	char out[64];

	assert_int_equal(vt_load_test("instances=kvm_a,kvm_b"), 0);
	assert_int_equal(vt_quota(nl, "kvm_a", "asids=3 vpids=10 msr_slots=2", false), 0);
	assert_int_equal(vt_quota(nl, "kvm_b", "vpids=10 msr_slots=2", false), 0);
	assert_int_equal(vt_ctl(NULL, 0, "alloc kvm_a vpids 4"), 0);	/* 1-4 */
	assert_int_equal(vt_ctl(NULL, 0, "alloc kvm_b vpids 2"), 0);	/* 5-6 */
	assert_int_equal(vt_ctl(NULL, 0, "alloc kvm_a vpids 2"), 0);	/* 7-8 */
	assert_int_equal(vt_ctl(NULL, 0, "free kvm_a vpids 2"), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "msr_get kvm_a 0xc0000102"), 0);
	assert_string_equal(out, "0\n");
	/* The same MSR shares its slot; another MSR gets the next one. */
	assert_int_equal(vt_ctl(out, sizeof(out), "msr_get kvm_b 0xc0000102"), 0);
	assert_string_equal(out, "0\n");
	assert_int_equal(vt_ctl(out, sizeof(out), "msr_get kvm_b 0xc0000103"), 0);
	assert_string_equal(out, "1\n");
	assert_int_equal(vt_ctl(NULL, 0, "msr_get kvm_a 0xc0000102"), -EALREADY);

	assert_int_equal(vac_alloc_dump(nl, "kvm_a", alloc_cb, &rs), 0);
	/* asids; vpids 1, 3-4, 7-8; the slot of MSR 0xc0000102 */
	assert_int_equal(rs.n, 5);
	assert_int_equal(rs.r[0].kind, VAC_RES_ASIDS);
	assert_int_equal(rs.r[0].count, 3);
	assert_int_equal(rs.r[1].kind, VAC_RES_VPIDS);
	assert_int_equal(rs.r[1].first, 1);
	assert_int_equal(rs.r[1].count, 1);
	assert_int_equal(rs.r[2].first, 3);
	assert_int_equal(rs.r[2].count, 2);
	assert_int_equal(rs.r[3].first, 7);
	assert_int_equal(rs.r[3].count, 2);
	assert_int_equal(rs.r[4].kind, VAC_RES_MSR_SLOTS);
	assert_int_equal(rs.r[4].first, 0);
	assert_int_equal(rs.r[4].count, 1);
	assert_int_equal(rs.r[4].msr, 0xc0000102);

	/* Without a name the dump is refused with a reason. */
	assert_int_equal(vac_send_raw(nl, VAC_CMD_ALLOC_GET, NLM_F_DUMP, NULL, 0),
			 -EINVAL);
	assert_non_null(strstr(vac_errmsg(nl), "VAC_A_INST_NAME"));
}

static void allocation_dump_of_many_runs_resumes(void **state)
{
	struct runs rs = { 0 };
	struct vac *nl;

	/* 5000 runs of 28 bytes: a dump message holds at most 32 KiB. */
	reload_vac("cap_vpids=10000");
	nl = NL(state);
	assert_int_equal(vt_load_test("instances=kvm_a"), 0);
	assert_int_equal(vt_quota(nl, "kvm_a", "vpids=10000", false), 0);
	assert_int_equal(vt_ctl(NULL, 0, "alloc kvm_a vpids 10000"), 0);
	for (int id = 2; id <= 10000; id += 2)
		assert_int_equal(vt_ctl(NULL, 0, "free kvm_a vpids %d", id), 0);
	assert_int_equal(vac_alloc_dump(nl, "kvm_a", alloc_cb, &rs), 0);
	assert_int_equal(rs.total, 5000);
	assert_int_equal(rs.sum, 5000 * 5000);	/* 1 + 3 + ... + 9999 */
	for (int i = 0; i < rs.n; i++) {
		assert_int_equal(rs.r[i].first, 1 + 2 * i);
		assert_int_equal(rs.r[i].count, 1);
	}
}

/* ---- SVM enable ---- */

static void svm_enable_is_reference_counted(void **state)
{
	char out[32];
	char want[32];

	snprintf(want, sizeof(want), "%ld/%ld\n", sysconf(_SC_NPROCESSORS_ONLN),
		 sysconf(_SC_NPROCESSORS_ONLN));
	assert_int_equal(vt_load_test("instances=kvm_a,kvm_b"), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "svm_state"), 0);
	assert_string_equal(out, "0/2\n");
	assert_int_equal(vt_ctl(NULL, 0, "svm_enable kvm_a"), 0);
	assert_int_equal(vt_ctl(NULL, 0, "svm_enable kvm_b"), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "svm_state"), 0);
	assert_string_equal(out, want);
	/* kvm_a going away leaves SVM on for kvm_b. */
	assert_int_equal(vt_ctl(NULL, 0, "svm_disable kvm_a"), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "svm_state"), 0);
	assert_string_equal(out, want);
	assert_int_equal(vt_ctl(NULL, 0, "svm_disable kvm_b"), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "svm_state"), 0);
	assert_string_equal(out, "0/2\n");

	/* An instance counts once per CPU, however often it enables. */
	assert_int_equal(vt_ctl(NULL, 0, "svm_enable kvm_a"), 0);
	assert_int_equal(vt_ctl(NULL, 0, "svm_enable kvm_a"), 0);
	assert_int_equal(vt_ctl(NULL, 0, "svm_disable kvm_a"), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "svm_state"), 0);
	assert_string_equal(out, "0/2\n");
	/* A disable without an enable changes nothing for the others. */
	assert_int_equal(vt_ctl(NULL, 0, "svm_enable kvm_b"), 0);
	assert_int_equal(vt_ctl(NULL, 0, "svm_disable kvm_a"), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "svm_state"), 0);
	assert_string_equal(out, want);
	/* Unregistered with SVM still on: VAC turns it off for it. */
	assert_int_equal(vt_ctl(NULL, 0, "unregister kvm_b"), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "svm_state"), 0);
	assert_string_equal(out, "0/2\n");

	/*
	 * The test module has no hotplug callback: CPU 1 goes down and comes
	 * back (reset, SVM off) with kvm_a still counted on it.  kvm_a's next
	 * enable must turn SVM on again there, not take the count for it.
	 */
	assert_int_equal(vt_ctl(NULL, 0, "svm_enable kvm_a"), 0);
	assert_int_equal(vt_cpu_online(1, false), 0);
	assert_int_equal(vt_cpu_online(1, true), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "svm_state"), 0);
	assert_string_equal(out, "1/2\n");
	assert_int_equal(vt_ctl(NULL, 0, "svm_enable kvm_a"), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "svm_state"), 0);
	assert_string_equal(out, want);
	assert_int_equal(vt_ctl(NULL, 0, "svm_disable kvm_a"), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "svm_state"), 0);
	assert_string_equal(out, "0/2\n");
}

/* ---- concurrency ---- */

struct stress_arg {
	char out[256];
	int ret;
};

static void *stress_thread(void *p)
{
	struct stress_arg *s = p;

	s->ret = vt_ctl(s->out, sizeof(s->out), "stress kvm_a vpids 4 40000 48");
	return NULL;
}

static void threads_allocate_while_quotas_change(void **state)
{
	static const unsigned int quotas[] = { 64, 16, 40, 8, 64, 32 };
	struct vac *nl = NL(state);
	struct stress_arg s = { 0 };
	long long allocs, refused, dup;
	int max_held, changed = 0, refused_shrinks = 0;
	struct vac_instance_info in;
	pthread_t th;
	char spec[32];

	assert_int_equal(vt_load_test("instances=kvm_a,kvm_b"), 0);
	assert_int_equal(vt_quota(nl, "kvm_a", "vpids=64", false), 0);
	assert_int_equal(vt_quota(nl, "kvm_b", "vpids=8", false), 0);
	assert_int_equal(pthread_create(&th, NULL, stress_thread, &s), 0);
	/* Change quotas, never above 64, until the threads are done. */
	for (int i = 0; pthread_tryjoin_np(th, NULL) == EBUSY; i++) {
		snprintf(spec, sizeof(spec), "vpids=%u", quotas[i % 6]);
		int ret = vt_quota(nl, "kvm_a", spec, false);

		if (ret == -EBUSY)
			refused_shrinks++;
		else if (ret == 0)
			changed++;
		else
			fail_msg("quota set: %d %s", ret, vac_errmsg(nl));
		/* kvm_b's IDs come from the same map */
		assert_int_equal(vt_ctl(NULL, 0, "alloc kvm_b vpids 1"), 0);
		assert_int_equal(vt_ctl(NULL, 0, "free kvm_b vpids all"), 0);
		usleep(1000);
	}
	assert_int_equal(s.ret, 0);
	print_message("stress: %s", s.out);
	print_message("quota changes applied %d, refused below usage %d\n",
		      changed, refused_shrinks);
	assert_int_equal(sscanf(s.out, "allocs=%lld refused=%lld dup=%lld max_held=%d",
				&allocs, &refused, &dup, &max_held), 4);
	assert_int_equal(dup, 0);
	assert_true(allocs > 1000);
	assert_true(max_held <= 64);
	assert_true(changed > 0);
	assert_int_equal(vac_instance_get(nl, "kvm_a", &in), 0);
	assert_int_equal(in.usage[VAC_RES_VPIDS].used, 0);
	assert_true(in.usage[VAC_RES_VPIDS].peak <= 64);
	assert_true(in.usage[VAC_RES_VPIDS].peak >= 8);
	assert_int_equal(in.usage[VAC_RES_VPIDS].failcnt, refused);
	assert_int_equal(vt_vac_check(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(probe_matches_cpuid_and_overrides_apply),
		T(bad_override_refuses_load),
		T(override_above_the_hardware_is_clamped),
		T(declare_get_delete),
		T(register_unregister_keeps_quota),
		T(quarantined_ids_are_nobodys_until_released),
		T(quota_set_is_all_or_nothing),
		T(sum_of_quotas_never_exceeds_capacity),
		T(pmu_counters_are_a_budget),
		T(refusal_over_quota_counts_failcnt),
		T(shrink_below_used_refused_unless_forced),
		T(asid_ranges_are_disjoint_and_owners_told),
		T(a_range_is_published_once_its_old_owner_let_go),
		T(dump_of_1000_instances_resumes),
		T(dump_changed_midway_is_flagged),
		T(rmmod_refused_while_registered),
		T(changes_need_cap_sys_admin),
		T(malformed_requests_rejected_with_reason),
		T(reserved_header_byte_is_checked),
		T(msr_slot_is_free_again_once_every_cpu_let_go),
		T(notifications_for_each_change),
		T(allocation_dump_lists_runs_and_msr_slots),
		T(allocation_dump_of_many_runs_resumes),
		T(svm_enable_is_reference_counted),
		T(threads_allocate_while_quotas_change),
#undef T
	};

	return cmocka_run_group_tests_name("vm.vac", tests, NULL, NULL);
}
