/* cgroup_file.c - see cgroup_file.h */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "host/cgroup_file.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

int cgroup_read_small_at(int dfd, const char *name, char *buf, size_t len)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	size_t used = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (used < len - 1) {
		n = read(fd, buf + used, len - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	close(fd);
	return 0;
}

int cgroup_read_small(const char *path, char *buf, size_t len)
{
	return cgroup_read_small_at(AT_FDCWD, path, buf, len);
}

/* cgroup files take one value per write(2): never O_CREAT, never split. */
int cgroup_write_string_at(int dfd, const char *name, const char *value)
{
	int fd = openat(dfd, name, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(value);
	ssize_t n;

	if (fd < 0)
		return -1;
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 || (size_t)n != len) {
		int saved = n < 0 ? errno : EIO;
		close(fd);
		errno = saved;
		return -1;
	}
	if (close(fd) < 0)
		return -1;
	return 0;
}

int cgroup_write_string(const char *path, const char *value)
{
	return cgroup_write_string_at(AT_FDCWD, path, value);
}

int cgroup_write_in(const char *dir, const char *name, const char *value)
{
	char *path = xasprintf("%s/%s", dir, name);
	int rc = cgroup_write_string(path, value);
	int saved = errno;

	free(path);
	errno = saved;
	return rc;
}

int cgroup_read_in(const char *dir, const char *name, char *buf, size_t len)
{
	char *path = xasprintf("%s/%s", dir, name);
	int rc = cgroup_read_small(path, buf, len);
	int saved = errno;

	free(path);
	errno = saved;
	return rc;
}

void cgroup_chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

int cgroup_parse_single_u64(char *text, uint64_t *out)
{
	struct error ignored;

	cgroup_chomp(text);
	return parse_u64(text, out, &ignored);
}
