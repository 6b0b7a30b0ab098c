/* provenance.c - see provenance.h */
#define _GNU_SOURCE
#include "artifacts/provenance.h"

#include <archive.h>
#include <archive_entry.h>
#include "artifacts/libarchive_lazy.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/strv.h"

/* ---- tree digest ---- */

struct manifest {
	char *text;
	size_t len;
};

static void manifest_add(struct manifest *m, const char *line)
{
	size_t n = strlen(line);

	m->text = xrealloc(m->text, m->len + n + 1);
	memcpy(m->text + m->len, line, n + 1);
	m->len += n;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of a directory (caller frees each and the array). */
static int list_dir(const char *path, char ***names, size_t *n, struct error *err)
{
	DIR *d = opendir(path);
	struct strv list = {0};
	struct dirent *de;

	*names = NULL;
	*n = 0;
	if (d == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening directory %s", path);
	while ((errno = 0, de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			strv_push(&list, de->d_name);
	if (errno != 0) {
		int saved = errno;

		closedir(d);
		strv_free(&list); /* the names read so far were leaked here */
		return error_set(err, EXIT_RUNNER_ERROR, saved, "reading directory %s", path);
	}
	closedir(d);
	if (list.n > 1)
		qsort(list.v, list.n, sizeof(char *), compare_names);
	*names = list.v;
	*n = list.n;
	return 0;
}

static bool skipped(const char *rel, const char *name, const char *const *skip, size_t n_skip)
{
	if (strcmp(name, ".git") == 0)
		return true;
	for (size_t i = 0; i < n_skip; i++)
		if (strcmp(rel, skip[i]) == 0)
			return true;
	return false;
}

static int digest_entry(const char *path, const char *rel, struct manifest *m, struct error *err);

static int digest_dir(const char *path, const char *rel, const char *const *skip, size_t n_skip,
                      struct manifest *m, struct error *err)
{
	char **names;
	size_t n;
	int rc = 0;

	if (list_dir(path, &names, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char *sub_rel = rel[0] ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
		char *sub = xasprintf("%s/%s", path, names[i]);
		struct stat st;

		if (rc == 0 && !skipped(sub_rel, names[i], skip, n_skip)) {
			if (lstat(sub, &st) < 0)
				rc = error_set(err, EXIT_RUNNER_ERROR, errno, "lstat %s", sub);
			else if (S_ISDIR(st.st_mode)) {
				char *line = xasprintf("D %s\n", sub_rel);
				manifest_add(m, line);
				free(line);
				rc = digest_dir(sub, sub_rel, skip, n_skip, m, err);
			} else {
				rc = digest_entry(sub, sub_rel, m, err);
			}
		}
		free(sub_rel);
		free(sub);
		free(names[i]);
	}
	free(names);
	return rc;
}

static int digest_entry(const char *path, const char *rel, struct manifest *m, struct error *err)
{
	char digest[DIGEST_STR_MAX];
	char target[4096];
	struct stat st;
	char *line;
	ssize_t n;

	if (lstat(path, &st) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "lstat %s", path);
	if (S_ISLNK(st.st_mode)) {
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno, "readlink %s", path);
		target[n] = '\0';
		line = xasprintf("L %s -> %s\n", rel, target);
	} else if (S_ISREG(st.st_mode)) {
		if (digest_file_sha256(path, digest, err) < 0)
			return -1;
		line = xasprintf("F %s %s %s\n", rel, (st.st_mode & 0111) ? "x" : "-", digest);
	} else {
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "%s: not a regular file, directory or symlink", path);
	}
	manifest_add(m, line);
	free(line);
	return 0;
}

int tree_digest(const char *dir, const char *const *skip, size_t n_skip, char out[DIGEST_STR_MAX],
                struct error *err)
{
	struct manifest m = {.text = xstrdup(""), .len = 0};
	int rc = digest_dir(dir, "", skip, n_skip, &m, err);

	if (rc == 0)
		digest_buffer_sha256(m.text, m.len, out);
	free(m.text);
	return rc;
}

/* ---- reading a member ---- */

static const char *strip_dot_slash(const char *p)
{
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	return p;
}

static int read_member_data(struct archive *a, const char *tarball, const char *name, size_t max,
                            char **data, size_t *len, struct error *err)
{
	size_t cap = 4096, used = 0;
	char *buf = xcalloc(1, cap + 1);

	for (;;) {
		la_ssize_t n;

		if (used == cap) {
			if (cap >= max) {
				free(buf);
				return error_set(err, EXIT_RUNNER_ERROR, 0,
				                 "%s: %s is larger than %zu bytes", tarball, name,
				                 max);
			}
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
		n = archive_read_data(a, buf + used, cap - used);
		if (n < 0) {
			error_set(err, EXIT_RUNNER_ERROR, 0, "%s: reading %s: %s", tarball, name,
			          archive_error_string(a));
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	*data = buf;
	*len = used;
	return 1;
}

static void archive_read_freep(struct archive **a)
{
	int saved = errno;

	if (*a)
		archive_read_free(*a);
	errno = saved;
}

int tarball_read_member(const char *tarball, const char *name, size_t max, char **data, size_t *len,
                        struct error *err)
{
	_cleanup_(archive_read_freep) struct archive *a = NULL;
	struct archive_entry *e;
	int rc = 0;

	if (libarchive_load(err) < 0)
		return -1;
	a = archive_read_new();
	if (a == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, ENOMEM, "reading %s", tarball);
	archive_read_support_format_tar(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	if (archive_read_open_filename(a, tarball, 65536) != ARCHIVE_OK)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "opening %s: %s", tarball,
		                 archive_error_string(a));
	for (;;) {
		int r = archive_read_next_header(a, &e);

		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			rc = error_set(err, EXIT_RUNNER_ERROR, 0, "%s: damaged tarball: %s",
			               tarball, archive_error_string(a));
			break;
		}
		if (strcmp(strip_dot_slash(archive_entry_pathname(e)), name) == 0) {
			rc = read_member_data(a, tarball, name, max, data, len, err);
			break;
		}
	}
	return rc;
}

/* ---- sidecar digests ---- */

char *sidecar_path(const char *tarball)
{
	return xasprintf("%s.sha256", tarball);
}

char *sidecar_text(const char *tarball, const char *digest)
{
	const char *base = strrchr(tarball, '/');

	return xasprintf("%s  %s\n", digest + strlen("sha256:"), base ? base + 1 : tarball);
}

int sidecar_write(const char *tarball, const char *digest, struct error *err)
{
	char *path = sidecar_path(tarball);
	char *text = sidecar_text(tarball, digest);
	int rc = write_file_atomic(path, text, strlen(text), 0644, err);

	free(text);
	free(path);
	return rc;
}

int sidecar_verify(const char *tarball, char digest[DIGEST_STR_MAX], struct error *err)
{
	_cleanup_free_ char *path = sidecar_path(tarball);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;

	if (access(tarball, F_OK) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "artifact %s", tarball);
	/* say which: a sidecar never written and one that cannot be read are
	 * different repairs (the errno is in the message either way) */
	if (read_file(path, &text, &len, err) < 0)
		return error_prefix(err, "the digest record of %s is %s", tarball,
		                    err->errnum == ENOENT ? "missing" : "unreadable");
	if (digest_file_sha256(tarball, digest, err) < 0)
		return -1;
	if (len < 64 || strncmp(text, digest + strlen("sha256:"), 64) != 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "%s: digest mismatch: the file hashes to %s but %s records "
		                 "sha256:%.64s; the artifact was damaged or replaced, refusing it",
		                 tarball, digest, path, len >= 64 ? text : "(nothing)");
	return 0;
}

/* ---- JSON ---- */

char *json_canonical(const json_t *doc)
{
	char *text = json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);

	if (text == NULL)
		abort();
	return text;
}

void json_digest(const json_t *doc, char out[DIGEST_STR_MAX])
{
	char *text = json_canonical(doc);

	digest_buffer_sha256(text, strlen(text), out);
	free(text);
}

static json_t *parse_provenance(const char *what, const char *text, struct error *err)
{
	json_error_t jerr;
	json_t *doc = json_loads(text, 0, &jerr);

	if (doc == NULL || !json_is_object(doc)) {
		json_decref(doc);
		error_set(err, EXIT_RUNNER_ERROR, 0, "%s: %s is not valid JSON (line %d: %s)", what,
		          PROVENANCE_FILE, jerr.line, jerr.text);
		return NULL;
	}
	return doc;
}

json_t *provenance_load_tarball(const char *tarball, struct error *err)
{
	char *text = NULL;
	size_t len = 0;
	json_t *doc;
	int rc =
	    tarball_read_member(tarball, PROVENANCE_FILE, PROVENANCE_MAX_BYTES, &text, &len, err);

	if (rc < 0)
		return NULL;
	if (rc == 0) {
		error_set(err, EXIT_RUNNER_ERROR, 0, "%s: no %s inside: not a pgo-sandbox artifact",
		          tarball, PROVENANCE_FILE);
		return NULL;
	}
	doc = parse_provenance(tarball, text, err);
	free(text);
	return doc;
}

json_t *provenance_load_dir(const char *dir, struct error *err)
{
	char *path = xasprintf("%s/%s", dir, PROVENANCE_FILE);
	char *text = NULL;
	size_t len = 0;
	json_t *doc = NULL;

	if (read_file(path, &text, &len, err) == 0)
		doc = parse_provenance(dir, text, err);
	free(text);
	free(path);
	return doc;
}
