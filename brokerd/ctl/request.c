// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * brokerctl's requests: one libcurl request to brokerd (over its Unix
 * socket or to --url, with the token and CA), its answer parsed as JSON
 * and printed, or its failure reported with the server's reason and the
 * exit status of its class; and the documents read from a file to send.
 *
 * May call: print.c, args.c, libcurl, jansson.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brokerctl.h"

size_t ctl_buf_append(char *data, size_t size, size_t n, void *arg)
{
	struct ctl_buf *b = arg;
	char *p = realloc(b->data, b->len + size * n + 1);

	if (!p)
		return 0;
	memcpy(p + b->len, data, size * n);
	b->data = p;
	b->len += size * n;
	p[b->len] = 0;
	return size * n;
}

const char *ctl_target(const struct ctl *ctl)
{
	return ctl->host ? ctl->host : ctl->socket;
}

/* The URL of @path on ctl->host, malloc'ed. */
char *ctl_host_url(const struct ctl *ctl, const char *path)
{
	size_t n = strlen(ctl->host);
	char *url;

	if (asprintf(&url, "%.*s%s", (int)(n && ctl->host[n - 1] == '/' ?
			n - 1 : n), ctl->host, path) < 0)
		return NULL;
	return url;
}

/* A handle for @path, with the transport, token and CA set. */
CURL *ctl_open_handle(const struct ctl *ctl, const char *path,
		      struct curl_slist **headers)
{
	CURL *c = curl_easy_init();
	char *url = NULL;

	if (!c)
		return NULL;
	if (ctl->host) {
		url = ctl_host_url(ctl, path);
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
int ctl_report_http_error(long status, const char *body)
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
	return status >= 400 && status < 500 ? CTL_EXIT_REFUSED : CTL_EXIT_CONNECT;
}

int ctl_report_curl_error(const struct ctl *ctl, CURL *c, CURLcode rc,
			  const char *errbuf)
{
	long os_errno = 0;

	curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
	if (rc == CURLE_COULDNT_CONNECT && os_errno)
		fprintf(stderr, "brokerctl: cannot connect to brokerd at %s: %s\n",
			ctl_target(ctl), strerror((int)os_errno));
	else
		fprintf(stderr, "brokerctl: cannot talk to brokerd at %s: %s\n",
			ctl_target(ctl), *errbuf ? errbuf : curl_easy_strerror(rc));
	return CTL_EXIT_CONNECT;
}

/*
 * One request with @text as its JSON body (none when NULL; an empty one
 * for a bodiless POST): 0 and the JSON answer in *out (NULL for an empty
 * body), or the exit status after the reason was printed.
 */
int ctl_request_text(const struct ctl *ctl, const char *method,
		     const char *path, const char *text,
		     const char *if_match, json_t **out)
{
	struct curl_slist *h = NULL;
	struct ctl_buf b = { 0 };
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;
	CURL *c;
	int ret = 0;

	*out = NULL;
	c = ctl_open_handle(ctl, path, &h);
	if (!c) {
		fprintf(stderr, "brokerctl: out of memory\n");
		return CTL_EXIT_CONNECT;
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
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ctl_buf_append);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		ret = ctl_report_curl_error(ctl, c, rc, errbuf);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status >= 300) {
		ret = ctl_report_http_error(status, b.data);
		goto out;
	}
	if (b.len) {
		json_error_t err;

		*out = json_loads(b.data, 0, &err);
		if (!*out) {
			fprintf(stderr, "brokerctl: %s %s: the answer is not JSON: %s\n",
				method, path, err.text);
			ret = CTL_EXIT_CONNECT;
		}
	}
out:
	free(b.data);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return ret;
}

int ctl_request(const struct ctl *ctl, const char *method,
		const char *path, json_t *body, const char *if_match,
		json_t **out)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int ret;

	*out = NULL;
	if (body && !text) {
		fprintf(stderr, "brokerctl: out of memory\n");
		return CTL_EXIT_CONNECT;
	}
	ret = ctl_request_text(ctl, method, path, text, if_match, out);
	free(text);
	return ret;
}

int ctl_get(const struct ctl *ctl, const char *path,
	    const struct ctl_view *v)
{
	json_t *doc;
	int ret = ctl_request(ctl, "GET", path, NULL, NULL, &doc);

	if (!ret)
		ctl_emit(ctl, doc ? doc : json_null(), v);
	json_decref(doc);
	return ret;
}

int ctl_send_document(const struct ctl *ctl, const char *object,
		      const char *method, const char *path,
		      const char *file, const char *if_match,
		      const struct ctl_view *v)
{
	char *text = NULL;
	json_t *doc;
	int ret = 0;

	if (file) {
		text = ctl_read_document(object, file, &ret);
		if (!text)
			return ret;
	}
	ret = ctl_request_text(ctl, method, path, text, if_match, &doc);
	if (!ret)
		ctl_emit(ctl, doc ? doc : json_null(), v);
	json_decref(doc);
	free(text);
	return ret;
}

/* A bodiless change answered by 204: print what was done. */
int ctl_delete(const struct ctl *ctl, const char *path,
	       const char *what)
{
	json_t *doc;
	int ret = ctl_request(ctl, "DELETE", path, NULL, NULL, &doc);

	json_decref(doc);
	if (!ret) {
		doc = json_pack("{s:s}", "deleted", what);
		ctl_emit(ctl, doc, &ctl_plain_view);
		json_decref(doc);
	}
	return ret;
}

#define DOC_MAX_BYTES (1u << 20)

/*
 * The JSON document in @path ("-" for stdin), malloc'ed, checked to be
 * one JSON object without duplicate keys; or NULL after a usage error.
 * The text is sent as it is, so that the server's paths match the file.
 */
char *ctl_read_document(const char *object, const char *path, int *ret)
{
	bool is_stdin = !strcmp(path, "-");
	FILE *f = is_stdin ? stdin : fopen(path, "re");
	struct ctl_buf b = { 0 };
	char chunk[8192];
	json_error_t err;
	json_t *j;
	size_t n;

	if (!f) {
		*ret = ctl_usage_error(object, "cannot read %s: %s", path,
				       strerror(errno));
		return NULL;
	}
	if (is_stdin)
		path = "stdin";
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b.len + n > DOC_MAX_BYTES) {
			*ret = ctl_usage_error(object, "%s: larger than %u bytes", path,
					       DOC_MAX_BYTES);
			goto fail;
		}
		if (ctl_buf_append(chunk, 1, n, &b) != n) {
			fprintf(stderr, "brokerctl: out of memory\n");
			*ret = CTL_EXIT_CONNECT;
			goto fail;
		}
	}
	if (ferror(f)) {
		*ret = ctl_usage_error(object, "cannot read %s: %s", path,
				       strerror(errno));
		goto fail;
	}
	j = json_loadb(b.data ? b.data : "", b.len, JSON_REJECT_DUPLICATES, &err);
	if (!j || !json_is_object(j)) {
		if (j)
			*ret = ctl_usage_error(object, "%s: expected a JSON object", path);
		else
			*ret = ctl_usage_error(object, "%s:%d:%d: not JSON: %s", path,
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
