/* bench.h - `pgo-sandbox bench`: repeated, interleaved runs in the
 * sandbox, honest statistics and the A/B gate (forensics.h: `pgo-sandbox
 * forensics`). */
#ifndef PGO_BENCH_H
#define PGO_BENCH_H

#include <jansson.h>

#include "base/util.h"

/* What `bench --record STORE` calls with the result (the results store
 * lives in a higher layer: history/history.h); NULL hooks: --record is
 * refused. */
struct bench_hooks {
	int (*record)(void *arg, const char *store, const json_t *result, struct error *err);
	void *arg;
};

int bench_main(int argc, char **argv); /* argv[0] == "bench"; no hooks */
int bench_main_hooked(int argc, char **argv, const struct bench_hooks *hooks);

#endif
