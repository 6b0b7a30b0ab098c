/* init.h - `pgo-sandbox init [DIR] [--output FILE] [--compiler gcc|clang]`:
 * write a commented starter pipeline for the project in DIR (default the
 * current directory): cargo (from Cargo.toml), CMake, make or plain C.
 * What the pipeline depends on and the project lacks (fat LTO, one
 * codegen unit, vendored crates for offline stages, a Cargo.lock) is
 * named in the file and on stdout; the training and benchmark commands are
 * placeholders that fail until written.  Never overwrites a file: the
 * pipeline is written under a temporary name and linked into place. */
#ifndef PGO_CLI_INIT_H
#define PGO_CLI_INIT_H

#include "cli/init_project.h"

/* The pipeline text for `p` (caller frees); `compiler` is gcc or clang
 * for C projects, ignored for cargo; `source` is [pipeline] source. */
char *init_pipeline_text(const struct project *p, const char *compiler, const char *source);

#endif
