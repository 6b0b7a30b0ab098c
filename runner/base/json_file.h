/* json_file.h - write a JSON document to a file the way every artifact is
 * written: whole or not at all (temporary file, fsync, rename). */
#ifndef PGO_JSON_FILE_H
#define PGO_JSON_FILE_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/util.h"

/* Serialise `doc` with jansson `flags` (JSON_SORT_KEYS keeps the bytes
 * stable), end it with a newline and write it atomically with `mode`. */
int json_file_write(const char *path, const json_t *doc, size_t flags, mode_t mode,
                    struct error *err);

/* The bytes json_file_write writes (caller frees); NULL when `doc`
 * cannot be encoded.  For files committed together (file_commit.h). */
char *json_file_text(const json_t *doc, size_t flags);

#endif
