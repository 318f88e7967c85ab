// SPDX-License-Identifier: GPL-2.0
/*
 * vmm: a minimal virtual machine monitor over the KVM ioctls, to show that
 * a KVM device runs guests.  One VM, one vCPU, a real-mode guest that
 * counts in EAX and writes every value to an I/O port; the monitor checks
 * that each value is the previous one plus one and reports its progress.
 *
 * With -a AUX the vCPU's TSC_AUX is AUX and the guest also reads it back
 * (RDTSCP) after every value, on PORT + 1: the monitor checks that it
 * always sees AUX, i.e. that the host's user-return MSR handling loaded
 * the guest's value before entry.
 *
 * usage: vmm [-t SECONDS] [-i MILLISECONDS] [-s STATUS_FILE] [-p PORT]
 *            [-a AUX] DEVICE
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#define GUEST_MEM_SIZE	0x10000
#define GUEST_CODE	0x1000
#define GUEST_PORT	0x10	/* default; -p picks another */
#define MSR_TSC_AUX	0xc0000103

/*
 *	mov	dx, 0x10
 *	xor	eax, eax
 * 1:	inc	eax
 *	out	dx, eax
 *	jmp	1b
 */
static const unsigned char guest_code[] = {
	0xba, GUEST_PORT, 0x00,
	0x66, 0x31, 0xc0,
	0x66, 0x40,
	0x66, 0xef,
	0xeb, 0xfa,
};

/*
 *	mov	dx, PORT
 *	xor	eax, eax
 * 1:	inc	eax
 *	out	dx, eax
 *	mov	ebx, eax
 *	rdtscp			; ecx = TSC_AUX
 *	mov	eax, ecx
 *	mov	dx, PORT + 1
 *	out	dx, eax
 *	mov	eax, ebx
 *	mov	dx, PORT
 *	jmp	1b
 */
static const unsigned char guest_code_aux[] = {
	0xba, GUEST_PORT, 0x00,
	0x66, 0x31, 0xc0,
	0x66, 0x40,
	0x66, 0xef,
	0x66, 0x89, 0xc3,
	0x0f, 0x01, 0xf9,
	0x66, 0x89, 0xc8,
	0xba, GUEST_PORT + 1, 0x00,
	0x66, 0xef,
	0x66, 0x89, 0xd8,
	0xba, GUEST_PORT, 0x00,
	0xeb, 0xe6,
};
/* Offsets of the mov dx immediates: PORT, PORT + 1, PORT. */
static const int guest_code_aux_ports[][2] = { { 1, 0 }, { 20, 1 }, { 28, 0 } };

struct vmm {
	const char *dev;
	int kvm_fd, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	void *mem;
	uint16_t port;
	int64_t aux;		/* -a: the guest's TSC_AUX, or -1 */
	uint64_t exits;
	uint32_t value;
	uint64_t aux_reads;
	double max_gap;		/* longest time between two exits */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(const struct vmm *v, const char *what)
{
	fprintf(stderr, "vmm: %s: %s: %s\n", v->dev, what, strerror(errno));
	return -1;
}

static int vmm_create(struct vmm *v)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = GUEST_MEM_SIZE,
	};
	int ret;

	v->kvm_fd = open(v->dev, O_RDWR | O_CLOEXEC);
	if (v->kvm_fd < 0)
		return fail(v, "open");
	ret = ioctl(v->kvm_fd, KVM_GET_API_VERSION, 0);
	if (ret != KVM_API_VERSION) {
		fprintf(stderr, "vmm: %s: KVM API version %d, want %d\n",
			v->dev, ret, KVM_API_VERSION);
		return -1;
	}
	v->vm_fd = ioctl(v->kvm_fd, KVM_CREATE_VM, 0);
	if (v->vm_fd < 0)
		return fail(v, "KVM_CREATE_VM");
	v->mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (v->mem == MAP_FAILED)
		return fail(v, "mmap guest memory");
	if (v->aux < 0) {
		memcpy((char *)v->mem + GUEST_CODE, guest_code, sizeof(guest_code));
		/* mov dx, imm16: the port */
		memcpy((char *)v->mem + GUEST_CODE + 1, &v->port, sizeof(v->port));
	} else {
		memcpy((char *)v->mem + GUEST_CODE, guest_code_aux,
		       sizeof(guest_code_aux));
		for (size_t i = 0; i < sizeof(guest_code_aux_ports) /
				       sizeof(guest_code_aux_ports[0]); i++) {
			uint16_t p = v->port + guest_code_aux_ports[i][1];

			memcpy((char *)v->mem + GUEST_CODE + guest_code_aux_ports[i][0],
			       &p, sizeof(p));
		}
	}
	region.userspace_addr = (uintptr_t)v->mem;
	if (ioctl(v->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail(v, "KVM_SET_USER_MEMORY_REGION");
	v->vcpu_fd = ioctl(v->vm_fd, KVM_CREATE_VCPU, 0);
	if (v->vcpu_fd < 0)
		return fail(v, "KVM_CREATE_VCPU");
	ret = ioctl(v->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (ret < (int)sizeof(struct kvm_run))
		return fail(v, "KVM_GET_VCPU_MMAP_SIZE");
	v->run_size = ret;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->vcpu_fd, 0);
	if (v->run == MAP_FAILED)
		return fail(v, "mmap kvm_run");
	return 0;
}

/* The CPUID KVM supports (RDTSCP among it) and the guest's TSC_AUX. */
static int vmm_set_aux(struct vmm *v)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[256];
	} cpuid = { .c.nent = 256 };
	struct {
		struct kvm_msrs m;
		struct kvm_msr_entry e[1];
	} msrs = {
		.m.nmsrs = 1,
		.e[0] = { .index = MSR_TSC_AUX, .data = (uint64_t)v->aux },
	};

	if (ioctl(v->kvm_fd, KVM_GET_SUPPORTED_CPUID, &cpuid) < 0)
		return fail(v, "KVM_GET_SUPPORTED_CPUID");
	if (ioctl(v->vcpu_fd, KVM_SET_CPUID2, &cpuid) < 0)
		return fail(v, "KVM_SET_CPUID2");
	if (ioctl(v->vcpu_fd, KVM_SET_MSRS, &msrs) != 1)
		return fail(v, "KVM_SET_MSRS TSC_AUX");
	return 0;
}

/* Real mode, CS:IP = 0:GUEST_CODE. */
static int vmm_reset(struct vmm *v)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rip = GUEST_CODE,
		.rflags = 0x2,
	};

	if (ioctl(v->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return fail(v, "KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(v->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return fail(v, "KVM_SET_SREGS");
	if (ioctl(v->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return fail(v, "KVM_SET_REGS");
	return 0;
}

/* One exit: 0 for the expected port write, -1 for anything else. */
static int vmm_exit(struct vmm *v)
{
	struct kvm_run *run = v->run;
	uint32_t value;

	if (run->exit_reason != KVM_EXIT_IO) {
		fprintf(stderr, "vmm: %s: unexpected exit reason %u (hardware reason 0x%llx)\n",
			v->dev, run->exit_reason,
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return -1;
	}
	if (run->io.direction != KVM_EXIT_IO_OUT ||
	    (run->io.port != v->port && (v->aux < 0 || run->io.port != v->port + 1)) ||
	    run->io.size != 4 || run->io.count != 1) {
		fprintf(stderr, "vmm: %s: unexpected I/O: dir %u port 0x%x size %u count %u\n",
			v->dev, run->io.direction, run->io.port, run->io.size,
			run->io.count);
		return -1;
	}
	memcpy(&value, (char *)run + run->io.data_offset, sizeof(value));
	if (run->io.port == v->port + 1) {
		if (value != (uint32_t)v->aux) {
			fprintf(stderr, "vmm: %s: guest read TSC_AUX 0x%x, its value is 0x%x (after %u)\n",
				v->dev, value, (uint32_t)v->aux, v->value);
			return -1;
		}
		v->aux_reads++;
		return 0;
	}
	if (value != v->value + 1) {
		fprintf(stderr, "vmm: %s: guest wrote %u after %u\n", v->dev,
			value, v->value);
		return -1;
	}
	v->value = value;
	v->exits++;
	return 0;
}

/*
 * "exits counter seconds longest-gap", rewritten in place so that a reader
 * sees one whole line.
 */
static void vmm_report(const struct vmm *v, const char *status, double t)
{
	char tmp[4096];
	FILE *f;

	printf("vmm: %s: %" PRIu64 " exits, guest counter %u, %.1f s, longest gap %.3f s",
	       v->dev, v->exits, v->value, t, v->max_gap);
	if (v->aux >= 0)
		printf(", TSC_AUX 0x%x read back %" PRIu64 " times",
		       (uint32_t)v->aux, v->aux_reads);
	putchar('\n');
	fflush(stdout);
	if (!status)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", status);
	f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, "%" PRIu64 " %u %.1f %.3f\n", v->exits, v->value, t,
		v->max_gap);
	if (fclose(f) == 0)
		rename(tmp, status);
}

static int vmm_loop(struct vmm *v, double seconds, double interval,
		    const char *status)
{
	double start = now(), next = start + interval, last = start, t;

	while (!stop) {
		if (ioctl(v->vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			return fail(v, "KVM_RUN");
		}
		if (vmm_exit(v))
			return -1;
		t = now();
		if (t - last > v->max_gap)
			v->max_gap = t - last;
		last = t;
		if (t >= next) {
			vmm_report(v, status, t - start);
			next = t + interval;
		}
		if (seconds > 0 && t - start >= seconds)
			break;
	}
	vmm_report(v, status, now() - start);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vmm [-t SECONDS] [-i MILLISECONDS] [-s STATUS_FILE] [-p PORT] [-a AUX] DEVICE\n"
		"Run a real-mode guest that counts on I/O port PORT (default 0x10) on\n"
		"the KVM device DEVICE for SECONDS (default: until SIGTERM or SIGINT),\n"
		"reporting progress every MILLISECONDS (default 1000) to stdout and\n"
		"STATUS_FILE.  With -a the guest's TSC_AUX is AUX and the guest reads it\n"
		"back (RDTSCP) on PORT + 1 after every value; any other value fails.\n");
}

int main(int argc, char **argv)
{
	struct vmm v = {
		.kvm_fd = -1, .vm_fd = -1, .vcpu_fd = -1, .port = GUEST_PORT,
		.aux = -1,
	};
	unsigned long aux;
	unsigned long port;
	double seconds = 0, interval = 1;
	const char *status = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	char *end;
	int opt;

	while ((opt = getopt(argc, argv, "t:i:s:p:a:h")) != -1) {
		switch (opt) {
		case 't':
			seconds = strtod(optarg, &end);
			if (*end || seconds < 0) {
				fprintf(stderr, "vmm: bad -t '%s'\n", optarg);
				return 2;
			}
			break;
		case 'i':
			interval = strtod(optarg, &end) / 1000;
			if (*end || interval <= 0) {
				fprintf(stderr, "vmm: bad -i '%s'\n", optarg);
				return 2;
			}
			break;
		case 's':
			status = optarg;
			break;
		case 'p':
			port = strtoul(optarg, &end, 0);
			if (*end || !*optarg || port > 0xffff) {
				fprintf(stderr, "vmm: bad -p '%s'\n", optarg);
				return 2;
			}
			v.port = port;
			break;
		case 'a':
			aux = strtoul(optarg, &end, 0);
			if (*end || !*optarg || aux > 0xffffffffUL) {
				fprintf(stderr, "vmm: bad -a '%s'\n", optarg);
				return 2;
			}
			v.aux = aux;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	v.dev = argv[optind];
	/* No SA_RESTART: KVM_RUN returns EINTR and the loop sees stop. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (v.aux >= 0 && v.port == 0xffff) {
		fprintf(stderr, "vmm: -a needs PORT + 1 free: -p below 0xffff\n");
		return 2;
	}
	if (vmm_create(&v) || (v.aux >= 0 && vmm_set_aux(&v)) || vmm_reset(&v))
		return 1;
	return vmm_loop(&v, seconds, interval, status) ? 1 : 0;
}
