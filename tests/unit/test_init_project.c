/* test_init_project.c - what `pgo-sandbox init` reads from Cargo.toml,
 * .cargo/config.toml and CMakeLists.txt, and the pipeline text it writes
 * from those facts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/init.h"
#include "cli/init_project.h"

static void parse_ok(const char *text, struct cargo_facts *c)
{
	struct error err = {0};

	if (cargo_parse(text, "Cargo.toml", c, &err) < 0)
		fail_msg("cargo_parse failed: %s", err.msg);
}

static void free_facts(struct cargo_facts *c)
{
	struct project p = {.cargo = *c};

	project_free(&p);
}

static void test_package_bins_and_release_profile(void **state)
{
	struct cargo_facts c;

	(void)state;
	parse_ok("[package]\nname = \"mono-check\" # the CLI\nversion = \"0.1.0\"\n\n"
	         "[[bin]]\nname = \"mc\"\npath = \"src/main.rs\"\n[[bin]]\nname = 'mc-gen'\n\n"
	         "[profile.dev]\nlto = false\n[profile.release]\nlto = \"fat\"\n"
	         "codegen-units = 1\n",
	         &c);
	assert_string_equal(c.package, "mono-check");
	assert_int_equal(c.n_bins, 2);
	assert_string_equal(c.bins[0], "mc");
	assert_string_equal(c.bins[1], "mc-gen");
	assert_string_equal(c.lto, "fat");
	assert_string_equal(c.codegen_units, "1");
	assert_false(c.has_dependencies);
	assert_true(c.autobins);
	free_facts(&c);
}

static void test_missing_release_settings_stay_null(void **state)
{
	struct cargo_facts c;

	(void)state;
	parse_ok("[package]\nname = \"x\"\nautobins = false\n[profile.release]\ndebug = true\n",
	         &c);
	assert_null(c.lto);
	assert_null(c.codegen_units);
	assert_false(c.autobins);
	free_facts(&c);
}

static void test_dependencies_in_every_spelling(void **state)
{
	static const char *const with[] = {
	    "[package]\nname = \"x\"\n[dependencies]\nserde = \"1\"\n",
	    "[package]\nname = \"x\"\n[dependencies.serde]\nversion = \"1\"\n",
	    "[package]\nname = \"x\"\n[build-dependencies]\ncc = \"1\"\n",
	    "[package]\nname = \"x\"\n[target.'cfg(unix)'.dependencies]\nlibc = \"0.2\"\n",
	    "[workspace]\nmembers = [\n  \"a\",\n]\n[workspace.dependencies]\nregex = \"1\"\n",
	};
	struct cargo_facts c;

	(void)state;
	for (size_t i = 0; i < sizeof(with) / sizeof(with[0]); i++) {
		parse_ok(with[i], &c);
		if (!c.has_dependencies)
			fail_msg("no dependency seen in: %s", with[i]);
		free_facts(&c);
	}
	parse_ok("[package]\nname = \"x\"\n# serde = \"1\"\n[dependencies]\n\n[lib]\npath = "
	         "\"src/lib.rs\"\n",
	         &c);
	assert_false(c.has_dependencies);
	free_facts(&c);
}

static void test_errors_name_file_and_line(void **state)
{
	struct cargo_facts c;
	struct error err = {0};

	(void)state;
	assert_int_equal(
	    cargo_parse("[package]\nname = \"x\"\n[profile.release\n", "a/Cargo.toml", &c, &err),
	    -1);
	assert_non_null(strstr(err.msg, "a/Cargo.toml:3"));
	free_facts(&c);
	assert_int_equal(cargo_parse("[lib]\npath = \"x\"\n", "Cargo.toml", &c, &err), -1);
	assert_non_null(strstr(err.msg, "neither a [package]"));
	free_facts(&c);
}

static void test_vendor_dir_from_cargo_config(void **state)
{
	char *dir;

	(void)state;
	dir = cargo_config_vendor_dir("[source.vendored-sources]\ndirectory = \"third_party\"\n"
	                              "[source.crates-io]\nreplace-with = \"vendored-sources\"\n");
	assert_string_equal(dir, "third_party");
	free(dir);
	assert_null(cargo_config_vendor_dir("[build]\ntarget-dir = \"t\"\n"));
	/* a replacement that is not a directory source vendors nothing */
	assert_null(cargo_config_vendor_dir("[source.crates-io]\nreplace-with = \"mirror\"\n"
	                                    "[source.mirror]\nregistry = \"sparse+https://m\"\n"));
}

static void test_cmake_executable_and_safe_names(void **state)
{
	char *s;

	(void)state;
	s = cmake_first_executable("project(x C)\nadd_library(core a.c)\n"
	                           "ADD_EXECUTABLE( minilang src/main.c)\n");
	assert_string_equal(s, "minilang");
	free(s);
	assert_null(cmake_first_executable("add_executable(${PROJECT_NAME} a.c)\n"));
	s = project_safe_name("my app/β");
	assert_string_equal(s, "my-app---");
	free(s);
}

static void test_pipeline_text_names_what_is_missing(void **state)
{
	struct project p = {.kind = PROJECT_CARGO, .dir = "/nowhere", .name = "x", .binary = "x"};
	char *bins[] = {"x"};
	char *text;

	(void)state;
	p.cargo.bins = bins;
	p.cargo.n_bins = 1;
	p.cargo.has_dependencies = true;
	p.cargo.vendor = VENDOR_MISSING;
	text = init_pipeline_text(&p, "gcc", ".");
	assert_non_null(strstr(text, "MISSING: [profile.release] lto = \"fat\""));
	assert_non_null(strstr(text, "MISSING: [profile.release] codegen-units = 1"));
	assert_non_null(strstr(text, "MISSING: vendored sources"));
	assert_non_null(strstr(text, "MISSING: Cargo.lock"));
	assert_non_null(strstr(text, "compiler = rustc"));
	assert_non_null(strstr(text, "--target x86_64-unknown-linux-gnu"));
	/* no Cargo.lock: --locked would fail */
	assert_null(strstr(text, "--offline --locked"));
	assert_non_null(strstr(text, "PLACEHOLDER"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_package_bins_and_release_profile),
	    cmocka_unit_test(test_missing_release_settings_stay_null),
	    cmocka_unit_test(test_dependencies_in_every_spelling),
	    cmocka_unit_test(test_errors_name_file_and_line),
	    cmocka_unit_test(test_vendor_dir_from_cargo_config),
	    cmocka_unit_test(test_cmake_executable_and_safe_names),
	    cmocka_unit_test(test_pipeline_text_names_what_is_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
