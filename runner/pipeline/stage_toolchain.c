/* stage_toolchain.c - see stage_toolchain.h */
#include "pipeline/stage_toolchain.h"

#include <string.h>

/* A toolchain outside the host image's /usr (rustup's) is found with the
 * caller's PATH; other images bring their own. */
int stage_locate_toolchain(const struct pipeline *pl, struct toolchain_site *site,
                           struct error *err)
{
	const struct toolchain *tc;

	memset(site, 0, sizeof(*site));
	if (toolchain_find(pl->compiler, &tc, err) < 0)
		return -1;
	if (pl->image && strcmp(pl->image, "host") != 0)
		return 0;
	if (tc->locate && tc->locate(site, err) < 0)
		return -1;
	/* `cc = clang-19`: its LLVM decides which llvm-profdata merges
	 * (profdata.h) and whether the recipe is possible */
	if (tc->llvm_major_of && (pl->cc || pl->function_order))
		site->llvm_major = tc->llvm_major_of(pl->cc ? pl->cc : tc->name);
	return 0;
}
