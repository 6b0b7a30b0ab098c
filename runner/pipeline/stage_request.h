/* stage_request.h - what a caller asks of one stage run and what it gets
 * back (stage_run.h runs it; stage_ctx.h keeps it during the run). */
#ifndef PGO_STAGE_REQUEST_H
#define PGO_STAGE_REQUEST_H

#include <jansson.h>
#include <stdbool.h>

#include "artifacts/archive.h"
#include "artifacts/digest.h"
#include "bench/bench.h"
#include "pipeline/config.h"
#include "pipeline/toolchain.h"

struct stage_request {
	const struct pipeline *pl;
	const struct stage_def *def;
	unsigned shard;        /* 1..shards; 0 when the stage has one shard */
	const char *in_dir;    /* where input artifacts are read */
	const char *out_dir;   /* where this artifact is written */
	bool force;            /* rerun even when cached */
	bool failure_mode_all; /* merge: skip bad raw profiles, merge the rest */
	enum archive_compression compression;
	bool perturb;  /* verify's second run: faketime inside, if installed */
	bool no_idmap; /* test hook: no idmapped /src (sandbox_spec.no_idmap) */
	/* A pipeline that decides what ships records the bench result itself,
	 * with the decision (pipeline/ship.h); the bench stage then does not. */
	bool defer_record;
	/* The image digest and facts when the caller computed them already
	 * (a pipeline hashes its image once); NULL: computed here. */
	const char *image_digest;
	json_t *image_facts;
	/* Likewise where the toolchain is (stage_locate_toolchain); NULL:
	 * located here. */
	const struct toolchain_site *toolchain_site;
	/* The `bench` and `run` parsers (cli/) a bench stage reads its
	 * options with; NULL: a bench stage refuses to run. */
	const struct bench_parsers *bench_parsers;
};

struct stage_outcome {
	bool cached;
	char *artifact; /* path of the tarball (NULL on failure) */
	char digest[DIGEST_STR_MAX];
	double seconds;
};

#endif
