// SPDX-License-Identifier: GPL-2.0
/*
 * The "vac" generic netlink family: resources, instances, quotas and
 * allocations, with notifications on the "monitor" group.  Reads and the
 * monitor group, which carries the same objects, are open to every
 * process; changes need CAP_SYS_ADMIN, since they decide which KVM build
 * can run guests at all; the family lives in the initial network
 * namespace only (netnsok is not set), as the resources are host-wide.
 * Operations run in parallel (parallel_ops): vac_lock, not genl_mutex,
 * orders them, so that a range callback waiting for every CPU does not
 * hold up the other generic netlink families.
 */
#include <net/genetlink.h>

#include "vac_internal.h"

enum { VAC_NL_MCGRP_MONITOR };

/*
 * internal_flags: pre_doit looks up VAC_A_INST_NAME into user_ptr[0]
 * (NEED_INST), and refuses callers without CAP_SYS_ADMIN (CHANGE).
 */
#define VAC_NL_NEED_INST	BIT(0)
#define VAC_NL_CHANGE		BIT(1)

static struct genl_family vac_nl_family;

/* NL_REQ_ATTR_CHECK(), with a message that names the attribute. */
#define VAC_NL_MISSING(extack, nest, tb, type)				\
	(NL_REQ_ATTR_CHECK(extack, nest, tb, type) &&			\
	 ({ NL_SET_ERR_MSG(extack, "missing attribute " #type); true; }))

static const struct nla_policy vac_usage_set_policy[VAC_A_USAGE_MAX + 1] = {
	[VAC_A_USAGE_KIND]	= NLA_POLICY_MAX(NLA_U32, VAC_RES_MAX),
	[VAC_A_USAGE_QUOTA]	= { .type = NLA_U32 },
};

static const struct nla_policy vac_res_get_policy[VAC_A_RES_MAX + 1] = {
	[VAC_A_RES_KIND]	= NLA_POLICY_MAX(NLA_U32, VAC_RES_MAX),
};

static const struct nla_policy vac_inst_name_policy[VAC_A_INST_MAX + 1] = {
	[VAC_A_INST_NAME]	= { .type = NLA_NUL_STRING, .len = VAC_NAME_LEN - 1 },
};

static const struct nla_policy vac_quota_set_policy[VAC_A_INST_MAX + 1] = {
	[VAC_A_INST_NAME]	= { .type = NLA_NUL_STRING, .len = VAC_NAME_LEN - 1 },
	[VAC_A_INST_USAGE]	= NLA_POLICY_NESTED(vac_usage_set_policy),
	[VAC_A_INST_FORCE]	= { .type = NLA_FLAG },
};

static const struct nla_policy vac_vm_get_policy[VAC_A_VM_MAX + 1] = {
	[VAC_A_VM_INSTANCE]	= { .type = NLA_NUL_STRING, .len = VAC_NAME_LEN - 1 },
};

/* ---- fill functions: one per object, for replies, dumps and events ---- */

static int vac_nl_res_fill(struct sk_buff *skb, u32 kind, u32 portid,
			   u32 seq, int flags)
{
	const struct vac_kind *kd = &vac_core.kind[kind];
	u32 reserved, used, quarantined;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &vac_nl_family, flags,
			  VAC_CMD_RESOURCE_GET);
	if (!hdr)
		return -EMSGSIZE;
	spin_lock(&vac_id_lock);
	reserved = kd->reserved;
	used = kd->used;
	quarantined = kd->quarantined;
	spin_unlock(&vac_id_lock);
	if (nla_put_u32(skb, VAC_A_RES_KIND, kind) ||
	    nla_put_string(skb, VAC_A_RES_NAME, vac_kind_names[kind]) ||
	    nla_put_u32(skb, VAC_A_RES_PROBED, vac_probed[kind]) ||
	    nla_put_u32(skb, VAC_A_RES_CAPACITY, kd->capacity) ||
	    nla_put_u32(skb, VAC_A_RES_FIRST, kd->first) ||
	    nla_put_u32(skb, VAC_A_RES_RESERVED, reserved) ||
	    nla_put_u32(skb, VAC_A_RES_USED, used) ||
	    nla_put_u32(skb, VAC_A_RES_QUARANTINED, quarantined) ||
	    (vac_overridden[kind] && nla_put_flag(skb, VAC_A_RES_OVERRIDDEN)))
		goto cancel;
	genlmsg_end(skb, hdr);
	return 0;

cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

/* @cb: the dump this message is part of, or NULL. */
static int vac_nl_inst_fill(struct sk_buff *skb, struct vac_core_inst *ci,
			    u8 cmd, u32 portid, u32 seq, int flags,
			    int refused, struct netlink_callback *cb)
{
	struct vac_core_usage usage[VAC_NR_KINDS];
	const struct vac_instance *vi = READ_ONCE(ci->priv);
	u32 base, k;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &vac_nl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	spin_lock(&vac_id_lock);
	memcpy(usage, ci->usage, sizeof(usage));
	base = ci->asid_base;
	spin_unlock(&vac_id_lock);

	if (nla_put_string(skb, VAC_A_INST_NAME, ci->name) ||
	    nla_put_u32(skb, VAC_A_INST_STATE, vi ? VAC_INSTANCE_STATE_ONLINE :
						     VAC_INSTANCE_STATE_DECLARED) ||
	    (vi && nla_put_string(skb, VAC_A_INST_MODULE, vi->module)) ||
	    nla_put_u32(skb, VAC_A_INST_VMS, vi ? READ_ONCE(vi->nr_vms) : 0) ||
	    (refused >= 0 && nla_put_u32(skb, VAC_A_INST_REFUSED, refused)))
		goto cancel;
	for (k = 0; k < VAC_NR_KINDS; k++) {
		struct nlattr *nest = nla_nest_start(skb, VAC_A_INST_USAGE);

		if (!nest ||
		    nla_put_u32(skb, VAC_A_USAGE_KIND, k) ||
		    nla_put_u32(skb, VAC_A_USAGE_QUOTA, usage[k].quota) ||
		    nla_put_u32(skb, VAC_A_USAGE_USED, usage[k].used) ||
		    nla_put_u32(skb, VAC_A_USAGE_PEAK, usage[k].peak) ||
		    nla_put_u64_64bit(skb, VAC_A_USAGE_FAILCNT,
				      usage[k].failcnt, VAC_A_USAGE_PAD) ||
		    (k == VAC_RES_ASIDS && usage[k].quota &&
		     nla_put_u32(skb, VAC_A_USAGE_BASE, base)))
			goto cancel;
		nla_nest_end(skb, nest);
	}
	/* Last: a message cancelled for want of room must not consume it. */
	if (cb)
		genl_dump_check_consistent(cb, hdr);
	genlmsg_end(skb, hdr);
	return 0;

cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

static int vac_nl_vm_fill(struct sk_buff *skb, const struct vac_instance *vi,
			  const struct vac_vm *vm, u8 cmd, u32 portid, u32 seq,
			  int flags, struct netlink_callback *cb)
{
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &vac_nl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_string(skb, VAC_A_VM_INSTANCE, vi->ci->name) ||
	    nla_put_u32(skb, VAC_A_VM_ID, vm->id) ||
	    nla_put_u32(skb, VAC_A_VM_PID, vm->pid) ||
	    nla_put_string(skb, VAC_A_VM_COMM, vm->comm) ||
	    nla_put_u64_64bit(skb, VAC_A_VM_CREATED, vm->created, VAC_A_VM_PAD)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	if (cb)
		genl_dump_check_consistent(cb, hdr);
	genlmsg_end(skb, hdr);
	return 0;
}

void vac_nl_notify_vm(const struct vac_instance *vi, const struct vac_vm *vm,
		      u8 cmd)
{
	struct sk_buff *skb;

	lockdep_assert_held(&vac_vm_lock);
	if (!genl_has_listeners(&vac_nl_family, &init_net,
				VAC_NL_MCGRP_MONITOR))
		return;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return;
	if (vac_nl_vm_fill(skb, vi, vm, cmd, 0, 0, 0, NULL)) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_multicast(&vac_nl_family, skb, 0, VAC_NL_MCGRP_MONITOR,
			  GFP_KERNEL);
}

static void vac_nl_multicast(struct vac_core_inst *ci, u8 cmd, gfp_t gfp,
			     int refused)
{
	struct sk_buff *skb;

	if (!genl_has_listeners(&vac_nl_family, &init_net,
				VAC_NL_MCGRP_MONITOR))
		return;
	skb = genlmsg_new(NLMSG_GOODSIZE, gfp);
	if (!skb)
		return;
	if (vac_nl_inst_fill(skb, ci, cmd, 0, 0, 0, refused, NULL)) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_multicast(&vac_nl_family, skb, 0, VAC_NL_MCGRP_MONITOR, gfp);
}

void vac_nl_notify(struct vac_core_inst *ci, u8 cmd, gfp_t gfp)
{
	vac_nl_multicast(ci, cmd, gfp, -1);
}

void vac_nl_notify_refused(struct vac_core_inst *ci, u32 kind)
{
	vac_nl_multicast(ci, VAC_CMD_ALLOC_REFUSED_NTF, GFP_ATOMIC, kind);
}

/* ---- pre/post doit: the lock, and the instance named by the request ---- */

static int vac_nl_pre_doit(const struct genl_ops *ops, struct sk_buff *skb,
			   struct genl_info *info)
{
	struct vac_core_inst *ci;

	/* The sender and the socket's opener both (netlink_capable). */
	if ((ops->internal_flags & VAC_NL_CHANGE) &&
	    !netlink_capable(skb, CAP_SYS_ADMIN)) {
		NL_SET_ERR_MSG(info->extack, "changes to vac need CAP_SYS_ADMIN");
		return -EPERM;
	}
	/* A quota change may hold it across IPIs to every CPU. */
	if (mutex_lock_killable(&vac_lock))
		return -EINTR;
	if (!(ops->internal_flags & VAC_NL_NEED_INST))
		return 0;
	if (VAC_NL_MISSING(info->extack, NULL, info->attrs, VAC_A_INST_NAME))
		goto err;
	ci = vac_core_find(&vac_core, nla_data(info->attrs[VAC_A_INST_NAME]));
	if (!ci) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[VAC_A_INST_NAME],
				    "no such instance");
		mutex_unlock(&vac_lock);
		return -ENOENT;
	}
	info->user_ptr[0] = ci;
	return 0;

err:
	mutex_unlock(&vac_lock);
	return -EINVAL;
}

static void vac_nl_post_doit(const struct genl_ops *ops, struct sk_buff *skb,
			     struct genl_info *info)
{
	mutex_unlock(&vac_lock);
}

/* ---- resources ---- */

static int vac_nl_resource_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	int ret;

	if (VAC_NL_MISSING(info->extack, NULL, info->attrs, VAC_A_RES_KIND))
		return -EINVAL;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	ret = vac_nl_res_fill(msg, nla_get_u32(info->attrs[VAC_A_RES_KIND]),
			      info->snd_portid, info->snd_seq, 0);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

struct vac_nl_dump_ctx {
	u32 pos;	/* next kind or instance slot */
	u32 kind;	/* allocation dump: kind, then next ID */
	u32 next;
};

static struct vac_nl_dump_ctx *vac_nl_ctx(struct netlink_callback *cb)
{
	BUILD_BUG_ON(sizeof(struct vac_nl_dump_ctx) > sizeof(cb->ctx));
	return (struct vac_nl_dump_ctx *)cb->ctx;
}

static int vac_nl_resource_get_dumpit(struct sk_buff *skb,
				      struct netlink_callback *cb)
{
	struct vac_nl_dump_ctx *ctx = vac_nl_ctx(cb);

	for (; ctx->pos < VAC_NR_KINDS; ctx->pos++)
		if (vac_nl_res_fill(skb, ctx->pos, NETLINK_CB(cb->skb).portid,
				    cb->nlh->nlmsg_seq, NLM_F_MULTI))
			break;
	return skb->len;
}

/* ---- instances ---- */

static int vac_nl_instance_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	int ret;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	ret = vac_nl_inst_fill(msg, info->user_ptr[0], VAC_CMD_INSTANCE_GET,
			       info->snd_portid, info->snd_seq, 0, -1, NULL);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

static int vac_nl_instance_get_dumpit(struct sk_buff *skb,
				      struct netlink_callback *cb)
{
	struct vac_nl_dump_ctx *ctx = vac_nl_ctx(cb);
	struct vac_core_inst *ci;
	int ret = 0;

	if (mutex_lock_killable(&vac_lock))
		return -EINTR;
	/* Declares, deletes and the like since the dump began: flagged. */
	cb->seq = vac_core.gen;
	for (; (ci = vac_core_next(&vac_core, &ctx->pos)); ctx->pos++) {
		ret = vac_nl_inst_fill(skb, ci, VAC_CMD_INSTANCE_GET,
				       NETLINK_CB(cb->skb).portid,
				       cb->nlh->nlmsg_seq, NLM_F_MULTI, -1, cb);
		if (ret)
			break;
	}
	mutex_unlock(&vac_lock);
	/* A lone object too big for a message is an error, not the end. */
	return ret && !skb->len ? ret : skb->len;
}

static int vac_nl_instance_new_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *name = info->attrs[VAC_A_INST_NAME];
	struct vac_core_inst *ci;
	int ret;

	if (VAC_NL_MISSING(info->extack, NULL, info->attrs, VAC_A_INST_NAME))
		return -EINVAL;
	if (!vac_name_valid(nla_data(name))) {
		NL_SET_ERR_MSG_ATTR(info->extack, name,
				    "instance name must match [a-z0-9_]{1,31}");
		return -EINVAL;
	}
	ret = vac_core_inst_add(&vac_core, nla_data(name), &ci);
	if (ret == -EEXIST)
		NL_SET_ERR_MSG_ATTR(info->extack, name, "instance exists");
	else if (ret == -ENOSPC)
		NL_SET_ERR_MSG_ATTR(info->extack, name, "too many instances");
	if (ret)
		return ret;
	vac_nl_notify(ci, VAC_CMD_INSTANCE_NEW_NTF, GFP_KERNEL);
	return 0;
}

static int vac_nl_instance_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vac_core_inst *ci = info->user_ptr[0];
	struct sk_buff *ntf = NULL;

	if (ci->priv) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[VAC_A_INST_NAME],
				    "instance is registered by a module");
		return -EBUSY;
	}
	/* The deletion event carries the object as it was. */
	if (genl_has_listeners(&vac_nl_family, &init_net, VAC_NL_MCGRP_MONITOR)) {
		ntf = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
		if (ntf && vac_nl_inst_fill(ntf, ci, VAC_CMD_INSTANCE_DEL_NTF,
					    0, 0, 0, -1, NULL)) {
			nlmsg_free(ntf);
			ntf = NULL;
		}
	}
	vac_core_inst_del(&vac_core, ci);
	if (ntf)
		genlmsg_multicast(&vac_nl_family, ntf, 0, VAC_NL_MCGRP_MONITOR,
				  GFP_KERNEL);
	return 0;
}

/* ---- quotas ---- */

/* The core's reason for a refused quota change, on @attr. */
static void vac_nl_core_err(struct netlink_ext_ack *extack,
			    const struct vac_err *err, const struct nlattr *attr)
{
	switch (err->code) {
	case VAC_ERR_KIND:
		NL_SET_ERR_MSG_ATTR(extack, attr, "unknown resource kind");
		break;
	case VAC_ERR_KIND_TWICE:
		NL_SET_ERR_MSG_ATTR(extack, attr, "resource kind given twice");
		break;
	case VAC_ERR_CAPACITY:
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "quota exceeds the free capacity of the resource");
		break;
	case VAC_ERR_BELOW_USED:
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "quota below current usage (force to override)");
		break;
	default:
		NL_SET_ERR_MSG_ATTR(extack, attr, "quota change refused");
		break;
	}
}

static int vac_nl_quota_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vac_core_inst *ci = info->user_ptr[0];
	struct nlattr *by_kind[VAC_NR_KINDS] = { NULL };
	struct vac_core_quota q[VAC_NR_KINDS];
	struct nlattr *a;
	struct vac_err err;
	u32 nq = 0;
	int rem, ret;

	nlmsg_for_each_attr(a, info->nlhdr, GENL_HDRLEN, rem) {
		struct nlattr *tb[VAC_A_USAGE_MAX + 1];
		u32 kind;

		if (nla_type(a) != VAC_A_INST_USAGE)
			continue;
		ret = nla_parse_nested(tb, VAC_A_USAGE_MAX, a,
				       vac_usage_set_policy, info->extack);
		if (ret)
			return ret;
		if (VAC_NL_MISSING(info->extack, a, tb, VAC_A_USAGE_KIND) ||
		    VAC_NL_MISSING(info->extack, a, tb, VAC_A_USAGE_QUOTA))
			return -EINVAL;
		kind = nla_get_u32(tb[VAC_A_USAGE_KIND]);
		if (by_kind[kind]) {
			NL_SET_ERR_MSG_ATTR(info->extack, tb[VAC_A_USAGE_KIND],
					    "resource kind given twice");
			return -EINVAL;
		}
		by_kind[kind] = a;
		q[nq].kind = kind;
		q[nq++].value = nla_get_u32(tb[VAC_A_USAGE_QUOTA]);
	}
	if (!nq) {
		NL_SET_ERR_MSG(info->extack, "no VAC_A_INST_USAGE quota given");
		NL_SET_ERR_ATTR_MISS(info->extack, NULL, VAC_A_INST_USAGE);
		return -EINVAL;
	}

	spin_lock(&vac_id_lock);
	ret = vac_core_quota_set(&vac_core, ci, q, nq,
				 nla_get_flag(info->attrs[VAC_A_INST_FORCE]), &err);
	spin_unlock(&vac_id_lock);
	if (ret) {
		vac_nl_core_err(info->extack, &err,
				err.kind >= 0 ? by_kind[err.kind] : NULL);
		return ret;
	}
	vac_apply_moves(ci);
	vac_nl_notify(ci, VAC_CMD_QUOTA_NTF, GFP_KERNEL);
	return 0;
}

/* ---- allocations: runs of IDs, resumable per (kind, next ID) ---- */

static int vac_nl_alloc_get_dumpit(struct sk_buff *skb,
				   struct netlink_callback *cb)
{
	const struct genl_dumpit_info *dinfo = genl_dumpit_info(cb);
	struct nlattr *name = dinfo->attrs[VAC_A_INST_NAME];
	struct vac_nl_dump_ctx *ctx = vac_nl_ctx(cb);
	struct vac_core_inst *ci;
	void *hdr;
	int ret = 0;

	/*
	 * Checked here, not in a .start: 6.1 runs that without an extack, so
	 * the refusal could not say why.
	 */
	if (VAC_NL_MISSING(cb->extack, NULL, dinfo->attrs, VAC_A_INST_NAME))
		return -EINVAL;
	if (ctx->kind >= VAC_NR_KINDS)
		return 0;
	if (mutex_lock_killable(&vac_lock))
		return -EINTR;
	ci = vac_core_find(&vac_core, nla_data(name));
	if (!ci) {
		mutex_unlock(&vac_lock);
		if (ctx->kind || ctx->next)
			return 0;	/* deleted since the dump started */
		NL_SET_ERR_MSG_ATTR(cb->extack, name, "no such instance");
		return -ENOENT;
	}
	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &vac_nl_family, NLM_F_MULTI, VAC_CMD_ALLOC_GET);
	if (!hdr || nla_put_string(skb, VAC_A_INST_NAME, ci->name)) {
		ret = -EMSGSIZE;
		goto out;
	}
	cb->seq = vac_core.gen;
	genl_dump_check_consistent(cb, hdr);
	spin_lock(&vac_id_lock);
	while (ctx->kind < VAC_NR_KINDS) {
		struct nlattr *nest;
		u32 first, n;

		n = vac_core_run(&vac_core, ci, ctx->kind, ctx->next, &first);
		if (!n) {
			ctx->kind++;
			ctx->next = 0;
			continue;
		}
		nest = nla_nest_start(skb, VAC_A_INST_ALLOC);
		if (!nest ||
		    nla_put_u32(skb, VAC_A_ALLOC_KIND, ctx->kind) ||
		    nla_put_u32(skb, VAC_A_ALLOC_FIRST, first) ||
		    nla_put_u32(skb, VAC_A_ALLOC_COUNT, n) ||
		    (ctx->kind == VAC_RES_MSR_SLOTS &&
		     nla_put_u32(skb, VAC_A_ALLOC_MSR, vac_core.msr[first]))) {
			nla_nest_cancel(skb, nest);
			break;
		}
		nla_nest_end(skb, nest);
		ctx->next = first + n;
	}
	spin_unlock(&vac_id_lock);
	genlmsg_end(skb, hdr);
out:
	mutex_unlock(&vac_lock);
	if (ret && hdr)
		genlmsg_cancel(skb, hdr);
	return ret && !skb->len ? ret : skb->len;
}

/* ---- VMs: resumable per (instance slot, VM id) ---- */

static int vac_nl_vm_get_dumpit(struct sk_buff *skb,
				struct netlink_callback *cb)
{
	const struct genl_dumpit_info *dinfo = genl_dumpit_info(cb);
	struct nlattr *name = dinfo->attrs[VAC_A_VM_INSTANCE];
	struct vac_nl_dump_ctx *ctx = vac_nl_ctx(cb);
	struct vac_core_inst *ci;
	int ret = 0;

	if (mutex_lock_killable(&vac_lock))
		return -EINTR;
	if (name && !ctx->pos && !ctx->next) {
		ci = vac_core_find(&vac_core, nla_data(name));
		if (!ci) {
			mutex_unlock(&vac_lock);
			NL_SET_ERR_MSG_ATTR(cb->extack, name, "no such instance");
			return -ENOENT;
		}
		ctx->pos = ci->slot;
	}
	mutex_lock(&vac_vm_lock);
	cb->seq = vac_vm_gen + vac_core.gen;
	for (; (ci = vac_core_next(&vac_core, &ctx->pos)); ctx->pos++, ctx->next = 0) {
		const struct vac_instance *vi = ci->priv;
		const struct vac_vm *vm;

		if (name && strcmp(ci->name, nla_data(name)))
			break;
		if (!vi)
			continue;
		list_for_each_entry(vm, &vi->vms, node) {
			if (vm->id < ctx->next)
				continue;
			ret = vac_nl_vm_fill(skb, vi, vm, VAC_CMD_VM_GET,
					     NETLINK_CB(cb->skb).portid,
					     cb->nlh->nlmsg_seq, NLM_F_MULTI, cb);
			if (ret)
				goto out;
			ctx->next = vm->id + 1;
		}
	}
	ctx->pos = VAC_MAX_INSTANCES;	/* done */
out:
	mutex_unlock(&vac_vm_lock);
	mutex_unlock(&vac_lock);
	return ret && !skb->len ? ret : skb->len;
}

/* ---- the family ---- */

static const struct genl_ops vac_nl_ops[] = {
	{
		.cmd		= VAC_CMD_RESOURCE_GET,
		.doit		= vac_nl_resource_get_doit,
		.dumpit		= vac_nl_resource_get_dumpit,
		.policy		= vac_res_get_policy,
		.maxattr	= VAC_A_RES_MAX,
	},
	{
		.cmd		= VAC_CMD_INSTANCE_GET,
		.internal_flags	= VAC_NL_NEED_INST,
		.doit		= vac_nl_instance_get_doit,
		.dumpit		= vac_nl_instance_get_dumpit,
		.policy		= vac_inst_name_policy,
		.maxattr	= VAC_A_INST_MAX,
	},
	{
		.cmd		= VAC_CMD_INSTANCE_NEW,
		.internal_flags	= VAC_NL_CHANGE,
		.doit		= vac_nl_instance_new_doit,
		.policy		= vac_inst_name_policy,
		.maxattr	= VAC_A_INST_MAX,
	},
	{
		.cmd		= VAC_CMD_INSTANCE_DEL,
		.internal_flags	= VAC_NL_NEED_INST | VAC_NL_CHANGE,
		.doit		= vac_nl_instance_del_doit,
		.policy		= vac_inst_name_policy,
		.maxattr	= VAC_A_INST_MAX,
	},
	{
		.cmd		= VAC_CMD_QUOTA_SET,
		.internal_flags	= VAC_NL_NEED_INST | VAC_NL_CHANGE,
		.doit		= vac_nl_quota_set_doit,
		.policy		= vac_quota_set_policy,
		.maxattr	= VAC_A_INST_MAX,
	},
	{
		.cmd		= VAC_CMD_ALLOC_GET,
		.dumpit		= vac_nl_alloc_get_dumpit,
		.policy		= vac_inst_name_policy,
		.maxattr	= VAC_A_INST_MAX,
	},
	{
		.cmd		= VAC_CMD_VM_GET,
		.dumpit		= vac_nl_vm_get_dumpit,
		.policy		= vac_vm_get_policy,
		.maxattr	= VAC_A_VM_MAX,
	},
};

static const struct genl_multicast_group vac_nl_mcgrps[] = {
	/* The objects a dump shows anyone: open, as the dumps are. */
	[VAC_NL_MCGRP_MONITOR] = { .name = VAC_MCGRP_MONITOR },
};

static struct genl_family vac_nl_family __ro_after_init = {
	.name		= VAC_FAMILY_NAME,
	.version	= VAC_FAMILY_VERSION,
	.module		= THIS_MODULE,
	.ops		= vac_nl_ops,
	.n_ops		= ARRAY_SIZE(vac_nl_ops),
	.mcgrps		= vac_nl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(vac_nl_mcgrps),
	.pre_doit	= vac_nl_pre_doit,
	.post_doit	= vac_nl_post_doit,
	.parallel_ops	= true,
};

int vac_nl_init(void)
{
	return genl_register_family(&vac_nl_family);
}

void vac_nl_exit(void)
{
	genl_unregister_family(&vac_nl_family);
}
