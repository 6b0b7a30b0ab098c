/* stage_command.c - see stage_command.h */
#define _GNU_SOURCE
#include "pipeline/stage_command.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipeline/roles.h"
#include "sandbox/sandbox.h"

/* Copies the command's output to the runner's stderr and to the stage
 * log, which the build checks for profile diagnostics. */
static pid_t start_tee(int in_fd, int write_end, int log_fd, struct error *err)
{
	pid_t pid = fork();

	if (pid < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "starting the log copier");
	if (pid == 0) {
		char buf[8192];

		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		close(write_end);
		for (;;) {
			ssize_t n = read(in_fd, buf, sizeof(buf));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				_exit(0);
			if (write_all(STDERR_FILENO, buf, (size_t)n) < 0) {
				/* the terminal went away: keep the log */
			}
			if (write_all(log_fd, buf, (size_t)n) < 0)
				_exit(1);
		}
	}
	return pid;
}

struct saved_stdio {
	int fd[3];
};

static int redirect_stdio(int out_fd, struct saved_stdio *s, struct error *err)
{
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null_fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening /dev/null");
	for (int i = 0; i < 3; i++)
		s->fd[i] = fcntl(i, F_DUPFD_CLOEXEC, 3);
	if (s->fd[0] < 0 || s->fd[1] < 0 || s->fd[2] < 0 || dup2(null_fd, 0) < 0 ||
	    dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0) {
		int saved = errno;
		close(null_fd);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "redirecting the command's output");
	}
	close(null_fd);
	return 0;
}

static void restore_stdio(struct saved_stdio *s)
{
	fflush(stdout);
	fflush(stderr);
	for (int i = 0; i < 3; i++) {
		if (s->fd[i] >= 0) {
			dup2(s->fd[i], i);
			close(s->fd[i]);
		}
	}
}

int stage_run_logged(struct stage_ctx *c, struct error *err)
{
	struct saved_stdio saved = {{-1, -1, -1}};
	int pipefd[2], log_fd;
	pid_t tee;
	mode_t old_umask;
	int rc;

	log_fd = open(c->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (log_fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "creating %s", c->log);
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		close(log_fd);
		return error_set(err, EXIT_RUNNER_ERROR, errno, "creating the log pipe");
	}
	fflush(stdout);
	fflush(stderr);
	tee = start_tee(pipefd[0], pipefd[1], log_fd, err);
	close(pipefd[0]);
	close(log_fd);
	if (tee < 0) {
		close(pipefd[1]);
		return -1;
	}
	rc = redirect_stdio(pipefd[1], &saved, err);
	close(pipefd[1]);
	if (rc == 0) {
		/* the command's files do not depend on the caller's umask */
		old_umask = umask(022);
		rc = c->ops && c->ops->run ? c->ops->run(c)
		                           : sandbox_run(&c->spec, c->report, &c->cgroup_json);
		umask(old_umask);
	} else {
		rc = -1;
	}
	restore_stdio(&saved);
	while (waitpid(tee, NULL, 0) < 0 && errno == EINTR)
		;
	return rc;
}

void stage_describe_failure(const struct stage_ctx *c, int rc, struct error *err)
{
	const struct run_report *r = c->report;

	if (r->timed_out)
		error_set(err, rc, 0, "the command timed out (profile %s)", c->def->profile);
	else if (r->oom_killed)
		error_set(err, rc, 0, "the command was killed by the OOM killer (profile %s)",
		          c->def->profile);
	else if (r->setup_error.exit_code)
		error_set(err, rc, 0, "the sandbox could not be set up: %s", r->setup_error.msg);
	else if (r->command_started && WIFSIGNALED(r->wait_status))
		error_set(err, rc, 0, "the command was killed by signal %d",
		          WTERMSIG(r->wait_status));
	else
		error_set(err, rc, 0, "the command exited with status %d", rc);
}
