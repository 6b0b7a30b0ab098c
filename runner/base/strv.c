/* strv.c - see strv.h */
#define _GNU_SOURCE
#include "base/strv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

void strv_push(struct strv *s, const char *item)
{
	s->v = strv_append_copy_n(s->v, &s->n, item);
}

void strv_pushf(struct strv *s, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	va_end(ap);
	strv_push(s, text);
	free(text);
}

void strv_free(struct strv *s)
{
	strv_free_n(s->v, s->n);
	s->v = NULL;
	s->n = 0;
}

char **strv_steal(struct strv *s)
{
	char **v = s->v ? s->v : xcalloc(1, sizeof(char *));

	s->v = NULL;
	s->n = 0;
	return v;
}

const char *strv_env_get(const struct strv *s, const char *name)
{
	size_t len = strlen(name);
	const char *found = NULL;

	for (size_t i = 0; i < s->n; i++)
		if (strncmp(s->v[i], name, len) == 0 && s->v[i][len] == '=')
			found = s->v[i] + len + 1;
	return found;
}

size_t strv_length(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

char **strv_copy(char *const *v)
{
	size_t n = strv_length(v);
	char **out = xcalloc(n + 1, sizeof(char *));

	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

char **strv_copy_n(char *const *v, size_t n)
{
	char **out = n ? xcalloc(n, sizeof(char *)) : NULL;

	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

char **strv_append_n(char **v, size_t *n, char *item)
{
	v = xrealloc(v, (*n + 2) * sizeof(char *));
	v[(*n)++] = item;
	v[*n] = NULL;
	return v;
}

void strv_free_array(char **v)
{
	strv_free_n(v, strv_length(v));
}

char **strv_append_copy_n(char **v, size_t *n, const char *s)
{
	return strv_append_n(v, n, xstrdup(s));
}

void strv_free_n(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
