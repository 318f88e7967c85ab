// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * brokerd: arguments, configuration, and the event loop.
 *
 * The loop polls a signalfd (SIGTERM and SIGINT stop, SIGHUP reloads the
 * configuration), the backend's event fd (events are fanned out, then the
 * backend is reconciled) and a one-second timerfd (backend checks and
 * retries every retry_interval, keep-alives on event streams).  HTTP is
 * served by libmicrohttpd's own threads.
 *
 * What a reload changes at runtime: log_level.  Everything else is read
 * at start; a reload that changes it says so and leaves it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>

#include "base/json.h"
#include "base/log.h"
#include "core/backend.h"
#include "core/broker.h"
#include "core/bus.h"
#include "core/policy.h"
#include "core/profiles.h"
#include "core/reconcile.h"
#include "http/listen.h"
#include "http/server.h"
#include "http/tokens.h"
#include "rest/routes.h"

#define CONFIG_MAX_BYTES (1u << 20)

/* ---- configuration ---- */

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

struct args {
	const char *config;	/* -c FILE */
	const char *bootstrap_token;	/* --bootstrap-token FILE */
	json_t *flags;		/* the other options, as config keys */
	bool verbose;
};

/* The file, then the flags over it; @c is only written on success. */
static int config_load(const struct args *a, struct broker_config *c,
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
"\n"
"Options override the file.  SIGHUP reloads the file: log_level changes at\n"
"once, every other key at the next start.\n");
}

static int parse_args(int argc, char **argv, struct args *a)
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

/* ---- the event loop ---- */

struct loop {
	struct broker *b;
	const struct args *args;
	time_t next_check, next_keepalive;
	bool was_ready;
};

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/*
 * Connect or probe the backend; reconcile at the first check, on
 * connecting, and while something is left unapplied.  Lock held.
 */
static void check_backend(struct loop *l)
{
	struct broker *b = l->b;
	struct broker_backend *be = b->backend;
	bool first = !l->next_check;
	int ret = be->ops->check(be);

	if (ret == 1)
		broker_log(LOG_NOTICE, "%s backend: connected", be->ops->name);
	else if (ret < 0 && (l->was_ready || first))
		broker_log(LOG_WARNING, "%s backend: %s; trying again every %u s",
			   be->ops->name, be->down, b->cfg.retry_interval.v);
	l->was_ready = ret >= 0;
	if (ret == 1 || (ret == 0 && (first || b->pending)))
		broker_reconcile(b);
}

static void on_timer(struct loop *l)
{
	struct broker *b = l->b;
	time_t now = now_s();

	pthread_mutex_lock(&b->lock);
	if (now >= l->next_check) {
		check_backend(l);
		l->next_check = now + b->cfg.retry_interval.v;
	}
	if (now >= l->next_keepalive) {
		broker_bus_heartbeat(b->bus);
		l->next_keepalive = now + b->cfg.limits.sse_keepalive.v;
	}
	pthread_mutex_unlock(&b->lock);
}

static void on_backend_events(struct broker *b)
{
	struct broker_backend *be = b->backend;
	int ret;

	pthread_mutex_lock(&b->lock);
	ret = be->ops->events_read(be, broker_bus_publish, b);
	if (ret == -ENOBUFS)
		broker_log(LOG_NOTICE, "%s backend: events were lost; reconciling",
			   be->ops->name);
	else if (ret < 0)
		broker_log(LOG_WARNING, "%s backend: reading events: %s",
			   be->ops->name, ret == -ENOTCONN ? be->down : strerror(-ret));
	ret = broker_bus_resync(b, ret == -ENOBUFS);
	if (ret)
		broker_log(LOG_WARNING, "events: cannot resynchronize the streams: %s",
			   strerror(-ret));
	broker_reconcile(b);
	pthread_mutex_unlock(&b->lock);
}

static void reload(struct loop *l)
{
	struct broker *b = l->b;
	struct broker_config next;
	struct broker_err err = { 0 };
	bool others;

	if (config_load(l->args, &next, &err)) {
		broker_log(LOG_ERR, "reload: %s; the running configuration stays",
			   err.msg);
		return;
	}
	pthread_mutex_lock(&b->lock);
	memcpy(b->cfg.log_level, next.log_level, sizeof(next.log_level));
	others = memcmp(&b->cfg, &next, sizeof(next));
	pthread_mutex_unlock(&b->lock);
	broker_log_level(next.log_level);
	broker_log(LOG_NOTICE, "configuration reloaded: log_level %s%s",
		   next.log_level, others ?
		   "; the other changes take effect at the next start" : "");
}

static int run(struct loop *l, int sfd, int tfd)
{
	struct broker *b = l->b;

	for (;;) {
		struct pollfd p[3] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = tfd, .events = POLLIN },
			{ .fd = -1, .events = POLLIN },
		};
		struct signalfd_siginfo si;
		uint64_t ticks;

		pthread_mutex_lock(&b->lock);
		p[2].fd = b->backend->ops->event_fd(b->backend);
		pthread_mutex_unlock(&b->lock);
		if (poll(p, ARRAY_SIZE(p), -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if ((p[0].revents & POLLIN) && read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo != SIGHUP) {
				broker_log(LOG_NOTICE, "%s: stopping", strsignal(si.ssi_signo));
				return 0;
			}
			reload(l);
		}
		if ((p[1].revents & POLLIN) && read(tfd, &ticks, sizeof(ticks)) > 0)
			on_timer(l);
		if (p[2].revents)
			on_backend_events(b);
	}
}

/* What the HTTP server serves: every resource's routes. */
static const struct broker_routes *const routes[] = {
	&broker_resources_routes,
	&broker_metrics_routes,
	&broker_instances_routes,
	&broker_profiles_routes,
	&broker_policy_routes,
	&broker_events_routes,
	&broker_tokens_routes,
};

static int backend_new(struct broker *b, struct broker_err *err)
{
	if (!strcmp(b->cfg.backend, "netlink"))
		return broker_backend_netlink_new(&b->backend);
	return broker_backend_local_new(&b->cfg.local_capacity, &b->backend, err);
}

int main(int argc, char **argv)
{
	static struct broker b = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct itimerspec second = { { 1, 0 }, { 1, 0 } };
	_cleanup_close_ int sfd = -1, tfd = -1;
	struct broker_err err = { 0 };
	struct args args = { 0 };
	struct loop l = { .b = &b, .args = &args };
	struct broker_tokens *tokens = NULL;
	struct broker_http *http = NULL;
	sigset_t mask;
	int ret;

	b.store.dirfd = -1;
	ret = parse_args(argc, argv, &args);
	if (ret) {
		json_decref(args.flags);
		return ret > 0 ? 0 : 2;
	}
	ret = config_load(&args, &b.cfg, &err);
	if (ret) {
		fprintf(stderr, "brokerd: %s\n", err.msg);
		json_decref(args.flags);
		return 2;
	}
	broker_log_open(b.cfg.log);
	broker_log_level(b.cfg.log_level);

	/* Before any thread starts, so that every thread inherits it. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (sfd < 0 || tfd < 0 || timerfd_settime(tfd, 0, &second, NULL) < 0) {
		ret = -errno;
		broker_err_set(&err, NULL, "signalfd, timerfd: %s", strerror(-ret));
		goto fail;
	}

	ret = broker_store_open(&b.store, b.cfg.state_dir, &err);
	if (!ret)
		ret = broker_tokens_open(&tokens, b.store.dirfd, &err);
	if (!ret)
		ret = broker_policy_open(&b, &err);
	if (!ret)
		ret = broker_profiles_open(&b, &err);
	if (ret)
		goto fail;
	if (args.bootstrap_token) {
		ret = broker_tokens_bootstrap(tokens, args.bootstrap_token, &err);
		if (ret < 0)
			goto fail;
		broker_log(LOG_NOTICE, ret ? "tokens exist; %s left as it is" :
			   "bootstrap admin token written to %s",
			   args.bootstrap_token);
		ret = 0;
	}
	ret = backend_new(&b, &err);
	if (!ret)
		ret = broker_bus_new(&b, &b.bus);
	if (!ret)
		ret = broker_http_listen(&http, &b, tokens, routes,
					 ARRAY_SIZE(routes), &err);
	if (ret)
		goto fail;

	pthread_mutex_lock(&b.lock);
	check_backend(&l);
	l.next_check = now_s() + b.cfg.retry_interval.v;
	pthread_mutex_unlock(&b.lock);

	ret = broker_http_start(http, &err);
	if (ret)
		goto fail;
	broker_log(LOG_NOTICE, "serving on %s%s%s%s%s (%s backend, state in %s)",
		   b.cfg.socket, b.cfg.listen[0] ? " and http://" : "",
		   b.cfg.listen, b.cfg.tls_listen[0] ? " and https://" : "",
		   b.cfg.tls_listen, b.cfg.backend, b.cfg.state_dir);
	ret = run(&l, sfd, tfd);
	if (ret)
		broker_log(LOG_ERR, "event loop: %s", strerror(-ret));
	goto out;

fail:
	broker_log(LOG_ERR, "%s", err.msg[0] ? err.msg : strerror(-ret));
out:
	if (b.bus)
		broker_bus_close(b.bus);
	broker_http_stop(http);
	broker_bus_free(b.bus);
	if (b.backend)
		b.backend->ops->destroy(b.backend);
	broker_tokens_free(tokens);
	broker_profiles_free(b.profiles);
	broker_policy_free(b.policy);
	broker_store_close(&b.store);
	json_decref(args.flags);
	return ret ? 1 : 0;
}
