// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * VM tier: libvac, the C client, against the real vac.ko.  Every call of
 * the library is used as an agent would use it.  Every test starts from a
 * fresh vac.ko and ends with its debugfs self-check and the modules
 * unloaded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <cmocka.h>
#include <linux/capability.h>

#include "vt.h"

/* Capacities used by most tests: SEV counts by parameter, as QEMU has none. */
#define VAC_PARAMS "cap_sev_asids=4 cap_sev_es_asids=4 cap_vpids=1000 cap_pmu_counters=6"

/*
 * Byte offsets in a request, as the kernel reports a bad attribute:
 * nlmsghdr (16) and genlmsghdr (4), then the attributes.  A name of up to
 * 7 characters takes 12 bytes; a usage nest of kind and quota takes 20.
 */
#define OFF_FIRST_ATTR	20
#define OFF_USAGE(i)	(OFF_FIRST_ATTR + 12 + 20 * (i))

#define MSR_KERNEL_GS_BASE	0xc0000102

static struct vac *h;

static int setup(void **state)
{
	vt_unload_all();
	assert_int_equal(vt_load_vac(VAC_PARAMS), 0);
	assert_int_equal(vac_open(&h), 0);
	return 0;
}

static int teardown(void **state)
{
	int ret;

	h = vac_close(h);
	assert_int_equal(vt_vac_check(), 0);
	ret = vt_rmmod("vac_test");
	assert_true(ret == 0 || ret == -ENOENT);
	assert_int_equal(vt_rmmod("vac"), 0);
	return 0;
}

static void reload_vac(const char *params)
{
	h = vac_close(h);
	assert_int_equal(vt_rmmod("vac"), 0);
	assert_int_equal(vt_load_vac(params), 0);
	assert_int_equal(vac_open(&h), 0);
}

static int set_quota(const char *name, enum vac_res kind, uint32_t quota,
		     bool force)
{
	const struct vac_quota q = { kind, quota };

	return vac_quota_set(h, name, &q, 1, force);
}

static struct vac_instance_info get(const char *name)
{
	struct vac_instance_info in;

	if (vac_instance_get(h, name, &in))
		fail_msg("instance_get %s: %s", name, vac_errmsg(h));
	return in;
}

static void assert_same_instance(const struct vac_instance_info *a,
				 const struct vac_instance_info *b)
{
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->module, b->module);
	assert_int_equal(a->state, b->state);
	for (int k = 0; k < VAC_NR_RESOURCES; k++) {
		const struct vac_usage *x = &a->usage[k], *y = &b->usage[k];

		assert_int_equal(x->quota, y->quota);
		assert_int_equal(x->used, y->used);
		assert_int_equal(x->peak, y->peak);
		assert_int_equal(x->failcnt, y->failcnt);
		assert_int_equal(x->has_base, y->has_base);
		assert_int_equal(x->base, y->base);
	}
}

static pid_t spawn(int (*fn)(void))
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	return pid;
}

static void assert_exits_zero(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- connecting ---- */

static void open_fails_with_enoent_without_vac_ko(void **state)
{
	struct vac *const sentinel = (struct vac *)&sentinel;
	struct vac *out = sentinel;

	h = vac_close(h);
	assert_null(h);
	assert_null(vac_close(NULL));
	assert_int_equal(vt_rmmod("vac"), 0);

	assert_int_equal(vac_open(&out), -ENOENT);
	assert_ptr_equal(out, sentinel);
	assert_int_equal(vac_monitor_open(&out), -ENOENT);
	assert_ptr_equal(out, sentinel);

	assert_int_equal(vt_load_vac(VAC_PARAMS), 0);
	assert_int_equal(vac_open(&h), 0);
	assert_true(vac_fd(h) >= 0);
	assert_string_equal(vac_errmsg(h), "");
	assert_string_equal(vac_errmsg(NULL), "");
}

/*
 * vac.ko unloaded and loaded again under an open handle: the family has a
 * new ID, so every call on the old handle fails with a bare -ENOENT (no
 * reason from vac) until it is closed and opened again.
 */
static void a_handle_across_a_reload_fails_until_reopened(void **state)
{
	struct vac_resource_info r;

	assert_int_equal(vac_resource_get(h, VAC_RES_ASIDS, &r), 0);
	assert_int_equal(vt_rmmod("vac"), 0);
	assert_int_equal(vac_resource_get(h, VAC_RES_ASIDS, &r), -ENOENT);
	assert_string_equal(vac_errmsg(h), "");
	assert_int_equal(vt_load_vac(VAC_PARAMS), 0);
	assert_int_equal(vac_resource_get(h, VAC_RES_ASIDS, &r), -ENOENT);
	assert_string_equal(vac_errmsg(h), "");
	assert_int_equal(vac_instance_declare(h, "kvm_a"), -ENOENT);

	h = vac_close(h);
	assert_int_equal(vac_open(&h), 0);
	assert_int_equal(vac_resource_get(h, VAC_RES_ASIDS, &r), 0);
	assert_int_equal(vac_instance_declare(h, "kvm_a"), 0);
}

/* ---- resources ---- */

static const struct {
	const char *name;
	uint32_t capacity, first;
	bool overridden;
} resource_want[VAC_NR_RESOURCES] = {
	/* QEMU -cpu EPYC: 16 ASIDs; SEV-ES 1..4 and SEV 5..8 come first. */
	[VAC_RES_ASIDS]		= { "asids", 16 - 9, 9, false },
	[VAC_RES_SEV_ASIDS]	= { "sev_asids", 4, 5, true },
	[VAC_RES_SEV_ES_ASIDS]	= { "sev_es_asids", 4, 1, true },
	[VAC_RES_VPIDS]		= { "vpids", 1000, 1, true },
	[VAC_RES_PMU_COUNTERS]	= { "pmu_counters", 6, 0, true },
	[VAC_RES_MSR_SLOTS]	= { "msr_slots", 16, 0, false },
};

struct resource_list {
	struct vac_resource_info r[VAC_NR_RESOURCES + 2];
	int n, stop_at;
};

static int collect_resource(const struct vac_resource_info *r, void *arg)
{
	struct resource_list *l = arg;

	if (l->n < VAC_NR_RESOURCES + 2)
		l->r[l->n] = *r;
	return ++l->n == l->stop_at ? 42 : 0;
}

static void resource_dump_lists_all_kinds_in_order(void **state)
{
	const struct vac_quota q[] = { { VAC_RES_VPIDS, 10 }, { VAC_RES_SEV_ASIDS, 1 } };
	struct resource_list all = { .stop_at = -1 };
	struct vac_resource_info one;

	assert_int_equal(vac_instance_declare(h, "kvm_a"), 0);
	assert_int_equal(vac_quota_set(h, "kvm_a", q, 2, false), 0);

	assert_int_equal(vac_resource_dump(h, collect_resource, &all), 0);
	assert_int_equal(all.n, VAC_NR_RESOURCES);
	for (int k = 0; k < VAC_NR_RESOURCES; k++) {
		const struct vac_resource_info *r = &all.r[k];

		assert_int_equal(r->kind, k);
		assert_string_equal(vac_resource_name(k), resource_want[k].name);
		assert_int_equal(vac_resource_parse(resource_want[k].name), k);
		assert_int_equal(r->capacity, resource_want[k].capacity);
		assert_int_equal(r->first, resource_want[k].first);
		assert_int_equal(r->overridden, resource_want[k].overridden);
		assert_int_equal(r->reserved, k == VAC_RES_VPIDS ? 10 :
					      k == VAC_RES_SEV_ASIDS ? 1 : 0);
		assert_int_equal(r->used, 0);

		/* The do and the dump give the same object. */
		assert_int_equal(vac_resource_get(h, k, &one), 0);
		assert_int_equal(one.kind, r->kind);
		assert_int_equal(one.probed, r->probed);
		assert_int_equal(one.capacity, r->capacity);
		assert_int_equal(one.first, r->first);
		assert_int_equal(one.reserved, r->reserved);
		assert_int_equal(one.used, r->used);
		assert_int_equal(one.overridden, r->overridden);
	}
	assert_int_equal(all.r[VAC_RES_MSR_SLOTS].probed, 16);
	assert_int_equal(all.r[VAC_RES_ASIDS].probed, 15);
}

static void resource_names_parse_back_and_reject_unknown(void **state)
{
	static const char *const bad[] = {
		"", "ASIDS", "sev-asids", "vpid", "vpids ", "msr_slots=1",
	};

	for (int k = 0; k < VAC_NR_RESOURCES; k++)
		assert_int_equal(vac_resource_parse(vac_resource_name(k)), k);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(vac_resource_parse(bad[i]), -EINVAL);
	assert_null(vac_resource_name(VAC_NR_RESOURCES));
	assert_null(vac_resource_name((enum vac_res)-1));
}

static void resource_get_of_unknown_kind_points_at_it(void **state)
{
	struct vac_resource_info r = { .capacity = 12345 };

	assert_int_equal(vac_resource_get(h, VAC_NR_RESOURCES, &r), -ERANGE);
	assert_string_not_equal(vac_errmsg(h), "");
	assert_int_equal(vac_err_offset(h), OFF_FIRST_ATTR);
	assert_int_equal(r.capacity, 12345);	/* not overwritten */
	/* The next call starts clean. */
	assert_int_equal(vac_resource_get(h, VAC_RES_VPIDS, &r), 0);
	assert_string_equal(vac_errmsg(h), "");
	assert_int_equal(vac_err_offset(h), -1);
	assert_int_equal(vac_err_missing(h), -1);
}

static void resource_dump_stops_when_callback_returns_nonzero(void **state)
{
	struct resource_list part = { .stop_at = 2 };
	struct vac_resource_info r;

	assert_int_equal(vac_resource_dump(h, collect_resource, &part), 42);
	assert_int_equal(part.n, 2);
	/* The rest of the dump was drained: the handle is in step. */
	assert_int_equal(vac_resource_get(h, VAC_RES_MSR_SLOTS, &r), 0);
	assert_int_equal(r.kind, VAC_RES_MSR_SLOTS);
	assert_int_equal(r.capacity, 16);
}

/* ---- instances ---- */

static void instance_declare_get_delete(void **state)
{
	struct vac_instance_info in;

	assert_int_equal(vac_instance_declare(h, "kvm_b"), 0);
	in = get("kvm_b");
	assert_string_equal(in.name, "kvm_b");
	assert_string_equal(in.module, "");
	assert_int_equal(in.state, VAC_INSTANCE_STATE_DECLARED);
	for (int k = 0; k < VAC_NR_RESOURCES; k++) {
		assert_int_equal(in.usage[k].quota, 0);
		assert_int_equal(in.usage[k].used, 0);
		assert_false(in.usage[k].has_base);
	}
	assert_int_equal(vac_instance_delete(h, "kvm_b"), 0);
	assert_string_equal(vac_errmsg(h), "");

	memset(&in, 0x5a, sizeof(in));
	assert_int_equal(vac_instance_get(h, "kvm_b", &in), -ENOENT);
	assert_string_equal(vac_errmsg(h), "no such instance");
	assert_int_equal(vac_err_offset(h), OFF_FIRST_ATTR);
	assert_int_equal((unsigned char)in.name[0], 0x5a);	/* not overwritten */
	assert_int_equal(vac_instance_delete(h, "kvm_b"), -ENOENT);
	assert_string_equal(vac_errmsg(h), "no such instance");
}

static void instance_declare_rejects_duplicates_and_bad_names(void **state)
{
	static const char *const bad[] = { "KVM-B", "kvm b", "kvm.b", "" };
	char longest[VAC_NAME_LEN];

	assert_int_equal(vac_instance_declare(h, "kvm_b"), 0);
	assert_int_equal(vac_instance_declare(h, "kvm_b"), -EEXIST);
	assert_string_equal(vac_errmsg(h), "instance exists");
	assert_int_equal(vac_err_offset(h), OFF_FIRST_ATTR);
	assert_int_equal(vac_err_missing(h), -1);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(vac_name_ok(bad[i]));
		assert_int_equal(vac_instance_declare(h, bad[i]), -EINVAL);
		assert_string_equal(vac_errmsg(h),
				    "instance name must match [a-z0-9_]{1,31}");
	}

	memset(longest, 'a', sizeof(longest));
	longest[VAC_NAME_LEN - 1] = 0;
	assert_true(vac_name_ok(longest));
	assert_int_equal(vac_instance_declare(h, longest), 0);
	assert_string_equal(get(longest).name, longest);
	/* One more character is refused by the attribute policy. */
	{
		char too_long[VAC_NAME_LEN + 1];

		memset(too_long, 'a', VAC_NAME_LEN);
		too_long[VAC_NAME_LEN] = 0;
		assert_false(vac_name_ok(too_long));
		assert_int_equal(vac_instance_declare(h, too_long), -EINVAL);
		assert_string_not_equal(vac_errmsg(h), "");
		assert_int_equal(vac_err_offset(h), OFF_FIRST_ATTR);
	}
	assert_int_equal(vac_instance_delete(h, longest), 0);
}

struct seen {
	bool seen[1000];
	int n, dup, other, stop_at;
	uint32_t vpids_of_last;
};

static int mark_seen(const struct vac_instance_info *in, void *arg)
{
	struct seen *s = arg;
	int idx;

	s->n++;
	if (sscanf(in->name, "inst_%d", &idx) != 1 || idx < 0 || idx >= 1000)
		s->other++;
	else if (s->seen[idx])
		s->dup++;
	else
		s->seen[idx] = true;
	if (!strcmp(in->name, "inst_0999"))
		s->vpids_of_last = in->usage[VAC_RES_VPIDS].quota;
	return s->n == s->stop_at ? 77 : 0;
}

static void instance_dump_of_1000_sees_each_once(void **state)
{
	static struct seen all, part;
	char name[VAC_NAME_LEN];

	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "inst_%04d", i);
		assert_int_equal(vac_instance_declare(h, name), 0);
	}
	assert_int_equal(set_quota("inst_0999", VAC_RES_VPIDS, 7, false), 0);

	/* About 330 bytes each: far more than one dump message (32 KiB). */
	memset(&all, 0, sizeof(all));
	all.stop_at = -1;
	assert_int_equal(vac_instance_dump(h, mark_seen, &all), 0);
	assert_int_equal(all.n, 1000);
	assert_int_equal(all.dup, 0);
	assert_int_equal(all.other, 0);
	for (int i = 0; i < 1000; i++)
		assert_true(all.seen[i]);
	assert_int_equal(all.vpids_of_last, 7);

	/* Stopped in the first message: the rest is drained, not mixed
	 * into the next reply. */
	memset(&part, 0, sizeof(part));
	part.stop_at = 10;
	assert_int_equal(vac_instance_dump(h, mark_seen, &part), 77);
	assert_int_equal(part.n, 10);
	assert_int_equal(get("inst_0999").usage[VAC_RES_VPIDS].quota, 7);
	memset(&all, 0, sizeof(all));
	all.stop_at = -1;
	assert_int_equal(vac_instance_dump(h, mark_seen, &all), 0);
	assert_int_equal(all.n, 1000);
}

/* ---- quotas ---- */

static void quota_set_applies_several_kinds_or_none(void **state)
{
	const struct vac_quota all[] = {
		{ VAC_RES_ASIDS, 4 }, { VAC_RES_SEV_ASIDS, 2 },
		{ VAC_RES_SEV_ES_ASIDS, 1 }, { VAC_RES_VPIDS, 100 },
		{ VAC_RES_PMU_COUNTERS, 2 }, { VAC_RES_MSR_SLOTS, 3 },
	};
	/* vpids would fit, sev_asids (the second) would not */
	const struct vac_quota too_much[] = {
		{ VAC_RES_VPIDS, 50 }, { VAC_RES_SEV_ASIDS, 5 },
	};
	const struct vac_quota twice[] = {
		{ VAC_RES_VPIDS, 50 }, { VAC_RES_VPIDS, 60 },
	};
	const struct vac_quota unknown_kind[] = {
		{ VAC_RES_VPIDS, 50 }, { (enum vac_res)VAC_NR_RESOURCES, 1 },
	};
	struct vac_instance_info before, after;
	struct vac_resource_info r;

	assert_int_equal(vac_instance_declare(h, "kvm_a"), 0);
	assert_int_equal(vac_quota_set(h, "kvm_a", all, 6, false), 0);
	before = get("kvm_a");
	for (int i = 0; i < 6; i++) {
		assert_int_equal(before.usage[all[i].kind].quota, all[i].quota);
		assert_int_equal(before.usage[all[i].kind].has_base,
				 all[i].kind == VAC_RES_ASIDS);
		assert_int_equal(vac_resource_get(h, all[i].kind, &r), 0);
		assert_int_equal(r.reserved, all[i].quota);
	}
	assert_true(before.usage[VAC_RES_ASIDS].base >= 9);
	assert_true(before.usage[VAC_RES_ASIDS].base + 4 <= 16);

	assert_int_equal(vac_quota_set(h, "kvm_a", too_much, 2, false), -ENOSPC);
	assert_string_equal(vac_errmsg(h),
			    "quota exceeds the free capacity of the resource");
	assert_int_equal(vac_err_offset(h), OFF_USAGE(1));
	after = get("kvm_a");
	assert_same_instance(&before, &after);

	assert_int_equal(vac_quota_set(h, "kvm_a", twice, 2, false), -EINVAL);
	assert_string_equal(vac_errmsg(h), "resource kind given twice");
	assert_int_equal(vac_quota_set(h, "kvm_a", unknown_kind, 2, false), -ERANGE);
	assert_string_not_equal(vac_errmsg(h), "");
	assert_int_equal(vac_err_offset(h), OFF_USAGE(1) + 4);	/* its kind */
	assert_int_equal(vac_quota_set(h, "kvm_a", all, 0, false), -EINVAL);
	assert_string_equal(vac_errmsg(h), "no VAC_A_INST_USAGE quota given");
	assert_int_equal(vac_err_missing(h), VAC_A_INST_USAGE);
	assert_int_equal(vac_quota_set(h, "nobody", all, 6, false), -ENOENT);
	assert_string_equal(vac_errmsg(h), "no such instance");
	after = get("kvm_a");
	assert_same_instance(&before, &after);

	/* The sum of quotas of a kind stays within its capacity. */
	assert_int_equal(vac_instance_declare(h, "kvm_b"), 0);
	assert_int_equal(set_quota("kvm_b", VAC_RES_VPIDS, 901, false), -ENOSPC);
	assert_int_equal(set_quota("kvm_b", VAC_RES_VPIDS, 900, false), 0);
	assert_int_equal(vac_resource_get(h, VAC_RES_VPIDS, &r), 0);
	assert_int_equal(r.reserved, 1000);
}

static void quota_below_usage_refused_unless_forced(void **state)
{
	struct vac_instance_info before, in;

	assert_int_equal(vt_load_test("instances=kvm_a"), 0);
	assert_int_equal(set_quota("kvm_a", VAC_RES_VPIDS, 8, false), 0);
	assert_int_equal(vt_ctl(NULL, 0, "alloc kvm_a vpids 8"), 0);
	before = get("kvm_a");
	assert_int_equal(before.state, VAC_INSTANCE_STATE_ONLINE);
	assert_string_equal(before.module, "vac_test");

	assert_int_equal(set_quota("kvm_a", VAC_RES_VPIDS, 4, false), -EBUSY);
	assert_string_equal(vac_errmsg(h),
			    "quota below current usage (force to override)");
	assert_int_equal(vac_err_offset(h), OFF_USAGE(0));
	in = get("kvm_a");
	assert_same_instance(&before, &in);

	assert_int_equal(set_quota("kvm_a", VAC_RES_VPIDS, 4, true), 0);
	in = get("kvm_a");
	assert_int_equal(in.usage[VAC_RES_VPIDS].quota, 4);
	assert_int_equal(in.usage[VAC_RES_VPIDS].used, 8);
	assert_int_equal(vt_ctl(NULL, 0, "alloc kvm_a vpids 1"), -EDQUOT);
	assert_int_equal(get("kvm_a").usage[VAC_RES_VPIDS].failcnt, 1);
}

/* ---- allocations ---- */

struct runs {
	struct vac_alloc_run r[16];
	int n, stop_at;
	uint64_t total, sum_first;
	bool in_order;
	uint32_t next_kind, next_first;
};

static int collect_run(const struct vac_alloc_run *run, void *arg)
{
	struct runs *rs = arg;

	if (rs->n < 16)
		rs->r[rs->n] = *run;
	rs->n++;
	rs->total += run->count;
	rs->sum_first += run->first;
	if (run->kind < rs->next_kind ||
	    (run->kind == rs->next_kind && run->first < rs->next_first))
		rs->in_order = false;
	rs->next_kind = run->kind;
	rs->next_first = run->first + run->count;
	return rs->n == rs->stop_at ? 3 : 0;
}

static void assert_run(const struct vac_alloc_run *r, enum vac_res kind,
		       uint32_t first, uint32_t count, uint32_t msr)
{
	if (r->kind != kind || r->first != first || r->count != count || r->msr != msr)
		fail_msg("run %s %u+%u msr %#x, want %s %u+%u msr %#x",
			 vac_resource_name(r->kind), r->first, r->count, r->msr,
			 vac_resource_name(kind), first, count, msr);
}

static void alloc_dump_lists_runs_and_msr_slot(void **state)
{
	const struct vac_quota qa[] = {
		{ VAC_RES_ASIDS, 3 }, { VAC_RES_SEV_ASIDS, 2 }, { VAC_RES_VPIDS, 10 },
		{ VAC_RES_PMU_COUNTERS, 2 }, { VAC_RES_MSR_SLOTS, 2 },
	};
	struct runs a = { .stop_at = -1, .in_order = true };
	struct runs b = { .stop_at = -1, .in_order = true };
	struct runs part = { .stop_at = 2, .in_order = true };
	struct vac_instance_info in;
	char out[64];

	assert_int_equal(vt_load_test("instances=kvm_a,kvm_b"), 0);
	assert_int_equal(vac_quota_set(h, "kvm_a", qa, 5, false), 0);
	assert_int_equal(set_quota("kvm_b", VAC_RES_VPIDS, 10, false), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "alloc kvm_a vpids 4"), 0);
	assert_string_equal(out, "1 2 3 4 ");
	assert_int_equal(vt_ctl(NULL, 0, "alloc kvm_b vpids 2"), 0);	/* 5-6 */
	assert_int_equal(vt_ctl(NULL, 0, "alloc kvm_a vpids 2"), 0);	/* 7-8 */
	assert_int_equal(vt_ctl(NULL, 0, "free kvm_a vpids 2"), 0);
	assert_int_equal(vt_ctl(out, sizeof(out), "alloc kvm_a sev_asids 2"), 0);
	assert_string_equal(out, "5 6 ");
	assert_int_equal(vt_ctl(out, sizeof(out), "msr_get kvm_a %#x", MSR_KERNEL_GS_BASE), 0);
	assert_string_equal(out, "0\n");
	in = get("kvm_a");

	assert_int_equal(vac_alloc_dump(h, "kvm_a", collect_run, &a), 0);
	assert_int_equal(a.n, 6);
	assert_run(&a.r[0], VAC_RES_ASIDS, in.usage[VAC_RES_ASIDS].base, 3, 0);
	assert_run(&a.r[1], VAC_RES_SEV_ASIDS, 5, 2, 0);
	assert_run(&a.r[2], VAC_RES_VPIDS, 1, 1, 0);
	assert_run(&a.r[3], VAC_RES_VPIDS, 3, 2, 0);
	assert_run(&a.r[4], VAC_RES_VPIDS, 7, 2, 0);
	assert_run(&a.r[5], VAC_RES_MSR_SLOTS, 0, 1, MSR_KERNEL_GS_BASE);
	/*
	 * The runs add up to what the instance reports as used; PMU
	 * counters are a count its guests see, with no IDs to list.
	 */
	assert_int_equal(in.usage[VAC_RES_VPIDS].used, 5);
	assert_int_equal(in.usage[VAC_RES_SEV_ASIDS].used, 2);
	assert_int_equal(in.usage[VAC_RES_PMU_COUNTERS].used, 2);
	assert_int_equal(in.usage[VAC_RES_MSR_SLOTS].used, 1);

	assert_int_equal(vac_alloc_dump(h, "kvm_b", collect_run, &b), 0);
	assert_int_equal(b.n, 1);
	assert_run(&b.r[0], VAC_RES_VPIDS, 5, 2, 0);

	assert_int_equal(vac_alloc_dump(h, "kvm_a", collect_run, &part), 3);
	assert_int_equal(part.n, 2);
	assert_int_equal(get("kvm_b").usage[VAC_RES_VPIDS].used, 2);

	assert_int_equal(vac_alloc_dump(h, "nobody", collect_run, &b), -ENOENT);
	assert_string_equal(vac_errmsg(h), "no such instance");
	assert_int_equal(b.n, 1);
}

static void alloc_dump_of_5000_runs_resumes(void **state)
{
	struct runs rs = { .stop_at = -1, .in_order = true };

	reload_vac("cap_vpids=10000");
	assert_int_equal(vt_load_test("instances=kvm_a"), 0);
	assert_int_equal(set_quota("kvm_a", VAC_RES_VPIDS, 10000, false), 0);
	assert_int_equal(vt_ctl(NULL, 0, "alloc kvm_a vpids 10000"), 0);
	for (int id = 2; id <= 10000; id += 2)
		assert_int_equal(vt_ctl(NULL, 0, "free kvm_a vpids %d", id), 0);

	/* 5000 runs of one VPID, 28 bytes each: several dump messages. */
	assert_int_equal(vac_alloc_dump(h, "kvm_a", collect_run, &rs), 0);
	assert_int_equal(rs.n, 5000);
	assert_int_equal(rs.total, 5000);
	assert_true(rs.in_order);
	assert_int_equal(rs.sum_first, 5000ull * 5000);	/* 1 + 3 + ... + 9999 */
	for (int i = 0; i < 16; i++)
		assert_run(&rs.r[i], VAC_RES_VPIDS, 1 + 2 * i, 1, 0);
}

/* ---- raw requests ---- */

struct raw {
	unsigned char b[256];
	size_t len;
};

static size_t raw_put(struct raw *r, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)(r->b + r->len);
	size_t at = r->len;

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy(r->b + r->len + NLA_HDRLEN, data, len);
	memset(r->b + r->len + NLA_HDRLEN + len, 0, NLA_ALIGN(len) - len);
	r->len += NLA_HDRLEN + NLA_ALIGN(len);
	return at;
}

static void raw_u32(struct raw *r, uint16_t type, uint32_t v)
{
	raw_put(r, type, &v, sizeof(v));
}

static void raw_str(struct raw *r, uint16_t type, const char *s)
{
	raw_put(r, type, s, strlen(s) + 1);
}

static size_t raw_nest_start(struct raw *r, uint16_t type)
{
	return raw_put(r, type | NLA_F_NESTED, NULL, 0);
}

static void raw_nest_end(struct raw *r, size_t at)
{
	((struct nlattr *)(r->b + at))->nla_len = r->len - at;
}

static void send_raw_passes_attributes_and_rejections(void **state)
{
	struct vac_instance_info before, after;
	struct vac_resource_info res_before, res_after;
	struct raw r;
	size_t nest;
	uint8_t u8 = VAC_RES_VPIDS;

	assert_int_equal(vac_instance_declare(h, "kvm_a"), 0);

	/* A well-formed request sent raw does what the typed call does. */
	r.len = 0;
	raw_str(&r, VAC_A_INST_NAME, "kvm_a");
	nest = raw_nest_start(&r, VAC_A_INST_USAGE);
	raw_u32(&r, VAC_A_USAGE_KIND, VAC_RES_VPIDS);
	raw_u32(&r, VAC_A_USAGE_QUOTA, 9);
	raw_nest_end(&r, nest);
	assert_int_equal(vac_send_raw(h, VAC_CMD_QUOTA_SET, 0, r.b, r.len), 0);
	before = get("kvm_a");
	assert_int_equal(before.usage[VAC_RES_VPIDS].quota, 9);
	assert_int_equal(vac_resource_get(h, VAC_RES_VPIDS, &res_before), 0);

	/* A usage without its quota: the missing attribute is named. */
	r.len = 0;
	raw_str(&r, VAC_A_INST_NAME, "kvm_a");
	nest = raw_nest_start(&r, VAC_A_INST_USAGE);
	raw_u32(&r, VAC_A_USAGE_KIND, VAC_RES_VPIDS);
	raw_nest_end(&r, nest);
	assert_int_equal(vac_send_raw(h, VAC_CMD_QUOTA_SET, 0, r.b, r.len), -EINVAL);
	assert_string_equal(vac_errmsg(h), "missing attribute VAC_A_USAGE_QUOTA");
	assert_int_equal(vac_err_missing(h), VAC_A_USAGE_QUOTA);

	/* No name at all. */
	assert_int_equal(vac_send_raw(h, VAC_CMD_INSTANCE_NEW, 0, NULL, 0), -EINVAL);
	assert_string_equal(vac_errmsg(h), "missing attribute VAC_A_INST_NAME");
	assert_int_equal(vac_err_missing(h), VAC_A_INST_NAME);
	assert_int_equal(vac_err_offset(h), -1);

	/* A u8 where a u32 belongs. */
	r.len = 0;
	raw_put(&r, VAC_A_RES_KIND, &u8, 1);
	assert_int_equal(vac_send_raw(h, VAC_CMD_RESOURCE_GET, 0, r.b, r.len), -EINVAL);
	assert_string_not_equal(vac_errmsg(h), "");
	assert_int_equal(vac_err_offset(h), OFF_FIRST_ATTR);

	/* An attribute the family does not know, after a good one. */
	r.len = 0;
	raw_str(&r, VAC_A_INST_NAME, "kvm_a");
	raw_u32(&r, VAC_A_INST_MAX + 5, 1);
	assert_int_equal(vac_send_raw(h, VAC_CMD_QUOTA_SET, 0, r.b, r.len), -EINVAL);
	assert_string_not_equal(vac_errmsg(h), "");
	assert_int_equal(vac_err_offset(h), OFF_FIRST_ATTR + 12);

	/* A command the family does not have. */
	assert_int_equal(vac_send_raw(h, 99, 0, NULL, 0), -EOPNOTSUPP);

	after = get("kvm_a");
	assert_same_instance(&before, &after);
	assert_int_equal(vac_resource_get(h, VAC_RES_VPIDS, &res_after), 0);
	assert_int_equal(res_after.reserved, res_before.reserved);

	/* A raw dump: its replies are dropped and the handle stays in step. */
	assert_int_equal(vac_send_raw(h, VAC_CMD_INSTANCE_GET, NLM_F_DUMP, NULL, 0), 0);
	assert_int_equal(get("kvm_a").usage[VAC_RES_VPIDS].quota, 9);
}

/* ---- events ---- */

static struct {
	struct vac_event ev[64];
	int n, head;
} evq;

static int queue_event(const struct vac_event *ev, void *arg)
{
	if (evq.n < 64)
		evq.ev[evq.n] = *ev;
	evq.n++;
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The next event on @mon within @ms: 0, -ETIMEDOUT or vac_monitor_read's error. */
static int next_event(struct vac *mon, struct vac_event *ev, int ms)
{
	long long end = now_ms() + ms;

	while (evq.head == evq.n) {
		struct pollfd p = { .fd = vac_fd(mon), .events = POLLIN };
		long long left = end - now_ms();
		int ret;

		evq.head = evq.n = 0;
		if (left < 0 || poll(&p, 1, left) != 1)
			return -ETIMEDOUT;
		ret = vac_monitor_read(mon, queue_event, NULL);
		if (ret < 0)
			return ret;
		assert_int_equal(ret, evq.n);	/* the count is of events handed over */
		assert_true(evq.n <= 64);
	}
	*ev = evq.ev[evq.head++];
	return 0;
}

static struct vac_event expect_event(struct vac *mon, enum vac_event_type type,
				     const char *name)
{
	struct vac_event ev;
	int ret = next_event(mon, &ev, 3000);

	if (ret)
		fail_msg("no %s event for %s: %d", vac_event_name(type), name, ret);
	if (ev.type != type || strcmp(ev.inst.name, name))
		fail_msg("%s event for %s, want %s for %s", vac_event_name(ev.type),
			 ev.inst.name, vac_event_name(type), name);
	if (type != VAC_EVENT_ALLOC_REFUSED)
		assert_int_equal(ev.refused, -1);
	return ev;
}

static void expect_no_event(struct vac *mon)
{
	struct vac_event ev;
	int ret = next_event(mon, &ev, 300);

	if (ret != -ETIMEDOUT)
		fail_msg("unexpected %s event for %s (%d)", vac_event_name(ev.type),
			 ev.inst.name, ret);
}

static int declare_quota_delete_kvm_e(void)
{
	const struct vac_quota q[] = { { VAC_RES_VPIDS, 5 }, { VAC_RES_SEV_ASIDS, 1 } };
	struct vac *c;
	int ret = 0;

	if (vac_open(&c))
		return 10;
	if (vac_instance_declare(c, "kvm_e"))
		ret = 11;
	else if (vac_quota_set(c, "kvm_e", q, 2, false))
		ret = 12;
	else if (vac_instance_delete(c, "kvm_e"))
		ret = 13;
	vac_close(c);
	return ret;
}

static int set_kvm_t_vpids_quota(void)
{
	const struct vac_quota q = { VAC_RES_VPIDS, 1 };
	struct vac *c;
	int ret;

	if (vac_open(&c))
		return 10;
	ret = vac_quota_set(c, "kvm_t", &q, 1, false) ? 11 : 0;
	vac_close(c);
	return ret;
}

static void event_names_are_stable(void **state)
{
	assert_string_equal(vac_event_name(VAC_EVENT_INSTANCE_NEW), "instance-new");
	assert_string_equal(vac_event_name(VAC_EVENT_INSTANCE_DEL), "instance-del");
	assert_string_equal(vac_event_name(VAC_EVENT_INSTANCE_ONLINE), "instance-online");
	assert_string_equal(vac_event_name(VAC_EVENT_INSTANCE_OFFLINE), "instance-offline");
	assert_string_equal(vac_event_name(VAC_EVENT_QUOTA), "quota");
	assert_string_equal(vac_event_name(VAC_EVENT_ALLOC_REFUSED), "alloc-refused");
	assert_null(vac_event_name((enum vac_event_type)0));
	assert_null(vac_event_name((enum vac_event_type)VAC_CMD_QUOTA_SET));
}

static void monitor_sees_changes_of_another_process(void **state)
{
	struct vac *mon;
	struct vac_event ev;

	evq.n = evq.head = 0;
	assert_int_equal(vac_monitor_open(&mon), 0);
	assert_int_equal(vac_monitor_read(mon, queue_event, NULL), 0);

	assert_exits_zero(spawn(declare_quota_delete_kvm_e));
	ev = expect_event(mon, VAC_EVENT_INSTANCE_NEW, "kvm_e");
	assert_int_equal(ev.inst.state, VAC_INSTANCE_STATE_DECLARED);
	assert_string_equal(ev.inst.module, "");
	assert_int_equal(ev.inst.usage[VAC_RES_VPIDS].quota, 0);
	ev = expect_event(mon, VAC_EVENT_QUOTA, "kvm_e");
	assert_int_equal(ev.inst.usage[VAC_RES_VPIDS].quota, 5);
	assert_int_equal(ev.inst.usage[VAC_RES_SEV_ASIDS].quota, 1);
	assert_int_equal(ev.inst.usage[VAC_RES_ASIDS].quota, 0);
	/* The deletion event carries the instance as it was. */
	ev = expect_event(mon, VAC_EVENT_INSTANCE_DEL, "kvm_e");
	assert_int_equal(ev.inst.usage[VAC_RES_VPIDS].quota, 5);
	expect_no_event(mon);
	mon = vac_close(mon);
}

static void monitor_sees_module_register_refusal_unregister(void **state)
{
	struct vac *mon;
	struct vac_event ev;

	evq.n = evq.head = 0;
	assert_int_equal(vac_monitor_open(&mon), 0);

	/* Registering an undeclared name declares it first. */
	assert_int_equal(vt_load_test("instances=kvm_t"), 0);
	ev = expect_event(mon, VAC_EVENT_INSTANCE_NEW, "kvm_t");
	ev = expect_event(mon, VAC_EVENT_INSTANCE_ONLINE, "kvm_t");
	assert_int_equal(ev.inst.state, VAC_INSTANCE_STATE_ONLINE);
	assert_string_equal(ev.inst.module, "vac_test");

	assert_exits_zero(spawn(set_kvm_t_vpids_quota));
	ev = expect_event(mon, VAC_EVENT_QUOTA, "kvm_t");
	assert_int_equal(ev.inst.usage[VAC_RES_VPIDS].quota, 1);

	assert_int_equal(vt_ctl(NULL, 0, "alloc kvm_t vpids 1"), 0);
	assert_int_equal(vt_ctl(NULL, 0, "alloc kvm_t vpids 1"), -EDQUOT);
	ev = expect_event(mon, VAC_EVENT_ALLOC_REFUSED, "kvm_t");
	assert_int_equal(ev.refused, VAC_RES_VPIDS);
	assert_int_equal(ev.inst.state, VAC_INSTANCE_STATE_ONLINE);
	assert_int_equal(ev.inst.usage[VAC_RES_VPIDS].used, 1);
	assert_int_equal(ev.inst.usage[VAC_RES_VPIDS].failcnt, 1);

	assert_int_equal(vt_ctl(NULL, 0, "unregister kvm_t"), 0);
	ev = expect_event(mon, VAC_EVENT_INSTANCE_OFFLINE, "kvm_t");
	assert_int_equal(ev.inst.state, VAC_INSTANCE_STATE_DECLARED);
	assert_string_equal(ev.inst.module, "");
	assert_int_equal(ev.inst.usage[VAC_RES_VPIDS].used, 0);
	assert_int_equal(ev.inst.usage[VAC_RES_VPIDS].quota, 1);
	expect_no_event(mon);
	mon = vac_close(mon);
}

static int stop_at_first(const struct vac_event *ev, void *arg)
{
	struct vac_event *first = arg;

	*first = *ev;
	return -ECANCELED;
}

static void monitor_read_stops_when_callback_returns_nonzero(void **state)
{
	struct vac *mon;
	struct vac_event first = { 0 };

	evq.n = evq.head = 0;
	assert_int_equal(vac_monitor_open(&mon), 0);
	assert_int_equal(vac_instance_declare(h, "kvm_s"), 0);
	assert_int_equal(set_quota("kvm_s", VAC_RES_VPIDS, 2, false), 0);
	assert_int_equal(vac_instance_delete(h, "kvm_s"), 0);

	assert_int_equal(vac_monitor_read(mon, stop_at_first, &first), -ECANCELED);
	assert_int_equal(first.type, VAC_EVENT_INSTANCE_NEW);
	/* The events after the stop are still there. */
	expect_event(mon, VAC_EVENT_QUOTA, "kvm_s");
	expect_event(mon, VAC_EVENT_INSTANCE_DEL, "kvm_s");
	expect_no_event(mon);
	mon = vac_close(mon);
}

static int count_event(const struct vac_event *ev, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int last_instance(const struct vac_instance_info *in, void *arg)
{
	*(struct vac_instance_info *)arg = *in;
	return 0;
}

static void monitor_overrun_gives_enobufs_and_recovers(void **state)
{
	struct vac_instance_info last = { .name = "" };
	struct vac *mon;
	struct vac_event ev;
	int tiny = 1, got = 0, overruns = 0, ret;

	evq.n = evq.head = 0;
	assert_int_equal(vac_monitor_open(&mon), 0);
	/* The smallest buffer the kernel allows holds one event or two. */
	assert_int_equal(setsockopt(vac_fd(mon), SOL_SOCKET, SO_RCVBUF,
				    &tiny, sizeof(tiny)), 0);
	assert_int_equal(vac_instance_declare(h, "kvm_o"), 0);
	for (uint32_t q = 1; q <= 50; q++)
		assert_int_equal(set_quota("kvm_o", VAC_RES_VPIDS, q, false), 0);

	for (;;) {
		ret = vac_monitor_read(mon, count_event, &got);
		if (ret == -ENOBUFS) {
			overruns++;
			continue;
		}
		if (ret <= 0)
			break;
	}
	assert_int_equal(ret, 0);
	assert_int_equal(overruns, 1);
	assert_true(got >= 1);
	assert_true(got < 51);

	/* A dump gives the state the lost events described, and the
	 * handle still works: the next change arrives. */
	assert_int_equal(vac_instance_dump(h, last_instance, &last), 0);
	assert_string_equal(last.name, "kvm_o");
	assert_int_equal(last.usage[VAC_RES_VPIDS].quota, 50);
	assert_int_equal(set_quota("kvm_o", VAC_RES_VPIDS, 100, false), 0);
	ev = expect_event(mon, VAC_EVENT_QUOTA, "kvm_o");
	assert_int_equal(ev.inst.usage[VAC_RES_VPIDS].quota, 100);
	expect_no_event(mon);
	mon = vac_close(mon);
}

/*
 * As nobody with CAP_NET_ADMIN, the capability a network daemon has:
 * changes are refused with the reason in vac_errmsg(); reads and the
 * monitor group, which carries the same objects, are open.
 */
static int monitor_as_net_admin(void)
{
	struct vac *c = NULL, *mon = NULL;
	struct vac_instance_info in;
	int bad = 0;

	if (vt_become_nobody(1ULL << CAP_NET_ADMIN))
		return 100;
	if (vac_open(&c))
		return 101;
	bad |= (vac_monitor_open(&mon) != 0) << 0;
	bad |= (mon == NULL) << 1;
	bad |= (vac_instance_declare(c, "kvm_x") != -EPERM) << 2;
	bad |= (vac_quota_set(c, "kvm_a", &(struct vac_quota){ VAC_RES_VPIDS, 1 },
			      1, true) != -EPERM) << 3;
	bad |= !strstr(vac_errmsg(c), "CAP_SYS_ADMIN") << 4;
	bad |= (vac_instance_delete(c, "kvm_a") != -EPERM) << 5;
	bad |= (vac_instance_get(c, "kvm_a", &in) != 0) << 6;
	vac_close(c);
	vac_close(mon);
	return bad;
}

/* ---- VMs ---- */

struct vms {
	struct vac_vm_info v[400];
	int n;
};

static int collect_vm(const struct vac_vm_info *vm, void *arg)
{
	struct vms *vs = arg;

	if (vs->n < 400)
		vs->v[vs->n] = *vm;
	vs->n++;
	return 0;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * What a KVM build reports of its VMs (the test module stands in): the
 * instance's count, a dump with each VM's creator and time, events for
 * each VM that comes and goes, and "drained" once none is left.
 */
static void vms_of_an_instance_are_counted_listed_and_announced(void **state)
{
	static struct vms vs;
	struct vac_event ev;
	struct vac *mon;
	long long t0 = now_ns();

	assert_int_equal(vt_load_test("instances=kvm_a,kvm_b"), 0);
	assert_int_equal(get("kvm_a").vms, 0);
	assert_int_equal(vac_monitor_open(&mon), 0);
	assert_int_equal(vt_ctl(NULL, 0, "vm_add kvm_a 2"), 0);
	assert_int_equal(vt_ctl(NULL, 0, "vm_add kvm_b 1"), 0);
	assert_int_equal(get("kvm_a").vms, 2);
	assert_int_equal(get("kvm_b").vms, 1);

	ev = expect_event(mon, VAC_EVENT_VM_NEW, "kvm_a");
	assert_string_equal(ev.vm.instance, "kvm_a");
	assert_int_equal(ev.vm.pid, getpid());
	ev = expect_event(mon, VAC_EVENT_VM_NEW, "kvm_a");
	ev = expect_event(mon, VAC_EVENT_VM_NEW, "kvm_b");
	expect_no_event(mon);

	vs.n = 0;
	assert_int_equal(vac_vm_dump(h, "kvm_a", collect_vm, &vs), 0);
	assert_int_equal(vs.n, 2);
	assert_true(vs.v[0].id < vs.v[1].id);
	assert_int_equal(vs.v[0].pid, getpid());
	assert_string_equal(vs.v[0].comm, "test_libvac");
	assert_true((long long)vs.v[0].created >= t0 - 1000000000LL);
	assert_true((long long)vs.v[0].created <= now_ns());
	vs.n = 0;
	assert_int_equal(vac_vm_dump(h, NULL, collect_vm, &vs), 0);
	assert_int_equal(vs.n, 3);
	assert_int_equal(vac_vm_dump(h, "nobody", collect_vm, &vs), -ENOENT);
	assert_string_equal(vac_errmsg(h), "no such instance");

	/* Drained: a build with no VM left may be unloaded. */
	assert_int_equal(vt_ctl(NULL, 0, "vm_del kvm_a 2"), 0);
	assert_int_equal(get("kvm_a").vms, 0);
	expect_event(mon, VAC_EVENT_VM_DEL, "kvm_a");
	expect_event(mon, VAC_EVENT_VM_DEL, "kvm_a");
	vs.n = 0;
	assert_int_equal(vac_vm_dump(h, "kvm_a", collect_vm, &vs), 0);
	assert_int_equal(vs.n, 0);
	/* Unregistered with a VM still reported: VAC drops it, announced. */
	assert_int_equal(vt_ctl(NULL, 0, "unregister kvm_b"), 0);
	expect_event(mon, VAC_EVENT_VM_DEL, "kvm_b");
	assert_int_equal(get("kvm_b").vms, 0);
	vac_close(mon);
}

/* Many VMs: the dump resumes across messages, each VM once, in order. */
static void vm_dump_of_300_resumes(void **state)
{
	static struct vms vs;

	assert_int_equal(vt_load_test("instances=kvm_a,kvm_b"), 0);
	assert_int_equal(vt_ctl(NULL, 0, "vm_add kvm_a 150"), 0);
	assert_int_equal(vt_ctl(NULL, 0, "vm_add kvm_b 150"), 0);
	vs.n = 0;
	assert_int_equal(vac_vm_dump(h, NULL, collect_vm, &vs), 0);
	assert_int_equal(vs.n, 300);
	for (int i = 1; i < 300; i++)
		assert_true(strcmp(vs.v[i - 1].instance, vs.v[i].instance) < 0 ||
			    vs.v[i - 1].id < vs.v[i].id);
	vs.n = 0;
	assert_int_equal(vac_vm_dump(h, "kvm_b", collect_vm, &vs), 0);
	assert_int_equal(vs.n, 150);
	assert_int_equal(vt_ctl(NULL, 0, "vm_del kvm_a 150"), 0);
	assert_int_equal(vt_ctl(NULL, 0, "vm_del kvm_b 150"), 0);
}

static void changes_need_cap_sys_admin_monitor_is_open(void **state)
{
	assert_int_equal(vac_instance_declare(h, "kvm_a"), 0);
	assert_exits_zero(spawn(monitor_as_net_admin));
	assert_int_equal(get("kvm_a").usage[VAC_RES_VPIDS].quota, 0);
}

/* ---- the example agent ---- */

/* One line from @fd within @ms, without its newline; -1 on EOF or timeout. */
static int read_line(int fd, char *buf, size_t size, int ms)
{
	long long end = now_ms() + ms;
	size_t n = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = end - now_ms();
		char c;

		if (left < 0 || poll(&p, 1, left) != 1 || read(fd, &c, 1) != 1)
			return -1;
		if (c == '\n')
			break;
		if (n + 1 < size)
			buf[n++] = c;
	}
	buf[n] = 0;
	return 0;
}

static void expect_line(int fd, const char *want)
{
	char line[512];

	if (read_line(fd, line, sizeof(line), 10000))
		fail_msg("vac-monitor: no line, want \"%s\"", want);
	assert_string_equal(line, want);
}

static void monitor_agent_prints_one_line_per_event(void **state)
{
	const char *agent = getenv("VAC_MONITOR");
	char want[128], line[512];
	uint32_t base;
	int fds[2];
	pid_t pid;

	if (!agent)
		fail_msg("VAC_MONITOR (the vac-monitor example) is not set");
	assert_int_equal(vac_instance_declare(h, "kvm_a"), 0);
	assert_int_equal(set_quota("kvm_a", VAC_RES_VPIDS, 3, false), 0);

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		execl(agent, agent, "-n", "4", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);

	/* The state at start, then ready: nothing after it is missed. */
	expect_line(fds[0], "state kvm_a declared vpids=0/3");
	expect_line(fds[0], "ready");

	assert_int_equal(vac_instance_declare(h, "kvm_m"), 0);
	expect_line(fds[0], "instance-new kvm_m declared");
	assert_int_equal(vac_quota_set(h, "kvm_m", (const struct vac_quota[]){
		{ VAC_RES_ASIDS, 2 }, { VAC_RES_VPIDS, 3 } }, 2, false), 0);
	base = get("kvm_m").usage[VAC_RES_ASIDS].base;
	snprintf(want, sizeof(want), "quota kvm_m declared asids=2@%u vpids=0/3", base);
	expect_line(fds[0], want);
	assert_int_equal(vac_instance_delete(h, "kvm_m"), 0);
	snprintf(want, sizeof(want), "instance-del kvm_m declared asids=2@%u vpids=0/3", base);
	expect_line(fds[0], want);
	assert_int_equal(set_quota("kvm_a", VAC_RES_VPIDS, 4, false), 0);
	expect_line(fds[0], "quota kvm_a declared vpids=0/4");

	/* -n 4: it exits after the fourth event. */
	assert_int_equal(read_line(fds[0], line, sizeof(line), 10000), -1);
	close(fds[0]);
	assert_exits_zero(pid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(open_fails_with_enoent_without_vac_ko),
		T(a_handle_across_a_reload_fails_until_reopened),
		T(resource_dump_lists_all_kinds_in_order),
		T(resource_names_parse_back_and_reject_unknown),
		T(resource_get_of_unknown_kind_points_at_it),
		T(resource_dump_stops_when_callback_returns_nonzero),
		T(instance_declare_get_delete),
		T(instance_declare_rejects_duplicates_and_bad_names),
		T(instance_dump_of_1000_sees_each_once),
		T(quota_set_applies_several_kinds_or_none),
		T(quota_below_usage_refused_unless_forced),
		T(alloc_dump_lists_runs_and_msr_slot),
		T(alloc_dump_of_5000_runs_resumes),
		T(send_raw_passes_attributes_and_rejections),
		T(event_names_are_stable),
		T(monitor_sees_changes_of_another_process),
		T(monitor_sees_module_register_refusal_unregister),
		T(monitor_read_stops_when_callback_returns_nonzero),
		T(monitor_overrun_gives_enobufs_and_recovers),
		T(changes_need_cap_sys_admin_monitor_is_open),
		T(vms_of_an_instance_are_counted_listed_and_announced),
		T(vm_dump_of_300_resumes),
		T(monitor_agent_prints_one_line_per_event),
#undef T
	};

	return cmocka_run_group_tests_name("vm.libvac", tests, NULL, NULL);
}
