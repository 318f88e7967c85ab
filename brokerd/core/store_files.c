// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The state directory's files written whole (desired.json when it is
 * rewritten, policy.json, profiles.json, tokens.json): a temporary file,
 * fsync, rename over the old one, fsync of the directory, so that a crash
 * leaves the old file or the new one, never a mix.
 *
 * May call: base/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/json.h"
#include "core/store_files.h"

#define FILE_MAX_BYTES	(4u << 20)	/* the versioned files */

int broker_store_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t r = write(fd, buf, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		buf += r;
		len -= r;
	}
	return 0;
}

int broker_store_write(int dirfd, const char *name, const char *text,
		       struct broker_err *err)
{
	_cleanup_close_ int fd = -1;
	char tmp[NAME_MAX + 1];
	const char *step;
	int ret;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", name) >= (int)sizeof(tmp)) {
		broker_err_set(err, NULL, "%s: name too long", name);
		return -ENAMETOOLONG;
	}
	step = "create";
	fd = openat(dirfd, tmp,
		    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		goto fail;
	step = "write";
	ret = broker_store_write_all(fd, text, strlen(text));
	if (ret) {
		errno = -ret;
		goto fail;
	}
	step = "fsync";
	if (fsync(fd) < 0)
		goto fail;
	step = "close";
	ret = close(fd);
	fd = -1;
	if (ret < 0)
		goto fail;
	step = "rename";
	if (renameat(dirfd, tmp, dirfd, name) < 0)
		goto fail;
	step = "fsync the directory after renaming";
	if (fsync(dirfd) < 0)
		goto fail;
	return 0;

fail:
	ret = -errno;
	broker_err_set(err, NULL, "%s: %s %s: %s", name, step, tmp,
		       strerror(-ret));
	unlinkat(dirfd, tmp, 0);
	return ret;
}

/* ---- the other state files: versioned JSON objects ---- */

static int check_version(json_t *root, struct broker_err *err)
{
	json_t *v = json_object_get(root, "version");

	if (!json_is_integer(v) || json_integer_value(v) != BROKER_FILE_VERSION) {
		broker_err_set(err, "version", "must be %d", BROKER_FILE_VERSION);
		return -EINVAL;
	}
	return 0;
}

int broker_store_load(int dirfd, const char *file, json_t **root,
		      struct broker_err *err)
{
	int ret = bj_load_file(dirfd, file, FILE_MAX_BYTES, root, err);

	if (ret)
		return ret;
	if (!json_is_object(*root) || check_version(*root, err))
		return -EINVAL;
	return 0;
}

int broker_store_save(int dirfd, const char *name, json_t *root,
		      struct broker_err *err)
{
	_cleanup_free_ char *text = NULL;

	text = root ? json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	if (!text) {
		broker_err_set(err, NULL, "%s: out of memory", name);
		return -ENOMEM;
	}
	return broker_store_write(dirfd, name, text, err);
}

void broker_store_load_err(struct broker_err *err, const char *dir,
			   const char *file, int ret,
			   const struct broker_err *why)
{
	char text[sizeof(why->field) + sizeof(why->msg)];

	broker_err_set(err, why->field, "%s/%s: %s", dir, file,
		       ret == -ENOMEM ? "out of memory" :
		       broker_err_text(why, text, sizeof(text)));
}

/*
 * Like sshd with a private key: a file that another user could read or
 * write (token salts and hashes, or a token of their own making) is
 * refused, not loaded and not repaired behind the operator's back.
 */
int broker_store_private(int dirfd, const char *name, struct broker_err *err)
{
	struct stat st;

	/* What it names, if a link; anything else bj_load_file() explains. */
	if (fstatat(dirfd, name, &st, 0) < 0)
		return errno == ENOENT ? -ENOENT : 0;
	if (st.st_uid != geteuid()) {
		broker_err_set(err, NULL, "owned by uid %u, not by brokerd's uid %u; "
			       "chown it to %u", (unsigned int)st.st_uid,
			       (unsigned int)geteuid(), (unsigned int)geteuid());
		return -EPERM;
	}
	if (st.st_mode & 077) {
		broker_err_set(err, NULL, "mode %04o is too open: others could read "
			       "or replace it; chmod 600 it",
			       (unsigned int)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}
