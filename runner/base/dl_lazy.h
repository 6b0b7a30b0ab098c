/* dl_lazy.h - a shared library loaded on first use, written once (the idea
 * of systemd's dlfcn-util.h): libarchive, libsqlite3 and libpq are not
 * linked, because each would cost every start of pgo-sandbox its dynamic
 * loading (artifacts/libarchive_lazy.h, history/sqlite_lazy.h,
 * history/libpq_lazy.h say how much).  A loader is a struct of function
 * pointers and a table naming each member; dl_lazy_load() opens the
 * library and fills every member, or fails naming the symbol. */
#ifndef PGO_DL_LAZY_H
#define PGO_DL_LAZY_H

#include <stddef.h>

#include "base/util.h"

/* One function to resolve: its name, and where its pointer goes in the
 * caller's struct. */
struct dl_symbol {
	const char *name;
	size_t offset;
};
#define DL_SYMBOL(type, member)                                                                    \
	{                                                                                          \
#member, offsetof(type, member)                                                    \
	}

/* dlopen `soname` (RTLD_NOW | RTLD_LOCAL) and store each symbol's address
 * at its offset in `table`; *handle receives the library.  On failure
 * -1 + err (exit 125): "loading SONAME: dlopen|SYMBOL: <dlerror> (hint)",
 * nothing stays open and *handle is NULL. */
int dl_lazy_load(const char *soname, const char *hint, const struct dl_symbol *symbols, size_t n,
                 void *table, void **handle, struct error *err);
/* dlclose a handle dl_lazy_load gave (NULL is fine). */
void dl_lazy_unload(void *handle);

#endif
