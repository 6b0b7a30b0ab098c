/* provenance.h - what an artifact says about how it was made, and the
 * digests that make the stage cache content-addressed.
 *
 * An artifact is artifacts/NAME.tar.zst (NAME.IofN for a training shard)
 * with, beside it:
 *   NAME.tar.zst.sha256  "<hex>  NAME.tar.zst\n" (sha256sum -c format): the
 *                        digest the next stage verifies before extracting
 *   NAME.run.json        the run report: timings, host facts, controls
 * and inside it `provenance.json`: the stage definition, profile, input and
 * image digests, environment, command and tool version, plus results that
 * are facts of the outputs (coverage, training knobs, merged profile
 * digest); nothing that varies between identical runs. */
#ifndef PGO_PROVENANCE_H
#define PGO_PROVENANCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "artifacts/digest.h"
#include "base/spec.h"
#include "base/util.h"

#define PROVENANCE_FILE "provenance.json"
#define PROVENANCE_SCHEMA "pgo-sandbox/provenance"
#define PROVENANCE_SCHEMA_VERSION 1
#define PROVENANCE_MAX_BYTES (4u << 20)

/* Digest of a directory tree: entries in byte order of their relative
 * paths, each as type, path, exec bit (not the other mode bits, which
 * follow the checkout's umask), content digest or link target.  Entries
 * named ".git" and the relative paths in `skip` are left out. */
int tree_digest(const char *dir, const char *const *skip, size_t n_skip, char out[DIGEST_STR_MAX],
                struct error *err);

/* Read one member of a tarball (at most `max` bytes) into a NUL-terminated
 * buffer.  Returns 1 when found, 0 when absent, -1 + err when the tarball
 * is damaged. */
int tarball_read_member(const char *tarball, const char *name, size_t max, char **data, size_t *len,
                        struct error *err);

/* The sidecar digest file of an artifact. */
char *sidecar_path(const char *tarball);
int sidecar_write(const char *tarball, const char *digest, struct error *err);
/* The sidecar's bytes, `sha256sum -c` format (caller frees). */
char *sidecar_text(const char *tarball, const char *digest);
/* Hash the tarball and compare with its sidecar; fills `digest`.  Errors
 * name the file and say whether the sidecar is missing or the digest
 * differs. */
int sidecar_verify(const char *tarball, char digest[DIGEST_STR_MAX], struct error *err);

/* Canonical bytes of a JSON document (sorted keys, compact) and their
 * digest. */
char *json_canonical(const json_t *doc);
void json_digest(const json_t *doc, char out[DIGEST_STR_MAX]);

/* Load provenance.json from an artifact (tarball) or an extracted tree. */
json_t *provenance_load_tarball(const char *tarball, struct error *err);
json_t *provenance_load_dir(const char *dir, struct error *err);

#endif
