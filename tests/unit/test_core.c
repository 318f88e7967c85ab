// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of the VAC accounting core (kernel/vac_core.c): names and
 * kinds, instances, quotas, IDs, user-return MSR slots, ASID ranges and
 * the moves that change them, allocation reports, and a long random walk
 * compared step by step against a simple model.
 *
 * Every test starts from a fresh core with the capacities in test_cap and
 * ends with vac_core_check() returning 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "vac_core.h"

/* ---- fixture ---- */

static const u32 test_cap[VAC_NR_KINDS] = {
	[VAC_RES_ASIDS]		= 100,
	[VAC_RES_SEV_ASIDS]	= 10,
	[VAC_RES_SEV_ES_ASIDS]	= 5,
	[VAC_RES_VPIDS]		= 1000,
	[VAC_RES_PMU_COUNTERS]	= 6,
	[VAC_RES_MSR_SLOTS]	= 16,
};

/* Where vac_core_layout() puts the IDs with these capacities. */
#define FIRST_SEV_ES	1	/* 1..5 */
#define FIRST_SEV	6	/* 6..15 */
#define FIRST_ASID	16	/* 16..115 */

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* The kinds handed out as individual IDs. */
static const u32 id_kinds[] = {
	VAC_RES_SEV_ASIDS, VAC_RES_SEV_ES_ASIDS, VAC_RES_VPIDS,
};
#define N_ID_KINDS	ARRAY_SIZE(id_kinds)

#define MSR_STAR	0xc0000081
#define MSR_LSTAR	0xc0000082
#define MSR_CSTAR	0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_TSC_AUX	0xc0000103

/* An output value the core must leave alone when it fails. */
#define UNTOUCHED	0xdeadbeefU

static int core_setup(void **state)
{
	struct vac_core *core = calloc(1, sizeof(*core));

	if (!core)
		return -1;
	if (vac_core_init(core, test_cap)) {
		free(core);
		return -1;
	}
	*state = core;
	return 0;
}

static int core_teardown(void **state)
{
	struct vac_core *core = *state;
	struct vac_err err = { 0 };
	int ret = vac_core_check(core, &err);

	if (ret)
		print_error("vac_core_check: %d, %s (kind %d)\n", ret,
			    err.msg ? err.msg : "(no message)", err.kind);
	vac_core_fini(core);
	free(core);
	assert_int_equal(ret, 0);
	return 0;
}

/* Start again from an empty core with other capacities. */
static void core_reset(struct vac_core *core, const u32 cap[VAC_NR_KINDS])
{
	vac_core_fini(core);
	assert_int_equal(vac_core_init(core, cap), 0);
}

static void assert_core_consistent(const struct vac_core *core)
{
	struct vac_err err = { 0 };
	int ret = vac_core_check(core, &err);

	if (ret)
		fail_msg("vac_core_check: %d, %s (kind %d)", ret,
			 err.msg ? err.msg : "(no message)", err.kind);
}

/* ---- helpers ---- */

static struct vac_core_inst *inst_new(struct vac_core *core, const char *name,
				      bool online)
{
	struct vac_core_inst *inst = NULL;

	assert_int_equal(vac_core_inst_add(core, name, &inst), 0);
	assert_non_null(inst);
	if (online)
		assert_int_equal(vac_core_online(core, inst), 0);
	return inst;
}

static int quota_try(struct vac_core *core, struct vac_core_inst *inst,
		     u32 kind, u32 value, bool force, struct vac_err *err)
{
	struct vac_core_quota q = { .kind = kind, .value = value };

	return vac_core_quota_set(core, inst, &q, 1, force, err);
}

static void quota_ok(struct vac_core *core, struct vac_core_inst *inst,
		     u32 kind, u32 value)
{
	struct vac_err err = { 0 };
	int ret = quota_try(core, inst, kind, value, false, &err);

	if (ret)
		fail_msg("quota %s=%u for %s: %d, %s", vac_kind_names[kind],
			 value, inst->name, ret, err.msg);
}

static void quota_force(struct vac_core *core, struct vac_core_inst *inst,
			u32 kind, u32 value)
{
	struct vac_err err = { 0 };

	assert_int_equal(quota_try(core, inst, kind, value, true, &err), 0);
}

static u32 alloc_ok(struct vac_core *core, struct vac_core_inst *inst,
		    u32 kind)
{
	u32 id = UNTOUCHED;

	assert_int_equal(vac_core_alloc(core, inst, kind, &id), 0);
	return id;
}

static u32 msr_get_ok(struct vac_core *core, struct vac_core_inst *inst,
		      u32 msr)
{
	u32 slot = UNTOUCHED;

	assert_int_equal(vac_core_msr_get(core, inst, msr, &slot), 0);
	return slot;
}

/*
 * Make @x hold @ids (ascending, free) besides what it holds, its quota
 * raised by @n: a filler instance takes every free ID up to the last of
 * them, gives @ids back, and @x allocates, so the lowest free IDs are
 * exactly these.
 */
static void take_ids(struct vac_core *core, struct vac_core_inst *x, u32 k,
		     const u32 *ids, u32 n)
{
	struct vac_kind *kd = &core->kind[k];
	struct vac_core_inst *t;
	u32 id, i;

	if (!n)
		return;
	t = inst_new(core, "filler", true);
	quota_ok(core, t, k, kd->capacity - kd->reserved);
	do
		id = alloc_ok(core, t, k);
	while (id < ids[n - 1]);
	for (i = 0; i < n; i++)
		assert_int_equal(vac_core_release(core, t, k, ids[i]), 0);
	quota_ok(core, t, k, t->usage[k].used);
	quota_ok(core, x, k, x->usage[k].quota + n);
	for (i = 0; i < n; i++)
		assert_int_equal(alloc_ok(core, x, k), ids[i]);
	vac_core_offline(core, t);
	assert_int_equal(vac_core_inst_del(core, t), 0);
}

/* The instance holding @id of @kind, or NULL. */
static struct vac_core_inst *id_owner(const struct vac_core *core, u32 kind,
				      u32 id)
{
	const struct vac_kind *kd = &core->kind[kind];
	u32 bit = id - kd->first;
	u16 o = kd->owner[bit];

	if (!o) {
		assert_false(test_bit(bit, kd->map));
		return NULL;
	}
	assert_true(test_bit(bit, kd->map));
	return core->insts[o - 1];
}

struct rng {
	u64 s;
};

/* xorshift64: the same sequence on every platform for a given seed. */
static u32 rng_below(struct rng *r, u32 n)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return (u32)((r->s >> 32) % n);
}

/* How many user-return slots are in use. */
static u32 msr_slot_count_bound(const struct vac_core *core)
{
	u32 s, n = 0;

	for (s = 0; s < core->kind[VAC_RES_MSR_SLOTS].capacity; s++)
		n += core->msr_refs[s] != 0;
	return n;
}

static bool ranges_overlap(u32 b1, u32 l1, u32 b2, u32 l2)
{
	return l1 && l2 && b1 < b2 + l2 && b2 < b1 + l1;
}

/* ---- ASID layout and moves ---- */

#define SNAP_MAX	16

/* The ASID range of every instance, in slot order. */
struct asid_snap {
	u32 n;
	struct vac_core_inst *inst[SNAP_MAX];
	u32 base[SNAP_MAX];
	u32 len[SNAP_MAX];
};

static void asid_snap_take(struct vac_core *core, struct asid_snap *s)
{
	struct vac_core_inst *p;
	u32 pos;

	s->n = 0;
	for (pos = 0; (p = vac_core_next(core, &pos)); pos++) {
		assert_true(s->n < SNAP_MAX);
		s->inst[s->n] = p;
		s->base[s->n] = p->asid_base;
		s->len[s->n] = p->usage[VAC_RES_ASIDS].quota;
		s->n++;
	}
}

static u32 asid_snap_index(const struct asid_snap *s,
			   const struct vac_core_inst *p)
{
	u32 i;

	for (i = 0; i < s->n; i++)
		if (s->inst[i] == p)
			return i;
	fail_msg("a move names an instance that does not exist");
	return 0;
}

/*
 * Replay core->moves over the layout before a quota change: each instance
 * moves at most once, each new range lies in the ASID space and overlaps
 * no other instance's range as it is at that point of the replay, and the
 * replay ends at the layout the core now has (so every instance whose
 * range changed is listed).
 */
static void asid_moves_verify(const struct vac_core *core,
			      const struct asid_snap *before)
{
	const struct vac_kind *kd = &core->kind[VAC_RES_ASIDS];
	struct asid_snap cur = *before;
	bool moved[SNAP_MAX] = { false };
	u32 j, x, o;

	for (j = 0; j < core->nmoves; j++) {
		const struct vac_move *mv = &core->moves[j];

		x = asid_snap_index(&cur, mv->inst);
		if (moved[x])
			fail_msg("%s moves twice", mv->inst->name);
		moved[x] = true;
		if (mv->len && (mv->base < kd->first ||
				mv->base + mv->len > kd->first + kd->capacity))
			fail_msg("move %u puts %s at [%u, %u), outside the ASID space",
				 j, mv->inst->name, mv->base, mv->base + mv->len);
		for (o = 0; o < cur.n; o++) {
			if (o == x || !ranges_overlap(mv->base, mv->len,
						      cur.base[o], cur.len[o]))
				continue;
			fail_msg("move %u puts %s at [%u, %u) while %s still has [%u, %u)",
				 j, mv->inst->name, mv->base, mv->base + mv->len,
				 cur.inst[o]->name, cur.base[o],
				 cur.base[o] + cur.len[o]);
		}
		cur.base[x] = mv->base;
		cur.len[x] = mv->len;
	}
	for (x = 0; x < cur.n; x++) {
		const struct vac_core_inst *p = cur.inst[x];

		if (p->usage[VAC_RES_ASIDS].quota != cur.len[x] ||
		    (cur.len[x] && p->asid_base != cur.base[x]))
			fail_msg("%s has [%u, +%u) but the moves say [%u, +%u)",
				 p->name, p->asid_base,
				 p->usage[VAC_RES_ASIDS].quota, cur.base[x],
				 cur.len[x]);
	}
}

/* Ranges inside the space and disjoint; online instances use all of theirs. */
static void asid_layout_verify(struct vac_core *core)
{
	const struct vac_kind *kd = &core->kind[VAC_RES_ASIDS];
	struct asid_snap s;
	u32 i, j;

	asid_snap_take(core, &s);
	for (i = 0; i < s.n; i++) {
		const struct vac_core_usage *u = &s.inst[i]->usage[VAC_RES_ASIDS];

		assert_int_equal(u->used, s.inst[i]->online ? u->quota : 0);
		if (!s.len[i])
			continue;
		assert_in_range(s.base[i], kd->first,
				kd->first + kd->capacity - s.len[i]);
		for (j = i + 1; j < s.n; j++)
			if (ranges_overlap(s.base[i], s.len[i], s.base[j],
					   s.len[j]))
				fail_msg("%s [%u, +%u) overlaps %s [%u, +%u)",
					 s.inst[i]->name, s.base[i], s.len[i],
					 s.inst[j]->name, s.base[j], s.len[j]);
	}
}

/* Set an ASID quota and check the moves it reports against the layout. */
static int asids_set(struct vac_core *core, struct vac_core_inst *inst,
		     u32 len, bool force)
{
	struct asid_snap before;
	struct vac_err err = { 0 };
	int ret;

	asid_snap_take(core, &before);
	ret = quota_try(core, inst, VAC_RES_ASIDS, len, force, &err);
	if (ret)
		assert_int_equal(core->nmoves, 0);
	asid_moves_verify(core, &before);
	asid_layout_verify(core);
	return ret;
}

/* ---- names, kinds, layout, init ---- */

static void test_name_valid_accepts_module_like_names_only(void **state)
{
	static const struct {
		const char *name;
		bool valid;
	} cases[] = {
		{ "kvm", true },
		{ "kvm_a", true },
		{ "kvm_amd2", true },
		{ "0", true },
		{ "_", true },
		{ "a234567890123456789012345678901", true },	/* 31 */
		{ "a2345678901234567890123456789012", false },	/* 32 */
		{ "a23456789012345678901234567890123456789", false },
		{ "", false },
		{ "Kvm", false },
		{ "KVM_A", false },
		{ "kvm-a", false },
		{ "kvm a", false },
		{ "kvm.a", false },
		{ "kvm/a", false },
		{ "kvm\n", false },
		{ "k\xc3\xa9", false },
	};
	size_t i;

	assert_int_equal(strlen(cases[5].name), VAC_NAME_LEN - 1);
	assert_int_equal(strlen(cases[6].name), VAC_NAME_LEN);
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		if (vac_name_valid(cases[i].name) != cases[i].valid)
			fail_msg("vac_name_valid(\"%s\") should be %s",
				 cases[i].name, cases[i].valid ? "true" : "false");
}

static void test_kind_parse_knows_every_kind_name_only(void **state)
{
	static const struct {
		const char *name;
		int kind;
	} cases[] = {
		{ "asids", VAC_RES_ASIDS },
		{ "sev_asids", VAC_RES_SEV_ASIDS },
		{ "sev_es_asids", VAC_RES_SEV_ES_ASIDS },
		{ "vpids", VAC_RES_VPIDS },
		{ "pmu_counters", VAC_RES_PMU_COUNTERS },
		{ "msr_slots", VAC_RES_MSR_SLOTS },
		{ "", -EINVAL },
		{ "ASIDS", -EINVAL },
		{ "asid", -EINVAL },
		{ "asids ", -EINVAL },
		{ "sev-asids", -EINVAL },
		{ "msr", -EINVAL },
	};
	size_t i;
	int k;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		if (vac_kind_parse(cases[i].name) != cases[i].kind)
			fail_msg("vac_kind_parse(\"%s\") should be %d",
				 cases[i].name, cases[i].kind);
	for (k = 0; k < VAC_NR_KINDS; k++)
		assert_int_equal(vac_kind_parse(vac_kind_names[k]), k);
}

static void test_layout_puts_sev_es_then_sev_then_asids(void **state)
{
	static const struct {
		u32 sev_es, sev, asids;
		u32 first_sev, first_asid;
	} cases[] = {
		{ 5, 10, 100, 6, 16 },
		{ 0, 0, 16, 1, 1 },
		{ 0, 10, 5, 1, 11 },
		{ 99, 410, 32000, 100, 510 },
	};
	struct vac_core *core = *state;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		u32 cap[VAC_NR_KINDS] = {
			[VAC_RES_SEV_ES_ASIDS]	= cases[i].sev_es,
			[VAC_RES_SEV_ASIDS]	= cases[i].sev,
			[VAC_RES_ASIDS]		= cases[i].asids,
		};
		u32 first[VAC_NR_KINDS];

		memset(first, 0xff, sizeof(first));
		vac_core_layout(cap, first);
		assert_int_equal(first[VAC_RES_SEV_ES_ASIDS], 1);
		assert_int_equal(first[VAC_RES_SEV_ASIDS], cases[i].first_sev);
		assert_int_equal(first[VAC_RES_ASIDS], cases[i].first_asid);
		assert_int_equal(first[VAC_RES_VPIDS], 1);
		assert_int_equal(first[VAC_RES_PMU_COUNTERS], 0);
		assert_int_equal(first[VAC_RES_MSR_SLOTS], 0);
	}

	assert_int_equal(core->kind[VAC_RES_SEV_ES_ASIDS].first, FIRST_SEV_ES);
	assert_int_equal(core->kind[VAC_RES_SEV_ASIDS].first, FIRST_SEV);
	assert_int_equal(core->kind[VAC_RES_ASIDS].first, FIRST_ASID);
	assert_int_equal(core->kind[VAC_RES_VPIDS].first, 1);
	assert_int_equal(core->kind[VAC_RES_PMU_COUNTERS].first, 0);
	assert_int_equal(core->kind[VAC_RES_MSR_SLOTS].first, 0);
}

static void test_init_takes_capacities_up_to_the_limit_only(void **state)
{
	struct vac_core c;
	u32 cap[VAC_NR_KINDS];
	size_t i;
	u32 k;

	for (k = 0; k < VAC_NR_KINDS; k++) {
		const u32 over[] = {
			vac_cap_limit[k] + 1, vac_cap_limit[k] + 1000, UINT32_MAX,
		};

		memcpy(cap, test_cap, sizeof(cap));
		cap[k] = vac_cap_limit[k];
		assert_int_equal(vac_core_init(&c, cap), 0);
		assert_int_equal(c.kind[k].capacity, vac_cap_limit[k]);
		assert_int_equal(c.kind[k].reserved, 0);
		assert_int_equal(c.kind[k].used, 0);
		assert_core_consistent(&c);
		vac_core_fini(&c);

		for (i = 0; i < ARRAY_SIZE(over); i++) {
			cap[k] = over[i];
			if (vac_core_init(&c, cap) != -EINVAL)
				fail_msg("%s capacity %u accepted, limit %u",
					 vac_kind_names[k], cap[k],
					 vac_cap_limit[k]);
			vac_core_fini(&c);
		}
	}
	assert_true(vac_cap_limit[VAC_RES_MSR_SLOTS] <= VAC_MSR_SLOTS_MAX);
}

static void test_zero_capacity_kind_hands_out_nothing(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a;
	struct vac_err err;
	u32 cap[VAC_NR_KINDS], id = UNTOUCHED, first = UNTOUCHED;

	memcpy(cap, test_cap, sizeof(cap));
	cap[VAC_RES_VPIDS] = 0;
	core_reset(core, cap);
	a = inst_new(core, "kvm_a", true);

	assert_int_equal(quota_try(core, a, VAC_RES_VPIDS, 1, false, &err),
			 -ENOSPC);
	assert_int_equal(vac_core_alloc(core, a, VAC_RES_VPIDS, &id), -EDQUOT);
	assert_int_equal(vac_core_release(core, a, VAC_RES_VPIDS, 1), -ENOENT);
	assert_int_equal(vac_core_run(core, a, VAC_RES_VPIDS, 0, &first), 0);
	assert_int_equal(id, UNTOUCHED);
	assert_int_equal(first, UNTOUCHED);
	quota_ok(core, a, VAC_RES_VPIDS, 0);
	vac_core_offline(core, a);
}

/* ---- instances ---- */

static void test_inst_add_then_find_by_name(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", false);
	struct vac_core_inst *b = inst_new(core, "kvm_b", false);
	u32 k;

	assert_ptr_equal(vac_core_find(core, "kvm_a"), a);
	assert_ptr_equal(vac_core_find(core, "kvm_b"), b);
	assert_null(vac_core_find(core, "kvm_c"));
	assert_null(vac_core_find(core, "kvm"));
	assert_null(vac_core_find(core, "kvm_a_"));
	assert_string_equal(a->name, "kvm_a");
	assert_int_equal(a->slot, 0);
	assert_int_equal(b->slot, 1);
	assert_int_equal(core->ninsts, 2);
	assert_false(a->online);
	for (k = 0; k < VAC_NR_KINDS; k++) {
		assert_int_equal(a->usage[k].quota, 0);
		assert_int_equal(a->usage[k].used, 0);
	}
}

static void test_inst_add_rejects_bad_or_taken_name(void **state)
{
	static const struct {
		const char *name;
		int ret;
	} cases[] = {
		{ "kvm_a", -EEXIST },
		{ "", -EINVAL },
		{ "KVM_B", -EINVAL },
		{ "kvm-b", -EINVAL },
		{ "a2345678901234567890123456789012", -EINVAL },
	};
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", false);
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vac_core_inst *out = a;

		if (vac_core_inst_add(core, cases[i].name, &out) != cases[i].ret)
			fail_msg("adding \"%s\" should fail with %d",
				 cases[i].name, cases[i].ret);
		assert_ptr_equal(out, a);
	}
	assert_int_equal(core->ninsts, 1);
	assert_ptr_equal(vac_core_find(core, "kvm_a"), a);
}

static void test_inst_add_refuses_more_than_max_instances(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *p, *out = NULL;
	char name[VAC_NAME_LEN];
	u32 i;

	for (i = 0; i < VAC_MAX_INSTANCES; i++) {
		snprintf(name, sizeof(name), "i%u", i);
		p = inst_new(core, name, false);
		assert_int_equal(p->slot, i);
	}
	assert_int_equal(core->ninsts, VAC_MAX_INSTANCES);
	assert_int_equal(vac_core_inst_add(core, "one_more", &out), -ENOSPC);
	assert_null(out);

	snprintf(name, sizeof(name), "i%u", VAC_MAX_INSTANCES - 1);
	assert_non_null(vac_core_find(core, name));
	p = vac_core_find(core, "i1234");
	assert_non_null(p);
	assert_int_equal(vac_core_inst_del(core, p), 0);
	p = inst_new(core, "one_more", false);
	assert_int_equal(p->slot, 1234);
	assert_int_equal(core->ninsts, VAC_MAX_INSTANCES);
}

/*
 * The name index (open addressing, linear probing) stays exact while a
 * full table loses and regains instances in a scrambled order: deletes
 * that open holes inside probe clusters must not hide anyone behind them.
 */
static void test_find_by_name_survives_deletes_in_any_order(void **state)
{
	struct vac_core *core = *state;
	static bool live[VAC_MAX_INSTANCES];
	char name[VAC_NAME_LEN];
	struct vac_core_inst *p;
	u32 i, round, x = 12345;

	for (i = 0; i < VAC_MAX_INSTANCES; i++) {
		snprintf(name, sizeof(name), "kvm_%u", i);
		inst_new(core, name, false);
		live[i] = true;
	}
	for (round = 0; round < 6; round++) {
		/* Every other round deletes or re-adds about half of them. */
		for (i = 0; i < VAC_MAX_INSTANCES; i++) {
			x = x * 1103515245U + 12345U;
			if (x >> 16 & 1)
				continue;
			snprintf(name, sizeof(name), "kvm_%u", i);
			if (live[i] && !(round & 1)) {
				p = vac_core_find(core, name);
				assert_non_null(p);
				assert_int_equal(vac_core_inst_del(core, p), 0);
				live[i] = false;
			} else if (!live[i] && (round & 1)) {
				inst_new(core, name, false);
				live[i] = true;
			}
		}
		for (i = 0; i < VAC_MAX_INSTANCES; i++) {
			snprintf(name, sizeof(name), "kvm_%u", i);
			p = vac_core_find(core, name);
			if (!live[i]) {
				assert_null(p);
				continue;
			}
			assert_non_null(p);
			assert_string_equal(p->name, name);
		}
		assert_null(vac_core_find(core, "kvm_x"));
		assert_core_consistent(core);
	}
}

/* vac_core_check() finds an index that lost an instance. */
static void test_check_finds_an_instance_missing_from_the_index(void **state)
{
	struct vac_core *core = *state;
	struct vac_err err = { 0 };
	u32 i, b = VAC_NAME_INDEX;
	u16 v;

	inst_new(core, "kvm_a", false);
	inst_new(core, "kvm_b", false);
	for (i = 0; i < VAC_NAME_INDEX; i++)
		if (core->index.bucket[i] == 1)
			b = i;
	assert_int_not_equal(b, VAC_NAME_INDEX);
	v = core->index.bucket[b];
	core->index.bucket[b] = 0;
	assert_int_equal(vac_core_check(core, &err), -EUCLEAN);
	assert_string_equal(err.msg, "name index and instances disagree");
	core->index.bucket[b] = v;
}

static void test_inst_next_walks_instances_in_slot_order(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "a", false);
	struct vac_core_inst *b = inst_new(core, "b", false);
	struct vac_core_inst *c = inst_new(core, "c", false);
	struct vac_core_inst *d = inst_new(core, "d", false);
	struct vac_core_inst *e;
	u32 pos = 0;

	assert_int_equal(vac_core_inst_del(core, b), 0);
	assert_ptr_equal(vac_core_next(core, &pos), a);
	assert_int_equal(pos, 0);
	pos++;
	assert_ptr_equal(vac_core_next(core, &pos), c);
	assert_int_equal(pos, 2);
	pos++;
	assert_ptr_equal(vac_core_next(core, &pos), d);
	assert_int_equal(pos, 3);
	pos++;
	assert_null(vac_core_next(core, &pos));
	assert_int_equal(pos, VAC_MAX_INSTANCES);

	e = inst_new(core, "e", false);
	assert_int_equal(e->slot, 1);
	pos = 1;
	assert_ptr_equal(vac_core_next(core, &pos), e);
	assert_null(vac_core_find(core, "b"));
}

static void test_inst_del_refuses_online_instance(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);

	assert_int_equal(vac_core_inst_del(core, a), -EBUSY);
	assert_ptr_equal(vac_core_find(core, "kvm_a"), a);
	assert_int_equal(core->ninsts, 1);
	vac_core_offline(core, a);
	assert_int_equal(vac_core_inst_del(core, a), 0);
	assert_null(vac_core_find(core, "kvm_a"));
	assert_int_equal(core->ninsts, 0);
}

static void test_inst_del_returns_its_quota_to_the_pool(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", false);
	struct vac_core_inst *b = inst_new(core, "kvm_b", false);
	struct vac_err err;
	u32 k;

	for (k = 0; k < VAC_NR_KINDS; k++) {
		quota_ok(core, a, k, test_cap[k]);
		assert_int_equal(core->kind[k].reserved, test_cap[k]);
		assert_int_equal(quota_try(core, b, k, 1, false, &err), -ENOSPC);
	}
	assert_int_equal(vac_core_inst_del(core, a), 0);
	for (k = 0; k < VAC_NR_KINDS; k++) {
		assert_int_equal(core->kind[k].reserved, 0);
		quota_ok(core, b, k, test_cap[k]);
	}
	assert_int_equal(b->asid_base, FIRST_ASID);
}

/* ---- quotas ---- */

static void test_quota_sum_never_exceeds_capacity(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", false);
	struct vac_core_inst *b = inst_new(core, "kvm_b", false);
	struct vac_err err;
	u32 k;

	for (k = 0; k < VAC_NR_KINDS; k++) {
		const u32 cap = test_cap[k];

		quota_ok(core, a, k, cap - 3);
		err.kind = VAC_NO_KIND;
		err.msg = NULL;
		assert_int_equal(quota_try(core, b, k, 4, true, &err), -ENOSPC);
		assert_int_equal(err.kind, (int)k);
		assert_non_null(err.msg);
		assert_int_equal(b->usage[k].quota, 0);
		assert_int_equal(core->kind[k].reserved, cap - 3);

		quota_ok(core, b, k, 3);
		assert_int_equal(core->kind[k].reserved, cap);
		assert_int_equal(quota_try(core, b, k, 4, false, &err), -ENOSPC);
		assert_int_equal(quota_try(core, a, k, cap - 2, false, &err),
				 -ENOSPC);
		assert_int_equal(quota_try(core, a, k, UINT32_MAX, false, &err),
				 -ENOSPC);

		/* What an instance holds counts towards what it may ask. */
		quota_ok(core, b, k, 0);
		quota_ok(core, a, k, cap);
		quota_ok(core, a, k, 0);
		quota_ok(core, b, k, cap);
		quota_ok(core, b, k, 0);
		assert_int_equal(core->kind[k].reserved, 0);
	}
}

static void test_quota_set_applies_several_kinds_at_once(void **state)
{
	static const struct vac_core_quota q[] = {
		{ VAC_RES_SEV_ASIDS, 4 },
		{ VAC_RES_VPIDS, 100 },
		{ VAC_RES_ASIDS, 10 },
		{ VAC_RES_MSR_SLOTS, 2 },
	};
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	struct vac_err err = { 0 };
	size_t i;

	assert_int_equal(vac_core_quota_set(core, a, q, ARRAY_SIZE(q), false,
					    &err), 0);
	for (i = 0; i < ARRAY_SIZE(q); i++) {
		assert_int_equal(a->usage[q[i].kind].quota, q[i].value);
		assert_int_equal(core->kind[q[i].kind].reserved, q[i].value);
	}
	assert_int_equal(a->usage[VAC_RES_PMU_COUNTERS].quota, 0);
	assert_int_equal(a->usage[VAC_RES_ASIDS].used, 10);
	assert_int_equal(a->asid_base, FIRST_ASID);
}

static void test_quota_set_is_all_or_nothing(void **state)
{
	static const struct {
		const char *what;
		struct vac_core_quota q[4];
		u32 nq;
		bool force;
		int ret, kind;
	} cases[] = {
		{ "one kind over capacity",
		  { { VAC_RES_VPIDS, 10 }, { VAC_RES_SEV_ASIDS, 3 },
		    { VAC_RES_PMU_COUNTERS, 2 } }, 3, false,
		  -ENOSPC, VAC_RES_SEV_ASIDS },
		{ "last kind over capacity",
		  { { VAC_RES_ASIDS, 10 }, { VAC_RES_VPIDS, 7 },
		    { VAC_RES_MSR_SLOTS, 17 } }, 3, true,
		  -ENOSPC, VAC_RES_MSR_SLOTS },
		{ "one kind below used",
		  { { VAC_RES_PMU_COUNTERS, 2 }, { VAC_RES_VPIDS, 2 },
		    { VAC_RES_ASIDS, 30 } }, 3, false,
		  -EBUSY, VAC_RES_VPIDS },
		{ "ASIDs to zero while online",
		  { { VAC_RES_ASIDS, 0 }, { VAC_RES_SEV_ASIDS, 1 } }, 2, false,
		  -EBUSY, VAC_RES_ASIDS },
		{ "duplicate kind",
		  { { VAC_RES_SEV_ASIDS, 1 }, { VAC_RES_VPIDS, 1 },
		    { VAC_RES_SEV_ASIDS, 2 } }, 3, false,
		  -EINVAL, VAC_RES_SEV_ASIDS },
		{ "unknown kind",
		  { { VAC_RES_SEV_ASIDS, 1 }, { VAC_NR_KINDS, 1 } }, 2, false,
		  -EINVAL, VAC_NO_KIND },
		{ "unknown kind, huge",
		  { { UINT32_MAX, 0 } }, 1, true,
		  -EINVAL, VAC_NO_KIND },
	};
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	struct vac_core_inst *b = inst_new(core, "kvm_b", true);
	struct vac_kind kinds[VAC_NR_KINDS];
	struct vac_core_usage usage[VAC_NR_KINDS];
	u32 base, i;
	size_t c;

	/* a: 5 VPIDs, 3 of them used, and 20 ASIDs; b leaves 2 SEV ASIDs. */
	quota_ok(core, a, VAC_RES_VPIDS, 5);
	quota_ok(core, a, VAC_RES_ASIDS, 20);
	quota_ok(core, b, VAC_RES_ASIDS, 20);
	quota_ok(core, a, VAC_RES_ASIDS, 10);
	quota_ok(core, b, VAC_RES_SEV_ASIDS, 8);
	for (i = 0; i < 3; i++)
		alloc_ok(core, a, VAC_RES_VPIDS);

	for (c = 0; c < ARRAY_SIZE(cases); c++) {
		struct vac_err err = { .msg = NULL, .kind = 99 };
		int ret;

		memcpy(kinds, core->kind, sizeof(kinds));
		memcpy(usage, a->usage, sizeof(usage));
		base = a->asid_base;
		ret = vac_core_quota_set(core, a, cases[c].q, cases[c].nq,
					 cases[c].force, &err);
		if (ret != cases[c].ret || err.kind != cases[c].kind)
			fail_msg("%s: %d (kind %d), expected %d (kind %d)",
				 cases[c].what, ret, err.kind, cases[c].ret,
				 cases[c].kind);
		assert_non_null(err.msg);
		assert_memory_equal(usage, a->usage, sizeof(usage));
		assert_memory_equal(kinds, core->kind, sizeof(kinds));
		assert_int_equal(a->asid_base, base);
		assert_int_equal(core->nmoves, 0);
	}
}

static void test_quota_below_used_needs_force(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	struct vac_err err;
	u32 ids[3], k, i;
	size_t n;

	for (n = 0; n < N_ID_KINDS; n++) {
		k = id_kinds[n];
		quota_ok(core, a, k, 4);
		for (i = 0; i < 3; i++)
			ids[i] = alloc_ok(core, a, k);

		err.kind = VAC_NO_KIND;
		assert_int_equal(quota_try(core, a, k, 2, false, &err), -EBUSY);
		assert_int_equal(err.kind, (int)k);
		assert_non_null(err.msg);
		assert_int_equal(a->usage[k].quota, 4);
		quota_ok(core, a, k, 3);
		assert_int_equal(quota_try(core, a, k, 2, true, &err), 0);
		assert_int_equal(a->usage[k].quota, 2);
		assert_int_equal(a->usage[k].used, 3);
		assert_int_equal(core->kind[k].reserved, 2);
		assert_int_equal(core->kind[k].used, 3);

		for (i = 0; i < 3; i++)
			assert_int_equal(vac_core_release(core, a, k, ids[i]), 0);
		quota_ok(core, a, k, 0);
	}

	quota_ok(core, a, VAC_RES_MSR_SLOTS, 3);
	msr_get_ok(core, a, MSR_STAR);
	msr_get_ok(core, a, MSR_LSTAR);
	assert_int_equal(quota_try(core, a, VAC_RES_MSR_SLOTS, 1, false, &err),
			 -EBUSY);
	assert_int_equal(err.kind, VAC_RES_MSR_SLOTS);
	quota_force(core, a, VAC_RES_MSR_SLOTS, 1);
	assert_int_equal(a->usage[VAC_RES_MSR_SLOTS].used, 2);
}

static void test_forced_instance_allocates_nothing_until_under_quota(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	u32 id = UNTOUCHED, i;

	quota_ok(core, a, VAC_RES_VPIDS, 10);
	for (i = 1; i <= 10; i++)
		assert_int_equal(alloc_ok(core, a, VAC_RES_VPIDS), i);
	quota_force(core, a, VAC_RES_VPIDS, 5);

	assert_int_equal(vac_core_alloc(core, a, VAC_RES_VPIDS, &id), -EDQUOT);
	assert_int_equal(vac_core_alloc(core, a, VAC_RES_VPIDS, &id), -EDQUOT);
	assert_int_equal(a->usage[VAC_RES_VPIDS].failcnt, 2);
	for (i = 1; i <= 4; i++)
		assert_int_equal(vac_core_release(core, a, VAC_RES_VPIDS, i), 0);
	assert_int_equal(a->usage[VAC_RES_VPIDS].used, 6);
	assert_int_equal(vac_core_alloc(core, a, VAC_RES_VPIDS, &id), -EDQUOT);
	assert_int_equal(vac_core_release(core, a, VAC_RES_VPIDS, 5), 0);
	assert_int_equal(vac_core_alloc(core, a, VAC_RES_VPIDS, &id), -EDQUOT);
	assert_int_equal(a->usage[VAC_RES_VPIDS].failcnt, 4);
	assert_int_equal(id, UNTOUCHED);

	assert_int_equal(vac_core_release(core, a, VAC_RES_VPIDS, 6), 0);
	assert_int_equal(alloc_ok(core, a, VAC_RES_VPIDS), 1);
	assert_int_equal(vac_core_alloc(core, a, VAC_RES_VPIDS, &id), -EDQUOT);
	assert_int_equal(a->usage[VAC_RES_VPIDS].used, 5);
	assert_int_equal(a->usage[VAC_RES_VPIDS].peak, 10);
	assert_int_equal(a->usage[VAC_RES_VPIDS].failcnt, 5);
}

/* ---- IDs ---- */

static void test_alloc_returns_lowest_free_id_from_kind_first(void **state)
{
	static const struct {
		u32 kind, first;
	} cases[] = {
		{ VAC_RES_SEV_ASIDS, FIRST_SEV },
		{ VAC_RES_SEV_ES_ASIDS, FIRST_SEV_ES },
		{ VAC_RES_VPIDS, 1 },
	};
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	struct vac_core_inst *b = inst_new(core, "kvm_b", true);
	size_t c;

	for (c = 0; c < ARRAY_SIZE(cases); c++) {
		const u32 k = cases[c].kind, f = cases[c].first;

		quota_ok(core, a, k, 3);
		quota_ok(core, b, k, 2);
		assert_int_equal(alloc_ok(core, a, k), f);
		assert_int_equal(alloc_ok(core, a, k), f + 1);
		assert_int_equal(alloc_ok(core, b, k), f + 2);
		assert_int_equal(vac_core_release(core, a, k, f + 1), 0);
		assert_int_equal(alloc_ok(core, b, k), f + 1);
		assert_int_equal(alloc_ok(core, a, k), f + 3);
		assert_ptr_equal(id_owner(core, k, f), a);
		assert_ptr_equal(id_owner(core, k, f + 1), b);
		assert_ptr_equal(id_owner(core, k, f + 2), b);
		assert_ptr_equal(id_owner(core, k, f + 3), a);
		assert_null(id_owner(core, k, f + 4));
	}
}

static void test_alloc_over_quota_is_refused_and_counted(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	struct vac_core_inst *b = inst_new(core, "kvm_b", true);
	u32 id = UNTOUCHED;
	size_t n;

	for (n = 0; n < N_ID_KINDS; n++) {
		const u32 k = id_kinds[n];

		quota_ok(core, a, k, 2);
		quota_ok(core, b, k, 1);
		alloc_ok(core, a, k);
		alloc_ok(core, a, k);
		assert_int_equal(vac_core_alloc(core, a, k, &id), -EDQUOT);
		assert_int_equal(vac_core_alloc(core, a, k, &id), -EDQUOT);
		assert_int_equal(id, UNTOUCHED);
		assert_int_equal(a->usage[k].failcnt, 2);
		assert_int_equal(a->usage[k].used, 2);
		assert_int_equal(core->kind[k].used, 2);
		assert_int_equal(b->usage[k].failcnt, 0);
		alloc_ok(core, b, k);
	}
	assert_int_equal(vac_core_alloc(core, b, VAC_RES_VPIDS, &id), -EDQUOT);
	assert_int_equal(b->usage[VAC_RES_VPIDS].failcnt, 1);
	assert_int_equal(b->usage[VAC_RES_SEV_ASIDS].failcnt, 0);
}

static void test_used_and_peak_follow_allocations(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	struct vac_core_inst *b = inst_new(core, "kvm_b", true);
	const u32 k = VAC_RES_SEV_ASIDS;
	u32 x, y, z;

	quota_ok(core, a, k, 5);
	quota_ok(core, b, k, 5);
	x = alloc_ok(core, a, k);
	y = alloc_ok(core, a, k);
	z = alloc_ok(core, a, k);
	alloc_ok(core, b, k);
	assert_int_equal(vac_core_release(core, a, k, x), 0);
	assert_int_equal(vac_core_release(core, a, k, z), 0);
	assert_int_equal(a->usage[k].used, 1);
	assert_int_equal(a->usage[k].peak, 3);
	assert_int_equal(core->kind[k].used, 2);

	alloc_ok(core, a, k);
	assert_int_equal(a->usage[k].used, 2);
	assert_int_equal(a->usage[k].peak, 3);
	alloc_ok(core, a, k);
	alloc_ok(core, a, k);
	assert_int_equal(a->usage[k].used, 4);
	assert_int_equal(a->usage[k].peak, 4);
	assert_int_equal(b->usage[k].used, 1);
	assert_int_equal(b->usage[k].peak, 1);
	assert_int_equal(core->kind[k].used, 5);
	assert_int_equal(vac_core_release(core, a, k, y), 0);
	assert_int_equal(core->kind[k].used, 4);
}

static void test_release_of_id_not_held_changes_nothing(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	struct vac_core_inst *b = inst_new(core, "kvm_b", true);
	struct vac_core_usage ua, ub;
	size_t n;

	for (n = 0; n < N_ID_KINDS; n++) {
		const u32 k = id_kinds[n];
		const struct vac_kind *kd = &core->kind[k];
		u32 mine, theirs, never, i;
		u32 bad[5];

		quota_ok(core, a, k, 2);
		quota_ok(core, b, k, 2);
		mine = alloc_ok(core, a, k);
		theirs = alloc_ok(core, b, k);
		never = kd->first + kd->capacity - 1;
		bad[0] = theirs;
		bad[1] = never;
		bad[2] = kd->first - 1;
		bad[3] = kd->first + kd->capacity;
		bad[4] = UINT32_MAX;

		ua = a->usage[k];
		ub = b->usage[k];
		for (i = 0; i < ARRAY_SIZE(bad); i++)
			if (vac_core_release(core, a, k, bad[i]) != -ENOENT)
				fail_msg("%s: release of %u should be -ENOENT",
					 vac_kind_names[k], bad[i]);
		assert_memory_equal(&ua, &a->usage[k], sizeof(ua));
		assert_memory_equal(&ub, &b->usage[k], sizeof(ub));
		assert_ptr_equal(id_owner(core, k, theirs), b);
		assert_null(id_owner(core, k, never));
		assert_int_equal(core->kind[k].used, 2);

		assert_int_equal(vac_core_release(core, a, k, mine), 0);
		assert_int_equal(vac_core_release(core, a, k, mine), -ENOENT);
		assert_int_equal(a->usage[k].used, 0);
		assert_null(id_owner(core, k, mine));
	}
}

/*
 * PMU counters are what a build exposes to its guests: a registered
 * instance uses its whole quota, which follows every change, up or down,
 * without force; declared, it uses none.
 */
static void test_pmu_counters_are_a_budget(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", false);
	struct vac_core_inst *b = inst_new(core, "kvm_b", true);
	const u32 k = VAC_RES_PMU_COUNTERS;
	struct vac_err err;

	quota_ok(core, a, k, 4);
	assert_int_equal(a->usage[k].used, 0);
	assert_int_equal(vac_core_online(core, a), 0);
	assert_int_equal(a->usage[k].used, 4);
	assert_int_equal(a->usage[k].peak, 4);
	assert_int_equal(quota_try(core, a, k, 1, false, &err), 0);
	assert_int_equal(a->usage[k].used, 1);
	assert_int_equal(a->usage[k].peak, 4);
	assert_int_equal(quota_try(core, a, k, 0, false, &err), 0);
	assert_int_equal(a->usage[k].used, 0);
	quota_ok(core, b, k, test_cap[k] - 2);
	assert_int_equal(quota_try(core, a, k, 3, false, &err), -ENOSPC);
	assert_int_equal(err.code, VAC_ERR_CAPACITY);
	assert_int_equal(a->usage[k].used, 0);
	quota_ok(core, a, k, 2);
	assert_int_equal(core->kind[k].used, test_cap[k]);
	assert_int_equal(core->kind[k].reserved, test_cap[k]);
	assert_int_equal(a->usage[k].failcnt, 0);
	assert_core_consistent(core);

	vac_core_offline(core, b);
	assert_int_equal(b->usage[k].used, 0);
	assert_int_equal(b->usage[k].quota, test_cap[k] - 2);
	assert_int_equal(core->kind[k].used, 2);
	assert_core_consistent(core);
	/* A corrupt budget is found. */
	a->usage[k].used = 1;
	core->kind[k].used = 1;
	assert_int_equal(vac_core_check(core, &err), -EUCLEAN);
	assert_int_equal(err.kind, (int)k);
	a->usage[k].used = 2;
	core->kind[k].used = 2;
}

static void test_offline_instance_gets_nothing(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", false);
	u32 id = UNTOUCHED, slot = UNTOUCHED, k;
	size_t n;

	for (k = 0; k < VAC_NR_KINDS; k++)
		quota_ok(core, a, k, 2);
	for (n = 0; n < N_ID_KINDS; n++) {
		k = id_kinds[n];
		assert_int_equal(vac_core_alloc(core, a, k, &id), -ENODEV);
	}
	assert_int_equal(vac_core_msr_get(core, a, MSR_STAR, &slot), -ENODEV);
	assert_int_equal(id, UNTOUCHED);
	assert_int_equal(slot, UNTOUCHED);
	for (k = 0; k < VAC_NR_KINDS; k++) {
		assert_int_equal(a->usage[k].used, 0);
		assert_int_equal(a->usage[k].failcnt, 0);
		assert_int_equal(core->kind[k].used, 0);
	}
}

static void test_range_kinds_have_no_single_ids(void **state)
{
	static const u32 kinds[] = {
		VAC_RES_ASIDS, VAC_RES_PMU_COUNTERS, VAC_RES_MSR_SLOTS,
		VAC_NR_KINDS, UINT32_MAX,
	};
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	u32 id = UNTOUCHED;
	size_t i;

	quota_ok(core, a, VAC_RES_ASIDS, 10);
	quota_ok(core, a, VAC_RES_PMU_COUNTERS, 2);
	quota_ok(core, a, VAC_RES_MSR_SLOTS, 2);
	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		assert_int_equal(vac_core_alloc(core, a, kinds[i], &id), -EINVAL);
		assert_int_equal(vac_core_release(core, a, kinds[i], FIRST_ASID),
				 -EINVAL);
		assert_int_equal(vac_core_release(core, a, kinds[i], 0), -EINVAL);
		assert_int_equal(vac_core_quarantine(core, a, kinds[i], 0), -EINVAL);
	}
	assert_int_equal(a->usage[VAC_RES_PMU_COUNTERS].used, 2);
	assert_int_equal(a->usage[VAC_RES_PMU_COUNTERS].failcnt, 0);
	assert_int_equal(id, UNTOUCHED);
	assert_int_equal(a->usage[VAC_RES_ASIDS].used, 10);
	assert_int_equal(a->usage[VAC_RES_MSR_SLOTS].used, 0);
	assert_int_equal(a->usage[VAC_RES_ASIDS].failcnt, 0);
	assert_int_equal(a->usage[VAC_RES_MSR_SLOTS].failcnt, 0);
}

/*
 * a holds all 10 SEV ASIDs and is forced down to 2; b gets the 8 that are
 * now free by quota, but no ID is free until a releases one.
 */
static void test_alloc_fails_enospc_while_forced_instance_holds_the_ids(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	struct vac_core_inst *b = inst_new(core, "kvm_b", true);
	const u32 k = VAC_RES_SEV_ASIDS;
	struct vac_err err;
	u32 id = UNTOUCHED, i;

	quota_ok(core, a, k, 10);
	for (i = 0; i < 10; i++)
		assert_int_equal(alloc_ok(core, a, k), FIRST_SEV + i);
	assert_int_equal(quota_try(core, a, k, 2, false, &err), -EBUSY);
	quota_force(core, a, k, 2);
	quota_ok(core, b, k, 8);
	assert_int_equal(core->kind[k].reserved, 10);

	assert_int_equal(vac_core_alloc(core, b, k, &id), -ENOSPC);
	assert_int_equal(vac_core_alloc(core, b, k, &id), -ENOSPC);
	assert_int_equal(id, UNTOUCHED);
	assert_int_equal(b->usage[k].failcnt, 2);
	assert_int_equal(b->usage[k].used, 0);
	assert_int_equal(vac_core_alloc(core, a, k, &id), -EDQUOT);
	assert_int_equal(a->usage[k].failcnt, 1);

	assert_int_equal(vac_core_release(core, a, k, FIRST_SEV + 7), 0);
	assert_int_equal(alloc_ok(core, b, k), FIRST_SEV + 7);
	assert_int_equal(vac_core_alloc(core, b, k, &id), -ENOSPC);
	assert_int_equal(b->usage[k].failcnt, 3);
	assert_int_equal(core->kind[k].used, 10);
}

/* ---- online and offline ---- */

static void test_offline_releases_everything_held_but_keeps_quota(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	struct vac_core_inst *b = inst_new(core, "kvm_b", true);
	struct vac_core_usage before[VAC_NR_KINDS];
	u32 held[N_ID_KINDS][3], theirs[N_ID_KINDS];
	u32 shared, own, base, k, i;
	size_t n;

	for (k = 0; k < VAC_NR_KINDS; k++) {
		quota_ok(core, a, k, 3);
		quota_ok(core, b, k, 2);
	}
	for (n = 0; n < N_ID_KINDS; n++) {
		held[n][0] = alloc_ok(core, a, id_kinds[n]);
		theirs[n] = alloc_ok(core, b, id_kinds[n]);
		held[n][1] = alloc_ok(core, a, id_kinds[n]);
		held[n][2] = alloc_ok(core, a, id_kinds[n]);
	}
	shared = msr_get_ok(core, a, MSR_STAR);
	assert_int_equal(msr_get_ok(core, b, MSR_STAR), shared);
	own = msr_get_ok(core, a, MSR_LSTAR);
	base = a->asid_base;
	memcpy(before, a->usage, sizeof(before));

	vac_core_offline(core, a);
	assert_false(a->online);
	for (k = 0; k < VAC_NR_KINDS; k++) {
		assert_int_equal(a->usage[k].used, 0);
		assert_int_equal(a->usage[k].quota, before[k].quota);
		assert_int_equal(a->usage[k].peak, before[k].peak);
		assert_int_equal(core->kind[k].used, b->usage[k].used);
		assert_int_equal(core->kind[k].reserved, 5);
	}
	for (n = 0; n < N_ID_KINDS; n++) {
		for (i = 0; i < 3; i++)
			assert_null(id_owner(core, id_kinds[n], held[n][i]));
		assert_ptr_equal(id_owner(core, id_kinds[n], theirs[n]), b);
	}
	assert_int_equal(a->msr_mask, 0);
	assert_int_equal(core->msr_refs[shared], 1);
	assert_int_equal(core->msr[shared], MSR_STAR);
	assert_int_equal(core->msr_refs[own], 0);
	assert_int_equal(b->usage[VAC_RES_MSR_SLOTS].used, 1);
	assert_int_equal(a->asid_base, base);
	assert_int_equal(b->usage[VAC_RES_ASIDS].used, 2);
	assert_core_consistent(core);

	/* Back online, it has its share again. */
	assert_int_equal(vac_core_online(core, a), 0);
	assert_int_equal(a->usage[VAC_RES_ASIDS].used, 3);
	assert_int_equal(a->asid_base, base);
	for (n = 0; n < N_ID_KINDS; n++)
		assert_int_equal(alloc_ok(core, a, id_kinds[n]), held[n][0]);
	assert_int_equal(msr_get_ok(core, a, MSR_STAR), shared);
	assert_int_equal(core->msr_refs[shared], 2);
}

static void test_online_twice_is_ebusy(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", false);

	quota_ok(core, a, VAC_RES_ASIDS, 7);
	assert_int_equal(a->usage[VAC_RES_ASIDS].used, 0);
	assert_int_equal(vac_core_online(core, a), 0);
	assert_true(a->online);
	assert_int_equal(vac_core_online(core, a), -EBUSY);
	assert_true(a->online);
	assert_int_equal(a->usage[VAC_RES_ASIDS].used, 7);
	assert_int_equal(core->kind[VAC_RES_ASIDS].used, 7);
}

static void test_offline_of_declared_instance_changes_nothing(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", false);
	struct vac_core_inst *b = inst_new(core, "kvm_b", true);

	quota_ok(core, a, VAC_RES_ASIDS, 7);
	quota_ok(core, b, VAC_RES_ASIDS, 5);
	quota_ok(core, b, VAC_RES_VPIDS, 1);
	alloc_ok(core, b, VAC_RES_VPIDS);
	vac_core_offline(core, a);
	vac_core_offline(core, a);
	assert_false(a->online);
	assert_int_equal(core->kind[VAC_RES_ASIDS].used, 5);
	assert_int_equal(core->kind[VAC_RES_VPIDS].used, 1);
	assert_int_equal(a->usage[VAC_RES_ASIDS].quota, 7);
}

/* ---- user-return MSR slots ---- */

static void test_msr_same_msr_shares_one_slot(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	struct vac_core_inst *b = inst_new(core, "kvm_b", true);
	u32 s;

	quota_ok(core, a, VAC_RES_MSR_SLOTS, 4);
	quota_ok(core, b, VAC_RES_MSR_SLOTS, 4);
	s = msr_get_ok(core, a, MSR_TSC_AUX);
	assert_int_equal(msr_get_ok(core, b, MSR_TSC_AUX), s);
	assert_int_equal(core->msr[s], MSR_TSC_AUX);
	assert_int_equal(core->msr_refs[s], 2);
	assert_int_equal(a->msr_mask, 1U << s);
	assert_int_equal(b->msr_mask, 1U << s);
	assert_int_equal(a->usage[VAC_RES_MSR_SLOTS].used, 1);
	assert_int_equal(b->usage[VAC_RES_MSR_SLOTS].used, 1);
	assert_int_equal(core->kind[VAC_RES_MSR_SLOTS].used, 2);
}

static void test_msr_different_msrs_get_different_slots(void **state)
{
	static const u32 msrs[] = {
		MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_TSC_AUX,
	};
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	struct vac_core_inst *b = inst_new(core, "kvm_b", true);
	u32 i;

	quota_ok(core, a, VAC_RES_MSR_SLOTS, 3);
	quota_ok(core, b, VAC_RES_MSR_SLOTS, 3);
	for (i = 0; i < ARRAY_SIZE(msrs); i++) {
		assert_int_equal(msr_get_ok(core, i % 2 ? b : a, msrs[i]), i);
		assert_int_equal(core->msr[i], msrs[i]);
		assert_int_equal(core->msr_refs[i], 1);
	}
	assert_int_equal(a->msr_mask, 0x15);
	assert_int_equal(b->msr_mask, 0x0a);
}

static void test_msr_second_get_by_same_instance_is_ealready(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	u32 s, slot = UNTOUCHED;

	quota_ok(core, a, VAC_RES_MSR_SLOTS, 1);
	s = msr_get_ok(core, a, MSR_STAR);
	assert_int_equal(vac_core_msr_get(core, a, MSR_STAR, &slot), -EALREADY);
	assert_int_equal(slot, UNTOUCHED);
	assert_int_equal(core->msr_refs[s], 1);
	assert_int_equal(a->usage[VAC_RES_MSR_SLOTS].used, 1);
	assert_int_equal(a->usage[VAC_RES_MSR_SLOTS].failcnt, 0);
}

static void test_msr_slot_stays_bound_until_unbound(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	struct vac_core_inst *b = inst_new(core, "kvm_b", true);
	u32 s, t;

	quota_ok(core, a, VAC_RES_MSR_SLOTS, 3);
	quota_ok(core, b, VAC_RES_MSR_SLOTS, 3);
	s = msr_get_ok(core, a, MSR_STAR);
	assert_int_equal(msr_get_ok(core, b, MSR_STAR), s);
	t = msr_get_ok(core, b, MSR_LSTAR);
	assert_int_not_equal(s, t);

	assert_int_equal(vac_core_msr_put(core, a, MSR_LSTAR), -ENOENT);
	assert_int_equal(vac_core_msr_put(core, a, MSR_CSTAR), -ENOENT);
	assert_int_equal(vac_core_msr_put(core, a, MSR_STAR), 0);
	assert_int_equal(vac_core_msr_put(core, a, MSR_STAR), -ENOENT);
	assert_int_equal(a->usage[VAC_RES_MSR_SLOTS].used, 0);
	assert_int_equal(a->msr_mask, 0);
	assert_int_equal(core->msr_refs[s], 1);
	assert_int_equal(core->msr[s], MSR_STAR);

	/* Still bound for b: a new MSR may not take the slot. */
	assert_int_not_equal(msr_get_ok(core, a, MSR_CSTAR), s);
	assert_int_equal(vac_core_msr_put(core, b, MSR_STAR), 0);
	assert_int_equal(core->msr_refs[s], 0);
	/*
	 * Unused, the slot stays STAR's: a CPU may still hold a guest's
	 * STAR there, which another slot would read as the host's.
	 */
	assert_int_equal(msr_get_ok(core, a, MSR_TSC_AUX), 3);
	assert_int_equal(core->msr[s], MSR_STAR);
	assert_int_equal(vac_core_msr_unused(core), 1U << s);
	assert_int_equal(msr_get_ok(core, b, MSR_STAR), s);
	assert_int_equal(core->msr_refs[s], 1);
	assert_int_equal(vac_core_msr_unused(core), 0);
	/* Unbinding skips a slot that found a user again meanwhile. */
	vac_core_msr_unbind(core, 1U << s);
	assert_int_equal(core->msr[s], MSR_STAR);
	assert_int_equal(vac_core_msr_put(core, b, MSR_STAR), 0);
	/* Once every CPU gave STAR back, the slot may take another MSR. */
	vac_core_msr_unbind(core, vac_core_msr_unused(core));
	assert_int_equal(vac_core_msr_unused(core), 0);
	assert_int_equal(msr_get_ok(core, b, MSR_SYSCALL_MASK), s);
	assert_core_consistent(core);
}

/*
 * All 16 slots bound by a, forced down to 8: b's quota of 8 lets it share
 * a's MSRs but not bind a new one.
 */
static void test_msr_get_fails_enospc_when_every_slot_is_bound(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	struct vac_core_inst *b = inst_new(core, "kvm_b", true);
	u32 slot = UNTOUCHED, i;

	quota_ok(core, a, VAC_RES_MSR_SLOTS, 16);
	for (i = 0; i < 16; i++)
		assert_int_equal(msr_get_ok(core, a, 0x1000 + i), i);
	assert_int_equal(vac_core_msr_get(core, a, 0x2000, &slot), -EDQUOT);
	quota_force(core, a, VAC_RES_MSR_SLOTS, 8);
	quota_ok(core, b, VAC_RES_MSR_SLOTS, 8);

	assert_int_equal(vac_core_msr_get(core, b, 0x2000, &slot), -ENOSPC);
	assert_int_equal(slot, UNTOUCHED);
	assert_int_equal(b->usage[VAC_RES_MSR_SLOTS].failcnt, 1);
	assert_int_equal(b->usage[VAC_RES_MSR_SLOTS].used, 0);
	assert_int_equal(msr_get_ok(core, b, 0x1005), 5);
	assert_int_equal(core->msr_refs[5], 2);

	/* A slot nobody uses stays its MSR's: no room for a new one. */
	assert_int_equal(vac_core_msr_put(core, a, 0x100c), 0);
	assert_int_equal(vac_core_msr_get(core, b, 0x2000, &slot), -ENOSPC);
	assert_int_equal(msr_get_ok(core, b, 0x100c), 12);
}

static void test_msr_get_respects_quota(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	struct vac_core_inst *b = inst_new(core, "kvm_b", true);
	u32 slot = UNTOUCHED, s;

	quota_ok(core, a, VAC_RES_MSR_SLOTS, 2);
	quota_ok(core, b, VAC_RES_MSR_SLOTS, 2);
	s = msr_get_ok(core, b, MSR_TSC_AUX);
	msr_get_ok(core, a, MSR_STAR);
	msr_get_ok(core, a, MSR_LSTAR);
	assert_int_equal(vac_core_msr_get(core, a, MSR_CSTAR, &slot), -EDQUOT);
	assert_int_equal(vac_core_msr_get(core, a, MSR_TSC_AUX, &slot), -EDQUOT);
	assert_int_equal(slot, UNTOUCHED);
	assert_int_equal(a->usage[VAC_RES_MSR_SLOTS].failcnt, 2);
	assert_int_equal(a->usage[VAC_RES_MSR_SLOTS].used, 2);
	assert_int_equal(core->msr_refs[s], 1);
	assert_int_equal(msr_slot_count_bound(core), 3);
}

/* ---- capacities from the hardware and the cap_* parameters ---- */

static const int no_params[VAC_NR_KINDS] = { -1, -1, -1, -1, -1, -1 };

static void caps_ok(const struct vac_hw *hw, const int param[VAC_NR_KINDS],
		    u32 cap[VAC_NR_KINDS], u32 first[VAC_NR_KINDS],
		    bool clamped[VAC_NR_KINDS])
{
	u32 probed[VAC_NR_KINDS];
	int bad = -12345;

	assert_int_equal(vac_core_capacities(hw, param, probed, cap, first,
					     clamped, &bad), 0);
	assert_int_equal(bad, -12345);
}

/* QEMU's EPYC model under TCG: SVM with 16 ASIDs, no SEV, no counters. */
static void test_capacities_without_sev_follow_the_parameters(void **state)
{
	const struct vac_hw hw = { .nasid = 16, .count[VAC_RES_MSR_SLOTS] = 16 };
	int param[VAC_NR_KINDS] = { -1, 4, 4, 1000, -1, -1 };
	u32 cap[VAC_NR_KINDS], first[VAC_NR_KINDS], probed[VAC_NR_KINDS];
	bool clamped[VAC_NR_KINDS];
	int bad;

	caps_ok(&hw, no_params, cap, first, clamped);
	assert_int_equal(cap[VAC_RES_ASIDS], 15);
	assert_int_equal(first[VAC_RES_ASIDS], 1);
	assert_int_equal(cap[VAC_RES_VPIDS], 0);

	/* No SEV or VPIDs in the hardware: the parameters are the source. */
	caps_ok(&hw, param, cap, first, clamped);
	assert_int_equal(first[VAC_RES_SEV_ES_ASIDS], 1);
	assert_int_equal(first[VAC_RES_SEV_ASIDS], 5);
	assert_int_equal(first[VAC_RES_ASIDS], 9);
	assert_int_equal(cap[VAC_RES_ASIDS], 16 - 9);
	assert_int_equal(cap[VAC_RES_VPIDS], 1000);
	assert_false(clamped[VAC_RES_VPIDS]);
	assert_false(clamped[VAC_RES_ASIDS]);

	/* More ASIDs than the CPU has: clamped to what it has. */
	param[VAC_RES_ASIDS] = 100;
	caps_ok(&hw, param, cap, first, clamped);
	assert_int_equal(cap[VAC_RES_ASIDS], 7);
	assert_true(clamped[VAC_RES_ASIDS]);
	param[VAC_RES_ASIDS] = 4;
	caps_ok(&hw, param, cap, first, clamped);
	assert_int_equal(cap[VAC_RES_ASIDS], 4);
	assert_false(clamped[VAC_RES_ASIDS]);

	/* SEV parameters that take all of nASID leave no plain ASID. */
	param[VAC_RES_SEV_ES_ASIDS] = 3;
	param[VAC_RES_SEV_ASIDS] = 12;
	param[VAC_RES_ASIDS] = 8;
	caps_ok(&hw, param, cap, first, clamped);
	assert_int_equal(first[VAC_RES_ASIDS], 16);
	assert_int_equal(cap[VAC_RES_ASIDS], 0);
	assert_true(clamped[VAC_RES_ASIDS]);
	param[VAC_RES_SEV_ASIDS] = 20;
	caps_ok(&hw, param, cap, first, clamped);
	assert_int_equal(cap[VAC_RES_ASIDS], 0);

	/* Out of range: refused, naming the kind. */
	param[VAC_RES_MSR_SLOTS] = 17;
	assert_int_equal(vac_core_capacities(&hw, param, probed, cap, first,
					     clamped, &bad), -EINVAL);
	assert_int_equal(bad, VAC_RES_MSR_SLOTS);
	param[VAC_RES_MSR_SLOTS] = -1;
	param[VAC_RES_VPIDS] = -2;
	assert_int_equal(vac_core_capacities(&hw, param, probed, cap, first,
					     clamped, &bad), -EINVAL);
	assert_int_equal(bad, VAC_RES_VPIDS);
}

/* An SEV host: SEV-ES 1..99, SEV 100..509, 1,007 ASIDs in all. */
static void test_capacities_with_sev_keep_the_firmware_windows(void **state)
{
	const struct vac_hw hw = {
		.nasid = 1007, .min_sev = 100, .max_sev = 509, .sev_es = true,
		.count[VAC_RES_MSR_SLOTS] = 16,
	};
	int param[VAC_NR_KINDS] = { -1, -1, 50, -1, -1, -1 };
	u32 cap[VAC_NR_KINDS], first[VAC_NR_KINDS], probed[VAC_NR_KINDS];
	bool clamped[VAC_NR_KINDS];
	int bad;

	assert_int_equal(vac_core_capacities(&hw, no_params, probed, cap, first,
					     clamped, &bad), 0);
	assert_int_equal(probed[VAC_RES_SEV_ES_ASIDS], 99);
	assert_int_equal(probed[VAC_RES_SEV_ASIDS], 410);
	assert_int_equal(probed[VAC_RES_ASIDS], 497);
	assert_int_equal(first[VAC_RES_ASIDS], 510);

	/* Fewer SEV-ES ASIDs: the SEV ones still start where the firmware's do. */
	caps_ok(&hw, param, cap, first, clamped);
	assert_int_equal(cap[VAC_RES_SEV_ES_ASIDS], 50);
	assert_int_equal(first[VAC_RES_SEV_ES_ASIDS], 1);
	assert_int_equal(first[VAC_RES_SEV_ASIDS], 100);
	assert_int_equal(cap[VAC_RES_SEV_ASIDS], 410);
	assert_int_equal(first[VAC_RES_ASIDS], 510);
	/* Fewer SEV ASIDs: the plain ones stay above the SEV window. */
	param[VAC_RES_SEV_ES_ASIDS] = -1;
	param[VAC_RES_SEV_ASIDS] = 10;
	caps_ok(&hw, param, cap, first, clamped);
	assert_int_equal(cap[VAC_RES_SEV_ASIDS], 10);
	assert_int_equal(first[VAC_RES_SEV_ASIDS], 100);
	assert_int_equal(first[VAC_RES_ASIDS], 510);
	assert_int_equal(cap[VAC_RES_ASIDS], 497);
	/* More than the firmware has: clamped, both kinds. */
	param[VAC_RES_SEV_ASIDS] = 1000;
	param[VAC_RES_SEV_ES_ASIDS] = 200;
	param[VAC_RES_ASIDS] = 1000;
	caps_ok(&hw, param, cap, first, clamped);
	assert_int_equal(cap[VAC_RES_SEV_ASIDS], 410);
	assert_int_equal(cap[VAC_RES_SEV_ES_ASIDS], 99);
	assert_int_equal(cap[VAC_RES_ASIDS], 497);
	assert_true(clamped[VAC_RES_SEV_ASIDS]);
	assert_true(clamped[VAC_RES_SEV_ES_ASIDS]);
	assert_true(clamped[VAC_RES_ASIDS]);
}

/* No SVM at all (an Intel host): plain ASIDs only by parameter. */
static void test_capacities_without_svm(void **state)
{
	const struct vac_hw hw = {
		.count[VAC_RES_VPIDS] = 65535, .count[VAC_RES_PMU_COUNTERS] = 8,
		.count[VAC_RES_MSR_SLOTS] = 16,
	};
	int param[VAC_NR_KINDS] = { 5, -1, -1, 70000, 4, -1 };
	u32 cap[VAC_NR_KINDS], first[VAC_NR_KINDS], probed[VAC_NR_KINDS];
	bool clamped[VAC_NR_KINDS];
	int bad;

	caps_ok(&hw, no_params, cap, first, clamped);
	assert_int_equal(cap[VAC_RES_ASIDS], 0);
	assert_int_equal(cap[VAC_RES_VPIDS], 65535);
	assert_int_equal(vac_core_capacities(&hw, param, probed, cap, first,
					     clamped, &bad), -EINVAL);
	param[VAC_RES_VPIDS] = 100;
	caps_ok(&hw, param, cap, first, clamped);
	assert_int_equal(cap[VAC_RES_ASIDS], 5);
	assert_int_equal(first[VAC_RES_ASIDS], 1);
	assert_int_equal(cap[VAC_RES_VPIDS], 100);
	assert_int_equal(cap[VAC_RES_PMU_COUNTERS], 4);
	param[VAC_RES_PMU_COUNTERS] = 9;
	caps_ok(&hw, param, cap, first, clamped);
	assert_int_equal(cap[VAC_RES_PMU_COUNTERS], 8);
	assert_true(clamped[VAC_RES_PMU_COUNTERS]);
}

/* ---- quarantine ---- */

static void test_quarantined_id_is_nobodys_until_released(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	struct vac_core_inst *b = inst_new(core, "kvm_b", true);
	u32 id, other, mine, first;

	quota_ok(core, a, VAC_RES_SEV_ASIDS, 2);
	quota_ok(core, b, VAC_RES_SEV_ASIDS, 2);
	assert_int_equal(vac_core_alloc(core, a, VAC_RES_SEV_ASIDS, &id), 0);
	assert_int_equal(vac_core_quarantine(core, a, VAC_RES_SEV_ASIDS, id), 0);
	assert_int_equal(a->usage[VAC_RES_SEV_ASIDS].used, 0);
	assert_int_equal(core->kind[VAC_RES_SEV_ASIDS].quarantined, 1);
	assert_int_equal(core->kind[VAC_RES_SEV_ASIDS].used, 0);
	assert_int_equal(vac_core_run(core, a, VAC_RES_SEV_ASIDS, 0, &first), 0);
	assert_core_consistent(core);

	/* Nobody gets it, its old owner neither, and it cannot be freed. */
	assert_int_equal(vac_core_alloc(core, b, VAC_RES_SEV_ASIDS, &other), 0);
	assert_int_not_equal(other, id);
	assert_int_equal(vac_core_alloc(core, a, VAC_RES_SEV_ASIDS, &mine), 0);
	assert_int_not_equal(mine, id);
	assert_int_equal(vac_core_release(core, a, VAC_RES_SEV_ASIDS, mine), 0);
	assert_int_equal(vac_core_release(core, a, VAC_RES_SEV_ASIDS, id), -ENOENT);
	/* Going offline leaves it where it is. */
	vac_core_offline(core, a);
	assert_int_equal(core->kind[VAC_RES_SEV_ASIDS].quarantined, 1);
	assert_core_consistent(core);

	assert_int_equal(vac_core_release_quarantined(core, VAC_RES_SEV_ES_ASIDS), 0);
	assert_int_equal(vac_core_release_quarantined(core, VAC_RES_SEV_ASIDS), 1);
	assert_int_equal(core->kind[VAC_RES_SEV_ASIDS].quarantined, 0);
	/* The lowest free ID again: the next one handed out. */
	assert_int_equal(alloc_ok(core, b, VAC_RES_SEV_ASIDS), id);
	assert_int_equal(vac_core_release_quarantined(core, VAC_RES_SEV_ASIDS), 0);
	assert_core_consistent(core);
}

static void test_quarantine_of_id_not_held_changes_nothing(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	struct vac_core_inst *b = inst_new(core, "kvm_b", true);
	u32 id;

	quota_ok(core, a, VAC_RES_SEV_ASIDS, 1);
	assert_int_equal(vac_core_alloc(core, a, VAC_RES_SEV_ASIDS, &id), 0);
	assert_int_equal(vac_core_quarantine(core, b, VAC_RES_SEV_ASIDS, id), -ENOENT);
	assert_int_equal(vac_core_quarantine(core, a, VAC_RES_SEV_ASIDS, id + 1), -ENOENT);
	assert_int_equal(vac_core_quarantine(core, a, VAC_RES_SEV_ASIDS, 100000), -ENOENT);
	assert_int_equal(vac_core_quarantine(core, a, VAC_RES_ASIDS, 1), -EINVAL);
	assert_int_equal(a->usage[VAC_RES_SEV_ASIDS].used, 1);
	assert_int_equal(core->kind[VAC_RES_SEV_ASIDS].quarantined, 0);
	assert_core_consistent(core);
}

/* ---- ASID ranges ---- */

static void test_asid_online_instance_uses_its_whole_range(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", false);
	struct vac_core_usage *u = &a->usage[VAC_RES_ASIDS];

	assert_int_equal(asids_set(core, a, 20, false), 0);
	assert_int_equal(u->used, 0);
	assert_int_equal(vac_core_online(core, a), 0);
	assert_int_equal(u->used, 20);
	assert_int_equal(u->peak, 20);
	assert_int_equal(core->kind[VAC_RES_ASIDS].used, 20);

	assert_int_equal(asids_set(core, a, 30, false), 0);
	assert_int_equal(u->used, 30);
	assert_int_equal(asids_set(core, a, 10, false), 0);
	assert_int_equal(u->used, 10);
	assert_int_equal(u->peak, 30);
	assert_int_equal(core->kind[VAC_RES_ASIDS].used, 10);

	vac_core_offline(core, a);
	assert_int_equal(u->used, 0);
	assert_int_equal(core->kind[VAC_RES_ASIDS].used, 0);
	assert_int_equal(vac_core_online(core, a), 0);
	assert_int_equal(u->used, 10);
	assert_int_equal(core->kind[VAC_RES_ASIDS].used, 10);
}

static void test_asid_ranges_are_laid_out_from_the_first_asid(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	struct vac_core_inst *b = inst_new(core, "kvm_b", false);
	struct vac_core_inst *c = inst_new(core, "kvm_c", true);
	struct vac_core_inst *d = inst_new(core, "kvm_d", true);

	assert_int_equal(asids_set(core, a, 10, false), 0);
	assert_int_equal(asids_set(core, b, 10, false), 0);
	assert_int_equal(asids_set(core, c, 80, false), 0);
	assert_int_equal(a->asid_base, FIRST_ASID);
	assert_int_equal(b->asid_base, FIRST_ASID + 10);
	assert_int_equal(c->asid_base, FIRST_ASID + 20);
	assert_int_equal(asids_set(core, d, 1, false), -ENOSPC);
	assert_int_equal(core->kind[VAC_RES_ASIDS].used, 90);
}

static void test_asid_shrink_needs_force_only_to_zero_when_online(void **state)
{
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	struct vac_core_inst *b = inst_new(core, "kvm_b", false);
	struct vac_err err = { 0 };

	assert_int_equal(asids_set(core, a, 20, false), 0);
	assert_int_equal(asids_set(core, b, 20, false), 0);

	assert_int_equal(quota_try(core, a, VAC_RES_ASIDS, 0, false, &err),
			 -EBUSY);
	assert_int_equal(err.kind, VAC_RES_ASIDS);
	assert_non_null(err.msg);
	assert_int_equal(a->usage[VAC_RES_ASIDS].quota, 20);
	assert_int_equal(asids_set(core, a, 5, false), 0);
	assert_int_equal(a->asid_base, FIRST_ASID);
	assert_int_equal(a->usage[VAC_RES_ASIDS].used, 5);
	assert_int_equal(asids_set(core, a, 0, true), 0);
	assert_int_equal(a->usage[VAC_RES_ASIDS].used, 0);
	assert_int_equal(core->nmoves, 1);
	assert_ptr_equal(core->moves[0].inst, a);
	assert_int_equal(core->moves[0].len, 0);

	/* A declared instance uses none of its range. */
	assert_int_equal(asids_set(core, b, 0, false), 0);
	assert_int_equal(core->kind[VAC_RES_ASIDS].reserved, 0);
}

/* The four instances of an ASID case. */
enum { A, B, C, D };

struct asid_step {
	u32 inst, len;
};

/* Bases are relative to the first ASID; a range of length 0 has none. */
struct asid_want {
	u32 inst, base, len;
};

static const struct asid_case {
	const char *what;
	struct asid_step setup[6];
	u32 nsetup;
	struct asid_step change;
	struct asid_want moves[4];
	u32 nmoves;
} asid_cases[] = {
	{ "shrink keeps the base",
	  { { A, 10 }, { B, 10 }, { C, 10 } }, 3, { B, 4 },
	  { { B, 10, 4 } }, 1 },
	{ "shrink to zero",
	  { { A, 10 }, { B, 10 } }, 2, { B, 0 },
	  { { B, 0, 0 } }, 1 },
	{ "grow in place, upwards",
	  { { A, 10 }, { B, 10 } }, 2, { B, 30 },
	  { { B, 10, 30 } }, 1 },
	{ "grow in place, sliding down into the gap",
	  { { A, 10 }, { B, 10 }, { C, 10 }, { A, 5 } }, 4, { B, 15 },
	  { { B, 5, 15 } }, 1 },
	{ "move to a hole between others",
	  { { A, 10 }, { B, 10 }, { C, 30 }, { D, 10 }, { C, 0 } }, 5,
	  { A, 25 },
	  { { A, 20, 25 } }, 1 },
	{ "move to a hole that fits exactly",
	  { { A, 10 }, { B, 10 }, { C, 30 }, { D, 10 }, { C, 0 } }, 5,
	  { A, 30 },
	  { { A, 20, 30 } }, 1 },
	{ "move to the free end",
	  { { A, 10 }, { B, 10 }, { C, 10 }, { D, 10 } }, 4, { B, 20 },
	  { { B, 40, 20 } }, 1 },
	{ "a new range in the first hole",
	  { { A, 10 }, { B, 10 }, { A, 0 } }, 3, { C, 5 },
	  { { C, 0, 5 } }, 1 },
	{ "compaction, the lowest range grows",
	  { { A, 30 }, { B, 30 }, { C, 30 }, { B, 10 } }, 4, { A, 55 },
	  { { C, 70, 30 }, { B, 60, 10 }, { A, 0, 55 } }, 3 },
	{ "compaction, a middle range grows",
	  { { A, 20 }, { B, 20 }, { C, 20 }, { D, 20 }, { A, 10 }, { C, 10 } },
	  6, { B, 50 },
	  { { D, 80, 20 }, { C, 70, 10 }, { B, 20, 50 } }, 3 },
	{ "compaction, the highest range grows",
	  { { A, 20 }, { B, 20 }, { C, 20 }, { D, 20 }, { B, 10 }, { A, 10 } },
	  6, { D, 50 },
	  { { B, 10, 10 }, { C, 20, 20 }, { D, 50, 50 } }, 3 },
	{ "compaction for a new range",
	  { { A, 30 }, { B, 30 }, { C, 30 }, { B, 10 } }, 4, { D, 25 },
	  { { C, 40, 30 }, { D, 70, 25 } }, 2 },
};

/*
 * Each case lays out four online instances, changes one quota and checks
 * the moves against the expected plan; asids_set() also replays them to
 * check that no new range covers a range still in use.
 */
static void test_asid_change_moves_only_into_free_space(void **state)
{
	static const char *const names[] = { "a", "b", "c", "d" };
	struct vac_core *core = *state;
	struct vac_core_inst *inst[4];
	size_t c;
	u32 i;

	for (c = 0; c < ARRAY_SIZE(asid_cases); c++) {
		const struct asid_case *t = &asid_cases[c];

		core_reset(core, test_cap);
		for (i = 0; i < 4; i++)
			inst[i] = inst_new(core, names[i], true);
		for (i = 0; i < t->nsetup; i++)
			assert_int_equal(asids_set(core, inst[t->setup[i].inst],
						   t->setup[i].len,
						   !t->setup[i].len), 0);
		if (asids_set(core, inst[t->change.inst], t->change.len,
			      !t->change.len))
			fail_msg("%s: quota change refused", t->what);
		if (core->nmoves != t->nmoves)
			fail_msg("%s: %u moves, expected %u", t->what,
				 core->nmoves, t->nmoves);
		for (i = 0; i < t->nmoves; i++) {
			const struct asid_want *w = &t->moves[i];
			const struct vac_move *m = &core->moves[i];

			if (m->inst != inst[w->inst] || m->len != w->len ||
			    (w->len && m->base != FIRST_ASID + w->base))
				fail_msg("%s: move %u is %s to %u+%u, expected %s to %u+%u",
					 t->what, i, m->inst->name,
					 m->base - FIRST_ASID, m->len,
					 names[w->inst], w->base, w->len);
		}
		assert_core_consistent(core);
	}
}

static void test_asid_ranges_stay_disjoint_under_random_changes(void **state)
{
	static const char *const names[] = {
		"a", "b", "c", "d", "e", "f", "g", "h",
	};
	struct vac_core *core = *state;
	struct vac_core_inst *inst[8];
	struct rng rng = { 0x5eedULL };
	u32 cap = core->kind[VAC_RES_ASIDS].capacity;
	u32 step, i, compactions = 0;

	for (i = 0; i < 8; i++)
		inst[i] = inst_new(core, names[i], i % 2 == 0);

	for (step = 0; step < 20000; step++) {
		struct vac_core_inst *p = inst[rng_below(&rng, 8)];
		u32 q = p->usage[VAC_RES_ASIDS].quota;
		u32 free = cap - core->kind[VAC_RES_ASIDS].reserved + q;
		u32 len = rng_below(&rng, 4) ? rng_below(&rng, 30) : 0;
		bool force = rng_below(&rng, 2);
		int want = 0, ret;

		if (!rng_below(&rng, 20)) {
			if (p->online)
				vac_core_offline(core, p);
			else
				assert_int_equal(vac_core_online(core, p), 0);
			continue;
		}
		if (len > q && len > free)
			want = -ENOSPC;
		else if (p->online && q && !len && !force)
			want = -EBUSY;
		ret = asids_set(core, p, len, force);
		if (ret != want)
			fail_msg("step %u: %s asids %u -> %u (force %d): %d, expected %d",
				 step, p->name, q, len, force, ret, want);
		for (i = 0; i < core->nmoves; i++)
			if (core->moves[i].inst != p) {
				compactions++;
				break;
			}
		assert_core_consistent(core);
	}
	assert_true(compactions >= 100);
}

/* ---- allocation reports ---- */

struct run {
	u32 from, first, count;
};

static void assert_runs(const struct vac_core *core,
			const struct vac_core_inst *inst, u32 kind,
			const struct run *runs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		u32 first = UNTOUCHED;
		u32 got = vac_core_run(core, inst, kind, runs[i].from, &first);

		if (got != runs[i].count ||
		    (got && first != runs[i].first) || (!got && first != UNTOUCHED))
			fail_msg("%s of %s from %u: %u at %u, expected %u at %u",
				 vac_kind_names[kind], inst->name, runs[i].from,
				 got, first, runs[i].count, runs[i].first);
	}
}

static void test_run_reports_runs_of_held_ids(void **state)
{
	static const struct {
		u32 kind;
		u32 mine[8], nmine;
		u32 theirs[4], ntheirs;
		struct run runs[12];
		u32 nruns;
	} cases[] = {
		{ VAC_RES_VPIDS,
		  { 1, 2, 3, 5, 8, 9, 999, 1000 }, 8, { 4, 6 }, 2,
		  { { 0, 1, 3 }, { 1, 1, 3 }, { 2, 2, 2 }, { 3, 3, 1 },
		    { 4, 5, 1 }, { 6, 8, 2 }, { 9, 9, 1 }, { 10, 999, 2 },
		    { 1000, 1000, 1 }, { 1001, 0, 0 }, { UINT32_MAX, 0, 0 } },
		  11 },
		{ VAC_RES_SEV_ASIDS,
		  { 6, 7, 15 }, 3, { 8 }, 1,
		  { { 0, 6, 2 }, { 6, 6, 2 }, { 8, 15, 1 }, { 16, 0, 0 } }, 4 },
		{ VAC_RES_SEV_ES_ASIDS,
		  { 0 }, 0, { 1, 2 }, 2,
		  { { 0, 0, 0 }, { 1, 0, 0 } }, 2 },
	};
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	struct vac_core_inst *b = inst_new(core, "kvm_b", true);
	size_t c;
	u32 i;

	for (c = 0; c < ARRAY_SIZE(cases); c++) {
		const u32 k = cases[c].kind;
		u32 from, first, n, seen = 0;

		take_ids(core, a, k, cases[c].mine, cases[c].nmine);
		take_ids(core, b, k, cases[c].theirs, cases[c].ntheirs);
		assert_runs(core, a, k, cases[c].runs, cases[c].nruns);

		/* Resuming after each run visits every held ID once. */
		for (from = 0; (n = vac_core_run(core, a, k, from, &first));
		     from = first + n) {
			assert_true(first >= from);
			for (i = 0; i < n; i++)
				assert_int_equal(first + i,
						 cases[c].mine[seen + i]);
			seen += n;
		}
		assert_int_equal(seen, cases[c].nmine);
	}
}

static void test_run_reports_the_asid_range(void **state)
{
	static const struct run runs_a[] = {
		{ 0, FIRST_ASID, 10 }, { FIRST_ASID, FIRST_ASID, 10 },
		{ FIRST_ASID + 4, FIRST_ASID + 4, 6 },
		{ FIRST_ASID + 9, FIRST_ASID + 9, 1 },
		{ FIRST_ASID + 10, 0, 0 }, { UINT32_MAX, 0, 0 },
	};
	static const struct run runs_b[] = {
		{ 0, FIRST_ASID + 10, 5 }, { FIRST_ASID + 15, 0, 0 },
	};
	static const struct run none[] = { { 0, 0, 0 } };
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	struct vac_core_inst *b = inst_new(core, "kvm_b", true);
	struct vac_core_inst *c = inst_new(core, "kvm_c", true);

	quota_ok(core, a, VAC_RES_ASIDS, 10);
	quota_ok(core, b, VAC_RES_ASIDS, 5);
	assert_runs(core, a, VAC_RES_ASIDS, runs_a, ARRAY_SIZE(runs_a));
	assert_runs(core, b, VAC_RES_ASIDS, runs_b, ARRAY_SIZE(runs_b));
	assert_runs(core, c, VAC_RES_ASIDS, none, ARRAY_SIZE(none));
	quota_force(core, a, VAC_RES_ASIDS, 0);
	assert_runs(core, a, VAC_RES_ASIDS, none, ARRAY_SIZE(none));
}

static void test_run_reports_one_msr_slot_per_run(void **state)
{
	static const struct run runs_a[] = {
		{ 0, 0, 1 }, { 1, 2, 1 }, { 3, 3, 1 }, { 4, 0, 0 },
		{ 16, 0, 0 }, { UINT32_MAX, 0, 0 },
	};
	static const struct run runs_b[] = { { 0, 1, 1 }, { 2, 0, 0 } };
	struct vac_core *core = *state;
	struct vac_core_inst *a = inst_new(core, "kvm_a", true);
	struct vac_core_inst *b = inst_new(core, "kvm_b", true);

	quota_ok(core, a, VAC_RES_MSR_SLOTS, 3);
	quota_ok(core, b, VAC_RES_MSR_SLOTS, 1);
	assert_int_equal(msr_get_ok(core, a, MSR_STAR), 0);
	assert_int_equal(msr_get_ok(core, b, MSR_LSTAR), 1);
	assert_int_equal(msr_get_ok(core, a, MSR_CSTAR), 2);
	assert_int_equal(msr_get_ok(core, a, MSR_TSC_AUX), 3);
	assert_runs(core, a, VAC_RES_MSR_SLOTS, runs_a, ARRAY_SIZE(runs_a));
	assert_runs(core, b, VAC_RES_MSR_SLOTS, runs_b, ARRAY_SIZE(runs_b));
}

/* ---- random operations against a model ---- */

#define M_INSTS		8
#define M_STEPS		20000
#define M_MSR_BASE	0xc0010000

static const char *const m_names[M_INSTS] = {
	"kvm_a", "kvm_b", "kvm_c", "kvm_d", "kvm_e", "kvm_f", "kvm_g", "kvm_h",
};

/* What the model knows of one instance. */
struct m_inst {
	struct vac_core_inst *ci;	/* NULL while not declared */
	bool online;
	u32 quota[VAC_NR_KINDS];
	u32 used[VAC_NR_KINDS];		/* every kind but ASIDs */
	u32 peak[VAC_NR_KINDS];
	u64 failcnt[VAC_NR_KINDS];
	bool over[VAC_NR_KINDS];	/* forced below used, not back under */
	u32 msr_mask;
};

struct model {
	const char *config;
	const u32 *cap;
	u32 first[VAC_NR_KINDS];
	u32 nmsrs;			/* MSRs in play: M_MSR_BASE + 0..n-1 */
	struct m_inst inst[M_INSTS];
	int *owner[VAC_NR_KINDS];	/* ID kinds: holder of each ID, or -1 */
	bool *seen;
	u32 slot_msr[VAC_MSR_SLOTS_MAX];
	u32 slot_refs[VAC_MSR_SLOTS_MAX];
	u32 slot_bound;		/* slots bound to an MSR, for good */
	struct rng rng;
	u32 step;
	const char *op;
	int who;
	/* How often the interesting cases came up. */
	u32 forced, enospc, compactions, shared;
};

#define m_check(m, cond)						\
	do {								\
		if (!(cond))						\
			fail_msg("%s step %u, %s of %s: %s",		\
				 (m)->config, (m)->step, (m)->op,	\
				 m_names[(m)->who], #cond);		\
	} while (0)

#define m_check_eq(m, actual, expected)					\
	do {								\
		long long a_ = (long long)(actual);			\
		long long e_ = (long long)(expected);			\
		if (a_ != e_)						\
			fail_msg("%s step %u, %s of %s: %s is %lld, the model says %lld", \
				 (m)->config, (m)->step, (m)->op,	\
				 m_names[(m)->who], #actual, a_, e_);	\
	} while (0)

static void m_begin(struct model *m, const char *op, int who)
{
	m->op = op;
	m->who = who;
}

/* ASIDs and PMU counters: a registered instance uses its whole quota. */
static bool m_budget(u32 k)
{
	return k == VAC_RES_ASIDS || k == VAC_RES_PMU_COUNTERS;
}

static u32 m_used(const struct model *m, int i, u32 k)
{
	const struct m_inst *p = &m->inst[i];

	if (m_budget(k))
		return p->online ? p->quota[k] : 0;
	return p->used[k];
}

static u32 m_reserved(const struct model *m, u32 k)
{
	u32 i, sum = 0;

	for (i = 0; i < M_INSTS; i++)
		if (m->inst[i].ci)
			sum += m->inst[i].quota[k];
	return sum;
}

static u32 m_id_kind(struct model *m)
{
	return id_kinds[rng_below(&m->rng, N_ID_KINDS)];
}

/* An ID of @kind held by @holder (-2: by anybody), or UINT32_MAX. */
static u32 m_held_id(struct model *m, u32 k, int holder)
{
	u32 cap = m->cap[k], start, b, j;

	if (!cap)
		return UINT32_MAX;
	start = rng_below(&m->rng, cap);
	for (j = 0; j < cap; j++) {
		b = (start + j) % cap;
		if (m->owner[k][b] >= 0 &&
		    (holder == -2 || m->owner[k][b] == holder))
			return m->first[k] + b;
	}
	return UINT32_MAX;
}

/* Any ID from one below the kind to one above it. */
static u32 m_any_id(struct model *m, u32 k)
{
	return m->first[k] - 1 + rng_below(&m->rng, m->cap[k] + 2);
}

/* A slot stays its MSR's once bound, used or not. */
static int m_msr_slot(const struct model *m, u32 msr)
{
	u32 s;

	for (s = 0; s < m->cap[VAC_RES_MSR_SLOTS]; s++)
		if ((m->slot_bound & (1U << s)) && m->slot_msr[s] == msr)
			return s;
	return -1;
}

static void m_release_all(struct model *m, int i)
{
	struct m_inst *p = &m->inst[i];
	u32 s, b;
	size_t n;

	for (n = 0; n < N_ID_KINDS; n++) {
		const u32 k = id_kinds[n];

		for (b = 0; b < m->cap[k]; b++)
			if (m->owner[k][b] == i)
				m->owner[k][b] = -1;
		p->used[k] = 0;
	}
	for (s = 0; s < VAC_MSR_SLOTS_MAX; s++)
		if (p->msr_mask & (1U << s))
			m->slot_refs[s]--;
	p->msr_mask = 0;
	p->used[VAC_RES_MSR_SLOTS] = 0;
}

static void m_add(struct model *m, struct vac_core *core, int i)
{
	struct m_inst *p = &m->inst[i];
	struct vac_core_inst *out = NULL;
	int ret;

	m_begin(m, "add", i);
	ret = vac_core_inst_add(core, m_names[i], &out);
	if (p->ci) {
		m_check_eq(m, ret, -EEXIST);
		return;
	}
	m_check_eq(m, ret, 0);
	memset(p, 0, sizeof(*p));
	p->ci = out;
}

static void m_del(struct model *m, struct vac_core *core, int i)
{
	struct m_inst *p = &m->inst[i];
	int ret;

	m_begin(m, "del", i);
	ret = vac_core_inst_del(core, p->ci);
	m_check_eq(m, ret, p->online ? -EBUSY : 0);
	if (!ret)
		memset(p, 0, sizeof(*p));
}

static void m_online(struct model *m, struct vac_core *core, int i)
{
	struct m_inst *p = &m->inst[i];

	m_begin(m, "online", i);
	m_check_eq(m, vac_core_online(core, p->ci), p->online ? -EBUSY : 0);
	p->online = true;
}

static void m_offline(struct model *m, struct vac_core *core, int i)
{
	m_begin(m, "offline", i);
	vac_core_offline(core, m->inst[i].ci);
	m_release_all(m, i);
	m->inst[i].online = false;
}

static u32 m_quota_value(struct model *m, int i, u32 k)
{
	const struct m_inst *p = &m->inst[i];
	const u32 cap = m->cap[k];
	u32 v, used = m_used(m, i, k);

	switch (rng_below(&m->rng, 6)) {
	case 0:
		return 0;
	case 1:
		return rng_below(&m->rng, cap + 1);
	case 2:
		v = p->quota[k] + rng_below(&m->rng, 5);
		return v >= 2 ? v - 2 : 0;
	case 3:
		return cap - m_reserved(m, k) + p->quota[k];
	case 4:
		return used ? used - 1 : 0;
	default:
		return rng_below(&m->rng, cap / 4 + 1);
	}
}

static void m_quota(struct model *m, struct vac_core *core, int i)
{
	struct m_inst *p = &m->inst[i];
	u32 order[VAC_NR_KINDS], nq, j, k, t;
	struct vac_core_quota q[3];
	int fail[VAC_NR_KINDS] = { 0 };
	bool set[VAC_NR_KINDS] = { false };
	bool force = rng_below(&m->rng, 2), any_fail = false;
	int expect = 0, expect_kind = VAC_NO_KIND, ret;
	struct vac_err err = { .msg = NULL, .kind = 99 };
	struct asid_snap before;

	m_begin(m, "quota set", i);
	for (k = 0; k < VAC_NR_KINDS; k++)
		order[k] = k;
	for (k = VAC_NR_KINDS - 1; k > 0; k--) {
		j = rng_below(&m->rng, k + 1);
		t = order[k];
		order[k] = order[j];
		order[j] = t;
	}
	nq = 1 + rng_below(&m->rng, 3);
	for (j = 0; j < nq; j++) {
		q[j].kind = order[j];
		q[j].value = m_quota_value(m, i, order[j]);
	}
	switch (rng_below(&m->rng, 40)) {
	case 0:
		q[nq - 1].kind = VAC_NR_KINDS + rng_below(&m->rng, 3);
		break;
	case 1:
		q[nq - 1].kind = UINT32_MAX;
		break;
	case 2:
		if (nq > 1)
			q[nq - 1].kind = q[0].kind;
		break;
	}

	/* The request is read in order first... */
	for (j = 0; j < nq && !expect; j++) {
		k = q[j].kind;
		if (k >= VAC_NR_KINDS) {
			expect = -EINVAL;
		} else if (set[k]) {
			expect = -EINVAL;
			expect_kind = k;
		}
		if (!expect)
			set[k] = true;
	}
	/* ...then a kind that cannot take its value refuses it all. */
	for (j = 0; j < nq && !expect; j++) {
		const u32 want = q[j].value;
		bool below;

		k = q[j].kind;
		below = k == VAC_RES_ASIDS ?
			p->online && p->quota[k] && !want :
			!m_budget(k) && want < m_used(m, i, k);
		if (want > p->quota[k] &&
		    (u64)m_reserved(m, k) - p->quota[k] + want > m->cap[k])
			fail[k] = -ENOSPC;
		else if (below && !force)
			fail[k] = -EBUSY;
		any_fail |= fail[k] != 0;
	}

	asid_snap_take(core, &before);
	ret = vac_core_quota_set(core, p->ci, q, nq, force, &err);
	if (expect) {
		m_check_eq(m, ret, expect);
		m_check_eq(m, err.kind, expect_kind);
	} else if (any_fail) {
		m_check(m, err.kind >= 0 && err.kind < VAC_NR_KINDS);
		m_check(m, fail[err.kind] != 0);
		m_check_eq(m, ret, fail[err.kind]);
	} else {
		m_check_eq(m, ret, 0);
	}
	if (ret) {
		m_check(m, err.msg != NULL);
		m_check_eq(m, core->nmoves, 0);
		asid_moves_verify(core, &before);
		return;
	}

	for (j = 0; j < nq; j++) {
		k = q[j].kind;
		if (!m_budget(k) && q[j].value < m_used(m, i, k)) {
			p->over[k] = true;
			m->forced++;
		}
		p->quota[k] = q[j].value;
	}
	asid_moves_verify(core, &before);
	for (j = 0; j < core->nmoves; j++)
		if (core->moves[j].inst != p->ci) {
			m->compactions++;
			break;
		}
}

static void m_alloc(struct model *m, struct vac_core *core, int i)
{
	struct m_inst *p = &m->inst[i];
	u32 k = m_id_kind(m), id = UNTOUCHED, b = 0;
	int expect = 0, ret;

	m_begin(m, "alloc", i);
	if (!rng_below(&m->rng, 30)) {
		static const u32 no_ids[] = {
			VAC_RES_ASIDS, VAC_RES_PMU_COUNTERS, VAC_RES_MSR_SLOTS,
		};

		k = no_ids[rng_below(&m->rng, ARRAY_SIZE(no_ids))];
		expect = -EINVAL;
	} else if (!p->online) {
		expect = -ENODEV;
	} else if (p->used[k] >= p->quota[k]) {
		expect = -EDQUOT;
	} else {
		while (b < m->cap[k] && m->owner[k][b] >= 0)
			b++;
		if (b == m->cap[k]) {
			expect = -ENOSPC;
			m->enospc++;
		}
	}
	ret = vac_core_alloc(core, p->ci, k, &id);
	m_check_eq(m, ret, expect);
	if (ret) {
		m_check_eq(m, id, UNTOUCHED);
		if (ret == -EDQUOT || ret == -ENOSPC)
			p->failcnt[k]++;
		return;
	}
	m_check_eq(m, id, m->first[k] + b);
	m->owner[k][b] = i;
	p->used[k]++;
}

static void m_release(struct model *m, struct vac_core *core, int i)
{
	struct m_inst *p = &m->inst[i];
	u32 k = m_id_kind(m), id, b;
	int expect, ret;

	m_begin(m, "release", i);
	id = rng_below(&m->rng, 3) ? m_held_id(m, k, i) : UINT32_MAX;
	if (id == UINT32_MAX)
		id = m_any_id(m, k);
	b = id - m->first[k];
	if (!rng_below(&m->rng, 30)) {
		k = rng_below(&m->rng, 3);
		k = k == 0 ? VAC_RES_ASIDS : k == 1 ? VAC_RES_PMU_COUNTERS :
			     VAC_NR_KINDS;
		expect = -EINVAL;
	} else if (id >= m->first[k] && b < m->cap[k] && m->owner[k][b] == i) {
		expect = 0;
	} else {
		expect = -ENOENT;
	}
	ret = vac_core_release(core, p->ci, k, id);
	m_check_eq(m, ret, expect);
	if (ret)
		return;
	m->owner[k][b] = -1;
	p->used[k]--;
}

static void m_msr_get(struct model *m, struct vac_core *core, int i)
{
	struct m_inst *p = &m->inst[i];
	const u32 k = VAC_RES_MSR_SLOTS;
	u32 msr = M_MSR_BASE + rng_below(&m->rng, m->nmsrs), slot = UNTOUCHED;
	int s = m_msr_slot(m, msr), expect = 0, ret;

	m_begin(m, "msr get", i);
	if (s >= 0 && (p->msr_mask & (1U << s))) {
		expect = -EALREADY;
	} else if (!p->online) {
		expect = -ENODEV;
	} else if (p->used[k] >= p->quota[k]) {
		expect = -EDQUOT;
	} else if (s < 0) {
		for (s = 0; s < (int)m->cap[k] && (m->slot_bound & (1U << s)); s++)
			;
		if (s == (int)m->cap[k])
			expect = -ENOSPC;
	} else {
		m->shared++;
	}
	ret = vac_core_msr_get(core, p->ci, msr, &slot);
	m_check_eq(m, ret, expect);
	if (ret) {
		m_check_eq(m, slot, UNTOUCHED);
		if (ret == -EDQUOT || ret == -ENOSPC)
			p->failcnt[k]++;
		return;
	}
	m_check_eq(m, slot, s);
	m->slot_msr[s] = msr;
	m->slot_bound |= 1U << s;
	m->slot_refs[s]++;
	p->msr_mask |= 1U << s;
	p->used[k]++;
}

static void m_msr_put(struct model *m, struct vac_core *core, int i)
{
	struct m_inst *p = &m->inst[i];
	u32 msr = M_MSR_BASE + rng_below(&m->rng, m->nmsrs);
	int s, ret;

	m_begin(m, "msr put", i);
	if (p->msr_mask && rng_below(&m->rng, 3)) {
		s = rng_below(&m->rng, VAC_MSR_SLOTS_MAX);
		while (!(p->msr_mask & (1U << s)))
			s = (s + 1) % VAC_MSR_SLOTS_MAX;
		msr = m->slot_msr[s];
	}
	s = m_msr_slot(m, msr);
	ret = vac_core_msr_put(core, p->ci, msr);
	if (s < 0 || !(p->msr_mask & (1U << s))) {
		m_check_eq(m, ret, -ENOENT);
		return;
	}
	m_check_eq(m, ret, 0);
	m->slot_refs[s]--;
	p->msr_mask &= ~(1U << s);
	p->used[VAC_RES_MSR_SLOTS]--;
}

/* After a step: peaks follow used, and a forced kind back under quota. */
static void m_settle(struct model *m)
{
	u32 i, k, used;

	for (i = 0; i < M_INSTS; i++) {
		struct m_inst *p = &m->inst[i];

		if (!p->ci)
			continue;
		for (k = 0; k < VAC_NR_KINDS; k++) {
			used = m_used(m, i, k);
			if (used > p->peak[k])
				p->peak[k] = used;
			if (used <= p->quota[k])
				p->over[k] = false;
		}
	}
}

static void m_verify(struct model *m, struct vac_core *core)
{
	struct vac_err err = { 0 };
	u32 i, k, b, s, t, n = 0;
	int ret = vac_core_check(core, &err);

	if (ret)
		fail_msg("%s step %u, %s of %s: vac_core_check: %s (kind %d)",
			 m->config, m->step, m->op, m_names[m->who],
			 err.msg ? err.msg : "(no message)", err.kind);

	for (i = 0; i < M_INSTS; i++) {
		const struct m_inst *p = &m->inst[i];
		const struct vac_core_inst *ci = p->ci;

		m_check(m, vac_core_find(core, m_names[i]) == ci);
		if (!ci)
			continue;
		n++;
		m_check_eq(m, ci->online, p->online);
		m_check_eq(m, ci->msr_mask, p->msr_mask);
		for (k = 0; k < VAC_NR_KINDS; k++) {
			const struct vac_core_usage *u = &ci->usage[k];

			m_check_eq(m, u->quota, p->quota[k]);
			m_check_eq(m, u->used, m_used(m, i, k));
			m_check_eq(m, u->peak, p->peak[k]);
			m_check_eq(m, u->failcnt, p->failcnt[k]);
			m_check(m, u->used <= u->quota || p->over[k]);
		}
	}
	m_check_eq(m, core->ninsts, n);

	for (k = 0; k < VAC_NR_KINDS; k++) {
		u32 used = 0;

		for (i = 0; i < M_INSTS; i++)
			if (m->inst[i].ci)
				used += m_used(m, i, k);
		m_check_eq(m, core->kind[k].reserved, m_reserved(m, k));
		m_check(m, core->kind[k].reserved <= core->kind[k].capacity);
		m_check_eq(m, core->kind[k].used, used);
	}

	/* Every ID is held by the instance the model says, and only by it. */
	for (i = 0; i < N_ID_KINDS; i++) {
		const struct vac_kind *kd = &core->kind[id_kinds[i]];
		const int *owner = m->owner[id_kinds[i]];

		for (b = 0; b < kd->capacity; b++) {
			u16 want = owner[b] < 0 ? 0 :
				   m->inst[owner[b]].ci->slot + 1;

			m_check_eq(m, kd->owner[b], want);
			m_check_eq(m, test_bit(b, kd->map), owner[b] >= 0);
		}
	}

	/* One slot per MSR, bound for good. */
	m_check_eq(m, core->msr_bound, m->slot_bound);
	for (s = 0; s < m->cap[VAC_RES_MSR_SLOTS]; s++) {
		m_check_eq(m, core->msr_refs[s], m->slot_refs[s]);
		if (!(core->msr_bound & (1U << s)))
			continue;
		m_check_eq(m, core->msr[s], m->slot_msr[s]);
		for (t = s + 1; t < m->cap[VAC_RES_MSR_SLOTS]; t++)
			m_check(m, !(core->msr_bound & (1U << t)) ||
				   core->msr[t] != core->msr[s]);
	}

	asid_layout_verify(core);
}

/* The runs reported for instance @i cover exactly what the model has. */
static void m_verify_runs(struct model *m, struct vac_core *core, int i)
{
	const struct m_inst *p = &m->inst[i];
	u32 from, first, n, b, mask = 0;
	size_t j;

	if (!p->ci)
		return;
	for (j = 0; j < N_ID_KINDS; j++) {
		const u32 k = id_kinds[j];

		memset(m->seen, 0, m->cap[k] * sizeof(*m->seen));
		for (from = 0; (n = vac_core_run(core, p->ci, k, from, &first));
		     from = first + n) {
			m_check(m, first >= from);
			m_check(m, first - m->first[k] + n <= m->cap[k]);
			for (b = first - m->first[k]; b < first - m->first[k] + n; b++)
				m->seen[b] = true;
			b = first - m->first[k] + n;
			m_check(m, b == m->cap[k] || m->owner[k][b] != i);
		}
		for (b = 0; b < m->cap[k]; b++)
			m_check_eq(m, m->seen[b], m->owner[k][b] == i);
	}

	/* The range is held only while online; offline it is reserved. */
	n = vac_core_run(core, p->ci, VAC_RES_ASIDS, 0, &first);
	m_check_eq(m, n, p->online ? p->quota[VAC_RES_ASIDS] : 0);
	if (n)
		m_check_eq(m, first, p->ci->asid_base);
	/* PMU counters are a count: no IDs to report. */
	m_check_eq(m, vac_core_run(core, p->ci, VAC_RES_PMU_COUNTERS, 0, &first), 0);

	for (from = 0;
	     (n = vac_core_run(core, p->ci, VAC_RES_MSR_SLOTS, from, &first));
	     from = first + 1) {
		m_check_eq(m, n, 1);
		mask |= 1U << first;
	}
	m_check_eq(m, mask, p->msr_mask);
}

static void m_step(struct model *m, struct vac_core *core)
{
	int i = rng_below(&m->rng, M_INSTS);
	u32 r = rng_below(&m->rng, 100);

	if (!m->inst[i].ci || r < 4)
		m_add(m, core, i);
	else if (r < 6)
		m_del(m, core, i);
	else if (r < 10)
		m_online(m, core, i);
	else if (r < 13)
		m_offline(m, core, i);
	else if (r < 30)
		m_quota(m, core, i);
	else if (r < 55)
		m_alloc(m, core, i);
	else if (r < 75)
		m_release(m, core, i);
	else if (r < 88)
		m_msr_get(m, core, i);
	else
		m_msr_put(m, core, i);
	m_settle(m);
	m_verify(m, core);
	m_verify_runs(m, core, i);
}

static const struct m_config {
	const char *name;
	u32 cap[VAC_NR_KINDS];
	u32 nmsrs;
	u64 seed;
} m_configs[] = {
	{ "test capacities", {
		[VAC_RES_ASIDS]		= 100,
		[VAC_RES_SEV_ASIDS]	= 10,
		[VAC_RES_SEV_ES_ASIDS]	= 5,
		[VAC_RES_VPIDS]		= 1000,
		[VAC_RES_PMU_COUNTERS]	= 6,
		[VAC_RES_MSR_SLOTS]	= 16,
	  }, 24, 0x7ac0c0de0001ULL },
	{ "scarce capacities", {
		[VAC_RES_ASIDS]		= 20,
		[VAC_RES_SEV_ASIDS]	= 4,
		[VAC_RES_SEV_ES_ASIDS]	= 3,
		[VAC_RES_VPIDS]		= 12,
		[VAC_RES_PMU_COUNTERS]	= 4,
		[VAC_RES_MSR_SLOTS]	= 4,
	  }, 6, 0x7ac0c0de0002ULL },
};

static void test_random_operations_match_the_model(void **state)
{
	struct vac_core *core = *state;
	size_t c, n;
	u32 k;

	for (c = 0; c < ARRAY_SIZE(m_configs); c++) {
		const struct m_config *cfg = &m_configs[c];
		struct model *m = calloc(1, sizeof(*m));
		u32 maxcap = 0;

		assert_non_null(m);
		core_reset(core, cfg->cap);
		m->config = cfg->name;
		m->cap = cfg->cap;
		m->nmsrs = cfg->nmsrs;
		m->rng.s = cfg->seed;
		vac_core_layout(cfg->cap, m->first);
		for (n = 0; n < N_ID_KINDS; n++) {
			k = id_kinds[n];
			m->owner[k] = malloc((cfg->cap[k] + 1) * sizeof(int));
			assert_non_null(m->owner[k]);
			memset(m->owner[k], 0xff, (cfg->cap[k] + 1) * sizeof(int));
			if (cfg->cap[k] > maxcap)
				maxcap = cfg->cap[k];
		}
		m->seen = calloc(maxcap, sizeof(*m->seen));
		assert_non_null(m->seen);

		for (m->step = 0; m->step < M_STEPS; m->step++)
			m_step(m, core);

		/* The walk reached the cases it is there for. */
		assert_true(m->forced > 0);
		assert_true(m->compactions > 0);
		assert_true(m->shared > 0);
		if (c == 1)
			assert_true(m->enospc > 0);

		for (n = 0; n < N_ID_KINDS; n++)
			free(m->owner[id_kinds[n]]);
		free(m->seen);
		free(m);
	}
}

/* ---- main ---- */

#define core_test(f) cmocka_unit_test_setup_teardown(f, core_setup, core_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		core_test(test_name_valid_accepts_module_like_names_only),
		core_test(test_kind_parse_knows_every_kind_name_only),
		core_test(test_layout_puts_sev_es_then_sev_then_asids),
		core_test(test_init_takes_capacities_up_to_the_limit_only),
		core_test(test_zero_capacity_kind_hands_out_nothing),

		core_test(test_inst_add_then_find_by_name),
		core_test(test_inst_add_rejects_bad_or_taken_name),
		core_test(test_inst_add_refuses_more_than_max_instances),
		core_test(test_find_by_name_survives_deletes_in_any_order),
		core_test(test_check_finds_an_instance_missing_from_the_index),
		core_test(test_inst_next_walks_instances_in_slot_order),
		core_test(test_inst_del_refuses_online_instance),
		core_test(test_inst_del_returns_its_quota_to_the_pool),

		core_test(test_quota_sum_never_exceeds_capacity),
		core_test(test_quota_set_applies_several_kinds_at_once),
		core_test(test_quota_set_is_all_or_nothing),
		core_test(test_quota_below_used_needs_force),
		core_test(test_forced_instance_allocates_nothing_until_under_quota),

		core_test(test_alloc_returns_lowest_free_id_from_kind_first),
		core_test(test_alloc_over_quota_is_refused_and_counted),
		core_test(test_used_and_peak_follow_allocations),
		core_test(test_release_of_id_not_held_changes_nothing),
		cmocka_unit_test(test_capacities_without_sev_follow_the_parameters),
		cmocka_unit_test(test_capacities_with_sev_keep_the_firmware_windows),
		cmocka_unit_test(test_capacities_without_svm),
		core_test(test_quarantined_id_is_nobodys_until_released),
		core_test(test_quarantine_of_id_not_held_changes_nothing),
		core_test(test_pmu_counters_are_a_budget),
		core_test(test_offline_instance_gets_nothing),
		core_test(test_range_kinds_have_no_single_ids),
		core_test(test_alloc_fails_enospc_while_forced_instance_holds_the_ids),

		core_test(test_offline_releases_everything_held_but_keeps_quota),
		core_test(test_online_twice_is_ebusy),
		core_test(test_offline_of_declared_instance_changes_nothing),

		core_test(test_msr_same_msr_shares_one_slot),
		core_test(test_msr_different_msrs_get_different_slots),
		core_test(test_msr_second_get_by_same_instance_is_ealready),
		core_test(test_msr_slot_stays_bound_until_unbound),
		core_test(test_msr_get_fails_enospc_when_every_slot_is_bound),
		core_test(test_msr_get_respects_quota),

		core_test(test_asid_online_instance_uses_its_whole_range),
		core_test(test_asid_ranges_are_laid_out_from_the_first_asid),
		core_test(test_asid_shrink_needs_force_only_to_zero_when_online),
		core_test(test_asid_change_moves_only_into_free_space),
		core_test(test_asid_ranges_stay_disjoint_under_random_changes),

		core_test(test_run_reports_runs_of_held_ids),
		core_test(test_run_reports_the_asid_range),
		core_test(test_run_reports_one_msr_slot_per_run),

		core_test(test_random_operations_match_the_model),
	};

	return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
