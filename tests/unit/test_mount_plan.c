/* Unit tests: planning the sandbox's root filesystem (sandbox/mount_plan.c)
 * from a spec and a listing of the image's top level: what is mounted
 * where, read-only or not, in which order, and which targets are refused.
 * Pure: nothing is mounted or read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/spec.h"
#include "sandbox/mount_plan.h"

struct fixture {
	struct sandbox_spec spec;
	struct root_listing top;
	struct mount_plan plan;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	spec_init(&f->spec);
	/* a merged-/usr host (Debian 12) */
	root_listing_add(&f->top, "bin", ROOT_ENTRY_LINK, "usr/bin");
	root_listing_add(&f->top, "sbin", ROOT_ENTRY_LINK, "usr/sbin");
	root_listing_add(&f->top, "lib", ROOT_ENTRY_LINK, "usr/lib");
	root_listing_add(&f->top, "lib64", ROOT_ENTRY_DIR, NULL);
	f->top.has_alternatives = true;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mount_plan_free(&f->plan);
	root_listing_free(&f->top);
	spec_free(&f->spec);
	free(f);
	return 0;
}

static void build(struct fixture *f, const char *image_dir, const int *prepared)
{
	struct error err = {0};

	if (mount_plan_build(&f->spec, image_dir, &f->top, prepared, &f->plan, &err) < 0)
		fail_msg("mount_plan_build: %s", err.msg);
}

/* The plan as one line per step, to compare whole plans. */
static char *describe(const struct mount_plan *plan)
{
	static const char *const kinds[] = {"bind", "prepared", "tmpfs", "symlink",
	                                    "etc",  "dev",      "proc"};
	char *text = xstrdup("");

	for (size_t i = 0; i < plan->n; i++) {
		const struct mount_step *s = &plan->steps[i];
		char *line;

		switch (s->kind) {
		case STEP_BIND:
			line =
			    xasprintf("bind %s %s %s", s->src, s->dst, s->read_only ? "ro" : "rw");
			break;
		case STEP_PREPARED: line = xasprintf("prepared %zu %s", s->index, s->dst); break;
		case STEP_TMPFS:
			line = xasprintf("tmpfs %s %llu %s", s->dst, (unsigned long long)s->size,
			                 s->mode);
			break;
		case STEP_SYMLINK: line = xasprintf("symlink %s -> %s", s->dst, s->src); break;
		default: line = xasprintf("%s %s", kinds[s->kind], s->dst); break;
		}
		char *joined =
		    xasprintf("%s%s%s", text, line, s->spec_mount >= 0 ? " (spec)\n" : "\n");
		free(line);
		free(text);
		text = joined;
	}
	return text;
}

static void assert_plan(const struct mount_plan *plan, const char *want)
{
	char *got = describe(plan);

	if (strcmp(got, want) != 0)
		fail_msg("plan:\n%s\nwanted:\n%s", got, want);
	free(got);
}

/* The host image, then /dev, /proc and /tmp, then the spec's mounts in
 * their order: a mount inside another (the artifacts mask inside /src)
 * comes after it and lies over it. */
static void test_host_image_plan_and_its_order(void **state)
{
	struct fixture *f = *state;

	f->spec.tmpfs_size = 1 << 20;
	mount_spec_add(&f->spec, MOUNT_BIND_RO, "/home/me/src", "/src", 0);
	mount_spec_add(&f->spec, MOUNT_TMPFS, NULL, "/src/artifacts", 4096);
	mount_spec_add(&f->spec, MOUNT_BIND_RW, "/var/tmp/w", "/build", 0);
	mount_spec_add(&f->spec, MOUNT_BIND_RO, "/var/tmp/in/a", "/build/in/a", 0);
	build(f, NULL, NULL);
	assert_plan(&f->plan, "bind /usr /usr ro\n"
	                      "symlink bin -> usr/bin\n"
	                      "symlink sbin -> usr/sbin\n"
	                      "symlink lib -> usr/lib\n"
	                      "bind /lib64 /lib64 ro\n"
	                      "etc /etc\n"
	                      "bind /etc/alternatives /etc/alternatives ro\n"
	                      "dev /dev\n"
	                      "proc /proc\n"
	                      "tmpfs /tmp 1048576 1777\n"
	                      "bind /home/me/src /src ro (spec)\n"
	                      "tmpfs /src/artifacts 4096 0755 (spec)\n"
	                      "bind /var/tmp/w /build rw (spec)\n"
	                      "bind /var/tmp/in/a /build/in/a ro (spec)\n");
	assert_int_equal(f->plan.steps[10].spec_mount, 0);
	assert_int_equal(f->plan.steps[13].spec_mount, 3);
}

/* Only --bind is writable; an idmapped bind the runner could not prepare
 * is a plain read-only one; a prepared one is attached as it is. */
static void test_read_only_unless_bound_writable(void **state)
{
	struct fixture *f = *state;
	const int prepared[] = {-1, -1, 7, -1};

	f->top.has_alternatives = false;
	mount_spec_add(&f->spec, MOUNT_BIND_RO, "/a", "/a", 0);
	mount_spec_add(&f->spec, MOUNT_BIND_RO_IDMAP, "/b", "/b", 0);
	mount_spec_add(&f->spec, MOUNT_BIND_RO_IDMAP, "/c", "/c", 0);
	mount_spec_add(&f->spec, MOUNT_BIND_RW, "/d", "/d", 0);
	build(f, NULL, prepared);
	for (size_t i = 0; i < f->plan.n; i++) {
		const struct mount_step *s = &f->plan.steps[i];

		if (s->kind == STEP_BIND && s->spec_mount != 3 && !s->read_only)
			fail_msg("%s is writable", s->dst);
	}
	assert_plan(&f->plan, "bind /usr /usr ro\n"
	                      "symlink bin -> usr/bin\n"
	                      "symlink sbin -> usr/sbin\n"
	                      "symlink lib -> usr/lib\n"
	                      "bind /lib64 /lib64 ro\n"
	                      "etc /etc\n"
	                      "dev /dev\n"
	                      "proc /proc\n"
	                      "tmpfs /tmp 1073741824 1777\n"
	                      "bind /a /a ro (spec)\n"
	                      "bind /b /b ro (spec)\n"
	                      "prepared 2 /c (spec)\n"
	                      "bind /d /d rw (spec)\n");
}

/* A --tmpfs without a size gets the spec's bound (the default when
 * unset), as /tmp does. */
static void test_tmpfs_sizes(void **state)
{
	struct fixture *f = *state;

	mount_spec_add(&f->spec, MOUNT_TMPFS, NULL, "/scratch", 0);
	mount_spec_add(&f->spec, MOUNT_TMPFS, NULL, "/small", 8192);
	build(f, NULL, NULL);
	assert_int_equal(f->plan.steps[f->plan.n - 2].size, DEFAULT_TMPFS_SIZE);
	assert_int_equal(f->plan.steps[f->plan.n - 1].size, 8192);
	mount_plan_free(&f->plan);
	f->spec.tmpfs_size = 65536;
	build(f, NULL, NULL);
	assert_int_equal(f->plan.steps[f->plan.n - 2].size, 65536);
	assert_int_equal(f->plan.steps[f->plan.n - 1].size, 8192);
}

/* A rootfs directory: each top-level entry bound read-only from the
 * image, links recreated, the runner's fresh directories (and sockets,
 * devices...) left out; no generated /etc. */
static void test_directory_image(void **state)
{
	struct fixture *f = *state;

	root_listing_free(&f->top);
	f->top.has_alternatives = true; /* the host's: no business of an image */
	root_listing_add(&f->top, "usr", ROOT_ENTRY_DIR, NULL);
	root_listing_add(&f->top, "proc", ROOT_ENTRY_DIR, NULL);
	root_listing_add(&f->top, "bin", ROOT_ENTRY_LINK, "usr/bin");
	root_listing_add(&f->top, "etc", ROOT_ENTRY_DIR, NULL);
	root_listing_add(&f->top, "tmp", ROOT_ENTRY_DIR, NULL);
	root_listing_add(&f->top, "dev", ROOT_ENTRY_DIR, NULL);
	root_listing_add(&f->top, "sys", ROOT_ENTRY_DIR, NULL);
	root_listing_add(&f->top, "run", ROOT_ENTRY_DIR, NULL);
	root_listing_add(&f->top, "sock", ROOT_ENTRY_OTHER, NULL);
	root_listing_add(&f->top, "init", ROOT_ENTRY_FILE, NULL);
	f->spec.image_kind = IMAGE_DIR;
	build(f, "/var/cache/img", NULL);
	assert_plan(&f->plan, "bind /var/cache/img/usr /usr ro\n"
	                      "symlink bin -> usr/bin\n"
	                      "bind /var/cache/img/etc /etc ro\n"
	                      "bind /var/cache/img/init /init ro\n"
	                      "dev /dev\n"
	                      "proc /proc\n"
	                      "tmpfs /tmp 1073741824 1777\n");
}

static void assert_refused(struct fixture *f, enum mount_kind kind, const char *dst,
                           const char *want)
{
	struct error err = {0};

	spec_free(&f->spec);
	spec_init(&f->spec);
	mount_spec_add(&f->spec, MOUNT_BIND_RO, "/ok", "/ok", 0);
	mount_spec_add(&f->spec, kind, kind == MOUNT_TMPFS ? NULL : "/host", dst, 0);
	if (mount_plan_build(&f->spec, NULL, &f->top, NULL, &f->plan, &err) == 0)
		fail_msg("%s was planned", dst);
	assert_string_equal(err.msg, want);
	assert_int_equal(err.exit_code, EXIT_RUNNER_ERROR);
	mount_plan_free(&f->plan);
}

/* A target must say where it goes: relative, with "." or "..", or the
 * root itself is refused, naming the option, the path and why. */
static void test_hostile_targets_are_refused(void **state)
{
	struct fixture *f = *state;

	assert_refused(f, MOUNT_BIND_RW, "out",
	               "--bind out: the path inside the sandbox must be absolute");
	assert_refused(f, MOUNT_BIND_RO, "",
	               "--ro-bind : the path inside the sandbox must be absolute");
	assert_refused(f, MOUNT_BIND_RO, "/a/../etc",
	               "--ro-bind /a/../etc: the path inside the sandbox may not have a '..' "
	               "component");
	assert_refused(f, MOUNT_TMPFS, "/..",
	               "--tmpfs /..: the path inside the sandbox may not have a '..' component");
	assert_refused(f, MOUNT_BIND_RO_IDMAP, "/src/./x",
	               "--ro-bind-idmap /src/./x: the path inside the sandbox may not have a '.' "
	               "component");
	assert_refused(f, MOUNT_BIND_RW, "/out/..",
	               "--bind /out/..: the path inside the sandbox may not have a '..' component");
	assert_refused(f, MOUNT_BIND_RW, "/",
	               "--bind /: the sandbox's root is the image's: mount below it");
	assert_refused(f, MOUNT_BIND_RW, "//",
	               "--bind //: the sandbox's root is the image's: mount below it");
}

/* Names that only look like "." or ".." are names. */
static void test_plain_targets_are_accepted(void **state)
{
	static const char *const ok[] = {"/a", "/a/b/", "//a//b", "/...", "/.a", "/a..", "/..b/c."};
	struct error err = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (mount_plan_check_target(ok[i], &err) < 0)
			fail_msg("%s: %s", ok[i], err.msg);
}

static void test_a_bind_needs_a_source(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};

	mount_spec_add(&f->spec, MOUNT_BIND_RO, NULL, "/x", 0);
	assert_int_equal(mount_plan_build(&f->spec, NULL, &f->top, NULL, &f->plan, &err), -1);
	assert_string_equal(err.msg, "--ro-bind /x: no host path to bind");
}

static void test_fresh_dirs(void **state)
{
	(void)state;
	assert_true(mount_plan_is_fresh_dir("proc"));
	assert_true(mount_plan_is_fresh_dir("run"));
	assert_false(mount_plan_is_fresh_dir("usr"));
	assert_false(mount_plan_is_fresh_dir("procs"));
	assert_true(mount_plan_path_is_fresh_dir("/tmp"));
	assert_true(mount_plan_path_is_fresh_dir("//tmp/"));
	assert_true(mount_plan_path_is_fresh_dir("/dev"));
	assert_false(mount_plan_path_is_fresh_dir("/tmp/work"));
	assert_false(mount_plan_path_is_fresh_dir("/tmpx"));
	assert_false(mount_plan_path_is_fresh_dir("tmp"));
	assert_false(mount_plan_path_is_fresh_dir("/"));
	assert_false(mount_plan_path_is_fresh_dir("/a-very-long-top-level-name"));
	assert_string_equal(mount_option_name(MOUNT_BIND_RW), "--bind");
	assert_string_equal(mount_option_name(MOUNT_BIND_RO), "--ro-bind");
	assert_string_equal(mount_option_name(MOUNT_BIND_RO_IDMAP), "--ro-bind-idmap");
	assert_string_equal(mount_option_name(MOUNT_TMPFS), "--tmpfs");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_host_image_plan_and_its_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_only_unless_bound_writable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tmpfs_sizes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_directory_image, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_targets_are_refused, setup, teardown),
	    cmocka_unit_test(test_plain_targets_are_accepted),
	    cmocka_unit_test_setup_teardown(test_a_bind_needs_a_source, setup, teardown),
	    cmocka_unit_test(test_fresh_dirs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
