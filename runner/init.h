/* init.h - pid 1 of the sandbox's pid namespace.  It starts the command
 * (dropping privileges and installing seccomp on the way), reaps every
 * zombie, forwards signals to every process of the namespace, records the
 * command's wait status in the shared report and exits when the command
 * does; the kernel then kills whatever the command left behind. */
#ifndef PGO_INIT_H
#define PGO_INIT_H

#include "report.h"
#include "spec.h"

/* Never returns. */
__attribute__((noreturn)) void init_main(const struct sandbox_spec *spec, char **envp,
                                         struct run_report *r);

#endif
