/* results_store.c - see results_store.h */
#include "pipeline/results_store.h"

#include <stdlib.h>
#include <string.h>

#include "history/history.h"
#include "history/store.h"
#include "pipeline/roles.h"

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

int pipeline_check_results_stores(const struct pipeline *p, const char *until, struct error *err)
{
	for (size_t i = 0; i < p->n_stages; i++) {
		const struct stage_def *d = &p->stages[i];
		char *store;
		int rc = 0;

		if (stage_role_of(d->name) == ROLE_BENCH &&
		    (store = pipeline_results_store(p, d)) != NULL) {
			rc = history_check_store(store, err);
			if (rc < 0)
				error_prefix(err, "stage %s: results store %s", d->name, store);
			free(store);
		}
		if (rc < 0)
			return -1;
		if (until && strcmp(d->name, until) == 0)
			break;
	}
	return 0;
}
