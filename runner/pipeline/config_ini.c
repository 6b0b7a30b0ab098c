/* config.c - see config.h
 *
 * inih splits lines and calls us per `key = value`, but Debian's build has
 * no INI_HANDLER_LINENO, and inih silently mangles some input: a line
 * longer than its buffer is cut and the rest parsed as a new line, long
 * section and key names are truncated.  So inih reads through a reader of
 * ours that hands it one physical line at a time: the reader counts lines,
 * checks each (length, NUL bytes, UTF-8, section and key syntax) before
 * inih sees it, and stops at the first bad one.  A file is first collected
 * into a `struct ini_doc` (sections and entries with their lines), then
 * interpreted, so `include` can apply before the file's own keys. */
#define _GNU_SOURCE
#include "pipeline/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipeline/toolchain.h"
#include "sandbox/privileges.h"

#define CONFIG_MAX_BYTES (1024 * 1024)
#define INCLUDE_MAX_DEPTH 16
#define INI_NAME_MAX 48 /* inih truncates section and key names at 49 */
#define STAGE_NAME_MAX 32
#define PIPELINE_NAME_MAX 64
#define PROFILE_NAME_MAX 64
#define GOVERNOR_MAX 32
#define SHARDS_MAX 64
#define GIT_OUTPUT_MAX 4096
#define ENTRIES_MAX 4096 /* keys per file; duplicate checks are quadratic */

/* ---- collecting a file: struct ini_doc ---- */

struct ini_section {
	char *name;
	int line;
};

struct ini_entry {
	int section; /* index into sections, -1 before any */
	char *key;
	char *value;
	int line;
	bool cont; /* an indented continuation of `key` */
};

struct ini_doc {
	const char *path; /* as given: errors name it */
	struct ini_section *sections;
	size_t n_sections;
	struct ini_entry *entries;
	size_t n_entries;
};

struct ini_reader {
	struct ini_doc *doc;
	const char *buf;
	size_t len;
	size_t pos;
	int line;
	bool have_key; /* inih's prev_name: indented lines continue it */
	bool cont;     /* the line just handed to inih continues a key */
	bool failed;
	struct error *err;
};

static void ini_doc_free(struct ini_doc *doc)
{
	for (size_t i = 0; i < doc->n_sections; i++)
		free(doc->sections[i].name);
	for (size_t i = 0; i < doc->n_entries; i++) {
		free(doc->entries[i].key);
		free(doc->entries[i].value);
	}
	free(doc->sections);
	free(doc->entries);
	doc->sections = NULL;
	doc->entries = NULL;
	doc->n_sections = doc->n_entries = 0;
}

static int read_config(const char *path, char **out, size_t *len, struct error *err)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd, saved;

	/* O_NONBLOCK: a FIFO must not hang the open; it is refused below. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening %s", path);
	if (fstat(fd, &st) < 0) {
		saved = errno;
		close(fd);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "stat %s", path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: not a regular file", path);
	}
	if (st.st_size > CONFIG_MAX_BYTES) {
		close(fd);
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: larger than %d bytes", path,
		                 CONFIG_MAX_BYTES);
	}
	buf = xcalloc(1, (size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			saved = errno;
			free(buf);
			close(fd);
			return error_set(err, EXIT_RUNNER_ERROR, saved, "reading %s", path);
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*out = buf;
	*len = got;
	return 0;
}

static int reader_fail(struct ini_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int reader_fail(struct ini_reader *r, const char *fmt, ...)
{
	char reason[ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	error_set(r->err, EXIT_RUNNER_ERROR, 0, "%s:%d: %s", r->doc->path, r->line, reason);
	r->failed = true;
	return -1;
}

static bool is_blank(char c)
{
	return isspace((unsigned char)c) != 0;
}

/* Length of the UTF-8 sequence at s (at most `left` bytes), 0 if invalid:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
	size_t n;
	unsigned cp, min;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Text only: JSON provenance and terminals get what the file holds. */
static bool line_text_ok(const char *line, size_t len, const char **why)
{
	const unsigned char *s = (const unsigned char *)line;

	for (size_t i = 0; i < len;) {
		size_t n;

		if (s[i] == '\0') {
			*why = "NUL byte";
			return false;
		}
		if ((s[i] < 0x20 && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') || s[i] == 0x7f) {
			*why = "control character";
			return false;
		}
		n = utf8_seq(s + i, len - i);
		if (n == 0) {
			*why = "invalid UTF-8";
			return false;
		}
		i += n;
	}
	return true;
}

/* inih's find_chars_or_comment: the first of `chars`, a ';' after
 * whitespace (an inline comment), or `end`. */
static const char *scan_until(const char *s, const char *end, const char *chars)
{
	bool was_space = false;

	for (; s < end; s++) {
		if (chars != NULL && strchr(chars, *s) != NULL)
			break;
		if (was_space && *s == ';')
			break;
		was_space = is_blank(*s);
	}
	return s;
}

static int reader_section(struct ini_reader *r, const char *s, const char *end)
{
	const char *close = scan_until(s, end, "]");
	const char *rest;
	struct ini_doc *doc = r->doc;
	size_t n;

	if (close == end || *close != ']')
		return reader_fail(r, "'[' without a closing ']'");
	for (rest = close + 1; rest < end && is_blank(*rest); rest++)
		;
	if (rest < end && *rest != ';' && *rest != '#')
		return reader_fail(r, "unexpected text after ']'");
	n = (size_t)(close - s);
	if (n == 0)
		return reader_fail(r, "empty section name");
	if (n > INI_NAME_MAX)
		return reader_fail(r, "section name longer than %d characters", INI_NAME_MAX);
	doc->sections = xrealloc(doc->sections, (doc->n_sections + 1) * sizeof(*doc->sections));
	doc->sections[doc->n_sections].name = xasprintf("%.*s", (int)n, s);
	doc->sections[doc->n_sections].line = r->line;
	doc->n_sections++;
	r->have_key = false;
	return 0;
}

static int reader_key(struct ini_reader *r, const char *s, const char *end)
{
	const char *sep = scan_until(s, end, "=:");
	const char *kend = sep;

	if (sep == end || (*sep != '=' && *sep != ':'))
		return reader_fail(r, "expected 'key = value', '[section]' or a comment");
	while (kend > s && is_blank(kend[-1]))
		kend--;
	if (kend == s)
		return reader_fail(r, "no key before '%c'", *sep);
	if (kend - s > INI_NAME_MAX)
		return reader_fail(r, "key longer than %d characters", INI_NAME_MAX);
	r->have_key = true;
	return 0;
}

/* Classify a line the way inih will (same order of tests), record
 * sections, refuse what inih would get wrong. */
static int reader_classify(struct ini_reader *r, const char *line, size_t len)
{
	const char *b = line, *e = line + len, *s;

	if (r->line == 1 && len >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0)
		b += 3;
	while (e > b && is_blank(e[-1]))
		e--;
	for (s = b; s < e && is_blank(*s); s++)
		;
	r->cont = false;
	if (s == e || *s == ';' || *s == '#')
		return 0;
	if (r->have_key && s > line) {
		r->cont = true;
		return 0;
	}
	if (*s == '[')
		return reader_section(r, s + 1, e);
	return reader_key(r, s, e);
}

static char *reader_next_line(char *str, int num, void *stream)
{
	struct ini_reader *r = stream;
	const char *line, *nl, *why = NULL;
	size_t len, text;

	if (r->failed || r->pos >= r->len)
		return NULL;
	line = r->buf + r->pos;
	nl = memchr(line, '\n', r->len - r->pos);
	len = nl ? (size_t)(nl - line) + 1 : r->len - r->pos;
	text = nl ? len - 1 : len;
	r->pos += len;
	r->line++;
	if (num < 2 || text > (size_t)num - 2) {
		reader_fail(r, "line longer than %d characters", num - 2);
		return NULL;
	}
	if (!line_text_ok(line, len, &why)) {
		reader_fail(r, "%s", why);
		return NULL;
	}
	if (reader_classify(r, line, len) < 0)
		return NULL;
	memcpy(str, line, len);
	str[len] = '\0';
	return str;
}

static int reader_on_entry(void *user, const char *section, const char *name, const char *value)
{
	struct ini_reader *r = user;
	struct ini_doc *doc = r->doc;
	int sec = (int)doc->n_sections - 1;
	struct ini_entry *e;

	if (strcmp(section, sec >= 0 ? doc->sections[sec].name : "") != 0) {
		reader_fail(r, "internal error: inih and reader disagree on the section");
		return 0;
	}
	if (doc->n_entries >= ENTRIES_MAX) {
		reader_fail(r, "more than %d keys in one file", ENTRIES_MAX);
		return 0;
	}
	doc->entries = xrealloc(doc->entries, (doc->n_entries + 1) * sizeof(*doc->entries));
	e = &doc->entries[doc->n_entries++];
	e->section = sec;
	e->key = xstrdup(name);
	e->value = xstrdup(value);
	e->line = r->line;
	e->cont = r->cont;
	return 1;
}

static int ini_doc_load(const char *path, struct ini_doc *doc, struct error *err)
{
	struct ini_reader r = {.doc = doc, .err = err};
	char *buf = NULL;
	int rc;

	memset(doc, 0, sizeof(*doc));
	doc->path = path;
	if (read_config(path, &buf, &r.len, err) < 0)
		return -1;
	r.buf = buf;
	rc = ini_parse_stream(reader_next_line, &r, reader_on_entry, &r);
	free(buf);
	if (r.failed) {
		ini_doc_free(doc);
		return -1;
	}
	if (rc != 0) {
		ini_doc_free(doc);
		if (rc > 0)
			return error_set(err, EXIT_RUNNER_ERROR, 0, "%s:%d: cannot parse this line",
			                 path, rc);
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: inih failed (%d)", path, rc);
	}
	return 0;
}

/* ---- error helpers: "file:line: key: reason" ---- */

static int entry_error(struct error *err, const struct ini_doc *doc, const struct ini_entry *e,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int entry_error(struct error *err, const struct ini_doc *doc, const struct ini_entry *e,
                       const char *fmt, ...)
{
	char reason[ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return error_set(err, EXIT_RUNNER_ERROR, 0, "%s:%d: %s: %s", doc->path, e->line, e->key,
	                 reason);
}

static int entry_prefix(struct error *err, const struct ini_doc *doc, const struct ini_entry *e)
{
	return error_prefix(err, "%s:%d: %s", doc->path, e->line, e->key);
}

struct pipe_ctx;
typedef int (*profile_setter)(struct profile *p, const char *v, struct error *err);
typedef int (*pipe_setter)(struct pipe_ctx *c, const struct ini_entry *e, struct error *err);

struct key_rule {
	const char *name;
	bool repeat;            /* may appear more than once per section */
	bool cont;              /* takes indented continuation lines */
	profile_setter profile; /* profiles: the key's setter */
	pipe_setter pipe;       /* pipelines: the key's setter */
};

/* Unknown key, duplicate of a non-repeatable key, or a continuation where
 * none is taken; returns the rule's index. */
static int check_entry(const struct ini_doc *doc, size_t idx, const struct key_rule *rules,
                       size_t n_rules, const char *where, struct error *err)
{
	const struct ini_entry *e = &doc->entries[idx];
	size_t k;

	for (k = 0; k < n_rules; k++)
		if (strcmp(rules[k].name, e->key) == 0)
			break;
	if (k == n_rules)
		return entry_error(err, doc, e, "unknown key in %s", where);
	if (e->cont && !rules[k].cont)
		return entry_error(err, doc, e,
		                   "unexpected indented line (only command, inputs "
		                   "and outputs continue on indented lines)");
	if (e->cont || rules[k].repeat)
		return (int)k;
	for (size_t i = 0; i < idx; i++) {
		const struct ini_entry *o = &doc->entries[i];

		if (o->section == e->section && !o->cont && strcmp(o->key, e->key) == 0)
			return entry_error(err, doc, e, "duplicate key (first set at line %d)",
			                   o->line);
	}
	return (int)k;
}

/* ---- small value helpers ---- */

static bool all_chars(const char *s, const char *extra, bool upper)
{
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (!(islower(c) || isdigit(c) || (upper && isupper(c)) || strchr(extra, c)))
			return false;
	}
	return true;
}

static bool valid_env_name(const char *s, size_t n)
{
	if (n == 0 || isdigit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

static int check_env_assignment(const char *kv, struct error *err)
{
	const char *eq = strchr(kv, '=');

	if (eq == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "'%s' is not NAME=VALUE", kv);
	if (!valid_env_name(kv, (size_t)(eq - kv)))
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "'%.*s' is not a variable name (A-Z a-z 0-9 _, no leading digit)",
		                 (int)(eq - kv), kv);
	return 0;
}

static size_t env_name_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* Later assignments of a name replace earlier ones and move to the end:
 * the list reads as the winning assignments in the order they were made. */
static void env_assign(char ***v, size_t *n, const char *kv)
{
	size_t len = env_name_len(kv);

	for (size_t i = 0; i < *n; i++) {
		if (env_name_len((*v)[i]) == len && strncmp((*v)[i], kv, len) == 0) {
			free((*v)[i]);
			memmove(&(*v)[i], &(*v)[i + 1], (*n - i - 1) * sizeof(**v));
			(*n)--;
			break;
		}
	}
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = xstrdup(kv);
}

static bool strv_contains(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static void list_push(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = xstrdup(s);
}

static void list_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int parse_bool(const char *v, bool *out, struct error *err)
{
	if (strcmp(v, "on") == 0 || strcmp(v, "true") == 0)
		*out = true;
	else if (strcmp(v, "off") == 0 || strcmp(v, "false") == 0)
		*out = false;
	else
		return error_set(err, EXIT_RUNNER_ERROR, 0, "'%s' is not on|off or true|false", v);
	return 0;
}

/* JSON integers are signed 64-bit: refuse what provenance could not hold. */
static int check_i64(uint64_t v, const char *text, struct error *err)
{
	if (v > (uint64_t)INT64_MAX)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "'%s' is out of range", text);
	return 0;
}

static int parse_positive_size(const char *v, uint64_t *out, struct error *err)
{
	if (parse_size(v, out, err) < 0 || check_i64(*out, v, err) < 0)
		return -1;
	if (*out == 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "must be above 0");
	return 0;
}

static void replace_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

/* Lexically clean an absolute path (no "//", "." or ".."), for paths that
 * need not exist yet. */
static char *clean_path(const char *path)
{
	char *out = xcalloc(1, strlen(path) + 2);
	const char *p = path;
	size_t len = 0;

	while (*p) {
		const char *start;
		size_t n;

		while (*p == '/')
			p++;
		start = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - start);
		if (n == 0 || (n == 1 && start[0] == '.'))
			continue;
		if (n == 2 && start[0] == '.' && start[1] == '.') {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
			out[len] = '\0';
			continue;
		}
		out[len++] = '/';
		memcpy(out + len, start, n);
		len += n;
		out[len] = '\0';
	}
	if (len == 0)
		strcpy(out, "/");
	return out;
}

/* `rel` relative to the directory part of `file` ("a/b.ini" -> "a/rel"). */
static char *relative_to_file(const char *file, const char *rel)
{
	const char *slash = strrchr(file, '/');

	if (rel[0] == '/' || slash == NULL)
		return xstrdup(rel);
	return xasprintf("%.*s/%s", (int)(slash - file), file, rel);
}

static char *relative_to_dir(const char *dir, const char *rel)
{
	if (rel[0] == '/')
		return xstrdup(rel);
	return xasprintf("%s/%s", dir, rel);
}

static char *realpath_or_error(const char *path, struct error *err)
{
	char *real = realpath(path, NULL);

	if (real == NULL)
		error_set(err, EXIT_RUNNER_ERROR, errno, "%s", path);
	return real;
}

/* "dir/build.ini" -> "build" */
static char *file_stem(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n > 4 && strcmp(base + n - 4, ".ini") == 0)
		n -= 4;
	return xasprintf("%.*s", (int)n, base);
}

/* ---- profiles ---- */

static int set_cpus(struct profile *p, const char *v, struct error *err)
{
	uint8_t mask[CPU_LIST_MAX / 8];

	if (parse_cpu_list(v, mask, err) < 0)
		return -1;
	replace_str(&p->cpus, v);
	return 0;
}

static int set_memory(struct profile *p, const char *v, struct error *err)
{
	return parse_positive_size(v, &p->memory_max, err);
}

static int set_pids(struct profile *p, const char *v, struct error *err)
{
	if (parse_u64(v, &p->pids_max, err) < 0 || check_i64(p->pids_max, v, err) < 0)
		return -1;
	if (p->pids_max == 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "must be above 0");
	return 0;
}

static int set_timeout(struct profile *p, const char *v, struct error *err)
{
	if (parse_duration_ns(v, &p->timeout_ns, err) < 0)
		return -1;
	return check_i64(p->timeout_ns, v, err);
}

static int set_tmpfs_size(struct profile *p, const char *v, struct error *err)
{
	return parse_positive_size(v, &p->tmpfs_size, err);
}

static int set_turbo(struct profile *p, const char *v, struct error *err)
{
	bool on = false;

	if (parse_bool(v, &on, err) < 0)
		return -1;
	p->no_turbo = !on;
	return 0;
}

static int set_governor(struct profile *p, const char *v, struct error *err)
{
	if (!all_chars(v, "_-", false) || strlen(v) > GOVERNOR_MAX)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "'%s' is not a cpufreq governor name (a-z 0-9 _ -)", v);
	replace_str(&p->governor, v);
	return 0;
}

static int set_aslr(struct profile *p, const char *v, struct error *err)
{
	bool on = false;

	if (parse_bool(v, &on, err) < 0)
		return -1;
	p->no_aslr = !on;
	return 0;
}

static int set_network(struct profile *p, const char *v, struct error *err)
{
	(void)p;
	if (strcmp(v, "off") != 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "network must stay off: stages never have network");
	return 0;
}

static int set_env(struct profile *p, const char *v, struct error *err)
{
	if (check_env_assignment(v, err) < 0)
		return -1;
	env_assign(&p->env, &p->n_env, v);
	return 0;
}

static int set_keep_env(struct profile *p, const char *v, struct error *err)
{
	if (!valid_env_name(v, strlen(v)))
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "'%s' is not a variable name (A-Z a-z 0-9 _, no leading digit)",
		                 v);
	if (!strv_contains(p->keep_env, p->n_keep_env, v))
		list_push(&p->keep_env, &p->n_keep_env, v);
	return 0;
}

static int set_seccomp_allow(struct profile *p, const char *v, struct error *err)
{
	bool perf = false, ptrace = false;
	char *copy, *tok, *save = NULL;

	if (strcmp(v, "none") == 0) {
		p->allow_perf = p->allow_ptrace = false;
		return 0;
	}
	copy = xstrdup(v);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end = tok + strlen(tok);

		while (is_blank(*tok))
			tok++;
		while (end > tok && is_blank(end[-1]))
			*--end = '\0';
		if (strcmp(tok, "perf_event_open") == 0) {
			perf = true;
		} else if (strcmp(tok, "ptrace") == 0) {
			ptrace = true;
		} else {
			error_set(err, EXIT_RUNNER_ERROR, 0,
			          "'%s' cannot be allowed (perf_event_open, ptrace or none)", tok);
			free(copy);
			return -1;
		}
	}
	free(copy);
	if (!perf && !ptrace)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "empty list (perf_event_open, ptrace or none)");
	p->allow_perf = perf;
	p->allow_ptrace = ptrace;
	return 0;
}

static int parse_rlimit_value(const char *text, uint64_t *out, struct error *err)
{
	if (strcmp(text, "unlimited") == 0) {
		*out = RLIM_INFINITY;
		return 0;
	}
	if (parse_size(text, out, err) < 0)
		return -1;
	return check_i64(*out, text, err);
}

static int set_rlimit(struct profile *p, const char *v, struct error *err)
{
	struct rlimit_spec rl;
	char *copy = xstrdup(v), *eq = strchr(copy, '='), *colon;
	size_t i;
	int rc = -1;

	if (eq == NULL) {
		error_set(err, EXIT_RUNNER_ERROR, 0, "'%s' is not NAME=SOFT[:HARD]", v);
		goto out;
	}
	*eq = '\0';
	rl.resource = privileges_rlimit_by_name(copy);
	if (rl.resource < 0) {
		error_set(err, EXIT_RUNNER_ERROR, 0,
		          "unknown limit '%s' (core, nofile, fsize, ...)", copy);
		goto out;
	}
	colon = strchr(eq + 1, ':');
	if (colon)
		*colon = '\0';
	if (parse_rlimit_value(eq + 1, &rl.soft, err) < 0)
		goto out;
	rl.hard = rl.soft;
	if (colon && parse_rlimit_value(colon + 1, &rl.hard, err) < 0)
		goto out;
	if (rl.soft > rl.hard) {
		error_set(err, EXIT_RUNNER_ERROR, 0, "'%s': soft limit above hard", v);
		goto out;
	}
	for (i = 0; i < p->n_rlimits; i++)
		if (p->rlimits[i].resource == rl.resource)
			break;
	if (i < p->n_rlimits) {
		free(p->rlimit_names[i]);
		memmove(&p->rlimits[i], &p->rlimits[i + 1],
		        (p->n_rlimits - i - 1) * sizeof(p->rlimits[0]));
		memmove(&p->rlimit_names[i], &p->rlimit_names[i + 1],
		        (p->n_rlimits - i - 1) * sizeof(p->rlimit_names[0]));
		p->n_rlimits--;
	}
	if (p->n_rlimits >= SPEC_MAX_RLIMITS) {
		error_set(err, EXIT_RUNNER_ERROR, 0, "at most %d limits", SPEC_MAX_RLIMITS);
		goto out;
	}
	p->rlimits[p->n_rlimits] = rl;
	p->rlimit_names[p->n_rlimits] = xstrdup(copy);
	p->n_rlimits++;
	rc = 0;
out:
	free(copy);
	return rc;
}

static int set_strict(struct profile *p, const char *v, struct error *err)
{
	return parse_bool(v, &p->strict, err);
}

/* include (no setter) is handled apart: it applies before the other keys. */
static const struct key_rule profile_rules[] = {
    {"include", true, false, NULL, NULL},
    {"cpus", false, false, set_cpus, NULL},
    {"memory", false, false, set_memory, NULL},
    {"pids", false, false, set_pids, NULL},
    {"timeout", false, false, set_timeout, NULL},
    {"tmpfs-size", false, false, set_tmpfs_size, NULL},
    {"turbo", false, false, set_turbo, NULL},
    {"governor", false, false, set_governor, NULL},
    {"aslr", false, false, set_aslr, NULL},
    {"network", false, false, set_network, NULL},
    {"env", true, false, set_env, NULL},
    {"keep-env", true, false, set_keep_env, NULL},
    {"seccomp-allow", false, false, set_seccomp_allow, NULL},
    {"rlimit", true, false, set_rlimit, NULL},
    {"strict", false, false, set_strict, NULL},
};

#define N_RULES(r) (sizeof(r) / sizeof((r)[0]))

struct include_chain {
	const char *shown[INCLUDE_MAX_DEPTH + 1]; /* paths as written: errors show them */
	char *real[INCLUDE_MAX_DEPTH + 1];
	size_t n;
};

static int profile_load_file(const char *shown, struct include_chain *chain, struct profile *p,
                             struct error *err);

static int cycle_error(const struct include_chain *chain, size_t from, const char *shown,
                       struct error *err)
{
	char msg[ERROR_MSG_MAX];
	size_t len = 0;

	msg[0] = '\0';
	for (size_t i = from; i < chain->n && len < sizeof(msg); i++)
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s -> ", chain->shown[i]);
	if (len < sizeof(msg))
		snprintf(msg + len, sizeof(msg) - len, "%s", shown);
	return error_set(err, EXIT_RUNNER_ERROR, 0, "include cycle: %s", msg);
}

static int profile_include(const struct ini_doc *doc, const struct ini_entry *e,
                           struct include_chain *chain, struct profile *p, struct error *err)
{
	char *shown, *real;
	int rc = -1;

	if (e->value[0] == '\0')
		return entry_error(err, doc, e, "needs a file name");
	shown = relative_to_file(doc->path, e->value);
	real = realpath(shown, NULL);
	if (real == NULL) {
		error_set(err, EXIT_RUNNER_ERROR, errno, "opening %s", shown);
		entry_prefix(err, doc, e);
		goto out;
	}
	for (size_t i = 0; i < chain->n; i++) {
		if (strcmp(chain->real[i], real) == 0) {
			cycle_error(chain, i, shown, err);
			entry_prefix(err, doc, e);
			goto out;
		}
	}
	if (chain->n >= INCLUDE_MAX_DEPTH) {
		entry_error(err, doc, e, "includes nested deeper than %d", INCLUDE_MAX_DEPTH);
		goto out;
	}
	chain->shown[chain->n] = shown;
	chain->real[chain->n] = real;
	chain->n++;
	rc = profile_load_file(shown, chain, p, err);
	chain->n--;
	if (rc == 0) {
		p->includes = xrealloc(p->includes, (p->n_includes + 1) * sizeof(*p->includes));
		p->includes[p->n_includes++] = file_stem(shown);
	}
out:
	free(real);
	free(shown);
	return rc;
}

static int profile_check_sections(const struct ini_doc *doc, struct error *err)
{
	for (size_t i = 0; i < doc->n_sections; i++) {
		const struct ini_section *s = &doc->sections[i];

		if (strcmp(s->name, "sandbox") != 0)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "%s:%d: unknown section [%s] (profiles have one [sandbox] "
			                 "section)",
			                 doc->path, s->line, s->name);
		if (i > 0)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "%s:%d: duplicate section [sandbox] (first at line %d)",
			                 doc->path, s->line, doc->sections[0].line);
	}
	for (size_t i = 0; i < doc->n_entries; i++)
		if (doc->entries[i].section < 0)
			return entry_error(err, doc, &doc->entries[i],
			                   "key outside a section (put it under [sandbox])");
	return 0;
}

/* Includes first, in file order, then this file's own keys. */
static int profile_load_file(const char *shown, struct include_chain *chain, struct profile *p,
                             struct error *err)
{
	struct ini_doc doc;
	int rc = -1;

	if (ini_doc_load(shown, &doc, err) < 0)
		return -1;
	if (profile_check_sections(&doc, err) < 0)
		goto out;
	for (size_t i = 0; i < doc.n_entries; i++) {
		int k =
		    check_entry(&doc, i, profile_rules, N_RULES(profile_rules), "[sandbox]", err);

		if (k < 0)
			goto out;
		if (profile_rules[k].profile == NULL &&
		    profile_include(&doc, &doc.entries[i], chain, p, err) < 0)
			goto out;
	}
	for (size_t i = 0; i < doc.n_entries; i++) {
		const struct ini_entry *e = &doc.entries[i];
		int k =
		    check_entry(&doc, i, profile_rules, N_RULES(profile_rules), "[sandbox]", err);

		if (k < 0)
			goto out;
		if (profile_rules[k].profile == NULL)
			continue;
		if (profile_rules[k].profile(p, e->value, err) < 0) {
			entry_prefix(err, &doc, e);
			goto out;
		}
	}
	rc = 0;
out:
	ini_doc_free(&doc);
	return rc;
}

int profile_load(const char *path, struct profile *out, struct error *err)
{
	struct include_chain chain = {.n = 0};
	int rc;

	memset(out, 0, sizeof(*out));
	out->path = realpath(path, NULL);
	if (out->path == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening %s", path);
	out->name = file_stem(path);
	chain.shown[0] = path;
	chain.real[0] = out->path;
	chain.n = 1;
	rc = profile_load_file(path, &chain, out, err);
	if (rc < 0)
		profile_free(out);
	return rc;
}

static int check_profile_name(const char *name, struct error *err)
{
	if (!all_chars(name, "_-", false) || strlen(name) > PROFILE_NAME_MAX)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "profile name '%s': use only a-z, 0-9, '_' and '-'", name);
	return 0;
}

int profile_load_named(const char *profiles_dir, const char *name, struct profile *out,
                       struct error *err)
{
	char *path;
	int rc;

	memset(out, 0, sizeof(*out));
	if (check_profile_name(name, err) < 0)
		return -1;
	path = xasprintf("%s/%s.ini", profiles_dir, name);
	rc = profile_load(path, out, err);
	free(path);
	return rc;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int profile_default_dir(char **out, struct error *err)
{
	const char *env = getenv("PGO_SANDBOX_PROFILES");
	char exe[PATH_MAX];
	char *slash, *share, *repo;
	ssize_t n;

	if (env != NULL && env[0] != '\0') {
		*out = xstrdup(env);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "reading /proc/self/exe");
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "/proc/self/exe: '%s' is not absolute",
		                 exe);
	*slash = '\0';
	share = xasprintf("%s/../share/pgo-sandbox/profiles", exe);
	repo = xasprintf("%s/../profiles", exe);
	*out = clean_path(is_dir(share) ? share : repo);
	free(share);
	free(repo);
	return 0;
}

static void merge_rlimit(struct sandbox_spec *spec, const struct rlimit_spec *rl)
{
	for (size_t i = 0; i < spec->n_rlimits; i++) {
		if (spec->rlimits[i].resource == rl->resource) {
			spec->rlimits[i] = *rl;
			return;
		}
	}
	spec->rlimits[spec->n_rlimits++] = *rl;
}

static size_t rlimits_missing(const struct sandbox_spec *spec, const struct profile *p)
{
	size_t missing = 0;

	for (size_t i = 0; i < p->n_rlimits; i++) {
		size_t j;

		for (j = 0; j < spec->n_rlimits; j++)
			if (spec->rlimits[j].resource == p->rlimits[i].resource)
				break;
		missing += j == spec->n_rlimits;
	}
	return missing;
}

int profile_apply(const struct profile *p, struct sandbox_spec *spec, struct error *err)
{
	uint8_t mask[CPU_LIST_MAX / 8];

	/* Everything that can fail first: the spec is changed all or not at all. */
	if (p->cpus != NULL && parse_cpu_list(p->cpus, mask, err) < 0)
		return error_prefix(err, "profile %s: cpus", p->name ? p->name : "?");
	if (spec->n_rlimits + rlimits_missing(spec, p) > SPEC_MAX_RLIMITS)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "profile %s: more than %d rlimits",
		                 p->name ? p->name : "?", SPEC_MAX_RLIMITS);
	if (p->cpus != NULL) {
		memcpy(spec->cpus, mask, sizeof(mask));
		spec->cpus_set = true;
	}
	for (size_t i = 0; i < p->n_rlimits; i++)
		merge_rlimit(spec, &p->rlimits[i]);
	if (p->memory_max)
		spec->memory_max = p->memory_max;
	if (p->pids_max)
		spec->pids_max = p->pids_max;
	if (p->timeout_ns)
		spec->timeout_ns = p->timeout_ns;
	if (p->tmpfs_size)
		spec->tmpfs_size = p->tmpfs_size;
	if (p->governor)
		replace_str(&spec->governor, p->governor);
	for (size_t i = 0; i < p->n_env; i++)
		env_assign(&spec->set_env, &spec->n_set_env, p->env[i]);
	for (size_t i = 0; i < p->n_keep_env; i++)
		if (!strv_contains(spec->keep_env, spec->n_keep_env, p->keep_env[i]))
			list_push(&spec->keep_env, &spec->n_keep_env, p->keep_env[i]);
	spec->no_turbo = p->no_turbo;
	spec->no_aslr = p->no_aslr;
	spec->allow_perf = p->allow_perf;
	spec->allow_ptrace = p->allow_ptrace;
	spec->strict = p->strict;
	return 0;
}

/* ---- canonical JSON ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_env(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t nx = env_name_len(x), ny = env_name_len(y);
	int c = strncmp(x, y, nx < ny ? nx : ny);

	return c ? c : (nx > ny) - (nx < ny);
}

static char **sorted_copy(char *const *v, size_t n, int (*cmp)(const void *, const void *))
{
	char **copy = xcalloc(n + 1, sizeof(*copy));

	if (n > 0)
		memcpy(copy, v, n * sizeof(*copy));
	qsort(copy, n, sizeof(*copy), cmp);
	return copy;
}

static json_t *env_json(char *const *env, size_t n)
{
	json_t *obj = json_object();
	char **sorted = sorted_copy(env, n, cmp_env);

	for (size_t i = 0; obj && i < n; i++) {
		size_t len = env_name_len(sorted[i]);
		char *name = xasprintf("%.*s", (int)len, sorted[i]);

		if (json_object_set_new(obj, name, json_string(sorted[i] + len + 1)))
			json_decref(obj), obj = NULL;
		free(name);
	}
	free(sorted);
	return obj;
}

static json_t *strv_json(char *const *v, size_t n, bool sort)
{
	json_t *arr = json_array();
	char **items = sort ? sorted_copy(v, n, cmp_str) : NULL;

	for (size_t i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, json_string(sort ? items[i] : v[i])))
			json_decref(arr), arr = NULL;
	free(items);
	return arr;
}

static json_t *rlimit_value_json(uint64_t v)
{
	if (v == RLIM_INFINITY)
		return json_string("unlimited");
	return json_integer((json_int_t)v);
}

static json_t *rlimits_json(const struct profile *p)
{
	json_t *obj = json_object();
	size_t order[SPEC_MAX_RLIMITS];

	for (size_t i = 0; i < p->n_rlimits; i++)
		order[i] = i;
	for (size_t i = 1; i < p->n_rlimits; i++)
		for (size_t j = i;
		     j > 0 && strcmp(p->rlimit_names[order[j - 1]], p->rlimit_names[order[j]]) > 0;
		     j--) {
			size_t t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (size_t i = 0; obj && i < p->n_rlimits; i++) {
		const struct rlimit_spec *rl = &p->rlimits[order[i]];

		if (json_object_set_new(obj, p->rlimit_names[order[i]],
		                        json_pack("{s:o, s:o}", "hard", rlimit_value_json(rl->hard),
		                                  "soft", rlimit_value_json(rl->soft))))
			json_decref(obj), obj = NULL;
	}
	return obj;
}

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *cpus_json(const char *cpus)
{
	uint8_t mask[CPU_LIST_MAX / 8];
	json_t *j;
	char *text;

	if (cpus == NULL || parse_cpu_list(cpus, mask, NULL) < 0)
		return json_null();
	text = format_cpu_list(mask);
	j = json_string(text);
	free(text);
	return j;
}

json_t *profile_to_json(const struct profile *p)
{
	/* Keys in sorted order; json_pack inserts in the order given. */
	return json_pack(
	    "{s:b, s:b, s:o, s:o, s:o, s:o, s:o, s:I, s:s, s:s, s:b, s:b, s:I, "
	    "s:o, s:b, s:I, s:I}",
	    "allow_perf", p->allow_perf, "allow_ptrace", p->allow_ptrace, "cpus",
	    cpus_json(p->cpus), "env", env_json(p->env, p->n_env), "governor",
	    string_or_null(p->governor), "includes", strv_json(p->includes, p->n_includes, false),
	    "keep_env", strv_json(p->keep_env, p->n_keep_env, true), "memory_max",
	    (json_int_t)p->memory_max, "name", p->name ? p->name : "", "network", "off", "no_aslr",
	    p->no_aslr, "no_turbo", p->no_turbo, "pids_max", (json_int_t)p->pids_max, "rlimits",
	    rlimits_json(p), "strict", p->strict, "timeout_ns", (json_int_t)p->timeout_ns,
	    "tmpfs_size", (json_int_t)p->tmpfs_size);
}

void profile_free(struct profile *p)
{
	free(p->name);
	free(p->path);
	free(p->cpus);
	free(p->governor);
	list_free(p->env, p->n_env);
	list_free(p->keep_env, p->n_keep_env);
	list_free(p->includes, p->n_includes);
	for (size_t i = 0; i < p->n_rlimits; i++)
		free(p->rlimit_names[i]);
	memset(p, 0, sizeof(*p));
}

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
	list_push(&s->inputs, &s->n_inputs, name);
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
	list_push(&s->outputs, &s->n_outputs, path);
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
};

static const struct key_rule release_rules[] = {
    {"env", true, false, NULL, set_release_env},
};

static const struct key_rule stage_rules[] = {
    {"profile", false, false, NULL, set_s_profile}, {"inputs", false, true, NULL, set_s_inputs},
    {"command", false, true, NULL, set_s_command},  {"outputs", false, true, NULL, set_s_outputs},
    {"shards", false, false, NULL, set_s_shards},   {"env", true, false, NULL, set_s_env},
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
	int out_fd = -1, err_fd = -1, rc = -1;
	struct stat owner;
	size_t n;
	pid_t pid;

	if (stat(source, &owner) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "%s", source);
	out_fd = memfd_create("git-stdout", MFD_CLOEXEC);
	err_fd = memfd_create("git-stderr", MFD_CLOEXEC);
	if (out_fd < 0 || err_fd < 0) {
		error_set(err, EXIT_RUNNER_ERROR, errno, "memfd_create for git output");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		error_set(err, EXIT_RUNNER_ERROR, errno, "fork for git");
		goto out;
	}
	if (pid == 0)
		git_child(out_fd, err_fd, &owner, argv, envp);
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR) {
			error_set(err, EXIT_RUNNER_ERROR, errno, "waiting for git");
			goto out;
		}
	}
	n = read_memfd(out_fd, output, GIT_OUTPUT_MAX);
	while (n > 0 && output[n - 1] == '\n')
		output[--n] = '\0';
	read_memfd(err_fd, errors, GIT_OUTPUT_MAX);
	errors[strcspn(errors, "\n")] = '\0';
	rc = 0;
out:
	if (out_fd >= 0)
		close(out_fd);
	if (err_fd >= 0)
		close(err_fd);
	return rc;
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

int pipeline_load(const char *path, struct pipeline *out, struct error *err)
{
	struct ini_doc doc;
	struct pipe_ctx c = {.p = out, .doc = &doc};
	char *slash;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (ini_doc_load(path, &doc, err) < 0)
		return -1;
	out->path = realpath_or_error(path, err);
	if (out->path == NULL)
		goto out;
	slash = strrchr(out->path, '/');
	out->dir = slash == out->path ? xstrdup("/")
	                              : xasprintf("%.*s", (int)(slash - out->path), out->path);
	if (pipeline_check_sections(&doc, err) < 0 || pipeline_read_header(&c, err) < 0)
		goto out;
	c.section = find_section(&doc, "release");
	c.stage = NULL;
	if (c.section >= 0 && read_section(&c, release_rules, N_RULES(release_rules), err) < 0)
		goto out;
	for (size_t i = 0; i < doc.n_sections; i++)
		if (strncmp(doc.sections[i].name, "stage ", 6) == 0 &&
		    pipeline_read_stage(&c, (int)i, err) < 0)
			goto out;
	if (out->n_stages == 0) {
		error_set(err, EXIT_RUNNER_ERROR, 0, "%s: no [stage NAME] section", path);
		goto out;
	}
	rc = 0;
out:
	ini_doc_free(&doc);
	if (rc < 0)
		pipeline_free(out);
	return rc;
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
	return json_pack("{s:s, s:o, s:o, s:s, s:o, s:s, s:I}", "command",
	                 s->command ? s->command : "", "env", env_json(s->env, s->n_env), "inputs",
	                 strv_json(s->inputs, s->n_inputs, false), "name", s->name ? s->name : "",
	                 "outputs", strv_json(s->outputs, s->n_outputs, false), "profile",
	                 s->profile ? s->profile : "", "shards", (json_int_t)s->shards);
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
	free(p->profiles_dir);
	free(p->artifacts_dir);
	list_free(p->release_env, p->n_release_env);
	for (size_t i = 0; i < p->n_stages; i++) {
		struct stage_def *s = &p->stages[i];

		free(s->name);
		free(s->profile);
		list_free(s->inputs, s->n_inputs);
		free(s->command);
		list_free(s->outputs, s->n_outputs);
		list_free(s->env, s->n_env);
	}
	memset(p, 0, sizeof(*p));
}
