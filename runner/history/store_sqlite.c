/* store_sqlite.c - the SQLite backend: a database file, WAL mode so that
 * readers never block the writer, a 30 s busy timeout so that concurrent
 * writers (two CI jobs) queue instead of failing, foreign keys on.
 *
 * A file SQLite cannot read (not a database, unreadable) is reported with
 * its path and SQLite's message and left exactly as it was: nothing here
 * ever recreates, truncates or "repairs" a store. */
#define _GNU_SOURCE
#include "history/store.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history/sqlite_lazy.h"

#define SQLITE_BUSY_TIMEOUT_MS 30000

struct sqlite_conn {
	struct sqlite_api api;
	sqlite3 *db;
};

/* The connection's loaded library. */
#define API(s) (&((struct sqlite_conn *)(s)->handle)->api)
#define DB(s) (((struct sqlite_conn *)(s)->handle)->db)

static bool sqlite_claims(const char *location)
{
	(void)location;
	return true;
}

static int sqlite_fail(struct store *s, const char *what, struct error *err)
{
	return error_set(err, EXIT_RUNNER_ERROR, 0, "store %s: %s: %s", s->display, what,
	                 DB(s) ? API(s)->sqlite3_errmsg(DB(s)) : "out of memory");
}

/* The statement text in errors is cut short: the schema is long. */
static int sqlite_stmt_fail(struct store *s, const char *sql, struct error *err)
{
	return error_set(err, EXIT_RUNNER_ERROR, 0, "store %s: %.60s%s: %s", s->display, sql,
	                 strlen(sql) > 60 ? "..." : "", API(s)->sqlite3_errmsg(DB(s)));
}

static int bind_params(struct store *s, sqlite3_stmt *st, const char *const *params, size_t n,
                       const char *sql, struct error *err)
{
	for (size_t i = 0; i < n; i++) {
		int rc = params[i] ? API(s)->sqlite3_bind_text(st, (int)i + 1, params[i], -1,
		                                               SQLITE_TRANSIENT)
		                   : API(s)->sqlite3_bind_null(st, (int)i + 1);

		if (rc != SQLITE_OK)
			return sqlite_stmt_fail(s, sql, err);
	}
	return 0;
}

static void append_row(struct store *s, sqlite3_stmt *st, struct store_rows *rows, size_t *cap)
{
	size_t cols = rows->n_cols, base;

	if ((rows->n_rows + 1) * cols > *cap) {
		*cap = (*cap ? *cap * 2 : 16) + cols;
		rows->cell = xrealloc(rows->cell, *cap * sizeof(char *));
	}
	base = rows->n_rows * cols;
	for (size_t c = 0; c < cols; c++) {
		const unsigned char *v = API(s)->sqlite3_column_text(st, (int)c);

		rows->cell[base + c] = v ? xstrdup((const char *)v) : NULL;
	}
	rows->n_rows++;
}

static int sqlite_query(struct store *s, const char *sql, const char *const *params,
                        size_t n_params, struct store_rows *rows, struct error *err)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int rc;

	if (API(s)->sqlite3_prepare_v2(DB(s), sql, -1, &st, NULL) != SQLITE_OK)
		return sqlite_stmt_fail(s, sql, err);
	if (bind_params(s, st, params, n_params, sql, err) < 0) {
		API(s)->sqlite3_finalize(st);
		return -1;
	}
	if (rows)
		rows->n_cols = (size_t)API(s)->sqlite3_column_count(st);
	while ((rc = API(s)->sqlite3_step(st)) == SQLITE_ROW)
		if (rows)
			append_row(s, st, rows, &cap);
	if (rc != SQLITE_DONE) {
		sqlite_stmt_fail(s, sql, err);
		API(s)->sqlite3_finalize(st);
		if (rows)
			store_rows_free(rows);
		return -1;
	}
	API(s)->sqlite3_finalize(st);
	return 0;
}

/* WAL is a property of the file; switching needs a moment alone with it,
 * which the busy handler waits for. */
static int sqlite_configure(struct store *s, struct error *err)
{
	struct store_rows r = {0};

	if (API(s)->sqlite3_busy_timeout(DB(s), SQLITE_BUSY_TIMEOUT_MS) != SQLITE_OK)
		return sqlite_fail(s, "setting the busy timeout", err);
	if (sqlite_query(s, "PRAGMA journal_mode=WAL", NULL, 0, &r, err) < 0)
		return -1;
	store_rows_free(&r);
	if (sqlite_query(s, "PRAGMA foreign_keys=ON", NULL, 0, NULL, err) < 0)
		return -1;
	/* FULL: a committed run survives a power cut, not only a crash. */
	return sqlite_query(s, "PRAGMA synchronous=FULL", NULL, 0, NULL, err);
}

/* The default store lives in .pgo-sandbox/: created with it. */
static int make_parent(struct store *s, struct error *err)
{
	char *dir = xstrdup(s->location);
	int rc;

	rc = mkdir_p(dirname(dir), 0755, err);
	free(dir);
	return rc < 0 ? error_prefix(err, "store %s: ", s->display) : 0;
}

static int sqlite_open(struct store *s, bool create, struct error *err)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	struct sqlite_conn *c;
	struct stat st;

	s->display = xstrdup(s->location);
	if (stat(s->location, &st) < 0) {
		/* Reading a store nothing was ever recorded in is a newcomer's
		 * first step: say how results get there. */
		if (errno == ENOENT && !create)
			return error_set(
			    err, EXIT_RUNNER_ERROR, 0,
			    "store %s: nothing has been recorded yet (no such file); "
			    "record results with `pgo-sandbox bench ... --record %s`, a "
			    "pipeline's `history = %s`, or `pgo-sandbox history record "
			    "RESULT.json --store %s`",
			    s->display, s->display, s->display, s->display);
		if (errno != ENOENT)
			return error_set(err, EXIT_RUNNER_ERROR, errno, "store %s", s->display);
		if (make_parent(s, err) < 0)
			return -1;
		flags |= SQLITE_OPEN_CREATE;
	} else if (!S_ISREG(st.st_mode))
		return error_set(err, EXIT_RUNNER_ERROR, 0, "store %s: not a regular file",
		                 s->display);
	else if (access(s->location, R_OK | W_OK) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "store %s", s->display);
	c = xcalloc(1, sizeof(*c));
	if (sqlite_load(&c->api, err) < 0) {
		free(c);
		return error_prefix(err, "store %s: ", s->display);
	}
	s->handle = c; /* from here on store_close releases it */
	/* On failure the handle is still allocated (it carries the message). */
	if (API(s)->sqlite3_open_v2(s->location, &c->db, flags, NULL) != SQLITE_OK)
		return sqlite_fail(s, "opening", err);
	if (API(s)->sqlite3_extended_result_codes(c->db, 1) != SQLITE_OK)
		return sqlite_fail(s, "opening", err);
	if (sqlite_configure(s, err) < 0)
		return -1;
	return 0;
}

static void sqlite_close(struct store *s)
{
	/* sqlite3_close_v2 never fails for a connection without open
	 * statements, and every statement here is finalized. */
	struct sqlite_conn *c = s->handle;

	if (c->db)
		c->api.sqlite3_close_v2(c->db);
	sqlite_unload(&c->api);
	free(c);
	s->handle = NULL;
}

const struct store_backend store_sqlite_backend = {
    .name = "sqlite",
    .id_column = "INTEGER PRIMARY KEY AUTOINCREMENT",
    .begin_sql = "BEGIN IMMEDIATE",
    .migration_lock_sql = NULL,
    .claims = sqlite_claims,
    .open = sqlite_open,
    .close = sqlite_close,
    .query = sqlite_query,
};
