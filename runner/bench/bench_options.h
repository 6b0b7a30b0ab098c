/* bench_options.h - what `pgo-sandbox bench` was asked (parsed from its
 * command line by cli/bench.c), checked, and turned into a session
 * (variants, benchmarks, knobs, settings).  No I/O beyond stat() of
 * ARTIFACT candidates; the runner (bench.c) does the rest. */
#ifndef PGO_BENCH_OPTIONS_H
#define PGO_BENCH_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "bench/bench_model.h"
#include "base/util.h"

/* Which options were given explicitly (--rerun takes the rest from the file). */
enum bench_given {
	GIVEN_RUNS = 1u << 0,
	GIVEN_WARMUP = 1u << 1,
	GIVEN_MAX_RUNS = 1u << 2,
	GIVEN_SEED = 1u << 3,
	GIVEN_CPUS = 1u << 4,
	GIVEN_THRESHOLD = 1u << 5,
	GIVEN_COUNTERS = 1u << 6,
	GIVEN_CALLGRIND = 1u << 7,
	GIVEN_CACHEGRIND = 1u << 8,
	GIVEN_METRIC = 1u << 9,
};

struct bench_options {
	struct bench_settings set;
	unsigned given;             /* enum bench_given */
	char *baseline, *candidate; /* CMD or ARTIFACT */
	char **variants;            /* "NAME=CMD" */
	size_t n_variants;
	char **preloads; /* --preload "NAME=LIB" */
	size_t n_preloads;
	char **benchmarks; /* "NAME[=VALUE]" */
	size_t n_benchmarks;
	char **matrix; /* "KEY=v1,v2" */
	size_t n_matrix;
	char **argv; /* after "--" (points into the caller's argv) */
	char *json_path, *markdown_path, *svg_path, *rerun_path;
	char **against; /* --against RESULT.json[:VARIANT] */
	size_t n_against;
	bool allow_other_host;
	char *rules_path;
	char *record_store;  /* --record */
	char *record_commit; /* --commit: the recorded run's commit (default: git) */
	char *record_branch; /* --branch */
	char *cpus;
	bool allow_smt;
	bool explain;
	bool show_output;
	bool no_host_tuning;
	bool no_workdir;
	int nice;            /* --nice, default BENCH_DEFAULT_NICE */
	char **sandbox_args; /* options handed to the `run` parser */
	size_t n_sandbox_args;
};

/* The options as a whole: completes the defaults that depend on others
 * (--max-runs, the reported metric), refuses what does not go together;
 * -1 + err (exit code 125) naming the options. */
int bench_options_check(struct bench_options *o, struct error *err);
void bench_options_free(struct bench_options *o);

/* "2", "2%", "0.5" -> percent; rejects negatives and garbage. */
int bench_parse_pct(const char *text, double *pct, struct error *err);

/* An ARTIFACT is an existing directory or a file named *.tar, *.tar.gz,
 * *.tgz, *.tar.zst, *.tzst or *.tar.xz; anything else is a CMD. */
bool bench_is_artifact(const char *text);

/* Variants, benchmarks and knobs from the options; settings copied. */
int bench_session_from_options(const struct bench_options *o, struct bench_session *s,
                               struct error *err);

#endif
