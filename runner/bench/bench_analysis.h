/* bench_analysis.h - from a session's runs to statistics, verdicts and the
 * gate decision (pure computation on struct bench_session, via stats.h).
 *
 * Per block and arm the value is the geometric mean of the arm's runs in
 * that block (two, ABBA), so d = ln(B/A) per block is a difference of mean
 * logs.  A/B comparisons use every run where they can: two drift-free
 * values per block (stats_compare_blocks, docs/bench.md "Every run"), else
 * the d's; Wilcoxon signed-rank interval, Hodges-Lehmann estimate.  The
 * "slower" verdict is Holm-corrected across
 * all comparisons of a family: {metric} x {A/B, A/A}. */
#ifndef PGO_BENCH_ANALYSIS_H
#define PGO_BENCH_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "bench/bench_model.h"
#include "bench/stats.h"

/* Exit codes of `pgo-sandbox bench` (docs/bench.md); 125 for bad usage or a
 * setup failure, as everywhere. */
enum bench_exit {
	BENCH_EXIT_OK = 0,
	BENCH_EXIT_REGRESSION = 1,   /* --fail-on-regression: a gated benchmark is slower */
	BENCH_EXIT_INCONCLUSIVE = 2, /* --strict: a gated comparison stayed inconclusive;
	                              * any gate: one had no finite interval */
	BENCH_EXIT_NOISY = 3,        /* --aa-control found a difference between A and A */
	BENCH_EXIT_RUN_FAILED = 4,   /* a benchmark command exited non-zero */
};

struct bench_summary {
	size_t bench, variant, cell;
	enum bench_metric metric;
	struct describe d;
	size_t outliers;
};

struct bench_cmp {
	size_t bench, cell, base, cand;
	enum bench_metric metric;
	bool aa;    /* the A/A control against the baseline */
	bool gated; /* A/B and the benchmark matches --only */
	struct comparison c;
};

/* Main effect of knob `knob` at `level` against its first value, averaged
 * over the other knobs' cells, per block. */
struct bench_effect {
	size_t bench, variant, knob, level;
	enum bench_metric metric;
	struct comparison c;
};

/* 2x2 interaction of knobs a and b (levels 0 and level_a / level_b), the
 * other knobs averaged out. */
struct bench_inter {
	size_t bench, variant, knob_a, knob_b, level_a, level_b;
	enum bench_metric metric;
	bool ok; /* false: too few blocks for an interval */
	struct interaction it;
};

enum gate_status {
	GATE_OFF, /* no --fail-on-regression, no --strict */
	GATE_PASS,
	GATE_FAIL,
	GATE_INCONCLUSIVE,
	GATE_NOISY,
};
const char *gate_status_name(enum gate_status g);

struct bench_gate {
	enum gate_status status;
	int exit_code;
	bool aa_failed;
	/* a gated comparison had no finite interval (too few blocks for the
	 * confidence): the gate cannot decide, so it never passes */
	bool undecidable;
	char **reasons; /* one line each, NULL-terminated */
	size_t n_reasons;
};

struct bench_analysis {
	bool available[METRIC_COUNT]; /* some benchmark has the metric */
	bool *avail;                  /* [bench * METRIC_COUNT + metric]: analysed */
	struct bench_summary *sum;
	size_t n_sum;
	struct bench_cmp *cmp;
	size_t n_cmp;
	struct bench_effect *eff;
	size_t n_eff;
	struct bench_inter *inter;
	size_t n_inter;
	struct bench_gate gate;
};

/* Flags outliers in s->runs (never drops them) and fills a. */
void bench_analyse(struct bench_session *s, struct bench_analysis *a);
void bench_analysis_free(struct bench_analysis *a);

/* Per-block mean log of an arm: out[i] for block i < s->blocks_done[bench]
 * (NAN where the arm has no run in the block). */
void bench_block_logs(const struct bench_session *s, size_t bench, size_t variant, size_t cell,
                      enum bench_metric m, double *out);

/* The fewest blocks that can give a finite interval at the session's
 * confidence with `method` (paired runs: two values per block). */
size_t bench_min_blocks(const struct bench_settings *set, enum cmp_method method);

/* Arm (vy, cy) against arm (vx, cx) of `bench`, ln(Y/X) in the metric's own
 * terms (not badness), as the A/B comparisons are made: from every run
 * where each block has its four, else from block means (stats.h
 * stats_compare_blocks). */
void bench_compare_arm_pair(const struct bench_session *s, size_t bench, enum bench_metric m,
                            size_t vx, size_t cx, size_t vy, size_t cy, struct comparison *out);

/* An A/B comparison of `bench` on the gate metric is still inconclusive. */
bool bench_needs_more(const struct bench_session *s, const struct bench_analysis *a, size_t bench);

/* The widest interval (log scale; INFINITY when one is not finite) among
 * the inconclusive A/B comparisons of `bench` on the gate metric: extending
 * is worth it only while this shrinks.  0 when none is inconclusive. */
double bench_open_width(const struct bench_session *s, const struct bench_analysis *a,
                        size_t bench);

/* The most blocks any A/B comparison of `bench` on the gate metric needs to
 * resolve --threshold, from the noise seen so far (stats_blocks_to_resolve). */
size_t bench_blocks_needed(const struct bench_session *s, const struct bench_analysis *a,
                           size_t bench);

/* How much worse the candidate is, in percent of the metric (a 20 %
 * throughput drop and a 20 % longer time are both +20); negative when
 * better. */
double bench_cmp_worse_pct(const struct bench_session *s, const struct bench_cmp *k);
/* Does `name` match the --only glob (no glob matches everything)? */
bool bench_matches_only(const struct bench_settings *set, const char *name);

json_t *bench_analysis_to_json(const struct bench_session *s, const struct bench_analysis *a);

/* The verdict as the terminal, Markdown and SVG say it: "slower"/"faster"
 * for times and counts, "worse"/"better" where higher is better, "no
 * change" (the JSON spells verdict_name(): docs/bench.md). */
const char *bench_verdict_words(const struct bench_session *s, enum bench_metric m,
                                const struct comparison *c);

#endif
