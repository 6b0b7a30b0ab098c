/* stage_options.c - see stage_options.h */
#define _GNU_SOURCE
#include "cli/stage_options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/bench.h"
#include "cli/options.h"
#include "pipeline/stage_run.h"

#define DEFAULT_PIPELINE "pgo-pipeline.ini"

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

static int handle_option(void *request, const struct cli_opt *c, struct error *err)
{
	struct stage_cli *o = request;
	const char *arg = c->arg;

	switch (c->id) {
	case OPT_PIPELINE: o->pipeline = arg; return 0;
	case OPT_SHARD: return parse_shard(arg, o, err);
	case OPT_FORCE: o->force = true; return 0;
	case OPT_NO_IDMAP: o->no_idmap = true; return 0;
	case OPT_CHECK: o->check = true; return 0;
	case OPT_ARTIFACTS: o->artifacts = arg; return 0;
	case OPT_FAILURE_MODE:
		if (strcmp(arg, "all") != 0 && strcmp(arg, "any") != 0)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "--failure-mode %s: expected any or all", arg);
		o->failure_mode_all = strcmp(arg, "all") == 0;
		return 0;
	case OPT_COMPRESSION:
		if (strcmp(arg, "zstd") == 0)
			o->compression = ARCHIVE_COMP_ZSTD;
		else if (strcmp(arg, "gzip") == 0)
			o->compression = ARCHIVE_COMP_GZIP;
		else
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "--compression %s: expected zstd or gzip", arg);
		return 0;
	case OPT_UNTIL: o->until = arg; return 0;
	case OPT_JSON: o->json = true; return 0;
	case OPT_KEEP: o->keep = true; return 0;
	default:
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: option %s is not handled",
		                 o->command, c->name ? c->name : "?");
	}
}

int stage_cli_parse(int argc, char **argv, bool want_name, struct stage_cli *o, struct error *err)
{
	const struct cli_parser parser = {
	    .command = argv[0],
	    .shortopts = ":h",
	    .longopts = stage_options,
	    .help = OPT_HELP,
	    .usage = usage,
	    .handle = handle_option,
	};
	int first;
	int rc;

	memset(o, 0, sizeof(*o));
	o->command = argv[0];
	o->pipeline = DEFAULT_PIPELINE;
	o->compression = ARCHIVE_COMP_ZSTD;
	rc = cli_parse(&parser, argc, argv, o, &first, err);
	if (rc != 0)
		return rc;
	if (want_name) {
		if (first >= argc)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "%s: which one? (usage: pgo-sandbox "
			                 "%s NAME [OPTIONS])",
			                 o->command, o->command);
		o->name = argv[first++];
	}
	if (first < argc)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: unexpected argument '%s'",
		                 o->command, argv[first]);
	return 0;
}

int stage_cli_load_pipeline(const struct stage_cli *o, struct pipeline *pl, struct error *err)
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

const struct stage_def *stage_cli_find_stage(const struct pipeline *pl, const char *name,
                                             struct error *err)
{
	const struct stage_def *d = pipeline_find_stage(pl, name);

	if (d == NULL)
		error_set(err, EXIT_RUNNER_ERROR, 0, "%s has no stage '%s'", pl->path, name);
	return d;
}

void stage_cli_request(struct stage_request *rq, const struct stage_cli *o,
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
	rq->bench_parsers = &cli_bench_parsers;
}

int stage_cli_check_shard(const struct stage_cli *o, const struct stage_def *d, struct error *err)
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
