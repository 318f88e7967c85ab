// SPDX-License-Identifier: GPL-2.0
/*
 * vac-exec: run a command with /dev/kvm being the device of one KVM build.
 *
 *   vac-exec [OPTIONS] INSTANCE -- COMMAND [ARGS...]
 *
 * QEMU and libvirt open /dev/kvm by that name.  With several KVM builds
 * loaded side by side, each has its own device, /dev/<instance>; this
 * tool gives COMMAND a private mount namespace in which /dev/INSTANCE is
 * bind-mounted over /dev/kvm, and execs it.  Mount events do not
 * propagate from that namespace back to the host (MS_SLAVE on every mount
 * first), so the host's /dev/kvm, whatever it is, stays as it was.
 *
 * Where the host has no /dev/kvm at all there is nothing to mount over,
 * and creating one in the host's /dev would change the host; the
 * namespace then gets its own /dev: a tmpfs holding a bind mount of each
 * entry of the host's /dev (the same device nodes, /dev/pts, /dev/shm
 * and so on, so COMMAND sees the host's devices) and the mount point for
 * /dev/kvm.
 *
 * Before it changes anything it checks, and refuses with a message and a
 * status of its own (the list is in usage() and vac-exec(1)): INSTANCE
 * must be online in vac (libvac, vac_instance_get()), /dev/INSTANCE must
 * be the character device that INSTANCE's module registered (the misc
 * device of that name in /sys/class/misc), and the caller must have
 * CAP_SYS_ADMIN (and CAP_SETUID and CAP_SETGID with --user).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/capability.h>

#include "libvac.h"

#ifndef VAC_VERSION
#define VAC_VERSION "unknown"
#endif

/* Exit statuses before COMMAND runs; documented in usage() and the man page. */
enum {
	EXIT_USAGE = 2,		/* bad option, instance name, user or group */
	EXIT_NO_VAC = 3,	/* vac.ko not loaded or not answering */
	EXIT_NO_INSTANCE = 4,	/* INSTANCE not registered (unknown or offline) */
	EXIT_NO_DEVICE = 5,	/* /dev/INSTANCE missing, not INSTANCE's, or closed to USER */
	EXIT_PRIVILEGE = 6,	/* a capability the caller lacks */
	EXIT_SETUP = 7,		/* the namespace or a mount failed */
	EXIT_IDENTITY = 8,	/* switching to --user/--group failed */
	EXIT_CANNOT_EXEC = 126,	/* as env(1) and the shell */
	EXIT_NOT_FOUND = 127,
};

#define KVM_DEV "/dev/kvm"

static void usage(FILE *f)
{
	fputs("Usage: vac-exec [OPTIONS] INSTANCE -- COMMAND [ARGS...]\n"
	      "\n"
	      "Run COMMAND with /dev/kvm being /dev/INSTANCE, the device of the KVM build\n"
	      "INSTANCE registered with vac, in a private mount namespace: only COMMAND and\n"
	      "its children see the bind mount, the host's /dev/kvm stays as it is.\n"
	      "\n"
	      "Options:\n"
	      "  -u, --user USER    run COMMAND as USER (name or uid), with its primary\n"
	      "                     group and its supplementary groups, after the mount\n"
	      "  -g, --group GROUP  with --user: GROUP (name or gid) as the primary group\n"
	      "  -h, --help         show this help\n"
	      "  -V, --version      show the version\n"
	      "\n"
	      "Exit status: COMMAND's; before COMMAND runs:\n"
	      "  2    usage error: bad option, instance name, user or group\n"
	      "  3    vac.ko is not loaded or does not answer\n"
	      "  4    INSTANCE is not registered with vac (unknown, or its module not loaded)\n"
	      "  5    /dev/INSTANCE is missing, is not INSTANCE's character device, or USER\n"
	      "       cannot open it for reading and writing\n"
	      "  6    the caller lacks CAP_SYS_ADMIN (CAP_SETUID and CAP_SETGID with --user)\n"
	      "  7    the mount namespace or a mount could not be set up\n"
	      "  8    switching to USER or GROUP failed\n"
	      "  126  COMMAND cannot be executed\n"
	      "  127  COMMAND was not found\n", f);
}

static void say(const char *fmt, va_list ap)
{
	fputs("vac-exec: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static int fail(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
	return status;
}

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
	fputs("Try 'vac-exec --help'.\n", stderr);
	return EXIT_USAGE;
}

/* A decimal ID with nothing after it; -EINVAL otherwise. */
static int parse_id(const char *s, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v >= (unsigned int)-1)
		return -EINVAL;
	*out = v;
	return 0;
}

struct identity {
	const char *user;	/* as given; NULL: stay who we are */
	const char *group;
	uid_t uid;
	gid_t gid;
	bool init_groups;	/* USER has a passwd entry: its groups */
	char name[LOGIN_NAME_MAX + 1];
};

/* A failed passwd or group lookup that only means "no such entry". */
static bool not_found(int err)
{
	return !err || err == ENOENT || err == ESRCH || err == EBADF || err == EPERM;
}

/* Resolve --user and --group before anything changes; exit status or 0. */
static int resolve_identity(struct identity *id)
{
	struct passwd *pw;
	struct group *gr;
	unsigned int n;
	bool numeric;

	if (!id->user)
		return id->group ? usage_error("--group needs --user") : 0;

	numeric = parse_id(id->user, &n) == 0;
	errno = 0;
	pw = numeric ? getpwuid(n) : getpwnam(id->user);
	if (!pw && !not_found(errno))
		return fail(EXIT_USAGE, "cannot look up user %s: %s", id->user, strerror(errno));
	if (pw) {
		id->uid = pw->pw_uid;
		id->gid = pw->pw_gid;
		id->init_groups = true;
		snprintf(id->name, sizeof(id->name), "%s", pw->pw_name);
	} else if (!numeric) {
		return usage_error("no such user: %s", id->user);
	} else if (!id->group) {
		/* A bare uid has no groups of its own. */
		return usage_error("uid %s has no passwd entry: give its group with --group", id->user);
	} else {
		id->uid = n;
	}

	if (id->group) {
		numeric = parse_id(id->group, &n) == 0;
		errno = 0;
		gr = numeric ? getgrgid(n) : getgrnam(id->group);
		if (!gr && !not_found(errno))
			return fail(EXIT_USAGE, "cannot look up group %s: %s", id->group, strerror(errno));
		if (!gr && !numeric)
			return usage_error("no such group: %s", id->group);
		id->gid = gr ? gr->gr_gid : n;
	}
	return 0;
}

/* Whether the effective set has capability @cap. */
static bool have_cap(int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { 0 };

	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return data[CAP_TO_INDEX(cap)].effective & CAP_TO_MASK(cap);
}

/* INSTANCE is online in vac; exit status or 0. */
static int check_instance(const char *name)
{
	struct vac_instance_info info;
	struct vac *h = NULL;
	int ret;

	ret = vac_open(&h);
	if (ret == -ENOENT)
		return fail(EXIT_NO_VAC, "vac.ko is not loaded (no generic netlink family \"vac\")");
	if (ret < 0)
		return fail(EXIT_NO_VAC, "cannot talk to vac: %s", strerror(-ret));
	ret = vac_instance_get(h, name, &info);
	if (ret == -ENOENT && *vac_errmsg(h))
		ret = fail(EXIT_NO_INSTANCE, "%s: no such instance in vac", name);
	else if (ret < 0)
		ret = fail(EXIT_NO_VAC, "cannot read instance %s from vac: %s%s%s", name,
			   strerror(-ret), *vac_errmsg(h) ? ": " : "", vac_errmsg(h));
	else if (info.state != VAC_INSTANCE_STATE_ONLINE)
		ret = fail(EXIT_NO_INSTANCE,
			   "%s: declared in vac but not registered: its KVM module is not loaded", name);
	vac_close(h);
	return ret;
}

/* The device number the kernel gives misc device @name; -errno. */
static int misc_devt(const char *name, dev_t *out)
{
	char path[128];
	unsigned int maj, min;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/sys/class/misc/%s/dev", name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fscanf(f, "%u:%u", &maj, &min);
	fclose(f);
	if (n != 2)
		return -EIO;
	*out = makedev(maj, min);
	return 0;
}

/* /dev/INSTANCE is INSTANCE's own character device; exit status or 0. */
static int check_device(const char *name, const char *dev, dev_t *rdev)
{
	struct stat st;
	dev_t want;
	int ret;

	if (stat(dev, &st) < 0)
		return fail(EXIT_NO_DEVICE, "%s: %s%s", dev, strerror(errno),
			    errno == ENOENT ? " (the device of a loaded KVM build is /dev/<its name>)" : "");
	if (!S_ISCHR(st.st_mode))
		return fail(EXIT_NO_DEVICE, "%s is not a character device", dev);
	ret = misc_devt(name, &want);
	if (ret < 0)
		return fail(EXIT_NO_DEVICE, "%s: no misc device %s registered (/sys/class/misc/%s: %s)",
			    dev, name, name, strerror(-ret));
	if (st.st_rdev != want)
		return fail(EXIT_NO_DEVICE, "%s is device %u:%u, not %s's (%u:%u)", dev,
			    major(st.st_rdev), minor(st.st_rdev), name, major(want), minor(want));
	*rdev = want;
	return 0;
}

/*
 * The host has no /dev/kvm: mount a tmpfs over /dev in this namespace and
 * put back every entry of the host's /dev as a bind mount of itself (a
 * symbolic link as a copy), so that /dev/kvm can be created without
 * touching the host's.  Entries the host adds later to its /dev itself
 * are not seen here; those added in its subdirectories are.  -errno, and
 * the entry that failed in @what.
 */
static int private_dev(char *what, size_t len)
{
	int old, dir, new = -1, ret = 0;
	struct dirent *de;
	DIR *d;

	/* The host's /dev stays reachable through @old once the tmpfs covers it. */
	old = open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (old < 0)
		return -errno;
	dir = openat(old, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = dir < 0 ? NULL : fdopendir(dir);
	if (!d) {
		ret = -errno;
		if (dir >= 0)
			close(dir);
		goto out;
	}
	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID, "mode=0755,size=1m") < 0 ||
	    (new = open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		ret = -errno;
		goto out;
	}
	while ((errno = 0, de = readdir(d))) {
		char target[PATH_MAX];
		struct stat st;
		ssize_t n;
		int t;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(old, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			goto err;
		if (S_ISLNK(st.st_mode)) {
			n = readlinkat(old, de->d_name, target, sizeof(target) - 1);
			if (n < 0)
				goto err;
			target[n] = 0;
			if (symlinkat(target, new, de->d_name) < 0)
				goto err;
			continue;
		}
		if (S_ISDIR(st.st_mode) ? mkdirat(new, de->d_name, 0755) < 0
					: mknodat(new, de->d_name, S_IFREG | 0600, 0) < 0)
			goto err;
		t = open_tree(old, de->d_name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
			      AT_RECURSIVE | AT_SYMLINK_NOFOLLOW);
		if (t < 0)
			goto err;
		n = move_mount(t, "", new, de->d_name, MOVE_MOUNT_F_EMPTY_PATH);
		if (n < 0)
			n = -errno;
		close(t);
		if (n < 0) {
			errno = -n;
			goto err;
		}
	}
	if (errno) {
		ret = -errno;
	} else if (mknodat(new, "kvm", S_IFREG | 0600, 0) < 0 && errno != EEXIST) {
		/* EEXIST: the host made its /dev/kvm meanwhile; bound over too. */
		ret = -errno;
		snprintf(what, len, KVM_DEV);
	}
	goto out;
err:
	ret = -errno;
	snprintf(what, len, "/dev/%s", de->d_name);
out:
	if (d)
		closedir(d);
	if (new >= 0)
		close(new);
	close(old);
	return ret;
}

/* Give this process its mount namespace with @dev on /dev/kvm; exit status or 0. */
static int setup_namespace(const char *dev, dev_t rdev)
{
	char what[PATH_MAX] = "/dev";
	struct stat st;
	int ret;

	if (unshare(CLONE_NEWNS) < 0)
		return fail(errno == EPERM ? EXIT_PRIVILEGE : EXIT_SETUP,
			    "cannot create a mount namespace: %s", strerror(errno));
	/* Nothing mounted from here on propagates back to the host. */
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return fail(EXIT_SETUP, "cannot make the mounts of the new namespace slaves: %s",
			    strerror(errno));
	if (lstat(KVM_DEV, &st) < 0) {
		if (errno != ENOENT)
			return fail(EXIT_SETUP, KVM_DEV ": %s", strerror(errno));
		ret = private_dev(what, sizeof(what));
		if (ret < 0)
			return fail(EXIT_SETUP, "cannot give the namespace its own /dev for "
				    KVM_DEV ": %s: %s", what, strerror(-ret));
	}
	if (mount(dev, KVM_DEV, NULL, MS_BIND, NULL) < 0)
		return fail(errno == EPERM ? EXIT_PRIVILEGE : EXIT_SETUP,
			    "cannot bind-mount %s on " KVM_DEV ": %s", dev, strerror(errno));
	if (stat(KVM_DEV, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != rdev)
		return fail(EXIT_SETUP, KVM_DEV " is not %s after the bind mount", dev);
	return 0;
}

/*
 * Become --user/--group, which must be able to open /dev/kvm (the node's
 * owner, group and mode are the host's, e.g. from a udev rule for
 * /dev/INSTANCE): a VMM would fail later with less to go on.  Exit status
 * or 0.
 */
static int switch_identity(const struct identity *id, const char *dev)
{
	if (!id->user)
		return 0;
	if ((id->init_groups ? initgroups(id->name, id->gid) : setgroups(0, NULL)) < 0)
		return fail(EXIT_IDENTITY, "cannot set the supplementary groups: %s", strerror(errno));
	if (setresgid(id->gid, id->gid, id->gid) < 0)
		return fail(EXIT_IDENTITY, "cannot switch to group %u: %s", id->gid, strerror(errno));
	if (setresuid(id->uid, id->uid, id->uid) < 0)
		return fail(EXIT_IDENTITY, "cannot switch to user %u: %s", id->uid, strerror(errno));
	if (access(KVM_DEV, R_OK | W_OK) < 0)
		return fail(EXIT_NO_DEVICE, "user %u (group %u) cannot open %s for reading and writing: %s "
			    "(its owner, group and mode are the host's)", id->uid, id->gid, dev,
			    strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "group", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct identity id = { 0 };
	const char *name;
	char dev[sizeof("/dev/") + VAC_NAME_LEN];
	dev_t rdev = 0;
	int opt, ret;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:u:g:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'u':
			id.user = optarg;
			break;
		case 'g':
			id.group = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			puts("vac-exec " VAC_VERSION);
			return 0;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("missing INSTANCE");
	name = argv[optind++];
	if (optind >= argc || strcmp(argv[optind], "--"))
		return usage_error("expected '--' after INSTANCE, then COMMAND");
	if (++optind >= argc)
		return usage_error("missing COMMAND after '--'");
	if (!vac_name_ok(name))
		return usage_error("invalid instance name '%s': 1 to %d of [a-z0-9_]",
				   name, VAC_NAME_LEN - 1);
	ret = resolve_identity(&id);
	if (ret)
		return ret;

	ret = check_instance(name);
	if (ret)
		return ret;
	snprintf(dev, sizeof(dev), "/dev/%s", name);
	ret = check_device(name, dev, &rdev);
	if (ret)
		return ret;
	if (!have_cap(CAP_SYS_ADMIN))
		return fail(EXIT_PRIVILEGE, "needs CAP_SYS_ADMIN for a mount namespace and the bind mount of %s on "
			    KVM_DEV " (run it as root)", dev);
	if (id.user && (!have_cap(CAP_SETUID) || !have_cap(CAP_SETGID)))
		return fail(EXIT_PRIVILEGE, "--user needs CAP_SETUID and CAP_SETGID");

	ret = setup_namespace(dev, rdev);
	if (ret)
		return ret;
	ret = switch_identity(&id, dev);
	if (ret)
		return ret;
	execvp(argv[optind], argv + optind);
	return fail(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC, "%s: %s",
		    argv[optind], strerror(errno));
}
