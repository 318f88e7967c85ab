// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The listening sockets and the configuration keys they take: the Unix
 * socket (its mode and group set before anyone can connect; a socket
 * left by a dead daemon replaced, a live one refused), plain TCP on a
 * loopback address, TLS on any address.  libmicrohttpd is given the
 * sockets bound here (server.c).
 *
 * May call: base/.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "http/listen.h"

/* "addr:port" for @field; a loopback address unless @any. */
static int parse_addr(const char *s, const char *field, bool any,
		      struct sockaddr_storage *ss, socklen_t *len,
		      struct broker_err *err)
{
	struct addrinfo hints = {
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *ai = NULL;
	char host[64];
	const char *port;
	bool loopback;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':' || (size_t)(end - s) > sizeof(host))
			goto syntax;
		snprintf(host, sizeof(host), "%.*s", (int)(end - s - 1), s + 1);
		port = end + 2;
	} else {
		const char *colon = strrchr(s, ':');

		if (!colon || (size_t)(colon - s) >= sizeof(host))
			goto syntax;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
		port = colon + 1;
	}
	if (!*port || strspn(port, "0123456789") != strlen(port) ||
	    !atoi(port) || getaddrinfo(host, port, &hints, &ai))
		goto syntax;

	if (ai->ai_family == AF_INET) {
		const struct sockaddr_in *in = (void *)ai->ai_addr;

		loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	} else {
		const struct sockaddr_in6 *in6 = (void *)ai->ai_addr;

		loopback = ai->ai_family == AF_INET6 &&
			   IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	if (!loopback && !any) {
		freeaddrinfo(ai);
		broker_err_set(err, field,
			       "\"%s\": plain TCP is only served on a loopback address "
			       "(127.0.0.0/8 or ::1); other addresses are served "
			       "with TLS (tls_listen)", s);
		return -EINVAL;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;

syntax:
	broker_err_set(err, field,
		       "\"%s\": expected ADDRESS:PORT with a numeric %saddress, "
		       "e.g. %s:8443 or [::1]:8443", s, any ? "" : "loopback ",
		       any ? "0.0.0.0" : "127.0.0.1");
	return -EINVAL;
}

int broker_http_parse_listen(const char *s, struct sockaddr_storage *ss,
			     socklen_t *len, struct broker_err *err)
{
	return parse_addr(s, "listen", false, ss, len, err);
}

/* socket_mode: an octal string, at most 0777. */
static int parse_mode(const char *s, mode_t *mode)
{
	unsigned long m;

	if (!*s || strlen(s) > 4 || strspn(s, "01234567") != strlen(s))
		return -EINVAL;
	m = strtoul(s, NULL, 8);
	if (m > 0777)
		return -EINVAL;
	*mode = m;
	return 0;
}

int broker_http_check_config(const struct broker_config *cfg,
			     struct broker_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	mode_t mode;
	int ret;

	if (parse_mode(cfg->socket_mode, &mode)) {
		broker_err_set(err, "socket_mode",
			       "socket_mode \"%s\": expected an octal mode such as "
			       "\"0660\"", cfg->socket_mode);
		return -EINVAL;
	}
	if (!cfg->tls_listen[0] && cfg->tls_client_ca[0]) {
		broker_err_set(err, "tls_client_ca",
			       "tls_client_ca is for the TLS listener: set tls_listen");
		return -EINVAL;
	}
	if (!cfg->tls_listen[0])
		return 0;
	ret = parse_addr(cfg->tls_listen, "tls_listen", true, &ss, &len, err);
	if (ret)
		return ret;
	if (!cfg->tls_cert[0] || !cfg->tls_key[0]) {
		broker_err_set(err, cfg->tls_cert[0] ? "tls_key" : "tls_cert",
			       "tls_listen %s needs tls_cert and tls_key (PEM files); "
			       "with \"tls_generate\": true a first start creates a "
			       "self-signed pair there", cfg->tls_listen);
		return -EINVAL;
	}
	return 0;
}

/* socket_group: its gid, or -ENOENT with a message. */
static int group_id(const char *name, gid_t *gid, struct broker_err *err)
{
	char buf[4096];
	struct group gr, *g = NULL;
	int ret = getgrnam_r(name, &gr, buf, sizeof(buf), &g);

	if (ret || !g) {
		broker_err_set(err, "socket_group", "socket_group \"%s\": %s", name,
			       ret ? strerror(ret) : "no such group");
		return ret ? -ret : -ENOENT;
	}
	*gid = g->gr_gid;
	return 0;
}

int broker_listen_unix(const struct broker_config *cfg, struct broker_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = cfg->socket;
	_cleanup_close_ int fd = -1;
	gid_t gid = (gid_t)-1;
	mode_t mask, mode = 0660;
	struct stat st;
	int ret;

	parse_mode(cfg->socket_mode, &mode);	/* checked with the config */
	if (cfg->socket_group[0]) {
		ret = group_id(cfg->socket_group, &gid, err);
		if (ret)
			return ret;
	}

	if (strlen(path) >= sizeof(sa.sun_path)) {
		broker_err_set(err, "socket", "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	if (!lstat(path, &st)) {
		_cleanup_close_ int probe = -1;

		/* A socket left by a daemon that died: not one being served. */
		if (!S_ISSOCK(st.st_mode)) {
			broker_err_set(err, "socket", "%s exists and is not a socket",
				       path);
			return -EEXIST;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && !connect(probe, (void *)&sa, sizeof(sa))) {
			broker_err_set(err, "socket",
				       "%s: another daemon is listening on it", path);
			return -EADDRINUSE;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	mask = umask(~mode & 0777);	/* the socket is born socket_mode */
	ret = bind(fd, (void *)&sa, sizeof(sa));
	umask(mask);
	if (ret < 0)
		goto fail;
	/* Before listen(): nobody connects while it has the wrong owner. */
	if (chmod(path, mode) < 0 ||
	    (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0)) {
		ret = -errno;
		unlink(path);
		broker_err_set(err, "socket_group", "%s: mode %s, group %s: %s",
			       path, cfg->socket_mode,
			       cfg->socket_group[0] ? cfg->socket_group : "(unchanged)",
			       strerror(-ret));
		return ret;
	}
	if (listen(fd, 64) < 0)
		goto fail;
	ret = fd;
	fd = -1;
	return ret;

fail:
	ret = -errno;
	broker_err_set(err, "socket", "%s: %s", path, strerror(-ret));
	return ret;
}

int broker_listen_tcp(const char *addr, const char *field,
		      struct broker_err *err)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, ret;

	ret = parse_addr(addr, field, strcmp(field, "listen"), &ss, &len, err);
	if (ret)
		return ret;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (void *)&ss, len) < 0 || listen(fd, 64) < 0) {
		ret = -errno;
		broker_err_set(err, field, "%s %s: %s", field, addr, strerror(-ret));
		return ret;
	}
	ret = fd;
	fd = -1;
	return ret;
}
