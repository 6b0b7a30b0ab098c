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
 * version 1 files are read as having neither. */
#define BENCH_SCHEMA_VERSION 2

enum bench_metric {
	METRIC_WALL,         /* execve to exit, measured inside the sandbox */
	METRIC_CPU,          /* cgroup cpu.stat usage_usec, else rusage user+sys */
	METRIC_INSTRUCTIONS, /* callgrind Ir, else the instructions counter */
	METRIC_EST_CYCLES,   /* cachegrind's simulated counters (cachegrind.h) */
	METRIC_COUNT,
};
const char *metric_name(enum bench_metric m);
int metric_by_name(const char *name);
const char *metric_unit(enum bench_metric m);
/* A count (instructions, simulated cycles) rather than a time: its
 * spread between blocks is layout jitter, not noise (stats.h). */
bool metric_is_count(enum bench_metric m);

enum variant_role {
	ROLE_BASELINE,
	ROLE_CANDIDATE,
	ROLE_AA_CONTROL,
};
const char *role_name(enum variant_role r);

struct bench_variant {
	char *name;
	enum variant_role role;
	char *command;               /* the CMD string as given, NULL for "-- ARGV" */
	char **argv;                 /* words ({bench} and {artifact} not substituted) */
	char *artifact;              /* absolute host path of an ARTIFACT, else NULL */
	char digest[DIGEST_STR_MAX]; /* artifact or executable digest, "" unknown */
};

struct bench_benchmark {
	char *name;
	char *value; /* what {bench} becomes */
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

#define BENCH_BLOCK_WARMUP SIZE_MAX

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
	uint64_t peak_rss_kib;
	bool has_psi, has_steal;
	double psi_some_us; /* CPU pressure "some" accumulated during the run */
	double steal_s;
	double harness_us; /* bench bookkeeping around sandbox_run */
	struct counter_values counters;
	bool has_ir;
	uint64_t ir; /* callgrind instruction count */
	bool has_sim;
	struct sim_counters sim; /* cachegrind's simulated counters */
	bool outlier[METRIC_COUNT];
};

struct bench_session {
	struct bench_settings set;
	struct bench_variant *variants;
	size_t n_variants;
	struct bench_benchmark *benchmarks;
	size_t n_benchmarks;
	struct bench_knob *knobs;
	size_t n_knobs;
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
void bench_add_knob(struct bench_session *s, const char *key, char **values, size_t n);
/* Append a run (copied); returns its index. */
size_t bench_add_run(struct bench_session *s, const struct bench_run *run);

/* A run's value of metric m; NAN when the run does not have it. */
double bench_run_metric(const struct bench_run *r, enum bench_metric m);
/* True when every measured run has metric m. */
bool bench_has_metric(const struct bench_session *s, enum bench_metric m);

/* {bench} -> benchmark value, {artifact} -> mount point; NULL-terminated. */
char **bench_substitute(char *const *argv, const char *bench_value, const char *artifact_dir);

/* JSON: the members listed in the file comment, added to `doc`. */
void bench_session_to_json(const struct bench_session *s, json_t *doc);
/* Read them back (schema checked); `s` must be freshly initialised. */
int bench_session_from_json(const json_t *doc, struct bench_session *s, struct error *err);

/* JSON number or null for a non-finite double. */
json_t *json_real_or_null(double v);

#endif
