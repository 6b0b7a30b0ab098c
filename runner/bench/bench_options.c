/* bench_cli.c - see bench_cli.h */
#define _GNU_SOURCE
#include "bench/bench_cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench/bench_reported.h"
#include "sandbox/environment.h"
#include "base/shellwords.h"

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

void bench_cli_usage(FILE *out)
{
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

static char **push(char **v, size_t *n, const char *s)
{
	v = xrealloc(v, (*n + 2) * sizeof(char *));
	v[(*n)++] = xstrdup(s);
	v[*n] = NULL;
	return v;
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void bench_options_free(struct bench_options *o)
{
	bench_settings_free(&o->set);
	free_strings(o->against, o->n_against);
	free(o->rules_path);
	free(o->record_store);
	free(o->record_commit);
	free(o->record_branch);
	free(o->baseline);
	free(o->candidate);
	free_strings(o->variants, o->n_variants);
	free_strings(o->preloads, o->n_preloads);
	free_strings(o->benchmarks, o->n_benchmarks);
	free_strings(o->matrix, o->n_matrix);
	free(o->json_path);
	free(o->markdown_path);
	free(o->svg_path);
	free(o->rerun_path);
	free(o->cpus);
	free_strings(o->sandbox_args, o->n_sandbox_args);
	memset(o, 0, sizeof(*o));
}

int bench_parse_pct(const char *text, double *pct, struct error *err)
{
	char *end;

	errno = 0;
	*pct = strtod(text, &end);
	if (end != text && *end == '%')
		end++;
	if (errno || end == text || *end != '\0' || !isfinite(*pct) || *pct < 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "'%s': expected a non-negative percentage such as 2 or 2.5%%",
		                 text);
	return 0;
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

static int sandbox_option(struct bench_options *o, int argc, char **argv, int opt, const char *name,
                          struct error *err)
{
	char *flag = xasprintf("--%s", name);

	o->sandbox_args = push(o->sandbox_args, &o->n_sandbox_args, flag);
	if (opt != OPT_SB_FLAG)
		o->sandbox_args = push(o->sandbox_args, &o->n_sandbox_args, optarg);
	if (opt == OPT_SB_TWO) {
		if (optind >= argc || strcmp(argv[optind], "--") == 0) {
			error_set(err, EXIT_RUNNER_ERROR, 0, "bench: %s needs SRC and DST", flag);
			free(flag);
			return -1;
		}
		o->sandbox_args = push(o->sandbox_args, &o->n_sandbox_args, argv[optind++]);
	}
	free(flag);
	return 0;
}

static int handle(struct bench_options *o, int opt, int li, int argc, char **argv,
                  struct error *err)
{
	struct bench_settings *set = &o->set;
	uint64_t v;
	int m;

	switch (opt) {
	case OPT_RUNS:
		o->given |= GIVEN_RUNS;
		return parse_count("--runs", optarg, &set->runs, 2, err);
	case OPT_WARMUP:
		o->given |= GIVEN_WARMUP;
		return parse_count("--warmup", optarg, &set->warmup, 0, err);
	case OPT_MAX_RUNS:
		o->given |= GIVEN_MAX_RUNS;
		return parse_count("--max-runs", optarg, &set->max_runs, 2, err);
	case OPT_THRESHOLD:
		o->given |= GIVEN_THRESHOLD;
		if (bench_parse_pct(optarg, &set->threshold, err) < 0)
			return error_prefix(err, "--threshold");
		set->threshold /= 100.0;
		return 0;
	case OPT_CONFIDENCE: {
		char *end;
		errno = 0;
		set->confidence = strtod(optarg, &end);
		if (errno || *end || !(set->confidence >= 0.5 && set->confidence < 1))
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "--confidence %s: expected 0.5 <= C < 1", optarg);
		return 0;
	}
	case OPT_FAIL:
		set->fail_set = true;
		return bench_parse_pct(optarg, &set->fail_pct, err) < 0
		           ? error_prefix(err, "--fail-on-regression")
		           : 0;
	case OPT_ONLY: replace(&set->only, optarg); return 0;
	case OPT_STRICT: set->strict = true; return 0;
	case OPT_AA: set->aa_control = true; return 0;
	case OPT_BASELINE: replace(&o->baseline, optarg); return 0;
	case OPT_CANDIDATE: replace(&o->candidate, optarg); return 0;
	case OPT_VARIANT: o->variants = push(o->variants, &o->n_variants, optarg); return 0;
	case OPT_PRELOAD: o->preloads = push(o->preloads, &o->n_preloads, optarg); return 0;
	case OPT_BENCHMARK: o->benchmarks = push(o->benchmarks, &o->n_benchmarks, optarg); return 0;
	case OPT_BENCHMARKS: {
		char *copy = xstrdup(optarg), *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			o->benchmarks = push(o->benchmarks, &o->n_benchmarks, t);
		free(copy);
		return 0;
	}
	case OPT_MATRIX: o->matrix = push(o->matrix, &o->n_matrix, optarg); return 0;
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
		m = bench_builtin_metric(optarg);
		set->metric = m >= 0 ? (enum bench_metric)m : METRIC_WALL;
		free(set->metric_reported);
		set->metric_reported = m >= 0 ? NULL : xstrdup(optarg);
		o->given |= GIVEN_METRIC;
		return 0;
	case OPT_METRIC_REGEX:
	case OPT_METRIC_JSON: {
		char *src = xasprintf("%s:%s", opt == OPT_METRIC_REGEX ? "regex" : "json", optarg);
		struct reported_source probe;
		int rc = reported_source_parse(src, &probe, err);

		reported_source_free(&probe);
		if (rc == 0)
			set->metric_sources =
			    push(set->metric_sources, &set->n_metric_sources, src);
		free(src);
		return rc;
	}
	case OPT_METRIC_DIRECTION: {
		const char *eq = strchr(optarg, '=');

		if (eq == NULL || eq == optarg || direction_by_name(eq + 1) < 0)
			return error_set(
			    err, EXIT_RUNNER_ERROR, 0,
			    "--metric-direction %s: expected NAME=higher or NAME=lower", optarg);
		set->metric_directions =
		    push(set->metric_directions, &set->n_metric_directions, optarg);
		return 0;
	}
	case OPT_AGAINST: o->against = push(o->against, &o->n_against, optarg); return 0;
	case OPT_ALLOW_OTHER_HOST: o->allow_other_host = true; return 0;
	case OPT_RULES: replace(&o->rules_path, optarg); return 0;
	case OPT_RECORD: replace(&o->record_store, optarg); return 0;
	case OPT_COMMIT: replace(&o->record_commit, optarg); return 0;
	case OPT_BRANCH: replace(&o->record_branch, optarg); return 0;
	case OPT_JSON: replace(&o->json_path, optarg); return 0;
	case OPT_MARKDOWN: replace(&o->markdown_path, optarg); return 0;
	case OPT_SVG: replace(&o->svg_path, optarg); return 0;
	case OPT_RERUN: replace(&o->rerun_path, optarg); return 0;
	case OPT_CPUS:
		o->given |= GIVEN_CPUS;
		replace(&o->cpus, optarg);
		return 0;
	case OPT_ALLOW_SMT: o->allow_smt = true; return 0;
	case OPT_SEED:
		o->given |= GIVEN_SEED;
		if (parse_u64(optarg, &v, err) < 0 || v > (1ULL << 53) - 1)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "--seed %s: expected an integer below 2^53", optarg);
		set->seed = v;
		return 0;
	case OPT_SHOW_OUTPUT: o->show_output = true; return 0;
	case OPT_NO_HOST_TUNING: o->no_host_tuning = true; return 0;
	case OPT_NO_WORKDIR: o->no_workdir = true; return 0;
	case OPT_NICE: {
		char *end;
		long n;

		errno = 0;
		n = strtol(optarg, &end, 10);
		if (errno || end == optarg || *end || n < -20 || n > 19)
			return error_set(err, EXIT_RUNNER_ERROR, 0, "--nice %s: expected -20..19",
			                 optarg);
		o->nice = (int)n;
		return 0;
	}
	case OPT_SB_ONE:
	case OPT_SB_TWO:
	case OPT_SB_FLAG:
		return sandbox_option(o, argc, argv, opt, bench_options_table[li].name, err);
	default:
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "bench: unknown option '%s' (see pgo-sandbox bench --help)",
		                 argv[optind - 1]);
	}
}

static int check_options(struct bench_options *o, struct error *err)
{
	struct bench_settings *set = &o->set;
	bool ab = o->baseline || o->candidate;

	if (set->runs % 2)
		set->runs++; /* a block holds two runs of every arm */
	if (!(o->given & GIVEN_MAX_RUNS))
		set->max_runs = 3 * set->runs;
	if (set->max_runs < set->runs)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "--max-runs %zu is below --runs %zu",
		                 set->max_runs, set->runs);
	if (o->show_output) {
		for (size_t i = 0; i < set->n_metric_sources; i++) {
			struct reported_source src;
			bool reads_stdout =
			    reported_source_parse(set->metric_sources[i], &src, err) == 0 &&
			    reported_source_reads_stdout(&src);

			reported_source_free(&src);
			if (reads_stdout)
				return error_set(err, EXIT_RUNNER_ERROR, 0,
				                 "--show-output: %s reads the command's stdout",
				                 set->metric_sources[i]);
		}
	}
	if (set->metric_reported && set->n_metric_sources == 0 && !o->rerun_path)
		return error_set(
		    err, EXIT_RUNNER_ERROR, 0,
		    "--metric %s: expected wall, cpu, instructions, est-cycles, rss or a "
		    "metric the benchmark reports (--metric-regex, --metric-json)",
		    set->metric_reported);
	/* a benchmark that reports its own metric is judged by it unless
	 * --metric says otherwise */
	if (!(o->given & GIVEN_METRIC) && set->n_metric_sources > 0) {
		struct reported_source src;

		/* BMF names no metric before it runs: the first one it
		 * reports is the gate's (bench.c) */
		if (reported_source_parse(set->metric_sources[0], &src, err) == 0 &&
		    reported_source_default_metric(&src))
			set->metric_reported = xstrdup(reported_source_default_metric(&src));
		reported_source_free(&src);
	}
	if ((o->record_commit || o->record_branch) && o->record_store == NULL)
		return error_set(
		    err, EXIT_RUNNER_ERROR, 0,
		    "--commit and --branch describe a recorded run: give --record STORE");
	if (o->rerun_path) {
		if (ab || o->n_variants || o->argv || o->n_benchmarks || o->n_matrix)
			return error_set(
			    err, EXIT_RUNNER_ERROR, 0,
			    "--rerun takes variants, benchmarks and knobs from the file");
		return 0;
	}
	if (ab && o->n_variants)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "--variant cannot be combined with --baseline/--candidate");
	if (ab && !(o->baseline && o->candidate))
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "--baseline and --candidate go together");
	if (o->n_variants == 1)
		return error_set(
		    err, EXIT_RUNNER_ERROR, 0,
		    "one --variant is not a comparison: give two or more, or use -- COMMAND");
	if (!ab && !o->n_variants && !o->argv)
		return error_set(
		    err, EXIT_RUNNER_ERROR, 0,
		    "bench: no command (usage: pgo-sandbox bench [OPTIONS] -- COMMAND)");
	if (o->n_variants && o->argv)
		return error_set(
		    err, EXIT_RUNNER_ERROR, 0,
		    "bench: -- COMMAND is only for a single command or ARTIFACT variants");
	return 0;
}

int bench_cli_parse(int argc, char **argv, struct bench_options *o, struct error *err)
{
	int opt, li = 0;

	memset(o, 0, sizeof(*o));
	bench_settings_default(&o->set);
	o->nice = -20;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:h", bench_options_table, &li)) != -1) {
		if (opt == OPT_HELP || opt == 'h') {
			bench_cli_usage(stdout);
			return 1;
		}
		if (opt == ':')
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "bench: option '%s' needs a value", argv[optind - 1]);
		if (handle(o, opt, li, argc, argv, err) < 0)
			return -1;
	}
	if (optind < argc)
		o->argv = &argv[optind];
	return check_options(o, err);
}

/* ---- options -> session ------------------------------------------------- */

bool bench_is_artifact(const char *text)
{
	static const char *const suffixes[] = {".tar",     ".tar.gz", ".tgz",
	                                       ".tar.zst", ".tzst",   ".tar.xz"};
	size_t len = strlen(text);
	struct stat st;

	if (stat(text, &st) < 0)
		return false;
	if (S_ISDIR(st.st_mode))
		return true;
	if (!S_ISREG(st.st_mode))
		return false;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t sl = strlen(suffixes[i]);
		if (len > sl && strcmp(text + len - sl, suffixes[i]) == 0)
			return true;
	}
	return false;
}

static bool valid_name(const char *name)
{
	if (*name == '\0')
		return false;
	for (const char *p = name; *p; p++)
		if (!(isalnum((unsigned char)*p) || strchr("_.-+", *p)))
			return false;
	return true;
}

static int add_cmd_variant(struct bench_session *s, const char *name, enum variant_role role,
                           const char *text, char **dash_argv, struct error *err)
{
	char **words;
	size_t n;

	if (bench_is_artifact(text)) {
		char *abs = realpath(text, NULL);

		if (abs == NULL)
			return error_set(err, EXIT_RUNNER_ERROR, errno, "artifact %s", text);
		if (dash_argv == NULL) {
			free(abs);
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "%s is an ARTIFACT: give the command to run against it "
			                 "after -- (it is bound at /artifact)",
			                 text);
		}
		bench_add_variant(s, name, role, NULL, dash_argv, abs);
		free(abs);
		return 0;
	}
	if (shellwords_split(text, &words, &n, err) < 0)
		return error_prefix(err, "variant %s", name);
	bench_add_variant(s, name, role, text, words, NULL);
	shellwords_free(words);
	return 0;
}

/* --preload NAME=LIB: LD_PRELOAD=LIB in variant NAME's runs.  The library
 * must be there before anything runs (the host image binds the host's /usr
 * read-only, so the path is the same inside): a missing one would only make
 * ld.so warn and run the variant with the default allocator. */
static int add_preload(const char *arg, struct bench_session *s, struct error *err)
{
	const char *eq = strchr(arg, '=');
	const char *lib = eq ? eq + 1 : NULL;
	struct stat st;

	if (eq == NULL || eq == arg || *lib != '/')
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "--preload '%s': expected NAME=LIB, LIB an absolute path", arg);
	for (size_t v = 0; v < s->n_variants; v++) {
		if (strlen(s->variants[v].name) != (size_t)(eq - arg) ||
		    strncmp(s->variants[v].name, arg, (size_t)(eq - arg)) != 0)
			continue;
		if (stat(lib, &st) < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno,
			                 "--preload %s: the library %s is missing", arg, lib);
		if (!S_ISREG(st.st_mode))
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "--preload %s: %s is not a file", arg, lib);
		if (s->variants[v].preload)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "--preload %s: variant %s has a preload already (%s)", arg,
			                 s->variants[v].name, s->variants[v].preload);
		s->variants[v].preload = xstrdup(lib);
		return 0;
	}
	return error_set(err, EXIT_RUNNER_ERROR, 0, "--preload %s: no variant is named %.*s", arg,
	                 (int)(eq - arg), arg);
}

static int add_variants(const struct bench_options *o, struct bench_session *s, struct error *err)
{
	if (o->baseline) {
		if (add_cmd_variant(s, "baseline", ROLE_BASELINE, o->baseline, o->argv, err) < 0 ||
		    add_cmd_variant(s, "candidate", ROLE_CANDIDATE, o->candidate, o->argv, err) < 0)
			return -1;
		if (!s->variants[0].artifact && !s->variants[1].artifact && o->argv)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "-- COMMAND is only used with ARTIFACT variants");
	} else if (o->n_variants) {
		for (size_t i = 0; i < o->n_variants; i++) {
			char *name = xstrdup(o->variants[i]);
			char *eq = strchr(name, '=');
			int rc;

			if (eq == NULL || (*eq = '\0', !valid_name(name))) {
				free(name);
				return error_set(err, EXIT_RUNNER_ERROR, 0,
				                 "--variant '%s': expected NAME=CMD, NAME of "
				                 "A-Z a-z 0-9 _ . - +",
				                 o->variants[i]);
			}
			for (size_t j = 0; j < s->n_variants; j++) {
				if (strcmp(s->variants[j].name, name) == 0) {
					error_set(err, EXIT_RUNNER_ERROR, 0,
					          "--variant %s: the name is used twice", name);
					free(name);
					return -1;
				}
			}
			rc = add_cmd_variant(s, name, i ? ROLE_CANDIDATE : ROLE_BASELINE, eq + 1,
			                     NULL, err);
			free(name);
			if (rc < 0)
				return -1;
		}
	} else {
		bench_add_variant(s, "command", ROLE_BASELINE, NULL, o->argv, NULL);
	}
	for (size_t i = 0; i < o->n_preloads; i++)
		if (add_preload(o->preloads[i], s, err) < 0)
			return -1;
	if (o->set.aa_control) {
		const struct bench_variant *b = &s->variants[0];
		char *name = xasprintf("%s~aa", b->name);

		bench_add_variant(s, name, ROLE_AA_CONTROL, b->command, b->argv, b->artifact);
		if (s->variants[0].preload)
			s->variants[s->n_variants - 1].preload = xstrdup(s->variants[0].preload);
		free(name);
	}
	return 0;
}

static bool uses_bench(const struct bench_session *s)
{
	for (size_t v = 0; v < s->n_variants; v++)
		for (size_t i = 0; s->variants[v].argv[i]; i++)
			if (strstr(s->variants[v].argv[i], "{bench}"))
				return true;
	return false;
}

static int add_benchmarks(const struct bench_options *o, struct bench_session *s, struct error *err)
{
	for (size_t i = 0; i < o->n_benchmarks; i++) {
		char *name = xstrdup(o->benchmarks[i]);
		char *eq = strchr(name, '=');

		if (eq)
			*eq = '\0';
		if (!valid_name(name)) {
			free(name);
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "--benchmark '%s': the name uses A-Z a-z 0-9 _ . - +",
			                 o->benchmarks[i]);
		}
		for (size_t j = 0; j < s->n_benchmarks; j++) {
			if (strcmp(s->benchmarks[j].name, name) == 0) {
				error_set(err, EXIT_RUNNER_ERROR, 0, "--benchmark %s: given twice",
				          name);
				free(name);
				return -1;
			}
		}
		bench_add_benchmark(s, name, eq ? eq + 1 : name);
		free(name);
	}
	if (s->n_benchmarks == 0) {
		if (uses_bench(s))
			return error_set(
			    err, EXIT_RUNNER_ERROR, 0,
			    "a command uses {bench} but no --benchmark/--benchmarks was given");
		bench_add_benchmark(s, "default", "");
	}
	return 0;
}

static int add_knobs(const struct bench_options *o, struct bench_session *s, struct error *err)
{
	for (size_t i = 0; i < o->n_matrix; i++) {
		char *copy = xstrdup(o->matrix[i]), *save = NULL;
		char *eq = strchr(copy, '=');
		char **values = NULL;
		size_t n = 0;
		int rc = 0;

		if (eq == NULL || environment_check_assignment(copy, err) < 0) {
			rc = error_set(err, EXIT_RUNNER_ERROR, 0,
			               "--matrix '%s': expected KEY=V1,V2 with KEY a variable name",
			               o->matrix[i]);
			goto next;
		}
		*eq = '\0';
		for (size_t k = 0; k < s->n_knobs; k++)
			if (strcmp(s->knobs[k].key, copy) == 0)
				rc = error_set(err, EXIT_RUNNER_ERROR, 0,
				               "--matrix %s: given twice", copy);
		for (char *t = strtok_r(eq + 1, ",", &save); rc == 0 && t;
		     t = strtok_r(NULL, ",", &save))
			values = push(values, &n, t);
		if (rc == 0 && n == 0)
			rc = error_set(err, EXIT_RUNNER_ERROR, 0, "--matrix %s: no values",
			               o->matrix[i]);
		if (rc == 0)
			bench_add_knob(s, copy, values, n);
		free_strings(values, n);
	next:
		free(copy);
		if (rc < 0)
			return -1;
	}
	if (bench_n_cells(s) > 256)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "--matrix: %zu cells, at most 256",
		                 bench_n_cells(s));
	return 0;
}

int bench_session_from_options(const struct bench_options *o, struct bench_session *s,
                               struct error *err)
{
	bench_settings_copy(&s->set, &o->set);
	if (add_variants(o, s, err) < 0 || add_benchmarks(o, s, err) < 0 ||
	    add_knobs(o, s, err) < 0)
		return -1;
	return 0;
}
