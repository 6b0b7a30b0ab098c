/* results_store.c - see results_store.h */
#include "pipeline/results_store.h"

#include <string.h>

#include "history/store.h"

static char *locate(const struct pipeline *p, const char *store)
{
	return store_is_postgres(store) ? xstrdup(store) : pipeline_relative(p, store);
}

char *pipeline_results_store(const struct pipeline *p, const struct stage_def *d)
{
	static const char key[] = "PGO_BENCH_RECORD=";

	for (size_t i = d ? d->n_env : 0; i-- > 0;)
		if (strncmp(d->env[i], key, strlen(key)) == 0 && d->env[i][strlen(key)])
			return locate(p, d->env[i] + strlen(key));
	return p->history ? locate(p, p->history) : NULL;
}
