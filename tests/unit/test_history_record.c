/* test_history_record.c - the pure parts of the history: reading a bench
 * document of any schema version (record.h), the unpaired comparison
 * across time (samples.h), BMF export (export.h) and the trend chart
 * (trend.h). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "history/export.h"
#include "history/history.h"
#include "history/record.h"
#include "history/samples.h"
#include "history/store.h"
#include "history/trend.h"

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *doc = json_loads(text, 0, &e);

	if (doc == NULL)
		fail_msg("test JSON: line %d: %s", e.line, e.text);
	return doc;
}

static void test_run_value_accessor(void **state)
{
	json_t *run = parse("{\"wall_s\": 0.5, \"cpu_s\": 0.25, \"callgrind_ir\": null,"
	                    " \"counters\": {\"instructions\": 1000},"
	                    " \"cachegrind\": {\"estimated_cycles\": 2000}}");
	double v;

	(void)state;
	assert_true(record_run_value(run, "wall", &v) && v == 0.5);
	assert_true(record_run_value(run, "cpu", &v) && v == 0.25);
	/* callgrind_ir null: the instructions counter instead. */
	assert_true(record_run_value(run, "instructions", &v) && v == 1000);
	assert_true(record_run_value(run, "est-cycles", &v) && v == 2000);
	assert_false(record_run_value(run, "ops", &v)); /* reported: record_each_sample */
	assert_false(record_run_value(run, "missing", &v));
	/* no peak memory at all: not a sample */
	assert_false(record_run_value(run, "rss", &v));
	json_decref(run);
	/* rss: the run's rss_kib (memory.peak or wait4), else, in a result
	 * from before `rss`, wait4's peak_rss_kib; 0 means not measured */
	run = parse("{\"peak_rss_kib\": 1500, \"rss_kib\": 2048, \"rss_source\": \"memory.peak\"}");
	assert_true(record_run_value(run, "rss", &v) && v == 2048);
	json_decref(run);
	run = parse("{\"peak_rss_kib\": 1500}");
	assert_true(record_run_value(run, "rss", &v) && v == 1500);
	json_decref(run);
	run = parse("{\"peak_rss_kib\": 0}");
	assert_false(record_run_value(run, "rss", &v));
	json_decref(run);
}

static void test_metrics_default_and_v3(void **state)
{
	json_t *v2 = parse("{\"schema\": \"pgo-sandbox-bench\"}");
	json_t *v3 = parse("{\"metrics\": [{\"name\": \"ops\", \"unit\": \"M ops/s\","
	                   " \"direction\": \"higher\", \"source\": \"regex\"},"
	                   " {\"name\": \"wall\"}, {\"unit\": \"nameless\"}]}");
	struct record_metric m[8];

	(void)state;
	assert_int_equal(record_metrics(v2, m, 8), 5);
	assert_string_equal(m[0].name, "wall");
	assert_string_equal(m[3].name, "est-cycles");
	assert_string_equal(m[4].name, "rss");
	assert_string_equal(m[4].unit, "KiB");
	assert_string_equal(m[4].direction, "lower");
	assert_string_equal(m[2].direction, "lower");
	assert_int_equal(record_metrics(v3, m, 8), 2);
	assert_string_equal(m[0].name, "ops");
	assert_string_equal(m[0].direction, "higher");
	assert_string_equal(m[1].direction, "lower");
	assert_string_equal(record_direction(v3, "ops"), "higher");
	assert_string_equal(record_direction(v3, "wall"), "lower");
	assert_string_equal(record_direction(v2, "ops"), "lower");
	json_decref(v2);
	json_decref(v3);
}

static int collect(const struct record_sample *s, void *arg, struct error *err)
{
	(void)err;
	sample_sets_add(arg, s->benchmark, s->variant, s->cell, s->metric, s->value);
	return 0;
}

static void test_each_sample(void **state)
{
	json_t *doc = parse(
	    "{\"benchmarks\": [{\"name\": \"a\"}, {\"name\": \"b\"}],"
	    " \"variants\": [{\"name\": \"base\"}, {\"name\": \"pgo\"}],"
	    " \"cells\": [{\"label\": \"\"}, {\"label\": \"MALLOC=je\"}],"
	    " \"runs\": ["
	    "  {\"benchmark\": 0, \"variant\": 1, \"cell\": 1, \"wall_s\": 1.0, \"cpu_s\": 0.5},"
	    "  {\"benchmark\": 0, \"variant\": 1, \"cell\": 1, \"wall_s\": 9.0, \"warmup\": true},"
	    "  {\"benchmark\": 1, \"variant\": 0, \"cell\": 0, \"wall_s\": 2.0},"
	    "  {\"benchmark\": 7, \"variant\": \"named\", \"wall_s\": 3.0},"
	    /* schema 3: one process reporting two benchmarks of its own */
	    "  {\"benchmark\": 1, \"variant\": 1, \"cell\": 0, \"wall_s\": 2.5,"
	    "   \"reported\": {\"b/x\": {\"latency\": 10}, \"b/y\": {\"latency\": 20,"
	    " \"bad\": \"n/a\"}}}]}");
	struct sample_sets sets = {0};
	struct error err = {0};
	struct sample_series *x;

	(void)state;
	assert_int_equal(record_each_sample(doc, collect, &sets, &err), 0);
	assert_int_equal(sets.n, 7);
	x = sample_sets_find(&sets, "a", "pgo", "MALLOC=je", "wall");
	assert_non_null(x);
	assert_int_equal(x->n, 1); /* the warm-up is left out */
	assert_non_null(sample_sets_find(&sets, "a", "pgo", "MALLOC=je", "cpu"));
	assert_non_null(sample_sets_find(&sets, "b", "base", "", "wall"));
	assert_non_null(sample_sets_find(&sets, "?", "named", "", "wall"));
	x = sample_sets_find(&sets, "b/y", "pgo", "", "latency");
	assert_non_null(x);
	assert_true(x->n == 1 && x->v[0] == 20);
	assert_non_null(sample_sets_find(&sets, "b/x", "pgo", "", "latency"));
	assert_null(sample_sets_find(&sets, "b/y", "pgo", "", "bad"));
	sample_sets_free(&sets);
	json_decref(doc);
}

static void test_check_and_text(void **state)
{
	json_t *bad = parse("{\"schema\": \"other\"}");
	json_t *v = parse("{\"i\": 3, \"r\": 0.1, \"s\": \"x\", \"o\": {\"b\": 1, \"a\": 2}}");
	struct error err = {0};
	char *t;

	(void)state;
	assert_int_equal(record_check(bad, "f.json", &err), -1);
	assert_non_null(strstr(err.msg, "f.json: not a bench result"));
	assert_non_null(strstr(err.msg, "found other"));
	assert_string_equal((t = record_text(json_object_get(v, "i"))), "3");
	free(t);
	assert_string_equal((t = record_text(json_object_get(v, "r"))), "0.10000000000000001");
	free(t);
	assert_string_equal((t = record_text(json_object_get(v, "o"))), "{\"a\":2,\"b\":1}");
	free(t);
	assert_null(record_text(json_object_get(v, "missing")));
	assert_null(record_number(json_object_get(v, "s")));
	assert_string_equal((t = record_number(json_object_get(v, "r"))), "0.10000000000000001");
	free(t);
	assert_null(record_integer(json_object_get(v, "r")));
	assert_string_equal((t = record_integer(json_object_get(v, "i"))), "3");
	free(t);
	json_decref(bad);
	json_decref(v);
}

static void test_unpaired_direction(void **state)
{
	double a[8], b[8];
	struct unpaired u;
	struct error err = {0};

	(void)state;
	for (int i = 0; i < 8; i++) {
		a[i] = 100.0 * (1 + 0.001 * i);
		b[i] = 80.0 * (1 + 0.001 * i); /* 20 % lower */
	}
	/* Lower is better (a time): 20 % lower is better. */
	assert_int_equal(compare_unpaired(a, 8, b, 8, false, 2.0, 0.95, &u, &err), 0);
	assert_string_equal(u.verdict, "better");
	assert_false(u.regression);
	assert_true(fabs(u.pct + 20.0) < 0.5);
	assert_true(u.pct_lo < u.pct && u.pct < u.pct_hi);
	/* Higher is better (M ops/s): the same drop is a regression. */
	assert_int_equal(compare_unpaired(a, 8, b, 8, true, 2.0, 0.95, &u, &err), 0);
	assert_string_equal(u.verdict, "worse");
	assert_true(u.regression);
	/* Identical: no change within the 2 % threshold. */
	assert_int_equal(compare_unpaired(a, 8, a, 8, false, 2.0, 0.95, &u, &err), 0);
	assert_string_equal(u.verdict, "no change");
	/* Two samples each cannot reach 95 %: inconclusive, never a verdict. */
	assert_int_equal(compare_unpaired(a, 2, b, 2, false, 2.0, 0.95, &u, &err), 0);
	assert_string_equal(u.verdict, "inconclusive");
	/* Non-positive values cannot be logged. */
	b[0] = 0;
	assert_int_equal(compare_unpaired(a, 8, b, 8, false, 2.0, 0.95, &u, &err), 0);
	assert_int_equal(u.dropped, 1);
	assert_int_equal(u.nb, 7);
	assert_int_equal(compare_unpaired(a, 8, b, 1, false, 2.0, 0.95, &u, &err), -1);
}

static void test_bmf(void **state)
{
	struct sample_sets sets = {0};
	json_t *doc;

	(void)state;
	sample_sets_add(&sets, "a", "base", "", "wall", 1e-3);
	sample_sets_add(&sets, "a", "base", "", "wall", 3e-3);
	sample_sets_add(&sets, "a", "base", "", "wall", 2e-3);
	sample_sets_add(&sets, "a", "base", "", "ops", 60);
	sample_sets_add(&sets, "a", "base", "", "rss", 2048);
	doc = export_bmf(&sets);
	/* peak memory: Bencher's max-rss measure, in bytes (recorded in KiB) */
	assert_true(
	    json_real_value(json_object_get(json_object_get(json_object_get(doc, "a"), "max-rss"),
	                                    "value")) == 2048.0 * 1024);
	assert_null(json_object_get(json_object_get(doc, "a"), "rss"));
	/* One variant: the benchmark's own name; wall as latency in ns. */
	assert_true(fabs(json_real_value(json_object_get(
	                     json_object_get(json_object_get(doc, "a"), "latency"), "value")) -
	                 2e6) < 1e-6);
	assert_true(
	    json_real_value(json_object_get(json_object_get(json_object_get(doc, "a"), "latency"),
	                                    "upper_value")) == 3e6);
	assert_true(json_real_value(json_object_get(
	                json_object_get(json_object_get(doc, "a"), "ops"), "lower_value")) == 60);
	json_decref(doc);
	sample_sets_add(&sets, "a", "pgo", "K=1", "wall", 1e-3);
	doc = export_bmf(&sets);
	assert_non_null(json_object_get(doc, "a/base"));
	assert_non_null(json_object_get(doc, "a/pgo [K=1]"));
	json_decref(doc);
	sample_sets_free(&sets);
}

static void test_trend_svg(void **state)
{
	const char *commits[] = {"c1", "c2<script>", "c3", "c4"};
	struct trend_point pts[4] = {
	    {1.0, 0.9, 1.1}, {1.0, 0.9, 1.1}, {NAN, 0, 0}, {1.2, 1.1, 1.3}};
	struct step st = {.index = 3, .pct = 20, .pct_lo = 15, .pct_hi = 25};
	struct trend_series s = {"base & co", pts, &st, 1};
	struct trend_chart c = {"a: wall", "s", "4 runs", commits, 4, &s, 1};
	char *svg = trend_svg(&c), *html = trend_html(&c, svg);

	(void)state;
	assert_non_null(strstr(svg, "<svg xmlns"));
	assert_null(strstr(svg, "<script>")); /* labels are escaped */
	assert_non_null(strstr(svg, "c2&lt;script"));
	assert_non_null(strstr(svg, "base &amp; co"));
	assert_non_null(strstr(svg, "class='step'"));
	assert_non_null(strstr(svg, "step +20.0 %"));
	/* Three points drawn: the missing one is skipped. */
	{
		int n = 0;

		for (const char *p = svg; (p = strstr(p, "<circle")) != NULL; p++)
			n++;
		assert_int_equal(n, 3);
	}
	assert_non_null(strstr(html, svg));
	assert_non_null(strstr(html, "<td><code>c2&lt;script&gt;</code></td><td><code>c4"));
	free(svg);
	free(html);
}

static void test_store_kind(void **state)
{
	(void)state;
	assert_true(store_is_postgres("postgresql://ci@db/bench"));
	assert_true(store_is_postgres("postgres://db/bench"));
	assert_true(store_is_postgres("host=/tmp/sock dbname=x user=ci"));
	assert_true(store_is_postgres("dbname=x host=/tmp/sock"));
	assert_true(store_is_postgres("service=bench"));
	assert_false(store_is_postgres(".pgo-sandbox/history.sqlite"));
	assert_false(store_is_postgres("/srv/hostname=x.sqlite"));
	assert_false(store_is_postgres("./host=x"));
	assert_false(store_is_postgres("history.db"));
}

static void test_trend_hint(void **state)
{
	char *h = history_trend_hint("/srv/it's here.sqlite");

	(void)state;
	assert_string_equal(h, "pgo-sandbox history trend --store '/srv/it'\\''s here.sqlite'");
	free(h);
}

/* A finished result whose recording failed goes beside a file store, in
 * the current directory for a database. */
static void test_unrecorded_path(void **state)
{
	static const struct {
		const char *store, *want;
	} cases[] = {
	    {"h.sqlite", "h.sqlite.unrecorded-7.json"},
	    {"/a/b/h.sqlite", "/a/b/h.sqlite.unrecorded-7.json"},
	    {"/a/dir/", "/a/dir.unrecorded-7.json"},
	    {"rel/dir//", "rel/dir.unrecorded-7.json"},
	    {"postgresql://db.example/h", "pgo-bench-unrecorded-7.json"},
	    {"host=/run/pg dbname=h", "pgo-bench-unrecorded-7.json"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = history_unrecorded_path(cases[i].store, 7);

		assert_string_equal(got, cases[i].want);
		free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_run_value_accessor),
	    cmocka_unit_test(test_metrics_default_and_v3),
	    cmocka_unit_test(test_each_sample),
	    cmocka_unit_test(test_check_and_text),
	    cmocka_unit_test(test_unpaired_direction),
	    cmocka_unit_test(test_bmf),
	    cmocka_unit_test(test_trend_svg),
	    cmocka_unit_test(test_store_kind),
	    cmocka_unit_test(test_trend_hint),
	    cmocka_unit_test(test_unrecorded_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
