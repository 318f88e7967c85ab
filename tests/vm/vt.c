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
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>

#include "vac_core.h"	/* vac_kind_parse */

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

/* ---- netlink ---- */

int vt_nl_open(struct vt_nl *nl)
{
	int one = 1;

	memset(nl, 0, sizeof(*nl));
	nl->sk = nl_socket_alloc();
	if (!nl->sk)
		return -ENOMEM;
	if (genl_connect(nl->sk))
		goto err;
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	nl_socket_set_buffer_size(nl->sk, 1 << 20, 1 << 20);
	nl->family = genl_ctrl_resolve(nl->sk, VAC_FAMILY_NAME);
	if (nl->family < 0)
		goto err;
	nl->mcgrp = genl_ctrl_resolve_grp(nl->sk, VAC_FAMILY_NAME,
					  VAC_MCGRP_MONITOR);
	return 0;
err:
	nl_socket_free(nl->sk);
	nl->sk = NULL;
	return -ENOENT;
}

void vt_nl_close(struct vt_nl *nl)
{
	nl_socket_free(nl->sk);
	nl->sk = NULL;
}

struct nl_msg *vt_msg(struct vt_nl *nl, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, flags,
		    cmd, VAC_FAMILY_VERSION);
	return msg;
}

/* Extended-ack TLVs after an error or a dump's final status. */
static void ext_parse(struct vt_nl *nl, struct nlmsghdr *nlh, size_t off)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || nlh->nlmsg_len < off ||
	    nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)nlh + off),
		      nlh->nlmsg_len - off, NULL))
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(nl->ext, sizeof(nl->ext), "%s",
			 (char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
	if (tb[NLMSGERR_ATTR_OFFS])
		nl->ext_attr_off = nla_get_u32(tb[NLMSGERR_ATTR_OFFS]);
	if (tb[NLMSGERR_ATTR_MISS_TYPE])
		nl->ext_miss_type = nla_get_u32(tb[NLMSGERR_ATTR_MISS_TYPE]);
}

static int err_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct vt_nl *nl = arg;
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	size_t off = NLMSG_HDRLEN + sizeof(*e);

	nl->err = e->error;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	ext_parse(nl, nlh, off);
	return NL_STOP;
}

static int ack_cb(struct nl_msg *msg, void *arg)
{
	*(int *)arg = 1;
	return NL_STOP;
}

/* A dump ends with NLMSG_DONE carrying its status, and a reason if any. */
static int finish_cb(struct nl_msg *msg, void *arg)
{
	struct vt_nl *nl = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	nl->done = 1;
	if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
		nl->err = *(int *)nlmsg_data(nlh);
		ext_parse(nl, nlh, NLMSG_HDRLEN + sizeof(int));
	}
	return NL_STOP;
}

int vt_nl_call(struct vt_nl *nl, struct nl_msg *msg,
	       int (*cb)(struct nl_msg *, void *), void *arg)
{
	struct nl_cb *c = nl_cb_alloc(NL_CB_DEFAULT);
	int ret;

	nl->done = 0;
	nl->err = 0;
	nl->ext[0] = 0;
	nl->ext_attr_off = -1;
	nl->ext_miss_type = -1;
	nl_cb_err(c, NL_CB_CUSTOM, err_cb, nl);
	nl_cb_set(c, NL_CB_FINISH, NL_CB_CUSTOM, finish_cb, nl);
	nl_cb_set(c, NL_CB_ACK, NL_CB_CUSTOM, ack_cb, &nl->done);
	if (cb)
		nl_cb_set(c, NL_CB_VALID, NL_CB_CUSTOM, cb, arg);
	nlmsg_hdr(msg)->nlmsg_flags |= NLM_F_ACK;
	ret = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	if (ret < 0) {
		nl_cb_put(c);
		return -EIO;
	}
	while (!nl->done && !nl->err) {
		ret = nl_recvmsgs(nl->sk, c);
		if (ret < 0 && !nl->err) {
			nl->err = -EIO;
			break;
		}
	}
	nl_cb_put(c);
	return nl->err;
}

int vt_parse_inst(struct nl_msg *msg, struct vt_inst *out)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[VAC_A_INST_MAX + 1];
	struct nlattr *a;
	int rem;

	memset(out, 0, sizeof(*out));
	out->refused = -1;
	out->cmd = gh->cmd;
	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, VAC_A_INST_MAX, NULL))
		return -EINVAL;
	if (tb[VAC_A_INST_NAME])
		snprintf(out->name, sizeof(out->name), "%s",
			 nla_get_string(tb[VAC_A_INST_NAME]));
	if (tb[VAC_A_INST_MODULE])
		snprintf(out->module, sizeof(out->module), "%s",
			 nla_get_string(tb[VAC_A_INST_MODULE]));
	if (tb[VAC_A_INST_STATE])
		out->state = nla_get_u32(tb[VAC_A_INST_STATE]);
	if (tb[VAC_A_INST_REFUSED])
		out->refused = nla_get_u32(tb[VAC_A_INST_REFUSED]);
	nla_for_each_attr(a, genlmsg_attrdata(gh, 0), genlmsg_attrlen(gh, 0), rem) {
		struct nlattr *u[VAC_A_USAGE_MAX + 1];
		struct vt_usage *us;
		uint32_t k;

		if (nla_type(a) != VAC_A_INST_USAGE)
			continue;
		if (nla_parse_nested(u, VAC_A_USAGE_MAX, a, NULL) ||
		    !u[VAC_A_USAGE_KIND])
			return -EINVAL;
		k = nla_get_u32(u[VAC_A_USAGE_KIND]);
		if (k >= VT_KINDS)
			return -EINVAL;
		us = &out->u[k];
		us->quota = nla_get_u32(u[VAC_A_USAGE_QUOTA]);
		us->used = nla_get_u32(u[VAC_A_USAGE_USED]);
		us->peak = nla_get_u32(u[VAC_A_USAGE_PEAK]);
		us->failcnt = nla_get_u64(u[VAC_A_USAGE_FAILCNT]);
		us->has_base = u[VAC_A_USAGE_BASE];
		if (us->has_base)
			us->base = nla_get_u32(u[VAC_A_USAGE_BASE]);
	}
	return 0;
}

int vt_parse_res(struct nl_msg *msg, struct vt_res *out)
{
	struct nlattr *tb[VAC_A_RES_MAX + 1];

	memset(out, 0, sizeof(*out));
	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, VAC_A_RES_MAX, NULL) ||
	    !tb[VAC_A_RES_KIND] || !tb[VAC_A_RES_CAPACITY])
		return -EINVAL;
	out->kind = nla_get_u32(tb[VAC_A_RES_KIND]);
	out->probed = nla_get_u32(tb[VAC_A_RES_PROBED]);
	out->capacity = nla_get_u32(tb[VAC_A_RES_CAPACITY]);
	out->first = nla_get_u32(tb[VAC_A_RES_FIRST]);
	out->reserved = nla_get_u32(tb[VAC_A_RES_RESERVED]);
	out->used = nla_get_u32(tb[VAC_A_RES_USED]);
	out->overridden = tb[VAC_A_RES_OVERRIDDEN];
	snprintf(out->name, sizeof(out->name), "%s",
		 nla_get_string(tb[VAC_A_RES_NAME]));
	return 0;
}

static int inst_cb(struct nl_msg *msg, void *arg)
{
	return vt_parse_inst(msg, arg) ? NL_STOP : NL_OK;
}

static int res_cb(struct nl_msg *msg, void *arg)
{
	return vt_parse_res(msg, arg) ? NL_STOP : NL_OK;
}

static int name_call(struct vt_nl *nl, uint8_t cmd, const char *name,
		     struct vt_inst *out)
{
	struct nl_msg *msg = vt_msg(nl, cmd, 0);

	nla_put_string(msg, VAC_A_INST_NAME, name);
	return vt_nl_call(nl, msg, out ? inst_cb : NULL, out);
}

int vt_declare(struct vt_nl *nl, const char *name)
{
	return name_call(nl, VAC_CMD_INSTANCE_NEW, name, NULL);
}

int vt_delete(struct vt_nl *nl, const char *name)
{
	return name_call(nl, VAC_CMD_INSTANCE_DEL, name, NULL);
}

int vt_get(struct vt_nl *nl, const char *name, struct vt_inst *out)
{
	return name_call(nl, VAC_CMD_INSTANCE_GET, name, out);
}

int vt_res_get(struct vt_nl *nl, uint32_t kind, struct vt_res *out)
{
	struct nl_msg *msg = vt_msg(nl, VAC_CMD_RESOURCE_GET, 0);

	nla_put_u32(msg, VAC_A_RES_KIND, kind);
	return vt_nl_call(nl, msg, res_cb, out);
}

int vt_quota(struct vt_nl *nl, const char *name, const char *spec, bool force)
{
	struct nl_msg *msg = vt_msg(nl, VAC_CMD_QUOTA_SET, 0);
	char *copy = strdup(spec), *p = copy, *tok;

	nla_put_string(msg, VAC_A_INST_NAME, name);
	while ((tok = strsep(&p, " "))) {
		char *eq = strchr(tok, '=');
		struct nlattr *nest;
		int kind;

		if (!eq)
			continue;
		*eq = 0;
		kind = vac_kind_parse(tok);
		nest = nla_nest_start(msg, VAC_A_INST_USAGE);
		nla_put_u32(msg, VAC_A_USAGE_KIND, kind < 0 ? 99 : kind);
		nla_put_u32(msg, VAC_A_USAGE_QUOTA, strtoul(eq + 1, NULL, 0));
		nla_nest_end(msg, nest);
	}
	free(copy);
	if (force)
		nla_put_flag(msg, VAC_A_INST_FORCE);
	return vt_nl_call(nl, msg, NULL, NULL);
}

struct dump_arg {
	struct vt_inst *out;
	int max, n;
};

static int dump_cb(struct nl_msg *msg, void *arg)
{
	struct dump_arg *d = arg;
	struct vt_inst tmp;

	if (vt_parse_inst(msg, d->n < d->max ? &d->out[d->n] : &tmp))
		return NL_STOP;
	d->n++;
	return NL_OK;
}

int vt_dump(struct vt_nl *nl, struct vt_inst *out, int max)
{
	struct dump_arg d = { out, max, 0 };
	int ret;

	ret = vt_nl_call(nl, vt_msg(nl, VAC_CMD_INSTANCE_GET, NLM_F_DUMP),
			 dump_cb, &d);
	return ret ? ret : d.n;
}

/* ---- monitor ---- */

int vt_monitor_open(struct vt_nl *mon)
{
	int ret = vt_nl_open(mon);

	if (ret)
		return ret;
	nl_socket_disable_seq_check(mon->sk);
	nl_socket_set_nonblocking(mon->sk);
	if (mon->mcgrp < 0)
		return mon->mcgrp;
	ret = nl_socket_add_membership(mon->sk, mon->mcgrp);
	return ret ? -EPERM : 0;
}

struct mon_arg {
	struct vt_inst *ev;
	int got;
};

static int mon_cb(struct nl_msg *msg, void *arg)
{
	struct mon_arg *m = arg;

	if (vt_parse_inst(msg, m->ev))
		return NL_SKIP;
	m->got = 1;
	return NL_STOP;
}

static int no_seq_check(struct nl_msg *msg, void *arg)
{
	return NL_OK;
}

int vt_monitor_next(struct vt_nl *mon, struct vt_inst *ev, int ms)
{
	struct pollfd p = { .fd = nl_socket_get_fd(mon->sk), .events = POLLIN };
	struct mon_arg m = { ev, 0 };
	struct nl_cb *c = nl_cb_alloc(NL_CB_DEFAULT);

	nl_cb_set(c, NL_CB_VALID, NL_CB_CUSTOM, mon_cb, &m);
	nl_cb_set(c, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, no_seq_check, NULL);
	while (!m.got) {
		if (poll(&p, 1, ms) <= 0)
			break;
		nl_recvmsgs(mon->sk, c);
	}
	nl_cb_put(c);
	return m.got ? 0 : -ETIMEDOUT;
}
