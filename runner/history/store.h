/* store.h - the results history store: one connection to an SQLite file
 * or a PostgreSQL database, behind a table of backends (store_sqlite.c,
 * store_pg.c; a new backend is one file and one row in store.c).
 *
 * SQL is written once with `?` placeholders and `{ID}` where the backends
 * differ (an auto-increment key); every parameter and every result cell is
 * text (NULL for SQL NULL), which both engines convert by column type.
 * Errors name the store (file or connection string without password) and
 * the engine's own message. */
#ifndef PGO_HISTORY_STORE_H
#define PGO_HISTORY_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

/* The schema this binary writes and reads (store.c, migrations). */
#define STORE_SCHEMA_VERSION 1

/* A query result: rows x cols text cells, NULL for SQL NULL. */
struct store_rows {
	size_t n_rows, n_cols;
	char **cell; /* cell[row * n_cols + col] */
};
const char *store_cell(const struct store_rows *r, size_t row, size_t col);
void store_rows_free(struct store_rows *r);

struct store;

struct store_backend {
	const char *name; /* "sqlite", "postgresql" */
	/* Replaces "{ID}" in the schema: an integer key that grows. */
	const char *id_column;
	/* Starts the write transaction ("BEGIN IMMEDIATE" takes SQLite's
	 * write lock up front, so two writers queue on the busy timeout
	 * instead of failing to upgrade a read lock). */
	const char *begin_sql;
	/* Serialises schema migrations between processes inside the
	 * transaction (NULL when begin_sql already does). */
	const char *migration_lock_sql;
	bool (*claims)(const char *location);
	/* create: a missing SQLite file may be created. */
	int (*open)(struct store *s, bool create, struct error *err);
	void (*close)(struct store *s);
	/* rows may be NULL when the caller wants no result. */
	int (*query)(struct store *s, const char *sql, const char *const *params, size_t n_params,
	             struct store_rows *rows, struct error *err);
};

struct store {
	const struct store_backend *backend;
	char *location; /* as given */
	char *display;  /* for messages: the path, or the connection without password */
	void *handle;   /* sqlite3 *, PGconn * */
	bool in_transaction;
};

/* Open `location` and bring its schema to STORE_SCHEMA_VERSION (a store
 * with a newer schema is refused naming both versions).  create: a
 * missing SQLite file is created with the schema (record, import);
 * otherwise it is an error (list, show...).  Errors exit 125. */
int store_open(struct store *s, const char *location, bool create, struct error *err);
void store_close(struct store *s);

int store_exec(struct store *s, const char *sql, struct error *err);
int store_query(struct store *s, const char *sql, const char *const *params, size_t n_params,
                struct store_rows *rows, struct error *err);
/* One value of the first row (caller frees); NULL result -> *out NULL. */
int store_query_value(struct store *s, const char *sql, const char *const *params, size_t n_params,
                      char **out, struct error *err);

int store_begin(struct store *s, struct error *err);
int store_commit(struct store *s, struct error *err);
/* Best effort: the error being reported is the one that matters. */
void store_rollback(struct store *s);

/* "postgresql://", "postgres://" or "key=value" words: PostgreSQL. */
bool store_is_postgres(const char *location);

/* The backends (store_sqlite.c, store_pg.c). */
extern const struct store_backend store_sqlite_backend;
extern const struct store_backend store_pg_backend;

#endif
