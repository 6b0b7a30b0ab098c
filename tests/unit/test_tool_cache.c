/* test_tool_cache.c - the toolchain facts cache: hits only for an unchanged
 * file under the same name, never for a file changed within the settle
 * time, ignored when others can write it, and the host digest identical
 * with and without it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/image.h"
#include "image/tool_cache.h"
#include "unit_fixture.h"

struct fixture {
	char dir[64];
	char cache_dir[96];
	char tool[96];
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/pgo-tool-cache.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->cache_dir, sizeof(fx->cache_dir), "%s/cache", fx->dir);
	snprintf(fx->tool, sizeof(fx->tool), "%s/tool", fx->dir);
	assert_int_equal(setenv("PGO_SANDBOX_CACHE_DIR", fx->cache_dir, 1), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	struct error err = {0};

	assert_int_equal(remove_tree(fx->dir, &err), 0);
	unsetenv("PGO_SANDBOX_CACHE_DIR");
	free(fx);
	return 0;
}

static json_t *facts(const char *version)
{
	return json_pack("{s:s, s:s}", "sha256", "sha256:00", "version", version);
}

static void store(const char *name, const char *path, const char *version)
{
	struct tool_cache *tc = tool_cache_open();
	json_t *f = facts(version);

	tool_cache_store(tc, name, path, f);
	json_decref(f);
	tool_cache_close(tc, true);
}

/* The version stored for name/path, or NULL; caller frees. */
static char *lookup(const char *name, const char *path)
{
	struct tool_cache *tc = tool_cache_open();
	json_t *hit = tool_cache_lookup(tc, name, path);
	char *version = hit ? strdup(json_string_value(json_object_get(hit, "version"))) : NULL;

	json_decref(hit);
	tool_cache_close(tc, true);
	return version;
}

/* A file older than the settle time: its ctime cannot be set, so wait. */
static void settled_tool(const struct fixture *fx, const char *text)
{
	unit_write_text(fx->tool, text);
	sleep(TOOL_CACHE_SETTLE_S + 1);
}

static void test_hit_miss(void **state)
{
	struct fixture *fx = *state;
	char path[160];
	struct stat st;
	char *v;

	settled_tool(fx, "#!/bin/sh\necho one\n");
	assert_null(lookup("gcc", fx->tool));
	store("gcc", fx->tool, "gcc 12");
	snprintf(path, sizeof(path), "%s/%s", fx->cache_dir, TOOL_CACHE_FILE);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	v = lookup("gcc", fx->tool);
	assert_non_null(v);
	assert_string_equal(v, "gcc 12");
	free(v);
	/* cc is the same file but prints another first line */
	assert_null(lookup("cc", fx->tool));
	/* any change to the file misses, whatever its timestamps say */
	unit_write_text(fx->tool, "#!/bin/sh\necho two\n");
	assert_null(lookup("gcc", fx->tool));
}

static void test_fresh_file_not_stored(void **state)
{
	struct fixture *fx = *state;

	unit_write_text(fx->tool, "#!/bin/sh\necho fresh\n");
	store("gcc", fx->tool, "gcc 12");
	assert_null(lookup("gcc", fx->tool));
}

static void test_foreign_writable_file_ignored(void **state)
{
	struct fixture *fx = *state;
	char path[160];
	char *v;

	settled_tool(fx, "#!/bin/sh\necho one\n");
	store("gcc", fx->tool, "gcc 12");
	v = lookup("gcc", fx->tool);
	assert_non_null(v);
	free(v);
	snprintf(path, sizeof(path), "%s/%s", fx->cache_dir, TOOL_CACHE_FILE);
	assert_int_equal(chmod(path, 0620), 0);
	assert_null(lookup("gcc", fx->tool));
}

static void test_disabled(void **state)
{
	struct fixture *fx = *state;
	char path[160];

	settled_tool(fx, "#!/bin/sh\necho one\n");
	assert_int_equal(setenv("PGO_SANDBOX_CACHE_DIR", "", 1), 0);
	store("gcc", fx->tool, "gcc 12");
	assert_null(lookup("gcc", fx->tool));
	snprintf(path, sizeof(path), "%s/%s", fx->cache_dir, TOOL_CACHE_FILE);
	assert_int_equal(access(path, F_OK), -1);
}

static char *host_facts_text(char digest[DIGEST_STR_MAX])
{
	struct error err = {0};
	json_t *f = NULL;
	char *text;

	if (image_digest_host_at("/", IMAGE_VERSION_TIMEOUT_NS, digest, &f, &err) < 0)
		fail_msg("image_digest_host_at: %s", err.msg);
	text = json_dumps(f, JSON_SORT_KEYS);
	json_decref(f);
	return text;
}

/* The real host: no cache, cold cache, warm cache give the same facts. */
static void test_host_digest_same_with_cache(void **state)
{
	struct fixture *fx = *state;
	char d_off[DIGEST_STR_MAX], d_cold[DIGEST_STR_MAX], d_warm[DIGEST_STR_MAX];
	char path[160];
	char *off, *cold, *warm;

	assert_int_equal(setenv("PGO_SANDBOX_CACHE_DIR", "", 1), 0);
	off = host_facts_text(d_off);
	assert_int_equal(setenv("PGO_SANDBOX_CACHE_DIR", fx->cache_dir, 1), 0);
	cold = host_facts_text(d_cold);
	warm = host_facts_text(d_warm);
	snprintf(path, sizeof(path), "%s/%s", fx->cache_dir, TOOL_CACHE_FILE);
	assert_int_equal(access(path, F_OK), 0);
	assert_string_equal(off, cold);
	assert_string_equal(off, warm);
	assert_string_equal(d_off, d_warm);
	free(off);
	free(cold);
	free(warm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_hit_miss, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fresh_file_not_stored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_writable_file_ignored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_disabled, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_host_digest_same_with_cache, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
