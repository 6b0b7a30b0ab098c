/* bench.h - `pgo-sandbox bench`: repeated, interleaved runs in the
 * sandbox, honest statistics and the A/B gate (forensics.h: `pgo-sandbox
 * forensics`). */
#ifndef PGO_BENCH_H
#define PGO_BENCH_H

#include <jansson.h>

#include "base/spec.h"
#include "base/util.h"
#include "bench/bench_options.h"

/* What `bench --record STORE` asks of the results store. */
struct bench_record_request {
	const char *store;
	const char *commit; /* NULL: the store's default (git) */
	const char *branch;
};

/* What `bench --record STORE` calls (the results store lives in a higher
 * layer: history/history.h); NULL hooks: --record is refused up front.
 * check runs before the first run, so a store that cannot take the result
 * costs no measurement; record runs at the end and, when it fails, keeps
 * the result somewhere and says where in err. */
struct bench_hooks {
	int (*check)(void *arg, const char *store, struct error *err);
	int (*record)(void *arg, const struct bench_record_request *rq, const json_t *result,
	              struct error *err);
	void *arg;
	/* The `run` option parser (cli/run_options.h, above this layer): the
	 * bench's sandbox options, as words, into the spec every run starts
	 * from; recorded words are parsed again by --rerun. */
	int (*parse_sandbox)(int n, char **words, struct sandbox_spec *spec, struct error *err);
};

/* The parsers of `bench` and `run` command lines, which live in cli/
 * (cli/bench.h, cli/run_options.h): a bench stage's options come as words
 * from its pipeline file (pipeline/role_bench.c). */
struct bench_parsers {
	int (*bench)(int n, char **words, struct bench_options *o, struct error *err);
	int (*sandbox)(int n, char **words, struct sandbox_spec *spec, struct error *err);
};

/* `pgo-sandbox bench` with parsed options (cli/bench.c), which it takes
 * over (and frees).  Returns the bench's exit code (README "Exit codes"). */
int bench_run(struct bench_options *opt, const struct bench_hooks *hooks);

#endif
