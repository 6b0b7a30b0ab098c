/* libpq_lazy.h - libpq, loaded when a PostgreSQL store is opened.
 *
 * Linked normally, libpq and its dependencies (libssl, libcrypto, libgssapi,
 * libldap: a dozen shared objects) would be loaded on every start of
 * pgo-sandbox, including every `run`, which never talks to a database.
 * As artifacts/libarchive_lazy.h does for libarchive, the few functions
 * store_pg.c calls are resolved with dlsym() when a PostgreSQL store is
 * opened.  The table lives in the connection (no global state). */
#ifndef PGO_LIBPQ_LAZY_H
#define PGO_LIBPQ_LAZY_H

#include <libpq-fe.h>

#include "base/util.h"

#define LIBPQ_SONAME "libpq.so.5"

#define LIBPQ_FUNCTIONS(X)                                                                         \
	X(PQclear)                                                                                 \
	X(PQconnectdb)                                                                             \
	X(PQerrorMessage)                                                                          \
	X(PQexecParams)                                                                            \
	X(PQfinish)                                                                                \
	X(PQgetisnull)                                                                             \
	X(PQgetvalue)                                                                              \
	X(PQnfields)                                                                               \
	X(PQntuples)                                                                               \
	X(PQresultErrorMessage)                                                                    \
	X(PQresultStatus)                                                                          \
	X(PQsetNoticeProcessor)                                                                    \
	X(PQstatus)

struct libpq_api {
	void *handle;
#define LIBPQ_MEMBER(name) __typeof__(name) *name;
#define X LIBPQ_MEMBER
	LIBPQ_FUNCTIONS(X)
#undef X
#undef LIBPQ_MEMBER
};

/* dlopen libpq and resolve every function; -1 + err naming the library
 * and the missing piece (install Debian's libpq5). */
int libpq_load(struct libpq_api *api, struct error *err);
void libpq_unload(struct libpq_api *api);

#endif
