/* file_commit.c - see file_commit.h */
#define _GNU_SOURCE
#include "base/file_commit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* How file i was put in place, so it can be taken back. */
enum placement {
	NOT_PLACED,
	PLACED_NEW,       /* no earlier file: tmp renamed to final */
	PLACED_EXCHANGED, /* the earlier file now sits at tmp */
};

static int place(const struct file_commit *f, enum placement *how)
{
	if (renameat2(AT_FDCWD, f->tmp, AT_FDCWD, f->final, RENAME_EXCHANGE) == 0) {
		*how = PLACED_EXCHANGED;
		return 0;
	}
	/* ENOENT: nothing to exchange with; EINVAL: a filesystem without
	 * RENAME_EXCHANGE, where the earlier file cannot be kept */
	if (errno != ENOENT && errno != EINVAL)
		return -1;
	if (errno == ENOENT &&
	    renameat2(AT_FDCWD, f->tmp, AT_FDCWD, f->final, RENAME_NOREPLACE) == 0) {
		*how = PLACED_NEW;
		return 0;
	}
	if (errno == EINVAL && rename(f->tmp, f->final) == 0) {
		*how = PLACED_NEW;
		return 0;
	}
	return -1;
}

static void take_back(const struct file_commit *f, enum placement how)
{
	if (how == PLACED_EXCHANGED)
		renameat2(AT_FDCWD, f->tmp, AT_FDCWD, f->final, RENAME_EXCHANGE);
	else if (how == PLACED_NEW)
		unlink(f->final);
}

int file_commit_set(const struct file_commit *files, size_t n, const char *dir, struct error *err)
{
	enum placement *how = xcalloc(n ? n : 1, sizeof(*how));
	size_t i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		if (place(&files[i], &how[i]) < 0) {
			rc = error_set(err, EXIT_RUNNER_ERROR, errno, "renaming %s to %s",
			               files[i].tmp, files[i].final);
			break;
		}
	}
	if (rc < 0)
		while (i-- > 0)
			take_back(&files[i], how[i]);
	/* the temporaries now hold the earlier files (success) or the new
	 * ones (failure): neither is wanted */
	for (i = 0; i < n; i++)
		unlink(files[i].tmp);
	free(how);
	if (rc == 0)
		rc = fsync_dir(dir, err);
	return rc;
}
