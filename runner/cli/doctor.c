/* doctor.c - see doctor.h
 *
 * Facts are gathered from explicit roots (proc, sysfs, mountinfo text) so
 * the checks can be tested on fake trees; the live probes (unshare,
 * perf_event_open, openat2, prctl) only run when env->probe is set. */
#define _GNU_SOURCE
#include "cli/doctor.h"
#include "base/bytes_json.h"
#include "cli/commands.h"
#include "cli/doctor_check.h"
#include "cli/doctor_cpu.h"
#include "cli/options.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/mountinfo.h"
#include "host/hosttune.h"
#include "pipeline/profdata.h"
#include "pipeline/toolchain.h"
#include "base/util.h"

#define CPU_DIR "sys/devices/system/cpu"
#define V1_FIX "boot with cgroup_no_v1=all (systemd: systemd.unified_cgroup_hierarchy=1)"
#define CG2_FIX                                                                                    \
	"mount cgroup2 (mount -t cgroup2 none /sys/fs/cgroup) or boot with "                       \
	"systemd.unified_cgroup_hierarchy=1"

enum { CTRL_CPUSET, CTRL_CPU, CTRL_MEMORY, CTRL_PIDS, N_CTRL };

static const struct {
	const char *name;
	const char *config;
	const char *cost;
} controllers[N_CTRL] = {
    {"cpuset", "CONFIG_CPUSETS",
     "--cpus cannot confine the command to its CPUs through the cgroup: other work "
     "shares them and the command can migrate, adding timing noise"},
    {"cpu", "CONFIG_CGROUP_SCHED", "--cpu-weight and --cpu-max cannot be enforced"},
    {"memory", "CONFIG_MEMCG",
     "--memory cannot be enforced, and OOM kills and peak memory of the command's "
     "process tree cannot be reported"},
    {"pids", "CONFIG_CGROUP_PIDS",
     "--pids cannot be enforced: a fork bomb in the command is not contained"},
};

struct mount_facts {
	char *cg2_mount; /* NULL when no cgroup2 is mounted */
	char *cg2_root;
	char *v1[N_CTRL]; /* v1 mount point a controller is bound to */
};

/* ---- small helpers ---- */

/* ---- mountinfo ---- */

/* The first cgroup2 mount, and the v1 mount each controller is bound to. */
static int mount_facts_add(const struct mountinfo_entry *e, void *arg)
{
	struct mount_facts *mf = arg;

	if (strcmp(e->fstype, "cgroup2") == 0 && mf->cg2_mount == NULL) {
		mf->cg2_mount = xstrdup(e->mount_point);
		mf->cg2_root = xstrdup(e->root);
		return 0;
	}
	if (strcmp(e->fstype, "cgroup") != 0)
		return 0;
	for (int c = 0; c < N_CTRL; c++) {
		char *copy = xstrdup(e->super_options), *s2 = NULL;

		for (char *o = strtok_r(copy, ",", &s2); o; o = strtok_r(NULL, ",", &s2))
			if (strcmp(o, controllers[c].name) == 0 && mf->v1[c] == NULL)
				mf->v1[c] = xstrdup(e->mount_point);
		free(copy);
	}
	return 0;
}

static void parse_mountinfo(const char *text, struct mount_facts *mf)
{
	memset(mf, 0, sizeof(*mf));
	mountinfo_foreach(text, mount_facts_add, mf);
}

static void mount_facts_free(struct mount_facts *mf)
{
	free(mf->cg2_mount);
	free(mf->cg2_root);
	for (int c = 0; c < N_CTRL; c++)
		free(mf->v1[c]);
}

/* /proc/cgroups: hierarchy (non-zero = bound to v1) and enabled; -1 when
 * the controller is not listed. */
static void proc_cgroups(const char *text, int hier[N_CTRL], int enabled[N_CTRL])
{
	char *copy = xstrdup(text ? text : ""), *save = NULL;

	for (int c = 0; c < N_CTRL; c++)
		hier[c] = enabled[c] = -1;
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char name[64];
		int h, num, en;

		if (l[0] == '#' || sscanf(l, "%63s %d %d %d", name, &h, &num, &en) != 4)
			continue;
		for (int c = 0; c < N_CTRL; c++) {
			if (strcmp(name, controllers[c].name) == 0) {
				hier[c] = h;
				enabled[c] = en;
			}
		}
	}
	free(copy);
}

/* ---- cgroup checks ---- */

static void check_controller(json_t *checks, int c, const struct mount_facts *mf, const char *avail,
                             bool have_proc_cgroups, int hier, int enabled)
{
	const char *name = controllers[c].name;
	char check[32], fix[200];

	snprintf(check, sizeof(check), "cgroup.%s", name);
	if (mf->cg2_mount && doctor_has_word(avail, name)) {
		doctor_add_check(checks, check, "ok",
		                 xasprintf("%s controller available in cgroup v2", name), NULL,
		                 NULL);
		return;
	}
	if (mf->v1[c] || hier > 0) {
		doctor_add_check(
		    checks, check, "missing",
		    mf->v1[c] ? xasprintf("cgroup v2 has no %s controller (bound to cgroup "
		                          "v1 at %s)",
		                          name, mf->v1[c])
		              : xasprintf("cgroup v2 has no %s controller (bound to a cgroup "
		                          "v1 hierarchy)",
		                          name),
		    controllers[c].cost, V1_FIX);
	} else if (enabled == 0) {
		snprintf(fix, sizeof(fix), "remove cgroup_disable=%s from the kernel command line",
		         name);
		doctor_add_check(
		    checks, check, "missing",
		    xasprintf("the %s controller is disabled on the kernel command line", name),
		    controllers[c].cost, fix);
	} else if (have_proc_cgroups && hier < 0) {
		snprintf(fix, sizeof(fix), "use a kernel built with %s", controllers[c].config);
		doctor_add_check(checks, check, "missing",
		                 xasprintf("the kernel has no %s controller", name),
		                 controllers[c].cost, fix);
	} else if (mf->cg2_mount == NULL) {
		doctor_add_check(checks, check, "missing", xasprintf("no cgroup2 mount"),
		                 controllers[c].cost, CG2_FIX);
	} else {
		snprintf(
		    fix, sizeof(fix),
		    "enable it from the parent cgroup (echo +%s > <parent>/cgroup.subtree_control)"
		    " or pass a delegated --cgroup-parent",
		    name);
		doctor_add_check(
		    checks, check, "missing",
		    xasprintf("%s is not in %s/cgroup.controllers (not enabled for this "
		              "cgroup by its parent)",
		              name, mf->cg2_mount),
		    controllers[c].cost, fix);
	}
}

static void check_delegation(json_t *checks, json_t *facts, const struct mount_facts *mf)
{
	char *sub;
	int e = 0;

	if (mf->cg2_mount == NULL) {
		doctor_add_check(
		    checks, "cgroup.delegation", "missing", xasprintf("no cgroup2 mount"),
		    "the runner cannot create its cgroup: no limits or accounting for the "
		    "command's process tree",
		    CG2_FIX);
		return;
	}
	sub = xasprintf("%s/cgroup.subtree_control", mf->cg2_mount);
	if (access(mf->cg2_mount, W_OK) < 0 || access(sub, W_OK) < 0)
		e = errno;
	json_object_set_new(facts, "writable", json_boolean(e == 0));
	if (e == 0)
		doctor_add_check(checks, "cgroup.delegation", "ok",
		                 xasprintf("%s is writable: the runner can create its cgroup there",
		                           mf->cg2_mount),
		                 NULL, NULL);
	else
		doctor_add_check(
		    checks, "cgroup.delegation", "missing",
		    xasprintf("cannot write %s or its cgroup.subtree_control: %s", mf->cg2_mount,
		              strerror(e)),
		    "the runner cannot create its cgroup below the cgroup2 root: no limits "
		    "or accounting unless --cgroup-parent names a delegated cgroup",
		    "run as root on a writable cgroup2 mount, or create a delegated subtree "
		    "(systemd-run --scope -p Delegate=yes ...) and pass it as --cgroup-parent");
	free(sub);
}

static void check_cgroups(json_t *checks, json_t *facts, const struct doctor_env *env)
{
	char *owned = NULL, *cgroups_text, *avail = NULL, *subtree = NULL;
	const char *text = env->mountinfo;
	json_t *cg = json_object(), *v1 = json_object();
	int hier[N_CTRL], enabled[N_CTRL];
	struct mount_facts mf;

	if (text == NULL)
		text = owned = doctor_read_under(env->proc_root, "self/mountinfo");
	parse_mountinfo(text ? text : "", &mf);
	cgroups_text = doctor_read_under(env->proc_root, "cgroups");
	proc_cgroups(cgroups_text, hier, enabled);
	if (mf.cg2_mount) {
		avail = doctor_read_under(mf.cg2_mount, "cgroup.controllers");
		subtree = doctor_read_under(mf.cg2_mount, "cgroup.subtree_control");
		doctor_add_check(checks, "cgroup2", "ok",
		                 xasprintf("mounted at %s; controllers: %s", mf.cg2_mount,
		                           avail && avail[0] ? avail : "(none)"),
		                 NULL, NULL);
	} else {
		doctor_add_check(
		    checks, "cgroup2", "missing", xasprintf("no cgroup2 in mountinfo"),
		    "no cgroup limits (--cpus, --memory, --pids, --cpu-weight, --cpu-max) and "
		    "no OOM or peak-memory accounting of the command's process tree",
		    CG2_FIX);
	}
	for (int c = 0; c < N_CTRL; c++) {
		check_controller(checks, c, &mf, avail, cgroups_text != NULL, hier[c], enabled[c]);
		if (mf.v1[c])
			json_object_set_new(v1, controllers[c].name, json_string(mf.v1[c]));
	}
	json_object_set_new(cg, "mount", json_string_or_null(mf.cg2_mount));
	json_object_set_new(cg, "mount_root", json_string_or_null(mf.cg2_root));
	json_object_set_new(cg, "controllers", doctor_words_json(avail));
	json_object_set_new(cg, "subtree_control", doctor_words_json(subtree));
	json_object_set_new(cg, "v1", v1);
	check_delegation(checks, cg, &mf);
	json_object_set_new(facts, "cgroup", cg);
	mount_facts_free(&mf);
	free(avail);
	free(subtree);
	free(cgroups_text);
	free(owned);
}

/* ---- namespaces, seccomp, openat2 ---- */

static int probe_userns(void)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return errno;
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER) < 0 ? (errno & 0xff) : 0);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return errno;
	if (!WIFEXITED(status))
		return EFAULT;
	return WEXITSTATUS(status);
}

static const char *userns_fix(long long max, const char *clone, const char *apparmor, int e)
{
	if (max == 0)
		return "sysctl -w user.max_user_namespaces=15000";
	if (clone && strcmp(clone, "0") == 0)
		return "sysctl -w kernel.unprivileged_userns_clone=1";
	if (apparmor && strcmp(apparmor, "1") == 0)
		return "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor "
		       "profile allowing userns for pgo-sandbox";
	if (e == EPERM)
		return "an enclosing container's seccomp profile or LSM forbids "
		       "unshare(CLONE_NEWUSER): allow it there or run on the host";
	return NULL;
}

static void check_userns(json_t *checks, json_t *facts, const struct doctor_env *env)
{
	char *max_text = doctor_read_under(env->proc_root, "sys/user/max_user_namespaces");
	char *clone = doctor_read_under(env->proc_root, "sys/kernel/unprivileged_userns_clone");
	char *apparmor =
	    doctor_read_under(env->proc_root, "sys/kernel/apparmor_restrict_unprivileged_userns");
	long long max = -1;
	json_t *u = json_object();
	int e = env->probe ? probe_userns() : 0;
	char *probe = env->probe ? (e ? doctor_errno_text(e) : xstrdup("ok")) : NULL;
	bool ok = env->probe ? e == 0 : max_text != NULL;

	json_object_set_new(u, "max_user_namespaces", doctor_int_or_null(max_text, &max));
	json_object_set_new(u, "unprivileged_userns_clone", doctor_int_or_null(clone, NULL));
	json_object_set_new(u, "apparmor_restrict_unprivileged_userns",
	                    doctor_int_or_null(apparmor, NULL));
	json_object_set_new(u, "unshare", json_string_or_null(probe));
	json_object_set_new(facts, "userns", u);
	if (max == 0)
		ok = false;
	doctor_add_check(checks, "userns", ok ? "ok" : "missing",
	                 xasprintf("max_user_namespaces=%s%s%s", max_text ? max_text : "(unknown)",
	                           probe ? "; unshare(CLONE_NEWUSER): " : "", probe ? probe : ""),
	                 ok ? NULL
	                    : "without root the sandbox cannot be built (no namespaces for an "
	                      "unprivileged user); runs as root are unaffected",
	                 ok ? NULL : userns_fix(max, clone, apparmor, e));
	free(probe);
	free(max_text);
	free(clone);
	free(apparmor);
}

static void check_seccomp(json_t *checks, json_t *facts, const struct doctor_env *env)
{
	char *actions = doctor_read_under(env->proc_root, "sys/kernel/seccomp/actions_avail");
	int mode = env->probe ? prctl(PR_GET_SECCOMP, 0, 0, 0, 0) : 0;
	int e = mode < 0 ? errno : 0;
	json_t *s = json_object();

	json_object_set_new(s, "mode", env->probe && mode >= 0 ? json_integer(mode) : json_null());
	json_object_set_new(s, "actions_avail", doctor_words_json(actions));
	json_object_set_new(facts, "seccomp", s);
	if (e != 0 || actions == NULL) {
		doctor_add_check(
		    checks, "seccomp", "missing",
		    e ? xasprintf("prctl(PR_GET_SECCOMP): %s", strerror(e))
		      : xasprintf("no %s/sys/kernel/seccomp/actions_avail", env->proc_root),
		    "no syscall filter: the command can use every syscall the kernel offers "
		    "(ptrace, perf_event_open, keyctl, TIOCSTI...)",
		    "use a kernel built with CONFIG_SECCOMP_FILTER");
	} else if (!doctor_has_word(actions, "errno") ||
	           !doctor_has_word(actions, "kill_process") || !doctor_has_word(actions, "log")) {
		doctor_add_check(
		    checks, "seccomp", "degraded", xasprintf("actions available: %s", actions),
		    "the filter needs the errno, kill_process and log actions; without log "
		    "--seccomp-log cannot be used",
		    "use a kernel 4.14 or newer");
	} else {
		doctor_add_check(checks, "seccomp", "ok",
		                 xasprintf("filters available%s",
		                           mode == 2
		                               ? "; this process is already filtered (container): "
		                                 "the sandbox's filter stacks on top"
		                               : ""),
		                 NULL, NULL);
	}
	free(actions);
}

static int probe_openat2(void)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd, e = 0;

	if (root < 0)
		return errno;
	fd = (int)syscall(SYS_openat2, root, "/", &how, sizeof(how));
	if (fd < 0)
		e = errno;
	else
		close(fd);
	close(root);
	return e;
}

static void check_openat2(json_t *checks, json_t *facts)
{
	int e = probe_openat2();
	char *text = e ? doctor_errno_text(e) : xstrdup("ok");

	json_object_set_new(facts, "openat2", json_string(text));
	if (e == 0)
		doctor_add_check(checks, "openat2", "ok", xstrdup("openat2(RESOLVE_IN_ROOT) works"),
		                 NULL, NULL);
	else
		doctor_add_check(
		    checks, "openat2", "degraded", xasprintf("openat2: %s", text),
		    "mount targets are resolved by an O_NOFOLLOW component walk instead of "
		    "RESOLVE_IN_ROOT: same confinement, more syscalls",
		    e == ENOSYS ? "use a kernel 5.6 or newer (or allow openat2 in the "
		                  "enclosing container's seccomp profile)"
		                : "allow openat2 in the enclosing container's seccomp profile");
	free(text);
}

/* ---- cpufreq: turbo and governor ---- */

/* ---- perf, ASLR, SMT, TIOCSTI, kernel ---- */

static void check_tiocsti(json_t *checks, json_t *facts, const struct doctor_env *env)
{
	char *v = doctor_read_under(env->proc_root, "sys/dev/tty/legacy_tiocsti");

	json_object_set_new(facts, "legacy_tiocsti", doctor_int_or_null(v, NULL));
	if (v && strcmp(v, "0") == 0)
		doctor_add_check(checks, "tiocsti", "ok",
		                 xstrdup("dev.tty.legacy_tiocsti=0: TIOCSTI "
		                         "is disabled host-wide"),
		                 NULL, NULL);
	else
		doctor_add_check(
		    checks, "tiocsti", "degraded",
		    v ? xasprintf("dev.tty.legacy_tiocsti=%s: TIOCSTI is allowed host-wide", v)
		      : xstrdup("no dev.tty.legacy_tiocsti (kernel before 6.2): TIOCSTI is "
		                "always allowed"),
		    "defence in depth only: the sandbox runs the command in a new session "
		    "and its seccomp filter denies TIOCSTI, but other programs on the host "
		    "can still inject terminal input",
		    v ? "sysctl -w dev.tty.legacy_tiocsti=0"
		      : "use a kernel 6.2 or newer with dev.tty.legacy_tiocsti=0");
	free(v);
}

static void check_kernel(json_t *checks, json_t *facts)
{
	struct utsname u;

	if (uname(&u) < 0) {
		doctor_add_check(checks, "kernel", "missing",
		                 xasprintf("uname: %s", strerror(errno)),
		                 "the kernel version is unknown", NULL);
		return;
	}
	json_object_set_new(facts, "kernel",
	                    json_pack("{s:s, s:s, s:s}", "release", u.release, "version", u.version,
	                              "machine", u.machine));
	doctor_add_check(checks, "kernel", "ok", xasprintf("Linux %s %s", u.release, u.machine),
	                 NULL, NULL);
}

/* ---- toolchains ---- */

/* What `cargo pgo info` tells: which rustc, its LLVM and raw profile
 * version, which llvm-profdata reads that, whether rustup's llvm-tools is
 * there.  A rustc on the caller's PATH is what `compiler = rustc` uses. */
static void check_rust(json_t *checks, json_t *facts)
{
	struct toolchain_site site = {0};
	struct profdata_choice pick = {0};
	struct error err = {0};
	uint64_t raw;
	char *writer, *tools;
	bool has_tools;

	if (toolchain_rustc.locate(&site, &err) < 0) {
		json_object_set_new(facts, "rust", json_pack("{s:s}", "error", err.msg));
		doctor_add_check(checks, "rust", "missing", xstrdup(err.msg),
		                 "pipelines with compiler = rustc cannot run", "see the detail");
		return;
	}
	raw = pgo_raw_version_for_llvm(site.llvm_major);
	tools = xasprintf("%s/lib/rustlib/x86_64-unknown-linux-gnu/bin/llvm-profdata",
	                  site.host_sysroot);
	has_tools = access(tools, X_OK) == 0;
	writer = xasprintf("rustc (LLVM %u)", site.llvm_major);
	json_object_set_new(facts, "rust",
	                    json_pack("{s:s, s:s?, s:i, s:I, s:b}", "sysroot", site.host_sysroot,
	                              "rustc",
	                              json_string_value(json_object_get(site.facts, "rustc_vV")),
	                              "llvm_major", (int)site.llvm_major, "raw_profile_version",
	                              (json_int_t)raw, "llvm_tools", has_tools));
	if (profdata_choose(raw, writer, &site, &pick, &err) < 0)
		doctor_add_check(
		    checks, "rust", "missing", xstrdup(err.msg),
		    "the merge stage of a rustc pipeline cannot merge its raw profiles",
		    "apt-get install llvm-19, or rustup component add llvm-tools");
	else
		doctor_add_check(
		    checks, "rust", "ok",
		    xasprintf("rustc in %s: LLVM %u writes raw profiles version %llu; %s "
		              "(LLVM %u) reads them; rustup llvm-tools %s",
		              site.host_sysroot, site.llvm_major, (unsigned long long)raw,
		              pick.host_path, pick.llvm_major,
		              has_tools ? "installed" : "not installed"),
		    NULL, NULL);
	profdata_choice_free(&pick);
	free(writer);
	free(tools);
	toolchain_site_free(&site);
}

/* A tool's first `--version` line when it runs, else NULL. */
static char *tool_version(const char *path)
{
	char *const argv[] = {(char *)path, "--version", NULL};
	char *out = pgo_probe_output(argv);

	if (out)
		out[strcspn(out, "\n")] = '\0';
	return out;
}

/* Without a PMU, bench --cachegrind simulates the counters forensics
 * needs; the BOLT stage needs llvm-bolt and merge-fdata. */
static void check_layout_tools(json_t *checks, json_t *facts)
{
	char *vg = tool_version("valgrind");
	char *bolt = access("/usr/lib/llvm-19/bin/llvm-bolt", X_OK) == 0
	                 ? tool_version("/usr/lib/llvm-19/bin/llvm-bolt")
	                 : NULL;
	bool fdata = access("/usr/lib/llvm-19/bin/merge-fdata", X_OK) == 0;

	json_object_set_new(facts, "valgrind", json_string_or_null(vg));
	json_object_set_new(facts, "llvm_bolt", json_string_or_null(bolt));
	if (vg)
		doctor_add_check(checks, "simulated-counters", "ok",
		                 xasprintf("%s: bench --cachegrind simulates caches and branches "
		                           "(a model, not the machine) for forensics without a PMU",
		                           vg),
		                 NULL, NULL);
	else
		doctor_add_check(
		    checks, "simulated-counters", "missing", xstrdup("valgrind not found"),
		    "no --callgrind or --cachegrind, so no forensics on a host without a PMU",
		    "apt-get install valgrind");
	if (bolt && fdata)
		doctor_add_check(
		    checks, "bolt", "ok",
		    xasprintf("/usr/lib/llvm-19/bin/llvm-bolt and merge-fdata (%s): the bolt "
		              "stages can instrument, merge and optimise",
		              bolt),
		    NULL, NULL);
	else
		doctor_add_check(checks, "bolt", "missing",
		                 xstrdup("/usr/lib/llvm-19/bin/llvm-bolt or merge-fdata not found"),
		                 "no BOLT stages (post-link layout optimisation)",
		                 "apt-get install bolt-19");
	free(vg);
	free(bolt);
}

/* The recipes stacked on IR PGO (pipeline/recipe.h): temporal function
 * ordering needs clang >= 17 with its profile runtime and lld; rustc has
 * no context-sensitive PGO at all. */
static void check_recipes(json_t *checks, json_t *facts)
{
	char *clang = tool_version("clang-19");
	bool rt = access("/usr/lib/llvm-19/lib/clang/19/lib/linux/libclang_rt.profile-x86_64.a",
	                 F_OK) == 0;
	bool lld = access("/usr/lib/llvm-19/bin/ld.lld", X_OK) == 0;

	json_object_set_new(facts, "clang_19", json_string_or_null(clang));
	if (clang && rt && lld)
		doctor_add_check(
		    checks, "recipes", "ok",
		    xasprintf("%s with its profile runtime and lld-19: cc = clang-19 "
		              "pipelines can use function-order, cs-* stages and "
		              "split-machine-functions; rustc has no context-sensitive PGO "
		              "(rust issue 118562)",
		              clang),
		    NULL, NULL);
	else
		doctor_add_check(
		    checks, "recipes", "missing",
		    xasprintf("clang-19 %s, its profile runtime %s, lld-19 %s",
		              clang ? "found" : "not found", rt ? "found" : "not found",
		              lld ? "found" : "not found"),
		    "no function-order (needs clang >= 17); context-sensitive PGO only with "
		    "the default clang; rustc has none",
		    "apt-get install clang-19 lld-19 libclang-rt-19-dev");
	free(clang);
}

json_t *doctor_collect(const struct doctor_env *env)
{
	char *root = xstrdup(env->sysfs_root ? env->sysfs_root : "");
	json_t *checks = json_array(), *facts = json_object();
	size_t len = strlen(root);

	while (len > 0 && root[len - 1] == '/')
		root[--len] = '\0';
	check_kernel(checks, facts);
	check_cgroups(checks, facts, env);
	check_userns(checks, facts, env);
	check_seccomp(checks, facts, env);
	if (env->probe)
		check_openat2(checks, facts);
	doctor_check_turbo(checks, facts, root);
	doctor_check_governor(checks, facts, root);
	if (env->probe)
		doctor_check_perf(checks, facts, env->proc_root);
	doctor_check_aslr(checks, facts, env->proc_root);
	doctor_check_smt(checks, facts, root);
	check_tiocsti(checks, facts, env);
	if (env->probe) {
		check_layout_tools(checks, facts);
		check_recipes(checks, facts);
		check_rust(checks, facts);
	}
	free(root);
	return json_pack("{s:s, s:o, s:o}", "version", PGO_VERSION, "checks", checks, "facts",
	                 facts);
}

/* ---- output ---- */

static const char *status_color(const char *status)
{
	if (strcmp(status, "ok") == 0)
		return "\033[32m";
	if (strcmp(status, "degraded") == 0)
		return "\033[33m";
	return "\033[31m";
}

void doctor_print(FILE *out, const json_t *doc, bool color)
{
	const json_t *checks = json_object_get(doc, "checks"), *c;
	unsigned counts[3] = {0};
	size_t i;

	fprintf(out, "pgo-sandbox %s doctor: what this host supports\n",
	        json_string_value(json_object_get(doc, "version")));
	json_array_foreach(checks, i, c)
	{
		const char *status = json_string_value(json_object_get(c, "status"));
		const char *cost = json_string_value(json_object_get(c, "cost"));
		const char *fix = json_string_value(json_object_get(c, "fix"));

		counts[strcmp(status, "ok") == 0 ? 0 : strcmp(status, "degraded") == 0 ? 1 : 2]++;
		fprintf(out, "  %s%-8s%s %-17s %s\n", color ? status_color(status) : "", status,
		        color ? "\033[0m" : "", json_string_value(json_object_get(c, "name")),
		        json_string_value(json_object_get(c, "detail")));
		if (cost)
			fprintf(out, "           cost: %s\n", cost);
		if (fix)
			fprintf(out, "           fix:  %s\n", fix);
	}
	fprintf(out, "%u ok, %u degraded, %u missing\n", counts[0], counts[1], counts[2]);
}

static void doctor_usage(FILE *out, const char *command)
{
	(void)command;
	fputs("usage: pgo-sandbox doctor [--json] [--sysfs-root DIR]\n"
	      "Report what this host supports (cgroup v2, namespaces, seccomp, turbo,\n"
	      "governor, perf counters, SMT...) and what each missing piece costs.\n",
	      out);
}

enum { OPT_JSON = 256, OPT_SYSFS_ROOT, OPT_HELP };

static const struct option doctor_options[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"sysfs-root", required_argument, NULL, OPT_SYSFS_ROOT},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

struct doctor_request {
	struct doctor_env env;
	bool json;
};

static int doctor_option(void *request, const struct cli_opt *o, struct error *err)
{
	struct doctor_request *rq = request;

	switch (o->id) {
	case OPT_JSON: rq->json = true; return 0;
	case OPT_SYSFS_ROOT: rq->env.sysfs_root = o->arg; return 0;
	default:
		return error_set(err, EXIT_RUNNER_ERROR, 0, "doctor: option %s is not handled",
		                 o->name ? o->name : "?");
	}
}

static const struct cli_parser doctor_parser = {
    .command = "doctor",
    .shortopts = ":h",
    .longopts = doctor_options,
    .help = OPT_HELP,
    .usage = doctor_usage,
    .handle = doctor_option,
};

int cli_doctor(int argc, char **argv)
{
	struct doctor_request rq = {
	    .env = {.proc_root = "/proc", .sysfs_root = "/", .probe = true}};
	const char *no_color = getenv("NO_COLOR");
	struct error err = {0};
	json_t *doc;
	int first, rc;

	rc = cli_parse(&doctor_parser, argc, argv, &rq, &first, &err);
	if (rc != 0)
		return rc > 0 ? 0 : cli_fail(&err);
	if (first < argc) {
		fprintf(stderr, "pgo-sandbox: doctor: unexpected argument '%s'\n", argv[first]);
		doctor_usage(stderr, "doctor");
		return EXIT_RUNNER_ERROR;
	}
	fflush(stdout); /* the userns probe forks */
	doc = doctor_collect(&rq.env);
	if (rq.json) {
		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	} else {
		doctor_print(stdout, doc,
		             isatty(STDOUT_FILENO) && (no_color == NULL || no_color[0] == '\0'));
	}
	json_decref(doc);
	return 0;
}
