/* bench_rules.h - GO / NEUTRAL / NO-GO decision rules over a bench
 * session: comparisons of variants, matrix points and recorded baselines
 * (docs/bench.md, "Decision rules").
 *
 *   # the allocator team's gates
 *   metric ops
 *   point A = pgo @ MALLOC_A=0,MALLOC_B=0
 *   point D = pgo @ MALLOC_A=1,MALLOC_B=1
 *   baseline phase69 = 62.63              # a recorded value, in the metric's unit
 *   baseline lastrun = results/r.json:pgo # a recorded result file [variant]
 *   go     D vs A >= +1.0%
 *   go     D vs phase69 >= 0%
 *   no-go  D below A
 *
 * "X vs Y OP P%" is the change of the metric from Y to X in percent of Y
 * (its own terms: a throughput drop is negative), with the interval at the
 * session's confidence; a condition holds only when the whole interval
 * does (>= and >: the low end; <= and <: the high end).  "X below Y" is
 * "X vs Y < 0%", "X above Y" is "X vs Y > 0%".  Between two points of the
 * session the comparison is paired per block; against a value it is the
 * one-sample Wilcoxon interval of ln(x / value) over X's runs; against a
 * recorded result it is unpaired (Mann-Whitney), across time.
 * Outcome: no-go when a no-go rule holds; go when every go rule holds;
 * neutral otherwise. */
#ifndef PGO_BENCH_RULES_H
#define PGO_BENCH_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "bench/bench_model.h"
#include "base/util.h"

enum decision {
	DECISION_GO,
	DECISION_NEUTRAL,
	DECISION_NO_GO,
};
const char *decision_name(enum decision d);

/* bench exit codes of the outcomes (docs/bench.md) */
#define BENCH_EXIT_NO_GO 5
#define BENCH_EXIT_NEUTRAL 6

struct rule_point {
	char *name, *variant, *cell; /* cell: "K=V,K=V" or NULL */
	size_t line;
};

struct rule_baseline {
	char *name;
	bool is_value;
	double value;
	char *path, *variant;     /* a recorded result */
	struct bench_session rec; /* loaded by rules_load_recorded */
	bool loaded;
	size_t line;
};

enum rule_op { OP_GE, OP_GT, OP_LE, OP_LT };

struct rule {
	bool no_go; /* else go */
	char *text, *x, *y;
	enum rule_op op;
	double pct;
	size_t line;
	/* evaluation */
	bool evaluated, holds;
	size_t n;
	double est, lo, hi; /* percent */
	const char *method;
	char *why; /* when it could not be evaluated */
};

struct rules {
	char *path;
	char *metric, *benchmark; /* NULL: the gate metric, the first benchmark */
	struct rule_point *points;
	size_t n_points;
	struct rule_baseline *baselines;
	size_t n_baselines;
	struct rule *rules;
	size_t n_rules;
	enum decision outcome;
	char *reason;
};

/* Parse a rules file: -1 + err naming the file, line and problem. */
int rules_parse(const char *path, const char *text, struct rules *r, struct error *err);
int rules_load(const char *path, struct rules *r, struct error *err);
/* Load the recorded baselines (host checked as --against does). */
int rules_load_recorded(struct rules *r, bool allow_other_host, struct error *err);
/* Names must exist in the session: variants, knobs and their values. */
int rules_check(const struct rules *r, const struct bench_session *s, struct error *err);
/* Evaluate every rule over the session's runs and decide. */
int rules_evaluate(struct rules *r, const struct bench_session *s, struct error *err);
void rules_print(FILE *out, const struct rules *r);
char *rules_markdown(const struct rules *r);
json_t *rules_json(const struct rules *r);
void rules_free(struct rules *r);

#endif
