/* doctor.h - `pgo-sandbox doctor [--json] [--sysfs-root DIR]`: what this
 * host supports, and for every missing piece what it costs in hermeticity
 * or noise and how to fix it. */
#ifndef PGO_DOCTOR_H
#define PGO_DOCTOR_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

/* Where the facts come from; tests point these at fake trees. */
struct doctor_env {
	const char *proc_root;  /* "/proc" normally */
	const char *sysfs_root; /* "/" normally: <root>/sys/devices/system/cpu */
	const char *mountinfo;  /* mountinfo text; NULL = <proc_root>/self/mountinfo */
	bool probe;             /* also probe this process: userns, seccomp, openat2, perf */
};

/* {"version", "checks": [{name, status: ok|missing|degraded, detail,
 * cost, fix}], "facts": {...}}; cost and fix are null when not applicable. */
json_t *doctor_collect(const struct doctor_env *env);

/* One screen of text; color only when asked (isatty and no NO_COLOR). */
void doctor_print(FILE *out, const json_t *doc, bool color);

#endif
