/* help.c - `pgo-sandbox help` (also --help, -h): the list of commands. */
#define _GNU_SOURCE
#include <stdio.h>

#include "base/util.h"
#include "cli/commands.h"

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

/* argc == 0: no command was given at all (bad usage: stderr, 125). */
int cli_help(int argc, char **argv)
{
	(void)argv;
	if (argc == 0) {
		usage(stderr);
		return EXIT_RUNNER_ERROR;
	}
	usage(stdout);
	return 0;
}
