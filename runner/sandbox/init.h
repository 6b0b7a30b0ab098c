/* init.h - pid 1 of the sandbox's pid namespace.  It starts the command
 * (dropping privileges and installing seccomp on the way), reaps every
 * zombie, forwards signals to every process of the namespace, records the
 * command's wait status in the shared report and exits when the command
 * does; the kernel then kills whatever the command left behind. */
#ifndef PGO_INIT_H
#define PGO_INIT_H

#include "base/report.h"
#include "base/spec.h"

/* Never returns.  seccomp_fd: where the runner sends the compiled filter
 * (seccomp_program_send); the command receives it before it loads it. */
__attribute__((noreturn)) void init_main(const struct sandbox_spec *spec, char **envp,
                                         int seccomp_fd, struct run_report *r);

#endif
