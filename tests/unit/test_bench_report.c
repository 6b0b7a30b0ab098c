/* test_bench_report.c - the Markdown table, the SVG (one point per run,
 * escaped text) and the JSON document's top level, on a synthetic session;
 * the integration test parses the real files (JSON schema, XML). */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/bench_analysis.h"
#include "bench/bench_report.h"

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void session(struct bench_session *s, double factor)
{
	char *argv[] = {"true", NULL};
	struct rng r;

	bench_session_init(s);
	bench_add_variant(s, "old<&>", ROLE_BASELINE, "true", argv, NULL);
	bench_add_variant(s, "new", ROLE_CANDIDATE, "true", argv, NULL);
	bench_add_benchmark(s, "fib_full_check_flow", "fib");
	s->set.fail_set = true;
	s->set.fail_pct = 1;
	rng_seed(&r, 1);
	for (size_t b = 0; b < 8; b++) {
		for (size_t pos = 0; pos < 4; pos++) {
			size_t v = (pos == 0 || pos == 3) ? b % 2 : 1 - b % 2;
			struct bench_run run = {.variant = v, .block = b, .position = pos};

			run.wall_s = 0.02 * (v ? factor : 1.0) * (1.0 + 0.002 * rng_uniform(&r));
			run.cpu_s = run.wall_s;
			bench_add_run(s, &run);
		}
	}
	{
		struct bench_run warm = {
		    .variant = 0, .block = BENCH_BLOCK_WARMUP, .wall_s = 1.0, .cpu_s = 1.0};
		bench_add_run(s, &warm);
	}
	s->blocks_done[0] = 8;
}

static void test_format_and_escape(void **state)
{
	char buf[32];
	char *e;

	(void)state;
	bench_format_value(NULL, 1.5, METRIC_WALL, buf, sizeof(buf));
	assert_string_equal(buf, "1.500 s");
	bench_format_value(NULL, 0.0234, METRIC_WALL, buf, sizeof(buf));
	assert_string_equal(buf, "23.40 ms");
	bench_format_value(NULL, 0.000812, METRIC_CPU, buf, sizeof(buf));
	assert_string_equal(buf, "812.0 us");
	bench_format_value(NULL, 3.6758e9, METRIC_INSTRUCTIONS, buf, sizeof(buf));
	assert_string_equal(buf, "3.676 G");
	bench_format_value(NULL, NAN, METRIC_WALL, buf, sizeof(buf));
	assert_string_equal(buf, "n/a");
	/* rss is in KiB */
	bench_format_value(NULL, 512, METRIC_RSS, buf, sizeof(buf));
	assert_string_equal(buf, "512 KiB");
	bench_format_value(NULL, 17640, METRIC_RSS, buf, sizeof(buf));
	assert_string_equal(buf, "17.2 MiB");
	bench_format_value(NULL, 3.5 * 1048576, METRIC_RSS, buf, sizeof(buf));
	assert_string_equal(buf, "3.50 GiB");
	assert_int_equal(bench_builtin_metric("rss"), METRIC_RSS);
	e = bench_xml_escape("a<b>&\"c'\x01");
	assert_string_equal(e, "a&lt;b&gt;&amp;&quot;c&apos;?");
	free(e);
}

static void test_markdown(void **state)
{
	struct bench_session s;
	struct bench_analysis a;
	char *md;

	(void)state;
	session(&s, 1.25);
	bench_analyse(&s, &a);
	md = bench_markdown(&s, &a);
	assert_non_null(strstr(md, "### pgo-sandbox bench: gate FAILED: regression"));
	assert_non_null(strstr(md, "| fib_full_check_flow | **old<&>** (baseline) |"));
	assert_non_null(strstr(md, "| fib_full_check_flow | new |"));
	assert_non_null(strstr(md, "**slower**"));
	assert_non_null(strstr(md, "| 16 |"));  /* runs: the warm-up is not counted */
	assert_int_equal(count(md, "\n|"), 4);  /* header, rule, two variants */
	assert_null(strstr(md, "Peak memory")); /* no run measured any */
	free(md);
	bench_analysis_free(&a);
	/* runs with a peak memory: its table follows the gate metric's */
	for (size_t i = 0; i < s.n_runs; i++)
		s.runs[i].rss_kib = 2048 + 1024 * s.runs[i].variant + (i % 3);
	bench_analyse(&s, &a);
	md = bench_markdown(&s, &a);
	assert_non_null(strstr(md, "\nPeak memory: **rss** from wait4 (lower is better).\n"));
	assert_non_null(strstr(md, "| fib_full_check_flow | new | 3.0 MiB | 3.0 MiB |"));
	assert_int_equal(count(md, "\n|"), 8);
	free(md);
	bench_analysis_free(&a);
	bench_session_free(&s);
}

static void test_svg(void **state)
{
	struct bench_session s;
	struct bench_analysis a;
	char *svg;

	(void)state;
	session(&s, 0.8);
	bench_analyse(&s, &a);
	svg = bench_svg(&s, &a);
	assert_true(strncmp(svg, "<?xml", 5) == 0);
	assert_non_null(strstr(svg, "</svg>\n"));
	assert_int_equal(count(svg, "<circle"), 32); /* measured runs only */
	assert_non_null(strstr(svg, "old&lt;&amp;&gt; (baseline)"));
	assert_null(strstr(svg, "old<&>"));
	assert_non_null(strstr(svg, "faster"));
	assert_int_equal(count(svg, "<svg"), 1);
	free(svg);
	bench_analysis_free(&a);
	bench_session_free(&s);
}

static void test_result_document(void **state)
{
	struct bench_session s;
	struct bench_analysis a;
	json_t *extra = json_pack("{s:s}", "rerun", "x");
	json_t *doc;

	(void)state;
	session(&s, 1.0);
	bench_analyse(&s, &a);
	doc = bench_result_json(&s, &a, extra);
	assert_string_equal(json_string_value(json_object_get(doc, "schema")), BENCH_SCHEMA);
	assert_int_equal(json_integer_value(json_object_get(doc, "schema_version")),
	                 BENCH_SCHEMA_VERSION);
	assert_int_equal(json_array_size(json_object_get(doc, "runs")), 33);
	assert_string_equal(json_string_value(json_object_get(doc, "rerun")), "x");
	assert_non_null(json_object_get(json_object_get(doc, "analysis"), "gate"));
	json_decref(doc);
	json_decref(extra);
	bench_analysis_free(&a);
	bench_session_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_and_escape),
	    cmocka_unit_test(test_markdown),
	    cmocka_unit_test(test_svg),
	    cmocka_unit_test(test_result_document),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
