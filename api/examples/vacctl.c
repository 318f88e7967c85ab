// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vacctl: vac.ko's state and quotas straight over netlink, for hosts
 * without brokerd and for the demo.
 *
 *   vacctl resources
 *   vacctl instances
 *   vacctl declare NAME | delete NAME
 *   vacctl quota NAME KIND=N... [force]
 *   vacctl allocs NAME
 *   vacctl vms [NAME]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libvac.h"

static int print_resource(const struct vac_resource_info *r, void *arg)
{
	printf("%-13s %9u %9u %9u %9u %9u%s\n", vac_resource_name(r->kind),
	       r->capacity, r->first, r->reserved, r->used,
	       r->capacity - r->reserved, r->overridden ? "  (set by parameter)" : "");
	return 0;
}

static int print_instance(const struct vac_instance_info *in, void *arg)
{
	printf("%s  %s%s%s", in->name,
	       in->state == VAC_INSTANCE_STATE_ONLINE ? "online" : "declared",
	       in->module[0] ? " by " : "", in->module);
	if (in->state == VAC_INSTANCE_STATE_ONLINE)
		printf(", %u VMs", in->vms);
	putchar('\n');
	for (int k = 0; k < VAC_NR_RESOURCES; k++) {
		const struct vac_usage *u = &in->usage[k];

		if (!u->quota && !u->used && !u->failcnt)
			continue;
		printf("  %-13s quota %6u  used %6u  peak %6u  refused %6llu",
		       vac_resource_name(k), u->quota, u->used, u->peak,
		       (unsigned long long)u->failcnt);
		if (u->has_base)
			printf("  range %u-%u", u->base, u->base + u->quota - 1);
		putchar('\n');
	}
	return 0;
}

static int print_run(const struct vac_alloc_run *run, void *arg)
{
	printf("%-13s %u", vac_resource_name(run->kind), run->first);
	if (run->count > 1)
		printf("-%u", run->first + run->count - 1);
	if (run->kind == VAC_RES_MSR_SLOTS)
		printf("  msr 0x%x", run->msr);
	putchar('\n');
	return 0;
}

static int print_vm(const struct vac_vm_info *vm, void *arg)
{
	time_t t = vm->created / 1000000000;
	char when[32];

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	printf("%-13s %6u  pid %-7u %-16s %s\n", vm->instance, vm->id, vm->pid,
	       vm->comm, when);
	return 0;
}

static int quota(struct vac *h, int argc, char **argv)
{
	struct vac_quota q[VAC_NR_RESOURCES];
	bool force = false;
	size_t n = 0;

	for (int i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '='), *end;
		int kind;

		if (!strcmp(argv[i], "force")) {
			force = true;
			continue;
		}
		if (!eq || n == VAC_NR_RESOURCES) {
			fprintf(stderr, "vacctl: expected KIND=N, got '%s'\n", argv[i]);
			return -EINVAL;
		}
		*eq = 0;
		kind = vac_resource_parse(argv[i]);
		if (kind < 0) {
			fprintf(stderr, "vacctl: unknown resource '%s'\n", argv[i]);
			return -EINVAL;
		}
		errno = 0;
		q[n].kind = kind;
		q[n].quota = strtoul(eq + 1, &end, 10);
		if (errno || *end || !eq[1] || eq[1] == '-') {
			fprintf(stderr, "vacctl: bad number '%s'\n", eq + 1);
			return -EINVAL;
		}
		n++;
	}
	return vac_quota_set(h, argv[0], q, n, force);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	struct vac *h;
	int ret;

	ret = vac_open(&h);
	if (ret) {
		fprintf(stderr, "vacctl: %s\n", ret == -ENOENT ?
			"vac.ko is not loaded" : strerror(-ret));
		return 1;
	}
	if (!strcmp(cmd, "resources")) {
		printf("%-13s %9s %9s %9s %9s %9s\n", "resource", "capacity",
		       "first", "reserved", "used", "free");
		ret = vac_resource_dump(h, print_resource, NULL);
	} else if (!strcmp(cmd, "instances")) {
		ret = vac_instance_dump(h, print_instance, NULL);
	} else if (!strcmp(cmd, "declare") && argc == 3) {
		ret = vac_instance_declare(h, argv[2]);
	} else if (!strcmp(cmd, "delete") && argc == 3) {
		ret = vac_instance_delete(h, argv[2]);
	} else if (!strcmp(cmd, "quota") && argc >= 4) {
		ret = quota(h, argc - 2, argv + 2);
	} else if (!strcmp(cmd, "allocs") && argc == 3) {
		ret = vac_alloc_dump(h, argv[2], print_run, NULL);
	} else if (!strcmp(cmd, "vms") && argc <= 3) {
		ret = vac_vm_dump(h, argc == 3 ? argv[2] : NULL, print_vm, NULL);
	} else {
		fprintf(stderr, "usage: vacctl resources | instances | declare NAME | delete NAME\n"
				"              | quota NAME KIND=N... [force] | allocs NAME | vms [NAME]\n");
		ret = -EINVAL;
	}
	if (ret < 0 && *vac_errmsg(h))
		fprintf(stderr, "vacctl: %s: %s\n", strerror(-ret), vac_errmsg(h));
	else if (ret < 0 && ret != -EINVAL)
		fprintf(stderr, "vacctl: %s\n", strerror(-ret));
	vac_close(h);
	return ret < 0 ? 1 : 0;
}
