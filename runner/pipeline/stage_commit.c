/* stage_commit.c - see stage_commit.h */
#include "pipeline/stage_commit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "artifacts/archive.h"
#include "artifacts/provenance.h"
#include "base/file_commit.h"
#include "base/json_file.h"
#include "base/report_json.h"
#include "pipeline/roles.h"
#include "pipeline/stage_names.h"
#include "pipeline/stage_tree.h"

static int move_output(const struct stage_ctx *c, const char *rel, struct error *err)
{
	char *src = xasprintf("%s/%s", c->outdir, rel);
	char *dst = xasprintf("%s/%s", c->packdir, rel);
	char *slash = strrchr(dst, '/');
	int rc = 0;

	*slash = '\0';
	if (mkdir_p(dst, 0755, err) < 0)
		rc = -1;
	*slash = '/';
	if (rc == 0 && rename(src, dst) < 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, errno, "moving output %s", rel);
	free(src);
	free(dst);
	return rc;
}

static int collect_outputs(struct stage_ctx *c, struct error *err)
{
	char *prov_path = xasprintf("%s/%s", c->packdir, PROVENANCE_FILE);
	json_t *prov = json_deep_copy(c->definition);
	int rc = 0;

	if (c->def->n_outputs == 0) {
		if (rename(c->outdir, c->packdir) < 0)
			rc = error_set(err, EXIT_RUNNER_ERROR, errno, "collecting %s", c->outdir);
	} else {
		rc = stage_make_dir(c->packdir, 0755, err);
		for (size_t i = 0; rc == 0 && i < c->def->n_outputs; i++)
			rc = move_output(c, c->def->outputs[i], err);
	}
	if (rc == 0 && access(prov_path, F_OK) == 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, 0,
		               "the stage wrote %s/%s itself: that name is the runner's",
		               PGO_OUT_DIR, PROVENANCE_FILE);
	if (rc == 0) {
		json_object_set_new(prov, "cache_key", json_string(c->cache_key));
		json_object_set(prov, "results", c->results);
		rc = report_write_json(prov_path, prov, err);
	}
	json_decref(prov);
	free(prov_path);
	return rc;
}

static json_t *host_facts(void)
{
	struct utsname u;
	json_t *h = json_object();

	if (uname(&u) == 0) {
		json_object_set_new(h, "kernel", json_string(u.release));
		json_object_set_new(h, "machine", json_string(u.machine));
	}
	json_object_set_new(h, "cpus_online", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_set_new(h, "rootless", json_boolean(getuid() != 0));
	return h;
}

static json_t *run_json_doc(struct stage_ctx *c, const char *digest, const struct error *failure)
{
	json_t *extra = json_object();
	json_t *doc;

	json_object_set_new(extra, "stage", json_string(c->def->name));
	json_object_set_new(extra, "artifact_name", json_string(c->base));
	json_object_set_new(extra, "role", json_string(stage_role_name(c->role)));
	json_object_set_new(extra, "cache_key", json_string(c->cache_key));
	json_object_set_new(
	    extra, "artifact",
	    digest ? json_pack("{s:s, s:s}", "file", strrchr(c->tarball, '/') + 1, "sha256", digest)
	           : json_null());
	json_object_set_new(extra, "failure",
	                    failure
	                        ? json_pack("{s:s, s:s}", "step", c->step, "error", failure->msg)
	                        : json_null());
	json_object_set(extra, "steps", c->steps);
	json_object_set_new(extra, "seconds", json_real((double)(monotonic_ns() - c->t0) / 1e9));
	json_object_set_new(extra, "host", host_facts());
	json_object_set(extra, "cgroup", c->cgroup_json ? c->cgroup_json : json_null());
	json_object_set(extra, "results", c->results);
	if (c->bench_json)
		json_object_set(extra, "bench", c->bench_json);
	doc = report_to_json(&c->spec, c->report, extra);
	json_decref(extra);
	return doc;
}

/* A failed stage's report goes beside, never over, the committed set of
 * an earlier run: NAME.failure.json. */
void stage_write_failure_json(struct stage_ctx *c, const struct error *failure)
{
	struct error ignore = {0};
	char *path = stage_failure_json_path(c->rq->out_dir, c->base);
	json_t *doc = run_json_doc(c, NULL, failure);

	if (report_write_json(path, doc, &ignore) < 0)
		fprintf(stderr, "pgo-sandbox: warning: no failure report: %s\n", ignore.msg);
	json_decref(doc);
	free(path);
}

/* What an earlier run of this stage may have left that the new set does
 * not replace: the other compression's tarball and sidecar (the next
 * stage would otherwise find it) and a failure report. */
static void remove_superseded(const struct stage_ctx *c)
{
	static const enum archive_compression kinds[] = {ARCHIVE_COMP_ZSTD, ARCHIVE_COMP_GZIP};
	char *failure = stage_failure_json_path(c->rq->out_dir, c->base);

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		char *tarball = artifact_path(c->rq->out_dir, c->base, kinds[i]);
		char *side = sidecar_path(tarball);

		if (strcmp(tarball, c->tarball) != 0) {
			unlink(tarball);
			unlink(side);
		}
		free(side);
		free(tarball);
	}
	unlink(failure);
	free(failure);
}

/* The sidecar and the run report, fsynced under the temporary names the
 * janitor knows (make_tmp), ready to be committed with the tarball. */
static int write_companions(struct stage_ctx *c, const char *digest, const char *side_tmp,
                            const char *run_tmp, struct error *err)
{
	char *side = sidecar_path(c->tarball);
	char *run = stage_run_json_path(c->rq->out_dir, c->base);
	char *text = sidecar_text(c->tarball, digest);
	json_t *doc = NULL;
	int rc = write_file_temp(side_tmp, side, text, strlen(text), 0644, err);

	free(text);
	text = NULL;
	if (rc == 0) {
		/* the report covers every step, this one included */
		stage_step_end(c);
		doc = run_json_doc(c, digest, NULL);
		text = json_file_text(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
		if (text == NULL)
			rc = error_set(err, EXIT_RUNNER_ERROR, 0, "encoding %s as JSON", run);
		else
			rc = write_file_temp(run_tmp, run, text, strlen(text), 0644, err);
	}
	free(text);
	json_decref(doc);
	free(side);
	free(run);
	return rc;
}

/* The tarball, its sidecar and its run report appear together or not at
 * all (file_commit.h); an earlier run's set stays whole on failure. */
static int commit_artifact(struct stage_ctx *c, const char *digest, struct error *err)
{
	char *side = sidecar_path(c->tarball);
	char *run = stage_run_json_path(c->rq->out_dir, c->base);
	char *side_tmp = xasprintf("%s.tmp.%ld", side, (long)getpid());
	char *run_tmp = xasprintf("%s.tmp.%ld", run, (long)getpid());
	const struct file_commit files[] = {
	    {.tmp = run_tmp, .final = run},
	    {.tmp = side_tmp, .final = side},
	    {.tmp = c->pack_tmp, .final = c->tarball},
	};
	int rc = write_companions(c, digest, side_tmp, run_tmp, err);

	if (rc == 0)
		rc = file_commit_set(files, sizeof(files) / sizeof(files[0]), c->rq->out_dir, err);
	else {
		unlink(side_tmp);
		unlink(run_tmp);
	}
	if (rc == 0)
		remove_superseded(c);
	free(side);
	free(run);
	free(side_tmp);
	free(run_tmp);
	return rc;
}

int stage_pack_and_commit(struct stage_ctx *c, char digest[DIGEST_STR_MAX], struct error *err)
{
	struct pack_options po;
	uint64_t mtime = 0;

	stage_step_begin(c, "packing");
	if (collect_outputs(c, err) < 0)
		return -1;
	pack_options_default(&po);
	if (parse_u64(c->spec.source_date_epoch, &mtime, err) < 0)
		return error_prefix(err, "source-date-epoch");
	po.mtime = (int64_t)mtime;
	po.compression = c->rq->compression;
	if (archive_pack_dir(c->packdir, c->pack_tmp, &po, err) < 0)
		return error_prefix(err, "packing %s", c->tarball);
	if (digest_file_sha256(c->pack_tmp, digest, err) < 0)
		return -1;
	stage_step_end(c);
	stage_step_begin(c, "committing");
	return commit_artifact(c, digest, err);
}
