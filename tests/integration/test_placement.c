// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * brokerd (local backend) against a real OpenStack Placement service:
 * Debian's placement-api on loopback with SQLite and noauth2, started
 * and stopped here (placement-run).  The child providers, inventories
 * and traits brokerd keeps; an allocation candidate for an SEV guest on
 * kvm_b only while kvm_b has an SEV ASID free; a quota change reflected
 * within a bound; a writer racing brokerd on a provider's generation;
 * deletions; Placement stopped and started again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "bt.h"

#define WAIT_MS		10000	/* the bound on brokerd's updates */

static struct {
	char dir[64];
	int port;
	pid_t pid;
	char url[64];
} pl;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
	FILE *f = arg;

	return fwrite(data, size, n, f);
}

/* One request to Placement as its admin: the status, *@out its JSON. */
static long pl_http(const char *method, const char *path, const char *body,
		    json_t **out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char *text = NULL, url[512];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	long status = 0;

	assert_non_null(c);
	snprintf(url, sizeof(url), "%s%s", pl.url, path);
	h = curl_slist_append(h, "X-Auth-Token: admin");
	h = curl_slist_append(h, "OpenStack-API-Version: placement 1.29");
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	fclose(f);
	if (out)
		*out = json_loads(text, 0, NULL);
	free(text);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

static void pl_start(void)
{
	char port[16], run[PATH_MAX];
	double until = now_ms() + 60000;

	snprintf(port, sizeof(port), "%d", pl.port);
	snprintf(run, sizeof(run), "%s/placement-run", PLACEMENT_RUN_DIR);
	pl.pid = fork();
	assert_true(pl.pid >= 0);
	if (!pl.pid) {
		char log[128];

		snprintf(log, sizeof(log), "%s/placement.log", pl.dir);
		freopen(log, "a", stderr);
		freopen(log, "a", stdout);
		execl(run, run, pl.dir, port, (char *)NULL);
		_exit(127);
	}
	while (pl_http("GET", "/", NULL, NULL) != 200) {
		int status;

		if (waitpid(pl.pid, &status, WNOHANG) == pl.pid)
			fail_msg("placement-api exited (%d); see %s/placement.log",
				 status, pl.dir);
		if (now_ms() > until)
			fail_msg("placement-api does not answer on %s", pl.url);
		usleep(100000);
	}
}

static void pl_stop(void)
{
	if (pl.pid <= 0)
		return;
	kill(pl.pid, SIGTERM);
	waitpid(pl.pid, NULL, 0);
	pl.pid = 0;
}

static int group_setup(void **state)
{
	if (access("/usr/bin/placement-api", X_OK)) {
		fprintf(stderr, "placement-api is not installed (scripts/install-deps)\n");
		return -1;
	}
	snprintf(pl.dir, sizeof(pl.dir), "/tmp/vac-placement-XXXXXX");
	if (!mkdtemp(pl.dir))
		return -1;
	pl.port = bt_free_port();
	snprintf(pl.url, sizeof(pl.url), "http://127.0.0.1:%d", pl.port);
	pl_start();
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	pl_stop();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", pl.dir);
	return system(cmd);
}

/* A compute node provider @name: its UUID (static). */
static const char *compute_node(const char *name)
{
	static char uuid[40];
	char body[128];
	json_t *j = NULL;

	snprintf(body, sizeof(body), "{\"name\": \"%s\"}", name);
	assert_int_equal(pl_http("POST", "/resource_providers", body, &j), 200);
	snprintf(uuid, sizeof(uuid), "%s",
		 json_string_value(json_object_get(j, "uuid")));
	json_decref(j);
	return uuid;
}

static void start(struct bt_daemon *d, const char *node, bool verbose)
{
	char config[512];
	const char *v[] = { "-v", NULL };

	bt_init(d, NULL);
	snprintf(config, sizeof(config),
		 "{\"local_capacity\": {\"asids\": 100, \"sev_asids\": 10, "
		 "\"sev_es_asids\": 4, \"vpids\": 100, \"pmu_counters\": 6}, "
		 "\"placement_url\": \"%s/\", \"placement_node\": \"%s\", "
		 "\"placement_interval\": 10}", pl.url, node);
	bt_write_file(d->config, config);
	assert_int_equal(bt_start(d, verbose ? v : NULL), 0);
}

static void put(struct bt_daemon *d, const char *path, const char *body)
{
	struct bt_resp r;

	if (body)
		bt_put_json(d, path, body, &r);
	else
		bt_http(d, "PUT", path, NULL, NULL, NULL, &r);
	if (r.status != 200 && r.status != 201)
		fail_msg("PUT %s: %ld: %s", path, r.status, r.body);
	bt_resp_free(&r);
}

/* The provider named @name: its JSON, or NULL. */
static json_t *provider(const char *name)
{
	char path[256];
	json_t *j = NULL, *rp;

	snprintf(path, sizeof(path), "/resource_providers?name=%s", name);
	if (pl_http("GET", path, NULL, &j) != 200) {
		json_decref(j);
		return NULL;
	}
	rp = json_incref(json_array_get(json_object_get(j, "resource_providers"), 0));
	json_decref(j);
	return rp;
}

static bool exists(const char *name)
{
	json_t *rp = provider(name);

	json_decref(rp);
	return rp != NULL;
}

static const char *uuid_of(json_t *rp)
{
	return json_string_value(json_object_get(rp, "uuid"));
}

/* @what ("inventories", "traits", "usages") of @name, or NULL. */
static json_t *part(const char *name, const char *what)
{
	json_t *rp = provider(name), *j = NULL;
	char path[256];

	if (!rp)
		return NULL;
	snprintf(path, sizeof(path), "/resource_providers/%s/%s", uuid_of(rp), what);
	pl_http("GET", path, NULL, &j);
	json_decref(rp);
	return j;
}

/* The inventory of @rc of @name, -1 if none: total or reserved. */
static long inv(const char *name, const char *rc, const char *field)
{
	json_t *j = part(name, "inventories");
	json_t *v = json_object_get(json_object_get(json_object_get(j,
			"inventories"), rc), field);
	long n = v ? (long)json_integer_value(v) : -1;

	json_decref(j);
	return n;
}

static bool has_trait(const char *name, const char *trait)
{
	json_t *j = part(name, "traits"), *v;
	bool hit = false;
	size_t i;

	json_array_foreach(json_object_get(j, "traits"), i, v)
		hit |= !strcmp(json_string_value(v), trait);
	json_decref(j);
	return hit;
}

/* Wait up to WAIT_MS for @cond: the milliseconds it took. */
#define WAIT_FOR(cond) ({ \
	double t0_ = now_ms(); \
	while (!(cond)) { \
		if (now_ms() - t0_ > WAIT_MS) \
			fail_msg("not within %d ms: %s", WAIT_MS, #cond); \
		usleep(50000); \
	} \
	now_ms() - t0_; })

/* Allocation candidates of @query: how many. */
static size_t candidates(const char *query)
{
	char path[512];
	json_t *j = NULL;
	size_t n;

	snprintf(path, sizeof(path), "/allocation_candidates?%s", query);
	assert_int_equal(pl_http("GET", path, NULL, &j), 200);
	n = json_array_size(json_object_get(j, "allocation_requests"));
	json_decref(j);
	return n;
}

#define SEV_B "resources=MEM_ENCRYPTION_CONTEXT:1&required=CUSTOM_VAC_INSTANCE_KVM_B"

static void allocate(const char *consumer, const char *name, int n)
{
	char path[128], body[512];
	json_t *rp = provider(name);

	assert_non_null(rp);
	snprintf(path, sizeof(path), "/allocations/%s", consumer);
	snprintf(body, sizeof(body),
		 "{\"allocations\": {\"%s\": {\"resources\": "
		 "{\"MEM_ENCRYPTION_CONTEXT\": %d}}}, \"project_id\": "
		 "\"5e1c3b3c-0b9e-4b5e-9e59-2b7e9c1f0a01\", \"user_id\": "
		 "\"5e1c3b3c-0b9e-4b5e-9e59-2b7e9c1f0a02\", "
		 "\"consumer_generation\": null}", uuid_of(rp), n);
	json_decref(rp);
	assert_int_equal(pl_http("PUT", path, body, NULL), 204);
}

static void test_providers_follow_instances_quotas_and_allocations(void **state)
{
	struct bt_daemon d;
	const char *root = compute_node("node1");
	const char *consumer = "0c1f6b2e-8a57-4c1e-9a38-6a1d3f0b7c11";
	char path[128];
	struct bt_resp r;
	json_t *rp;
	double ms;

	start(&d, "node1", false);
	put(&d, "/v1/instances/kvm_a", NULL);
	put(&d, "/v1/instances/kvm_b", NULL);
	put(&d, "/v1/instances/kvm_a/quota", "{\"quotas\": {\"vpids\": 4}}");
	put(&d, "/v1/instances/kvm_b/quota",
	    "{\"quotas\": {\"sev_asids\": 1, \"vpids\": 8}}");

	/* One child of the compute node per instance, Nova's conventions. */
	WAIT_FOR(inv("node1_vac_kvm_b", "MEM_ENCRYPTION_CONTEXT", "total") == 1);
	rp = provider("node1_vac_kvm_b");
	assert_string_equal(json_string_value(json_object_get(rp,
			    "parent_provider_uuid")), root);
	json_decref(rp);
	assert_int_equal(inv("node1_vac_kvm_b", "MEM_ENCRYPTION_CONTEXT", "reserved"), 0);
	assert_int_equal(inv("node1_vac_kvm_b", "MEM_ENCRYPTION_CONTEXT", "min_unit"), 1);
	assert_int_equal(inv("node1_vac_kvm_b", "MEM_ENCRYPTION_CONTEXT", "max_unit"), 1);
	assert_int_equal(inv("node1_vac_kvm_b", "MEM_ENCRYPTION_CONTEXT", "step_size"), 1);
	assert_int_equal(inv("node1_vac_kvm_b", "CUSTOM_VAC_VPIDS", "total"), 8);
	assert_true(has_trait("node1_vac_kvm_b", "CUSTOM_VAC_INSTANCE_KVM_B"));
	assert_true(has_trait("node1_vac_kvm_b", "HW_CPU_X86_AMD_SEV"));
	assert_false(has_trait("node1_vac_kvm_b", "CUSTOM_VAC_REGISTERED"));
	WAIT_FOR(inv("node1_vac_kvm_a", "CUSTOM_VAC_VPIDS", "total") == 4);
	assert_int_equal(inv("node1_vac_kvm_a", "MEM_ENCRYPTION_CONTEXT", "total"), -1);
	assert_false(has_trait("node1_vac_kvm_a", "HW_CPU_X86_AMD_SEV"));
	assert_false(exists("node1_vac_kvm_b_amd_sev_es"));

	/* A candidate while kvm_b has an SEV ASID free, none once it is taken. */
	assert_int_equal(candidates(SEV_B), 1);
	allocate(consumer, "node1_vac_kvm_b", 1);
	assert_int_equal(candidates(SEV_B), 0);
	/* A quota raise is a candidate again, within the bound. */
	put(&d, "/v1/instances/kvm_b/quota", "{\"quotas\": {\"sev_asids\": 2}}");
	ms = WAIT_FOR(candidates(SEV_B) == 1);
	print_message("quota change to Placement: %.0f ms\n", ms);

	/* SEV-ES on a provider of its own, as Nova has it. */
	put(&d, "/v1/instances/kvm_b/quota", "{\"quotas\": {\"sev_es_asids\": 3}}");
	WAIT_FOR(inv("node1_vac_kvm_b_amd_sev_es", "MEM_ENCRYPTION_CONTEXT", "total") == 3);
	assert_true(has_trait("node1_vac_kvm_b_amd_sev_es", "CUSTOM_VAC_INSTANCE_KVM_B"));
	/* Granular: SEV from the provider that has the trait. */
	assert_int_equal(candidates("resources1=MEM_ENCRYPTION_CONTEXT:1&"
		"required1=CUSTOM_VAC_INSTANCE_KVM_B,HW_CPU_X86_AMD_SEV"), 1);

	/* A quota under what is allocated: the allocation stays, closed to more. */
	put(&d, "/v1/instances/kvm_b/quota", "{\"quotas\": {\"sev_asids\": 0}}");
	WAIT_FOR(inv("node1_vac_kvm_b", "MEM_ENCRYPTION_CONTEXT", "reserved") == 2);
	assert_int_equal(candidates("resources1=MEM_ENCRYPTION_CONTEXT:1&"
		"required1=CUSTOM_VAC_INSTANCE_KVM_B,HW_CPU_X86_AMD_SEV"), 0);

	/* Deleted with nothing allocated: gone.  With: kept, closed. */
	bt_http(&d, "DELETE", "/v1/instances/kvm_a", NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 204);
	bt_resp_free(&r);
	WAIT_FOR(!exists("node1_vac_kvm_a"));
	bt_http(&d, "DELETE", "/v1/instances/kvm_b", NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 204);
	bt_resp_free(&r);
	WAIT_FOR(!exists("node1_vac_kvm_b_amd_sev_es"));
	assert_true(exists("node1_vac_kvm_b"));
	/* The allocation goes; at brokerd's next change, the provider too. */
	snprintf(path, sizeof(path), "/allocations/%s", consumer);
	assert_int_equal(pl_http("DELETE", path, NULL, NULL), 204);
	put(&d, "/v1/instances/kvm_c", NULL);
	WAIT_FOR(!exists("node1_vac_kvm_b"));
	WAIT_FOR(exists("node1_vac_kvm_c"));
	assert_int_equal(bt_stop(&d), 0);
	bt_cleanup(&d);
}

/* ---- a writer racing brokerd on the provider's generation ---- */

static volatile bool racing;

static void *race(void *arg)
{
	const char *uuid = arg;
	char path[128];

	snprintf(path, sizeof(path), "/resource_providers/%s/aggregates", uuid);
	while (racing) {
		json_t *j = NULL;
		char body[256];

		if (pl_http("GET", path, NULL, &j) == 200) {
			snprintf(body, sizeof(body),
				 "{\"aggregates\": [], \"resource_provider_generation\": %lld}",
				 (long long)json_integer_value(json_object_get(j,
					"resource_provider_generation")));
			pl_http("PUT", path, body, NULL);
		}
		json_decref(j);
		/* Another writer, not a flood: brokerd gives up after
		 * PL_RETRIES 409s in a row and backs off. */
		usleep(20000);
	}
	return NULL;
}

static void test_a_concurrent_writer_is_read_again(void **state)
{
	struct bt_daemon d;
	pthread_t t;
	json_t *rp;
	char body[96];
	int q;

	compute_node("node2");
	start(&d, "node2", true);
	put(&d, "/v1/instances/kvm_b", NULL);
	put(&d, "/v1/instances/kvm_b/quota", "{\"quotas\": {\"vpids\": 1}}");
	WAIT_FOR(inv("node2_vac_kvm_b", "CUSTOM_VAC_VPIDS", "total") == 1);
	rp = provider("node2_vac_kvm_b");
	racing = true;
	assert_int_equal(pthread_create(&t, NULL, race, (void *)uuid_of(rp)), 0);
	for (q = 2; q < 60 && !bt_log_has(&d, "reading it again"); q++) {
		snprintf(body, sizeof(body), "{\"quotas\": {\"vpids\": %d}}", q);
		put(&d, "/v1/instances/kvm_b/quota", body);
		WAIT_FOR(inv("node2_vac_kvm_b", "CUSTOM_VAC_VPIDS", "total") == q);
	}
	racing = false;
	pthread_join(t, NULL);
	json_decref(rp);
	assert_true(bt_log_has(&d, "reading it again"));
	print_message("a 409 after %d quota changes\n", q - 1);
	/* And it converged: the last quota is there. */
	WAIT_FOR(inv("node2_vac_kvm_b", "CUSTOM_VAC_VPIDS", "total") == q - 1);
	assert_int_equal(bt_stop(&d), 0);
	bt_cleanup(&d);
}

static int count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_placement_down_then_back_converges(void **state)
{
	struct bt_daemon d;
	struct bt_resp r;
	double t0;
	char *log;

	compute_node("node3");
	start(&d, "node3", false);
	put(&d, "/v1/instances/kvm_b", NULL);
	put(&d, "/v1/instances/kvm_b/quota", "{\"quotas\": {\"sev_asids\": 1}}");
	WAIT_FOR(inv("node3_vac_kvm_b", "MEM_ENCRYPTION_CONTEXT", "total") == 1);

	pl_stop();
	/* Quota changes do not wait for Placement. */
	t0 = now_ms();
	put(&d, "/v1/instances/kvm_b/quota", "{\"quotas\": {\"sev_asids\": 5}}");
	assert_true(now_ms() - t0 < 1000);
	for (t0 = now_ms(); now_ms() - t0 < WAIT_MS; usleep(100000)) {
		bt_get(&d, "/metrics", &r);
		if (bt_metric(r.body, "brokerd_placement_failures_total") >= 3)
			break;
		bt_resp_free(&r);
	}
	assert_true(bt_metric(r.body, "brokerd_placement_synced") == 0);
	bt_resp_free(&r);
	bt_get(&d, "/healthz", &r);
	assert_int_equal(r.status, 200);
	assert_false(json_is_true(json_object_get(json_object_get(json_object_get(
		r.json, "fleet"), "placement"), "synced")));
	bt_resp_free(&r);
	/* Several attempts, one warning. */
	log = bt_read_file(d.log);
	if (count(log, "warning: placement:") != 1)
		fail_msg("not one warning:\n%s", log);
	free(log);

	pl_start();
	WAIT_FOR(inv("node3_vac_kvm_b", "MEM_ENCRYPTION_CONTEXT", "total") == 5);
	WAIT_FOR(bt_log_has(&d, "placement: in sync again"));
	bt_get(&d, "/metrics", &r);
	assert_true(bt_metric(r.body, "brokerd_placement_synced") == 1);
	bt_resp_free(&r);
	assert_int_equal(bt_stop(&d), 0);
	bt_cleanup(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_providers_follow_instances_quotas_and_allocations),
		cmocka_unit_test(test_a_concurrent_writer_is_read_again),
		cmocka_unit_test(test_placement_down_then_back_converges),
	};

	curl_global_init(CURL_GLOBAL_ALL);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
