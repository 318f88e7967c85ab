/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Helpers for the VM tier: load and unload modules, drive the test
 * module, and a few conveniences over libvac.  Used inside the test VM.
 */
#ifndef VAC_VT_H
#define VAC_VT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "libvac.h"

/* modules */
int vt_insmod(const char *path, const char *params);
int vt_rmmod(const char *name);
/* vac.ko with capacity parameters, and vac_test.ko; paths from env */
int vt_load_vac(const char *params);
int vt_load_test(const char *params);
void vt_unload_all(void);
/* debugfs self-check of vac.ko: 0 when it reports "ok" */
int vt_vac_check(void);
/*
 * Become uid/gid 65534 with only the capabilities in @caps (a mask of
 * 1 << CAP_*) effective and permitted: 0 or a negative errno.  For a
 * forked child.
 */
int vt_become_nobody(uint64_t caps);

/* CPU @cpu online or offline (sysfs): 0 or a negative errno */
int vt_cpu_online(int cpu, bool online);

/* test module: returns 0 or a negative errno; output in @out if given */
int vt_ctl(char *out, size_t outlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* vac_quota_set() from "vpids=10 sev_asids=2"; unknown kinds become 99 */
int vt_quota(struct vac *h, const char *name, const char *spec, bool force);
/* every instance, in dump order, into @out; returns the count */
int vt_dump(struct vac *h, struct vac_instance_info *out, int max);
/* the next event on @mon within @ms: 0, or -ETIMEDOUT */
int vt_event(struct vac *mon, struct vac_event *ev, int ms);

#endif /* VAC_VT_H */
