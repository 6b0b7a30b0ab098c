/* util.c - see util.h */
#define _GNU_SOURCE
#include "base/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int error_set(struct error *err, int exit_code, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	if (err == NULL)
		return -1;
	err->exit_code = exit_code ? exit_code : EXIT_RUNNER_ERROR;
	err->errnum = errnum;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	if (errnum != 0 && len < sizeof(err->msg))
		snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", strerror(errnum));
	return -1;
}

int error_prefix(struct error *err, const char *fmt, ...)
{
	char prefix[ERROR_MSG_MAX];
	char old[ERROR_MSG_MAX];
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* Keep the prefix whole and cut the old message if it must go. */
	snprintf(err->msg, sizeof(err->msg), "%.500s: %.500s", prefix, old);
	return -1;
}

void error_print(const struct error *err)
{
	fprintf(stderr, "pgo-sandbox: %s\n", err->msg[0] ? err->msg : "unknown error");
}

static void out_of_memory(void)
{
	static const char msg[] = "pgo-sandbox: out of memory\n";
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(EXIT_RUNNER_ERROR);
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		out_of_memory();
	return p;
}

void *xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);
	if (q == NULL)
		out_of_memory();
	return q;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (p == NULL)
		out_of_memory();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *out = NULL;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&out, fmt, ap);
	va_end(ap);
	if (rc < 0)
		out_of_memory();
	return out;
}

int parse_u64(const char *text, uint64_t *out, struct error *err)
{
	char *end = NULL;
	unsigned long long v;

	if (text == NULL || !isdigit((unsigned char)text[0]))
		return error_set(err, EXIT_RUNNER_ERROR, 0, "'%s' is not a non-negative integer",
		                 text ? text : "");
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno == ERANGE)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "'%s' is out of range", text);
	if (*end != '\0')
		return error_set(err, EXIT_RUNNER_ERROR, 0, "'%s' is not a non-negative integer",
		                 text);
	*out = v;
	return 0;
}

int parse_uid(const char *text, uint32_t *out, struct error *err)
{
	uint64_t v;

	if (parse_u64(text, &v, err) < 0)
		return -1;
	if (v >= UINT32_MAX)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "id '%s' is out of range", text);
	*out = (uint32_t)v;
	return 0;
}

int parse_size(const char *text, uint64_t *out, struct error *err)
{
	char *end = NULL;
	unsigned long long v;
	unsigned shift = 0;

	if (text == NULL || !isdigit((unsigned char)text[0]))
		return error_set(err, EXIT_RUNNER_ERROR, 0, "'%s' is not a size (e.g. 512M, 2G)",
		                 text ? text : "");
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno == ERANGE)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "size '%s' is out of range", text);
	switch (*end) {
	case '\0': shift = 0; break;
	case 'k':
	case 'K': shift = 10; break;
	case 'm':
	case 'M': shift = 20; break;
	case 'g':
	case 'G': shift = 30; break;
	case 't':
	case 'T': shift = 40; break;
	default:
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "'%s' is not a size (suffixes: K, M, G, T)", text);
	}
	if (*end != '\0' && end[1] != '\0' &&
	    !((end[1] == 'i' || end[1] == 'B') &&
	      (end[2] == '\0' || (end[1] == 'i' && end[2] == 'B' && end[3] == '\0'))))
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "'%s' is not a size (suffixes: K, M, G, T)", text);
	if (shift && v > (UINT64_MAX >> shift))
		return error_set(err, EXIT_RUNNER_ERROR, 0, "size '%s' is out of range", text);
	*out = (uint64_t)v << shift;
	return 0;
}

int parse_duration_ns(const char *text, uint64_t *out, struct error *err)
{
	uint64_t whole = 0, frac = 0, scale = 1000000000ULL;
	const char *p = text;

	if (text == NULL || !isdigit((unsigned char)*p))
		return error_set(err, EXIT_RUNNER_ERROR, 0, "'%s' is not a duration in seconds",
		                 text ? text : "");
	for (; isdigit((unsigned char)*p); p++) {
		if (whole > (UINT64_MAX / 1000000000ULL - 9) / 10)
			return error_set(err, EXIT_RUNNER_ERROR, 0, "duration '%s' is out of range",
			                 text);
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "'%s' is not a duration in seconds", text);
		for (; isdigit((unsigned char)*p); p++) {
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*p - '0') * scale;
			}
		}
	}
	if (*p == 's' && p[1] == '\0')
		p++;
	if (*p != '\0')
		return error_set(err, EXIT_RUNNER_ERROR, 0, "'%s' is not a duration in seconds",
		                 text);
	*out = whole * 1000000000ULL + frac;
	return 0;
}

static int parse_cpu_number(const char **p, unsigned *out, const char *text, struct error *err)
{
	unsigned long v = 0;

	if (!isdigit((unsigned char)**p))
		return error_set(err, EXIT_RUNNER_ERROR, 0, "'%s' is not a CPU list (e.g. 0-3,6)",
		                 text);
	while (isdigit((unsigned char)**p)) {
		v = v * 10 + (unsigned long)(**p - '0');
		if (v >= CPU_LIST_MAX)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "CPU list '%s': CPU number beyond %d", text,
			                 CPU_LIST_MAX - 1);
		(*p)++;
	}
	*out = (unsigned)v;
	return 0;
}

int parse_cpu_list(const char *text, uint8_t mask[CPU_LIST_MAX / 8], struct error *err)
{
	const char *p = text;

	memset(mask, 0, CPU_LIST_MAX / 8);
	if (text == NULL || *text == '\0')
		return error_set(err, EXIT_RUNNER_ERROR, 0, "empty CPU list");
	for (;;) {
		unsigned lo, hi;

		if (parse_cpu_number(&p, &lo, text, err) < 0)
			return -1;
		hi = lo;
		if (*p == '-') {
			p++;
			if (parse_cpu_number(&p, &hi, text, err) < 0)
				return -1;
			if (hi < lo)
				return error_set(err, EXIT_RUNNER_ERROR, 0,
				                 "CPU list '%s': range %u-%u is reversed", text, lo,
				                 hi);
		}
		for (unsigned c = lo; c <= hi; c++)
			mask[c / 8] |= (uint8_t)(1u << (c % 8));
		if (*p == '\0')
			return 0;
		if (*p != ',')
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "'%s' is not a CPU list (e.g. 0-3,6)", text);
		p++;
	}
}

static bool mask_has(const uint8_t *mask, unsigned c)
{
	return c < CPU_LIST_MAX && (mask[c / 8] >> (c % 8)) & 1u;
}

char *format_cpu_list(const uint8_t mask[CPU_LIST_MAX / 8])
{
	char *out = xcalloc(1, 1);
	size_t len = 0;

	for (unsigned c = 0; c < CPU_LIST_MAX; c++) {
		unsigned end = c;
		char part[32];
		int n;

		if (!mask_has(mask, c))
			continue;
		while (mask_has(mask, end + 1))
			end++;
		if (end == c)
			n = snprintf(part, sizeof(part), "%s%u", len ? "," : "", c);
		else
			n = snprintf(part, sizeof(part), "%s%u-%u", len ? "," : "", c, end);
		out = xrealloc(out, len + (size_t)n + 1);
		memcpy(out + len, part, (size_t)n + 1);
		len += (size_t)n;
		c = end;
	}
	return out;
}

int read_file(const char *path, char **out, size_t *len, struct error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, used = 0;
	char *buf;

	if (fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening %s", path);
	buf = xcalloc(1, cap + 1);
	for (;;) {
		ssize_t n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;
			free(buf);
			close(fd);
			return error_set(err, EXIT_RUNNER_ERROR, saved, "reading %s", path);
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
	}
	close(fd);
	buf[used] = '\0';
	*out = buf;
	if (len)
		*len = used;
	return 0;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One data buffer and room for one descriptor: what send_fd and recv_fd
 * exchange. */
struct fd_message {
	union {
		char space[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov;
	struct msghdr msg;
};

static void fd_message_init(struct fd_message *m, void *buf, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->iov.iov_base = buf;
	m->iov.iov_len = len;
	m->msg.msg_iov = &m->iov;
	m->msg.msg_iovlen = 1;
	m->msg.msg_control = m->control.space;
	m->msg.msg_controllen = sizeof(m->control.space);
}

ssize_t send_fd(int sock_fd, int fd, const void *buf, size_t len)
{
	struct fd_message m;
	struct cmsghdr *cmsg;
	ssize_t n;

	fd_message_init(&m, (void *)(uintptr_t)buf, len);
	cmsg = CMSG_FIRSTHDR(&m.msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	do
		n = sendmsg(sock_fd, &m.msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n;
}

ssize_t recv_fd(int sock_fd, int *fd, void *buf, size_t len)
{
	struct fd_message m;
	struct cmsghdr *cmsg;
	ssize_t n;

	*fd = -1;
	fd_message_init(&m, buf, len);
	do
		n = recvmsg(sock_fd, &m.msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	for (cmsg = CMSG_FIRSTHDR(&m.msg); cmsg != NULL; cmsg = CMSG_NXTHDR(&m.msg, cmsg))
		if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS &&
		    cmsg->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(cmsg), sizeof(int));
	/* A truncated control message may have dropped descriptors; refuse. */
	if (m.msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		errno = EMSGSIZE;
		return -1;
	}
	return n;
}

int write_file(const char *path, const char *data, size_t len, struct error *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_TRUNC);

	if (fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening %s for writing", path);
	if (write_all(fd, data, len) < 0) {
		int saved = errno;
		close(fd);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "writing %s", path);
	}
	if (close(fd) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "closing %s", path);
	return 0;
}

int write_file_temp(const char *tmp, const char *what, const void *data, size_t len, mode_t mode,
                    struct error *err)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	int saved;

	if (fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "creating %s", what);
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		saved = errno;
		close(fd);
		unlink(tmp);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "writing %s", what);
	}
	if (close(fd) < 0) {
		saved = errno;
		unlink(tmp);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "writing %s", what);
	}
	return 0;
}

int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode,
                      struct error *err)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int rc = write_file_temp(tmp, path, data, len, mode, err);

	if (rc == 0 && rename(tmp, path) < 0) {
		rc = error_set(err, EXIT_RUNNER_ERROR, errno, "committing %s", path);
		unlink(tmp);
	}
	free(tmp);
	return rc;
}

int fsync_dir(const char *dir, struct error *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening %s", dir);
	if (fsync(fd) < 0) {
		int saved = errno;
		close(fd);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "syncing %s", dir);
	}
	close(fd);
	return 0;
}

int mkdir_p(const char *path, mode_t mode, struct error *err)
{
	char *copy;

	/* Most calls find every parent there already. */
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return 0;
	copy = xstrdup(path);

	for (char *p = copy + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;
			*p = '\0';
			if (mkdir(copy, mode) < 0 && errno != EEXIST) {
				int e = errno;
				error_set(err, EXIT_RUNNER_ERROR, e, "creating directory %s", copy);
				free(copy);
				return -1;
			}
			*p = saved;
			if (saved == '\0')
				break;
		}
	}
	free(copy);
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path) < 0 ? -1 : 0;
	return unlink(path) < 0 ? -1 : 0;
}

int remove_tree(const char *path, struct error *err)
{
	if (nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "removing %s", path);
	return 0;
}

int remove_dir_contents(const char *path, struct error *err)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int rc = 0;

	if (d == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening %s", path);
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char *entry;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		entry = xasprintf("%s/%s", path, e->d_name);
		rc = remove_tree(entry, err);
		free(entry);
	}
	closedir(d);
	return rc;
}

uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ULL),
	                      .tv_nsec = (long)(ns % 1000000000ULL)};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int read_file_untrusted(const char *path, size_t max, char **text, struct error *err)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	size_t done = 0;

	if (fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening %s", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		close(fd);
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "%s: not a regular file of at most %zu bytes", path, max);
	}
	*text = xcalloc((size_t)st.st_size + 1, 1);
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, *text + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			free(*text);
			*text = NULL;
			return error_set(err, EXIT_RUNNER_ERROR, e, "reading %s", path);
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	close(fd);
	return 0;
}
