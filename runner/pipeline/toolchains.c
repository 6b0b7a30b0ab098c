/* toolchains.c - see toolchain.h: the one table of toolchains. */
#define _GNU_SOURCE
#include "pipeline/toolchain.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct toolchain *const toolchains[] = {
    &toolchain_gcc,
    &toolchain_clang,
    &toolchain_rustc,
};

#define N_TOOLCHAINS (sizeof(toolchains) / sizeof(toolchains[0]))

static bool names(const struct toolchain *t, const char *name)
{
	if (strcmp(t->name, name) == 0)
		return true;
	for (const char *const *a = t->aliases; a && *a; a++)
		if (strcmp(*a, name) == 0)
			return true;
	return false;
}

int toolchain_find(const char *name, const struct toolchain **out, struct error *err)
{
	char known[128] = "";

	if (name == NULL) {
		*out = &toolchain_gcc;
		return 0;
	}
	for (size_t i = 0; i < N_TOOLCHAINS; i++) {
		if (names(toolchains[i], name)) {
			*out = toolchains[i];
			return 0;
		}
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
		         i ? (i + 1 == N_TOOLCHAINS ? " or " : ", ") : "", toolchains[i]->name);
	}
	return error_set(err, EXIT_RUNNER_ERROR, 0, "'%s' is not a known compiler: expected %s",
	                 name, known);
}

void toolchain_site_free(struct toolchain_site *site)
{
	free(site->mount_src);
	free(site->path_prefix);
	free(site->host_sysroot);
	json_decref(site->facts);
	memset(site, 0, sizeof(*site));
}

static char *strdup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void toolchain_site_copy(struct toolchain_site *to, const struct toolchain_site *from)
{
	to->mount_src = strdup_or_null(from->mount_src);
	to->mount_dst = from->mount_dst;
	to->path_prefix = strdup_or_null(from->path_prefix);
	to->facts = from->facts ? json_incref(from->facts) : NULL;
	to->llvm_major = from->llvm_major;
	to->host_sysroot = strdup_or_null(from->host_sysroot);
}

bool toolchain_has_llvm_profile_runtime(const char *path)
{
	static const char *const marks[] = {"__llvm_prf_cnts", "__llvm_profile_runtime"};
	struct stat st;
	bool found = false;
	void *map;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		return false;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return false;
	for (size_t i = 0; !found && i < sizeof(marks) / sizeof(marks[0]); i++)
		found = memmem(map, (size_t)st.st_size, marks[i], strlen(marks[i])) != NULL;
	munmap(map, (size_t)st.st_size);
	return found;
}
