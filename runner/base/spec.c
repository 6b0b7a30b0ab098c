/* spec.c - see spec.h */
#define _GNU_SOURCE
#include "base/spec.h"
#include "base/strv.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void spec_init(struct sandbox_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->image_kind = IMAGE_HOST;
	spec->tmpfs_size = DEFAULT_TMPFS_SIZE;
	spec->kill_grace_ns = DEFAULT_KILL_GRACE_NS;
	spec->hostname = xstrdup(DEFAULT_HOSTNAME);
	spec->uid = DEFAULT_UNPRIVILEGED_ID;
	spec->gid = DEFAULT_UNPRIVILEGED_ID;
	spec->sysfs_root = xstrdup("/");
	spec->state_dir = xstrdup("/run/pgo-sandbox");
	spec->cpu_max_period_us = 100000;
}

void spec_free(struct sandbox_spec *spec)
{
	for (size_t i = 0; i < spec->n_mounts; i++) {
		free(spec->mounts[i].src);
		free(spec->mounts[i].dst);
	}
	free(spec->mounts);
	free(spec->image_path);
	free(spec->chdir);
	free(spec->hostname);
	strv_free_n(spec->keep_env, spec->n_keep_env);
	strv_free_n(spec->set_env, spec->n_set_env);
	free(spec->source_date_epoch);
	free(spec->pass_fds);
	free(spec->cgroup_parent);
	free(spec->governor);
	free(spec->sysfs_root);
	free(spec->state_dir);
	free(spec->report_path);
	free(spec->entropy_seed);
	memset(spec, 0, sizeof(*spec));
}
