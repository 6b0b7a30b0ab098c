/* mounts.c - see mounts.h */
#define _GNU_SOURCE
#include "sandbox/mounts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "sandbox/chroot_root.h"
#include "sandbox/entropy.h"
#include "sandbox/mount_plan.h"
#include "sandbox/path_resolve.h"

/* The staging point for the new root inside our private mount namespace;
 * the host's own /tmp is untouched (we are in a slave copy). */
#define STAGING_DIR "/tmp"

/* The root is assembled in two phases.  Planning clones every host source
 * (open_tree) and creates every new filesystem while the host's tree is
 * still visible; only then is the new root attached at STAGING_DIR, which
 * may shadow host paths, and the plan executed into it. */
enum op_kind {
	OP_MOUNT, /* attach a detached mount */
	OP_SYMLINK,
	OP_PROC, /* fresh /proc, then its hardening */
};

struct op {
	enum op_kind kind;
	char *dst;
	int mnt_fd;  /* OP_MOUNT */
	bool is_dir; /* OP_MOUNT */
	char *data;  /* OP_SYMLINK target */
};

struct rootfs {
	int root_mnt; /* the new root's tmpfs, detached until the plan is done */
	int root_fd;  /* O_PATH of the new root once attached */
	bool force_walk;
	uint64_t tmpfs_size;
	struct op *ops;
	size_t n_ops;
};

static struct op *plan_push(struct rootfs *fs, enum op_kind kind, const char *dst)
{
	struct op *op;

	fs->ops = xrealloc(fs->ops, (fs->n_ops + 1) * sizeof(*fs->ops));
	op = &fs->ops[fs->n_ops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->dst = xstrdup(dst);
	op->mnt_fd = -1;
	return op;
}

static void plan_free(struct rootfs *fs)
{
	for (size_t i = 0; i < fs->n_ops; i++) {
		if (fs->ops[i].mnt_fd >= 0)
			close(fs->ops[i].mnt_fd);
		free(fs->ops[i].dst);
		free(fs->ops[i].data);
	}
	free(fs->ops);
	fs->ops = NULL;
	fs->n_ops = 0;
}

static int pivot_root_syscall(const char *new_root, const char *put_old)
{
	return (int)syscall(SYS_pivot_root, new_root, put_old);
}

/* A detached, recursive clone of a host path, with attributes applied to
 * the whole clone before it is attached anywhere. */
static int clone_tree(const char *src, bool read_only, bool device, struct error *err)
{
	struct mount_attr attr = {0};
	int fd = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);

	if (fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "cloning mount of %s", src);
	attr.attr_set = MOUNT_ATTR_NOSUID | (device ? 0 : MOUNT_ATTR_NODEV) |
	                (read_only ? MOUNT_ATTR_RDONLY : 0);
	if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
		int saved = errno;
		close(fd);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "setting %s on the bind of %s",
		                 read_only ? "nosuid,nodev,ro" : "nosuid,nodev", src);
	}
	return fd;
}

/* A new tmpfs as a detached mount with the given MOUNT_ATTR_* flags. */
static int new_tmpfs_attrs(uint64_t size, const char *mode, unsigned attrs, struct error *err)
{
	char size_text[32];
	int fs_fd = fsopen("tmpfs", FSOPEN_CLOEXEC);
	int mnt_fd;

	if (fs_fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "creating a tmpfs");
	snprintf(size_text, sizeof(size_text), "%llu", (unsigned long long)size);
	if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "size", size_text, 0) < 0 ||
	    fsconfig(fs_fd, FSCONFIG_SET_STRING, "mode", mode, 0) < 0 ||
	    fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		int saved = errno;
		close(fs_fd);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "configuring a tmpfs (size %s)",
		                 size_text);
	}
	mnt_fd = fsmount(fs_fd, FSMOUNT_CLOEXEC, attrs);
	close(fs_fd);
	if (mnt_fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "mounting a tmpfs");
	return mnt_fd;
}

static int new_tmpfs(uint64_t size, const char *mode, struct error *err)
{
	return new_tmpfs_attrs(size, mode, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, err);
}

/* Attach the detached mount `mnt_fd` at `dst` inside the new root.
 * Consumes mnt_fd. */
static int attach_at(struct rootfs *fs, int mnt_fd, const char *dst, bool is_dir, struct error *err)
{
	int target = mkpath_in_root(fs->root_fd, dst, is_dir, fs->force_walk, err);
	int rc = 0;

	if (target < 0) {
		close(mnt_fd);
		return -1;
	}
	if (move_mount(mnt_fd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
	    0)
		rc = error_set(err, EXIT_RUNNER_ERROR, errno, "attaching mount at %s", dst);
	close(target);
	close(mnt_fd);
	return rc;
}

static int plan_mount(struct rootfs *fs, int mnt_fd, const char *dst, bool is_dir)
{
	struct op *op = plan_push(fs, OP_MOUNT, dst);

	op->mnt_fd = mnt_fd;
	op->is_dir = is_dir;
	return 0;
}

enum bind_flags {
	BIND_RW = 0,
	BIND_RO = 1,
	BIND_DEVICE = 2, /* a checked device node: keep it usable (no nodev) */
};

static int bind_into(struct rootfs *fs, const char *src, const char *dst, int flags,
                     struct error *err)
{
	struct stat st;
	int mnt_fd;

	if (stat(src, &st) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "bind source %s", src);
	mnt_fd = clone_tree(src, flags & BIND_RO, flags & BIND_DEVICE, err);
	if (mnt_fd < 0)
		return -1;
	return plan_mount(fs, mnt_fd, dst, S_ISDIR(st.st_mode));
}

static int tmpfs_into(struct rootfs *fs, const char *dst, uint64_t size, const char *mode,
                      struct error *err)
{
	int mnt_fd = new_tmpfs(size, mode, err);

	if (mnt_fd < 0)
		return -1;
	return plan_mount(fs, mnt_fd, dst, true);
}

/* A new file in a directory of the fresh root tmpfs, before anything
 * untrusted is attached there: O_EXCL|O_NOFOLLOW, no path resolution. */
static int write_new_file(int dir_fd, const char *dir, const char *name, const char *data,
                          size_t len, struct error *err)
{
	int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

	if (fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "creating %s/%s in the sandbox",
		                 dir, name);
	if (write_all(fd, data, len) < 0) {
		int saved = errno;
		close(fd);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "writing %s/%s in the sandbox", dir,
		                 name);
	}
	close(fd);
	return 0;
}

static void plan_symlink(struct rootfs *fs, const char *target, const char *name)
{
	struct op *op = plan_push(fs, OP_SYMLINK, name);

	op->data = xstrdup(target);
}

static int symlink_in_root(struct rootfs *fs, const char *target, const char *name,
                           struct error *err)
{
	if (symlinkat(target, fs->root_fd, name) < 0 && errno != EEXIST)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "creating symlink /%s -> %s", name,
		                 target);
	return 0;
}

/* /bin, /lib, /lib64, /sbin as they are on the host: links into /usr on
 * merged-/usr hosts (Debian 12), directories otherwise; absent ones are
 * left out. */
static int list_host_top(struct root_listing *top, struct error *err)
{
	for (size_t i = 0; i < mount_plan_n_host_top; i++) {
		const char *name = mount_plan_host_top[i];
		char host_path[PATH_MAX];
		char target[PATH_MAX];
		struct stat st;
		ssize_t n;

		snprintf(host_path, sizeof(host_path), "/%s", name);
		if (lstat(host_path, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			n = readlink(host_path, target, sizeof(target) - 1);
			if (n < 0)
				return error_set(err, EXIT_RUNNER_ERROR, errno, "reading link %s",
				                 host_path);
			target[n] = '\0';
			root_listing_add(top, name, ROOT_ENTRY_LINK, target);
		} else if (S_ISDIR(st.st_mode)) {
			root_listing_add(top, name, ROOT_ENTRY_DIR, NULL);
		}
	}
	top->has_alternatives = access("/etc/alternatives", F_OK) == 0;
	return 0;
}

static char *passwd_text(const struct sandbox_spec *spec)
{
	const char *base = "root:x:0:0:root:/root:/bin/sh\n"
	                   "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";

	if (spec->uid == 0 || spec->uid == DEFAULT_UNPRIVILEGED_ID)
		return xstrdup(base);
	return xasprintf("%ssandbox:x:%u:%u:sandbox:/tmp:/bin/sh\n", base, spec->uid, spec->gid);
}

static char *group_text(const struct sandbox_spec *spec)
{
	const char *base = "root:x:0:\nnogroup:x:65534:\n";

	if (spec->gid == 0 || spec->gid == DEFAULT_UNPRIVILEGED_ID)
		return xstrdup(base);
	return xasprintf("%ssandbox:x:%u:\n", base, spec->gid);
}

/* A minimal /etc: only what libc needs to name users and resolve
 * localhost; nothing of the host's configuration (no resolv.conf).  Written
 * straight into the still-detached root tmpfs. */
static int generated_etc(struct rootfs *fs, const struct sandbox_spec *spec, struct error *err)
{
	static const char nss[] = "passwd: files\ngroup: files\nhosts: files\n";
	_cleanup_free_ char *passwd = passwd_text(spec);
	_cleanup_free_ char *group = group_text(spec);
	_cleanup_free_ char *hosts =
	    xasprintf("127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost\n", spec->hostname);
	_cleanup_free_ char *cache = NULL;
	size_t cache_len = 0;
	struct error ignored;
	_cleanup_close_ int etc = -1;

	if (mkdirat(fs->root_mnt, "etc", 0755) < 0 ||
	    (etc = openat(fs->root_mnt, "etc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "creating /etc in the sandbox");
	if (write_new_file(etc, "/etc", "passwd", passwd, strlen(passwd), err) < 0 ||
	    write_new_file(etc, "/etc", "group", group, strlen(group), err) < 0 ||
	    write_new_file(etc, "/etc", "hosts", hosts, strlen(hosts), err) < 0 ||
	    write_new_file(etc, "/etc", "nsswitch.conf", nss, sizeof(nss) - 1, err) < 0)
		return -1;
	/* ld.so.cache only speeds up library lookup; a host without one is fine. */
	if (read_file("/etc/ld.so.cache", &cache, &cache_len, &ignored) == 0 &&
	    write_new_file(etc, "/etc", "ld.so.cache", cache, cache_len, err) < 0)
		return -1;
	return 0;
}

static enum root_entry_type entry_type(mode_t mode)
{
	if (S_ISLNK(mode))
		return ROOT_ENTRY_LINK;
	if (S_ISDIR(mode))
		return ROOT_ENTRY_DIR;
	return S_ISREG(mode) ? ROOT_ENTRY_FILE : ROOT_ENTRY_OTHER;
}

/* The top level of a rootfs directory, in the directory's order. */
static int list_image_top(const char *image_dir, struct root_listing *top, struct error *err)
{
	DIR *dir = opendir(image_dir);
	struct dirent *de;
	int rc = 0;

	if (dir == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening image %s", image_dir);
	while (rc == 0 && (errno = 0, de = readdir(dir)) != NULL) {
		char src[PATH_MAX];
		char target[PATH_MAX];
		struct stat st;
		ssize_t n = 0;

		if (de->d_name[0] == '.' &&
		    (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		snprintf(src, sizeof(src), "%s/%s", image_dir, de->d_name);
		if (lstat(src, &st) < 0) {
			rc = error_set(err, EXIT_RUNNER_ERROR, errno, "image entry %s", src);
		} else if (S_ISLNK(st.st_mode) &&
		           (n = readlink(src, target, sizeof(target) - 1)) < 0) {
			rc = error_set(err, EXIT_RUNNER_ERROR, errno, "reading link %s", src);
		} else {
			target[S_ISLNK(st.st_mode) ? n : 0] = '\0';
			root_listing_add(top, de->d_name, entry_type(st.st_mode),
			                 S_ISLNK(st.st_mode) ? target : NULL);
		}
	}
	if (rc == 0 && errno != 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, errno, "reading image %s", image_dir);
	closedir(dir);
	return rc;
}

struct dev_node {
	const char *name;
	unsigned major, minor;
	bool entropy; /* replaced by the stream file under deterministic entropy */
};

static const struct dev_node dev_nodes[] = {
    {"null", 1, 3, false},  {"zero", 1, 5, false},   {"full", 1, 7, false},
    {"random", 1, 8, true}, {"urandom", 1, 9, true}, {"tty", 5, 0, false},
};

static bool node_wanted(const struct dev_node *n, const char *entropy_seed)
{
	return !(n->entropy && entropy_seed != NULL);
}

/* As real root the nodes are created in the detached /dev tmpfs: no host
 * lookup and six fewer mounts to set up and tear down.  1: not permitted
 * (a user namespace), the caller binds the host's nodes instead. */
static int make_dev_nodes(int dev_mnt, const char *entropy_seed, struct error *err)
{
	for (size_t i = 0; i < sizeof(dev_nodes) / sizeof(dev_nodes[0]); i++) {
		const struct dev_node *n = &dev_nodes[i];

		if (!node_wanted(n, entropy_seed))
			continue;
		if (mknodat(dev_mnt, n->name, S_IFCHR | 0666, makedev(n->major, n->minor)) < 0) {
			if (errno == EPERM && i == 0)
				return 1;
			return error_set(err, EXIT_RUNNER_ERROR, errno, "creating /dev/%s",
			                 n->name);
		}
		/* whatever the umask */
		if (fchmodat(dev_mnt, n->name, 0666, 0) < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno, "chmod /dev/%s", n->name);
	}
	return 0;
}

/* In a user namespace the nodes are bound from the host after checking they
 * are the character devices they claim to be; a tampered /dev on the host
 * (or a symlink) is refused rather than exposed. */
static int bind_dev_nodes(struct rootfs *fs, const char *entropy_seed, struct error *err)
{
	for (size_t i = 0; i < sizeof(dev_nodes) / sizeof(dev_nodes[0]); i++) {
		const struct dev_node *n = &dev_nodes[i];
		char path[32];
		struct stat st;

		if (!node_wanted(n, entropy_seed))
			continue;
		snprintf(path, sizeof(path), "/dev/%s", n->name);
		if (lstat(path, &st) < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno, "host device %s", path);
		if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != n->major ||
		    minor(st.st_rdev) != n->minor)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "host %s is not the character device %u:%u", path,
			                 n->major, n->minor);
		if (bind_into(fs, path, path, BIND_DEVICE, err) < 0)
			return -1;
	}
	return 0;
}

/* /dev/urandom and /dev/random as a keyed stream (a regular file) instead
 * of the host's devices; the tmpfs grows by the stream's size. */
static int dev_setup(struct rootfs *fs, const char *entropy_seed, struct error *err)
{
	static const char *const links[][2] = {
	    {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
	    {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
	    {"pts/ptmx", "ptmx"},
	};
	int pts_fs, pts_mnt, rc;
	/* Not nodev: the nodes below must work.  The command cannot add
	 * any (no CAP_MKNOD). */
	uint64_t size = 64 * 1024 + (entropy_seed ? ENTROPY_STREAM_BYTES : 0);
	int dev_mnt = new_tmpfs_attrs(size, "0755", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err);

	if (dev_mnt < 0)
		return -1;
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		if (symlinkat(links[i][0], dev_mnt, links[i][1]) < 0) {
			int saved = errno;
			close(dev_mnt);
			return error_set(err, EXIT_RUNNER_ERROR, saved, "creating /dev/%s",
			                 links[i][1]);
		}
	}
	rc = make_dev_nodes(dev_mnt, entropy_seed, err);
	if (rc >= 0 && entropy_seed && entropy_install(dev_mnt, entropy_seed, err) < 0)
		rc = -1;
	if (rc < 0) {
		close(dev_mnt);
		return -1;
	}
	plan_mount(fs, dev_mnt, "/dev", true);
	if (rc == 1 && bind_dev_nodes(fs, entropy_seed, err) < 0)
		return -1;
	if (tmpfs_into(fs, "/dev/shm", fs->tmpfs_size, "1777", err) < 0)
		return -1;
	pts_fs = fsopen("devpts", FSOPEN_CLOEXEC);
	if (pts_fs < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "creating devpts");
	if (fsconfig(pts_fs, FSCONFIG_SET_FLAG, "newinstance", NULL, 0) < 0 ||
	    fsconfig(pts_fs, FSCONFIG_SET_STRING, "ptmxmode", "0666", 0) < 0 ||
	    fsconfig(pts_fs, FSCONFIG_SET_STRING, "mode", "0620", 0) < 0 ||
	    fsconfig(pts_fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		int saved = errno;
		close(pts_fs);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "configuring devpts");
	}
	pts_mnt = fsmount(pts_fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
	close(pts_fs);
	if (pts_mnt < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "mounting devpts");
	return plan_mount(fs, pts_mnt, "/dev/pts", true);
}

/* Runs after /dev is attached: the sandbox's own /dev/null is cloned, so no
 * host path is looked up once the new root shadows STAGING_DIR. */
static int mask_with_dev_null(struct rootfs *fs, int null_fd, const char *path, struct error *err)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC};
	int clone_fd = open_tree(null_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);

	if (clone_fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "cloning /dev/null to mask %s",
		                 path);
	if (mount_setattr(clone_fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
		int saved = errno;
		close(clone_fd);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "masking %s", path);
	}
	return attach_at(fs, clone_fd, path, false, err);
}

/* Whether `path` resolves inside the new root (some /proc entries depend on
 * the kernel's configuration). */
static bool exists_in_root(struct rootfs *fs, const char *path, int flags)
{
	int fd = resolve_in_root(fs->root_fd, path, flags, fs->force_walk);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* A detached clone of a mount already attached in the new root; the clone
 * keeps its flags (read-only). */
static int clone_in_root(struct rootfs *fs, const char *path, struct error *err)
{
	int src = resolve_in_root(fs->root_fd, path, O_PATH | O_DIRECTORY, fs->force_walk);
	int fd;

	if (src < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "finding %s", path);
	fd = open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	close(src);
	if (fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "cloning %s", path);
	return fd;
}

/* An empty read-only tmpfs over each directory; one filesystem, attached
 * once and cloned for the others. */
static int mask_dirs(struct rootfs *fs, struct error *err)
{
	static const char *const masked_dirs[] = {"/proc/acpi", "/proc/scsi", "/proc/driver"};
	const char *first = NULL;

	for (size_t i = 0; i < sizeof(masked_dirs) / sizeof(masked_dirs[0]); i++) {
		int mnt_fd;

		if (!exists_in_root(fs, masked_dirs[i], O_PATH | O_DIRECTORY))
			continue;
		mnt_fd = first ? clone_in_root(fs, first, err)
		               : new_tmpfs_attrs(
		                     4096, "0555",
		                     MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_RDONLY, err);
		if (mnt_fd < 0)
			return -1;
		if (attach_at(fs, mnt_fd, masked_dirs[i], true, err) < 0)
			return -1;
		first = first ? first : masked_dirs[i];
	}
	return 0;
}

/* Read-only or masked parts of /proc that would let a process reach the
 * host kernel's knobs or memory. */
static int proc_harden(struct rootfs *fs, struct error *err)
{
	static const char *const read_only[] = {"/proc/sys", "/proc/sysrq-trigger", "/proc/irq",
	                                        "/proc/bus", "/proc/fs"};
	static const char *const masked_files[] = {"/proc/kcore",         "/proc/kallsyms",
	                                           "/proc/timer_list",    "/proc/keys",
	                                           "/proc/latency_stats", "/proc/sched_debug"};
	int null_fd;

	for (size_t i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++) {
		struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
		                                      MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
		int src = resolve_in_root(fs->root_fd, read_only[i], O_PATH, fs->force_walk);
		int clone_fd;

		if (src < 0)
			continue;
		clone_fd = open_tree(
		    src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
		close(src);
		if (clone_fd < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno, "cloning %s", read_only[i]);
		if (mount_setattr(clone_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) <
		    0) {
			int saved = errno;
			close(clone_fd);
			return error_set(err, EXIT_RUNNER_ERROR, saved, "making %s read-only",
			                 read_only[i]);
		}
		if (attach_at(fs, clone_fd, read_only[i], true, err) < 0)
			return -1;
	}
	null_fd = resolve_in_root(fs->root_fd, "/dev/null", O_PATH, fs->force_walk);
	if (null_fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "finding /dev/null to mask /proc");
	for (size_t i = 0; i < sizeof(masked_files) / sizeof(masked_files[0]); i++) {
		if (!exists_in_root(fs, masked_files[i], O_PATH))
			continue;
		if (mask_with_dev_null(fs, null_fd, masked_files[i], err) < 0) {
			close(null_fd);
			return -1;
		}
	}
	close(null_fd);
	return mask_dirs(fs, err);
}

static int proc_setup(struct rootfs *fs, struct error *err)
{
	int fs_fd = fsopen("proc", FSOPEN_CLOEXEC);
	int mnt_fd;

	if (fs_fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "creating /proc");
	if (fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		int saved = errno;
		close(fs_fd);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "configuring /proc");
	}
	mnt_fd = fsmount(fs_fd, FSMOUNT_CLOEXEC,
	                 MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	close(fs_fd);
	if (mnt_fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "mounting /proc");
	if (attach_at(fs, mnt_fd, "/proc", true, err) < 0)
		return -1;
	return proc_harden(fs, err);
}

/* pivot_root(".", ".") stacks the old root on top of the new one; the
 * lazy unmount then detaches it, so nothing of the host stays reachable. */
static int pivot_into(struct rootfs *fs, struct error *err)
{
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
	int dev = resolve_in_root(fs->root_fd, "/dev", O_PATH | O_DIRECTORY, fs->force_walk);

	/* /dev itself read-only (its nodes stay usable, /dev/shm and
	 * /dev/pts are mounts of their own): in a user namespace the tmpfs
	 * belongs to the command's uid, which must not add nodes or files. */
	if (dev < 0 || mount_setattr(dev, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0) {
		int saved = errno;
		if (dev >= 0)
			close(dev);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "making /dev read-only");
	}
	close(dev);

	if (mount_setattr(fs->root_fd, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "making the new root read-only");
	if (fchdir(fs->root_fd) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "entering the new root");
	if (pivot_root_syscall(".", ".") < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "pivot_root into the new root");
	if (umount2(".", MNT_DETACH) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "detaching the old root");
	if (chdir("/") < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "chdir / in the new root");
	return 0;
}

static int execute_op(struct rootfs *fs, struct op *op, struct error *err)
{
	int fd;

	switch (op->kind) {
	case OP_MOUNT:
		fd = op->mnt_fd;
		op->mnt_fd = -1;
		return attach_at(fs, fd, op->dst, op->is_dir, err);
	case OP_SYMLINK: return symlink_in_root(fs, op->data, op->dst, err);
	case OP_PROC: return proc_setup(fs, err);
	}
	return error_set(err, EXIT_RUNNER_ERROR, 0, "unknown mount step");
}

/* The plan's steps as detached mounts and operations (struct op), made
 * while the host's tree is still visible. */
static int realise_step(struct rootfs *fs, const struct sandbox_spec *spec,
                        const struct mount_step *s, const int *prepared, struct error *err)
{
	switch (s->kind) {
	case STEP_BIND: return bind_into(fs, s->src, s->dst, s->read_only ? BIND_RO : BIND_RW, err);
	case STEP_PREPARED: return plan_mount(fs, prepared[s->index], s->dst, true);
	case STEP_TMPFS: return tmpfs_into(fs, s->dst, s->size, s->mode, err);
	case STEP_SYMLINK: plan_symlink(fs, s->src, s->dst); return 0;
	case STEP_ETC: return generated_etc(fs, spec, err);
	case STEP_DEV: return dev_setup(fs, spec->entropy_seed, err);
	case STEP_PROC: plan_push(fs, OP_PROC, s->dst); return 0;
	}
	return error_set(err, EXIT_RUNNER_ERROR, 0, "unknown mount step");
}

static int plan_rootfs(struct rootfs *fs, const struct sandbox_spec *spec, const char *image_dir,
                       const int *prepared, struct error *err)
{
	struct root_listing top = {0};
	struct mount_plan plan = {0};
	int rc = spec->image_kind == IMAGE_HOST ? list_host_top(&top, err)
	                                        : list_image_top(image_dir, &top, err);

	if (rc == 0)
		rc = mount_plan_build(spec, image_dir, &top, prepared, &plan, err);
	if (rc == 0) {
		fs->root_mnt = new_tmpfs(16 * 1024 * 1024, "0755", err);
		rc = fs->root_mnt < 0 ? -1 : 0;
	}
	for (size_t i = 0; rc == 0 && i < plan.n; i++) {
		const struct mount_step *s = &plan.steps[i];

		rc = realise_step(fs, spec, s, prepared, err);
		if (rc < 0 && s->spec_mount >= 0)
			error_prefix(err, "%s %s",
			             mount_option_name(spec->mounts[s->spec_mount].kind), s->dst);
	}
	mount_plan_free(&plan);
	root_listing_free(&top);
	return rc;
}

static int attach_staging_root(struct rootfs *fs, struct error *err)
{
	int rc = move_mount(fs->root_mnt, "", AT_FDCWD, STAGING_DIR, MOVE_MOUNT_F_EMPTY_PATH);
	int saved = errno;

	close(fs->root_mnt);
	fs->root_mnt = -1;
	if (rc < 0)
		return error_set(err, EXIT_RUNNER_ERROR, saved, "attaching the new root at %s",
		                 STAGING_DIR);
	fs->root_fd = open(STAGING_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs->root_fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening the new root");
	return 0;
}

static void report_rootfs(const struct sandbox_spec *spec, struct run_report *r)
{
	report_control(r, "mount.rootfs", CONTROL_APPLIED,
	               "%s image, pivot_root, old root detached",
	               spec->image_kind == IMAGE_HOST  ? "host"
	               : spec->image_kind == IMAGE_DIR ? "directory"
	                                               : "tarball");
	report_control(r, "mount.proc", CONTROL_APPLIED,
	               "fresh /proc; /proc/sys and friends read-only, kcore and friends masked");
	report_control(
	    r, "mount.resolve", spec->force_path_walk ? CONTROL_DEGRADED : CONTROL_APPLIED, "%s",
	    spec->force_path_walk ? "openat2 skipped: O_NOFOLLOW walk" : "openat2 RESOLVE_IN_ROOT");
}

int rootfs_setup(const struct sandbox_spec *spec, const char *image_dir, const int *prepared,
                 struct run_report *r, struct error *err)
{
	struct rootfs fs = {.root_mnt = -1,
	                    .root_fd = -1,
	                    .force_walk = spec->force_path_walk,
	                    .tmpfs_size = spec->tmpfs_size ? spec->tmpfs_size : DEFAULT_TMPFS_SIZE};
	bool root_is_mount;
	int rc;

	if (chroot_root_is_mount(&root_is_mount, err) < 0)
		return -1;

	/* In a chroot of a directory "/" is no mount root: neither MS_SLAVE
	 * nor pivot_root would take it (chroot_root.h). */
	if (!root_is_mount && chroot_root_make_mount(err) < 0)
		return error_prefix(err, "running in a chroot whose / is not a mount point");
	/* Nothing we mount may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "making / a slave mount");
	rc = plan_rootfs(&fs, spec, image_dir, prepared, err);
	if (rc == 0)
		rc = attach_staging_root(&fs, err);
	for (size_t i = 0; rc == 0 && i < fs.n_ops; i++)
		rc = execute_op(&fs, &fs.ops[i], err);
	if (rc == 0)
		rc = pivot_into(&fs, err);
	plan_free(&fs);
	if (fs.root_mnt >= 0)
		close(fs.root_mnt);
	if (fs.root_fd >= 0)
		close(fs.root_fd);
	if (rc == 0)
		report_rootfs(spec, r);
	return rc;
}
