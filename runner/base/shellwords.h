/* shellwords.h - split one command string into words the way a POSIX shell
 * does before it expands anything (what hyperfine's --shell=none does), and
 * quote words back for reports.
 *
 * Rules: blanks (space, tab, newline) separate words; '...' is literal;
 * inside "..." a backslash only escapes $ ` " \ and newline (and
 * backslash-newline disappears); outside quotes a backslash makes the next
 * character literal (backslash-newline disappears); "" and '' give an empty
 * word.  Nothing is expanded: $VAR, *, ~, |, ; and > are ordinary
 * characters, since no shell runs.  An unterminated quote, a trailing
 * backslash or a string with no words is an error. */
#ifndef PGO_SHELLWORDS_H
#define PGO_SHELLWORDS_H

#include <stddef.h>

#include "base/util.h"

/* *words receives a NULL-terminated array (free with shellwords_free). */
int shellwords_split(const char *text, char ***words, size_t *n, struct error *err);
void shellwords_free(char **words);

/* A word as the splitter would read it back: unchanged when it has no
 * special character, else single-quoted ('\'' for a quote).  Caller frees. */
char *shellwords_quote(const char *word);
/* Always single-quoted, whatever the word: what a generated script writes
 * around a path it does not control ('\'' for a quote).  Caller frees. */
char *shellwords_quote_always(const char *word);
/* Quoted words joined by single spaces.  Caller frees. */
char *shellwords_join(char *const *words);

#endif
