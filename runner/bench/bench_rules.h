/* bench_rules.h - GO / NEUTRAL / NO-GO decision rules over a bench
 * session: comparisons of variants, matrix points and recorded baselines,
 * over one metric or several, one benchmark or a quantified set
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
 *   no-go  D worse than A by 5% rss
 *   go     every D better than A
 *
 * A rule is "go|no-go [every|any] CONDITION [METRIC]":
 *   X vs Y OP P%             the change of the metric from Y to X in percent
 *                            of Y, in the metric's own terms (a throughput
 *                            drop is negative), OP one of >= > <= <;
 *   X better than Y [by P%]  direction-aware: for a lower-is-better metric
 *   X worse than Y [by P%]   "better by 5%" is "vs <= -5%", for a
 *                            higher-is-better one "vs >= +5%"; without
 *                            "by", strictly beyond 0 %;
 *   X below Y, X above Y     "vs < 0%" and "vs > 0%" whatever the
 *                            direction (a warning on a lower-is-better
 *                            metric, where "below" means better).
 * METRIC: a metric of the session by name (builtin or reported); without
 * one, the file's "metric" line, else the gate metric.  "every" and "any"
 * range over the benchmarks (those matching the "benchmark" glob, else all)
 * that have the metric; without a quantifier, the first of them.
 *
 * A condition holds only when the whole interval does (>= and >: the low
 * end; <= and <: the high end), at the session's confidence.  Between two
 * arms of one cell that the bench itself compares (the baseline and a
 * candidate), the rule takes that comparison's estimate and interval: one
 * pair, one interval.  Other pairs of the session are paired per block;
 * against a value it is the one-sample Wilcoxon interval of
 * ln(x / value) over X's runs; against a recorded result it is unpaired
 * (Mann-Whitney), across time.
 * Outcome: no-go when a no-go rule holds; go when every go rule holds;
 * neutral otherwise. */
#ifndef PGO_BENCH_RULES_H
#define PGO_BENCH_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "bench/bench_analysis.h"
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
/* ">=", ">", "<=", "<", indexed by enum rule_op */
extern const char *const rules_op_names[4];

/* How the condition was written: a signed change (vs, below, above) or a
 * direction-aware one, resolved against the metric's direction. */
enum rule_sense {
	SENSE_CHANGE,
	SENSE_BETTER,
	SENSE_WORSE,
};

enum rule_quantifier {
	QUANT_ONE, /* the first benchmark */
	QUANT_EVERY,
	QUANT_ANY,
};

/* One rule on one benchmark. */
struct rule_result {
	size_t bench;
	char *bench_name;
	bool evaluated, holds;
	size_t n;
	double est, lo, hi; /* percent */
	const char *method;
	char *why; /* when it could not be evaluated */
};

struct rule {
	bool no_go; /* else go */
	char *text, *x, *y;
	enum rule_sense sense;
	enum rule_quantifier quant;
	bool says_below_above; /* "below"/"above": warned about on lower-is-better */
	enum rule_op op;       /* SENSE_CHANGE */
	double pct;            /* SENSE_CHANGE: the bound; else the margin (>= 0) */
	bool by;               /* better/worse "by P%" */
	char *metric;          /* as written, NULL: the file's, else the gate's */
	size_t line;
	/* evaluation */
	const char *metric_name; /* the one judged (the session's string) */
	enum rule_op eff_op;     /* the condition on "X vs Y" it came to */
	double eff_pct;
	bool warned;             /* the below/above warning was given */
	struct rule_result *res; /* one per benchmark judged */
	size_t n_res;
	bool evaluated, holds; /* the rule as a whole */
	size_t n;              /* QUANT_ONE: res[0]'s */
	double est, lo, hi;    /* QUANT_ONE: res[0]'s, else NAN */
	const char *method;
	char *why;
};

struct rules {
	char *path;
	char *metric, *benchmark; /* NULL: the gate metric, the first benchmark */
	size_t metric_line;       /* of the "metric" line */
	struct rule_point *points;
	size_t n_points;
	struct rule_baseline *baselines;
	size_t n_baselines;
	struct rule *rules;
	size_t n_rules;
	enum decision outcome;
	char *reason;
	char **warnings; /* "FILE:LINE: warning: ...", for the caller to print */
	size_t n_warnings;
};

/* Parse a rules file: -1 + err naming the file, line and problem. */
int rules_parse(const char *path, const char *text, struct rules *r, struct error *err);
int rules_load(const char *path, struct rules *r, struct error *err);
/* Load the recorded baselines (host checked as --against does). */
int rules_load_recorded(struct rules *r, bool allow_other_host, struct error *err);
/* Names must exist in the session: variants, knobs and their values.
 * Warns (r->warnings) about below/above on a metric already known to be
 * lower-is-better. */
int rules_check(struct rules *r, const struct bench_session *s, struct error *err);
/* Evaluate every rule over the session's runs and its analysis (the
 * bench's own comparisons, reused where a rule asks the same question;
 * NULL: none) and decide.  -1 + err naming FILE:LINE for a metric or
 * benchmark the session lacks. */
int rules_evaluate(struct rules *r, const struct bench_session *s, const struct bench_analysis *a,
                   struct error *err);
void rules_print(FILE *out, const struct rules *r);
char *rules_markdown(const struct rules *r);
json_t *rules_json(const struct rules *r);
void rules_free(struct rules *r);

/* Shared by the bench_rules*.c files (not for other callers): resolving
 * the names a rule uses (bench_rules_check.c) and trimming a word. */
char *rules_trim(char *s);
/* The variant of that name, -1 when none. */
int rules_variant_index(const struct bench_session *s, const char *name);
/* A point or a variant name -> (variant, cell); -1 + err. */
int rules_resolve_arm(const struct rules *r, const struct bench_session *s, const char *name,
                      size_t *variant, size_t *cell, struct error *err);
const struct rule_baseline *rules_find_baseline(const struct rules *r, const char *name);
/* "wall, cpu, ops" (caller frees) */
char *rules_metric_list(const struct bench_session *s);
/* The metric a rule judges: its own, the file's, else the gate's; -1 when
 * the session has none of that name (yet). */
int rules_rule_metric(const struct rules *r, const struct rule *k, const struct bench_session *s);
/* Warn, once per rule, about "below"/"above" on a lower-is-better metric. */
void rules_warn_below_above(struct rules *r, struct rule *k, const struct bench_session *s, int m);

#endif
