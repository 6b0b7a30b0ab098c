/* roles.c - see roles.h: the one table of stage roles. */
#include "pipeline/roles.h"

#include <string.h>

static const struct stage_role_ops *const roles[] = {
    &role_instrument,    &role_train,           &role_merge,      &role_build,
    &role_bench,         &role_bolt_instrument, &role_bolt_train, &role_bolt,
    &role_cs_instrument, &role_cs_train,        &role_cs_merge,
};

#define N_ROLES (sizeof(roles) / sizeof(roles[0]))

enum stage_role stage_role_of(const char *stage_name)
{
	for (size_t i = 0; i < N_ROLES; i++)
		if (strcmp(stage_name, roles[i]->name) == 0)
			return roles[i]->role;
	return ROLE_PLAIN;
}

const struct stage_role_ops *stage_role_ops(enum stage_role role)
{
	for (size_t i = 0; i < N_ROLES; i++)
		if (roles[i]->role == role)
			return roles[i];
	return NULL;
}

const char *stage_role_name(enum stage_role role)
{
	const struct stage_role_ops *ops = stage_role_ops(role);

	return ops ? ops->name : "plain";
}

size_t stage_role_count(void)
{
	return N_ROLES;
}

const struct stage_role_ops *stage_role_at(size_t i)
{
	return i < N_ROLES ? roles[i] : NULL;
}
