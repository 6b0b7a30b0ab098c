/* Unit tests: size, duration, cpu-list and id parsers; atomic writes;
 * descriptor passing. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

static void test_parse_size(void **state)
{
	struct error err = {0};
	uint64_t v = 0;

	(void)state;
	assert_int_equal(parse_size("0", &v, &err), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_size("4k", &v, &err), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_size("512M", &v, &err), 0);
	assert_int_equal(v, 512ULL << 20);
	assert_int_equal(parse_size("2G", &v, &err), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(parse_size("3GiB", &v, &err), 0);
	assert_int_equal(v, 3ULL << 30);
	assert_int_equal(parse_size("1T", &v, &err), 0);
	assert_int_equal(v, 1ULL << 40);
	assert_int_equal(parse_size("12Q", &v, &err), -1);
	assert_non_null(strstr(err.msg, "12Q"));
	assert_int_equal(parse_size("", &v, &err), -1);
	assert_int_equal(parse_size("-1", &v, &err), -1);
	assert_int_equal(parse_size("1MM", &v, &err), -1);
	assert_int_equal(parse_size("99999999999999999999", &v, &err), -1);
	assert_int_equal(parse_size("17179869184G", &v, &err), -1); /* 2^64 overflows */
}

static void test_parse_duration(void **state)
{
	struct error err = {0};
	uint64_t v = 0;

	(void)state;
	assert_int_equal(parse_duration_ns("30", &v, &err), 0);
	assert_int_equal(v, 30000000000ULL);
	assert_int_equal(parse_duration_ns("1.5", &v, &err), 0);
	assert_int_equal(v, 1500000000ULL);
	assert_int_equal(parse_duration_ns("0.25s", &v, &err), 0);
	assert_int_equal(v, 250000000ULL);
	assert_int_equal(parse_duration_ns("0.0000000019", &v, &err), 0);
	assert_int_equal(v, 1);
	assert_int_equal(parse_duration_ns("abc", &v, &err), -1);
	assert_int_equal(parse_duration_ns("1.", &v, &err), -1);
	assert_int_equal(parse_duration_ns("1.5m", &v, &err), -1);
	assert_int_equal(parse_duration_ns("99999999999999999999", &v, &err), -1);
}

static void test_cpu_list_roundtrip(void **state)
{
	struct error err = {0};
	uint8_t mask[CPU_LIST_MAX / 8];
	char *text;

	(void)state;
	assert_int_equal(parse_cpu_list("0-3,6,8-9", mask, &err), 0);
	text = format_cpu_list(mask);
	assert_string_equal(text, "0-3,6,8-9");
	free(text);
	assert_int_equal(parse_cpu_list("5,1,2,3,3", mask, &err), 0);
	text = format_cpu_list(mask);
	assert_string_equal(text, "1-3,5");
	free(text);
	assert_int_equal(parse_cpu_list("1023", mask, &err), 0);
	assert_int_equal(parse_cpu_list("1024", mask, &err), -1);
	assert_int_equal(parse_cpu_list("3-1", mask, &err), -1);
	assert_non_null(strstr(err.msg, "reversed"));
	assert_int_equal(parse_cpu_list("", mask, &err), -1);
	assert_int_equal(parse_cpu_list("1,,2", mask, &err), -1);
	assert_int_equal(parse_cpu_list("a", mask, &err), -1);
	assert_int_equal(parse_cpu_list("1-", mask, &err), -1);
}

static void test_parse_uid(void **state)
{
	struct error err = {0};
	uint32_t v;

	(void)state;
	assert_int_equal(parse_uid("65534", &v, &err), 0);
	assert_int_equal(v, 65534);
	assert_int_equal(parse_uid("4294967295", &v, &err), -1);
	assert_int_equal(parse_uid("12a", &v, &err), -1);
}

static void test_write_file_atomic(void **state)
{
	char dir[] = "/tmp/pgo-util-XXXXXX";
	struct error err = {0};
	char *path, *data = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/out.json", dir);
	assert_int_equal(write_file_atomic(path, "abc", 3, 0640, &err), 0);
	assert_int_equal(read_file(path, &data, &len, &err), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(data, "abc", 3);
	free(data);
	/* a directory that does not exist: error names the path, nothing left */
	free(path);
	path = xasprintf("%s/missing/out.json", dir);
	assert_int_equal(write_file_atomic(path, "x", 1, 0640, &err), -1);
	assert_non_null(strstr(err.msg, path));
	free(path);
	path = xasprintf("%s/out.json", dir);
	unlink(path);
	rmdir(dir);
	free(path);
}

static void test_error_prefix(void **state)
{
	struct error err = {0};

	(void)state;
	error_set(&err, EXIT_RUNNER_ERROR, 2, "opening %s", "/x");
	assert_string_equal(err.msg, "opening /x: No such file or directory");
	error_prefix(&err, "--bind %s", "/y");
	assert_string_equal(err.msg, "--bind /y: opening /x: No such file or directory");
	assert_int_equal(err.exit_code, EXIT_RUNNER_ERROR);
	/* the errno survives the context, so callers can tell ENOENT from EAGAIN */
	assert_int_equal(err.errnum, ENOENT);
	error_set(&err, EXIT_RUNNER_ERROR, 0, "no errno");
	assert_int_equal(err.errnum, 0);
}

static void test_mkdir_p_and_remove_tree(void **state)
{
	char dir[] = "/tmp/pgo-util-XXXXXX";
	struct error err = {0};
	struct stat st;
	char *deep;

	(void)state;
	assert_non_null(mkdtemp(dir));
	deep = xasprintf("%s/a/b/c", dir);
	assert_int_equal(mkdir_p(deep, 0755, &err), 0);
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(mkdir_p(deep, 0755, &err), 0);
	assert_int_equal(remove_tree(dir, &err), 0);
	assert_int_equal(stat(dir, &st), -1);
	free(deep);
}

/* The runner hands the sandbox's network namespace over this way: the
 * descriptor must arrive working and close-on-exec, and a message without
 * one must say so rather than leave a stale number. */
static void test_send_and_recv_fd(void **state)
{
	int sv[2], pipefd[2], got = -2;
	char buf[4] = {0};

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(send_fd(sv[0], pipefd[1], "n", 1), 1);
	close(pipefd[1]);
	assert_int_equal(recv_fd(sv[1], &got, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'n');
	assert_true(got >= 0);
	assert_true(fcntl(got, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(got, "x", 1), 1);
	assert_int_equal(read(pipefd[0], buf, 1), 1);
	assert_int_equal(buf[0], 'x');
	close(got);

	assert_int_equal(send(sv[0], "ab", 2, 0), 2);
	assert_int_equal(recv_fd(sv[1], &got, buf, sizeof(buf)), 2);
	assert_int_equal(got, -1);

	/* a hung-up peer: EOF, no descriptor */
	close(sv[0]);
	assert_int_equal(recv_fd(sv[1], &got, buf, sizeof(buf)), 0);
	assert_int_equal(got, -1);
	close(sv[1]);
	close(pipefd[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_size),
	    cmocka_unit_test(test_parse_duration),
	    cmocka_unit_test(test_cpu_list_roundtrip),
	    cmocka_unit_test(test_parse_uid),
	    cmocka_unit_test(test_write_file_atomic),
	    cmocka_unit_test(test_error_prefix),
	    cmocka_unit_test(test_mkdir_p_and_remove_tree),
	    cmocka_unit_test(test_send_and_recv_fd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
