/* bench_values.c - the arithmetic of bench_model.h: cells of the knob
 * grid, a run's value of a metric, and the log values of an arm. */
#define _GNU_SOURCE
#include "bench/bench_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum rss_source bench_rss_source(const struct bench_session *s)
{
	for (size_t i = 0; i < s->n_runs; i++)
		if (s->runs[i].block != BENCH_BLOCK_WARMUP && s->runs[i].rss_kib)
			return s->runs[i].rss_source;
	return RSS_WAIT4;
}

size_t bench_n_cells(const struct bench_session *s)
{
	size_t n = 1;

	for (size_t k = 0; k < s->n_knobs; k++)
		n *= s->knobs[k].n_values;
	return n;
}

size_t bench_n_arms(const struct bench_session *s)
{
	return s->n_variants * bench_n_cells(s);
}

/* Weight of knob k in the mixed-radix cell index: the product of the
 * sizes of the knobs after it (the first knob varies slowest). */
static size_t knob_stride(const struct bench_session *s, size_t knob)
{
	size_t stride = 1;

	for (size_t k = knob + 1; k < s->n_knobs; k++)
		stride *= s->knobs[k].n_values;
	return stride;
}

size_t bench_cell_level(const struct bench_session *s, size_t cell, size_t knob)
{
	return (cell / knob_stride(s, knob)) % s->knobs[knob].n_values;
}

size_t bench_cell_with(const struct bench_session *s, size_t cell, size_t knob, size_t level)
{
	size_t stride = knob_stride(s, knob);
	size_t old = bench_cell_level(s, cell, knob);

	return cell - old * stride + level * stride;
}

char *bench_cell_label(const struct bench_session *s, size_t cell)
{
	char *label = xstrdup("");

	for (size_t k = 0; k < s->n_knobs; k++) {
		char *next = xasprintf("%s%s%s=%s", label, k ? "," : "", s->knobs[k].key,
		                       s->knobs[k].values[bench_cell_level(s, cell, k)]);
		free(label);
		label = next;
	}
	return label;
}

double bench_run_metric(const struct bench_run *r, enum bench_metric m)
{
	switch (m) {
	case METRIC_WALL: return r->wall_s;
	case METRIC_CPU: return r->cpu_s;
	case METRIC_INSTRUCTIONS:
		if (r->has_ir)
			return (double)r->ir;
		if (r->counters.valid & (1u << CTR_INSTRUCTIONS))
			return (double)r->counters.value[CTR_INSTRUCTIONS];
		if (r->has_sim)
			return (double)r->sim.v[SIM_IR];
		return NAN;
	case METRIC_EST_CYCLES: return r->has_sim ? sim_estimated_cycles(&r->sim) : NAN;
	case METRIC_RSS: return r->rss_kib ? (double)r->rss_kib : NAN;
	default: break;
	}
	return NAN;
}

double bench_value(const struct bench_run *r, size_t b, enum bench_metric m)
{
	if ((unsigned)m < METRIC_BUILTIN_COUNT)
		return r->bench == b ? bench_run_metric(r, m) : NAN;
	for (size_t i = 0; i < r->n_reported; i++)
		if (r->reported[i].bench == b && r->reported[i].metric == m)
			return r->reported[i].value;
	return NAN;
}

bool bench_has_metric(const struct bench_session *s, size_t b, enum bench_metric m)
{
	size_t measured = 0;

	for (size_t i = 0; i < s->n_runs; i++) {
		double v;

		if (s->runs[i].block == BENCH_BLOCK_WARMUP || !bench_run_covers(s, &s->runs[i], b))
			continue;
		v = bench_value(&s->runs[i], b, m);
		if (!isfinite(v) || v <= 0)
			return false;
		measured++;
	}
	return measured > 0;
}

size_t bench_arm_logs(const struct bench_session *s, size_t b, size_t v, size_t cell,
                      enum bench_metric m, bool badness, double *out)
{
	double sign = badness && bench_metric_direction(s, m) == DIRECTION_HIGHER ? -1.0 : 1.0;
	size_t n = 0;

	for (size_t i = 0; i < s->n_runs; i++) {
		const struct bench_run *r = &s->runs[i];
		double x;

		if (r->block == BENCH_BLOCK_WARMUP || r->variant != v || r->cell != cell ||
		    !bench_run_covers(s, r, b))
			continue;
		x = bench_value(r, b, m);
		if (isfinite(x) && x > 0)
			out[n++] = sign * log(x);
	}
	return n;
}
