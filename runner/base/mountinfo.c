/* mountinfo.c - see mountinfo.h */
#define _GNU_SOURCE
#include "base/mountinfo.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define MOUNTINFO_MAX_FIELDS 64

void mountinfo_unescape(char *s)
{
	char *w = s;

	for (char *p = s; *p;) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 4;
		} else {
			*w++ = *p++;
		}
	}
	*w = '\0';
}

int mountinfo_parse_line(char *line, struct mountinfo_entry *e)
{
	char *f[MOUNTINFO_MAX_FIELDS], *save = NULL;
	size_t n = 0, sep;

	for (char *w = strtok_r(line, " ", &save); w && n < MOUNTINFO_MAX_FIELDS;
	     w = strtok_r(NULL, " ", &save))
		f[n++] = w;
	/* the optional fields (shared:N, master:N...) end at a lone "-" */
	for (sep = 6; sep < n && strcmp(f[sep], "-") != 0; sep++)
		;
	if (sep + 1 >= n)
		return -1;
	for (size_t i = 3; i < 5; i++)
		mountinfo_unescape(f[i]);
	e->root = f[3];
	e->mount_point = f[4];
	e->options = f[5];
	e->fstype = f[sep + 1];
	e->source = sep + 2 < n ? f[sep + 2] : "";
	e->super_options = sep + 3 < n ? f[sep + 3] : "";
	if (sep + 2 < n)
		mountinfo_unescape(f[sep + 2]);
	return 0;
}

int mountinfo_foreach(const char *text, int (*fn)(const struct mountinfo_entry *e, void *ctx),
                      void *ctx)
{
	char *copy = xstrdup(text ? text : ""), *save = NULL;
	int rc = 0;

	for (char *l = strtok_r(copy, "\n", &save); l && rc == 0; l = strtok_r(NULL, "\n", &save)) {
		struct mountinfo_entry e;

		if (mountinfo_parse_line(l, &e) == 0)
			rc = fn(&e, ctx);
	}
	free(copy);
	return rc;
}
