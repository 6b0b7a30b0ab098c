/* digest.h - content digests of files and buffers, as "sha256:<64 hex>",
 * the form artifact manifests and reports print. */
#ifndef PGO_DIGEST_H
#define PGO_DIGEST_H

#include <stddef.h>

#include "base/util.h"

/* "sha256:" + 64 hex digits + NUL */
#define DIGEST_STR_MAX 72

/* Hash the regular file at `path`; -1 + err when it cannot be read. */
int digest_file_sha256(const char *path, char out[DIGEST_STR_MAX], struct error *err);

/* Hash a buffer; cannot fail short of libcrypto being unusable (abort). */
void digest_buffer_sha256(const void *buf, size_t len, char out[DIGEST_STR_MAX]);

#endif
