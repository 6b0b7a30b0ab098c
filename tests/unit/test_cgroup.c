/* test_cgroup.c - the cgroup parsers, run ids, a fake cgroup tree in a
 * mkdtemp directory, and (as root, when a writable cgroup2 mount exists) a
 * real run cgroup: create, clone into it, kill, destroy. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "host/cgroup.h"
#include "unit_fixture.h"

/* ---- parsers ---- */

static const char hybrid_mountinfo[] =
    "22 28 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw\n";

static void test_mountinfo_hybrid(void **state)
{
	struct error err = {0};
	char *mnt = NULL;

	(void)state;
	assert_int_equal(cgroup2_find_mount(hybrid_mountinfo, &mnt, &err), 0);
	assert_string_equal(mnt, "/sys/fs/cgroup/unified");
	free(mnt);
}

static void test_mountinfo_escaped_and_malformed(void **state)
{
	const char text[] = "garbage line\n"
	                    "1 2 3\n"
	                    "5 1 0:5 / /x - cgroup2\n" /* too few fields before '-' */
	                    "36 25 0:30 / /mnt/my\\040cg\\134x rw - cgroup2 none rw,nsdelegate\n";
	struct error err = {0};
	char *mnt = NULL;

	(void)state;
	assert_int_equal(cgroup2_find_mount(text, &mnt, &err), 0);
	assert_string_equal(mnt, "/mnt/my cg\\x");
	free(mnt);
}

static void test_mountinfo_none(void **state)
{
	const char text[] = "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
	                    "36 31 0:33 / /cgroup2 rw - tmpfs cgroup2 rw\n";
	struct error err = {0};
	char *mnt = (char *)"unchanged";

	(void)state;
	assert_int_equal(cgroup2_find_mount(text, &mnt, &err), -1);
	assert_null(mnt);
	assert_non_null(strstr(err.msg, "no cgroup2 mount"));
	assert_int_equal(cgroup2_find_mount("", &mnt, &err), -1);
}

static void test_controllers(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(cgroup_parse_controllers("cpuset cpu io memory hugetlb pids rdma misc\n"),
	                 CG_CPUSET | CG_CPU | CG_IO | CG_MEMORY | CG_HUGETLB | CG_PIDS | CG_RDMA |
	                     CG_MISC);
	assert_int_equal(cgroup_parse_controllers("hugetlb\n"), CG_HUGETLB);
	assert_int_equal(cgroup_parse_controllers(""), 0);
	/* prefixes and unknown names are not controllers */
	assert_int_equal(cgroup_parse_controllers("cpus memoryx perf_event  pids"), CG_PIDS);
	cgroup_format_controllers(CG_PIDS | CG_CPUSET | CG_MEMORY, buf, sizeof(buf));
	assert_string_equal(buf, "cpuset memory pids");
	cgroup_format_controllers(0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	cgroup_format_controllers(CG_CPUSET | CG_MEMORY, buf, 8);
	assert_string_equal(buf, "cpuset");
}

static void test_cpu_stat(void **state)
{
	struct cgroup_stats st = {0};

	(void)state;
	assert_int_equal(cgroup_parse_cpu_stat("usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n"
	                                       "nr_periods 0\nnr_throttled 0\n",
	                                       &st),
	                 0);
	assert_true(st.has_cpu);
	assert_int_equal(st.usage_usec, 1500);
	assert_int_equal(st.user_usec, 1000);
	assert_int_equal(st.system_usec, 500);

	memset(&st, 0, sizeof(st));
	assert_int_equal(cgroup_parse_cpu_stat("usage_usec 7\nuser_usec 7\n", &st), 0);
	assert_false(st.has_cpu);
	assert_int_equal(cgroup_parse_cpu_stat("usage_usec 7\nuser_usec x\nsystem_usec 1\n", &st),
	                 -1);
	assert_int_equal(cgroup_parse_cpu_stat("usage_usec 7z\nuser_usec 1\nsystem_usec 1\n", &st),
	                 -1);
}

static void test_memory_events(void **state)
{
	struct cgroup_stats st = {0};

	(void)state;
	assert_int_equal(cgroup_parse_memory_events("low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\n"
	                                            "oom_group_kill 0\n",
	                                            &st),
	                 0);
	assert_true(st.has_memory_events);
	assert_int_equal(st.oom, 2);
	assert_int_equal(st.oom_kill, 1);

	memset(&st, 0, sizeof(st));
	/* "oom_group_kill" must not be mistaken for "oom" */
	assert_int_equal(cgroup_parse_memory_events("oom_group_kill 3\noom_kill 4\n", &st), 0);
	assert_false(st.has_memory_events);
}

static void test_populated(void **state)
{
	bool p = false;

	(void)state;
	assert_int_equal(cgroup_parse_populated("populated 1\nfrozen 0\n", &p), 0);
	assert_true(p);
	assert_int_equal(cgroup_parse_populated("frozen 0\npopulated 0\n", &p), 0);
	assert_false(p);
	assert_int_equal(cgroup_parse_populated("frozen 0\n", &p), -1);
	assert_int_equal(cgroup_parse_populated("populated 2\n", &p), -1);
}

static void test_run_id(void **state)
{
	char a[CGROUP_RUN_ID_MAX], b[CGROUP_RUN_ID_MAX], tiny[4];
	struct error err = {0};
	pid_t owner = 0;

	(void)state;
	assert_int_equal(cgroup_make_run_id(a, sizeof(a), &err), 0);
	assert_int_equal(cgroup_make_run_id(b, sizeof(b), &err), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(cgroup_run_id_owner(a, &owner), 0);
	assert_int_equal(owner, getpid());
	assert_int_equal(cgroup_make_run_id(tiny, sizeof(tiny), &err), -1);

	assert_int_equal(cgroup_run_id_owner("42-abc", &owner), 0);
	assert_int_equal(owner, 42);
	assert_int_equal(cgroup_run_id_owner("abc", &owner), -1);
	assert_int_equal(cgroup_run_id_owner("-abc", &owner), -1);
	assert_int_equal(cgroup_run_id_owner("42-", &owner), -1);
	assert_int_equal(cgroup_run_id_owner("0-abc", &owner), -1);
	assert_int_equal(cgroup_run_id_owner("4x2-abc", &owner), -1);
	assert_int_equal(cgroup_run_id_owner("99999999999-abc", &owner), -1);
}

static void test_stats_json(void **state)
{
	struct cgroup_stats st = {.has_cpu = true,
	                          .usage_usec = 30,
	                          .user_usec = 20,
	                          .system_usec = 10,
	                          .has_memory_events = true,
	                          .oom = 1,
	                          .oom_kill = 1};
	json_t *o;

	(void)state;
	o = cgroup_stats_json(&st);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o, "usage_usec")), 30);
	assert_int_equal(json_integer_value(json_object_get(o, "system_usec")), 10);
	assert_int_equal(json_integer_value(json_object_get(o, "oom_kill")), 1);
	assert_null(json_object_get(o, "memory_peak"));
	assert_null(json_object_get(o, "pids_peak"));
	json_decref(o);
}

/* ---- a fake cgroup tree ---- */

struct fake {
	char root[64];
	struct sandbox_spec spec;
	struct run_report report;
};

static bool exists(const char *root, const char *rel)
{
	char *path = xasprintf("%s/%s", root, rel);
	struct stat st;
	bool ok = lstat(path, &st) == 0;

	free(path);
	return ok;
}

static int fake_setup(void **state)
{
	struct fake *f = xcalloc(1, sizeof(*f));

	snprintf(f->root, sizeof(f->root), "/tmp/pgo-cgroup-test.XXXXXX");
	if (mkdtemp(f->root) == NULL)
		return -1;
	spec_init(&f->spec);
	*state = f;
	return 0;
}

static int fake_teardown(void **state)
{
	struct fake *f = *state;
	struct error err = {0};

	remove_tree(f->root, &err);
	spec_free(&f->spec);
	free(f);
	return 0;
}

static void assert_control(const struct run_report *r, const char *name, enum control_state want,
                           const char *detail_part)
{
	const struct control_status *c = report_find(r, name);

	if (c == NULL)
		fail_msg("control %s not recorded", name);
	if (c->state != want || strstr(c->detail, detail_part) == NULL)
		fail_msg("control %s is %s: %s; want %s with '%s'", name,
		         control_state_name(c->state), c->detail, control_state_name(want),
		         detail_part);
}

static void test_fake_enables_requested_controllers(void **state)
{
	struct fake *f = *state;
	struct cgroup_run cg = CGROUP_RUN_INIT;
	struct error err = {0};
	char *v;

	unit_put(f->root, "cgroup.controllers", "cpuset cpu io memory pids\n");
	unit_put(f->root, "cgroup.subtree_control", "");
	unit_put(f->root, "pgo-sandbox/cgroup.controllers", "cpuset cpu io memory pids\n");
	unit_put(f->root, "pgo-sandbox/cgroup.subtree_control", "");
	f->spec.memory_max = 64 << 20;
	f->spec.pids_max = 16;

	assert_int_equal(cgroup_setup_at(f->root, &f->spec, "1234-abcd", &cg, &f->report, &err), 0);
	assert_true(cg.dir_fd >= 0);
	assert_true(exists(f->root, "pgo-sandbox/1234-abcd"));
	assert_int_equal(cg.controllers, CG_MEMORY | CG_PIDS);
	/* only what the spec asks for, at every level down to the parent */
	v = unit_get(f->root, "cgroup.subtree_control");
	assert_string_equal(v, "+memory +pids");
	free(v);
	v = unit_get(f->root, "pgo-sandbox/cgroup.subtree_control");
	assert_string_equal(v, "+memory +pids");
	free(v);
	assert_control(&f->report, "cgroup", CONTROL_APPLIED, "pgo-sandbox/1234-abcd");
	/* a directory is not a cgroup: the limit files are missing */
	assert_control(&f->report, "cgroup.memory", CONTROL_UNAVAILABLE,
	               "memory.max=67108864: No such file");
	assert_control(&f->report, "cgroup.pids", CONTROL_UNAVAILABLE, "pids.max=16");
	assert_null(report_find(&f->report, "cgroup.cpuset"));
	assert_null(report_find(&f->report, "cgroup.cpu"));

	assert_int_equal(cgroup_destroy(&cg, &err), 0);
	assert_int_equal(cg.dir_fd, -1);
	assert_null(cg.path);
	assert_false(exists(f->root, "pgo-sandbox/1234-abcd"));
	assert_true(exists(f->root, "pgo-sandbox"));
}

static void test_fake_missing_controllers_and_affinity(void **state)
{
	struct fake *f = *state;
	struct cgroup_run cg = CGROUP_RUN_INIT;
	struct error err = {0};
	cpu_set_t mine, got;
	pid_t child;
	int cpu = -1, status;
	char *v;

	/* like a hybrid host: the v1 hierarchies hold the controllers */
	unit_put(f->root, "cgroup.controllers", "hugetlb\n");
	unit_put(f->root, "cgroup.subtree_control", "");
	assert_int_equal(sched_getaffinity(0, sizeof(mine), &mine), 0);
	for (int i = 0; i < CPU_SETSIZE && cpu < 0; i++)
		if (CPU_ISSET(i, &mine))
			cpu = i;
	assert_true(cpu >= 0);
	f->spec.cpus[cpu / 8] |= (uint8_t)(1u << (cpu % 8));
	f->spec.cpus_set = true;
	f->spec.memory_max = 1 << 20;
	free(f->spec.cgroup_parent);
	f->spec.cgroup_parent = xasprintf("%s/a/b", f->root); /* a full path works too */

	assert_int_equal(cgroup_setup_at(f->root, &f->spec, "77-x", &cg, &f->report, &err), 0);
	assert_true(exists(f->root, "a/b/77-x"));
	assert_int_equal(cg.controllers, 0);
	v = unit_get(f->root, "cgroup.subtree_control");
	assert_string_equal(v, "");
	free(v);
	assert_control(&f->report, "cgroup.memory", CONTROL_UNAVAILABLE, "not listed in ");
	assert_control(&f->report, "cgroup.memory", CONTROL_UNAVAILABLE, "RLIMIT_AS");
	assert_control(&f->report, "cgroup.cpuset", CONTROL_UNAVAILABLE, "cgroup.controllers");

	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	assert_int_equal(cgroup_apply_fallbacks(&f->spec, &cg, child, &f->report, &err), 0);
	assert_control(&f->report, "cgroup.cpuset", CONTROL_DEGRADED,
	               "pinned with sched_setaffinity");
	assert_int_equal(sched_getaffinity(child, sizeof(got), &got), 0);
	assert_int_equal(CPU_COUNT(&got), 1);
	assert_true(CPU_ISSET(cpu, &got));
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, &status, 0), child);

	assert_int_equal(cgroup_destroy(&cg, &err), 0);
	assert_false(exists(f->root, "a/b/77-x"));
}

static void test_fake_strict_and_bad_names(void **state)
{
	struct fake *f = *state;
	struct cgroup_run cg = CGROUP_RUN_INIT;
	struct error err = {0};

	unit_put(f->root, "cgroup.controllers", "memory\n");
	unit_put(f->root, "pgo-sandbox", "a file where the parent directory should be\n");
	assert_int_equal(cgroup_setup_at(f->root, &f->spec, "1-a", &cg, &f->report, &err), 0);
	assert_int_equal(cg.dir_fd, -1);
	assert_control(&f->report, "cgroup", CONTROL_UNAVAILABLE, "pgo-sandbox");
	f->spec.strict = true;
	assert_int_equal(cgroup_setup_at(f->root, &f->spec, "1-a", &cg, &f->report, &err), -1);
	assert_non_null(strstr(err.msg, "strict"));
	assert_int_equal(cg.dir_fd, -1);
	assert_int_equal(cgroup_destroy(&cg, &err), 0);

	assert_int_equal(cgroup_setup_at(f->root, &f->spec, "../x", &cg, &f->report, &err), -1);
	assert_int_equal(cgroup_setup_at(f->root, &f->spec, "..", &cg, &f->report, &err), -1);
	assert_int_equal(cgroup_setup_at(f->root, &f->spec, "", &cg, &f->report, &err), -1);
	f->spec.cgroup_parent = xstrdup("a/../../etc");
	assert_int_equal(cgroup_setup_at(f->root, &f->spec, "1-a", &cg, &f->report, &err), -1);
	assert_non_null(strstr(err.msg, "invalid cgroup parent"));
	assert_false(exists(f->root, "../etc/1-a"));
}

static void test_fake_clean_stale(void **state)
{
	struct fake *f = *state;
	struct error err = {0};
	char live[64], parent[128];

	/* 2147483647 is above any pid_max: that runner is certainly gone */
	snprintf(live, sizeof(live), "pgo-sandbox/%ld-live/x", (long)getpid());
	unit_put(f->root, live, "");
	unit_mkdir(f->root, "pgo-sandbox/2147483647-dead");
	unit_put(f->root, "pgo-sandbox/1-init/x", "");
	unit_put(f->root, "pgo-sandbox/not-a-run/x", "");
	unit_put(f->root, "pgo-sandbox/2147483646-file", "");
	snprintf(parent, sizeof(parent), "%s/pgo-sandbox", f->root);

	assert_int_equal(cgroup_clean_stale(parent, &err), 1);
	assert_false(exists(f->root, "pgo-sandbox/2147483647-dead"));
	live[strlen(live) - 2] = '\0';
	assert_true(exists(f->root, live));
	assert_true(exists(f->root, "pgo-sandbox/1-init"));
	assert_true(exists(f->root, "pgo-sandbox/not-a-run"));
	assert_true(exists(f->root, "pgo-sandbox/2147483646-file"));
	assert_int_equal(cgroup_clean_stale(parent, &err), 0);
	assert_int_equal(cgroup_clean_stale("/nonexistent/pgo", &err), -1);
}

/* ---- the real cgroup2 hierarchy (root only) ---- */

#define REAL_PARENT "pgo-sandbox-unittest"

struct real {
	char *mount;
	char *parent;
	unsigned avail;
	struct sandbox_spec spec;
	struct run_report report;
};

static int real_setup(void **state)
{
	struct real *t = xcalloc(1, sizeof(*t));
	struct error err = {0};

	spec_init(&t->spec);
	t->spec.cgroup_parent = xstrdup(REAL_PARENT);
	*state = t;
	if (geteuid() != 0)
		return 0;
	if (cgroup_probe(&t->mount, &t->avail, &err) < 0) {
		free(t->mount);
		t->mount = NULL;
		return 0;
	}
	t->parent = xasprintf("%s/%s", t->mount, REAL_PARENT);
	if (mkdir(t->parent, 0755) < 0 && errno != EEXIST) {
		free(t->mount);
		t->mount = NULL;
	}
	return 0;
}

static int real_teardown(void **state)
{
	struct real *t = *state;

	if (t->parent)
		rmdir(t->parent);
	free(t->parent);
	free(t->mount);
	spec_free(&t->spec);
	free(t);
	return 0;
}

static void skip_unless_real(const struct real *t)
{
	if (t->mount == NULL) {
		print_message("no writable cgroup2 hierarchy or not root: skipped\n");
		skip();
	}
}

static bool proc_in_cgroup(pid_t pid, const char *cg_path, const char *mount)
{
	char *file = xasprintf("/proc/%ld/cgroup", (long)pid);
	char *want = xasprintf("0::%s\n", cg_path + strlen(mount));
	struct error err = {0};
	char *text = NULL;
	bool ok;

	assert_int_equal(read_file(file, &text, NULL, &err), 0);
	ok = strstr(text, want) != NULL;
	if (!ok)
		print_message("%s has:\n%s(wanted %s)", file, text, want);
	free(text);
	free(want);
	free(file);
	return ok;
}

static int count_procs(const struct cgroup_run *cg)
{
	char *file = xasprintf("%s/cgroup.procs", cg->path);
	struct error err = {0};
	char *text = NULL;
	int n = 0;

	assert_int_equal(read_file(file, &text, NULL, &err), 0);
	for (char *p = text; *p; p++)
		n += *p == '\n';
	free(text);
	free(file);
	return n;
}

static void wait_killed(pid_t pid)
{
	int status = 0;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
}

static void test_real_attach_kill_destroy(void **state)
{
	struct real *t = *state;
	struct cgroup_run cg = CGROUP_RUN_INIT;
	struct cgroup_stats st;
	struct error err = {0};
	char id[CGROUP_RUN_ID_MAX];
	int go[2], forked[2];
	char *path, c;
	struct stat sb;
	pid_t child;

	skip_unless_real(t);
	assert_int_equal(cgroup_make_run_id(id, sizeof(id), &err), 0);
	assert_int_equal(cgroup_setup_at(t->mount, &t->spec, id, &cg, &t->report, &err), 0);
	assert_true(cg.dir_fd >= 0);
	assert_control(&t->report, "cgroup", CONTROL_APPLIED, id);

	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(forked), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		/* a grandchild too, forked once inside: kill must take the tree */
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		if (fork() == 0)
			pause();
		if (write(forked[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	assert_int_equal(cgroup_attach(&cg, child, &err), 0);
	assert_true(proc_in_cgroup(child, cg.path, t->mount));
	assert_int_equal(write(go[1], "x", 1), 1);
	assert_int_equal(read(forked[0], &c, 1), 1);
	assert_int_equal(count_procs(&cg), 2);
	assert_int_equal(cgroup_read_stats(&cg, &st), 0);
	assert_true(st.has_cpu);

	assert_int_equal(cgroup_kill(&cg), 0);
	wait_killed(child);
	assert_int_equal(cgroup_destroy(&cg, &err), 0);
	close(go[0]);
	close(go[1]);
	close(forked[0]);
	close(forked[1]);
	assert_int_equal(cg.dir_fd, -1);
	path = xasprintf("%s/%s", t->parent, id);
	assert_int_equal(stat(path, &sb), -1);
	assert_int_equal(errno, ENOENT);
	free(path);
}

struct clone_args_v2 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
	    set_tid_size, cgroup;
};

static void test_real_clone_into_cgroup(void **state)
{
	struct real *t = *state;
	struct cgroup_run cg = CGROUP_RUN_INIT;
	struct clone_args_v2 args;
	struct error err = {0};
	char id[CGROUP_RUN_ID_MAX];
	long child;

	skip_unless_real(t);
	assert_int_equal(cgroup_make_run_id(id, sizeof(id), &err), 0);
	assert_int_equal(cgroup_setup_at(t->mount, &t->spec, id, &cg, &t->report, &err), 0);
	memset(&args, 0, sizeof(args));
	args.flags = 0x200000000ULL; /* CLONE_INTO_CGROUP */
	args.exit_signal = SIGCHLD;
	args.cgroup = (uint64_t)cg.dir_fd;
	child = syscall(SYS_clone3, &args, sizeof(args));
	if (child == 0) {
		pause();
		_exit(0);
	}
	if (child < 0)
		fail_msg("clone3(CLONE_INTO_CGROUP, %s): %s", cg.path, strerror(errno));
	assert_true(proc_in_cgroup((pid_t)child, cg.path, t->mount));
	assert_int_equal(cgroup_destroy(&cg, &err), 0);
	wait_killed((pid_t)child);
}

/* A cgroup left by a dead runner, with a live process in it, is killed and
 * removed by the next setup under the same parent. */
static void test_real_stale_cleanup(void **state)
{
	struct real *t = *state;
	struct cgroup_run cg = CGROUP_RUN_INIT, stale = CGROUP_RUN_INIT;
	struct error err = {0};
	char id[CGROUP_RUN_ID_MAX], stale_id[64];
	pid_t dead, child;
	struct stat sb;
	int status;

	skip_unless_real(t);
	dead = fork();
	assert_true(dead >= 0);
	if (dead == 0)
		_exit(0);
	assert_int_equal(waitpid(dead, &status, 0), dead);
	snprintf(stale_id, sizeof(stale_id), "%ld-stale", (long)dead);
	assert_int_equal(cgroup_setup_at(t->mount, &t->spec, stale_id, &stale, &t->report, &err),
	                 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	assert_int_equal(cgroup_attach(&stale, child, &err), 0);
	/* forget it, as a SIGKILLed runner would */
	close(stale.dir_fd);

	assert_int_equal(cgroup_make_run_id(id, sizeof(id), &err), 0);
	assert_int_equal(cgroup_setup_at(t->mount, &t->spec, id, &cg, &t->report, &err), 0);
	wait_killed(child);
	assert_int_equal(stat(stale.path, &sb), -1);
	assert_int_equal(errno, ENOENT);
	free(stale.path);
	assert_int_equal(cgroup_destroy(&cg, &err), 0);
}

/* Limits are applied exactly when the hierarchy offers the controller, and
 * reported unavailable otherwise (the hybrid host has none). */
static void test_real_limits(void **state)
{
	struct real *t = *state;
	struct cgroup_run cg = CGROUP_RUN_INIT;
	struct error err = {0};
	char id[CGROUP_RUN_ID_MAX];
	char buf[64];
	FILE *fp;

	skip_unless_real(t);
	t->spec.memory_max = 64 << 20;
	t->spec.pids_max = 10;
	t->spec.cpus[0] = 1; /* cpu 0 */
	t->spec.cpus_set = true;
	t->spec.cpu_weight = 50;
	assert_int_equal(cgroup_make_run_id(id, sizeof(id), &err), 0);
	assert_int_equal(cgroup_setup_at(t->mount, &t->spec, id, &cg, &t->report, &err), 0);
	if (t->avail & CG_MEMORY) {
		assert_control(&t->report, "cgroup.memory", CONTROL_APPLIED, "memory.max=67108864");
		fp = fdopen(openat(cg.dir_fd, "memory.max", O_RDONLY), "r");
		assert_non_null(fp);
		assert_non_null(fgets(buf, sizeof(buf), fp));
		fclose(fp);
		assert_string_equal(buf, "67108864\n");
	} else {
		assert_control(&t->report, "cgroup.memory", CONTROL_UNAVAILABLE, "not listed");
	}
	assert_control(&t->report, "cgroup.pids",
	               t->avail & CG_PIDS ? CONTROL_APPLIED : CONTROL_UNAVAILABLE, "pids");
	assert_control(&t->report, "cgroup.cpuset",
	               t->avail & CG_CPUSET ? CONTROL_APPLIED : CONTROL_UNAVAILABLE, "cpuset");
	assert_control(&t->report, "cgroup.cpu",
	               t->avail & CG_CPU ? CONTROL_APPLIED : CONTROL_UNAVAILABLE, "cpu");
	assert_int_equal(cgroup_destroy(&cg, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mountinfo_hybrid),
	    cmocka_unit_test(test_mountinfo_escaped_and_malformed),
	    cmocka_unit_test(test_mountinfo_none),
	    cmocka_unit_test(test_controllers),
	    cmocka_unit_test(test_cpu_stat),
	    cmocka_unit_test(test_memory_events),
	    cmocka_unit_test(test_populated),
	    cmocka_unit_test(test_run_id),
	    cmocka_unit_test(test_stats_json),
	    cmocka_unit_test_setup_teardown(test_fake_enables_requested_controllers, fake_setup,
	                                    fake_teardown),
	    cmocka_unit_test_setup_teardown(test_fake_missing_controllers_and_affinity, fake_setup,
	                                    fake_teardown),
	    cmocka_unit_test_setup_teardown(test_fake_strict_and_bad_names, fake_setup,
	                                    fake_teardown),
	    cmocka_unit_test_setup_teardown(test_fake_clean_stale, fake_setup, fake_teardown),
	    cmocka_unit_test_setup_teardown(test_real_attach_kill_destroy, real_setup,
	                                    real_teardown),
	    cmocka_unit_test_setup_teardown(test_real_clone_into_cgroup, real_setup, real_teardown),
	    cmocka_unit_test_setup_teardown(test_real_stale_cleanup, real_setup, real_teardown),
	    cmocka_unit_test_setup_teardown(test_real_limits, real_setup, real_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
