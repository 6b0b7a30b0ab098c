/* hosttune.h - host tuning for the duration of a run: turbo off and a
 * cpufreq governor on the CPUs the sandbox is pinned to.
 *
 * Every original value is recorded in a state file before it is changed,
 * so a run that dies (SIGKILL) leaves enough behind for the next runner
 * start (or `pgo-sandbox host restore`) to put the host back.  Concurrent
 * runs share the state under a flock: the first one records originals,
 * each one registers itself, the last one to leave restores.
 *
 * All sysfs paths are taken below a root ("/" or NULL for the real one, a
 * fake tree in tests): <root>/sys/devices/system/cpu/... */
#ifndef PGO_HOSTTUNE_H
#define PGO_HOSTTUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/report.h"
#include "base/spec.h"
#include "base/util.h"

/* spec->state_dir (the runner's state directory); ours is <it>/host-state */
#define HOSTTUNE_DEFAULT_STATE_DIR "/run/pgo-sandbox"
#define HOSTTUNE_TOKEN_LEN 32

/* What this run changed; zero-initialise it (or let hosttune_apply fill
 * it) so hosttune_restore is always safe to call, even twice. */
struct hosttune {
	bool active;      /* registered in the state, restore pending */
	char *host_dir;   /* <state_dir>/host-state */
	char *sysfs_root; /* normalised: "" for the real root */
	char token[HOSTTUNE_TOKEN_LEN + 1];
};

/* Apply spec->no_turbo and spec->governor.  Records "host.turbo" and
 * "host.governor" in `r` (may be NULL) when requested: applied, degraded
 * (pinned CPUs not covered by any cpufreq policy) or unavailable (no
 * interface; not an error, strict handling is the caller's).  Errors: a
 * governor not in scaling_available_governors, a governor that conflicts
 * with a concurrent run, state or sysfs I/O failures. */
int hosttune_apply(const struct sandbox_spec *spec, struct hosttune *ht, struct run_report *r,
                   struct error *err);

/* Unregister this run; the last live run writes the originals back.
 * Frees what apply allocated.  No-op when nothing was applied. */
int hosttune_restore(struct hosttune *ht, struct error *err);

/* Drop state entries of runs that are gone; when no live run remains,
 * write the originals back and remove the state.  NULL arguments mean the
 * defaults; state_dir is the same directory as spec->state_dir.  Nothing to do (no state) is
 * success. */
int hosttune_recover(const char *state_dir, const char *sysfs_root, struct error *err);

/* `pgo-sandbox host restore [--force]` (cli/host.c): hosttune_recover,
 * and with force the settings of runs still alive are put back too. */
int hosttune_host_restore(const char *state_dir, const char *sysfs_root, bool force,
                          struct error *err);
/* `pgo-sandbox host status`: the recorded state and each file's value
 * now, on stdout. */
int hosttune_host_status(const char *state_dir, const char *sysfs_root, struct error *err);

/* Shared with doctor: what the sysfs tree offers. */
enum turbo_interface {
	TURBO_NONE,
	TURBO_INTEL_PSTATE,  /* intel_pstate/no_turbo, 1 = off */
	TURBO_CPUFREQ_BOOST, /* cpufreq/boost, 0 = off */
	TURBO_POLICY_BOOST,  /* cpufreq/policyN/boost (amd-pstate), 0 = off */
};

enum turbo_interface hosttune_turbo_interface(const char *sysfs_root);
const char *turbo_interface_name(enum turbo_interface t);

struct cpufreq_policy {
	char *name;                     /* "policy2" */
	char *dir;                      /* full path of the policy directory */
	uint8_t cpus[CPU_LIST_MAX / 8]; /* related_cpus (or affected_cpus) */
};

/* cpufreq policies sorted by number; none (no cpufreq) is success with
 * *n == 0. */
int hosttune_list_policies(const char *sysfs_root, struct cpufreq_policy **out, size_t *n,
                           struct error *err);
void hosttune_free_policies(struct cpufreq_policy *p, size_t n);

/* Read a one-line sysfs value, trailing whitespace removed (caller frees). */
int hosttune_read_value(const char *path, char **out, struct error *err);

#endif
