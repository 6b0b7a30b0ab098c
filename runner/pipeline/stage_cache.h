/* stage_cache.h - a stage's definition and its cache key.
 *
 * The definition is everything a stage's outputs may depend on (the
 * pipeline's settings, the stage, its profile, the image, the inputs'
 * digests, the toolchain outside the image, the environment, the command,
 * the options, the entropy mode) and nothing that varies between
 * identical runs (where the artifacts are read or written, the time): it
 * is the provenance every tarball carries, and its digest is the cache
 * key.  A stage whose key matches its existing artifact's is skipped. */
#ifndef PGO_STAGE_CACHE_H
#define PGO_STAGE_CACHE_H

#include <jansson.h>
#include <stdbool.h>

#include "artifacts/digest.h"
#include "pipeline/config.h"
#include "pipeline/stage_ctx.h"

/* Digest and facts of a pipeline's image (see image.h); the "image NAME"
 * prefix on errors. */
int stage_image_digest(const struct pipeline *pl, char digest[DIGEST_STR_MAX], json_t **facts,
                       struct error *err);

/* Whether the stage runs with reproducible entropy (docs/entropy.md). */
bool stage_entropy_deterministic(const struct stage_ctx *c);

/* The definition of the planned stage `c` (its inputs resolved, its
 * environment and spec built, c->image_digest set); takes `image_facts`
 * (NULL: none).  Pure: reads nothing but `c`. */
json_t *stage_definition_json(const struct stage_ctx *c, json_t *image_facts);
/* The key of a definition: the digest of its canonical JSON. */
void stage_cache_key(const json_t *definition, char key[DIGEST_STR_MAX]);

/* Hashes the image (or takes the caller's digest), then sets
 * c->definition, c->cache_key and the entropy seed the key derives. */
int stage_build_definition(struct stage_ctx *c, struct error *err);

/* Whether c->tarball exists, matches its sidecar (its digest in `digest`)
 * and was made under c->cache_key. */
bool stage_cache_hit(const struct stage_ctx *c, char digest[DIGEST_STR_MAX]);

#endif
