// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The local backend: the accounting core of vac.ko, run in process, with
 * the capacities of the configuration.  No module registers here, so
 * instances are only ever declared; the backend still announces its own
 * changes as events, through an eventfd, as vac.ko does on its monitor
 * group, so the daemon handles both backends alike.
 *
 * May call: the accounting core (kernel/vac_core.c), base/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>

#include "vac_core.h"

#include "core/backend.h"

#define LOCAL_EVENTS_MAX 1024

struct local {
	struct broker_backend b;
	struct vac_core core;
	int efd;
	struct vac_event *events;	/* LOCAL_EVENTS_MAX, pending */
	size_t nevents;
	bool overrun;
};

static struct local *to_local(struct broker_backend *b)
{
	return (struct local *)b;
}

static void info_of(const struct vac_core_inst *ci,
		    struct vac_instance_info *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", ci->name);
	out->state = ci->online ? VAC_INSTANCE_STATE_ONLINE :
				  VAC_INSTANCE_STATE_DECLARED;
	for (int k = 0; k < VAC_NR_RESOURCES; k++) {
		out->usage[k].quota = ci->usage[k].quota;
		out->usage[k].used = ci->usage[k].used;
		out->usage[k].peak = ci->usage[k].peak;
		out->usage[k].failcnt = ci->usage[k].failcnt;
	}
	if (ci->usage[VAC_RES_ASIDS].quota) {
		out->usage[VAC_RES_ASIDS].base = ci->asid_base;
		out->usage[VAC_RES_ASIDS].has_base = true;
	}
}

static void announce(struct local *l, enum vac_event_type type,
		     const struct vac_instance_info *info)
{
	uint64_t one = 1;

	if (l->nevents == LOCAL_EVENTS_MAX) {
		l->overrun = true;
		return;
	}
	l->events[l->nevents++] = (struct vac_event){
		.type = type, .refused = -1, .inst = *info,
	};
	if (write(l->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		l->overrun = true;
}

static int fail(struct local *l, int ret, const char *msg)
{
	snprintf(l->b.errmsg, sizeof(l->b.errmsg), "%s", msg);
	return ret;
}

static struct vac_core_inst *find(struct local *l, const char *name)
{
	l->b.errmsg[0] = 0;
	l->b.err_kind = -1;
	return vac_core_find(&l->core, name);
}

static bool local_ready(struct broker_backend *b)
{
	return true;
}

static int local_check(struct broker_backend *b)
{
	return 0;
}

static int local_resources(struct broker_backend *b,
			   struct vac_resource_info out[VAC_NR_RESOURCES])
{
	struct local *l = to_local(b);

	for (int k = 0; k < VAC_NR_RESOURCES; k++) {
		const struct vac_kind *kd = &l->core.kind[k];

		/* Nothing is probed: every capacity comes from the config. */
		out[k] = (struct vac_resource_info){
			.kind = k,
			.capacity = kd->capacity,
			.first = kd->first,
			.reserved = kd->reserved,
			.used = kd->used,
			.overridden = true,
		};
	}
	return 0;
}

static int local_instance_get(struct broker_backend *b, const char *name,
			      struct vac_instance_info *out)
{
	struct local *l = to_local(b);
	struct vac_core_inst *ci = find(l, name);

	if (!ci)
		return fail(l, -ENOENT, "no such instance");
	info_of(ci, out);
	return 0;
}

/* Nothing runs VMs without vac.ko: every instance is drained. */
static int local_vm_dump(struct broker_backend *b, const char *name,
			 int (*cb)(const struct vac_vm_info *, void *), void *arg)
{
	struct local *l = to_local(b);

	return find(l, name) ? 0 : fail(l, -ENOENT, "no such instance");
}

static int local_instance_dump(struct broker_backend *b,
			       int (*cb)(const struct vac_instance_info *, void *),
			       void *arg)
{
	struct local *l = to_local(b);
	struct vac_instance_info info;
	struct vac_core_inst *ci;
	u32 pos = 0;
	int ret;

	for (; (ci = vac_core_next(&l->core, &pos)); pos++) {
		info_of(ci, &info);
		ret = cb(&info, arg);
		if (ret)
			return ret;
	}
	return 0;
}

static int local_declare(struct broker_backend *b, const char *name)
{
	struct local *l = to_local(b);
	struct vac_instance_info info;
	struct vac_core_inst *ci;
	int ret;

	if (find(l, name))
		return fail(l, -EEXIST, "instance exists");
	ret = vac_core_inst_add(&l->core, name, &ci);
	if (ret == -EINVAL)
		return fail(l, ret, "instance name must match [a-z0-9_]{1,31}");
	if (ret == -ENOSPC)
		return fail(l, ret, "too many instances");
	if (ret)
		return ret;
	info_of(ci, &info);
	announce(l, VAC_EVENT_INSTANCE_NEW, &info);
	return 0;
}

static int local_remove(struct broker_backend *b, const char *name)
{
	struct local *l = to_local(b);
	struct vac_core_inst *ci = find(l, name);
	struct vac_instance_info gone;
	int ret;

	if (!ci)
		return fail(l, -ENOENT, "no such instance");
	if (ci->online)
		return fail(l, -EBUSY, "instance is registered by a module");
	/* The deletion event carries the object as it was. */
	info_of(ci, &gone);
	ret = vac_core_inst_del(&l->core, ci);
	if (ret)
		return ret;
	announce(l, VAC_EVENT_INSTANCE_DEL, &gone);
	return 0;
}

static int local_quota_set(struct broker_backend *b, const char *name,
			   const struct vac_quota *q, size_t n, bool force)
{
	struct local *l = to_local(b);
	struct vac_core_inst *ci = find(l, name);
	struct vac_core_quota cq[VAC_NR_RESOURCES];
	struct vac_instance_info info;
	struct vac_err err;
	int ret;

	if (!ci)
		return fail(l, -ENOENT, "no such instance");
	if (!n || n > VAC_NR_RESOURCES)
		return fail(l, -EINVAL, "between one and six quotas, please");
	for (size_t i = 0; i < n; i++) {
		cq[i].kind = q[i].kind;
		cq[i].value = q[i].quota;
	}
	ret = vac_core_quota_set(&l->core, ci, cq, n, force, &err);
	if (ret) {
		l->b.err_kind = err.kind;
		return fail(l, ret, err.msg ? err.msg : "refused");
	}
	info_of(ci, &info);
	announce(l, VAC_EVENT_QUOTA, &info);
	return 0;
}

static int local_event_fd(struct broker_backend *b)
{
	return to_local(b)->efd;
}

static int local_events_read(struct broker_backend *b,
			     int (*cb)(const struct vac_event *, void *),
			     void *arg)
{
	struct local *l = to_local(b);
	bool overrun = l->overrun;
	uint64_t count;
	size_t i, n;
	int ret = 0;

	if (read(l->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return -errno;
	n = l->nevents;
	for (i = 0; i < n && !ret; i++)
		ret = cb(&l->events[i], arg);
	/* Changes made by @cb queue behind the ones just handed out. */
	memmove(l->events, l->events + n, (l->nevents - n) * sizeof(*l->events));
	l->nevents -= n;
	l->overrun = false;
	if (ret)
		return ret;
	return overrun ? -ENOBUFS : (int)n;
}

static void local_destroy(struct broker_backend *b)
{
	struct local *l = to_local(b);

	if (!l)
		return;
	vac_core_fini(&l->core);
	if (l->efd >= 0)
		close(l->efd);
	free(l->events);
	free(l);
}

static const struct broker_backend_ops local_ops = {
	.name = "local",
	.ready = local_ready,
	.check = local_check,
	.resources = local_resources,
	.instance_get = local_instance_get,
	.instance_dump = local_instance_dump,
	.vm_dump = local_vm_dump,
	.declare = local_declare,
	.remove = local_remove,
	.quota_set = local_quota_set,
	.event_fd = local_event_fd,
	.events_read = local_events_read,
	.destroy = local_destroy,
};

int broker_backend_local_new(const struct broker_quotas *capacity,
			     struct broker_backend **out,
			     struct broker_err *err)
{
	u32 cap[VAC_NR_KINDS];
	struct local *l;
	char field[64];
	int ret;

	for (int k = 0; k < VAC_NR_KINDS; k++) {
		cap[k] = capacity->kind[k].v;
		if (cap[k] > vac_cap_limit[k]) {
			snprintf(field, sizeof(field), "local_capacity.%s",
				 vac_resource_name(k));
			broker_err_set(err, field, "%s: must be at most %u",
				       field, vac_cap_limit[k]);
			return -EINVAL;
		}
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->b.ops = &local_ops;
	l->b.err_kind = -1;
	l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	l->events = calloc(LOCAL_EVENTS_MAX, sizeof(*l->events));
	if (l->efd < 0 || !l->events) {
		ret = l->efd < 0 ? -errno : -ENOMEM;
		goto err;
	}
	ret = vac_core_init(&l->core, cap);
	if (ret)
		goto err;
	*out = &l->b;
	return 0;

err:
	broker_err_set(err, NULL, "local backend: %s", strerror(-ret));
	local_destroy(&l->b);
	return ret;
}
