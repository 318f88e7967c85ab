// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * brokerctl events: follow brokerd's server-sent events, one line each
 * (or one JSON object per line).
 *
 * May call: request.c, print.c, args.c, libcurl.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brokerctl.h"

const char ctl_events_help[] =
"Usage: brokerctl events [--count N]\n"
"\n"
"Follow brokerd's events, one line each, until interrupted (or N events).\n"
"With -o json, one JSON object per line: {\"event\": ..., \"data\": ...}.\n";

struct stream {
	const struct ctl *ctl;
	struct ctl_buf b;
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
		char *desired = ctl_format_value(json_object_get(d, "desired"));
		char *state = ctl_format_value(json_object_get(d, "state"));
		char *name = ctl_format_value(json_object_get(d, "name"));
		char *gen = ctl_format_value(json_object_get(d, "generation"));

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
	if (ctl_buf_append(data, size, n, &s->b) != size * n)
		return 0;
	if (s->status != 200)
		return size * n;	/* the error envelope, read whole */
	parse_events(s);
	return s->done ? 0 : size * n;
}

int ctl_events(const struct ctl *ctl, int argc, char **argv)
{
	struct stream s = { .ctl = ctl, .count = -1 };
	struct curl_slist *h = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	unsigned long long n;
	CURLcode rc;
	int ret = 0;

	if (ctl_wants_help(argc, argv))
		return ctl_show_help(ctl_events_help);
	for (int i = 0; i < argc; i++) {
		const char *v;

		if (!strcmp(argv[i], "--count") || !strncmp(argv[i], "--count=", 8)) {
			v = argv[i][7] == '=' ? argv[i] + 8 :
				i + 1 < argc ? argv[++i] : NULL;
			if (!v || !ctl_parse_u64(v, LONG_MAX, &n) || !n)
				return ctl_usage_error("events", "--count takes a positive integer");
			s.count = (long)n;
		} else {
			return ctl_usage_error("events", "unknown argument '%s'", argv[i]);
		}
	}
	s.c = ctl_open_handle(ctl, "/v1/events", &h);
	if (!s.c) {
		fprintf(stderr, "brokerctl: out of memory\n");
		return CTL_EXIT_CONNECT;
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
		ret = ctl_report_curl_error(ctl, s.c, rc, errbuf);
	} else if (s.status != 200) {
		ret = ctl_report_http_error(s.status, s.b.data);
	} else {
		fprintf(stderr, "brokerctl: brokerd ended the event stream\n");
		ret = CTL_EXIT_CONNECT;
	}
	free(s.b.data);
	curl_slist_free_all(h);
	curl_easy_cleanup(s.c);
	return ret;
}
