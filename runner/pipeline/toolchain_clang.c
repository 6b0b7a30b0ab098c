/* toolchain_clang.c - clang: IR-level raw profiles merged with
 * llvm-profdata, LTO through lld, every profile diagnostic made visible
 * (-Wprofile-instr-*, -pgo-warn-missing-function) and fatal to the build
 * stage. */
#include "pipeline/toolchain.h"

static const struct diag_pattern clang_diagnostics[] = {
    {"[-Wprofile-instr-missing]", "clang -Wprofile-instr-missing", false},
    {"[-Wprofile-instr-out-of-date]", "clang -Wprofile-instr-out-of-date", true},
    {"[-Wprofile-instr-unprofiled]", "clang -Wprofile-instr-unprofiled", false},
    {"no profile data available for function",
     "clang IR PGO: no profile data available for function (-pgo-warn-missing-function)", false},
    {"hash mismatch", "clang IR PGO: function control flow changed (hash mismatch)", true},
    {"Could not read profile", "clang: could not read the profile", false},
};

static void clang_stage_env(enum stage_role role, const char *profile, struct strv *env)
{
	strv_push(env, "PGO_CC=clang");
	strv_push(env, "PGO_LTO_FLAGS=-flto -fuse-ld=lld");
	strv_push(env, "PGO_CFLAGS=");
	/* what a binary BOLT is to rewrite must be linked with */
	strv_push(env, "PGO_BOLT_LDFLAGS=-Wl,--emit-relocs");
	if (role == ROLE_INSTRUMENT)
		strv_push(env, "PGO_GENERATE_FLAGS=-fprofile-generate");
	if (role == ROLE_BUILD && profile)
		strv_pushf(env,
		           "PGO_USE_FLAGS=-fprofile-use=%s -Wprofile-instr-missing "
		           "-Wprofile-instr-out-of-date -Wprofile-instr-unprofiled "
		           "-mllvm -pgo-warn-missing-function",
		           profile);
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
    .diagnostics = clang_diagnostics,
    .n_diagnostics = sizeof(clang_diagnostics) / sizeof(clang_diagnostics[0]),
};
