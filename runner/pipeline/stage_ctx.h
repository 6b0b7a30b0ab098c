/* stage_ctx.h - the state of one stage run, shared by stage_run.c (the
 * generic stage: inputs, sandbox, packing, commit), stage_pgo.c (what the
 * PGO roles check before and after their command) and stage_bench.c (the
 * bench stage's adapter to `pgo-sandbox bench`).  Internal to those three. */
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
#include "pipeline/stage_run.h"

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
	enum compiler_kind cc;
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

/* stage_pgo.c: before the command (build: the training knobs; merge: the
 * raw profiles and the pgo-merge helper; train: the knobs it runs with),
 * after it (train: profiles written; merge: merged profile and coverage;
 * build: profile diagnostics), and a failed merge explained. */
int stage_role_prepare(struct stage_ctx *c, struct error *err);
int stage_role_check_outputs(struct stage_ctx *c, struct error *err);
void stage_explain_merge_failure(const struct stage_ctx *c, struct error *err);

/* stage_bench.c: run `pgo-sandbox bench` for a bench stage; returns its
 * exit code. */
int stage_bench_run(struct stage_ctx *c);

#endif
