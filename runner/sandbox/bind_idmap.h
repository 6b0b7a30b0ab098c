/* bind_idmap.h - read-only binds of trees the sandbox's user does not own
 * (--ro-bind-idmap, a stage's /src).
 *
 * A CI checkout or a `mktemp -d` copy is typically owned by the caller with
 * mode 0700: the caller may read it, the sandbox's unprivileged uid may
 * not.  The runner, still on the host side, clones the tree as a detached
 * mount and idmaps it (mount_setattr MOUNT_ATTR_IDMAP) so that files owned
 * by the tree's owner appear owned by the uid the command runs as; the
 * setup child attaches that prepared mount instead of cloning the source
 * itself.  Ids other than the owner's appear unmapped (overflow id) and
 * their files are read through their "other" bits.
 *
 * When the filesystem or the caller cannot idmap (a rootless runner, NFS,
 * an old kernel), the bind falls back to a plain read-only bind if every
 * entry of the tree is readable by the command's uid (control degraded:
 * --strict refuses), and otherwise refuses before anything starts, naming
 * the first unreadable path, its owner and mode, the uid and the fix. */
#ifndef PGO_BIND_IDMAP_H
#define PGO_BIND_IDMAP_H

#include <sys/stat.h>

#include "base/report.h"
#include "base/spec.h"

/* For every MOUNT_BIND_RO_IDMAP mount of `spec`, fds[i] receives a
 * detached, read-only, idmapped clone of its source (close-on-exec), or
 * -1 when a plain bind will do.  Other mounts get -1.  Records one
 * control ("mount.idmap", naming DST).  -1 + err when the tree
 * cannot be exposed readably (or --strict and only a fallback exists);
 * the fds already opened are closed then. */
int bind_idmap_prepare(const struct sandbox_spec *spec, int *fds, struct run_report *r,
                       struct error *err);

/* Close what bind_idmap_prepare opened. */
void bind_idmap_release(int *fds, size_t n);

/* The host uid and gid the command runs as (for the readability check):
 * spec->uid without a user namespace, else the id the namespace maps to. */
void bind_idmap_host_ids(const struct sandbox_spec *spec, uid_t *uid, gid_t *gid);

/* The first entry below `dir` (itself included) that `uid`/`gid` cannot
 * read (directories: read and search), by owner/group/other bits; NULL
 * when all can be read.  The caller frees the path; *st_out describes it. */
char *bind_idmap_first_unreadable(const char *dir, uid_t uid, gid_t gid, struct stat *st_out);

#endif
