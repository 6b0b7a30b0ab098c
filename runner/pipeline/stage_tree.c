/* stage_tree.c - see stage_tree.h */
#define _GNU_SOURCE
#include "pipeline/stage_tree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/archive.h"
#include "base/cleanup.h"
#include "artifacts/provenance.h"
#include "pipeline/stage_inputs.h"
#include "sandbox/mount_plan.h"

#define MASK_TMPFS_SIZE 4096

int stage_make_dir(const char *path, mode_t mode, struct error *err)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "mkdir %s", path);
	if (chmod(path, mode) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "chmod %s", path);
	return 0;
}

int stage_make_tmp(struct stage_ctx *c, struct error *err)
{
	const char *base = getenv("TMPDIR");
	char *tmpl = xasprintf("%s/pgo-sandbox-stage.XXXXXX", base && *base ? base : "/var/tmp");

	if (mkdtemp(tmpl) == NULL) {
		int saved = errno;
		free(tmpl);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "creating a temporary directory");
	}
	c->tmp = tmpl;
	c->work = xasprintf("%s/work", tmpl);
	c->outdir = xasprintf("%s/work/out", tmpl);
	c->packdir = xasprintf("%s/pack", tmpl);
	c->log = xasprintf("%s/log", tmpl);
	strv_push(&c->janitor_paths, c->tmp);
	strv_push(&c->janitor_paths, c->pack_tmp);
	strv_pushf(&c->janitor_paths, "%s.tmp.%ld", c->pack_tmp, (long)getpid());
	strv_pushf(&c->janitor_paths, "%s.sha256.tmp.%ld", c->tarball, (long)getpid());
	strv_pushf(&c->janitor_paths, "%s/%s.run.json.tmp.%ld", c->rq->out_dir, c->base,
	           (long)getpid());
	return 0;
}

int stage_start_janitor(struct stage_ctx *c, struct error *err)
{
	char *cg = janitor_cgroup_parent(c->spec.cgroup_parent);
	int rc = janitor_start(&c->jan, c->janitor_paths.v, c->janitor_paths.n, cg, err);

	/* the child has its own copy; the runner's is not needed */
	free(cg);
	return rc;
}

int stage_extract_inputs(struct stage_ctx *c, struct error *err)
{
	struct extract_limits limits;
	char *in_root = xasprintf("%s/in", c->tmp);
	int rc = stage_make_dir(in_root, 0755, err);

	free(in_root);
	if (rc < 0)
		return -1;
	extract_limits_default(&limits);
	for (size_t i = 0; i < c->n_inputs; i++) {
		struct input *in = &c->inputs[i];

		if (in->is_source)
			continue;
		in->host_dir = xasprintf("%s/in/%s", c->tmp, in->name);
		if (stage_make_dir(in->host_dir, 0755, err) < 0)
			return -1;
		for (unsigned s = 0; s < in->shards; s++) {
			char *dest = in->shards > 1
			                 ? xasprintf("%s/%uof%u", in->host_dir, s + 1, in->shards)
			                 : xstrdup(in->host_dir);

			rc = stage_make_dir(dest, 0755, err);
			if (rc == 0 &&
			    archive_extract_safe(in->tarballs[s], dest, &limits, err) < 0)
				rc = error_prefix(err, "input %s (%s)", in->bases[s],
				                  in->tarballs[s]);
			/* the extraction root keeps the caller's umask: open it */
			if (rc == 0 && chmod(dest, 0755) < 0)
				rc = error_set(err, EXIT_RUNNER_ERROR, errno, "chmod %s", dest);
			if (rc == 0) {
				in->provenance[s] = provenance_load_dir(dest, err);
				if (in->provenance[s] == NULL)
					rc = error_prefix(err, "input %s", in->bases[s]);
			}
			free(dest);
			if (rc < 0)
				return -1;
		}
	}
	return 0;
}

int stage_prepare_work(struct stage_ctx *c, struct error *err)
{
	_cleanup_free_ char *pgo = xasprintf("%s/.pgo", c->work);
	_cleanup_free_ char *bin = xasprintf("%s/.pgo/bin", c->work);
	_cleanup_free_ char *in = xasprintf("%s/in", c->work);
	_cleanup_free_ char *shard = xasprintf("%s/.pgo/bin/pgo-shard", c->work);

	if (stage_make_dir(c->work, 0755, err) < 0 || stage_make_dir(c->outdir, 0755, err) < 0 ||
	    stage_make_dir(pgo, 0755, err) < 0 || stage_make_dir(bin, 0755, err) < 0 ||
	    stage_make_dir(in, 0755, err) < 0 || pgo_write_shard_script(shard, err) < 0)
		return -1;
	for (size_t i = 0; i < c->n_inputs; i++) {
		if (c->inputs[i].is_source)
			continue;
		_cleanup_free_ char *mp = xasprintf("%s/%s", in, c->inputs[i].name);
		if (stage_make_dir(mp, 0755, err) < 0)
			return -1;
	}
	if (getuid() == 0 && (chown(c->work, c->spec.uid, c->spec.gid) < 0 ||
	                      chown(c->outdir, c->spec.uid, c->spec.gid) < 0))
		return error_set(err, EXIT_RUNNER_ERROR, errno, "chown %s to the sandbox user",
		                 c->work);
	return 0;
}

void stage_add_mounts(struct stage_ctx *c)
{
	char *mask = stage_source_mask(c->pl);

	if (stage_inputs_have_source(c->inputs, c->n_inputs)) {
		/* idmapped: a private checkout (0700, the caller's) stays
		 * readable by the stage's unprivileged user */
		mount_spec_add(&c->spec, MOUNT_BIND_RO_IDMAP, c->pl->source, PGO_SRC_DIR, 0);
		if (mask) {
			/* artifacts kept inside the source tree are no input */
			char *dst = xasprintf("%s/%s", PGO_SRC_DIR, mask);
			mount_spec_add(&c->spec, MOUNT_TMPFS, NULL, dst, MASK_TMPFS_SIZE);
			free(dst);
		}
	}
	free(mask);
	mount_spec_add(&c->spec, MOUNT_BIND_RW, c->work, PGO_BUILD_DIR, 0);
	if (c->site.mount_src)
		mount_spec_add(&c->spec, MOUNT_BIND_RO, c->site.mount_src, c->site.mount_dst, 0);
	for (size_t i = 0; i < c->n_inputs; i++) {
		char *dst;

		if (c->inputs[i].is_source)
			continue;
		dst = xasprintf("%s/%s", PGO_IN_DIR, c->inputs[i].name);
		mount_spec_add(&c->spec, MOUNT_BIND_RO, c->inputs[i].host_dir, dst, 0);
		free(dst);
	}
}

void stage_cleanup_tmp(struct stage_ctx *c)
{
	struct error err = {0};

	unlink(c->pack_tmp);
	if (c->tmp && remove_tree(c->tmp, &err) < 0)
		fprintf(stderr, "pgo-sandbox: warning: %s\n", err.msg);
	janitor_dismiss(&c->jan);
}
