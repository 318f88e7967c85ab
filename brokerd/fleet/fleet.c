// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The fleet thread: subscribed to the event bus, it is woken by every
 * backend event (registration, quota, VMs: whatever changes what a VM
 * could get) and by a resync, takes a snapshot of the instances under
 * the broker lock, lets go of it, and writes the feature file and
 * brings Placement to the snapshot.  A part that fails is retried with
 * a backoff (1 s doubling to 60 s) and logged when it starts failing
 * and when it recovers, not at every attempt (/healthz has the latest
 * reason); Placement is also
 * re-read every placement_interval to mend what others changed there.
 *
 * Lock order: the broker lock, then the thread's own (the bus wakes the
 * thread with the broker lock held); the thread never takes the broker
 * lock while it holds its own.
 *
 * May call: core/ (the bus, the instances), base/, nfd.c, placement.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/backend.h"
#include "core/bus.h"
#include "core/instances.h"
#include "fleet/fleet.h"
#include "fleet/nfd.h"
#include "fleet/placement.h"
#include "fleet/snap.h"

#define BACKOFF_MAX	60	/* seconds */
#define NEVER		INT64_MAX	/* time_t: no attempt due */

struct part {
	struct broker_fleet_part st;
	unsigned int backoff;		/* seconds, 0 while it succeeds */
	time_t next;			/* the next attempt, monotonic */
	bool dirty;			/* a change it has not seen */
};

struct broker_fleet {
	struct broker_sub sub;		/* first: wake() casts back */
	struct broker *b;
	struct fleet_placement *pl;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	volatile bool stop;
	bool subscribed, started;
	struct part nfd, placement;
};

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* A heartbeat renders as nothing, any event as one byte. */
static char *render(const char *event, const char *data)
{
	return strdup(event ? "e" : "");
}

/* Broker lock held. */
static void wake(struct broker_sub *s)
{
	struct broker_fleet *f = (struct broker_fleet *)s;
	char buf[64];
	size_t n = 0, got;

	while ((got = broker_bus_read(s, buf, sizeof(buf))))
		n += got;
	if (!n && !s->closing)
		return;
	pthread_mutex_lock(&f->lock);
	f->nfd.dirty = f->placement.dirty = true;
	/* A part that fails keeps its backoff. */
	if (!f->nfd.backoff)
		f->nfd.next = 0;
	if (!f->placement.backoff)
		f->placement.next = 0;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

/* The instances as the backend has them now; broker lock not held. */
static int snapshot(struct broker *b, struct fleet_snap *s)
{
	int ret = -ENOTCONN;

	pthread_mutex_lock(&b->lock);
	if (b->backend->ops->ready(b->backend))
		ret = broker_instances_list(b->backend, &s->in, &s->n);
	pthread_mutex_unlock(&b->lock);
	return ret;
}

/* @ret of an attempt of @p (@what) into its status; own lock held. */
static void account(struct part *p, const char *what, int ret,
		    const char *why, time_t now, unsigned int interval)
{
	if (!ret) {
		if (!p->st.synced && p->st.failures)
			broker_log(LOG_NOTICE, "%s: in sync again", what);
		p->st.synced = true;
		p->st.error[0] = 0;
		p->backoff = 0;
		p->next = interval ? now + interval : NEVER;
		return;
	}
	/* Once when it starts failing; /healthz has the latest reason. */
	if (p->st.synced || !p->st.failures)
		broker_log(LOG_WARNING, "%s: %s; retrying with a backoff", what, why);
	p->st.synced = false;
	p->st.failures++;
	snprintf(p->st.error, sizeof(p->st.error), "%s", why);
	p->backoff = p->backoff ? p->backoff * 2 : 1;
	if (p->backoff > BACKOFF_MAX)
		p->backoff = BACKOFF_MAX;
	p->next = now + p->backoff;
	p->dirty = true;
}

static void *run(void *arg)
{
	struct broker_fleet *f = arg;
	const struct broker_config *cfg = &f->b->cfg;

	pthread_mutex_lock(&f->lock);
	while (!f->stop) {
		time_t now = now_s(), next = NEVER;
		bool do_nfd = f->nfd.st.on && now >= f->nfd.next;
		bool do_pl = f->placement.st.on && now >= f->placement.next;
		struct fleet_snap s = { 0 };
		char why_nfd[256] = "", why_pl[256] = "";
		int ret, r_nfd = 0, r_pl = 0;

		if (!do_nfd && !do_pl) {
			struct timespec until = { 0 };

			if (f->nfd.st.on)
				next = f->nfd.next;
			if (f->placement.st.on && f->placement.next < next)
				next = f->placement.next;
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_sec += next - now > 3600 ? 3600 : next - now;
			pthread_cond_timedwait(&f->cond, &f->lock, &until);
			continue;
		}
		f->nfd.dirty = f->placement.dirty = false;
		pthread_mutex_unlock(&f->lock);

		ret = snapshot(f->b, &s);
		if (ret) {
			snprintf(why_nfd, sizeof(why_nfd), "the backend: %s",
				 ret == -ENOTCONN ? "not serving" : strerror(-ret));
			strcpy(why_pl, why_nfd);
			r_nfd = r_pl = ret;
		} else {
			if (do_nfd)
				r_nfd = fleet_nfd_write(cfg->nfd_feature_file, &s,
							why_nfd, sizeof(why_nfd));
			if (do_pl)
				r_pl = fleet_placement_sync(f->pl, &s, why_pl,
							    sizeof(why_pl));
		}
		free(s.in);

		pthread_mutex_lock(&f->lock);
		now = now_s();
		if (do_nfd)
			account(&f->nfd, "node features", r_nfd, why_nfd, now, 0);
		if (do_pl && !f->stop)
			account(&f->placement, "placement", r_pl, why_pl, now,
				cfg->placement_interval.v);
		/* A change that came during the attempt: once more. */
		if (f->nfd.dirty && !r_nfd)
			f->nfd.next = 0;
		if (f->placement.dirty && !r_pl)
			f->placement.next = 0;
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

static void fleet_free(struct broker_fleet *f)
{
	fleet_placement_free(f->pl);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

int broker_fleet_start(struct broker *b, struct broker_fleet **out,
		       struct broker_err *err)
{
	struct broker_fleet *f;
	pthread_condattr_t attr;
	int ret;

	if (!b->cfg.nfd_feature_file[0] && !b->cfg.placement_url[0])
		return 0;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->b = b;
	pthread_mutex_init(&f->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cond, &attr);
	pthread_condattr_destroy(&attr);
	f->nfd.st.on = b->cfg.nfd_feature_file[0];
	f->placement.st.on = b->cfg.placement_url[0];
	f->sub.render = render;
	f->sub.wake = wake;
	f->sub.uncounted = true;
	if (f->placement.st.on) {
		ret = fleet_placement_new(&b->cfg, &f->stop, &f->pl);
		if (ret) {
			broker_err_set(err, "placement_url", "placement: %s",
				       strerror(-ret));
			fleet_free(f);
			return ret;
		}
	}
	pthread_mutex_lock(&b->lock);
	ret = broker_bus_subscribe(b->bus, &f->sub, UINT32_MAX, UINT32_MAX,
				   NULL);
	pthread_mutex_unlock(&b->lock);
	if (ret) {
		broker_err_set(err, NULL, "fleet: cannot subscribe to events: %s",
			       strerror(-ret));
		fleet_free(f);
		return ret;
	}
	f->subscribed = true;
	ret = -pthread_create(&f->thread, NULL, run, f);
	if (ret) {
		broker_err_set(err, NULL, "fleet: thread: %s", strerror(-ret));
		broker_fleet_stop(f);
		return ret;
	}
	f->started = true;
	*out = f;
	return 0;
}

void broker_fleet_stop(struct broker_fleet *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stop = true;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
	if (f->started)
		pthread_join(f->thread, NULL);
	if (f->subscribed) {
		pthread_mutex_lock(&f->b->lock);
		broker_bus_unsubscribe(f->b->bus, &f->sub);
		pthread_mutex_unlock(&f->b->lock);
	}
	fleet_free(f);
}

void broker_fleet_status(struct broker_fleet *f, struct broker_fleet_status *st)
{
	memset(st, 0, sizeof(*st));
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	st->nfd = f->nfd.st;
	st->placement = f->placement.st;
	pthread_mutex_unlock(&f->lock);
}

static json_t *part_json(const struct broker_fleet_part *p)
{
	if (!p->on)
		return NULL;
	return json_pack("{s:b, s:I, s:s*}", "synced", p->synced,
			 "failures", (json_int_t)p->failures,
			 "error", p->error[0] ? p->error : NULL);
}

json_t *broker_fleet_json(struct broker_fleet *f)
{
	struct broker_fleet_status st;

	if (!f)
		return NULL;
	broker_fleet_status(f, &st);
	return json_pack("{s:o*, s:o*}", "node_features", part_json(&st.nfd),
			 "placement", part_json(&st.placement));
}
