/* Unit tests: a stage's definition and cache key (pipeline/stage_cache.c),
 * computed by the stage's own planning steps (stage_open, stage_plan:
 * inputs, environment, spec, definition) without a sandbox.  Each test
 * runs in its own temporary directory holding a pipeline file, a copy of
 * the profiles, a source tree and an artifacts directory whose "tarballs"
 * are plain bytes with sidecars (planning verifies digests, it does not
 * open archives).  The image digest is the caller's, as a pipeline passes
 * it: no image is hashed. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/provenance.h"
#include "pipeline/config.h"
#include "pipeline/stage_cache.h"
#include "pipeline/stage_ctx.h"
#include "pipeline/stage_run.h"
#include "unit_fixture.h"

static const char pipeline_text[] = "[pipeline]\n"
                                    "name = %s\n"
                                    "source = %s\n"
                                    "source-date-epoch = %s\n"
                                    "profiles = profiles\n"
                                    "\n"
                                    "%s"
                                    "\n"
                                    "[stage a]\n"
                                    "profile = build\n"
                                    "inputs = source\n"
                                    "command = cp /src/f /build/out/f\n"
                                    "outputs = f\n"
                                    "%s"
                                    "\n"
                                    "[stage train]\n"
                                    "profile = train\n"
                                    "inputs = a source\n"
                                    "shards = 2\n"
                                    "command = true\n"
                                    "outputs = profile\n"
                                    "\n"
                                    "[stage b]\n"
                                    "profile = %s\n"
                                    "inputs = a train source\n"
                                    "command = %s\n"
                                    "%s";

#define IMAGE "sha256:0000000000000000000000000000000000000000000000000000000000000000"

/* One way of asking for a stage: every field left 0 takes the default. */
struct variant {
	const char *name;    /* [pipeline] name: "t" */
	const char *source;  /* "src" */
	const char *epoch;   /* "1700000000" */
	const char *release; /* a [release] section: none */
	const char *a_extra; /* more lines of [stage a] */
	const char *b_profile, *b_command, *b_extra;
	const char *stage; /* "b" */
	unsigned shard;
	const char *in_dir;  /* "art" */
	const char *out_dir; /* "out" */
	const char *image;   /* IMAGE */
	const char *facts;   /* the image's facts as JSON: none */
	bool failure_all, gzip, force, perturb;
};

struct fixture {
	struct unit_tmpdir tmp;
};

#define OR(x, d) ((x) ? (x) : (d))

static void write_pipeline(const struct variant *v)
{
	char *text =
	    xasprintf(pipeline_text, OR(v->name, "t"), OR(v->source, "src"),
	              OR(v->epoch, "1700000000"), OR(v->release, ""), OR(v->a_extra, ""),
	              OR(v->b_profile, "build"), OR(v->b_command, "true"), OR(v->b_extra, ""));

	unit_write_text("pipeline.ini", text);
	free(text);
}

/* The stage's cache key and, when `definition` is not NULL, its
 * definition in canonical JSON. */
static void key_of(const struct variant *v, char key[DIGEST_STR_MAX], char **definition)
{
	const char *name = OR(v->stage, "b");
	struct pipeline pl;
	struct stage_request rq = {0};
	struct stage_ctx c;
	struct error err = {0};
	json_t *facts = NULL;

	write_pipeline(v);
	if (pipeline_load("pipeline.ini", &pl, &err) < 0)
		fail_msg("pipeline_load: %s", err.msg);
	if (v->facts) {
		facts = json_loads(v->facts, 0, NULL);
		assert_non_null(facts);
	}
	rq.pl = &pl;
	rq.def = pipeline_find_stage(&pl, name);
	assert_non_null(rq.def);
	rq.shard = v->shard;
	rq.in_dir = OR(v->in_dir, "art");
	rq.out_dir = OR(v->out_dir, "out");
	rq.force = v->force;
	rq.perturb = v->perturb;
	rq.failure_mode_all = v->failure_all;
	rq.compression = v->gzip ? ARCHIVE_COMP_GZIP : ARCHIVE_COMP_ZSTD;
	rq.image_digest = OR(v->image, IMAGE);
	rq.image_facts = facts;
	if (stage_open(&c, &rq, &err) < 0 || stage_plan(&c, &err) < 0)
		fail_msg("planning stage %s: %s", name, err.msg);
	snprintf(key, DIGEST_STR_MAX, "%s", c.cache_key);
	if (definition)
		*definition = json_canonical(c.definition);
	stage_close(&c);
	json_decref(facts);
	pipeline_free(&pl);
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char repo[PATH_MAX];
	char *cmd;
	int rc;

	unit_checkout_root(repo, sizeof(repo));
	unit_tmpdir_enter(&f->tmp, "test_stage_cache");
	/* a copy of the profiles, so that a test can change one */
	cmd = xasprintf("cp -a '%s/profiles' profiles", repo);
	rc = system(cmd);
	free(cmd);
	if (rc != 0)
		fail_msg("copying %s/profiles: cp exited with status %d", repo, rc);
	unit_mkdir(".", "art");
	unit_write_text("src/f", "hello\n");
	unit_write_artifact("art", "a", "zst", "A", NULL);
	unit_write_artifact("art", "train.1of2", "zst", "T1", NULL);
	unit_write_artifact("art", "train.2of2", "zst", "T2", NULL);
	unsetenv("PGO_SANDBOX_PROFILES");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unit_tmpdir_leave(&f->tmp);
	free(f);
	return 0;
}

static void test_same_inputs_same_key(void **state)
{
	const struct variant v = {0};
	char k1[DIGEST_STR_MAX], k2[DIGEST_STR_MAX];
	char *d1, *d2;

	(void)state;
	key_of(&v, k1, &d1);
	key_of(&v, k2, &d2);
	assert_string_equal(k1, k2);
	assert_string_equal(d1, d2);
	assert_int_equal(strncmp(k1, "sha256:", 7), 0);
	/* the key is the digest of the definition the tarball records */
	assert_non_null(strstr(d1, "\"command\":[\"/bin/sh\",\"-c\",\"true\"]"));
	assert_non_null(strstr(d1, IMAGE));
	free(d1);
	free(d2);
}

/* Each of these is something the stage's outputs may depend on: each
 * must give a key of its own. */
static void test_each_input_changes_the_key(void **state)
{
	static const struct variant variants[] = {
	    {0},
	    {.b_command = "false"},
	    {.b_extra = "env = X=1\n"},
	    {.b_profile = "train"},
	    {.image = "sha256:1111111111111111111111111111111111111111111111111111111111111111"},
	    {.facts = "{\"gcc\": \"12.2\"}"},
	    {.failure_all = true},
	    {.gzip = true},
	    {.epoch = "1700000001"},
	    {.name = "u"},
	    {.release = "[release]\nenv = MALLOC_ARENA_MAX=2\n"},
	};
	const size_t n = sizeof(variants) / sizeof(variants[0]);
	char keys[sizeof(variants) / sizeof(variants[0])][DIGEST_STR_MAX];

	(void)state;
	for (size_t i = 0; i < n; i++) {
		key_of(&variants[i], keys[i], NULL);
		for (size_t j = 0; j < i; j++)
			if (strcmp(keys[i], keys[j]) == 0)
				fail_msg("variants %zu and %zu have the same key %s", j, i,
				         keys[i]);
	}
}

/* The bytes of an input artifact, of the source tree and of a profile. */
static void test_input_source_and_profile_contents_change_the_key(void **state)
{
	const struct variant v = {0};
	char k0[DIGEST_STR_MAX], k1[DIGEST_STR_MAX], k2[DIGEST_STR_MAX], k3[DIGEST_STR_MAX];
	FILE *p;

	(void)state;
	key_of(&v, k0, NULL);
	unit_write_artifact("art", "train.2of2", "zst", "T2 trained differently", NULL);
	key_of(&v, k1, NULL);
	assert_string_not_equal(k1, k0);
	unit_write_text("src/f", "hello again\n");
	key_of(&v, k2, NULL);
	assert_string_not_equal(k2, k1);
	p = fopen("profiles/build.ini", "a");
	assert_non_null(p);
	fputs("pids = 77\n", p);
	assert_int_equal(fclose(p), 0);
	key_of(&v, k3, NULL);
	assert_string_not_equal(k3, k2);
}

/* Shards of one stage run under keys of their own. */
static void test_each_shard_has_its_own_key(void **state)
{
	const struct variant s1 = {.stage = "train", .shard = 1};
	const struct variant s2 = {.stage = "train", .shard = 2};
	char k1[DIGEST_STR_MAX], k2[DIGEST_STR_MAX];

	(void)state;
	key_of(&s1, k1, NULL);
	key_of(&s2, k2, NULL);
	assert_string_not_equal(k1, k2);
}

/* What a run's outputs cannot depend on: where the artifacts are read
 * (however spelt) and written, where the source is (however spelt),
 * whether the cache is bypassed, verify's perturbation, the order of keys
 * in the image's facts, the order of distinct release knobs, comments in
 * the pipeline file. */
static void test_what_the_outputs_cannot_depend_on_keeps_the_key(void **state)
{
	struct fixture *f = *state;
	char *abs_src = xasprintf("%s/src", f->tmp.dir);
	const struct variant same[] = {
	    {.in_dir = "./art/"},
	    {.in_dir = "art2"},
	    {.out_dir = "elsewhere/out"},
	    {.source = "./src/"},
	    {.source = abs_src},
	    {.force = true},
	    {.perturb = true},
	    {.a_extra = "# a comment\n\n"},
	};
	const struct variant facts1 = {.facts = "{\"a\": \"1\", \"b\": \"2\"}"};
	const struct variant facts2 = {.facts = "{\"b\": \"2\", \"a\": \"1\"}"};
	char base[DIGEST_STR_MAX], k[DIGEST_STR_MAX];

	key_of(&(struct variant){0}, base, NULL);
	assert_int_equal(system("cp -a art art2"), 0);
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		key_of(&same[i], k, NULL);
		if (strcmp(k, base) != 0)
			fail_msg("variant %zu changed the key", i);
	}
	key_of(&facts1, base, NULL);
	key_of(&facts2, k, NULL);
	assert_string_equal(k, base);
	free(abs_src);
}

/* The release's knobs are a set of distinct names: their order is no
 * input, neither in a plain stage's definition nor in a training stage's
 * environment, where they are set. */
static void test_order_of_distinct_release_knobs_keeps_the_key(void **state)
{
	const char *stages[] = {"b", "train"};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		const struct variant ab = {.stage = stages[i],
		                           .shard = i ? 1 : 0,
		                           .release = "[release]\nenv = A=1\nenv = B=2\n"};
		const struct variant ba = {.stage = stages[i],
		                           .shard = i ? 1 : 0,
		                           .release = "[release]\nenv = B=2\nenv = A=1\n"};
		char k1[DIGEST_STR_MAX], k2[DIGEST_STR_MAX];

		key_of(&ab, k1, NULL);
		key_of(&ba, k2, NULL);
		if (strcmp(k1, k2) != 0)
			fail_msg("stage %s: the order of release knobs changed the key", stages[i]);
	}
}

/* A stage's key follows its inputs' artifacts, not their definitions: a
 * change to stage a that leaves a's artifact as it was leaves b's key. */
static void test_an_input_stage_definition_is_no_input(void **state)
{
	const struct variant a0 = {.stage = "a"};
	const struct variant a1 = {.stage = "a", .a_extra = "env = Y=1\n"};
	const struct variant b1 = {.a_extra = "env = Y=1\n"};
	char ka0[DIGEST_STR_MAX], ka1[DIGEST_STR_MAX], kb0[DIGEST_STR_MAX], kb1[DIGEST_STR_MAX];

	(void)state;
	key_of(&a0, ka0, NULL);
	key_of(&a1, ka1, NULL);
	assert_string_not_equal(ka0, ka1);
	key_of(&(struct variant){0}, kb0, NULL);
	key_of(&b1, kb1, NULL);
	assert_string_equal(kb0, kb1);
}

/* The definition's top-level "entropy" (the profile's own setting is in
 * its "profile" object). */
static char *entropy_of(const char *definition)
{
	json_t *doc = json_loads(definition, 0, NULL);
	char *mode;

	assert_non_null(doc);
	mode = xstrdup(json_string_value(json_object_get(doc, "entropy")));
	json_decref(doc);
	return mode;
}

/* Training sees reproducible entropy keyed by its own definition; a
 * plain stage sees the host's, unless its profile says otherwise. */
static void test_entropy_mode_is_in_the_definition(void **state)
{
	const struct variant train = {.stage = "train", .shard = 1};
	char k[DIGEST_STR_MAX], k_host[DIGEST_STR_MAX];
	char *d, *mode;
	FILE *p;

	(void)state;
	key_of(&train, k, &d);
	mode = entropy_of(d);
	assert_string_equal(mode, "deterministic");
	free(mode);
	free(d);
	key_of(&(struct variant){0}, k_host, &d);
	mode = entropy_of(d);
	assert_string_equal(mode, "host");
	free(mode);
	free(d);
	p = fopen("profiles/train.ini", "a");
	assert_non_null(p);
	fputs("entropy = host\n", p);
	assert_int_equal(fclose(p), 0);
	key_of(&train, k_host, &d);
	mode = entropy_of(d);
	assert_string_equal(mode, "host");
	assert_string_not_equal(k, k_host);
	free(mode);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_same_inputs_same_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_each_input_changes_the_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_input_source_and_profile_contents_change_the_key,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_each_shard_has_its_own_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_what_the_outputs_cannot_depend_on_keeps_the_key,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_order_of_distinct_release_knobs_keeps_the_key,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_an_input_stage_definition_is_no_input, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_entropy_mode_is_in_the_definition, setup,
	                                    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
