/* stage_pgo.c - the PGO roles' checks around a stage's command: training
 * knobs against the release's, raw profiles (damage, format version) and
 * the merge helper, profiles written, merged profile and its coverage,
 * and the build diagnostics that mean a profile was not used.  See
 * stage_ctx.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "artifacts/provenance.h"
#include "pipeline/stage_ctx.h"

/* ---- role checks ---- */

static const char *release_value(const struct pipeline *pl, const char *name)
{
	size_t len = strlen(name);
	const char *v = NULL;

	for (size_t i = 0; i < pl->n_release_env; i++)
		if (strncmp(pl->release_env[i], name, len) == 0 && pl->release_env[i][len] == '=')
			v = pl->release_env[i] + len + 1;
	return v;
}

static json_t *training_knobs(const struct stage_ctx *c)
{
	json_t *o = json_object();

	for (size_t i = 0; i < c->pl->n_release_env; i++) {
		const char *eq = strchr(c->pl->release_env[i], '=');
		char *name =
		    xasprintf("%.*s", (int)(eq - c->pl->release_env[i]), c->pl->release_env[i]);
		const char *v = strv_env_get(&c->env, name);

		json_object_set_new(o, name, v ? json_string(v) : json_null());
		free(name);
	}
	return o;
}

static void append_text(char **buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void append_text(char **buf, const char *fmt, ...)
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

static json_t *input_results(const struct input *in, unsigned shard)
{
	return json_object_get(in->provenance[shard], "results");
}

/* The build refuses a profile trained with other knobs than the release
 * will run with: it would optimise for the wrong program. */
static int check_knobs(struct stage_ctx *c, const struct input *m, struct error *err)
{
	json_t *knobs = json_object_get(input_results(m, 0), "training_knobs");
	char *diff = NULL;

	if (!json_is_object(knobs))
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "input %s records no training knobs in its provenance", m->name);
	for (size_t i = 0; i < c->pl->n_release_env; i++) {
		const char *eq = strchr(c->pl->release_env[i], '=');
		char *name =
		    xasprintf("%.*s", (int)(eq - c->pl->release_env[i]), c->pl->release_env[i]);
		const char *trained = json_string_value(json_object_get(knobs, name));

		if (trained == NULL || strcmp(trained, eq + 1) != 0)
			append_text(&diff, "%s: trained with %s%s, the release default is %s", name,
			            trained ? "" : "it ", trained ? trained : "unset", eq + 1);
		free(name);
	}
	for (void *it = json_object_iter(knobs); it; it = json_object_iter_next(knobs, it)) {
		const char *key = json_object_iter_key(it);
		json_t *val = json_object_iter_value(it);

		if (json_is_string(val) && release_value(c->pl, key) == NULL)
			append_text(&diff, "%s: trained with %s, no longer a release knob", key,
			            json_string_value(val));
	}
	if (diff == NULL)
		return 0;
	error_set(err, EXIT_RUNNER_ERROR, 0,
	          "the profile in %s was trained with runtime knobs that differ from the release "
	          "defaults ([release] env of %s): %s. Retrain with the release knobs",
	          m->name, c->pl->path, diff);
	free(diff);
	return -1;
}

static int compare_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Files under `host` ending in `suffix`, sorted by path; sandbox paths
 * mirror them under `sandbox`. */
static int walk_profiles(const char *host, const char *sandbox, const char *suffix,
                         struct strv *hosts, struct strv *sandboxes, struct error *err)
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
		char *s = xasprintf("%s/%s", sandbox, names.v[i]);
		struct stat st;
		size_t nl = strlen(names.v[i]), sl = strlen(suffix);

		if (lstat(h, &st) == 0 && S_ISDIR(st.st_mode))
			rc = walk_profiles(h, s, suffix, hosts, sandboxes, err);
		else if (S_ISREG(st.st_mode) && nl > sl &&
		         strcmp(names.v[i] + nl - sl, suffix) == 0) {
			strv_push(hosts, h);
			strv_push(sandboxes, s);
		}
		free(h);
		free(s);
	}
	strv_free(&names);
	return rc;
}

struct merge_plan {
	struct raw_profile *p;
	size_t n;
	struct strv shard_dirs; /* sandbox paths of each shard's profile dir */
	struct strv shard_labels;
	size_t n_bad;
};

static void merge_plan_free(struct merge_plan *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->p[i].host_path);
		free(m->p[i].sandbox_path);
		free(m->p[i].label);
	}
	free(m->p);
	strv_free(&m->shard_dirs);
	strv_free(&m->shard_labels);
}

static int plan_shard(struct stage_ctx *c, const struct input *in, unsigned s, struct merge_plan *m,
                      struct error *err)
{
	const char *suffix = c->cc == COMPILER_CLANG ? ".profraw" : ".gcda";
	char *sub = in->shards > 1 ? xasprintf("/%uof%u", s + 1, in->shards) : xstrdup("");
	char *host = xasprintf("%s%s/%s", in->host_dir, sub, PGO_PROFILE_SUBDIR);
	char *sbx = xasprintf("%s/%s%s/%s", PGO_IN_DIR, in->name, sub, PGO_PROFILE_SUBDIR);
	struct strv hosts = {0}, sandboxes = {0};
	unsigned shard_index = (unsigned)m->shard_dirs.n;
	int rc = walk_profiles(host, sbx, suffix, &hosts, &sandboxes, err);

	strv_push(&m->shard_dirs, sbx);
	strv_push(&m->shard_labels, in->bases[s]);
	if (rc == 0 && hosts.n == 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, 0,
		               "input %s holds no %s profile under %s/: did training run the "
		               "instrumented program to a normal exit?",
		               in->bases[s], suffix, PGO_PROFILE_SUBDIR);
	for (size_t i = 0; rc == 0 && i < hosts.n; i++) {
		struct raw_profile *p;

		m->p = xrealloc(m->p, (m->n + 1) * sizeof(*m->p));
		p = &m->p[m->n++];
		memset(p, 0, sizeof(*p));
		p->host_path = xstrdup(hosts.v[i]);
		p->sandbox_path = xstrdup(sandboxes.v[i]);
		p->label = xasprintf("%s:%s", in->bases[s],
		                     sandboxes.v[i] + strlen(sbx) - strlen(PGO_PROFILE_SUBDIR));
		p->shard = shard_index;
	}
	strv_free(&hosts);
	strv_free(&sandboxes);
	free(sub);
	free(host);
	free(sbx);
	return rc;
}

static int check_profiles(struct stage_ctx *c, struct merge_plan *m, struct coverage_set *cov,
                          bool *has_values)
{
	uint64_t want_raw = 0;
	uint32_t want_gcda = 0;

	if (c->spec.image_kind == IMAGE_HOST) {
		if (c->cc == COMPILER_CLANG)
			want_raw = pgo_raw_version_for_llvm(pgo_probe_llvm_major());
		else
			want_gcda = pgo_probe_gcda_version();
	}
	*has_values = false;
	for (size_t i = 0; i < m->n; i++) {
		struct raw_profile *p = &m->p[i];
		struct error e = {0};
		bool hv = false;
		int rc = c->cc == COMPILER_CLANG
		             ? profraw_check(p->host_path, want_raw, cov, &e)
		             : gcda_check(p->host_path, want_gcda, &hv, NULL, &e);

		if (rc < 0) {
			const char *why = strncmp(e.msg, p->host_path, strlen(p->host_path)) == 0
			                      ? e.msg + strlen(p->host_path) + 2
			                      : e.msg;
			p->bad = true;
			snprintf(p->why, sizeof(p->why), "%s", why);
			m->n_bad++;
		}
		*has_values |= hv;
	}
	return 0;
}

static int merge_knobs(struct stage_ctx *c, struct error *err)
{
	json_t *first = NULL;
	const char *first_label = NULL;

	for (size_t i = 0; i < c->n_inputs; i++) {
		const struct input *in = &c->inputs[i];

		if (in->is_source || in->role != ROLE_TRAIN)
			continue;
		for (unsigned s = 0; s < in->shards; s++) {
			json_t *k = json_object_get(input_results(in, s), "training_knobs");
			char *a, *b;

			if (!json_is_object(k))
				return error_set(err, EXIT_RUNNER_ERROR, 0,
				                 "input %s records no training knobs",
				                 in->bases[s]);
			if (first == NULL) {
				first = k;
				first_label = in->bases[s];
				continue;
			}
			if (json_equal(first, k))
				continue;
			a = json_canonical(first);
			b = json_canonical(k);
			error_set(
			    err, EXIT_RUNNER_ERROR, 0,
			    "training shards ran with different knobs: %s with %s, %s with %s",
			    first_label, a, in->bases[s], b);
			free(a);
			free(b);
			return -1;
		}
	}
	json_object_set(c->results, "training_knobs", first ? first : json_null());
	return 0;
}

static json_t *coverage_json(const struct profile_coverage *pc)
{
	return json_pack("{s:I, s:I}", "functions", (json_int_t)pc->functions, "executed",
	                 (json_int_t)pc->executed);
}

static int plan_train_inputs(struct stage_ctx *c, struct merge_plan *m, struct error *err)
{
	for (size_t i = 0; i < c->n_inputs; i++) {
		const struct input *in = &c->inputs[i];

		if (in->is_source || in->role != ROLE_TRAIN)
			continue;
		for (unsigned s = 0; s < in->shards; s++)
			if (plan_shard(c, in, s, m, err) < 0)
				return -1;
	}
	if (m->shard_dirs.n == 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "a merge stage needs a train stage among its inputs");
	return 0;
}

/* Bad raw profiles stop the merge, unless --failure-mode=all and some are
 * good: then they are listed in `skipped` (for the provenance) and warned
 * about. */
static int judge_bad_profiles(const struct stage_ctx *c, const struct merge_plan *m,
                              json_t *skipped, struct error *err)
{
	char *bad = NULL;
	int rc = 0;

	for (size_t i = 0; i < m->n; i++) {
		if (!m->p[i].bad)
			continue;
		append_text(&bad, "%s: %s", m->p[i].label, m->p[i].why);
		json_array_append_new(
		    skipped, json_pack("{s:s, s:s}", "profile", m->p[i].label, "why", m->p[i].why));
	}
	if (m->n_bad && (!c->rq->failure_mode_all || m->n_bad == m->n))
		rc = error_set(err, EXIT_RUNNER_ERROR, 0, "bad raw profile%s: %s. %s",
		               m->n_bad > 1 ? "s" : "", bad,
		               m->n_bad == m->n
		                   ? "None is usable"
		                   : "With --failure-mode=all the others are merged and the bad "
		                     "ones recorded in the provenance");
	else if (m->n_bad)
		fprintf(stderr,
		        "pgo-sandbox: warning: merge: skipping %zu bad raw profile%s "
		        "(--failure-mode=all): %s\n",
		        m->n_bad, m->n_bad > 1 ? "s" : "", bad);
	free(bad);
	return rc;
}

static void record_merge_results(struct stage_ctx *c, const struct merge_plan *m, json_t *skipped,
                                 struct coverage_set *cov)
{
	struct profile_coverage pc;

	json_object_set_new(c->results, "raw_profiles", json_integer((json_int_t)m->n));
	json_object_set_new(c->results, "shards",
	                    stage_strings_json(m->shard_labels.v, m->shard_labels.n));
	json_object_set(c->results, "skipped_profiles", skipped);
	if (c->cc == COMPILER_CLANG) {
		coverage_set_result(cov, &pc);
		json_object_set_new(c->results, "coverage", coverage_json(&pc));
	}
}

static int prepare_merge(struct stage_ctx *c, struct error *err)
{
	struct merge_plan m = {0};
	struct coverage_set *cov = coverage_set_new();
	bool has_values = false;
	char *script = NULL;
	json_t *skipped = json_array();
	int rc = -1;

	if (plan_train_inputs(c, &m, err) < 0)
		goto out;
	check_profiles(c, &m, cov, &has_values);
	if (judge_bad_profiles(c, &m, skipped, err) < 0)
		goto out;
	if (c->cc == COMPILER_GCC && has_values && m.shard_dirs.n > 1) {
		error_set(err, EXIT_RUNNER_ERROR, 0,
		          "the .gcda files hold value-profile counters, which gcov-tool merge "
		          "(gcc 12.2) corrupts when merging shards; instrument with "
		          "$PGO_GENERATE_FLAGS (it has -fno-profile-values)");
		goto out;
	}
	if (merge_knobs(c, err) < 0)
		goto out;
	script = xasprintf("%s/.pgo/bin/pgo-merge", c->work);
	if (pgo_write_merge_script(script, c->cc, m.p, m.n, (const char *const *)m.shard_dirs.v,
	                           m.shard_dirs.n, c->rq->failure_mode_all, err) < 0)
		goto out;
	record_merge_results(c, &m, skipped, cov);
	rc = 0;
out:
	json_decref(skipped);
	free(script);
	coverage_set_free(cov);
	merge_plan_free(&m);
	return rc;
}

int stage_role_prepare(struct stage_ctx *c, struct error *err)
{
	const struct input *m;

	switch (c->role) {
	case ROLE_BUILD:
		stage_step_begin(c, "checking the training knobs");
		m = stage_input_with_role(c, ROLE_MERGE);
		if (m == NULL)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "a build stage needs the merge stage among its inputs");
		if (check_knobs(c, m, err) < 0)
			return -1;
		stage_step_end(c);
		return 0;
	case ROLE_MERGE:
		stage_step_begin(c, "checking the raw profiles");
		if (prepare_merge(c, err) < 0)
			return -1;
		stage_step_end(c);
		return 0;
	case ROLE_TRAIN:
		json_object_set_new(c->results, "training_knobs", training_knobs(c));
		return 0;
	default: return 0;
	}
}

/* ---- after the command ---- */

static int count_profiles(const char *dir, const char *suffix, struct strv *files,
                          struct error *err)
{
	struct strv sbx = {0};
	int rc = walk_profiles(dir, "", suffix, files, &sbx, err);

	strv_free(&sbx);
	return rc;
}

static int check_train(struct stage_ctx *c, struct error *err)
{
	char *dir = xasprintf("%s/%s", c->outdir, PGO_PROFILE_SUBDIR);
	struct strv files = {0};
	int rc = count_profiles(dir, c->cc == COMPILER_CLANG ? ".profraw" : ".gcda", &files, err);

	if (rc == 0 && files.n == 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, 0,
		               "training wrote no profile into %s/%s: profiles are written when "
		               "the instrumented program exits normally; was it built with "
		               "$PGO_GENERATE_FLAGS and run from %s/NAME?",
		               PGO_OUT_DIR, PGO_PROFILE_SUBDIR, PGO_IN_DIR);
	if (rc == 0)
		json_object_set_new(c->results, "profiles", json_integer((json_int_t)files.n));
	strv_free(&files);
	free(dir);
	return rc;
}

static int check_merge(struct stage_ctx *c, struct error *err)
{
	char *dir = xasprintf("%s/%s", c->outdir, PGO_PROFILE_SUBDIR);
	char digest[DIGEST_STR_MAX];
	int rc = 0;

	if (c->cc == COMPILER_CLANG) {
		char *f = xasprintf("%s/%s", dir, PGO_MERGED_PROFDATA);
		rc = digest_file_sha256(f, digest, err);
		if (rc < 0)
			error_prefix(err, "the merge wrote no %s/%s/%s", PGO_OUT_DIR,
			             PGO_PROFILE_SUBDIR, PGO_MERGED_PROFDATA);
		free(f);
	} else {
		struct strv files = {0};
		struct coverage_set *cov = coverage_set_new();
		struct profile_coverage pc;

		rc = count_profiles(dir, ".gcda", &files, err);
		if (rc == 0 && files.n == 0)
			rc = error_set(err, EXIT_RUNNER_ERROR, 0,
			               "the merge wrote no .gcda into %s/%s", PGO_OUT_DIR,
			               PGO_PROFILE_SUBDIR);
		for (size_t i = 0; rc == 0 && i < files.n; i++)
			rc = gcda_check(files.v[i], 0, NULL, cov, err);
		if (rc == 0)
			rc = tree_digest(dir, NULL, 0, digest, err);
		if (rc == 0) {
			coverage_set_result(cov, &pc);
			json_object_set_new(c->results, "coverage", coverage_json(&pc));
		}
		coverage_set_free(cov);
		strv_free(&files);
	}
	if (rc == 0)
		json_object_set_new(c->results, "merged_profile", json_string(digest));
	free(dir);
	return rc;
}

static char *read_log(const struct stage_ctx *c, size_t *len)
{
	struct error err = {0};
	char *text = NULL;

	if (read_file(c->log, &text, len, &err) < 0) {
		*len = 0;
		return xstrdup("");
	}
	return text;
}

static int check_build(struct stage_ctx *c, struct error *err)
{
	const struct input *m = stage_input_with_role(c, ROLE_MERGE);
	json_t *mr = input_results(m, 0);
	json_t *cov = json_object_get(mr, "coverage");
	size_t len;
	char *log = read_log(c, &len);
	int rc = pgo_scan_build_log(c->cc, log, len, err);

	free(log);
	if (rc < 0)
		return -1;
	json_object_set_new(c->results, "profile",
	                    json_pack("{s:s, s:O, s:O}", "input", m->name, "merged_profile",
	                              json_object_get(mr, "merged_profile"), "coverage",
	                              cov ? cov : json_null()));
	if (json_is_object(cov)) {
		json_int_t fn = json_integer_value(json_object_get(cov, "functions"));
		json_int_t ex = json_integer_value(json_object_get(cov, "executed"));

		printf("pgo-sandbox: %s: profile coverage: %lld of %lld instrumented functions "
		       "ran during training (%.0f%%)\n",
		       c->def->name, (long long)ex, (long long)fn,
		       fn ? 100.0 * (double)ex / (double)fn : 0.0);
	}
	return 0;
}

/* Explain a failed merge in the terms of this pipeline. */
void stage_explain_merge_failure(const struct stage_ctx *c, struct error *err)
{
	size_t len;
	char *log = read_log(c, &len);
	const char *hit = memmem(log, len, "unsupported instrumentation profile format version",
	                         strlen("unsupported instrumentation profile format version"));
	const char *warn = memmem(log, len, "warning: ", strlen("warning: "));

	if (hit)
		error_prefix(err, "llvm-profdata cannot read these raw profiles: their format "
		                  "version belongs to another LLVM release than this image's "
		                  "llvm-profdata; instrument and merge with the same LLVM");
	else if (warn) {
		const char *end = memchr(warn, '\n', len - (size_t)(warn - log));
		error_prefix(err, "the merge failed on a profile (%.*s)",
		             (int)(end ? end - warn : (long)strlen(warn)), warn);
	}
	free(log);
}

int stage_role_check_outputs(struct stage_ctx *c, struct error *err)
{
	switch (c->role) {
	case ROLE_TRAIN: return check_train(c, err);
	case ROLE_MERGE: return check_merge(c, err);
	case ROLE_BUILD: return check_build(c, err);
	default: return 0;
	}
}
