/* image_proc.c - see image_proc.h */
#define _GNU_SOURCE
#include "image/image_proc.h"
#include "base/strv.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* small helpers                                                       */
/* ------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool image_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Tokens handed to debootstrap or written into JSON keys: Debian package
 * names, suites, architectures.  A comma or space would change the
 * meaning of --include=A,B. */
bool image_is_debian_token(const char *s)
{
	if (!isalnum((unsigned char)s[0]))
		return false;
	for (const char *p = s; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) &&
		    !strchr("+-.", *p))
			return false;
	return true;
}

/* Version lines go into JSON, which must be UTF-8: keep printable ASCII. */
static char *printable_line(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len);
	size_t end = nl ? (size_t)(nl - buf) : len;
	char *line;

	if (end > 0 && buf[end - 1] == '\r')
		end--;
	line = xcalloc(1, end + 1);
	for (size_t i = 0; i < end; i++)
		line[i] = (buf[i] >= 0x20 && buf[i] < 0x7f) ? buf[i] : '?';
	return line;
}

char *image_read_trimmed(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	struct error ignored = {0};

	if (read_file(path, &text, &len, &ignored) < 0)
		return NULL;
	while (len > 0 && isspace((unsigned char)text[len - 1]))
		text[--len] = '\0';
	return text;
}

/* Names in a directory, byte-sorted, without "." and "..". */
int image_list_sorted(const char *dir, char ***names, size_t *n, struct error *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct strv list = {0};
	DIR *d;
	struct dirent *de;

	*names = NULL;
	*n = 0;
	if (fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening directory %s", dir);
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return error_set(err, EXIT_RUNNER_ERROR, errno, "reading directory %s", dir);
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		strv_push(&list, de->d_name);
	}
	if (errno != 0) {
		int saved = errno;
		closedir(d);
		strv_free(&list);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "reading directory %s", dir);
	}
	closedir(d);
	*n = list.n;
	*names = list.v; /* NULL-terminated, or NULL when empty */
	if (*n > 1)
		qsort(*names, *n, sizeof(char *), cmp_str);
	return 0;
}

/* ------------------------------------------------------------------ */
/* child processes                                                     */
/* ------------------------------------------------------------------ */

/* stdin is /dev/null; stdout and stderr go to out_fd and err_fd.  A child
 * in its own process group can be killed with everything it started. */
static pid_t spawn(const char *path, char *const argv[], char *const envp[], int out_fd, int err_fd,
                   bool new_group, struct error *err)
{
	int in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pid_t pid;

	if (in_fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening /dev/null");
	pid = fork();
	if (pid < 0) {
		close(in_fd);
		return error_set(err, EXIT_RUNNER_ERROR, errno, "fork for %s", path);
	}
	if (pid == 0) {
		if (new_group)
			setpgid(0, 0);
		if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
			_exit(EXIT_RUNNER_ERROR);
		execve(path, argv, envp);
		_exit(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE);
	}
	if (new_group)
		setpgid(pid, pid); /* either side may win the race; both set it */
	close(in_fd);
	return pid;
}

static int wait_child(pid_t pid, int *status, struct error *err)
{
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR)
			return error_set(err, EXIT_RUNNER_ERROR, errno, "waiting for process %d",
			                 (int)pid);
	}
	return 0;
}

static void kill_group(pid_t pid)
{
	int status;

	if (kill(-pid, SIGKILL) < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

/* Wait for the child until the deadline; 1 when it ended, 0 on timeout. */
static int wait_until(pid_t pid, uint64_t deadline, int *status, struct error *err)
{
	const struct timespec tick = {.tv_nsec = 1000 * 1000};

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 1;
		if (r < 0 && errno != EINTR)
			return error_set(err, EXIT_RUNNER_ERROR, errno, "waiting for process %d",
			                 (int)pid);
		if (monotonic_ns() >= deadline)
			return 0;
		nanosleep(&tick, NULL);
	}
}

/* Read the child's stdout until EOF, `max` bytes or the deadline.
 * Returns 1 at EOF, 0 on timeout, 2 when the output was cut. */
static int read_bounded(int fd, char *buf, size_t max, size_t *len, uint64_t deadline,
                        struct error *err)
{
	for (;;) {
		uint64_t now = monotonic_ns();
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;
		int ms, r;

		if (*len >= max)
			return 2;
		if (now >= deadline)
			return 0;
		ms = (int)((deadline - now + 999999) / 1000000);
		r = poll(&pfd, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno, "poll");
		if (r == 0)
			continue;
		n = read(fd, buf + *len, max - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno, "reading a child's output");
		if (n == 0)
			return 1;
		*len += (size_t)n;
	}
}

/* Run argv (argv[0] is the name the tool sees, `path` what is executed)
 * with a fixed environment and capture the first line of its stdout. */
int image_capture_first_line(const char *path, char *const argv[], uint64_t timeout_ns,
                             struct captured *c, struct error *err)
{
	static char *const clean_env[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", "LANG=C", NULL};
	uint64_t deadline = monotonic_ns() + timeout_ns;
	char *buf = xcalloc(1, IMAGE_VERSION_OUTPUT_MAX);
	size_t len = 0;
	int p[2], null_fd, r;
	pid_t pid;

	memset(c, 0, sizeof(*c));
	if (pipe2(p, O_CLOEXEC) < 0) {
		free(buf);
		return error_set(err, EXIT_RUNNER_ERROR, errno, "pipe");
	}
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	pid = null_fd < 0 ? error_set(err, EXIT_RUNNER_ERROR, errno, "opening /dev/null")
	                  : spawn(path, argv, clean_env, p[1], null_fd, true, err);
	if (null_fd >= 0)
		close(null_fd);
	close(p[1]);
	r = pid < 0 ? -1 : read_bounded(p[0], buf, IMAGE_VERSION_OUTPUT_MAX, &len, deadline, err);
	close(p[0]);
	if (r == 1)
		r = wait_until(pid, deadline, &c->status, err);
	if (r == 2) {
		c->truncated = true;
		kill_group(pid);
	} else if (r <= 0 && pid > 0) {
		kill_group(pid);
		if (r == 0)
			error_set(err, EXIT_RUNNER_ERROR, 0,
			          "%s %s (%s) did not finish within %llu s", argv[0],
			          argv[1] ? argv[1] : "", path,
			          (unsigned long long)(timeout_ns / 1000000000ULL));
	}
	if (r > 0)
		c->first_line = printable_line(buf, len);
	free(buf);
	return r > 0 ? 0 : -1;
}

/* Environment for debootstrap, wget and apt-get: fixed, plus the
 * caller's proxy settings (a CI network may need them). */
char **image_tool_env(int64_t source_date_epoch)
{
	static const char *const fixed[] = {
	    "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	    "LC_ALL=C",
	    "LANG=C",
	    "TZ=UTC",
	    "HOME=/root",
	    "DEBIAN_FRONTEND=noninteractive",
	    "DEBCONF_NONINTERACTIVE_SEEN=true",
	};
	static const char *const passed[] = {"http_proxy", "https_proxy", "no_proxy",
	                                     "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"};
	struct strv env = {0};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		strv_push(&env, fixed[i]);
	for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
		const char *v = getenv(passed[i]);
		if (v != NULL)
			strv_pushf(&env, "%s=%s", passed[i], v);
	}
	if (source_date_epoch >= 0)
		strv_pushf(&env, "SOURCE_DATE_EPOCH=%lld", (long long)source_date_epoch);
	return strv_steal(&env);
}

void image_env_free(char **env)
{
	strv_free_array(env);
}

/* Run a tool with its output on our stderr (stdout stays for results);
 * returns its exit status, -1 when it could not be run or was killed. */
int image_run_tool(const char *path, char *const argv[], char *const envp[], struct error *err)
{
	int status;
	pid_t pid = spawn(path, argv, envp, STDERR_FILENO, STDERR_FILENO, false, err);

	if (pid < 0 || wait_child(pid, &status, err) < 0)
		return -1;
	if (WIFSIGNALED(status))
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s was killed by signal %d", path,
		                 WTERMSIG(status));
	return WEXITSTATUS(status);
}
