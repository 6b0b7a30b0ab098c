/* entropy.h - deterministic entropy for a sandbox: /dev/urandom and
 * /dev/random become one read-only regular file holding a keyed stream
 * (ChaCha20 under SHA-256 of a seed), and the seccomp policy answers
 * getrandom(2) with ENOSYS, so that libraries (glibc, Rust std, CPython)
 * fall back to reading /dev/urandom.  Two runs with the same seed see the
 * same bytes; another seed sees another stream.  Nothing here is meant
 * for cryptography: the seed is in the stage's provenance.
 *
 * Limits (docs/entropy.md): every process opens the file at offset 0, so
 * all processes of a run read the same bytes; a process that reads more
 * than ENTROPY_STREAM_BYTES gets end of file; AT_RANDOM (the 16 bytes the
 * kernel puts in every process's auxiliary vector), rdrand/rdseed and
 * address layout are not covered. */
#ifndef PGO_ENTROPY_H
#define PGO_ENTROPY_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

/* Size of the stream file: far more than seeding hash tables takes
 * (Rust std reads 16 bytes per thread, CPython 24 bytes for its hash
 * secret and 2496 for `random`), small enough to write at every start. */
#define ENTROPY_STREAM_BYTES (1024 * 1024)

/* Bytes [offset, offset + len) of the stream keyed by `seed` (any
 * non-empty string).  offset must be a multiple of 64. */
void entropy_stream(const char *seed, uint64_t offset, uint8_t *buf, size_t len);

/* Create "urandom" (ENTROPY_STREAM_BYTES of the stream, mode 0444) and
 * its hard link "random" in the directory dir_fd (the detached /dev
 * tmpfs).  Errors name the file. */
int entropy_install(int dir_fd, const char *seed, struct error *err);

#endif
