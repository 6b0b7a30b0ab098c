/* bench_model.c - see bench_model.h */
#define _GNU_SOURCE
#include "bench/bench_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes_json.h"
#include "base/strv.h"
#include "base/string_table.h"

static const char *const builtin_names[METRIC_BUILTIN_COUNT] = {"wall", "cpu", "instructions",
                                                                "est-cycles", "rss"};
static const char *const builtin_units[METRIC_BUILTIN_COUNT] = {"s", "s", "Ir",
                                                                "cycles (simulated)", "KiB"};
static const char *const role_names[] = {
    [ROLE_BASELINE] = "baseline",
    [ROLE_CANDIDATE] = "candidate",
    [ROLE_AA_CONTROL] = "aa-control",
};
static const char *const direction_names[] = {
    [DIRECTION_LOWER] = "lower", [DIRECTION_HIGHER] = "higher"};

/* anything but "higher" reads as lower, the default */
DEFINE_STRING_TABLE_TO_NAME(direction_name, enum metric_direction, direction_names, "lower");
DEFINE_STRING_TABLE_FROM_NAME(direction_by_name, direction_names);

size_t bench_n_metrics(const struct bench_session *s)
{
	return METRIC_BUILTIN_COUNT + s->n_reported;
}

static const struct bench_metric_def *reported_def(const struct bench_session *s,
                                                   enum bench_metric m)
{
	size_t k = (size_t)m - METRIC_BUILTIN_COUNT;

	return (unsigned)m >= METRIC_BUILTIN_COUNT && k < s->n_reported ? &s->reported[k] : NULL;
}

const char *bench_metric_name(const struct bench_session *s, enum bench_metric m)
{
	const struct bench_metric_def *d = reported_def(s, m);

	if ((unsigned)m < METRIC_BUILTIN_COUNT)
		return builtin_names[m];
	return d ? d->name : "unknown";
}

const char *bench_metric_unit(const struct bench_session *s, enum bench_metric m)
{
	const struct bench_metric_def *d = reported_def(s, m);

	if ((unsigned)m < METRIC_BUILTIN_COUNT)
		return builtin_units[m];
	return d && d->unit ? d->unit : "";
}

enum metric_direction bench_metric_direction(const struct bench_session *s, enum bench_metric m)
{
	const struct bench_metric_def *d = reported_def(s, m);

	return d ? d->direction : DIRECTION_LOWER;
}

bool bench_metric_is_count(enum bench_metric m)
{
	return m == METRIC_INSTRUCTIONS || m == METRIC_EST_CYCLES;
}

int bench_builtin_metric(const char *name)
{
	for (int i = 0; i < METRIC_BUILTIN_COUNT; i++)
		if (strcmp(builtin_names[i], name) == 0)
			return i;
	return -1;
}

int bench_metric_find(const struct bench_session *s, const char *name)
{
	int m = bench_builtin_metric(name);

	for (size_t k = 0; m < 0 && k < s->n_reported; k++)
		if (strcmp(s->reported[k].name, name) == 0)
			m = (int)(METRIC_BUILTIN_COUNT + k);
	return m;
}

/* --metric-direction NAME=higher|lower, -1 when not configured. */
static int configured_direction(const struct bench_settings *set, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < set->n_metric_directions; i++) {
		const char *d = set->metric_directions[i];

		if (strncmp(d, name, len) == 0 && d[len] == '=')
			return direction_by_name(d + len + 1);
	}
	return -1;
}

int bench_metric_intern(struct bench_session *s, const char *name, const char *unit, int direction,
                        const char *source, struct error *err)
{
	int m = bench_metric_find(s, name);
	int configured = configured_direction(&s->set, name);
	struct bench_metric_def *d;

	if (m >= 0)
		return m;
	if (configured >= 0)
		direction = configured; /* the user knows better than a default */
	if (direction < 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "metric '%s' (from %s): is higher or lower better? Say so with "
		                 "--metric-direction %s=higher (or =lower)",
		                 name, source, name);
	if (s->n_reported == BENCH_REPORTED_MAX)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "metric '%s' (from %s): more than %d reported metrics", name,
		                 source, BENCH_REPORTED_MAX);
	d = &s->reported[s->n_reported++];
	d->name = xstrdup(name);
	d->unit = xstrdup(unit ? unit : "");
	d->source = xstrdup(source);
	d->direction = (enum metric_direction)direction;
	return (int)(METRIC_BUILTIN_COUNT + s->n_reported - 1);
}

int bench_resolve_gate_metric(struct bench_session *s, struct error *err)
{
	int m;
	char *known;

	if (s->set.metric_reported == NULL)
		return 0;
	m = bench_metric_find(s, s->set.metric_reported);
	if (m >= 0) {
		s->set.metric = (enum bench_metric)m;
		return 0;
	}
	known = xstrdup("");
	for (size_t k = 0; k < s->n_reported; k++) {
		char *next = xasprintf("%s%s%s", known, k ? ", " : "", s->reported[k].name);
		free(known);
		known = next;
	}
	error_set(err, EXIT_RUNNER_ERROR, 0,
	          "--metric %s: no benchmark reported it (reported metrics: %s)",
	          s->set.metric_reported, *known ? known : "none");
	free(known);
	return -1;
}

static const char *const cpu_source_names[] = {
    [CPU_TASK_CLOCK] = "task-clock",
    [CPU_CGROUP] = "cgroup",
    [CPU_RUSAGE] = "rusage",
};
static DEFINE_STRING_TABLE_FROM_NAME(cpu_source_by_name, cpu_source_names);

static const char *const rss_source_names[] = {
    [RSS_WAIT4] = "wait4", [RSS_MEMORY_PEAK] = "memory.peak"};

/* anything but memory.peak is wait4's figure, the default */
DEFINE_STRING_TABLE_TO_NAME(rss_source_name, enum rss_source, rss_source_names, "wait4");

enum rss_source bench_rss_source(const struct bench_session *s)
{
	for (size_t i = 0; i < s->n_runs; i++)
		if (s->runs[i].block != BENCH_BLOCK_WARMUP && s->runs[i].rss_kib)
			return s->runs[i].rss_source;
	return RSS_WAIT4;
}

DEFINE_STRING_TABLE_TO_NAME(cpu_source_name, enum cpu_source, cpu_source_names, "unknown");
DEFINE_STRING_TABLE_TO_NAME(role_name, enum variant_role, role_names, "unknown");
static DEFINE_STRING_TABLE_FROM_NAME(role_by_name, role_names);

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

size_t bench_n_cells(const struct bench_session *s)
{
	size_t n = 1;

	for (size_t k = 0; k < s->n_knobs; k++)
		n *= s->knobs[k].n_values;
	return n;
}

size_t bench_n_arms(const struct bench_session *s)
{
	return s->n_variants * bench_n_cells(s);
}

/* Weight of knob k in the mixed-radix cell index: the product of the
 * sizes of the knobs after it (the first knob varies slowest). */
static size_t knob_stride(const struct bench_session *s, size_t knob)
{
	size_t stride = 1;

	for (size_t k = knob + 1; k < s->n_knobs; k++)
		stride *= s->knobs[k].n_values;
	return stride;
}

size_t bench_cell_level(const struct bench_session *s, size_t cell, size_t knob)
{
	return (cell / knob_stride(s, knob)) % s->knobs[knob].n_values;
}

size_t bench_cell_with(const struct bench_session *s, size_t cell, size_t knob, size_t level)
{
	size_t stride = knob_stride(s, knob);
	size_t old = bench_cell_level(s, cell, knob);

	return cell - old * stride + level * stride;
}

char *bench_cell_label(const struct bench_session *s, size_t cell)
{
	char *label = xstrdup("");

	for (size_t k = 0; k < s->n_knobs; k++) {
		char *next = xasprintf("%s%s%s=%s", label, k ? "," : "", s->knobs[k].key,
		                       s->knobs[k].values[bench_cell_level(s, cell, k)]);
		free(label);
		label = next;
	}
	return label;
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

double bench_run_metric(const struct bench_run *r, enum bench_metric m)
{
	switch (m) {
	case METRIC_WALL: return r->wall_s;
	case METRIC_CPU: return r->cpu_s;
	case METRIC_INSTRUCTIONS:
		if (r->has_ir)
			return (double)r->ir;
		if (r->counters.valid & (1u << CTR_INSTRUCTIONS))
			return (double)r->counters.value[CTR_INSTRUCTIONS];
		if (r->has_sim)
			return (double)r->sim.v[SIM_IR];
		return NAN;
	case METRIC_EST_CYCLES: return r->has_sim ? sim_estimated_cycles(&r->sim) : NAN;
	case METRIC_RSS: return r->rss_kib ? (double)r->rss_kib : NAN;
	default: break;
	}
	return NAN;
}

double bench_value(const struct bench_run *r, size_t b, enum bench_metric m)
{
	if ((unsigned)m < METRIC_BUILTIN_COUNT)
		return r->bench == b ? bench_run_metric(r, m) : NAN;
	for (size_t i = 0; i < r->n_reported; i++)
		if (r->reported[i].bench == b && r->reported[i].metric == m)
			return r->reported[i].value;
	return NAN;
}

bool bench_has_metric(const struct bench_session *s, size_t b, enum bench_metric m)
{
	size_t measured = 0;

	for (size_t i = 0; i < s->n_runs; i++) {
		double v;

		if (s->runs[i].block == BENCH_BLOCK_WARMUP || !bench_run_covers(s, &s->runs[i], b))
			continue;
		v = bench_value(&s->runs[i], b, m);
		if (!isfinite(v) || v <= 0)
			return false;
		measured++;
	}
	return measured > 0;
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

/* ---- JSON ---------------------------------------------------------------- */

json_t *json_real_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
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
	json_object_set_new(
	    o, "metric",
	    json_string(set->metric_reported ? set->metric_reported : builtin_names[set->metric]));
	json_object_set_new(o, "fail_on_regression_pct",
	                    set->fail_set ? json_real(set->fail_pct) : json_null());
	json_object_set_new(o, "only", str_or_null(set->only));
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
		const struct bench_metric_def *d = reported_def(s, (enum bench_metric)m);

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
	json_object_set_new(o, "artifact", str_or_null(v->artifact));
	json_object_set_new(o, "preload", str_or_null(v->preload));
	json_object_set_new(o, "digest", str_or_null(v->digest[0] ? v->digest : NULL));
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

/* ---- reading back -------------------------------------------------------- */

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

static char **list_from_json(const json_t *a, size_t *n)
{
	char **v = NULL;

	*n = 0;
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *e = json_array_get(a, i);

		if (!json_is_string(e))
			continue;
		v = xrealloc(v, (*n + 1) * sizeof(char *));
		v[(*n)++] = xstrdup(json_string_value(e));
	}
	return v;
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

static char **strv_from_json(const json_t *a)
{
	size_t n = json_array_size(a);
	char **v = xcalloc(n + 1, sizeof(char *));
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(a, i);
		if (json_is_string(e))
			v[k++] = xstrdup(json_string_value(e));
	}
	return v;
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

size_t bench_arm_logs(const struct bench_session *s, size_t b, size_t v, size_t cell,
                      enum bench_metric m, bool badness, double *out)
{
	double sign = badness && bench_metric_direction(s, m) == DIRECTION_HIGHER ? -1.0 : 1.0;
	size_t n = 0;

	for (size_t i = 0; i < s->n_runs; i++) {
		const struct bench_run *r = &s->runs[i];
		double x;

		if (r->block == BENCH_BLOCK_WARMUP || r->variant != v || r->cell != cell ||
		    !bench_run_covers(s, r, b))
			continue;
		x = bench_value(r, b, m);
		if (isfinite(x) && x > 0)
			out[n++] = sign * log(x);
	}
	return n;
}
