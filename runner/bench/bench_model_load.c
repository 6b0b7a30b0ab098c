/* bench_model_load.c - a result document (bench_model_json.c) read back
 * into a session, strictly: a member missing or of the wrong type is an
 * error naming it. */
#define _GNU_SOURCE
#include "bench/bench_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes_json.h"
#include "base/strv.h"

/* The member, or NULL + err when it is missing or of another type. */
static json_t *need(const json_t *o, const char *key, json_type type, struct error *err)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_typeof(v) != type) {
		error_set(err, EXIT_RUNNER_ERROR, 0, "result: '%s' missing or of the wrong type",
		          key);
		return NULL;
	}
	return v;
}

static int get_size(const json_t *o, const char *key, size_t *out, struct error *err)
{
	json_t *v = need(o, key, JSON_INTEGER, err);

	if (v == NULL)
		return -1;
	if (json_integer_value(v) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "result: '%s' is negative", key);
	*out = (size_t)json_integer_value(v);
	return 0;
}

static double get_number(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

static bool get_bool(const json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

/* The strings of a JSON array (others skipped), counted; NULL when none. */
static char **list_from_json(const json_t *a, size_t *n)
{
	struct strv v = {0};

	for (size_t i = 0; i < json_array_size(a); i++)
		if (json_is_string(json_array_get(a, i)))
			strv_push(&v, json_string_value(json_array_get(a, i)));
	*n = v.n;
	return v.v;
}

static int settings_from_json(const json_t *o, struct bench_settings *set, struct error *err)
{
	json_t *v;
	int m;

	if (get_size(o, "runs", &set->runs, err) < 0 ||
	    get_size(o, "warmup", &set->warmup, err) < 0 ||
	    get_size(o, "max_runs", &set->max_runs, err) < 0 ||
	    (v = need(o, "seed", JSON_INTEGER, err)) == NULL)
		return -1;
	set->seed = (uint64_t)json_integer_value(v);
	set->threshold = get_number(o, "threshold_pct") / 100.0;
	set->confidence = get_number(o, "confidence");
	if (!(set->threshold >= 0) || !(set->confidence > 0 && set->confidence < 1))
		return error_set(err, EXIT_RUNNER_ERROR, 0, "result: bad threshold or confidence");
	if ((v = need(o, "metric", JSON_STRING, err)) == NULL)
		return -1;
	m = bench_builtin_metric(json_string_value(v));
	set->metric = m >= 0 ? (enum bench_metric)m : METRIC_WALL;
	set->metric_reported = m >= 0 ? NULL : xstrdup(json_string_value(v));
	set->metric_sources =
	    list_from_json(json_object_get(o, "metric_sources"), &set->n_metric_sources);
	set->metric_directions =
	    list_from_json(json_object_get(o, "metric_directions"), &set->n_metric_directions);
	v = json_object_get(o, "fail_on_regression_pct");
	set->fail_set = json_is_number(v);
	set->fail_pct = set->fail_set ? json_number_value(v) : 0;
	v = json_object_get(o, "only");
	set->only = json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
	set->strict = get_bool(o, "strict");
	set->aa_control = get_bool(o, "aa_control");
	set->randomize_layout = get_bool(o, "randomize_layout");
	set->counters = get_bool(o, "counters");
	set->callgrind = get_bool(o, "callgrind");
	set->cachegrind = get_bool(o, "cachegrind");
	return 0;
}

/* The same, NULL-terminated (never NULL). */
static char **strv_from_json(const json_t *a)
{
	size_t n;
	struct strv v = {0};

	v.v = list_from_json(a, &n);
	v.n = n;
	return strv_steal(&v);
}

/* A variant's words and command string as they ran: the base64 forms when
 * the writer needed them (an argument that is not UTF-8), else the text.
 * *cmd: NULL when the variant had no command string. */
static int variant_words_from_json(const json_t *o, const json_t *argv, char ***words, char **cmd,
                                   struct error *err)
{
	const json_t *b64 = json_object_get(o, "argv_b64");
	const json_t *c = json_object_get(o, "command_b64");
	size_t len;

	*cmd = NULL;
	if (json_is_string(c)) {
		unsigned char *bytes;

		if (base64_decode(json_string_value(c), &bytes, &len) < 0 ||
		    strlen((char *)bytes) != len) {
			free(bytes);
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "command_b64 is not the base64 of a command");
		}
		*cmd = (char *)bytes;
	} else if (json_is_string(json_object_get(o, "command"))) {
		*cmd = xstrdup(json_string_value(json_object_get(o, "command")));
	}
	if (b64 == NULL) {
		*words = strv_from_json(argv);
		return 0;
	}
	if (!json_is_array(b64) || json_array_size(b64) != json_array_size(argv))
		error_set(err, EXIT_RUNNER_ERROR, 0, "argv_b64 is not an array as long as argv");
	else if (strv_from_b64_json(b64, words, err) == 0)
		return 0;
	else
		error_prefix(err, "argv_b64");
	free(*cmd);
	*cmd = NULL;
	return -1;
}

static int variants_from_json(const json_t *a, struct bench_session *s, struct error *err)
{
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *o = json_array_get(a, i), *name, *role, *argv, *art, *dig;
		enum variant_role r = ROLE_CANDIDATE;
		char **words, *cmd_bytes;
		int k;

		if ((name = need(o, "name", JSON_STRING, err)) == NULL ||
		    (role = need(o, "role", JSON_STRING, err)) == NULL ||
		    (argv = need(o, "argv", JSON_ARRAY, err)) == NULL)
			return error_prefix(err, "variant %zu", i);
		if ((k = role_by_name(json_string_value(role))) >= 0)
			r = (enum variant_role)k;
		art = json_object_get(o, "artifact");
		if (variant_words_from_json(o, argv, &words, &cmd_bytes, err) < 0)
			return error_prefix(err, "result: variant %zu", i);
		if (words[0] == NULL) {
			strv_free_array(words);
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "result: variant %zu has no argv", i);
		}
		bench_add_variant(s, json_string_value(name), r, cmd_bytes, words,
		                  json_is_string(art) ? json_string_value(art) : NULL);
		strv_free_array(words);
		free(cmd_bytes);
		if (json_is_string(json_object_get(o, "preload")))
			s->variants[i].preload =
			    xstrdup(json_string_value(json_object_get(o, "preload")));
		dig = json_object_get(o, "digest");
		if (json_is_string(dig))
			snprintf(s->variants[i].digest, sizeof(s->variants[i].digest), "%s",
			         json_string_value(dig));
	}
	if (s->n_variants == 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "result: no variants");
	return 0;
}

static int benchmarks_knobs_from_json(const json_t *doc, struct bench_session *s, struct error *err)
{
	json_t *bl, *kl;

	if ((bl = need(doc, "benchmarks", JSON_ARRAY, err)) == NULL ||
	    (kl = need(doc, "knobs", JSON_ARRAY, err)) == NULL)
		return -1;
	for (size_t i = 0; i < json_array_size(bl); i++) {
		json_t *o = json_array_get(bl, i), *name, *value;

		if ((name = need(o, "name", JSON_STRING, err)) == NULL ||
		    (value = need(o, "value", JSON_STRING, err)) == NULL)
			return error_prefix(err, "benchmark %zu", i);
		bench_add_benchmark(s, json_string_value(name), json_string_value(value));
		get_size(o, "blocks", &s->blocks_done[i], err);
		if (json_is_integer(json_object_get(o, "parent"))) {
			json_int_t parent = json_integer_value(json_object_get(o, "parent"));

			if (parent < 0 || (size_t)parent >= i)
				return error_set(err, EXIT_RUNNER_ERROR, 0,
				                 "result: benchmark %zu: bad parent %lld", i,
				                 (long long)parent);
			s->benchmarks[i].parent = (size_t)parent;
		}
	}
	for (size_t i = 0; i < json_array_size(kl); i++) {
		json_t *o = json_array_get(kl, i), *key, *vals;
		char **v;
		size_t n = 0;

		if ((key = need(o, "key", JSON_STRING, err)) == NULL ||
		    (vals = need(o, "values", JSON_ARRAY, err)) == NULL)
			return error_prefix(err, "knob %zu", i);
		v = strv_from_json(vals);
		while (v[n])
			n++;
		if (n == 0) {
			strv_free_array(v);
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "result: knob %zu has no values", i);
		}
		bench_add_knob(s, json_string_value(key), v, n);
		strv_free_array(v);
	}
	if (s->n_benchmarks == 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "result: no benchmarks");
	return 0;
}

static int find_benchmark(const struct bench_session *s, const char *name, size_t *b)
{
	for (size_t i = 0; i < s->n_benchmarks; i++)
		if (strcmp(s->benchmarks[i].name, name) == 0) {
			*b = i;
			return 0;
		}
	return -1;
}

static int reported_from_json(const json_t *o, const struct bench_session *s, struct bench_run *r,
                              struct error *err)
{
	const char *bench, *metric;
	json_t *per, *v;

	json_object_foreach((json_t *)o, bench, per)
	{
		size_t b;

		if (find_benchmark(s, bench, &b) < 0 || !json_is_object(per))
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "result: reported benchmark '%s' is not in 'benchmarks'",
			                 bench);
		json_object_foreach(per, metric, v)
		{
			int m = bench_metric_find(s, metric);

			if (m < METRIC_BUILTIN_COUNT || !json_is_number(v))
				return error_set(err, EXIT_RUNNER_ERROR, 0,
				                 "result: reported metric '%s' of '%s' is not in "
				                 "'metrics' or not a number",
				                 metric, bench);
			r->reported =
			    xrealloc(r->reported, (r->n_reported + 1) * sizeof(*r->reported));
			r->reported[r->n_reported++] =
			    (struct bench_reported){.bench = b,
			                            .metric = (enum bench_metric)m,
			                            .value = json_number_value(v)};
		}
	}
	return 0;
}

static int run_from_json(const json_t *o, const struct bench_session *s, struct bench_run *r,
                         struct error *err)
{
	json_t *v;
	int k;

	memset(r, 0, sizeof(*r));
	if (get_size(o, "benchmark", &r->bench, err) < 0 ||
	    get_size(o, "variant", &r->variant, err) < 0 || get_size(o, "cell", &r->cell, err) < 0)
		return -1;
	if (r->bench >= s->n_benchmarks || r->variant >= s->n_variants ||
	    r->cell >= bench_n_cells(s))
		return error_set(err, EXIT_RUNNER_ERROR, 0, "result: run refers to a missing arm");
	v = json_object_get(o, "block");
	r->block = json_is_integer(v) ? (size_t)json_integer_value(v) : BENCH_BLOCK_WARMUP;
	if (get_bool(o, "warmup"))
		r->block = BENCH_BLOCK_WARMUP;
	get_size(o, "position", &r->position, err);
	get_size(o, "seq", &r->seq, err);
	r->pad = (unsigned)json_integer_value(json_object_get(o, "pad"));
	r->exit_code = (int)json_integer_value(json_object_get(o, "exit_code"));
	r->wall_s = get_number(o, "wall_s");
	r->user_s = get_number(o, "user_s");
	r->system_s = get_number(o, "system_s");
	r->cpu_s = get_number(o, "cpu_s");
	v = json_object_get(o, "cpu_source");
	k = cpu_source_by_name(json_string_value(v));
	r->cpu_source = k >= 0 ? (enum cpu_source)k : CPU_RUSAGE;
	r->peak_rss_kib = (uint64_t)json_integer_value(json_object_get(o, "peak_rss_kib"));
	/* files from before `rss` have wait4's figure only */
	v = json_object_get(o, "rss_kib");
	r->rss_kib = json_is_integer(v) ? (uint64_t)json_integer_value(v) : r->peak_rss_kib;
	v = json_object_get(o, "rss_source");
	r->rss_source = json_is_string(v) && strcmp(json_string_value(v), "memory.peak") == 0
	                    ? RSS_MEMORY_PEAK
	                    : RSS_WAIT4;
	r->psi_some_us = get_number(o, "psi_some_us");
	r->has_psi = isfinite(r->psi_some_us);
	r->steal_s = get_number(o, "steal_s");
	r->has_steal = isfinite(r->steal_s);
	r->harness_us = get_number(o, "harness_us");
	if (counters_from_json(json_object_get(o, "counters"), &r->counters, err) < 0)
		return -1;
	v = json_object_get(o, "callgrind_ir");
	r->has_ir = json_is_integer(v);
	r->ir = r->has_ir ? (uint64_t)json_integer_value(v) : 0;
	v = json_object_get(o, "cachegrind");
	r->has_sim = json_is_object(v);
	if (r->has_sim && sim_counters_from_json(v, &r->sim, err) < 0)
		return -1;
	return reported_from_json(json_object_get(o, "reported"), s, r, err);
}

/* The reported metrics of a version 3 file (the builtin ones are known). */
static int metrics_from_json(const json_t *a, struct bench_session *s, struct error *err)
{
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *o = json_array_get(a, i);
		json_t *name = json_object_get(o, "name"), *unit = json_object_get(o, "unit");
		json_t *dir = json_object_get(o, "direction"), *src = json_object_get(o, "source");
		int d;

		if (!json_is_string(name) || !json_is_string(dir) ||
		    (d = direction_by_name(json_string_value(dir))) < 0)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "result: metrics[%zu]: needs a name and a direction", i);
		if (bench_builtin_metric(json_string_value(name)) >= 0)
			continue;
		if (bench_metric_intern(s, json_string_value(name),
		                        json_is_string(unit) ? json_string_value(unit) : "", d,
		                        json_is_string(src) ? json_string_value(src) : "recorded",
		                        err) < 0)
			return error_prefix(err, "result");
	}
	return 0;
}

int bench_session_from_json(const json_t *doc, struct bench_session *s, struct error *err)
{
	json_t *v, *runs;

	if ((v = need(doc, "schema", JSON_STRING, err)) == NULL)
		return -1;
	if (strcmp(json_string_value(v), BENCH_SCHEMA) != 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "not a bench result (schema '%s')",
		                 json_string_value(v));
	if ((v = need(doc, "schema_version", JSON_INTEGER, err)) == NULL)
		return -1;
	if (json_integer_value(v) < 1 || json_integer_value(v) > BENCH_SCHEMA_VERSION)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "bench result schema version %lld, this pgo-sandbox reads 1 to %d",
		                 (long long)json_integer_value(v), BENCH_SCHEMA_VERSION);
	if ((v = need(doc, "settings", JSON_OBJECT, err)) == NULL ||
	    settings_from_json(v, &s->set, err) < 0)
		return -1;
	if ((v = need(doc, "variants", JSON_ARRAY, err)) == NULL ||
	    variants_from_json(v, s, err) < 0 || benchmarks_knobs_from_json(doc, s, err) < 0 ||
	    metrics_from_json(json_object_get(doc, "metrics"), s, err) < 0 ||
	    (runs = need(doc, "runs", JSON_ARRAY, err)) == NULL)
		return -1;
	for (size_t i = 0; i < json_array_size(runs); i++) {
		struct bench_run r;

		if (run_from_json(json_array_get(runs, i), s, &r, err) < 0) {
			free(r.reported);
			return error_prefix(err, "run %zu", i);
		}
		bench_add_run(s, &r);
	}
	v = json_object_get(doc, "conditions");
	s->conditions = v ? json_deep_copy(v) : NULL;
	return 0;
}

int bench_session_load(const char *path, struct bench_session *s, struct error *err)
{
	json_error_t je;
	json_t *doc = json_load_file(path, 0, &je);
	int rc;

	if (doc == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: line %d: %s", path, je.line,
		                 je.text);
	rc = bench_session_from_json(doc, s, err);
	json_decref(doc);
	return rc < 0 ? error_prefix(err, "%s", path) : 0;
}
