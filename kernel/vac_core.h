/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The VAC accounting core: ID bitmaps, ASID range partitions and quota
 * rules.  It takes no locks and does no I/O; vac.ko wraps it in its locks,
 * the unit tests and brokerd's local backend call it directly.  One
 * implementation of the quota rules, three places that run it.
 */
#ifndef VAC_CORE_H
#define VAC_CORE_H

#include "vac_port.h"
#include <linux/vac.h>	/* include/uapi/linux/vac.h: kinds, limits */

#define VAC_NR_KINDS		(VAC_RES_MAX + 1)
#define VAC_NO_KIND		(-1)

struct vac_core_usage {
	u32 quota;
	u32 used;
	u32 peak;
	u64 failcnt;
};

struct vac_core_inst {
	char name[VAC_NAME_LEN];
	u16 slot;			/* index in core->insts */
	bool online;
	struct vac_core_usage usage[VAC_NR_KINDS];
	u32 asid_base;			/* range [asid_base, + quota) */
	u32 msr_mask;			/* user-return slots held */
	void *priv;			/* owner's cookie, unused by the core */
};

struct vac_kind {
	u32 first;			/* first ID */
	u32 capacity;			/* IDs from @first */
	u32 reserved;			/* sum of quotas */
	u32 used;			/* sum of used */
	u32 quarantined;		/* held by nobody, not free either */
	unsigned long *map;		/* ID kinds: taken IDs, bit = id - first */
	u16 *owner;			/* ID kinds: slot + 1 of the holder */
};

/* The owner of a quarantined ID (vac_core_quarantine()). */
#define VAC_OWNER_QUARANTINE	(VAC_MAX_INSTANCES + 1)

/* An instance whose ASID range a quota change moved or resized. */
struct vac_move {
	struct vac_core_inst *inst;
	u32 base, len;
};

#define VAC_MSR_SLOTS_MAX	32

/*
 * Up to VAC_MAX_INSTANCES entries by name, each entry a number from 1 to
 * VAC_MAX_INSTANCES that the owner maps to its name: open addressing with
 * linear probing over VAC_NAME_INDEX buckets, never more than half full,
 * so that a lookup costs the same whatever the number of entries.  The
 * accounting core indexes its instances with it, brokerd its desired
 * state.  No locks: the owner's.
 */
#define VAC_NAME_INDEX		(2 * VAC_MAX_INSTANCES)	/* a power of two */

struct vac_name_index {
	u16 *bucket;			/* entry or 0 */
	const char *(*name)(const void *owner, u16 entry);
	const void *owner;
};

int vac_name_index_init(struct vac_name_index *ix,
			const char *(*name)(const void *owner, u16 entry),
			const void *owner);
void vac_name_index_fini(struct vac_name_index *ix);
/* The entry named @name, or 0. */
u16 vac_name_index_find(const struct vac_name_index *ix, const char *name);
/* @entry, not in the index yet, under @name, not in it either. */
void vac_name_index_add(struct vac_name_index *ix, const char *name, u16 entry);
/* The entry named @name leaves the index, if it is there. */
void vac_name_index_del(struct vac_name_index *ix, const char *name);
/* Every entry leaves. */
void vac_name_index_clear(struct vac_name_index *ix);

struct vac_core {
	struct vac_kind kind[VAC_NR_KINDS];
	struct vac_core_inst **insts;	/* VAC_MAX_INSTANCES slots */
	u32 ninsts;
	struct vac_name_index index;	/* insts by name, as slot + 1 */
	/*
	 * Bumped by every change of the instance table or of what it shows
	 * but usage: declare, delete, online, offline, quota set.  A dump
	 * that saw it change may have missed or repeated an instance.
	 */
	u32 gen;
	u32 msr[VAC_MSR_SLOTS_MAX];	/* MSR index bound to each slot */
	u32 msr_bound;			/* slots bound to msr[] (vac_core.c) */
	u32 msr_refs[VAC_MSR_SLOTS_MAX];
	struct vac_core_inst **scratch;	/* for ASID layout */
	struct vac_move *moves;		/* filled by vac_core_quota_set() */
	u32 nmoves;
};

/* A quota change request: one kind, one value. */
struct vac_core_quota {
	u32 kind;
	u32 value;
};

/* Why a quota change was refused: a code, its static message, the kind. */
enum vac_err_code {
	VAC_ERR_NONE,
	VAC_ERR_KIND,		/* unknown resource kind */
	VAC_ERR_KIND_TWICE,	/* resource kind given twice */
	VAC_ERR_CAPACITY,	/* quota exceeds the free capacity */
	VAC_ERR_BELOW_USED,	/* quota below current usage */
	VAC_ERR_CHECK,		/* vac_core_check(): inconsistent */
};

struct vac_err {
	enum vac_err_code code;
	const char *msg;
	int kind;
};

extern const char *const vac_kind_names[VAC_NR_KINDS];
extern const u32 vac_cap_limit[VAC_NR_KINDS];

int vac_kind_parse(const char *name);
bool vac_name_valid(const char *name);
/* Where each kind's IDs start, given the capacities (SEV-ES, SEV, ASIDs). */
void vac_core_layout(const u32 capacity[VAC_NR_KINDS], u32 first[VAC_NR_KINDS]);

/* What the CPU has, as vac.ko's CPUID probe found it. */
struct vac_hw {
	u32 nasid;		/* CPUID 0x8000000A EBX (ASID 0 included); 0: no SVM */
	u32 min_sev, max_sev;	/* CPUID 0x8000001F; 0: no SEV */
	bool sev_es;
	u32 count[VAC_NR_KINDS];	/* vpids, pmu_counters, msr_slots */
};

/*
 * The capacities and the first ID of each kind, from the hardware and
 * the cap_* parameters (-1: none).  @probed gets what the hardware has.
 * A parameter narrows a kind's count inside the hardware's window, and
 * above what it has is clamped to it (@clamped set); where the hardware
 * has none of a kind the parameter is the only source and stands.  With
 * SEV in the hardware its windows are the firmware's (SEV-ES 1 to
 * min_sev - 1, SEV min_sev to max_sev, plain ASIDs above), whatever the
 * counts; without, the SEV parameters lay them out from ASID 1 on.  0, or
 * -EINVAL with the kind in *@bad for a parameter out of 0..vac_cap_limit.
 */
int vac_core_capacities(const struct vac_hw *hw, const int param[VAC_NR_KINDS],
			u32 probed[VAC_NR_KINDS], u32 cap[VAC_NR_KINDS],
			u32 first[VAC_NR_KINDS], bool clamped[VAC_NR_KINDS],
			int *bad);

/* With the IDs where vac_core_layout() puts them, or at @first. */
int vac_core_init(struct vac_core *core, const u32 capacity[VAC_NR_KINDS]);
int vac_core_init_at(struct vac_core *core, const u32 capacity[VAC_NR_KINDS],
		     const u32 first[VAC_NR_KINDS]);
void vac_core_fini(struct vac_core *core);

struct vac_core_inst *vac_core_find(struct vac_core *core, const char *name);
/* The first instance at slot >= *@pos, or NULL; *@pos is set to its slot. */
struct vac_core_inst *vac_core_next(struct vac_core *core, u32 *pos);
int vac_core_inst_add(struct vac_core *core, const char *name,
		      struct vac_core_inst **out);
/* Offline instances only; its quotas return to the free pool. */
int vac_core_inst_del(struct vac_core *core, struct vac_core_inst *inst);
int vac_core_online(struct vac_core *core, struct vac_core_inst *inst);
/* Goes offline, releasing every ID and slot it held; quotas stay. */
void vac_core_offline(struct vac_core *core, struct vac_core_inst *inst);

int vac_core_quota_set(struct vac_core *core, struct vac_core_inst *inst,
		       const struct vac_core_quota *q, u32 nq, bool force,
		       struct vac_err *err);

int vac_core_alloc(struct vac_core *core, struct vac_core_inst *inst,
		   u32 kind, u32 *id);
int vac_core_release(struct vac_core *core, struct vac_core_inst *inst,
		     u32 kind, u32 id);
/*
 * @inst gives up @id, which is not reusable yet: nobody gets it until
 * vac_core_release_quarantined().  -ENOENT if @inst does not hold it.
 */
int vac_core_quarantine(struct vac_core *core, struct vac_core_inst *inst,
			u32 kind, u32 id);
/* Every quarantined ID of @kind becomes free; returns how many. */
u32 vac_core_release_quarantined(struct vac_core *core, u32 kind);
int vac_core_msr_get(struct vac_core *core, struct vac_core_inst *inst,
		     u32 msr, u32 *slot);
int vac_core_msr_put(struct vac_core *core, struct vac_core_inst *inst,
		     u32 msr);
/* Slots bound to an MSR nobody uses (a mask of slot bits). */
u32 vac_core_msr_unused(const struct vac_core *core);
/* Unbind the slots of @mask that are still unused: no CPU holds their MSR. */
void vac_core_msr_unbind(struct vac_core *core, u32 mask);

/*
 * The first run of IDs of @kind that @inst holds at or after @from: its
 * length, 0 if none.  An offline instance holds no ASIDs, even though its
 * range stays reserved for it.  PMU counters are a count, not IDs: none.
 */
u32 vac_core_run(const struct vac_core *core,
		 const struct vac_core_inst *inst, u32 kind, u32 from,
		 u32 *first);

/*
 * Recount every bitmap and counter; 0 if consistent, else -EUCLEAN.
 * O(capacity + n log n); uses core->scratch.
 */
int vac_core_check(const struct vac_core *core, struct vac_err *err);

#endif /* VAC_CORE_H */
