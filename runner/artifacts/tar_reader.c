/* tar_reader.c - see tar_reader.h */
#define _GNU_SOURCE
#include "artifacts/tar_reader.h"

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

int tar_pin_locale(struct locale_pin *pin, struct error *err)
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

void tar_unpin_locale(struct locale_pin *pin)
{
	uselocale(pin->old);
	freelocale(pin->utf8);
}

int archive_fail(struct archive *a, struct error *err, const char *what, const char *path)
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

/* "<tarball>: entry '<name>': <why>[: <errno text>]" */
int tar_refuse(struct extractor *x, const char *entry, int errnum, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return error_set(x->err, EXIT_RUNNER_ERROR, errnum, "%s: entry '%s': %s", x->tarball, entry,
	                 why);
}

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
int tar_check_stream(struct extractor *x, const char *entry)
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

int tar_count_bytes(struct extractor *x, const char *entry, uint64_t entry_done, uint64_t add)
{
	if (entry_done + add > x->l.max_entry_bytes)
		return refuse(x, entry, "content beyond the per-entry limit of %" PRIu64 " bytes",
		              x->l.max_entry_bytes);
	if (x->total + add > x->l.max_total_bytes)
		return refuse(x, entry, "total content beyond the limit of %" PRIu64 " bytes",
		              x->l.max_total_bytes);
	x->total += add;
	return tar_check_stream(x, entry);
}

const char *tar_la_error(struct archive *a)
{
	const char *msg = archive_error_string(a);

	return msg ? msg : "damaged archive";
}

int tar_drain_data(struct extractor *x, const char *entry)
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
			return refuse(x, entry, "%s", tar_la_error(x->a));
		if (tar_count_bytes(x, entry, done, len) < 0)
			return -1;
		done += len;
	}
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

int tar_open_input(struct extractor *x, const char *tarball, const struct extract_limits *l,
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

void tar_close_input(struct extractor *x)
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
int tar_next_header(struct extractor *x, struct archive_entry **e)
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
		                 tar_la_error(x->a));
	return error_set(x->err, EXIT_RUNNER_ERROR, 0, "%s: header after entry '%s': %s",
	                 x->tarball, x->last_entry, tar_la_error(x->a));
}

/* What every entry point needs first: the library (loaded on first use)
 * and the pinned locale. */
int archive_enter(struct locale_pin *pin, struct error *err)
{
	if (libarchive_load(err) < 0)
		return -1;
	return tar_pin_locale(pin, err);
}
