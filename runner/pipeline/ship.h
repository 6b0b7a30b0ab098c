/* ship.h - which build a pipeline releases, and the numbers that decided
 * it ([release] ship-pgo-if / otherwise, config.h).
 *
 * The evidence is the bench stage's record (<artifacts>/<bench>.run.json,
 * member "bench": the bench result, kept for a cached stage too).  The
 * decision is written beside the artifacts as release.json (provenance:
 * which tarball, its sha256, the rule, every gated comparison) and
 * release.md (for a CI job summary), both atomically. */
#ifndef PGO_SHIP_H
#define PGO_SHIP_H

#include <stdbool.h>

#include <jansson.h>

#include "pipeline/config.h"
#include "base/util.h"

/* Exit codes of `pipeline` with a ship rule (docs/bench.md). */
#define PIPELINE_EXIT_SHIPPED_BASELINE 10
#define PIPELINE_EXIT_NOT_SHIPPED 11

struct ship_decision {
	const char *shipped; /* "pgo", "baseline", or NULL (nothing ships) */
	char *artifact;      /* the tarball that ships, or NULL */
	char *reason;        /* one sentence */
	json_t *record;      /* release.json */
	json_t *result;      /* the bench result that decided */
	int exit_code;
};

/* Decide from the bench stage's record: its candidate (second stage input:
 * what was measured is what ships) or its baseline (first).  With several
 * candidates (the bench stage's inputs after the baseline, simplest build
 * first) and ship-pgo-if = faster by N%, the winner of ship_pick.h ships
 * (`shipped` is its stage name) and release.json lists every candidate's
 * evidence.  -1 + err when the evidence is missing or unreadable. */
int ship_decide(const struct pipeline *pl, struct ship_decision *d, struct error *err);
/* release.json and release.md in the artifacts directory. */
int ship_write(const struct pipeline *pl, const struct ship_decision *d, struct error *err);
void ship_decision_free(struct ship_decision *d);

/* The bench stage's candidates (its stage inputs after the baseline). */
size_t ship_n_candidates(const struct stage_def *bench);
/* Judge every candidate against the baseline and pick the winner: its
 * index (0 the first candidate) or -1; `*out` every candidate's evidence,
 * `*why` the sentence (caller frees both). */
int ship_pick(const struct pipeline *pl, const struct stage_def *bench, json_t *result,
              json_t **out, char **why);

#endif
