// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A netlink fuzzer for the vac family, run inside the test VM against the
 * real vac.ko: random and mutated requests (valid headers with wrong
 * attributes, wrong types, nesting, lengths, huge counts), first from an
 * unprivileged process, which must change nothing, then from a privileged
 * one while the test module allocates from kernel threads.  Afterwards
 * vac.ko's self-check must pass and every invariant visible from outside
 * must hold; the harness fails the run on any kernel warning.
 *
 * Environment: VAC_KO, VAC_TEST_KO; VAC_FUZZ_ITERS (default 20000 per
 * phase), VAC_FUZZ_SEED.  Prints the figures and "N passed, N failed".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/netlink.h>

#include "vt.h"

static uint64_t rng;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng >> 16;
}

static uint32_t below(uint32_t n)
{
	return n ? rnd() % n : 0;
}

/* ---- message generation ---- */

struct buf {
	uint8_t d[8192];
	size_t n;
};

static void put_attr(struct buf *b, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)(b->d + b->n);
	size_t total = NLA_HDRLEN + len;

	if (b->n + NLA_ALIGN(total) > sizeof(b->d))
		return;
	a->nla_type = type;
	a->nla_len = total;
	memcpy(b->d + b->n + NLA_HDRLEN, data, len);
	b->n += NLA_ALIGN(total);
}

static const char *const names[] = {
	"kvm_a", "kvm_b", "fz_0", "fz_1", "fz_2", "", "KVM", "a-b",
	"x_very_long_name_of_thirty_two_c", "x_long_name_of_exactly_31_chars",
};

static void put_value(struct buf *b, uint16_t type)
{
	uint8_t raw[64];
	uint32_t v32 = below(4) ? below(20) : rnd();
	uint64_t v64 = ((uint64_t)rnd() << 32) | rnd();
	const char *s = names[below(10)];

	switch (below(7)) {
	case 0: put_attr(b, type, &v32, 4); break;
	case 1: put_attr(b, type, &v64, 8); break;
	case 2: put_attr(b, type, &v32, 1 + below(3)); break;
	case 3: put_attr(b, type, s, strlen(s) + 1); break;
	case 4: put_attr(b, type, s, strlen(s)); break;	/* no NUL */
	case 5: put_attr(b, type, NULL, 0); break;	/* flag */
	default:
		for (size_t i = 0; i < sizeof(raw); i++)
			raw[i] = rnd();
		put_attr(b, type, raw, below(sizeof(raw)));
	}
}

static void put_attrs(struct buf *b, int depth)
{
	uint32_t n = below(8) ? below(6) : below(300);	/* now and then many */

	for (uint32_t i = 0; i < n; i++) {
		uint16_t type = below(10) ? 1 + below(9) : rnd();

		if (depth < 3 && below(3) == 0) {
			size_t start = b->n;
			struct nlattr *a;

			if (b->n + NLA_HDRLEN > sizeof(b->d))
				return;
			b->n += NLA_HDRLEN;
			put_attrs(b, depth + 1);
			a = (struct nlattr *)(b->d + start);
			a->nla_type = type | (below(2) ? NLA_F_NESTED : 0);
			a->nla_len = b->n - start;
		} else {
			put_value(b, type);
		}
	}
}

/* A well-formed quota set, to mutate from. */
static void put_quota_set(struct buf *b)
{
	const char *s = names[below(5)];

	put_attr(b, VAC_A_INST_NAME, s, strlen(s) + 1);
	for (uint32_t i = 0, n = 1 + below(7); i < n; i++) {
		size_t start = b->n;
		uint32_t kind = below(7), quota = below(40);
		struct nlattr *a;

		b->n += NLA_HDRLEN;
		put_attr(b, VAC_A_USAGE_KIND, &kind, 4);
		put_attr(b, VAC_A_USAGE_QUOTA, &quota, 4);
		a = (struct nlattr *)(b->d + start);
		a->nla_type = VAC_A_INST_USAGE | NLA_F_NESTED;
		a->nla_len = b->n - start;
	}
	if (below(3) == 0)
		put_attr(b, VAC_A_INST_FORCE, NULL, 0);
}

static void mutate(struct buf *b)
{
	for (uint32_t i = 0, n = below(4); i < n && b->n; i++) {
		size_t at = below(b->n);

		switch (below(3)) {
		case 0: b->d[at] = rnd(); break;
		case 1: b->d[at] ^= 1u << below(8); break;
		default: b->n = at; break;	/* truncate */
		}
	}
}

static void make(struct buf *b, uint8_t *cmd, int *flags)
{
	b->n = 0;
	*cmd = below(10) ? 1 + below(VAC_CMD_ALLOC_GET) : below(256);
	*flags = below(4) == 0 ? NLM_F_DUMP : 0;
	if (*cmd == VAC_CMD_QUOTA_SET && below(2)) {
		put_quota_set(b);
		if (below(2))
			mutate(b);
	} else if (below(3) == 0) {
		const char *s = names[below(10)];

		put_attr(b, VAC_A_INST_NAME, s, strlen(s) + 1);
		if (below(2))
			put_attrs(b, 0);
	} else {
		put_attrs(b, 0);
		if (below(4) == 0)
			mutate(b);
	}
}

/* ---- state as seen from outside ---- */

struct snapshot {
	struct vac_resource_info res[VAC_NR_RESOURCES];
	struct vac_instance_info inst[64];
	int n;
};

static int snap(struct vac *h, struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	for (int k = 0; k < VAC_NR_RESOURCES; k++)
		if (vac_resource_get(h, k, &s->res[k]))
			return -1;
	s->n = vt_dump(h, s->inst, 64);
	return s->n < 0 ? -1 : 0;
}

static int failures, checks;

static void check(bool ok, const char *what)
{
	checks++;
	if (!ok) {
		failures++;
		printf("FAIL: %s\n", what);
	}
}

/* What must hold whatever was sent. */
static void check_invariants(struct vac *h)
{
	struct snapshot s;
	uint64_t used[VAC_NR_RESOURCES] = { 0 };

	check(snap(h, &s) == 0, "state readable");
	for (int i = 0; i < s.n && i < 64; i++)
		for (int k = 0; k < VAC_NR_RESOURCES; k++) {
			used[k] += s.inst[i].usage[k].used;
			check(s.inst[i].usage[k].peak >= s.inst[i].usage[k].used,
			      "peak >= used");
		}
	for (int k = 0; k < VAC_NR_RESOURCES; k++) {
		check(s.res[k].reserved <= s.res[k].capacity,
		      "sum of quotas within capacity");
		if (s.n < 64)
			check(used[k] == s.res[k].used, "used adds up");
	}
	check(vt_vac_check() == 0, "vac.ko self-check");
}

/* ---- phases ---- */

static long iters;

/* per phase: 0 privileged, 1 unprivileged */
static struct stats {
	long sent, accepted;
	long by_errno[140];
} stats[2];

static void fuzz(struct vac *h, int phase)
{
	struct buf b;
	uint8_t cmd;
	int flags;

	for (long i = 0; i < iters; i++) {
		int ret;

		make(&b, &cmd, &flags);
		ret = vac_send_raw(h, cmd, flags, b.d, b.n);
		stats[phase].sent++;
		if (!ret)
			stats[phase].accepted++;
		else if (-ret < 140)
			stats[phase].by_errno[-ret]++;
	}
}

static int unprivileged_phase(struct vac *h)
{
	struct snapshot before, after;
	int fd[2], st;
	pid_t pid;

	if (snap(h, &before) || pipe(fd))
		return -1;
	pid = fork();
	if (pid == 0) {
		struct vac *u;

		close(fd[0]);
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534) ||
		    vac_open(&u))
			_exit(1);
		rng ^= 0x9e3779b97f4a7c15ull;
		fuzz(u, 1);
		_exit(write(fd[1], &stats[1], sizeof(stats[1])) != sizeof(stats[1]));
	}
	close(fd[1]);
	if (read(fd[0], &stats[1], sizeof(stats[1])) != sizeof(stats[1]))
		stats[1].sent = 0;
	close(fd[0]);
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "unprivileged fuzzer ran");
	check(stats[1].sent == iters, "unprivileged fuzzer sent every message");
	/* Changes that pass the attribute policies are refused for want of CAP_SYS_ADMIN. */
	check(stats[1].by_errno[EPERM] > 0, "unprivileged changes refused with EPERM");
	check(snap(h, &after) == 0, "state readable");
	check(!memcmp(&before, &after, sizeof(before)),
	      "nothing changed through the unprivileged process");
	return 0;
}

static void *stress(void *arg)
{
	static char out[256];

	vt_ctl(out, sizeof(out), "stress kvm_a vpids 2 %ld 16", iters);
	return out;
}

int main(void)
{
	const char *e = getenv("VAC_FUZZ_ITERS");
	struct vac *h;
	pthread_t th;
	void *out;

	iters = e ? atol(e) : 20000;
	e = getenv("VAC_FUZZ_SEED");
	rng = e ? strtoull(e, NULL, 0) : 0x5eed5eedull;
	if (!rng)
		rng = 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("nl_fuzz: seed 0x%llx, %ld messages per phase\n",
	       (unsigned long long)rng, iters);

	vt_unload_all();
	if (vt_load_vac("cap_sev_asids=4 cap_sev_es_asids=4 cap_vpids=4096 cap_pmu_counters=6") ||
	    vt_load_test("instances=kvm_a,kvm_b") || vac_open(&h)) {
		printf("FAIL: cannot load vac.ko and vac_test.ko\n0 passed, 1 failed\n");
		return 1;
	}
	check(vt_quota(h, "kvm_a", "asids=3 vpids=64 sev_asids=2", false) == 0 &&
	      vt_quota(h, "kvm_b", "asids=2 vpids=32 msr_slots=4", false) == 0 &&
	      vt_ctl(NULL, 0, "alloc kvm_b vpids 10") == 0 &&
	      vt_ctl(NULL, 0, "msr_get kvm_b 0xc0000103") == 0, "initial state");

	unprivileged_phase(h);

	/* Privileged, while kernel threads allocate and free. */
	pthread_create(&th, NULL, stress, NULL);
	fuzz(h, 0);
	pthread_join(th, &out);
	printf("nl_fuzz: stress during the privileged phase: %s", (char *)out);
	check(strstr(out, "dup=0 ") != NULL, "no ID handed out twice");
	check_invariants(h);

	/* And the module still works and unloads cleanly. */
	check(vt_rmmod("vac_test") == 0, "test module unloads");
	check_invariants(h);
	vac_close(h);
	check(vt_rmmod("vac") == 0, "vac.ko unloads");

	for (int p = 0; p < 2; p++) {
		printf("nl_fuzz: %s: %ld messages, %ld accepted; refused:",
		       p ? "unprivileged" : "privileged", stats[p].sent,
		       stats[p].accepted);
		for (int i = 0; i < 140; i++)
			if (stats[p].by_errno[i])
				printf(" %s=%ld", strerrorname_np(i), stats[p].by_errno[i]);
		printf("\n");
	}
	printf("nl_fuzz: violations found: %d\n", failures);
	printf("%d passed, %d failed\n", checks - failures, failures);
	return failures ? 1 : 0;
}
