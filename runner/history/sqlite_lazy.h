/* sqlite_lazy.h - libsqlite3, loaded when an SQLite store is opened.
 *
 * Linked statically, SQLite added ~1.7 MB and 1800 relocations that the
 * dynamic loader processes on every start of pgo-sandbox: +0.2 ms on
 * `pgo-sandbox --version` (2.94 against 2.74 ms median on the development
 * VM, docs/history.md), paid by every `run`, which never opens a store.
 * As artifacts/libarchive_lazy.h does for libarchive and libpq_lazy.h for
 * libpq, the functions store_sqlite.c calls are resolved with dlsym() when
 * a store is opened.  The table lives in the connection (no global state). */
#ifndef PGO_SQLITE_LAZY_H
#define PGO_SQLITE_LAZY_H

#include <sqlite3.h>

#include "base/util.h"

#define SQLITE_SONAME "libsqlite3.so.0"

#define SQLITE_FUNCTIONS(X)                                                                        \
	X(sqlite3_bind_null)                                                                       \
	X(sqlite3_bind_text)                                                                       \
	X(sqlite3_busy_timeout)                                                                    \
	X(sqlite3_close_v2)                                                                        \
	X(sqlite3_column_count)                                                                    \
	X(sqlite3_column_text)                                                                     \
	X(sqlite3_errmsg)                                                                          \
	X(sqlite3_extended_result_codes)                                                           \
	X(sqlite3_finalize)                                                                        \
	X(sqlite3_open_v2)                                                                         \
	X(sqlite3_prepare_v2)                                                                      \
	X(sqlite3_step)

struct sqlite_api {
	void *handle;
#define SQLITE_MEMBER(name) __typeof__(name) *name;
#define X SQLITE_MEMBER
	SQLITE_FUNCTIONS(X)
#undef X
#undef SQLITE_MEMBER
};

/* dlopen libsqlite3 and resolve every function; -1 + err naming the
 * library and the missing piece (install Debian's libsqlite3-0). */
int sqlite_load(struct sqlite_api *api, struct error *err);
void sqlite_unload(struct sqlite_api *api);

#endif
