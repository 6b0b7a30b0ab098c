/* report.h - the run report: what ran, how it ended, and for every control
 * (namespace, mount, seccomp, caps, cgroup, host tuning...) whether it was
 * applied, degraded (applied in a weaker form) or unavailable, and why.
 *
 * The report lives in a MAP_SHARED page created before the sandbox is
 * cloned, so the setup child and the in-sandbox init can record into it
 * without a protocol; the command itself never sees it (execve drops it). */
#ifndef PGO_REPORT_H
#define PGO_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/util.h"

enum control_state {
	CONTROL_APPLIED,
	CONTROL_DEGRADED,
	CONTROL_UNAVAILABLE,
};

#define REPORT_MAX_CONTROLS 64
#define CONTROL_NAME_MAX 48
#define CONTROL_DETAIL_MAX 200

struct control_status {
	char name[CONTROL_NAME_MAX];
	enum control_state state;
	char detail[CONTROL_DETAIL_MAX];
};

struct run_report {
	/* controls */
	unsigned n_controls;
	struct control_status controls[REPORT_MAX_CONTROLS];

	/* setup failure recorded by the child; exit_code 0 when none */
	struct error setup_error;

	/* filled by the in-sandbox init */
	bool command_started;
	uint64_t start_ns; /* CLOCK_MONOTONIC at execve */
	uint64_t end_ns;   /* CLOCK_MONOTONIC when the command was reaped */
	int wait_status;   /* raw waitpid status of the command */

	/* filled by the runner */
	bool timed_out;
	bool oom_killed;
	int exit_code; /* what pgo-sandbox exits with */
	double wall_s;
	double user_s;
	double system_s;
	uint64_t peak_rss_kib;
};

/* Create the shared report (mmap MAP_SHARED|MAP_ANONYMOUS). */
struct run_report *report_create(void);
void report_destroy(struct run_report *r);

/* Record a control.  A later record with the same name replaces it. */
void report_control(struct run_report *r, const char *name, enum control_state state,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

const struct control_status *report_find(const struct run_report *r, const char *name);
const char *control_state_name(enum control_state s);

/* Number of controls that are not CONTROL_APPLIED. */
unsigned report_count_degraded(const struct run_report *r);

#endif
