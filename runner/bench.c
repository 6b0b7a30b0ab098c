/* stage.c - placeholder until the bench module lands (replaced wholesale). */
#include "bench.h"

#include <stdio.h>

#include "util.h"

static int not_built(const char *what)
{
	fprintf(stderr, "pgo-sandbox: %s: not built yet\n", what);
	return EXIT_RUNNER_ERROR;
}

int bench_main(int argc, char **argv)
{
	(void)argc;
	return not_built(argv[0]);
}




int forensics_main(int argc, char **argv)
{
	(void)argc;
	return not_built(argv[0]);
}
