/* toolchain_gcc.c - gcc: .gcda profiles merged with gcov-tool, LTO by
 * -flto, a fixed -frandom-seed so that instrumented objects, .gcda stamps
 * and the binary do not vary between runs. */
#include "pipeline/toolchain.h"

static const char *const gcc_aliases[] = {"cc", NULL};

static const struct diag_pattern gcc_diagnostics[] = {
    {"[-Wmissing-profile]", "gcc -Wmissing-profile (profile count data file not found)", false},
    {"[-Werror=missing-profile]", "gcc -Wmissing-profile (profile count data file not found)",
     false},
    {"[-Wcoverage-mismatch]", "gcc -Wcoverage-mismatch (profile does not match the source)", true},
    {"[-Werror=coverage-mismatch]", "gcc -Wcoverage-mismatch (profile does not match the source)",
     true},
    {"corrupted value profile", "gcc: corrupted value profile", true},
    {"profile data may be corrupted", "gcc: profile data may be corrupted", true},
};

static void gcc_stage_env(enum stage_role role, const char *profile, const struct pgo_recipe *r,
                          struct strv *env)
{
	strv_pushf(env, "PGO_CC=%s", r->cc ? r->cc : "gcc");
	strv_push(env, "PGO_LTO_FLAGS=-flto");
	strv_push(env, "PGO_CFLAGS=-frandom-seed=" PGO_RANDOM_SEED);
	/* what a binary BOLT is to rewrite must be linked with */
	strv_push(env, "PGO_BOLT_LDFLAGS=-Wl,--emit-relocs");
	if (role == ROLE_INSTRUMENT)
		/* Value profiles are off: gcov-tool merge (gcc 12.2) corrupts
		 * them ("corrupted value profile: divmod profile counter"), so
		 * sharded training could not be merged. */
		strv_push(env, "PGO_GENERATE_FLAGS=-fprofile-generate -fno-profile-values "
		               "-frandom-seed=" PGO_RANDOM_SEED);
	if (role == ROLE_BUILD && profile)
		strv_pushf(env,
		           "PGO_USE_FLAGS=-fprofile-use=%s -Wmissing-profile -Wcoverage-mismatch "
		           "-frandom-seed=" PGO_RANDOM_SEED "%s",
		           profile,
		           /* gcc's machine-function splitting: hot and cold
		            * partitions of each function, driven by the profile */
		           r->split_functions ? " -freorder-blocks-and-partition" : "");
}

static int gcc_check_recipe(const struct pgo_recipe *r, bool cs_stages, unsigned llvm_major,
                            struct error *err)
{
	(void)llvm_major;
	if (cs_stages)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "gcc has no context-sensitive PGO (clang's "
		                 "-fcs-profile-generate): drop the cs-* stages or use "
		                 "compiler = clang");
	if (r->function_order)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "function-order needs clang >= 17 (temporal profiles, "
		                 "llvm-profdata order); gcc has no temporal profile");
	return 0;
}

const struct toolchain toolchain_gcc = {
    .name = "gcc",
    .aliases = gcc_aliases,
    .format = PROFILE_GCDA,
    .stage_env = gcc_stage_env,
    .atomic_counter_flags = "-fprofile-update=atomic",
    .check_recipe = gcc_check_recipe,
    .diagnostics = gcc_diagnostics,
    .n_diagnostics = sizeof(gcc_diagnostics) / sizeof(gcc_diagnostics[0]),
};
