/* init.c - see init.h */
#define _GNU_SOURCE
#include "sandbox/init.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/privileges.h"
#include "sandbox/seccomp_policy.h"

extern char **environ;

/* The command runs on this stack from clone until execve. */
#define COMMAND_STACK_SIZE (1024 * 1024)

static int chdir_checked(const char *dir, struct error *err)
{
	char cwd[PATH_MAX];

	if (chdir(dir) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "--chdir %s", dir);
	/* runc CVE-2024-21626: a cwd reached through a leaked fd can lie
	 * outside the root; getcwd then reports "(unreachable)". */
	if (getcwd(cwd, sizeof(cwd)) == NULL || cwd[0] != '/')
		return error_set(err, EXIT_RUNNER_ERROR, errno,
		                 "working directory %s is outside the sandbox root", dir);
	return 0;
}

/* --strict: every control, recorded by the runner, the setup child and the
 * steps above, must be fully applied, or the command never starts. */
static int strict_check(const struct sandbox_spec *spec, const struct run_report *r,
                        struct error *err)
{
	if (!spec->strict)
		return 0;
	for (unsigned i = 0; i < r->n_controls; i++) {
		const struct control_status *c = &r->controls[i];
		if (c->state != CONTROL_APPLIED)
			return error_set(err, EXIT_RUNNER_ERROR, 0, "--strict: %s is %s: %s",
			                 c->name, control_state_name(c->state), c->detail);
	}
	return 0;
}

static int load_seccomp(int seccomp_fd, struct error *err)
{
	struct seccomp_program prog;
	int rc;

	rc = seccomp_program_receive(seccomp_fd, &prog, err);
	close(seccomp_fd);
	if (rc < 0)
		return -1;
	rc = seccomp_program_load(&prog, err);
	seccomp_program_free(&prog);
	return rc;
}

/* Recorded once seccomp is loaded: the getrandom rule is half of it. */
static void report_entropy(const struct sandbox_spec *spec, struct run_report *r)
{
	if (spec->entropy_seed == NULL)
		report_control(r, "entropy", CONTROL_APPLIED, "host");
	else if (spec->seccomp_log)
		report_control(r, "entropy", CONTROL_DEGRADED,
		               "deterministic (seed %s) /dev/urandom only: seccomp log mode lets "
		               "getrandom reach the host",
		               spec->entropy_seed);
	else
		report_control(r, "entropy", CONTROL_APPLIED, "deterministic (seed %s)",
		               spec->entropy_seed);
}

static int prepare_command(const struct sandbox_spec *spec, int seccomp_fd, struct run_report *r,
                           struct error *err)
{
	/* A new session: the command has no controlling terminal, so TIOCSTI
	 * cannot push keystrokes into the caller's shell (CVE-2017-5226). */
	if (setsid() < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "setsid");
	report_control(r, "session", CONTROL_APPLIED, "new session, no controlling terminal");
	if (privileges_apply_rlimits(spec, r, err) < 0)
		return -1;
	if (spec->no_aslr && personality(ADDR_NO_RANDOMIZE) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "personality(ADDR_NO_RANDOMIZE)");
	report_control(r, "aslr", CONTROL_APPLIED, "%s",
	               spec->no_aslr ? "off (ADDR_NO_RANDOMIZE)" : "host setting");
	if (chdir_checked(spec->chdir ? spec->chdir : "/", err) < 0)
		return -1;
	if (privileges_drop(spec, r, err) < 0 || privileges_close_fds(spec, r, err) < 0)
		return -1;
	if (load_seccomp(seccomp_fd, err) < 0)
		return -1;
	report_control(r, "seccomp", spec->seccomp_log ? CONTROL_DEGRADED : CONTROL_APPLIED, "%s",
	               spec->seccomp_log
	                   ? "log mode: denied calls are logged, not refused"
	                   : "default deny list (EPERM), native ABI only, SSB not forced");
	report_entropy(spec, r);
	return strict_check(spec, r, err);
}

static void ignore_signal(int sig)
{
	(void)sig;
}

/* The kernel drops signals sent to a namespace's init from outside unless
 * init has a handler for them; a (never run) handler keeps them deliverable
 * to the signalfd while they stay blocked. */
static void install_forwarding_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ignore_signal;
	sigfillset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP || sig == SIGSEGV || sig == SIGBUS ||
		    sig == SIGILL || sig == SIGFPE)
			continue;
		sigaction(sig, &sa, NULL);
	}
}

static void reset_signal_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);
}

/* `run -- ./script` is the first thing a newcomer tries: the sandbox
 * has only what was bound, so a path relative to the caller's directory
 * names nothing inside.  Say so and how to bind it. */
static const char *not_found_hint(const char *arg0)
{
	if (strchr(arg0, '/') == NULL || arg0[0] == '/')
		return "";
	return " (the current directory is not in the sandbox: bind it, e.g. "
	       "--ro-bind \"$PWD\" /work --chdir /work, or --bind for a writable one)";
}

static __attribute__((noreturn)) void exec_command(const struct sandbox_spec *spec, char **envp,
                                                   int seccomp_fd, struct run_report *r)
{
	struct error err = {0};
	sigset_t none;

	reset_signal_handlers();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (prepare_command(spec, seccomp_fd, r, &err) < 0) {
		r->setup_error = err;
		_exit(EXIT_RUNNER_ERROR);
	}
	environ = envp;
	r->start_ns = monotonic_ns();
	execvp(spec->argv[0], spec->argv);
	{
		int e = errno;

		error_set(&r->setup_error, e == ENOENT ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE, 0,
		          "executing %s: %s%s", spec->argv[0], strerror(e),
		          e == ENOENT ? not_found_hint(spec->argv[0]) : "");
	}
	_exit(r->setup_error.exit_code);
}

static int status_to_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return EXIT_RUNNER_ERROR;
}

/* Reap everything that has exited; returns true once `command` is gone. */
static bool reap_all(pid_t command, struct run_report *r)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid <= 0)
			return false;
		if (pid == command) {
			r->end_ns = monotonic_ns();
			r->wait_status = status;
			r->command_started = r->setup_error.exit_code == 0;
			return true;
		}
	}
}

struct command_args {
	const struct sandbox_spec *spec;
	char **envp;
	int seccomp_fd;
	int signal_fd;
	struct run_report *r;
};

static int command_main(void *arg)
{
	const struct command_args *a = arg;

	close(a->signal_fd);
	exec_command(a->spec, a->envp, a->seccomp_fd, a->r);
}

/* Start the command the way posix_spawn does: a CLONE_VM|CLONE_VFORK child
 * on its own stack borrows init's memory until it execs, so nothing of the
 * runner's address space is copied (a fork here cost ~0.2 ms of start-up
 * and more again in page faults).  init stays suspended meanwhile, so the
 * child may use the heap.  Sanitizer runtimes cannot follow a shared
 * address space onto a foreign stack: those builds fork. */
static pid_t spawn_command(struct command_args *a)
{
#if defined(__SANITIZE_ADDRESS__)
	pid_t pid = fork();

	if (pid == 0)
		command_main(a);
	return pid;
#else
	const size_t size = COMMAND_STACK_SIZE;
	long page = sysconf(_SC_PAGESIZE);
	char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE,
	                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	pid_t pid;
	int saved;

	if (stack == MAP_FAILED)
		return -1;
	/* A guard page: an overflow faults instead of writing into init. */
	if (page <= 0 || mprotect(stack, (size_t)page, PROT_NONE) < 0) {
		saved = errno;
		munmap(stack, size);
		errno = saved;
		return -1;
	}
	pid = clone(command_main, stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, a);
	saved = errno;
	munmap(stack, size);
	errno = saved;
	return pid;
#endif
}

void init_main(const struct sandbox_spec *spec, char **envp, int seccomp_fd, struct run_report *r)
{
	struct command_args args = {.spec = spec, .envp = envp, .seccomp_fd = seccomp_fd, .r = r};
	sigset_t all;
	pid_t command;
	int sfd;

	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGFPE);
	if (sigprocmask(SIG_BLOCK, &all, NULL) < 0 || (sfd = signalfd(-1, &all, SFD_CLOEXEC)) < 0) {
		error_set(&r->setup_error, EXIT_RUNNER_ERROR, errno, "init: signal setup");
		_exit(EXIT_RUNNER_ERROR);
	}
	install_forwarding_handlers();
	args.signal_fd = sfd;
	command = spawn_command(&args);
	if (command < 0) {
		error_set(&r->setup_error, EXIT_RUNNER_ERROR, errno, "init: starting the command");
		_exit(EXIT_RUNNER_ERROR);
	}
	close(seccomp_fd);
	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n = read(sfd, &si, sizeof(si));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si)) {
			error_set(&r->setup_error, EXIT_RUNNER_ERROR, errno,
			          "init: reading signals");
			_exit(EXIT_RUNNER_ERROR);
		}
		if (si.ssi_signo == SIGCHLD) {
			if (reap_all(command, r))
				_exit(status_to_exit_code(r->wait_status));
			continue;
		}
		/* Forward to every process of the namespace, and wake stopped
		 * ones so they can act on it. */
		kill(-1, (int)si.ssi_signo);
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT || si.ssi_signo == SIGHUP)
			kill(-1, SIGCONT);
	}
}
