// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * uds_load: keep-alive HTTP/1.1 load over a Unix socket, which wrk cannot
 * speak.  Each of CONNECTIONS threads sends the request in FILE (raw
 * HTTP, sent as it is) on its own connection, reads the whole response
 * (headers, then Content-Length bytes) and sends it again, for SECONDS.
 *
 *   uds_load SOCKET FILE CONNECTIONS SECONDS
 *
 * Prints {"requests":N,"seconds":S,"rps":R,"non2xx":E,"errors":F}.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS	64
#define BUF_SIZE	(256 * 1024)

static const char *sock_path;
static char *request;
static size_t request_len;
static atomic_bool stop;

struct worker {
	pthread_t tid;
	unsigned long requests, non2xx, errors;
	char buf[BUF_SIZE];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int connect_unix(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (fd >= 0 && connect(fd, (void *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* One response: its status, or -1 if the connection broke. */
static int read_response(int fd, char *buf)
{
	size_t have = 0, want = 0;
	char *end = NULL, *cl;
	int status;

	for (;;) {
		ssize_t n;

		if (have == BUF_SIZE - 1)
			return -1;
		n = recv(fd, buf + have, BUF_SIZE - 1 - have, 0);
		if (n <= 0)
			return -1;
		have += n;
		buf[have] = '\0';
		if (!end) {
			end = strstr(buf, "\r\n\r\n");
			if (!end)
				continue;
			cl = strcasestr(buf, "\r\ncontent-length:");
			if (!cl || cl > end)
				return -1;
			want = end + 4 - buf + strtoul(cl + 17, NULL, 10);
		}
		if (have >= want)
			break;
	}
	if (have != want || sscanf(buf, "HTTP/1.1 %d", &status) != 1)
		return -1;
	return status;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	int fd = -1, status;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		if (fd < 0) {
			fd = connect_unix();
			if (fd < 0) {
				w->errors++;
				usleep(1000);
				continue;
			}
		}
		if (send_all(fd, request, request_len) ||
		    (status = read_response(fd, w->buf)) < 0) {
			w->errors++;
			close(fd);
			fd = -1;
			continue;
		}
		w->requests++;
		if (status < 200 || status > 299)
			w->non2xx++;
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *s = malloc(BUF_SIZE);

	if (!f || !s) {
		free(s);
		if (f)
			fclose(f);
		return NULL;
	}
	*len = fread(s, 1, BUF_SIZE, f);
	fclose(f);
	if (!*len || *len == BUF_SIZE) {
		free(s);
		return NULL;
	}
	return s;
}

int main(int argc, char **argv)
{
	static struct worker workers[MAX_CONNECTIONS];
	unsigned long conns, req = 0, non2xx = 0, errors = 0;
	double secs, t0, t;

	if (argc != 5) {
		fprintf(stderr, "usage: uds_load SOCKET FILE CONNECTIONS SECONDS\n");
		return 2;
	}
	sock_path = argv[1];
	conns = strtoul(argv[3], NULL, 10);
	secs = strtod(argv[4], NULL);
	if (!conns || conns > MAX_CONNECTIONS || !(secs > 0 && secs <= 600)) {
		fprintf(stderr, "uds_load: CONNECTIONS 1..%d, SECONDS 0..600\n",
			MAX_CONNECTIONS);
		return 2;
	}
	request = slurp(argv[2], &request_len);
	if (!request) {
		fprintf(stderr, "uds_load: %s: cannot read a request\n", argv[2]);
		return 2;
	}

	t0 = now();
	for (unsigned long i = 0; i < conns; i++)
		if (pthread_create(&workers[i].tid, NULL, run, &workers[i])) {
			fprintf(stderr, "uds_load: cannot start a thread\n");
			return 1;
		}
	usleep(secs * 1e6);
	atomic_store(&stop, true);
	for (unsigned long i = 0; i < conns; i++) {
		pthread_join(workers[i].tid, NULL);
		req += workers[i].requests;
		non2xx += workers[i].non2xx;
		errors += workers[i].errors;
	}
	t = now() - t0;
	printf("{\"requests\":%lu,\"seconds\":%.3f,\"rps\":%.1f,"
	       "\"non2xx\":%lu,\"errors\":%lu}\n", req, t, req / t, non2xx, errors);
	free(request);
	return 0;
}
