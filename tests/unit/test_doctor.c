/* test_doctor.c - doctor's JSON for fake proc / sysfs / cgroup2 trees in a
 * mkdtemp directory and for given mountinfo text. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/doctor.h"
#include "base/util.h"
#include "unit_fixture.h"

#define CPU "sys/devices/system/cpu/"

struct fixture {
	char dir[64];
	char *proc;  /* <dir>/proc */
	char *sysfs; /* <dir>/sysfs: holds sys/devices/system/cpu */
	char *cg2;   /* <dir>/cg2: a fake cgroup2 root */
	char *mountinfo;
	struct doctor_env env;
	json_t *doc;
};

static void set_mountinfo(struct fixture *f, const char *cg2_line_fmt, const char *extra)
{
	free(f->mountinfo);
	f->mountinfo = xasprintf("22 27 0:21 / /proc rw,relatime - proc proc rw\n"
	                         "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n%s%s",
	                         cg2_line_fmt ? cg2_line_fmt : "", extra ? extra : "");
	f->env.mountinfo = f->mountinfo;
}

static char *cg2_line(const struct fixture *f)
{
	return xasprintf("41 31 0:38 / %s rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate\n",
	                 f->cg2);
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char *line;

	snprintf(f->dir, sizeof(f->dir), "/tmp/test-doctor-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->proc = xasprintf("%s/proc", f->dir);
	f->sysfs = xasprintf("%s/sysfs", f->dir);
	f->cg2 = xasprintf("%s/cg2", f->dir);
	unit_put_line(f->proc, "sys/user/max_user_namespaces", "1000");
	unit_put_line(f->proc, "sys/kernel/randomize_va_space", "2");
	unit_put_line(f->proc, "sys/dev/tty/legacy_tiocsti", "0");
	unit_put_line(f->proc, "sys/kernel/seccomp/actions_avail",
	              "kill_process kill_thread trap errno user_notif trace log allow");
	unit_put_line(f->proc, "cgroups",
	              "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
	              "cpuset\t0\t1\t1\ncpu\t0\t1\t1\nmemory\t0\t1\t1\npids\t0\t1\t1");
	unit_put_line(f->sysfs, CPU "online", "0-3");
	unit_put_line(f->cg2, "cgroup.controllers", "cpuset cpu io memory pids");
	unit_put_line(f->cg2, "cgroup.subtree_control", "cpu memory");
	line = cg2_line(f);
	set_mountinfo(f, line, NULL);
	free(line);
	f->env.proc_root = f->proc;
	f->env.sysfs_root = f->sysfs;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};

	json_decref(f->doc);
	assert_int_equal(remove_tree(f->dir, &err), 0);
	free(f->proc);
	free(f->sysfs);
	free(f->cg2);
	free(f->mountinfo);
	free(f);
	return 0;
}

static void collect(struct fixture *f)
{
	json_decref(f->doc);
	f->doc = doctor_collect(&f->env);
	assert_non_null(f->doc);
}

static json_t *check(const struct fixture *f, const char *name)
{
	json_t *checks = json_object_get(f->doc, "checks"), *c;
	size_t i;

	json_array_foreach(checks, i, c) if (strcmp(json_string_value(json_object_get(c, "name")),
	                                            name) == 0) return c;
	fail_msg("no check named %s", name);
	return NULL;
}

static const char *field(const struct fixture *f, const char *name, const char *key)
{
	return json_string_value(json_object_get(check(f, name), key));
}

static void assert_status(const struct fixture *f, const char *name, const char *status)
{
	assert_string_equal(field(f, name, "status"), status);
}

static void assert_contains(const char *text, const char *needle)
{
	assert_non_null(text);
	if (strstr(text, needle) == NULL)
		fail_msg("'%s' does not contain '%s'", text, needle);
}

static json_t *fact(const struct fixture *f, const char *key)
{
	return json_object_get(json_object_get(f->doc, "facts"), key);
}

static void add_cpus(const struct fixture *f, const char *const *siblings, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		char rel[96];

		snprintf(rel, sizeof(rel), CPU "cpu%u/topology/thread_siblings_list", i);
		unit_put_line(f->sysfs, rel, siblings[i]);
	}
}

static void test_turbo_and_smt_siblings(void **state)
{
	static const char *const sib[] = {"0,2", "1,3", "0,2", "1,3"};
	struct fixture *f = *state;
	json_t *cpus;

	unit_put_line(f->sysfs, CPU "intel_pstate/no_turbo", "0");
	unit_put_line(f->sysfs, CPU "cpufreq/policy0/related_cpus", "0-3");
	unit_put_line(f->sysfs, CPU "cpufreq/policy0/scaling_governor", "powersave");
	unit_put_line(f->sysfs, CPU "cpufreq/policy0/scaling_available_governors",
	              "performance powersave");
	unit_put_line(f->sysfs, CPU "smt/control", "on");
	add_cpus(f, sib, 4);
	collect(f);

	assert_status(f, "turbo", "ok");
	assert_contains(field(f, "turbo", "detail"), "intel_pstate/no_turbo=0 (turbo on)");
	assert_true(json_is_null(json_object_get(check(f, "turbo"), "cost")));
	assert_string_equal(json_string_value(json_object_get(fact(f, "turbo"), "interface")),
	                    "intel_pstate/no_turbo");
	assert_string_equal(json_string_value(json_object_get(fact(f, "turbo"), "value")), "0");

	assert_status(f, "governor", "ok");
	assert_contains(field(f, "governor", "detail"), "powersave");
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(fact(f, "cpufreq_policies"), 0), "cpus")),
	                    "0-3");

	assert_status(f, "smt", "degraded");
	assert_string_equal(field(f, "smt", "detail"), "SMT siblings: 0,2 1,3");
	assert_contains(field(f, "smt", "cost"), "sibling");
	assert_contains(field(f, "smt", "fix"), "--cpus 0-1");
	cpus = json_object_get(fact(f, "smt"), "cpus");
	assert_int_equal(json_array_size(cpus), 4);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(cpus, 2), "cpu")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(cpus, 2), "siblings")),
	                    "0,2");
	assert_string_equal(json_string_value(json_object_get(fact(f, "smt"), "control")), "on");
}

static void test_no_turbo_no_smt(void **state)
{
	static const char *const sib[] = {"0", "1"};
	struct fixture *f = *state;

	add_cpus(f, sib, 2);
	collect(f);

	assert_status(f, "turbo", "missing");
	assert_contains(field(f, "turbo", "detail"),
	                "no intel_pstate/no_turbo, cpufreq/boost or per-policy boost under");
	assert_contains(field(f, "turbo", "detail"), f->sysfs);
	assert_contains(field(f, "turbo", "cost"), "--no-turbo");
	assert_non_null(field(f, "turbo", "fix"));
	assert_string_equal(json_string_value(json_object_get(fact(f, "turbo"), "interface")),
	                    "none");
	assert_status(f, "governor", "missing");
	assert_contains(field(f, "governor", "cost"), "--governor");

	assert_status(f, "smt", "ok");
	assert_contains(field(f, "smt", "detail"), "no SMT siblings among 2 CPUs");
	assert_true(json_is_null(json_object_get(check(f, "smt"), "fix")));
}

static void test_cpufreq_boost_and_no_topology(void **state)
{
	struct fixture *f = *state;

	unit_put_line(f->sysfs, CPU "cpufreq/boost", "0");
	collect(f);
	assert_status(f, "turbo", "ok");
	assert_contains(field(f, "turbo", "detail"), "cpufreq/boost=0 (turbo off)");
	assert_status(f, "smt", "missing");
	assert_contains(field(f, "smt", "detail"), "thread_siblings_list");
}

static void test_cgroup_unified(void **state)
{
	struct fixture *f = *state;
	json_t *cg;

	collect(f);
	assert_status(f, "cgroup2", "ok");
	assert_contains(field(f, "cgroup2", "detail"), f->cg2);
	assert_status(f, "cgroup.cpuset", "ok");
	assert_status(f, "cgroup.cpu", "ok");
	assert_status(f, "cgroup.memory", "ok");
	assert_status(f, "cgroup.pids", "ok");
	assert_status(f, "cgroup.delegation", "ok");
	cg = fact(f, "cgroup");
	assert_string_equal(json_string_value(json_object_get(cg, "mount")), f->cg2);
	assert_int_equal(json_array_size(json_object_get(cg, "controllers")), 5);
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(cg, "subtree_control"), 1)), "memory");
	assert_int_equal(json_object_size(json_object_get(cg, "v1")), 0);
}

static void test_cgroup_hybrid(void **state)
{
	struct fixture *f = *state;
	char *line = cg2_line(f);

	unit_put_line(f->cg2, "cgroup.controllers", "hugetlb");
	set_mountinfo(f, line,
	              "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
	              "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n");
	free(line);
	unit_put_line(
	    f->proc, "cgroups",
	    "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
	    "cpuset\t0\t1\t1\ncpu\t1\t1\t1\ncpuacct\t1\t1\t1\nmemory\t4\t19\t1\npids\t8\t1\t1");
	collect(f);

	assert_status(f, "cgroup2", "ok");
	assert_status(f, "cgroup.memory", "missing");
	assert_string_equal(field(f, "cgroup.memory", "detail"),
	                    "cgroup v2 has no memory controller (bound to cgroup v1 at "
	                    "/sys/fs/cgroup/memory)");
	assert_contains(field(f, "cgroup.memory", "cost"), "--memory cannot be enforced");
	assert_contains(field(f, "cgroup.memory", "fix"), "cgroup_no_v1=all");
	assert_contains(field(f, "cgroup.cpu", "detail"), "/sys/fs/cgroup/cpu,cpuacct");
	/* pids: not mounted, but /proc/cgroups puts it on a v1 hierarchy */
	assert_contains(field(f, "cgroup.pids", "detail"), "bound to a cgroup v1 hierarchy");
	/* cpuset is neither in v2 nor v1: the parent did not enable it */
	assert_contains(field(f, "cgroup.cpuset", "detail"), "not enabled for this cgroup");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(fact(f, "cgroup"), "v1"), "memory")),
	    "/sys/fs/cgroup/memory");
}

static void test_no_cgroup2(void **state)
{
	struct fixture *f = *state;

	set_mountinfo(f, NULL, NULL);
	unit_put_line(f->proc, "cgroups",
	              "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
	              "cpuset\t0\t1\t1\ncpu\t0\t1\t1\npids\t0\t1\t0");
	collect(f);
	assert_status(f, "cgroup2", "missing");
	assert_contains(field(f, "cgroup2", "fix"), "cgroup2");
	assert_status(f, "cgroup.delegation", "missing");
	assert_contains(field(f, "cgroup.cpu", "detail"), "no cgroup2 mount");
	assert_contains(field(f, "cgroup.pids", "detail"), "disabled on the kernel command line");
	assert_contains(field(f, "cgroup.pids", "fix"), "cgroup_disable=pids");
	assert_contains(field(f, "cgroup.memory", "detail"), "kernel has no memory controller");
	assert_contains(field(f, "cgroup.memory", "fix"), "CONFIG_MEMCG");
	assert_true(json_is_null(json_object_get(fact(f, "cgroup"), "mount")));
}

static void test_mountinfo_escapes(void **state)
{
	struct fixture *f = *state;
	char *spaced = xasprintf("%s/cg two", f->dir);
	char *line = xasprintf("41 31 0:38 / %s/cg\\040two rw - cgroup2 cgroup2 rw\n", f->dir);

	unit_put_line(spaced, "cgroup.controllers", "memory");
	set_mountinfo(f, line, NULL);
	collect(f);
	assert_string_equal(json_string_value(json_object_get(fact(f, "cgroup"), "mount")), spaced);
	assert_status(f, "cgroup.memory", "ok");
	assert_status(f, "cgroup.pids", "missing");
	free(line);
	free(spaced);
}

static void test_proc_facts(void **state)
{
	struct fixture *f = *state;
	char *path = xasprintf("%s/sys/dev/tty/legacy_tiocsti", f->proc);

	collect(f);
	assert_status(f, "tiocsti", "ok");
	assert_status(f, "userns", "ok");
	assert_status(f, "seccomp", "ok");
	assert_status(f, "aslr", "ok");
	assert_int_equal(json_integer_value(fact(f, "randomize_va_space")), 2);
	assert_int_equal(
	    json_integer_value(json_object_get(fact(f, "userns"), "max_user_namespaces")), 1000);

	unit_put_line(f->proc, "sys/dev/tty/legacy_tiocsti", "1");
	unit_put_line(f->proc, "sys/user/max_user_namespaces", "0");
	unit_put_line(f->proc, "sys/kernel/randomize_va_space", "0");
	unit_put_line(f->proc, "sys/kernel/seccomp/actions_avail", "kill_process errno allow");
	collect(f);
	assert_status(f, "tiocsti", "degraded");
	assert_contains(field(f, "tiocsti", "fix"), "dev.tty.legacy_tiocsti=0");
	assert_status(f, "userns", "missing");
	assert_contains(field(f, "userns", "fix"), "user.max_user_namespaces");
	assert_contains(field(f, "aslr", "detail"), "randomize_va_space=0");
	assert_status(f, "seccomp", "degraded");
	assert_contains(field(f, "seccomp", "cost"), "--seccomp-log");

	assert_int_equal(unlink(path), 0);
	collect(f);
	assert_status(f, "tiocsti", "degraded");
	assert_contains(field(f, "tiocsti", "detail"), "before 6.2");
	assert_true(json_is_null(fact(f, "legacy_tiocsti")));
	free(path);
}

/* The live probes report on this host, whatever it is: check the shape. */
static void test_live_probes_shape(void **state)
{
	struct fixture *f = *state;
	json_t *checks, *c;
	size_t i;

	f->env.probe = true;
	collect(f);
	checks = json_object_get(f->doc, "checks");
	json_array_foreach(checks, i, c)
	{
		const char *status = json_string_value(json_object_get(c, "status"));
		json_t *cost = json_object_get(c, "cost"), *fix = json_object_get(c, "fix");

		assert_non_null(status);
		assert_true(strcmp(status, "ok") == 0 || strcmp(status, "missing") == 0 ||
		            strcmp(status, "degraded") == 0);
		assert_non_null(json_string_value(json_object_get(c, "detail")));
		assert_true(json_is_string(cost) || json_is_null(cost));
		assert_true(json_is_string(fix) || json_is_null(fix));
		if (strcmp(status, "ok") != 0)
			assert_true(json_is_string(cost));
		else
			assert_true(json_is_null(cost));
	}
	assert_non_null(json_string_value(json_object_get(fact(f, "perf"), "instructions")));
	assert_non_null(json_string_value(fact(f, "openat2")));
	assert_non_null(json_string_value(json_object_get(fact(f, "userns"), "unshare")));
	assert_true(json_is_integer(json_object_get(fact(f, "seccomp"), "mode")));
	assert_string_equal(
	    field(f, "perf", "status"),
	    strcmp(json_string_value(json_object_get(fact(f, "perf"), "instructions")),
	           "supported") == 0
	        ? "ok"
	        : "missing");
}

static void test_text_output(void **state)
{
	struct fixture *f = *state;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	collect(f);
	doctor_print(out, f->doc, false);
	assert_int_equal(fclose(out), 0);
	assert_contains(buf, "turbo");
	assert_contains(buf, "cost: --no-turbo cannot be applied");
	assert_null(strchr(buf, '\033'));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_turbo_and_smt_siblings, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_turbo_no_smt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cpufreq_boost_and_no_topology, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cgroup_unified, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cgroup_hybrid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_cgroup2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mountinfo_escapes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_proc_facts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_live_probes_shape, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_text_output, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
