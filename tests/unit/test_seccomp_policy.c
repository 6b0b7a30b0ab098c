/* test_seccomp_policy.c - the seccomp policy: its exported form, and its
 * effect on the standalone prober (tests/probes/seccomp_probe.c) run in a
 * child that installed it.  The probe is found in $PGO_PROBE_DIR (default
 * build/probes); the prober tests are skipped when it is missing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox/seccomp_policy.h"

#define MAX_LINES 256

struct probe_line {
	char name[64];
	char rest[128]; /* "<result> <ok|ERRNO>", "signal SIGX" or a status value */
};

struct probe_output {
	size_t n;
	struct probe_line lines[MAX_LINES];
};

/* Everything a child writes to fd until EOF, NUL-terminated. */
static char *read_all(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = xcalloc(1, cap);
	ssize_t n;

	for (;;) {
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n >= 0);
		if (n == 0)
			break;
		len += (size_t)n;
		if (cap - len < 2)
			buf = xrealloc(buf, cap *= 2);
	}
	buf[len] = '\0';
	return buf;
}

static char *export_pfc(const struct seccomp_options *o)
{
	struct error err = {0};
	int fd = memfd_create("seccomp-pfc", MFD_CLOEXEC);
	char *text;

	assert_true(fd >= 0);
	if (seccomp_policy_export(o, fd, true, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	text = read_all(fd);
	close(fd);
	return text;
}

/* `"name"` as the pfc comments name a syscall rule. */
static bool pfc_names(const char *pfc, const char *name)
{
	char *quoted = xasprintf("\"%s\"", name);
	bool found = strstr(pfc, quoted) != NULL;

	free(quoted);
	return found;
}

/* Does the syscall exist on this architecture?  Unknown to libseccomp
 * (newer than it) counts as existing: the policy numbers those itself. */
static bool native_syscall(const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);

	return nr >= 0 || nr == __NR_SCMP_ERROR;
}

static void probe_path(char *buf, size_t len)
{
	const char *dir = getenv("PGO_PROBE_DIR");

	snprintf(buf, len, "%s/seccomp_probe", dir && *dir ? dir : "build/probes");
	if (access(buf, X_OK) != 0) {
		print_message("no probe at %s, skipping\n", buf);
		skip();
	}
}

/* Skip before anything is allocated: cmocka's skip() leaves the test
 * function, and LeakSanitizer would report what it held. */
static void require_probe(void)
{
	char path[512];

	probe_path(path, sizeof(path));
}

static void parse_probe(const char *text, struct probe_output *out)
{
	const char *p = text;

	out->n = 0;
	while (*p != '\0') {
		const char *eol = strchrnul(p, '\n');
		const char *sp = memchr(p, ' ', (size_t)(eol - p));
		struct probe_line *l = &out->lines[out->n];

		assert_true(out->n < MAX_LINES);
		assert_non_null(sp);
		snprintf(l->name, sizeof(l->name), "%.*s", (int)(sp - p), p);
		snprintf(l->rest, sizeof(l->rest), "%.*s", (int)(eol - sp - 1), sp + 1);
		out->n++;
		p = *eol ? eol + 1 : eol;
	}
}

/* Run the probe with `o` installed first (unconfined when NULL). */
static void run_probe(const struct seccomp_options *o, struct probe_output *out)
{
	char path[4096];
	int fds[2];
	int status;
	char *text;
	pid_t pid;

	probe_path(path, sizeof(path));
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct error err = {0};

		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(126);
		if (o != NULL && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		                  seccomp_policy_install(o, &err) < 0)) {
			error_print(&err);
			_exit(125);
		}
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	text = read_all(fds[0]);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	parse_probe(text, out);
	free(text);
}

static const char *probe_get(const struct probe_output *out, const char *name)
{
	for (size_t i = 0; i < out->n; i++) {
		if (strcmp(out->lines[i].name, name) == 0)
			return out->lines[i].rest;
	}
	fail_msg("the probe printed no line for %s", name);
	return NULL;
}

/* The ok/ERRNO/SIGNAL word of an attempt line. */
static const char *outcome(const struct probe_output *out, const char *name)
{
	const char *rest = probe_get(out, name);
	const char *sp = strrchr(rest, ' ');

	assert_non_null(sp);
	return sp + 1;
}

static bool is_control(const char *name)
{
	return strncmp(name, "control:", 8) == 0 || strncmp(name, "status:", 7) == 0;
}

/* The syscall part of "name" or "name:variant". */
static bool line_is_syscall(const char *line_name, const char *syscall_name)
{
	size_t len = strlen(syscall_name);

	return strncmp(line_name, syscall_name, len) == 0 &&
	       (line_name[len] == '\0' || line_name[len] == ':');
}

static void assert_not_eperm(const struct probe_output *out, const char *name)
{
	const char *what = outcome(out, name);

	if (strcmp(what, "EPERM") == 0 || strncmp(what, "SIG", 3) == 0)
		fail_msg("%s: %s, expected the call to proceed", name, probe_get(out, name));
}

static void assert_outcome(const struct probe_output *out, const char *name, const char *want)
{
	const char *what = outcome(out, name);

	if (strcmp(what, want) != 0)
		fail_msg("%s: got \"%s\", expected %s", name, probe_get(out, name), want);
}

static void assert_status(const struct probe_output *out, const char *key, const char *want)
{
	assert_string_equal(probe_get(out, key), want);
}

/* --- the filter as built --- */

static void test_denied_list(void **state)
{
	const char *const *names = seccomp_policy_denied_syscalls();
	size_t n = 0;

	(void)state;
	assert_non_null(names);
	for (; names[n] != NULL; n++) {
		for (size_t j = 0; j < n; j++)
			assert_string_not_equal(names[j], names[n]);
	}
	assert_true(n >= 40);
}

static void test_build_attributes(void **state)
{
	struct seccomp_options o = {0};
	struct error err = {0};
	scmp_filter_ctx ctx;
	uint32_t v;

	(void)state;
	if (seccomp_policy_build(&o, &ctx, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(seccomp_attr_get(ctx, SCMP_FLTATR_ACT_DEFAULT, &v), 0);
	assert_int_equal(v, SCMP_ACT_ALLOW);
	assert_int_equal(seccomp_attr_get(ctx, SCMP_FLTATR_ACT_BADARCH, &v), 0);
	assert_int_equal(v, SCMP_ACT_ERRNO(EPERM));
	assert_int_equal(seccomp_attr_get(ctx, SCMP_FLTATR_CTL_NNP, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(seccomp_attr_get(ctx, SCMP_FLTATR_CTL_SSB, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(seccomp_attr_get(ctx, SCMP_FLTATR_CTL_OPTIMIZE, &v), 0);
	assert_int_equal(v, 2);
	/* Native only: the foreign ABIs must hit the bad-arch action. */
	assert_int_equal(seccomp_arch_exist(ctx, SCMP_ARCH_NATIVE), 0);
	assert_int_equal(seccomp_arch_exist(ctx, SCMP_ARCH_X86), -EEXIST);
	assert_int_equal(seccomp_arch_exist(ctx, SCMP_ARCH_X32), -EEXIST);
	seccomp_release(ctx);
}

static void test_export_names_every_rule(void **state)
{
	const char *const *names = seccomp_policy_denied_syscalls();
	struct seccomp_options o = {0};
	char *pfc = export_pfc(&o);

	(void)state;
	for (size_t i = 0; names[i] != NULL; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);

		/* Unknown to libseccomp: pfc calls it "UNKNOWN". */
		if (nr >= 0 && !pfc_names(pfc, names[i]))
			fail_msg("no rule for %s in\n%s", names[i], pfc);
		if (nr < 0 && nr != __NR_SCMP_ERROR)
			assert_false(pfc_names(pfc, names[i]));
	}
	assert_non_null(strstr(pfc, "action ERRNO(38);")); /* clone3: ENOSYS */
	assert_non_null(strstr(pfc, "# invalid architecture action\naction ERRNO(1);"));
	assert_non_null(strstr(pfc, "# default action\n  action ALLOW;"));
	free(pfc);
}

/* Deterministic entropy: getrandom answers ENOSYS (libraries then read
 * /dev/urandom); without the option getrandom is not touched. */
static void test_export_entropy_rule(void **state)
{
	struct seccomp_options plain = {0};
	struct seccomp_options det = {.deterministic_entropy = true};
	char *pfc;

	(void)state;
	pfc = export_pfc(&plain);
	assert_false(pfc_names(pfc, "getrandom"));
	free(pfc);
	pfc = export_pfc(&det);
	assert_true(pfc_names(pfc, "getrandom"));
	assert_non_null(strstr(strstr(pfc, "getrandom"), "action ERRNO(38);"));
	free(pfc);
}

static void test_export_gates(void **state)
{
	struct seccomp_options ptrace_ok = {.allow_ptrace = true};
	struct seccomp_options perf_ok = {.allow_perf = true};
	char *pfc;

	(void)state;
	pfc = export_pfc(&ptrace_ok);
	assert_false(pfc_names(pfc, "ptrace"));
	assert_false(pfc_names(pfc, "process_vm_readv"));
	assert_false(pfc_names(pfc, "pidfd_getfd"));
	assert_true(pfc_names(pfc, "perf_event_open"));
	assert_true(pfc_names(pfc, "mount"));
	free(pfc);

	pfc = export_pfc(&perf_ok);
	assert_false(pfc_names(pfc, "perf_event_open"));
	assert_true(pfc_names(pfc, "ptrace"));
	free(pfc);
}

static void test_export_log_mode(void **state)
{
	struct seccomp_options o = {.log = true};
	char *pfc = export_pfc(&o);

	(void)state;
	assert_null(strstr(pfc, "ERRNO("));
	assert_true(pfc_names(pfc, "mount"));
	assert_non_null(strstr(pfc, "action LOG;"));
	assert_non_null(strstr(pfc, "# invalid architecture action\naction LOG;"));
	free(pfc);
}

/* --- the filter loaded --- */

static bool persona_allowed(uint64_t v)
{
	uint32_t low = (uint32_t)v;

	return low == 0 || low == ADDR_NO_RANDOMIZE || low == 0xffffffffU;
}

/* In the filtered child: one personality(v) must be allowed exactly when
 * its low 32 bits are an allowed persona.  Writes a note to fd on error. */
static int check_persona(int fd, uint64_t v)
{
	long r = syscall(SYS_personality, v);
	int e = errno;
	long now = syscall(SYS_personality, 0xffffffffUL);
	uint32_t want = (uint32_t)v == 0xffffffffU ? 0 : (uint32_t)v;

	if (persona_allowed(v) ? (r == -1 || now != (long)want)
	                       : (r != -1 || e != EPERM || now != 0)) {
		dprintf(fd, "personality(%#llx) = %ld %s, now %#lx\n", (unsigned long long)v, r,
		        r == -1 ? strerrorname_np(e) : "ok", (unsigned long)now);
		return -1;
	}
	return syscall(SYS_personality, 0UL) == -1 ? -1 : 0;
}

static int check_personas(int fd)
{
	static const uint64_t high[] = {0, 1ULL << 32, 0xffffffffULL << 32};
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	for (size_t h = 0; h < 3; h++) {
		uint64_t special[] = {0, ADDR_NO_RANDOMIZE, 0xffffffffULL};

		for (size_t s = 0; s < 3; s++) {
			if (check_persona(fd, high[h] | special[s]) < 0)
				return -1;
		}
		for (unsigned i = 0; i < 32; i++) {
			for (unsigned j = 0; j < 32; j++) {
				uint64_t two = (1ULL << i) | (1ULL << j);

				if (check_persona(fd, high[h] | two) < 0 ||
				    check_persona(fd, high[h] | (0xffffffffULL & ~two)) < 0)
					return -1;
			}
		}
	}
	for (int i = 0; i < 100000; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		if (check_persona(fd, x) < 0 || check_persona(fd, x & 0xffffffffULL) < 0)
			return -1;
	}
	return 0;
}

static void test_personality_exact(void **state)
{
	struct seccomp_options o = {0};
	int fds[2];
	int status;
	char *notes;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct error err = {0};

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    seccomp_policy_install(&o, &err) < 0) {
			dprintf(fds[1], "install: %s\n", err.msg);
			_exit(1);
		}
		if (syscall(SYS_personality, 0UL) == -1)
			_exit(1);
		_exit(check_personas(fds[1]) < 0 ? 1 : 0);
	}
	close(fds[1]);
	notes = read_all(fds[0]);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_string_equal(notes, "");
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	free(notes);
}

static void test_probe_enforced(void **state)
{
	require_probe(); /* before any allocation */
	struct probe_output *bare = xcalloc(2, sizeof(*bare));
	struct probe_output *out = bare + 1;
	const char *const *names = seccomp_policy_denied_syscalls();
	struct seccomp_options o = {0};
	bool i386_works;

	(void)state;
	run_probe(NULL, bare);
	run_probe(&o, out);
	/* Without IA32 emulation int $0x80 faults before seccomp runs. */
	i386_works = strcmp(outcome(bare, "i386:getpid"), "ok") == 0;
	if (!i386_works)
		print_message("i386 syscalls unavailable here (%s): not asserted\n",
		              probe_get(bare, "i386:getpid"));

	for (size_t i = 0; i < out->n; i++) {
		const char *name = out->lines[i].name;

		if (is_control(name) || (!i386_works && strcmp(name, "i386:getpid") == 0))
			continue;
		assert_outcome(out, name, strcmp(name, "clone3") == 0 ? "ENOSYS" : "EPERM");
	}
	/* The probe tries every denied call this architecture has. */
	for (size_t i = 0; names[i] != NULL; i++) {
		bool seen = false;

		for (size_t j = 0; j < out->n && !seen; j++)
			seen = line_is_syscall(out->lines[j].name, names[i]);
		if (native_syscall(names[i]) && !seen)
			fail_msg("the probe does not try %s", names[i]);
	}
	assert_outcome(out, "x32:getpid", "EPERM");

	assert_outcome(out, "control:getpid", "ok");
	assert_outcome(out, "control:fork", "ok");
	assert_outcome(out, "control:clone", "ok");
	assert_outcome(out, "control:pthread_create", "ok");
	assert_outcome(out, "control:posix_spawn", "ok");
	assert_string_equal(probe_get(out, "control:personality:PER_LINUX"), "0 ok");
	assert_string_equal(probe_get(out, "control:personality:ADDR_NO_RANDOMIZE"), "262144 ok");
	assert_string_equal(probe_get(out, "control:personality:ADDR_NO_RANDOMIZE|1<<32"),
	                    "262144 ok");
	assert_string_equal(probe_get(out, "control:personality:0xffffffff"), "0 ok");
	assert_outcome(out, "control:ioctl:TCGETS", "EBADF");

	assert_status(out, "status:Seccomp", "2");
	assert_status(out, "status:NoNewPrivs", "1");
	assert_null(strstr(probe_get(out, "status:Speculation_Store_Bypass"), "force mitigated"));
	free(bare);
}

static void test_probe_log_mode(void **state)
{
	require_probe(); /* before any allocation */
	static const char *const proceed[] = {
	    "setns",
	    "fsconfig",
	    "keyctl",
	    "add_key",
	    "request_key",
	    "ptrace",
	    "pidfd_getfd",
	    "perf_event_open",
	    "name_to_handle_at",
	    "ioctl:TIOCSTI",
	    "ioctl:TIOCSTI|1<<32",
	    "ioctl:TIOCLINUX",
	    "settimeofday",
	    "clock_adjtime",
	    "adjtimex",
	    "nfsservctl",
	    "x32:getpid",
	};
	struct probe_output *out = xcalloc(1, sizeof(*out));
	struct seccomp_options o = {.log = true};

	(void)state;
	run_probe(&o, out);
	assert_status(out, "status:Seccomp", "2");
	for (size_t i = 0; i < sizeof(proceed) / sizeof(proceed[0]); i++)
		assert_not_eperm(out, proceed[i]);
	assert_outcome(out, "personality:PER_LINUX32", "ok");
	assert_not_eperm(out, "clone3");
	assert_true(strcmp(outcome(out, "clone3"), "ENOSYS") != 0);
	assert_outcome(out, "control:fork", "ok");
	free(out);
}

static void test_probe_gates(void **state)
{
	require_probe(); /* before any allocation */
	struct probe_output *out = xcalloc(1, sizeof(*out));
	struct seccomp_options o = {.allow_ptrace = true, .allow_perf = true};

	(void)state;
	run_probe(&o, out);
	assert_outcome(out, "ptrace", "ESRCH");
	assert_not_eperm(out, "process_vm_readv");
	assert_not_eperm(out, "process_vm_writev");
	assert_not_eperm(out, "pidfd_getfd");
	assert_not_eperm(out, "perf_event_open");
	assert_outcome(out, "mount", "EPERM");
	assert_outcome(out, "bpf", "EPERM");
	assert_outcome(out, "clone:CLONE_NEWUSER", "EPERM");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_denied_list),
	    cmocka_unit_test(test_build_attributes),
	    cmocka_unit_test(test_export_names_every_rule),
	    cmocka_unit_test(test_export_gates),
	    cmocka_unit_test(test_export_entropy_rule),
	    cmocka_unit_test(test_export_log_mode),
	    cmocka_unit_test(test_personality_exact),
	    cmocka_unit_test(test_probe_enforced),
	    cmocka_unit_test(test_probe_log_mode),
	    cmocka_unit_test(test_probe_gates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
