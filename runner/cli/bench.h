/* bench.h - `pgo-sandbox bench`: options, usage, and the run. */
#ifndef PGO_CLI_BENCH_H
#define PGO_CLI_BENCH_H

#include <stdio.h>

#include "bench/bench.h"
#include "bench/bench_options.h"

/* argv[0] == "bench".  Returns 1 after printing --help, 0 on success,
 * -1 + err (exit code 125) naming the option and the problem. */
int bench_cli_parse(int argc, char **argv, struct bench_options *o, struct error *err);
void bench_cli_usage(FILE *out, const char *command);

/* For a bench stage (pipeline/stage_request.h): the two parsers. */
extern const struct bench_parsers cli_bench_parsers;

#endif
