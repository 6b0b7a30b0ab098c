/* bench.h - `pgo-sandbox bench`: repeated, interleaved runs in the
 * sandbox, honest statistics and the A/B gate (forensics.h: `pgo-sandbox
 * forensics`). */
#ifndef PGO_BENCH_H
#define PGO_BENCH_H

int bench_main(int argc, char **argv); /* argv[0] == "bench" */

#endif
