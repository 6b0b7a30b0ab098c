/* stage_ctx.h - the state of one stage run, shared by stage_run.c and
 * its steps (stage_*.c: inputs, spec, cache, tree, command, commit) and
 * the role modules
 * (role_*.c, registered in roles.c: what a role checks before and after
 * its command).  Helpers for both are in stage_ctx.c.  Internal to the
 * pipeline folder. */
#ifndef PGO_STAGE_CTX_H
#define PGO_STAGE_CTX_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "pipeline/config.h"
#include "artifacts/digest.h"
#include "host/janitor.h"
#include "pipeline/pgo.h"
#include "base/report.h"
#include "base/spec.h"
#include "pipeline/stage_request.h"
#include "pipeline/toolchain.h"

struct input {
	char *name;
	bool is_source;
	enum stage_role role;
	unsigned shards;
	char **tarballs; /* one per shard */
	char **bases;    /* "train.1of2" */
	char (*digests)[DIGEST_STR_MAX];
	char *host_dir;      /* <tmp>/in/<name> */
	json_t **provenance; /* per shard, once extracted */
};

struct stage_ctx {
	const struct stage_request *rq;
	const struct pipeline *pl;
	const struct stage_def *def;
	enum stage_role role;
	const struct stage_role_ops *ops; /* roles.h; NULL for a plain stage */
	const struct toolchain *tc;
	struct toolchain_site site; /* where tc lives, when outside the image's /usr */
	char *profdata_host;        /* merge: the llvm-profdata chosen (profdata.h), */
	char *profdata_sandbox;     /* and the same file inside */
	unsigned shards;
	char *base, *tarball, *pack_tmp;
	struct input *inputs;
	size_t n_inputs;
	struct profile profile;
	bool profile_loaded;
	char image_digest[DIGEST_STR_MAX];
	struct strv env; /* set in the sandbox, in order (later wins) */
	char *command[4];
	json_t *definition;
	char cache_key[DIGEST_STR_MAX];
	json_t *results;
	json_t *steps;
	const char *step;
	uint64_t step_t0, t0;
	char *tmp, *work, *outdir, *packdir, *log;
	struct janitor jan;
	struct sandbox_spec spec;
	bool spec_ready;
	struct run_report *report;
	json_t *cgroup_json;
	json_t *bench_json;
	struct strv janitor_paths;
};

void stage_step_begin(struct stage_ctx *c, const char *name);
void stage_step_end(struct stage_ctx *c);
const struct input *stage_input_with_role(const struct stage_ctx *c, enum stage_role role);
json_t *stage_strings_json(char *const *v, size_t n);

/* The "results" object an input's provenance recorded (shard from 0). */
json_t *stage_input_results(const struct input *in, unsigned shard);
/* Append "; "-separated formatted text to *buf (allocated). */
void stage_append_text(char **buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The command's output as the stage log kept it ("" when unreadable). */
char *stage_read_log(const struct stage_ctx *c, size_t *len);
/* A training stage's check: the files ending in `suffix` it left in
 * /build/out/profile, counted as results.profiles; none is an error
 * "training wrote no WHAT into /build/out/profile: WHY". */
int stage_require_profiles(struct stage_ctx *c, const char *suffix, const char *what,
                           const char *why, struct error *err);
/* Files below `host` whose names end in `suffix`, sorted by path, and the
 * same files' paths below `sandbox` (a missing `host` is empty; NULL
 * `sandboxes`: the host paths only). */
int stage_walk_files(const char *host, const char *sandbox, const char *suffix, struct strv *hosts,
                     struct strv *sandboxes, struct error *err);
/* The release's knobs as this stage's environment has them: recorded by
 * training stages, checked by the build. */
json_t *stage_training_knobs(const struct stage_ctx *c);
/* {"functions": N, "executed": N} */
json_t *stage_coverage_json(const struct profile_coverage *pc);

#endif
