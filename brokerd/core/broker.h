/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * brokerd: what every part of the daemon shares.  The daemon's state is
 * one struct broker, guarded by one mutex: libmicrohttpd's threads take
 * it around each request, the event loop around each event and timer.
 */
#ifndef BROKER_H
#define BROKER_H

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include <jansson.h>
#include <libvac.h>

/* ---- cleanup helpers ---- */

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_json_ _cleanup_(json_decrefp)	/* jansson's */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Room for one more of @n elements of @size in *@arr of *@cap, at most
 * @max: 0, -ENOSPC at @max, -ENOMEM.
 */
static inline int broker_grow(void *arr, size_t *cap, size_t n, size_t size,
			      size_t max)
{
	size_t want = *cap ? 2 * *cap : 16;
	void *p;

	if (n < *cap)
		return 0;
	if (n >= max)
		return -ENOSPC;
	p = reallocarray(*(void **)arr, want, size);
	if (!p)
		return -ENOMEM;
	*(void **)arr = p;
	*cap = want;
	return 0;
}

/* ---- errors with a reason, for whoever reports them ---- */

struct broker_err {
	char field[128];	/* the offending field, "" if none */
	char msg[256];
};

void broker_err_set(struct broker_err *err, const char *field,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "field: message", or the message. */
const char *broker_err_text(const struct broker_err *err, char *buf,
			    size_t size);

/* ---- logging: only the daemon's outer layers log ---- */

void broker_log(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- values parsed from JSON, with whether they were given ---- */

struct bj_u32 {
	uint32_t v;
	bool set;
};

struct bj_u64 {
	uint64_t v;
	bool set;
};

struct bj_bool {
	bool v;
	bool set;
};

/* One value per resource kind, in UAPI order; .set for the kinds given. */
struct broker_quotas {
	struct bj_u32 kind[VAC_NR_RESOURCES];
};

/* ---- configuration (broker_main.c) ---- */

struct broker_limits {
	struct bj_u32 connections;		/* per listener */
	struct bj_u32 connections_per_ip;	/* TCP; 0: no limit */
	struct bj_u32 connection_timeout;	/* seconds idle */
	struct bj_u32 connection_memory;	/* bytes, headers included */
	struct bj_u32 body_max;			/* bytes */
	struct bj_u32 threads;			/* per listener */
	struct bj_u32 sse_clients;
	struct bj_u32 sse_keepalive;		/* seconds */
};

struct broker_config {
	char backend[16];		/* "local" | "netlink" */
	char state_dir[PATH_MAX];
	char socket[108];		/* sizeof(sun_path) */
	char listen[64];		/* "" or a loopback "addr:port" */
	char log[16];			/* "stderr" | "syslog" */
	char log_level[16];		/* the one key that SIGHUP applies */
	struct bj_u32 retry_interval;	/* seconds */
	struct broker_quotas local_capacity;
	struct broker_limits limits;
	char admin_group[64];		/* socket peers in it are admin */
	char audit_log[PATH_MAX];	/* "": audit.log in state_dir */
	struct bj_u32 auth_fail_max;	/* failed authentications per peer */
	struct bj_u32 auth_fail_window;	/* seconds they are counted over */
	struct bj_u32 auth_block;	/* seconds of 429 after that */
	char sysfs_module_root[PATH_MAX];	/* profiles: "/sys/module" */
	char modprobe_dir[PATH_MAX];	/* profiles: "/etc/modprobe.d" */
	char socket_mode[8];		/* octal, "0660" */
	char socket_group[64];		/* "": the daemon's group */
	char tls_listen[64];		/* "" or "addr:port", any address */
	char tls_cert[PATH_MAX];	/* PEM */
	char tls_key[PATH_MAX];		/* PEM */
	char tls_client_ca[PATH_MAX];	/* PEM: client certificates it signed */
	struct bj_bool tls_generate;	/* a self-signed pair if both are missing */
};

/* ---- desired state (broker_store.c) ---- */

#define BROKER_REASON_LEN 256	/* as struct broker_backend.errmsg */

struct broker_inst {
	char name[VAC_NAME_LEN];
	uint64_t generation;		/* of its last desired-state change */
	struct broker_quotas want;	/* desired quotas of the kinds set */
	/* runtime, from the last reconciliation; "" when applied */
	char unapplied[VAC_NR_RESOURCES][BROKER_REASON_LEN];
	char undeclared[BROKER_REASON_LEN];
};

struct broker_store {
	char path[PATH_MAX];		/* the state file */
	int dirfd;			/* the state directory, locked */
	uint64_t generation;		/* the last one handed out */
	struct broker_inst *insts;
	size_t n, cap;
};

/* ---- the daemon ---- */

struct broker_backend;
struct broker_events;
struct broker_http;
struct broker_auth;
struct broker_policy;

struct broker {
	pthread_mutex_t lock;
	struct broker_config cfg;
	struct broker_backend *backend;
	struct broker_store store;
	struct broker_events *events;
	struct broker_http *http;
	struct broker_auth *auth;
	struct broker_policy *policy;	/* policy and profiles (broker_policy.c) */
	int pending;			/* instances left with unapplied */
	uint64_t http_requests[600];	/* by status code, atomic */
};

/*
 * Drive the backend to the desired state; the number of instances that
 * keep something unapplied, also left in b->pending.  Lock held.
 */
int broker_reconcile(struct broker *b);

#endif /* BROKER_H */
