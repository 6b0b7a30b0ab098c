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
	strbuf_printf(&s, "exec %s \"$1\" -o \"$2\" -data=%s %s\n", t->bolt, BOLT_MERGED_FDATA,
	              options ? options : BOLT_OPTIONS);
	rc = pgo_write_helper(path, s.s, s.len, err);
	free(s.s);
	return rc;
}

void bolt_parse_log(const char *log, size_t len, struct bolt_report *out)
{
	static const char stale[] = "samples in the binary (";
	static const char ignored[] = "BOLT-INFO: profile for ";
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
	free(text);
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
