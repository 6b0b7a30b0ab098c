/* bench_model.h - what a bench session is made of (variants, benchmarks,
 * environment knobs, settings, runs) and its JSON form: the "settings",
 * "variants", "benchmarks", "knobs" and "runs" members of a result file
 * (docs/bench.md, schema "pgo-sandbox-bench" version BENCH_SCHEMA_VERSION).
 *
 * Arms: every variant at every cell of the knob matrix is one arm,
 * arm = variant * n_cells + cell.  Cells enumerate the full factorial in
 * mixed radix, the first knob varying slowest.  Variant 0 is the baseline;
 * with --aa-control the last variant is the baseline's A/A copy. */
#ifndef PGO_BENCH_MODEL_H
#define PGO_BENCH_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bench/cachegrind.h"
#include "bench/counters.h"
#include "artifacts/digest.h"
#include "base/util.h"

#define BENCH_SCHEMA "pgo-sandbox-bench"
/* 2: runs carry "cachegrind" (simulated counters), metric "est-cycles";
 * version 1 files are read as having neither.
 * 3: "metrics" (name, unit, direction, source of every metric), metrics a
 * benchmark reports itself (runs[].reported), benchmarks reported by
 * another benchmark's process (benchmarks[].parent), settings
 * "metric_sources" and "metric_directions", comparisons carry
 * "direction" and "ratio"; optional "decision" (rules) and "against"
 * (recorded baselines).  Versions 1 and 2 are read as having none. */
#define BENCH_SCHEMA_VERSION 3

/* The metrics of a session: the process metrics the bench measures, then
 * up to BENCH_REPORTED_MAX that the benchmarks report themselves
 * (bench_reported.h), in the order they were first seen. */
#define BENCH_REPORTED_MAX 16
enum bench_metric {
	METRIC_WALL,         /* execve to exit, measured inside the sandbox */
	METRIC_CPU,          /* cgroup cpu.stat usage_usec, else rusage user+sys */
	METRIC_INSTRUCTIONS, /* callgrind Ir, else the instructions counter */
	METRIC_EST_CYCLES,   /* cachegrind's simulated counters (cachegrind.h) */
	METRIC_RSS,          /* peak memory in KiB: memory.peak, else wait4's ru_maxrss */
	METRIC_BUILTIN_COUNT,
	METRIC_COUNT = METRIC_BUILTIN_COUNT + BENCH_REPORTED_MAX,
};
/* Which way is better.  Every estimate and interval is in the metric's
 * own terms (a throughput drop is a negative change); verdicts say
 * "slower" for worse and "faster" for better whatever the direction. */
enum metric_direction {
	DIRECTION_LOWER,  /* times, counts: lower is better */
	DIRECTION_HIGHER, /* throughput: higher is better */
};
const char *direction_name(enum metric_direction d);
/* -1 for anything but "lower" and "higher". */
int direction_by_name(const char *name);

struct bench_metric_def {
	char *name, *unit, *source;
	enum metric_direction direction;
};

enum variant_role {
	ROLE_BASELINE,
	ROLE_CANDIDATE,
	ROLE_AA_CONTROL,
};
const char *role_name(enum variant_role r);
/* -1 for a name that is none of them. */
int role_by_name(const char *name);

struct bench_variant {
	char *name;
	enum variant_role role;
	char *command;               /* the CMD string as given, NULL for "-- ARGV" */
	char **argv;                 /* words ({bench} and {artifact} not substituted) */
	char *artifact;              /* absolute host path of an ARTIFACT, else NULL */
	char *preload;               /* LD_PRELOAD of its runs (--preload), else NULL */
	char digest[DIGEST_STR_MAX]; /* artifact or executable digest, "" unknown */
};

#define BENCH_NO_PARENT SIZE_MAX
struct bench_benchmark {
	char *name;
	char *value;   /* what {bench} becomes */
	size_t parent; /* the benchmark whose process reports this one, or BENCH_NO_PARENT */
};

struct bench_knob {
	char *key;
	char **values;
	size_t n_values;
};

struct bench_settings {
	size_t runs;       /* runs per arm before any extension (even) */
	size_t warmup;     /* per arm, not analysed */
	size_t max_runs;   /* per arm, extensions included */
	double threshold;  /* delta, a fraction: 0.02 */
	double confidence; /* 0.95 */
	uint64_t seed;
	enum bench_metric metric; /* the one the gate uses */
	bool fail_set;
	double fail_pct; /* --fail-on-regression, percent */
	char *only;      /* glob over benchmark names, NULL = all */
	bool strict;
	bool aa_control;
	bool randomize_layout;
	bool counters;
	bool callgrind;
	bool cachegrind; /* simulated counters, a model of the machine */
	/* The gate metric by name when it is one the benchmarks report
	 * (resolved once they have: bench_resolve_gate_metric), else NULL. */
	char *metric_reported;
	char **metric_sources; /* "regex:SPEC" or "json:FORMAT[:PATH]" (bench_reported.h) */
	size_t n_metric_sources;
	char **metric_directions; /* "NAME=higher|lower" */
	size_t n_metric_directions;
};

/* Where a run's CPU time comes from, best first: the task-clock software
 * counter counts the command alone (from its execve); the run cgroup and
 * rusage also count the sandbox's own setup. */
enum cpu_source {
	CPU_TASK_CLOCK,
	CPU_CGROUP,
	CPU_RUSAGE,
};
const char *cpu_source_name(enum cpu_source c);
/* -1 for a name that is none of them. */
int cpu_source_by_name(const char *name);

/* Where a run's peak memory (metric `rss`) comes from: the run cgroup's
 * memory.peak (every process of the run, page cache included) where the
 * memory controller is there, else wait4's ru_maxrss (the largest single
 * process of the run's tree). */
enum rss_source {
	RSS_WAIT4,
	RSS_MEMORY_PEAK,
};
const char *rss_source_name(enum rss_source r);

#define BENCH_BLOCK_WARMUP SIZE_MAX

/* One value a benchmark reported about itself in a run: of benchmark
 * `bench` (the run's own or one its process reported) and metric `metric`
 * (>= METRIC_BUILTIN_COUNT). */
struct bench_reported {
	size_t bench;
	enum bench_metric metric;
	double value;
};

struct bench_run {
	size_t bench, variant, cell;
	size_t block;    /* BENCH_BLOCK_WARMUP for a warm-up run */
	size_t position; /* order inside the block */
	size_t seq;      /* order in the whole session */
	unsigned pad;    /* environment pad bytes */
	int exit_code;
	double wall_s, user_s, system_s;
	double cpu_s;
	enum cpu_source cpu_source;
	uint64_t peak_rss_kib; /* wait4's ru_maxrss */
	uint64_t rss_kib;      /* metric rss, from rss_source */
	enum rss_source rss_source;
	bool has_psi, has_steal;
	double psi_some_us; /* CPU pressure "some" accumulated during the run */
	double steal_s;
	double harness_us; /* bench bookkeeping around sandbox_run */
	struct counter_values counters;
	bool has_ir;
	uint64_t ir; /* callgrind instruction count */
	bool has_sim;
	struct sim_counters sim;         /* cachegrind's simulated counters */
	struct bench_reported *reported; /* owned by the session once added */
	size_t n_reported;
	bool outlier[METRIC_COUNT]; /* of the run's own benchmark */
};

struct bench_session {
	struct bench_settings set;
	struct bench_variant *variants;
	size_t n_variants;
	struct bench_benchmark *benchmarks;
	size_t n_benchmarks;
	struct bench_knob *knobs;
	size_t n_knobs;
	struct bench_metric_def reported[BENCH_REPORTED_MAX];
	size_t n_reported;
	struct bench_run *runs;
	size_t n_runs, cap_runs;
	size_t *blocks_done; /* per benchmark */
	json_t *conditions;  /* cpus, environment, controls, host facts... */
};

void bench_session_init(struct bench_session *s);
void bench_session_free(struct bench_session *s);
void bench_settings_default(struct bench_settings *set);

size_t bench_n_cells(const struct bench_session *s);
size_t bench_n_arms(const struct bench_session *s);
/* Level (value index) of knob k in cell c. */
size_t bench_cell_level(const struct bench_session *s, size_t cell, size_t knob);
/* The cell with knob k set to `level` and every other knob as in `cell`. */
size_t bench_cell_with(const struct bench_session *s, size_t cell, size_t knob, size_t level);
/* "K1=v1,K2=v2" ("" without knobs).  Caller frees. */
char *bench_cell_label(const struct bench_session *s, size_t cell);

void bench_add_variant(struct bench_session *s, const char *name, enum variant_role role,
                       const char *command, char **argv, const char *artifact);
void bench_add_benchmark(struct bench_session *s, const char *name, const char *value);
/* The benchmark `name` reported by the process of `parent`: found, or
 * added with the parent's block count. */
size_t bench_child_benchmark(struct bench_session *s, size_t parent, const char *name);
/* Benchmarks the plan runs (the others are reported by their processes). */
static inline bool bench_is_scheduled(const struct bench_session *s, size_t b)
{
	return s->benchmarks[b].parent == BENCH_NO_PARENT;
}
/* Does run r measure benchmark b (its own, or one its process reported)? */
bool bench_run_covers(const struct bench_session *s, const struct bench_run *r, size_t b);

/* Metrics: names, units, directions, for builtin and reported ones alike. */
size_t bench_n_metrics(const struct bench_session *s);
const char *bench_metric_name(const struct bench_session *s, enum bench_metric m);
const char *bench_metric_unit(const struct bench_session *s, enum bench_metric m);
enum metric_direction bench_metric_direction(const struct bench_session *s, enum bench_metric m);
/* A count (instructions, simulated cycles) rather than a measurement: its
 * spread between blocks is layout jitter, not noise (stats.h). */
bool bench_metric_is_count(enum bench_metric m);
/* The rss source of a session's runs: that of its first measured run
 * ("wait4" when none). */
enum rss_source bench_rss_source(const struct bench_session *s);
/* -1 when the session has no metric of that name. */
int bench_metric_find(const struct bench_session *s, const char *name);
/* The builtin metric `name`, -1 for another. */
int bench_builtin_metric(const char *name);
/* The definition of a reported metric, NULL for a built-in one. */
const struct bench_metric_def *bench_reported_def(const struct bench_session *s,
                                                  enum bench_metric m);
/* The name of a built-in metric ("unknown" for any other). */
const char *bench_builtin_metric_name(enum bench_metric m);
/* Find or add a reported metric; its direction from `direction` (>= 0),
 * else from settings.metric_directions.  -1 + err when the table is
 * full or a new metric's direction is unknown (-1 and not configured). */
int bench_metric_intern(struct bench_session *s, const char *name, const char *unit, int direction,
                        const char *source, struct error *err);
/* settings.metric_reported -> settings.metric, once runs reported it. */
int bench_resolve_gate_metric(struct bench_session *s, struct error *err);
void bench_add_knob(struct bench_session *s, const char *key, char **values, size_t n);
/* Append a run (copied); returns its index. */
size_t bench_add_run(struct bench_session *s, const struct bench_run *run);

/* A run's value of builtin metric m; NAN when the run does not have it. */
double bench_run_metric(const struct bench_run *r, enum bench_metric m);
/* Run r's value of metric m for benchmark b (bench_run_covers); NAN when
 * it has none. */
double bench_value(const struct bench_run *r, size_t b, enum bench_metric m);
/* True when every measured run of benchmark b has a positive metric m. */
bool bench_has_metric(const struct bench_session *s, size_t b, enum bench_metric m);
/* Deep copies of settings (the arrays and strings they own). */
void bench_settings_copy(struct bench_settings *dst, const struct bench_settings *src);
void bench_settings_free(struct bench_settings *set);

/* {bench} -> benchmark value, {artifact} -> mount point; NULL-terminated. */
char **bench_substitute(char *const *argv, const char *bench_value, const char *artifact_dir);

/* JSON: the members listed in the file comment, added to `doc`. */
void bench_session_to_json(const struct bench_session *s, json_t *doc);
/* Read them back (schema checked); `s` must be freshly initialised. */
int bench_session_from_json(const json_t *doc, struct bench_session *s, struct error *err);
/* A result file: -1 + err naming the file (and the JSON line). */
int bench_session_load(const char *path, struct bench_session *s, struct error *err);

/* ln of the metric of every measured run of one arm (variant, cell) that
 * measures benchmark b, negated for a higher-is-better metric when
 * `badness`; returns how many (out holds s->n_runs at most). */
size_t bench_arm_logs(const struct bench_session *s, size_t b, size_t v, size_t cell,
                      enum bench_metric m, bool badness, double *out);

/* JSON number or null for a non-finite double. */
json_t *json_real_or_null(double v);

#endif
