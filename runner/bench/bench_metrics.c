/* bench_metrics.c - the metric registry of bench_model.h: the built-in
 * metrics (wall, cpu, instructions, est-cycles, rss), the ones benchmarks
 * report (interned by name), their units and directions, and the gate's. */
#define _GNU_SOURCE
#include "bench/bench_model.h"

#include <stdlib.h>
#include <string.h>

#include "base/string_table.h"

static const char *const builtin_names[METRIC_BUILTIN_COUNT] = {"wall", "cpu", "instructions",
                                                                "est-cycles", "rss"};
static const char *const builtin_units[METRIC_BUILTIN_COUNT] = {"s", "s", "Ir",
                                                                "cycles (simulated)", "KiB"};
static const char *const direction_names[] = {
    [DIRECTION_LOWER] = "lower", [DIRECTION_HIGHER] = "higher"};

/* anything but "higher" reads as lower, the default */
DEFINE_STRING_TABLE_TO_NAME(direction_name, enum metric_direction, direction_names, "lower");
DEFINE_STRING_TABLE_FROM_NAME(direction_by_name, direction_names);

const char *bench_builtin_metric_name(enum bench_metric m)
{
	return (unsigned)m < METRIC_BUILTIN_COUNT ? builtin_names[m] : "unknown";
}

size_t bench_n_metrics(const struct bench_session *s)
{
	return METRIC_BUILTIN_COUNT + s->n_reported;
}

const struct bench_metric_def *bench_reported_def(const struct bench_session *s,
                                                  enum bench_metric m)
{
	size_t k = (size_t)m - METRIC_BUILTIN_COUNT;

	return (unsigned)m >= METRIC_BUILTIN_COUNT && k < s->n_reported ? &s->reported[k] : NULL;
}

const char *bench_metric_name(const struct bench_session *s, enum bench_metric m)
{
	const struct bench_metric_def *d = bench_reported_def(s, m);

	if ((unsigned)m < METRIC_BUILTIN_COUNT)
		return builtin_names[m];
	return d ? d->name : "unknown";
}

const char *bench_metric_unit(const struct bench_session *s, enum bench_metric m)
{
	const struct bench_metric_def *d = bench_reported_def(s, m);

	if ((unsigned)m < METRIC_BUILTIN_COUNT)
		return builtin_units[m];
	return d && d->unit ? d->unit : "";
}

enum metric_direction bench_metric_direction(const struct bench_session *s, enum bench_metric m)
{
	const struct bench_metric_def *d = bench_reported_def(s, m);

	return d ? d->direction : DIRECTION_LOWER;
}

bool bench_metric_is_count(enum bench_metric m)
{
	return m == METRIC_INSTRUCTIONS || m == METRIC_EST_CYCLES;
}

int bench_builtin_metric(const char *name)
{
	for (int i = 0; i < METRIC_BUILTIN_COUNT; i++)
		if (strcmp(builtin_names[i], name) == 0)
			return i;
	return -1;
}

int bench_metric_find(const struct bench_session *s, const char *name)
{
	int m = bench_builtin_metric(name);

	for (size_t k = 0; m < 0 && k < s->n_reported; k++)
		if (strcmp(s->reported[k].name, name) == 0)
			m = (int)(METRIC_BUILTIN_COUNT + k);
	return m;
}

/* --metric-direction NAME=higher|lower, -1 when not configured. */
static int configured_direction(const struct bench_settings *set, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < set->n_metric_directions; i++) {
		const char *d = set->metric_directions[i];

		if (strncmp(d, name, len) == 0 && d[len] == '=')
			return direction_by_name(d + len + 1);
	}
	return -1;
}

int bench_metric_intern(struct bench_session *s, const char *name, const char *unit, int direction,
                        const char *source, struct error *err)
{
	int m = bench_metric_find(s, name);
	int configured = configured_direction(&s->set, name);
	struct bench_metric_def *d;

	if (m >= 0)
		return m;
	if (configured >= 0)
		direction = configured; /* the user knows better than a default */
	if (direction < 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "metric '%s' (from %s): is higher or lower better? Say so with "
		                 "--metric-direction %s=higher (or =lower)",
		                 name, source, name);
	if (s->n_reported == BENCH_REPORTED_MAX)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "metric '%s' (from %s): more than %d reported metrics", name,
		                 source, BENCH_REPORTED_MAX);
	d = &s->reported[s->n_reported++];
	d->name = xstrdup(name);
	d->unit = xstrdup(unit ? unit : "");
	d->source = xstrdup(source);
	d->direction = (enum metric_direction)direction;
	return (int)(METRIC_BUILTIN_COUNT + s->n_reported - 1);
}

int bench_resolve_gate_metric(struct bench_session *s, struct error *err)
{
	int m;
	char *known;

	if (s->set.metric_reported == NULL)
		return 0;
	m = bench_metric_find(s, s->set.metric_reported);
	if (m >= 0) {
		s->set.metric = (enum bench_metric)m;
		return 0;
	}
	known = xstrdup("");
	for (size_t k = 0; k < s->n_reported; k++) {
		char *next = xasprintf("%s%s%s", known, k ? ", " : "", s->reported[k].name);
		free(known);
		known = next;
	}
	error_set(err, EXIT_RUNNER_ERROR, 0,
	          "--metric %s: no benchmark reported it (reported metrics: %s)",
	          s->set.metric_reported, *known ? known : "none");
	free(known);
	return -1;
}
