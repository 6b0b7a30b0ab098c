/* bench_rules_report.c - what the rules came to, for the terminal, Markdown and JSON
 * (bench_rules.h) */
#define _GNU_SOURCE
#include "bench/bench_rules.h"
#include "base/bytes_json.h"

#include <ctype.h>
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_analysis.h"
#include "bench/bench_recorded.h"
#include "bench/stats.h"
#include "base/strbuf.h"
#include "base/string_table.h"

/* QUANT_ONE has no word: a rule on the first benchmark names none */
static const char *const quant_names[] = {[QUANT_EVERY] = "every", [QUANT_ANY] = "any"};

static DEFINE_STRING_TABLE_TO_NAME(quant_name, enum rule_quantifier, quant_names, NULL);

/* "vs <= -5.00%": what a better/worse rule came to, for the reader. */
static char *condition_text(const struct rule *k)
{
	return xasprintf("%s vs %s %s %+.2f%%", k->x, k->y, rules_op_names[k->eff_op], k->eff_pct);
}

static void print_result(FILE *out, const char *indent, const struct rule_result *x)
{
	if (x->evaluated)
		fprintf(out, "%s%-16s %+.2f %% [%+.2f, %+.2f]  %s  (%s)\n", indent, x->bench_name,
		        x->est, x->lo, x->hi, x->holds ? "holds" : "does not hold", x->method);
	else
		fprintf(out, "%s%-16s n/a (%s)  does not hold\n", indent, x->bench_name,
		        x->why ? x->why : "too few runs");
}

void rules_print(FILE *out, const struct rules *r)
{
	fprintf(out, "decision (%s):\n", r->path);
	for (size_t i = 0; i < r->n_rules; i++) {
		const struct rule *k = &r->rules[i];
		char *cond = condition_text(k);

		fprintf(out, "  %-6s %-32s [%s: %s]\n", k->no_go ? "no-go" : "go", k->text,
		        k->metric_name ? k->metric_name : "?", cond);
		free(cond);
		for (size_t j = 0; j < k->n_res; j++)
			print_result(out, "      ", &k->res[j]);
		if (k->quant != QUANT_ONE)
			fprintf(out, "      %s: %s\n", quant_name(k->quant),
			        k->holds ? "holds" : "does not hold");
	}
	fprintf(out, "DECISION: %s - %s\n", decision_name(r->outcome), r->reason);
}

char *rules_markdown(const struct rules *r)
{
	struct strbuf b = {0};

	strbuf_printf(&b,
	              "\n#### Decision: **%s**\n\n%s\n\n| rule | metric | benchmark | value "
	              "(interval) | method | holds |\n|---|---|---|---|---|---|\n",
	              decision_name(r->outcome), r->reason);
	for (size_t i = 0; i < r->n_rules; i++) {
		const struct rule *k = &r->rules[i];

		for (size_t j = 0; j < k->n_res; j++) {
			const struct rule_result *x = &k->res[j];

			strbuf_printf(&b, "| %s %s | %s | %s | ", k->no_go ? "no-go" : "go",
			              k->text, k->metric_name, x->bench_name);
			if (x->evaluated)
				strbuf_printf(&b, "%+.2f %% [%+.2f, %+.2f] | %s | %s |\n", x->est,
				              x->lo, x->hi, x->method, x->holds ? "yes" : "no");
			else
				strbuf_printf(&b, "n/a | %s | no |\n",
				              x->why ? x->why : "too few runs");
		}
		if (k->quant != QUANT_ONE)
			strbuf_printf(&b, "| %s %s | %s | %s of %zu | | | **%s** |\n",
			              k->no_go ? "no-go" : "go", k->text, k->metric_name,
			              quant_name(k->quant), k->n_res, k->holds ? "yes" : "no");
	}
	return strbuf_take(&b);
}

static json_t *result_json(const struct rule_result *x)
{
	return json_pack("{s:s, s:b, s:o, s:o, s:o, s:i, s:s?, s:s?}", "benchmark", x->bench_name,
	                 "holds", x->holds, "value_pct",
	                 json_real_or_null(x->evaluated ? x->est : NAN), "ci_low_pct",
	                 json_real_or_null(x->evaluated ? x->lo : NAN), "ci_high_pct",
	                 json_real_or_null(x->evaluated ? x->hi : NAN), "n", (json_int_t)x->n,
	                 "method", x->method, "why", x->why);
}

static json_t *rule_json(const struct rule *k)
{
	json_t *res = json_array(), *held = json_array(), *failed = json_array(), *o;
	char *cond = condition_text(k);
	bool one = k->quant == QUANT_ONE;

	for (size_t j = 0; j < k->n_res; j++) {
		json_array_append_new(res, result_json(&k->res[j]));
		json_array_append_new(k->res[j].holds ? held : failed,
		                      json_string(k->res[j].bench_name));
	}
	o = json_pack("{s:s, s:s, s:i, s:b, s:o, s:o, s:o, s:i, s:s?, s:s?}", "kind",
	              k->no_go ? "no-go" : "go", "rule", k->text, "line", (json_int_t)k->line,
	              "holds", k->holds, "value_pct",
	              json_real_or_null(one && k->evaluated ? k->est : NAN), "ci_low_pct",
	              json_real_or_null(one && k->evaluated ? k->lo : NAN), "ci_high_pct",
	              json_real_or_null(one && k->evaluated ? k->hi : NAN), "n", (json_int_t)k->n,
	              "method", k->method, "why", k->why);
	json_object_set_new(o, "metric", json_string_or_null(k->metric_name));
	json_object_set_new(o, "condition", json_string(cond));
	json_object_set_new(o, "quantifier", one ? json_null() : json_string(quant_name(k->quant)));
	json_object_set_new(o, "benchmark",
	                    one && k->n_res ? json_string(k->res[0].bench_name) : json_null());
	json_object_set_new(o, "benchmarks", res);
	json_object_set_new(o, "held", held);
	json_object_set_new(o, "failed", failed);
	free(cond);
	return o;
}

json_t *rules_json(const struct rules *r)
{
	json_t *arr = json_array(), *warn = json_array();

	for (size_t i = 0; i < r->n_rules; i++)
		json_array_append_new(arr, rule_json(&r->rules[i]));
	for (size_t i = 0; i < r->n_warnings; i++)
		json_array_append_new(warn, json_string(r->warnings[i]));
	return json_pack("{s:s, s:s, s:s, s:i, s:o, s:o}", "source", r->path, "outcome",
	                 decision_name(r->outcome), "reason", r->reason ? r->reason : "",
	                 "exit_code",
	                 (json_int_t)(r->outcome == DECISION_GO      ? 0
	                              : r->outcome == DECISION_NO_GO ? BENCH_EXIT_NO_GO
	                                                             : BENCH_EXIT_NEUTRAL),
	                 "rules", arr, "warnings", warn);
}
