/* report_json.h - serialise the run report (jansson) and write it
 * atomically. */
#ifndef PGO_REPORT_JSON_H
#define PGO_REPORT_JSON_H

#include <jansson.h>

#include "base/report.h"
#include "base/spec.h"

#define REPORT_SCHEMA_VERSION 1

/* Caller owns the result.  `extra` (may be NULL) is merged in: the cgroup
 * statistics and anything later stages add. */
json_t *report_to_json(const struct sandbox_spec *spec, const struct run_report *r, json_t *extra);
int report_write_json(const char *path, json_t *doc, struct error *err);

#endif
