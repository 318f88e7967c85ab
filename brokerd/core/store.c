// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The state file, desired.json:
 *
 *   {"version": 1, "generation": 7,
 *    "instances": [{"name": "kvm_a", "generation": 7,
 *                   "quotas": {"asids": 1024, "vpids": 4096}}]}
 *
 * Written whole on every change: a temporary file, fsync, rename over the
 * old one, fsync of the directory.  A crash leaves the old file or the new
 * one, never a mix; a left-over temporary file is removed at start.  Every
 * other file of the state directory (policy.json, profiles.json,
 * tokens.json) is written the same way, through broker_store_write().
 *
 * May call: base/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "base/json.h"
#include "core/store.h"

#define STATE_TMP	BROKER_STATE_FILE ".tmp"
#define STATE_VERSION	1
#define STATE_MAX_BYTES	(16u << 20)
#define FILE_MAX_BYTES	(4u << 20)	/* the versioned files */

struct file_top {
	struct bj_u32 version;
	struct bj_u64 generation;
	json_t *instances;
};

static const struct bj_field top_fields[] = {
	{ .name = "version", .type = BJ_U32, .required = true,
	  .offset = offsetof(struct file_top, version),
	  .min = STATE_VERSION, .max = STATE_VERSION },
	{ .name = "generation", .type = BJ_U64, .required = true,
	  .offset = offsetof(struct file_top, generation) },
	{ .name = "instances", .type = BJ_ARRAY, .required = true,
	  .offset = offsetof(struct file_top, instances) },
	{ NULL }
};

struct file_inst {
	char name[VAC_NAME_LEN];
	struct bj_u64 generation;
	struct broker_quotas quotas;
};

static const struct bj_field inst_fields[] = {
	{ .name = "name", .type = BJ_STRING, .required = true,
	  .offset = offsetof(struct file_inst, name), .size = VAC_NAME_LEN },
	{ .name = "generation", .type = BJ_U64, .required = true,
	  .offset = offsetof(struct file_inst, generation) },
	{ .name = "quotas", .type = BJ_OBJECT,
	  .offset = offsetof(struct file_inst, quotas),
	  .fields = bj_quota_fields },
	{ NULL }
};

static const char *inst_name(const void *store, uint16_t entry)
{
	return ((const struct broker_store *)store)->insts[entry - 1].name;
}

static int append(struct broker_store *s, const struct broker_inst *inst)
{
	int ret = broker_grow(&s->insts, &s->cap, s->n, sizeof(*inst),
			      VAC_MAX_INSTANCES);

	if (!ret) {
		s->insts[s->n++] = *inst;
		vac_name_index_add(&s->index, inst->name, s->n);
	}
	return ret;
}

/* After a move in insts[]: every entry again where it now is. */
static void reindex(struct broker_store *s)
{
	vac_name_index_clear(&s->index);
	for (size_t i = 0; i < s->n; i++)
		vac_name_index_add(&s->index, s->insts[i].name, i + 1);
}

static int load(struct broker_store *s, struct broker_err *err)
{
	_cleanup_json_ json_t *root = NULL;
	struct file_top top = { 0 };
	char where[32];
	json_t *v;
	size_t i;
	int ret;

	ret = bj_load_file(s->dirfd, BROKER_STATE_FILE, STATE_MAX_BYTES,
			   &root, err);
	if (ret == -ENOENT)
		return 0;		/* a first start */
	if (ret)
		return ret;
	ret = bj_unpack(root, top_fields, &top, NULL, err);
	if (ret)
		return ret;
	json_array_foreach(top.instances, i, v) {
		struct file_inst fi = { 0 };
		struct broker_inst inst = { 0 };

		snprintf(where, sizeof(where), "instances[%zu]", i);
		ret = bj_unpack(v, inst_fields, &fi, where, err);
		if (ret)
			return ret;
		if (!vac_name_ok(fi.name) || broker_store_find(s, fi.name)) {
			broker_err_set(err, where, "name \"%s\" is %s", fi.name,
				       vac_name_ok(fi.name) ? "given twice" :
				       "not [a-z0-9_]{1,31}");
			return -EINVAL;
		}
		if (fi.generation.v > top.generation.v) {
			broker_err_set(err, where,
				       "generation above the file's generation");
			return -EINVAL;
		}
		memcpy(inst.name, fi.name, sizeof(inst.name));
		inst.generation = fi.generation.v;
		inst.want = fi.quotas;
		inst.dirty = true;
		ret = append(s, &inst);
		if (ret) {
			broker_err_set(err, where, "%s", strerror(-ret));
			return ret;
		}
		s->ndirty++;
	}
	s->generation = top.generation.v;
	return 0;
}

int broker_store_open(struct broker_store *s, const char *dir,
		      struct broker_err *err)
{
	_cleanup_close_ int fd = -1;
	struct broker_err why = { 0 };
	int ret;

	memset(s, 0, sizeof(*s));
	s->dirfd = -1;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		ret = -errno;
		broker_err_set(err, NULL, "state directory %s: %s", dir,
			       strerror(-ret));
		return ret;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ret = -errno;
		broker_err_set(err, NULL, "state directory %s: %s", dir,
			       ret == -EWOULDBLOCK ?
			       "in use by another brokerd" : strerror(-ret));
		return ret;
	}
	snprintf(s->path, sizeof(s->path), "%s/%s", dir, BROKER_STATE_FILE);
	if (unlinkat(fd, STATE_TMP, 0) < 0 && errno != ENOENT) {
		ret = -errno;
		broker_err_set(err, NULL, "%s/%s: %s", dir, STATE_TMP,
			       strerror(-ret));
		return ret;
	}
	if (vac_name_index_init(&s->index, inst_name, s)) {
		broker_err_set(err, NULL, "state directory %s: out of memory", dir);
		return -ENOMEM;
	}
	s->dirfd = fd;
	ret = load(s, &why);
	if (ret) {
		char text[sizeof(why.field) + sizeof(why.msg)];

		broker_err_set(err, why.field, "state file %s: %s", s->path,
			       broker_err_text(&why, text, sizeof(text)));
		s->dirfd = -1;
		broker_store_close(s);
		return ret;
	}
	fd = -1;
	return 0;
}

void broker_store_close(struct broker_store *s)
{
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->insts);
	vac_name_index_fini(&s->index);
	s->insts = NULL;
	s->n = s->cap = 0;
	s->dirfd = -1;
}

struct broker_inst *broker_store_find(struct broker_store *s,
				      const char *name)
{
	uint16_t entry;

	if (!s->index.bucket)
		return NULL;
	entry = vac_name_index_find(&s->index, name);
	return entry ? &s->insts[entry - 1] : NULL;
}

void broker_store_mark(struct broker_store *s, struct broker_inst *d)
{
	if (d && !d->dirty) {
		d->dirty = true;
		s->ndirty++;
	}
}

void broker_store_mark_all(struct broker_store *s)
{
	for (size_t i = 0; i < s->n; i++)
		s->insts[i].dirty = true;
	s->ndirty = s->n;
}

static json_t *quotas_json(const struct broker_quotas *q)
{
	json_t *o = json_object();

	for (int k = 0; o && k < VAC_NR_RESOURCES; k++)
		if (q->kind[k].set &&
		    json_object_set_new(o, vac_resource_name(k),
					json_integer(q->kind[k].v))) {
			json_decref(o);
			return NULL;
		}
	return o;
}

static char *render(const struct broker_store *s)
{
	_cleanup_json_ json_t *root = NULL;
	json_t *list = json_array();

	root = json_pack("{s:i, s:I, s:o}", "version", STATE_VERSION,
			 "generation", (json_int_t)s->generation,
			 "instances", list);
	if (!root)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		const struct broker_inst *in = &s->insts[i];

		if (json_array_append_new(list,
			json_pack("{s:s, s:I, s:o}", "name", in->name,
				  "generation", (json_int_t)in->generation,
				  "quotas", quotas_json(&in->want))))
			return NULL;
	}
	return json_dumps(root, JSON_INDENT(2));
}

static int write_all(int fd, const char *buf, size_t len)
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
	ret = write_all(fd, text, strlen(text));
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

static int save(struct broker_store *s, struct broker_err *err)
{
	_cleanup_free_ char *text = render(s);
	struct broker_err why = { 0 };
	int ret;

	if (!text) {
		broker_err_set(err, NULL, "state file %s: out of memory", s->path);
		return -ENOMEM;
	}
	ret = broker_store_write(s->dirfd, BROKER_STATE_FILE, text, &why);
	if (ret)
		broker_err_set(err, NULL, "state file %s", why.msg);
	return ret;
}

int broker_store_put(struct broker_store *s, struct broker_inst *inst,
		     struct broker_err *err)
{
	struct broker_inst *old = broker_store_find(s, inst->name);
	struct broker_inst keep, next = *inst;
	bool was_dirty = old && old->dirty;
	int ret;

	next.generation = s->generation + 1;
	next.dirty = true;
	if (old) {
		keep = *old;
		*old = next;
	} else {
		ret = append(s, &next);
		if (ret) {
			broker_err_set(err, NULL, "%s", ret == -ENOSPC ?
				       "too many instances" : strerror(-ret));
			return ret;
		}
	}
	s->generation++;
	ret = save(s, err);
	if (ret) {
		s->generation--;
		if (old)
			*old = keep;
		else
			vac_name_index_del(&s->index, s->insts[--s->n].name);
		return ret;
	}
	s->ndirty += !was_dirty;
	inst->generation = next.generation;
	return 0;
}

int broker_store_del(struct broker_store *s, const char *name,
		     struct broker_err *err)
{
	struct broker_inst *old = broker_store_find(s, name);
	struct broker_inst keep;
	size_t i;
	int ret;

	if (!old)
		return -ENOENT;
	keep = *old;
	i = old - s->insts;
	memmove(old, old + 1, (s->n - i - 1) * sizeof(*old));
	s->n--;
	reindex(s);
	ret = save(s, err);
	if (ret) {
		memmove(&s->insts[i + 1], &s->insts[i],
			(s->n - i) * sizeof(*old));
		s->insts[i] = keep;
		s->n++;
		reindex(s);
		return ret;
	}
	s->ndirty -= keep.dirty;
	return 0;
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
