/* bolt.h - what the BOLT roles share: where llvm-bolt and merge-fdata are,
 * the helpers written into a stage (pgo-bolt-instrument, pgo-bolt), and
 * what llvm-bolt's output says about its profile.
 *
 * BOLT rewrites a linked binary: it needs the relocations the linker
 * dropped (-Wl,--emit-relocs: PGO_BOLT_LDFLAGS) and its symbols (not
 * stripped).  Instrumentation needs no PMU: the instrumented binary writes
 * its .fdata at exit; with one file per process (append-pid) shards and
 * runs merge with merge-fdata, whose output is sorted so that the merged
 * profile is a reproducible artifact. */
#ifndef PGO_BOLT_H
#define PGO_BOLT_H

#include <stdbool.h>
#include <stddef.h>

#include "pipeline/stage_ctx.h"

/* where an instrumented binary writes (…/bolt.fdata.<pid>.fdata) */
#define BOLT_FDATA_PREFIX PGO_OUT_DIR "/" PGO_PROFILE_SUBDIR "/bolt.fdata"
#define BOLT_MERGED_FDATA PGO_OUT_DIR "/" PGO_PROFILE_SUBDIR "/merged.fdata"
/* block and function reordering, hot/cold splitting; and the compiler's
 * block alignment kept: a function BOLT cannot lay out (a PIC jump table
 * it cannot follow) is copied without its alignment padding otherwise, and
 * minilang's interpreter loop then lost 9-30 % CPU time depending on where
 * its loop head landed; -preserve-blocks-alignment removed that loss
 * (docs/techniques.md, measured with bench/bolt-sweep.sh) */
#define BOLT_OPTIONS                                                                               \
	"-reorder-blocks=ext-tsp -reorder-functions=hfsort -split-functions -split-all-cold "      \
	"-preserve-blocks-alignment -dyno-stats"
/* a profile whose samples are mostly in functions it does not describe
 * is another binary's */
#define BOLT_MAX_STALE_PCT 50.0

struct bolt_tools {
	char *bolt;        /* llvm-bolt */
	char *merge_fdata; /* merge-fdata */
};

/* The newest /usr/lib/llvm-N/bin pair (the sandbox sees /usr as the host
 * does); -1 + err naming the package when there is none. */
int bolt_tools_find(struct bolt_tools *t, struct error *err);
void bolt_tools_free(struct bolt_tools *t);

/* pgo-bolt-instrument IN OUT: llvm-bolt -instrument writing to
 * BOLT_FDATA_PREFIX.<pid>.fdata. */
int bolt_write_instrument_script(const char *path, const struct bolt_tools *t, struct error *err);
/* pgo-bolt IN OUT: merge-fdata of `fdata` (sandbox paths) sorted into
 * BOLT_MERGED_FDATA, then llvm-bolt with `options` (NULL: BOLT_OPTIONS;
 * the pipeline's `bolt-options`, checked by config to be plain words). */
int bolt_write_optimize_script(const char *path, const struct bolt_tools *t, char *const *fdata,
                               size_t n, const char *options, struct error *err);

/* room for the names of the functions whose jump tables llvm-bolt could
 * not follow; more are counted, not named */
#define BOLT_UNFOLLOWED_NAMES 8
#define BOLT_NAME_MAX 128

struct bolt_report {
	long profiled, functions; /* "N out of M functions ... non-empty profile" */
	double stale_pct;         /* samples in functions with a stale profile */
	long ignored_objects;     /* "profile for N objects was ignored" */
	long not_optimized;       /* "N functions with profile could not be optimized" */
	/* "failed to post-process indirect branches for NAME/1": functions whose
	 * indirect jumps (a switch's jump table) llvm-bolt cannot follow.  It
	 * copies them unchanged, so only their address moves; on minilang that
	 * is the interpreter loop, whose alignment then decides the wall time
	 * (docs/techniques.md).  crt's register_tm_clones and
	 * deregister_tm_clones and gcc's NAME.cold fragments, never hot, are
	 * left out. */
	size_t n_unfollowed;
	char unfollowed[BOLT_UNFOLLOWED_NAMES][BOLT_NAME_MAX];
	bool seen; /* the coverage line was found */
};
void bolt_parse_log(const char *log, size_t len, struct bolt_report *out);
/* "run_source, vm_run (+2 more)" into buf; "" when there are none */
void bolt_unfollowed_list(const struct bolt_report *r, char *buf, size_t size);
/* Say which functions BOLT copied unchanged and why (one line on stdout,
 * stage STAGE), and record them in the stage's results object `bolt`:
 * not_optimized, jump_tables_not_followed.  Nothing when there are none. */
void bolt_report_unfollowed(const char *stage, const struct bolt_report *r, json_t *bolt);

/* A BOLT-ERROR of the log in this pipeline's terms, or NULL. */
const char *bolt_explain(const char *log, size_t len);
/* The BOLT roles' explain_failure: bolt_explain of the stage's log. */
void bolt_explain_stage_failure(const struct stage_ctx *c, int rc, struct error *err);

#endif
