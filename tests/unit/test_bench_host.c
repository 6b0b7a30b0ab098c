/* test_bench_host.c - CPU topology against a fake sysfs tree, PSI and
 * /proc/stat steal parsing. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/bench_host.h"
#include "unit_fixture.h"

/* 4 CPUs, 2 cores with 2 threads each: {0,2} and {1,3}. */
static int make_tree(void **state)
{
	char tmpl[] = "/tmp/test-bench-host.XXXXXX";
	char *root = mkdtemp(tmpl) ? xstrdup(tmpl) : NULL;

	assert_non_null(root);
	unit_put(root, "sys/devices/system/cpu/online", "0-3\n");
	unit_put(root, "sys/devices/system/cpu/cpu0/topology/thread_siblings_list", "0,2\n");
	unit_put(root, "sys/devices/system/cpu/cpu2/topology/thread_siblings_list", "0,2\n");
	unit_put(root, "sys/devices/system/cpu/cpu1/topology/thread_siblings_list", "1,3\n");
	unit_put(root, "sys/devices/system/cpu/cpu3/topology/thread_siblings_list", "1,3\n");
	*state = root;
	return 0;
}

static int remove_tree_state(void **state)
{
	struct error err = {0};

	remove_tree(*state, &err);
	free(*state);
	return 0;
}

static void mask_of(const char *list, uint8_t mask[CPU_LIST_MAX / 8])
{
	struct error err = {0};

	assert_int_equal(parse_cpu_list(list, mask, &err), 0);
}

static void test_default_cpu_is_the_last_online(void **state)
{
	struct error err = {0};
	unsigned cpu = 0;

	assert_int_equal(host_default_cpu(*state, &cpu, &err), 0);
	assert_int_equal(cpu, 3);
	assert_int_equal(host_default_cpu("/nonexistent-root", &cpu, &err), -1);
	assert_non_null(strstr(err.msg, "online"));
}

static void test_smt_siblings_are_refused(void **state)
{
	struct error err = {0};
	uint8_t mask[CPU_LIST_MAX / 8];
	char *idle;

	mask_of("0,1", mask);
	assert_int_equal(host_check_smt(*state, mask, &err), 0);
	mask_of("1,3", mask);
	assert_int_equal(host_check_smt(*state, mask, &err), -1);
	assert_non_null(strstr(err.msg, "CPUs 1 and 3"));
	mask_of("3", mask);
	idle = host_idle_siblings(*state, mask);
	assert_string_equal(idle, "1");
	free(idle);
	mask_of("0-3", mask);
	idle = host_idle_siblings(*state, mask);
	assert_string_equal(idle, "");
	free(idle);
	assert_int_equal(host_cpu_siblings(*state, 2, mask, &err), 0);
	assert_true(mask[0] == 0x05);
}

static void test_psi_parse(void **state)
{
	uint64_t t = 0;

	(void)state;
	assert_int_equal(host_parse_psi_some_total("some avg10=19.56 avg60=16.26 avg300=14.65 "
	                                           "total=506699941\nfull avg10=0.00 avg60=0.00 "
	                                           "avg300=0.00 total=7\n",
	                                           &t),
	                 0);
	assert_true(t == 506699941ULL);
	assert_int_equal(host_parse_psi_some_total("full avg10=0.00 total=7\n", &t), -1);
	assert_int_equal(host_parse_psi_some_total("some avg10=1.0\n", &t), -1);
}

static void test_steal_parse(void **state)
{
	const char *stat = "cpu  262643 164 22180 246008 1892 0 203 999 0 0\n"
	                   "cpu0 121714 164 10427 133787 384 0 31 118 0 0\n"
	                   "cpu1 140929 0 11753 112221 1508 0 172 116 0 0\n"
	                   "cpu12 1 2 3 4 5 6 7 1000 0 0\n"
	                   "intr 1 2 3\nctxt 5\n";
	uint8_t mask[CPU_LIST_MAX / 8];
	uint64_t ticks = 0;

	(void)state;
	mask_of("1", mask);
	assert_int_equal(host_parse_steal(stat, mask, &ticks), 0);
	assert_true(ticks == 116);
	mask_of("0-1,12", mask);
	assert_int_equal(host_parse_steal(stat, mask, &ticks), 0);
	assert_true(ticks == 118 + 116 + 1000);
	mask_of("5", mask);
	assert_int_equal(host_parse_steal(stat, mask, &ticks), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_default_cpu_is_the_last_online, make_tree,
	                                    remove_tree_state),
	    cmocka_unit_test_setup_teardown(test_smt_siblings_are_refused, make_tree,
	                                    remove_tree_state),
	    cmocka_unit_test(test_psi_parse),
	    cmocka_unit_test(test_steal_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
