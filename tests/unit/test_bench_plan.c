/* test_bench_plan.c - block scheduling (ABBA/BAAB balance, seeded and
 * reproducible), the knob matrix's full factorial, environment padding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/bench_model.h"
#include "bench/bench_plan.h"

static void check_block_shape(const size_t *slots, size_t k)
{
	size_t *count = calloc(k, sizeof(size_t));
	size_t *possum = calloc(k, sizeof(size_t));

	for (size_t i = 0; i < 2 * k; i++) {
		assert_true(slots[i] < k);
		count[slots[i]]++;
		possum[slots[i]] += i;
		/* the second half mirrors the first */
		assert_int_equal(slots[i], slots[2 * k - 1 - i]);
	}
	for (size_t a = 0; a < k; a++) {
		assert_int_equal(count[a], 2);
		/* every arm's mean position is the block's middle: a linear
		 * drift adds the same to every arm */
		assert_int_equal(possum[a], 2 * k - 1);
	}
	free(count);
	free(possum);
}

static void test_two_arms_alternate_abba_baab(void **state)
{
	struct rng r;
	size_t perm[2], slots[4], first = 99;

	(void)state;
	rng_seed(&r, 1);
	for (size_t b = 0; b < 40; b++) {
		plan_block(2, b, perm, &r, slots);
		check_block_shape(slots, 2);
		if (b % 2 == 1)
			assert_int_not_equal(slots[0], first); /* ABBA then BAAB */
		first = slots[0];
	}
}

static void test_pairs_of_blocks_balance_positions(void **state)
{
	struct rng r;
	size_t perm[5], slots[10];

	(void)state;
	rng_seed(&r, 42);
	for (size_t pair = 0; pair < 10; pair++) {
		size_t first[5] = {0};

		for (size_t b = 2 * pair; b < 2 * pair + 2; b++) {
			plan_block(5, b, perm, &r, slots);
			check_block_shape(slots, 5);
			for (size_t i = 0; i < 5; i++)
				first[slots[i]] += i;
		}
		/* over a pair, every arm's first-half positions sum to k-1 */
		for (size_t a = 0; a < 5; a++)
			assert_int_equal(first[a], 4);
	}
}

static void test_seeded_schedule_is_reproducible(void **state)
{
	struct rng r1, r2, r3;
	size_t p1[4], p2[4], p3[4], s1[8], s2[8], s3[8];
	bool differs = false;

	(void)state;
	rng_seed(&r1, 12345);
	rng_seed(&r2, 12345);
	rng_seed(&r3, 12346);
	for (size_t b = 0; b < 30; b++) {
		unsigned pad1 = plan_block_pad(true, &r1), pad2 = plan_block_pad(true, &r2);
		unsigned pad3 = plan_block_pad(true, &r3);

		assert_int_equal(pad1, pad2);
		plan_block(4, b, p1, &r1, s1);
		plan_block(4, b, p2, &r2, s2);
		plan_block(4, b, p3, &r3, s3);
		assert_memory_equal(s1, s2, sizeof(s1));
		if (memcmp(s1, s3, sizeof(s1)) != 0 || pad1 != pad3)
			differs = true;
	}
	assert_true(differs);
}

static void test_random_order_covers_every_arm(void **state)
{
	struct rng r;
	size_t perm[4], slots[8], first[4] = {0};

	(void)state;
	rng_seed(&r, 7);
	for (size_t b = 0; b < 200; b += 2) {
		plan_block(4, b, perm, &r, slots);
		first[slots[0]]++;
	}
	for (size_t a = 0; a < 4; a++)
		assert_true(first[a] > 0);
}

static void test_shuffle_is_a_permutation(void **state)
{
	struct rng r;
	size_t v[50];
	bool seen[50] = {false};
	bool moved = false;

	(void)state;
	rng_seed(&r, 3);
	for (size_t i = 0; i < 50; i++)
		v[i] = i;
	plan_shuffle(v, 50, &r);
	for (size_t i = 0; i < 50; i++) {
		assert_false(seen[v[i]]);
		seen[v[i]] = true;
		moved |= v[i] != i;
	}
	assert_true(moved);
}

static void test_pad_modes_consume_the_same_randomness(void **state)
{
	struct rng a, b;
	bool nonzero = false;

	(void)state;
	rng_seed(&a, 99);
	rng_seed(&b, 99);
	for (int i = 0; i < 100; i++) {
		unsigned pa = plan_block_pad(true, &a);
		assert_true(pa < 4096);
		nonzero |= pa != 0;
		assert_int_equal(plan_block_pad(false, &b), 0);
	}
	assert_true(nonzero);
	assert_true(rng_next(&a) == rng_next(&b));
}

static void matrix_session(struct bench_session *s)
{
	char *a[] = {"1", "22"};
	char *b[] = {"x", "y", "zzz"};
	char *argv[] = {"true", NULL};

	bench_session_init(s);
	bench_add_variant(s, "base", ROLE_BASELINE, "true", argv, NULL);
	bench_add_variant(s, "cand", ROLE_CANDIDATE, "true", argv, NULL);
	bench_add_benchmark(s, "default", "");
	bench_add_knob(s, "A", a, 2);
	bench_add_knob(s, "B", b, 3);
}

static void test_matrix_is_the_full_factorial(void **state)
{
	struct bench_session s;
	const char *want[] = {"A=1,B=x",  "A=1,B=y",  "A=1,B=zzz",
	                      "A=22,B=x", "A=22,B=y", "A=22,B=zzz"};
	bool seen[6] = {false};

	(void)state;
	matrix_session(&s);
	assert_int_equal(bench_n_cells(&s), 6);
	assert_int_equal(bench_n_arms(&s), 12);
	for (size_t c = 0; c < 6; c++) {
		char *label = bench_cell_label(&s, c);
		bool found = false;

		for (size_t i = 0; i < 6; i++) {
			if (strcmp(label, want[i]) == 0) {
				assert_false(seen[i]);
				seen[i] = found = true;
			}
		}
		if (!found)
			fail_msg("unexpected cell %s", label);
		free(label);
		/* changing one knob keeps the other */
		for (size_t k = 0; k < 2; k++)
			for (size_t l = 0; l < s.knobs[k].n_values; l++) {
				size_t other = bench_cell_with(&s, c, k, l);
				assert_int_equal(bench_cell_level(&s, other, k), l);
				assert_int_equal(bench_cell_level(&s, other, 1 - k),
				                 bench_cell_level(&s, c, 1 - k));
			}
	}
	bench_session_free(&s);
}

static void test_every_cell_runs_in_every_block(void **state)
{
	struct bench_session s;
	struct rng r;
	size_t perm[12], slots[24];

	(void)state;
	matrix_session(&s);
	rng_seed(&r, 5);
	for (size_t b = 0; b < 6; b++) {
		plan_block(bench_n_arms(&s), b, perm, &r, slots);
		check_block_shape(slots, 12);
	}
	bench_session_free(&s);
}

static void test_knob_padding_evens_the_environment(void **state)
{
	struct bench_session s;
	size_t max;

	(void)state;
	matrix_session(&s);
	max = plan_max_knob_env_bytes(&s);
	assert_int_equal(max, strlen("A=22") + 1 + strlen("B=zzz") + 1);
	for (size_t c = 0; c < bench_n_cells(&s); c++) {
		char *label = bench_cell_label(&s, c);

		/* "A=..,B=.." is the assignments plus one separator; each
		 * assignment takes its NUL in the environment block */
		assert_int_equal(plan_knob_env_bytes(&s, c), strlen(label) + 1);
		free(label);
	}
	bench_session_free(&s);
}

static void test_substitution(void **state)
{
	char *argv[] = {"./{bench}", "bench/{bench}.ml", "{artifact}/bin", "{other}", NULL};
	char **out;

	(void)state;
	out = bench_substitute(argv, "fib", "/artifact");
	assert_string_equal(out[0], "./fib");
	assert_string_equal(out[1], "bench/fib.ml");
	assert_string_equal(out[2], "/artifact/bin");
	assert_string_equal(out[3], "{other}");
	assert_null(out[4]);
	for (size_t i = 0; out[i]; i++)
		free(out[i]);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_two_arms_alternate_abba_baab),
	    cmocka_unit_test(test_pairs_of_blocks_balance_positions),
	    cmocka_unit_test(test_seeded_schedule_is_reproducible),
	    cmocka_unit_test(test_random_order_covers_every_arm),
	    cmocka_unit_test(test_shuffle_is_a_permutation),
	    cmocka_unit_test(test_pad_modes_consume_the_same_randomness),
	    cmocka_unit_test(test_matrix_is_the_full_factorial),
	    cmocka_unit_test(test_every_cell_runs_in_every_block),
	    cmocka_unit_test(test_knob_padding_evens_the_environment),
	    cmocka_unit_test(test_substitution),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
