/* tool_cache.c - see tool_cache.h */
#define _GNU_SOURCE
#include "image/tool_cache.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/json_file.h"
#include "base/util.h"

#define TOOL_CACHE_FORMAT 2

struct tool_cache {
	char *dir;    /* NULL: caching off */
	json_t *old;  /* entries loaded from the file */
	json_t *used; /* entries looked up or stored in this run */
	bool changed; /* used differs from old */
};

static char *cache_dir(void)
{
	const char *env = getenv("PGO_SANDBOX_CACHE_DIR");
	const char *base;

	if (env != NULL)
		return env[0] ? xstrdup(env) : NULL;
	if (geteuid() == 0)
		return xstrdup("/var/cache/pgo-sandbox");
	base = getenv("XDG_CACHE_HOME");
	if (base != NULL && base[0] == '/')
		return xasprintf("%s/pgo-sandbox", base);
	base = getenv("HOME");
	if (base != NULL && base[0] == '/')
		return xasprintf("%s/.cache/pgo-sandbox", base);
	return NULL;
}

/* The file's entries, when it is ours and nobody else can write it. */
static json_t *load_entries(const char *dir)
{
	char *path = xasprintf("%s/%s", dir, TOOL_CACHE_FILE);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	json_t *doc = NULL, *tools = NULL;
	struct stat st;

	free(path);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    (st.st_mode & 022) == 0)
		doc = json_loadfd(fd, 0, NULL);
	close(fd);
	if (json_is_object(doc) &&
	    json_integer_value(json_object_get(doc, "format")) == TOOL_CACHE_FORMAT &&
	    json_is_object(json_object_get(doc, "tools")))
		tools = json_incref(json_object_get(doc, "tools"));
	json_decref(doc);
	return tools;
}

struct tool_cache *tool_cache_open(void)
{
	struct tool_cache *tc = xcalloc(1, sizeof(*tc));

	tc->dir = cache_dir();
	tc->old = tc->dir ? load_entries(tc->dir) : NULL;
	if (tc->old == NULL)
		tc->old = json_object();
	tc->used = json_object();
	return tc;
}

/* NULL when the file is missing or too fresh to be trusted by its stat. */
static char *entry_key(const char *name, const char *host_path, bool for_store)
{
	struct timespec now;
	struct stat st;

	if (stat(host_path, &st) < 0 || clock_gettime(CLOCK_REALTIME, &now) < 0)
		return NULL;
	if (for_store && (now.tv_sec - st.st_mtim.tv_sec < TOOL_CACHE_SETTLE_S ||
	                  now.tv_sec - st.st_ctim.tv_sec < TOOL_CACHE_SETTLE_S))
		return NULL;
	return xasprintf("%s %s dev=%ju ino=%ju size=%jd mtime=%lld.%09ld ctime=%lld.%09ld", name,
	                 host_path, (uintmax_t)st.st_dev, (uintmax_t)st.st_ino,
	                 (intmax_t)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
	                 (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

json_t *tool_cache_lookup(struct tool_cache *tc, const char *name, const char *host_path)
{
	char *key;
	json_t *hit;

	if (tc->dir == NULL || (key = entry_key(name, host_path, false)) == NULL)
		return NULL;
	hit = json_object_get(tc->old, key);
	if (json_is_object(hit)) {
		json_object_set(tc->used, key, hit);
		hit = json_deep_copy(hit);
	} else {
		hit = NULL;
	}
	free(key);
	return hit;
}

void tool_cache_store(struct tool_cache *tc, const char *name, const char *host_path, json_t *facts)
{
	char *key;

	if (tc->dir == NULL || (key = entry_key(name, host_path, true)) == NULL)
		return;
	json_object_set_new(tc->used, key, json_deep_copy(facts));
	tc->changed = true;
	free(key);
}

static void save(const struct tool_cache *tc)
{
	json_t *doc = json_pack("{s:i, s:O}", "format", TOOL_CACHE_FORMAT, "tools", tc->used);
	char *path = xasprintf("%s/%s", tc->dir, TOOL_CACHE_FILE);
	struct error ignored;

	/* A cache: failing to store it costs the next run time, nothing more. */
	if (doc != NULL && mkdir_p(tc->dir, 0700, &ignored) == 0)
		json_file_write(path, doc, JSON_SORT_KEYS | JSON_INDENT(1), 0600, &ignored);
	free(path);
	json_decref(doc);
}

void tool_cache_close(struct tool_cache *tc, bool save_used)
{
	if (tc == NULL)
		return;
	/* Entries of tools that are gone drop out; keep the file small. */
	if (save_used && tc->dir != NULL &&
	    (tc->changed || json_object_size(tc->used) != json_object_size(tc->old)))
		save(tc);
	json_decref(tc->old);
	json_decref(tc->used);
	free(tc->dir);
	free(tc);
}
