/* test_digest.c - SHA-256 of buffers and files against known vectors, and
 * file digests agreeing with buffer digests across the read chunk size. */
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
#include <unistd.h>

#include <cmocka.h>

#include "artifacts/digest.h"

/* FIPS 180-2 / NIST examples */
static void test_buffer_vectors(void **state)
{
	char out[DIGEST_STR_MAX];

	(void)state;
	digest_buffer_sha256("", 0, out);
	assert_string_equal(out,
	                    "sha256:"
	                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	digest_buffer_sha256("abc", 3, out);
	assert_string_equal(out,
	                    "sha256:"
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	digest_buffer_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, out);
	assert_string_equal(out,
	                    "sha256:"
	                    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	assert_int_equal(strlen(out), 7 + 64);
}

static char *write_temp(const void *data, size_t len)
{
	char *path = strdup("/tmp/pgo-digest-test.XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	return path;
}

static void test_file_matches_buffer(void **state)
{
	/* not a multiple of the read chunk, spanning several of them */
	size_t len = 3 * 256 * 1024 + 12345;
	unsigned char *data = malloc(len);
	char a[DIGEST_STR_MAX], b[DIGEST_STR_MAX];
	struct error err = {0};
	char *path;

	(void)state;
	assert_non_null(data);
	for (size_t i = 0; i < len; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	path = write_temp(data, len);
	assert_int_equal(digest_file_sha256(path, a, &err), 0);
	digest_buffer_sha256(data, len, b);
	assert_string_equal(a, b);

	/* one byte changed, another digest */
	data[len / 2] ^= 1;
	digest_buffer_sha256(data, len, b);
	assert_string_not_equal(a, b);
	unlink(path);
	free(path);
	free(data);
}

static void test_file_known_vector(void **state)
{
	char out[DIGEST_STR_MAX];
	struct error err = {0};
	char *path = write_temp("abc", 3);

	(void)state;
	assert_int_equal(digest_file_sha256(path, out, &err), 0);
	assert_string_equal(out,
	                    "sha256:"
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	unlink(path);
	free(path);
}

static void test_file_errors(void **state)
{
	char out[DIGEST_STR_MAX];
	struct error err = {0};

	(void)state;
	assert_int_equal(digest_file_sha256("/nonexistent/pgo-digest", out, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/pgo-digest"));
	assert_non_null(strstr(err.msg, "No such file"));
	memset(&err, 0, sizeof(err));
	assert_int_equal(digest_file_sha256("/", out, &err), -1);
	assert_non_null(strstr(err.msg, "reading /"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buffer_vectors),
	    cmocka_unit_test(test_file_matches_buffer),
	    cmocka_unit_test(test_file_known_vector),
	    cmocka_unit_test(test_file_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
