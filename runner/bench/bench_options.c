/* bench_options.c - see bench_options.h */
#define _GNU_SOURCE
#include "bench/bench_options.h"
#include "base/strv.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/cleanup.h"
#include "bench/bench_reported.h"
#include "sandbox/environment.h"
#include "base/shellwords.h"

void bench_options_free(struct bench_options *o)
{
	bench_settings_free(&o->set);
	strv_free_n(o->against, o->n_against);
	free(o->rules_path);
	free(o->record_store);
	free(o->record_commit);
	free(o->record_branch);
	free(o->baseline);
	free(o->candidate);
	strv_free_n(o->variants, o->n_variants);
	strv_free_n(o->preloads, o->n_preloads);
	strv_free_n(o->benchmarks, o->n_benchmarks);
	strv_free_n(o->matrix, o->n_matrix);
	free(o->json_path);
	free(o->markdown_path);
	free(o->svg_path);
	free(o->rerun_path);
	free(o->cpus);
	strv_free_n(o->sandbox_args, o->n_sandbox_args);
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

int bench_options_check(struct bench_options *o, struct error *err)
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
		_cleanup_free_ char *copy = xstrdup(o->matrix[i]);
		char *save = NULL;
		char *eq = strchr(copy, '=');
		char **values = NULL;
		size_t n = 0;
		int rc = 0;

		if (eq == NULL || environment_check_assignment(copy, err) < 0)
			return error_set(
			    err, EXIT_RUNNER_ERROR, 0,
			    "--matrix '%s': expected KEY=V1,V2 with KEY a variable name",
			    o->matrix[i]);
		*eq = '\0';
		for (size_t k = 0; k < s->n_knobs; k++)
			if (strcmp(s->knobs[k].key, copy) == 0)
				rc = error_set(err, EXIT_RUNNER_ERROR, 0,
				               "--matrix %s: given twice", copy);
		for (char *t = strtok_r(eq + 1, ",", &save); rc == 0 && t;
		     t = strtok_r(NULL, ",", &save))
			values = strv_append_copy_n(values, &n, t);
		if (rc == 0 && n == 0)
			rc = error_set(err, EXIT_RUNNER_ERROR, 0, "--matrix %s: no values",
			               o->matrix[i]);
		if (rc == 0)
			bench_add_knob(s, copy, values, n);
		strv_free_n(values, n);
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
