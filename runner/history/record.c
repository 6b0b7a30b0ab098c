/* record.c - see record.h */
#define _GNU_SOURCE
#include "history/record.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const struct record_metric process_metrics[] = {
    {"wall", "s", "lower", "process"},
    {"cpu", "s", "lower", "process"},
    {"instructions", "instructions", "lower", "process"},
    {"est-cycles", "cycles", "lower", "process"},
    {"rss", "KiB", "lower", "wait4"},
};
#define N_PROCESS (sizeof(process_metrics) / sizeof(process_metrics[0]))

static const char *str_or(const json_t *o, const char *key, const char *dflt)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : dflt;
}

size_t record_metrics(const json_t *doc, struct record_metric *out, size_t max)
{
	const json_t *list = json_object_get(doc, "metrics");
	size_t n = 0, i;
	const json_t *m;

	if (!json_is_array(list) || json_array_size(list) == 0) {
		for (i = 0; i < N_PROCESS && i < max; i++)
			out[i] = process_metrics[i];
		return N_PROCESS;
	}
	json_array_foreach(list, i, m)
	{
		const char *name = str_or(m, "name", NULL);
		const char *dir = str_or(m, "direction", "lower");

		if (name == NULL)
			continue;
		if (n < max)
			out[n] =
			    (struct record_metric){name, str_or(m, "unit", NULL),
			                           strcmp(dir, "higher") == 0 ? "higher" : "lower",
			                           str_or(m, "source", NULL)};
		n++;
	}
	return n;
}

const char *record_direction(const json_t *doc, const char *name)
{
	const json_t *list = json_object_get(doc, "metrics");
	size_t i;
	const json_t *m;

	json_array_foreach(list, i, m)
	{
		const char *n = str_or(m, "name", "");

		if (strcmp(n, name) == 0 && strcmp(str_or(m, "direction", ""), "higher") == 0)
			return "higher";
	}
	return "lower";
}

static bool number(const json_t *v, double *out)
{
	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return isfinite(*out);
}

bool record_is_builtin_metric(const char *metric)
{
	static const char *const builtin[] = {"wall", "cpu", "instructions", "est-cycles", "rss"};

	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (strcmp(metric, builtin[i]) == 0)
			return true;
	return false;
}

bool record_run_value(const json_t *run, const char *metric, double *out)
{
	if (strcmp(metric, "wall") == 0)
		return number(json_object_get(run, "wall_s"), out);
	if (strcmp(metric, "cpu") == 0)
		return number(json_object_get(run, "cpu_s"), out);
	if (strcmp(metric, "instructions") == 0)
		return number(json_object_get(run, "callgrind_ir"), out) ||
		       number(json_object_get(json_object_get(run, "counters"), "instructions"),
		              out);
	if (strcmp(metric, "est-cycles") == 0)
		return number(
		    json_object_get(json_object_get(run, "cachegrind"), "estimated_cycles"), out);
	/* results from before `rss` carry wait4's peak_rss_kib only; 0 is
	 * "not measured" */
	if (strcmp(metric, "rss") == 0)
		return (number(json_object_get(run, "rss_kib"), out) ||
		        number(json_object_get(run, "peak_rss_kib"), out)) &&
		       *out > 0;
	return false;
}

/* runs[].reported (schema 3): {"benchmark": {"metric": value}}, the
 * benchmark the run's own or one its process reported. */
static int reported_samples(const json_t *run, struct record_sample *s, record_sample_fn fn,
                            void *arg, struct error *err)
{
	const char *bench, *metric;
	json_t *per, *v;

	json_object_foreach(json_object_get(run, "reported"), bench, per)
	{
		json_object_foreach(per, metric, v)
		{
			if (!number(v, &s->value))
				continue;
			s->benchmark = bench;
			s->metric = metric;
			if (fn(s, arg, err) < 0)
				return -1;
		}
	}
	return 0;
}

/* Element `ref` (an index, or the name itself) of array `key`. */
static const json_t *element(const json_t *doc, const char *key, const json_t *ref)
{
	const json_t *list = json_object_get(doc, key);

	if (!json_is_integer(ref) || json_integer_value(ref) < 0)
		return NULL;
	return json_array_get(list, (size_t)json_integer_value(ref));
}

static const char *name_of(const json_t *doc, const char *key, const char *member,
                           const json_t *ref, const char *dflt)
{
	if (json_is_string(ref))
		return json_string_value(ref);
	return str_or(element(doc, key, ref), member, dflt);
}

const char *record_benchmark_name(const json_t *doc, const json_t *ref)
{
	return name_of(doc, "benchmarks", "name", ref, "?");
}

const char *record_variant_name(const json_t *doc, const json_t *ref)
{
	return name_of(doc, "variants", "name", ref, "?");
}

const char *record_variant_role(const json_t *doc, const json_t *ref)
{
	return name_of(doc, "variants", "role", ref, "candidate");
}

const char *record_cell_label(const json_t *doc, const json_t *ref)
{
	if (ref == NULL)
		return "";
	return name_of(doc, "cells", "label", ref, "");
}

static long long int_or(const json_t *o, const char *key, long long dflt)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

int record_each_sample(const json_t *doc, record_sample_fn fn, void *arg, struct error *err)
{
	struct record_metric metrics[64];
	size_t n_metrics = record_metrics(doc, metrics, 64), i;
	const json_t *run;

	if (n_metrics > 64)
		n_metrics = 64;
	json_array_foreach(json_object_get(doc, "runs"), i, run)
	{
		struct record_sample s;

		if (json_is_true(json_object_get(run, "warmup")))
			continue;
		s.benchmark = record_benchmark_name(doc, json_object_get(run, "benchmark"));
		s.variant = record_variant_name(doc, json_object_get(run, "variant"));
		s.cell = record_cell_label(doc, json_object_get(run, "cell"));
		s.block = int_or(run, "block", 0);
		s.seq = int_or(run, "seq", (long long)i);
		for (size_t m = 0; m < n_metrics; m++) {
			s.metric = metrics[m].name;
			if (record_is_builtin_metric(s.metric) &&
			    record_run_value(run, s.metric, &s.value) && fn(&s, arg, err) < 0)
				return -1;
		}
		if (reported_samples(run, &s, fn, arg, err) < 0)
			return -1;
	}
	return 0;
}

int record_check(const json_t *doc, const char *what, struct error *err)
{
	const char *schema = str_or(doc, "schema", NULL);

	if (!json_is_object(doc) || schema == NULL || strcmp(schema, "pgo-sandbox-bench") != 0)
		return error_set(
		    err, EXIT_RUNNER_ERROR, 0,
		    "%s: not a bench result (schema \"pgo-sandbox-bench\" expected%s%s)", what,
		    schema ? ", found " : "", schema ? schema : "");
	return 0;
}

char *record_text(const json_t *v)
{
	if (v == NULL || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xasprintf("%lld", (long long)json_integer_value(v));
	if (json_is_real(v))
		return isfinite(json_real_value(v)) ? xasprintf("%.17g", json_real_value(v)) : NULL;
	if (json_is_boolean(v))
		return xstrdup(json_is_true(v) ? "1" : "0");
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
}

char *record_number(const json_t *v)
{
	return json_is_number(v) ? record_text(v) : NULL;
}

char *record_integer(const json_t *v)
{
	if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
	    fabs(json_real_value(v)) < 9e15)
		return xasprintf("%.0f", json_real_value(v));
	return json_is_integer(v) ? record_text(v) : NULL;
}
