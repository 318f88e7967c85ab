// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Metrics: per resource kind and per instance as the backend reports
 * them, and brokerd's own.  While the backend cannot serve, only
 * brokerd's own are given, with brokerd_backend_up 0.
 *
 * May call: http/ (replies, the count by status), core/, fleet/ (its
 * status), base/.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "core/backend.h"
#include "core/broker.h"
#include "core/instances.h"
#include "fleet/fleet.h"
#include "http/reply.h"
#include "rest/routes.h"

static void family(FILE *f, const char *name, const char *type,
		   const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void resources(FILE *f, const struct vac_resource_info r[VAC_NR_RESOURCES])
{
	static const struct {
		const char *name, *help;
		size_t offset;
	} gauges[] = {
		{ "vac_capacity", "IDs of the resource kind that can be handed out.",
		  offsetof(struct vac_resource_info, capacity) },
		{ "vac_reserved", "Sum of the quotas of the resource kind.",
		  offsetof(struct vac_resource_info, reserved) },
		{ "vac_used", "IDs of the resource kind in use.",
		  offsetof(struct vac_resource_info, used) },
	};

	for (size_t g = 0; g < ARRAY_SIZE(gauges); g++) {
		family(f, gauges[g].name, "gauge", gauges[g].help);
		for (int k = 0; k < VAC_NR_RESOURCES; k++)
			fprintf(f, "%s{kind=\"%s\"} %u\n", gauges[g].name,
				vac_resource_name(k),
				*(const uint32_t *)((const char *)&r[k] +
						    gauges[g].offset));
	}
}

enum { QUOTA, USED, PEAK, FAILCNT, ONLINE, VMS, NR_FAMILIES };

static const struct {
	const char *name, *type, *help;
} inst_families[NR_FAMILIES] = {
	[QUOTA]   = { "vac_instance_quota", "gauge", "Quota of the instance." },
	[USED]    = { "vac_instance_used", "gauge", "IDs the instance holds." },
	[PEAK]    = { "vac_instance_peak", "gauge", "Most IDs the instance held." },
	[FAILCNT] = { "vac_instance_failcnt_total", "counter",
		      "Allocations refused by the instance's quota." },
	[ONLINE]  = { "vac_instance_online", "gauge",
		      "1 while a module has the instance registered." },
	[VMS]     = { "vac_instance_vms", "gauge",
		      "VMs the instance's KVM build runs; 0 is drained." },
};

/* Instance names are [a-z0-9_]: labels need no escaping. */
static void instance(FILE *f, int fam, const struct vac_instance_info *in)
{
	const char *name = inst_families[fam].name;

	if (fam == ONLINE || fam == VMS) {
		fprintf(f, "%s{instance=\"%s\"} %u\n", name, in->name,
			fam == VMS ? in->vms :
			(unsigned int)(in->state == VAC_INSTANCE_STATE_ONLINE));
		return;
	}
	for (int k = 0; k < VAC_NR_RESOURCES; k++) {
		const struct vac_usage *u = &in->usage[k];
		uint64_t v = fam == QUOTA ? u->quota : fam == USED ? u->used :
			     fam == PEAK ? u->peak : u->failcnt;

		fprintf(f, "%s{instance=\"%s\",kind=\"%s\"} %llu\n", name,
			in->name, vac_resource_name(k), (unsigned long long)v);
	}
}

/* The backend's part, whole or not at all. */
static char *backend_metrics(struct broker *b, size_t *len)
{
	struct broker_backend *be = b->backend;
	_cleanup_free_ struct vac_instance_info *in = NULL;
	struct vac_resource_info r[VAC_NR_RESOURCES];
	char *text = NULL;
	size_t n;
	FILE *f;

	if (!be->ops->ready(be) || be->ops->resources(be, r) ||
	    broker_instances_list(be, &in, &n))
		return NULL;
	f = open_memstream(&text, len);
	if (!f)
		return NULL;
	resources(f, r);
	for (int fam = 0; fam < NR_FAMILIES; fam++) {
		family(f, inst_families[fam].name, inst_families[fam].type,
		       inst_families[fam].help);
		for (size_t i = 0; i < n; i++)
			instance(f, fam, &in[i]);
	}
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

/* What publishing to the fleet's schedulers does, where configured. */
static void fleet(FILE *f, struct broker_fleet *fl)
{
	struct broker_fleet_status st;
	const struct {
		const char *part;
		const struct broker_fleet_part *p;
	} parts[] = { { "node_features", &st.nfd }, { "placement", &st.placement } };

	broker_fleet_status(fl, &st);
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		if (!parts[i].p->on)
			continue;
		fprintf(f, "# HELP brokerd_%s_synced 1 while the last update succeeded.\n"
			"# TYPE brokerd_%s_synced gauge\nbrokerd_%s_synced %d\n",
			parts[i].part, parts[i].part, parts[i].part,
			parts[i].p->synced);
		fprintf(f, "# HELP brokerd_%s_failures_total Updates that failed.\n"
			"# TYPE brokerd_%s_failures_total counter\n"
			"brokerd_%s_failures_total %llu\n", parts[i].part,
			parts[i].part, parts[i].part,
			(unsigned long long)parts[i].p->failures);
	}
}

static char *render(struct broker *b, const uint64_t *replies, size_t *len)
{
	_cleanup_free_ char *vac = NULL;
	char *text = NULL;
	size_t vac_len;
	FILE *f;

	vac = backend_metrics(b, &vac_len);
	f = open_memstream(&text, len);
	if (!f)
		return NULL;
	if (vac)
		fwrite(vac, 1, vac_len, f);
	family(f, "brokerd_backend_up", "gauge",
	       "1 while the backend serves.");
	fprintf(f, "brokerd_backend_up{backend=\"%s\"} %d\n",
		b->backend->ops->name, vac != NULL);
	family(f, "brokerd_http_requests_total", "counter",
	       "HTTP requests answered, by status code.");
	for (size_t code = 0; code < BROKER_STATUS_MAX; code++) {
		uint64_t n = __atomic_load_n(&replies[code], __ATOMIC_RELAXED);

		if (n)
			fprintf(f, "brokerd_http_requests_total{code=\"%zu\"} %llu\n",
				code, (unsigned long long)n);
	}
	fleet(f, b->fleet);
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

static enum MHD_Result metrics_get(struct broker_req *req)
{
	size_t len;
	char *text = render(req->b, req->replies, &len);

	if (!text)
		return broker_reply_error(req, BROKER_INTERNAL, NULL, "out of memory");
	return broker_reply_text(req, MHD_HTTP_OK,
				 "text/plain; version=0.0.4; charset=utf-8",
				 text, len);
}

static const struct broker_route routes[] = {
	{ "GET", "/metrics", metrics_get, 0, BROKER_ROLE_VIEWER },
};

const struct broker_routes broker_metrics_routes = BROKER_ROUTES(routes);
