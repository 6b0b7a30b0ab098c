/* cgroup_parse.c - the pure readers of host/cgroup.h: where cgroup2 is mounted, controller lists,
 * cpu.stat, memory.events, cgroup.events */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "host/cgroup.h"
#include "host/cgroup_file.h"

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

const struct cgroup_controller_name cgroup_controllers[CGROUP_N_CONTROLLERS] = {
    {CG_CPUSET, "cpuset"}, {CG_CPU, "cpu"},         {CG_IO, "io"},     {CG_MEMORY, "memory"},
    {CG_PIDS, "pids"},     {CG_HUGETLB, "hugetlb"}, {CG_RDMA, "rdma"}, {CG_MISC, "misc"},
};

int cgroup_controller_index(unsigned bit)
{
	for (int i = 0; i < CGROUP_N_CONTROLLERS; i++)
		if (cgroup_controllers[i].bit == bit)
			return i;
	return 0;
}

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
		for (int i = 0; i < CGROUP_N_CONTROLLERS && n > 0; i++)
			if (strlen(cgroup_controllers[i].name) == n &&
			    strncmp(p, cgroup_controllers[i].name, n) == 0)
				mask |= cgroup_controllers[i].bit;
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
	for (int i = 0; i < CGROUP_N_CONTROLLERS; i++) {
		int n;

		if (!(mask & cgroup_controllers[i].bit))
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? " " : "",
		             cgroup_controllers[i].name);
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
