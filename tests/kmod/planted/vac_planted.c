// SPDX-License-Identifier: GPL-2.0
/*
 * Bugs planted on purpose, for the debugvm tier to prove that it catches
 * them (tests/vm/planted-test): loaded with bugs=LIST, a comma-separated
 * list of
 *   lockorder  two mutexes taken in both orders (lockdep)
 *   leak       a kmalloc() nobody frees (kmemleak)
 *   sleep      a GFP_KERNEL allocation under a spinlock (DEBUG_ATOMIC_SLEEP)
 *   uaf        a read of freed memory (KASAN, which panics the guest)
 * Built for the debug kernel only; never load it anywhere else.
 */
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

static char *bugs = "";
module_param(bugs, charp, 0444);
MODULE_PARM_DESC(bugs, "comma-separated: lockorder, leak, sleep, uaf");

static DEFINE_MUTEX(planted_a);
static DEFINE_MUTEX(planted_b);
static DEFINE_SPINLOCK(planted_spin);

static bool want(const char *bug)
{
	const char *p = bugs;
	size_t n = strlen(bug);

	while (*p) {
		if (!strncmp(p, bug, n) && (p[n] == ',' || !p[n]))
			return true;
		p = strchrnul(p, ',');
		if (*p)
			p++;
	}
	return false;
}

static int __init planted_init(void)
{
	if (want("lockorder")) {
		mutex_lock(&planted_a);
		mutex_lock(&planted_b);
		mutex_unlock(&planted_b);
		mutex_unlock(&planted_a);
		mutex_lock(&planted_b);
		mutex_lock(&planted_a);
		mutex_unlock(&planted_a);
		mutex_unlock(&planted_b);
	}
	if (want("leak")) {
		void *p = kmalloc(96, GFP_KERNEL);

		if (p)
			memset(p, 0x5a, 96);
		OPTIMIZER_HIDE_VAR(p);
	}
	if (want("sleep")) {
		void *p;

		/* might_sleep() in the allocator: reported whether it sleeps or not. */
		spin_lock(&planted_spin);
		p = kmalloc(32, GFP_KERNEL);
		spin_unlock(&planted_spin);
		kfree(p);
	}
	if (want("uaf")) {
		char *p = kmalloc(32, GFP_KERNEL);

		if (!p)
			return -ENOMEM;
		kfree(p);
		OPTIMIZER_HIDE_VAR(p);
		pr_info("vac_planted: read after free: %d\n", READ_ONCE(p[8]));
	}
	return 0;
}

static void __exit planted_exit(void)
{
}

module_init(planted_init);
module_exit(planted_exit);
MODULE_DESCRIPTION("bugs planted for the debug kernel's checks to find");
MODULE_LICENSE("GPL");
