/* profile_normalise.c - `pgo-sandbox profile-normalise IN OUT DIGITS`: the
 * internal subcommand the merge stage's pgo-merge helper runs inside the
 * sandbox (pipeline/profile_normalise.h). */
#define _GNU_SOURCE
#include <stdio.h>

#include "cli/commands.h"
#include "pipeline/profile_normalise.h"

int cli_profile_normalise(int argc, char **argv)
{
	struct profile_normalise_stats st = {0};
	struct error err = {0};
	uint64_t digits;

	if (argc != 4 || parse_u64(argv[3], &digits, NULL) < 0 || digits < 1 ||
	    digits > PROFILE_NORMALISE_DIGITS_MAX) {
		fprintf(stderr,
		        "usage: pgo-sandbox profile-normalise IN.proftext OUT.proftext DIGITS\n"
		        "  (internal: run by a merge stage with profile-normalise = DIGITS, "
		        "1 to %d)\n",
		        PROFILE_NORMALISE_DIGITS_MAX);
		return EXIT_RUNNER_ERROR;
	}
	if (profile_normalise_file(argv[1], argv[2], (unsigned)digits, &st, &err) < 0) {
		error_print(&err);
		return err.exit_code ? err.exit_code : EXIT_RUNNER_ERROR;
	}
	printf("profile-normalise: %llu functions, %llu counters, %llu rounded to %u "
	       "significant figures\n",
	       (unsigned long long)st.functions, (unsigned long long)st.counters,
	       (unsigned long long)st.changed, (unsigned)digits);
	return 0;
}
