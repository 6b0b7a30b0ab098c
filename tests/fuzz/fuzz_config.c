/* libFuzzer target: the INI readers behind profiles and pipeline files.
 * Each input is written to <dir>/fuzz.ini and loaded both as a profile and
 * as a pipeline.  <dir> also holds a fixed base.ini and a src/ directory,
 * and is the profiles directory, so `include = base.ini`, `include =
 * fuzz.ini` (a cycle), `source = src` and `profile = base` all lead
 * somewhere. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The harness's own scratch directory, made once per process. */
static char dir[] = "/tmp/fuzz_config.XXXXXX";
static char input_path[sizeof(dir) + 16];

static void put(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fwrite(data, 1, len, fp) != len || fclose(fp) != 0)
		abort();
}

static void cleanup(void)
{
	struct error err = {0};

	remove_tree(dir, &err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char base[] = "[sandbox]\nmemory = 1G\nenv = A=1\nrlimit = core=0\n";
	char path[sizeof(dir) + 16];

	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/base.ini", dir);
	put(path, base, sizeof(base) - 1);
	snprintf(path, sizeof(path), "%s/src", dir);
	if (mkdir(path, 0755) < 0)
		abort();
	snprintf(input_path, sizeof(input_path), "%s/fuzz.ini", dir);
	setenv("PGO_SANDBOX_PROFILES", dir, 1);
	return 0;
}

/* The reader mirrors inih's line rules: if inih ever rejects a line the
 * reader let through, or sees another section, the mirror is wrong. */
/* True for "<input>:<line>: <what>" (line digits may be absent with
 * `colon_line` false): messages the harness must never see. */
static bool is_message(const char *msg, const char *what, bool colon_line)
{
	size_t n = strlen(input_path);

	if (strncmp(msg, input_path, n) != 0)
		return false;
	msg += n;
	if (colon_line) {
		if (*msg++ != ':')
			return false;
		msg += strspn(msg, "0123456789");
	}
	return strncmp(msg, what, strlen(what)) == 0;
}

/* The whole message, not a prefix: "<input>:2: internal error: unknown
 * key in [pipeline]" is a correct report of a key named "internal error"
 * (inih splits at ':' too), found by this fuzzer. */
static bool is_exact_message(const char *msg, const char *what)
{
	return is_message(msg, what, true) && strcmp(msg + strlen(msg) - strlen(what), what) == 0;
}

static void check_error(const struct error *err)
{
	if (err->msg[0] == '\0' || is_exact_message(err->msg, ": cannot parse this line") ||
	    is_exact_message(err->msg, ": internal error: inih and reader disagree on the section") ||
	    is_message(err->msg, ": inih failed (", false))
		abort();
}

static void fuzz_profile(void)
{
	struct sandbox_spec spec;
	struct profile p;
	struct error err = {0};
	json_t *j;

	if (profile_load(input_path, &p, &err) < 0) {
		check_error(&err);
		if (p.name != NULL)
			abort();
		return;
	}
	j = profile_to_json(&p);
	if (j == NULL)
		abort();
	free(json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS));
	json_decref(j);
	spec_init(&spec);
	profile_apply(&p, &spec, &err);
	spec_free(&spec);
	profile_free(&p);
}

static void fuzz_pipeline(void)
{
	struct pipeline p;
	struct error err = {0};

	if (pipeline_load(input_path, &p, &err) < 0) {
		check_error(&err);
		if (p.n_stages != 0 || p.path != NULL)
			abort();
		return;
	}
	for (size_t i = 0; i < p.n_stages; i++) {
		json_t *j = stage_def_to_json(&p.stages[i]);

		if (j == NULL || pipeline_find_stage(&p, p.stages[i].name) != &p.stages[i])
			abort();
		free(json_dumps(j, JSON_COMPACT));
		json_decref(j);
	}
	pipeline_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	put(input_path, data, size);
	fuzz_profile();
	fuzz_pipeline();
	return 0;
}
