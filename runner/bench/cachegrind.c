/* cachegrind.c - see cachegrind.h */
#define _GNU_SOURCE
#include "bench/cachegrind.h"
#include "bench/valgrind_out.h"
#include "base/cleanup.h"
#include "base/string_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const event_names[SIM_COUNT] = {
    "Ir", "I1mr", "ILmr", "Dr", "D1mr", "DLmr", "Dw", "D1mw", "DLmw", "Bc", "Bcm", "Bi", "Bim",
};

DEFINE_STRING_TABLE_TO_NAME(sim_event_name, enum sim_event, event_names, "unknown");

char **cachegrind_wrap(char *const *argv, const char *dir_inside)
{
	size_t n = 0, k = 0;
	char **out;

	while (argv[n])
		n++;
	out = xcalloc(n + 9 + VALGRIND_OUT_N_OPTIONS, sizeof(char *));
	out[k++] = xstrdup("valgrind");
	out[k++] = xstrdup("--tool=cachegrind");
	out[k++] = xstrdup("--cache-sim=yes");
	out[k++] = xstrdup("--branch-sim=yes");
	/* pinned: otherwise valgrind copies the host's caches (a 512 MiB
	 * 2-way LL on some hosts) and counts change with the machine */
	out[k++] = xstrdup("--I1=32768,8,64");
	out[k++] = xstrdup("--D1=32768,8,64");
	out[k++] = xstrdup("--LL=8388608,16,64");
	valgrind_out_options("--cachegrind-out-file", CACHEGRIND_OUT_NAME, dir_inside, out, &k);
	out[k++] = xstrdup("--");
	for (size_t i = 0; i < n; i++)
		out[k++] = xstrdup(argv[i]);
	out[k] = NULL;
	return out;
}

/* The text after "key:" at the start of a line, up to its end; NULL. */
static char *line_value(const char *text, const char *key)
{
	size_t klen = strlen(key);

	for (const char *line = text; line && *line;) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			const char *v = line + klen + 1;
			return xasprintf("%.*s", (int)strcspn(v, "\n"), v);
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return NULL;
}

static int event_index(const char *name, size_t len)
{
	for (int e = 0; e < SIM_COUNT; e++)
		if (strlen(event_names[e]) == len && strncmp(event_names[e], name, len) == 0)
			return e;
	return -1;
}

int cachegrind_parse(const char *text, struct sim_counters *out, struct error *err)
{
	_cleanup_free_ char *events = line_value(text, "events");
	_cleanup_free_ char *summary = line_value(text, "summary");
	const char *e, *v;
	unsigned seen = 0;

	memset(out, 0, sizeof(*out));
	if (events == NULL || summary == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "cachegrind output: no events/summary line (did valgrind run?)");
	for (e = events, v = summary;;) {
		size_t len;
		char *end;
		unsigned long long n;
		int idx;

		e += strspn(e, " \t");
		v += strspn(v, " \t");
		if (*e == '\0')
			break;
		len = strcspn(e, " \t");
		errno = 0;
		n = strtoull(v, &end, 10);
		if (end == v || errno)
			return error_set(err, EXIT_RUNNER_ERROR, errno,
			                 "cachegrind output: summary has no value for %.*s",
			                 (int)len, e);
		idx = event_index(e, len);
		if (idx >= 0) {
			out->v[idx] = n;
			seen |= 1u << idx;
		}
		e += len;
		v = end;
	}
	if (seen != (1u << SIM_COUNT) - 1)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "cachegrind output: events '%s' lack cache or branch simulation "
		                 "(--cache-sim=yes --branch-sim=yes)",
		                 events);
	return 0;
}

int cachegrind_add(const char *text, void *total, struct error *err)
{
	struct sim_counters one, *sum = total;

	if (cachegrind_parse(text, &one, err) < 0)
		return -1;
	for (int i = 0; i < SIM_COUNT; i++)
		sum->v[i] += one.v[i];
	return 0;
}

double sim_instruction_stalls(const struct sim_counters *s)
{
	return SIM_L1_MISS_CYCLES * (double)s->v[SIM_I1MR] +
	       SIM_LL_MISS_CYCLES * (double)s->v[SIM_ILMR];
}

double sim_data_stalls(const struct sim_counters *s)
{
	return SIM_L1_MISS_CYCLES * ((double)s->v[SIM_D1MR] + (double)s->v[SIM_D1MW]) +
	       SIM_LL_MISS_CYCLES * ((double)s->v[SIM_DLMR] + (double)s->v[SIM_DLMW]);
}

double sim_branch_stalls(const struct sim_counters *s)
{
	return SIM_MISPREDICT_CYCLES * ((double)s->v[SIM_BCM] + (double)s->v[SIM_BIM]);
}

double sim_estimated_cycles(const struct sim_counters *s)
{
	return (double)s->v[SIM_IR] + sim_instruction_stalls(s) + sim_data_stalls(s) +
	       sim_branch_stalls(s);
}

json_t *sim_counters_to_json(const struct sim_counters *s)
{
	json_t *o = json_object();

	for (int e = 0; e < SIM_COUNT; e++)
		json_object_set_new(o, event_names[e], json_integer((json_int_t)s->v[e]));
	json_object_set_new(o, "estimated_cycles", json_real(sim_estimated_cycles(s)));
	json_object_set_new(o, "source",
	                    json_string("cachegrind (simulated, " CACHEGRIND_GEOMETRY ")"));
	return o;
}

int sim_counters_from_json(const json_t *o, struct sim_counters *s, struct error *err)
{
	memset(s, 0, sizeof(*s));
	for (int e = 0; e < SIM_COUNT; e++) {
		const json_t *v = json_object_get(o, event_names[e]);

		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "cachegrind counters: %s is missing or not a count",
			                 event_names[e]);
		s->v[e] = (uint64_t)json_integer_value(v);
	}
	return 0;
}
