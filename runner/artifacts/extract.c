/* extract.c - safe extraction of a tarball, hostile entries refused
 * (archive.h), and `unpack`'s directory handling */
#define _GNU_SOURCE
#include "artifacts/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <search.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/libarchive_lazy.h"
#include "artifacts/tar_reader.h"

void extract_limits_default(struct extract_limits *l)
{
	l->max_total_bytes = 16ULL << 30;
	l->max_entries = 1000000;
	l->max_ratio = 1000;
	l->max_entry_bytes = 8ULL << 30;
	l->rootfs_image = false;
}

/* "./a//b/." -> "a/b".  Refuses absolute paths and ".." components;
 * `what` says which path of the entry this is in the message. */
static int normalise_path(struct extractor *x, const char *entry, const char *what,
                          const char *path, char **out, unsigned *depth)
{
	char *res = xcalloc(1, strlen(path) + 1), *w = res;
	const char *p = path;
	unsigned n = 0;

	if (path[0] == '/') {
		free(res);
		return refuse(x, entry, "absolute %s '%s'", what, path);
	}
	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t len = (size_t)(end - p);

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			free(res);
			return refuse(x, entry, "'..' component in %s '%s'", what, path);
		}
		if (len > 0 && !(len == 1 && p[0] == '.')) {
			if (w != res)
				*w++ = '/';
			memcpy(w, p, len);
			w += len;
			n++;
		}
		p = *end ? end + 1 : end;
	}
	*w = '\0';
	if (n > EXTRACT_MAX_DEPTH || strlen(res) >= PATH_MAX) {
		free(res);
		return refuse(x, entry, "%s deeper than %d components or longer than %d bytes",
		              what, EXTRACT_MAX_DEPTH, PATH_MAX - 1);
	}
	*out = res;
	if (depth)
		*depth = n;
	return 0;
}

/* Takes ownership of path. */
static void record_dir(struct extractor *x, char *path, mode_t mode, struct archive_entry *e)
{
	struct dir_fixup *d;

	if (x->n_dirs == x->cap_dirs) {
		x->cap_dirs = x->cap_dirs ? x->cap_dirs * 2 : 64;
		x->dirs = xrealloc(x->dirs, x->cap_dirs * sizeof(*x->dirs));
	}
	d = &x->dirs[x->n_dirs];
	memset(d, 0, sizeof(*d));
	d->path = path;
	d->mode = mode;
	d->seq = x->n_dirs++;
	if (e != NULL) {
		d->has_mtime = true;
		d->mtime = archive_entry_mtime(e);
		d->mtime_nsec = archive_entry_mtime_nsec(e);
	}
}

/* Open the component of `dir` that ends at `end` below `cur`, never
 * following a symlink; create it (0755 once done) when missing and
 * `create`.  -1 + err. */
static int step_into(struct extractor *x, const char *entry, int cur, const char *dir,
                     const char *comp, const char *end, bool create)
{
	int upto = (int)(end - dir);
	char *name = xasprintf("%.*s", (int)(end - comp), comp);
	int fd, saved;

	fd = openat(cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		int made = mkdirat(cur, name, 0700);

		if (made == 0)
			record_dir(x, xasprintf("%.*s", upto, dir), 0755, NULL);
		if (made == 0 || errno == EEXIST)
			fd = openat(cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	saved = errno;
	free(name);
	if (fd >= 0)
		return fd;
	if (saved == ELOOP || saved == ENOTDIR)
		return refuse(x, entry,
		              "'%.*s' is a symlink or not a directory: "
		              "not writing through it",
		              upto, dir);
	return tar_refuse(x, entry, saved, "opening directory '%.*s'", upto, dir);
}

/* Open directory `dir` (normalised, "" = root) below the root one
 * component at a time, so a symlink or non-directory anywhere on the way
 * is refused, never followed.  Returns an fd the caller closes. */
static int walk_dir(struct extractor *x, const char *entry, const char *dir, bool create)
{
	int cur = fcntl(x->root_fd, F_DUPFD_CLOEXEC, 0);
	const char *p = dir;

	if (cur < 0)
		return refuse_errno(x, entry, "duplicating the root fd");
	while (*p) {
		const char *end = strchrnul(p, '/');
		int next = step_into(x, entry, cur, dir, p, end, create);

		close(cur);
		if (next < 0)
			return -1;
		cur = next;
		p = *end ? end + 1 : end;
	}
	return cur;
}

/* Borrowed fd of the parent directory; consecutive entries mostly share it. */
static int parent_fd(struct extractor *x, const char *entry, const char *dir)
{
	int fd;

	if (x->cache_path != NULL && strcmp(x->cache_path, dir) == 0)
		return x->cache_fd;
	fd = walk_dir(x, entry, dir, true);
	if (fd < 0)
		return -1;
	if (x->cache_path != NULL)
		close(x->cache_fd);
	free(x->cache_path);
	x->cache_path = xstrdup(dir);
	x->cache_fd = fd;
	return fd;
}

/* "a/b/c" -> "a/b" (allocated) and "c" (inside path); "c" -> "" and "c". */
static char *split_path(const char *path, const char **leaf)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		*leaf = path;
		return xstrdup("");
	}
	*leaf = slash + 1;
	return xasprintf("%.*s", (int)(slash - path), path);
}

static int write_contents(struct extractor *x, const char *entry, int fd)
{
	uint64_t pos = 0;

	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(x->a, &buf, &len, &off);
		const char *p = buf;

		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK)
			return refuse(x, entry, "%s", tar_la_error(x->a));
		if (off < 0 || (uint64_t)off < pos)
			return refuse(x, entry, "data blocks out of order");
		/* holes of sparse entries count as produced bytes */
		if (tar_count_bytes(x, entry, pos, (uint64_t)off - pos + len) < 0)
			return -1;
		pos = (uint64_t)off;
		while (len > 0) {
			ssize_t n = pwrite(fd, p, len, (off_t)pos);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return refuse_errno(x, entry, "writing");
			p += n;
			len -= (size_t)n;
			pos += (uint64_t)n;
		}
	}
}

static int set_times_fd(int fd, struct archive_entry *e)
{
	struct timespec ts[2];

	ts[0].tv_sec = archive_entry_mtime(e);
	ts[0].tv_nsec = archive_entry_mtime_nsec(e);
	ts[1] = ts[0];
	return futimens(fd, ts);
}

static int remember_regular(struct extractor *x, const char *norm)
{
	char *copy = xstrdup(norm), **found;

	found = tsearch(copy, &x->regular_files, (int (*)(const void *, const void *))strcmp);
	if (found == NULL) {
		free(copy);
		return error_set(x->err, EXIT_RUNNER_ERROR, ENOMEM, "extracting %s", x->tarball);
	}
	if (*found != copy)
		free(copy);
	return 0;
}

static int extract_file(struct extractor *x, struct archive_entry *e, const char *entry,
                        const char *norm, int pfd, const char *leaf)
{
	int64_t size = archive_entry_size(e);
	int fd, rc;

	fd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST)
		return refuse(x, entry, "already exists");
	if (fd < 0)
		return refuse_errno(x, entry, "creating");
	rc = write_contents(x, entry, fd);
	if (rc == 0 && size > 0 && ftruncate(fd, size) < 0)
		rc = refuse_errno(x, entry, "setting the size");
	if (rc == 0 && fchmod(fd, archive_entry_perm(e) & 0777) < 0)
		rc = refuse_errno(x, entry, "setting the mode");
	if (rc == 0 && set_times_fd(fd, e) < 0)
		rc = refuse_errno(x, entry, "setting the mtime");
	if (close(fd) < 0 && rc == 0)
		rc = refuse_errno(x, entry, "closing");
	if (rc == 0)
		rc = remember_regular(x, norm);
	return rc;
}

static int extract_dir(struct extractor *x, struct archive_entry *e, const char *entry,
                       const char *norm, int pfd, const char *leaf)
{
	struct stat st;

	if (mkdirat(pfd, leaf, 0700) < 0) {
		if (errno != EEXIST)
			return refuse_errno(x, entry, "creating the directory");
		if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return refuse_errno(x, entry, "stat");
		if (!S_ISDIR(st.st_mode))
			return refuse(x, entry, "already exists and is not a directory");
	}
	record_dir(x, xstrdup(norm), archive_entry_perm(e) & 0777, e);
	return tar_drain_data(x, entry);
}

/* A target may climb with leading ".." only, and no higher than the
 * link's own directory depth; after its first normal component it only
 * descends.  Since every directory on the link's path is real (walked
 * with O_NOFOLLOW) and every earlier link obeys the same rule, following
 * any chain of such links stays below the root. */
static int check_symlink_target(struct extractor *x, const char *entry, const char *target,
                                unsigned parent_depth)
{
	const char *p = target;
	unsigned up = 0;
	bool descended = false;

	if (target[0] == '/') {
		if (x->l.rootfs_image)
			return 0;
		return refuse(x, entry, "symlink to absolute path '%s'", target);
	}
	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t len = (size_t)(end - p);

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (descended)
				return refuse(x, entry,
				              "symlink target '%s' has '..' after a name "
				              "(could escape through another symlink)",
				              target);
			if (++up > parent_depth)
				return refuse(x, entry, "symlink target '%s' escapes the root",
				              target);
		} else if (len > 0 && !(len == 1 && p[0] == '.')) {
			descended = true;
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}

static int extract_symlink(struct extractor *x, struct archive_entry *e, const char *entry,
                           unsigned depth, int pfd, const char *leaf)
{
	const char *target = archive_entry_symlink(e);
	struct timespec ts[2];

	if (target == NULL || target[0] == '\0')
		return refuse(x, entry, "symlink without a target");
	if (check_symlink_target(x, entry, target, depth - 1) < 0)
		return -1;
	if (symlinkat(target, pfd, leaf) < 0) {
		if (errno == EEXIST)
			return refuse(x, entry, "already exists");
		return refuse_errno(x, entry, "creating the symlink");
	}
	ts[0].tv_sec = archive_entry_mtime(e);
	ts[0].tv_nsec = archive_entry_mtime_nsec(e);
	ts[1] = ts[0];
	if (utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return refuse_errno(x, entry, "setting the symlink's mtime");
	return tar_drain_data(x, entry);
}

static int extract_hardlink(struct extractor *x, const char *entry, const char *target_raw, int pfd,
                            const char *leaf)
{
	char *target = NULL, *tdir;
	const char *tleaf;
	int tfd, rc = 0;

	if (normalise_path(x, entry, "hardlink target", target_raw, &target, NULL) < 0)
		return -1;
	if (tfind(target, &x->regular_files, (int (*)(const void *, const void *))strcmp) == NULL) {
		refuse(x, entry, "hardlink to '%s', which is not an earlier regular file",
		       target_raw);
		free(target);
		return -1;
	}
	tdir = split_path(target, &tleaf);
	tfd = walk_dir(x, entry, tdir, false);
	if (tfd >= 0 && linkat(tfd, tleaf, pfd, leaf, 0) < 0)
		rc = errno == EEXIST ? refuse(x, entry, "already exists")
		                     : refuse_errno(x, entry, "creating the hardlink");
	if (tfd >= 0)
		close(tfd);
	free(tdir);
	free(target);
	if (tfd < 0 || rc < 0)
		return -1;
	return tar_drain_data(x, entry);
}

static const char *type_name(mode_t type)
{
	switch (type) {
	case AE_IFCHR: return "character device";
	case AE_IFBLK: return "block device";
	case AE_IFIFO: return "fifo";
	case AE_IFSOCK: return "socket";
	default: return "unsupported entry type";
	}
}

/* Everything refusable from the header alone. */
static int check_header(struct extractor *x, struct archive_entry *e, const char *entry)
{
	mode_t type = archive_entry_filetype(e);
	int64_t size = archive_entry_size(e);

	if (++x->entries > x->l.max_entries)
		return refuse(x, entry, "more than %" PRIu64 " entries", x->l.max_entries);
	if (archive_entry_hardlink(e) == NULL && type != AE_IFREG && type != AE_IFDIR &&
	    type != AE_IFLNK)
		return refuse(x, entry, "%s not allowed", type_name(type));
	if (type != AE_IFLNK && (archive_entry_perm(e) & 07000) && !x->l.rootfs_image)
		return refuse(x, entry, "setuid/setgid/sticky mode %04o not allowed",
		              (unsigned)archive_entry_perm(e));
	if (size < 0)
		return refuse(x, entry, "negative size");
	if ((uint64_t)size > x->l.max_entry_bytes)
		return refuse(x, entry, "size %" PRId64 " beyond the per-entry limit of %" PRIu64,
		              size, x->l.max_entry_bytes);
	if (x->total + (uint64_t)size > x->l.max_total_bytes)
		return refuse(x, entry, "total content beyond the limit of %" PRIu64 " bytes",
		              x->l.max_total_bytes);
	return tar_check_stream(x, entry);
}

static int extract_entry(struct extractor *x, struct archive_entry *e)
{
	const char *raw = archive_entry_pathname(e);
	const char *entry = raw ? raw : "(unnamed)";
	const char *hardlink = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);
	const char *leaf;
	char *norm = NULL, *dir;
	unsigned depth;
	int pfd, rc;

	if (check_header(x, e, entry) < 0)
		return -1;
	if (raw == NULL)
		return refuse(x, entry, "no path");
	if (normalise_path(x, entry, "path", raw, &norm, &depth) < 0)
		return -1;
	if (norm[0] == '\0') {
		free(norm);
		/* "./" names the root itself, which belongs to the caller */
		if (type == AE_IFDIR && hardlink == NULL)
			return tar_drain_data(x, entry);
		return refuse(x, entry, "names the extraction root");
	}
	dir = split_path(norm, &leaf);
	pfd = parent_fd(x, entry, dir);
	if (pfd < 0)
		rc = -1;
	else if (hardlink != NULL)
		rc = extract_hardlink(x, entry, hardlink, pfd, leaf);
	else if (type == AE_IFREG)
		rc = extract_file(x, e, entry, norm, pfd, leaf);
	else if (type == AE_IFDIR)
		rc = extract_dir(x, e, entry, norm, pfd, leaf);
	else
		rc = extract_symlink(x, e, entry, depth, pfd, leaf);
	free(dir);
	free(norm);
	return rc;
}

static int cmp_fixup_desc(const void *pa, const void *pb)
{
	const struct dir_fixup *a = pa, *b = pb;
	int c = strcmp(b->path, a->path);

	if (c != 0)
		return c;
	return a->seq < b->seq ? 1 : -1;
}

/* After all entries: modes and mtimes of directories, children before
 * parents (creating children changes a parent's mtime, and a read-only
 * parent would block them). */
static int apply_dir_fixups(struct extractor *x)
{
	if (x->n_dirs > 0)
		qsort(x->dirs, x->n_dirs, sizeof(*x->dirs), cmp_fixup_desc);
	for (size_t i = 0; i < x->n_dirs; i++) {
		struct dir_fixup *d = &x->dirs[i];
		struct timespec ts[2];
		int fd;

		if (i > 0 && strcmp(x->dirs[i - 1].path, d->path) == 0)
			continue;
		fd = walk_dir(x, d->path, d->path, false);
		if (fd < 0)
			return -1;
		ts[0].tv_sec = d->mtime;
		ts[0].tv_nsec = d->mtime_nsec;
		ts[1] = ts[0];
		if (fchmod(fd, d->mode) < 0 || (d->has_mtime && futimens(fd, ts) < 0)) {
			refuse_errno(x, d->path, "setting the directory's mode and mtime");
			close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

/* Remove everything below dfd without following symlinks.  Directories are
 * made writable first: a failure may come after their final modes. */
static int empty_dir(int dfd)
{
	int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	struct dirent *de;
	int rc = 0;
	DIR *d;

	if (fd < 0)
		return -1;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -1;
	}
	rewinddir(d); /* the dup shares its offset with dfd */
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		int sub;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISDIR(st.st_mode)) {
			if (unlinkat(dfd, de->d_name, 0) < 0 && errno != ENOENT)
				rc = -1;
			continue;
		}
		sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 || fchmod(sub, 0700) < 0 || empty_dir(sub) < 0)
			rc = -1;
		if (sub >= 0)
			close(sub);
		if (unlinkat(dfd, de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			rc = -1;
	}
	closedir(d);
	return rc;
}

static int check_empty_dir(int dfd, const char *path, struct error *err)
{
	int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	struct dirent *de;
	DIR *d;

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		int saved = errno;
		if (fd >= 0)
			close(fd);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "reading %s", path);
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			closedir(d);
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "extraction directory %s is not empty", path);
		}
	}
	closedir(d);
	return 0;
}

static int extract_all(struct extractor *x)
{
	struct archive_entry *e;
	int r;

	while ((r = tar_next_header(x, &e)) > 0) {
		if (extract_entry(x, e) < 0)
			return -1;
	}
	if (r < 0)
		return -1;
	return apply_dir_fixups(x);
}

static int extract_tree(const char *tarball, const char *dest_dir, const struct extract_limits *l,
                        struct error *err)
{
	struct extractor x;
	int rc;

	if (tar_open_input(&x, tarball, l, err) < 0) {
		tar_close_input(&x);
		return -1;
	}
	x.root_fd = open(dest_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x.root_fd < 0) {
		rc = error_set(err, EXIT_RUNNER_ERROR, errno, "opening %s", dest_dir);
		tar_close_input(&x);
		return rc;
	}
	rc = check_empty_dir(x.root_fd, dest_dir, err);
	/* only what this call created is removed, never what was there */
	if (rc == 0 && extract_all(&x) < 0) {
		rc = -1;
		if (empty_dir(x.root_fd) < 0)
			error_prefix(err, "(could not empty %s again)", dest_dir);
	}
	tar_close_input(&x);
	close(x.root_fd);
	return rc;
}

int archive_extract_safe(const char *tarball, const char *dest_dir, const struct extract_limits *l,
                         struct error *err)
{
	struct locale_pin pin;
	int rc;

	if (archive_enter(&pin, err) < 0)
		return -1;
	rc = extract_tree(tarball, dest_dir, l, err);
	tar_unpin_locale(&pin);
	return rc;
}

static int check_tarball_readable(const char *path, struct error *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "tarball %s", path);
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return error_set(err, EXIT_RUNNER_ERROR, e, "tarball %s", path);
	}
	close(fd);
	if (!S_ISREG(st.st_mode))
		return error_set(err, EXIT_RUNNER_ERROR, 0, "tarball %s: not a regular file", path);
	return 0;
}

int archive_unpack_dir(const char *tarball, const char *dir, const struct extract_limits *l,
                       struct error *err)
{
	bool created = false;

	/* A tarball that cannot be read leaves nothing behind: checked before
	 * DIR exists, and a DIR this function made goes again on a failure. */
	if (check_tarball_readable(tarball, err) < 0)
		return -1;
	if (mkdir(dir, 0755) == 0)
		created = true;
	else if (errno != EEXIST)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "creating %s", dir);
	if (archive_extract_safe(tarball, dir, l, err) < 0) {
		struct error rm = {0};

		if (created && remove_tree(dir, &rm) < 0)
			fprintf(stderr, "pgo-sandbox: warning: %s\n", rm.msg);
		return -1;
	}
	return 0;
}
