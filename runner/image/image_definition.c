/* image_definition.c - image definitions (images/NAME.ini): loading, checking,
 * the snapshot date and the JSON recorded with a build (image.h) */
#define _GNU_SOURCE
#include "image/image.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "image/image_proc.h"

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

static int def_words(struct def_parse *p, const char *key, const char *value, struct strv *v)
{
	char *copy = xstrdup(value), *save = NULL;

	for (char *w = strtok_r(copy, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
		if (!image_is_debian_token(w)) {
			def_fail(p, "%s: '%s' is not a Debian name (a-z, 0-9, +, -, .)", key, w);
			free(copy);
			return 0;
		}
		strv_push(v, w);
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
		return def_words(p, name, value, &d->packages);
	if (strcmp(name, "components") == 0)
		return def_words(p, name, value, &d->components);
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
	if (d->components.n == 0)
		strv_push(&d->components, "main");
	if (image_snapshot_epoch(d->snapshot, &d->snapshot_epoch, err) < 0)
		return error_prefix(err, "%s", d->path);
	return 0;
}

/* Fills *def; image_definition_load frees it on failure. */
static int definition_read(const char *path, struct image_definition *def, struct error *err)
{
	struct def_parse p = {.def = def, .err = err};
	int rc;

	def->path = image_has_suffix(path, ".ini") ? xstrdup(path) : xasprintf("%s.ini", path);
	if (def_name(def->path, def, err) < 0)
		return -1;
	errno = 0;
	rc = ini_parse(def->path, def_entry, &p);
	if (rc < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "reading image definition %s",
		                 def->path);
	if (p.failed)
		return -1;
	if (rc > 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s:%d: cannot parse this line",
		                 def->path, rc);
	if (def_validate(def, err) < 0)
		return -1;
	return 0;
}

int image_definition_load(const char *path, struct image_definition *def, struct error *err)
{
	memset(def, 0, sizeof(*def));
	if (definition_read(path, def, err) < 0) {
		image_definition_free(def);
		return -1;
	}
	return 0;
}

void image_definition_free(struct image_definition *def)
{
	free(def->name);
	free(def->path);
	free(def->suite);
	free(def->variant);
	free(def->snapshot);
	free(def->arch);
	strv_free(&def->components);
	strv_free(&def->packages);
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
	                 strv_json(def->components.v, def->components.n), "packages",
	                 strv_json(def->packages.v, def->packages.n));
}
