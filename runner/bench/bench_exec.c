/* bench_exec.c - see bench_exec.h */
#define _GNU_SOURCE
#include "bench/bench_exec.h"
#include "bench/bench_reported.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/archive.h"
#include "bench/bench_host.h"
#include "bench/bench_plan.h"
#include "bench/cachegrind.h"
#include "bench/callgrind.h"
#include "bench/valgrind_out.h"
#include "host/cpus.h"
#include "artifacts/digest.h"
#include "sandbox/environment.h"
#include "sandbox/limit_warnings.h"
#include "sandbox/mount_plan.h"
#include "sandbox/sandbox.h"
#include "base/shellwords.h"
#include "base/strv.h"

#define ARTIFACT_DIR_INSIDE "/artifact"
#define PAD_VAR "PGO_BENCH_PAD="
#define FAILURE_TAIL_BYTES 4096

struct arm_prep {
	char **argv;
	/* --cachegrind: the command itself, run after the simulated one so
	 * that the clock (wall, CPU, the metrics it reports) is the native
	 * binary's and the model/clock alarm compares like with like */
	char **native_argv;
	struct strv env; /* the base --setenv, the cell's knobs, the pad last */
	size_t knob_bytes;
};

/* ---- the base spec ---------------------------------------------------------- */

static char **run_argv(const struct bench_exec *x, const struct bench_exec_options *o, size_t *argc)
{
	struct strv v = {0};

	strv_push(&v, "run");
	if (x->workdir) {
		strv_push(&v, "--ro-bind");
		strv_push(&v, x->workdir);
		strv_push(&v, x->workdir);
		strv_push(&v, "--chdir");
		strv_push(&v, x->workdir);
	}
	if (x->callgrind_dir) {
		strv_push(&v, "--bind");
		strv_push(&v, x->callgrind_dir);
		strv_push(&v, CALLGRIND_DIR_INSIDE);
	}
	if (x->report_dir) {
		strv_push(&v, "--bind");
		strv_push(&v, x->report_dir);
		strv_push(&v, BENCH_REPORT_DIR_INSIDE);
		strv_push(&v, "--setenv");
		strv_push(&v, "PGO_REPORT_DIR=" BENCH_REPORT_DIR_INSIDE);
		strv_push(&v, "--setenv");
		strv_push(&v, "CRITERION_HOME=" BENCH_REPORT_DIR_INSIDE "/criterion");
	}
	for (size_t i = 0; i < o->n_sandbox_args; i++)
		strv_push(&v, o->sandbox_args[i]);
	strv_push(&v, "--");
	strv_push(&v, "true");
	*argc = v.n;
	return strv_steal(&v);
}

static int choose_cpus(struct bench_exec *x, const struct bench_exec_options *o, struct error *err)
{
	const char *root = x->base.sysfs_root;

	memset(x->base.cpus, 0, sizeof(x->base.cpus));
	if (o->cpus) {
		if (parse_cpu_list(o->cpus, x->base.cpus, err) < 0)
			return error_prefix(err, "--cpus");
		if (host_check_cpus_online("--cpus", x->base.cpus, err) < 0)
			return -1;
		if (o->cpus_asked)
			x->base.warn_limits |= SPEC_WARN_CPUS;
		if (!o->allow_smt && host_check_smt(root, x->base.cpus, err) < 0)
			return -1;
		x->cpu_choice = xstrdup("--cpus");
	} else {
		unsigned cpu;
		double busy;

		/* A fixed choice (the last CPU) is what a dedicated machine
		 * wants; on a shared one the busy CPU is often that one. */
		if (host_quietest_cpu(root, BENCH_CPU_SAMPLE_MS, &cpu, &busy, err) < 0)
			return error_prefix(err, "choosing the bench CPU");
		x->base.cpus[cpu / 8] |= (uint8_t)(1u << (cpu % 8));
		x->cpu_choice = busy >= 0 ? xasprintf("the least busy online CPU over %d ms "
		                                      "(%.0f %% busy)",
		                                      BENCH_CPU_SAMPLE_MS, busy)
		                          : xstrdup("the last online CPU (/proc/stat unreadable)");
	}
	x->base.cpus_set = true;
	x->cpus_text = format_cpu_list(x->base.cpus);
	return 0;
}

/* Turbo off and the performance governor for the whole session; a host
 * without the interfaces records them as unavailable, a refusal as a
 * warning: the bench still runs, and the record says so. */
static void tune_host(struct bench_exec *x, const struct bench_exec_options *o)
{
	struct error err = {0};

	if (o->no_host_tuning) {
		report_control(&x->tune_report, "host.tuning", CONTROL_UNAVAILABLE,
		               "--no-host-tuning");
		return;
	}
	x->base.no_turbo = true;
	x->base.governor = xstrdup("performance");
	if (hosttune_apply(&x->base, &x->ht, &x->tune_report, &err) < 0) {
		fprintf(stderr, "pgo-sandbox: warning: host tuning: %s\n", err.msg);
		report_control(&x->tune_report, "host.tuning", CONTROL_DEGRADED, "%s", err.msg);
	}
	x->base.no_turbo = false;
	free(x->base.governor);
	x->base.governor = NULL;
}

static int make_callgrind_dir(struct bench_exec *x, struct error *err)
{
	char tmpl[] = "/var/tmp/pgo-bench-callgrind.XXXXXX";

	if (mkdtemp(tmpl) == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "creating %s", tmpl);
	x->callgrind_dir = xstrdup(tmpl);
	return 0;
}

/* The command runs as the sandbox uid; its output directory must be its. */
static int give_dir(const struct bench_exec *x, const char *dir, struct error *err)
{
	if (getuid() == 0 && chown(dir, x->base.uid, x->base.gid) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "chown %s", dir);
	return 0;
}

static int make_report_dir(struct bench_exec *x, struct error *err)
{
	char tmpl[] = "/var/tmp/pgo-bench-report.XXXXXX";

	if (mkdtemp(tmpl) == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "creating %s", tmpl);
	x->report_dir = xstrdup(tmpl);
	return 0;
}

static int open_fds(struct bench_exec *x, struct error *err)
{
	x->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (x->devnull < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "open /dev/null");
	x->errcap = memfd_create("pgo-bench-stderr", MFD_CLOEXEC);
	if (x->errcap < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "memfd_create");
	if (x->capture_stdout) {
		x->outcap = memfd_create("pgo-bench-stdout", MFD_CLOEXEC);
		if (x->outcap < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno, "memfd_create");
	}
	for (int i = 0; i < 3; i++) {
		x->saved_fd[i] = fcntl(i, F_DUPFD_CLOEXEC, 3);
		if (x->saved_fd[i] < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno, "saving descriptor %d", i);
	}
	return 0;
}

/* ---- artifacts and digests ------------------------------------------------- */

static int prepare_artifact(struct bench_exec *x, struct bench_variant *v, size_t i,
                            struct error *err)
{
	struct extract_limits limits;
	struct stat st;
	char tmpl[] = "/var/tmp/pgo-bench-artifact.XXXXXX";

	if (stat(v->artifact, &st) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "artifact %s", v->artifact);
	if (S_ISDIR(st.st_mode)) {
		x->artifact_dirs[i] = xstrdup(v->artifact);
		return 0;
	}
	if (digest_file_sha256(v->artifact, v->digest, err) < 0)
		return -1;
	/* Two variants of one tarball share nothing: each gets its copy. */
	if (mkdtemp(tmpl) == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "creating %s", tmpl);
	x->artifact_dirs[i] = xstrdup(tmpl);
	x->artifact_owned[i] = true;
	extract_limits_default(&limits);
	if (archive_extract_safe(v->artifact, tmpl, &limits, err) < 0)
		return error_prefix(err, "artifact %s", v->artifact);
	if (chmod(tmpl, 0755) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "chmod %s", tmpl);
	return 0;
}

/* The host file the sandbox will execute (same /usr, same working
 * directory), for the record; unknown when it cannot be found. */
static void executable_digest(const struct bench_exec *x, const char *arg0, char *digest)
{
	struct error ignored = {0};
	char *path = NULL;

	if (strchr(arg0, '/')) {
		path = arg0[0] == '/' || x->workdir == NULL ? xstrdup(arg0)
		                                            : xasprintf("%s/%s", x->workdir, arg0);
	} else {
		char *dirs = xstrdup(SANDBOX_PATH), *save = NULL;

		for (char *d = strtok_r(dirs, ":", &save); d && !path;
		     d = strtok_r(NULL, ":", &save)) {
			char *cand = xasprintf("%s/%s", d, arg0);

			if (access(cand, X_OK) == 0)
				path = cand;
			else
				free(cand);
		}
		free(dirs);
	}
	if (path == NULL || digest_file_sha256(path, digest, &ignored) < 0)
		digest[0] = '\0';
	free(path);
}

static int prepare_variants(struct bench_exec *x, struct bench_session *s, struct error *err)
{
	x->artifact_dirs = xcalloc(s->n_variants, sizeof(char *));
	x->artifact_owned = xcalloc(s->n_variants, sizeof(bool));
	x->mounts = xcalloc(s->n_variants, sizeof(struct mount_spec *));
	x->n_mounts = xcalloc(s->n_variants, sizeof(size_t));
	x->n_variants = s->n_variants;
	for (size_t i = 0; i < s->n_variants; i++) {
		struct bench_variant *v = &s->variants[i];
		size_t n = x->base.n_mounts;

		if (v->artifact && prepare_artifact(x, v, i, err) < 0)
			return -1;
		x->mounts[i] = xcalloc(n + 1, sizeof(struct mount_spec));
		if (n > 0) /* --no-workdir and nothing bound: base.mounts is NULL */
			memcpy(x->mounts[i], x->base.mounts, n * sizeof(struct mount_spec));
		if (x->artifact_dirs[i]) {
			x->mounts[i][n] = (struct mount_spec){.kind = MOUNT_BIND_RO,
			                                      .src = x->artifact_dirs[i],
			                                      .dst = ARTIFACT_DIR_INSIDE};
			n++;
		}
		x->n_mounts[i] = n;
		if (v->artifact == NULL) {
			char **argv = bench_substitute(v->argv, s->benchmarks[0].value, NULL);

			executable_digest(x, argv[0], v->digest);
			strv_free_array(argv);
		}
	}
	return 0;
}

/* ---- per-arm argv and environment ------------------------------------------- */

static void prepare_arm(struct bench_exec *x, const struct bench_session *s, size_t b, size_t v,
                        size_t c, struct arm_prep *p)
{
	const struct bench_variant *var = &s->variants[v];
	char **argv = bench_substitute(var->argv, s->benchmarks[b].value,
	                               var->artifact ? ARTIFACT_DIR_INSIDE : NULL);

	if (x->callgrind) {
		p->argv = callgrind_wrap(argv, CALLGRIND_DIR_INSIDE);
		strv_free_array(argv);
	} else if (x->cachegrind) {
		p->argv = cachegrind_wrap(argv, CALLGRIND_DIR_INSIDE);
		p->native_argv = argv;
	} else {
		p->argv = argv;
	}
	p->env = (struct strv){0};
	for (size_t i = 0; i < x->base.n_set_env; i++)
		strv_push(&p->env, x->base.set_env[i]);
	for (size_t k = 0; k < s->n_knobs; k++)
		strv_pushf(&p->env, "%s=%s", s->knobs[k].key,
		           s->knobs[k].values[bench_cell_level(s, c, k)]);
	/* --preload: the allocator (or any library) of this variant */
	if (var->preload)
		strv_pushf(&p->env, "LD_PRELOAD=%s", var->preload);
	strv_push(&p->env, PAD_VAR);
	p->knob_bytes = plan_knob_env_bytes(s, c);
}

static void prepare_arms(struct bench_exec *x, const struct bench_session *s)
{
	size_t n_cells = bench_n_cells(s);

	x->n_prep = s->n_benchmarks * s->n_variants * n_cells;
	x->prep = xcalloc(x->n_prep, sizeof(*x->prep));
	for (size_t b = 0; b < s->n_benchmarks; b++)
		for (size_t v = 0; v < s->n_variants; v++)
			for (size_t c = 0; c < n_cells; c++)
				prepare_arm(x, s, b, v, c,
				            &x->prep[(b * s->n_variants + v) * n_cells + c]);
	x->max_knob_bytes = plan_max_knob_env_bytes(s);
}

/* ---- init / fini ------------------------------------------------------------ */

int bench_exec_init(struct bench_exec *x, struct bench_session *s,
                    const struct bench_exec_options *o, struct error *err)
{
	size_t argc;
	char cwd[4096];
	int rc;

	memset(x, 0, sizeof(*x));
	x->devnull = x->errcap = x->outcap = -1;
	x->capture_stdout = o->capture_stdout;
	x->saved_fd[0] = x->saved_fd[1] = x->saved_fd[2] = -1;
	spec_init(&x->base);
	x->show_output = o->show_output;
	x->counters = s->set.counters;
	x->callgrind = s->set.callgrind;
	x->cachegrind = s->set.cachegrind;
	x->user_hz = (uint64_t)sysconf(_SC_CLK_TCK);
	x->nice = o->nice;
	if (!o->no_workdir && getcwd(cwd, sizeof(cwd)) && strcmp(cwd, "/") != 0)
		x->workdir = xstrdup(cwd);
	/* Bound read-only over the sandbox's own /tmp (or /run, /dev…), the
	 * command would lose its writable scratch space and see the host's. */
	if (x->workdir && mount_plan_path_is_fresh_dir(x->workdir))
		return error_set(
		    err, EXIT_RUNNER_ERROR, 0,
		    "the working directory %s is one the sandbox makes fresh: binding it "
		    "read-only would hide the sandbox's own; run from another directory "
		    "(a subdirectory of it is fine) or pass --no-workdir",
		    x->workdir);
	if ((x->callgrind || x->cachegrind) && make_callgrind_dir(x, err) < 0)
		return -1;
	if (o->report_dir && make_report_dir(x, err) < 0)
		return -1;
	x->base_argv = run_argv(x, o, &argc);
	if (o->parse_sandbox == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "bench sandbox options: no parser was given");
	rc = o->parse_sandbox((int)argc, x->base_argv, &x->base, err);
	if (rc != 0)
		return rc < 0 ? error_prefix(err, "bench sandbox options") : -1;
	x->base.argv = NULL;
	x->base.no_aslr = !s->set.randomize_layout;
	/* The bench tunes the host itself (tune_host), once for the session. */
	x->base.warn_limits &= ~SPEC_WARN_TURBO;
	if (((x->callgrind || x->cachegrind) && give_dir(x, x->callgrind_dir, err) < 0) ||
	    (x->report_dir && give_dir(x, x->report_dir, err) < 0) || choose_cpus(x, o, err) < 0 ||
	    open_fds(x, err) < 0)
		return -1;
	x->report = report_create();
	if (x->report == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, ENOMEM, "allocating the run report");
	counters_probe(&x->probe);
	if (prepare_variants(x, s, err) < 0)
		return -1;
	prepare_arms(x, s);
	tune_host(x, o);
	return 0;
}

void bench_exec_fini(struct bench_exec *x)
{
	struct error err = {0};

	if (hosttune_restore(&x->ht, &err) < 0)
		fprintf(stderr, "pgo-sandbox: warning: restoring host settings: %s\n", err.msg);
	for (size_t i = 0; i < x->n_prep; i++) {
		strv_free_array(x->prep[i].argv);
		strv_free_array(x->prep[i].native_argv);
		strv_free(&x->prep[i].env);
	}
	free(x->prep);
	for (size_t i = 0; i < x->n_variants; i++) {
		if (x->artifact_owned[i] && remove_tree(x->artifact_dirs[i], &err) < 0)
			fprintf(stderr, "pgo-sandbox: warning: %s\n", err.msg);
		free(x->artifact_dirs[i]);
		free(x->mounts[i]);
	}
	free(x->artifact_dirs);
	free(x->artifact_owned);
	free(x->mounts);
	free(x->n_mounts);
	if (x->callgrind_dir && remove_tree(x->callgrind_dir, &err) < 0)
		fprintf(stderr, "pgo-sandbox: warning: %s\n", err.msg);
	free(x->callgrind_dir);
	if (x->report_dir && remove_tree(x->report_dir, &err) < 0)
		fprintf(stderr, "pgo-sandbox: warning: %s\n", err.msg);
	free(x->report_dir);
	if (x->outcap >= 0)
		close(x->outcap);
	for (int i = 0; i < 3; i++)
		if (x->saved_fd[i] >= 0)
			close(x->saved_fd[i]);
	if (x->devnull >= 0)
		close(x->devnull);
	if (x->errcap >= 0)
		close(x->errcap);
	if (x->report)
		report_destroy(x->report);
	x->base.argv = NULL;
	spec_free(&x->base);
	strv_free_array(x->base_argv);
	free(x->cpus_text);
	free(x->cpu_choice);
	free(x->workdir);
	memset(x, 0, sizeof(*x));
}

/* ---- one run ---------------------------------------------------------------- */

struct spawn_ctx {
	struct bench_exec *x;
	struct counter_set *cs;
	uint32_t want;
};

/* Runs between clone and release of the sandbox (sandbox_spec.on_spawn):
 * what is set on the setup process here is inherited by the command. */
static int on_spawn(pid_t pid, void *arg, struct error *err)
{
	struct spawn_ctx *c = arg;

	if (c->x->nice != 0 && c->x->nice_errno == 0 &&
	    setpriority(PRIO_PROCESS, (id_t)pid, c->x->nice) < 0)
		c->x->nice_errno = errno; /* recorded, not fatal */
	if (!c->x->probe.hardware && !c->x->probe.software)
		return 0;
	return counters_open(c->cs, &c->x->probe, c->want, pid, err);
}

static void set_pad(struct bench_exec *x, struct arm_prep *p, unsigned pad)
{
	size_t len = pad + (x->max_knob_bytes - p->knob_bytes);
	char *kv = xcalloc(strlen(PAD_VAR) + len + 1, 1);

	memcpy(kv, PAD_VAR, strlen(PAD_VAR));
	memset(kv + strlen(PAD_VAR), 'x', len);
	free(p->env.v[p->env.n - 1]);
	p->env.v[p->env.n - 1] = kv;
}

/* The sandbox inherits the runner's 0, 1 and 2: point them at /dev/null
 * and the capture for the run, and back afterwards. */
static int redirect(struct bench_exec *x, struct error *err)
{
	if (x->show_output)
		return 0;
	if (ftruncate(x->errcap, 0) < 0 || lseek(x->errcap, 0, SEEK_SET) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "resetting the stderr capture");
	if (x->outcap >= 0 && (ftruncate(x->outcap, 0) < 0 || lseek(x->outcap, 0, SEEK_SET) < 0))
		return error_set(err, EXIT_RUNNER_ERROR, errno, "resetting the stdout capture");
	if (dup2(x->devnull, 0) < 0 || dup2(x->outcap >= 0 ? x->outcap : x->devnull, 1) < 0 ||
	    dup2(x->errcap, 2) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "redirecting the command's output");
	return 0;
}

static int restore(struct bench_exec *x, struct error *err)
{
	if (x->show_output)
		return 0;
	for (int i = 0; i < 3; i++)
		if (dup2(x->saved_fd[i], i) < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno,
			                 "restoring descriptor %d after a run", i);
	return 0;
}

#define CALLGRIND_OUT_MAX (256u << 20)

/* The run's counts: the sum over the processes valgrind followed. */
static int read_cachegrind(struct bench_exec *x, struct bench_run *run, struct error *err)
{
	memset(&run->sim, 0, sizeof(run->sim));
	if (valgrind_out_each(x->callgrind_dir, CACHEGRIND_OUT_NAME, CALLGRIND_OUT_MAX,
	                      cachegrind_add, &run->sim, err) < 0)
		return error_prefix(err, "--cachegrind");
	run->has_sim = true;
	return 0;
}

static int read_callgrind(struct bench_exec *x, struct bench_run *run, struct error *err)
{
	run->ir = 0;
	if (valgrind_out_each(x->callgrind_dir, CALLGRIND_OUT_NAME, CALLGRIND_OUT_MAX,
	                      callgrind_add_ir, &run->ir, err) < 0)
		return error_prefix(err, "--callgrind");
	run->has_ir = true;
	return 0;
}

static void cpu_time(struct bench_run *run, const struct counter_values *cv, json_t *cg)
{
	json_t *usage = cg ? json_object_get(cg, "usage_usec") : NULL;

	if (cv->valid & (1u << CTR_TASK_CLOCK)) {
		run->cpu_s = (double)cv->value[CTR_TASK_CLOCK] / 1e9;
		run->cpu_source = CPU_TASK_CLOCK;
	} else if (json_is_integer(usage)) {
		run->cpu_s = (double)json_integer_value(usage) / 1e6;
		run->cpu_source = CPU_CGROUP;
	} else {
		run->cpu_s = run->user_s + run->system_s;
		run->cpu_source = CPU_RUSAGE;
	}
}

/* Metric rss: the run cgroup's memory.peak (bytes) where the memory
 * controller gave one, else wait4's ru_maxrss. */
static void peak_memory(struct bench_run *run, json_t *cg)
{
	json_t *peak = cg ? json_object_get(cg, "memory_peak") : NULL;

	if (json_is_integer(peak) && json_integer_value(peak) > 0) {
		run->rss_kib = (uint64_t)json_integer_value(peak) / 1024;
		run->rss_source = RSS_MEMORY_PEAK;
	} else {
		run->rss_kib = run->peak_rss_kib;
		run->rss_source = RSS_WAIT4;
	}
}

static void window(const struct bench_exec *x, const struct host_sample *a,
                   const struct host_sample *b, struct bench_run *run)
{
	run->has_psi = a->has_psi && b->has_psi;
	run->psi_some_us = run->has_psi ? (double)(b->psi_some_us - a->psi_some_us) : 0;
	run->has_steal = a->has_steal && b->has_steal && x->user_hz > 0;
	run->steal_s =
	    run->has_steal ? (double)(b->steal_ticks - a->steal_ticks) / (double)x->user_hz : 0;
}

/* What a run changes in the shared base spec, to put back afterwards. */
struct spec_saved {
	char **set_env;
	size_t n_set_env;
	struct mount_spec *mounts;
	size_t n_mounts;
};

/* Point the base spec at one arm's argv, environment and mounts. */
static void spec_use_arm(struct bench_exec *x, const struct arm_prep *p, char **argv,
                         size_t variant, struct spawn_ctx *ctx, struct spec_saved *saved)
{
	struct sandbox_spec *spec = &x->base;

	saved->set_env = spec->set_env;
	saved->n_set_env = spec->n_set_env;
	saved->mounts = spec->mounts;
	saved->n_mounts = spec->n_mounts;
	spec->argv = argv;
	spec->set_env = p->env.v;
	spec->n_set_env = p->env.n;
	spec->mounts = x->mounts[variant];
	spec->n_mounts = x->n_mounts[variant];
	spec->on_spawn = on_spawn;
	spec->on_spawn_arg = ctx;
}

static void spec_restore(struct sandbox_spec *spec, const struct spec_saved *saved)
{
	spec->argv = NULL;
	spec->set_env = saved->set_env;
	spec->n_set_env = saved->n_set_env;
	spec->mounts = saved->mounts;
	spec->n_mounts = saved->n_mounts;
	spec->on_spawn = NULL;
	spec->on_spawn_arg = NULL;
}

/* The run's figures from the report, the counters, the cgroup and the
 * host samples around it. */
static void collect_run(struct bench_exec *x, struct bench_run *run, struct counter_set *cs,
                        json_t *cg, const struct host_sample *before,
                        const struct host_sample *after)
{
	counters_read(cs, &run->counters);
	run->wall_s = x->report->wall_s;
	run->user_s = x->report->user_s;
	run->system_s = x->report->system_s;
	run->peak_rss_kib = x->report->peak_rss_kib;
	peak_memory(run, cg);
	cpu_time(run, &run->counters, cg);
	if (!x->counters)
		run->counters.valid = 0; /* task-clock only fed cpu_s */
	window(x, before, after, run);
	if (!x->have_first && x->report->command_started) {
		x->first = *x->report;
		x->have_first = true;
	}
}

/* One execution of `argv` (the arm's command, or it under valgrind) in a
 * fresh sandbox, its figures into `run`; *sandbox_ns is the time spent in
 * the sandbox, which is not the harness's. */
static int exec_once(struct bench_exec *x, struct arm_prep *p, char **argv, struct bench_run *run,
                     uint64_t *sandbox_ns, struct error *err)
{
	struct counter_set cs;
	struct spawn_ctx ctx = {.x = x, .cs = &cs};
	struct host_sample before, after;
	struct spec_saved saved;
	json_t *cg = NULL;
	uint64_t t1, t2;
	unsigned warn;
	int rc = 0;

	counter_set_init(&cs);
	ctx.want = x->counters ? COUNTERS_ALL : 1u << CTR_TASK_CLOCK;
	set_pad(x, p, run->pad);
	spec_use_arm(x, p, argv, run->variant, &ctx, &saved);
	/* Every run starts with empty output directories: a stale file of
	 * the previous run must never pass for this one's report or counts. */
	if ((argv == p->argv && x->callgrind_dir &&
	     remove_dir_contents(x->callgrind_dir, err) < 0) ||
	    (x->report_dir && remove_dir_contents(x->report_dir, err) < 0)) {
		spec_restore(&x->base, &saved);
		counters_close(&cs);
		return -1;
	}
	memset(x->report, 0, sizeof(*x->report));
	host_sample_take("/", x->base.cpus, &before);
	if (redirect(x, err) < 0) {
		restore(x, err);
		spec_restore(&x->base, &saved);
		counters_close(&cs);
		return -1;
	}
	/* The runner's stderr is the capture during the run: the warnings
	 * about requested limits are printed after it, here. */
	warn = x->base.warn_limits;
	x->base.warn_limits = 0;
	t1 = monotonic_ns();
	run->exit_code = sandbox_run(&x->base, x->report, &cg);
	t2 = monotonic_ns();
	*sandbox_ns += t2 - t1;
	if (restore(x, err) < 0)
		rc = -1;
	x->base.warn_limits = warn;
	limit_warnings_print(&x->base, x->report, stderr);
	host_sample_take("/", x->base.cpus, &after);
	spec_restore(&x->base, &saved);
	/* The first run said which requested limits this host degrades; the
	 * next hundreds would only repeat it. */
	x->base.warn_limits = 0;
	collect_run(x, run, &cs, cg, &before, &after);
	counters_close(&cs);
	json_decref(cg);
	return rc;
}

int bench_exec_run(struct bench_exec *x, const struct bench_session *s, struct bench_run *run,
                   struct error *err)
{
	size_t n_cells = bench_n_cells(s);
	struct arm_prep *p =
	    &x->prep[(run->bench * s->n_variants + run->variant) * n_cells + run->cell];
	uint64_t t0 = monotonic_ns(), in_sandbox = 0;
	int rc = exec_once(x, p, p->argv, run, &in_sandbox, err);

	if (rc == 0 && x->callgrind && run->exit_code == 0)
		rc = read_callgrind(x, run, err);
	if (rc == 0 && x->cachegrind && run->exit_code == 0)
		rc = read_cachegrind(x, run, err);
	/* --cachegrind: the model first, then the clock; the capture (the
	 * metrics the command reports) is the native run's too */
	if (rc == 0 && p->native_argv && run->exit_code == 0) {
		struct sim_counters sim = run->sim;

		rc = exec_once(x, p, p->native_argv, run, &in_sandbox, err);
		run->sim = sim;
	}
	run->harness_us = (double)((monotonic_ns() - t0) - in_sandbox) / 1e3;
	return rc;
}

int bench_exec_output(const struct bench_exec *x, char **text, size_t *len, struct error *err)
{
	off_t size = x->outcap >= 0 ? lseek(x->outcap, 0, SEEK_END) : 0;
	size_t done = 0;

	*text = NULL;
	*len = 0;
	if (size < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "reading the stdout capture");
	if ((uint64_t)size > REPORTED_OUTPUT_MAX)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "the command wrote %lld bytes to stdout, more than a report "
		                 "(%u bytes)",
		                 (long long)size, REPORTED_OUTPUT_MAX);
	*text = xcalloc((size_t)size + 1, 1);
	while (done < (size_t)size) {
		ssize_t n = pread(x->outcap, *text + done, (size_t)size - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(*text);
			*text = NULL;
			return error_set(err, EXIT_RUNNER_ERROR, n < 0 ? errno : 0,
			                 "reading the stdout capture");
		}
		done += (size_t)n;
	}
	*len = done;
	return 0;
}

void bench_exec_show_failure(const struct bench_exec *x, const struct bench_session *s,
                             const struct bench_run *run)
{
	char buf[FAILURE_TAIL_BYTES + 1];
	off_t size = lseek(x->errcap, 0, SEEK_END);
	off_t from = size > FAILURE_TAIL_BYTES ? size - FAILURE_TAIL_BYTES : 0;
	ssize_t n = size > 0 ? pread(x->errcap, buf, (size_t)(size - from), from) : 0;

	fprintf(stderr, "pgo-sandbox: bench: %s of benchmark %s exited with %d%s\n",
	        s->variants[run->variant].name, s->benchmarks[run->bench].name, run->exit_code,
	        x->show_output ? "" : "; its stderr ends with:");
	if (n > 0) {
		buf[n] = '\0';
		fputs(buf, stderr);
		if (buf[n - 1] != '\n')
			fputc('\n', stderr);
	}
}

/* ---- the record ------------------------------------------------------------- */

static json_t *controls_json(const struct run_report *r)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < r->n_controls; i++)
		json_array_append_new(a,
		                      json_pack("{s:s, s:s, s:s}", "name", r->controls[i].name,
		                                "state", control_state_name(r->controls[i].state),
		                                "detail", r->controls[i].detail));
	return a;
}

static json_t *environment_json(const struct bench_exec *x)
{
	char *empty[] = {NULL};
	char **env = environment_build(&x->base, empty);
	json_t *a = json_array();

	for (size_t i = 0; env[i]; i++)
		json_array_append_new(a, json_string(env[i]));
	environment_free(env);
	return a;
}

json_t *bench_exec_conditions(const struct bench_exec *x, const struct bench_session *s)
{
	json_t *o = json_object();
	char *idle = host_idle_siblings(x->base.sysfs_root, x->base.cpus);
	json_object_set_new(o, "cpus", json_string(x->cpus_text));
	json_object_set_new(o, "cpu_choice", json_string(x->cpu_choice));
	json_object_set_new(o, "nice", x->nice_errno ? json_integer(0) : json_integer(x->nice));
	if (x->nice_errno)
		json_object_set_new(
		    o, "nice_refused",
		    json_sprintf("setpriority(%d): %s", x->nice, strerror(x->nice_errno)));
	json_object_set_new(o, "smt_siblings_left_idle", json_string(idle));
	json_object_set_new(o, "aslr", json_string(s->set.randomize_layout ? "on" : "off"));
	json_object_set_new(o, "layout",
	                    json_string(s->set.randomize_layout
	                                    ? "randomized: env pad 0-4095 per block"
	                                    : "fixed"));
	json_object_set_new(o, "environment", environment_json(x));
	json_object_set_new(
	    o, "environment_note",
	    json_string("plus the cell's knobs and PGO_BENCH_PAD (see runs[].pad)"));
	json_object_set_new(o, "workdir", x->workdir ? json_string(x->workdir) : json_null());
	json_object_set_new(o, "sandbox_controls",
	                    x->have_first ? controls_json(&x->first) : json_array());
	json_object_set_new(o, "host_tuning", controls_json(&x->tune_report));
	json_object_set_new(o, "counters", json_string(x->probe.status));
	json_object_set_new(o, "counters_requested", json_boolean(x->counters));
	json_object_set_new(o, "host", host_facts_json("/"));
	free(idle);
	return o;
}
