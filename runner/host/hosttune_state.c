/* hosttune_state.c - the host tuning state file (format: hosttune.c's
 * header comment): parsing, writing, pruning the runs that died and
 * putting their originals back, under the state directory's lock. */
#define _GNU_SOURCE
#include "host/hosttune_state.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

char *ht_root_norm(const char *root)
{
	char *out;
	size_t len;

	if (root == NULL)
		return xstrdup("");
	out = xstrdup(root);
	len = strlen(out);
	while (len > 0 && out[len - 1] == '/')
		out[--len] = '\0';
	return out;
}

const char *ht_root_display(const char *root)
{
	return root[0] ? root : "/";
}

char *ht_full_path(const char *root, const char *rel)
{
	return xasprintf("%s/%s", root, rel);
}

bool ht_is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (isspace((unsigned char)*s) || !isprint((unsigned char)*s))
			return false;
	return true;
}

/* starttime (field 22) and state (field 3) of /proc/<pid>/stat; 0 when
 * unreadable (hidepid, no /proc). */
unsigned long long ht_proc_start_time(long pid, char *state)
{
	char path[64], *text = NULL, *p, *save = NULL;
	unsigned long long start = 0;
	struct error ignored;
	int field = 3;

	*state = '?';
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (read_file(path, &text, NULL, &ignored) < 0)
		return 0;
	p = strrchr(text, ')');
	if (p != NULL) {
		for (char *w = strtok_r(p + 1, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
			if (field == 3)
				*state = w[0];
			if (field == 22) {
				start = strtoull(w, NULL, 10);
				break;
			}
			field++;
		}
	}
	free(text);
	return start;
}

/* A zombie runner is dead for our purpose; a recycled pid is caught by its
 * different start time. */
bool ht_run_alive(const struct ht_run *run)
{
	unsigned long long start;
	char state;

	if (run->pid <= 0 || (kill((pid_t)run->pid, 0) < 0 && errno == ESRCH))
		return false;
	start = ht_proc_start_time(run->pid, &state);
	if (state == 'Z' || state == 'X')
		return false;
	return start == 0 || run->start == 0 || start == run->start;
}

void ht_state_free(struct ht_state *st)
{
	for (size_t i = 0; i < st->n_origs; i++) {
		free(st->origs[i].rel);
		free(st->origs[i].orig);
		free(st->origs[i].set);
	}
	free(st->origs);
	free(st->runs);
	free(st->root);
	memset(st, 0, sizeof(*st));
}

/* The state directs root-privileged writes, so only paths under the cpu
 * sysfs directory are accepted from it. */
static bool valid_rel(const char *rel)
{
	return strncmp(rel, CPU_REL, strlen(CPU_REL)) == 0 && strstr(rel, "..") == NULL &&
	       ht_is_token(rel);
}

static int parse_state_line(struct ht_state *st, char *line, const char *path, unsigned lineno,
                            struct error *err)
{
	char *save = NULL, *kw = strtok_r(line, " ", &save);
	char *a = strtok_r(NULL, " ", &save), *b = strtok_r(NULL, " ", &save);
	char *c = strtok_r(NULL, " ", &save), *extra = strtok_r(NULL, " ", &save);
	uint64_t pid, start;

	if (kw == NULL)
		return 0;
	if (strcmp(kw, "run") == 0 && c && !extra && strlen(c) == HT_TOKEN_LEN &&
	    parse_u64(a, &pid, err) == 0 && pid <= INT32_MAX && parse_u64(b, &start, err) == 0) {
		struct ht_run *run;

		st->runs = xrealloc(st->runs, (st->n_runs + 1) * sizeof(*st->runs));
		run = &st->runs[st->n_runs++];
		run->pid = (long)pid;
		run->start = start;
		memcpy(run->token, c, sizeof(run->token));
		return 0;
	}
	if (strcmp(kw, "orig") == 0 && c && !extra && valid_rel(a)) {
		st->origs = xrealloc(st->origs, (st->n_origs + 1) * sizeof(*st->origs));
		st->origs[st->n_origs].rel = xstrdup(a);
		st->origs[st->n_origs].orig = xstrdup(b);
		st->origs[st->n_origs].set = xstrdup(c);
		st->n_origs++;
		return 0;
	}
	return error_set(err, EXIT_RUNNER_ERROR, 0, "corrupt host state %s line %u", path, lineno);
}

static int state_parse(struct ht_state *st, char *text, const char *path, struct error *err)
{
	char *save = NULL;
	unsigned lineno = 0;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (lineno == 1) {
			if (strcmp(line, STATE_MAGIC) != 0)
				return error_set(err, EXIT_RUNNER_ERROR, 0,
				                 "%s is not a pgo-sandbox host state (version?)",
				                 path);
		} else if (strncmp(line, "root ", 5) == 0 && st->root == NULL) {
			st->root = ht_root_norm(line + 5);
		} else if (parse_state_line(st, line, path, lineno, err) < 0) {
			return -1;
		}
	}
	if (st->root == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "corrupt host state %s: no root", path);
	return 0;
}

/* A missing state file is an empty state for `root`. */
int ht_state_load(const char *dir, const char *root, struct ht_state *st, struct error *err)
{
	char *path = xasprintf("%s/state", dir);
	char *text = NULL;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		st->root = xstrdup(root);
		free(path);
		return 0;
	}
	if (read_file(path, &text, NULL, err) < 0) {
		free(path);
		return -1;
	}
	rc = state_parse(st, text, path, err);
	if (rc == 0 && strcmp(st->root, root) != 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, 0,
		               "host state %s was written for sysfs root %s, not %s", path,
		               ht_root_display(st->root), ht_root_display(root));
	free(text);
	free(path);
	if (rc < 0)
		ht_state_free(st);
	return rc;
}

static char *state_format(const struct ht_state *st)
{
	char *out = xasprintf(STATE_MAGIC "\nroot %s\n", ht_root_display(st->root));

	for (size_t i = 0; i < st->n_runs; i++) {
		char *next = xasprintf("%srun %ld %llu %s\n", out, st->runs[i].pid,
		                       st->runs[i].start, st->runs[i].token);
		free(out);
		out = next;
	}
	for (size_t i = 0; i < st->n_origs; i++) {
		char *next = xasprintf("%sorig %s %s %s\n", out, st->origs[i].rel,
		                       st->origs[i].orig, st->origs[i].set);
		free(out);
		out = next;
	}
	return out;
}

/* An empty state (no run, nothing to restore) is removed. */
int ht_state_save(const char *dir, const struct ht_state *st, struct error *err)
{
	char *path = xasprintf("%s/state", dir);
	int rc;

	if (st->n_runs == 0 && st->n_origs == 0) {
		rc = unlink(path) < 0 && errno != ENOENT
		         ? error_set(err, EXIT_RUNNER_ERROR, errno, "removing %s", path)
		         : 0;
	} else {
		char *text = state_format(st);
		rc = write_file_atomic(path, text, strlen(text), 0600, err);
		free(text);
	}
	free(path);
	if (rc < 0)
		return -1;
	return fsync_dir(dir, err);
}

void ht_state_drop_run(struct ht_state *st, size_t i)
{
	st->runs[i] = st->runs[--st->n_runs];
}

void ht_state_drop_orig(struct ht_state *st, size_t i)
{
	free(st->origs[i].rel);
	free(st->origs[i].orig);
	free(st->origs[i].set);
	memmove(&st->origs[i], &st->origs[i + 1], (st->n_origs - i - 1) * sizeof(*st->origs));
	st->n_origs--;
}

int ht_write_value(const char *root, const char *rel, const char *value, struct error *err)
{
	char *path = ht_full_path(root, rel);
	char *text = xasprintf("%s\n", value);
	int rc = write_file(path, text, strlen(text), err);

	free(text);
	free(path);
	return rc;
}

/* Write originals back from index `from` on; entries that fail stay in
 * the state so a later recovery retries them.  First error wins. */
int ht_restore_origs(struct ht_state *st, size_t from, struct error *err)
{
	int rc = 0;

	for (size_t i = st->n_origs; i-- > from;) {
		char *path = ht_full_path(st->root, st->origs[i].rel);
		/* a file that went away (driver unloaded) has nothing to restore */
		bool gone = access(path, F_OK) < 0 && errno == ENOENT;
		struct error one;

		free(path);
		if (!gone &&
		    ht_write_value(st->root, st->origs[i].rel, st->origs[i].orig, &one) < 0) {
			if (rc == 0)
				*err = one;
			rc = -1;
			continue;
		}
		ht_state_drop_orig(st, i);
	}
	return rc;
}

/* Drop runs that are gone (all of them when `force`); once nobody is
 * left, put the originals back. */
int ht_state_prune(struct ht_state *st, bool force, struct error *err)
{
	for (size_t i = st->n_runs; i-- > 0;)
		if (force || !ht_run_alive(&st->runs[i]))
			ht_state_drop_run(st, i);
	if (st->n_runs > 0)
		return 0;
	return ht_restore_origs(st, 0, err);
}

/* Saved even after a failed write-back, so what failed stays recorded for
 * a later recovery; the first error is the one reported. */
int ht_prune_and_save(const char *dir, struct ht_state *st, bool force, struct error *err)
{
	struct error save_err;
	int rc = ht_state_prune(st, force, err);

	if (ht_state_save(dir, st, &save_err) < 0 && rc == 0) {
		if (err)
			*err = save_err;
		rc = -1;
	}
	return rc;
}

/* The state decides what root writes where: refuse a directory others
 * could have planted files in. */
int ht_lock_state_dir(const char *dir, int *lock_fd, struct error *err)
{
	char *path;
	struct stat st;
	int fd;

	if (mkdir_p(dir, 0700, err) < 0)
		return -1;
	if (lstat(dir, &st) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "checking %s", dir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "host state directory %s must be a directory owned by uid %u "
		                 "and not writable by group or others",
		                 dir, (unsigned)geteuid());
	path = xasprintf("%s/lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		error_set(err, EXIT_RUNNER_ERROR, errno, "opening %s", path);
		free(path);
		return -1;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			error_set(err, EXIT_RUNNER_ERROR, errno, "locking %s", path);
			close(fd);
			free(path);
			return -1;
		}
	}
	free(path);
	*lock_fd = fd;
	return 0;
}
