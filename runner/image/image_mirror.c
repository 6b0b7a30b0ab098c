/* image_mirror.c - the Debian mirror this machine's apt uses: one-line
 * sources.list entries and deb822 .sources files (image.h) */
#define _GNU_SOURCE
#include "image/image.h"

#include <fnmatch.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "image/image_proc.h"

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

char *image_mirror_url(const char *uri, size_t len)
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
			return image_mirror_url(uri, uri_len);
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
		found = image_mirror_url(u, strcspn(u, " \t"));
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
		strv_free_n(names, n);
	}
	free(path);
	if (*url == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "no apt source in %s lists suite %s with component main over "
		                 "http(s); pass --mirror URL",
		                 apt_dir, suite);
	return 0;
}
