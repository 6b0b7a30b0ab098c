/* bench_exec.h - one measured run: a fresh sandbox per run (sandbox_run)
 * under the bench profile, with what the statistics need recorded around
 * it.
 *
 * The bench profile: the sandbox options given to bench, the chosen CPUs
 * (one by default, never two SMT siblings of a core unless allowed), ASLR
 * off unless --randomize-layout, the sandbox's fixed environment plus the
 * cell's knobs plus PGO_BENCH_PAD (keeping the environment's size the same
 * for every arm), stdin/stdout on /dev/null and stderr captured (shown
 * when the run fails), the current directory bound read-only at the same
 * path and used as working directory (unless --no-workdir), nice -20 (CFS
 * gives the command ~98 % of a CPU shared with a nice-0 neighbour; root
 * only, recorded when refused).  Turbo off and
 * the performance governor are applied once for the session, not per run,
 * so runs do not pay for frequency transitions. */
#ifndef PGO_BENCH_EXEC_H
#define PGO_BENCH_EXEC_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "bench/bench_model.h"
#include "bench/counters.h"
#include "host/hosttune.h"
#include "base/report.h"
#include "base/spec.h"

struct bench_exec_options {
	char **sandbox_args; /* `run` options */
	size_t n_sandbox_args;
	const char *cpus; /* NULL: the default CPU */
	bool cpus_asked;  /* the user gave --cpus (not a --rerun's recorded CPUs) */
	bool allow_smt;
	bool show_output;
	bool no_workdir;
	bool no_host_tuning;
	int nice;            /* of the command, -20..19; 0 leaves it */
	bool capture_stdout; /* a metric source reads it (bench_reported.h) */
	bool report_dir;     /* a fresh /pgo-report for every run */
	/* the `run` parser (bench_hooks.parse_sandbox); NULL refuses */
	int (*parse_sandbox)(int n, char **words, struct sandbox_spec *spec, struct error *err);
};

#define BENCH_DEFAULT_NICE (-20)
#define BENCH_CPU_SAMPLE_MS 200

struct arm_prep;

struct bench_exec {
	struct sandbox_spec base;
	char **base_argv; /* the parsed `run` words, kept alive for base */
	struct run_report *report;
	struct run_report first; /* controls of the first run, for the record */
	bool have_first;
	struct run_report tune_report;
	struct hosttune ht;
	char *cpus_text;
	int devnull, errcap, outcap; /* outcap: -1 unless capture_stdout */
	bool capture_stdout;
	char *report_dir; /* host side of BENCH_REPORT_DIR_INSIDE, or NULL */
	int saved_fd[3];
	bool show_output;
	char *workdir;
	char *callgrind_dir; /* host side of CALLGRIND_DIR_INSIDE */
	size_t n_variants;
	char **artifact_dirs; /* per variant: bound at /artifact, or NULL */
	bool *artifact_owned;
	struct mount_spec **mounts; /* per variant: base mounts (+ artifact) */
	size_t *n_mounts;
	struct arm_prep *prep; /* per benchmark x variant x cell */
	size_t n_prep;
	size_t max_knob_bytes;
	struct counter_probe probe;
	bool counters, callgrind, cachegrind; /* cachegrind shares callgrind_dir */
	uint64_t user_hz;
	int nice;
	int nice_errno;   /* why setpriority failed, 0 when it did not */
	char *cpu_choice; /* how the CPUs were chosen, for the record */
};

/* Prepare everything that does not change from run to run (and the
 * session-wide host tuning).  Fills variant digests in s. */
int bench_exec_init(struct bench_exec *x, struct bench_session *s,
                    const struct bench_exec_options *opts, struct error *err);

/* Run run->bench/variant/cell with run->pad; fills the measurements.
 * 0 when the run happened (its exit code in run->exit_code), -1 + err on a
 * runner failure. */
int bench_exec_run(struct bench_exec *x, const struct bench_session *s, struct bench_run *run,
                   struct error *err);

/* The last run's stdout, when captured (empty otherwise).  Caller frees. */
int bench_exec_output(const struct bench_exec *x, char **text, size_t *len, struct error *err);

/* After a failed run: its stderr (last lines) on the runner's stderr. */
void bench_exec_show_failure(const struct bench_exec *x, const struct bench_session *s,
                             const struct bench_run *run);

/* The conditions of the session: CPUs, environment, sandbox controls,
 * host tuning, counters, host facts (the caller adds "sandbox_args"). */
json_t *bench_exec_conditions(const struct bench_exec *x, const struct bench_session *s);

void bench_exec_fini(struct bench_exec *x);

#endif
