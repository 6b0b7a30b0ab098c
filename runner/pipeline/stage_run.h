/* stage_run.h - run one stage of a pipeline: verify and extract its inputs,
 * run its command in the sandbox with its profile, pack its outputs into a
 * reproducible tarball with provenance, and commit it atomically; or skip
 * it when an artifact with the same cache key exists. */
#ifndef PGO_STAGE_RUN_H
#define PGO_STAGE_RUN_H

#include <stdbool.h>

#include "artifacts/archive.h"
#include "artifacts/digest.h"
#include "pipeline/config.h"
#include "pipeline/stage_request.h"

/* Returns the exit code (0 on success or cache hit); failures have been
 * printed, naming the step that failed. */
int stage_execute(const struct stage_request *rq, struct stage_outcome *out);
void stage_outcome_free(struct stage_outcome *o);

/* "train" or "train.1of2". */
char *artifact_base(const char *name, unsigned shard, unsigned shards);
/* <dir>/<base>.tar.zst (or .tar.gz). */
char *artifact_path(const char *dir, const char *base, enum archive_compression c);
/* An existing artifact of `base` in `dir`: .tar.zst first, then .tar.gz. */
char *artifact_find(const char *dir, const char *base);

/* Digest and facts of a pipeline's image (see image.h), retried when a
 * racing rename makes path resolution answer EAGAIN. */
int stage_image_digest(const struct pipeline *pl, char digest[DIGEST_STR_MAX], json_t **facts,
                       struct error *err);

/* Where the pipeline's toolchain is, when it lives outside the host
 * image's /usr (rustup's rustc); an empty site otherwise. */
int stage_locate_toolchain(const struct pipeline *pl, struct toolchain_site *site,
                           struct error *err);

/* The libfaketime preload library, when installed (verify uses it). */
const char *faketime_library(void);

#endif
