/* profile_diff.c - see profile_diff.h */
#define _GNU_SOURCE
#include "pipeline/profile_diff.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/cleanup.h"
#include "pipeline/pgo.h"
#include "pipeline/profdata.h"
#include "pipeline/stage_run.h"
#include "pipeline/toolchain.h"

/* ---- parsing ---- */

static void push_count(struct fn_counts *f, uint64_t v)
{
	f->counts = xrealloc(f->counts, (f->n + 1) * sizeof(*f->counts));
	f->counts[f->n++] = v;
}

static int parse_list(struct fn_counts *f, const char *p, unsigned line, struct error *err)
{
	while (*p && *p != ']') {
		char *end;
		unsigned long long v;

		while (*p == ' ' || *p == ',')
			p++;
		if (*p == ']')
			break;
		errno = 0;
		v = strtoull(p, &end, 10);
		if (end == p || errno != 0)
			return error_set(
			    err, EXIT_RUNNER_ERROR, 0,
			    "llvm-profdata show, line %u: a count expected at \"%.20s\"", line, p);
		push_count(f, v);
		p = end;
	}
	if (*p != ']')
		return error_set(err, EXIT_RUNNER_ERROR, 0, "llvm-profdata show, line %u: no ']'",
		                 line);
	return 0;
}

/* One line of the text form; `cur` is the function being read. */
static int parse_line(struct fn_table *t, const char *l, size_t len, unsigned line,
                      struct error *err)
{
	struct fn_counts *cur = t->n ? &t->f[t->n - 1] : NULL;
	char *end;

	/* "  NAME:" opens a function; deeper lines describe it */
	if (len > 3 && l[0] == ' ' && l[1] == ' ' && l[2] != ' ' && l[len - 1] == ':') {
		t->f = xrealloc(t->f, (t->n + 1) * sizeof(*t->f));
		memset(&t->f[t->n], 0, sizeof(t->f[0]));
		t->f[t->n++].name = strndup(l + 2, len - 3);
		return 0;
	}
	while (*l == ' ')
		l++;
	if (cur && strncmp(l, "Function count: ", 16) == 0) {
		push_count(cur, strtoull(l + 16, &end, 10));
		return 0;
	}
	if (cur && strncmp(l, "Block counts: [", 15) == 0)
		return parse_list(cur, l + 15, line, err);
	return 0; /* Hash, Counters, summary lines */
}

int profile_counts_parse(const char *text, struct fn_table *out, struct error *err)
{
	unsigned line = 1;

	memset(out, 0, sizeof(*out));
	for (const char *p = text; *p; line++) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *copy = strndup(p, len);
		int rc = parse_line(out, copy, len, line, err);

		free(copy);
		if (rc < 0) {
			fn_table_free(out);
			return -1;
		}
		p += len + (nl ? 1 : 0);
	}
	return 0;
}

void fn_table_free(struct fn_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->f[i].name);
		free(t->f[i].counts);
	}
	free(t->f);
	memset(t, 0, sizeof(*t));
}

/* ---- comparing ---- */

static uint64_t total(const struct fn_counts *f)
{
	uint64_t s = 0;

	for (size_t i = 0; f && i < f->n; i++)
		s += f->counts[i];
	return s;
}

static const struct fn_counts *find_fn(const struct fn_table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->f[i].name, name) == 0)
			return &t->f[i];
	return NULL;
}

static size_t counters_differ(const struct fn_counts *a, const struct fn_counts *b)
{
	size_t n = 0;

	if (a == NULL || b == NULL || a->n != b->n)
		return a ? a->n : b->n;
	for (size_t i = 0; i < a->n; i++)
		n += a->counts[i] != b->counts[i];
	return n;
}

static uint64_t magnitude(const struct fn_delta *d)
{
	return d->total_a > d->total_b ? d->total_a - d->total_b : d->total_b - d->total_a;
}

static int cmp_delta(const void *x, const void *y)
{
	const struct fn_delta *a = x, *b = y;
	uint64_t ma = magnitude(a), mb = magnitude(b);

	if (ma != mb)
		return ma < mb ? 1 : -1;
	return strcmp(a->name, b->name);
}

static void add_delta(struct fn_delta **out, size_t *n, const struct fn_counts *a,
                      const struct fn_counts *b)
{
	size_t differ = counters_differ(a, b);
	struct fn_delta *d;

	if (differ == 0)
		return;
	*out = xrealloc(*out, (*n + 1) * sizeof(**out));
	d = &(*out)[(*n)++];
	d->name = a ? a->name : b->name;
	d->total_a = total(a);
	d->total_b = total(b);
	d->counters = a ? a->n : b->n;
	d->counters_differ = differ;
}

size_t profile_counts_diff(const struct fn_table *a, const struct fn_table *b,
                           struct fn_delta **out)
{
	size_t n = 0;

	*out = NULL;
	for (size_t i = 0; i < a->n; i++)
		add_delta(out, &n, &a->f[i], find_fn(b, a->f[i].name));
	for (size_t i = 0; i < b->n; i++)
		if (find_fn(a, b->f[i].name) == NULL)
			add_delta(out, &n, NULL, &b->f[i]);
	if (n > 1)
		qsort(*out, n, sizeof(**out), cmp_delta);
	return n;
}

/* ---- names ---- */

static const struct {
	const char *code, *text;
} rust_escapes[] = {
    {"$LT$", "<"},  {"$GT$", ">"},  {"$C$", ","},   {"$RF$", "&"},   {"$BP$", "*"},
    {"$u20$", " "}, {"$u27$", "'"}, {"$u5b$", "["}, {"$u5d$", "]"},  {"$u7b$", "{"},
    {"$u7d$", "}"}, {"$u3b$", ";"}, {"$u2b$", "+"}, {"$u22$", "\""}, {"..", "::"},
};

/* Append one identifier with Rust's escapes decoded. */
static void append_ident(char **out, size_t *len, const char *p, size_t n)
{
	*out = xrealloc(*out, *len + 4 * n + 3);
	for (size_t i = 0; i < n;) {
		size_t k = 0;

		for (; k < sizeof(rust_escapes) / sizeof(rust_escapes[0]); k++) {
			size_t cl = strlen(rust_escapes[k].code);

			if (i + cl <= n && strncmp(p + i, rust_escapes[k].code, cl) == 0) {
				strcpy(*out + *len, rust_escapes[k].text);
				*len += strlen(rust_escapes[k].text);
				i += cl;
				break;
			}
		}
		if (k == sizeof(rust_escapes) / sizeof(rust_escapes[0]))
			(*out)[(*len)++] = p[i++];
	}
	(*out)[*len] = '\0';
}

/* A Rust legacy hash segment: 'h' and 16 hex digits. */
static bool is_rust_hash(const char *p, size_t n)
{
	if (n != 17 || p[0] != 'h')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isxdigit((unsigned char)p[i]))
			return false;
	return true;
}

char *profile_demangle(const char *name)
{
	const char *semi = strrchr(name, ';');
	const char *p = semi ? semi + 1 : name;
	char *out = NULL;
	size_t len = 0;

	if (strncmp(p, "_ZN", 3) != 0)
		return xstrdup(p);
	for (p += 3; isdigit((unsigned char)*p);) {
		char *end;
		unsigned long n = strtoul(p, &end, 10);

		if (n == 0 || strnlen(end, n) < n)
			break;
		if (!is_rust_hash(end, n)) {
			if (len > 0)
				append_ident(&out, &len, "::", 2);
			append_ident(&out, &len, end, n);
		}
		p = end + n;
	}
	if (out == NULL || *p != 'E') {
		free(out);
		return xstrdup(semi ? semi + 1 : name);
	}
	return out;
}

static bool has_word(const char *lower, const char *const *words)
{
	for (size_t i = 0; words[i]; i++)
		if (strstr(lower, words[i]))
			return true;
	return false;
}

const char *profile_likely_cause(const char *name)
{
	static const char *const threads[] = {"thread", "mutex",   "rwlock",  "spin",
	                                      "atomic", "spawn",   "condvar", "park",
	                                      "futex",  "channel", "sync",    NULL};
	static const char *const time[] = {"time", "clock", "instant", "elapsed", "duration", NULL};
	static const char *const random[] = {"hash", "rand", "seed", "entropy", "dict", NULL};
	static const char *const addresses[] = {"ptr", "addr", "pointer", NULL};
	char *lower = xstrdup(name);
	const char *cause = "unknown";

	for (char *c = lower; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (has_word(lower, threads))
		cause = "threads";
	else if (has_word(lower, time))
		cause = "time";
	else if (has_word(lower, random))
		cause = "randomness";
	else if (has_word(lower, addresses))
		cause = "addresses";
	free(lower);
	return cause;
}

/* ---- verify ---- */

/* Every *.profraw directly under dir/profile, sorted. */
static size_t raw_profiles(const char *dir, struct strv *out)
{
	char *pdir = xasprintf("%s/profile", dir);
	struct dirent **names = NULL;
	int n = scandir(pdir, &names, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]->d_name);

		if (len > 8 && strcmp(names[i]->d_name + len - 8, ".profraw") == 0)
			strv_pushf(out, "%s/%s", pdir, names[i]->d_name);
		free(names[i]);
	}
	free(names);
	free(pdir);
	return out->n;
}

/* Merge one run's raw profiles and read them back as text; NULL + why. */
static char *run_counts(const char *profdata, const char *dir, const char *merged, const char **why)
{
	char *envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C", NULL};
	char *show[] = {(char *)profdata, "show",         "--all-functions",
	                "--counts",       (char *)merged, NULL};
	struct strv argv = {0};
	char *text = NULL;
	struct stat st;
	size_t n_args;

	strv_push(&argv, profdata);
	strv_push(&argv, "merge");
	strv_push(&argv, "-o");
	strv_push(&argv, merged);
	n_args = argv.n;
	if (raw_profiles(dir, &argv) == n_args) {
		*why = "no raw profile (*.profraw) in the tarball";
	} else {
		free(pgo_command_output(argv.v, envp)); /* merge prints nothing */
		if (stat(merged, &st) < 0 || st.st_size == 0)
			*why = "llvm-profdata merge failed";
		else if ((text = pgo_command_output(show, envp)) == NULL)
			*why = "llvm-profdata show failed";
	}
	strv_free(&argv);
	return text;
}

/* The llvm-profdata that reads the pipeline's raw profiles, as the merge
 * role chooses it; NULL + why for gcc or when none fits. */
static char *choose_tool(const struct pipeline *pl, const char **why)
{
	struct toolchain_site site = {0};
	const struct toolchain *tc;
	struct profdata_choice pick;
	struct error err = {0};
	char *tool = NULL, *writer;

	if (toolchain_find(pl->compiler, &tc, &err) < 0 || tc->format != PROFILE_LLVM_RAW) {
		*why = "per-function counts are compared for LLVM profiles (clang, rustc) only";
		return NULL;
	}
	if (stage_locate_toolchain(pl, &site, &err) < 0) {
		*why = "the toolchain was not found";
		return NULL;
	}
	if (site.llvm_major == 0) {
		toolchain_site_free(&site);
		return xstrdup("llvm-profdata");
	}
	writer = xasprintf("%s (LLVM %u)", tc->name, site.llvm_major);
	if (profdata_choose(pgo_raw_version_for_llvm(site.llvm_major), writer, &site, &pick,
	                    &err) == 0) {
		tool = xstrdup(pick.host_path);
		profdata_choice_free(&pick);
	} else {
		*why = "no llvm-profdata reads this toolchain's raw profiles";
	}
	free(writer);
	toolchain_site_free(&site);
	return tool;
}

static void print_deltas(const struct fn_delta *d, size_t n, size_t total_fns, size_t limit)
{
	size_t causes[5] = {0};
	static const char *const names[] = {"randomness", "time", "threads", "addresses",
	                                    "unknown"};

	printf("verify: %zu of %zu functions have different counts (run 1 -> run 2):\n", n,
	       total_fns);
	for (size_t i = 0; i < n; i++) {
		char *name = profile_demangle(d[i].name);
		const char *cause = profile_likely_cause(name);

		for (size_t k = 0; k < 5; k++)
			causes[k] += strcmp(cause, names[k]) == 0;
		if (i < limit)
			printf("  %s: %llu -> %llu (%+.1f%%), %zu of %zu counters differ; likely "
			       "cause: %s\n",
			       name, (unsigned long long)d[i].total_a,
			       (unsigned long long)d[i].total_b,
			       d[i].total_a
			           ? 100.0 * ((double)d[i].total_b - (double)d[i].total_a) /
			                 (double)d[i].total_a
			           : 100.0,
			       d[i].counters_differ, d[i].counters, cause);
		free(name);
	}
	if (n > limit)
		printf("  ... and %zu more\n", n - limit);
	printf("verify: likely causes by function name:");
	for (size_t k = 0; k < 5; k++)
		if (causes[k])
			printf(" %s %zu", names[k], causes[k]);
	printf("\n");
}

void profile_diff_explain(const struct pipeline *pl, const char *dir_a, const char *dir_b,
                          const char *scratch, size_t limit)
{
	const char *why = NULL;
	_cleanup_free_ char *tool = choose_tool(pl, &why);
	_cleanup_free_ char *ma = xasprintf("%s/run1.profdata", scratch);
	_cleanup_free_ char *mb = xasprintf("%s/run2.profdata", scratch);
	_cleanup_free_ char *ta = NULL;
	_cleanup_free_ char *tb = NULL;
	_cleanup_(fn_table_freep) struct fn_table fa = {0};
	_cleanup_(fn_table_freep) struct fn_table fb = {0};
	_cleanup_free_ struct fn_delta *d = NULL;
	struct error err = {0};
	size_t n;

	if (tool)
		ta = run_counts(tool, dir_a, ma, &why);
	if (ta)
		tb = run_counts(tool, dir_b, mb, &why);
	if (tb == NULL) {
		printf("verify: profiles not compared per function: %s\n", why);
		return;
	}
	if (profile_counts_parse(ta, &fa, &err) < 0 || profile_counts_parse(tb, &fb, &err) < 0) {
		printf("verify: profiles not compared per function: %s\n", err.msg);
		return;
	}
	n = profile_counts_diff(&fa, &fb, &d);
	if (n == 0)
		printf("verify: every function has the same counts: the raw files differ in "
		       "encoding or order only\n");
	else
		print_deltas(d, n, fa.n > fb.n ? fa.n : fb.n, limit);
}
