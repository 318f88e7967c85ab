// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer: brokerd's request bodies, through the functions its handlers
 * use: the quota body (PUT /v1/instances/{name}/quota), the declare body
 * (PUT /v1/instances/{name}) and the token body (POST /v1/tokens).  The
 * first byte picks the body.  Checked against jansson's own reading of
 * the same bytes: what is accepted is exactly what the document says;
 * what is rejected says why and leaves the output as it was.
 */
#include "../../brokerd/rest/instances.c"
#include "../../brokerd/http/tokens.c"

static const char *const kinds[] = {
	"asids", "sev_asids", "sev_es_asids", "vpids", "pmu_counters",
	"msr_slots",
};

static json_t *reference(const uint8_t *data, size_t size)
{
	return json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
}

static void check_rejected(const struct broker_err *err)
{
	if (!err->msg[0] || !memchr(err->msg, 0, sizeof(err->msg)) ||
	    !memchr(err->field, 0, sizeof(err->field)))
		abort();
}

static void quota(const uint8_t *data, size_t size)
{
	_cleanup_json_ json_t *ref = reference(data, size);
	struct quota_body body, before;
	struct broker_err err = { 0 };
	size_t named = 0;
	json_t *q, *v;

	memset(&body, 0xa5, sizeof(body));
	before = body;
	if (bj_parse((const char *)data, size, quota_body_fields, &body,
		     sizeof(body), "body", &err)) {
		check_rejected(&err);
		if (memcmp(&body, &before, sizeof(body)))
			abort();
		return;
	}
	/* Accepted: an object of quotas and force, and nothing else. */
	q = json_object_get(ref, "quotas");
	if (!json_is_object(q) ||
	    json_object_size(ref) != 1u + !!json_object_get(ref, "force"))
		abort();
	for (int k = 0; k < VAC_NR_RESOURCES; k++) {
		v = json_object_get(q, kinds[k]);
		if (!v)
			continue;
		named++;
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > UINT32_MAX ||
		    body.quotas.kind[k].v != json_integer_value(v))
			abort();
		if (body.quotas.kind[k].set != true)
			abort();
	}
	if (named != json_object_size(q))
		abort();
	v = json_object_get(ref, "force");
	if (v && (!json_is_boolean(v) || !body.force.set ||
		  body.force.v != json_is_true(v)))
		abort();
}

static void declare(const uint8_t *data, size_t size)
{
	_cleanup_json_ json_t *ref = reference(data, size);
	struct broker_err err = { 0 };
	char none = 0x5a;
	int ret;

	ret = bj_parse((const char *)data, size, bj_no_fields, &none,
		       sizeof(none), "body", &err);
	if (ret)
		check_rejected(&err);
	/* Only {} is a declare body. */
	if (!ret != (json_is_object(ref) && !json_object_size(ref)) ||
	    none != 0x5a)
		abort();
}

static bool name_chars_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 63 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_.-") == n;
}

static void token(const uint8_t *data, size_t size)
{
	_cleanup_json_ json_t *ref = reference(data, size);
	struct broker_err err = { 0 };
	struct broker_token t = { 0 };
	json_t *l;

	if (broker_tokens_parse((const char *)data, size, &t, &err)) {
		check_rejected(&err);
		if (t.insts)
			abort();
		return;
	}
	if (!json_is_object(ref) ||
	    strcmp(t.name, json_string_value(json_object_get(ref, "name"))) ||
	    !name_chars_ok(t.name) ||
	    strcmp(broker_role_name(t.role),
		   json_string_value(json_object_get(ref, "role"))) ||
	    t.role < BROKER_ROLE_VIEWER || t.role > BROKER_ROLE_ADMIN)
		abort();
	if (json_object_get(ref, "expires") && t.expires <= time(NULL))
		abort();
	l = json_object_get(ref, "instances");
	if (!l != !t.scoped || (l && json_array_size(l) != t.n_insts) ||
	    t.n_insts > TOKEN_INSTANCES_MAX)
		abort();
	for (size_t i = 0; i < t.n_insts; i++)
		if (!vac_name_ok(t.insts[i]) ||
		    strcmp(t.insts[i], json_string_value(json_array_get(l, i))))
			abort();
	free(t.insts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	switch (data[0] % 3) {
	case 0:
		quota(data + 1, size - 1);
		break;
	case 1:
		declare(data + 1, size - 1);
		break;
	default:
		token(data + 1, size - 1);
	}
	return 0;
}
