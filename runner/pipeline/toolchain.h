/* toolchain.h - the compilers a pipeline can name (`compiler = NAME`), as
 * a table.
 *
 * A toolchain is one file, toolchain_NAME.c, defining one `struct
 * toolchain`, and one row in toolchains.c.  It says which flags the stage
 * variables carry (PGO_CC, PGO_LTO_FLAGS, PGO_CFLAGS, PGO_GENERATE_FLAGS,
 * PGO_USE_FLAGS), what format training writes (and so where profiles go,
 * how they are checked and merged: pgo.h), which build diagnostics mean
 * the profile was not used, and, for a toolchain living outside /usr,
 * where it is and what identifies it. */
#ifndef PGO_TOOLCHAIN_H
#define PGO_TOOLCHAIN_H

#include <jansson.h>
#include <stdbool.h>

#include "pipeline/pgo.h"

/* Where a toolchain outside the host image's /usr is, for one stage:
 * bound read-only at `mount_dst`, its bin/ first on PATH. */
struct toolchain_site {
	char *mount_src;       /* host directory; NULL: the tools are under /usr */
	const char *mount_dst; /* inside the sandbox */
	char *path_prefix;     /* prepended to PATH inside; NULL: none */
	json_t *facts;         /* versions and digests: provenance and cache key */
	unsigned llvm_major;   /* the compiler's LLVM; 0: none or unknown */
	char *host_sysroot;    /* where its llvm-tools would be, on the host */
};

struct toolchain {
	const char *name;
	const char *const *aliases; /* NULL-terminated; may be NULL */
	enum profile_format format;
	/* PGO_CC, PGO_LTO_FLAGS, PGO_CFLAGS, PGO_GENERATE_FLAGS (instrument),
	 * PGO_USE_FLAGS (build, `profile` the merged profile inside) and any
	 * variable the toolchain's tools need in every stage; the recipe's
	 * techniques (pgo.h) add their flags */
	void (*stage_env)(enum stage_role role, const char *profile,
	                  const struct pgo_recipe *recipe, struct strv *env);
	/* the recipe's techniques this toolchain cannot do: -1 + err saying
	 * which and why (`llvm_major` the compiler's, 0 when unknown) */
	int (*check_recipe)(const struct pgo_recipe *recipe, bool cs_stages, unsigned llvm_major,
	                    struct error *err);
	/* the LLVM major of compiler command `cc` (0: not LLVM, unknown;
	 * NULL: the toolchain does not choose by it) */
	unsigned (*llvm_major_of)(const char *cc);
	/* appended to PGO_GENERATE_FLAGS under `training = threaded`: counter
	 * updates that threads running in parallel do not lose */
	const char *atomic_counter_flags;
	/* diagnostics that fail the build stage */
	const struct diag_pattern *diagnostics;
	size_t n_diagnostics;
	/* "no profile data available for function" warnings are counted
	 * against the profile's functions (coverage) rather than fatal; a
	 * profile that matches nothing fails */
	bool counts_missing_functions;
	/* NULL: the tools are the host image's; else fills `site` */
	int (*locate)(struct toolchain_site *site, struct error *err);
	/* after instrument: the outputs must carry the profile runtime, the
	 * objects the build left under `work_dir` agree on the raw profile
	 * version (NULL: not checked) */
	int (*check_instrumented)(const struct toolchain_site *site, const char *work_dir,
	                          const char *out_dir, char *const *outputs, size_t n,
	                          struct error *err);
};

extern const struct toolchain toolchain_gcc;
extern const struct toolchain toolchain_clang;
extern const struct toolchain toolchain_rustc;

/* The toolchain `name` names (NULL: gcc); -1 + err listing the known ones. */
int toolchain_find(const char *name, const struct toolchain **out, struct error *err);

void toolchain_site_free(struct toolchain_site *site);
/* A deep copy of `from` into `to`. */
void toolchain_site_copy(struct toolchain_site *to, const struct toolchain_site *from);

/* Whether a file holds the LLVM profile runtime (its counters section or
 * runtime hook): an instrumented binary must. */
bool toolchain_has_llvm_profile_runtime(const char *path);

#endif
