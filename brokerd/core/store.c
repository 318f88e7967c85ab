// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The state file, desired.json:
 *
 *   {"version": 1, "generation": 7,
 *    "instances": [{"name": "kvm_a", "generation": 7,
 *                   "quotas": {"asids": 1024, "vpids": 4096}}]}
 *
 * and desired.journal, one line per change since ("journal" is the last
 * change the file holds; lines up to it are skipped):
 *
 *   {"seq": 8, "put": {"name": "kvm_b", "generation": 8, "quotas": {}}}
 *   {"seq": 9, "del": "kvm_a"}
 *
 * A change is a line appended to the journal and fdatasync'ed: the same
 * cost at 4,000 instances as at 10.  Once the journal holds as many
 * changes as there are instances (at least JOURNAL_MIN), the next change
 * writes the state file whole instead: a temporary file, fsync, rename
 * over the old one, fsync of the directory; then the journal is emptied.
 * A crash leaves the old file or the new one, never a mix, and a journal
 * whose last line may be torn: a last line without its newline was never
 * acknowledged and is dropped at start; any other line that does not
 * parse is an error.  A left-over temporary file is removed at start.
 * Every other file of the state directory (policy.json, profiles.json,
 * tokens.json) is written whole, through broker_store_write().
 *
 * May call: store_files.c, base/.
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
#define JOURNAL_MIN	64		/* changes before a rewrite */

struct file_top {
	struct bj_u32 version;
	struct bj_u64 generation;
	struct bj_u64 journal;
	json_t *instances;
};

static const struct bj_field top_fields[] = {
	{ .name = "version", .type = BJ_U32, .required = true,
	  .offset = offsetof(struct file_top, version),
	  .min = STATE_VERSION, .max = STATE_VERSION },
	{ .name = "generation", .type = BJ_U64, .required = true,
	  .offset = offsetof(struct file_top, generation) },
	{ .name = "journal", .type = BJ_U64,
	  .offset = offsetof(struct file_top, journal) },
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

/* An instance read from the state file or the journal, at @where. */
static int unpack_inst(struct broker_store *s, json_t *v, const char *where,
		       bool dup_ok, struct broker_inst *inst,
		       struct broker_err *err)
{
	struct file_inst fi = { 0 };
	int ret = bj_unpack(v, inst_fields, &fi, where, err);

	if (ret)
		return ret;
	if (!vac_name_ok(fi.name) || (!dup_ok && broker_store_find(s, fi.name))) {
		broker_err_set(err, where, "name \"%s\" is %s", fi.name,
			       vac_name_ok(fi.name) ? "given twice" :
			       "not [a-z0-9_]{1,31}");
		return -EINVAL;
	}
	memset(inst, 0, sizeof(*inst));
	memcpy(inst->name, fi.name, sizeof(inst->name));
	inst->generation = fi.generation.v;
	inst->want = fi.quotas;
	inst->dirty = true;
	return 0;
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
		struct broker_inst inst;

		snprintf(where, sizeof(where), "instances[%zu]", i);
		ret = unpack_inst(s, v, where, false, &inst, err);
		if (ret)
			return ret;
		if (inst.generation > top.generation.v) {
			broker_err_set(err, where,
				       "generation above the file's generation");
			return -EINVAL;
		}
		ret = append(s, &inst);
		if (ret) {
			broker_err_set(err, where, "%s", strerror(-ret));
			return ret;
		}
		s->ndirty++;
	}
	s->generation = top.generation.v;
	s->jseq = top.journal.v;
	return 0;
}

/* ---- the journal ---- */

static void remove_at(struct broker_store *s, size_t i)
{
	s->ndirty -= s->insts[i].dirty;
	memmove(&s->insts[i], &s->insts[i + 1], (s->n - i - 1) * sizeof(*s->insts));
	s->n--;
	reindex(s);
}

/* One journaled change onto what is loaded; those the file has: skipped. */
static int replay(struct broker_store *s, json_t *rec, const char *where,
		  struct broker_err *err)
{
	json_t *seq = json_object_get(rec, "seq");
	json_t *put = json_object_get(rec, "put"), *del = json_object_get(rec, "del");
	struct broker_inst inst, *old;
	int ret;

	if (!json_is_integer(seq) || json_integer_value(seq) <= 0 ||
	    !put == !del || (del && !json_is_string(del))) {
		broker_err_set(err, where, "not a change: {\"seq\", \"put\" or \"del\"}");
		return -EINVAL;
	}
	if ((uint64_t)json_integer_value(seq) <= s->jseq)
		return 0;
	s->jseq = json_integer_value(seq);
	if (del) {
		old = broker_store_find(s, json_string_value(del));
		if (old)
			remove_at(s, old - s->insts);
		return 0;
	}
	ret = unpack_inst(s, put, where, true, &inst, err);
	if (ret)
		return ret;
	if (inst.generation > s->generation)
		s->generation = inst.generation;
	old = broker_store_find(s, inst.name);
	if (old) {
		broker_store_mark(s, old);
		*old = inst;
		return 0;
	}
	ret = append(s, &inst);
	if (ret)
		broker_err_set(err, where, "%s", strerror(-ret));
	else
		s->ndirty++;
	return ret;
}

/* @fd's content, NUL-terminated, into *@out; its length in *@len. */
static int read_all(int fd, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max)
		return -EFBIG;
	buf = malloc(st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	for (*len = 0; *len < (size_t)st.st_size;) {
		ssize_t r = pread(fd, buf + *len, st.st_size - *len, *len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r ? errno : EIO;

			free(buf);
			return -e;
		}
		*len += r;
	}
	buf[*len] = 0;
	*out = buf;
	return 0;
}

/*
 * Open the journal (created if missing) and replay it; a torn last line
 * is cut off.  s->jfd on success.
 */
static int load_journal(struct broker_store *s, struct broker_err *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	char where[32], *p, *nl;
	bool created = faccessat(s->dirfd, BROKER_JOURNAL_FILE, F_OK, 0) < 0;
	size_t len = 0, line = 0;
	int ret;

	fd = openat(s->dirfd, BROKER_JOURNAL_FILE, O_RDWR | O_CREAT | O_APPEND |
		    O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0 || (created && fsync(s->dirfd) < 0)) {
		ret = -errno;
		broker_err_set(err, NULL, "%s", strerror(-ret));
		return ret;
	}
	ret = read_all(fd, STATE_MAX_BYTES, &buf, &len);
	if (ret) {
		broker_err_set(err, NULL, "%s", ret == -EFBIG ?
			       "not a regular file of at most 16 MiB" : strerror(-ret));
		return ret;
	}
	for (p = buf; (nl = memchr(p, '\n', buf + len - p)); p = nl + 1) {
		_cleanup_json_ json_t *rec = NULL;
		json_error_t je;

		*nl = 0;
		snprintf(where, sizeof(where), "line %zu", ++line);
		rec = json_loads(p, JSON_REJECT_DUPLICATES, &je);
		if (!rec) {
			broker_err_set(err, where, "%s", je.text);
			return -EINVAL;
		}
		ret = replay(s, rec, where, err);
		if (ret)
			return ret;
	}
	/* What follows the last newline was never acknowledged. */
	if (p != buf + len &&
	    (ftruncate(fd, p - buf) < 0 || fdatasync(fd) < 0)) {
		ret = -errno;
		broker_err_set(err, NULL, "cutting off a torn last line: %s",
			       strerror(-ret));
		return ret;
	}
	s->jrecords = line;
	s->jsize = p - buf;
	s->jfd = fd;
	fd = -1;
	return 0;
}

int broker_store_open(struct broker_store *s, const char *dir,
		      struct broker_err *err)
{
	const char *what = "file", *file = BROKER_STATE_FILE;
	_cleanup_close_ int fd = -1;
	struct broker_err why = { 0 };
	int ret;

	memset(s, 0, sizeof(*s));
	s->dirfd = -1;
	s->jfd = -1;
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
	if (!ret && (ret = load_journal(s, &why)))
		what = "journal", file = BROKER_JOURNAL_FILE;
	if (ret) {
		char text[sizeof(why.field) + sizeof(why.msg)];

		broker_err_set(err, why.field, "state %s %s/%s: %s", what, dir,
			       file, broker_err_text(&why, text, sizeof(text)));
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
	if (s->jfd >= 0)
		close(s->jfd);
	s->jfd = -1;
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

static json_t *inst_json(const struct broker_inst *in)
{
	return json_pack("{s:s, s:I, s:o}", "name", in->name,
			 "generation", (json_int_t)in->generation,
			 "quotas", quotas_json(&in->want));
}

static char *render(const struct broker_store *s)
{
	_cleanup_json_ json_t *root = NULL;
	json_t *list = json_array();

	root = json_pack("{s:i, s:I, s:I, s:o}", "version", STATE_VERSION,
			 "generation", (json_int_t)s->generation,
			 "journal", (json_int_t)s->jseq, "instances", list);
	if (!root)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		if (json_array_append_new(list, inst_json(&s->insts[i])))
			return NULL;
	return json_dumps(root, JSON_INDENT(2));
}

/* The whole state into the state file; then the journal starts empty. */
static int rewrite(struct broker_store *s, struct broker_err *err)
{
	_cleanup_free_ char *text = render(s);
	struct broker_err why = { 0 };
	int ret;

	if (!text) {
		broker_err_set(err, NULL, "state file %s: out of memory", s->path);
		return -ENOMEM;
	}
	ret = broker_store_write(s->dirfd, BROKER_STATE_FILE, text, &why);
	if (ret) {
		broker_err_set(err, NULL, "state file %s", why.msg);
		return ret;
	}
	/*
	 * Durable now.  What the journal still holds is in the file, and
	 * skipped at start: a journal that cannot be emptied only makes the
	 * next change write the file again.
	 */
	if (s->jfd >= 0 && ftruncate(s->jfd, 0) < 0) {
		close(s->jfd);
		s->jfd = -1;
	}
	if (s->jfd < 0)
		s->jfd = openat(s->dirfd, BROKER_JOURNAL_FILE, O_RDWR | O_CREAT |
				O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	s->jrecords = 0;
	s->jsize = 0;
	return 0;
}

/*
 * Make the change just made to s->insts durable, as the journal's next
 * line @rec (its "seq" set here), or by rewriting the state file.  On
 * failure nothing is durable and the caller undoes the change.
 */
static int commit(struct broker_store *s, json_t *rec, struct broker_err *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int ret;

	s->jseq++;
	if (s->jfd < 0 || s->jrecords >= (s->n > JOURNAL_MIN ? s->n : JOURNAL_MIN)) {
		ret = rewrite(s, err);
		goto out;
	}
	if (!rec || json_object_set_new(rec, "seq", json_integer(s->jseq)) ||
	    !(text = json_dumps(rec, JSON_COMPACT))) {
		broker_err_set(err, NULL, "state journal: out of memory");
		ret = -ENOMEM;
		goto out;
	}
	len = strlen(text);
	text[len++] = '\n';	/* over the NUL: written by length */
	ret = broker_store_write_all(s->jfd, text, len);
	if (!ret && fdatasync(s->jfd) < 0)
		ret = -errno;
	if (ret) {
		broker_err_set(err, NULL, "state journal %s: %s",
			       BROKER_JOURNAL_FILE, strerror(-ret));
		/* Not acknowledged: cut it off, or rewrite the file next. */
		if (ftruncate(s->jfd, s->jsize) < 0) {
			close(s->jfd);
			s->jfd = -1;
		}
		goto out;
	}
	s->jsize += len;
	s->jrecords++;
out:
	if (ret)
		s->jseq--;
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
	{
		_cleanup_json_ json_t *rec = json_pack("{s:o}", "put", inst_json(&next));

		ret = commit(s, rec, err);
	}
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
	{
		_cleanup_json_ json_t *rec = json_pack("{s:s}", "del", name);

		ret = commit(s, rec, err);
	}
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
