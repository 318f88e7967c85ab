// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * OpenStack Placement: one child resource provider of the compute node's
 * per KVM instance, "<node>_vac_<instance>", and one more,
 * "<node>_vac_<instance>_amd_sev_es", for its SEV-ES ASIDs, as Nova's
 * libvirt driver reports SEV and SEV-ES on "<node>_amd_sev" and
 * "<node>_amd_sev_es".  Inventories: MEM_ENCRYPTION_CONTEXT (SEV, SEV-ES
 * ASIDs) with min_unit = max_unit = step_size = 1, and CUSTOM_VAC_VPIDS
 * (one per vCPU: max_unit = total); reserved 0, allocation_ratio 1.0,
 * total = the instance's quota (Placement counts its own allocations).
 * Traits: CUSTOM_VAC_INSTANCE_<NAME>, HW_CPU_X86_AMD_SEV(_ES) where
 * offered, CUSTOM_VAC_REGISTERED while a module has the instance.
 * Every write carries the provider's generation; a 409 is re-read and
 * re-applied.  A provider that should go (its instance deleted, or no
 * SEV-ES quota left) is deleted; if Placement refuses because something
 * is allocated against it, its inventories are reserved whole so
 * nothing more lands there, and the deletion is tried again next time.
 *
 * Microversion 1.26: nested providers (1.14), POST returning the
 * provider (1.20), error codes in 409s (1.23), reserved = total (1.26).
 *
 * May call: pl_http.c, base/.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "base/json.h"
#include "base/log.h"
#include "fleet/pl_http.h"
#include "fleet/placement.h"

#define PL_RETRIES	5	/* 409s in a row on one provider */

static bool is_uuid(const char *s)
{
	static const char form[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (strlen(s) != sizeof(form) - 1)
		return false;
	for (size_t i = 0; form[i]; i++)
		if (form[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* The compute node's provider, by UUID or by name. */
static int find_root(struct fleet_placement *p)
{
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *path = NULL, *q = NULL;
	json_t *rp;
	int ret;

	if (is_uuid(p->node)) {
		if (asprintf(&path, "/resource_providers/%s", p->node) < 0)
			return -ENOMEM;
		ret = pl_request(p, "GET", path, NULL, 200, &j);
		rp = j;
	} else {
		q = curl_easy_escape(p->curl, p->node, 0);
		if (!q || asprintf(&path, "/resource_providers?name=%s", q) < 0)
			return -ENOMEM;
		ret = pl_request(p, "GET", path, NULL, 200, &j);
		rp = json_array_get(json_object_get(j, "resource_providers"), 0);
		if (!ret && !rp) {
			snprintf(p->why, p->why_len,
				 "no resource provider named %s (placement_node)",
				 p->node);
			return -ENOENT;
		}
	}
	if (ret)
		return ret;
	if (!json_string_value(json_object_get(rp, "uuid")) ||
	    !json_string_value(json_object_get(rp, "name"))) {
		snprintf(p->why, p->why_len, "%s: a provider without uuid or name",
			 path);
		return -EPROTO;
	}
	snprintf(p->root, sizeof(p->root), "%s",
		 json_string_value(json_object_get(rp, "uuid")));
	snprintf(p->name, sizeof(p->name), "%s",
		 json_string_value(json_object_get(rp, "name")));
	return 0;
}

/* What one provider should have. */
struct want {
	char name[320];
	json_t *inv;		/* {class: {total, ...}} */
	json_t *traits;		/* [name, ...] */
};

static json_t *inventory(uint32_t total, uint32_t max_unit)
{
	return json_pack("{s:I, s:i, s:i, s:I, s:i, s:f}",
			 "total", (json_int_t)total, "reserved", 0,
			 "min_unit", 1, "max_unit", (json_int_t)max_unit,
			 "step_size", 1, "allocation_ratio", 1.0);
}

static void want_free(struct want *w)
{
	json_decref(w->inv);
	json_decref(w->traits);
}

/* The providers of @in: one, two with SEV-ES ASIDs; their count. */
static int wants_of(const struct fleet_placement *p,
		    const struct vac_instance_info *in, struct want w[2])
{
	const struct vac_usage *u = in->usage;
	char trait[64] = "CUSTOM_VAC_INSTANCE_";
	bool online = in->state == VAC_INSTANCE_STATE_ONLINE;
	size_t t = strlen(trait);
	int n = 1;

	for (const char *c = in->name; *c && t < sizeof(trait) - 1; c++)
		trait[t++] = toupper((unsigned char)*c);
	trait[t] = 0;
	snprintf(w[0].name, sizeof(w[0].name), "%s_vac_%s", p->name, in->name);
	w[0].inv = json_object();
	w[0].traits = json_pack("[s]", trait);
	if (u[VAC_RES_SEV_ASIDS].quota) {
		json_object_set_new(w[0].inv, "MEM_ENCRYPTION_CONTEXT",
				    inventory(u[VAC_RES_SEV_ASIDS].quota, 1));
		json_array_append_new(w[0].traits, json_string("HW_CPU_X86_AMD_SEV"));
	}
	if (u[VAC_RES_VPIDS].quota)
		json_object_set_new(w[0].inv, "CUSTOM_VAC_VPIDS",
				    inventory(u[VAC_RES_VPIDS].quota,
					      u[VAC_RES_VPIDS].quota));
	if (online)
		json_array_append_new(w[0].traits, json_string("CUSTOM_VAC_REGISTERED"));
	if (u[VAC_RES_SEV_ES_ASIDS].quota) {
		snprintf(w[1].name, sizeof(w[1].name), "%s_vac_%s_amd_sev_es",
			 p->name, in->name);
		w[1].inv = json_pack("{s:o}", "MEM_ENCRYPTION_CONTEXT",
				     inventory(u[VAC_RES_SEV_ES_ASIDS].quota, 1));
		w[1].traits = json_pack("[s, s]", trait, "HW_CPU_X86_AMD_SEV_ES");
		if (online)
			json_array_append_new(w[1].traits,
					      json_string("CUSTOM_VAC_REGISTERED"));
		n = 2;
	}
	return n;
}

/* Custom traits and resource classes exist before they are used. */
static int ensure_custom(struct fleet_placement *p, const char *kind,
			 const char *name)
{
	_cleanup_free_ char *path = NULL;

	if (strncmp(name, "CUSTOM_", 7))
		return 0;
	if (asprintf(&path, "/%s/%s", kind, name) < 0)
		return -ENOMEM;
	return pl_request(p, "PUT", path, NULL, 201, NULL);
}

static int provider_path(char **path, const char *uuid, const char *what)
{
	if (asprintf(path, "/resource_providers/%s%s", uuid, what) < 0) {
		*path = NULL;
		return -ENOMEM;
	}
	return 0;
}

/*
 * PUT @what ("/inventories" or "/traits") of @uuid from what
 * @make(current reply, @arg) builds (NULL: nothing to change), with the
 * generation read just before; re-read and re-made on a 409.
 */
static int put_generation(struct fleet_placement *p, const char *uuid,
			  const char *what,
			  json_t *(*make)(json_t *cur, void *arg, bool inuse),
			  void *arg)
{
	_cleanup_free_ char *path = NULL;
	bool inuse = false;
	int ret = provider_path(&path, uuid, what);

	for (int i = 0; !ret && i < PL_RETRIES; i++) {
		_cleanup_json_ json_t *cur = NULL, *body = NULL;
		struct reply r;

		ret = pl_request(p, "GET", path, NULL, 200, &cur);
		if (ret)
			return ret;
		body = make(cur, arg, inuse);
		if (!body)
			return 0;
		json_object_set(body, "resource_provider_generation",
				json_object_get(cur, "resource_provider_generation"));
		ret = pl_call(p, "PUT", path, body, &r);
		if (!ret && r.status == 409 &&
		    !strcmp(r.code, "placement.inventory.inuse") && !inuse) {
			inuse = true;		/* keep what is allocated */
		} else if (!ret && r.status == 409 &&
			   strcmp(r.code, "placement.inventory.inuse")) {
			/* Someone else wrote meanwhile: read it again. */
			broker_log(LOG_DEBUG, "placement: PUT %s: %s; reading it again",
				   path, r.code[0] ? r.code : "409");
		} else if (!ret) {
			ret = pl_expect(p, "PUT", path, &r, 200);
			reply_clear(&r);
			return ret;
		}
		reply_clear(&r);
	}
	if (!ret)
		snprintf(p->why, p->why_len, "PUT %s: still conflicting after %d tries",
			 path, PL_RETRIES);
	return ret ?: -EAGAIN;
}

/*
 * The inventories @arg wants, or NULL if @cur has them already; with
 * @inuse, a class it has and @arg does not stays, reserved whole.
 */
static json_t *make_inventories(json_t *cur, void *arg, bool inuse)
{
	json_t *want = arg, *have = json_object_get(cur, "inventories");
	json_t *next = json_deep_copy(want), *v;
	const char *rc;

	json_object_foreach(have, rc, v) {
		json_t *keep;

		if (json_object_get(want, rc) || !inuse)
			continue;
		keep = json_deep_copy(v);
		json_object_set(keep, "reserved", json_object_get(v, "total"));
		json_object_set_new(next, rc, keep);
	}
	if (json_equal(next, have)) {
		json_decref(next);
		return NULL;
	}
	return json_pack("{s:o}", "inventories", next);
}

/* Every inventory of @cur reserved whole, or NULL if it is already. */
static json_t *make_reserved(json_t *cur, void *arg, bool inuse)
{
	json_t *have = json_object_get(cur, "inventories");
	json_t *next = json_deep_copy(have), *v;
	const char *rc;

	json_object_foreach(next, rc, v)
		json_object_set(v, "reserved", json_object_get(v, "total"));
	if (json_equal(next, have)) {
		json_decref(next);
		return NULL;
	}
	return json_pack("{s:o}", "inventories", next);
}

static bool same_set(json_t *a, json_t *b)
{
	size_t i;
	json_t *v;

	if (json_array_size(a) != json_array_size(b))
		return false;
	json_array_foreach(a, i, v) {
		size_t j;
		json_t *w;
		bool found = false;

		json_array_foreach(b, j, w)
			found |= json_equal(v, w);
		if (!found)
			return false;
	}
	return true;
}

static json_t *make_traits(json_t *cur, void *arg, bool inuse)
{
	json_t *want = arg;

	if (same_set(want, json_object_get(cur, "traits")))
		return NULL;
	return json_pack("{s:O}", "traits", want);
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key)) ?: "";
}

/* @name's provider under the compute node in @tree, or created there. */
static int provider(struct fleet_placement *p, json_t *tree, const char *name,
		    char uuid[40])
{
	_cleanup_json_ json_t *j = NULL, *body = NULL;
	size_t i;
	json_t *rp;
	int ret;

	json_array_foreach(tree, i, rp) {
		if (!strcmp(str(rp, "name"), name) &&
		    !strcmp(str(rp, "parent_provider_uuid"), p->root)) {
			snprintf(uuid, 40, "%s", str(rp, "uuid"));
			return 0;
		}
	}
	body = json_pack("{s:s, s:s}", "name", name,
			 "parent_provider_uuid", p->root);
	if (!body)
		return -ENOMEM;
	ret = pl_request(p, "POST", "/resource_providers", body, 200, &j);
	if (ret)
		return ret;
	snprintf(uuid, 40, "%s", str(j, "uuid"));
	return 0;
}

/* A provider that should go: deleted, or if in use, closed to more. */
static int retire(struct fleet_placement *p, const char *uuid)
{
	_cleanup_free_ char *path = NULL;
	struct reply r;
	int ret = provider_path(&path, uuid, "");

	if (!ret)
		ret = pl_call(p, "DELETE", path, NULL, &r);
	if (ret)
		return ret;
	if (r.status == 409) {
		/* Allocations against it: Placement keeps it, so do we. */
		reply_clear(&r);
		return put_generation(p, uuid, "/inventories", make_reserved, NULL);
	}
	ret = r.status == 404 ? 0 : pl_expect(p, "DELETE", path, &r, 204);
	reply_clear(&r);
	return ret;
}

/*
 * Standard traits the Placement service does not know yet (an older
 * os-traits: HW_CPU_X86_AMD_SEV_ES came late) are left out of @w.
 */
static int drop_unknown_traits(struct fleet_placement *p, struct want *w,
			       size_t nw)
{
	_cleanup_json_ json_t *j = NULL;
	json_t *known;
	int ret = pl_request(p, "GET", "/traits?name=startswith:HW_CPU_X86_AMD_SEV",
			     NULL, 200, &j);

	if (ret)
		return ret;
	known = json_object_get(j, "traits");
	for (size_t i = 0; i < nw; i++) {
		for (size_t k = 0; k < json_array_size(w[i].traits); ) {
			const char *t = json_string_value(json_array_get(w[i].traits, k));
			bool ok = !strncmp(t, "CUSTOM_", 7);
			size_t x;
			json_t *v;

			json_array_foreach(known, x, v)
				ok |= !strcmp(json_string_value(v) ?: "", t);
			if (ok)
				k++;
			else
				json_array_remove(w[i].traits, k);
		}
	}
	return 0;
}

static int sync_tree(struct fleet_placement *p, const struct fleet_snap *s,
		     struct want *w, size_t *nw)
{
	_cleanup_json_ json_t *tree = NULL;
	_cleanup_free_ char *path = NULL, *prefix = NULL;
	json_t *list, *rp;
	size_t i;
	int ret;

	if (asprintf(&path, "/resource_providers?in_tree=%s", p->root) < 0 ||
	    asprintf(&prefix, "%s_vac_", p->name) < 0) {
		path = prefix = NULL;
		return -ENOMEM;
	}
	ret = ensure_custom(p, "resource_classes", "CUSTOM_VAC_VPIDS");
	if (!ret)
		ret = ensure_custom(p, "traits", "CUSTOM_VAC_REGISTERED");
	for (i = 0; !ret && i < s->n; i++) {
		int n = wants_of(p, &s->in[i], &w[*nw]);

		*nw += n;
		ret = ensure_custom(p, "traits",
				    json_string_value(json_array_get(w[*nw - n].traits, 0)));
	}
	if (!ret)
		ret = drop_unknown_traits(p, w, *nw);
	if (!ret)
		ret = pl_request(p, "GET", path, NULL, 200, &tree);
	if (ret)
		return ret;
	list = json_object_get(tree, "resource_providers");
	for (i = 0; !ret && i < *nw; i++) {
		char uuid[40];

		ret = provider(p, list, w[i].name, uuid);
		if (!ret)
			ret = put_generation(p, uuid, "/inventories",
					     make_inventories, w[i].inv);
		if (!ret)
			ret = put_generation(p, uuid, "/traits", make_traits,
					     w[i].traits);
	}
	json_array_foreach(list, i, rp) {
		bool wanted = false;

		if (ret)
			break;
		if (strcmp(str(rp, "parent_provider_uuid"), p->root) ||
		    strncmp(str(rp, "name"), prefix, strlen(prefix)))
			continue;
		for (size_t k = 0; k < *nw; k++)
			wanted |= !strcmp(w[k].name, str(rp, "name"));
		if (!wanted)
			ret = retire(p, str(rp, "uuid"));
	}
	return ret;
}

int fleet_placement_sync(struct fleet_placement *p, const struct fleet_snap *s,
			 char *why, size_t len)
{
	_cleanup_free_ struct want *w = calloc(2 * s->n + 1, sizeof(*w));
	size_t nw = 0;
	int ret;

	p->why = why;
	p->why_len = len;
	why[0] = 0;
	if (!w)
		return -ENOMEM;
	ret = pl_read_token(p);
	if (!ret && !p->root[0])
		ret = find_root(p);
	if (!ret)
		ret = sync_tree(p, s, w, &nw);
	for (size_t i = 0; i < nw; i++)
		want_free(&w[i]);
	/* The compute node may have been recreated: look it up again. */
	if (ret)
		p->root[0] = 0;
	if (ret && !why[0])
		snprintf(why, len, "%s", strerror(-ret));
	return ret;
}

int fleet_placement_new(const struct broker_config *cfg,
			const volatile bool *stop, struct fleet_placement **out)
{
	struct fleet_placement *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->curl = curl_easy_init();
	if (!p->curl) {
		free(p);
		return -ENOMEM;
	}
	p->stop = stop;
	snprintf(p->url, sizeof(p->url), "%s", cfg->placement_url);
	/* "http://host/placement/" and "http://host/placement" alike. */
	for (size_t n = strlen(p->url); n && p->url[n - 1] == '/'; n--)
		p->url[n - 1] = 0;
	snprintf(p->node, sizeof(p->node), "%s", cfg->placement_node);
	snprintf(p->token_file, sizeof(p->token_file), "%s",
		 cfg->placement_token_file);
	snprintf(p->ca, sizeof(p->ca), "%s", cfg->placement_ca);
	*out = p;
	return 0;
}

void fleet_placement_free(struct fleet_placement *p)
{
	if (!p)
		return;
	curl_easy_cleanup(p->curl);
	explicit_bzero(p->token, sizeof(p->token));
	free(p);
}
