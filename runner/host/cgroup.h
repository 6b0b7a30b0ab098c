/* cgroup.h - one cgroup v2 per run: created before the sandbox is cloned
 * (the runner clones straight into it with CLONE_INTO_CGROUP), limited as the
 * spec asks, read for statistics once the command is done, killed and removed
 * at the end.  Every requested limit is recorded in the run report as applied,
 * degraded or unavailable; nothing here refuses to run unless spec->strict.
 *
 * Layout: <cgroup2 mount>/<spec->cgroup_parent or "pgo-sandbox">/<run_id>;
 * cgroup_parent is relative to the mount ("/a/b" and "a/b" alike) or a full
 * path below it ("/sys/fs/cgroup/a/b").
 * run_id must be "<runner pid>-<anything>" (cgroup_make_run_id) so that a
 * later run can recognise and remove cgroups left by a runner that was killed
 * before it could clean up. */
#ifndef PGO_CGROUP_H
#define PGO_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "base/report.h"
#include "base/spec.h"
#include "base/util.h"

#define CGROUP_DEFAULT_PARENT "pgo-sandbox"
#define CGROUP_RUN_ID_MAX 64
#define CGROUP_REASON_MAX 160

/* Controllers, as a bit mask. */
enum cgroup_controller {
	CG_CPUSET = 1u << 0,
	CG_CPU = 1u << 1,
	CG_MEMORY = 1u << 2,
	CG_PIDS = 1u << 3,
	CG_IO = 1u << 4,
	CG_HUGETLB = 1u << 5,
	CG_RDMA = 1u << 6,
	CG_MISC = 1u << 7,
};

/* Every controller with its name, in the order of the enum. */
#define CGROUP_N_CONTROLLERS 8
struct cgroup_controller_name {
	unsigned bit; /* CG_* */
	const char *name;
};
extern const struct cgroup_controller_name cgroup_controllers[CGROUP_N_CONTROLLERS];
/* The index of CG_* `bit` in cgroup_controllers (0 for an unknown bit). */
int cgroup_controller_index(unsigned bit);

struct cgroup_stats {
	bool has_cpu;
	uint64_t usage_usec, user_usec, system_usec;
	bool has_memory_peak;
	uint64_t memory_peak;
	bool has_memory_events;
	uint64_t oom, oom_kill;
	bool has_pids_peak;
	uint64_t pids_peak;
};

struct cgroup_run {
	char *path;           /* absolute path of the run cgroup; NULL when none */
	int dir_fd;           /* O_RDONLY|O_DIRECTORY, for CLONE_INTO_CGROUP; -1 when none */
	unsigned controllers; /* controllers enabled for the run cgroup (CG_*) */
	bool cpuset_applied;  /* false: cgroup_apply_fallbacks pins with affinity */
	char cpuset_reason[CGROUP_REASON_MAX];
};

#define CGROUP_RUN_INIT                                                                            \
	{                                                                                          \
		.path = NULL, .dir_fd = -1                                                         \
	}

/* Find the cgroup2 mount point in /proc/self/mountinfo text (octal escapes
 * decoded).  -1 + err when there is none. */
int cgroup2_find_mount(const char *mountinfo_text, char **mount_point, struct error *err);

/* For `doctor`: the cgroup2 mount point (caller frees) and the controllers
 * its root offers (CG_*). */
int cgroup_probe(char **mount_point, unsigned *controllers, struct error *err);

/* "cpuset cpu io memory pids" -> CG_* mask; unknown names are ignored. */
unsigned cgroup_parse_controllers(const char *text);
/* CG_* mask -> "cpuset memory" into buf (never fails; truncates). */
void cgroup_format_controllers(unsigned mask, char *buf, size_t len);

/* Parsers for cgroup files; missing keys leave the flag false.  -1 only on
 * malformed numbers. */
int cgroup_parse_cpu_stat(const char *text, struct cgroup_stats *st);
int cgroup_parse_memory_events(const char *text, struct cgroup_stats *st);
/* "populated 1\nfrozen 0\n" -> populated; -1 if the key is missing. */
int cgroup_parse_populated(const char *text, bool *populated);

/* A fresh run id "<getpid()>-<16 random hex digits>". */
int cgroup_make_run_id(char *buf, size_t len, struct error *err);
/* The runner pid a run id encodes; -1 if `name` is not a run id. */
int cgroup_run_id_owner(const char *name, pid_t *owner);

/* Remove run cgroups directly below `parent_path` whose owner pid no longer
 * exists: kill their processes, wait until empty, rmdir.  Returns how many
 * were removed, -1 + err if the parent cannot be read. */
int cgroup_clean_stale(const char *parent_path, struct error *err);

/* Create the run cgroup and apply the spec's limits (see the file comment).
 * Returns 0 with cg->dir_fd == -1 when cgroups are unavailable (recorded as
 * "cgroup": unavailable), -1 + err only when spec->strict or on a bad
 * argument. */
int cgroup_setup(const struct sandbox_spec *spec, const char *run_id, struct cgroup_run *cg,
                 struct run_report *r, struct error *err);
/* Same with an explicit cgroup2 root, for tests against a fake tree. */
int cgroup_setup_at(const char *root, const struct sandbox_spec *spec, const char *run_id,
                    struct cgroup_run *cg, struct run_report *r, struct error *err);

/* After the child exists, before it runs anything: pin CPUs with
 * sched_setaffinity when the cpuset controller could not be used. */
int cgroup_apply_fallbacks(const struct sandbox_spec *spec, struct cgroup_run *cg, pid_t child,
                           struct run_report *r, struct error *err);

/* Move a pid into the run cgroup (when clone3 CLONE_INTO_CGROUP was not
 * usable). */
int cgroup_attach(struct cgroup_run *cg, pid_t pid, struct error *err);

/* SIGKILL everything in the run cgroup (cgroup.kill, or pid by pid on kernels
 * without it).  Does not wait.  0 on success or when there is no cgroup. */
int cgroup_kill(struct cgroup_run *cg);

/* cpu.stat, memory.peak, memory.events, pids.peak; absent files leave their
 * has_* flag false.  -1 when there is no cgroup.  Call before destroy. */
int cgroup_read_stats(struct cgroup_run *cg, struct cgroup_stats *st);
/* {"usage_usec":..,"user_usec":..,"system_usec":..,"memory_peak":..,
 *  "oom":..,"oom_kill":..,"pids_peak":..}: only the fields that were read. */
json_t *cgroup_stats_json(const struct cgroup_stats *st);

/* Kill, wait until empty, rmdir (retrying EBUSY, bounded), close, free.
 * Safe on a cgroup_run that was never set up (dir_fd -1, path NULL). */
int cgroup_destroy(struct cgroup_run *cg, struct error *err);

#endif
