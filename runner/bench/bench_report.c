/* bench_report.c - see bench_report.h */
#define _GNU_SOURCE
#include "bench/bench_report.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/strbuf.h"
#include "bench/bench_alarm.h"

void bench_format_value(const struct bench_session *s, double v, enum bench_metric m, char *buf,
                        size_t len)
{
	bench_format_metric_value(v, bench_metric_name(s, m), bench_metric_unit(s, m), buf, len);
}

void bench_format_metric_value(double v, const char *metric, const char *unit, char *buf,
                               size_t len)
{
	int m = metric ? bench_builtin_metric(metric) : -1;

	if (!isfinite(v))
		snprintf(buf, len, "n/a");
	else if (m < 0)
		snprintf(buf, len, unit && *unit ? "%.4g %s" : "%.4g", v, unit ? unit : "");
	else if (m == METRIC_RSS) /* KiB */
		snprintf(buf, len,
		         v >= 1048576.0 ? "%.2f GiB"
		         : v >= 1024.0  ? "%.1f MiB"
		                        : "%.0f KiB",
		         v >= 1048576.0 ? v / 1048576.0
		         : v >= 1024.0  ? v / 1024.0
		                        : v);
	else if (m == METRIC_INSTRUCTIONS || m == METRIC_EST_CYCLES)
		snprintf(buf, len,
		         v >= 1e9   ? "%.3f G"
		         : v >= 1e6 ? "%.3f M"
		                    : "%.0f",
		         v >= 1e9   ? v / 1e9
		         : v >= 1e6 ? v / 1e6
		                    : v);
	else if (v >= 1.0)
		snprintf(buf, len, "%.3f s", v);
	else if (v >= 1e-3)
		snprintf(buf, len, "%.2f ms", v * 1e3);
	else
		snprintf(buf, len, "%.1f us", v * 1e6);
}

char *bench_xml_escape(const char *text)
{
	struct strbuf b = {0};

	strbuf_xml(&b, text);
	return strbuf_take(&b);
}

/* ---- JSON ------------------------------------------------------------------- */

json_t *bench_result_json(const struct bench_session *s, const struct bench_analysis *a,
                          json_t *extra)
{
	json_t *doc = json_object();
	const char *key;
	json_t *v;

	json_object_set_new(doc, "schema", json_string(BENCH_SCHEMA));
	json_object_set_new(doc, "schema_version", json_integer(BENCH_SCHEMA_VERSION));
	json_object_set_new(doc, "tool",
	                    json_pack("{s:s, s:s, s:s}", "name", "pgo-sandbox", "version",
	                              PGO_VERSION, "commit", PGO_COMMIT));
	json_object_set_new(doc, "created_unix", json_integer((json_int_t)time(NULL)));
	bench_session_to_json(s, doc);
	if (json_object_get(doc, "conditions") == NULL)
		json_object_set_new(doc, "conditions", json_object());
	json_object_set_new(doc, "analysis", bench_analysis_to_json(s, a));
	/* the model (est-cycles) and the clock (wall) contradicting each other */
	json_object_set_new(json_object_get(doc, "analysis"), "model_clock_alarms",
	                    bench_alarms_json(s, a));
	if (extra)
		json_object_foreach(extra, key, v) json_object_set(doc, key, v);
	return doc;
}

/* ---- lookups ---------------------------------------------------------------- */

static const struct bench_summary *find_summary(const struct bench_analysis *a, size_t b, size_t v,
                                                size_t c, enum bench_metric m)
{
	for (size_t i = 0; i < a->n_sum; i++)
		if (a->sum[i].bench == b && a->sum[i].variant == v && a->sum[i].cell == c &&
		    a->sum[i].metric == m)
			return &a->sum[i];
	return NULL;
}

static const struct bench_cmp *find_cmp(const struct bench_analysis *a, size_t b, size_t v,
                                        size_t c, enum bench_metric m)
{
	for (size_t i = 0; i < a->n_cmp; i++)
		if (a->cmp[i].bench == b && a->cmp[i].cand == v && a->cmp[i].cell == c &&
		    a->cmp[i].metric == m)
			return &a->cmp[i];
	return NULL;
}

static char *row_label(const struct bench_session *s, size_t b, size_t c)
{
	char *cell = bench_cell_label(s, c);
	char *label = cell[0] ? xasprintf("%s [%s]", s->benchmarks[b].name, cell)
	                      : xstrdup(s->benchmarks[b].name);

	free(cell);
	return label;
}

static const char *gate_sentence(const struct bench_session *s, const struct bench_analysis *a)
{
	switch (a->gate.status) {
	case GATE_OFF: return "no gate requested";
	case GATE_PASS: return "gate passed";
	case GATE_FAIL: return "gate FAILED: regression";
	case GATE_INCONCLUSIVE:
		return a->gate.undecidable ? "gate FAILED: inconclusive (no finite interval)"
		                           : "gate FAILED: inconclusive (--strict)";
	case GATE_NOISY:
		(void)s;
		return "NOISY MACHINE: the A/A control differs; verdicts are only warnings";
	}
	return "";
}

/* ---- Markdown ----------------------------------------------------------------- */

static void md_row(struct strbuf *b, const struct bench_session *s, const struct bench_analysis *a,
                   size_t bi, size_t c, size_t v, enum bench_metric m)
{
	const struct bench_summary *sm = find_summary(a, bi, v, c, m);
	const struct bench_cmp *k = v ? find_cmp(a, bi, v, c, m) : NULL;
	char med[32], mean[32], *label = row_label(s, bi, c);

	if (sm == NULL) {
		free(label);
		return;
	}
	bench_format_value(s, sm->d.median, m, med, sizeof(med));
	bench_format_value(s, sm->d.mean, m, mean, sizeof(mean));
	strbuf_printf(b, "| %s | %s%s%s | %s | %s | %.2f %% | %zu | %zu | ", label,
	              v == 0 ? "**" : "", s->variants[v].name, v == 0 ? "** (baseline)" : "", mean,
	              med, 100.0 * sm->d.cv, sm->d.n, sm->outliers);
	if (k && k->c.n > 0 && isfinite(k->c.pct))
		strbuf_printf(
		    b, "%+.2f %% [%+.2f, %+.2f] | %.3fx | %s%s%s |\n", k->c.pct, k->c.pct_lo,
		    k->c.pct_hi, exp(k->c.hl), k->c.verdict == VERDICT_SLOWER ? "**" : "",
		    bench_verdict_words(s, m, &k->c), k->c.verdict == VERDICT_SLOWER ? "**" : "");
	else
		strbuf_printf(b, "%s | | %s |\n", v ? "n/a" : "", v ? "inconclusive" : "");
	free(label);
}

static void md_matrix(struct strbuf *b, const struct bench_session *s,
                      const struct bench_analysis *a)
{
	if (a->n_eff == 0)
		return;
	strbuf_printf(b,
	              "\n#### Knob effects (%s)\n\n| benchmark | variant | knob | vs | effect "
	              "(95 %% CI) | verdict |\n|---|---|---|---|---|---|\n",
	              bench_metric_name(s, s->set.metric));
	for (size_t i = 0; i < a->n_eff; i++) {
		const struct bench_effect *e = &a->eff[i];

		if (e->metric != s->set.metric)
			continue;
		strbuf_printf(b, "| %s | %s | %s=%s | %s | %+.2f %% [%+.2f, %+.2f] | %s |\n",
		              s->benchmarks[e->bench].name, s->variants[e->variant].name,
		              s->knobs[e->knob].key, s->knobs[e->knob].values[e->level],
		              s->knobs[e->knob].values[0], e->c.pct, e->c.pct_lo, e->c.pct_hi,
		              bench_verdict_words(s, e->metric, &e->c));
	}
	if (a->n_inter == 0)
		return;
	strbuf_printf(
	    b, "\n#### Interactions\n\n| benchmark | variant | knobs | I = ln t11 - ln t10 - "
	       "ln t01 + ln t00 (95 %% CI) | class |\n|---|---|---|---|---|\n");
	for (size_t i = 0; i < a->n_inter; i++) {
		const struct bench_inter *x = &a->inter[i];

		if (x->metric != s->set.metric)
			continue;
		if (x->ok)
			strbuf_printf(
			    b, "| %s | %s | %s=%s x %s=%s | %+.2f %% [%+.2f, %+.2f] | %s |\n",
			    s->benchmarks[x->bench].name, s->variants[x->variant].name,
			    s->knobs[x->knob_a].key, s->knobs[x->knob_a].values[x->level_a],
			    s->knobs[x->knob_b].key, s->knobs[x->knob_b].values[x->level_b],
			    x->it.pct, x->it.pct_lo, x->it.pct_hi, interaction_name(x->it.cls));
		else
			strbuf_printf(b, "| %s | %s | %s x %s | too few blocks | unclear |\n",
			              s->benchmarks[x->bench].name, s->variants[x->variant].name,
			              s->knobs[x->knob_a].key, s->knobs[x->knob_b].key);
	}
}

static void md_table(struct strbuf *b, const struct bench_session *s,
                     const struct bench_analysis *a, enum bench_metric m)
{
	size_t n_cells = bench_n_cells(s);

	strbuf_printf(
	    b, "| benchmark | variant | mean | median | CV | runs | outliers | vs baseline "
	       "(95 %% CI) | ratio | verdict |\n|---|---|---:|---:|---:|---:|---:|---|---:|---|"
	       "\n");
	for (size_t bi = 0; bi < s->n_benchmarks; bi++)
		for (size_t c = 0; c < n_cells; c++)
			for (size_t v = 0; v < s->n_variants; v++)
				md_row(b, s, a, bi, c, v, m);
}

/* Throughput and memory together (an allocator shoot-out): a table of the
 * runs' peak memory follows the gate metric's when they have one. */
static void md_memory(struct strbuf *b, const struct bench_session *s,
                      const struct bench_analysis *a)
{
	if (!a->available[METRIC_RSS] || s->set.metric == METRIC_RSS)
		return;
	strbuf_printf(b, "\nPeak memory: **rss** from %s (lower is better).\n\n",
	              rss_source_name(bench_rss_source(s)));
	md_table(b, s, a, METRIC_RSS);
}

char *bench_markdown(const struct bench_session *s, const struct bench_analysis *a)
{
	struct strbuf b = {0};
	json_t *cpus = s->conditions ? json_object_get(s->conditions, "cpus") : NULL;

	strbuf_printf(&b, "### pgo-sandbox bench: %s\n\n", gate_sentence(s, a));
	strbuf_printf(&b, "Metric **%s**%s%s (%s is better).\n\n",
	              bench_metric_name(s, s->set.metric),
	              s->set.metric == METRIC_RSS ? ", peak memory from " : "",
	              s->set.metric == METRIC_RSS ? rss_source_name(bench_rss_source(s)) : "",
	              direction_name(bench_metric_direction(s, s->set.metric)));
	md_table(&b, s, a, s->set.metric);
	md_memory(&b, s, a);
	md_matrix(&b, s, a);
	bench_alarms_text(&b, "\n> **Alarm:** ", s, a);
	if (a->gate.n_reasons) {
		strbuf_printf(&b, "\n");
		for (size_t i = 0; i < a->gate.n_reasons; i++)
			strbuf_printf(&b, "- %s\n", a->gate.reasons[i]);
	}
	strbuf_printf(&b,
	              "\nMetric %s; threshold %.2g %%; Hodges-Lehmann estimate of ln(B/A) from "
	              "every run (two drift-free values per block) or per-block means "
	              "(comparisons[].method) with the exact Wilcoxon signed-rank interval; "
	              "Holm-corrected; "
	              "CPUs %s; ASLR %s; seed %llu.\n",
	              bench_metric_name(s, s->set.metric), 100.0 * s->set.threshold,
	              json_is_string(cpus) ? json_string_value(cpus) : "?",
	              s->set.randomize_layout ? "on, randomized environment pad"
	                                      : "off, fixed environment",
	              (unsigned long long)s->set.seed);
	return strbuf_take(&b);
}

/* ---- terminal ----------------------------------------------------------------- */

static const char *color_of(const struct comparison *c, bool color)
{
	if (!color)
		return "";
	switch (c->verdict) {
	case VERDICT_SLOWER: return "\033[1;31m";
	case VERDICT_FASTER: return "\033[1;32m";
	case VERDICT_INCONCLUSIVE: return "\033[33m";
	case VERDICT_NO_CHANGE: return "";
	}
	return "";
}

static void print_variant(FILE *out, const struct bench_session *s, const struct bench_analysis *a,
                          size_t bi, size_t c, size_t v, enum bench_metric m, bool color)
{
	const struct bench_summary *sm = find_summary(a, bi, v, c, m);
	const struct bench_cmp *k = v ? find_cmp(a, bi, v, c, m) : NULL;
	const char *reset = color ? "\033[0m" : "";
	char mean[32], med[32], mn[32], mx[32];

	if (sm == NULL)
		return;
	bench_format_value(s, sm->d.mean, m, mean, sizeof(mean));
	bench_format_value(s, sm->d.median, m, med, sizeof(med));
	bench_format_value(s, sm->d.min, m, mn, sizeof(mn));
	bench_format_value(s, sm->d.max, m, mx, sizeof(mx));
	fprintf(out, "  %-16s n %-3zu mean %-11s median %-11s CV %5.2f %%  min %-11s max %-11s",
	        s->variants[v].name, sm->d.n, mean, med, 100.0 * sm->d.cv, mn, mx);
	if (sm->outliers)
		fprintf(out, "  (%zu outliers flagged)", sm->outliers);
	fputc('\n', out);
	if (k && k->c.n > 0 && isfinite(k->c.pct))
		fprintf(out, "  %-16s %+.2f %% [%+.2f, %+.2f]  ratio %.3f [%.3f, %.3f]  %s%s%s\n",
		        "", k->c.pct, k->c.pct_lo, k->c.pct_hi, exp(k->c.hl), exp(k->c.lo),
		        exp(k->c.hi), color_of(&k->c, color), bench_verdict_words(s, m, &k->c),
		        reset);
	else if (k)
		fprintf(out, "  %-16s not enough blocks for an interval\n", "");
}

/* Per benchmark, cell and metric (the gate's first): n, mean, median, CV,
 * min, max of every variant, each candidate's change against the baseline
 * under it. */
static void print_alarms(FILE *out, const struct bench_session *s, const struct bench_analysis *a)
{
	struct strbuf b = {0};

	bench_alarms_text(&b, "", s, a);
	if (b.s)
		fputs(b.s, out);
	free(b.s);
}

void bench_print_summary(FILE *out, const struct bench_session *s, const struct bench_analysis *a,
                         bool color)
{
	enum bench_metric m = s->set.metric;
	size_t n_cells = bench_n_cells(s);

	for (size_t bi = 0; bi < s->n_benchmarks; bi++) {
		bool any = false;

		for (size_t k = 0; k < bench_n_metrics(s); k++)
			any |= a->avail[bi * METRIC_COUNT + k];
		/* a benchmark some variants' processes did not report has nothing
		 * to pair with: say so rather than leave it out silently */
		if (!any && !bench_is_scheduled(s, bi))
			fprintf(out, "%s: reported by only some variants; not compared\n",
			        s->benchmarks[bi].name);
		for (size_t c = 0; c < n_cells; c++) {
			char *label = row_label(s, bi, c);

			for (size_t k = 0; k <= bench_n_metrics(s); k++) {
				/* k == 0: the gate metric, then the others */
				enum bench_metric mm = k == 0 ? m : (enum bench_metric)(k - 1);

				if ((k > 0 && mm == m) || !a->avail[bi * METRIC_COUNT + mm])
					continue;
				fprintf(out, "%s (%s%s%s%s, %s is better, %zu blocks)\n", label,
				        bench_metric_name(s, mm), mm == METRIC_RSS ? " from " : "",
				        mm == METRIC_RSS ? rss_source_name(bench_rss_source(s))
				                         : "",
				        mm == m ? ", the gate's" : "",
				        direction_name(bench_metric_direction(s, mm)),
				        s->blocks_done[bi]);
				for (size_t v = 0; v < s->n_variants; v++)
					print_variant(out, s, a, bi, c, v, mm, color);
			}
			free(label);
		}
	}
	for (size_t i = 0; i < a->n_inter; i++) {
		const struct bench_inter *x = &a->inter[i];

		if (x->metric != m || !x->ok)
			continue;
		fprintf(out, "interaction %s x %s (%s, %s): %+.2f %% [%+.2f, %+.2f] %s\n",
		        s->knobs[x->knob_a].key, s->knobs[x->knob_b].key,
		        s->benchmarks[x->bench].name, s->variants[x->variant].name, x->it.pct,
		        x->it.pct_lo, x->it.pct_hi, interaction_name(x->it.cls));
	}
	for (size_t i = 0; i < a->gate.n_reasons; i++)
		fprintf(out, "%s\n", a->gate.reasons[i]);
	print_alarms(out, s, a);
	fprintf(out, "%s\n", gate_sentence(s, a));
}

/* ---- SVG ------------------------------------------------------------------------ */

#define SVG_W 960
#define SVG_LEFT 300
#define SVG_RIGHT 150
#define SVG_TOP 56
#define SVG_LINE 22
#define SVG_GAP 16

struct svg_scale {
	double lo, hi; /* percent relative to the baseline median */
};

static double svg_x(const struct svg_scale *sc, double pct)
{
	return SVG_LEFT + (pct - sc->lo) / (sc->hi - sc->lo) * (SVG_W - SVG_LEFT - SVG_RIGHT);
}

static double rel_pct(double v, double base_median)
{
	return 100.0 * (v / base_median - 1.0);
}

static void widen(struct svg_scale *sc, double pct)
{
	if (!isfinite(pct))
		return;
	if (pct < sc->lo)
		sc->lo = pct;
	if (pct > sc->hi)
		sc->hi = pct;
}

static struct svg_scale svg_range(const struct bench_session *s, const struct bench_analysis *a)
{
	enum bench_metric m = s->set.metric;
	struct svg_scale sc = {-100.0 * s->set.threshold, 100.0 * s->set.threshold};

	for (size_t i = 0; i < s->n_runs; i++) {
		const struct bench_run *r = &s->runs[i];

		for (size_t b = 0; b < s->n_benchmarks; b++) {
			const struct bench_summary *base = find_summary(a, b, 0, r->cell, m);

			if (r->block != BENCH_BLOCK_WARMUP && base && bench_run_covers(s, r, b))
				widen(&sc, rel_pct(bench_value(r, b, m), base->d.median));
		}
	}
	for (size_t i = 0; i < a->n_cmp; i++) {
		if (a->cmp[i].metric != m)
			continue;
		widen(&sc, a->cmp[i].c.pct_lo);
		widen(&sc, a->cmp[i].c.pct_hi);
	}
	double pad = 0.08 * (sc.hi - sc.lo);
	sc.lo -= pad;
	sc.hi += pad;
	return sc;
}

static double nice_step(double span)
{
	double raw = span / 8.0, mag = pow(10.0, floor(log10(raw)));
	double f = raw / mag;

	return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

static void svg_axis(struct strbuf *b, const struct svg_scale *sc, double bottom, double delta)
{
	double step = nice_step(sc->hi - sc->lo);

	strbuf_printf(
	    b, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%.1f\" fill=\"#eef3ee\"/>\n",
	    svg_x(sc, -delta), SVG_TOP - 8, svg_x(sc, delta) - svg_x(sc, -delta),
	    bottom - SVG_TOP + 8);
	for (double t = ceil(sc->lo / step) * step; t <= sc->hi; t += step) {
		double x = svg_x(sc, t);

		strbuf_printf(
		    b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", x,
		    SVG_TOP - 8, x, bottom, fabs(t) < step / 2 ? "#555" : "#ddd");
		strbuf_printf(b,
		              "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">"
		              "%+.3g %%</text>\n",
		              x, bottom + 14, fabs(t) < step / 2 ? 0.0 : t);
	}
}

static void svg_points(struct strbuf *b, const struct bench_session *s, const struct svg_scale *sc,
                       size_t bi, size_t v, size_t c, double base_median, double y)
{
	enum bench_metric m = s->set.metric;
	size_t k = 0;

	for (size_t i = 0; i < s->n_runs; i++) {
		const struct bench_run *r = &s->runs[i];
		double jitter;

		if (r->block == BENCH_BLOCK_WARMUP || !bench_run_covers(s, r, bi) ||
		    r->variant != v || r->cell != c)
			continue;
		jitter = ((double)(k++ % 7) - 3.0) * 1.4;
		strbuf_printf(
		    b,
		    "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.6\" fill=\"%s\" "
		    "fill-opacity=\"0.45\"%s/>\n",
		    svg_x(sc, rel_pct(bench_value(r, bi, m), base_median)), y + jitter,
		    v == 0                                   ? "#1f5fbf"
		    : s->variants[v].role == ROLE_AA_CONTROL ? "#888888"
		                                             : "#c0392b",
		    r->bench == bi && r->outlier[m] ? " stroke=\"#000\" stroke-width=\"0.8\"" : "");
	}
}

static void svg_variant(struct strbuf *b, const struct bench_session *s,
                        const struct bench_analysis *a, const struct svg_scale *sc, size_t bi,
                        size_t v, size_t c, double base_median, double y)
{
	enum bench_metric m = s->set.metric;
	const struct bench_summary *sm = find_summary(a, bi, v, c, m);
	const struct bench_cmp *k = v ? find_cmp(a, bi, v, c, m) : NULL;
	char *name = bench_xml_escape(s->variants[v].name);
	double xm;

	if (sm == NULL) {
		free(name);
		return;
	}
	strbuf_printf(
	    b, "<text x=\"%d\" y=\"%.1f\" font-size=\"12\" text-anchor=\"end\"%s>%s%s</text>\n",
	    SVG_LEFT - 10, y + 4, v == 0 ? " font-weight=\"bold\"" : "", name,
	    v == 0 ? " (baseline)" : "");
	free(name);
	svg_points(b, s, sc, bi, v, c, base_median, y);
	xm = svg_x(sc, rel_pct(sm->d.median, base_median));
	strbuf_printf(b,
	              "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\" "
	              "stroke-width=\"2\"><title>median</title></line>\n",
	              xm, y - 8, xm, y + 8);
	if (k && k->c.n > 0 && isfinite(k->c.pct_lo) && isfinite(k->c.pct_hi)) {
		strbuf_printf(
		    b,
		    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\" "
		    "stroke-width=\"3\" stroke-opacity=\"0.7\"><title>95 %% interval "
		    "%+.2f %% .. %+.2f %%</title></line>\n",
		    svg_x(sc, k->c.pct_lo), y + 10, svg_x(sc, k->c.pct_hi), y + 10, k->c.pct_lo,
		    k->c.pct_hi);
		strbuf_printf(b, "<text x=\"%d\" y=\"%.1f\" font-size=\"12\">%+.2f %% %s</text>\n",
		              SVG_W - SVG_RIGHT + 8, y + 4, k->c.pct,
		              bench_verdict_words(s, m, &k->c));
	}
}

char *bench_svg(const struct bench_session *s, const struct bench_analysis *a)
{
	struct strbuf b = {0};
	size_t n_cells = bench_n_cells(s), rows = s->n_benchmarks * n_cells;
	struct svg_scale sc = svg_range(s, a);
	double height = SVG_TOP + (double)rows * ((double)s->n_variants * SVG_LINE + SVG_GAP) + 40;
	double y = SVG_TOP, bottom = height - 30;
	char title[160];

	snprintf(title, sizeof(title),
	         "pgo-sandbox bench: %s (%s is better) relative to the baseline median (%s)",
	         bench_metric_name(s, s->set.metric),
	         direction_name(bench_metric_direction(s, s->set.metric)), gate_sentence(s, a));
	strbuf_printf(&b,
	              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	              "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" "
	              "viewBox=\"0 0 %d %.0f\" font-family=\"sans-serif\">\n"
	              "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n",
	              SVG_W, height, SVG_W, height);
	{
		char *t = bench_xml_escape(title);
		strbuf_printf(
		    &b,
		    "<text x=\"10\" y=\"22\" font-size=\"14\" font-weight=\"bold\">%s</text>\n"
		    "<text x=\"10\" y=\"40\" font-size=\"11\">points: runs; black tick: "
		    "median; grey bar: 95 %% interval of the change; shaded: "
		    "+/- threshold</text>\n",
		    t);
		free(t);
	}
	svg_axis(&b, &sc, bottom, 100.0 * s->set.threshold);
	for (size_t bi = 0; bi < s->n_benchmarks; bi++) {
		for (size_t c = 0; c < n_cells; c++) {
			const struct bench_summary *base = find_summary(a, bi, 0, c, s->set.metric);
			char *label = row_label(s, bi, c), *esc = bench_xml_escape(label);

			strbuf_printf(&b,
			              "<text x=\"10\" y=\"%.1f\" font-size=\"12\" "
			              "font-weight=\"bold\">%s</text>\n",
			              y + 4, esc);
			free(label);
			free(esc);
			for (size_t v = 0; v < s->n_variants; v++) {
				if (base)
					svg_variant(&b, s, a, &sc, bi, v, c, base->d.median, y);
				y += SVG_LINE;
			}
			y += SVG_GAP;
		}
	}
	strbuf_printf(&b, "</svg>\n");
	return strbuf_take(&b);
}
