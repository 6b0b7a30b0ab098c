/* cleanup.h - scope-bound release of memory, descriptors, streams and
 * JSON (gcc/clang `__attribute__((cleanup))`, as systemd's `_cleanup_free_`
 * and crun's `cleanup_free`): a variable declared with one of these is
 * released whichever `return` leaves its scope, so an error path needs no
 * `goto out` and cannot leak.  TAKE_PTR/TAKE_FD hand the value to the
 * caller instead (the variable is left empty, so nothing is released).
 * Every helper keeps errno: a cleanup never changes the error a function
 * is returning. */
#ifndef PGO_CLEANUP_H
#define PGO_CLEANUP_H

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifdef __GNUC__
#define _cleanup_(f) __attribute__((cleanup(f)))
#else
/* Only a static analyser reads this without __GNUC__ (gcc and clang define
 * it; `make lint`'s cppcheck 2.10 does not, and does not model the cleanup
 * attribute): it would report every early return after fopen or malloc as
 * a leak.  A static variable is one it does not track, and the compilers
 * never see this line. */
#define _cleanup_(f) static
#endif
#define _cleanup_free_ _cleanup_(cleanup_freep)
#define _cleanup_close_ _cleanup_(cleanup_closep)
#define _cleanup_fclose_ _cleanup_(cleanup_fclosep)
#define _cleanup_json_ _cleanup_(cleanup_json_decrefp)

/* The value of `p`, leaving NULL (or -1 for a descriptor) behind. */
#define TAKE_PTR(p)                                                                                \
	__extension__({                                                                            \
		__typeof__(p) taken_ = (p);                                                        \
		(p) = NULL;                                                                        \
		taken_;                                                                            \
	})
#define TAKE_FD(fd)                                                                                \
	__extension__({                                                                            \
		int taken_ = (fd);                                                                 \
		(fd) = -1;                                                                         \
		taken_;                                                                            \
	})

static inline void cleanup_freep(void *p)
{
	int saved = errno;

	free(*(void **)p);
	errno = saved;
}

static inline void cleanup_closep(int *fd)
{
	int saved = errno;

	if (*fd >= 0)
		close(*fd);
	errno = saved;
}

static inline void cleanup_fclosep(FILE **f)
{
	int saved = errno;

	if (*f)
		fclose(*f);
	errno = saved;
}

static inline void cleanup_json_decrefp(json_t **j)
{
	json_decref(*j);
}

#endif
