// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The VAC accounting core.  See vac_core.h.
 *
 * Rules kept here, for every caller:
 *  - per kind, the sum of quotas never exceeds the capacity, so a quota is
 *    a guarantee;
 *  - an allocation over quota is refused and counted in failcnt;
 *  - a quota below used is refused unless forced; a forced instance keeps
 *    what it holds and allocates nothing until it is back under quota;
 *  - ASIDs and PMU counters are budgets, not IDs handed out one by one: a
 *    registered instance uses its whole quota (its ASID range, the number
 *    of counters its guests see), so their quotas change without force;
 *  - ASID ranges never overlap; a change that moves or resizes ranges
 *    lists every affected instance, in an order where each new range is
 *    free when its owner is told (core->moves).
 */
#include "vac_core.h"

const char *const vac_kind_names[VAC_NR_KINDS] = {
	[VAC_RES_ASIDS]		= "asids",
	[VAC_RES_SEV_ASIDS]	= "sev_asids",
	[VAC_RES_SEV_ES_ASIDS]	= "sev_es_asids",
	[VAC_RES_VPIDS]		= "vpids",
	[VAC_RES_PMU_COUNTERS]	= "pmu_counters",
	[VAC_RES_MSR_SLOTS]	= "msr_slots",
};

/* Largest capacity of each kind: hardware limits, and what a map costs. */
const u32 vac_cap_limit[VAC_NR_KINDS] = {
	[VAC_RES_ASIDS]		= 1U << 24,
	[VAC_RES_SEV_ASIDS]	= 1U << 16,
	[VAC_RES_SEV_ES_ASIDS]	= 1U << 16,
	[VAC_RES_VPIDS]		= 65535,
	[VAC_RES_PMU_COUNTERS]	= 64,
	[VAC_RES_MSR_SLOTS]	= 16,
};

/* Budget kinds: a registered instance uses all of its quota. */
static bool kind_is_budget(u32 kind)
{
	return kind == VAC_RES_ASIDS || kind == VAC_RES_PMU_COUNTERS;
}

static bool kind_has_ids(u32 kind)
{
	return !kind_is_budget(kind) && kind != VAC_RES_MSR_SLOTS;
}

/* A budget kind's usage follows the quota while the instance is online. */
static void budget_use(struct vac_core *core, struct vac_core_inst *inst,
		       u32 kind, u32 used)
{
	struct vac_core_usage *u = &inst->usage[kind];

	core->kind[kind].used += used - u->used;
	u->used = used;
	if (u->used > u->peak)
		u->peak = u->used;
}

int vac_kind_parse(const char *name)
{
	int k;

	for (k = 0; k < VAC_NR_KINDS; k++)
		if (!strcmp(name, vac_kind_names[k]))
			return k;
	return -EINVAL;
}

bool vac_name_valid(const char *name)
{
	size_t i;

	for (i = 0; name[i]; i++) {
		char c = name[i];

		if (i >= VAC_NAME_LEN - 1)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return i > 0;
}

void vac_core_layout(const u32 capacity[VAC_NR_KINDS], u32 first[VAC_NR_KINDS])
{
	/* AMD: SEV-ES ASIDs from 1, SEV ASIDs after them, plain ASIDs last. */
	first[VAC_RES_SEV_ES_ASIDS] = 1;
	first[VAC_RES_SEV_ASIDS] = 1 + capacity[VAC_RES_SEV_ES_ASIDS];
	first[VAC_RES_ASIDS] = first[VAC_RES_SEV_ASIDS] +
			       capacity[VAC_RES_SEV_ASIDS];
	first[VAC_RES_VPIDS] = 1;
	first[VAC_RES_PMU_COUNTERS] = 0;
	first[VAC_RES_MSR_SLOTS] = 0;
}

static u32 min_u32(u32 a, u32 b)
{
	return a < b ? a : b;
}

int vac_core_capacities(const struct vac_hw *hw, const int param[VAC_NR_KINDS],
			u32 probed[VAC_NR_KINDS], u32 cap[VAC_NR_KINDS],
			u32 first[VAC_NR_KINDS], bool clamped[VAC_NR_KINDS],
			int *bad)
{
	bool hw_sev = hw->min_sev && hw->max_sev >= hw->min_sev;
	u32 k;

	for (k = 0; k < VAC_NR_KINDS; k++) {
		if (param[k] < -1 || param[k] > (long long)vac_cap_limit[k]) {
			*bad = k;
			return -EINVAL;
		}
		clamped[k] = false;
	}
	memset(probed, 0, sizeof(u32) * VAC_NR_KINDS);
	if (hw_sev) {
		probed[VAC_RES_SEV_ASIDS] = hw->max_sev - hw->min_sev + 1;
		if (hw->sev_es && hw->min_sev > 1)
			probed[VAC_RES_SEV_ES_ASIDS] = hw->min_sev - 1;
	}
	/* ASID 0 is the host's; encrypted guests own [1, max_sev]. */
	if (hw->nasid > hw->max_sev + 1)
		probed[VAC_RES_ASIDS] = hw->nasid - 1 - hw->max_sev;
	probed[VAC_RES_VPIDS] = hw->count[VAC_RES_VPIDS];
	probed[VAC_RES_PMU_COUNTERS] = hw->count[VAC_RES_PMU_COUNTERS];
	probed[VAC_RES_MSR_SLOTS] = hw->count[VAC_RES_MSR_SLOTS];

	for (k = 0; k < VAC_NR_KINDS; k++) {
		u32 have = probed[k];

		cap[k] = have;
		if (param[k] < 0)
			continue;
		/* The plain ASIDs' window depends on the SEV ones: below. */
		if (k == VAC_RES_ASIDS)
			continue;
		/* The SEV kinds exist with the hardware's SEV, or by parameter. */
		if (k == VAC_RES_SEV_ASIDS || k == VAC_RES_SEV_ES_ASIDS ?
		    !hw_sev : !have)
			cap[k] = param[k];
		else
			cap[k] = min_u32(param[k], have);
		clamped[k] = cap[k] != (u32)param[k];
	}

	if (hw_sev) {
		first[VAC_RES_SEV_ES_ASIDS] = 1;
		first[VAC_RES_SEV_ASIDS] = hw->min_sev;
		first[VAC_RES_ASIDS] = hw->max_sev + 1;
		first[VAC_RES_VPIDS] = 1;
		first[VAC_RES_PMU_COUNTERS] = 0;
		first[VAC_RES_MSR_SLOTS] = 0;
	} else {
		vac_core_layout(cap, first);
	}
	/* With SVM, plain ASIDs are what nASID leaves above the SEV ones. */
	if (hw->nasid) {
		u32 left = hw->nasid > first[VAC_RES_ASIDS] ?
			   hw->nasid - first[VAC_RES_ASIDS] : 0;

		cap[VAC_RES_ASIDS] = param[VAC_RES_ASIDS] < 0 ? left :
				     min_u32(param[VAC_RES_ASIDS], left);
	} else if (param[VAC_RES_ASIDS] >= 0) {
		cap[VAC_RES_ASIDS] = param[VAC_RES_ASIDS];
	}
	clamped[VAC_RES_ASIDS] = param[VAC_RES_ASIDS] >= 0 &&
				 cap[VAC_RES_ASIDS] != (u32)param[VAC_RES_ASIDS];
	return 0;
}

/* ---- the name index ---- */

/* FNV-1a of a name, folded onto the index's buckets. */
static u32 name_bucket(const char *name)
{
	u32 h = 2166136261U;

	while (*name) {
		h ^= (u8)*name++;
		h *= 16777619U;
	}
	return (h ^ h >> 16) & (VAC_NAME_INDEX - 1);
}

static u32 bucket_next(u32 b)
{
	return (b + 1) & (VAC_NAME_INDEX - 1);
}

/* The bucket holding @name, or the empty bucket where it would go. */
static u32 index_lookup(const struct vac_name_index *ix, const char *name)
{
	u32 b = name_bucket(name);

	while (ix->bucket[b] && strcmp(ix->name(ix->owner, ix->bucket[b]), name))
		b = bucket_next(b);
	return b;
}

int vac_name_index_init(struct vac_name_index *ix,
			const char *(*name)(const void *owner, u16 entry),
			const void *owner)
{
	ix->bucket = vac_zalloc(VAC_NAME_INDEX * sizeof(*ix->bucket));
	ix->name = name;
	ix->owner = owner;
	return ix->bucket ? 0 : -ENOMEM;
}

void vac_name_index_fini(struct vac_name_index *ix)
{
	vac_free(ix->bucket);
	ix->bucket = NULL;
}

u16 vac_name_index_find(const struct vac_name_index *ix, const char *name)
{
	return ix->bucket[index_lookup(ix, name)];
}

void vac_name_index_add(struct vac_name_index *ix, const char *name, u16 entry)
{
	ix->bucket[index_lookup(ix, name)] = entry;
}

/*
 * Empty the bucket of @name and move later members of its cluster back
 * where their home allows, so that no lookup stops short at the hole.
 */
void vac_name_index_del(struct vac_name_index *ix, const char *name)
{
	u32 b = index_lookup(ix, name), n = b, home;

	if (!ix->bucket[b])
		return;
	ix->bucket[b] = 0;
	for (;;) {
		n = bucket_next(n);
		if (!ix->bucket[n])
			return;
		home = name_bucket(ix->name(ix->owner, ix->bucket[n]));
		/* It stays if its home lies cyclically in (b, n]. */
		if (b <= n ? (b < home && home <= n) : (b < home || home <= n))
			continue;
		ix->bucket[b] = ix->bucket[n];
		ix->bucket[n] = 0;
		b = n;
	}
}

void vac_name_index_clear(struct vac_name_index *ix)
{
	memset(ix->bucket, 0, VAC_NAME_INDEX * sizeof(*ix->bucket));
}

/* ---- the core and its instances ---- */

static const char *inst_name(const void *core, u16 entry)
{
	return ((const struct vac_core *)core)->insts[entry - 1]->name;
}

int vac_core_init(struct vac_core *core, const u32 capacity[VAC_NR_KINDS])
{
	u32 first[VAC_NR_KINDS];

	vac_core_layout(capacity, first);
	return vac_core_init_at(core, capacity, first);
}

int vac_core_init_at(struct vac_core *core, const u32 capacity[VAC_NR_KINDS],
		     const u32 first[VAC_NR_KINDS])
{
	u32 k;

	memset(core, 0, sizeof(*core));
	core->gen = 1;
	for (k = 0; k < VAC_NR_KINDS; k++)
		if (capacity[k] > vac_cap_limit[k])
			return -EINVAL;

	core->insts = vac_zalloc(VAC_MAX_INSTANCES * sizeof(*core->insts));
	core->scratch = vac_zalloc(VAC_MAX_INSTANCES * sizeof(*core->scratch));
	core->moves = vac_zalloc(VAC_MAX_INSTANCES * sizeof(*core->moves));
	if (!core->insts || !core->scratch || !core->moves ||
	    vac_name_index_init(&core->index, inst_name, core))
		goto nomem;

	for (k = 0; k < VAC_NR_KINDS; k++) {
		struct vac_kind *kd = &core->kind[k];

		kd->first = first[k];
		kd->capacity = capacity[k];
		if (!kind_has_ids(k) || !kd->capacity)
			continue;
		kd->map = vac_zalloc(BITS_TO_LONGS(kd->capacity) *
				     sizeof(unsigned long));
		kd->owner = vac_zalloc(kd->capacity * sizeof(*kd->owner));
		if (!kd->map || !kd->owner)
			goto nomem;
	}
	return 0;

nomem:
	vac_core_fini(core);
	return -ENOMEM;
}

void vac_core_fini(struct vac_core *core)
{
	u32 k;

	if (core->insts)
		for (k = 0; k < VAC_MAX_INSTANCES; k++)
			vac_free(core->insts[k]);
	for (k = 0; k < VAC_NR_KINDS; k++) {
		vac_free(core->kind[k].map);
		vac_free(core->kind[k].owner);
	}
	vac_free(core->insts);
	vac_free(core->scratch);
	vac_free(core->moves);
	vac_name_index_fini(&core->index);
	memset(core, 0, sizeof(*core));
}

/* Never 0: netlink dumps read 0 as "no sequence yet". */
static void gen_bump(struct vac_core *core)
{
	if (!++core->gen)
		core->gen = 1;
}

struct vac_core_inst *vac_core_find(struct vac_core *core, const char *name)
{
	u16 v = vac_name_index_find(&core->index, name);

	return v ? core->insts[v - 1] : NULL;
}

struct vac_core_inst *vac_core_next(struct vac_core *core, u32 *pos)
{
	u32 i;

	for (i = *pos; i < VAC_MAX_INSTANCES; i++) {
		if (core->insts[i]) {
			*pos = i;
			return core->insts[i];
		}
	}
	*pos = VAC_MAX_INSTANCES;
	return NULL;
}

int vac_core_inst_add(struct vac_core *core, const char *name,
		      struct vac_core_inst **out)
{
	struct vac_core_inst *inst;
	u32 slot;

	if (!vac_name_valid(name))
		return -EINVAL;
	if (vac_core_find(core, name))
		return -EEXIST;
	for (slot = 0; slot < VAC_MAX_INSTANCES; slot++)
		if (!core->insts[slot])
			break;
	if (slot == VAC_MAX_INSTANCES)
		return -ENOSPC;

	inst = vac_zalloc(sizeof(*inst));
	if (!inst)
		return -ENOMEM;
	strcpy(inst->name, name);
	inst->slot = slot;
	core->insts[slot] = inst;
	vac_name_index_add(&core->index, name, slot + 1);
	core->ninsts++;
	gen_bump(core);
	*out = inst;
	return 0;
}

int vac_core_inst_del(struct vac_core *core, struct vac_core_inst *inst)
{
	u32 k;

	if (inst->online)
		return -EBUSY;
	for (k = 0; k < VAC_NR_KINDS; k++)
		core->kind[k].reserved -= inst->usage[k].quota;
	vac_name_index_del(&core->index, inst->name);
	core->insts[inst->slot] = NULL;
	core->ninsts--;
	gen_bump(core);
	vac_free(inst);
	return 0;
}

static void usage_charge(struct vac_core *core, struct vac_core_inst *inst,
			 u32 kind)
{
	struct vac_core_usage *u = &inst->usage[kind];

	u->used++;
	if (u->used > u->peak)
		u->peak = u->used;
	core->kind[kind].used++;
}

static void usage_uncharge(struct vac_core *core, struct vac_core_inst *inst,
			   u32 kind)
{
	inst->usage[kind].used--;
	core->kind[kind].used--;
}

int vac_core_online(struct vac_core *core, struct vac_core_inst *inst)
{
	if (inst->online)
		return -EBUSY;
	inst->online = true;
	gen_bump(core);
	budget_use(core, inst, VAC_RES_ASIDS, inst->usage[VAC_RES_ASIDS].quota);
	budget_use(core, inst, VAC_RES_PMU_COUNTERS,
		   inst->usage[VAC_RES_PMU_COUNTERS].quota);
	return 0;
}

void vac_core_offline(struct vac_core *core, struct vac_core_inst *inst)
{
	u32 k, i;

	if (!inst->online)
		return;
	for (k = 0; k < VAC_NR_KINDS; k++) {
		struct vac_kind *kd = &core->kind[k];

		if (!kd->owner)
			continue;
		for (i = 0; i < kd->capacity && inst->usage[k].used; i++) {
			if (kd->owner[i] != inst->slot + 1)
				continue;
			kd->owner[i] = 0;
			__clear_bit(i, kd->map);
			usage_uncharge(core, inst, k);
		}
	}
	for (i = 0; i < VAC_MSR_SLOTS_MAX; i++)
		if (inst->msr_mask & (1U << i))
			vac_core_msr_put(core, inst, core->msr[i]);
	budget_use(core, inst, VAC_RES_ASIDS, 0);
	budget_use(core, inst, VAC_RES_PMU_COUNTERS, 0);
	inst->online = false;
	gen_bump(core);
}

/* ---- ASID ranges ---- */

static int cmp_base(const void *a, const void *b)
{
	const struct vac_core_inst *x = *(struct vac_core_inst *const *)a;
	const struct vac_core_inst *y = *(struct vac_core_inst *const *)b;

	return x->asid_base < y->asid_base ? -1 : x->asid_base > y->asid_base;
}

static void move_add(struct vac_core *core, struct vac_core_inst *inst,
		     u32 base, u32 len)
{
	struct vac_move *m = &core->moves[core->nmoves++];

	m->inst = inst;
	m->base = base;
	m->len = len;
}

static u32 clamp_base(u32 lo, u32 hi, u32 want, u32 len)
{
	/* Closest base to @want such that [base, base + len) fits [lo, hi). */
	if (want + len > hi)
		want = hi - len;
	return want < lo ? lo : want;
}

/*
 * Plan a new ASID range of @len for @x, appending to core->moves every
 * range that changes, in an order where each new range is free (or its
 * owner's) when reached: shrink in place; grow in the gap around the
 * range; move to the first hole that fits; else pack the ranges below @x
 * down (ascending) and those above it up (descending), and put @x in the
 * middle.  The caller checked that the sum of lengths fits.
 */
static void asid_plan(struct vac_core *core, struct vac_core_inst *x, u32 len)
{
	struct vac_kind *kd = &core->kind[VAC_RES_ASIDS];
	struct vac_core_inst **r = core->scratch;
	u32 b0 = x->asid_base, l0 = x->usage[VAC_RES_ASIDS].quota;
	u32 lo = kd->first, hi = kd->first + kd->capacity;
	u32 n = 0, i, split, cur, top;

	if (len <= l0) {
		move_add(core, x, len ? b0 : 0, len);
		return;
	}
	for (i = 0; i < VAC_MAX_INSTANCES; i++) {
		struct vac_core_inst *p = core->insts[i];

		if (p && p != x && p->usage[VAC_RES_ASIDS].quota)
			r[n++] = p;
	}
	vac_sort(r, n, sizeof(*r), cmp_base);

	if (l0) {	/* the gap around the current range */
		u32 gap_lo = lo, gap_hi = hi;

		for (i = 0; i < n; i++) {
			if (r[i]->asid_base < b0)
				gap_lo = r[i]->asid_base +
					 r[i]->usage[VAC_RES_ASIDS].quota;
			else {
				gap_hi = r[i]->asid_base;
				break;
			}
		}
		if (gap_hi - gap_lo >= len) {
			move_add(core, x, clamp_base(gap_lo, gap_hi, b0, len),
				 len);
			return;
		}
	}

	cur = lo;	/* first fit */
	for (i = 0; i <= n; i++) {
		u32 end = i < n ? r[i]->asid_base : hi;

		if (end - cur >= len) {
			move_add(core, x, cur, len);
			return;
		}
		if (i < n)
			cur = end + r[i]->usage[VAC_RES_ASIDS].quota;
	}

	split = l0 ? b0 : hi;	/* compaction */
	cur = lo;
	for (i = 0; i < n && r[i]->asid_base < split; i++) {
		if (r[i]->asid_base != cur)
			move_add(core, r[i], cur,
				 r[i]->usage[VAC_RES_ASIDS].quota);
		cur += r[i]->usage[VAC_RES_ASIDS].quota;
	}
	top = hi;
	while (n > i) {
		struct vac_core_inst *p = r[--n];
		u32 l = p->usage[VAC_RES_ASIDS].quota;

		top -= l;
		if (p->asid_base != top)
			move_add(core, p, top, l);
	}
	move_add(core, x, clamp_base(cur, top, l0 ? b0 : cur, len), len);
}

/* ---- quotas ---- */

int vac_core_quota_set(struct vac_core *core, struct vac_core_inst *inst,
		       const struct vac_core_quota *q, u32 nq, bool force,
		       struct vac_err *err)
{
	u32 want[VAC_NR_KINDS];
	bool set[VAC_NR_KINDS] = { false };
	u32 i, k;

	core->nmoves = 0;
	for (i = 0; i < nq; i++) {
		err->kind = q[i].kind < VAC_NR_KINDS ? (int)q[i].kind : VAC_NO_KIND;
		if (q[i].kind >= VAC_NR_KINDS) {
			err->code = VAC_ERR_KIND;
			err->msg = "unknown resource kind";
			return -EINVAL;
		}
		if (set[q[i].kind]) {
			err->code = VAC_ERR_KIND_TWICE;
			err->msg = "resource kind given twice";
			return -EINVAL;
		}
		set[q[i].kind] = true;
		want[q[i].kind] = q[i].value;
	}

	/* Check every kind before changing any: all or nothing. */
	for (k = 0; k < VAC_NR_KINDS; k++) {
		const struct vac_kind *kd = &core->kind[k];
		const struct vac_core_usage *u = &inst->usage[k];

		if (!set[k])
			continue;
		err->kind = k;
		if (want[k] > u->quota &&
		    (u64)kd->reserved - u->quota + want[k] > kd->capacity) {
			err->code = VAC_ERR_CAPACITY;
			err->msg = "quota exceeds the free capacity of the resource";
			return -ENOSPC;
		}
		/*
		 * ASID ranges shrink in place: the owner is told and retires
		 * what falls outside, so only taking all of a registered
		 * instance's ASIDs needs force.  A PMU counter budget applies
		 * to the guests whose CPUID is set after it, never needing
		 * force.
		 */
		if (k == VAC_RES_ASIDS ? (inst->online && u->quota && !want[k])
				       : !kind_is_budget(k) && want[k] < u->used) {
			if (!force) {
				err->code = VAC_ERR_BELOW_USED;
				err->msg = "quota below current usage (force to override)";
				return -EBUSY;
			}
		}
	}

	for (k = 0; k < VAC_NR_KINDS; k++) {
		struct vac_core_usage *u = &inst->usage[k];

		if (!set[k] || want[k] == u->quota)
			continue;
		if (k == VAC_RES_ASIDS)
			asid_plan(core, inst, want[k]);
		core->kind[k].reserved += want[k] - u->quota;
		u->quota = want[k];
		if (k == VAC_RES_PMU_COUNTERS && inst->online)
			budget_use(core, inst, k, want[k]);
	}

	/* Apply the planned ranges; a registered owner uses all of its. */
	for (i = 0; i < core->nmoves; i++) {
		struct vac_core_inst *p = core->moves[i].inst;

		p->asid_base = core->moves[i].base;
		if (p->online)
			budget_use(core, p, VAC_RES_ASIDS, core->moves[i].len);
	}
	gen_bump(core);
	err->code = VAC_ERR_NONE;
	err->msg = NULL;
	err->kind = VAC_NO_KIND;
	return 0;
}

/* ---- IDs ---- */

static int charge_check(struct vac_core *core, struct vac_core_inst *inst,
			u32 kind)
{
	struct vac_core_usage *u = &inst->usage[kind];

	if (unlikely(!inst->online))
		return -ENODEV;
	if (unlikely(u->used >= u->quota)) {
		u->failcnt++;
		return -EDQUOT;
	}
	return 0;
}

static void id_take(struct vac_core *core, struct vac_core_inst *inst,
		    u32 kind, u32 bit)
{
	struct vac_kind *kd = &core->kind[kind];

	__set_bit(bit, kd->map);
	kd->owner[bit] = inst->slot + 1;
	usage_charge(core, inst, kind);
}

int vac_core_alloc(struct vac_core *core, struct vac_core_inst *inst,
		   u32 kind, u32 *id)
{
	struct vac_kind *kd;
	unsigned long bit;
	int ret;

	if (kind >= VAC_NR_KINDS || !kind_has_ids(kind))
		return -EINVAL;
	ret = charge_check(core, inst, kind);
	if (ret)
		return ret;
	kd = &core->kind[kind];
	bit = kd->map ? find_next_zero_bit(kd->map, kd->capacity, 0) : 0;
	if (unlikely(bit >= kd->capacity)) {
		/* Only after a forced shrink: others hold more than theirs. */
		inst->usage[kind].failcnt++;
		return -ENOSPC;
	}
	id_take(core, inst, kind, bit);
	*id = kd->first + bit;
	return 0;
}

/* The map bit of @id: 0, -EINVAL (not an ID kind) or -ERANGE. */
static int id_bit(const struct vac_core *core, u32 kind, u32 id, u32 *bit)
{
	const struct vac_kind *kd;

	if (kind >= VAC_NR_KINDS || !kind_has_ids(kind))
		return -EINVAL;
	kd = &core->kind[kind];
	if (id < kd->first || id - kd->first >= kd->capacity)
		return -ERANGE;
	*bit = id - kd->first;
	return 0;
}

int vac_core_release(struct vac_core *core, struct vac_core_inst *inst,
		     u32 kind, u32 id)
{
	struct vac_kind *kd;
	u32 bit;
	int ret;

	ret = id_bit(core, kind, id, &bit);
	if (ret == -EINVAL)
		return ret;
	kd = &core->kind[kind];
	if (ret || kd->owner[bit] != inst->slot + 1)
		return -ENOENT;
	kd->owner[bit] = 0;
	__clear_bit(bit, kd->map);
	usage_uncharge(core, inst, kind);
	return 0;
}

/*
 * ---- quarantine: IDs no instance holds that are not free either ----
 *
 * An SEV ASID whose flush failed cannot be activated by anybody until a
 * later DF_FLUSH succeeds; its owner hands it to the quarantine instead
 * of freeing it.  The bit stays set in the map, the owner is
 * VAC_OWNER_QUARANTINE.
 */

int vac_core_quarantine(struct vac_core *core, struct vac_core_inst *inst,
			u32 kind, u32 id)
{
	struct vac_kind *kd;
	u32 bit;
	int ret;

	ret = id_bit(core, kind, id, &bit);
	if (ret == -EINVAL)
		return ret;
	kd = &core->kind[kind];
	if (ret || kd->owner[bit] != inst->slot + 1)
		return -ENOENT;
	kd->owner[bit] = VAC_OWNER_QUARANTINE;
	usage_uncharge(core, inst, kind);
	kd->quarantined++;
	return 0;
}

u32 vac_core_release_quarantined(struct vac_core *core, u32 kind)
{
	struct vac_kind *kd;
	u32 i, n = 0;

	if (kind >= VAC_NR_KINDS || !kind_has_ids(kind))
		return 0;
	kd = &core->kind[kind];
	for (i = 0; i < kd->capacity && n < kd->quarantined; i++) {
		if (kd->owner[i] != VAC_OWNER_QUARANTINE)
			continue;
		kd->owner[i] = 0;
		__clear_bit(i, kd->map);
		n++;
	}
	kd->quarantined -= n;
	return n;
}

/*
 * ---- user-return MSR slots: one slot per MSR, shared by its users ----
 *
 * A slot stays bound to its MSR when its last user lets go: a CPU may
 * still hold a guest's value of the MSR in that slot until it next
 * returns to user space, and the same MSR bound to another slot would
 * then read that guest value as the host's.  The owner of the CPUs
 * (vac.ko) unbinds such slots once every CPU gave the value back
 * (vac_core_msr_unused(), vac_core_msr_unbind()); a new MSR takes an
 * unbound slot.
 */

static int msr_slot_of(const struct vac_core *core, u32 msr)
{
	u32 i;

	for (i = 0; i < core->kind[VAC_RES_MSR_SLOTS].capacity; i++)
		if ((core->msr_bound & (1U << i)) && core->msr[i] == msr)
			return i;
	return -1;
}

int vac_core_msr_get(struct vac_core *core, struct vac_core_inst *inst,
		     u32 msr, u32 *slot)
{
	const u32 cap = core->kind[VAC_RES_MSR_SLOTS].capacity;
	int s = msr_slot_of(core, msr);
	int ret;

	if (s >= 0 && (inst->msr_mask & (1U << s)))
		return -EALREADY;
	ret = charge_check(core, inst, VAC_RES_MSR_SLOTS);
	if (ret)
		return ret;
	if (s < 0) {
		for (s = 0; s < (int)cap && (core->msr_bound & (1U << s)); s++)
			;
		if (s == (int)cap) {
			inst->usage[VAC_RES_MSR_SLOTS].failcnt++;
			return -ENOSPC;
		}
		core->msr[s] = msr;
		core->msr_bound |= 1U << s;
	}
	core->msr_refs[s]++;
	inst->msr_mask |= 1U << s;
	usage_charge(core, inst, VAC_RES_MSR_SLOTS);
	*slot = s;
	return 0;
}

u32 vac_core_msr_unused(const struct vac_core *core)
{
	u32 i, mask = 0;

	for (i = 0; i < core->kind[VAC_RES_MSR_SLOTS].capacity; i++)
		if ((core->msr_bound & (1U << i)) && !core->msr_refs[i])
			mask |= 1U << i;
	return mask;
}

void vac_core_msr_unbind(struct vac_core *core, u32 mask)
{
	core->msr_bound &= ~(mask & vac_core_msr_unused(core));
}

int vac_core_msr_put(struct vac_core *core, struct vac_core_inst *inst,
		     u32 msr)
{
	int s = msr_slot_of(core, msr);

	if (s < 0 || !(inst->msr_mask & (1U << s)))
		return -ENOENT;
	inst->msr_mask &= ~(1U << s);
	core->msr_refs[s]--;
	usage_uncharge(core, inst, VAC_RES_MSR_SLOTS);
	return 0;
}

/* ---- reporting ---- */

u32 vac_core_run(const struct vac_core *core,
		 const struct vac_core_inst *inst, u32 kind, u32 from,
		 u32 *first)
{
	const struct vac_kind *kd = &core->kind[kind];
	u32 i, n = 0;

	if (kind == VAC_RES_ASIDS) {
		u32 len = inst->usage[kind].used;	/* 0 while offline */

		if (!len || from >= inst->asid_base + len)
			return 0;
		*first = from > inst->asid_base ? from : inst->asid_base;
		return inst->asid_base + len - *first;
	}
	if (kind == VAC_RES_MSR_SLOTS) {
		for (i = from; i < kd->capacity; i++)
			if (inst->msr_mask & (1U << i)) {
				*first = i;
				return 1;
			}
		return 0;
	}
	if (!kd->owner)
		return 0;
	i = from > kd->first ? from - kd->first : 0;
	for (; i < kd->capacity; i++) {
		if (kd->owner[i] != inst->slot + 1) {
			if (n)
				break;
			continue;
		}
		if (!n++)
			*first = kd->first + i;
	}
	return n;
}

static int check_fail(struct vac_err *err, int kind, const char *msg)
{
	err->code = VAC_ERR_CHECK;
	err->kind = kind;
	err->msg = msg;
	return -EUCLEAN;
}

int vac_core_check(const struct vac_core *core, struct vac_err *err)
{
	u32 used[VAC_NR_KINDS] = { 0 }, reserved[VAC_NR_KINDS] = { 0 };
	u32 isum[VAC_NR_KINDS] = { 0 }, quarantined[VAC_NR_KINDS] = { 0 };
	const struct vac_kind *ka = &core->kind[VAC_RES_ASIDS];
	struct vac_core_inst **r = core->scratch;
	u32 k, i, n = 0;

	for (k = 0; k < VAC_NR_KINDS; k++) {
		const struct vac_kind *kd = &core->kind[k];

		if (!kd->owner)
			continue;
		for (i = 0; i < kd->capacity; i++) {
			u16 o = kd->owner[i];

			if (!!o != test_bit(i, kd->map) ||
			    (o && o != VAC_OWNER_QUARANTINE &&
			     (o > VAC_MAX_INSTANCES || !core->insts[o - 1])))
				return check_fail(err, k, "ID map and owners disagree");
			if (o == VAC_OWNER_QUARANTINE)
				quarantined[k]++;
			else if (o)
				used[k]++;
		}
		if (quarantined[k] != kd->quarantined)
			return check_fail(err, k, "quarantined count wrong");
	}
	for (i = 0; i < VAC_NAME_INDEX; i++)
		if (core->index.bucket[i])
			n++;
	if (n != core->ninsts)
		return check_fail(err, VAC_NO_KIND, "name index and instances disagree");
	n = 0;
	for (i = 0; i < VAC_MAX_INSTANCES; i++) {
		struct vac_core_inst *p = core->insts[i];
		u32 a;

		if (!p)
			continue;
		if (vac_name_index_find(&core->index, p->name) != i + 1)
			return check_fail(err, VAC_NO_KIND, "an instance not found by its name");
		for (k = 0; k < VAC_NR_KINDS; k++) {
			reserved[k] += p->usage[k].quota;
			isum[k] += p->usage[k].used;
			if (p->usage[k].peak < p->usage[k].used)
				return check_fail(err, k, "peak below used");
		}
		for (k = 0; k < VAC_NR_KINDS; k++) {
			if (!kind_is_budget(k))
				continue;
			used[k] += p->usage[k].used;
			if (p->usage[k].used != (p->online ? p->usage[k].quota : 0))
				return check_fail(err, k,
						  "a budget not used whole while registered");
		}
		used[VAC_RES_MSR_SLOTS] += vac_hweight32(p->msr_mask);
		if (p->usage[VAC_RES_MSR_SLOTS].used != vac_hweight32(p->msr_mask))
			return check_fail(err, VAC_RES_MSR_SLOTS,
					  "slot mask and used disagree");
		a = p->usage[VAC_RES_ASIDS].quota;
		if (!a)
			continue;
		if (p->asid_base < ka->first ||
		    p->asid_base + a > ka->first + ka->capacity)
			return check_fail(err, VAC_RES_ASIDS,
					  "ASID range outside the ASID space");
		r[n++] = p;
	}
	/* ASID ranges disjoint: sorted by base, each ends before the next. */
	vac_sort(r, n, sizeof(*r), cmp_base);
	for (i = 1; i < n; i++)
		if (r[i - 1]->asid_base + r[i - 1]->usage[VAC_RES_ASIDS].quota >
		    r[i]->asid_base)
			return check_fail(err, VAC_RES_ASIDS, "ASID ranges overlap");
	for (k = 0; k < VAC_NR_KINDS; k++) {
		if (reserved[k] != core->kind[k].reserved ||
		    reserved[k] > core->kind[k].capacity)
			return check_fail(err, k, "sum of quotas wrong or above capacity");
		if (used[k] != core->kind[k].used || isum[k] != used[k])
			return check_fail(err, k, "used does not match the IDs held");
	}
	err->code = VAC_ERR_NONE;
	err->msg = NULL;
	err->kind = VAC_NO_KIND;
	return 0;
}
