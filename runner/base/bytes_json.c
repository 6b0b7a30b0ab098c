/* bytes_json.c - see bytes_json.h */
#include "base/bytes_json.h"
#include "base/strv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p, 0 when it is not one. */
static size_t utf8_sequence(const unsigned char *p)
{
	uint32_t cp;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates, beyond Unicode */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) ||
	    cp > 0x10ffff)
		return 0;
	return n;
}

bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_sequence(p);

		if (n == 0)
			return false;
		p += n;
	}
	return true;
}

char *utf8_lossy(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	/* each invalid byte becomes three (EF BF BD) */
	char *out = xcalloc(strlen(s) * 3 + 1, 1), *q = out;

	while (*p) {
		size_t n = utf8_sequence(p);

		if (n == 0) {
			memcpy(q, "\xef\xbf\xbd", 3);
			q += 3;
			p++;
			continue;
		}
		memcpy(q, p, n);
		q += n;
		p += n;
	}
	*q = '\0';
	return out;
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const unsigned char *data, size_t len)
{
	char *out = xcalloc((len + 2) / 3 * 4 + 1, 1), *q = out;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16;
		size_t left = len - i;

		if (left > 1)
			v |= (uint32_t)data[i + 1] << 8;
		if (left > 2)
			v |= data[i + 2];
		*q++ = b64_alphabet[(v >> 18) & 63];
		*q++ = b64_alphabet[(v >> 12) & 63];
		*q++ = left > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
		*q++ = left > 2 ? b64_alphabet[v & 63] : '=';
	}
	*q = '\0';
	return out;
}

static int b64_value(char c)
{
	const char *at = c ? strchr(b64_alphabet, c) : NULL;

	return at ? (int)(at - b64_alphabet) : -1;
}

int base64_decode(const char *text, unsigned char **out, size_t *len)
{
	size_t n = strlen(text), k = 0;
	unsigned char *buf;

	*out = NULL;
	*len = 0;
	if (n % 4 != 0)
		return -1;
	buf = xcalloc(n / 4 * 3 + 1, 1);
	for (size_t i = 0; i < n; i += 4) {
		int a = b64_value(text[i]), b = b64_value(text[i + 1]);
		int c = text[i + 2] == '=' ? -2 : b64_value(text[i + 2]);
		int d = text[i + 3] == '=' ? -2 : b64_value(text[i + 3]);
		bool last = i + 4 == n;

		/* padding only at the very end, and "=X" is never valid */
		if (a < 0 || b < 0 || c == -1 || d == -1 || (!last && (c < 0 || d < 0)) ||
		    (c == -2 && d != -2)) {
			free(buf);
			return -1;
		}
		buf[k++] = (unsigned char)((a << 2) | (b >> 4));
		if (c >= 0)
			buf[k++] = (unsigned char)(((b & 15) << 4) | (c >> 2));
		if (d >= 0)
			buf[k++] = (unsigned char)(((c & 3) << 6) | d);
	}
	buf[k] = '\0';
	*out = buf;
	*len = k;
	return 0;
}

json_t *json_text(const char *s)
{
	json_t *j = json_string(s);
	char *lossy;

	if (j != NULL)
		return j;
	lossy = utf8_lossy(s);
	j = json_string(lossy);
	free(lossy);
	return j;
}

json_t *strv_text_json(char *const *v, bool *needs_b64)
{
	json_t *a = json_array();

	*needs_b64 = false;
	for (size_t i = 0; v && v[i]; i++) {
		*needs_b64 = *needs_b64 || !utf8_valid(v[i]);
		json_array_append_new(a, json_text(v[i]));
	}
	return a;
}

json_t *strv_b64_json(char *const *v)
{
	json_t *a = json_array();

	for (size_t i = 0; v && v[i]; i++) {
		char *b = base64_encode((const unsigned char *)v[i], strlen(v[i]));

		json_array_append_new(a, json_string(b));
		free(b);
	}
	return a;
}

int strv_from_b64_json(const json_t *a, char ***out, struct error *err)
{
	size_t n = json_array_size(a);
	char **v = xcalloc(n + 1, sizeof(char *));

	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *text = json_string_value(json_array_get(a, i));
		unsigned char *bytes = NULL;
		size_t len;

		if (text == NULL || base64_decode(text, &bytes, &len) < 0 ||
		    strlen((char *)bytes) != len) {
			free(bytes);
			strv_free_n(v, i);
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "element %zu is not the base64 of an argument", i);
		}
		v[i] = (char *)bytes;
	}
	*out = v;
	return 0;
}

json_t *json_string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}
