/* profdata.h - choosing the llvm-profdata that can read a raw profile.
 *
 * Raw profiles carry a format version and a reader accepts only its own
 * (LLVM promises no compatibility): rustc 1.82+ writes version 10, which
 * Debian 12's default llvm-profdata (LLVM 14, version 8) cannot merge.
 * The candidates are llvm-profdata on the sandbox's PATH, Debian's
 * versioned installs (/usr/lib/llvm-N/bin) and rustup's llvm-tools in the
 * toolchain's sysroot; the choice is recorded in provenance. */
#ifndef PGO_PROFDATA_H
#define PGO_PROFDATA_H

#include <jansson.h>
#include <stdint.h>

#include "pipeline/toolchain.h"

struct profdata_choice {
	char *host_path;    /* where the runner runs it */
	char *sandbox_path; /* the same file inside the merge sandbox */
	unsigned llvm_major;
	uint64_t raw_version; /* the raw version it reads */
};

/* The llvm-profdata reading `raw_version`: -1 + err naming the version,
 * `writer` (who wrote it: "rustc 1.95.0 (LLVM 22)"), every candidate with
 * the version it reads, and the package to install. */
int profdata_choose(uint64_t raw_version, const char *writer, const struct toolchain_site *site,
                    struct profdata_choice *out, struct error *err);
void profdata_choice_free(struct profdata_choice *c);
json_t *profdata_choice_json(const struct profdata_choice *c);

/* Functions in an indexed profile, and those with a non-zero count
 * (`llvm-profdata show` and `show --covered`). */
int profdata_coverage(const char *host_profdata, const char *profile, struct profile_coverage *pc,
                      struct error *err);

#endif
