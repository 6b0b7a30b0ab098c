/* pgo.h - what the runner knows about gcc and clang PGO: the role a stage
 * plays in the pipeline, the flags and environment that decide where
 * profiles go, the merge helper, raw profile checks (format, version,
 * damage), profile coverage, and the build diagnostics that mean a profile
 * was not used.
 *
 * Fixed layout inside every stage (so the absolute paths compilers bake
 * into objects, .gcda names and debug info are the same in every stage):
 *   /src                the source tree, read-only
 *   /build              the stage's working tree (cwd), fresh each run
 *   /build/out          what the stage outputs (packed into its tarball)
 *   /build/in/NAME      the extracted artifact of input stage NAME, read-only
 *                       (NAME/IofN/ for each shard of a sharded stage)
 *   /build/.pgo/bin     runner helpers on PATH: pgo-shard, pgo-merge */
#ifndef PGO_PGO_H
#define PGO_PGO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strv.h"
#include "base/util.h"

#define PGO_SRC_DIR "/src"
#define PGO_BUILD_DIR "/build"
#define PGO_OUT_DIR "/build/out"
#define PGO_IN_DIR "/build/in"
#define PGO_HELPER_DIR "/build/.pgo/bin"
#define PGO_PROFILE_SUBDIR "profile"
#define PGO_MERGED_PROFDATA "merged.profdata"
/* function-order: the merge writes it next to the merged profile */
#define PGO_SYMBOL_ORDER "symbol-order.txt"
/* A copy of the runner binary for the merge stage's profile-normalise. */
#define PGO_NORMALISER "pgo-sandbox"
/* Every object of every stage gets the same seed: gcc otherwise stamps
 * .gcda/.gcno and the instrumented binary with a random value. */
#define PGO_RANDOM_SEED "pgo-sandbox"

/* A stage's role comes from its name in the pipeline file. */
enum stage_role {
	ROLE_PLAIN, /* any other name: just run the command */
	ROLE_INSTRUMENT,
	ROLE_TRAIN,
	ROLE_MERGE,
	ROLE_BUILD,
	ROLE_BENCH,
	ROLE_BOLT_INSTRUMENT,
	ROLE_BOLT_TRAIN,
	ROLE_BOLT,
	/* context-sensitive IR PGO (clang): a second instrumentation of the
	 * PGO-optimised build, its training, and the merge of both passes */
	ROLE_CS_INSTRUMENT,
	ROLE_CS_TRAIN,
	ROLE_CS_MERGE,
};

/* What a pipeline stacks on IR PGO ([pipeline] keys; recorded in every
 * stage's provenance and cache key).  The toolchain turns it into flags
 * (toolchain.h) or refuses what it cannot do. */
struct pgo_recipe {
	const char *cc;       /* `cc =`: the compiler command (clang-19); NULL: the toolchain's */
	bool function_order;  /* `function-order = yes`: temporal profile -> symbol order */
	bool split_functions; /* `split-machine-functions = yes` */
	const char *symbol_order; /* build: the order file inside the sandbox; NULL: none */
	const char *cs_base;      /* cs-instrument: the first pass's profile inside; NULL: none */
};

/* What training writes (toolchain.h says which toolchain writes which). */
enum profile_format {
	PROFILE_GCDA,     /* gcc: .gcda per object, merged with gcov-tool */
	PROFILE_LLVM_RAW, /* clang, rustc: .profraw, merged with llvm-profdata */
};

/* ".gcda" or ".profraw": the files training writes. */
const char *pgo_raw_suffix(enum profile_format format);

/* A build-log line that means the profile was not used as built. */
struct diag_pattern {
	const char *needle;
	const char *what;
	bool stale; /* out of date rather than not found */
};

/* The variables of a stage every toolchain shares: PGO_SRC, PGO_OUT,
 * PGO_IN, PATH (the helpers, then `path_prefix`), PGO_PROFILE (build,
 * `profile_input` naming the merge stage), PGO_SHARD/PGO_SHARDS (train).
 * The toolchain adds its flags (toolchain.h). */
void pgo_stage_env(enum profile_format format, enum stage_role role, const char *profile_input,
                   unsigned shard, unsigned shards, const char *path_prefix, struct strv *env);
/* The merged profile of `profile_input` inside the sandbox (caller
 * frees). */
char *pgo_profile_path(enum profile_format format, const char *profile_input);
/* Variables the runner forces last, whatever the user set: where a
 * training run's profiles land (LLVM_PROFILE_FILE; GCOV_PREFIX and
 * GCOV_PREFIX_STRIP). */
void pgo_forced_env(enum profile_format format, enum stage_role role, struct strv *env);
/* Training roles (train, cs-train): sharded, ASLR off, profiles forced
 * into /build/out/profile. */
bool pgo_role_trains(enum stage_role role);

/* ---- training = threaded (docs/bench.md) ---- */

/* Append " extra" to the last NAME=... of `env` (NAME=extra when unset). */
void pgo_env_append(struct strv *env, const char *name, const char *extra);

/* Threads of a training run run in parallel only on two CPUs or more:
 * widen `mask` (the profile's set; `*set` false means every CPU, left
 * alone) with the lowest CPUs of `allowed` (the runner's affinity) until
 * it holds `want`, or `allowed` runs out.  Returns how many it holds. */
unsigned pgo_widen_cpus(uint8_t mask[CPU_LIST_MAX / 8], bool *set,
                        const uint8_t allowed[CPU_LIST_MAX / 8], unsigned want);

/* The share of raw profiles a merge must read for what remains to stand
 * for the training (unreadable ones are quarantined): 90 %. */
#define PGO_MERGE_MIN_READABLE_PCT 90
/* Whether `n - n_bad` readable raw profiles of `n` cover the training
 * (at least PGO_MERGE_MIN_READABLE_PCT %, and one). */
bool pgo_merge_covers(size_t n, size_t n_bad);
/* Where an unreadable raw profile is kept in the merge's artifact:
 * profile/quarantine/<label with '/' and ':' as '_'>.quarantined, relative
 * to /build/out (caller frees). */
char *pgo_quarantine_name(const char *label);
#define PGO_QUARANTINE_SUBDIR PGO_PROFILE_SUBDIR "/quarantine"

/* Occurrences of `needle` in a build log (not overlapping). */
unsigned pgo_count_in_log(const char *log, size_t len, const char *needle);

/* Scan a build log for the toolchain's diagnostics that mean the profile
 * was missing, out of date or mismatched.  0 when clean; -1 + err (one
 * paragraph naming the diagnostic, how many, the first occurrence and the
 * fix) otherwise. */
int pgo_scan_build_log(const struct diag_pattern *pats, size_t n_pats, const char *log, size_t len,
                       struct error *err);

/* Profile coverage: instrumented functions, and those with a non-zero
 * counter. */
struct profile_coverage {
	uint64_t functions;
	uint64_t executed;
};

/* One raw profile file checked on the host before merging. */
struct raw_profile {
	char *host_path;    /* where the runner reads it */
	char *sandbox_path; /* the same file inside the merge sandbox */
	char *label;        /* "train.1of2:profile/x.profraw" for messages */
	unsigned shard;     /* index into the shard dirs (gcc), from 0 */
	bool bad;
	char why[ERROR_MSG_MAX];
};

/* Check a clang raw profile: magic, header, sizes; its format version
 * against `expected_version` (0: not checked).  Adds its functions to
 * `cov_keys` for the coverage union.  -1 + err naming the file. */
struct coverage_set;
struct coverage_set *coverage_set_new(void);
void coverage_set_free(struct coverage_set *s);
/* For `_cleanup_(coverage_set_freep) struct coverage_set *cov`. */
static inline void coverage_set_freep(struct coverage_set **s)
{
	coverage_set_free(*s);
}
void coverage_set_result(const struct coverage_set *s, struct profile_coverage *out);
int profraw_check(const char *path, uint64_t expected_version, struct coverage_set *cov,
                  struct error *err);
/* Check a gcc .gcda: magic, version (expected "B22*"-style tag, 0 = not
 * checked), record structure.  Sets *has_values when it holds value-profile
 * counters.  Adds its functions to `cov` (may be NULL). */
int gcda_check(const char *path, uint32_t expected_version, bool *has_values,
               struct coverage_set *cov, struct error *err);

/* Versions of the host's tools (when the stage image is the host):
 * llvm-profdata's LLVM major and the raw profile version it reads (0 when
 * unknown), gcc's .gcda version tag.  Never fail: 0 means unknown. */
unsigned pgo_probe_llvm_major(void);
/* The LLVM major of the llvm-profdata at `profdata` (0: unknown). */
unsigned pgo_llvm_major_of(const char *profdata);
/* Run argv (PATH lookup in the sandbox's PATH, C locale) and return its
 * standard output, or NULL when it cannot be run or fails. */
char *pgo_probe_output(char *const argv[]);
/* The same with the environment `envp` (PATH lookup in its PATH). */
char *pgo_command_output(char *const argv[], char *const envp[]);
uint64_t pgo_raw_version_for_llvm(unsigned llvm_major);
uint32_t pgo_probe_gcda_version(void);

/* What a merge adds to folding raw profiles together (LLVM only). */
struct merge_extras {
	/* cs-merge: the first pass's indexed profile, merged with the
	 * context-sensitive raw profiles (NULL: none) */
	const char *base_profile;
	/* cs-merge: the first pass's symbol order, carried to the output */
	const char *carry_order;
	/* function-order: `llvm-profdata order` writes profile/symbol-order.txt */
	bool symbol_order;
	/* profile-normalise = N (> 0): the merged profile's counters rounded
	 * to N significant figures with PGO_HELPER_DIR/PGO_NORMALISER
	 * (profile_normalise.h), which the merge role puts there */
	unsigned normalise;
};

/* Write the pgo-merge helper for the merge sandbox: merges the good
 * profiles of `profiles` (grouped per shard for gcc, `shard_dirs` being the
 * sandbox paths of each shard's profile dir) into /build/out/profile;
 * `profdata` is the llvm-profdata to run (NULL: the one on PATH); `extras`
 * may be NULL. */
int pgo_write_merge_script(const char *path, enum profile_format format, const char *profdata,
                           const struct raw_profile *profiles, size_t n_profiles,
                           const char *const *shard_dirs, size_t n_shards, bool failure_mode_all,
                           const struct merge_extras *extras, struct error *err);
/* Lines of the merge helper that keep the bad profiles of `p` under
 * PGO_QUARANTINE_SUBDIR with a REASONS file naming each and why (nothing
 * when none is bad); appended to `s` (a struct strbuf). */
struct strbuf;
void pgo_quarantine_script(struct strbuf *s, const struct raw_profile *p, size_t n);
/* Write a helper script for the stage's PATH, atomically, mode 0755. */
int pgo_write_helper(const char *path, const char *text, size_t len, struct error *err);

/* Write the pgo-shard helper: prints its arguments that belong to this
 * shard (round robin over the byte-sorted list). */
int pgo_write_shard_script(const char *path, struct error *err);

#endif
