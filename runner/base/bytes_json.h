/* bytes_json.h - command-line words into JSON without losing a byte.
 *
 * An argument is bytes, not text: `echo $'a\xe9b'` is a valid command, but
 * JSON strings are UTF-8 and jansson's json_string() answers NULL for
 * anything else, so the word used to vanish from reports and a --rerun ran
 * a different command.  The text form keeps every valid UTF-8 sequence and
 * shows each invalid byte as U+FFFD (readable, lossy); the base64 form
 * beside it (NAME_b64, written only when some word needs it) is exact and
 * is what a reader takes when present. */
#ifndef PGO_BYTES_JSON_H
#define PGO_BYTES_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

/* Whether s is well-formed UTF-8 (no overlongs, surrogates or code points
 * past U+10FFFF). */
bool utf8_valid(const char *s);

/* s with each byte that is not part of a valid sequence replaced by
 * U+FFFD.  Caller frees. */
char *utf8_lossy(const char *s);

/* Standard base64 with padding.  Caller frees. */
char *base64_encode(const unsigned char *data, size_t len);

/* Decodes text (padding required); -1 on anything else.  *out is
 * NUL-terminated, *len its length; caller frees. */
int base64_decode(const char *text, unsigned char **out, size_t *len);

/* A JSON string that is never NULL: s itself, or its lossy text. */
json_t *json_text(const char *s);

/* The words as JSON text (lossy where needed), and true in *needs_b64 when
 * some word was not valid UTF-8. */
json_t *strv_text_json(char *const *v, bool *needs_b64);

/* Every word base64-encoded. */
json_t *strv_b64_json(char *const *v);

/* The NULL-terminated words of a NAME_b64 array; -1 with err naming the
 * bad element (not a string, not base64, a NUL byte inside). */
int strv_from_b64_json(const json_t *a, char ***out, struct error *err);

/* `s` as a JSON string, or JSON null when there is none. */
json_t *json_string_or_null(const char *s);

#endif
