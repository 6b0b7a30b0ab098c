/* config.h - sandbox profiles (profiles/NAME.ini) and pipeline files
 * (pgo-pipeline.ini in the user's repository), parsed with inih.
 *
 * INI in the systemd-unit spirit: sections, `key = value`, repeatable keys
 * for lists, `;`/`#` comments.  Unknown sections or keys, bad values and
 * missing files are errors naming file, line and key:
 *
 *	profiles/build.ini:7: memory: '12Q' is not a size (suffixes: K, M, G, T)
 *
 * Syntax rules worth knowing (they come from inih):
 *  - a line holds at most 198 characters; `command`, `inputs` and `outputs`
 *    continue on indented lines (command lines are joined with newlines,
 *    so they run as a multi-line shell script);
 *  - `;` after whitespace starts a comment, also inside a value: write
 *    `make;make install` or `&&` in commands, never ` ; `;
 *  - values are literal: no quoting, no escapes;
 *  - files are UTF-8 text, at most 1 MiB; no control characters but tab
 *    and CR;
 *  - a key that is not repeatable may appear once per section and file
 *    (includes may still override it). */
#ifndef PGO_CONFIG_H
#define PGO_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/spec.h"
#include "base/util.h"

/* A sandbox profile: every knob a stage's sandbox takes.  Zero and NULL
 * mean "not set" (profile_apply then leaves the spec's value alone). */
/* `entropy =` of a profile: deterministic entropy (sandbox/entropy.h)
 * keyed by the stage's definition digest, or the host's; by default the
 * train, bolt-train and bench roles get deterministic entropy. */
enum profile_entropy {
	PROFILE_ENTROPY_DEFAULT,
	PROFILE_ENTROPY_DETERMINISTIC,
	PROFILE_ENTROPY_HOST,
};

struct profile {
	char *name;          /* file name without .ini */
	char *path;          /* absolute path of the top-level file */
	char *cpus;          /* "0-1" or NULL */
	uint64_t memory_max; /* bytes, 0 = unset */
	uint64_t pids_max;   /* 0 = unset */
	uint64_t timeout_ns; /* 0 = none */
	uint64_t tmpfs_size; /* 0 = default */
	bool no_turbo;
	char *governor; /* NULL = leave */
	bool no_aslr;
	bool allow_perf;
	bool allow_ptrace;
	enum profile_entropy entropy;
	char **env; /* "K=V", in file order, later wins */
	size_t n_env;
	char **keep_env; /* caller variable names */
	size_t n_keep_env;
	struct rlimit_spec rlimits[SPEC_MAX_RLIMITS];
	size_t n_rlimits;
	bool strict;
	char *rlimit_names[SPEC_MAX_RLIMITS]; /* "core", ... for rlimits[i] */
	char **includes;                      /* names of included files, in the order applied */
	size_t n_includes;
};

/* Load a profile; `include = other.ini` (relative to the including file)
 * is applied first, then this file's keys override.  Include cycles are
 * errors.  Keys: include, cpus, memory, pids, timeout, tmpfs-size, turbo
 * (on|off), governor, aslr (on|off), network (only "off" is accepted), env
 * (K=V, repeatable), keep-env (repeatable), seccomp-allow (perf_event_open,
 * ptrace; comma separated), rlimit (NAME=SOFT[:HARD], repeatable), strict,
 * entropy (deterministic|host|default).
 *
 * All keys live in one `[sandbox]` section.  Booleans are on|off or
 * true|false.  include, env, keep-env and rlimit are repeatable and
 * accumulate across includes; a later env (or rlimit) of the same name
 * replaces the earlier one and moves to the end.  seccomp-allow = none
 * clears what an include allowed.  On failure `out` is left empty. */
int profile_load(const char *path, struct profile *out, struct error *err);
/* Find "<name>.ini" in `profiles_dir` and load it; `name` is [a-z0-9_-]+. */
int profile_load_named(const char *profiles_dir, const char *name, struct profile *out,
                       struct error *err);
/* The profiles directory when a pipeline names none, first match wins:
 *  1. $PGO_SANDBOX_PROFILES, when set and not empty (used as given);
 *  2. <dir of the pgo-sandbox binary>/../share/pgo-sandbox/profiles, if it
 *     is a directory (installed layout);
 *  3. <dir of the pgo-sandbox binary>/../profiles (the repository layout:
 *     build/pgo-sandbox -> profiles/).
 * (A pipeline's `profiles =` key comes before all of these.)  Caller frees. */
int profile_default_dir(char **out, struct error *err);
/* Copy the profile's knobs into a sandbox spec (spec_init'ed): cpus,
 * memory, pids, timeout and tmpfs-size when the profile sets them; env
 * replaces same-named set_env entries; keep-env and rlimits merge (an
 * rlimit replaces the spec's one for the same resource); governor when
 * set; turbo, aslr, seccomp-allow and strict always (the profile decides,
 * so apply command-line overrides after it).  Nothing changes on failure.
 * Strings are copied, spec_free frees them. */
int profile_apply(const struct profile *p, struct sandbox_spec *spec, struct error *err);
/* Canonical JSON of the effective profile for provenance: keys inserted in
 * sorted order (dump with JSON_SORT_KEYS anyway), env and rlimits as
 * sorted objects, keep_env sorted, cpus in canonical form, and only the
 * profile's name, never a host path.  Sizes in bytes, timeout in ns,
 * unlimited rlimits as "unlimited".  NULL when out of memory or when the
 * file name is not UTF-8. */
json_t *profile_to_json(const struct profile *p);
void profile_free(struct profile *p);

#define PIPELINE_MAX_STAGES 32

struct stage_def {
	char *name;    /* [stage NAME] */
	int line;      /* line of the section header */
	char *profile; /* profile name, e.g. "build" */
	char **inputs; /* "source" or names of earlier stages */
	size_t n_inputs;
	char *command;  /* run by /bin/sh -c inside the sandbox */
	char **outputs; /* paths relative to the stage's /build/out */
	size_t n_outputs;
	unsigned shards; /* train stages: default 1 */
	char **env;      /* stage-specific "K=V" on top of the profile */
	size_t n_env;
	unsigned profile_normalise; /* merge: significant figures, 0 = off */
};

/* What may ship ([release] ship-pgo-if / otherwise; pipeline/ship.c):
 * the PGO build only when the bench judges it faster (better) by at least
 * margin_pct with the whole interval beyond zero, or when the bench's
 * rules say go; otherwise the baseline ships, or the pipeline fails. */
enum ship_when {
	SHIP_ALWAYS, /* no rule: the PGO build ships when nothing failed */
	SHIP_IF_FASTER,
	SHIP_IF_GO,
};
struct ship_rule {
	enum ship_when when;
	double margin_pct;
	bool otherwise_fail; /* else the baseline ships */
	char *text;          /* as written, for the record */
};

/* [pipeline] training: how training runs (docs/bench.md "Training
 * multithreaded programs"). */
enum training_mode {
	TRAINING_SINGLE,   /* the train profile's CPUs, plain counter updates */
	TRAINING_THREADED, /* at least two CPUs, atomic counter updates */
};

static inline const char *training_mode_name(enum training_mode m)
{
	return m == TRAINING_THREADED ? "threaded" : "single";
}

struct pipeline {
	char *path; /* absolute path of the pipeline file */
	char *dir;  /* its directory: relative paths start here */
	char *name;
	char *source;            /* absolute source tree path */
	char *image;             /* "host", a directory or a tarball */
	char *source_date_epoch; /* digits, or "git" resolved at load */
	char *compiler;          /* "gcc" or "clang" */
	char *profiles_dir;      /* `profiles =`, else profile_default_dir() */
	char *artifacts_dir;     /* default: <dir>/artifacts */
	enum training_mode training;
	char *history;      /* results store of the bench stages as written (results_store.h) */
	char **release_env; /* [release] env = K=V: the promoted runtime knobs */
	size_t n_release_env;
	struct ship_rule ship; /* [release] ship-pgo-if, otherwise (ship.h) */
	/* what is stacked on IR PGO (struct pgo_recipe in pgo.h) */
	char *cc;             /* `cc =`: the compiler command; NULL: the toolchain's */
	bool function_order;  /* `function-order =` */
	bool split_functions; /* `split-machine-functions =` */
	int recipe_line;      /* line of the last of these keys (messages) */
	char *bolt_options;   /* `bolt-options =`: llvm-bolt's; NULL: BOLT_OPTIONS (bolt.h) */
	struct stage_def stages[PIPELINE_MAX_STAGES];
	size_t n_stages;
};

/* Keys of [pipeline]: name, source, image, source-date-epoch, compiler,
 * profiles, artifacts, history, training (single | threaded), cc (a compiler command of the
 * toolchain: [A-Za-z0-9._+-]+), function-order and split-machine-functions (on/off or true/false;
 * default off), bolt-options (llvm-bolt options for the bolt stage: words starting with '-' of A-Z
 * a-z 0-9 = , . _ + : -).  [release]: env (repeatable), ship-pgo-if, otherwise.  [stage NAME]:
 * profile, inputs (space separated), command, outputs (space separated), shards, env (repeatable),
 * profile-normalise (the merge stage only, clang/rustc: 1..9 significant figures,
 * profile_normalise.h).  Stages may only use earlier stages as inputs.
 *
 * [pipeline]: `name` ([A-Za-z0-9._-]+) and `source` are required.  Relative
 * source, image (unless "host"), profiles and artifacts resolve against
 * the pipeline file's directory; source, image and profiles must exist
 * and are stored canonical (realpath), artifacts need not exist and is
 * cleaned lexically.  Defaults: image = host, compiler = gcc,
 * source-date-epoch = 0, artifacts = <dir>/artifacts, profiles: see
 * profile_default_dir().  `source-date-epoch = git` runs
 * `git -C <source> log -1 --format=%ct` (no shell, clean environment, as
 * the source's owner when run as root, so repository config never runs as
 * root) and stores the digits.
 * [stage NAME]: NAME is [a-z0-9_-]+ (at most 32, not "source"), unique;
 * `profile` and `command` are required; the profile is loaded once here so
 * its errors surface at load time; shards is 1..64 (default 1); outputs are
 * plain relative paths (no "..", ".", empty parts).  At least one stage.
 * On failure `out` is left empty. */
int pipeline_load(const char *path, struct pipeline *out, struct error *err);
const struct stage_def *pipeline_find_stage(const struct pipeline *p, const char *name);
/* `path` as the pipeline file means it: absolute, or relative to its
 * directory.  Caller frees. */
char *pipeline_relative(const struct pipeline *p, const char *path);
/* {command, env{}, inputs[], name, outputs[], profile, shards} and
 * profile_normalise when set: sorted keys, no host paths. */
json_t *stage_def_to_json(const struct stage_def *s);
void pipeline_free(struct pipeline *p);

#endif
