/* sandbox.h - run one command in a fresh sandbox: clone the namespaces
 * (into the run's cgroup), hand the child its id maps, supervise it (signals,
 * timeout), collect what happened into the report, and clean up. */
#ifndef PGO_SANDBOX_H
#define PGO_SANDBOX_H

#include <jansson.h>

#include "base/report.h"
#include "base/spec.h"

/* Returns the exit code pgo-sandbox should exit with; on a runner error,
 * the message has already been printed.  *cgroup_json receives the run
 * cgroup's statistics (NULL without a cgroup); the caller frees it. */
int sandbox_run(const struct sandbox_spec *spec, struct run_report *r, json_t **cgroup_json);

#endif
