/* bind_idmap.c - see bind_idmap.h */
#define _GNU_SOURCE
#include "sandbox/bind_idmap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/chroot_root.h"
#include "sandbox/namespaces.h"

void bind_idmap_host_ids(const struct sandbox_spec *spec, uid_t *uid, gid_t *gid)
{
	if (!spec->userns) {
		*uid = spec->uid;
		*gid = spec->gid;
	} else if (getuid() == 0) {
		/* namespaces_write_id_maps maps root's sandbox to this id */
		*uid = DEFAULT_UNPRIVILEGED_ID;
		*gid = DEFAULT_UNPRIVILEGED_ID;
	} else {
		*uid = getuid();
		*gid = getgid();
	}
}

static int write_map(pid_t pid, const char *name, unsigned inside, unsigned outside,
                     struct error *err)
{
	char text[64];

	snprintf(text, sizeof(text), "%u %u 1\n", inside, outside);
	return namespaces_write_proc_file(pid, name, text, err);
}

/* unshare(CLONE_NEWUSER) for the short-lived holder child.  The kernel
 * refuses it to a chrooted process (EPERM); the holder only keeps the
 * namespace alive, so it may leave the chroot first (chroot_root.h). */
static int new_userns(void)
{
	struct error ignored = {0};
	bool is_mount;

	if (unshare(CLONE_NEWUSER) == 0)
		return 0;
	if (errno != EPERM || chroot_root_is_mount(&is_mount, &ignored) < 0 || is_mount ||
	    chroot_root_escape(&ignored) < 0)
		return -1;
	return unshare(CLONE_NEWUSER);
}

/* A user namespace whose only mapping is on-disk owner -> host id: as an
 * idmapping of a mount, files of `owner` then appear owned by `host_uid`.
 * A short-lived child creates it; its /proc/PID/ns/user fd keeps it. */
static int idmap_userns(uid_t owner, gid_t group, uid_t host_uid, gid_t host_gid, struct error *err)
{
	int ready[2], hold[2];
	int ns_fd = -1;
	char byte;
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "idmap: creating a pipe");
	if (pipe2(hold, O_CLOEXEC) < 0) {
		int saved = errno;
		close(ready[0]);
		close(ready[1]);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "idmap: creating a pipe");
	}
	pid = fork();
	if (pid < 0) {
		error_set(err, EXIT_RUNNER_ERROR, errno, "idmap: forking");
		goto out;
	}
	if (pid == 0) {
		char go;

		/* our copies of the parent's ends would keep the pipes open */
		close(ready[0]);
		close(hold[1]);
		go = new_userns() == 0 ? 'y' : 'n';

		if (write(ready[1], &go, 1) != 1)
			_exit(1);
		/* EOF when the parent is done with our namespace */
		while (read(hold[0], &byte, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ready[1]);
	ready[1] = -1;
	close(hold[0]);
	hold[0] = -1;
	if (read(ready[0], &byte, 1) != 1 || byte != 'y') {
		error_set(err, EXIT_RUNNER_ERROR, 0, "idmap: creating a user namespace failed");
		goto reap;
	}
	if (write_map(pid, "uid_map", (unsigned)owner, (unsigned)host_uid, err) < 0 ||
	    write_map(pid, "gid_map", (unsigned)group, (unsigned)host_gid, err) < 0) {
		error_prefix(err, "idmap");
		goto reap;
	}
	{
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
		ns_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (ns_fd < 0)
			error_set(err, EXIT_RUNNER_ERROR, errno, "idmap: opening %s", path);
	}
reap:
	close(hold[1]);
	hold[1] = -1;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
out:
	for (int i = 0; i < 2; i++) {
		if (ready[i] >= 0)
			close(ready[i]);
		if (hold[i] >= 0)
			close(hold[i]);
	}
	return ns_fd;
}

/* The detached, read-only, idmapped clone of `src`; -1 with errno (and
 * err) when the kernel, filesystem or caller cannot. */
static int idmapped_clone(const char *src, const struct stat *st, uid_t host_uid, gid_t host_gid,
                          struct error *err)
{
	struct mount_attr attr = {0};
	int ns_fd, mnt_fd, saved;

	ns_fd = idmap_userns(st->st_uid, st->st_gid, host_uid, host_gid, err);
	if (ns_fd < 0)
		return -1;
	mnt_fd = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (mnt_fd < 0) {
		saved = errno;
		close(ns_fd);
		errno = saved;
		return error_set(err, EXIT_RUNNER_ERROR, saved, "cloning mount of %s", src);
	}
	attr.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
	attr.userns_fd = (uint64_t)ns_fd;
	if (mount_setattr(mnt_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
		saved = errno;
		close(mnt_fd);
		close(ns_fd);
		errno = saved;
		return error_set(err, EXIT_RUNNER_ERROR, saved, "idmapping the bind of %s", src);
	}
	close(ns_fd); /* the mount keeps its idmapping */
	return mnt_fd;
}

static bool can_read(const struct stat *st, uid_t uid, gid_t gid)
{
	mode_t need = S_ISDIR(st->st_mode) ? 5 : S_ISREG(st->st_mode) ? 4 : 0;
	mode_t bits;

	if (need == 0) /* symlinks, and nothing else is read through a bind */
		return true;
	if (st->st_uid == uid)
		bits = (st->st_mode >> 6) & 7;
	else if (st->st_gid == gid)
		bits = (st->st_mode >> 3) & 7;
	else
		bits = st->st_mode & 7;
	return (bits & need) == need;
}

char *bind_idmap_first_unreadable(const char *dir, uid_t uid, gid_t gid, struct stat *st_out)
{
	char *found = NULL;
	struct dirent *e;
	DIR *d;

	if (lstat(dir, st_out) < 0 || !can_read(st_out, uid, gid))
		return xstrdup(dir);
	if (!S_ISDIR(st_out->st_mode))
		return NULL;
	d = opendir(dir);
	if (d == NULL)
		return xstrdup(dir);
	while (found == NULL && (e = readdir(d)) != NULL) {
		char *sub;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		sub = xasprintf("%s/%s", dir, e->d_name);
		found = bind_idmap_first_unreadable(sub, uid, gid, st_out);
		free(sub);
	}
	closedir(d);
	return found;
}

/* No idmapped mount: a plain bind serves if the command's uid can read
 * every entry; otherwise the run must not start. */
static int fallback_or_refuse(const struct sandbox_spec *spec, const struct mount_spec *m,
                              const char *why, uid_t uid, gid_t gid, struct run_report *r,
                              struct error *err)
{
	struct stat st;
	char *bad = bind_idmap_first_unreadable(m->src, uid, gid, &st);

	if (bad) {
		error_set(err, EXIT_RUNNER_ERROR, 0,
		          "%s (bound at %s) is owned by %u:%u with mode %04o and the command runs "
		          "as uid %u, which cannot read it; the tree cannot be idmapped (%s). Fix: "
		          "make the tree readable (chmod -R a+rX), or keep it on a filesystem that "
		          "supports idmapped mounts (ext4, xfs, btrfs, tmpfs) and run as root",
		          bad, m->dst, (unsigned)st.st_uid, (unsigned)st.st_gid,
		          (unsigned)(st.st_mode & 07777), (unsigned)uid, why);
		free(bad);
		return -1;
	}
	if (spec->strict)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "%s: idmapped bind unavailable (--strict): %s", m->src, why);
	report_control(r, "mount.idmap", CONTROL_DEGRADED,
	               "%s: plain read-only bind (%s); every entry is readable by uid %u", m->dst,
	               why, (unsigned)uid);
	return 0;
}

static int prepare_one(const struct sandbox_spec *spec, const struct mount_spec *m, int *fd,
                       struct run_report *r, struct error *err)
{
	struct error why = {0};
	struct stat st;
	uid_t uid;
	gid_t gid;

	bind_idmap_host_ids(spec, &uid, &gid);
	if (stat(m->src, &st) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "bind source %s", m->src);
	if (st.st_uid == uid) {
		report_control(r, "mount.idmap", CONTROL_APPLIED,
		               "%s: not needed, the tree's owner %u is the command's uid", m->dst,
		               (unsigned)uid);
		return 0;
	}
	if (spec->no_idmap)
		error_set(&why, EXIT_RUNNER_ERROR, EOPNOTSUPP, "--no-idmap");
	else if (getuid() != 0)
		error_set(&why, EXIT_RUNNER_ERROR, EPERM, "a rootless runner cannot idmap");
	else if ((*fd = idmapped_clone(m->src, &st, uid, gid, &why)) >= 0) {
		report_control(r, "mount.idmap", CONTROL_APPLIED,
		               "%s: idmapped, owner %u:%u of %s appears as %u:%u", m->dst,
		               (unsigned)st.st_uid, (unsigned)st.st_gid, m->src, (unsigned)uid,
		               (unsigned)gid);
		return 0;
	}
	return fallback_or_refuse(spec, m, why.msg, uid, gid, r, err);
}

int bind_idmap_prepare(const struct sandbox_spec *spec, int *fds, struct run_report *r,
                       struct error *err)
{
	for (size_t i = 0; i < spec->n_mounts; i++)
		fds[i] = -1;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		if (spec->mounts[i].kind != MOUNT_BIND_RO_IDMAP)
			continue;
		if (prepare_one(spec, &spec->mounts[i], &fds[i], r, err) < 0) {
			bind_idmap_release(fds, spec->n_mounts);
			return error_prefix(err, "--ro-bind-idmap %s", spec->mounts[i].dst);
		}
	}
	return 0;
}

void bind_idmap_release(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}
