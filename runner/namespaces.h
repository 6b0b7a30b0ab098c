/* namespaces.h - namespace flags, user-namespace id maps (written by the
 * runner from outside), hostname and loopback (set up from inside). */
#ifndef PGO_NAMESPACES_H
#define PGO_NAMESPACES_H

#include <stdint.h>
#include <sys/types.h>

#include "report.h"
#include "spec.h"

/* CLONE_NEW* flags for this run. */
uint64_t namespaces_clone_flags(const struct sandbox_spec *spec);

/* Map `inside_uid/gid` to the runner's own ids (rootless) or to the
 * unprivileged DEFAULT_UNPRIVILEGED_ID (root asking for uid 0 inside). */
int namespaces_write_id_maps(pid_t child, const struct sandbox_spec *spec, struct error *err);

/* As real root the runner brings the sandbox's lo up from outside (setns
 * on the child's pidfd, while the child builds its mounts); in a user
 * namespace it returns 0 at once and namespaces_setup_inside does it. */
int namespaces_loopback_up_from_outside(const struct sandbox_spec *spec, int pidfd,
                                        struct error *err);

/* Inside: hostname and loopback up in the fresh net namespace. */
int namespaces_setup_inside(const struct sandbox_spec *spec, struct run_report *r,
                            struct error *err);

#endif
