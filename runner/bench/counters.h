/* counters.h - hardware and software counters of one sandboxed command
 * through perf_event_open.
 *
 * The counters are opened on the sandbox's setup process while it still
 * waits for the runner's go (sandbox_spec.on_spawn), with inherit=1 so
 * they follow it into the command it forks, and enable_on_exec=1 so only
 * what runs after execve counts: the setup work of the sandbox never does.
 * The counts of exited children fold into the opened events, so reading
 * them once the run is over gives the command's totals.
 *
 * Hardware counters come in two groups of four (a group is scheduled on the
 * PMU as a whole, so the ratios inside a group are consistent even under
 * multiplexing): {cycles, instructions, branches, branch-misses} and
 * {cache-references, cache-misses, L1-dcache-load-misses, dTLB-load-misses}.
 * Values are scaled by time_enabled/time_running when multiplexed.
 * Software counters (task-clock, page-faults, context-switches,
 * cpu-migrations) are opened alone; they exist even on hosts without a PMU
 * (virtual machines), which this module reports as "unavailable" for the
 * hardware ones. */
#ifndef PGO_COUNTERS_H
#define PGO_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "base/util.h"

enum counter_id {
	CTR_CYCLES,
	CTR_INSTRUCTIONS,
	CTR_BRANCHES,
	CTR_BRANCH_MISSES,
	CTR_CACHE_REFERENCES,
	CTR_CACHE_MISSES,
	CTR_L1D_LOAD_MISSES,
	CTR_DTLB_LOAD_MISSES,
	CTR_TASK_CLOCK,
	CTR_PAGE_FAULTS,
	CTR_CONTEXT_SWITCHES,
	CTR_CPU_MIGRATIONS,
	CTR_COUNT,
};

#define CTR_FIRST_SOFTWARE CTR_TASK_CLOCK
#define COUNTERS_STATUS_MAX 200

/* perf's names: "instructions", "L1-dcache-load-misses", "task-clock"... */
const char *counter_name(enum counter_id id);
/* -1 for an unknown name. */
int counter_by_name(const char *name);
bool counter_is_hardware(enum counter_id id);

/* One run's counts; bit i of `valid` says value[i] was read. */
struct counter_values {
	uint32_t valid;
	uint64_t value[CTR_COUNT];
	double running; /* smallest time_running/time_enabled seen, 1 = never multiplexed */
};

/* What the host offers, probed once per session on the runner itself. */
struct counter_probe {
	bool hardware;
	bool software;
	char status[COUNTERS_STATUS_MAX]; /* "available" or "unavailable: why" */
};
void counters_probe(struct counter_probe *p);

/* The open counters of one run. */
struct counter_set {
	int fd[CTR_COUNT]; /* -1 when not open */
	int open_errno;    /* first failure, 0 when all opened */
};

void counter_set_init(struct counter_set *cs);
#define COUNTERS_ALL ((1u << CTR_COUNT) - 1)

/* Open the counters of `want` (bits of enum counter_id) that the probe
 * found available on `pid`: disabled until its next execve, inherited by
 * its children.  A counter that cannot be opened is left out
 * (cs->open_errno says why); -1 only for a bad argument. */
int counters_open(struct counter_set *cs, const struct counter_probe *probe, uint32_t want,
                  pid_t pid, struct error *err);
/* Read every open counter; call after the command has exited. */
void counters_read(const struct counter_set *cs, struct counter_values *out);
void counters_close(struct counter_set *cs);

/* {"instructions": N, ...} for the valid values (null when none);
 * counters_from_json reads that back (unknown names are skipped). */
json_t *counters_to_json(const struct counter_values *v);
int counters_from_json(const json_t *obj, struct counter_values *v, struct error *err);

#endif
