/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvac: a typed C client of the vac generic netlink family, for agents
 * that talk to vac.ko directly and for brokerd's netlink backend.
 *
 * Every call returns 0 (or a count) on success and a negative errno on
 * failure; when the kernel gave a reason (extended ack), vac_errmsg()
 * returns it until the next call on the same handle.
 *
 * Threads: a handle is not thread-safe.  Use one handle per thread; calls
 * on different handles may run at the same time.  Callbacks run on the
 * calling thread, inside the call, and must not use the same handle.
 */
#ifndef LIBVAC_H
#define LIBVAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/vac.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VAC_NR_RESOURCES	(VAC_RES_MAX + 1)

struct vac;

struct vac_resource_info {
	enum vac_res kind;
	uint32_t probed;	/* what the CPUID probe found */
	uint32_t capacity;	/* effective: the probe or a module parameter */
	uint32_t first;		/* first ID of the kind */
	uint32_t reserved;	/* sum of all quotas */
	uint32_t used;		/* sum of all used */
	bool overridden;	/* capacity set by module parameter */
	uint32_t quarantined;	/* held by nobody, usable by nobody yet */
};

struct vac_usage {
	uint32_t quota;
	uint32_t used;
	uint32_t peak;
	uint64_t failcnt;	/* allocations refused */
	uint32_t base;		/* asids: first ASID of the range */
	bool has_base;
};

struct vac_instance_info {
	char name[VAC_NAME_LEN];
	char module[64];	/* registering module; empty when declared */
	enum vac_instance_state state;
	struct vac_usage usage[VAC_NR_RESOURCES];
	uint32_t vms;		/* VMs its build runs; 0 is drained */
};

/* A VM of a KVM build. */
struct vac_vm_info {
	char instance[VAC_NAME_LEN];
	uint32_t id;		/* unique while vac.ko stays loaded */
	uint32_t pid;		/* the process that created it */
	char comm[16];		/* that process's command name */
	uint64_t created;	/* ns since the epoch */
};

struct vac_quota {
	enum vac_res kind;
	uint32_t quota;
};

/* A run of IDs an instance holds: [first, first + count). */
struct vac_alloc_run {
	enum vac_res kind;
	uint32_t first;
	uint32_t count;
	uint32_t msr;		/* msr_slots: the MSR bound to the slot */
};

enum vac_event_type {
	VAC_EVENT_INSTANCE_NEW = VAC_CMD_INSTANCE_NEW_NTF,
	VAC_EVENT_INSTANCE_DEL = VAC_CMD_INSTANCE_DEL_NTF,
	VAC_EVENT_INSTANCE_ONLINE = VAC_CMD_INSTANCE_ONLINE_NTF,
	VAC_EVENT_INSTANCE_OFFLINE = VAC_CMD_INSTANCE_OFFLINE_NTF,
	VAC_EVENT_QUOTA = VAC_CMD_QUOTA_NTF,
	VAC_EVENT_ALLOC_REFUSED = VAC_CMD_ALLOC_REFUSED_NTF,
	VAC_EVENT_VM_NEW = VAC_CMD_VM_NEW_NTF,
	VAC_EVENT_VM_DEL = VAC_CMD_VM_DEL_NTF,
};

struct vac_event {
	enum vac_event_type type;
	int refused;		/* ALLOC_REFUSED: the kind; else -1 */
	/* the instance after the change; VM_*: only inst.name is set */
	struct vac_instance_info inst;
	struct vac_vm_info vm;	/* VM_NEW, VM_DEL: the VM */
};

/*
 * Connect; -ENOENT when vac.ko is not loaded.  A handle is bound to the
 * loaded vac.ko: once it is unloaded (or reloaded, which gives the family
 * a new ID) every call fails with -ENOENT and an empty vac_errmsg(),
 * which no vac reply has; close the handle and open a new one.  A
 * monitor handle receives nothing more: reopen it and dump again.
 */
int vac_open(struct vac **out);
/* Returns NULL; accepts NULL. */
struct vac *vac_close(struct vac *h);
/* The kernel's reason for the last failure on @h, or "". */
const char *vac_errmsg(const struct vac *h);
/*
 * The attribute the kernel pointed at in that failure: the byte offset of
 * a bad one in the request, or the type of a missing one; -1 if none.
 */
int vac_err_offset(const struct vac *h);
int vac_err_missing(const struct vac *h);

const char *vac_resource_name(enum vac_res kind);
/* The kind for "asids", "vpids", ...; -EINVAL if unknown. */
int vac_resource_parse(const char *name);
const char *vac_event_name(enum vac_event_type type);
bool vac_name_ok(const char *name);

int vac_resource_get(struct vac *h, enum vac_res kind,
		     struct vac_resource_info *out);
/* All kinds, in order; a non-zero return of @cb stops and is returned. */
int vac_resource_dump(struct vac *h,
		      int (*cb)(const struct vac_resource_info *, void *),
		      void *arg);

int vac_instance_get(struct vac *h, const char *name,
		     struct vac_instance_info *out);
/*
 * Every instance, each once, as the kernel had them at one moment: a dump
 * the kernel flags as changed midway (an instance declared, deleted,
 * registered, unregistered or its quotas set meanwhile) is taken again
 * before @cb sees anything; -EAGAIN if that kept happening.  The same for
 * vac_alloc_dump().
 */
int vac_instance_dump(struct vac *h,
		      int (*cb)(const struct vac_instance_info *, void *),
		      void *arg);
int vac_instance_declare(struct vac *h, const char *name);
int vac_instance_delete(struct vac *h, const char *name);

/* Quotas of several kinds at once: all are applied or none. */
int vac_quota_set(struct vac *h, const char *name, const struct vac_quota *q,
		  size_t n, bool force);

int vac_alloc_dump(struct vac *h, const char *name,
		   int (*cb)(const struct vac_alloc_run *, void *), void *arg);

/* The VMs of instance @name, or of every instance with NULL, oldest first. */
int vac_vm_dump(struct vac *h, const char *name,
		int (*cb)(const struct vac_vm_info *, void *), void *arg);

/*
 * Send @cmd with @len bytes of attributes as they are, for tools that
 * probe the family (fuzzers, conformance tests); replies are dropped and
 * the kernel's status returned.
 */
int vac_send_raw(struct vac *h, uint8_t cmd, int flags, const void *attrs,
		 size_t len);

/*
 * Events.  vac_monitor_open() returns a handle subscribed to the monitor
 * group (open to every process) whose socket is non-blocking; poll
 * vac_fd() for POLLIN and call vac_monitor_read(), which hands every
 * pending event to @cb and returns their count.  -ENOBUFS means the
 * kernel dropped events because the socket overran: re-read the state
 * with a dump; the handle stays usable.  A handle does not outlive the
 * module: after vac.ko is unloaded and loaded again, open a new one.
 */
int vac_monitor_open(struct vac **out);
int vac_fd(const struct vac *h);
int vac_monitor_read(struct vac *h,
		     int (*cb)(const struct vac_event *, void *), void *arg);

#ifdef __cplusplus
}
#endif

#endif /* LIBVAC_H */
