/* stage.c - `pgo-sandbox stage|pipeline|verify|inspect`: the command lines
 * around stage_run.c. */
#define _GNU_SOURCE
#include "pipeline/stage.h"

#include <errno.h>
#include <getopt.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "artifacts/archive.h"
#include "pipeline/config.h"
#include "artifacts/digest.h"
#include "pipeline/pgo.h"
#include "pipeline/profile_diff.h"
#include "pipeline/results_store.h"
#include "pipeline/roles.h"
#include "artifacts/provenance.h"
#include "history/history.h"
#include "pipeline/ship.h"
#include "pipeline/stage_run.h"
#include "base/util.h"

#define DEFAULT_PIPELINE "pgo-pipeline.ini"

extern char **environ;

enum {
	OPT_PIPELINE = 256,
	OPT_SHARD,
	OPT_FORCE,
	OPT_ARTIFACTS,
	OPT_FAILURE_MODE,
	OPT_COMPRESSION,
	OPT_UNTIL,
	OPT_JSON,
	OPT_KEEP,
	OPT_NO_IDMAP,
	OPT_CHECK,
	OPT_HELP,
};

static const struct option stage_options[] = {
    {"pipeline", required_argument, NULL, OPT_PIPELINE},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"force", no_argument, NULL, OPT_FORCE},
    {"artifacts", required_argument, NULL, OPT_ARTIFACTS},
    {"failure-mode", required_argument, NULL, OPT_FAILURE_MODE},
    {"compression", required_argument, NULL, OPT_COMPRESSION},
    {"until", required_argument, NULL, OPT_UNTIL},
    {"json", no_argument, NULL, OPT_JSON},
    {"keep", no_argument, NULL, OPT_KEEP},
    {"no-idmap", no_argument, NULL, OPT_NO_IDMAP},
    {"check", no_argument, NULL, OPT_CHECK},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

struct stage_cli {
	const char *command; /* "stage", "pipeline", "verify", "inspect" */
	const char *pipeline;
	const char *name;
	unsigned shard, shards;
	bool force;
	const char *artifacts;
	bool failure_mode_all;
	enum archive_compression compression;
	const char *until;
	bool json;
	bool keep;
	bool no_idmap;
	bool check; /* pipeline: validate, run nothing */
};

static void usage(FILE *out, const char *command)
{
	if (strcmp(command, "inspect") == 0) {
		fputs("usage: pgo-sandbox inspect ARTIFACT.tar.zst [--json]\n"
		      "\n"
		      "Print an artifact's digest check, provenance (stage, role, profile, inputs\n"
		      "and their digests, image, environment, command, results) and contents.\n",
		      out);
		return;
	}
	fprintf(
	    out,
	    "usage: pgo-sandbox stage NAME [OPTIONS]\n"
	    "       pgo-sandbox pipeline [OPTIONS]\n"
	    "       pgo-sandbox verify NAME [OPTIONS]\n"
	    "\n"
	    "stage runs one stage of a pipeline file in the sandbox and leaves\n"
	    "ARTIFACTS/NAME.tar.zst (with NAME.tar.zst.sha256 and NAME.run.json beside it);\n"
	    "pipeline runs every stage in order (every shard of a sharded stage); verify runs\n"
	    "a stage twice under varied conditions and fails unless both tarballs are\n"
	    "byte-identical.  A stage whose inputs, definition and image are unchanged is\n"
	    "skipped (content-addressed cache).\n"
	    "\n"
	    "Options:\n"
	    "  --pipeline FILE        the pipeline file (default ./%s)\n"
	    "  --shard I/N            run shard I of a stage with N shards\n"
	    "  --force                rerun even when the artifact is up to date\n"
	    "  --artifacts DIR        read and write artifacts in DIR (default: the pipeline's)\n"
	    "  --failure-mode any|all merge: fail on one bad raw profile (any, default) or\n"
	    "                         merge the others and record the bad ones (all)\n"
	    "  --compression zstd|gzip  artifact compression (default zstd)\n"
	    "  --until NAME           pipeline: stop after stage NAME\n"
	    "  --json                 pipeline: print the summary as JSON\n"
	    "  --check                pipeline: load and validate the file (keys, stages,\n"
	    "                         inputs, profiles, compiler), print the stages, run nothing\n"
	    "  --keep                 verify: keep both runs' artifacts and print where\n"
	    "  --no-idmap             test hook: bind /src without an idmapped mount, as on\n"
	    "                         a filesystem that cannot (a private tree is refused)\n"
	    "\n"
	    "Stage roles come from stage names: instrument, train, merge, build, bench.\n"
	    "Inside every stage: /src (source, read-only), /build (working tree, cwd),\n"
	    "/build/out (outputs), /build/in/NAME (input artifacts, read-only).  The\n"
	    "runner exports PGO_CC, PGO_LTO_FLAGS, PGO_CFLAGS, PGO_GENERATE_FLAGS\n"
	    "(instrument), PGO_USE_FLAGS and PGO_PROFILE (build), PGO_SHARD and PGO_SHARDS\n"
	    "(train), decides where profiles go (LLVM_PROFILE_FILE, GCOV_PREFIX), and puts\n"
	    "pgo-shard and pgo-merge on PATH.  Example: fixtures/minilang/pipeline-gcc.ini.\n",
	    DEFAULT_PIPELINE);
}

static int parse_shard(const char *text, struct stage_cli *o, struct error *err)
{
	unsigned i, n;
	char tail;

	if (sscanf(text, "%u/%u%c", &i, &n, &tail) != 2 || n < 1 || i < 1 || i > n)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "--shard %s: expected I/N with 1 <= I <= N", text);
	o->shard = i;
	o->shards = n;
	return 0;
}

static int handle_option(int opt, struct stage_cli *o, struct error *err)
{
	switch (opt) {
	case OPT_PIPELINE: o->pipeline = optarg; return 0;
	case OPT_SHARD: return parse_shard(optarg, o, err);
	case OPT_FORCE: o->force = true; return 0;
	case OPT_NO_IDMAP: o->no_idmap = true; return 0;
	case OPT_CHECK: o->check = true; return 0;
	case OPT_ARTIFACTS: o->artifacts = optarg; return 0;
	case OPT_FAILURE_MODE:
		if (strcmp(optarg, "all") != 0 && strcmp(optarg, "any") != 0)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "--failure-mode %s: expected any or all", optarg);
		o->failure_mode_all = strcmp(optarg, "all") == 0;
		return 0;
	case OPT_COMPRESSION:
		if (strcmp(optarg, "zstd") == 0)
			o->compression = ARCHIVE_COMP_ZSTD;
		else if (strcmp(optarg, "gzip") == 0)
			o->compression = ARCHIVE_COMP_GZIP;
		else
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "--compression %s: expected zstd or gzip", optarg);
		return 0;
	case OPT_UNTIL: o->until = optarg; return 0;
	case OPT_JSON: o->json = true; return 0;
	case OPT_KEEP: o->keep = true; return 0;
	default: return error_set(err, EXIT_RUNNER_ERROR, 0, "unknown option");
	}
}

/* 1 after --help, 0 ok, -1 + err. */
static int parse_cli(int argc, char **argv, bool want_name, struct stage_cli *o, struct error *err)
{
	int opt;

	memset(o, 0, sizeof(*o));
	o->command = argv[0];
	o->pipeline = DEFAULT_PIPELINE;
	o->compression = ARCHIVE_COMP_ZSTD;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", stage_options, NULL)) != -1) {
		if (opt == OPT_HELP || opt == 'h') {
			usage(stdout, o->command);
			return 1;
		}
		if (opt == ':')
			return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: option '%s' needs a value",
			                 o->command, argv[optind - 1]);
		if (opt == '?')
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "%s: unknown option '%s' (see pgo-sandbox %s --help)",
			                 o->command, argv[optind - 1], o->command);
		if (handle_option(opt, o, err) < 0)
			return -1;
	}
	if (want_name) {
		if (optind >= argc)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "%s: which one? (usage: pgo-sandbox "
			                 "%s NAME [OPTIONS])",
			                 o->command, o->command);
		o->name = argv[optind++];
	}
	if (optind < argc)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: unexpected argument '%s'",
		                 o->command, argv[optind]);
	return 0;
}

static int load_pipeline(const struct stage_cli *o, struct pipeline *pl, struct error *err)
{
	if (pipeline_load(o->pipeline, pl, err) < 0)
		return -1;
	if (o->artifacts) {
		char *abs = realpath(o->artifacts, NULL);

		if (abs == NULL && mkdir_p(o->artifacts, 0755, err) == 0)
			abs = realpath(o->artifacts, NULL);
		if (abs == NULL) {
			pipeline_free(pl);
			return error_set(err, EXIT_RUNNER_ERROR, errno, "--artifacts %s",
			                 o->artifacts);
		}
		free(pl->artifacts_dir);
		pl->artifacts_dir = abs;
	}
	return 0;
}

static const struct stage_def *find_stage(const struct pipeline *pl, const char *name,
                                          struct error *err)
{
	const struct stage_def *d = pipeline_find_stage(pl, name);

	if (d == NULL)
		error_set(err, EXIT_RUNNER_ERROR, 0, "%s has no stage '%s'", pl->path, name);
	return d;
}

static void fill_request(struct stage_request *rq, const struct stage_cli *o,
                         const struct pipeline *pl, const struct stage_def *d, unsigned shard)
{
	memset(rq, 0, sizeof(*rq));
	rq->pl = pl;
	rq->def = d;
	rq->shard = shard;
	rq->in_dir = pl->artifacts_dir;
	rq->out_dir = pl->artifacts_dir;
	rq->force = o->force;
	rq->failure_mode_all = o->failure_mode_all;
	rq->compression = o->compression;
	rq->no_idmap = o->no_idmap;
}

static int check_shard_arg(const struct stage_cli *o, const struct stage_def *d, struct error *err)
{
	unsigned n = d->shards ? d->shards : 1;

	if (o->shards && o->shards != n)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "--shard %u/%u: stage %s has %u shard%s in its pipeline", o->shard,
		                 o->shards, d->name, n, n == 1 ? "" : "s");
	if (n > 1 && o->shards == 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "stage %s has %u shards: pass --shard I/%u (or run `pgo-sandbox "
		                 "pipeline`)",
		                 d->name, n, n);
	return 0;
}

static int fail(struct error *err)
{
	error_print(err);
	return err->exit_code ? err->exit_code : EXIT_RUNNER_ERROR;
}

int stage_main(int argc, char **argv)
{
	struct stage_cli o;
	struct pipeline pl;
	struct error err = {0};
	struct stage_request rq;
	struct stage_outcome out;
	const struct stage_def *d;
	int rc = parse_cli(argc, argv, true, &o, &err);

	if (rc != 0)
		return rc > 0 ? 0 : fail(&err);
	if (load_pipeline(&o, &pl, &err) < 0)
		return fail(&err);
	d = find_stage(&pl, o.name, &err);
	if (d == NULL || check_shard_arg(&o, d, &err) < 0) {
		pipeline_free(&pl);
		return fail(&err);
	}
	fill_request(&rq, &o, &pl, d, o.shard);
	rc = stage_execute(&rq, &out);
	stage_outcome_free(&out);
	pipeline_free(&pl);
	return rc;
}

/* ---- pipeline ---- */

struct summary_row {
	char *name;
	const char *state;
	double seconds;
	char *artifact;
};

static void print_summary_json(const struct summary_row *rows, size_t n, const char *release)
{
	json_t *doc = json_object();
	json_t *stages = json_array();
	char *text;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(stages,
		                      json_pack("{s:s, s:s, s:f, s:s?}", "stage", rows[i].name,
		                                "result", rows[i].state, "seconds", rows[i].seconds,
		                                "artifact", rows[i].artifact));
	json_object_set_new(doc, "stages", stages);
	json_object_set_new(doc, "release", release ? json_string(release) : json_null());
	text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (text)
		printf("%s\n", text);
	free(text);
	json_decref(doc);
}

static void print_summary(const struct summary_row *rows, size_t n, const char *release,
                          bool as_json)
{
	if (as_json) {
		print_summary_json(rows, n, release);
		return;
	}
	printf("\n%-20s %-8s %9s  %s\n", "stage", "result", "seconds", "artifact");
	for (size_t i = 0; i < n; i++)
		printf("%-20s %-8s %9.1f  %s\n", rows[i].name, rows[i].state, rows[i].seconds,
		       rows[i].artifact ? rows[i].artifact : "-");
	if (release)
		printf("\nrelease tarball: %s\n", release);
}

/* What a pipeline run has done so far: one row per stage or shard. */
struct pipeline_run {
	struct summary_row *rows;
	size_t n_rows;
	char *release; /* the build stage's artifact, or the bolt stage's */
	bool release_ok;
	const struct stage_def *bench_ran; /* a bench stage ran (not cached) */
};

/* The bench result that decided, with the decision, into the results
 * store: the bench stage left that to the pipeline
 * (stage_request.defer_record). */
static void record_with_decision(const struct pipeline *pl, const struct pipeline_run *run,
                                 const struct ship_decision *d)
{
	char *store = run->bench_ran ? pipeline_results_store(pl, run->bench_ran) : NULL;
	struct history_context ctx = {.pipeline = pl->name, .shipped = d->shipped};
	struct error err = {0};
	char *id = NULL, *kept = NULL;

	if (store == NULL)
		return;
	ctx.stage = run->bench_ran->name;
	json_object_set(d->result, "ship", d->record);
	/* the release stands; the result is kept beside the store if need be */
	if (history_record_or_keep(store, d->result, &ctx, &id, &kept, &err) < 0)
		fprintf(stderr, "pgo-sandbox: warning: recording the release: %s\n", err.msg);
	else
		printf("pgo-sandbox: release: recorded as run %s in %s\n", id, store);
	free(id);
	free(kept);
	free(store);
}

/* [release] ship-pgo-if: the PGO build ships only when the bench says it
 * won; otherwise the baseline, or nothing.  release.json/.md record why. */
static int decide_release(const struct pipeline *pl, struct pipeline_run *run)
{
	struct ship_decision d;
	struct error err = {0};
	int rc;

	if (ship_decide(pl, &d, &err) < 0 || ship_write(pl, &d, &err) < 0) {
		error_print(&err);
		if (d.record)
			ship_decision_free(&d);
		run->release_ok = false;
		return EXIT_RUNNER_ERROR;
	}
	printf("pgo-sandbox: release: %s\n", d.reason);
	record_with_decision(pl, run, &d);
	free(run->release);
	run->release = d.artifact ? xstrdup(d.artifact) : NULL;
	run->release_ok = d.artifact != NULL;
	rc = d.exit_code;
	ship_decision_free(&d);
	return rc;
}

static void pipeline_run_free(struct pipeline_run *run)
{
	for (size_t i = 0; i < run->n_rows; i++) {
		free(run->rows[i].name);
		free(run->rows[i].artifact);
	}
	free(run->rows);
	free(run->release);
}

/* What a pipeline works out once for all its stages. */
struct pipeline_inputs {
	char image[DIGEST_STR_MAX];
	json_t *facts;
	struct toolchain_site site;
	bool has_site; /* else each stage locates (and reports) it */
};

static int run_one(const struct stage_cli *o, const struct pipeline *pl, const struct stage_def *d,
                   unsigned shard, unsigned n_shards, const struct pipeline_inputs *in,
                   struct pipeline_run *run)
{
	struct summary_row *row = &run->rows[run->n_rows++];
	struct stage_request rq;
	struct stage_outcome out;
	int rc;

	fill_request(&rq, o, pl, d, n_shards > 1 ? shard : 0);
	rq.image_digest = in->image;
	rq.image_facts = in->facts;
	rq.toolchain_site = in->has_site ? &in->site : NULL;
	rq.defer_record = pl->ship.when != SHIP_ALWAYS;
	rc = stage_execute(&rq, &out);
	if (rc == 0 && !out.cached && stage_role_of(d->name) == ROLE_BENCH)
		run->bench_ran = d;
	row->name = artifact_base(d->name, shard, n_shards);
	row->state = rc != 0 ? "FAILED" : out.cached ? "cached" : "ran";
	row->seconds = out.seconds;
	row->artifact = out.artifact ? xstrdup(out.artifact) : NULL;
	/* the binary that ships: the PGO build, or its BOLT rewrite after it */
	if (rc == 0 &&
	    (stage_role_of(d->name) == ROLE_BUILD || stage_role_of(d->name) == ROLE_BOLT)) {
		free(run->release);
		run->release = xstrdup(out.artifact);
	}
	stage_outcome_free(&out);
	return rc;
}

/* Every stage, every shard, in order and up to --until; stops at the
 * first failure and returns its exit code. */
static int run_stages(const struct stage_cli *o, const struct pipeline *pl,
                      const struct pipeline_inputs *in, struct pipeline_run *run)
{
	int rc = 0;

	run->rows = xcalloc(PIPELINE_MAX_STAGES * 64 + 1, sizeof(*run->rows));
	for (size_t i = 0; i < pl->n_stages && rc == 0; i++) {
		const struct stage_def *d = &pl->stages[i];
		unsigned n = d->shards ? d->shards : 1;

		for (unsigned s = 1; s <= n && rc == 0; s++)
			rc = run_one(o, pl, d, s, n, in, run);
		if (o->until && strcmp(d->name, o->until) == 0)
			break;
	}
	return rc;
}

/* With --json, stdout carries only the JSON: progress goes to stderr.
 * Returns the saved stdout to restore, or -1 with errno. */
static int progress_to_stderr(void)
{
	int saved;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	if (saved >= 0 && dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		int e = errno;
		close(saved);
		errno = e;
		return -1;
	}
	return saved;
}

static void restore_stdout(int saved)
{
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
}

/* `pipeline --check`: pipeline_load has validated every key, stage,
 * input, profile and the compiler; what remains is to say what would run. */
static int print_check(const struct pipeline *pl)
{
	printf("%s: valid: pipeline %s, compiler %s, %zu stage%s (nothing was run)\n", pl->path,
	       pl->name, pl->compiler, pl->n_stages, pl->n_stages == 1 ? "" : "s");
	for (size_t i = 0; i < pl->n_stages; i++) {
		const struct stage_def *d = &pl->stages[i];

		printf("  %-12s role %-15s profile %-6s shards %u  inputs:", d->name,
		       stage_role_name(stage_role_of(d->name)), d->profile, d->shards);
		for (size_t j = 0; j < d->n_inputs; j++)
			printf(" %s", d->inputs[j]);
		putchar('\n');
	}
	return 0;
}

int pipeline_main(int argc, char **argv)
{
	struct pipeline_run run = {0};
	struct stage_cli o;
	struct pipeline pl;
	struct error err = {0};
	struct pipeline_inputs in = {.facts = NULL};
	struct error ignore = {0};
	int saved_stdout = -1;
	int rc = parse_cli(argc, argv, false, &o, &err);

	if (rc != 0)
		return rc > 0 ? 0 : fail(&err);
	if (load_pipeline(&o, &pl, &err) < 0)
		return fail(&err);
	if (o.until && pipeline_find_stage(&pl, o.until) == NULL) {
		error_set(&err, EXIT_RUNNER_ERROR, 0, "--until %s: %s has no such stage", o.until,
		          pl.path);
		goto failed;
	}
	if (o.check) {
		rc = print_check(&pl);
		pipeline_free(&pl);
		return rc;
	}
	if (stage_image_digest(&pl, in.image, &in.facts, &err) < 0 ||
	    pipeline_check_results_stores(&pl, o.until, &err) < 0)
		goto failed;
	/* a toolchain that cannot be located is reported by the first stage
	 * that needs it, in its own terms */
	in.has_site = stage_locate_toolchain(&pl, &in.site, &ignore) == 0;
	if (o.json && (saved_stdout = progress_to_stderr()) < 0) {
		error_set(&err, EXIT_RUNNER_ERROR, errno, "redirecting progress to stderr");
		goto failed;
	}
	rc = run_stages(&o, &pl, &in, &run);
	run.release_ok = rc == 0;
	if (rc == 0 && pl.ship.when != SHIP_ALWAYS && !o.until)
		rc = decide_release(&pl, &run);
	if (saved_stdout >= 0)
		restore_stdout(saved_stdout);
	print_summary(run.rows, run.n_rows, run.release_ok ? run.release : NULL, o.json);
	pipeline_run_free(&run);
	json_decref(in.facts);
	toolchain_site_free(&in.site);
	pipeline_free(&pl);
	return rc;
failed:
	json_decref(in.facts);
	toolchain_site_free(&in.site);
	pipeline_free(&pl);
	return fail(&err);
}

/* ---- verify ---- */

struct entry_info {
	char *path;
	char *meta; /* kind, mode, size, mtime, uid/gid, link */
};

struct entry_list {
	struct entry_info *e;
	size_t n;
};

static int collect_entry(const struct archive_list_entry *e, void *ctx)
{
	struct entry_list *l = ctx;

	l->e = xrealloc(l->e, (l->n + 1) * sizeof(*l->e));
	l->e[l->n].path = xstrdup(e->path);
	l->e[l->n].meta =
	    xasprintf("kind %d mode %04o size %llu mtime %lld uid %u gid %u%s%s", (int)e->kind,
	              (unsigned)e->mode & 07777, (unsigned long long)e->size, (long long)e->mtime,
	              e->uid, e->gid, e->link ? " -> " : "", e->link ? e->link : "");
	l->n++;
	return 0;
}

static void entry_list_free(struct entry_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->e[i].path);
		free(l->e[i].meta);
	}
	free(l->e);
}

static const struct entry_info *find_entry(const struct entry_list *l, const char *path)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->e[i].path, path) == 0)
			return &l->e[i];
	return NULL;
}

static bool contents_differ(const char *dir_a, const char *dir_b, const char *path)
{
	char *a = xasprintf("%s/%s", dir_a, path);
	char *b = xasprintf("%s/%s", dir_b, path);
	char da[DIGEST_STR_MAX] = "", db[DIGEST_STR_MAX] = "";
	struct error err = {0};
	struct stat st;
	bool differ = false;

	if (lstat(a, &st) == 0 && S_ISREG(st.st_mode)) {
		digest_file_sha256(a, da, &err);
		digest_file_sha256(b, db, &err);
		differ = strcmp(da, db) != 0;
	}
	free(a);
	free(b);
	return differ;
}

/* List what differs between two tarballs, entry by entry. */
static unsigned list_differences(const char *ta, const char *tb, const char *scratch)
{
	struct entry_list la = {0}, lb = {0};
	struct extract_limits lim;
	struct error err = {0};
	char *xa = xasprintf("%s/xa", scratch), *xb = xasprintf("%s/xb", scratch);
	bool extracted;
	unsigned n = 0;

	extract_limits_default(&lim);
	if (archive_list(ta, &lim, collect_entry, &la, &err) < 0 ||
	    archive_list(tb, &lim, collect_entry, &lb, &err) < 0)
		printf("  cannot list: %s\n", err.msg);
	extracted = mkdir_p(xa, 0755, &err) == 0 && mkdir_p(xb, 0755, &err) == 0 &&
	            archive_extract_safe(ta, xa, &lim, &err) == 0 &&
	            archive_extract_safe(tb, xb, &lim, &err) == 0;
	for (size_t i = 0; i < la.n; i++) {
		const struct entry_info *o = find_entry(&lb, la.e[i].path);

		if (o == NULL)
			printf("  %s: only in run 1 (%u)\n", la.e[i].path, ++n);
		else if (strcmp(o->meta, la.e[i].meta) != 0)
			printf("  %s: metadata differs: %s | %s (%u)\n", la.e[i].path, la.e[i].meta,
			       o->meta, ++n);
		else if (extracted && contents_differ(xa, xb, la.e[i].path))
			printf("  %s: content differs (%u)\n", la.e[i].path, ++n);
	}
	for (size_t i = 0; i < lb.n; i++)
		if (find_entry(&la, lb.e[i].path) == NULL)
			printf("  %s: only in run 2 (%u)\n", lb.e[i].path, ++n);
	if (n == 0)
		printf("  every entry is identical: the difference is in the archive encoding\n");
	entry_list_free(&la);
	entry_list_free(&lb);
	free(xa);
	free(xb);
	return n;
}

static void run_diffoscope(const char *a, const char *b)
{
	char *argv[] = {"diffoscope", (char *)a, (char *)b, NULL};
	pid_t pid;
	int status;

	if (posix_spawnp(&pid, "diffoscope", NULL, NULL, argv, environ) != 0) {
		printf("  (diffoscope is not installed: no deeper comparison)\n");
		return;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

/* Wait until the wall clock is at least one whole second further, so
 * that anything reading the time sees a different value in run 2. */
static void next_second(void)
{
	struct timespec now, until;

	clock_gettime(CLOCK_REALTIME, &now);
	until.tv_sec = 0;
	until.tv_nsec = 1000000000L - now.tv_nsec;
	nanosleep(&until, NULL);
	sleep(1);
}

static int verify_run(const struct stage_cli *o, const struct pipeline *pl,
                      const struct stage_def *d, const char *out_dir, bool perturb, char **artifact)
{
	struct stage_request rq;
	struct stage_outcome out;
	int rc;

	fill_request(&rq, o, pl, d, o->shard);
	rq.out_dir = out_dir;
	rq.force = true;
	rq.perturb = perturb;
	rc = stage_execute(&rq, &out);
	*artifact = out.artifact ? xstrdup(out.artifact) : NULL;
	stage_outcome_free(&out);
	return rc;
}

static int vary_conditions(const char *root, struct error *err)
{
	char *cwd = xasprintf("%s/elsewhere", root);
	char *tmp = xasprintf("%s/tmp", root);
	int rc = 0;

	if (mkdir_p(cwd, 0755, err) < 0 || mkdir_p(tmp, 0755, err) < 0 || chdir(cwd) < 0)
		rc =
		    err->exit_code ? -1 : error_set(err, EXIT_RUNNER_ERROR, errno, "chdir %s", cwd);
	if (rc == 0) {
		umask(077);
		setenv("TZ", "Pacific/Chatham", 1);
		setenv("LANG", "tr_TR.UTF-8", 1);
		setenv("LC_ALL", "tr_TR.UTF-8", 1);
		setenv("TMPDIR", tmp, 1);
	}
	free(cwd);
	free(tmp);
	return rc;
}

/* A train stage's runs differ in their profiles: say which functions and
 * why (profile_diff.h). */
static void explain_training(const struct pipeline *pl, const char *root)
{
	char *xa = xasprintf("%s/xa", root), *xb = xasprintf("%s/xb", root);

	char *prov = xasprintf("%s/provenance.json", xa);
	json_t *doc = json_load_file(prov, 0, NULL);
	const char *entropy = json_string_value(json_object_get(doc, "entropy"));

	profile_diff_explain(pl, xa, xb, root, 30);
	if (entropy && strcmp(entropy, "deterministic") == 0)
		printf("verify: entropy was deterministic in both runs: getrandom and /dev/urandom "
		       "are ruled out; look at threads, time, addresses, AT_RANDOM or rdrand "
		       "(docs/entropy.md)\n");
	else
		printf("verify: entropy was the host's (profile key entropy = host): seeded hash "
		       "tables vary from run to run; the train default, entropy = deterministic, "
		       "removes that (docs/entropy.md)\n");
	json_decref(doc);
	free(prov);
	free(xa);
	free(xb);
}

static int verify_compare(const struct pipeline *pl, const struct stage_def *d, const char *a,
                          const char *b, const char *root)
{
	char da[DIGEST_STR_MAX], db[DIGEST_STR_MAX];
	struct error err = {0};

	if (digest_file_sha256(a, da, &err) < 0 || digest_file_sha256(b, db, &err) < 0)
		return fail(&err);
	if (strcmp(da, db) == 0) {
		printf("verify: identical: %s in both runs\n", da);
		return 0;
	}
	printf("verify: DIFFERENT: run 1 %s, run 2 %s\n", da, db);
	list_differences(a, b, root);
	if (stage_role_of(d->name) == ROLE_TRAIN)
		explain_training(pl, root);
	run_diffoscope(a, b);
	return 1;
}

int verify_main(int argc, char **argv)
{
	struct stage_cli o;
	struct pipeline pl;
	struct error err = {0};
	const struct stage_def *d;
	char tmpl[] = "/var/tmp/pgo-sandbox-verify.XXXXXX";
	char *dir_a = NULL, *dir_b = NULL, *art_a = NULL, *art_b = NULL;
	char *old_cwd = getcwd(NULL, 0);
	int rc = parse_cli(argc, argv, true, &o, &err);

	if (rc != 0) {
		free(old_cwd);
		return rc > 0 ? 0 : fail(&err);
	}
	if (load_pipeline(&o, &pl, &err) < 0) {
		free(old_cwd);
		return fail(&err);
	}
	d = find_stage(&pl, o.name, &err);
	if (d == NULL || check_shard_arg(&o, d, &err) < 0 || mkdtemp(tmpl) == NULL) {
		if (err.exit_code == 0)
			error_set(&err, EXIT_RUNNER_ERROR, errno, "creating %s", tmpl);
		pipeline_free(&pl);
		free(old_cwd);
		return fail(&err);
	}
	if (stage_role_of(d->name) == ROLE_BENCH)
		printf("verify: note: a bench stage measures time; its report is not expected to "
		       "be byte-identical\n");
	dir_a = xasprintf("%s/run1", tmpl);
	dir_b = xasprintf("%s/run2", tmpl);
	printf("verify: run 1 of %s (umask 022, TZ/LANG as given, cwd %s)\n", d->name,
	       old_cwd ? old_cwd : "?");
	umask(022);
	rc = verify_run(&o, &pl, d, dir_a, false, &art_a);
	if (rc == 0) {
		next_second();
		if (vary_conditions(tmpl, &err) < 0) {
			rc = fail(&err);
		} else {
			printf("verify: run 2 (umask 077, TZ=Pacific/Chatham, LC_ALL=tr_TR.UTF-8, "
			       "another working and temporary directory, a later wall clock%s)\n",
			       faketime_library() ? ", faketime +400 days inside"
			                          : "; faketime is not installed, so the clock "
			                            "inside differs by seconds only");
			rc = verify_run(&o, &pl, d, dir_b, true, &art_b);
		}
	}
	if (old_cwd && chdir(old_cwd) < 0)
		fprintf(stderr, "pgo-sandbox: warning: chdir %s: %s\n", old_cwd, strerror(errno));
	umask(022);
	if (rc == 0)
		rc = verify_compare(&pl, d, art_a, art_b, tmpl);
	if (o.keep)
		printf("verify: both runs kept in %s\n", tmpl);
	else if (remove_tree(tmpl, &err) < 0)
		fprintf(stderr, "pgo-sandbox: warning: %s\n", err.msg);
	free(dir_a);
	free(dir_b);
	free(art_a);
	free(art_b);
	free(old_cwd);
	pipeline_free(&pl);
	return rc;
}

/* ---- inspect ---- */

static const char *kind_char(enum archive_entry_kind k)
{
	switch (k) {
	case ARCHIVE_ENTRY_FILE: return "-";
	case ARCHIVE_ENTRY_DIR: return "d";
	case ARCHIVE_ENTRY_SYMLINK: return "l";
	case ARCHIVE_ENTRY_HARDLINK: return "h";
	default: return "?";
	}
}

static int entry_json(const struct archive_list_entry *e, void *ctx)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:I, s:I}", "path", e->path, "type", kind_char(e->kind),
	              "mode", "", "size", (json_int_t)e->size, "mtime", (json_int_t)e->mtime);
	char mode[8];

	snprintf(mode, sizeof(mode), "%04o", (unsigned)e->mode & 07777);
	json_object_set_new(o, "mode", json_string(mode));
	if (e->link)
		json_object_set_new(o, "link", json_string(e->link));
	json_array_append_new(ctx, o);
	return 0;
}

static void print_kv(const char *key, json_t *v)
{
	char *text = json_is_string(v)
	                 ? xstrdup(json_string_value(v))
	                 : json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);

	printf("%-14s %s\n", key, text ? text : "null");
	free(text);
}

static void print_inputs(json_t *inputs)
{
	for (size_t i = 0; i < json_array_size(inputs); i++) {
		json_t *in = json_array_get(inputs, i);
		const char *name = json_string_value(json_object_get(in, "name"));
		json_t *arts = json_object_get(in, "artifacts");

		if (!arts) {
			printf("  %-12s %s\n", name,
			       json_string_value(json_object_get(in, "digest")));
			continue;
		}
		for (size_t j = 0; j < json_array_size(arts); j++) {
			json_t *art = json_array_get(arts, j);

			printf("  %-12s %s %s\n", name,
			       json_string_value(json_object_get(art, "file")),
			       json_string_value(json_object_get(art, "digest")));
		}
	}
}

static void print_image(json_t *image)
{
	json_t *tools = json_object_get(json_object_get(image, "facts"), "tools");

	printf("%-14s %s %s\n", "image", json_string_value(json_object_get(image, "kind")),
	       json_string_value(json_object_get(image, "digest")));
	for (void *it = json_object_iter(tools); it; it = json_object_iter_next(tools, it))
		printf("  %-12s %s\n", json_object_iter_key(it),
		       json_string_value(json_object_get(json_object_iter_value(it), "version")));
}

static void print_lines(const char *title, json_t *strings)
{
	printf("%-14s\n", title);
	for (size_t i = 0; i < json_array_size(strings); i++)
		printf("  %s\n", json_string_value(json_array_get(strings, i)));
}

static void print_provenance(json_t *p)
{
	json_t *stage = json_object_get(p, "stage");
	json_t *pipe = json_object_get(p, "pipeline");

	print_kv("stage", json_object_get(stage, "name"));
	print_kv("role", json_object_get(p, "role"));
	print_kv("shard", json_object_get(p, "shard"));
	print_kv("pipeline", json_object_get(pipe, "name"));
	print_kv("compiler", json_object_get(pipe, "compiler"));
	print_kv("tool", json_object_get(p, "tool"));
	print_image(json_object_get(p, "image"));
	print_kv("profile", json_object_get(p, "profile"));
	print_kv("cache key", json_object_get(p, "cache_key"));
	printf("%-14s\n", "inputs");
	print_inputs(json_object_get(p, "inputs"));
	print_lines("command", json_object_get(p, "command"));
	print_lines("environment", json_object_get(p, "environment"));
	print_kv("results", json_object_get(p, "results"));
}

static void print_entries(json_t *entries)
{
	printf("%-14s\n", "contents");
	for (size_t i = 0; i < json_array_size(entries); i++) {
		json_t *e = json_array_get(entries, i);
		json_t *link = json_object_get(e, "link");

		printf("  %s%s %10lld  %s%s%s\n", json_string_value(json_object_get(e, "type")),
		       json_string_value(json_object_get(e, "mode")),
		       (long long)json_integer_value(json_object_get(e, "size")),
		       json_string_value(json_object_get(e, "path")), link ? " -> " : "",
		       link ? json_string_value(link) : "");
	}
}

static void print_digest_check(const char *tarball, json_t *doc, bool quiet)
{
	char digest[DIGEST_STR_MAX];
	struct error err = {0};
	int rc = sidecar_verify(tarball, digest, &err);

	if (rc < 0 && digest_file_sha256(tarball, digest, &err) < 0)
		digest[0] = '\0';
	json_object_set_new(doc, "sha256", json_string(digest));
	json_object_set_new(doc, "digest_verified", json_boolean(rc == 0));
	if (!quiet)
		printf("%-14s %s (%s)\n", "sha256", digest,
		       rc == 0 ? "matches its .sha256 record" : err.msg);
}

int inspect_main(int argc, char **argv)
{
	struct stage_cli o;
	struct error err = {0};
	json_t *doc = json_object(), *entries = json_array(), *prov;
	int rc = parse_cli(argc, argv, true, &o, &err);

	if (rc != 0) {
		json_decref(doc);
		json_decref(entries);
		return rc > 0 ? 0 : fail(&err);
	}
	prov = provenance_load_tarball(o.name, &err);
	if (prov == NULL || archive_list(o.name, NULL, entry_json, entries, &err) < 0) {
		json_decref(prov);
		json_decref(doc);
		json_decref(entries);
		return fail(&err);
	}
	json_object_set_new(doc, "artifact", json_string(o.name));
	if (!o.json)
		printf("%-14s %s\n", "artifact", o.name);
	print_digest_check(o.name, doc, o.json);
	json_object_set(doc, "provenance", prov);
	json_object_set(doc, "entries", entries);
	if (o.json) {
		char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
		puts(text);
		free(text);
	} else {
		print_provenance(prov);
		print_entries(entries);
	}
	json_decref(prov);
	json_decref(entries);
	json_decref(doc);
	return 0;
}
