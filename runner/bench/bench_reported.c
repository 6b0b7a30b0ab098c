/* bench_reported.c - see bench_reported.h */
#define _GNU_SOURCE
#include "bench/bench_reported.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

enum { DIR_LOWER = 0, DIR_HIGHER = 1 }; /* enum metric_direction's values */

/* ---- the formats table ------------------------------------------------------ */

struct reported_format {
	const char *name;
	bool json;
	const char *default_path;   /* NULL: stdout */
	const char *default_metric; /* NULL: the regex's, or the first reported */
	int (*extract)(const struct reported_source *src, const struct reported_input *in,
	               const struct reported_sink *sink, struct error *err);
};

static int extract_regex(const struct reported_source *src, const struct reported_input *in,
                         const struct reported_sink *sink, struct error *err);
static int extract_gbench(const struct reported_source *src, const struct reported_input *in,
                          const struct reported_sink *sink, struct error *err);
static int extract_criterion(const struct reported_source *src, const struct reported_input *in,
                             const struct reported_sink *sink, struct error *err);
static int extract_bmf(const struct reported_source *src, const struct reported_input *in,
                       const struct reported_sink *sink, struct error *err);

static const struct reported_format formats[] = {
    {"regex", false, NULL, NULL, extract_regex},
    {"gbench", true, NULL, "real_time", extract_gbench},
    {"criterion", true, "criterion", "time", extract_criterion},
    {"bmf", true, NULL, NULL, extract_bmf},
};

static const struct {
	const char *measure;
	int direction;
} known_directions[] = {
    {"latency", DIR_LOWER},      {"throughput", DIR_HIGHER},       {"real_time", DIR_LOWER},
    {"cpu_time", DIR_LOWER},     {"items_per_second", DIR_HIGHER}, {"bytes_per_second", DIR_HIGHER},
    {"time", DIR_LOWER},         {"file-size", DIR_LOWER},         {"build-time", DIR_LOWER},
    {"instructions", DIR_LOWER},
};

int reported_known_direction(const char *measure)
{
	for (size_t i = 0; i < sizeof(known_directions) / sizeof(known_directions[0]); i++)
		if (strcmp(known_directions[i].measure, measure) == 0)
			return known_directions[i].direction;
	return -1;
}

/* ---- parsing a source ---------------------------------------------------- */

static int parse_regex_spec(const char *rest, struct reported_source *src, struct error *err)
{
	const char *c1 = strchr(rest, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	const char *c3 = c2 ? strchr(c2 + 1, ':') : NULL;
	char *dir;
	int rc;

	if (c3 == NULL || c1 == rest)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "--metric-regex %s: expected NAME:UNIT:higher|lower:REGEX", rest);
	src->metric = xasprintf("%.*s", (int)(c1 - rest), rest);
	src->unit = xasprintf("%.*s", (int)(c2 - c1 - 1), c1 + 1);
	dir = xasprintf("%.*s", (int)(c3 - c2 - 1), c2 + 1);
	src->direction = strcmp(dir, "higher") == 0  ? DIR_HIGHER
	                 : strcmp(dir, "lower") == 0 ? DIR_LOWER
	                                             : -1;
	if (src->direction < 0) {
		error_set(err, EXIT_RUNNER_ERROR, 0,
		          "--metric-regex %s: direction '%s': say higher or lower (is better)",
		          rest, dir);
		free(dir);
		return -1;
	}
	free(dir);
	rc = regcomp(&src->re, c3 + 1, REG_EXTENDED | REG_NEWLINE);
	if (rc != 0) {
		char msg[200];

		regerror(rc, &src->re, msg, sizeof(msg));
		return error_set(err, EXIT_RUNNER_ERROR, 0, "--metric-regex %s: %s", rest, msg);
	}
	src->compiled = true;
	if (src->re.re_nsub != 1 && src->re.re_nsub != 2)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "--metric-regex %s: needs one capture (the value) or two (a "
		                 "benchmark name, then its value); it has %zu",
		                 rest, src->re.re_nsub);
	src->named = src->re.re_nsub == 2;
	return 0;
}

static int parse_json_spec(const char *rest, struct reported_source *src, struct error *err)
{
	const char *colon = strchr(rest, ':');
	size_t len = colon ? (size_t)(colon - rest) : strlen(rest);

	for (size_t i = 1; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strlen(formats[i].name) == len && strncmp(formats[i].name, rest, len) == 0)
			src->format = &formats[i];
	if (src->format == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "--metric-json %s: unknown format (gbench, criterion or bmf)",
		                 rest);
	if (colon && (colon[1] == '\0' || colon[1] == '/' || strstr(colon + 1, "..")))
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "--metric-json %s: the path is relative to the report directory "
		                 "(%s) and stays inside it",
		                 rest, BENCH_REPORT_DIR_INSIDE);
	src->path = colon                       ? xstrdup(colon + 1)
	            : src->format->default_path ? xstrdup(src->format->default_path)
	                                        : NULL;
	return 0;
}

int reported_source_parse(const char *text, struct reported_source *src, struct error *err)
{
	memset(src, 0, sizeof(*src));
	src->spec = xstrdup(text);
	if (strncmp(text, "regex:", 6) == 0) {
		src->format = &formats[0];
		return parse_regex_spec(text + 6, src, err);
	}
	if (strncmp(text, "json:", 5) == 0)
		return parse_json_spec(text + 5, src, err);
	return error_set(err, EXIT_RUNNER_ERROR, 0,
	                 "metric source '%s': expected regex:SPEC or json:FORMAT[:PATH]", text);
}

void reported_source_free(struct reported_source *src)
{
	if (src->compiled)
		regfree(&src->re);
	free(src->spec);
	free(src->metric);
	free(src->unit);
	free(src->path);
	memset(src, 0, sizeof(*src));
}

bool reported_source_reads_stdout(const struct reported_source *src)
{
	return src->format && src->path == NULL;
}

const char *reported_source_default_metric(const struct reported_source *src)
{
	return src->metric ? src->metric : src->format ? src->format->default_metric : NULL;
}

/* ---- helpers -------------------------------------------------------------- */

/* The last `max` bytes of the output, for an error message. */
static char *tail_of(const char *text, size_t len, size_t max)
{
	const char *from = len > max ? text + len - max : text;
	char *t = xasprintf("%s%.*s", len > max ? "..." : "", (int)(text + len - from), from);

	for (char *p = t; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return t;
}

static int parse_number(const char *text, size_t len, double *out)
{
	char buf[64], *end;

	while (len && (*text == ' ' || *text == '\t')) {
		text++;
		len--;
	}
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtod(buf, &end);
	while (*end == ' ' || *end == '\t')
		end++;
	return errno == 0 && *end == '\0' && isfinite(*out) ? 0 : -1;
}

/* The JSON a source reads: stdout, or its file in the report directory. */
static json_t *load_json(const struct reported_source *src, const struct reported_input *in,
                         char **origin, struct error *err)
{
	json_error_t je;
	json_t *doc;
	char *text = NULL;

	if (src->path == NULL) {
		*origin = xstrdup("stdout");
		doc = json_loadb(in->out ? in->out : "", in->out_len, 0, &je);
	} else {
		char *path = xasprintf("%s/%s", in->report_dir, src->path);

		*origin = xasprintf("%s/%s", BENCH_REPORT_DIR_INSIDE, src->path);
		if (read_file_untrusted(path, REPORTED_OUTPUT_MAX, &text, err) < 0) {
			free(path);
			error_prefix(err, "%s: the benchmark did not write %s", src->spec, *origin);
			return NULL;
		}
		free(path);
		doc = json_loads(text, 0, &je);
		free(text);
	}
	if (doc == NULL)
		error_set(err, EXIT_RUNNER_ERROR, 0, "%s: %s is not JSON: line %d: %s", src->spec,
		          *origin, je.line, je.text);
	return doc;
}

/* ---- regex ---------------------------------------------------------------- */

static int regex_value(const struct reported_source *src, const char *at, const regmatch_t *m,
                       const struct reported_sink *sink, struct error *err)
{
	const regmatch_t *v = &m[src->named ? 2 : 1];
	char *name = NULL;
	double value;
	int rc;

	if (v->rm_so < 0 || parse_number(at + v->rm_so, (size_t)(v->rm_eo - v->rm_so), &value) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: '%.*s' is not a number", src->spec,
		                 (int)(m[0].rm_eo - m[0].rm_so), at + m[0].rm_so);
	if (src->named) {
		if (m[1].rm_so < 0 || m[1].rm_eo == m[1].rm_so)
			return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: '%.*s' names no benchmark",
			                 src->spec, (int)(m[0].rm_eo - m[0].rm_so),
			                 at + m[0].rm_so);
		name = xasprintf("%.*s", (int)(m[1].rm_eo - m[1].rm_so), at + m[1].rm_so);
	}
	rc = sink->add(sink->ctx, name, src->metric, src->unit, src->direction, value, err);
	free(name);
	return rc;
}

static int extract_regex(const struct reported_source *src, const struct reported_input *in,
                         const struct reported_sink *sink, struct error *err)
{
	char *text = xasprintf("%.*s", (int)in->out_len, in->out ? in->out : "");
	const char *at = text;
	regmatch_t m[3];
	size_t found = 0;
	int flags = 0, rc = 0;

	while (rc == 0 && *at && regexec(&src->re, at, 3, m, flags) == 0) {
		if (!src->named && found == 1) {
			rc = error_set(err, EXIT_RUNNER_ERROR, 0,
			               "%s: matched more than once (at '%.*s'); without a name "
			               "capture the pattern must match exactly once",
			               src->spec, (int)(m[0].rm_eo - m[0].rm_so), at + m[0].rm_so);
			break;
		}
		rc = regex_value(src, at, m, sink, err);
		found++;
		at += m[0].rm_eo > 0 ? m[0].rm_eo : 1;
		flags = REG_NOTBOL;
	}
	if (rc == 0 && found == 0) {
		char *tail = tail_of(in->out ? in->out : "", in->out_len, 200);

		rc = error_set(err, EXIT_RUNNER_ERROR, 0, "%s: no match in the output ('%s')",
		               src->spec, tail);
		free(tail);
	}
	free(text);
	return rc;
}

/* ---- Google Benchmark ----------------------------------------------------- */

/* Repetitions give several entries of one name: their mean is the run's. */
struct accum {
	char *bench, *metric;
	double sum;
	size_t n;
};

struct accum_list {
	struct accum *a;
	size_t n;
};

static void accum_add(struct accum_list *l, const char *bench, const char *metric, double v)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->a[i].bench, bench) == 0 && strcmp(l->a[i].metric, metric) == 0) {
			l->a[i].sum += v;
			l->a[i].n++;
			return;
		}
	l->a = xrealloc(l->a, (l->n + 1) * sizeof(*l->a));
	l->a[l->n++] = (struct accum){xstrdup(bench), xstrdup(metric), v, 1};
}

static void accum_free(struct accum_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->a[i].bench);
		free(l->a[i].metric);
	}
	free(l->a);
}

static double time_unit_ns(const char *unit)
{
	static const struct {
		const char *name;
		double ns;
	} units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (unit && strcmp(unit, units[i].name) == 0)
			return units[i].ns;
	return NAN;
}

static int gbench_entry(const struct reported_source *src, json_t *e, size_t i,
                        struct accum_list *l, struct error *err)
{
	static const char *const times[] = {"real_time", "cpu_time"};
	static const char *const rates[] = {"items_per_second", "bytes_per_second"};
	json_t *name = json_object_get(e, "name"), *type = json_object_get(e, "run_type");
	json_t *unit = json_object_get(e, "time_unit");
	double scale = time_unit_ns(json_is_string(unit) ? json_string_value(unit) : "ns");

	if (json_is_string(type) && strcmp(json_string_value(type), "aggregate") == 0)
		return 0; /* mean/median/stddev rows: the iterations are there too */
	if (!json_is_string(name))
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: benchmarks[%zu] has no name",
		                 src->spec, i);
	if (!isfinite(scale))
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: %s: unknown time_unit", src->spec,
		                 json_string_value(name));
	for (size_t k = 0; k < 2; k++) {
		json_t *v = json_object_get(e, times[k]);

		if (!json_is_number(v))
			return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: %s: '%s' is not a number",
			                 src->spec, json_string_value(name), times[k]);
		accum_add(l, json_string_value(name), times[k], json_number_value(v) * scale);
	}
	for (size_t k = 0; k < 2; k++) {
		json_t *v = json_object_get(e, rates[k]);

		if (json_is_number(v))
			accum_add(l, json_string_value(name), rates[k], json_number_value(v));
	}
	return 0;
}

static int extract_gbench(const struct reported_source *src, const struct reported_input *in,
                          const struct reported_sink *sink, struct error *err)
{
	char *origin = NULL;
	json_t *doc = load_json(src, in, &origin, err), *list;
	struct accum_list l = {0};
	int rc = 0;

	if (doc == NULL) {
		free(origin);
		return -1;
	}
	list = json_object_get(doc, "benchmarks");
	if (!json_is_array(list) || json_array_size(list) == 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, 0,
		               "%s: %s has no \"benchmarks\" (is it --benchmark_format=json?)",
		               src->spec, origin);
	for (size_t i = 0; rc == 0 && i < json_array_size(list); i++)
		rc = gbench_entry(src, json_array_get(list, i), i, &l, err);
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		bool rate = strstr(l.a[i].metric, "_per_second") != NULL;

		rc = sink->add(sink->ctx, l.a[i].bench, l.a[i].metric, rate ? "/s" : "ns",
		               reported_known_direction(l.a[i].metric),
		               l.a[i].sum / (double)l.a[i].n, err);
	}
	accum_free(&l);
	json_decref(doc);
	free(origin);
	return rc;
}

/* ---- criterion ------------------------------------------------------------ */

#define CRITERION_DEPTH_MAX 8

static double point_estimate(json_t *est, const char *key)
{
	json_t *v = json_object_get(json_object_get(est, key), "point_estimate");

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* <dir>/new/estimates.json: the slope when criterion fitted one (linear
 * sampling), else the mean; named by benchmark.json's full_id. */
static int criterion_one(const struct reported_source *src, const char *dir, const char *rel,
                         const struct reported_sink *sink, struct error *err)
{
	char *path = xasprintf("%s/new/estimates.json", dir), *text = NULL, *meta_text = NULL;
	json_t *est = NULL, *meta = NULL, *id;
	double v;
	int rc;

	if (read_file_untrusted(path, REPORTED_OUTPUT_MAX, &text, err) < 0) {
		free(path);
		return -1;
	}
	est = json_loads(text, 0, NULL);
	free(text);
	free(path);
	v = point_estimate(est, "slope");
	if (!isfinite(v))
		v = point_estimate(est, "mean");
	json_decref(est);
	if (!isfinite(v))
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "%s: %s/new/estimates.json has no slope or mean point_estimate",
		                 src->spec, rel);
	path = xasprintf("%s/new/benchmark.json", dir);
	if (read_file_untrusted(path, REPORTED_OUTPUT_MAX, &meta_text, err) == 0)
		meta = json_loads(meta_text, 0, NULL);
	free(meta_text);
	free(path);
	id = json_object_get(meta, "full_id");
	rc = sink->add(sink->ctx, json_is_string(id) ? json_string_value(id) : rel, "time", "ns",
	               DIR_LOWER, v, err);
	json_decref(meta);
	return rc;
}

static int criterion_walk(const struct reported_source *src, const char *dir, const char *rel,
                          unsigned depth, const struct reported_sink *sink, size_t *found,
                          struct error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (d == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "%s: reading %s", src->spec, dir);
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char *sub, *subrel;

		/* d_type never follows a link the benchmark planted */
		if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0)
			continue;
		sub = xasprintf("%s/%s", dir, e->d_name);
		subrel = *rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		if (strcmp(e->d_name, "new") == 0 && *rel) {
			rc = criterion_one(src, dir, rel, sink, err);
			(*found)++;
		} else if (strcmp(e->d_name, "base") != 0 && strcmp(e->d_name, "change") != 0 &&
		           depth < CRITERION_DEPTH_MAX) {
			rc = criterion_walk(src, sub, subrel, depth + 1, sink, found, err);
		}
		free(sub);
		free(subrel);
	}
	closedir(d);
	return rc;
}

static int extract_criterion(const struct reported_source *src, const struct reported_input *in,
                             const struct reported_sink *sink, struct error *err)
{
	char *dir = xasprintf("%s/%s", in->report_dir, src->path);
	size_t found = 0;
	int rc = criterion_walk(src, dir, "", 0, sink, &found, err);

	free(dir);
	if (rc == 0 && found == 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, 0,
		               "%s: no */new/estimates.json under %s/%s (does the benchmark run "
		               "criterion with CRITERION_HOME?)",
		               src->spec, BENCH_REPORT_DIR_INSIDE, src->path);
	return rc;
}

/* ---- Bencher Metric Format ------------------------------------------------ */

static int extract_bmf(const struct reported_source *src, const struct reported_input *in,
                       const struct reported_sink *sink, struct error *err)
{
	char *origin = NULL;
	json_t *doc = load_json(src, in, &origin, err), *measures;
	const char *bench;
	int rc = 0;

	if (doc == NULL) {
		free(origin);
		return -1;
	}
	if (!json_is_object(doc) || json_object_size(doc) == 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, 0,
		               "%s: %s is not a BMF object (benchmark -> measure -> value)",
		               src->spec, origin);
	json_object_foreach(json_is_object(doc) ? doc : NULL, bench, measures)
	{
		const char *measure;
		json_t *m;

		if (rc != 0)
			break;
		if (!json_is_object(measures)) {
			rc = error_set(err, EXIT_RUNNER_ERROR, 0,
			               "%s: %s: not an object of measures", src->spec, bench);
			break;
		}
		json_object_foreach(measures, measure, m)
		{
			json_t *v = json_object_get(m, "value");
			const char *unit = strcmp(measure, "latency") == 0      ? "ns"
			                   : strcmp(measure, "throughput") == 0 ? "ops/s"
			                                                        : "";

			if (!json_is_number(v)) {
				rc = error_set(err, EXIT_RUNNER_ERROR, 0,
				               "%s: %s/%s: \"value\" is missing or not a number",
				               src->spec, bench, measure);
				break;
			}
			rc =
			    sink->add(sink->ctx, bench, measure, unit,
			              reported_known_direction(measure), json_number_value(v), err);
			if (rc != 0)
				break;
		}
	}
	json_decref(doc);
	free(origin);
	return rc;
}

int reported_extract(const struct reported_source *src, const struct reported_input *in,
                     const struct reported_sink *sink, struct error *err)
{
	return src->format->extract(src, in, sink, err);
}
