/* path_resolve.c - see path_resolve.h */
#define _GNU_SOURCE
#include "sandbox/path_resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_SYMLINKS 40
#define OPENAT2_EAGAIN_TRIES 4

static int openat2_in_root(int root_fd, const char *path, int flags)
{
	struct open_how how = {
	    .flags = (unsigned long long)(flags | O_CLOEXEC),
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
}

/* An O_PATH fd cannot be read; reopening its /proc/self/fd link yields a real
 * open of the very same inode, without another path lookup. */
static int reopen_path_fd(int fd, int flags)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return open(proc, flags | O_CLOEXEC);
}

/* Split the next component off *p; returns its length (0 at the end). */
static size_t next_component(const char **p, char *out, size_t cap)
{
	const char *s = *p;
	size_t n = 0;

	while (*s == '/')
		s++;
	while (s[n] != '\0' && s[n] != '/')
		n++;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, s, n);
	out[n] = '\0';
	*p = s + n;
	return n;
}

static int walk_in_root(int root_fd, const char *path, int flags, int depth);

static void close_keeping_errno(int fd)
{
	int saved = errno;

	close(fd);
	errno = saved;
}

/* True when only slashes are left of the path. */
static bool at_end(const char *rest)
{
	return rest[strspn(rest, "/")] == '\0';
}

/* "..": drop the last resolved component and reopen what is left from the
 * root, so ".." can never climb above it. */
static int walk_up(int root_fd, char *resolved, int depth)
{
	char *slash = strrchr(resolved, '/');

	if (slash)
		*slash = '\0';
	else
		resolved[0] = '\0';
	if (resolved[0] == '\0')
		return fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
	return walk_in_root(root_fd, resolved, O_PATH | O_DIRECTORY, depth + 1);
}

/* One component below dir_fd, never followed; its stat in *st. */
static int open_component(int dir_fd, const char *comp, struct stat *st)
{
	int fd = openat(dir_fd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0 && fstat(fd, st) < 0) {
		close_keeping_errno(fd);
		return -1;
	}
	return fd;
}

/* Re-resolve "<dir of link>/<target>/<rest>" from the root; an absolute
 * target starts again at the root.  Consumes link_fd. */
static int walk_through_link(int root_fd, int link_fd, const char *resolved, const char *rest,
                             int flags, int depth)
{
	char target[PATH_MAX];
	char joined[PATH_MAX];
	ssize_t n = readlinkat(link_fd, "", target, sizeof(target) - 1);

	close_keeping_errno(link_fd);
	if (n < 0)
		return -1;
	target[n] = '\0';
	if (target[0] == '/')
		n = snprintf(joined, sizeof(joined), "%s%s%s", target, *rest ? "/" : "", rest);
	else
		n = snprintf(joined, sizeof(joined), "%s/%s%s%s", resolved, target,
		             *rest ? "/" : "", rest);
	if (n < 0 || (size_t)n >= sizeof(joined)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return walk_in_root(root_fd, joined, flags, depth + 1);
}

/* The walk's end: the O_PATH descriptor itself, or a real open of the same
 * inode with the caller's flags.  Consumes fd. */
static int finish_walk(int fd, bool is_dir, int flags)
{
	int final_fd;

	if (flags & O_PATH) {
		if ((flags & O_DIRECTORY) && !is_dir) {
			close(fd);
			errno = ENOTDIR;
			return -1;
		}
		return fd;
	}
	final_fd = reopen_path_fd(fd, flags);
	close_keeping_errno(fd);
	return final_fd;
}

static int append_component(char *resolved, size_t cap, const char *comp)
{
	if (strlen(resolved) + strlen(comp) + 2 >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcat(resolved, "/");
	strcat(resolved, comp);
	return 0;
}

/* The fallback walk keeps the resolved prefix as a string and holds one
 * O_PATH descriptor at a time; symlinks are resolved by hand against the
 * root and ".." by reopening the prefix from it. */
static int walk_in_root(int root_fd, const char *path, int flags, int depth)
{
	char resolved[PATH_MAX] = "";
	char comp[NAME_MAX + 1];
	const char *p = path;
	int dir_fd;

	if (depth > MAX_SYMLINKS) {
		errno = ELOOP;
		return -1;
	}
	if (strlen(path) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	dir_fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
	if (dir_fd < 0)
		return -1;
	while (next_component(&p, comp, sizeof(comp)) > 0) {
		struct stat st;
		int fd;

		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			close(dir_fd);
			dir_fd = walk_up(root_fd, resolved, depth);
			if (dir_fd < 0)
				return -1;
			continue;
		}
		fd = open_component(dir_fd, comp, &st);
		close_keeping_errno(dir_fd);
		if (fd < 0)
			return -1;
		if (S_ISLNK(st.st_mode))
			return walk_through_link(root_fd, fd, resolved, p, flags, depth);
		if (at_end(p))
			return finish_walk(fd, S_ISDIR(st.st_mode), flags);
		if (!S_ISDIR(st.st_mode)) {
			close(fd);
			errno = ENOTDIR;
			return -1;
		}
		if (append_component(resolved, sizeof(resolved), comp) < 0) {
			close_keeping_errno(fd);
			return -1;
		}
		dir_fd = fd;
	}
	/* The path named the root itself (or only "." components). */
	return finish_walk(dir_fd, true, flags);
}

int resolve_in_root(int root_fd, const char *path, int flags, bool force_walk)
{
	/* openat2(RESOLVE_IN_ROOT) answers EAGAIN when a rename or mount
	 * anywhere on the system raced with its ".." checks; the kernel asks
	 * the caller to retry.  A few tries, then the O_NOFOLLOW walk, which
	 * is just as strict and has no such race to report. */
	for (int tries = 0; !force_walk && tries < OPENAT2_EAGAIN_TRIES; tries++) {
		int fd = openat2_in_root(root_fd, path, flags);
		if (fd >= 0)
			return fd;
		if (errno == ENOSYS || errno == EPERM)
			break; /* no openat2 here: walk */
		if (errno != EAGAIN)
			return -1;
	}
	return walk_in_root(root_fd, path, flags, 0);
}

static int create_leaf(int parent_fd, const char *name, bool leaf_is_dir)
{
	if (leaf_is_dir)
		return mkdirat(parent_fd, name, 0755);
	int fd =
	    openat(parent_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

int mkpath_in_root(int root_fd, const char *path, bool leaf_is_dir, bool force_walk,
                   struct error *err)
{
	char prefix[PATH_MAX] = "";
	char comp[NAME_MAX + 1];
	const char *p = path;

	if (strlen(path) >= sizeof(prefix))
		return error_set(err, EXIT_RUNNER_ERROR, ENAMETOOLONG, "mount target %s", path);
	while (next_component(&p, comp, sizeof(comp)) > 0) {
		const char *q = p;
		bool last;
		int fd;

		while (*q == '/')
			q++;
		last = (*q == '\0');
		strcat(prefix, "/");
		strcat(prefix, comp);
		fd = resolve_in_root(root_fd, prefix, O_PATH, force_walk);
		if (fd >= 0) {
			close(fd);
			continue;
		}
		if (errno != ENOENT)
			return error_set(err, EXIT_RUNNER_ERROR, errno,
			                 "resolving mount target %s inside the sandbox", prefix);
		{
			char parent[PATH_MAX];
			char *slash;
			int parent_fd;

			strcpy(parent, prefix);
			slash = strrchr(parent, '/');
			*slash = '\0';
			parent_fd = resolve_in_root(root_fd, parent[0] ? parent : "/",
			                            O_PATH | O_DIRECTORY, force_walk);
			if (parent_fd < 0)
				return error_set(err, EXIT_RUNNER_ERROR, errno,
				                 "resolving %s inside the sandbox",
				                 parent[0] ? parent : "/");
			if (create_leaf(parent_fd, comp, last ? leaf_is_dir : true) < 0 &&
			    errno != EEXIST) {
				int saved = errno;
				close(parent_fd);
				return error_set(err, EXIT_RUNNER_ERROR, saved,
				                 "creating mount point %s inside the sandbox",
				                 prefix);
			}
			close(parent_fd);
		}
	}
	{
		int fd = resolve_in_root(root_fd, path, O_PATH, force_walk);
		if (fd < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno,
			                 "resolving mount target %s inside the sandbox", path);
		return fd;
	}
}
