/* archive.c - see archive.h */
#define _GNU_SOURCE
#include "artifacts/archive.h"
#include "artifacts/digest.h"

#include <archive.h>
#include <archive_entry.h>
#include "artifacts/libarchive_lazy.h"
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

#define IO_CHUNK (256 * 1024)
#define TAR_BLOCK 10240
/* Deeper paths are refused on extraction: every level costs one open fd
 * while the tree is emptied after a refusal. */
#define EXTRACT_MAX_DEPTH 256

/* libarchive converts names between the calling thread's LC_CTYPE and the
 * UTF-8 of pax headers.  Pinning the thread to C.UTF-8 while it works makes
 * the bytes written, and the names read, independent of the caller's
 * locale.  Only this thread's locale changes, and it is restored. */
struct locale_pin {
	locale_t utf8;
	locale_t old;
};

static int pin_utf8_locale(struct locale_pin *pin, struct error *err)
{
	pin->utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (pin->utf8 == (locale_t)0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "loading the C.UTF-8 locale");
	pin->old = uselocale(pin->utf8);
	if (pin->old == (locale_t)0) {
		freelocale(pin->utf8);
		return error_set(err, EXIT_RUNNER_ERROR, errno, "switching to the C.UTF-8 locale");
	}
	return 0;
}

static void unpin_locale(struct locale_pin *pin)
{
	uselocale(pin->old);
	freelocale(pin->utf8);
}

/* ------------------------------------------------------------------ */
/* packing                                                             */
/* ------------------------------------------------------------------ */

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

static int archive_fail(struct archive *a, struct error *err, const char *what, const char *path)
{
	const char *msg = archive_error_string(a);
	int errnum = archive_errno(a);

	/* libarchive's "Write error" says nothing of why: the errno it keeps
	 * does (a full disk, a failing device).  Its other codes are its own
	 * (EILSEQ for a bad format, EINVAL for misuse): not worth printing. */
	if (errnum == ENOSPC || errnum == EDQUOT || errnum == EIO || errnum == EFBIG ||
	    errnum == EROFS)
		return error_set(err, EXIT_RUNNER_ERROR, errnum, "%s %s: %s", what, path,
		                 msg ? msg : "libarchive error");
	return error_set(err, EXIT_RUNNER_ERROR, 0, "%s %s: %s", what, path,
	                 msg ? msg : "libarchive error");
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

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
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
		free_names(names, n);
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
	free_names(names, n);
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

/* ------------------------------------------------------------------ */
/* safe extraction                                                     */
/* ------------------------------------------------------------------ */

struct dir_fixup {
	char *path; /* normalised, relative to the root */
	mode_t mode;
	bool has_mtime; /* implied parents keep the time of creation */
	int64_t mtime;
	long mtime_nsec;
	size_t seq; /* a later record of the same path wins */
};

struct extractor {
	struct archive *a;
	struct extract_limits l;
	const char *tarball;
	int in_fd;
	char *in_buf;
	uint64_t in_bytes; /* bytes read from the (compressed) file */
	uint64_t entries;
	uint64_t total; /* entry content bytes produced so far */
	int root_fd;
	void *regular_files; /* tsearch tree of normalised paths (char *) */
	struct dir_fixup *dirs;
	size_t n_dirs, cap_dirs;
	char *cache_path; /* the parent directory last walked, and its fd */
	int cache_fd;
	char *last_entry; /* named when the next header is damaged */
	struct error *err;
};

void extract_limits_default(struct extract_limits *l)
{
	l->max_total_bytes = 16ULL << 30;
	l->max_entries = 1000000;
	l->max_ratio = 1000;
	l->max_entry_bytes = 8ULL << 30;
	l->rootfs_image = false;
}

static int refuse_e(struct extractor *x, const char *entry, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "<tarball>: entry '<name>': <why>[: <errno text>]" */
static int refuse_e(struct extractor *x, const char *entry, int errnum, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return error_set(x->err, EXIT_RUNNER_ERROR, errnum, "%s: entry '%s': %s", x->tarball, entry,
	                 why);
}

#define refuse(x, entry, ...) refuse_e(x, entry, 0, __VA_ARGS__)
#define refuse_errno(x, entry, ...) refuse_e(x, entry, errno, __VA_ARGS__)

static ssize_t read_cb(struct archive *a, void *ctx, const void **buf)
{
	struct extractor *x = ctx;

	for (;;) {
		ssize_t n = read(x->in_fd, x->in_buf, IO_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			archive_set_error(a, errno, "reading %s", x->tarball);
			return -1;
		}
		x->in_bytes += (uint64_t)n;
		*buf = x->in_buf;
		return n;
	}
}

/* Judged against what the decompressor has handed to the tar parser, so a
 * bomb is stopped after at most one read-ahead of output. */
static int check_stream(struct extractor *x, const char *entry)
{
	int64_t out = archive_filter_bytes(x->a, 0);

	if (out < 0 || (uint64_t)out <= EXTRACT_RATIO_GRACE_BYTES || x->in_bytes == 0)
		return 0;
	if ((uint64_t)out / x->in_bytes > x->l.max_ratio)
		return refuse(x, entry,
		              "compression ratio beyond %" PRIu64 " (%" PRId64
		              " bytes from %" PRIu64 " compressed): refusing a decompression bomb",
		              x->l.max_ratio, out, x->in_bytes);
	return 0;
}

static int count_bytes(struct extractor *x, const char *entry, uint64_t entry_done, uint64_t add)
{
	if (entry_done + add > x->l.max_entry_bytes)
		return refuse(x, entry, "content beyond the per-entry limit of %" PRIu64 " bytes",
		              x->l.max_entry_bytes);
	if (x->total + add > x->l.max_total_bytes)
		return refuse(x, entry, "total content beyond the limit of %" PRIu64 " bytes",
		              x->l.max_total_bytes);
	x->total += add;
	return check_stream(x, entry);
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
	return refuse_e(x, entry, saved, "opening directory '%.*s'", upto, dir);
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

static const char *la_error(struct archive *a)
{
	const char *msg = archive_error_string(a);

	return msg ? msg : "damaged archive";
}

static int drain_data(struct extractor *x, const char *entry)
{
	uint64_t done = 0;

	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(x->a, &buf, &len, &off);

		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK)
			return refuse(x, entry, "%s", la_error(x->a));
		if (count_bytes(x, entry, done, len) < 0)
			return -1;
		done += len;
	}
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
			return refuse(x, entry, "%s", la_error(x->a));
		if (off < 0 || (uint64_t)off < pos)
			return refuse(x, entry, "data blocks out of order");
		/* holes of sparse entries count as produced bytes */
		if (count_bytes(x, entry, pos, (uint64_t)off - pos + len) < 0)
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
	return drain_data(x, entry);
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
	return drain_data(x, entry);
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
	return drain_data(x, entry);
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
	return check_stream(x, entry);
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
			return drain_data(x, entry);
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

/* Built-in decompressors only: libarchive would otherwise fall back to
 * running external programs. */
static int open_reader(struct extractor *x)
{
	x->a = archive_read_new();
	if (x->a == NULL)
		return error_set(x->err, EXIT_RUNNER_ERROR, ENOMEM, "reading %s", x->tarball);
	if (archive_read_support_format_tar(x->a) != ARCHIVE_OK ||
	    (archive_zlib_version() && archive_read_support_filter_gzip(x->a) != ARCHIVE_OK) ||
	    (archive_libzstd_version() && archive_read_support_filter_zstd(x->a) != ARCHIVE_OK) ||
	    (archive_liblzma_version() && archive_read_support_filter_xz(x->a) != ARCHIVE_OK) ||
	    (archive_bzlib_version() && archive_read_support_filter_bzip2(x->a) != ARCHIVE_OK))
		return archive_fail(x->a, x->err, "setting up a reader for", x->tarball);
	if (archive_read_open(x->a, x, NULL, read_cb, NULL) != ARCHIVE_OK)
		return archive_fail(x->a, x->err, "opening", x->tarball);
	return 0;
}

static int open_input(struct extractor *x, const char *tarball, const struct extract_limits *l,
                      struct error *err)
{
	memset(x, 0, sizeof(*x));
	x->tarball = tarball;
	x->err = err;
	x->root_fd = -1;
	x->cache_fd = -1;
	if (l != NULL)
		x->l = *l;
	else
		extract_limits_default(&x->l);
	x->in_fd = open(tarball, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (x->in_fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening %s", tarball);
	x->in_buf = xcalloc(1, IO_CHUNK);
	return open_reader(x);
}

static void close_input(struct extractor *x)
{
	if (x->a != NULL)
		archive_read_free(x->a);
	if (x->in_fd >= 0)
		close(x->in_fd);
	free(x->in_buf);
	if (x->cache_fd >= 0)
		close(x->cache_fd);
	free(x->cache_path);
	free(x->last_entry);
	tdestroy(x->regular_files, free);
	for (size_t i = 0; i < x->n_dirs; i++)
		free(x->dirs[i].path);
	free(x->dirs);
}

/* ARCHIVE_WARN from the header reader is a recovered problem (a name not
 * convertible to the locale, a malformed pax record); every safety check
 * below is made on the name as it finally reads, so it is accepted. */
static int next_header(struct extractor *x, struct archive_entry **e)
{
	int r = archive_read_next_header(x->a, e);
	const char *name;

	if (r == ARCHIVE_OK || r == ARCHIVE_WARN) {
		name = archive_entry_pathname(*e);
		free(x->last_entry);
		x->last_entry = xstrdup(name ? name : "(unnamed)");
		return 1;
	}
	if (r == ARCHIVE_EOF)
		return 0;
	if (x->last_entry == NULL)
		return error_set(x->err, EXIT_RUNNER_ERROR, 0, "%s: first header: %s", x->tarball,
		                 la_error(x->a));
	return error_set(x->err, EXIT_RUNNER_ERROR, 0, "%s: header after entry '%s': %s",
	                 x->tarball, x->last_entry, la_error(x->a));
}

static int extract_all(struct extractor *x)
{
	struct archive_entry *e;
	int r;

	while ((r = next_header(x, &e)) > 0) {
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

	if (open_input(&x, tarball, l, err) < 0) {
		close_input(&x);
		return -1;
	}
	x.root_fd = open(dest_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x.root_fd < 0) {
		rc = error_set(err, EXIT_RUNNER_ERROR, errno, "opening %s", dest_dir);
		close_input(&x);
		return rc;
	}
	rc = check_empty_dir(x.root_fd, dest_dir, err);
	/* only what this call created is removed, never what was there */
	if (rc == 0 && extract_all(&x) < 0) {
		rc = -1;
		if (empty_dir(x.root_fd) < 0)
			error_prefix(err, "(could not empty %s again)", dest_dir);
	}
	close_input(&x);
	close(x.root_fd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* listing                                                             */
/* ------------------------------------------------------------------ */

static enum archive_entry_kind entry_kind(struct archive_entry *e)
{
	if (archive_entry_hardlink(e) != NULL)
		return ARCHIVE_ENTRY_HARDLINK;
	switch (archive_entry_filetype(e)) {
	case AE_IFREG: return ARCHIVE_ENTRY_FILE;
	case AE_IFDIR: return ARCHIVE_ENTRY_DIR;
	case AE_IFLNK: return ARCHIVE_ENTRY_SYMLINK;
	default: return ARCHIVE_ENTRY_OTHER;
	}
}

static int list_entry(struct extractor *x, struct archive_entry *e, archive_list_fn fn, void *ctx)
{
	struct archive_list_entry le = {0};
	const char *name = archive_entry_pathname(e);
	int64_t size = archive_entry_size(e);

	if (++x->entries > x->l.max_entries)
		return refuse(x, name ? name : "(unnamed)", "more than %" PRIu64 " entries",
		              x->l.max_entries);
	le.path = name ? name : "";
	le.kind = entry_kind(e);
	le.mode = archive_entry_perm(e);
	le.size = size > 0 ? (uint64_t)size : 0;
	le.mtime = archive_entry_mtime(e);
	le.uid = (uint32_t)archive_entry_uid(e);
	le.gid = (uint32_t)archive_entry_gid(e);
	le.link = archive_entry_hardlink(e) ? archive_entry_hardlink(e) : archive_entry_symlink(e);
	return fn(&le, ctx);
}

static int list_tree(const char *tarball, const struct extract_limits *l, archive_list_fn fn,
                     void *ctx, struct error *err)
{
	struct archive_entry *e;
	struct extractor x;
	int r, rc = 0;

	if (open_input(&x, tarball, l, err) < 0) {
		close_input(&x);
		return -1;
	}
	while (rc == 0 && (r = next_header(&x, &e)) != 0) {
		if (r < 0) {
			rc = -1;
			break;
		}
		rc = list_entry(&x, e, fn, ctx);
		if (rc == 0)
			rc = drain_data(&x, archive_entry_pathname(e) ? archive_entry_pathname(e)
			                                              : "(unnamed)");
	}
	close_input(&x);
	return rc;
}

/* What every entry point needs first: the library (loaded on first use)
 * and the pinned locale. */
static int archive_enter(struct locale_pin *pin, struct error *err)
{
	if (libarchive_load(err) < 0)
		return -1;
	return pin_utf8_locale(pin, err);
}

int archive_pack_dir(const char *src_dir, const char *out_path, const struct pack_options *o,
                     struct error *err)
{
	struct locale_pin pin;
	int rc;

	if (archive_enter(&pin, err) < 0)
		return -1;
	rc = pack_tree(src_dir, out_path, o, err);
	unpin_locale(&pin);
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
	unpin_locale(&pin);
	return rc;
}

int archive_list(const char *tarball, const struct extract_limits *l, archive_list_fn fn, void *ctx,
                 struct error *err)
{
	struct locale_pin pin;
	int rc;

	if (archive_enter(&pin, err) < 0)
		return -1;
	rc = list_tree(tarball, l, fn, ctx, err);
	unpin_locale(&pin);
	return rc;
}

/* ------------------------------------------------------------------ */
/* what the pack and unpack commands need besides                      */
/* ------------------------------------------------------------------ */

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
