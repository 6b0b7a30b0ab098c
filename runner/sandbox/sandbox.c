/* sandbox.c - see sandbox.h */
#define _GNU_SOURCE
#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "artifacts/archive.h"
#include "sandbox/bind_idmap.h"
#include "host/cgroup.h"
#include "sandbox/environment.h"
#include "host/cpus.h"
#include "host/hosttune.h"
#include "sandbox/init.h"
#include "sandbox/limit_warnings.h"
#include "sandbox/mounts.h"
#include "sandbox/namespaces.h"
#include "sandbox/seccomp_policy.h"

extern char **environ;

struct supervisor {
	pid_t child;
	int pidfd;
	int sigfd;
	uint64_t deadline_ns; /* timeout; 0 = none */
	uint64_t kill_at_ns;  /* SIGKILL after the grace period; 0 = not armed */
	int forwarded_signal; /* last terminating signal forwarded */
};

/* Everything the runner sets up on the host for one run and must undo,
 * whatever happens to the command. */
struct host_side {
	struct cgroup_run cg;
	struct hosttune ht;
	char *image_dir; /* extracted --image tarball, removed afterwards */
	bool image_dir_owned;
	int *prepared_mounts; /* bind_idmap_prepare's, one per spec mount */
	size_t n_prepared;
};

static int pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* In a user namespace the setup child starts with whatever host ids the
 * runner had, which may be unmapped there (root asking for uid 0 inside);
 * files it creates would then fail with EOVERFLOW.  Switching to the mapped
 * ids keeps its namespace capabilities.  A change of ids clears the
 * parent-death signal, so it is armed again, and then the runner must
 * still be there: it holds its end of the sync pipe open while the sandbox
 * lives, so anything readable there now is the hang-up of a dead runner. */
static int become_mapped_ids(const struct sandbox_spec *spec, int sync_fd, struct error *err)
{
	struct pollfd runner = {.fd = sync_fd, .events = POLLIN};

	if (!spec->userns)
		return 0;
	if (setresgid(spec->gid, spec->gid, spec->gid) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "user namespace: setting gid %u",
		                 spec->gid);
	if (setresuid(spec->uid, spec->uid, spec->uid) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "user namespace: setting uid %u",
		                 spec->uid);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "PR_SET_PDEATHSIG");
	switch (poll(&runner, 1, 0)) {
	case 0: return 0;
	case -1: return error_set(err, EXIT_RUNNER_ERROR, errno, "polling the sync pipe");
	default: return error_set(err, EXIT_RUNNER_ERROR, 0, "the runner exited during setup");
	}
}

/* The setup child: waits for the runner's go (its id maps are written by
 * then), builds the sandbox and becomes its init.  Over handover_fd the
 * runner sends the network namespace (entered once the mounts are built)
 * and then the seccomp filter (which init passes on to the command).
 * Errors land in the shared report; the runner prints them. */
static __attribute__((noreturn)) void setup_child(const struct sandbox_spec *spec,
                                                  const struct host_side *h, int sync_fd,
                                                  int handover_fd, struct run_report *r)
{
	struct error err = {0};
	char **envp;
	char go;
	int rc;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		_exit(EXIT_RUNNER_ERROR);
	/* EOF instead of the go byte: the runner died before releasing us. */
	if (read(sync_fd, &go, 1) != 1)
		_exit(EXIT_RUNNER_ERROR);
	/* Non-dumpable from here on: nothing in the sandbox can ptrace or
	 * read the memory of the setup process. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		error_set(&r->setup_error, EXIT_RUNNER_ERROR, errno, "PR_SET_DUMPABLE");
		_exit(EXIT_RUNNER_ERROR);
	}
	rc = become_mapped_ids(spec, sync_fd, &err);
	close(sync_fd);
	if (rc < 0 || namespaces_setup_inside(spec, r, &err) < 0 ||
	    rootfs_setup(spec, h->image_dir, h->prepared_mounts, r, &err) < 0 ||
	    (namespaces_runner_makes_net(spec) && namespaces_net_enter(handover_fd, &err) < 0)) {
		r->setup_error = err;
		_exit(EXIT_RUNNER_ERROR);
	}
	envp = environment_build(spec, environ);
	init_main(spec, envp, handover_fd, r);
}

static pid_t clone_sandbox(const struct sandbox_spec *spec, int cgroup_fd, int *pidfd,
                           struct error *err)
{
	struct clone_args args;
	long pid;

	memset(&args, 0, sizeof(args));
	args.flags = namespaces_clone_flags(spec) | CLONE_PIDFD;
	args.pidfd = (uint64_t)(uintptr_t)pidfd;
	args.exit_signal = SIGCHLD;
	if (cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgroup_fd;
	}
	pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno,
		                 "creating the sandbox namespaces (clone3%s)",
		                 spec->userns ? " with a user namespace" : "");
	return (pid_t)pid;
}

/* Made here, after the go byte, while the setup child builds its mounts;
 * the child enters it before its init starts. */
static int send_net(const struct sandbox_spec *spec, int sock_fd, struct error *err)
{
	int net_fd, rc;

	if (!namespaces_runner_makes_net(spec))
		return 0;
	if (namespaces_net_create(&net_fd, err) < 0)
		return -1;
	/* 1: the sandbox is gone already, as in send_seccomp. */
	rc = namespaces_net_send(sock_fd, net_fd, err);
	close(net_fd);
	return rc < 0 ? -1 : 0;
}

/* Compiled here, after the go byte, while the setup child builds the
 * mounts: libseccomp's work then costs no start-up time.  The socket is
 * closed at once, so a sandbox whose runner failed reads EOF, not a hang. */
static int send_seccomp(const struct sandbox_spec *spec, int *sock_fd, struct error *err)
{
	struct seccomp_options o = {.log = spec->seccomp_log,
	                            .allow_ptrace = spec->allow_ptrace,
	                            .allow_perf = spec->allow_perf,
	                            .deterministic_entropy = spec->entropy_seed != NULL};
	struct seccomp_program prog;
	int rc;

	rc = seccomp_policy_compile(&o, &prog, err);
	if (rc == 0) {
		/* 1: the sandbox is gone already; its own setup error, in the
		 * report, is the one to print. */
		rc = seccomp_program_send(&prog, *sock_fd, err) < 0 ? -1 : 0;
		seccomp_program_free(&prog);
	}
	close(*sock_fd);
	*sock_fd = -1;
	return rc;
}

static int block_runner_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
	sigaddset(set, SIGCHLD);
	return sigprocmask(SIG_BLOCK, set, NULL);
}

static void on_signal(struct supervisor *s, int sig, uint64_t grace_ns)
{
	if (sig == SIGCHLD)
		return;
	pidfd_signal(s->pidfd, sig);
	if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT) {
		s->forwarded_signal = sig;
		if (s->kill_at_ns == 0)
			s->kill_at_ns = monotonic_ns() + grace_ns;
	}
}

static int poll_timeout_ms(const struct supervisor *s)
{
	uint64_t now = monotonic_ns();
	uint64_t next = 0;

	if (s->deadline_ns)
		next = s->deadline_ns;
	if (s->kill_at_ns && (next == 0 || s->kill_at_ns < next))
		next = s->kill_at_ns;
	if (next == 0)
		return -1;
	if (next <= now)
		return 0;
	return (int)((next - now) / 1000000ULL) + 1;
}

/* Wait for the sandbox's init; enforce the timeout (SIGTERM to every
 * process, then SIGKILL of init, which takes the whole pid namespace with
 * it) and forward the runner's own signals. */
static int supervise(struct supervisor *s, const struct sandbox_spec *spec, struct run_report *r,
                     int *status, struct rusage *ru)
{
	uint64_t grace = spec->kill_grace_ns ? spec->kill_grace_ns : DEFAULT_KILL_GRACE_NS;

	for (;;) {
		struct pollfd fds[2] = {{.fd = s->pidfd, .events = POLLIN},
		                        {.fd = s->sigfd, .events = POLLIN}};
		int n = poll(fds, 2, poll_timeout_ms(s));
		uint64_t now = monotonic_ns();

		if (n < 0 && errno != EINTR)
			return -1;
		if (n > 0 && (fds[0].revents & POLLIN)) {
			if (wait4(s->child, status, 0, ru) < 0)
				return -1;
			return 0;
		}
		if (n > 0 && (fds[1].revents & POLLIN)) {
			struct signalfd_siginfo si;
			if (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				on_signal(s, (int)si.ssi_signo, grace);
		}
		if (s->deadline_ns && now >= s->deadline_ns && !r->timed_out) {
			r->timed_out = true;
			pidfd_signal(s->pidfd, SIGTERM);
			s->kill_at_ns = now + grace;
			s->deadline_ns = 0;
		}
		if (s->kill_at_ns && now >= s->kill_at_ns) {
			pidfd_signal(s->pidfd, SIGKILL);
			s->kill_at_ns = 0;
		}
	}
}

static double timeval_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int final_exit_code(const struct sandbox_spec *spec, struct run_report *r, int init_status)
{
	if (r->setup_error.exit_code != 0) {
		error_print(&r->setup_error);
		return r->setup_error.exit_code;
	}
	if (r->timed_out) {
		fprintf(stderr, "pgo-sandbox: timeout: %s ran longer than %.3gs and was killed\n",
		        spec->argv[0], (double)spec->timeout_ns / 1e9);
		return EXIT_TIMEOUT;
	}
	if (r->oom_killed) {
		fprintf(stderr, "pgo-sandbox: out of memory: %s was killed by the OOM killer\n",
		        spec->argv[0]);
		return EXIT_OOM;
	}
	if (r->command_started) {
		int st = r->wait_status;
		return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	/* init died before the command ended: killed from outside. */
	if (WIFSIGNALED(init_status))
		return 128 + WTERMSIG(init_status);
	return WIFEXITED(init_status) ? WEXITSTATUS(init_status) : EXIT_RUNNER_ERROR;
}

static int extract_image(const struct sandbox_spec *spec, struct host_side *h, struct error *err)
{
	struct extract_limits limits;
	char tmpl[] = "/var/tmp/pgo-sandbox-image.XXXXXX";

	if (spec->image_kind == IMAGE_HOST)
		return 0;
	if (spec->image_kind == IMAGE_DIR) {
		h->image_dir = xstrdup(spec->image_path);
		return 0;
	}
	if (mkdtemp(tmpl) == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno,
		                 "creating a directory for the image");
	h->image_dir = xstrdup(tmpl);
	h->image_dir_owned = true;
	extract_limits_default(&limits);
	limits.rootfs_image = true;
	if (archive_extract_safe(spec->image_path, h->image_dir, &limits, err) < 0)
		return error_prefix(err, "--image %s", spec->image_path);
	/* the unprivileged command must be able to traverse its own root */
	if (chmod(h->image_dir, 0755) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "chmod %s", h->image_dir);
	return 0;
}

static int host_side_setup(const struct sandbox_spec *spec, struct host_side *h,
                           struct run_report *r, struct error *err)
{
	char run_id[CGROUP_RUN_ID_MAX];
	struct error warn = {0};

	/* Settings left changed by a runner that was SIGKILLed come back first. */
	if (hosttune_recover(spec->state_dir, spec->sysfs_root, &warn) < 0 && getuid() == 0)
		fprintf(stderr, "pgo-sandbox: warning: %s\n", warn.msg);
	/* Before anything is set up: pinning to a CPU that is not online
	 * would degrade to no pinning at all. */
	if (spec->cpus_set && host_check_cpus_online("cpus", spec->cpus, err) < 0)
		return -1;
	if (extract_image(spec, h, err) < 0)
		return -1;
	h->prepared_mounts = xcalloc(spec->n_mounts + 1, sizeof(int));
	h->n_prepared = spec->n_mounts;
	if (bind_idmap_prepare(spec, h->prepared_mounts, r, err) < 0)
		return -1;
	if (cgroup_make_run_id(run_id, sizeof(run_id), err) < 0 ||
	    cgroup_setup(spec, run_id, &h->cg, r, err) < 0)
		return -1;
	return hosttune_apply(spec, &h->ht, r, err);
}

static void host_side_teardown(struct host_side *h, struct run_report *r, json_t **cgroup_json)
{
	struct error err = {0};
	struct cgroup_stats st;

	memset(&st, 0, sizeof(st));
	if (h->cg.dir_fd >= 0 && cgroup_read_stats(&h->cg, &st) == 0) {
		*cgroup_json = cgroup_stats_json(&st);
		if (st.has_memory_events && st.oom_kill > 0)
			r->oom_killed = true;
	}
	if (cgroup_destroy(&h->cg, &err) < 0)
		fprintf(stderr, "pgo-sandbox: warning: %s\n", err.msg);
	if (hosttune_restore(&h->ht, &err) < 0)
		fprintf(stderr, "pgo-sandbox: warning: restoring host settings: %s\n", err.msg);
	if (h->image_dir_owned && remove_tree(h->image_dir, &err) < 0)
		fprintf(stderr, "pgo-sandbox: warning: %s\n", err.msg);
	free(h->image_dir);
	if (h->prepared_mounts)
		bind_idmap_release(h->prepared_mounts, h->n_prepared);
	free(h->prepared_mounts);
}

/* After the clone: id maps, CPU pinning fallback and the caller's hook,
 * then the go byte; then the network namespace (the child needs it before
 * its init starts) and the filter (needed only when the command is about
 * to exec), both made while the child builds its mounts. */
static int release_sandbox(const struct sandbox_spec *spec, struct host_side *h,
                           struct run_report *r, pid_t child, int sync_fd, int *handover_sock,
                           struct error *err)
{
	if ((spec->userns && namespaces_write_id_maps(child, spec, err) < 0) ||
	    cgroup_apply_fallbacks(spec, &h->cg, child, r, err) < 0 ||
	    (spec->on_spawn && spec->on_spawn(child, spec->on_spawn_arg, err) < 0))
		return -1;
	if (write(sync_fd, "g", 1) != 1)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "releasing the sandbox");
	if (send_net(spec, *handover_sock, err) < 0 || send_seccomp(spec, handover_sock, err) < 0)
		return -1;
	return 0;
}

static void record_usage(struct run_report *r, const struct rusage *ru, uint64_t t0)
{
	r->wall_s = r->command_started ? (double)(r->end_ns - r->start_ns) / 1e9
	                               : (double)(monotonic_ns() - t0) / 1e9;
	r->user_s = timeval_s(ru->ru_utime);
	r->system_s = timeval_s(ru->ru_stime);
	r->peak_rss_kib = (uint64_t)ru->ru_maxrss;
}

/* Clone, release and supervise the sandbox.  0 with the init's wait status,
 * or -1 after printing a runner error. */
static int sandbox_spawn(const struct sandbox_spec *spec, struct host_side *h, struct run_report *r,
                         int *init_status)
{
	struct supervisor s = {.child = -1, .pidfd = -1, .sigfd = -1};
	struct error err = {0};
	struct rusage ru;
	sigset_t blocked, old;
	int sync_pipe[2] = {-1, -1};
	int handover_sock[2] = {-1, -1};
	int rc = -1;
	uint64_t t0;

	sigemptyset(&old);
	if (sigprocmask(SIG_SETMASK, NULL, &old) < 0 || block_runner_signals(&blocked) < 0 ||
	    (s.sigfd = signalfd(-1, &blocked, SFD_CLOEXEC)) < 0) {
		error_set(&err, EXIT_RUNNER_ERROR, errno, "setting up signal handling");
		goto out;
	}
	if (pipe2(sync_pipe, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, handover_sock) < 0) {
		error_set(&err, EXIT_RUNNER_ERROR, errno, "creating the sync pipe and socket");
		goto out;
	}
	t0 = monotonic_ns();
	s.child = clone_sandbox(spec, h->cg.dir_fd, &s.pidfd, &err);
	if (s.child < 0)
		goto out;
	if (s.child == 0) {
		close(sync_pipe[1]);
		close(handover_sock[0]);
		setup_child(spec, h, sync_pipe[0], handover_sock[1], r);
	}
	close(sync_pipe[0]);
	sync_pipe[0] = -1;
	close(handover_sock[1]);
	handover_sock[1] = -1;
	/* sync_pipe[1] stays open until the sandbox has ended: see
	 * become_mapped_ids. */
	if (release_sandbox(spec, h, r, s.child, sync_pipe[1], &handover_sock[0], &err) < 0) {
		if (err.exit_code == 0)
			error_set(&err, EXIT_RUNNER_ERROR, errno, "releasing the sandbox");
		pidfd_signal(s.pidfd, SIGKILL);
		waitpid(s.child, NULL, 0);
		goto out;
	}
	/* Every control of the host side is known now, before the command
	 * writes anything: the warning comes first. */
	limit_warnings_print(spec, r, stderr);
	if (spec->timeout_ns)
		s.deadline_ns = t0 + spec->timeout_ns;
	memset(&ru, 0, sizeof(ru));
	if (supervise(&s, spec, r, init_status, &ru) < 0) {
		error_set(&err, EXIT_RUNNER_ERROR, errno, "waiting for the sandbox");
		pidfd_signal(s.pidfd, SIGKILL);
		waitpid(s.child, NULL, 0);
		goto out;
	}
	record_usage(r, &ru, t0);
	rc = 0;
out:
	if (rc < 0)
		error_print(&err);
	for (int i = 0; i < 2; i++) {
		if (sync_pipe[i] >= 0)
			close(sync_pipe[i]);
		if (handover_sock[i] >= 0)
			close(handover_sock[i]);
	}
	if (s.pidfd >= 0)
		close(s.pidfd);
	if (s.sigfd >= 0)
		close(s.sigfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int sandbox_run(const struct sandbox_spec *spec, struct run_report *r, json_t **cgroup_json)
{
	struct host_side h = {.cg = CGROUP_RUN_INIT};
	struct error err = {0};
	int init_status = 0;

	*cgroup_json = NULL;
	if (host_side_setup(spec, &h, r, &err) < 0) {
		error_print(&err);
		r->setup_error = err; /* callers explain the failure from it */
		host_side_teardown(&h, r, cgroup_json);
		r->exit_code = err.exit_code ? err.exit_code : EXIT_RUNNER_ERROR;
		return r->exit_code;
	}
	if (sandbox_spawn(spec, &h, r, &init_status) < 0) {
		host_side_teardown(&h, r, cgroup_json);
		r->exit_code = EXIT_RUNNER_ERROR;
		return r->exit_code;
	}
	host_side_teardown(&h, r, cgroup_json);
	r->exit_code = final_exit_code(spec, r, init_status);
	return r->exit_code;
}
