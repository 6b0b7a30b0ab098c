/* run_options.h - `pgo-sandbox run` options -> struct sandbox_spec (also
 * the sandbox options `bench` passes on, bench_exec.h). */
#ifndef PGO_CLI_RUN_OPTIONS_H
#define PGO_CLI_RUN_OPTIONS_H

#include <stdio.h>

#include "base/spec.h"

/* argv[0] is "run".  Fills spec; on bad usage fills err (exit code 125)
 * with one line naming the option and the reason.  Returns 1 when --help
 * was printed. */
int cli_parse_run(int argc, char **argv, struct sandbox_spec *spec, struct error *err);
void cli_run_usage(FILE *out, const char *command);

#endif
