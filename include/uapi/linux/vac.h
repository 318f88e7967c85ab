/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/*
 * The generic netlink contract of the VAC resource broker (family "vac").
 * Shared by vac.ko, libvac, brokerd and the tests; api/vac.yaml describes
 * the same family for YNL.
 */
#ifndef _UAPI_LINUX_VAC_H
#define _UAPI_LINUX_VAC_H

#define VAC_FAMILY_NAME		"vac"
#define VAC_FAMILY_VERSION	1
#define VAC_MCGRP_MONITOR	"monitor"

/* Instance names are [a-z0-9_]{1,31}, like module names. */
#define VAC_NAME_LEN		32

/* Most instances (declared and registered together) the module keeps. */
#define VAC_MAX_INSTANCES	4096

/* Host-wide resource kinds. */
enum vac_resource {
	VAC_RES_ASIDS,		/* SVM ASIDs: one contiguous range per instance */
	VAC_RES_SEV_ASIDS,	/* SEV ASIDs [min_sev_asid, max_sev_asid] */
	VAC_RES_SEV_ES_ASIDS,	/* SEV-ES ASIDs [1, min_sev_asid - 1] */
	VAC_RES_VPIDS,		/* VMX VPIDs 1..65535 */
	VAC_RES_PMU_COUNTERS,	/* general-purpose counter indices */
	VAC_RES_MSR_SLOTS,	/* user-return MSR slots, bound to an MSR */

	__VAC_RES_MAX,
	VAC_RES_MAX = (__VAC_RES_MAX - 1)
};

enum vac_instance_state {
	VAC_INSTANCE_DECLARED,	/* known by name, no module registered */
	VAC_INSTANCE_ONLINE,	/* a KVM module registered under the name */
};

/* VAC_CMD_RESOURCE_GET: one object per resource kind. */
enum {
	VAC_A_RES_UNSPEC,
	VAC_A_RES_KIND,		/* u32, enum vac_resource */
	VAC_A_RES_NAME,		/* string: "asids", "sev_asids", ... */
	VAC_A_RES_PROBED,	/* u32: capacity found by the CPUID probe */
	VAC_A_RES_CAPACITY,	/* u32: effective capacity (probe or override) */
	VAC_A_RES_FIRST,	/* u32: first ID of the kind */
	VAC_A_RES_RESERVED,	/* u32: sum of the quotas of all instances */
	VAC_A_RES_USED,		/* u32: sum of used over all instances */
	VAC_A_RES_OVERRIDDEN,	/* flag: capacity set by module parameter */

	__VAC_A_RES_MAX,
	VAC_A_RES_MAX = (__VAC_A_RES_MAX - 1)
};

/* Per instance and kind accounting, nested in VAC_A_INST_USAGE. */
enum {
	VAC_A_USAGE_UNSPEC,
	VAC_A_USAGE_KIND,	/* u32, enum vac_resource */
	VAC_A_USAGE_QUOTA,	/* u32 */
	VAC_A_USAGE_USED,	/* u32 */
	VAC_A_USAGE_PEAK,	/* u32 */
	VAC_A_USAGE_FAILCNT,	/* u64: allocations refused by the quota */
	VAC_A_USAGE_BASE,	/* u32: first ASID of the range (asids only) */
	VAC_A_USAGE_PAD,

	__VAC_A_USAGE_MAX,
	VAC_A_USAGE_MAX = (__VAC_A_USAGE_MAX - 1)
};

/* VAC_CMD_INSTANCE_*, VAC_CMD_QUOTA_SET and the notifications. */
enum {
	VAC_A_INST_UNSPEC,
	VAC_A_INST_NAME,	/* string, [a-z0-9_]{1,31} */
	VAC_A_INST_STATE,	/* u32, enum vac_instance_state */
	VAC_A_INST_MODULE,	/* string: the registering module */
	VAC_A_INST_USAGE,	/* nest, multi-attr: VAC_A_USAGE_* */
	VAC_A_INST_FORCE,	/* flag: quota set may go below used */
	VAC_A_INST_REFUSED,	/* u32, enum vac_resource (refused ntf) */
	VAC_A_INST_ALLOC,	/* nest, multi-attr: VAC_A_ALLOC_* */

	__VAC_A_INST_MAX,
	VAC_A_INST_MAX = (__VAC_A_INST_MAX - 1)
};

/* Runs of IDs an instance holds, nested in VAC_A_INST_ALLOC. */
enum {
	VAC_A_ALLOC_UNSPEC,
	VAC_A_ALLOC_KIND,	/* u32, enum vac_resource */
	VAC_A_ALLOC_FIRST,	/* u32: first ID of the run */
	VAC_A_ALLOC_COUNT,	/* u32: IDs in the run */
	VAC_A_ALLOC_MSR,	/* u32: MSR index bound to the slot (msr_slots) */

	__VAC_A_ALLOC_MAX,
	VAC_A_ALLOC_MAX = (__VAC_A_ALLOC_MAX - 1)
};

enum {
	VAC_CMD_UNSPEC,
	VAC_CMD_RESOURCE_GET,		/* do: VAC_A_RES_KIND; dump: all */
	VAC_CMD_INSTANCE_GET,		/* do: VAC_A_INST_NAME; dump: all */
	VAC_CMD_INSTANCE_NEW,		/* declare a name (admin) */
	VAC_CMD_INSTANCE_DEL,		/* delete a declared name (admin) */
	VAC_CMD_QUOTA_SET,		/* quotas of several kinds (admin) */
	VAC_CMD_ALLOC_GET,		/* dump: VAC_A_INST_NAME required */

	/* notifications on the "monitor" group, VAC_A_INST_* payload */
	VAC_CMD_INSTANCE_NEW_NTF,
	VAC_CMD_INSTANCE_DEL_NTF,
	VAC_CMD_INSTANCE_ONLINE_NTF,
	VAC_CMD_INSTANCE_OFFLINE_NTF,
	VAC_CMD_QUOTA_NTF,
	VAC_CMD_ALLOC_REFUSED_NTF,

	__VAC_CMD_MAX,
	VAC_CMD_MAX = (__VAC_CMD_MAX - 1)
};

#endif /* _UAPI_LINUX_VAC_H */
