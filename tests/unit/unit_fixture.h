/* unit_fixture.h - fixture helpers the unit tests share: the checkout a
 * test binary was built from, a temporary working directory, and files
 * written into the fake trees the tests build (sysfs, procfs, cgroup2, a
 * pipeline's sources).
 *
 * A helper that cannot do its work fails the running test with cmocka's
 * fail_msg, naming the path and strerror(errno): a fixture that cannot be
 * made is that test's failure, and no caller has an error to forget.  So
 * they are for tests and their setup functions only.  Linked into every
 * tests/unit/test_*.c by the Makefile's unit rule. */
#ifndef PGO_UNIT_FIXTURE_H
#define PGO_UNIT_FIXTURE_H

#include <limits.h>
#include <stddef.h>

#include "artifacts/digest.h"

/* The checkout, from the test binary's own path
 * (<checkout>/BUILD/tests/test_NAME), into `buf`: the tests that read
 * the shipped profiles find them whichever BUILD directory they run from. */
void unit_checkout_root(char *buf, size_t size);
/* `path` without its last `n` components ("/a/b/c/d", 3 -> "/a"), in
 * place; -1 when it has fewer than `n` slashes. */
int unit_strip_components(char *path, unsigned n);

/* A fresh directory that is also the cwd while a test runs, so that the
 * paths in the error messages it compares are short and relative. */
struct unit_tmpdir {
	char dir[64]; /* /tmp/NAME.XXXXXX */
	char old_cwd[PATH_MAX];
};

/* mkdtemp /tmp/NAME.XXXXXX and chdir into it. */
void unit_tmpdir_enter(struct unit_tmpdir *t, const char *name);
/* chdir back to where enter found us and remove the directory's tree. */
void unit_tmpdir_leave(struct unit_tmpdir *t);

/* `path` := the `len` bytes at `data` (mode 0644 when created, truncated
 * otherwise); missing parent directories are created. */
void unit_write(const char *path, const void *data, size_t len);
/* `path` := `text`, as unit_write. */
void unit_write_text(const char *path, const char *text);
/* root/rel := `text`, as unit_write. */
void unit_put(const char *root, const char *rel, const char *text);
/* root/rel := `value` and a newline, as the kernel's one-value files in
 * sysfs and procfs read. */
void unit_put_line(const char *root, const char *rel, const char *value);
/* root/rel and its missing parents, as directories. */
void unit_mkdir(const char *root, const char *rel);

/* The whole of `path`, NUL-terminated (caller frees); its length into
 * `len` unless NULL. */
char *unit_read(const char *path, size_t *len);
/* The whole of root/rel, as unit_read. */
char *unit_get(const char *root, const char *rel);

/* A stand-in artifact: `bytes` as DIR/BASE.tar.EXT and its digest
 * sidecar, the digest also into `digest` unless NULL.  Stage input
 * resolution verifies digests without opening the archive, so plain
 * bytes do. */
void unit_write_artifact(const char *dir, const char *base, const char *ext, const char *bytes,
                         char digest[DIGEST_STR_MAX]);

#endif
