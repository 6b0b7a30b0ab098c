/* forensics.c - `pgo-sandbox forensics A.json [B.json]`: why B is slower,
 * from the counters recorded with each (bench/forensics.h). */
#define _GNU_SOURCE
#include <string.h>

#include "bench/forensics.h"
#include "cli/commands.h"
#include "cli/options.h"

enum { OPT_BENCHMARK = 256, OPT_VARIANT_A, OPT_VARIANT_B, OPT_JSON, OPT_HELP };

static const struct option forensics_options[] = {
    {"benchmark", required_argument, NULL, OPT_BENCHMARK},
    {"variant-a", required_argument, NULL, OPT_VARIANT_A},
    {"variant-b", required_argument, NULL, OPT_VARIANT_B},
    {"json", required_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *out, const char *command)
{
	(void)command;
	fputs("usage: pgo-sandbox forensics A.json [B.json] [--benchmark NAME]\n"
	      "                             [--variant-a NAME] [--variant-b NAME] [--json FILE]\n"
	      "\n"
	      "Classify why B is slower than A from the hardware counters recorded by\n"
	      "`pgo-sandbox bench --counters`.  With one file, A is its baseline and B its\n"
	      "first candidate; with two, the first variant of each (or the named ones).\n"
	      "IPC down > 3 %: code layout/inlining/placement; branch-miss rate up > 10 %:\n"
	      "branch hints/control flow; cache, L1d or dTLB misses per kilo-instruction\n"
	      "up > 10 %: data layout/TLS bloat/spills; instructions up > 3 %: more work.\n"
	      "Exit codes: 0 analysed (even when counters are missing: it says so),\n"
	      "125 usage or an unreadable file.\n",
	      out);
}

static int handle(void *request, const struct cli_opt *o, struct error *err)
{
	struct forensics_request *rq = request;

	switch (o->id) {
	case OPT_BENCHMARK: rq->bench = o->arg; return 0;
	case OPT_VARIANT_A: rq->var_a = o->arg; return 0;
	case OPT_VARIANT_B: rq->var_b = o->arg; return 0;
	case OPT_JSON: rq->json = o->arg; return 0;
	default:
		return error_set(err, EXIT_RUNNER_ERROR, 0, "forensics: option %s is not handled",
		                 o->name ? o->name : "?");
	}
}

static const struct cli_parser forensics_parser = {
    .command = "forensics",
    .shortopts = ":h",
    .longopts = forensics_options,
    .help = OPT_HELP,
    .usage = usage,
    .handle = handle,
};

int cli_forensics(int argc, char **argv)
{
	struct forensics_request rq;
	struct error err = {0};
	int first;
	int rc;

	memset(&rq, 0, sizeof(rq));
	rc = cli_parse(&forensics_parser, argc, argv, &rq, &first, &err);
	if (rc > 0)
		return 0;
	if (rc == 0 && (first >= argc || argc - first > 2))
		rc = error_set(&err, EXIT_RUNNER_ERROR, 0,
		               "forensics: expected A.json [B.json] (see --help)");
	if (rc == 0) {
		rq.file_a = argv[first];
		rq.file_b = argc - first == 2 ? argv[first + 1] : NULL;
		rc = forensics_report(&rq, &err);
	}
	if (rc < 0) {
		error_print(&err);
		return EXIT_RUNNER_ERROR;
	}
	return 0;
}
