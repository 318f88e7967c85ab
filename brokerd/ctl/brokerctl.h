/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What brokerctl's files share: where brokerd is, the exit statuses, the
 * argument checks (args.c), the request layer (request.c), the print
 * layer (print.c), and each object's verbs and help, one file each.
 */
#ifndef BROKERCTL_H
#define BROKERCTL_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>
#include <jansson.h>

#define CTL_EXIT_REFUSED 1	/* the server refused (4xx) */
#define CTL_EXIT_USAGE 2	/* bad arguments; no request was made */
#define CTL_EXIT_CONNECT 3	/* no connection, or the server failed */

#define DEFAULT_SOCKET "/run/brokerd/brokerd.sock"
#define QUOTA_MAX 4294967295ULL

/* Where brokerd is, and how to speak to it. */
struct ctl {
	const char *socket;
	const char *host;
	const char *cacert;
	char *token;
	bool json;
};

/* ---- args.c ---- */

#define CTL_N_KINDS 6
extern const char *const ctl_kinds[CTL_N_KINDS];	/* in UAPI order */

/* "brokerctl: ..." and where to find help, on stderr: CTL_EXIT_USAGE. */
int ctl_usage_error(const char *object, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* [a-z0-9_]{1,31}, as instance and profile names are. */
bool ctl_valid_name(const char *s);
int ctl_check_name(const char *object, const char *name);
/* A decimal number of at most @max, digits only. */
bool ctl_parse_u64(const char *s, unsigned long long max,
		   unsigned long long *out);
/* The kind named by the @n bytes at @s, or -1. */
int ctl_find_kind(const char *s, size_t n);
/* Verb options: --help anywhere, "--" ends them. */
bool ctl_wants_help(int argc, char **argv);
int ctl_show_help(const char *text);

/* ---- print.c ---- */

struct ctl_column {
	const char *header;
	const char *key;
};

/* How a document is printed as text (see ctl_emit()). */
struct ctl_view {
	const char *const *fields;	/* "key: value" lines first */
	const char *rows;		/* then a table of this array ... */
	json_t *(*derive)(json_t *doc);	/* ... or of the rows this makes */
	const struct ctl_column *cols;
	bool notes;			/* then the "unapplied" reasons */
	void (*after)(json_t *doc);	/* then what this prints */
};

/* Every key as "key: value". */
extern const struct ctl_view ctl_plain_view;

/* The one printing call: @doc as JSON with -o json, else as @v says. */
void ctl_emit(const struct ctl *ctl, json_t *doc, const struct ctl_view *v);
/* A value as table text, malloc'ed: "-" for null or missing. */
char *ctl_format_value(json_t *v);
void ctl_print_table(json_t *rows, const struct ctl_column *cols);

/* ---- request.c ---- */

struct ctl_buf {
	char *data;
	size_t len;
};

/* A libcurl write callback: appends to the struct ctl_buf @arg. */
size_t ctl_buf_append(char *data, size_t size, size_t n, void *arg);
/* The URL or socket path requests go to. */
const char *ctl_target(const struct ctl *ctl);
/* The URL of @path on ctl->host, malloc'ed. */
char *ctl_host_url(const struct ctl *ctl, const char *path);
/* A handle for @path, with the transport, token and CA set. */
CURL *ctl_open_handle(const struct ctl *ctl, const char *path,
		      struct curl_slist **headers);
/* The error envelope's reason on stderr; the exit status of @status. */
int ctl_report_http_error(long status, const char *body);
int ctl_report_curl_error(const struct ctl *ctl, CURL *c, CURLcode rc,
			  const char *errbuf);
/*
 * One request with @text as its JSON body (none when NULL; an empty one
 * for a bodiless POST): 0 and the JSON answer in *out (NULL for an empty
 * body), or the exit status after the reason was printed.
 */
int ctl_request_text(const struct ctl *ctl, const char *method,
		     const char *path, const char *text, const char *if_match,
		     json_t **out);
/* The same with @body as JSON (none when NULL). */
int ctl_request(const struct ctl *ctl, const char *method, const char *path,
		json_t *body, const char *if_match, json_t **out);
/* GET @path, printed as @v says. */
int ctl_get(const struct ctl *ctl, const char *path, const struct ctl_view *v);
/* @method @path with the document in @file (or none), printed as @v says. */
int ctl_send_document(const struct ctl *ctl, const char *object,
		      const char *method, const char *path, const char *file,
		      const char *if_match, const struct ctl_view *v);
/* A bodiless change answered by 204: print what was done. */
int ctl_delete(const struct ctl *ctl, const char *path, const char *what);
/*
 * The JSON document in @path ("-" for stdin), malloc'ed, checked to be
 * one JSON object without duplicate keys; or NULL after a usage error.
 */
char *ctl_read_document(const char *object, const char *path, int *ret);

/* ---- the objects: their verbs and help ---- */

typedef int ctl_object_fn(const struct ctl *ctl, int argc, char **argv);

ctl_object_fn ctl_resources, ctl_instances, ctl_quota, ctl_events, ctl_token,
	      ctl_policy, ctl_profile;
extern const char ctl_resources_help[], ctl_instances_help[],
		  ctl_quota_help[], ctl_events_help[], ctl_token_help[],
		  ctl_policy_help[], ctl_profile_help[];

/* instances.c: one instance, with a row per kind; quota shows it too. */
extern const struct ctl_view ctl_instance_view;

#endif /* BROKERCTL_H */
