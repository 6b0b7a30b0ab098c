/* store.c - see store.h.  The backend table, the connection and the
 * numbered migrations. */
#define _GNU_SOURCE
#include "history/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A new backend is one file and one row here. */
static const struct store_backend *const backends[] = {
    &store_pg_backend, &store_sqlite_backend, /* last: it claims every other location (a path) */
};

/* The migrations, numbered from 1; a store records each one it has
 * applied in schema_migrations.  Never edit a released one: append.
 * Statements are separated by ";" (no ";" inside the SQL text) and
 * "{ID}" becomes the backend's auto-increment key.  Types are those both
 * engines know (TEXT, BIGINT, INTEGER, DOUBLE PRECISION); JSON is kept as
 * TEXT so that the whole document round-trips byte for byte. */
struct migration {
	int version;
	const char *name;
	const char *sql;
};

static const struct migration migrations[] = {
    {1, "runs, samples, summaries, comparisons, controls, baselines",
     "CREATE TABLE runs ("
     " id {ID},"
     " project TEXT NOT NULL, pipeline TEXT, stage TEXT,"
     " git_commit TEXT NOT NULL, branch TEXT NOT NULL,"
     " time_unix BIGINT NOT NULL, recorded_unix BIGINT NOT NULL,"
     " tool_name TEXT, tool_version TEXT, tool_commit TEXT,"
     " bench_schema_version INTEGER,"
     " host_fingerprint TEXT NOT NULL, hostname TEXT, cpu_model TEXT, machine TEXT,"
     " kernel TEXT, online_cpus INTEGER,"
     " gate_metric TEXT, threshold_pct DOUBLE PRECISION, confidence DOUBLE PRECISION,"
     " gate_status TEXT, gate_exit_code INTEGER,"
     " decision TEXT, shipped TEXT,"
     " settings TEXT, conditions TEXT,"
     " document TEXT NOT NULL, document_sha256 TEXT NOT NULL);"
     "CREATE INDEX runs_project_time ON runs (project, time_unix);"
     "CREATE INDEX runs_document ON runs (document_sha256);"
     "CREATE TABLE controls ("
     " run_id BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
     " kind TEXT NOT NULL, name TEXT NOT NULL, state TEXT, detail TEXT);"
     "CREATE INDEX controls_run ON controls (run_id);"
     "CREATE TABLE metrics ("
     " run_id BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
     " name TEXT NOT NULL, unit TEXT, direction TEXT NOT NULL, source TEXT);"
     "CREATE INDEX metrics_run ON metrics (run_id);"
     "CREATE TABLE variants ("
     " run_id BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
     " position INTEGER NOT NULL, name TEXT NOT NULL, role TEXT, digest TEXT);"
     "CREATE INDEX variants_run ON variants (run_id);"
     "CREATE TABLE summaries ("
     " run_id BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
     " benchmark TEXT NOT NULL, variant TEXT NOT NULL, role TEXT, cell TEXT NOT NULL,"
     " metric TEXT NOT NULL, n INTEGER, mean DOUBLE PRECISION, median DOUBLE PRECISION,"
     " stdev DOUBLE PRECISION, cv DOUBLE PRECISION,"
     " min_value DOUBLE PRECISION, max_value DOUBLE PRECISION);"
     "CREATE INDEX summaries_run ON summaries (run_id);"
     "CREATE INDEX summaries_series ON summaries (benchmark, metric);"
     "CREATE TABLE samples ("
     " run_id BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
     " benchmark TEXT NOT NULL, variant TEXT NOT NULL, cell TEXT NOT NULL,"
     " metric TEXT NOT NULL, block_index INTEGER, seq INTEGER,"
     " value DOUBLE PRECISION NOT NULL);"
     "CREATE INDEX samples_series ON samples (run_id, benchmark, metric);"
     "CREATE TABLE comparisons ("
     " run_id BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
     " benchmark TEXT NOT NULL, cell TEXT NOT NULL, base TEXT NOT NULL, cand TEXT NOT NULL,"
     " metric TEXT NOT NULL, kind TEXT, gated INTEGER,"
     " estimate_pct DOUBLE PRECISION, ci_low_pct DOUBLE PRECISION,"
     " ci_high_pct DOUBLE PRECISION, p_adjusted DOUBLE PRECISION, verdict TEXT);"
     "CREATE INDEX comparisons_run ON comparisons (run_id);"
     "CREATE TABLE baselines ("
     " name TEXT PRIMARY KEY,"
     " run_id BIGINT NOT NULL REFERENCES runs (id),"
     " promoted_unix BIGINT NOT NULL)"},
};

const char *store_cell(const struct store_rows *r, size_t row, size_t col)
{
	if (row >= r->n_rows || col >= r->n_cols)
		return NULL;
	return r->cell[row * r->n_cols + col];
}

void store_rows_free(struct store_rows *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_rows * r->n_cols; i++)
		free(r->cell[i]);
	free(r->cell);
	memset(r, 0, sizeof(*r));
}

/* A libpq "keyword=value" string starts with one of libpq's keywords; a
 * file name practically never does ("./host=x" to force a file). */
bool store_is_postgres(const char *location)
{
	static const char *const keywords[] = {"host",
	                                       "hostaddr",
	                                       "port",
	                                       "dbname",
	                                       "user",
	                                       "password",
	                                       "service",
	                                       "sslmode",
	                                       "passfile",
	                                       "options",
	                                       "connect_timeout",
	                                       "application_name"};

	if (strncmp(location, "postgresql://", 13) == 0 ||
	    strncmp(location, "postgres://", 11) == 0)
		return true;
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		size_t n = strlen(keywords[i]);

		if (strncmp(location, keywords[i], n) == 0 && location[n] == '=')
			return true;
	}
	return false;
}

int store_query(struct store *s, const char *sql, const char *const *params, size_t n_params,
                struct store_rows *rows, struct error *err)
{
	if (rows)
		memset(rows, 0, sizeof(*rows));
	return s->backend->query(s, sql, params, n_params, rows, err);
}

int store_exec(struct store *s, const char *sql, struct error *err)
{
	return store_query(s, sql, NULL, 0, NULL, err);
}

int store_query_value(struct store *s, const char *sql, const char *const *params, size_t n_params,
                      char **out, struct error *err)
{
	struct store_rows r;

	*out = NULL;
	if (store_query(s, sql, params, n_params, &r, err) < 0)
		return -1;
	if (r.n_rows > 0 && store_cell(&r, 0, 0))
		*out = xstrdup(store_cell(&r, 0, 0));
	store_rows_free(&r);
	return 0;
}

int store_begin(struct store *s, struct error *err)
{
	if (store_exec(s, s->backend->begin_sql, err) < 0)
		return -1;
	s->in_transaction = true;
	return 0;
}

int store_commit(struct store *s, struct error *err)
{
	s->in_transaction = false;
	return store_exec(s, "COMMIT", err);
}

void store_rollback(struct store *s)
{
	struct error ignored = {0};

	if (!s->in_transaction)
		return;
	s->in_transaction = false;
	(void)store_exec(s, "ROLLBACK", &ignored);
}

/* Replace each "{ID}" with the backend's key column. */
static char *expand_sql(const char *sql, const char *id_column)
{
	size_t len = strlen(sql), idlen = strlen(id_column), n = 0;
	char *out = xcalloc(len * 2 + idlen * 16 + 1, 1);

	for (const char *p = sql; *p;) {
		if (strncmp(p, "{ID}", 4) == 0) {
			memcpy(out + n, id_column, idlen);
			n += idlen;
			p += 4;
		} else
			out[n++] = *p++;
	}
	return out;
}

static int apply_migration(struct store *s, const struct migration *m, struct error *err)
{
	char *sql = expand_sql(m->sql, s->backend->id_column);
	char version[16], now[32];
	const char *params[3] = {version, m->name, now};
	int rc = 0;

	for (char *stmt = sql, *end; stmt && *stmt && rc == 0; stmt = end) {
		end = strchr(stmt, ';');
		if (end)
			*end++ = '\0';
		rc = store_exec(s, stmt, err);
	}
	free(sql);
	if (rc < 0)
		return error_prefix(err, "migration %d (%s): ", m->version, m->name);
	snprintf(version, sizeof(version), "%d", m->version);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	return store_query(s,
	                   "INSERT INTO schema_migrations (version, name, applied_unix)"
	                   " VALUES (?, ?, ?)",
	                   params, 3, NULL, err);
}

static int too_new(struct store *s, long version, struct error *err)
{
	return error_set(err, EXIT_RUNNER_ERROR, 0,
	                 "store %s has schema version %ld, this pgo-sandbox knows up to %d"
	                 " (use a newer pgo-sandbox)",
	                 s->display, version, STORE_SCHEMA_VERSION);
}

/* The version read without any lock: 1 when the store is current (no
 * write lock needed, so `list` does not wait behind a long `record`),
 * 0 when it needs migrating or has no schema yet, -1 when too new. */
static int current_without_lock(struct store *s, struct error *err)
{
	struct error ignored = {0};
	char *text = NULL;
	long version;

	if (store_query_value(s, "SELECT max(version) FROM schema_migrations", NULL, 0, &text,
	                      &ignored) < 0)
		return 0; /* no table yet: migrate() reports real errors */
	version = text ? strtol(text, NULL, 10) : 0;
	free(text);
	if (version > STORE_SCHEMA_VERSION)
		return too_new(s, version, err);
	return version == STORE_SCHEMA_VERSION;
}

/* Inside one transaction (all migrations land or none), under the
 * backend's lock so that two first writers do not both create tables. */
static int migrate(struct store *s, struct error *err)
{
	char *text = NULL;
	long current;

	if (store_begin(s, err) < 0)
		return -1;
	if (s->backend->migration_lock_sql &&
	    store_exec(s, s->backend->migration_lock_sql, err) < 0)
		goto fail;
	if (store_exec(s,
	               "CREATE TABLE IF NOT EXISTS schema_migrations ("
	               " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
	               " applied_unix BIGINT NOT NULL)",
	               err) < 0)
		goto fail;
	if (store_query_value(s, "SELECT max(version) FROM schema_migrations", NULL, 0, &text,
	                      err) < 0)
		goto fail;
	current = text ? strtol(text, NULL, 10) : 0;
	free(text);
	if (current > STORE_SCHEMA_VERSION) {
		too_new(s, current, err);
		goto fail;
	}
	for (size_t i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++)
		if (migrations[i].version > current && apply_migration(s, &migrations[i], err) < 0)
			goto fail;
	return store_commit(s, err);
fail:
	store_rollback(s);
	return -1;
}

int store_open(struct store *s, const char *location, bool create, struct error *err)
{
	int rc;

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (backends[i]->claims(location)) {
			s->backend = backends[i];
			break;
		}
	if (s->backend == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "store %s: no backend", location);
	s->location = xstrdup(location);
	if (s->backend->open(s, create, err) < 0) {
		store_close(s);
		return -1;
	}
	rc = current_without_lock(s, err);
	if (rc < 0 || (rc == 0 && migrate(s, err) < 0)) {
		store_close(s);
		return -1;
	}
	return 0;
}

void store_close(struct store *s)
{
	if (s->backend && s->handle)
		s->backend->close(s);
	free(s->location);
	free(s->display);
	memset(s, 0, sizeof(*s));
}
