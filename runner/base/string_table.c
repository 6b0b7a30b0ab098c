/* string_table.c - see string_table.h */
#include "base/string_table.h"

#include <string.h>

int string_table_lookup(const char *const *table, size_t n, const char *name)
{
	if (name == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (table[i] && strcmp(table[i], name) == 0)
			return (int)i;
	return -1;
}
