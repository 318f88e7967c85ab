// SPDX-License-Identifier: GPL-2.0
/*
 * vac_test.ko: stands in for KVM builds in the VM tier.  It registers one
 * or more VAC instances and allocates and frees on command, from several
 * kernel threads at once.
 *
 * Commands are written to /sys/kernel/debug/vac_test/ctl, one per write;
 * the write fails with the command's errno, and reading the same open
 * file returns its last command's output:
 *
 *   register NAME            unregister NAME
 *   alloc NAME KIND COUNT    -> the IDs allocated; fails at the first refusal
 *   free NAME KIND ID|all    pmu NAME -> vac_pmu_counters()
 *   msr_get NAME MSR         -> slot       msr_put NAME MSR
 *   range NAME               -> "BASE LEN CALLS B L": the range as last told
 *                               by VAC, then vac_asid_range()'s B L now
 *   range_block NAME         the next range change for NAME waits in its
 *                               callback (under VAC's lock, at most 30 s)
 *                               until range_unblock NAME; range NAME then
 *                               still shows the old range
 *   range_blocked NAME       -> "1" while a callback waits, else "0"
 *   vm_add NAME COUNT        report COUNT VMs created by the writer
 *   vm_del NAME COUNT        report the newest COUNT of them destroyed
 *   quarantine NAME KIND ID  (an ID NAME holds)
 *   release_quarantined KIND
 *   stress NAME KIND THREADS ITERS HOLD
 *                            -> "allocs=A refused=R dup=D max_held=M"
 *   svm_enable NAME | svm_disable NAME   (on every CPU)
 *   svm_state                -> EFER.SVME per CPU, e.g. "1 1"
 *
 * Benchmark commands (tests/bench), on a separate set of instances:
 *
 *   bench_register PREFIX COUNT   registers PREFIX0..PREFIX<COUNT-1>, up
 *                                 to 64 bench instances in all
 *   bench_unregister              unregisters every bench instance
 *   bench KIND CAP FILL_PCT ITERS THREADS ROUNDS
 *       -> "vac_ps=V bare_ps=B ratio_pm=R vac_min_ps=.. bare_min_ps=..
 *           rounds=.. iters=.. threads=.. insts=.. fill=.."
 *
 * bench times alloc+free pairs through vac_id_alloc()/vac_id_free()
 * against the bare pattern KVM uses today (vmx.c's allocate_vpid(): a
 * bitmap of CAP + 1 bits, bit 0 the host's, find_first_zero_bit() under
 * its own spinlock), both filled to the same FILL_PCT of CAP: VAC from the
 * bench instances round robin, so the IDs below the free one are held by
 * all of them, the bare map by setting the same bits.  Each of ROUNDS
 * rounds times ITERS pairs per thread through VAC and through the bare map,
 * in alternating order, with THREADS kernel threads started together
 * (thread i on bench instance i % COUNT); V and B are the median ps per
 * pair and thread, R the median of the rounds' V/B in thousandths.
 *
 * The module parameter instances=a,b registers instances at load.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/sort.h>
#include <linux/timekeeping.h>
#include <linux/wait.h>
#include <linux/vac.h>
#include <asm/msr.h>

#define VT_MAX_INST	8
#define VT_MAX_ID	(1 << 17)
#define VT_OUT		4096
#define VT_MAX_VMS	1024

static char *instances;
module_param(instances, charp, 0444);
MODULE_PARM_DESC(instances, "comma-separated instance names to register at load");

/*
 * KVM-like parameters, so that brokerd's profiles are tested against a
 * real /sys/module/vac_test/parameters: runtime-writable (0644) as
 * kvm.ko's halt_poll_ns, halt_poll_ns_grow and nx_huge_pages are, and
 * load-time only (0444) as tdp_mmu and enable_pmu are.  Nothing here
 * acts on them.
 */
static unsigned int halt_poll_ns = 200000;
module_param(halt_poll_ns, uint, 0644);
MODULE_PARM_DESC(halt_poll_ns, "as kvm.ko's (runtime)");
static unsigned int halt_poll_ns_grow = 2;
module_param(halt_poll_ns_grow, uint, 0644);
MODULE_PARM_DESC(halt_poll_ns_grow, "as kvm.ko's (runtime)");
static bool nx_huge_pages = true;
module_param(nx_huge_pages, bool, 0644);
MODULE_PARM_DESC(nx_huge_pages, "as kvm.ko's (runtime)");
static bool tdp_mmu = true;
module_param(tdp_mmu, bool, 0444);
MODULE_PARM_DESC(tdp_mmu, "as kvm.ko's (load time only)");
static bool enable_pmu = true;
module_param(enable_pmu, bool, 0444);
MODULE_PARM_DESC(enable_pmu, "as kvm.ko's (load time only)");

struct vt_inst {
	char name[VAC_NAME_LEN];
	struct vac_instance *vi;
	unsigned long *held[VAC_RES_MAX + 1];	/* IDs this module holds */
	u32 base, len, calls;			/* last ASID range told */
	bool block, blocked;			/* range_block */
	struct completion unblock;
	u32 nr_vms;				/* vm_add: cookies vms[0..n) */
	u8 vms[VT_MAX_VMS];
};

static struct vt_inst vt_inst[VT_MAX_INST];
static DEFINE_MUTEX(vt_lock);
static char *vt_out;		/* the output buffer of the command running */
static struct dentry *vt_dir;

static struct vt_inst *vt_find(const char *name)
{
	int i;

	for (i = 0; i < VT_MAX_INST; i++)
		if (vt_inst[i].vi && !strcmp(vt_inst[i].name, name))
			return &vt_inst[i];
	return NULL;
}

static void vt_range_changed(struct vac_instance *vi, u32 base, u32 len)
{
	struct vt_inst *t = vac_instance_priv(vi);

	/* As a KVM still using its old range until it let go of it. */
	if (READ_ONCE(t->block)) {
		WRITE_ONCE(t->blocked, true);
		if (!wait_for_completion_timeout(&t->unblock, 30 * HZ))
			pr_err("%s: range callback not unblocked in 30 s\n", t->name);
		WRITE_ONCE(t->block, false);
		WRITE_ONCE(t->blocked, false);
	}
	WRITE_ONCE(t->base, base);
	WRITE_ONCE(t->len, len);
	WRITE_ONCE(t->calls, t->calls + 1);
}

static const struct vac_instance_ops vt_ops = {
	.asid_range_changed = vt_range_changed,
};

static int vt_register(const char *name)
{
	struct vac_instance *vi;
	struct vt_inst *t = NULL;
	int i, k;

	if (vt_find(name))
		return -EEXIST;
	for (i = 0; i < VT_MAX_INST && !t; i++)
		if (!vt_inst[i].vi)
			t = &vt_inst[i];
	if (!t)
		return -ENOSPC;
	memset(t, 0, sizeof(*t));
	strscpy(t->name, name, sizeof(t->name));
	init_completion(&t->unblock);
	for (k = 0; k <= VAC_RES_MAX; k++) {
		t->held[k] = bitmap_zalloc(VT_MAX_ID, GFP_KERNEL);
		if (!t->held[k])
			goto nomem;
	}
	vi = vac_register(name, THIS_MODULE, &vt_ops, t);
	if (IS_ERR(vi)) {
		for (k = 0; k <= VAC_RES_MAX; k++)
			bitmap_free(t->held[k]);
		return PTR_ERR(vi);
	}
	vac_asid_range(vi, &t->base, &t->len);
	t->vi = vi;
	return 0;

nomem:
	while (k--)
		bitmap_free(t->held[k]);
	return -ENOMEM;
}

static void vt_unregister(struct vt_inst *t)
{
	int k;

	/* Unregistering releases everything: VAC must not need our frees. */
	vac_unregister(t->vi);
	t->vi = NULL;
	for (k = 0; k <= VAC_RES_MAX; k++)
		bitmap_free(t->held[k]);
}

static int vt_alloc(struct vt_inst *t, u32 kind, u32 count)
{
	size_t n = 0;
	u32 i;

	vt_out[0] = 0;
	for (i = 0; i < count; i++) {
		int id = vac_id_alloc(t->vi, kind);

		if (id < 0)
			return id;
		if (id >= VT_MAX_ID || test_and_set_bit(id, t->held[kind])) {
			pr_err("%s: ID %d handed out twice\n", t->name, id);
			return -EUCLEAN;
		}
		if (n < VT_OUT - 16)
			n += scnprintf(vt_out + n, VT_OUT - n, "%d ", id);
	}
	return 0;
}

static int vt_free(struct vt_inst *t, u32 kind, const char *what)
{
	unsigned long id;
	int ret;

	if (strcmp(what, "all")) {
		ret = kstrtoul(what, 0, &id);
		if (ret)
			return ret;
		ret = vac_id_free(t->vi, kind, id);
		if (!ret && id < VT_MAX_ID)
			clear_bit(id, t->held[kind]);
		return ret;
	}
	for_each_set_bit(id, t->held[kind], VT_MAX_ID) {
		ret = vac_id_free(t->vi, kind, id);
		if (ret)
			return ret;
		clear_bit(id, t->held[kind]);
	}
	return 0;
}

/* ---- stress: threads allocating and freeing at once ---- */

struct vt_stress {
	struct vt_inst *t;
	u32 kind, iters, hold;
	unsigned long *owned;		/* IDs held by any thread right now */
	atomic_t held, max_held, running;
	atomic64_t allocs, refused, dups;
	struct completion done;
};

static void vt_max(atomic_t *max, int v)
{
	int old = atomic_read(max);

	while (v > old && !atomic_try_cmpxchg(max, &old, v))
		;
}

static int vt_stress_fn(void *arg)
{
	struct vt_stress *s = arg;
	int *ids = kcalloc(s->hold, sizeof(*ids), GFP_KERNEL);
	u32 n = 0, i;

	for (i = 0; ids && i < s->iters; i++) {
		bool grow = n < s->hold && (n == 0 || get_random_u32() & 1);

		if (grow) {
			int id = vac_id_alloc(s->t->vi, s->kind);

			if (id < 0) {
				atomic64_inc(&s->refused);
				continue;
			}
			atomic64_inc(&s->allocs);
			if (id >= VT_MAX_ID || test_and_set_bit(id, s->owned))
				atomic64_inc(&s->dups);
			vt_max(&s->max_held, atomic_inc_return(&s->held));
			ids[n++] = id;
		} else {
			u32 j = get_random_u32() % n;
			int id = ids[j];

			ids[j] = ids[--n];
			atomic_dec(&s->held);
			clear_bit(id, s->owned);
			if (vac_id_free(s->t->vi, s->kind, id))
				atomic64_inc(&s->dups);
		}
		if (!(i % 64))
			cond_resched();
	}
	while (ids && n) {
		int id = ids[--n];

		atomic_dec(&s->held);
		clear_bit(id, s->owned);
		if (vac_id_free(s->t->vi, s->kind, id))
			atomic64_inc(&s->dups);
	}
	kfree(ids);
	if (atomic_dec_and_test(&s->running))
		complete(&s->done);
	return 0;
}

static int vt_stress(struct vt_inst *t, u32 kind, u32 threads, u32 iters,
		     u32 hold, char *out)
{
	struct vt_stress *s;
	u32 i;

	if (!threads || threads > 64 || !hold || hold > 4096)
		return -EINVAL;
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	s->owned = bitmap_zalloc(VT_MAX_ID, GFP_KERNEL);
	if (!s->owned) {
		kfree(s);
		return -ENOMEM;
	}
	s->t = t;
	s->kind = kind;
	s->iters = iters;
	s->hold = hold;
	init_completion(&s->done);
	atomic_set(&s->running, threads);
	for (i = 0; i < threads; i++) {
		struct task_struct *k = kthread_run(vt_stress_fn, s, "vac_test/%u", i);

		if (IS_ERR(k) && atomic_sub_and_test(threads - i, &s->running))
			complete(&s->done);
		if (IS_ERR(k))
			break;
	}
	wait_for_completion(&s->done);
	mutex_lock(&vt_lock);
	scnprintf(out, VT_OUT, "allocs=%lld refused=%lld dup=%lld max_held=%d threads=%u\n",
		  atomic64_read(&s->allocs), atomic64_read(&s->refused),
		  atomic64_read(&s->dups), atomic_read(&s->max_held), i);
	mutex_unlock(&vt_lock);
	bitmap_free(s->owned);
	kfree(s);
	return 0;
}

/* ---- SVM enable on every CPU ---- */

struct vt_svm {
	struct vac_instance *vi;
	bool enable;
	atomic_t failed;
};

static void vt_svm_one(void *arg)
{
	struct vt_svm *s = arg;

	if (!s->enable)
		vac_svm_disable_cpu(s->vi);
	else if (vac_svm_enable_cpu(s->vi))
		atomic_inc(&s->failed);
}

static void vt_svm_state(void *arg)
{
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME)
		atomic_inc(arg);
}

/* ---- bench: VAC's ID allocator against the bare pattern KVM uses ---- */

#define VT_BENCH_INST		64
#define VT_BENCH_THREADS	64
#define VT_BENCH_ROUNDS		101

/* Instances for the benchmarks only, apart from vt_inst[]; no ops. */
static struct vac_instance *vt_bench_vi[VT_BENCH_INST];
static u32 vt_bench_n;

/* All or none: a failure unregisters what this command registered. */
static int vt_bench_register(const char *prefix, u32 count)
{
	char name[VAC_NAME_LEN];
	u32 i, was = vt_bench_n;
	int ret = 0;

	if (!count || count > VT_BENCH_INST - vt_bench_n)
		return -ENOSPC;
	for (i = 0; i < count && !ret; i++) {
		struct vac_instance *vi;

		if (snprintf(name, sizeof(name), "%s%u", prefix, i) >= sizeof(name)) {
			ret = -EINVAL;
			break;
		}
		vi = vac_register(name, THIS_MODULE, NULL, NULL);
		if (IS_ERR(vi))
			ret = PTR_ERR(vi);
		else
			vt_bench_vi[vt_bench_n++] = vi;
	}
	while (ret && vt_bench_n > was)
		vac_unregister(vt_bench_vi[--vt_bench_n]);
	return ret;
}

static void vt_bench_unregister(void)
{
	while (vt_bench_n)
		vac_unregister(vt_bench_vi[--vt_bench_n]);
}

enum { VT_PHASE_VAC, VT_PHASE_BARE };

struct vt_bench;

struct vt_bench_thread {
	struct vt_bench *b;
	struct vac_instance *vi;
	struct task_struct *task;
	u64 t0, t1;			/* ns, of the last phase */
};

struct vt_bench {
	u32 kind, cap, fill, iters, nthreads, rounds;
	/* The bare pattern: vmx_vpid_bitmap and vmx_vpid_lock in KVM. */
	unsigned long *bare_map;
	spinlock_t bare_lock;
	/* A phase starts when gen changes; all threads then start together. */
	wait_queue_head_t wq;
	int gen, phase;
	atomic_t ready, running, err;
	struct completion done;
	struct vt_bench_thread th[VT_BENCH_THREADS];
	u64 vac_ps[VT_BENCH_ROUNDS], bare_ps[VT_BENCH_ROUNDS];
	u64 ratio[VT_BENCH_ROUNDS];
};

/* As allocate_vpid() in arch/x86/kvm/vmx/vmx.c: 0 means none left. */
static noinline int vt_bare_alloc(struct vt_bench *b)
{
	unsigned long id;

	spin_lock(&b->bare_lock);
	id = find_first_zero_bit(b->bare_map, b->cap + 1);
	if (id <= b->cap)
		__set_bit(id, b->bare_map);
	else
		id = 0;
	spin_unlock(&b->bare_lock);
	return id;
}

/* As free_vpid(). */
static noinline void vt_bare_free(struct vt_bench *b, int id)
{
	if (!id)
		return;
	spin_lock(&b->bare_lock);
	__clear_bit(id, b->bare_map);
	spin_unlock(&b->bare_lock);
}

static int vt_bench_pairs(struct vt_bench *b, struct vac_instance *vi,
			  int phase)
{
	u32 i;

	if (phase == VT_PHASE_BARE) {
		for (i = 0; i < b->iters; i++) {
			int id = vt_bare_alloc(b);

			if (!id)
				return -ENOSPC;
			vt_bare_free(b, id);
		}
		return 0;
	}
	for (i = 0; i < b->iters; i++) {
		int id = vac_id_alloc(vi, b->kind);

		if (id < 0)
			return id;
		if (vac_id_free(vi, b->kind, id))
			return -EUCLEAN;
	}
	return 0;
}

static int vt_bench_fn(void *arg)
{
	struct vt_bench_thread *bt = arg;
	struct vt_bench *b = bt->b;
	int seen = 0, ret;

	for (;;) {
		/* Interruptible: a kthread gets no signals, and no hung-task report. */
		wait_event_interruptible(b->wq, smp_load_acquire(&b->gen) != seen ||
					 kthread_should_stop());
		if (kthread_should_stop())
			break;
		seen = smp_load_acquire(&b->gen);
		atomic_inc(&b->ready);
		while (atomic_read(&b->ready) < b->nthreads)
			cond_resched();
		bt->t0 = ktime_get_ns();
		ret = vt_bench_pairs(b, bt->vi, b->phase);
		bt->t1 = ktime_get_ns();
		if (ret)
			atomic_cmpxchg(&b->err, 0, ret);
		if (atomic_dec_and_test(&b->running))
			complete(&b->done);
	}
	return 0;
}

/* One phase on every thread: ps per pair and thread, first start to last end. */
static int vt_bench_phase(struct vt_bench *b, int phase, u64 *ps)
{
	u64 t0 = U64_MAX, t1 = 0;
	u32 i;

	b->phase = phase;
	atomic_set(&b->ready, 0);
	atomic_set(&b->running, b->nthreads);
	reinit_completion(&b->done);
	smp_store_release(&b->gen, b->gen + 1);
	wake_up_all(&b->wq);
	wait_for_completion(&b->done);
	if (atomic_read(&b->err))
		return atomic_read(&b->err);
	for (i = 0; i < b->nthreads; i++) {
		t0 = min(t0, b->th[i].t0);
		t1 = max(t1, b->th[i].t1);
	}
	*ps = div_u64((t1 - t0) * 1000, b->iters);
	return 0;
}

static int vt_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* Sorts @v. */
static u64 vt_median(u64 *v, u32 n)
{
	sort(v, n, sizeof(*v), vt_cmp_u64, NULL);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * Fill IDs [first, first + fill) of the kind round robin from the bench
 * instances, instance i % n holding first + i; -EBUSY unless VAC hands
 * them out in that order (something else holds IDs of the kind).
 */
static int vt_bench_fill(struct vt_bench *b, int *first)
{
	int id, ret = 0;
	u32 i;

	*first = -1;
	for (i = 0; i < b->fill; i++) {
		struct vac_instance *vi = vt_bench_vi[i % vt_bench_n];

		id = vac_id_alloc(vi, b->kind);
		if (id < 0) {
			ret = id;
			break;
		}
		if (!i)
			*first = id;
		if (id != *first + i) {
			vac_id_free(vi, b->kind, id);
			ret = -EBUSY;
			break;
		}
	}
	b->fill = i;	/* what to give back */
	return ret;
}

static void vt_bench_unfill(struct vt_bench *b, int first)
{
	u32 i;

	for (i = 0; i < b->fill; i++)
		vac_id_free(vt_bench_vi[i % vt_bench_n], b->kind, first + i);
}

/* The @i-th online CPU, round robin. */
static int vt_bench_cpu(u32 i)
{
	u32 n = i % num_online_cpus();
	int cpu;

	for_each_online_cpu(cpu)
		if (!n--)
			return cpu;
	return cpumask_first(cpu_online_mask);
}

static int vt_bench(u32 kind, u32 cap, u32 fill_pct, u32 iters, u32 threads,
		    u32 rounds, char *out)
{
	u64 vac_ps, bare_ps, vac_min, bare_min;
	struct vt_bench *b;
	int first, ret;
	u32 r, started = 0;

	if (!vt_bench_n)
		return -ENOENT;
	if (!cap || cap >= VT_MAX_ID || fill_pct > 99 || !iters ||
	    !threads || threads > VT_BENCH_THREADS || !rounds ||
	    rounds > VT_BENCH_ROUNDS)
		return -EINVAL;
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	b->kind = kind;
	b->cap = cap;
	b->fill = div_u64((u64)cap * fill_pct, 100);
	b->iters = iters;
	b->nthreads = threads;
	b->rounds = rounds;
	spin_lock_init(&b->bare_lock);
	init_waitqueue_head(&b->wq);
	init_completion(&b->done);
	b->bare_map = bitmap_zalloc(cap + 1, GFP_KERNEL);
	if (!b->bare_map) {
		ret = -ENOMEM;
		goto out_free;
	}
	__set_bit(0, b->bare_map);		/* the host's VPID */
	bitmap_set(b->bare_map, 1, b->fill);

	ret = vt_bench_fill(b, &first);
	if (ret)
		goto out_unfill;

	for (started = 0; started < threads; started++) {
		struct vt_bench_thread *bt = &b->th[started];
		struct task_struct *k;

		bt->b = b;
		bt->vi = vt_bench_vi[started % vt_bench_n];
		k = kthread_create(vt_bench_fn, bt, "vac_bench/%u", started);
		if (IS_ERR(k)) {
			ret = PTR_ERR(k);
			goto out_stop;
		}
		kthread_bind(k, vt_bench_cpu(started));
		bt->task = k;
		wake_up_process(k);
	}

	/* Alternate the order so that drift and warm-up hit both alike. */
	for (r = 0; r < rounds; r++) {
		ret = vt_bench_phase(b, r & 1 ? VT_PHASE_BARE : VT_PHASE_VAC,
				     r & 1 ? &b->bare_ps[r] : &b->vac_ps[r]);
		if (!ret)
			ret = vt_bench_phase(b, r & 1 ? VT_PHASE_VAC : VT_PHASE_BARE,
					     r & 1 ? &b->vac_ps[r] : &b->bare_ps[r]);
		if (ret)
			goto out_stop;
		b->ratio[r] = div64_u64(b->vac_ps[r] * 1000, max_t(u64, b->bare_ps[r], 1));
	}
	vac_ps = vt_median(b->vac_ps, rounds);
	bare_ps = vt_median(b->bare_ps, rounds);
	vac_min = b->vac_ps[0];
	bare_min = b->bare_ps[0];
	scnprintf(out, VT_OUT,
		  "vac_ps=%llu bare_ps=%llu ratio_pm=%llu vac_min_ps=%llu bare_min_ps=%llu rounds=%u iters=%u threads=%u insts=%u fill=%u\n",
		  vac_ps, bare_ps, vt_median(b->ratio, rounds), vac_min,
		  bare_min, rounds, iters, threads, vt_bench_n, b->fill);

out_stop:
	while (started--)
		kthread_stop(b->th[started].task);
out_unfill:
	vt_bench_unfill(b, first);
	bitmap_free(b->bare_map);
out_free:
	kfree(b);
	return ret;
}

/* ---- the control file ---- */

static int vt_kind(const char *s)
{
	static const char *const names[] = {
		"asids", "sev_asids", "sev_es_asids", "vpids",
		"pmu_counters", "msr_slots",
	};
	int k;

	for (k = 0; k < ARRAY_SIZE(names); k++)
		if (!strcmp(s, names[k]))
			return k;
	return -EINVAL;
}

/* The bench commands hold vt_lock throughout: nothing else runs meanwhile. */
static int vt_exec_bench(int argc, char **argv)
{
	u32 a[5];
	int i, kind, ret;

	if (!strcmp(argv[0], "bench_unregister") && argc == 1) {
		vt_bench_unregister();
		return 0;
	}
	if (!strcmp(argv[0], "bench_register") && argc == 3) {
		ret = kstrtou32(argv[2], 0, &a[0]);
		return ret ? ret : vt_bench_register(argv[1], a[0]);
	}
	if (strcmp(argv[0], "bench") || argc != 7)
		return -EINVAL;
	kind = vt_kind(argv[1]);
	if (kind < 0)
		return kind;
	for (i = 0; i < 5; i++) {
		ret = kstrtou32(argv[i + 2], 0, &a[i]);
		if (ret)
			return ret;
	}
	return vt_bench(kind, a[0], a[1], a[2], a[3], a[4], vt_out);
}

static int vt_exec(char *line)
{
	char *argv[8];
	int argc = 0, kind = -1;
	struct vt_inst *t = NULL;
	u32 a[4] = { 0 };
	int i, ret;

	while (argc < ARRAY_SIZE(argv)) {
		char *w = strsep(&line, " \t\n");

		if (!w)
			break;
		if (*w)
			argv[argc++] = w;
	}
	if (!argc)
		return -EINVAL;
	vt_out[0] = 0;
	if (!strcmp(argv[0], "svm_state")) {
		atomic_t on = ATOMIC_INIT(0);

		on_each_cpu(vt_svm_state, &on, 1);
		scnprintf(vt_out, VT_OUT, "%d/%u\n", atomic_read(&on),
			  num_online_cpus());
		return 0;
	}
	if (!strncmp(argv[0], "bench", 5))
		return vt_exec_bench(argc, argv);
	if (argc < 2)
		return -EINVAL;
	if (!strcmp(argv[0], "release_quarantined")) {
		kind = vt_kind(argv[1]);
		if (kind < 0)
			return kind;
		vac_id_release_quarantined(kind);
		return 0;
	}
	if (!strcmp(argv[0], "register"))
		return vt_register(argv[1]);
	t = vt_find(argv[1]);
	if (!t)
		return -ENOENT;
	if (argc >= 3 && strcmp(argv[0], "msr_get") && strcmp(argv[0], "msr_put") &&
	    strncmp(argv[0], "vm_", 3)) {
		kind = vt_kind(argv[2]);
		if (kind < 0)
			return kind;
	}
	for (i = 3; i < argc && i < 7; i++) {
		if (!strcmp(argv[0], "free"))
			break;
		ret = kstrtou32(argv[i], 0, &a[i - 3]);
		if (ret)
			return ret;
	}

	if (!strcmp(argv[0], "unregister")) {
		vt_unregister(t);
		return 0;
	}
	if (!strcmp(argv[0], "range")) {
		u32 base, len;

		vac_asid_range(t->vi, &base, &len);
		scnprintf(vt_out, VT_OUT, "%u %u %u %u %u\n", READ_ONCE(t->base),
			  READ_ONCE(t->len), READ_ONCE(t->calls), base, len);
		return 0;
	}
	if (!strcmp(argv[0], "pmu")) {
		scnprintf(vt_out, VT_OUT, "%u\n", vac_pmu_counters(t->vi));
		return 0;
	}
	if (!strcmp(argv[0], "range_block")) {
		reinit_completion(&t->unblock);
		WRITE_ONCE(t->block, true);
		return 0;
	}
	if (!strcmp(argv[0], "range_unblock")) {
		complete(&t->unblock);
		return 0;
	}
	if (!strcmp(argv[0], "range_blocked")) {
		scnprintf(vt_out, VT_OUT, "%d\n", READ_ONCE(t->blocked));
		return 0;
	}
	if (!strcmp(argv[0], "svm_enable") || !strcmp(argv[0], "svm_disable")) {
		struct vt_svm s = { .vi = t->vi, .enable = argv[0][4] == 'e' };

		on_each_cpu(vt_svm_one, &s, 1);
		return atomic_read(&s.failed) ? -EIO : 0;
	}
	if (!strcmp(argv[0], "msr_get") || !strcmp(argv[0], "msr_put")) {
		u32 msr;

		if (argc < 3)
			return -EINVAL;
		ret = kstrtou32(argv[2], 0, &msr);
		if (ret)
			return ret;
		if (argv[0][4] == 'p')
			return vac_uret_msr_put(t->vi, msr);
		ret = vac_uret_msr_get(t->vi, msr);
		if (ret >= 0)
			scnprintf(vt_out, VT_OUT, "%d\n", ret);
		return ret < 0 ? ret : 0;
	}
	if (!strcmp(argv[0], "vm_add") && argc == 3) {
		u32 n;

		ret = kstrtou32(argv[2], 0, &n);
		if (ret)
			return ret;
		if (n > VT_MAX_VMS - t->nr_vms)
			return -ENOSPC;
		while (n--) {
			/* The cookie is the VM's byte in this instance's array. */
			ret = vac_vm_add(t->vi, &t->vms[t->nr_vms]);
			if (ret)
				return ret;
			t->nr_vms++;
		}
		return 0;
	}
	if (!strcmp(argv[0], "vm_del") && argc == 3) {
		u32 n;

		ret = kstrtou32(argv[2], 0, &n);
		if (ret)
			return ret;
		if (n > t->nr_vms)
			return -ENOENT;
		while (n--)
			vac_vm_del(t->vi, &t->vms[--t->nr_vms]);
		return 0;
	}
	if (kind < 0)
		return -EINVAL;
	if (!strcmp(argv[0], "alloc") && argc == 4)
		return vt_alloc(t, kind, a[0]);
	if (!strcmp(argv[0], "free") && argc == 4)
		return vt_free(t, kind, argv[3]);
	if (!strcmp(argv[0], "quarantine") && argc == 4) {
		ret = vac_id_quarantine(t->vi, kind, a[0]);
		if (!ret && a[0] < VT_MAX_ID)
			clear_bit(a[0], t->held[kind]);
		return ret;
	}
	if (!strcmp(argv[0], "stress") && argc == 6) {
		/* Quota changes and other commands go on meanwhile. */
		char *out = vt_out;

		mutex_unlock(&vt_lock);
		ret = vt_stress(t, kind, a[0], a[1], a[2], out);
		mutex_lock(&vt_lock);
		return ret;
	}
	return -EINVAL;
}

static ssize_t vt_ctl_write(struct file *f, const char __user *ubuf,
			    size_t len, loff_t *ppos)
{
	char *line;
	int ret;

	if (len > 256)
		return -E2BIG;
	line = memdup_user_nul(ubuf, len);
	if (IS_ERR(line))
		return PTR_ERR(line);
	mutex_lock(&vt_lock);
	vt_out = f->private_data;
	ret = vt_exec(line);
	mutex_unlock(&vt_lock);
	kfree(line);
	return ret ? ret : len;
}

static ssize_t vt_ctl_read(struct file *f, char __user *ubuf, size_t len,
			   loff_t *ppos)
{
	const char *out = f->private_data;
	ssize_t ret;

	mutex_lock(&vt_lock);
	ret = simple_read_from_buffer(ubuf, len, ppos, out, strlen(out));
	mutex_unlock(&vt_lock);
	return ret;
}

static int vt_ctl_open(struct inode *inode, struct file *f)
{
	f->private_data = kzalloc(VT_OUT, GFP_KERNEL);
	return f->private_data ? 0 : -ENOMEM;
}

static int vt_ctl_release(struct inode *inode, struct file *f)
{
	kfree(f->private_data);
	return 0;
}

static const struct file_operations vt_ctl_fops = {
	.owner	= THIS_MODULE,
	.open	= vt_ctl_open,
	.release = vt_ctl_release,
	.read	= vt_ctl_read,
	.write	= vt_ctl_write,
	.llseek	= default_llseek,
};

static void vt_unregister_all(void)
{
	int i;

	for (i = 0; i < VT_MAX_INST; i++)
		if (vt_inst[i].vi)
			vt_unregister(&vt_inst[i]);
}

static int __init vt_init(void)
{
	char *list, *p, *name;
	int ret = 0;

	if (instances) {
		list = kstrdup(instances, GFP_KERNEL);
		if (!list)
			return -ENOMEM;
		p = list;
		while (!ret && (name = strsep(&p, ",")))
			if (*name)
				ret = vt_register(name);
		kfree(list);
		if (ret) {
			vt_unregister_all();
			return ret;
		}
	}
	vt_dir = debugfs_create_dir("vac_test", NULL);
	debugfs_create_file("ctl", 0600, vt_dir, NULL, &vt_ctl_fops);
	return 0;
}

static void __exit vt_exit(void)
{
	debugfs_remove(vt_dir);
	vt_bench_unregister();
	vt_unregister_all();
}

module_init(vt_init);
module_exit(vt_exit);
MODULE_DESCRIPTION("VAC test instance module: stands in for KVM builds");
MODULE_LICENSE("GPL");
