/* valgrind_out.c - see valgrind_out.h */
#define _GNU_SOURCE
#include "bench/valgrind_out.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"

void valgrind_out_options(const char *out_option, const char *out_name, const char *dir_inside,
                          char **out, size_t *k)
{
	out[(*k)++] = xstrdup("--trace-children=yes");
	out[(*k)++] = xasprintf("%s=%s/%s.%%p", out_option, dir_inside, out_name);
	out[(*k)++] = xasprintf("--log-file=%s/%s.%%p", dir_inside, VALGRIND_LOG_NAME);
}

/* "NAME.123" */
static bool is_output_of(const char *file, const char *name)
{
	size_t len = strlen(name);

	return strncmp(file, name, len) == 0 && file[len] == '.' && file[len + 1] != '\0' &&
	       strspn(file + len + 1, "0123456789") == strlen(file + len + 1);
}

/* The last non-empty line of the first valgrind log in `dir`, or NULL. */
static char *last_logged_line(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *line = NULL;

	if (d == NULL)
		return NULL;
	while (line == NULL && (e = readdir(d)) != NULL) {
		struct error ignored = {0};
		_cleanup_free_ char *path = NULL, *text = NULL;
		char *end;

		if (!is_output_of(e->d_name, VALGRIND_LOG_NAME))
			continue;
		path = xasprintf("%s/%s", dir, e->d_name);
		if (read_file_untrusted(path, 1u << 20, &text, &ignored) < 0)
			continue;
		end = text + strlen(text);
		while (end > text && (end[-1] == '\n' || end[-1] == ' '))
			*--end = '\0';
		char *start = strrchr(text, '\n');
		line = xstrdup(start ? start + 1 : text);
	}
	closedir(d);
	return line;
}

int valgrind_out_each(const char *dir, const char *name, size_t max,
                      int (*add)(const char *text, void *acc, struct error *err), void *acc,
                      struct error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t found = 0;
	int rc = 0;

	if (d == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening %s", dir);
	while (rc == 0 && (e = readdir(d)) != NULL) {
		_cleanup_free_ char *path = NULL, *text = NULL;

		if (!is_output_of(e->d_name, name))
			continue;
		path = xasprintf("%s/%s", dir, e->d_name);
		rc = read_file_untrusted(path, max, &text, err);
		if (rc == 0 && (rc = add(text, acc, err)) < 0)
			error_prefix(err, "%s", path);
		found++;
	}
	closedir(d);
	if (rc == 0 && found == 0) {
		_cleanup_free_ char *why = last_logged_line(dir);

		return error_set(err, EXIT_RUNNER_ERROR, 0, "valgrind wrote no %s.PID in %s%s%s",
		                 name, dir, why ? "; its log ends: " : " (and no log)",
		                 why ? why : "");
	}
	return rc;
}
