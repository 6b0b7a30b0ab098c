/* sqlite_lazy.c - see sqlite_lazy.h */
#define _GNU_SOURCE
#include "history/sqlite_lazy.h"

#include <dlfcn.h>
#include <string.h>

static int load_failed(struct sqlite_api *api, const char *what, struct error *err)
{
	const char *why = dlerror();

	error_set(err, EXIT_RUNNER_ERROR, 0,
	          "loading %s: %s: %s (an SQLite store needs Debian's libsqlite3-0)", SQLITE_SONAME,
	          what, why ? why : "unknown error");
	sqlite_unload(api);
	return -1;
}

int sqlite_load(struct sqlite_api *api, struct error *err)
{
	memset(api, 0, sizeof(*api));
	api->handle = dlopen(SQLITE_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (api->handle == NULL)
		return load_failed(api, "dlopen", err);
#define SQLITE_RESOLVE(name)                                                                       \
	*(void **)&api->name = dlsym(api->handle, #name);                                          \
	if (api->name == NULL)                                                                     \
		return load_failed(api, #name, err);
#define X SQLITE_RESOLVE
	SQLITE_FUNCTIONS(X)
#undef X
#undef SQLITE_RESOLVE
	return 0;
}

void sqlite_unload(struct sqlite_api *api)
{
	if (api->handle)
		dlclose(api->handle);
	memset(api, 0, sizeof(*api));
}
