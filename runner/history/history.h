/* history.h - the results history: record bench results in a store (an
 * SQLite file, or a PostgreSQL database) and `pgo-sandbox history`.
 * See docs/history.md. */
#ifndef PGO_HISTORY_H
#define PGO_HISTORY_H

#include <jansson.h>

#include "base/util.h"

/* The store when --store is not given: $PGO_SANDBOX_STORE, else this. */
#define HISTORY_DEFAULT_STORE ".pgo-sandbox/history.sqlite"

struct history_context {
	const char *project;  /* NULL: basename of the git toplevel, else of cwd */
	const char *pipeline; /* NULL for a plain `bench` */
	const char *stage;    /* NULL for a plain `bench` */
	const char *commit;   /* NULL: $GITHUB_SHA, $CI_COMMIT_SHA, else `git rev-parse HEAD` in
	                         cwd, else "unknown" */
	const char *branch;   /* NULL: $GITHUB_REF_NAME, $CI_COMMIT_REF_NAME, else git, else
	                         "unknown" */
	long long time_unix;  /* 0: now */
	const char *shipped;  /* which build shipped ("pgo", "baseline"), NULL if not a release */
};

/* Record one bench result document in the store (NULL: $PGO_SANDBOX_STORE,
 * else HISTORY_DEFAULT_STORE; a path = SQLite file,
 * created with the schema if missing; "postgresql://..." or
 * "postgres://..." or "host=... dbname=..." = PostgreSQL).  Fills
 * *run_id (caller frees) with the new run's id.  One transaction: all or
 * nothing. */
int history_record(const char *store, const json_t *bench_doc, const struct history_context *ctx,
                   char **run_id, struct error *err);

/* Open the store (creating it and its schema when missing) and try a
 * write transaction, rolled back: what recording will need, checked before
 * a bench spends minutes measuring.  A directory, an unwritable or corrupt
 * file, a newer schema or an unreachable server is an error here. */
int history_check_store(const char *store, struct error *err);

/* history_record; when that fails, the document is kept in a file rather
 * than lost (history_unrecorded_path) and err says where and how to record
 * it later.  *kept_path (caller frees) is that file, or NULL. */
int history_record_or_keep(const char *store, const json_t *bench_doc,
                           const struct history_context *ctx, char **run_id, char **kept_path,
                           struct error *err);

/* Where an unrecorded result goes: beside a file store
 * (DIR/NAME.unrecorded-UNIX.json), in the current directory for a
 * database (pgo-bench-unrecorded-UNIX.json).  Pure; caller frees. */
char *history_unrecorded_path(const char *store, long long unix_time);

/* The command that writes the trend pages of `store` and prints the path
 * of their index.html (for job summaries and `make demo`).  Caller frees. */
char *history_trend_hint(const char *store);

/* The store to use: `option` when not NULL, else $PGO_SANDBOX_STORE, else
 * HISTORY_DEFAULT_STORE. */
const char *history_store_location(const char *option);

#endif
