/* callgrind.c - see callgrind.h */
#define _GNU_SOURCE
#include "bench/callgrind.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

char **callgrind_wrap(char *const *argv, const char *dir_inside)
{
	size_t n = 0, k = 0;
	char **out;

	while (argv[n])
		n++;
	out = xcalloc(n + 6, sizeof(char *));
	out[k++] = xstrdup("valgrind");
	out[k++] = xstrdup("--tool=callgrind");
	out[k++] = xasprintf("--callgrind-out-file=%s/%s", dir_inside, CALLGRIND_OUT_NAME);
	out[k++] = xasprintf("--log-file=%s/%s", dir_inside, CALLGRIND_LOG_NAME);
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
