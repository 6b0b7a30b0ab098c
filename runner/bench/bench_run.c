/* bench_run.c - see bench_run.h */
#define _GNU_SOURCE
#include "bench/bench_run.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "bench/bench_analysis.h"
#include "bench/bench_options.h"
#include "bench/bench_exec.h"
#include "bench/bench_host.h"
#include "bench/bench_plan.h"
#include "bench/bench_recorded.h"
#include "bench/bench_reported.h"
#include "bench/bench_rules.h"
#include "bench/bench_report.h"
#include "bench/forensics.h"
#include "base/json_file.h"
#include "base/report_json.h"
#include "bench/stats.h"

/* ---- progress ---------------------------------------------------------------- */

static void progress(struct bench_ctx *c, const struct bench_run *r)
{
	double elapsed, eta;

	c->done++;
	if (!c->tty)
		return;
	elapsed = (double)(monotonic_ns() - c->start_ns) / 1e9;
	eta = c->done < c->planned ? elapsed / (double)c->done * (double)(c->planned - c->done) : 0;
	fprintf(stderr, "\r\033[K[bench] run %zu of %zu  %s/%s%s  elapsed %.1fs  eta %.0fs",
	        c->done, c->planned, c->s.benchmarks[r->bench].name, c->s.variants[r->variant].name,
	        r->block == BENCH_BLOCK_WARMUP ? " (warm-up)" : "", elapsed, eta);
	fflush(stderr);
}

void bench_progress_done(struct bench_ctx *c)
{
	if (c->tty)
		fprintf(stderr, "\r\033[K");
}

/* ---- running ----------------------------------------------------------------- */

static int pending_stop(const struct bench_ctx *c)
{
	sigset_t pending;

	if (sigpending(&pending) < 0)
		return 0;
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&c->stop_signals, sig) && sigismember(&pending, sig))
			return sig;
	return 0;
}

/* ---- reported metrics -------------------------------------------------------- */

struct report_ctx {
	struct bench_ctx *c;
	struct bench_run *r;
	const char *source;
};

static int add_reported(void *arg, const char *bench, const char *metric, const char *unit,
                        int direction, double value, struct error *err)
{
	struct report_ctx *rc = arg;
	struct bench_session *s = &rc->c->s;
	struct bench_run *r = rc->r;
	size_t b = r->bench;
	int m;

	m = bench_metric_intern(s, metric, unit, direction, rc->source, err);
	if (m < 0)
		return -1;
	if (!(value > 0))
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "%s: %s of %s is %g: not a positive number", rc->source, metric,
		                 bench ? bench : s->benchmarks[r->bench].name, value);
	if (bench) {
		/* one process per declared benchmark: its reports are named
		 * after it when there are several */
		char *name = rc->c->n_declared > 1
		                 ? xasprintf("%s/%s", s->benchmarks[r->bench].name, bench)
		                 : xstrdup(bench);

		b = bench_child_benchmark(s, r->bench, name);
		free(name);
	}
	if (isfinite(bench_value(r, b, (enum bench_metric)m)))
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: %s of %s reported twice",
		                 rc->source, metric, s->benchmarks[b].name);
	r->reported = xrealloc(r->reported, (r->n_reported + 1) * sizeof(*r->reported));
	r->reported[r->n_reported++] =
	    (struct bench_reported){.bench = b, .metric = (enum bench_metric)m, .value = value};
	return 0;
}

/* Every (benchmark, metric) the previous run of this arm reported must be
 * in this one too: a value that went missing is a failed run, not a
 * smaller sample. */
static int check_nothing_missing(const struct bench_ctx *c, const struct bench_run *r,
                                 struct error *err)
{
	const struct bench_run *prev = NULL;

	for (size_t i = c->s.n_runs; i-- > 0;)
		if (c->s.runs[i].bench == r->bench && c->s.runs[i].variant == r->variant) {
			prev = &c->s.runs[i];
			break;
		}
	for (size_t i = 0; prev && i < prev->n_reported; i++) {
		const struct bench_reported *p = &prev->reported[i];

		if (!isfinite(bench_value(r, p->bench, p->metric)))
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "%s of %s is missing from this run's report (the run "
			                 "before had it)",
			                 bench_metric_name(&c->s, p->metric),
			                 c->s.benchmarks[p->bench].name);
	}
	return 0;
}

static int collect_reported(struct bench_ctx *c, struct bench_run *r, struct error *err)
{
	struct reported_input in = {.report_dir = c->x.report_dir};
	char *out = NULL;
	int rc = 0;

	if (c->n_sources == 0)
		return 0;
	if (bench_exec_output(&c->x, &out, &in.out_len, err) < 0)
		return -1;
	in.out = out;
	for (size_t i = 0; rc == 0 && i < c->n_sources; i++) {
		struct report_ctx ctx = {c, r, c->sources[i].spec};
		struct reported_sink sink = {add_reported, &ctx};

		rc = reported_extract(&c->sources[i], &in, &sink, err);
	}
	if (rc == 0)
		rc = check_nothing_missing(c, r, err);
	free(out);
	return rc;
}

/* Returns 0, or the exit code the bench must stop with. */
static int run_one(struct bench_ctx *c, struct bench_run *r)
{
	struct error err = {0};
	int sig;

	r->seq = c->s.n_runs;
	if (bench_exec_run(&c->x, &c->s, r, &err) < 0) {
		bench_progress_done(c);
		error_print(&err);
		return EXIT_RUNNER_ERROR;
	}
	progress(c, r);
	if (r->exit_code != 0) {
		bench_progress_done(c);
		bench_exec_show_failure(&c->x, &c->s, r);
		return c->x.report->command_started ? BENCH_EXIT_RUN_FAILED : EXIT_RUNNER_ERROR;
	}
	if (collect_reported(c, r, &err) < 0) {
		bench_progress_done(c);
		fprintf(stderr, "pgo-sandbox: bench: %s of benchmark %s (run %zu): %s\n",
		        c->s.variants[r->variant].name, c->s.benchmarks[r->bench].name, r->seq + 1,
		        err.msg);
		free(r->reported);
		return BENCH_EXIT_RUN_FAILED;
	}
	bench_add_run(&c->s, r);
	sig = pending_stop(c);
	if (sig) {
		bench_progress_done(c);
		fprintf(stderr, "pgo-sandbox: bench: interrupted by signal %d\n", sig);
		return 128 + sig;
	}
	return 0;
}

int bench_warmup(struct bench_ctx *c)
{
	size_t n_cells = bench_n_cells(&c->s);

	for (size_t b = 0; b < c->n_declared; b++)
		for (size_t v = 0; v < c->s.n_variants; v++)
			for (size_t cell = 0; cell < n_cells; cell++)
				for (size_t i = 0; i < c->s.set.warmup; i++) {
					struct bench_run r = {.bench = b,
					                      .variant = v,
					                      .cell = cell,
					                      .block = BENCH_BLOCK_WARMUP,
					                      .position = i};
					int rc = run_one(c, &r);

					if (rc)
						return rc;
				}
	return 0;
}

static int run_block(struct bench_ctx *c, size_t b)
{
	size_t k = bench_n_arms(&c->s), n_cells = bench_n_cells(&c->s);
	size_t block = c->s.blocks_done[b];
	unsigned pad = plan_block_pad(c->s.set.randomize_layout, &c->rng);

	plan_block(k, block, c->perm[b], &c->rng, c->slots);
	for (size_t pos = 0; pos < 2 * k; pos++) {
		struct bench_run r = {.bench = b,
		                      .variant = c->slots[pos] / n_cells,
		                      .cell = c->slots[pos] % n_cells,
		                      .block = block,
		                      .position = pos,
		                      .pad = pad};
		int rc = run_one(c, &r);

		if (rc)
			return rc;
	}
	c->s.blocks_done[b]++;
	for (size_t i = c->n_declared; i < c->s.n_benchmarks; i++)
		if (c->s.benchmarks[i].parent == b)
			c->s.blocks_done[i] = c->s.blocks_done[b];
	return 0;
}

/* One block of every benchmark in `want`, in a fresh random order. */
static int run_round(struct bench_ctx *c, const bool *want)
{
	size_t n = c->n_declared;
	size_t *order = xcalloc(n, sizeof(size_t));
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		order[i] = i;
	plan_shuffle(order, n, &c->rng);
	for (size_t i = 0; i < n && rc == 0; i++)
		if (want[order[i]])
			rc = run_block(c, order[i]);
	free(order);
	return rc;
}

/* The gate's metric, once the benchmarks have reported theirs: --metric,
 * the source's own, or (BMF) the first one reported. */
static int resolve_gate_metric(struct bench_ctx *c, struct error *err)
{
	if (c->s.set.metric_reported == NULL && c->n_sources > 0 &&
	    !(c->opt.given & GIVEN_METRIC) && c->s.n_reported > 0)
		c->s.set.metric_reported = xstrdup(c->s.reported[0].name);
	return bench_resolve_gate_metric(&c->s, err);
}

/* Said before the first run: with fewer blocks than an interval needs,
 * every comparison ends inconclusive and a gate cannot pass. */
static void warn_too_few_blocks(const struct bench_settings *set)
{
	size_t runs = bench_min_blocks(set, METHOD_PAIRED_RUNS);
	size_t means = bench_min_blocks(set, METHOD_BLOCK_MEANS), most = set->max_runs / 2;

	if (most >= means)
		return;
	/* A count (est-cycles, instructions) decides from two blocks: only
	 * the time metrics shown beside it stay inconclusive. */
	if (set->metric < METRIC_BUILTIN_COUNT && bench_metric_is_count(set->metric)) {
		if (most < runs)
			fprintf(
			    stderr,
			    "pgo-sandbox: bench: note: --max-runs %zu allows %zu blocks: the "
			    "gate's "
			    "%s (a count) decides from %zu, the time metrics beside it need %zu "
			    "for a %.0f %% interval (--runs %zu)\n",
			    set->max_runs, most, bench_metric_name(NULL, set->metric),
			    bench_min_blocks(set, METHOD_RANGE), runs, 100.0 * set->confidence,
			    2 * runs);
		return;
	}
	if (most < runs)
		fprintf(
		    stderr,
		    "pgo-sandbox: bench: warning: --max-runs %zu allows %zu blocks; a %.0f %% "
		    "interval needs at least %zu (%zu when it falls back to block means; --runs "
		    "%zu): comparisons will be inconclusive%s\n",
		    set->max_runs, most, 100.0 * set->confidence, runs, means, 2 * means,
		    set->fail_set || set->strict ? " and the gate exits 2" : "");
	else
		fprintf(
		    stderr,
		    "pgo-sandbox: bench: note: --max-runs %zu allows %zu blocks; a comparison that "
		    "falls back to block means needs %zu for a %.0f %% interval (--runs %zu)\n",
		    set->max_runs, most, means, 100.0 * set->confidence, 2 * means);
}

/* Printed (stdout, before the summary) once the planned blocks have run,
 * for each benchmark still inconclusive: how many blocks the noise seen so
 * far needs to resolve --threshold, against what --max-runs allows. */
static void announce_blocks_needed(const struct bench_ctx *c, const struct bench_analysis *a)
{
	for (size_t i = 0; i < c->n_declared; i++) {
		size_t need = bench_blocks_needed(&c->s, a, i);

		if (need == 0 || !bench_needs_more(&c->s, a, i))
			continue;
		fprintf(stdout,
		        "pgo-sandbox: bench: %s: from the noise of the first %zu blocks, resolving "
		        "--threshold %.2f %% needs about %zu blocks (--runs %zu); --max-runs %zu "
		        "allows %zu\n",
		        c->s.benchmarks[i].name, c->s.blocks_done[i], 100.0 * c->s.set.threshold,
		        need, 2 * need, c->s.set.max_runs, c->s.set.max_runs / 2);
	}
	fflush(stdout);
}

/* More blocks for benchmark i only while its open interval still shrinks:
 * a new narrowest interval at this look or the one before (one look can
 * widen by chance: the width's own estimate is noisy).  `best` is the
 * narrowest so far, `stale` the looks since it improved. */
static bool still_shrinking(const struct bench_ctx *c, const struct bench_analysis *a, size_t i,
                            double *best, unsigned *stale)
{
	double w = bench_open_width(&c->s, a, i);

	if (w < best[i] || isinf(w)) {
		best[i] = w < best[i] ? w : best[i];
		stale[i] = 0;
		return true;
	}
	if (++stale[i] < 2)
		return true;
	fprintf(stdout,
	        "pgo-sandbox: bench: %s: the interval stopped shrinking (%.2f %% wide, narrowest "
	        "%.2f %%): no more blocks\n",
	        c->s.benchmarks[i].name, 100.0 * expm1(w), 100.0 * expm1(best[i]));
	fflush(stdout);
	return false;
}

/* The planned blocks, then two more (a balanced ABBA+BAAB pair) at a time
 * for benchmarks whose verdict is still inconclusive and whose interval
 * still shrinks, within --max-runs. */
int bench_run_blocks(struct bench_ctx *c, struct bench_analysis *a)
{
	size_t n = c->n_declared, max_blocks = c->s.set.max_runs / 2;
	bool *want = xcalloc(n, sizeof(bool));
	double *best = xcalloc(n, sizeof(double));
	unsigned *stale = xcalloc(n, sizeof(unsigned));
	struct error err = {0};
	int rc = 0;

	warn_too_few_blocks(&c->s.set);
	for (size_t i = 0; i < n; i++)
		want[i] = true;
	for (size_t r = 0; r < c->s.set.runs / 2 && rc == 0; r++)
		rc = run_round(c, want);
	if (rc == 0 && resolve_gate_metric(c, &err) < 0) {
		error_print(&err);
		rc = EXIT_RUNNER_ERROR;
	}
	if (rc != 0) {
		free(want);
		free(best);
		free(stale);
		return rc;
	}
	bench_analyse(&c->s, a);
	announce_blocks_needed(c, a);
	for (size_t i = 0; i < n; i++)
		best[i] = INFINITY;
	while (rc == 0) {
		bool any = false;

		for (size_t i = 0; i < n; i++) {
			want[i] = bench_needs_more(&c->s, a, i) &&
			          c->s.blocks_done[i] + 2 <= max_blocks &&
			          still_shrinking(c, a, i, best, stale);
			any |= want[i];
			if (want[i])
				c->planned += 4 * bench_n_arms(&c->s);
		}
		if (!any)
			break;
		for (int twice = 0; twice < 2 && rc == 0; twice++)
			rc = run_round(c, want);
		bench_analysis_free(a);
		bench_analyse(&c->s, a);
	}
	free(want);
	free(best);
	free(stale);
	return rc;
}
