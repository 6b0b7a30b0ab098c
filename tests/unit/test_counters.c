/* test_counters.c - counter names and JSON, callgrind output parsing, and
 * the attach-before-exec path on a real child with software counters
 * (skipped where perf_event_open is refused altogether). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bench/callgrind.h"
#include "bench/counters.h"

static void test_names_round_trip(void **state)
{
	(void)state;
	for (int i = 0; i < CTR_COUNT; i++)
		assert_int_equal(counter_by_name(counter_name((enum counter_id)i)), i);
	assert_int_equal(counter_by_name("nonsense"), -1);
	assert_string_equal(counter_name(CTR_L1D_LOAD_MISSES), "L1-dcache-load-misses");
	assert_true(counter_is_hardware(CTR_DTLB_LOAD_MISSES));
	assert_false(counter_is_hardware(CTR_TASK_CLOCK));
}

static void test_json_round_trip(void **state)
{
	struct counter_values v = {0}, back;
	struct error err = {0};
	json_t *j;

	(void)state;
	j = counters_to_json(&v);
	assert_true(json_is_null(j));
	json_decref(j);
	v.valid = (1u << CTR_CYCLES) | (1u << CTR_BRANCH_MISSES);
	v.value[CTR_CYCLES] = 123456789012345ULL;
	v.value[CTR_BRANCH_MISSES] = 7;
	j = counters_to_json(&v);
	assert_int_equal(json_object_size(j), 2);
	assert_int_equal(counters_from_json(j, &back, &err), 0);
	assert_int_equal(back.valid, v.valid);
	assert_true(back.value[CTR_CYCLES] == v.value[CTR_CYCLES]);
	json_decref(j);

	j = json_pack("{s:i, s:s}", "future-counter", 5, "cycles", "many");
	assert_int_equal(counters_from_json(j, &back, &err), -1);
	assert_non_null(strstr(err.msg, "cycles"));
	json_decref(j);
}

static void test_probe_status_is_consistent(void **state)
{
	struct counter_probe p;

	(void)state;
	counters_probe(&p);
	if (p.hardware)
		assert_string_equal(p.status, "available");
	else
		assert_memory_equal(p.status, "unavailable: perf_event_open(", 29);
}

static void spin_cpu_ms(long ms)
{
	struct timespec t;

	do {
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	} while (t.tv_sec * 1000 + t.tv_nsec / 1000000 < ms);
}

/* The sandbox's shape: a process that never execs (init) forks the
 * command, which does.  Counters opened on the first before it runs must
 * count the command (inherit + enable_on_exec) and not the first's own
 * work (here 100 ms of CPU before the fork). */
static void test_counts_only_after_exec_through_a_fork(void **state)
{
	struct counter_probe p;
	struct counter_set cs;
	struct counter_values v;
	struct error err = {0};
	int go[2];
	pid_t pid;
	int status;

	(void)state;
	counters_probe(&p);
	if (!p.software && !p.hardware)
		skip();
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;
		pid_t cmd;

		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		spin_cpu_ms(100);
		cmd = fork();
		if (cmd == 0) {
			execl("/bin/sh", "sh", "-c", "exit 0", (char *)NULL);
			_exit(127);
		}
		waitpid(cmd, &status, 0);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 3);
	}
	close(go[0]);
	counter_set_init(&cs);
	assert_int_equal(counters_open(&cs, &p, COUNTERS_ALL, pid, &err), 0);
	assert_int_equal(write(go[1], "g", 1), 1);
	close(go[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	counters_read(&cs, &v);
	counters_close(&cs);
	if (!(v.valid & (1u << CTR_TASK_CLOCK)))
		skip(); /* opened but never scheduled: nothing to judge */
	assert_true(v.value[CTR_TASK_CLOCK] > 0);
	assert_true(v.value[CTR_TASK_CLOCK] < 50ULL * 1000 * 1000);
	assert_true(v.valid & (1u << CTR_PAGE_FAULTS));
	assert_true(v.value[CTR_PAGE_FAULTS] > 0);
	for (int i = 0; i < CTR_COUNT; i++)
		assert_int_equal(cs.fd[i], -1);
}

static void test_open_refuses_a_bad_pid(void **state)
{
	struct counter_probe p = {.software = true};
	struct counter_set cs;
	struct error err = {0};

	(void)state;
	counter_set_init(&cs);
	assert_int_equal(counters_open(&cs, &p, COUNTERS_ALL, 0, &err), -1);
	assert_int_equal(err.exit_code, EXIT_RUNNER_ERROR);
}

static void test_callgrind_parse(void **state)
{
	struct error err = {0};
	uint64_t ir = 0;

	(void)state;
	assert_int_equal(callgrind_parse_ir("# callgrind format\nversion: 1\ncmd: ./x\n"
	                                    "events: Ir\nfl=(1) a.c\nfn=(1) main\n1 5\n"
	                                    "summary: 3675835183\ntotals: 3675835183\n",
	                                    &ir, &err),
	                 0);
	assert_true(ir == 3675835183ULL);
	/* Ir is not always the first event (--cache-sim=yes) */
	assert_int_equal(callgrind_parse_ir("events: Dr Dw Ir I1mr\n"
	                                    "totals: 10 20 30 40\n",
	                                    &ir, &err),
	                 0);
	assert_true(ir == 30);
	assert_int_equal(callgrind_parse_ir("events: Ir\nsummary: 99\ntotals: 98\n", &ir, &err), 0);
	assert_true(ir == 99);
	assert_int_equal(callgrind_parse_ir("events: Dr\nsummary: 1\n", &ir, &err), -1);
	assert_non_null(strstr(err.msg, "no Ir"));
	assert_int_equal(callgrind_parse_ir("events: Ir\n", &ir, &err), -1);
	assert_int_equal(callgrind_parse_ir("events: Dr Ir\nsummary: 5\n", &ir, &err), -1);
	assert_int_equal(callgrind_parse_ir("", &ir, &err), -1);
}

static void test_callgrind_wrap(void **state)
{
	char *argv[] = {"./minilang", "a b.ml", NULL};
	char **w;

	(void)state;
	w = callgrind_wrap(argv, "/cg");
	assert_string_equal(w[0], "valgrind");
	assert_string_equal(w[1], "--tool=callgrind");
	assert_string_equal(w[2], "--trace-children=yes");
	assert_string_equal(w[3], "--callgrind-out-file=/cg/callgrind.out.%p");
	assert_string_equal(w[4], "--log-file=/cg/valgrind.log.%p");
	assert_string_equal(w[5], "--");
	assert_string_equal(w[6], "./minilang");
	assert_string_equal(w[7], "a b.ml");
	assert_null(w[8]);
	for (int i = 0; w[i]; i++)
		free(w[i]);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_round_trip),
	    cmocka_unit_test(test_json_round_trip),
	    cmocka_unit_test(test_probe_status_is_consistent),
	    cmocka_unit_test(test_counts_only_after_exec_through_a_fork),
	    cmocka_unit_test(test_open_refuses_a_bad_pid),
	    cmocka_unit_test(test_callgrind_parse),
	    cmocka_unit_test(test_callgrind_wrap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
