/* privileges.h - the last steps before execve, in the command's process:
 * new session, rlimits, no_new_privs, ids, an empty capability set in every
 * set (bounding and ambient included), descriptors beyond 0-2 closed. */
#ifndef PGO_PRIVILEGES_H
#define PGO_PRIVILEGES_H

#include "base/report.h"
#include "base/spec.h"

int privileges_apply_rlimits(const struct sandbox_spec *spec, struct run_report *r,
                             struct error *err);
int privileges_drop(const struct sandbox_spec *spec, struct run_report *r, struct error *err);
/* Close every fd >= 3 except --pass-fd ones (those lose FD_CLOEXEC). */
int privileges_close_fds(const struct sandbox_spec *spec, struct run_report *r, struct error *err);
/* Resolve an rlimit name ("core", "nofile", "fsize"...) to RLIMIT_*. */
int privileges_rlimit_by_name(const char *name);

#endif
