/* libarchive_lazy.c - see libarchive_lazy.h */
#define _GNU_SOURCE
#define LIBARCHIVE_LAZY_IMPLEMENTATION
#include "artifacts/libarchive_lazy.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"

static struct libarchive_table table;
static int loaded; /* 0 not yet, 1 loaded: written once, single-threaded */

static __attribute__((noreturn)) void load_failed(const char *what)
{
	const char *why = dlerror();

	fprintf(stderr, "pgo-sandbox: loading %s: %s: %s\n", LIBARCHIVE_SONAME, what,
	        why ? why : "unknown error");
	exit(EXIT_RUNNER_ERROR);
}

const struct libarchive_table *libarchive_api(void)
{
	void *handle;

	if (loaded)
		return &table;
	handle = dlopen(LIBARCHIVE_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL)
		load_failed("dlopen");
#define LIBARCHIVE_RESOLVE(name)                                                                   \
	*(void **)&table.name = dlsym(handle, #name);                                              \
	if (table.name == NULL)                                                                    \
		load_failed(#name);
#define X LIBARCHIVE_RESOLVE
	LIBARCHIVE_FUNCTIONS(X)
#undef X
#undef LIBARCHIVE_RESOLVE
	loaded = 1;
	return &table;
}
