/* image.c - placeholder until the image module lands (replaced wholesale). */
#define _GNU_SOURCE
#include "image.h"

#include <stdio.h>

#include "util.h"

int image_main(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr, "pgo-sandbox: %s: not built yet\n", argv[0]);
	return EXIT_RUNNER_ERROR;
}
