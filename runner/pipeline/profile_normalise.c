/* profile_normalise.c - round a text LLVM profile's counters to a few
 * significant figures per function (see profile_normalise.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "pipeline/profile_normalise.h"

uint64_t profile_round_counter(uint64_t count, uint64_t max, unsigned digits)
{
	unsigned max_digits = 0;
	uint64_t q = 1, down;

	if (digits == 0 || count == 0)
		return count;
	for (uint64_t m = max; m; m /= 10)
		max_digits++;
	for (unsigned i = digits; i < max_digits; i++)
		q *= 10;
	if (q == 1)
		return count;
	/* from the multiple below: no overflow near UINT64_MAX */
	down = count - count % q;
	if (count % q < q / 2) /* half up (q is a power of ten >= 10, so even) */
		return down ? down : 1;
	if (down > UINT64_MAX - q)
		return down; /* the next multiple does not fit: round down */
	return down + q;
}

size_t profile_round_counters(uint64_t *counters, size_t n, unsigned digits)
{
	uint64_t max = 0;
	size_t changed = 0;

	for (size_t i = 0; i < n; i++)
		if (counters[i] > max)
			max = counters[i];
	for (size_t i = 0; i < n; i++) {
		uint64_t v = profile_round_counter(counters[i], max, digits);

		changed += v != counters[i];
		counters[i] = v;
	}
	return changed;
}

/* ---- the text form ---- */

struct text_reader {
	FILE *in;
	const char *name;
	unsigned long line;
	char *buf; /* PROFILE_NORMALISE_LINE_MAX + 1 */
};

/* The next line without its newline in r->buf: 1, 0 at end of file, -1 +
 * err when it is too long, holds a NUL byte, or reading fails. */
static int next_line(struct text_reader *r, struct error *err)
{
	size_t len = 0;
	int ch;

	while ((ch = getc(r->in)) != EOF && ch != '\n') {
		if (ch == '\0')
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "%s:%lu: a NUL byte in a text profile", r->name,
			                 r->line + 1);
		if (len == PROFILE_NORMALISE_LINE_MAX)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "%s:%lu: line longer than %u bytes", r->name, r->line + 1,
			                 PROFILE_NORMALISE_LINE_MAX);
		r->buf[len++] = (char)ch;
	}
	if (ferror(r->in))
		return error_set(err, EXIT_RUNNER_ERROR, errno, "%s:%lu: read", r->name,
		                 r->line + 1);
	if (ch == EOF && len == 0)
		return 0;
	r->buf[len] = '\0';
	r->line++;
	return 1;
}

/* A decimal counter: digits only, no sign, no overflow. */
static int parse_count(const struct text_reader *r, uint64_t *out, struct error *err)
{
	const char *s = r->buf;
	uint64_t v = 0;

	if (*s == '\0')
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "%s:%lu: expected a counter value, found an empty line", r->name,
		                 r->line);
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "%s:%lu: '%.40s' is not a counter value (decimal digits)",
			                 r->name, r->line, r->buf);
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "%s:%lu: counter value %.40s does not fit in 64 bits",
			                 r->name, r->line, r->buf);
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static int expect_line(struct text_reader *r, const char *what, struct error *err)
{
	int rc = next_line(r, err);

	if (rc < 0)
		return -1;
	if (rc == 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s:%lu: ends before %s", r->name,
		                 r->line, what);
	return 0;
}

static int put_line(FILE *out, const char *text, struct error *err)
{
	if (fputs(text, out) == EOF || fputc('\n', out) == EOF)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "write the normalised profile");
	return 0;
}

/* After "# Num Counters:": the count, "# Counter Values:", the values. */
static int round_function(struct text_reader *r, FILE *out, unsigned digits,
                          struct profile_normalise_stats *st, struct error *err)
{
	uint64_t n;
	_cleanup_free_ uint64_t *c = NULL;

	if (expect_line(r, "the number of counters", err) < 0 || parse_count(r, &n, err) < 0)
		return -1;
	if (n > PROFILE_NORMALISE_COUNTERS_MAX)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "%s:%lu: %llu counters in one function (at most %u)", r->name,
		                 r->line, (unsigned long long)n, PROFILE_NORMALISE_COUNTERS_MAX);
	if (put_line(out, r->buf, err) < 0 || expect_line(r, "\"# Counter Values:\"", err) < 0)
		return -1;
	if (strcmp(r->buf, "# Counter Values:") != 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "%s:%lu: expected \"# Counter Values:\", found '%.40s'", r->name,
		                 r->line, r->buf);
	if (put_line(out, r->buf, err) < 0)
		return -1;
	c = xcalloc(n ? n : 1, sizeof(*c));
	for (uint64_t i = 0; i < n; i++)
		if (expect_line(r, "the last counter value", err) < 0 ||
		    parse_count(r, &c[i], err) < 0)
			return -1;
	st->changed += profile_round_counters(c, (size_t)n, digits);
	for (uint64_t i = 0; i < n; i++)
		if (fprintf(out, "%llu\n", (unsigned long long)c[i]) < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno,
			                 "write the normalised profile");
	st->functions++;
	st->counters += n;
	return 0;
}

int profile_normalise_stream(FILE *in, const char *name, FILE *out, unsigned digits,
                             struct profile_normalise_stats *stats, struct error *err)
{
	struct text_reader r = {in, name, 0, xcalloc(PROFILE_NORMALISE_LINE_MAX + 1, 1)};
	struct profile_normalise_stats st = {0};
	int rc;

	while ((rc = next_line(&r, err)) > 0) {
		if (put_line(out, r.buf, err) < 0) {
			rc = -1;
			break;
		}
		if (strcmp(r.buf, "# Num Counters:") == 0 &&
		    round_function(&r, out, digits, &st, err) < 0) {
			rc = -1;
			break;
		}
	}
	free(r.buf);
	if (rc == 0 && st.functions == 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, 0,
		               "%s: no function's counters (is it the text form of an LLVM "
		               "profile, from llvm-profdata merge --text?)",
		               name);
	if (stats)
		*stats = st;
	return rc < 0 ? -1 : 0;
}

int profile_normalise_file(const char *in_path, const char *out_path, unsigned digits,
                           struct profile_normalise_stats *st, struct error *err)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp", out_path);
	_cleanup_fclose_ FILE *in = fopen(in_path, "re");
	FILE *out;
	int rc;

	if (in == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "open %s", in_path);
	out = fopen(tmp, "we");
	if (out == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "create %s", tmp);
	rc = profile_normalise_stream(in, in_path, out, digits, st, err);
	if (fclose(out) != 0 && rc == 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, errno, "write %s", tmp);
	if (rc == 0 && rename(tmp, out_path) < 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, errno, "rename %s to %s", tmp, out_path);
	if (rc < 0)
		unlink(tmp); /* nothing half-written stays behind */
	return rc;
}
