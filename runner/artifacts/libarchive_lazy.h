/* libarchive_lazy.h - libarchive, loaded on first use.
 *
 * libarchive drags in libxml2, ICU and libstdc++: linked normally it cost
 * about 2 ms of dynamic loading on every start of pgo-sandbox, most of
 * which (`run`) never touch an archive (bench/startup.py).  The same
 * technique systemd uses for optional libraries: the functions archive.c
 * calls are resolved with dlsym() the first time any is used, and the
 * macros below make the call sites read as ordinary libarchive calls.
 * Include it, instead of linking libarchive, wherever libarchive is called. */
#ifndef PGO_LIBARCHIVE_LAZY_H
#define PGO_LIBARCHIVE_LAZY_H

#include <archive.h>
#include <archive_entry.h>

#define LIBARCHIVE_SONAME "libarchive.so.13"

#define LIBARCHIVE_FUNCTIONS(X)                                                                    \
	X(archive_bzlib_version)                                                                   \
	X(archive_entry_filetype)                                                                  \
	X(archive_entry_free)                                                                      \
	X(archive_entry_gid)                                                                       \
	X(archive_entry_hardlink)                                                                  \
	X(archive_entry_mtime)                                                                     \
	X(archive_entry_mtime_nsec)                                                                \
	X(archive_entry_new)                                                                       \
	X(archive_entry_pathname)                                                                  \
	X(archive_entry_perm)                                                                      \
	X(archive_entry_set_filetype)                                                              \
	X(archive_entry_set_gid)                                                                   \
	X(archive_entry_set_hardlink)                                                              \
	X(archive_entry_set_mtime)                                                                 \
	X(archive_entry_set_pathname)                                                              \
	X(archive_entry_set_perm)                                                                  \
	X(archive_entry_set_size)                                                                  \
	X(archive_entry_set_symlink)                                                               \
	X(archive_entry_set_uid)                                                                   \
	X(archive_entry_size)                                                                      \
	X(archive_entry_symlink)                                                                   \
	X(archive_entry_uid)                                                                       \
	X(archive_errno)                                                                           \
	X(archive_error_string)                                                                    \
	X(archive_filter_bytes)                                                                    \
	X(archive_liblzma_version)                                                                 \
	X(archive_libzstd_version)                                                                 \
	X(archive_read_data_block)                                                                 \
	X(archive_read_open_filename)                                                              \
	X(archive_read_data)                                                                       \
	X(archive_read_free)                                                                       \
	X(archive_read_new)                                                                        \
	X(archive_read_next_header)                                                                \
	X(archive_read_open)                                                                       \
	X(archive_read_support_filter_bzip2)                                                       \
	X(archive_read_support_filter_gzip)                                                        \
	X(archive_read_support_filter_xz)                                                          \
	X(archive_read_support_filter_zstd)                                                        \
	X(archive_read_support_format_tar)                                                         \
	X(archive_set_error)                                                                       \
	X(archive_write_add_filter_gzip)                                                           \
	X(archive_write_add_filter_none)                                                           \
	X(archive_write_add_filter_zstd)                                                           \
	X(archive_write_close)                                                                     \
	X(archive_write_data)                                                                      \
	X(archive_write_free)                                                                      \
	X(archive_write_header)                                                                    \
	X(archive_write_new)                                                                       \
	X(archive_write_open_fd)                                                                   \
	X(archive_write_set_bytes_in_last_block)                                                   \
	X(archive_write_set_bytes_per_block)                                                       \
	X(archive_write_set_filter_option)                                                         \
	X(archive_write_set_format_pax_restricted)                                                 \
	X(archive_zlib_version)

struct libarchive_table {
#define LIBARCHIVE_MEMBER(name) __typeof__(name) *name;
#define X LIBARCHIVE_MEMBER
	LIBARCHIVE_FUNCTIONS(X)
#undef X
#undef LIBARCHIVE_MEMBER
};

struct error;

/* Load the library and resolve every function; -1 + err (exit 125, naming
 * the library and the missing symbol) on a broken installation.  Cheap
 * once loaded: archive.c calls it at each of its entry points. */
int libarchive_load(struct error *err);

/* The loaded table; libarchive_load() must have succeeded first. */
const struct libarchive_table *libarchive_api(void);

#ifndef LIBARCHIVE_LAZY_IMPLEMENTATION
#define archive_bzlib_version (libarchive_api()->archive_bzlib_version)
#define archive_entry_filetype (libarchive_api()->archive_entry_filetype)
#define archive_entry_free (libarchive_api()->archive_entry_free)
#define archive_entry_gid (libarchive_api()->archive_entry_gid)
#define archive_entry_hardlink (libarchive_api()->archive_entry_hardlink)
#define archive_entry_mtime (libarchive_api()->archive_entry_mtime)
#define archive_entry_mtime_nsec (libarchive_api()->archive_entry_mtime_nsec)
#define archive_entry_new (libarchive_api()->archive_entry_new)
#define archive_entry_pathname (libarchive_api()->archive_entry_pathname)
#define archive_entry_perm (libarchive_api()->archive_entry_perm)
#define archive_entry_set_filetype (libarchive_api()->archive_entry_set_filetype)
#define archive_entry_set_gid (libarchive_api()->archive_entry_set_gid)
#define archive_entry_set_hardlink (libarchive_api()->archive_entry_set_hardlink)
#define archive_entry_set_mtime (libarchive_api()->archive_entry_set_mtime)
#define archive_entry_set_pathname (libarchive_api()->archive_entry_set_pathname)
#define archive_entry_set_perm (libarchive_api()->archive_entry_set_perm)
#define archive_entry_set_size (libarchive_api()->archive_entry_set_size)
#define archive_entry_set_symlink (libarchive_api()->archive_entry_set_symlink)
#define archive_entry_set_uid (libarchive_api()->archive_entry_set_uid)
#define archive_entry_size (libarchive_api()->archive_entry_size)
#define archive_entry_symlink (libarchive_api()->archive_entry_symlink)
#define archive_entry_uid (libarchive_api()->archive_entry_uid)
#define archive_errno (libarchive_api()->archive_errno)
#define archive_error_string (libarchive_api()->archive_error_string)
#define archive_filter_bytes (libarchive_api()->archive_filter_bytes)
#define archive_liblzma_version (libarchive_api()->archive_liblzma_version)
#define archive_libzstd_version (libarchive_api()->archive_libzstd_version)
#define archive_read_data_block (libarchive_api()->archive_read_data_block)
#define archive_read_open_filename (libarchive_api()->archive_read_open_filename)
#define archive_read_data (libarchive_api()->archive_read_data)
#define archive_read_free (libarchive_api()->archive_read_free)
#define archive_read_new (libarchive_api()->archive_read_new)
#define archive_read_next_header (libarchive_api()->archive_read_next_header)
#define archive_read_open (libarchive_api()->archive_read_open)
#define archive_read_support_filter_bzip2 (libarchive_api()->archive_read_support_filter_bzip2)
#define archive_read_support_filter_gzip (libarchive_api()->archive_read_support_filter_gzip)
#define archive_read_support_filter_xz (libarchive_api()->archive_read_support_filter_xz)
#define archive_read_support_filter_zstd (libarchive_api()->archive_read_support_filter_zstd)
#define archive_read_support_format_tar (libarchive_api()->archive_read_support_format_tar)
#define archive_set_error (libarchive_api()->archive_set_error)
#define archive_write_add_filter_gzip (libarchive_api()->archive_write_add_filter_gzip)
#define archive_write_add_filter_none (libarchive_api()->archive_write_add_filter_none)
#define archive_write_add_filter_zstd (libarchive_api()->archive_write_add_filter_zstd)
#define archive_write_close (libarchive_api()->archive_write_close)
#define archive_write_data (libarchive_api()->archive_write_data)
#define archive_write_free (libarchive_api()->archive_write_free)
#define archive_write_header (libarchive_api()->archive_write_header)
#define archive_write_new (libarchive_api()->archive_write_new)
#define archive_write_open_fd (libarchive_api()->archive_write_open_fd)
#define archive_write_set_bytes_in_last_block                                                      \
	(libarchive_api()->archive_write_set_bytes_in_last_block)
#define archive_write_set_bytes_per_block (libarchive_api()->archive_write_set_bytes_per_block)
#define archive_write_set_filter_option (libarchive_api()->archive_write_set_filter_option)
#define archive_write_set_format_pax_restricted                                                    \
	(libarchive_api()->archive_write_set_format_pax_restricted)
#define archive_zlib_version (libarchive_api()->archive_zlib_version)
#endif

#endif
