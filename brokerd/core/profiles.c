// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The parameter profiles: their state file, and applying one to an
 * instance's KVM module.
 *
 * profiles.json holds the profiles and, per instance, the profile last
 * applied to it (a copy of its parameters, for the drift check):
 *   {"version": 1, "profiles": {"canary": {"quotas": {..}, "params": {..}}},
 *    "applied": {"kvm_b": {"profile": "canary", "params": {..}}}}
 * Applying a profile writes the instance's runtime parameters to
 * <sysfs_module_root>/<instance>/parameters/<name> and renders the
 * load-time ones (file read-only or absent) as
 * "options <instance> name=value" into <modprobe_dir>/vac-<instance>.conf;
 * its quotas are set as any other (instances.c).  A change that cannot be
 * written leaves the daemon's view as it was.
 *
 * May call: store.c, policy/ (the profile document), base/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "core/broker.h"
#include "core/profiles.h"
#include "core/store.h"

int broker_profile_parse(json_t *doc, struct vacp_profile **out,
			 struct vacp_err *perr)
{
	_cleanup_free_ char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);

	if (!text)
		return -ENOMEM;
	return vacp_profile_parse(text, strlen(text), out, perr);
}

json_t *broker_profile_stored(const struct vacp_profile *pr)
{
	json_t *q = json_object(), *params = json_object();

	for (int k = 0; k < VACP_NR_KINDS; k++)
		if (pr->has_quota[k])
			json_object_set_new(q, vacp_kind_name(k),
					    json_integer(pr->quota[k]));
	for (size_t i = 0; i < pr->n_params; i++)
		json_object_set_new(params, pr->params[i].name,
				    json_string(pr->params[i].value));
	return json_pack("{s:o, s:o}", "quotas", q, "params", params);
}

static int load_profiles(struct broker_profiles *p, int dirfd,
			 struct broker_err *err)
{
	_cleanup_json_ json_t *root = NULL;
	struct vacp_profile *pr;
	struct vacp_err perr;
	json_t *profiles, *applied, *v;
	const char *name;
	int ret;

	ret = broker_store_load(dirfd, BROKER_PROFILES_FILE, &root, err);
	if (ret)
		return ret == -ENOENT ? 0 : ret;
	profiles = json_object_get(root, "profiles");
	applied = json_object_get(root, "applied");
	if (!json_is_object(profiles) || !json_is_object(applied)) {
		broker_err_set(err, NULL, "\"profiles\" and \"applied\" must be objects");
		return -EINVAL;
	}
	json_object_foreach(profiles, name, v) {
		ret = vac_name_ok(name) ? broker_profile_parse(v, &pr, &perr) : -EINVAL;
		if (ret == -ENOMEM)
			return ret;
		if (ret) {
			broker_err_set(err, "profiles", "%s: %s", name,
				       vac_name_ok(name) ? perr.msg :
				       "names match [a-z0-9_]{1,31}");
			return ret;
		}
		vacp_profile_free(pr);
	}
	json_object_foreach(applied, name, v) {
		json_t *params = json_object_get(v, "params");
		_cleanup_json_ json_t *doc = NULL;

		doc = json_pack("{s:O?}", "params", params);
		ret = vac_name_ok(name) && json_is_string(json_object_get(v, "profile")) &&
		      json_is_object(params) ? broker_profile_parse(doc, &pr, &perr) : -EINVAL;
		if (ret == -ENOMEM)
			return ret;
		if (ret) {
			broker_err_set(err, "applied", "%s: expected {\"profile\": NAME, "
				       "\"params\": {..}} of a valid instance name", name);
			return ret;
		}
		vacp_profile_free(pr);
	}
	p->profiles = json_incref(profiles);
	p->applied = json_incref(applied);
	return 0;
}

int broker_profiles_open(struct broker *b, struct broker_err *err)
{
	struct broker_profiles *p = calloc(1, sizeof(*p));
	struct broker_err why = { 0 };
	int ret;

	if (!p)
		return -ENOMEM;
	ret = load_profiles(p, b->store.dirfd, &why);
	if (!ret && !p->profiles) {
		p->profiles = json_object();
		p->applied = json_object();
		if (!p->profiles || !p->applied)
			ret = -ENOMEM;
	}
	if (ret) {
		broker_store_load_err(err, b->cfg.state_dir, BROKER_PROFILES_FILE,
				      ret, &why);
		broker_profiles_free(p);
		return ret;
	}
	b->profiles = p;
	return 0;
}

void broker_profiles_free(struct broker_profiles *p)
{
	if (!p)
		return;
	json_decref(p->profiles);
	json_decref(p->applied);
	free(p);
}

static int save_profiles(struct broker *b, json_t *profiles, json_t *applied,
			 struct broker_err *err)
{
	_cleanup_json_ json_t *root = NULL;

	root = json_pack("{s:i, s:O, s:O}", "version", BROKER_FILE_VERSION,
			 "profiles", profiles, "applied", applied);
	return broker_store_save(b->store.dirfd, BROKER_PROFILES_FILE, root, err);
}

int broker_profiles_commit(struct broker *b, json_t *profiles, json_t *applied,
			   struct broker_err *err)
{
	struct broker_profiles *p = b->profiles;
	int ret = save_profiles(b, profiles, applied, err);

	if (ret)
		return ret;
	json_incref(profiles);
	json_incref(applied);
	json_decref(p->profiles);
	json_decref(p->applied);
	p->profiles = profiles;
	p->applied = applied;
	return 0;
}

/* ---- applying a profile: module parameters ---- */

enum param_file {
	PARAM_ABSENT,		/* no such file: module not loaded */
	PARAM_LOAD_TIME,	/* read-only: set when the module loads */
	PARAM_RUNTIME,		/* writable */
};

static enum param_file param_stat(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return PARAM_ABSENT;
	/* By mode, not access(): root may write anything but sysfs would refuse. */
	return st.st_mode & 0222 ? PARAM_RUNTIME : PARAM_LOAD_TIME;
}

/* The file's text without its last newline: 0 or -errno. */
static int param_read(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* As a shell's ">" would: truncated (a no-op in sysfs), then written. */
static int param_write(const char *path, const char *value)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	size_t len = strlen(value);

	if (fd < 0)
		return -errno;
	if (write(fd, value, len) != (ssize_t)len)
		return errno ? -errno : -EIO;
	return 0;
}

/* As sysfs shows booleans: "Y"/"N" equal "1"/"y" and "0"/"n". */
static bool param_equal(const char *desired, const char *actual)
{
	if (!strcmp(desired, actual))
		return true;
	if (!strcmp(actual, "Y"))
		return !strcmp(desired, "1") || !strcmp(desired, "y");
	if (!strcmp(actual, "N"))
		return !strcmp(desired, "0") || !strcmp(desired, "n");
	return false;
}

/*
 * One parameter of @inst: written if @write and runtime-writable, then
 * checked.  Its report entry goes to @list; a load-time one (read-only
 * or absent) also goes to the modprobe.d line @opts.
 */
static void param_apply(struct broker *b, const char *inst,
			const struct vacp_param *pp, bool write, json_t *list,
			char *opts, size_t opts_size)
{
	char path[PATH_MAX], actual[VACP_PARAM_VALUE_LEN * 4];
	enum param_file kind;
	const char *status;
	bool have;
	int ret;

	if (snprintf(path, sizeof(path), "%s/%s/parameters/%s",
		     b->cfg.sysfs_module_root, inst, pp->name) >= (int)sizeof(path))
		kind = PARAM_ABSENT;	/* no such path can exist */
	else
		kind = param_stat(path);
	have = kind != PARAM_ABSENT && !param_read(path, actual, sizeof(actual));
	if (kind == PARAM_RUNTIME && write &&
	    !(have && param_equal(pp->value, actual))) {
		ret = param_write(path, pp->value);
		if (ret)
			broker_log(LOG_WARNING, "profile: %s: %s=%s: %s", inst,
				   pp->name, pp->value, strerror(-ret));
		have = !param_read(path, actual, sizeof(actual));
	}
	if (kind != PARAM_RUNTIME)
		snprintf(opts + strlen(opts), opts_size - strlen(opts),
			 strchr(pp->value, ' ') ? " %s=\"%s\"" : " %s=%s",
			 pp->name, pp->value);
	if (!have)
		status = "unknown";
	else if (param_equal(pp->value, actual))
		status = "applied";
	else
		status = kind == PARAM_RUNTIME ? "drifted" : "pending";
	json_array_append_new(list, json_pack("{s:s, s:s, s:s?, s:s}",
		"name", pp->name, "desired", pp->value,
		"actual", have ? actual : NULL, "status", status));
}

/* No load-time parameter: no snippet, nor one left by an earlier profile. */
static int unlink_stale(int dirfd, const char *path, const char *file,
			struct broker_err *err)
{
	if (unlinkat(dirfd, file, 0) < 0 && errno != ENOENT) {
		broker_err_set(err, NULL, "%s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

json_t *broker_profile_report(struct broker *b, const char *inst,
			      const char *profile, const struct vacp_profile *pr,
			      bool write, struct broker_err *err)
{
	_cleanup_close_ int dirfd = -1;
	_cleanup_free_ char *opts = NULL, *text = NULL;
	size_t opts_size = VACP_MAX_PARAMS * (VACP_PARAM_NAME_LEN +
					      VACP_PARAM_VALUE_LEN + 4) + 1;
	char file[NAME_MAX + 1], path[PATH_MAX];
	json_t *list = json_array();
	bool exists;

	opts = calloc(1, opts_size);
	if (!opts || !list) {
		json_decref(list);
		broker_err_set(err, NULL, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < pr->n_params; i++)
		param_apply(b, inst, &pr->params[i], write, list, opts, opts_size);
	snprintf(file, sizeof(file), "vac-%s.conf", inst);
	if (snprintf(path, sizeof(path), "%s/%s", b->cfg.modprobe_dir,
		     file) >= (int)sizeof(path)) {
		broker_err_set(err, NULL, "modprobe_dir: path too long");
		json_decref(list);
		return NULL;
	}
	exists = !access(path, F_OK);
	/* Only where there is something to write or to remove. */
	if (write && (opts[0] || exists)) {
		dirfd = open(b->cfg.modprobe_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0) {
			broker_err_set(err, NULL, "modprobe_dir %s: %s",
				       b->cfg.modprobe_dir, strerror(errno));
			json_decref(list);
			return NULL;
		}
		if (opts[0] && asprintf(&text, "# written by brokerd: profile %s "
					"for instance %s\noptions %s%s\n",
					profile, inst, inst, opts) < 0) {
			text = NULL;
			broker_err_set(err, NULL, "out of memory");
			json_decref(list);
			return NULL;
		}
		if (text ? broker_store_write(dirfd, file, text, err) :
		    unlink_stale(dirfd, path, file, err)) {
			json_decref(list);
			return NULL;
		}
	}
	exists = !access(path, F_OK);
	return json_pack("{s:s, s:s, s:s?, s:o}", "instance", inst,
			 "profile", profile, "modprobe_file", exists ? path : NULL,
			 "params", list);
}
