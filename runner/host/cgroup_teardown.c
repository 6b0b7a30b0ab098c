/* cgroup_teardown.c - the end of a run cgroup (host/cgroup.h): kill the tree, wait for it to empty,
 * remove it, and the same for cgroups a killed runner left (run ids name their owner) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "host/cgroup.h"
#include "host/cgroup_file.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Bounds for waiting on a killed tree: 200 x 25 ms.  Killed processes only
 * need to be scheduled to exit; a tree still populated after that is stuck
 * (D state on a dead NFS server...) and is reported, not waited for. */
#define EMPTY_WAIT_STEPS 200
#define EMPTY_WAIT_STEP_MS 25
#define REKILL_EVERY 8
#define RMDIR_RETRIES 100
#define RMDIR_RETRY_NS (10 * 1000 * 1000L)
#define KILL_ROUNDS 100

int cgroup_make_run_id(char *buf, size_t len, struct error *err)
{
	uint64_t rnd;
	ssize_t n;

	do
		n = getrandom(&rnd, sizeof(rnd), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(rnd))
		return error_set(err, EXIT_RUNNER_ERROR, n < 0 ? errno : EIO,
		                 "getrandom for the cgroup run id");
	n = snprintf(buf, len, "%ld-%016llx", (long)getpid(), (unsigned long long)rnd);
	if (n < 0 || (size_t)n >= len)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "cgroup run id buffer too small");
	return 0;
}

int cgroup_run_id_owner(const char *name, pid_t *owner)
{
	const char *dash = strchr(name, '-');
	uint64_t v = 0;

	if (dash == NULL || dash == name || dash[1] == '\0' || strchr(name, '/'))
		return -1;
	for (const char *p = name; p < dash; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > INT_MAX)
			return -1;
	}
	if (v == 0)
		return -1;
	*owner = (pid_t)v;
	return 0;
}

static int kill_procs(const char *path)
{
	char *procs = xasprintf("%s/cgroup.procs", path);
	char *text = NULL;
	struct error ignored;

	for (int round = 0; round < KILL_ROUNDS; round++) {
		bool any = false;

		if (read_file(procs, &text, NULL, &ignored) < 0) {
			/* the error keeps its errno: a cgroup removed meanwhile is
			 * done, anything else is for the caller (errno set) */
			free(procs);
			errno = ignored.errnum;
			return ignored.errnum == ENOENT ? 0 : -1;
		}
		for (char *p = text; *p;) {
			char *end = NULL;
			long pid = strtol(p, &end, 10);

			if (end == p)
				break;
			if (pid > 0) {
				/* SIGKILL does wake stopped tasks, but a frozen
				 * or traced one is easier on everyone continued. */
				kill((pid_t)pid, SIGCONT);
				kill((pid_t)pid, SIGKILL);
				any = true;
			}
			p = end;
		}
		free(text);
		if (!any) {
			free(procs);
			return 0;
		}
		sleep_ns(RMDIR_RETRY_NS);
	}
	free(procs);
	errno = EBUSY;
	return -1;
}

static int kill_path(const char *path)
{
	if (cgroup_write_in(path, "cgroup.kill", "1") == 0)
		return 0;
	/* Kernels before 5.14 have no cgroup.kill. */
	return kill_procs(path);
}

/* Wait until cgroup.events says "populated 0".  A missing cgroup.events
 * means the cgroup is gone (or not a cgroup): rmdir will tell. */
static int wait_unpopulated(const char *path)
{
	char *events = xasprintf("%s/cgroup.events", path);
	int fd = open(events, O_RDONLY | O_CLOEXEC);
	int rc = -1;

	free(events);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	for (int i = 0; i < EMPTY_WAIT_STEPS; i++) {
		char buf[256];
		struct pollfd pfd = {.fd = fd, .events = POLLPRI};
		bool populated = true;
		ssize_t n;

		if (lseek(fd, 0, SEEK_SET) < 0)
			break;
		n = read(fd, buf, sizeof(buf) - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		buf[n] = '\0';
		if (cgroup_parse_populated(buf, &populated) < 0) {
			errno = EINVAL;
			break;
		}
		if (!populated) {
			rc = 0;
			break;
		}
		if (i > 0 && i % REKILL_EVERY == 0)
			kill_path(path);
		/* kernfs signals POLLPRI when cgroup.events changes. */
		if (poll(&pfd, 1, EMPTY_WAIT_STEP_MS) < 0 && errno != EINTR)
			break;
		errno = EBUSY;
	}
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* rmdir a cgroup and any cgroups below it, deepest first; EBUSY right after
 * the last task exited is transient, so it is retried a bounded number of
 * times. */
static int rmdir_tree(const char *path, struct error *err)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening cgroup %s", path);
	}
	while ((de = readdir(d)) != NULL) {
		char *sub;
		int rc;

		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		sub = xasprintf("%s/%s", path, de->d_name);
		rc = rmdir_tree(sub, err);
		free(sub);
		if (rc < 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	for (int i = 0; i < RMDIR_RETRIES; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		sleep_ns(RMDIR_RETRY_NS);
	}
	return error_set(err, EXIT_RUNNER_ERROR, errno, "removing cgroup %s", path);
}

static int remove_cgroup(const char *path, struct error *err)
{
	/* The usual case: the run is over and its cgroup empty, and rmdir
	 * refuses (EBUSY) a cgroup with processes or children left. */
	if (rmdir(path) == 0 || errno == ENOENT)
		return 0;
	if (kill_path(path) < 0 && errno != ENOENT)
		return error_set(err, EXIT_RUNNER_ERROR, errno,
		                 "killing the processes of cgroup %s", path);
	if (wait_unpopulated(path) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno,
		                 "waiting for cgroup %s to become empty", path);
	return rmdir_tree(path, err);
}

static bool owner_is_gone(const char *name)
{
	pid_t owner;

	if (cgroup_run_id_owner(name, &owner) < 0 || owner == getpid())
		return false;
	/* EPERM means the pid exists (another user's process): not stale. */
	return kill(owner, 0) < 0 && errno == ESRCH;
}

int cgroup_clean_stale(const char *parent_path, struct error *err)
{
	DIR *d = opendir(parent_path);
	struct dirent *de;
	char **stale = NULL;
	size_t n = 0;
	int removed = 0, rc = 0;

	if (d == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening cgroup %s", parent_path);
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || !owner_is_gone(de->d_name))
			continue;
		stale = xrealloc(stale, (n + 1) * sizeof(*stale));
		stale[n++] = xasprintf("%s/%s", parent_path, de->d_name);
	}
	closedir(d);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && remove_cgroup(stale[i], err) < 0)
			rc = -1;
		else if (rc == 0)
			removed++;
		free(stale[i]);
	}
	free(stale);
	return rc < 0 ? -1 : removed;
}

int cgroup_kill(struct cgroup_run *cg)
{
	if (cg->path == NULL)
		return 0;
	return kill_path(cg->path);
}

int cgroup_destroy(struct cgroup_run *cg, struct error *err)
{
	int rc = 0;

	if (cg->dir_fd >= 0)
		close(cg->dir_fd);
	cg->dir_fd = -1;
	if (cg->path)
		rc = remove_cgroup(cg->path, err);
	free(cg->path);
	cg->path = NULL;
	return rc;
}
