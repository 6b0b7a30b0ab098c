/* unit_fixture.c - see unit_fixture.h. */
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "artifacts/provenance.h"
#include "base/util.h"
#include "unit_fixture.h"

int unit_strip_components(char *path, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		char *slash = strrchr(path, '/');

		if (slash == NULL)
			return -1;
		*slash = '\0';
	}
	return 0;
}

void unit_checkout_root(char *buf, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		fail_msg("reading /proc/self/exe: %s", strerror(errno));
	exe[n] = '\0';
	/* <checkout>/BUILD/tests/test_NAME -> <checkout> */
	if (unit_strip_components(exe, 3) < 0)
		fail_msg("/proc/self/exe is %s: not <checkout>/BUILD/tests/NAME", exe);
	if ((size_t)snprintf(buf, size, "%s", exe) >= size)
		fail_msg("the checkout's path %s is longer than %zu bytes", exe, size - 1);
}

void unit_tmpdir_enter(struct unit_tmpdir *t, const char *name)
{
	if (getcwd(t->old_cwd, sizeof(t->old_cwd)) == NULL)
		fail_msg("getcwd: %s", strerror(errno));
	if ((size_t)snprintf(t->dir, sizeof(t->dir), "/tmp/%s.XXXXXX", name) >= sizeof(t->dir))
		fail_msg("/tmp/%s.XXXXXX is longer than %zu bytes", name, sizeof(t->dir) - 1);
	if (mkdtemp(t->dir) == NULL)
		fail_msg("creating %s: %s", t->dir, strerror(errno));
	if (chdir(t->dir) < 0)
		fail_msg("chdir %s: %s", t->dir, strerror(errno));
}

void unit_tmpdir_leave(struct unit_tmpdir *t)
{
	struct error err = {0};

	if (chdir(t->old_cwd) < 0)
		fail_msg("chdir %s: %s", t->old_cwd, strerror(errno));
	if (remove_tree(t->dir, &err) < 0)
		fail_msg("%s", err.msg);
}

/* The directory `path` is in, unless that is "/" or the cwd. */
static void make_parent(const char *path)
{
	char *parent = xstrdup(path);
	char *slash = strrchr(parent, '/');
	struct error err = {0};
	int rc = 0;

	if (slash != NULL && slash != parent) {
		*slash = '\0';
		rc = mkdir_p(parent, 0755, &err);
	}
	free(parent);
	if (rc < 0)
		fail_msg("%s", err.msg);
}

void unit_write(const char *path, const void *data, size_t len)
{
	int fd, saved;

	make_parent(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fail_msg("opening %s for writing: %s", path, strerror(errno));
	if (write_all(fd, data, len) < 0) {
		saved = errno;
		close(fd);
		fail_msg("writing %s: %s", path, strerror(saved));
	}
	if (close(fd) < 0)
		fail_msg("closing %s: %s", path, strerror(errno));
}

void unit_write_text(const char *path, const char *text)
{
	unit_write(path, text, strlen(text));
}

void unit_put(const char *root, const char *rel, const char *text)
{
	char *path = xasprintf("%s/%s", root, rel);

	unit_write_text(path, text);
	free(path);
}

void unit_put_line(const char *root, const char *rel, const char *value)
{
	char *line = xasprintf("%s\n", value);

	unit_put(root, rel, line);
	free(line);
}

void unit_mkdir(const char *root, const char *rel)
{
	char *path = xasprintf("%s/%s", root, rel);
	struct error err = {0};
	int rc = mkdir_p(path, 0755, &err);

	free(path);
	if (rc < 0)
		fail_msg("%s", err.msg);
}

char *unit_read(const char *path, size_t *len)
{
	struct error err = {0};
	char *text = NULL;

	if (read_file(path, &text, len, &err) < 0)
		fail_msg("%s", err.msg);
	return text;
}

char *unit_get(const char *root, const char *rel)
{
	char *path = xasprintf("%s/%s", root, rel);
	char *text = unit_read(path, NULL);

	free(path);
	return text;
}

void unit_write_artifact(const char *dir, const char *base, const char *ext, const char *bytes,
                         char digest[DIGEST_STR_MAX])
{
	char *path = xasprintf("%s/%s.tar.%s", dir, base, ext);
	char own[DIGEST_STR_MAX];
	struct error err = {0};
	int rc;

	unit_write_text(path, bytes);
	rc = digest_file_sha256(path, digest ? digest : own, &err);
	if (rc == 0)
		rc = sidecar_write(path, digest ? digest : own, &err);
	free(path);
	if (rc < 0)
		fail_msg("%s", err.msg);
}
