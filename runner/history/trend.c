/* trend.c - see trend.h */
#define _GNU_SOURCE
#include "history/trend.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/util.h"

#define W 960.0
#define H 440.0
#define LEFT 90.0
#define RIGHT 20.0
#define TOP 40.0
#define BOTTOM 120.0

static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                      "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
#define N_COLOURS (sizeof(colours) / sizeof(colours[0]))

struct frame {
	double lo, hi;
	size_t n;
};

static double x_of(const struct frame *f, double i)
{
	return LEFT + (W - LEFT - RIGHT) * (i + 0.5) / (double)(f->n ? f->n : 1);
}

static double y_of(const struct frame *f, double v)
{
	return TOP + (H - TOP - BOTTOM) * (f->hi - v) / (f->hi - f->lo);
}

static void frame_of(const struct trend_chart *c, struct frame *f)
{
	f->lo = INFINITY;
	f->hi = -INFINITY;
	f->n = c->n_commits;
	for (size_t s = 0; s < c->n_series; s++)
		for (size_t i = 0; i < c->n_commits; i++) {
			const struct trend_point *p = &c->series[s].points[i];

			if (isnan(p->median))
				continue;
			f->lo = fmin(f->lo, p->min);
			f->hi = fmax(f->hi, p->max);
		}
	if (!isfinite(f->lo)) {
		f->lo = 0;
		f->hi = 1;
	}
	if (f->hi - f->lo < 1e-12 * fabs(f->hi) || f->hi == f->lo) {
		f->lo -= fabs(f->lo) * 0.01 + 1e-12;
		f->hi += fabs(f->hi) * 0.01 + 1e-12;
	}
	double pad = (f->hi - f->lo) * 0.08;
	f->lo -= pad;
	f->hi += pad;
}

static void axes(struct strbuf *b, const struct trend_chart *c, const struct frame *f)
{
	strbuf_printf(
	    b, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' stroke='#999'/>\n",
	    LEFT, TOP, W - LEFT - RIGHT, H - TOP - BOTTOM);
	for (int k = 0; k <= 4; k++) {
		double v = f->lo + (f->hi - f->lo) * k / 4.0;

		strbuf_printf(
		    b,
		    "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='#eee'/>"
		    "<text x='%.1f' y='%.1f' text-anchor='end' font-size='11'>%.4g</text>\n",
		    LEFT, W - RIGHT, y_of(f, v), y_of(f, v), LEFT - 6, y_of(f, v) + 4, v);
	}
	for (size_t i = 0; i < c->n_commits; i++) {
		double x = x_of(f, (double)i);

		strbuf_printf(b,
		              "<text transform='translate(%.1f,%.1f) rotate(-60)' text-anchor='end'"
		              " font-size='10' font-family='monospace'>",
		              x + 3, H - BOTTOM + 12);
		char label[11];

		snprintf(label, sizeof(label), "%s", c->commits[i]);
		strbuf_xml(b, label);
		strbuf_printf(b, "</text>\n");
	}
	strbuf_printf(b, "<text x='%.1f' y='24' font-size='15' font-weight='bold'>", LEFT);
	strbuf_xml(b, c->title);
	strbuf_printf(
	    b,
	    "</text>\n<text transform='translate(16,%.1f) rotate(-90)' text-anchor='middle'"
	    " font-size='12'>",
	    (TOP + H - BOTTOM) / 2);
	strbuf_xml(b, c->unit ? c->unit : "value");
	strbuf_printf(b, " (median, band: min to max)</text>\n");
}

static void band(struct strbuf *b, const struct trend_series *s, const struct frame *f,
                 const char *colour)
{
	strbuf_printf(b, "<polygon fill='%s' fill-opacity='0.15' stroke='none' points='", colour);
	for (size_t i = 0; i < f->n; i++)
		if (!isnan(s->points[i].median))
			strbuf_printf(b, "%.1f,%.1f ", x_of(f, (double)i),
			              y_of(f, s->points[i].max));
	for (size_t i = f->n; i-- > 0;)
		if (!isnan(s->points[i].median))
			strbuf_printf(b, "%.1f,%.1f ", x_of(f, (double)i),
			              y_of(f, s->points[i].min));
	strbuf_printf(b, "'/>\n<polyline fill='none' stroke='%s' stroke-width='2' points='",
	              colour);
	for (size_t i = 0; i < f->n; i++)
		if (!isnan(s->points[i].median))
			strbuf_printf(b, "%.1f,%.1f ", x_of(f, (double)i),
			              y_of(f, s->points[i].median));
	strbuf_printf(b, "'/>\n");
}

static void dots(struct strbuf *b, const struct trend_chart *c, const struct trend_series *s,
                 const struct frame *f, const char *colour)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct trend_point *p = &s->points[i];

		if (isnan(p->median))
			continue;
		strbuf_printf(b, "<circle cx='%.1f' cy='%.1f' r='3.5' fill='%s'><title>",
		              x_of(f, (double)i), y_of(f, p->median), colour);
		strbuf_xml(b, s->variant);
		strbuf_printf(b, " at ");
		strbuf_xml(b, c->commits[i]);
		strbuf_printf(b, ": median %.6g, min %.6g, max %.6g</title></circle>\n", p->median,
		              p->min, p->max);
	}
}

static void step_marks(struct strbuf *b, const struct trend_series *s, const struct frame *f,
                       const char *colour, size_t row)
{
	for (size_t k = 0; k < s->n_steps; k++) {
		const struct step *st = &s->steps[k];
		double x = x_of(f, (double)st->index - 0.5);

		strbuf_printf(
		    b,
		    "<line class='step' x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='%s'"
		    " stroke-width='1.5' stroke-dasharray='5,4'/>"
		    "<text x='%.1f' y='%.1f' font-size='11' fill='%s'>step %+.1f %% [%+.1f, %+.1f]"
		    "</text>\n",
		    x, x, TOP, H - BOTTOM, colour, x + 4, TOP + 14 + 14.0 * (double)row, colour,
		    st->pct, st->pct_lo, st->pct_hi);
	}
}

static void legend(struct strbuf *b, const struct trend_chart *c)
{
	for (size_t s = 0; s < c->n_series; s++) {
		double x = W - RIGHT - 150, y = 14 + 14.0 * (double)s;

		strbuf_printf(b,
		              "<rect x='%.1f' y='%.1f' width='12' height='4' fill='%s'/>"
		              "<text x='%.1f' y='%.1f' font-size='11'>",
		              x, y, colours[s % N_COLOURS], x + 16, y + 5);
		strbuf_xml(b, c->series[s].variant);
		strbuf_printf(b, "</text>\n");
	}
}

char *trend_svg(const struct trend_chart *c)
{
	struct strbuf b = {0};
	struct frame f;

	frame_of(c, &f);
	strbuf_printf(&b,
	              "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f'"
	              " viewBox='0 0 %.0f %.0f' font-family='sans-serif'>\n"
	              "<rect width='100%%' height='100%%' fill='white'/>\n",
	              W, H, W, H);
	axes(&b, c, &f);
	for (size_t s = 0; s < c->n_series; s++)
		band(&b, &c->series[s], &f, colours[s % N_COLOURS]);
	for (size_t s = 0; s < c->n_series; s++) {
		dots(&b, c, &c->series[s], &f, colours[s % N_COLOURS]);
		step_marks(&b, &c->series[s], &f, colours[s % N_COLOURS], s);
	}
	legend(&b, c);
	strbuf_printf(&b, "</svg>\n");
	return strbuf_take(&b);
}

/* The commit before `at` where the series has a point. */
static size_t previous(const struct trend_series *s, size_t at)
{
	while (at > 1 && isnan(s->points[at - 1].median))
		at--;
	return at > 0 ? at - 1 : 0;
}

static void steps_table(struct strbuf *b, const struct trend_chart *c)
{
	size_t total = 0;

	for (size_t s = 0; s < c->n_series; s++)
		total += c->series[s].n_steps;
	if (total == 0) {
		strbuf_printf(b, "<p>No step detected.</p>\n");
		return;
	}
	strbuf_printf(b, "<table><tr><th>variant</th><th>before</th><th>after</th><th>size</th>"
	                 "<th>95 %% interval</th></tr>\n");
	for (size_t s = 0; s < c->n_series; s++)
		for (size_t k = 0; k < c->series[s].n_steps; k++) {
			const struct step *st = &c->series[s].steps[k];

			strbuf_printf(b, "<tr><td>");
			strbuf_xml(b, c->series[s].variant);
			strbuf_printf(b, "</td><td><code>");
			strbuf_xml(b, c->commits[previous(&c->series[s], st->index)]);
			strbuf_printf(b, "</code></td><td><code>");
			strbuf_xml(b, c->commits[st->index]);
			strbuf_printf(
			    b, "</code></td><td>%+.2f %%</td><td>[%+.2f %%, %+.2f %%]</td></tr>\n",
			    st->pct, st->pct_lo, st->pct_hi);
		}
	strbuf_printf(b, "</table>\n");
}

char *trend_html(const struct trend_chart *c, const char *svg)
{
	struct strbuf b = {0};

	strbuf_printf(&b, "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>");
	strbuf_xml(&b, c->title);
	strbuf_printf(&b,
	              "</title>\n<style>body{font-family:sans-serif;margin:2em}"
	              "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}"
	              "</style></head>\n<body>\n<h1>");
	strbuf_xml(&b, c->title);
	strbuf_printf(&b, "</h1>\n");
	if (c->note) {
		strbuf_printf(&b, "<p>");
		strbuf_xml(&b, c->note);
		strbuf_printf(&b, "</p>\n");
	}
	strbuf_printf(&b, "%s", svg);
	strbuf_printf(&b, "<h2>Steps</h2>\n");
	steps_table(&b, c);
	strbuf_printf(
	    &b, "<p>Generated by <code>pgo-sandbox history trend</code>.</p>\n</body></html>\n");
	return strbuf_take(&b);
}
