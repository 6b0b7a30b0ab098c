/* libpq_lazy.c - see libpq_lazy.h */
#define _GNU_SOURCE
#include "history/libpq_lazy.h"

#include <dlfcn.h>
#include <string.h>

static int load_failed(struct libpq_api *api, const char *what, struct error *err)
{
	const char *why = dlerror();

	error_set(err, EXIT_RUNNER_ERROR, 0,
	          "loading %s: %s: %s (a PostgreSQL store needs Debian's libpq5)", LIBPQ_SONAME,
	          what, why ? why : "unknown error");
	libpq_unload(api);
	return -1;
}

int libpq_load(struct libpq_api *api, struct error *err)
{
	memset(api, 0, sizeof(*api));
	api->handle = dlopen(LIBPQ_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (api->handle == NULL)
		return load_failed(api, "dlopen", err);
#define LIBPQ_RESOLVE(name)                                                                        \
	*(void **)&api->name = dlsym(api->handle, #name);                                          \
	if (api->name == NULL)                                                                     \
		return load_failed(api, #name, err);
#define X LIBPQ_RESOLVE
	LIBPQ_FUNCTIONS(X)
#undef X
#undef LIBPQ_RESOLVE
	return 0;
}

void libpq_unload(struct libpq_api *api)
{
	if (api->handle)
		dlclose(api->handle);
	memset(api, 0, sizeof(*api));
}
