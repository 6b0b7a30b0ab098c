/* ship_pick.h - which of several proven candidates a release ships (pure
 * logic; ship.c gathers the evidence from the bench result).
 *
 * A candidate is proven when every gated benchmark is a real win over the
 * baseline (by the margin, its interval beyond zero, after Holm's
 * correction over every candidate and benchmark).  Candidate a really
 * beats b when on some gated benchmark a's gain interval lies wholly above
 * b's and a's gain exceeds b's by more than the margin, and b does that to
 * a on none.  The winner is the first proven candidate, in the order the
 * bench stage lists them (simplest build first), that no other proven
 * candidate really beats: differences within the margin or within the
 * noise go to the simpler build. */
#ifndef PGO_SHIP_PICK_H
#define PGO_SHIP_PICK_H

#include <stdbool.h>
#include <stddef.h>

/* A gain over the baseline in percent (positive: better), with its
 * interval. */
struct ship_gain {
	double gain, lo, hi;
};

struct ship_candidate {
	bool proven;
	size_t n;                  /* gated benchmarks, the same order in every candidate */
	const struct ship_gain *g; /* n of them */
};

/* Whether `a` beats `b` on one benchmark by a real difference. */
bool ship_gain_beats(const struct ship_gain *a, const struct ship_gain *b, double margin);
/* Whether `a` really beats `b` (above). */
bool ship_beats(const struct ship_candidate *a, const struct ship_candidate *b, double margin);
/* The winner's index, or -1 when no candidate is proven. */
int ship_pick_winner(const struct ship_candidate *c, size_t n, double margin);

#endif
