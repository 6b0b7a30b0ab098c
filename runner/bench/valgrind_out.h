/* valgrind_out.h - the output files of a command run under valgrind
 * (--callgrind, --cachegrind), one per process.
 *
 * valgrind follows the command into every process it starts
 * (--trace-children=yes): without it, a wrapper that execs (`env K=V
 * prog`, a shell script) ends valgrind's view at the exec and no output is
 * written at all.  Each process writes NAME.PID (valgrind's %p), an exec
 * keeps the pid and so the file, and the run's count is the sum over the
 * files: every instruction the command caused, as perf stat counts a
 * command's children. */
#ifndef PGO_VALGRIND_OUT_H
#define PGO_VALGRIND_OUT_H

#include <stddef.h>

#include "base/util.h"

#define VALGRIND_LOG_NAME "valgrind.log"

/* The valgrind options that name the output and log files under
 * `dir_inside` (the directory as the sandbox sees it) and follow children;
 * `out_option` is the tool's ("--cachegrind-out-file").  Appended to *out
 * at *k (room for VALGRIND_OUT_N_OPTIONS). */
#define VALGRIND_OUT_N_OPTIONS 3
void valgrind_out_options(const char *out_option, const char *out_name, const char *dir_inside,
                          char **out, size_t *k);

/* Calls `add(text, acc)` for each NAME.PID file in `dir` (at most `max`
 * bytes each).  No such file is an error naming the directory and the
 * last line valgrind logged (why it did not run). */
int valgrind_out_each(const char *dir, const char *name, size_t max,
                      int (*add)(const char *text, void *acc, struct error *err), void *acc,
                      struct error *err);

#endif
