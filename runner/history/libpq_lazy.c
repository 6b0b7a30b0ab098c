/* libpq_lazy.c - see libpq_lazy.h */
#include "history/libpq_lazy.h"

#include <string.h>

#include "base/dl_lazy.h"

static const struct dl_symbol libpq_symbols[] = {
#define LIBPQ_SYMBOL(name) DL_SYMBOL(struct libpq_api, name),
#define X LIBPQ_SYMBOL
    LIBPQ_FUNCTIONS(X)
#undef X
#undef LIBPQ_SYMBOL
};

int libpq_load(struct libpq_api *api, struct error *err)
{
	memset(api, 0, sizeof(*api));
	return dl_lazy_load(LIBPQ_SONAME, "a PostgreSQL store needs Debian's libpq5", libpq_symbols,
	                    sizeof(libpq_symbols) / sizeof(libpq_symbols[0]), api, &api->handle,
	                    err);
}

void libpq_unload(struct libpq_api *api)
{
	dl_lazy_unload(api->handle);
	memset(api, 0, sizeof(*api));
}
