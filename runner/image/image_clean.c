/* image_clean.c - cleaning a debootstrapped root filesystem of what differs
 * between two builds of the same packages (image.h; images/README.md) */
#define _GNU_SOURCE
#include "image/image.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/path_resolve.h"

#include "image/image_proc.h"

enum clean_how {
	CLEAN_REMOVE,      /* the entry, a whole tree if a directory */
	CLEAN_FILES_BELOW, /* every non-directory below, directories kept */
	CLEAN_TRUNCATE,    /* emptied, kept */
};

/* What differs between two debootstraps of the same packages, or is
 * never seen in the sandbox; images/README.md explains each line. */
static const struct clean_rule {
	const char *dir, *pattern;
	enum clean_how how;
} clean_rules[] = {
    {"/dev", "*", CLEAN_REMOVE},
    {"/proc", "*", CLEAN_REMOVE},
    {"/sys", "*", CLEAN_REMOVE},
    {"/tmp", "*", CLEAN_REMOVE},
    {"/var/log", "*", CLEAN_FILES_BELOW},
    {"/var/cache/apt", "*.bin", CLEAN_REMOVE},
    {"/var/cache/apt/archives", "*.deb", CLEAN_REMOVE},
    {"/var/cache/apt/archives/partial", "*", CLEAN_REMOVE},
    {"/var/lib/apt/lists", "*", CLEAN_FILES_BELOW},
    {"/var/cache/ldconfig", "aux-cache", CLEAN_REMOVE},
    {"/var/lib/dpkg", "*-old", CLEAN_REMOVE},
    {"/var/cache/debconf", "*-old", CLEAN_REMOVE},
    {"/etc", "hostname", CLEAN_REMOVE},
    {"/etc", "resolv.conf", CLEAN_REMOVE},
    {"/etc", "machine-id", CLEAN_TRUNCATE},
    {"/var/lib/dbus", "machine-id", CLEAN_REMOVE},
    {"/etc/ssh", "ssh_host_*", CLEAN_REMOVE},
    {"/var/lib/systemd", "random-seed", CLEAN_REMOVE},
};

struct cleaner {
	int root_fd;
	const char *root; /* realpath */
	json_t *cleaned;
	struct error *err;
};

static void record(struct cleaner *c, const char *rel)
{
	json_t *s = json_string(rel);

	if (s != NULL)
		json_array_append_new(c->cleaned, s);
}

static int remove_entry(struct cleaner *c, const char *abs, const char *rel, const struct stat *st)
{
	if (S_ISDIR(st->st_mode)) {
		if (remove_tree(abs, c->err) < 0)
			return -1;
	} else if (unlink(abs) < 0) {
		return error_set(c->err, EXIT_RUNNER_ERROR, errno, "removing %s", abs);
	}
	record(c, rel);
	return 0;
}

/* One entry met by walk_below; it may recurse with walk_below itself. */
typedef int (*walk_fn)(struct cleaner *c, const char *abs, const char *rel, const char *name,
                       const struct stat *st, int depth);

/* Visit the entries below `abs` in sorted order, without following links. */
static int walk_below(struct cleaner *c, const char *abs, const char *rel, int depth, walk_fn fn)
{
	char **names;
	size_t n;
	int rc = 0;

	if (depth > WALK_MAX_DEPTH)
		return error_set(c->err, EXIT_RUNNER_ERROR, 0, "%s: too deep", abs);
	if (image_list_sorted(abs, &names, &n, c->err) < 0)
		return -1;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char *a = xasprintf("%s/%s", abs, names[i]);
		char *r = xasprintf("%s/%s", rel, names[i]);
		struct stat st;

		if (lstat(a, &st) < 0)
			rc = error_set(c->err, EXIT_RUNNER_ERROR, errno, "stat %s", a);
		else
			rc = fn(c, a, r, names[i], &st, depth);
		free(a);
		free(r);
	}
	strv_free_n(names, n);
	return rc;
}

/* Every file below a directory goes; the directories stay. */
static int remove_files_entry(struct cleaner *c, const char *abs, const char *rel, const char *name,
                              const struct stat *st, int depth)
{
	(void)name;
	if (S_ISDIR(st->st_mode))
		return walk_below(c, abs, rel, depth + 1, remove_files_entry);
	return remove_entry(c, abs, rel, st);
}

static int clean_entry(struct cleaner *c, const struct clean_rule *rule, const char *abs,
                       const char *rel)
{
	struct stat st;
	int fd;

	if (lstat(abs, &st) < 0)
		return error_set(c->err, EXIT_RUNNER_ERROR, errno, "stat %s", abs);
	switch (rule->how) {
	case CLEAN_REMOVE: return remove_entry(c, abs, rel, &st);
	case CLEAN_FILES_BELOW:
		if (S_ISDIR(st.st_mode))
			return walk_below(c, abs, rel, 0, remove_files_entry);
		return remove_entry(c, abs, rel, &st);
	case CLEAN_TRUNCATE:
		if (!S_ISREG(st.st_mode) || st.st_size == 0)
			return 0;
		fd = open(abs, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return error_set(c->err, EXIT_RUNNER_ERROR, errno, "emptying %s", abs);
		close(fd);
		record(c, rel);
		return 0;
	}
	return 0;
}

/* The rule's directory, resolved inside the root (an image may hold
 * symlinks such as var/run -> /run; they must never lead to the host). */
static int rule_dir(struct cleaner *c, const char *dir, char **abs, char **rel)
{
	char link[64], target[PATH_MAX];
	size_t root_len = strlen(c->root);
	ssize_t n;
	int fd = resolve_in_root(c->root_fd, dir, O_PATH | O_DIRECTORY, false);

	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return error_set(c->err, EXIT_RUNNER_ERROR, errno, "resolving %s in %s", dir,
		                 c->root);
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	close(fd);
	if (n < 0)
		return error_set(c->err, EXIT_RUNNER_ERROR, errno, "resolving %s in %s", dir,
		                 c->root);
	target[n] = '\0';
	if (strncmp(target, c->root, root_len) != 0 || target[root_len] != '/')
		return 0; /* the root itself: no rule means that */
	*abs = xstrdup(target);
	*rel = xstrdup(target + root_len);
	return 1;
}

static int apply_rule(struct cleaner *c, const struct clean_rule *rule)
{
	char *abs = NULL, *rel = NULL, **names = NULL;
	size_t n = 0;
	int rc = rule_dir(c, rule->dir, &abs, &rel);

	if (rc <= 0)
		return rc;
	rc = image_list_sorted(abs, &names, &n, c->err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char *a, *r;

		if (fnmatch(rule->pattern, names[i], 0) != 0)
			continue;
		a = xasprintf("%s/%s", abs, names[i]);
		r = xasprintf("%s/%s", rel, names[i]);
		rc = clean_entry(c, rule, a, r);
		free(a);
		free(r);
	}
	strv_free_n(names, n);
	free(abs);
	free(rel);
	return rc;
}

/* Python byte code compiled at install time embeds nothing stable enough;
 * Python recompiles (or runs without) when it is missing. */
static int remove_pycache_entry(struct cleaner *c, const char *abs, const char *rel,
                                const char *name, const struct stat *st, int depth)
{
	if (!S_ISDIR(st->st_mode))
		return 0;
	if (strcmp(name, "__pycache__") == 0)
		return remove_entry(c, abs, rel, st);
	return walk_below(c, abs, rel, depth + 1, remove_pycache_entry);
}

int image_clean_rootfs(const char *rootfs, json_t *cleaned, struct error *err)
{
	struct cleaner c = {.cleaned = cleaned, .err = err};
	char *real = realpath(rootfs, NULL);
	char *usr;
	struct stat st;
	int rc = 0;

	if (real == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "image root %s", rootfs);
	if (strcmp(real, "/") == 0) {
		free(real);
		return error_set(err, EXIT_RUNNER_ERROR, 0, "refusing to clean the host's /");
	}
	c.root = real;
	c.root_fd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c.root_fd < 0) {
		error_set(err, EXIT_RUNNER_ERROR, errno, "opening %s", real);
		free(real);
		return -1;
	}
	for (size_t i = 0; rc == 0 && i < sizeof(clean_rules) / sizeof(clean_rules[0]); i++)
		rc = apply_rule(&c, &clean_rules[i]);
	usr = xasprintf("%s/usr", real);
	if (rc == 0 && lstat(usr, &st) == 0 && S_ISDIR(st.st_mode))
		rc = walk_below(&c, usr, "/usr", 0, remove_pycache_entry);
	free(usr);
	close(c.root_fd);
	free(real);
	return rc;
}
