/* chroot_root.h - running under a chroot whose / is not a mount point.
 *
 * Debian's sbuild and pbuilder, debootstrap'd build roots and many CI
 * runners chroot into a directory: the process's root is then a plain
 * directory inside some mount, not the root of a mount.  The kernel
 * refuses two things there: a propagation change of "/" (mount MS_SLAVE
 * needs the root of a mount: EINVAL) and pivot_root (the current root
 * must be a mount root).  It also refuses unshare(CLONE_NEWUSER) to a
 * chrooted process (EPERM), which idmapped binds need.
 *
 * The mount that contains the chroot is outside the chroot and cannot be
 * named by path.  Only root reaches it: chroot into a subdirectory while
 * the working directory stays above it, then climb with "..".  Nothing
 * here is a security boundary being crossed: the runner is already root,
 * and a chroot never confines root.  What matters is that the host sees
 * nothing: see chroot_root_make_mount. */
#ifndef PGO_CHROOT_ROOT_H
#define PGO_CHROOT_ROOT_H

#include <stdbool.h>

#include "base/util.h"

/* Whether "/" is the root of a mount (false in a chroot of a directory;
 * true when the kernel cannot tell, before Linux 5.8).  -1 + err when
 * statx fails. */
int chroot_root_is_mount(bool *is_mount, struct error *err);

/* Move this process's root (and working directory) to the root of its
 * mount namespace.  Only for a process that is about to exit or that
 * comes back with chroot_root_make_mount; needs CAP_SYS_CHROOT. */
int chroot_root_escape(struct error *err);

/* Must run in a fresh mount namespace of its own (after CLONE_NEWNS).
 * Makes every mount of this namespace a slave first (the namespace's real
 * root is a mount root, so that is possible; slaves propagate nothing to
 * the host), then binds the chroot's directory onto itself and enters that
 * bind: afterwards "/" is a mount root and the rest of the root setup
 * (MS_SLAVE of "/", pivot_root) works as outside a chroot.  The working
 * directory is kept. */
int chroot_root_make_mount(struct error *err);

#endif
