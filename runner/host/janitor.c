/* janitor.c - see janitor.h */
#define _GNU_SOURCE
#include "host/janitor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host/cgroup.h"

#define JANITOR_OWNER_WAIT_NS (30ULL * 1000 * 1000 * 1000)
#define JANITOR_POLL_NS (50ULL * 1000 * 1000)

char *janitor_cgroup_parent(const char *parent)
{
	char *mountinfo = NULL, *mount_point = NULL, *out = NULL;
	size_t len = 0;
	struct error err = {0};
	const char *rel = parent ? parent : CGROUP_DEFAULT_PARENT;

	if (read_file("/proc/self/mountinfo", &mountinfo, &len, &err) < 0)
		return NULL;
	if (cgroup2_find_mount(mountinfo, &mount_point, &err) == 0) {
		size_t mlen = strlen(mount_point);

		if (strncmp(rel, mount_point, mlen) == 0 && (rel[mlen] == '/' || rel[mlen] == '\0'))
			rel += mlen;
		rel += strspn(rel, "/");
		out = xasprintf("%s/%s", mount_point, rel);
	}
	free(mountinfo);
	free(mount_point);
	return out;
}

static void remove_path(const char *path)
{
	struct error err = {0};
	struct stat st;

	if (lstat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode))
		remove_tree(path, &err);
	else
		unlink(path);
}

/* The owner's pid must be gone (reaped) before its cgroup counts as
 * stale; a zombie still answers kill(pid, 0). */
static __attribute__((noreturn)) void janitor_main(int fd, pid_t owner, char *const *paths,
                                                   size_t n_paths, const char *cgroup_parent)
{
	char byte = 0;
	ssize_t n;
	uint64_t deadline;
	struct error err = {0};

	do
		n = read(fd, &byte, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 && byte == 'd')
		_exit(0);
	for (size_t i = 0; i < n_paths; i++)
		remove_path(paths[i]);
	deadline = monotonic_ns() + JANITOR_OWNER_WAIT_NS;
	while (kill(owner, 0) == 0 && monotonic_ns() < deadline)
		sleep_ns(JANITOR_POLL_NS);
	if (cgroup_parent)
		cgroup_clean_stale(cgroup_parent, &err);
	_exit(0);
}

int janitor_start(struct janitor *j, char *const *paths, size_t n_paths, const char *cgroup_parent,
                  struct error *err)
{
	int pipefd[2];
	pid_t owner = getpid();
	pid_t pid;

	j->pid = -1;
	j->fd = -1;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "creating the janitor pipe");
	pid = fork();
	if (pid < 0) {
		int saved = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "starting the janitor");
	}
	if (pid == 0) {
		sigset_t all;

		/* Ctrl-C reaches the whole process group: the janitor must
		 * outlive the runner it cleans up after. */
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		close(pipefd[1]);
		prctl(PR_SET_NAME, "pgo-janitor", 0, 0, 0);
		janitor_main(pipefd[0], owner, paths, n_paths, cgroup_parent);
	}
	close(pipefd[0]);
	j->pid = pid;
	j->fd = pipefd[1];
	return 0;
}

void janitor_dismiss(struct janitor *j)
{
	if (j->fd >= 0) {
		if (write(j->fd, "d", 1) != 1) {
			/* EOF alone would make it clean up: kill it instead. */
			kill(j->pid, SIGKILL);
		}
		close(j->fd);
		j->fd = -1;
	}
	if (j->pid > 0) {
		while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
			;
		j->pid = -1;
	}
}
