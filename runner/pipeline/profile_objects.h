/* profile_objects.h - the raw profile version compiled into objects.
 *
 * Every object instrumented for IR PGO carries __llvm_profile_raw_version,
 * the raw format its LLVM writes.  A Rust crate whose build script compiles
 * C with another LLVM's -fprofile-generate (clang through the cc crate)
 * links objects of two versions and two runtimes' worth of assumptions;
 * the profile that comes out cannot be merged by any one llvm-profdata.
 * The instrument stage scans the objects a build left (ELF .o files and
 * the members of .a archives) and names those that disagree. */
#ifndef PGO_PROFILE_OBJECTS_H
#define PGO_PROFILE_OBJECTS_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

struct object_version {
	char *path;       /* "dir/libx.a(x.o)" relative to the scanned dir */
	uint64_t version; /* flag bits masked off */
};

/* Objects below `dir` carrying __llvm_profile_raw_version; unreadable or
 * foreign files are skipped.  -1 + err only when `dir` cannot be walked. */
int profile_objects_scan(const char *dir, struct object_version **out, size_t *n,
                         struct error *err);
void profile_objects_free(struct object_version *v, size_t n);

/* The raw version of one ELF image in memory, 0 when it has none. */
uint64_t profile_object_version(const unsigned char *data, size_t len);

#endif
