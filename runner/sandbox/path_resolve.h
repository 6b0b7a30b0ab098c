/* path_resolve.h - open paths inside a new root without ever leaving it.
 *
 * Mount targets are attacker-influenced (an image or an earlier bind may
 * hold symlinks such as usr/lib -> /etc), so every target is opened relative
 * to the root fd with symlinks resolved as if the root were "/":
 * openat2(RESOLVE_IN_ROOT) where the kernel has it, otherwise a
 * component-by-component walk with O_NOFOLLOW that clamps ".." and
 * re-resolves each symlink from the root. */
#ifndef PGO_PATH_RESOLVE_H
#define PGO_PATH_RESOLVE_H

#include <stdbool.h>

#include "base/util.h"

/* Open `path` (absolute or relative, interpreted inside root_fd) with
 * `flags` (O_PATH, O_DIRECTORY, O_RDONLY...; O_CLOEXEC is always added).
 * `force_walk` skips openat2 so the fallback is testable.  Returns an fd or
 * -1 with errno set (no struct error: callers add the context). */
int resolve_in_root(int root_fd, const char *path, int flags, bool force_walk);

/* Create every missing directory of `path` inside root_fd (mode 0755) and
 * finally the leaf: a directory when `leaf_is_dir`, else an empty regular
 * file.  Returns an O_PATH fd of the leaf, or -1 with `err` filled. */
int mkpath_in_root(int root_fd, const char *path, bool leaf_is_dir, bool force_walk,
                   struct error *err);

#endif
