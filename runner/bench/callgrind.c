/* callgrind.c - see callgrind.h */
#define _GNU_SOURCE
#include "bench/callgrind.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench/valgrind_out.h"

char **callgrind_wrap(char *const *argv, const char *dir_inside)
{
	size_t n = 0, k = 0;
	char **out;

	while (argv[n])
		n++;
	out = xcalloc(n + 4 + VALGRIND_OUT_N_OPTIONS, sizeof(char *));
	out[k++] = xstrdup("valgrind");
	out[k++] = xstrdup("--tool=callgrind");
	valgrind_out_options("--callgrind-out-file", CALLGRIND_OUT_NAME, dir_inside, out, &k);
	out[k++] = xstrdup("--");
	for (size_t i = 0; i < n; i++)
		out[k++] = xstrdup(argv[i]);
	out[k] = NULL;
	return out;
}

/* The text after "key:" at the start of a line, or NULL. */
static const char *line_value(const char *text, const char *key)
{
	size_t klen = strlen(key);

	for (const char *line = text; line && *line;) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':')
			return line + klen + 1;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return NULL;
}

/* Index of Ir among the space-separated event names. */
static int ir_column(const char *events)
{
	int col = 0;
	const char *p = events;

	for (;;) {
		size_t len;

		p += strspn(p, " \t");
		if (*p == '\0' || *p == '\n')
			return -1;
		len = strcspn(p, " \t\n");
		if (len == 2 && strncmp(p, "Ir", 2) == 0)
			return col;
		p += len;
		col++;
	}
}

int callgrind_parse_ir(const char *text, uint64_t *ir, struct error *err)
{
	const char *events = line_value(text, "events");
	const char *totals = line_value(text, "summary");
	int col;

	if (totals == NULL)
		totals = line_value(text, "totals");
	if (events == NULL || totals == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "callgrind output: no events/summary line (did valgrind run?)");
	col = ir_column(events);
	if (col < 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "callgrind output: no Ir event");
	for (int i = 0;; i++) {
		char *end;
		unsigned long long v;

		totals += strspn(totals, " \t");
		if (*totals < '0' || *totals > '9')
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "callgrind output: summary has no Ir column");
		errno = 0;
		v = strtoull(totals, &end, 10);
		if (errno)
			return error_set(err, EXIT_RUNNER_ERROR, errno,
			                 "callgrind output: summary");
		if (i == col) {
			*ir = v;
			return 0;
		}
		totals = end;
	}
}

int callgrind_add_ir(const char *text, void *total, struct error *err)
{
	uint64_t ir;

	if (callgrind_parse_ir(text, &ir, err) < 0)
		return -1;
	*(uint64_t *)total += ir;
	return 0;
}
