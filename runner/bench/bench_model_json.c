/* bench_model_json.c - a bench session as the result document
 * (docs/bench.md "JSON result"); bench_model_load.c reads it back. */
#define _GNU_SOURCE
#include "bench/bench_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes_json.h"

json_t *json_real_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *list_json(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *settings_json(const struct bench_settings *set)
{
	json_t *o = json_object();

	json_object_set_new(o, "runs", json_integer((json_int_t)set->runs));
	json_object_set_new(o, "warmup", json_integer((json_int_t)set->warmup));
	json_object_set_new(o, "max_runs", json_integer((json_int_t)set->max_runs));
	json_object_set_new(o, "threshold_pct", json_real(set->threshold * 100.0));
	json_object_set_new(o, "confidence", json_real(set->confidence));
	json_object_set_new(o, "seed", json_integer((json_int_t)set->seed));
	json_object_set_new(o, "metric",
	                    json_string(set->metric_reported
	                                    ? set->metric_reported
	                                    : bench_builtin_metric_name(set->metric)));
	json_object_set_new(o, "fail_on_regression_pct",
	                    set->fail_set ? json_real(set->fail_pct) : json_null());
	json_object_set_new(o, "only", json_string_or_null(set->only));
	json_object_set_new(o, "strict", json_boolean(set->strict));
	json_object_set_new(o, "aa_control", json_boolean(set->aa_control));
	json_object_set_new(o, "randomize_layout", json_boolean(set->randomize_layout));
	json_object_set_new(o, "counters", json_boolean(set->counters));
	json_object_set_new(o, "callgrind", json_boolean(set->callgrind));
	json_object_set_new(o, "cachegrind", json_boolean(set->cachegrind));
	json_object_set_new(o, "metric_sources",
	                    list_json(set->metric_sources, set->n_metric_sources));
	json_object_set_new(o, "metric_directions",
	                    list_json(set->metric_directions, set->n_metric_directions));
	return o;
}

/* {"benchmark": {"metric": value}}: Bencher's BMF shape, per run. */
static json_t *reported_json(const struct bench_session *s, const struct bench_run *r)
{
	json_t *o = json_object();

	for (size_t i = 0; i < r->n_reported; i++) {
		const char *bench = s->benchmarks[r->reported[i].bench].name;
		json_t *per = json_object_get(o, bench);

		if (per == NULL) {
			per = json_object();
			json_object_set_new(o, bench, per);
		}
		json_object_set_new(per, bench_metric_name(s, r->reported[i].metric),
		                    json_real_or_null(r->reported[i].value));
	}
	return o;
}

static json_t *run_json(const struct bench_session *s, const struct bench_run *r)
{
	json_t *o = json_object();
	json_t *outl = json_object();

	json_object_set_new(o, "seq", json_integer((json_int_t)r->seq));
	json_object_set_new(o, "benchmark", json_integer((json_int_t)r->bench));
	json_object_set_new(o, "variant", json_integer((json_int_t)r->variant));
	json_object_set_new(o, "cell", json_integer((json_int_t)r->cell));
	json_object_set_new(o, "warmup", json_boolean(r->block == BENCH_BLOCK_WARMUP));
	json_object_set_new(o, "block",
	                    r->block == BENCH_BLOCK_WARMUP ? json_null()
	                                                   : json_integer((json_int_t)r->block));
	json_object_set_new(o, "position", json_integer((json_int_t)r->position));
	json_object_set_new(o, "pad", json_integer(r->pad));
	json_object_set_new(o, "exit_code", json_integer(r->exit_code));
	json_object_set_new(o, "wall_s", json_real_or_null(r->wall_s));
	json_object_set_new(o, "user_s", json_real_or_null(r->user_s));
	json_object_set_new(o, "system_s", json_real_or_null(r->system_s));
	json_object_set_new(o, "cpu_s", json_real_or_null(r->cpu_s));
	json_object_set_new(o, "cpu_source", json_string(cpu_source_name(r->cpu_source)));
	json_object_set_new(o, "peak_rss_kib", json_integer((json_int_t)r->peak_rss_kib));
	json_object_set_new(o, "rss_kib", json_integer((json_int_t)r->rss_kib));
	json_object_set_new(o, "rss_source", json_string(rss_source_name(r->rss_source)));
	json_object_set_new(o, "psi_some_us", r->has_psi ? json_real(r->psi_some_us) : json_null());
	json_object_set_new(o, "steal_s", r->has_steal ? json_real(r->steal_s) : json_null());
	json_object_set_new(o, "harness_us", json_real_or_null(r->harness_us));
	json_object_set_new(o, "counters", counters_to_json(&r->counters));
	json_object_set_new(o, "counters_running",
	                    r->counters.valid ? json_real(r->counters.running) : json_null());
	json_object_set_new(o, "callgrind_ir",
	                    r->has_ir ? json_integer((json_int_t)r->ir) : json_null());
	json_object_set_new(o, "cachegrind",
	                    r->has_sim ? sim_counters_to_json(&r->sim) : json_null());
	json_object_set_new(o, "reported", reported_json(s, r));
	for (size_t m = 0; m < bench_n_metrics(s); m++)
		json_object_set_new(outl, bench_metric_name(s, (enum bench_metric)m),
		                    json_boolean(r->outlier[m]));
	json_object_set_new(o, "outlier", outl);
	return o;
}

static json_t *metrics_json(const struct bench_session *s)
{
	json_t *a = json_array();

	for (size_t m = 0; m < bench_n_metrics(s); m++) {
		const struct bench_metric_def *d = bench_reported_def(s, (enum bench_metric)m);

		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:s, s:s}", "name",
		                 bench_metric_name(s, (enum bench_metric)m), "unit",
		                 bench_metric_unit(s, (enum bench_metric)m), "direction",
		                 direction_name(bench_metric_direction(s, (enum bench_metric)m)),
		                 "source",
		                 d                 ? d->source
		                 : m == METRIC_RSS ? rss_source_name(bench_rss_source(s))
		                                   : "process"));
	}
	return a;
}

static json_t *cells_json(const struct bench_session *s)
{
	json_t *a = json_array();

	for (size_t c = 0; c < bench_n_cells(s); c++) {
		json_t *o = json_object(), *env = json_object();
		char *label = bench_cell_label(s, c);

		for (size_t k = 0; k < s->n_knobs; k++)
			json_object_set_new(
			    env, s->knobs[k].key,
			    json_string(s->knobs[k].values[bench_cell_level(s, c, k)]));
		json_object_set_new(o, "index", json_integer((json_int_t)c));
		json_object_set_new(o, "label", json_string(label));
		json_object_set_new(o, "env", env);
		json_array_append_new(a, o);
		free(label);
	}
	return a;
}

/* One variant: its name, role, command and words; the exact bytes beside
 * the text (read back by --rerun) when some are not UTF-8. */
static json_t *variant_json(const struct bench_variant *v)
{
	json_t *o = json_object();
	bool needs_b64;

	json_object_set_new(o, "name", json_string(v->name));
	json_object_set_new(o, "role", json_string(role_name(v->role)));
	json_object_set_new(o, "command", v->command ? json_text(v->command) : json_null());
	json_object_set_new(o, "argv", strv_text_json(v->argv, &needs_b64));
	if (v->command && !utf8_valid(v->command)) {
		char *b = base64_encode((const unsigned char *)v->command, strlen(v->command));

		json_object_set_new(o, "command_b64", json_string(b));
		free(b);
	}
	if (needs_b64)
		json_object_set_new(o, "argv_b64", strv_b64_json(v->argv));
	json_object_set_new(o, "artifact", json_string_or_null(v->artifact));
	json_object_set_new(o, "preload", json_string_or_null(v->preload));
	json_object_set_new(o, "digest", json_string_or_null(v->digest[0] ? v->digest : NULL));
	return o;
}

void bench_session_to_json(const struct bench_session *s, json_t *doc)
{
	json_t *variants = json_array(), *benchmarks = json_array(), *knobs = json_array();
	json_t *runs = json_array();

	json_object_set_new(doc, "settings", settings_json(&s->set));
	json_object_set_new(doc, "metrics", metrics_json(s));
	for (size_t i = 0; i < s->n_variants; i++)
		json_array_append_new(variants, variant_json(&s->variants[i]));
	json_object_set_new(doc, "variants", variants);
	for (size_t i = 0; i < s->n_benchmarks; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(s->benchmarks[i].name));
		json_object_set_new(o, "value", json_string(s->benchmarks[i].value));
		json_object_set_new(o, "blocks", json_integer((json_int_t)s->blocks_done[i]));
		json_object_set_new(o, "parent",
		                    s->benchmarks[i].parent == BENCH_NO_PARENT
		                        ? json_null()
		                        : json_integer((json_int_t)s->benchmarks[i].parent));
		json_array_append_new(benchmarks, o);
	}
	json_object_set_new(doc, "benchmarks", benchmarks);
	for (size_t i = 0; i < s->n_knobs; i++) {
		json_t *o = json_object(), *vals = json_array();

		for (size_t j = 0; j < s->knobs[i].n_values; j++)
			json_array_append_new(vals, json_string(s->knobs[i].values[j]));
		json_object_set_new(o, "key", json_string(s->knobs[i].key));
		json_object_set_new(o, "values", vals);
		json_array_append_new(knobs, o);
	}
	json_object_set_new(doc, "knobs", knobs);
	json_object_set_new(doc, "cells", cells_json(s));
	for (size_t i = 0; i < s->n_runs; i++)
		json_array_append_new(runs, run_json(s, &s->runs[i]));
	json_object_set_new(doc, "runs", runs);
	if (s->conditions)
		json_object_set(doc, "conditions", s->conditions);
}
