/* verify_diff.h - what `pgo-sandbox verify` says when a stage's two runs
 * differ: entry by entry (only in one run, metadata, content), why a
 * train stage's profiles differ (profile_diff.h), and diffoscope's view
 * when it is installed. */
#ifndef PGO_VERIFY_DIFF_H
#define PGO_VERIFY_DIFF_H

#include "pipeline/config.h"

/* Compare the two runs' tarballs a and b (root: a scratch directory for
 * extracting them).  0 identical, 1 different (explained on stdout),
 * -1 + err when a tarball cannot be read. */
int verify_compare(const struct pipeline *pl, const struct stage_def *d, const char *a,
                   const char *b, const char *root, struct error *err);

#endif
