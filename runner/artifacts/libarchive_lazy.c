/* libarchive_lazy.c - see libarchive_lazy.h */
#define _GNU_SOURCE
#define LIBARCHIVE_LAZY_IMPLEMENTATION
#include "artifacts/libarchive_lazy.h"

#include <dlfcn.h>
#include <stdlib.h>

#include "base/util.h"

static struct libarchive_table table;
static int loaded; /* 0 not yet, 1 loaded: written once, single-threaded */

static int load_failed(const char *what, struct error *err)
{
	const char *why = dlerror();

	return error_set(err, EXIT_RUNNER_ERROR, 0,
	                 "loading %s: %s: %s (is the libarchive13 package installed?)",
	                 LIBARCHIVE_SONAME, what, why ? why : "unknown error");
}

int libarchive_load(struct error *err)
{
	void *handle;

	if (loaded)
		return 0;
	handle = dlopen(LIBARCHIVE_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL)
		return load_failed("dlopen", err);
#define LIBARCHIVE_RESOLVE(name)                                                                   \
	*(void **)&table.name = dlsym(handle, #name);                                              \
	if (table.name == NULL) {                                                                  \
		dlclose(handle);                                                                   \
		return load_failed(#name, err);                                                    \
	}
#define X LIBARCHIVE_RESOLVE
	LIBARCHIVE_FUNCTIONS(X)
#undef X
#undef LIBARCHIVE_RESOLVE
	loaded = 1;
	return 0;
}

const struct libarchive_table *libarchive_api(void)
{
	/* Every entry point of archive.c loads the library first and returns
	 * its error; getting here without it is a bug in the caller. */
	if (!loaded)
		abort();
	return &table;
}
