/* toolchain_clang.c - clang: IR-level raw profiles merged with
 * llvm-profdata, LTO through lld, every profile diagnostic made visible
 * (-Wprofile-instr-*, -pgo-warn-missing-function) and fatal to the build
 * stage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/toolchain.h"

/* -mllvm -pgo-temporal-instrumentation and `llvm-profdata order` */
#define TEMPORAL_MIN_LLVM 17

static const struct diag_pattern clang_diagnostics[] = {
    {"[-Wprofile-instr-missing]", "clang -Wprofile-instr-missing", false},
    {"[-Wprofile-instr-out-of-date]", "clang -Wprofile-instr-out-of-date", true},
    {"[-Wprofile-instr-unprofiled]", "clang -Wprofile-instr-unprofiled", false},
    {"no profile data available for function",
     "clang IR PGO: no profile data available for function (-pgo-warn-missing-function)", false},
    {"hash mismatch", "clang IR PGO: function control flow changed (hash mismatch)", true},
    {"Could not read profile", "clang: could not read the profile", false},
};

static const char *const clang_use_warnings =
    "-Wprofile-instr-missing -Wprofile-instr-out-of-date -Wprofile-instr-unprofiled "
    "-mllvm -pgo-warn-missing-function";

static void clang_use_flags(const char *profile, const struct pgo_recipe *r, struct strv *env)
{
	char *order = r->symbol_order ? xasprintf(" -Wl,--symbol-ordering-file=%s "
	                                          "-Wl,--no-warn-symbol-ordering",
	                                          r->symbol_order)
	                              : xstrdup("");

	strv_pushf(env, "PGO_USE_FLAGS=-fprofile-use=%s %s%s%s", profile, clang_use_warnings,
	           r->split_functions ? " -fsplit-machine-functions" : "", order);
	free(order);
}

static void clang_stage_env(enum stage_role role, const char *profile, const struct pgo_recipe *r,
                            struct strv *env)
{
	strv_pushf(env, "PGO_CC=%s", r->cc ? r->cc : "clang");
	strv_push(env, "PGO_LTO_FLAGS=-flto -fuse-ld=lld");
	strv_push(env, "PGO_CFLAGS=");
	/* what a binary BOLT is to rewrite must be linked with */
	strv_push(env, "PGO_BOLT_LDFLAGS=-Wl,--emit-relocs");
	if (role == ROLE_INSTRUMENT)
		strv_pushf(env, "PGO_GENERATE_FLAGS=-fprofile-generate%s",
		           r->function_order ? " -mllvm -pgo-temporal-instrumentation" : "");
	/* the second pass instruments the build optimised by the first, and
	 * the first pass's profile is checked as a build checks it */
	if (role == ROLE_CS_INSTRUMENT && r->cs_base)
		strv_pushf(env, "PGO_GENERATE_FLAGS=-fprofile-use=%s -fcs-profile-generate %s",
		           r->cs_base, clang_use_warnings);
	if (role == ROLE_BUILD && profile)
		clang_use_flags(profile, r, env);
}

/* "clang-19" names its major; plain "clang" says it in --version. */
static unsigned clang_llvm_major(const char *cc)
{
	const char *dash = strrchr(cc, '-');
	char *argv[] = {(char *)cc, "--version", NULL};
	char *out;
	const char *v;
	unsigned major = 0;

	if (dash && dash[1] >= '1' && dash[1] <= '9' &&
	    strspn(dash + 1, "0123456789") == strlen(dash + 1))
		return (unsigned)strtoul(dash + 1, NULL, 10);
	out = pgo_probe_output(argv);
	v = out ? strstr(out, "clang version ") : NULL;
	if (v)
		major = (unsigned)strtoul(v + strlen("clang version "), NULL, 10);
	free(out);
	return major;
}

static int clang_check_recipe(const struct pgo_recipe *r, bool cs_stages, unsigned llvm_major,
                              struct error *err)
{
	(void)cs_stages; /* LLVM 9+; Debian 12's oldest clang is 14 */
	if (r->function_order && llvm_major < TEMPORAL_MIN_LLVM)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "function-order needs clang >= %d (temporal profiles, "
		                 "llvm-profdata order); %s is %s: set `cc = clang-19` "
		                 "(Debian 12: apt-get install clang-19 lld-19 llvm-19)",
		                 TEMPORAL_MIN_LLVM, r->cc ? r->cc : "clang",
		                 llvm_major ? "older" : "of an unknown version");
	return 0;
}

const struct toolchain toolchain_clang = {
    .name = "clang",
    .format = PROFILE_LLVM_RAW,
    .stage_env = clang_stage_env,
    /* clang 14 does not apply -fprofile-update=atomic to IR PGO
     * (-fprofile-generate): measured here, a four-thread hot() trained on
     * two CPUs with it alone counted 6 048 168 calls of 8 000 000; with the
     * LLVM option, 8 000 000 */
    .atomic_counter_flags = "-fprofile-update=atomic -mllvm -instrprof-atomic-counter-update-all",
    .check_recipe = clang_check_recipe,
    .llvm_major_of = clang_llvm_major,
    .diagnostics = clang_diagnostics,
    .n_diagnostics = sizeof(clang_diagnostics) / sizeof(clang_diagnostics[0]),
};
