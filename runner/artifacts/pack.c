/* pack.c - byte-reproducible tarballs of a directory tree (archive.h) */
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
#include "base/strv.h"

struct inode_key {
	dev_t dev;
	ino_t ino;
	char *path; /* first path (in archive order) of this inode */
};

struct packer {
	struct archive *a;
	const struct pack_options *o;
	const char *src_dir;
	void *inodes;  /* tsearch tree of struct inode_key */
	dev_t out_dev; /* the temporary being written, never packed */
	ino_t out_ino;
	char *buf;
	struct error *err;
};

void pack_options_default(struct pack_options *o)
{
	memset(o, 0, sizeof(*o));
	o->compression = ARCHIVE_COMP_ZSTD;
	o->zstd_level = PACK_ZSTD_LEVEL_DEFAULT;
}

/* --mode=go-w,u+rw,a+rX, and no setuid/setgid/sticky: extraction refuses
 * those, so a packed tree must never carry them. */
static mode_t normalise_mode(mode_t m, bool dir)
{
	m &= 0777;
	m &= ~(mode_t)(S_IWGRP | S_IWOTH);
	m |= S_IRUSR | S_IWUSR | S_IRGRP | S_IROTH;
	if (dir || (m & 0111))
		m |= 0111;
	return m;
}

static int inode_cmp(const void *pa, const void *pb)
{
	const struct inode_key *a = pa, *b = pb;

	if (a->dev != b->dev)
		return a->dev < b->dev ? -1 : 1;
	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	return 0;
}

static void inode_free(void *p)
{
	struct inode_key *k = p;

	free(k->path);
	free(k);
}

/* Only what is set here reaches the archive: no times but mtime, no
 * names, no xattrs, ACLs or flags. */
static struct archive_entry *new_entry(const char *path, mode_t type, mode_t perm, int64_t size,
                                       int64_t mtime)
{
	struct archive_entry *e = archive_entry_new();

	if (e == NULL)
		return NULL;
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_size(e, size);
	archive_entry_set_mtime(e, (time_t)mtime, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	return e;
}

static int write_entry(struct packer *p, struct archive_entry *e, const char *path)
{
	int r;

	if (e == NULL)
		return error_set(p->err, EXIT_RUNNER_ERROR, ENOMEM, "packing %s/%s", p->src_dir,
		                 path);
	r = archive_write_header(p->a, e);
	archive_entry_free(e);
	/* WARN: a name that is not UTF-8, stored as raw bytes instead
	 * (hdrcharset=BINARY) - still the same bytes every time. */
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
		return archive_fail(p->a, p->err, "writing header for", path);
	return 0;
}

static int pack_dir(struct packer *p, int dfd, const char *rel);

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dfd, byte-sorted: readdir order depends on the filesystem. */
static int read_sorted_names(int dfd, const char *shown, char ***out, size_t *count,
                             struct error *err)
{
	int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "reading directory %s", shown);
	d = fdopendir(fd);
	if (d == NULL) {
		int saved = errno;
		close(fd);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "reading directory %s", shown);
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	if (errno != 0) {
		int saved = errno;
		closedir(d);
		strv_free_n(names, n);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "reading directory %s", shown);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_names);
	*out = names;
	*count = n;
	return 0;
}

static int pack_contents(struct packer *p, int fd, const char *path, uint64_t size)
{
	uint64_t done = 0;

	while (done < size) {
		size_t want = size - done < IO_CHUNK ? (size_t)(size - done) : IO_CHUNK;
		ssize_t n = read(fd, p->buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_set(p->err, EXIT_RUNNER_ERROR, errno, "reading %s/%s",
			                 p->src_dir, path);
		if (n == 0)
			return error_set(p->err, EXIT_RUNNER_ERROR, 0,
			                 "%s/%s shrank while being packed", p->src_dir, path);
		if (archive_write_data(p->a, p->buf, (size_t)n) != n)
			return archive_fail(p->a, p->err, "writing", path);
		done += (uint64_t)n;
	}
	for (;;) {
		ssize_t n = read(fd, p->buf, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_set(p->err, EXIT_RUNNER_ERROR, errno, "reading %s/%s",
			                 p->src_dir, path);
		if (n > 0)
			return error_set(p->err, EXIT_RUNNER_ERROR, 0,
			                 "%s/%s grew while being packed", p->src_dir, path);
		return 0;
	}
}

/* A second path to an inode already packed becomes a hardlink entry; true
 * in *linked when it did. */
static int pack_hardlink(struct packer *p, const struct stat *st, const char *path, bool *linked)
{
	struct inode_key *k = xcalloc(1, sizeof(*k)), **found;
	struct archive_entry *e;

	*linked = false;
	k->dev = st->st_dev;
	k->ino = st->st_ino;
	found = tsearch(k, &p->inodes, inode_cmp);
	if (found == NULL) {
		free(k);
		return error_set(p->err, EXIT_RUNNER_ERROR, ENOMEM, "packing %s", path);
	}
	if (*found != k) {
		free(k);
		e = new_entry(path, AE_IFREG, normalise_mode(st->st_mode, false), 0, p->o->mtime);
		if (e != NULL)
			archive_entry_set_hardlink(e, (*found)->path);
		*linked = true;
		return write_entry(p, e, path);
	}
	k->path = xstrdup(path);
	return 0;
}

static int pack_file(struct packer *p, int dfd, const char *name, const char *path,
                     const struct stat *lst)
{
	struct stat st;
	bool linked;
	int fd, rc;

	if (lst->st_nlink > 1) {
		if (pack_hardlink(p, lst, path, &linked) < 0)
			return -1;
		if (linked)
			return 0;
	}
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return error_set(p->err, EXIT_RUNNER_ERROR, errno, "opening %s/%s", p->src_dir,
		                 path);
	if (fstat(fd, &st) < 0) {
		rc = error_set(p->err, EXIT_RUNNER_ERROR, errno, "stat %s/%s", p->src_dir, path);
	} else if (st.st_dev != lst->st_dev || st.st_ino != lst->st_ino || !S_ISREG(st.st_mode)) {
		rc = error_set(p->err, EXIT_RUNNER_ERROR, 0,
		               "%s/%s was replaced while being packed", p->src_dir, path);
	} else {
		rc = write_entry(p,
		                 new_entry(path, AE_IFREG, normalise_mode(st.st_mode, false),
		                           st.st_size, p->o->mtime),
		                 path);
		if (rc == 0)
			rc = pack_contents(p, fd, path, (uint64_t)st.st_size);
	}
	close(fd);
	return rc;
}

static int pack_symlink(struct packer *p, int dfd, const char *name, const char *path,
                        const struct stat *st)
{
	size_t cap = st->st_size > 0 ? (size_t)st->st_size + 1 : PATH_MAX;
	char *target = xcalloc(1, cap);
	struct archive_entry *e;
	ssize_t n;
	int rc;

	n = readlinkat(dfd, name, target, cap);
	if (n < 0) {
		rc = error_set(p->err, EXIT_RUNNER_ERROR, errno, "reading symlink %s/%s",
		               p->src_dir, path);
	} else if ((size_t)n >= cap) {
		rc = error_set(p->err, EXIT_RUNNER_ERROR, 0,
		               "symlink %s/%s changed while being packed", p->src_dir, path);
	} else {
		target[n] = '\0';
		e = new_entry(path, AE_IFLNK, normalise_mode(st->st_mode, false), 0, p->o->mtime);
		if (e != NULL)
			archive_entry_set_symlink(e, target);
		rc = write_entry(p, e, path);
	}
	free(target);
	return rc;
}

static int pack_subdir(struct packer *p, int dfd, const char *name, const char *path,
                       const struct stat *lst)
{
	struct stat st;
	int fd, rc;

	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return error_set(p->err, EXIT_RUNNER_ERROR, errno, "opening %s/%s", p->src_dir,
		                 path);
	if (fstat(fd, &st) < 0)
		rc = error_set(p->err, EXIT_RUNNER_ERROR, errno, "stat %s/%s", p->src_dir, path);
	else if (st.st_dev != lst->st_dev || st.st_ino != lst->st_ino)
		rc = error_set(p->err, EXIT_RUNNER_ERROR, 0,
		               "%s/%s was replaced while being packed", p->src_dir, path);
	else
		rc = write_entry(
		    p, new_entry(path, AE_IFDIR, normalise_mode(st.st_mode, true), 0, p->o->mtime),
		    path);
	if (rc == 0)
		rc = pack_dir(p, fd, path);
	close(fd);
	return rc;
}

static int pack_one(struct packer *p, int dfd, const char *name, const char *path)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return error_set(p->err, EXIT_RUNNER_ERROR, errno, "stat %s/%s", p->src_dir, path);
	if (st.st_dev == p->out_dev && st.st_ino == p->out_ino)
		return error_set(p->err, EXIT_RUNNER_ERROR, 0,
		                 "the output %s/%s is inside the tree being packed", p->src_dir,
		                 path);
	switch (st.st_mode & S_IFMT) {
	case S_IFDIR: return pack_subdir(p, dfd, name, path, &st);
	case S_IFREG: return pack_file(p, dfd, name, path, &st);
	case S_IFLNK: return pack_symlink(p, dfd, name, path, &st);
	default:
		return error_set(p->err, EXIT_RUNNER_ERROR, 0,
		                 "%s/%s: cannot pack a device node, fifo or socket", p->src_dir,
		                 path);
	}
}

/* Depth first, names byte-sorted within each directory: the order of GNU
 * tar --sort=name, and every directory precedes its contents. */
static int pack_dir(struct packer *p, int dfd, const char *rel)
{
	char *shown = xasprintf("%s/%s", p->src_dir, rel);
	char **names = NULL;
	size_t n = 0;
	int rc = 0;

	if (read_sorted_names(dfd, shown, &names, &n, p->err) < 0) {
		free(shown);
		return -1;
	}
	free(shown);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *path = rel[0] ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);

		rc = pack_one(p, dfd, names[i], path);
		free(path);
	}
	strv_free_n(names, n);
	return rc;
}

static int set_filter_option(struct archive *a, const char *filter, const char *key,
                             const char *value, struct error *err)
{
	if (archive_write_set_filter_option(a, filter, key, value) != ARCHIVE_OK)
		return archive_fail(a, err, "setting option", key);
	return 0;
}

static int setup_compression(struct archive *a, const struct pack_options *o, struct error *err)
{
	char text[32];
	int level = o->zstd_level ? o->zstd_level : PACK_ZSTD_LEVEL_DEFAULT;

	switch (o->compression) {
	case ARCHIVE_COMP_ZSTD:
		/* ARCHIVE_WARN would mean an external zstd program. */
		if (archive_write_add_filter_zstd(a) != ARCHIVE_OK)
			return archive_fail(a, err, "enabling", "zstd");
		snprintf(text, sizeof(text), "%d", level);
		if (set_filter_option(a, "zstd", "compression-level", text, err) < 0)
			return -1;
		snprintf(text, sizeof(text), "%d", PACK_ZSTD_THREADS);
		return set_filter_option(a, "zstd", "threads", text, err);
	case ARCHIVE_COMP_GZIP:
		if (archive_write_add_filter_gzip(a) != ARCHIVE_OK)
			return archive_fail(a, err, "enabling", "gzip");
		snprintf(text, sizeof(text), "%d", PACK_GZIP_LEVEL);
		if (set_filter_option(a, "gzip", "compression-level", text, err) < 0)
			return -1;
		/* A NULL value is "!timestamp": header MTIME 0, not time(NULL). */
		return set_filter_option(a, "gzip", "timestamp", NULL, err);
	case ARCHIVE_COMP_NONE:
		if (archive_write_add_filter_none(a) != ARCHIVE_OK)
			return archive_fail(a, err, "enabling", "no compression");
		return 0;
	}
	return error_set(err, EXIT_RUNNER_ERROR, 0, "unknown compression %d", (int)o->compression);
}

static struct archive *open_writer(const struct pack_options *o, int fd, const char *out_path,
                                   struct error *err)
{
	struct archive *a = archive_write_new();

	if (a == NULL) {
		error_set(err, EXIT_RUNNER_ERROR, ENOMEM, "packing %s", out_path);
		return NULL;
	}
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK) {
		archive_fail(a, err, "setting up", out_path);
		archive_write_free(a);
		return NULL;
	}
	if (setup_compression(a, o, err) < 0) {
		archive_write_free(a);
		return NULL;
	}
	if (archive_write_set_bytes_per_block(a, TAR_BLOCK) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		archive_fail(a, err, "opening", out_path);
		archive_write_free(a);
		return NULL;
	}
	return a;
}

static int fsync_parent(const char *path, struct error *err)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	int fd, rc = 0;

	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, errno, "syncing directory %s", dir);
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

static int pack_into(struct packer *p, int src_fd, int out_fd, const char *out_path)
{
	struct stat st;
	int rc;

	if (fstat(out_fd, &st) < 0)
		return error_set(p->err, EXIT_RUNNER_ERROR, errno, "stat %s", out_path);
	p->out_dev = st.st_dev;
	p->out_ino = st.st_ino;
	p->a = open_writer(p->o, out_fd, out_path, p->err);
	if (p->a == NULL)
		return -1;
	rc = pack_dir(p, src_fd, "");
	if (rc == 0 && archive_write_close(p->a) != ARCHIVE_OK)
		rc = archive_fail(p->a, p->err, "finishing", out_path);
	archive_write_free(p->a);
	p->a = NULL;
	if (rc == 0 && fsync(out_fd) < 0)
		rc = error_set(p->err, EXIT_RUNNER_ERROR, errno, "syncing %s", out_path);
	return rc;
}

static int pack_tree(const char *src_dir, const char *out_path, const struct pack_options *o,
                     struct error *err)
{
	struct packer p = {.o = o, .src_dir = src_dir, .err = err};
	char *tmp = xasprintf("%s.tmp.%ld", out_path, (long)getpid());
	int src_fd, out_fd, rc;

	src_fd = open(src_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src_fd < 0) {
		rc = error_set(err, EXIT_RUNNER_ERROR, errno, "opening %s", src_dir);
		free(tmp);
		return rc;
	}
	out_fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out_fd < 0) {
		rc = error_set(err, EXIT_RUNNER_ERROR, errno, "creating %s", tmp);
		close(src_fd);
		free(tmp);
		return rc;
	}
	p.buf = xcalloc(1, IO_CHUNK);
	rc = pack_into(&p, src_fd, out_fd, out_path);
	if (close(out_fd) < 0 && rc == 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, errno, "closing %s", tmp);
	if (rc == 0 && rename(tmp, out_path) < 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, errno, "renaming %s to %s", tmp, out_path);
	if (rc < 0)
		unlink(tmp);
	else
		rc = fsync_parent(out_path, err);
	tdestroy(p.inodes, inode_free);
	free(p.buf);
	close(src_fd);
	free(tmp);
	return rc;
}

int archive_pack_dir(const char *src_dir, const char *out_path, const struct pack_options *o,
                     struct error *err)
{
	struct locale_pin pin;
	int rc;

	if (archive_enter(&pin, err) < 0)
		return -1;
	rc = pack_tree(src_dir, out_path, o, err);
	tar_unpin_locale(&pin);
	return rc;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int archive_compression_from_name(const char *name, enum archive_compression *c)
{
	if (strcmp(name, "zstd") == 0 || has_suffix(name, ".zst") || has_suffix(name, ".tzst"))
		*c = ARCHIVE_COMP_ZSTD;
	else if (strcmp(name, "gzip") == 0 || has_suffix(name, ".gz") || has_suffix(name, ".tgz"))
		*c = ARCHIVE_COMP_GZIP;
	else if (strcmp(name, "none") == 0 || has_suffix(name, ".tar"))
		*c = ARCHIVE_COMP_NONE;
	else
		return -1;
	return 0;
}
