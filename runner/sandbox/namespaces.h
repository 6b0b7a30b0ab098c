/* namespaces.h - namespace flags, user-namespace id maps (written by the
 * runner from outside), hostname and loopback (set up from inside). */
#ifndef PGO_NAMESPACES_H
#define PGO_NAMESPACES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/report.h"
#include "base/spec.h"

/* CLONE_NEW* flags for this run. */
uint64_t namespaces_clone_flags(const struct sandbox_spec *spec);

/* Map `inside_uid/gid` to the runner's own ids (rootless) or to the
 * unprivileged DEFAULT_UNPRIVILEGED_ID (root asking for uid 0 inside). */
/* Write `text` to /proc/PID/NAME (uid_map, gid_map, setgroups). */
int namespaces_write_proc_file(pid_t pid, const char *name, const char *text, struct error *err);

int namespaces_write_id_maps(pid_t child, const struct sandbox_spec *spec, struct error *err);

/* As real root the runner makes the sandbox's network namespace itself,
 * after releasing the setup child: the kernel's netns creation (0.3-0.6 ms
 * here) then runs on another CPU while the child builds its mounts,
 * instead of inside the clone.  In a user namespace the clone makes it
 * (the runner has no privilege over a netns that namespace owns). */
bool namespaces_runner_makes_net(const struct sandbox_spec *spec);

/* Runner: a fresh network namespace with lo up, as an fd in *net_fd; the
 * runner itself is back in its own namespace on return, error or not. */
int namespaces_net_create(int *net_fd, struct error *err);

/* Runner: hand net_fd to the setup child over the socket.  1 when the
 * child is gone already (its own error is the one to report). */
int namespaces_net_send(int sock_fd, int net_fd, struct error *err);

/* Setup child: receive the namespace and enter it; any failure is fatal
 * to the sandbox, which then never starts. */
int namespaces_net_enter(int sock_fd, struct error *err);

/* Inside: hostname and loopback up in the fresh net namespace. */
int namespaces_setup_inside(const struct sandbox_spec *spec, struct run_report *r,
                            struct error *err);

#endif
