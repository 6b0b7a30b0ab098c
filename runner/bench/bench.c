/* bench.c - `pgo-sandbox bench`: schedule, run, analyse, report.
 * The pieces live in bench_options (the parsed request; cli/bench.c parses
 * it), bench_plan (order), bench_run (the measuring loop), bench_exec (one
 * run), bench_analysis (statistics and the gate), bench_compare (--rerun,
 * --against), bench_report (outputs) and forensics.  This file prepares,
 * writes the outputs and decides the exit code. */
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

#include "bench/bench_compare.h"
#include "bench/bench_run.h"

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
		json_object_set_new(extra, "rerun", bench_rerun_report(c, a));
	if (c->n_against)
		json_object_set_new(extra, "against", bench_against_report(c));
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
	if (prepare_sources(c, &eo, err) < 0 ||
	    (c->opt.n_against && bench_load_against(c, err) < 0))
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
		bench_check_digests(c);
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
	rc = bench_warmup(&c);
	if (rc == 0)
		rc = bench_run_blocks(&c, &a);
	bench_progress_done(&c);
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
