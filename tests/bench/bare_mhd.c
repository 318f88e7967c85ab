// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * bare_mhd: the floor for brokerd's REST figures.
 *
 * A libmicrohttpd server started with the flags and limits brokerd's
 * http/server.c uses (epoll, internal thread or a pool of THREADS, the
 * same connection limits), answering every request, whatever its URL and
 * body, with 200 and a JSON body of SIZE bytes (PUT_SIZE for a PUT) built
 * once at start.  It reads and drops a request body, as it must for a PUT.
 *
 *   bare_mhd {--listen 127.0.0.1:PORT | --socket PATH} --size SIZE
 *            [--put-size PUT_SIZE] [--threads N]
 *            [--tls-cert FILE --tls-key FILE]
 *
 * Prints "ready" on stdout once listening; stops on SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <microhttpd.h>

/* brokerd's defaults (main/config.c), which the benchmark keeps. */
#define CONNECTIONS		64
#define CONNECTIONS_PER_IP	16
#define CONNECTION_TIMEOUT	30
#define CONNECTION_MEMORY	32768

static const char *body, *put_body;
static size_t size, put_size;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	static int first;
	struct MHD_Response *r;
	bool put = !strcmp(method, "PUT");
	enum MHD_Result ret;

	if (!*con_cls) {
		*con_cls = &first;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	/* A response per request, as brokerd makes, over the prebuilt body. */
	r = MHD_create_response_from_buffer(put ? put_size : size,
					    (void *)(put ? put_body : body),
					    MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	if (MHD_add_response_header(r, "Content-Type",
				    "application/json") != MHD_YES) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* A JSON object of exactly @len bytes: {"pad":"xxx..."}. */
static char *body_of(size_t len)
{
	static const char head[] = "{\"pad\":\"", tail[] = "\"}";
	size_t fixed = sizeof(head) - 1 + sizeof(tail) - 1;
	char *s;

	if (len < fixed)
		return NULL;
	s = malloc(len + 1);
	if (!s)
		return NULL;
	memcpy(s, head, sizeof(head) - 1);
	memset(s + sizeof(head) - 1, 'x', len - fixed);
	memcpy(s + len - (sizeof(tail) - 1), tail, sizeof(tail));
	return s;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *s = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (s = calloc(1, len + 1)) &&
	    fread(s, 1, len, f) != (size_t)len) {
		free(s);
		s = NULL;
	}
	fclose(f);
	return s;
}

static int parse_listen(const char *text, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(text, ':');
	unsigned long port;

	if (!colon || colon - text >= (long)sizeof(host))
		return -EINVAL;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - text), text);
	port = strtoul(colon + 1, NULL, 10);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	if (!port || port > 65535 || inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -EINVAL;
	return 0;
}

/* A listening Unix socket at @path, as brokerd makes its own. */
static int listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0 && (bind(fd, (void *)&sa, sizeof(sa)) < 0 ||
			listen(fd, 64) < 0)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bare_mhd {--listen ADDR:PORT | --socket PATH}\n"
		"                --size BYTES [--put-size BYTES] [--threads N]\n"
		"                [--tls-cert FILE --tls-key FILE]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen",   required_argument, NULL, 'l' },
		{ "socket",   required_argument, NULL, 'u' },
		{ "size",     required_argument, NULL, 's' },
		{ "put-size", required_argument, NULL, 'p' },
		{ "threads",  required_argument, NULL, 't' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key",  required_argument, NULL, 'k' },
		{ "help",     no_argument,       NULL, 'h' },
		{}
	};
	const char *listen = NULL, *path = NULL, *cert_file = NULL, *key_file = NULL;
	unsigned long threads = 4;
	unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD |
			     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	char *cert = NULL, *key = NULL;
	struct sockaddr_in sa;
	struct MHD_Daemon *d;
	struct MHD_OptionItem where[3] = {
		[0 ... 2] = { MHD_OPTION_END, 0, NULL }
	};
	sigset_t set;
	int c, sig, fd = -1;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'u': path = optarg; break;
		case 's': size = strtoul(optarg, NULL, 10); break;
		case 'p': put_size = strtoul(optarg, NULL, 10); break;
		case 't': threads = strtoul(optarg, NULL, 10); break;
		case 'c': cert_file = optarg; break;
		case 'k': key_file = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!listen == !path || (listen && parse_listen(listen, &sa)) ||
	    !size || size > (1u << 20) || put_size > (1u << 20) ||
	    !threads || threads > 64 || !cert_file != !key_file) {
		usage(stderr);
		return 2;
	}
	if (path) {
		fd = listen_unix(path);
		if (fd < 0) {
			fprintf(stderr, "bare_mhd: %s: %s\n", path, strerror(errno));
			return 1;
		}
		listen = path;
	}
	if (!put_size)
		put_size = size;
	body = body_of(size);
	put_body = body_of(put_size);
	if (!body || !put_body) {
		fprintf(stderr, "bare_mhd: a body of %zu or %zu bytes: too small\n",
			size, put_size);
		return 2;
	}
	if (cert_file) {
		cert = slurp(cert_file);
		key = slurp(key_file);
		if (!cert || !key) {
			fprintf(stderr, "bare_mhd: cannot read %s or %s\n",
				cert_file, key_file);
			return 1;
		}
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			fprintf(stderr, "bare_mhd: libmicrohttpd has no TLS\n");
			return 1;
		}
		flags |= MHD_USE_TLS;
	}

	/* Block the signals before MHD's threads start, so they inherit it. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (fd >= 0) {
		where[0] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, fd, NULL };
	} else {
		where[0] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &sa };
		where[1] = (struct MHD_OptionItem){
			MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL };
	}
	d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL,
			     MHD_OPTION_ARRAY, where,
			     MHD_OPTION_THREAD_POOL_SIZE,
			     (unsigned int)(threads > 1 ? threads : 0),
			     MHD_OPTION_CONNECTION_LIMIT, CONNECTIONS,
			     MHD_OPTION_PER_IP_CONNECTION_LIMIT, CONNECTIONS_PER_IP,
			     MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT,
			     (size_t)CONNECTION_MEMORY,
			     cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, cert,
			     MHD_OPTION_HTTPS_MEM_KEY, key,
			     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "bare_mhd: libmicrohttpd did not start on %s\n",
			listen);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	if (path)
		unlink(path);
	free((char *)body);
	free((char *)put_body);
	free(cert);
	free(key);
	return 0;
}
