/* trend.h - a trend chart: one benchmark and metric over commits, one
 * line per variant, as a self-contained SVG and an HTML page embedding
 * it (no scripts, fonts or styles from elsewhere: it opens from a CI
 * artifact or a mail attachment).  Pure: text in, text out. */
#ifndef PGO_HISTORY_TREND_H
#define PGO_HISTORY_TREND_H

#include <stddef.h>

#include "history/steps.h"

struct trend_point {
	double median, min, max; /* NAN median: the variant has no sample there */
};

struct trend_series {
	const char *variant;
	const struct trend_point *points; /* one per commit of the chart */
	const struct step *steps;         /* step.index: a commit index */
	size_t n_steps;
};

struct trend_chart {
	const char *title;          /* "a: wall" */
	const char *unit;           /* axis label, may be NULL */
	const char *note;           /* host selection, runs left out; may be NULL */
	const char *const *commits; /* the x axis, oldest first */
	size_t n_commits;
	const struct trend_series *series;
	size_t n_series;
};

/* Caller frees both. */
char *trend_svg(const struct trend_chart *c);
char *trend_html(const struct trend_chart *c, const char *svg);

#endif
