/* callgrind.h - instruction counts from valgrind's callgrind as a
 * deterministic metric, for hosts without hardware counters.  The command
 * runs as `valgrind --tool=callgrind ... -- COMMAND` inside the sandbox
 * (valgrind needs no ptrace: it is the process); its output file lands in
 * a directory the runner binds into the sandbox. */
#ifndef PGO_CALLGRIND_H
#define PGO_CALLGRIND_H

#include <stdint.h>

#include "base/util.h"

#define CALLGRIND_DIR_INSIDE "/pgo-callgrind"
#define CALLGRIND_OUT_NAME "callgrind.out"

/* valgrind --tool=callgrind --trace-children=yes
 * --callgrind-out-file=DIR/callgrind.out.%p --log-file=DIR/valgrind.log.%p
 * -- argv...  (NULL-terminated, caller frees the array and its strings;
 * the files: valgrind_out.h). */
char **callgrind_wrap(char *const *argv, const char *dir_inside);

/* The Ir total of a callgrind output file's text: the "summary:" line
 * (else "totals:"), at the column "events:" gives for Ir. */
int callgrind_parse_ir(const char *text, uint64_t *ir, struct error *err);
/* Adds a file's Ir to *(uint64_t *)total: valgrind_out_each's `add`. */
int callgrind_add_ir(const char *text, void *total, struct error *err);

#endif
