/* environment.h - the command's environment: a fixed base, the caller's
 * variables only when named (--keep-env), then --setenv.  Nothing else of
 * the caller's environment (CI tokens, proxies, LD_PRELOAD) passes. */
#ifndef PGO_ENVIRONMENT_H
#define PGO_ENVIRONMENT_H

#include "base/spec.h"

#define SANDBOX_PATH "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"

/* Returns a NULL-terminated, sorted "K=V" array (free with
 * environment_free).  `caller_env` is the runner's environ. */
char **environment_build(const struct sandbox_spec *spec, char *const *caller_env);
void environment_free(char **env);
/* Validate "K=V" (non-empty K of [A-Za-z0-9_], no '=' in K). */
int environment_check_assignment(const char *kv, struct error *err);

#endif
