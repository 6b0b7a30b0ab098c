/* run_options.c - see run_options.h */
#define _GNU_SOURCE
#include "cli/run_options.h"
#include "base/cleanup.h"
#include "base/strv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "cli/options.h"
#include "sandbox/environment.h"
#include "sandbox/mount_plan.h"
#include "sandbox/privileges.h"

enum {
	OPT_IMAGE = 256,
	OPT_RO_BIND,
	OPT_RO_BIND_IDMAP,
	OPT_BIND,
	OPT_TMPFS,
	OPT_CHDIR,
	OPT_HOSTNAME,
	OPT_UID,
	OPT_GID,
	OPT_USERNS,
	OPT_KEEP_ENV,
	OPT_SETENV,
	OPT_SDE,
	OPT_PASS_FD,
	OPT_TIMEOUT,
	OPT_KILL_GRACE,
	OPT_RLIMIT,
	OPT_TMPFS_SIZE,
	OPT_SECCOMP_LOG,
	OPT_ALLOW_PTRACE,
	OPT_ALLOW_PERF,
	OPT_NO_ASLR,
	OPT_ENTROPY_SEED,
	OPT_CPUS,
	OPT_MEMORY,
	OPT_PIDS,
	OPT_CPU_WEIGHT,
	OPT_CPU_MAX,
	OPT_CGROUP_PARENT,
	OPT_NO_TURBO,
	OPT_GOVERNOR,
	OPT_SYSFS_ROOT,
	OPT_STATE_DIR,
	OPT_STRICT,
	OPT_REPORT,
	OPT_NO_OPENAT2,
	OPT_NO_IDMAP,
	OPT_HELP,
};

static const struct option run_options[] = {
    {"image", required_argument, NULL, OPT_IMAGE},
    {"ro-bind", required_argument, NULL, OPT_RO_BIND},
    {"ro-bind-idmap", required_argument, NULL, OPT_RO_BIND_IDMAP},
    {"bind", required_argument, NULL, OPT_BIND},
    {"tmpfs", required_argument, NULL, OPT_TMPFS},
    {"chdir", required_argument, NULL, OPT_CHDIR},
    {"hostname", required_argument, NULL, OPT_HOSTNAME},
    {"uid", required_argument, NULL, OPT_UID},
    {"gid", required_argument, NULL, OPT_GID},
    {"userns", no_argument, NULL, OPT_USERNS},
    {"keep-env", required_argument, NULL, OPT_KEEP_ENV},
    {"setenv", required_argument, NULL, OPT_SETENV},
    {"source-date-epoch", required_argument, NULL, OPT_SDE},
    {"pass-fd", required_argument, NULL, OPT_PASS_FD},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"kill-grace", required_argument, NULL, OPT_KILL_GRACE},
    {"rlimit", required_argument, NULL, OPT_RLIMIT},
    {"tmpfs-size", required_argument, NULL, OPT_TMPFS_SIZE},
    {"seccomp-log", no_argument, NULL, OPT_SECCOMP_LOG},
    {"allow-ptrace", no_argument, NULL, OPT_ALLOW_PTRACE},
    {"allow-perf", no_argument, NULL, OPT_ALLOW_PERF},
    {"no-aslr", no_argument, NULL, OPT_NO_ASLR},
    {"entropy-seed", required_argument, NULL, OPT_ENTROPY_SEED},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"memory", required_argument, NULL, OPT_MEMORY},
    {"pids", required_argument, NULL, OPT_PIDS},
    {"cpu-weight", required_argument, NULL, OPT_CPU_WEIGHT},
    {"cpu-max", required_argument, NULL, OPT_CPU_MAX},
    {"cgroup-parent", required_argument, NULL, OPT_CGROUP_PARENT},
    {"no-turbo", no_argument, NULL, OPT_NO_TURBO},
    {"governor", required_argument, NULL, OPT_GOVERNOR},
    {"sysfs-root", required_argument, NULL, OPT_SYSFS_ROOT},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"strict", no_argument, NULL, OPT_STRICT},
    {"report", required_argument, NULL, OPT_REPORT},
    {"no-openat2", no_argument, NULL, OPT_NO_OPENAT2},
    {"no-idmap", no_argument, NULL, OPT_NO_IDMAP},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

void cli_run_usage(FILE *out, const char *command)
{
	(void)command;
	fputs("usage: pgo-sandbox run [OPTIONS] -- COMMAND [ARGS...]\n"
	      "\n"
	      "Run COMMAND in a fresh sandbox: new mount, pid, net, uts, ipc and cgroup\n"
	      "namespaces (and a user namespace when not root), a root filesystem with\n"
	      "only the declared inputs, no network, a clean environment, seccomp, no\n"
	      "capabilities, no_new_privs.  Exits with COMMAND's status (128+N when\n"
	      "killed by signal N); see EXIT CODES in pgo-sandbox(1).\n"
	      "\n"
	      "Filesystem:\n"
	      "  --image host|DIR|FILE.tar[.gz|.zst]  root filesystem (default: host)\n"
	      "  --ro-bind SRC DST     bind SRC read-only at DST\n"
	      "  --ro-bind-idmap SRC DST  the same, files of SRC's owner appearing owned by the\n"
	      "                        command's user (idmapped mount): a private (0700) tree\n"
	      "                        the caller can read stays readable inside\n"
	      "  --bind SRC DST        bind SRC read-write at DST\n"
	      "  --tmpfs DST           a fresh tmpfs at DST (bounded by --tmpfs-size)\n"
	      "  --tmpfs-size SIZE     bound of /tmp, /dev/shm and --tmpfs (default 1G)\n"
	      "  --chdir DIR           working directory inside (default /)\n"
	      "Identity and environment:\n"
	      "  --hostname NAME       (default pgo-sandbox)\n"
	      "  --uid N, --gid N      ids inside (default 65534; uid 0 implies --userns)\n"
	      "  --userns              use a user namespace even when root\n"
	      "  --keep-env NAME       pass the caller's NAME through (repeatable)\n"
	      "  --setenv NAME=VALUE   set a variable (repeatable)\n"
	      "  --source-date-epoch N export SOURCE_DATE_EPOCH=N\n"
	      "  --pass-fd FD          keep descriptor FD open in the command\n"
	      "Limits:\n"
	      "  --timeout SECONDS     SIGTERM, --kill-grace SECONDS (default 2), SIGKILL\n"
	      "  --rlimit NAME=SOFT[:HARD]  e.g. nofile=1024, fsize=1G (core is 0 unless set)\n"
	      "  --cpus LIST --memory SIZE --pids N --cpu-weight W --cpu-max QUOTA[/PERIOD]\n"
	      "  --cgroup-parent PATH  cgroup v2 parent (default pgo-sandbox under the root)\n"
	      "Host tuning (restored afterwards, even after a crash):\n"
	      "  --no-turbo            turbo/boost off for the run\n"
	      "  --governor NAME       cpufreq governor of the run's CPUs (e.g. performance)\n"
	      "  --no-aslr             address-space randomisation off (personality)\n"
	      "  --entropy-seed SEED   deterministic entropy: getrandom answers ENOSYS and\n"
	      "                        /dev/urandom, /dev/random read a stream keyed by SEED\n"
	      "                        (reproducible, never for cryptography)\n"
	      "  --state-dir DIR       where the settings to restore are recorded\n"
	      "                        (default /run/pgo-sandbox)\n"
	      "  --sysfs-root DIR      a fake host root for tests: the tuning files are read\n"
	      "                        and written below DIR/sys/... instead of /sys/...\n"
	      "Seccomp:\n"
	      "  --seccomp-log         log instead of refusing denied calls (to learn a workload)\n"
	      "  --allow-ptrace --allow-perf\n"
	      "Reporting:\n"
	      "  --report FILE.json    what ran, how it ended, every control applied or why not\n"
	      "  --strict              any degraded or unavailable control is an error (125)\n"
	      "\n"
	      "Examples:\n"
	      "  pgo-sandbox run -- /bin/true\n"
	      "  pgo-sandbox run --ro-bind \"$PWD\" /src --bind out /out --chdir /out --timeout 60 "
	      "\\\n"
	      "      -- make -C /src O=/out\n"
	      "  pgo-sandbox run --ro-bind \"$PWD\" /work --chdir /work --cpus 1 --memory 1G \\\n"
	      "      --no-aslr --report r.json -- ./bench\n"
	      "  (the sandbox sees only what is bound: not the current directory by itself)\n",
	      out);
}

static int check_sandbox_path(const char *opt, const char *path, struct error *err)
{
	if (path[0] != '/')
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "%s %s: the path inside the sandbox must be absolute", opt, path);
	return 0;
}

static int add_mount(struct sandbox_spec *spec, enum mount_kind kind, const char *src,
                     const char *dst, const char *opt, struct error *err)
{
	_cleanup_free_ char *abs_src = NULL;

	if (check_sandbox_path(opt, dst, err) < 0)
		return -1;
	if (src) {
		abs_src = realpath(src, NULL);
		if (abs_src == NULL)
			return error_set(err, EXIT_RUNNER_ERROR, errno, "%s %s", opt, src);
	}
	mount_spec_add(spec, kind, abs_src, dst, 0);
	return 0;
}

/* Two-argument options: getopt gives the first, the second follows it. */
static int take_second(const struct cli_opt *o, const char *opt, const char **second,
                       struct error *err)
{
	*second = cli_take_value(o);
	if (*second == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s needs SRC and DST", opt);
	return 0;
}

static int parse_rlimit(struct sandbox_spec *spec, const char *text, struct error *err)
{
	_cleanup_free_ char *copy = xstrdup(text);
	char *eq = strchr(copy, '=');
	char *colon;
	struct rlimit_spec *rl;
	int resource;

	if (eq == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "--rlimit %s: expected NAME=SOFT[:HARD]", text);
	*eq = '\0';
	resource = privileges_rlimit_by_name(copy);
	if (resource < 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "--rlimit %s: unknown limit '%s'", text,
		                 copy);
	if (spec->n_rlimits >= SPEC_MAX_RLIMITS)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "--rlimit: at most %d limits",
		                 SPEC_MAX_RLIMITS);
	rl = &spec->rlimits[spec->n_rlimits];
	rl->resource = resource;
	colon = strchr(eq + 1, ':');
	if (colon)
		*colon = '\0';
	if (strcmp(eq + 1, "unlimited") == 0)
		rl->soft = RLIM_INFINITY;
	else if (parse_size(eq + 1, &rl->soft, err) < 0)
		return error_prefix(err, "--rlimit %s", text);
	rl->hard = rl->soft;
	if (colon) {
		if (strcmp(colon + 1, "unlimited") == 0)
			rl->hard = RLIM_INFINITY;
		else if (parse_size(colon + 1, &rl->hard, err) < 0)
			return error_prefix(err, "--rlimit %s", text);
	}
	if (rl->soft > rl->hard)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "--rlimit %s: soft limit above hard",
		                 text);
	spec->n_rlimits++;
	return 0;
}

static int parse_cpu_max(struct sandbox_spec *spec, const char *text, struct error *err)
{
	char *copy = xstrdup(text);
	char *slash = strchr(copy, '/');
	int rc = 0;

	if (slash)
		*slash = '\0';
	if (parse_u64(copy, &spec->cpu_max_quota_us, err) < 0 ||
	    (slash && parse_u64(slash + 1, &spec->cpu_max_period_us, err) < 0))
		rc = error_prefix(err, "--cpu-max %s (QUOTA_US[/PERIOD_US])", text);
	else if (spec->cpu_max_quota_us == 0 || spec->cpu_max_period_us == 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, 0, "--cpu-max %s: must be positive", text);
	free(copy);
	return rc;
}

static void replace(char **slot, const char *value)
{
	free(*slot);
	*slot = xstrdup(value);
}

/* `--image NAME` (no slash, not an existing path) names an image built by
 * `pgo-sandbox image build images/NAME`: $PGO_SANDBOX_IMAGES/NAME.tar.zst,
 * else build/images/NAME.tar.zst below the working directory. */
static char *named_image_path(const char *name)
{
	const char *dir = getenv("PGO_SANDBOX_IMAGES");
	char *path;

	if (strchr(name, '/') != NULL || access(name, F_OK) == 0)
		return NULL;
	path = xasprintf("%s/%s.tar.zst", dir && *dir ? dir : "build/images", name);
	if (access(path, F_OK) == 0)
		return path;
	free(path);
	return NULL;
}

static int set_image(struct sandbox_spec *spec, const char *value, struct error *err)
{
	char *named = NULL;
	struct stat st;

	if (strcmp(value, "host") == 0) {
		spec->image_kind = IMAGE_HOST;
		return 0;
	}
	named = named_image_path(value);
	if (named)
		value = named;
	if (stat(value, &st) < 0) {
		error_set(err, EXIT_RUNNER_ERROR, errno,
		          "--image %s (not a directory, a tarball or a built image name)", value);
		free(named);
		return -1;
	}
	spec->image_kind = S_ISDIR(st.st_mode) ? IMAGE_DIR : IMAGE_TARBALL;
	free(spec->image_path);
	spec->image_path = realpath(value, NULL);
	if (spec->image_path == NULL)
		error_set(err, EXIT_RUNNER_ERROR, errno, "--image %s", value);
	free(named);
	return spec->image_path ? 0 : -1;
}

static int handle_option(void *request, const struct cli_opt *o, struct error *err)
{
	struct sandbox_spec *spec = request;
	const char *arg = o->arg;
	const char *second = NULL;
	int opt = o->id;
	uint64_t v;

	switch (opt) {
	case OPT_IMAGE: return set_image(spec, arg, err);
	case OPT_RO_BIND:
	case OPT_RO_BIND_IDMAP:
	case OPT_BIND: {
		const char *first = arg;
		const char *name = opt == OPT_BIND            ? "--bind"
		                   : opt == OPT_RO_BIND_IDMAP ? "--ro-bind-idmap"
		                                              : "--ro-bind";
		if (take_second(o, name, &second, err) < 0)
			return -1;
		return add_mount(spec,
		                 opt == OPT_BIND            ? MOUNT_BIND_RW
		                 : opt == OPT_RO_BIND_IDMAP ? MOUNT_BIND_RO_IDMAP
		                                            : MOUNT_BIND_RO,
		                 first, second, name, err);
	}
	case OPT_TMPFS: return add_mount(spec, MOUNT_TMPFS, NULL, arg, "--tmpfs", err);
	case OPT_CHDIR:
		if (check_sandbox_path("--chdir", arg, err) < 0)
			return -1;
		replace(&spec->chdir, arg);
		return 0;
	case OPT_HOSTNAME:
		if (strlen(arg) == 0 || strlen(arg) > 64)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "--hostname '%s': 1 to 64 characters", arg);
		replace(&spec->hostname, arg);
		return 0;
	case OPT_UID:
		spec->uid_set = true;
		return parse_uid(arg, &spec->uid, err) < 0 ? error_prefix(err, "--uid") : 0;
	case OPT_GID:
		spec->gid_set = true;
		return parse_uid(arg, &spec->gid, err) < 0 ? error_prefix(err, "--gid") : 0;
	case OPT_USERNS: spec->userns = true; return 0;
	case OPT_KEEP_ENV:
		spec->keep_env = strv_append_copy_n(spec->keep_env, &spec->n_keep_env, arg);
		return 0;
	case OPT_SETENV:
		if (environment_check_assignment(arg, err) < 0)
			return -1;
		spec->set_env = strv_append_copy_n(spec->set_env, &spec->n_set_env, arg);
		return 0;
	case OPT_SDE:
		if (parse_u64(arg, &v, err) < 0)
			return error_prefix(err, "--source-date-epoch");
		replace(&spec->source_date_epoch, arg);
		return 0;
	case OPT_PASS_FD:
		if (parse_u64(arg, &v, err) < 0 || v < 3 || v > 65535)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "--pass-fd %s: expected a descriptor number >= 3", arg);
		spec->pass_fds = xrealloc(spec->pass_fds, (spec->n_pass_fds + 1) * sizeof(int));
		spec->pass_fds[spec->n_pass_fds++] = (int)v;
		return 0;
	case OPT_TIMEOUT:
		if (parse_duration_ns(arg, &spec->timeout_ns, err) < 0)
			return error_prefix(err, "--timeout");
		if (spec->timeout_ns == 0)
			return error_set(err, EXIT_RUNNER_ERROR, 0, "--timeout must be positive");
		return 0;
	case OPT_KILL_GRACE:
		return parse_duration_ns(arg, &spec->kill_grace_ns, err) < 0
		           ? error_prefix(err, "--kill-grace")
		           : 0;
	case OPT_RLIMIT: return parse_rlimit(spec, arg, err);
	case OPT_TMPFS_SIZE:
		if (parse_size(arg, &spec->tmpfs_size, err) < 0)
			return error_prefix(err, "--tmpfs-size");
		if (spec->tmpfs_size < 4096)
			return error_set(err, EXIT_RUNNER_ERROR, 0, "--tmpfs-size %s: at least 4K",
			                 arg);
		return 0;
	case OPT_SECCOMP_LOG: spec->seccomp_log = true; return 0;
	case OPT_ALLOW_PTRACE: spec->allow_ptrace = true; return 0;
	case OPT_ALLOW_PERF: spec->allow_perf = true; return 0;
	case OPT_NO_ASLR: spec->no_aslr = true; return 0;
	case OPT_ENTROPY_SEED:
		if (arg[0] == '\0')
			return error_set(err, EXIT_RUNNER_ERROR, 0, "--entropy-seed: empty seed");
		replace(&spec->entropy_seed, arg);
		return 0;
	case OPT_CPUS:
		spec->cpus_set = true;
		spec->warn_limits |= SPEC_WARN_CPUS;
		return parse_cpu_list(arg, spec->cpus, err) < 0 ? error_prefix(err, "--cpus") : 0;
	case OPT_MEMORY:
		spec->warn_limits |= SPEC_WARN_MEMORY;
		if (parse_size(arg, &spec->memory_max, err) < 0)
			return error_prefix(err, "--memory");
		if (spec->memory_max < 1024 * 1024)
			return error_set(err, EXIT_RUNNER_ERROR, 0, "--memory %s: at least 1M",
			                 arg);
		return 0;
	case OPT_PIDS:
		spec->warn_limits |= SPEC_WARN_PIDS;
		if (parse_u64(arg, &spec->pids_max, err) < 0 || spec->pids_max == 0)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "--pids %s: expected a positive number", arg);
		return 0;
	case OPT_CPU_WEIGHT:
		if (parse_u64(arg, &spec->cpu_weight, err) < 0 || spec->cpu_weight < 1 ||
		    spec->cpu_weight > 10000)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "--cpu-weight %s: expected 1..10000", arg);
		return 0;
	case OPT_CPU_MAX: return parse_cpu_max(spec, arg, err);
	case OPT_CGROUP_PARENT: replace(&spec->cgroup_parent, arg); return 0;
	case OPT_NO_TURBO:
		spec->no_turbo = true;
		spec->warn_limits |= SPEC_WARN_TURBO;
		return 0;
	case OPT_GOVERNOR: replace(&spec->governor, arg); return 0;
	case OPT_SYSFS_ROOT: replace(&spec->sysfs_root, arg); return 0;
	case OPT_STATE_DIR: replace(&spec->state_dir, arg); return 0;
	case OPT_STRICT: spec->strict = true; return 0;
	case OPT_REPORT: replace(&spec->report_path, arg); return 0;
	case OPT_NO_OPENAT2: spec->force_path_walk = true; return 0;
	case OPT_NO_IDMAP: spec->no_idmap = true; return 0;
	default:
		return error_set(err, EXIT_RUNNER_ERROR, 0, "run: option %s is not handled",
		                 o->name ? o->name : "?");
	}
}

static const struct cli_parser run_parser = {
    .command = "run",
    .shortopts = "+:h",
    .longopts = run_options,
    .help = OPT_HELP,
    .usage = cli_run_usage,
    .handle = handle_option,
};

int cli_parse_run(int argc, char **argv, struct sandbox_spec *spec, struct error *err)
{
	int first;
	int rc = cli_parse(&run_parser, argc, argv, spec, &first, err);

	if (rc != 0)
		return rc;
	if (first >= argc)
		return error_set(
		    err, EXIT_RUNNER_ERROR, 0,
		    "run: no command given (usage: pgo-sandbox run [OPTIONS] -- COMMAND)");
	spec->argv = &argv[first];
	/* uid 0 inside is only ever given through a user namespace. */
	if (getuid() != 0 || spec->uid == 0)
		spec->userns = true;
	if (getuid() != 0 && !spec->uid_set)
		spec->uid = (uint32_t)getuid();
	if (getuid() != 0 && !spec->gid_set)
		spec->gid = (uint32_t)getgid();
	return 0;
}
