/* json_file.c - see json_file.h */
#include "json_file.h"

#include <stdlib.h>
#include <string.h>

int json_file_write(const char *path, const json_t *doc, size_t flags, mode_t mode,
                    struct error *err)
{
	char *text = doc ? json_dumps(doc, flags) : NULL;
	char *with_nl;
	int rc;

	if (text == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "encoding %s as JSON", path);
	with_nl = xasprintf("%s\n", text);
	free(text);
	rc = write_file_atomic(path, with_nl, strlen(with_nl), mode, err);
	free(with_nl);
	return rc;
}
