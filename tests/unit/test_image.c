/* test_image.c - image digests (host facts on a fake root, directory
 * manifests, tarballs), image definitions, dpkg status, apt sources and
 * the rootfs cleaning, all on trees made here. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/image.h"
#include "unit_fixture.h"

#define FAST_TIMEOUT_NS (5ULL * 1000 * 1000 * 1000)

static char *make_tmpdir(void)
{
	char *dir = strdup("/tmp/pgo-image-test.XXXXXX");

	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void cleanup(char *dir)
{
	struct error err = {0};

	assert_int_equal(remove_tree(dir, &err), 0);
	free(dir);
}

/* Write root/rel (parents created) with the given mode. */
static void put(const char *root, const char *rel, mode_t mode, const char *text)
{
	char *path = xasprintf("%s/%s", root, rel);

	unit_put(root, rel, text);
	if (chmod(path, mode) < 0)
		fail_msg("chmod %s: %s", path, strerror(errno));
	free(path);
}

static void put_link(const char *root, const char *rel, const char *target)
{
	char *path = xasprintf("%s/%s", root, rel);

	unlink(path);
	assert_int_equal(symlink(target, path), 0);
	free(path);
}

static bool exists(const char *root, const char *rel)
{
	char *path = xasprintf("%s/%s", root, rel);
	struct stat st;
	bool yes = lstat(path, &st) == 0;

	free(path);
	return yes;
}

static const char *str_at(json_t *facts, const char *tool, const char *key)
{
	json_t *t = json_object_get(json_object_get(facts, "tools"), tool);

	return json_string_value(json_object_get(t, key));
}

static const char status_text[] = "Package: gcc-12\n"
                                  "Status: install ok installed\n"
                                  "Architecture: amd64\n"
                                  "Version: 12.2.0-14\n"
                                  "Description: GNU C compiler\n"
                                  " Version: not-a-field (continuation line)\n"
                                  "\n"
                                  "Package: clang-14\n"
                                  "Status: deinstall ok config-files\n"
                                  "Architecture: amd64\n"
                                  "Version: 1:14.0.6-12\n"
                                  "\n"
                                  "Package: libc6\n"
                                  "Status: install ok installed\n"
                                  "Architecture: amd64\n"
                                  "Version: 2.36-9\n"
                                  "\n"
                                  "Package: libc6\n"
                                  "Status: hold ok installed\n"
                                  "Architecture: i386\n"
                                  "Version: 2.36-8\n";

static char *fake_host(void)
{
	char *root = make_tmpdir();

	put(root, "usr/bin/gcc", 0755, "#!/bin/sh\necho 'gcc (Fake) 1.0'\necho second line\n");
	put_link(root, "usr/bin/cc", "gcc");
	/* absolute: must resolve inside the fake root, not on the host */
	put(root, "usr/lib/llvm/bin/clang", 0755, "#!/bin/sh\necho 'fake clang 14'\n");
	put_link(root, "usr/bin/clang", "/usr/lib/llvm/bin/clang");
	put(root, "etc/debian_version", 0644, "12.99\n");
	put(root, "var/lib/dpkg/status", 0644, status_text);
	return root;
}

static void host_digest(const char *root, char out[DIGEST_STR_MAX], json_t **facts)
{
	struct error err = {0};

	if (image_digest_host_at(root, FAST_TIMEOUT_NS, out, facts, &err) < 0)
		fail_msg("image_digest_host_at: %s", err.msg);
}

static void test_host_facts(void **state)
{
	char *root = fake_host();
	char digest[DIGEST_STR_MAX], file_digest[DIGEST_STR_MAX];
	char *gcc = xasprintf("%s/usr/bin/gcc", root);
	struct error err = {0};
	json_t *facts = NULL, *pkgs;

	(void)state;
	host_digest(root, digest, &facts);
	assert_string_equal(json_string_value(json_object_get(facts, "kind")), "host");
	assert_string_equal(str_at(facts, "gcc", "path"), "/usr/bin/gcc");
	assert_string_equal(str_at(facts, "gcc", "version"), "gcc (Fake) 1.0");
	assert_int_equal(digest_file_sha256(gcc, file_digest, &err), 0);
	assert_string_equal(str_at(facts, "gcc", "sha256"), file_digest);
	assert_string_equal(str_at(facts, "cc", "path"), "/usr/bin/gcc");
	assert_string_equal(str_at(facts, "clang", "path"), "/usr/lib/llvm/bin/clang");
	assert_string_equal(str_at(facts, "clang", "version"), "fake clang 14");
	/* absent tools are left out */
	assert_null(json_object_get(json_object_get(facts, "tools"), "ld"));
	assert_null(json_object_get(json_object_get(facts, "tools"), "make"));
	assert_string_equal(json_string_value(json_object_get(facts, "debian_version")), "12.99");
	pkgs = json_object_get(facts, "packages");
	assert_string_equal(json_string_value(json_object_get(pkgs, "gcc-12")), "12.2.0-14");
	assert_string_equal(json_string_value(json_object_get(pkgs, "libc6")), "2.36-9");
	assert_null(json_object_get(pkgs, "clang-14")); /* config-files only */
	assert_true(strncmp(digest, "sha256:", 7) == 0 && strlen(digest) == 71);
	json_decref(facts);
	free(gcc);
	cleanup(root);
}

static void test_host_digest_follows_the_toolchain(void **state)
{
	char *root = fake_host();
	char first[DIGEST_STR_MAX], again[DIGEST_STR_MAX], other[DIGEST_STR_MAX];

	(void)state;
	host_digest(root, first, NULL);
	host_digest(root, again, NULL);
	assert_string_equal(first, again);

	/* a new compiler version */
	put(root, "usr/bin/gcc", 0755, "#!/bin/sh\necho 'gcc (Fake) 1.1'\necho second line\n");
	host_digest(root, other, NULL);
	assert_string_not_equal(first, other);
	/* back as it was: back to the same digest */
	put(root, "usr/bin/gcc", 0755, "#!/bin/sh\necho 'gcc (Fake) 1.0'\necho second line\n");
	host_digest(root, again, NULL);
	assert_string_equal(first, again);

	/* same version line, different file */
	put(root, "usr/bin/gcc", 0755,
	    "#!/bin/sh\n# rebuilt\necho 'gcc (Fake) 1.0'\necho second line\n");
	host_digest(root, other, NULL);
	assert_string_not_equal(first, other);
	put(root, "usr/bin/gcc", 0755, "#!/bin/sh\necho 'gcc (Fake) 1.0'\necho second line\n");

	/* cc now leads elsewhere */
	put(root, "usr/bin/gcc-13", 0755, "#!/bin/sh\necho 'gcc (Fake) 1.0'\necho second line\n");
	put_link(root, "usr/bin/cc", "gcc-13");
	host_digest(root, other, NULL);
	assert_string_not_equal(first, other);
	put_link(root, "usr/bin/cc", "gcc");

	/* a package upgrade */
	put(root, "var/lib/dpkg/status", 0644,
	    "Package: gcc-12\nStatus: install ok installed\n"
	    "Version: 12.2.0-15\n");
	host_digest(root, other, NULL);
	assert_string_not_equal(first, other);
	put(root, "var/lib/dpkg/status", 0644, status_text);

	/* a tool appears */
	put(root, "usr/bin/make", 0755, "#!/bin/sh\necho 'GNU Make 4.3'\n");
	host_digest(root, other, NULL);
	assert_string_not_equal(first, other);
	cleanup(root);
}

static void test_host_version_runs_clean(void **state)
{
	char *root = make_tmpdir();
	char digest[DIGEST_STR_MAX];
	json_t *facts = NULL;

	(void)state;
	assert_int_equal(setenv("PGO_IMAGE_TEST_LEAK", "leaked", 1), 0);
	put(root, "usr/bin/gcc", 0755, "#!/bin/sh\necho \"v[$PGO_IMAGE_TEST_LEAK][$LC_ALL]\"\n");
	put(root, "usr/bin/make", 0755, "#!/bin/sh\necho broken\nexit 3\n");
	put(root, "usr/bin/ar", 0755, "#!/bin/sh\nexec yes 'a long line'\n");
	put(root, "usr/bin/ld", 0755, "#!/bin/sh\nprintf 'ld \\001\\351 x\\r\\n'\n");
	put(root, "usr/bin/llvm-profdata", 0755, "#!/bin/sh\necho \"args: $*\"\n");
	host_digest(root, digest, &facts);
	assert_string_equal(str_at(facts, "gcc", "version"), "v[][C]");
	assert_string_equal(str_at(facts, "make", "version"), "broken");
	assert_int_equal(
	    json_integer_value(json_object_get(
	        json_object_get(json_object_get(facts, "tools"), "make"), "version_exit")),
	    3);
	/* endless output is cut, the first line kept */
	assert_string_equal(str_at(facts, "ar", "version"), "a long line");
	assert_true(json_is_true(json_object_get(
	    json_object_get(json_object_get(facts, "tools"), "ar"), "version_output_truncated")));
	/* JSON-safe: bytes outside printable ASCII replaced, \r dropped */
	assert_string_equal(str_at(facts, "ld", "version"), "ld ?? x");
	assert_string_equal(str_at(facts, "llvm-profdata", "version"), "args: merge --version");
	unsetenv("PGO_IMAGE_TEST_LEAK");
	json_decref(facts);
	cleanup(root);
}

static void test_host_version_timeout(void **state)
{
	char *root = make_tmpdir();
	char digest[DIGEST_STR_MAX];
	struct error err = {0};

	(void)state;
	put(root, "usr/bin/gcc", 0755, "#!/bin/sh\necho started\nexec sleep 30\n");
	assert_int_equal(image_digest_host_at(root, 200ULL * 1000 * 1000, digest, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "did not finish"));
	assert_non_null(strstr(err.msg, "gcc --version"));
	cleanup(root);
}

static void test_host_errors(void **state)
{
	char digest[DIGEST_STR_MAX];
	struct error err = {0};

	(void)state;
	assert_int_equal(
	    image_digest_host_at("/nonexistent/pgo-root", FAST_TIMEOUT_NS, digest, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/pgo-root"));
}

static void dir_digest(const char *dir, char out[DIGEST_STR_MAX])
{
	struct error err = {0};

	if (image_digest(dir, out, NULL, &err) < 0)
		fail_msg("image_digest: %s", err.msg);
}

static void test_dir_digest(void **state)
{
	char *root = make_tmpdir();
	char first[DIGEST_STR_MAX], d[DIGEST_STR_MAX];
	char *file = NULL;
	struct error err = {0};
	json_t *facts = NULL;

	(void)state;
	put(root, "usr/bin/tool", 0755, "binary");
	put(root, "etc/conf", 0644, "a=1\n");
	put_link(root, "bin", "usr/bin");
	unit_mkdir(root, "empty");
	dir_digest(root, first);
	dir_digest(root, d);
	assert_string_equal(first, d);

	/* mtimes are not part of it */
	file = xasprintf("%s/etc/conf", root);
	assert_int_equal(utimensat(AT_FDCWD, file, (struct timespec[]){{1, 0}, {1, 0}}, 0), 0);
	dir_digest(root, d);
	assert_string_equal(first, d);
	/* what the sandbox replaces is not either (top level only) */
	put(root, "tmp/junk", 0644, "x");
	put(root, "proc/junk", 0644, "x");
	unit_mkdir(root, "dev/pts");
	dir_digest(root, d);
	assert_string_equal(first, d);
	put(root, "usr/tmp/junk", 0644, "x");
	dir_digest(root, d);
	assert_string_not_equal(first, d);
	free(file);
	file = xasprintf("%s/usr/tmp", root);
	assert_int_equal(remove_tree(file, &err), 0);
	dir_digest(root, d);
	assert_string_equal(first, d);

	/* contents, modes, link targets, new entries */
	put(root, "etc/conf", 0644, "a=2\n");
	dir_digest(root, d);
	assert_string_not_equal(first, d);
	put(root, "etc/conf", 0600, "a=1\n");
	dir_digest(root, d);
	assert_string_not_equal(first, d);
	put(root, "etc/conf", 0644, "a=1\n");
	put_link(root, "bin", "usr/sbin");
	dir_digest(root, d);
	assert_string_not_equal(first, d);
	put_link(root, "bin", "usr/bin");
	unit_mkdir(root, "empty/more");
	dir_digest(root, d);
	assert_string_not_equal(first, d);

	assert_int_equal(image_digest_dir(root, d, &facts, &err), 0);
	assert_string_equal(json_string_value(json_object_get(facts, "kind")), "directory");
	/* usr usr/bin usr/bin/tool etc etc/conf bin empty empty/more */
	assert_int_equal(json_integer_value(json_object_get(facts, "entries")), 8);
	assert_int_equal(json_integer_value(json_object_get(facts, "bytes")), 6 + 4);
	json_decref(facts);
	free(file);
	cleanup(root);
}

static void test_tarball_digest(void **state)
{
	char *dir = make_tmpdir();
	char *tar = xasprintf("%s/img.tar.zst", dir);
	char *json_path = xasprintf("%s/img.json", dir);
	char d[DIGEST_STR_MAX], expect[DIGEST_STR_MAX];
	struct error err = {0};
	json_t *facts = NULL, *doc;

	(void)state;
	put(dir, "img.tar.zst", 0644, "not really a tarball, hashed all the same");
	assert_int_equal(digest_file_sha256(tar, expect, &err), 0);
	assert_int_equal(image_digest(tar, d, &facts, &err), 0);
	assert_string_equal(d, expect);
	assert_string_equal(json_string_value(json_object_get(facts, "kind")), "tarball");
	assert_null(json_object_get(facts, "packages"));
	json_decref(facts);

	/* NAME.json of another build: ignored */
	doc = json_pack("{s:s, s:{s:s, s:s}}", "digest", "sha256:00", "packages", "gcc-12",
	                "12.2.0-14", "bash", "5.2");
	assert_int_equal(json_dump_file(doc, json_path, 0), 0);
	assert_int_equal(image_digest(tar, d, &facts, &err), 0);
	assert_null(json_object_get(facts, "packages"));
	json_decref(facts);
	/* NAME.json of this tarball: its toolchain packages join the facts */
	json_object_set_new(doc, "digest", json_string(expect));
	assert_int_equal(json_dump_file(doc, json_path, 0), 0);
	assert_int_equal(image_digest(tar, d, &facts, &err), 0);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(facts, "packages"), "gcc-12")),
	    "12.2.0-14");
	assert_null(json_object_get(json_object_get(facts, "packages"), "bash"));
	json_decref(facts);
	json_decref(doc);

	assert_int_equal(image_digest("/nonexistent/img.tar", d, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/img.tar"));
	assert_int_equal(image_digest("/dev/null", d, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "neither"));
	free(tar);
	free(json_path);
	cleanup(dir);
}

static void test_definition(void **state)
{
	char *dir = make_tmpdir();
	char *path = xasprintf("%s/bookworm-x", dir);
	struct image_definition def;
	struct error err = {0};
	json_t *j;

	(void)state;
	put(dir, "bookworm-x.ini", 0644,
	    "; a comment\n[image]\nsuite = bookworm\nsnapshot = 20261101T000000Z\n"
	    "packages = gcc, make\n  clang llvm   lld\n");
	if (image_definition_load(path, &def, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(def.name, "bookworm-x");
	assert_string_equal(def.suite, "bookworm");
	assert_string_equal(def.variant, "minbase");
	assert_string_equal(def.arch, "amd64");
	assert_int_equal(def.snapshot_epoch, 1793491200);
	assert_int_equal(def.components.n, 1);
	assert_string_equal(def.components.v[0], "main");
	assert_int_equal(def.packages.n, 5);
	assert_string_equal(def.packages.v[0], "gcc");
	assert_string_equal(def.packages.v[4], "lld");
	j = image_definition_json(&def);
	assert_int_equal(json_array_size(json_object_get(j, "packages")), 5);
	assert_string_equal(json_string_value(json_object_get(j, "snapshot")), "20261101T000000Z");
	json_decref(j);
	image_definition_free(&def);
	free(path);

	/* the .ini suffix may be given */
	path = xasprintf("%s/bookworm-x.ini", dir);
	assert_int_equal(image_definition_load(path, &def, &err), 0);
	assert_string_equal(def.name, "bookworm-x");
	image_definition_free(&def);
	free(path);
	cleanup(dir);
}

static void expect_definition_error(const char *text, const char *needle)
{
	char *dir = make_tmpdir();
	char *path = xasprintf("%s/bad.ini", dir);
	struct image_definition def;
	struct error err = {0};

	put(dir, "bad.ini", 0644, text);
	assert_int_equal(image_definition_load(path, &def, &err), -1);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("'%s' does not say '%s'", err.msg, needle);
	assert_non_null(strstr(err.msg, "bad.ini"));
	free(path);
	cleanup(dir);
}

static void test_definition_errors(void **state)
{
	static const char head[] = "[image]\nsuite = bookworm\n";
	char *text;

	(void)state;
	expect_definition_error("[image]\nsuite = bookworm\nsnapshot = 20261101T000000Z\n"
	                        "mirror = x\n",
	                        "unknown key 'mirror'");
	expect_definition_error("[other]\nsuite = bookworm\n", "unknown section [other]");
	expect_definition_error("[image]\nsuite = bookworm\n", "needs suite and snapshot");
	text = xasprintf("%ssnapshot = 20260231T000000Z\n", head);
	expect_definition_error(text, "not a valid date");
	free(text);
	text = xasprintf("%ssnapshot = 2026-11-01\n", head);
	expect_definition_error(text, "not of the form");
	free(text);
	text = xasprintf("%ssnapshot = 20261101T000000Z\npackages = gcc;rm\n", head);
	expect_definition_error(text, "'gcc;rm' is not a Debian name");
	free(text);
	text = xasprintf("%ssnapshot = 20261101T000000Z\nsuite = sid\n", head);
	expect_definition_error(text, "suite is given twice");
	free(text);
	text = xasprintf("%ssnapshot = 20261101T000000Z\nvariant = fakechroot\n", head);
	expect_definition_error(text, "variant 'fakechroot'");
	free(text);
	text = xasprintf("%ssnapshot = 20261101T000000Z\nthis line has no equals sign\n", head);
	expect_definition_error(text, ":4: cannot parse");
	free(text);
	expect_definition_error("", "needs suite and snapshot");
	{
		struct image_definition def;
		struct error err = {0};

		assert_int_equal(image_definition_load("/nonexistent/images/x", &def, &err), -1);
		assert_non_null(strstr(err.msg, "/nonexistent/images/x.ini"));
	}
}

static void test_snapshot_epoch(void **state)
{
	struct error err = {0};
	int64_t t = -1;

	(void)state;
	assert_int_equal(image_snapshot_epoch("19700101T000000Z", &t, &err), 0);
	assert_int_equal(t, 0);
	assert_int_equal(image_snapshot_epoch("20240229T235959Z", &t, &err), 0);
	assert_int_equal(t, 1709251199);
	assert_int_equal(image_snapshot_epoch("20230229T000000Z", &t, &err), -1);
	assert_int_equal(image_snapshot_epoch("20261101T000000", &t, &err), -1);
	assert_int_equal(image_snapshot_epoch("20261101T000000Zx", &t, &err), -1);
	assert_int_equal(image_snapshot_epoch("20261101T240000Z", &t, &err), -1);
	assert_int_equal(image_snapshot_epoch("", &t, &err), -1);
}

static void test_dpkg_packages(void **state)
{
	char *dir = make_tmpdir();
	char *path = xasprintf("%s/status", dir);
	struct error err = {0};
	json_t *pkgs = NULL;

	(void)state;
	put(dir, "status", 0644, status_text);
	assert_int_equal(image_dpkg_packages(path, &pkgs, &err), 0);
	assert_int_equal(json_object_size(pkgs), 3);
	assert_string_equal(json_string_value(json_object_get(pkgs, "gcc-12")), "12.2.0-14");
	assert_string_equal(json_string_value(json_object_get(pkgs, "libc6")), "2.36-9");
	assert_string_equal(json_string_value(json_object_get(pkgs, "libc6:i386")), "2.36-8");
	assert_null(json_object_get(pkgs, "clang-14"));
	json_decref(pkgs);
	assert_int_equal(image_dpkg_packages("/nonexistent/status", &pkgs, &err), -1);
	free(path);
	cleanup(dir);
}

static void test_apt_mirror(void **state)
{
	char *dir = make_tmpdir();
	struct error err = {0};
	char *url = NULL;

	(void)state;
	/* deb822, only in sources.list.d */
	put(dir, "sources.list.d/a.sources", 0644,
	    "# comment\nTypes: deb\nURIs: http://security.example.org/debian-security\n"
	    "Suites: bookworm-security\nComponents: main\n\n"
	    "Types: deb\nURIs: http://off.example.org/debian\nSuites: bookworm\n"
	    "Components: main\nEnabled: no\n\n"
	    "Types: deb deb-src\n# URIs: http://commented.example.org/debian\n"
	    "URIs: http://b.example.org/debian/\nSuites: bookworm bookworm-updates\n"
	    "Components: main contrib\nSigned-By: /usr/share/keyrings/x.gpg\n");
	put(dir, "sources.list.d/z.list.disabled", 0644,
	    "deb http://ignored.example.org/debian bookworm main\n");
	assert_int_equal(image_apt_mirror(dir, "bookworm", &url, &err), 0);
	assert_string_equal(url, "http://b.example.org/debian");
	free(url);
	assert_int_equal(image_apt_mirror(dir, "trixie", &url, &err), -1);
	assert_non_null(strstr(err.msg, "trixie"));
	assert_non_null(strstr(err.msg, "--mirror"));

	/* sources.list comes first; options in brackets; deb-src skipped */
	put(dir, "sources.list", 0644,
	    "deb-src http://src.example.org/debian bookworm main\n"
	    "  # deb http://comment.example.org/debian bookworm main\n"
	    "deb http://contrib.example.org/debian bookworm contrib\n"
	    "deb [arch=amd64 signed-by=/x.gpg] https://a.example.org/debian bookworm main\n");
	assert_int_equal(image_apt_mirror(dir, "bookworm", &url, &err), 0);
	assert_string_equal(url, "https://a.example.org/debian");
	free(url);
	cleanup(dir);
}

static bool cleaned_has(json_t *cleaned, const char *path)
{
	size_t i;
	json_t *v;

	json_array_foreach(cleaned, i, v)
	{
		if (strcmp(json_string_value(v), path) == 0)
			return true;
	}
	return false;
}

static void test_clean_rootfs(void **state)
{
	char *root = make_tmpdir();
	char *outside = make_tmpdir();
	char *machine_id = NULL;
	struct error err = {0};
	json_t *cleaned = json_array();
	struct stat st;

	(void)state;
	put(root, "dev/null", 0644, "stand-in for a device node");
	unit_mkdir(root, "dev/pts");
	put(root, "var/log/dpkg.log", 0644, "2026-11-24 install gcc");
	put(root, "var/log/apt/history.log", 0644, "Start-Date: 2026-11-24");
	put(root, "var/cache/apt/pkgcache.bin", 0644, "cache");
	put(root, "var/cache/apt/archives/gcc_12_amd64.deb", 0644, "deb");
	put(root, "var/cache/apt/archives/lock", 0644, "");
	put(root, "var/lib/apt/lists/mirror_dists_bookworm_Release", 0644, "Release");
	unit_mkdir(root, "var/lib/apt/lists/partial");
	put(root, "var/cache/ldconfig/aux-cache", 0644, "inodes");
	put(root, "var/lib/dpkg/status", 0644, status_text);
	put(root, "var/lib/dpkg/status-old", 0644, status_text);
	put(root, "etc/hostname", 0644, "build-host\n");
	put(root, "etc/resolv.conf", 0644, "nameserver 10.0.0.1\n");
	put(root, "etc/machine-id", 0444, "0123456789abcdef\n");
	put(root, "etc/passwd", 0644, "root:x:0:0::/root:/bin/sh\n");
	put(root, "usr/lib/python3/dist-packages/m/__pycache__/a.cpython-311.pyc", 0644, "pyc");
	put(root, "usr/lib/python3/dist-packages/m/a.py", 0644, "x = 1\n");
	/* an absolute symlink must resolve inside the root, never on the host */
	put(outside, "keep.log", 0644, "host file");
	unit_mkdir(root, "var/lib/systemd");
	put_link(root, "var/lib/dbus", outside);

	assert_int_equal(image_clean_rootfs(root, cleaned, &err), 0);
	assert_true(exists(root, "dev") && !exists(root, "dev/null") && !exists(root, "dev/pts"));
	assert_true(exists(root, "var/log/apt") && !exists(root, "var/log/apt/history.log"));
	assert_false(exists(root, "var/log/dpkg.log"));
	assert_false(exists(root, "var/cache/apt/pkgcache.bin"));
	assert_false(exists(root, "var/cache/apt/archives/gcc_12_amd64.deb"));
	assert_true(exists(root, "var/cache/apt/archives/lock"));
	assert_false(exists(root, "var/lib/apt/lists/mirror_dists_bookworm_Release"));
	assert_true(exists(root, "var/lib/apt/lists/partial"));
	assert_false(exists(root, "var/cache/ldconfig/aux-cache"));
	assert_true(exists(root, "var/lib/dpkg/status"));
	assert_false(exists(root, "var/lib/dpkg/status-old"));
	assert_false(exists(root, "etc/hostname") || exists(root, "etc/resolv.conf"));
	machine_id = xasprintf("%s/etc/machine-id", root);
	assert_int_equal(stat(machine_id, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_true(exists(root, "etc/passwd"));
	assert_false(exists(root, "usr/lib/python3/dist-packages/m/__pycache__"));
	assert_true(exists(root, "usr/lib/python3/dist-packages/m/a.py"));
	assert_true(exists(outside, "keep.log"));

	assert_true(cleaned_has(cleaned, "/var/log/dpkg.log"));
	assert_true(cleaned_has(cleaned, "/var/log/apt/history.log"));
	assert_true(cleaned_has(cleaned, "/dev/pts"));
	assert_true(cleaned_has(cleaned, "/etc/machine-id"));
	assert_true(cleaned_has(cleaned, "/usr/lib/python3/dist-packages/m/__pycache__"));
	assert_false(cleaned_has(cleaned, "/etc/passwd"));
	assert_int_equal(json_array_size(cleaned), 13);

	/* a second pass finds nothing more to do */
	json_array_clear(cleaned);
	assert_int_equal(image_clean_rootfs(root, cleaned, &err), 0);
	assert_int_equal(json_array_size(cleaned), 0);

	assert_int_equal(image_clean_rootfs("/", cleaned, &err), -1);
	assert_non_null(strstr(err.msg, "refusing"));
	json_decref(cleaned);
	free(machine_id);
	cleanup(outside);
	cleanup(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_host_facts),
	    cmocka_unit_test(test_host_digest_follows_the_toolchain),
	    cmocka_unit_test(test_host_version_runs_clean),
	    cmocka_unit_test(test_host_version_timeout),
	    cmocka_unit_test(test_host_errors),
	    cmocka_unit_test(test_dir_digest),
	    cmocka_unit_test(test_tarball_digest),
	    cmocka_unit_test(test_definition),
	    cmocka_unit_test(test_definition_errors),
	    cmocka_unit_test(test_snapshot_epoch),
	    cmocka_unit_test(test_dpkg_packages),
	    cmocka_unit_test(test_apt_mirror),
	    cmocka_unit_test(test_clean_rootfs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
