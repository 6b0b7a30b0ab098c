/* profile_diff.h - what varied between two training runs: the functions
 * whose counters differ, read from `llvm-profdata show --all-functions
 * --counts`, by how much, and the likely cause guessed from the function's
 * name (randomness, time, threads, addresses).  `verify` on a train stage
 * prints it when the two runs' profiles differ. */
#ifndef PGO_PROFILE_DIFF_H
#define PGO_PROFILE_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/config.h"

struct fn_counts {
	char *name; /* as the profile spells it ("file;_ZN...E" or "main") */
	uint64_t *counts;
	size_t n;
};

struct fn_table {
	struct fn_counts *f;
	size_t n;
};

/* Parse the text of `llvm-profdata show --all-functions --counts`:
 * "Function count:" (clang) and "Block counts: [...]" become one counter
 * list per function.  -1 + err naming the line on malformed input. */
int profile_counts_parse(const char *text, struct fn_table *out, struct error *err);
void fn_table_free(struct fn_table *t);
/* For `_cleanup_(fn_table_freep) struct fn_table t = {0};`. */
static inline void fn_table_freep(struct fn_table *t)
{
	fn_table_free(t);
}

struct fn_delta {
	const char *name; /* borrowed from the tables */
	uint64_t total_a, total_b;
	size_t counters, counters_differ; /* counters_differ = counters when in one run only */
};

/* Functions whose counters differ (or that are in one run only), the
 * largest absolute change of the total first.  Returns how many; *out is
 * NULL when none.  Caller frees *out (not the names). */
size_t profile_counts_diff(const struct fn_table *a, const struct fn_table *b,
                           struct fn_delta **out);

/* A readable name: the object prefix ("file;") dropped, Itanium/legacy
 * Rust nested names (_ZN...E) joined with "::", the Rust hash suffix
 * dropped, $LT$/$GT$/$C$/$RF$/$u20$/.. decoded.  Caller frees. */
char *profile_demangle(const char *name);

/* "randomness", "time", "threads", "addresses" or "unknown", from words
 * in a (demangled) function name. */
const char *profile_likely_cause(const char *name);

/* `verify`: both runs' raw profiles (every *.profraw under dir_a and
 * dir_b, the extracted train tarballs) merged and shown with the
 * pipeline's llvm-profdata on the host, then the differing functions
 * printed (at most `limit`).  gcc profiles are not compared per function.
 * Prints why when it cannot compare; never fails the verify. */
void profile_diff_explain(const struct pipeline *pl, const char *dir_a, const char *dir_b,
                          const char *scratch, size_t limit);

#endif
