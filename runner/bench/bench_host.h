/* bench_host.h - what the bench needs to know about the host: CPU topology
 * (to pin without splitting SMT siblings), CPU pressure (PSI) and steal time
 * around each run (to see disturbed runs), and the facts a result records.
 * Paths are taken below a root ("/" normally, a fake tree in tests). */
#ifndef PGO_BENCH_HOST_H
#define PGO_BENCH_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "artifacts/digest.h"
#include "base/util.h"

/* thread_siblings_list of `cpu` (the CPUs sharing its core, itself
 * included) -> mask.  -1 + err when the file cannot be read. */
int host_cpu_siblings(const char *root, unsigned cpu, uint8_t mask[CPU_LIST_MAX / 8],
                      struct error *err);

/* The default bench CPU: the highest-numbered online CPU (CPU 0 takes
 * most interrupts and housekeeping on a typical host). */
int host_default_cpu(const char *root, unsigned *cpu, struct error *err);

/* Busy ticks (everything but idle and iowait) per CPU from /proc/stat
 * text: busy[cpu] for cpu < n; CPUs not listed stay 0.  -1 when the text
 * has no per-CPU line. */
int host_parse_busy(const char *text, uint64_t *busy, size_t n);

/* The online CPU that was least busy over `sample_ms` (ties: the highest
 * number); falls back to host_default_cpu when /proc/stat is unreadable.
 * `busy_pct` receives its busy share in the sample (may be NULL). */
int host_quietest_cpu(const char *root, unsigned sample_ms, unsigned *cpu, double *busy_pct,
                      struct error *err);

/* Refuse a CPU list holding two SMT siblings of one core: they would
 * compete for that core.  The error names both CPUs.  A CPU without
 * topology information is accepted. */
int host_check_smt(const char *root, const uint8_t mask[CPU_LIST_MAX / 8], struct error *err);

/* Siblings of the listed CPUs that are not themselves listed: the
 * hyperthreads whose load disturbs the bench ("" when none).  Caller frees. */
char *host_idle_siblings(const char *root, const uint8_t mask[CPU_LIST_MAX / 8]);

/* "some avg10=.. avg60=.. avg300=.. total=N" -> N (microseconds). */
int host_parse_psi_some_total(const char *text, uint64_t *total_us);
/* /proc/stat text -> steal ticks (USER_HZ) summed over the CPUs in mask. */
int host_parse_steal(const char *text, const uint8_t mask[CPU_LIST_MAX / 8], uint64_t *ticks);

/* A snapshot taken before and after each run; the differences are what
 * the run's window saw.  has_* false when the file is missing. */
struct host_sample {
	bool has_psi, has_steal;
	uint64_t psi_some_us;
	uint64_t steal_ticks;
};
void host_sample_take(const char *root, const uint8_t mask[CPU_LIST_MAX / 8],
                      struct host_sample *s);

/* {"kernel":..,"machine":..,"cpu_model":..,"online_cpus":..,"clock_ticks":..,
 *  "fingerprint":..} */
json_t *host_facts_json(const char *root);

/* The identity of a host for comparing results across time: "sha256:…"
 * over hostname, cpu_model, machine and online_cpus of a host_facts_json
 * object (each NUL-terminated; a missing member hashes as "").  The kernel
 * is left out on purpose: a reboot into a patched kernel is the same
 * machine, and the result records the kernel anyway. */
void host_fingerprint(const json_t *facts, char out[DIGEST_STR_MAX]);

#endif
