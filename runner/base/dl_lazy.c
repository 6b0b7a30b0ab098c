/* dl_lazy.c - see dl_lazy.h */
#define _GNU_SOURCE
#include "base/dl_lazy.h"

#include <dlfcn.h>
#include <string.h>

static int load_failed(const char *soname, const char *what, const char *hint, struct error *err)
{
	const char *why = dlerror();

	return error_set(err, EXIT_RUNNER_ERROR, 0, "loading %s: %s: %s (%s)", soname, what,
	                 why ? why : "unknown error", hint);
}

int dl_lazy_load(const char *soname, const char *hint, const struct dl_symbol *symbols, size_t n,
                 void *table, void **handle, struct error *err)
{
	void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	*handle = NULL;
	if (lib == NULL)
		return load_failed(soname, "dlopen", hint, err);
	for (size_t i = 0; i < n; i++) {
		/* POSIX: a function's address fits a void * (dlsym depends on it) */
		void *fn = dlsym(lib, symbols[i].name);

		if (fn == NULL) {
			int rc = load_failed(soname, symbols[i].name, hint, err);

			dlclose(lib);
			return rc;
		}
		memcpy((char *)table + symbols[i].offset, &fn, sizeof(fn));
	}
	*handle = lib;
	return 0;
}

void dl_lazy_unload(void *handle)
{
	if (handle)
		dlclose(handle);
}
