/* tar_reader.h - what packing, extraction and listing share (internal to
 * artifacts/): the locale pinned while libarchive works, its errors, and
 * the bounded reader of a tarball that extraction and listing both use
 * (entry, byte and compression-ratio limits judged as it reads). */
#ifndef PGO_TAR_READER_H
#define PGO_TAR_READER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <archive.h>
#include <archive_entry.h>

#include "artifacts/archive.h"
#include "base/util.h"

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

/* "<tarball>: entry '<name>': <why>[: <errno text>]" into x->err; -1. */
int tar_refuse(struct extractor *x, const char *entry, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define refuse(x, entry, ...) tar_refuse(x, entry, 0, __VA_ARGS__)
#define refuse_errno(x, entry, ...) tar_refuse(x, entry, errno, __VA_ARGS__)

int tar_pin_locale(struct locale_pin *pin, struct error *err);
void tar_unpin_locale(struct locale_pin *pin);
/* What every entry point needs first: libarchive (loaded on first use)
 * and the pinned locale. */
int archive_enter(struct locale_pin *pin, struct error *err);
/* "<what> <path>: <libarchive's message>" into err; -1. */
int archive_fail(struct archive *a, struct error *err, const char *what, const char *path);

/* Open tarball for reading under limits l (NULL: the defaults); always
 * pair with tar_close_input, also after a failure. */
int tar_open_input(struct extractor *x, const char *tarball, const struct extract_limits *l,
                   struct error *err);
void tar_close_input(struct extractor *x);
/* 1 with the next entry, 0 at the end, -1 + x->err (naming the entry
 * before a damaged header). */
int tar_next_header(struct extractor *x, struct archive_entry **e);
/* The decompression-bomb check, on what the decompressor produced so far. */
int tar_check_stream(struct extractor *x, const char *entry);
/* Count add more bytes of the entry (entry_done so far) against the
 * per-entry and total limits. */
int tar_count_bytes(struct extractor *x, const char *entry, uint64_t entry_done, uint64_t add);
const char *tar_la_error(struct archive *a);
/* Read past the entry's data, counting it. */
int tar_drain_data(struct extractor *x, const char *entry);

#endif
