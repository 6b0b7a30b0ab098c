/* stage_inputs.c - see stage_inputs.h */
#include "pipeline/stage_inputs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifacts/provenance.h"
#include "pipeline/roles.h"
#include "pipeline/stage_names.h"

/* The top directory of an artifacts directory kept inside the source tree
 * ("artifacts" for artifacts/gcc), or NULL.  It is not source: it is left
 * out of the source digest and hidden from the stages, so the artifacts of
 * one pipeline (or compiler) never leak into another's stages. */
char *stage_source_mask(const struct pipeline *pl)
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
	char *skip = stage_source_mask(pl);
	const char *skips[1] = {skip};
	int rc = tree_digest(pl->source, skips, skip ? 1 : 0, out, err);

	free(skip);
	if (rc < 0)
		return error_prefix(err, "hashing the source tree %s", pl->source);
	return 0;
}

static int resolve_stage_input(const struct pipeline *pl, const char *in_dir, struct input *in,
                               struct error *err)
{
	const struct stage_def *d = pipeline_find_stage(pl, in->name);

	if (d == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "input '%s' is not a stage of %s",
		                 in->name, pl->path);
	in->role = stage_role_of(d->name);
	in->shards = d->shards ? d->shards : 1;
	in->tarballs = xcalloc(in->shards, sizeof(char *));
	in->bases = xcalloc(in->shards, sizeof(char *));
	in->digests = xcalloc(in->shards, sizeof(*in->digests));
	in->provenance = xcalloc(in->shards, sizeof(json_t *));
	for (unsigned s = 0; s < in->shards; s++) {
		in->bases[s] = artifact_base(in->name, s + 1, in->shards);
		in->tarballs[s] = artifact_find(in_dir, in->bases[s]);
		/* The hint is a command that works as written: with this pipeline
		 * file and artifacts directory, whatever the defaults. */
		if (access(in->tarballs[s], F_OK) < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno,
			                 "input %s: %s (run `pgo-sandbox stage %s%s --pipeline %s "
			                 "--artifacts %s` first)",
			                 in->bases[s], in->tarballs[s], in->name,
			                 in->shards > 1 ? " --shard I/N" : "", pl->path, in_dir);
		if (sidecar_verify(in->tarballs[s], in->digests[s], err) < 0)
			return error_prefix(err, "input %s", in->bases[s]);
	}
	return 0;
}

int stage_inputs_resolve(const struct pipeline *pl, const struct stage_def *def, const char *in_dir,
                         struct input **inputs, size_t *n, struct error *err)
{
	*n = 0;
	*inputs = xcalloc(def->n_inputs + 1, sizeof(struct input));
	for (size_t i = 0; i < def->n_inputs; i++) {
		struct input *in = &(*inputs)[(*n)++];

		in->name = xstrdup(def->inputs[i]);
		if (strcmp(in->name, "source") == 0) {
			in->is_source = true;
			in->digests = xcalloc(1, sizeof(*in->digests));
			if (source_digest(pl, in->digests[0], err) < 0)
				return -1;
			continue;
		}
		if (resolve_stage_input(pl, in_dir, in, err) < 0)
			return -1;
	}
	return 0;
}

void stage_inputs_free(struct input *inputs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct input *in = &inputs[i];
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
	free(inputs);
}

bool stage_inputs_have_source(const struct input *inputs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (inputs[i].is_source)
			return true;
	return false;
}

json_t *stage_inputs_json(const struct input *inputs, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		const struct input *in = &inputs[i];
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
