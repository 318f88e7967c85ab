// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The listeners of the real brokerd: HTTPS with a certificate made here
 * by a test CA (trusted: served, with the same tokens and roles as plain
 * TCP; another CA or none: refused by the client; plain HTTP to the TLS
 * port: no answer), a self-signed pair made on first start
 * (tls_generate), the configurations that must refuse to start, and the
 * Unix socket's mode and group.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "bt.h"

struct tls_test {
	struct bt_daemon d;
	char tls[64];		/* 127.0.0.1:port */
	char ca[160], cert[160], key[160];	/* the trusted CA, the pair */
	char other_ca[160];	/* a CA that signed nothing here */
};

static void sh(const char *fmt, ...)
{
	char *cmd;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	assert_true(vasprintf(&cmd, fmt, ap) > 0);
	va_end(ap);
	ret = system(cmd);
	if (ret)
		fail_msg("%s: exit %d", cmd, ret);
	free(cmd);
}

/* A CA (ca.pem), and a server pair for 127.0.0.1 and localhost it signed. */
static void make_pki(struct tls_test *t)
{
	const char *dir = t->d.dir;

	snprintf(t->ca, sizeof(t->ca), "%s/ca.pem", dir);
	snprintf(t->cert, sizeof(t->cert), "%s/server.pem", dir);
	snprintf(t->key, sizeof(t->key), "%s/server.key", dir);
	snprintf(t->other_ca, sizeof(t->other_ca), "%s/other-ca.pem", dir);
	sh("cd %s && exec >>openssl.log 2>&1 && "
	   "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	   "-keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca && "
	   "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	   "-keyout other-ca.key -out other-ca.pem -days 2 -subj /CN=test-ca && "
	   "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	   "-keyout server.key -out server.csr -subj /CN=localhost && "
	   "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n"
	   "extendedKeyUsage=serverAuth\\n' >server.ext && "
	   "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
	   "-CAcreateserial -days 2 -extfile server.ext -out server.pem", dir);
}

static void config(struct tls_test *t, const char *extra)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "{\"tls_listen\": \"%s\", \"tls_cert\": \"%s\", \"tls_key\": \"%s\"%s%s}",
		 t->tls, t->cert, t->key, extra ? ", " : "", extra ? extra : "");
	bt_write_file(t->d.config, text);
}

static int setup(void **state)
{
	struct tls_test *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	bt_init(&t->d, NULL);
	snprintf(t->tls, sizeof(t->tls), "127.0.0.1:%d", bt_free_port());
	make_pki(t);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tls_test *t = *state;
	int status = t->d.pid > 0 ? bt_stop(&t->d) : 0;
	char *log = status ? bt_read_file(t->d.log) : NULL;

	if (log)
		fprintf(stderr, "brokerd exited with %d:\n%s\n", status, log);
	free(log);
	bt_cleanup(&t->d);
	free(t);
	assert_int_equal(status, 0);
	return 0;
}

static int start(struct tls_test *t, const char *extra)
{
	config(t, extra);
	return bt_start(&t->d, NULL);
}

/* GET or PUT over HTTPS at @host: curl's result, the status in *@status. */
static int https(struct tls_test *t, const char *host, const char *ca,
		 const char *token, const char *method, const char *path,
		 long *status)
{
	char url[256];
	struct bt_resp r;
	int rc;

	snprintf(url, sizeof(url), "https://%s:%s%s", host,
		 strrchr(t->tls, ':') + 1, path);
	rc = bt_https(url, ca, NULL, token, method, NULL, &r);
	*status = r.status;
	if (!rc && r.status >= 400)
		assert_non_null(json_object_get(r.json, "error"));
	bt_resp_free(&r);
	return rc;
}

static void test_trusted_certificate_serves_with_tokens_and_roles(void **state)
{
	struct tls_test *t = *state;
	char *viewer, *admin;
	long status;

	assert_int_equal(start(t, NULL), 0);
	viewer = bt_token(&t->d, "v", "viewer");
	admin = bt_token(&t->d, "a", "admin");

	assert_int_equal(https(t, "127.0.0.1", t->ca, viewer, "GET",
			       "/v1/resources", &status), CURLE_OK);
	assert_int_equal(status, 200);
	assert_int_equal(https(t, "localhost", t->ca, viewer, "GET",
			       "/v1/instances", &status), CURLE_OK);
	assert_int_equal(status, 200);
	/* The same rules as everywhere: no token, a wrong one, a low role. */
	assert_int_equal(https(t, "127.0.0.1", t->ca, NULL, "GET",
			       "/v1/resources", &status), CURLE_OK);
	assert_int_equal(status, 401);
	assert_int_equal(https(t, "127.0.0.1", t->ca, "vac_0123456789abcdef_00",
			       "GET", "/healthz", &status), CURLE_OK);
	assert_int_equal(status, 401);
	assert_int_equal(https(t, "127.0.0.1", t->ca, viewer, "PUT",
			       "/v1/instances/kvm_a", &status), CURLE_OK);
	assert_int_equal(status, 403);
	assert_int_equal(https(t, "127.0.0.1", t->ca, admin, "PUT",
			       "/v1/instances/kvm_a", &status), CURLE_OK);
	assert_int_equal(status, 201);
	assert_int_equal(https(t, "127.0.0.1", t->ca, admin, "DELETE",
			       "/v1/instances/kvm_a", &status), CURLE_OK);
	assert_int_equal(status, 204);
	free(viewer);
	free(admin);
}

static void test_untrusted_certificate_fails(void **state)
{
	struct tls_test *t = *state;
	char *viewer;
	long status;

	assert_int_equal(start(t, NULL), 0);
	viewer = bt_token(&t->d, "v", "viewer");
	/* Another CA, and the system's CAs: neither signed the server's. */
	assert_int_equal(https(t, "127.0.0.1", t->other_ca, viewer, "GET",
			       "/v1/resources", &status),
			 CURLE_PEER_FAILED_VERIFICATION);
	assert_int_equal(https(t, "127.0.0.1", NULL, viewer, "GET",
			       "/v1/resources", &status),
			 CURLE_PEER_FAILED_VERIFICATION);
	/* And still served to a client that trusts it. */
	assert_int_equal(https(t, "127.0.0.1", t->ca, viewer, "GET",
			       "/v1/resources", &status), CURLE_OK);
	assert_int_equal(status, 200);
	free(viewer);
}

static void test_plain_http_to_the_tls_port_fails(void **state)
{
	struct tls_test *t = *state;
	char url[128];
	char *viewer;
	struct bt_resp r;
	long status;
	int rc;

	assert_int_equal(start(t, NULL), 0);
	viewer = bt_token(&t->d, "v", "viewer");
	snprintf(url, sizeof(url), "http://%s/v1/resources", t->tls);
	rc = bt_https(url, NULL, NULL, viewer, "GET", NULL, &r);
	if (rc == CURLE_OK)
		fail_msg("plain HTTP to the TLS port was answered: %ld %s",
			 r.status, r.body);
	assert_int_equal(r.status, 0);
	bt_resp_free(&r);
	assert_int_equal(https(t, "127.0.0.1", t->ca, viewer, "GET",
			       "/v1/resources", &status), CURLE_OK);
	assert_int_equal(status, 200);
	free(viewer);
}

static void test_tls_generate_makes_a_usable_pair_once(void **state)
{
	struct tls_test *t = *state;
	char *viewer, *cert, *again, gen[160];
	struct stat st;
	long status;

	/* Neither file exists: both are made, the key 0600. */
	snprintf(t->cert, sizeof(t->cert), "%s/gen/cert.pem", t->d.dir);
	snprintf(t->key, sizeof(t->key), "%s/gen/key.pem", t->d.dir);
	snprintf(gen, sizeof(gen), "%s/gen", t->d.dir);
	assert_int_equal(mkdir(gen, 0755), 0);
	assert_int_equal(start(t, "\"tls_generate\": true"), 0);
	assert_int_equal(stat(t->key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(S_ISREG(st.st_mode));
	assert_true(bt_log_has(&t->d, t->cert));
	assert_true(bt_log_has(&t->d, t->key));
	/* The self-signed certificate is its own trust anchor. */
	viewer = bt_token(&t->d, "v", "viewer");
	assert_int_equal(https(t, "127.0.0.1", t->cert, viewer, "GET",
			       "/v1/resources", &status), CURLE_OK);
	assert_int_equal(status, 200);
	assert_int_equal(https(t, "localhost", t->cert, viewer, "GET",
			       "/healthz", &status), CURLE_OK);
	assert_int_equal(status, 200);
	assert_int_equal(https(t, "127.0.0.1", t->ca, viewer, "GET",
			       "/healthz", &status), CURLE_PEER_FAILED_VERIFICATION);

	/* A second start uses the pair it finds. */
	cert = bt_read_file(t->cert);
	assert_non_null(cert);
	assert_int_equal(bt_stop(&t->d), 0);
	assert_int_equal(start(t, "\"tls_generate\": true"), 0);
	again = bt_read_file(t->cert);
	assert_non_null(again);
	assert_string_equal(cert, again);
	assert_int_equal(https(t, "127.0.0.1", t->cert, viewer, "GET",
			       "/healthz", &status), CURLE_OK);
	assert_int_equal(status, 200);
	free(cert);
	free(again);
	free(viewer);
}

/* A client pair ("name".pem, .key) with @subject, signed by @ca ("ca"). */
static void client_cert(struct tls_test *t, const char *name,
			const char *subject, const char *ca)
{
	sh("cd %s && exec >>openssl.log 2>&1 && "
	   "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	   "-keyout %s.key -out %s.csr -subj '%s' && "
	   "printf 'extendedKeyUsage=clientAuth\\n' >client.ext && "
	   "openssl x509 -req -in %s.csr -CA %s.pem -CAkey %s.key "
	   "-CAcreateserial -days 2 -extfile client.ext -out %s.pem",
	   t->d.dir, name, name, subject, name, ca, ca, name);
}

/* With the client pair @name (NULL: none): curl's result, the status. */
static int with_cert(struct tls_test *t, const char *name, const char *token,
		     const char *method, const char *path, const char *body,
		     long *status)
{
	char url[256], cert[200], key[200];
	struct bt_resp r;
	int rc;

	snprintf(url, sizeof(url), "https://localhost:%s%s",
		 strrchr(t->tls, ':') + 1, path);
	snprintf(cert, sizeof(cert), "%s/%s.pem", t->d.dir, name ? name : "");
	snprintf(key, sizeof(key), "%s/%s.key", t->d.dir, name ? name : "");
	rc = bt_https_cert(url, t->ca, name ? cert : NULL, key, token, method,
			   body, &r);
	*status = r.status;
	if (!rc && r.status >= 400)
		assert_non_null(json_object_get(r.json, "error"));
	bt_resp_free(&r);
	return rc;
}

static void test_client_certificates_as_an_alternative_to_tokens(void **state)
{
	struct tls_test *t = *state;
	const char *quota = "{\"quotas\": {\"vpids\": 8}}";
	char extra[300], path[200], *viewer, *log;
	struct bt_resp r;
	long status;

	client_cert(t, "ci", "/OU=operator/CN=ci", "ca");
	client_cert(t, "norole", "/OU=robots/CN=norole", "ca");
	client_cert(t, "forged", "/OU=admin/CN=forged", "other-ca");
	snprintf(extra, sizeof(extra), "\"tls_client_ca\": \"%s\"", t->ca);
	assert_int_equal(start(t, extra), 0);
	bt_http(&t->d, "PUT", "/v1/instances/kvm_a", NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 201);
	bt_resp_free(&r);

	/* Signed by the CA, OU operator: an operator, as a token would be. */
	assert_int_equal(with_cert(t, "ci", NULL, "GET", "/v1/resources", NULL,
				   &status), CURLE_OK);
	assert_int_equal(status, 200);
	assert_int_equal(with_cert(t, "ci", NULL, "PUT", "/v1/instances/kvm_a/quota",
				   quota, &status), CURLE_OK);
	assert_int_equal(status, 200);
	assert_int_equal(with_cert(t, "ci", NULL, "PUT", "/v1/instances/kvm_b",
				   NULL, &status), CURLE_OK);
	assert_int_equal(status, 403);
	/* No role in it, another CA's, none at all: a token is needed. */
	assert_int_equal(with_cert(t, "norole", NULL, "GET", "/v1/resources", NULL,
				   &status), CURLE_OK);
	assert_int_equal(status, 401);
	assert_int_equal(with_cert(t, "forged", NULL, "PUT", "/v1/instances/kvm_b",
				   NULL, &status), CURLE_OK);
	assert_int_equal(status, 401);
	assert_int_equal(with_cert(t, NULL, NULL, "GET", "/v1/resources", NULL,
				   &status), CURLE_OK);
	assert_int_equal(status, 401);
	/* A token still works, and replaces the certificate's role. */
	viewer = bt_token(&t->d, "v", "viewer");
	assert_int_equal(with_cert(t, NULL, viewer, "GET", "/v1/resources", NULL,
				   &status), CURLE_OK);
	assert_int_equal(status, 200);
	assert_int_equal(with_cert(t, "ci", viewer, "PUT", "/v1/instances/kvm_a/quota",
				   quota, &status), CURLE_OK);
	assert_int_equal(status, 403);
	free(viewer);

	/* The audit log names the certificate. */
	snprintf(path, sizeof(path), "%s/audit.log", t->d.state);
	log = bt_read_file(path);
	assert_non_null(log);
	assert_non_null(strstr(log, "\"principal\":\"cert:ci\""));
	assert_null(strstr(log, "cert:forged"));
	free(log);
}

/* Start with @json as the whole config: it must stop, saying @needle. */
static void refuses(struct tls_test *t, const char *json, int status,
		    const char *needle)
{
	char *log;

	bt_write_file(t->d.config, json);
	unlink(t->d.log);
	assert_int_equal(bt_run(&t->d, NULL), status);
	log = bt_read_file(t->d.log);
	if (!log || !strstr(log, needle))
		fail_msg("%s: the log does not say \"%s\":\n%s", json, needle,
			 log ? log : "(none)");
	free(log);
}

static void test_bad_listener_configurations_refuse_to_start(void **state)
{
	struct tls_test *t = *state;
	char json[1024], missing[200];

	/* TLS without a certificate or key. */
	snprintf(json, sizeof(json), "{\"tls_listen\": \"%s\"}", t->tls);
	refuses(t, json, 2, "tls_listen 127.0.0.1:");
	refuses(t, json, 2, "needs tls_cert and tls_key");
	snprintf(json, sizeof(json), "{\"tls_listen\": \"%s\", \"tls_cert\": \"%s\"}",
		 t->tls, t->cert);
	refuses(t, json, 2, "needs tls_cert and tls_key");
	/* Files named but missing, and not to be generated. */
	snprintf(missing, sizeof(missing), "%s/nope.pem", t->d.dir);
	snprintf(json, sizeof(json), "{\"tls_listen\": \"%s\", \"tls_cert\": \"%s\","
		 " \"tls_key\": \"%s\"}", t->tls, missing, t->key);
	refuses(t, json, 1, "tls_cert");
	refuses(t, json, 1, "No such file or directory");
	/* One of the pair missing: tls_generate does not make half a pair. */
	snprintf(json, sizeof(json), "{\"tls_listen\": \"%s\", \"tls_cert\": \"%s\","
		 " \"tls_key\": \"%s\", \"tls_generate\": true}", t->tls, t->cert,
		 missing);
	refuses(t, json, 1, "only when both are missing");
	/* Not PEM, and a key that is not the certificate's. */
	snprintf(json, sizeof(json), "{\"tls_listen\": \"%s\", \"tls_cert\": \"%s\","
		 " \"tls_key\": \"%s\"}", t->tls, t->d.config, t->key);
	refuses(t, json, 1, "not a PEM file");
	snprintf(missing, sizeof(missing), "%s/other-ca.key", t->d.dir);
	snprintf(json, sizeof(json), "{\"tls_listen\": \"%s\", \"tls_cert\": \"%s\","
		 " \"tls_key\": \"%s\"}", t->tls, t->cert, missing);
	refuses(t, json, 1, "matching PEM certificate and key");
	/* Plain TCP elsewhere than loopback, and a bad TLS address. */
	refuses(t, "{\"listen\": \"0.0.0.0:8080\"}", 2,
		"only served on a loopback address");
	refuses(t, "{\"tls_listen\": \"localhost:8443\", \"tls_cert\": \"c\","
		" \"tls_key\": \"k\"}", 2, "expected ADDRESS:PORT");
	/* The socket's mode and group. */
	refuses(t, "{\"socket_mode\": \"0999\"}", 2, "socket_mode \"0999\"");
	refuses(t, "{\"socket_group\": \"no_such_group_vac\"}", 1,
		"socket_group \"no_such_group_vac\": no such group");
	/* A client CA without TLS, or not a certificate. */
	snprintf(json, sizeof(json), "{\"tls_client_ca\": \"%s\"}", t->ca);
	refuses(t, json, 2, "tls_client_ca is for the TLS listener");
	snprintf(json, sizeof(json), "{\"tls_listen\": \"%s\", \"tls_cert\": \"%s\","
		 " \"tls_key\": \"%s\", \"tls_client_ca\": \"%s\"}", t->tls, t->cert,
		 t->key, t->key);
	refuses(t, json, 1, "tls_client_ca");
	/* Nothing was left listening or half made. */
	assert_int_equal(access(t->d.sock, F_OK), -1);
}

static void test_socket_mode_and_group(void **state)
{
	struct tls_test *t = *state;
	struct group *g = getgrnam("daemon");
	char json[256];
	struct stat st;
	struct bt_resp r;

	assert_non_null(g);
	snprintf(json, sizeof(json),
		 "{\"socket_mode\": \"0600\", \"socket_group\": \"daemon\"}");
	bt_write_file(t->d.config, json);
	assert_int_equal(bt_start(&t->d, NULL), 0);
	assert_int_equal(stat(t->d.sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_gid, g->gr_gid);
	bt_get(&t->d, "/healthz", &r);
	assert_int_equal(r.status, 200);
	bt_resp_free(&r);
	assert_int_equal(bt_stop(&t->d), 0);

	/* The default: 0660, the daemon's group. */
	bt_write_file(t->d.config, "{}");
	assert_int_equal(bt_start(&t->d, NULL), 0);
	assert_int_equal(stat(t->d.sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(st.st_gid, getgid());
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_trusted_certificate_serves_with_tokens_and_roles),
		T(test_untrusted_certificate_fails),
		T(test_plain_http_to_the_tls_port_fails),
		T(test_tls_generate_makes_a_usable_pair_once),
		T(test_client_certificates_as_an_alternative_to_tokens),
		T(test_bad_listener_configurations_refuse_to_start),
		T(test_socket_mode_and_group),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
