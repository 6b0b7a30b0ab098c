/* stage_names.c - see stage_names.h */
#include "pipeline/stage_names.h"

#include <stdlib.h>
#include <unistd.h>

#include "base/util.h"

char *artifact_base(const char *name, unsigned shard, unsigned shards)
{
	if (shards <= 1)
		return xstrdup(name);
	return xasprintf("%s.%uof%u", name, shard, shards);
}

char *artifact_path(const char *dir, const char *base, enum archive_compression c)
{
	return xasprintf("%s/%s.tar.%s", dir, base, c == ARCHIVE_COMP_GZIP ? "gz" : "zst");
}

char *artifact_find(const char *dir, const char *base)
{
	char *zst = artifact_path(dir, base, ARCHIVE_COMP_ZSTD);
	char *gz;

	if (access(zst, F_OK) == 0)
		return zst;
	gz = artifact_path(dir, base, ARCHIVE_COMP_GZIP);
	if (access(gz, F_OK) == 0) {
		free(zst);
		return gz;
	}
	free(gz);
	return zst;
}

char *stage_run_json_path(const char *dir, const char *base)
{
	return xasprintf("%s/%s.run.json", dir, base);
}

char *stage_failure_json_path(const char *dir, const char *base)
{
	return xasprintf("%s/%s.failure.json", dir, base);
}
