/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The TLS listener's files and its clients' certificates (see tls.c).
 */
#ifndef BROKER_TLS_H
#define BROKER_TLS_H

#include "base/config.h"
#include "http/request.h"

struct x509_store_st;

/* What the TLS listener is started with. */
struct broker_tls {
	char *cert, *key;		/* PEM texts */
	char *client_ca;		/* PEM, or NULL: no client certificates */
	struct x509_store_st *ca;	/* client_ca, to verify them with */
};

/*
 * tls_cert and tls_key read into @t, made first when tls_generate asks
 * for it and neither file exists (never one without the other, never
 * over an existing one); tls_client_ca too, if set.  broker_tls_free()
 * afterwards, whatever the outcome.
 */
int broker_tls_load(struct broker_tls *t, const struct broker_config *cfg,
		    struct broker_err *err);
/* The key is wiped before it is freed. */
void broker_tls_free(struct broker_tls *t);

/*
 * The client certificate of a TLS connection (@tls_session, GnuTLS's),
 * if @ca signed it for client authentication and its OU names a role:
 * who->cert, cert_role and cert_cn set.
 */
void broker_tls_client_cert(struct x509_store_st *ca, void *tls_session,
			    struct broker_principal *who);

#endif /* BROKER_TLS_H */
