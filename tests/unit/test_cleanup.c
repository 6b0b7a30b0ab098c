/* test_cleanup.c - base/cleanup.h releases at scope exit, TAKE_* hands the
 * value out instead, and no cleanup changes errno. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>

#include "base/cleanup.h"

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void test_close_at_scope_exit(void **state)
{
	int seen;

	(void)state;
	{
		_cleanup_close_ int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

		assert_true(fd >= 0);
		seen = fd;
		errno = ENOENT;
	}
	assert_false(fd_open(seen));
	assert_int_equal(errno, EBADF); /* from fcntl, not from the cleanup */
	{
		_cleanup_close_ int none = -1;

		(void)none;
		errno = EAGAIN;
	}
	assert_int_equal(errno, EAGAIN);
}

static int open_kept(void)
{
	_cleanup_close_ int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	return TAKE_FD(fd);
}

static void test_take_fd_keeps_it_open(void **state)
{
	int fd = open_kept();

	(void)state;
	assert_true(fd >= 0);
	assert_true(fd_open(fd));
	close(fd);
}

static char *dup_kept(const char *s)
{
	_cleanup_free_ char *copy = strdup(s);

	return TAKE_PTR(copy);
}

static void test_take_ptr(void **state)
{
	char *s = dup_kept("kept");

	(void)state;
	assert_string_equal(s, "kept"); /* ASan would report a use after free */
	free(s);
}

static void test_fclose_at_scope_exit(void **state)
{
	int seen;

	(void)state;
	{
		_cleanup_fclose_ FILE *f = fopen("/dev/null", "re");

		assert_non_null(f);
		seen = fileno(f);
		assert_true(fd_open(seen));
	}
	assert_false(fd_open(seen));
	{
		_cleanup_fclose_ FILE *none = NULL;

		(void)none;
	}
}

static void test_json_decref_at_scope_exit(void **state)
{
	json_t *kept = json_object();

	(void)state;
	{
		_cleanup_json_ json_t *ref = json_incref(kept);

		assert_int_equal(kept->refcount, 2);
		(void)ref;
	}
	assert_int_equal(kept->refcount, 1);
	json_decref(kept);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_close_at_scope_exit),
	    cmocka_unit_test(test_take_fd_keeps_it_open),
	    cmocka_unit_test(test_take_ptr),
	    cmocka_unit_test(test_fclose_at_scope_exit),
	    cmocka_unit_test(test_json_decref_at_scope_exit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
