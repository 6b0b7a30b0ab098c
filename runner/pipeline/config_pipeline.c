/* config_pipeline.c - pipeline files (see config.h): the header, the
 * release's knobs, the stages, SOURCE_DATE_EPOCH from git. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "base/cleanup.h"
#include "pipeline/config_parse.h"
#include "pipeline/profile_normalise.h"
#include "pipeline/toolchain.h"
#include "base/strv.h"

/* ---- pipelines ---- */

struct pipe_ctx {
	struct pipeline *p;
	const struct ini_doc *doc;
	int section;                     /* being read */
	struct stage_def *stage;         /* being read, else NULL */
	const struct ini_entry *sde;     /* source-date-epoch = git */
	const struct ini_entry *profile; /* the stage's profile = */
};

static int set_p_name(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	if (!all_chars(e->value, "._-", true) || strlen(e->value) > PIPELINE_NAME_MAX)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "'%s': use only A-Z a-z 0-9 . _ - (at most %d characters)",
		                 e->value, PIPELINE_NAME_MAX);
	replace_str(&c->p->name, e->value);
	return 0;
}

/* Relative to the pipeline file's directory, must exist, canonical. */
static char *existing_path(const struct pipe_ctx *c, const char *v, struct error *err)
{
	char *joined = relative_to_dir(c->p->dir, v);
	char *real = realpath_or_error(joined, err);

	free(joined);
	return real;
}

static int set_p_dir_key(char **dst, const struct pipe_ctx *c, const char *v, struct error *err)
{
	char *real = existing_path(c, v, err);

	if (real == NULL)
		return -1;
	if (!is_dir(real)) {
		error_set(err, EXIT_RUNNER_ERROR, 0, "%s is not a directory", real);
		free(real);
		return -1;
	}
	free(*dst);
	*dst = real;
	return 0;
}

static int set_p_source(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	return set_p_dir_key(&c->p->source, c, e->value, err);
}

static int set_p_profiles(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	return set_p_dir_key(&c->p->profiles_dir, c, e->value, err);
}

static int set_p_image(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	struct stat st;
	char *real;

	if (strcmp(e->value, "host") == 0) {
		replace_str(&c->p->image, "host");
		return 0;
	}
	real = existing_path(c, e->value, err);
	if (real == NULL)
		return -1;
	if (stat(real, &st) < 0 || !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
		error_set(err, EXIT_RUNNER_ERROR, 0,
		          "%s is neither a rootfs directory nor a tarball", real);
		free(real);
		return -1;
	}
	free(c->p->image);
	c->p->image = real;
	return 0;
}

static int set_p_sde(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	uint64_t v;

	if (strcmp(e->value, "git") == 0) {
		replace_str(&c->p->source_date_epoch, "git");
		c->sde = e;
		return 0;
	}
	if (!all_chars(e->value, "", false) || !isdigit((unsigned char)e->value[0]) ||
	    parse_u64(e->value, &v, NULL) < 0 || v > (uint64_t)INT64_MAX)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "'%s' is not seconds since 1970 or 'git'", e->value);
	free(c->p->source_date_epoch);
	c->p->source_date_epoch = xasprintf("%llu", (unsigned long long)v);
	c->sde = NULL;
	return 0;
}

static int set_p_compiler(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	const struct toolchain *tc;
	struct error why = {0};

	/* the toolchain table (toolchain.h) decides which names exist */
	if (toolchain_find(e->value, &tc, &why) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s", why.msg);
	replace_str(&c->p->compiler, e->value);
	return 0;
}

static int set_p_artifacts(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	char *joined = relative_to_dir(c->p->dir, e->value);

	(void)err;
	free(c->p->artifacts_dir);
	c->p->artifacts_dir = clean_path(joined);
	free(joined);
	return 0;
}

/* Kept as written: pipeline/results_store.c tells a connection string
 * from a path (relative to this file) as the history layer does. */
static int set_p_history(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	(void)err;
	replace_str(&c->p->history, e->value);
	return 0;
}

static int set_p_training(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	if (strcmp(e->value, "threaded") == 0)
		c->p->training = TRAINING_THREADED;
	else if (strcmp(e->value, "single") == 0)
		c->p->training = TRAINING_SINGLE;
	else
		return error_set(err, EXIT_RUNNER_ERROR, 0, "'%s': expected single or threaded",
		                 e->value);
	return 0;
}

/* A command name, looked up on the stage's PATH: no path, no shell
 * words (it is substituted into $PGO_CC). */
static int set_p_cc(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	if (!all_chars(e->value, "._+-", true) || strlen(e->value) > 64)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "'%s' is not a compiler command name (A-Z a-z 0-9 . _ + -, at "
		                 "most 64 characters; e.g. clang-19)",
		                 e->value);
	replace_str(&c->p->cc, e->value);
	c->p->recipe_line = e->line;
	return 0;
}

static int set_p_function_order(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	c->p->recipe_line = e->line;
	return parse_bool(e->value, &c->p->function_order, err);
}

static int set_p_split(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	c->p->recipe_line = e->line;
	return parse_bool(e->value, &c->p->split_functions, err);
}

/* llvm-bolt's options go into the pgo-bolt script unquoted: plain
 * option words only. */
static int set_p_bolt_options(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	const char *p = e->value;

	for (; *p; p++) {
		bool word_start = p == e->value || p[-1] == ' ';

		if (*p == ' ')
			continue;
		if ((word_start && *p != '-') ||
		    !(isalnum((unsigned char)*p) || strchr("=,._+:-", *p)))
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "'%s' is not a list of llvm-bolt options (words starting "
			                 "with '-', of A-Z a-z 0-9 = , . _ + : -): '%c' at %zu",
			                 e->value, *p, (size_t)(p - e->value) + 1);
	}
	replace_str(&c->p->bolt_options, e->value);
	return 0;
}

char *pipeline_relative(const struct pipeline *p, const char *path)
{
	return relative_to_dir(p->dir, path);
}

static int set_release_env(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	if (check_env_assignment(e->value, err) < 0)
		return -1;
	env_assign(&c->p->release_env, &c->p->n_release_env, e->value);
	return 0;
}

static int set_s_profile(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	if (check_profile_name(e->value, err) < 0)
		return -1;
	replace_str(&c->stage->profile, e->value);
	c->profile = e;
	return 0;
}

static int later_stage_line(const struct pipe_ctx *c, const char *name)
{
	for (size_t i = (size_t)c->section + 1; i < c->doc->n_sections; i++) {
		const char *sec = c->doc->sections[i].name;

		if (strncmp(sec, "stage ", 6) == 0 && strcmp(sec + 6, name) == 0)
			return c->doc->sections[i].line;
	}
	return 0;
}

static int add_input(struct pipe_ctx *c, const char *name, struct error *err)
{
	struct stage_def *s = c->stage;
	size_t earlier = c->p->n_stages - 1; /* the stage being read is the last one */
	size_t i;
	int later;

	if (strv_contains(s->inputs, s->n_inputs, name))
		return error_set(err, EXIT_RUNNER_ERROR, 0, "'%s' is listed twice", name);
	if (strcmp(name, s->name) == 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "stage '%s' cannot be its own input",
		                 name);
	for (i = 0; i < earlier && strcmp(name, "source") != 0; i++)
		if (strcmp(c->p->stages[i].name, name) == 0)
			break;
	if (i == earlier && strcmp(name, "source") != 0) {
		later = later_stage_line(c, name);
		if (later > 0)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "'%s' is a later stage (line %d): inputs must be 'source' "
			                 "or an earlier stage",
			                 name, later);
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "'%s' is not 'source' or an earlier stage", name);
	}
	s->inputs = strv_append_copy_n(s->inputs, &s->n_inputs, name);
	return 0;
}

/* Outputs name files below the stage's /build/out: plain relative paths. */
static int add_output(struct pipe_ctx *c, const char *path, struct error *err)
{
	struct stage_def *s = c->stage;
	const char *p = path;

	if (path[0] == '/')
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "'%s' must be relative to the stage's /build/out", path);
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "'%s': use a plain relative path (no empty, '.' or '..' "
			                 "parts)",
			                 path);
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	if (strv_contains(s->outputs, s->n_outputs, path))
		return error_set(err, EXIT_RUNNER_ERROR, 0, "'%s' is listed twice", path);
	s->outputs = strv_append_copy_n(s->outputs, &s->n_outputs, path);
	return 0;
}

static int for_each_word(struct pipe_ctx *c, const char *v,
                         int (*fn)(struct pipe_ctx *, const char *, struct error *),
                         struct error *err)
{
	char *copy = xstrdup(v), *save = NULL;
	int rc = 0;

	for (char *w = strtok_r(copy, " \t", &save); w && rc == 0; w = strtok_r(NULL, " \t", &save))
		rc = fn(c, w, err);
	free(copy);
	return rc;
}

static int set_s_inputs(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	return for_each_word(c, e->value, add_input, err);
}

static int set_s_outputs(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	return for_each_word(c, e->value, add_output, err);
}

static int set_s_command(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	char *joined;

	if (!e->cont) {
		if (e->value[0] == '\0')
			return error_set(err, EXIT_RUNNER_ERROR, 0, "needs a value");
		replace_str(&c->stage->command, e->value);
		return 0;
	}
	joined = xasprintf("%s\n%s", c->stage->command, e->value);
	free(c->stage->command);
	c->stage->command = joined;
	return 0;
}

static int set_s_shards(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	uint64_t v;

	if (parse_u64(e->value, &v, NULL) < 0 || v < 1 || v > SHARDS_MAX)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "'%s' is not a number from 1 to %d",
		                 e->value, SHARDS_MAX);
	c->stage->shards = (unsigned)v;
	return 0;
}

static int set_s_env(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	if (check_env_assignment(e->value, err) < 0)
		return -1;
	env_assign(&c->stage->env, &c->stage->n_env, e->value);
	return 0;
}

static const struct key_rule pipeline_rules[] = {
    {"name", false, false, NULL, set_p_name},
    {"source", false, false, NULL, set_p_source},
    {"image", false, false, NULL, set_p_image},
    {"source-date-epoch", false, false, NULL, set_p_sde},
    {"compiler", false, false, NULL, set_p_compiler},
    {"profiles", false, false, NULL, set_p_profiles},
    {"artifacts", false, false, NULL, set_p_artifacts},
    {"history", false, false, NULL, set_p_history},
    {"training", false, false, NULL, set_p_training},
    {"cc", false, false, NULL, set_p_cc},
    {"function-order", false, false, NULL, set_p_function_order},
    {"split-machine-functions", false, false, NULL, set_p_split},
    {"bolt-options", false, false, NULL, set_p_bolt_options},
};

/* "faster by 2%" | "better by 2%" | "go" */
static int set_ship_if(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	struct ship_rule *r = &c->p->ship;
	double pct;
	char by[8], word[16], rest[32];

	replace_str(&r->text, e->value);
	if (strcmp(e->value, "go") == 0) {
		r->when = SHIP_IF_GO;
		return 0;
	}
	if (sscanf(e->value, "%15s %7s %31s", word, by, rest) == 3 &&
	    (strcmp(word, "faster") == 0 || strcmp(word, "better") == 0) && strcmp(by, "by") == 0) {
		char *end;

		pct = strtod(rest, &end);
		if (end != rest && strcmp(end, "%") == 0 && pct >= 0 && isfinite(pct)) {
			r->when = SHIP_IF_FASTER;
			r->margin_pct = pct;
			return 0;
		}
	}
	return error_set(err, EXIT_RUNNER_ERROR, 0,
	                 "'%s': expected 'faster by P%%' (the bench gate's estimate at least P %% "
	                 "better with the whole interval beyond zero) or 'go' (the bench's "
	                 "--rules decision)",
	                 e->value);
}

static int set_otherwise(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	if (strcmp(e->value, "baseline") != 0 && strcmp(e->value, "fail") != 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "'%s': expected baseline (ship the LTO-only build) or fail",
		                 e->value);
	c->p->ship.otherwise_fail = strcmp(e->value, "fail") == 0;
	return 0;
}

static const struct key_rule release_rules[] = {
    {"env", true, false, NULL, set_release_env},
    {"ship-pgo-if", false, false, NULL, set_ship_if},
    {"otherwise", false, false, NULL, set_otherwise},
};

/* Only where llvm-profdata merges (clang, rustc): gcc's .gcda has no text
 * form that gcov-tool merges back.  The merge role is the stage named
 * "merge" (pipeline/roles.c). */
static int set_s_normalise(struct pipe_ctx *c, const struct ini_entry *e, struct error *err)
{
	const struct toolchain *tc;
	uint64_t v;

	if (strcmp(c->stage->name, "merge") != 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "only the merge stage normalises its profile (this is [stage %s])",
		                 c->stage->name);
	if (parse_u64(e->value, &v, NULL) < 0 || v < 1 || v > PROFILE_NORMALISE_DIGITS_MAX)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "'%s' is not a number of significant figures from 1 to %d",
		                 e->value, PROFILE_NORMALISE_DIGITS_MAX);
	if (toolchain_find(c->p->compiler ? c->p->compiler : "gcc", &tc, err) < 0)
		return -1;
	if (tc->format != PROFILE_LLVM_RAW)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "compiler = %s: normalising is supported for LLVM profiles "
		                 "(compiler = clang or rustc), not for gcc's .gcda",
		                 tc->name);
	c->stage->profile_normalise = (unsigned)v;
	return 0;
}

static const struct key_rule stage_rules[] = {
    {"profile", false, false, NULL, set_s_profile},
    {"inputs", false, true, NULL, set_s_inputs},
    {"command", false, true, NULL, set_s_command},
    {"outputs", false, true, NULL, set_s_outputs},
    {"shards", false, false, NULL, set_s_shards},
    {"env", true, false, NULL, set_s_env},
    {"profile-normalise", false, false, NULL, set_s_normalise},
};

static int read_section(struct pipe_ctx *c, const struct key_rule *rules, size_t n_rules,
                        struct error *err)
{
	const struct ini_doc *doc = c->doc;
	const char *where = doc->sections[c->section].name;
	char *shown = xasprintf("[%s]", where);
	int rc = 0;

	for (size_t i = 0; i < doc->n_entries && rc == 0; i++) {
		const struct ini_entry *e = &doc->entries[i];
		int k;

		if (e->section != c->section)
			continue;
		k = check_entry(doc, i, rules, n_rules, shown, err);
		if (k < 0)
			rc = -1;
		else if (e->value[0] == '\0' && !rules[k].cont)
			rc = entry_error(err, doc, e, "needs a value");
		else if (rules[k].pipe(c, e, err) < 0)
			rc = entry_prefix(err, doc, e);
	}
	free(shown);
	return rc;
}

static int find_section(const struct ini_doc *doc, const char *name)
{
	for (size_t i = 0; i < doc->n_sections; i++)
		if (strcmp(doc->sections[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int pipeline_check_sections(const struct ini_doc *doc, struct error *err)
{
	for (size_t i = 0; i < doc->n_sections; i++) {
		const struct ini_section *s = &doc->sections[i];
		const char *stage = strncmp(s->name, "stage ", 6) == 0 ? s->name + 6 : NULL;
		int first = find_section(doc, s->name);

		if (stage == NULL && strcmp(s->name, "pipeline") != 0 &&
		    strcmp(s->name, "release") != 0)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "%s:%d: unknown section [%s] (expected [pipeline], "
			                 "[release] or [stage NAME])",
			                 doc->path, s->line, s->name);
		if (stage != NULL &&
		    (!all_chars(stage, "_-", false) || strlen(stage) > STAGE_NAME_MAX))
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "%s:%d: [%s]: stage names use only a-z, 0-9, '_' and '-' "
			                 "(at most %d characters)",
			                 doc->path, s->line, s->name, STAGE_NAME_MAX);
		if (stage != NULL && strcmp(stage, "source") == 0)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "%s:%d: [%s]: 'source' names the source tree in inputs; "
			                 "choose another stage name",
			                 doc->path, s->line, s->name);
		if ((size_t)first != i)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "%s:%d: duplicate section [%s] (first at line %d)",
			                 doc->path, s->line, s->name, doc->sections[first].line);
	}
	for (size_t i = 0; i < doc->n_entries; i++)
		if (doc->entries[i].section < 0)
			return entry_error(err, doc, &doc->entries[i],
			                   "key outside a section ([pipeline], [release] or "
			                   "[stage NAME])");
	return 0;
}

/* git in a child: no shell, a fixed environment without the caller's
 * variables or git config, and, when we are root, the source tree's owner
 * as identity, so the repository's config never runs anything as root
 * (and git's safe.directory check passes).  Async-signal-safe only. */
static void git_child(int out_fd, int err_fd, const struct stat *owner, char *const argv[],
                      char *const envp[])
{
	static const char *const paths[] = {"/usr/bin/git", "/bin/git", "/usr/local/bin/git"};
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
	    dup2(err_fd, STDERR_FILENO) < 0)
		_exit(126);
	close_range(3, ~0U, 0);
	if (geteuid() == 0 && owner->st_uid != 0 &&
	    (setgroups(0, NULL) < 0 || setgid(owner->st_gid) < 0 || setuid(owner->st_uid) < 0))
		_exit(126);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		execve(paths[i], argv, envp);
	_exit(127);
}

static size_t read_memfd(int fd, char *buf, size_t size)
{
	ssize_t n;

	do
		n = pread(fd, buf, size - 1, 0);
	while (n < 0 && errno == EINTR);
	n = n < 0 ? 0 : n;
	buf[n] = '\0';
	return (size_t)n;
}

/* Run `git -C source log -1 --format=%ct` as the owner of `source`; its
 * output (trailing newlines trimmed) and the first line of its errors land
 * in the buffers, its wait status in *status. */
static int run_git_log(const char *source, char output[GIT_OUTPUT_MAX], char errors[GIT_OUTPUT_MAX],
                       int *status, struct error *err)
{
	char *const argv[] = {"git", "-C", (char *)source, "log", "-1", "--format=%ct", NULL};
	char *const envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin",
	                      "HOME=/nonexistent",
	                      "LC_ALL=C",
	                      "TZ=UTC",
	                      "GIT_CONFIG_NOSYSTEM=1",
	                      "GIT_CONFIG_GLOBAL=/dev/null",
	                      "GIT_TERMINAL_PROMPT=0",
	                      NULL};
	_cleanup_close_ int out_fd = -1;
	_cleanup_close_ int err_fd = -1;
	struct stat owner;
	size_t n;
	pid_t pid;

	if (stat(source, &owner) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "%s", source);
	out_fd = memfd_create("git-stdout", MFD_CLOEXEC);
	err_fd = memfd_create("git-stderr", MFD_CLOEXEC);
	if (out_fd < 0 || err_fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "memfd_create for git output");
	pid = fork();
	if (pid < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "fork for git");
	if (pid == 0)
		git_child(out_fd, err_fd, &owner, argv, envp);
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return error_set(err, EXIT_RUNNER_ERROR, errno, "waiting for git");
	n = read_memfd(out_fd, output, GIT_OUTPUT_MAX);
	while (n > 0 && output[n - 1] == '\n')
		output[--n] = '\0';
	read_memfd(err_fd, errors, GIT_OUTPUT_MAX);
	errors[strcspn(errors, "\n")] = '\0';
	return 0;
}

static int git_commit_time(const char *source, char **out, struct error *err)
{
	char output[GIT_OUTPUT_MAX], errors[GIT_OUTPUT_MAX];
	int status = 0;
	size_t n;

	if (run_git_log(source, output, errors, &status, err) < 0)
		return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "git not found in /usr/bin, /bin, /usr/local/bin");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "git -C %s log failed (%s %d)%s%s",
		                 source, WIFEXITED(status) ? "exit" : "signal",
		                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
		                 errors[0] ? ": " : "", errors);
	n = strlen(output);
	if (n == 0 || n > 18 || strspn(output, "0123456789") != n)
		return error_set(
		    err, EXIT_RUNNER_ERROR, 0,
		    "git -C %s log printed '%.40s', not a commit time (has it no commits?)", source,
		    output);
	*out = xstrdup(output);
	return 0;
}

static int pipeline_read_header(struct pipe_ctx *c, struct error *err)
{
	struct pipeline *p = c->p;
	const struct ini_doc *doc = c->doc;
	int line;
	char *digits = NULL;

	c->section = find_section(doc, "pipeline");
	if (c->section < 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: no [pipeline] section", doc->path);
	line = doc->sections[c->section].line;
	if (read_section(c, pipeline_rules, N_RULES(pipeline_rules), err) < 0)
		return -1;
	if (p->name == NULL || p->source == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s:%d: [pipeline]: '%s =' is required",
		                 doc->path, line, p->name == NULL ? "name" : "source");
	if (p->image == NULL)
		p->image = xstrdup("host");
	if (p->compiler == NULL)
		p->compiler = xstrdup("gcc");
	if (p->source_date_epoch == NULL)
		p->source_date_epoch = xstrdup("0");
	if (p->artifacts_dir == NULL)
		p->artifacts_dir = xasprintf("%s/artifacts", strcmp(p->dir, "/") ? p->dir : "");
	if (c->sde != NULL) {
		if (git_commit_time(p->source, &digits, err) < 0)
			return entry_prefix(err, doc, c->sde);
		free(p->source_date_epoch);
		p->source_date_epoch = digits;
	}
	if (p->profiles_dir == NULL && profile_default_dir(&p->profiles_dir, err) < 0)
		return -1;
	return 0;
}

static int pipeline_read_stage(struct pipe_ctx *c, int sec, struct error *err)
{
	struct pipeline *p = c->p;
	const struct ini_doc *doc = c->doc;
	const struct ini_section *s = &doc->sections[sec];
	struct profile prof;
	struct stage_def *st;

	if (p->n_stages >= PIPELINE_MAX_STAGES)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s:%d: more than %d stages", doc->path,
		                 s->line, PIPELINE_MAX_STAGES);
	st = &p->stages[p->n_stages++];
	memset(st, 0, sizeof(*st));
	st->name = xstrdup(s->name + 6);
	st->line = s->line;
	st->shards = 1;
	c->section = sec;
	c->stage = st;
	c->profile = NULL;
	if (read_section(c, stage_rules, N_RULES(stage_rules), err) < 0)
		return -1;
	if (st->profile == NULL || st->command == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s:%d: [%s]: '%s =' is required",
		                 doc->path, s->line, s->name,
		                 st->profile == NULL ? "profile" : "command");
	if (profile_load_named(p->profiles_dir, st->profile, &prof, err) < 0)
		return entry_prefix(err, doc, c->profile);
	profile_free(&prof);
	return 0;
}

/* Fills *out from a loaded document; pipeline_load frees *out on failure. */
static int pipeline_read(struct ini_doc *doc, const char *path, struct pipeline *out,
                         struct error *err)
{
	struct pipe_ctx c = {.p = out, .doc = doc};
	char *slash;

	out->path = realpath_or_error(path, err);
	if (out->path == NULL)
		return -1;
	slash = strrchr(out->path, '/');
	out->dir = slash == out->path ? xstrdup("/")
	                              : xasprintf("%.*s", (int)(slash - out->path), out->path);
	if (pipeline_check_sections(doc, err) < 0 || pipeline_read_header(&c, err) < 0)
		return -1;
	c.section = find_section(doc, "release");
	c.stage = NULL;
	if (c.section >= 0 && read_section(&c, release_rules, N_RULES(release_rules), err) < 0)
		return -1;
	for (size_t i = 0; i < doc->n_sections; i++)
		if (strncmp(doc->sections[i].name, "stage ", 6) == 0 &&
		    pipeline_read_stage(&c, (int)i, err) < 0)
			return -1;
	if (out->n_stages == 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: no [stage NAME] section", path);
	return 0;
}

int pipeline_load(const char *path, struct pipeline *out, struct error *err)
{
	_cleanup_(ini_doc_freep) struct ini_doc doc = {0};

	memset(out, 0, sizeof(*out));
	if (ini_doc_load(path, &doc, err) < 0)
		return -1;
	if (pipeline_read(&doc, path, out, err) < 0) {
		pipeline_free(out);
		return -1;
	}
	return 0;
}

const struct stage_def *pipeline_find_stage(const struct pipeline *p, const char *name)
{
	for (size_t i = 0; i < p->n_stages; i++)
		if (strcmp(p->stages[i].name, name) == 0)
			return &p->stages[i];
	return NULL;
}

json_t *stage_def_to_json(const struct stage_def *s)
{
	json_t *j = json_pack(
	    "{s:s, s:o, s:o, s:s, s:o, s:s, s:I}", "command", s->command ? s->command : "", "env",
	    env_json(s->env, s->n_env), "inputs", strv_json(s->inputs, s->n_inputs, false), "name",
	    s->name ? s->name : "", "outputs", strv_json(s->outputs, s->n_outputs, false),
	    "profile", s->profile ? s->profile : "", "shards", (json_int_t)s->shards);

	/* only when set: every other stage's definition digest stays as it was */
	if (j && s->profile_normalise)
		json_object_set_new(j, "profile_normalise", json_integer(s->profile_normalise));
	return j;
}

void pipeline_free(struct pipeline *p)
{
	free(p->path);
	free(p->dir);
	free(p->name);
	free(p->source);
	free(p->image);
	free(p->source_date_epoch);
	free(p->compiler);
	free(p->cc);
	free(p->bolt_options);
	free(p->profiles_dir);
	free(p->artifacts_dir);
	strv_free_n(p->release_env, p->n_release_env);
	free(p->ship.text);
	free(p->history);
	for (size_t i = 0; i < p->n_stages; i++) {
		struct stage_def *s = &p->stages[i];

		free(s->name);
		free(s->profile);
		strv_free_n(s->inputs, s->n_inputs);
		free(s->command);
		strv_free_n(s->outputs, s->n_outputs);
		strv_free_n(s->env, s->n_env);
	}
	memset(p, 0, sizeof(*p));
}
