/* stage_ctx.c - see stage_ctx.h */
#define _GNU_SOURCE
#include "pipeline/stage_ctx.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/bytes_json.h"

void stage_step_begin(struct stage_ctx *c, const char *name)
{
	c->step = name;
	c->step_t0 = monotonic_ns();
}

void stage_step_end(struct stage_ctx *c)
{
	json_array_append_new(c->steps, json_pack("{s:s, s:f}", "step", c->step, "seconds",
	                                          (double)(monotonic_ns() - c->step_t0) / 1e9));
}

const struct input *stage_input_with_role(const struct stage_ctx *c, enum stage_role role)
{
	for (size_t i = 0; i < c->n_inputs; i++)
		if (!c->inputs[i].is_source && c->inputs[i].role == role)
			return &c->inputs[i];
	return NULL;
}

json_t *stage_strings_json(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

json_t *stage_input_results(const struct input *in, unsigned shard)
{
	return json_object_get(in->provenance[shard], "results");
}

void stage_append_text(char **buf, const char *fmt, ...)
{
	va_list ap;
	char *more, *joined;

	va_start(ap, fmt);
	if (vasprintf(&more, fmt, ap) < 0)
		abort();
	va_end(ap);
	joined = xasprintf("%s%s%s", *buf ? *buf : "", *buf ? "; " : "", more);
	free(more);
	free(*buf);
	*buf = joined;
}

int stage_require_profiles(struct stage_ctx *c, const char *suffix, const char *what,
                           const char *why, struct error *err)
{
	char *dir = xasprintf("%s/%s", c->outdir, PGO_PROFILE_SUBDIR);
	struct strv files = {0};
	int rc = stage_walk_files(dir, NULL, suffix, &files, NULL, err);

	if (rc == 0 && files.n == 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, 0, "training wrote no %s into %s/%s: %s",
		               what, PGO_OUT_DIR, PGO_PROFILE_SUBDIR, why);
	if (rc == 0)
		json_object_set_new(c->results, "profiles", json_integer((json_int_t)files.n));
	strv_free(&files);
	free(dir);
	return rc;
}

char *stage_read_log(const struct stage_ctx *c, size_t *len)
{
	struct error err = {0};
	char *text = NULL;

	if (read_file(c->log, &text, len, &err) < 0) {
		*len = 0;
		return xstrdup("");
	}
	return text;
}

json_t *stage_coverage_json(const struct profile_coverage *pc)
{
	return json_pack("{s:I, s:I}", "functions", (json_int_t)pc->functions, "executed",
	                 (json_int_t)pc->executed);
}

static int compare_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int stage_walk_files(const char *host, const char *sandbox, const char *suffix, struct strv *hosts,
                     struct strv *sandboxes, struct error *err)
{
	DIR *d = opendir(host);
	struct dirent *de;
	struct strv names = {0};
	int rc = 0;

	if (d == NULL)
		return errno == ENOENT
		           ? 0
		           : error_set(err, EXIT_RUNNER_ERROR, errno, "opening %s", host);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			strv_push(&names, de->d_name);
	closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof(char *), compare_strp);
	for (size_t i = 0; i < names.n && rc == 0; i++) {
		char *h = xasprintf("%s/%s", host, names.v[i]);
		char *s = sandboxes ? xasprintf("%s/%s", sandbox, names.v[i]) : NULL;
		struct stat st;
		size_t nl = strlen(names.v[i]), sl = strlen(suffix);

		if (lstat(h, &st) == 0 && S_ISDIR(st.st_mode))
			rc = stage_walk_files(h, s, suffix, hosts, sandboxes, err);
		else if (S_ISREG(st.st_mode) && nl > sl &&
		         strcmp(names.v[i] + nl - sl, suffix) == 0) {
			strv_push(hosts, h);
			if (sandboxes)
				strv_push(sandboxes, s);
		}
		free(h);
		free(s);
	}
	strv_free(&names);
	return rc;
}

json_t *stage_training_knobs(const struct stage_ctx *c)
{
	json_t *o = json_object();

	for (size_t i = 0; i < c->pl->n_release_env; i++) {
		const char *eq = strchr(c->pl->release_env[i], '=');
		char *name =
		    xasprintf("%.*s", (int)(eq - c->pl->release_env[i]), c->pl->release_env[i]);
		const char *v = strv_env_get(&c->env, name);

		json_object_set_new(o, name, json_string_or_null(v));
		free(name);
	}
	return o;
}
