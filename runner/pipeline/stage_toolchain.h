/* stage_toolchain.h - where a pipeline's toolchain is, when it lives
 * outside the host image's /usr (rustup's rustc), and which LLVM its
 * compiler has. */
#ifndef PGO_STAGE_TOOLCHAIN_H
#define PGO_STAGE_TOOLCHAIN_H

#include "base/util.h"
#include "pipeline/config.h"
#include "pipeline/toolchain.h"

/* An empty site when the toolchain is the image's own. */
int stage_locate_toolchain(const struct pipeline *pl, struct toolchain_site *site,
                           struct error *err);

#endif
