/* json_file.c - see json_file.h */
#include "base/json_file.h"

#include <stdlib.h>
#include <string.h>

char *json_file_text(const json_t *doc, size_t flags)
{
	char *text = doc ? json_dumps(doc, flags) : NULL;
	char *with_nl;

	if (text == NULL)
		return NULL;
	with_nl = xasprintf("%s\n", text);
	free(text);
	return with_nl;
}

int json_file_write(const char *path, const json_t *doc, size_t flags, mode_t mode,
                    struct error *err)
{
	char *text = json_file_text(doc, flags);
	int rc;

	if (text == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "encoding %s as JSON", path);
	rc = write_file_atomic(path, text, strlen(text), mode, err);
	free(text);
	return rc;
}
