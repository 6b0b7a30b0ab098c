/* libarchive_lazy.c - see libarchive_lazy.h */
#define LIBARCHIVE_LAZY_IMPLEMENTATION
#include "artifacts/libarchive_lazy.h"

#include <stdlib.h>

#include "base/dl_lazy.h"
#include "base/util.h"

static const struct dl_symbol libarchive_symbols[] = {
#define LIBARCHIVE_SYMBOL(name) DL_SYMBOL(struct libarchive_table, name),
#define X LIBARCHIVE_SYMBOL
    LIBARCHIVE_FUNCTIONS(X)
#undef X
#undef LIBARCHIVE_SYMBOL
};

static struct libarchive_table table;
static void *handle; /* NULL until loaded: written once, single-threaded */

int libarchive_load(struct error *err)
{
	if (handle)
		return 0;
	return dl_lazy_load(
	    LIBARCHIVE_SONAME, "is the libarchive13 package installed?", libarchive_symbols,
	    sizeof(libarchive_symbols) / sizeof(libarchive_symbols[0]), &table, &handle, err);
}

const struct libarchive_table *libarchive_api(void)
{
	/* Every entry point of archive.c loads the library first and returns
	 * its error; getting here without it is a bug in the caller. */
	if (handle == NULL)
		abort();
	return &table;
}
