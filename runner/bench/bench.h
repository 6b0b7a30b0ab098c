/* bench.h - `pgo-sandbox bench` and `pgo-sandbox forensics`: repeated,
 * interleaved runs in the sandbox, honest statistics and the A/B gate. */
#ifndef PGO_BENCH_H
#define PGO_BENCH_H

int bench_main(int argc, char **argv);     /* argv[0] == "bench" */
int forensics_main(int argc, char **argv); /* argv[0] == "forensics" */

#endif
