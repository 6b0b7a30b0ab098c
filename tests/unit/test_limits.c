/* Unit tests: a CPU list against the online set (host/cpus) and the
 * stderr lines for explicitly requested limits the host could not apply
 * (sandbox/limit_warnings). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/report.h"
#include "base/spec.h"
#include "host/cpus.h"
#include "sandbox/limit_warnings.h"

static void test_cpus_inside_online_set(void **state)
{
	uint8_t want[CPU_LIST_MAX / 8], online[CPU_LIST_MAX / 8];
	struct error err = {0};

	(void)state;
	assert_int_equal(parse_cpu_list("0-1", online, &err), 0);
	assert_int_equal(parse_cpu_list("1", want, &err), 0);
	assert_int_equal(cpus_require_online("--cpus", want, online, &err), 0);
	assert_int_equal(parse_cpu_list("0-1", want, &err), 0);
	assert_int_equal(cpus_require_online("--cpus", want, online, &err), 0);
}

static void test_cpu_not_online_names_the_online_set(void **state)
{
	uint8_t want[CPU_LIST_MAX / 8], online[CPU_LIST_MAX / 8];
	struct error err = {0};

	(void)state;
	assert_int_equal(parse_cpu_list("0-1,4", online, &err), 0);
	assert_int_equal(parse_cpu_list("1,99", want, &err), 0);
	assert_int_equal(cpus_require_online("--cpus", want, online, &err), -1);
	assert_int_equal(err.exit_code, EXIT_RUNNER_ERROR);
	assert_string_equal(err.msg,
	                    "--cpus 1,99: CPU 99 not online on this host (online CPUs: 0-1,4)");
}

static void test_this_host_online_set_reads(void **state)
{
	uint8_t online[CPU_LIST_MAX / 8];
	struct error err = {0};
	bool any = false;

	(void)state;
	assert_int_equal(host_online_cpus(NULL, online, &err), 0);
	for (size_t i = 0; i < sizeof(online); i++)
		any = any || online[i] != 0;
	assert_true(any);
}

static char *warnings(const struct sandbox_spec *spec, const struct run_report *r, unsigned *n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	*n = limit_warnings_print(spec, r, f);
	fclose(f);
	return text;
}

static void test_requested_limits_not_applied_are_warned(void **state)
{
	struct run_report r;
	struct sandbox_spec spec;
	unsigned n;
	char *text;

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(&spec, 0, sizeof(spec));
	report_control(&r, "cgroup.cpuset", CONTROL_DEGRADED, "pinned with sched_setaffinity");
	report_control(&r, "cgroup.memory", CONTROL_UNAVAILABLE, "no memory controller");
	report_control(&r, "cgroup.pids", CONTROL_APPLIED, "pids.max=5");
	report_control(&r, "host.turbo", CONTROL_UNAVAILABLE, "no interface");

	/* nothing asked for explicitly: nothing said */
	text = warnings(&spec, &r, &n);
	assert_int_equal(n, 0);
	assert_string_equal(text, "");
	free(text);

	spec.warn_limits = SPEC_WARN_CPUS | SPEC_WARN_MEMORY | SPEC_WARN_PIDS;
	text = warnings(&spec, &r, &n);
	assert_int_equal(n, 2);
	assert_string_equal(text,
	                    "pgo-sandbox: warning: --cpus was asked for but is degraded: "
	                    "pinned with sched_setaffinity\n"
	                    "pgo-sandbox: warning: --memory was asked for but is unavailable: "
	                    "no memory controller\n");
	free(text);

	spec.warn_limits = SPEC_WARN_TURBO;
	text = warnings(&spec, &r, &n);
	assert_int_equal(n, 1);
	assert_non_null(strstr(text, "--no-turbo was asked for but is unavailable: no interface"));
	free(text);

	/* strict refuses the run instead */
	spec.strict = true;
	text = warnings(&spec, &r, &n);
	assert_int_equal(n, 0);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cpus_inside_online_set),
	    cmocka_unit_test(test_cpu_not_online_names_the_online_set),
	    cmocka_unit_test(test_this_host_online_set_reads),
	    cmocka_unit_test(test_requested_limits_not_applied_are_warned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
