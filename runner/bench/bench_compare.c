/* bench_compare.c - see bench_compare.h */
#define _GNU_SOURCE
#include "bench/bench_compare.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "bench/bench_analysis.h"
#include "bench/bench_options.h"
#include "bench/bench_exec.h"
#include "bench/bench_host.h"
#include "bench/bench_plan.h"
#include "bench/bench_recorded.h"
#include "bench/bench_reported.h"
#include "bench/bench_rules.h"
#include "bench/bench_report.h"
#include "bench/forensics.h"
#include "base/json_file.h"
#include "base/report_json.h"
#include "bench/stats.h"

/* ---- rerun comparison -------------------------------------------------------- */

static json_t *rerun_verdicts(const struct bench_ctx *c, const struct bench_analysis *old,
                              const struct bench_analysis *now, FILE *out)
{
	const struct bench_session *s = &c->s;
	json_t *arr = json_array();

	for (size_t i = 0; i < now->n_cmp; i++) {
		const struct bench_cmp *k = &now->cmp[i];

		if (k->metric != s->set.metric)
			continue;
		for (size_t j = 0; j < old->n_cmp; j++) {
			const struct bench_cmp *o = &old->cmp[j];
			bool agree;

			if (strcmp(bench_metric_name(&c->rec, o->metric),
			           bench_metric_name(&c->s, k->metric)) != 0 ||
			    strcmp(c->rec.benchmarks[o->bench].name,
			           c->s.benchmarks[k->bench].name) != 0 ||
			    o->cell != k->cell || o->cand != k->cand)
				continue;
			agree = o->c.verdict == k->c.verdict;
			fprintf(out, "  %s/%s: recorded %+.2f %% %s, here %+.2f %% %s%s\n",
			        s->benchmarks[k->bench].name, s->variants[k->cand].name, o->c.pct,
			        verdict_name(o->c.verdict), k->c.pct, verdict_name(k->c.verdict),
			        agree ? "" : "  (differs)");
			json_array_append_new(
			    arr, json_pack("{s:i, s:i, s:i, s:s, s:o, s:s, s:o, s:s, s:b}",
			                   "benchmark", (json_int_t)k->bench, "cell",
			                   (json_int_t)k->cell, "candidate", (json_int_t)k->cand,
			                   "recorded_verdict", verdict_name(o->c.verdict),
			                   "recorded_pct", json_real_or_null(o->c.pct),
			                   "new_verdict", verdict_name(k->c.verdict), "new_pct",
			                   json_real_or_null(k->c.pct), "metric",
			                   bench_metric_name(s, k->metric), "agree", agree));
		}
	}
	return arr;
}

void bench_check_digests(const struct bench_ctx *c)
{
	for (size_t i = 0; i < c->s.n_variants && i < c->rec.n_variants; i++) {
		const char *now = c->s.variants[i].digest, *then = c->rec.variants[i].digest;

		if (now[0] && then[0] && strcmp(now, then) != 0)
			fprintf(stderr,
			        "pgo-sandbox: bench: warning: %s is not the recorded binary "
			        "(%s, recorded %s)\n",
			        c->s.variants[i].name, now, then);
	}
}

json_t *bench_rerun_report(struct bench_ctx *c, const struct bench_analysis *a)
{
	struct bench_analysis old;
	json_t *o = json_object();

	struct recorded_cmp *k = NULL;
	size_t n;

	bench_analyse(&c->rec, &old);
	printf("rerun of %s (%s):\n", c->opt.rerun_path, bench_metric_name(&c->s, c->s.set.metric));
	json_object_set_new(o, "source", json_string(c->opt.rerun_path));
	json_object_set(o, "source_host",
	                c->rec.conditions ? json_object_get(c->rec.conditions, "host") : NULL);
	n = bench_recorded_compare(&c->s, &c->rec, NULL, (int)c->s.set.metric, &k);
	bench_recorded_print(stdout, &c->s, k, n);
	json_object_set_new(o, "arms", bench_recorded_json(&c->s, k, n));
	free(k);
	json_object_set_new(o, "verdicts", rerun_verdicts(c, &old, a, stdout));
	bench_analysis_free(&old);
	return o;
}

/* ---- recorded baselines (--against) -------------------------------------------- */

int bench_load_against(struct bench_ctx *c, struct error *err)
{
	c->against = xcalloc(c->opt.n_against + 1, sizeof(*c->against));
	for (size_t i = 0; i < c->opt.n_against; i++) {
		struct against *ag = &c->against[i];

		bench_recorded_split(c->opt.against[i], &ag->path, &ag->variant);
		bench_session_init(&ag->s);
		c->n_against++;
		if (bench_session_load(ag->path, &ag->s, err) < 0)
			return error_prefix(err, "--against");
		if (bench_recorded_check_host(&ag->s, ag->path, c->opt.allow_other_host, err) < 0)
			return error_prefix(err, "--against");
		if (ag->variant) {
			bool found = false;

			for (size_t v = 0; v < ag->s.n_variants; v++)
				found |= strcmp(ag->s.variants[v].name, ag->variant) == 0;
			if (!found)
				return error_set(err, EXIT_RUNNER_ERROR, 0,
				                 "--against %s: it has no variant '%s'", ag->path,
				                 ag->variant);
		}
	}
	return 0;
}

json_t *bench_against_report(struct bench_ctx *c)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < c->n_against; i++) {
		struct against *ag = &c->against[i];
		struct recorded_cmp *k = NULL;
		size_t n = bench_recorded_compare(&c->s, &ag->s, ag->variant, -1, &k);
		json_t *host = ag->s.conditions ? json_object_get(ag->s.conditions, "host") : NULL;

		printf("against the recorded %s%s%s (unpaired, across time):\n", ag->path,
		       ag->variant ? ", variant " : "", ag->variant ? ag->variant : "");
		if (n == 0)
			printf("  nothing in common (benchmark, variant, cell and metric names)\n");
		bench_recorded_print(stdout, &c->s, k, n);
		json_array_append_new(
		    arr,
		    json_pack("{s:s, s:o, s:O?, s:b, s:o}", "source", ag->path, "variant",
		              ag->variant ? json_string(ag->variant) : json_null(), "source_host",
		              host, "other_host_allowed", c->opt.allow_other_host, "comparisons",
		              bench_recorded_json(&c->s, k, n)));
		free(k);
	}
	return arr;
}
