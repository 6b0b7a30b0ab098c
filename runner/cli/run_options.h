/* cli.h - `pgo-sandbox run` options -> struct sandbox_spec. */
#ifndef PGO_CLI_H
#define PGO_CLI_H

#include <stdio.h>

#include "base/spec.h"

/* argv[0] is "run".  Fills spec; on bad usage fills err (exit code 125)
 * with one line naming the option and the reason.  Returns 1 when --help
 * was printed. */
int cli_parse_run(int argc, char **argv, struct sandbox_spec *spec, struct error *err);
void cli_run_usage(FILE *out);

#endif
