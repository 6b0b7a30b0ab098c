/* store_pg.c - the PostgreSQL backend: a libpq connection string
 * ("postgresql://...", "postgres://..." or "host=... dbname=..."), libpq
 * loaded on first use (libpq_lazy.h).  Each record is one transaction;
 * migrations take a transaction-scoped advisory lock so that two first
 * writers do not both create the tables. */
#define _GNU_SOURCE
#include "history/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history/libpq_lazy.h"

struct pg_conn {
	struct libpq_api api;
	PGconn *conn;
};

static bool pg_claims(const char *location)
{
	return store_is_postgres(location);
}

/* The connection string without its password, for messages. */
static char *pg_display(const char *location)
{
	char *out = xstrdup(location), *p;

	if ((p = strstr(out, "password=")) != NULL) {
		for (p += 9; *p && *p != ' '; p++)
			*p = '*';
	}
	if ((p = strstr(out, "://")) != NULL) {
		char *at = strchr(p, '@'), *colon = strchr(p + 3, ':');

		if (at && colon && colon < at)
			for (p = colon + 1; p < at; p++)
				*p = '*';
	}
	return out;
}

/* libpq messages span lines ("...failed: Connection refused\n\tIs the
 * server running...\n"); errors here are one line. */
static int pg_fail(struct store *s, const char *what, const char *msg, struct error *err)
{
	char *line = xstrdup(msg ? msg : "");
	size_t n = strlen(line);
	int rc;

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' '))
		line[--n] = '\0';
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	rc = error_set(err, EXIT_RUNNER_ERROR, 0, "store %s: %.60s%s: %s", s->display, what,
	               strlen(what) > 60 ? "..." : "", line);
	free(line);
	return rc;
}

static void pg_quiet(void *arg, const char *message)
{
	/* NOTICEs ("relation already exists, skipping") are not errors. */
	(void)arg;
	(void)message;
}

static int pg_open(struct store *s, bool create, struct error *err)
{
	struct pg_conn *c = xcalloc(1, sizeof(*c));

	(void)create; /* the database must exist; the tables are created */
	s->display = pg_display(s->location);
	if (libpq_load(&c->api, err) < 0) {
		free(c);
		return error_prefix(err, "store %s: ", s->display);
	}
	s->handle = c;
	c->conn = c->api.PQconnectdb(s->location);
	if (c->conn == NULL)
		return pg_fail(s, "connecting", "out of memory", err);
	if (c->api.PQstatus(c->conn) != CONNECTION_OK)
		return pg_fail(s, "connecting", c->api.PQerrorMessage(c->conn), err);
	c->api.PQsetNoticeProcessor(c->conn, pg_quiet, NULL);
	return 0;
}

static void pg_close(struct store *s)
{
	struct pg_conn *c = s->handle;

	if (c->conn)
		c->api.PQfinish(c->conn);
	libpq_unload(&c->api);
	free(c);
	s->handle = NULL;
}

/* "?" -> "$1", "$2"... outside quotes: the SQL is written once for both. */
static char *pg_placeholders(const char *sql)
{
	size_t len = strlen(sql), n = 0;
	char *out = xcalloc(len * 6 + 1, 1);
	bool quoted = false;
	int k = 0;

	for (const char *p = sql; *p; p++) {
		if (*p == '\'')
			quoted = !quoted;
		if (*p == '?' && !quoted)
			n += (size_t)sprintf(out + n, "$%d", ++k);
		else
			out[n++] = *p;
	}
	return out;
}

static void pg_copy_rows(struct pg_conn *c, PGresult *res, struct store_rows *rows)
{
	size_t nr = (size_t)c->api.PQntuples(res), nc = (size_t)c->api.PQnfields(res);

	rows->n_rows = nr;
	rows->n_cols = nc;
	rows->cell = xcalloc(nr * nc + 1, sizeof(char *));
	for (size_t r = 0; r < nr; r++)
		for (size_t col = 0; col < nc; col++)
			if (!c->api.PQgetisnull(res, (int)r, (int)col))
				rows->cell[r * nc + col] =
				    xstrdup(c->api.PQgetvalue(res, (int)r, (int)col));
}

static int pg_query(struct store *s, const char *sql, const char *const *params, size_t n_params,
                    struct store_rows *rows, struct error *err)
{
	struct pg_conn *c = s->handle;
	char *text = pg_placeholders(sql);
	PGresult *res =
	    c->api.PQexecParams(c->conn, text, (int)n_params, NULL, params, NULL, NULL, 0);
	ExecStatusType st;

	free(text);
	if (res == NULL)
		return pg_fail(s, sql, c->api.PQerrorMessage(c->conn), err);
	st = c->api.PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_fail(s, sql, c->api.PQresultErrorMessage(res), err);
		c->api.PQclear(res);
		return -1;
	}
	if (rows)
		pg_copy_rows(c, res, rows);
	c->api.PQclear(res);
	return 0;
}

const struct store_backend store_pg_backend = {
    .name = "postgresql",
    .id_column = "BIGSERIAL PRIMARY KEY",
    .begin_sql = "BEGIN",
    /* Any constant: the key of pgo-sandbox's migration lock. */
    .migration_lock_sql = "SELECT pg_advisory_xact_lock(7061626)",
    .claims = pg_claims,
    .open = pg_open,
    .close = pg_close,
    .query = pg_query,
};
