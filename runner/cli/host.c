/* host.c - `pgo-sandbox host restore|status`: the host settings (turbo,
 * governor) a killed run left changed (host/hosttune.h). */
#define _GNU_SOURCE
#include <stdbool.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "host/hosttune.h"

enum { OPT_SYSFS_ROOT = 256, OPT_STATE_DIR, OPT_FORCE, OPT_HELP };

static const struct option host_options[] = {
    {"sysfs-root", required_argument, NULL, OPT_SYSFS_ROOT},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"force", no_argument, NULL, OPT_FORCE},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

struct host_request {
	const char *sysfs_root, *state_dir;
	bool force;
};

static void usage(FILE *out, const char *command)
{
	(void)command;
	fputs("usage: pgo-sandbox host restore [--force] [--sysfs-root DIR] [--state-dir DIR]\n"
	      "       pgo-sandbox host status [--sysfs-root DIR] [--state-dir DIR]\n"
	      "restore puts back host settings (turbo, governor) left changed by runs that\n"
	      "died; --force also takes them from runs that are still alive.\n",
	      out);
}

static int handle(void *request, const struct cli_opt *o, struct error *err)
{
	struct host_request *rq = request;

	switch (o->id) {
	case OPT_SYSFS_ROOT: rq->sysfs_root = o->arg; return 0;
	case OPT_STATE_DIR: rq->state_dir = o->arg; return 0;
	case OPT_FORCE: rq->force = true; return 0;
	default:
		return error_set(err, EXIT_RUNNER_ERROR, 0, "host: option %s is not handled",
		                 o->name ? o->name : "?");
	}
}

static const struct cli_parser host_parser = {
    .command = "host",
    .shortopts = ":h",
    .longopts = host_options,
    .help = OPT_HELP,
    .usage = usage,
    .handle = handle,
};

int cli_host(int argc, char **argv)
{
	struct host_request rq = {.state_dir = HOSTTUNE_DEFAULT_STATE_DIR};
	struct error err = {0};
	const char *cmd;
	int first, rc;

	rc = cli_parse(&host_parser, argc, argv, &rq, &first, &err);
	if (rc != 0)
		return rc > 0 ? 0 : cli_fail(&err);
	if (argc - first > 1) {
		fprintf(stderr, "pgo-sandbox: host: unexpected argument '%s'\n", argv[first + 1]);
		usage(stderr, "host");
		return EXIT_RUNNER_ERROR;
	}
	cmd = first < argc ? argv[first] : "";
	if (strcmp(cmd, "restore") == 0) {
		rc = hosttune_host_restore(rq.state_dir, rq.sysfs_root, rq.force, &err);
	} else if (strcmp(cmd, "status") == 0 && !rq.force) {
		rc = hosttune_host_status(rq.state_dir, rq.sysfs_root, &err);
	} else {
		usage(stderr, "host");
		return EXIT_RUNNER_ERROR;
	}
	return rc < 0 ? cli_fail(&err) : 0;
}
