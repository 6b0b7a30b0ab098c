/* mounts.h - assemble the sandbox's root filesystem and pivot into it.
 *
 * Runs in the setup child, inside the new mount namespace.  What goes
 * where, in which order, is planned first (mount_plan.h: pure, tested
 * without mounting); a target that is not a plain absolute path is
 * refused then.  Every host source is cloned as a detached mount
 * (open_tree) before anything is mounted, the new root is a size-bounded
 * tmpfs, every target is resolved inside it (path_resolve.h), and the old
 * root is detached after pivot_root. */
#ifndef PGO_MOUNTS_H
#define PGO_MOUNTS_H

#include "base/report.h"
#include "base/spec.h"

/* `image_dir` is the directory holding the rootfs for IMAGE_DIR and
 * IMAGE_TARBALL (already extracted by the runner); NULL for IMAGE_HOST.
 * `prepared` (one per spec mount, -1 for none; NULL for all none) holds
 * detached mounts the runner made (bind_idmap.h); they are consumed. */
int rootfs_setup(const struct sandbox_spec *spec, const char *image_dir, const int *prepared,
                 struct run_report *r, struct error *err);

#endif
