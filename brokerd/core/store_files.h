/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The state directory's files written whole (see store_files.c).
 */
#ifndef BROKER_STORE_FILES_H
#define BROKER_STORE_FILES_H

#include "base/base.h"

/* All of @buf to @fd, through short writes and EINTR; 0 or -errno. */
int broker_store_write_all(int fd, const char *buf, size_t len);

/*
 * Replace @name in @dirfd with @text atomically: NAME.tmp (0600), fsync,
 * rename over @name, fsync of the directory.  On failure @name is as it
 * was and the temporary file is gone.
 */
int broker_store_write(int dirfd, const char *name, const char *text,
		       struct broker_err *err);

/*
 * @name of @dirfd (a link: what it names) is brokerd's own and open to
 * nobody else; 0 if so or absent (-ENOENT), -EPERM with why otherwise.
 */
int broker_store_private(int dirfd, const char *name, struct broker_err *err);

/*
 * The state directory's other files (policy.json, profiles.json): JSON
 * objects with "version": BROKER_FILE_VERSION, of at most 4 MiB.
 */
#define BROKER_FILE_VERSION 1

/* @file of @dirfd, checked to be such an object; -ENOENT if absent. */
int broker_store_load(int dirfd, const char *file, json_t **root,
		      struct broker_err *err);
/*
 * The error of such a file that could not be loaded (@ret, @why) as the
 * operator reads it: "@dir/@file: field: why".
 */
void broker_store_load_err(struct broker_err *err, const char *dir,
			   const char *file, int ret,
			   const struct broker_err *why);
/* @root written as @file with broker_store_write(). */
int broker_store_save(int dirfd, const char *name, json_t *root,
		      struct broker_err *err);

#endif /* BROKER_STORE_FILES_H */
