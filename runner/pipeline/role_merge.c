/* role_merge.c - the merge role: every shard's raw profiles are checked
 * on the host before merging (damage, format version against the image's
 * tools), the shards' knobs must agree, the pgo-merge helper is written,
 * and afterwards the merged profile and its coverage are recorded. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts/provenance.h"
#include "base/cleanup.h"
#include "pipeline/profdata.h"
#include "pipeline/roles.h"

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

static void merge_plan_freep(struct merge_plan *m)
{
	merge_plan_free(m);
}

static int plan_shard(struct stage_ctx *c, const struct input *in, unsigned s, struct merge_plan *m,
                      struct error *err)
{
	const char *suffix = pgo_raw_suffix(c->tc->format);
	char *sub = in->shards > 1 ? xasprintf("/%uof%u", s + 1, in->shards) : xstrdup("");
	char *host = xasprintf("%s%s/%s", in->host_dir, sub, PGO_PROFILE_SUBDIR);
	char *sbx = xasprintf("%s/%s%s/%s", PGO_IN_DIR, in->name, sub, PGO_PROFILE_SUBDIR);
	struct strv hosts = {0}, sandboxes = {0};
	unsigned shard_index = (unsigned)m->shard_dirs.n;
	int rc = stage_walk_files(host, sbx, suffix, &hosts, &sandboxes, err);

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

/* A toolchain that names its LLVM (rustc -vV) decides the raw version,
 * and the llvm-profdata is chosen to read it; otherwise the image's own
 * llvm-profdata decides. */
static int choose_profdata(struct stage_ctx *c, uint64_t *want_raw, struct error *err)
{
	struct profdata_choice pick;
	char *writer;
	int rc;

	if (c->site.llvm_major == 0) {
		*want_raw = pgo_raw_version_for_llvm(pgo_probe_llvm_major());
		return 0;
	}
	*want_raw = pgo_raw_version_for_llvm(c->site.llvm_major);
	writer = xasprintf("%s (LLVM %u)", c->tc->name, c->site.llvm_major);
	rc = profdata_choose(*want_raw, writer, &c->site, &pick, err);
	free(writer);
	if (rc < 0)
		return -1;
	json_object_set_new(c->results, "llvm_profdata", profdata_choice_json(&pick));
	c->profdata_host = xstrdup(pick.host_path);
	c->profdata_sandbox = xstrdup(pick.sandbox_path);
	profdata_choice_free(&pick);
	return 0;
}

static int check_profiles(struct stage_ctx *c, struct merge_plan *m, struct coverage_set *cov,
                          bool *has_values, struct error *err)
{
	uint64_t want_raw = 0;
	uint32_t want_gcda = 0;

	if (c->spec.image_kind == IMAGE_HOST) {
		if (c->tc->format == PROFILE_LLVM_RAW) {
			if (choose_profdata(c, &want_raw, err) < 0)
				return -1;
		} else {
			want_gcda = pgo_probe_gcda_version();
		}
	}
	*has_values = false;
	for (size_t i = 0; i < m->n; i++) {
		struct raw_profile *p = &m->p[i];
		struct error e = {0};
		bool hv = false;
		int rc = c->tc->format == PROFILE_LLVM_RAW
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

/* The training role whose profiles this merge folds together. */
static enum stage_role trained_by(const struct stage_ctx *c)
{
	return c->role == ROLE_CS_MERGE ? ROLE_CS_TRAIN : ROLE_TRAIN;
}

static int merge_knobs(struct stage_ctx *c, struct error *err)
{
	json_t *first = NULL;
	const char *first_label = NULL;

	for (size_t i = 0; i < c->n_inputs; i++) {
		const struct input *in = &c->inputs[i];

		if (in->is_source || in->role != trained_by(c))
			continue;
		for (unsigned s = 0; s < in->shards; s++) {
			json_t *k = json_object_get(stage_input_results(in, s), "training_knobs");
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

static int plan_train_inputs(struct stage_ctx *c, struct merge_plan *m, struct error *err)
{
	for (size_t i = 0; i < c->n_inputs; i++) {
		const struct input *in = &c->inputs[i];

		if (in->is_source || in->role != trained_by(c))
			continue;
		for (unsigned s = 0; s < in->shards; s++)
			if (plan_shard(c, in, s, m, err) < 0)
				return -1;
	}
	if (m->shard_dirs.n == 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "a %s stage needs a %s stage among its inputs",
		                 stage_role_name(c->role), stage_role_name(trained_by(c)));
	return 0;
}

/* Bad raw profiles stop the merge, unless they may be skipped: with
 * --failure-mode=all while any is good, and under `training = threaded`
 * (a process killed while writing its profile is part of that life) while
 * the readable ones cover the training (pgo_merge_covers).  Skipped ones
 * are quarantined in the artifact (pgo_quarantine_script), listed in
 * `skipped` with the reason and where they are kept, and warned about. */
static int judge_bad_profiles(const struct stage_ctx *c, const struct merge_plan *m,
                              json_t *skipped, struct error *err)
{
	bool threaded = c->pl->training == TRAINING_THREADED;
	bool skip = m->n_bad < m->n &&
	            (c->rq->failure_mode_all || (threaded && pgo_merge_covers(m->n, m->n_bad)));
	char *bad = NULL, below[160];
	int rc = 0;

	snprintf(below, sizeof(below),
	         "Under training = threaded a merge goes on only while at least %d %% of the "
	         "raw profiles are readable: %zu of %zu are",
	         PGO_MERGE_MIN_READABLE_PCT, m->n - m->n_bad, m->n);
	for (size_t i = 0; i < m->n; i++) {
		char *kept;

		if (!m->p[i].bad)
			continue;
		stage_append_text(&bad, "%s: %s", m->p[i].label, m->p[i].why);
		kept = pgo_quarantine_name(m->p[i].label);
		json_array_append_new(skipped,
		                      json_pack("{s:s, s:s, s:s}", "profile", m->p[i].label, "why",
		                                m->p[i].why, "kept_as", kept));
		free(kept);
	}
	if (m->n_bad && !skip)
		rc = error_set(err, EXIT_RUNNER_ERROR, 0, "bad raw profile%s: %s. %s",
		               m->n_bad > 1 ? "s" : "", bad,
		               m->n_bad == m->n ? "None is usable"
		               : threaded
		                   ? below
		                   : "With --failure-mode=all the others are merged and the bad "
		                     "ones recorded in the provenance");
	else if (m->n_bad)
		fprintf(stderr,
		        "pgo-sandbox: warning: merge: skipping %zu bad raw profile%s (%s), "
		        "quarantined under %s/%s/: %s\n",
		        m->n_bad, m->n_bad > 1 ? "s" : "",
		        c->rq->failure_mode_all
		            ? "--failure-mode=all"
		            : "training = threaded, the rest cover the training",
		        PGO_OUT_DIR, PGO_QUARANTINE_SUBDIR, bad);
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
	coverage_set_result(cov, &pc);
	/* raw versions other than 8 are not parsed here: llvm-profdata
	 * counts the merged profile's functions afterwards (check_merge) */
	if (c->tc->format == PROFILE_LLVM_RAW && pc.functions)
		json_object_set_new(c->results, "coverage", stage_coverage_json(&pc));
}

/* cs-merge folds the first pass's indexed profile in and carries its
 * symbol order; a first merge with function-order writes the order. */
static char *merge_extras_for(const struct stage_ctx *c, struct merge_extras *x)
{
	const struct input *first = stage_input_with_role(c, ROLE_MERGE);
	char *base = NULL;

	memset(x, 0, sizeof(*x));
	if (c->tc->format != PROFILE_LLVM_RAW)
		return NULL;
	if (c->role == ROLE_CS_MERGE && first) {
		base = pgo_profile_path(c->tc->format, first->name);
		x->base_profile = base;
		if (c->pl->function_order)
			x->carry_order = xasprintf("%s/%s/%s/%s", PGO_IN_DIR, first->name,
			                           PGO_PROFILE_SUBDIR, PGO_SYMBOL_ORDER);
	} else {
		x->symbol_order = c->pl->function_order;
	}
	x->normalise = c->def->profile_normalise;
	return base;
}

/* The merge sandbox runs profile-normalise from a copy of this binary in
 * its helper directory: a copy, not a bind of /proc/self/exe, so nothing
 * the stage does can reach the runner itself (runc CVE-2019-5736). */
static int install_normaliser(struct stage_ctx *c, struct error *err)
{
	char *dst = xasprintf("%s/.pgo/bin/%s", c->work, PGO_NORMALISER);
	char *data = NULL;
	size_t len = 0;
	int rc = read_file("/proc/self/exe", &data, &len, err);

	if (rc == 0)
		rc = pgo_write_helper(dst, data, len, err);
	if (rc < 0)
		error_prefix(err, "profile-normalise: copy the runner into the merge sandbox");
	else
		json_object_set_new(c->results, "profile_normalise",
		                    json_pack("{s:i, s:s}", "significant_figures",
		                              (int)c->def->profile_normalise, "method",
		                              "each function's counters rounded half up to N "
		                              "significant figures of its largest counter; "
		                              "non-zero stays non-zero"));
	free(data);
	free(dst);
	return rc;
}

static int plan_merge(struct stage_ctx *c, struct error *err)
{
	struct merge_extras extras;
	_cleanup_free_ char *base = merge_extras_for(c, &extras);
	/* merge_extras_for allocated carry_order; the struct only lends it */
	_cleanup_free_ char *carry_order = (char *)extras.carry_order;
	_cleanup_(merge_plan_freep) struct merge_plan m = {0};
	_cleanup_(coverage_set_freep) struct coverage_set *cov = coverage_set_new();
	bool has_values = false;
	_cleanup_free_ char *script = NULL;
	_cleanup_json_ json_t *skipped = json_array();

	if (plan_train_inputs(c, &m, err) < 0 || check_profiles(c, &m, cov, &has_values, err) < 0 ||
	    judge_bad_profiles(c, &m, skipped, err) < 0)
		return -1;
	if (c->tc->format == PROFILE_GCDA && has_values && m.shard_dirs.n > 1)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "the .gcda files hold value-profile counters, which gcov-tool "
		                 "merge (gcc 12.2) corrupts when merging shards; instrument with "
		                 "$PGO_GENERATE_FLAGS (it has -fno-profile-values)");
	if (merge_knobs(c, err) < 0)
		return -1;
	if (c->def->profile_normalise && install_normaliser(c, err) < 0)
		return -1;
	script = xasprintf("%s/.pgo/bin/pgo-merge", c->work);
	if (pgo_write_merge_script(script, c->tc->format, c->profdata_sandbox, m.p, m.n,
	                           (const char *const *)m.shard_dirs.v, m.shard_dirs.n,
	                           c->rq->failure_mode_all, &extras, err) < 0)
		return -1;
	record_merge_results(c, &m, skipped, cov);
	return 0;
}

int merge_prepare(struct stage_ctx *c, struct error *err)
{
	stage_step_begin(c, "checking the raw profiles");
	if (plan_merge(c, err) < 0)
		return -1;
	stage_step_end(c);
	return 0;
}

/* function-order: the order file is part of the artifact; its digest and
 * length go into the results. */
static int record_symbol_order(struct stage_ctx *c, const char *dir, struct error *err)
{
	char *f = xasprintf("%s/%s", dir, PGO_SYMBOL_ORDER);
	char digest[DIGEST_STR_MAX];
	size_t len = 0;
	char *text = NULL;
	int rc = digest_file_sha256(f, digest, err);

	if (rc < 0)
		error_prefix(err, "function-order: the merge wrote no %s/%s/%s", PGO_OUT_DIR,
		             PGO_PROFILE_SUBDIR, PGO_SYMBOL_ORDER);
	if (rc == 0 && read_file(f, &text, &len, err) < 0)
		rc = -1;
	if (rc == 0) {
		unsigned lines = pgo_count_in_log(text, len, "\n");

		if (lines == 0)
			rc = error_set(err, EXIT_RUNNER_ERROR, 0,
			               "function-order: %s/%s is empty: the training recorded no "
			               "temporal profile (was the instrument stage built with "
			               "$PGO_GENERATE_FLAGS?)",
			               PGO_PROFILE_SUBDIR, PGO_SYMBOL_ORDER);
		else
			json_object_set_new(c->results, "symbol_order",
			                    json_pack("{s:s, s:s, s:i}", "file",
			                              PGO_PROFILE_SUBDIR "/" PGO_SYMBOL_ORDER,
			                              "digest", digest, "symbols",
			                              (json_int_t)lines));
	}
	free(text);
	free(f);
	return rc;
}

int merge_check_outputs(struct stage_ctx *c, struct error *err)
{
	char *dir = xasprintf("%s/%s", c->outdir, PGO_PROFILE_SUBDIR);
	char digest[DIGEST_STR_MAX];
	int rc = 0;

	if (c->tc->format == PROFILE_LLVM_RAW) {
		char *f = xasprintf("%s/%s", dir, PGO_MERGED_PROFDATA);
		struct profile_coverage pc;

		rc = digest_file_sha256(f, digest, err);
		if (rc < 0)
			error_prefix(err, "the merge wrote no %s/%s/%s", PGO_OUT_DIR,
			             PGO_PROFILE_SUBDIR, PGO_MERGED_PROFDATA);
		if (rc == 0 && c->profdata_host &&
		    json_object_get(c->results, "coverage") == NULL) {
			rc = profdata_coverage(c->profdata_host, f, &pc, err);
			if (rc == 0)
				json_object_set_new(c->results, "coverage",
				                    stage_coverage_json(&pc));
		}
		free(f);
	} else {
		struct strv files = {0};
		struct coverage_set *cov = coverage_set_new();
		struct profile_coverage pc;

		rc = stage_walk_files(dir, NULL, pgo_raw_suffix(PROFILE_GCDA), &files, NULL, err);
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
			json_object_set_new(c->results, "coverage", stage_coverage_json(&pc));
		}
		coverage_set_free(cov);
		strv_free(&files);
	}
	if (rc == 0)
		json_object_set_new(c->results, "merged_profile", json_string(digest));
	if (rc == 0 && c->pl->function_order && c->tc->format == PROFILE_LLVM_RAW)
		rc = record_symbol_order(c, dir, err);
	free(dir);
	return rc;
}

/* Explain a failed merge in the terms of this pipeline. */
void merge_explain_failure(const struct stage_ctx *c, int rc, struct error *err)
{
	size_t len;
	char *log = stage_read_log(c, &len);
	const char *hit = memmem(log, len, "unsupported instrumentation profile format version",
	                         strlen("unsupported instrumentation profile format version"));
	const char *warn = memmem(log, len, "warning: ", strlen("warning: "));

	(void)rc;
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

const struct stage_role_ops role_merge = {
    .name = "merge",
    .role = ROLE_MERGE,
    .prepare = merge_prepare,
    .check_outputs = merge_check_outputs,
    .explain_failure = merge_explain_failure,
};
