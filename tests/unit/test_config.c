/* Unit tests: profiles and pipeline files (runner/config.c).  Each test
 * runs in its own temporary directory (the cwd), so error messages carry
 * short relative paths that can be compared exactly. */
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
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/config.h"
#include "unit_fixture.h"

struct fixture {
	struct unit_tmpdir tmp;
	char repo[PATH_MAX]; /* the pgo-sandbox checkout, from our own path */
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	unit_checkout_root(f->repo, sizeof(f->repo));
	unit_tmpdir_enter(&f->tmp, "test_config");
	unsetenv("PGO_SANDBOX_PROFILES");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unit_tmpdir_leave(&f->tmp);
	unsetenv("PGO_SANDBOX_PROFILES");
	free(f);
	return 0;
}

static void expect_profile_error(const char *path, const char *msg)
{
	struct profile p;
	struct error err = {0};

	assert_int_equal(profile_load(path, &p, &err), -1);
	assert_string_equal(err.msg, msg);
	assert_null(p.name);
	assert_null(p.path);
}

static void expect_pipeline_error(const char *path, const char *msg)
{
	struct pipeline p;
	struct error err = {0};

	assert_int_equal(pipeline_load(path, &p, &err), -1);
	assert_string_equal(err.msg, msg);
	assert_int_equal(p.n_stages, 0);
	assert_null(p.path);
}

static char *dumps(const json_t *j, size_t flags)
{
	char *s;

	assert_non_null(j);
	s = json_dumps(j, flags);
	assert_non_null(s);
	return s;
}

/* ---- profile values ---- */

static void test_profile_all_keys(void **state)
{
	struct profile p;
	struct error err = {0};

	(void)state;
	unit_write_text("profiles/all.ini", "# every key\n"
	                                    "[sandbox]\n"
	                                    "cpus = 0-1\n"
	                                    "memory = 512M\n"
	                                    "pids = 100\n"
	                                    "timeout = 1.5\n"
	                                    "tmpfs-size = 64M ; inline comment\n"
	                                    "turbo = off\n"
	                                    "governor = performance\n"
	                                    "aslr = false\n"
	                                    "network = off\n"
	                                    "env = CC=gcc -O2\n"
	                                    "keep-env = TERM\n"
	                                    "seccomp-allow = perf_event_open, ptrace\n"
	                                    "rlimit = nofile=1024:2048\n"
	                                    "strict = true\n"
	                                    "entropy = host\n");
	assert_int_equal(profile_load("profiles/all.ini", &p, &err), 0);
	assert_string_equal(p.name, "all");
	assert_true(p.path[0] == '/');
	assert_non_null(strstr(p.path, "/profiles/all.ini"));
	assert_string_equal(p.cpus, "0-1");
	assert_int_equal(p.memory_max, 512ULL << 20);
	assert_int_equal(p.pids_max, 100);
	assert_int_equal(p.timeout_ns, 1500000000ULL);
	assert_int_equal(p.tmpfs_size, 64ULL << 20);
	assert_true(p.no_turbo);
	assert_string_equal(p.governor, "performance");
	assert_true(p.no_aslr);
	assert_int_equal(p.n_env, 1);
	assert_string_equal(p.env[0], "CC=gcc -O2");
	assert_int_equal(p.n_keep_env, 1);
	assert_string_equal(p.keep_env[0], "TERM");
	assert_true(p.allow_perf);
	assert_true(p.allow_ptrace);
	assert_int_equal(p.n_rlimits, 1);
	assert_int_equal(p.rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(p.rlimits[0].soft, 1024);
	assert_int_equal(p.rlimits[0].hard, 2048);
	assert_string_equal(p.rlimit_names[0], "nofile");
	assert_true(p.strict);
	assert_int_equal(p.entropy, PROFILE_ENTROPY_HOST);
	assert_int_equal(p.n_includes, 0);
	profile_free(&p);
}

static void test_profile_value_errors(void **state)
{
	static const struct {
		const char *line;
		const char *msg;
	} cases[] = {
	    {"memory = 12Q", "memory: '12Q' is not a size (suffixes: K, M, G, T)"},
	    {"memory = 0", "memory: must be above 0"},
	    {"timeout = 5m", "timeout: '5m' is not a duration in seconds"},
	    {"cpus = 3-1", "cpus: CPU list '3-1': range 3-1 is reversed"},
	    {"pids = many", "pids: 'many' is not a non-negative integer"},
	    {"turbo = maybe", "turbo: 'maybe' is not on|off or true|false"},
	    {"strict = yes", "strict: 'yes' is not on|off or true|false"},
	    {"network = on", "network: network must stay off: stages never have network"},
	    {"network = host", "network: network must stay off: stages never have network"},
	    {"governor = ../x", "governor: '../x' is not a cpufreq governor name (a-z 0-9 _ -)"},
	    {"env = NOEQUALS", "env: 'NOEQUALS' is not NAME=VALUE"},
	    {"env = 1X=2", "env: '1X' is not a variable name (A-Z a-z 0-9 _, no leading digit)"},
	    {"keep-env = A-B", "keep-env: 'A-B' is not a variable name (A-Z a-z 0-9 _, no "
	                       "leading digit)"},
	    {"rlimit = bogus=1", "rlimit: unknown limit 'bogus' (core, nofile, fsize, ...)"},
	    {"rlimit = nofile=10:5", "rlimit: 'nofile=10:5': soft limit above hard"},
	    {"rlimit = nofile", "rlimit: 'nofile' is not NAME=SOFT[:HARD]"},
	    {"seccomp-allow = bpf", "seccomp-allow: 'bpf' cannot be allowed (perf_event_open, "
	                            "ptrace or none)"},
	    {"entropy = random", "entropy: 'random' is not an entropy mode (deterministic, host or "
	                         "default)"},
	    {"colour = blue", "colour: unknown key in [sandbox]"},
	    {"memory =", "memory: '' is not a size (e.g. 512M, 2G)"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = NULL, *want = NULL;

		assert_true(asprintf(&text, "[sandbox]\n# why\n\n%s\n", cases[i].line) > 0);
		assert_true(asprintf(&want, "profiles/bad.ini:4: %s", cases[i].msg) > 0);
		unit_write_text("profiles/bad.ini", text);
		expect_profile_error("profiles/bad.ini", want);
		free(text);
		free(want);
	}
}

static void test_profile_brief_example(void **state)
{
	(void)state;
	unit_write_text("profiles/build.ini",
	                "# build\n[sandbox]\n\n\n; comment\n\nmemory = 12Q\n");
	expect_profile_error("profiles/build.ini", "profiles/build.ini:7: memory: '12Q' is not a "
	                                           "size (suffixes: K, M, G, T)");
}

static void test_profile_structure_errors(void **state)
{
	(void)state;
	unit_write_text("p/a.ini", "[sandbox]\nmemory = 1G\n[network]\nmode = off\n");
	expect_profile_error("p/a.ini", "p/a.ini:3: unknown section [network] (profiles have one "
	                                "[sandbox] section)");
	unit_write_text("p/a.ini", "memory = 1G\n[sandbox]\n");
	expect_profile_error("p/a.ini", "p/a.ini:1: memory: key outside a section (put it under "
	                                "[sandbox])");
	unit_write_text("p/a.ini", "[sandbox]\nmemory = 1G\npids = 5\nmemory = 2G\n");
	expect_profile_error("p/a.ini", "p/a.ini:4: memory: duplicate key (first set at line 2)");
	unit_write_text("p/a.ini", "[sandbox]\n[sandbox]\n");
	expect_profile_error("p/a.ini", "p/a.ini:2: duplicate section [sandbox] (first at line 1)");
	unit_write_text("p/a.ini", "[sandbox]\nmemory 1G\n");
	expect_profile_error("p/a.ini", "p/a.ini:2: expected 'key = value', '[section]' or a "
	                                "comment");
	unit_write_text("p/a.ini", "[sandbox\nmemory = 1G\n");
	expect_profile_error("p/a.ini", "p/a.ini:1: '[' without a closing ']'");
	unit_write_text("p/a.ini", "[sandbox]\nmemory = 1G\n  2G\n");
	expect_profile_error("p/a.ini", "p/a.ini:3: memory: unexpected indented line (only "
	                                "command, inputs and outputs continue on indented lines)");
	unit_write_text("p/a.ini", "[sandbox]\nenv = A=\x01\n");
	expect_profile_error("p/a.ini", "p/a.ini:2: control character");
	unit_write_text("p/a.ini", "[sandbox]\nenv = A=\xff\n");
	expect_profile_error("p/a.ini", "p/a.ini:2: invalid UTF-8");
	expect_profile_error("p/none.ini", "opening p/none.ini: No such file or directory");
	expect_profile_error("p", "p: not a regular file");
}

/* inih would cut a long line in two and parse the rest as a new line; a
 * NUL byte would hide the rest of its line.  Both must be errors. */
static void test_profile_line_hazards(void **state)
{
	char text[400];
	size_t len;

	(void)state;
	len = (size_t)snprintf(text, sizeof(text), "[sandbox]\nenv = A=%0190d", 0);
	snprintf(text + len, sizeof(text) - len, " memory = 1G\n");
	unit_write_text("p/long.ini", text);
	expect_profile_error("p/long.ini", "p/long.ini:2: line longer than 198 characters");

	/* exactly 198 characters is fine */
	len = (size_t)snprintf(text, sizeof(text), "[sandbox]\nenv = A=%0190d\n", 0);
	assert_int_equal(len, 10 + 198 + 1);
	unit_write_text("p/long.ini", text);
	{
		struct profile p;
		struct error err = {0};

		assert_int_equal(profile_load("p/long.ini", &p, &err), 0);
		assert_int_equal(strlen(p.env[0]), 192);
		profile_free(&p);
	}

	{
		static const char nul[] = "[sandbox]\nmemory = 1G\0\npids = 1\n";

		unit_write("p/nul.ini", nul, sizeof(nul) - 1);
		expect_profile_error("p/nul.ini", "p/nul.ini:2: NUL byte");
	}
	unit_write_text(
	    "p/sec.ini",
	    "[sandbox]\n[sandbox-with-a-name-much-longer-than-inih-will-keep-intact]\n");
	expect_profile_error("p/sec.ini", "p/sec.ini:2: section name longer than 48 characters");
}

/* ---- includes ---- */

static void test_profile_include_override(void **state)
{
	struct profile p;
	struct error err = {0};

	(void)state;
	unit_write_text("profiles/common/base.ini", "[sandbox]\n"
	                                            "memory = 8G\n"
	                                            "timeout = 3600\n"
	                                            "env = A=1\n"
	                                            "env = B=2\n"
	                                            "keep-env = X\n"
	                                            "rlimit = core=0\n"
	                                            "rlimit = nofile=100\n"
	                                            "seccomp-allow = ptrace\n"
	                                            "governor = powersave\n");
	/* include after a key: it still applies first */
	unit_write_text("profiles/child.ini", "[sandbox]\n"
	                                      "memory = 1G\n"
	                                      "include = common/base.ini\n"
	                                      "env = A=3\n"
	                                      "keep-env = X\n"
	                                      "keep-env = Y\n"
	                                      "rlimit = core=1M\n"
	                                      "seccomp-allow = none\n");
	assert_int_equal(profile_load("profiles/child.ini", &p, &err), 0);
	assert_string_equal(p.name, "child");
	assert_int_equal(p.memory_max, 1ULL << 30);
	assert_int_equal(p.timeout_ns, 3600ULL * 1000000000ULL);
	assert_string_equal(p.governor, "powersave");
	/* A replaced: it moves behind B */
	assert_int_equal(p.n_env, 2);
	assert_string_equal(p.env[0], "B=2");
	assert_string_equal(p.env[1], "A=3");
	assert_int_equal(p.n_keep_env, 2);
	assert_string_equal(p.keep_env[0], "X");
	assert_string_equal(p.keep_env[1], "Y");
	assert_int_equal(p.n_rlimits, 2);
	assert_string_equal(p.rlimit_names[0], "nofile");
	assert_string_equal(p.rlimit_names[1], "core");
	assert_int_equal(p.rlimits[1].resource, RLIMIT_CORE);
	assert_int_equal(p.rlimits[1].soft, 1ULL << 20);
	assert_false(p.allow_ptrace);
	assert_int_equal(p.n_includes, 1);
	assert_string_equal(p.includes[0], "base");
	profile_free(&p);
}

static void test_profile_env_order(void **state)
{
	struct profile p;
	struct error err = {0};

	(void)state;
	unit_write_text("p/top.ini", "[sandbox]\ninclude = mid.ini\nenv = C=top\nenv = A=top\n");
	unit_write_text("p/mid.ini", "[sandbox]\ninclude = low.ini\nenv = B=mid\nenv = A=mid\n");
	unit_write_text("p/low.ini",
	                "[sandbox]\nenv = A=low\nenv = B=low\nenv = C=low\nenv = A=low2\n");
	assert_int_equal(profile_load("p/top.ini", &p, &err), 0);
	/* low: B C A=low2; mid: C B=mid A=mid; top: B=mid C=top A=top */
	assert_int_equal(p.n_env, 3);
	assert_string_equal(p.env[0], "B=mid");
	assert_string_equal(p.env[1], "C=top");
	assert_string_equal(p.env[2], "A=top");
	assert_int_equal(p.n_includes, 2);
	assert_string_equal(p.includes[0], "low");
	assert_string_equal(p.includes[1], "mid");
	profile_free(&p);
}

static void test_profile_include_errors(void **state)
{
	(void)state;
	unit_write_text("p/a.ini", "[sandbox]\ninclude = b.ini\n");
	unit_write_text("p/b.ini", "# b\n[sandbox]\ninclude = c.ini\n");
	unit_write_text("p/c.ini", "[sandbox]\npids = 9\ninclude = a.ini\n");
	expect_profile_error("p/a.ini", "p/c.ini:3: include: include cycle: p/a.ini -> p/b.ini -> "
	                                "p/c.ini -> p/a.ini");
	unit_write_text("p/self.ini", "[sandbox]\ninclude = ../p/self.ini\n");
	expect_profile_error("p/self.ini", "p/self.ini:2: include: include cycle: p/self.ini -> "
	                                   "p/../p/self.ini");
	unit_write_text("p/miss.ini", "[sandbox]\n\ninclude = gone.ini\n");
	expect_profile_error("p/miss.ini", "p/miss.ini:3: include: opening p/gone.ini: No such "
	                                   "file or directory");
	/* an error inside an included file names that file */
	unit_write_text("p/inc.ini", "[sandbox]\ninclude = bad.ini\n");
	unit_write_text("p/bad.ini", "[sandbox]\n\n\ntimeout = soon\n");
	expect_profile_error("p/inc.ini", "p/bad.ini:4: timeout: 'soon' is not a duration in "
	                                  "seconds");
}

static void test_profile_load_named(void **state)
{
	struct profile p;
	struct error err = {0};

	(void)state;
	unit_write_text("dir/x.ini", "[sandbox]\npids = 7\n");
	assert_int_equal(profile_load_named("dir", "x", &p, &err), 0);
	assert_int_equal(p.pids_max, 7);
	profile_free(&p);
	assert_int_equal(profile_load_named("dir", "../dir/x", &p, &err), -1);
	assert_string_equal(err.msg, "profile name '../dir/x': use only a-z, 0-9, '_' and '-'");
	assert_int_equal(profile_load_named("dir", "y", &p, &err), -1);
	assert_string_equal(err.msg, "opening dir/y.ini: No such file or directory");
}

/* ---- apply and JSON ---- */

static void test_profile_apply(void **state)
{
	struct sandbox_spec spec;
	struct profile p;
	struct error err = {0};
	uint8_t want[CPU_LIST_MAX / 8] = {0};

	(void)state;
	unit_write_text("p/ap.ini",
	                "[sandbox]\ncpus = 1,3\nmemory = 2G\npids = 64\ntimeout = 10\n"
	                "tmpfs-size = 16M\nturbo = off\ngovernor = performance\naslr = off\n"
	                "env = A=profile\nenv = B=2\nkeep-env = TERM\nrlimit = core=0\n"
	                "rlimit = nofile=64\nseccomp-allow = perf_event_open\nstrict = on\n");
	assert_int_equal(profile_load("p/ap.ini", &p, &err), 0);
	spec_init(&spec);
	spec.set_env = calloc(1, sizeof(char *));
	spec.set_env[0] = strdup("A=cli");
	spec.n_set_env = 1;
	spec.rlimits[0] = (struct rlimit_spec){RLIMIT_NOFILE, 1, 1};
	spec.n_rlimits = 1;
	assert_int_equal(profile_apply(&p, &spec, &err), 0);
	want[0] = (1 << 1) | (1 << 3);
	assert_true(spec.cpus_set);
	assert_memory_equal(spec.cpus, want, sizeof(want));
	assert_int_equal(spec.memory_max, 2ULL << 30);
	assert_int_equal(spec.pids_max, 64);
	assert_int_equal(spec.timeout_ns, 10ULL * 1000000000ULL);
	assert_int_equal(spec.tmpfs_size, 16ULL << 20);
	assert_true(spec.no_turbo);
	assert_string_equal(spec.governor, "performance");
	assert_ptr_not_equal(spec.governor, p.governor);
	assert_true(spec.no_aslr);
	assert_true(spec.allow_perf);
	assert_false(spec.allow_ptrace);
	assert_true(spec.strict);
	assert_int_equal(spec.n_set_env, 2);
	assert_string_equal(spec.set_env[0], "A=profile");
	assert_string_equal(spec.set_env[1], "B=2");
	assert_int_equal(spec.n_keep_env, 1);
	assert_string_equal(spec.keep_env[0], "TERM");
	assert_int_equal(spec.n_rlimits, 2);
	assert_int_equal(spec.rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(spec.rlimits[0].soft, 64);
	assert_int_equal(spec.rlimits[1].resource, RLIMIT_CORE);
	profile_free(&p);
	/* the spec owns its copies */
	assert_string_equal(spec.set_env[0], "A=profile");
	spec_free(&spec);

	/* unset profile values leave the spec's defaults alone */
	unit_write_text("p/empty.ini", "[sandbox]\n");
	assert_int_equal(profile_load("p/empty.ini", &p, &err), 0);
	spec_init(&spec);
	assert_int_equal(profile_apply(&p, &spec, &err), 0);
	assert_int_equal(spec.tmpfs_size, DEFAULT_TMPFS_SIZE);
	assert_false(spec.cpus_set);
	assert_null(spec.governor);
	assert_int_equal(spec.n_set_env, 0);
	spec_free(&spec);
	profile_free(&p);
}

static void check_sorted_keys(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	const char *key, *prev = "";
	json_t *value;

	assert_non_null(j);
	json_object_foreach(j, key, value)
	{
		assert_true(strcmp(prev, key) < 0);
		prev = key;
		if (json_is_object(value)) {
			char *inner = json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER);

			check_sorted_keys(inner);
			free(inner);
		}
	}
	json_decref(j);
}

static void test_profile_json_canonical(void **state)
{
	struct fixture *f = *state;
	static const char base[] = "[sandbox]\nrlimit = nofile=64:unlimited\nrlimit = core=0\n"
	                           "env = ZED=1\nenv = ALPHA=2\n";
	static const char top[] = "[sandbox]\ninclude = base.ini\ncpus = 1,0\nkeep-env = Z\n"
	                          "keep-env = B\nmemory = 1G\nenv = MID=x y\n";
	struct profile p1, p2;
	struct error err = {0};
	char *a, *b, *sorted, *again;
	json_t *j;

	unit_write_text("one/train.ini", top);
	unit_write_text("one/base.ini", base);
	unit_write_text("two/deeper/train.ini", top);
	unit_write_text("two/deeper/base.ini", base);
	assert_int_equal(profile_load("one/train.ini", &p1, &err), 0);
	assert_int_equal(profile_load("two/deeper/train.ini", &p2, &err), 0);
	assert_string_not_equal(p1.path, p2.path);
	j = profile_to_json(&p1);
	a = dumps(j, JSON_COMPACT);
	json_decref(j);
	j = profile_to_json(&p2);
	b = dumps(j, JSON_COMPACT);
	sorted = dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	j = profile_to_json(&p2);
	again = dumps(j, JSON_COMPACT);
	json_decref(j);
	/* same profile from another directory, and twice: the same bytes */
	assert_string_equal(a, b);
	assert_string_equal(b, again);
	/* keys are already in sorted order without asking */
	assert_string_equal(b, sorted);
	check_sorted_keys(a);
	assert_null(strstr(a, f->tmp.dir));
	assert_null(strstr(a, "/one"));
	assert_non_null(strstr(a, "\"name\":\"train\""));
	assert_non_null(strstr(a, "\"cpus\":\"0-1\""));
	assert_non_null(strstr(a, "\"entropy\":\"default\""));
	assert_non_null(strstr(a, "\"env\":{\"ALPHA\":\"2\",\"MID\":\"x y\",\"ZED\":\"1\"}"));
	assert_non_null(strstr(a, "\"keep_env\":[\"B\",\"Z\"]"));
	assert_non_null(strstr(a, "\"rlimits\":{\"core\":{\"hard\":0,\"soft\":0},"
	                          "\"nofile\":{\"hard\":\"unlimited\",\"soft\":64}}"));
	assert_non_null(strstr(a, "\"includes\":[\"base\"]"));
	assert_non_null(strstr(a, "\"memory_max\":1073741824"));
	assert_non_null(strstr(a, "\"network\":\"off\""));
	free(a);
	free(b);
	free(sorted);
	free(again);
	profile_free(&p1);
	profile_free(&p2);
}

/* ---- the shipped profiles ---- */

static void test_shipped_profiles(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = {"base", "build", "train", "merge", "bench"};
	char dir[PATH_MAX + 16];
	struct profile p;
	struct error err = {0};

	snprintf(dir, sizeof(dir), "%s/profiles", f->repo);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(profile_load_named(dir, names[i], &p, &err), 0);
		assert_string_equal(p.name, names[i]);
		/* base values reach every profile */
		assert_int_equal(p.pids_max, 4096);
		assert_int_equal(p.memory_max, 8ULL << 30);
		assert_int_equal(p.tmpfs_size, 2ULL << 30);
		assert_true(p.no_aslr);
		assert_false(p.strict);
		assert_int_equal(p.n_rlimits, 1);
		assert_int_equal(p.rlimits[0].resource, RLIMIT_CORE);
		assert_int_equal(p.rlimits[0].hard, 0);
		assert_int_equal(p.n_includes, i == 0 ? 0 : 1);
		if (strcmp(names[i], "train") == 0 || strcmp(names[i], "bench") == 0) {
			assert_string_equal(p.cpus, "1");
			assert_true(p.no_turbo);
			assert_string_equal(p.governor, "performance");
		} else {
			assert_null(p.cpus);
			assert_false(p.no_turbo);
			assert_null(p.governor);
		}
		profile_free(&p);
	}
	assert_int_equal(profile_load_named(dir, "train", &p, &err), 0);
	assert_int_equal(p.timeout_ns, 1800ULL * 1000000000ULL);
	profile_free(&p);
	assert_int_equal(profile_load_named(dir, "merge", &p, &err), 0);
	assert_int_equal(p.timeout_ns, 600ULL * 1000000000ULL);
	profile_free(&p);
	assert_int_equal(profile_load_named(dir, "bench", &p, &err), 0);
	assert_int_equal(p.timeout_ns, 3600ULL * 1000000000ULL);
	profile_free(&p);
}

/* ---- pipelines ---- */

static void put_test_profiles(void)
{
	unit_write_text("proj/prof/build.ini", "[sandbox]\nmemory = 4G\n");
	unit_write_text("proj/prof/train.ini", "[sandbox]\ncpus = 0\n");
	unit_write_text("proj/prof/bench.ini", "[sandbox]\ncpus = 0\n");
}

static const char five_stages[] =
    "# a PGO pipeline\n"                         /* 1 */
    "[pipeline]\n"                               /* 2 */
    "name = minilang\n"                          /* 3 */
    "source = src\n"                             /* 4 */
    "image = host\n"                             /* 5 */
    "source-date-epoch = 1700000000\n"           /* 6 */
    "compiler = clang\n"                         /* 7 */
    "profiles = prof\n"                          /* 8 */
    "artifacts = out/../artifacts/./x\n"         /* 9 */
    "\n"                                         /* 10 */
    "[stage instrument]\n"                       /* 11 */
    "profile = build\n"                          /* 12 */
    "inputs = source\n"                          /* 13 */
    "command = make CFLAGS=-fprofile-generate\n" /* 14 */
    "  cp vm /build/out/\n"                      /* 15 */
    "outputs = vm\n"                             /* 16 */
    "env = A=1\n"                                /* 17 */
    "env = A=2\n"                                /* 18 */
    "\n"
    "[stage train]\n" /* 20 */
    "profile = train\n"
    "inputs = source instrument\n"
    "command = ./run-training\n"
    "outputs = raw/a.profraw\n"
    "  raw/b.profraw\n"
    "shards = 4\n"
    "\n"
    "[stage merge]\n" /* 28 */
    "profile = build\n"
    "inputs = train\n"
    "command = llvm-profdata merge -o /build/out/merged.profdata raw\n"
    "outputs = merged.profdata\n"
    "profile-normalise = 3\n"
    "\n"
    "[release]\n"
    "env = MALLOC_ARENA_MAX=2\n"
    "\n"
    "[stage optimize]\n"
    "profile = build\n"
    "inputs = source merge\n"
    "command = make\n"
    "outputs = vm\n"
    "\n"
    "[stage bench]\n"
    "profile = bench\n"
    "inputs = instrument optimize\n"
    "command = ./bench\n";

static void test_pipeline_five_stages(void **state)
{
	struct fixture *f = *state;
	struct pipeline p;
	struct error err = {0};
	const struct stage_def *s;
	char *want, *text;
	json_t *j;

	put_test_profiles();
	unit_write_text("proj/src/Makefile", "all:\n");
	unit_write_text("proj/pgo-pipeline.ini", five_stages);
	assert_int_equal(pipeline_load("proj/pgo-pipeline.ini", &p, &err), 0);
	assert_true(asprintf(&want, "%s/proj/pgo-pipeline.ini", f->tmp.dir) > 0);
	assert_string_equal(p.path, want);
	free(want);
	assert_true(asprintf(&want, "%s/proj", f->tmp.dir) > 0);
	assert_string_equal(p.dir, want);
	free(want);
	assert_true(asprintf(&want, "%s/proj/src", f->tmp.dir) > 0);
	assert_string_equal(p.source, want);
	free(want);
	assert_true(asprintf(&want, "%s/proj/prof", f->tmp.dir) > 0);
	assert_string_equal(p.profiles_dir, want);
	free(want);
	assert_true(asprintf(&want, "%s/proj/artifacts/x", f->tmp.dir) > 0);
	assert_string_equal(p.artifacts_dir, want);
	free(want);
	assert_string_equal(p.name, "minilang");
	assert_string_equal(p.image, "host");
	assert_string_equal(p.source_date_epoch, "1700000000");
	assert_string_equal(p.compiler, "clang");
	assert_int_equal(p.n_release_env, 1);
	assert_string_equal(p.release_env[0], "MALLOC_ARENA_MAX=2");

	assert_int_equal(p.n_stages, 5);
	assert_string_equal(p.stages[0].name, "instrument");
	assert_string_equal(p.stages[1].name, "train");
	assert_string_equal(p.stages[2].name, "merge");
	assert_string_equal(p.stages[3].name, "optimize");
	assert_string_equal(p.stages[4].name, "bench");
	assert_int_equal(p.stages[0].line, 11);
	assert_int_equal(p.stages[1].line, 20);
	assert_int_equal(p.stages[2].line, 28);
	s = &p.stages[0];
	assert_string_equal(s->command, "make CFLAGS=-fprofile-generate\ncp vm /build/out/");
	assert_int_equal(s->n_env, 1);
	assert_string_equal(s->env[0], "A=2");
	assert_int_equal(s->shards, 1);
	s = pipeline_find_stage(&p, "train");
	assert_ptr_equal(s, &p.stages[1]);
	assert_int_equal(s->shards, 4);
	assert_int_equal(s->n_inputs, 2);
	assert_string_equal(s->inputs[0], "source");
	assert_string_equal(s->inputs[1], "instrument");
	assert_int_equal(s->n_outputs, 2);
	assert_string_equal(s->outputs[1], "raw/b.profraw");
	assert_null(pipeline_find_stage(&p, "nope"));
	assert_int_equal(p.stages[4].n_outputs, 0);

	j = stage_def_to_json(&p.stages[1]);
	text = dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_string_equal(text, "{\"command\":\"./run-training\",\"env\":{},\"inputs\":"
	                          "[\"source\",\"instrument\"],\"name\":\"train\",\"outputs\":"
	                          "[\"raw/a.profraw\",\"raw/b.profraw\"],\"profile\":\"train\","
	                          "\"shards\":4}");
	free(text);
	/* only the merge stage that sets it carries profile_normalise */
	assert_int_equal(p.stages[1].profile_normalise, 0);
	assert_int_equal(p.stages[2].profile_normalise, 3);
	j = stage_def_to_json(&p.stages[2]);
	text = dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	assert_non_null(strstr(text, ",\"profile_normalise\":3,\"shards\":1}"));
	free(text);
	pipeline_free(&p);
}

static void test_pipeline_defaults(void **state)
{
	struct fixture *f = *state;
	struct pipeline p;
	struct error err = {0};
	char *want;

	(void)f;
	unit_write_text("q/src/x", "");
	unit_write_text("q/profiles-here/build.ini", "[sandbox]\n");
	unit_write_text("q/p.ini", "[stage only]\nprofile = build\ncommand = true\n"
	                           "[pipeline]\nsource = src\nname = q\n");
	/* no `profiles =`: $PGO_SANDBOX_PROFILES */
	setenv("PGO_SANDBOX_PROFILES", "q/profiles-here", 1);
	assert_int_equal(pipeline_load("q/p.ini", &p, &err), 0);
	assert_string_equal(p.profiles_dir, "q/profiles-here");
	assert_string_equal(p.image, "host");
	assert_string_equal(p.compiler, "gcc");
	assert_string_equal(p.source_date_epoch, "0");
	assert_int_equal(p.training, TRAINING_SINGLE);
	assert_true(asprintf(&want, "%s/q/artifacts", f->tmp.dir) > 0);
	assert_string_equal(p.artifacts_dir, want);
	free(want);
	pipeline_free(&p);
	unsetenv("PGO_SANDBOX_PROFILES");
}

static void test_pipeline_training(void **state)
{
	struct pipeline p;
	struct error err = {0};

	(void)state;
	unit_write_text("t/src/x", "");
	unit_write_text("t/prof/train.ini", "[sandbox]\n");
	unit_write_text("t/p.ini",
	                "[pipeline]\nname = t\nsource = src\nprofiles = prof\n"
	                "training = threaded\n[stage train]\nprofile = train\ncommand = true\n");
	assert_int_equal(pipeline_load("t/p.ini", &p, &err), 0);
	assert_int_equal(p.training, TRAINING_THREADED);
	assert_string_equal(training_mode_name(p.training), "threaded");
	pipeline_free(&p);
	unit_write_text("t/p.ini",
	                "[pipeline]\nname = t\nsource = src\nprofiles = prof\n"
	                "training = parallel\n[stage train]\nprofile = train\ncommand = true\n");
	assert_int_equal(pipeline_load("t/p.ini", &p, &err), -1);
	assert_string_equal(err.msg,
	                    "t/p.ini:5: training: 'parallel': expected single or threaded");
}

static void test_profile_default_dir(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	char *dir, *want;

	setenv("PGO_SANDBOX_PROFILES", "/opt/p", 1);
	assert_int_equal(profile_default_dir(&dir, &err), 0);
	assert_string_equal(dir, "/opt/p");
	free(dir);
	setenv("PGO_SANDBOX_PROFILES", "", 1);
	assert_int_equal(profile_default_dir(&dir, &err), 0);
	/* we run as <repo>/build-NAME/tests/test_config, so the answer is
	 * <repo>/build-NAME/profiles (or .../share/pgo-sandbox/profiles) */
	assert_true(asprintf(&want, "%s/", f->repo) > 0);
	assert_memory_equal(dir, want, strlen(want));
	assert_non_null(strstr(dir, "/profiles"));
	assert_null(strstr(dir, ".."));
	free(want);
	free(dir);
	unsetenv("PGO_SANDBOX_PROFILES");
}

static void test_pipeline_errors(void **state)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
	    {"[pipeline]\nname = t\nsource = src\nprofiles = prof\n"
	     "[stage a]\nprofile = build\ninputs = source b\ncommand = x\n"
	     "[stage b]\nprofile = build\ncommand = y\n",
	     "x.ini:7: inputs: 'b' is a later stage (line 9): inputs must be 'source' or an "
	     "earlier stage"},
	    {"[pipeline]\nname = t\nsource = src\nprofiles = prof\n"
	     "[stage a]\nprofile = build\ncommand = x\n"
	     "[stage b]\nprofile = build\ncommand = y\ninputs = a c\n",
	     "x.ini:11: inputs: 'c' is not 'source' or an earlier stage"},
	    {"[pipeline]\nname = t\nsource = src\nprofiles = prof\n"
	     "[stage a]\nprofile = build\ncommand = x\ninputs = a\n",
	     "x.ini:8: inputs: stage 'a' cannot be its own input"},
	    {"[pipeline]\nname = t\nsource = src\nprofiles = prof\n"
	     "[stage a]\nprofile = build\ncommand = x\ninputs = source source\n",
	     "x.ini:8: inputs: 'source' is listed twice"},
	    {"[pipeline]\nname = t\nsource = src\nprofiles = prof\n\n[stage Build]\n",
	     "x.ini:6: [stage Build]: stage names use only a-z, 0-9, '_' and '-' (at most 32 "
	     "characters)"},
	    {"[pipeline]\nname = t\nsource = src\n[stage a.b]\n",
	     "x.ini:4: [stage a.b]: stage names use only a-z, 0-9, '_' and '-' (at most 32 "
	     "characters)"},
	    {"[pipeline]\n[stage source]\n",
	     "x.ini:2: [stage source]: 'source' names the source tree in inputs; choose another "
	     "stage name"},
	    {"[pipeline]\n[stage a]\n[stage a]\n",
	     "x.ini:3: duplicate section [stage a] (first at line 2)"},
	    {"[pipeline]\nname = t\nsource = src\nprofiles = prof\n"
	     "[stage merge]\nprofile = build\ncommand = x\nprofile-normalise = 2\n",
	     "x.ini:8: profile-normalise: compiler = gcc: normalising is supported for LLVM "
	     "profiles (compiler = clang or rustc), not for gcc's .gcda"},
	    {"[pipeline]\nname = t\nsource = src\nprofiles = prof\ncompiler = clang\n"
	     "[stage train]\nprofile = build\ncommand = x\nprofile-normalise = 2\n",
	     "x.ini:9: profile-normalise: only the merge stage normalises its profile (this is "
	     "[stage train])"},
	    {"[pipeline]\nname = t\nsource = src\nprofiles = prof\ncompiler = rustc\n"
	     "[stage merge]\nprofile = build\ncommand = x\nprofile-normalise = 0\n",
	     "x.ini:9: profile-normalise: '0' is not a number of significant figures from 1 "
	     "to 9"},
	    {"[pipeline]\n[stages]\n",
	     "x.ini:2: unknown section [stages] (expected [pipeline], [release] or [stage "
	     "NAME])"},
	    {"name = t\n[pipeline]\n",
	     "x.ini:1: name: key outside a section ([pipeline], [release] or [stage NAME])"},
	    {"[stage a]\nprofile = build\ncommand = x\n", "x.ini: no [pipeline] section"},
	    {"[pipeline]\nname = t\n", "x.ini:1: [pipeline]: 'source =' is required"},
	    {"[pipeline]\nname = t\nsource = src\nprofiles = prof\n",
	     "x.ini: no [stage NAME] section"},
	    {"[pipeline]\nname = t\nsource = nothere\n",
	     "x.ini:3: source: @/nothere: No such file or directory"},
	    {"[pipeline]\nname = t\nsource = prof/build.ini\n",
	     "x.ini:3: source: @/prof/build.ini is not a directory"},
	    {"[pipeline]\nname = t\nsource = src\nimage = rootfs.tar\n",
	     "x.ini:4: image: @/rootfs.tar: No such file or directory"},
	    {"[pipeline]\nname = a b\n", "x.ini:2: name: 'a b': use only A-Z a-z 0-9 . _ - (at "
	                                 "most 64 characters)"},
	    {"[pipeline]\ncompiler = icc\n",
	     "x.ini:2: compiler: 'icc' is not a known compiler: expected gcc, clang or rustc"},
	    {"[pipeline]\nsource-date-epoch = yesterday\n",
	     "x.ini:2: source-date-epoch: 'yesterday' is not seconds since 1970 or 'git'"},
	    {"[pipeline]\nsource-date-epoch = -1\n",
	     "x.ini:2: source-date-epoch: '-1' is not seconds since 1970 or 'git'"},
	    {"[pipeline]\nimage =\n", "x.ini:2: image: needs a value"},
	    {"[pipeline]\nname = t\nname = u\n", "x.ini:3: name: duplicate key (first set at "
	                                         "line 2)"},
	    {"[pipeline]\nname = t\nsource = src\nprofiles = prof\n[stage a]\nprofile = build\n"
	     "command = x\nshards = 0\n",
	     "x.ini:8: shards: '0' is not a number from 1 to 64"},
	    {"[pipeline]\nname = t\nsource = src\nprofiles = prof\n[stage a]\nprofile = build\n"
	     "command = x\nshards = 65\n",
	     "x.ini:8: shards: '65' is not a number from 1 to 64"},
	    {"[pipeline]\nname = t\nsource = src\nprofiles = prof\n[stage a]\nprofile = build\n"
	     "shards = 2\n",
	     "x.ini:5: [stage a]: 'command =' is required"},
	    {"[pipeline]\nname = t\nsource = src\nprofiles = prof\n[stage a]\ncommand = x\n",
	     "x.ini:5: [stage a]: 'profile =' is required"},
	    {"[pipeline]\nname = t\nsource = src\nprofiles = prof\n[stage a]\n"
	     "profile = nothere\ncommand = x\n",
	     "x.ini:6: profile: opening @/prof/nothere.ini: No such file or directory"},
	    {"[pipeline]\nname = t\nsource = src\nprofiles = prof\n[stage a]\n"
	     "profile = broken\ncommand = x\n",
	     "x.ini:6: profile: @/prof/broken.ini:2: pids: 'lots' is not a non-negative integer"},
	    {"[pipeline]\nname = t\nsource = src\nprofiles = prof\n[stage a]\nprofile = build\n"
	     "command = x\noutputs = ../escape\n",
	     "x.ini:8: outputs: '../escape': use a plain relative path (no empty, '.' or '..' "
	     "parts)"},
	    {"[pipeline]\nname = t\nsource = src\nprofiles = prof\n[stage a]\nprofile = build\n"
	     "command = x\noutputs = /etc/passwd\n",
	     "x.ini:8: outputs: '/etc/passwd' must be relative to the stage's /build/out"},
	    {"[pipeline]\nname = t\nsource = src\nprofiles = prof\n[stage a]\nprofile = build\n"
	     "command = x\nenv = X\n",
	     "x.ini:8: env: 'X' is not NAME=VALUE"},
	    {"[pipeline]\nname = t\nsource = src\nprofiles = prof\n[stage a]\nprofile = build\n"
	     "command = x\ncolour = red\n",
	     "x.ini:8: colour: unknown key in [stage a]"},
	    {"[pipeline]\nname = t\n  more\n",
	     "x.ini:3: name: unexpected indented line (only command, inputs and outputs "
	     "continue on indented lines)"},
	    {"[release]\nenv = A=1\n[pipeline]\n[release]\n",
	     "x.ini:4: duplicate section [release] (first at line 1)"},
	};
	struct fixture *f = *state;

	unit_write_text("src/file", "");
	unit_write_text("prof/build.ini", "[sandbox]\n");
	unit_write_text("prof/broken.ini", "[sandbox]\npids = lots\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char want[1024];
		const char *at = strchr(cases[i].msg, '@');

		/* '@' in a message stands for the test directory */
		if (at)
			snprintf(want, sizeof(want), "%.*s%s%s", (int)(at - cases[i].msg),
			         cases[i].msg, f->tmp.dir, at + 1);
		else
			snprintf(want, sizeof(want), "%s", cases[i].msg);
		unit_write_text("x.ini", cases[i].text);
		expect_pipeline_error("x.ini", want);
	}
}

static void git_repo(const char *dir)
{
	char *cmd;

	assert_true(
	    asprintf(&cmd,
	             "cd %s && git init -q . && "
	             "GIT_COMMITTER_DATE='@1700000123 +0000' GIT_AUTHOR_DATE='@1600000000 +0000' "
	             "git -c user.name=t -c user.email=t@example.invalid -c commit.gpgsign=false "
	             "commit -q --allow-empty -m first",
	             dir) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void test_pipeline_sde_git(void **state)
{
	struct fixture *f = *state;
	struct pipeline p;
	struct error err = {0};
	char *src, *want;

	unit_write_text("g/prof/build.ini", "[sandbox]\n");
	unit_write_text("g/src/README", "x\n");
	assert_true(asprintf(&src, "%s/g/src", f->tmp.dir) > 0);
	git_repo(src);
	unit_write_text("g/p.ini", "[pipeline]\nname = g\nsource-date-epoch = git\nsource = src\n"
	                           "profiles = prof\n[stage a]\nprofile = build\ncommand = true\n");
	assert_int_equal(pipeline_load("g/p.ini", &p, &err), 0);
	/* the committer date, not the author date */
	assert_string_equal(p.source_date_epoch, "1700000123");
	pipeline_free(&p);

	/* /tmp is in no repository: the error names the key and git's reason */
	unit_write_text("n/prof/build.ini", "[sandbox]\n");
	unit_write_text("n/src/README", "x\n");
	unit_write_text("n/p.ini",
	                "[pipeline]\nname = n\nsource = src\nprofiles = prof\n"
	                "source-date-epoch = git\n[stage a]\nprofile = build\ncommand = true\n");
	assert_int_equal(pipeline_load("n/p.ini", &p, &err), -1);
	assert_true(asprintf(&want, "n/p.ini:5: source-date-epoch: git -C %s/n/src log failed",
	                     f->tmp.dir) > 0);
	assert_memory_equal(err.msg, want, strlen(want));
	assert_non_null(strstr(err.msg, "not a git repository"));
	free(want);
	free(src);
}

/* The recipe keys: cc, function-order, split-machine-functions,
 * bolt-options; bad values name file, line and key. */
static void test_pipeline_recipe_keys(void **state)
{
	struct pipeline p;
	struct error err = {0};

	(void)state;
	unit_write_text("r/prof/build.ini", "[sandbox]\n");
	unit_write_text("r/src/README", "x\n");
	unit_write_text("r/p.ini",
	                "[pipeline]\nname = r\nsource = src\nprofiles = prof\ncc = clang-19\n"
	                "function-order = on\nsplit-machine-functions = true\n"
	                "bolt-options = -reorder-blocks=ext-tsp -split-functions\n"
	                "[stage a]\nprofile = build\ncommand = true\n");
	assert_int_equal(pipeline_load("r/p.ini", &p, &err), 0);
	assert_string_equal(p.cc, "clang-19");
	assert_true(p.function_order && p.split_functions);
	assert_string_equal(p.bolt_options, "-reorder-blocks=ext-tsp -split-functions");
	pipeline_free(&p);
	unit_write_text(
	    "r/q.ini", "[pipeline]\nname = r\nsource = src\nprofiles = prof\n"
	               "bolt-options = -x; rm -rf /\n[stage a]\nprofile = build\ncommand = true\n");
	assert_int_equal(pipeline_load("r/q.ini", &p, &err), -1);
	assert_non_null(strstr(err.msg, "r/q.ini:5: bolt-options: "));
	assert_non_null(strstr(err.msg, "not a list of llvm-bolt options"));
	unit_write_text("r/q.ini",
	                "[pipeline]\nname = r\nsource = src\nprofiles = prof\n"
	                "cc = /usr/bin/clang\n[stage a]\nprofile = build\ncommand = true\n");
	assert_int_equal(pipeline_load("r/q.ini", &p, &err), -1);
	assert_non_null(strstr(err.msg, "r/q.ini:5: cc: "));
	unit_write_text("r/q.ini",
	                "[pipeline]\nname = r\nsource = src\nprofiles = prof\n"
	                "function-order = maybe\n[stage a]\nprofile = build\ncommand = true\n");
	assert_int_equal(pipeline_load("r/q.ini", &p, &err), -1);
	assert_non_null(strstr(err.msg, "r/q.ini:5: function-order: "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_profile_all_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pipeline_training, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_profile_value_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_profile_brief_example, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_profile_structure_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_profile_line_hazards, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_profile_include_override, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_profile_env_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_profile_include_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_profile_load_named, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_profile_apply, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_profile_json_canonical, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shipped_profiles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pipeline_five_stages, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pipeline_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_profile_default_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pipeline_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pipeline_sde_git, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pipeline_recipe_keys, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
