/* bench_run.h - one `pgo-sandbox bench` invocation's state (struct
 * bench_ctx, shared by bench.c, bench_run.c and bench_compare.c) and the
 * measuring loop: warm-up, blocks in their planned order, the reported
 * metrics of each run, adaptive extension until the gate decides. */
#ifndef PGO_BENCH_RUN_H
#define PGO_BENCH_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/bench_analysis.h"
#include "bench/bench_options.h"
#include "bench/bench_exec.h"
#include "bench/bench_model.h"
#include "bench/bench_reported.h"
#include "bench/bench_rules.h"
#include "bench/stats.h"

struct bench_hooks;

struct against {
	char *path, *variant;
	struct bench_session s;
};

/* Everything one invocation carries around. */
struct bench_ctx {
	struct bench_options opt;
	struct bench_session s;
	struct bench_session rec; /* --rerun: the recorded session */
	bool have_rec;
	struct bench_exec x;
	bool exec_ready;
	struct rng rng;
	size_t n_declared; /* benchmarks the plan runs: 0..n_declared-1 */
	const struct bench_hooks *hooks;
	struct rules rules; /* --rules */
	bool have_rules;
	size_t rule_warnings_shown;
	struct against *against; /* --against: recorded baselines */
	size_t n_against;
	struct reported_source *sources;
	size_t n_sources;
	size_t **perm; /* per declared benchmark: the last block's permutation */
	size_t *slots;
	sigset_t stop_signals;
	bool tty;
	uint64_t start_ns;
	size_t done, planned;
	int json_fd; /* --json -: the caller's stdout; everything else goes to stderr */
};

/* The warm-up runs of every arm, before the first block. */
int bench_warmup(struct bench_ctx *c);
/* The planned blocks, then two more at a time for benchmarks whose
 * verdict is still inconclusive and whose interval still shrinks, within
 * --max-runs; `a` holds the last analysis. */
int bench_run_blocks(struct bench_ctx *c, struct bench_analysis *a);
/* End the progress line (a terminal only). */
void bench_progress_done(struct bench_ctx *c);

#endif
