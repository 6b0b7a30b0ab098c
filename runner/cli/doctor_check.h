/* doctor_check.h - what every doctor check is built from: reading a fact
 * below a root, numbers and words as JSON, and the check record
 * {name, status, detail, cost, fix} (doctor.h). */
#ifndef PGO_DOCTOR_CHECK_H
#define PGO_DOCTOR_CHECK_H

#include <stdbool.h>

#include <jansson.h>

char *doctor_read_under(const char *root, const char *rel);
json_t *doctor_int_or_null(const char *text, long long *out);
char *doctor_errno_text(int e);
bool doctor_has_word(const char *text, const char *word);
json_t *doctor_words_json(const char *text);
void doctor_add_check(json_t *checks, const char *name, const char *status, char *detail,
                      const char *cost, const char *fix);

#endif
