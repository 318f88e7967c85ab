// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The TLS listener's certificate and key: read from PEM files (served by
 * libmicrohttpd through GnuTLS), or, on a first start with tls_generate,
 * made here with OpenSSL: an EC P-256 key (0600) and a self-signed
 * certificate for localhost, 127.0.0.1, ::1 and the host name, valid for
 * ten years.  And the client certificates: verified against tls_client_ca
 * for client authentication; the role is the certificate's OU.
 *
 * May call: tokens.c (role names), base/.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <gnutls/gnutls.h>

#include "base/log.h"
#include "http/tls.h"
#include "http/tokens.h"

#define PEM_MAX_BYTES (1u << 20)

/* A PEM file (@field names its key) read into *@out. */
static int read_pem(const char *path, const char *field, char **out,
		    struct broker_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	struct stat st;
	ssize_t n = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		int ret = -errno;

		broker_err_set(err, field, "%s %s: %s", field, path, strerror(-ret));
		return ret;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > PEM_MAX_BYTES) {
		broker_err_set(err, field, "%s %s: not a regular file of at most %u bytes",
			       field, path, PEM_MAX_BYTES);
		return -EINVAL;
	}
	buf = malloc(st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (len < (size_t)st.st_size &&
	       (n = read(fd, buf + len, st.st_size - len)) > 0)
		len += n;
	if (n < 0) {
		int ret = -errno;

		broker_err_set(err, field, "%s %s: %s", field, path, strerror(-ret));
		return ret;
	}
	buf[len] = 0;
	if (!strstr(buf, "-----BEGIN ")) {
		broker_err_set(err, field, "%s %s: not a PEM file", field, path);
		return -EINVAL;
	}
	*out = buf;
	buf = NULL;
	return 0;
}

static int ossl_fail(struct broker_err *err, const char *what)
{
	char why[256];

	ERR_error_string_n(ERR_get_error(), why, sizeof(why));
	broker_err_set(err, "tls_generate", "generating the TLS pair: %s: %s",
		       what, why);
	return -EIO;
}

static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* A self-signed certificate for @key, named after @host. */
static X509 *self_signed(EVP_PKEY *key, const char *host)
{
	unsigned char serial[16];
	char san[512];
	X509 *x = X509_new();
	BIGNUM *bn = NULL;
	X509_NAME *name;
	bool ok;

	if (!x || RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;	/* positive */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	snprintf(san, sizeof(san),
		 "DNS:localhost,IP:127.0.0.1,IP:::1%s%s",
		 strcmp(host, "localhost") ? ",DNS:" : "",
		 strcmp(host, "localhost") ? host : "");
	name = X509_get_subject_name(x);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
	     X509_set_version(x, 2) &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
	     X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 86400) &&
	     X509_set_pubkey(x, key) &&
	     X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
					(const unsigned char *)"brokerd", -1, -1, 0) &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)host, -1, -1, 0) &&
	     X509_set_issuer_name(x, name) &&
	     add_ext(x, NID_basic_constraints, "critical,CA:FALSE") &&
	     add_ext(x, NID_key_usage, "critical,digitalSignature") &&
	     add_ext(x, NID_ext_key_usage, "serverAuth") &&
	     add_ext(x, NID_subject_alt_name, san) &&
	     X509_sign(x, key, EVP_sha256());
	BN_free(bn);
	if (ok)
		return x;
fail:
	X509_free(x);
	return NULL;
}

/* Write @path (new, @mode) with what @put puts in it. */
static int write_new(const char *path, mode_t mode, const char *field,
		     int (*put)(FILE *f, void *obj), void *obj,
		     struct broker_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		      mode);
	FILE *f;
	int ret;

	if (fd < 0) {
		ret = -errno;
		broker_err_set(err, field, "%s %s: %s", field, path, strerror(-ret));
		return ret;
	}
	f = fdopen(fd, "w");
	if (!f) {
		ret = -errno;
		close(fd);
		unlink(path);
		return ret;
	}
	ret = put(f, obj) == 1 && !fflush(f) && !fsync(fd) ? 0 : -EIO;
	if (fclose(f) && !ret)
		ret = -EIO;
	if (ret) {
		unlink(path);
		broker_err_set(err, field, "%s %s: cannot be written", field, path);
	}
	return ret;
}

static int write_key(FILE *f, void *key)
{
	return PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
}

static int write_cert(FILE *f, void *x)
{
	return PEM_write_X509(f, x);
}

/* A new EC P-256 key (0600) and a self-signed certificate for this host. */
static int generate(const char *cert, const char *key, struct broker_err *err)
{
	char host[256] = "localhost";
	EVP_PKEY *pkey;
	X509 *x;
	int ret;

	if (gethostname(host, sizeof(host) - 1) || !host[0])
		strcpy(host, "localhost");
	pkey = EVP_EC_gen("P-256");
	if (!pkey)
		return ossl_fail(err, "EC P-256 key");
	x = self_signed(pkey, host);
	if (!x) {
		EVP_PKEY_free(pkey);
		return ossl_fail(err, "self-signed certificate");
	}
	ret = write_new(key, 0600, "tls_key", write_key, pkey, err);
	if (!ret) {
		ret = write_new(cert, 0644, "tls_cert", write_cert, x, err);
		if (ret)
			unlink(key);
	}
	X509_free(x);
	EVP_PKEY_free(pkey);
	return ret;
}

/* tls_client_ca as a store to verify client certificates against. */
static int client_ca(const char *path, X509_STORE **out, struct broker_err *err)
{
	X509_STORE *ca;
	char why[256];

	ca = X509_STORE_new();
	if (ca && X509_STORE_load_file(ca, path) == 1) {
		*out = ca;
		return 0;
	}
	ERR_error_string_n(ERR_get_error(), why, sizeof(why));
	broker_err_set(err, "tls_client_ca", "tls_client_ca %s: %s", path,
		       ca ? why : "out of memory");
	X509_STORE_free(ca);
	return ca ? -EINVAL : -ENOMEM;
}

/* ---- the listener's files ---- */

static bool exists(const char *path)
{
	return !access(path, F_OK);
}

int broker_tls_load(struct broker_tls *t, const struct broker_config *cfg,
		    struct broker_err *err)
{
	int ret;

	if (cfg->tls_generate.v && !exists(cfg->tls_cert) &&
	    !exists(cfg->tls_key)) {
		ret = generate(cfg->tls_cert, cfg->tls_key, err);
		if (ret)
			return ret;
		broker_log(LOG_NOTICE, "tls_generate: a new self-signed certificate "
			   "in %s, its key in %s (0600)", cfg->tls_cert, cfg->tls_key);
	}
	ret = read_pem(cfg->tls_cert, "tls_cert", &t->cert, err);
	if (!ret)
		ret = read_pem(cfg->tls_key, "tls_key", &t->key, err);
	if (!ret && cfg->tls_client_ca[0]) {
		ret = read_pem(cfg->tls_client_ca, "tls_client_ca",
			       &t->client_ca, err);
		if (!ret)
			ret = client_ca(cfg->tls_client_ca, &t->ca, err);
	}
	if (ret && cfg->tls_generate.v && exists(cfg->tls_cert) != exists(cfg->tls_key))
		broker_err_set(err, exists(cfg->tls_cert) ? "tls_key" : "tls_cert",
			       "%s exists but %s does not: tls_generate makes a pair "
			       "only when both are missing",
			       exists(cfg->tls_cert) ? cfg->tls_cert : cfg->tls_key,
			       exists(cfg->tls_cert) ? cfg->tls_key : cfg->tls_cert);
	return ret;
}

void broker_tls_free(struct broker_tls *t)
{
	free(t->cert);
	free(t->client_ca);
	X509_STORE_free(t->ca);
	if (t->key)
		explicit_bzero(t->key, strlen(t->key));
	free(t->key);
	memset(t, 0, sizeof(*t));
}

/* ---- a client's certificate ---- */

void broker_tls_client_cert(X509_STORE *ca, void *tls_session,
			    struct broker_principal *who)
{
	const gnutls_datum_t *der;
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *leaf = NULL;
	X509_NAME *name;
	unsigned int n = 0;
	char ou[32];

	/* GnuTLS (libmicrohttpd's) holds the chain as DER; OpenSSL checks it. */
	der = tls_session ? gnutls_certificate_get_peers(tls_session, &n) : NULL;
	for (unsigned int i = 0; chain && i < n; i++) {
		const unsigned char *p = der[i].data;
		X509 *x = d2i_X509(NULL, &p, der[i].size);

		if (!x)
			goto out;
		if (!i)
			leaf = x;
		else if (!sk_X509_push(chain, x))
			X509_free(x);
	}
	if (!leaf || !ctx || !X509_STORE_CTX_init(ctx, ca, leaf, chain) ||
	    !X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) ||
	    X509_verify_cert(ctx) != 1)
		goto out;
	name = X509_get_subject_name(leaf);
	if (X509_NAME_get_text_by_NID(name, NID_organizationalUnitName, ou,
				      sizeof(ou)) <= 0 ||
	    X509_NAME_get_text_by_NID(name, NID_commonName, who->cert_cn,
				      sizeof(who->cert_cn)) <= 0)
		goto out;
	who->cert_role = broker_role_parse(ou);
	who->cert = who->cert_role != BROKER_ROLE_NONE;
out:
	X509_STORE_CTX_free(ctx);
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
}
