/* report_json.c - see report_json.h */
#define _GNU_SOURCE
#include "base/report_json.h"
#include "base/bytes_json.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "base/json_file.h"

static json_t *controls_json(const struct run_report *r)
{
	json_t *controls = json_object();

	for (unsigned i = 0; i < r->n_controls; i++) {
		const struct control_status *c = &r->controls[i];
		json_object_set_new(controls, c->name,
		                    json_pack("{s:s, s:s}", "state", control_state_name(c->state),
		                              "detail", c->detail));
	}
	return controls;
}

static json_t *outcome_json(const struct run_report *r)
{
	json_t *o = json_object();
	int st = r->wait_status;

	json_object_set_new(o, "exit_code", json_integer(r->exit_code));
	json_object_set_new(o, "command_started", json_boolean(r->command_started));
	json_object_set_new(o, "timed_out", json_boolean(r->timed_out));
	json_object_set_new(o, "oom_killed", json_boolean(r->oom_killed));
	if (r->command_started && WIFEXITED(st))
		json_object_set_new(o, "exit_status", json_integer(WEXITSTATUS(st)));
	else
		json_object_set_new(o, "exit_status", json_null());
	if (r->command_started && WIFSIGNALED(st)) {
		json_object_set_new(o, "signal", json_integer(WTERMSIG(st)));
		json_object_set_new(o, "signal_name", json_string(sigabbrev_np(WTERMSIG(st))));
	} else {
		json_object_set_new(o, "signal", json_null());
	}
	if (r->setup_error.exit_code)
		json_object_set_new(o, "error", json_string(r->setup_error.msg));
	return o;
}

json_t *report_to_json(const struct sandbox_spec *spec, const struct run_report *r, json_t *extra)
{
	json_t *doc = json_object();
	bool needs_b64;
	json_t *argv = strv_text_json(spec->argv, &needs_b64);

	json_object_set_new(doc, "schema", json_string("pgo-sandbox/run-report"));
	json_object_set_new(doc, "schema_version", json_integer(REPORT_SCHEMA_VERSION));
	json_object_set_new(doc, "tool_version", json_string(PGO_VERSION));
	json_object_set_new(doc, "command", argv);
	/* the exact bytes, when the text above could not hold them */
	if (needs_b64)
		json_object_set_new(doc, "command_b64", strv_b64_json(spec->argv));
	json_object_set_new(doc, "outcome", outcome_json(r));
	json_object_set_new(doc, "resources",
	                    json_pack("{s:f, s:f, s:f, s:I}", "wall_s", r->wall_s, "user_s",
	                              r->user_s, "system_s", r->system_s, "peak_rss_kib",
	                              (json_int_t)r->peak_rss_kib));
	json_object_set_new(doc, "controls", controls_json(r));
	if (extra)
		json_object_update(doc, extra);
	return doc;
}

int report_write_json(const char *path, json_t *doc, struct error *err)
{
	return json_file_write(path, doc, JSON_INDENT(2) | JSON_SORT_KEYS, 0644, err);
}
