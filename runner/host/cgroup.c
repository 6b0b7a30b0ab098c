/* cgroup.c - see cgroup.h */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "host/cgroup.h"

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

#include "base/mountinfo.h"

/* Bounds for waiting on a killed tree: 200 x 25 ms.  Killed processes only
 * need to be scheduled to exit; a tree still populated after that is stuck
 * (D state on a dead NFS server...) and is reported, not waited for. */
#define EMPTY_WAIT_STEPS 200
#define EMPTY_WAIT_STEP_MS 25
#define REKILL_EVERY 8
#define RMDIR_RETRIES 100
#define RMDIR_RETRY_NS (10 * 1000 * 1000L)
#define KILL_ROUNDS 100
#define SMALL_FILE_MAX 4096
#define N_CONTROLLERS 8

static const struct {
	unsigned bit;
	const char *name;
} controller_names[N_CONTROLLERS] = {
    {CG_CPUSET, "cpuset"}, {CG_CPU, "cpu"},         {CG_IO, "io"},     {CG_MEMORY, "memory"},
    {CG_PIDS, "pids"},     {CG_HUGETLB, "hugetlb"}, {CG_RDMA, "rdma"}, {CG_MISC, "misc"},
};

/* Why a controller could not be enabled, indexed like controller_names. */
struct controller_why {
	char why[N_CONTROLLERS][CGROUP_REASON_MAX];
};

static int controller_index(unsigned bit)
{
	for (int i = 0; i < N_CONTROLLERS; i++)
		if (controller_names[i].bit == bit)
			return i;
	return 0;
}

/* ---- small file helpers: errno is preserved for the caller ---- */

static int read_small_at(int dfd, const char *name, char *buf, size_t len)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	size_t used = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (used < len - 1) {
		n = read(fd, buf + used, len - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	close(fd);
	return 0;
}

static int read_small(const char *path, char *buf, size_t len)
{
	return read_small_at(AT_FDCWD, path, buf, len);
}

/* cgroup files take one value per write(2): never O_CREAT, never split. */
static int write_string_at(int dfd, const char *name, const char *value)
{
	int fd = openat(dfd, name, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(value);
	ssize_t n;

	if (fd < 0)
		return -1;
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 || (size_t)n != len) {
		int saved = n < 0 ? errno : EIO;
		close(fd);
		errno = saved;
		return -1;
	}
	if (close(fd) < 0)
		return -1;
	return 0;
}

static int write_string(const char *path, const char *value)
{
	return write_string_at(AT_FDCWD, path, value);
}

static int write_in(const char *dir, const char *name, const char *value)
{
	char *path = xasprintf("%s/%s", dir, name);
	int rc = write_string(path, value);
	int saved = errno;

	free(path);
	errno = saved;
	return rc;
}

static int read_in(const char *dir, const char *name, char *buf, size_t len)
{
	char *path = xasprintf("%s/%s", dir, name);
	int rc = read_small(path, buf, len);
	int saved = errno;

	free(path);
	errno = saved;
	return rc;
}

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

/* ---- parsers ---- */

/* The first cgroup2 mount wins, as the kernel lists parents first. */
static int cgroup2_point(const struct mountinfo_entry *e, void *ctx)
{
	char **mount_point = ctx;

	if (strcmp(e->fstype, "cgroup2") != 0)
		return 0;
	*mount_point = xstrdup(e->mount_point);
	return 1;
}

int cgroup2_find_mount(const char *mountinfo_text, char **mount_point, struct error *err)
{
	*mount_point = NULL;
	if (mountinfo_foreach(mountinfo_text, cgroup2_point, mount_point))
		return 0;
	return error_set(err, EXIT_RUNNER_ERROR, 0, "no cgroup2 mount in /proc/self/mountinfo");
}

unsigned cgroup_parse_controllers(const char *text)
{
	unsigned mask = 0;
	const char *p = text;

	while (p && *p) {
		size_t n;

		p += strspn(p, " \t\n");
		n = strcspn(p, " \t\n");
		for (int i = 0; i < N_CONTROLLERS && n > 0; i++)
			if (strlen(controller_names[i].name) == n &&
			    strncmp(p, controller_names[i].name, n) == 0)
				mask |= controller_names[i].bit;
		p += n;
	}
	return mask;
}

void cgroup_format_controllers(unsigned mask, char *buf, size_t len)
{
	size_t used = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (int i = 0; i < N_CONTROLLERS; i++) {
		int n;

		if (!(mask & controller_names[i].bit))
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? " " : "",
		             controller_names[i].name);
		if (n < 0 || (size_t)n >= len - used) {
			buf[used] = '\0'; /* whole names only */
			return;
		}
		used += (size_t)n;
	}
}

/* Find "key value" on its own line; *found stays false when absent. */
static int kv_lookup(const char *text, const char *key, uint64_t *val, bool *found)
{
	size_t klen = strlen(key);

	*found = false;
	for (const char *l = text; l && *l;) {
		const char *eol = strchr(l, '\n');

		if (strncmp(l, key, klen) == 0 && l[klen] == ' ') {
			const char *v = l + klen + 1;
			char *end = NULL;
			unsigned long long x;

			if (!isdigit((unsigned char)*v))
				return -1;
			errno = 0;
			x = strtoull(v, &end, 10);
			if (errno != 0 || (*end != '\n' && *end != '\0'))
				return -1;
			*val = x;
			*found = true;
			return 0;
		}
		l = eol ? eol + 1 : NULL;
	}
	return 0;
}

int cgroup_parse_cpu_stat(const char *text, struct cgroup_stats *st)
{
	bool a, b, c;

	if (kv_lookup(text, "usage_usec", &st->usage_usec, &a) < 0 ||
	    kv_lookup(text, "user_usec", &st->user_usec, &b) < 0 ||
	    kv_lookup(text, "system_usec", &st->system_usec, &c) < 0)
		return -1;
	st->has_cpu = a && b && c;
	return 0;
}

int cgroup_parse_memory_events(const char *text, struct cgroup_stats *st)
{
	bool a, b;

	if (kv_lookup(text, "oom", &st->oom, &a) < 0 ||
	    kv_lookup(text, "oom_kill", &st->oom_kill, &b) < 0)
		return -1;
	st->has_memory_events = a && b;
	return 0;
}

int cgroup_parse_populated(const char *text, bool *populated)
{
	uint64_t v = 0;
	bool found;

	if (kv_lookup(text, "populated", &v, &found) < 0 || !found || v > 1)
		return -1;
	*populated = v == 1;
	return 0;
}

static int parse_single_u64(char *text, uint64_t *out)
{
	struct error ignored;

	chomp(text);
	return parse_u64(text, out, &ignored);
}

/* ---- run ids and stale cgroups ---- */

int cgroup_make_run_id(char *buf, size_t len, struct error *err)
{
	uint64_t rnd;
	ssize_t n;

	do
		n = getrandom(&rnd, sizeof(rnd), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(rnd))
		return error_set(err, EXIT_RUNNER_ERROR, n < 0 ? errno : EIO,
		                 "getrandom for the cgroup run id");
	n = snprintf(buf, len, "%ld-%016llx", (long)getpid(), (unsigned long long)rnd);
	if (n < 0 || (size_t)n >= len)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "cgroup run id buffer too small");
	return 0;
}

int cgroup_run_id_owner(const char *name, pid_t *owner)
{
	const char *dash = strchr(name, '-');
	uint64_t v = 0;

	if (dash == NULL || dash == name || dash[1] == '\0' || strchr(name, '/'))
		return -1;
	for (const char *p = name; p < dash; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > INT_MAX)
			return -1;
	}
	if (v == 0)
		return -1;
	*owner = (pid_t)v;
	return 0;
}

static int kill_procs(const char *path)
{
	char *procs = xasprintf("%s/cgroup.procs", path);
	char *text = NULL;
	struct error ignored;

	for (int round = 0; round < KILL_ROUNDS; round++) {
		bool any = false;

		if (read_file(procs, &text, NULL, &ignored) < 0) {
			/* the error keeps its errno: a cgroup removed meanwhile is
			 * done, anything else is for the caller (errno set) */
			free(procs);
			errno = ignored.errnum;
			return ignored.errnum == ENOENT ? 0 : -1;
		}
		for (char *p = text; *p;) {
			char *end = NULL;
			long pid = strtol(p, &end, 10);

			if (end == p)
				break;
			if (pid > 0) {
				/* SIGKILL does wake stopped tasks, but a frozen
				 * or traced one is easier on everyone continued. */
				kill((pid_t)pid, SIGCONT);
				kill((pid_t)pid, SIGKILL);
				any = true;
			}
			p = end;
		}
		free(text);
		if (!any) {
			free(procs);
			return 0;
		}
		sleep_ns(RMDIR_RETRY_NS);
	}
	free(procs);
	errno = EBUSY;
	return -1;
}

static int kill_path(const char *path)
{
	if (write_in(path, "cgroup.kill", "1") == 0)
		return 0;
	/* Kernels before 5.14 have no cgroup.kill. */
	return kill_procs(path);
}

/* Wait until cgroup.events says "populated 0".  A missing cgroup.events
 * means the cgroup is gone (or not a cgroup): rmdir will tell. */
static int wait_unpopulated(const char *path)
{
	char *events = xasprintf("%s/cgroup.events", path);
	int fd = open(events, O_RDONLY | O_CLOEXEC);
	int rc = -1;

	free(events);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	for (int i = 0; i < EMPTY_WAIT_STEPS; i++) {
		char buf[256];
		struct pollfd pfd = {.fd = fd, .events = POLLPRI};
		bool populated = true;
		ssize_t n;

		if (lseek(fd, 0, SEEK_SET) < 0)
			break;
		n = read(fd, buf, sizeof(buf) - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		buf[n] = '\0';
		if (cgroup_parse_populated(buf, &populated) < 0) {
			errno = EINVAL;
			break;
		}
		if (!populated) {
			rc = 0;
			break;
		}
		if (i > 0 && i % REKILL_EVERY == 0)
			kill_path(path);
		/* kernfs signals POLLPRI when cgroup.events changes. */
		if (poll(&pfd, 1, EMPTY_WAIT_STEP_MS) < 0 && errno != EINTR)
			break;
		errno = EBUSY;
	}
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* rmdir a cgroup and any cgroups below it, deepest first; EBUSY right after
 * the last task exited is transient, so it is retried a bounded number of
 * times. */
static int rmdir_tree(const char *path, struct error *err)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening cgroup %s", path);
	}
	while ((de = readdir(d)) != NULL) {
		char *sub;
		int rc;

		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		sub = xasprintf("%s/%s", path, de->d_name);
		rc = rmdir_tree(sub, err);
		free(sub);
		if (rc < 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	for (int i = 0; i < RMDIR_RETRIES; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		sleep_ns(RMDIR_RETRY_NS);
	}
	return error_set(err, EXIT_RUNNER_ERROR, errno, "removing cgroup %s", path);
}

static int remove_cgroup(const char *path, struct error *err)
{
	/* The usual case: the run is over and its cgroup empty, and rmdir
	 * refuses (EBUSY) a cgroup with processes or children left. */
	if (rmdir(path) == 0 || errno == ENOENT)
		return 0;
	if (kill_path(path) < 0 && errno != ENOENT)
		return error_set(err, EXIT_RUNNER_ERROR, errno,
		                 "killing the processes of cgroup %s", path);
	if (wait_unpopulated(path) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno,
		                 "waiting for cgroup %s to become empty", path);
	return rmdir_tree(path, err);
}

static bool owner_is_gone(const char *name)
{
	pid_t owner;

	if (cgroup_run_id_owner(name, &owner) < 0 || owner == getpid())
		return false;
	/* EPERM means the pid exists (another user's process): not stale. */
	return kill(owner, 0) < 0 && errno == ESRCH;
}

int cgroup_clean_stale(const char *parent_path, struct error *err)
{
	DIR *d = opendir(parent_path);
	struct dirent *de;
	char **stale = NULL;
	size_t n = 0;
	int removed = 0, rc = 0;

	if (d == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening cgroup %s", parent_path);
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || !owner_is_gone(de->d_name))
			continue;
		stale = xrealloc(stale, (n + 1) * sizeof(*stale));
		stale[n++] = xasprintf("%s/%s", parent_path, de->d_name);
	}
	closedir(d);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && remove_cgroup(stale[i], err) < 0)
			rc = -1;
		else if (rc == 0)
			removed++;
		free(stale[i]);
	}
	free(stale);
	return rc < 0 ? -1 : removed;
}

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
	vsnprintf(w->why[controller_index(bit)], CGROUP_REASON_MAX, fmt, ap);
	va_end(ap);
}

static int write_subtree_control(const char *level, unsigned mask)
{
	char buf[128];
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < N_CONTROLLERS; i++)
		if (mask & controller_names[i].bit)
			used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s+%s",
			                         used ? " " : "", controller_names[i].name);
	return write_in(level, "cgroup.subtree_control", buf);
}

/* Enable the controllers of *ok in `level`'s subtree_control; the ones that
 * cannot be are removed from *ok with a reason. */
static void enable_at_level(const char *level, unsigned *ok, struct controller_why *w)
{
	char avail_text[SMALL_FILE_MAX], on_text[SMALL_FILE_MAX];
	unsigned avail, todo;

	if (read_in(level, "cgroup.controllers", avail_text, sizeof(avail_text)) < 0) {
		for (int i = 0; i < N_CONTROLLERS; i++)
			if (*ok & controller_names[i].bit)
				set_why(w, controller_names[i].bit,
				        "reading %s/cgroup.controllers: %s", level,
				        strerror(errno));
		*ok = 0;
		return;
	}
	avail = cgroup_parse_controllers(avail_text);
	for (int i = 0; i < N_CONTROLLERS; i++)
		if ((*ok & controller_names[i].bit) && !(avail & controller_names[i].bit))
			set_why(w, controller_names[i].bit, "not listed in %s/cgroup.controllers",
			        level);
	*ok &= avail;
	if (read_in(level, "cgroup.subtree_control", on_text, sizeof(on_text)) < 0)
		on_text[0] = '\0';
	todo = *ok & ~cgroup_parse_controllers(on_text);
	if (todo == 0 || write_subtree_control(level, todo) == 0)
		return;
	/* One of them failed: find which, one at a time. */
	for (int i = 0; i < N_CONTROLLERS; i++) {
		unsigned bit = controller_names[i].bit;

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

static void apply_cpuset(const struct sandbox_spec *spec, const char *parent, struct cgroup_run *cg,
                         struct run_report *r, const char *why)
{
	char mems[SMALL_FILE_MAX], eff_text[SMALL_FILE_MAX];
	uint8_t eff[CPU_LIST_MAX / 8];
	char *want = format_cpu_list(spec->cpus);
	struct error perr;

	if (!(cg->controllers & CG_CPUSET)) {
		snprintf(cg->cpuset_reason, sizeof(cg->cpuset_reason), "%s", why);
		report_control(r, "cgroup.cpuset", CONTROL_UNAVAILABLE,
		               "cpuset controller unavailable (%s)", why);
		free(want);
		return;
	}
	if (read_in(parent, "cpuset.mems.effective", mems, sizeof(mems)) < 0) {
		snprintf(cg->cpuset_reason, sizeof(cg->cpuset_reason),
		         "reading %s/cpuset.mems.effective: %s", parent, strerror(errno));
		goto unavailable;
	}
	chomp(mems);
	if (mems[0] && write_string_at(cg->dir_fd, "cpuset.mems", mems) < 0) {
		snprintf(cg->cpuset_reason, sizeof(cg->cpuset_reason),
		         "writing cpuset.mems=%.64s: %s", mems, strerror(errno));
		goto unavailable;
	}
	if (write_string_at(cg->dir_fd, "cpuset.cpus", want) < 0) {
		snprintf(cg->cpuset_reason, sizeof(cg->cpuset_reason), "writing cpuset.cpus=%s: %s",
		         want, strerror(errno));
		goto unavailable;
	}
	cg->cpuset_applied = true;
	/* The kernel narrows cpuset.cpus to what the parent has, silently. */
	if (read_small_at(cg->dir_fd, "cpuset.cpus.effective", eff_text, sizeof(eff_text)) < 0)
		snprintf(eff_text, sizeof(eff_text), "unreadable: %s", strerror(errno));
	chomp(eff_text);
	if (parse_cpu_list(eff_text, eff, &perr) < 0 || memcmp(eff, spec->cpus, sizeof(eff)) != 0)
		report_control(r, "cgroup.cpuset", CONTROL_DEGRADED,
		               "cpuset.cpus=%s but cpuset.cpus.effective is '%s'", want, eff_text);
	else
		report_control(r, "cgroup.cpuset", CONTROL_APPLIED, "cpuset.cpus=%s cpuset.mems=%s",
		               want, mems);
	free(want);
	return;
unavailable:
	report_control(r, "cgroup.cpuset", CONTROL_UNAVAILABLE,
	               "cpuset controller unavailable (%s)", cg->cpuset_reason);
	free(want);
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
	if (write_string_at(cg->dir_fd, "memory.max", val) < 0) {
		report_control(r, "cgroup.memory", CONTROL_UNAVAILABLE, "writing memory.max=%s: %s",
		               val, strerror(errno));
		return;
	}
	/* Without this the limit only moves the excess to swap. */
	if (write_string_at(cg->dir_fd, "memory.swap.max", "0") < 0) {
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
	if (write_string_at(cg->dir_fd, "pids.max", val) < 0)
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
		if (write_string_at(cg->dir_fd, "cpu.weight", weight) < 0)
			snprintf(failed, sizeof(failed), "writing cpu.weight=%s: %s", weight,
			         strerror(errno));
	}
	if (spec->cpu_max_quota_us) {
		snprintf(max, sizeof(max), "%llu %llu", (unsigned long long)spec->cpu_max_quota_us,
		         period);
		if (write_string_at(cg->dir_fd, "cpu.max", max) < 0)
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
	const char *s = w->why[controller_index(bit)];

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

static int create_run_cgroup(const struct sandbox_spec *spec, const char *parent,
                             const char *run_id, struct cgroup_run *cg, struct run_report *r,
                             struct error *err)
{
	char *path = xasprintf("%s/%s", parent, run_id);
	char *why;
	int fd, rc;

	if (mkdir(path, 0755) < 0) {
		why = xasprintf("creating %s: %s", path, strerror(errno));
		goto fail;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		why = xasprintf("opening %s: %s", path, strerror(errno));
		rmdir(path);
		goto fail;
	}
	cg->path = path;
	cg->dir_fd = fd;
	report_control(r, "cgroup", CONTROL_APPLIED, "%s", path);
	return 0;
fail:
	free(path);
	rc = setup_unavailable(spec, cg, r, err, why);
	free(why);
	return rc < 0 ? -1 : 1;
}

int cgroup_setup_at(const char *root, const struct sandbox_spec *spec, const char *run_id,
                    struct cgroup_run *cg, struct run_report *r, struct error *err)
{
	const char *parent_rel = spec->cgroup_parent ? spec->cgroup_parent : CGROUP_DEFAULT_PARENT;
	struct controller_why w;
	struct error e2;
	char ctl_text[SMALL_FILE_MAX];
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
	if (read_small_at(cg->dir_fd, "cgroup.controllers", ctl_text, sizeof(ctl_text)) == 0)
		cg->controllers = cgroup_parse_controllers(ctl_text) & wanted;
	else
		cg->controllers = enabled;
	apply_limits(spec, parent, cg, r, &w);
	free(parent);
	return 0;
}

int cgroup_probe(char **mount_point, unsigned *controllers, struct error *err)
{
	char *text = NULL, ctl[SMALL_FILE_MAX];
	int rc;

	*mount_point = NULL;
	*controllers = 0;
	if (read_file("/proc/self/mountinfo", &text, NULL, err) < 0)
		return -1;
	rc = cgroup2_find_mount(text, mount_point, err);
	free(text);
	if (rc < 0)
		return -1;
	if (read_in(*mount_point, "cgroup.controllers", ctl, sizeof(ctl)) < 0)
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
	if (write_string_at(cg->dir_fd, "cgroup.procs", val) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno,
		                 "moving pid %s into %s/cgroup.procs", val, cg->path);
	return 0;
}

int cgroup_kill(struct cgroup_run *cg)
{
	if (cg->path == NULL)
		return 0;
	return kill_path(cg->path);
}

int cgroup_read_stats(struct cgroup_run *cg, struct cgroup_stats *st)
{
	char buf[SMALL_FILE_MAX];

	memset(st, 0, sizeof(*st));
	if (cg->dir_fd < 0)
		return -1;
	if (read_small_at(cg->dir_fd, "cpu.stat", buf, sizeof(buf)) == 0 &&
	    cgroup_parse_cpu_stat(buf, st) < 0)
		st->has_cpu = false;
	if (read_small_at(cg->dir_fd, "memory.peak", buf, sizeof(buf)) == 0)
		st->has_memory_peak = parse_single_u64(buf, &st->memory_peak) == 0;
	if (read_small_at(cg->dir_fd, "memory.events", buf, sizeof(buf)) == 0 &&
	    cgroup_parse_memory_events(buf, st) < 0)
		st->has_memory_events = false;
	if (read_small_at(cg->dir_fd, "pids.peak", buf, sizeof(buf)) == 0)
		st->has_pids_peak = parse_single_u64(buf, &st->pids_peak) == 0;
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

int cgroup_destroy(struct cgroup_run *cg, struct error *err)
{
	int rc = 0;

	if (cg->dir_fd >= 0)
		close(cg->dir_fd);
	cg->dir_fd = -1;
	if (cg->path)
		rc = remove_cgroup(cg->path, err);
	free(cg->path);
	cg->path = NULL;
	return rc;
}
