/* strbuf.c - see strbuf.h */
#include "base/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"

void strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cap = (b->len + (size_t)n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void strbuf_xml(struct strbuf *b, const char *text)
{
	for (const char *p = text ? text : ""; *p; p++) {
		switch (*p) {
		case '&': strbuf_printf(b, "&amp;"); break;
		case '<': strbuf_printf(b, "&lt;"); break;
		case '>': strbuf_printf(b, "&gt;"); break;
		case '"': strbuf_printf(b, "&quot;"); break;
		case '\'': strbuf_printf(b, "&apos;"); break;
		default:
			if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n')
				strbuf_printf(b, "?");
			else
				strbuf_printf(b, "%c", *p);
		}
	}
}

char *strbuf_take(struct strbuf *b)
{
	char *s = b->s ? b->s : xstrdup("");

	memset(b, 0, sizeof(*b));
	return s;
}
