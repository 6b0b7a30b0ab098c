/* stage_spec.c - see stage_spec.h */
#define _GNU_SOURCE
#include "pipeline/stage_spec.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/bolt.h"
#include "pipeline/recipe.h"
#include "pipeline/roles.h"

#define FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
#define FAKETIME_OFFSET "+400d"

const char *faketime_library(void)
{
	return access(FAKETIME_LIB, R_OK) == 0 ? FAKETIME_LIB : NULL;
}

/* The profile a build uses: the context-sensitive merge's when there is
 * one (it holds the first pass too), else the merge's. */
static const struct input *profile_input(const struct stage_ctx *c)
{
	const struct input *cs = stage_input_with_role(c, ROLE_CS_MERGE);

	return cs ? cs : stage_input_with_role(c, ROLE_MERGE);
}

void stage_build_env(struct stage_ctx *c)
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

int stage_build_spec(struct stage_ctx *c, struct error *err)
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

void stage_add_perturbation(struct stage_ctx *c)
{
	const char *lib = faketime_library();

	if (lib == NULL)
		return;
	c->spec.set_env = xrealloc(c->spec.set_env, (c->spec.n_set_env + 3) * sizeof(char *));
	c->spec.set_env[c->spec.n_set_env++] = xasprintf("LD_PRELOAD=%s", lib);
	c->spec.set_env[c->spec.n_set_env++] = xstrdup("FAKETIME=" FAKETIME_OFFSET);
	c->spec.set_env[c->spec.n_set_env] = NULL;
}
