/* profile_normalise.h - rounding a merged LLVM profile's counters so that
 * noise in training (threads, timing) does not reach the PGO build
 * (issue 20.3; docs/entropy.md).
 *
 * Works on the text form (`llvm-profdata merge --text`): each function's
 * counters are rounded to `digits` significant figures relative to the
 * function's largest counter.  Everything else (names, hashes, value
 * profile sites, bitmaps, header flags) is copied unchanged.  It runs
 * inside the merge stage's sandbox (`pgo-sandbox profile-normalise`, from
 * the pgo-merge helper), and treats its input as untrusted all the same:
 * lines and counter counts are bounded, numbers validated, and errors name
 * file:line. */
#ifndef PGO_PROFILE_NORMALISE_H
#define PGO_PROFILE_NORMALISE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/util.h"

#define PROFILE_NORMALISE_DIGITS_MAX 9
#define PROFILE_NORMALISE_LINE_MAX (1u << 20)
#define PROFILE_NORMALISE_COUNTERS_MAX (1u << 22)

/* `count` rounded (half up) to `digits` significant figures of `max`'s
 * scale: the quantum is 10^(decimal digits of max - digits), 1 when max
 * has no more than `digits` digits.  A non-zero count never becomes 0
 * (it becomes 1: "executed" survives, so a block does not turn cold).
 * count <= max is not required; the result never overflows. */
uint64_t profile_round_counter(uint64_t count, uint64_t max, unsigned digits);

/* Round every counter of one function (relative to its largest); the
 * number of counters whose value changed. */
size_t profile_round_counters(uint64_t *counters, size_t n, unsigned digits);

struct profile_normalise_stats {
	uint64_t functions;
	uint64_t counters;
	uint64_t changed; /* counters whose value the rounding changed */
};

/* Copy the text profile `in` to `out`, rounding counters.  `name` is
 * used in messages ("NAME:LINE: why").  -1 + err on malformed input. */
int profile_normalise_stream(FILE *in, const char *name, FILE *out, unsigned digits,
                             struct profile_normalise_stats *stats, struct error *err);

/* The file `in_path` into `out_path`, written under a temporary name and
 * renamed when complete (what `pgo-sandbox profile-normalise IN OUT
 * DIGITS`, cli/profile_normalise.c, does inside a merge stage). */
int profile_normalise_file(const char *in_path, const char *out_path, unsigned digits,
                           struct profile_normalise_stats *st, struct error *err);

#endif
