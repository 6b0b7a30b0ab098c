/* bench_alarm.c - see bench_alarm.h. */
#include "bench/bench_alarm.h"

#include <math.h>

bool bench_model_clock_disagree(const struct comparison *model, const struct comparison *clock)
{
	if (!isfinite(model->pct_lo) || !isfinite(model->pct_hi) || !isfinite(clock->pct_lo) ||
	    !isfinite(clock->pct_hi))
		return false;
	if (model->verdict == clock->verdict)
		return false;
	return clock->pct_lo > model->pct_hi || clock->pct_hi < model->pct_lo;
}

/* The model's comparison of the pair `clock` judges (NULL: none). */
static const struct bench_cmp *model_of(const struct bench_analysis *a,
                                        const struct bench_cmp *clock)
{
	for (size_t i = 0; i < a->n_cmp; i++) {
		const struct bench_cmp *k = &a->cmp[i];

		if (k->metric == METRIC_EST_CYCLES && k->bench == clock->bench &&
		    k->cell == clock->cell && k->base == clock->base && k->cand == clock->cand)
			return k;
	}
	return NULL;
}

/* Calls `fn` on every disagreeing (model, clock) pair. */
static void each_alarm(const struct bench_analysis *a,
                       void (*fn)(const struct bench_cmp *model, const struct bench_cmp *clock,
                                  void *arg),
                       void *arg)
{
	for (size_t i = 0; i < a->n_cmp; i++) {
		const struct bench_cmp *clock = &a->cmp[i], *model;

		if (clock->metric != METRIC_WALL || clock->aa)
			continue;
		model = model_of(a, clock);
		if (model && bench_model_clock_disagree(&model->c, &clock->c))
			fn(model, clock, arg);
	}
}

static json_t *side_json(const struct bench_session *s, const struct bench_cmp *k)
{
	return json_pack("{s:s, s:f, s:f, s:f, s:s}", "metric", bench_metric_name(s, k->metric),
	                 "estimate_pct", k->c.pct, "ci_low_pct", k->c.pct_lo, "ci_high_pct",
	                 k->c.pct_hi, "verdict", verdict_name(k->c.verdict));
}

struct json_arg {
	const struct bench_session *s;
	json_t *out;
};

static void add_json(const struct bench_cmp *model, const struct bench_cmp *clock, void *arg)
{
	struct json_arg *j = arg;

	json_array_append_new(
	    j->out,
	    json_pack("{s:i, s:i, s:i, s:i, s:o, s:o, s:s}", "benchmark", (json_int_t)clock->bench,
	              "cell", (json_int_t)clock->cell, "baseline", (json_int_t)clock->base,
	              "candidate", (json_int_t)clock->cand, "model", side_json(j->s, model),
	              "clock", side_json(j->s, clock), "unmodelled", BENCH_ALARM_UNMODELLED));
}

json_t *bench_alarms_json(const struct bench_session *s, const struct bench_analysis *a)
{
	struct json_arg j = {s, json_array()};

	each_alarm(a, add_json, &j);
	return j.out;
}

struct text_arg {
	const struct bench_session *s;
	struct strbuf *b;
	const char *prefix;
};

static void add_text(const struct bench_cmp *model, const struct bench_cmp *clock, void *arg)
{
	struct text_arg *t = arg;

	strbuf_printf(
	    t->b,
	    "%smodel and clock disagree: %s, %s against %s: est-cycles %+.2f %% "
	    "[%+.2f, %+.2f] %s, wall %+.2f %% [%+.2f, %+.2f] %s; the model does not "
	    "simulate " BENCH_ALARM_UNMODELLED "\n",
	    t->prefix, t->s->benchmarks[clock->bench].name, t->s->variants[clock->cand].name,
	    t->s->variants[clock->base].name, model->c.pct, model->c.pct_lo, model->c.pct_hi,
	    bench_verdict_words(t->s, model->metric, &model->c), clock->c.pct, clock->c.pct_lo,
	    clock->c.pct_hi, bench_verdict_words(t->s, clock->metric, &clock->c));
}

void bench_alarms_text(struct strbuf *b, const char *prefix, const struct bench_session *s,
                       const struct bench_analysis *a)
{
	struct text_arg t = {s, b, prefix};

	each_alarm(a, add_text, &t);
}
