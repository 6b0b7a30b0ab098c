/* run.c - `pgo-sandbox run`: one command in a fresh sandbox, with its
 * report (--report) written beside. */
#define _GNU_SOURCE
#include <stdio.h>

#include "base/report.h"
#include "base/report_json.h"
#include "base/spec.h"
#include "cli/commands.h"
#include "cli/run_options.h"
#include "host/cpus.h"
#include "sandbox/sandbox.h"

static int write_report(const struct sandbox_spec *spec, const struct run_report *r,
                        json_t *cgroup_json)
{
	struct error err = {0};
	json_t *extra = json_object();
	json_t *doc;
	int rc = 0;

	json_object_set(extra, "cgroup", cgroup_json ? cgroup_json : json_null());
	doc = report_to_json(spec, r, extra);
	json_decref(extra);
	if (report_write_json(spec->report_path, doc, &err) < 0) {
		error_print(&err);
		rc = EXIT_RUNNER_ERROR;
	}
	json_decref(doc);
	return rc;
}

int cli_run(int argc, char **argv)
{
	struct sandbox_spec spec;
	struct error err = {0};
	struct run_report *r;
	json_t *cgroup_json = NULL;
	int rc;

	spec_init(&spec);
	rc = cli_parse_run(argc, argv, &spec, &err);
	if (rc != 0) {
		if (rc < 0)
			error_print(&err);
		spec_free(&spec);
		return rc < 0 ? EXIT_RUNNER_ERROR : 0;
	}
	if (spec.cpus_set && host_check_cpus_online("--cpus", spec.cpus, &err) < 0) {
		error_print(&err);
		spec_free(&spec);
		return EXIT_RUNNER_ERROR;
	}
	r = report_create();
	if (r == NULL) {
		fprintf(stderr, "pgo-sandbox: allocating the run report: out of memory\n");
		spec_free(&spec);
		return EXIT_RUNNER_ERROR;
	}
	rc = sandbox_run(&spec, r, &cgroup_json);
	if (spec.report_path && write_report(&spec, r, cgroup_json) != 0)
		rc = EXIT_RUNNER_ERROR;
	json_decref(cgroup_json);
	report_destroy(r);
	spec_free(&spec);
	return rc;
}
