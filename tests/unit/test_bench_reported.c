/* test_bench_reported.c - metric sources (regex, Google Benchmark, BMF,
 * criterion) parsed from synthetic outputs, their errors, and the
 * direction of a higher-is-better metric through the analysis: a 20 %
 * throughput drop is "slower" (worse) with a negative estimate. */
#define _GNU_SOURCE
#include <math.h>
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

#include "bench/bench_analysis.h"
#include "bench/bench_reported.h"
#include "unit_fixture.h"

struct got {
	char bench[8][64], metric[8][32];
	double value[8];
	int direction[8];
	size_t n;
};

static int collect(void *arg, const char *bench, const char *metric, const char *unit,
                   int direction, double value, struct error *err)
{
	struct got *g = arg;

	(void)unit;
	(void)err;
	assert_true(g->n < 8);
	snprintf(g->bench[g->n], 64, "%s", bench ? bench : "(own)");
	snprintf(g->metric[g->n], 32, "%s", metric);
	g->value[g->n] = value;
	g->direction[g->n] = direction;
	g->n++;
	return 0;
}

static int extract(const char *spec, const char *out, const char *dir, struct got *g,
                   struct error *err)
{
	struct reported_source src;
	struct reported_input in = {
	    .out = out, .out_len = out ? strlen(out) : 0, .report_dir = dir};
	struct reported_sink sink = {collect, g};
	int rc;

	memset(g, 0, sizeof(*g));
	assert_int_equal(reported_source_parse(spec, &src, err), 0);
	rc = reported_extract(&src, &in, &sink, err);
	reported_source_free(&src);
	return rc;
}

static void test_regex(void **state)
{
	struct error err = {0};
	struct got g;

	(void)state;
	assert_int_equal(extract("regex:ops:M ops/s:higher:= ([0-9.]+) M ops/s",
	                         "setup\nalloc: throughput = 53.81 M ops/s\n", NULL, &g, &err),
	                 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.bench[0], "(own)");
	assert_true(fabs(g.value[0] - 53.81) < 1e-9);
	assert_int_equal(g.direction[0], DIRECTION_HIGHER);
	/* two captures: a benchmark per match */
	assert_int_equal(extract("regex:t:ns:lower:^([a-z_]+): ([0-9]+) ns",
	                         "a: 10 ns\nb_c: 20 ns\n", NULL, &g, &err),
	                 0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.bench[1], "b_c");
	/* missing, twice, not a number: errors that show the text */
	assert_int_equal(
	    extract("regex:ops:x:higher:= ([0-9.]+) M", "nothing here\n", NULL, &g, &err), -1);
	assert_non_null(strstr(err.msg, "no match in the output ('nothing here"));
	assert_int_equal(extract("regex:ops:x:higher:= ([0-9.]+)", "= 1\n= 2\n", NULL, &g, &err),
	                 -1);
	assert_non_null(strstr(err.msg, "more than once"));
	assert_int_equal(extract("regex:ops:x:higher:= ([0-9a-z.]+)", "= 1.2.3\n", NULL, &g, &err),
	                 -1);
	assert_non_null(strstr(err.msg, "'= 1.2.3' is not a number"));
}

static void test_source_errors(void **state)
{
	struct reported_source src;
	struct error err = {0};

	(void)state;
	assert_int_equal(reported_source_parse("regex:ops:x:sideways:(1)", &src, &err), -1);
	assert_non_null(strstr(err.msg, "higher or lower"));
	reported_source_free(&src);
	assert_int_equal(reported_source_parse("regex:ops:x:higher:no capture", &src, &err), -1);
	assert_non_null(strstr(err.msg, "capture"));
	reported_source_free(&src);
	assert_int_equal(reported_source_parse("json:yaml", &src, &err), -1);
	reported_source_free(&src);
	assert_int_equal(reported_source_parse("json:bmf:../escape.json", &src, &err), -1);
	assert_non_null(strstr(err.msg, "stays inside"));
	reported_source_free(&src);
	assert_int_equal(reported_source_parse("json:criterion", &src, &err), 0);
	assert_string_equal(reported_source_default_metric(&src), "time");
	assert_false(reported_source_reads_stdout(&src));
	reported_source_free(&src);
}

static void test_gbench(void **state)
{
	const char *out =
	    "{\"benchmarks\": ["
	    "{\"name\": \"BM_a\", \"run_type\": \"iteration\", \"real_time\": 2, \"cpu_time\": 1,"
	    " \"time_unit\": \"us\", \"items_per_second\": 5e5},"
	    "{\"name\": \"BM_a\", \"run_type\": \"iteration\", \"real_time\": 4, \"cpu_time\": 3,"
	    " \"time_unit\": \"us\", \"items_per_second\": 3e5},"
	    "{\"name\": \"BM_a_mean\", \"run_type\": \"aggregate\", \"real_time\": 99, "
	    "\"cpu_time\": 99,"
	    " \"time_unit\": \"us\"}]}";
	struct error err = {0};
	struct got g;

	(void)state;
	assert_int_equal(extract("json:gbench", out, NULL, &g, &err), 0);
	assert_int_equal(g.n, 3); /* real_time, cpu_time, items_per_second of BM_a */
	assert_string_equal(g.bench[0], "BM_a");
	assert_string_equal(g.metric[0], "real_time");
	assert_true(fabs(g.value[0] - 3000.0) < 1e-9); /* mean of the repetitions, in ns */
	assert_string_equal(g.metric[2], "items_per_second");
	assert_int_equal(g.direction[2], DIRECTION_HIGHER);
	assert_int_equal(extract("json:gbench", "{\"context\": {}}", NULL, &g, &err), -1);
	assert_non_null(strstr(err.msg, "no \"benchmarks\""));
	assert_int_equal(extract("json:gbench", "not json", NULL, &g, &err), -1);
	assert_non_null(strstr(err.msg, "stdout is not JSON"));
}

static void test_bmf_and_criterion(void **state)
{
	char dir[] = "/tmp/test-reported.XXXXXX";
	struct error err = {0};
	struct got g;

	(void)state;
	assert_int_equal(
	    extract("json:bmf",
	            "{\"x\": {\"latency\": {\"value\": 7}, \"throughput\": {\"value\": 9}}}", NULL,
	            &g, &err),
	    0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.direction[0], DIRECTION_LOWER);
	assert_int_equal(g.direction[1], DIRECTION_HIGHER);
	assert_int_equal(extract("json:bmf", "{\"x\": {\"latency\": {}}}", NULL, &g, &err), -1);
	assert_non_null(strstr(err.msg, "x/latency"));
	assert_non_null(mkdtemp(dir));
	{
		char *p = xasprintf("%s/criterion/grp/one/new", dir);
		char *est = xasprintf("%s/estimates.json", p),
		     *meta = xasprintf("%s/benchmark.json", p);

		unit_write_text(est, "{\"mean\": {\"point_estimate\": 12.5}, \"slope\": null}");
		unit_write_text(meta, "{\"full_id\": \"grp/one\"}");
		free(p);
		free(est);
		free(meta);
	}
	assert_int_equal(extract("json:criterion", NULL, dir, &g, &err), 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.bench[0], "grp/one");
	assert_true(fabs(g.value[0] - 12.5) < 1e-9);
	/* the benchmark writes that directory: a link it planted is never
	 * followed, neither as a file nor as a directory */
	{
		char *p = xasprintf("%s/criterion/evil/new", dir);
		char *est = xasprintf("%s/estimates.json", p),
		     *ln = xasprintf("%s/criterion/out", dir);

		assert_int_equal(mkdir_p(p, 0755, &err), 0);
		assert_int_equal(symlink("/etc/passwd", est), 0);
		assert_int_equal(symlink("/", ln), 0);
		assert_int_equal(extract("json:criterion", NULL, dir, &g, &err), -1);
		assert_non_null(strstr(err.msg, "estimates.json"));
		assert_int_equal(unlink(est), 0);
		assert_int_equal(rmdir(p), 0);
		/* the link to / is skipped: only grp/one is read */
		assert_int_equal(extract("json:criterion", NULL, dir, &g, &err), 0);
		assert_int_equal(g.n, 1);
		free(p);
		free(est);
		free(ln);
	}
	assert_int_equal(remove_tree(dir, &err), 0);
	assert_int_equal(extract("json:criterion", NULL, "/nonexistent-dir", &g, &err), -1);
}

/* A throughput metric whose candidate reports 20 % less in every block. */
static void test_direction_through_the_analysis(void **state)
{
	char *argv[] = {"true", NULL};
	struct bench_session s;
	struct bench_analysis a;
	struct error err = {0};
	int m;

	(void)state;
	bench_session_init(&s);
	bench_add_variant(&s, "base", ROLE_BASELINE, "true", argv, NULL);
	bench_add_variant(&s, "cand", ROLE_CANDIDATE, "true", argv, NULL);
	bench_add_benchmark(&s, "default", "");
	m = bench_metric_intern(&s, "ops", "M ops/s", DIRECTION_HIGHER, "test", &err);
	assert_int_equal(m, METRIC_BUILTIN_COUNT);
	s.set.metric = (enum bench_metric)m;
	s.set.fail_set = true;
	s.set.fail_pct = 5;
	for (size_t b = 0; b < 10; b++) {
		for (size_t i = 0; i < 4; i++) {
			struct bench_run r = {.bench = 0,
			                      .variant = i % 2,
			                      .block = b,
			                      .position = i,
			                      .wall_s = 0.01,
			                      .cpu_s = 0.01};

			r.reported = xcalloc(1, sizeof(*r.reported));
			r.n_reported = 1;
			r.reported[0] = (struct bench_reported){0, (enum bench_metric)m,
			                                        (i % 2 ? 40.0 : 50.0) *
			                                            (1 + 0.001 * (double)b)};
			bench_add_run(&s, &r);
		}
		s.blocks_done[0]++;
	}
	bench_analyse(&s, &a);
	for (size_t i = 0; i < a.n_cmp; i++) {
		if (a.cmp[i].metric != (enum bench_metric)m)
			continue;
		assert_int_equal(a.cmp[i].c.verdict, VERDICT_SLOWER);
		assert_true(fabs(a.cmp[i].c.pct + 20.0) < 1e-6);
		assert_true(a.cmp[i].c.pct_lo <= a.cmp[i].c.pct &&
		            a.cmp[i].c.pct <= a.cmp[i].c.pct_hi);
		assert_true(fabs(bench_cmp_worse_pct(&s, &a.cmp[i]) - 20.0) < 1e-6);
	}
	assert_int_equal(a.gate.exit_code, BENCH_EXIT_REGRESSION);
	bench_analysis_free(&a);
	bench_session_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_regex),
	    cmocka_unit_test(test_source_errors),
	    cmocka_unit_test(test_gbench),
	    cmocka_unit_test(test_bmf_and_criterion),
	    cmocka_unit_test(test_direction_through_the_analysis),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
