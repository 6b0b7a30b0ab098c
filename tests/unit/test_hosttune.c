/* test_hosttune.c - host tuning against a fake sysfs tree in a mkdtemp
 * directory: <tmp>/sys/devices/system/cpu/... and the state in <tmp>/state. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "host/hosttune.h"
#include "cli/commands.h"
#include "unit_fixture.h"

#define CPU "sys/devices/system/cpu/"

struct fixture {
	char root[64];
	char state_dir[96]; /* spec->state_dir */
	char host_dir[128]; /* where hosttune keeps its state */
	struct sandbox_spec spec;
	struct run_report report;
};

/* Value of a fake sysfs file, trailing newline removed (caller frees). */
static char *get(const struct fixture *f, const char *rel)
{
	char *path = xasprintf("%s/%s", f->root, rel);
	struct error err = {0};
	char *v = NULL;

	assert_int_equal(hosttune_read_value(path, &v, &err), 0);
	free(path);
	return v;
}

static void assert_value(const struct fixture *f, const char *rel, const char *want)
{
	char *v = get(f, rel);

	assert_string_equal(v, want);
	free(v);
}

static bool state_exists(const struct fixture *f)
{
	char *path = xasprintf("%s/state", f->host_dir);
	bool ok = access(path, F_OK) == 0;

	free(path);
	return ok;
}

static void add_policies(const struct fixture *f, unsigned n, bool boost)
{
	for (unsigned i = 0; i < n; i++) {
		char rel[128], cpu[16];

		snprintf(cpu, sizeof(cpu), "%u", i);
		snprintf(rel, sizeof(rel), CPU "cpufreq/policy%u/related_cpus", i);
		unit_put_line(f->root, rel, cpu);
		snprintf(rel, sizeof(rel), CPU "cpufreq/policy%u/scaling_governor", i);
		unit_put_line(f->root, rel, "powersave");
		snprintf(rel, sizeof(rel), CPU "cpufreq/policy%u/scaling_available_governors", i);
		unit_put_line(f->root, rel, "performance powersave");
		if (boost) {
			snprintf(rel, sizeof(rel), CPU "cpufreq/policy%u/boost", i);
			unit_put_line(f->root, rel, "1");
		}
	}
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	snprintf(f->root, sizeof(f->root), "/tmp/test-hosttune-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->state_dir, sizeof(f->state_dir), "%s/run", f->root);
	snprintf(f->host_dir, sizeof(f->host_dir), "%s/host-state", f->state_dir);
	unit_put_line(f->root, CPU "online", "0-3");
	f->spec.sysfs_root = f->root;
	f->spec.state_dir = f->state_dir;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};

	assert_int_equal(remove_tree(f->root, &err), 0);
	free(f);
	return 0;
}

static const struct control_status *control(const struct fixture *f, const char *name)
{
	const struct control_status *c = report_find(&f->report, name);

	assert_non_null(c);
	return c;
}

static void test_intel_pstate(void **state)
{
	struct fixture *f = *state;
	struct hosttune ht;
	struct error err = {0};

	unit_put_line(f->root, CPU "intel_pstate/no_turbo", "0");
	unit_put_line(f->root, CPU "cpufreq/boost", "1");
	f->spec.no_turbo = true;
	assert_int_equal(hosttune_apply(&f->spec, &ht, &f->report, &err), 0);
	assert_true(ht.active);
	assert_value(f, CPU "intel_pstate/no_turbo", "1");
	assert_value(f, CPU "cpufreq/boost", "1"); /* only one interface is used */
	assert_int_equal(control(f, "host.turbo")->state, CONTROL_APPLIED);
	assert_non_null(strstr(control(f, "host.turbo")->detail, "intel_pstate/no_turbo=1"));
	assert_null(report_find(&f->report, "host.governor"));
	assert_true(state_exists(f));

	assert_int_equal(hosttune_restore(&ht, &err), 0);
	assert_value(f, CPU "intel_pstate/no_turbo", "0");
	assert_false(state_exists(f));
	assert_false(ht.active);
	/* a second restore (signal path + normal path) is harmless */
	assert_int_equal(hosttune_restore(&ht, &err), 0);
}

static void test_cpufreq_boost(void **state)
{
	struct fixture *f = *state;
	struct hosttune ht;
	struct error err = {0};

	unit_put_line(f->root, CPU "cpufreq/boost", "1");
	f->spec.no_turbo = true;
	assert_int_equal(hosttune_apply(&f->spec, &ht, &f->report, &err), 0);
	assert_value(f, CPU "cpufreq/boost", "0");
	assert_string_equal(control(f, "host.turbo")->detail, "cpufreq/boost=0");
	assert_int_equal(hosttune_restore(&ht, &err), 0);
	assert_value(f, CPU "cpufreq/boost", "1");
	assert_false(state_exists(f));
}

static void test_policy_boost(void **state)
{
	struct fixture *f = *state;
	struct hosttune ht;
	struct error err = {0};

	add_policies(f, 3, true);
	f->spec.no_turbo = true;
	assert_int_equal(hosttune_turbo_interface(f->root), TURBO_POLICY_BOOST);
	assert_int_equal(hosttune_apply(&f->spec, &ht, &f->report, &err), 0);
	assert_value(f, CPU "cpufreq/policy0/boost", "0");
	assert_value(f, CPU "cpufreq/policy1/boost", "0");
	assert_value(f, CPU "cpufreq/policy2/boost", "0");
	assert_string_equal(control(f, "host.turbo")->detail, "boost=0 on policy0,policy1,policy2");
	assert_int_equal(hosttune_restore(&ht, &err), 0);
	assert_value(f, CPU "cpufreq/policy0/boost", "1");
	assert_value(f, CPU "cpufreq/policy1/boost", "1");
	assert_value(f, CPU "cpufreq/policy2/boost", "1");
}

static void test_governor_pinned(void **state)
{
	struct fixture *f = *state;
	struct hosttune ht;
	struct error err = {0};

	add_policies(f, 4, false);
	f->spec.governor = "performance";
	assert_int_equal(parse_cpu_list("2-3", f->spec.cpus, &err), 0);
	f->spec.cpus_set = true;
	assert_int_equal(hosttune_apply(&f->spec, &ht, &f->report, &err), 0);
	assert_value(f, CPU "cpufreq/policy0/scaling_governor", "powersave");
	assert_value(f, CPU "cpufreq/policy1/scaling_governor", "powersave");
	assert_value(f, CPU "cpufreq/policy2/scaling_governor", "performance");
	assert_value(f, CPU "cpufreq/policy3/scaling_governor", "performance");
	assert_int_equal(control(f, "host.governor")->state, CONTROL_APPLIED);
	assert_string_equal(control(f, "host.governor")->detail,
	                    "performance on policy2,policy3 (CPUs 2-3)");
	assert_null(report_find(&f->report, "host.turbo"));
	assert_int_equal(hosttune_restore(&ht, &err), 0);
	for (unsigned i = 0; i < 4; i++) {
		char rel[96];

		snprintf(rel, sizeof(rel), CPU "cpufreq/policy%u/scaling_governor", i);
		assert_value(f, rel, "powersave");
	}
	assert_false(state_exists(f));
}

static void test_governor_all_cpus(void **state)
{
	struct fixture *f = *state;
	struct hosttune ht;
	struct error err = {0};

	add_policies(f, 2, false);
	f->spec.governor = "performance";
	assert_int_equal(hosttune_apply(&f->spec, &ht, &f->report, &err), 0);
	assert_value(f, CPU "cpufreq/policy0/scaling_governor", "performance");
	assert_value(f, CPU "cpufreq/policy1/scaling_governor", "performance");
	assert_int_equal(hosttune_restore(&ht, &err), 0);
	assert_value(f, CPU "cpufreq/policy0/scaling_governor", "powersave");
	assert_value(f, CPU "cpufreq/policy1/scaling_governor", "powersave");
}

static void test_governor_partly_covered(void **state)
{
	struct fixture *f = *state;
	struct hosttune ht;
	struct error err = {0};

	add_policies(f, 4, false);
	f->spec.governor = "performance";
	assert_int_equal(parse_cpu_list("3-5", f->spec.cpus, &err), 0);
	f->spec.cpus_set = true;
	assert_int_equal(hosttune_apply(&f->spec, &ht, &f->report, &err), 0);
	assert_int_equal(control(f, "host.governor")->state, CONTROL_DEGRADED);
	assert_non_null(strstr(control(f, "host.governor")->detail, "CPUs 4-5"));
	assert_value(f, CPU "cpufreq/policy3/scaling_governor", "performance");
	assert_int_equal(hosttune_restore(&ht, &err), 0);
	assert_value(f, CPU "cpufreq/policy3/scaling_governor", "powersave");
}

static void test_governor_not_available(void **state)
{
	struct fixture *f = *state;
	struct hosttune ht;
	struct error err = {0};

	add_policies(f, 2, false);
	unit_put_line(f->root, CPU "intel_pstate/no_turbo", "0");
	f->spec.no_turbo = true;
	f->spec.governor = "schedutil";
	assert_int_equal(hosttune_apply(&f->spec, &ht, &f->report, &err), -1);
	assert_int_equal(err.exit_code, EXIT_RUNNER_ERROR);
	assert_non_null(strstr(err.msg, "'schedutil'"));
	assert_non_null(strstr(err.msg, "policy0/scaling_available_governors"));
	assert_non_null(strstr(err.msg, "performance powersave"));
	assert_false(ht.active);
	/* nothing was touched, not even the turbo part of the same request */
	assert_value(f, CPU "intel_pstate/no_turbo", "0");
	assert_value(f, CPU "cpufreq/policy0/scaling_governor", "powersave");
	assert_false(state_exists(f));
}

static void test_no_interface(void **state)
{
	struct fixture *f = *state;
	struct hosttune ht;
	struct error err = {0};

	f->spec.no_turbo = true;
	f->spec.governor = "performance";
	assert_int_equal(hosttune_turbo_interface(f->root), TURBO_NONE);
	assert_int_equal(hosttune_apply(&f->spec, &ht, &f->report, &err), 0);
	assert_false(ht.active);
	assert_int_equal(control(f, "host.turbo")->state, CONTROL_UNAVAILABLE);
	assert_non_null(
	    strstr(control(f, "host.turbo")->detail,
	           "no intel_pstate/no_turbo, cpufreq/boost or per-policy boost under"));
	assert_non_null(strstr(control(f, "host.turbo")->detail, f->root));
	assert_int_equal(control(f, "host.governor")->state, CONTROL_UNAVAILABLE);
	assert_false(state_exists(f));
	assert_int_equal(hosttune_restore(&ht, &err), 0);
}

static void test_nothing_requested(void **state)
{
	struct fixture *f = *state;
	struct hosttune ht;
	struct error err = {0};

	unit_put_line(f->root, CPU "intel_pstate/no_turbo", "0");
	assert_int_equal(hosttune_apply(&f->spec, &ht, &f->report, &err), 0);
	assert_int_equal(f->report.n_controls, 0);
	assert_false(state_exists(f));
	assert_value(f, CPU "intel_pstate/no_turbo", "0");
}

/* A runner that applies and dies without restoring (as after SIGKILL). */
static void crash_child(struct fixture *f)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct hosttune ht;
		struct error err = {0};

		_exit(hosttune_apply(&f->spec, &ht, NULL, &err) == 0 && ht.active ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_recover_after_crash(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};

	add_policies(f, 2, false);
	unit_put_line(f->root, CPU "intel_pstate/no_turbo", "0");
	f->spec.no_turbo = true;
	f->spec.governor = "performance";
	crash_child(f);
	assert_value(f, CPU "intel_pstate/no_turbo", "1");
	assert_value(f, CPU "cpufreq/policy1/scaling_governor", "performance");
	assert_true(state_exists(f));

	assert_int_equal(hosttune_recover(f->state_dir, f->root, &err), 0);
	assert_value(f, CPU "intel_pstate/no_turbo", "0");
	assert_value(f, CPU "cpufreq/policy0/scaling_governor", "powersave");
	assert_value(f, CPU "cpufreq/policy1/scaling_governor", "powersave");
	assert_false(state_exists(f));
	/* nothing left: recovery again is a no-op */
	assert_int_equal(hosttune_recover(f->state_dir, f->root, &err), 0);
}

/* Rewrite the pid of every run in the state file. */
static void set_state_pid(const struct fixture *f, long pid)
{
	char *path = xasprintf("%s/state", f->host_dir);
	char *text = NULL, *out = xstrdup(""), *save = NULL;
	struct error err = {0};

	assert_int_equal(read_file(path, &text, NULL, &err), 0);
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *next;
		char token[64];
		unsigned long long start;
		long old;

		if (sscanf(l, "run %ld %llu %63s", &old, &start, token) == 3)
			next = xasprintf("%srun %ld %llu %s\n", out, pid, start, token);
		else
			next = xasprintf("%s%s\n", out, l);
		free(out);
		out = next;
	}
	assert_int_equal(write_file(path, out, strlen(out), &err), 0);
	free(out);
	free(text);
	free(path);
}

static void test_recover_dead_pid(void **state)
{
	struct fixture *f = *state;
	struct hosttune ht;
	struct error err = {0};
	pid_t dead = fork();

	assert_true(dead >= 0);
	if (dead == 0)
		_exit(0);
	assert_int_equal(waitpid(dead, NULL, 0), dead);

	unit_put_line(f->root, CPU "cpufreq/boost", "1");
	f->spec.no_turbo = true;
	assert_int_equal(hosttune_apply(&f->spec, &ht, NULL, &err), 0);
	/* we are alive: recovery must leave our settings alone */
	assert_int_equal(hosttune_recover(f->state_dir, f->root, &err), 0);
	assert_value(f, CPU "cpufreq/boost", "0");
	assert_true(state_exists(f));

	set_state_pid(f, (long)dead);
	assert_int_equal(hosttune_recover(f->state_dir, f->root, &err), 0);
	assert_value(f, CPU "cpufreq/boost", "1");
	assert_false(state_exists(f));
	/* the run's own restore finds nothing left and is fine with that */
	assert_int_equal(hosttune_restore(&ht, &err), 0);
	assert_value(f, CPU "cpufreq/boost", "1");
}

/* A new run after a crashed one must record the true original, not the
 * value the dead run left behind. */
static void test_apply_after_crash(void **state)
{
	struct fixture *f = *state;
	struct hosttune ht;
	struct error err = {0};

	unit_put_line(f->root, CPU "intel_pstate/no_turbo", "0");
	f->spec.no_turbo = true;
	crash_child(f);
	assert_value(f, CPU "intel_pstate/no_turbo", "1");
	assert_int_equal(hosttune_apply(&f->spec, &ht, NULL, &err), 0);
	assert_int_equal(hosttune_restore(&ht, &err), 0);
	assert_value(f, CPU "intel_pstate/no_turbo", "0");
	assert_false(state_exists(f));
}

static void test_concurrent_runs(void **state)
{
	struct fixture *f = *state;
	struct hosttune a, b;
	struct error err = {0};

	unit_put_line(f->root, CPU "intel_pstate/no_turbo", "0");
	f->spec.no_turbo = true;
	assert_int_equal(hosttune_apply(&f->spec, &a, NULL, &err), 0);
	assert_int_equal(hosttune_apply(&f->spec, &b, NULL, &err), 0);
	assert_string_not_equal(a.token, b.token);
	assert_value(f, CPU "intel_pstate/no_turbo", "1");

	assert_int_equal(hosttune_restore(&a, &err), 0);
	assert_value(f, CPU "intel_pstate/no_turbo", "1");
	assert_true(state_exists(f));

	assert_int_equal(hosttune_restore(&b, &err), 0);
	assert_value(f, CPU "intel_pstate/no_turbo", "0");
	assert_false(state_exists(f));
}

static void test_concurrent_mixed_requests(void **state)
{
	struct fixture *f = *state;
	struct sandbox_spec turbo_only = f->spec, gov_only = f->spec;
	struct hosttune a, b;
	struct error err = {0};

	add_policies(f, 2, false);
	unit_put_line(f->root, CPU "intel_pstate/no_turbo", "0");
	turbo_only.no_turbo = true;
	gov_only.governor = "performance";
	assert_int_equal(hosttune_apply(&turbo_only, &a, NULL, &err), 0);
	assert_int_equal(hosttune_apply(&gov_only, &b, NULL, &err), 0);
	assert_int_equal(hosttune_restore(&a, &err), 0);
	/* the originals go back only when the last run leaves */
	assert_value(f, CPU "intel_pstate/no_turbo", "1");
	assert_value(f, CPU "cpufreq/policy0/scaling_governor", "performance");
	assert_int_equal(hosttune_restore(&b, &err), 0);
	assert_value(f, CPU "intel_pstate/no_turbo", "0");
	assert_value(f, CPU "cpufreq/policy0/scaling_governor", "powersave");
}

static void test_concurrent_conflict(void **state)
{
	struct fixture *f = *state;
	struct sandbox_spec other = f->spec;
	struct hosttune a, b;
	struct error err = {0};

	add_policies(f, 2, false);
	f->spec.governor = "performance";
	other.governor = "powersave";
	assert_int_equal(hosttune_apply(&f->spec, &a, NULL, &err), 0);
	assert_int_equal(hosttune_apply(&other, &b, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "conflict"));
	assert_non_null(strstr(err.msg, "policy0/scaling_governor"));
	assert_false(b.active);
	assert_value(f, CPU "cpufreq/policy0/scaling_governor", "performance");
	assert_int_equal(hosttune_restore(&a, &err), 0);
	assert_value(f, CPU "cpufreq/policy0/scaling_governor", "powersave");
	assert_false(state_exists(f));
}

static void test_write_failure_rolls_back(void **state)
{
	struct fixture *f = *state;
	struct hosttune ht;
	struct error err = {0};
	char *gov1 = xasprintf("%s/" CPU "cpufreq/policy1/scaling_governor", f->root);

	/* readable but not writable even for root: the second write fails
	 * after the first one succeeded */
	add_policies(f, 2, false);
	assert_int_equal(unlink(gov1), 0);
	assert_int_equal(symlink("/proc/sys/kernel/osrelease", gov1), 0);
	f->spec.governor = "performance";
	assert_int_equal(hosttune_apply(&f->spec, &ht, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "policy1/scaling_governor"));
	assert_false(ht.active);
	assert_value(f, CPU "cpufreq/policy0/scaling_governor", "powersave");
	assert_false(state_exists(f));
	free(gov1);
}

static void test_unsafe_state_dir(void **state)
{
	struct fixture *f = *state;
	struct hosttune ht;
	struct error err = {0};

	unit_put_line(f->root, CPU "intel_pstate/no_turbo", "0");
	assert_int_equal(mkdir_p(f->host_dir, 0700, &err), 0);
	assert_int_equal(chmod(f->host_dir, 0777), 0);
	f->spec.no_turbo = true;
	assert_int_equal(hosttune_apply(&f->spec, &ht, NULL, &err), -1);
	assert_non_null(strstr(err.msg, f->host_dir));
	assert_value(f, CPU "intel_pstate/no_turbo", "0");
}

static void test_state_for_other_root(void **state)
{
	struct fixture *f = *state;
	struct hosttune ht;
	struct error err = {0};

	unit_put_line(f->root, CPU "intel_pstate/no_turbo", "0");
	f->spec.no_turbo = true;
	assert_int_equal(hosttune_apply(&f->spec, &ht, NULL, &err), 0);
	assert_int_equal(hosttune_recover(f->state_dir, "/", &err), -1);
	assert_non_null(strstr(err.msg, "sysfs root"));
	assert_int_equal(hosttune_restore(&ht, &err), 0);
	assert_value(f, CPU "intel_pstate/no_turbo", "0");
}

static void test_host_main_restore(void **state)
{
	struct fixture *f = *state;
	char *argv[] = {"host",       "restore", "--sysfs-root", f->root, "--state-dir",
	                f->state_dir, NULL};
	char *status_argv[] = {"host",       "status", "--sysfs-root", f->root, "--state-dir",
	                       f->state_dir, NULL};
	char *bad_argv[] = {"host", "frobnicate", NULL};

	unit_put_line(f->root, CPU "cpufreq/boost", "1");
	f->spec.no_turbo = true;
	crash_child(f);
	assert_value(f, CPU "cpufreq/boost", "0");
	assert_int_equal(cli_host(6, status_argv), 0);
	assert_int_equal(cli_host(6, argv), 0);
	assert_value(f, CPU "cpufreq/boost", "1");
	assert_false(state_exists(f));
	assert_int_equal(cli_host(2, bad_argv), EXIT_RUNNER_ERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_intel_pstate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cpufreq_boost, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_policy_boost, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_governor_pinned, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_governor_all_cpus, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_governor_partly_covered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_governor_not_available, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_interface, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nothing_requested, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recover_after_crash, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recover_dead_pid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apply_after_crash, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_runs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_mixed_requests, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_conflict, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_failure_rolls_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unsafe_state_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state_for_other_root, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_host_main_restore, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
