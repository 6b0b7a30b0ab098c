/* bench.h - `pgo-sandbox bench`: repeated, interleaved runs in the
 * sandbox, honest statistics and the A/B gate (forensics.h: `pgo-sandbox
 * forensics`). */
#ifndef PGO_BENCH_H
#define PGO_BENCH_H

#include <jansson.h>

#include "base/util.h"

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
};

int bench_main(int argc, char **argv); /* argv[0] == "bench"; no hooks */
int bench_main_hooked(int argc, char **argv, const struct bench_hooks *hooks);

#endif
