// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The configuration: its keys as a field spec over struct broker_config,
 * the defaults, the options that override the file, and loading both,
 * checked whole (what the HTTP layer can check of its keys included)
 * before anything starts or a reload applies.
 *
 * May call: http/listen.c (its keys' checks), base/.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "http/listen.h"
#include "main/config.h"

#define CONFIG_MAX_BYTES (1u << 20)

static const char *const backends[] = { "local", "netlink", NULL };
static const char *const log_targets[] = { "stderr", "syslog", NULL };

#define CFG_STRING(key, member, list) \
	{ .name = key, .type = BJ_STRING, \
	  .offset = offsetof(struct broker_config, member), \
	  .size = sizeof(((struct broker_config *)0)->member), .choices = list }
#define CFG_LIMIT(key, member, lo, hi) \
	{ .name = key, .type = BJ_U32, \
	  .offset = offsetof(struct broker_limits, member), .min = lo, .max = hi }

static const struct bj_field limit_fields[] = {
	CFG_LIMIT("connections", connections, 1, 65535),
	CFG_LIMIT("connections_per_ip", connections_per_ip, 0, 65535),
	CFG_LIMIT("connection_timeout", connection_timeout, 1, 3600),
	CFG_LIMIT("connection_memory", connection_memory, 4096, 16u << 20),
	CFG_LIMIT("body_max", body_max, 64, 16u << 20),
	CFG_LIMIT("threads", threads, 1, 64),
	CFG_LIMIT("sse_clients", sse_clients, 0, 1024),
	CFG_LIMIT("sse_keepalive", sse_keepalive, 1, 3600),
	{ NULL }
};

static const struct bj_field config_fields[] = {
	CFG_STRING("backend", backend, backends),
	CFG_STRING("state_dir", state_dir, NULL),
	CFG_STRING("socket", socket, NULL),
	CFG_STRING("listen", listen, NULL),
	CFG_STRING("log", log, log_targets),
	CFG_STRING("log_level", log_level, broker_log_levels),
	CFG_STRING("admin_group", admin_group, NULL),
	CFG_STRING("audit_log", audit_log, NULL),
	CFG_STRING("sysfs_module_root", sysfs_module_root, NULL),
	CFG_STRING("modprobe_dir", modprobe_dir, NULL),
	CFG_STRING("socket_mode", socket_mode, NULL),
	CFG_STRING("socket_group", socket_group, NULL),
	CFG_STRING("tls_listen", tls_listen, NULL),
	CFG_STRING("tls_cert", tls_cert, NULL),
	CFG_STRING("tls_key", tls_key, NULL),
	CFG_STRING("tls_client_ca", tls_client_ca, NULL),
	CFG_STRING("nfd_feature_file", nfd_feature_file, NULL),
	CFG_STRING("placement_url", placement_url, NULL),
	CFG_STRING("placement_node", placement_node, NULL),
	CFG_STRING("placement_token_file", placement_token_file, NULL),
	CFG_STRING("placement_ca", placement_ca, NULL),
	{ .name = "placement_interval", .type = BJ_U32,
	  .offset = offsetof(struct broker_config, placement_interval),
	  .min = 10, .max = 86400 },
	{ .name = "tls_generate", .type = BJ_BOOL,
	  .offset = offsetof(struct broker_config, tls_generate) },
	{ .name = "auth_fail_max", .type = BJ_U32,
	  .offset = offsetof(struct broker_config, auth_fail_max),
	  .min = 1, .max = 1000000 },
	{ .name = "auth_fail_window", .type = BJ_U32,
	  .offset = offsetof(struct broker_config, auth_fail_window),
	  .min = 1, .max = 86400 },
	{ .name = "auth_block", .type = BJ_U32,
	  .offset = offsetof(struct broker_config, auth_block),
	  .min = 1, .max = 86400 },
	{ .name = "retry_interval", .type = BJ_U32,
	  .offset = offsetof(struct broker_config, retry_interval),
	  .min = 1, .max = 3600 },
	{ .name = "local_capacity", .type = BJ_OBJECT,
	  .offset = offsetof(struct broker_config, local_capacity),
	  .fields = bj_quota_fields },
	{ .name = "limits", .type = BJ_OBJECT,
	  .offset = offsetof(struct broker_config, limits),
	  .fields = limit_fields },
	{ NULL }
};

static void config_defaults(struct broker_config *c)
{
	static const uint32_t capacity[VAC_NR_RESOURCES] = {
		[VAC_RES_ASIDS]		= 32767,
		[VAC_RES_SEV_ASIDS]	= 509,
		[VAC_RES_SEV_ES_ASIDS]	= 0,
		[VAC_RES_VPIDS]		= 65535,
		[VAC_RES_PMU_COUNTERS]	= 6,
		[VAC_RES_MSR_SLOTS]	= 16,
	};

	memset(c, 0, sizeof(*c));
	strcpy(c->backend, "local");
	strcpy(c->state_dir, "/var/lib/brokerd");
	strcpy(c->socket, "/run/brokerd/brokerd.sock");
	strcpy(c->log, "stderr");
	strcpy(c->log_level, "info");
	c->retry_interval.v = 5;
	c->placement_interval.v = 300;
	c->auth_fail_max.v = 10;
	c->auth_fail_window.v = 60;
	c->auth_block.v = 300;
	strcpy(c->sysfs_module_root, "/sys/module");
	strcpy(c->modprobe_dir, "/etc/modprobe.d");
	strcpy(c->socket_mode, "0660");
	for (int k = 0; k < VAC_NR_RESOURCES; k++)
		c->local_capacity.kind[k].v = capacity[k];
	c->limits.connections.v = 64;
	c->limits.connections_per_ip.v = 16;
	c->limits.connection_timeout.v = 30;
	c->limits.connection_memory.v = 32768;
	c->limits.body_max.v = 65536;
	c->limits.threads.v = 4;
	c->limits.sse_clients.v = 16;
	c->limits.sse_keepalive.v = 15;
}

/* Placement needs both its keys; the feature file is a path. */
static int check_fleet(const struct broker_config *c, struct broker_err *err)
{
	const char *u = c->placement_url;

	if (u[0] && strncmp(u, "http://", 7) && strncmp(u, "https://", 8)) {
		broker_err_set(err, "placement_url",
			       "placement_url: must start with http:// or https://");
		return -EINVAL;
	}
	if (!u[0] != !c->placement_node[0]) {
		broker_err_set(err, u[0] ? "placement_node" : "placement_url",
			       "placement_url and placement_node go together");
		return -EINVAL;
	}
	if (c->nfd_feature_file[0] && (c->nfd_feature_file[0] != '/' ||
	    c->nfd_feature_file[strlen(c->nfd_feature_file) - 1] == '/')) {
		broker_err_set(err, "nfd_feature_file",
			       "nfd_feature_file: must be an absolute path of a file");
		return -EINVAL;
	}
	return 0;
}

int broker_config_load(const struct broker_args *a, struct broker_config *c,
		       struct broker_err *err)
{
	struct broker_config next;
	struct broker_err why = { 0 };
	char text[sizeof(why.field) + sizeof(why.msg)];
	struct sockaddr_storage ss;
	socklen_t len;
	int ret;

	config_defaults(&next);
	if (a->config) {
		_cleanup_json_ json_t *j = NULL;

		ret = bj_load_file(AT_FDCWD, a->config, CONFIG_MAX_BYTES, &j, &why);
		if (!ret)
			ret = bj_unpack(j, config_fields, &next, NULL, &why);
		if (ret) {
			broker_err_set(err, why.field, "config file %s: %s", a->config,
				       broker_err_text(&why, text, sizeof(text)));
			return ret;
		}
	}
	ret = bj_unpack(a->flags, config_fields, &next, NULL, &why);
	if (ret) {
		for (char *p = why.field; *p; p++)
			*p = *p == '_' ? '-' : *p;
		broker_err_set(err, why.field, "option --%s: %s", why.field,
			       why.msg);
		return ret;
	}
	/* Streams must leave room for requests; each thread for connections. */
	if (next.limits.sse_clients.v >= next.limits.connections.v ||
	    next.limits.threads.v > next.limits.connections.v) {
		broker_err_set(err, "limits",
			       "limits: sse_clients (%u) must be below connections (%u), "
			       "threads (%u) at most connections",
			       next.limits.sse_clients.v, next.limits.connections.v,
			       next.limits.threads.v);
		return -EINVAL;
	}
	if (next.listen[0]) {
		ret = broker_http_parse_listen(next.listen, &ss, &len, &why);
		if (ret) {
			broker_err_set(err, why.field, "%s",
				       broker_err_text(&why, text, sizeof(text)));
			return ret;
		}
	}
	ret = check_fleet(&next, err);
	if (ret)
		return ret;
	ret = broker_http_check_config(&next, &why);
	if (ret) {
		broker_err_set(err, why.field, "%s",
			       broker_err_text(&why, text, sizeof(text)));
		return ret;
	}
	if (a->verbose)
		strcpy(next.log_level, "debug");
	*c = next;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: brokerd [-c FILE] [OPTIONS]\n"
"Serve the VAC quota REST API (v1) on a Unix socket.\n"
"\n"
"  -c, --config FILE       JSON configuration (unknown keys are an error)\n"
"      --state-dir DIR     desired state (default /var/lib/brokerd)\n"
"      --socket PATH       Unix socket (default /run/brokerd/brokerd.sock)\n"
"      --listen ADDR:PORT  also plain HTTP on a loopback address\n"
"      --tls-listen ADDR:PORT  also HTTPS on any address (tls_cert, tls_key)\n"
"      --backend NAME      local (in-process accounting) or netlink (vac.ko)\n"
"      --log TARGET        stderr or syslog\n"
"      --bootstrap-token FILE  with no token yet, create an admin token\n"
"                          and write it to FILE (mode 0600)\n"
"  -v, --verbose           log_level debug\n"
"  -h, --help              this text\n"
"      --version           brokerd's version\n"
"\n"
"Options override the file.  SIGHUP reloads the file: log_level changes at\n"
"once, every other key at the next start.\n");
}

int broker_config_args(int argc, char **argv, struct broker_args *a)
{
	static const struct option opts[] = {
		{ "config",	required_argument, NULL, 'c' },
		{ "state-dir",	required_argument, NULL, 'S' },
		{ "socket",	required_argument, NULL, 's' },
		{ "listen",	required_argument, NULL, 'l' },
		{ "tls-listen",	required_argument, NULL, 'T' },
		{ "backend",	required_argument, NULL, 'b' },
		{ "log",	required_argument, NULL, 'L' },
		{ "bootstrap-token", required_argument, NULL, 'B' },
		{ "verbose",	no_argument, NULL, 'v' },
		{ "help",	no_argument, NULL, 'h' },
		{ "version",	no_argument, NULL, 'V' },
		{ NULL }
	};
	const char *key;
	int o;

	a->flags = json_object();
	if (!a->flags)
		return -ENOMEM;
	while ((o = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			a->config = optarg;
			continue;
		case 'v':
			a->verbose = true;
			continue;
		case 'B':
			a->bootstrap_token = optarg;
			continue;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("brokerd %s\n", BROKER_VERSION);
			return 1;
		case 'S': key = "state_dir"; break;
		case 's': key = "socket"; break;
		case 'l': key = "listen"; break;
		case 'T': key = "tls_listen"; break;
		case 'b': key = "backend"; break;
		case 'L': key = "log"; break;
		default:
			usage(stderr);
			return -EINVAL;
		}
		json_object_set_new(a->flags, key, json_string(optarg));
	}
	if (optind < argc) {
		fprintf(stderr, "brokerd: unexpected argument: %s\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}
