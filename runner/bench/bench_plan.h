/* bench_plan.h - the order runs happen in.
 *
 * A block holds every arm of one benchmark twice, in a permutation P
 * followed by its mirror: for two arms that is ABBA or BAAB.  A linear drift
 * of the machine during a block then weighs on every arm alike.  Even
 * blocks draw a fresh random P; odd blocks run the reverse of the previous
 * block's P, so two arms alternate ABBA, BAAB and positions balance across
 * pairs of blocks.  Rounds visit the benchmarks in a fresh random order,
 * one block each.  All randomness comes from one seeded generator, in a
 * fixed order, so a recorded seed replays the schedule. */
#ifndef PGO_BENCH_PLAN_H
#define PGO_BENCH_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "bench/bench_model.h"
#include "bench/stats.h"

/* Fisher-Yates with r. */
void plan_shuffle(size_t *v, size_t n, struct rng *r);

/* Block number `block` of a benchmark with k arms: writes 2k arm indices
 * to slots.  perm (k entries) carries the previous block's permutation in
 * and this block's out; its content is ignored for even blocks. */
void plan_block(size_t k, size_t block, size_t *perm, struct rng *r, size_t *slots);

/* The environment pad of a block: 0..4095 bytes with --randomize-layout,
 * else 0.  Drawn for every block in both modes so that the schedule does
 * not depend on the mode. */
unsigned plan_block_pad(bool randomize, struct rng *r);

/* Bytes the cell's knob assignments add to the environment ("K=v\0"
 * each).  Padding every arm up to the largest cell keeps the environment
 * the same size in every cell, so knobs do not move the stack. */
size_t plan_knob_env_bytes(const struct bench_session *s, size_t cell);
size_t plan_max_knob_env_bytes(const struct bench_session *s);

#endif
