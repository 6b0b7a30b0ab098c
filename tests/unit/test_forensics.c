/* test_forensics.c - slowdown classification from counters: each rule on
 * its own, a run without counters, callgrind's Ir standing in for the
 * instructions counter.  (The recorded files of tests/fixtures-bench are
 * exercised through the command in the integration tests.) */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/forensics.h"

struct profile {
	double cycles, instructions, branches, branch_misses, cache_refs, cache_misses, l1d, dtlb;
};

static const struct profile base = {1.0e9, 2.0e9, 4.0e8, 4.0e6, 5.0e7, 5.0e6, 3.0e7, 1.0e6};

static void add_runs(struct bench_session *s, size_t variant, const struct profile *p,
                     bool counters)
{
	for (size_t i = 0; i < 6; i++) {
		struct bench_run r = {.variant = variant, .block = i, .wall_s = p->cycles / 3e9};
		double jitter = 1.0 + 0.001 * (double)i;
		double v[] = {p->cycles,     p->instructions, p->branches, p->branch_misses,
		              p->cache_refs, p->cache_misses, p->l1d,      p->dtlb};

		if (counters) {
			for (int c = 0; c < 8; c++) {
				r.counters.value[c] = (uint64_t)(v[c] * jitter);
				r.counters.valid |= 1u << c;
			}
		}
		bench_add_run(s, &r);
	}
}

static void compare(const struct profile *b, bool b_counters, struct forensic_result *out)
{
	struct bench_session s;
	struct forensic_side sa, sb;
	char *argv[] = {"x", NULL};

	bench_session_init(&s);
	bench_add_variant(&s, "a", ROLE_BASELINE, "x", argv, NULL);
	bench_add_variant(&s, "b", ROLE_CANDIDATE, "x", argv, NULL);
	bench_add_benchmark(&s, "fib", "fib");
	s.conditions = json_pack("{s:s}", "counters",
	                         "unavailable: perf_event_open(cycles): No such file or directory");
	add_runs(&s, 0, &base, true);
	add_runs(&s, 1, b, b_counters);
	assert_int_equal(forensics_side(&s, 0, 0, "A.json", &sa), 0);
	assert_int_equal(forensics_side(&s, 0, 1, "B.json", &sb), 0);
	assert_true(fabs(sa.ipc - 2.0) < 1e-9);
	forensics_compare(&sa, &sb, out);
	forensics_side_free(&sa);
	forensics_side_free(&sb);
	bench_session_free(&s);
}

static bool evidence_has(const struct forensic_result *r, const char *needle)
{
	for (size_t i = 0; i < r->n_evidence; i++)
		if (strstr(r->evidence[i], needle))
			return true;
	return false;
}

static void expect_only(const struct forensic_result *r, int cls)
{
	for (int c = 0; c < FC_COUNT; c++)
		if (r->found[c] != (c == cls))
			fail_msg("class %s: found=%d", forensic_class_name((enum forensic_class)c),
			         r->found[c]);
}

static void test_ipc_drop_is_layout(void **state)
{
	struct profile p = base;
	struct forensic_result r;

	(void)state;
	p.cycles *= 1.10; /* same work, 10 % more cycles: IPC -9 % */
	compare(&p, true, &r);
	expect_only(&r, FC_LAYOUT);
	assert_true(evidence_has(&r, "IPC"));
	assert_true(evidence_has(&r, "=> code layout"));
	assert_int_equal(r.n_missing, 0);
	forensics_result_free(&r);

	p = base;
	p.cycles *= 1.02; /* 2 % is within the 3 % threshold */
	compare(&p, true, &r);
	expect_only(&r, -1);
	forensics_result_free(&r);
}

static void test_branch_misses_are_control_flow(void **state)
{
	struct profile p = base;
	struct forensic_result r;

	(void)state;
	p.branch_misses *= 1.5;
	compare(&p, true, &r);
	expect_only(&r, FC_BRANCH);
	assert_true(evidence_has(&r, "branch-miss rate"));
	forensics_result_free(&r);
}

static void test_cache_and_tlb_misses_are_data_layout(void **state)
{
	struct profile p = base;
	struct forensic_result r;

	(void)state;
	p.dtlb *= 1.3;
	compare(&p, true, &r);
	expect_only(&r, FC_DATA);
	assert_true(evidence_has(&r, "dTLB-load-misses/kinstr"));
	forensics_result_free(&r);

	p = base;
	p.l1d *= 1.2;
	p.cache_misses *= 1.2;
	compare(&p, true, &r);
	expect_only(&r, FC_DATA);
	forensics_result_free(&r);
}

static void test_more_instructions_is_more_work(void **state)
{
	struct profile p = base;
	struct forensic_result r;

	(void)state;
	/* 10 % more instructions at the same IPC, misses per instruction equal */
	p.instructions *= 1.1;
	p.cycles *= 1.1;
	p.branches *= 1.1;
	p.branch_misses *= 1.1;
	p.cache_misses *= 1.1;
	p.l1d *= 1.1;
	p.dtlb *= 1.1;
	compare(&p, true, &r);
	expect_only(&r, FC_WORK);
	forensics_result_free(&r);
}

static void test_missing_counters_say_so(void **state)
{
	struct forensic_result r;

	(void)state;
	compare(&base, false, &r);
	expect_only(&r, -1);
	assert_int_equal(r.n_evidence, 0);
	assert_int_equal(r.n_missing, 6);
	assert_non_null(strstr(r.missing[0], "IPC: cannot judge"));
	assert_non_null(strstr(r.missing[0], "B.json b/fib"));
	assert_non_null(strstr(r.missing[0], "No such file or directory"));
	forensics_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ipc_drop_is_layout),
	    cmocka_unit_test(test_branch_misses_are_control_flow),
	    cmocka_unit_test(test_cache_and_tlb_misses_are_data_layout),
	    cmocka_unit_test(test_more_instructions_is_more_work),
	    cmocka_unit_test(test_missing_counters_say_so),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
