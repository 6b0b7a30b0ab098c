/* doctor_cpu.c - doctor's checks of what benchmarks need from the CPUs:
 * turbo, the cpufreq governor, perf counters, ASLR, SMT siblings. */
#define _GNU_SOURCE
#include "cli/doctor_cpu.h"
#include "base/bytes_json.h"
#include "cli/doctor_check.h"

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

#include "host/hosttune.h"
#include "pipeline/profdata.h"
#include "pipeline/toolchain.h"
#include "base/util.h"

#define CPU_DIR "sys/devices/system/cpu"

static char *turbo_state(const char *root, enum turbo_interface t, json_t *tf)
{
	const char *rel =
	    t == TURBO_INTEL_PSTATE ? CPU_DIR "/intel_pstate/no_turbo" : CPU_DIR "/cpufreq/boost";
	char *v, *out;
	bool on;

	if (t == TURBO_POLICY_BOOST)
		return xstrdup("per-policy boost (amd-pstate)");
	v = doctor_read_under(root, rel);
	json_object_set_new(tf, "path", json_sprintf("%s/%s", root, rel));
	json_object_set_new(tf, "value", json_string_or_null(v));
	if (v == NULL)
		return xasprintf("%s/%s is unreadable", root, rel);
	on = t == TURBO_INTEL_PSTATE ? strcmp(v, "0") == 0 : strcmp(v, "0") != 0;
	out = xasprintf("%s=%s (turbo %s)", rel + strlen(CPU_DIR "/"), v, on ? "on" : "off");
	free(v);
	return out;
}

void doctor_check_turbo(json_t *checks, json_t *facts, const char *root)
{
	enum turbo_interface t = hosttune_turbo_interface(root);
	json_t *tf = json_object();

	json_object_set_new(tf, "interface", json_string(turbo_interface_name(t)));
	if (t == TURBO_NONE) {
		doctor_add_check(
		    checks, "turbo", "missing",
		    xasprintf("no intel_pstate/no_turbo, cpufreq/boost or per-policy boost "
		              "under %s/sys",
		              root),
		    "--no-turbo cannot be applied: the clock boosts with load and "
		    "temperature, adding run-to-run noise to timings",
		    "bare metal: load a cpufreq driver (intel_pstate, amd-pstate, "
		    "acpi-cpufreq) or disable turbo in the firmware setup; in a VM turbo "
		    "belongs to the host");
	} else {
		char *state = turbo_state(root, t, tf);
		doctor_add_check(checks, "turbo", "ok",
		                 xasprintf("%s; --no-turbo can switch it off for a run", state),
		                 NULL, NULL);
		free(state);
	}
	json_object_set_new(facts, "turbo", tf);
}

static json_t *policy_json(const struct cpufreq_policy *p, char **gov_out, bool *perf)
{
	char *gov = doctor_read_under(p->dir, "scaling_governor");
	char *avail = doctor_read_under(p->dir, "scaling_available_governors");
	char *cpus = format_cpu_list(p->cpus);
	json_t *o =
	    json_pack("{s:s, s:s, s:o, s:o}", "name", p->name, "cpus", cpus, "governor",
	              json_string_or_null(gov), "available_governors", doctor_words_json(avail));

	if (!doctor_has_word(avail, "performance"))
		*perf = false;
	*gov_out = gov;
	free(avail);
	free(cpus);
	return o;
}

void doctor_check_governor(json_t *checks, json_t *facts, const char *root)
{
	struct cpufreq_policy *pol = NULL;
	struct error ignored;
	json_t *arr = json_array();
	char govs[160] = "";
	bool perf = true;
	size_t n = 0, with_gov = 0;

	if (hosttune_list_policies(root, &pol, &n, &ignored) < 0)
		n = 0;
	for (size_t i = 0; i < n; i++) {
		char *gov;

		json_array_append_new(arr, policy_json(&pol[i], &gov, &perf));
		if (gov && !doctor_has_word(govs, gov) &&
		    strlen(govs) + strlen(gov) + 2 < sizeof(govs))
			snprintf(govs + strlen(govs), sizeof(govs) - strlen(govs), "%s%s",
			         govs[0] ? " " : "", gov);
		with_gov += gov != NULL;
		free(gov);
	}
	json_object_set_new(facts, "cpufreq_policies", arr);
	if (with_gov == 0)
		doctor_add_check(
		    checks, "governor", "missing",
		    xasprintf("no cpufreq policy with scaling_governor under %s/" CPU_DIR
		              "/cpufreq",
		              root),
		    "--governor cannot be applied: the frequency follows the host or "
		    "firmware, adding noise",
		    "bare metal: load a cpufreq driver; in a VM set the host's governor "
		    "to performance");
	else if (!perf)
		doctor_add_check(
		    checks, "governor", "degraded",
		    xasprintf("%zu policies, governor %s; 'performance' is not offered by "
		              "every policy",
		              with_gov, govs),
		    "--governor performance is not possible on every CPU",
		    "pick a governor listed in scaling_available_governors");
	else
		doctor_add_check(
		    checks, "governor", "ok",
		    xasprintf("%zu policies, governor %s; --governor performance available",
		              with_gov, govs),
		    NULL, NULL);
	hosttune_free_policies(pol, n);
}

static int probe_perf(void)
{
	struct perf_event_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_HARDWARE;
	attr.size = sizeof(attr);
	attr.config = PERF_COUNT_HW_INSTRUCTIONS;
	attr.disabled = 1;
	attr.exclude_kernel = 1;
	attr.exclude_hv = 1;
	fd = (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static const char *perf_fix(int e)
{
	switch (e) {
	case EACCES:
	case EPERM:
		return "lower kernel.perf_event_paranoid (sysctl -w kernel.perf_event_paranoid=2) "
		       "or grant CAP_PERFMON";
	case ENOSYS:
		return "use a kernel with CONFIG_PERF_EVENTS, or allow perf_event_open in the "
		       "enclosing container's seccomp profile";
	default:
		return "no hardware PMU is exposed: on a VM enable the virtual PMU (QEMU/KVM: "
		       "-cpu host,pmu=on; cloud: a metal or PMU-enabled instance type)";
	}
}

void doctor_check_perf(json_t *checks, json_t *facts, const char *proc_root)
{
	char *paranoid = doctor_read_under(proc_root, "sys/kernel/perf_event_paranoid");
	int e = probe_perf();
	char *text = e ? doctor_errno_text(e) : xstrdup("supported");
	json_t *p = json_object();

	json_object_set_new(p, "instructions", json_string(text));
	json_object_set_new(p, "perf_event_paranoid", doctor_int_or_null(paranoid, NULL));
	json_object_set_new(facts, "perf", p);
	if (e == 0)
		doctor_add_check(
		    checks, "perf", "ok",
		    xstrdup("hardware instruction counter works (--allow-perf lets the "
		            "command use it)"),
		    NULL, NULL);
	else
		doctor_add_check(
		    checks, "perf", "missing",
		    xasprintf("perf_event_open(PERF_COUNT_HW_INSTRUCTIONS): %s", text),
		    "no instruction counts, the lowest-noise metric for comparing builds: "
		    "only wall and CPU time, which are noisier",
		    perf_fix(e));
	free(text);
	free(paranoid);
}

void doctor_check_aslr(json_t *checks, json_t *facts, const char *proc_root)
{
	char *v = doctor_read_under(proc_root, "sys/kernel/randomize_va_space");
	long long n = -1;

	json_object_set_new(facts, "randomize_va_space", doctor_int_or_null(v, &n));
	if (n < 0)
		doctor_add_check(
		    checks, "aslr", "missing",
		    xasprintf("cannot read %s/sys/kernel/randomize_va_space", proc_root),
		    "the ASLR setting is unknown", NULL);
	else if (n == 0)
		doctor_add_check(checks, "aslr", "ok",
		                 xstrdup("randomize_va_space=0: ASLR is off host-wide"), NULL,
		                 NULL);
	else
		doctor_add_check(
		    checks, "aslr", "ok",
		    xasprintf("randomize_va_space=%lld; --no-aslr turns it off per run for "
		              "layout-stable timings",
		              n),
		    NULL, NULL);
	free(v);
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return (x > y) - (x < y);
}

/* Numbers of the cpuN directories, sorted. */
static unsigned *list_cpus(const char *root, size_t *n)
{
	char *dir = xasprintf("%s/" CPU_DIR, root);
	unsigned *cpus = NULL;
	struct dirent *de;
	DIR *d = opendir(dir);

	*n = 0;
	free(dir);
	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		char *end;
		unsigned long v;

		if (strncmp(de->d_name, "cpu", 3) != 0 || !isdigit((unsigned char)de->d_name[3]))
			continue;
		v = strtoul(de->d_name + 3, &end, 10);
		if (*end != '\0' || v >= CPU_LIST_MAX)
			continue;
		cpus = xrealloc(cpus, (*n + 1) * sizeof(*cpus));
		cpus[(*n)++] = (unsigned)v;
	}
	closedir(d);
	if (*n > 1)
		qsort(cpus, *n, sizeof(*cpus), cmp_uint);
	return cpus;
}

static unsigned mask_count(const uint8_t *m)
{
	unsigned n = 0;

	for (size_t i = 0; i < CPU_LIST_MAX / 8; i++)
		n += (unsigned)__builtin_popcount(m[i]);
	return n;
}

/* Sibling groups: one thread per core (the first of each group) and the
 * distinct groups as text. */
struct smt_scan {
	uint8_t seen[CPU_LIST_MAX / 8];
	uint8_t one_per_core[CPU_LIST_MAX / 8];
	char groups[160];
	bool shared;
	size_t read;
};

static void smt_add(struct smt_scan *s, unsigned cpu, const char *list)
{
	uint8_t m[CPU_LIST_MAX / 8];
	struct error ignored;
	size_t len = strlen(s->groups);

	if (parse_cpu_list(list, m, &ignored) < 0)
		return;
	s->read++;
	if (mask_count(m) > 1)
		s->shared = true;
	if (s->seen[cpu / 8] & (1u << (cpu % 8)))
		return;
	for (size_t i = 0; i < sizeof(m); i++)
		s->seen[i] |= m[i];
	s->one_per_core[cpu / 8] |= (uint8_t)(1u << (cpu % 8));
	if (mask_count(m) > 1 && len + strlen(list) + 2 < sizeof(s->groups))
		snprintf(s->groups + len, sizeof(s->groups) - len, "%s%s", len ? " " : "", list);
}

void doctor_check_smt(json_t *checks, json_t *facts, const char *root)
{
	char *control = doctor_read_under(root, CPU_DIR "/smt/control");
	json_t *smt = json_object(), *arr = json_array();
	struct smt_scan s;
	size_t n;
	unsigned *cpus = list_cpus(root, &n);

	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < n; i++) {
		char *rel = xasprintf(CPU_DIR "/cpu%u/topology/thread_siblings_list", cpus[i]);
		char *list = doctor_read_under(root, rel);

		json_array_append_new(arr, json_pack("{s:I, s:o}", "cpu", (json_int_t)cpus[i],
		                                     "siblings", json_string_or_null(list)));
		if (list)
			smt_add(&s, cpus[i], list);
		free(list);
		free(rel);
	}
	json_object_set_new(smt, "control", json_string_or_null(control));
	json_object_set_new(smt, "cpus", arr);
	json_object_set_new(facts, "smt", smt);
	if (s.read == 0) {
		doctor_add_check(
		    checks, "smt", "missing",
		    xasprintf("no cpuN/topology/thread_siblings_list under %s/" CPU_DIR, root),
		    "cannot tell which CPUs share a core", NULL);
	} else if (s.shared) {
		char *one = format_cpu_list(s.one_per_core);
		char *fix = xasprintf("pin to one thread per core (e.g. --cpus %s) and keep the "
		                      "siblings idle, or turn SMT off: echo off > "
		                      "/sys/devices/system/cpu/smt/control",
		                      one);
		doctor_add_check(
		    checks, "smt", "degraded", xasprintf("SMT siblings: %s", s.groups),
		    "a command pinned to one thread shares its core's execution units and "
		    "caches with whatever runs on the sibling thread: noise",
		    fix);
		free(fix);
		free(one);
	} else {
		doctor_add_check(checks, "smt", "ok",
		                 xasprintf("no SMT siblings among %zu CPUs (smt/control: %s)",
		                           s.read, control ? control : "absent"),
		                 NULL, NULL);
	}
	free(cpus);
	free(control);
}
