/* main.c - subcommand dispatch. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts/archive.h"
#include "bench/bench.h"
#include "bench/forensics.h"
#include "sandbox/cli.h"
#include "cli/doctor.h"
#include "cli/init.h"
#include "history/history.h"
#include "host/cpus.h"
#include "host/hosttune.h"
#include "pipeline/image.h"
#include "base/report.h"
#include "base/report_json.h"
#include "sandbox/sandbox.h"
#include "base/spec.h"
#include "pipeline/profile_normalise.h"
#include "pipeline/stage.h"

static void usage(FILE *out)
{
	fputs("usage: pgo-sandbox COMMAND [OPTIONS]\n"
	      "\n"
	      "Hermetic, reproducible stages for profile-guided optimisation pipelines.\n"
	      "\n"
	      "Commands:\n"
	      "  run       run a command in a fresh sandbox\n"
	      "  doctor    what this host supports, and what each missing piece costs\n"
	      "  host      host restore | host status: turbo/governor state\n"
	      "  stage     run one stage of a PGO pipeline (instrument, train, merge, build)\n"
	      "  init      write a starter pipeline for the project here (cargo, CMake, make, C)\n"
	      "  pipeline  run every stage of a pipeline file\n"
	      "  verify    run a stage twice under varied conditions; fail unless identical\n"
	      "  inspect   print an artifact's provenance and contents\n"
	      "  bench     interleaved A/B benchmark with statistics and a regression gate\n"
	      "  forensics classify a slowdown from two runs' hardware counters\n"
	      "  history   results store: record, list, compare, promote, trend, steps\n"
	      "  image     build a pinned Debian root filesystem image; print an image's digest\n"
	      "  pack      pack a directory into a byte-reproducible tarball\n"
	      "  unpack    extract a tarball safely (hostile entries refused)\n"
	      "  version   print the version and build provenance (also --version, -V)\n"
	      "\n"
	      "Run 'pgo-sandbox COMMAND --help' for a command's options; see pgo-sandbox(1).\n",
	      out);
}

static int cmd_version(void)
{
	printf("pgo-sandbox %s (commit %s, source date %s)\n", PGO_VERSION, PGO_COMMIT,
	       PGO_SOURCE_DATE_EPOCH);
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	struct sandbox_spec spec;
	struct error err = {0};
	struct run_report *r;
	json_t *cgroup_json = NULL;
	int rc;

	spec_init(&spec);
	rc = cli_parse_run(argc, argv, &spec, &err);
	if (rc != 0) {
		if (rc < 0)
			error_print(&err);
		spec_free(&spec);
		return rc < 0 ? EXIT_RUNNER_ERROR : 0;
	}
	if (spec.cpus_set && host_check_cpus_online("--cpus", spec.cpus, &err) < 0) {
		error_print(&err);
		spec_free(&spec);
		return EXIT_RUNNER_ERROR;
	}
	r = report_create();
	if (r == NULL) {
		fprintf(stderr, "pgo-sandbox: allocating the run report: out of memory\n");
		spec_free(&spec);
		return EXIT_RUNNER_ERROR;
	}
	rc = sandbox_run(&spec, r, &cgroup_json);
	if (spec.report_path) {
		json_t *extra = json_object();
		json_t *doc;

		json_object_set(extra, "cgroup", cgroup_json ? cgroup_json : json_null());
		doc = report_to_json(&spec, r, extra);
		json_decref(extra);
		if (report_write_json(spec.report_path, doc, &err) < 0) {
			error_print(&err);
			rc = EXIT_RUNNER_ERROR;
		}
		json_decref(doc);
	}
	json_decref(cgroup_json);
	report_destroy(r);
	spec_free(&spec);
	return rc;
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

/* `bench` with --record wired to the results store (history/). */
static int bench_with_history(int argc, char **argv)
{
	const struct bench_hooks hooks = {check_bench_store, record_bench, NULL};

	return bench_main_hooked(argc, argv, &hooks);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_RUNNER_ERROR;
	}
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} commands[] = {
	    {"stage", stage_main},     {"pipeline", pipeline_main},   {"verify", verify_main},
	    {"inspect", inspect_main}, {"bench", bench_with_history}, {"forensics", forensics_main},
	    {"image", image_main},     {"history", history_main},     {"init", init_command_main},
	};

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	if (strcmp(argv[1], "doctor") == 0)
		return doctor_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "host") == 0)
		return host_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "pack") == 0)
		return archive_pack_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "unpack") == 0)
		return archive_unpack_main(argc - 1, argv + 1);
	/* internal: the merge stage's pgo-merge runs it inside the sandbox */
	if (strcmp(argv[1], "profile-normalise") == 0)
		return profile_normalise_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "-V") == 0)
		return cmd_version();
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "pgo-sandbox: unknown command '%s' (see pgo-sandbox --help)\n", argv[1]);
	return EXIT_RUNNER_ERROR;
}
