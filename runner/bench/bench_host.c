/* bench_host.c - see bench_host.h */
#define _GNU_SOURCE
#include "bench/bench_host.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "host/cpus.h"

static char *under(const char *root, const char *path)
{
	if (root == NULL || strcmp(root, "/") == 0 || root[0] == '\0')
		return xstrdup(path);
	return xasprintf("%s%s", root, path);
}

static int read_under(const char *root, const char *path, char **text, struct error *err)
{
	char *full = under(root, path);
	size_t len;
	int rc = read_file(full, text, &len, err);

	free(full);
	return rc;
}

static bool in_mask(const uint8_t *mask, unsigned cpu)
{
	return cpu < CPU_LIST_MAX && (mask[cpu / 8] & (1u << (cpu % 8)));
}

int host_cpu_siblings(const char *root, unsigned cpu, uint8_t mask[CPU_LIST_MAX / 8],
                      struct error *err)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%u/topology/thread_siblings_list",
	         cpu);
	return host_read_cpu_list(root, path, mask, err);
}

int host_default_cpu(const char *root, unsigned *cpu, struct error *err)
{
	uint8_t mask[CPU_LIST_MAX / 8];

	if (host_online_cpus(root, mask, err) < 0)
		return -1;
	for (int c = CPU_LIST_MAX - 1; c >= 0; c--) {
		if (in_mask(mask, (unsigned)c)) {
			*cpu = (unsigned)c;
			return 0;
		}
	}
	return error_set(err, EXIT_RUNNER_ERROR, 0, "no online CPU");
}

int host_parse_busy(const char *text, uint64_t *busy, size_t n)
{
	const char *line = text;
	bool found = false;

	for (size_t i = 0; i < n; i++)
		busy[i] = 0;
	while (line && *line) {
		uint64_t f[8];
		unsigned cpu;

		if (strncmp(line, "cpu", 3) == 0 && line[3] >= '0' && line[3] <= '9' &&
		    sscanf(line,
		           "cpu%u %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
		           " %" SCNu64 " %" SCNu64 " %" SCNu64,
		           &cpu, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7]) == 9 &&
		    cpu < n) {
			/* user nice system idle iowait irq softirq steal */
			busy[cpu] = f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
			found = true;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return found ? 0 : -1;
}

static int busy_snapshot(const char *root, uint64_t *busy, struct error *err)
{
	char *text;
	int rc;

	if (read_under(root, "/proc/stat", &text, err) < 0)
		return -1;
	rc = host_parse_busy(text, busy, CPU_LIST_MAX);
	free(text);
	return rc < 0 ? error_set(err, EXIT_RUNNER_ERROR, 0, "/proc/stat: no per-CPU lines") : 0;
}

int host_quietest_cpu(const char *root, unsigned sample_ms, unsigned *cpu, double *busy_pct,
                      struct error *err)
{
	_cleanup_free_ uint64_t *a = xcalloc(CPU_LIST_MAX, sizeof(uint64_t));
	_cleanup_free_ uint64_t *b = xcalloc(CPU_LIST_MAX, sizeof(uint64_t));
	uint8_t online[CPU_LIST_MAX / 8];
	struct timespec ts = {.tv_sec = sample_ms / 1000,
	                      .tv_nsec = (long)(sample_ms % 1000) * 1000000L};
	uint64_t best = UINT64_MAX;

	/* the fallback below reads the same file: a broken one fails here */
	if (host_online_cpus(root, online, err) < 0)
		return -1;
	if (busy_snapshot(root, a, err) < 0 || nanosleep(&ts, NULL) < 0 ||
	    busy_snapshot(root, b, err) < 0) {
		int rc = host_default_cpu(root, cpu, err);

		if (busy_pct)
			*busy_pct = -1;
		return rc;
	}
	for (unsigned c = 0; c < CPU_LIST_MAX; c++) {
		if (!in_mask(online, c) || b[c] - a[c] > best)
			continue;
		best = b[c] - a[c];
		*cpu = c;
	}
	if (busy_pct)
		*busy_pct = 100.0 * (double)best /
		            ((double)sysconf(_SC_CLK_TCK) * (double)sample_ms / 1000.0);
	return best == UINT64_MAX ? error_set(err, EXIT_RUNNER_ERROR, 0, "no online CPU") : 0;
}

int host_check_smt(const char *root, const uint8_t mask[CPU_LIST_MAX / 8], struct error *err)
{
	for (unsigned c = 0; c < CPU_LIST_MAX; c++) {
		uint8_t sib[CPU_LIST_MAX / 8];
		struct error ignored = {0};

		if (!in_mask(mask, c) || host_cpu_siblings(root, c, sib, &ignored) < 0)
			continue;
		for (unsigned o = c + 1; o < CPU_LIST_MAX; o++)
			if (in_mask(mask, o) && in_mask(sib, o))
				return error_set(
				    err, EXIT_RUNNER_ERROR, 0,
				    "--cpus: CPUs %u and %u are SMT siblings of one core "
				    "and would compete for it (--allow-smt-siblings to "
				    "use them anyway)",
				    c, o);
	}
	return 0;
}

char *host_idle_siblings(const char *root, const uint8_t mask[CPU_LIST_MAX / 8])
{
	uint8_t others[CPU_LIST_MAX / 8];
	bool any = false;

	memset(others, 0, sizeof(others));
	for (unsigned c = 0; c < CPU_LIST_MAX; c++) {
		uint8_t sib[CPU_LIST_MAX / 8];
		struct error ignored = {0};

		if (!in_mask(mask, c) || host_cpu_siblings(root, c, sib, &ignored) < 0)
			continue;
		for (unsigned o = 0; o < CPU_LIST_MAX; o++) {
			if (in_mask(sib, o) && !in_mask(mask, o)) {
				others[o / 8] |= (uint8_t)(1u << (o % 8));
				any = true;
			}
		}
	}
	return any ? format_cpu_list(others) : xstrdup("");
}

int host_parse_psi_some_total(const char *text, uint64_t *total_us)
{
	const char *line = text;

	while (line && *line) {
		if (strncmp(line, "some ", 5) == 0) {
			const char *t = strstr(line, "total=");
			char *end;

			if (t == NULL)
				return -1;
			errno = 0;
			*total_us = strtoull(t + 6, &end, 10);
			if (errno || end == t + 6)
				return -1;
			return 0;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -1;
}

/* "cpuN user nice system idle iowait irq softirq steal ..." */
static int steal_of_line(const char *line, unsigned *cpu, uint64_t *steal)
{
	uint64_t f[8];

	if (sscanf(line,
	           "cpu%u %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
	           " %" SCNu64 " %" SCNu64,
	           cpu, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7]) != 9)
		return -1;
	*steal = f[7];
	return 0;
}

int host_parse_steal(const char *text, const uint8_t mask[CPU_LIST_MAX / 8], uint64_t *ticks)
{
	const char *line = text;
	bool found = false;

	*ticks = 0;
	while (line && *line) {
		unsigned cpu;
		uint64_t steal;

		if (strncmp(line, "cpu", 3) == 0 && line[3] >= '0' && line[3] <= '9' &&
		    steal_of_line(line, &cpu, &steal) == 0 && in_mask(mask, cpu)) {
			*ticks += steal;
			found = true;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return found ? 0 : -1;
}

void host_sample_take(const char *root, const uint8_t mask[CPU_LIST_MAX / 8], struct host_sample *s)
{
	struct error ignored = {0};
	char *text;

	memset(s, 0, sizeof(*s));
	if (read_under(root, "/proc/pressure/cpu", &text, &ignored) == 0) {
		s->has_psi = host_parse_psi_some_total(text, &s->psi_some_us) == 0;
		free(text);
	}
	if (read_under(root, "/proc/stat", &text, &ignored) == 0) {
		s->has_steal = host_parse_steal(text, mask, &s->steal_ticks) == 0;
		free(text);
	}
}

static json_t *cpu_model(const char *root)
{
	struct error ignored = {0};
	char *text, *line;
	json_t *v = json_null();

	if (read_under(root, "/proc/cpuinfo", &text, &ignored) < 0)
		return v;
	line = strstr(text, "model name");
	if (line) {
		char *colon = strchr(line, ':');
		if (colon) {
			colon += 1 + strspn(colon + 1, " \t");
			colon[strcspn(colon, "\n")] = '\0';
			json_decref(v);
			v = json_string(colon);
		}
	}
	free(text);
	return v;
}

json_t *host_facts_json(const char *root)
{
	struct utsname u;
	json_t *o = json_object();
	char host[256];

	if (uname(&u) == 0) {
		json_object_set_new(o, "kernel", json_string(u.release));
		json_object_set_new(o, "machine", json_string(u.machine));
	}
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		json_object_set_new(o, "hostname", json_string(host));
	}
	json_object_set_new(o, "cpu_model", cpu_model(root));
	json_object_set_new(o, "online_cpus", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_set_new(o, "clock_ticks", json_integer(sysconf(_SC_CLK_TCK)));
	{
		char fp[DIGEST_STR_MAX];

		host_fingerprint(o, fp);
		json_object_set_new(o, "fingerprint", json_string(fp));
	}
	return o;
}

static void fingerprint_add(char **buf, size_t *len, const char *text)
{
	size_t n = strlen(text) + 1;

	*buf = xrealloc(*buf, *len + n);
	memcpy(*buf + *len, text, n);
	*len += n;
}

void host_fingerprint(const json_t *facts, char out[DIGEST_STR_MAX])
{
	static const char *const members[] = {"hostname", "cpu_model", "machine", "online_cpus"};
	char *buf = NULL;
	size_t len = 0;

	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		const json_t *v = json_object_get(facts, members[i]);
		char number[32];

		if (json_is_string(v))
			fingerprint_add(&buf, &len, json_string_value(v));
		else if (json_is_integer(v)) {
			snprintf(number, sizeof(number), "%lld", (long long)json_integer_value(v));
			fingerprint_add(&buf, &len, number);
		} else
			fingerprint_add(&buf, &len, "");
	}
	digest_buffer_sha256(buf, len, out);
	free(buf);
}
