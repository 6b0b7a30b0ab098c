/* version.c - `pgo-sandbox version` (also --version, -V): the version and
 * the build's provenance (Makefile: commit and source date). */
#define _GNU_SOURCE
#include <stdio.h>

#include "cli/commands.h"

int cli_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("pgo-sandbox %s (commit %s, source date %s)\n", PGO_VERSION, PGO_COMMIT,
	       PGO_SOURCE_DATE_EPOCH);
	return 0;
}
