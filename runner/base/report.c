/* report.c - see report.h */
#define _GNU_SOURCE
#include "base/report.h"
#include "base/string_table.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

struct run_report *report_create(void)
{
	void *p = mmap(NULL, sizeof(struct run_report), PROT_READ | PROT_WRITE,
	               MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, sizeof(struct run_report));
	return p;
}

void report_destroy(struct run_report *r)
{
	if (r)
		munmap(r, sizeof(*r));
}

void report_control(struct run_report *r, const char *name, enum control_state state,
                    const char *fmt, ...)
{
	struct control_status *c = NULL;
	va_list ap;

	for (unsigned i = 0; i < r->n_controls; i++)
		if (strcmp(r->controls[i].name, name) == 0)
			c = &r->controls[i];
	if (c == NULL) {
		if (r->n_controls >= REPORT_MAX_CONTROLS)
			return;
		c = &r->controls[r->n_controls++];
	}
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->state = state;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
}

const struct control_status *report_find(const struct run_report *r, const char *name)
{
	for (unsigned i = 0; i < r->n_controls; i++)
		if (strcmp(r->controls[i].name, name) == 0)
			return &r->controls[i];
	return NULL;
}

static const char *const control_state_names[] = {
    [CONTROL_APPLIED] = "applied",
    [CONTROL_DEGRADED] = "degraded",
    [CONTROL_UNAVAILABLE] = "unavailable",
};

DEFINE_STRING_TABLE_TO_NAME(control_state_name, enum control_state, control_state_names, "unknown");

unsigned report_count_degraded(const struct run_report *r)
{
	unsigned n = 0;

	for (unsigned i = 0; i < r->n_controls; i++)
		if (r->controls[i].state != CONTROL_APPLIED)
			n++;
	return n;
}
