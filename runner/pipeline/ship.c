/* ship.c - see ship.h */
#define _GNU_SOURCE
#include "pipeline/ship.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts/digest.h"
#include "base/strbuf.h"
#include "base/bytes_json.h"
#include "pipeline/roles.h"
#include "pipeline/ship_pick.h"
#include "pipeline/stage_run.h"

static const struct stage_def *bench_stage(const struct pipeline *pl)
{
	for (size_t i = 0; i < pl->n_stages; i++)
		if (stage_role_of(pl->stages[i].name) == ROLE_BENCH)
			return &pl->stages[i];
	return NULL;
}

/* The bench stage's n-th input that is a stage: 0 the baseline build,
 * 1 the candidate (what was measured is what ships). */
static const char *bench_input(const struct stage_def *bench, size_t n)
{
	for (size_t i = 0; i < bench->n_inputs; i++)
		if (strcmp(bench->inputs[i], "source") != 0 && n-- == 0)
			return bench->inputs[i];
	return NULL;
}

static json_t *load_bench_result(const struct pipeline *pl, const struct stage_def *bench,
                                 struct error *err)
{
	char *path = xasprintf("%s/%s.run.json", pl->artifacts_dir, bench->name);
	json_error_t je;
	json_t *doc = json_load_file(path, 0, &je), *result;

	if (doc == NULL) {
		error_set(err, EXIT_RUNNER_ERROR, 0,
		          "[release] ship-pgo-if: the bench stage's record %s: %s", path, je.text);
		free(path);
		return NULL;
	}
	result = json_incref(json_object_get(doc, "bench"));
	json_decref(doc);
	if (!json_is_object(result))
		error_set(
		    err, EXIT_RUNNER_ERROR, 0,
		    "[release] ship-pgo-if: %s holds no bench result (did the bench stage run?)",
		    path);
	free(path);
	return result;
}

static const char *bench_name(json_t *result, json_t *cmp)
{
	json_t *b = json_array_get(json_object_get(result, "benchmarks"),
	                           (size_t)json_integer_value(json_object_get(cmp, "benchmark")));
	const char *name = json_string_value(json_object_get(b, "name"));

	return name ? name : "?";
}

/* One candidate against the baseline: every gated A/B comparison of the
 * gate metric (bench variant `variant`) must be a win by at least the
 * margin, with its whole interval on the better side of zero; among
 * several candidates (`family`), also a win after Holm's correction over
 * the whole family (the bench's verdict: every candidate and benchmark). */
static bool judge_faster(const struct pipeline *pl, json_t *result, json_int_t variant, bool family,
                         json_t *evidence, char **why)
{
	const char *metric =
	    json_string_value(json_object_get(json_object_get(result, "settings"), "metric"));
	json_t *cmps = json_object_get(json_object_get(result, "analysis"), "comparisons"), *k;
	size_t i, judged = 0;
	bool win = true;

	*why = NULL;
	json_array_foreach(cmps, i, k)
	{
		const char *kind = json_string_value(json_object_get(k, "kind"));
		const char *m = json_string_value(json_object_get(k, "metric"));
		const char *verdict = json_string_value(json_object_get(k, "verdict"));
		bool higher = strcmp(json_string_value(json_object_get(k, "direction")) ?: "lower",
		                     "higher") == 0;
		double est = json_number_value(json_object_get(k, "estimate_pct"));
		double lo = json_number_value(json_object_get(k, "ci_low_pct"));
		double hi = json_number_value(json_object_get(k, "ci_high_pct"));
		double gain = higher ? est : -est;
		bool beyond_zero = higher ? lo > 0 : hi < 0;
		bool holm =
		    !family ||
		    (verdict && (strcmp(verdict, "faster") == 0 || strcmp(verdict, "better") == 0));
		bool ok;

		if (!kind || strcmp(kind, "ab") != 0 ||
		    !json_is_true(json_object_get(k, "gated")) || !m || !metric ||
		    strcmp(m, metric) != 0 ||
		    json_integer_value(json_object_get(k, "candidate")) != variant)
			continue;
		judged++;
		ok = json_is_number(json_object_get(k, "estimate_pct")) &&
		     json_is_number(json_object_get(k, "ci_low_pct")) &&
		     json_is_number(json_object_get(k, "ci_high_pct")) && beyond_zero &&
		     gain >= pl->ship.margin_pct && holm;
		json_array_append_new(
		    evidence,
		    json_pack("{s:s, s:s, s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:b}", "benchmark",
		              bench_name(result, k), "metric", m, "direction",
		              higher ? "higher" : "lower", "estimate_pct", est, "ci_low_pct", lo,
		              "ci_high_pct", hi, "gain_pct", gain, "gain_low_pct",
		              higher ? lo : -hi, "gain_high_pct", higher ? hi : -lo, "win", ok));
		if (family)
			json_object_set_new(json_array_get(evidence, json_array_size(evidence) - 1),
			                    "verdict", json_string(verdict ? verdict : "?"));
		if (!ok && *why == NULL)
			*why = xasprintf(
			    "%s: %s %+.2f %% [%+.2f, %+.2f]%s is not a win of at least "
			    "%.2f %% with the whole interval beyond zero%s",
			    bench_name(result, k), m, est, lo, hi,
			    family ? (holm ? "" : " (Holm over every candidate: not a win)") : "",
			    pl->ship.margin_pct, family ? " and after Holm's correction" : "");
		win &= ok;
	}
	if (judged == 0) {
		*why = xstrdup("the bench gated no comparison of its metric");
		return false;
	}
	if (win)
		*why =
		    xasprintf("every gated benchmark (%zu) is better by at least %.2f %% with the "
		              "whole interval beyond zero (%s)",
		              judged, pl->ship.margin_pct, pl->ship.text);
	return win;
}

/* A gate that could not decide (a gated comparison without a finite
 * interval: too few blocks) is no evidence for shipping anything. */
static bool gate_undecided(json_t *result, char **why)
{
	json_t *gate = json_object_get(json_object_get(result, "analysis"), "gate");

	if (!json_is_true(json_object_get(gate, "undecidable")))
		return false;
	*why = xstrdup("the bench gate could not decide: a gated comparison had no finite "
	               "interval (too few blocks)");
	return true;
}

static bool judge_go(json_t *result, json_t *evidence, char **why)
{
	json_t *dec = json_object_get(result, "decision");
	const char *outcome = json_string_value(json_object_get(dec, "outcome"));
	const char *reason = json_string_value(json_object_get(dec, "reason"));

	if (dec)
		json_array_append(evidence, dec);
	if (gate_undecided(result, why))
		return false;
	if (outcome == NULL) {
		*why = xstrdup("the bench stage made no --rules decision (set PGO_BENCH_RULES)");
		return false;
	}
	*why = xasprintf("the rules decided %s: %s", outcome, reason ? reason : "");
	return strcmp(outcome, "go") == 0;
}

/* Candidate i's stage name (from 0). */
static const char *candidate_name(const struct stage_def *bench, size_t i)
{
	const char *name = bench_input(bench, i + 1);

	return name ? name : "?";
}

size_t ship_n_candidates(const struct stage_def *bench)
{
	size_t n = 0;

	while (bench_input(bench, n + 1))
		n++;
	return n;
}

static struct ship_gain *gains_of(json_t *evidence, size_t *n)
{
	struct ship_gain *g = xcalloc(json_array_size(evidence) + 1, sizeof(*g));
	json_t *e;
	size_t i;

	json_array_foreach(evidence, i, e)
	{
		g[i].gain = json_number_value(json_object_get(e, "gain_pct"));
		g[i].lo = json_number_value(json_object_get(e, "gain_low_pct"));
		g[i].hi = json_number_value(json_object_get(e, "gain_high_pct"));
	}
	*n = json_array_size(evidence);
	return g;
}

/* Names of the proven candidates that really beat candidate i. */
static json_t *beaten_by(const struct stage_def *bench, const struct ship_candidate *c, size_t n,
                         size_t i, double margin)
{
	json_t *a = json_array();

	for (size_t j = 0; j < n; j++)
		if (j != i && c[j].proven && c[i].proven && ship_beats(&c[j], &c[i], margin))
			json_array_append_new(a, json_string(candidate_name(bench, j)));
	return a;
}

static char *pick_reason(const struct pipeline *pl, const struct stage_def *bench, int winner,
                         size_t n, char *const *whys)
{
	struct strbuf b = {0};

	if (winner >= 0) {
		strbuf_printf(
		    &b,
		    "%s is better than the baseline by at least %.2f %% on every gated "
		    "benchmark (whole interval beyond zero, Holm over the %zu candidates) "
		    "and no other candidate beats it by a real difference (simpler builds "
		    "first: ",
		    candidate_name(bench, (size_t)winner), pl->ship.margin_pct, n);
		for (size_t i = 0; i < n; i++)
			strbuf_printf(&b, "%s%s", i ? ", " : "", candidate_name(bench, i));
		strbuf_printf(&b, "; %s)", pl->ship.text);
		return strbuf_take(&b);
	}
	strbuf_printf(&b, "no candidate won against the baseline:");
	for (size_t i = 0; i < n; i++)
		strbuf_printf(&b, "%s %s: %s", i ? ";" : "", candidate_name(bench, i), whys[i]);
	return strbuf_take(&b);
}

/* Several candidates: each judged against the baseline, the winner
 * picked (ship_pick.h); `*out` every candidate's evidence. */
int ship_pick(const struct pipeline *pl, const struct stage_def *bench, json_t *result,
              json_t **out, char **why)
{
	size_t n = ship_n_candidates(bench);
	struct ship_candidate *c = xcalloc(n, sizeof(*c));
	struct ship_gain **g = xcalloc(n, sizeof(*g));
	json_t **ev = xcalloc(n, sizeof(*ev));
	char **whys = xcalloc(n, sizeof(*whys));
	int winner;

	for (size_t i = 0; i < n; i++) {
		ev[i] = json_array();
		c[i].proven = judge_faster(pl, result, (json_int_t)i + 1, true, ev[i], &whys[i]);
		g[i] = gains_of(ev[i], &c[i].n);
		c[i].g = g[i];
	}
	winner = ship_pick_winner(c, n, pl->ship.margin_pct);
	*out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(*out,
		                      json_pack("{s:s, s:i, s:b, s:b, s:s, s:o, s:o}", "name",
		                                candidate_name(bench, i), "simplicity_rank",
		                                (json_int_t)i + 1, "proven", c[i].proven, "winner",
		                                (int)i == winner, "why", whys[i], "beaten_by",
		                                beaten_by(bench, c, n, i, pl->ship.margin_pct),
		                                "evidence", ev[i]));
	*why = pick_reason(pl, bench, winner, n, whys);
	for (size_t i = 0; i < n; i++) {
		free(whys[i]);
		free(g[i]);
	}
	free(whys);
	free(g);
	free(ev);
	free(c);
	return winner;
}

/* Ship candidate `winner` (the bench stage's input number winner + 1;
 * -1: none), else the baseline or nothing. */
static void choose(const struct pipeline *pl, const struct stage_def *bench, int winner,
                   const char *winner_label, struct ship_decision *d)
{
	const char *base = bench_input(bench, 0);
	const char *cand = winner >= 0 ? bench_input(bench, (size_t)winner + 1) : NULL;

	if (cand) {
		d->shipped = winner_label;
		d->artifact = artifact_find(pl->artifacts_dir, cand);
		d->exit_code = 0;
	} else if (!pl->ship.otherwise_fail && base) {
		d->shipped = "baseline";
		d->artifact = artifact_find(pl->artifacts_dir, base);
		d->exit_code = PIPELINE_EXIT_SHIPPED_BASELINE;
	} else {
		d->shipped = NULL;
		d->exit_code = PIPELINE_EXIT_NOT_SHIPPED;
	}
}

int ship_decide(const struct pipeline *pl, struct ship_decision *d, struct error *err)
{
	const struct stage_def *bench = bench_stage(pl);
	json_t *result, *evidence = json_array();
	char *why = NULL, digest[DIGEST_STR_MAX] = "";
	json_t *candidates = NULL;
	const char *label = "pgo";
	int winner;

	memset(d, 0, sizeof(*d));
	if (bench == NULL) {
		json_decref(evidence);
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "%s: [release] ship-pgo-if needs a bench stage", pl->path);
	}
	result = load_bench_result(pl, bench, err);
	if (!json_is_object(result)) {
		json_decref(result);
		json_decref(evidence);
		return -1;
	}
	if (ship_n_candidates(bench) > 1 && pl->ship.when == SHIP_IF_FASTER) {
		winner = ship_pick(pl, bench, result, &candidates, &why);
		label = winner >= 0 ? bench_input(bench, (size_t)winner + 1) : NULL;
	} else {
		bool win = pl->ship.when == SHIP_IF_GO
		               ? judge_go(result, evidence, &why)
		               : judge_faster(pl, result, 1, false, evidence, &why);
		winner = win ? 0 : -1;
	}
	choose(pl, bench, winner, label, d);
	if (d->artifact && digest_file_sha256(d->artifact, digest, err) < 0)
		digest[0] = '\0';
	d->reason = xasprintf("%s ships: %s", d->shipped ? d->shipped : "nothing", why);
	d->record =
	    json_pack("{s:s, s:i, s:s, s:o, s:o, s:o, s:s, s:s, s:s, s:o, s:o}", "schema",
	              "pgo-sandbox-release", "schema_version", 1, "pipeline", pl->name, "shipped",
	              json_string_or_null(d->shipped), "artifact",
	              d->artifact ? json_string(strrchr(d->artifact, '/') + 1) : json_null(),
	              "sha256", digest[0] ? json_string(digest) : json_null(), "rule",
	              pl->ship.text, "otherwise", pl->ship.otherwise_fail ? "fail" : "baseline",
	              "reason", d->reason, "evidence", evidence, "bench_settings",
	              json_incref(json_object_get(result, "settings")) ?: json_null());
	if (candidates)
		json_object_set_new(d->record, "candidates", candidates);
	free(why);
	d->result = result;
	return 0;
}

/* One line per rule and benchmark judged of the bench's --rules decision:
 * which metric, where, the interval and whether it held. */
static void decision_markdown(struct strbuf *b, json_t *dec)
{
	json_t *rule, *res;
	size_t i, j;

	json_array_foreach(json_object_get(dec, "rules"), i, rule)
	{
		json_array_foreach(json_object_get(rule, "benchmarks"), j, res)
		{
			json_t *est = json_object_get(res, "value_pct");

			strbuf_printf(b, "- %s %s (%s, %s): ",
			              json_string_value(json_object_get(rule, "kind")),
			              json_string_value(json_object_get(rule, "rule")),
			              json_string_value(json_object_get(rule, "metric")) ?: "?",
			              json_string_value(json_object_get(res, "benchmark")) ?: "?");
			if (json_is_number(est))
				strbuf_printf(
				    b, "%+.2f %% [%+.2f, %+.2f]", json_number_value(est),
				    json_number_value(json_object_get(res, "ci_low_pct")),
				    json_number_value(json_object_get(res, "ci_high_pct")));
			else
				strbuf_printf(b, "n/a");
			strbuf_printf(b, "%s\n",
			              json_is_true(json_object_get(res, "holds")) ? " - holds"
			                                                          : "");
		}
	}
}

/* Several candidates: one row each, simplest first. */
static void markdown_candidates(struct strbuf *b, json_t *candidates)
{
	json_t *c;
	size_t i;

	strbuf_printf(b, "\n| candidate (simplest first) | won against the baseline | gain per "
	                 "gated benchmark, %% [interval] | beaten by |\n|---|---|---|---|\n");
	json_array_foreach(candidates, i, c)
	{
		json_t *e, *by = json_object_get(c, "beaten_by");
		size_t j;

		strbuf_printf(b, "| %s%s | %s | ", json_string_value(json_object_get(c, "name")),
		              json_is_true(json_object_get(c, "winner")) ? " (ships)" : "",
		              json_is_true(json_object_get(c, "proven")) ? "yes" : "no");
		json_array_foreach(json_object_get(c, "evidence"), j, e)
		    strbuf_printf(b, "%s%s %+.2f [%+.2f, %+.2f]", j ? "; " : "",
		                  json_string_value(json_object_get(e, "benchmark")),
		                  json_number_value(json_object_get(e, "gain_pct")),
		                  json_number_value(json_object_get(e, "gain_low_pct")),
		                  json_number_value(json_object_get(e, "gain_high_pct")));
		strbuf_printf(b, " | ");
		json_array_foreach(by, j, e)
		    strbuf_printf(b, "%s%s", j ? ", " : "", json_string_value(e));
		strbuf_printf(b, "%s |\n", json_array_size(by) ? "" : "-");
	}
}

static char *markdown(const struct ship_decision *d)
{
	json_t *ev = json_object_get(d->record, "evidence"), *e;
	struct strbuf b = {0};
	size_t i;

	strbuf_printf(&b, "### Release: %s\n\n%s\n\n", d->shipped ? d->shipped : "NOTHING SHIPPED",
	              d->reason);
	json_array_foreach(ev, i, e)
	{
		if (json_is_array(json_object_get(e, "rules")))
			decision_markdown(&b, e);
		if (!json_is_string(json_object_get(e, "benchmark")))
			continue;
		strbuf_printf(&b, "- %s (%s, %s is better): %+.2f %% [%+.2f, %+.2f]%s\n",
		              json_string_value(json_object_get(e, "benchmark")),
		              json_string_value(json_object_get(e, "metric")),
		              json_string_value(json_object_get(e, "direction")),
		              json_number_value(json_object_get(e, "estimate_pct")),
		              json_number_value(json_object_get(e, "ci_low_pct")),
		              json_number_value(json_object_get(e, "ci_high_pct")),
		              json_is_true(json_object_get(e, "win")) ? " - a win" : "");
	}
	if (json_object_get(d->record, "candidates"))
		markdown_candidates(&b, json_object_get(d->record, "candidates"));
	return strbuf_take(&b);
}

int ship_write(const struct pipeline *pl, const struct ship_decision *d, struct error *err)
{
	char *json_path = xasprintf("%s/release.json", pl->artifacts_dir);
	char *md_path = xasprintf("%s/release.md", pl->artifacts_dir);
	char *text = json_dumps(d->record, JSON_INDENT(2) | JSON_SORT_KEYS);
	char *md = markdown(d);
	int rc = text ? 0 : error_set(err, EXIT_RUNNER_ERROR, 0, "encoding %s", json_path);

	if (rc == 0) {
		char *line = xasprintf("%s\n", text);

		rc = write_file_atomic(json_path, line, strlen(line), 0644, err);
		free(line);
	}
	if (rc == 0)
		rc = write_file_atomic(md_path, md, strlen(md), 0644, err);
	free(text);
	free(md);
	free(json_path);
	free(md_path);
	return rc;
}

void ship_decision_free(struct ship_decision *d)
{
	free(d->artifact);
	free(d->reason);
	json_decref(d->record);
	json_decref(d->result);
	memset(d, 0, sizeof(*d));
}
