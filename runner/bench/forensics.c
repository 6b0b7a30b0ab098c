/* forensics.c - see forensics.h */
#define _GNU_SOURCE
#include "bench/forensics.h"
#include "base/strv.h"
#include "base/string_table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/json_file.h"
#include "bench/stats.h"

static const char *const class_names[FC_COUNT] = {
    "code layout / inlining / placement",
    "branch hints / control flow reshaped",
    "data layout / TLS bloat / spills",
    "more instructions executed",
};

DEFINE_STRING_TABLE_TO_NAME(forensic_class_name, enum forensic_class, class_names, "unknown");

static bool has(const struct bench_run *r, enum counter_id id)
{
	return r->counters.valid & (1u << id);
}

static double cval(const struct bench_run *r, enum counter_id id)
{
	return (double)r->counters.value[id];
}

/* Median over the side's runs of f(run); NAN when no run has it. */
static double median_of(const struct bench_session *s, size_t bench, size_t variant,
                        double (*f)(const struct bench_run *))
{
	double *v = xcalloc(s->n_runs + 1, sizeof(double));
	size_t n = 0;
	double m;

	for (size_t i = 0; i < s->n_runs; i++) {
		const struct bench_run *r = &s->runs[i];
		double x;

		if (r->block == BENCH_BLOCK_WARMUP || r->bench != bench || r->variant != variant)
			continue;
		x = f(r);
		if (isfinite(x))
			v[n++] = x;
	}
	m = n ? stats_median(v, n) : NAN;
	free(v);
	return m;
}

static double ratio(const struct bench_run *r, enum counter_id num, enum counter_id den,
                    double scale)
{
	if (!has(r, num) || !has(r, den) || cval(r, den) <= 0)
		return NAN;
	return scale * cval(r, num) / cval(r, den);
}

static double f_ipc(const struct bench_run *r)
{
	return ratio(r, CTR_INSTRUCTIONS, CTR_CYCLES, 1.0);
}

static double f_branch(const struct bench_run *r)
{
	return ratio(r, CTR_BRANCH_MISSES, CTR_BRANCHES, 1.0);
}

static double f_cache(const struct bench_run *r)
{
	return ratio(r, CTR_CACHE_MISSES, CTR_INSTRUCTIONS, 1000.0);
}

static double f_l1d(const struct bench_run *r)
{
	return ratio(r, CTR_L1D_LOAD_MISSES, CTR_INSTRUCTIONS, 1000.0);
}

static double f_dtlb(const struct bench_run *r)
{
	return ratio(r, CTR_DTLB_LOAD_MISSES, CTR_INSTRUCTIONS, 1000.0);
}

static double f_ir(const struct bench_run *r)
{
	return r->has_ir ? (double)r->ir : NAN;
}

static double f_wall(const struct bench_run *r)
{
	return r->wall_s;
}

/* cachegrind's counts are deterministic: the median is the count. */
static void sim_medians(const struct bench_session *s, size_t bench, size_t variant,
                        struct forensic_side *out)
{
	double *v = xcalloc(s->n_runs + 1, sizeof(double));

	for (int e = 0; e < SIM_COUNT; e++) {
		size_t n = 0;

		for (size_t i = 0; i < s->n_runs; i++) {
			const struct bench_run *r = &s->runs[i];

			if (r->block != BENCH_BLOCK_WARMUP && r->bench == bench &&
			    r->variant == variant && r->has_sim)
				v[n++] = (double)r->sim.v[e];
		}
		out->n_with_sim = n;
		out->sim.v[e] = n ? (uint64_t)llround(stats_median(v, n)) : 0;
	}
	free(v);
}

int forensics_side(const struct bench_session *s, size_t bench, size_t variant, const char *file,
                   struct forensic_side *out)
{
	json_t *st = s->conditions ? json_object_get(s->conditions, "counters") : NULL;
	json_t *asked = s->conditions ? json_object_get(s->conditions, "counters_requested") : NULL;
	uint32_t hw = (1u << CTR_FIRST_SOFTWARE) - 1;

	memset(out, 0, sizeof(*out));
	if (bench >= s->n_benchmarks || variant >= s->n_variants)
		return -1;
	out->label =
	    xasprintf("%s %s/%s", file, s->variants[variant].name, s->benchmarks[bench].name);
	if (json_is_false(asked))
		out->status = xstrdup("not requested: bench ran without --counters");
	else
		out->status = xstrdup(json_is_string(st) ? json_string_value(st) : "not recorded");
	out->has = (1u << CTR_COUNT) - 1;
	for (size_t i = 0; i < s->n_runs; i++) {
		const struct bench_run *r = &s->runs[i];

		if (r->block == BENCH_BLOCK_WARMUP || r->bench != bench || r->variant != variant)
			continue;
		out->n_runs++;
		if (r->counters.valid & hw) {
			out->n_with_counters++;
			out->has &= r->counters.valid;
		}
	}
	if (out->n_with_counters == 0)
		out->has = 0;
	for (int c = 0; c < CTR_COUNT; c++) {
		double *v = xcalloc(s->n_runs + 1, sizeof(double));
		size_t n = 0;

		for (size_t i = 0; i < s->n_runs; i++) {
			const struct bench_run *r = &s->runs[i];

			if (r->block != BENCH_BLOCK_WARMUP && r->bench == bench &&
			    r->variant == variant && has(r, (enum counter_id)c))
				v[n++] = cval(r, (enum counter_id)c);
		}
		out->median[c] = n ? stats_median(v, n) : NAN;
		free(v);
	}
	out->ipc = median_of(s, bench, variant, f_ipc);
	out->branch_miss_rate = median_of(s, bench, variant, f_branch);
	out->cache_mpki = median_of(s, bench, variant, f_cache);
	out->l1d_mpki = median_of(s, bench, variant, f_l1d);
	out->dtlb_mpki = median_of(s, bench, variant, f_dtlb);
	out->ir = median_of(s, bench, variant, f_ir);
	out->wall = median_of(s, bench, variant, f_wall);
	sim_medians(s, bench, variant, out);
	return 0;
}

void forensics_side_free(struct forensic_side *side)
{
	free(side->label);
	free(side->status);
	memset(side, 0, sizeof(*side));
}

static void evidence(struct forensic_result *r, char *line)
{
	r->evidence = strv_append_n(r->evidence, &r->n_evidence, line);
}

static void missing(struct forensic_result *r, const char *what, const char *needs,
                    const struct forensic_side *a, const struct forensic_side *b, bool in_a)
{
	const struct forensic_side *side = in_a ? a : b;

	r->missing =
	    strv_append_n(r->missing, &r->n_missing,
	                  xasprintf("%s: cannot judge: needs %s, missing in %s (counters: %s)",
	                            what, needs, side->label, side->status));
}

/* One judgement: `higher_is_worse` ratios compared against `limit`. */
static void judge(struct forensic_result *r, const struct forensic_side *a,
                  const struct forensic_side *b, const char *what, const char *needs, double va,
                  double vb, double limit, bool drop, enum forensic_class cls, int prec)
{
	double change;
	bool hit;

	if (!isfinite(va) || !isfinite(vb) || va <= 0) {
		missing(r, what, needs, a, b, !isfinite(va) || va <= 0);
		return;
	}
	change = vb / va - 1.0;
	hit = drop ? change < -limit : change > limit;
	if (hit)
		r->found[cls] = true;
	{
		char av[32], bv[32];

		/* prec < 0: a count, in 4 significant digits */
		if (prec < 0) {
			snprintf(av, sizeof(av), "%.4g", va);
			snprintf(bv, sizeof(bv), "%.4g", vb);
		} else {
			snprintf(av, sizeof(av), "%.*f", prec, va);
			snprintf(bv, sizeof(bv), "%.*f", prec, vb);
		}
		evidence(r, xasprintf("%-23s %12s -> %-12s %+7.2f %%  %s %c%.0f %%%s%s", what, av,
		                      bv, 100.0 * change, hit ? "beyond" : "within",
		                      drop ? '-' : '+', 100.0 * limit, hit ? "  => " : "",
		                      hit ? forensic_class_name(cls) : ""));
	}
}

/* judge() with a cost guard: the change counts only when its stall
 * cycles grew by more than FORENSICS_SIM_COST of A's estimated cycles. */
static void judge_costly(struct forensic_result *r, const char *what, double va, double vb,
                         double limit, enum forensic_class cls, double cost)
{
	double change = va > 0 ? vb / va - 1.0 : NAN;
	bool moved = isfinite(change) && change > limit;
	bool hit = moved && cost > FORENSICS_SIM_COST;

	if (hit)
		r->found[cls] = true;
	evidence(r, xasprintf("%-23s %12.4g -> %-12.4g %+7.2f %%  %s +%.0f %%, stalls %+.2f %% of "
	                      "A's cycles%s%s",
	                      what, va, vb, 100.0 * change, moved ? "beyond" : "within",
	                      100.0 * limit, 100.0 * cost, hit ? "  => " : "",
	                      hit     ? forensic_class_name(cls)
	                      : moved ? "  (no cost: not a cause)"
	                              : ""));
}

static double per_kinstr(const struct sim_counters *s, double n)
{
	return s->v[SIM_IR] ? 1000.0 * n / (double)s->v[SIM_IR] : NAN;
}

static double data_misses(const struct sim_counters *s)
{
	return (double)(s->v[SIM_D1MR] + s->v[SIM_D1MW] + s->v[SIM_DLMR] + s->v[SIM_DLMW]);
}

static double branch_rate(const struct sim_counters *s)
{
	double n = (double)(s->v[SIM_BC] + s->v[SIM_BI]);

	return n > 0 ? (double)(s->v[SIM_BCM] + s->v[SIM_BIM]) / n : NAN;
}

/* Instruction-cache pressure named when it moves (evidence only). */
static void note(struct forensic_result *r, const char *what, double va, double vb,
                 const char *meaning)
{
	double change = va > 0 ? vb / va - 1.0 : NAN;
	bool moved = isfinite(change) && fabs(change) > FORENSICS_MISS_UP;

	evidence(r, xasprintf("%-23s %12.4g -> %-12.4g %+7.2f %%%s%s", what, va, vb, 100.0 * change,
	                      moved ? "  " : "", moved ? meaning : ""));
}

static void compare_simulated(const struct forensic_side *a, const struct forensic_side *b,
                              struct forensic_result *out)
{
	const struct sim_counters *sa = &a->sim, *sb = &b->sim;
	double ca = sim_estimated_cycles(sa), cb = sim_estimated_cycles(sb);
	double ira = (double)sa->v[SIM_IR], irb = (double)sb->v[SIM_IR];

	out->source =
	    "simulated (cachegrind: " CACHEGRIND_GEOMETRY "; a model, not hardware counts)";
	note(out, "est. cycles", ca, cb, "");
	note(out, "est. IPC", ira / ca, irb / cb, "");
	judge(out, a, b, "est. front-end IPC", "cachegrind's Ir and I1/LL misses",
	      ira / (ira + sim_instruction_stalls(sa)), irb / (irb + sim_instruction_stalls(sb)),
	      FORENSICS_IPC_DROP, true, FC_LAYOUT, 3);
	note(out, "I1 misses/kinstr", per_kinstr(sa, (double)sa->v[SIM_I1MR]),
	     per_kinstr(sb, (double)sb->v[SIM_I1MR]), "=> instruction cache pressure");
	judge_costly(out, "branch-miss rate", branch_rate(sa), branch_rate(sb), FORENSICS_BRANCH_UP,
	             FC_BRANCH, (sim_branch_stalls(sb) - sim_branch_stalls(sa)) / ca);
	judge_costly(out, "D1+LL misses/kinstr", per_kinstr(sa, data_misses(sa)),
	             per_kinstr(sb, data_misses(sb)), FORENSICS_MISS_UP, FC_DATA,
	             (sim_data_stalls(sb) - sim_data_stalls(sa)) / ca);
	judge(out, a, b, "instructions", "cachegrind's Ir", ira, irb, FORENSICS_WORK_UP, false,
	      FC_WORK, -1);
	out->missing = strv_append_n(out->missing, &out->n_missing,
	                             xstrdup("dTLB and iTLB: not simulated by cachegrind"));
}

void forensics_compare(const struct forensic_side *a, const struct forensic_side *b,
                       struct forensic_result *out)
{
	double ia = a->median[CTR_INSTRUCTIONS], ib = b->median[CTR_INSTRUCTIONS];

	memset(out, 0, sizeof(*out));
	out->wall_pct = isfinite(a->wall) && isfinite(b->wall) && a->wall > 0
	                    ? 100.0 * (b->wall / a->wall - 1.0)
	                    : NAN;
	/* hardware counters when both sides have them, else the model */
	if ((a->n_with_counters == 0 || b->n_with_counters == 0) && a->n_with_sim &&
	    b->n_with_sim) {
		compare_simulated(a, b, out);
		return;
	}
	out->source = "hardware counters";
	judge(out, a, b, "IPC", "instructions and cycles", a->ipc, b->ipc, FORENSICS_IPC_DROP, true,
	      FC_LAYOUT, 3);
	judge(out, a, b, "branch-miss rate", "branches and branch-misses", a->branch_miss_rate,
	      b->branch_miss_rate, FORENSICS_BRANCH_UP, false, FC_BRANCH, 4);
	judge(out, a, b, "cache-misses/kinstr", "cache-misses and instructions", a->cache_mpki,
	      b->cache_mpki, FORENSICS_MISS_UP, false, FC_DATA, 3);
	judge(out, a, b, "L1d-load-misses/kinstr", "L1-dcache-load-misses and instructions",
	      a->l1d_mpki, b->l1d_mpki, FORENSICS_MISS_UP, false, FC_DATA, 3);
	judge(out, a, b, "dTLB-load-misses/kinstr", "dTLB-load-misses and instructions",
	      a->dtlb_mpki, b->dtlb_mpki, FORENSICS_MISS_UP, false, FC_DATA, 4);
	/* Instruction counts: the hardware counter, else callgrind's Ir. */
	if (!isfinite(ia) || !isfinite(ib)) {
		ia = a->ir;
		ib = b->ir;
	}
	judge(out, a, b, "instructions", "instructions (counter or --callgrind)", ia, ib,
	      FORENSICS_WORK_UP, false, FC_WORK, -1);
}

void forensics_result_free(struct forensic_result *r)
{
	strv_free_n(r->evidence, r->n_evidence);
	strv_free_n(r->missing, r->n_missing);
	memset(r, 0, sizeof(*r));
}

void forensics_print(FILE *out, const struct forensic_side *a, const struct forensic_side *b,
                     const struct forensic_result *r)
{
	bool any = false;

	fprintf(out, "forensics: A = %s (%zu runs, %zu with hardware counters, %zu simulated)\n",
	        a->label, a->n_runs, a->n_with_counters, a->n_with_sim);
	fprintf(out, "           B = %s (%zu runs, %zu with hardware counters, %zu simulated)\n",
	        b->label, b->n_runs, b->n_with_counters, b->n_with_sim);
	fprintf(out, "counters: %s\n", r->source ? r->source : "none");
	if (isfinite(r->wall_pct))
		fprintf(out, "wall time (median)     %+.2f %%\n", r->wall_pct);
	for (size_t i = 0; i < r->n_evidence; i++)
		fprintf(out, "  %s\n", r->evidence[i]);
	for (size_t i = 0; i < r->n_missing; i++)
		fprintf(out, "  %s\n", r->missing[i]);
	for (int c = 0; c < FC_COUNT; c++) {
		if (!r->found[c])
			continue;
		fprintf(out, "classification: %s\n", forensic_class_name((enum forensic_class)c));
		any = true;
	}
	if (!any)
		fprintf(out, "classification: none%s\n",
		        r->n_evidence ? " (no counter moved beyond its threshold)"
		                      : " (the counters needed are missing)");
}

json_t *forensics_result_json(const struct forensic_side *a, const struct forensic_side *b,
                              const struct forensic_result *r)
{
	json_t *o = json_object(), *cls = json_array(), *ev = json_array(), *mi = json_array();

	for (int c = 0; c < FC_COUNT; c++)
		if (r->found[c])
			json_array_append_new(
			    cls, json_string(forensic_class_name((enum forensic_class)c)));
	for (size_t i = 0; i < r->n_evidence; i++)
		json_array_append_new(ev, json_string(r->evidence[i]));
	for (size_t i = 0; i < r->n_missing; i++)
		json_array_append_new(mi, json_string(r->missing[i]));
	json_object_set_new(o, "a", json_string(a->label));
	json_object_set_new(o, "b", json_string(b->label));
	json_object_set_new(o, "wall_pct", json_real_or_null(r->wall_pct));
	json_object_set_new(
	    o, "ipc", json_pack("[oo]", json_real_or_null(a->ipc), json_real_or_null(b->ipc)));
	json_object_set_new(o, "classes", cls);
	json_object_set_new(o, "source", json_string(r->source ? r->source : "none"));
	json_object_set_new(o, "evidence", ev);
	json_object_set_new(o, "missing", mi);
	return o;
}

/* ---- comparing two result files ------------------------------------------------------ */

static int load(const char *path, struct bench_session *s, struct error *err)
{
	bench_session_init(s);
	return bench_session_load(path, s, err);
}

static int find_variant(const struct bench_session *s, const char *name, size_t dflt, size_t *out,
                        struct error *err)
{
	if (name == NULL) {
		if (dflt >= s->n_variants)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "the result has one variant: give a second file");
		*out = dflt;
		return 0;
	}
	for (size_t i = 0; i < s->n_variants; i++) {
		if (strcmp(s->variants[i].name, name) == 0) {
			*out = i;
			return 0;
		}
	}
	return error_set(err, EXIT_RUNNER_ERROR, 0, "no variant '%s'", name);
}

static int find_bench(const struct bench_session *s, const char *name, size_t *out)
{
	for (size_t i = 0; i < s->n_benchmarks; i++) {
		if (strcmp(s->benchmarks[i].name, name) == 0) {
			*out = i;
			return 0;
		}
	}
	return -1;
}

/* Compare every benchmark of A that B has too (or the named one); a pair
 * of single-benchmark files is compared whatever the names. */
static int forensics_run(const struct forensics_request *fa, struct bench_session *sa,
                         struct bench_session *sb, json_t *out, struct error *err)
{
	size_t va, vb, done = 0;
	bool two = fa->file_b != NULL;

	if (find_variant(sa, fa->var_a, 0, &va, err) < 0 ||
	    find_variant(sb, fa->var_b, two ? 0 : 1, &vb, err) < 0)
		return -1;
	for (size_t i = 0; i < sa->n_benchmarks; i++) {
		struct forensic_side a, b;
		struct forensic_result r;
		size_t j = i;

		if (fa->bench && strcmp(sa->benchmarks[i].name, fa->bench) != 0)
			continue;
		if (two && find_bench(sb, sa->benchmarks[i].name, &j) < 0) {
			if (sa->n_benchmarks != 1 || sb->n_benchmarks != 1)
				continue;
			j = 0;
		}
		forensics_side(sa, i, va, fa->file_a, &a);
		forensics_side(sb, j, vb, two ? fa->file_b : fa->file_a, &b);
		forensics_compare(&a, &b, &r);
		if (done++)
			fputc('\n', stdout);
		forensics_print(stdout, &a, &b, &r);
		json_array_append_new(out, forensics_result_json(&a, &b, &r));
		forensics_result_free(&r);
		forensics_side_free(&a);
		forensics_side_free(&b);
	}
	if (done == 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "forensics: no benchmark in common%s%s",
		                 fa->bench ? " named " : "", fa->bench ? fa->bench : "");
	return 0;
}

int forensics_report(const struct forensics_request *fa, struct error *err)
{
	struct bench_session sa, sb;
	json_t *out = json_array();
	int rc = 0;

	bench_session_init(&sa);
	bench_session_init(&sb);
	if (load(fa->file_a, &sa, err) == 0 &&
	    (fa->file_b == NULL || load(fa->file_b, &sb, err) == 0))
		rc = forensics_run(fa, &sa, fa->file_b ? &sb : &sa, out, err);
	else
		rc = -1;
	if (rc == 0 && fa->json) {
		json_t *doc = json_pack("{s:s, s:i, s:o}", "schema", "pgo-sandbox-forensics",
		                        "schema_version", 1, "comparisons", json_incref(out));
		rc = json_file_write(fa->json, doc, JSON_INDENT(2) | JSON_SORT_KEYS, 0644, err);
		json_decref(doc);
	}
	json_decref(out);
	bench_session_free(&sa);
	bench_session_free(&sb);
	return rc;
}
