/* environment.c - see environment.h */
#define _GNU_SOURCE
#include "sandbox/environment.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct env_list {
	char **items;
	size_t n;
};

static size_t name_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* Later assignments replace earlier ones of the same name. */
static void env_set(struct env_list *l, const char *kv)
{
	size_t len = name_len(kv);

	for (size_t i = 0; i < l->n; i++) {
		if (name_len(l->items[i]) == len && strncmp(l->items[i], kv, len) == 0) {
			free(l->items[i]);
			l->items[i] = xstrdup(kv);
			return;
		}
	}
	l->items = xrealloc(l->items, (l->n + 2) * sizeof(char *));
	l->items[l->n++] = xstrdup(kv);
	l->items[l->n] = NULL;
}

static const char *lookup(char *const *env, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], name, len) == 0 && env[i][len] == '=')
			return env[i];
	return NULL;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **environment_build(const struct sandbox_spec *spec, char *const *caller_env)
{
	struct env_list l = {.items = xcalloc(1, sizeof(char *)), .n = 0};

	env_set(&l, "PATH=" SANDBOX_PATH);
	env_set(&l, "HOME=/tmp");
	env_set(&l, "LANG=C.UTF-8");
	env_set(&l, "TZ=UTC");
	if (spec->source_date_epoch) {
		char *kv = xasprintf("SOURCE_DATE_EPOCH=%s", spec->source_date_epoch);
		env_set(&l, kv);
		free(kv);
	}
	for (size_t i = 0; i < spec->n_keep_env; i++) {
		const char *kv = lookup(caller_env, spec->keep_env[i]);
		if (kv)
			env_set(&l, kv);
	}
	for (size_t i = 0; i < spec->n_set_env; i++)
		env_set(&l, spec->set_env[i]);
	qsort(l.items, l.n, sizeof(char *), compare_strings);
	return l.items;
}

void environment_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

int environment_check_assignment(const char *kv, struct error *err)
{
	size_t len = name_len(kv);

	if (strchr(kv, '=') == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "--setenv '%s': expected NAME=VALUE",
		                 kv);
	if (len == 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "--setenv '%s': empty variable name",
		                 kv);
	for (size_t i = 0; i < len; i++)
		if (!(isalnum((unsigned char)kv[i]) || kv[i] == '_'))
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "--setenv '%s': variable names use only A-Z a-z 0-9 _",
			                 kv);
	return 0;
}
