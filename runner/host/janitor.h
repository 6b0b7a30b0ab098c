/* janitor.h - cleanup that survives the runner being SIGKILLed.
 *
 * A stage leaves host state behind while it runs: a private temporary
 * directory (extracted inputs, the working tree), a half-written tarball
 * and its run cgroup.  The janitor is a small child process that blocks on
 * a pipe; when the runner finishes it dismisses the janitor, and when the
 * runner dies instead the pipe reads EOF and the janitor removes the paths
 * it was given and the run cgroups whose owner is gone. */
#ifndef PGO_JANITOR_H
#define PGO_JANITOR_H

#include <sys/types.h>

#include "base/util.h"

struct janitor {
	pid_t pid;
	int fd; /* write end; -1 when not running */
};

#define JANITOR_INIT                                                                               \
	{                                                                                          \
		.pid = -1, .fd = -1                                                                \
	}

/* Start the janitor for `paths` (directories are removed as trees, files
 * unlinked).  `cgroup_parent` (may be NULL) is the cgroup v2 directory
 * whose stale run cgroups it removes. */
int janitor_start(struct janitor *j, char *const *paths, size_t n_paths, const char *cgroup_parent,
                  struct error *err);
/* The runner cleaned up itself: tell the janitor to exit and reap it. */
void janitor_dismiss(struct janitor *j);

/* "<cgroup2 mount>/pgo-sandbox" (or `parent` below the mount), or NULL. */
char *janitor_cgroup_parent(const char *parent);

#endif
