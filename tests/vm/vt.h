/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Helpers for the VM tier: load and unload modules, drive the test
 * module, and speak the vac family over libnl-genl with extended-ack
 * messages captured.  Used only inside the test VM.
 */
#ifndef VAC_VT_H
#define VAC_VT_H

#include <stdbool.h>
#include <stdint.h>
#include <netlink/genl/genl.h>
#include <linux/vac.h>

#define VT_KINDS (VAC_RES_MAX + 1)

struct vt_usage {
	uint32_t quota, used, peak, base;
	uint64_t failcnt;
	bool has_base;
};

struct vt_inst {
	char name[VAC_NAME_LEN];
	char module[64];
	uint32_t state;
	int refused;			/* kind in a refused event, or -1 */
	uint8_t cmd;			/* the message's command */
	struct vt_usage u[VT_KINDS];
};

struct vt_res {
	uint32_t kind, probed, capacity, first, reserved, used;
	bool overridden;
	char name[32];
};

struct vt_nl {
	struct nl_sock *sk;
	int family;
	int mcgrp;
	int err;			/* last error, negative errno */
	int done;
	char ext[256];			/* last extended-ack message */
	int ext_attr_off;		/* offset of the bad attribute, or -1 */
	int ext_miss_type;		/* type of a missing attribute, or -1 */
};

/* modules */
int vt_insmod(const char *path, const char *params);
int vt_rmmod(const char *name);
/* vac.ko with capacity parameters, and vac_test.ko; paths from env */
int vt_load_vac(const char *params);
int vt_load_test(const char *params);
void vt_unload_all(void);
/* debugfs self-check of vac.ko: 0 when it reports "ok" */
int vt_vac_check(void);

/* test module: returns 0 or a negative errno; output in @out if given */
int vt_ctl(char *out, size_t outlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* netlink */
int vt_nl_open(struct vt_nl *nl);
void vt_nl_close(struct vt_nl *nl);
struct nl_msg *vt_msg(struct vt_nl *nl, uint8_t cmd, int flags);
/* Sends @msg (consumed) and collects replies through @cb. */
int vt_nl_call(struct vt_nl *nl, struct nl_msg *msg,
	       int (*cb)(struct nl_msg *, void *), void *arg);

int vt_parse_inst(struct nl_msg *msg, struct vt_inst *out);
int vt_parse_res(struct nl_msg *msg, struct vt_res *out);

int vt_declare(struct vt_nl *nl, const char *name);
int vt_delete(struct vt_nl *nl, const char *name);
int vt_get(struct vt_nl *nl, const char *name, struct vt_inst *out);
int vt_res_get(struct vt_nl *nl, uint32_t kind, struct vt_res *out);
/* "vpids=10 sev_asids=2"; force as the flag */
int vt_quota(struct vt_nl *nl, const char *name, const char *spec, bool force);
/* every instance, in dump order; returns the count or a negative errno */
int vt_dump(struct vt_nl *nl, struct vt_inst *out, int max);

/* the monitor group: a second socket, non-blocking */
int vt_monitor_open(struct vt_nl *mon);
/* Next event within @ms; 0 and *ev filled, or -ETIMEDOUT. */
int vt_monitor_next(struct vt_nl *mon, struct vt_inst *ev, int ms);

#endif /* VAC_VT_H */
