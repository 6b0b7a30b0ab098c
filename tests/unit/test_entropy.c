/* Unit tests: the deterministic entropy stream (sandbox/entropy.c) and the
 * /dev/urandom file it installs. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "sandbox/entropy.h"

/* Known answer, computed apart from nettle with a ChaCha20 written from
 * the specification in Python: key = SHA-256("pgo-sandbox entropy v1\0" ||
 * "abc"), 64-bit nonce 0, blocks 0 and 1. */
static const uint8_t abc_block0[16] = {0x74, 0x1c, 0x1d, 0x44, 0x0b, 0xb4, 0xf5, 0x64,
                                       0x3c, 0xe8, 0xdc, 0x24, 0x65, 0x29, 0xc2, 0xff};
static const uint8_t abc_block1[8] = {0xbc, 0x9e, 0xd0, 0x26, 0x48, 0x92, 0xca, 0x54};

static void test_known_answer(void **state)
{
	uint8_t buf[72];

	(void)state;
	entropy_stream("abc", 0, buf, sizeof(buf));
	assert_memory_equal(buf, abc_block0, sizeof(abc_block0));
	assert_memory_equal(buf + 64, abc_block1, sizeof(abc_block1));
}

static void test_same_seed_same_bytes_other_seed_other(void **state)
{
	uint8_t a[256], b[256], c[256];

	(void)state;
	entropy_stream("sha256:00ff", 0, a, sizeof(a));
	entropy_stream("sha256:00ff", 0, b, sizeof(b));
	entropy_stream("sha256:00fe", 0, c, sizeof(c));
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, c, sizeof(a));
}

static void test_offset_seeks(void **state)
{
	uint8_t whole[64 * 5], part[64 * 2];

	(void)state;
	entropy_stream("seek", 0, whole, sizeof(whole));
	entropy_stream("seek", 64 * 3, part, sizeof(part));
	assert_memory_equal(whole + 64 * 3, part, sizeof(part));
}

static void test_install_writes_the_stream(void **state)
{
	char dir[] = "/tmp/test_entropy.XXXXXX";
	struct error err = {0};
	uint8_t *want = xcalloc(1, ENTROPY_STREAM_BYTES), *got = xcalloc(1, ENTROPY_STREAM_BYTES);
	struct stat u, r;
	int dfd, fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	dfd = open(dir, O_PATH | O_DIRECTORY);
	assert_true(dfd >= 0);
	assert_int_equal(entropy_install(dfd, "install", &err), 0);
	assert_int_equal(fstatat(dfd, "urandom", &u, 0), 0);
	assert_int_equal(fstatat(dfd, "random", &r, 0), 0);
	assert_true(S_ISREG(u.st_mode));
	assert_int_equal(u.st_mode & 07777, 0444);
	assert_int_equal(u.st_size, ENTROPY_STREAM_BYTES);
	assert_int_equal(u.st_ino, r.st_ino); /* one file, two names */
	fd = openat(dfd, "urandom", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, got, ENTROPY_STREAM_BYTES), ENTROPY_STREAM_BYTES);
	close(fd);
	entropy_stream("install", 0, want, ENTROPY_STREAM_BYTES);
	assert_memory_equal(got, want, ENTROPY_STREAM_BYTES);
	/* a second install into the same directory is an error naming the file */
	assert_int_equal(entropy_install(dfd, "install", &err), -1);
	assert_non_null(strstr(err.msg, "/dev/urandom"));
	unlinkat(dfd, "urandom", 0);
	unlinkat(dfd, "random", 0);
	close(dfd);
	rmdir(dir);
	free(want);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_answer),
	    cmocka_unit_test(test_same_seed_same_bytes_other_seed_other),
	    cmocka_unit_test(test_offset_seeks),
	    cmocka_unit_test(test_install_writes_the_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
