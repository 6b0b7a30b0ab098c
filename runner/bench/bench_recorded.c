/* bench_recorded.c - see bench_recorded.h */
#define _GNU_SOURCE
#include "bench/bench_recorded.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_host.h"

static int find_by_name(const char *name, size_t n, const char *(*get)(const void *, size_t),
                        const void *arr)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(get(arr, i), name) == 0)
			return (int)i;
	return -1;
}

static const char *bench_name_at(const void *s, size_t i)
{
	return ((const struct bench_session *)s)->benchmarks[i].name;
}

static const char *variant_name_at(const void *s, size_t i)
{
	return ((const struct bench_session *)s)->variants[i].name;
}

/* The cell of `then` with the same label as `cell` of `now`, -1 if none. */
static int same_cell(const struct bench_session *now, size_t cell, const struct bench_session *then)
{
	char *want = bench_cell_label(now, cell);
	int found = -1;

	for (size_t c = 0; c < bench_n_cells(then) && found < 0; c++) {
		char *label = bench_cell_label(then, c);

		if (strcmp(label, want) == 0)
			found = (int)c;
		free(label);
	}
	free(want);
	return found;
}

static bool compare_one(const struct bench_session *now, const struct bench_session *then, size_t b,
                        size_t tb, size_t v, size_t tv, size_t c, size_t tc, enum bench_metric m,
                        struct recorded_cmp *k)
{
	int tm = bench_metric_find(then, bench_metric_name(now, m));
	double *x = xcalloc(then->n_runs + 1, sizeof(double));
	double *y = xcalloc(now->n_runs + 1, sizeof(double));
	double L = log1p(now->set.threshold), sign;
	struct mann_whitney mw;
	size_t nx, ny;
	bool ok;

	nx = tm < 0 ? 0 : bench_arm_logs(then, tb, tv, tc, (enum bench_metric)tm, true, x);
	ny = bench_arm_logs(now, b, v, c, m, true, y);
	ok = nx > 0 && ny > 0 &&
	     stats_mann_whitney(x, nx, y, ny, now->set.confidence, &mw, NULL) == 0;
	free(x);
	free(y);
	if (!ok)
		return false;
	*k = (struct recorded_cmp){.bench = b,
	                           .variant = v,
	                           .cell = c,
	                           .metric = m,
	                           .n_then = nx,
	                           .n_now = ny,
	                           .p_two_sided = mw.p_two_sided};
	k->verdict = mw.shift_lo > L && mw.p_greater < 1 - now->set.confidence ? VERDICT_SLOWER
	             : mw.shift_hi < -L                                        ? VERDICT_FASTER
	             : mw.shift_lo > -L && mw.shift_hi < L                     ? VERDICT_NO_CHANGE
	                                                   : VERDICT_INCONCLUSIVE;
	/* back from badness to the metric's own terms */
	sign = bench_metric_direction(now, m) == DIRECTION_HIGHER ? -1.0 : 1.0;
	k->pct = 100.0 * expm1(sign * mw.shift);
	k->pct_lo = 100.0 * expm1(sign > 0 ? mw.shift_lo : -mw.shift_hi);
	k->pct_hi = 100.0 * expm1(sign > 0 ? mw.shift_hi : -mw.shift_lo);
	return true;
}

size_t bench_recorded_compare(const struct bench_session *now, const struct bench_session *then,
                              const char *then_variant, int metric, struct recorded_cmp **out)
{
	size_t n = 0;

	*out = NULL;
	for (size_t b = 0; b < now->n_benchmarks; b++) {
		int tb =
		    find_by_name(now->benchmarks[b].name, then->n_benchmarks, bench_name_at, then);

		for (size_t v = 0; tb >= 0 && v < now->n_variants; v++) {
			int tv = find_by_name(then_variant ? then_variant : now->variants[v].name,
			                      then->n_variants, variant_name_at, then);

			for (size_t c = 0; tv >= 0 && c < bench_n_cells(now); c++) {
				int tc = same_cell(now, c, then);

				for (size_t m = 0; tc >= 0 && m < bench_n_metrics(now); m++) {
					struct recorded_cmp k;

					if ((metric >= 0 && (int)m != metric) ||
					    !compare_one(now, then, b, (size_t)tb, v, (size_t)tv, c,
					                 (size_t)tc, (enum bench_metric)m, &k))
						continue;
					*out = xrealloc(*out, (n + 1) * sizeof(**out));
					(*out)[n++] = k;
				}
			}
		}
	}
	return n;
}

static void fingerprint_of(const struct bench_session *s, char out[DIGEST_STR_MAX])
{
	json_t *host = s->conditions ? json_object_get(s->conditions, "host") : NULL;
	json_t *fp = json_object_get(host, "fingerprint");

	if (json_is_string(fp))
		snprintf(out, DIGEST_STR_MAX, "%s", json_string_value(fp));
	else if (host)
		host_fingerprint(host, out);
	else
		out[0] = '\0';
}

int bench_recorded_check_host(const struct bench_session *then, const char *what, bool allow_other,
                              struct error *err)
{
	json_t *here = host_facts_json("/");
	const char *fp_here = json_string_value(json_object_get(here, "fingerprint"));
	char fp_then[DIGEST_STR_MAX];
	json_t *host = then->conditions ? json_object_get(then->conditions, "host") : NULL;
	const char *name = json_string_value(json_object_get(host, "hostname"));
	int rc = 0;

	fingerprint_of(then, fp_then);
	if (fp_here && strcmp(fp_here, fp_then) != 0) {
		if (allow_other)
			fprintf(stderr,
			        "pgo-sandbox: bench: warning: %s was recorded on another host (%s, "
			        "%s); compared anyway (--allow-other-host)\n",
			        what, name ? name : "unknown",
			        fp_then[0] ? fp_then : "no fingerprint");
		else
			rc = error_set(
			    err, EXIT_RUNNER_ERROR, 0,
			    "%s was recorded on another host (%s, fingerprint %s; this one "
			    "is %s): its numbers are not a baseline here. Pass "
			    "--allow-other-host to compare anyway",
			    what, name ? name : "unknown", fp_then[0] ? fp_then : "none", fp_here);
	}
	json_decref(here);
	return rc;
}

void bench_recorded_split(const char *spec, char **path, char **variant)
{
	const char *colon = strrchr(spec, ':');

	*variant = NULL;
	if (colon && access(spec, F_OK) != 0) {
		*path = xasprintf("%.*s", (int)(colon - spec), spec);
		*variant = xstrdup(colon + 1);
	} else {
		*path = xstrdup(spec);
	}
}

void bench_recorded_print(FILE *out, const struct bench_session *now, const struct recorded_cmp *k,
                          size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *cell = bench_cell_label(now, k[i].cell);

		fprintf(out,
		        "  %s%s%s%s/%s %s: %+.2f %% [%+.2f, %+.2f] vs recorded (%zu then, %zu "
		        "now, p=%.3g) %s\n",
		        now->benchmarks[k[i].bench].name, cell[0] ? " [" : "", cell,
		        cell[0] ? "]" : "", now->variants[k[i].variant].name,
		        bench_metric_name(now, k[i].metric), k[i].pct, k[i].pct_lo, k[i].pct_hi,
		        k[i].n_then, k[i].n_now, k[i].p_two_sided, verdict_name(k[i].verdict));
		free(cell);
	}
}

json_t *bench_recorded_json(const struct bench_session *now, const struct recorded_cmp *k, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(
		    arr,
		    json_pack("{s:i, s:i, s:i, s:s, s:s, s:s, s:i, s:i, s:o, s:o, s:o, s:o, s:s}",
		              "benchmark", (json_int_t)k[i].bench, "variant",
		              (json_int_t)k[i].variant, "cell", (json_int_t)k[i].cell, "metric",
		              bench_metric_name(now, k[i].metric), "direction",
		              direction_name(bench_metric_direction(now, k[i].metric)), "method",
		              "mann-whitney, unpaired, across time", "n_recorded",
		              (json_int_t)k[i].n_then, "n_new", (json_int_t)k[i].n_now, "shift_pct",
		              json_real_or_null(k[i].pct), "ci_low_pct",
		              json_real_or_null(k[i].pct_lo), "ci_high_pct",
		              json_real_or_null(k[i].pct_hi), "p_two_sided",
		              json_real_or_null(k[i].p_two_sided), "verdict",
		              verdict_name(k[i].verdict)));
	return arr;
}
