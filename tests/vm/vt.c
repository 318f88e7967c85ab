// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#define _GNU_SOURCE
#include "vt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define VT_CTL "/sys/kernel/debug/vac_test/ctl"

int vt_insmod(const char *path, const char *params)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params ? params : "", 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

int vt_rmmod(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

static const char *env_path(const char *var)
{
	const char *p = getenv(var);

	if (!p) {
		fprintf(stderr, "vt: %s is not set\n", var);
		abort();
	}
	return p;
}

int vt_load_vac(const char *params)
{
	return vt_insmod(env_path("VAC_KO"), params);
}

int vt_load_test(const char *params)
{
	return vt_insmod(env_path("VAC_TEST_KO"), params);
}

void vt_unload_all(void)
{
	vt_rmmod("vac_test");
	vt_rmmod("vac");
}

int vt_become_nobody(uint64_t caps)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = {
		{ .effective = (uint32_t)caps, .permitted = (uint32_t)caps },
		{ .effective = caps >> 32, .permitted = caps >> 32 },
	};

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) ||
	    setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534) ||
	    syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}

int vt_cpu_online(int cpu, bool online)
{
	char path[64];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, online ? "1" : "0", 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}

int vt_vac_check(void)
{
	char buf[256] = "";
	int fd = open("/sys/kernel/debug/vac/check", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	if (strcmp(buf, "ok\n")) {
		fprintf(stderr, "vac self-check: %s", buf);
		return -EUCLEAN;
	}
	return 0;
}

int vt_ctl(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[256];
	va_list ap;
	ssize_t n;
	int fd, ret = 0;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fd = open(VT_CTL, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, cmd, strlen(cmd)) < 0)
		ret = -errno;
	if (!ret && out) {
		n = pread(fd, out, outlen - 1, 0);
		out[n > 0 ? n : 0] = 0;
	}
	close(fd);
	return ret;
}

/* ---- libvac conveniences ---- */

int vt_quota(struct vac *h, const char *name, const char *spec, bool force)
{
	struct vac_quota q[16];
	char *copy = strdup(spec), *p = copy, *tok;
	size_t n = 0;
	int ret;

	while ((tok = strsep(&p, " ")) && n < 16) {
		char *eq = strchr(tok, '=');

		if (!eq)
			continue;
		*eq = 0;
		ret = vac_resource_parse(tok);
		q[n].kind = ret < 0 ? 99 : ret;
		q[n++].quota = strtoul(eq + 1, NULL, 0);
	}
	free(copy);
	return vac_quota_set(h, name, q, n, force);
}

struct dump_arg {
	struct vac_instance_info *out;
	int max, n;
};

static int dump_cb(const struct vac_instance_info *in, void *arg)
{
	struct dump_arg *d = arg;

	if (d->n < d->max)
		d->out[d->n] = *in;
	d->n++;
	return 0;
}

int vt_dump(struct vac *h, struct vac_instance_info *out, int max)
{
	struct dump_arg d = { out, max, 0 };
	int ret = vac_instance_dump(h, dump_cb, &d);

	return ret ? ret : d.n;
}

/* Events read but not yet handed out: vac_monitor_read() drains all. */
static struct vac_event queue[64];
static int queued, head;

static int queue_cb(const struct vac_event *ev, void *arg)
{
	if (queued < 64)
		queue[queued++] = *ev;
	return 0;
}

int vt_event(struct vac *mon, struct vac_event *ev, int ms)
{
	struct pollfd p = { .fd = vac_fd(mon), .events = POLLIN };

	if (head == queued) {
		head = queued = 0;
		if (poll(&p, 1, ms) <= 0 || vac_monitor_read(mon, queue_cb, NULL) <= 0)
			return -ETIMEDOUT;
	}
	*ev = queue[head++];
	return 0;
}
