// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The netlink backend: vac.ko through libvac.  Two handles: one for
 * requests, one subscribed to the monitor group whose fd the daemon's
 * event loop polls.  When the family is absent (vac.ko not loaded, or
 * unloaded since) the backend is down and check() connects again.
 *
 * May call: libvac, base/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/backend.h"

struct nlb {
	struct broker_backend b;
	struct vac *req;
	struct vac *mon;
};

static struct nlb *to_nlb(struct broker_backend *b)
{
	return (struct nlb *)b;
}

static void disconnect(struct nlb *n, const char *why)
{
	n->req = vac_close(n->req);
	n->mon = vac_close(n->mon);
	snprintf(n->b.down, sizeof(n->b.down), "%s", why);
}

/*
 * The outcome of a request: the kernel's reason into errmsg.  A bare
 * ENOENT (no reason) is the genetlink core's answer for a family that no
 * longer exists: the backend is then down.
 */
static int outcome(struct nlb *n, int ret)
{
	snprintf(n->b.errmsg, sizeof(n->b.errmsg), "%s", vac_errmsg(n->req));
	if ((ret == -ENOENT && !n->b.errmsg[0]) || ret == -EIO) {
		disconnect(n, "the vac generic netlink family went away");
		snprintf(n->b.errmsg, sizeof(n->b.errmsg), "%s", n->b.down);
		return -ENOTCONN;
	}
	if (ret < 0 && !n->b.errmsg[0])
		snprintf(n->b.errmsg, sizeof(n->b.errmsg), "%s", strerror(-ret));
	return ret;
}

static int not_connected(struct nlb *n)
{
	snprintf(n->b.errmsg, sizeof(n->b.errmsg), "%s", n->b.down);
	return -ENOTCONN;
}

static bool nl_ready(struct broker_backend *b)
{
	return to_nlb(b)->req;
}

static int nl_connect(struct nlb *n)
{
	int ret;

	ret = vac_open(&n->req);
	if (ret) {
		snprintf(n->b.down, sizeof(n->b.down), ret == -ENOENT ?
			 "vac.ko is not loaded (no generic netlink family \"%s\")" :
			 "cannot open the vac family: %s",
			 ret == -ENOENT ? VAC_FAMILY_NAME : strerror(-ret));
		return ret;
	}
	ret = vac_monitor_open(&n->mon);
	if (ret) {
		char why[200];

		snprintf(why, sizeof(why),
			 "cannot join the vac monitor group: %s%s", strerror(-ret),
			 ret == -EPERM ? " (brokerd needs CAP_NET_ADMIN)" : "");
		disconnect(n, why);
		return ret;
	}
	n->b.down[0] = 0;
	return 1;
}

static int nl_check(struct broker_backend *b)
{
	struct nlb *n = to_nlb(b);
	struct vac_resource_info r;

	if (n->req) {
		if (!outcome(n, vac_resource_get(n->req, VAC_RES_ASIDS, &r)))
			return 0;
		if (n->req)
			disconnect(n, n->b.errmsg);
	}
	/* Maybe back already (vac.ko reloaded between two checks). */
	return nl_connect(n);
}

struct res_fill {
	struct vac_resource_info *out;
	int seen;
};

static int fill_resource(const struct vac_resource_info *r, void *arg)
{
	struct res_fill *f = arg;

	f->out[r->kind] = *r;
	f->seen |= 1 << r->kind;
	return 0;
}

static int nl_resources(struct broker_backend *b,
			struct vac_resource_info out[VAC_NR_RESOURCES])
{
	struct nlb *n = to_nlb(b);
	struct vac_resource_info r[VAC_NR_RESOURCES] = { 0 };
	struct res_fill f = { r, 0 };
	int ret;

	if (!n->req)
		return not_connected(n);
	ret = outcome(n, vac_resource_dump(n->req, fill_resource, &f));
	if (ret)
		return ret;
	if (f.seen != (1 << VAC_NR_RESOURCES) - 1) {
		snprintf(b->errmsg, sizeof(b->errmsg),
			 "the kernel reported only some resource kinds");
		return -EPROTO;
	}
	memcpy(out, r, sizeof(r));
	return 0;
}

static int nl_instance_get(struct broker_backend *b, const char *name,
			   struct vac_instance_info *out)
{
	struct nlb *n = to_nlb(b);

	if (!n->req)
		return not_connected(n);
	return outcome(n, vac_instance_get(n->req, name, out));
}

static int nl_instance_dump(struct broker_backend *b,
			    int (*cb)(const struct vac_instance_info *, void *),
			    void *arg)
{
	struct nlb *n = to_nlb(b);

	if (!n->req)
		return not_connected(n);
	return outcome(n, vac_instance_dump(n->req, cb, arg));
}

static int nl_vm_dump(struct broker_backend *b, const char *name,
		      int (*cb)(const struct vac_vm_info *, void *), void *arg)
{
	struct nlb *n = to_nlb(b);

	if (!n->req)
		return not_connected(n);
	return outcome(n, vac_vm_dump(n->req, name, cb, arg));
}

static int nl_declare(struct broker_backend *b, const char *name)
{
	struct nlb *n = to_nlb(b);

	if (!n->req)
		return not_connected(n);
	return outcome(n, vac_instance_declare(n->req, name));
}

static int nl_remove(struct broker_backend *b, const char *name)
{
	struct nlb *n = to_nlb(b);

	if (!n->req)
		return not_connected(n);
	return outcome(n, vac_instance_delete(n->req, name));
}

static int nl_quota_set(struct broker_backend *b, const char *name,
			const struct vac_quota *q, size_t nq, bool force)
{
	struct nlb *n = to_nlb(b);

	if (!n->req)
		return not_connected(n);
	/* The kernel points at the refused kind by offset; with one, it is it. */
	b->err_kind = nq == 1 ? (int)q[0].kind : -1;
	return outcome(n, vac_quota_set(n->req, name, q, nq, force));
}

static int nl_event_fd(struct broker_backend *b)
{
	struct nlb *n = to_nlb(b);

	return n->mon ? vac_fd(n->mon) : -1;
}

static int nl_events_read(struct broker_backend *b,
			  int (*cb)(const struct vac_event *, void *),
			  void *arg)
{
	struct nlb *n = to_nlb(b);
	int ret;

	if (!n->mon)
		return 0;
	ret = vac_monitor_read(n->mon, cb, arg);
	if (ret == -EIO) {
		disconnect(n, "reading vac events failed");
		return -ENOTCONN;
	}
	return ret;
}

static void nl_destroy(struct broker_backend *b)
{
	struct nlb *n = to_nlb(b);

	if (!n)
		return;
	vac_close(n->req);
	vac_close(n->mon);
	free(n);
}

static const struct broker_backend_ops netlink_ops = {
	.name = "netlink",
	.ready = nl_ready,
	.check = nl_check,
	.resources = nl_resources,
	.instance_get = nl_instance_get,
	.instance_dump = nl_instance_dump,
	.vm_dump = nl_vm_dump,
	.declare = nl_declare,
	.remove = nl_remove,
	.quota_set = nl_quota_set,
	.event_fd = nl_event_fd,
	.events_read = nl_events_read,
	.destroy = nl_destroy,
};

int broker_backend_netlink_new(struct broker_backend **out)
{
	struct nlb *n = calloc(1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	n->b.ops = &netlink_ops;
	n->b.err_kind = -1;
	snprintf(n->b.down, sizeof(n->b.down), "not connected yet");
	*out = &n->b;
	return 0;
}
