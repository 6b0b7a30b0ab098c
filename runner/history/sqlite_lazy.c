/* sqlite_lazy.c - see sqlite_lazy.h */
#include "history/sqlite_lazy.h"

#include <string.h>

#include "base/dl_lazy.h"

static const struct dl_symbol sqlite_symbols[] = {
#define SQLITE_SYMBOL(name) DL_SYMBOL(struct sqlite_api, name),
#define X SQLITE_SYMBOL
    SQLITE_FUNCTIONS(X)
#undef X
#undef SQLITE_SYMBOL
};

int sqlite_load(struct sqlite_api *api, struct error *err)
{
	memset(api, 0, sizeof(*api));
	return dl_lazy_load(SQLITE_SONAME, "an SQLite store needs Debian's libsqlite3-0",
	                    sqlite_symbols, sizeof(sqlite_symbols) / sizeof(sqlite_symbols[0]), api,
	                    &api->handle, err);
}

void sqlite_unload(struct sqlite_api *api)
{
	dl_lazy_unload(api->handle);
	memset(api, 0, sizeof(*api));
}
