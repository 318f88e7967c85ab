// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vac-monitor: print one line per vac event, e.g.
 *
 *   quota kvm_b online asids=4@9 vpids=3/10 ...
 *   vm-new kvm_b vm=7 pid=4242 comm=qemu-system-x86
 *
 * A minimal libvac agent: one poll loop over the event socket and a
 * signalfd.  -n N exits after N events; on overrun it re-reads the state.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "libvac.h"

static void print_instance(const char *what, const struct vac_instance_info *in,
			   int refused)
{
	printf("%s %s %s", what, in->name,
	       in->state == VAC_INSTANCE_STATE_ONLINE ? "online" : "declared");
	if (refused >= 0)
		printf(" refused=%s", vac_resource_name(refused));
	for (int k = 0; k < VAC_NR_RESOURCES; k++) {
		const struct vac_usage *u = &in->usage[k];

		if (!u->quota && !u->used)
			continue;
		if (u->has_base)
			printf(" %s=%u@%u", vac_resource_name(k), u->quota, u->base);
		else
			printf(" %s=%u/%u", vac_resource_name(k), u->used, u->quota);
	}
	putchar('\n');
}

static int on_event(const struct vac_event *ev, void *arg)
{
	long *left = arg;

	if (ev->type == VAC_EVENT_VM_NEW || ev->type == VAC_EVENT_VM_DEL)
		printf("%s %s vm=%u pid=%u comm=%s\n", vac_event_name(ev->type),
		       ev->vm.instance, ev->vm.id, ev->vm.pid, ev->vm.comm);
	else
		print_instance(vac_event_name(ev->type), &ev->inst, ev->refused);
	return --*left == 0 ? 1 : 0;
}

static int on_instance(const struct vac_instance_info *in, void *arg)
{
	print_instance("state", in, -1);
	return 0;
}

int main(int argc, char **argv)
{
	struct vac *mon = NULL, *h = NULL;
	long left = -1;
	sigset_t mask;
	int opt, ret, sfd;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n') {
			fprintf(stderr, "usage: %s [-n EVENTS]\n", argv[0]);
			return 2;
		}
		left = strtol(optarg, NULL, 10);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);

	ret = vac_monitor_open(&mon);
	if (!ret)
		ret = vac_open(&h);
	if (ret) {
		fprintf(stderr, "vac-monitor: %s\n", ret == -ENOENT ?
			"vac.ko is not loaded" : strerror(-ret));
		goto out;
	}
	/* Subscribed first, then the state: nothing falls in between. */
	ret = vac_instance_dump(h, on_instance, NULL);
	printf("ready\n");
	while (!ret) {
		struct pollfd p[2] = {
			{ .fd = vac_fd(mon), .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};

		if (poll(p, 2, -1) < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		if (p[1].revents)
			break;
		if (!p[0].revents)
			continue;
		ret = vac_monitor_read(mon, on_event, &left);
		if (ret == -ENOBUFS) {
			printf("overrun: resynchronising\n");
			ret = vac_instance_dump(h, on_instance, NULL);
			continue;
		}
		if (ret < 0 || !left)
			break;
		ret = 0;
	}
	if (!left)
		ret = 0;
	if (ret < 0)
		fprintf(stderr, "vac-monitor: %s %s\n", strerror(-ret),
			vac_errmsg(h));
out:
	vac_close(h);
	vac_close(mon);
	return ret < 0 ? 1 : 0;
}
