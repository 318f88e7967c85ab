// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Crash safety: brokerd (local backend) is driven with state-changing
 * requests (declares, deletes, quota sets, token creates and revokes)
 * and killed with SIGKILL after a random delay, then started again, over
 * and over.  After each kill: every JSON file of the state directory
 * parses; the daemon starts (left-over *.tmp files do not stop it); it
 * reconciles its backend to the desired state; and what it holds is what
 * was acknowledged (2xx) before the kill, plus or minus the one request
 * in flight, either not done or done entirely.
 *
 * Environment: BROKERD; VAC_CRASH_KILLS (default 50), VAC_CRASH_SEED;
 * VAC_CRASH_CONFIG, brokerd's configuration (default {}, the local
 * backend; tests/reliability/vm-crash runs it on the netlink backend).
 * Prints "crash: kills N survived N violations N ...".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "../integration/bt.h"

#define NINST		6
#define MAXTOK		64
#define MAX_DELAY_US	300000

enum op { DECLARE, DELETE, QUOTA, TOKEN_NEW, TOKEN_DEL, NR_OPS };
static const char *const op_names[] = {
	"declare", "delete", "quota", "token create", "token revoke",
};

struct model {
	bool declared[NINST];
	bool has_quota[NINST];
	unsigned int vpids[NINST], asids[NINST];
	char tokens[MAXTOK][24];
	int ntok;
};

struct request {
	enum op op;
	int inst;
	unsigned int vpids, asids;
	char token[24];
};

struct figures {
	unsigned int kills, survived, violations, applied, not_applied;
	unsigned int tmp_left, requests, acked;
};

static struct figures fig;

static void violation(struct bt_daemon *d, const char *fmt, ...)
{
	va_list ap;

	fig.violations++;
	fprintf(stderr, "crash: violation after kill %u: ", fig.kills);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	(void)d;
}

/* ---- HTTP that survives the daemon's death: -1 when the request failed ---- */

static size_t sink(char *data, size_t size, size_t n, void *arg)
{
	char **buf = arg;
	size_t old = *buf ? strlen(*buf) : 0;
	char *p = realloc(*buf, old + size * n + 1);

	if (!p)
		return 0;
	memcpy(p + old, data, size * n);
	p[old + size * n] = 0;
	*buf = p;
	return size * n;
}

static long call(struct bt_daemon *d, const char *method, const char *path,
		 const char *body, json_t **out)
{
	struct curl_slist *h = curl_slist_append(NULL,
				"Content-Type: application/json");
	CURL *c = curl_easy_init();
	char url[256], *text = NULL;
	long status = -1;

	assert_non_null(c);
	snprintf(url, sizeof(url), "http://brokerd%s", path);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, d->sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &text);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (out)
		*out = status > 0 && text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	return status;
}

/* ---- the model ---- */

/* The largest ASID quota asked for: VAC_CRASH_ASIDS, default 100. */
static unsigned int max_asids = 100;

static void pick(const struct model *m, struct request *r)
{
	r->op = rand() % NR_OPS;
	r->inst = rand() % NINST;
	r->vpids = rand() % 2000;
	r->asids = rand() % (max_asids + 1);
	r->token[0] = 0;
	if (r->op == TOKEN_DEL && m->ntok)
		strcpy(r->token, m->tokens[rand() % m->ntok]);
	else if (r->op == TOKEN_DEL || (r->op == TOKEN_NEW && m->ntok == MAXTOK))
		r->op = QUOTA;
}

/* @r done on @m, as the daemon acknowledged it (@id: a new token's). */
static void apply(struct model *m, const struct request *r, const char *id)
{
	int i = r->inst;

	switch (r->op) {
	case DECLARE:
		m->declared[i] = true;
		break;
	case DELETE:
		m->declared[i] = m->has_quota[i] = false;
		break;
	case QUOTA:
		m->has_quota[i] = true;
		m->vpids[i] = r->vpids;
		m->asids[i] = r->asids;
		break;
	case TOKEN_NEW:
		snprintf(m->tokens[m->ntok++], sizeof(m->tokens[0]), "%s", id);
		break;
	case TOKEN_DEL:
		for (int t = 0; t < m->ntok; t++)
			if (!strcmp(m->tokens[t], r->token)) {
				memmove(m->tokens[t], m->tokens[t + 1],
					(m->ntok - t - 1) * sizeof(m->tokens[0]));
				m->ntok--;
				break;
			}
		break;
	default:
		break;
	}
}

/* Send @r: its status, -1 if the daemon died under it. */
static long send_request(struct bt_daemon *d, struct model *m,
			 const struct request *r)
{
	char path[96], body[128];
	json_t *reply = NULL;
	long status;

	snprintf(path, sizeof(path), "/v1/instances/crash_%d", r->inst);
	switch (r->op) {
	case DECLARE:
		status = call(d, "PUT", path, NULL, NULL);
		break;
	case DELETE:
		status = call(d, "DELETE", path, NULL, NULL);
		break;
	case QUOTA:
		strcat(path, "/quota");
		snprintf(body, sizeof(body),
			 "{\"quotas\": {\"vpids\": %u, \"asids\": %u}}",
			 r->vpids, r->asids);
		status = call(d, "PUT", path, body, NULL);
		break;
	case TOKEN_NEW:
		status = call(d, "POST", "/v1/tokens",
			      "{\"name\": \"crash\", \"role\": \"viewer\"}", &reply);
		break;
	default:
		snprintf(path, sizeof(path), "/v1/tokens/%s", r->token);
		status = call(d, "DELETE", path, NULL, NULL);
		break;
	}
	if (status >= 200 && status < 300) {
		const char *id = json_string_value(json_object_get(reply, "id"));

		if (r->op == TOKEN_NEW && !id)
			violation(d, "token created without an id");
		apply(m, r, id ? id : "");
		fig.acked++;
	} else if (status > 0 && !(status == 404 || status == 409)) {
		violation(d, "%s crash_%d: unexpected status %ld",
			  op_names[r->op], r->inst, status);
	}
	fig.requests++;
	json_decref(reply);
	return status;
}

/* ---- after a kill ---- */

static void check_files(struct bt_daemon *d)
{
	DIR *dir = opendir(d->state);
	struct dirent *e;
	char path[512];

	if (!dir) {
		violation(d, "no state directory %s", d->state);
		return;
	}
	while ((e = readdir(dir))) {
		size_t n = strlen(e->d_name);
		json_error_t je;
		json_t *j;

		if (n > 4 && !strcmp(e->d_name + n - 4, ".tmp"))
			fig.tmp_left++;
		if (n < 5 || strcmp(e->d_name + n - 5, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", d->state, e->d_name);
		j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
		if (!j)
			violation(d, "%s does not parse: %s", e->d_name, je.text);
		json_decref(j);
	}
	closedir(dir);
}

/*
 * What the daemon holds, once its backend matches the desired state
 * (false if it does not within a few seconds).
 */
static bool observe(struct bt_daemon *d, struct model *o)
{
	for (int tries = 0; tries < 100; tries++, usleep(30000)) {
		json_t *l = NULL, *in, *toks = NULL, *t;
		bool settled = true;
		size_t i;

		memset(o, 0, sizeof(*o));
		if (call(d, "GET", "/v1/instances", NULL, &l) != 200 ||
		    call(d, "GET", "/v1/tokens", NULL, &toks) != 200) {
			json_decref(l);
			json_decref(toks);
			continue;
		}
		json_array_foreach(json_object_get(l, "instances"), i, in) {
			const char *name = json_string_value(json_object_get(in, "name"));
			json_t *want = json_object_get(in, "desired");
			const char *st;
			int k;

			if (!name || sscanf(name, "crash_%d", &k) != 1 ||
			    k < 0 || k >= NINST) {
				violation(d, "unknown instance %s", name);
				continue;
			}
			o->declared[k] = true;
			o->has_quota[k] = json_object_size(want) > 0;
			o->vpids[k] = json_integer_value(json_object_get(want, "vpids"));
			o->asids[k] = json_integer_value(json_object_get(want, "asids"));
			/* Reconciled: present, its desired quotas applied. */
			st = json_string_value(json_object_get(in, "state"));
			if (!st || !strcmp(st, "absent") ||
			    json_array_size(json_object_get(in, "unapplied")) ||
			    (o->has_quota[k] &&
			     (BT_INT(in, "usage", "vpids", "quota") != o->vpids[k] ||
			      BT_INT(in, "usage", "asids", "quota") != o->asids[k])))
				settled = false;
		}
		json_array_foreach(json_object_get(toks, "tokens"), i, t)
			if (o->ntok < MAXTOK)
				snprintf(o->tokens[o->ntok++], sizeof(o->tokens[0]),
					 "%s", json_string_value(json_object_get(t, "id")));
		json_decref(l);
		json_decref(toks);
		if (settled)
			return true;
	}
	return false;
}

static bool same_instances(const struct model *a, const struct model *b)
{
	for (int i = 0; i < NINST; i++)
		if (a->declared[i] != b->declared[i] ||
		    (a->declared[i] && a->has_quota[i] != b->has_quota[i]) ||
		    (a->declared[i] && a->has_quota[i] &&
		     (a->vpids[i] != b->vpids[i] || a->asids[i] != b->asids[i])))
			return false;
	return true;
}

static bool has_token(const struct model *m, const char *id)
{
	for (int t = 0; t < m->ntok; t++)
		if (!strcmp(m->tokens[t], id))
			return true;
	return false;
}

/* Every token of @a in @b; the one more of @b in *@extra. */
static bool tokens_within(const struct model *a, const struct model *b,
			  const char **extra)
{
	*extra = NULL;
	for (int t = 0; t < a->ntok; t++)
		if (!has_token(b, a->tokens[t]))
			return false;
	for (int t = 0; t < b->ntok; t++)
		if (!has_token(a, b->tokens[t])) {
			if (*extra)
				return false;
			*extra = b->tokens[t];
		}
	return true;
}

/*
 * The observed state @o against the acknowledged @m and the request in
 * flight @r: @o is @m, or @m with @r done.  @m becomes @o.
 */
static void compare(struct bt_daemon *d, struct model *m,
		    const struct request *r, const struct model *o)
{
	struct model after = *m;
	const char *extra;
	bool before, done;

	if (r->op == TOKEN_NEW) {
		before = same_instances(m, o) && tokens_within(m, o, &extra) &&
			 !extra;
		done = same_instances(m, o) && tokens_within(m, o, &extra) &&
		       extra;
	} else {
		apply(&after, r, "");
		before = same_instances(m, o) && tokens_within(m, o, &extra) &&
			 !extra && tokens_within(o, m, &extra) && !extra;
		done = same_instances(&after, o) && tokens_within(&after, o, &extra) &&
		       !extra && tokens_within(o, &after, &extra) && !extra;
	}
	if (!before && !done) {
		char what[64];

		snprintf(what, sizeof(what), "%s", op_names[r->op]);
		if (r->op < TOKEN_NEW)
			snprintf(what + strlen(what), sizeof(what) - strlen(what),
				 " crash_%d", r->inst);
		violation(d, "after %s the state is neither before nor after it",
			  what);
	} else {
		fig.applied += done && !before;
		fig.not_applied += before;
	}
	*m = *o;
}

struct killer {
	pid_t pid;
	useconds_t delay;
};

static void *kill_later(void *arg)
{
	struct killer *k = arg;

	usleep(k->delay);
	kill(k->pid, SIGKILL);
	return NULL;
}

static void crash_loop(void **state)
{
	const char *env = getenv("VAC_CRASH_KILLS");
	unsigned int kills = env ? strtoul(env, NULL, 10) : 50;
	unsigned int seed = getenv("VAC_CRASH_SEED") ?
			    strtoul(getenv("VAC_CRASH_SEED"), NULL, 10) :
			    (unsigned int)time(NULL);
	struct bt_daemon d;
	struct model m = { 0 }, o;

	if (getenv("VAC_CRASH_ASIDS"))
		max_asids = strtoul(getenv("VAC_CRASH_ASIDS"), NULL, 10);
	srand(seed);
	printf("crash: seed %u (VAC_CRASH_SEED), %u kills, ASID quotas up to %u\n",
	       seed, kills, max_asids);
	bt_init(&d, getenv("VAC_CRASH_CONFIG") ? getenv("VAC_CRASH_CONFIG") : "{}");
	assert_int_equal(bt_start(&d, NULL), 0);
	while (fig.kills < kills) {
		struct killer k = { d.pid, rand() % MAX_DELAY_US };
		unsigned int before = fig.violations;
		struct request r;
		pthread_t t;

		assert_int_equal(pthread_create(&t, NULL, kill_later, &k), 0);
		do
			pick(&m, &r);
		while (send_request(&d, &m, &r) > 0);
		pthread_join(t, NULL);
		bt_wait(&d);
		fig.kills++;

		check_files(&d);
		if (bt_start(&d, NULL)) {
			violation(&d, "brokerd does not start again; its log:");
			fprintf(stderr, "%s\n", bt_read_file(d.log));
			break;
		}
		if (!observe(&d, &o))
			violation(&d, "the backend does not reach the desired state");
		compare(&d, &m, &r, &o);
		fig.survived += fig.violations == before;
	}
	if (d.pid > 0 && bt_stop(&d))
		violation(&d, "brokerd did not stop cleanly");
	printf("crash: kills %u survived %u violations %u requests %u "
	       "acknowledged %u in-flight done %u not done %u tmp-left %u\n",
	       fig.kills, fig.survived, fig.violations, fig.requests, fig.acked,
	       fig.applied, fig.not_applied, fig.tmp_left);
	if (fig.violations)
		fprintf(stderr, "crash: the last state directory is kept: %s\n",
			d.state);
	else
		bt_cleanup(&d);
	assert_int_equal(fig.violations, 0);
	assert_int_equal(fig.survived, kills);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crash_loop),
	};

	curl_global_init(CURL_GLOBAL_ALL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
