/* config_ini.c - see config.h and config_parse.h
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
#include "pipeline/config_parse.h"

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

/* ---- collecting a file: struct ini_doc (config_parse.h) ---- */

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

void ini_doc_free(struct ini_doc *doc)
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

bool is_blank(char c)
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

int ini_doc_load(const char *path, struct ini_doc *doc, struct error *err)
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

int entry_error(struct error *err, const struct ini_doc *doc, const struct ini_entry *e,
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

int entry_prefix(struct error *err, const struct ini_doc *doc, const struct ini_entry *e)
{
	return error_prefix(err, "%s:%d: %s", doc->path, e->line, e->key);
}

int check_entry(const struct ini_doc *doc, size_t idx, const struct key_rule *rules, size_t n_rules,
                const char *where, struct error *err)
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

bool all_chars(const char *s, const char *extra, bool upper)
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

bool valid_env_name(const char *s, size_t n)
{
	if (n == 0 || isdigit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

int check_env_assignment(const char *kv, struct error *err)
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

size_t env_name_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* Later assignments of a name replace earlier ones and move to the end:
 * the list reads as the winning assignments in the order they were made. */
void env_assign(char ***v, size_t *n, const char *kv)
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

bool strv_contains(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

int parse_bool(const char *v, bool *out, struct error *err)
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
int check_i64(uint64_t v, const char *text, struct error *err)
{
	if (v > (uint64_t)INT64_MAX)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "'%s' is out of range", text);
	return 0;
}

int parse_positive_size(const char *v, uint64_t *out, struct error *err)
{
	if (parse_size(v, out, err) < 0 || check_i64(*out, v, err) < 0)
		return -1;
	if (*out == 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "must be above 0");
	return 0;
}

void replace_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

/* Lexically clean an absolute path (no "//", "." or ".."), for paths that
 * need not exist yet. */
char *clean_path(const char *path)
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
char *relative_to_file(const char *file, const char *rel)
{
	const char *slash = strrchr(file, '/');

	if (rel[0] == '/' || slash == NULL)
		return xstrdup(rel);
	return xasprintf("%.*s/%s", (int)(slash - file), file, rel);
}

char *relative_to_dir(const char *dir, const char *rel)
{
	if (rel[0] == '/')
		return xstrdup(rel);
	return xasprintf("%s/%s", dir, rel);
}

char *realpath_or_error(const char *path, struct error *err)
{
	char *real = realpath(path, NULL);

	if (real == NULL)
		error_set(err, EXIT_RUNNER_ERROR, errno, "%s", path);
	return real;
}

/* "dir/build.ini" -> "build" */
char *file_stem(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n > 4 && strcmp(base + n - 4, ".ini") == 0)
		n -= 4;
	return xasprintf("%.*s", (int)n, base);
}
