/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The configuration, as data: every key of brokerd.json (and of the
 * options over it), read by the layer each key is for.  Defaults, the
 * field spec and loading are main/config.c's; nothing here has code.
 */
#ifndef BROKER_CONFIG_H
#define BROKER_CONFIG_H

#include "base/base.h"

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
	char nfd_feature_file[PATH_MAX];	/* "": no node-feature file */
	char placement_url[512];	/* "": Placement not kept */
	char placement_node[256];	/* the compute node's provider */
	char placement_token_file[PATH_MAX];	/* "": noauth2 */
	char placement_ca[PATH_MAX];	/* "": the system's store */
	struct bj_u32 placement_interval;	/* seconds between full syncs */
};

#endif /* BROKER_CONFIG_H */
