/* init_project.c - see init_project.h */
#define _GNU_SOURCE
#include "cli/init_project.h"
#include "base/strv.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One line of TOML as init reads it: the current table header, and a key
 * with its value (quotes removed) when the line has one. */
struct toml_item {
	const char *table; /* "" before any header */
	bool array_table;  /* [[table]] */
	bool header;       /* this line is the header itself */
	const char *key;   /* NULL on header lines */
	const char *value;
	int line;
};

typedef int (*toml_fn)(const struct toml_item *it, void *ctx, struct error *err);

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* A '#' outside quotes starts a comment. */
static void strip_comment(char *s)
{
	char quote = 0;

	for (; *s; s++) {
		if (quote && *s == quote)
			quote = 0;
		else if (!quote && (*s == '"' || *s == '\''))
			quote = *s;
		else if (!quote && *s == '#') {
			*s = '\0';
			return;
		}
	}
}

static char *unquote(char *s)
{
	size_t n = strlen(s);

	if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
		s[n - 1] = '\0';
		return s + 1;
	}
	return s;
}

static int toml_header(char *s, char *table, size_t size, bool *array, const char *path, int line,
                       struct error *err)
{
	size_t n = strlen(s);

	*array = n >= 4 && s[1] == '[';
	if ((*array && strcmp(s + n - 2, "]]") != 0) || s[n - 1] != ']')
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s:%d: unterminated table header '%s'",
		                 path, line, s);
	s[n - (*array ? 2 : 1)] = '\0';
	snprintf(table, size, "%s", trim(s + (*array ? 2 : 1)));
	return 0;
}

static int toml_each(const char *text, const char *path, toml_fn fn, void *ctx, struct error *err)
{
	char *copy = xstrdup(text), *save = NULL, *raw;
	char table[256] = "";
	bool array = false;
	int line = 0, rc = 0;

	/* strtok_r would skip empty lines and lose the numbering */
	for (raw = copy; rc == 0 && raw != NULL; raw = save) {
		struct toml_item it = {.table = table};
		char *nl = strchr(raw, '\n'), *s, *eq;

		it.line = ++line;
		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		strip_comment(raw);
		s = trim(raw);
		if (*s == '[') {
			rc = toml_header(s, table, sizeof(table), &array, path, line, err);
			it.header = true;
		} else if ((eq = strchr(s, '=')) != NULL && eq != s) {
			*eq = '\0';
			it.key = unquote(trim(s));
			it.value = unquote(trim(eq + 1));
		} else {
			continue; /* blank, or the inside of a multi-line value */
		}
		it.array_table = array;
		if (rc == 0)
			rc = fn(&it, ctx, err);
	}
	free(copy);
	return rc;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* [dependencies], [build-dependencies], [dev-dependencies], their
 * [target.X.] and [workspace.] forms and [dependencies.NAME] tables. */
static bool is_dependency_table(const char *t)
{
	static const char *const kinds[] = {"dependencies", "build-dependencies",
	                                    "dev-dependencies"};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t n = strlen(kinds[i]);
		char dotted[64];

		snprintf(dotted, sizeof(dotted), ".%s", kinds[i]);
		if (strcmp(t, kinds[i]) == 0 || has_suffix(t, dotted) ||
		    (strncmp(t, kinds[i], n) == 0 && t[n] == '.'))
			return true;
	}
	return false;
}

static void add_bin(struct cargo_facts *c, const char *name)
{
	for (size_t i = 0; i < c->n_bins; i++)
		if (strcmp(c->bins[i], name) == 0)
			return;
	c->bins = xrealloc(c->bins, (c->n_bins + 1) * sizeof(*c->bins));
	c->bins[c->n_bins++] = xstrdup(name);
}

static void set_str(char **slot, const char *value)
{
	free(*slot);
	*slot = xstrdup(value);
}

static int cargo_item(const struct toml_item *it, void *ctx, struct error *err)
{
	struct cargo_facts *c = ctx;

	(void)err;
	if (strcmp(it->table, "workspace") == 0 || strncmp(it->table, "workspace.", 10) == 0)
		c->workspace = true;
	if (is_dependency_table(it->table) && it->key)
		c->has_dependencies = true;
	if (it->key == NULL)
		return 0;
	if (strcmp(it->table, "package") == 0 && strcmp(it->key, "name") == 0)
		set_str(&c->package, it->value);
	else if (strcmp(it->table, "package") == 0 && strcmp(it->key, "autobins") == 0)
		c->autobins = strcmp(it->value, "false") != 0;
	else if (it->array_table && strcmp(it->table, "bin") == 0 && strcmp(it->key, "name") == 0)
		add_bin(c, it->value);
	else if (strcmp(it->table, "profile.release") == 0 && strcmp(it->key, "lto") == 0)
		set_str(&c->lto, it->value);
	else if (strcmp(it->table, "profile.release") == 0 && strcmp(it->key, "codegen-units") == 0)
		set_str(&c->codegen_units, it->value);
	return 0;
}

int cargo_parse(const char *text, const char *path, struct cargo_facts *out, struct error *err)
{
	memset(out, 0, sizeof(*out));
	out->autobins = true;
	if (toml_each(text, path, cargo_item, out, err) < 0)
		return -1;
	if (out->package == NULL && !out->workspace)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "%s: neither a [package] with a name nor a [workspace]", path);
	return 0;
}

struct vendor_scan {
	char *replace_with; /* [source.crates-io] replace-with */
	char *directory;    /* [source.<replace_with>] directory */
	char *pass_table;
};

static int vendor_item(const struct toml_item *it, void *ctx, struct error *err)
{
	struct vendor_scan *v = ctx;

	(void)err;
	if (it->key == NULL)
		return 0;
	if (v->pass_table == NULL && strcmp(it->table, "source.crates-io") == 0 &&
	    strcmp(it->key, "replace-with") == 0)
		set_str(&v->replace_with, it->value);
	else if (v->pass_table && strcmp(it->table, v->pass_table) == 0 &&
	         strcmp(it->key, "directory") == 0)
		set_str(&v->directory, it->value);
	return 0;
}

char *cargo_config_vendor_dir(const char *text)
{
	struct vendor_scan v = {0};
	struct error ignored = {0};

	/* two passes: the replacement may be defined before crates-io names it */
	if (toml_each(text, ".cargo/config.toml", vendor_item, &v, &ignored) == 0 &&
	    v.replace_with) {
		v.pass_table = xasprintf("source.%s", v.replace_with);
		toml_each(text, ".cargo/config.toml", vendor_item, &v, &ignored);
	}
	free(v.replace_with);
	free(v.pass_table);
	return v.directory;
}

char *cmake_first_executable(const char *text)
{
	const char *p = text;

	while ((p = strcasestr(p, "add_executable")) != NULL) {
		const char *q = p + strlen("add_executable"), *end;

		p = q;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q != '(')
			continue;
		q++;
		while (isspace((unsigned char)*q))
			q++;
		end = q;
		while (*end && !isspace((unsigned char)*end) && *end != ')')
			end++;
		if (end > q && *q != '$')
			return strndup(q, (size_t)(end - q));
	}
	return NULL;
}

char *project_safe_name(const char *text)
{
	char *s = xstrdup(*text ? text : "project");

	for (char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '.' && *c != '_' && *c != '-')
			*c = '-';
	return s;
}

static bool exists_in(const char *dir, const char *name, mode_t type)
{
	char *path = xasprintf("%s/%s", dir, name);
	struct stat st;
	bool ok = stat(path, &st) == 0 && (st.st_mode & S_IFMT) == type;

	free(path);
	return ok;
}

/* cargo's autobins: src/main.rs is the package's binary, src/bin/NAME.rs
 * and src/bin/NAME/main.rs more. */
static void cargo_autobins(const char *dir, struct cargo_facts *c)
{
	char *bindir = xasprintf("%s/src/bin", dir);
	DIR *d;
	struct dirent *de;

	if (c->package && exists_in(dir, "src/main.rs", S_IFREG))
		add_bin(c, c->package);
	d = opendir(bindir);
	while (d && (de = readdir(d)) != NULL) {
		char *sub = xasprintf("%s/main.rs", de->d_name);

		if (de->d_name[0] != '.' && has_suffix(de->d_name, ".rs")) {
			char *stem = strndup(de->d_name, strlen(de->d_name) - 3);

			add_bin(c, stem);
			free(stem);
		} else if (de->d_name[0] != '.' && exists_in(bindir, sub, S_IFREG)) {
			add_bin(c, de->d_name);
		}
		free(sub);
	}
	if (d)
		closedir(d);
	free(bindir);
}

/* Reads DIR/NAME when it exists; 1 when it does not. */
static int read_optional(const char *dir, const char *name, char **text, struct error *err)
{
	char *path = xasprintf("%s/%s", dir, name);
	size_t len;
	int rc = 1;

	*text = NULL;
	if (access(path, F_OK) == 0)
		rc = read_file(path, text, &len, err) < 0 ? -1 : 0;
	else if (errno != ENOENT)
		rc = error_set(err, EXIT_RUNNER_ERROR, errno, "%s", path);
	free(path);
	return rc;
}

static void cargo_vendor(const char *dir, struct cargo_facts *c)
{
	static const char *const configs[] = {".cargo/config.toml", ".cargo/config"};
	struct error ignored = {0};

	c->vendor = c->has_dependencies ? VENDOR_MISSING : VENDOR_NOT_NEEDED;
	for (size_t i = 0; i < 2 && c->vendor_dir == NULL; i++) {
		char *text;

		if (read_optional(dir, configs[i], &text, &ignored) == 0) {
			c->vendor_dir = cargo_config_vendor_dir(text);
			free(text);
		}
	}
	if (c->vendor_dir) {
		char *abs = c->vendor_dir[0] == '/' ? xstrdup(c->vendor_dir)
		                                    : xasprintf("%s/%s", dir, c->vendor_dir);
		struct stat st;

		c->vendor = stat(abs, &st) == 0 && S_ISDIR(st.st_mode) ? VENDOR_CONFIGURED
		                                                       : VENDOR_DIR_MISSING;
		free(abs);
	}
}

static int detect_cargo(struct project *p, const char *text, struct error *err)
{
	char *path = xasprintf("%s/Cargo.toml", p->dir);
	struct cargo_facts *c = &p->cargo;
	int rc = cargo_parse(text, path, c, err);

	free(path);
	if (rc < 0)
		return -1;
	if (c->autobins)
		cargo_autobins(p->dir, c);
	c->has_lock = exists_in(p->dir, "Cargo.lock", S_IFREG);
	cargo_vendor(p->dir, c);
	p->kind = PROJECT_CARGO;
	p->name = project_safe_name(c->package ? c->package : strrchr(p->dir, '/') + 1);
	if (c->n_bins > 0) {
		p->binary = xstrdup(c->bins[0]);
	} else {
		p->binary = xstrdup(p->name);
		p->binary_guessed = true;
	}
	return 0;
}

/* C: CMake, make, or bare sources; the binary is named after the first
 * add_executable, else after the directory (the user checks it). */
static int detect_c(struct project *p, struct error *err)
{
	char *text = NULL;
	int rc = read_optional(p->dir, "CMakeLists.txt", &text, err);

	if (rc < 0)
		return -1;
	p->name = project_safe_name(strrchr(p->dir, '/') + 1);
	if (rc == 0) {
		p->kind = PROJECT_CMAKE;
		p->binary = cmake_first_executable(text);
		free(text);
	} else if (exists_in(p->dir, "Makefile", S_IFREG) ||
	           exists_in(p->dir, "makefile", S_IFREG) ||
	           exists_in(p->dir, "GNUmakefile", S_IFREG)) {
		p->kind = PROJECT_MAKE;
	} else {
		char *pattern = xasprintf("%s/src/*.c", p->dir);
		glob_t g;

		p->kind = PROJECT_C_SOURCES;
		p->c_sources = xstrdup("src/*.c");
		if (glob(pattern, 0, NULL, &g) != 0) {
			free(pattern);
			pattern = xasprintf("%s/*.c", p->dir);
			free(p->c_sources);
			p->c_sources = xstrdup("*.c");
			if (glob(pattern, 0, NULL, &g) != 0) {
				free(pattern);
				return error_set(
				    err, EXIT_RUNNER_ERROR, 0,
				    "%s: no Cargo.toml, CMakeLists.txt, Makefile or C "
				    "sources: init knows cargo, CMake, make and plain C projects",
				    p->dir);
			}
		}
		globfree(&g);
		free(pattern);
	}
	if (p->binary == NULL) {
		p->binary = xstrdup(p->name);
		p->binary_guessed = true;
	}
	return 0;
}

int project_detect(const char *dir, struct project *out, struct error *err)
{
	char *text = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	out->dir = realpath(dir, NULL);
	if (out->dir == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "init: %s", dir);
	if (strcmp(out->dir, "/") == 0) {
		project_free(out);
		return error_set(err, EXIT_RUNNER_ERROR, 0, "init: / is not a project directory");
	}
	rc = read_optional(out->dir, "Cargo.toml", &text, err);
	if (rc == 0)
		rc = detect_cargo(out, text, err);
	else if (rc == 1)
		rc = detect_c(out, err);
	free(text);
	if (rc < 0)
		project_free(out);
	return rc < 0 ? -1 : 0;
}

void project_free(struct project *p)
{
	struct cargo_facts *c = &p->cargo;

	strv_free_n(c->bins, c->n_bins);
	free(c->package);
	free(c->lto);
	free(c->codegen_units);
	free(c->vendor_dir);
	free(p->dir);
	free(p->name);
	free(p->binary);
	free(p->c_sources);
	memset(p, 0, sizeof(*p));
}
