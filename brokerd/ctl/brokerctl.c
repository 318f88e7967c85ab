// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * brokerctl: the command line of brokerd, in the manner of iproute2's
 * devlink and dpll: brokerctl [options] <object> <verb> [args].
 *
 * Every answer is a jansson value, printed by one function (emit) either
 * as a human table or, with -o json, as JSON.  Arguments are checked
 * before any request is made.  Exit status: 0 ok, 1 the server refused
 * (4xx), 2 usage error, 3 cannot connect or server error (5xx).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_CONNECT 3

#define DEFAULT_SOCKET "/run/brokerd/brokerd.sock"
#define QUOTA_MAX 4294967295ULL

static const char *const kinds[] = {
	"asids", "sev_asids", "sev_es_asids", "vpids", "pmu_counters", "msr_slots",
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static const char *const roles[] = { "viewer", "operator", "admin" };

struct ctl {
	const char *socket;
	const char *host;
	const char *cacert;
	char *token;
	bool json;
};

/* ---- messages ---- */

static int usage_error(const char *object, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(const char *object, const char *fmt, ...)
{
	va_list ap;

	fputs("brokerctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'brokerctl %s%s--help'.\n", object ? object : "",
		object ? " " : "");
	return EXIT_USAGE;
}

static const char main_help[] =
"Usage: brokerctl [OPTIONS] OBJECT [VERB] [ARGS]\n"
"\n"
"Objects and verbs:\n"
"  resources [show]                       capacity and usage of every kind\n"
"  instances [list]                       every instance\n"
"  instances show|declare|delete NAME     one instance\n"
"  quota get NAME                         desired quotas and usage\n"
"  quota set NAME KIND=N... [--force] [--if-match GEN]\n"
"  events [--count N]                     follow changes, one line each\n"
"  token create NAME --role ROLE [--instance NAME]... [--expires WHEN]\n"
"  token list\n"
"  token revoke ID\n"
"  policy show|apply|delete               the stored policy\n"
"  policy set FILE|- [--if-match GEN]     store a policy and apply it\n"
"  policy plan [FILE|-]                   dry run\n"
"  profile list | show NAME | set NAME FILE|- | delete NAME\n"
"  profile apply NAME INSTANCE | status INSTANCE\n"
"  help [OBJECT]\n"
"\n"
"Options:\n"
"  -s, --socket PATH     brokerd's Unix socket (env BROKERCTL_SOCKET;\n"
"                        default " DEFAULT_SOCKET ")\n"
"  -H, --host, --url URL https://host:port, or http://127.0.0.1:port\n"
"                        (env BROKERCTL_HOST); instead of the socket;\n"
"                        http:// is refused unless the host is loopback\n"
"  -t, --token TOKEN     bearer token (env BROKERCTL_TOKEN)\n"
"      --token-file FILE read the bearer token from FILE\n"
"                        (env BROKERCTL_TOKEN_FILE)\n"
"      --cacert FILE     CA certificate(s) to verify an https host\n"
"  -o, --output FORMAT   'table' (default) or 'json'\n"
"  -h, --help            this help; 'brokerctl OBJECT --help' for one object\n"
"\n"
"Kinds: asids sev_asids sev_es_asids vpids pmu_counters msr_slots\n"
"Instance names: [a-z0-9_]{1,31}.  Quotas: 0 to 4294967295.\n"
"\n"
"Exit status:\n"
"  0  success\n"
"  1  the server refused the request (4xx); its reason on stderr\n"
"  2  usage error (bad arguments); no request was made\n"
"  3  cannot connect to brokerd, or it failed (5xx)\n";

static const char resources_help[] =
"Usage: brokerctl resources [show]\n"
"\n"
"Per resource kind: capacity, first id, reserved, used and free.\n";

static const char instances_help[] =
"Usage: brokerctl instances [list]\n"
"       brokerctl instances show NAME\n"
"       brokerctl instances declare NAME\n"
"       brokerctl instances delete NAME\n"
"\n"
"list     every instance: state, module, generation, desired quotas\n"
"show     one instance: usage, desired quotas, what could not be applied\n"
"declare  declare NAME before its KVM module loads\n"
"delete   delete a declared instance and its desired quotas\n";

static const char quota_help[] =
"Usage: brokerctl quota get NAME\n"
"       brokerctl quota set NAME KIND=N [KIND=N...] [--force] [--if-match GEN]\n"
"\n"
"set is all or nothing.  KIND is one of asids, sev_asids, sev_es_asids,\n"
"vpids, pmu_counters, msr_slots; N is 0 to 4294967295.\n"
"  --force          let a quota go below what the instance uses\n"
"  --if-match GEN   only if the instance is still at generation GEN\n"
"\n"
"Example: brokerctl quota set kvm_b asids=1024 vpids=4096\n";

static const char events_help[] =
"Usage: brokerctl events [--count N]\n"
"\n"
"Follow brokerd's events, one line each, until interrupted (or N events).\n"
"With -o json, one JSON object per line: {\"event\": ..., \"data\": ...}.\n";

static const char token_help[] =
"Usage: brokerctl token create NAME --role ROLE [--instance INST]... [--expires WHEN]\n"
"       brokerctl token list\n"
"       brokerctl token revoke ID\n"
"\n"
"NAME is 1 to 63 of [A-Za-z0-9_.-]; ROLE is viewer, operator or admin;\n"
"--instance (repeatable) scopes the token to some instances; WHEN is a\n"
"time in Unix seconds.  create prints the secret token once; ID is the\n"
"token's id as 'token list' shows it.\n";

/* ---- HTTP ---- */

struct buf {
	char *data;
	size_t len;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	char *p = realloc(b->data, b->len + size * n + 1);

	if (!p)
		return 0;
	memcpy(p + b->len, data, size * n);
	b->data = p;
	b->len += size * n;
	p[b->len] = 0;
	return size * n;
}

static const char *target(const struct ctl *ctl)
{
	return ctl->host ? ctl->host : ctl->socket;
}

/* The URL of @path on ctl->host, malloc'ed. */
static char *host_url(const struct ctl *ctl, const char *path)
{
	size_t n = strlen(ctl->host);
	char *url;

	if (asprintf(&url, "%.*s%s", (int)(n && ctl->host[n - 1] == '/' ?
			n - 1 : n), ctl->host, path) < 0)
		return NULL;
	return url;
}

/* A handle for @path, with the transport, token and CA set. */
static CURL *open_handle(const struct ctl *ctl, const char *path,
			 struct curl_slist **headers)
{
	CURL *c = curl_easy_init();
	char *url = NULL;

	if (!c)
		return NULL;
	if (ctl->host) {
		url = host_url(ctl, path);
		/* Plain HTTP goes to loopback (see main): never via a proxy. */
		if (!strncmp(ctl->host, "http://", 7))
			curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	} else {
		if (asprintf(&url, "http://localhost%s", path) < 0)
			url = NULL;
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, ctl->socket);
	}
	if (!url) {
		curl_easy_cleanup(c);
		return NULL;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (ctl->cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, ctl->cacert);
	if (ctl->token) {
		char *h;

		if (asprintf(&h, "Authorization: Bearer %s", ctl->token) >= 0) {
			*headers = curl_slist_append(*headers, h);
			free(h);
		}
	}
	return c;
}

/* The error envelope's reason on stderr; the exit status of @status. */
static int report_http_error(long status, const char *body)
{
	json_t *j = body ? json_loads(body, 0, NULL) : NULL;
	json_t *e = json_object_get(j, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	const char *field = json_string_value(json_object_get(e, "field"));

	if (msg) {
		fprintf(stderr, "brokerctl: %s: %s", code ? code : "error", msg);
		if (field)
			fprintf(stderr, " (%s)", field);
		fputc('\n', stderr);
	} else {
		fprintf(stderr, "brokerctl: HTTP %ld%s%.200s\n", status,
			body && *body ? ": " : "", body ? body : "");
	}
	json_decref(j);
	return status >= 400 && status < 500 ? EXIT_REFUSED : EXIT_CONNECT;
}

static int report_curl_error(const struct ctl *ctl, CURL *c, CURLcode rc,
			     const char *errbuf)
{
	long os_errno = 0;

	curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
	if (rc == CURLE_COULDNT_CONNECT && os_errno)
		fprintf(stderr, "brokerctl: cannot connect to brokerd at %s: %s\n",
			target(ctl), strerror((int)os_errno));
	else
		fprintf(stderr, "brokerctl: cannot talk to brokerd at %s: %s\n",
			target(ctl), *errbuf ? errbuf : curl_easy_strerror(rc));
	return EXIT_CONNECT;
}

/*
 * One request with @text as its JSON body (none when NULL; an empty one
 * for a bodiless POST): 0 and the JSON answer in *out (NULL for an empty
 * body), or the exit status after the reason was printed.
 */
static int request_text(const struct ctl *ctl, const char *method,
			const char *path, const char *text,
			const char *if_match, json_t **out)
{
	struct curl_slist *h = NULL;
	struct buf b = { 0 };
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;
	CURL *c;
	int ret = 0;

	*out = NULL;
	c = open_handle(ctl, path, &h);
	if (!c) {
		fprintf(stderr, "brokerctl: out of memory\n");
		return EXIT_CONNECT;
	}
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (text) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	}
	if (if_match) {
		char *im;

		if (asprintf(&im, "If-Match: \"%s\"", if_match) >= 0) {
			h = curl_slist_append(h, im);
			free(im);
		}
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		ret = report_curl_error(ctl, c, rc, errbuf);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status >= 300) {
		ret = report_http_error(status, b.data);
		goto out;
	}
	if (b.len) {
		json_error_t err;

		*out = json_loads(b.data, 0, &err);
		if (!*out) {
			fprintf(stderr, "brokerctl: %s %s: the answer is not JSON: %s\n",
				method, path, err.text);
			ret = EXIT_CONNECT;
		}
	}
out:
	free(b.data);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return ret;
}

static int request(const struct ctl *ctl, const char *method,
		   const char *path, json_t *body, const char *if_match,
		   json_t **out)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int ret;

	*out = NULL;
	if (body && !text) {
		fprintf(stderr, "brokerctl: out of memory\n");
		return EXIT_CONNECT;
	}
	ret = request_text(ctl, method, path, text, if_match, out);
	free(text);
	return ret;
}

/* ---- printing: one path for tables and JSON ---- */

struct column {
	const char *header;
	const char *key;
};

struct view {
	const char *const *fields;	/* "key: value" lines first */
	const char *rows;		/* then a table of this array ... */
	json_t *(*derive)(json_t *doc);	/* ... or of the rows this makes */
	const struct column *cols;
	bool notes;			/* then the "unapplied" reasons */
	void (*after)(json_t *doc);	/* then what this prints */
};

/* A value as table text, malloc'ed: "-" for null or missing. */
static char *format_value(json_t *v)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	const char *key;
	json_t *item;
	size_t i;

	if (!f)
		return NULL;
	switch (json_typeof(v ? v : json_null())) {
	case JSON_STRING:
		fputs(json_string_value(v), f);
		break;
	case JSON_INTEGER:
		fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		fprintf(f, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		fputs("yes", f);
		break;
	case JSON_FALSE:
		fputs("no", f);
		break;
	case JSON_NULL:
		fputs("-", f);
		break;
	case JSON_OBJECT:
		i = 0;
		json_object_foreach(v, key, item) {
			char *t = format_value(item);

			fprintf(f, "%s%s=%s", i++ ? "," : "", key, t ? t : "");
			free(t);
		}
		if (!i)
			fputs("-", f);
		break;
	case JSON_ARRAY:
		json_array_foreach(v, i, item) {
			char *t = format_value(item);

			fprintf(f, "%s%s", i ? "," : "", t ? t : "");
			free(t);
		}
		if (!json_array_size(v))
			fputs("-", f);
		break;
	}
	fclose(f);
	return s;
}

static void print_cell(const char *text, size_t width, bool last)
{
	if (last)
		printf("%s\n", text ? text : "");
	else
		printf("%-*s  ", (int)width, text ? text : "");
}

static void print_table(json_t *rows, const struct column *cols)
{
	size_t ncol = 0, nrow = json_array_size(rows);
	size_t *width;
	char **cell;

	while (cols[ncol].header)
		ncol++;
	width = calloc(ncol, sizeof(*width));
	cell = calloc(ncol * (nrow + 1), sizeof(*cell));
	if (!width || !cell)
		goto out;
	for (size_t c = 0; c < ncol; c++) {
		width[c] = strlen(cols[c].header);
		for (size_t r = 0; r < nrow; r++) {
			json_t *row = json_array_get(rows, r);
			char **p = &cell[r * ncol + c];

			*p = format_value(json_object_get(row, cols[c].key));
			if (*p && strlen(*p) > width[c])
				width[c] = strlen(*p);
		}
	}
	for (size_t c = 0; c < ncol; c++)
		print_cell(cols[c].header, width[c], c + 1 == ncol);
	for (size_t r = 0; r < nrow; r++)
		for (size_t c = 0; c < ncol; c++)
			print_cell(cell[r * ncol + c], width[c], c + 1 == ncol);
out:
	if (cell)
		for (size_t i = 0; i < ncol * nrow; i++)
			free(cell[i]);
	free(cell);
	free(width);
}

/* Every key of an object as "key: value", in its order. */
static void print_fields(json_t *doc, const char *const *fields)
{
	const char *key;
	json_t *v;

	if (fields) {
		for (; *fields; fields++) {
			char *t = format_value(json_object_get(doc, *fields));

			printf("%s: %s\n", *fields, t ? t : "");
			free(t);
		}
		return;
	}
	json_object_foreach(doc, key, v) {
		char *t = format_value(v);

		printf("%s: %s\n", key, t ? t : "");
		free(t);
	}
}

/* The one printing call: @doc as JSON with -o json, else as @v says. */
static void emit(const struct ctl *ctl, json_t *doc, const struct view *v)
{
	json_t *rows = NULL;

	if (ctl->json) {
		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		return;
	}
	if (json_is_array(doc)) {
		rows = json_incref(doc);
	} else {
		if (v->fields || (!v->rows && !v->derive))
			print_fields(doc, v->fields);
		if (v->derive)
			rows = v->derive(doc);
		else if (v->rows)
			rows = json_incref(json_object_get(doc, v->rows));
	}
	if (rows && v->cols) {
		if (v->fields)
			putchar('\n');
		print_table(rows, v->cols);
	}
	if (v->notes) {
		json_t *u, *item;
		size_t i;

		u = json_object_get(doc, "unapplied");
		json_array_foreach(u, i, item)
			printf("unapplied %s: %s\n",
			       json_string_value(json_object_get(item, "kind")) ?:
			       "-", json_string_value(json_object_get(item,
							"reason")) ?: "");
	}
	if (v->after)
		v->after(doc);
	json_decref(rows);
}

/* "FIRST-LAST" of a kind handed out as one range (ASIDs), else NULL. */
static json_t *id_range(json_t *u)
{
	json_t *base = json_object_get(u, "base");
	json_int_t n = json_integer_value(json_object_get(u, "quota"));

	if (!json_is_integer(base) || n <= 0)
		return NULL;
	return json_sprintf("%" JSON_INTEGER_FORMAT "-%" JSON_INTEGER_FORMAT,
			    json_integer_value(base), json_integer_value(base) + n - 1);
}

/* An instance's quotas as rows, one per kind it has usage or a desire for. */
static json_t *quota_rows(json_t *inst)
{
	json_t *rows = json_array();
	json_t *usage = json_object_get(inst, "usage");
	json_t *desired = json_object_get(inst, "desired");

	for (size_t k = 0; k < N_KINDS; k++) {
		json_t *u = json_object_get(usage, kinds[k]);
		json_t *want = json_object_get(desired, kinds[k]);

		if (!u && !want)
			continue;
		json_array_append_new(rows, json_pack("{s:s, s:O?, s:O?, s:O?, s:O?, s:O?, s:o?}",
			"kind", kinds[k], "desired", want,
			"quota", json_object_get(u, "quota"),
			"used", json_object_get(u, "used"),
			"peak", json_object_get(u, "peak"),
			"failcnt", json_object_get(u, "failcnt"),
			"range", id_range(u)));
	}
	return rows;
}

static const char *const instance_fields[] = {
	"name", "state", "module", "generation", NULL,
};

static const struct column quota_cols[] = {
	{ "KIND", "kind" }, { "DESIRED", "desired" }, { "QUOTA", "quota" },
	{ "USED", "used" }, { "PEAK", "peak" }, { "FAILCNT", "failcnt" },
	{ "RANGE", "range" }, { 0 },
};

static const struct view instance_view = {
	.fields = instance_fields, .derive = quota_rows, .cols = quota_cols,
	.notes = true,
};

static const struct view plain_view = { 0 };

/* ---- argument checks ---- */

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 31)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
		    *s != '_')
			return false;
	return true;
}

static int check_name(const char *object, const char *name)
{
	if (!valid_name(name))
		return usage_error(object, "bad instance name '%s': expected [a-z0-9_]{1,31}",
				   name);
	return 0;
}

static bool parse_u64(const char *s, unsigned long long max,
		      unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

static int find_kind(const char *s, size_t n)
{
	for (size_t k = 0; k < N_KINDS; k++)
		if (strlen(kinds[k]) == n && !strncmp(kinds[k], s, n))
			return (int)k;
	return -1;
}

/* ---- verbs ---- */

/* Verb options: --help anywhere, "--" ends them. */
static bool wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	return false;
}

static int show_help(const char *text)
{
	fputs(text, stdout);
	return 0;
}

static int do_get(const struct ctl *ctl, const char *path,
		  const struct view *v)
{
	json_t *doc;
	int ret = request(ctl, "GET", path, NULL, NULL, &doc);

	if (!ret)
		emit(ctl, doc ? doc : json_null(), v);
	json_decref(doc);
	return ret;
}

static int cmd_resources(const struct ctl *ctl, int argc, char **argv)
{
	static const char *const fields[] = { "backend", NULL };
	static const struct column cols[] = {
		{ "KIND", "kind" }, { "CAPACITY", "capacity" },
		{ "FIRST", "first" }, { "RESERVED", "reserved" },
		{ "USED", "used" }, { "FREE", "free" }, { "PROBED", "probed" },
		{ "OVERRIDDEN", "overridden" }, { 0 },
	};
	static const struct view v = {
		.fields = fields, .rows = "resources", .cols = cols,
	};

	if (wants_help(argc, argv))
		return show_help(resources_help);
	if (argc > 1 || (argc == 1 && strcmp(argv[0], "show") &&
			 strcmp(argv[0], "list")))
		return usage_error("resources", "unknown verb or argument '%s'",
				   argv[0]);
	return do_get(ctl, "/v1/resources", &v);
}

static int cmd_instances(const struct ctl *ctl, int argc, char **argv)
{
	static const struct column cols[] = {
		{ "NAME", "name" }, { "STATE", "state" }, { "MODULE", "module" },
		{ "GEN", "generation" }, { "DESIRED", "desired" }, { 0 },
	};
	static const struct view list_view = { .rows = "instances", .cols = cols };
	const char *verb = argc ? argv[0] : "list";
	char path[96];
	json_t *doc;
	int ret;

	if (wants_help(argc, argv))
		return show_help(instances_help);
	if (!strcmp(verb, "list")) {
		if (argc > 1)
			return usage_error("instances", "list takes no arguments");
		return do_get(ctl, "/v1/instances", &list_view);
	}
	if (strcmp(verb, "show") && strcmp(verb, "declare") &&
	    strcmp(verb, "delete"))
		return usage_error("instances", "unknown verb '%s'", verb);
	if (argc != 2)
		return usage_error("instances", "%s takes one instance name", verb);
	ret = check_name("instances", argv[1]);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/v1/instances/%s", argv[1]);
	if (!strcmp(verb, "show"))
		return do_get(ctl, path, &instance_view);
	if (!strcmp(verb, "declare")) {
		ret = request(ctl, "PUT", path, NULL, NULL, &doc);
		if (!ret)
			emit(ctl, doc ? doc : json_null(), &instance_view);
		json_decref(doc);
		return ret;
	}
	ret = request(ctl, "DELETE", path, NULL, NULL, &doc);
	json_decref(doc);
	if (!ret) {
		doc = json_pack("{s:s}", "deleted", argv[1]);
		emit(ctl, doc, &plain_view);
		json_decref(doc);
	}
	return ret;
}

static int quota_set(const struct ctl *ctl, int argc, char **argv)
{
	const char *name = NULL, *if_match = NULL;
	json_t *quotas, *body, *doc;
	unsigned long long gen;
	bool force = false;
	char path[128];
	int ret;

	quotas = json_object();
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		unsigned long long v;
		int k;

		if (!strcmp(a, "--force")) {
			force = true;
		} else if (!strcmp(a, "--if-match") ||
			   !strncmp(a, "--if-match=", 11)) {
			if_match = a[10] == '=' ? a + 11 : i + 1 < argc ? argv[++i] : NULL;
			if (!if_match || !parse_u64(if_match, UINT64_MAX, &gen)) {
				json_decref(quotas);
				return usage_error("quota", "--if-match takes a generation (a non-negative integer)");
			}
		} else if (a[0] == '-' && !eq) {
			json_decref(quotas);
			return usage_error("quota", "unknown option '%s'", a);
		} else if (!name) {
			name = a;
			ret = check_name("quota", name);
			if (ret) {
				json_decref(quotas);
				return ret;
			}
		} else if (!eq) {
			json_decref(quotas);
			return usage_error("quota", "'%s': expected KIND=N", a);
		} else if ((k = find_kind(a, eq - a)) < 0) {
			json_decref(quotas);
			return usage_error("quota", "unknown kind '%.*s': expected one of asids, sev_asids, sev_es_asids, vpids, pmu_counters, msr_slots",
					   (int)(eq - a), a);
		} else if (!parse_u64(eq + 1, QUOTA_MAX, &v)) {
			json_decref(quotas);
			return usage_error("quota", "bad value '%s' for %s: expected an integer from 0 to %llu",
					   eq + 1, kinds[k], QUOTA_MAX);
		} else if (json_object_get(quotas, kinds[k])) {
			json_decref(quotas);
			return usage_error("quota", "%s given twice", kinds[k]);
		} else {
			json_object_set_new(quotas, kinds[k], json_integer((json_int_t)v));
		}
	}
	if (!name) {
		json_decref(quotas);
		return usage_error("quota", "set needs an instance name");
	}
	if (!json_object_size(quotas)) {
		json_decref(quotas);
		return usage_error("quota", "set needs at least one KIND=N");
	}
	body = json_pack("{s:o, s:b}", "quotas", quotas, "force", force);
	snprintf(path, sizeof(path), "/v1/instances/%s/quota", name);
	ret = request(ctl, "PUT", path, body, if_match, &doc);
	if (!ret)
		emit(ctl, doc ? doc : json_null(), &instance_view);
	json_decref(doc);
	json_decref(body);
	return ret;
}

static int cmd_quota(const struct ctl *ctl, int argc, char **argv)
{
	char path[96];
	int ret;

	if (wants_help(argc, argv))
		return show_help(quota_help);
	if (!argc)
		return usage_error("quota", "missing verb: get or set");
	if (!strcmp(argv[0], "set"))
		return quota_set(ctl, argc - 1, argv + 1);
	if (strcmp(argv[0], "get"))
		return usage_error("quota", "unknown verb '%s'", argv[0]);
	if (argc != 2)
		return usage_error("quota", "get takes one instance name");
	ret = check_name("quota", argv[1]);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/v1/instances/%s", argv[1]);
	return do_get(ctl, path, &instance_view);
}

/* ---- events ---- */

struct stream {
	const struct ctl *ctl;
	struct buf b;
	long count;		/* events still wanted; < 0 for no end */
	bool done;
	bool failed;
	long status;
	CURL *c;
};

/* One event, as a line: "event name state=... gen=..." or JSON. */
static void emit_event(const struct ctl *ctl, const char *event,
		       const char *data)
{
	json_t *d = json_loads(data, 0, NULL);
	json_t *ev = json_pack("{s:s, s:o}", "event", event,
			       "data", d ? d : json_string(data));

	if (ctl->json) {
		json_dumpf(ev, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	} else {
		char *desired = format_value(json_object_get(d, "desired"));
		char *state = format_value(json_object_get(d, "state"));
		char *name = format_value(json_object_get(d, "name"));
		char *gen = format_value(json_object_get(d, "generation"));

		printf("%s %s state=%s generation=%s desired=%s", event,
		       name ? name : "-", state ? state : "-", gen ? gen : "-",
		       desired ? desired : "-");
		if (json_object_get(d, "refused"))
			printf(" refused=%s", json_string_value(
				json_object_get(d, "refused")) ?: "-");
		free(desired);
		free(state);
		free(name);
		free(gen);
	}
	putchar('\n');
	fflush(stdout);
	json_decref(ev);
}

/* Complete events ("...\n\n") out of the buffer; comments skipped. */
static void parse_events(struct stream *s)
{
	char *start = s->b.data, *end;

	while (s->count && (end = strstr(start, "\n\n"))) {
		char *event = NULL, *data = NULL;

		*end = 0;
		for (char *line = start, *nl; line; line = nl) {
			nl = strchr(line, '\n');
			if (nl)
				*nl++ = 0;
			if (!strncmp(line, "event: ", 7))
				event = line + 7;
			else if (!strncmp(line, "data: ", 6))
				data = line + 6;
		}
		if (event && data) {
			emit_event(s->ctl, event, data);
			if (s->count > 0)
				s->count--;
		}
		start = end + 2;
	}
	s->b.len -= start - s->b.data;
	memmove(s->b.data, start, s->b.len + 1);
	if (!s->count)
		s->done = true;
}

static size_t on_events(char *data, size_t size, size_t n, void *arg)
{
	struct stream *s = arg;

	if (!s->status)
		curl_easy_getinfo(s->c, CURLINFO_RESPONSE_CODE, &s->status);
	if (on_body(data, size, n, &s->b) != size * n)
		return 0;
	if (s->status != 200)
		return size * n;	/* the error envelope, read whole */
	parse_events(s);
	return s->done ? 0 : size * n;
}

static int cmd_events(const struct ctl *ctl, int argc, char **argv)
{
	struct stream s = { .ctl = ctl, .count = -1 };
	struct curl_slist *h = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	unsigned long long n;
	CURLcode rc;
	int ret = 0;

	if (wants_help(argc, argv))
		return show_help(events_help);
	for (int i = 0; i < argc; i++) {
		const char *v;

		if (!strcmp(argv[i], "--count") || !strncmp(argv[i], "--count=", 8)) {
			v = argv[i][7] == '=' ? argv[i] + 8 :
				i + 1 < argc ? argv[++i] : NULL;
			if (!v || !parse_u64(v, LONG_MAX, &n) || !n)
				return usage_error("events", "--count takes a positive integer");
			s.count = (long)n;
		} else {
			return usage_error("events", "unknown argument '%s'", argv[i]);
		}
	}
	s.c = open_handle(ctl, "/v1/events", &h);
	if (!s.c) {
		fprintf(stderr, "brokerctl: out of memory\n");
		return EXIT_CONNECT;
	}
	curl_easy_setopt(s.c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(s.c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(s.c, CURLOPT_WRITEFUNCTION, on_events);
	curl_easy_setopt(s.c, CURLOPT_WRITEDATA, &s);
	rc = curl_easy_perform(s.c);
	if (!s.status)
		curl_easy_getinfo(s.c, CURLINFO_RESPONSE_CODE, &s.status);
	if (s.done) {
		ret = 0;
	} else if (rc != CURLE_OK && (!s.status || s.status == 200)) {
		ret = report_curl_error(ctl, s.c, rc, errbuf);
	} else if (s.status != 200) {
		ret = report_http_error(s.status, s.b.data);
	} else {
		fprintf(stderr, "brokerctl: brokerd ended the event stream\n");
		ret = EXIT_CONNECT;
	}
	free(s.b.data);
	curl_slist_free_all(h);
	curl_easy_cleanup(s.c);
	return ret;
}

/* ---- tokens ---- */

static int token_create(const struct ctl *ctl, int argc, char **argv)
{
	const char *name = NULL, *role = NULL, *expires = NULL;
	json_t *instances = json_array(), *body, *doc;
	unsigned long long when = 0;
	int ret;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;
		const char *opt = NULL;

		if (!strcmp(a, "--role"))
			dst = &role, opt = a;
		else if (!strcmp(a, "--expires"))
			dst = &expires, opt = a;
		else if (!strcmp(a, "--instance"))
			opt = a;
		if (opt) {
			const char *v = i + 1 < argc ? argv[++i] : NULL;

			if (!v) {
				json_decref(instances);
				return usage_error("token", "%s needs a value", opt);
			}
			if (dst) {
				*dst = v;
				continue;
			}
			ret = check_name("token", v);
			if (ret) {
				json_decref(instances);
				return ret;
			}
			json_array_append_new(instances, json_string(v));
		} else if (a[0] == '-') {
			json_decref(instances);
			return usage_error("token", "unknown option '%s'", a);
		} else if (!name) {
			name = a;
		} else {
			json_decref(instances);
			return usage_error("token", "unexpected argument '%s'", a);
		}
	}
	ret = !name ? usage_error("token", "create needs a name") :
	      !role ? usage_error("token", "create needs --role viewer|operator|admin") : 0;
	if (!ret && strcmp(role, roles[0]) && strcmp(role, roles[1]) &&
	    strcmp(role, roles[2]))
		ret = usage_error("token", "unknown role '%s': expected viewer, operator or admin",
				  role);
	if (!ret && (!*name || strlen(name) > 63 ||
		     strspn(name, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(name)))
		ret = usage_error("token", "bad token name '%s': expected 1 to 63 of [A-Za-z0-9_.-]",
				  name);
	if (!ret && expires && !parse_u64(expires, INT64_MAX, &when))
		ret = usage_error("token", "bad --expires '%s': expected a time in Unix seconds",
				  expires);
	if (ret) {
		json_decref(instances);
		return ret;
	}
	body = json_pack("{s:s, s:s}", "name", name, "role", role);
	if (json_array_size(instances))
		json_object_set(body, "instances", instances);
	if (expires)
		json_object_set_new(body, "expires", json_integer((json_int_t)when));
	json_decref(instances);
	ret = request(ctl, "POST", "/v1/tokens", body, NULL, &doc);
	if (!ret)
		emit(ctl, doc ? doc : json_null(), &plain_view);
	json_decref(doc);
	json_decref(body);
	return ret;
}

static int cmd_token(const struct ctl *ctl, int argc, char **argv)
{
	static const struct column cols[] = {
		{ "ID", "id" }, { "NAME", "name" }, { "ROLE", "role" },
		{ "INSTANCES", "instances" }, { "CREATED", "created" },
		{ "EXPIRES", "expires" }, { 0 },
	};
	static const struct view list_view = { .rows = "tokens", .cols = cols };
	char path[160];
	json_t *doc;
	int ret;

	if (wants_help(argc, argv))
		return show_help(token_help);
	if (!argc)
		return usage_error("token", "missing verb: create, list or revoke");
	if (!strcmp(argv[0], "create"))
		return token_create(ctl, argc - 1, argv + 1);
	if (!strcmp(argv[0], "list")) {
		if (argc > 1)
			return usage_error("token", "list takes no arguments");
		return do_get(ctl, "/v1/tokens", &list_view);
	}
	if (strcmp(argv[0], "revoke"))
		return usage_error("token", "unknown verb '%s'", argv[0]);
	if (argc != 2)
		return usage_error("token", "revoke takes one token id");
	for (const char *p = argv[1]; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return usage_error("token", "bad token id '%s'", argv[1]);
	if (!*argv[1] || strlen(argv[1]) > 64)
		return usage_error("token", "bad token id '%s'", argv[1]);
	snprintf(path, sizeof(path), "/v1/tokens/%s", argv[1]);
	ret = request(ctl, "DELETE", path, NULL, NULL, &doc);
	json_decref(doc);
	if (!ret) {
		doc = json_pack("{s:s}", "revoked", argv[1]);
		emit(ctl, doc, &plain_view);
		json_decref(doc);
	}
	return ret;
}

/* ---- documents from a file ---- */

#define DOC_MAX_BYTES (1u << 20)

/*
 * The JSON document in @path ("-" for stdin), malloc'ed, checked to be
 * one JSON object without duplicate keys; or NULL after a usage error.
 * The text is sent as it is, so that the server's paths match the file.
 */
static char *read_document(const char *object, const char *path, int *ret)
{
	bool is_stdin = !strcmp(path, "-");
	FILE *f = is_stdin ? stdin : fopen(path, "re");
	struct buf b = { 0 };
	char chunk[8192];
	json_error_t err;
	json_t *j;
	size_t n;

	if (!f) {
		*ret = usage_error(object, "cannot read %s: %s", path,
				   strerror(errno));
		return NULL;
	}
	if (is_stdin)
		path = "stdin";
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b.len + n > DOC_MAX_BYTES) {
			*ret = usage_error(object, "%s: larger than %u bytes", path,
					   DOC_MAX_BYTES);
			goto fail;
		}
		if (on_body(chunk, 1, n, &b) != n) {
			fprintf(stderr, "brokerctl: out of memory\n");
			*ret = EXIT_CONNECT;
			goto fail;
		}
	}
	if (ferror(f)) {
		*ret = usage_error(object, "cannot read %s: %s", path,
				   strerror(errno));
		goto fail;
	}
	j = json_loadb(b.data ? b.data : "", b.len, JSON_REJECT_DUPLICATES, &err);
	if (!j || !json_is_object(j)) {
		if (j)
			*ret = usage_error(object, "%s: expected a JSON object", path);
		else
			*ret = usage_error(object, "%s:%d:%d: not JSON: %s", path,
					   err.line, err.column, err.text);
		json_decref(j);
		goto fail;
	}
	json_decref(j);
	if (!is_stdin)
		fclose(f);
	return b.data;
fail:
	if (!is_stdin)
		fclose(f);
	free(b.data);
	return NULL;
}

/* ---- policy ---- */

static const struct column plan_cols[] = {
	{ "INSTANCE", "instance" }, { "KIND", "kind" }, { "FROM", "from" },
	{ "TO", "to" }, { 0 },
};

static json_t *plan_steps(json_t *doc)
{
	return json_incref(json_object_get(json_object_get(doc, "plan"), "steps"));
}

/* After the steps: the planned quotas and what could not be applied. */
static void print_plan_rest(json_t *doc)
{
	static const struct column cols[] = {
		{ "INSTANCE", "instance" }, { "PLANNED QUOTAS", "quotas" }, { 0 },
	};
	json_t *plan = json_object_get(doc, "plan");
	json_t *quotas = json_object_get(plan, "quotas");
	json_t *rows = json_array(), *q, *item;
	const char *name;
	size_t i;

	if (!json_array_size(json_object_get(plan, "steps")))
		printf("(no change)\n");
	json_object_foreach(quotas, name, q)
		json_array_append_new(rows, json_pack("{s:s, s:O}", "instance",
						      name, "quotas", q));
	if (json_array_size(rows)) {
		putchar('\n');
		print_table(rows, cols);
	}
	json_decref(rows);
	json_array_foreach(json_object_get(doc, "errors"), i, item) {
		char *t = format_value(item);

		printf("error: %s\n", t ? t : "");
		free(t);
	}
}

static const char *const applied_fields[] = { "generation", "applied", NULL };

static const struct view applied_view = {
	.fields = applied_fields, .derive = plan_steps, .cols = plan_cols,
	.after = print_plan_rest,
};

static const struct view plan_view = {
	.derive = plan_steps, .cols = plan_cols, .after = print_plan_rest,
};

static void print_policy(json_t *doc)
{
	json_t *p = json_object_get(doc, "policy");

	if (!p || json_is_null(p)) {
		printf("no policy stored\n");
		return;
	}
	json_dumpf(p, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
}

static const char *const generation_field[] = { "generation", NULL };

static const struct view policy_view = {
	.fields = generation_field, .after = print_policy,
};

static const char policy_help[] =
"Usage: brokerctl policy show\n"
"       brokerctl policy set FILE|- [--if-match GEN]\n"
"       brokerctl policy plan [FILE|-]\n"
"       brokerctl policy apply\n"
"       brokerctl policy delete\n"
"\n"
"show    the stored policy document and its generation\n"
"set     store the policy in FILE (- for stdin) and apply it: prints the\n"
"        plan (shrinks before grows) and what could not be applied\n"
"plan    dry run: the plan for the stored policy, or for FILE; nothing\n"
"        changes\n"
"apply   re-plan the stored policy against the current usage and apply it\n"
"delete  forget the stored policy; the quotas stay as they are\n"
"\n"
"The document format is described in policy/README.md.  An invalid\n"
"document (422) or a plan that cannot fit (409) changes nothing.\n";

/* "policy set FILE [--if-match GEN]": the file, and the generation. */
static int policy_set_args(int argc, char **argv, const char **file,
			   const char **if_match)
{
	unsigned long long gen;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--if-match")) {
			*if_match = i + 1 < argc ? argv[++i] : NULL;
			if (!*if_match || !parse_u64(*if_match, UINT64_MAX, &gen))
				return usage_error("policy", "--if-match takes a generation (a non-negative integer)");
		} else if (a[0] == '-' && a[1]) {
			return usage_error("policy", "unknown option '%s'", a);
		} else if (*file) {
			return usage_error("policy", "unexpected argument '%s'", a);
		} else {
			*file = a;
		}
	}
	if (!*file)
		return usage_error("policy", "set needs a FILE (- for stdin)");
	return 0;
}

static int send_document(const struct ctl *ctl, const char *object,
			 const char *method, const char *path,
			 const char *file, const char *if_match,
			 const struct view *v)
{
	char *text = NULL;
	json_t *doc;
	int ret = 0;

	if (file) {
		text = read_document(object, file, &ret);
		if (!text)
			return ret;
	}
	ret = request_text(ctl, method, path, text, if_match, &doc);
	if (!ret)
		emit(ctl, doc ? doc : json_null(), v);
	json_decref(doc);
	free(text);
	return ret;
}

/* A bodiless change answered by 204: print what was done. */
static int delete_thing(const struct ctl *ctl, const char *path,
			const char *what)
{
	json_t *doc;
	int ret = request(ctl, "DELETE", path, NULL, NULL, &doc);

	json_decref(doc);
	if (!ret) {
		doc = json_pack("{s:s}", "deleted", what);
		emit(ctl, doc, &plain_view);
		json_decref(doc);
	}
	return ret;
}

static int cmd_policy(const struct ctl *ctl, int argc, char **argv)
{
	const char *file = NULL, *if_match = NULL, *verb;
	int ret;

	if (wants_help(argc, argv))
		return show_help(policy_help);
	if (!argc)
		return usage_error("policy", "missing verb: show, set, plan, apply or delete");
	verb = argv[0];
	if (!strcmp(verb, "set")) {
		ret = policy_set_args(argc - 1, argv + 1, &file, &if_match);
		if (ret)
			return ret;
		return send_document(ctl, "policy", "PUT", "/v1/policy", file,
				     if_match, &applied_view);
	}
	if (!strcmp(verb, "plan")) {
		if (argc > 2)
			return usage_error("policy", "plan takes at most one FILE");
		return send_document(ctl, "policy", "POST", "/v1/policy/plan",
				     argc == 2 ? argv[1] : NULL, NULL, &plan_view);
	}
	if (strcmp(verb, "show") && strcmp(verb, "apply") && strcmp(verb, "delete"))
		return usage_error("policy", "unknown verb '%s'", verb);
	if (argc > 1)
		return usage_error("policy", "%s takes no arguments", verb);
	if (!strcmp(verb, "show"))
		return do_get(ctl, "/v1/policy", &policy_view);
	if (!strcmp(verb, "apply"))
		return send_document(ctl, "policy", "POST", "/v1/policy/apply",
				     NULL, NULL, &applied_view);
	return delete_thing(ctl, "/v1/policy", "policy");
}

/* ---- profiles ---- */

static const char profile_help[] =
"Usage: brokerctl profile list\n"
"       brokerctl profile show NAME\n"
"       brokerctl profile set NAME FILE|-\n"
"       brokerctl profile delete NAME\n"
"       brokerctl profile apply NAME INSTANCE\n"
"       brokerctl profile status INSTANCE\n"
"\n"
"A profile is a named bundle of quotas and KVM module parameters:\n"
"  {\"quotas\": {\"asids\": 64, ...}, \"params\": {\"halt_poll_ns\": \"0\", ...}}\n"
"\n"
"list    every profile\n"
"show    one profile\n"
"set     create or replace profile NAME from FILE (- for stdin)\n"
"delete  delete profile NAME\n"
"apply   set INSTANCE's quotas, write its runtime-writable parameters and\n"
"        render the load-time ones into a modprobe.d file; prints per\n"
"        parameter: applied, pending (next load), drifted or unknown\n"
"status  the same report for the profile last applied to INSTANCE, as\n"
"        the parameters are now (drift check); nothing is written\n"
"\n"
"Profile and instance names: [a-z0-9_]{1,31}.\n";

static const char *const report_fields[] = {
	"instance", "profile", "modprobe_file", NULL,
};

static const struct column report_cols[] = {
	{ "PARAM", "name" }, { "DESIRED", "desired" }, { "ACTUAL", "actual" },
	{ "STATUS", "status" }, { 0 },
};

static const struct view report_view = {
	.fields = report_fields, .rows = "params", .cols = report_cols,
};

static int check_profile_name(const char *name)
{
	if (!valid_name(name))
		return usage_error("profile", "bad profile name '%s': expected [a-z0-9_]{1,31}",
				   name);
	return 0;
}

/* The verbs' arguments: how many, and which are profile/instance names. */
static const struct profile_verb {
	const char *verb;
	int nargs;
	const char *args;	/* 'p' profile name, 'i' instance, 'f' file */
	const char *usage;
} profile_verbs[] = {
	{ "list", 0, "", "no arguments" },
	{ "show", 1, "p", "NAME" },
	{ "set", 2, "pf", "NAME FILE|-" },
	{ "delete", 1, "p", "NAME" },
	{ "apply", 2, "pi", "NAME INSTANCE" },
	{ "status", 1, "i", "INSTANCE" },
};

static int profile_check_args(const struct profile_verb *pv, char **args)
{
	int ret = 0;

	for (int i = 0; i < pv->nargs && !ret; i++)
		if (pv->args[i] == 'p')
			ret = check_profile_name(args[i]);
		else if (pv->args[i] == 'i')
			ret = check_name("profile", args[i]);
	return ret;
}

static int cmd_profile(const struct ctl *ctl, int argc, char **argv)
{
	static const struct column cols[] = {
		{ "NAME", "name" }, { "QUOTAS", "quotas" }, { "PARAMS", "params" },
		{ 0 },
	};
	static const struct view list_view = { .rows = "profiles", .cols = cols };
	static const char *const fields[] = { "name", "quotas", "params", NULL };
	static const struct view show_view = { .fields = fields };
	const struct profile_verb *pv = NULL;
	char path[160];
	json_t *body;
	int ret;

	if (wants_help(argc, argv))
		return show_help(profile_help);
	if (!argc)
		return usage_error("profile", "missing verb: list, show, set, delete, apply or status");
	for (size_t i = 0; i < sizeof(profile_verbs) / sizeof(profile_verbs[0]); i++)
		if (!strcmp(argv[0], profile_verbs[i].verb))
			pv = &profile_verbs[i];
	if (!pv)
		return usage_error("profile", "unknown verb '%s'", argv[0]);
	if (argc - 1 != pv->nargs)
		return usage_error("profile", "%s takes %s", pv->verb, pv->usage);
	ret = profile_check_args(pv, argv + 1);
	if (ret)
		return ret;
	if (!strcmp(pv->verb, "list"))
		return do_get(ctl, "/v1/profiles", &list_view);
	if (!strcmp(pv->verb, "status")) {
		snprintf(path, sizeof(path), "/v1/instances/%s/profile", argv[1]);
		return do_get(ctl, path, &report_view);
	}
	if (!strcmp(pv->verb, "apply")) {
		json_t *doc;

		snprintf(path, sizeof(path), "/v1/instances/%s/profile", argv[2]);
		body = json_pack("{s:s}", "profile", argv[1]);
		ret = request(ctl, "POST", path, body, NULL, &doc);
		if (!ret)
			emit(ctl, doc ? doc : json_null(), &report_view);
		json_decref(doc);
		json_decref(body);
		return ret;
	}
	snprintf(path, sizeof(path), "/v1/profiles/%s", argv[1]);
	if (!strcmp(pv->verb, "show"))
		return do_get(ctl, path, &show_view);
	if (!strcmp(pv->verb, "set"))
		return send_document(ctl, "profile", "PUT", path, argv[2], NULL,
				     &show_view);
	return delete_thing(ctl, path, argv[1]);
}

/* ---- main ---- */

static const struct object {
	const char *name;
	int (*run)(const struct ctl *ctl, int argc, char **argv);
	const char *help;
} objects[] = {
	{ "resources", cmd_resources, resources_help },
	{ "instances", cmd_instances, instances_help },
	{ "instance", cmd_instances, instances_help },
	{ "quota", cmd_quota, quota_help },
	{ "events", cmd_events, events_help },
	{ "token", cmd_token, token_help },
	{ "tokens", cmd_token, token_help },
	{ "policy", cmd_policy, policy_help },
	{ "profile", cmd_profile, profile_help },
	{ "profiles", cmd_profile, profile_help },
};

static const struct object *find_object(const char *name)
{
	for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++)
		if (!strcmp(objects[i].name, name))
			return &objects[i];
	return NULL;
}

static bool valid_host(const char *host)
{
	return !strncmp(host, "https://", 8) || !strncmp(host, "http://", 7);
}

/*
 * Is the host of @url, as curl reads it, a loopback one: 127.0.0.0/8,
 * ::1, or localhost (which curl resolves itself, never through DNS)?
 */
static bool loopback_url(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL;
	struct in6_addr a6;
	struct in_addr a4;
	bool ok = false;
	size_t n;

	if (u && url && !curl_url_set(u, CURLUPART_URL, url, 0) &&
	    !curl_url_get(u, CURLUPART_HOST, &host, 0)) {
		n = strlen(host);
		if (!strcasecmp(host, "localhost"))
			ok = true;
		else if (inet_pton(AF_INET, host, &a4) == 1)
			ok = ntohl(a4.s_addr) >> 24 == 127;
		else if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
			host[n - 1] = 0;
			ok = inet_pton(AF_INET6, host + 1, &a6) == 1 &&
			     IN6_IS_ADDR_LOOPBACK(&a6);
		}
	}
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

/*
 * http:// only to loopback, where brokerd's plain listener is: anywhere
 * else the token and every answer would cross the network in cleartext.
 */
static bool cleartext_ok(const struct ctl *ctl)
{
	char *url;
	bool ok;

	if (strncmp(ctl->host, "http://", 7))
		return true;
	url = host_url(ctl, "/");
	ok = loopback_url(url);
	free(url);
	return ok;
}

/* The first line of @path, without trailing white space, malloc'ed. */
static char *read_token_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t size = 0;
	ssize_t n;

	if (!f)
		return NULL;
	n = getline(&line, &size, f);
	fclose(f);
	if (n < 0) {
		free(line);
		return strdup("");
	}
	while (n && isspace((unsigned char)line[n - 1]))
		line[--n] = 0;
	return line;
}

int main(int argc, char **argv)
{
	enum { OPT_TOKEN_FILE = 256, OPT_CACERT };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "host", required_argument, NULL, 'H' },
		{ "url", required_argument, NULL, 'H' },
		{ "token", required_argument, NULL, 't' },
		{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
		{ "cacert", required_argument, NULL, OPT_CACERT },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ctl ctl = { 0 };
	const char *token = NULL, *token_file = NULL, *socket_opt = NULL;
	const struct object *obj;
	int opt, ret;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+s:H:t:o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			socket_opt = optarg;
			break;
		case 'H':
			ctl.host = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case OPT_TOKEN_FILE:
			token_file = optarg;
			break;
		case OPT_CACERT:
			ctl.cacert = optarg;
			break;
		case 'o':
			if (!strcmp(optarg, "json"))
				ctl.json = true;
			else if (!strcmp(optarg, "table"))
				ctl.json = false;
			else
				return usage_error(NULL, "unknown output format '%s': expected table or json",
						   optarg);
			break;
		case 'h':
			return show_help(main_help);
		case ':':
			return usage_error(NULL, "option '%s' needs a value",
					   argv[optind - 1]);
		default:
			return usage_error(NULL, "unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error(NULL, "missing object");
	if (!strcmp(argv[optind], "help")) {
		obj = optind + 1 < argc ? find_object(argv[optind + 1]) : NULL;
		if (optind + 1 < argc && !obj)
			return usage_error(NULL, "unknown object '%s'", argv[optind + 1]);
		return show_help(obj ? obj->help : main_help);
	}
	obj = find_object(argv[optind]);
	if (!obj)
		return usage_error(NULL, "unknown object '%s'", argv[optind]);

	if (ctl.host && !valid_host(ctl.host))
		return usage_error(NULL, "bad host '%s': expected https://host:port or http://127.0.0.1:port",
				   ctl.host);

	/* Where: -s, else -H, else the environment, else the default socket. */
	if (socket_opt) {
		ctl.socket = socket_opt;
		ctl.host = NULL;
	} else if (!ctl.host) {
		ctl.host = getenv("BROKERCTL_HOST");
		if (ctl.host && !*ctl.host)
			ctl.host = NULL;
		ctl.socket = getenv("BROKERCTL_SOCKET");
		if (!ctl.socket || !*ctl.socket)
			ctl.socket = DEFAULT_SOCKET;
	}
	if (ctl.host && !valid_host(ctl.host))
		return usage_error(NULL, "bad host '%s': expected https://host:port or http://127.0.0.1:port",
				   ctl.host);
	if (ctl.host && !cleartext_ok(&ctl))
		return usage_error(NULL, "refusing %s: plain http:// would send the token "
				   "and every answer in cleartext; it is for brokerd's "
				   "loopback listener only (127.0.0.0/8, ::1, localhost): "
				   "use https://HOST:PORT with --cacert", ctl.host);
	if (!token && !token_file) {
		token = getenv("BROKERCTL_TOKEN");
		if (token && !*token)
			token = NULL;
		if (!token)
			token_file = getenv("BROKERCTL_TOKEN_FILE");
		if (token_file && !*token_file)
			token_file = NULL;
	}
	if (token_file && !token) {
		ctl.token = read_token_file(token_file);
		if (!ctl.token) {
			fprintf(stderr, "brokerctl: cannot read %s: %s\n",
				token_file, strerror(errno));
			return EXIT_USAGE;
		}
	} else if (token) {
		ctl.token = *token ? strdup(token) : NULL;
	}
	if (ctl.token && (!*ctl.token || strpbrk(ctl.token, "\r\n"))) {
		free(ctl.token);
		return usage_error(NULL, "bad token: empty or more than one line");
	}

	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		free(ctl.token);
		fprintf(stderr, "brokerctl: cannot initialise libcurl\n");
		return EXIT_CONNECT;
	}
	ret = obj->run(&ctl, argc - optind - 1, argv + optind + 1);
	curl_global_cleanup();
	free(ctl.token);
	return ret;
}
