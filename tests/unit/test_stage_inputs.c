/* Unit tests: a stage's input resolution (pipeline/stage_inputs.c) and
 * artifact names (pipeline/stage_names.c), without a sandbox.  Each test
 * runs in its own temporary directory holding a pipeline file, a source
 * tree and an artifacts directory whose "tarballs" are plain bytes with
 * sidecars: resolution verifies digests, it does not open archives. */
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
#include "pipeline/stage_inputs.h"
#include "pipeline/stage_names.h"
#include "unit_fixture.h"

static const char pipeline_text[] = "[pipeline]\n"
                                    "name = t\n"
                                    "source = src\n"
                                    "source-date-epoch = 1700000000\n"
                                    "profiles = %s/profiles\n"
                                    "%s"
                                    "\n"
                                    "[stage a]\n"
                                    "profile = build\n"
                                    "inputs = source\n"
                                    "command = cp /src/f /build/out/f\n"
                                    "outputs = f\n"
                                    "\n"
                                    "[stage train]\n"
                                    "profile = train\n"
                                    "inputs = a\n"
                                    "shards = 2\n"
                                    "command = true\n"
                                    "outputs = profile\n"
                                    "\n"
                                    "[stage b]\n"
                                    "profile = build\n"
                                    "inputs = a train source\n"
                                    "command = true\n";

struct fixture {
	struct unit_tmpdir tmp;
	char repo[PATH_MAX]; /* the pgo-sandbox checkout, from our own path */
	struct pipeline pl;
	bool loaded;
};

static void load(struct fixture *f, const char *extra_header)
{
	struct error err = {0};
	char *text = xasprintf(pipeline_text, f->repo, extra_header);

	unit_write_text("pipeline.ini", text);
	free(text);
	if (pipeline_load("pipeline.ini", &f->pl, &err) < 0)
		fail_msg("pipeline_load: %s", err.msg);
	f->loaded = true;
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	unit_checkout_root(f->repo, sizeof(f->repo));
	unit_tmpdir_enter(&f->tmp, "test_stage_inputs");
	unit_mkdir(".", "art");
	unit_write_text("src/f", "hello\n");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->loaded)
		pipeline_free(&f->pl);
	unit_tmpdir_leave(&f->tmp);
	free(f);
	return 0;
}

static const struct stage_def *stage(const struct fixture *f, const char *name)
{
	const struct stage_def *d = pipeline_find_stage(&f->pl, name);

	assert_non_null(d);
	return d;
}

/* ---- artifact names ---- */

static void test_artifact_names(void **state)
{
	char *s;

	(void)state;
	s = artifact_base("train", 0, 1);
	assert_string_equal(s, "train");
	free(s);
	s = artifact_base("train", 2, 3);
	assert_string_equal(s, "train.2of3");
	free(s);
	s = artifact_path("/a", "train.1of2", ARCHIVE_COMP_ZSTD);
	assert_string_equal(s, "/a/train.1of2.tar.zst");
	free(s);
	s = artifact_path("/a", "b", ARCHIVE_COMP_GZIP);
	assert_string_equal(s, "/a/b.tar.gz");
	free(s);
	s = stage_run_json_path("/a", "b");
	assert_string_equal(s, "/a/b.run.json");
	free(s);
	s = stage_failure_json_path("/a", "b");
	assert_string_equal(s, "/a/b.failure.json");
	free(s);
}

/* .tar.zst first, then .tar.gz; neither: the .tar.zst name. */
static void test_artifact_find_prefers_zstd_then_gzip(void **state)
{
	char d[DIGEST_STR_MAX];
	char *s;

	(void)state;
	s = artifact_find("art", "a");
	assert_string_equal(s, "art/a.tar.zst");
	free(s);
	unit_write_artifact("art", "a", "gz", "gz", d);
	s = artifact_find("art", "a");
	assert_string_equal(s, "art/a.tar.gz");
	free(s);
	unit_write_artifact("art", "a", "zst", "zst", d);
	s = artifact_find("art", "a");
	assert_string_equal(s, "art/a.tar.zst");
	free(s);
}

/* ---- resolution ---- */

static void test_resolves_inputs_in_order_with_shards_and_digests(void **state)
{
	struct fixture *f = *state;
	char da[DIGEST_STR_MAX], d1[DIGEST_STR_MAX], d2[DIGEST_STR_MAX], src[DIGEST_STR_MAX];
	struct error err = {0};
	struct input *in = NULL;
	size_t n = 0;

	load(f, "");
	unit_write_artifact("art", "a", "zst", "A", da);
	unit_write_artifact("art", "train.1of2", "zst", "T1", d1);
	unit_write_artifact("art", "train.2of2", "gz", "T2", d2);
	assert_int_equal(tree_digest("src", NULL, 0, src, &err), 0);
	if (stage_inputs_resolve(&f->pl, stage(f, "b"), "art", &in, &n, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(n, 3);

	assert_string_equal(in[0].name, "a");
	assert_false(in[0].is_source);
	assert_int_equal(in[0].role, ROLE_PLAIN);
	assert_int_equal(in[0].shards, 1);
	assert_string_equal(in[0].bases[0], "a");
	assert_string_equal(in[0].tarballs[0], "art/a.tar.zst");
	assert_string_equal(in[0].digests[0], da);

	assert_string_equal(in[1].name, "train");
	assert_int_equal(in[1].role, ROLE_TRAIN);
	assert_int_equal(in[1].shards, 2);
	assert_string_equal(in[1].bases[0], "train.1of2");
	assert_string_equal(in[1].bases[1], "train.2of2");
	assert_string_equal(in[1].tarballs[0], "art/train.1of2.tar.zst");
	assert_string_equal(in[1].tarballs[1], "art/train.2of2.tar.gz");
	assert_string_equal(in[1].digests[0], d1);
	assert_string_equal(in[1].digests[1], d2);
	assert_string_not_equal(d1, d2);

	assert_string_equal(in[2].name, "source");
	assert_true(in[2].is_source);
	assert_string_equal(in[2].digests[0], src);
	assert_true(stage_inputs_have_source(in, n));
	assert_false(stage_inputs_have_source(in, 2));
	stage_inputs_free(in, n);
}

/* The hint is a command that works as written. */
static void test_missing_artifact_names_the_command_that_makes_it(void **state)
{
	struct fixture *f = *state;
	char d[DIGEST_STR_MAX];
	struct error err = {0};
	struct input *in = NULL;
	size_t n = 0;
	char *want;

	load(f, "");
	assert_int_equal(stage_inputs_resolve(&f->pl, stage(f, "b"), "art", &in, &n, &err), -1);
	want = xasprintf("input a: art/a.tar.zst (run `pgo-sandbox stage a --pipeline "
	                 "%s/pipeline.ini --artifacts art` first): No such file or directory",
	                 f->tmp.dir);
	assert_string_equal(err.msg, want);
	free(want);
	stage_inputs_free(in, n);

	unit_write_artifact("art", "a", "zst", "A", d);
	unit_write_artifact("art", "train.1of2", "zst", "T1", d);
	in = NULL;
	assert_int_equal(stage_inputs_resolve(&f->pl, stage(f, "b"), "art", &in, &n, &err), -1);
	want = xasprintf("input train.2of2: art/train.2of2.tar.zst (run `pgo-sandbox stage train "
	                 "--shard I/N --pipeline %s/pipeline.ini --artifacts art` first): No such "
	                 "file or directory",
	                 f->tmp.dir);
	assert_string_equal(err.msg, want);
	free(want);
	stage_inputs_free(in, n);
}

static void test_tampered_artifact_is_refused(void **state)
{
	struct fixture *f = *state;
	char d[DIGEST_STR_MAX];
	struct error err = {0};
	struct input *in = NULL;
	size_t n = 0;

	load(f, "");
	unit_write_artifact("art", "a", "zst", "A", d);
	unit_write_text("art/a.tar.zst", "B"); /* after its sidecar */
	assert_int_equal(stage_inputs_resolve(&f->pl, stage(f, "train"), "art", &in, &n, &err), -1);
	assert_non_null(strstr(err.msg, "input a: "));
	assert_non_null(strstr(err.msg, "art/a.tar.zst"));
	stage_inputs_free(in, n);
}

/* A definition naming no stage of the pipeline (the loader refuses one
 * in a file; a caller may build one). */
static void test_unknown_input_names_the_pipeline(void **state)
{
	struct fixture *f = *state;
	char *names[] = {"nosuch"};
	struct stage_def def = {.name = "x", .inputs = names, .n_inputs = 1};
	struct error err = {0};
	struct input *in = NULL;
	size_t n = 0;
	char *want;

	load(f, "");
	assert_int_equal(stage_inputs_resolve(&f->pl, &def, "art", &in, &n, &err), -1);
	want = xasprintf("input 'nosuch' is not a stage of %s/pipeline.ini", f->tmp.dir);
	assert_string_equal(err.msg, want);
	free(want);
	stage_inputs_free(in, n);
}

/* Artifacts kept inside the source tree are no source: not in its digest;
 * anything else in the tree is. */
static void test_artifacts_inside_the_source_are_not_source(void **state)
{
	struct fixture *f = *state;
	char before[DIGEST_STR_MAX], after[DIGEST_STR_MAX];
	struct error err = {0};
	struct input *in = NULL;
	size_t n = 0;
	char *mask;

	load(f, "artifacts = src/artifacts/gcc\n");
	mask = stage_source_mask(&f->pl);
	assert_non_null(mask);
	assert_string_equal(mask, "artifacts");
	free(mask);
	assert_int_equal(stage_inputs_resolve(&f->pl, stage(f, "a"), "art", &in, &n, &err), 0);
	snprintf(before, sizeof(before), "%s", in[0].digests[0]);
	stage_inputs_free(in, n);

	assert_int_equal(mkdir_p("src/artifacts/gcc", 0755, &err), 0);
	unit_write_text("src/artifacts/gcc/a.tar.zst", "whatever");
	assert_int_equal(stage_inputs_resolve(&f->pl, stage(f, "a"), "art", &in, &n, &err), 0);
	assert_string_equal(in[0].digests[0], before);
	stage_inputs_free(in, n);

	unit_write_text("src/g", "more source");
	assert_int_equal(stage_inputs_resolve(&f->pl, stage(f, "a"), "art", &in, &n, &err), 0);
	snprintf(after, sizeof(after), "%s", in[0].digests[0]);
	assert_string_not_equal(after, before);
	stage_inputs_free(in, n);
}

static void test_no_mask_when_artifacts_are_outside_the_source(void **state)
{
	struct fixture *f = *state;

	/* a sibling whose name starts like the source is not inside it */
	load(f, "artifacts = src-artifacts\n");
	assert_null(stage_source_mask(&f->pl));
}

/* What the definition records of the inputs names files, not where they
 * were read from: any spelling of the artifacts directory, or another
 * directory holding the same artifacts, gives the same JSON. */
static void test_inputs_json_does_not_depend_on_the_artifacts_path(void **state)
{
	struct fixture *f = *state;
	const char *dirs[] = {"art", "./art/", "art2"};
	char d[DIGEST_STR_MAX], *first = NULL;

	load(f, "");
	unit_write_artifact("art", "a", "zst", "A", d);
	unit_write_artifact("art", "train.1of2", "zst", "T1", d);
	unit_write_artifact("art", "train.2of2", "zst", "T2", d);
	assert_int_equal(system("cp -a art art2"), 0);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		struct error err = {0};
		struct input *in = NULL;
		size_t n = 0;
		json_t *j;
		char *text;

		if (stage_inputs_resolve(&f->pl, stage(f, "b"), dirs[i], &in, &n, &err) < 0)
			fail_msg("%s: %s", dirs[i], err.msg);
		j = stage_inputs_json(in, n);
		text = json_canonical(j);
		if (first == NULL)
			first = text;
		else {
			assert_string_equal(text, first);
			free(text);
		}
		json_decref(j);
		stage_inputs_free(in, n);
	}
	assert_non_null(strstr(first, "\"file\":\"train.2of2.tar.zst\""));
	assert_null(strstr(first, "art/"));
	assert_null(strstr(first, "art2"));
	free(first);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_artifact_names),
	    cmocka_unit_test_setup_teardown(test_artifact_find_prefers_zstd_then_gzip, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_resolves_inputs_in_order_with_shards_and_digests,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_artifact_names_the_command_that_makes_it,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tampered_artifact_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_input_names_the_pipeline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_artifacts_inside_the_source_are_not_source, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_no_mask_when_artifacts_are_outside_the_source,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inputs_json_does_not_depend_on_the_artifacts_path,
	                                    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
