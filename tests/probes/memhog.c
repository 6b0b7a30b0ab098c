/* memhog - touch memory until told to stop, to be OOM-killed by a cgroup's
 * memory.max:
 *
 *     memhog [MIB]      allocate and write MIB mebibytes (default 1024)
 *
 * Prints "memhog: allocated N MiB" and exits 0 when it got everything; when
 * malloc itself fails it prints how far it got and exits 1.  Under a cgroup
 * limit it is normally SIGKILLed before either. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK (1024 * 1024)

int main(int argc, char **argv)
{
	long want = argc > 1 ? strtol(argv[1], NULL, 10) : 1024;

	if (want <= 0) {
		fprintf(stderr, "usage: memhog [MIB]\n");
		return 2;
	}
	for (long i = 0; i < want; i++) {
		char *p = malloc(CHUNK);

		if (p == NULL) {
			printf("memhog: malloc failed after %ld MiB\n", i);
			return 1;
		}
		/* written, not just reserved: only touched pages are charged */
		memset(p, 'a', CHUNK);
	}
	printf("memhog: allocated %ld MiB\n", want);
	return 0;
}
