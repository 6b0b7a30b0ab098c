/* doctor_check.c - see doctor_check.h */
#define _GNU_SOURCE
#include "cli/doctor_check.h"
#include "base/bytes_json.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "host/hosttune.h"

static char *read_trim(const char *path)
{
	struct error ignored;
	char *v = NULL;

	return hosttune_read_value(path, &v, &ignored) == 0 ? v : NULL;
}

char *doctor_read_under(const char *root, const char *rel)
{
	char *path = xasprintf("%s/%s", root, rel);
	char *v = read_trim(path);

	free(path);
	return v;
}

json_t *doctor_int_or_null(const char *text, long long *out)
{
	char *end;
	long long v;

	if (text == NULL || text[0] == '\0')
		return json_null();
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0')
		return json_null();
	if (out)
		*out = v;
	return json_integer(v);
}

char *doctor_errno_text(int e)
{
	const char *name = strerrorname_np(e);

	return xasprintf("%s (%s)", name ? name : "unknown errno", strerror(e));
}

bool doctor_has_word(const char *text, const char *word)
{
	size_t len = strlen(word);

	if (text == NULL)
		return false;
	for (const char *p = text; *p;) {
		size_t n;

		while (*p && isspace((unsigned char)*p))
			p++;
		n = strcspn(p, " \t\n");
		if (n == len && strncmp(p, word, len) == 0)
			return true;
		p += n;
	}
	return false;
}

json_t *doctor_words_json(const char *text)
{
	json_t *arr = json_array();
	char *copy = xstrdup(text ? text : ""), *save = NULL;

	for (char *w = strtok_r(copy, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save))
		json_array_append_new(arr, json_string(w));
	free(copy);
	return arr;
}

/* Takes ownership of `detail`. */
void doctor_add_check(json_t *checks, const char *name, const char *status, char *detail,
                      const char *cost, const char *fix)
{
	json_array_append_new(checks,
	                      json_pack("{s:s, s:s, s:s, s:o, s:o}", "name", name, "status", status,
	                                "detail", detail, "cost", json_string_or_null(cost), "fix",
	                                json_string_or_null(fix)));
	free(detail);
}
