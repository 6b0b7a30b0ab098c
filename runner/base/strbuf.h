/* strbuf.h - a growing string for the reports (Markdown, SVG, HTML) that
 * are built piece by piece.  Allocation failure aborts, as xrealloc does. */
#ifndef PGO_STRBUF_H
#define PGO_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *s;
	size_t len, cap;
};

void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* `text` with & < > " ' as XML entities and other control characters but
 * tab and newline as '?' (XML 1.0 has no place for them). */
void strbuf_xml(struct strbuf *b, const char *text);
/* The string (never NULL); the buffer is empty afterwards. */
char *strbuf_take(struct strbuf *b);

#endif
