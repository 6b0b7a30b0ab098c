/* cgroup.c - see cgroup.h: creating a run's cgroup, enabling controllers,
 * applying the limits (or recording why not), attaching and statistics.
 * The pure readers are in cgroup_parse.c, the end of a cgroup (kill,
 * wait, remove, stale ones) in cgroup_teardown.c, the shared file helpers
 * in cgroup_file.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "host/cgroup.h"

#include "host/cgroup_file.h"
#include "base/cleanup.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Why a controller could not be enabled, indexed like cgroup_controllers. */
struct controller_why {
	char why[CGROUP_N_CONTROLLERS][CGROUP_REASON_MAX];
};

/* ---- setup ---- */

static unsigned controllers_wanted(const struct sandbox_spec *spec)
{
	unsigned m = 0;

	if (spec->cpus_set)
		m |= CG_CPUSET;
	if (spec->memory_max)
		m |= CG_MEMORY;
	if (spec->pids_max)
		m |= CG_PIDS;
	if (spec->cpu_weight || spec->cpu_max_quota_us)
		m |= CG_CPU;
	return m;
}

static void set_why(struct controller_why *w, unsigned bit, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_why(struct controller_why *w, unsigned bit, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->why[cgroup_controller_index(bit)], CGROUP_REASON_MAX, fmt, ap);
	va_end(ap);
}

static int write_subtree_control(const char *level, unsigned mask)
{
	char buf[128];
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < CGROUP_N_CONTROLLERS; i++)
		if (mask & cgroup_controllers[i].bit)
			used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s+%s",
			                         used ? " " : "", cgroup_controllers[i].name);
	return cgroup_write_in(level, "cgroup.subtree_control", buf);
}

/* Enable the controllers of *ok in `level`'s subtree_control; the ones that
 * cannot be are removed from *ok with a reason. */
static void enable_at_level(const char *level, unsigned *ok, struct controller_why *w)
{
	char avail_text[CGROUP_FILE_MAX], on_text[CGROUP_FILE_MAX];
	unsigned avail, todo;

	if (cgroup_read_in(level, "cgroup.controllers", avail_text, sizeof(avail_text)) < 0) {
		for (int i = 0; i < CGROUP_N_CONTROLLERS; i++)
			if (*ok & cgroup_controllers[i].bit)
				set_why(w, cgroup_controllers[i].bit,
				        "reading %s/cgroup.controllers: %s", level,
				        strerror(errno));
		*ok = 0;
		return;
	}
	avail = cgroup_parse_controllers(avail_text);
	for (int i = 0; i < CGROUP_N_CONTROLLERS; i++)
		if ((*ok & cgroup_controllers[i].bit) && !(avail & cgroup_controllers[i].bit))
			set_why(w, cgroup_controllers[i].bit, "not listed in %s/cgroup.controllers",
			        level);
	*ok &= avail;
	if (cgroup_read_in(level, "cgroup.subtree_control", on_text, sizeof(on_text)) < 0)
		on_text[0] = '\0';
	todo = *ok & ~cgroup_parse_controllers(on_text);
	if (todo == 0 || write_subtree_control(level, todo) == 0)
		return;
	/* One of them failed: find which, one at a time. */
	for (int i = 0; i < CGROUP_N_CONTROLLERS; i++) {
		unsigned bit = cgroup_controllers[i].bit;

		if (!(todo & bit) || write_subtree_control(level, bit) == 0)
			continue;
		set_why(w, bit, "enabling it in %s/cgroup.subtree_control: %s", level,
		        strerror(errno));
		*ok &= ~bit;
	}
}

static unsigned enable_controllers(const char *root, const char *parent_rel, unsigned wanted,
                                   struct controller_why *w)
{
	char *level = xstrdup(root);
	const char *rest = parent_rel;
	unsigned ok = wanted;

	for (;;) {
		size_t n;
		char *next;

		if (ok)
			enable_at_level(level, &ok, w);
		rest += strspn(rest, "/");
		if (*rest == '\0')
			break;
		n = strcspn(rest, "/");
		next = xasprintf("%s/%.*s", level, (int)n, rest);
		free(level);
		level = next;
		rest += n;
	}
	free(level);
	return ok;
}

static bool valid_component(const char *s, size_t n)
{
	return n > 0 && !(n == 1 && s[0] == '.') && !(n == 2 && s[0] == '.' && s[1] == '.');
}

static int check_names(const char *parent_rel, const char *run_id, struct error *err)
{
	size_t idlen = strlen(run_id);

	if (idlen == 0 || idlen >= CGROUP_RUN_ID_MAX || strchr(run_id, '/') ||
	    !valid_component(run_id, idlen))
		return error_set(err, EXIT_RUNNER_ERROR, 0, "invalid cgroup run id '%s'", run_id);
	for (const char *p = parent_rel; *p;) {
		size_t n;

		p += strspn(p, "/");
		n = strcspn(p, "/");
		if (n > 0 && !valid_component(p, n))
			return error_set(err, EXIT_RUNNER_ERROR, 0, "invalid cgroup parent '%s'",
			                 parent_rel);
		p += n;
	}
	return 0;
}

static void record_requested_unavailable(const struct sandbox_spec *spec, struct cgroup_run *cg,
                                         struct run_report *r, const char *why)
{
	snprintf(cg->cpuset_reason, sizeof(cg->cpuset_reason), "no cgroup: %s", why);
	if (spec->cpus_set)
		report_control(r, "cgroup.cpuset", CONTROL_UNAVAILABLE,
		               "cpuset controller unavailable (no cgroup)");
	if (spec->memory_max)
		report_control(r, "cgroup.memory", CONTROL_UNAVAILABLE,
		               "no cgroup; not substituted by RLIMIT_AS, which bounds each "
		               "process's address space, not the tree's memory");
	if (spec->pids_max)
		report_control(r, "cgroup.pids", CONTROL_UNAVAILABLE,
		               "no cgroup; not substituted by RLIMIT_NPROC, which counts the "
		               "user's processes, not the tree's");
	if (spec->cpu_weight || spec->cpu_max_quota_us)
		report_control(r, "cgroup.cpu", CONTROL_UNAVAILABLE, "no cgroup");
}

static int setup_unavailable(const struct sandbox_spec *spec, struct cgroup_run *cg,
                             struct run_report *r, struct error *err, const char *why)
{
	report_control(r, "cgroup", CONTROL_UNAVAILABLE, "%s", why);
	record_requested_unavailable(spec, cg, r, why);
	if (spec->strict)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "cgroup unavailable (--strict): %s",
		                 why);
	return 0;
}

static void cpuset_unavailable(struct cgroup_run *cg, struct run_report *r)
{
	report_control(r, "cgroup.cpuset", CONTROL_UNAVAILABLE,
	               "cpuset controller unavailable (%s)", cg->cpuset_reason);
}

static void apply_cpuset(const struct sandbox_spec *spec, const char *parent, struct cgroup_run *cg,
                         struct run_report *r, const char *why)
{
	char mems[CGROUP_FILE_MAX], eff_text[CGROUP_FILE_MAX];
	uint8_t eff[CPU_LIST_MAX / 8];
	_cleanup_free_ char *want = format_cpu_list(spec->cpus);
	struct error perr;

	if (!(cg->controllers & CG_CPUSET)) {
		snprintf(cg->cpuset_reason, sizeof(cg->cpuset_reason), "%s", why);
		report_control(r, "cgroup.cpuset", CONTROL_UNAVAILABLE,
		               "cpuset controller unavailable (%s)", why);
		return;
	}
	if (cgroup_read_in(parent, "cpuset.mems.effective", mems, sizeof(mems)) < 0) {
		snprintf(cg->cpuset_reason, sizeof(cg->cpuset_reason),
		         "reading %s/cpuset.mems.effective: %s", parent, strerror(errno));
		cpuset_unavailable(cg, r);
		return;
	}
	cgroup_chomp(mems);
	if (mems[0] && cgroup_write_string_at(cg->dir_fd, "cpuset.mems", mems) < 0) {
		snprintf(cg->cpuset_reason, sizeof(cg->cpuset_reason),
		         "writing cpuset.mems=%.64s: %s", mems, strerror(errno));
		cpuset_unavailable(cg, r);
		return;
	}
	if (cgroup_write_string_at(cg->dir_fd, "cpuset.cpus", want) < 0) {
		snprintf(cg->cpuset_reason, sizeof(cg->cpuset_reason), "writing cpuset.cpus=%s: %s",
		         want, strerror(errno));
		cpuset_unavailable(cg, r);
		return;
	}
	cg->cpuset_applied = true;
	/* The kernel narrows cpuset.cpus to what the parent has, silently. */
	if (cgroup_read_small_at(cg->dir_fd, "cpuset.cpus.effective", eff_text, sizeof(eff_text)) <
	    0)
		snprintf(eff_text, sizeof(eff_text), "unreadable: %s", strerror(errno));
	cgroup_chomp(eff_text);
	if (parse_cpu_list(eff_text, eff, &perr) < 0 || memcmp(eff, spec->cpus, sizeof(eff)) != 0)
		report_control(r, "cgroup.cpuset", CONTROL_DEGRADED,
		               "cpuset.cpus=%s but cpuset.cpus.effective is '%s'", want, eff_text);
	else
		report_control(r, "cgroup.cpuset", CONTROL_APPLIED, "cpuset.cpus=%s cpuset.mems=%s",
		               want, mems);
}

static void apply_memory(const struct sandbox_spec *spec, struct cgroup_run *cg,
                         struct run_report *r, const char *why)
{
	char val[32];

	if (!(cg->controllers & CG_MEMORY)) {
		report_control(r, "cgroup.memory", CONTROL_UNAVAILABLE,
		               "memory controller unavailable (%s); not substituted by RLIMIT_AS, "
		               "which bounds each process's address space, not the tree's memory",
		               why);
		return;
	}
	snprintf(val, sizeof(val), "%llu", (unsigned long long)spec->memory_max);
	if (cgroup_write_string_at(cg->dir_fd, "memory.max", val) < 0) {
		report_control(r, "cgroup.memory", CONTROL_UNAVAILABLE, "writing memory.max=%s: %s",
		               val, strerror(errno));
		return;
	}
	/* Without this the limit only moves the excess to swap. */
	if (cgroup_write_string_at(cg->dir_fd, "memory.swap.max", "0") < 0) {
		report_control(
		    r, "cgroup.memory", CONTROL_DEGRADED,
		    "memory.max=%s but memory.swap.max=0 failed (%s): swap is not bounded", val,
		    strerror(errno));
		return;
	}
	report_control(r, "cgroup.memory", CONTROL_APPLIED, "memory.max=%s memory.swap.max=0", val);
}

static void apply_pids(const struct sandbox_spec *spec, struct cgroup_run *cg, struct run_report *r,
                       const char *why)
{
	char val[32];

	if (!(cg->controllers & CG_PIDS)) {
		report_control(r, "cgroup.pids", CONTROL_UNAVAILABLE,
		               "pids controller unavailable (%s); not substituted by RLIMIT_NPROC, "
		               "which counts the user's processes, not the tree's",
		               why);
		return;
	}
	snprintf(val, sizeof(val), "%llu", (unsigned long long)spec->pids_max);
	if (cgroup_write_string_at(cg->dir_fd, "pids.max", val) < 0)
		report_control(r, "cgroup.pids", CONTROL_UNAVAILABLE, "writing pids.max=%s: %s",
		               val, strerror(errno));
	else
		report_control(r, "cgroup.pids", CONTROL_APPLIED, "pids.max=%s", val);
}

static void apply_cpu(const struct sandbox_spec *spec, struct cgroup_run *cg, struct run_report *r,
                      const char *why)
{
	char weight[32] = "", max[64] = "", failed[CGROUP_REASON_MAX] = "";
	unsigned long long period = spec->cpu_max_period_us ? spec->cpu_max_period_us : 100000;

	if (!(cg->controllers & CG_CPU)) {
		report_control(r, "cgroup.cpu", CONTROL_UNAVAILABLE,
		               "cpu controller unavailable (%s)", why);
		return;
	}
	if (spec->cpu_weight) {
		snprintf(weight, sizeof(weight), "%llu", (unsigned long long)spec->cpu_weight);
		if (cgroup_write_string_at(cg->dir_fd, "cpu.weight", weight) < 0)
			snprintf(failed, sizeof(failed), "writing cpu.weight=%s: %s", weight,
			         strerror(errno));
	}
	if (spec->cpu_max_quota_us) {
		snprintf(max, sizeof(max), "%llu %llu", (unsigned long long)spec->cpu_max_quota_us,
		         period);
		if (cgroup_write_string_at(cg->dir_fd, "cpu.max", max) < 0)
			snprintf(failed, sizeof(failed), "writing cpu.max=%s: %s", max,
			         strerror(errno));
	}
	if (failed[0] && spec->cpu_weight && spec->cpu_max_quota_us)
		report_control(r, "cgroup.cpu", CONTROL_DEGRADED, "%s", failed);
	else if (failed[0])
		report_control(r, "cgroup.cpu", CONTROL_UNAVAILABLE, "%s", failed);
	else
		report_control(r, "cgroup.cpu", CONTROL_APPLIED, "cpu.weight=%s cpu.max=%s",
		               weight[0] ? weight : "-", max[0] ? max : "-");
}

static const char *why_for(const struct controller_why *w, unsigned bit)
{
	const char *s = w->why[cgroup_controller_index(bit)];

	return s[0] ? s : "not enabled for the run cgroup";
}

static void apply_limits(const struct sandbox_spec *spec, const char *parent, struct cgroup_run *cg,
                         struct run_report *r, const struct controller_why *w)
{
	if (spec->cpus_set)
		apply_cpuset(spec, parent, cg, r, why_for(w, CG_CPUSET));
	if (spec->memory_max)
		apply_memory(spec, cg, r, why_for(w, CG_MEMORY));
	if (spec->pids_max)
		apply_pids(spec, cg, r, why_for(w, CG_PIDS));
	if (spec->cpu_weight || spec->cpu_max_quota_us)
		apply_cpu(spec, cg, r, why_for(w, CG_CPU));
}

/* setup_unavailable with a message of our own (freed here): 1, or -1 when
 * the run requires cgroups. */
static int run_cgroup_unavailable(const struct sandbox_spec *spec, struct cgroup_run *cg,
                                  struct run_report *r, struct error *err, char *why)
{
	int rc = setup_unavailable(spec, cg, r, err, why);

	free(why);
	return rc < 0 ? -1 : 1;
}

static int create_run_cgroup(const struct sandbox_spec *spec, const char *parent,
                             const char *run_id, struct cgroup_run *cg, struct run_report *r,
                             struct error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", parent, run_id);
	char *why;
	int fd;

	if (mkdir(path, 0755) < 0)
		return run_cgroup_unavailable(spec, cg, r, err,
		                              xasprintf("creating %s: %s", path, strerror(errno)));
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		why = xasprintf("opening %s: %s", path, strerror(errno));
		rmdir(path);
		return run_cgroup_unavailable(spec, cg, r, err, why);
	}
	cg->path = TAKE_PTR(path);
	cg->dir_fd = fd;
	report_control(r, "cgroup", CONTROL_APPLIED, "%s", cg->path);
	return 0;
}

int cgroup_setup_at(const char *root, const struct sandbox_spec *spec, const char *run_id,
                    struct cgroup_run *cg, struct run_report *r, struct error *err)
{
	const char *parent_rel = spec->cgroup_parent ? spec->cgroup_parent : CGROUP_DEFAULT_PARENT;
	struct controller_why w;
	struct error e2;
	char ctl_text[CGROUP_FILE_MAX];
	unsigned wanted = controllers_wanted(spec), enabled;
	char *parent;
	size_t rootlen;
	int rc;

	memset(cg, 0, sizeof(*cg));
	memset(&w, 0, sizeof(w));
	cg->dir_fd = -1;
	/* Accept the parent as a full path below the mount as well. */
	rootlen = strlen(root);
	if (strncmp(parent_rel, root, rootlen) == 0 &&
	    (parent_rel[rootlen] == '/' || parent_rel[rootlen] == '\0'))
		parent_rel += rootlen;
	if (check_names(parent_rel, run_id, err) < 0)
		return -1;
	parent_rel += strspn(parent_rel, "/");
	parent = parent_rel[0] ? xasprintf("%s/%s", root, parent_rel) : xstrdup(root);
	if (mkdir_p(parent, 0755, &e2) < 0) {
		free(parent);
		return setup_unavailable(spec, cg, r, err, e2.msg);
	}
	/* A failed cleanup must not stop this run; the next one retries. */
	cgroup_clean_stale(parent, &e2);
	enabled = enable_controllers(root, parent_rel, wanted, &w);
	rc = create_run_cgroup(spec, parent, run_id, cg, r, err);
	if (rc != 0) {
		free(parent);
		return rc < 0 ? -1 : 0;
	}
	/* The run cgroup's own list is the truth; a fake tree has none. */
	if (cgroup_read_small_at(cg->dir_fd, "cgroup.controllers", ctl_text, sizeof(ctl_text)) == 0)
		cg->controllers = cgroup_parse_controllers(ctl_text) & wanted;
	else
		cg->controllers = enabled;
	apply_limits(spec, parent, cg, r, &w);
	free(parent);
	return 0;
}

int cgroup_probe(char **mount_point, unsigned *controllers, struct error *err)
{
	char *text = NULL, ctl[CGROUP_FILE_MAX];
	int rc;

	*mount_point = NULL;
	*controllers = 0;
	if (read_file("/proc/self/mountinfo", &text, NULL, err) < 0)
		return -1;
	rc = cgroup2_find_mount(text, mount_point, err);
	free(text);
	if (rc < 0)
		return -1;
	if (cgroup_read_in(*mount_point, "cgroup.controllers", ctl, sizeof(ctl)) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "reading %s/cgroup.controllers",
		                 *mount_point);
	*controllers = cgroup_parse_controllers(ctl);
	return 0;
}

int cgroup_setup(const struct sandbox_spec *spec, const char *run_id, struct cgroup_run *cg,
                 struct run_report *r, struct error *err)
{
	struct error e2;
	char *text = NULL, *root = NULL;
	int rc;

	memset(cg, 0, sizeof(*cg));
	cg->dir_fd = -1;
	if (read_file("/proc/self/mountinfo", &text, NULL, &e2) < 0)
		return setup_unavailable(spec, cg, r, err, e2.msg);
	rc = cgroup2_find_mount(text, &root, &e2);
	free(text);
	if (rc < 0)
		return setup_unavailable(spec, cg, r, err, e2.msg);
	rc = cgroup_setup_at(root, spec, run_id, cg, r, err);
	free(root);
	return rc;
}

/* ---- after clone ---- */

int cgroup_apply_fallbacks(const struct sandbox_spec *spec, struct cgroup_run *cg, pid_t child,
                           struct run_report *r, struct error *err)
{
	size_t size = CPU_ALLOC_SIZE(CPU_LIST_MAX);
	cpu_set_t *set;
	int rc;

	if (!spec->cpus_set || cg->cpuset_applied)
		return 0;
	set = CPU_ALLOC(CPU_LIST_MAX);
	if (set == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "allocating a cpu set");
	CPU_ZERO_S(size, set);
	for (int i = 0; i < CPU_LIST_MAX; i++)
		if (spec->cpus[i / 8] & (1u << (i % 8)))
			CPU_SET_S(i, size, set);
	rc = sched_setaffinity(child, size, set);
	CPU_FREE(set);
	if (rc < 0) {
		int e = errno;
		report_control(r, "cgroup.cpuset", CONTROL_UNAVAILABLE,
		               "cpuset controller unavailable (%s); sched_setaffinity failed: %s",
		               cg->cpuset_reason, strerror(e));
		if (spec->strict)
			return error_set(err, EXIT_RUNNER_ERROR, e, "sched_setaffinity of pid %ld",
			                 (long)child);
		return 0;
	}
	report_control(r, "cgroup.cpuset", CONTROL_DEGRADED,
	               "cpuset controller unavailable (%s); pinned with sched_setaffinity",
	               cg->cpuset_reason);
	return 0;
}

int cgroup_attach(struct cgroup_run *cg, pid_t pid, struct error *err)
{
	char val[24];

	if (cg->dir_fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "no cgroup to attach pid %ld to",
		                 (long)pid);
	snprintf(val, sizeof(val), "%ld", (long)pid);
	if (cgroup_write_string_at(cg->dir_fd, "cgroup.procs", val) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno,
		                 "moving pid %s into %s/cgroup.procs", val, cg->path);
	return 0;
}

int cgroup_read_stats(struct cgroup_run *cg, struct cgroup_stats *st)
{
	char buf[CGROUP_FILE_MAX];

	memset(st, 0, sizeof(*st));
	if (cg->dir_fd < 0)
		return -1;
	if (cgroup_read_small_at(cg->dir_fd, "cpu.stat", buf, sizeof(buf)) == 0 &&
	    cgroup_parse_cpu_stat(buf, st) < 0)
		st->has_cpu = false;
	if (cgroup_read_small_at(cg->dir_fd, "memory.peak", buf, sizeof(buf)) == 0)
		st->has_memory_peak = cgroup_parse_single_u64(buf, &st->memory_peak) == 0;
	if (cgroup_read_small_at(cg->dir_fd, "memory.events", buf, sizeof(buf)) == 0 &&
	    cgroup_parse_memory_events(buf, st) < 0)
		st->has_memory_events = false;
	if (cgroup_read_small_at(cg->dir_fd, "pids.peak", buf, sizeof(buf)) == 0)
		st->has_pids_peak = cgroup_parse_single_u64(buf, &st->pids_peak) == 0;
	return 0;
}

static void json_set_u64(json_t *o, const char *key, uint64_t v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

json_t *cgroup_stats_json(const struct cgroup_stats *st)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	if (st->has_cpu) {
		json_set_u64(o, "usage_usec", st->usage_usec);
		json_set_u64(o, "user_usec", st->user_usec);
		json_set_u64(o, "system_usec", st->system_usec);
	}
	if (st->has_memory_peak)
		json_set_u64(o, "memory_peak", st->memory_peak);
	if (st->has_memory_events) {
		json_set_u64(o, "oom", st->oom);
		json_set_u64(o, "oom_kill", st->oom_kill);
	}
	if (st->has_pids_peak)
		json_set_u64(o, "pids_peak", st->pids_peak);
	return o;
}
