/* Unit tests: resolving inside a root with hostile symlinks, with openat2
 * and with the O_NOFOLLOW walk used when openat2 is missing. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/path_resolve.h"

struct tree {
	char base[64]; /* holds root/ and outside/ */
	char root[128];
	char outside[128];
	int root_fd;
};

static int setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));
	char p[256];

	strcpy(t->base, "/tmp/pgo-resolve-XXXXXX");
	if (mkdtemp(t->base) == NULL)
		return -1;
	snprintf(t->root, sizeof(t->root), "%s/root", t->base);
	snprintf(t->outside, sizeof(t->outside), "%s/outside", t->base);
	mkdir(t->root, 0755);
	mkdir(t->outside, 0755);
	snprintf(p, sizeof(p), "%s/etc", t->root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/etc/inside-file", t->root);
	close(open(p, O_CREAT | O_WRONLY, 0644));
	snprintf(p, sizeof(p), "%s/secret", t->outside);
	close(open(p, O_CREAT | O_WRONLY, 0644));
	/* abs -> /etc (must mean root/etc), climb -> ../../outside, dot-dot games */
	snprintf(p, sizeof(p), "%s/abs", t->root);
	if (symlink("/etc", p) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/climb", t->root);
	if (symlink("../../../../outside", p) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/loop", t->root);
	if (symlink("loop", p) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/etc/rel", t->root);
	if (symlink("inside-file", p) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/etc/up", t->root);
	if (symlink("../../..", p) < 0)
		return -1;
	t->root_fd = open(t->root, O_PATH | O_DIRECTORY);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tree *t = *state;
	struct error err;

	close(t->root_fd);
	remove_tree(t->base, &err);
	free(t);
	return 0;
}

static void expect_same_file(int fd, const char *path)
{
	struct stat a, b;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(path, &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	close(fd);
}

static void check_resolution(struct tree *t, bool walk)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/etc/inside-file", t->root);
	expect_same_file(resolve_in_root(t->root_fd, "/abs/inside-file", O_PATH, walk), p);
	/* climbing out clamps at the root: root/outside does not exist */
	fd = resolve_in_root(t->root_fd, "/climb/secret", O_PATH, walk);
	assert_int_equal(fd, -1);
	fd = resolve_in_root(t->root_fd, "/../../outside/secret", O_PATH, walk);
	assert_int_equal(fd, -1);
	/* etc/up -> ../../.. ends at the root */
	expect_same_file(resolve_in_root(t->root_fd, "/etc/up/etc/inside-file", O_PATH, walk), p);
	expect_same_file(resolve_in_root(t->root_fd, "/", O_PATH, walk), t->root);
	assert_int_equal(resolve_in_root(t->root_fd, "/loop", O_PATH, walk), -1);
	assert_int_equal(errno, ELOOP);
	/* non-O_PATH opens give a readable fd */
	fd = resolve_in_root(t->root_fd, "/abs/inside-file", O_RDONLY, walk);
	assert_true(fd >= 0);
	close(fd);
	/* both resolvers fail the same way on the same inputs */
	assert_int_equal(resolve_in_root(t->root_fd, "/etc/inside-file/x", O_PATH, walk), -1);
	assert_int_equal(errno, ENOTDIR);
	assert_int_equal(
	    resolve_in_root(t->root_fd, "/etc/inside-file", O_PATH | O_DIRECTORY, walk), -1);
	assert_int_equal(errno, ENOTDIR);
	assert_int_equal(resolve_in_root(t->root_fd, "/etc/missing", O_PATH, walk), -1);
	assert_int_equal(errno, ENOENT);
	/* ".", trailing slashes, relative links, ".." right after a link */
	expect_same_file(resolve_in_root(t->root_fd, "/./etc/./inside-file", O_PATH, walk), p);
	expect_same_file(resolve_in_root(t->root_fd, "/etc/rel", O_PATH, walk), p);
	expect_same_file(resolve_in_root(t->root_fd, "/abs/../etc/inside-file", O_PATH, walk), p);
	snprintf(p, sizeof(p), "%s/etc", t->root);
	expect_same_file(resolve_in_root(t->root_fd, "/etc//", O_PATH | O_DIRECTORY, walk), p);
}

static void test_resolve_openat2(void **state)
{
	check_resolution(*state, false);
}

static void test_resolve_walk(void **state)
{
	check_resolution(*state, true);
}

static void check_mkpath(struct tree *t, bool walk)
{
	struct error err = {0};
	char p[256];
	struct stat st;
	int fd;

	fd = mkpath_in_root(t->root_fd, walk ? "/climb/w/new" : "/climb/o/new", true, walk, &err);
	/* climb resolves to root/outside, which does not exist inside: refused,
	 * and nothing appears in the real outside directory */
	assert_int_equal(fd, -1);
	snprintf(p, sizeof(p), "%s/%s", t->outside, walk ? "w" : "o");
	assert_int_equal(stat(p, &st), -1);
	fd = mkpath_in_root(t->root_fd, "/abs/made/deep", true, walk, &err);
	assert_true(fd >= 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/etc/made/deep", t->root);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	fd = mkpath_in_root(t->root_fd, "/abs/file-leaf", false, walk, &err);
	assert_true(fd >= 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/etc/file-leaf", t->root);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(p);
}

static void test_mkpath_openat2(void **state)
{
	check_mkpath(*state, false);
}

static void test_mkpath_walk(void **state)
{
	check_mkpath(*state, true);
}

/* Renames anywhere on the system make openat2(RESOLVE_IN_ROOT) answer
 * EAGAIN for a path that climbs ".." (the kernel cannot prove the climb
 * stayed inside); a full check's parallel stream hit it on
 * /usr/bin/ld.lld -> ../lib/llvm-19/bin/ld.lld.  A child renames in a
 * loop while resolution must keep succeeding. */
static void test_resolve_survives_renames(void **state)
{
	struct tree *t = *state;
	char a[256], b[256], p[256];

	snprintf(a, sizeof(a), "%s/rename-a", t->outside);
	snprintf(b, sizeof(b), "%s/rename-b", t->outside);
	close(open(a, O_CREAT | O_WRONLY, 0644));
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;) {
			if (rename(a, b) < 0 || rename(b, a) < 0)
				_exit(1);
		}
	}
	snprintf(p, sizeof(p), "%s/etc/inside-file", t->root);
	int failures = 0, first_errno = 0;
	for (int i = 0; i < 20000; i++) {
		int fd =
		    resolve_in_root(t->root_fd, "/etc/up/etc/../abs/inside-file", O_PATH, false);
		if (fd < 0) {
			if (failures++ == 0)
				first_errno = errno;
			continue;
		}
		close(fd);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (failures)
		fail_msg("%d of 20000 resolutions failed, first with %s", failures,
		         strerror(first_errno));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_resolve_openat2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_walk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mkpath_openat2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mkpath_walk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_survives_renames, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
