/* stage_cache.c - see stage_cache.h */
#include "pipeline/stage_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifacts/provenance.h"
#include "base/string_table.h"
#include "image/image.h"
#include "pipeline/recipe.h"
#include "pipeline/roles.h"
#include "pipeline/stage_inputs.h"
#include "sandbox/environment.h"

/* Training and measuring see reproducible entropy unless the profile says
 * otherwise: hash tables seeded from the OS change what a training run
 * executes, and so the profile (docs/entropy.md). */
bool stage_entropy_deterministic(const struct stage_ctx *c)
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

static const char *const image_kind_names[] = {
    [IMAGE_HOST] = "host",
    [IMAGE_DIR] = "directory",
    [IMAGE_TARBALL] = "tarball",
};
static DEFINE_STRING_TABLE_TO_NAME(image_kind_name, enum image_kind, image_kind_names, "tarball");

int stage_image_digest(const struct pipeline *pl, char digest[DIGEST_STR_MAX], json_t **facts,
                       struct error *err)
{
	const char *image = pl->image ? pl->image : "host";

	/* resolve_in_root retries openat2's EAGAIN itself: any failure here is final. */
	if (image_digest(image, digest, facts, err) < 0)
		return error_prefix(err, "image %s", image);
	return 0;
}

json_t *stage_definition_json(const struct stage_ctx *c, json_t *image_facts)
{
	char *empty_env[] = {NULL};
	char **env = environment_build(&c->spec, empty_env);
	json_t *d = json_object();
	size_t n_env = 0;

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
	json_object_set_new(
	    d, "image",
	    json_pack("{s:s, s:s, s:o}", "kind", image_kind_name(c->spec.image_kind), "digest",
	              c->image_digest, "facts", image_facts ? image_facts : json_null()));
	json_object_set_new(d, "inputs", stage_inputs_json(c->inputs, c->n_inputs));
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
	                    json_string(stage_entropy_deterministic(c) ? "deterministic" : "host"));
	environment_free(env);
	return d;
}

void stage_cache_key(const json_t *definition, char key[DIGEST_STR_MAX])
{
	json_digest(definition, key);
}

int stage_build_definition(struct stage_ctx *c, struct error *err)
{
	json_t *facts = NULL;

	stage_step_begin(c, "hashing the image");
	if (c->rq->image_digest) {
		snprintf(c->image_digest, sizeof(c->image_digest), "%s", c->rq->image_digest);
		facts = c->rq->image_facts ? json_incref(c->rq->image_facts) : NULL;
	} else if (stage_image_digest(c->pl, c->image_digest, &facts, err) < 0) {
		return -1;
	}
	stage_step_end(c);
	c->definition = stage_definition_json(c, facts);
	stage_cache_key(c->definition, c->cache_key);
	/* The definition digest keys the stream: a rerun of the stage reads
	 * the same bytes, another stage or shard another stream. */
	if (stage_entropy_deterministic(c))
		c->spec.entropy_seed = xstrdup(c->cache_key);
	return 0;
}

bool stage_cache_hit(const struct stage_ctx *c, char digest[DIGEST_STR_MAX])
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
