/* shellwords.c - see shellwords.h */
#define _GNU_SOURCE
#include "base/shellwords.h"
#include "base/cleanup.h"
#include "base/strv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct wordbuf {
	char *text;
	size_t len, cap;
};

static void buf_push(struct wordbuf *b, char c)
{
	if (b->len + 2 > b->cap) {
		b->cap = b->cap ? 2 * b->cap : 32;
		b->text = xrealloc(b->text, b->cap);
	}
	b->text[b->len++] = c;
	b->text[b->len] = '\0';
}

/* "" and '' still make a word: give it an (empty) buffer. */
static void buf_ensure(struct wordbuf *b)
{
	if (b->text == NULL) {
		b->cap = 32;
		b->text = xcalloc(1, b->cap);
	}
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

static void push_word(char ***words, size_t *n, struct wordbuf *b)
{
	*words = strv_append_n(*words, n, b->text ? b->text : xstrdup(""));
	b->text = NULL;
	b->len = b->cap = 0;
}

/* One double-quoted section starting after the opening quote; returns the
 * position after the closing quote or NULL when it is missing. */
static const char *double_quoted(const char *p, struct wordbuf *b)
{
	for (; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1] && strchr("$`\"\\\n", p[1])) {
			p++;
			if (*p != '\n')
				buf_push(b, *p);
			continue;
		}
		buf_push(b, *p);
	}
	return *p == '"' ? p + 1 : NULL;
}

static const char *single_quoted(const char *p, struct wordbuf *b)
{
	for (; *p && *p != '\''; p++)
		buf_push(b, *p);
	return *p == '\'' ? p + 1 : NULL;
}

static void wordbuf_freep(struct wordbuf *b)
{
	free(b->text);
}

/* Nothing is handed out on an error: the words so far go too. */
static int split_error(char ***words, const char *text, const char *why, struct error *err)
{
	shellwords_free(*words);
	*words = NULL;
	return error_set(err, EXIT_RUNNER_ERROR, 0, "command '%s': %s", text, why);
}

int shellwords_split(const char *text, char ***words, size_t *n, struct error *err)
{
	_cleanup_(wordbuf_freep) struct wordbuf b = {0};
	const char *p = text;
	bool in_word = false;

	*words = xcalloc(1, sizeof(char *));
	*n = 0;
	while (*p) {
		if (is_blank(*p)) {
			if (in_word)
				push_word(words, n, &b);
			in_word = false;
			p++;
			continue;
		}
		if (*p == '\\' && p[1] == '\n') {
			p += 2;
			continue;
		}
		in_word = true;
		if (*p == '\\') {
			if (p[1] == '\0')
				return split_error(words, text, "trailing backslash", err);
			buf_push(&b, p[1]);
			p += 2;
		} else if (*p == '\'' || *p == '"') {
			const char *next =
			    *p == '\'' ? single_quoted(p + 1, &b) : double_quoted(p + 1, &b);
			if (next == NULL)
				return split_error(words, text, "unterminated quote", err);
			buf_ensure(&b);
			p = next;
		} else {
			buf_push(&b, *p++);
		}
	}
	if (in_word)
		push_word(words, n, &b);
	if (*n == 0)
		return split_error(words, text, "no words", err);
	return 0;
}

void shellwords_free(char **words)
{
	for (size_t i = 0; words && words[i]; i++)
		free(words[i]);
	free(words);
}

static bool needs_quotes(const char *w)
{
	if (*w == '\0')
		return true;
	for (; *w; w++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		            "0123456789_-+=/.,:@%^",
		            *w))
			return true;
	return false;
}

char *shellwords_quote(const char *word)
{
	return needs_quotes(word) ? shellwords_quote_always(word) : xstrdup(word);
}

char *shellwords_quote_always(const char *word)
{
	struct wordbuf b = {0};

	buf_push(&b, '\'');
	for (const char *p = word; *p; p++) {
		if (*p == '\'') {
			buf_push(&b, '\'');
			buf_push(&b, '\\');
			buf_push(&b, '\'');
		}
		buf_push(&b, *p);
	}
	buf_push(&b, '\'');
	return b.text;
}

char *shellwords_join(char *const *words)
{
	struct wordbuf b = {0};

	for (size_t i = 0; words && words[i]; i++) {
		char *q = shellwords_quote(words[i]);

		if (i > 0)
			buf_push(&b, ' ');
		for (const char *p = q; *p; p++)
			buf_push(&b, *p);
		free(q);
	}
	return b.text ? b.text : xstrdup("");
}
