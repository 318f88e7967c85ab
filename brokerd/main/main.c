// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * brokerd: the top layer.  main() loads the configuration (config.c),
 * opens the state, the backend, the event bus and the listeners in that
 * order, registers every resource's routes with the HTTP server, and runs
 * the event loop; it closes them in reverse.
 *
 * The loop polls a signalfd (SIGTERM and SIGINT stop, SIGHUP reloads the
 * configuration), the backend's event fd (events are fanned out, then the
 * backend is reconciled) and a one-second timerfd (backend checks and
 * retries every retry_interval, keep-alives on event streams).  HTTP is
 * served by libmicrohttpd's own threads.
 *
 * What a reload changes at runtime: log_level.  Everything else is read
 * at start; a reload that changes it says so and leaves it.
 *
 * May call: every layer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>

#include "base/log.h"
#include "core/backend.h"
#include "core/broker.h"
#include "core/bus.h"
#include "core/policy.h"
#include "core/profiles.h"
#include "core/reconcile.h"
#include "fleet/fleet.h"
#include "http/server.h"
#include "http/tokens.h"
#include "main/config.h"
#include "rest/routes.h"

/* ---- the event loop ---- */

struct loop {
	struct broker *b;
	const struct broker_args *args;
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

	if (ret == 1) {
		broker_log(LOG_NOTICE, "%s backend: connected", be->ops->name);
		broker_store_mark_all(&b->store);	/* it may have anything */
	} else if (ret < 0 && (l->was_ready || first))
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
	broker_bus_reap(b->bus);
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

	if (broker_config_load(l->args, &next, &err)) {
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
	struct broker_args args = { 0 };
	struct loop l = { .b = &b, .args = &args };
	struct broker_tokens *tokens = NULL;
	struct broker_http *http = NULL;
	sigset_t mask;
	int ret;

	b.store.dirfd = -1;
	ret = broker_config_args(argc, argv, &args);
	if (ret) {
		json_decref(args.flags);
		return ret > 0 ? 0 : 2;
	}
	ret = broker_config_load(&args, &b.cfg, &err);
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
		ret = broker_fleet_start(&b, &b.fleet, &err);
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
	broker_fleet_stop(b.fleet);
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
