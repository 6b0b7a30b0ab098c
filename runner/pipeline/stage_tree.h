/* stage_tree.h - a stage's temporary tree on the host: <tmp>/work (the
 * sandbox's /build, with /build/out), <tmp>/in/NAME (each input
 * extracted), <tmp>/pack and the log; the janitor that removes it all if
 * the runner is killed; the mounts that put it in the sandbox. */
#ifndef PGO_STAGE_TREE_H
#define PGO_STAGE_TREE_H

#include <sys/types.h>

#include "pipeline/stage_ctx.h"

/* mkdir (an existing directory is fine), then chmod: whatever the umask. */
int stage_make_dir(const char *path, mode_t mode, struct error *err);
/* c->tmp and the paths below it; the janitor's list of what to remove. */
int stage_make_tmp(struct stage_ctx *c, struct error *err);
int stage_start_janitor(struct stage_ctx *c, struct error *err);
/* Each input's artifacts, safely, into <tmp>/in/NAME[/IofN], with their
 * provenance loaded. */
int stage_extract_inputs(struct stage_ctx *c, struct error *err);
/* The working tree /build: owned by the sandbox's user, with the input
 * mount points and the helpers owned by the runner. */
int stage_prepare_work(struct stage_ctx *c, struct error *err);
/* /src (idmapped, the artifacts kept inside it masked), /build, the
 * toolchain outside the image, /build/in/NAME: appended to c->spec. */
void stage_add_mounts(struct stage_ctx *c);
/* Removes the temporary tree and the partial tarball; dismisses the
 * janitor. */
void stage_cleanup_tmp(struct stage_ctx *c);

#endif
