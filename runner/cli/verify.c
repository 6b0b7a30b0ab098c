/* verify.c - `pgo-sandbox verify NAME`: a stage run twice under varied
 * conditions (umask, TZ, locale, directories, a later clock); fails unless
 * both tarballs are byte-identical (pipeline/verify_diff.h says why). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/stage_options.h"
#include "pipeline/pgo.h"
#include "pipeline/roles.h"
#include "pipeline/stage_run.h"
#include "pipeline/verify_diff.h"

/* Wait until the wall clock is at least one whole second further, so
 * that anything reading the time sees a different value in run 2. */
static void next_second(void)
{
	struct timespec now, until;

	clock_gettime(CLOCK_REALTIME, &now);
	until.tv_sec = 0;
	until.tv_nsec = 1000000000L - now.tv_nsec;
	nanosleep(&until, NULL);
	sleep(1);
}

static int verify_run(const struct stage_cli *o, const struct pipeline *pl,
                      const struct stage_def *d, const char *out_dir, bool perturb, char **artifact)
{
	struct stage_request rq;
	struct stage_outcome out;
	int rc;

	stage_cli_request(&rq, o, pl, d, o->shard);
	rq.out_dir = out_dir;
	rq.force = true;
	rq.perturb = perturb;
	rc = stage_execute(&rq, &out);
	*artifact = out.artifact ? xstrdup(out.artifact) : NULL;
	stage_outcome_free(&out);
	return rc;
}

static int vary_conditions(const char *root, struct error *err)
{
	char *cwd = xasprintf("%s/elsewhere", root);
	char *tmp = xasprintf("%s/tmp", root);
	int rc = 0;

	if (mkdir_p(cwd, 0755, err) < 0 || mkdir_p(tmp, 0755, err) < 0 || chdir(cwd) < 0)
		rc =
		    err->exit_code ? -1 : error_set(err, EXIT_RUNNER_ERROR, errno, "chdir %s", cwd);
	if (rc == 0) {
		umask(077);
		setenv("TZ", "Pacific/Chatham", 1);
		setenv("LANG", "tr_TR.UTF-8", 1);
		setenv("LC_ALL", "tr_TR.UTF-8", 1);
		setenv("TMPDIR", tmp, 1);
	}
	free(cwd);
	free(tmp);
	return rc;
}

int cli_verify(int argc, char **argv)
{
	struct stage_cli o;
	struct pipeline pl;
	struct error err = {0};
	const struct stage_def *d;
	char tmpl[] = "/var/tmp/pgo-sandbox-verify.XXXXXX";
	char *dir_a = NULL, *dir_b = NULL, *art_a = NULL, *art_b = NULL;
	char *old_cwd = getcwd(NULL, 0);
	int rc = stage_cli_parse(argc, argv, true, &o, &err);

	if (rc != 0) {
		free(old_cwd);
		return rc > 0 ? 0 : cli_fail(&err);
	}
	if (stage_cli_load_pipeline(&o, &pl, &err) < 0) {
		free(old_cwd);
		return cli_fail(&err);
	}
	d = stage_cli_find_stage(&pl, o.name, &err);
	if (d == NULL || stage_cli_check_shard(&o, d, &err) < 0 || mkdtemp(tmpl) == NULL) {
		if (err.exit_code == 0)
			error_set(&err, EXIT_RUNNER_ERROR, errno, "creating %s", tmpl);
		pipeline_free(&pl);
		free(old_cwd);
		return cli_fail(&err);
	}
	if (stage_role_of(d->name) == ROLE_BENCH)
		printf("verify: note: a bench stage measures time; its report is not expected to "
		       "be byte-identical\n");
	dir_a = xasprintf("%s/run1", tmpl);
	dir_b = xasprintf("%s/run2", tmpl);
	printf("verify: run 1 of %s (umask 022, TZ/LANG as given, cwd %s)\n", d->name,
	       old_cwd ? old_cwd : "?");
	umask(022);
	rc = verify_run(&o, &pl, d, dir_a, false, &art_a);
	if (rc == 0) {
		next_second();
		if (vary_conditions(tmpl, &err) < 0) {
			rc = cli_fail(&err);
		} else {
			printf("verify: run 2 (umask 077, TZ=Pacific/Chatham, LC_ALL=tr_TR.UTF-8, "
			       "another working and temporary directory, a later wall clock%s)\n",
			       faketime_library() ? ", faketime +400 days inside"
			                          : "; faketime is not installed, so the clock "
			                            "inside differs by seconds only");
			rc = verify_run(&o, &pl, d, dir_b, true, &art_b);
		}
	}
	if (old_cwd && chdir(old_cwd) < 0)
		fprintf(stderr, "pgo-sandbox: warning: chdir %s: %s\n", old_cwd, strerror(errno));
	umask(022);
	if (rc == 0) {
		rc = verify_compare(&pl, d, art_a, art_b, tmpl, &err);
		if (rc < 0)
			rc = cli_fail(&err);
	}
	if (o.keep)
		printf("verify: both runs kept in %s\n", tmpl);
	else if (remove_tree(tmpl, &err) < 0)
		fprintf(stderr, "pgo-sandbox: warning: %s\n", err.msg);
	free(dir_a);
	free(dir_b);
	free(art_a);
	free(art_b);
	free(old_cwd);
	pipeline_free(&pl);
	return rc;
}
