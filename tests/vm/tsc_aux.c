// SPDX-License-Identifier: GPL-2.0
/*
 * tsc_aux: check that user space sees the host's TSC_AUX on every CPU.
 * Linux sets it to (node << 12) | cpu; KVM loads a guest's value and the
 * user-return notifier (VAC's, for the KVM builds of kvm/) must restore
 * the host's before any return to user space.  Exit 0 if every online
 * CPU (the CPUs this process may run on) reads back its own number
 * ROUNDS times, 1 otherwise.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

#define ROUNDS 1000

static unsigned int rdtscp_aux(void)
{
	unsigned int lo, hi, aux;

	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
	return aux;
}

int main(void)
{
	cpu_set_t online;
	int bad = 0, ncpu = 0;

	/* Online CPUs need not be numbered 0..n-1 once some went offline. */
	if (sched_getaffinity(0, sizeof(online), &online)) {
		perror("tsc_aux: sched_getaffinity");
		return 1;
	}
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		cpu_set_t set;

		if (!CPU_ISSET(cpu, &online))
			continue;
		ncpu++;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			perror("tsc_aux: sched_setaffinity");
			return 1;
		}
		for (int i = 0; i < ROUNDS; i++) {
			unsigned int aux = rdtscp_aux();

			if ((aux & 0xfff) != (unsigned int)cpu) {
				fprintf(stderr, "tsc_aux: CPU %d reads TSC_AUX 0x%x\n",
					cpu, aux);
				bad = 1;
				break;
			}
			if (i % 100 == 0)
				sched_yield();
		}
	}
	if (!bad)
		printf("tsc_aux: %d CPUs read their own number %d times each\n",
		       ncpu, ROUNDS);
	return bad;
}
