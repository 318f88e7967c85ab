// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of the profile parser (policy/profile_parse.c): what a valid
 * profile gives, every rejection naming its JSON path, nothing handed out
 * on failure, and random bytes and mutated documents never crashing it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "vac_profile.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static void test_valid_profile(void **state)
{
	const char *doc = "{\"quotas\": {\"vpids\": 1024, \"asids\": 0},"
		" \"params\": {\"tdp_mmu\": \"N\", \"halt_poll_ns\": \"0\","
		" \"nx_huge_pages\": \"never mind\", \"empty\": \"\"}}";
	struct vacp_profile *p = NULL;
	struct vacp_err err;

	assert_int_equal(vacp_profile_parse(doc, strlen(doc), &p, &err), 0);
	assert_true(p->has_quota[VAC_RES_VPIDS]);
	assert_int_equal(p->quota[VAC_RES_VPIDS], 1024);
	assert_true(p->has_quota[VAC_RES_ASIDS]);
	assert_int_equal(p->quota[VAC_RES_ASIDS], 0);
	assert_false(p->has_quota[VAC_RES_SEV_ASIDS]);
	/* Sorted by name. */
	assert_int_equal(p->n_params, 4);
	assert_string_equal(p->params[0].name, "empty");
	assert_string_equal(p->params[0].value, "");
	assert_string_equal(p->params[1].name, "halt_poll_ns");
	assert_string_equal(p->params[2].name, "nx_huge_pages");
	assert_string_equal(p->params[2].value, "never mind");
	assert_string_equal(p->params[3].name, "tdp_mmu");
	vacp_profile_free(p);
}

static void test_empty_profile(void **state)
{
	struct vacp_profile *p = NULL;

	assert_int_equal(vacp_profile_parse("{}", 2, &p, NULL), 0);
	assert_int_equal(p->n_params, 0);
	for (int k = 0; k < VACP_NR_KINDS; k++)
		assert_false(p->has_quota[k]);
	assert_null(vacp_profile_free(p));
	assert_null(vacp_profile_free(NULL));
}

static const struct {
	const char *json;
	const char *path;
} bad[] = {
	{ "", "" },
	{ "{", "" },
	{ "[]", "" },
	{ "\"x\"", "" },
	{ "{\"quota\": {}}", "quota" },
	{ "{\"quotas\": []}", "quotas" },
	{ "{\"quotas\": {\"bogus\": 1}}", "quotas.bogus" },
	{ "{\"quotas\": {\"vpids\": -1}}", "quotas.vpids" },
	{ "{\"quotas\": {\"vpids\": 4294967296}}", "quotas.vpids" },
	{ "{\"quotas\": {\"vpids\": \"3\"}}", "quotas.vpids" },
	{ "{\"quotas\": {\"vpids\": 1.5}}", "quotas.vpids" },
	{ "{\"quotas\": {\"vpids\": 1, \"vpids\": 2}}", "" },
	{ "{\"params\": 1}", "params" },
	{ "{\"params\": {\"\": \"1\"}}", "params." },
	{ "{\"params\": {\"Tdp_mmu\": \"1\"}}", "params.Tdp_mmu" },
	{ "{\"params\": {\"tdp-mmu\": \"1\"}}", "params.tdp-mmu" },
	{ "{\"params\": {\"../x\": \"1\"}}", "params.../x" },
	{ "{\"params\": {\"a\": 1}}", "params.a" },
	{ "{\"params\": {\"a\": null}}", "params.a" },
	{ "{\"params\": {\"a\": \"x\\ny\"}}", "params.a" },
	{ "{\"params\": {\"a\": \"tab\\there\"}}", "params.a" },
	{ "{\"params\": {\"a\": \"q\\\"uote\"}}", "params.a" },
	{ "{\"params\": {\"a\": \"back\\\\slash\"}}", "params.a" },
	{ "{\"params\": {\"a\": \"\\u00e9\"}}", "params.a" },
};

static void test_rejections_name_the_path(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct vacp_profile *p = (void *)0x1;
		struct vacp_err err;
		int ret;

		ret = vacp_profile_parse(bad[i].json, strlen(bad[i].json), &p, &err);
		if (ret != -EINVAL || strcmp(err.path, bad[i].path))
			fail_msg("%s: %d, path \"%s\" (want \"%s\"): %s", bad[i].json,
				 ret, err.path, bad[i].path, err.msg);
		/* Untouched on failure, and the message leads with the path. */
		assert_ptr_equal(p, (void *)0x1);
		if (bad[i].path[0])
			assert_int_equal(strncmp(err.msg, bad[i].path,
						 strlen(bad[i].path)), 0);
	}
}

static void test_limits(void **state)
{
	char name[VACP_PARAM_NAME_LEN + 1], value[VACP_PARAM_VALUE_LEN + 1];
	char doc[1024];
	struct vacp_profile *p = NULL;
	struct vacp_err err;
	char *many, *at;

	memset(name, 'a', sizeof(name) - 1);
	name[VACP_PARAM_NAME_LEN - 1] = 0;	/* 63: fits */
	memset(value, 'v', sizeof(value) - 1);
	value[VACP_PARAM_VALUE_LEN - 1] = 0;	/* 255: fits */
	snprintf(doc, sizeof(doc), "{\"params\": {\"%s\": \"%s\"}}", name, value);
	assert_int_equal(vacp_profile_parse(doc, strlen(doc), &p, &err), 0);
	assert_string_equal(p->params[0].value, value);
	vacp_profile_free(p);

	name[VACP_PARAM_NAME_LEN - 1] = 'a';	/* 64 */
	name[VACP_PARAM_NAME_LEN] = 0;
	snprintf(doc, sizeof(doc), "{\"params\": {\"%s\": \"1\"}}", name);
	assert_int_equal(vacp_profile_parse(doc, strlen(doc), &p, &err), -EINVAL);
	value[VACP_PARAM_VALUE_LEN - 1] = 'v';	/* 256 */
	value[VACP_PARAM_VALUE_LEN] = 0;
	snprintf(doc, sizeof(doc), "{\"params\": {\"a\": \"%s\"}}", value);
	assert_int_equal(vacp_profile_parse(doc, strlen(doc), &p, &err), -EINVAL);
	assert_string_equal(err.path, "params.a");

	/* At most VACP_MAX_PARAMS parameters. */
	many = malloc(32 * (VACP_MAX_PARAMS + 2) + 32);
	assert_non_null(many);
	at = many + sprintf(many, "{\"params\": {");
	for (int i = 0; i <= VACP_MAX_PARAMS; i++)
		at += sprintf(at, "%s\"p%d\": \"1\"", i ? ", " : "", i);
	strcpy(at, "}}");
	assert_int_equal(vacp_profile_parse(many, strlen(many), &p, &err), -EINVAL);
	assert_string_equal(err.path, "params");
	free(many);
}

static void test_name_and_value_checks(void **state)
{
	assert_true(vacp_param_name_ok("halt_poll_ns"));
	assert_true(vacp_param_name_ok("a0_"));
	assert_false(vacp_param_name_ok(""));
	assert_false(vacp_param_name_ok("a/b"));
	assert_false(vacp_param_name_ok(".."));
	assert_true(vacp_param_value_ok(""));
	assert_true(vacp_param_value_ok("a b ~"));
	assert_false(vacp_param_value_ok("a\"b"));
	assert_false(vacp_param_value_ok("\x7f"));
}

/*
 * Random bytes, and valid documents with bytes flipped: every result is
 * 0 with a profile whose names and values pass the checks, or -EINVAL
 * with a message; nothing crashes or leaks (ASan).  Fixed seed.
 */
static void test_random_input(void **state)
{
	static const char seed_doc[] = "{\"quotas\": {\"vpids\": 12, \"msr_slots\": 3},"
		" \"params\": {\"halt_poll_ns\": \"0\", \"tdp_mmu\": \"N\"}}";
	char buf[sizeof(seed_doc)];
	unsigned int seed = 6;

	for (int i = 0; i < 20000; i++) {
		struct vacp_profile *p = NULL;
		struct vacp_err err = { 0 };
		size_t len = sizeof(seed_doc) - 1;
		int ret;

		memcpy(buf, seed_doc, sizeof(buf));
		if (i % 2) {
			for (size_t j = 0; j < len; j++)
				buf[j] = rand_r(&seed) & 0xff;
			len = rand_r(&seed) % len;
		} else {
			for (int n = 1 + rand_r(&seed) % 3; n; n--)
				buf[rand_r(&seed) % len] = rand_r(&seed) & 0xff;
		}
		ret = vacp_profile_parse(buf, len, &p, &err);
		if (ret) {
			assert_int_equal(ret, -EINVAL);
			assert_true(err.msg[0] != 0);
			continue;
		}
		for (size_t j = 0; j < p->n_params; j++) {
			assert_true(vacp_param_name_ok(p->params[j].name));
			assert_true(vacp_param_value_ok(p->params[j].value));
			if (j)
				assert_true(strcmp(p->params[j - 1].name,
						   p->params[j].name) < 0);
		}
		vacp_profile_free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_profile),
		cmocka_unit_test(test_empty_profile),
		cmocka_unit_test(test_rejections_name_the_path),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_name_and_value_checks),
		cmocka_unit_test(test_random_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
