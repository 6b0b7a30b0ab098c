/* listing.c - the entries of a tarball, under the extraction limits
 * (archive.h: archive_list) */
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

	if (tar_open_input(&x, tarball, l, err) < 0) {
		tar_close_input(&x);
		return -1;
	}
	while (rc == 0 && (r = tar_next_header(&x, &e)) != 0) {
		if (r < 0) {
			rc = -1;
			break;
		}
		rc = list_entry(&x, e, fn, ctx);
		if (rc == 0)
			rc =
			    tar_drain_data(&x, archive_entry_pathname(e) ? archive_entry_pathname(e)
			                                                 : "(unnamed)");
	}
	tar_close_input(&x);
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
	tar_unpin_locale(&pin);
	return rc;
}
