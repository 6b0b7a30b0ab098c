/* export.c - see export.h */
#define _GNU_SOURCE
#include "history/export.h"

#include <stdlib.h>
#include <string.h>

#include "bench/stats.h"

static bool one_variant(const struct sample_sets *sets)
{
	for (size_t i = 1; i < sets->n; i++)
		if (strcmp(sets->s[i].variant, sets->s[0].variant) != 0)
			return false;
	return true;
}

static json_t *measure(const struct sample_series *x, double scale)
{
	struct describe d;

	stats_describe(x->v, x->n, &d);
	return json_pack("{s:f, s:f, s:f}", "value", d.median * scale, "lower_value", d.min * scale,
	                 "upper_value", d.max * scale);
}

json_t *export_bmf(const struct sample_sets *sets)
{
	json_t *doc = json_object();
	bool single = one_variant(sets);

	for (size_t i = 0; i < sets->n; i++) {
		const struct sample_series *x = &sets->s[i];
		char *name =
		    single ? xstrdup(x->benchmark) : xasprintf("%s/%s", x->benchmark, x->variant);
		bool wall = strcmp(x->metric, "wall") == 0;
		bool rss = strcmp(x->metric, "rss") == 0;
		json_t *bench;

		if (*x->cell) {
			char *full = xasprintf("%s [%s]", name, x->cell);

			free(name);
			name = full;
		}
		bench = json_object_get(doc, name);
		if (bench == NULL) {
			bench = json_object();
			json_object_set_new(doc, name, bench);
		}
		/* Bencher's measure names: latency in ns; peak memory as max-rss
		 * in bytes (recorded in KiB) */
		if (x->n > 0)
			json_object_set_new(bench,
			                    wall  ? "latency"
			                    : rss ? "max-rss"
			                          : x->metric,
			                    measure(x, wall  ? 1e9
			                               : rss ? 1024.0
			                                     : 1.0));
		free(name);
	}
	return doc;
}
