/* bench_model.c - see bench_model.h: the session (settings, variants,
 * benchmarks, knobs, runs) and the names of its enums.  The metric
 * registry is in bench_metrics.c, cells and per-run values in
 * bench_values.c, the JSON document in bench_model_json.c (out) and
 * bench_model_load.c (in). */
#define _GNU_SOURCE
#include "bench/bench_model.h"

#include <stdlib.h>
#include <string.h>

#include "base/strv.h"
#include "base/string_table.h"

static const char *const role_names[] = {
    [ROLE_BASELINE] = "baseline",
    [ROLE_CANDIDATE] = "candidate",
    [ROLE_AA_CONTROL] = "aa-control",
};

static const char *const cpu_source_names[] = {
    [CPU_TASK_CLOCK] = "task-clock",
    [CPU_CGROUP] = "cgroup",
    [CPU_RUSAGE] = "rusage",
};
DEFINE_STRING_TABLE_FROM_NAME(cpu_source_by_name, cpu_source_names);

static const char *const rss_source_names[] = {
    [RSS_WAIT4] = "wait4", [RSS_MEMORY_PEAK] = "memory.peak"};

/* anything but memory.peak is wait4's figure, the default */
DEFINE_STRING_TABLE_TO_NAME(rss_source_name, enum rss_source, rss_source_names, "wait4");

DEFINE_STRING_TABLE_TO_NAME(cpu_source_name, enum cpu_source, cpu_source_names, "unknown");
DEFINE_STRING_TABLE_TO_NAME(role_name, enum variant_role, role_names, "unknown");
DEFINE_STRING_TABLE_FROM_NAME(role_by_name, role_names);

void bench_settings_default(struct bench_settings *set)
{
	memset(set, 0, sizeof(*set));
	set->runs = 20;
	set->warmup = 1;
	set->max_runs = 60;
	set->threshold = 0.02;
	set->confidence = 0.95;
	set->metric = METRIC_WALL;
}

void bench_settings_copy(struct bench_settings *dst, const struct bench_settings *src)
{
	*dst = *src;
	dst->only = src->only ? xstrdup(src->only) : NULL;
	dst->metric_reported = src->metric_reported ? xstrdup(src->metric_reported) : NULL;
	dst->metric_sources = strv_copy_n(src->metric_sources, src->n_metric_sources);
	dst->metric_directions = strv_copy_n(src->metric_directions, src->n_metric_directions);
}

void bench_settings_free(struct bench_settings *set)
{
	free(set->only);
	free(set->metric_reported);
	strv_free_n(set->metric_sources, set->n_metric_sources);
	strv_free_n(set->metric_directions, set->n_metric_directions);
	set->only = set->metric_reported = NULL;
	set->metric_sources = set->metric_directions = NULL;
	set->n_metric_sources = set->n_metric_directions = 0;
}

void bench_session_init(struct bench_session *s)
{
	memset(s, 0, sizeof(*s));
	bench_settings_default(&s->set);
}

void bench_session_free(struct bench_session *s)
{
	for (size_t i = 0; i < s->n_variants; i++) {
		free(s->variants[i].name);
		free(s->variants[i].command);
		strv_free_array(s->variants[i].argv);
		free(s->variants[i].artifact);
		free(s->variants[i].preload);
	}
	free(s->variants);
	for (size_t i = 0; i < s->n_benchmarks; i++) {
		free(s->benchmarks[i].name);
		free(s->benchmarks[i].value);
	}
	free(s->benchmarks);
	for (size_t i = 0; i < s->n_knobs; i++) {
		free(s->knobs[i].key);
		for (size_t j = 0; j < s->knobs[i].n_values; j++)
			free(s->knobs[i].values[j]);
		free(s->knobs[i].values);
	}
	free(s->knobs);
	for (size_t k = 0; k < s->n_reported; k++) {
		free(s->reported[k].name);
		free(s->reported[k].unit);
		free(s->reported[k].source);
	}
	for (size_t i = 0; i < s->n_runs; i++)
		free(s->runs[i].reported);
	free(s->runs);
	free(s->blocks_done);
	bench_settings_free(&s->set);
	json_decref(s->conditions);
	memset(s, 0, sizeof(*s));
}

void bench_add_variant(struct bench_session *s, const char *name, enum variant_role role,
                       const char *command, char **argv, const char *artifact)
{
	struct bench_variant *v;

	s->variants = xrealloc(s->variants, (s->n_variants + 1) * sizeof(*s->variants));
	v = &s->variants[s->n_variants++];
	memset(v, 0, sizeof(*v));
	v->name = xstrdup(name);
	v->role = role;
	v->command = command ? xstrdup(command) : NULL;
	v->argv = strv_copy(argv);
	v->artifact = artifact ? xstrdup(artifact) : NULL;
}

void bench_add_benchmark(struct bench_session *s, const char *name, const char *value)
{
	s->benchmarks = xrealloc(s->benchmarks, (s->n_benchmarks + 1) * sizeof(*s->benchmarks));
	s->benchmarks[s->n_benchmarks].name = xstrdup(name);
	s->benchmarks[s->n_benchmarks].value = xstrdup(value);
	s->benchmarks[s->n_benchmarks].parent = BENCH_NO_PARENT;
	s->n_benchmarks++;
	s->blocks_done = xrealloc(s->blocks_done, s->n_benchmarks * sizeof(size_t));
	s->blocks_done[s->n_benchmarks - 1] = 0;
}

size_t bench_child_benchmark(struct bench_session *s, size_t parent, const char *name)
{
	for (size_t b = 0; b < s->n_benchmarks; b++)
		if (strcmp(s->benchmarks[b].name, name) == 0 && s->benchmarks[b].parent == parent)
			return b;
	bench_add_benchmark(s, name, "");
	s->benchmarks[s->n_benchmarks - 1].parent = parent;
	s->blocks_done[s->n_benchmarks - 1] = s->blocks_done[parent];
	return s->n_benchmarks - 1;
}

bool bench_run_covers(const struct bench_session *s, const struct bench_run *r, size_t b)
{
	return r->bench == b || s->benchmarks[b].parent == r->bench;
}

void bench_add_knob(struct bench_session *s, const char *key, char **values, size_t n)
{
	struct bench_knob *k;

	s->knobs = xrealloc(s->knobs, (s->n_knobs + 1) * sizeof(*s->knobs));
	k = &s->knobs[s->n_knobs++];
	k->key = xstrdup(key);
	k->n_values = n;
	k->values = xcalloc(n, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		k->values[i] = xstrdup(values[i]);
}

size_t bench_add_run(struct bench_session *s, const struct bench_run *run)
{
	if (s->n_runs == s->cap_runs) {
		s->cap_runs = s->cap_runs ? 2 * s->cap_runs : 64;
		s->runs = xrealloc(s->runs, s->cap_runs * sizeof(*s->runs));
	}
	s->runs[s->n_runs] = *run;
	return s->n_runs++;
}

static char *replace_all(const char *text, const char *pat, const char *with)
{
	size_t plen = strlen(pat), wlen = strlen(with), n = 0;
	const char *p;
	char *out, *o;

	for (p = strstr(text, pat); p; p = strstr(p + plen, pat))
		n++;
	out = xcalloc(strlen(text) + n * wlen + 1, 1);
	o = out;
	for (p = text; *p;) {
		if (strncmp(p, pat, plen) == 0) {
			memcpy(o, with, wlen);
			o += wlen;
			p += plen;
		} else {
			*o++ = *p++;
		}
	}
	return out;
}

char **bench_substitute(char *const *argv, const char *bench_value, const char *artifact_dir)
{
	char **out = strv_copy(argv);

	for (size_t i = 0; out[i]; i++) {
		char *a = replace_all(out[i], "{bench}", bench_value ? bench_value : "");
		char *b = replace_all(a, "{artifact}", artifact_dir ? artifact_dir : "");
		free(a);
		free(out[i]);
		out[i] = b;
	}
	return out;
}
