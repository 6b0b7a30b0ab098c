/* forensics.h - classify a slowdown from two sides' counters
 * (`pgo-sandbox forensics A.json B.json`, `bench --explain`).
 *
 * Each side is one variant of one benchmark in a bench result: the median
 * over its runs of each counter and of each per-run ratio.  B is compared
 * with A:
 *   IPC (instructions/cycles) down more than 3 %      -> code layout,
 *       inlining or placement (front-end: i-cache, iTLB, decoding)
 *   branch-miss rate (misses/branches) up more than 10 % -> branch hints or
 *       control flow reshaped
 *   cache, L1d or dTLB misses per 1000 instructions up more than 10 %
 *       -> data layout, TLS bloat or register spills
 *   instructions up more than 3 %                     -> more work: code
 *       growth or another path (not a layout effect)
 * Every judgement prints its evidence; a judgement whose counters are
 * missing on either side says which and why (the side's counter status). */
#ifndef PGO_FORENSICS_H
#define PGO_FORENSICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "bench/bench_model.h"
#include "bench/counters.h"

/* What `pgo-sandbox forensics` compares: A and B's files (B NULL: A's
 * baseline against its first candidate), optionally one benchmark and
 * the variants by name, and where the JSON goes (NULL: nowhere). */
struct forensics_request {
	const char *file_a, *file_b, *bench, *var_a, *var_b, *json;
};

/* Print the classification of every benchmark the two have in common;
 * -1 + err (exit code 125) for an unreadable file or nothing to compare. */
int forensics_report(const struct forensics_request *rq, struct error *err);

#define FORENSICS_IPC_DROP 0.03
#define FORENSICS_BRANCH_UP 0.10
#define FORENSICS_MISS_UP 0.10
#define FORENSICS_WORK_UP 0.03

enum forensic_class {
	FC_LAYOUT,
	FC_BRANCH,
	FC_DATA,
	FC_WORK,
	FC_COUNT,
};
const char *forensic_class_name(enum forensic_class c);

struct forensic_side {
	char *label;            /* "A.json baseline/fib" */
	char *status;           /* the counters status recorded with the runs */
	size_t n_runs;          /* measured runs */
	size_t n_with_counters; /* runs with hardware counters */
	uint32_t has;           /* counters present in every run with counters */
	double median[CTR_COUNT];
	double ipc, branch_miss_rate, cache_mpki, l1d_mpki, dtlb_mpki; /* NAN when missing */
	double ir;               /* callgrind Ir median, NAN when missing */
	double wall;             /* median wall time */
	size_t n_with_sim;       /* runs with cachegrind's simulated counters */
	struct sim_counters sim; /* their medians */
};

int forensics_side(const struct bench_session *s, size_t bench, size_t variant, const char *file,
                   struct forensic_side *out);
void forensics_side_free(struct forensic_side *side);

/* Without a PMU, cachegrind's simulated counters (bench --cachegrind)
 * answer the same questions with the same thresholds, each judged on the
 * part of the model it is about: code layout on the front-end IPC
 * (instructions over instructions plus instruction-fetch stall cycles),
 * branch and data on their miss rates, and those two only when the
 * change also costs more than FORENSICS_SIM_COST of A's estimated cycles:
 * code that merely moved changes simulated mispredictions by several per
 * cent at no cost (fixtures/layout/README.md). */
#define FORENSICS_SIM_COST 0.03

struct forensic_result {
	const char *source; /* "hardware counters" or "simulated (cachegrind)" */
	bool found[FC_COUNT];
	char **evidence; /* NULL-terminated lines */
	size_t n_evidence;
	char **missing;
	size_t n_missing;
	double wall_pct;
};

void forensics_compare(const struct forensic_side *a, const struct forensic_side *b,
                       struct forensic_result *out);
void forensics_result_free(struct forensic_result *r);
void forensics_print(FILE *out, const struct forensic_side *a, const struct forensic_side *b,
                     const struct forensic_result *r);
json_t *forensics_result_json(const struct forensic_side *a, const struct forensic_side *b,
                              const struct forensic_result *r);

#endif
