/* image_build.c - image definitions and reproducible debootstrap builds,
 * and `pgo-sandbox image`: see image.h */
#define _GNU_SOURCE
#include "image/image.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ini.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "artifacts/archive.h"
#include "base/json_file.h"
#include "sandbox/path_resolve.h"
#include "image/tool_cache.h"

#include "image/image_proc.h"

#define WALK_MAX_DEPTH 256
#define SNAPSHOT_URL_FMT "https://snapshot.debian.org/archive/debian/%s"
#define DEBOOTSTRAP "/usr/sbin/debootstrap"
#define WGET "/usr/bin/wget"
#define APT_GET "/usr/bin/apt-get"
#define MIRROR_CHECK_TIMEOUT "20"
#define DEFAULT_OUT_DIR "build/images"

/* ------------------------------------------------------------------ */
/* image definitions                                                   */
/* ------------------------------------------------------------------ */

int image_snapshot_epoch(const char *snapshot, int64_t *out, struct error *err)
{
	static const char shape[] = "DDDDDDDDTDDDDDDZ";
	struct tm tm = {0}, back;
	time_t t;

	for (size_t i = 0; i < sizeof(shape); i++) {
		bool ok = shape[i] == 'D' ? isdigit((unsigned char)snapshot[i]) != 0
		                          : snapshot[i] == shape[i];
		if (!ok)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "snapshot '%s' is not of the form 20261101T000000Z",
			                 snapshot);
	}
	if (sscanf(snapshot, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "snapshot '%s' cannot be read",
		                 snapshot);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	back = tm;
	t = timegm(&tm);
	/* timegm normalises 20260231 into March: a changed field means invalid */
	if (t == (time_t)-1 || tm.tm_mday != back.tm_mday || tm.tm_mon != back.tm_mon ||
	    tm.tm_hour != back.tm_hour || tm.tm_min != back.tm_min || tm.tm_sec != back.tm_sec ||
	    t < 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "snapshot '%s' is not a valid date",
		                 snapshot);
	*out = (int64_t)t;
	return 0;
}

struct def_parse {
	struct image_definition *def;
	struct error *err;
	bool failed;
};

static int def_fail(struct def_parse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int def_fail(struct def_parse *p, const char *fmt, ...)
{
	char msg[ERROR_MSG_MAX];
	va_list ap;

	if (!p->failed) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		error_set(p->err, EXIT_RUNNER_ERROR, 0, "%s: %s", p->def->path, msg);
		p->failed = true;
	}
	return 0; /* tells inih to record an error */
}

static int def_words(struct def_parse *p, const char *key, const char *value, char ***v, size_t *n)
{
	char *copy = xstrdup(value), *save = NULL;

	for (char *w = strtok_r(copy, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
		if (!image_is_debian_token(w)) {
			def_fail(p, "%s: '%s' is not a Debian name (a-z, 0-9, +, -, .)", key, w);
			free(copy);
			return 0;
		}
		*v = image_strv_push(*v, n, w);
	}
	free(copy);
	return 1;
}

static int def_entry(void *user, const char *section, const char *name, const char *value)
{
	struct def_parse *p = user;
	struct image_definition *d = p->def;
	char **slot = NULL;

	if (strcmp(section, "image") != 0)
		return def_fail(p, "unknown section [%s] (only [image])", section);
	if (strcmp(name, "packages") == 0)
		return def_words(p, name, value, &d->packages, &d->n_packages);
	if (strcmp(name, "components") == 0)
		return def_words(p, name, value, &d->components, &d->n_components);
	if (strcmp(name, "suite") == 0)
		slot = &d->suite;
	else if (strcmp(name, "variant") == 0)
		slot = &d->variant;
	else if (strcmp(name, "snapshot") == 0)
		slot = &d->snapshot;
	else if (strcmp(name, "arch") == 0)
		slot = &d->arch;
	else
		return def_fail(p,
		                "unknown key '%s' (suite, variant, snapshot, arch, components, "
		                "packages)",
		                name);
	if (*slot != NULL)
		return def_fail(p, "%s is given twice", name);
	*slot = xstrdup(value);
	return 1;
}

static int def_name(const char *path, struct image_definition *d, struct error *err)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base) - strlen(".ini");
	if (base[0] == '.' || len == 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: not an image definition name",
		                 path);
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)base[i]) && !strchr("._-", base[i]))
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "%s: image names use A-Z, a-z, 0-9, '.', '_', '-'", path);
	d->name = xasprintf("%.*s", (int)len, base);
	return 0;
}

static int def_validate(struct image_definition *d, struct error *err)
{
	static const char *const variants[] = {"minbase", "buildd", "default"};
	bool known = false;

	if (d->suite == NULL || d->snapshot == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: [image] needs suite and snapshot",
		                 d->path);
	if (!image_is_debian_token(d->suite))
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: suite '%s' is not a suite name",
		                 d->path, d->suite);
	if (d->variant == NULL)
		d->variant = xstrdup("minbase");
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
		known |= strcmp(d->variant, variants[i]) == 0;
	if (!known)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "%s: variant '%s' (minbase, buildd or default)", d->path,
		                 d->variant);
	if (d->arch == NULL)
		d->arch = xstrdup("amd64");
	if (!image_is_debian_token(d->arch))
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: arch '%s' is not an architecture",
		                 d->path, d->arch);
	if (d->n_components == 0)
		d->components = image_strv_push(d->components, &d->n_components, "main");
	if (image_snapshot_epoch(d->snapshot, &d->snapshot_epoch, err) < 0)
		return error_prefix(err, "%s", d->path);
	return 0;
}

int image_definition_load(const char *path, struct image_definition *def, struct error *err)
{
	struct def_parse p = {.def = def, .err = err};
	int rc;

	memset(def, 0, sizeof(*def));
	def->path = image_has_suffix(path, ".ini") ? xstrdup(path) : xasprintf("%s.ini", path);
	if (def_name(def->path, def, err) < 0)
		goto fail;
	errno = 0;
	rc = ini_parse(def->path, def_entry, &p);
	if (rc < 0) {
		error_set(err, EXIT_RUNNER_ERROR, errno, "reading image definition %s", def->path);
		goto fail;
	}
	if (p.failed)
		goto fail;
	if (rc > 0) {
		error_set(err, EXIT_RUNNER_ERROR, 0, "%s:%d: cannot parse this line", def->path,
		          rc);
		goto fail;
	}
	if (def_validate(def, err) < 0)
		goto fail;
	return 0;
fail:
	image_definition_free(def);
	return -1;
}

void image_definition_free(struct image_definition *def)
{
	free(def->name);
	free(def->path);
	free(def->suite);
	free(def->variant);
	free(def->snapshot);
	free(def->arch);
	image_strv_free(def->components, def->n_components);
	image_strv_free(def->packages, def->n_packages);
	memset(def, 0, sizeof(*def));
}

static json_t *strv_json(char **v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

json_t *image_definition_json(const struct image_definition *def)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:o, s:o}", "suite", def->suite, "variant",
	                 def->variant, "snapshot", def->snapshot, "snapshot_epoch",
	                 (json_int_t)def->snapshot_epoch, "arch", def->arch, "components",
	                 strv_json(def->components, def->n_components), "packages",
	                 strv_json(def->packages, def->n_packages));
}

/* ------------------------------------------------------------------ */
/* the machine's apt mirror                                            */
/* ------------------------------------------------------------------ */

static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; p && *p;) {
		p += strspn(p, " \t");
		if (strncmp(p, word, n) == 0 && (p[n] == '\0' || p[n] == ' ' || p[n] == '\t'))
			return true;
		p += strcspn(p, " \t");
	}
	return false;
}

static char *usable_uri(const char *uri, size_t len)
{
	char *u;

	if (strncmp(uri, "http://", 7) != 0 && strncmp(uri, "https://", 8) != 0)
		return NULL;
	u = xasprintf("%.*s", (int)len, uri);
	while (strlen(u) > 8 && u[strlen(u) - 1] == '/')
		u[strlen(u) - 1] = '\0';
	return u;
}

/* One-line format: deb [options] URI SUITE COMPONENT... */
static char *scan_one_line(char *text, const char *suite)
{
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p = line + strspn(line, " \t"), *uri, *rest;
		size_t uri_len;

		if (strncmp(p, "deb", 3) != 0 || (p[3] != ' ' && p[3] != '\t'))
			continue;
		p += 3 + strspn(p + 3, " \t");
		if (*p == '[') {
			p = strchr(p, ']');
			if (p == NULL)
				continue;
			p += 1 + strspn(p + 1, " \t");
		}
		uri = p;
		uri_len = strcspn(uri, " \t");
		rest = uri + uri_len;
		rest += strspn(rest, " \t");
		if (strncmp(rest, suite, strlen(suite)) != 0 ||
		    (rest[strlen(suite)] != ' ' && rest[strlen(suite)] != '\t'))
			continue;
		if (has_word(rest + strlen(suite), "main"))
			return usable_uri(uri, uri_len);
	}
	return NULL;
}

struct deb822 {
	char *types, *uris, *suites, *components, *enabled;
	char **last;
};

static void deb822_reset(struct deb822 *s)
{
	free(s->types);
	free(s->uris);
	free(s->suites);
	free(s->components);
	free(s->enabled);
	memset(s, 0, sizeof(*s));
}

static char *deb822_match(struct deb822 *s, const char *suite)
{
	char *found = NULL;

	if (s->types && has_word(s->types, "deb") && s->uris && s->suites &&
	    has_word(s->suites, suite) && s->components && has_word(s->components, "main") &&
	    !(s->enabled && strcasecmp(s->enabled, "no") == 0)) {
		const char *u = s->uris + strspn(s->uris, " \t");
		found = usable_uri(u, strcspn(u, " \t"));
	}
	deb822_reset(s);
	return found;
}

static void deb822_field(struct deb822 *s, const char *line)
{
	static const char *const names[] = {
	    "Types:", "URIs:", "Suites:", "Components:", "Enabled:"};
	char **slots[] = {&s->types, &s->uris, &s->suites, &s->components, &s->enabled};

	s->last = NULL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i]);
		if (strncasecmp(line, names[i], n) == 0) {
			free(*slots[i]);
			*slots[i] = xstrdup(line + n + strspn(line + n, " \t"));
			s->last = slots[i];
		}
	}
}

static char *scan_deb822(char *text, const char *suite)
{
	struct deb822 s = {0};
	char *found = NULL, *line, *next;

	for (line = text; line != NULL && found == NULL; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (line[strspn(line, " \t")] == '\0') {
			found = deb822_match(&s, suite);
		} else if (line[0] == '#') {
			continue;
		} else if ((line[0] == ' ' || line[0] == '\t') && s.last && *s.last) {
			char *joined = xasprintf("%s %s", *s.last, line + strspn(line, " \t"));
			free(*s.last);
			*s.last = joined;
		} else {
			deb822_field(&s, line);
		}
	}
	if (found == NULL)
		found = deb822_match(&s, suite);
	deb822_reset(&s);
	return found;
}

static char *scan_apt_file(const char *path, const char *suite)
{
	char *text = NULL, *found;
	size_t len;
	struct error ignored = {0};

	if (read_file(path, &text, &len, &ignored) < 0)
		return NULL;
	found = image_has_suffix(path, ".sources") ? scan_deb822(text, suite)
	                                           : scan_one_line(text, suite);
	free(text);
	return found;
}

int image_apt_mirror(const char *apt_dir, const char *suite, char **url, struct error *err)
{
	char *path = xasprintf("%s/sources.list", apt_dir);
	char **names = NULL;
	size_t n = 0;
	struct error ignored = {0};

	*url = scan_apt_file(path, suite);
	free(path);
	path = xasprintf("%s/sources.list.d", apt_dir);
	if (*url == NULL && image_list_sorted(path, &names, &n, &ignored) == 0) {
		for (size_t i = 0; *url == NULL && i < n; i++) {
			char *file;
			if (!image_has_suffix(names[i], ".list") &&
			    !image_has_suffix(names[i], ".sources"))
				continue;
			file = xasprintf("%s/%s", path, names[i]);
			*url = scan_apt_file(file, suite);
			free(file);
		}
		image_strv_free(names, n);
	}
	free(path);
	if (*url == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "no apt source in %s lists suite %s with component main over "
		                 "http(s); pass --mirror URL",
		                 apt_dir, suite);
	return 0;
}

/* ------------------------------------------------------------------ */
/* cleaning a fresh rootfs                                             */
/* ------------------------------------------------------------------ */

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
	image_strv_free(names, n);
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
	image_strv_free(names, n);
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

/* ------------------------------------------------------------------ */
/* image build                                                         */
/* ------------------------------------------------------------------ */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_mount_point(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* Mount points at or below dir, in mountinfo order (parents first). */
static int mounts_below(const char *dir, char ***out, size_t *n, struct error *err)
{
	char *text = NULL, *save = NULL;
	size_t len, dlen = strlen(dir);

	*out = NULL;
	*n = 0;
	if (read_file("/proc/self/mountinfo", &text, &len, err) < 0)
		return -1;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *field = line;

		for (int i = 0; i < 4 && field; i++) {
			field = strchr(field, ' ');
			if (field)
				field++;
		}
		if (field == NULL)
			continue;
		field[strcspn(field, " ")] = '\0';
		unescape_mount_point(field);
		if (strncmp(field, dir, dlen) == 0 && (field[dlen] == '/' || field[dlen] == '\0'))
			*out = image_strv_push(*out, n, field);
	}
	free(text);
	return 0;
}

/* debootstrap unmounts what it mounted, unless it was killed: never walk
 * into (let alone delete) a /proc or /sys still mounted inside the tree. */
static int unmount_below(const char *dir, struct error *err)
{
	char **mps;
	size_t n;

	if (mounts_below(dir, &mps, &n, err) < 0)
		return -1;
	for (size_t i = n; i > 0; i--)
		if (umount2(mps[i - 1], MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
			fprintf(stderr, "pgo-sandbox: warning: unmounting %s: %s\n", mps[i - 1],
			        strerror(errno));
	image_strv_free(mps, n);
	if (mounts_below(dir, &mps, &n, err) < 0)
		return -1;
	image_strv_free(mps, n);
	if (n > 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s still has %zu mounts below it", dir,
		                 n);
	return 0;
}

struct build {
	struct image_definition def;
	char *out_dir;   /* absolute */
	char *cache_dir; /* absolute */
	char *rootfs;    /* absolute, below out_dir */
	char *mirror;
	char *snapshot_url;
	bool snapshot_honoured;
	char **env;
	json_t *packages;
	json_t *cleaned;
	char *tarball;
	char digest[DIGEST_STR_MAX];
};

static void build_free(struct build *b)
{
	image_definition_free(&b->def);
	free(b->out_dir);
	free(b->cache_dir);
	free(b->rootfs);
	free(b->mirror);
	free(b->snapshot_url);
	if (b->env)
		image_env_free(b->env);
	json_decref(b->packages);
	json_decref(b->cleaned);
	free(b->tarball);
}

static int absolute_dir(const char *path, char **out, struct error *err)
{
	if (mkdir_p(path, 0755, err) < 0)
		return -1;
	*out = realpath(path, NULL);
	if (*out == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "resolving %s", path);
	return 0;
}

static int choose_mirror(struct build *b, const char *mirror, struct error *err)
{
	b->snapshot_url = xasprintf(SNAPSHOT_URL_FMT, b->def.snapshot);
	if (mirror == NULL) {
		b->mirror = xstrdup(b->snapshot_url);
	} else if (strcmp(mirror, "apt") == 0) {
		if (image_apt_mirror("/etc/apt", b->def.suite, &b->mirror, err) < 0)
			return -1;
	} else {
		b->mirror = usable_uri(mirror, strlen(mirror));
		if (b->mirror == NULL || strpbrk(b->mirror, " \t\n,") != NULL)
			return error_set(
			    err, EXIT_RUNNER_ERROR, 0,
			    "--mirror '%s': expected an http:// or https:// URL or 'apt'", mirror);
	}
	b->snapshot_honoured = strcmp(b->mirror, b->snapshot_url) == 0;
	return 0;
}

static int ensure_debootstrap(struct build *b, struct error *err)
{
	char *update[] = {"apt-get", "update", "-qq", NULL};
	char *install[] = {"apt-get",     "install", "-y", "-qq", "--no-install-recommends",
	                   "debootstrap", NULL};

	if (access(DEBOOTSTRAP, X_OK) == 0)
		return 0;
	if (access(APT_GET, X_OK) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "%s is missing and there is no apt-get to install it: install "
		                 "debootstrap",
		                 DEBOOTSTRAP);
	fprintf(stderr, "pgo-sandbox: installing the Debian package debootstrap\n");
	if (image_run_tool(APT_GET, update, b->env, err) != 0 ||
	    image_run_tool(APT_GET, install, b->env, err) != 0 || access(DEBOOTSTRAP, X_OK) < 0) {
		if (err->msg[0] == '\0' || err->exit_code == 0)
			error_set(err, EXIT_RUNNER_ERROR, 0,
			          "apt-get could not install debootstrap");
		return error_prefix(err, "installing debootstrap");
	}
	return 0;
}

static const char *wget_meaning(int code)
{
	switch (code) {
	case 4: return "network failure";
	case 5: return "TLS failure";
	case 8: return "the server answered with an error";
	default: return "failed";
	}
}

static int check_mirror(struct build *b, struct error *err)
{
	char *url = xasprintf("%s/dists/%s/Release", b->mirror, b->def.suite);
	char *argv[] = {"wget", "-q", "--spider", "-T", MIRROR_CHECK_TIMEOUT, "-t", "1", url, NULL};
	int rc;

	if (access(WGET, X_OK) < 0) {
		free(url);
		return error_set(err, EXIT_RUNNER_ERROR, errno, "%s (debootstrap needs it)", WGET);
	}
	rc = image_run_tool(WGET, argv, b->env, err);
	if (rc > 0 && b->snapshot_honoured)
		error_set(
		    err, EXIT_RUNNER_ERROR, 0,
		    "the Debian snapshot %s is unreachable (%s: wget exit %d, %s); pass "
		    "--mirror URL to build from another Debian mirror, or --mirror apt for the "
		    "one this machine's apt uses: the image then records that the snapshot "
		    "pin was not honoured",
		    b->def.snapshot, url, rc, wget_meaning(rc));
	else if (rc > 0)
		error_set(err, EXIT_RUNNER_ERROR, 0,
		          "mirror %s is unreachable (%s: wget exit %d, %s)", b->mirror, url, rc,
		          wget_meaning(rc));
	free(url);
	return rc == 0 ? 0 : -1;
}

static int run_debootstrap(struct build *b, struct error *err)
{
	char **argv = NULL;
	size_t n = 0;
	char *arg;
	int rc;

	argv = image_strv_push(argv, &n, "debootstrap");
	if (strcmp(b->def.variant, "default") != 0) {
		arg = xasprintf("--variant=%s", b->def.variant);
		argv = image_strv_push(argv, &n, arg);
		free(arg);
	}
	arg = xasprintf("--arch=%s", b->def.arch);
	argv = image_strv_push(argv, &n, arg);
	free(arg);
	for (size_t i = 0; i < 2; i++) {
		char **words = i == 0 ? b->def.components : b->def.packages;
		size_t count = i == 0 ? b->def.n_components : b->def.n_packages;
		size_t len = 0;

		if (count == 0)
			continue;
		arg = xstrdup(i == 0 ? "--components=" : "--include=");
		for (size_t j = 0; j < count; j++) {
			len = strlen(arg);
			arg = xrealloc(arg, len + strlen(words[j]) + 2);
			sprintf(arg + len, "%s%s", j ? "," : "", words[j]);
		}
		argv = image_strv_push(argv, &n, arg);
		free(arg);
	}
	arg = xasprintf("--cache-dir=%s", b->cache_dir);
	argv = image_strv_push(argv, &n, arg);
	free(arg);
	argv = image_strv_push(argv, &n, b->def.suite);
	argv = image_strv_push(argv, &n, b->rootfs);
	argv = image_strv_push(argv, &n, b->mirror);
	rc = image_run_tool(DEBOOTSTRAP, argv, b->env, err);
	image_strv_free(argv, n);
	if (rc > 0)
		return error_set(
		    err, EXIT_RUNNER_ERROR, 0,
		    "debootstrap failed (exit %d): its log is above and in %s/debootstrap/"
		    "debootstrap.log",
		    rc, b->rootfs);
	return rc;
}

static json_t *host_package_version(const char *name)
{
	json_t *all = NULL, *v = NULL;
	struct error ignored = {0};

	if (image_dpkg_packages("/var/lib/dpkg/status", &all, &ignored) == 0) {
		v = json_object_get(all, name);
		v = v ? json_incref(v) : NULL;
		json_decref(all);
	}
	return v ? v : json_null();
}

static int write_sidecar(struct build *b, struct error *err)
{
	char ini_digest[DIGEST_STR_MAX];
	char *path = xasprintf("%s/%s.json", b->out_dir, b->def.name);
	char *debian_path = xasprintf("%s/etc/debian_version", b->rootfs);
	char *debian = image_read_trimmed(debian_path);
	json_t *doc;
	int rc;

	free(debian_path);
	if (digest_file_sha256(b->def.path, ini_digest, err) < 0) {
		free(path);
		free(debian);
		return -1;
	}
	doc = json_pack("{s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:O, s:O, s:o, s:s}", "name",
	                b->def.name, "definition", image_definition_json(&b->def),
	                "definition_sha256", ini_digest, "tarball", strrchr(b->tarball, '/') + 1,
	                "digest", b->digest, "mirror", b->mirror, "snapshot_url", b->snapshot_url,
	                "snapshot_honoured", b->snapshot_honoured, "source_date_epoch",
	                (json_int_t)b->def.snapshot_epoch, "packages", b->packages, "cleaned",
	                b->cleaned, "debootstrap_version", host_package_version("debootstrap"),
	                "pgo_sandbox_version", PGO_VERSION);
	json_object_set_new(doc, "debian_version", debian ? json_string(debian) : json_null());
	rc = json_file_write(path, doc, JSON_SORT_KEYS | JSON_INDENT(2), 0644, err);
	json_decref(doc);
	free(debian);
	free(path);
	return rc;
}

static int pack_rootfs(struct build *b, struct error *err)
{
	struct pack_options o;
	char *status = xasprintf("%s/var/lib/dpkg/status", b->rootfs);
	int rc = image_dpkg_packages(status, &b->packages, err);

	free(status);
	if (rc < 0)
		return -1;
	b->cleaned = json_array();
	if (image_clean_rootfs(b->rootfs, b->cleaned, err) < 0)
		return error_prefix(err, "cleaning %s", b->rootfs);
	pack_options_default(&o);
	o.mtime = b->def.snapshot_epoch;
	o.compression = ARCHIVE_COMP_ZSTD;
	b->tarball = xasprintf("%s/%s.tar.zst", b->out_dir, b->def.name);
	fprintf(stderr, "pgo-sandbox: image %s: packing %s\n", b->def.name, b->tarball);
	if (archive_pack_dir(b->rootfs, b->tarball, &o, err) < 0 ||
	    digest_file_sha256(b->tarball, b->digest, err) < 0)
		return -1;
	return write_sidecar(b, err);
}

static int build_prepare(struct build *b, const struct image_build_request *o, struct error *err)
{
	if (image_definition_load(o->definition, &b->def, err) < 0)
		return -1;
	if (geteuid() != 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "image build needs root: debootstrap creates device nodes, sets "
		                 "file owners and chroots into the new tree (run it with sudo, or "
		                 "in a root CI container)");
	b->env = image_tool_env(b->def.snapshot_epoch);
	return choose_mirror(b, o->mirror, err);
}

/* Made only once the mirror answered, so a refused build leaves nothing. */
static int build_dirs(struct build *b, const struct image_build_request *o, struct error *err)
{
	char *path;
	int rc;

	if (absolute_dir(o->out_dir ? o->out_dir : DEFAULT_OUT_DIR, &b->out_dir, err) < 0)
		return -1;
	path = o->cache_dir ? xstrdup(o->cache_dir) : xasprintf("%s/debootstrap-cache", b->out_dir);
	rc = absolute_dir(path, &b->cache_dir, err);
	free(path);
	if (rc < 0)
		return -1;
	path = xasprintf("%s/.%s.rootfs.%d", b->out_dir, b->def.name, (int)getpid());
	if (mkdir(path, 0755) < 0) {
		error_set(err, EXIT_RUNNER_ERROR, errno, "creating %s", path);
		free(path);
		return -1;
	}
	b->rootfs = path;
	return 0;
}

int image_build(const struct image_build_request *o, struct error *err)
{
	struct build b = {0};
	struct error cleanup = {0};
	int rc = build_prepare(&b, o, err);

	if (rc == 0)
		rc = ensure_debootstrap(&b, err);
	if (rc == 0)
		rc = check_mirror(&b, err);
	if (rc == 0)
		rc = build_dirs(&b, o, err);
	if (rc == 0) {
		fprintf(stderr, "pgo-sandbox: image %s: debootstrap %s %s from %s%s\n", b.def.name,
		        b.def.suite, b.def.variant, b.mirror,
		        b.snapshot_honoured ? ""
		                            : " (not the snapshot: recorded in the image JSON)");
		rc = run_debootstrap(&b, err);
	}
	if (rc == 0)
		rc = unmount_below(b.rootfs, err);
	if (rc == 0)
		rc = pack_rootfs(&b, err);
	if (rc == 0)
		printf("%s  %s\n", b.digest, b.tarball);
	if (b.rootfs &&
	    (unmount_below(b.rootfs, &cleanup) < 0 || remove_tree(b.rootfs, &cleanup) < 0))
		fprintf(stderr, "pgo-sandbox: warning: %s\n", cleanup.msg);
	build_free(&b);
	return rc;
}

/* ------------------------------------------------------------------ */
/* command line                                                        */
/* ------------------------------------------------------------------ */
