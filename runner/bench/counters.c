/* counters.c - see counters.h */
#define _GNU_SOURCE
#include "bench/counters.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

struct counter_def {
	const char *name;
	uint32_t type;
	uint64_t config;
	int group; /* index of the group leader, -1 alone */
};

#define HW_CACHE(cache, op, result)                                                                \
	((uint64_t)(cache) | ((uint64_t)(op) << 8) | ((uint64_t)(result) << 16))

static const struct counter_def defs[CTR_COUNT] = {
    [CTR_CYCLES] = {"cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, CTR_CYCLES},
    [CTR_INSTRUCTIONS] = {"instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS,
                          CTR_CYCLES},
    [CTR_BRANCHES] = {"branches", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS,
                      CTR_CYCLES},
    [CTR_BRANCH_MISSES] = {"branch-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES,
                           CTR_CYCLES},
    [CTR_CACHE_REFERENCES] = {"cache-references", PERF_TYPE_HARDWARE,
                              PERF_COUNT_HW_CACHE_REFERENCES, CTR_CACHE_REFERENCES},
    [CTR_CACHE_MISSES] = {"cache-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES,
                          CTR_CACHE_REFERENCES},
    [CTR_L1D_LOAD_MISSES] = {"L1-dcache-load-misses", PERF_TYPE_HW_CACHE,
                             HW_CACHE(PERF_COUNT_HW_CACHE_L1D, PERF_COUNT_HW_CACHE_OP_READ,
                                      PERF_COUNT_HW_CACHE_RESULT_MISS),
                             CTR_CACHE_REFERENCES},
    [CTR_DTLB_LOAD_MISSES] = {"dTLB-load-misses", PERF_TYPE_HW_CACHE,
                              HW_CACHE(PERF_COUNT_HW_CACHE_DTLB, PERF_COUNT_HW_CACHE_OP_READ,
                                       PERF_COUNT_HW_CACHE_RESULT_MISS),
                              CTR_CACHE_REFERENCES},
    [CTR_TASK_CLOCK] = {"task-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK, -1},
    [CTR_PAGE_FAULTS] = {"page-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, -1},
    [CTR_CONTEXT_SWITCHES] = {"context-switches", PERF_TYPE_SOFTWARE,
                              PERF_COUNT_SW_CONTEXT_SWITCHES, -1},
    [CTR_CPU_MIGRATIONS] = {"cpu-migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS, -1},
};

const char *counter_name(enum counter_id id)
{
	return (unsigned)id < CTR_COUNT ? defs[id].name : "unknown";
}

int counter_by_name(const char *name)
{
	for (int i = 0; i < CTR_COUNT; i++)
		if (strcmp(defs[i].name, name) == 0)
			return i;
	return -1;
}

bool counter_is_hardware(enum counter_id id)
{
	return id < CTR_FIRST_SOFTWARE;
}

static int perf_open(const struct counter_def *d, pid_t pid, int group_fd, bool on_exec,
                     bool user_only)
{
	struct perf_event_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = d->type;
	attr.config = d->config;
	attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
	attr.inherit = 1;
	attr.exclude_hv = 1;
	attr.exclude_kernel = user_only;
	/* Only the leader carries the enable state; members follow it. */
	attr.disabled = group_fd < 0;
	attr.enable_on_exec = on_exec && group_fd < 0;
	return (int)syscall(SYS_perf_event_open, &attr, pid, -1, group_fd, PERF_FLAG_FD_CLOEXEC);
}

/* Kernel counts need perf_event_paranoid <= 1 or CAP_PERFMON; user-space
 * counts are the fallback, reported through the probe's status. */
static int open_one(enum counter_id id, pid_t pid, int group_fd, bool on_exec)
{
	int fd = perf_open(&defs[id], pid, group_fd, on_exec, false);

	if (fd < 0 && (errno == EACCES || errno == EPERM))
		fd = perf_open(&defs[id], pid, group_fd, on_exec, true);
	return fd;
}

static void describe_errno(char *buf, size_t len, const char *what, int e)
{
	snprintf(buf, len, "unavailable: perf_event_open(%s): %s", what, strerror(e));
}

void counters_probe(struct counter_probe *p)
{
	int fd;

	memset(p, 0, sizeof(*p));
	fd = open_one(CTR_CYCLES, 0, -1, false);
	if (fd >= 0) {
		p->hardware = true;
		close(fd);
	} else {
		describe_errno(p->status, sizeof(p->status), "cycles", errno);
	}
	fd = open_one(CTR_TASK_CLOCK, 0, -1, false);
	if (fd >= 0) {
		p->software = true;
		close(fd);
	} else if (p->hardware) {
		describe_errno(p->status, sizeof(p->status), "task-clock", errno);
	}
	if (p->hardware)
		snprintf(p->status, sizeof(p->status), "available");
	else if (p->software)
		snprintf(p->status + strlen(p->status), sizeof(p->status) - strlen(p->status),
		         " (software counters only)");
}

void counter_set_init(struct counter_set *cs)
{
	for (int i = 0; i < CTR_COUNT; i++)
		cs->fd[i] = -1;
	cs->open_errno = 0;
}

int counters_open(struct counter_set *cs, const struct counter_probe *probe, uint32_t want,
                  pid_t pid, struct error *err)
{
	if (pid <= 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "counters: bad pid %d", (int)pid);
	for (int i = 0; i < CTR_COUNT; i++) {
		bool hw = counter_is_hardware((enum counter_id)i);
		int leader = defs[i].group;
		int group_fd = -1;

		if (!(want & (1u << i)) || (hw && !probe->hardware) || (!hw && !probe->software))
			continue;
		if (leader >= 0 && leader != i) {
			if (cs->fd[leader] < 0)
				continue; /* no leader, no group */
			group_fd = cs->fd[leader];
		}
		cs->fd[i] = open_one((enum counter_id)i, pid, group_fd, true);
		if (cs->fd[i] < 0 && cs->open_errno == 0)
			cs->open_errno = errno;
	}
	return 0;
}

struct read_value {
	uint64_t value, enabled, running;
};

void counters_read(const struct counter_set *cs, struct counter_values *out)
{
	memset(out, 0, sizeof(*out));
	out->running = 1.0;
	for (int i = 0; i < CTR_COUNT; i++) {
		struct read_value rv;
		double scaled;

		if (cs->fd[i] < 0 || read(cs->fd[i], &rv, sizeof(rv)) != (ssize_t)sizeof(rv))
			continue;
		/* Never scheduled (group did not fit, or the command never
		 * ran): there is no count, not a zero count. */
		if (rv.running == 0)
			continue;
		scaled = (double)rv.value;
		if (rv.running < rv.enabled) {
			double frac = (double)rv.running / (double)rv.enabled;
			scaled /= frac;
			if (frac < out->running)
				out->running = frac;
		}
		out->value[i] = (uint64_t)(scaled + 0.5);
		out->valid |= 1u << i;
	}
}

void counters_close(struct counter_set *cs)
{
	/* Members first: closing a leader orphans its group. */
	for (int i = CTR_COUNT - 1; i >= 0; i--) {
		if (cs->fd[i] >= 0)
			close(cs->fd[i]);
		cs->fd[i] = -1;
	}
}

json_t *counters_to_json(const struct counter_values *v)
{
	json_t *o;

	if (v->valid == 0)
		return json_null();
	o = json_object();
	for (int i = 0; i < CTR_COUNT; i++)
		if (v->valid & (1u << i))
			json_object_set_new(o, defs[i].name, json_integer((json_int_t)v->value[i]));
	return o;
}

int counters_from_json(const json_t *obj, struct counter_values *v, struct error *err)
{
	const char *key;
	json_t *val;

	memset(v, 0, sizeof(*v));
	v->running = 1.0;
	if (obj == NULL || json_is_null(obj))
		return 0;
	if (!json_is_object(obj))
		return error_set(err, EXIT_RUNNER_ERROR, 0, "counters: expected an object");
	json_object_foreach((json_t *)obj, key, val)
	{
		int id = counter_by_name(key);

		if (id < 0)
			continue;
		if (!json_is_integer(val) || json_integer_value(val) < 0)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "counters: %s is not a non-negative integer", key);
		v->value[id] = (uint64_t)json_integer_value(val);
		v->valid |= 1u << id;
	}
	return 0;
}
