/* bench.c - `pgo-sandbox bench`: parse, schedule, run, analyse, report.
 * The pieces live in bench_options (the parsed request), bench_plan (order), bench_exec
 * (one run), bench_analysis (statistics and the gate), bench_report
 * (outputs) and forensics. */
#define _GNU_SOURCE
#include "bench/bench.h"

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

/* ---- setup ------------------------------------------------------------------- */

static uint64_t random_seed(void)
{
	uint64_t seed = 0;

	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = monotonic_ns() ^ ((uint64_t)getpid() << 32);
	return seed & ((1ULL << 53) - 1); /* exact in every JSON reader */
}

static void copy_config(const struct bench_session *rec, struct bench_session *s)
{
	bench_settings_copy(&s->set, &rec->set);
	for (size_t i = 0; i < rec->n_variants; i++) {
		const struct bench_variant *v = &rec->variants[i];
		bench_add_variant(s, v->name, v->role, v->command, v->argv, v->artifact);
	}
	/* the benchmarks a process reported are found again when it runs */
	for (size_t i = 0; i < rec->n_benchmarks; i++)
		if (bench_is_scheduled(rec, i))
			bench_add_benchmark(s, rec->benchmarks[i].name, rec->benchmarks[i].value);
	for (size_t i = 0; i < rec->n_knobs; i++)
		bench_add_knob(s, rec->knobs[i].key, rec->knobs[i].values, rec->knobs[i].n_values);
}

static void apply_overrides(const struct bench_options *o, struct bench_settings *set)
{
	if (o->given & GIVEN_RUNS)
		set->runs = o->set.runs;
	if (o->given & GIVEN_WARMUP)
		set->warmup = o->set.warmup;
	if (o->given & (GIVEN_MAX_RUNS | GIVEN_RUNS))
		set->max_runs = o->set.max_runs;
	if (o->given & GIVEN_SEED)
		set->seed = o->set.seed;
	if (o->given & GIVEN_THRESHOLD)
		set->threshold = o->set.threshold;
	if (o->given & GIVEN_COUNTERS)
		set->counters = true;
	if (o->given & GIVEN_CALLGRIND)
		set->callgrind = true;
	if (o->given & GIVEN_CACHEGRIND)
		set->cachegrind = true;
}

static int load_recorded(struct bench_ctx *c, struct error *err)
{
	bench_session_init(&c->rec);
	c->have_rec = true;
	if (bench_session_load(c->opt.rerun_path, &c->rec, err) < 0)
		return error_prefix(err, "--rerun");
	copy_config(&c->rec, &c->s);
	apply_overrides(&c->opt, &c->s.set);
	return 0;
}

/* The recorded sandbox options and CPUs, unless given again. */
static void recorded_exec_options(struct bench_ctx *c, struct bench_exec_options *eo, char ***args,
                                  size_t *n)
{
	json_t *cond = c->rec.conditions;
	json_t *sa = cond ? json_object_get(cond, "sandbox_args") : NULL;
	json_t *cpus = cond ? json_object_get(cond, "cpus") : NULL;

	*args = NULL;
	*n = 0;
	for (size_t i = 0; i < json_array_size(sa); i++) {
		json_t *e = json_array_get(sa, i);

		if (!json_is_string(e))
			continue;
		*args = xrealloc(*args, (*n + 1) * sizeof(char *));
		(*args)[(*n)++] = (char *)json_string_value(e);
	}
	eo->sandbox_args = *args;
	eo->n_sandbox_args = *n;
	if (!(c->opt.given & GIVEN_CPUS) && json_is_string(cpus)) {
		uint8_t mask[CPU_LIST_MAX / 8];
		struct error ignored = {0};
		bool usable = parse_cpu_list(json_string_value(cpus), mask, &ignored) == 0;

		for (unsigned cpu = 0; usable && cpu < CPU_LIST_MAX; cpu++) {
			uint8_t sib[CPU_LIST_MAX / 8];

			if ((mask[cpu / 8] & (1u << (cpu % 8))) &&
			    host_cpu_siblings("/", cpu, sib, &ignored) < 0)
				usable = false;
		}
		if (usable)
			eo->cpus = json_string_value(cpus);
		else
			fprintf(stderr,
			        "pgo-sandbox: bench: recorded CPUs %s do not exist here; "
			        "using the default CPU\n",
			        json_string_value(cpus));
	}
}

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

static void progress_done(struct bench_ctx *c)
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
		progress_done(c);
		error_print(&err);
		return EXIT_RUNNER_ERROR;
	}
	progress(c, r);
	if (r->exit_code != 0) {
		progress_done(c);
		bench_exec_show_failure(&c->x, &c->s, r);
		return c->x.report->command_started ? BENCH_EXIT_RUN_FAILED : EXIT_RUNNER_ERROR;
	}
	if (collect_reported(c, r, &err) < 0) {
		progress_done(c);
		fprintf(stderr, "pgo-sandbox: bench: %s of benchmark %s (run %zu): %s\n",
		        c->s.variants[r->variant].name, c->s.benchmarks[r->bench].name, r->seq + 1,
		        err.msg);
		free(r->reported);
		return BENCH_EXIT_RUN_FAILED;
	}
	bench_add_run(&c->s, r);
	sig = pending_stop(c);
	if (sig) {
		progress_done(c);
		fprintf(stderr, "pgo-sandbox: bench: interrupted by signal %d\n", sig);
		return 128 + sig;
	}
	return 0;
}

static int warmup(struct bench_ctx *c)
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
static int run_blocks(struct bench_ctx *c, struct bench_analysis *a)
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

/* ---- rerun comparison -------------------------------------------------------- */

static json_t *rerun_verdicts(const struct bench_ctx *c, const struct bench_analysis *old,
                              const struct bench_analysis *now, FILE *out)
{
	const struct bench_session *s = &c->s;
	json_t *arr = json_array();

	for (size_t i = 0; i < now->n_cmp; i++) {
		const struct bench_cmp *k = &now->cmp[i];

		if (k->metric != s->set.metric)
			continue;
		for (size_t j = 0; j < old->n_cmp; j++) {
			const struct bench_cmp *o = &old->cmp[j];
			bool agree;

			if (strcmp(bench_metric_name(&c->rec, o->metric),
			           bench_metric_name(&c->s, k->metric)) != 0 ||
			    strcmp(c->rec.benchmarks[o->bench].name,
			           c->s.benchmarks[k->bench].name) != 0 ||
			    o->cell != k->cell || o->cand != k->cand)
				continue;
			agree = o->c.verdict == k->c.verdict;
			fprintf(out, "  %s/%s: recorded %+.2f %% %s, here %+.2f %% %s%s\n",
			        s->benchmarks[k->bench].name, s->variants[k->cand].name, o->c.pct,
			        verdict_name(o->c.verdict), k->c.pct, verdict_name(k->c.verdict),
			        agree ? "" : "  (differs)");
			json_array_append_new(
			    arr, json_pack("{s:i, s:i, s:i, s:s, s:o, s:s, s:o, s:s, s:b}",
			                   "benchmark", (json_int_t)k->bench, "cell",
			                   (json_int_t)k->cell, "candidate", (json_int_t)k->cand,
			                   "recorded_verdict", verdict_name(o->c.verdict),
			                   "recorded_pct", json_real_or_null(o->c.pct),
			                   "new_verdict", verdict_name(k->c.verdict), "new_pct",
			                   json_real_or_null(k->c.pct), "metric",
			                   bench_metric_name(s, k->metric), "agree", agree));
		}
	}
	return arr;
}

static void check_digests(const struct bench_ctx *c)
{
	for (size_t i = 0; i < c->s.n_variants && i < c->rec.n_variants; i++) {
		const char *now = c->s.variants[i].digest, *then = c->rec.variants[i].digest;

		if (now[0] && then[0] && strcmp(now, then) != 0)
			fprintf(stderr,
			        "pgo-sandbox: bench: warning: %s is not the recorded binary "
			        "(%s, recorded %s)\n",
			        c->s.variants[i].name, now, then);
	}
}

static json_t *rerun_report(struct bench_ctx *c, const struct bench_analysis *a)
{
	struct bench_analysis old;
	json_t *o = json_object();

	struct recorded_cmp *k = NULL;
	size_t n;

	bench_analyse(&c->rec, &old);
	printf("rerun of %s (%s):\n", c->opt.rerun_path, bench_metric_name(&c->s, c->s.set.metric));
	json_object_set_new(o, "source", json_string(c->opt.rerun_path));
	json_object_set(o, "source_host",
	                c->rec.conditions ? json_object_get(c->rec.conditions, "host") : NULL);
	n = bench_recorded_compare(&c->s, &c->rec, NULL, (int)c->s.set.metric, &k);
	bench_recorded_print(stdout, &c->s, k, n);
	json_object_set_new(o, "arms", bench_recorded_json(&c->s, k, n));
	free(k);
	json_object_set_new(o, "verdicts", rerun_verdicts(c, &old, a, stdout));
	bench_analysis_free(&old);
	return o;
}

/* ---- recorded baselines (--against) -------------------------------------------- */

static int load_against(struct bench_ctx *c, struct error *err)
{
	c->against = xcalloc(c->opt.n_against + 1, sizeof(*c->against));
	for (size_t i = 0; i < c->opt.n_against; i++) {
		struct against *ag = &c->against[i];

		bench_recorded_split(c->opt.against[i], &ag->path, &ag->variant);
		bench_session_init(&ag->s);
		c->n_against++;
		if (bench_session_load(ag->path, &ag->s, err) < 0)
			return error_prefix(err, "--against");
		if (bench_recorded_check_host(&ag->s, ag->path, c->opt.allow_other_host, err) < 0)
			return error_prefix(err, "--against");
		if (ag->variant) {
			bool found = false;

			for (size_t v = 0; v < ag->s.n_variants; v++)
				found |= strcmp(ag->s.variants[v].name, ag->variant) == 0;
			if (!found)
				return error_set(err, EXIT_RUNNER_ERROR, 0,
				                 "--against %s: it has no variant '%s'", ag->path,
				                 ag->variant);
		}
	}
	return 0;
}

static json_t *against_report(struct bench_ctx *c)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < c->n_against; i++) {
		struct against *ag = &c->against[i];
		struct recorded_cmp *k = NULL;
		size_t n = bench_recorded_compare(&c->s, &ag->s, ag->variant, -1, &k);
		json_t *host = ag->s.conditions ? json_object_get(ag->s.conditions, "host") : NULL;

		printf("against the recorded %s%s%s (unpaired, across time):\n", ag->path,
		       ag->variant ? ", variant " : "", ag->variant ? ag->variant : "");
		if (n == 0)
			printf("  nothing in common (benchmark, variant, cell and metric names)\n");
		bench_recorded_print(stdout, &c->s, k, n);
		json_array_append_new(
		    arr,
		    json_pack("{s:s, s:o, s:O?, s:b, s:o}", "source", ag->path, "variant",
		              ag->variant ? json_string(ag->variant) : json_null(), "source_host",
		              host, "other_host_allowed", c->opt.allow_other_host, "comparisons",
		              bench_recorded_json(&c->s, k, n)));
		free(k);
	}
	return arr;
}

/* ---- outputs ----------------------------------------------------------------- */

static json_t *explain(struct bench_ctx *c)
{
	json_t *arr = json_array();

	if (c->s.n_variants < 2)
		return arr;
	for (size_t b = 0; b < c->s.n_benchmarks; b++) {
		struct forensic_side sa, sb;
		struct forensic_result r;

		forensics_side(&c->s, b, 0, "this run", &sa);
		forensics_side(&c->s, b, 1, "this run", &sb);
		forensics_compare(&sa, &sb, &r);
		putchar('\n');
		forensics_print(stdout, &sa, &sb, &r);
		json_array_append_new(arr, forensics_result_json(&sa, &sb, &r));
		forensics_result_free(&r);
		forensics_side_free(&sa);
		forensics_side_free(&sb);
	}
	return arr;
}

/* Before the first run: a store that cannot take the result is refused
 * while refusing costs nothing. */
static int check_record_store(const struct bench_ctx *c, struct error *err)
{
	if (c->opt.record_store == NULL)
		return 0;
	if (c->hooks == NULL || c->hooks->record == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "--record: no results store here");
	if (c->hooks->check && c->hooks->check(c->hooks->arg, c->opt.record_store, err) < 0)
		return error_prefix(err, "--record %s", c->opt.record_store);
	return 0;
}

/* At the end, the measurements are done: a failure here is said (with
 * where the hook kept the result) but does not replace the gate's exit
 * code. */
static void record_result(struct bench_ctx *c, const json_t *doc)
{
	const struct bench_record_request rq = {.store = c->opt.record_store,
	                                        .commit = c->opt.record_commit,
	                                        .branch = c->opt.record_branch};
	struct error err = {0};

	if (c->hooks->record(c->hooks->arg, &rq, doc, &err) < 0) {
		error_prefix(&err, "--record %s", c->opt.record_store);
		error_print(&err);
	}
}

static int write_json_fd(int fd, const json_t *doc, struct error *err)
{
	char *text = json_file_text(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	int rc = 0;

	if (text == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "--json -: cannot encode the result");
	if (write_all(fd, text, strlen(text)) < 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, errno, "--json -: writing to stdout");
	free(text);
	return rc;
}

/* --json -: the document is the only thing on stdout, so it can be piped;
 * the summary and every other line go to stderr. */
static int json_to_stdout(struct bench_ctx *c, struct error *err)
{
	c->json_fd = -1;
	if (c->opt.json_path == NULL || strcmp(c->opt.json_path, "-") != 0)
		return 0;
	fflush(stdout);
	c->json_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (c->json_fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "--json -: duplicating stdout");
	if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "--json -: stdout to stderr");
	return 0;
}

static int write_text(const char *path, char *text, struct error *err)
{
	int rc = write_file_atomic(path, text, strlen(text), 0644, err);

	free(text);
	return rc;
}

static int outputs(struct bench_ctx *c, const struct bench_analysis *a, json_t *extra)
{
	struct error err = {0};
	const char *nc = getenv("NO_COLOR");
	bool color = isatty(STDOUT_FILENO) && !(nc && *nc);
	int rc = 0;

	bench_print_summary(stdout, &c->s, a, color);
	if (c->opt.explain)
		json_object_set_new(extra, "forensics", explain(c));
	if (c->have_rec)
		json_object_set_new(extra, "rerun", rerun_report(c, a));
	if (c->n_against)
		json_object_set_new(extra, "against", against_report(c));
	if (c->have_rules) {
		rules_print(stdout, &c->rules);
		json_object_set_new(extra, "decision", rules_json(&c->rules));
	}
	fflush(stdout);
	if (c->opt.json_path || c->opt.record_store) {
		json_t *doc = bench_result_json(&c->s, a, extra);

		if (c->json_fd >= 0)
			rc = write_json_fd(c->json_fd, doc, &err);
		else if (c->opt.json_path)
			rc = report_write_json(c->opt.json_path, doc, &err);
		if (c->opt.record_store)
			record_result(c, doc);
		json_decref(doc);
	}
	if (rc == 0 && c->opt.markdown_path) {
		char *md = bench_markdown(&c->s, a);

		if (c->have_rules) {
			char *dec = rules_markdown(&c->rules), *both = xasprintf("%s%s", md, dec);

			free(md);
			free(dec);
			md = both;
		}
		rc = write_text(c->opt.markdown_path, md, &err);
	}
	if (rc == 0 && c->opt.svg_path)
		rc = write_text(c->opt.svg_path, bench_svg(&c->s, a), &err);
	if (rc < 0)
		error_print(&err);
	return rc;
}

/* ---- main -------------------------------------------------------------------- */

/* The rules' warnings not printed yet: some are known before the first
 * run, the others once the benchmarks have reported their metrics. */
static void print_rule_warnings(struct bench_ctx *c)
{
	for (; c->rule_warnings_shown < c->rules.n_warnings; c->rule_warnings_shown++)
		fprintf(stderr, "pgo-sandbox: bench: %s\n",
		        c->rules.warnings[c->rule_warnings_shown]);
}

static int prepare_sources(struct bench_ctx *c, struct bench_exec_options *eo, struct error *err)
{
	c->n_declared = c->s.n_benchmarks;
	c->sources = xcalloc(c->s.set.n_metric_sources + 1, sizeof(*c->sources));
	for (size_t i = 0; i < c->s.set.n_metric_sources; i++) {
		if (reported_source_parse(c->s.set.metric_sources[i], &c->sources[i], err) < 0) {
			reported_source_free(&c->sources[i]);
			return -1;
		}
		c->n_sources++;
		eo->capture_stdout |= reported_source_reads_stdout(&c->sources[i]);
		eo->report_dir |= c->sources[i].path != NULL;
	}
	return 0;
}

static int prepare(struct bench_ctx *c, struct error *err)
{
	struct bench_exec_options eo = {.sandbox_args = c->opt.sandbox_args,
	                                .n_sandbox_args = c->opt.n_sandbox_args,
	                                .cpus = c->opt.cpus,
	                                .cpus_asked = c->opt.cpus != NULL,
	                                .allow_smt = c->opt.allow_smt,
	                                .show_output = c->opt.show_output,
	                                .no_workdir = c->opt.no_workdir,
	                                .no_host_tuning = c->opt.no_host_tuning,
	                                .nice = c->opt.nice,
	                                .parse_sandbox = c->hooks ? c->hooks->parse_sandbox : NULL};
	char **rec_args = NULL;
	size_t n_rec_args, k;
	int rc;

	if (c->opt.rerun_path) {
		if (load_recorded(c, err) < 0)
			return -1;
		recorded_exec_options(c, &eo, &rec_args, &n_rec_args);
	} else if (bench_session_from_options(&c->opt, &c->s, err) < 0) {
		return -1;
	}
	if (!(c->opt.given & GIVEN_SEED) && !c->opt.rerun_path)
		c->s.set.seed = random_seed();
	if (prepare_sources(c, &eo, err) < 0 || (c->opt.n_against && load_against(c, err) < 0))
		return -1;
	if (c->opt.rules_path) {
		c->have_rules = true;
		if (rules_load(c->opt.rules_path, &c->rules, err) < 0 ||
		    rules_check(&c->rules, &c->s, err) < 0 ||
		    rules_load_recorded(&c->rules, c->opt.allow_other_host, err) < 0)
			return -1;
		print_rule_warnings(c);
	}
	if (c->s.set.metric == METRIC_INSTRUCTIONS && !c->s.set.callgrind && !c->s.set.counters &&
	    !c->s.set.cachegrind)
		return error_set(
		    err, EXIT_RUNNER_ERROR, 0,
		    "--metric instructions needs --callgrind, --cachegrind or --counters");
	if (c->s.set.metric == METRIC_EST_CYCLES && !c->s.set.cachegrind)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "--metric est-cycles needs --cachegrind (simulated counters)");
	if (c->s.set.callgrind && c->s.set.cachegrind)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "--callgrind and --cachegrind are two valgrind tools: choose one "
		                 "(--cachegrind counts instructions too)");
	if (check_record_store(c, err) < 0)
		return -1;
	rng_seed(&c->rng, c->s.set.seed);
	rc = bench_exec_init(&c->x, &c->s, &eo, err);
	c->exec_ready = true;
	free(rec_args);
	if (rc < 0)
		return -1;
	if (c->have_rec)
		check_digests(c);
	k = bench_n_arms(&c->s);
	c->perm = xcalloc(c->n_declared, sizeof(size_t *));
	for (size_t b = 0; b < c->n_declared; b++)
		c->perm[b] = xcalloc(k, sizeof(size_t));
	c->slots = xcalloc(2 * k, sizeof(size_t));
	c->planned = c->n_declared * k * (c->s.set.warmup + c->s.set.runs);
	return 0;
}

static void record_conditions(struct bench_ctx *c)
{
	json_t *cond = bench_exec_conditions(&c->x, &c->s);
	json_t *args = json_array();

	for (size_t i = 0; i < c->opt.n_sandbox_args; i++)
		json_array_append_new(args, json_string(c->opt.sandbox_args[i]));
	if (c->have_rec) {
		json_t *rec_args = json_object_get(c->rec.conditions, "sandbox_args");
		json_decref(args);
		args = rec_args ? json_deep_copy(rec_args) : json_array();
	}
	/* Only what the user gave: the workdir and callgrind binds are the
	 * bench's own and are made again by a rerun. */
	json_object_set_new(cond, "sandbox_args", args);
	json_decref(c->s.conditions);
	c->s.conditions = cond;
}

/* 3 (noisy), then NO-GO 5, regression 1, NEUTRAL 6, inconclusive 2. */
static int final_exit_code(const struct bench_ctx *c, const struct bench_analysis *a)
{
	int gate = a->gate.exit_code;
	enum decision d = c->have_rules ? c->rules.outcome : DECISION_GO;

	if (gate == BENCH_EXIT_NOISY)
		return gate;
	if (d == DECISION_NO_GO)
		return BENCH_EXIT_NO_GO;
	if (gate == BENCH_EXIT_REGRESSION)
		return gate;
	if (d == DECISION_NEUTRAL)
		return BENCH_EXIT_NEUTRAL;
	return gate;
}

static void ctx_free(struct bench_ctx *c)
{
	if (c->json_fd >= 0) {
		fflush(stdout);
		dup2(c->json_fd, STDOUT_FILENO); /* the caller's stdout back */
		close(c->json_fd);
		c->json_fd = -1;
	}
	if (c->exec_ready)
		bench_exec_fini(&c->x);
	for (size_t b = 0; c->perm && b < c->n_declared; b++)
		free(c->perm[b]);
	for (size_t i = 0; i < c->n_sources; i++)
		reported_source_free(&c->sources[i]);
	free(c->sources);
	for (size_t i = 0; i < c->n_against; i++) {
		free(c->against[i].path);
		free(c->against[i].variant);
		bench_session_free(&c->against[i].s);
	}
	free(c->against);
	if (c->have_rules)
		rules_free(&c->rules);
	free(c->perm);
	free(c->slots);
	bench_session_free(&c->s);
	if (c->have_rec)
		bench_session_free(&c->rec);
	bench_options_free(&c->opt);
}

int bench_run(struct bench_options *opt, const struct bench_hooks *hooks)
{
	struct bench_ctx c;
	struct bench_analysis a;
	struct error err = {0};
	json_t *extra;
	int rc;

	memset(&c, 0, sizeof(c));
	memset(&a, 0, sizeof(a));
	c.json_fd = -1;
	c.hooks = hooks;
	c.opt = *opt; /* ours now: ctx_free frees it */
	memset(opt, 0, sizeof(*opt));
	bench_session_init(&c.s);
	/* Stop between runs, not in the middle of one: the sandbox forwards
	 * a signal to the command it runs; otherwise it stays pending. */
	sigemptyset(&c.stop_signals);
	sigaddset(&c.stop_signals, SIGINT);
	sigaddset(&c.stop_signals, SIGTERM);
	sigaddset(&c.stop_signals, SIGHUP);
	sigprocmask(SIG_BLOCK, &c.stop_signals, NULL);
	c.tty = isatty(STDERR_FILENO);
	c.start_ns = monotonic_ns();
	if (json_to_stdout(&c, &err) < 0 || prepare(&c, &err) < 0) {
		error_print(&err);
		ctx_free(&c);
		return EXIT_RUNNER_ERROR;
	}
	rc = warmup(&c);
	if (rc == 0)
		rc = run_blocks(&c, &a);
	progress_done(&c);
	if (rc != 0) {
		bench_analysis_free(&a);
		ctx_free(&c);
		return rc;
	}
	record_conditions(&c);
	if (c.have_rules && rules_evaluate(&c.rules, &c.s, &a, &err) < 0) {
		print_rule_warnings(&c);
		error_print(&err);
		bench_analysis_free(&a);
		ctx_free(&c);
		return EXIT_RUNNER_ERROR;
	}
	if (c.have_rules)
		print_rule_warnings(&c);
	extra = json_object();
	if (outputs(&c, &a, extra) < 0)
		rc = EXIT_RUNNER_ERROR;
	else
		rc = final_exit_code(&c, &a);
	json_decref(extra);
	bench_analysis_free(&a);
	ctx_free(&c);
	return rc;
}
