// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The node-feature-discovery local feature file: `<key>=<value>` lines,
 * as nfd-worker's "local" source reads them from its features.d folder,
 * one pair per instance and kind for the quota (what the instance can
 * get) and the free IDs (quota - used), and whether a module has the
 * instance registered.  Keys are Kubernetes label names in the
 * vac.feature.node.kubernetes.io namespace, which nfd-master allows
 * without flags.  The file is replaced atomically through a dot file
 * next to it: nfd-worker skips dot files, so it never reads half.
 *
 * May call: base/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fleet/nfd.h"

#define NFD_PREFIX	"vac.feature.node.kubernetes.io/"

/* A label name starts and ends with [A-Za-z0-9]; instance names may not. */
static bool label_ok(const char *name)
{
	size_t n = strlen(name);

	return n && name[0] != '_' && name[n - 1] != '_';
}

static char *render(const struct fleet_snap *s)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	fprintf(f, "# brokerd: VAC quotas and free IDs of each KVM instance\n");
	for (size_t i = 0; i < s->n; i++) {
		const struct vac_instance_info *in = &s->in[i];

		if (!label_ok(in->name))
			continue;
		fprintf(f, NFD_PREFIX "%s.registered=%s\n", in->name,
			in->state == VAC_INSTANCE_STATE_ONLINE ? "true" : "false");
		for (int k = 0; k < VAC_NR_RESOURCES; k++) {
			const struct vac_usage *u = &in->usage[k];

			fprintf(f, NFD_PREFIX "%s.%s.quota=%u\n", in->name,
				vac_resource_name(k), u->quota);
			fprintf(f, NFD_PREFIX "%s.%s.free=%u\n", in->name,
				vac_resource_name(k),
				u->used < u->quota ? u->quota - u->used : 0);
		}
	}
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

static int fail(char *why, size_t len, int ret, const char *what,
		const char *path)
{
	snprintf(why, len, "%s %s: %s", what, path, strerror(-ret));
	return ret;
}

int fleet_nfd_write(const char *path, const struct fleet_snap *s,
		    char *why, size_t len)
{
	_cleanup_free_ char *text = render(s), *d = strdup(path),
			    *b = strdup(path), *tmp = NULL;
	_cleanup_close_ int fd = -1, dfd = -1;
	const char *dir = d ? dirname(d) : NULL;
	size_t n, off = 0;
	int ret;

	if (!text || !dir || !b ||
	    asprintf(&tmp, "%s/.%s.tmp", dir, basename(b)) < 0) {
		tmp = NULL;
		return fail(why, len, -ENOMEM, "writing", path);
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return fail(why, len, -errno, "creating", tmp);
	for (n = strlen(text); off < n; ) {
		ssize_t w = write(fd, text + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			ret = -errno;
			goto undo;
		}
		off += w;
	}
	if (fsync(fd) < 0 || rename(tmp, path) < 0) {
		ret = -errno;
		goto undo;
	}
	/* The rename is on disk once the folder is. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		return fail(why, len, -errno, "syncing the folder of", path);
	return 0;

undo:
	unlink(tmp);
	return fail(why, len, ret, "writing", path);
}
