/* cachegrind.h - simulated counters from valgrind's cachegrind, for hosts
 * without a hardware PMU (virtual machines, hosted CI runners).
 *
 * The command runs as `valgrind --tool=cachegrind --cache-sim=yes
 * --branch-sim=yes` with a pinned cache geometry (I1 and D1 32 KiB 8-way,
 * LL 8 MiB 16-way, 64-byte lines), so that counts depend on the binary and
 * its input, not on the host valgrind runs on.  What comes back is a
 * model: instructions (Ir), first-level and last-level misses for
 * instruction fetches, data reads and data writes, conditional and
 * indirect branches and their simulated mispredictions.  There is no TLB,
 * prefetcher or out-of-order core in it.
 *
 * Estimated cycles (the cycle estimation KCachegrind uses):
 *     Ir + 10 x (I1mr + D1mr + D1mw) + 100 x (ILmr + DLmr + DLmw)
 *        + 15 x (Bcm + Bim)
 * gungraun's L1 hits + 5 x LL hits + 35 x RAM charges a cycle to every data
 * access, which dilutes the layout signal (fixtures/layout/README.md
 * measured both). */
#ifndef PGO_CACHEGRIND_H
#define PGO_CACHEGRIND_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "base/util.h"

#define CACHEGRIND_OUT_NAME "cachegrind.out"
#define CACHEGRIND_GEOMETRY "I1=32768,8,64 D1=32768,8,64 LL=8388608,16,64"

#define SIM_L1_MISS_CYCLES 10
#define SIM_LL_MISS_CYCLES 100
#define SIM_MISPREDICT_CYCLES 15

enum sim_event {
	SIM_IR,   /* instructions executed */
	SIM_I1MR, /* instruction fetches missing I1 */
	SIM_ILMR, /* ... and missing LL */
	SIM_DR,   /* data reads */
	SIM_D1MR,
	SIM_DLMR,
	SIM_DW, /* data writes */
	SIM_D1MW,
	SIM_DLMW,
	SIM_BC, /* conditional branches */
	SIM_BCM,
	SIM_BI, /* indirect branches */
	SIM_BIM,
	SIM_COUNT,
};

struct sim_counters {
	uint64_t v[SIM_COUNT];
};

/* cachegrind's own names: "Ir", "I1mr", ... */
const char *sim_event_name(enum sim_event e);

/* valgrind --tool=cachegrind ... --trace-children=yes
 * --cachegrind-out-file=DIR/cachegrind.out.%p --log-file=DIR/valgrind.log.%p
 * -- argv...  (NULL-terminated; caller frees; the files: valgrind_out.h). */
char **cachegrind_wrap(char *const *argv, const char *dir_inside);

/* Every event of the "summary:" line of a cachegrind output file; -1 +
 * err naming what is missing. */
int cachegrind_parse(const char *text, struct sim_counters *out, struct error *err);
/* Adds a file's counters to *(struct sim_counters *)total:
 * valgrind_out_each's `add`. */
int cachegrind_add(const char *text, void *total, struct error *err);

/* Stall cycles by source, and their sum with Ir (see above). */
double sim_instruction_stalls(const struct sim_counters *s);
double sim_data_stalls(const struct sim_counters *s);
double sim_branch_stalls(const struct sim_counters *s);
double sim_estimated_cycles(const struct sim_counters *s);

/* {"Ir": n, ..., "source": "cachegrind (simulated)"} and back. */
json_t *sim_counters_to_json(const struct sim_counters *s);
int sim_counters_from_json(const json_t *o, struct sim_counters *s, struct error *err);

#endif
