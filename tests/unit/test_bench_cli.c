/* test_bench_cli.c - bench options -> settings and session; every usage
 * error names the option. */
#define _GNU_SOURCE
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

#include "cli/bench.h"

#define ARGV(...) ((char *[]){"bench", __VA_ARGS__, NULL})

static int parse(char **argv, struct bench_options *o, struct bench_session *s, struct error *err)
{
	int argc = 0;
	int rc;

	while (argv[argc])
		argc++;
	rc = bench_cli_parse(argc, argv, o, err);

	bench_session_init(s);
	if (rc == 0)
		rc = bench_session_from_options(o, s, err);
	return rc;
}

static void expect_usage_error(char **argv, const char *needle)
{
	struct bench_options o;
	struct bench_session s;
	struct error err = {0};

	if (parse(argv, &o, &s, &err) != -1)
		fail_msg("accepted: %s %s ... (expected an error about '%s')", argv[1], argv[2],
		         needle);
	assert_int_equal(err.exit_code, EXIT_RUNNER_ERROR);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err.msg, needle);
	bench_session_free(&s);
	bench_options_free(&o);
}

static void test_single_command_defaults(void **state)
{
	char **argv = ARGV("--", "./minilang", "a b.ml");
	struct bench_options o;
	struct bench_session s;
	struct error err = {0};

	(void)state;
	assert_int_equal(parse(argv, &o, &s, &err), 0);
	assert_int_equal(s.n_variants, 1);
	assert_string_equal(s.variants[0].name, "command");
	assert_null(s.variants[0].command);
	assert_string_equal(s.variants[0].argv[1], "a b.ml"); /* not re-split */
	assert_int_equal(s.n_benchmarks, 1);
	assert_string_equal(s.benchmarks[0].name, "default");
	assert_int_equal(s.set.runs, 20);
	assert_int_equal(s.set.max_runs, 60);
	assert_true(s.set.threshold == 0.02);
	assert_int_equal(s.set.metric, METRIC_WALL);
	bench_session_free(&s);
	bench_options_free(&o);
}

static void test_variants_benchmarks_matrix(void **state)
{
	char **argv = ARGV("--runs", "7", "--variant", "a=./old 'bench/{bench}.ml' -q", "--variant",
	                   "b=./new bench/{bench}.ml", "--benchmarks", "fib_full_check_flow,dict",
	                   "--benchmark", "x=other value", "--matrix", "GC=1M,4M", "--matrix",
	                   "SCALE=1", "--threshold", "1.5%", "--fail-on-regression", "3", "--only",
	                   "*_full_check_flow", "--aa-control", "--seed", "99", "--ro-bind", "/src",
	                   "/src", "--setenv=K=V", "--userns");
	struct bench_options o;
	struct bench_session s;
	struct error err = {0};
	(void)state;
	assert_int_equal(parse(argv, &o, &s, &err), 0);
	assert_int_equal(s.set.runs, 8); /* rounded up: two runs per block */
	assert_int_equal(s.set.max_runs, 24);
	assert_true(s.set.threshold == 0.015);
	assert_true(s.set.fail_set && s.set.fail_pct == 3);
	assert_string_equal(s.set.only, "*_full_check_flow");
	assert_true(s.set.seed == 99);
	assert_int_equal(s.n_variants, 3);
	assert_string_equal(s.variants[0].name, "a");
	assert_int_equal(s.variants[0].role, ROLE_BASELINE);
	assert_string_equal(s.variants[0].argv[1], "bench/{bench}.ml");
	assert_string_equal(s.variants[0].argv[2], "-q");
	assert_int_equal(s.variants[1].role, ROLE_CANDIDATE);
	assert_string_equal(s.variants[2].name, "a~aa");
	assert_int_equal(s.variants[2].role, ROLE_AA_CONTROL);
	assert_string_equal(s.variants[2].command, s.variants[0].command);
	assert_int_equal(s.n_benchmarks, 3);
	assert_string_equal(s.benchmarks[2].name, "x");
	assert_string_equal(s.benchmarks[2].value, "other value");
	assert_int_equal(s.n_knobs, 2);
	assert_int_equal(bench_n_cells(&s), 2);
	assert_int_equal(o.n_sandbox_args, 6);
	assert_string_equal(o.sandbox_args[0], "--ro-bind");
	assert_string_equal(o.sandbox_args[2], "/src");
	assert_string_equal(o.sandbox_args[3], "--setenv");
	assert_string_equal(o.sandbox_args[4], "K=V");
	assert_string_equal(o.sandbox_args[5], "--userns");
	bench_session_free(&s);
	bench_options_free(&o);
}

static void test_baseline_candidate_and_artifacts(void **state)
{
	char dir[] = "/tmp/test-bench-cli.XXXXXX";
	struct bench_options o;
	struct bench_session s;
	struct error err = {0};
	char *tar;

	(void)state;
	assert_non_null(mkdtemp(dir));
	tar = xasprintf("%s/build.tar.zst", dir);
	assert_int_equal(write_file_atomic(tar, "x", 1, 0644, &err), 0);
	assert_true(bench_is_artifact(dir));
	assert_true(bench_is_artifact(tar));
	assert_false(bench_is_artifact("/bin/true"));
	assert_false(bench_is_artifact("./old x.ml"));
	{
		char **argv = ARGV("--baseline", tar, "--candidate", dir, "--", "{artifact}/bin/x");
		assert_int_equal(parse(argv, &o, &s, &err), 0);
		assert_string_equal(s.variants[0].name, "baseline");
		assert_string_equal(s.variants[0].artifact, tar);
		assert_string_equal(s.variants[1].artifact, dir);
		assert_string_equal(s.variants[1].argv[0], "{artifact}/bin/x");
		bench_session_free(&s);
		bench_options_free(&o);
	}
	{
		char **argv = ARGV("--baseline", tar, "--candidate", "./new");
		expect_usage_error(argv, "after --");
	}
	unlink(tar);
	rmdir(dir);
	free(tar);
}

static void test_usage_errors(void **state)
{
	(void)state;
	expect_usage_error(ARGV(NULL), "no command");
	expect_usage_error(ARGV("--variant", "a=x", "--"), "one --variant");
	expect_usage_error(ARGV("--baseline", "x"), "go together");
	expect_usage_error(ARGV("--runs", "1", "--", "x"), "--runs");
	expect_usage_error(ARGV("--runs", "many", "--", "x"), "--runs");
	expect_usage_error(ARGV("--runs", "10", "--max-runs", "4", "--", "x"), "--max-runs");
	expect_usage_error(ARGV("--threshold", "-1", "--", "x"), "--threshold");
	expect_usage_error(ARGV("--metric", "joules", "--", "x"), "--metric");
	expect_usage_error(ARGV("--seed", "18014398509481984", "--", "x"), "--seed");
	expect_usage_error(ARGV("--variant", "a b=x", "--variant", "c=y"), "NAME=CMD");
	expect_usage_error(ARGV("--variant", "a=x", "--variant", "a=y"), "used twice");
	expect_usage_error(ARGV("--variant", "a='x", "--variant", "b=y"), "unterminated");
	expect_usage_error(ARGV("--variant", "a=x {bench}", "--variant", "b=y"), "{bench}");
	expect_usage_error(ARGV("--matrix", "K-X=a", "--", "x"), "--matrix");
	expect_usage_error(ARGV("--matrix", "K=", "--", "x"), "no values");
	expect_usage_error(ARGV("--matrix", "K=1", "--matrix", "K=2", "--", "x"), "twice");
	expect_usage_error(ARGV("--benchmark", "a", "--benchmark", "a", "--", "x"), "twice");
	expect_usage_error(ARGV("--ro-bind", "/x", "--"), "SRC and DST");
	expect_usage_error(ARGV("--frobnicate", "--", "x"), "unknown option");
	expect_usage_error(ARGV("--rerun", "r.json", "--variant", "a=x", "--variant", "b=y"),
	                   "--rerun");
}

static void test_pct_parser(void **state)
{
	struct error err = {0};
	double p;

	(void)state;
	assert_int_equal(bench_parse_pct("2", &p, &err), 0);
	assert_true(p == 2);
	assert_int_equal(bench_parse_pct("2.5%", &p, &err), 0);
	assert_true(p == 2.5);
	assert_int_equal(bench_parse_pct("0", &p, &err), 0);
	assert_int_equal(bench_parse_pct("%", &p, &err), -1);
	assert_int_equal(bench_parse_pct("2%%", &p, &err), -1);
	assert_int_equal(bench_parse_pct("nan", &p, &err), -1);
	assert_int_equal(bench_parse_pct("", &p, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single_command_defaults),
	    cmocka_unit_test(test_variants_benchmarks_matrix),
	    cmocka_unit_test(test_baseline_candidate_and_artifacts),
	    cmocka_unit_test(test_usage_errors),
	    cmocka_unit_test(test_pct_parser),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
