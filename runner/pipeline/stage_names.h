/* stage_names.h - the names of a stage's files in an artifacts directory:
 * "train.1of2.tar.zst", its sidecar, its run and failure reports.  Pure
 * but for artifact_find, which looks at what exists. */
#ifndef PGO_STAGE_NAMES_H
#define PGO_STAGE_NAMES_H

#include "artifacts/archive.h"

/* "train" or "train.1of2". */
char *artifact_base(const char *name, unsigned shard, unsigned shards);
/* <dir>/<base>.tar.zst (or .tar.gz). */
char *artifact_path(const char *dir, const char *base, enum archive_compression c);
/* An existing artifact of `base` in `dir`: .tar.zst first, then .tar.gz
 * (the .tar.zst path when neither exists). */
char *artifact_find(const char *dir, const char *base);
/* <dir>/<base>.run.json: the report committed with the tarball. */
char *stage_run_json_path(const char *dir, const char *base);
/* <dir>/<base>.failure.json: a failed run's report, beside the set. */
char *stage_failure_json_path(const char *dir, const char *base);

#endif
