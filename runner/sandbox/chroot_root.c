/* chroot_root.c - see chroot_root.h */
#define _GNU_SOURCE
#include "sandbox/chroot_root.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"

/* Deeper than any real tree: a bound on the ".." climb. */
#define MAX_CLIMB 4096

int chroot_root_is_mount(bool *is_mount, struct error *err)
{
	struct statx stx;

	if (statx(AT_FDCWD, "/", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "statx of /");
	/* before Linux 5.8 statx cannot tell: assume a mount, as before
	 * chroots were handled (MS_SLAVE of / then fails with its errno) */
	*is_mount = !(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) ||
	            (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
	return 0;
}

/* The name of a directory in "/" (not a link): somewhere to chroot into
 * while the working directory stays above it. */
static int find_subdir(char *name, size_t size, struct error *err)
{
	DIR *dir = opendir("/");
	struct dirent *de;
	struct stat st;
	int found = -1;

	if (dir == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "reading /");
	while (found < 0 && (de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strlen(de->d_name) >= size)
			continue;
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode)) {
			strcpy(name, de->d_name);
			found = 0;
		}
	}
	closedir(dir);
	if (found < 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "leaving the chroot: / has no subdirectory to step through");
	return 0;
}

static bool same_dir(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int chroot_root_escape(struct error *err)
{
	char sub[256];
	struct stat here, up;

	if (chdir("/") < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "leaving the chroot: chdir /");
	if (find_subdir(sub, sizeof(sub), err) < 0)
		return -1;
	/* the root moves below the working directory, so ".." is no longer
	 * clamped at the old root */
	if (chroot(sub) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "leaving the chroot: chroot /%s",
		                 sub);
	for (int i = 0; i < MAX_CLIMB; i++) {
		if (stat(".", &here) < 0 || stat("..", &up) < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno,
			                 "leaving the chroot: stat ..");
		if (same_dir(&here, &up))
			break;
		if (chdir("..") < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno,
			                 "leaving the chroot: chdir ..");
	}
	if (chroot(".") < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno,
		                 "leaving the chroot: chroot to the namespace root");
	return 0;
}

/* Bind the tree at old_root onto itself and make the bind this process's
 * root; the namespace is already all slaves, so the host sees nothing. */
static int enter_bind_of(int old_root, struct error *err)
{
	int tree = open_tree(old_root, "",
	                     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
	int rc = -1;

	if (tree < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "cloning the chroot's tree");
	if (move_mount(tree, "", old_root, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
	    0)
		error_set(err, EXIT_RUNNER_ERROR, errno,
		          "binding the chroot's directory onto itself");
	else if (fchdir(tree) < 0 || chroot(".") < 0)
		error_set(err, EXIT_RUNNER_ERROR, errno, "entering the bind of the chroot");
	else
		rc = 0;
	close(tree);
	return rc;
}

int chroot_root_make_mount(struct error *err)
{
	_cleanup_close_ int old_root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int old_cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (old_root < 0 || old_cwd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno,
		                 "opening / and the working directory");
	if (chroot_root_escape(err) < 0)
		return -1;
	/* before anything is mounted: nothing may propagate to the host */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno,
		                 "making the mount namespace's root a slave");
	if (enter_bind_of(old_root, err) < 0)
		return -1;
	if (fchdir(old_cwd) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno,
		                 "returning to the working directory");
	return 0;
}
