/* file_commit.h - files that appear together or not at all.
 *
 * A stage commits three files (tarball, .sha256, .run.json): an upload
 * step or `sha256sum -c` that finds one without the others has a
 * half-written artifact.  Each file is first written and fsynced under a
 * temporary name in the same directory (write_file_temp, util.h);
 * file_commit_set then puts them in place, exchanging with an existing
 * file of the same name
 * (renameat2 RENAME_EXCHANGE) so that a failure part-way swaps every one
 * back: the earlier set stays whole, or the new one replaces it whole.
 *
 * A SIGKILL between two of the renames (microseconds) can still leave a
 * mixed set; the files are put in place in the order given, so the caller
 * lists the one whose presence means "complete" (the tarball) last. */
#ifndef PGO_FILE_COMMIT_H
#define PGO_FILE_COMMIT_H

#include <stddef.h>
#include <sys/types.h>

#include "base/util.h"

struct file_commit {
	const char *tmp;   /* written and fsynced, same directory as final */
	const char *final; /* where it goes */
};

/* Put every tmp at its final path, then fsync `dir`; on failure none is
 * left at a final path that was not there before, every earlier file is
 * back in place, and the temporaries are removed.  On success the earlier
 * files are removed too. */
int file_commit_set(const struct file_commit *files, size_t n, const char *dir, struct error *err);

#endif
