// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libvac over libnl-genl.  See libvac.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "libvac.h"

#define VAC_EXPORT __attribute__((visibility("default")))

struct vac {
	struct nl_sock *sk;
	struct nl_cb *cb;
	int family;
	int mcgrp;
	int err;		/* status of the request in flight */
	bool done;
	char errmsg[256];
	int err_offset;
	int err_missing;
	/* the reply handler of the request in flight */
	int (*parse)(struct vac *h, struct nlmsghdr *nlh, void *arg);
	void *arg;
	int cb_ret;		/* a caller's callback asked to stop */
	bool intr;		/* the dump was flagged NLM_F_DUMP_INTR */
};

static const char *const resource_names[VAC_NR_RESOURCES] = {
	[VAC_RES_ASIDS]		= "asids",
	[VAC_RES_SEV_ASIDS]	= "sev_asids",
	[VAC_RES_SEV_ES_ASIDS]	= "sev_es_asids",
	[VAC_RES_VPIDS]		= "vpids",
	[VAC_RES_PMU_COUNTERS]	= "pmu_counters",
	[VAC_RES_MSR_SLOTS]	= "msr_slots",
};

VAC_EXPORT const char *vac_resource_name(enum vac_res kind)
{
	return (unsigned int)kind < VAC_NR_RESOURCES ? resource_names[kind] : NULL;
}

VAC_EXPORT int vac_resource_parse(const char *name)
{
	for (int k = 0; k < VAC_NR_RESOURCES; k++)
		if (!strcmp(name, resource_names[k]))
			return k;
	return -EINVAL;
}

VAC_EXPORT const char *vac_event_name(enum vac_event_type type)
{
	switch (type) {
	case VAC_EVENT_INSTANCE_NEW:		return "instance-new";
	case VAC_EVENT_INSTANCE_DEL:		return "instance-del";
	case VAC_EVENT_INSTANCE_ONLINE:		return "instance-online";
	case VAC_EVENT_INSTANCE_OFFLINE:	return "instance-offline";
	case VAC_EVENT_QUOTA:			return "quota";
	case VAC_EVENT_ALLOC_REFUSED:		return "alloc-refused";
	case VAC_EVENT_VM_NEW:			return "vm-new";
	case VAC_EVENT_VM_DEL:			return "vm-del";
	}
	return NULL;
}

VAC_EXPORT bool vac_name_ok(const char *name)
{
	size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_");

	return n && !name[n] && n < VAC_NAME_LEN;
}

VAC_EXPORT const char *vac_errmsg(const struct vac *h)
{
	return h ? h->errmsg : "";
}

VAC_EXPORT int vac_err_offset(const struct vac *h)
{
	return h ? h->err_offset : -1;
}

VAC_EXPORT int vac_err_missing(const struct vac *h)
{
	return h ? h->err_missing : -1;
}

VAC_EXPORT int vac_fd(const struct vac *h)
{
	return h ? nl_socket_get_fd(h->sk) : -EBADF;
}

/* ---- replies ---- */

static void ext_ack(struct vac *h, const struct nlmsghdr *nlh, size_t off)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || nlh->nlmsg_len <= off ||
	    nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)nlh + off),
		      nlh->nlmsg_len - off, NULL))
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(h->errmsg, sizeof(h->errmsg), "%.*s",
			 nla_len(tb[NLMSGERR_ATTR_MSG]),
			 (char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
	if (tb[NLMSGERR_ATTR_OFFS])
		h->err_offset = nla_get_u32(tb[NLMSGERR_ATTR_OFFS]);
	if (tb[NLMSGERR_ATTR_MISS_TYPE])
		h->err_missing = nla_get_u32(tb[NLMSGERR_ATTR_MISS_TYPE]);
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct vac *h = arg;
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	size_t off = NLMSG_HDRLEN + sizeof(*e);

	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	h->err = e->error;
	h->done = true;
	if (e->error)
		ext_ack(h, nlh, off);
	return NL_STOP;
}

static int on_done(struct nl_msg *msg, void *arg)
{
	struct vac *h = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	/* A dump's status, and a reason if it failed. */
	if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
		h->err = *(int *)nlmsg_data(nlh);
		if (h->err)
			ext_ack(h, nlh, NLMSG_HDRLEN + sizeof(int));
	}
	h->done = true;
	return NL_STOP;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	((struct vac *)arg)->done = true;
	return NL_STOP;
}

static int on_dump_intr(struct nl_msg *msg, void *arg)
{
	((struct vac *)arg)->intr = true;
	return NL_OK;
}

/* Events carry no sequence number. */
static int any_seq(struct nl_msg *msg, void *arg)
{
	return NL_OK;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct vac *h = arg;
	int ret;

	if (!h->parse || h->cb_ret)
		return NL_OK;
	ret = h->parse(h, nlmsg_hdr(msg), h->arg);
	if (ret)
		h->cb_ret = ret;
	return NL_OK;
}

static int vac_connect(struct vac **out, bool monitor)
{
	struct vac *h;
	int one = 1, ret = -ENOMEM;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->sk = nl_socket_alloc();
	h->cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!h->sk || !h->cb)
		goto err;
	ret = -EIO;
	if (genl_connect(h->sk))
		goto err;
	setsockopt(nl_socket_get_fd(h->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(h->sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	ret = -ENOENT;
	h->family = genl_ctrl_resolve(h->sk, VAC_FAMILY_NAME);
	if (h->family < 0)
		goto err;
	h->mcgrp = genl_ctrl_resolve_grp(h->sk, VAC_FAMILY_NAME,
					 VAC_MCGRP_MONITOR);
	nl_cb_err(h->cb, NL_CB_CUSTOM, on_error, h);
	nl_cb_set(h->cb, NL_CB_FINISH, NL_CB_CUSTOM, on_done, h);
	nl_cb_set(h->cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, h);
	nl_cb_set(h->cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, h);
	nl_cb_set(h->cb, NL_CB_DUMP_INTR, NL_CB_CUSTOM, on_dump_intr, h);
	if (monitor) {
		nl_cb_set(h->cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, any_seq, NULL);
		nl_socket_set_nonblocking(h->sk);
		nl_socket_set_buffer_size(h->sk, 1 << 20, 0);
		ret = h->mcgrp < 0 ? h->mcgrp : 0;
		if (!ret && nl_socket_add_membership(h->sk, h->mcgrp))
			ret = -errno ? -errno : -EPERM;
		if (ret)
			goto err;
	}
	*out = h;
	return 0;

err:
	vac_close(h);
	return ret;
}

VAC_EXPORT int vac_open(struct vac **out)
{
	return vac_connect(out, false);
}

VAC_EXPORT int vac_monitor_open(struct vac **out)
{
	return vac_connect(out, true);
}

VAC_EXPORT struct vac *vac_close(struct vac *h)
{
	if (!h)
		return NULL;
	nl_cb_put(h->cb);
	nl_socket_free(h->sk);
	free(h);
	return NULL;
}

/* A request with room for @len bytes of attributes beyond a page. */
static struct nl_msg *request_size(struct vac *h, uint8_t cmd, int flags,
				   size_t len)
{
	struct nl_msg *msg = nlmsg_alloc_size(NLMSG_HDRLEN + GENL_HDRLEN +
					      NLMSG_ALIGN(len) + 4096);

	if (msg && !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, h->family, 0,
				flags | NLM_F_ACK, cmd, VAC_FAMILY_VERSION)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

static struct nl_msg *request(struct vac *h, uint8_t cmd, int flags)
{
	return request_size(h, cmd, flags, 0);
}

/* Send @msg (consumed, may be NULL after a failed build) and wait. */
static int transact(struct vac *h, struct nl_msg *msg,
		    int (*parse)(struct vac *, struct nlmsghdr *, void *),
		    void *arg)
{
	int ret;

	h->errmsg[0] = 0;
	h->err_offset = -1;
	h->err_missing = -1;
	if (!msg)
		return -ENOMEM;
	h->err = 0;
	h->done = false;
	h->cb_ret = 0;
	h->intr = false;
	h->parse = parse;
	h->arg = arg;
	ret = nl_send_auto(h->sk, msg);
	nlmsg_free(msg);
	if (ret < 0)
		return -EIO;
	while (!h->done) {
		ret = nl_recvmsgs(h->sk, h->cb);
		if (ret < 0 && !h->done)
			return ret == -NLE_NOMEM ? -ENOBUFS : -EIO;
	}
	h->parse = NULL;
	return h->err ? h->err : h->cb_ret;
}

/* ---- objects ---- */

static int parse_resource(struct nlmsghdr *nlh, struct vac_resource_info *r)
{
	struct nlattr *tb[VAC_A_RES_MAX + 1];

	memset(r, 0, sizeof(*r));
	if (genlmsg_parse(nlh, 0, tb, VAC_A_RES_MAX, NULL) ||
	    !tb[VAC_A_RES_KIND] || !tb[VAC_A_RES_CAPACITY])
		return -EPROTO;
	r->kind = nla_get_u32(tb[VAC_A_RES_KIND]);
	if (r->kind >= VAC_NR_RESOURCES)
		return -EPROTO;
#define U32(a) (tb[a] ? nla_get_u32(tb[a]) : 0)
	r->probed = U32(VAC_A_RES_PROBED);
	r->capacity = U32(VAC_A_RES_CAPACITY);
	r->first = U32(VAC_A_RES_FIRST);
	r->reserved = U32(VAC_A_RES_RESERVED);
	r->used = U32(VAC_A_RES_USED);
	r->quarantined = U32(VAC_A_RES_QUARANTINED);
#undef U32
	r->overridden = tb[VAC_A_RES_OVERRIDDEN];
	return 0;
}

static int parse_instance(struct nlmsghdr *nlh, struct vac_instance_info *in,
			  int *refused)
{
	struct genlmsghdr *gh = nlmsg_data(nlh);
	struct nlattr *tb[VAC_A_INST_MAX + 1];
	struct nlattr *a;
	int rem;

	memset(in, 0, sizeof(*in));
	if (genlmsg_parse(nlh, 0, tb, VAC_A_INST_MAX, NULL) ||
	    !tb[VAC_A_INST_NAME])
		return -EPROTO;
	snprintf(in->name, sizeof(in->name), "%s", nla_get_string(tb[VAC_A_INST_NAME]));
	if (tb[VAC_A_INST_MODULE])
		snprintf(in->module, sizeof(in->module), "%s",
			 nla_get_string(tb[VAC_A_INST_MODULE]));
	if (tb[VAC_A_INST_STATE])
		in->state = nla_get_u32(tb[VAC_A_INST_STATE]);
	if (tb[VAC_A_INST_VMS])
		in->vms = nla_get_u32(tb[VAC_A_INST_VMS]);
	if (refused)
		*refused = tb[VAC_A_INST_REFUSED] ?
			   (int)nla_get_u32(tb[VAC_A_INST_REFUSED]) : -1;
	nla_for_each_attr(a, genlmsg_attrdata(gh, 0), genlmsg_attrlen(gh, 0), rem) {
		struct nlattr *u[VAC_A_USAGE_MAX + 1];
		struct vac_usage *us;
		uint32_t k;

		if (nla_type(a) != VAC_A_INST_USAGE)
			continue;
		if (nla_parse_nested(u, VAC_A_USAGE_MAX, a, NULL) ||
		    !u[VAC_A_USAGE_KIND])
			return -EPROTO;
		k = nla_get_u32(u[VAC_A_USAGE_KIND]);
		if (k >= VAC_NR_RESOURCES)
			continue;	/* a kind newer than this library */
		us = &in->usage[k];
#define U32(a) (u[a] ? nla_get_u32(u[a]) : 0)
		us->quota = U32(VAC_A_USAGE_QUOTA);
		us->used = U32(VAC_A_USAGE_USED);
		us->peak = U32(VAC_A_USAGE_PEAK);
		us->base = U32(VAC_A_USAGE_BASE);
#undef U32
		us->failcnt = u[VAC_A_USAGE_FAILCNT] ?
			      nla_get_u64(u[VAC_A_USAGE_FAILCNT]) : 0;
		us->has_base = u[VAC_A_USAGE_BASE];
	}
	return 0;
}

static int parse_vm(struct nlmsghdr *nlh, struct vac_vm_info *vm)
{
	struct nlattr *tb[VAC_A_VM_MAX + 1];

	memset(vm, 0, sizeof(*vm));
	if (genlmsg_parse(nlh, 0, tb, VAC_A_VM_MAX, NULL) ||
	    !tb[VAC_A_VM_INSTANCE] || !tb[VAC_A_VM_ID])
		return -EPROTO;
	snprintf(vm->instance, sizeof(vm->instance), "%s",
		 nla_get_string(tb[VAC_A_VM_INSTANCE]));
	vm->id = nla_get_u32(tb[VAC_A_VM_ID]);
	if (tb[VAC_A_VM_PID])
		vm->pid = nla_get_u32(tb[VAC_A_VM_PID]);
	if (tb[VAC_A_VM_COMM])
		snprintf(vm->comm, sizeof(vm->comm), "%s",
			 nla_get_string(tb[VAC_A_VM_COMM]));
	if (tb[VAC_A_VM_CREATED])
		vm->created = nla_get_u64(tb[VAC_A_VM_CREATED]);
	return 0;
}

/* Reply handlers: one object into *arg, or each object to a callback. */

struct each {
	void *cb;
	void *arg;
};

static int one_resource(struct vac *h, struct nlmsghdr *nlh, void *arg)
{
	return parse_resource(nlh, arg);
}

static int each_resource(struct vac *h, struct nlmsghdr *nlh, void *arg)
{
	struct each *e = arg;
	struct vac_resource_info r;
	int ret = parse_resource(nlh, &r);

	return ret ? ret : ((int (*)(const struct vac_resource_info *, void *))e->cb)(&r, e->arg);
}

static int one_instance(struct vac *h, struct nlmsghdr *nlh, void *arg)
{
	return parse_instance(nlh, arg, NULL);
}

/*
 * A dump's objects, kept until the dump is known not to have been
 * interrupted by a change (NLM_F_DUMP_INTR), then handed to the caller.
 */
struct collect {
	char *items;
	size_t size, n, cap;
};

static int collect_add(struct collect *c, const void *item)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		char *items = realloc(c->items, cap * c->size);

		if (!items)
			return -ENOMEM;
		c->items = items;
		c->cap = cap;
	}
	memcpy(c->items + c->n++ * c->size, item, c->size);
	return 0;
}

static int collect_instance(struct vac *h, struct nlmsghdr *nlh, void *arg)
{
	struct vac_instance_info in;
	int ret = parse_instance(nlh, &in, NULL);

	return ret ? ret : collect_add(arg, &in);
}

static int collect_vm(struct vac *h, struct nlmsghdr *nlh, void *arg)
{
	struct vac_vm_info vm;
	int ret = parse_vm(nlh, &vm);

	return ret ? ret : collect_add(arg, &vm);
}

static int collect_runs(struct vac *h, struct nlmsghdr *nlh, void *arg)
{
	struct genlmsghdr *gh = nlmsg_data(nlh);
	struct nlattr *a;
	int rem, ret;

	nla_for_each_attr(a, genlmsg_attrdata(gh, 0), genlmsg_attrlen(gh, 0), rem) {
		struct nlattr *t[VAC_A_ALLOC_MAX + 1];
		struct vac_alloc_run run = { 0 };

		if (nla_type(a) != VAC_A_INST_ALLOC)
			continue;
		if (nla_parse_nested(t, VAC_A_ALLOC_MAX, a, NULL) ||
		    !t[VAC_A_ALLOC_KIND] || !t[VAC_A_ALLOC_FIRST] ||
		    !t[VAC_A_ALLOC_COUNT])
			return -EPROTO;
		run.kind = nla_get_u32(t[VAC_A_ALLOC_KIND]);
		run.first = nla_get_u32(t[VAC_A_ALLOC_FIRST]);
		run.count = nla_get_u32(t[VAC_A_ALLOC_COUNT]);
		if (t[VAC_A_ALLOC_MSR])
			run.msr = nla_get_u32(t[VAC_A_ALLOC_MSR]);
		ret = collect_add(arg, &run);
		if (ret)
			return ret;
	}
	return 0;
}

#define DUMP_TRIES	5

/*
 * Dump into @c until a dump comes through unchanged, then hand each
 * object to @cb (a non-zero return stops and is returned).
 */
static int consistent_dump(struct vac *h, struct nl_msg *(*req)(struct vac *, const char *),
			   const char *name,
			   int (*parse)(struct vac *, struct nlmsghdr *, void *),
			   size_t size, int (*cb)(const void *, void *), void *arg)
{
	struct collect c = { .size = size };
	int ret = -EAGAIN, tries;

	for (tries = 0; tries < DUMP_TRIES && ret == -EAGAIN; tries++) {
		c.n = 0;
		ret = transact(h, req(h, name), parse, &c);
		if (!ret && h->intr)
			ret = -EAGAIN;
	}
	for (size_t i = 0; !ret && i < c.n; i++)
		ret = cb(c.items + i * c.size, arg);
	free(c.items);
	return ret;
}

static struct nl_msg *name_request(struct vac *h, uint8_t cmd, int flags,
				   const char *name)
{
	struct nl_msg *msg = request(h, cmd, flags);

	if (msg && nla_put_string(msg, VAC_A_INST_NAME, name)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

VAC_EXPORT int vac_resource_get(struct vac *h, enum vac_res kind,
				struct vac_resource_info *out)
{
	struct vac_resource_info r;
	struct nl_msg *msg = request(h, VAC_CMD_RESOURCE_GET, 0);
	int ret;

	if (msg && nla_put_u32(msg, VAC_A_RES_KIND, kind)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	ret = transact(h, msg, one_resource, &r);
	if (!ret)
		*out = r;
	return ret;
}

VAC_EXPORT int vac_resource_dump(struct vac *h,
				 int (*cb)(const struct vac_resource_info *, void *),
				 void *arg)
{
	struct each e = { (void *)cb, arg };

	return transact(h, request(h, VAC_CMD_RESOURCE_GET, NLM_F_DUMP),
			each_resource, &e);
}

VAC_EXPORT int vac_instance_get(struct vac *h, const char *name,
				struct vac_instance_info *out)
{
	struct vac_instance_info in;
	int ret;

	ret = transact(h, name_request(h, VAC_CMD_INSTANCE_GET, 0, name),
		       one_instance, &in);
	if (!ret)
		*out = in;
	return ret;
}

static struct nl_msg *instance_dump_request(struct vac *h, const char *unused)
{
	return request(h, VAC_CMD_INSTANCE_GET, NLM_F_DUMP);
}

VAC_EXPORT int vac_instance_dump(struct vac *h,
				 int (*cb)(const struct vac_instance_info *, void *),
				 void *arg)
{
	return consistent_dump(h, instance_dump_request, NULL, collect_instance,
			       sizeof(struct vac_instance_info),
			       (int (*)(const void *, void *))cb, arg);
}

VAC_EXPORT int vac_instance_declare(struct vac *h, const char *name)
{
	return transact(h, name_request(h, VAC_CMD_INSTANCE_NEW, 0, name),
			NULL, NULL);
}

VAC_EXPORT int vac_instance_delete(struct vac *h, const char *name)
{
	return transact(h, name_request(h, VAC_CMD_INSTANCE_DEL, 0, name),
			NULL, NULL);
}

VAC_EXPORT int vac_quota_set(struct vac *h, const char *name,
			     const struct vac_quota *q, size_t n, bool force)
{
	struct nl_msg *msg = name_request(h, VAC_CMD_QUOTA_SET, 0, name);

	for (size_t i = 0; msg && i < n; i++) {
		struct nlattr *nest = nla_nest_start(msg, VAC_A_INST_USAGE);

		if (!nest || nla_put_u32(msg, VAC_A_USAGE_KIND, q[i].kind) ||
		    nla_put_u32(msg, VAC_A_USAGE_QUOTA, q[i].quota)) {
			nlmsg_free(msg);
			msg = NULL;
			break;
		}
		nla_nest_end(msg, nest);
	}
	if (msg && force && nla_put_flag(msg, VAC_A_INST_FORCE)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return transact(h, msg, NULL, NULL);
}

static struct nl_msg *alloc_dump_request(struct vac *h, const char *name)
{
	return name_request(h, VAC_CMD_ALLOC_GET, NLM_F_DUMP, name);
}

VAC_EXPORT int vac_alloc_dump(struct vac *h, const char *name,
			      int (*cb)(const struct vac_alloc_run *, void *),
			      void *arg)
{
	return consistent_dump(h, alloc_dump_request, name, collect_runs,
			       sizeof(struct vac_alloc_run),
			       (int (*)(const void *, void *))cb, arg);
}

static struct nl_msg *vm_dump_request(struct vac *h, const char *name)
{
	struct nl_msg *msg = request(h, VAC_CMD_VM_GET, NLM_F_DUMP);

	if (msg && name && nla_put_string(msg, VAC_A_VM_INSTANCE, name)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

VAC_EXPORT int vac_vm_dump(struct vac *h, const char *name,
			   int (*cb)(const struct vac_vm_info *, void *),
			   void *arg)
{
	return consistent_dump(h, vm_dump_request, name, collect_vm,
			       sizeof(struct vac_vm_info),
			       (int (*)(const void *, void *))cb, arg);
}

VAC_EXPORT int vac_send_raw(struct vac *h, uint8_t cmd, int flags,
			    const void *attrs, size_t len)
{
	struct nl_msg *msg = request_size(h, cmd, flags, len);

	if (msg && len && nlmsg_append(msg, (void *)attrs, len, 0)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return transact(h, msg, NULL, NULL);
}

/* ---- events ---- */

struct event_arg {
	int (*cb)(const struct vac_event *, void *);
	void *arg;
	int count;
	int ret;
};

static int on_event(struct nl_msg *msg, void *arg)
{
	struct event_arg *ea = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gh = nlmsg_data(nlh);
	struct vac_event ev;

	if (ea->ret)
		return NL_SKIP;
	memset(&ev, 0, sizeof(ev));
	if (gh->cmd == VAC_CMD_VM_NEW_NTF || gh->cmd == VAC_CMD_VM_DEL_NTF) {
		if (parse_vm(nlh, &ev.vm))
			return NL_SKIP;
		snprintf(ev.inst.name, sizeof(ev.inst.name), "%s", ev.vm.instance);
		ev.refused = -1;
	} else if (gh->cmd < VAC_CMD_INSTANCE_NEW_NTF ||
		   gh->cmd > VAC_CMD_ALLOC_REFUSED_NTF ||
		   parse_instance(nlh, &ev.inst, &ev.refused)) {
		return NL_SKIP;
	}
	ev.type = gh->cmd;
	ea->count++;
	ea->ret = ea->cb(&ev, ea->arg);
	return NL_OK;
}

VAC_EXPORT int vac_monitor_read(struct vac *h,
				int (*cb)(const struct vac_event *, void *),
				void *arg)
{
	struct event_arg ea = { cb, arg, 0, 0 };
	struct nl_cb *c = nl_cb_clone(h->cb);
	int ret;

	if (!c)
		return -ENOMEM;
	nl_cb_set(c, NL_CB_VALID, NL_CB_CUSTOM, on_event, &ea);
	for (;;) {
		ret = nl_recvmsgs(h->sk, c);
		if (ret < 0 || ea.ret)
			break;
	}
	nl_cb_put(c);
	if (ea.ret)
		return ea.ret;
	if (ret == -NLE_AGAIN)
		return ea.count;
	return ret == -NLE_NOMEM ? -ENOBUFS : -EIO;
}
