/* limit_warnings.c - see limit_warnings.h */
#include "sandbox/limit_warnings.h"

/* The table: which control carries which explicitly requested limit. */
static const struct {
	unsigned bit;
	const char *option;
	const char *control;
} requested[] = {
    {SPEC_WARN_CPUS, "--cpus", "cgroup.cpuset"},
    {SPEC_WARN_MEMORY, "--memory", "cgroup.memory"},
    {SPEC_WARN_PIDS, "--pids", "cgroup.pids"},
    {SPEC_WARN_TURBO, "--no-turbo", "host.turbo"},
};

unsigned limit_warnings_print(const struct sandbox_spec *spec, const struct run_report *r,
                              FILE *out)
{
	unsigned n = 0;

	if (spec->strict)
		return 0;
	for (size_t i = 0; i < sizeof(requested) / sizeof(requested[0]); i++) {
		const struct control_status *c;

		if (!(spec->warn_limits & requested[i].bit))
			continue;
		c = report_find(r, requested[i].control);
		if (c == NULL || c->state == CONTROL_APPLIED)
			continue;
		fprintf(out, "pgo-sandbox: warning: %s was asked for but is %s: %s\n",
		        requested[i].option, control_state_name(c->state), c->detail);
		n++;
	}
	return n;
}
