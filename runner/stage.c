/* stage.c - placeholder until the stage module lands (replaced wholesale). */
#include "stage.h"

#include <stdio.h>

#include "util.h"

static int not_built(const char *what)
{
	fprintf(stderr, "pgo-sandbox: %s: not built yet\n", what);
	return EXIT_RUNNER_ERROR;
}

int stage_main(int argc, char **argv)
{
	(void)argc;
	return not_built(argv[0]);
}

int pipeline_main(int argc, char **argv)
{
	(void)argc;
	return not_built(argv[0]);
}

int verify_main(int argc, char **argv)
{
	(void)argc;
	return not_built(argv[0]);
}

int inspect_main(int argc, char **argv)
{
	(void)argc;
	return not_built(argv[0]);
}
