/* limit_warnings.h - one stderr line for each limit the caller asked for
 * explicitly (--cpus, --memory, --pids, --no-turbo) that the host could
 * only degrade or not apply at all.  Without it a run on a host lacking a
 * controller looks exactly like one that had it; the report says so, but
 * only to those who read it. */
#ifndef PGO_LIMIT_WARNINGS_H
#define PGO_LIMIT_WARNINGS_H

#include <stdio.h>

#include "base/report.h"
#include "base/spec.h"

/* Writes the lines to out; returns how many.  Nothing under strict (the
 * run is refused instead) or for limits not in spec->warn_limits. */
unsigned limit_warnings_print(const struct sandbox_spec *spec, const struct run_report *r,
                              FILE *out);

#endif
