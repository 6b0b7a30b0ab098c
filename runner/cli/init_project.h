/* init_project.h - what `pgo-sandbox init` learns about the project in a
 * directory: its build system and, for cargo, what Cargo.toml and
 * .cargo/config.toml say that a PGO pipeline depends on.
 *
 * Cargo.toml is read with a small line reader, not a TOML library: init
 * needs section headers, a few `key = value` pairs and whether dependency
 * tables are empty, and a starter file that misses an exotic spelling
 * says so in its comments rather than failing. */
#ifndef PGO_INIT_PROJECT_H
#define PGO_INIT_PROJECT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

enum project_kind {
	PROJECT_CARGO,     /* Cargo.toml */
	PROJECT_CMAKE,     /* CMakeLists.txt */
	PROJECT_MAKE,      /* Makefile, makefile or GNUmakefile */
	PROJECT_C_SOURCES, /* no build system: *.c in src/ or at the top */
};

/* How cargo gets its crates when stages run without network. */
enum vendor_state {
	VENDOR_NOT_NEEDED,  /* no dependencies at all */
	VENDOR_CONFIGURED,  /* .cargo/config.toml replaces crates-io with a directory */
	VENDOR_DIR_MISSING, /* configured, but the directory is not there */
	VENDOR_MISSING,     /* dependencies and no vendored source */
};

struct cargo_facts {
	char *package; /* [package] name; NULL for a virtual workspace */
	char **bins;   /* [[bin]] names, then autobins found on disk */
	size_t n_bins;
	bool autobins; /* [package] autobins (default true) */
	char *lto;     /* [profile.release] lto as written, NULL when absent */
	char *codegen_units;
	bool workspace; /* a [workspace] table */
	bool has_dependencies;
	bool has_lock; /* Cargo.lock beside Cargo.toml */
	enum vendor_state vendor;
	char *vendor_dir; /* VENDOR_CONFIGURED / VENDOR_DIR_MISSING: as configured */
};

struct project {
	enum project_kind kind;
	char *dir;           /* absolute */
	char *name;          /* for `[pipeline] name`: [A-Za-z0-9._-]+ */
	char *binary;        /* the binary the pipeline ships */
	bool binary_guessed; /* not read from the build files: the user checks it */
	char *c_sources;     /* PROJECT_C_SOURCES: the glob of the sources (src/, else top) */
	struct cargo_facts cargo;
};

/* Parse Cargo.toml text (`path` names it in errors). */
int cargo_parse(const char *text, const char *path, struct cargo_facts *out, struct error *err);
/* The directory that .cargo/config.toml text replaces crates-io with, or
 * NULL (caller frees). */
char *cargo_config_vendor_dir(const char *text);
/* The first add_executable() target of CMakeLists.txt text, or NULL. */
char *cmake_first_executable(const char *text);
/* "[A-Za-z0-9._-]+" made from `text` (other characters become '-'). */
char *project_safe_name(const char *text);

/* Look at `dir`; -1 + err when it holds no project init knows. */
int project_detect(const char *dir, struct project *out, struct error *err);
void project_free(struct project *p);

#endif
