/* bench.c - `pgo-sandbox bench`: its options into struct bench_options
 * (bench/bench_options.h), --record wired to the results store
 * (history/), the sandbox options to the `run` parser. */
#define _GNU_SOURCE
#include "cli/bench.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "bench/bench_reported.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/run_options.h"
#include "history/history.h"
#include "base/strv.h"

enum {
	OPT_RUNS = 256,
	OPT_WARMUP,
	OPT_MAX_RUNS,
	OPT_THRESHOLD,
	OPT_FAIL,
	OPT_ONLY,
	OPT_STRICT,
	OPT_AA,
	OPT_BASELINE,
	OPT_CANDIDATE,
	OPT_VARIANT,
	OPT_PRELOAD,
	OPT_BENCHMARK,
	OPT_BENCHMARKS,
	OPT_MATRIX,
	OPT_RANDOMIZE,
	OPT_COUNTERS,
	OPT_CALLGRIND,
	OPT_CACHEGRIND,
	OPT_EXPLAIN,
	OPT_METRIC,
	OPT_JSON,
	OPT_MARKDOWN,
	OPT_SVG,
	OPT_RERUN,
	OPT_CPUS,
	OPT_ALLOW_SMT,
	OPT_SEED,
	OPT_SHOW_OUTPUT,
	OPT_NO_HOST_TUNING,
	OPT_NO_WORKDIR,
	OPT_CONFIDENCE,
	OPT_NICE,
	OPT_METRIC_REGEX,
	OPT_METRIC_JSON,
	OPT_METRIC_DIRECTION,
	OPT_AGAINST,
	OPT_ALLOW_OTHER_HOST,
	OPT_RULES,
	OPT_RECORD,
	OPT_COMMIT,
	OPT_BRANCH,
	OPT_HELP,
	/* handed to the sandbox's own parser */
	OPT_SB_ONE,
	OPT_SB_TWO,
	OPT_SB_FLAG,
};

static const struct option bench_options_table[] = {
    {"runs", required_argument, NULL, OPT_RUNS},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"max-runs", required_argument, NULL, OPT_MAX_RUNS},
    {"threshold", required_argument, NULL, OPT_THRESHOLD},
    {"confidence", required_argument, NULL, OPT_CONFIDENCE},
    {"fail-on-regression", required_argument, NULL, OPT_FAIL},
    {"only", required_argument, NULL, OPT_ONLY},
    {"strict", no_argument, NULL, OPT_STRICT},
    {"aa-control", no_argument, NULL, OPT_AA},
    {"baseline", required_argument, NULL, OPT_BASELINE},
    {"candidate", required_argument, NULL, OPT_CANDIDATE},
    {"variant", required_argument, NULL, OPT_VARIANT},
    {"preload", required_argument, NULL, OPT_PRELOAD},
    {"benchmark", required_argument, NULL, OPT_BENCHMARK},
    {"benchmarks", required_argument, NULL, OPT_BENCHMARKS},
    {"matrix", required_argument, NULL, OPT_MATRIX},
    {"randomize-layout", no_argument, NULL, OPT_RANDOMIZE},
    {"counters", no_argument, NULL, OPT_COUNTERS},
    {"callgrind", no_argument, NULL, OPT_CALLGRIND},
    {"cachegrind", no_argument, NULL, OPT_CACHEGRIND},
    {"explain", no_argument, NULL, OPT_EXPLAIN},
    {"metric", required_argument, NULL, OPT_METRIC},
    {"json", required_argument, NULL, OPT_JSON},
    {"markdown", required_argument, NULL, OPT_MARKDOWN},
    {"svg", required_argument, NULL, OPT_SVG},
    {"rerun", required_argument, NULL, OPT_RERUN},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"allow-smt-siblings", no_argument, NULL, OPT_ALLOW_SMT},
    {"seed", required_argument, NULL, OPT_SEED},
    {"show-output", no_argument, NULL, OPT_SHOW_OUTPUT},
    {"no-host-tuning", no_argument, NULL, OPT_NO_HOST_TUNING},
    {"no-workdir", no_argument, NULL, OPT_NO_WORKDIR},
    {"nice", required_argument, NULL, OPT_NICE},
    {"metric-regex", required_argument, NULL, OPT_METRIC_REGEX},
    {"metric-json", required_argument, NULL, OPT_METRIC_JSON},
    {"metric-direction", required_argument, NULL, OPT_METRIC_DIRECTION},
    {"against", required_argument, NULL, OPT_AGAINST},
    {"allow-other-host", no_argument, NULL, OPT_ALLOW_OTHER_HOST},
    {"rules", required_argument, NULL, OPT_RULES},
    {"record", required_argument, NULL, OPT_RECORD},
    {"commit", required_argument, NULL, OPT_COMMIT},
    {"branch", required_argument, NULL, OPT_BRANCH},
    {"help", no_argument, NULL, OPT_HELP},
    /* sandbox options, checked by the `run` parser */
    {"image", required_argument, NULL, OPT_SB_ONE},
    {"tmpfs", required_argument, NULL, OPT_SB_ONE},
    {"tmpfs-size", required_argument, NULL, OPT_SB_ONE},
    {"chdir", required_argument, NULL, OPT_SB_ONE},
    {"setenv", required_argument, NULL, OPT_SB_ONE},
    {"keep-env", required_argument, NULL, OPT_SB_ONE},
    {"timeout", required_argument, NULL, OPT_SB_ONE},
    {"memory", required_argument, NULL, OPT_SB_ONE},
    {"pids", required_argument, NULL, OPT_SB_ONE},
    {"rlimit", required_argument, NULL, OPT_SB_ONE},
    {"cgroup-parent", required_argument, NULL, OPT_SB_ONE},
    {"sysfs-root", required_argument, NULL, OPT_SB_ONE},
    {"state-dir", required_argument, NULL, OPT_SB_ONE},
    {"uid", required_argument, NULL, OPT_SB_ONE},
    {"gid", required_argument, NULL, OPT_SB_ONE},
    {"entropy-seed", required_argument, NULL, OPT_SB_ONE},
    {"ro-bind", required_argument, NULL, OPT_SB_TWO},
    {"ro-bind-idmap", required_argument, NULL, OPT_SB_TWO},
    {"bind", required_argument, NULL, OPT_SB_TWO},
    {"no-idmap", no_argument, NULL, OPT_SB_FLAG},
    {"userns", no_argument, NULL, OPT_SB_FLAG},
    {"allow-ptrace", no_argument, NULL, OPT_SB_FLAG},
    {"allow-perf", no_argument, NULL, OPT_SB_FLAG},
    {NULL, 0, NULL, 0},
};

void bench_cli_usage(FILE *out, const char *command)
{
	(void)command;
	fputs(
	    "usage: pgo-sandbox bench [OPTIONS] -- COMMAND [ARGS...]\n"
	    "       pgo-sandbox bench [OPTIONS] --baseline CMD|ARTIFACT --candidate CMD|ARTIFACT\n"
	    "       pgo-sandbox bench [OPTIONS] --variant NAME=CMD --variant NAME=CMD...\n"
	    "       pgo-sandbox bench --rerun RESULT.json [--runs N] [--json FILE]...\n"
	    "\n"
	    "Run each variant as a fresh sandboxed process, interleaved in balanced blocks\n"
	    "(ABBA/BAAB) on one pinned CPU, and compare them with paired statistics.\n"
	    "A CMD is one string split into words as a shell would (no expansion).\n"
	    "{bench} in a command becomes the benchmark's value; with an ARTIFACT\n"
	    "(a directory or tarball, bound read-only at /artifact) the command after\n"
	    "-- is run and {artifact} becomes /artifact.  See docs/bench.md.\n"
	    "\n"
	    "Runs:\n"
	    "  --runs N              measured runs per variant and benchmark (default 20;\n"
	    "                        two per block, so N/2 blocks)\n"
	    "  --warmup N            unmeasured runs per variant first (default 1)\n"
	    "  --max-runs N          extend inconclusive comparisons up to N runs (default 3x)\n"
	    "  --preload NAME=LIB    LD_PRELOAD=LIB in variant NAME's runs (an allocator);\n"
	    "                        a missing LIB is an error before anything runs\n"
	    "  --benchmark NAME[=VALUE]  a benchmark; {bench} -> VALUE (default NAME)\n"
	    "  --benchmarks A,B,C    several benchmarks at once\n"
	    "  --matrix KEY=V1,V2    environment knob; the full factorial runs (repeatable)\n"
	    "  --cpus LIST           pinned CPUs, each online (default: the least busy online\n"
	    "                        CPU over a short sample; the last one if /proc/stat\n"
	    "                        cannot be read)\n"
	    "  --allow-smt-siblings  allow two hyperthreads of one core in --cpus\n"
	    "  --randomize-layout    ASLR on and a random 0-4095 byte environment pad per\n"
	    "                        block (default: ASLR off, fixed environment)\n"
	    "  --no-host-tuning      leave turbo and the governor alone\n"
	    "  --no-workdir          do not bind the current directory read-only\n"
	    "  --nice N              the command's nice value (default -20; 0 leaves it)\n"
	    "  --seed N              schedule seed (default random; always recorded)\n"
	    "  --show-output         let the command's stdout/stderr through\n"
	    "Statistics and the gate:\n"
	    "  --metric NAME         what the verdicts judge: wall (default), cpu,\n"
	    "                        instructions, est-cycles, rss (peak memory), or a\n"
	    "                        reported metric\n"
	    "  --threshold PCT       smallest change that matters (default 2)\n"
	    "  --confidence C        interval confidence (default 0.95)\n"
	    "  --fail-on-regression PCT  exit 1 when a benchmark is slower by more than PCT\n"
	    "  --only GLOB           gate only the benchmarks matching GLOB\n"
	    "  --strict              an inconclusive gated comparison exits 2\n"
	    "  --aa-control          add an A/A control; a difference there exits 3\n"
	    "Measurements:\n"
	    "  --counters            hardware counters (perf_event_open) per run\n"
	    "  --callgrind           run under valgrind --tool=callgrind: instruction counts\n"
	    "  --cachegrind          run under cachegrind with cache and branch simulation:\n"
	    "                        simulated counters (a model, not the machine) and\n"
	    "                        --metric est-cycles; forensics then works without a PMU\n"
	    "  --explain             classify a slowdown from the counters (see forensics)\n"
	    "Metrics the benchmark reports (the default gate metric when given):\n"
	    "  --metric-regex NAME:UNIT:higher|lower:REGEX  a value in its stdout (one\n"
	    "                        capture; two: a benchmark name, then its value)\n"
	    "  --metric-json gbench|criterion|bmf[:PATH]  a harness's JSON: on stdout, or\n"
	    "                        PATH in the run's report directory /pgo-report\n"
	    "                        ($PGO_REPORT_DIR; criterion: $CRITERION_HOME)\n"
	    "  --metric-direction NAME=higher|lower  which way is better for a metric\n"
	    "Recorded baselines and decisions:\n"
	    "  --against RESULT.json[:VARIANT]  compare with a recorded result (unpaired,\n"
	    "                        across time); another host's only with\n"
	    "  --allow-other-host\n"
	    "  --rules FILE          GO / NEUTRAL / NO-GO decision rules (docs/bench.md)\n"
	    "  --record STORE        record the result in a results store (an SQLite file\n"
	    "                        or a PostgreSQL connection string; docs/history.md),\n"
	    "                        opened before the first run; if recording fails at the\n"
	    "                        end, the result is kept beside the store\n"
	    "  --commit C, --branch B  the recorded run's commit and branch (default: from\n"
	    "                        $GITHUB_SHA/$CI_COMMIT_SHA..., else git)\n"
	    "Reports:\n"
	    "  --json FILE --markdown FILE --svg FILE  (--json -: the JSON on stdout, the\n"
	    "                        summary on stderr)\n"
	    "  --rerun RESULT.json   rerun recorded conditions and compare with them\n"
	    "Sandbox options passed through (see pgo-sandbox run --help):\n"
	    "  --image --ro-bind --ro-bind-idmap --bind --tmpfs --tmpfs-size --chdir\n"
	    "  --setenv --keep-env --timeout --memory --pids --rlimit --cgroup-parent\n"
	    "  --uid --gid --userns --entropy-seed\n"
	    "  --allow-ptrace --allow-perf --sysfs-root --state-dir\n"
	    "\n"
	    "Exit codes: 0 ok (or GO), 1 regression, 2 inconclusive (--strict; any gate:\n"
	    "no finite interval), 3 A/A\n"
	    "control failed (noisy machine), 4 a benchmark command failed or its\n"
	    "metrics did not parse, 5 NO-GO, 6 NEUTRAL (--rules), 125 usage or setup.\n"
	    "\n"
	    "Examples:\n"
	    "  pgo-sandbox bench --runs 30 -- ./minilang bench/fib.ml\n"
	    "  pgo-sandbox bench --baseline './old x.ml' --candidate './new x.ml' \\\n"
	    "      --fail-on-regression 3 --json r.json --markdown r.md\n"
	    "  pgo-sandbox bench --benchmarks fib_full_check_flow,dict \\\n"
	    "      --variant a='./a bench/{bench}.ml' --variant b='./b bench/{bench}.ml' \\\n"
	    "      --fail-on-regression 2 --only '*_full_check_flow'\n",
	    out);
}

static int parse_count(const char *opt, const char *text, size_t *out, size_t min,
                       struct error *err)
{
	uint64_t v;

	if (parse_u64(text, &v, err) < 0 || v < min || v > 100000)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "%s %s: expected a number from %zu to 100000", opt, text, min);
	*out = (size_t)v;
	return 0;
}

static void replace(char **slot, const char *value)
{
	free(*slot);
	*slot = xstrdup(value);
}

static int sandbox_option(struct bench_options *o, const struct cli_opt *c, struct error *err)
{
	char *flag = xasprintf("--%s", c->name);
	const char *second;

	o->sandbox_args = strv_append_copy_n(o->sandbox_args, &o->n_sandbox_args, flag);
	if (c->id != OPT_SB_FLAG)
		o->sandbox_args = strv_append_copy_n(o->sandbox_args, &o->n_sandbox_args, c->arg);
	if (c->id == OPT_SB_TWO) {
		second = cli_take_value(c);
		if (second == NULL) {
			error_set(err, EXIT_RUNNER_ERROR, 0, "bench: %s needs SRC and DST", flag);
			free(flag);
			return -1;
		}
		o->sandbox_args = strv_append_copy_n(o->sandbox_args, &o->n_sandbox_args, second);
	}
	free(flag);
	return 0;
}

static int handle(void *request, const struct cli_opt *c, struct error *err)
{
	struct bench_options *o = request;
	struct bench_settings *set = &o->set;
	const char *arg = c->arg;
	int opt = c->id;
	uint64_t v;
	int m;

	switch (opt) {
	case OPT_RUNS:
		o->given |= GIVEN_RUNS;
		return parse_count("--runs", arg, &set->runs, 2, err);
	case OPT_WARMUP:
		o->given |= GIVEN_WARMUP;
		return parse_count("--warmup", arg, &set->warmup, 0, err);
	case OPT_MAX_RUNS:
		o->given |= GIVEN_MAX_RUNS;
		return parse_count("--max-runs", arg, &set->max_runs, 2, err);
	case OPT_THRESHOLD:
		o->given |= GIVEN_THRESHOLD;
		if (bench_parse_pct(arg, &set->threshold, err) < 0)
			return error_prefix(err, "--threshold");
		set->threshold /= 100.0;
		return 0;
	case OPT_CONFIDENCE: {
		char *end;
		errno = 0;
		set->confidence = strtod(arg, &end);
		if (errno || *end || !(set->confidence >= 0.5 && set->confidence < 1))
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "--confidence %s: expected 0.5 <= C < 1", arg);
		return 0;
	}
	case OPT_FAIL:
		set->fail_set = true;
		return bench_parse_pct(arg, &set->fail_pct, err) < 0
		           ? error_prefix(err, "--fail-on-regression")
		           : 0;
	case OPT_ONLY: replace(&set->only, arg); return 0;
	case OPT_STRICT: set->strict = true; return 0;
	case OPT_AA: set->aa_control = true; return 0;
	case OPT_BASELINE: replace(&o->baseline, arg); return 0;
	case OPT_CANDIDATE: replace(&o->candidate, arg); return 0;
	case OPT_VARIANT:
		o->variants = strv_append_copy_n(o->variants, &o->n_variants, arg);
		return 0;
	case OPT_PRELOAD:
		o->preloads = strv_append_copy_n(o->preloads, &o->n_preloads, arg);
		return 0;
	case OPT_BENCHMARK:
		o->benchmarks = strv_append_copy_n(o->benchmarks, &o->n_benchmarks, arg);
		return 0;
	case OPT_BENCHMARKS: {
		char *copy = xstrdup(arg), *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			o->benchmarks = strv_append_copy_n(o->benchmarks, &o->n_benchmarks, t);
		free(copy);
		return 0;
	}
	case OPT_MATRIX: o->matrix = strv_append_copy_n(o->matrix, &o->n_matrix, arg); return 0;
	case OPT_RANDOMIZE: set->randomize_layout = true; return 0;
	case OPT_COUNTERS:
		o->given |= GIVEN_COUNTERS;
		set->counters = true;
		return 0;
	case OPT_CALLGRIND:
		o->given |= GIVEN_CALLGRIND;
		set->callgrind = true;
		return 0;
	case OPT_CACHEGRIND:
		o->given |= GIVEN_CACHEGRIND;
		set->cachegrind = true;
		return 0;
	case OPT_EXPLAIN:
		o->explain = true;
		set->counters = true;
		return 0;
	case OPT_METRIC:
		/* a name that is not builtin is resolved once the benchmarks
		 * have reported their metrics */
		m = bench_builtin_metric(arg);
		set->metric = m >= 0 ? (enum bench_metric)m : METRIC_WALL;
		free(set->metric_reported);
		set->metric_reported = m >= 0 ? NULL : xstrdup(arg);
		o->given |= GIVEN_METRIC;
		return 0;
	case OPT_METRIC_REGEX:
	case OPT_METRIC_JSON: {
		char *src = xasprintf("%s:%s", opt == OPT_METRIC_REGEX ? "regex" : "json", arg);
		struct reported_source probe;
		int rc = reported_source_parse(src, &probe, err);

		reported_source_free(&probe);
		if (rc == 0)
			set->metric_sources =
			    strv_append_copy_n(set->metric_sources, &set->n_metric_sources, src);
		free(src);
		return rc;
	}
	case OPT_METRIC_DIRECTION: {
		const char *eq = strchr(arg, '=');

		if (eq == NULL || eq == arg || direction_by_name(eq + 1) < 0)
			return error_set(
			    err, EXIT_RUNNER_ERROR, 0,
			    "--metric-direction %s: expected NAME=higher or NAME=lower", arg);
		set->metric_directions =
		    strv_append_copy_n(set->metric_directions, &set->n_metric_directions, arg);
		return 0;
	}
	case OPT_AGAINST: o->against = strv_append_copy_n(o->against, &o->n_against, arg); return 0;
	case OPT_ALLOW_OTHER_HOST: o->allow_other_host = true; return 0;
	case OPT_RULES: replace(&o->rules_path, arg); return 0;
	case OPT_RECORD: replace(&o->record_store, arg); return 0;
	case OPT_COMMIT: replace(&o->record_commit, arg); return 0;
	case OPT_BRANCH: replace(&o->record_branch, arg); return 0;
	case OPT_JSON: replace(&o->json_path, arg); return 0;
	case OPT_MARKDOWN: replace(&o->markdown_path, arg); return 0;
	case OPT_SVG: replace(&o->svg_path, arg); return 0;
	case OPT_RERUN: replace(&o->rerun_path, arg); return 0;
	case OPT_CPUS:
		o->given |= GIVEN_CPUS;
		replace(&o->cpus, arg);
		return 0;
	case OPT_ALLOW_SMT: o->allow_smt = true; return 0;
	case OPT_SEED:
		o->given |= GIVEN_SEED;
		if (parse_u64(arg, &v, err) < 0 || v > (1ULL << 53) - 1)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "--seed %s: expected an integer below 2^53", arg);
		set->seed = v;
		return 0;
	case OPT_SHOW_OUTPUT: o->show_output = true; return 0;
	case OPT_NO_HOST_TUNING: o->no_host_tuning = true; return 0;
	case OPT_NO_WORKDIR: o->no_workdir = true; return 0;
	case OPT_NICE: {
		char *end;
		long n;

		errno = 0;
		n = strtol(arg, &end, 10);
		if (errno || end == arg || *end || n < -20 || n > 19)
			return error_set(err, EXIT_RUNNER_ERROR, 0, "--nice %s: expected -20..19",
			                 arg);
		o->nice = (int)n;
		return 0;
	}
	case OPT_SB_ONE:
	case OPT_SB_TWO:
	case OPT_SB_FLAG: return sandbox_option(o, c, err);
	default:
		return error_set(err, EXIT_RUNNER_ERROR, 0, "bench: option %s is not handled",
		                 c->name ? c->name : "?");
	}
}

static const struct cli_parser bench_parser = {
    .command = "bench",
    .shortopts = "+:h",
    .longopts = bench_options_table,
    .help = OPT_HELP,
    .usage = bench_cli_usage,
    .handle = handle,
};

int bench_cli_parse(int argc, char **argv, struct bench_options *o, struct error *err)
{
	int first, rc;

	memset(o, 0, sizeof(*o));
	bench_settings_default(&o->set);
	o->nice = -20;
	rc = cli_parse(&bench_parser, argc, argv, o, &first, err);
	if (rc != 0)
		return rc;
	if (first < argc)
		o->argv = &argv[first];
	return bench_options_check(o, err);
}

static int check_bench_store(void *arg, const char *store, struct error *err)
{
	(void)arg;
	return history_check_store(store, err);
}

static int record_bench(void *arg, const struct bench_record_request *rq, const json_t *result,
                        struct error *err)
{
	struct history_context ctx = {.commit = rq->commit, .branch = rq->branch};
	char *id = NULL, *kept = NULL;

	(void)arg;
	if (history_record_or_keep(rq->store, result, &ctx, &id, &kept, err) < 0) {
		free(kept);
		return -1;
	}
	printf("recorded as run %s in %s\n", id, rq->store);
	free(id);
	return 0;
}

static int parse_sandbox(int n, char **words, struct sandbox_spec *spec, struct error *err)
{
	return cli_parse_run(n, words, spec, err);
}

const struct bench_parsers cli_bench_parsers = {bench_cli_parse, parse_sandbox};

int cli_bench(int argc, char **argv)
{
	const struct bench_hooks hooks = {check_bench_store, record_bench, NULL, parse_sandbox};
	struct bench_options o;
	struct error err = {0};
	int rc = bench_cli_parse(argc, argv, &o, &err);

	if (rc != 0) {
		if (rc < 0)
			error_print(&err);
		bench_options_free(&o);
		return rc < 0 ? EXIT_RUNNER_ERROR : 0;
	}
	return bench_run(&o, &hooks);
}
