/* archive.h - reproducible tarballs of a directory tree, and safe
 * extraction of tarballs nobody vouches for.
 *
 * Packing writes restricted pax (ustar, with a pax header only where ustar
 * cannot hold a value): entries in the order of `tar --sort=name` (names
 * byte-sorted within each directory, a directory before its contents), no
 * entry for the root itself, mtime fixed, uid/gid 0, no user/group names,
 * modes normalised like `--mode=go-w,u+rw,a+rX` and cleared of
 * setuid/setgid/sticky, nothing else (no atime, ctime, xattrs, ACLs,
 * flags).  Names are UTF-8 pax records when ustar cannot hold them (a name
 * that is not UTF-8 gets hdrcharset=BINARY); pax header entries are named
 * "<dir>/PaxHeader/<name>" by libarchive, from the path alone.  The same
 * tree gives the same bytes whatever its path, its on-disk times, the umask
 * it was made with, readdir order, TZ or locale.
 *
 * Extraction uses libarchive only to parse; every file is created by this
 * module from a directory fd walked with O_NOFOLLOW, so nothing can land
 * outside the destination.  On any refusal the destination is emptied
 * again (the directory itself stays, for the caller to reuse or remove).
 * Ownership is not restored: everything belongs to the caller. */
#ifndef PGO_ARCHIVE_H
#define PGO_ARCHIVE_H

#include <stdint.h>
#include <sys/types.h>

#include "base/util.h"

enum archive_compression {
	ARCHIVE_COMP_ZSTD,
	ARCHIVE_COMP_GZIP,
	ARCHIVE_COMP_NONE,
};

/* zstd's own default, the knee of its speed/size curve on build trees:
 * measured on the bench/pack.sh tree, level 6 is 3% smaller and 4x slower,
 * 19 is 13% smaller and 170x slower.  Pass a level for release artifacts. */
#define PACK_ZSTD_LEVEL_DEFAULT 3
/* zstd's single-threaded mode (0) and its worker mode give different
 * bytes; the worker mode gives the same bytes for 1, 2 or 4 workers and
 * any write chunking (checked with libzstd 1.5.4 through libarchive).  The
 * count is a constant all the same, never derived from the machine. */
#define PACK_ZSTD_THREADS 2
#define PACK_GZIP_LEVEL 6

struct pack_options {
	int64_t mtime; /* every entry's mtime (SOURCE_DATE_EPOCH) */
	enum archive_compression compression;
	int zstd_level; /* 0 means PACK_ZSTD_LEVEL_DEFAULT */
};

void pack_options_default(struct pack_options *o);

/* Pack the tree under src_dir into out_path: written to
 * "<out_path>.tmp.<pid>", fsynced, renamed; on failure the temporary is
 * unlinked and out_path is left as it was.  Refuses device nodes, fifos and
 * sockets in the tree, and an out_path inside the tree. */
int archive_pack_dir(const char *src_dir, const char *out_path, const struct pack_options *o,
                     struct error *err);

struct extract_limits {
	uint64_t max_total_bytes; /* sum of all entry contents */
	uint64_t max_entries;
	uint64_t max_ratio;       /* uncompressed tar bytes / compressed file bytes */
	uint64_t max_entry_bytes; /* one entry's contents */
	/* A root filesystem image (`run --image FILE.tar`): absolute symlink
	 * targets are kept, since extraction never follows a link and inside
	 * the sandbox they resolve against its own root; setuid, setgid and
	 * sticky bits are dropped instead of refused (everything is mounted
	 * nosuid and runs with no_new_privs).  Everything else stays refused. */
	bool rootfs_image;
};

/* The ratio is only judged past this many uncompressed bytes, so small
 * archives of empty files (all header blocks) are not refused. */
#define EXTRACT_RATIO_GRACE_BYTES (16ULL << 20)

/* 16 GiB total, 1M entries, ratio 1000, 8 GiB per entry. */
void extract_limits_default(struct extract_limits *l);

/* Extract tarball (tar; plain, gzip, zstd, xz or bzip2 through libarchive's
 * built-in decompressors, never external programs) into dest_dir, which
 * must exist and be empty.  Refused, naming the entry and why:
 * absolute paths, ".." components, symlinks with an absolute target or a
 * ".." after a normal component or more leading ".." than the link's depth,
 * hardlinks to anything but an earlier regular file entry, devices, fifos,
 * sockets, setuid/setgid/sticky modes, a path through an existing symlink
 * or non-directory, an existing path (except a directory re-declared),
 * and anything beyond the limits (checked while decompressing).  Files and
 * directories get the entry's permission bits and mtime.  On failure
 * dest_dir is emptied and -1 returned. */
int archive_extract_safe(const char *tarball, const char *dest_dir, const struct extract_limits *l,
                         struct error *err);

enum archive_entry_kind {
	ARCHIVE_ENTRY_FILE,
	ARCHIVE_ENTRY_DIR,
	ARCHIVE_ENTRY_SYMLINK,
	ARCHIVE_ENTRY_HARDLINK,
	ARCHIVE_ENTRY_OTHER, /* device, fifo, socket: listed, never extracted */
};

struct archive_list_entry {
	const char *path; /* as stored (directories keep their '/') */
	enum archive_entry_kind kind;
	mode_t mode; /* permission bits incl. setuid/setgid/sticky */
	uint64_t size;
	int64_t mtime;
	uint32_t uid, gid;
	const char *link; /* symlink or hardlink target, else NULL */
};

/* Return non-zero from the callback to stop listing (archive_list then
 * returns that value). */
typedef int (*archive_list_fn)(const struct archive_list_entry *e, void *ctx);

/* Call fn for every entry, in archive order, under the same limits as
 * extraction (NULL: the defaults).  -1 + err on a damaged archive. */
int archive_list(const char *tarball, const struct extract_limits *l, archive_list_fn fn, void *ctx,
                 struct error *err);

/* "zstd", "gzip", "none", or a file name ending in .zst/.tzst, .gz/.tgz,
 * .tar -> the compression; -1 when it tells none. */
int archive_compression_from_name(const char *name, enum archive_compression *c);

/* `pgo-sandbox unpack`: tarball into dir (created when missing, removed
 * again on a refusal when this made it; an unreadable tarball is refused
 * before dir exists). */
int archive_unpack_dir(const char *tarball, const char *dir, const struct extract_limits *l,
                       struct error *err);

#endif
