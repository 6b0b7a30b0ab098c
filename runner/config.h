/* config.h - sandbox profiles (profiles/*.ini) and pipeline files
 * (pgo-pipeline.ini in the user's repository), parsed with inih.
 *
 * INI in the systemd-unit spirit: sections, `key = value`, repeatable keys
 * for lists, `;`/`#` comments.  Unknown sections or keys, bad values and
 * missing files are errors naming file, line and key. */
#ifndef PGO_CONFIG_H
#define PGO_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spec.h"
#include "util.h"

/* A sandbox profile: every knob a stage's sandbox takes.  `*_set` flags
 * say whether a key was given, so includes can be overridden key by key. */
struct profile {
	char *name;                 /* file name without .ini */
	char *path;                 /* absolute path of the top-level file */
	char *cpus;                 /* "0-1" or NULL */
	uint64_t memory_max;        /* bytes, 0 = unset */
	uint64_t pids_max;          /* 0 = unset */
	uint64_t timeout_ns;        /* 0 = none */
	uint64_t tmpfs_size;        /* 0 = default */
	bool no_turbo;
	char *governor;             /* NULL = leave */
	bool no_aslr;
	bool allow_perf;
	bool allow_ptrace;
	char **env;                 /* "K=V", in file order, later wins */
	size_t n_env;
	char **keep_env;            /* caller variable names */
	size_t n_keep_env;
	struct rlimit_spec rlimits[SPEC_MAX_RLIMITS];
	size_t n_rlimits;
	bool strict;
};

/* Load a profile; `include = other.ini` (relative to the including file)
 * is applied first, then this file's keys override.  Include cycles are
 * errors.  Keys: include, cpus, memory, pids, timeout, tmpfs-size, turbo
 * (on|off), governor, aslr (on|off), network (only "off" is accepted), env
 * (K=V, repeatable), keep-env (repeatable), seccomp-allow (perf_event_open,
 * ptrace; comma separated), rlimit (NAME=SOFT[:HARD], repeatable), strict. */
int profile_load(const char *path, struct profile *out, struct error *err);
/* Find "<name>.ini" in `profiles_dir` and load it. */
int profile_load_named(const char *profiles_dir, const char *name, struct profile *out,
		       struct error *err);
/* Copy the profile's knobs into a sandbox spec (spec_init'ed). */
int profile_apply(const struct profile *p, struct sandbox_spec *spec, struct error *err);
/* Canonical JSON of the effective profile (for provenance: stable key order). */
json_t *profile_to_json(const struct profile *p);
void profile_free(struct profile *p);

#define PIPELINE_MAX_STAGES 32

struct stage_def {
	char *name;                 /* [stage NAME] */
	int line;                   /* line of the section header */
	char *profile;              /* profile name, e.g. "build" */
	char **inputs;              /* "source" or names of earlier stages */
	size_t n_inputs;
	char *command;              /* run by /bin/sh -c inside the sandbox */
	char **outputs;             /* paths relative to the stage's /build/out */
	size_t n_outputs;
	unsigned shards;            /* train stages: default 1 */
	char **env;                 /* stage-specific "K=V" on top of the profile */
	size_t n_env;
};

struct pipeline {
	char *path;                 /* absolute path of the pipeline file */
	char *dir;                  /* its directory: relative paths start here */
	char *name;
	char *source;               /* absolute source tree path */
	char *image;                /* "host", a directory or a tarball */
	char *source_date_epoch;    /* digits, or "git" resolved at load */
	char *compiler;             /* "gcc" or "clang" */
	char *profiles_dir;         /* default: <prefix>/share/pgo-sandbox/profiles or ./profiles */
	char *artifacts_dir;        /* default: <dir>/artifacts */
	char **release_env;         /* [release] env = K=V: the promoted runtime knobs */
	size_t n_release_env;
	struct stage_def stages[PIPELINE_MAX_STAGES];
	size_t n_stages;
};

/* Keys of [pipeline]: name, source, image, source-date-epoch, compiler,
 * profiles, artifacts.  [release]: env (repeatable).  [stage NAME]:
 * profile, inputs (space separated), command, outputs (space separated),
 * shards, env (repeatable).  Stages may only use earlier stages as inputs. */
int pipeline_load(const char *path, struct pipeline *out, struct error *err);
const struct stage_def *pipeline_find_stage(const struct pipeline *p, const char *name);
json_t *stage_def_to_json(const struct stage_def *s);
void pipeline_free(struct pipeline *p);

#endif
