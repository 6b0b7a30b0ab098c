/* ship_pick.c - see ship_pick.h. */
#include "pipeline/ship_pick.h"

bool ship_gain_beats(const struct ship_gain *a, const struct ship_gain *b, double margin)
{
	/* disjoint intervals, and a difference the release rule cares about */
	return a->lo > b->hi && a->gain - b->gain > margin;
}

static bool beats_somewhere(const struct ship_candidate *a, const struct ship_candidate *b,
                            double margin)
{
	size_t n = a->n < b->n ? a->n : b->n;

	for (size_t i = 0; i < n; i++)
		if (ship_gain_beats(&a->g[i], &b->g[i], margin))
			return true;
	return false;
}

bool ship_beats(const struct ship_candidate *a, const struct ship_candidate *b, double margin)
{
	return beats_somewhere(a, b, margin) && !beats_somewhere(b, a, margin);
}

int ship_pick_winner(const struct ship_candidate *c, size_t n, double margin)
{
	int first = -1;

	for (size_t i = 0; i < n; i++) {
		bool beaten = false;

		if (!c[i].proven)
			continue;
		if (first < 0)
			first = (int)i;
		for (size_t j = 0; j < n && !beaten; j++)
			beaten = j != i && c[j].proven && ship_beats(&c[j], &c[i], margin);
		if (!beaten)
			return (int)i;
	}
	/* every proven candidate beaten by another (a cycle across
	 * benchmarks): the simplest proven one */
	return first;
}
