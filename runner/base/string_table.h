/* string_table.h - enum <-> name from one table (systemd's
 * DEFINE_STRING_TABLE_LOOKUP idea): the names live in one array indexed by
 * the enum (designated initialisers, so the order of the enum does not
 * matter), and the macros below write both directions from it, so a new
 * value cannot get a name one way and not the other.
 *
 *   static const char *const verdict_names[] = {[VERDICT_SLOWER] = "slower", ...};
 *   DEFINE_STRING_TABLE_TO_NAME(verdict_name, enum verdict, verdict_names, "unknown");
 *
 * defines `const char *verdict_name(enum verdict)`; a value outside the
 * table (or without a name) gives the fallback.  FROM_NAME defines
 * `int fn(const char *)`: the value, or -1 for a name not in the table.
 * Put `static` before either macro for a file-local function.  Each ends
 * in a declaration that needs the `;` after it, so the use reads (and is
 * formatted) as a statement. */
#ifndef PGO_STRING_TABLE_H
#define PGO_STRING_TABLE_H

#include <stddef.h>

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* The index of `name` in table[0..n) (entries without a name are
 * skipped), or -1 (also for a NULL name). */
int string_table_lookup(const char *const *table, size_t n, const char *name);

#define DEFINE_STRING_TABLE_TO_NAME(fn, type, table, fallback)                                     \
	const char *fn(type value)                                                                 \
	{                                                                                          \
		return (size_t)value < ELEMENTSOF(table) && (table)[value] ? (table)[value]        \
		                                                           : (fallback);           \
	}                                                                                          \
	_Static_assert(1, #fn)

#define DEFINE_STRING_TABLE_FROM_NAME(fn, table)                                                   \
	int fn(const char *name)                                                                   \
	{                                                                                          \
		return string_table_lookup(table, ELEMENTSOF(table), name);                        \
	}                                                                                          \
	_Static_assert(1, #fn)

#endif
