/* cpus.h - which CPUs a run may be pinned to.
 *
 * A CPU list naming a CPU that is not online cannot be honoured: the
 * sched_setaffinity fallback refuses it and the run would silently float
 * over every CPU.  So it is a usage error, named with the online set. */
#ifndef PGO_HOST_CPUS_H
#define PGO_HOST_CPUS_H

#include <stdint.h>

#include "base/util.h"

/* Read a kernel CPU list file ("0-3,6\n") at `path` under `sysfs_root`
 * (NULL or "/": this host's); a parse error names `path`. */
int host_read_cpu_list(const char *sysfs_root, const char *path, uint8_t mask[CPU_LIST_MAX / 8],
                       struct error *err);

/* Read the kernel's online set (/sys/devices/system/cpu/online). */
int host_online_cpus(const char *sysfs_root, uint8_t online[CPU_LIST_MAX / 8], struct error *err);

/* Pure: 0 when every CPU of want is in online; otherwise an
 * EXIT_RUNNER_ERROR naming what (e.g. "--cpus"), the offending CPUs and
 * the online set. */
int cpus_require_online(const char *what, const uint8_t want[CPU_LIST_MAX / 8],
                        const uint8_t online[CPU_LIST_MAX / 8], struct error *err);

/* Both of the above: the check against this host. */
int host_check_cpus_online(const char *what, const uint8_t want[CPU_LIST_MAX / 8],
                           struct error *err);

#endif
