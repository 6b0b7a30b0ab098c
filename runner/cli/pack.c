/* pack.c - `pgo-sandbox pack SRC_DIR OUT.tar[.zst|.gz]`: a byte-reproducible
 * tarball of a directory (artifacts/archive.h), and its sha256. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts/archive.h"
#include "artifacts/digest.h"
#include "cli/commands.h"
#include "cli/options.h"

static const char pack_help[] =
    "usage: pgo-sandbox pack SRC_DIR OUT.tar[.zst|.gz] [OPTIONS]\n"
    "\n"
    "Pack SRC_DIR into a byte-reproducible tarball: restricted pax, entries sorted\n"
    "by name, every mtime N (default $SOURCE_DATE_EPOCH, else 0), owners 0:0 with\n"
    "no names, modes normalised (go-w,u+rw,a+rX), no atime/ctime/xattrs, gzip\n"
    "without a timestamp, zstd at a fixed level and threading.  Written to a\n"
    "temporary name, fsynced and renamed; prints the sha256.\n"
    "\n"
    "  --mtime N                   the mtime of every entry\n"
    "  --compression zstd|gzip|none  (default: from OUT's suffix)\n"
    "  --level N                   zstd level (default 3)\n"
    "\n"
    "Example:\n"
    "  pgo-sandbox pack out/ release.tar.zst --mtime \"$(git log -1 --format=%ct)\"\n";

static const char pack_usage[] =
    "pack SRC_DIR OUT.tar[.zst|.gz] [--mtime N] [--compression zstd|gzip|none] [--level N]";

enum { OPT_MTIME = 256, OPT_COMPRESSION, OPT_LEVEL, OPT_HELP };

static const struct option pack_options[] = {
    {"mtime", required_argument, NULL, OPT_MTIME},
    {"compression", required_argument, NULL, OPT_COMPRESSION},
    {"level", required_argument, NULL, OPT_LEVEL},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

struct pack_request {
	struct pack_options o;
	bool have_comp; /* --compression given: OUT's suffix is not asked */
};

static void usage(FILE *out, const char *command)
{
	(void)command;
	fputs(pack_help, out);
}

static int default_mtime(int64_t *mtime, struct error *err)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	uint64_t v = 0;

	if (sde != NULL && sde[0] != '\0' && parse_u64(sde, &v, err) < 0)
		return error_prefix(err, "SOURCE_DATE_EPOCH");
	if (v > INT64_MAX)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "SOURCE_DATE_EPOCH is out of range");
	*mtime = (int64_t)v;
	return 0;
}

static int handle(void *request, const struct cli_opt *c, struct error *err)
{
	struct pack_request *rq = request;
	uint64_t v;

	switch (c->id) {
	case OPT_MTIME:
		if (parse_u64(c->arg, &v, err) < 0 || v > INT64_MAX)
			return error_set(err, EXIT_RUNNER_ERROR, 0, "--mtime: '%s'", c->arg);
		rq->o.mtime = (int64_t)v;
		return 0;
	case OPT_COMPRESSION:
		if (archive_compression_from_name(c->arg, &rq->o.compression) < 0 ||
		    strchr(c->arg, '.') != NULL)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "--compression: '%s' is not zstd, gzip or none", c->arg);
		rq->have_comp = true;
		return 0;
	case OPT_LEVEL:
		if (parse_u64(c->arg, &v, err) < 0 || v < 1 || v > 22)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "--level: '%s' is not a zstd level (1-22)", c->arg);
		rq->o.zstd_level = (int)v;
		return 0;
	default:
		return error_set(err, EXIT_RUNNER_ERROR, 0, "pack: option %s is not handled",
		                 c->name ? c->name : "?");
	}
}

static const struct cli_parser pack_parser = {
    .command = "pack",
    .shortopts = ":h",
    .longopts = pack_options,
    .help = OPT_HELP,
    .usage = usage,
    .handle = handle,
};

int cli_pack(int argc, char **argv)
{
	char digest[DIGEST_STR_MAX];
	struct pack_request rq = {.have_comp = false};
	struct error err = {0};
	const char *out;
	int first;

	if (cli_wants_help(argc, argv)) {
		fputs(pack_help, stdout);
		return 0;
	}
	pack_options_default(&rq.o);
	if (default_mtime(&rq.o.mtime, &err) < 0 ||
	    cli_parse(&pack_parser, argc, argv, &rq, &first, &err) < 0)
		return cli_usage_error(pack_usage, "%s", err.msg);
	if (argc - first != 2)
		return cli_usage_error(pack_usage, "%s", "pack needs SRC_DIR and OUT");
	out = argv[first + 1];
	if (!rq.have_comp && archive_compression_from_name(out, &rq.o.compression) < 0)
		return cli_usage_error(pack_usage,
		                       "cannot tell the compression from '%s': "
		                       "name it .tar, .tar.zst or .tar.gz, or pass --compression",
		                       out);
	if (archive_pack_dir(argv[first], out, &rq.o, &err) < 0 ||
	    digest_file_sha256(out, digest, &err) < 0) {
		error_print(&err);
		return err.exit_code;
	}
	printf("%s  %s\n", digest, out);
	return fflush(stdout) == 0 ? 0 : EXIT_RUNNER_ERROR;
}
