/* image_proc.h - what the image digests (image_digest.c) and builds
 * (image_build.c) share: string lists, Debian names, sorted directory
 * listings, and tools run with a clean environment, bounded in time and
 * output.  Internal to them; image.h is the interface. */
#ifndef PGO_IMAGE_PROC_H
#define PGO_IMAGE_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/image.h"

/* How deep the image walks (digest, cleaning) go before refusing a tree:
 * one bound for both, so a tree one accepts the other does too. */
#define WALK_MAX_DEPTH 256

struct captured {
	char *first_line;
	int status; /* raw wait status; meaningless when truncated */
	bool truncated;
};
bool image_has_suffix(const char *s, const char *suffix);
bool image_is_debian_token(const char *s);
char *image_read_trimmed(const char *path);
int image_list_sorted(const char *dir, char ***names, size_t *n, struct error *err);
int image_capture_first_line(const char *path, char *const argv[], uint64_t timeout_ns,
                             struct captured *c, struct error *err);
char **image_tool_env(int64_t source_date_epoch);
void image_env_free(char **env);
int image_run_tool(const char *path, char *const argv[], char *const envp[], struct error *err);

#endif
