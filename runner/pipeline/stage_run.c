/* stage_run.c - see stage_run.h */
#define _GNU_SOURCE
#include "pipeline/stage_run.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/environment.h"
#include "base/file_commit.h"
#include "image/image.h"
#include "base/json_file.h"
#include "host/janitor.h"
#include "pipeline/pgo.h"
#include "artifacts/provenance.h"
#include "base/report.h"
#include "base/report_json.h"
#include "sandbox/sandbox.h"
#include "pipeline/roles.h"
#include "pipeline/bolt.h"
#include "pipeline/recipe.h"
#include "pipeline/stage_ctx.h"

#define FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
#define FAKETIME_OFFSET "+400d"
#define MASK_TMPFS_SIZE 4096

/* ---- names ---- */

char *artifact_base(const char *name, unsigned shard, unsigned shards)
{
	if (shards <= 1)
		return xstrdup(name);
	return xasprintf("%s.%uof%u", name, shard, shards);
}

char *artifact_path(const char *dir, const char *base, enum archive_compression c)
{
	return xasprintf("%s/%s.tar.%s", dir, base, c == ARCHIVE_COMP_GZIP ? "gz" : "zst");
}

char *artifact_find(const char *dir, const char *base)
{
	char *zst = artifact_path(dir, base, ARCHIVE_COMP_ZSTD);
	char *gz;

	if (access(zst, F_OK) == 0)
		return zst;
	gz = artifact_path(dir, base, ARCHIVE_COMP_GZIP);
	if (access(gz, F_OK) == 0) {
		free(zst);
		return gz;
	}
	free(gz);
	return zst;
}

const char *faketime_library(void)
{
	return access(FAKETIME_LIB, R_OK) == 0 ? FAKETIME_LIB : NULL;
}

static char *run_json_path(const char *dir, const char *base)
{
	return xasprintf("%s/%s.run.json", dir, base);
}

static char *failure_json_path(const char *dir, const char *base)
{
	return xasprintf("%s/%s.failure.json", dir, base);
}

/* ---- steps ---- */

/* ---- inputs ---- */

static const struct stage_def *find_def(const struct pipeline *pl, const char *name)
{
	return pipeline_find_stage(pl, name);
}

/* The top directory of an artifacts directory kept inside the source tree
 * ("artifacts" for artifacts/gcc), or NULL.  It is not source: it is left
 * out of the source digest and hidden from the stages, so the artifacts of
 * one pipeline (or compiler) never leak into another's stages. */
static char *source_rel_artifacts(const struct pipeline *pl)
{
	size_t slen = strlen(pl->source);
	const char *rel;

	if (strncmp(pl->artifacts_dir, pl->source, slen) != 0 || pl->artifacts_dir[slen] != '/')
		return NULL;
	rel = pl->artifacts_dir + slen + 1;
	return xasprintf("%.*s", (int)strcspn(rel, "/"), rel);
}

static int source_digest(const struct pipeline *pl, char out[DIGEST_STR_MAX], struct error *err)
{
	char *skip = source_rel_artifacts(pl);
	const char *skips[1] = {skip};
	int rc = tree_digest(pl->source, skips, skip ? 1 : 0, out, err);

	free(skip);
	if (rc < 0)
		return error_prefix(err, "hashing the source tree %s", pl->source);
	return 0;
}

static int resolve_stage_input(struct stage_ctx *c, struct input *in, struct error *err)
{
	const struct stage_def *d = find_def(c->pl, in->name);

	if (d == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "input '%s' is not a stage of %s",
		                 in->name, c->pl->path);
	in->role = stage_role_of(d->name);
	in->shards = d->shards ? d->shards : 1;
	in->tarballs = xcalloc(in->shards, sizeof(char *));
	in->bases = xcalloc(in->shards, sizeof(char *));
	in->digests = xcalloc(in->shards, sizeof(*in->digests));
	in->provenance = xcalloc(in->shards, sizeof(json_t *));
	for (unsigned s = 0; s < in->shards; s++) {
		in->bases[s] = artifact_base(in->name, s + 1, in->shards);
		in->tarballs[s] = artifact_find(c->rq->in_dir, in->bases[s]);
		/* The hint is a command that works as written: with this pipeline
		 * file and artifacts directory, whatever the defaults. */
		if (access(in->tarballs[s], F_OK) < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno,
			                 "input %s: %s (run `pgo-sandbox stage %s%s --pipeline %s "
			                 "--artifacts %s` first)",
			                 in->bases[s], in->tarballs[s], in->name,
			                 in->shards > 1 ? " --shard I/N" : "", c->pl->path,
			                 c->rq->in_dir);
		if (sidecar_verify(in->tarballs[s], in->digests[s], err) < 0)
			return error_prefix(err, "input %s", in->bases[s]);
	}
	return 0;
}

static int resolve_inputs(struct stage_ctx *c, struct error *err)
{
	c->inputs = xcalloc(c->def->n_inputs + 1, sizeof(struct input));
	for (size_t i = 0; i < c->def->n_inputs; i++) {
		struct input *in = &c->inputs[c->n_inputs++];

		in->name = xstrdup(c->def->inputs[i]);
		if (strcmp(in->name, "source") == 0) {
			in->is_source = true;
			in->digests = xcalloc(1, sizeof(*in->digests));
			if (source_digest(c->pl, in->digests[0], err) < 0)
				return -1;
			continue;
		}
		if (resolve_stage_input(c, in, err) < 0)
			return -1;
	}
	return 0;
}

static bool has_source_input(const struct stage_ctx *c)
{
	for (size_t i = 0; i < c->n_inputs; i++)
		if (c->inputs[i].is_source)
			return true;
	return false;
}

/* ---- environment and definition ---- */

/* The profile a build uses: the context-sensitive merge's when there is
 * one (it holds the first pass too), else the merge's. */
static const struct input *profile_input(const struct stage_ctx *c)
{
	const struct input *cs = stage_input_with_role(c, ROLE_CS_MERGE);

	return cs ? cs : stage_input_with_role(c, ROLE_MERGE);
}

static void build_env(struct stage_ctx *c)
{
	const struct input *merge = profile_input(c);
	const struct input *first = stage_input_with_role(c, ROLE_MERGE);
	char *profile = merge ? pgo_profile_path(c->tc->format, merge->name) : NULL;
	char *cs_base = first && c->role == ROLE_CS_INSTRUMENT
	                    ? pgo_profile_path(c->tc->format, first->name)
	                    : NULL;
	char *order = merge && c->pl->function_order
	                  ? xasprintf("%s/%s/%s/%s", PGO_IN_DIR, merge->name, PGO_PROFILE_SUBDIR,
	                              PGO_SYMBOL_ORDER)
	                  : NULL;
	struct pgo_recipe recipe = recipe_of(c->pl);

	recipe.cs_base = cs_base;
	recipe.symbol_order = order;
	strv_pushf(&c->env, "PGO_ROLE=%s", stage_role_name(c->role));
	pgo_stage_env(c->tc->format, c->role, merge ? merge->name : NULL, c->rq->shard, c->shards,
	              c->site.path_prefix, &c->env);
	c->tc->stage_env(c->role, profile, &recipe, &c->env);
	/* in the bolt stage's definition: its cache key and provenance */
	if (c->role == ROLE_BOLT)
		strv_pushf(&c->env, "PGO_BOLT_OPTIONS=%s",
		           c->pl->bolt_options ? c->pl->bolt_options : BOLT_OPTIONS);
	free(profile);
	free(cs_base);
	free(order);
	strv_pushf(&c->env, "PGO_STAGE=%s", c->def->name);
	/* Training and benchmarking run with the release's knobs: the
	 * profile must describe the program as it will be used. */
	if (c->ops && c->ops->release_env)
		for (size_t i = 0; i < c->pl->n_release_env; i++)
			strv_push(&c->env, c->pl->release_env[i]);
	for (size_t i = 0; i < c->def->n_env; i++)
		strv_push(&c->env, c->def->env[i]);
	pgo_forced_env(c->tc->format, c->role, &c->env);
	/* threads must not lose counts: instrument with atomic updates */
	if (c->pl->training == TRAINING_THREADED &&
	    (c->role == ROLE_INSTRUMENT || c->role == ROLE_CS_INSTRUMENT) &&
	    c->tc->atomic_counter_flags)
		pgo_env_append(&c->env, "PGO_GENERATE_FLAGS", c->tc->atomic_counter_flags);
}

/* `training = threaded`: the train profile's CPUs, widened to two where
 * the runner may use two, so that the program's threads run in parallel
 * (and take their contention paths) as they will in use.  The set is
 * recorded in the results. */
static int widen_training_cpus(struct stage_ctx *c, struct error *err)
{
	uint8_t allowed[CPU_LIST_MAX / 8] = {0};
	cpu_set_t set;
	unsigned n;
	char *text;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno,
		                 "training = threaded: reading the runner's CPU affinity");
	for (unsigned cpu = 0; cpu < CPU_LIST_MAX && cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set))
			allowed[cpu / 8] |= (uint8_t)(1u << (cpu % 8));
	n = pgo_widen_cpus(c->spec.cpus, &c->spec.cpus_set, allowed, 2);
	text = c->spec.cpus_set ? format_cpu_list(c->spec.cpus) : format_cpu_list(allowed);
	json_object_set_new(c->results, "training",
	                    json_pack("{s:s, s:s, s:i, s:s?}", "mode", "threaded", "cpus", text,
	                              "cpu_count", (int)n, "atomic_counter_flags",
	                              c->tc->atomic_counter_flags));
	if (n < 2)
		fprintf(stderr,
		        "pgo-sandbox: warning: training = threaded: only CPU %s is available, so "
		        "the threads of the training run never run in parallel\n",
		        text);
	free(text);
	return 0;
}

static int set_image(struct sandbox_spec *spec, const char *image, struct error *err)
{
	struct stat st;

	if (image == NULL || strcmp(image, "host") == 0) {
		spec->image_kind = IMAGE_HOST;
		return 0;
	}
	if (stat(image, &st) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "image %s", image);
	spec->image_kind = S_ISDIR(st.st_mode) ? IMAGE_DIR : IMAGE_TARBALL;
	spec->image_path = xstrdup(image);
	return 0;
}

static void add_mount(struct sandbox_spec *spec, enum mount_kind kind, const char *src,
                      const char *dst, uint64_t size)
{
	struct mount_spec *m;

	spec->mounts = xrealloc(spec->mounts, (spec->n_mounts + 1) * sizeof(*spec->mounts));
	m = &spec->mounts[spec->n_mounts++];
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->src = src ? xstrdup(src) : NULL;
	m->dst = xstrdup(dst);
	m->size = size;
}

/* The spec without host paths (mounts come once the temporary tree
 * exists): what provenance records is computed from it. */
static int build_spec(struct stage_ctx *c, struct error *err)
{
	struct sandbox_spec *spec = &c->spec;

	spec_init(spec);
	c->spec_ready = true;
	if (profile_apply(&c->profile, spec, err) < 0)
		return error_prefix(err, "profile %s", c->def->profile);
	if (set_image(spec, c->pl->image, err) < 0)
		return -1;
	for (size_t i = 0; i < c->env.n; i++) {
		spec->set_env = xrealloc(spec->set_env, (spec->n_set_env + 2) * sizeof(char *));
		spec->set_env[spec->n_set_env++] = xstrdup(c->env.v[i]);
		spec->set_env[spec->n_set_env] = NULL;
	}
	free(spec->source_date_epoch);
	spec->source_date_epoch =
	    xstrdup(c->pl->source_date_epoch ? c->pl->source_date_epoch : "0");
	free(spec->chdir);
	spec->chdir = xstrdup(PGO_BUILD_DIR);
	if (pgo_role_trains(c->role))
		spec->no_aslr = true; /* clang raw profiles hold addresses */
	if (pgo_role_trains(c->role) && c->pl->training == TRAINING_THREADED &&
	    widen_training_cpus(c, err) < 0)
		return -1;
	spec->no_idmap = c->rq->no_idmap;
	if (getuid() != 0) {
		spec->userns = true;
		spec->uid = (uint32_t)getuid();
		spec->gid = (uint32_t)getgid();
	}
	c->command[0] = "/bin/sh";
	c->command[1] = "-c";
	c->command[2] = c->def->command;
	c->command[3] = NULL;
	spec->argv = c->command;
	return 0;
}

/* Training and measuring see reproducible entropy unless the profile says
 * otherwise: hash tables seeded from the OS change what a training run
 * executes, and so the profile (docs/entropy.md). */
static bool entropy_deterministic(const struct stage_ctx *c)
{
	switch (c->profile.entropy) {
	case PROFILE_ENTROPY_DETERMINISTIC: return true;
	case PROFILE_ENTROPY_HOST: return false;
	case PROFILE_ENTROPY_DEFAULT: break;
	}
	return pgo_role_trains(c->role) || c->role == ROLE_BOLT_TRAIN || c->role == ROLE_BENCH;
}

static json_t *env_object(char *const *kv, size_t n)
{
	json_t *o = json_object();

	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(kv[i], '=');
		char *k = eq ? xasprintf("%.*s", (int)(eq - kv[i]), kv[i]) : xstrdup(kv[i]);

		json_object_set_new(o, k, json_string(eq ? eq + 1 : ""));
		free(k);
	}
	return o;
}

static json_t *inputs_json(const struct stage_ctx *c)
{
	json_t *a = json_array();

	for (size_t i = 0; i < c->n_inputs; i++) {
		const struct input *in = &c->inputs[i];
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(in->name));
		if (in->is_source) {
			json_object_set_new(o, "digest", json_string(in->digests[0]));
		} else {
			json_t *arts = json_array();
			for (unsigned s = 0; s < in->shards; s++) {
				const char *b = strrchr(in->tarballs[s], '/');
				json_array_append_new(arts, json_pack("{s:s, s:s}", "file",
				                                      b ? b + 1 : in->tarballs[s],
				                                      "digest", in->digests[s]));
			}
			json_object_set_new(o, "artifacts", arts);
		}
		json_array_append_new(a, o);
	}
	return a;
}

static const char *image_kind_name(enum image_kind k)
{
	return k == IMAGE_HOST ? "host" : k == IMAGE_DIR ? "directory" : "tarball";
}

int stage_image_digest(const struct pipeline *pl, char digest[DIGEST_STR_MAX], json_t **facts,
                       struct error *err)
{
	const char *image = pl->image ? pl->image : "host";

	/* openat2(RESOLVE_IN_ROOT) answers EAGAIN when a rename raced with
	 * it anywhere on the system: a busy build host sees that.  Any other
	 * failure is final. */
	for (int tries = 1; image_digest(image, digest, facts, err) < 0; tries++)
		if (tries == 3 || err->errnum != EAGAIN)
			return error_prefix(err, "image %s", image);
	return 0;
}

static int build_definition(struct stage_ctx *c, struct error *err)
{
	char *empty_env[] = {NULL};
	char **env;
	json_t *d;
	size_t n_env = 0;

	json_t *facts = NULL;

	stage_step_begin(c, "hashing the image");
	if (c->rq->image_digest) {
		snprintf(c->image_digest, sizeof(c->image_digest), "%s", c->rq->image_digest);
		facts = c->rq->image_facts ? json_incref(c->rq->image_facts) : NULL;
	} else if (stage_image_digest(c->pl, c->image_digest, &facts, err) < 0) {
		return -1;
	}
	stage_step_end(c);
	d = json_object();
	env = environment_build(&c->spec, empty_env);
	while (env[n_env])
		n_env++;
	json_object_set_new(d, "schema", json_string(PROVENANCE_SCHEMA));
	json_object_set_new(d, "schema_version", json_integer(PROVENANCE_SCHEMA_VERSION));
	json_object_set_new(d, "tool",
	                    json_pack("{s:s, s:s}", "name", "pgo-sandbox", "version", PGO_VERSION));
	json_object_set_new(d, "pipeline",
	                    json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "name", c->pl->name,
	                              "compiler", c->tc->name, "training",
	                              training_mode_name(c->pl->training), "source_date_epoch",
	                              c->spec.source_date_epoch, "release_env",
	                              env_object(c->pl->release_env, c->pl->n_release_env),
	                              "recipe", recipe_json(c->pl)));
	json_object_set_new(d, "stage", stage_def_to_json(c->def));
	json_object_set_new(d, "role", json_string(stage_role_name(c->role)));
	json_object_set_new(d, "shard",
	                    c->shards > 1 ? json_pack("{s:i, s:i}", "index", (int)c->rq->shard,
	                                              "count", (int)c->shards)
	                                  : json_null());
	json_object_set_new(d, "profile", profile_to_json(&c->profile));
	json_object_set_new(d, "image",
	                    json_pack("{s:s, s:s, s:o}", "kind",
	                              image_kind_name(c->spec.image_kind), "digest",
	                              c->image_digest, "facts", facts ? facts : json_null()));
	json_object_set_new(d, "inputs", inputs_json(c));
	/* a toolchain outside the image (rustup's): its versions and file
	 * digests are inputs like the image's */
	if (c->site.facts)
		json_object_set(d, "toolchain", c->site.facts);
	json_object_set_new(d, "environment", stage_strings_json(env, n_env));
	json_object_set_new(d, "keep_env",
	                    stage_strings_json(c->spec.keep_env, c->spec.n_keep_env));
	json_object_set_new(d, "command", stage_strings_json(c->command, 3));
	json_object_set_new(d, "options",
	                    json_pack("{s:s, s:s}", "failure_mode",
	                              c->rq->failure_mode_all ? "all" : "any", "compression",
	                              c->rq->compression == ARCHIVE_COMP_GZIP ? "gzip" : "zstd"));
	json_object_set_new(d, "entropy",
	                    json_string(entropy_deterministic(c) ? "deterministic" : "host"));
	environment_free(env);
	c->definition = d;
	json_digest(d, c->cache_key);
	/* The definition digest keys the stream: a rerun of the stage reads
	 * the same bytes, another stage or shard another stream. */
	if (entropy_deterministic(c))
		c->spec.entropy_seed = xstrdup(c->cache_key);
	return 0;
}

/* ---- cache ---- */

static bool cache_hit(struct stage_ctx *c, char digest[DIGEST_STR_MAX])
{
	struct error err = {0};
	json_t *prov;
	const char *key;
	bool hit;

	if (access(c->tarball, F_OK) < 0 || sidecar_verify(c->tarball, digest, &err) < 0)
		return false;
	prov = provenance_load_tarball(c->tarball, &err);
	if (prov == NULL)
		return false;
	key = json_string_value(json_object_get(prov, "cache_key"));
	hit = key && strcmp(key, c->cache_key) == 0;
	json_decref(prov);
	return hit;
}

/* ---- temporary tree ---- */

static int make_dir(const char *path, mode_t mode, struct error *err)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "mkdir %s", path);
	if (chmod(path, mode) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "chmod %s", path);
	return 0;
}

static int make_tmp(struct stage_ctx *c, struct error *err)
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

static int start_janitor(struct stage_ctx *c, struct error *err)
{
	char *cg = janitor_cgroup_parent(c->spec.cgroup_parent);
	int rc = janitor_start(&c->jan, c->janitor_paths.v, c->janitor_paths.n, cg, err);

	/* the child has its own copy; the runner's is not needed */
	free(cg);
	return rc;
}

static int extract_inputs(struct stage_ctx *c, struct error *err)
{
	struct extract_limits limits;
	char *in_root = xasprintf("%s/in", c->tmp);
	int rc = make_dir(in_root, 0755, err);

	free(in_root);
	if (rc < 0)
		return -1;
	extract_limits_default(&limits);
	for (size_t i = 0; i < c->n_inputs; i++) {
		struct input *in = &c->inputs[i];

		if (in->is_source)
			continue;
		in->host_dir = xasprintf("%s/in/%s", c->tmp, in->name);
		if (make_dir(in->host_dir, 0755, err) < 0)
			return -1;
		for (unsigned s = 0; s < in->shards; s++) {
			char *dest = in->shards > 1
			                 ? xasprintf("%s/%uof%u", in->host_dir, s + 1, in->shards)
			                 : xstrdup(in->host_dir);

			rc = make_dir(dest, 0755, err);
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

/* The working tree /build: owned by the sandbox's user, with the input
 * mount points and the helpers owned by the runner. */
static int prepare_work(struct stage_ctx *c, struct error *err)
{
	char *pgo = xasprintf("%s/.pgo", c->work);
	char *bin = xasprintf("%s/.pgo/bin", c->work);
	char *in = xasprintf("%s/in", c->work);
	char *shard = xasprintf("%s/.pgo/bin/pgo-shard", c->work);
	int rc = -1;

	if (make_dir(c->work, 0755, err) < 0 || make_dir(c->outdir, 0755, err) < 0 ||
	    make_dir(pgo, 0755, err) < 0 || make_dir(bin, 0755, err) < 0 ||
	    make_dir(in, 0755, err) < 0 || pgo_write_shard_script(shard, err) < 0)
		goto out;
	for (size_t i = 0; i < c->n_inputs; i++) {
		char *mp;

		if (c->inputs[i].is_source)
			continue;
		mp = xasprintf("%s/%s", in, c->inputs[i].name);
		rc = make_dir(mp, 0755, err);
		free(mp);
		if (rc < 0)
			goto out;
	}
	rc = -1;
	if (getuid() == 0 && (chown(c->work, c->spec.uid, c->spec.gid) < 0 ||
	                      chown(c->outdir, c->spec.uid, c->spec.gid) < 0)) {
		error_set(err, EXIT_RUNNER_ERROR, errno, "chown %s to the sandbox user", c->work);
		goto out;
	}
	rc = 0;
out:
	free(pgo);
	free(bin);
	free(in);
	free(shard);
	return rc;
}

static void add_stage_mounts(struct stage_ctx *c)
{
	char *mask = source_rel_artifacts(c->pl);

	if (has_source_input(c)) {
		/* idmapped: a private checkout (0700, the caller's) stays
		 * readable by the stage's unprivileged user */
		add_mount(&c->spec, MOUNT_BIND_RO_IDMAP, c->pl->source, PGO_SRC_DIR, 0);
		if (mask) {
			/* artifacts kept inside the source tree are no input */
			char *dst = xasprintf("%s/%s", PGO_SRC_DIR, mask);
			add_mount(&c->spec, MOUNT_TMPFS, NULL, dst, MASK_TMPFS_SIZE);
			free(dst);
		}
	}
	free(mask);
	add_mount(&c->spec, MOUNT_BIND_RW, c->work, PGO_BUILD_DIR, 0);
	if (c->site.mount_src)
		add_mount(&c->spec, MOUNT_BIND_RO, c->site.mount_src, c->site.mount_dst, 0);
	for (size_t i = 0; i < c->n_inputs; i++) {
		char *dst;

		if (c->inputs[i].is_source)
			continue;
		dst = xasprintf("%s/%s", PGO_IN_DIR, c->inputs[i].name);
		add_mount(&c->spec, MOUNT_BIND_RO, c->inputs[i].host_dir, dst, 0);
		free(dst);
	}
}

/* ---- running the command ---- */

/* Copies the command's output to the runner's stderr and to the stage
 * log, which the build checks for profile diagnostics. */
static pid_t start_tee(int in_fd, int write_end, int log_fd, struct error *err)
{
	pid_t pid = fork();

	if (pid < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "starting the log copier");
	if (pid == 0) {
		char buf[8192];

		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		close(write_end);
		for (;;) {
			ssize_t n = read(in_fd, buf, sizeof(buf));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				_exit(0);
			if (write_all(STDERR_FILENO, buf, (size_t)n) < 0) {
				/* the terminal went away: keep the log */
			}
			if (write_all(log_fd, buf, (size_t)n) < 0)
				_exit(1);
		}
	}
	return pid;
}

struct saved_stdio {
	int fd[3];
};

static int redirect_stdio(int out_fd, struct saved_stdio *s, struct error *err)
{
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null_fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening /dev/null");
	for (int i = 0; i < 3; i++)
		s->fd[i] = fcntl(i, F_DUPFD_CLOEXEC, 3);
	if (s->fd[0] < 0 || s->fd[1] < 0 || s->fd[2] < 0 || dup2(null_fd, 0) < 0 ||
	    dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0) {
		int saved = errno;
		close(null_fd);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "redirecting the command's output");
	}
	close(null_fd);
	return 0;
}

static void restore_stdio(struct saved_stdio *s)
{
	fflush(stdout);
	fflush(stderr);
	for (int i = 0; i < 3; i++) {
		if (s->fd[i] >= 0) {
			dup2(s->fd[i], i);
			close(s->fd[i]);
		}
	}
}

static int run_logged(struct stage_ctx *c, struct error *err)
{
	struct saved_stdio saved = {{-1, -1, -1}};
	int pipefd[2], log_fd;
	pid_t tee;
	mode_t old_umask;
	int rc;

	log_fd = open(c->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (log_fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "creating %s", c->log);
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		close(log_fd);
		return error_set(err, EXIT_RUNNER_ERROR, errno, "creating the log pipe");
	}
	fflush(stdout);
	fflush(stderr);
	tee = start_tee(pipefd[0], pipefd[1], log_fd, err);
	close(pipefd[0]);
	close(log_fd);
	if (tee < 0) {
		close(pipefd[1]);
		return -1;
	}
	rc = redirect_stdio(pipefd[1], &saved, err);
	close(pipefd[1]);
	if (rc == 0) {
		/* the command's files do not depend on the caller's umask */
		old_umask = umask(022);
		rc = c->ops && c->ops->run ? c->ops->run(c)
		                           : sandbox_run(&c->spec, c->report, &c->cgroup_json);
		umask(old_umask);
	} else {
		rc = -1;
	}
	restore_stdio(&saved);
	while (waitpid(tee, NULL, 0) < 0 && errno == EINTR)
		;
	return rc;
}

static void describe_failure(const struct stage_ctx *c, int rc, struct error *err)
{
	const struct run_report *r = c->report;

	if (r->timed_out)
		error_set(err, rc, 0, "the command timed out (profile %s)", c->def->profile);
	else if (r->oom_killed)
		error_set(err, rc, 0, "the command was killed by the OOM killer (profile %s)",
		          c->def->profile);
	else if (r->setup_error.exit_code)
		error_set(err, rc, 0, "the sandbox could not be set up: %s", r->setup_error.msg);
	else if (r->command_started && WIFSIGNALED(r->wait_status))
		error_set(err, rc, 0, "the command was killed by signal %d",
		          WTERMSIG(r->wait_status));
	else
		error_set(err, rc, 0, "the command exited with status %d", rc);
}

static int check_outputs(struct stage_ctx *c, struct error *err)
{
	if (c->ops && c->ops->check_outputs && c->ops->check_outputs(c, err) < 0)
		return -1;
	for (size_t i = 0; i < c->def->n_outputs; i++) {
		char *p = xasprintf("%s/%s", c->outdir, c->def->outputs[i]);
		struct stat st;
		int rc = lstat(p, &st);

		free(p);
		if (rc < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno,
			                 "declared output %s/%s is missing", PGO_OUT_DIR,
			                 c->def->outputs[i]);
	}
	return 0;
}

/* ---- packing and committing ---- */

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
		rc = make_dir(c->packdir, 0755, err);
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
static void write_failure_json(struct stage_ctx *c, const struct error *failure)
{
	struct error ignore = {0};
	char *path = failure_json_path(c->rq->out_dir, c->base);
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
	char *failure = failure_json_path(c->rq->out_dir, c->base);

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
	char *run = run_json_path(c->rq->out_dir, c->base);
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
	char *run = run_json_path(c->rq->out_dir, c->base);
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

static int pack_and_commit(struct stage_ctx *c, char digest[DIGEST_STR_MAX], struct error *err)
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

/* ---- the stage ---- */

static int setup_ctx(struct stage_ctx *c, const struct stage_request *rq, struct error *err)
{
	memset(c, 0, sizeof(*c));
	c->jan = (struct janitor)JANITOR_INIT;
	c->rq = rq;
	c->pl = rq->pl;
	c->def = rq->def;
	c->t0 = monotonic_ns();
	c->role = stage_role_of(c->def->name);
	c->ops = stage_role_ops(c->role);
	c->shards = c->def->shards ? c->def->shards : 1;
	c->steps = json_array();
	c->results = json_object();
	c->step = "loading the stage";
	c->base = artifact_base(c->def->name, rq->shard, c->shards);
	c->tarball = artifact_path(rq->out_dir, c->base, rq->compression);
	c->pack_tmp = xasprintf("%s/.%s.%ld.part", rq->out_dir, c->base, (long)getpid());
	c->report = report_create();
	if (c->report == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, ENOMEM, "allocating the run report");
	if (toolchain_find(c->pl->compiler, &c->tc, err) < 0)
		return -1;
	if (c->shards > 1 && (rq->shard < 1 || rq->shard > c->shards))
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "stage %s has %u shards: pass --shard I/%u (1 <= I <= %u)",
		                 c->def->name, c->shards, c->shards, c->shards);
	if (mkdir_p(rq->out_dir, 0755, err) < 0)
		return -1;
	stage_step_begin(c, "loading the profile");
	if (profile_load_named(c->pl->profiles_dir, c->def->profile, &c->profile, err) < 0)
		return -1;
	c->profile_loaded = true;
	stage_step_end(c);
	return 0;
}

static void free_ctx(struct stage_ctx *c)
{
	for (size_t i = 0; i < c->n_inputs; i++) {
		struct input *in = &c->inputs[i];
		for (unsigned s = 0; s < in->shards; s++) {
			free(in->tarballs[s]);
			free(in->bases[s]);
			json_decref(in->provenance[s]);
		}
		free(in->tarballs);
		free(in->bases);
		free(in->provenance);
		free(in->digests);
		free(in->host_dir);
		free(in->name);
	}
	free(c->inputs);
	if (c->profile_loaded)
		profile_free(&c->profile);
	strv_free(&c->env);
	strv_free(&c->janitor_paths);
	json_decref(c->definition);
	json_decref(c->results);
	json_decref(c->steps);
	json_decref(c->cgroup_json);
	json_decref(c->bench_json);
	if (c->spec_ready)
		spec_free(&c->spec);
	if (c->report)
		report_destroy(c->report);
	free(c->base);
	free(c->tarball);
	free(c->pack_tmp);
	free(c->tmp);
	free(c->work);
	free(c->outdir);
	free(c->packdir);
	free(c->log);
	free(c->profdata_host);
	free(c->profdata_sandbox);
	toolchain_site_free(&c->site);
}

static void cleanup_tmp(struct stage_ctx *c)
{
	struct error err = {0};

	unlink(c->pack_tmp);
	if (c->tmp && remove_tree(c->tmp, &err) < 0)
		fprintf(stderr, "pgo-sandbox: warning: %s\n", err.msg);
	janitor_dismiss(&c->jan);
}

static void add_perturbation(struct stage_ctx *c)
{
	const char *lib = faketime_library();

	if (lib == NULL)
		return;
	c->spec.set_env = xrealloc(c->spec.set_env, (c->spec.n_set_env + 3) * sizeof(char *));
	c->spec.set_env[c->spec.n_set_env++] = xasprintf("LD_PRELOAD=%s", lib);
	c->spec.set_env[c->spec.n_set_env++] = xstrdup("FAKETIME=" FAKETIME_OFFSET);
	c->spec.set_env[c->spec.n_set_env] = NULL;
}

/* A toolchain outside the host image's /usr (rustup's) is found with the
 * caller's PATH; other images bring their own. */
int stage_locate_toolchain(const struct pipeline *pl, struct toolchain_site *site,
                           struct error *err)
{
	const struct toolchain *tc;

	memset(site, 0, sizeof(*site));
	if (toolchain_find(pl->compiler, &tc, err) < 0)
		return -1;
	if (pl->image && strcmp(pl->image, "host") != 0)
		return 0;
	if (tc->locate && tc->locate(site, err) < 0)
		return -1;
	/* `cc = clang-19`: its LLVM decides which llvm-profdata merges
	 * (profdata.h) and whether the recipe is possible */
	if (tc->llvm_major_of && (pl->cc || pl->function_order))
		site->llvm_major = tc->llvm_major_of(pl->cc ? pl->cc : tc->name);
	return 0;
}

/* A pipeline locates its toolchain once for all its stages (~0.2 s of
 * rustc -vV and digests each time). */
static int locate_toolchain(struct stage_ctx *c, struct error *err)
{
	if (c->rq->toolchain_site) {
		toolchain_site_copy(&c->site, c->rq->toolchain_site);
		return 0;
	}
	stage_step_begin(c, "locating the toolchain");
	if (stage_locate_toolchain(c->pl, &c->site, err) < 0)
		return -1;
	stage_step_end(c);
	return 0;
}

/* Everything up to the cache decision: no host state is created. */
static int plan_stage(struct stage_ctx *c, struct error *err)
{
	stage_step_begin(c, "checking the inputs");
	if (resolve_inputs(c, err) < 0)
		return -1;
	stage_step_end(c);
	/* A toolchain whose refusals do not depend on the compiler's version
	 * (rustc, gcc: no llvm_major_of) refuses before it is located: "rustc
	 * has no CS-PGO" must not hide behind "this rustc has no profiler
	 * runtime". */
	if (c->tc->llvm_major_of == NULL && recipe_check(c->pl, c->tc, 0, err) < 0)
		return -1;
	if (locate_toolchain(c, err) < 0)
		return -1;
	if (c->tc->llvm_major_of && recipe_check(c->pl, c->tc, c->site.llvm_major, err) < 0)
		return -1;
	build_env(c);
	stage_step_begin(c, "building the sandbox spec");
	if (build_spec(c, err) < 0)
		return -1;
	stage_step_end(c);
	return build_definition(c, err);
}

static int run_stage(struct stage_ctx *c, char digest[DIGEST_STR_MAX], struct error *err)
{
	int rc;

	stage_step_begin(c, "creating the working tree");
	if (make_tmp(c, err) < 0 || start_janitor(c, err) < 0)
		return -1;
	stage_step_end(c);
	stage_step_begin(c, "extracting the inputs");
	if (extract_inputs(c, err) < 0)
		return -1;
	stage_step_end(c);
	stage_step_begin(c, "preparing the working tree");
	if (prepare_work(c, err) < 0)
		return -1;
	stage_step_end(c);
	if (c->ops && c->ops->prepare && c->ops->prepare(c, err) < 0)
		return -1;
	stage_step_begin(c, "preparing the mounts");
	add_stage_mounts(c);
	if (c->rq->perturb)
		add_perturbation(c);
	stage_step_end(c);
	stage_step_begin(c, "running the command");
	rc = run_logged(c, err);
	if (rc < 0)
		return -1;
	if (rc != 0) {
		describe_failure(c, rc, err);
		if (c->ops && c->ops->explain_failure)
			c->ops->explain_failure(c, rc, err);
		return -1;
	}
	stage_step_end(c);
	stage_step_begin(c, "checking the outputs");
	if (check_outputs(c, err) < 0)
		return -1;
	stage_step_end(c);
	return pack_and_commit(c, digest, err);
}

int stage_execute(const struct stage_request *rq, struct stage_outcome *out)
{
	struct stage_ctx c;
	struct error err = {0};
	char digest[DIGEST_STR_MAX] = "";
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (setup_ctx(&c, rq, &err) < 0 || plan_stage(&c, &err) < 0) {
		rc = -1;
	} else if (!rq->force && cache_hit(&c, digest)) {
		out->cached = true;
		printf("pgo-sandbox: %s: cached (inputs, definition and image unchanged): %s\n",
		       c.base, c.tarball);
	} else {
		printf("pgo-sandbox: %s: running (%s role, %s profile)\n", c.base,
		       stage_role_name(c.role), c.def->profile);
		fflush(stdout);
		rc = run_stage(&c, digest, &err);
		if (rc == 0)
			printf("pgo-sandbox: %s: %s %s (%.1fs)\n", c.base, c.tarball, digest,
			       (double)(monotonic_ns() - c.t0) / 1e9);
	}
	if (rc < 0) {
		fprintf(stderr,
		        "pgo-sandbox: stage %s failed at step '%s': %s; nothing written "
		        "to %s\n",
		        c.base ? c.base : rq->def->name, c.step, err.msg,
		        c.tarball ? c.tarball : "the artifacts directory");
		if (c.definition && c.tmp)
			write_failure_json(&c, &err);
	}
	if (c.tmp)
		cleanup_tmp(&c);
	out->seconds = (double)(monotonic_ns() - c.t0) / 1e9;
	if (rc == 0) {
		out->artifact = xstrdup(c.tarball);
		snprintf(out->digest, sizeof(out->digest), "%s", digest);
	}
	free_ctx(&c);
	if (rc == 0)
		return 0;
	return err.exit_code && err.exit_code != EXIT_RUNNER_ERROR ? err.exit_code
	                                                           : EXIT_RUNNER_ERROR;
}

void stage_outcome_free(struct stage_outcome *o)
{
	free(o->artifact);
	o->artifact = NULL;
}
