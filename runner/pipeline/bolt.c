/* bolt.c - see bolt.h */
#define _GNU_SOURCE
#include "pipeline/bolt.h"

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/shellwords.h"
#include "base/strbuf.h"

int bolt_tools_find(struct bolt_tools *t, struct error *err)
{
	glob_t g;

	memset(t, 0, sizeof(*t));
	if (glob("/usr/lib/llvm-*/bin/llvm-bolt", 0, NULL, &g) == 0) {
		/* newest first; glob sorts "llvm-19" after "llvm-18" */
		for (size_t i = g.gl_pathc; i-- > 0 && t->bolt == NULL;) {
			char *fdata = xasprintf("%.*s/merge-fdata",
			                        (int)(strrchr(g.gl_pathv[i], '/') - g.gl_pathv[i]),
			                        g.gl_pathv[i]);

			if (access(g.gl_pathv[i], X_OK) == 0 && access(fdata, X_OK) == 0) {
				t->bolt = xstrdup(g.gl_pathv[i]);
				t->merge_fdata = fdata;
			} else {
				free(fdata);
			}
		}
		globfree(&g);
	}
	if (t->bolt == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "no llvm-bolt with merge-fdata under /usr/lib/llvm-*/bin: install "
		                 "bolt-19 (apt-get install bolt-19)");
	return 0;
}

void bolt_tools_free(struct bolt_tools *t)
{
	free(t->bolt);
	free(t->merge_fdata);
	memset(t, 0, sizeof(*t));
}

int bolt_write_instrument_script(const char *path, const struct bolt_tools *t, struct error *err)
{
	char *text = xasprintf("#!/bin/sh\n"
	                       "# pgo-bolt-instrument IN OUT: written by pgo-sandbox\n"
	                       "set -eu\n"
	                       "exec %s \"$1\" -instrument -o \"$2\" \\\n"
	                       "\t--instrumentation-file=%s --instrumentation-file-append-pid\n",
	                       t->bolt, BOLT_FDATA_PREFIX);
	int rc = pgo_write_helper(path, text, strlen(text), err);

	free(text);
	return rc;
}

int bolt_write_optimize_script(const char *path, const struct bolt_tools *t, char *const *fdata,
                               size_t n, const char *options, struct error *err)
{
	struct strbuf s = {0};
	int rc;

	strbuf_printf(
	    &s, "#!/bin/sh\n# pgo-bolt IN OUT: written by pgo-sandbox\nset -eu\nmkdir -p %s/%s\n",
	    PGO_OUT_DIR, PGO_PROFILE_SUBDIR);
	/* sorted: merge-fdata's order follows its inputs, BOLT ignores it */
	strbuf_printf(&s, "%s", t->merge_fdata);
	for (size_t i = 0; i < n; i++) {
		char *q = shellwords_quote_always(fdata[i]);

		strbuf_printf(&s, " \\\n\t%s", q);
		free(q);
	}
	strbuf_printf(&s, " | LC_ALL=C sort > %s\n", BOLT_MERGED_FDATA);
	/* -v=1: only then does llvm-bolt name the functions whose jump tables it
	 * cannot follow (bolt_parse_log); it changes the log, not the output.
	 * -no-threads: its worker threads write those warnings unbuffered, in
	 * pieces, and two warnings' pieces interleave (a full check lost
	 * run_source that way); one thread gives the same code (.text and
	 * every section but the note recording the command line compared on
	 * minilang) in about the same time. */
	strbuf_printf(&s, "exec %s \"$1\" -o \"$2\" -data=%s -v=1 -no-threads %s\n", t->bolt,
	              BOLT_MERGED_FDATA, options ? options : BOLT_OPTIONS);
	rc = pgo_write_helper(path, s.s, s.len, err);
	free(s.s);
	return rc;
}

/* Whether NAME is not worth naming: crt's stubs (llvm-bolt cannot follow
 * their indirect tail jumps either, in every binary, and they never run
 * hot) and the cold fragments gcc split off (NAME.cold: cold by the
 * profile that split them; their parent is named when it counts). */
static bool never_hot(const char *name)
{
	return strcmp(name, "register_tm_clones") == 0 ||
	       strcmp(name, "deregister_tm_clones") == 0 || strstr(name, ".cold") != NULL;
}

static void add_unfollowed(struct bolt_report *out, const char *name, size_t len)
{
	char buf[BOLT_NAME_MAX];
	size_t named =
	    out->n_unfollowed < BOLT_UNFOLLOWED_NAMES ? out->n_unfollowed : BOLT_UNFOLLOWED_NAMES;

	if (len == 0 || len >= sizeof(buf))
		return;
	memcpy(buf, name, len);
	buf[len] = '\0';
	if (never_hot(buf))
		return;
	for (size_t i = 0; i < named; i++)
		if (strcmp(out->unfollowed[i], buf) == 0)
			return; /* llvm-bolt warns once per pass */
	if (named < BOLT_UNFOLLOWED_NAMES)
		memcpy(out->unfollowed[named], buf, len + 1);
	out->n_unfollowed++;
}

/* "failed to post-process indirect branches for NAME/1(*2)": the name ends
 * at the '/' of BOLT's suffix.  llvm-bolt's threads can interleave two
 * warnings on one line ("... for BOLT-WARNING: failed ... for NAME/1"), so
 * a name that is another warning's start is skipped. */
static void parse_unfollowed(const char *text, struct bolt_report *out)
{
	static const char needle[] = "failed to post-process indirect branches for ";

	for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) {
		const char *name = p + strlen(needle);

		if (strncmp(name, "BOLT-", 5) == 0)
			continue;
		add_unfollowed(out, name, strcspn(name, "/( \t\n"));
	}
}

void bolt_parse_log(const char *log, size_t len, struct bolt_report *out)
{
	static const char stale[] = "samples in the binary (";
	static const char ignored[] = "BOLT-INFO: profile for ";
	static const char not_optimized[] = " functions with profile could not be optimized";
	char *text = xasprintf("%.*s", (int)len, log);
	const char *p;

	memset(out, 0, sizeof(*out));
	for (p = strstr(text, "BOLT-INFO: "); p; p = strstr(p + 1, "BOLT-INFO: ")) {
		long a, b;

		if (sscanf(p, "BOLT-INFO: %ld out of %ld functions in the binary", &a, &b) == 2) {
			out->profiled = a;
			out->functions = b;
			out->seen = true;
		}
	}
	for (p = strstr(text, "BOLT-WARNING: "); p; p = strstr(p + 1, "BOLT-WARNING: ")) {
		const char *s = strstr(p, stale);
		const char *nl = strchr(p, '\n');

		if (s && (nl == NULL || s < nl))
			out->stale_pct = strtod(s + strlen(stale), NULL);
	}
	p = strstr(text, ignored);
	if (p)
		out->ignored_objects = strtol(p + strlen(ignored), NULL, 10);
	p = strstr(text, not_optimized);
	if (p) {
		/* the count precedes the phrase: back up over "BOLT-INFO: N" */
		const char *q = p;

		while (q > text && q[-1] >= '0' && q[-1] <= '9')
			q--;
		out->not_optimized = strtol(q, NULL, 10);
	}
	parse_unfollowed(text, out);
	free(text);
}

void bolt_unfollowed_list(const struct bolt_report *r, char *buf, size_t size)
{
	size_t named =
	    r->n_unfollowed < BOLT_UNFOLLOWED_NAMES ? r->n_unfollowed : BOLT_UNFOLLOWED_NAMES;
	size_t used = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < named && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
		                         r->unfollowed[i]);
	if (r->n_unfollowed > named && used < size)
		snprintf(buf + used, size - used, " (+%zu more)", r->n_unfollowed - named);
}

void bolt_report_unfollowed(const char *stage, const struct bolt_report *r, json_t *bolt)
{
	char names[BOLT_UNFOLLOWED_NAMES * (BOLT_NAME_MAX + 2) + 32];
	json_t *list = json_array();

	json_object_set_new(bolt, "not_optimized", json_integer(r->not_optimized));
	for (size_t i = 0; i < r->n_unfollowed && i < BOLT_UNFOLLOWED_NAMES; i++)
		json_array_append_new(list, json_string(r->unfollowed[i]));
	json_object_set_new(bolt, "jump_tables_not_followed", list);
	if (r->n_unfollowed == 0)
		return;
	bolt_unfollowed_list(r, names, sizeof(names));
	/* Measured on fixtures/minilang (docs/techniques.md): the interpreter
	 * loop is such a function in a PIE; its wall time then follows only
	 * where BOLT puts it, and a non-PIE link lets BOLT lay it out. */
	printf("pgo-sandbox: %s: BOLT cannot follow the jump tables of %s: it copies them "
	       "unchanged (no block layout or splitting; only their address moves). In a PIE "
	       "this is usually the position-independent jump-table form: a non-PIE link "
	       "(-no-pie) lets BOLT lay them out (docs/techniques.md)\n",
	       stage, names);
}

const char *bolt_explain(const char *log, size_t len)
{
	static const struct {
		const char *needle, *meaning;
	} known[] = {
	    {"require relocations",
	     "llvm-bolt needs the relocations the linker dropped: link the input with "
	     "$PGO_BOLT_LDFLAGS (-Wl,--emit-relocs; for rustc -Clink-args=-Wl,--emit-relocs)"},
	    {"only works when relocations are enabled",
	     "llvm-bolt needs the relocations the linker dropped: link the input with "
	     "$PGO_BOLT_LDFLAGS (-Wl,--emit-relocs)"},
	    {"stripped binaries are not supported",
	     "llvm-bolt cannot rewrite a stripped binary: strip after BOLT, not before"},
	    {"no valid profile data found",
	     "the merged .fdata holds no profile: did bolt-train run the instrumented binary "
	     "to a normal exit?"},
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (memmem(log, len, known[i].needle, strlen(known[i].needle)))
			return known[i].meaning;
	return NULL;
}

void bolt_explain_stage_failure(const struct stage_ctx *c, int rc, struct error *err)
{
	size_t len;
	char *log = stage_read_log(c, &len);
	const char *why = bolt_explain(log, len);

	(void)rc;
	if (why)
		error_prefix(err, "%s", why);
	free(log);
}
