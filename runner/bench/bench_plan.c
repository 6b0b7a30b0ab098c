/* bench_plan.c - see bench_plan.h */
#define _GNU_SOURCE
#include "bench/bench_plan.h"

#include <string.h>

void plan_shuffle(size_t *v, size_t n, struct rng *r)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)rng_below(r, i);
		size_t t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

void plan_block(size_t k, size_t block, size_t *perm, struct rng *r, size_t *slots)
{
	if (block % 2 == 0) {
		for (size_t i = 0; i < k; i++)
			perm[i] = i;
		plan_shuffle(perm, k, r);
	} else {
		for (size_t i = 0; i < k / 2; i++) {
			size_t t = perm[i];

			perm[i] = perm[k - 1 - i];
			perm[k - 1 - i] = t;
		}
	}
	for (size_t i = 0; i < k; i++) {
		slots[i] = perm[i];
		slots[2 * k - 1 - i] = perm[i];
	}
}

unsigned plan_block_pad(bool randomize, struct rng *r)
{
	unsigned pad = (unsigned)rng_below(r, 4096);

	return randomize ? pad : 0;
}

size_t plan_knob_env_bytes(const struct bench_session *s, size_t cell)
{
	size_t bytes = 0;

	for (size_t k = 0; k < s->n_knobs; k++)
		bytes += strlen(s->knobs[k].key) + 1 +
		         strlen(s->knobs[k].values[bench_cell_level(s, cell, k)]) + 1;
	return bytes;
}

size_t plan_max_knob_env_bytes(const struct bench_session *s)
{
	size_t max = 0;

	for (size_t c = 0; c < bench_n_cells(s); c++) {
		size_t b = plan_knob_env_bytes(s, c);
		if (b > max)
			max = b;
	}
	return max;
}
